//! What the inetd server writes to `LOG_PATH/imapd.log` (dmail-conventions §9): the connection,
//! logins and their refusals with the reason, every command at debug level, configuration
//! errors, and never a password or SASL data.

// Helpers outside #[test] functions panic on failure, as a test should.
#![allow(clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Spool, assert_no_panic};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn a_session_is_logged_without_its_passwords() {
    // A bad value is an error diagnostic: logged, and the default used.
    let spool = Spool::new("imapd_timeout banana\n");
    let mut server = spool.spawn();
    server.send(
        b"a LOGIN alice hunter2\r\n\
          b AUTHENTICATE PLAIN AGFsaWNlAHNlc2FtZQ==\r\n\
          c LOGIN alice pw\r\n\
          d SELECT INBOX\r\n\
          e LOGOUT\r\n",
    );
    let out = String::from_utf8_lossy(&server.rest(WAIT)).into_owned();
    assert!(out.contains("c OK "), "{out}");
    assert!(out.ends_with("e OK LOGOUT completed\r\n"), "{out}");
    let (code, stderr) = server.finish(WAIT);
    assert_eq!(code, Some(0));
    assert!(stderr.is_empty());

    let log = spool.log();
    assert_no_panic(&log);
    let pid = server.pid();
    let context = format!(" sess={pid} peer=-: ");
    for line in log.lines() {
        assert!(line.contains(&context), "{line}");
    }
    let events: Vec<&str> = log
        .lines()
        .filter_map(|l| {
            l.split_once(&context).map(|(head, event)| {
                let level = head.rsplit(' ').next().unwrap_or("");
                (level, event)
            })
        })
        .map(|(level, event)| if level == "debug" { "" } else { event })
        .filter(|e| !e.is_empty())
        .collect();
    assert!(events[0].contains("imapd_timeout"), "{events:?}");
    assert_eq!(
        &events[1..],
        [
            "connect to standard input (not a socket)",
            "login \"alice\" refused: the external authenticator refused the login: bad password",
            "LOGIN failed for \"alice\" (Rejected)",
            "login \"alice\" refused: the external authenticator refused the login: bad password",
            "AUTHENTICATE failed for \"alice\" (Rejected)",
            "login alice (LOGIN)",
            "logout",
        ]
    );
    assert!(log.contains(" debug sess="), "{log}");
    assert!(log.contains(": a LOGIN alice ****\n"), "{log}");
    assert!(log.contains(": b AUTHENTICATE PLAIN\n"), "{log}");
    assert!(log.contains(": d SELECT\n"), "{log}");
    for secret in ["hunter2", "sesame", "AGFsaWNlAHNlc2FtZQ", " pw"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

#[test]
fn without_debug_only_events_are_logged() {
    let spool = Spool::new("log_level info\n");
    let mut server = spool.spawn();
    server.send(b"a LOGIN alice pw\r\nb NOOP\r\n");
    server.close_input();
    let _ = server.rest(WAIT);
    let (code, _) = server.finish(WAIT);
    assert_eq!(code, Some(0));
    let log = spool.log();
    assert!(!log.contains(" debug "), "{log}");
    assert!(log.contains(": login alice (LOGIN)\n"), "{log}");
    assert!(log.contains(": client closed the connection\n"), "{log}");
}
