//! Quota (dmail-conventions §7; RFC 9208 §5.1) against real files: the order of the limit
//! sources, bad `quota` files, the usage walk and the at-or-over boundary.
#![cfg(unix)]

use std::os::unix::fs::symlink;

use test_case::test_case;

use super::*;

const FROM: &str = "From a@b.c Sat Dec 26 09:37:48 1998\n";

struct Fixture {
    _dir: tempfile::TempDir,
    drop_file: Utf8PathBuf,
    folder_dir: Utf8PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let base = Utf8Path::from_path(dir.path()).unwrap().to_owned();
    let folder_dir = base.join("bob.mbx");
    fs::create_dir(&folder_dir).unwrap();
    Fixture {
        _dir: dir,
        drop_file: base.join("bob"),
        folder_dir,
    }
}

/// An mbox of exactly `len` bytes (at least the From line's length).
fn mbox(len: usize) -> Vec<u8> {
    let mut bytes = FROM.as_bytes().to_vec();
    assert!(len >= bytes.len());
    bytes.resize(len, b'x');
    bytes
}

impl Fixture {
    fn write(&self, rel: &str, content: &[u8]) {
        let path = self.folder_dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    fn quota_file(&self, content: &[u8]) {
        self.write(QUOTA_FILE_NAME, content);
    }

    fn usage(&self) -> Usage {
        usage(&self.drop_file, &self.folder_dir).unwrap()
    }
}

// §7: "A user's limit comes, in order, from the external authenticator's info field
// quota="KBYTES", a file quota ... in the user's folder directory, or the number given to
// user_quota"; user_quota true alone is no limit; false disables quotas.
#[test_case(UserQuota::Limit(100), Some(7), Some("250"), QuotaLimit::Kbytes(7), Some(LimitSource::Authenticator); "authenticator beats file and default")]
#[test_case(UserQuota::Limit(100), None, Some("250"), QuotaLimit::Kbytes(250), Some(LimitSource::File); "file beats default")]
#[test_case(UserQuota::Limit(100), None, None, QuotaLimit::Kbytes(100), Some(LimitSource::UserQuota); "default alone")]
#[test_case(UserQuota::On, None, Some("250"), QuotaLimit::Kbytes(250), Some(LimitSource::File); "true with a file")]
#[test_case(UserQuota::On, Some(7), None, QuotaLimit::Kbytes(7), Some(LimitSource::Authenticator); "true with the authenticator")]
#[test_case(UserQuota::On, None, None, QuotaLimit::Unlimited, None; "true alone is no limit")]
#[test_case(UserQuota::Off, Some(7), Some("250"), QuotaLimit::Disabled, None; "false ignores every source")]
#[test_case(UserQuota::Limit(100), Some(0), Some("250"), QuotaLimit::Unlimited, Some(LimitSource::Authenticator); "authenticator zero is no limit")]
#[test_case(UserQuota::Limit(100), None, Some("0"), QuotaLimit::Unlimited, Some(LimitSource::File); "file zero is no limit")]
fn limit_sources_in_order(
    setting: UserQuota,
    authenticator: Option<u64>,
    file: Option<&str>,
    limit: QuotaLimit,
    source: Option<LimitSource>,
) {
    let f = fixture();
    if let Some(text) = file {
        f.quota_file(text.as_bytes());
    }
    let r = resolve_limit(setting, authenticator, &f.folder_dir);
    assert_eq!(
        r,
        LimitResolution {
            limit,
            source,
            ignored_file: None
        }
    );
}

// §7: the file holds "one decimal number of kbytes"; blanks and CRLF are tolerated [decided].
#[test_case(b"250", 250; "bare")]
#[test_case(b"250\n", 250; "LF")]
#[test_case(b"250\r\n", 250; "CRLF")]
#[test_case(b" \t250 \r\n\r\n", 250; "surrounding blanks and lines")]
#[test_case(b"000250", 250; "leading zeros")]
#[test_case(b"18446744073709551615", u64::MAX; "largest u64")]
fn quota_file_numbers(content: &[u8], kbytes: u64) {
    let f = fixture();
    f.quota_file(content);
    assert_eq!(read_quota_file(&f.folder_dir), Ok(Some(kbytes)));
}

// §7 [decided]: a quota file that is not one number is ignored with a reason for the log, and
// the next source (user_quota) applies.
#[test_case(b"", KbytesError::Empty; "empty")]
#[test_case(b" \r\n", KbytesError::Empty; "blank")]
#[test_case(b"abc", KbytesError::NotANumber; "letters")]
#[test_case(b"20 MB", KbytesError::NotANumber; "unit")]
#[test_case(b"12 34", KbytesError::NotANumber; "two numbers")]
#[test_case(b"12\n34\n", KbytesError::NotANumber; "two lines")]
#[test_case(b"-5", KbytesError::NotANumber; "negative")]
#[test_case(b"+5", KbytesError::NotANumber; "plus sign")]
#[test_case(b"1e3", KbytesError::NotANumber; "exponent")]
#[test_case(b"\xef\xbb\xbf100", KbytesError::NotANumber; "byte order mark")]
#[test_case(b"\xff\xfe", KbytesError::NotANumber; "binary")]
#[test_case(b"18446744073709551616", KbytesError::TooLarge; "beyond u64")]
fn junk_quota_files_are_ignored_with_a_reason(content: &[u8], error: KbytesError) {
    let f = fixture();
    f.quota_file(content);
    let r = resolve_limit(UserQuota::Limit(100), None, &f.folder_dir);
    assert_eq!(r.limit, QuotaLimit::Kbytes(100));
    assert_eq!(r.source, Some(LimitSource::UserQuota));
    let ignored = r.ignored_file.unwrap();
    assert_eq!(ignored.path, f.folder_dir.join("quota"));
    assert_eq!(ignored.problem, QuotaFileProblem::Junk(error));
    // With user_quota true the fallback is no limit, and the reason is still reported.
    let r = resolve_limit(UserQuota::On, None, &f.folder_dir);
    assert_eq!((r.limit, r.source), (QuotaLimit::Unlimited, None));
    assert!(r.ignored_file.is_some());
}

#[test]
fn an_oversized_quota_file_is_ignored() {
    let f = fixture();
    let mut content = vec![b' '; MAX_QUOTA_FILE_BYTES as usize];
    content.extend_from_slice(b"5");
    f.quota_file(&content);
    assert_eq!(
        read_quota_file(&f.folder_dir).unwrap_err().problem,
        QuotaFileProblem::TooLarge
    );
    // One byte less is read.
    content.remove(0);
    f.quota_file(&content);
    assert_eq!(read_quota_file(&f.folder_dir), Ok(Some(5)));
}

#[test]
fn a_symlinked_quota_file_is_not_followed() {
    let f = fixture();
    let target = f.folder_dir.parent().unwrap().join("elsewhere");
    fs::write(&target, "999999").unwrap();
    symlink(&target, f.folder_dir.join(QUOTA_FILE_NAME)).unwrap();
    let r = resolve_limit(UserQuota::Limit(100), None, &f.folder_dir);
    assert_eq!(r.limit, QuotaLimit::Kbytes(100));
    assert_eq!(r.ignored_file.unwrap().problem, QuotaFileProblem::Symlink);
}

#[test]
fn a_quota_directory_is_not_a_quota_file() {
    let f = fixture();
    fs::create_dir(f.folder_dir.join(QUOTA_FILE_NAME)).unwrap();
    let r = resolve_limit(UserQuota::Limit(100), None, &f.folder_dir);
    assert_eq!(r.limit, QuotaLimit::Kbytes(100));
    assert_eq!(r.ignored_file.unwrap().problem, QuotaFileProblem::NotAFile);
}

#[test]
fn quotas_off_reads_nothing() {
    let f = fixture();
    f.quota_file(b"junk");
    let r = resolve_limit(UserQuota::Off, None, &f.folder_dir);
    assert_eq!(
        r,
        LimitResolution {
            limit: QuotaLimit::Disabled,
            source: None,
            ignored_file: None
        }
    );
    // Even a user far over any limit is not over quota, and there is no quota root.
    fs::write(&f.drop_file, mbox(10_000)).unwrap();
    let status = QuotaStatus::measure(UserQuota::Off, Some(1), &paths(&f)).unwrap();
    assert!(!status.over_quota());
    assert_eq!(status.report(), None);
    assert_eq!(status.usage, None);
}

#[test]
fn a_missing_folder_directory_has_no_quota_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Utf8Path::from_path(dir.path()).unwrap().join("nobody.mbx");
    let r = resolve_limit(UserQuota::Limit(3), None, &missing);
    assert_eq!(r.limit, QuotaLimit::Kbytes(3));
    assert_eq!(r.ignored_file, None);
    assert_eq!(
        usage(&missing.with_extension(""), &missing).unwrap(),
        Usage::default()
    );
}

// §7: "Usage is the size of the drop file plus every folder."
#[test]
fn usage_counts_the_drop_file_and_nested_folders() {
    let f = fixture();
    fs::write(&f.drop_file, mbox(1000)).unwrap();
    f.write("Sent", &mbox(200));
    f.write("Work/2000", &mbox(300));
    f.write("Work/Old/1999", &mbox(400));
    f.write("Work/Old/Deeper/x", &mbox(50));
    f.write("Empty", b"");
    fs::create_dir_all(f.folder_dir.join("Work/EmptyDir")).unwrap();
    assert_eq!(
        f.usage(),
        Usage {
            bytes: 1000 + 200 + 300 + 400 + 50,
            mailbox_files: 5
        }
    );
}

#[test]
fn a_missing_drop_file_counts_zero() {
    let f = fixture();
    f.write("Sent", &mbox(200));
    assert_eq!(
        f.usage(),
        Usage {
            bytes: 200,
            mailbox_files: 1
        }
    );
}

// mailbox-formats §3–4: dot-files (the subscription list, .imapd/, .bulletin, temp files) and
// lock files are never listed, and so never counted; nor are files that are not mailboxes.
#[test]
fn dot_files_private_data_locks_and_non_mailboxes_are_not_counted() {
    let f = fixture();
    f.write("Sent", &mbox(200));
    f.write(".mailboxlist", b"Sent\n");
    f.write(".bulletin", b"global 3\ndomain 0\n");
    f.write(".imapd/INBOX.journal", &mbox(5000));
    f.write(".imapd/Sent.index", &mbox(5000));
    f.write(".hidden-folder", &mbox(5000));
    f.write(".dir/Inside", &mbox(5000));
    f.write("Sent.lock", &mbox(5000));
    f.write("Work/2000.lock", b"123 host\n");
    f.write("quota", b"250\n");
    f.write("notes.txt", b"not a mailbox at all\n");
    f.write("Work/readme", b"  From a@b.c Sat Dec 26 09:37:48 1998\n");
    assert_eq!(
        f.usage(),
        Usage {
            bytes: 200,
            mailbox_files: 1
        }
    );
}

// §7 with mailbox-formats §4 ("paths are opened without following symlinks").
#[test]
fn symlinks_below_the_folder_directory_are_not_followed() {
    let f = fixture();
    let outside = f.folder_dir.parent().unwrap().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("big"), mbox(9000)).unwrap();
    symlink(outside.join("big"), f.folder_dir.join("Link")).unwrap();
    symlink(&outside, f.folder_dir.join("LinkDir")).unwrap();
    symlink("/nonexistent/target", f.folder_dir.join("Dangling")).unwrap();
    f.write("Sent", &mbox(200));
    assert_eq!(
        f.usage(),
        Usage {
            bytes: 200,
            mailbox_files: 1
        }
    );
}

// [decided] The drop file and the folder directory are configuration: followed like the
// engine follows them.
#[test]
fn a_symlinked_drop_file_and_folder_directory_are_followed() {
    let f = fixture();
    let base = f.folder_dir.parent().unwrap();
    fs::write(base.join("real-drop"), mbox(700)).unwrap();
    symlink(base.join("real-drop"), &f.drop_file).unwrap();
    f.write("Sent", &mbox(200));
    let linked_root = base.join("linked.mbx");
    symlink(&f.folder_dir, &linked_root).unwrap();
    assert_eq!(
        usage(&f.drop_file, &linked_root).unwrap(),
        Usage {
            bytes: 900,
            mailbox_files: 1
        }
    );
}

#[test]
fn a_file_reached_twice_counts_once() {
    let f = fixture();
    f.write("Sent", &mbox(200));
    fs::hard_link(f.folder_dir.join("Sent"), f.folder_dir.join("SentToo")).unwrap();
    // The drop file inside its own folder directory (imapd_mailbox_name "." setups).
    fs::write(&f.drop_file, mbox(300)).unwrap();
    fs::hard_link(&f.drop_file, f.folder_dir.join("InboxCopy")).unwrap();
    assert_eq!(
        f.usage(),
        Usage {
            bytes: 500,
            mailbox_files: 1
        }
    );
}

#[test]
fn an_unreadable_drop_file_path_is_an_error_naming_it() {
    let f = fixture();
    let file = f.folder_dir.parent().unwrap().join("plain");
    fs::write(&file, "x").unwrap();
    let drop = file.join("bob");
    let err = usage(&drop, &f.folder_dir).unwrap_err();
    assert_eq!(err.path, drop);
    assert!(!err.to_string().contains(drop.as_str()));
}

// RFC 9208 §5.1: STORAGE is in units of 1024 octets; usage rounded up [decided].
#[test_case(0, 0; "nothing")]
#[test_case(1, 1; "one byte")]
#[test_case(1023, 1; "just under one")]
#[test_case(1024, 1; "exactly one")]
#[test_case(1025, 2; "just over one")]
#[test_case(u64::MAX, u64::MAX / 1024 + 1; "largest")]
fn kbytes_round_up(bytes: u64, kbytes: u64) {
    assert_eq!(kbytes_rounded_up(bytes), kbytes);
}

// §7: refused "only if the user is already at or over quota before it: a user under quota may
// go slightly over" [doc]; compared in exact bytes [decided].
#[test_case(0, QuotaLimit::Kbytes(1), false; "empty")]
#[test_case(1023, QuotaLimit::Kbytes(1), false; "one byte under")]
#[test_case(1024, QuotaLimit::Kbytes(1), true; "exactly at")]
#[test_case(1025, QuotaLimit::Kbytes(1), true; "over")]
#[test_case(10 * 1024 * 1024, QuotaLimit::Kbytes(1), true; "far over")]
#[test_case(u64::MAX, QuotaLimit::Kbytes(u64::MAX), true; "saturated limit")]
#[test_case(u64::MAX - 1, QuotaLimit::Kbytes(u64::MAX), false; "under a saturated limit")]
#[test_case(u64::MAX, QuotaLimit::Unlimited, false; "no limit")]
#[test_case(u64::MAX, QuotaLimit::Disabled, false; "quotas off")]
fn at_or_over_the_limit(bytes: u64, limit: QuotaLimit, over: bool) {
    let usage = Usage {
        bytes,
        mailbox_files: 0,
    };
    assert_eq!(over_quota(usage, limit), over);
}

fn paths(f: &Fixture) -> MailPaths {
    MailPaths {
        drop_file: crate::layout::DropPath::new(f.drop_file.clone()),
        subscriptions: f.folder_dir.join(".mailboxlist"),
        folder_dir: f.folder_dir.clone(),
        maildir: None,
    }
}

// §7 end to end with real files: under, at and over the limit; a user under quota "may go
// slightly over", after which they are over.
#[test]
fn status_follows_usage_across_the_boundary() {
    let f = fixture();
    f.quota_file(b"2\n");
    fs::write(&f.drop_file, mbox(1000)).unwrap();
    let status = QuotaStatus::measure(UserQuota::On, None, &paths(&f)).unwrap();
    assert_eq!(status.resolution.source, Some(LimitSource::File));
    assert!(!status.over_quota());
    assert_eq!(
        status.report(),
        Some(QuotaReport {
            used_kbytes: 1,
            limit_kbytes: 2
        })
    );

    f.write("Big", &mbox(1048));
    let status = QuotaStatus::measure(UserQuota::On, None, &paths(&f)).unwrap();
    assert_eq!(status.usage.unwrap().bytes, 2048);
    assert!(status.over_quota());

    f.write("Big", &mbox(1047));
    let status = QuotaStatus::measure(UserQuota::On, None, &paths(&f)).unwrap();
    assert!(!status.over_quota());
    assert_eq!(status.report().unwrap().used_kbytes, 2);

    f.write("Huge", &mbox(100_000));
    let status = QuotaStatus::measure(UserQuota::On, None, &paths(&f)).unwrap();
    assert!(status.over_quota());
    assert_eq!(status.report().unwrap().used_kbytes, 100);
}

#[test]
fn usage_is_not_measured_without_a_limit() {
    let f = fixture();
    // A drop path below a plain file cannot be measured; without a limit nobody tries.
    let plain = f.folder_dir.parent().unwrap().join("plain");
    fs::write(&plain, "x").unwrap();
    let mut p = paths(&f);
    p.drop_file = crate::layout::DropPath::new(plain.join("bob"));
    let status = QuotaStatus::measure(UserQuota::On, None, &p).unwrap();
    assert_eq!(status.resolution.limit, QuotaLimit::Unlimited);
    assert_eq!(status.usage, None);
    assert!(QuotaStatus::measure(UserQuota::Limit(5), None, &p).is_err());
}
