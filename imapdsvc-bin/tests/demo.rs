//! `imapdsvc --demo`, as a newcomer runs it: it starts, says how to connect, serves the demo's
//! messages to an independent client library (Python's `imapclient`, from `target/pyenv` made
//! by `.ci/run`) and to a hand-typed session, and on Ctrl-C (SIGINT) stops cleanly and removes
//! its spool.
#![allow(clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The demo's fixed address.
const ADDR: &str = "127.0.0.1:1143";

/// The venv's python, or `None` (after saying why) when that half must be skipped; under CI it
/// must be there.
fn python() -> Option<PathBuf> {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/pyenv/bin/python");
    if python.exists() {
        return Some(python);
    }
    let why = format!("{} is missing: run .ci/run", python.display());
    assert!(std::env::var_os("CI").is_none(), "under CI: {why}");
    eprintln!("skipped the imapclient half: {why}");
    None
}

/// Reads lines until one starts with `tag ` (the tagged answer); returns them all.
fn until(reader: &mut impl BufRead, tag: &str) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).expect("read from the demo");
        assert!(n > 0, "the demo closed the connection after:\n{all}");
        all.push_str(&line);
        if line.starts_with(&format!("{tag} ")) {
            return all;
        }
    }
}

#[test]
fn the_demo_starts_serves_and_stops_cleanly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imapdsvc"))
        .arg("--demo")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start imapdsvc --demo");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut banner = String::new();
    while !banner.contains("Ctrl-C") {
        let mut line = String::new();
        if stdout.read_line(&mut line).expect("banner") == 0 {
            break;
        }
        banner.push_str(&line);
    }
    assert!(banner.contains("telnet 127.0.0.1 1143"), "{banner}");
    assert!(banner.contains("user `demo`, password `demo`"), "{banner}");
    let root = banner
        .lines()
        .find_map(|l| {
            l.split_once("dmail.conf in ")
                .map(|(_, r)| r.trim().to_owned())
        })
        .expect("the demo's directory in the banner");
    assert!(std::path::Path::new(&root).join("dmail.conf").exists());

    // The listener comes up right after the banner.
    let deadline = Instant::now() + Duration::from_secs(20);
    let stream = loop {
        match TcpStream::connect(ADDR) {
            Ok(s) => break s,
            Err(e) => {
                assert!(Instant::now() < deadline, "the demo never listened: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    let mut greeting = String::new();
    reader.read_line(&mut greeting).expect("greeting");
    assert!(
        greeting.starts_with("* OK [CAPABILITY IMAP4rev1 "),
        "{greeting}"
    );
    // Typed as the banner says (and as the manual's "Checking it works" does).
    writer.write_all(b"a login demo demo\r\n").expect("send");
    assert!(until(&mut reader, "a").contains("a OK "));
    writer.write_all(b"b select inbox\r\n").expect("send");
    let selected = until(&mut reader, "b");
    assert!(selected.starts_with("* 3 EXISTS\r\n"), "{selected}");
    writer
        .write_all(b"c fetch 1:* (flags envelope)\r\n")
        .expect("send");
    let fetched = until(&mut reader, "c");
    assert!(
        fetched.contains("\"Welcome to the dmail-imapd demo\""),
        "{fetched}"
    );
    assert!(
        fetched.contains("=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_Z=C3=BCrich?="),
        "{fetched}"
    );
    writer.write_all(b"d login demo wrong\r\n").expect("send");
    assert!(until(&mut reader, "d").starts_with("d BAD "));
    writer.write_all(b"e logout\r\n").expect("send");
    assert!(until(&mut reader, "e").contains("e OK LOGOUT completed"));

    // An independent client library: log in, list, search, fetch a structure.
    if let Some(python) = python() {
        let script = r#"
import imapclient
c = imapclient.IMAPClient("127.0.0.1", port=1143, ssl=False, timeout=20)
c.login("demo", "demo")
c.select_folder("INBOX")
uids = c.search(["ALL"])
body = c.fetch(uids, ["BODYSTRUCTURE"])[uids[1]][b"BODYSTRUCTURE"]
print("uids", " ".join(str(u) for u in uids))
print("multipart", body.is_multipart)
print("subject", c.fetch([uids[0]], ["ENVELOPE"])[uids[0]][b"ENVELOPE"].subject.decode())
c.logout()
"#;
        let out = Command::new(python)
            .arg("-c")
            .arg(script)
            .output()
            .expect("run imapclient");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("uids 1 2 3"), "{text}");
        assert!(text.contains("multipart True"), "{text}");
        assert!(
            text.contains("subject Welcome to the dmail-imapd demo"),
            "{text}"
        );
    }

    // Ctrl-C: a clean stop within 10 s, and nothing left behind.
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .expect("SIGINT");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the demo did not stop within 10 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(
        !std::path::Path::new(&root).exists(),
        "the demo left {root} behind"
    );
}
