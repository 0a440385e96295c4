//! The line format with a fixed clock, level filtering, escaping, and rotation within one
//! process (dmail-conventions §9). Processes sharing a file, a writer that may not rename, and
//! the panic hook are in `tests/log.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;

use camino::{Utf8Path, Utf8PathBuf};
use dmail_conf::values::LogLevel;
use dmail_conf::{Platform, Program, parse_str};
use jiff::civil::{DateTime, date};
use tempfile::TempDir;
use test_case::test_case;

use super::{KEEP, Log, format_line, push_escaped, rotated};

fn fixed() -> DateTime {
    date(2026, 3, 7).at(9, 5, 2, 0)
}

fn tempdir() -> (TempDir, Utf8PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = Utf8PathBuf::from_path_buf(dir.path().to_path_buf()).unwrap();
    (dir, path)
}

fn open(dir: &Utf8Path, level: LogLevel, max_size: u64) -> Log {
    Log::open_with_clock(dir, "imapd", level, max_size, fixed).unwrap()
}

fn read(path: &Utf8Path) -> String {
    fs::read_to_string(path).unwrap()
}

/// The line prefix for this process at the fixed time.
fn head(level: &str) -> String {
    format!("2026-03-07 09:05:02 [{}] {level} ", std::process::id())
}

// §9: `YYYY-MM-DD HH:MM:SS [pid] LEVEL message`, local time, zero-padded.
#[test_case(date(2026, 3, 7).at(9, 5, 2, 0), 42, LogLevel::Error, "boom", "2026-03-07 09:05:02 [42] error boom\n"; "error")]
#[test_case(date(2026, 12, 31).at(23, 59, 59, 999_999_999), 1, LogLevel::Info, "LOGIN bob", "2026-12-31 23:59:59 [1] info LOGIN bob\n"; "info, subseconds dropped")]
#[test_case(date(999, 1, 1).at(0, 0, 0, 0), 4_294_967_295, LogLevel::Debug, "", "0999-01-01 00:00:00 [4294967295] debug \n"; "debug, padded year, empty message")]
fn line_format(now: DateTime, pid: u32, level: LogLevel, msg: &str, want: &str) {
    assert_eq!(format_line(now, pid, level, "", msg), want);
}

#[test]
fn line_format_with_prefix() {
    assert_eq!(
        format_line(fixed(), 9, LogLevel::Info, "sess=3 peer=[::1]:143: ", "hi"),
        "2026-03-07 09:05:02 [9] info sess=3 peer=[::1]:143: hi\n"
    );
}

// §9: one event is one line, whatever a client typed.
#[test_case("plain text é", "plain text é"; "printable kept")]
#[test_case("a\r\nb", "a\\r\\nb"; "CR LF")]
#[test_case("bob\n2026-01-01 00:00:00 [1] error forged", "bob\\n2026-01-01 00:00:00 [1] error forged"; "forged line")]
#[test_case("nul\0here", "nul\\0here"; "NUL")]
#[test_case("tab\there", "tab\\there"; "TAB")]
#[test_case("esc\x1b[31m del\x7f", "esc\\x1b[31m del\\x7f"; "ESC and DEL")]
#[test_case("c1\u{85} ls\u{2028} ps\u{2029}", "c1\\u{0085} ls\\u{2028} ps\\u{2029}"; "unicode line breaks")]
#[test_case("c:\\dmail\\in", "c:\\dmail\\in"; "backslash kept")]
fn escaping(msg: &str, want: &str) {
    let mut out = String::new();
    push_escaped(&mut out, msg);
    assert_eq!(out, want);
}

#[test]
fn written_line_is_escaped_and_whole() {
    let (_t, dir) = tempdir();
    let log = open(&dir, LogLevel::Info, 0);
    log.info("LOGIN a\r\nb\0c failed");
    assert_eq!(
        read(log.path()),
        format!("{}LOGIN a\\r\\nb\\0c failed\n", head("info"))
    );
}

// log_level (§2): error < info < debug; a message is written when its level is at or below.
#[test_case(LogLevel::Error, &["error"]; "error")]
#[test_case(LogLevel::Info, &["error", "info"]; "info")]
#[test_case(LogLevel::Debug, &["error", "info", "debug"]; "debug")]
fn level_filtering(level: LogLevel, written: &[&str]) {
    let (_t, dir) = tempdir();
    let log = open(&dir, level, 0);
    log.error("e");
    log.info("i");
    log.debug("d");
    let want: String = written
        .iter()
        .map(|w| format!("{}{}\n", head(w), &w[..1]))
        .collect();
    assert_eq!(read(log.path()), want);
}

#[test]
fn context_prefix_and_shared_file() {
    let (_t, dir) = tempdir();
    let log = open(&dir, LogLevel::Info, 0);
    let child = log.with_context("a1\n", "192.0.2.7:50000");
    child.info("LOGIN bob");
    log.info("no context");
    child.with_context(2, "p").info("replaced");
    assert_eq!(
        read(log.path()),
        format!(
            "{h}sess=a1\\n peer=192.0.2.7:50000: LOGIN bob\n{h}no context\n{h}sess=2 peer=p: replaced\n",
            h = head("info")
        )
    );
}

#[test]
fn open_creates_0644_and_appends() {
    let (_t, dir) = tempdir();
    fs::write(dir.join("imapd.log"), "old\n").unwrap();
    let log = open(&dir, LogLevel::Info, 0);
    log.info("new");
    assert_eq!(read(log.path()), format!("old\n{}new\n", head("info")));
    let (_t2, dir2) = tempdir();
    let log2 = open(&dir2, LogLevel::Info, 0);
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(log2.path()).unwrap().permissions().mode() & 0o777;
    // The umask may only take bits away.
    assert_eq!(mode & !0o644, 0, "mode {mode:o}");
}

#[test_case(""; "empty")]
#[test_case("a/b"; "slash")]
fn bad_names_refused(name: &str) {
    let (_t, dir) = tempdir();
    let err = Log::open(&dir, name, LogLevel::Info, 0).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn missing_dir_is_an_error() {
    let (_t, dir) = tempdir();
    let err = Log::open(&dir.join("nope"), "imapd", LogLevel::Info, 0).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn from_config_uses_log_settings() {
    let (_t, dir) = tempdir();
    let text = format!("log_path {dir}\nlog_level error\nmax_log_size 1234\n");
    let config = parse_str(&text, "c".into(), Program::Imapd, Platform::Unix).config;
    let log = Log::from_config(&config, "imapdsvc").unwrap();
    assert_eq!(log.path(), dir.join("imapdsvc.log"));
    assert!(log.enabled(LogLevel::Error));
    assert!(!log.enabled(LogLevel::Info));
    assert_eq!(log.shared.max_size, 1234);
}

fn msg(i: usize) -> String {
    format!("m{i:02}")
}

/// §9: at `max_log_size` the file becomes `.1`, `.1` becomes `.2`, … up to 5, the oldest
/// dropped. With max_size 1 every write after the first rotates, so after 8 writes the
/// current file holds m08, `.1` m07, …, `.5` m03; m01 and m02 fell off the end.
#[test]
fn rotation_chain_keeps_five() {
    let (_t, dir) = tempdir();
    let log = open(&dir, LogLevel::Info, 1);
    for i in 1..=8 {
        log.info(msg(i));
    }
    let path = log.path().to_owned();
    assert_eq!(read(&path), format!("{}m08\n", head("info")));
    for n in 1..=KEEP {
        let want = format!("{}{}\n", head("info"), msg(8 - n as usize));
        assert_eq!(read(&rotated(&path, n)), want, "{}.{n}", path);
    }
    assert!(!rotated(&path, KEEP + 1).exists());
    assert!(dir.join("imapd.lock").exists());
}

/// §9: rotation happens once the file has reached the limit, not before.
#[test]
fn rotation_at_the_limit() {
    let (_t, dir) = tempdir();
    let line_len = format!("{}m01\n", head("info")).len() as u64;
    let log = open(&dir, LogLevel::Info, 2 * line_len);
    log.info(msg(1));
    log.info(msg(2));
    assert!(!rotated(log.path(), 1).exists(), "below the limit");
    log.info(msg(3));
    assert_eq!(
        read(&rotated(log.path(), 1)),
        format!("{h}m01\n{h}m02\n", h = head("info"))
    );
    assert_eq!(read(log.path()), format!("{}m03\n", head("info")));
}

#[test]
fn zero_max_size_never_rotates() {
    let (_t, dir) = tempdir();
    let log = open(&dir, LogLevel::Info, 0);
    for i in 1..=3 {
        log.info(msg(i));
    }
    assert_eq!(read(log.path()).lines().count(), 3);
    assert!(!rotated(log.path(), 1).exists());
}

/// Another writer rotated first: we reopen the new file instead of rotating again.
#[test]
fn follows_a_rotation_done_by_another_writer() {
    let (_t, dir) = tempdir();
    let a = open(&dir, LogLevel::Info, 1);
    let b = open(&dir, LogLevel::Info, 1);
    a.info(msg(1));
    a.info(msg(2)); // a rotates: .1 = m01
    b.info(msg(3)); // b's file (now .1) is full, but the path is a new file: reopen only
    let h = head("info");
    assert_eq!(read(&rotated(a.path(), 1)), format!("{h}m01\n"));
    assert_eq!(read(a.path()), format!("{h}m02\n{h}m03\n"));
    assert!(!rotated(a.path(), 2).exists());
}

#[test]
fn clones_share_one_file() {
    let (_t, dir) = tempdir();
    let log = open(&dir, LogLevel::Info, 1);
    let clone = log.clone();
    log.info(msg(1));
    clone.info(msg(2));
    log.info(msg(3));
    let h = head("info");
    assert_eq!(read(log.path()), format!("{h}m03\n"));
    assert_eq!(read(&rotated(log.path(), 1)), format!("{h}m02\n"));
    assert_eq!(read(&rotated(log.path(), 2)), format!("{h}m01\n"));
}

/// §9: a writer that may not rename (it switched user) still follows a rotation another
/// process did, instead of writing into `.1` for ever.
#[test]
fn blocked_writer_follows_a_rotation_done_by_another() {
    let (_t, dir) = tempdir();
    let blocked = open(&dir, LogLevel::Info, 1);
    blocked.shared.state.lock().unwrap().rotation_blocked = true;
    let rotator = open(&dir, LogLevel::Info, 1);
    blocked.info(msg(1));
    blocked.info(msg(2)); // over the limit, but blocked: no rotation
    rotator.info(msg(3)); // rotates: .1 = m01 m02
    blocked.info(msg(4)); // its file moved away: reopen, write to the new file
    let h = head("info");
    assert_eq!(
        read(&rotated(blocked.path(), 1)),
        format!("{h}m01\n{h}m02\n")
    );
    assert_eq!(read(blocked.path()), format!("{h}m03\n{h}m04\n"));
    assert!(!rotated(blocked.path(), 2).exists());
}
