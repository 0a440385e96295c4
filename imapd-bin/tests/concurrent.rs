//! Two `imapd` processes on one mailbox, as inetd would run two connections of one user: an
//! expunge in one shows in the other after its NOOP, and a delivery while one IDLEs shows as
//! EXISTS within `imapd_idle_check`.

// Helpers outside #[test] functions panic on failure, as a test should.
#![allow(clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Server, Spool};

const WAIT: Duration = Duration::from_secs(10);

const MESSAGE: &str = "From: Bob <bob@example.com>\nSubject: hello\n\nHello.\n";

fn command(server: &mut Server, tag: &str, text: &str) -> Vec<String> {
    server.send(format!("{tag} {text}\r\n").as_bytes());
    let lines = server.until(tag, WAIT);
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with(&format!("{tag} OK"))),
        "{text}: {lines:?}"
    );
    lines
}

/// A logged-in session with INBOX selected.
fn open(spool: &Spool) -> Server {
    let mut server = spool.spawn();
    let _greeting = server.line(WAIT).expect("greeting");
    command(&mut server, "a", "LOGIN alice pw");
    command(&mut server, "b", "SELECT INBOX");
    server
}

fn close(mut server: Server, spool: &Spool) {
    command(&mut server, "z", "LOGOUT");
    server.assert_clean_end(spool, WAIT);
}

#[test]
fn an_expunge_in_one_session_shows_in_the_other_after_noop() {
    let spool = Spool::new("");
    for _ in 0..3 {
        spool.write_mail("alice", MESSAGE);
    }
    let mut one = open(&spool);
    let mut two = open(&spool);
    command(&mut one, "c", "STORE 2 +FLAGS.SILENT (\\Deleted)");
    let lines = command(&mut one, "d", "EXPUNGE");
    assert!(lines.contains(&"* 2 EXPUNGE\r\n".to_owned()), "{lines:?}");
    let lines = command(&mut two, "c", "NOOP");
    assert!(lines.contains(&"* 2 EXPUNGE\r\n".to_owned()), "{lines:?}");
    let lines = command(&mut two, "d", "FETCH 1:* UID");
    assert_eq!(
        lines,
        [
            "* 1 FETCH (UID 1)\r\n",
            "* 2 FETCH (UID 3)\r\n",
            "d OK FETCH completed\r\n"
        ]
    );
    close(one, &spool);
    close(two, &spool);
}

#[test]
fn a_flag_change_in_one_session_shows_in_the_other() {
    let spool = Spool::new("");
    spool.write_mail("alice", MESSAGE);
    let mut one = open(&spool);
    let mut two = open(&spool);
    command(&mut one, "c", "STORE 1 +FLAGS.SILENT (\\Flagged)");
    let lines = command(&mut two, "c", "NOOP");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("* 1 FETCH (FLAGS (\\Flagged")),
        "{lines:?}"
    );
    close(one, &spool);
    close(two, &spool);
}

#[test]
fn a_delivery_during_idle_shows_within_the_check_interval() {
    let spool = Spool::new("imapd_idle_check 1\n");
    spool.write_mail("alice", MESSAGE);
    let mut idler = open(&spool);
    let mut other = open(&spool);
    idler.send(b"c IDLE\r\n");
    assert_eq!(idler.line(WAIT).expect("continuation"), b"+ idling\r\n");
    spool.deliver("alice", MESSAGE);
    let delivered = Instant::now();
    let exists = idler.line(WAIT).expect("EXISTS");
    let took = delivered.elapsed();
    assert_eq!(exists, b"* 2 EXISTS\r\n");
    assert!(took < Duration::from_secs(3), "EXISTS took {took:?}");
    // The other session sees it at its next command.
    let lines = command(&mut other, "c", "NOOP");
    assert!(lines.contains(&"* 2 EXISTS\r\n".to_owned()), "{lines:?}");
    idler.send(b"DONE\r\n");
    let lines = idler.until("c", WAIT);
    assert_eq!(
        lines.last().map(String::as_str),
        Some("c OK IDLE terminated\r\n")
    );
    close(idler, &spool);
    close(other, &spool);
}
