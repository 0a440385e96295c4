//! The test tools as DSMTP and DPOP would run them: many `deliver` processes appending to one
//! drop file at once (dmail-conventions.md §4, mailbox-formats.md §3), and `burst` emptying it.
//!
//! The example binaries are built by `cargo test -p dmail-store` (cargo builds a package's
//! examples for its tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../test-support/example.rs"]
mod example_program;

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use camino::{Utf8Path, Utf8PathBuf};
use dmail_store::InternalDate;
use dmail_store::deliver::{DeliverOptions, deliver};
use dmail_store::layout::DropPath;
use dmail_store::lock::dot_lock_path;
use dmail_store::mbox::from_line::{is_valid, parse};
use dmail_store::mbox::write::{LineEnding, encode};

/// The path of this package's example `name` (built when missing).
fn example(name: &str) -> PathBuf {
    example_program::example("dmail-store", name)
}

/// Start offsets of the lines that pass VALID.
fn from_lines(data: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let end = data[at..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(data.len(), |i| at + i + 1);
        if is_valid(&data[at..end]) {
            starts.push(at);
        }
        at = end;
    }
    starts
}

/// Message `i` of the concurrency test: a mix of line endings, forged metadata, body `From `
/// lines, a NUL and a missing final newline.
fn message(i: usize) -> Vec<u8> {
    let marker = format!("MARKER-{i:03}-END");
    match i % 4 {
        0 => format!("Subject: {i}\nStatus: RO\n\nFrom the desk of {i}\n{marker}\n"),
        1 => format!("Subject: {i}\r\nX-Status: D\r\n\r\nline\r\n{marker}\r\n"),
        2 => format!("Subject: {i}\n\nFrom x Sat Dec 26 09:37:48 1998\n{marker}"),
        _ => format!("X-IMAP: 1 2\nSubject: {i}\n\n>From quoted\nnul\0here\n{marker}\n"),
    }
    .into_bytes()
}

fn sender(i: usize) -> String {
    format!("sender{i}@example.com")
}

#[test]
fn two_hundred_concurrent_deliveries_from_four_processes() {
    const PER_WORKER: usize = 50;
    const WORKERS: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let drop_file = Utf8PathBuf::try_from(dir.path().join("bob")).unwrap();
    let deliver_exe = example("deliver");
    std::thread::scope(|scope| {
        for w in 0..WORKERS {
            let (exe, drop_file) = (&deliver_exe, &drop_file);
            scope.spawn(move || {
                for k in 0..PER_WORKER {
                    let i = w * PER_WORKER + k;
                    let mut child = Command::new(exe)
                        .args(["--from", &sender(i), drop_file.as_str()])
                        .stdin(Stdio::piped())
                        .stderr(Stdio::piped())
                        .spawn()
                        .unwrap();
                    child.stdin.take().unwrap().write_all(&message(i)).unwrap();
                    let out = child.wait_with_output().unwrap();
                    assert!(
                        out.status.success(),
                        "delivery {i}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            });
        }
    });
    let data = fs::read(&drop_file).unwrap();
    let starts = from_lines(&data);
    assert_eq!(starts.len(), WORKERS * PER_WORKER);
    assert_eq!(starts[0], 0);
    let mut seen = [false; WORKERS * PER_WORKER];
    let mut bounds = starts.clone();
    bounds.push(data.len());
    for pair in bounds.windows(2) {
        let chunk = &data[pair[0]..pair[1]];
        if pair[0] > 0 {
            assert_eq!(
                &data[pair[0] - 2..pair[0]],
                b"\n\n",
                "From line at {} not after a blank line",
                pair[0]
            );
        }
        let line_end = chunk.iter().position(|b| *b == b'\n').unwrap() + 1;
        let from = parse(&chunk[..line_end], &|_| 0).unwrap();
        let name = std::str::from_utf8(from.sender).unwrap();
        let i: usize = name
            .strip_prefix("sender")
            .and_then(|r| r.strip_suffix("@example.com"))
            .unwrap()
            .parse()
            .unwrap();
        assert!(!seen[i], "message {i} stored twice");
        seen[i] = true;
        // Intact: exactly the stored form of what was sent.
        assert_eq!(
            chunk[line_end..].escape_ascii().to_string(),
            encode(&message(i), LineEnding::Lf, None)
                .bytes
                .escape_ascii()
                .to_string(),
            "message {i}"
        );
    }
    assert!(seen.iter().all(|s| *s));
    for i in 0..WORKERS * PER_WORKER {
        let marker = format!("MARKER-{i:03}-END");
        assert_eq!(
            data.windows(marker.len())
                .filter(|w| *w == marker.as_bytes())
                .count(),
            1,
            "{marker}"
        );
    }
    assert!(!dot_lock_path(&drop_file).exists());
}

#[test]
fn deliver_example_reports_errors_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir/bob");
    let out = Command::new(example("deliver"))
        .arg(&missing)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("deliver: "), "{err}");
    assert!(err.contains("no-such-dir"), "{err}");
    let usage = Command::new(example("deliver")).output().unwrap();
    assert_eq!(usage.status.code(), Some(1));
}

/// A drop file holding five delivered messages; returns its contents.
fn five_messages(drop_file: &Utf8Path) -> Vec<u8> {
    let date = InternalDate {
        unix: 914_665_068,
        offset_minutes: 0,
    };
    let drop = DropPath::new(drop_file.to_owned());
    for i in 0..5 {
        deliver(
            &drop,
            &sender(i),
            &message(i),
            date,
            &DeliverOptions::default(),
        )
        .unwrap();
    }
    fs::read(drop_file).unwrap()
}

#[test]
fn burst_writes_each_message_once_and_empties_the_drop_file() {
    let dir = tempfile::tempdir().unwrap();
    let drop_file = Utf8PathBuf::try_from(dir.path().join("bob")).unwrap();
    let out_dir = dir.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let original = five_messages(&drop_file);
    let out = Command::new(example("burst"))
        .arg(drop_file.as_str())
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "burst: 5 messages\n");
    let mut names: Vec<String> = fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["000001", "000002", "000003", "000004", "000005"]);
    let starts = from_lines(&original);
    let mut joined = Vec::new();
    for (n, name) in names.iter().enumerate() {
        let file = fs::read(out_dir.join(name)).unwrap();
        assert_eq!(from_lines(&file), [0], "{name} holds one message");
        let marker = format!("MARKER-{n:03}-END");
        assert!(file.windows(marker.len()).any(|w| w == marker.as_bytes()));
        assert_eq!(&original[starts[n]..starts[n] + file.len()], &file[..]);
        joined.extend_from_slice(&file);
    }
    assert_eq!(joined, original);
    assert_eq!(fs::metadata(&drop_file).unwrap().len(), 0);
    assert!(!dot_lock_path(&drop_file).exists());
}

#[test]
fn burst_to_stdout_then_nothing_left() {
    let dir = tempfile::tempdir().unwrap();
    let drop_file = Utf8PathBuf::try_from(dir.path().join("bob")).unwrap();
    let original = five_messages(&drop_file);
    let first = Command::new(example("burst"))
        .arg(drop_file.as_str())
        .output()
        .unwrap();
    assert!(first.status.success());
    assert_eq!(first.stdout, original);
    let second = Command::new(example("burst"))
        .arg(drop_file.as_str())
        .output()
        .unwrap();
    assert!(second.status.success());
    assert_eq!(second.stdout, b"");
    assert_eq!(
        String::from_utf8_lossy(&second.stderr),
        "burst: 0 messages\n"
    );
}
