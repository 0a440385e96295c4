//! Fault injection (mailbox-formats.md §2, "Crash safety"): a child process doing a rewrite
//! (stamping new mail, an expunge, keywords that outgrow the status blocks, a keyword new to the
//! mailbox) aborts at each step of it — before and after every write, truncate and fsync —
//! while `deliver --journal` processes append to the same file. After recovery every message is
//! present exactly once, the content is the old or the new one, UIDs increase, no journal is
//! left, and the genuine c-client (`mailutil check`) counts the same messages. Alone (no
//! delivery), the recovered file is byte for byte the old file when the crash came before the
//! journal was committed, and byte for byte the completed rewrite after. DPOP's burst after such
//! a crash takes every message once when it recovers first (our `burst --journal`), and a
//! foreign burst is not undone by our recovery afterwards.
//!
//! Our dot-locks name their holder, so the dead child's lock is broken at once (the child is
//! reaped at once too, since a zombie still counts as alive).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../test-support/example.rs"]
mod example_program;

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use dmail_store::deliver::{DeliverOptions, deliver};
use dmail_store::layout::DropPath;
use dmail_store::lock::{LockMode, LockOptions, MailboxLock};
use dmail_store::mbox::engine::{MboxMailbox, MboxOptions, MboxPaths};
use dmail_store::store::{FlagOp, Mailbox};
use dmail_store::{InternalDate, SystemFlags, Uid};

/// The crash points of a rewrite, in the order it reaches them.
const STEPS: [&str; 7] = [
    "journal:written",
    "rewrite:journaled",
    "rewrite:half-written",
    "rewrite:written",
    "rewrite:truncated",
    "rewrite:synced",
    "rewrite:committed",
];
/// As in examples/crash_rewrite.rs.
const KEYWORD: &str = "$CrashTestKeywordTooLongToFitThePadding";
/// As in examples/crash_rewrite.rs.
const SHORT_KEYWORD: &str = "$Fits";
/// As in examples/crash_rewrite.rs.
const NOW: i64 = 1_700_000_000;
/// Messages in the mailbox before the crash.
const SETUP: usize = 20;
/// Concurrent deliverers, and messages each.
const DELIVERERS: usize = 3;
const PER_DELIVERER: usize = 2;
/// The uid and gid `mailutil` runs as.
const NOBODY: u32 = 65534;
const SIGABRT: i32 = 6;

/// The path of this package's example `name` (built when missing).
fn example(name: &str) -> PathBuf {
    example_program::example("dmail-store", name)
}

/// The engine options of examples/crash_rewrite.rs.
fn options() -> MboxOptions {
    let mut o = MboxOptions::new("crash", "mail.example.com");
    o.now = || NOW;
    o.local_offset = |_| 0;
    o
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A directory the unprivileged user can reach: under /tmp when we are root (TMPDIR may be a
/// private directory), else the usual temporary directory.
fn test_dir() -> tempfile::TempDir {
    if is_root() {
        tempfile::tempdir_in("/tmp").unwrap()
    } else {
        tempfile::tempdir().unwrap()
    }
}

/// `mailutil` on PATH; `None` (after saying why) when it is missing outside CI.
fn mailutil() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("mailutil"))
            .find(|f| f.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "mailutil (Debian uw-mailutils) is required under CI"
        );
        eprintln!("mailutil not installed (apt-get install uw-mailutils): c-client check skipped");
    }
    found
}

/// One mailbox in a directory of its own, which `mailutil` may use as HOME.
struct Case {
    _dir: tempfile::TempDir,
    root: Utf8PathBuf,
}

impl Case {
    fn new() -> Case {
        let dir = test_dir();
        let root = Utf8Path::from_path(dir.path()).unwrap().to_owned();
        if is_root() {
            std::os::unix::fs::chown(&root, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        Case { _dir: dir, root }
    }
    fn mailbox(&self) -> Utf8PathBuf {
        self.root.join("box")
    }
    fn paths(&self) -> MboxPaths {
        MboxPaths::new(self.mailbox(), self.root.join(".imapd"), "INBOX")
    }
    fn bytes(&self) -> Vec<u8> {
        std::fs::read(self.mailbox()).unwrap()
    }
    fn open(&self, read_only: bool) -> MboxMailbox {
        MboxMailbox::open(self.paths(), read_only, options()).unwrap()
    }
    fn journal_exists(&self) -> bool {
        self.paths().journal().exists()
    }
    /// Any file in the private directory that is or was a journal.
    fn journal_leftovers(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.root.join(".imapd")) else {
            return Vec::new();
        };
        dir.map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains("journal"))
            .collect()
    }

    /// `SETUP` delivered messages; stamped by a read-write open unless the action is `stamp`.
    fn build(&self, action: &str) {
        let drop_path = DropPath::new(self.mailbox());
        let date = InternalDate {
            unix: 1_600_000_000,
            offset_minutes: 0,
        };
        for i in 0..SETUP {
            deliver(
                &drop_path,
                "setup@example.com",
                &setup_message(i),
                date,
                &DeliverOptions::default(),
            )
            .unwrap();
        }
        if action != "stamp" {
            drop(self.open(false));
        }
    }

    /// Runs `crash_rewrite` to the end.
    fn child(&self, step: &str, action: &str) -> std::process::Child {
        Command::new(example("crash_rewrite"))
            .args([
                self.mailbox().as_str(),
                self.root.join(".imapd").as_str(),
                step,
                "1",
                action,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The subjects of the messages, in order, as our engine (running recovery) reads them.
    fn subjects(&self, read_only: bool) -> Vec<String> {
        let mut m = self.open(read_only);
        let uids: Vec<Uid> = m.messages().iter().map(|x| x.uid).collect();
        uids.into_iter()
            .map(|u| {
                let mut out = Vec::new();
                m.read(u, None, &mut out).unwrap();
                subject(&out)
            })
            .collect()
    }

    /// `mailutil check box`'s total, run as nobody with this directory as HOME.
    fn c_client_total(&self, mailutil: &Utf8Path) -> usize {
        let mut cmd = if is_root() {
            std::os::unix::fs::chown(self.mailbox(), Some(NOBODY), Some(NOBODY)).unwrap();
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                mailutil.as_str(),
            ]);
            c
        } else {
            Command::new(mailutil)
        };
        let out = cmd
            .args(["check", "box"])
            .env_clear()
            .env("HOME", &self.root)
            .env("PATH", "/usr/bin:/bin")
            .current_dir(&self.root)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "mailutil check: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // "N new message(s) (M unseen), T total in box" or "No new messages, T total in box"
        let words: Vec<&str> = text.split_whitespace().collect();
        let n = words.len();
        assert!(n >= 4, "{text}");
        assert_eq!(words[n - 3..], ["total", "in", "box"], "{text}");
        words[n - 4].parse().unwrap()
    }
}

/// Setup message `i`: varied sizes, line ends and body `From ` lines, so that the halves of a
/// rewrite fall in different places.
fn setup_message(i: usize) -> Vec<u8> {
    let filler = "lorem ipsum dolor sit amet\n".repeat(i % 7);
    match i % 3 {
        0 => format!("From: setup@example.com\nSubject: MK-S-{i:02}\n\nbody {i}\n{filler}"),
        1 => format!("Subject: MK-S-{i:02}\r\nX-UID: 99\r\n\r\nbody {i}\r\nlast line"),
        _ => format!("Subject: MK-S-{i:02}\n\nFrom here on\n{filler}\n"),
    }
    .into_bytes()
}

fn concurrent_marker(w: usize, k: usize) -> String {
    format!("MK-C-{w}-{k}")
}

fn subject(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    text.split("\r\n")
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("Subject:"))
        .unwrap_or("")
        .trim()
        .to_owned()
}

fn setup_markers() -> BTreeSet<String> {
    (0..SETUP).map(|i| format!("MK-S-{i:02}")).collect()
}

fn died_by_abort(status: ExitStatus) -> bool {
    status.signal() == Some(SIGABRT)
}

fn describe(out: &Output) -> String {
    format!(
        "{:?}, stdout {:?}, stderr {:?}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn occurrences(haystack: &[u8], needle: &str) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle.as_bytes())
        .count()
}

/// Runs the child armed at `step` while `DELIVERERS` processes deliver, then checks the outcome.
fn crash_during_delivery(action: &str, step: &str, child_first: bool, mailutil: Option<&Utf8Path>) {
    let case = Case::new();
    case.build(action);
    let setup_len = case.bytes().len();
    let deliver_exe = example("deliver");
    let journal = case.paths().journal();
    // The deliverers start waiting for the mailbox's locks. With `child_first` the child joins
    // them before the locks are let go, and wins (its rewrite runs while they wait, and they
    // break its lock once it is dead); otherwise it starts once a delivery has landed, amid the
    // others (so its snapshot may hold some of them, and later ones arrive between its steps).
    let held = MailboxLock::acquire(
        &case.mailbox(),
        OpenOptions::new().read(true).write(true),
        LockMode::Exclusive,
        &LockOptions::client(),
    )
    .unwrap();
    let out = std::thread::scope(|s| {
        let deliverers: Vec<_> = (0..DELIVERERS)
            .map(|w| {
                let (exe, journal, mailbox) = (&deliver_exe, &journal, case.mailbox());
                s.spawn(move || {
                    for k in 0..PER_DELIVERER {
                        let mut d = Command::new(exe)
                            .args(["--journal", journal.as_str(), "--from", "c@example.com"])
                            .arg(mailbox.as_str())
                            .stdin(Stdio::piped())
                            .stderr(Stdio::piped())
                            .spawn()
                            .unwrap();
                        let m = format!("Subject: {}\n\nconcurrent\n", concurrent_marker(w, k));
                        d.stdin.take().unwrap().write_all(m.as_bytes()).unwrap();
                        let o = d.wait_with_output().unwrap();
                        assert!(o.status.success(), "deliver: {}", describe(&o));
                    }
                })
            })
            .collect();
        let child = if child_first {
            let child = case.child(step, action);
            std::thread::sleep(Duration::from_millis(100));
            drop(held);
            child
        } else {
            std::thread::sleep(Duration::from_millis(20));
            drop(held);
            let deadline = Instant::now() + Duration::from_secs(10);
            while case.bytes().len() == setup_len && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            case.child(step, action)
        };
        // Reaped at once, so that its dot-lock is seen to be dead.
        let out = child.wait_with_output().unwrap();
        for d in deliverers {
            d.join().unwrap();
        }
        out
    });
    let what = format!("{action} crashing at {step}");
    assert!(died_by_abort(out.status), "{what}: {}", describe(&out));

    let concurrent: BTreeSet<String> = (0..DELIVERERS)
        .flat_map(|w| (0..PER_DELIVERER).map(move |k| concurrent_marker(w, k)))
        .collect();
    let old: BTreeSet<String> = setup_markers().union(&concurrent).cloned().collect();
    let deleted: BTreeSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(deleted.is_subset(&old), "{what}: {deleted:?}");
    let new: BTreeSet<String> = old.difference(&deleted).cloned().collect();

    // Recovery, by a read-only open of ours (if no deliverer ran it already).
    let subjects = case.subjects(true);
    assert!(!case.journal_exists(), "{what}: journal left");
    let found: BTreeSet<String> = subjects.iter().cloned().collect();
    assert_eq!(
        found.len(),
        subjects.len(),
        "{what}: duplicates {subjects:?}"
    );
    assert!(
        found == old || found == new,
        "{what}: {found:?} is neither the old {old:?} nor the new {new:?}"
    );
    let bytes = case.bytes();
    for marker in &old {
        let want = usize::from(found.contains(marker));
        assert_eq!(
            occurrences(&bytes, marker),
            want,
            "{what}: {marker} in the file"
        );
    }
    if action.starts_with("flags-") {
        let m = case.open(true);
        let with: Vec<bool> = match m.keywords().slot(&keyword(action)) {
            Some(slot) => m.messages()[..SETUP]
                .iter()
                .map(|x| x.flags.keywords.has(slot))
                .collect(),
            None => vec![false; SETUP],
        };
        assert!(
            with.iter().all(|w| *w) || with.iter().all(|w| !*w),
            "{what}: the keyword reached only some messages: {with:?}"
        );
    }

    // A read-write open stamps what the deliverers added; UIDs increase, the setup messages
    // keep theirs, and UIDVALIDITY is the one the mailbox was given.
    let m = case.open(false);
    assert_eq!(i64::from(m.uid_validity().get()), NOW, "{what}");
    let uids: Vec<u32> = m.messages().iter().map(|x| x.uid.get()).collect();
    assert_eq!(uids.len(), found.len(), "{what}");
    assert!(uids.windows(2).all(|w| w[0] < w[1]), "{what}: {uids:?}");
    for (subject, uid) in subjects.iter().zip(&uids) {
        if let Some(i) = subject.strip_prefix("MK-S-") {
            let i: u32 = i.parse().unwrap();
            assert_eq!(*uid, i + 1, "{what}: UID of {subject}");
        } else {
            assert!(*uid > SETUP as u32, "{what}: UID of {subject}");
        }
    }
    assert_eq!(
        case.subjects(true),
        subjects,
        "{what}: stamping changed the messages"
    );
    assert!(case.journal_leftovers().is_empty(), "{what}");
    if let Some(mailutil) = mailutil {
        assert_eq!(
            case.c_client_total(mailutil),
            found.len(),
            "{what}: c-client"
        );
    }
}

fn crash_during_delivery_all_steps(action: &str) {
    let mailutil = mailutil().map(|p| Utf8PathBuf::try_from(p).unwrap());
    for (i, step) in STEPS.into_iter().enumerate() {
        crash_during_delivery(action, step, i % 2 == 0, mailutil.as_deref());
    }
}

#[test]
fn stamping_killed_at_each_step_while_mail_arrives() {
    crash_during_delivery_all_steps("stamp");
}

#[test]
fn expunge_killed_at_each_step_while_mail_arrives() {
    crash_during_delivery_all_steps("expunge");
}

#[test]
fn growing_flags_killed_at_each_step_while_mail_arrives() {
    crash_during_delivery_all_steps("flags-grow");
}

#[test]
fn new_keyword_killed_at_each_step_while_mail_arrives() {
    crash_during_delivery_all_steps("flags-new");
}

/// The keyword a `flags-...` action adds.
fn keyword(action: &str) -> String {
    if action == "flags-grow" {
        KEYWORD
    } else {
        SHORT_KEYWORD
    }
    .to_owned()
}

/// The file before the action's rewrite and after it, made in this process with the same
/// library, inputs and clock as the child.
fn reference(action: &str) -> (Vec<u8>, Vec<u8>) {
    let r = Case::new();
    r.build(action);
    match action {
        "stamp" => {
            let old = r.bytes();
            drop(r.open(false));
            (old, r.bytes())
        }
        "expunge" => {
            let mut m = r.open(false);
            let uids: Vec<Uid> = m.messages().iter().step_by(2).map(|x| x.uid).collect();
            m.store_flags(&uids, FlagOp::Add, SystemFlags::DELETED, &[])
                .unwrap();
            let old = r.bytes();
            m.expunge(Some(&uids)).unwrap();
            (old, r.bytes())
        }
        _ => {
            let old = r.bytes();
            let mut m = r.open(false);
            let uids: Vec<Uid> = m.messages().iter().map(|x| x.uid).collect();
            m.store_flags(&uids, FlagOp::Add, SystemFlags::EMPTY, &[keyword(action)])
                .unwrap();
            (old, r.bytes())
        }
    }
}

fn crash_alone(action: &str) {
    let (old, new) = reference(action);
    assert_ne!(old, new, "{action} changes the file");
    let built = {
        let c = Case::new();
        c.build(action);
        c.bytes()
    };
    for step in std::iter::once("none").chain(STEPS) {
        let what = format!("{action} crashing at {step}");
        let case = Case::new();
        case.build(action);
        assert_eq!(case.bytes(), built, "{what}: setup is reproducible");
        let out = case.child(step, action).wait_with_output().unwrap();
        if step == "none" {
            assert!(out.status.success(), "{what}: {}", describe(&out));
            assert!(
                case.bytes() == new,
                "{what}: a clean run gives the reference"
            );
            continue;
        }
        assert!(died_by_abort(out.status), "{what}: {}", describe(&out));
        // What the crash left, before anyone recovers.
        let journaled = !matches!(step, "journal:written" | "rewrite:committed");
        assert_eq!(case.journal_exists(), journaled, "{what}: journal");
        let left = case.bytes();
        match step {
            "rewrite:written" => assert!(left.starts_with(&new), "{what}: all written"),
            "rewrite:truncated" | "rewrite:synced" | "rewrite:committed" => {
                assert!(left == new, "{what}: the new content is in place");
            }
            _ => {}
        }
        // Recovery by a read-only open.
        let m = case.open(true);
        let want = if step == "rewrite:committed" {
            &new
        } else {
            &old
        };
        assert!(
            case.bytes() == *want,
            "{what}: recovered {} bytes, want {} ({})",
            case.bytes().len(),
            want.len(),
            if step == "rewrite:committed" {
                "new"
            } else {
                "old"
            }
        );
        assert!(!case.journal_exists(), "{what}");
        let expected = match (action, step) {
            ("expunge", "rewrite:committed") => SETUP / 2,
            _ => SETUP,
        };
        assert_eq!(m.messages().len(), expected, "{what}");
        // A writer also clears what a journal that never got its name left behind.
        drop(case.open(false));
        assert_eq!(case.journal_leftovers(), Vec::<String>::new(), "{what}");
    }
}

#[test]
fn stamping_killed_alone_leaves_old_or_new_bytes() {
    crash_alone("stamp");
}

#[test]
fn expunge_killed_alone_leaves_old_or_new_bytes() {
    crash_alone("expunge");
}

#[test]
fn growing_flags_killed_alone_leaves_old_or_new_bytes() {
    crash_alone("flags-grow");
}

#[test]
fn new_keyword_killed_alone_leaves_old_or_new_bytes() {
    crash_alone("flags-new");
}

/// A stamped mailbox with three new messages whose stamping (a rewrite of the tail) was killed
/// half-way, then DPOP's burst (`burst`, with our journal or, as a foreign DPOP, without), then
/// a read-write open of ours. Returns the burst's messages' subjects.
fn crashed_then_burst(with_journal: bool) -> (Case, Vec<String>) {
    let case = Case::new();
    case.build("expunge");
    let drop_path = DropPath::new(case.mailbox());
    for i in 0..3 {
        let m = format!("Subject: MK-N-{i}\n\nnew mail\n");
        deliver(
            &drop_path,
            "new@example.com",
            m.as_bytes(),
            InternalDate {
                unix: 1_600_000_000,
                offset_minutes: 0,
            },
            &DeliverOptions::default(),
        )
        .unwrap();
    }
    let out = case
        .child("rewrite:half-written", "stamp")
        .wait_with_output()
        .unwrap();
    assert!(died_by_abort(out.status), "{}", describe(&out));
    assert!(case.journal_exists());
    let out_dir = case.root.join("burst");
    std::fs::create_dir(&out_dir).unwrap();
    let mut burst = Command::new(example("burst"));
    if with_journal {
        burst.arg("--journal").arg(case.paths().journal().as_str());
    }
    let out = burst
        .arg(case.mailbox().as_str())
        .arg(out_dir.as_str())
        .output()
        .unwrap();
    assert!(out.status.success(), "burst: {}", describe(&out));
    assert_eq!(case.bytes().len(), 0, "burst empties the drop file");
    let mut files: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let subjects = files
        .iter()
        .map(|f| {
            let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
            text.lines()
                .take_while(|l| !l.is_empty())
                .find_map(|l| l.strip_prefix("Subject: "))
                .unwrap_or("")
                .to_owned()
        })
        .collect();

    // Our next opener finds the journal of a file that is no longer there.
    let m = case.open(false);
    assert_eq!(m.messages().len(), 0);
    assert_eq!(case.bytes(), b"", "nothing is brought back");
    assert!(!case.journal_exists());
    drop(m);
    // New mail after the burst continues the UIDs.
    deliver(
        &drop_path,
        "later@example.com",
        b"Subject: MK-L\n\nlater\n",
        InternalDate {
            unix: 1_600_000_000,
            offset_minutes: 0,
        },
        &DeliverOptions::default(),
    )
    .unwrap();
    let m = case.open(false);
    assert_eq!(m.messages().len(), 1);
    assert!(m.messages()[0].uid.get() > SETUP as u32);
    assert_eq!(case.subjects(true), ["MK-L"]);
    (case, subjects)
}

#[test]
fn burst_of_ours_recovers_first_and_takes_every_message_once() {
    let (_case, subjects) = crashed_then_burst(true);
    let mut want: Vec<String> = vec!["DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA".into()];
    want.extend(setup_markers());
    want.extend((0..3).map(|i| format!("MK-N-{i}")));
    assert_eq!(subjects, want);
}

#[test]
fn foreign_burst_after_a_crash_is_not_undone() {
    // What a foreign DPOP took from a half-rewritten file is outside the guarantee; what
    // matters is that recovery does not then write old bytes into the emptied file.
    let (_case, subjects) = crashed_then_burst(false);
    assert!(subjects.len() > SETUP, "{subjects:?}");
}
