//! Developer tasks for the dmail-imapd workspace, run as `cargo xtask <task>`.
//!
//! This crate owns developer-side automation only: the local CI gate (`ci`),
//! benchmark runs (`bench`), the comparison load test against Dovecot (`loadtest`), time-boxed fuzzing (`fuzz --time N`), manual pages (`man`, in
//! [`man`]) and the release archive (`dist`, packed by [`dist`]). It drives `cargo` from the
//! outside and must never ship in the product or be needed at runtime: no other crate may
//! depend on it. CI itself runs `.ci/run`, which mirrors the `ci` and `fuzz` step lists (plus
//! `--locked`) without depending on this crate.

use std::env;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::Path;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

mod dist;
mod man;

const USAGE: &str = "\
usage: cargo xtask <task> [ARGS...]

tasks:
    ci               fmt check, clippy, a check and clippy of dmail-conf and dmail-auth for
                     x86_64-pc-windows-gnu (the rustup target must be installed), docs and
                     tests; stops at the first failure
    bench [ARGS...]  cargo bench --workspace, passing ARGS through after `--` (dmail.conf
                     parsing, logins, the mbox engine, the IMAP session, imapd under inetd;
                     e.g. `cargo xtask bench --warm-up-time 1 --measurement-time 3`)
    loadtest [ARGS...]
                     release-build imapdsvc, the fake authenticator and
                     imapdsvc-bin/examples/loadtest.rs, then run the load test: mixed commands
                     from concurrent clients, idle memory per connection and 10,000 idle
                     connections, against imapdsvc and (when installed, as root) a Dovecot of
                     its own on loopback; ARGS go to it (--users 20 --clients 20 --secs 10
                     --idle 1000 --many 10000 --no-dovecot)
    fuzz [--time N]  every target in fuzz/fuzz_targets/ for N seconds each (default 60; a bare
                     N works too), on the stable toolchain without a sanitizer
                     (`cargo fuzz run -s none TARGET -- -max_total_time=N`); installs
                     cargo-fuzz with `cargo install --locked cargo-fuzz` when it is missing
    man OUTDIR       write the section 8 manual pages (imapd.8, imapd-SUBCOMMAND.8) to OUTDIR
    dist [OUTDIR]    build release binaries, generate the manual pages and pack
                     dmail-imapd-VERSION-TARGET.tar.gz in OUTDIR (default target/dist)
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

/// The Windows target the crates with Windows-only code are checked for.
const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";

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
        // nt_user's Windows code, compiled (not linked) for Windows; the target must be
        // installed (`rustup target add x86_64-pc-windows-gnu`).
        Step::new(
            &[],
            &[
                "check",
                "--target",
                WINDOWS_TARGET,
                "-p",
                "dmail-conf",
                "-p",
                "dmail-auth",
            ],
        ),
        Step::new(
            &[],
            &[
                "clippy",
                "--target",
                WINDOWS_TARGET,
                "-p",
                "dmail-conf",
                "-p",
                "dmail-auth",
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

/// The `loadtest` task: a release build of the three programs, then the load test run with
/// their paths and `extra`.
fn loadtest(extra: &[OsString]) -> ExitCode {
    let Some(root) = workspace_root() else {
        return ExitCode::from(1);
    };
    let build = run(&[Step::new(
        &[],
        &[
            "build",
            "--release",
            "-p",
            "imapdsvc-bin",
            "--bin",
            "imapdsvc",
            "--example",
            "loadtest",
            "-p",
            "dmail-auth",
            "--example",
            "fake_authent",
        ],
    )]);
    if build != ExitCode::SUCCESS {
        return build;
    }
    let release = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| root.join("target"), |dir| root.join(dir))
        .join("release");
    let program = release.join("examples").join("loadtest");
    println!("==> {}", program.display());
    let status = Command::new(&program)
        .arg("--bin")
        .arg(release.join("imapdsvc"))
        .arg("--authent")
        .arg(release.join("examples").join("fake_authent"))
        .args(extra)
        .current_dir(root)
        .stdin(Stdio::null())
        .status();
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("xtask: the load test failed: {status}");
            ExitCode::from(1)
        }
        Err(err) => {
            eprintln!("xtask: cannot run {}: {err}", program.display());
            ExitCode::from(1)
        }
    }
}

/// The fuzz targets: every `*.rs` file in `fuzz/fuzz_targets/`, by name, so a new target is
/// fuzzed without being listed here.
fn fuzz_targets(root: &Path) -> std::io::Result<Vec<String>> {
    let mut targets = Vec::new();
    for entry in std::fs::read_dir(root.join("fuzz").join("fuzz_targets"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs")
            && let Some(stem) = path.file_stem().and_then(OsStr::to_str)
        {
            targets.push(stem.to_owned());
        }
    }
    targets.sort();
    Ok(targets)
}

/// The `fuzz` task: each target for `seconds`, with no sanitizer (sanitizers need a nightly
/// toolchain; this runs on stable).
fn fuzz_steps(targets: &[String], seconds: u32) -> Vec<Step> {
    let limit = format!("-max_total_time={seconds}");
    targets
        .iter()
        .map(|target| {
            let mut step = Step::new(&[], &["fuzz", "run", "-s", "none"]);
            step.args.push(target.into());
            step.args.push("--".into());
            step.args.push(limit.clone().into());
            step
        })
        .collect()
}

/// The seconds per target from the `fuzz` arguments: `--time N`, `--time=N` or a bare `N`.
fn fuzz_seconds(args: &[OsString]) -> Result<u32, String> {
    let args: Vec<&str> = args
        .iter()
        .map(|a| a.to_str().ok_or("`fuzz` arguments must be text"))
        .collect::<Result<_, _>>()?;
    let text = match args.as_slice() {
        [] => return Ok(60),
        ["--time", n] => *n,
        [one] => one.strip_prefix("--time=").unwrap_or(one),
        _ => return Err("`fuzz` takes `--time N` (or a bare N) and nothing else".into()),
    };
    match text.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "`fuzz` needs a positive whole number of seconds, not `{text}`"
        )),
    }
}

/// The `fuzz` task: installs cargo-fuzz if `cargo fuzz --version` fails, then fuzzes every
/// target in turn.
fn fuzz(args: &[OsString]) -> ExitCode {
    let seconds = match fuzz_seconds(args) {
        Ok(n) => n,
        Err(msg) => return usage_error(&msg),
    };
    let Some(root) = workspace_root() else {
        return ExitCode::from(1);
    };
    let targets = match fuzz_targets(root) {
        Ok(t) if !t.is_empty() => t,
        Ok(_) => {
            eprintln!("xtask: no fuzz targets in fuzz/fuzz_targets/");
            return ExitCode::from(1);
        }
        Err(err) => {
            eprintln!("xtask: cannot read fuzz/fuzz_targets/: {err}");
            return ExitCode::from(1);
        }
    };
    let have_fuzz = Command::new(cargo())
        .args(["fuzz", "--version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have_fuzz {
        let install = run(&[Step::new(&[], &["install", "--locked", "cargo-fuzz"])]);
        if install != ExitCode::SUCCESS {
            return install;
        }
    }
    run(&fuzz_steps(&targets, seconds))
}

/// The `man` task.
fn man_task(args: &[OsString]) -> ExitCode {
    let [out] = args else {
        return usage_error("`man` takes one argument, the output directory");
    };
    match man::write_pages(Path::new(out)) {
        Ok(pages) => {
            for page in pages {
                println!("{}", page.display());
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("xtask: cannot write manual pages: {err}");
            ExitCode::from(1)
        }
    }
}

/// The `dist` task: release build, manual pages, archive; prints the archive's path.
fn dist_task(args: &[OsString]) -> ExitCode {
    let Some(root) = workspace_root() else {
        return ExitCode::from(1);
    };
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| root.join("target"), |dir| root.join(dir));
    let out = match args {
        [] => target_dir.join("dist"),
        [dir] => PathBuf::from(dir),
        _ => return usage_error("`dist` takes at most one argument, the output directory"),
    };
    let build = run(&[Step::new(
        &[],
        &[
            "build",
            "--release",
            "-p",
            "imapd-bin",
            "-p",
            "imapdsvc-bin",
        ],
    )]);
    if build != ExitCode::SUCCESS {
        return build;
    }
    let target = match dist::host_target(&env::var_os("RUSTC").unwrap_or_else(|| "rustc".into())) {
        Ok(t) => t,
        Err(msg) => {
            eprintln!("xtask: {msg}");
            return ExitCode::from(1);
        }
    };
    let stem = dist::archive_stem(env!("CARGO_PKG_VERSION"), &target);
    // Staged apart from OUTDIR so that a page dropped from the programs never lingers into a
    // later archive.
    let man_dir = target_dir.join("xtask-dist-man");
    let packed = std::fs::remove_dir_all(&man_dir)
        .or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        })
        .and_then(|()| man::write_pages(&man_dir))
        .and_then(|_| dist::entries(root, &target_dir.join("release"), &man_dir))
        .and_then(|entries| {
            std::fs::create_dir_all(&out)?;
            let archive = out.join(format!("{stem}.tar.gz"));
            dist::pack(&archive, &stem, &entries)?;
            Ok(archive)
        });
    match packed {
        Ok(archive) => {
            println!("{}", archive.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("xtask: cannot pack the release archive: {err}");
            ExitCode::from(1)
        }
    }
}

/// The workspace root (the parent of this crate's directory).
fn workspace_root() -> Option<&'static Path> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent();
    if root.is_none() {
        eprintln!("xtask: no workspace root above {}", manifest_dir.display());
    }
    root
}

/// The cargo that runs this task (so the same toolchain builds everything).
fn cargo() -> OsString {
    env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Runs `steps` in order from the workspace root, stopping at the first failure.
fn run(steps: &[Step]) -> ExitCode {
    let Some(root) = workspace_root() else {
        return ExitCode::from(1);
    };
    let cargo = cargo();

    for step in steps {
        println!("==> {step}");
        let status = Command::new(&cargo)
            .args(&step.args)
            .envs(step.env.iter().copied())
            .current_dir(root)
            .stdin(Stdio::null())
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
        Some("loadtest") => loadtest(&rest),
        Some("fuzz") => fuzz(&rest),
        Some("man") => man_task(&rest),
        Some("dist") => dist_task(&rest),
        Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => usage_error(&format!("unknown task `{other}`")),
        None => usage_error("no task given"),
    }
}
