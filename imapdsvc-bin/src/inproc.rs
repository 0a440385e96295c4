//! In-process mode: every accepted connection is served by a thread of this process running
//! the same sans-I/O session and backend as inetd `imapd` (ARCHITECTURE.md explains, with
//! measurements, why threads and not an async runtime).
//!
//! This module owns a connection's thread from its start to its end: the blocking poll, read
//! and write calls, and the shutdown watch (every thread polls the read end of one socket pair
//! whose write end the main thread drops at SIGTERM). It must never be used when a login would
//! switch user (`setuid` is process-wide), never push bytes into a session that did not ask
//! for input, and never let one connection's store call hold up another's I/O (each has its
//! own thread, so it cannot).

use std::io::{self, BufWriter, Read, Write};
use std::net::{IpAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use imapd_bin::backend::{ServerBackend, UserSessions};
use imapd_bin::log::Log;
use imapd_proto::backend::Backend;
use imapd_proto::session::{Session, Wait};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;

use crate::limits::Slot;
use crate::service::Generation;

/// A connection thread's stack. Only the pages a thread touches are resident; this bounds the
/// deepest command (FETCH of a deep MIME structure, SEARCH) with room to spare.
pub(crate) const STACK_SIZE: usize = 256 * 1024;

/// The most read from a client at a time. On the thread's stack, so an idle connection costs
/// no heap for it.
const READ_SIZE: usize = 8 * 1024;

/// Output buffered before a write to the socket.
const WRITE_BUFFER: usize = 4 * 1024;

/// How long a write may wait for a client that does not read before the connection is
/// dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(120);

/// What a connection's thread is given.
pub(crate) struct Connection {
    pub(crate) stream: TcpStream,
    pub(crate) client: IpAddr,
    pub(crate) local: Option<IpAddr>,
    pub(crate) id: u64,
    pub(crate) generation: Arc<Generation>,
    pub(crate) users: UserSessions,
    pub(crate) stop: Arc<OwnedFd>,
    pub(crate) slot: Slot,
}

/// Starts a thread serving `conn`.
pub(crate) fn start(conn: Connection) -> io::Result<()> {
    std::thread::Builder::new()
        .name(format!("imap-{}", conn.id))
        .stack_size(STACK_SIZE)
        .spawn(move || serve(conn))
        .map(|_| ())
}

fn serve(conn: Connection) {
    let Connection {
        stream,
        client,
        local,
        id,
        generation,
        users,
        stop,
        slot,
    } = conn;
    let log = generation
        .log
        .as_ref()
        .map(|l| l.with_context(id, dmail_conf::ip_text(client)));
    if let Some(log) = &log {
        let local = local.map_or_else(|| "-".to_owned(), dmail_conf::ip_text);
        log.info(format_args!("connect to {local}"));
    }
    // A client that stops reading must not pin this thread for ever.
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut backend = ServerBackend::new(
        Arc::clone(&generation.config),
        log.clone(),
        Some(client),
        local,
    )
    .with_user_sessions(users);
    if let Some(pool) = &generation.pool {
        backend = backend.with_pool(Arc::clone(pool));
    }
    let options = imapd_bin::setup::options(&generation.config, false);
    drop(generation);
    let session = Session::new(backend, options, Instant::now());
    drive(session, &stream, &stop, log.as_ref());
    drop(slot);
}

/// Runs `session` on `stream` until the client leaves, the session ends it, or the server
/// stops.
pub(crate) fn drive<B: Backend>(
    mut session: Session<B>,
    stream: &TcpStream,
    stop: &OwnedFd,
    log: Option<&Log>,
) {
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, stream);
    let mut buf = [0u8; READ_SIZE];
    let mut wait = session.run(Instant::now(), &mut out);
    loop {
        let next = match wait.and_then(|w| out.flush().map(|()| w)) {
            Ok(next) => next,
            Err(e) => {
                if let Some(log) = log {
                    log.info(format_args!("cannot write to the client: {e}"));
                }
                session.hang_up();
                return;
            }
        };
        wait = match next {
            Wait::Read { deadline } => match ready(stream, stop, deadline) {
                Ready::Input => match (&*stream).read(&mut buf) {
                    Ok(0) => {
                        session.hang_up();
                        return;
                    }
                    Ok(n) => {
                        session.push(&buf[..n]);
                        session.run(Instant::now(), &mut out)
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(next),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(next),
                    Err(e) => {
                        if let Some(log) = log {
                            log.info(format_args!("cannot read from the client: {e}"));
                        }
                        session.hang_up();
                        return;
                    }
                },
                Ready::Nothing => {
                    let now = Instant::now();
                    if now < deadline {
                        Ok(next)
                    } else {
                        session.timeout(now, &mut out)
                    }
                }
                Ready::Stop => {
                    let _ = session.shut_down(&mut out).and_then(|_| out.flush());
                    return;
                }
                Ready::Failed(e) => {
                    if let Some(log) = log {
                        log.error(format_args!("poll failed: {e}"));
                    }
                    session.hang_up();
                    return;
                }
            },
            Wait::Pause { until } => loop {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break session.run(Instant::now(), &mut out);
                }
                let mut fds = [PollFd::new(stop, PollFlags::IN)];
                if let Ok(n) = poll(&mut fds, Some(&timespec(left)))
                    && n > 0
                {
                    let _ = session.shut_down(&mut out).and_then(|_| out.flush());
                    return;
                }
            },
            // STARTTLS is not offered by this driver; plaintext must not go on as if encrypted.
            Wait::StartTls | Wait::Close => return,
        };
    }
}

enum Ready {
    Input,
    Nothing,
    Stop,
    Failed(io::Error),
}

/// Waits until the client sends something, the server stops, or `deadline`.
fn ready(stream: &TcpStream, stop: &OwnedFd, deadline: Instant) -> Ready {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Ready::Nothing;
    }
    let mut fds = [
        PollFd::new(stream, PollFlags::IN),
        PollFd::new(stop, PollFlags::IN),
    ];
    match poll(&mut fds, Some(&timespec(left))) {
        Ok(0) | Err(Errno::INTR) => Ready::Nothing,
        Ok(_) if !fds[1].revents().is_empty() => Ready::Stop,
        Ok(_) => Ready::Input,
        Err(e) => Ready::Failed(e.into()),
    }
}

/// A poll timeout rounded up a millisecond (poll's resolution), so it does not wake early.
pub(crate) fn timespec(left: Duration) -> Timespec {
    let left = left.saturating_add(Duration::from_millis(1));
    Timespec::try_from(left).unwrap_or(Timespec {
        tv_sec: i64::MAX,
        tv_nsec: 0,
    })
}
