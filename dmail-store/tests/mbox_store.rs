//! `MboxStore` end to end: the folder namespace joined with the engine — CREATE's pseudo-message,
//! APPEND to a missing mailbox, COPY between mailboxes, DELETE and RENAME carrying private data,
//! RENAME INBOX moving the messages (mailbox-formats.md §4, RFC 3501 §6.3).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use camino::{Utf8Path, Utf8PathBuf};
use dmail_conf::Platform;
use dmail_store::deliver::{DeliverOptions, deliver};
use dmail_store::layout::DropPath;
use dmail_store::mbox::engine::MboxOptions;
use dmail_store::mbox::store::MboxStore;
use dmail_store::names::MailboxName;
use dmail_store::store::{FlagOp, Mailbox, MailboxList, NewMessage, OpenMode, StoreError};
use dmail_store::{InternalDate, SystemFlags, Uid};

struct User {
    _dir: tempfile::TempDir,
    root: Utf8PathBuf,
    store: MboxStore,
}

fn user() -> User {
    let dir = tempfile::tempdir().unwrap();
    let root = Utf8Path::from_path(dir.path()).unwrap().to_owned();
    let mut o = MboxOptions::new("bob", "mail.example.com");
    o.local_offset = |_| 0;
    o.now = || 1_700_000_000;
    let store = MboxStore::new(root.join("bob.mbx"), root.join("bob"), Platform::Unix, o);
    User {
        _dir: dir,
        root,
        store,
    }
}

fn name(s: &str) -> MailboxName {
    MailboxName::from_utf8(s).unwrap()
}

fn msg(subject: &str) -> Vec<u8> {
    format!("Subject: {subject}\r\n\r\n{subject} body\r\n").into_bytes()
}

fn new(bytes: &[u8]) -> NewMessage<'_> {
    NewMessage {
        bytes,
        flags: SystemFlags::EMPTY,
        keywords: &[],
        internal_date: None,
        envelope_sender: None,
    }
}

fn deliver_to(u: &User, subject: &str) {
    let m = format!("Subject: {subject}\n\n{subject} body\n");
    let date = InternalDate {
        unix: 1_000_000_000,
        offset_minutes: 0,
    };
    deliver(
        &DropPath::new(u.root.join("bob")),
        "alice@example.com",
        m.as_bytes(),
        date,
        &DeliverOptions::default(),
    )
    .unwrap();
}

fn listed(u: &User) -> Vec<String> {
    u.store
        .list(b"", b"*")
        .unwrap()
        .iter()
        .map(|e| e.name.as_str().to_owned())
        .collect()
}

#[test]
fn create_makes_a_mailbox_with_a_pseudo_message() {
    let u = user();
    u.store.create(&name("Sent")).unwrap();
    let text = std::fs::read_to_string(u.root.join("bob.mbx/Sent")).unwrap();
    assert!(text.starts_with("From MAILER-DAEMON "), "{text}");
    assert!(text.contains("X-IMAP: 1700000000 0000000000\n"));
    assert_eq!(listed(&u), ["INBOX", "Sent"]);
    assert!(matches!(
        u.store.create(&name("Sent")),
        Err(StoreError::AlreadyExists)
    ));
    let st = u.store.status(&name("Sent")).unwrap();
    assert_eq!(
        (st.messages, st.uid_next.get(), st.uid_validity.get()),
        (0, 1, 1_700_000_000)
    );
}

#[test]
fn append_to_a_missing_mailbox_is_nonexistent_and_creates_nothing() {
    let u = user();
    let m = msg("x");
    assert!(matches!(
        u.store.append_to(&name("Nope"), &[new(&m)]),
        Err(StoreError::NonExistent)
    ));
    assert!(!u.root.join("bob.mbx/Nope").exists());
}

#[test]
fn append_to_inbox_creates_the_drop_file() {
    let u = user();
    let m = msg("x");
    let (validity, uids) = u
        .store
        .append_to(&MailboxName::inbox(), &[new(&m)])
        .unwrap();
    assert_eq!((validity.get(), uids), (1_700_000_000, vec![Uid::MIN]));
    assert!(u.root.join("bob").exists());
}

#[test]
fn copy_keeps_flags_and_gives_new_uids() {
    let u = user();
    deliver_to(&u, "one");
    deliver_to(&u, "two");
    u.store.create(&name("Archive")).unwrap();
    let mut inbox = u
        .store
        .open(&MailboxName::inbox(), OpenMode::ReadWrite)
        .unwrap();
    inbox
        .store_flags(
            &[Uid::new(2).unwrap()],
            FlagOp::Add,
            SystemFlags::FLAGGED,
            &["Work".to_owned()],
        )
        .unwrap();
    let (_, uids) = u
        .store
        .copy_into(
            &mut inbox,
            &[Uid::new(2).unwrap(), Uid::MIN],
            &name("Archive"),
        )
        .unwrap();
    assert_eq!(uids.iter().map(|u| u.get()).collect::<Vec<_>>(), [1, 2]);
    let mut archive = u.store.open(&name("Archive"), OpenMode::ReadOnly).unwrap();
    let first = archive.messages()[0];
    assert!(first.flags.system.contains(SystemFlags::FLAGGED));
    assert_eq!(archive.keywords().names(), ["Work"]);
    let mut out = Vec::new();
    archive.read(first.uid, None, &mut out).unwrap();
    assert_eq!(out, b"Subject: two\r\n\r\ntwo body\r\n");
    let text = std::fs::read_to_string(u.root.join("bob.mbx/Archive")).unwrap();
    assert!(
        text.contains("\nFrom alice@example.com "),
        "the envelope sender is kept: {text}"
    );
}

#[test]
fn rename_inbox_moves_the_messages_and_empties_inbox() {
    let u = user();
    deliver_to(&u, "one");
    deliver_to(&u, "two");
    drop(
        u.store
            .open(&MailboxName::inbox(), OpenMode::ReadWrite)
            .unwrap(),
    );
    u.store.rename(&MailboxName::inbox(), &name("Old")).unwrap();
    let inbox = u
        .store
        .open(&MailboxName::inbox(), OpenMode::ReadOnly)
        .unwrap();
    assert!(inbox.messages().is_empty());
    assert_eq!(inbox.uid_next().get(), 3, "INBOX keeps its UIDs going");
    let old = u.store.open(&name("Old"), OpenMode::ReadOnly).unwrap();
    assert_eq!(old.messages().len(), 2);
    let text = std::fs::read_to_string(u.root.join("bob")).unwrap();
    assert!(
        text.starts_with("From MAILER-DAEMON "),
        "INBOX keeps only its pseudo-message: {text}"
    );
    assert_eq!(text.matches("\nFrom ").count(), 0);
}

#[test]
fn rename_and_delete_carry_private_data() {
    let u = user();
    u.store.create(&name("a/b")).unwrap();
    let m = msg("x");
    u.store.append_to(&name("a/b"), &[new(&m)]).unwrap();
    let private = u.root.join("bob.mbx/.imapd");
    assert!(private.join("a%2Fb.uids").exists());
    u.store.rename(&name("a"), &name("c")).unwrap();
    assert!(!private.join("a%2Fb.uids").exists());
    assert!(private.join("c%2Fb.uids").exists());
    assert_eq!(listed(&u), ["INBOX", "c", "c/b"]);
    u.store.delete(&name("c/b")).unwrap();
    assert!(!private.join("c%2Fb.uids").exists());
    assert!(matches!(
        u.store.delete(&MailboxName::inbox()),
        Err(StoreError::NotAllowed(_))
    ));
}

#[test]
fn subscriptions_round_trip() {
    let u = user();
    u.store.create(&name("Sent")).unwrap();
    u.store.subscribe(&name("Sent")).unwrap();
    let l: Vec<String> = u
        .store
        .lsub(b"", b"*")
        .unwrap()
        .iter()
        .map(|e| e.name.as_str().to_owned())
        .collect();
    assert_eq!(l, ["Sent"]);
    u.store.unsubscribe(&name("Sent")).unwrap();
    assert!(u.store.lsub(b"", b"*").unwrap().is_empty());
}

#[test]
fn selecting_a_directory_is_noselect() {
    let u = user();
    u.store.create(&name("dir/")).unwrap();
    assert!(matches!(
        u.store.open(&name("dir"), OpenMode::ReadOnly),
        Err(StoreError::NoSelect)
    ));
}

#[test]
fn status_agrees_with_an_open_mailbox() {
    let u = user();
    deliver_to(&u, "one");
    deliver_to(&u, "two");
    let mut inbox = u
        .store
        .open(&MailboxName::inbox(), OpenMode::ReadWrite)
        .unwrap();
    inbox
        .store_flags(&[Uid::MIN], FlagOp::Add, SystemFlags::SEEN, &[])
        .unwrap();
    drop(inbox);
    // From the private index, then again after the index is gone (a read-only open).
    for _ in 0..2 {
        let st = u.store.status(&MailboxName::inbox()).unwrap();
        assert_eq!(
            (st.messages, st.unseen, st.recent, st.uid_next.get()),
            (2, 1, 0, 3)
        );
        let _ = std::fs::remove_file(u.root.join("bob.mbx/.imapd/INBOX.index"));
    }
}
