//! imapd-bin's golden transcripts (`imapd-bin/tests/transcripts/*.txt`), run by the same runner
//! over TCP against a running imapdsvc: every one in-process, a few in spawn mode (where each
//! connection is an `imapd -i CONF` on the socket).

#![allow(clippy::expect_used)]

#[path = "../../imapd-bin/tests/common/mod.rs"]
mod common;
mod svc;

use common::transcript::{Target, run};
use test_case::test_case;

/// A target that starts an imapdsvc in `mode` for each transcript (its dmail.conf differs) and
/// connects to it.
fn target(mode: &'static str) -> Target<'static> {
    // Each service runs until the target is dropped, after its transcript.
    let mut running: Vec<svc::Svc> = Vec::new();
    Target {
        open: Box::new(move |spool| {
            let s = svc::Svc::start(spool, mode);
            let conn = s.connect();
            running.push(s);
            conn
        }),
        exit_codes: false,
        log_name: "imapdsvc",
    }
}

#[test_case("manual")]
#[test_case("greeting")]
#[test_case("login")]
#[test_case("authenticate")]
#[test_case("sasl_ir")]
#[test_case("authenticate_login")]
#[test_case("login_failures")]
#[test_case("before_login")]
#[test_case("mailboxes")]
#[test_case("select")]
#[test_case("fetch")]
#[test_case("copy_move")]
#[test_case("append")]
#[test_case("misc")]
#[test_case("limits")]
#[test_case("unavailable")]
#[test_case("unserviceable")]
#[test_case("autologout")]
fn in_process(name: &str) {
    run(name, &mut target("in-process"));
}

#[test_case("manual")]
#[test_case("login")]
#[test_case("fetch")]
#[test_case("misc")]
fn spawn_mode(name: &str) {
    run(name, &mut target("spawn"));
}

/// Every transcript file is run in-process above.
#[test]
fn every_transcript_is_listed() {
    let source = include_str!("transcripts.rs");
    for entry in std::fs::read_dir(common::transcript::dir()).expect("read transcripts dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "txt") {
            let stem = path.file_stem().and_then(|s| s.to_str()).expect("name");
            assert!(
                source.contains(&format!("#[test_case(\"{stem}\")]")),
                "{stem}.txt is not listed in imapdsvc's transcripts.rs"
            );
        }
    }
}
