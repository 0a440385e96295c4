//! Developer tasks for the dmail-imapd workspace, run as `cargo xtask <task>`.
//!
//! This crate owns developer-side automation only: the local CI gate (`ci`),
//! benchmark runs (`bench`) and time-boxed fuzzing (`fuzz`). It drives `cargo` from the outside and must
//! never ship in the product or be needed at runtime: no other crate may
//! depend on it. CI itself runs `.ci/run`, which mirrors the `ci` step list
//! (plus `--locked`) without depending on this crate.

use std::env;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::Path;
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask <task> [ARGS...]

tasks:
    ci               fmt check, clippy, docs and tests; stops at the first failure
    bench [ARGS...]  cargo bench --workspace, passing ARGS through after `--` (dmail.conf
                     parsing, logins, the mbox engine, the IMAP session, imapd under inetd;
                     e.g. `cargo xtask bench --warm-up-time 1 --measurement-time 3`)
    fuzz [SECONDS]   every fuzz target in fuzz/ for SECONDS each (default 60), on the stable
                     toolchain (`cargo fuzz run -s none`; needs `cargo install --locked cargo-fuzz`)
    help             print this help
";

/// One `cargo` invocation: extra environment variables and cargo arguments.
struct Step {
    env: &'static [(&'static str, &'static str)],
    args: Vec<OsString>,
}

impl Step {
    fn new(env: &'static [(&'static str, &'static str)], args: &[&str]) -> Self {
        let args = args.iter().map(OsString::from).collect();
        Self { env, args }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, value) in self.env {
            write!(f, "{key}={} ", quoted(value))?;
        }
        f.write_str("cargo")?;
        for arg in &self.args {
            write!(f, " {}", quoted(&arg.to_string_lossy()))?;
        }
        Ok(())
    }
}

/// Quotes `s` for display if it would not read as a single shell word.
fn quoted(s: &str) -> String {
    if s.is_empty() || s.contains(char::is_whitespace) {
        format!("\"{s}\"")
    } else {
        s.to_owned()
    }
}

/// The `ci` task; keep in step with `.ci/run`.
fn ci_steps() -> Vec<Step> {
    vec![
        Step::new(&[], &["fmt", "--all", "--", "--check"]),
        Step::new(
            &[],
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
        Step::new(
            &[("RUSTDOCFLAGS", "-D warnings")],
            &["doc", "--workspace", "--no-deps"],
        ),
        Step::new(&[], &["test", "--workspace"]),
    ]
}

/// The `bench` task: extra arguments go to the bench harnesses.
fn bench_step(mut extra: Vec<OsString>) -> Step {
    // Accept both `cargo xtask bench ARGS` and `cargo xtask bench -- ARGS`.
    if extra.first().is_some_and(|a| a == "--") {
        extra.remove(0);
    }
    let mut step = Step::new(&[], &["bench", "--workspace"]);
    if !extra.is_empty() {
        step.args.push("--".into());
        step.args.extend(extra);
    }
    step
}

/// The fuzz targets in `fuzz/fuzz_targets/`.
const FUZZ_TARGETS: [&str; 5] = [
    "dmail_conf_parse",
    "mbox_scan",
    "mailbox_name",
    "command_framer",
    "authent_reply",
];

/// The `fuzz` task: each target for `seconds`, with no sanitizer (only the stable toolchain
/// exists here).
fn fuzz_steps(seconds: u32) -> Vec<Step> {
    let limit = format!("-max_total_time={seconds}");
    FUZZ_TARGETS
        .iter()
        .map(|target| {
            let mut step = Step::new(&[], &["fuzz", "run", "-s", "none", target, "--"]);
            step.args.push(limit.clone().into());
            step
        })
        .collect()
}

/// Runs `steps` in order from the workspace root, stopping at the first failure.
fn run(steps: &[Step]) -> ExitCode {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(root) = manifest_dir.parent() else {
        eprintln!("xtask: no workspace root above {}", manifest_dir.display());
        return ExitCode::from(1);
    };
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    for step in steps {
        println!("==> {step}");
        let status = Command::new(&cargo)
            .args(&step.args)
            .envs(step.env.iter().copied())
            .current_dir(root)
            .status();
        match status {
            Ok(status) if status.success() => {}
            Ok(_) => return step_failed(step),
            Err(err) => {
                eprintln!("xtask: cannot run {}: {err}", cargo.display());
                return step_failed(step);
            }
        }
    }
    ExitCode::SUCCESS
}

fn step_failed(step: &Step) -> ExitCode {
    eprintln!("xtask: step failed: {step}");
    ExitCode::from(1)
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("xtask: {msg}");
    eprint!("{USAGE}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = env::args_os().skip(1);
    let task = args.next();
    let rest: Vec<OsString> = args.collect();

    match task.as_deref().map(OsStr::to_string_lossy).as_deref() {
        Some("ci") if rest.is_empty() => run(&ci_steps()),
        Some("ci") => usage_error("`ci` takes no arguments"),
        Some("bench") => run(&[bench_step(rest)]),
        Some("fuzz") => match rest.as_slice() {
            [] => run(&fuzz_steps(60)),
            [secs] => match secs.to_str().and_then(|s| s.parse::<u32>().ok()) {
                Some(n) if n > 0 => run(&fuzz_steps(n)),
                _ => usage_error("`fuzz` takes a whole number of seconds"),
            },
            _ => usage_error("`fuzz` takes at most one argument"),
        },
        Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => usage_error(&format!("unknown task `{other}`")),
        None => usage_error("no task given"),
    }
}
