//! Bulletins (dmail-conventions §8) against real directories: id order, global and domain
//! directories, the `.bulletin` counters, resets, exact message bytes with a fixed clock, and
//! delivery into a real drop file.
#![cfg(unix)]

use std::os::unix::fs::symlink;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use dmail_conf::{Platform, Program, parse_str};
use test_case::test_case;

use super::*;

const NOW: InternalDate = InternalDate {
    unix: 914_665_068,
    offset_minutes: 0,
};
const DATE: &str = "Sat, 26 Dec 1998 09:37:48 +0000";
/// The modification time given to every bulletin file.
const WRITTEN: i64 = 900_000_000;
const HOST: &str = "mx.example.com";
const FROM: &str = "\"Email System Administrator\" <postmaster@mx.example.com>";

struct Fixture {
    _dir: tempfile::TempDir,
    base: Utf8PathBuf,
    settings: BulletinSettings,
    folder_dir: Utf8PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let base = Utf8Path::from_path(dir.path()).unwrap().to_owned();
    fs::create_dir(base.join("bulletins")).unwrap();
    Fixture {
        settings: BulletinSettings {
            dir: base.join("bulletins"),
            from: "Email System Administrator".to_owned(),
        },
        folder_dir: base.join("bob.mbx"),
        base,
        _dir: dir,
    }
}

impl Fixture {
    /// Writes `bulletins/REL` with modification time [`WRITTEN`].
    fn bulletin(&self, rel: &str, content: &[u8]) {
        let path = self.settings.dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
        let when = UNIX_EPOCH + Duration::from_secs(WRITTEN as u64);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }

    fn counter_path(&self) -> Utf8PathBuf {
        self.folder_dir.join(COUNTER_FILE_NAME)
    }

    fn set_counters(&self, content: &str) {
        fs::create_dir_all(&self.folder_dir).unwrap();
        fs::write(self.counter_path(), content).unwrap();
    }

    fn counters(&self) -> Option<String> {
        fs::read_to_string(self.counter_path()).ok()
    }

    /// A login: the result and the messages the sink received.
    fn login(&self, domain: Option<&str>) -> (Result<BulletinReport, BulletinError>, Vec<Vec<u8>>) {
        let mut inbox = Vec::new();
        let mut sink = |m: &[u8]| {
            inbox.push(m.to_vec());
            Ok(())
        };
        let r = deliver_bulletins(
            &self.settings,
            domain,
            &self.folder_dir,
            NOW,
            HOST,
            &mut sink,
        );
        (r, inbox)
    }

    /// A login that must succeed: the report and the (scope, id) pairs delivered.
    fn ok_login(&self, domain: Option<&str>) -> (BulletinReport, Vec<(Scope, u32)>) {
        let (r, inbox) = self.login(domain);
        let report = r.unwrap();
        assert_eq!(inbox.len(), report.delivered.len());
        let ids = report.delivered.iter().map(|d| (d.scope, d.id)).collect();
        (report, ids)
    }
}

use Scope::{Domain as D, Global as G};

// §8: "Files bulletin_path/NNN.txt ... are delivered once to every user's INBOX, in id order";
// "A user without the file gets every existing bulletin."
#[test]
fn a_new_user_gets_every_global_bulletin_in_id_order() {
    let f = fixture();
    for name in ["10.txt", "2.txt", "1.txt", "003.txt"] {
        f.bulletin(name, format!("bulletin {name}\n").as_bytes());
    }
    let (report, ids) = f.ok_login(None);
    assert_eq!(ids, [(G, 1), (G, 2), (G, 3), (G, 10)]);
    assert_eq!(report.previous, None);
    assert_eq!(f.counters().unwrap(), "global 10\ndomain 0\n");
    assert!(report.counters_written);
    assert_eq!(
        report.delivered[2].path,
        f.settings.dir.join("003.txt"),
        "a leading zero keeps its file"
    );
}

// §8: "Files bulletin_path/DOMAIN/NNN.txt go only to that virtual domain's users."
#[test]
fn a_virtual_domain_user_gets_global_then_domain_bulletins() {
    let f = fixture();
    f.bulletin("1.txt", b"g1\n");
    f.bulletin("2.txt", b"g2\n");
    f.bulletin("computers.com/3.txt", b"d3\n");
    f.bulletin("computers.com/1.txt", b"d1\n");
    f.bulletin("other.com/7.txt", b"not ours\n");
    let (r, inbox) = f.login(Some("computers.com"));
    let report = r.unwrap();
    let ids: Vec<_> = report.delivered.iter().map(|d| (d.scope, d.id)).collect();
    assert_eq!(ids, [(G, 1), (G, 2), (D, 1), (D, 3)]);
    assert_eq!(f.counters().unwrap(), "global 2\ndomain 3\n");
    assert_eq!(
        report.domain_dir,
        Some(f.settings.dir.join("computers.com"))
    );
    let last = String::from_utf8(inbox[3].clone()).unwrap();
    assert!(last.contains("Message-ID: <bulletin.computers.com.3.900000000@mx.example.com>\n"));
    assert!(last.ends_with("Subject: Bulletin 3\n\nd3\n"));
}

// [decided] Main-domain users get only global bulletins, whatever directories are named
// after a host_domain; their domain counter is kept as read.
#[test]
fn a_main_domain_user_gets_only_global_bulletins() {
    let f = fixture();
    f.bulletin("1.txt", b"g1\n");
    f.bulletin("example.com/1.txt", b"host domain dir\n");
    f.set_counters("global 0\ndomain 5\n");
    let (report, ids) = f.ok_login(None);
    assert_eq!(ids, [(G, 1)]);
    assert_eq!(report.domain_dir, None);
    assert_eq!(f.counters().unwrap(), "global 1\ndomain 5\n");
}

#[test]
fn bulletin_domain_is_the_vdomain_domain_only() {
    let c = parse_str(
        "host_domain example.com\nvdomain cc @computers.com Computers.com /vd/cc\n",
        "c".into(),
        Program::Imapd,
        Platform::Unix,
    )
    .config;
    let v = c.resolve_login(b"sales@computers.com", None).unwrap();
    assert_eq!(bulletin_domain(&v), Some("Computers.com"));
    for main in [&b"bob"[..], b"bob@example.com"] {
        assert_eq!(bulletin_domain(&c.resolve_login(main, None).unwrap()), None);
    }
}

// [decided] The DOMAIN directory is matched ASCII case-insensitively, an exact match first.
#[test]
fn the_domain_directory_is_found_in_any_case_exact_first() {
    let f = fixture();
    f.bulletin("COMPUTERS.com/1.txt", b"upper\n");
    let (report, ids) = f.ok_login(Some("computers.com"));
    assert_eq!(ids, [(D, 1)]);
    assert_eq!(
        report.domain_dir,
        Some(f.settings.dir.join("COMPUTERS.com"))
    );

    let f = fixture();
    f.bulletin("COMPUTERS.com/1.txt", b"upper\n");
    f.bulletin("computers.com/1.txt", b"exact\n");
    let (r, inbox) = f.login(Some("computers.com"));
    assert_eq!(
        r.unwrap().domain_dir,
        Some(f.settings.dir.join("computers.com"))
    );
    assert!(inbox[0].ends_with(b"\nexact\n"));
}

// §8: counters hold the last id delivered; only larger ids are delivered.
#[test]
fn existing_counters_are_respected() {
    let f = fixture();
    for name in ["1.txt", "2.txt", "3.txt", "4.txt"] {
        f.bulletin(name, b"g\n");
    }
    for name in ["1.txt", "2.txt"] {
        f.bulletin(&format!("computers.com/{name}"), b"d\n");
    }
    f.set_counters("global 2\ndomain 1\n");
    let (report, ids) = f.ok_login(Some("computers.com"));
    assert_eq!(ids, [(G, 3), (G, 4), (D, 2)]);
    assert_eq!(
        report.previous,
        Some(Counters {
            global: 2,
            domain: 1
        })
    );
    assert_eq!(f.counters().unwrap(), "global 4\ndomain 2\n");
}

// §8: "a bulletin directory holding no NNN.txt sets that user's matching counter to 0, so ids
// can start again from 1."
#[test]
fn an_empty_directory_resets_its_counter_and_ids_start_again() {
    let f = fixture();
    fs::create_dir(f.settings.dir.join("computers.com")).unwrap();
    f.bulletin("computers.com/notes.md", b"not a bulletin\n");
    f.bulletin("README", b"not a bulletin\n");
    f.set_counters("global 5\ndomain 3\n");
    let (report, ids) = f.ok_login(Some("computers.com"));
    assert_eq!(ids, []);
    assert!(report.counters_written);
    assert_eq!(f.counters().unwrap(), "global 0\ndomain 0\n");

    f.bulletin("1.txt", b"again from one\n");
    f.bulletin("computers.com/1.txt", b"domain again\n");
    let (_, ids) = f.ok_login(Some("computers.com"));
    assert_eq!(ids, [(G, 1), (D, 1)]);
    assert_eq!(f.counters().unwrap(), "global 1\ndomain 1\n");
}

#[test]
fn only_the_empty_directory_is_reset() {
    let f = fixture();
    f.bulletin("1.txt", b"g\n");
    fs::create_dir(f.settings.dir.join("computers.com")).unwrap();
    f.set_counters("global 1\ndomain 3\n");
    let (_, ids) = f.ok_login(Some("computers.com"));
    assert_eq!(ids, []);
    assert_eq!(f.counters().unwrap(), "global 1\ndomain 0\n");
}

// [decided] A missing DOMAIN directory changes nothing; a missing bulletin_path is an error and
// changes nothing (no mass reset, no mass re-delivery).
#[test]
fn missing_directories_reset_nothing() {
    let f = fixture();
    f.bulletin("1.txt", b"g\n");
    f.set_counters("global 1\ndomain 3\n");
    let (report, ids) = f.ok_login(Some("computers.com"));
    assert_eq!(ids, []);
    assert!(!report.counters_written);
    assert_eq!(report.domain_dir, None);
    assert_eq!(f.counters().unwrap(), "global 1\ndomain 3\n");

    let mut f = f;
    f.settings.dir = f.base.join("no-such-dir");
    let (r, inbox) = f.login(Some("computers.com"));
    assert!(matches!(r, Err(BulletinError::Dir { ref path, .. }) if *path == f.settings.dir));
    assert!(inbox.is_empty());
    assert_eq!(f.counters().unwrap(), "global 1\ndomain 3\n");
}

// §8 "delivered once": a second login delivers nothing and writes nothing; a bulletin added
// after the first login is delivered at the second.
#[test]
fn only_once_across_logins_and_new_ones_later() {
    let f = fixture();
    f.bulletin("1.txt", b"first\n");
    let (_, ids) = f.ok_login(None);
    assert_eq!(ids, [(G, 1)]);
    let before = fs::symlink_metadata(f.counter_path()).unwrap();

    let (report, ids) = f.ok_login(None);
    assert_eq!(ids, []);
    assert!(!report.counters_written);
    let after = fs::symlink_metadata(f.counter_path()).unwrap();
    assert_eq!(
        crate::fsutil::file_id(&before),
        crate::fsutil::file_id(&after),
        "not rewritten"
    );

    f.bulletin("2.txt", b"second\n");
    let (r, inbox) = f.login(None);
    assert_eq!(r.unwrap().delivered.len(), 1);
    assert!(inbox[0].ends_with(b"Subject: Bulletin 2\n\nsecond\n"));
    assert_eq!(f.counters().unwrap(), "global 2\ndomain 0\n");
    let (_, ids) = f.ok_login(None);
    assert_eq!(ids, []);
}

#[test]
fn a_user_with_nothing_to_deliver_gets_no_files() {
    let f = fixture();
    let (report, ids) = f.ok_login(Some("computers.com"));
    assert_eq!(ids, []);
    assert!(!report.counters_written);
    assert!(
        !f.folder_dir.exists(),
        "no folder directory, lock or counters"
    );
}

// [decided] Counters are written after each delivery: the sink for bulletin k sees k-1 on
// disk; a crash before the write would deliver only bulletin k again.
#[test]
fn the_counter_is_written_after_each_delivery() {
    let f = fixture();
    for name in ["1.txt", "2.txt", "3.txt"] {
        f.bulletin(name, b"g\n");
    }
    let mut seen = Vec::new();
    let counter = f.counter_path();
    let mut sink = |_: &[u8]| {
        seen.push(fs::read_to_string(&counter).ok());
        Ok(())
    };
    deliver_bulletins(&f.settings, None, &f.folder_dir, NOW, HOST, &mut sink).unwrap();
    assert_eq!(
        seen,
        [
            None,
            Some("global 1\ndomain 0\n".to_owned()),
            Some("global 2\ndomain 0\n".to_owned())
        ]
    );
}

// [decided] A failed delivery stops the run before that bulletin's counter: it and the later
// ones come at the next login, and nothing is delivered twice.
#[test]
fn a_failed_delivery_is_retried_at_the_next_login() {
    let f = fixture();
    for name in ["1.txt", "2.txt", "3.txt"] {
        f.bulletin(name, format!("{name}\n").as_bytes());
    }
    let mut calls = 0;
    let mut sink = |_: &[u8]| {
        calls += 1;
        if calls == 2 {
            Err(io::Error::other("disk full"))
        } else {
            Ok(())
        }
    };
    let err =
        deliver_bulletins(&f.settings, None, &f.folder_dir, NOW, HOST, &mut sink).unwrap_err();
    assert!(matches!(err, BulletinError::Deliver { ref path, .. } if path.ends_with("2.txt")));
    assert_eq!(
        err.delivered().iter().map(|d| d.id).collect::<Vec<_>>(),
        [1]
    );
    assert_eq!(f.counters().unwrap(), "global 1\ndomain 0\n");
    let (_, ids) = f.ok_login(None);
    assert_eq!(ids, [(G, 2), (G, 3)]);
}

// §8 and the brief's cap: ids beyond u32, id 0, duplicate ids and oversized files are skipped
// with a reason; an oversized bulletin's id counts as handled.
#[test]
fn unusable_files_are_skipped_with_reasons() {
    let f = fixture();
    f.bulletin("0.txt", b"zero\n");
    f.bulletin("4294967296.txt", b"too big an id\n");
    f.bulletin("4294967295.txt", b"largest id\n");
    f.bulletin("01.txt", b"first of id 1\n");
    f.bulletin("1.txt", b"second of id 1\n");
    f.bulletin("2.txt", &vec![b'x'; MAX_BULLETIN_BYTES as usize + 1]);
    f.bulletin("3.txt", &vec![b'x'; MAX_BULLETIN_BYTES as usize]);
    fs::create_dir(f.settings.dir.join("5.txt")).unwrap();
    f.bulletin("6.txt.bak", b"ignored\n");
    f.bulletin("x6.txt", b"ignored\n");
    let (r, inbox) = f.login(None);
    let report = r.unwrap();
    let ids: Vec<_> = report.delivered.iter().map(|d| d.id).collect();
    assert_eq!(ids, [1, 3, u32::MAX]);
    assert!(inbox[0].ends_with(b"\nfirst of id 1\n"));
    let mut skipped: Vec<_> = report
        .skipped
        .iter()
        .map(|s| (s.path.file_name().unwrap().to_owned(), s.reason))
        .collect();
    skipped.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        skipped,
        [
            ("0.txt".to_owned(), SkipReason::IdZero),
            ("1.txt".to_owned(), SkipReason::DuplicateId),
            (
                "2.txt".to_owned(),
                SkipReason::TooLarge(MAX_BULLETIN_BYTES + 1)
            ),
            ("4294967296.txt".to_owned(), SkipReason::IdTooLarge),
        ]
    );
    assert_eq!(
        f.counters().unwrap(),
        format!("global {}\ndomain 0\n", u32::MAX)
    );
}

// [decided] A `.bulletin` that cannot be read as counters stops the run: nothing delivered,
// the file left as it was.
#[test_case("global 1\ndomain 2\nextra 3\n"; "unknown keyword")]
#[test_case("global 1\nglobal 2\n"; "repeated keyword")]
#[test_case("global\n"; "missing number")]
#[test_case("global 1 2\n"; "two numbers")]
#[test_case("global -1\n"; "negative")]
#[test_case("global 4294967296\n"; "beyond u32")]
#[test_case("global one\n"; "not a number")]
#[test_case("\u{feff}global 1\n"; "byte order mark")]
fn a_corrupt_counter_file_delivers_nothing(content: &str) {
    let f = fixture();
    f.bulletin("1.txt", b"g\n");
    f.set_counters(content);
    let (r, inbox) = f.login(None);
    assert!(matches!(
        r,
        Err(BulletinError::Counters {
            problem: CounterFileProblem::BadLine { .. },
            ..
        })
    ));
    assert!(inbox.is_empty());
    assert_eq!(f.counters().unwrap(), content);
}

// [decided] Reading tolerates CRLF, blank lines, blanks, order and case; a missing line is 0.
#[test_case("global 3\ndomain 4\n", 3, 4; "as written")]
#[test_case("domain 4\r\nglobal 3\r\n", 3, 4; "CRLF, other order")]
#[test_case("\n  GLOBAL\t3  \n\nDomain 4", 3, 4; "blanks, case, no final newline")]
#[test_case("global 3\n", 3, 0; "no domain line")]
#[test_case("", 0, 0; "empty")]
#[test_case("global 4294967295\ndomain 007\n", u32::MAX, 7; "limits")]
fn counter_files_that_are_read(content: &str, global: u32, domain: u32) {
    assert_eq!(
        Counters::parse(content.as_bytes()),
        Ok(Counters { global, domain })
    );
}

#[test]
fn a_symlinked_counter_file_is_not_followed() {
    let f = fixture();
    f.bulletin("1.txt", b"g\n");
    fs::create_dir(&f.folder_dir).unwrap();
    let target = f.base.join("elsewhere");
    fs::write(&target, "global 0\ndomain 0\n").unwrap();
    symlink(&target, f.counter_path()).unwrap();
    let (r, inbox) = f.login(None);
    assert!(matches!(
        r,
        Err(BulletinError::Counters {
            problem: CounterFileProblem::Symlink,
            ..
        })
    ));
    assert!(inbox.is_empty());
    assert_eq!(fs::read_to_string(&target).unwrap(), "global 0\ndomain 0\n");
}

fn info(id: u32) -> MessageInfo<'static> {
    MessageInfo {
        id,
        domain: None,
        written: WRITTEN,
        from: "Email System Administrator",
        now: NOW,
        host: HOST,
    }
}

// §8: a bulletin "that starts with RFC 5322 headers keeps them (customised headers) and gains
// only missing From: (bulletin_from), Date: and Message-ID:; a file without headers gets those
// plus Subject: Bulletin NNN". Detection and order of added headers [decided].
#[test_case(
    b"The server moves on Sunday.\n",
    "From: F\nDate: D\nMessage-ID: M\nSubject: Bulletin 7\n\nThe server moves on Sunday.\n";
    "plain text")]
#[test_case(
    b"Line one\r\nLine two\r\n",
    "From: F\r\nDate: D\r\nMessage-ID: M\r\nSubject: Bulletin 7\r\n\r\nLine one\r\nLine two\r\n";
    "plain text CRLF")]
#[test_case(
    b"",
    "From: F\nDate: D\nMessage-ID: M\nSubject: Bulletin 7\n\n";
    "empty file")]
#[test_case(
    b"\nSubject: not a header\n",
    "From: F\nDate: D\nMessage-ID: M\nSubject: Bulletin 7\n\n\nSubject: not a header\n";
    "leading empty line forces plain text")]
#[test_case(
    b"Note: the server moves\nsoon, please log off.\n",
    "From: F\nDate: D\nMessage-ID: M\nSubject: Bulletin 7\n\nNote: the server moves\nsoon, please log off.\n";
    "header-like line followed by text")]
#[test_case(
    b"Bad Name: x\n\nbody\n",
    "From: F\nDate: D\nMessage-ID: M\nSubject: Bulletin 7\n\nBad Name: x\n\nbody\n";
    "blank in field name")]
#[test_case(
    b"From bob Sat Dec 26 09:37:48 1998\nSubject: x\n\nbody\n",
    "From: F\nDate: D\nMessage-ID: M\nSubject: Bulletin 7\n\nFrom bob Sat Dec 26 09:37:48 1998\nSubject: x\n\nbody\n";
    "mbox From line")]
#[test_case(
    b" Subject: x\n\nbody\n",
    "From: F\nDate: D\nMessage-ID: M\nSubject: Bulletin 7\n\n Subject: x\n\nbody\n";
    "continuation first")]
#[test_case(
    b"Subject: Maintenance\nX-Priority: 1\n\nDown at noon.\n",
    "From: F\nDate: D\nMessage-ID: M\nSubject: Maintenance\nX-Priority: 1\n\nDown at noon.\n";
    "custom headers keep their subject")]
#[test_case(
    b"Subject: Maintenance\r\n\r\nDown.\r\n",
    "From: F\r\nDate: D\r\nMessage-ID: M\r\nSubject: Maintenance\r\n\r\nDown.\r\n";
    "custom headers CRLF")]
#[test_case(
    b"from: Ops <ops@example.com>\nMESSAGE-ID: <own@example.com>\nSubject: x\n\nb\n",
    "Date: D\nfrom: Ops <ops@example.com>\nMESSAGE-ID: <own@example.com>\nSubject: x\n\nb\n";
    "present headers in any case are not added")]
#[test_case(
    b"From: a@b.c\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\n\nb\n",
    "From: a@b.c\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\n\nb\n";
    "all present, nothing added")]
#[test_case(
    b"Subject: Long\n\tcontinued\nX-A:no-space\n\nb\n",
    "From: F\nDate: D\nMessage-ID: M\nSubject: Long\n\tcontinued\nX-A:no-space\n\nb\n";
    "continuation lines and no space after the colon")]
#[test_case(
    b"Subject: headers only\n",
    "From: F\nDate: D\nMessage-ID: M\nSubject: headers only\n";
    "headers without a body")]
fn headers_kept_and_added(content: &[u8], expected: &str) {
    let expected = expected
        .replace("From: F", &format!("From: {FROM}"))
        .replace("Date: D", &format!("Date: {DATE}"))
        .replace(
            "Message-ID: M",
            "Message-ID: <bulletin.7.900000000@mx.example.com>",
        );
    let got = compose(content, &info(7));
    assert_eq!(
        String::from_utf8(got).unwrap(),
        expected,
        "input {:?}",
        String::from_utf8_lossy(content)
    );
}

// The whole path with a fixed clock: file on disk, counters, exact message bytes.
#[test]
fn delivered_messages_are_exact() {
    let f = fixture();
    f.bulletin("1.txt", b"Welcome to the new server.\n");
    f.bulletin(
        "2.txt",
        b"Subject: Maintenance\nX-Tag: ops\n\nDown at noon.\n",
    );
    f.bulletin("computers.com/1.txt", b"For computers.com only.\n");
    let (r, inbox) = f.login(Some("computers.com"));
    r.unwrap();
    assert_eq!(
        inbox,
        [
            format!(
                "From: {FROM}\nDate: {DATE}\nMessage-ID: <bulletin.1.900000000@mx.example.com>\n\
                 Subject: Bulletin 1\n\nWelcome to the new server.\n"
            )
            .into_bytes(),
            format!(
                "From: {FROM}\nDate: {DATE}\nMessage-ID: <bulletin.2.900000000@mx.example.com>\n\
                 Subject: Maintenance\nX-Tag: ops\n\nDown at noon.\n"
            )
            .into_bytes(),
            format!(
                "From: {FROM}\nDate: {DATE}\n\
                 Message-ID: <bulletin.computers.com.1.900000000@mx.example.com>\n\
                 Subject: Bulletin 1\n\nFor computers.com only.\n"
            )
            .into_bytes(),
        ]
    );
}

// [decided] bulletin_from: a full mailbox or bare address as written, else a display name with
// postmaster@HOST.
#[test_case("Email System Administrator", "\"Email System Administrator\" <postmaster@mx>"; "default text")]
#[test_case("  Ops Team  ", "\"Ops Team\" <postmaster@mx>"; "trimmed")]
#[test_case("Ops \"Night\" \\ Team", "\"Ops \\\"Night\\\" \\\\ Team\" <postmaster@mx>"; "quotes and backslash escaped")]
#[test_case("Ops Team <ops@example.com>", "Ops Team <ops@example.com>"; "full mailbox")]
#[test_case("<ops@example.com>", "<ops@example.com>"; "angle address")]
#[test_case("ops@example.com", "ops@example.com"; "bare address")]
#[test_case("Ops at example.com (@home)", "\"Ops at example.com (@home)\" <postmaster@mx>"; "at sign in text")]
#[test_case("", "<postmaster@mx>"; "empty")]
#[test_case("Ops\tTeam\u{7}", "\"OpsTeam\" <postmaster@mx>"; "control characters dropped")]
#[test_case("Équipe Système", "=?UTF-8?B?w4lxdWlwZSBTeXN0w6htZQ==?= <postmaster@mx>"; "non-ASCII encoded")]
fn from_header_forms(bulletin_from: &str, expected: &str) {
    assert_eq!(from_header(bulletin_from, "mx"), expected);
}

#[test]
fn long_non_ascii_names_are_split_into_short_encoded_words() {
    let name = "é".repeat(40); // 80 bytes
    let value = from_header(&name, "mx");
    let words: Vec<&str> = value.split(' ').collect();
    assert_eq!(words.len(), 3, "{value}");
    assert_eq!(words[2], "<postmaster@mx>");
    for word in &words[..2] {
        assert!(word.starts_with("=?UTF-8?B?") && word.ends_with("?="));
        assert!(word.len() <= 75, "RFC 2047 §2 limit: {word}");
    }
    assert_eq!(
        words[0],
        format!("=?UTF-8?B?{}?=", base64("é".repeat(22).as_bytes()))
    );
}

#[test_case(b"", ""; "empty")]
#[test_case(b"f", "Zg=="; "one")]
#[test_case(b"fo", "Zm8="; "two")]
#[test_case(b"foo", "Zm9v"; "three")]
#[test_case(b"foobar", "Zm9vYmFy"; "six")]
#[test_case(b"\xff\xfe\x00", "//4A"; "high bytes")]
fn base64_rfc4648_vectors(bytes: &[u8], expected: &str) {
    assert_eq!(base64(bytes), expected);
}

#[test_case(3, None, "mx.example.com", "<bulletin.3.900000000@mx.example.com>"; "global")]
#[test_case(3, Some("computers.com"), "mx", "<bulletin.computers.com.3.900000000@mx>"; "domain")]
#[test_case(3, Some("a b/c"), "bad host!", "<bulletin.a-b-c.3.900000000@bad-host->"; "sanitised")]
#[test_case(3, None, "", "<bulletin.3.900000000@localhost>"; "no host name")]
fn message_ids(id: u32, domain: Option<&str>, host: &str, expected: &str) {
    assert_eq!(message_id(id, domain, WRITTEN, host), expected);
}

// §8 "NNN a decimal id" and the brief's cap at u32::MAX [decided].
#[test_case("1.txt", BulletinName::Id(1); "one")]
#[test_case("42.TXT", BulletinName::Id(42); "upper-case extension")]
#[test_case("0042.txt", BulletinName::Id(42); "leading zeros")]
#[test_case("4294967295.txt", BulletinName::Id(u32::MAX); "largest")]
#[test_case("4294967296.txt", BulletinName::Unusable(SkipReason::IdTooLarge); "beyond u32")]
#[test_case("99999999999999999999999.txt", BulletinName::Unusable(SkipReason::IdTooLarge); "beyond u64")]
#[test_case("0.txt", BulletinName::Unusable(SkipReason::IdZero); "zero")]
#[test_case("000.txt", BulletinName::Unusable(SkipReason::IdZero); "zeros")]
#[test_case(".txt", BulletinName::Other; "no digits")]
#[test_case("1.text", BulletinName::Other; "other extension")]
#[test_case("1.txt.orig", BulletinName::Other; "backup")]
#[test_case("1a.txt", BulletinName::Other; "letter")]
#[test_case("-1.txt", BulletinName::Other; "sign")]
#[test_case(" 1.txt", BulletinName::Other; "blank")]
#[test_case("١.txt", BulletinName::Other; "non-ASCII digit")]
#[test_case("txt", BulletinName::Other; "short")]
fn bulletin_names(name: &str, expected: BulletinName) {
    assert_eq!(bulletin_name(name), expected);
}

// [decided] Concurrent logins of one user: the lock and the re-read under it deliver each
// bulletin once in total.
#[test]
fn concurrent_logins_deliver_each_bulletin_once() {
    let f = fixture();
    for name in ["1.txt", "2.txt", "3.txt"] {
        f.bulletin(name, b"g\n");
    }
    let barrier = Arc::new(Barrier::new(2));
    let delivered: Vec<Vec<u32>> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..2)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                let f = &f;
                s.spawn(move || {
                    let mut sink = |_: &[u8]| {
                        std::thread::sleep(Duration::from_millis(30));
                        Ok(())
                    };
                    barrier.wait();
                    let report =
                        deliver_bulletins(&f.settings, None, &f.folder_dir, NOW, HOST, &mut sink)
                            .unwrap();
                    report.delivered.iter().map(|d| d.id).collect()
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut all: Vec<u32> = delivered.concat();
    all.sort_unstable();
    assert_eq!(all, [1, 2, 3], "{delivered:?}");
    assert_eq!(f.counters().unwrap(), "global 3\ndomain 0\n");
}

// Into a real drop file through crate::deliver, envelope sender MAILER-DAEMON [decided].
#[test]
fn deliver_to_inbox_appends_to_the_drop_file() {
    let f = fixture();
    f.bulletin("1.txt", b"Hello all.\nFrom now on, read this.\n");
    f.bulletin("computers.com/2.txt", b"Subject: CC news\n\nHi.\n");
    let text = format!(
        "drop_path {base}/spool\nbulletin_path {base}/bulletins\nbulletin_from Ops <ops@example.com>\n\
         vdomain cc @computers.com computers.com {base}/vd\n",
        base = f.base
    );
    fs::create_dir(f.base.join("vd")).unwrap();
    let config = parse_str(&text, "c".into(), Program::Imapd, Platform::Unix).config;
    let login = config.resolve_login(b"sales@computers.com", None).unwrap();
    let paths = crate::layout::mail_paths(&config, &login, None).unwrap();
    let report = deliver_to_inbox(
        &config,
        &login,
        &paths,
        NOW,
        HOST,
        &DeliverOptions::default(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(report.delivered.len(), 2);
    assert_eq!(
        fs::read_to_string(paths.drop_file.as_path()).unwrap(),
        format!(
            "From MAILER-DAEMON Sat Dec 26 09:37:48 1998\n\
             From: Ops <ops@example.com>\nDate: {DATE}\n\
             Message-ID: <bulletin.1.900000000@mx.example.com>\nSubject: Bulletin 1\n\n\
             Hello all.\n>From now on, read this.\n\n\
             From MAILER-DAEMON Sat Dec 26 09:37:48 1998\n\
             From: Ops <ops@example.com>\nDate: {DATE}\n\
             Message-ID: <bulletin.computers.com.2.900000000@mx.example.com>\n\
             Subject: CC news\n\nHi.\n\n"
        )
    );
    assert_eq!(
        fs::read_to_string(paths.folder_dir.join(COUNTER_FILE_NAME)).unwrap(),
        "global 1\ndomain 2\n"
    );
    // Again: nothing more.
    let again = deliver_to_inbox(
        &config,
        &login,
        &paths,
        NOW,
        HOST,
        &DeliverOptions::default(),
    )
    .unwrap()
    .unwrap();
    assert!(again.delivered.is_empty());

    let unset = parse_str("drop_path /x\n", "c".into(), Program::Imapd, Platform::Unix).config;
    let login = unset.resolve_login(b"bob", None).unwrap();
    assert!(
        deliver_to_inbox(
            &unset,
            &login,
            &paths,
            NOW,
            HOST,
            &DeliverOptions::default()
        )
        .unwrap()
        .is_none()
    );
}

#[test]
fn the_date_header_uses_the_callers_zone() {
    let mut i = info(1);
    i.now = InternalDate {
        unix: NOW.unix,
        offset_minutes: -5 * 60,
    };
    let out = String::from_utf8(compose(b"x\n", &i)).unwrap();
    assert!(
        out.contains("\nDate: Sat, 26 Dec 1998 04:37:48 -0500\n"),
        "{out}"
    );
}

#[test]
fn reports_and_errors_name_paths_for_the_log() {
    let f = fixture();
    f.set_counters("nonsense\n");
    let err = f.login(None).0.unwrap_err();
    let text = err.to_string();
    assert!(text.contains(f.counter_path().as_str()), "{text}");
    assert!(text.contains("line 1"), "{text}");
    assert!(err.delivered().is_empty());
}
