//! `imapd` as inetd runs it: the real binary spawned with piped standard input and output, one
//! process per connection, timed from the spawn.
//!
//! `cargo bench -p imapd-bin --bench inetd -- --warm-up-time 1 --measurement-time 3`
//!
//! This file owns those benchmarks and their fixture (a temporary directory with the
//! dmail.conf files, a 1,000-message INBOX of about 10 KB a message, and a `vdomain_passwd`
//! file); it must never touch the system's dmail.conf or mail, and never leave a user or a
//! file behind. The external authenticator is dmail-auth's fake (`examples/fake_authent.rs`),
//! built with `cargo build --release -p dmail-auth --examples` when it is missing.
//!
//! - `greeting`: process start to the greeting's line end.
//! - `session_external`: LOGIN / SELECT INBOX / FETCH 1 BODY[] / LOGOUT, spawn to exit, with
//!   `authent_method external` (the fake answers `+OK` with the fixture's drop file).
//! - `session_vdomain_sha512`: the same, the password checked against a `$6$` hash in a
//!   `vdomain_passwd` file (the hash made by `openssl passwd -6`).
//! - `session_unix_yescrypt`: the same for a system user with Debian's default yescrypt hash;
//!   only as root, with a user made by `useradd` for the run and removed by `userdel` after.
//!
//! The session benchmarks need the server; while `imapd` only answers `* BYE ... not built
//! yet` they are skipped with a message and only `greeting` runs.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;

const IMAPD: &str = env!("CARGO_BIN_EXE_imapd");

fn fake_authent() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples")
        .join("fake_authent");
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "-p", "dmail-auth", "--examples"])
            .status()
            .unwrap();
        assert!(status.success(), "building dmail-auth's examples failed");
    }
    path
}

/// `n` delivered messages of about `body_len` bytes each.
fn write_mailbox(path: &Path, n: usize, body_len: usize) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let line = "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod\n";
    for i in 0..n {
        writeln!(
            w,
            "From alice@example.com Sat Jan  4 10:{:02}:{:02} 2020\n\
             From: Alice <alice@example.com>\nTo: bob@example.com\nSubject: message {i}\n\
             Date: Sat, 4 Jan 2020 10:00:00 +0000\nMessage-ID: <{i}@example.com>\n",
            (i / 60) % 60,
            i % 60
        )
        .unwrap();
        for _ in 0..body_len / line.len() {
            w.write_all(line.as_bytes()).unwrap();
        }
        writeln!(w).unwrap();
    }
    w.flush().unwrap();
}

/// A running `imapd` and its output.
struct Server {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Server {
    fn spawn(config: &Path) -> Server {
        let mut child = Command::new(IMAPD)
            .arg("-i")
            .arg(config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        Server { child, out }
    }

    fn line(&mut self) -> String {
        let mut line = Vec::new();
        self.out.read_until(b'\n', &mut line).unwrap();
        String::from_utf8_lossy(&line).into_owned()
    }

    /// Sends `command` (tagged `tag`) and reads up to its tagged answer, literals included;
    /// returns that answer.
    fn command(&mut self, tag: &str, command: &str) -> String {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .unwrap();
        stdin.flush().unwrap();
        loop {
            let line = self.line();
            assert!(!line.is_empty(), "imapd closed during {command}");
            if let Some(n) = line
                .trim_end()
                .strip_suffix('}')
                .and_then(|l| l.rsplit_once('{'))
                .and_then(|(_, n)| n.parse::<u64>().ok())
            {
                std::io::copy(&mut (&mut self.out).take(n), &mut std::io::sink()).unwrap();
                continue;
            }
            if line.starts_with(&format!("{tag} ")) {
                return line;
            }
        }
    }

    fn finish(mut self) {
        drop(self.child.stdin.take());
        let _ = std::io::copy(&mut self.out, &mut std::io::sink());
        self.child.wait().unwrap();
    }
}

/// One whole connection; panics unless every command succeeded.
fn session(config: &Path, login: &str, password: &str) {
    let mut s = Server::spawn(config);
    let greeting = s.line();
    assert!(greeting.starts_with("* OK"), "{greeting}");
    for (tag, command) in [
        ("a", format!("LOGIN {login} {password}")),
        ("b", "SELECT INBOX".to_owned()),
        ("c", "FETCH 1 BODY[]".to_owned()),
        ("d", "LOGOUT".to_owned()),
    ] {
        let answer = s.command(tag, &command);
        assert!(
            answer.starts_with(&format!("{tag} OK")),
            "{command}: {answer}"
        );
    }
    s.finish();
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        Fixture { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A dmail.conf `name` holding `text` (drop files under `spool/`).
    fn config(&self, name: &str, text: &str) -> PathBuf {
        let spool = self.path("spool");
        std::fs::create_dir_all(&spool).unwrap();
        let path = self.path(name);
        let text = format!(
            "drop_path {}\nhost_domain bench.example\n{text}",
            spool.display()
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn greeting(c: &mut Criterion, config: &Path) -> String {
    let mut first = String::new();
    c.bench_function("inetd/greeting", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let mut s = Server::spawn(config);
                first = s.line();
                total += t.elapsed();
                s.finish();
            }
            total
        });
    });
    first
}

fn bench_session(c: &mut Criterion, name: &str, config: &Path, login: &str, password: &str) {
    // The first open stamps the mailbox and writes its index; the figures are for the opens
    // after it.
    session(config, login, password);
    c.bench_function(name, |b| b.iter(|| session(config, login, password)));
}

/// `openssl passwd -6`, or `None` without openssl.
fn sha512_hash(password: &str) -> Option<String> {
    let out = Command::new("openssl")
        .args(["passwd", "-6", "-salt", "dmailbench", password])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A system user for the yescrypt benchmark, removed when dropped.
struct SystemUser(String);

impl SystemUser {
    fn create(password: &str) -> Option<SystemUser> {
        if !rustix::process::geteuid().is_root() {
            return None;
        }
        let name = format!("dmbench{}", std::process::id() % 100_000);
        let made = Command::new("useradd")
            .args(["-M", "-N", "-s", "/usr/sbin/nologin", &name])
            .status()
            .ok()?
            .success();
        if !made {
            return None;
        }
        let user = SystemUser(name);
        // chpasswd hashes with the system's default method (yescrypt on Debian 12).
        let mut child = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .ok()?;
        child
            .stdin
            .take()?
            .write_all(format!("{}:{password}\n", user.0).as_bytes())
            .ok()?;
        child.wait().ok()?.success().then_some(user)
    }
}

impl Drop for SystemUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.0).status();
    }
}

fn main() {
    let mut c = Criterion::default().sample_size(20).configure_from_args();
    let fx = Fixture::new();
    let plain = fx.config("plain.conf", "");
    let first = greeting(&mut c, &plain);
    if !first.starts_with("* OK") {
        eprintln!(
            "inetd bench: imapd answered {:?}: the server is not built, so the session \
             benchmarks are skipped",
            first.trim_end()
        );
        c.final_summary();
        return;
    }

    write_mailbox(&fx.path("spool/bob"), 1000, 10 * 1024);
    let uid = rustix::process::getuid().as_raw();
    let reply = format!("+OK\\sbob\\s{}\\s{uid}\\n", fx.path("spool/bob").display());
    let external = fx.config(
        "external.conf",
        &format!(
            "authent_method external\nauthent_process {} --mode raw --reply {reply}\n",
            fake_authent().display()
        ),
    );
    bench_session(&mut c, "inetd/session_external", &external, "bob", "secret");

    match sha512_hash("secret") {
        Some(hash) => {
            let vd = fx.path("vd");
            std::fs::create_dir_all(&vd).unwrap();
            let passwd = fx.path("vd.passwd");
            std::fs::write(
                &passwd,
                format!(
                    "sales:{hash}:{uid}:{uid}:Sales:{}:/bin/false\n",
                    vd.display()
                ),
            )
            .unwrap();
            let config = fx.config(
                "vdomain.conf",
                &format!(
                    "vdomain vd @vd.example vd.example {}\nvdomain_passwd vd.example {}\n",
                    vd.display(),
                    passwd.display()
                ),
            );
            bench_session(
                &mut c,
                "inetd/session_vdomain_sha512",
                &config,
                "sales@vd.example",
                "secret",
            );
        }
        None => eprintln!("inetd bench: no openssl; session_vdomain_sha512 skipped"),
    }

    match SystemUser::create("secret") {
        Some(user) => {
            let drop_file = fx.path(&format!("spool/{}", user.0));
            write_mailbox(&drop_file, 1000, 10 * 1024);
            let _ = Command::new("chown").arg(&user.0).arg(&drop_file).status();
            bench_session(
                &mut c,
                "inetd/session_unix_yescrypt",
                &plain,
                &user.0,
                "secret",
            );
        }
        None => eprintln!(
            "inetd bench: not root (or useradd/chpasswd failed); session_unix_yescrypt skipped"
        ),
    }
    c.final_summary();
}
