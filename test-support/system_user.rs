//! A real system user for the tests that need one (run as root): made with `useradd`, given a
//! password with `chpasswd`, removed with its home when dropped. Included by path from the tests
//! of dmail-auth, imapd-bin and imapdsvc-bin, so every package makes its users one way.
//!
//! Must never touch a user it did not make: names are `PREFIX` + this process id + a counter.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Runs a command with `stdin`, retrying a few times while another process holds the passwd
/// lock (tests run in parallel).
pub(crate) fn run(cmd: &str, args: &[&str], stdin: Option<&str>) {
    let mut last = String::new();
    for attempt in 0..5 {
        let mut child = Command::new(cmd)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd}: {e}"));
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("write stdin");
        }
        drop(input);
        let out = child.wait_with_output().expect("wait");
        if out.status.success() {
            return;
        }
        last = String::from_utf8_lossy(&out.stderr).into_owned();
        std::thread::sleep(std::time::Duration::from_millis(200 * (attempt + 1)));
    }
    panic!("{cmd} {args:?} failed: {last}");
}

/// The numeric id `id FLAG NAME` prints (`-u` for the uid, `-g` for the gid).
fn id(name: &str, flag: &str) -> u32 {
    let out = Command::new("id")
        .arg(flag)
        .arg(name)
        .output()
        .expect("run id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("numeric id")
}

/// A system user with a password, removed (with its home) on drop.
pub(crate) struct TempUser {
    pub(crate) name: String,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

impl TempUser {
    /// A new user `PREFIX_PID_N` with a home, no login shell, and `password`.
    pub(crate) fn create(prefix: &str, password: &str) -> TempUser {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}_{}_{n}", std::process::id());
        assert!(name.len() <= 32, "{name}: too long for useradd");
        run("useradd", &["-m", "-s", "/bin/false", &name], None);
        // From here on the guard removes the user, whatever happens.
        let mut user = TempUser {
            name,
            uid: 0,
            gid: 0,
        };
        run(
            "chpasswd",
            &[],
            Some(&format!("{}:{password}\n", user.name)),
        );
        (user.uid, user.gid) = (id(&user.name, "-u"), id(&user.name, "-g"));
        assert_ne!(user.uid, 0, "{} got uid 0", user.name);
        user
    }
}

impl Drop for TempUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel")
            .args(["-r", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}
