//! The private index end to end (mailbox-formats.md §3): an open uses it when it still
//! describes the file (unchanged, flags changed as the change log records, or only grown), and
//! falls back to a scan otherwise; either way the result is what a scan without any index
//! gives. Rewrites that stream large files keep every byte of every message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Spool, options};

use std::os::unix::fs::FileExt;

use dmail_store::mbox::engine::{MboxMailbox, MboxPaths};
use dmail_store::mbox::index;
use dmail_store::store::{FlagOp, Mailbox, NewMessage};
use dmail_store::{Flags, InternalDate, SystemFlags, Uid};
use proptest::prelude::*;

impl Spool {
    fn deliver(&self, body: &str) {
        self.deliver_text(&format!(
            "From: alice@example.com\nSubject: {body}\n\n{body}\nsecond line\n"
        ));
    }
    /// What a scan with no index gives: a read-only open whose private directory holds only
    /// the remembered UIDVALIDITY and last UID.
    fn reference(&self) -> View {
        let private = self.root.join("reference.imapd");
        let _ = std::fs::remove_dir_all(&private);
        std::fs::create_dir_all(&private).unwrap();
        let uids = self.root.join("bob.mbx/.imapd/INBOX.uids");
        if uids.exists() {
            std::fs::copy(&uids, private.join("INBOX.uids")).unwrap();
        }
        let paths = MboxPaths::new(self.inbox(), private.clone(), "INBOX");
        let m = MboxMailbox::open(paths, true, options()).unwrap();
        let v = view(&m);
        drop(m);
        std::fs::remove_dir_all(&private).unwrap();
        v
    }
    fn index(&self) -> index::Index {
        index::read(self.paths().index().as_std_path())
            .unwrap()
            .unwrap()
    }
    fn write_index(&self, ix: &index::Index) {
        index::write(self.paths().index().as_std_path(), ix).unwrap();
    }
    /// A foreign program's same-length change: one byte of message `n`'s body.
    fn poke_body(&self, n: usize) {
        let bytes = self.bytes();
        let text = String::from_utf8_lossy(&bytes);
        let at = text.match_indices("second line").nth(n).unwrap().0;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.inbox())
            .unwrap();
        f.write_all_at(b"S", at as u64).unwrap();
    }
}

/// Everything a client can see of a mailbox but \Recent.
#[derive(Debug, PartialEq, Eq)]
struct View {
    validity: u32,
    uid_next: u32,
    keywords: Vec<String>,
    messages: Vec<(u32, Flags, u64, Option<InternalDate>)>,
}

fn view(m: &MboxMailbox) -> View {
    View {
        validity: m.uid_validity().get(),
        uid_next: m.uid_next().get(),
        keywords: m.keywords().names().to_vec(),
        messages: m
            .messages()
            .iter()
            .map(|x| (x.uid.get(), x.flags, x.size, x.internal_date))
            .collect(),
    }
}

fn flagged() -> Flags {
    Flags {
        system: SystemFlags::FLAGGED,
        ..Flags::default()
    }
}

/// Plants a flag in the index that the file does not have: an open that shows it read the
/// index instead of the file.
fn plant(s: &Spool, n: usize) {
    let mut ix = s.index();
    ix.entries[n].set_flags(flagged());
    s.write_index(&ix);
}

#[test]
fn an_open_writes_the_index_and_the_next_one_uses_it() {
    let s = Spool::new();
    for n in ["one", "two", "three"] {
        s.deliver(n);
    }
    drop(s.open(false));
    let ix = s.index();
    assert_eq!(ix.entries.len(), 3);
    assert_eq!(ix.last_uid, 3);
    assert!(ix.entries.iter().all(|e| e.stamped));
    plant(&s, 1);
    let before = s.bytes();
    for read_only in [true, false] {
        let m = s.open(read_only);
        assert_eq!(m.messages()[1].flags, flagged(), "the index was used");
        assert_eq!(m.messages().len(), 3);
    }
    assert_eq!(s.bytes(), before, "an unchanged mailbox is not written");
}

#[test]
fn a_changed_byte_means_a_scan_that_equals_a_scan_without_index() {
    let s = Spool::new();
    for n in ["one", "two", "three"] {
        s.deliver(n);
    }
    drop(s.open(false));
    plant(&s, 1);
    s.poke_body(1);
    let m = s.open(true);
    assert_eq!(
        m.messages()[1].flags,
        Flags::default(),
        "the file was scanned"
    );
    assert_eq!(view(&m), s.reference());
    drop(m);
    // A read-write open rewrites the index from the scan.
    drop(s.open(false));
    assert_eq!(s.index().entries[1].flags(), Flags::default());
}

#[test]
fn a_new_from_line_in_the_middle_is_found() {
    let s = Spool::new();
    for n in ["one", "two", "three"] {
        s.deliver(n);
    }
    drop(s.open(false));
    let bytes = s.bytes();
    let text = String::from_utf8_lossy(&bytes);
    // A foreign program turns a body line of message 2 into a From line: the file grew, but
    // not at its end.
    let at = text.match_indices("second line\n").nth(1).unwrap().0;
    let mut changed = bytes.clone();
    let from = b"From x Sat Dec 26 09:37:48 1998\n";
    changed.splice(at..at + 12, from.iter().copied());
    std::fs::write(s.inbox(), &changed).unwrap();
    let m = s.open(true);
    assert_eq!(m.messages().len(), 4);
    assert_eq!(view(&m), s.reference());
}

#[test]
fn a_grown_file_reuses_the_index_and_reads_only_the_tail() {
    let s = Spool::new();
    for n in ["one", "two", "three"] {
        s.deliver(n);
    }
    drop(s.open(false));
    plant(&s, 0);
    s.deliver("four");
    let ro = s.open(true);
    assert_eq!(ro.messages().len(), 4);
    assert_eq!(
        ro.messages()[0].flags,
        flagged(),
        "the prefix came from the index"
    );
    assert_eq!(ro.messages()[3].uid.get(), 4);
    drop(ro);
    let rw = s.open(false);
    assert_eq!(rw.messages()[0].flags, flagged());
    assert!(rw.messages()[3].recent, "stamped by this open");
    assert!(String::from_utf8(s.bytes()).unwrap().contains("X-UID: 4\n"));
    drop(rw);
    assert_eq!(
        s.index().entries.len(),
        4,
        "the index was brought up to date"
    );
}

#[test]
fn a_grown_file_whose_start_changed_is_scanned() {
    let s = Spool::new();
    for n in ["one", "two", "three"] {
        s.deliver(n);
    }
    drop(s.open(false));
    plant(&s, 0);
    // A foreign program rewrote the file (same inode) without message 2 and then mail came.
    let text = String::from_utf8(s.bytes()).unwrap();
    let parts: Vec<&str> = text.split("\nFrom ").collect();
    let rewritten = format!("{}\nFrom {}\nFrom {}", parts[0], parts[1], parts[3]);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(s.inbox())
        .unwrap();
    f.set_len(0).unwrap();
    f.write_all_at(rewritten.as_bytes(), 0).unwrap();
    s.deliver("four");
    s.deliver("five");
    assert!(s.bytes().len() > text.len());
    let m = s.open(true);
    assert_eq!(m.messages()[0].flags, Flags::default(), "scanned");
    assert_eq!(
        m.messages().iter().map(|x| x.uid.get()).collect::<Vec<_>>(),
        [1, 3, 4, 5]
    );
    assert_eq!(view(&m), s.reference());
}

#[test]
fn a_rewrite_that_still_has_a_from_line_at_the_old_end_is_caught() {
    let s = Spool::new();
    for n in ["aaa", "bbb", "ccc"] {
        s.deliver(n);
    }
    drop(s.open(false));
    // A foreign program moves message 2 to the end as "ddd" (same length), then mail comes:
    // the old length now ends a message and a From line follows, as for a file that grew.
    let text = String::from_utf8(s.bytes()).unwrap();
    let parts: Vec<&str> = text.split("\nFrom ").collect();
    assert_eq!(parts.len(), 4);
    let moved = parts[2].replace("bbb", "ddd");
    let third = parts[3].strip_suffix('\n').unwrap();
    let rewritten = format!(
        "{}\nFrom {}\nFrom {third}\nFrom {moved}\n",
        parts[0], parts[1]
    );
    assert_eq!(rewritten.len(), text.len());
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(s.inbox())
        .unwrap();
    f.write_all_at(rewritten.as_bytes(), 0).unwrap();
    s.deliver("eee");
    assert!(s.bytes()[text.len()..].starts_with(b"From "));
    let m = s.open(true);
    assert_eq!(view(&m), s.reference());
    assert_eq!(
        m.messages().iter().map(|x| x.uid.get()).collect::<Vec<_>>(),
        [1, 3, 4, 5],
        "message 2's X-UID is out of sequence after 3: renumbered"
    );
}

#[test]
fn flags_written_after_the_index_come_from_the_change_log() {
    let s = Spool::new();
    for n in ["one", "two", "three"] {
        s.deliver(n);
    }
    let mut writer = s.open(false);
    plant(&s, 0);
    writer
        .store_flags(&[Uid::new(2).unwrap()], FlagOp::Add, SystemFlags::SEEN, &[])
        .unwrap();
    // The writer is still open: the index on disk is the planted one, older than the file.
    let m = s.open(true);
    assert_eq!(m.messages()[0].flags, flagged(), "index, not a scan");
    assert!(
        m.messages()[1].flags.system.contains(SystemFlags::SEEN),
        "replayed from the change log"
    );
    drop(m);
    // When the writer goes, it saves what it knows; the planted flag is gone.
    drop(writer);
    let m = s.open(true);
    assert_eq!(view(&m), s.reference());
}

#[test]
fn flags_then_new_mail_both_arrive() {
    let s = Spool::new();
    for n in ["one", "two"] {
        s.deliver(n);
    }
    let mut a = s.open(false);
    let mut b = s.open(false);
    b.store_flags(&[Uid::MIN], FlagOp::Add, SystemFlags::FLAGGED, &[])
        .unwrap();
    s.deliver("three");
    let c = a.sync().unwrap();
    assert_eq!(c.flags_changed, [Uid::MIN]);
    assert_eq!(c.added, 1);
    assert_eq!(view(&a), s.reference());
    // And the other way round: mail, then a flag.
    s.deliver("four");
    b.sync().unwrap();
    b.store_flags(&[Uid::new(4).unwrap()], FlagOp::Add, SystemFlags::SEEN, &[])
        .unwrap();
    let c = a.sync().unwrap();
    assert_eq!(c.added, 1);
    assert!(a.messages()[3].flags.system.contains(SystemFlags::SEEN));
    assert_eq!(view(&a), view(&b));
}

#[test]
fn expunge_then_flags_elsewhere_is_not_mistaken_for_flags_alone() {
    let s = Spool::new();
    for n in ["one", "two", "three"] {
        s.deliver(n);
    }
    let mut a = s.open(false);
    let mut b = s.open(false);
    b.store_flags(
        &[Uid::new(2).unwrap()],
        FlagOp::Add,
        SystemFlags::DELETED,
        &[],
    )
    .unwrap();
    b.expunge(None).unwrap();
    b.store_flags(&[Uid::new(3).unwrap()], FlagOp::Add, SystemFlags::SEEN, &[])
        .unwrap();
    let c = a.sync().unwrap();
    assert_eq!(c.expunged, [Uid::new(2).unwrap()]);
    assert_eq!(view(&a), s.reference());
}

#[test]
fn a_burst_and_a_same_length_refill_are_not_taken_for_flag_writes() {
    let s = Spool::new();
    s.deliver("aaa");
    let mut writer = s.open(false);
    let mut reader = s.open(false);
    let len = s.bytes().len();
    // DPOP takes the message; one of the same length arrives; the writer stamps it (the same
    // length again) and sets a flag: the change log's record names the length the reader
    // knows, and a ctime the file has now.
    std::fs::OpenOptions::new()
        .write(true)
        .open(s.inbox())
        .unwrap()
        .set_len(0)
        .unwrap();
    s.deliver("bbb");
    writer.sync().unwrap();
    assert_eq!(s.bytes().len(), len, "the same length");
    writer
        .store_flags(&[Uid::new(2).unwrap()], FlagOp::Add, SystemFlags::SEEN, &[])
        .unwrap();
    let c = reader.sync().unwrap();
    assert_eq!((c.expunged, c.added), (vec![Uid::MIN], 1));
    assert_eq!(view(&reader), s.reference());
}

#[test]
fn a_handle_that_missed_an_append_before_a_burst_does_not_give_its_uid_again() {
    let s = Spool::new();
    s.deliver("one");
    let mut a = s.open(false);
    let mut b = s.open(false);
    let msg = NewMessage {
        bytes: b"Subject: x\r\n\r\nx\r\n",
        flags: SystemFlags::EMPTY,
        keywords: &[],
        internal_date: None,
        envelope_sender: None,
    };
    assert_eq!(a.append(&[msg]).unwrap(), [Uid::new(2).unwrap()]);
    std::fs::OpenOptions::new()
        .write(true)
        .open(s.inbox())
        .unwrap()
        .set_len(0)
        .unwrap();
    // `b` never saw UID 2.
    assert_eq!(b.append(&[msg]).unwrap(), [Uid::new(3).unwrap()]);
    b.sync().unwrap();
    assert_eq!(b.uid_next().get(), 4);
}

#[test]
fn an_emptied_file_has_no_keywords_until_it_gets_folder_data_again() {
    let s = Spool::new();
    s.deliver("one");
    let mut a = s.open(false);
    let mut b = s.open(false);
    a.store_flags(
        &[Uid::MIN],
        FlagOp::Add,
        SystemFlags::EMPTY,
        &["k".to_owned()],
    )
    .unwrap();
    b.sync().unwrap();
    assert_eq!(b.keywords().names(), ["k"]);
    std::fs::OpenOptions::new()
        .write(true)
        .open(s.inbox())
        .unwrap()
        .set_len(0)
        .unwrap();
    a.sync().unwrap();
    assert!(a.keywords().names().is_empty());
    // `b` defines a keyword on the empty file: a pseudo-message with it is written, and `a`
    // reads it from the file that grew from nothing.
    b.store_flags(
        &[Uid::MIN],
        FlagOp::Add,
        SystemFlags::EMPTY,
        &["z".to_owned()],
    )
    .unwrap();
    a.sync().unwrap();
    assert_eq!(a.keywords().names(), ["z"]);
    assert_eq!(view(&a), s.reference());
}

#[test]
fn a_damaged_index_is_ignored_and_replaced() {
    let s = Spool::new();
    for n in ["one", "two", "three"] {
        s.deliver(n);
    }
    drop(s.open(false));
    let path = s.paths().index();
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() - 5;
    bytes[mid] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let m = s.open(true);
    assert_eq!(view(&m), s.reference());
    drop(m);
    drop(s.open(false));
    assert_eq!(s.index().entries.len(), 3, "rewritten whole");
    std::fs::write(&path, b"not an index").unwrap();
    assert_eq!(view(&s.open(false)), s.reference());
}

#[test]
fn an_index_of_another_uidvalidity_is_ignored() {
    let s = Spool::new();
    for n in ["one", "two"] {
        s.deliver(n);
    }
    drop(s.open(false));
    let mut ix = s.index();
    ix.uid_validity = dmail_store::UidValidity::new(42).unwrap();
    ix.entries[0].set_flags(flagged());
    s.write_index(&ix);
    let m = s.open(true);
    assert_eq!(m.uid_validity().get(), 1_700_000_000);
    assert_eq!(m.messages()[0].flags, Flags::default());
}

#[test]
fn the_index_remembers_uids_when_the_uids_file_is_lost() {
    let s = Spool::new();
    for n in ["one", "two"] {
        s.deliver(n);
    }
    drop(s.open(false));
    std::fs::remove_file(s.root.join("bob.mbx/.imapd/INBOX.uids")).unwrap();
    // DPOP bursts the drop file; new mail comes.
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
    assert_eq!(m.uid_validity().get(), 1_700_000_000);
    assert_eq!(m.messages()[0].uid.get(), 3, "UIDs continue from the index");
}

#[test]
fn quick_status_answers_only_for_an_unchanged_mailbox() {
    let s = Spool::new();
    for n in ["one", "two", "three"] {
        s.deliver(n);
    }
    let p = s.paths();
    let o = options();
    assert_eq!(MboxMailbox::quick_status(&p, &o).unwrap(), None);
    let mut m = s.open(false);
    let q = MboxMailbox::quick_status(&p, &o).unwrap().unwrap();
    assert_eq!(
        (q.messages, q.recent, q.unseen, q.first_unseen),
        (3, 0, 3, Some(1))
    );
    assert_eq!((q.uid_next.get(), q.uid_validity.get()), (4, 1_700_000_000));
    m.store_flags(&[Uid::MIN], FlagOp::Add, SystemFlags::SEEN, &[])
        .unwrap();
    assert_eq!(
        MboxMailbox::quick_status(&p, &o).unwrap(),
        None,
        "flags changed"
    );
    drop(m);
    let q = MboxMailbox::quick_status(&p, &o).unwrap().unwrap();
    assert_eq!((q.unseen, q.first_unseen), (2, Some(2)));
    s.deliver("four");
    assert_eq!(MboxMailbox::quick_status(&p, &o).unwrap(), None, "new mail");
}

#[test]
fn memory_per_message_is_under_100_bytes() {
    let s = Spool::new();
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!(
            "From a@b Sat Dec 26 09:37:48 1998\nSubject: {i}\n\nbody {i}\n\n"
        ));
    }
    std::fs::write(s.inbox(), text).unwrap();
    drop(s.open(false));
    for read_only in [false, true] {
        let m = s.open(read_only);
        assert_eq!(m.messages().len(), 2000);
        let per = m.memory_bytes() / 2000;
        assert!(per <= 100, "{per} bytes a message");
    }
}

/// A mailbox of `n` messages of about `size` bytes each, every body line naming its message,
/// some bodies ending without a line end at the end of the file, and some with `>From`.
fn big_mailbox(s: &Spool, n: usize, size: usize, crlf: bool) -> Vec<String> {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut text = String::new();
    let mut bodies = Vec::new();
    for i in 0..n {
        let mut body = String::new();
        let mut k = 0;
        while body.len() < size {
            if k % 17 == 5 {
                body.push_str(&format!(">From the archive of {i}{eol}"));
            }
            body.push_str(&format!("message {i} line {k} lorem ipsum dolor{eol}"));
            k += 1;
        }
        text.push_str(&format!(
            "From a@b Sat Dec 26 09:37:48 1998{eol}Subject: m{i}{eol}{}{eol}{body}{eol}",
            if i % 3 == 0 {
                format!("Status: O{eol}")
            } else {
                String::new()
            }
        ));
        bodies.push(body);
    }
    std::fs::write(s.inbox(), text).unwrap();
    bodies
}

fn check_bodies(s: &Spool, m: &mut MboxMailbox, bodies: &[String], expect: &[usize]) {
    let metas = m.messages().to_vec();
    assert_eq!(metas.len(), expect.len());
    for (meta, &i) in metas.iter().zip(expect) {
        let mut out = Vec::new();
        m.read(meta.uid, None, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let body = bodies[i].replace("\r\n", "\n").replace('\n', "\r\n");
        assert!(
            text.ends_with(&body),
            "message {i} damaged: {:?}",
            &text[..text.len().min(200)]
        );
        assert_eq!(meta.size, text.len() as u64);
    }
    assert_eq!(view(m), s.reference());
}

#[test]
fn a_large_stamping_rewrite_streams_and_keeps_every_byte() {
    for crlf in [false, true] {
        let s = Spool::new();
        // About 3 MB: several chunks, so old bytes are read ahead of the growing writes.
        let bodies = big_mailbox(&s, 1500, 2000, crlf);
        let mut m = s.open(false);
        let all: Vec<usize> = (0..1500).collect();
        check_bodies(&s, &mut m, &bodies, &all);
        let text = s.bytes();
        assert_eq!(
            text.windows(7).filter(|w| w == b"X-UID: ").count(),
            1500,
            "every message stamped"
        );
        // A shrinking rewrite across chunks: expunge every third message from the 10th.
        let gone: Vec<Uid> = m.messages()[10..]
            .iter()
            .step_by(3)
            .map(|x| x.uid)
            .collect();
        m.store_flags(&gone, FlagOp::Add, SystemFlags::DELETED, &[])
            .unwrap();
        assert_eq!(m.expunge(None).unwrap(), gone);
        m.sync().unwrap();
        let kept: Vec<usize> = (0..1500).filter(|i| *i < 10 || (i - 10) % 3 != 0).collect();
        check_bodies(&s, &mut m, &bodies, &kept);
        // A growing rewrite from the top (a new keyword) with messages of all sizes.
        m.store_flags(
            &[m.messages()[700].uid],
            FlagOp::Add,
            SystemFlags::EMPTY,
            &["$Important".to_owned()],
        )
        .unwrap();
        m.sync().unwrap();
        check_bodies(&s, &mut m, &bodies, &kept);
        drop(m);
        let mut again = s.open(false);
        check_bodies(&s, &mut again, &bodies, &kept);
    }
}

#[test]
fn a_last_message_without_line_end_is_stamped_with_its_new_size() {
    let s = Spool::new();
    std::fs::write(
        s.inbox(),
        "From a Sat Dec 26 09:37:48 1998\nSubject: x\n\nbody\n\nFrom b Sat Dec 26 09:37:48 1998\nSubject: y\n\nno end",
    )
    .unwrap();
    let mut m = s.open(false);
    assert_eq!(view(&m), s.reference());
    let mut out = Vec::new();
    m.read(Uid::new(2).unwrap(), None, &mut out).unwrap();
    assert_eq!(m.messages()[1].size, out.len() as u64);
    // A header that runs to the end of the file.
    let s = Spool::new();
    std::fs::write(
        s.inbox(),
        "From a Sat Dec 26 09:37:48 1998\nSubject: x\n\nbody\n\nFrom b Sat Dec 26 09:37:48 1998\nSubject: y",
    )
    .unwrap();
    let m = s.open(false);
    assert_eq!(view(&m), s.reference());
}

#[derive(Clone, Debug)]
enum Op {
    Deliver,
    Append,
    Flag {
        handle: bool,
        pick: u8,
        seen: bool,
    },
    /// A keyword new to the mailbox: a rewrite from the top.
    Keyword {
        handle: bool,
        pick: u8,
        name: u8,
    },
    Expunge {
        handle: bool,
    },
    Reopen {
        handle: bool,
    },
    Sync {
        handle: bool,
    },
    /// Both handles sync and must agree with a scan.
    Check,
    /// A foreign program changes one body byte (same length).
    Poke {
        pick: u8,
    },
    Burst,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Deliver),
        2 => Just(Op::Append),
        4 => (any::<bool>(), any::<u8>(), any::<bool>())
            .prop_map(|(handle, pick, seen)| Op::Flag { handle, pick, seen }),
        1 => (any::<bool>(), any::<u8>(), 0..4u8)
            .prop_map(|(handle, pick, name)| Op::Keyword { handle, pick, name }),
        2 => any::<bool>().prop_map(|handle| Op::Expunge { handle }),
        2 => Just(Op::Check),
        3 => any::<bool>().prop_map(|handle| Op::Reopen { handle }),
        2 => any::<bool>().prop_map(|handle| Op::Sync { handle }),
        1 => any::<u8>().prop_map(|pick| Op::Poke { pick }),
        1 => Just(Op::Burst),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    // Whatever happened, in any interleaving, an open that uses the index (and two long-lived
    // handles once they sync) see exactly what a scan without any index sees.
    #[test]
    fn indexed_opens_equal_scans(ops in proptest::collection::vec(op(), 1..30)) {
        let s = Spool::new();
        s.deliver("first");
        let mut handles = [s.open(false), s.open(false)];
        let mut n = 0;
        for op in ops {
            match op {
                Op::Deliver => {
                    n += 1;
                    s.deliver(&format!("d{n}"));
                }
                Op::Append => {
                    n += 1;
                    let msg = format!("Subject: a{n}\r\n\r\na{n}\r\nsecond line\r\n");
                    handles[0].append(&[NewMessage { bytes: msg.as_bytes(), flags: SystemFlags::EMPTY, keywords: &[], internal_date: None, envelope_sender: None }]).unwrap();
                }
                Op::Flag { handle, pick, seen } => {
                    let h = &mut handles[usize::from(handle)];
                    let metas = h.messages().to_vec();
                    if !metas.is_empty() {
                        let uid = metas[usize::from(pick) % metas.len()].uid;
                        let (op, flag) = if seen { (FlagOp::Add, SystemFlags::SEEN) } else { (FlagOp::Add, SystemFlags::DELETED) };
                        h.store_flags(&[uid], op, flag, &[]).unwrap();
                    }
                }
                Op::Keyword { handle, pick, name } => {
                    let h = &mut handles[usize::from(handle)];
                    let metas = h.messages().to_vec();
                    if !metas.is_empty() {
                        let uid = metas[usize::from(pick) % metas.len()].uid;
                        let name = [format!("k{name}")];
                        h.store_flags(&[uid], FlagOp::Add, SystemFlags::EMPTY, &name).unwrap();
                    }
                }
                Op::Expunge { handle } => {
                    handles[usize::from(handle)].expunge(None).unwrap();
                }
                Op::Check => {
                    let reference = s.reference();
                    for h in &mut handles {
                        h.sync().unwrap();
                        prop_assert_eq!(&view(h), &reference);
                    }
                }
                Op::Reopen { handle } => {
                    let i = usize::from(handle);
                    handles[i] = s.open(false);
                }
                Op::Sync { handle } => {
                    handles[usize::from(handle)].sync().unwrap();
                }
                Op::Poke { pick } => {
                    let count = String::from_utf8_lossy(&s.bytes()).matches("second line").count();
                    if count > 0 {
                        s.poke_body(usize::from(pick) % count);
                    }
                }
                Op::Burst => {
                    std::fs::OpenOptions::new().write(true).open(s.inbox()).unwrap().set_len(0).unwrap();
                }
            }
            let reference = s.reference();
            let indexed = s.open(true);
            prop_assert_eq!(&view(&indexed), &reference);
        }
        let reference = s.reference();
        for h in &mut handles {
            h.sync().unwrap();
            prop_assert_eq!(&view(h), &reference);
        }
    }
}
