//! The login policy (dmail-conventions §2, §3) around an in-memory authenticator: resolution,
//! `imapd_strip_domain`, the lowercase rules, `valid_users`, `user_ip_address`, virtual domains
//! by suffix and by local address, and the per-connection failure delay and limit.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::net::IpAddr;
use std::time::Duration;

use dmail_auth::policy::{self, LoginGuard, NtUser};
use dmail_auth::{AuthError, Authenticated, Authenticator, Password, Source};
use dmail_conf::values::AuthentMethod;
use dmail_conf::{Config, Platform, Program, ResolvedLogin, parse_str};
use test_case::test_case;

/// Knows `bob`, `Bob`, `cc_sales` and `dd_sales`, all with password `secret`; remembers the
/// password it was given.
#[derive(Default)]
struct Fake {
    seen_password: Option<Vec<u8>>,
}

impl Authenticator for Fake {
    fn authenticate(
        &mut self,
        _: &Config,
        login: &ResolvedLogin,
        password: &Password,
        _: Option<IpAddr>,
    ) -> Result<Authenticated, AuthError> {
        self.seen_password = Some(password.expose().to_vec());
        let known = ["bob", "Bob", "cc_sales", "dd_sales"].contains(&login.system_name.as_str());
        if !known {
            return Err(AuthError::Rejected("no such user".into()));
        }
        if password.expose() != b"secret" {
            return Err(AuthError::Rejected("wrong password".into()));
        }
        Ok(Authenticated {
            system_name: login.system_name.clone(),
            source: Source::External,
            uid: None,
            gid: None,
            home: None,
            drop_file: None,
            quota_kbytes: None,
        })
    }
}

fn config(text: &str) -> Config {
    let loaded = parse_str(text, "dmail.conf".into(), Program::Imapd, Platform::Unix);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    loaded.config
}

fn ip(s: &str) -> Option<IpAddr> {
    (!s.is_empty()).then(|| s.parse().unwrap())
}

/// The system name of a successful login, or the rejection reason.
fn outcome(
    c: &Config,
    login: &str,
    password: &str,
    client: &str,
    local: &str,
) -> Result<String, String> {
    let pw = Password::new(password.as_bytes().to_vec());
    match policy::login(
        c,
        &mut Fake::default(),
        login.as_bytes(),
        &pw,
        ip(client),
        ip(local),
    ) {
        Ok(ok) => {
            assert_eq!(ok.resolved.system_name, ok.user.system_name);
            Ok(ok.user.system_name)
        }
        Err(AuthError::Rejected(r)) => Err(r),
        Err(e) => panic!("{e:?}"),
    }
}

const VD: &str = "host_domain example.com\nvdomain cc @computers.com computers.com /vd/cc\nvdomain dd 192.0.2.80 dd.example /vd/dd\n";

// §3 steps 1–4.
#[test_case("", "bob", Ok("bob") ; "plain login")]
#[test_case("", "bob@example.com", Ok("bob") ; "host_domain")]
#[test_case("", "bob@EXAMPLE.com", Ok("bob") ; "host_domain any case")]
#[test_case("imapd_strip_domain @mail.example.com\n", "bob@MAIL.example.com", Ok("bob") ; "strip_domain")]
#[test_case("imapd_strip_domain @mail.example.com\n", "bob@mail.example.org", Err("the domain") ; "strip_domain other suffix")]
#[test_case("", "Bob", Ok("Bob") ; "case kept by default")]
#[test_case("lowercase_username true\n", "BOB", Ok("bob") ; "lowercase_username")]
#[test_case("", "sales@computers.com", Ok("cc_sales") ; "vdomain by suffix")]
#[test_case("", "sales@mail.computers.com", Err("the domain") ; "no subdomain matching")]
#[test_case("", "bob@", Err("the login has an empty domain") ; "empty domain")]
#[test_case("", "@example.com", Err("the login has an empty local part") ; "empty local part")]
#[test_case("", "carol", Err("no such user") ; "unknown user")]
fn resolution(extra: &str, login: &str, expected: Result<&str, &str>) {
    let c = config(&format!("{VD}{extra}"));
    match (outcome(&c, login, "secret", "", ""), expected) {
        (Ok(got), Ok(want)) => assert_eq!(got, want),
        (Err(got), Err(want)) => assert!(got.starts_with(want), "{got}"),
        (got, want) => panic!("got {got:?}, want {want:?}"),
    }
}

// §3 step 2: with no domain typed, the vdomain whose address the client connected to.
#[test_case("192.0.2.80", Ok("dd_sales") ; "ipv4 local address")]
#[test_case("::ffff:192.0.2.80", Ok("dd_sales") ; "ipv4-mapped local address")]
#[test_case("192.0.2.81", Err("no such user") ; "other address is the main domain")]
#[test_case("", Err("no such user") ; "unknown local address is the main domain")]
fn vdomain_by_local_address(local: &str, expected: Result<&str, &str>) {
    let c = config(VD);
    assert_eq!(
        outcome(&c, "sales", "secret", "", local),
        expected.map(str::to_owned).map_err(str::to_owned)
    );
}

// §2 lowercase_password: the authenticator sees the lower-cased password.
#[test_case(false, "SeCrEt", b"SeCrEt", false ; "kept")]
#[test_case(true, "SeCrEt", b"secret", true ; "lowered")]
#[test_case(true, "SÉCRET", "sÉcret".as_bytes(), false ; "ascii only")]
fn lowercase_password(on: bool, typed: &str, seen: &[u8], accepted: bool) {
    let c = config(&format!("lowercase_password {on}\n"));
    let mut fake = Fake::default();
    let pw = Password::new(typed.as_bytes().to_vec());
    let r = policy::login(&c, &mut fake, b"bob", &pw, None, None);
    assert_eq!(r.is_ok(), accepted);
    assert_eq!(fake.seen_password.as_deref(), Some(seen));
}

// §2 valid_users: `*` patterns against the system name; any line; none = all.
#[test_case("", "bob", true ; "none set allows all")]
#[test_case("valid_users bob\n", "bob", true ; "exact")]
#[test_case("valid_users bob\n", "Bob", false ; "case-sensitive")]
#[test_case("valid_users b*\n", "Bob", false ; "wildcard case-sensitive")]
#[test_case("valid_users cc_*\n", "sales@computers.com", true ; "system name of a vdomain user")]
#[test_case("valid_users sales\n", "sales@computers.com", false ; "local part is not the system name")]
#[test_case("valid_users alice, cc_*\n", "sales@computers.com", true ; "comma list")]
#[test_case("valid_users alice\nvalid_users bob\n", "bob", true ; "second line")]
#[test_case("valid_users alice\nvalid_users carol\n", "bob", false ; "no line matches")]
fn valid_users(extra: &str, login: &str, allowed: bool) {
    let c = config(&format!("{VD}{extra}"));
    let r = outcome(&c, login, "secret", "", "");
    assert_eq!(r.is_ok(), allowed, "{r:?}");
    if !allowed {
        assert!(r.unwrap_err().ends_with("is not allowed by valid_users"));
    }
}

// §2 user_ip_address and §6 canonical addresses.
#[test_case("", "203.0.113.9", true ; "none set allows all")]
#[test_case("", "", true ; "none set allows unknown")]
#[test_case("user_ip_address 10.1.*\n", "10.1.2.3", true ; "ipv4 wildcard")]
#[test_case("user_ip_address 10.1.*\n", "10.11.2.3", false ; "the dot is part of the prefix")]
#[test_case("user_ip_address 10.1.*\n", "10.2.0.1", false ; "ipv4 outside")]
#[test_case("user_ip_address 10.1.*\n", "::ffff:10.1.2.3", true ; "ipv4-mapped matches ipv4 pattern")]
#[test_case("user_ip_address ::ffff:10.1.*\n", "::ffff:10.1.2.3", false ; "mapped form never matches")]
#[test_case("user_ip_address 2001:db8::*\n", "2001:db8::25", true ; "ipv6")]
#[test_case("user_ip_address 2001:db8::*\n", "2001:DB8:0::25", true ; "ipv6 canonical text")]
#[test_case("user_ip_address 2001%3Adb8%3A%3A*\n", "2001:db8::25", true ; "ipv6 file-name form")]
#[test_case("user_ip_address 2001:db8::*\n", "2001:db9::25", false ; "ipv6 outside")]
#[test_case("user_ip_address 10.1.*, 192.0.2.5\n", "192.0.2.5", true ; "comma list")]
#[test_case("user_ip_address 10.1.*\nuser_ip_address 192.0.2.*\n", "192.0.2.5", true ; "second line")]
#[test_case("user_ip_address 10.1.*\n", "", false ; "unknown address fails closed")]
fn user_ip_address(extra: &str, client: &str, allowed: bool) {
    let c = config(extra);
    let r = outcome(&c, "bob", "secret", client, "");
    assert_eq!(r.is_ok(), allowed, "{r:?}");
    if !allowed {
        assert!(
            r.unwrap_err()
                .ends_with("is not allowed by user_ip_address")
        );
    }
}

#[test]
fn ip_check_comes_before_the_authenticator() {
    let c = config("user_ip_address 10.*\n");
    let mut fake = Fake::default();
    let pw = Password::new(b"secret".to_vec());
    assert!(policy::login(&c, &mut fake, b"bob", &pw, ip("192.0.2.1"), None).is_err());
    assert_eq!(fake.seen_password, None, "the authenticator was not asked");
}

// §2 imapd_login_delay and imapd_max_login_failures.
#[test_case("", &[(2, false), (2, false), (2, true)] ; "defaults 2 s and 3 failures")]
#[test_case("imapd_login_delay 0\nimapd_max_login_failures 1\n", &[(0, true)] ; "one failure")]
#[test_case("imapd_login_delay 5\nimapd_max_login_failures 0\n", &[(5, false), (5, false), (5, false), (5, false)] ; "zero means no limit")]
fn failure_delay_and_limit(extra: &str, expected: &[(u64, bool)]) {
    let c = config(extra);
    let mut guard = LoginGuard::new(&c);
    let no = AuthError::Rejected("wrong password".into());
    for (i, &(delay, close)) in expected.iter().enumerate() {
        let after = guard.failed(&no);
        assert_eq!(after.delay, Duration::from_secs(delay), "failure {}", i + 1);
        assert_eq!(after.close, close, "failure {}", i + 1);
        assert_eq!(guard.limit_reached(), close);
    }
    assert_eq!(guard.failures() as usize, expected.len());
}

#[test]
fn unavailable_is_delayed_but_not_counted() {
    let c = config("imapd_max_login_failures 1\n");
    let mut guard = LoginGuard::new(&c);
    for _ in 0..3 {
        let after = guard.failed(&AuthError::Unavailable("authenticator timed out".into()));
        assert_eq!(after.delay, Duration::from_secs(2));
        assert!(!after.close);
    }
    assert!(
        guard
            .failed(&AuthError::Rejected("wrong password".into()))
            .close
    );
}

#[test]
fn authenticator_for_each_method() {
    let mut c = Config::defaults(Platform::Unix);
    assert!(policy::for_config(&c).is_ok());
    c.authent_method = AuthentMethod::NtUser;
    let err = policy::for_config(&c).err().unwrap();
    assert_eq!(
        err,
        AuthError::Unavailable(
            "authent_method nt_user works only on Windows; use unix_user or external on Unix"
                .into()
        )
    );
    assert_eq!(NtUser::new().err(), Some(err));
    c.authent_method = AuthentMethod::External;
    assert!(matches!(
        policy::for_config(&c),
        Err(AuthError::Unavailable(_))
    ));
}
