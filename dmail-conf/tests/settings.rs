//! Integration tests for single settings and whole-file reading (dmail-conventions §1–2): the
//! `SETTINGS` table and every setting's default on both platforms, valid and invalid values of
//! every value type, name case, CRLF/BOM/non-UTF-8 input, duplicates, unknown settings, empty
//! values, diagnostics never echoing values, `check::imapd_checks`, and `Config::log_dir`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dmail_conf::check::{Build, imapd_checks};
use dmail_conf::config::Arity;
use dmail_conf::values::{
    AuthentMethod, HashSpool, LogLevel, MaildirAlthome, UserQuota, VdomainKey,
};
use dmail_conf::{
    Config, Loaded, OtherSetting, Platform, Program, SETTINGS, Severity, parse_bytes, parse_str,
};
use test_case::test_case;

const PATH: &str = "/etc/dmail.conf";

fn parse(text: &str, platform: Platform) -> Loaded {
    parse_str(text, PATH.into(), Program::Imapd, platform)
}

fn diags(loaded: &Loaded) -> Vec<String> {
    loaded.diagnostics.iter().map(ToString::to_string).collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// Every setting IMAPD knows, alphabetically: what `imapd check-config` lists.
const ALL_NAMES: [&str; 52] = [
    "authent_domain",
    "authent_method",
    "authent_number",
    "authent_process",
    "authent_timeout",
    "bulletin_from",
    "bulletin_path",
    "dmail_path",
    "dpop_host",
    "drop_path",
    "drop_prefix",
    "forward_user",
    "forward_window",
    "hash_spool",
    "host_domain",
    "imapd_authent_process",
    "imapd_become_user",
    "imapd_enable_new_hashing",
    "imapd_idle_check",
    "imapd_include_level",
    "imapd_lock_stale",
    "imapd_login_delay",
    "imapd_login_disabled",
    "imapd_mailbox_name",
    "imapd_max_bad_commands",
    "imapd_max_connections",
    "imapd_max_connections_per_ip",
    "imapd_max_connections_per_user",
    "imapd_max_line",
    "imapd_max_login_failures",
    "imapd_max_message",
    "imapd_strip_domain",
    "imapd_timeout",
    "imapd_tls_cert",
    "imapd_tls_key",
    "invalid_chars",
    "lock_id",
    "log_level",
    "log_path",
    "lowercase_password",
    "lowercase_username",
    "maildir_althome",
    "maildir_home",
    "maildir_suffix",
    "max_log_size",
    "use_maildir",
    "user_ip_address",
    "user_quota",
    "valid_users",
    "vdomain",
    "vdomain_passwd",
    "vdomain_separator",
];

#[test]
fn settings_table_is_complete_sorted_and_unique() {
    let names: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
    assert_eq!(names, ALL_NAMES);
    assert!(
        SETTINGS.windows(2).all(|w| w[0].name < w[1].name),
        "SETTINGS must be strictly alphabetical (check-config lists it in this order)"
    );
    for s in SETTINGS {
        assert_eq!(s.name, s.name.to_ascii_lowercase());
        assert!(!s.doc.is_empty(), "{} has no doc", s.name);
        assert!(
            s.doc.contains(&format!("`{}`", s.name)),
            "{}'s doc does not name it",
            s.name
        );
        assert_eq!(Config::setting_info(s.name).unwrap().name, s.name);
    }
}

// dmail-conventions §2: every setting and its default, Unix then NT. `rendered` exists for every
// entry of SETTINGS; optional and multi-entry settings render as no values.
#[test_case("authent_domain", Arity::Defaulted, &["false"], &["false"])]
#[test_case("authent_method", Arity::Defaulted, &["unix_user"], &["nt_user"])]
#[test_case("authent_number", Arity::Defaulted, &["2"], &["2"])]
#[test_case("authent_process", Arity::Optional, &[], &[])]
#[test_case("authent_timeout", Arity::Defaulted, &["10"], &["10"])]
#[test_case("bulletin_from", Arity::Defaulted, &["Email System Administrator"], &["Email System Administrator"])]
#[test_case("bulletin_path", Arity::Optional, &[], &[])]
#[test_case("dmail_path", Arity::Optional, &[], &[])]
#[test_case("dpop_host", Arity::Optional, &[], &[])]
#[test_case("drop_path", Arity::Optional, &[], &[])]
#[test_case("drop_prefix", Arity::Defaulted, &["true"], &["true"])]
#[test_case("forward_user", Arity::Defaulted, &["false"], &["false"])]
#[test_case("forward_window", Arity::Defaulted, &["600"], &["600"])]
#[test_case("hash_spool", Arity::Defaulted, &["0"], &["0"])]
#[test_case("host_domain", Arity::Multi, &[], &[])]
#[test_case("imapd_authent_process", Arity::Optional, &[], &[])]
#[test_case("imapd_become_user", Arity::Defaulted, &["true"], &["true"])]
#[test_case("imapd_enable_new_hashing", Arity::Defaulted, &["true"], &["true"])]
#[test_case("imapd_idle_check", Arity::Defaulted, &["30"], &["30"])]
#[test_case("imapd_include_level", Arity::Defaulted, &["0"], &["0"])]
#[test_case("imapd_lock_stale", Arity::Defaulted, &["300"], &["300"])]
#[test_case("imapd_login_delay", Arity::Defaulted, &["2"], &["2"])]
#[test_case("imapd_login_disabled", Arity::Defaulted, &["false"], &["false"])]
#[test_case("imapd_mailbox_name", Arity::Optional, &[], &[])]
#[test_case("imapd_max_bad_commands", Arity::Defaulted, &["10"], &["10"])]
#[test_case("imapd_max_connections", Arity::Defaulted, &["1000"], &["1000"])]
#[test_case("imapd_max_connections_per_ip", Arity::Defaulted, &["20"], &["20"])]
#[test_case("imapd_max_connections_per_user", Arity::Defaulted, &["10"], &["10"])]
#[test_case("imapd_max_line", Arity::Defaulted, &["65536"], &["65536"])]
#[test_case("imapd_max_login_failures", Arity::Defaulted, &["3"], &["3"])]
#[test_case("imapd_max_message", Arity::Defaulted, &["52428800"], &["52428800"])]
#[test_case("imapd_strip_domain", Arity::Optional, &[], &[])]
#[test_case("imapd_timeout", Arity::Defaulted, &["1800"], &["1800"])]
#[test_case("imapd_tls_cert", Arity::Optional, &[], &[])]
#[test_case("imapd_tls_key", Arity::Optional, &[], &[])]
#[test_case("invalid_chars", Arity::Defaulted, &["/"], &["\\/:*?\"<>|"])]
#[test_case("lock_id", Arity::Optional, &[], &[])]
#[test_case("log_level", Arity::Defaulted, &["info"], &["info"])]
#[test_case("log_path", Arity::Optional, &[], &[])]
#[test_case("lowercase_password", Arity::Defaulted, &["false"], &["false"])]
#[test_case("lowercase_username", Arity::Defaulted, &["false"], &["false"])]
#[test_case("maildir_althome", Arity::Multi, &[], &[])]
#[test_case("maildir_home", Arity::Optional, &[], &[])]
#[test_case("maildir_suffix", Arity::Defaulted, &["true"], &["true"])]
#[test_case("max_log_size", Arity::Defaulted, &["1000000"], &["1000000"])]
#[test_case("use_maildir", Arity::Defaulted, &["false"], &["false"])]
#[test_case("user_ip_address", Arity::Multi, &[], &[])]
#[test_case("user_quota", Arity::Defaulted, &["false"], &["false"])]
#[test_case("valid_users", Arity::Multi, &[], &[])]
#[test_case("vdomain", Arity::Multi, &[], &[])]
#[test_case("vdomain_passwd", Arity::Multi, &[], &[])]
#[test_case("vdomain_separator", Arity::Defaulted, &["_"], &["_"])]
fn every_setting_has_a_rendered_default(name: &str, arity: Arity, unix: &[&str], nt: &[&str]) {
    assert!(ALL_NAMES.contains(&name));
    assert_eq!(Config::setting_info(name).unwrap().arity, arity);
    assert_eq!(
        Config::defaults(Platform::Unix).rendered(name),
        Some(strings(unix))
    );
    assert_eq!(
        Config::defaults(Platform::Nt).rendered(name),
        Some(strings(nt))
    );
    // An empty file is the defaults; no known setting counts as set.
    let l = parse("", Platform::Unix);
    assert!(!l.is_set(name));
    assert_eq!(l.origin(name), None);
}

#[test]
fn unknown_names_have_no_rendering_and_defaults_render_empty() {
    let c = Config::defaults(Platform::Unix);
    assert_eq!(c.rendered("drop_users"), None);
    assert_eq!(
        c.rendered("HASH_SPOOL"),
        None,
        "rendered takes lower-case names"
    );
    assert_eq!(c.render(), "");
    assert_eq!(Config::defaults(Platform::Nt).render(), "");
    assert_eq!(parse("", Platform::Unix).config, c);
}

// dmail-conventions §2: platform defaults.
#[test]
fn platform_defaults() {
    let nt = Config::defaults(Platform::Nt);
    assert_eq!(nt.platform, Platform::Nt);
    assert_eq!(nt.authent_method, AuthentMethod::NtUser);
    assert_eq!(nt.invalid_chars, "\\/:*?\"<>|");
    let unix = Config::defaults(Platform::Unix);
    assert_eq!(unix.authent_method, AuthentMethod::UnixUser);
    assert_eq!(unix.invalid_chars, "/");
    assert_eq!(unix.hash_spool, HashSpool::None);
    assert_eq!(unix.log_level, LogLevel::Info);
    assert_eq!(unix.user_quota, UserQuota::Off);
    assert!(unix.imapd_become_user);
    assert!(unix.drop_prefix);
    assert_eq!(unix.drop_path, None);
    // The platform of a parsed file is the one asked for, whatever the file says.
    assert_eq!(
        parse("hash_spool 1\n", Platform::Nt).config.platform,
        Platform::Nt
    );
    assert_eq!(
        parse("", Platform::Nt).config.authent_method,
        AuthentMethod::NtUser
    );
}

// dmail-conventions §2: log_path defaults to DMAIL_PATH/log, else /usr/local/dmail/log on Unix and
// `log` (beside the binary) on Windows; an explicit log_path wins.
#[test_case(Platform::Unix, "", "/usr/local/dmail/log"; "unix default")]
#[test_case(Platform::Unix, "dmail_path /opt/dmail\n", "/opt/dmail/log"; "unix dmail_path")]
#[test_case(Platform::Unix, "dmail_path /opt/dmail/\n", "/opt/dmail/log"; "unix dmail_path trailing slash")]
#[test_case(Platform::Unix, "dmail_path /opt/dmail\nlog_path /var/log/dmail\n", "/var/log/dmail"; "log_path wins")]
#[test_case(Platform::Nt, "", "log"; "nt default")]
#[test_case(Platform::Nt, "dmail_path c:\\dmail\n", "c:\\dmail\\log"; "nt dmail_path")]
#[test_case(Platform::Nt, "dmail_path c:\\dmail\\\n", "c:\\dmail\\log"; "nt dmail_path trailing separator")]
#[test_case(Platform::Nt, "log_path c:\\dmail\\logs\n", "c:\\dmail\\logs"; "nt log_path literal")]
fn log_dir(platform: Platform, text: &str, expected: &str) {
    let l = parse(text, platform);
    assert!(l.diagnostics.is_empty(), "{:?}", diags(&l));
    assert_eq!(l.config.log_dir(), expected);
}

/// What one `name value` line should give.
#[derive(Debug)]
enum Want {
    /// Accepted; the setting then renders as this single value.
    Value(&'static str),
    /// Refused with this reason; the setting keeps its default.
    Refused(&'static str),
}
use Want::{Refused, Value};

// dmail-conventions §1–2 (and §6 for addresses): every kind of value, valid and invalid, with the
// value it gives or the exact diagnostic.
// bool: true/false, yes/no, on/off, any case (§1).
#[test_case(Platform::Unix, "drop_prefix", "yes", Value("true"))]
#[test_case(Platform::Unix, "drop_prefix", "no", Value("false"))]
#[test_case(Platform::Unix, "forward_user", "on", Value("true"))]
#[test_case(Platform::Unix, "drop_prefix", "off", Value("false"))]
#[test_case(Platform::Unix, "forward_user", "TRUE", Value("true"))]
#[test_case(Platform::Unix, "drop_prefix", "False", Value("false"))]
#[test_case(Platform::Unix, "forward_user", "YeS", Value("true"))]
#[test_case(Platform::Unix, "forward_user", "1", Refused("expected true or false"))]
#[test_case(
    Platform::Unix,
    "forward_user",
    "enabled",
    Refused("expected true or false")
)]
#[test_case(
    Platform::Unix,
    "forward_user",
    "true false",
    Refused("expected true or false")
)]
// whole numbers
#[test_case(Platform::Unix, "authent_number", "5", Value("5"))]
#[test_case(Platform::Unix, "authent_number", "0", Value("0"))]
#[test_case(Platform::Unix, "authent_number", "007", Value("7"))]
#[test_case(
    Platform::Unix,
    "imapd_max_connections",
    "4294967295",
    Value("4294967295")
)]
#[test_case(
    Platform::Unix,
    "imapd_max_connections",
    "4294967296",
    Refused("expected a whole number; the number is too large")
)]
#[test_case(
    Platform::Unix,
    "authent_number",
    "-1",
    Refused("expected a whole number")
)]
#[test_case(
    Platform::Unix,
    "authent_number",
    "+1",
    Refused("expected a whole number")
)]
#[test_case(
    Platform::Unix,
    "authent_number",
    "1.5",
    Refused("expected a whole number")
)]
#[test_case(
    Platform::Unix,
    "authent_number",
    "1 2",
    Refused("expected a whole number")
)]
#[test_case(Platform::Unix, "authent_number", "\u{663}", Refused("expected a whole number"); "non-ASCII digit")]
// seconds and bytes: plain numbers, no unit suffixes
#[test_case(Platform::Unix, "imapd_timeout", "86400", Value("86400"))]
#[test_case(
    Platform::Unix,
    "forward_window",
    "18446744073709551615",
    Value("18446744073709551615")
)]
#[test_case(
    Platform::Unix,
    "forward_window",
    "18446744073709551616",
    Refused("expected a whole number of seconds; the number is too large")
)]
#[test_case(
    Platform::Unix,
    "imapd_timeout",
    "30m",
    Refused("expected a whole number of seconds")
)]
#[test_case(Platform::Unix, "max_log_size", "1048576", Value("1048576"))]
#[test_case(
    Platform::Unix,
    "imapd_max_message",
    "10M",
    Refused("expected a whole number of bytes")
)]
// hash_spool
#[test_case(Platform::Unix, "hash_spool", "0", Value("0"))]
#[test_case(Platform::Unix, "hash_spool", "1", Value("1"))]
#[test_case(Platform::Unix, "hash_spool", "2", Value("2"))]
#[test_case(Platform::Unix, "hash_spool", "3", Refused("expected 0, 1 or 2"))]
#[test_case(Platform::Unix, "hash_spool", "02", Refused("expected 0, 1 or 2"))]
#[test_case(Platform::Unix, "hash_spool", "two", Refused("expected 0, 1 or 2"))]
// user_quota: true / false / kbytes, 0 = off (§2, §7)
#[test_case(Platform::Unix, "user_quota", "true", Value("true"))]
#[test_case(Platform::Unix, "user_quota", "YES", Value("true"))]
#[test_case(Platform::Unix, "user_quota", "false", Value("false"))]
#[test_case(Platform::Unix, "user_quota", "0", Value("false"))]
#[test_case(Platform::Unix, "user_quota", "20000", Value("20000"))]
#[test_case(
    Platform::Unix,
    "user_quota",
    "-5",
    Refused("expected true, false or a number of kbytes")
)]
#[test_case(
    Platform::Unix,
    "user_quota",
    "20MB",
    Refused("expected true, false or a number of kbytes")
)]
// authent_method and log_level keywords, any case
#[test_case(Platform::Unix, "authent_method", "NT_USER", Value("nt_user"))]
#[test_case(Platform::Unix, "authent_method", "External", Value("external"))]
#[test_case(Platform::Nt, "authent_method", "unix_user", Value("unix_user"))]
#[test_case(
    Platform::Unix,
    "authent_method",
    "pam",
    Refused("expected unix_user, nt_user or external")
)]
#[test_case(Platform::Unix, "log_level", "DEBUG", Value("debug"))]
#[test_case(Platform::Unix, "log_level", "error", Value("error"))]
#[test_case(
    Platform::Unix,
    "log_level",
    "verbose",
    Refused("expected error, info or debug")
)]
// vdomain PREFIX @SUFFIX|IPADDR DOMAIN DIR (§3); DIR is the rest of the line
#[test_case(
    Platform::Unix,
    "vdomain",
    "cc @computers.com computers.com /var/spool/vd/cc",
    Value("cc @computers.com computers.com /var/spool/vd/cc")
)]
#[test_case(Platform::Unix, "vdomain", "cc\t@computers.com   computers.com \t/var/spool/vd/cc", Value("cc @computers.com computers.com /var/spool/vd/cc"); "vdomain blanks between words")]
#[test_case(Platform::Unix, "vdomain", "cc @a.com a.com /var/spool/my  vd dir", Value("cc @a.com a.com /var/spool/my  vd dir"); "vdomain dir with spaces")]
#[test_case(Platform::Nt, "vdomain", "cc @a.com a.com c:\\Mail Spool\\cc", Value("cc @a.com a.com c:\\Mail Spool\\cc"); "vdomain nt dir with spaces")]
#[test_case(
    Platform::Unix,
    "vdomain",
    "ip 192.0.2.10 ip.example /vd/ip",
    Value("ip 192.0.2.10 ip.example /vd/ip")
)]
#[test_case(Platform::Unix, "vdomain", "ip ::ffff:192.0.2.10 ip.example /vd/ip", Value("ip 192.0.2.10 ip.example /vd/ip"); "vdomain mapped address canonicalised")]
#[test_case(
    Platform::Unix,
    "vdomain",
    "v6 2001:DB8:0:0::1 v6.example /vd/v6",
    Value("v6 2001:db8::1 v6.example /vd/v6")
)]
#[test_case(
    Platform::Unix,
    "vdomain",
    "cc @computers.com computers.com",
    Refused("expected PREFIX @SUFFIX|IPADDR DOMAIN DIR")
)]
#[test_case(
    Platform::Unix,
    "vdomain",
    "cc",
    Refused("expected PREFIX @SUFFIX|IPADDR DOMAIN DIR")
)]
#[test_case(
    Platform::Unix,
    "vdomain",
    "cc computers.com computers.com /vd/cc",
    Refused("expected @SUFFIX or an IP address as the second word")
)]
#[test_case(
    Platform::Unix,
    "vdomain",
    "cc 192.0.2.300 x.com /vd/cc",
    Refused("expected @SUFFIX or an IP address as the second word")
)]
#[test_case(
    Platform::Unix,
    "vdomain",
    "cc @ x.com /vd/cc",
    Refused("expected a domain after @")
)]
#[test_case(
    Platform::Unix,
    "vdomain",
    "cc @a@b x.com /vd/cc",
    Refused("expected a domain after @")
)]
#[test_case(
    Platform::Unix,
    "vdomain",
    "cc @x.com a@x.com /vd/cc",
    Refused("expected PREFIX @SUFFIX|IPADDR DOMAIN DIR")
)]
#[test_case(
    Platform::Unix,
    "vdomain",
    "c\u{1}c @x.com x.com /vd/cc",
    Refused("the PREFIX holds a control character")
)]
// vdomain_passwd DOMAIN PATH
#[test_case(
    Platform::Unix,
    "vdomain_passwd",
    "computers.com /etc/vd/cc.passwd",
    Value("computers.com /etc/vd/cc.passwd")
)]
#[test_case(
    Platform::Unix,
    "vdomain_passwd",
    "@computers.com   /etc/vd/cc passwd",
    Value("computers.com /etc/vd/cc passwd")
)]
#[test_case(
    Platform::Unix,
    "vdomain_passwd",
    "computers.com",
    Refused("expected DOMAIN PATH")
)]
#[test_case(
    Platform::Unix,
    "vdomain_passwd",
    "a@b /etc/p",
    Refused("expected DOMAIN PATH")
)]
// maildir_althome [DOMAIN] PATH
#[test_case(
    Platform::Unix,
    "maildir_althome",
    "/shared/spool/maildir/vdomain1",
    Value("/shared/spool/maildir/vdomain1")
)]
#[test_case(
    Platform::Unix,
    "maildir_althome",
    "x.com /srv/maildir/x",
    Value("x.com /srv/maildir/x")
)]
#[test_case(Platform::Unix, "maildir_althome", "/srv/mail dirs/x", Value("/srv/mail dirs/x"); "althome path with spaces")]
#[test_case(Platform::Nt, "maildir_althome", "c:\\maildir\\vd 1", Value("c:\\maildir\\vd 1"); "althome nt path")]
#[test_case(
    Platform::Unix,
    "maildir_althome",
    "a@x.com /srv/x",
    Refused("expected [DOMAIN] PATH")
)]
// imapd_mailbox_name: relative to the home, no absolute path, no .. (§5)
#[test_case(Platform::Unix, "imapd_mailbox_name", "mail", Value("mail"))]
#[test_case(Platform::Unix, "imapd_mailbox_name", ".", Value("."))]
#[test_case(Platform::Unix, "imapd_mailbox_name", "mail/imap", Value("mail/imap"))]
#[test_case(
    Platform::Unix,
    "imapd_mailbox_name",
    "/var/mail",
    Refused("expected a directory relative to the home directory, without ..")
)]
#[test_case(
    Platform::Unix,
    "imapd_mailbox_name",
    "..",
    Refused("expected a directory relative to the home directory, without ..")
)]
#[test_case(
    Platform::Unix,
    "imapd_mailbox_name",
    "mail/../../etc",
    Refused("expected a directory relative to the home directory, without ..")
)]
#[test_case(
    Platform::Nt,
    "imapd_mailbox_name",
    "mail\\..\\x",
    Refused("expected a directory relative to the home directory, without ..")
)]
#[test_case(
    Platform::Nt,
    "imapd_mailbox_name",
    "\\mail",
    Refused("expected a directory relative to the home directory, without ..")
)]
#[test_case(
    Platform::Nt,
    "imapd_mailbox_name",
    "c:mail",
    Refused("expected a directory relative to the home directory, without ..")
)]
#[test_case(Platform::Unix, "imapd_mailbox_name", "..mail", Value("..mail"))]
// valid_users / user_ip_address: *-wildcard lists, commas or blanks; %3A is `:` (§2, §6)
#[test_case(
    Platform::Unix,
    "valid_users",
    "bob, alice\tcc_*",
    Value("bob,alice,cc_*")
)]
#[test_case(
    Platform::Unix,
    "user_ip_address",
    "192.168.*,10.0.0.1",
    Value("192.168.*,10.0.0.1")
)]
#[test_case(
    Platform::Unix,
    "user_ip_address",
    "2001%3Adb8%3A%3A1, fe80%3a*",
    Value("2001:db8::1,fe80:*")
)]
#[test_case(
    Platform::Unix,
    "valid_users",
    ", ,",
    Refused("expected one or more patterns")
)]
// host_domain: one word
#[test_case(Platform::Unix, "host_domain", "Example.COM", Value("Example.COM"))]
#[test_case(
    Platform::Unix,
    "host_domain",
    "example.com mail.example.com",
    Refused("expected one domain name")
)]
#[test_case(
    Platform::Unix,
    "host_domain",
    "bob@example.com",
    Refused("expected one domain name")
)]
// addresses (§6)
#[test_case(Platform::Unix, "dpop_host", "::ffff:192.0.2.1", Value("192.0.2.1"))]
#[test_case(Platform::Unix, "dpop_host", "2001:0db8::0001", Value("2001:db8::1"))]
#[test_case(
    Platform::Unix,
    "dpop_host",
    "localhost",
    Refused("expected an IPv4 or IPv6 address")
)]
// command lines, paths and free text: literal, no quoting or escapes, `#` is part of the value
#[test_case(
    Platform::Unix,
    "authent_process",
    "/usr/local/dmail/nwauth  -v\t-x",
    Value("/usr/local/dmail/nwauth -v -x")
)]
#[test_case(Platform::Nt, "drop_path", "c:\\dmail\\in", Value("c:\\dmail\\in"))]
#[test_case(
    Platform::Unix,
    "bulletin_from",
    "The  Mail # Team",
    Value("The  Mail # Team")
)]
#[test_case(Platform::Unix, "vdomain_separator", ".", Value("."))]
#[test_case(Platform::Unix, "lock_id", "node-1", Value("node-1"))]
fn one_value(platform: Platform, name: &str, raw: &str, want: Want) {
    let l = parse(&format!("{name} {raw}\n"), platform);
    let default = Config::defaults(platform).rendered(name).unwrap();
    match want {
        Value(v) => {
            assert_eq!(diags(&l), Vec::<String>::new());
            assert_eq!(l.config.rendered(name), Some(vec![v.to_owned()]));
            assert_eq!(l.origin(name).map(|o| o.line), Some(1));
        }
        Refused(reason) => {
            assert_eq!(
                diags(&l),
                [format!(
                    "{PATH}:1: error: {name}: {reason}; the setting is ignored"
                )]
            );
            assert_eq!(l.config.rendered(name), Some(default));
            assert!(!l.is_set(name));
        }
    }
}

#[test]
fn vdomain_fields_are_typed() {
    let l = parse(
        "vdomain cc @Computers.com computers.com /var/spool/vd/my dir\n\
         vdomain ip ::ffff:10.1.2.3 ip.example /vd/ip\n\
         vdomain six 2001:db8::5 six.example /vd/6\n",
        Platform::Unix,
    );
    assert!(l.diagnostics.is_empty(), "{:?}", diags(&l));
    let v = &l.config.vdomain;
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].prefix, "cc");
    assert_eq!(v[0].key, VdomainKey::Suffix("Computers.com".into()));
    assert_eq!(v[0].domain, "computers.com");
    assert_eq!(v[0].dir, "/var/spool/vd/my dir");
    assert_eq!(v[1].key, VdomainKey::Address("10.1.2.3".parse().unwrap()));
    assert_eq!(
        v[2].key,
        VdomainKey::Address("2001:db8::5".parse().unwrap())
    );
}

#[test]
fn maildir_althome_forms() {
    let l = parse(
        "maildir_althome /shared/maildir/all\nmaildir_althome x.com /srv/x\n",
        Platform::Unix,
    );
    assert!(l.diagnostics.is_empty());
    assert_eq!(
        l.config.maildir_althome,
        [
            MaildirAlthome {
                domain: None,
                path: "/shared/maildir/all".into()
            },
            MaildirAlthome {
                domain: Some("x.com".into()),
                path: "/srv/x".into()
            },
        ]
    );
}

#[test]
fn wildcard_lists_match_after_parsing() {
    let l = parse(
        "user_ip_address 192.168.*, 2001%3Adb8%3A*\nvalid_users cc_* bob\n",
        Platform::Unix,
    );
    let ips = &l.config.user_ip_address[0];
    assert_eq!(ips.patterns(), ["192.168.*", "2001:db8:*"]);
    assert!(ips.matches("192.168.1.1"));
    assert!(ips.matches("2001:db8::1"));
    assert!(!ips.matches("10.0.0.1"));
    let users = &l.config.valid_users[0];
    assert!(users.matches("cc_sales"));
    assert!(users.matches("bob"));
    assert!(!users.matches("bobby"));
}

// dmail-conventions §1: setting names are case-insensitive.
#[test_case("HASH_SPOOL 2"; "upper")]
#[test_case("Hash_Spool 2"; "mixed")]
#[test_case("hash_spool 2"; "lower")]
#[test_case("  \thash_SPOOL\t 2 \t"; "indented with tabs")]
fn setting_names_are_case_insensitive(line: &str) {
    let l = parse(&format!("{line}\n"), Platform::Unix);
    assert_eq!(diags(&l), Vec::<String>::new());
    assert_eq!(l.config.hash_spool, HashSpool::Two);
    assert!(l.is_set("hash_spool"));
}

// dmail-conventions §1: LF or CRLF line endings, an optional UTF-8 BOM.
#[test]
fn crlf_and_bom() {
    let text = "\u{FEFF}hash_spool 2\r\ndrop_path /var/spool/mail\r\n\r\n# comment\r\nvdomain cc @a.com a.com /vd/cc\r\nbulletin_from The Admin\r\n";
    let l = parse(text, Platform::Nt);
    assert_eq!(diags(&l), Vec::<String>::new());
    assert_eq!(l.config.hash_spool, HashSpool::Two);
    assert_eq!(l.config.drop_path.as_deref().unwrap(), "/var/spool/mail");
    assert_eq!(l.config.vdomain[0].dir, "/vd/cc");
    assert_eq!(l.config.bulletin_from, "The Admin");
    assert_eq!(l.origin("vdomain").unwrap().line, 5);
    // Same result without BOM and with LF endings.
    let lf = text.trim_start_matches('\u{FEFF}').replace("\r\n", "\n");
    assert_eq!(parse(&lf, Platform::Nt).config, l.config);
    // A last line without an ending still counts.
    assert_eq!(
        parse("hash_spool 1\r\nhash_spool 2", Platform::Unix)
            .config
            .hash_spool,
        HashSpool::Two
    );
}

// dmail-conventions §1: comments in a legacy encoding are fine; a known setting's value must be
// UTF-8; unknown settings are kept whatever their bytes.
#[test]
fn non_utf8_bytes() {
    let l = parse_bytes(
        b"# caf\xE9 au lait\nhash_spool 1\nbulletin_from Caf\xE9 Admin\ndrop_users j\xF6rg\n",
        PATH.into(),
        Program::Imapd,
        Platform::Unix,
    );
    assert_eq!(l.config.hash_spool, HashSpool::One);
    assert_eq!(l.config.bulletin_from, "Email System Administrator");
    assert_eq!(
        diags(&l),
        [
            format!(
                "{PATH}:3: error: bulletin_from: the value is not valid UTF-8; the setting is ignored"
            ),
            format!(
                "{PATH}:4: note: drop_users: not an IMAPD setting; kept for other DMail programs (its value is not UTF-8)"
            ),
        ]
    );
    assert_eq!(
        l.config.other,
        [OtherSetting {
            name: "drop_users".into(),
            value: "j\u{FFFD}rg".into()
        }]
    );
}

// dmail-conventions §1: a single-valued setting twice in one file: warning naming the earlier
// line, the later value wins. Multi-entry settings repeat freely.
#[test]
fn duplicate_in_one_file_warns_and_later_wins() {
    let l = parse(
        "hash_spool 1\nhost_domain a.com\nhash_spool 2\nhost_domain b.com\ndrop_path /a\nHASH_SPOOL 0\ndrop_path /b\n",
        Platform::Unix,
    );
    assert_eq!(
        diags(&l),
        [
            format!(
                "{PATH}:3: warning: hash_spool: also set on line 1 of this file; this later value wins"
            ),
            format!(
                "{PATH}:6: warning: hash_spool: also set on line 3 of this file; this later value wins"
            ),
            format!(
                "{PATH}:7: warning: drop_path: also set on line 5 of this file; this later value wins"
            ),
        ]
    );
    assert_eq!(l.config.hash_spool, HashSpool::None);
    assert_eq!(l.config.drop_path.as_deref().unwrap(), "/b");
    assert_eq!(l.config.host_domain.len(), 2);
    assert_eq!(l.origin("hash_spool").unwrap().line, 6);
    let lines: Vec<u32> = l.origins_of("hash_spool").iter().map(|o| o.line).collect();
    assert_eq!(lines, [1, 3, 6]);
}

// dmail-conventions §1: the same setting given again in an included file is the intended override
// mechanism: no warning.
#[test]
fn same_setting_in_included_file_does_not_warn() {
    let dir = tempfile::tempdir().unwrap();
    let root = camino::Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
    std::fs::write(
        root.join("dmail.conf"),
        "imapd_include_level 1\nhash_spool 1\n#imapd_include imapd.conf\n",
    )
    .unwrap();
    std::fs::write(root.join("imapd.conf"), "hash_spool 2\n").unwrap();
    let l = dmail_conf::load(&root.join("dmail.conf"), Program::Imapd, Platform::Unix).unwrap();
    assert_eq!(diags(&l), Vec::<String>::new());
    assert_eq!(l.config.hash_spool, HashSpool::Two);
    assert_eq!(
        *l.origin("hash_spool").unwrap().file,
        *root.join("imapd.conf")
    );
}

// dmail-conventions §1: unknown settings are kept, in order, with a note (never a warning or an
// error); their names are lower-cased, their values kept as written.
#[test]
fn unknown_settings_are_kept_with_a_note() {
    let l = parse(
        "drop_users alice\nSMTP_Relay_Hosts 10.0.0.0/8  mx.example\nhash_spool 1\ndrop_users bob\nalt_drop_path\n",
        Platform::Unix,
    );
    let note = "not an IMAPD setting; kept for other DMail programs";
    assert_eq!(
        diags(&l),
        [
            format!("{PATH}:1: note: drop_users: {note}"),
            format!("{PATH}:2: note: smtp_relay_hosts: {note}"),
            format!("{PATH}:4: note: drop_users: {note}"),
            format!("{PATH}:5: note: alt_drop_path: {note}"),
        ]
    );
    assert!(l.diagnostics.iter().all(|d| d.severity == Severity::Note));
    assert!(!l.has_errors());
    let other: Vec<(&str, &str)> = l
        .config
        .other
        .iter()
        .map(|o| (o.name.as_str(), o.value.as_str()))
        .collect();
    assert_eq!(
        other,
        [
            ("drop_users", "alice"),
            ("smtp_relay_hosts", "10.0.0.0/8  mx.example"),
            ("drop_users", "bob"),
            ("alt_drop_path", ""),
        ]
    );
    let users: Vec<&str> = l.config.other_values("DROP_USERS").collect();
    assert_eq!(users, ["alice", "bob"]);
    assert_eq!(l.config.other_values("nothing").count(), 0);
    assert!(!l.is_set("drop_users"));
}

// dmail-conventions §1: a known setting without a value is an error and is ignored.
#[test_case("hash_spool"; "bare name")]
#[test_case("hash_spool \t "; "blanks only")]
#[test_case("DROP_PATH"; "upper case optional")]
fn empty_value_is_an_error(line: &str) {
    let l = parse(
        &format!("drop_path /keep\nhash_spool 1\n{line}\n"),
        Platform::Unix,
    );
    let name = line.split_whitespace().next().unwrap().to_ascii_lowercase();
    assert_eq!(
        diags(&l),
        [format!(
            "{PATH}:3: error: {name}: no value given; the setting is ignored"
        )]
    );
    assert_eq!(l.config.hash_spool, HashSpool::One);
    assert_eq!(l.config.drop_path.as_deref().unwrap(), "/keep");
}

// dmail-conventions §1: an invalid value is an error; the earlier value (or the default) stays, and
// the refused line does not count as a duplicate.
#[test]
fn invalid_value_keeps_earlier_value() {
    let l = parse(
        "hash_spool 1\nhash_spool 9\nimapd_timeout soon\nvdomain bad\nvdomain cc @a.com a.com /vd/cc\n",
        Platform::Unix,
    );
    assert_eq!(
        diags(&l),
        [
            format!("{PATH}:2: error: hash_spool: expected 0, 1 or 2; the setting is ignored"),
            format!(
                "{PATH}:3: error: imapd_timeout: expected a whole number of seconds; the setting is ignored"
            ),
            format!(
                "{PATH}:4: error: vdomain: expected PREFIX @SUFFIX|IPADDR DOMAIN DIR; the setting is ignored"
            ),
        ]
    );
    assert_eq!(l.config.hash_spool, HashSpool::One);
    assert_eq!(l.config.imapd_timeout.0, 1800);
    assert_eq!(l.config.vdomain.len(), 1);
    assert_eq!(l.origins_of("vdomain").len(), 1);
    assert_eq!(l.origin("vdomain").unwrap().line, 5);
}

// dmail-conventions §1: a diagnostic names file, line and setting, never the value's text.
#[test_case("hash_spool", "s3cr3t-Passw0rd")]
#[test_case("authent_method", "hunter2-secret")]
#[test_case("dpop_host", "private-host.internal")]
#[test_case("vdomain", "cc zzsecretzz a.com /vd")]
#[test_case("vdomain", "cc @qq secret@dom.ain /vd")]
#[test_case("host_domain", "secret-a secret-b")]
#[test_case("imapd_mailbox_name", "/home/secretuser")]
#[test_case("user_quota", "secretquota")]
#[test_case("maildir_althome", "hush@secret /x")]
#[test_case("vdomain_passwd", "secret@dom /etc/p")]
fn diagnostics_never_echo_the_value(name: &str, bad: &str) {
    let l = parse(&format!("{name} {bad}\n"), Platform::Unix);
    assert_eq!(l.diagnostics.len(), 1);
    let d = &l.diagnostics[0];
    assert_eq!(d.severity, Severity::Error);
    let text = d.to_string();
    assert!(!text.contains(bad), "{text}");
    for word in bad.split([' ', '@']).filter(|w| w.len() > 3) {
        assert!(!text.contains(word), "{text} contains {word}");
    }
}

fn check(text: &str, platform: Platform, host: Platform, maildir: bool) -> Vec<String> {
    let l = parse(text, platform);
    assert!(!l.has_errors(), "{:?}", diags(&l));
    imapd_checks(&l, host, Build { maildir })
        .iter()
        .map(ToString::to_string)
        .collect()
}

const GOOD: &str = "drop_path /var/spool/mail\nhost_domain example.com\n";

#[test]
fn checks_pass_a_good_config() {
    assert_eq!(
        check(GOOD, Platform::Unix, Platform::Unix, false),
        Vec::<String>::new()
    );
    assert_eq!(
        check(
            &format!(
                "{GOOD}use_maildir true\nmaildir_home /var/maildir\nvdomain cc @a.com a.com /vd/cc\n"
            ),
            Platform::Unix,
            Platform::Unix,
            true
        ),
        Vec::<String>::new()
    );
}

#[test]
fn check_drop_path_missing() {
    assert_eq!(
        check(
            "host_domain example.com\n",
            Platform::Unix,
            Platform::Unix,
            false
        ),
        [format!("{PATH}:0: error: drop_path: required, and not set")]
    );
}

#[test]
fn check_no_host_domain() {
    assert_eq!(
        check("drop_path /d\n", Platform::Unix, Platform::Unix, false),
        [format!(
            "{PATH}:0: warning: host_domain: not set: logins naming a domain can only reach virtual domains"
        )]
    );
}

// dmail-conventions §3a: external needs an authenticator; imapd_authent_process alone is enough.
#[test_case("authent_method external\n", true; "neither")]
#[test_case("authent_method external\nimapd_authent_process /usr/local/dmail/nwauth\n", false; "imapd_authent_process only")]
#[test_case("authent_method external\nauthent_process /usr/local/dmail/nwauth\n", false; "authent_process only")]
#[test_case("authent_process /a\n", false; "process without external")]
fn check_external_authenticator(extra: &str, error: bool) {
    let expected: Vec<String> = if error {
        vec![format!(
            "{PATH}:3: error: authent_method: external needs authent_process (or imapd_authent_process), which is not set"
        )]
    } else {
        vec![]
    };
    assert_eq!(
        check(
            &format!("{GOOD}{extra}"),
            Platform::Unix,
            Platform::Unix,
            false
        ),
        expected
    );
}

#[test]
fn check_nt_user_on_unix_host() {
    assert_eq!(
        check(
            &format!("{GOOD}authent_method nt_user\n"),
            Platform::Unix,
            Platform::Unix,
            false
        ),
        [format!(
            "{PATH}:3: error: authent_method: nt_user works only on Windows"
        )]
    );
    // The NT default, checked on a Unix host: no line to point at.
    assert_eq!(
        check(GOOD, Platform::Nt, Platform::Unix, false),
        [format!(
            "{PATH}:0: error: authent_method: nt_user works only on Windows"
        )]
    );
    assert_eq!(
        check(GOOD, Platform::Nt, Platform::Nt, false),
        Vec::<String>::new()
    );
}

// dmail-conventions §5: use_maildir needs maildir_home, and a maildir engine in the build.
#[test]
fn check_use_maildir() {
    assert_eq!(
        check(
            &format!("{GOOD}use_maildir true\n"),
            Platform::Unix,
            Platform::Unix,
            true
        ),
        [format!(
            "{PATH}:3: error: use_maildir: needs maildir_home, which is not set"
        )]
    );
    assert_eq!(
        check(
            &format!("{GOOD}use_maildir yes\nmaildir_home /m\n"),
            Platform::Unix,
            Platform::Unix,
            false
        ),
        [format!(
            "{PATH}:3: error: use_maildir: maildir storage is not built into this imapd; logins will fail"
        )]
    );
    assert_eq!(
        check(
            &format!("{GOOD}use_maildir on\n"),
            Platform::Unix,
            Platform::Unix,
            false
        ),
        [
            format!("{PATH}:3: error: use_maildir: needs maildir_home, which is not set"),
            format!(
                "{PATH}:3: error: use_maildir: maildir storage is not built into this imapd; logins will fail"
            ),
        ]
    );
}

#[test]
fn check_tls_pair() {
    assert_eq!(
        check(
            &format!("{GOOD}imapd_tls_cert /c.pem\n"),
            Platform::Unix,
            Platform::Unix,
            false
        ),
        [format!(
            "{PATH}:3: error: imapd_tls_cert: imapd_tls_cert and imapd_tls_key must be set together"
        )]
    );
    assert_eq!(
        check(
            &format!("{GOOD}imapd_tls_key /k.pem\n"),
            Platform::Unix,
            Platform::Unix,
            false
        ),
        [format!(
            "{PATH}:3: error: imapd_tls_key: imapd_tls_cert and imapd_tls_key must be set together"
        )]
    );
}

// dmail-conventions §3: "Different logins never share a drop file as long as every vdomain DIR is
// distinct and differs from drop_path; check-config warns when that is not so."
#[test_case(Platform::Unix, "/var/spool/mail", "/var/spool/mail", true; "same")]
#[test_case(Platform::Unix, "/var/spool/mail", "/var/spool/mail/", true; "trailing slash")]
#[test_case(Platform::Unix, "/var/spool/mail/", "/var/./spool/mail", true; "dot component")]
#[test_case(Platform::Unix, "/var/spool/mail", "/var/spool//mail", true; "double slash")]
#[test_case(Platform::Unix, "/var/spool/mail", "/var/spool/mail2", false; "different")]
#[test_case(Platform::Unix, "/var/spool/mail", "/var/spool/mail/vd", false; "beneath")]
#[test_case(Platform::Unix, "/var/spool/mail", "/var/spool/Mail", false; "unix is case-sensitive")]
#[test_case(Platform::Nt, "c:\\Spool\\Mail", "C:/spool/mail/", true; "nt case and separators")]
fn check_vdomain_dir_equal_to_drop_path(platform: Platform, drop: &str, dir: &str, warn: bool) {
    let text =
        format!("drop_path {drop}\nhost_domain example.com\nvdomain cc @a.com a.com {dir}\n");
    let expected: Vec<String> = if warn {
        vec![format!(
            "{PATH}:3: warning: vdomain: its DIR is drop_path: its users' drop files may collide with main-domain users'"
        )]
    } else {
        vec![]
    };
    assert_eq!(check(&text, platform, platform, false), expected);
}

#[test]
fn check_two_vdomains_sharing_a_dir() {
    let text = format!(
        "{GOOD}vdomain aa @a.com a.com /vd/shared\nvdomain bb @b.com b.com /vd/other\n# x\nvdomain cc @c.com c.com /vd/./shared/\n"
    );
    assert_eq!(
        check(&text, Platform::Unix, Platform::Unix, false),
        [format!(
            "{PATH}:6: warning: vdomain: its DIR is also the DIR of virtual domain a.com: their users' drop files may collide"
        )]
    );
}

// Check results point into the included file that set the value.
#[test]
fn check_points_into_included_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = camino::Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
    std::fs::write(
        root.join("dmail.conf"),
        "imapd_include_level 1\ndrop_path /d\nhost_domain x.com\nvdomain aa @a.com a.com /vd\n#include vd.conf\n",
    )
    .unwrap();
    std::fs::write(
        root.join("vd.conf"),
        "# more\nvdomain bb @b.com b.com /vd/\n",
    )
    .unwrap();
    let l = dmail_conf::load(&root.join("dmail.conf"), Program::Imapd, Platform::Unix).unwrap();
    let found: Vec<String> = imapd_checks(&l, Platform::Unix, Build { maildir: false })
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        found,
        [format!(
            "{}:2: warning: vdomain: its DIR is also the DIR of virtual domain a.com: their users' drop files may collide",
            root.join("vd.conf")
        )]
    );
}
