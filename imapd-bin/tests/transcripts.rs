//! Golden transcripts: the real `imapd -i CONF` binary on pipes, fed the client lines of each
//! file in `tests/transcripts/` and compared, line by line and exactly, with the server lines.
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

use std::path::PathBuf;
use std::time::Duration;

use common::{MANUAL_MESSAGE, Server, Spool, assert_no_panic};
use test_case::test_case;

/// How long one expected line may take.
const LINE_TIMEOUT: Duration = Duration::from_secs(10);

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts")
}

fn mail(name: &str) -> String {
    if name == "manual" {
        return MANUAL_MESSAGE.to_owned();
    }
    std::fs::read_to_string(dir().join("mail").join(name)).expect("read mail fixture")
}

/// `C:` text with its escapes decoded.
fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            match bytes[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b'0' => out.push(0),
                b'\\' => out.push(b'\\'),
                b'x' if i + 3 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).expect("hex");
                    out.push(u8::from_str_radix(hex, 16).expect("\\xNN"));
                    i += 2;
                }
                // IMAP's own backslashes (`\Seen`) stand for themselves.
                other => out.extend_from_slice(&[b'\\', other]),
            }
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// A piece of an `S:` line.
#[derive(Debug)]
enum Piece {
    Text(Vec<u8>),
    Any,
    Digits,
    Date,
}

fn pieces(pattern: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut text = Vec::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        let named = [
            ("{*}", Some(Piece::Any)),
            ("{n}", Some(Piece::Digits)),
            ("{uidvalidity}", Some(Piece::Digits)),
            ("{date}", Some(Piece::Date)),
            ("{version}", None),
        ];
        if let Some((token, piece)) = named.into_iter().find(|(t, _)| rest.starts_with(t)) {
            match piece {
                Some(piece) => {
                    if !text.is_empty() {
                        out.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    out.push(piece);
                }
                None => text.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes()),
            }
            rest = &rest[token.len()..];
        } else {
            let c = rest.chars().next().expect("non-empty");
            let mut buf = [0u8; 4];
            text.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            rest = &rest[c.len_utf8()..];
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    out
}

/// Whether `line` (without CRLF) matches `pieces`.
fn matches(pieces: &[Piece], line: &[u8]) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return line.is_empty();
    };
    match first {
        Piece::Text(t) => line.starts_with(t) && matches(rest, &line[t.len()..]),
        Piece::Any => (0..=line.len()).any(|i| matches(rest, &line[i..])),
        Piece::Digits => {
            let n = line.iter().take_while(|b| b.is_ascii_digit()).count();
            (1..=n).any(|i| matches(rest, &line[i..]))
        }
        Piece::Date => {
            // DD-Mon-YYYY HH:MM:SS +ZZZZ, the day possibly space-padded.
            const SHAPE: &[u8] = b"dd-Aaa-dddd dd:dd:dd sdddd";
            line.len() >= SHAPE.len()
                && SHAPE.iter().zip(line).all(|(s, b)| match s {
                    b'd' => b.is_ascii_digit() || *b == b' ',
                    b'A' => b.is_ascii_uppercase(),
                    b'a' => b.is_ascii_lowercase(),
                    b's' => *b == b'+' || *b == b'-',
                    other => other == b,
                })
                && matches(rest, &line[SHAPE.len()..])
        }
    }
}

fn shown(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).escape_debug().to_string()
}

/// Runs transcript `name` (`tests/transcripts/NAME.txt`).
fn run(name: &str) {
    let path = dir().join(format!("{name}.txt"));
    let script = std::fs::read_to_string(&path).expect("read transcript");
    let record = std::env::var_os("TRANSCRIPT_RECORD").is_some();

    let mut conf = String::new();
    let mut fixtures = Vec::new();
    let mut body = Vec::new();
    for (i, line) in script.lines().enumerate() {
        let number = i + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(setting) = line.strip_prefix("conf: ") {
            assert!(
                body.is_empty(),
                "{name}:{number}: conf: after the session began"
            );
            let fake = common::example("dmail-auth", "fake_authent");
            conf.push_str(&setting.replace("{fake_authent}", &fake.to_string_lossy()));
            conf.push('\n');
        } else if let Some(m) = line.strip_prefix("mail: ") {
            assert!(
                body.is_empty(),
                "{name}:{number}: mail: after the session began"
            );
            fixtures.push(mail(m.trim()));
        } else {
            body.push((number, line));
        }
    }

    let spool = Spool::new(&conf);
    for m in &fixtures {
        spool.write_mail("alice", m);
    }
    let mut server = spool.spawn();
    let mut expected_exit = Some(0);
    for (number, line) in body {
        let at = format!("{name}.txt:{number}");
        if let Some(text) = line.strip_prefix("C: ") {
            let mut bytes = unescape(text);
            bytes.extend_from_slice(b"\r\n");
            send(&mut server, &bytes, record);
        } else if let Some(text) = line.strip_prefix("C- ") {
            send(&mut server, &unescape(text), record);
        } else if let Some(text) = line.strip_prefix("S: ") {
            if record {
                continue;
            }
            let got = server.line(LINE_TIMEOUT).unwrap_or_default();
            let ok = got
                .strip_suffix(b"\r\n")
                .is_some_and(|l| matches(&pieces(text), l));
            if !ok {
                let more = server.drain(Duration::from_millis(500));
                panic!(
                    "{at}: expected\n  S: {text}\ngot\n  S: {}\nthen:\n{}",
                    shown(&got),
                    shown(&more)
                );
            }
        } else if let Some(m) = line.strip_prefix("deliver: ") {
            spool.deliver("alice", &mail(m.trim()));
            if record {
                print_lines(&server.drain(Duration::from_millis(300)));
            }
        } else if let Some(secs) = line.strip_prefix("wait: ") {
            let secs: f64 = secs.trim().parse().expect("wait: SECONDS");
            std::thread::sleep(Duration::from_secs_f64(secs));
            if record {
                print_lines(&server.drain(Duration::from_millis(300)));
            }
        } else if let Some(code) = line.strip_prefix("exit: ") {
            expected_exit = Some(code.trim().parse().expect("exit: CODE"));
        } else {
            panic!("{at}: unknown directive {line:?}");
        }
    }
    server.close_input();
    let rest = server.rest(LINE_TIMEOUT);
    if record {
        print_lines(&rest);
    }
    let (code, stderr) = server.finish(LINE_TIMEOUT);
    if !record {
        assert!(
            rest.is_empty(),
            "{name}: the server said more than the transcript expects:\n{}",
            shown(&rest)
        );
    }
    assert!(stderr.is_empty(), "{name}: stderr: {}", shown(&stderr));
    assert_eq!(code, expected_exit, "{name}: exit code");
    assert_no_panic(&spool.log());
}

fn send(server: &mut Server, bytes: &[u8], record: bool) {
    // A server that has closed the connection no longer reads: the lines that follow in the
    // transcript say so.
    let _ = server.send(bytes);
    if record {
        let text = String::from_utf8_lossy(bytes);
        for l in text.split_inclusive("\r\n") {
            println!("C: {}", l.trim_end_matches("\r\n"));
        }
        print_lines(&server.drain(Duration::from_millis(400)));
    }
}

fn print_lines(bytes: &[u8]) {
    for l in bytes.split_inclusive(|&b| b == b'\n') {
        let l = l.strip_suffix(b"\r\n").unwrap_or(l);
        println!("S: {}", String::from_utf8_lossy(l));
    }
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
