//! `imapd` (server mode) stopped with SIGTERM, as imapdsvc stops its spawned children: the
//! client gets `* BYE Server shutting down`, the process exits 0 without writing to stderr,
//! and the log says why.

// Helpers outside #[test] functions panic on failure, as a test should.
#![allow(clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{MANUAL_MESSAGE, Spool, assert_no_panic};
use rustix::process::{Pid, Signal, kill_process};

const WAIT: Duration = Duration::from_secs(10);

fn term(pid: u32) {
    kill_process(Pid::from_raw(pid.cast_signed()).expect("pid"), Signal::TERM).expect("kill");
}

#[test]
fn sigterm_says_bye_and_exits_0() {
    let spool = Spool::new("");
    spool.write_mail("alice", MANUAL_MESSAGE);
    let mut server = spool.spawn();
    assert!(server.line(WAIT).is_some_and(|l| l.starts_with(b"* OK")));
    assert!(server.send(b"a LOGIN alice pw\r\nb SELECT INBOX\r\nc IDLE\r\n"));
    loop {
        let line = server.line(WAIT).expect("a line");
        if line.starts_with(b"+ ") {
            break;
        }
        assert!(!line.is_empty(), "no IDLE continuation");
    }
    term(server.pid());
    assert_eq!(server.rest(WAIT), b"* BYE Server shutting down\r\n");
    let (code, stderr) = server.finish(WAIT);
    assert_eq!(code, Some(0));
    assert!(stderr.is_empty(), "{}", String::from_utf8_lossy(&stderr));
    let log = spool.log();
    assert!(log.contains("server shutting down"), "{log}");
    assert_no_panic(&log);
}

#[test]
fn sigterm_before_login_says_bye_too() {
    let spool = Spool::new("");
    let mut server = spool.spawn();
    assert!(server.line(WAIT).is_some_and(|l| l.starts_with(b"* OK")));
    term(server.pid());
    assert_eq!(server.rest(WAIT), b"* BYE Server shutting down\r\n");
    assert_eq!(server.finish(WAIT).0, Some(0));
}
