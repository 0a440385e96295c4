//! Spawn mode: every accepted connection is served by its own `imapd -i CONF` with the socket
//! as its stdin and stdout, exactly as inetd starts it, so that it can switch to the user
//! (dmail-conventions §11) and does its own TLS.
//!
//! This module owns the children: starting them, reaping them, and stopping them (SIGTERM,
//! which `imapd` answers with `* BYE Server shutting down`; SIGKILL for any still running at
//! the deadline). It must never wait on a child without a deadline and never leave one
//! unreaped.

use std::io;
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

use crate::limits::Slot;

/// The running children and the connection slots they hold.
#[derive(Default)]
pub(crate) struct Children {
    running: Vec<(Child, Slot)>,
}

impl Children {
    /// Starts `imapd -i config` on `stream`; `tls` adds `--tls` (implicit TLS), `slots`
    /// `--session-slots DIR` (the per-user limit kept between the spawned processes).
    pub(crate) fn start(
        &mut self,
        imapd: &Path,
        config: &Path,
        slots: Option<&Path>,
        stream: TcpStream,
        tls: bool,
        slot: Slot,
    ) -> io::Result<u32> {
        let socket = OwnedFd::from(stream);
        let copy = socket.try_clone()?;
        let mut cmd = Command::new(imapd);
        cmd.arg("-i").arg(config);
        if tls {
            cmd.arg("--tls");
        }
        if let Some(dir) = slots {
            cmd.arg("--session-slots").arg(dir);
        }
        let child = cmd
            .stdin(Stdio::from(socket))
            .stdout(Stdio::from(copy))
            .stderr(Stdio::null())
            .spawn()?;
        let pid = child.id();
        self.running.push((child, slot));
        Ok(pid)
    }

    /// Reaps the children that ended (their slots are released).
    pub(crate) fn reap(&mut self) {
        self.running
            .retain_mut(|(child, _)| matches!(child.try_wait(), Ok(None)));
    }

    /// How many are running.
    pub(crate) fn len(&self) -> usize {
        self.running.len()
    }

    /// Sends SIGTERM to every child, waits for them until `deadline`, then kills and reaps any
    /// left; returns how many had to be killed.
    pub(crate) fn stop(&mut self, deadline: Instant) -> usize {
        for (child, _) in &self.running {
            if let Some(pid) = Pid::from_raw(child.id().cast_signed()) {
                // Already gone is fine: reaped below.
                let _ = kill_process(pid, Signal::TERM);
            }
        }
        while !self.running.is_empty() && Instant::now() < deadline {
            self.reap();
            std::thread::sleep(Duration::from_millis(20));
        }
        let killed = self.running.len();
        for (child, _) in &mut self.running {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.running.clear();
        killed
    }
}
