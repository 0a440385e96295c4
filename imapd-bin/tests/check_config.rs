//! `imapd check-config` as built: every setting with its value, then the diagnostics, and the
//! exit code (0 without error diagnostics, 1 with), and whether the TLS files load.

// Helpers outside #[test] functions panic on failure too, as a test should.
#![allow(clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::Certs;

fn imapd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imapd"))
        .args(args)
        .output()
        .expect("run imapd")
}

/// Writes `text` to `name` in `dir` and gives the path as text.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path.to_str().expect("UTF-8 temp path").to_owned()
}

fn check_config(path: &str) -> (String, i32) {
    let out = imapd(&["check-config", "-i", path]);
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = out.status.code().expect("exit code");
    (String::from_utf8(out.stdout).expect("UTF-8 stdout"), code)
}

/// The settings part of a report (before the blank line) and the diagnostic lines.
fn split(stdout: &str) -> (&str, Vec<&str>) {
    let (settings, diagnostics) = stdout.split_once("\n\n").expect("a blank line");
    (settings, diagnostics.lines().collect())
}

const SMALL: &str = "\
# a small dmail.conf
drop_path /var/spool/mail
host_domain example.com
hash_spool 1
hash_spool 2
drop_users alice
valid_users cc_*
valid_users bob
";

/// The whole stdout for `SMALL`; `{P}` is the file's path.
const SMALL_REPORT: &str = "\
authent_domain = false (default)
authent_method = unix_user (default)
authent_number = 2 (default)
authent_process = (unset)
authent_timeout = 10 (default)
bulletin_from = Email System Administrator (default)
bulletin_path = (unset)
dmail_path = (unset)
dpop_host = (unset)
drop_path = /var/spool/mail
drop_prefix = true (default)
forward_user = false (default)
forward_window = 600 (default)
hash_spool = 2
host_domain = example.com
imapd_authent_process = (unset)
imapd_become_user = true (default)
imapd_enable_new_hashing = true (default)
imapd_idle_check = 30 (default)
imapd_include_level = 0 (default)
imapd_lock_stale = 300 (default)
imapd_login_delay = 2 (default)
imapd_login_disabled = false (default)
imapd_mailbox_name = (unset)
imapd_max_bad_commands = 10 (default)
imapd_max_connections = 1000 (default)
imapd_max_connections_per_ip = 20 (default)
imapd_max_connections_per_user = 10 (default)
imapd_max_line = 65536 (default)
imapd_max_login_failures = 3 (default)
imapd_max_message = 52428800 (default)
imapd_strip_domain = (unset)
imapd_timeout = 1800 (default)
imapd_tls_cert = (unset)
imapd_tls_key = (unset)
invalid_chars = / (default)
lock_id = (unset)
log_level = info (default)
log_path = /usr/local/dmail/log (default)
lowercase_password = false (default)
lowercase_username = false (default)
maildir_althome = (unset)
maildir_home = (unset)
maildir_suffix = true (default)
max_log_size = 1000000 (default)
use_maildir = false (default)
user_ip_address = (unset)
user_quota = false (default)
valid_users = cc_*
valid_users = bob
vdomain = (unset)
vdomain_passwd = (unset)
vdomain_separator = _ (default)

{P}:5: warning: hash_spool: also set on line 4 of this file; this later value wins
{P}:6: note: drop_users: not an IMAPD setting; kept for other DMail programs
";

#[test]
fn small_config_exact_report_and_exit_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "dmail.conf", SMALL);
    let (stdout, code) = check_config(&path);
    assert_eq!(stdout, SMALL_REPORT.replace("{P}", &path));
    assert_eq!(code, 0, "warnings and notes are not errors");
}

#[test]
fn every_known_setting_is_shown_once_when_single_valued() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "dmail.conf", SMALL);
    let (stdout, _) = check_config(&path);
    let (settings, _) = split(&stdout);
    let names: Vec<&str> = settings
        .lines()
        .map(|l| l.split_once(" = ").expect("NAME = VALUE").0)
        .collect();
    let mut expected: Vec<&str> = dmail_conf::SETTINGS.iter().map(|s| s.name).collect();
    // valid_users is given twice in SMALL.
    let at = expected
        .iter()
        .position(|n| *n == "valid_users")
        .expect("valid_users");
    expected.insert(at, "valid_users");
    assert_eq!(names, expected);
}

/// A realistic dmail.conf shared with DPOP and DSMTP, with typical mistakes in it.
const LARGE: &str = "\
# dmail.conf for mail.example.com, shared with DPOP and DSMTP
dmail_path /usr/local/dmail
drop_path /var/spool/mail
hash_spool 2
host_domain example.com
host_domain mail.example.com
host_domain example.org
vdomain cc @computers.com computers.com /var/spool/vd/cc
vdomain sh 192.0.2.10 shop.example.net /var/spool/vd/shop
vdomain old @old.example.com old.example.com /var/spool/mail/
vdomain_passwd shop.example.net /etc/dmail/shop.passwd
authent_method unix_user
log_level debug
max_log_size 5000000
lowercase_username yes
imapd_timeout 3600
user_quota 20000
valid_users cc_*, sh_*
valid_users bob
user_ip_address 192.0.2.*
drop_users alice
smtp_port 25
#include /etc/dmail.local.conf
imapd_timeout 7200
hash_spool 3
forward_window 10m
log_level verbose
imapd_mailbox_name /etc
\tbulletin_path  /var/dmail/bulletins  \r
";

#[test]
fn large_config_key_lines_diagnostics_and_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "dmail.conf", LARGE);
    let (stdout, code) = check_config(&path);
    let (settings, diagnostics) = split(&stdout);
    let settings: Vec<&str> = settings.lines().collect();
    for line in [
        "authent_method = unix_user",
        "bulletin_path = /var/dmail/bulletins",
        "dmail_path = /usr/local/dmail",
        "drop_path = /var/spool/mail",
        "forward_window = 600 (default)",
        "hash_spool = 2",
        "imapd_mailbox_name = (unset)",
        "imapd_timeout = 7200",
        "log_level = debug",
        "log_path = /usr/local/dmail/log (default)",
        "lowercase_username = true",
        "max_log_size = 5000000",
        "user_ip_address = 192.0.2.*",
        "user_quota = 20000",
        "vdomain_separator = _ (default)",
    ] {
        assert!(
            settings.contains(&line),
            "missing {line:?} in {settings:#?}"
        );
    }
    // Multi-entry settings: one line each, in file order, adjacent.
    let run = |name: &str| -> Vec<&str> {
        settings
            .iter()
            .copied()
            .filter(|l| l.starts_with(&format!("{name} = ")))
            .collect()
    };
    assert_eq!(
        run("host_domain"),
        [
            "host_domain = example.com",
            "host_domain = mail.example.com",
            "host_domain = example.org",
        ]
    );
    assert_eq!(
        run("vdomain"),
        [
            "vdomain = cc @computers.com computers.com /var/spool/vd/cc",
            "vdomain = sh 192.0.2.10 shop.example.net /var/spool/vd/shop",
            "vdomain = old @old.example.com old.example.com /var/spool/mail/",
        ]
    );
    assert_eq!(
        run("valid_users"),
        ["valid_users = cc_*,sh_*", "valid_users = bob"]
    );
    assert_eq!(
        run("vdomain_passwd"),
        ["vdomain_passwd = shop.example.net /etc/dmail/shop.passwd"]
    );
    // Unknown settings are not listed among the settings, only noted.
    assert!(!settings.iter().any(|l| l.starts_with("drop_users")));
    assert!(!settings.iter().any(|l| l.starts_with("smtp_port")));

    let expected = [
        "{P}:21: note: drop_users: not an IMAPD setting; kept for other DMail programs",
        "{P}:22: note: smtp_port: not an IMAPD setting; kept for other DMail programs",
        "{P}:23: note: #include: not followed: imapd_include_level is 0",
        "{P}:24: warning: imapd_timeout: also set on line 16 of this file; this later value wins",
        "{P}:25: error: hash_spool: expected 0, 1 or 2; the setting is ignored",
        "{P}:26: error: forward_window: expected a whole number of seconds; the setting is ignored",
        "{P}:27: error: log_level: expected error, info or debug; the setting is ignored",
        "{P}:28: error: imapd_mailbox_name: expected a directory relative to the home directory, without ..; the setting is ignored",
        "{P}:10: warning: vdomain: its DIR is drop_path: its users' drop files may collide with main-domain users'",
    ]
    .map(|l| l.replace("{P}", &path));
    assert_eq!(diagnostics, expected);
    assert_eq!(code, 1);
}

#[test]
fn empty_config_reports_whole_config_checks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "dmail.conf", "");
    let (stdout, code) = check_config(&path);
    let (settings, diagnostics) = split(&stdout);
    assert!(
        settings
            .lines()
            .all(|l| l.ends_with(" (default)") || l.ends_with(" = (unset)")),
        "{settings}"
    );
    assert_eq!(
        diagnostics,
        [
            format!("{path}:0: error: drop_path: required, and not set"),
            format!(
                "{path}:0: warning: host_domain: not set: logins naming a domain can only reach virtual domains"
            ),
        ]
    );
    assert_eq!(code, 1);
}

#[test]
fn config_without_errors_exits_0_with_nothing_after_the_blank_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "dmail.conf",
        "drop_path /var/spool/mail\r\nhost_domain example.com\r\nvdomain cc @computers.com computers.com /var/spool/vd/cc\r\n",
    );
    let (stdout, code) = check_config(&path);
    assert!(
        stdout.ends_with("vdomain_separator = _ (default)\n\n"),
        "{stdout}"
    );
    assert_eq!(code, 0);
}

#[test]
fn unreadable_config_shows_defaults_then_the_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = write(dir.path(), "empty.conf", "");
    let (defaults, _) = check_config(&empty);
    let (default_settings, _) = split(&defaults);

    let missing = dir.path().join("missing.conf");
    let missing = missing.to_str().expect("UTF-8");
    let (stdout, code) = check_config(missing);
    let (settings, diagnostics) = split(&stdout);
    assert_eq!(settings, default_settings);
    assert_eq!(
        diagnostics,
        [format!(
            "{missing}:0: error: (file): cannot read: no such file"
        )]
    );
    assert_eq!(code, 1);

    let here = dir.path().to_str().expect("UTF-8");
    let (stdout, code) = check_config(here);
    let (_, diagnostics) = split(&stdout);
    assert_eq!(
        diagnostics,
        [format!(
            "{here}:0: error: (file): cannot read: it is a directory"
        )]
    );
    assert_eq!(code, 1);
}

#[test]
fn unset_and_default_forms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "dmail.conf",
        "drop_path /var/spool/mail\nhost_domain example.com\nhash_spool 0\nlog_path /var/log/dmail\n",
    );
    let (stdout, _) = check_config(&path);
    let (settings, _) = split(&stdout);
    let lines: Vec<&str> = settings.lines().collect();
    // Set to its default value: shown as set.
    assert!(lines.contains(&"hash_spool = 0"));
    assert!(!lines.contains(&"hash_spool = 0 (default)"));
    // Defaulted and not set.
    assert!(lines.contains(&"drop_prefix = true (default)"));
    // Optional and multi-entry, not set.
    assert!(lines.contains(&"lock_id = (unset)"));
    assert!(lines.contains(&"user_ip_address = (unset)"));
    // log_path set: shown as set.
    assert!(lines.contains(&"log_path = /var/log/dmail"));
}

#[test]
fn included_files_are_followed_with_imapd_include_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = write(
        dir.path(),
        "local.conf",
        "host_domain example.org\nimapd_timeout 60\nhash_spool x\n",
    );
    let path = write(
        dir.path(),
        "dmail.conf",
        "imapd_include_level 1\ndrop_path /var/spool/mail\nhost_domain example.com\nimapd_timeout 900\n#imapd_include local.conf\n",
    );
    let (stdout, code) = check_config(&path);
    let (settings, diagnostics) = split(&stdout);
    let lines: Vec<&str> = settings.lines().collect();
    assert!(lines.contains(&"imapd_include_level = 1"));
    // The include overrides a single value without a duplicate warning, and adds to a multi one.
    assert!(lines.contains(&"imapd_timeout = 60"));
    assert!(lines.contains(&"host_domain = example.com"));
    assert!(lines.contains(&"host_domain = example.org"));
    assert_eq!(
        diagnostics,
        [format!(
            "{local}:3: error: hash_spool: expected 0, 1 or 2; the setting is ignored"
        )]
    );
    assert_eq!(code, 1);
}

#[test]
fn tls_files_that_load_are_noted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = Certs::new(dir.path());
    let conf = format!(
        "drop_path /var/spool/mail\nhost_domain example.com\n{}",
        certs.config_lines()
    );
    let path = write(dir.path(), "dmail.conf", &conf);
    let (stdout, code) = check_config(&path);
    let (settings, diagnostics) = split(&stdout);
    let cert = certs.cert.to_str().expect("UTF-8");
    assert!(
        settings.contains(&format!("imapd_tls_cert = {cert}\n")),
        "{settings}"
    );
    assert_eq!(
        diagnostics,
        [format!(
            "{path}:3: note: imapd_tls_cert: certificate and key load: STARTTLS is offered, \
             and imapd --tls can serve"
        )]
    );
    assert_eq!(code, 0);
}

#[test]
fn tls_files_that_do_not_load_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = Certs::new(dir.path());
    let cert = certs.cert.to_str().expect("UTF-8");
    // The certificate where the key should be: the key's setting and file are named.
    let conf = format!(
        "drop_path /var/spool/mail\nhost_domain example.com\n\
         imapd_tls_cert {cert}\nimapd_tls_key {cert}\n"
    );
    let path = write(dir.path(), "dmail.conf", &conf);
    let (stdout, code) = check_config(&path);
    let (_, diagnostics) = split(&stdout);
    assert_eq!(
        diagnostics,
        [format!(
            "{path}:4: error: imapd_tls_key: {cert}: no PEM private key (BEGIN PRIVATE KEY, \
             RSA PRIVATE KEY or EC PRIVATE KEY) found; TLS is not offered"
        )]
    );
    assert_eq!(code, 1);

    // A missing certificate.
    let conf = "drop_path /var/spool/mail\nhost_domain example.com\n\
                imapd_tls_cert /nonexistent/cert.pem\nimapd_tls_key /nonexistent/key.pem\n";
    let path = write(dir.path(), "missing.conf", conf);
    let (stdout, code) = check_config(&path);
    let (_, diagnostics) = split(&stdout);
    assert_eq!(
        diagnostics,
        [format!(
            "{path}:3: error: imapd_tls_cert: cannot read /nonexistent/cert.pem: No such file or \
             directory (os error 2); TLS is not offered"
        )]
    );
    assert_eq!(code, 1);
}
