//! The subscription list (mailbox-formats.md §4; notes/uw-c-client.md §4.4) and LSUB
//! (RFC 3501 §6.3.9) against real files, including the atomic rewrite.
#![cfg(unix)]

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;

use test_case::test_case;

use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    base: Utf8PathBuf,
    subs: Subscriptions,
}

fn fixture(platform: Platform) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let base = Utf8Path::from_path(dir.path()).unwrap().to_owned();
    let file = match platform {
        Platform::Unix => ".mailboxlist",
        Platform::Nt => "MAILBOX.LST",
    };
    let subs = Subscriptions::new(base.join("bob.mbx").join(file), platform);
    Fixture {
        _dir: dir,
        base,
        subs,
    }
}

impl Fixture {
    fn write(&self, content: &[u8]) {
        fs::create_dir_all(self.subs.path().parent().unwrap()).unwrap();
        fs::write(self.subs.path(), content).unwrap();
    }

    fn content(&self) -> Vec<u8> {
        fs::read(self.subs.path()).unwrap()
    }

    /// The file names in the folder root.
    fn entries(&self) -> BTreeSet<String> {
        fs::read_dir(self.subs.path().parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    }
}

fn name(s: &str) -> MailboxName {
    MailboxName::parse(s.as_bytes()).unwrap()
}

fn strs(names: &[MailboxName]) -> Vec<&str> {
    names.iter().map(MailboxName::as_str).collect()
}

#[test]
fn subscriptions_survive_a_round_trip() {
    let f = fixture(Platform::Unix);
    assert_eq!(f.subs.names().unwrap(), []);
    for n in ["INBOX", "Sent", "Work/2000", "R&AOk-sum&AOk-"] {
        assert!(f.subs.subscribe(&name(n)).unwrap());
    }
    assert_eq!(f.content(), b"INBOX\nSent\nWork/2000\nR&AOk-sum&AOk-\n");
    let again = Subscriptions::new(f.subs.path().to_owned(), Platform::Unix);
    assert_eq!(
        strs(&again.names().unwrap()),
        ["INBOX", "Sent", "Work/2000", "R&AOk-sum&AOk-"]
    );
    assert!(again.contains(&name("Work/2000")).unwrap());
    assert!(!again.contains(&name("Work")).unwrap());
}

#[test]
fn subscribe_creates_the_folder_root() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture(Platform::Unix);
    let root = f.subs.path().parent().unwrap().to_owned();
    assert!(!root.exists());
    f.subs.subscribe(&name("Sent")).unwrap();
    assert_eq!(
        fs::metadata(&root).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        fs::metadata(f.subs.path()).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn nt_lists_end_lines_with_crlf() {
    let f = fixture(Platform::Nt);
    f.subs.subscribe(&name("Sent")).unwrap();
    f.subs.subscribe(&name("Work/2000")).unwrap();
    assert_eq!(f.content(), b"Sent\r\nWork/2000\r\n");
    assert_eq!(strs(&f.subs.names().unwrap()), ["Sent", "Work/2000"]);
}

// §4: one name per line; we read CRLF, blank lines and duplicates, and keep lines we do not
// understand (a pine `{host}` entry, an invalid name).
#[test]
fn reading_is_tolerant_and_rewriting_keeps_foreign_lines() {
    let f = fixture(Platform::Unix);
    f.write(b"Sent\r\n\r\nWork/2000\nSent\n\n{imap.example.com}INBOX\ninbox\n../x\n");
    assert_eq!(
        strs(&f.subs.names().unwrap()),
        ["Sent", "Work/2000", "INBOX"]
    );
    assert!(f.subs.subscribe(&name("New")).unwrap());
    assert_eq!(
        f.content(),
        b"Sent\nWork/2000\n{imap.example.com}INBOX\ninbox\n../x\nNew\n"
    );
}

#[test]
fn subscribing_twice_changes_nothing() {
    let f = fixture(Platform::Unix);
    f.write(b"Sent\r\ninbox\r\n");
    let before = fs::metadata(f.subs.path()).unwrap().ino();
    assert!(!f.subs.subscribe(&name("Sent")).unwrap());
    assert!(!f.subs.subscribe(&name("INBOX")).unwrap());
    assert_eq!(f.content(), b"Sent\r\ninbox\r\n");
    assert_eq!(fs::metadata(f.subs.path()).unwrap().ino(), before);
}

#[test]
fn unsubscribe_removes_every_spelling() {
    let f = fixture(Platform::Unix);
    f.write(b"inbox\nSent\nINBOX\nWork\n");
    assert!(f.subs.unsubscribe(&name("INBOX")).unwrap());
    assert_eq!(f.content(), b"Sent\nWork\n");
    assert!(!f.subs.unsubscribe(&name("INBOX")).unwrap());
    assert!(!f.subs.unsubscribe(&name("sent")).unwrap());
    assert!(f.subs.unsubscribe(&name("Sent")).unwrap());
    assert_eq!(f.content(), b"Work\n");
}

#[test]
fn unsubscribe_without_a_list_creates_nothing() {
    let f = fixture(Platform::Unix);
    assert!(!f.subs.unsubscribe(&name("Sent")).unwrap());
    assert!(!f.subs.path().parent().unwrap().exists());
}

#[test]
fn rewrites_are_atomic_and_leave_no_temporary_file() {
    let f = fixture(Platform::Unix);
    f.write(b"Sent\n");
    let before = fs::metadata(f.subs.path()).unwrap().ino();
    assert!(f.subs.subscribe(&name("Drafts")).unwrap());
    // A new inode: the list was replaced by rename, never rewritten in place.
    assert_ne!(fs::metadata(f.subs.path()).unwrap().ino(), before);
    assert!(f.subs.unsubscribe(&name("Sent")).unwrap());
    assert_eq!(f.content(), b"Drafts\n");
    assert_eq!(
        f.entries(),
        BTreeSet::from([".mailboxlist".to_owned(), ".mailboxlist.lock".to_owned()])
    );
}

#[test]
fn concurrent_subscribers_lose_nothing() {
    let f = fixture(Platform::Unix);
    std::thread::scope(|s| {
        for t in 0..4 {
            let subs = f.subs.clone();
            s.spawn(move || {
                for i in 0..10 {
                    subs.subscribe(&name(&format!("t{t}/m{i}"))).unwrap();
                }
            });
        }
    });
    assert_eq!(f.subs.names().unwrap().len(), 40);
    assert_eq!(f.entries().len(), 2);
}

#[test]
fn a_symlinked_list_is_never_used() {
    let f = fixture(Platform::Unix);
    let outside = f.base.join("outside");
    fs::write(&outside, b"secret\n").unwrap();
    fs::create_dir_all(f.subs.path().parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&outside, f.subs.path()).unwrap();
    let err = f.subs.names().unwrap_err();
    assert!(matches!(err, SubscriptionError::Symlink { .. }), "{err:?}");
    assert!(!err.to_string().contains(f.base.as_str()));
    assert_eq!(err.path(), f.subs.path());
    let err = f.subs.subscribe(&name("Sent")).unwrap_err();
    assert!(matches!(err, SubscriptionError::Symlink { .. }), "{err:?}");
    assert_eq!(fs::read(&outside).unwrap(), b"secret\n");
    assert!(
        fs::symlink_metadata(f.subs.path())
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn an_oversized_list_is_refused() {
    let f = fixture(Platform::Unix);
    f.write(&vec![b'a'; usize::try_from(MAX_LIST_BYTES).unwrap() + 1]);
    let err = f.subs.names().unwrap_err();
    assert!(
        matches!(err, SubscriptionError::TooLarge { len, .. } if len == MAX_LIST_BYTES + 1),
        "{err:?}"
    );
}

fn lsub(f: &Fixture, reference: &str, pattern: &str) -> Vec<(String, Attributes)> {
    f.subs
        .lsub(reference.as_bytes(), pattern.as_bytes())
        .unwrap()
        .into_iter()
        .map(|e| (e.name.as_str().to_owned(), e.attributes))
        .collect()
}

const NONE: Attributes = Attributes::empty();
const NOSELECT: Attributes = Attributes::empty().with(Attribute::NoSelect);

// RFC 3501 §6.3.9 and notes §4.3 (LSUB): matching names with no attributes and no existence
// check; with a trailing "%", unsubscribed parents that match are \Noselect.
#[test_case("", "*", &[("INBOX", NONE), ("Sent", NONE), ("Work/2000", NONE), ("Work/2001/Jan", NONE), ("foo/bar", NONE), ("foo", NONE)]; "star")]
#[test_case("", "%", &[("INBOX", NONE), ("Sent", NONE), ("Work", NOSELECT), ("foo", NONE)]; "percent reports parents")]
#[test_case("Work/", "%", &[("Work/2000", NONE), ("Work/2001", NOSELECT)]; "reference")]
#[test_case("", "Work/*", &[("Work/2000", NONE), ("Work/2001/Jan", NONE)]; "star does not report parents")]
#[test_case("", "inbox", &[("INBOX", NONE)]; "INBOX any case")]
#[test_case("", "sent", &[]; "case-sensitive")]
#[test_case("", "", &[]; "empty pattern")]
fn lsub_rules(reference: &str, pattern: &str, expected: &[(&str, Attributes)]) {
    let f = fixture(Platform::Unix);
    f.write(b"inbox\nSent\nWork/2000\nWork/2001/Jan\nfoo/bar\nfoo\n");
    let expected: Vec<(String, Attributes)> =
        expected.iter().map(|&(n, a)| (n.to_owned(), a)).collect();
    assert_eq!(lsub(&f, reference, pattern), expected);
}
