//! Golden files for ENVELOPE and BODYSTRUCTURE: every `corpus/NAME.eml` has a
//! `NAME.envelope` and a `NAME.bodystructure` holding the exact bytes expected.
//!
//! To regenerate after a deliberate change, run
//! `UPDATE_GOLDEN=1 cargo test -p imapd-proto --test message_corpus`, then read every changed
//! file against RFC 3501 §7.4.2 before committing it: the files are the specification, not a
//! recording.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::fs;
use std::path::{Path, PathBuf};

use imapd_proto::message::Message;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut emls: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    emls.sort();
    emls
}

fn check(eml: &Path, ext: &str, actual: &[u8], failures: &mut Vec<String>) {
    let golden = eml.with_extension(ext);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&golden, actual).unwrap();
        return;
    }
    match fs::read(&golden) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => failures.push(format!(
            "{}:\n  expected {}\n  actual   {}",
            golden.display(),
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(actual)
        )),
        Err(e) => failures.push(format!("{}: {e}", golden.display())),
    }
}

#[test]
fn corpus_is_big_enough() {
    assert!(corpus().len() >= 15);
}

#[test]
fn golden_envelopes_and_bodystructures() {
    let mut failures = Vec::new();
    for eml in corpus() {
        let bytes = fs::read(&eml).unwrap();
        let message = Message::parse(&bytes);
        let mut envelope = Vec::new();
        message.write_envelope(&mut envelope);
        check(&eml, "envelope", &envelope, &mut failures);
        let mut structure = Vec::new();
        message.write_body_structure(&mut structure, true);
        check(&eml, "bodystructure", &structure, &mut failures);
        // BODY is BODYSTRUCTURE without extension data: same shape, never longer.
        let mut body = Vec::new();
        message.write_body_structure(&mut body, false);
        assert!(body.len() <= structure.len(), "{}", eml.display());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
