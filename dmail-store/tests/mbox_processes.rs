//! Two processes sharing one mailbox (mailbox-formats.md §3): one sets flags and expunges; the
//! other's `sync` reports exactly those changes. The second process is this test binary run
//! again with `MBOX_CHILD_ACTION` set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use camino::{Utf8Path, Utf8PathBuf};
use dmail_store::deliver::{DeliverOptions, deliver};
use dmail_store::layout::DropPath;
use dmail_store::mbox::engine::{MboxMailbox, MboxOptions, MboxPaths};
use dmail_store::store::{FlagOp, Mailbox};
use dmail_store::{InternalDate, SystemFlags, Uid};

fn paths(root: &Utf8Path) -> MboxPaths {
    MboxPaths::new(root.join("bob"), root.join("bob.mbx/.imapd"), "INBOX")
}

fn options() -> MboxOptions {
    let mut o = MboxOptions::new("bob", "mail.example.com");
    o.local_offset = |_| 0;
    o
}

/// The child's part: flag message 2 \Flagged, delete and expunge message 3.
#[test]
fn child_role() {
    let (Ok(action), Ok(root)) = (
        std::env::var("MBOX_CHILD_ACTION"),
        std::env::var("MBOX_CHILD_ROOT"),
    ) else {
        return; // Not running as the child.
    };
    assert_eq!(action, "flag-and-expunge");
    let root = Utf8PathBuf::from(root);
    let mut m = MboxMailbox::open(paths(&root), false, options()).unwrap();
    m.store_flags(
        &[Uid::new(2).unwrap()],
        FlagOp::Add,
        SystemFlags::FLAGGED,
        &[],
    )
    .unwrap();
    m.store_flags(
        &[Uid::new(3).unwrap()],
        FlagOp::Add,
        SystemFlags::DELETED,
        &[],
    )
    .unwrap();
    assert_eq!(m.expunge(None).unwrap(), [Uid::new(3).unwrap()]);
}

#[test]
fn another_process_flags_and_expunge_are_reported_exactly() {
    if std::env::var("MBOX_CHILD_ACTION").is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = Utf8Path::from_path(dir.path()).unwrap().to_owned();
    for n in 1..=4 {
        let msg = format!("Subject: m{n}\n\nbody {n}\n");
        let date = InternalDate {
            unix: 1_000_000_000,
            offset_minutes: 0,
        };
        deliver(
            &DropPath::new(root.join("bob")),
            "a@b",
            msg.as_bytes(),
            date,
            &DeliverOptions::default(),
        )
        .unwrap();
    }
    let mut mine = MboxMailbox::open(paths(&root), false, options()).unwrap();
    assert_eq!(mine.messages().len(), 4);
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_role", "--test-threads", "1"])
        .env("MBOX_CHILD_ACTION", "flag-and-expunge")
        .env("MBOX_CHILD_ROOT", root.as_str())
        .status()
        .unwrap();
    assert!(status.success());
    let c = mine.sync().unwrap();
    assert_eq!(c.expunged, [Uid::new(3).unwrap()]);
    assert_eq!(c.flags_changed, [Uid::new(2).unwrap()]);
    assert_eq!(c.added, 0);
    assert!(!c.uid_validity_changed);
    let uids: Vec<u32> = mine.messages().iter().map(|m| m.uid.get()).collect();
    assert_eq!(uids, [1, 2, 4]);
    assert!(
        mine.messages()[1]
            .flags
            .system
            .contains(SystemFlags::FLAGGED)
    );
}

/// mailbox-formats.md §3: while a c-client program holds its `/tmp/.<dev>.<ino>` session lock
/// exclusively we open read-only; while we have a mailbox open read-write we hold it shared, so
/// that a c-client program cannot take it exclusively.
#[test]
fn the_c_client_session_lock_is_respected_and_held() {
    use std::os::unix::fs::MetadataExt;
    if std::env::var("MBOX_CHILD_ACTION").is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = Utf8Path::from_path(dir.path()).unwrap().to_owned();
    let msg = b"Subject: x\n\nbody\n";
    let date = InternalDate {
        unix: 1_000_000_000,
        offset_minutes: 0,
    };
    deliver(
        &DropPath::new(root.join("bob")),
        "a@b",
        msg,
        date,
        &DeliverOptions::default(),
    )
    .unwrap();
    let meta = std::fs::metadata(root.join("bob")).unwrap();
    let session = dmail_store::lock::session_lock_path(meta.dev(), meta.ino());
    let pine = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&session)
        .unwrap();
    pine.lock().unwrap();
    let m = MboxMailbox::open(paths(&root), false, options()).unwrap();
    assert!(m.is_read_only() && m.read_only_because_in_use());
    drop(m);
    pine.unlock().unwrap();
    let m = MboxMailbox::open(paths(&root), false, options()).unwrap();
    assert!(!m.is_read_only());
    assert!(
        pine.try_lock().is_err(),
        "our read-write handle holds the session lock shared"
    );
    drop(m);
    assert!(pine.try_lock().is_ok(), "and lets it go when closed");
    let _ = std::fs::remove_file(session);
}
