//! The genuine UW c-client (Debian's `uw-mailutils`, `mailutil`, c-client 2007f) as an
//! independent judge of our mbox files (mailbox-formats.md §1–2, notes/uw-c-client.md §1, §3):
//! mailboxes our delivery and engine write pass `mailutil check` with the right counts, survive
//! `mailutil copy` with their flags and bytes, and keep their UIDs and UIDVALIDITY when c-client
//! checkpoints them; mailboxes `mailutil` writes (`create`, `append`, `copy`) read through our
//! engine with c-client's flags, keywords, UIDVALIDITY and UIDs, the pseudo-message hidden.
//!
//! `mailutil` runs as an unprivileged user (uid and gid 65534 through `setpriv` when we are
//! root) with a test directory owned by that user as HOME and working directory, and mailbox
//! names relative to it. Without `mailutil` the tests say why and pass, except under `CI=true`,
//! where its absence is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};

use camino::{Utf8Path, Utf8PathBuf};
use dmail_store::deliver::{DeliverOptions, deliver};
use dmail_store::layout::DropPath;
use dmail_store::mbox::engine::{MboxMailbox, MboxOptions, MboxPaths, new_mailbox_bytes};
use dmail_store::mbox::from_line::is_valid;
use dmail_store::store::{FlagOp, Mailbox, NewMessage};
use dmail_store::{InternalDate, SystemFlags, Uid};

/// The uid and gid `mailutil` runs as.
const NOBODY: u32 = 65534;

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

fn options() -> MboxOptions {
    let mut o = MboxOptions::new("bob", "mail.example.com");
    o.local_offset = |_| 0;
    o
}

/// A HOME directory for `mailutil`, owned by the user it runs as.
struct Home {
    _dir: tempfile::TempDir,
    root: Utf8PathBuf,
    mailutil: PathBuf,
}

/// `None` (after saying why) when `mailutil` is not installed and this is not CI.
fn home() -> Option<Home> {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("mailutil"))
            .find(|f| f.is_file())
    });
    let Some(mailutil) = found else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "mailutil (Debian uw-mailutils) is required under CI"
        );
        eprintln!("skipped: mailutil is not installed (apt-get install uw-mailutils)");
        return None;
    };
    let dir = test_dir();
    let root = Utf8Path::from_path(dir.path()).unwrap().to_owned();
    if is_root() {
        std::os::unix::fs::chown(&root, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    Some(Home {
        _dir: dir,
        root,
        mailutil,
    })
}

/// What `mailutil check` says.
#[derive(Debug, PartialEq, Eq)]
struct Check {
    new: usize,
    unseen: usize,
    total: usize,
}

impl Home {
    fn path(&self, name: &str) -> Utf8PathBuf {
        self.root.join(name)
    }

    /// Hands a file we made to the user `mailutil` runs as.
    fn give(&self, name: &str) {
        if is_root() {
            std::os::unix::fs::chown(self.path(name), Some(NOBODY), Some(NOBODY)).unwrap();
        }
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.path(name), bytes).unwrap();
        self.give(name);
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    fn duplicate(&self, from: &str, to: &str) {
        std::fs::copy(self.path(from), self.path(to)).unwrap();
        self.give(to);
    }

    /// Runs `mailutil ARGS` as the unprivileged user in HOME; fails the test on a non-zero exit.
    fn mailutil(&self, args: &[&str]) -> Output {
        let out = self.mailutil_status(args);
        assert!(
            out.status.success(),
            "mailutil {args:?}: {:?}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn mailutil_status(&self, args: &[&str]) -> Output {
        let mut cmd = if is_root() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&self.mailutil);
            c
        } else {
            Command::new(&self.mailutil)
        };
        cmd.args(args)
            .env_clear()
            .env("HOME", &self.root)
            .env("PATH", "/usr/bin:/bin")
            .current_dir(&self.root)
            .output()
            .unwrap()
    }

    /// `mailutil check NAME`: "N new message(s) (M unseen), T total in NAME", or "No new
    /// messages, T total in NAME" when nothing is recent or unseen.
    fn check(&self, name: &str) -> Check {
        let out = self.mailutil(&["check", name]);
        let text = String::from_utf8(out.stdout).unwrap();
        let line = text.trim_end();
        let number = |s: &str| -> usize { s.parse().unwrap_or_else(|_| panic!("{text:?}")) };
        let total = |s: &str| number(s.strip_suffix(&format!(" total in {name}")).unwrap_or(""));
        if let Some(rest) = line.strip_prefix("No new messages, ") {
            return Check {
                new: 0,
                unseen: 0,
                total: total(rest),
            };
        }
        let (new, rest) = line.split_once(" new message(s) (").unwrap_or(("", ""));
        let (unseen, rest) = rest.split_once(" unseen), ").unwrap_or(("", ""));
        Check {
            new: number(new),
            unseen: number(unseen),
            total: total(rest),
        }
    }

    /// Lets c-client open NAME read-write and checkpoint it (a `prune` that matches nothing),
    /// which writes its own UID for every message (keeping those it accepts).
    fn checkpoint(&self, name: &str) {
        let out = self.mailutil_status(&["prune", name, "SUBJECT no-such-subject-zz"]);
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("No matching messages"), "{said}");
    }

    fn engine(&self, name: &str, read_only: bool) -> MboxMailbox {
        let paths = MboxPaths::new(self.path(name), self.root.join(".imapd"), name);
        MboxMailbox::open(paths, read_only, options()).unwrap()
    }
}

/// One message of an mbox file as stored: its header lines and its body.
#[derive(Debug)]
struct Stored {
    header: Vec<String>,
}

impl Stored {
    /// The value of the first header line named exactly `name`.
    fn field(&self, name: &str) -> Option<&str> {
        self.header
            .iter()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
    }

    /// The flags c-client's status headers give it (either header's letters count).
    fn flags(&self) -> SystemFlags {
        let letters = format!(
            "{}{}",
            self.field("Status").unwrap_or(""),
            self.field("X-Status").unwrap_or("")
        );
        let mut f = SystemFlags::EMPTY;
        for (letter, flag) in [
            ('R', SystemFlags::SEEN),
            ('D', SystemFlags::DELETED),
            ('F', SystemFlags::FLAGGED),
            ('A', SystemFlags::ANSWERED),
            ('T', SystemFlags::DRAFT),
        ] {
            if letters.contains(letter) {
                f |= flag;
            }
        }
        f
    }

    fn keywords(&self) -> BTreeSet<String> {
        self.field("X-Keywords")
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    fn uid(&self) -> Option<u32> {
        self.field("X-UID").map(|u| u.parse().unwrap())
    }

    fn is_pseudo(&self) -> bool {
        self.field("X-IMAP").is_some()
    }
}

/// The messages of an LF mbox file, split at lines that pass VALID.
fn stored(bytes: &[u8]) -> Vec<Stored> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut out: Vec<Stored> = Vec::new();
    let mut in_header = false;
    for line in text.split_inclusive('\n') {
        if is_valid(line.as_bytes()) {
            out.push(Stored { header: Vec::new() });
            in_header = true;
        } else if in_header {
            let l = line.trim_end_matches('\n');
            if l.is_empty() {
                in_header = false;
            } else if l.starts_with([' ', '\t']) {
                out.last_mut()
                    .unwrap()
                    .header
                    .last_mut()
                    .unwrap()
                    .push_str(l);
            } else {
                out.last_mut().unwrap().header.push(l.to_owned());
            }
        }
    }
    out
}

/// UIDVALIDITY and last UID of a file's pseudo-message, and its keyword names.
fn folder_data(bytes: &[u8]) -> (u32, u32, Vec<String>) {
    let all = stored(bytes);
    let pseudo = all
        .first()
        .filter(|s| s.is_pseudo())
        .expect("a pseudo-message");
    let mut words = pseudo.field("X-IMAP").unwrap().split_whitespace();
    let validity = words.next().unwrap().parse().unwrap();
    let last = words.next().unwrap().parse().unwrap();
    (validity, last, words.map(str::to_owned).collect())
}

fn real_messages(bytes: &[u8]) -> Vec<Stored> {
    stored(bytes)
        .into_iter()
        .filter(|s| !s.is_pseudo())
        .collect()
}

fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

/// Everything a client sees of one message.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    uid: u32,
    flags: SystemFlags,
    keywords: BTreeSet<String>,
    bytes: Vec<u8>,
}

fn seen(m: &mut MboxMailbox) -> Vec<Seen> {
    let metas: Vec<_> = m.messages().to_vec();
    metas
        .into_iter()
        .map(|x| {
            let mut bytes = Vec::new();
            m.read(x.uid, None, &mut bytes).unwrap();
            assert_eq!(bytes.len() as u64, x.size, "RFC822.SIZE of UID {}", x.uid);
            Seen {
                uid: x.uid.get(),
                flags: x.flags.system,
                keywords: x
                    .flags
                    .keywords
                    .slots()
                    .map(|s| m.keywords().name(s).unwrap().to_owned())
                    .collect(),
                bytes,
            }
        })
        .collect()
}

fn uid(n: u32) -> Uid {
    Uid::new(n).unwrap()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Delivered by our DSMTP function: LF and CRLF, forged metadata, a body `From ` line, no final
/// newline.
const DELIVERED: [&str; 6] = [
    "From: alice@example.com\nSubject: one\n\nplain body\n",
    "Subject: two\r\nX-Status: D\r\nStatus: RO\r\n\r\nline\r\nbody two\r\n",
    "Subject: three\n\nFrom the desk of three\nmore\n",
    "Subject: four\nX-UID: 77\n\nno final newline",
    "Subject: five\n\nfive\n\n\nwith blank lines\n",
    "Subject: six\n\nsix\n",
];

#[test]
fn mailbox_we_write_passes_c_client_and_survives_its_copy() {
    let Some(h) = home() else { return };
    let date = InternalDate {
        unix: 1_000_000_000,
        offset_minutes: 0,
    };
    for m in DELIVERED {
        deliver(
            &DropPath::new(h.path("ours")),
            "alice@example.com",
            m.as_bytes(),
            date,
            &DeliverOptions::default(),
        )
        .unwrap();
    }
    let mut m = h.engine("ours", false);
    assert_eq!(m.messages().len(), 6);
    let set = |m: &mut MboxMailbox, u: u32, f: SystemFlags, k: &[&str]| {
        let k: Vec<String> = k.iter().map(|s| (*s).to_owned()).collect();
        m.store_flags(&[uid(u)], FlagOp::Add, f, &k).unwrap();
    };
    set(&mut m, 1, SystemFlags::SEEN, &[]);
    set(
        &mut m,
        2,
        SystemFlags::SEEN | SystemFlags::FLAGGED,
        &["$Label1"],
    );
    set(&mut m, 3, SystemFlags::DELETED, &[]);
    set(
        &mut m,
        4,
        SystemFlags::ANSWERED | SystemFlags::DRAFT,
        &["Work"],
    );
    set(&mut m, 5, SystemFlags::DELETED | SystemFlags::SEEN, &[]);
    let work = ["Work".to_owned()];
    let appended = m
        .append(&[
            NewMessage {
                bytes: b"Subject: seven\r\n\r\nappended\r\nFrom here\r\n",
                flags: SystemFlags::SEEN | SystemFlags::ANSWERED,
                keywords: &work,
                internal_date: None,
                envelope_sender: None,
            },
            NewMessage {
                bytes: b"Subject: eight\n\neight\n",
                flags: SystemFlags::EMPTY,
                keywords: &[],
                internal_date: None,
                envelope_sender: None,
            },
        ])
        .unwrap();
    assert_eq!(appended, [uid(7), uid(8)]);
    assert_eq!(m.expunge(Some(&[uid(5)])).unwrap(), [uid(5)]);
    let validity = m.uid_validity().get();
    drop(m);
    h.give("ours");

    // What we wrote, as our engine reads it back.
    let ours = seen(&mut h.engine("ours", true));
    let summary: Vec<(u32, SystemFlags, BTreeSet<String>)> = ours
        .iter()
        .map(|s| (s.uid, s.flags, s.keywords.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, SystemFlags::SEEN, names(&[])),
            (
                2,
                SystemFlags::SEEN | SystemFlags::FLAGGED,
                names(&["$Label1"])
            ),
            (3, SystemFlags::DELETED, names(&[])),
            (
                4,
                SystemFlags::ANSWERED | SystemFlags::DRAFT,
                names(&["Work"])
            ),
            (6, SystemFlags::EMPTY, names(&[])),
            (
                7,
                SystemFlags::SEEN | SystemFlags::ANSWERED,
                names(&["Work"])
            ),
            (8, SystemFlags::EMPTY, names(&[])),
        ]
    );
    assert_eq!(
        ours[1].bytes,
        crlf("Subject: two\nX-Original-X-Status: D\nX-Original-Status: RO\n\nline\nbody two\n")
    );
    assert_eq!(
        ours[2].bytes,
        crlf("Subject: three\n\n>From the desk of three\nmore\n")
    );

    // c-client counts them: none recent (every status block says O), four not \Seen.
    assert_eq!(
        h.check("ours"),
        Check {
            new: 0,
            unseen: 4,
            total: 7
        }
    );

    // c-client copies them (with keywords); we read the copy as we read the original.
    h.mailutil(&["copy", "-kw", "ours", "copied"]);
    let copied = seen(&mut h.engine("copied", true));
    assert_eq!(copied.len(), ours.len());
    for (c, o) in copied.iter().zip(&ours) {
        assert_eq!(
            (c.flags, &c.keywords),
            (o.flags, &o.keywords),
            "UID {} copied",
            o.uid
        );
        assert_eq!(
            c.bytes.escape_ascii().to_string(),
            o.bytes.escape_ascii().to_string(),
            "UID {} copied",
            o.uid
        );
    }
    // The copy's status headers, as c-client wrote them.
    let text = real_messages(&h.read("copied"));
    assert_eq!(text.len(), ours.len());
    for (t, o) in text.iter().zip(&ours) {
        assert_eq!(
            (t.flags(), t.keywords()),
            (o.flags, o.keywords.clone()),
            "{t:?}"
        );
    }

    // c-client, checkpointing our file read-write, keeps every UID and the UIDVALIDITY.
    h.duplicate("ours", "judged");
    h.checkpoint("judged");
    let judged = h.read("judged");
    let (v, last, _) = folder_data(&judged);
    assert_eq!((v, last), (validity, 8));
    let uids: Vec<Option<u32>> = real_messages(&judged).iter().map(Stored::uid).collect();
    let want: Vec<Option<u32>> = ours.iter().map(|s| Some(s.uid)).collect();
    assert_eq!(uids, want);
    let mut again = h.engine("judged", true);
    assert_eq!(again.uid_validity().get(), validity);
    assert_eq!(seen(&mut again), ours);

    // c-client expunges the \Deleted message from our file (a rewrite in its own format); we
    // read its result with every other UID, flag, keyword and byte unchanged.
    let out = h.mailutil_status(&["prune", "judged", "DELETED"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1 message(s) purged",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rewritten = h.read("judged");
    assert_ne!(rewritten, judged, "c-client rewrote the file");
    assert_eq!(folder_data(&rewritten).0, validity);
    let kept: Vec<Seen> = ours.into_iter().filter(|s| s.uid != 3).collect();
    let uids: Vec<Option<u32>> = real_messages(&rewritten).iter().map(Stored::uid).collect();
    assert_eq!(uids, kept.iter().map(|s| Some(s.uid)).collect::<Vec<_>>());
    let mut after = h.engine("judged", true);
    assert_eq!(after.uid_validity().get(), validity);
    assert_eq!(after.uid_next().get(), 9);
    assert_eq!(seen(&mut after), kept);
}

/// A message of the source file we give c-client.
struct Source {
    header: &'static str,
    status: &'static str,
    body: &'static str,
    flags: SystemFlags,
    keywords: &'static [&'static str],
}

const SOURCE_PSEUDO: &str = "From MAILER-DAEMON Sat Dec 26 09:00:00 1998
Date: 26 Dec 1998 09:00:00 +0000
From: Mail System Internal Data <MAILER-DAEMON@example.com>
Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA
X-IMAP: 0912345678 0000000009 Work $Label1
Status: RO

This text is part of the internal format of your mail folder, and is not
a real message.  It is created automatically by the mail system software.
If deleted, important folder data will be lost, and it will be re-created
with the data reset to initial values.

";

fn sources() -> [Source; 5] {
    [
        Source {
            header: "From: Alice <alice@example.com>\nTo: bob@example.com\nSubject: first\n\
                     Date: Sat, 26 Dec 1998 09:37:48 +0000\nMessage-ID: <1@example.com>\n",
            status: "Status: RO\nX-Status: F\nX-Keywords: Work\nX-UID: 3\n",
            body: "Hello Bob.\n",
            flags: SystemFlags::SEEN | SystemFlags::FLAGGED,
            keywords: &["Work"],
        },
        Source {
            header: "From: carol@example.com\nSubject: second,\n  folded\n",
            status: "Status: O\nX-Status: DA\nX-UID: 5\n",
            body: ">From quoted line\nsecond body\n",
            flags: SystemFlags::DELETED | SystemFlags::ANSWERED,
            keywords: &[],
        },
        Source {
            header: "From: dave@example.com\nSubject: third\n",
            status: "Status: R\nX-Status: T\nX-Keywords: $Label1 Work\n",
            body: "third body\n",
            flags: SystemFlags::SEEN | SystemFlags::DRAFT,
            keywords: &["$Label1", "Work"],
        },
        Source {
            header: "From: erin@example.com\nSubject: fourth\n",
            status: "",
            body: "para one\n\npara two\n",
            flags: SystemFlags::EMPTY,
            keywords: &[],
        },
        Source {
            header: "From: frank@example.com\nSubject: fifth\n",
            status: "Status: RO\nX-Status: D\n",
            body: "fifth\n",
            flags: SystemFlags::SEEN | SystemFlags::DELETED,
            keywords: &[],
        },
    ]
}

fn source_file() -> Vec<u8> {
    let mut out = SOURCE_PSEUDO.to_owned();
    for (i, s) in sources().iter().enumerate() {
        out.push_str(&format!(
            "From sender{i}@example.com Sat Dec 26 09:37:4{i} 1998\n"
        ));
        out.push_str(s.header);
        out.push_str(s.status);
        out.push('\n');
        out.push_str(s.body);
        out.push('\n');
    }
    out.into_bytes()
}

/// Checks a mailbox c-client wrote from the source: what our engine shows equals the source,
/// with the UIDVALIDITY in its X-IMAP and the given UIDs.
fn assert_reads_as_source(h: &Home, name: &str, uids: &[u32], with_keywords: bool) {
    let (validity, _, _) = folder_data(&h.read(name));
    let mut m = h.engine(name, true);
    assert_eq!(m.uid_validity().get(), validity, "{name}");
    let got = seen(&mut m);
    let want: Vec<Seen> = sources()
        .iter()
        .zip(uids)
        .map(|(s, u)| Seen {
            uid: *u,
            flags: s.flags,
            keywords: if with_keywords {
                names(s.keywords)
            } else {
                BTreeSet::new()
            },
            bytes: crlf(&format!("{}\n{}", s.header, s.body)),
        })
        .collect();
    assert_eq!(got, want, "{name}");
}

#[test]
fn mailboxes_c_client_writes_read_correctly() {
    let Some(h) = home() else { return };
    h.write("theirs", &source_file());
    // c-client reads our source as we mean it: 3 and 4 recent (no O), 2 and 4 unseen.
    assert_eq!(
        h.check("theirs"),
        Check {
            new: 2,
            unseen: 2,
            total: 5
        }
    );

    // CREATE: only the pseudo-message.
    h.mailutil(&["create", "made"]);
    let (validity, last, keywords) = folder_data(&h.read("made"));
    assert_eq!((last, keywords.len()), (0, 0));
    let m = h.engine("made", true);
    assert_eq!(m.messages().len(), 0);
    assert_eq!(m.uid_validity().get(), validity);
    assert_eq!(m.uid_next().get(), 1);

    // APPEND with keywords: c-client leaves the messages without X-UID. The UIDs it gives them
    // are those it writes when it checkpoints a copy of the file.
    h.mailutil(&["append", "-kw", "theirs", "made"]);
    let appended = h.read("made");
    assert!(real_messages(&appended).iter().all(|s| s.uid().is_none()));
    h.duplicate("made", "made-judged");
    h.checkpoint("made-judged");
    let judged = h.read("made-judged");
    let c_uids: Vec<u32> = real_messages(&judged)
        .iter()
        .map(|s| s.uid().unwrap())
        .collect();
    assert_eq!(folder_data(&judged).0, folder_data(&appended).0);
    assert_eq!(c_uids.len(), 5);
    assert_reads_as_source(&h, "made", &c_uids, true);
    assert_eq!(h.read("made"), appended, "a read-only open writes nothing");

    // COPY without keywords: c-client writes X-UIDs itself (and drops the keywords).
    h.mailutil(&["copy", "theirs", "copied"]);
    let copied_uids: Vec<u32> = real_messages(&h.read("copied"))
        .iter()
        .map(|s| s.uid().unwrap())
        .collect();
    assert_eq!(copied_uids.len(), 5);
    assert!(
        real_messages(&h.read("copied"))
            .iter()
            .all(|s| s.keywords().is_empty())
    );
    assert_reads_as_source(&h, "copied", &copied_uids, false);

    // Our read-write open stamps c-client's unstamped messages with the UIDs c-client gives
    // them, and c-client then counts them as not recent and keeps those UIDs.
    let m = h.engine("made", false);
    let ours: Vec<u32> = m.messages().iter().map(|x| x.uid.get()).collect();
    assert_eq!(ours, c_uids);
    drop(m);
    let stamped: Vec<Option<u32>> = real_messages(&h.read("made"))
        .iter()
        .map(Stored::uid)
        .collect();
    assert_eq!(stamped, c_uids.iter().map(|u| Some(*u)).collect::<Vec<_>>());
    h.give("made");
    assert_eq!(
        h.check("made"),
        Check {
            new: 0,
            unseen: 2,
            total: 5
        }
    );
    assert_reads_as_source(&h, "made", &c_uids, true);
    h.duplicate("made", "made-judged-again");
    h.checkpoint("made-judged-again");
    let again: Vec<Option<u32>> = real_messages(&h.read("made-judged-again"))
        .iter()
        .map(Stored::uid)
        .collect();
    assert_eq!(again, stamped);
    assert_eq!(
        folder_data(&h.read("made-judged-again")).0,
        folder_data(&appended).0
    );
}

#[test]
fn mailboxes_we_create_are_c_client_mailboxes() {
    let Some(h) = home() else { return };
    // Our CREATE: c-client sees an empty mailbox, appends to it, and keeps our UIDVALIDITY.
    h.write("created", &new_mailbox_bytes(&options()));
    let validity = h.engine("created", true).uid_validity().get();
    assert_eq!(
        h.check("created"),
        Check {
            new: 0,
            unseen: 0,
            total: 0
        }
    );
    h.write("theirs", &source_file());
    h.mailutil(&["append", "-kw", "theirs", "created"]);
    h.duplicate("created", "created-judged");
    h.checkpoint("created-judged");
    let judged = h.read("created-judged");
    assert_eq!(folder_data(&judged).0, validity);
    let c_uids: Vec<u32> = real_messages(&judged)
        .iter()
        .map(|s| s.uid().unwrap())
        .collect();
    assert_reads_as_source(&h, "created", &c_uids, true);

    // Our APPEND to a missing file starts it with a pseudo-message.
    let mut m = h.engine("fresh", false);
    let uids = m
        .append(&[
            NewMessage {
                bytes: b"Subject: a\r\n\r\nfirst\r\n",
                flags: SystemFlags::SEEN,
                keywords: &[],
                internal_date: None,
                envelope_sender: None,
            },
            NewMessage {
                bytes: b"Subject: b\r\n\r\nsecond\r\n",
                flags: SystemFlags::FLAGGED,
                keywords: &["Later".to_owned()],
                internal_date: None,
                envelope_sender: None,
            },
        ])
        .unwrap();
    let validity = m.uid_validity().get();
    drop(m);
    h.give("fresh");
    assert_eq!(
        h.check("fresh"),
        Check {
            new: 0,
            unseen: 1,
            total: 2
        }
    );
    h.duplicate("fresh", "fresh-judged");
    h.checkpoint("fresh-judged");
    let judged = h.read("fresh-judged");
    assert_eq!(folder_data(&judged).0, validity);
    let c_uids: Vec<u32> = real_messages(&judged)
        .iter()
        .map(|s| s.uid().unwrap())
        .collect();
    assert_eq!(c_uids, uids.iter().map(|u| u.get()).collect::<Vec<_>>());
    let text = real_messages(&judged);
    assert_eq!(
        text.iter()
            .map(|t| (t.flags(), t.keywords()))
            .collect::<Vec<_>>(),
        [
            (SystemFlags::SEEN, names(&[])),
            (SystemFlags::FLAGGED, names(&["Later"]))
        ]
    );
}
