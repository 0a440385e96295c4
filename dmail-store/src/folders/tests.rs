//! The folder namespace against real directories (mailbox-formats.md §4, dmail-conventions §5,
//! notes/uw-c-client.md §4): hostile names and planted symlinks, LIST over a mixed tree,
//! INBOX's rules, non-mailbox files, CREATE, DELETE and RENAME. Every test asserts the file
//! system afterwards, including that nothing appeared outside the folder root.
#![cfg(unix)]

use std::collections::BTreeSet;
use std::fs::{self, FileTimes};
use std::time::{Duration, SystemTime};

use camino::{Utf8Path, Utf8PathBuf};
use dmail_conf::Platform;
use test_case::test_case;

use super::*;

const MBOX: &[u8] = b"From bob Sat Dec 26 09:37:48 1998\nSubject: hi\n\nbody\n";
const PSEUDO: &[u8] =
    b"From MAILER-DAEMON Sat Dec 26 09:37:48 1998\nSubject: DON'T DELETE THIS MESSAGE\n\n";

struct Fixture {
    _dir: tempfile::TempDir,
    base: Utf8PathBuf,
    folders: Folders,
}

impl Fixture {
    /// `BASE/bob` is the drop file (absent), `BASE/bob.mbx` the folder root (absent),
    /// `BASE/outside` a directory holding a mailbox, to be reached only through symlinks.
    fn new() -> Fixture {
        Fixture::with_platform(Platform::Unix)
    }

    fn with_platform(platform: Platform) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let base = Utf8Path::from_path(dir.path()).unwrap().to_owned();
        fs::create_dir(base.join("outside")).unwrap();
        fs::write(base.join("outside/secret"), MBOX).unwrap();
        let folders = Folders::new(base.join("bob.mbx"), base.join("bob"), platform);
        Fixture {
            _dir: dir,
            base,
            folders,
        }
    }

    fn root(&self) -> &Utf8Path {
        self.folders.root()
    }

    fn path(&self, rel: &str) -> Utf8PathBuf {
        self.root().join(rel)
    }

    fn dir(&self, rel: &str) -> &Self {
        fs::create_dir_all(self.path(rel)).unwrap();
        self
    }

    fn file(&self, rel: &str, content: &[u8]) -> &Self {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
        self
    }

    fn symlink(&self, rel: &str, target: &Utf8Path) -> &Self {
        fs::create_dir_all(self.root()).unwrap();
        std::os::unix::fs::symlink(target, self.path(rel)).unwrap();
        self
    }

    /// Every path below BASE, relative, with a trailing `/` for directories; symlinks are not
    /// followed.
    fn tree(&self) -> BTreeSet<String> {
        fn walk(dir: &Utf8Path, base: &Utf8Path, out: &mut BTreeSet<String>) {
            for e in fs::read_dir(dir).unwrap() {
                let e = e.unwrap();
                let path = Utf8PathBuf::from_path_buf(e.path()).unwrap();
                let rel = path.strip_prefix(base).unwrap().to_string();
                let ft = e.file_type().unwrap();
                if ft.is_dir() {
                    out.insert(format!("{rel}/"));
                    walk(&path, base, out);
                } else {
                    out.insert(rel);
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(&self.base, &self.base, &mut out);
        out
    }

    fn list(&self, reference: &str, pattern: &str) -> Vec<(String, Vec<Attribute>)> {
        self.folders
            .list(reference.as_bytes(), pattern.as_bytes())
            .unwrap()
            .into_iter()
            .map(|e| (e.name.as_str().to_owned(), e.attributes.iter().collect()))
            .collect()
    }

    fn names(&self, pattern: &str) -> Vec<String> {
        self.list("", pattern).into_iter().map(|(n, _)| n).collect()
    }
}

fn name(s: &str) -> MailboxName {
    MailboxName::parse(s.as_bytes()).unwrap()
}

/// Sets a file's atime to the past (so the file reads as \Marked: atime < ctime) or the future.
fn set_atime(path: &Utf8Path, marked: bool) {
    let day = Duration::from_secs(86_400);
    let t = if marked {
        SystemTime::now() - day
    } else {
        SystemTime::now() + day
    };
    let f = fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_times(FileTimes::new().set_accessed(t)).unwrap();
}

/// The error's client text names the mailbox and never a server path.
fn assert_client_text(err: &FolderError, fixture: &Fixture, mailbox: &str) {
    let text = err.to_string();
    assert!(!text.contains(fixture.base.as_str()), "{text}");
    assert!(text.contains(mailbox), "{text}");
}

use Attribute::{HasChildren, HasNoChildren, Marked, NoInferiors, NoSelect, UnMarked};

// ---------------------------------------------------------------- the mailbox sniff (notes §1.1)

#[test_case(b"", true; "empty file")]
#[test_case(b"From bob Sat Dec 26 09:37:48 1998\n", true; "from line")]
#[test_case(b"From bob Sat Dec 26 09:37:48 1998\r\nX: y\r\n", true; "CRLF")]
#[test_case(b"\n\nFrom bob Sat Dec 26 09:37:48 1998\n", true; "leading blank lines")]
#[test_case(b" \t\r\nFrom bob Sat Dec 26 09:37:48 1998\n", true; "leading blanks ending in LF")]
#[test_case(b" From bob Sat Dec 26 09:37:48 1998\n", false; "blank before From on the same line")]
#[test_case(b"From bob Sat Dec 26 09:37:48 1998", false; "no LF")]
#[test_case(b"From here to eternity\n", false; "not a VALID line")]
#[test_case(b"\n\n\n", false; "blanks only")]
#[test_case(b"Work/2000\nSent\n", false; "a subscription list")]
#[test_case(b"\x7fELF\x02\x01", false; "binary")]
fn sniff_rules(head: &[u8], expected: bool) {
    assert_eq!(is_mailbox_head(head), expected);
}

#[test]
fn sniff_needs_the_line_within_1023_bytes() {
    let sender = "x".repeat(SNIFF_BYTES - 31);
    let fits = format!("From {sender} Sat Dec 26 09:37:48 1998\n");
    assert_eq!(fits.len(), SNIFF_BYTES);
    assert!(is_mailbox_head(fits.as_bytes()));
    // One byte more puts the LF at offset 1023, outside the sniff.
    let sender = "x".repeat(SNIFF_BYTES - 30);
    let long = format!("From {sender} Sat Dec 26 09:37:48 1998\n");
    assert!(!is_mailbox_head(long.as_bytes()));
}

// notes §4.3 step 5 (c-client 4.4), on whole seconds.
#[test_case(5, 10, 20, Some(Marked); "changed since read")]
#[test_case(5, 20, 20, None; "same second")]
#[test_case(5, 30, 20, Some(UnMarked); "read since")]
#[test_case(0, 10, 20, Some(UnMarked); "empty is never marked")]
fn marks(size: u64, atime: i64, ctime: i64, expected: Option<Attribute>) {
    assert_eq!(marked_attribute(size, atime, ctime), expected);
}

// ---------------------------------------------------------------- LIST (§4; notes §4.3)

fn tree_fixture() -> Fixture {
    let f = Fixture::new();
    f.file("Sent", MBOX)
        .file("Drafts", b"")
        .file("notes.txt", b"just some notes\n")
        .file("Work/2000", MBOX)
        .dir("Work/old")
        .dir("Empty")
        .file("Junk/readme.txt", b"not mail\n")
        .file("Junk/.hidden", MBOX)
        .file(".mailboxlist", b"Sent\n")
        .file(".imapd/index", b"")
        .file("Sent.lock", b"")
        .file(".hidden", MBOX)
        .file("caf\u{e9}", MBOX)
        .file("&AGE-", MBOX)
        .file("R&AOk-sum&AOk-", MBOX);
    set_atime(&f.path("Sent"), true);
    set_atime(&f.path("Work/2000"), false);
    set_atime(&f.path("R&AOk-sum&AOk-"), false);
    f
}

#[test]
fn list_star_shows_every_folder_and_nothing_else() {
    let f = tree_fixture();
    assert_eq!(
        f.list("", "*"),
        [
            ("INBOX".into(), vec![NoInferiors, UnMarked]),
            ("Drafts".into(), vec![NoInferiors, UnMarked]),
            ("Empty".into(), vec![NoSelect, HasNoChildren]),
            ("Junk".into(), vec![NoSelect, HasNoChildren]),
            ("R&AOk-sum&AOk-".into(), vec![NoInferiors, UnMarked]),
            ("Sent".into(), vec![NoInferiors, Marked]),
            ("Work".into(), vec![NoSelect, HasChildren]),
            ("Work/2000".into(), vec![NoInferiors, UnMarked]),
            ("Work/old".into(), vec![NoSelect, HasNoChildren]),
        ]
    );
}

#[test]
fn list_percent_stays_at_one_level() {
    let f = tree_fixture();
    assert_eq!(
        f.names("%"),
        [
            "INBOX",
            "Drafts",
            "Empty",
            "Junk",
            "R&AOk-sum&AOk-",
            "Sent",
            "Work"
        ]
    );
    assert_eq!(f.names("Work/%"), ["Work/2000", "Work/old"]);
    assert_eq!(f.names("%/%"), ["Work/2000", "Work/old"]);
    assert_eq!(f.names("W*"), ["Work", "Work/2000", "Work/old"]);
}

#[test_case("Work/", "%", &["Work/2000", "Work/old"]; "directory reference")]
#[test_case("Work", "/%", &[]; "absolute pattern ignores the reference")]
#[test_case("", "~bob/*", &[]; "home pattern lists nothing")]
#[test_case("", "/etc/*", &[]; "absolute pattern lists nothing")]
#[test_case("", "../*", &[]; "parent pattern lists nothing")]
#[test_case("", "Sent", &["Sent"]; "literal")]
#[test_case("", "sent", &[]; "case-sensitive")]
#[test_case("", "inbox", &["INBOX"]; "INBOX any case")]
#[test_case("", "notes.txt", &[]; "non-mailbox file")]
#[test_case("", "Sent.lock", &[]; "lock file")]
#[test_case("", ".*", &[]; "dot-files")]
#[test_case("", ".imapd/*", &[]; "private directory")]
#[test_case("", "caf*", &[]; "raw UTF-8 file name")]
#[test_case("", "&*", &[]; "non-canonical modified UTF-7 file name")]
fn list_patterns(reference: &str, pattern: &str, expected: &[&str]) {
    let f = tree_fixture();
    let got = f
        .list(reference, pattern)
        .into_iter()
        .map(|(n, _)| n)
        .collect::<Vec<_>>();
    assert_eq!(got, expected);
}

#[test]
fn list_empty_pattern_gives_the_delimiter_entry() {
    // RFC 3501 §6.3.8: an empty mailbox argument asks for the delimiter and root.
    let f = Fixture::new();
    let entries = f.folders.list(b"", b"").unwrap();
    assert_eq!(
        entries,
        [ListEntry {
            name: ListName::Root,
            attributes: Attributes::of(&[NoSelect]),
        }]
    );
    assert_eq!(entries[0].name.as_str(), "");
}

#[test]
fn list_does_not_change_marks() {
    // Sniffing reads the file; O_NOATIME keeps the atime, so \Marked survives LIST.
    let f = tree_fixture();
    for _ in 0..2 {
        assert_eq!(
            f.list("", "Sent"),
            [("Sent".into(), vec![NoInferiors, Marked])]
        );
    }
}

#[test]
fn list_without_a_folder_root_lists_inbox() {
    let f = Fixture::new();
    assert_eq!(
        f.list("", "*"),
        [("INBOX".into(), vec![NoInferiors, UnMarked])]
    );
    assert!(!f.root().exists());
}

#[test]
fn list_marks_inbox_from_the_drop_file() {
    let f = Fixture::new();
    fs::write(f.folders.drop_file(), MBOX).unwrap();
    set_atime(f.folders.drop_file(), true);
    assert_eq!(
        f.list("", "INBOX"),
        [("INBOX".into(), vec![NoInferiors, Marked])]
    );
}

#[test]
fn list_depth_is_limited() {
    let f = Fixture::new();
    let deep = vec!["d"; MAX_DEPTH + 6].join("/");
    f.file(&format!("{deep}/bottom"), MBOX);
    let names = f.names("*");
    assert_eq!(names.len(), 1 + MAX_DEPTH);
    assert_eq!(names.last().unwrap(), &vec!["d"; MAX_DEPTH].join("/"));
}

#[test]
fn list_skips_fifos_without_blocking() {
    let f = tree_fixture();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        f.path("pipe").as_std_path(),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_bits_truncate(0o600),
        0,
    )
    .unwrap();
    assert_eq!(f.names("p*"), Vec::<String>::new());
    let err = f.folders.selectable(&name("pipe")).unwrap_err();
    assert!(matches!(err, FolderError::NotAMailbox { .. }), "{err:?}");
}

// ---------------------------------------------------------------- INBOX (§4; notes §4.1)

#[test]
fn inbox_is_the_drop_file_in_any_case() {
    let f = Fixture::new();
    for n in ["INBOX", "inbox", "InBox"] {
        // A missing drop file is an empty, selectable mailbox.
        assert_eq!(
            f.folders.selectable(&name(n)).unwrap(),
            f.folders.drop_file()
        );
    }
    assert_eq!(f.folders.resolve(&name("inbox")).unwrap().node, Node::Inbox);
}

#[test]
fn top_level_inbox_entries_are_not_listed_twice() {
    let f = Fixture::new();
    f.file("inbox", MBOX).file("INBOX/x", MBOX);
    set_atime(&f.path("INBOX/x"), false);
    // The file "inbox" is hidden behind INBOX; the directory "INBOX" is not listed itself, its
    // child is an ordinary folder, and INBOX then has children.
    assert_eq!(
        f.list("", "*"),
        [
            ("INBOX".into(), vec![UnMarked, HasChildren]),
            ("INBOX/x".into(), vec![NoInferiors, UnMarked]),
        ]
    );
    assert_eq!(f.names("%"), ["INBOX"]);
    assert_eq!(f.names("INBOX/%"), ["INBOX/x"]);
    assert_eq!(f.names("inbox/%"), Vec::<String>::new());
    assert_eq!(
        f.folders.selectable(&name("INBOX/x")).unwrap(),
        f.path("INBOX/x")
    );
}

#[test_case("INBOX", InboxOperation::Create; "create")]
#[test_case("inbox", InboxOperation::Delete; "delete")]
#[test_case("Inbox", InboxOperation::Rename; "rename")]
fn inbox_operations_are_refused(n: &str, operation: InboxOperation) {
    let f = Fixture::new();
    fs::write(f.folders.drop_file(), MBOX).unwrap();
    let before = f.tree();
    let err = match operation {
        InboxOperation::Create => f.folders.create(&name(n), PSEUDO).unwrap_err(),
        InboxOperation::Delete => f.folders.delete(&name(n)).unwrap_err(),
        InboxOperation::Rename => f.folders.rename(&name(n), &name("Old")).unwrap_err(),
    };
    assert!(
        matches!(err, FolderError::Inbox { operation: o } if o == operation),
        "{err:?}"
    );
    assert!(err.to_string().contains("INBOX"));
    assert_eq!(f.tree(), before);
}

// ---------------------------------------------------------------- hostile names (§4 "Refused")

#[test_case(b"../x", NameError::DotDotComponent; "parent")]
#[test_case(b"../../outside/secret", NameError::DotDotComponent; "parent to a real mailbox")]
#[test_case(b"/etc/passwd", NameError::Absolute; "absolute")]
#[test_case(b"~root/x", NameError::HomeRelative; "home")]
#[test_case(b"a//b", NameError::EmptyComponent; "empty level")]
#[test_case(b"a/./b", NameError::DotComponent; "dot level")]
#[test_case(b"a\0b", NameError::ControlCharacter { offset: 1 }; "NUL")]
#[test_case(b"a\rb", NameError::ControlCharacter { offset: 1 }; "CR")]
#[test_case(b"a\nb", NameError::ControlCharacter { offset: 1 }; "LF")]
#[test_case(b"&Jjo", NameError::Utf7(crate::names::Utf7Error { offset: 0, kind: crate::names::Utf7ErrorKind::Unterminated }); "broken modified UTF-7")]
#[test_case(b".imapd/x", NameError::Hidden; "private directory")]
fn hostile_names_never_reach_the_disk(raw: &[u8], expected: NameError) {
    let f = tree_fixture();
    let before = f.tree();
    assert_eq!(MailboxName::parse(raw), Err(expected));
    // Nothing the name could have meant exists outside: the tree is unchanged.
    assert_eq!(f.tree(), before);
}

#[test]
fn a_5000_byte_name_is_refused() {
    let raw = vec![b'a'; 5000];
    assert_eq!(
        MailboxName::parse(&raw),
        Err(NameError::TooLong { len: 5000 })
    );
}

#[test]
fn a_path_too_long_with_this_root_is_refused() {
    let f = Fixture::new();
    let component = "c".repeat(200);
    let mut long = vec![component.as_str(); 20].join("/");
    long.push('/');
    long.push_str(&"c".repeat(MAX_PATH_BYTES - 10 - long.len()));
    assert_eq!(long.len(), MAX_PATH_BYTES - 10);
    let n = name(&long);
    let err = f.folders.create(&n, PSEUDO).unwrap_err();
    assert!(
        matches!(
            err,
            FolderError::InvalidName {
                source: NameError::TooLong { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!f.root().exists());
}

#[test]
fn a_symlink_to_etc_is_neither_listed_nor_resolved() {
    let f = tree_fixture();
    f.symlink("etc", Utf8Path::new("/etc"));
    f.symlink("Work/etc", Utf8Path::new("/etc"));
    let names = f.names("*");
    assert!(
        !names.iter().any(|n| n.contains("etc")),
        "LIST showed {names:?}"
    );
    for n in ["etc", "etc/passwd", "Work/etc/passwd"] {
        let err = f.folders.selectable(&name(n)).unwrap_err();
        assert!(matches!(err, FolderError::Symlink { .. }), "{n}: {err:?}");
        assert!(err.is_nonexistent());
        assert_client_text(&err, &f, n);
        assert!(!err.to_string().contains(" /etc"), "{err}");
    }
}

#[test]
fn symlinks_inside_the_root_are_never_written_through() {
    let f = tree_fixture();
    let outside = f.base.join("outside");
    f.symlink("out", &outside);
    f.symlink("evil", &outside.join("secret"));
    let before = f.tree();

    let err = f.folders.create(&name("out/new"), PSEUDO).unwrap_err();
    assert!(matches!(err, FolderError::Symlink { .. }), "{err:?}");
    let err = f
        .folders
        .create(&name("out/deeper/new"), PSEUDO)
        .unwrap_err();
    assert!(matches!(err, FolderError::Symlink { .. }), "{err:?}");
    let err = f.folders.create(&name("evil"), PSEUDO).unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    let err = f.folders.delete(&name("evil")).unwrap_err();
    assert!(matches!(err, FolderError::Symlink { .. }), "{err:?}");
    let err = f.folders.delete(&name("out/secret")).unwrap_err();
    assert!(matches!(err, FolderError::Symlink { .. }), "{err:?}");
    let err = f.folders.rename(&name("evil"), &name("mine")).unwrap_err();
    assert!(matches!(err, FolderError::Symlink { .. }), "{err:?}");
    let err = f
        .folders
        .rename(&name("Sent"), &name("out/Sent"))
        .unwrap_err();
    assert!(matches!(err, FolderError::Symlink { .. }), "{err:?}");
    let err = f.folders.rename(&name("out"), &name("in")).unwrap_err();
    assert!(matches!(err, FolderError::Symlink { .. }), "{err:?}");

    assert_eq!(f.tree(), before);
    assert_eq!(fs::read(outside.join("secret")).unwrap(), MBOX);
}

#[test]
fn a_symlinked_dot_lock_name_cannot_be_reached() {
    // `.lock` names are refused outright, so a planted `Sent.lock` symlink is never touched.
    assert_eq!(MailboxName::parse(b"Sent.lock"), Err(NameError::LockName));
}

// ---------------------------------------------------------------- non-mailbox files (§4)

#[test]
fn a_file_that_is_not_a_mailbox_is_nonexistent_and_untouched() {
    let f = tree_fixture();
    let before = f.tree();
    let notes = name("notes.txt");
    let err = f.folders.selectable(&notes).unwrap_err();
    assert!(matches!(err, FolderError::NotAMailbox { .. }), "{err:?}");
    assert!(err.is_nonexistent());
    assert_client_text(&err, &f, "notes.txt");
    assert_eq!(err.path(), Some(f.path("notes.txt").as_path()));

    let err = f.folders.delete(&notes).unwrap_err();
    assert!(matches!(err, FolderError::NotAMailbox { .. }), "{err:?}");
    let err = f.folders.rename(&notes, &name("Notes")).unwrap_err();
    assert!(matches!(err, FolderError::NotAMailbox { .. }), "{err:?}");
    let err = f.folders.create(&notes, PSEUDO).unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");

    assert_eq!(f.tree(), before);
    assert_eq!(fs::read(f.path("notes.txt")).unwrap(), b"just some notes\n");
}

#[test]
fn selecting_what_is_not_a_mailbox() {
    let f = tree_fixture();
    let err = f.folders.selectable(&name("Work")).unwrap_err();
    assert!(matches!(err, FolderError::NoSelect { .. }), "{err:?}");
    assert!(!err.is_nonexistent());
    let err = f.folders.selectable(&name("Nowhere")).unwrap_err();
    assert!(matches!(err, FolderError::NonExistent { .. }), "{err:?}");
    let err = f.folders.selectable(&name("Sent/x")).unwrap_err();
    assert!(matches!(err, FolderError::NonExistent { .. }), "{err:?}");
    let err = f.folders.selectable(&name("Sent/")).unwrap_err();
    assert!(matches!(err, FolderError::NonExistent { .. }), "{err:?}");
    assert_eq!(
        f.folders.selectable(&name("Drafts")).unwrap(),
        f.path("Drafts")
    );
}

#[test]
fn the_drop_file_inside_the_root_is_only_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let base = Utf8Path::from_path(dir.path()).unwrap();
    fs::write(base.join("mbox"), MBOX).unwrap();
    fs::write(base.join("Sent"), MBOX).unwrap();
    let folders = Folders::new(base.to_owned(), base.join("mbox"), Platform::Unix);
    let names: Vec<String> = folders
        .list(b"", b"*")
        .unwrap()
        .into_iter()
        .map(|e| e.name.as_str().to_owned())
        .collect();
    assert_eq!(names, ["INBOX", "Sent"]);
    let err = folders.selectable(&name("mbox")).unwrap_err();
    assert!(matches!(err, FolderError::NotAMailbox { .. }), "{err:?}");
}

// ---------------------------------------------------------------- CREATE (§4; notes §4.5)

#[test]
fn create_makes_directories_and_the_mailbox() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    let path = f.folders.create(&name("Folder/Sub"), PSEUDO).unwrap();
    assert_eq!(path, f.path("Folder/Sub"));
    assert_eq!(fs::read(&path).unwrap(), PSEUDO);
    let mode = |p: &Utf8Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(f.root()), 0o700);
    assert_eq!(mode(&f.path("Folder")), 0o700);
    assert_eq!(mode(&path), 0o600);
    set_atime(&path, false);
    assert_eq!(
        f.list("", "*"),
        [
            ("INBOX".into(), vec![NoInferiors, UnMarked]),
            ("Folder".into(), vec![NoSelect, HasChildren]),
            ("Folder/Sub".into(), vec![NoInferiors, UnMarked]),
        ]
    );
    assert_eq!(
        f.tree(),
        BTreeSet::from([
            "bob.mbx/".into(),
            "bob.mbx/Folder/".into(),
            "bob.mbx/Folder/Sub".into(),
            "outside/".into(),
            "outside/secret".into(),
        ])
    );
}

#[test]
fn create_with_a_trailing_slash_makes_a_directory() {
    let f = Fixture::new();
    let path = f.folders.create(&name("a/b/"), PSEUDO).unwrap();
    assert!(fs::metadata(&path).unwrap().is_dir());
    assert_eq!(
        f.list("", "a/b"),
        [("a/b".into(), vec![NoSelect, HasNoChildren])]
    );
    let err = f.folders.create(&name("a/b/"), PSEUDO).unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
}

#[test]
fn folders_hold_messages_or_folders_never_both() {
    let f = tree_fixture();
    let before = f.tree();
    // Below a mailbox file: refused, clearly.
    let err = f.folders.create(&name("Sent/x"), PSEUDO).unwrap_err();
    match &err {
        FolderError::ParentNotDirectory { parent, path, .. } => {
            assert_eq!(parent.as_str(), "Sent");
            assert_eq!(path, &f.path("Sent"));
        }
        other => panic!("{other:?}"),
    }
    assert_client_text(&err, &f, "Sent");
    let err = f
        .folders
        .create(&name("Work/2000/Jan/x"), PSEUDO)
        .unwrap_err();
    assert!(
        matches!(&err, FolderError::ParentNotDirectory { parent, .. } if parent.as_str() == "Work/2000"),
        "{err:?}"
    );
    // A directory's name as a mailbox, a mailbox's name as a directory: both exist already.
    let err = f.folders.create(&name("Work"), PSEUDO).unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    let err = f.folders.create(&name("Sent/"), PSEUDO).unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    let err = f.folders.create(&name("Sent"), PSEUDO).unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    assert_client_text(&err, &f, "Sent");
    assert_eq!(f.tree(), before);
}

#[test]
fn create_of_the_subscription_list_name_is_refused_on_nt() {
    let f = Fixture::with_platform(Platform::Nt);
    let err = f.folders.create(&name("mailbox.lst"), PSEUDO).unwrap_err();
    assert!(
        matches!(
            err,
            FolderError::InvalidName {
                source: NameError::Reserved,
                ..
            }
        ),
        "{err:?}"
    );
    let err = f.folders.create(&name("a\\..\\..\\x"), PSEUDO).unwrap_err();
    assert!(
        matches!(
            err,
            FolderError::InvalidName {
                source: NameError::NotPortable { offset: 1 },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!f.root().exists());
    // An empty MAILBOX.LST would sniff as a mailbox; it is still never listed.
    f.file("MAILBOX.LST", b"").file("Sent", MBOX);
    assert_eq!(f.names("*"), ["INBOX", "Sent"]);
}

// ---------------------------------------------------------------- DELETE (§4; notes §4.6)

#[test]
fn delete_removes_a_mailbox_and_leaves_its_lock() {
    let f = tree_fixture();
    f.file("Drafts.lock", b"");
    let removed = f.folders.delete(&name("Drafts")).unwrap();
    assert_eq!(removed, Removed::Mailbox(f.path("Drafts")));
    assert!(!f.path("Drafts").exists());
    assert!(f.path("Drafts.lock").exists());
}

#[test]
fn delete_of_directories() {
    let f = tree_fixture();
    let before = f.tree();
    let err = f.folders.delete(&name("Work")).unwrap_err();
    assert!(matches!(err, FolderError::NotEmpty { .. }), "{err:?}");
    assert_client_text(&err, &f, "Work");
    // Hidden or non-mailbox contents still make a directory non-empty.
    let err = f.folders.delete(&name("Junk")).unwrap_err();
    assert!(matches!(err, FolderError::NotEmpty { .. }), "{err:?}");
    assert_eq!(f.tree(), before);

    let removed = f.folders.delete(&name("Empty/")).unwrap();
    assert_eq!(removed, Removed::Directory(f.path("Empty")));
    let removed = f.folders.delete(&name("Work/old")).unwrap();
    assert_eq!(removed, Removed::Directory(f.path("Work/old")));
    assert!(!f.path("Empty").exists());
    assert!(!f.path("Work/old").exists());
}

#[test]
fn delete_of_nothing() {
    let f = tree_fixture();
    let before = f.tree();
    for n in ["Nowhere", "Work/Nowhere", "Sent/x", "Sent/"] {
        let err = f.folders.delete(&name(n)).unwrap_err();
        assert!(
            matches!(err, FolderError::NonExistent { .. }),
            "{n}: {err:?}"
        );
        assert_client_text(&err, &f, n.trim_end_matches('/'));
    }
    assert_eq!(f.tree(), before);
}

// ---------------------------------------------------------------- RENAME (§4; notes §4.7)

#[test]
fn rename_moves_a_mailbox_creating_parents() {
    let f = tree_fixture();
    let renamed = f
        .folders
        .rename(&name("Sent"), &name("Archive/2024/Sent"))
        .unwrap();
    assert_eq!(
        renamed,
        Renamed {
            from: f.path("Sent"),
            to: f.path("Archive/2024/Sent"),
            directory: false,
        }
    );
    assert!(!f.path("Sent").exists());
    assert_eq!(fs::read(f.path("Archive/2024/Sent")).unwrap(), MBOX);
}

#[test]
fn rename_moves_a_directory_with_its_children() {
    let f = tree_fixture();
    let renamed = f.folders.rename(&name("Work"), &name("Old/Work/")).unwrap();
    assert!(renamed.directory);
    assert!(!f.path("Work").exists());
    assert_eq!(fs::read(f.path("Old/Work/2000")).unwrap(), MBOX);
    assert!(f.path("Old/Work/old").is_dir());
    assert_eq!(
        f.names("Old/*"),
        ["Old/Work", "Old/Work/2000", "Old/Work/old"]
    );
}

#[test_case("Sent", "Drafts"; "target mailbox exists")]
#[test_case("Sent", "Work"; "target directory exists")]
#[test_case("Sent", "notes.txt"; "target non-mailbox file exists")]
#[test_case("Sent", "INBOX"; "INBOX always exists")]
#[test_case("Sent", "Sent"; "same name")]
#[test_case("Work", "Empty"; "directory onto directory")]
fn rename_never_replaces(from: &str, to: &str) {
    let f = tree_fixture();
    let before = f.tree();
    let err = f.folders.rename(&name(from), &name(to)).unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    assert_eq!(f.tree(), before);
}

#[test]
fn rename_refusals() {
    let f = tree_fixture();
    let before = f.tree();
    let err = f
        .folders
        .rename(&name("Work"), &name("Work/sub"))
        .unwrap_err();
    assert!(matches!(err, FolderError::IntoItself { .. }), "{err:?}");
    let err = f.folders.rename(&name("Nowhere"), &name("x")).unwrap_err();
    assert!(matches!(err, FolderError::NonExistent { .. }), "{err:?}");
    let err = f
        .folders
        .rename(&name("Drafts"), &name("Sent/x"))
        .unwrap_err();
    assert!(
        matches!(err, FolderError::ParentNotDirectory { .. }),
        "{err:?}"
    );
    let err = f
        .folders
        .rename(&name("Drafts"), &name("NewDir/"))
        .unwrap_err();
    assert!(
        matches!(err, FolderError::DirectoryIntent { .. }),
        "{err:?}"
    );
    let err = f.folders.rename(&name("Sent/"), &name("x")).unwrap_err();
    assert!(matches!(err, FolderError::NonExistent { .. }), "{err:?}");
    assert_eq!(f.tree(), before);
}

#[test]
fn errors_carry_paths_for_the_log_only() {
    let f = tree_fixture();
    let err = f.folders.delete(&name("Work")).unwrap_err();
    assert_eq!(err.path(), Some(f.path("Work").as_path()));
    assert_eq!(err.to_string(), "Can't delete Work: it still holds folders");
}

// ---------------------------------------------------------------- properties

#[derive(Debug, Clone)]
enum Op {
    Create(Vec<u8>),
    Delete(Vec<u8>),
    Rename(Vec<u8>, Vec<u8>),
}

fn raw_name() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    proptest::collection::vec(proptest::sample::select(b"ab/.&-~#".as_slice()), 1..8)
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        raw_name().prop_map(Op::Create),
        raw_name().prop_map(Op::Delete),
        (raw_name(), raw_name()).prop_map(|(a, b)| Op::Rename(a, b)),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    // Whatever names clients send, nothing appears outside the folder root, and LIST agrees
    // with resolve: every \Noinferiors entry is a mailbox, every \Noselect one a directory.
    #[test]
    fn random_operations_stay_inside_and_list_agrees(ops in proptest::collection::vec(op(), 1..20)) {
        let f = Fixture::new();
        let parse = |raw: &[u8]| MailboxName::parse(raw).ok();
        for op in ops {
            match op {
                Op::Create(a) => if let Some(a) = parse(&a) { let _ = f.folders.create(&a, PSEUDO); },
                Op::Delete(a) => if let Some(a) = parse(&a) { let _ = f.folders.delete(&a); },
                Op::Rename(a, b) => if let (Some(a), Some(b)) = (parse(&a), parse(&b)) {
                    let _ = f.folders.rename(&a, &b);
                },
            }
        }
        let outside: Vec<String> = f
            .tree()
            .into_iter()
            .filter(|p| !p.starts_with("bob.mbx/"))
            .collect();
        proptest::prop_assert_eq!(outside, ["outside/", "outside/secret"]);
        for entry in f.folders.list(b"", b"*").unwrap() {
            let ListName::Mailbox(name) = entry.name else { continue };
            let node = f.folders.resolve(&name).unwrap().node;
            if entry.attributes.contains(NoSelect) {
                proptest::prop_assert_eq!(node, Node::Directory);
            } else if !name.is_inbox() {
                proptest::prop_assert_eq!(node, Node::Mailbox);
            }
        }
    }
}
