//! Hostile input against the built `imapd`: literals over the limits, a 10 MB line, pipelined
//! garbage, literals and continuations where they do not belong, invalid mailbox names, CR,
//! LF and NUL inside strings. Whatever comes in, the server answers (BAD, NO or BYE), its
//! memory stays bounded, it never panics and it never writes to stderr.

// Helpers outside #[test] functions panic on failure, as a test should.
#![allow(clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Server, Spool, assert_no_panic};

const WAIT: Duration = Duration::from_secs(10);

/// A started server whose greeting has been read.
fn start(spool: &Spool) -> Server {
    let mut server = spool.spawn();
    let greeting = server.line(WAIT).expect("greeting");
    assert!(greeting.starts_with(b"* OK [CAPABILITY "), "{greeting:?}");
    server
}

/// Sends `bytes` and returns every line up to and including the first that starts with
/// `tag ` (or everything until the server closes).
fn exchange(server: &mut Server, bytes: &[u8], tag: &str) -> Vec<String> {
    server.send(bytes);
    server.until(tag, WAIT)
}

fn login(server: &mut Server) {
    let lines = exchange(server, b"L LOGIN alice pw\r\n", "L");
    assert!(
        lines.last().is_some_and(|l| l.starts_with("L OK ")),
        "{lines:?}"
    );
}

/// Ends the session and checks the process ended cleanly: exit 0, no stderr, no panic.
fn finish(mut server: Server, spool: &Spool) {
    server.send(b"Z LOGOUT\r\n");
    server.close_input();
    let _ = server.rest(WAIT);
    server.assert_clean_end(spool, WAIT);
}

#[test]
fn a_synchronizing_literal_over_the_limit_gets_bad_and_no_continuation() {
    let spool = Spool::new("");
    let mut server = start(&spool);
    let lines = exchange(&mut server, b"a LOGIN alice {100000}\r\n", "a");
    assert_eq!(
        lines,
        ["a BAD Literal of 100000 bytes too large (limit 8192 bytes)\r\n"]
    );
    // The refused literal's bytes were never invited, so the next line is a command.
    assert_eq!(
        exchange(&mut server, b"b NOOP\r\n", "b"),
        ["b OK NOOP completed\r\n"]
    );
    login(&mut server);
    let lines = exchange(&mut server, b"c APPEND INBOX {99999999999}\r\n", "c");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("c BAD "), "{lines:?}");
    finish(server, &spool);
}

#[test]
fn a_non_synchronizing_literal_over_the_limit_ends_the_connection() {
    let spool = Spool::new("");
    let mut server = start(&spool);
    server.send(b"a LOGIN alice {9000+}\r\n");
    let rest = String::from_utf8_lossy(&server.rest(WAIT)).into_owned();
    assert_eq!(
        rest,
        "* BYE Non-synchronizing literal of 9000 bytes too large (limit 8192 bytes)\r\n"
    );
    let (code, stderr) = server.finish(WAIT);
    assert!(stderr.is_empty());
    assert_eq!(code, Some(0));
    assert_no_panic(&spool.log());
}

#[test]
fn a_10_mb_line_gets_bad_and_memory_stays_bounded() {
    let spool = Spool::new("");
    let mut server = start(&spool);
    let mut line = b"a NOOP ".to_vec();
    line.resize(10 * 1024 * 1024, b'x');
    line.extend_from_slice(b"\r\n");
    let lines = exchange(&mut server, &line, "a");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("a BAD "), "{lines:?}");
    login(&mut server);
    // After login too (imapd_max_line 65536).
    line[0] = b'b';
    let lines = exchange(&mut server, &line, "b");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("b BAD "), "{lines:?}");
    assert_eq!(
        exchange(&mut server, b"c NOOP\r\n", "c"),
        ["c OK NOOP completed\r\n"]
    );
    let peak = server.peak_rss_kbytes().expect("VmHWM");
    assert!(peak < 64 * 1024, "peak resident set {peak} kB");
    finish(server, &spool);
}

#[test]
fn pipelined_garbage_is_answered_and_ends_in_bye() {
    let spool = Spool::new("");
    let mut server = start(&spool);
    // A fixed pseudo-random stream: every byte value, lines of every length.
    let mut garbage = Vec::new();
    let mut x: u32 = 0x1234_5678;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let b = (x & 0xff) as u8;
        garbage.push(b);
        if x.is_multiple_of(37) {
            garbage.extend_from_slice(b"\r\n");
        }
    }
    server.send(&garbage);
    server.send(b"\r\n");
    let out = String::from_utf8_lossy(&server.rest(WAIT)).into_owned();
    assert!(
        out.ends_with("* BYE Too many invalid commands\r\n"),
        "{out}"
    );
    for line in out.lines() {
        assert!(
            line.starts_with("* ") || line.contains(" BAD ") || line.starts_with("+ "),
            "unexpected line {line:?}"
        );
    }
    server.assert_clean_end(&spool, WAIT);
}

#[test]
fn literals_and_continuations_in_the_wrong_state_are_refused() {
    let spool = Spool::new("");
    let mut server = start(&spool);
    // A literal for a command not allowed before login: read, then refused.
    server.send(b"a SELECT {5}\r\n");
    let plus = server.line(WAIT).expect("continuation");
    assert_eq!(plus, b"+ Ready for literal data\r\n");
    assert_eq!(
        exchange(&mut server, b"INBOX\r\n", "a"),
        ["a BAD SELECT not allowed before login\r\n"]
    );
    // IDLE's DONE and AUTHENTICATE data lines outside those commands are just bad commands.
    let lines = exchange(&mut server, b"DONE\r\nAGFsaWNlAHB3\r\nb NOOP\r\n", "b");
    assert_eq!(
        lines,
        [
            "* BAD Malformed command\r\n",
            "* BAD Malformed command\r\n",
            "b OK NOOP completed\r\n"
        ]
    );
    login(&mut server);
    let lines = exchange(&mut server, b"c FETCH 1 BODY[] {5}\r\n", "c");
    assert!(
        lines.last().is_some_and(|l| l.starts_with("c BAD ")),
        "{lines:?}"
    );
    let lines = exchange(&mut server, b"d EXPUNGE\r\n", "d");
    assert_eq!(lines, ["d BAD EXPUNGE needs a selected mailbox\r\n"]);
    finish(server, &spool);
}

#[test]
fn invalid_modified_utf7_names_get_no() {
    let spool = Spool::new("");
    let mut server = start(&spool);
    login(&mut server);
    for (tag, command) in [
        ("a", "CREATE &Jjo"),
        ("b", "CREATE &ZZZ-x"),
        ("c", "SELECT &-&"),
        ("d", "RENAME INBOX &AGE-"),
        ("e", "STATUS &Jjo (MESSAGES)"),
        ("f", "APPEND &Jjo {1+}\r\nx"),
    ] {
        let lines = exchange(&mut server, format!("{tag} {command}\r\n").as_bytes(), tag);
        assert_eq!(lines.len(), 1, "{command}: {lines:?}");
        assert!(
            lines[0].starts_with(&format!("{tag} NO ")),
            "{command}: {lines:?}"
        );
        assert!(!lines[0].contains(spool.dir.path().to_str().expect("UTF-8")));
    }
    finish(server, &spool);
}

#[test]
fn cr_lf_and_nul_inside_strings_get_bad() {
    let spool = Spool::new("");
    let mut server = start(&spool);
    for (tag, bytes) in [
        ("a", &b"a LOGIN \"al\rice\" pw\r\n"[..]),
        ("b", b"b LOGIN \"alice\" \"p\0w\"\r\n"),
        ("c", b"c LOGIN al\0ice pw\r\n"),
    ] {
        let lines = exchange(&mut server, bytes, tag);
        assert_eq!(lines, [format!("{tag} BAD Malformed command\r\n")]);
    }
    // A bare LF inside a quoted string ends the line there: what is left is another bad line.
    let lines = exchange(&mut server, b"d LOGIN \"al\nice\" pw\r\ne NOOP\r\n", "e");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("e OK NOOP completed\r\n")
    );
    assert!(lines.iter().all(|l| !l.starts_with("d OK")), "{lines:?}");
    login(&mut server);
    let lines = exchange(&mut server, b"f CREATE \"a\rb\"\r\n", "f");
    assert_eq!(lines, ["f BAD Malformed command\r\n"]);
    let lines = exchange(&mut server, b"g CREATE a\0b\r\n", "g");
    assert_eq!(lines, ["g BAD Malformed command\r\n"]);
    finish(server, &spool);
}
