//! Spawn mode with `authent_method unix_user` and `imapd_become_user true` (the defaults): a
//! session really runs as the user who logged in. The test creates a system user with
//! `useradd`, sets a password with `chpasswd` (the system's default hash, yescrypt on current
//! distributions), logs in through imapdsvc, reads the Uid/Gid lines of the spawned imapd in
//! /proc, and removes the user afterwards. Needs root; skipped, saying why, otherwise.

#![allow(clippy::expect_used)]

#[path = "../../imapd-bin/tests/common/mod.rs"]
mod common;
mod svc;
#[path = "../../test-support/system_user.rs"]
mod system_user;

use std::os::unix::fs::PermissionsExt;

use svc::{Svc, until};
use system_user::TempUser;

/// The four ids of a `Uid:` or `Gid:` line of /proc/PID/status.
fn ids(pid: u32, field: &str) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .expect("field")
        .split_whitespace()
        .map(|n| n.parse().expect("id"))
        .collect()
}

#[test]
fn a_spawned_session_runs_as_the_user_who_logged_in() {
    if !rustix::process::getuid().is_root() {
        eprintln!("skipped: not running as root, so no system user can be created");
        return;
    }
    let password = "Tr0ub4dor-3";
    let user = TempUser::create("imapsvc", password);
    let spool = tempfile::tempdir().expect("tempdir");
    // The user reaches its drop file after the switch: world-traversable directories, and a
    // sticky world-writable spool as mail spools are.
    std::fs::set_permissions(spool.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mail = spool.path().join("spool");
    let log = spool.path().join("log");
    std::fs::create_dir(&mail).expect("mkdir");
    std::fs::create_dir(&log).expect("mkdir");
    std::fs::set_permissions(&mail, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    let config = spool.path().join("dmail.conf");
    std::fs::write(
        &config,
        format!(
            "authent_method unix_user\n\
             imapd_become_user true\n\
             drop_path {}\n\
             log_path {}\n\
             log_level debug\n\
             imapd_login_delay 0\n",
            mail.display(),
            log.display()
        ),
    )
    .expect("write conf");
    let fake = common::Spool { config, dir: spool };
    // `auto` must choose spawn mode for this configuration.
    let service = Svc::start(&fake, "auto");
    let mut client = service.connect();
    until(&mut client, "* OK");
    let children = service.children();
    assert_eq!(children.len(), 1, "one imapd per connection: {children:?}");
    let child = children[0];
    assert_eq!(ids(child, "Uid:"), vec![0; 4], "root before login");

    assert!(client.send(format!("a LOGIN {} {password}\r\n", user.name).as_bytes()));
    let lines = until(&mut client, "a ");
    assert!(
        lines.last().is_some_and(|l| l.starts_with("a OK")),
        "{lines:?}\n{}",
        fake.log()
    );
    assert_eq!(ids(child, "Uid:"), vec![user.uid; 4]);
    assert_eq!(ids(child, "Gid:"), vec![user.gid; 4]);
    assert!(client.send(b"b SELECT INBOX\r\n"));
    let lines = until(&mut client, "b ");
    assert!(
        lines.last().is_some_and(|l| l.starts_with("b OK")),
        "{lines:?}"
    );
    assert!(client.send(b"c LOGOUT\r\n"));
    until(&mut client, "c OK");
}
