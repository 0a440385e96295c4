//! Golden transcripts: the real `imapd -i CONF` binary on pipes, fed the client lines of each
//! file in `tests/transcripts/` and compared, line by line and exactly, with the server lines.
//! The runner is `common/transcript.rs`, shared with imapdsvc's tests (which run the same files
//! over TCP).
//!
//! # The format
//!
//! One directive per line; blank lines and lines starting with `#` are ignored.
//!
//! * `conf: SETTING VALUE` — an extra dmail.conf line (only before the first `C:`/`S:`). The base
//!   configuration (see `common/mod.rs`) uses the fake external authenticator, in which user
//!   `alice` has password `pw` and her mail lives in the temporary spool, with
//!   `imapd_login_delay 0` and `log_level debug`. `{fake_authent}` in the line is the fake
//!   authenticator's path (e.g. `conf: imapd_authent_process {fake_authent} --mode dead`).
//! * `mail: NAME` — appends message `transcripts/mail/NAME` (LF line ends) to alice's drop file
//!   with the fixed `From ` line `From test2@example.com Wed Aug 16 14:11:15 2000`, before the
//!   server starts (only before the first `C:`/`S:`). `mail: manual` is the manual's test
//!   message. The server runs with `TZ=UTC`, so INTERNALDATEs are fixed.
//! * `deliver: NAME` — delivers `transcripts/mail/NAME` to alice's INBOX now, through
//!   dmail-store's `deliver` example (as DSMTP would while the session runs).
//! * `C: TEXT` — sends TEXT and CRLF. `C- TEXT` sends TEXT alone (no CRLF). In TEXT, `\r`,
//!   `\n`, `\0`, `\\` and `\xNN` stand for CR, LF, NUL, a backslash and any byte; any other
//!   backslash is itself (`\Seen`).
//! * `S: TEXT` — the next line the server sends must be TEXT followed by CRLF. TEXT may hold
//!   these patterns for what varies between runs; any other `{...}` (a literal's `{317}`) is
//!   plain text:
//!   - `{*}` any text (possibly empty), `{n}` one or more digits,
//!   - `{uidvalidity}` one or more digits (the mailbox's UIDVALIDITY, from the clock),
//!   - `{date}` an IMAP date-time without quotes (`27-Nov-2026 14:11:15 +0000`),
//!   - `{version}` this package's version.
//! * `wait: SECONDS` — sleeps (decimal seconds allowed).
//! * `exit: CODE` — the exit code the server must end with (default 0).
//!
//! After the last directive the runner closes the server's stdin; the server must then write
//! nothing more, exit with the expected code, have written nothing to stderr, and have logged
//! no panic. Each `S:` line waits at most 10 seconds.
//!
//! Set `TRANSCRIPT_RECORD=1` to print what the server actually says to each `C:` line instead
//! of comparing (`cargo test -p imapd-bin --test transcripts -- --nocapture NAME`): a start for
//! a new transcript, to be read critically before it is kept.

// Helpers outside #[test] functions panic on failure, as a test should.
#![allow(clippy::expect_used)]

mod common;

use common::transcript::{Target, dir, matches, pieces, unescape};
use test_case::test_case;

fn run(name: &str) {
    common::transcript::run(name, &mut Target::imapd());
}

#[test_case("manual" ; "the manual's checking it works")]
#[test_case("greeting" ; "greeting capability noop logout")]
#[test_case("login" ; "login ok fail and wrong state")]
#[test_case("authenticate" ; "authenticate plain with a continuation")]
#[test_case("sasl_ir" ; "authenticate plain with sasl ir")]
#[test_case("authenticate_login" ; "authenticate login")]
#[test_case("login_failures" ; "too many failed logins")]
#[test_case("before_login" ; "limits and bad commands before login")]
#[test_case("mailboxes" ; "mailbox commands")]
#[test_case("select" ; "select and examine")]
#[test_case("fetch" ; "fetch and store")]
#[test_case("copy_move" ; "copy move expunge")]
#[test_case("append" ; "append")]
#[test_case("misc" ; "namespace id enable quota idle")]
#[test_case("limits" ; "limits after login")]
#[test_case("unavailable" ; "authenticator unavailable")]
#[test_case("unserviceable" ; "use_maildir cannot be served")]
#[test_case("autologout" ; "autologout")]
fn transcript(name: &str) {
    run(name);
}

/// Every transcript file is run by a test above.
#[test]
fn every_transcript_is_listed() {
    let source = include_str!("transcripts.rs");
    for entry in std::fs::read_dir(dir()).expect("read transcripts dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "txt") {
            let stem = path.file_stem().and_then(|s| s.to_str()).expect("name");
            assert!(
                source.contains(&format!("#[test_case(\"{stem}\"")),
                "{stem}.txt is not listed in transcripts.rs"
            );
        }
    }
}

#[test]
fn patterns() {
    assert!(matches(
        &pieces("* OK [UIDVALIDITY {uidvalidity}] x"),
        b"* OK [UIDVALIDITY 17] x"
    ));
    assert!(!matches(
        &pieces("* OK [UIDVALIDITY {uidvalidity}] x"),
        b"* OK [UIDVALIDITY ] x"
    ));
    assert!(matches(&pieces("a {*} b"), b"a  b"));
    assert!(matches(&pieces("{317}"), b"{317}"));
    assert!(matches(
        &pieces("\"{date}\""),
        b"\"16-Aug-2000 14:11:15 +0000\""
    ));
    assert!(matches(
        &pieces("\"{date}\""),
        b"\" 6-Aug-2000 14:11:15 -1200\""
    ));
    assert!(!matches(&pieces("\"{date}\""), b"\"16-Aug-2000\""));
    assert_eq!(unescape("a\\r\\n\\0\\x7f\\\\"), b"a\r\n\0\x7f\\");
}
