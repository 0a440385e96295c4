//! Connection limits and `user_ip_address`, enforced by imapdsvc: in total
//! (`imapd_max_connections`) and per client address (`imapd_max_connections_per_ip`) at accept
//! with `* BYE Too many connections`; per user (`imapd_max_connections_per_user`) at login with
//! `NO [LIMIT]`; a client address `user_ip_address` does not allow gets BYE at accept.

#![allow(clippy::expect_used)]

#[path = "../../imapd-bin/tests/common/mod.rs"]
mod common;
mod svc;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use common::Spool;
use svc::{Svc, connect_from, until};

/// The first line a client connecting from `from` is sent.
fn first_line(service: &Svc, from: &str) -> (std::net::TcpStream, String) {
    let stream = connect_from(from, service.addr);
    stream
        .set_read_timeout(Some(svc::WAIT))
        .expect("read timeout");
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).expect("read");
    (stream, line)
}

#[test]
fn total_and_per_address_limits_at_accept() {
    let spool = Spool::new("imapd_max_connections 3\nimapd_max_connections_per_ip 2\n");
    let service = Svc::start(&spool, "in-process");
    let (_a, l) = first_line(&service, "127.0.0.1");
    assert!(l.starts_with("* OK"), "{l}");
    let (_b, l) = first_line(&service, "127.0.0.1");
    assert!(l.starts_with("* OK"), "{l}");
    let (_c, l) = first_line(&service, "127.0.0.1");
    assert_eq!(l, "* BYE Too many connections\r\n");
    let (_d, l) = first_line(&service, "127.0.0.2");
    assert!(l.starts_with("* OK"), "{l}");
    let (_e, l) = first_line(&service, "127.0.0.3");
    assert_eq!(l, "* BYE Too many connections\r\n");
    // A closed connection frees its place.
    drop(_a);
    std::thread::sleep(Duration::from_millis(300));
    let (_f, l) = first_line(&service, "127.0.0.1");
    assert!(l.starts_with("* OK"), "{l}");
    let log = spool.log_named("imapdsvc");
    assert!(log.contains("imapd_max_connections_per_ip"), "{log}");
    assert!(log.contains("(imapd_max_connections)"), "{log}");
}

// In-process sessions share a count; spawned imapd processes share slot files in a directory
// imapdsvc makes (`imapd --session-slots DIR`).
#[test_case::test_case("in-process" ; "in process")]
#[test_case::test_case("spawn" ; "spawned imapd processes")]
fn per_user_limit_at_login(mode: &str) {
    let spool = Spool::new("imapd_max_connections_per_user 1\n");
    let service = Svc::start(&spool, mode);
    let mut first = service.connect();
    until(&mut first, "* OK");
    assert!(first.send(b"a LOGIN alice pw\r\n"));
    assert!(
        until(&mut first, "a ")
            .last()
            .is_some_and(|l| l.starts_with("a OK"))
    );
    let mut second = service.connect();
    until(&mut second, "* OK");
    assert!(second.send(b"b LOGIN alice pw\r\n"));
    let last = until(&mut second, "b ").pop().expect("answer");
    assert_eq!(last, "b NO [LIMIT] Too many sessions for this user\r\n");
    // Another user is not affected.
    assert!(second.send(b"c LOGIN cc_sales pw\r\n"));
    assert!(
        until(&mut second, "c ")
            .last()
            .is_some_and(|l| l.starts_with("c OK"))
    );
    // Once the first session ends, alice may log in again.
    assert!(first.send(b"z LOGOUT\r\n"));
    until(&mut first, "z OK");
    std::thread::sleep(Duration::from_millis(200));
    let mut third = service.connect();
    until(&mut third, "* OK");
    assert!(third.send(b"d LOGIN alice pw\r\n"));
    assert!(
        until(&mut third, "d ")
            .last()
            .is_some_and(|l| l.starts_with("d OK"))
    );
}

#[test]
fn user_ip_address_is_enforced_at_accept() {
    let spool = Spool::new("user_ip_address 127.0.0.2\n");
    let service = Svc::start(&spool, "in-process");
    let (_a, l) = first_line(&service, "127.0.0.1");
    assert_eq!(l, "* BYE Connections from your address are not allowed\r\n");
    let (_b, l) = first_line(&service, "127.0.0.2");
    assert!(l.starts_with("* OK"), "{l}");
    let log = spool.log_named("imapdsvc");
    assert!(
        log.contains("refused 127.0.0.1: not allowed by user_ip_address"),
        "{log}"
    );
}

#[test]
fn limits_apply_in_spawn_mode_too() {
    let spool = Spool::new("imapd_max_connections_per_ip 1\n");
    let service = Svc::start(&spool, "spawn");
    let (_a, l) = first_line(&service, "127.0.0.1");
    assert!(l.starts_with("* OK"), "{l}");
    let (_b, l) = first_line(&service, "127.0.0.1");
    assert_eq!(l, "* BYE Too many connections\r\n");
}
