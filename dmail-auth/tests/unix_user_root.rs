//! unix_user end to end against the real system database: each test creates a throwaway user
//! with `useradd` and `chpasswd`, and removes it with `userdel -r` in a Drop guard, even when the
//! test fails. Needs root (CI runs as root); set `DMAIL_SKIP_ROOT_TESTS=1` to skip them
//! explicitly when running as an ordinary user.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::process::Command;
use std::sync::Mutex;

#[path = "../../test-support/system_user.rs"]
mod system_user;

use dmail_auth::{AuthError, Authenticator, Password, Source, UnixUser, policy, sys};
use dmail_conf::{Config, Platform, Program, parse_str};
use system_user::{TempUser, run};

/// useradd/usermod/userdel lock /etc/passwd; run one user's life at a time in this process.
static SERIAL: Mutex<()> = Mutex::new(());

fn skip() -> bool {
    if std::env::var_os("DMAIL_SKIP_ROOT_TESTS").is_some() {
        eprintln!("DMAIL_SKIP_ROOT_TESTS set: skipping");
        return true;
    }
    let out = Command::new("id").arg("-u").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0",
        "these tests need root (or DMAIL_SKIP_ROOT_TESTS=1)"
    );
    false
}

fn config(text: &str) -> Config {
    let loaded = parse_str(text, "dmail.conf".into(), Program::Imapd, Platform::Unix);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    loaded.config
}

fn pw(s: &str) -> Password {
    Password::new(s.as_bytes().to_vec())
}

fn rejected(r: Result<impl std::fmt::Debug, AuthError>) -> String {
    match r {
        Err(AuthError::Rejected(reason)) => reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn system_user_right_wrong_locked_expired() {
    if skip() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let user = TempUser::create("dmt", "c0rrect horse");
    let entry = sys::getpwnam(&user.name).unwrap().unwrap();
    assert_eq!(entry.passwd.as_str(), "x", "the hash lives in shadow");
    let shadow = sys::getspnam(&user.name).unwrap().unwrap();
    assert!(
        shadow.hash.starts_with("$y$") || shadow.hash.starts_with("$6$"),
        "chpasswd made {:?}",
        &shadow.hash[..4]
    );

    let c = config("drop_path /var/spool/mail\n");
    let mut auth = policy::for_config(&c).unwrap();
    let login = user.name.as_bytes();

    // Right password: the system's uid, gid and home.
    let ok = policy::login(&c, auth.as_mut(), login, &pw("c0rrect horse"), None, None).unwrap();
    assert_eq!(ok.user.system_name, user.name);
    assert_eq!(ok.user.source, Source::SystemPasswd);
    assert_eq!(ok.user.uid, Some(entry.uid));
    assert_eq!(ok.user.gid, Some(entry.gid));
    assert_eq!(
        ok.user.home.as_ref().map(|h| h.as_str()),
        Some(format!("/home/{}", user.name).as_str())
    );

    // Wrong password, and the password's case matters without lowercase_password.
    assert_eq!(
        rejected(policy::login(
            &c,
            auth.as_mut(),
            login,
            &pw("c0rrect horsE"),
            None,
            None
        )),
        "wrong password"
    );

    // usermod -L puts `!` before the hash.
    run("usermod", &["-L", &user.name], None);
    assert_eq!(
        rejected(policy::login(
            &c,
            auth.as_mut(),
            login,
            &pw("c0rrect horse"),
            None,
            None
        )),
        "account locked"
    );
    run("usermod", &["-U", &user.name], None);
    assert!(policy::login(&c, auth.as_mut(), login, &pw("c0rrect horse"), None, None).is_ok());

    // usermod -e 1: the account expired on 1970-01-02.
    run("usermod", &["-e", "1", &user.name], None);
    assert_eq!(
        rejected(policy::login(
            &c,
            auth.as_mut(),
            login,
            &pw("c0rrect horse"),
            None,
            None
        )),
        "account expired"
    );
    // ... but not for an authenticator that believes it is 1970-01-01.
    let resolved = c.resolve_login(login, None).unwrap();
    assert!(
        UnixUser::with_today(0)
            .authenticate(&c, &resolved, &pw("c0rrect horse"), None)
            .is_ok()
    );

    let name = user.name.clone();
    drop(user);
    assert!(
        sys::getpwnam(&name).unwrap().is_none(),
        "userdel removed it"
    );
    assert_eq!(
        rejected(policy::login(
            &c,
            auth.as_mut(),
            name.as_bytes(),
            &pw("c0rrect horse"),
            None,
            None
        )),
        "no such user"
    );
}

#[test]
fn vdomain_without_passwd_file_uses_the_system_name() {
    if skip() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // System name = PREFIX + "_" + local (dmail-conventions §3 step 4).
    let user = TempUser::create("dmv", "pa55word");
    let local = user.name.strip_prefix("dmv_").unwrap();
    let c = config(
        "drop_path /var/spool/mail\nvdomain dmv @vd.example vd.example /var/spool/vd\nvdomain dmv 192.0.2.25 vd.example /var/spool/vd\n",
    );
    let mut auth = UnixUser::new();
    let typed = format!("{local}@VD.example");
    let ok = policy::login(&c, &mut auth, typed.as_bytes(), &pw("pa55word"), None, None).unwrap();
    assert_eq!(ok.user.system_name, user.name);
    // By the local address, with no domain typed.
    let local_ip = Some("::ffff:192.0.2.25".parse().unwrap());
    let ok = policy::login(
        &c,
        &mut auth,
        local.as_bytes(),
        &pw("pa55word"),
        None,
        local_ip,
    )
    .unwrap();
    assert_eq!(ok.user.system_name, user.name);
    // Typed without a domain at another address, it is a main-domain login for `local`, which
    // is not a system user.
    assert_eq!(
        rejected(policy::login(
            &c,
            &mut auth,
            local.as_bytes(),
            &pw("pa55word"),
            None,
            None
        )),
        "no such user"
    );
}

#[test]
fn vdomain_passwd_file_replaces_the_system_database() {
    if skip() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // A system user dmp_X exists with one password; the domain's file gives X another. Only
    // the file counts for the vdomain.
    let user = TempUser::create("dmp", "system-pw");
    let local = user.name.strip_prefix("dmp_").unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vd.passwd");
    let hash = dmail_auth::sys::crypt(b"file-pw", "$6$abcdefgh$").unwrap();
    std::fs::write(
        &file,
        format!("{local}:{}:2001:2002::/srv/vd/{local}:\n", &*hash),
    )
    .unwrap();
    let c = config(&format!(
        "vdomain dmp @vd.example vd.example /var/spool/vd\nvdomain_passwd vd.example {}\n",
        file.display()
    ));
    let mut auth = UnixUser::new();
    let typed = format!("{local}@vd.example");
    let ok = policy::login(&c, &mut auth, typed.as_bytes(), &pw("file-pw"), None, None).unwrap();
    assert_eq!(ok.user.source, Source::VdomainPasswd);
    assert_eq!((ok.user.uid, ok.user.gid), (Some(2001), Some(2002)));
    assert_eq!(ok.user.system_name, user.name);
    assert_eq!(
        rejected(policy::login(
            &c,
            &mut auth,
            typed.as_bytes(),
            &pw("system-pw"),
            None,
            None
        )),
        "wrong password"
    );
}
