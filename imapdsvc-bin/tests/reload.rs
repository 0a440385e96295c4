//! SIGHUP re-reads dmail.conf: a changed `valid_users` is not used before the signal and is used
//! by the next connection after it; a change that needs a restart (the TLS files, hence the TLS listeners) is logged.

#![allow(clippy::expect_used)]

#[path = "../../imapd-bin/tests/common/mod.rs"]
mod common;
mod svc;

use std::time::{Duration, Instant};

use common::Spool;
use rustix::process::Signal;
use svc::{Svc, until};

/// Whether alice can log in on a new connection.
fn alice_logs_in(service: &Svc) -> bool {
    let mut s = service.connect();
    until(&mut s, "* OK");
    assert!(s.send(b"a LOGIN alice pw\r\n"));
    let lines = until(&mut s, "a ");
    lines.last().is_some_and(|l| l.starts_with("a OK"))
}

#[test]
fn sighup_applies_a_changed_setting_to_the_next_connection() {
    let spool = Spool::new("");
    let service = Svc::start(&spool, "in-process");
    assert!(alice_logs_in(&service));

    let mut text = std::fs::read_to_string(&spool.config).expect("read conf");
    text.push_str(
        "valid_users cc_*\nimapd_tls_cert /nonexistent/cert.pem\nimapd_tls_key /nonexistent/key.pem\n",
    );
    std::fs::write(&spool.config, text).expect("write conf");
    assert!(alice_logs_in(&service), "the change was used before SIGHUP");

    service.signal(Signal::HUP);
    let end = Instant::now() + svc::WAIT;
    while !spool
        .log_named("imapdsvc")
        .contains("configuration reloaded")
    {
        assert!(Instant::now() < end, "no reload logged");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !alice_logs_in(&service),
        "valid_users was not applied after SIGHUP"
    );
    let log = spool.log_named("imapdsvc");
    assert!(log.contains("a restart is needed"), "{log}");
}
