//! Switching user (dmail-conventions §11 step 4) in a separate process: the `become_probe`
//! example becomes a throwaway user made with `useradd` (removed afterwards with `userdel`), and
//! the kernel's view of its ids (/proc/self/status) must show the user's ids everywhere: real,
//! effective, saved and file-system uid and gid, and the user's supplementary groups only.
//!
//! Needs root (to create users and to switch). Skipped, saying why, when not run as root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../test-support/example.rs"]
mod example_program;

use std::path::PathBuf;
use std::process::Command;

use nix::unistd::{Group, User};

/// The path of this package's example `name` (built when missing).
fn example(name: &str) -> PathBuf {
    example_program::example("dmail-auth", name)
}

fn is_root() -> bool {
    if nix::unistd::getuid().is_root() {
        return true;
    }
    eprintln!("skipped: not running as root, so no user can be created or switched to");
    false
}

/// A user (with its own group) and an extra group it belongs to, removed on drop.
struct ThrowawayUser {
    name: String,
    extra_group: String,
}

impl ThrowawayUser {
    fn create(tag: &str) -> ThrowawayUser {
        let id = std::process::id();
        let name = format!("dmt{tag}{id}");
        let extra_group = format!("dmg{tag}{id}");
        run("groupadd", &[&extra_group]);
        // Build the guard before useradd, so that the group goes even if useradd fails.
        let user = ThrowawayUser { name, extra_group };
        run(
            "useradd",
            &[
                "--no-create-home",
                "--user-group",
                "--groups",
                &user.extra_group,
                "--shell",
                "/usr/sbin/nologin",
                &user.name,
            ],
        );
        user
    }
}

impl Drop for ThrowawayUser {
    fn drop(&mut self) {
        // userdel also removes the user's own group (useradd --user-group).
        let _ = Command::new("userdel").arg(&self.name).status();
        let _ = Command::new("groupdel").arg(&self.extra_group).status();
    }
}

/// Runs an account tool, retrying for a while: another process (a parallel test here or in
/// another workspace) may hold the lock on /etc/passwd or /etc/group.
fn run(program: &str, args: &[&str]) {
    let mut tries = 0;
    loop {
        let status = Command::new(program)
            .args(args)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        tries += 1;
        if status.success() {
            return;
        }
        assert!(tries < 20, "{program} {args:?} failed: {status}");
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

fn probe(args: &[&str]) -> (String, Option<i32>) {
    let out = Command::new(example("become_probe"))
        .args(args)
        .output()
        .expect("run become_probe");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (String::from_utf8(out.stdout).unwrap(), out.status.code())
}

/// The numbers of a `/proc/self/status` line such as `Uid:\t1\t1\t1\t1`.
fn numbers(output: &str, label: &str) -> Vec<u32> {
    let line = output
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} line in {output}"));
    let mut numbers: Vec<u32> = line[label.len()..]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    if label == "Groups:" {
        numbers.sort_unstable();
    }
    numbers
}

#[test]
fn becomes_a_system_user_with_their_groups() {
    if !is_root() {
        return;
    }
    let user = ThrowawayUser::create("a");
    let entry = User::from_name(&user.name).unwrap().unwrap();
    let extra = Group::from_name(&user.extra_group).unwrap().unwrap();
    let (uid, gid) = (entry.uid.as_raw(), entry.gid.as_raw());
    assert_ne!(uid, 0);

    let (out, code) = probe(&[&user.name]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("switched\n"), "{out}");
    assert_eq!(numbers(&out, "Uid:"), [uid; 4]);
    assert_eq!(numbers(&out, "Gid:"), [gid; 4]);
    let mut groups = vec![gid, extra.gid.as_raw()];
    groups.sort_unstable();
    assert_eq!(numbers(&out, "Groups:"), groups);
    assert!(out.contains("shadow: denied\n"), "{out}");
}

#[test]
fn without_group_database_only_the_gid_is_kept() {
    if !is_root() {
        return;
    }
    let user = ThrowawayUser::create("b");
    let entry = User::from_name(&user.name).unwrap().unwrap();
    let gid = entry.gid.as_raw();
    let (out, code) = probe(&[&user.name, "--no-groups"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(numbers(&out, "Gid:"), [gid; 4]);
    assert_eq!(numbers(&out, "Groups:"), [gid]);
}

#[test]
fn a_switched_process_cannot_switch_again() {
    if !is_root() {
        return;
    }
    let user = ThrowawayUser::create("c");
    let uid = User::from_name(&user.name).unwrap().unwrap().uid.as_raw();
    let (out, code) = probe(&[&user.name, "--twice"]);
    assert_eq!(code, Some(0), "{out}");
    let again = out.lines().find(|l| l.starts_with("again: ")).unwrap();
    assert!(
        again.starts_with(&format!("again: cannot become uid {uid}: setgroups: ")),
        "{again}"
    );
    assert!(again.ends_with("EPERM: Operation not permitted"), "{again}");
}
