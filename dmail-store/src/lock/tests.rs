//! The locking rules of mailbox-formats.md §3 (and notes/uw-c-client.md §3): dot-lock contents,
//! stale-lock breaking, waiting and timing out against other processes, flock modes, symlink
//! refusal, the EACCES fallback and the /tmp session lock.
//!
//! Other processes are this test binary run again as a lock holder (`helper_process`), or
//! util-linux `flock(1)` playing a foreign program.

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use test_case::test_case;

use super::*;

fn tempdir() -> (tempfile::TempDir, Utf8PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = Utf8PathBuf::try_from(dir.path().to_path_buf()).unwrap();
    (dir, path)
}

/// A mailbox file with some content in a fresh directory.
fn mailbox() -> (tempfile::TempDir, Utf8PathBuf) {
    let (dir, path) = tempdir();
    let mbox = path.join("bob");
    fs::write(&mbox, b"From a Sat Dec 26 09:37:48 1998\n\nhi\n\n").unwrap();
    (dir, mbox)
}

fn opts(budget_ms: u64) -> LockOptions {
    LockOptions {
        budget: Duration::from_millis(budget_ms),
        ..LockOptions::client()
    }
}

fn read_only() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.read(true);
    o
}

fn read_write() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.read(true).write(true);
    o
}

fn lock(path: &Utf8Path, mode: LockMode, options: &LockOptions) -> Result<MailboxLock, LockError> {
    let open = match mode {
        LockMode::Shared => read_only(),
        LockMode::Exclusive => read_write(),
    };
    MailboxLock::acquire(path, &open, mode, options)
}

/// A PID that was just in use and now belongs to no process.
fn dead_pid() -> u32 {
    let mut child = Command::new("sleep").arg("0").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn dir_entries(dir: &Utf8Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

// ---- the helper process ----

/// Not a test: the body of the lock-holding helper process the tests below start. Run without
/// `DMAIL_LOCK_HELPER` it does nothing.
#[test]
#[ignore = "helper process for other tests"]
fn helper_process() {
    let Ok(mode) = std::env::var("DMAIL_LOCK_HELPER") else {
        return;
    };
    let path = Utf8PathBuf::from(std::env::var("DMAIL_LOCK_PATH").unwrap());
    let mode = if mode == "exclusive" {
        LockMode::Exclusive
    } else {
        LockMode::Shared
    };
    let options = LockOptions {
        lock_id: std::env::var("DMAIL_LOCK_ID").ok(),
        ..opts(10_000)
    };
    let mut out = std::io::stdout();
    match lock(&path, mode, &options) {
        Ok(held) => {
            let skipped = held
                .dot_lock_skipped()
                .map_or("-".to_owned(), |d| d.to_string());
            writeln!(out, "LOCKED {skipped}").unwrap();
            out.flush().unwrap();
            let mut rest = String::new();
            let _ = std::io::stdin().read_line(&mut rest);
            drop(held);
            writeln!(out, "RELEASED").unwrap();
        }
        Err(e) => writeln!(out, "ERROR {e}").unwrap(),
    }
    out.flush().unwrap();
}

/// Another process holding a lock until [`Holder::release`].
struct Holder {
    child: Child,
    stdout: BufReader<ChildStdout>,
    /// The helper's first report: `LOCKED <skipped dir or ->` or `ERROR ...`.
    report: String,
}

fn spawn_holder(mode: &str, path: &Utf8Path, lock_id: Option<&str>, as_nobody: bool) -> Holder {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = if as_nobody {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    cmd.args([
        "--exact",
        "lock::tests::helper_process",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ])
    .env("DMAIL_LOCK_HELPER", mode)
    .env("DMAIL_LOCK_PATH", path.as_str())
    .stdin(Stdio::piped())
    .stdout(Stdio::piped());
    match lock_id {
        Some(id) => cmd.env("DMAIL_LOCK_ID", id),
        None => cmd.env_remove("DMAIL_LOCK_ID"),
    };
    let mut child = cmd.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let report = loop {
        let mut line = String::new();
        assert_ne!(
            stdout.read_line(&mut line).unwrap(),
            0,
            "helper ended without a report"
        );
        if line.starts_with("LOCKED") || line.starts_with("ERROR") {
            break line.trim_end().to_owned();
        }
    };
    Holder {
        child,
        stdout,
        report,
    }
}

impl Holder {
    fn release(mut self) {
        drop(self.child.stdin.take());
        let mut line = String::new();
        while self.stdout.read_line(&mut line).unwrap() > 0 {
            if line.starts_with("RELEASED") {
                break;
            }
            line.clear();
        }
        assert!(
            line.starts_with("RELEASED"),
            "helper did not release: {line:?}"
        );
        self.child.wait().unwrap();
    }
}

/// util-linux flock(1) holding `path` in `mode` ("-s" / "-x") until its stdin closes.
struct FlockTool(Child);

fn flock_tool(flag: &str, path: &Utf8Path) -> FlockTool {
    let mut child = Command::new("flock")
        .args([
            flag,
            path.as_str(),
            "sh",
            "-c",
            "echo locked; cat >/dev/null",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "locked\n");
    FlockTool(child)
}

impl Drop for FlockTool {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

// ---- pure rules ----

// mailbox-formats.md §3: our locks hold `PID HOSTNAME` or `lock_id PID TIME`; only ours, made on
// this host, name a holder we may test with kill(pid, 0).
#[test_case(b"123 mx\n", None, Some(123); "pid hostname")]
#[test_case(b"123 mx", None, Some(123); "without newline")]
#[test_case(b"123 other\n", None, None; "other host")]
#[test_case(b"", None, None; "c-client empty lock")]
#[test_case(b"0 mx\n", None, None; "pid zero")]
#[test_case(b"-5 mx\n", None, None; "negative pid")]
#[test_case(b"99999999999 mx\n", None, None; "pid out of range")]
#[test_case(b"node1 123 1700000000\n", Some("node1"), Some(123); "our lock_id")]
#[test_case(b"node2 123 1700000000\n", Some("node1"), None; "other lock_id")]
#[test_case(b"node1 123 1700000000\n", None, None; "lock_id form without our lock_id")]
#[test_case(b"123 mx\n", Some("node1"), Some(123); "hostname form with lock_id set")]
#[test_case(b"node1 abc 1700000000\n", Some("node1"), None; "bad pid")]
#[test_case(b"\xff\xfe", None, None; "binary junk")]
fn local_holder_table(contents: &[u8], lock_id: Option<&str>, expected: Option<i32>) {
    assert_eq!(local_holder(contents, "mx", lock_id), expected);
}

// mailbox-formats.md §3: a local dead holder at once; any other lock once ctime is stale.
#[test_case(Some(1), true, 0, 300, Verdict::DeadHolder; "local dead holder at once")]
#[test_case(Some(1), false, 0, 300, Verdict::Live; "local live holder, young")]
#[test_case(Some(1), false, 300, 300, Verdict::Stale; "local live holder, old")]
#[test_case(None, true, 299, 300, Verdict::Live; "foreign lock, young")]
#[test_case(None, true, 300, 300, Verdict::Stale; "foreign lock at the limit")]
fn judge_table(pid: Option<i32>, dead: bool, age: u64, stale: u64, expected: Verdict) {
    let verdict = judge(
        pid,
        |_| dead,
        Duration::from_secs(age),
        Duration::from_secs(stale),
    );
    assert_eq!(verdict, expected);
}

// mailbox-formats.md §3: EACCES means "continue with flock alone"; so does a read-only file
// system (decided here); nothing else does.
#[test_case(Errno::ACCESS, true; "EACCES")]
#[test_case(Errno::ROFS, true; "EROFS")]
#[test_case(Errno::NOSPC, false; "ENOSPC")]
#[test_case(Errno::NOENT, false; "ENOENT")]
#[test_case(Errno::PERM, false; "EPERM")]
fn fallback_decision(errno: Errno, expected: bool) {
    assert_eq!(is_unwritable_directory(&io_err(errno)), expected);
}

#[test_case(0x803, 0x1a2b3c, "/tmp/.803.1a2b3c"; "c-client example")]
#[test_case(0, 1, "/tmp/.0.1"; "zero device")]
#[test_case(0xfd01, 0xABCDEF, "/tmp/.fd01.abcdef"; "lower case")]
fn session_lock_name(dev: u64, ino: u64, expected: &str) {
    assert_eq!(session_lock_path(dev, ino), expected);
}

// ---- dot-lock contents ----

#[test]
fn dot_lock_holds_pid_and_hostname_mode_0666() {
    let (_dir, mbox) = mailbox();
    let held = lock(&mbox, LockMode::Exclusive, &opts(1000)).unwrap();
    let lock_path = dot_lock_path(&mbox);
    assert_eq!(held.dot_lock(), Some(lock_path.as_path()));
    assert_eq!(
        fs::read_to_string(&lock_path).unwrap(),
        format!("{} {}\n", std::process::id(), hostname())
    );
    let meta = fs::symlink_metadata(&lock_path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o666);
    drop(held);
    assert!(!lock_path.exists());
}

#[test]
fn dot_lock_with_lock_id_is_linked_and_holds_id_pid_time() {
    let (dir, mbox) = mailbox();
    let options = LockOptions {
        lock_id: Some("node-1".into()),
        ..opts(1000)
    };
    let before = now_unix();
    let held = lock(&mbox, LockMode::Exclusive, &options).unwrap();
    let after = now_unix();
    let lock_path = dot_lock_path(&mbox);
    let text = fs::read_to_string(&lock_path).unwrap();
    let fields: Vec<&str> = text.trim_end_matches('\n').split(' ').collect();
    assert!(text.ends_with('\n'));
    assert_eq!(fields.len(), 3, "{text:?}");
    assert_eq!(fields[0], "node-1");
    assert_eq!(fields[1], std::process::id().to_string());
    let time: u64 = fields[2].parse().unwrap();
    assert!((before..=after).contains(&time));
    let meta = fs::symlink_metadata(&lock_path).unwrap();
    assert_eq!(meta.nlink(), 1, "the hitching post must be gone");
    assert_eq!(meta.permissions().mode() & 0o7777, 0o666);
    assert_eq!(
        dir_entries(Utf8Path::from_path(dir.path()).unwrap()),
        ["bob", "bob.lock"]
    );
    drop(held);
    assert_eq!(
        dir_entries(Utf8Path::from_path(dir.path()).unwrap()),
        ["bob"]
    );
}

#[test]
fn missing_mailbox_without_create_is_not_found_and_leaves_no_lock() {
    let (_dir, path) = tempdir();
    let mbox = path.join("nobody-here");
    let err = lock(&mbox, LockMode::Shared, &opts(500)).unwrap_err();
    match err {
        LockError::Open { path, source } => {
            assert_eq!(path, mbox);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!dot_lock_path(&mbox).exists());
}

// ---- stale locks ----

#[test_case(None; "pid hostname")]
#[test_case(Some("node-1"); "lock_id")]
fn lock_of_dead_local_holder_is_broken_at_once(lock_id: Option<&str>) {
    let (_dir, mbox) = mailbox();
    let pid = dead_pid();
    let stale = dot_lock_contents(lock_id, pid, &hostname(), now_unix());
    fs::write(dot_lock_path(&mbox), stale).unwrap();
    let options = LockOptions {
        lock_id: lock_id.map(str::to_owned),
        ..opts(2000)
    };
    let start = Instant::now();
    let held = lock(&mbox, LockMode::Exclusive, &options).unwrap();
    assert!(
        start.elapsed() < Duration::from_millis(1000),
        "{:?}",
        start.elapsed()
    );
    let text = fs::read_to_string(dot_lock_path(&mbox)).unwrap();
    let me = std::process::id();
    match lock_id {
        None => assert_eq!(text, format!("{me} {}\n", hostname())),
        Some(id) => assert!(text.starts_with(&format!("{id} {me} ")), "{text:?}"),
    }
    drop(held);
}

#[test_case("{pid} some-other-host\n", None; "dead pid on another host")]
#[test_case("node-2 {pid} 1700000000\n", Some("node-1"); "another lock_id")]
fn lock_of_dead_foreign_holder_waits(template: &str, lock_id: Option<&str>) {
    let (_dir, mbox) = mailbox();
    let contents = template.replace("{pid}", &dead_pid().to_string());
    fs::write(dot_lock_path(&mbox), &contents).unwrap();
    let options = LockOptions {
        lock_id: lock_id.map(str::to_owned),
        ..opts(300)
    };
    let err = lock(&mbox, LockMode::Shared, &options).unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(fs::read_to_string(dot_lock_path(&mbox)).unwrap(), contents);
}

#[test]
fn empty_c_client_lock_is_broken_after_the_stale_limit_not_before() {
    let (_dir, mbox) = mailbox();
    let lock_path = dot_lock_path(&mbox);
    fs::write(&lock_path, b"").unwrap();
    let created = Instant::now();
    let options = LockOptions {
        stale_after: Duration::from_secs(1),
        ..opts(300)
    };
    match lock(&mbox, LockMode::Exclusive, &options).unwrap_err() {
        LockError::Timeout { path, budget } => {
            assert_eq!(path, lock_path);
            assert_eq!(budget, Duration::from_millis(300));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(fs::read(&lock_path).unwrap(), b"");
    let patient = LockOptions {
        budget: Duration::from_secs(5),
        ..options
    };
    let held = lock(&mbox, LockMode::Exclusive, &patient).unwrap();
    assert!(
        created.elapsed() >= Duration::from_millis(950),
        "{:?}",
        created.elapsed()
    );
    assert_eq!(
        fs::read_to_string(&lock_path).unwrap(),
        format!("{} {}\n", std::process::id(), hostname())
    );
    drop(held);
}

#[test]
fn refresh_renews_the_ctime() {
    let (_dir, mbox) = mailbox();
    let held = lock(&mbox, LockMode::Exclusive, &opts(1000)).unwrap();
    let lock_path = dot_lock_path(&mbox);
    let first = fs::metadata(&lock_path).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    held.refresh().unwrap();
    let second = fs::metadata(&lock_path).unwrap();
    assert!(
        (second.ctime(), second.ctime_nsec()) > (first.ctime(), first.ctime_nsec()),
        "ctime not renewed"
    );
}

// ---- other processes ----

#[test]
fn live_holder_makes_others_wait_time_out_then_succeed() {
    let (_dir, mbox) = mailbox();
    let holder = spawn_holder("exclusive", &mbox, None, false);
    assert_eq!(holder.report, "LOCKED -");
    // The holder's dot-lock names it, on this host, alive.
    let text = fs::read_to_string(dot_lock_path(&mbox)).unwrap();
    assert_eq!(text, format!("{} {}\n", holder.child.id(), hostname()));
    for mode in [LockMode::Shared, LockMode::Exclusive] {
        let start = Instant::now();
        let err = lock(&mbox, mode, &opts(300)).unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert!(start.elapsed() >= Duration::from_millis(300));
    }
    // A waiter with a larger budget gets the lock once the holder lets go.
    let waiter_path = mbox.clone();
    let waiter = std::thread::spawn(move || {
        let start = Instant::now();
        let held = lock(&waiter_path, LockMode::Exclusive, &opts(10_000));
        (held.map(|h| h.mode()), start.elapsed())
    });
    std::thread::sleep(Duration::from_millis(400));
    holder.release();
    let (mode, waited) = waiter.join().unwrap();
    assert_eq!(mode.unwrap(), LockMode::Exclusive);
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
    assert!(!dot_lock_path(&mbox).exists());
}

#[test]
fn foreign_shared_flock_admits_readers_and_keeps_out_writers() {
    let (_dir, mbox) = mailbox();
    let tool = flock_tool("-s", &mbox);
    let reader = lock(&mbox, LockMode::Shared, &opts(1000)).unwrap();
    drop(reader);
    match lock(&mbox, LockMode::Exclusive, &opts(300)).unwrap_err() {
        LockError::Timeout { path, .. } => assert_eq!(path, mbox, "flock, not the dot-lock"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        !dot_lock_path(&mbox).exists(),
        "dot-lock released after a flock timeout"
    );
    drop(tool);
    let writer = lock(&mbox, LockMode::Exclusive, &opts(2000)).unwrap();
    // Held exclusively: flock(1) cannot get even a shared lock now.
    let status = Command::new("flock")
        .args(["-n", "-s", mbox.as_str(), "true"])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    drop(writer);
    let status = Command::new("flock")
        .args(["-n", "-x", mbox.as_str(), "true"])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn foreign_exclusive_flock_keeps_out_readers() {
    let (_dir, mbox) = mailbox();
    let tool = flock_tool("-x", &mbox);
    match lock(&mbox, LockMode::Shared, &opts(300)).unwrap_err() {
        LockError::Timeout { path, .. } => assert_eq!(path, mbox),
        other => panic!("unexpected {other:?}"),
    }
    drop(tool);
    let reader = lock(&mbox, LockMode::Shared, &opts(2000)).unwrap();
    // Our shared flock admits another shared holder but not an exclusive one.
    let shared = Command::new("flock")
        .args(["-n", "-s", mbox.as_str(), "true"])
        .status()
        .unwrap();
    assert!(shared.success());
    let exclusive = Command::new("flock")
        .args(["-n", "-x", mbox.as_str(), "true"])
        .status()
        .unwrap();
    assert_eq!(exclusive.code(), Some(1));
    drop(reader);
}

#[test_case(true; "dangling")]
#[test_case(false; "to an existing file")]
fn symlinked_dot_lock_is_refused(dangling: bool) {
    let (dir, mbox) = mailbox();
    let target = Utf8Path::from_path(dir.path()).unwrap().join("target");
    if !dangling {
        fs::write(&target, b"precious").unwrap();
    }
    std::os::unix::fs::symlink(&target, dot_lock_path(&mbox)).unwrap();
    match lock(&mbox, LockMode::Exclusive, &opts(300)).unwrap_err() {
        LockError::Symlink { path } => assert_eq!(path, dot_lock_path(&mbox)),
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        fs::symlink_metadata(dot_lock_path(&mbox))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    if dangling {
        assert!(!target.exists());
    } else {
        assert_eq!(fs::read(&target).unwrap(), b"precious");
    }
}

#[test]
fn unwritable_directory_falls_back_to_flock_alone() {
    let (dir, mbox) = mailbox();
    let dir_path = Utf8Path::from_path(dir.path()).unwrap().to_owned();
    fs::set_permissions(&mbox, fs::Permissions::from_mode(0o644)).unwrap();
    if rustix::process::geteuid().is_root() {
        // root ignores directory permissions: ask nobody (uid 65534) to lock.
        fs::set_permissions(&dir_path, fs::Permissions::from_mode(0o755)).unwrap();
        let holder = spawn_holder("shared", &mbox, None, true);
        assert_eq!(holder.report, format!("LOCKED {dir_path}"));
        assert!(!dot_lock_path(&mbox).exists());
        // flock alone still works: the holder's LOCK_SH keeps out an exclusive locker.
        match lock(&mbox, LockMode::Exclusive, &opts(300)).unwrap_err() {
            LockError::Timeout { path, .. } => assert_eq!(path, mbox),
            other => panic!("unexpected {other:?}"),
        }
        holder.release();
    } else {
        fs::set_permissions(&dir_path, fs::Permissions::from_mode(0o555)).unwrap();
        let held = lock(&mbox, LockMode::Shared, &opts(1000));
        fs::set_permissions(&dir_path, fs::Permissions::from_mode(0o755)).unwrap();
        let held = held.unwrap();
        assert_eq!(held.dot_lock_skipped(), Some(dir_path.as_path()));
        assert_eq!(held.dot_lock(), None);
        assert!(!dot_lock_path(&mbox).exists());
    }
}

// ---- the /tmp session lock ----

/// The session lock of a fresh mailbox; removed again on drop.
struct SessionFixture {
    _dir: tempfile::TempDir,
    mbox: Utf8PathBuf,
    tmp: Utf8PathBuf,
}

impl SessionFixture {
    fn new() -> Self {
        let (dir, mbox) = mailbox();
        let meta = fs::metadata(&mbox).unwrap();
        let tmp = session_lock_path(meta.dev(), meta.ino());
        let _ = fs::remove_file(&tmp);
        SessionFixture {
            _dir: dir,
            mbox,
            tmp,
        }
    }
}

impl Drop for SessionFixture {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.tmp);
    }
}

#[test]
fn session_lock_is_shared_empty_0666_and_keeps_out_c_client() {
    let f = SessionFixture::new();
    let meta = fs::metadata(&f.mbox).unwrap();
    assert_eq!(f.tmp, format!("/tmp/.{:x}.{:x}", meta.dev(), meta.ino()));
    assert!(
        !session_lock_busy(&f.mbox).unwrap(),
        "missing file is not busy"
    );
    let SessionLockOutcome::Held(first) = SessionLock::try_shared(&f.mbox).unwrap() else {
        panic!("busy")
    };
    assert_eq!(first.path(), f.tmp);
    let tmp_meta = fs::symlink_metadata(&f.tmp).unwrap();
    assert_eq!(tmp_meta.len(), 0, "writes nothing");
    assert_eq!(tmp_meta.permissions().mode() & 0o7777, 0o666);
    // A second session of ours shares it; our holding does not count as busy.
    let SessionLockOutcome::Held(second) = SessionLock::try_shared(&f.mbox).unwrap() else {
        panic!("busy")
    };
    assert!(!session_lock_busy(&f.mbox).unwrap());
    // c-client's non-blocking exclusive attempt fails while we hold it.
    let c_client = Command::new("flock")
        .args(["-n", "-x", f.tmp.as_str(), "true"])
        .status()
        .unwrap();
    assert_eq!(c_client.code(), Some(1));
    drop(first);
    drop(second);
    let c_client = Command::new("flock")
        .args(["-n", "-x", f.tmp.as_str(), "true"])
        .status()
        .unwrap();
    assert!(c_client.success());
    assert!(f.tmp.exists(), "left in place for other sessions");
}

#[test]
fn session_lock_held_exclusively_by_c_client_is_busy() {
    let f = SessionFixture::new();
    fs::write(&f.tmp, b"").unwrap();
    let tool = flock_tool("-x", &f.tmp);
    assert!(session_lock_busy(&f.mbox).unwrap());
    assert!(matches!(
        SessionLock::try_shared(&f.mbox).unwrap(),
        SessionLockOutcome::Busy
    ));
    drop(tool);
    assert!(!session_lock_busy(&f.mbox).unwrap());
    assert!(matches!(
        SessionLock::try_shared(&f.mbox).unwrap(),
        SessionLockOutcome::Held(_)
    ));
}

#[test]
fn session_lock_refuses_symlink_and_hard_link() {
    let f = SessionFixture::new();
    let (_guard, dir) = tempdir();
    let target = dir.join("target");
    fs::write(&target, b"").unwrap();
    std::os::unix::fs::symlink(&target, &f.tmp).unwrap();
    assert!(matches!(
        SessionLock::try_shared(&f.mbox),
        Err(LockError::Symlink { .. })
    ));
    assert!(matches!(
        session_lock_busy(&f.mbox),
        Err(LockError::Symlink { .. })
    ));
    fs::remove_file(&f.tmp).unwrap();
    fs::hard_link(&target, &f.tmp).unwrap();
    match SessionLock::try_shared(&f.mbox) {
        Err(LockError::HardLinks { path, links }) => {
            assert_eq!(path, f.tmp);
            assert_eq!(links, 2);
        }
        other => panic!("unexpected {other:?}"),
    }
}
