//! `imapd auth-test` as built, with `authent_method external` and dmail-auth's fake
//! authenticator (`dmail-auth/examples/fake_authent.rs`): the exact output and exit code of a
//! success, a wrong password, `-DEAD`, a missing password, a bad `--ip`, `user_ip_address` and
//! `valid_users` refusals, and exactly what reached the authenticator.
//!
//! The fake is found where `cargo test -p dmail-auth` builds it, and built with
//! `cargo build -p dmail-auth --examples` when it is not there.

// Helpers outside #[test] functions panic on failure too, as a test should.
#![allow(clippy::expect_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use tempfile::TempDir;

fn fake_authent() -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let exe = std::env::current_exe().expect("current exe");
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join("examples")
        .join("fake_authent");
    if !path.exists() {
        BUILT.get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-p", "dmail-auth", "--examples"])
                .status()
                .expect("run cargo");
            assert!(
                status.success(),
                "cargo build -p dmail-auth --examples failed"
            );
        });
    }
    assert!(path.exists(), "{} is not built", path.display());
    path
}

/// A dmail.conf using the fake authenticator (with `fake_args`), plus `extra` lines.
struct Setup {
    dir: TempDir,
    config: String,
}

fn setup(fake_args: &str, extra: &str) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let echo = dir.path().join("echo");
    let config = dir.path().join("dmail.conf");
    let text = format!(
        "authent_method external\n\
         authent_process {} --echo {} {fake_args}\n\
         authent_timeout 5\n\
         drop_path /var/spool/mail\n\
         host_domain example.com\n\
         vdomain cc @computers.com computers.com /var/spool/vd/cc\n\
         {extra}",
        fake_authent().display(),
        echo.display()
    );
    std::fs::write(&config, text).expect("write config");
    let config = config.to_str().expect("UTF-8 temp path").to_owned();
    Setup { dir, config }
}

impl Setup {
    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_imapd"))
            .args(["auth-test", "-i", &self.config])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run imapd");
        let mut input = child.stdin.take().expect("stdin");
        // imapd may stop reading early (no LF within 4 KB): ignore a broken pipe.
        let _ = input.write_all(stdin);
        drop(input);
        child.wait_with_output().expect("wait for imapd")
    }

    /// Everything the fake authenticator received.
    fn received(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("echo")).unwrap_or_default()
    }
}

/// The stdout text and exit code, insisting on an empty stderr.
fn result(out: &Output) -> (String, Option<i32>) {
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout"),
        out.status.code(),
    )
}

#[test]
fn success_shows_the_user() {
    let s = setup("", "");
    let out = s.run(&["--ip", "192.0.2.1", "bob"], b"secret\n");
    assert_eq!(
        result(&out),
        (
            "ok\nuser: bob\ndomain: example.com\ndrop_file: /var/mail/bob\nuid: 1001\n".into(),
            Some(0)
        )
    );
    assert_eq!(s.received(), "check bob secret 192.0.2.1\nexit\n");
}

#[test]
fn success_with_a_computed_drop_file_and_no_uid() {
    let s = setup("", "");
    let out = s.run(&["alice"], b"pw\r\nignored\n");
    assert_eq!(
        result(&out),
        (
            "ok\nuser: alice\ndomain: example.com\ndrop_file: /var/spool/mail/alice\nuid: -\n"
                .into(),
            Some(0)
        )
    );
    assert_eq!(s.received(), "check alice pw\nexit\n");
}

#[test]
fn success_for_a_virtual_domain_user() {
    let s = setup("", "hash_spool 1\n");
    let out = s.run(&["sales@computers.com"], b"pw\n");
    assert_eq!(
        result(&out),
        (
            "ok\nuser: sales\ndomain: computers.com\ndrop_file: /var/spool/vd/cc/s/cc_sales\nuid: 2002\n"
                .into(),
            Some(0)
        )
    );
    assert_eq!(s.received(), "check cc_sales pw\nexit\n");
}

#[test]
fn authent_domain_sends_local_at_domain() {
    let s = setup("", "authent_domain true\n");
    let out = s.run(&["bob"], b"secret\n");
    assert_eq!(result(&out).1, Some(0));
    assert_eq!(s.received(), "check bob@example.com secret\nexit\n");
}

#[test]
fn no_domain_is_shown_as_a_dash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("dmail.conf");
    let text = format!(
        "authent_method external\nauthent_process {}\ndrop_path /m\n",
        fake_authent().display()
    );
    std::fs::write(&config, text).expect("write");
    let s = Setup {
        dir,
        config: config.to_str().expect("UTF-8").to_owned(),
    };
    let out = s.run(&["alice"], b"pw\n");
    assert_eq!(
        result(&out),
        (
            "ok\nuser: alice\ndomain: -\ndrop_file: /m/alice\nuid: -\n".into(),
            Some(0)
        )
    );
}

#[test]
fn wrong_password_fails() {
    let s = setup("", "");
    let out = s.run(&["bob"], b"wrong\n");
    assert_eq!(
        result(&out),
        (
            "failed: the external authenticator refused the login: bad password\n".into(),
            Some(1)
        )
    );
}

#[test]
fn lowercase_password_applies() {
    let s = setup("", "lowercase_password true\n");
    let out = s.run(&["bob"], b"SeCrEt\n");
    assert_eq!(result(&out).1, Some(0));
    assert_eq!(s.received(), "check bob secret\nexit\n");
}

#[test]
fn dead_authenticator_is_unavailable() {
    let s = setup("--mode dead", "");
    let out = s.run(&["bob"], b"secret\n");
    assert_eq!(
        result(&out),
        (
            "unavailable: the external authenticator cannot answer now (-DEAD): database down\n"
                .into(),
            Some(3)
        )
    );
}

#[test]
fn a_misbehaving_authenticator_is_unavailable() {
    let s = setup("--mode garbage", "");
    let out = s.run(&["bob"], b"secret\n");
    let (text, code) = result(&out);
    assert_eq!(code, Some(3));
    assert!(
        text.starts_with("unavailable: external authenticator ")
            && text.ends_with(": the reply is not +OK, -ERR, -DEAD or +DATA\n"),
        "{text}"
    );
}

#[test]
fn no_password_on_stdin() {
    let s = setup("", "");
    let mut long = vec![b'x'; 4096];
    long.push(b'\n');
    for input in [&b""[..], b"secret", &long] {
        let out = s.run(&["bob"], input);
        assert_eq!(
            result(&out),
            ("failed: no password on stdin\n".into(), Some(1)),
            "input of {} bytes",
            input.len()
        );
    }
    assert_eq!(s.received(), "", "the authenticator was asked");
}

#[test]
fn a_password_the_protocol_cannot_carry_never_reaches_the_authenticator() {
    let s = setup("", "");
    let out = s.run(&["bob"], b"two words\n");
    let (text, code) = result(&out);
    assert_eq!(code, Some(1));
    assert!(
        text.starts_with("failed: the password is empty or holds a space"),
        "{text}"
    );
    assert!(!text.contains("words"), "{text}");
    assert_eq!(s.received(), "");
}

#[test]
fn user_ip_address_refuses_other_clients() {
    let s = setup("", "user_ip_address 10.*, 192.0.2.7\n");
    let out = s.run(&["--ip", "192.0.2.1", "bob"], b"secret\n");
    assert_eq!(
        result(&out),
        (
            "failed: client address 192.0.2.1 is not allowed by user_ip_address\n".into(),
            Some(1)
        )
    );
    assert_eq!(s.received(), "");
    let out = s.run(&["--ip", "::ffff:10.1.2.3", "bob"], b"secret\n");
    assert_eq!(result(&out).1, Some(0));
    let out = s.run(&["--ip", "192.0.2.7", "bob"], b"secret\n");
    assert_eq!(result(&out).1, Some(0));
    assert_eq!(
        s.received(),
        "check bob secret 10.1.2.3\nexit\ncheck bob secret 192.0.2.7\nexit\n"
    );
}

#[test]
fn valid_users_refuses_others() {
    let s = setup("", "valid_users a*\n");
    let out = s.run(&["bob"], b"secret\n");
    assert_eq!(
        result(&out),
        (
            "failed: bob is not allowed by valid_users\n".into(),
            Some(1)
        )
    );
    assert_eq!(result(&s.run(&["alice"], b"pw\n")).1, Some(0));
}

#[test]
fn a_login_that_does_not_resolve_fails() {
    let s = setup("", "");
    let out = s.run(&["bob@nowhere.example"], b"secret\n");
    assert_eq!(
        result(&out),
        (
            "failed: the domain \"nowhere.example\" is neither a host_domain nor a vdomain\n"
                .into(),
            Some(1)
        )
    );
}

#[test]
fn nt_user_on_unix_is_a_configuration_error() {
    let s = setup("", "authent_method nt_user\n");
    let out = s.run(&["bob"], b"secret\n");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.ends_with(": authent_method nt_user works only on Windows\n"),
        "{err}"
    );
}

#[test]
fn bad_ip_is_a_usage_error() {
    let s = setup("", "");
    for args in [
        &["--ip", "not-an-ip", "bob"][..],
        &["--local-ip", "192.0.2.300", "bob"],
        &[],
    ] {
        let out = s.run(args, b"secret\n");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
    assert_eq!(s.received(), "");
}

#[test]
fn an_unreadable_config_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_imapd"))
        .args(["auth-test", "-i", "/nonexistent/dmail.conf", "bob"])
        .stdin(Stdio::null())
        .output()
        .expect("run imapd");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "auth-test: /nonexistent/dmail.conf: cannot read: no such file\n"
    );
}
