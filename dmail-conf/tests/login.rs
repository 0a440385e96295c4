//! Integration tests for `Config::resolve_login`, dmail-conventions §3 steps 1–4: strip domain,
//! split at the last `@`, host_domain before vdomains, vdomain matching by `@SUFFIX` or DOMAIN,
//! IP vdomains by local address, the exact `LoginError`s, `lowercase_username`, system names with
//! `vdomain_separator`, and `ResolvedLogin::domain_name` — each on Unix and NT configurations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;

use dmail_conf::{Config, LoginDomain, LoginError, Platform, Program, parse_str};
use test_case::test_case;

/// Main domain example.com (alias mail.example.org) and a set of virtual domains. Indexes:
/// 0 cc, 1 dup (same suffix as cc), 2 hd (names a host_domain), 3 ip, 4 ip2 (same address as ip),
/// 5 v6, 6 Mx (upper-case prefix), 7 dn (suffix differs from DOMAIN).
const BASE: &str = "\
host_domain example.com
host_domain mail.example.org
vdomain cc @computers.com computers.com /var/spool/vd/cc
vdomain dup @Computers.COM other.com /var/spool/vd/dup
vdomain hd @example.com example.com /var/spool/vd/hd
vdomain ip 192.0.2.10 ipdomain.com /var/spool/vd/ip
vdomain ip2 192.0.2.10 second-ip.com /var/spool/vd/ip2
vdomain v6 2001:db8::10 v6.com /var/spool/vd/v6
vdomain Mx @mixed.com mixed.com /var/spool/vd/mx
vdomain dn @suffix.net realdomain.org /var/spool/vd/dn
";

/// Virtual domains only: no host_domain.
const NO_HOST: &str = "vdomain cc @computers.com computers.com /var/spool/vd/cc\n";

/// What a login should resolve to.
#[derive(Debug)]
enum Want {
    /// The main domain: local part, system name, domain_name().
    Main(&'static str, &'static str, Option<&'static str>),
    /// Virtual domain by index: local part, system name, domain_name().
    Virtual(usize, &'static str, &'static str, &'static str),
    /// A failed login.
    Fails(LoginError),
}
use Want::{Fails, Main, Virtual};

fn unknown(domain: &str) -> Want {
    Fails(LoginError::UnknownDomain(domain.to_owned()))
}

fn config(base: &str, extra: &str, platform: Platform) -> Config {
    let loaded = parse_str(
        &format!("{base}{extra}"),
        "/etc/dmail.conf".into(),
        Program::Imapd,
        platform,
    );
    assert!(
        loaded.diagnostics.is_empty(),
        "{:?}",
        loaded
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    );
    loaded.config
}

// ---- step 2: the main domain and host_domain ----
// No domain typed and no address: main domain; domain_name is the first host_domain.
#[test_case(BASE, "", b"bob", None, Main("bob", "bob", Some("example.com")); "bare login is main")]
#[test_case(BASE, "", b"bob@example.com", None, Main("bob", "bob", Some("example.com")); "host_domain typed")]
// host_domain compared ASCII case-insensitively.
#[test_case(BASE, "", b"bob@EXAMPLE.Com", None, Main("bob", "bob", Some("example.com")); "host_domain any case")]
// Later host_domains are aliases of the main domain; domain_name is still the first.
#[test_case(BASE, "", b"bob@Mail.Example.ORG", None, Main("bob", "bob", Some("example.com")); "host_domain alias")]
// host_domain wins over a vdomain naming the same domain (vdomain hd).
#[test_case(BASE, "", b"bob@example.com", Some("192.0.2.10"), Main("bob", "bob", Some("example.com")); "host_domain beats vdomain and address")]
// No host_domain at all: main domain without a name.
#[test_case(NO_HOST, "", b"bob", None, Main("bob", "bob", None); "no host_domain gives no name")]
#[test_case(NO_HOST, "", b"bob@example.com", None, unknown("example.com"); "no host_domain so domain unknown")]
// ---- step 2: split at the LAST @ ----
#[test_case(BASE, "", b"a@b@computers.com", None, Virtual(0, "a@b", "cc_a@b", "computers.com"); "last at splits virtual")]
#[test_case(BASE, "", b"bob@computers.com@example.com", None, Main("bob@computers.com", "bob@computers.com", Some("example.com")); "last at splits main")]
// ---- step 2: vdomains by @SUFFIX or DOMAIN, case-insensitive, first line wins ----
#[test_case(BASE, "", b"sales@computers.com", None, Virtual(0, "sales", "cc_sales", "computers.com"); "suffix")]
#[test_case(BASE, "", b"sales@COMPUTERS.com", None, Virtual(0, "sales", "cc_sales", "computers.com"); "suffix any case and first line wins")]
#[test_case(BASE, "", b"u@suffix.net", None, Virtual(7, "u", "dn_u", "realdomain.org"); "by suffix when domain differs")]
#[test_case(BASE, "", b"u@RealDomain.ORG", None, Virtual(7, "u", "dn_u", "realdomain.org"); "by domain any case")]
#[test_case(BASE, "", b"u@other.com", None, Virtual(1, "u", "dup_u", "other.com"); "second line by its own domain")]
// No sub-domain matching.
#[test_case(BASE, "", b"x@mail.computers.com", None, unknown("mail.computers.com"); "no subdomain of suffix")]
#[test_case(BASE, "", b"x@sub.example.com", None, unknown("sub.example.com"); "no subdomain of host_domain")]
#[test_case(BASE, "", b"x@computers.co", None, unknown("computers.co"); "no prefix match")]
#[test_case(BASE, "", b"x@unknown.org", None, unknown("unknown.org"); "unknown domain")]
// ---- step 2: IP vdomains, only when no domain is typed ----
#[test_case(BASE, "", b"bob", Some("192.0.2.10"), Virtual(3, "bob", "ip_bob", "ipdomain.com"); "by local address first line wins")]
#[test_case(BASE, "", b"bob", Some("::ffff:192.0.2.10"), Virtual(3, "bob", "ip_bob", "ipdomain.com"); "by mapped local address")]
#[test_case(BASE, "", b"bob", Some("2001:db8::10"), Virtual(5, "bob", "v6_bob", "v6.com"); "by IPv6 local address")]
#[test_case(BASE, "", b"bob", Some("192.0.2.99"), Main("bob", "bob", Some("example.com")); "other address is main")]
#[test_case(BASE, "", b"sales@computers.com", Some("192.0.2.10"), Virtual(0, "sales", "cc_sales", "computers.com"); "typed domain ignores address")]
// An IP vdomain is selected by the local address alone: typing its DOMAIN does not reach it.
#[test_case(BASE, "", b"bob@ipdomain.com", Some("192.0.2.10"), unknown("ipdomain.com"); "typed domain of an IP vdomain")]
// ---- failures ----
#[test_case(BASE, "", b"", None, Fails(LoginError::EmptyLocalPart); "empty login")]
#[test_case(BASE, "", b"@example.com", None, Fails(LoginError::EmptyLocalPart); "empty local part")]
#[test_case(BASE, "", b"@computers.com", None, Fails(LoginError::EmptyLocalPart); "empty local part virtual")]
#[test_case(BASE, "", b"bob@", None, Fails(LoginError::EmptyDomain); "empty domain")]
#[test_case(BASE, "", b"@", None, Fails(LoginError::EmptyDomain); "at sign only")]
#[test_case(BASE, "", b"bob@computers.com@", None, Fails(LoginError::EmptyDomain); "trailing at")]
#[test_case(BASE, "", b"b\xF6b", None, Fails(LoginError::NotUtf8); "not utf8")]
#[test_case(BASE, "", b"bob@caf\xE9.com", None, Fails(LoginError::NotUtf8); "not utf8 domain")]
// ---- step 1: imapd_strip_domain, before everything else ----
#[test_case(BASE, "imapd_strip_domain @mail.example.net\n", b"bob@MAIL.Example.net", None, Main("bob", "bob", Some("example.com")); "strip domain case-insensitive")]
#[test_case(BASE, "imapd_strip_domain @mail.example.net\n", b"bob@mail.example.net.evil", None, unknown("mail.example.net.evil"); "strip only a suffix")]
#[test_case(BASE, "imapd_strip_domain @mail.example.net\n", b"@mail.example.net", None, Fails(LoginError::EmptyLocalPart); "strip leaves nothing")]
#[test_case(BASE, "imapd_strip_domain .internal\n", b"sales@computers.com.INTERNAL", None, Virtual(0, "sales", "cc_sales", "computers.com"); "strip then split")]
#[test_case(BASE, "imapd_strip_domain @mail.example.net\n", b"bob", Some("192.0.2.10"), Virtual(3, "bob", "ip_bob", "ipdomain.com"); "nothing to strip")]
// ---- step 3: lowercase_username lowers the local part only ----
#[test_case(BASE, "", b"Bob@Computers.com", None, Virtual(0, "Bob", "cc_Bob", "computers.com"); "case kept by default")]
#[test_case(BASE, "lowercase_username true\n", b"BOB", None, Main("bob", "bob", Some("example.com")); "lowercase main")]
#[test_case(BASE, "lowercase_username true\n", b"Sales@MIXED.com", None, Virtual(6, "sales", "Mx_sales", "mixed.com"); "lowercase keeps prefix case")]
#[test_case(BASE, "lowercase_username true\n", b"\xC3\x89mile", None, Main("\u{c9}mile", "\u{c9}mile", Some("example.com")); "lowercase is ASCII only")]
// ---- step 4: system name PREFIX + vdomain_separator + local, whatever drop_prefix says ----
#[test_case(BASE, "vdomain_separator .\n", b"sales@computers.com", None, Virtual(0, "sales", "cc.sales", "computers.com"); "custom separator")]
#[test_case(BASE, "vdomain_separator --\n", b"bob", Some("192.0.2.10"), Virtual(3, "bob", "ip--bob", "ipdomain.com"); "multi character separator")]
#[test_case(BASE, "vdomain_separator .\n", b"bob@example.com", None, Main("bob", "bob", Some("example.com")); "separator not used for main")]
#[test_case(BASE, "drop_prefix false\n", b"sales@computers.com", None, Virtual(0, "sales", "cc_sales", "computers.com"); "drop_prefix false keeps the prefix")]
#[test_case(BASE, "drop_prefix true\n", b"sales@computers.com", None, Virtual(0, "sales", "cc_sales", "computers.com"); "drop_prefix true")]
fn resolve_login(base: &str, extra: &str, login: &[u8], local_ip: Option<&str>, want: Want) {
    let ip: Option<IpAddr> = local_ip.map(|s| s.parse().unwrap());
    for platform in [Platform::Unix, Platform::Nt] {
        let c = config(base, extra, platform);
        let got = c.resolve_login(login, ip);
        match &want {
            Main(local, system, name) => {
                let r = got.unwrap();
                assert_eq!(r.local, *local, "{platform:?}");
                assert_eq!(r.system_name, *system, "{platform:?}");
                assert_eq!(r.domain, LoginDomain::Main, "{platform:?}");
                assert_eq!(r.domain_name(&c), *name, "{platform:?}");
                assert_eq!(r.vdomain(), None);
            }
            Virtual(index, local, system, name) => {
                let r = got.unwrap();
                assert_eq!(r.local, *local, "{platform:?}");
                assert_eq!(r.system_name, *system, "{platform:?}");
                assert_eq!(
                    r.domain,
                    LoginDomain::Virtual {
                        index: *index,
                        vdomain: c.vdomain[*index].clone()
                    },
                    "{platform:?}"
                );
                assert_eq!(r.vdomain(), Some(&c.vdomain[*index]));
                assert_eq!(r.domain_name(&c), Some(*name), "{platform:?}");
            }
            Fails(e) => assert_eq!(got, Err(e.clone()), "{platform:?}"),
        }
    }
}

// The errors as the log shows them.
#[test_case(LoginError::NotUtf8, "the login is not valid UTF-8")]
#[test_case(LoginError::EmptyLocalPart, "the login has an empty local part")]
#[test_case(LoginError::EmptyDomain, "the login has an empty domain after @")]
#[test_case(LoginError::UnknownDomain("x.org".into()), "the domain \"x.org\" is neither a host_domain nor a vdomain")]
fn login_error_text(e: LoginError, text: &str) {
    assert_eq!(e.to_string(), text);
}

// dmail-conventions §3: a vdomain_passwd file is found by the vdomain's DOMAIN or @SUFFIX.
#[test]
fn vdomain_passwd_for_resolved_domain() {
    let c = config(
        BASE,
        "vdomain_passwd realdomain.org /etc/vd/dn.passwd\nvdomain_passwd @computers.com /etc/vd/cc.passwd\n",
        Platform::Unix,
    );
    let r = c.resolve_login(b"u@suffix.net", None).unwrap();
    assert_eq!(
        c.vdomain_passwd_for(r.vdomain().unwrap()).unwrap().path,
        "/etc/vd/dn.passwd"
    );
    let r = c.resolve_login(b"u@computers.com", None).unwrap();
    assert_eq!(
        c.vdomain_passwd_for(r.vdomain().unwrap()).unwrap().path,
        "/etc/vd/cc.passwd"
    );
    let r = c.resolve_login(b"u", "192.0.2.10".parse().ok()).unwrap();
    assert_eq!(c.vdomain_passwd_for(r.vdomain().unwrap()), None);
}
