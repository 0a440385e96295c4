//! The command line of the built `imapd`: server mode without a subcommand, `--version`,
//! `--help`, usage errors, and `-i` on either side of the subcommand.

// Helpers outside #[test] functions panic on failure too, as a test should.
#![allow(clippy::expect_used)]

use std::process::{Command, Output, Stdio};

fn imapd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imapd"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run imapd")
}

/// What the server says when dmail.conf cannot be read (no path in it).
const BYE: &[u8] = b"* BYE Server configuration cannot be read; try again later\r\n";

#[test]
fn no_subcommand_serves_on_stdout_only() {
    // /etc/dmail.conf may or may not exist here: either a greeting (then EOF on stdin ends the
    // session) or the BYE for an unreadable configuration, and never a byte on stderr.
    let out = imapd(&[]);
    assert!(
        out.stdout.starts_with(b"* OK [CAPABILITY ") || out.stdout == BYE,
        "stdout: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stderr.is_empty(), "stderr: {:?}", out.stderr);
}

#[test]
fn no_subcommand_with_an_unreadable_config_says_bye() {
    let out = imapd(&["-i", "/nonexistent/dmail.conf"]);
    assert_eq!(out.stdout, BYE);
    assert!(out.stderr.is_empty(), "stderr: {:?}", out.stderr);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn version() {
    let out = imapd(&["--version"]);
    let expected = format!("imapd (dmail-imapd) {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    assert!(out.stderr.is_empty());
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn help_describes_the_program_and_its_subcommands() {
    let out = imapd(&["--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("DMail-compatible IMAP server"), "{text}");
    assert!(text.contains("check-config"), "{text}");
    assert!(text.contains("whereis"), "{text}");
    assert!(text.contains("auth-test"), "{text}");
    assert!(text.contains("-i <FILE>"), "{text}");
    assert_eq!(out.status.code(), Some(0));
}

#[test_case::test_case(&["bogus"]; "unknown subcommand")]
#[test_case::test_case(&["--bogus"]; "unknown option")]
#[test_case::test_case(&["check-config", "-i"]; "i without a value")]
#[test_case::test_case(&["check-config", "extra"]; "check-config takes no argument")]
#[test_case::test_case(&["whereis"]; "whereis without a login")]
#[test_case::test_case(&["auth-test"]; "auth-test without a login")]
#[test_case::test_case(&["auth-test", "--ip", "1.2.3", "bob"]; "auth-test with a bad ip")]
#[test_case::test_case(&["whereis", "--local-ip", "not-an-ip", "bob"]; "bad local ip")]
#[test_case::test_case(&["whereis", "--local-ip", "192.0.2.300", "bob"]; "ipv4 out of range")]
fn usage_errors_exit_2(args: &[&str]) {
    let out = imapd(args);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    assert!(!out.stderr.is_empty());
}

#[test]
fn colours_are_not_taken_from_the_environment() {
    let out = Command::new(env!("CARGO_BIN_EXE_imapd"))
        .arg("bogus")
        .env("CLICOLOR_FORCE", "1")
        .env("TERM", "xterm-256color")
        .output()
        .expect("run imapd");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !out.stderr.contains(&0x1b),
        "escape codes in {:?}",
        out.stderr
    );
}

#[test]
fn config_option_before_or_after_the_subcommand() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dmail.conf");
    std::fs::write(
        &path,
        "drop_path /var/spool/mail\nhost_domain example.com\n",
    )
    .expect("write");
    let path = path.to_str().expect("UTF-8 temp path");
    let before = imapd(&["-i", path, "check-config"]);
    let after = imapd(&["check-config", "-i", path]);
    assert_eq!(before.status.code(), Some(0));
    assert_eq!(before.stdout, after.stdout);
    assert_eq!(before.status.code(), after.status.code());
    let text = String::from_utf8_lossy(&before.stdout);
    assert!(text.contains("drop_path = /var/spool/mail\n"), "{text}");

    let before = imapd(&["-i", path, "whereis", "bob"]);
    let after = imapd(&["whereis", "bob", "-i", path]);
    assert_eq!(before.status.code(), Some(0));
    assert_eq!(before.stdout, after.stdout);
}

#[test]
fn tls_is_for_server_mode_only() {
    let out = imapd(&["--tls", "check-config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--tls and --session-slots are for server mode"),
        "{err}"
    );
    // After the subcommand it is not one of the subcommand's options either.
    let out = imapd(&["check-config", "--tls"]);
    assert_eq!(out.status.code(), Some(2));
    let out = imapd(&["--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("--tls"));
}
