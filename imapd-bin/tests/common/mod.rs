//! What the server tests share: a temporary spool with a dmail.conf using dmail-auth's fake
//! external authenticator (user `alice`, password `pw`, mail under the spool by the config's
//! layout), fixture mail written straight into drop files, deliveries through dmail-store's
//! `deliver` example, and `imapd -i CONF` started with pipes or with a socket as stdin/stdout,
//! or a TCP client of a running imapdsvc ([`Server::tcp`]). imapdsvc's tests include this file
//! and [`transcript`] with `#[path]`.
//!
//! It never touches a real spool and never needs root (external logins do not switch user).

// Helpers outside #[test] functions panic on failure, as a test should; not every test file
// uses every helper.
#![allow(clippy::expect_used, dead_code)]

pub(crate) mod transcript;

#[path = "../../../test-support/example.rs"]
mod example_program;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The path of example `name` of package `package`, built when missing.
pub(crate) fn example(package: &str, name: &str) -> PathBuf {
    example_program::example(package, name)
}

/// The `imapd` binary: cargo's own path in imapd-bin's tests; elsewhere the one in the target
/// directory, brought up to date once per test process.
pub(crate) fn imapd_exe() -> PathBuf {
    if let Some(path) = option_env!("CARGO_BIN_EXE_imapd") {
        return PathBuf::from(path);
    }
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "imapd-bin", "--bin", "imapd"])
            .status()
            .expect("run cargo");
        assert!(
            status.success(),
            "cargo build -p imapd-bin --bin imapd failed"
        );
    });
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join("imapd")
}

/// A spool, a log directory and a dmail.conf in a temporary directory.
pub(crate) struct Spool {
    pub(crate) dir: TempDir,
    pub(crate) config: PathBuf,
}

impl Spool {
    /// A spool whose dmail.conf has the base settings plus `extra` (one setting a line).
    pub(crate) fn new(extra: &str) -> Spool {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir(root.join("spool")).expect("mkdir spool");
        std::fs::create_dir(root.join("log")).expect("mkdir log");
        let config = root.join("dmail.conf");
        let text = format!(
            "authent_method external\n\
             authent_process {}\n\
             authent_timeout 5\n\
             drop_path {}\n\
             log_path {}\n\
             log_level debug\n\
             host_domain example.com\n\
             imapd_login_delay 0\n\
             {extra}",
            example("dmail-auth", "fake_authent").display(),
            root.join("spool").display(),
            root.join("log").display(),
        );
        std::fs::write(&config, text).expect("write dmail.conf");
        Spool { dir, config }
    }

    /// A user's drop file (`alice` for the fake authenticator's `alice pw`).
    pub(crate) fn drop_file(&self, user: &str) -> PathBuf {
        self.dir.path().join("spool").join(user)
    }

    /// The journal a deliverer recovers before appending to a user's INBOX.
    pub(crate) fn inbox_journal(&self, user: &str) -> PathBuf {
        self.dir
            .path()
            .join("spool")
            .join(format!("{user}.mbx"))
            .join(".imapd")
            .join("INBOX.journal")
    }

    /// The server's log so far.
    pub(crate) fn log(&self) -> String {
        self.log_named("imapd")
    }

    /// Log `NAME.log` so far (`imapdsvc` for the service).
    pub(crate) fn log_named(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join("log").join(format!("{name}.log")))
            .unwrap_or_default()
    }

    /// Appends `message` (LF line ends) to a user's drop file as an mbox message with a fixed
    /// `From ` line, as a deliverer would have written it before the session started.
    pub(crate) fn write_mail(&self, user: &str, message: &str) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.drop_file(user))
            .expect("open drop file");
        let mut text = String::from("From test2@example.com Wed Aug 16 14:11:15 2000\n");
        text.push_str(message);
        if !message.ends_with('\n') {
            text.push('\n');
        }
        text.push('\n');
        file.write_all(text.as_bytes()).expect("write drop file");
    }

    /// Delivers `message` to a user's INBOX now, through dmail-store's `deliver` example (the
    /// way DSMTP appends, with the lock and the journal a running session expects).
    pub(crate) fn deliver(&self, user: &str, message: &str) {
        let mut child = Command::new(example("dmail-store", "deliver"))
            .arg("--from")
            .arg("test2@example.com")
            .arg("--journal")
            .arg(self.inbox_journal(user))
            .arg(self.drop_file(user))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run deliver");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(message.as_bytes())
            .expect("write message");
        let out = child.wait_with_output().expect("wait for deliver");
        assert!(
            out.status.success(),
            "deliver failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `imapd -i CONF` with piped stdin, stdout and stderr (TZ fixed, so dates are stable).
    pub(crate) fn spawn(&self) -> Server {
        let child = self
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run imapd");
        Server::new(child)
    }

    /// `imapd -i CONF` with `socket` as its stdin and stdout, as inetd starts it; stderr piped.
    pub(crate) fn spawn_on(&self, socket: OwnedFd) -> Child {
        let copy = socket.try_clone().expect("dup socket");
        self.command()
            .stdin(Stdio::from(socket))
            .stdout(Stdio::from(copy))
            .stderr(Stdio::piped())
            .spawn()
            .expect("run imapd")
    }

    /// `imapd -i CONF ARGS` with `socket` as its stdin and stdout (`--tls` for an imaps line).
    pub(crate) fn spawn_on_with(&self, socket: OwnedFd, args: &[&str]) -> Child {
        let copy = socket.try_clone().expect("dup socket");
        self.command()
            .args(args)
            .stdin(Stdio::from(socket))
            .stdout(Stdio::from(copy))
            .stderr(Stdio::piped())
            .spawn()
            .expect("run imapd")
    }

    /// Appends lines to dmail.conf.
    pub(crate) fn add_config(&self, lines: &str) {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.config)
            .expect("open dmail.conf");
        file.write_all(lines.as_bytes()).expect("write dmail.conf");
    }

    /// `imapd -i CONF` with `input` (a terminal, say) as its stdin, stdout and stderr piped.
    pub(crate) fn spawn_with_stdin(&self, input: OwnedFd) -> Child {
        self.command()
            .stdin(Stdio::from(input))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run imapd")
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(imapd_exe());
        cmd.arg("-i").arg(&self.config).env("TZ", "UTC");
        cmd
    }
}

/// A running `imapd` on pipes, or a TCP connection to imapdsvc: output is read by a thread,
/// so lines can be awaited with a timeout.
pub(crate) struct Server {
    /// The `imapd` process; `None` for a TCP connection.
    pub(crate) child: Option<Child>,
    stdin: Option<Box<dyn Write + Send>>,
    /// The TCP connection, to half-close it when the client hangs up.
    socket: Option<TcpStream>,
    output: Receiver<Vec<u8>>,
    buffer: Vec<u8>,
    eof: bool,
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl Server {
    fn new(mut child: Child) -> Server {
        let stdin = child
            .stdin
            .take()
            .map(|s| Box::new(s) as Box<dyn Write + Send>);
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut all = Vec::new();
            let _ = stderr.read_to_end(&mut all);
            all
        });
        Server {
            child: Some(child),
            stdin,
            socket: None,
            output: reader(stdout),
            buffer: Vec::new(),
            eof: false,
            stderr: Some(stderr),
        }
    }

    /// A client of the server listening at `addr` (imapdsvc).
    pub(crate) fn tcp(addr: std::net::SocketAddr) -> Server {
        let stream = TcpStream::connect(addr).expect("connect to imapdsvc");
        let input = stream.try_clone().expect("clone socket");
        Server {
            child: None,
            stdin: Some(Box::new(stream.try_clone().expect("clone socket"))),
            socket: Some(stream),
            output: reader(input),
            buffer: Vec::new(),
            eof: false,
            stderr: None,
        }
    }

    /// The `imapd` process's id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("an imapd process").id()
    }
}

/// A thread reading `from` into a channel until end of file.
fn reader(mut from: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, output) = channel();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    output
}

impl Server {
    /// Sends bytes to the server; false when it no longer reads.
    pub(crate) fn send(&mut self, bytes: &[u8]) -> bool {
        match &mut self.stdin {
            Some(stdin) => stdin.write_all(bytes).and_then(|()| stdin.flush()).is_ok(),
            None => false,
        }
    }

    /// Closes the server's stdin (the client hangs up; over TCP, a half-close).
    pub(crate) fn close_input(&mut self) {
        self.stdin = None;
        if let Some(socket) = &self.socket {
            let _ = socket.shutdown(std::net::Shutdown::Write);
        }
    }

    /// The next line (CRLF included, as sent), or what arrived before `timeout` (possibly
    /// nothing) when no full line did; `None` at end of output with nothing left.
    pub(crate) fn line(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(i) = self.buffer.iter().position(|&b| b == b'\n') {
                return Some(self.buffer.drain(..=i).collect());
            }
            if self.eof {
                return (!self.buffer.is_empty()).then(|| std::mem::take(&mut self.buffer));
            }
            let left = end.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.buffer.extend_from_slice(&bytes),
                Err(RecvTimeoutError::Disconnected) => self.eof = true,
                Err(RecvTimeoutError::Timeout) => return Some(std::mem::take(&mut self.buffer)),
            }
        }
    }

    /// Everything the server writes from now until it closes stdout (at most `timeout`).
    pub(crate) fn rest(&mut self, timeout: Duration) -> Vec<u8> {
        let end = Instant::now() + timeout;
        let mut all = std::mem::take(&mut self.buffer);
        while !self.eof {
            let left = end.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => all.extend_from_slice(&bytes),
                Err(RecvTimeoutError::Disconnected) => self.eof = true,
                Err(RecvTimeoutError::Timeout) => break,
            }
        }
        all
    }

    /// Everything the server writes within `quiet` of its last output.
    pub(crate) fn drain(&mut self, quiet: Duration) -> Vec<u8> {
        let mut all = std::mem::take(&mut self.buffer);
        while !self.eof {
            match self.output.recv_timeout(quiet) {
                Ok(bytes) => all.extend_from_slice(&bytes),
                Err(RecvTimeoutError::Disconnected) => self.eof = true,
                Err(RecvTimeoutError::Timeout) => break,
            }
        }
        all
    }

    /// The lines (as text) up to and including the tagged answer to `tag`, or up to the end of
    /// the output or a line that takes longer than `wait`.
    pub(crate) fn until(&mut self, tag: &str, wait: Duration) -> Vec<String> {
        let mut lines = Vec::new();
        while let Some(line) = self.line(wait) {
            if line.is_empty() {
                break;
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            let done = text.starts_with(&format!("{tag} "));
            lines.push(text);
            if done {
                break;
            }
        }
        lines
    }

    /// Ends the connection and checks the server ended as it must: exit status 0, nothing on
    /// stderr, no panic in `spool`'s log.
    pub(crate) fn assert_clean_end(&mut self, spool: &Spool, wait: Duration) {
        let (code, stderr) = self.finish(wait);
        assert!(
            stderr.is_empty(),
            "stderr: {}",
            String::from_utf8_lossy(&stderr)
        );
        assert_eq!(code, Some(0));
        assert_no_panic(&spool.log());
    }

    /// Waits for the process to end (killing it after `timeout`) and returns its exit code
    /// and everything it wrote to stderr.
    /// Over TCP there is no process: `(None, empty)` once the client side is closed.
    pub(crate) fn finish(&mut self, timeout: Duration) -> (Option<i32>, Vec<u8>) {
        self.close_input();
        let end = Instant::now() + timeout;
        let Some(child) = &mut self.child else {
            return (None, Vec::new());
        };
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status.code();
            }
            if Instant::now() >= end {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().expect("stderr thread"))
            .unwrap_or_default();
        (status, stderr)
    }

    /// The peak resident set size of the running process, in kbytes (Linux `VmHWM`).
    pub(crate) fn peak_rss_kbytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The manual's test message ("Checking it works"), LF line ends.
pub(crate) const MANUAL_MESSAGE: &str = "Received: from matt ([]) by ; Wed, 16 Aug 2000 14:11:15 +1200\n\
Subject: Hello Test\n\
From: test2 sender\n\
Message-ID: <>\n\
Date: Wed, 16 Aug 2000 14:11:15 +1200\n\
\n\
line 1 of 4\n\
line 2\n\
line 3\n\
line 4\n";

/// A test certificate authority and a server certificate for `localhost` and 127.0.0.1 it
/// signed, made with the `openssl` command (P-256 keys, so it takes milliseconds).
pub(crate) struct Certs {
    /// The CA certificate (PEM), for the client to trust.
    pub(crate) ca: PathBuf,
    /// The server's certificate (PEM).
    pub(crate) cert: PathBuf,
    /// The server's key (PEM, PKCS#8).
    pub(crate) key: PathBuf,
}

impl Certs {
    /// Makes the files in `dir`.
    pub(crate) fn new(dir: &Path) -> Certs {
        let p = |name: &str| dir.join(name);
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=dmail-imapd test CA",
            "-keyout",
            text(&p("ca.key")),
            "-out",
            text(&p("ca.pem")),
        ]);
        openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            text(&p("server.key")),
            "-out",
            text(&p("server.csr")),
        ]);
        std::fs::write(
            p("server.ext"),
            "basicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature\n\
             extendedKeyUsage=serverAuth\n\
             subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .expect("write extensions");
        openssl(&[
            "x509",
            "-req",
            "-days",
            "2",
            "-set_serial",
            "2",
            "-in",
            text(&p("server.csr")),
            "-CA",
            text(&p("ca.pem")),
            "-CAkey",
            text(&p("ca.key")),
            "-extfile",
            text(&p("server.ext")),
            "-out",
            text(&p("server.pem")),
        ]);
        Certs {
            ca: p("ca.pem"),
            cert: p("server.pem"),
            key: p("server.key"),
        }
    }

    /// The dmail.conf lines naming the server's files.
    pub(crate) fn config_lines(&self) -> String {
        format!(
            "imapd_tls_cert {}\nimapd_tls_key {}\n",
            text(&self.cert),
            text(&self.key)
        )
    }
}

/// Runs `openssl ARGS`, failing the test if it fails.
pub(crate) fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl (CI installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts the log shows no panic.
pub(crate) fn assert_no_panic(log: &str) {
    assert!(
        !log.lines().any(|l| l.contains("panic")),
        "the log shows a panic:\n{log}"
    );
}

/// A path as UTF-8 text.
pub(crate) fn text(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}
