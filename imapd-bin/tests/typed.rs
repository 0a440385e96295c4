//! The manual's "Checking it works" as an administrator does it: `imapd` run by hand on a
//! terminal, the commands typed with the terminal's bare LF line ends. A pseudo-terminal stands
//! for the terminal, so `imapd` sees a real tty on its standard input.
#![allow(clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use common::{MANUAL_MESSAGE, Spool, assert_no_panic};
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

/// Reads `child`'s stdout until it holds `needle` (or ten seconds pass).
fn read_until(out: &mut impl Read, seen: &mut Vec<u8>, needle: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while !seen.windows(needle.len()).any(|w| w == needle) {
        assert!(
            Instant::now() < deadline,
            "no {:?} in {}",
            String::from_utf8_lossy(needle),
            String::from_utf8_lossy(seen)
        );
        let n = out.read(&mut buf).expect("read imapd's output");
        assert!(
            n > 0,
            "imapd ended early: {}",
            String::from_utf8_lossy(seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn the_manuals_check_typed_at_a_terminal() {
    let spool = Spool::new("");
    spool.write_mail("alice", MANUAL_MESSAGE);
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let slave: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().expect("pty name"))
        .expect("open the terminal")
        .into();
    let mut child = spool.spawn_with_stdin(slave);
    let mut terminal = std::fs::File::from(master);
    let mut out = child.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    read_until(&mut out, &mut seen, b"server ready\r\n");
    // What the terminal sends: each line ends in a bare LF.
    for (line, answer) in [
        (&b"a login alice pw\n"[..], &b"a OK [CAPABILITY "[..]),
        (
            b"b select inbox\n",
            b"b OK [READ-WRITE] SELECT completed\r\n",
        ),
        (
            b"c uid fetch 1 body.peek[]\n",
            b"c OK UID FETCH completed\r\n",
        ),
        (b"d logout\n", b"d OK LOGOUT completed\r\n"),
    ] {
        terminal.write_all(line).expect("type");
        read_until(&mut out, &mut seen, answer);
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(
        text.contains("* 1 FETCH (UID 1 BODY[] {198}\r\nReceived: from matt"),
        "{text}"
    );
    assert!(text.contains("line 4\r\n)\r\n"), "{text}");
    assert!(!text.contains(" BAD "), "{text}");
    let status = child.wait().expect("wait");
    assert!(status.success());
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    assert!(err.is_empty(), "{err}");
    assert_no_panic(&spool.log());
}

#[test]
fn a_pipe_is_still_held_to_crlf() {
    let spool = Spool::new("");
    let mut server = spool.spawn();
    server.line(Duration::from_secs(10)).expect("greeting");
    assert!(server.send(b"a login alice pw\n"));
    let line = server.line(Duration::from_secs(10)).expect("answer");
    assert_eq!(line, b"a BAD Line must end in CRLF\r\n");
}
