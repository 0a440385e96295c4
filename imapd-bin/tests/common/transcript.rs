//! The golden-transcript runner (the format is described in imapd-bin's `tests/transcripts.rs`),
//! generic over how a session is opened: `imapd -i CONF` on pipes, or a TCP connection to a
//! running imapdsvc. Both packages' tests include this one copy.
//!
//! It only drives and compares; it must never change a transcript's meaning between targets
//! (only the exit code, which a TCP session has not, is skipped).

use std::path::PathBuf;
use std::time::Duration;

use super::{MANUAL_MESSAGE, Server, Spool, assert_no_panic};

/// How a transcript's session is opened, and what is checked after it.
pub(crate) struct Target<'a> {
    /// Opens a session on a spool whose dmail.conf holds the transcript's settings.
    pub(crate) open: Box<dyn FnMut(&Spool) -> Server + 'a>,
    /// Whether the session is a process whose exit code the transcript states.
    pub(crate) exit_codes: bool,
    /// The log file (without `.log`) checked for panics.
    pub(crate) log_name: &'static str,
}

impl Target<'_> {
    /// `imapd -i CONF` on pipes.
    pub(crate) fn imapd() -> Target<'static> {
        Target {
            open: Box::new(Spool::spawn),
            exit_codes: true,
            log_name: "imapd",
        }
    }
}

/// How long one expected line may take.
const LINE_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../imapd-bin/tests/transcripts")
}

fn mail(name: &str) -> String {
    if name == "manual" {
        return MANUAL_MESSAGE.to_owned();
    }
    std::fs::read_to_string(dir().join("mail").join(name)).expect("read mail fixture")
}

/// `C:` text with its escapes decoded.
pub(crate) fn unescape(text: &str) -> Vec<u8> {
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
pub(crate) enum Piece {
    Text(Vec<u8>),
    Any,
    Digits,
    Date,
}

pub(crate) fn pieces(pattern: &str) -> Vec<Piece> {
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
pub(crate) fn matches(pieces: &[Piece], line: &[u8]) -> bool {
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

/// Runs transcript `name` (`tests/transcripts/NAME.txt`) against `target`.
pub(crate) fn run(name: &str, target: &mut Target<'_>) {
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
            let fake = super::example("dmail-auth", "fake_authent");
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
    let mut server = (target.open)(&spool);
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
    if target.exit_codes {
        assert_eq!(code, expected_exit, "{name}: exit code");
    }
    assert_no_panic(&spool.log_named(target.log_name));
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
