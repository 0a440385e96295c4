//! The DMail log writer across processes (dmail-conventions §9), with the `log_probe` example:
//! two processes appending and rotating one file at once, a writer that may not rename in
//! LOG_PATH (run as `nobody` with `setpriv`, needs root; skipped, saying why, otherwise), and
//! the panic hook.

// Helpers outside #[test] functions panic on failure too, as a test should.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../../test-support/example.rs"]
mod example_program;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;
use test_case::test_case;

const NOBODY: u32 = 65534;

/// The path of this package's example `name` (built when missing).
fn example(name: &str) -> PathBuf {
    example_program::example("imapd-bin", name)
}

/// The files of the log in `dir`: `imapd.log`, then `imapd.log.1` … `.5`, those that exist.
fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = vec![dir.join("imapd.log")];
    files.extend((1..=5).map(|n| dir.join(format!("imapd.log.{n}"))));
    files.retain(|f| f.exists());
    files
}

/// Splits a §9 line `YYYY-MM-DD HH:MM:SS [pid] LEVEL message` into pid, level and message,
/// checking the time's shape.
fn parse_line(line: &str) -> (u32, &str, &str) {
    let (time, rest) = line.split_at(19);
    let shape: String = time
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert_eq!(shape, "9999-99-99 99:99:99", "line {line:?}");
    let rest = rest.strip_prefix(" [").expect("pid");
    let (pid, rest) = rest.split_once("] ").expect("pid end");
    let (level, msg) = rest.split_once(' ').expect("level");
    (pid.parse().expect("numeric pid"), level, msg)
}

/// §9: many processes share a file; each line is one write() with O_APPEND, and rotation is
/// serialised by the flock. Two processes append 200 lines each while rotating every ~4 kB:
/// every line is intact and present exactly once across imapd.log and imapd.log.1….
#[test]
fn two_processes_share_and_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let probe = example("log_probe");
    let dir_arg = dir.path().to_str().unwrap();
    let children: Vec<_> = ["A", "B"]
        .into_iter()
        .map(|tag| {
            let child = Command::new(&probe)
                .args([dir_arg, "4000", "lines", tag, "200"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (tag, child.id(), child)
        })
        .collect();
    let mut pids = std::collections::BTreeMap::new();
    for (tag, pid, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{tag}: {out:?}");
        assert!(out.stderr.is_empty() && out.stdout.is_empty(), "{out:?}");
        pids.insert(tag, pid);
    }

    let files = log_files(dir.path());
    assert!(files.len() >= 3, "expected rotations, got {files:?}");
    assert!(files.len() <= 6, "{files:?}");
    let mut seen = BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(text.ends_with('\n'), "{} ends mid-line", file.display());
        for line in text.lines() {
            let (pid, level, msg) = parse_line(line);
            assert_eq!(level, "info", "{line:?}");
            let (tag, n) = msg.split_once(' ').expect("tag and number");
            assert_eq!(Some(&pid), pids.get(tag), "{line:?}");
            assert_eq!(n.len(), 4, "{line:?}");
            let n: u32 = n.parse().expect("number");
            assert!(seen.insert((tag.to_owned(), n)), "duplicate {line:?}");
        }
    }
    let want: BTreeSet<_> = ["A", "B"]
        .into_iter()
        .flat_map(|t| (0..200).map(move |n| (t.to_owned(), n)))
        .collect();
    assert_eq!(seen, want);
}

/// §9: a panic goes to the log at error level, escaped to one line, and nothing to stderr
/// (under inetd fd 2 is the client's socket).
#[test]
fn panic_hook_writes_the_log_not_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(example("log_probe"))
        .args([dir.path().to_str().unwrap(), "0", "panic"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(101), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(dir.path().join("imapd.log")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text:?}");
    let (line_pid, level, msg) = parse_line(lines[0]);
    assert_eq!((line_pid, level), (pid, "error"));
    let place = msg
        .strip_prefix("panic in thread main at imapd-bin/examples/log_probe.rs:")
        .and_then(|m| m.strip_suffix(": probe panic\\nsecond line"))
        .unwrap_or_else(|| panic!("unexpected message {msg:?}"));
    let (line, column) = place.split_once(':').expect("line:column");
    assert!(
        line.parse::<u32>().is_ok() && column.parse::<u32>().is_ok(),
        "{place:?}"
    );
}

/// Whether `nobody` can reach `dir` (every ancestor searchable by others).
fn traversable(dir: &Path) -> bool {
    dir.ancestors()
        .all(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

/// Runs `bin ARGS` with the real and effective ids of `nobody`.
fn as_nobody(bin: &Path, args: &[&str]) -> Output {
    Command::new("setpriv")
        .arg(format!("--reuid={NOBODY}"))
        .arg(format!("--regid={NOBODY}"))
        .arg("--clear-groups")
        .arg(bin)
        .args(args)
        .output()
        .expect("run setpriv (util-linux), needed for this test when run as root")
}

/// §9: a process that cannot rename files in LOG_PATH (it switched user) skips rotation and
/// keeps writing. The directory is root's 0755, the log file 0666; the writer runs as
/// `nobody`, with the lock file left by an earlier root process or with none at all.
#[test_case(true; "lock file exists")]
#[test_case(false; "no lock file")]
fn rotation_skipped_when_rename_refused(lock_exists: bool) {
    if !rustix::process::getuid().is_root() {
        eprintln!("skipped: not running as root, so the writer cannot be run as nobody");
        return;
    }
    let top = tempfile::tempdir().unwrap();
    std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    if !traversable(top.path()) {
        eprintln!("skipped: nobody cannot reach {}", top.path().display());
        return;
    }
    let bin = top.path().join("log_probe");
    std::fs::copy(example("log_probe"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let logs = top.path().join("log");
    std::fs::create_dir(&logs).unwrap();
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = logs.join("imapd.log");
    std::fs::write(&log, "").unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666)).unwrap();
    if lock_exists {
        std::fs::write(logs.join("imapd.lock"), "").unwrap();
    }

    let out = as_nobody(&bin, &[logs.to_str().unwrap(), "1", "lines", "N", "10"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");

    assert_eq!(log_files(&logs), vec![log.clone()], "nothing rotated");
    let text = std::fs::read_to_string(&log).unwrap();
    let msgs: Vec<String> = text.lines().map(|l| parse_line(l).2.to_owned()).collect();
    let want: Vec<String> = (0..10).map(|n| format!("N {n:04}")).collect();
    assert_eq!(msgs, want);
    assert_eq!(logs.join("imapd.lock").exists(), lock_exists);
    let _keep: &TempDir = &top;
}
