//! `imapd whereis` as built: the drop file of every example in dmail-conventions §3, full output
//! for main-domain, virtual-domain, IP-selected, home-based and maildir users, and the exact
//! failure line for logins that map to no path.

// Helpers outside #[test] functions panic on failure too, as a test should.
#![allow(clippy::expect_used)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Output};

use tempfile::TempDir;
use test_case::test_case;

/// The configuration of the §3 examples.
const BASE: &str =
    "drop_path /var/spool/mail\nvdomain cc @computers.com computers.com /var/spool/vd/cc\n";

/// A temporary dmail.conf holding `text`.
struct Conf {
    _dir: TempDir,
    path: String,
}

fn conf(text: &str) -> Conf {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dmail.conf");
    std::fs::write(&path, text).expect("write config");
    let path = path.to_str().expect("UTF-8 temp path").to_owned();
    Conf { _dir: dir, path }
}

fn whereis(conf: &Conf, args: &[&OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imapd"))
        .arg("whereis")
        .arg("-i")
        .arg(&conf.path)
        .args(args)
        .output()
        .expect("run imapd")
}

fn os<'a>(args: &[&'a str]) -> Vec<&'a OsStr> {
    args.iter().map(|a| OsStr::new(*a)).collect()
}

/// Runs whereis and expects success: the stdout text.
fn found(conf: &Conf, args: &[&str]) -> String {
    let out = whereis(conf, &os(args));
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).expect("UTF-8 stdout")
}

/// Runs whereis and expects a mapping failure: the one stderr line, without its newline.
fn refused(conf: &Conf, args: &[&OsStr]) -> String {
    let out = whereis(conf, args);
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).expect("UTF-8 stderr");
    assert_eq!(err.lines().count(), 1, "{err}");
    err.strip_suffix('\n').expect("newline").to_owned()
}

// Every example row of dmail-conventions §3's table, plus an encoded name.
#[test_case("bob", "hash_spool 0", "/var/spool/mail/bob"; "bob hash 0")]
#[test_case("bob", "hash_spool 1", "/var/spool/mail/b/bob"; "bob hash 1")]
#[test_case("Bob", "hash_spool 2\nlowercase_username true", "/var/spool/mail/b/o/bob"; "Bob lowercased hash 2")]
#[test_case("Bob", "hash_spool 2\nlowercase_username false", "/var/spool/mail/b/o/Bob"; "Bob kept hash 2")]
#[test_case("x", "hash_spool 2", "/var/spool/mail/x/_/x"; "one character hash 2")]
#[test_case("a.b", "hash_spool 2", "/var/spool/mail/a/_/a.b"; "dot new hashing")]
#[test_case("a.b", "hash_spool 2\nimapd_enable_new_hashing false", "/var/spool/mail/a/a.b"; "dot old hashing")]
#[test_case("sales@computers.com", "hash_spool 2", "/var/spool/vd/cc/s/a/cc_sales"; "vdomain hash 2")]
#[test_case("sales@computers.com", "hash_spool 0\ndrop_prefix false", "/var/spool/vd/cc/sales"; "vdomain drop_prefix false")]
#[test_case("a/b", "hash_spool 0", "/var/spool/mail/a%2Fb"; "slash is encoded")]
#[test_case("a%b", "hash_spool 0", "/var/spool/mail/a%25b"; "percent is encoded")]
fn drop_file_examples(login: &str, extra: &str, drop_file: &str) {
    let c = conf(&format!("{BASE}{extra}\n"));
    let stdout = found(&c, &[login]);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("drop_file: "))
        .expect("a drop_file line");
    assert_eq!(line, format!("drop_file: {drop_file}"));
}

#[test]
fn main_domain_user() {
    let c = conf(&format!("{BASE}host_domain example.com\nhash_spool 2\n"));
    let expected = "\
user: bob
domain: example.com
drop_file: /var/spool/mail/b/o/bob
folder_dir: /var/spool/mail/b/o/bob.mbx
subscriptions: /var/spool/mail/b/o/bob.mbx/.mailboxlist
maildir: -
";
    assert_eq!(found(&c, &["bob"]), expected);
    assert_eq!(found(&c, &["bob@EXAMPLE.com"]), expected);
}

#[test]
fn main_domain_without_host_domain_has_no_domain_name() {
    let c = conf(BASE);
    let stdout = found(&c, &["bob"]);
    assert!(stdout.contains("\ndomain: -\n"), "{stdout}");
}

#[test]
fn virtual_domain_user() {
    let c = conf(&format!("{BASE}host_domain example.com\nhash_spool 1\n"));
    assert_eq!(
        found(&c, &["sales@computers.com"]),
        "\
user: sales
domain: computers.com
drop_file: /var/spool/vd/cc/s/cc_sales
folder_dir: /var/spool/vd/cc/s/cc_sales.mbx
subscriptions: /var/spool/vd/cc/s/cc_sales.mbx/.mailboxlist
maildir: -
"
    );
}

#[test]
fn ip_virtual_domain_selected_by_local_ip() {
    let c = conf(&format!(
        "{BASE}host_domain example.com\nvdomain sh 192.0.2.10 shop.example.net /var/spool/vd/shop\n"
    ));
    let shop = "\
user: anna
domain: shop.example.net
drop_file: /var/spool/vd/shop/sh_anna
folder_dir: /var/spool/vd/shop/sh_anna.mbx
subscriptions: /var/spool/vd/shop/sh_anna.mbx/.mailboxlist
maildir: -
";
    assert_eq!(found(&c, &["--local-ip", "192.0.2.10", "anna"]), shop);
    // An IPv4-mapped IPv6 address is the IPv4 address (§6).
    assert_eq!(
        found(&c, &["--local-ip", "::ffff:192.0.2.10", "anna"]),
        shop
    );
    // Another address, or none: the main domain.
    let main = found(&c, &["--local-ip", "192.0.2.11", "anna"]);
    assert!(main.contains("drop_file: /var/spool/mail/anna\n"), "{main}");
    let main = found(&c, &["anna"]);
    assert!(main.contains("domain: example.com\n"), "{main}");
    // A typed domain wins over the address.
    let typed = found(&c, &["--local-ip", "192.0.2.10", "anna@example.com"]);
    assert!(
        typed.contains("drop_file: /var/spool/mail/anna\n"),
        "{typed}"
    );
}

#[test_case("mail", "/home/bob", "/home/bob/mail"; "mail")]
#[test_case("mail", "/home/bob/", "/home/bob/mail"; "home with trailing slash")]
#[test_case(".", "/home/bob", "/home/bob"; "the home itself")]
fn imapd_mailbox_name_with_home(name: &str, home: &str, folder_dir: &str) {
    let c = conf(&format!("{BASE}imapd_mailbox_name {name}\n"));
    assert_eq!(
        found(&c, &["--home", home, "bob"]),
        format!(
            "user: bob\ndomain: -\ndrop_file: /var/spool/mail/bob\nfolder_dir: {folder_dir}\n\
             subscriptions: {folder_dir}/.mailboxlist\nmaildir: -\n"
        )
    );
}

#[test]
fn imapd_mailbox_name_looks_up_the_system_home() {
    let root = nix::unistd::User::from_name("root")
        .expect("lookup")
        .expect("a root user");
    let home = root.dir.to_str().expect("UTF-8 home").trim_end_matches('/');
    let c = conf(&format!("{BASE}imapd_mailbox_name mail\n"));
    let stdout = found(&c, &["root"]);
    assert!(
        stdout.contains(&format!("\nfolder_dir: {home}/mail\n")),
        "{stdout}"
    );
}

#[test]
fn imapd_mailbox_name_without_a_system_user() {
    let c = conf(&format!("{BASE}imapd_mailbox_name mail\n"));
    let name = "no-such-user-imapd-test";
    assert_eq!(
        refused(&c, &os(&[name])),
        format!("whereis: {name}: no home directory for system user {name}")
    );
}

#[test]
fn imapd_mailbox_name_does_not_apply_to_a_vdomain_passwd_domain() {
    let c = conf(&format!(
        "{BASE}imapd_mailbox_name mail\nvdomain_passwd computers.com /etc/dmail/cc.passwd\n"
    ));
    let stdout = found(&c, &["sales@computers.com"]);
    assert!(
        stdout.contains("\nfolder_dir: /var/spool/vd/cc/cc_sales.mbx\n"),
        "{stdout}"
    );
}

#[test]
fn external_authentication_ignores_imapd_mailbox_name() {
    let c = conf(&format!(
        "{BASE}authent_method external\nauthent_process /usr/local/dmail/nwauth\nimapd_mailbox_name mail\n"
    ));
    assert_eq!(
        found(&c, &["bob"]),
        "\
user: bob
domain: -
drop_file: /var/spool/mail/bob
folder_dir: /var/spool/mail/bob.mbx
subscriptions: /var/spool/mail/bob.mbx/.mailboxlist
maildir: -
"
    );
}

#[test]
fn use_maildir_with_maildir_home() {
    // use_maildir is an error in check-config until the maildir engine lands, but whereis still
    // shows where the mail would live.
    let c = conf(&format!(
        "{BASE}hash_spool 1\nuse_maildir true\nmaildir_home /srv/maildir\nimapd_mailbox_name mail\n"
    ));
    assert_eq!(
        found(&c, &["bob"]),
        "\
user: bob
domain: -
drop_file: /var/spool/mail/b/bob
folder_dir: /srv/maildir/b/bob.mdir
subscriptions: /srv/maildir/b/bob.mdir/.mailboxlist
maildir: /srv/maildir/b/bob.mdir
"
    );
    let check = Command::new(env!("CARGO_BIN_EXE_imapd"))
        .args(["check-config", "-i", &c.path])
        .output()
        .expect("run imapd");
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stdout).contains(": error: use_maildir: "));
}

#[test]
fn use_maildir_with_maildir_althome_for_a_vdomain() {
    let c = conf(&format!(
        "{BASE}use_maildir true\nmaildir_home /srv/maildir\nmaildir_althome computers.com /srv/vd-maildir\nmaildir_suffix false\n"
    ));
    let stdout = found(&c, &["sales@computers.com"]);
    assert!(
        stdout.ends_with(
            "folder_dir: /srv/vd-maildir/cc_sales\nsubscriptions: /srv/vd-maildir/cc_sales/.mailboxlist\nmaildir: /srv/vd-maildir/cc_sales\n"
        ),
        "{stdout}"
    );
}

#[test]
fn diagnostics_are_not_printed() {
    let c = conf(&format!(
        "{BASE}hash_spool 7\nsmtp_port 25\nhost_domain example.com\n"
    ));
    let stdout = found(&c, &["bob"]);
    assert_eq!(stdout.lines().count(), 6, "{stdout}");
    // The bad hash_spool is ignored: the default (0) applies.
    assert!(
        stdout.contains("drop_file: /var/spool/mail/bob\n"),
        "{stdout}"
    );
}

#[test_case(b"bob@nowhere.example", "whereis: bob@nowhere.example: the domain \"nowhere.example\" is neither a host_domain nor a vdomain"; "unknown domain")]
#[test_case(b"bob@mail.computers.com", "whereis: bob@mail.computers.com: the domain \"mail.computers.com\" is neither a host_domain nor a vdomain"; "no sub-domain matching")]
#[test_case(b"@example.com", "whereis: @example.com: the login has an empty local part"; "empty local part")]
#[test_case(b"", "whereis: : the login has an empty local part"; "empty login")]
#[test_case(b"bob@", "whereis: bob@: the login has an empty domain after @"; "empty domain")]
#[test_case(b".", "whereis: .: the user name \".\" cannot name a file"; "dot")]
#[test_case(b"..", "whereis: ..: the user name \"..\" cannot name a file"; "dot dot")]
#[test_case(b"b\xFFb", "whereis: b\u{FFFD}b: the login is not valid UTF-8"; "not UTF-8")]
fn logins_that_map_to_no_path(login: &[u8], line: &str) {
    let c = conf(&format!("{BASE}host_domain example.com\n"));
    assert_eq!(refused(&c, &[OsStr::from_bytes(login)]), line);
}

#[test]
fn missing_drop_path() {
    let c =
        conf("host_domain example.com\nvdomain cc @computers.com computers.com /var/spool/vd/cc\n");
    assert_eq!(
        refused(&c, &os(&["bob"])),
        "whereis: bob: drop_path is not set"
    );
    // A virtual-domain user does not need drop_path.
    let stdout = found(&c, &["sales@computers.com"]);
    assert!(
        stdout.contains("drop_file: /var/spool/vd/cc/cc_sales\n"),
        "{stdout}"
    );
}

#[test]
fn use_maildir_without_maildir_home() {
    let c = conf(&format!("{BASE}use_maildir true\n"));
    assert_eq!(
        refused(&c, &os(&["bob"])),
        "whereis: bob: use_maildir is true and maildir_home is not set"
    );
}

#[test]
fn unreadable_config_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.conf");
    let missing = missing.to_str().expect("UTF-8");
    let out = Command::new(env!("CARGO_BIN_EXE_imapd"))
        .args(["whereis", "-i", missing, "bob"])
        .output()
        .expect("run imapd");
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("whereis: {missing}: cannot read: no such file\n")
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn bad_local_ip_is_a_usage_error() {
    let c = conf(BASE);
    let out = whereis(&c, &os(&["--local-ip", "computers.com", "bob"]));
    assert!(out.stdout.is_empty());
    assert!(!out.stderr.is_empty());
    assert_eq!(out.status.code(), Some(2));
}
