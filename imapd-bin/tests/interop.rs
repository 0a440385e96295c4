//! An independent client against the built `imapd`: the Python `imapclient` package (installed
//! by `.ci/run` into `target/pyenv`) runs `tests/interop/imapclient_session.py` over a real
//! loopback socket. The test listens on 127.0.0.1 and serves each connection the way inetd
//! does: `imapd -i CONF` with the socket as its stdin and stdout.
//!
//! Without `target/pyenv` the test is skipped with a message, except under CI (`CI` set), where
//! a missing client is a failure.

// Helpers outside #[test] functions panic on failure, as a test should.
#![allow(clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Spool, assert_no_panic};

/// The venv's python, or `None` (after saying why) when the test must be skipped.
fn python() -> Option<PathBuf> {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/pyenv/bin/python");
    if python.exists() {
        return Some(python);
    }
    let why = format!(
        "{} is missing: run .ci/run, or `python3 -m venv target/pyenv && \
         target/pyenv/bin/pip install imapclient==4.1.0`",
        python.display()
    );
    assert!(std::env::var_os("CI").is_none(), "under CI: {why}");
    eprintln!("skipped: {why}");
    None
}

const MESSAGE_ONE: &str = "From: Bob <bob@example.com>\nTo: alice@example.com\n\
Subject: first\nMessage-ID: <one@example.com>\n\nHello Alice,\nthe first message.\n";
const MESSAGE_TWO: &str = "From: Carol <carol@example.com>\nSubject: second\n\nSecond.\n";
const MESSAGE_NEW: &str = "From: Dave <dave@example.com>\nSubject: during idle\n\nNew.\n";

#[test]
fn imapclient_session_over_a_loopback_socket() {
    let Some(python) = python() else {
        return;
    };
    let spool = Arc::new(Spool::new("imapd_idle_check 1\n"));
    spool.write_mail("alice", MESSAGE_ONE);
    spool.write_mail("alice", MESSAGE_TWO);

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    let servers: Arc<Mutex<Vec<Child>>> = Arc::default();
    {
        let spool = Arc::clone(&spool);
        let servers = Arc::clone(&servers);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let child = spool.spawn_on(OwnedFd::from(stream));
                servers.lock().expect("lock").push(child);
            }
        });
    }

    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/imapclient_session.py");
    let mut client = Command::new(python)
        .arg("-u")
        .arg(script)
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    let mut stderr = client.stderr.take().expect("stderr");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut results = Vec::new();
    for line in BufReader::new(client.stdout.take().expect("stdout")).lines() {
        let line = line.expect("read client output");
        if line == "idling: yes" {
            spool.deliver("alice", MESSAGE_NEW);
        }
        results.push(line);
    }
    let status = client.wait().expect("wait for python");
    let client_errors = stderr.join().expect("stderr thread");
    assert!(
        status.success(),
        "the client failed:\n{}\n{client_errors}",
        results.join("\n")
    );

    if std::env::var_os("INTEROP_SHOW").is_some() {
        eprintln!("{}", results.join("\n"));
    }
    let get = |key: &str| -> String {
        let prefix = format!("{key}: ");
        results
            .iter()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {key} in:\n{}", results.join("\n")))
            .to_owned()
    };
    assert!(get("welcome").contains("dmail-imapd"), "{}", get("welcome"));
    assert_eq!(
        get("login"),
        "[CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN QUOTA] LOGIN completed"
    );
    assert!(get("capabilities").contains("MOVE"));
    assert_eq!(get("folders"), "Archive INBOX");
    assert_eq!(get("exists"), "2");
    assert_eq!(get("uidnext"), "3");
    assert_eq!(get("read_write"), "True");
    assert_eq!(get("search"), "1 2");
    assert_eq!(
        get("partial"),
        "'From: Bob <bob@example.com>\\r\\nTo: alice@example.com\\r\\nSubject: first\\r\\nMessage-ID: <one@example.com>\\r\\n\\r'"
    );
    assert_eq!(get("envelope_subject"), "first");
    assert_eq!(get("envelope_from"), "Bob bob@example.com");
    assert_eq!(get("envelope_message_id"), "<one@example.com>");
    assert_eq!(
        get("bodystructure"),
        "(b'TEXT', b'PLAIN', (b'CHARSET', b'US-ASCII'), None, None, b'7BIT', 34, 2, None, None, None, None)"
    );
    assert_eq!(get("search_subject"), "1");
    assert_eq!(get("search_body"), "2");
    assert_eq!(get("flags_before"), "\\Recent");
    assert_eq!(get("set_flags"), "\\Recent \\Seen");
    assert_eq!(get("add_flags"), "\\Flagged \\Recent \\Seen");
    assert_eq!(get("after_copy"), "1");
    assert_eq!(get("after_move"), "2");
    assert_eq!(get("inbox_after_move"), "1");
    assert!(
        get("append").starts_with("[APPENDUID "),
        "{}",
        get("append")
    );
    assert!(
        get("append").ends_with(" 3] APPEND completed"),
        "{}",
        get("append")
    );
    // INBOX after the move: message 1 and the appended one; the delivery makes 3.
    assert_eq!(get("idle_exists"), "3");
    assert_eq!(get("expunge"), "EXPUNGE completed");
    assert_eq!(get("inbox_after"), "3 4");
    assert_eq!(get("archive_status"), "2");
    assert_eq!(get("logout"), "dmail-imapd logging out");

    // Every imapd that served a connection ended cleanly and wrote nothing to stderr.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut servers = std::mem::take(&mut *servers.lock().expect("lock"));
    assert!(!servers.is_empty());
    for server in &mut servers {
        let status = loop {
            if let Some(status) = server.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "imapd did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(0));
        let mut errors = Vec::new();
        if let Some(mut e) = server.stderr.take() {
            let _ = e.read_to_end(&mut errors);
        }
        assert!(
            errors.is_empty(),
            "stderr: {}",
            String::from_utf8_lossy(&errors)
        );
    }
    let log = spool.log();
    assert_no_panic(&log);
    assert!(
        log.contains(" peer=127.0.0.1: connect to 127.0.0.1"),
        "{log}"
    );
}
