//! Delivery as DSMTP does it (dmail-conventions.md §4, mailbox-formats.md §2–3): exact bytes for
//! new, LF, CRLF and unterminated files, hostile headers and `From ` lines, refused senders, lock
//! timeouts, and a failed write leaving the file as it was (injected, and a real full tmpfs).

use std::cell::Cell;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use test_case::test_case;

use super::*;

const DATE: InternalDate = InternalDate {
    unix: 914_665_068,
    offset_minutes: 0,
};
const FROM: &str = "From a@b.c Sat Dec 26 09:37:48 1998";

fn drop_in(dir: &tempfile::TempDir) -> DropPath {
    DropPath::new(Utf8PathBuf::try_from(dir.path().join("bob")).unwrap())
}

fn quick() -> DeliverOptions {
    DeliverOptions {
        lock: LockOptions {
            budget: Duration::from_millis(300),
            ..LockOptions::delivery()
        },
        ..DeliverOptions::default()
    }
}

#[test]
fn creates_a_missing_drop_file_0600() {
    let dir = tempfile::tempdir().unwrap();
    let drop = drop_in(&dir);
    let report = deliver(&drop, "a@b.c", b"Subject: x\n\nhello\n", DATE, &quick()).unwrap();
    let want = format!("{FROM}\nSubject: x\n\nhello\n\n");
    assert_eq!(fs::read_to_string(drop.as_path()).unwrap(), want);
    assert_eq!(
        report,
        DeliveryReport {
            offset: 0,
            end: want.len() as u64,
            line_ending: LineEnding::Lf,
            dot_lock_skipped: None,
        }
    );
    let mode = fs::metadata(drop.as_path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o600);
    assert!(!crate::lock::dot_lock_path(drop.as_path()).exists());
}

// dmail-conventions.md §4: each From line at the start of the file or after a blank line; a
// CRLF file (first line ends CRLF) keeps CRLF.
#[test_case(b"", b"", LineEnding::Lf; "empty file")]
#[test_case(b"From x Sat Dec 26 09:37:48 1998\n\nbody\n\n", b"", LineEnding::Lf; "ends with blank line")]
#[test_case(b"From x Sat Dec 26 09:37:48 1998\n\nbody\n", b"\n", LineEnding::Lf; "ends with one newline")]
#[test_case(b"From x Sat Dec 26 09:37:48 1998\n\nbody", b"\n\n", LineEnding::Lf; "no final newline")]
#[test_case(b"From x Sat Dec 26 09:37:48 1998\r\n\r\nbody\r\n\r\n", b"", LineEnding::Crlf; "CRLF file")]
#[test_case(b"From x Sat Dec 26 09:37:48 1998\r\n\r\nbody", b"\r\n\r\n", LineEnding::Crlf; "CRLF without final CRLF")]
fn appends_after_a_blank_line(existing: &[u8], separator: &[u8], ending: LineEnding) {
    let dir = tempfile::tempdir().unwrap();
    let drop = drop_in(&dir);
    fs::write(drop.as_path(), existing).unwrap();
    let report = deliver(&drop, "a@b.c", b"Subject: x\r\n\r\nhi\r\n", DATE, &quick()).unwrap();
    let eol = ending.as_bytes();
    let mut want = existing.to_vec();
    want.extend_from_slice(separator);
    let offset = want.len() as u64;
    for part in [
        FROM.as_bytes(),
        eol,
        b"Subject: x",
        eol,
        eol,
        b"hi",
        eol,
        eol,
    ] {
        want.extend_from_slice(part);
    }
    assert_eq!(
        fs::read(drop.as_path()).unwrap().escape_ascii().to_string(),
        want.escape_ascii().to_string()
    );
    assert_eq!(
        (report.offset, report.end, report.line_ending),
        (offset, want.len() as u64, ending)
    );
}

#[test]
fn hostile_message_is_quoted_and_renamed() {
    let dir = tempfile::tempdir().unwrap();
    let drop = drop_in(&dir);
    let message = b"From evil Sat Dec 26 09:37:48 1998\r\n\
Status: RO\r\n\
X-IMAP: 0964139896 0000000009 $Junk\r\n\
x-uid: 1\r\n\
Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\r\n\
\r\n\
From attacker Sat Dec 26 09:37:48 1998\r\n\
Status: RO\r\n\
>From kept\r\n";
    deliver(&drop, "MAILER-DAEMON", message, DATE, &quick()).unwrap();
    let want = "From MAILER-DAEMON Sat Dec 26 09:37:48 1998\n\
>From evil Sat Dec 26 09:37:48 1998\n\
X-Original-Status: RO\n\
X-Original-X-IMAP: 0964139896 0000000009 $Junk\n\
X-Original-x-uid: 1\n\
Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n\
\n\
>From attacker Sat Dec 26 09:37:48 1998\n\
Status: RO\n\
>From kept\n\n";
    assert_eq!(fs::read_to_string(drop.as_path()).unwrap(), want);
}

#[test_case("", "From MAILER-DAEMON Sat Dec 26 09:37:48 1998"; "empty sender")]
#[test_case("\"john doe\"@x", "From \"john doe\"@x Sat Dec 26 09:37:48 1998"; "quoted local part with a space")]
fn sender_forms(sender: &str, line: &str) {
    let dir = tempfile::tempdir().unwrap();
    let drop = drop_in(&dir);
    deliver(&drop, sender, b"\nx\n", DATE, &quick()).unwrap();
    let text = fs::read_to_string(drop.as_path()).unwrap();
    assert_eq!(text, format!("{line}\n\nx\n\n"));
    assert!(from_line::is_valid(line.as_bytes()));
}

#[test_case("a\nb"; "LF")]
#[test_case("a\rb"; "CR")]
#[test_case("a\0b"; "NUL")]
#[test_case("a\tb"; "TAB")]
#[test_case("a\x7fb"; "DEL")]
fn control_characters_in_the_sender_are_refused(sender: &str) {
    let dir = tempfile::tempdir().unwrap();
    let drop = drop_in(&dir);
    match deliver(&drop, sender, b"\nx\n", DATE, &quick()).unwrap_err() {
        DeliverError::BadSender { sender: s } => assert_eq!(s, sender),
        other => panic!("unexpected {other:?}"),
    }
    assert!(!drop.as_path().exists());
}

#[test]
fn waits_for_the_lock_and_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let drop = drop_in(&dir);
    fs::write(drop.as_path(), b"").unwrap();
    let mut open = OpenOptions::new();
    open.read(true);
    let held = MailboxLock::acquire(
        drop.as_path(),
        &open,
        LockMode::Shared,
        &LockOptions::client(),
    )
    .unwrap();
    let err = deliver(&drop, "a", b"\nx\n", DATE, &quick()).unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    std::mem::drop(held);
    assert_eq!(fs::read(drop.as_path()).unwrap(), b"");
    deliver(&drop, "a", b"\nx\n", DATE, &quick()).unwrap();
}

#[test]
fn missing_spool_directory_is_an_error_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let drop = DropPath::new(Utf8PathBuf::try_from(dir.path().join("b/bob")).unwrap());
    match deliver(&drop, "a", b"\nx\n", DATE, &quick()).unwrap_err() {
        DeliverError::Lock(LockError::Create { source, .. }) => {
            assert_eq!(source.kind(), io::ErrorKind::NotFound);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!dir.path().join("b").exists());
}

/// Writes the first `allow` bytes of any write, then fails like a full disk.
struct FullDisk<'a> {
    file: &'a File,
    allow: usize,
    fail_set_len: bool,
    set_len_called: Cell<bool>,
}

impl Sink for FullDisk<'_> {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let part = &buf[..self.allow.min(buf.len())];
        FileExt::write_all_at(self.file, part, offset)?;
        Err(io::Error::from_raw_os_error(28)) // ENOSPC
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.set_len_called.set(true);
        if self.fail_set_len {
            return Err(io::Error::from_raw_os_error(5)); // EIO
        }
        File::set_len(self.file, len)
    }
    fn sync_all(&self) -> io::Result<()> {
        File::sync_all(self.file)
    }
}

#[test_case(false; "restored")]
#[test_case(true; "restore fails")]
fn failed_write_is_cut_back(fail_set_len: bool) {
    let dir = tempfile::tempdir().unwrap();
    let drop = drop_in(&dir);
    let original = b"From x Sat Dec 26 09:37:48 1998\n\nbody".to_vec();
    fs::write(drop.as_path(), &original).unwrap();
    let mut open = OpenOptions::new();
    open.read(true).write(true);
    let lock = MailboxLock::acquire(
        drop.as_path(),
        &open,
        LockMode::Exclusive,
        &LockOptions::client(),
    )
    .unwrap();
    let sink = FullDisk {
        file: lock.file(),
        allow: 10,
        fail_set_len,
        set_len_called: Cell::new(false),
    };
    let err = append_locked(
        lock.file(),
        &sink,
        drop.as_path(),
        "a",
        b"\nmessage\n",
        DATE,
        LineEnding::Lf,
    )
    .err()
    .unwrap();
    assert!(sink.set_len_called.get());
    let now = fs::read(drop.as_path()).unwrap();
    match err {
        DeliverError::Write { length, source, .. } => {
            assert!(!fail_set_len);
            assert_eq!(length, original.len() as u64);
            assert_eq!(source.raw_os_error(), Some(28));
            assert_eq!(now, original);
        }
        DeliverError::Restore {
            length, restore, ..
        } => {
            assert!(fail_set_len);
            assert_eq!(length, original.len() as u64);
            assert_eq!(restore.raw_os_error(), Some(5));
            assert_eq!(now.len(), original.len() + 10, "the partial write stays");
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// A 64 KiB tmpfs, unmounted on drop.
struct TinyFs {
    dir: tempfile::TempDir,
}

impl TinyFs {
    fn mount() -> Option<TinyFs> {
        let dir = tempfile::tempdir().ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(TinyFs { dir })
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn disk_full_leaves_the_file_byte_identical() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: mounting a tmpfs needs root (the injected failure test still runs)");
        return;
    }
    let fs = TinyFs::mount().expect("mount -t tmpfs failed although running as root");
    let drop = DropPath::new(Utf8PathBuf::try_from(fs.dir.path().join("bob")).unwrap());
    deliver(&drop, "a", b"Subject: first\n\nsmall\n", DATE, &quick()).unwrap();
    let before = fs::read(drop.as_path()).unwrap();
    let big = vec![b'x'; 200 * 1024];
    let mut message = b"Subject: big\n\n".to_vec();
    message.extend_from_slice(&big);
    match deliver(&drop, "a", &message, DATE, &quick()).unwrap_err() {
        DeliverError::Write { source, length, .. } => {
            assert_eq!(source.raw_os_error(), Some(28), "{source}");
            assert_eq!(length, before.len() as u64);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(fs::read(drop.as_path()).unwrap(), before);
    assert!(!crate::lock::dot_lock_path(drop.as_path()).exists());
    // There is room again for a small one.
    deliver(&drop, "a", b"Subject: third\n\nsmall\n", DATE, &quick()).unwrap();
}
