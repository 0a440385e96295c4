//! The mbox engine end to end on real files: stamping, reopening, sharing between handles,
//! delivery and DPOP's burst happening underneath, flags in place, expunge, append, and a
//! model-based property over random sequences of all of these (mailbox-formats.md §1–3).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Spool, options};

use std::collections::BTreeMap;

use dmail_store::mbox::engine::MboxMailbox;
use dmail_store::mbox::from_line;
use dmail_store::store::{FlagOp, Mailbox, NewMessage};
use dmail_store::{InternalDate, SystemFlags, Uid};
use proptest::prelude::*;

impl Spool {
    fn deliver(&self, body: &str) {
        self.deliver_text(&format!(
            "From: alice@example.com\nSubject: {body}\n\n{body}\n"
        ));
    }
}

fn read_all(m: &mut MboxMailbox, uid: Uid) -> Vec<u8> {
    let mut out = Vec::new();
    m.read(uid, None, &mut out).unwrap();
    out
}

fn subjects(m: &mut MboxMailbox) -> Vec<String> {
    let uids: Vec<Uid> = m.messages().iter().map(|x| x.uid).collect();
    uids.into_iter()
        .map(|u| {
            let text = String::from_utf8(read_all(m, u)).unwrap();
            text.lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .unwrap_or("")
                .trim_end()
                .to_owned()
        })
        .collect()
}

fn count_from_lines(bytes: &[u8]) -> usize {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| from_line::is_valid(l))
        .count()
}

#[test]
fn first_read_write_open_stamps_and_adds_the_pseudo_message() {
    let s = Spool::new();
    s.deliver("one");
    s.deliver("two");
    let mut m = s.open(false);
    let uids: Vec<u32> = m.messages().iter().map(|x| x.uid.get()).collect();
    assert_eq!(uids, [1, 2]);
    assert!(
        m.messages().iter().all(|x| x.recent),
        "the stamping session sees them as \\Recent"
    );
    assert_eq!(m.uid_validity().get(), 1_700_000_000);
    assert_eq!(m.uid_next().get(), 3);
    let text = String::from_utf8(s.bytes()).unwrap();
    assert!(text.starts_with("From MAILER-DAEMON "), "{text}");
    assert!(text.contains("X-IMAP: 1700000000 0000000002\n"), "{text}");
    assert!(text.contains("X-UID: 1\n") && text.contains("X-UID: 2\n"));
    assert_eq!(count_from_lines(&s.bytes()), 3);
    assert_eq!(subjects(&mut m), ["one", "two"]);
}

#[test]
fn reopening_an_unchanged_mailbox_changes_nothing() {
    let s = Spool::new();
    s.deliver("one");
    drop(s.open(false));
    let before = s.bytes();
    let m = s.open(false);
    assert_eq!(s.bytes(), before);
    assert_eq!(m.messages().len(), 1);
    assert!(
        !m.messages()[0].recent,
        "only the stamping session sees \\Recent"
    );
    assert_eq!(m.uid_validity().get(), 1_700_000_000);
}

#[test]
fn read_only_open_writes_nothing_and_numbers_the_same_way() {
    let s = Spool::new();
    s.deliver("one");
    s.deliver("two");
    let before = s.bytes();
    let mut ro = s.open(true);
    assert_eq!(s.bytes(), before);
    assert_eq!(
        ro.messages()
            .iter()
            .map(|x| x.uid.get())
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(
        ro.store_flags(&[Uid::MIN], FlagOp::Add, SystemFlags::SEEN, &[])
            .is_err()
    );
    let rw = s.open(false);
    assert_eq!(
        rw.messages()
            .iter()
            .map(|x| x.uid.get())
            .collect::<Vec<_>>(),
        [1, 2]
    );
}

#[test]
fn client_form_is_crlf_without_metadata_and_size_matches() {
    let s = Spool::new();
    s.deliver("hello");
    let mut m = s.open(false);
    let uid = m.messages()[0].uid;
    let bytes = read_all(&mut m, uid);
    assert_eq!(
        bytes,
        b"From: alice@example.com\r\nSubject: hello\r\n\r\nhello\r\n"
    );
    assert_eq!(m.messages()[0].size, bytes.len() as u64);
    let mut part = Vec::new();
    m.read(uid, Some(6..11), &mut part).unwrap();
    assert_eq!(part, b"alice");
}

#[test]
fn new_delivery_is_seen_by_sync_with_the_next_uid() {
    let s = Spool::new();
    s.deliver("one");
    let mut m = s.open(false);
    s.deliver("two");
    let c = m.sync().unwrap();
    assert_eq!(
        (c.added, c.expunged.len(), c.uid_validity_changed),
        (1, 0, false)
    );
    assert_eq!(m.messages()[1].uid.get(), 2);
    assert!(m.messages()[1].recent);
    assert!(String::from_utf8(s.bytes()).unwrap().contains("X-UID: 2\n"));
    assert!(
        String::from_utf8(s.bytes())
            .unwrap()
            .contains("X-IMAP: 1700000000 0000000002\n")
    );
}

#[test]
fn flags_are_written_in_place_and_seen_by_another_handle() {
    let s = Spool::new();
    s.deliver("one");
    s.deliver("two");
    let mut a = s.open(false);
    let mut b = s.open(false);
    let len = s.bytes().len();
    a.store_flags(
        &[Uid::new(2).unwrap()],
        FlagOp::Add,
        SystemFlags::SEEN | SystemFlags::FLAGGED,
        &[],
    )
    .unwrap();
    assert_eq!(s.bytes().len(), len, "an in-place write keeps the length");
    let text = String::from_utf8(s.bytes()).unwrap();
    assert!(text.contains("Status: RO\nX-Status: F\n"), "{text}");
    let c = b.sync().unwrap();
    assert_eq!(c.flags_changed, [Uid::new(2).unwrap()]);
    assert!(b.messages()[1].flags.system.contains(SystemFlags::FLAGGED));
    assert_eq!(
        a.sync().unwrap().flags_changed,
        Vec::<Uid>::new(),
        "a handle's own change is not news to it"
    );
}

#[test]
fn keywords_are_defined_in_the_folder_data() {
    let s = Spool::new();
    s.deliver("one");
    let mut a = s.open(false);
    a.store_flags(
        &[Uid::MIN],
        FlagOp::Add,
        SystemFlags::EMPTY,
        &["$Junk".to_owned()],
    )
    .unwrap();
    let text = String::from_utf8(s.bytes()).unwrap();
    assert!(
        text.contains("X-IMAP: 1700000000 0000000001 $Junk\n"),
        "{text}"
    );
    assert!(text.contains("X-Keywords: $Junk"), "{text}");
    let b = s.open(true);
    assert_eq!(b.keywords().names(), ["$Junk"]);
    assert!(b.messages()[0].flags.keywords.has(0));
}

#[test]
fn expunge_removes_deleted_messages_for_everyone() {
    let s = Spool::new();
    for n in ["one", "two", "three"] {
        s.deliver(n);
    }
    let mut a = s.open(false);
    let mut b = s.open(false);
    a.store_flags(
        &[Uid::new(2).unwrap()],
        FlagOp::Add,
        SystemFlags::DELETED,
        &[],
    )
    .unwrap();
    assert_eq!(a.expunge(None).unwrap(), [Uid::new(2).unwrap()]);
    let c = b.sync().unwrap();
    assert_eq!(c.expunged, [Uid::new(2).unwrap()]);
    assert_eq!(subjects(&mut b), ["one", "three"]);
    assert_eq!(
        count_from_lines(&s.bytes()),
        3,
        "pseudo-message and two messages"
    );
    let again = s.open(false);
    assert_eq!(
        again
            .messages()
            .iter()
            .map(|x| x.uid.get())
            .collect::<Vec<_>>(),
        [1, 3]
    );
}

#[test]
fn dpop_burst_expunges_everything_and_uids_continue() {
    let s = Spool::new();
    s.deliver("one");
    let mut m = s.open(false);
    std::fs::OpenOptions::new()
        .write(true)
        .open(s.inbox())
        .unwrap()
        .set_len(0)
        .unwrap();
    let c = m.sync().unwrap();
    assert_eq!(c.expunged, [Uid::MIN]);
    assert!(!c.uid_validity_changed);
    s.deliver("two");
    let c = m.sync().unwrap();
    assert_eq!(c.added, 1);
    assert_eq!(m.messages()[0].uid.get(), 2, "UIDs continue after a burst");
    assert_eq!(m.uid_validity().get(), 1_700_000_000);
}

#[test]
fn dpop_rewrite_without_some_messages_keeps_the_others_uids() {
    let s = Spool::new();
    for n in ["one", "two", "three"] {
        s.deliver(n);
    }
    let mut m = s.open(false);
    // DPOP (drop_users) rewrites the file without message 2, keeping the others as they are.
    let text = String::from_utf8(s.bytes()).unwrap();
    let parts: Vec<&str> = text.split("\nFrom ").collect();
    let rewritten = format!("{}\nFrom {}\nFrom {}", parts[0], parts[1], parts[3]);
    std::fs::write(s.inbox(), rewritten).unwrap();
    let c = m.sync().unwrap();
    assert_eq!(c.expunged, [Uid::new(2).unwrap()]);
    assert!(!c.uid_validity_changed);
    assert_eq!(
        m.messages().iter().map(|x| x.uid.get()).collect::<Vec<_>>(),
        [1, 3]
    );
}

#[test]
fn append_writes_flags_uid_and_quoting() {
    let s = Spool::new();
    let mut m = s.open(false);
    let uids = m
        .append(&[NewMessage {
            bytes: b"Subject: up\r\nStatus: RO\r\n\r\nFrom the start\r\n",
            flags: SystemFlags::SEEN,
            keywords: &["Work".to_owned()],
            internal_date: Some(InternalDate {
                unix: 1_600_000_000,
                offset_minutes: 60,
            }),
            envelope_sender: None,
        }])
        .unwrap();
    assert_eq!(uids, [Uid::MIN]);
    let text = String::from_utf8(s.bytes()).unwrap();
    assert!(text.starts_with("From MAILER-DAEMON "), "{text}");
    assert!(
        text.contains("From bob@mail.example.com Sun Sep 13 13:26:40 2020 +0100\n"),
        "{text}"
    );
    assert!(text.contains("X-Original-Status: RO\n"));
    assert!(text.contains(">From the start\n"));
    m.sync().unwrap();
    let meta = m.messages()[0];
    assert!(meta.flags.system.contains(SystemFlags::SEEN));
    assert_eq!(m.keywords().names(), ["Work"]);
    assert_eq!(meta.internal_date.unwrap().unix, 1_600_000_000);
    assert_eq!(
        read_all(&mut m, Uid::MIN),
        b"Subject: up\r\nX-Original-Status: RO\r\n\r\n>From the start\r\n"
    );
    let again = s.open(true);
    assert_eq!(again.uid_next().get(), 2);
}

#[derive(Clone, Debug)]
enum Op {
    Append,
    Deliver,
    Flag {
        handle: bool,
        pick: u8,
        deleted: bool,
    },
    Expunge {
        handle: bool,
    },
    Burst,
    Sync {
        handle: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Append),
        Just(Op::Deliver),
        (any::<bool>(), any::<u8>(), any::<bool>()).prop_map(|(handle, pick, deleted)| Op::Flag {
            handle,
            pick,
            deleted
        }),
        any::<bool>().prop_map(|handle| Op::Expunge { handle }),
        Just(Op::Burst),
        any::<bool>().prop_map(|handle| Op::Sync { handle }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    // mailbox-formats.md §1–3: no message lost or duplicated; UIDs strictly increasing, stable
    // and never reused; UIDVALIDITY unchanged; both handles agree after sync.
    #[test]
    fn random_sequences_match_the_model(ops in proptest::collection::vec(op(), 1..24)) {
        let s = Spool::new();
        let mut handles = [s.open(false), s.open(false)];
        // marker -> (uid once known, \Deleted)
        let mut model: BTreeMap<String, bool> = BTreeMap::new();
        let mut uid_of: BTreeMap<String, u32> = BTreeMap::new();
        let mut next_marker = 0u32;
        let validity = handles[0].uid_validity();
        for op in ops {
            match op {
                Op::Append => {
                    next_marker += 1;
                    let marker = format!("m{next_marker}");
                    let msg = format!("Subject: {marker}\r\n\r\n{marker}\r\n");
                    handles[0].append(&[NewMessage { bytes: msg.as_bytes(), flags: SystemFlags::EMPTY, keywords: &[], internal_date: None, envelope_sender: None }]).unwrap();
                    model.insert(marker, false);
                }
                Op::Deliver => {
                    next_marker += 1;
                    let marker = format!("m{next_marker}");
                    s.deliver(&marker);
                    model.insert(marker, false);
                }
                Op::Flag { handle, pick, deleted } => {
                    let h = &mut handles[usize::from(handle)];
                    h.sync().unwrap();
                    let metas = h.messages().to_vec();
                    if !metas.is_empty() {
                        let uid = metas[usize::from(pick) % metas.len()].uid;
                        let op = if deleted { FlagOp::Add } else { FlagOp::Remove };
                        h.store_flags(&[uid], op, SystemFlags::DELETED, &[]).unwrap();
                        let subject = subjects(h)[usize::from(pick) % metas.len()].clone();
                        model.insert(subject, deleted);
                    }
                }
                Op::Expunge { handle } => {
                    let h = &mut handles[usize::from(handle)];
                    h.sync().unwrap();
                    h.expunge(None).unwrap();
                    model.retain(|_, deleted| !*deleted);
                }
                Op::Burst => {
                    std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(s.inbox()).unwrap();
                    model.clear();
                }
                Op::Sync { handle } => {
                    handles[usize::from(handle)].sync().unwrap();
                }
            }
            for h in &mut handles {
                let c = h.sync().unwrap();
                prop_assert!(!c.uid_validity_changed);
                prop_assert_eq!(h.uid_validity(), validity);
                let metas = h.messages().to_vec();
                let subs = subjects(h);
                let seen: Vec<&String> = subs.iter().collect();
                let expected: Vec<&String> = model.keys().collect();
                let mut sorted = seen.clone();
                sorted.sort();
                prop_assert_eq!(&sorted, &expected, "messages lost or duplicated");
                for w in metas.windows(2) {
                    prop_assert!(w[0].uid < w[1].uid, "UIDs not increasing");
                }
                for (meta, subject) in metas.iter().zip(&subs) {
                    let known = *uid_of.entry(subject.clone()).or_insert(meta.uid.get());
                    prop_assert_eq!(known, meta.uid.get(), "UID of {} changed", subject);
                    prop_assert_eq!(meta.flags.system.contains(SystemFlags::DELETED), model[subject]);
                }
            }
            // A UID is never given to two messages.
            let mut all: Vec<u32> = uid_of.values().copied().collect();
            all.sort_unstable();
            let n = all.len();
            all.dedup();
            prop_assert_eq!(all.len(), n, "a UID was reused");
        }
    }
}

#[test]
fn uids_continue_across_processes_after_a_burst() {
    let s = Spool::new();
    s.deliver("one");
    s.deliver("two");
    drop(s.open(false));
    std::fs::OpenOptions::new()
        .write(true)
        .open(s.inbox())
        .unwrap()
        .set_len(0)
        .unwrap();
    s.deliver("three");
    let mut later = options();
    later.now = || 1_800_000_000;
    let m = MboxMailbox::open(s.paths(), false, later).unwrap();
    assert_eq!(
        m.uid_validity().get(),
        1_700_000_000,
        "UIDVALIDITY survives the burst"
    );
    assert_eq!(m.messages()[0].uid.get(), 3, "UIDs continue");
}

#[test]
fn a_missing_inbox_is_empty_and_append_creates_it() {
    let s = Spool::new();
    let mut m = s.open(false);
    assert!(m.messages().is_empty());
    assert!(!s.inbox().exists());
    m.append(&[NewMessage {
        bytes: b"Subject: a\r\n\r\nb\r\n",
        flags: SystemFlags::EMPTY,
        keywords: &[],
        internal_date: None,
        envelope_sender: None,
    }])
    .unwrap();
    assert_eq!(count_from_lines(&s.bytes()), 2);
}
