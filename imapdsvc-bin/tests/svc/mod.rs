//! What imapdsvc's tests share: a running `imapdsvc -i CONF` on a free loopback port with a pid
//! file, started in the mode asked for, and clients of it (imapd-bin's `common` module does the
//! spool and the line reading).
//!
//! It never listens on a fixed port and never leaves a service running (dropping a [`Svc`]
//! kills it).

#![allow(clippy::expect_used, dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

use crate::common::{Server, Spool, imapd_exe};

/// How long a test waits for the service to do anything.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// A running imapdsvc.
pub(crate) struct Svc {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) pidfile: PathBuf,
}

impl Svc {
    /// `imapdsvc -i CONF --listen 127.0.0.1:PORT --pidfile DIR/imapdsvc.pid --mode MODE`.
    pub(crate) fn start(spool: &Spool, mode: &str) -> Svc {
        Svc::start_with(spool, mode, &[])
    }

    /// As [`Svc::start`], with `extra` arguments.
    pub(crate) fn start_with(spool: &Spool, mode: &str, extra: &[&str]) -> Svc {
        let addr = free_port();
        let pidfile = spool.dir.path().join("imapdsvc.pid");
        let child = Command::new(env!("CARGO_BIN_EXE_imapdsvc"))
            .arg("-i")
            .arg(&spool.config)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--pidfile")
            .arg(&pidfile)
            .arg("--imapd")
            .arg(imapd_exe())
            .arg("--mode")
            .arg(mode)
            .args(extra)
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run imapdsvc");
        let mut svc = Svc {
            child,
            addr,
            pidfile,
        };
        let end = Instant::now() + WAIT;
        while !svc.pidfile.exists() {
            assert!(Instant::now() < end, "imapdsvc did not write its pid file");
            if let Some(status) = svc.child.try_wait().expect("wait") {
                panic!("imapdsvc exited at start: {status}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        svc
    }

    /// A new client connection.
    pub(crate) fn connect(&self) -> Server {
        Server::tcp(self.addr)
    }

    /// Sends `signal` to the service.
    pub(crate) fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(self.child.id().cast_signed()).expect("pid");
        kill_process(pid, signal).expect("kill");
    }

    /// Waits for the service to exit; `None` if it did not within `timeout`.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The service's children (spawned imapd processes), from /proc.
    pub(crate) fn children(&self) -> Vec<u32> {
        let me = self.child.id().to_string();
        let mut out = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
                continue;
            };
            if status
                .lines()
                .any(|l| l.strip_prefix("PPid:").is_some_and(|p| p.trim() == me))
            {
                out.push(pid);
            }
        }
        out
    }
}

impl Drop for Svc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on now.
pub(crate) fn free_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

/// A connection to `to` from the loopback address `from` (e.g. 127.0.0.2), for per-address
/// checks.
pub(crate) fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    use rustix::net::{AddressFamily, SocketType, bind, connect, socket};
    let fd = socket(AddressFamily::INET, SocketType::STREAM, None).expect("socket");
    let local: SocketAddr = format!("{from}:0").parse().expect("address");
    bind(&fd, &local).expect("bind client address");
    connect(&fd, &to).expect("connect");
    TcpStream::from(fd)
}

/// Reads lines from `server` until one starts with `prefix`; all lines read, that one last.
pub(crate) fn until(server: &mut Server, prefix: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let end = Instant::now() + WAIT;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no {prefix:?} line; got {lines:?}");
        let Some(line) = server.line(left) else {
            panic!("connection closed before {prefix:?}; got {lines:?}");
        };
        let line = String::from_utf8_lossy(&line).into_owned();
        if line.is_empty() {
            continue;
        }
        let done = line.starts_with(prefix);
        lines.push(line);
        if done {
            return lines;
        }
    }
}

/// Logs in as alice (password pw) and selects INBOX.
pub(crate) fn login_select(server: &mut Server) {
    until(server, "* OK");
    assert!(server.send(b"l LOGIN alice pw\r\n"));
    let got = until(server, "l ");
    assert!(got.last().is_some_and(|l| l.starts_with("l OK")), "{got:?}");
    assert!(server.send(b"s SELECT INBOX\r\n"));
    let got = until(server, "s ");
    assert!(got.last().is_some_and(|l| l.starts_with("s OK")), "{got:?}");
}
