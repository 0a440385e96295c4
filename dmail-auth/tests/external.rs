//! The external authenticator client against the fake authenticator
//! (`examples/fake_authent.rs`): every reply form of dmail-conventions §3a, refusal of requests
//! that could smuggle a command (checked against exactly what reached the child), timeouts, dead
//! and misbehaving children replaced on next use, `authent_domain`, shutdown and the pool.
//!
//! The fake is built by `cargo test -p dmail-auth` (cargo builds a package's examples for its
//! tests); when it is missing, it is built here with `cargo build --example`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../test-support/example.rs"]
mod example_program;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dmail_auth::external::{MAX_DATA_LINES, Reply, Transcript};
use dmail_auth::{AuthError, Authenticated, Authenticator, External, Password, Pool, Source};
use dmail_conf::values::{CommandLine, SettingValue};
use dmail_conf::{Platform, Program, parse_str};
use tempfile::TempDir;

/// The path of this package's example `name` (built when missing).
fn example(name: &str) -> PathBuf {
    example_program::example("dmail-auth", name)
}

/// A fake authenticator with `args`, echoing what it receives to a file in a temporary dir.
struct Fake {
    dir: TempDir,
    echo: PathBuf,
    command: CommandLine,
}

fn fake(args: &str) -> Fake {
    let dir = tempfile::tempdir().unwrap();
    let echo = dir.path().join("echo");
    let line = format!(
        "{} --echo {} {args}",
        example("fake_authent").display(),
        echo.display()
    );
    let command = CommandLine::parse_value(&line, Platform::Unix).unwrap();
    Fake { dir, echo, command }
}

impl Fake {
    fn external(&self) -> External {
        External::new(self.command.clone(), Duration::from_secs(10))
    }
    /// Everything the child has received so far.
    fn received(&self) -> String {
        std::fs::read_to_string(&self.echo).unwrap_or_default()
    }
}

/// The fake's arguments to answer every request with `reply` exactly.
fn raw(reply: &str) -> String {
    let encoded = reply
        .replace(' ', "\\s")
        .replace('\n', "\\n")
        .replace('\r', "\\r");
    format!("--mode raw --reply {encoded}")
}

fn pw(text: &[u8]) -> Password {
    Password::new(text.to_vec())
}

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

fn is_gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

fn unavailable(result: Result<Reply, AuthError>) -> String {
    match result {
        Err(AuthError::Unavailable(reason)) => reason,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn success_from_the_table() {
    let f = fake("");
    let mut ext = f.external();
    assert_eq!(ext.child_id(), None, "started lazily");
    let reply = ext.check("bob", &pw(b"secret"), ip("192.0.2.1")).unwrap();
    assert_eq!(
        reply,
        Reply {
            user: "bob".into(),
            drop_file: Some("/var/mail/bob".into()),
            uid: Some(1001),
            info: vec![("quota".into(), "20000".into())],
        }
    );
    assert_eq!(ext.last_transcript(), &Transcript::default());
    assert_eq!(f.received(), "check bob secret 192.0.2.1\n");
}

#[test]
fn client_address_forms() {
    let f = fake("");
    let mut ext = f.external();
    ext.check("bob", &pw(b"secret"), None).unwrap();
    ext.check("bob", &pw(b"secret"), ip("::ffff:10.0.0.1"))
        .unwrap();
    ext.check("bob", &pw(b"secret"), ip("2001:db8::1")).unwrap();
    assert_eq!(
        f.received(),
        "check bob secret\ncheck bob secret 10.0.0.1\ncheck bob secret 2001:db8::1\n"
    );
}

#[test]
fn wrong_password_and_unknown_user_are_rejected_and_the_child_kept() {
    let f = fake("");
    let mut ext = f.external();
    let err = ext.check("bob", &pw(b"wrong"), None).unwrap_err();
    assert_eq!(
        err,
        AuthError::Rejected("the external authenticator refused the login: bad password".into())
    );
    let pid = ext.child_id().unwrap();
    let err = ext.check("nobody", &pw(b"x"), None).unwrap_err();
    assert_eq!(
        err,
        AuthError::Rejected("the external authenticator refused the login: unknown user".into())
    );
    assert_eq!(ext.child_id(), Some(pid));
}

#[test]
fn dead_is_unavailable_and_the_child_kept() {
    let f = fake("--mode dead");
    let mut ext = f.external();
    let reason = unavailable(ext.check("bob", &pw(b"secret"), None));
    assert_eq!(
        reason,
        "the external authenticator cannot answer now (-DEAD): database down"
    );
    let pid = ext.child_id().unwrap();
    unavailable(ext.check("bob", &pw(b"secret"), None));
    assert_eq!(ext.child_id(), Some(pid));
    assert_eq!(f.received(), "check bob secret\ncheck bob secret\n");
}

/// A reply that breaks the protocol: Unavailable, the child killed and reaped, a new one next
/// time.
fn assert_broken(args: &str, expected_reason: &str) {
    let f = fake(args);
    let mut ext = f.external();
    let reason = unavailable(ext.check("bob", &pw(b"secret"), None));
    assert!(
        reason.ends_with(expected_reason),
        "{args}: {reason:?} does not end with {expected_reason:?}"
    );
    assert_eq!(ext.child_id(), None, "{args}: the child was not dropped");
    // The next use starts a new child, which misbehaves again the same way.
    let again = unavailable(ext.check("bob", &pw(b"secret"), None));
    assert_eq!(again, reason);
    assert_eq!(f.received(), "check bob secret\ncheck bob secret\n");
}

#[test]
fn garbage_is_unavailable() {
    assert_broken(
        "--mode garbage",
        "the reply is not +OK, -ERR, -DEAD or +DATA",
    );
}

#[test]
fn death_mid_reply_is_unavailable() {
    assert_broken("--mode die", "it closed its output (it exited or died)");
}

#[test]
fn over_long_reply_is_unavailable() {
    assert_broken("--mode long", "a reply line is longer than 1024 bytes");
}

#[test]
fn malformed_replies_are_unavailable() {
    for (reply, reason) in [
        ("+OK bob\n", "+OK without a DROPFILE field"),
        ("+OK\n", "+OK without USER and DROPFILE"),
        ("+OK bob  /m\n", "+OK with an empty DROPFILE field"),
        (
            "+OK bob /m x\n",
            "+OK with a UID that is not a whole number",
        ),
        (
            "+OK bob /m 1 quota=\n",
            "+OK with INFO that is not label=\"value\" pairs",
        ),
        (
            "+OK bob /m 1 quota=\"lots\"\n",
            "+OK with a quota that is not a whole number of kbytes",
        ),
        ("OK\n", "the reply is not +OK, -ERR, -DEAD or +DATA"),
        ("\n", "the reply is not +OK, -ERR, -DEAD or +DATA"),
        (
            "+OK bob config\n+OK bob config\n",
            "more was sent after the final reply",
        ),
        (
            "+OK bob config\n-ERR x\n",
            "more was sent after the final reply",
        ),
    ] {
        assert_broken(&raw(reply), reason);
    }
}

#[test]
fn a_reply_without_a_line_ending_times_out() {
    let f = fake(&raw("+OK bob config"));
    let mut ext = External::new(f.command.clone(), Duration::from_millis(300));
    let reason = unavailable(ext.check("bob", &pw(b"secret"), None));
    assert!(
        reason.ends_with("no answer within authent_timeout"),
        "{reason}"
    );
    assert_eq!(ext.child_id(), None);
}

#[test]
fn line_length_limit_counts_the_line_ending() {
    // `+OK b /` is 7 bytes: pad the drop file so that the line is exactly 1,024 bytes with LF.
    let fits = format!("+OK b /{}\n", "x".repeat(1024 - 8));
    let reply = fake(&raw(&fits))
        .external()
        .check("b", &pw(b"p"), None)
        .unwrap();
    assert_eq!(reply.drop_file.unwrap().as_str().len(), 1 + 1024 - 8);

    let fits_crlf = format!("+OK b /{}\r\n", "x".repeat(1024 - 9));
    let reply = fake(&raw(&fits_crlf))
        .external()
        .check("b", &pw(b"p"), None)
        .unwrap();
    assert_eq!(reply.drop_file.unwrap().as_str().len(), 1 + 1024 - 9);

    let too_long = format!("+OK b /{}\n", "x".repeat(1024 - 7));
    assert_broken(&raw(&too_long), "a reply line is longer than 1024 bytes");
}

#[test]
fn crlf_replies_and_relative_drop_files() {
    let f = fake(&raw("+OK bob config 7 x=\"y z\"\r\n"));
    let reply = f.external().check("bob", &pw(b"secret"), None).unwrap();
    assert_eq!(reply.drop_file, None);
    assert_eq!(reply.uid, Some(7));
    assert_eq!(reply.info, [("x".to_owned(), "y z".to_owned())]);
    assert_eq!(reply.quota_kbytes(), None);

    let f = fake(&raw("-ERR\r\n"));
    let err = f.external().check("bob", &pw(b"x"), None).unwrap_err();
    assert_eq!(
        err,
        AuthError::Rejected("the external authenticator refused the login: ".into())
    );
}

#[test]
fn data_lines_are_collected() {
    let f = fake("--data 3");
    let mut ext = f.external();
    ext.check("bob", &pw(b"secret"), None).unwrap();
    assert_eq!(
        ext.last_transcript().data,
        ["line 0", "line 1", "line 2"].map(String::from)
    );
    // Also before a failure, and reset for every request.
    ext.check("bob", &pw(b"bad"), None).unwrap_err();
    assert_eq!(ext.last_transcript().data.len(), 3);

    let f = fake(&format!("--data {MAX_DATA_LINES}"));
    let mut ext = f.external();
    ext.check("bob", &pw(b"secret"), None).unwrap();
    assert_eq!(ext.last_transcript().data.len(), MAX_DATA_LINES);

    assert_broken(
        &format!("--data {}", MAX_DATA_LINES + 1),
        "more than 100 +DATA lines",
    );
}

#[test]
fn a_differing_reply_user_is_reported() {
    let f = fake("");
    let mut ext = f.external();
    let reply = ext.check("carol", &pw(b"pw"), None).unwrap();
    assert_eq!(reply.uid, Some(0));
    assert_eq!(
        ext.last_transcript().reply_user.as_deref(),
        Some("carol-real")
    );
    ext.check("bob", &pw(b"secret"), None).unwrap();
    assert_eq!(ext.last_transcript().reply_user, None);
}

#[test]
fn inexpressible_users_and_passwords_never_reach_the_child() {
    let f = fake("");
    let mut ext = f.external();
    let bad: &[&[u8]] = &[
        b"a b", b"a\rb", b"a\nb", b"a\0b", b"a\tb", b"a\x7fb", b" ", b"\n", b"", b"x\nexit",
    ];
    // Before the child is started: it is not even started.
    for b in bad {
        let user = String::from_utf8(b.to_vec()).unwrap();
        let err = ext.check(&user, &pw(b"secret"), None).unwrap_err();
        assert!(matches!(err, AuthError::Rejected(_)), "user {b:?}: {err:?}");
        let err = ext.check("bob", &pw(b), None).unwrap_err();
        assert!(
            matches!(err, AuthError::Rejected(_)),
            "password {b:?}: {err:?}"
        );
        assert!(
            !format!("{err}").contains("secret"),
            "a reason must not show a password"
        );
    }
    assert_eq!(ext.child_id(), None);
    assert_eq!(f.received(), "");

    // With a running child: only the good requests reach it.
    ext.check("bob", &pw(b"secret"), None).unwrap();
    for b in bad {
        let user = String::from_utf8(b.to_vec()).unwrap();
        ext.check(&user, &pw(b"secret"), None).unwrap_err();
        ext.check("bob", &pw(b), None).unwrap_err();
    }
    ext.check("alice", &pw(b"pw"), None).unwrap();
    assert_eq!(f.received(), "check bob secret\ncheck alice pw\n");
}

#[test]
fn a_child_that_died_between_requests_is_replaced() {
    let f = fake("--exit-after 1");
    let mut ext = f.external();
    ext.check("bob", &pw(b"secret"), None).unwrap();
    let first = ext.child_id().unwrap();
    // Wait until it has exited, so that the next request finds it dead.
    let until = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(format!("/proc/{first}/stat")).is_ok_and(|s| s.contains(") Z"))
        && Instant::now() < until
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    ext.check("alice", &pw(b"pw"), None).unwrap();
    let second = ext.child_id().unwrap();
    assert_ne!(first, second);
    assert!(is_gone(first), "the dead child was not reaped");
    assert_eq!(f.received(), "check bob secret\ncheck alice pw\n");
}

#[test]
fn a_killed_child_is_replaced() {
    let f = fake("");
    let mut ext = f.external();
    ext.check("bob", &pw(b"secret"), None).unwrap();
    let first = ext.child_id().unwrap();
    let status = Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The next request may find it dead before writing, or while reading; either way no
    // success from the dead child, and the request after that goes to a new one.
    let next = ext.check("bob", &pw(b"secret"), None);
    if let Err(e) = &next {
        assert!(matches!(e, AuthError::Unavailable(_)), "{e:?}");
        ext.check("bob", &pw(b"secret"), None).unwrap();
    }
    let second = ext.child_id().unwrap();
    assert_ne!(first, second);
    assert!(is_gone(first));
}

#[test]
fn a_slow_child_times_out_and_is_killed() {
    let f = fake("--mode slow --sleep 60");
    let mut ext = External::new(f.command.clone(), Duration::from_millis(300));
    // Start the child with a request that it will not answer in time.
    let started = Instant::now();
    let reason = unavailable(ext.check("bob", &pw(b"secret"), None));
    assert!(
        reason.ends_with("no answer within authent_timeout"),
        "{reason}"
    );
    // A generous tolerance: the point is that it did not wait for the 60 s sleep.
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(ext.child_id(), None);
    assert_eq!(f.received(), "check bob secret\n");
}

#[test]
fn timeout_kills_the_child_process() {
    let f = fake("--mode slow --sleep 60");
    let pid_file = f.dir.path().join("pid");
    let command = CommandLine::parse_value(
        &format!(
            "{} {} --pid-file {}",
            f.command.program(),
            f.command.args().join(" "),
            pid_file.display()
        ),
        Platform::Unix,
    )
    .unwrap();
    let mut ext = External::new(command, Duration::from_millis(300));
    unavailable(ext.check("bob", &pw(b"secret"), None));
    let pid: u32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert!(is_gone(pid), "the timed-out child {pid} is still there");
}

#[test]
fn an_unstartable_program_is_unavailable() {
    let command = CommandLine::parse_value("/nonexistent/authent -x", Platform::Unix).unwrap();
    let mut ext = External::new(command, Duration::from_secs(1));
    let reason = unavailable(ext.check("bob", &pw(b"secret"), None));
    assert!(
        reason.starts_with("external authenticator /nonexistent/authent: cannot be started:"),
        "{reason}"
    );
}

#[test]
fn shutdown_sends_exit_and_ends_the_child() {
    let f = fake("");
    let mut ext = f.external();
    ext.shutdown(); // nothing running: nothing to do
    ext.check("bob", &pw(b"secret"), None).unwrap();
    let pid = ext.child_id().unwrap();
    ext.shutdown();
    assert_eq!(ext.child_id(), None);
    assert!(is_gone(pid));
    assert_eq!(f.received(), "check bob secret\nexit\n");
    // A later request starts a new child.
    ext.check("alice", &pw(b"pw"), None).unwrap();
    assert_ne!(ext.child_id(), Some(pid));
}

#[test]
fn shutdown_kills_a_child_that_ignores_exit() {
    let f = fake("--ignore-exit");
    let mut ext = f.external();
    ext.check("bob", &pw(b"secret"), None).unwrap();
    let pid = ext.child_id().unwrap();
    ext.shutdown();
    assert!(is_gone(pid));
}

#[test]
fn shutdown_through_the_authenticator_trait_ends_the_child() {
    // What a session holding `policy::for_config`'s `Box<dyn Authenticator>` calls before it
    // switches user (dmail-conventions §11 step 3).
    let f = fake("");
    let mut ext = f.external();
    ext.check("bob", &pw(b"secret"), None).unwrap();
    let pid = ext.child_id().unwrap();
    let as_trait: &mut dyn Authenticator = &mut ext;
    as_trait.shutdown();
    assert_eq!(ext.child_id(), None);
    assert!(is_gone(pid));
    assert_eq!(f.received(), "check bob secret\nexit\n");
}

#[test]
fn dropping_ends_the_child() {
    let f = fake("");
    let mut ext = f.external();
    ext.check("bob", &pw(b"secret"), None).unwrap();
    let pid = ext.child_id().unwrap();
    drop(ext);
    assert!(is_gone(pid));
    assert_eq!(f.received(), "check bob secret\nexit\n");
}

/// A config using the fake, plus `extra` lines.
fn config(f: &Fake, extra: &str) -> dmail_conf::Config {
    let text = format!(
        "authent_method external\nauthent_process {}\n{extra}",
        f.command.program().to_owned() + " " + &f.command.args().join(" ")
    );
    let loaded = parse_str(&text, "dmail.conf".into(), Program::Imapd, Platform::Unix);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.config
}

#[test]
fn authenticate_sends_system_names_or_local_at_domain() {
    const VD: &str = "vdomain cc @computers.com computers.com /vd/cc\n";
    let cases = [
        ("", "bob", "secret", "check bob secret 192.0.2.9\n"),
        (
            "host_domain example.com\n",
            "bob",
            "secret",
            "check bob secret 192.0.2.9\n",
        ),
        (
            "authent_domain true\nhost_domain example.com\nhost_domain alias.example.com\n",
            "bob@alias.example.com",
            "secret",
            "check bob@example.com secret 192.0.2.9\n",
        ),
        (
            "authent_domain true\n",
            "bob",
            "secret",
            "check bob secret 192.0.2.9\n",
        ),
        (
            VD,
            "sales@computers.com",
            "pw",
            "check cc_sales pw 192.0.2.9\n",
        ),
        (
            "authent_domain true\nvdomain cc @computers.com computers.com /vd/cc\n",
            "sales@computers.com",
            "pw",
            "check sales@computers.com pw 192.0.2.9\n",
        ),
    ];
    for (extra, login, password, expected) in cases {
        let f = fake("");
        let c = config(&f, extra);
        let resolved = c.resolve_login(login.as_bytes(), None).unwrap();
        let mut ext = External::from_config(&c).unwrap();
        let auth = ext
            .authenticate(&c, &resolved, &pw(password.as_bytes()), ip("192.0.2.9"))
            .unwrap();
        assert_eq!(auth.system_name, resolved.system_name);
        assert_eq!(auth.source, Source::External);
        assert_eq!(f.received(), expected, "{extra:?} {login}");
    }
}

#[test]
fn authenticate_fills_in_the_reply() {
    let f = fake("");
    let c = config(&f, "");
    let mut ext = External::from_config(&c).unwrap();
    let bob = c.resolve_login(b"bob", None).unwrap();
    assert_eq!(
        ext.authenticate(&c, &bob, &pw(b"secret"), None).unwrap(),
        Authenticated {
            system_name: "bob".into(),
            source: Source::External,
            uid: Some(1001),
            gid: None,
            home: None,
            drop_file: Some("/var/mail/bob".into()),
            quota_kbytes: Some(20000),
        }
    );
    let alice = c.resolve_login(b"alice", None).unwrap();
    let auth = ext.authenticate(&c, &alice, &pw(b"pw"), None).unwrap();
    assert_eq!(
        (auth.drop_file, auth.uid, auth.quota_kbytes),
        (None, None, None)
    );
}

#[test]
fn authent_timeout_comes_from_the_config() {
    let f = fake("--mode slow --sleep 60");
    let c = config(&f, "authent_timeout 1\n");
    let mut ext = External::from_config(&c).unwrap();
    let started = Instant::now();
    let reason = unavailable(ext.check("bob", &pw(b"secret"), None));
    assert!(
        reason.ends_with("no answer within authent_timeout"),
        "{reason}"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn imapd_authent_process_wins() {
    let f = fake("");
    let text = format!(
        "authent_process /nonexistent/other\nimapd_authent_process {} {}\n",
        f.command.program(),
        f.command.args().join(" ")
    );
    let c = parse_str(&text, "c".into(), Program::Imapd, Platform::Unix).config;
    External::from_config(&c)
        .unwrap()
        .check("bob", &pw(b"secret"), None)
        .unwrap();
    assert_eq!(f.received(), "check bob secret\nexit\n");
}

#[test]
fn pool_hands_out_at_most_authent_number() {
    let f = fake("");
    let c = config(&f, "authent_number 2\nauthent_timeout 1\n");
    let pool = Pool::from_config(&c).unwrap();
    assert_eq!(pool.idle(), 2);
    let mut a = pool.checkout().unwrap();
    let mut b = pool.checkout().unwrap();
    a.check("bob", &pw(b"secret"), None).unwrap();
    b.check("alice", &pw(b"pw"), None).unwrap();
    let (pa, pb) = (a.child_id().unwrap(), b.child_id().unwrap());
    assert_ne!(pa, pb);
    let err = pool.checkout().unwrap_err();
    assert!(matches!(err, AuthError::Unavailable(_)), "{err:?}");
    drop(a);
    // The one checked in is handed out again, its child still running.
    let again = pool.checkout().unwrap();
    assert_eq!(again.child_id(), Some(pa));
    drop(again);
    drop(b);
    pool.shutdown();
    assert!(is_gone(pa) && is_gone(pb));
}

#[test]
fn pool_waits_for_a_checkin() {
    let f = fake("");
    let c = config(&f, "authent_number 1\nauthent_timeout 10\n");
    let pool = Pool::from_config(&c).unwrap();
    std::thread::scope(|s| {
        let held = pool.checkout().unwrap();
        let waiter = s.spawn(|| {
            let mut e = pool.checkout().unwrap();
            e.check("bob", &pw(b"secret"), None).map(|r| r.user)
        });
        std::thread::sleep(Duration::from_millis(100));
        drop(held);
        assert_eq!(waiter.join().unwrap().unwrap(), "bob");
    });
}
