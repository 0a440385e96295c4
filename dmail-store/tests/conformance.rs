//! One conformance suite for every [`MailboxList`]: the same cases run against the mbox store
//! (on a temporary directory) and the in-memory store, so the two cannot drift apart. The mbox
//! store is the reference; a case that shows it wrong is kept, `#[ignore]`d with the reason,
//! rather than bent to fit.
//!
//! Marks (`\Marked`, `\Unmarked`) are left out of LIST comparisons: on disk they follow access
//! and change times, which the file system and its mount options decide.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use camino::{Utf8Path, Utf8PathBuf};
use dmail_conf::Platform;
use dmail_store::deliver::{DeliverOptions, deliver};
use dmail_store::folders::{Attribute, ListEntry, ListName};
use dmail_store::layout::DropPath;
use dmail_store::mbox::engine::MboxOptions;
use dmail_store::mbox::store::MboxStore;
use dmail_store::mem::MemoryStore;
use dmail_store::names::MailboxName;
use dmail_store::store::{FlagOp, Mailbox, MailboxList, NewMessage, OpenMode, StoreError};
use dmail_store::{InternalDate, SystemFlags, Uid};

/// A store under test and a way to deliver mail to it from outside.
trait Fixture {
    type Store: MailboxList;
    fn store(&self) -> &Self::Store;
    /// Delivers `bytes` (LF line ends) as the mail system would.
    fn deliver(&self, name: &MailboxName, bytes: &[u8]);
}

struct Mbox {
    _dir: tempfile::TempDir,
    root: Utf8PathBuf,
    store: MboxStore,
}

impl Fixture for Mbox {
    type Store = MboxStore;
    fn store(&self) -> &MboxStore {
        &self.store
    }
    fn deliver(&self, name: &MailboxName, bytes: &[u8]) {
        let path = if name.is_inbox() {
            self.root.join("bob")
        } else {
            self.root.join("bob.mbx").join(name.as_str())
        };
        let date = InternalDate {
            unix: 1_000_000_000,
            offset_minutes: 0,
        };
        deliver(
            &DropPath::new(path),
            "alice@example.com",
            bytes,
            date,
            &DeliverOptions::default(),
        )
        .unwrap();
    }
}

fn mbox() -> Mbox {
    let dir = tempfile::tempdir().unwrap();
    let root = Utf8Path::from_path(dir.path()).unwrap().to_owned();
    let mut o = MboxOptions::new("bob", "mail.example.com");
    o.local_offset = |_| 0;
    let store = MboxStore::new(root.join("bob.mbx"), root.join("bob"), Platform::Unix, o);
    Mbox {
        _dir: dir,
        root,
        store,
    }
}

struct Memory {
    store: MemoryStore,
}

impl Fixture for Memory {
    type Store = MemoryStore;
    fn store(&self) -> &MemoryStore {
        &self.store
    }
    fn deliver(&self, name: &MailboxName, bytes: &[u8]) {
        self.store.deliver(name, bytes).unwrap();
    }
}

fn memory() -> Memory {
    Memory {
        store: MemoryStore::new(),
    }
}

fn name(s: &str) -> MailboxName {
    MailboxName::parse(s.as_bytes()).unwrap()
}

fn inbox() -> MailboxName {
    MailboxName::inbox()
}

fn uid(n: u32) -> Uid {
    Uid::new(n).unwrap()
}

fn uids(v: &[Uid]) -> Vec<u32> {
    v.iter().map(|u| u.get()).collect()
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

/// A LIST or LSUB answer as `name attributes` lines, marks left out.
fn lines(entries: &[ListEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| {
            let attrs: Vec<&str> = e
                .attributes
                .iter()
                .filter(|a| !matches!(a, Attribute::Marked | Attribute::UnMarked))
                .map(Attribute::name)
                .collect();
            format!("{} {}", e.name.as_str(), attrs.join(" "))
                .trim_end()
                .to_owned()
        })
        .collect()
}

fn list<S: MailboxList>(s: &S, reference: &str, pattern: &str) -> Vec<String> {
    lines(&s.list(reference.as_bytes(), pattern.as_bytes()).unwrap())
}

fn lsub<S: MailboxList>(s: &S, reference: &str, pattern: &str) -> Vec<String> {
    lines(&s.lsub(reference.as_bytes(), pattern.as_bytes()).unwrap())
}

fn read_all<M: Mailbox>(m: &mut M, u: Uid) -> Vec<u8> {
    let mut out = Vec::new();
    let n = m.read(u, None, &mut out).unwrap();
    assert_eq!(n, out.len() as u64);
    out
}

fn append<S: MailboxList>(s: &S, to: &MailboxName, subjects: &[&str]) -> Vec<u32> {
    let bodies: Vec<Vec<u8>> = subjects.iter().map(|x| msg(x)).collect();
    let messages: Vec<NewMessage<'_>> = bodies.iter().map(|b| new(b)).collect();
    uids(&s.append_to(to, &messages).unwrap().1)
}

macro_rules! err {
    ($e:expr, $p:pat) => {
        match $e {
            Err($p) => {}
            Err(other) => panic!("expected {}, got {other:?}", stringify!($p)),
            Ok(_) => panic!("expected {}, got success", stringify!($p)),
        }
    };
}

mod cases {
    use super::*;

    pub(crate) fn inbox_always_exists<F: Fixture>(f: &F) {
        let s = f.store();
        assert_eq!(list(s, "", "*"), ["INBOX \\Noinferiors"]);
        assert_eq!(list(s, "", "inbox"), ["INBOX \\Noinferiors"]);
        assert_eq!(list(s, "", ""), [" \\Noselect"]);
        assert_eq!(
            s.list(b"", b"").unwrap()[0].name,
            ListName::Root,
            "LIST \"\" \"\" names the root"
        );
        let st = s.status(&inbox()).unwrap();
        assert_eq!((st.messages, st.recent, st.uid_next.get()), (0, 0, 1));
        let m = s.open(&inbox(), OpenMode::ReadWrite).unwrap();
        assert!(m.messages().is_empty());
        err!(s.create(&inbox()), StoreError::NotAllowed(_));
        err!(s.create(&name("inbox")), StoreError::NotAllowed(_));
        err!(s.delete(&inbox()), StoreError::NotAllowed(_));
    }

    pub(crate) fn create_makes_directories_on_the_way<F: Fixture>(f: &F) {
        let s = f.store();
        s.create(&name("a/b")).unwrap();
        assert_eq!(
            list(s, "", "*"),
            [
                "INBOX \\Noinferiors",
                "a \\Noselect \\HasChildren",
                "a/b \\Noinferiors"
            ]
        );
        err!(s.open(&name("a"), OpenMode::ReadOnly), StoreError::NoSelect);
        err!(s.status(&name("a")), StoreError::NoSelect);
        err!(s.create(&name("a")), StoreError::AlreadyExists);
        err!(s.create(&name("a/")), StoreError::AlreadyExists);
        err!(s.create(&name("a/b")), StoreError::AlreadyExists);
        err!(s.create(&name("a/b/")), StoreError::AlreadyExists);
        err!(s.create(&name("a/b/c")), StoreError::NotAllowed(_));
        err!(
            s.open(&name("a/b/c"), OpenMode::ReadOnly),
            StoreError::NonExistent
        );
        err!(
            s.open(&name("a/b/"), OpenMode::ReadOnly),
            StoreError::NonExistent
        );
        err!(
            s.open(&name("nope"), OpenMode::ReadOnly),
            StoreError::NonExistent
        );
        err!(s.status(&name("nope")), StoreError::NonExistent);
        let st = s.status(&name("a/b")).unwrap();
        assert_eq!((st.messages, st.uid_next.get()), (0, 1));
    }

    pub(crate) fn create_with_a_trailing_delimiter_makes_a_directory<F: Fixture>(f: &F) {
        let s = f.store();
        s.create(&name("x/")).unwrap();
        assert_eq!(
            list(s, "", "*"),
            ["INBOX \\Noinferiors", "x \\Noselect \\HasNoChildren"]
        );
        err!(
            s.open(&name("x"), OpenMode::ReadWrite),
            StoreError::NoSelect
        );
        err!(
            s.append_to(&name("x"), &[new(&msg("m"))]),
            StoreError::NoSelect
        );
        err!(s.create(&name("x")), StoreError::AlreadyExists);
        s.create(&name("x/y")).unwrap();
        assert_eq!(
            list(s, "", "x*"),
            ["x \\Noselect \\HasChildren", "x/y \\Noinferiors"]
        );
        // A directory named INBOX holds folders beside the drop file.
        s.create(&name("INBOX/")).unwrap();
        s.create(&name("INBOX/old")).unwrap();
        assert_eq!(
            list(s, "", "*"),
            [
                "INBOX \\HasChildren",
                "INBOX/old \\Noinferiors",
                "x \\Noselect \\HasChildren",
                "x/y \\Noinferiors"
            ]
        );
    }

    pub(crate) fn list_patterns_and_order<F: Fixture>(f: &F) {
        let s = f.store();
        for n in ["Work/2000/Jan", "Work/2001", "Sent", "Drafts", "a/b", "a-c"] {
            s.create(&name(n)).unwrap();
        }
        assert_eq!(
            list(s, "", "*"),
            [
                "INBOX \\Noinferiors",
                "Drafts \\Noinferiors",
                "Sent \\Noinferiors",
                "Work \\Noselect \\HasChildren",
                "Work/2000 \\Noselect \\HasChildren",
                "Work/2000/Jan \\Noinferiors",
                "Work/2001 \\Noinferiors",
                "a \\Noselect \\HasChildren",
                "a/b \\Noinferiors",
                "a-c \\Noinferiors",
            ]
        );
        assert_eq!(
            list(s, "", "%"),
            [
                "INBOX \\Noinferiors",
                "Drafts \\Noinferiors",
                "Sent \\Noinferiors",
                "Work \\Noselect \\HasChildren",
                "a \\Noselect \\HasChildren",
                "a-c \\Noinferiors",
            ]
        );
        assert_eq!(
            list(s, "Work/", "%"),
            [
                "Work/2000 \\Noselect \\HasChildren",
                "Work/2001 \\Noinferiors"
            ]
        );
        assert_eq!(list(s, "Work/", "*/J%"), ["Work/2000/Jan \\Noinferiors"]);
        assert_eq!(list(s, "", "In%"), ["INBOX \\Noinferiors"]);
        assert_eq!(list(s, "", "sent"), Vec::<String>::new());
        assert_eq!(list(s, "", "/etc"), Vec::<String>::new());
    }

    pub(crate) fn delete_mailboxes_and_directories<F: Fixture>(f: &F) {
        let s = f.store();
        s.create(&name("a/b")).unwrap();
        append(s, &name("a/b"), &["one"]);
        err!(s.delete(&name("nope")), StoreError::NonExistent);
        err!(s.delete(&name("a")), StoreError::NotAllowed(_));
        err!(s.delete(&name("a/b/")), StoreError::NonExistent);
        err!(s.delete(&name("a/b/c")), StoreError::NonExistent);
        s.delete(&name("a/b")).unwrap();
        err!(
            s.open(&name("a/b"), OpenMode::ReadOnly),
            StoreError::NonExistent
        );
        assert_eq!(
            list(s, "", "*"),
            ["INBOX \\Noinferiors", "a \\Noselect \\HasNoChildren"]
        );
        s.delete(&name("a/")).unwrap();
        assert_eq!(list(s, "", "*"), ["INBOX \\Noinferiors"]);
        // Created again, it starts empty.
        s.create(&name("a/b")).unwrap();
        let st = s.status(&name("a/b")).unwrap();
        assert_eq!((st.messages, st.uid_next.get()), (0, 1));
        s.delete(&name("a/b")).unwrap();
        s.delete(&name("a")).unwrap();
        assert_eq!(list(s, "", "*"), ["INBOX \\Noinferiors"]);
    }

    pub(crate) fn rename_mailboxes_and_directories<F: Fixture>(f: &F) {
        let s = f.store();
        s.create(&name("Sent")).unwrap();
        append(s, &name("Sent"), &["one", "two"]);
        let before = s.status(&name("Sent")).unwrap();
        s.rename(&name("Sent"), &name("Old/Sent")).unwrap();
        err!(
            s.open(&name("Sent"), OpenMode::ReadOnly),
            StoreError::NonExistent
        );
        let after = s.status(&name("Old/Sent")).unwrap();
        assert_eq!(
            before, after,
            "a renamed mailbox keeps its messages and UIDs"
        );
        assert_eq!(
            list(s, "", "*"),
            [
                "INBOX \\Noinferiors",
                "Old \\Noselect \\HasChildren",
                "Old/Sent \\Noinferiors"
            ]
        );
        s.rename(&name("Old"), &name("New/Older")).unwrap();
        assert_eq!(
            list(s, "", "*"),
            [
                "INBOX \\Noinferiors",
                "New \\Noselect \\HasChildren",
                "New/Older \\Noselect \\HasChildren",
                "New/Older/Sent \\Noinferiors"
            ]
        );
        let mut m = s.open(&name("New/Older/Sent"), OpenMode::ReadOnly).unwrap();
        let first = m.messages()[0].uid;
        assert_eq!(read_all(&mut m, first), msg("one"));
        s.create(&name("Drafts")).unwrap();
        err!(s.rename(&name("nope"), &name("x")), StoreError::NonExistent);
        err!(
            s.rename(&name("Drafts/"), &name("x")),
            StoreError::NonExistent
        );
        err!(
            s.rename(&name("Drafts"), &name("New")),
            StoreError::AlreadyExists
        );
        err!(
            s.rename(&name("Drafts"), &name("Drafts")),
            StoreError::AlreadyExists
        );
        err!(
            s.rename(&name("Drafts"), &inbox()),
            StoreError::AlreadyExists
        );
        err!(
            s.rename(&name("Drafts"), &name("x/")),
            StoreError::NotAllowed(_)
        );
        err!(
            s.rename(&name("New"), &name("New/x")),
            StoreError::NotAllowed(_)
        );
        err!(
            s.rename(&name("New"), &name("Drafts/x")),
            StoreError::NotAllowed(_)
        );
        err!(
            s.rename(&name("Drafts"), &name("Drafts/x")),
            StoreError::NotAllowed(_)
        );
        s.rename(&name("New/"), &name("Top/")).unwrap();
        assert_eq!(
            list(s, "", "*"),
            [
                "INBOX \\Noinferiors",
                "Drafts \\Noinferiors",
                "Top \\Noselect \\HasChildren",
                "Top/Older \\Noselect \\HasChildren",
                "Top/Older/Sent \\Noinferiors"
            ]
        );
    }

    pub(crate) fn rename_inbox_moves_the_messages<F: Fixture>(f: &F) {
        let s = f.store();
        f.deliver(&inbox(), b"Subject: one\n\none body\n");
        f.deliver(&inbox(), b"Subject: two\n\ntwo body\n");
        let mut m = s.open(&inbox(), OpenMode::ReadWrite).unwrap();
        m.store_flags(&[uid(2)], FlagOp::Add, SystemFlags::FLAGGED, &[])
            .unwrap();
        drop(m);
        s.rename(&inbox(), &name("Old")).unwrap();
        let m = s.open(&inbox(), OpenMode::ReadOnly).unwrap();
        assert!(m.messages().is_empty());
        assert_eq!(m.uid_next().get(), 3, "INBOX keeps its UIDs going");
        let mut old = s.open(&name("Old"), OpenMode::ReadOnly).unwrap();
        assert_eq!(old.messages().len(), 2);
        assert!(
            old.messages()[1]
                .flags
                .system
                .contains(SystemFlags::FLAGGED)
        );
        let first = old.messages()[0].uid;
        assert_eq!(read_all(&mut old, first), msg("one"));
        assert_eq!(
            list(s, "", "*"),
            ["INBOX \\Noinferiors", "Old \\Noinferiors"]
        );
        err!(s.rename(&inbox(), &name("Old")), StoreError::AlreadyExists);
        // An empty INBOX renames to an empty mailbox.
        s.rename(&inbox(), &name("Empty")).unwrap();
        assert_eq!(s.status(&name("Empty")).unwrap().messages, 0);
    }

    pub(crate) fn subscriptions_ignore_existence<F: Fixture>(f: &F) {
        let s = f.store();
        assert!(lsub(s, "", "*").is_empty());
        s.subscribe(&name("Work/2000")).unwrap();
        s.subscribe(&name("Sent")).unwrap();
        s.subscribe(&name("Sent")).unwrap();
        s.subscribe(&name("inbox")).unwrap();
        assert_eq!(lsub(s, "", "*"), ["Work/2000", "Sent", "INBOX"]);
        assert_eq!(lsub(s, "", "%"), ["Work \\Noselect", "Sent", "INBOX"]);
        assert_eq!(lsub(s, "Work/", "%"), ["Work/2000"]);
        assert_eq!(lsub(s, "", ""), Vec::<String>::new());
        assert_eq!(list(s, "", "*"), ["INBOX \\Noinferiors"]);
        s.unsubscribe(&name("Sent")).unwrap();
        s.unsubscribe(&name("never")).unwrap();
        assert_eq!(lsub(s, "", "*"), ["Work/2000", "INBOX"]);
        s.subscribe(&name("Work/")).unwrap();
        // Subscribed itself now, `Work` is reported in list order, without `\Noselect`.
        assert_eq!(lsub(s, "", "%"), ["INBOX", "Work"]);
    }

    pub(crate) fn open_modes<F: Fixture>(f: &F) {
        let s = f.store();
        s.create(&name("Sent")).unwrap();
        append(s, &name("Sent"), &["one"]);
        let mut ro = s.open(&name("Sent"), OpenMode::ReadOnly).unwrap();
        assert!(ro.is_read_only());
        err!(ro.append(&[new(&msg("x"))]), StoreError::ReadOnly);
        err!(
            ro.store_flags(&[uid(1)], FlagOp::Add, SystemFlags::SEEN, &[]),
            StoreError::ReadOnly
        );
        err!(ro.expunge(None), StoreError::ReadOnly);
        assert_eq!(ro.export(&[uid(1)]).unwrap().len(), 1);
        assert_eq!(read_all(&mut ro, uid(1)), msg("one"));
        let rw = s.open(&name("Sent"), OpenMode::ReadWrite).unwrap();
        assert!(!rw.is_read_only());
        assert_eq!(rw.uid_validity(), ro.uid_validity());
        assert_eq!(
            s.status(&name("Sent")).unwrap().uid_validity,
            ro.uid_validity()
        );
    }

    pub(crate) fn append_gives_ascending_uids<F: Fixture>(f: &F) {
        let s = f.store();
        s.create(&name("Sent")).unwrap();
        let mut m = s.open(&name("Sent"), OpenMode::ReadWrite).unwrap();
        assert_eq!(m.uid_next().get(), 1);
        let bodies = [msg("a"), msg("b"), msg("c")];
        let date = InternalDate {
            unix: 1_234_567_890,
            offset_minutes: 60,
        };
        let kw = ["Work".to_owned()];
        let mut batch: Vec<NewMessage<'_>> = bodies.iter().map(|b| new(b)).collect();
        batch[1].flags = SystemFlags::SEEN | SystemFlags::DRAFT;
        batch[1].keywords = &kw;
        batch[1].internal_date = Some(date);
        assert_eq!(uids(&m.append(&batch).unwrap()), [1, 2, 3]);
        assert_eq!(m.uid_next().get(), 4, "the appender knows UIDNEXT at once");
        assert_eq!(m.keywords().names(), ["Work"]);
        let c = m.sync().unwrap();
        assert_eq!((c.added, c.expunged.len()), (3, 0));
        let meta = m.messages();
        assert_eq!(meta.len(), 3);
        assert_eq!(meta[1].flags.system, SystemFlags::SEEN | SystemFlags::DRAFT);
        assert_eq!(meta[1].flags.keywords.slots().collect::<Vec<_>>(), [0]);
        assert_eq!(meta[1].internal_date, Some(date));
        assert!(meta[0].internal_date.is_some(), "no date given means now");
        assert_eq!(meta[0].size, msg("a").len() as u64);
        assert!(
            meta.iter().all(|x| !x.recent),
            "appended mail is not \\Recent"
        );
        assert_eq!(append(s, &name("Sent"), &["d"]), [4]);
        assert_eq!(m.sync().unwrap().added, 1);
        assert_eq!(m.uid_next().get(), 5);
        err!(
            s.append_to(&name("Nope"), &[new(&msg("x"))]),
            StoreError::NonExistent
        );
        let st = s.status(&name("Sent")).unwrap();
        assert_eq!((st.messages, st.unseen, st.uid_next.get()), (4, 3, 5));
    }

    pub(crate) fn read_gives_client_form_and_ranges<F: Fixture>(f: &F) {
        let s = f.store();
        s.create(&name("Sent")).unwrap();
        let lf = b"Subject: lf\n\nline one\nline two\n";
        let crlf = b"Subject: lf\r\n\r\nline one\r\nline two\r\n";
        s.append_to(&name("Sent"), &[new(lf)]).unwrap();
        let mut m = s.open(&name("Sent"), OpenMode::ReadOnly).unwrap();
        assert_eq!(m.messages()[0].size, crlf.len() as u64);
        assert_eq!(read_all(&mut m, uid(1)), crlf);
        let mut out = Vec::new();
        assert_eq!(m.read(uid(1), Some(0..9), &mut out).unwrap(), 9);
        assert_eq!(out, b"Subject: ");
        out.clear();
        let n = m.read(uid(1), Some(15..1000), &mut out).unwrap();
        assert_eq!(out, &crlf[15..]);
        assert_eq!(n, out.len() as u64);
        out.clear();
        assert_eq!(m.read(uid(1), Some(1000..2000), &mut out).unwrap(), 0);
        // A backwards range (a client's partial fetch past the end) reads nothing.
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = 5..2;
        assert_eq!(m.read(uid(1), Some(backwards), &mut out).unwrap(), 0);
        assert!(out.is_empty());
        err!(m.read(uid(2), None, &mut out), StoreError::NoSuchMessage(_));
        // Delivered mail, with LF line ends on the way in, reads the same way.
        f.deliver(&name("Sent"), lf);
        m.sync().unwrap();
        let second = m.messages()[1].uid;
        assert_eq!(read_all(&mut m, second), crlf);
    }

    /// RFC822.SIZE must be the length of what a FETCH of the whole message sends, whatever
    /// shape the message has (an APPEND of a bare line is all header, with no blank line).
    pub(crate) fn size_is_what_read_gives<F: Fixture>(f: &F) {
        let s = f.store();
        s.create(&name("Odd")).unwrap();
        let odd: [&[u8]; 7] = [
            b"hello",
            b"hello\r\n",
            b"Subject: x",
            b"Subject: x\r\n\r\n",
            b"\r\n\r\nbody after two blank lines",
            b"Subject: x\n\nFrom the start of a line\n\n\n",
            b"a\rb\0c\r\n",
        ];
        for bytes in odd {
            s.append_to(&name("Odd"), &[new(bytes)]).unwrap();
            f.deliver(&name("Odd"), bytes);
        }
        let mut m = s.open(&name("Odd"), OpenMode::ReadOnly).unwrap();
        assert_eq!(m.messages().len(), 14);
        let metas: Vec<_> = m.messages().to_vec();
        for meta in metas {
            let bytes = read_all(&mut m, meta.uid);
            assert_eq!(
                meta.size,
                bytes.len() as u64,
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    pub(crate) fn store_flags_set_add_remove<F: Fixture>(f: &F) {
        let s = f.store();
        s.create(&name("Box")).unwrap();
        append(s, &name("Box"), &["a", "b"]);
        let mut m = s.open(&name("Box"), OpenMode::ReadWrite).unwrap();
        let kw = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        m.store_flags(
            &[uid(1), uid(2)],
            FlagOp::Set,
            SystemFlags::SEEN | SystemFlags::ANSWERED,
            &kw(&["Work", "Home"]),
        )
        .unwrap();
        m.store_flags(
            &[uid(2)],
            FlagOp::Add,
            SystemFlags::FLAGGED,
            &kw(&["Later"]),
        )
        .unwrap();
        m.store_flags(&[uid(1)], FlagOp::Remove, SystemFlags::SEEN, &kw(&["Work"]))
            .unwrap();
        // Unknown UIDs are skipped.
        m.store_flags(&[uid(9)], FlagOp::Add, SystemFlags::SEEN, &[])
            .unwrap();
        assert_eq!(m.keywords().names(), ["Work", "Home", "Later"]);
        let names = |m: &<F::Store as MailboxList>::Mailbox, i: usize| {
            m.messages()[i]
                .flags
                .keywords
                .slots()
                .map(|k| m.keywords().name(k).unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        // Visible in this handle's snapshot at once.
        assert_eq!(m.messages()[0].flags.system, SystemFlags::ANSWERED);
        assert_eq!(names(&m, 0), ["Home"]);
        assert_eq!(
            m.messages()[1].flags.system,
            SystemFlags::SEEN | SystemFlags::ANSWERED | SystemFlags::FLAGGED
        );
        assert_eq!(names(&m, 1), ["Work", "Home", "Later"]);
        let c = m.sync().unwrap();
        assert!(
            c.flags_changed.is_empty(),
            "own changes are not news: {c:?}"
        );
        drop(m);
        let again = s.open(&name("Box"), OpenMode::ReadOnly).unwrap();
        assert_eq!(names(&again, 0), ["Home"]);
        assert_eq!(names(&again, 1), ["Work", "Home", "Later"]);
        let st = s.status(&name("Box")).unwrap();
        assert_eq!(st.unseen, 1);
    }

    pub(crate) fn expunge_all_or_listed<F: Fixture>(f: &F) {
        let s = f.store();
        s.create(&name("Box")).unwrap();
        append(s, &name("Box"), &["a", "b", "c", "d"]);
        let mut m = s.open(&name("Box"), OpenMode::ReadWrite).unwrap();
        assert!(m.expunge(None).unwrap().is_empty());
        m.store_flags(
            &[uid(1), uid(3), uid(4)],
            FlagOp::Add,
            SystemFlags::DELETED,
            &[],
        )
        .unwrap();
        assert_eq!(uids(&m.expunge(Some(&[uid(3), uid(2)])).unwrap()), [3]);
        assert_eq!(uids(&m.sync().unwrap().expunged), [3]);
        assert_eq!(uids(&m.expunge(None).unwrap()), [1, 4]);
        let c = m.sync().unwrap();
        assert_eq!((uids(&c.expunged), c.added), (vec![1, 4], 0));
        assert_eq!(
            m.messages().iter().map(|x| x.uid.get()).collect::<Vec<_>>(),
            [2]
        );
        assert_eq!(m.uid_next().get(), 5, "expunge never lowers UIDNEXT");
        assert_eq!(read_all(&mut m, uid(2)), msg("b"));
        assert_eq!(append(s, &name("Box"), &["e"]), [5]);
    }

    pub(crate) fn export_and_copy_keep_flags_and_dates<F: Fixture>(f: &F) {
        let s = f.store();
        s.create(&name("From")).unwrap();
        s.create(&name("To")).unwrap();
        s.create(&name("Dir/")).unwrap();
        let date = InternalDate {
            unix: 1_111_111_111,
            offset_minutes: -300,
        };
        let kw = ["Work".to_owned()];
        let bodies = [msg("a"), msg("b"), msg("c")];
        let mut batch: Vec<NewMessage<'_>> = bodies.iter().map(|b| new(b)).collect();
        for m in &mut batch {
            m.internal_date = Some(date);
        }
        batch[2].flags = SystemFlags::FLAGGED | SystemFlags::SEEN;
        batch[2].keywords = &kw;
        s.append_to(&name("From"), &batch).unwrap();
        append(s, &name("To"), &["old"]);
        let mut src = s.open(&name("From"), OpenMode::ReadWrite).unwrap();
        let ex = src.export(&[uid(3)]).unwrap();
        assert_eq!(ex[0].bytes, msg("c"));
        assert_eq!(ex[0].flags, SystemFlags::FLAGGED | SystemFlags::SEEN);
        assert_eq!(ex[0].keywords, ["Work"]);
        assert_eq!(ex[0].internal_date, Some(date));
        err!(src.export(&[uid(1), uid(7)]), StoreError::NoSuchMessage(_));
        let (validity, new_uids) = s
            .copy_into(&mut src, &[uid(3), uid(1)], &name("To"))
            .unwrap();
        assert_eq!(
            uids(&new_uids),
            [2, 3],
            "COPYUID follows the order asked for"
        );
        let mut to = s.open(&name("To"), OpenMode::ReadOnly).unwrap();
        assert_eq!(to.uid_validity(), validity);
        assert_eq!(to.messages().len(), 3);
        let copied = to.messages()[1];
        assert_eq!(copied.uid.get(), 2);
        assert_eq!(
            copied.flags.system,
            SystemFlags::FLAGGED | SystemFlags::SEEN
        );
        assert_eq!(to.keywords().names(), ["Work"]);
        assert_eq!(copied.internal_date, Some(date));
        assert_eq!(read_all(&mut to, uid(2)), msg("c"));
        assert_eq!(read_all(&mut to, uid(3)), msg("a"));
        err!(
            s.copy_into(&mut src, &[uid(1)], &name("Nope")),
            StoreError::NonExistent
        );
        err!(
            s.copy_into(&mut src, &[uid(1)], &name("Dir")),
            StoreError::NoSelect
        );
        assert_eq!(
            src.sync().unwrap(),
            Default::default(),
            "the source is unchanged"
        );
    }

    pub(crate) fn sync_sees_another_handle<F: Fixture>(f: &F) {
        let s = f.store();
        s.create(&name("Box")).unwrap();
        append(s, &name("Box"), &["a", "b"]);
        let mut a = s.open(&name("Box"), OpenMode::ReadWrite).unwrap();
        let mut b = s.open(&name("Box"), OpenMode::ReadWrite).unwrap();
        assert_eq!(b.sync().unwrap(), Default::default());
        a.append(&[new(&msg("c"))]).unwrap();
        let c = b.sync().unwrap();
        assert_eq!(
            (c.added, c.expunged.len(), c.flags_changed.len()),
            (1, 0, 0)
        );
        assert_eq!(b.messages().len(), 3);
        assert_eq!(b.uid_next().get(), 4);
        a.sync().unwrap();
        a.store_flags(&[uid(2)], FlagOp::Add, SystemFlags::SEEN, &[])
            .unwrap();
        let c = b.sync().unwrap();
        assert_eq!((c.added, uids(&c.flags_changed)), (0, vec![2]));
        assert!(b.messages()[1].flags.system.contains(SystemFlags::SEEN));
        assert!(a.sync().unwrap().flags_changed.is_empty());
        a.store_flags(&[uid(1)], FlagOp::Add, SystemFlags::DELETED, &[])
            .unwrap();
        a.expunge(None).unwrap();
        // Until b syncs, its snapshot still holds UID 1; the bytes are gone.
        let mut out = Vec::new();
        assert_eq!(b.read(uid(1), None, &mut out).unwrap(), 0);
        let c = b.sync().unwrap();
        assert_eq!(uids(&c.expunged), [1]);
        assert!(c.flags_changed.is_empty(), "{c:?}");
        assert_eq!(
            b.messages().iter().map(|x| x.uid.get()).collect::<Vec<_>>(),
            [2, 3]
        );
        // Mail delivered from outside.
        f.deliver(&name("Box"), b"Subject: new\n\nnew\n");
        let c = b.sync().unwrap();
        assert_eq!(c.added, 1);
        assert_eq!(b.messages().len(), 3);
        assert_eq!(b.messages()[2].uid.get(), 4);
        assert_eq!(b.uid_next().get(), 5);
        let c = a.sync().unwrap();
        assert_eq!((c.added, uids(&c.expunged)), (1, vec![1]));
    }

    pub(crate) fn recent_goes_to_the_first_read_write_handle<F: Fixture>(f: &F) {
        let s = f.store();
        f.deliver(&inbox(), b"Subject: one\n\n1\n");
        f.deliver(&inbox(), b"Subject: two\n\n2\n");
        let ro = s.open(&inbox(), OpenMode::ReadOnly).unwrap();
        assert_eq!(ro.messages().len(), 2);
        assert!(ro.messages().iter().all(|m| !m.recent));
        let mut rw = s.open(&inbox(), OpenMode::ReadWrite).unwrap();
        assert!(rw.messages().iter().all(|m| m.recent));
        let other = s.open(&inbox(), OpenMode::ReadWrite).unwrap();
        assert!(other.messages().iter().all(|m| !m.recent));
        assert_eq!(s.status(&inbox()).unwrap().recent, 0);
        f.deliver(&inbox(), b"Subject: three\n\n3\n");
        rw.sync().unwrap();
        assert_eq!(
            rw.messages().iter().map(|m| m.recent).collect::<Vec<_>>(),
            [true, true, true]
        );
    }

    pub(crate) fn status_matches_an_open_mailbox<F: Fixture>(f: &F) {
        let s = f.store();
        f.deliver(&inbox(), b"Subject: one\n\n1\n");
        f.deliver(&inbox(), b"Subject: two\n\n2\n");
        let mut m = s.open(&inbox(), OpenMode::ReadWrite).unwrap();
        m.store_flags(&[uid(1)], FlagOp::Add, SystemFlags::SEEN, &[])
            .unwrap();
        let st = s.status(&inbox()).unwrap();
        assert_eq!(
            (st.messages, st.unseen, st.recent, st.uid_next.get()),
            (2, 1, 0, 3)
        );
        assert_eq!(st.uid_validity, m.uid_validity());
        drop(m);
        assert_eq!(s.status(&inbox()).unwrap(), st);
    }

    pub(crate) fn flags_changed_and_changed_back_are_no_news<F: Fixture>(f: &F) {
        let s = f.store();
        s.create(&name("Box")).unwrap();
        append(s, &name("Box"), &["a", "b"]);
        let mut a = s.open(&name("Box"), OpenMode::ReadWrite).unwrap();
        let mut b = s.open(&name("Box"), OpenMode::ReadWrite).unwrap();
        a.store_flags(&[uid(1)], FlagOp::Add, SystemFlags::SEEN, &[])
            .unwrap();
        a.store_flags(&[uid(1)], FlagOp::Remove, SystemFlags::SEEN, &[])
            .unwrap();
        a.store_flags(&[uid(2)], FlagOp::Add, SystemFlags::ANSWERED, &[])
            .unwrap();
        let c = b.sync().unwrap();
        assert_eq!(uids(&c.flags_changed), [2], "{c:?}");
        // b changes what a also changed: a is told of the final state only where it differs.
        b.store_flags(&[uid(2)], FlagOp::Set, SystemFlags::ANSWERED, &[])
            .unwrap();
        b.store_flags(&[uid(1)], FlagOp::Set, SystemFlags::FLAGGED, &[])
            .unwrap();
        let c = a.sync().unwrap();
        assert_eq!(uids(&c.flags_changed), [1], "{c:?}");
        // Asking for what another handle already did changes nothing, and is still news.
        a.store_flags(&[uid(2)], FlagOp::Add, SystemFlags::DRAFT, &[])
            .unwrap();
        b.store_flags(&[uid(2)], FlagOp::Add, SystemFlags::DRAFT, &[])
            .unwrap();
        assert!(!b.messages()[1].flags.system.contains(SystemFlags::DRAFT));
        let c = b.sync().unwrap();
        assert_eq!(uids(&c.flags_changed), [2], "{c:?}");
    }

    pub(crate) fn keywords_are_limited<F: Fixture>(f: &F) {
        let s = f.store();
        s.create(&name("Box")).unwrap();
        append(s, &name("Box"), &["a"]);
        let mut m = s.open(&name("Box"), OpenMode::ReadWrite).unwrap();
        let many: Vec<String> = (0..dmail_store::MAX_KEYWORDS)
            .map(|i| format!("k{i}"))
            .collect();
        m.store_flags(&[uid(1)], FlagOp::Add, SystemFlags::EMPTY, &many)
            .unwrap();
        assert_eq!(m.keywords().names().len(), dmail_store::MAX_KEYWORDS);
        err!(
            m.store_flags(
                &[uid(1)],
                FlagOp::Add,
                SystemFlags::EMPTY,
                &["one-more".to_owned()]
            ),
            StoreError::TooManyKeywords
        );
        err!(
            m.append(&[NewMessage {
                keywords: &["one-more".to_owned()],
                ..new(&msg("b"))
            }]),
            StoreError::TooManyKeywords
        );
        // Known names still work, and the refused append left nothing behind.
        m.store_flags(&[uid(1)], FlagOp::Remove, SystemFlags::EMPTY, &many[..1])
            .unwrap();
        assert_eq!(m.sync().unwrap().added, 0);
        assert_eq!(m.uid_next().get(), 2);
    }

    pub(crate) fn new_keywords_reach_other_handles<F: Fixture>(f: &F) {
        let s = f.store();
        s.create(&name("Box")).unwrap();
        append(s, &name("Box"), &["a"]);
        let mut a = s.open(&name("Box"), OpenMode::ReadWrite).unwrap();
        let mut b = s.open(&name("Box"), OpenMode::ReadWrite).unwrap();
        a.store_flags(
            &[uid(1)],
            FlagOp::Add,
            SystemFlags::EMPTY,
            &["Later".to_owned()],
        )
        .unwrap();
        let c = b.sync().unwrap();
        assert_eq!(b.keywords().names(), ["Later"]);
        assert!(c.keywords_changed, "a new keyword name is news: {c:?}");
    }
}

/// Runs every case against one implementation; `ignore` lists cases that implementation is
/// known to fail, with the reason.
macro_rules! conformance {
    ($module:ident, $fixture:expr, ignore { $($ignored:ident: $why:literal),* $(,)? }) => {
        mod $module {
            use super::*;
            conformance!(@cases $fixture;
                inbox_always_exists,
                create_makes_directories_on_the_way,
                create_with_a_trailing_delimiter_makes_a_directory,
                list_patterns_and_order,
                delete_mailboxes_and_directories,
                rename_mailboxes_and_directories,
                rename_inbox_moves_the_messages,
                subscriptions_ignore_existence,
                open_modes,
                append_gives_ascending_uids,
                read_gives_client_form_and_ranges,
                store_flags_set_add_remove,
                expunge_all_or_listed,
                export_and_copy_keep_flags_and_dates,
                sync_sees_another_handle,
                recent_goes_to_the_first_read_write_handle,
                status_matches_an_open_mailbox,
                keywords_are_limited,
                flags_changed_and_changed_back_are_no_news,
                new_keywords_reach_other_handles,
                size_is_what_read_gives,
            );
            $(
                #[test]
                #[ignore = $why]
                fn $ignored() {
                    cases::$ignored(&$fixture);
                }
            )*
        }
    };
    (@cases $fixture:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                cases::$case(&$fixture);
            }
        )*
    };
}

conformance!(mbox_store, mbox(), ignore {});

conformance!(memory_store, memory(), ignore {});
