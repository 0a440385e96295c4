//! The layout rules of dmail-conventions §3 (steps 5–9) and §5 as tables, for both platforms,
//! plus properties that must hold for any login.

use camino::Utf8Path;
use dmail_conf::{Config, Platform, Program, parse_str};
use proptest::prelude::*;
use test_case::test_case;

use super::*;

fn config(text: &str, platform: Platform) -> Config {
    let loaded = parse_str(text, Utf8Path::new("dmail.conf"), Program::Imapd, platform);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == dmail_conf::Severity::Error)
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "test config has errors: {errors:?}");
    loaded.config
}

fn drop_of(text: &str, platform: Platform, login: &str) -> Result<String, String> {
    let c = config(text, platform);
    let login = c
        .resolve_login(login.as_bytes(), None)
        .map_err(|e| e.to_string())?;
    drop_file(&c, &login)
        .map(|d| d.to_string())
        .map_err(|e| e.to_string())
}

const SPOOL: &str =
    "drop_path /var/spool/mail\nvdomain cc @computers.com computers.com /var/spool/vd/cc\n";

// dmail-conventions §3, the examples table, every row (Unix).
#[test_case("", "bob", "/var/spool/mail/bob"; "bob hash 0")]
#[test_case("hash_spool 1", "bob", "/var/spool/mail/b/bob"; "bob hash 1")]
#[test_case("hash_spool 2\nlowercase_username true", "Bob", "/var/spool/mail/b/o/bob"; "Bob lowercased hash 2")]
#[test_case("hash_spool 2", "Bob", "/var/spool/mail/b/o/Bob"; "Bob kept hash 2")]
#[test_case("hash_spool 2", "x", "/var/spool/mail/x/_/x"; "missing second character")]
#[test_case("hash_spool 2", "a.b", "/var/spool/mail/a/_/a.b"; "new hashing dot")]
#[test_case("hash_spool 2\nimapd_enable_new_hashing false", "a.b", "/var/spool/mail/a/a.b"; "old hashing dot")]
#[test_case("hash_spool 2", "sales@computers.com", "/var/spool/vd/cc/s/a/cc_sales"; "vdomain hash 2")]
#[test_case("drop_prefix false", "sales@computers.com", "/var/spool/vd/cc/sales"; "vdomain without prefix")]
// Our own rows, at least one per rule.
#[test_case("hash_spool 1", "Sales@COMPUTERS.COM", "/var/spool/vd/cc/s/cc_Sales"; "hash dirs from the local part, lower-cased")]
#[test_case("hash_spool 2", "9z", "/var/spool/mail/9/z/9z"; "digits hash as themselves")]
#[test_case("hash_spool 2", "Ébé", "/var/spool/mail/_/b/Ébé"; "non-ASCII hashes to underscore")]
#[test_case("hash_spool 2\nimapd_enable_new_hashing false", "Ébé", "/var/spool/mail/_/b/Ébé"; "old hashing non-ASCII")]
#[test_case("hash_spool 2\nimapd_enable_new_hashing false", "a-b", "/var/spool/mail/a/-/a-b"; "old hashing keeps punctuation")]
#[test_case("hash_spool 2\nimapd_enable_new_hashing false", ".x", "/var/spool/mail/x/.x"; "old hashing leading dot adds no level")]
#[test_case("hash_spool 2\nimapd_enable_new_hashing false", "a/b", "/var/spool/mail/a/_/a%2Fb"; "old hashing slash")]
#[test_case("", "a/b", "/var/spool/mail/a%2Fb"; "separator encoded")]
#[test_case("", "50%", "/var/spool/mail/50%25"; "percent encoded")]
#[test_case("", "tab\there", "/var/spool/mail/tab%09here"; "control encoded")]
#[test_case("", "a\u{7f}", "/var/spool/mail/a%7F"; "delete encoded")]
#[test_case("invalid_chars /:", "a:b", "/var/spool/mail/a%3Ab"; "invalid_chars encoded")]
#[test_case("invalid_chars :", "a/b", "/var/spool/mail/a%2Fb"; "separator encoded whatever invalid_chars says")]
#[test_case("", "a\\b", "/var/spool/mail/a\\b"; "backslash is a plain character on unix")]
#[test_case("", "ü/", "/var/spool/mail/ü%2F"; "multi-byte characters kept")]
#[test_case("", "..", "Err: the user name \"..\" cannot name a file"; "dot dot refused")]
#[test_case("", ".", "Err: the user name \".\" cannot name a file"; "dot refused")]
#[test_case("", "..x", "/var/spool/mail/..x"; "dots within a name are fine")]
#[test_case("vdomain_separator -", "sales@computers.com", "/var/spool/vd/cc/cc-sales"; "custom separator")]
#[test_case("drop_prefix false", "..@computers.com", "Err: the user name \"..\" cannot name a file"; "vdomain dot dot refused")]
fn unix_drop_files(extra: &str, login: &str, expected: &str) {
    let got = drop_of(&format!("{SPOOL}{extra}\n"), Platform::Unix, login);
    let got = got.unwrap_or_else(|e| format!("Err: {e}"));
    assert_eq!(got, expected);
}

const NT_SPOOL: &str =
    "drop_path c:\\dmail\\spool\nvdomain cc @computers.com computers.com d:\\vd\\cc\\\n";

// The same rules with NT's separators and invalid_chars default (`\/:*?"<>|`).
#[test_case("", "bob", "c:\\dmail\\spool\\bob"; "nt bob")]
#[test_case("hash_spool 2", "Bob", "c:\\dmail\\spool\\b\\o\\Bob"; "nt hash 2")]
#[test_case("hash_spool 2", "sales@computers.com", "d:\\vd\\cc\\s\\a\\cc_sales"; "nt vdomain dir with trailing separator")]
#[test_case("", "a\\b", "c:\\dmail\\spool\\a%5Cb"; "nt backslash encoded")]
#[test_case("", "a:b*c?d\"e<f>g|h", "c:\\dmail\\spool\\a%3Ab%2Ac%3Fd%22e%3Cf%3Eg%7Ch"; "nt invalid chars")]
#[test_case("invalid_chars :", "a\\b/c", "c:\\dmail\\spool\\a%5Cb%2Fc"; "nt separators always encoded")]
#[test_case("hash_spool 2\nimapd_enable_new_hashing false", "a:b", "c:\\dmail\\spool\\a\\_\\a%3Ab"; "nt old hashing invalid char")]
fn nt_drop_files(extra: &str, login: &str, expected: &str) {
    let got = drop_of(&format!("{NT_SPOOL}{extra}\n"), Platform::Nt, login);
    assert_eq!(got.unwrap_or_else(|e| format!("Err: {e}")), expected);
}

#[test]
fn missing_drop_path_is_an_error_for_main_users_only() {
    let c = config("vdomain cc @c.com c.com /vd/cc\n", Platform::Unix);
    let main = c.resolve_login(b"bob", None).unwrap();
    assert_eq!(drop_file(&c, &main), Err(LayoutError::NoDropPath));
    let virt = c.resolve_login(b"bob@c.com", None).unwrap();
    assert_eq!(drop_file(&c, &virt).unwrap().as_path(), "/vd/cc/cc_bob");
}

fn paths(text: &str, platform: Platform, login: &str, home: Option<&str>) -> MailPaths {
    let c = config(text, platform);
    let l = c.resolve_login(login.as_bytes(), None).unwrap();
    mail_paths(&c, &l, home.map(Utf8Path::new)).unwrap()
}

// §5: folder directory and subscription list.
#[test_case(Platform::Unix, "", None, "/var/spool/mail/bob.mbx", "/var/spool/mail/bob.mbx/.mailboxlist"; "unix mbx")]
#[test_case(Platform::Unix, "imapd_mailbox_name mail", Some("/home/bob/"), "/home/bob/mail", "/home/bob/mail/.mailboxlist"; "home mail")]
#[test_case(Platform::Unix, "imapd_mailbox_name .", Some("/home/bob"), "/home/bob", "/home/bob/.mailboxlist"; "home itself")]
#[test_case(Platform::Unix, "imapd_mailbox_name mail/imap/", Some("/home/bob"), "/home/bob/mail/imap", "/home/bob/mail/imap/.mailboxlist"; "nested without trailing slash")]
#[test_case(Platform::Unix, "imapd_mailbox_name mail\nauthent_method external\nauthent_process /x", None, "/var/spool/mail/bob.mbx", "/var/spool/mail/bob.mbx/.mailboxlist"; "external users keep mbx")]
fn folder_dirs(platform: Platform, extra: &str, home: Option<&str>, folder: &str, subs: &str) {
    let p = paths(&format!("{SPOOL}{extra}\n"), platform, "bob", home);
    assert_eq!(p.folder_dir, folder);
    assert_eq!(p.subscriptions, subs);
    assert_eq!(p.maildir, None);
}

#[test]
fn nt_folder_dir_and_list() {
    let p = paths(
        &format!("{NT_SPOOL}hash_spool 1\n"),
        Platform::Nt,
        "bob",
        None,
    );
    assert_eq!(p.folder_dir, "c:\\dmail\\spool\\b\\bob.mbx");
    assert_eq!(p.subscriptions, "c:\\dmail\\spool\\b\\bob.mbx\\MAILBOX.LST");
}

// §5 "users authenticated from the system password file": a vdomain with a vdomain_passwd file
// keeps its folders beside the drop file; one without uses the home directory.
#[test]
fn mailbox_name_only_for_system_password_users() {
    let text = format!(
        "{SPOOL}vdomain xx @x.com x.com /var/spool/vd/xx\nvdomain_passwd x.com /etc/x.passwd\nimapd_mailbox_name mail\n"
    );
    let c = config(&text, Platform::Unix);
    let cc = c.resolve_login(b"sales@computers.com", None).unwrap();
    assert!(needs_home(&c, &cc));
    assert_eq!(mail_paths(&c, &cc, None), Err(LayoutError::NoHome));
    assert_eq!(
        mail_paths(&c, &cc, Some(Utf8Path::new("/h/s")))
            .unwrap()
            .folder_dir,
        "/h/s/mail"
    );
    let xx = c.resolve_login(b"sales@x.com", None).unwrap();
    assert!(!needs_home(&c, &xx));
    assert_eq!(
        mail_paths(&c, &xx, None).unwrap().folder_dir,
        "/var/spool/vd/xx/xx_sales.mbx"
    );
}

// §5 maildir: hash dirs and leaf as the drop file, `.mdir` with maildir_suffix, maildir_althome
// for virtual domains (the entry naming the domain before the one for every domain).
#[test_case("use_maildir true\nmaildir_home /md\nhash_spool 1", "bob", Some("/md/b/bob.mdir"); "maildir home")]
#[test_case("use_maildir true\nmaildir_home /md\nmaildir_suffix false", "bob", Some("/md/bob"); "no suffix")]
#[test_case("use_maildir true\nmaildir_home /md\nmaildir_althome /alt", "sales@computers.com", Some("/alt/cc_sales.mdir"); "althome for every vdomain")]
#[test_case("use_maildir true\nmaildir_home /md\nmaildir_althome /alt\nmaildir_althome computers.com /cc", "sales@computers.com", Some("/cc/cc_sales.mdir"); "althome naming the domain wins")]
#[test_case("use_maildir true\nmaildir_home /md\nmaildir_althome other.com /o", "sales@computers.com", Some("/md/cc_sales.mdir"); "althome for another domain")]
#[test_case("use_maildir true\nmaildir_home /md\nmaildir_althome /alt", "bob", Some("/md/bob.mdir"); "althome not for main users")]
#[test_case("maildir_home /md", "bob", None; "no maildir without use_maildir")]
fn maildirs(extra: &str, login: &str, expected: Option<&str>) {
    let p = paths(&format!("{SPOOL}{extra}\n"), Platform::Unix, login, None);
    assert_eq!(p.maildir.as_deref().map(Utf8Path::as_str), expected);
    if let Some(md) = expected {
        assert_eq!(p.folder_dir, md);
        assert_eq!(p.subscriptions, format!("{md}/.mailboxlist"));
    }
}

#[test]
fn maildir_without_home_is_an_error() {
    let c = config(&format!("{SPOOL}use_maildir true\n"), Platform::Unix);
    let l = c.resolve_login(b"bob", None).unwrap();
    assert_eq!(mail_paths(&c, &l, None), Err(LayoutError::NoMaildirHome));
}

#[test]
fn external_absolute_drop_file_is_used_as_is() {
    let c = config(
        &format!("{SPOOL}authent_method external\nauthent_process /bin/auth\n"),
        Platform::Unix,
    );
    let l = c.resolve_login(b"bob", None).unwrap();
    let p = mail_paths_with_drop(&c, &l, DropPath::new("/elsewhere/b0b".into()), None).unwrap();
    assert_eq!(p.drop_file.as_path(), "/elsewhere/b0b");
    assert_eq!(p.folder_dir, "/elsewhere/b0b.mbx");
}

fn arb_login() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..24),
        "[a-zA-Z0-9./\\\\%:*?<>|\"@ _-]{0,16}(@(computers\\.com|COMPUTERS\\.COM|c2\\.com|example\\.com))?"
            .prop_map(String::into_bytes),
        "\\PC{0,12}".prop_map(String::into_bytes),
    ]
}

fn arb_text() -> impl Strategy<Value = String> {
    (
        0usize..3,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(hash, new_hashing, lower, prefix, colon)| {
            format!(
                "drop_path /var/spool/mail\nhost_domain example.com\n\
                 vdomain cc @computers.com computers.com /var/spool/vd/cc\n\
                 vdomain c2 @c2.com c2.com /var/spool/vd/c2\n\
                 hash_spool {hash}\nimapd_enable_new_hashing {new_hashing}\n\
                 lowercase_username {lower}\ndrop_prefix {prefix}\n{}",
                if colon { "invalid_chars /:*\n" } else { "" }
            )
        })
}

/// The base directory a resolved login's drop file must stay inside.
fn base_of(c: &Config, l: &dmail_conf::ResolvedLogin) -> camino::Utf8PathBuf {
    l.vdomain().map_or_else(
        || c.drop_path.clone().unwrap_or_default(),
        |v| v.dir.clone(),
    )
}

proptest! {
    // §3 step 6: "Nothing a user types can ever name a path outside the spool."
    #[test]
    fn drop_file_stays_inside_its_base(text in arb_text(), login in arb_login(), nt in any::<bool>()) {
        let platform = if nt { Platform::Nt } else { Platform::Unix };
        let c = parse_str(&text, Utf8Path::new("c"), Program::Imapd, platform).config;
        if let Ok(l) = c.resolve_login(&login, None)
            && let Ok(d) = drop_file(&c, &l)
        {
            {
                let base = base_of(&c, &l);
                let rest = d.as_path().as_str().strip_prefix(base.as_str());
                prop_assert!(rest.is_some(), "{d} is not under {base}");
                let rest = rest.unwrap_or_default();
                let parts: Vec<&str> = rest.split(|ch| platform.is_separator(ch)).filter(|p| !p.is_empty()).collect();
                let levels = c.hash_spool.levels();
                if c.imapd_enable_new_hashing {
                    prop_assert_eq!(parts.len(), levels + 1, "{} has unexpected components", d);
                } else {
                    // Old hashing: a `.` adds no level.
                    prop_assert!(!parts.is_empty() && parts.len() <= levels + 1, "{} has unexpected components", d);
                }
                for p in &parts {
                    prop_assert!(*p != ".." && *p != ".", "{} has a dot component", d);
                }
                prop_assert!(!d.as_path().components().any(|x| x == camino::Utf8Component::ParentDir));
            }
        }
    }

    // §3: "Different logins never share a drop file as long as every vdomain DIR is distinct and
    // differs from drop_path" — different after normalisation (strip, split, lowercase).
    #[test]
    fn different_users_never_share_a_drop_file(text in arb_text(), a in arb_login(), b in arb_login()) {
        let c = parse_str(&text, Utf8Path::new("c"), Program::Imapd, Platform::Unix).config;
        if let (Ok(la), Ok(lb)) = (c.resolve_login(&a, None), c.resolve_login(&b, None))
            && let (Ok(da), Ok(db)) = (drop_file(&c, &la), drop_file(&c, &lb))
        {
            let same_user = la.local == lb.local && la.domain == lb.domain;
            prop_assert_eq!(same_user, da == db, "{:?} {:?} -> {} {}", la, lb, da, db);
        }
    }
}
