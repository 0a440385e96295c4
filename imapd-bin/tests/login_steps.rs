//! The post-login sequence (dmail-conventions §11) end to end, as root, against a throwaway
//! system user made with `useradd` and `chpasswd` (removed with `userdel -r` by a Drop guard):
//! the `login_probe` example logs in with unix_user and runs `start_session` in a process of
//! its own, since switching user cannot be undone. The order of the steps is proven without
//! root by the unit tests in `src/login/tests.rs`.
//!
//! Skipped, saying why, when not run as root.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

#[path = "../../test-support/example.rs"]
mod example_program;

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

#[path = "../../test-support/system_user.rs"]
mod system_user;

use system_user::TempUser;

const PASSWORD: &str = "Probe-pw-1";

/// useradd/userdel lock /etc/passwd: one user's life at a time in this process.
static SERIAL: Mutex<()> = Mutex::new(());

fn is_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    eprintln!("skipped: not running as root, so no user can be created or switched to");
    false
}

/// The path of this package's example `name` (built when missing).
fn example(name: &str) -> PathBuf {
    example_program::example("imapd-bin", name)
}

/// A temporary tree every user can traverse: `spool/` (mode 1777, like /var/mail, so that the
/// switched process can create its drop file), `bulletins/1.txt`, and `dmail.conf` with
/// `extra` settings.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new(extra: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o755)).unwrap();
        let site = Site { dir };
        let spool = site.path("spool");
        std::fs::create_dir(&spool).unwrap();
        std::fs::set_permissions(&spool, PermissionsExt::from_mode(0o1777)).unwrap();
        std::fs::create_dir(site.path("bulletins")).unwrap();
        std::fs::write(
            site.path("bulletins/1.txt"),
            "Subject: Probe bulletin\n\nHello from the administrator.\n",
        )
        .unwrap();
        let conf = format!(
            "authent_method unix_user\ndrop_path {}\nbulletin_path {}\nforward_user true\n{extra}",
            spool.display(),
            site.path("bulletins").display()
        );
        std::fs::write(site.path("dmail.conf"), conf).unwrap();
        site
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Logs `user` in from 192.0.2.7 with the probe.
    fn login(&self, user: &TempUser) -> Output {
        let mut child = Command::new(example("login_probe"))
            .arg(self.path("dmail.conf"))
            .arg(&user.name)
            .arg("192.0.2.7")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The ids of a `/proc/self/status` `Uid:` or `Gid:` line the probe printed: real, effective,
/// saved, file system.
fn ids(text: &str, label: &str) -> Vec<u32> {
    let line = text
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} line in {text}"));
    line[label.len()..]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

fn owner_and_mode(path: &Path) -> (u32, u32, u32) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    (meta.uid(), meta.gid(), meta.permissions().mode() & 0o7777)
}

#[test]
fn a_switching_login_records_creates_switches_then_delivers_as_the_user() {
    if !is_root() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let user = TempUser::create("dml", PASSWORD);
    let site = Site::new("");
    let out = site.login(&user);
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("ok\nswitched: true\n"), "{text}");
    assert!(text.contains("\nbulletins: 1\n"), "{text}");

    // 1. The forward_user record, named by the client's address.
    assert!(site.path("spool/.forward_user/192.0.2.7").is_file());

    // 2. The folder directory: made, mode 0700, the user's.
    let folder = site.path(&format!("spool/{}.mbx", user.name));
    assert!(std::fs::symlink_metadata(&folder).unwrap().is_dir());
    assert_eq!(owner_and_mode(&folder), (user.uid, user.gid, 0o700));

    // 4. The process runs as the user: real, effective, saved and file-system ids.
    assert_eq!(ids(&text, "Uid:"), [user.uid; 4], "{text}");
    assert_eq!(ids(&text, "Gid:"), [user.gid; 4], "{text}");

    // 5. The bulletin, in a drop file the switched process created, so the user's.
    let drop = site.path(&format!("spool/{}", user.name));
    let inbox = std::fs::read_to_string(&drop).unwrap();
    assert_eq!(
        inbox.lines().filter(|l| l.starts_with("From ")).count(),
        1,
        "{inbox}"
    );
    assert!(inbox.contains("\nSubject: Probe bulletin\n"), "{inbox}");
    assert_eq!(owner_and_mode(&drop).0, user.uid);
    assert_eq!(owner_and_mode(&folder.join(".bulletin")).0, user.uid);

    // Again: nothing new to deliver, the folder directory kept.
    let again = stdout(&site.login(&user));
    assert!(again.contains("\nbulletins: 0\n"), "{again}");
    assert_eq!(owner_and_mode(&folder), (user.uid, user.gid, 0o700));
}

#[test]
fn a_planted_symlink_fails_the_login_at_step_2_and_nothing_is_made_through_it() {
    if !is_root() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let user = TempUser::create("dml", PASSWORD);
    let site = Site::new("");
    let target = site.path("target");
    std::fs::create_dir(&target).unwrap();
    let folder = site.path(&format!("spool/{}.mbx", user.name));
    symlink(&target, &folder).unwrap();

    let out = site.login(&user);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.starts_with("step: folder directory\nanswer: LOGIN failed\nclose: false\n"),
        "{text}"
    );
    assert!(text.contains("is a symlink; refused"), "{text}");
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    assert_eq!(
        owner_and_mode(&target).0,
        0,
        "the target was not given away"
    );
    assert!(!site.path(&format!("spool/{}", user.name)).exists());

    // A dangling symlink: nothing is created where it points.
    std::fs::remove_file(&folder).unwrap();
    symlink(site.path("nowhere"), &folder).unwrap();
    let text = stdout(&site.login(&user));
    assert!(text.starts_with("step: folder directory\n"), "{text}");
    assert!(!site.path("nowhere").exists());
}

#[test]
fn imapd_become_user_false_does_not_switch() {
    if !is_root() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let user = TempUser::create("dml", PASSWORD);
    let site = Site::new("imapd_become_user false\n");
    let out = site.login(&user);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("ok\nswitched: false\n"), "{text}");
    assert_eq!(ids(&text, "Uid:"), [0; 4], "{text}");
    let folder = site.path(&format!("spool/{}.mbx", user.name));
    assert_eq!(owner_and_mode(&folder), (0, 0, 0o700));
    assert_eq!(
        owner_and_mode(&site.path(&format!("spool/{}", user.name))).0,
        0
    );
}

#[test]
fn use_maildir_is_unavailable_and_touches_nothing() {
    if !is_root() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let user = TempUser::create("dml", PASSWORD);
    let site = Site::new(&format!(
        "use_maildir true\nmaildir_home {}\n",
        std::env::temp_dir().display()
    ));
    let out = site.login(&user);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.starts_with("step: mail paths\nanswer: UNAVAILABLE\nclose: false\n"),
        "{text}"
    );
    assert!(!site.path("spool/.forward_user").exists());
    assert_eq!(std::fs::read_dir(site.path("spool")).unwrap().count(), 0);
}
