//! A set-uid (`chmod 6755`) or set-gid install run by an ordinary user refuses `-i` and the admin
//! subcommands, but still serves (dmail-conventions §11).
//!
//! Needs root, to make a root-owned set-uid copy of the binary and to run it as `nobody` with
//! `setpriv` (util-linux). Skipped, saying why, when not run as root.

// Helpers outside #[test] functions panic on failure too, as a test should.
#![allow(clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rustix::fs::StatVfsMountFlags;
use tempfile::TempDir;

const REFUSAL: &str =
    "imapd: refused: -i and admin commands need the real uid 0 when imapd is installed set-uid\n";
/// What the server says when dmail.conf cannot be read.
const BYE: &[u8] = b"* BYE Server configuration cannot be read; try again later\r\n";
const NOBODY: u32 = 65534;

/// Whether set-uid bits take effect for programs in `dir`, and `nobody` can reach them.
fn usable(dir: &Path) -> bool {
    let mounted_ok = rustix::fs::statvfs(dir).is_ok_and(|s| {
        !s.f_flag
            .intersects(StatVfsMountFlags::NOSUID | StatVfsMountFlags::NOEXEC)
    });
    let traversable = dir
        .ancestors()
        .all(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
    mounted_ok && traversable
}

/// A root-owned copy of the built binary with `mode`, in a fresh world-traversable directory
/// where set-uid bits work: under /tmp, else under the cargo target directory.
fn install(mode: u32) -> Option<(TempDir, PathBuf)> {
    let parents = [Path::new("/tmp"), Path::new(env!("CARGO_TARGET_TMPDIR"))];
    let Some(parent) = parents.into_iter().find(|p| usable(p)) else {
        eprintln!(
            "skipped: neither /tmp nor the cargo target dir allows set-uid programs for nobody"
        );
        return None;
    };
    let dir = tempfile::Builder::new()
        .prefix("imapd-setuid-")
        .tempdir_in(parent)
        .expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod dir");
    let bin = dir.path().join("imapd");
    std::fs::copy(env!("CARGO_BIN_EXE_imapd"), &bin).expect("copy the binary");
    std::os::unix::fs::chown(&bin, Some(0), Some(0)).expect("chown root");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(mode)).expect("chmod binary");
    Some((dir, bin))
}

/// Runs `bin` with real (and, without set-id bits, effective) ids of `nobody`.
///
/// The copy of the binary was just written by this test process; a child forked by another
/// test thread at that moment inherits the open file until it execs, and exec of the copy then
/// fails with ETXTBSY ("Text file busy"). That is the test harness's race, not imapd's, so the
/// run is retried a few times when setpriv reports it.
fn as_nobody(bin: &Path, args: &[&str]) -> Output {
    let mut tries = 0;
    loop {
        let out = Command::new("setpriv")
            .arg(format!("--reuid={NOBODY}"))
            .arg(format!("--regid={NOBODY}"))
            .arg("--clear-groups")
            .arg(bin)
            .args(args)
            .output()
            .expect("run setpriv (util-linux), needed for this test when run as root");
        tries += 1;
        let busy = String::from_utf8_lossy(&out.stderr).contains("Text file busy");
        if !busy || tries == 20 {
            return out;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn is_root() -> bool {
    if rustix::process::getuid().is_root() {
        return true;
    }
    eprintln!("skipped: not running as root, so no set-uid root copy of imapd can be made");
    false
}

fn assert_refused(out: &Output) {
    assert_eq!(String::from_utf8_lossy(&out.stderr), REFUSAL);
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    assert_eq!(out.status.code(), Some(2));
}

/// Server mode ran (not refused): a greeting, or the BYE of an unreadable /etc/dmail.conf.
fn assert_served(out: &Output) {
    assert!(
        out.stdout.starts_with(b"* OK [CAPABILITY ") || out.stdout == BYE,
        "stdout: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stderr.is_empty(), "stderr: {:?}", out.stderr);
    assert_ne!(out.status.code(), Some(2));
}

#[test]
fn setuid_root_install_refuses_admin_use_by_others() {
    if !is_root() {
        return;
    }
    let Some((dir, bin)) = install(0o6755) else {
        return;
    };
    let config = dir.path().join("dmail.conf");
    std::fs::write(
        &config,
        "drop_path /var/spool/mail\nhost_domain example.com\n",
    )
    .expect("write");
    let config = config.to_str().expect("UTF-8");

    assert_refused(&as_nobody(&bin, &["check-config", "-i", config]));
    assert_refused(&as_nobody(&bin, &["-i", config, "check-config"]));
    assert_refused(&as_nobody(&bin, &["check-config"]));
    assert_refused(&as_nobody(&bin, &["whereis", "bob"]));
    assert_refused(&as_nobody(&bin, &["auth-test", "bob"]));
    assert_refused(&as_nobody(&bin, &["auth-test", "-i", config, "bob"]));
    assert_refused(&as_nobody(&bin, &["-i", config]));

    // Serving is what a set-uid install is for: not refused.
    assert_served(&as_nobody(&bin, &[]));

    // The real root may still use the admin commands of the set-uid binary.
    let out = Command::new(&bin)
        .args(["check-config", "-i", config])
        .output()
        .expect("run imapd");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn setgid_only_install_refuses_admin_use_by_others() {
    if !is_root() {
        return;
    }
    let Some((_dir, bin)) = install(0o2755) else {
        return;
    };
    assert_refused(&as_nobody(
        &bin,
        &["whereis", "-i", "/etc/dmail.conf", "bob"],
    ));
    assert_served(&as_nobody(&bin, &[]));
}

#[test]
fn plain_install_run_by_nobody_is_not_refused() {
    if !is_root() {
        return;
    }
    let Some((_dir, bin)) = install(0o755) else {
        return;
    };
    let out = as_nobody(&bin, &["check-config", "-i", "/nonexistent/dmail.conf"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stderr.is_empty(), "stderr: {:?}", out.stderr);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .ends_with("/nonexistent/dmail.conf:0: error: (file): cannot read: no such file\n")
    );
}
