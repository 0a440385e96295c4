//! The shipped example configuration, `contrib/dmail.conf.example`, as the built `imapd
//! check-config` reads it: clean as shipped, clean with every example line switched on, and
//! covering every setting IMAPD honours, so it cannot fall behind the settings table.

// Helpers outside #[test] functions panic on failure too, as a test should.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("contrib")
        .join("dmail.conf.example")
}

/// The diagnostics `imapd -i PATH check-config` prints (after the settings and a blank line),
/// having checked that it succeeded and wrote nothing on stderr.
fn diagnostics(path: &Path) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_imapd"))
        .arg("-i")
        .arg(path)
        .arg("check-config")
        .output()
        .expect("run imapd");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 stdout");
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let (_, diagnostics) = stdout.split_once("\n\n").expect("a blank line");
    diagnostics.lines().map(str::to_owned).collect()
}

/// The example's `#name value` lines (settings left off) switched on. Prose comments have a
/// blank after the `#`, so they stay comments.
fn all_switched_on(text: &str) -> String {
    text.lines()
        .map(|line| match line.strip_prefix('#') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_lowercase()) => rest,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The setting names of the lines that are not comments.
fn names(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_ascii_lowercase)
        .collect()
}

#[test]
fn the_example_has_no_errors_warnings_or_unknown_settings() {
    assert_eq!(diagnostics(&example()), Vec::<String>::new());
}

#[test]
fn every_example_line_switched_on_is_a_known_setting_without_problems() {
    let text = std::fs::read_to_string(example()).expect("read example");
    let on = all_switched_on(&text);
    for name in names(&on) {
        assert!(
            dmail_conf::SETTINGS.iter().any(|s| s.name == name),
            "{name} is not an IMAPD setting"
        );
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("dmail.conf");
    // The example's certificate paths are placeholders, which check-config would load (and
    // fail to): those two lines stay off here; their names were checked above.
    let on: String = on
        .lines()
        .filter(|line| !line.starts_with("imapd_tls_"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&path, on).expect("write");
    assert_eq!(diagnostics(&path), Vec::<String>::new());
}

#[test]
fn the_example_shows_every_setting_imapd_honours() {
    let text = std::fs::read_to_string(example()).expect("read example");
    let shown = names(&all_switched_on(&text));
    let missing: Vec<&str> = dmail_conf::SETTINGS
        .iter()
        .map(|s| s.name)
        .filter(|name| !shown.iter().any(|n| n == name))
        .collect();
    assert!(missing.is_empty(), "not in the example: {missing:?}");
}
