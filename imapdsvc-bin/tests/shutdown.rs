//! Graceful stop of an in-process imapdsvc with 100 sessions open: 20 in IDLE and 80 storing
//! keywords when SIGTERM comes. Every client must get `* BYE Server shutting down`, the service
//! must exit 0 within 10 s and remove its pid file, and every STORE answered OK must be in the
//! mailbox file afterwards (checked by a fresh `imapd` reading it).

#![allow(clippy::expect_used)]

#[path = "../../imapd-bin/tests/common/mod.rs"]
mod common;
mod svc;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{Server, Spool};
use rustix::process::Signal;
use svc::{Svc, login_select, until};

const SESSIONS: usize = 100;
const IDLERS: usize = 20;
const BYE: &str = "* BYE Server shutting down";

/// Stores keywords `K<session>x<n>` on message `session` until BYE; the keywords answered OK.
fn storer(mut server: Server, session: usize, ready: &Barrier) -> Vec<String> {
    login_select(&mut server);
    ready.wait();
    let mut stored = Vec::new();
    for n in 0.. {
        let keyword = format!("K{session}x{n}");
        let cmd = format!("t{n} STORE {session} +FLAGS.SILENT ({keyword})\r\n");
        if !server.send(cmd.as_bytes()) {
            break;
        }
        let lines = until_either(&mut server, &format!("t{n} "));
        let last = lines.last().cloned().unwrap_or_default();
        if last.starts_with(&format!("t{n} OK")) {
            stored.push(keyword);
        }
        if lines.iter().any(|l| l.starts_with(BYE)) {
            return stored;
        }
    }
    panic!("session {session}: no BYE");
}

/// Lines until the tagged answer or BYE.
fn until_either(server: &mut Server, tag: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let end = Instant::now() + svc::WAIT;
    while Instant::now() < end {
        let Some(line) = server.line(Duration::from_secs(1)) else {
            break;
        };
        let line = String::from_utf8_lossy(&line).into_owned();
        if line.is_empty() {
            continue;
        }
        let done = line.starts_with(tag) || line.starts_with(BYE);
        lines.push(line);
        if done {
            break;
        }
    }
    lines
}

#[test]
fn sigterm_says_bye_to_every_session_and_keeps_every_answered_store() {
    let spool = Spool::new(
        "imapd_max_connections_per_user 1000\n\
         imapd_max_connections_per_ip 1000\n\
         imapd_idle_check 1\n\
         log_level info\n",
    );
    for i in 1..=SESSIONS {
        spool.write_mail("alice", &format!("Subject: message {i}\n\nbody {i}\n"));
    }
    let mut service = Svc::start(&spool, "in-process");
    let ready = Arc::new(Barrier::new(SESSIONS - IDLERS + 1));
    let mut storers = Vec::new();
    for session in 1..=SESSIONS - IDLERS {
        let server = service.connect();
        let ready = Arc::clone(&ready);
        storers.push(std::thread::spawn(move || storer(server, session, &ready)));
    }
    let mut idlers = Vec::new();
    for _ in 0..IDLERS {
        let mut server = service.connect();
        login_select(&mut server);
        assert!(server.send(b"i IDLE\r\n"));
        until(&mut server, "+ ");
        idlers.push(server);
    }
    ready.wait();
    std::thread::sleep(Duration::from_millis(2000));

    let stopping = Instant::now();
    service.signal(Signal::TERM);
    for mut idler in idlers {
        let lines = until(&mut idler, BYE);
        assert!(lines.last().is_some_and(|l| l.starts_with(BYE)));
    }
    let mut answered = Vec::new();
    for (i, storer) in storers.into_iter().enumerate() {
        answered.push((i + 1, storer.join().expect("storer thread")));
    }
    let status = service.wait_exit(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "exit: {status:?}");
    assert!(stopping.elapsed() < Duration::from_secs(10));
    assert!(!service.pidfile.exists(), "the pid file is still there");
    let total: usize = answered.iter().map(|(_, k)| k.len()).sum();
    // Every STORE rewrites the one shared mailbox under its lock, so they queue: a few dozen
    // are answered before the signal, and some are in flight when it comes.
    assert!(total >= 10, "only {total} STOREs were answered");

    // A fresh imapd reads the mailbox file.
    let mut check = spool.spawn();
    login_select(&mut check);
    assert!(check.send(b"f FETCH 1:* (FLAGS)\r\n"));
    let lines = until(&mut check, "f ");
    assert!(
        lines.last().is_some_and(|l| l.starts_with("f OK")),
        "{lines:?}"
    );
    for (session, keywords) in answered {
        let prefix = format!("* {session} FETCH ");
        let line = lines
            .iter()
            .find(|l| l.starts_with(&prefix))
            .expect("a FETCH line per message");
        let flags: BTreeSet<&str> = line
            .split(['(', ')', ' '])
            .filter(|w| w.starts_with('K'))
            .collect();
        for k in &keywords {
            assert!(
                flags.contains(k.as_str()),
                "message {session}: {k} was answered OK but is not in the file: {line}"
            );
        }
    }
    let log = spool.log_named("imapdsvc");
    common::assert_no_panic(&log);
    assert!(log.contains("imapdsvc stopped"), "{log}");
}

/// Spawn mode: each child `imapd` gets SIGTERM and says BYE itself (in IDLE, or with a mailbox
/// selected), then the service exits 0 and removes its pid file.
#[test]
fn sigterm_in_spawn_mode_reaches_every_imapd() {
    let spool = Spool::new("imapd_max_connections_per_user 100\n");
    spool.write_mail("alice", common::MANUAL_MESSAGE);
    let mut service = Svc::start(&spool, "spawn");
    let mut clients = Vec::new();
    for i in 0..5 {
        let mut server = service.connect();
        login_select(&mut server);
        if i % 2 == 0 {
            assert!(server.send(b"i IDLE\r\n"));
            until(&mut server, "+ ");
        }
        clients.push(server);
    }
    assert_eq!(service.children().len(), 5);
    let stopping = Instant::now();
    service.signal(Signal::TERM);
    for mut c in clients {
        until(&mut c, BYE);
        assert!(c.rest(svc::WAIT).is_empty(), "nothing after BYE");
    }
    let status = service.wait_exit(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "exit: {status:?}");
    assert!(stopping.elapsed() < Duration::from_secs(10));
    assert!(!service.pidfile.exists(), "the pid file is still there");
    common::assert_no_panic(&spool.log());
}
