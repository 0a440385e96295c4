//! In-process mode: every accepted connection is served by a thread of this process running
//! the same sans-I/O session and backend as inetd `imapd` (ARCHITECTURE.md explains, with
//! measurements, why threads and not an async runtime).
//!
//! This module owns a connection's thread from its start to its end: the blocking poll, read
//! and write calls, TLS (STARTTLS, or implicit on a TLS listener, with `imapd_bin::tls`), and
//! the shutdown watch (every thread polls the read end of one socket pair
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
use imapd_bin::tls::{Received, TlsConn};
use imapd_proto::backend::Backend;
use imapd_proto::session::{Session, Wait};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;
use rustls::ServerConfig;

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

/// TLS records are made from this much output at a time.
const TLS_WRITE_BUFFER: usize = 16 * 1024;

/// The longest a TLS handshake may take (a few round trips; a stalled client holds a thread).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// Accepted on a TLS listener.
    pub(crate) implicit_tls: bool,
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
        implicit_tls,
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
    // Responses are buffered and flushed whole, so Nagle's algorithm only delays the tail of a
    // large one (a FETCH of a message body) until the client's delayed ACK, some 40 ms.
    let _ = stream.set_nodelay(true);
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
    let tls = match (&generation.tls, implicit_tls) {
        (Some(config), true) => Encryption::Implicit(Arc::clone(config)),
        (Some(config), false) => Encryption::StartTls(Arc::clone(config)),
        (None, false) => Encryption::Off,
        // A client of a TLS port speaks TLS first: a plaintext BYE would be noise to it.
        (None, true) => return,
    };
    let options =
        imapd_bin::setup::options(&generation.config, matches!(tls, Encryption::StartTls(_)));
    drop(generation);
    let session = Session::new(backend, options, Instant::now());
    drive(session, stream, tls, &stop, log.as_ref());
    drop(slot);
}

/// How the connection is encrypted.
pub(crate) enum Encryption {
    /// Never: no usable certificate.
    Off,
    /// After STARTTLS (offered by the session).
    StartTls(Arc<ServerConfig>),
    /// From the first byte (a TLS listener).
    Implicit(Arc<ServerConfig>),
}

/// The connection's byte stream: the socket, or TLS over it.
enum Link {
    Plain(TcpStream),
    Tls {
        conn: Box<TlsConn<TcpStream, TcpStream>>,
        /// The socket, for poll (the TLS layer owns its own two handles).
        socket: TcpStream,
    },
}

impl Write for Link {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Link::Plain(s) => s.write(buf),
            Link::Tls { conn, .. } => conn.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Link::Plain(s) => s.flush(),
            Link::Tls { conn, .. } => conn.flush(),
        }
    }
}

impl Link {
    /// Waits for input, SIGTERM or `deadline`, then reads what there is.
    fn receive(&mut self, buf: &mut [u8], deadline: Instant, stop: &OwnedFd) -> Ready {
        match self {
            Link::Plain(stream) => match ready(stream, stop, deadline) {
                Ready::Input(_) => match (&*stream).read(buf) {
                    Ok(0) => Ready::Gone(None),
                    Ok(n) => Ready::Input(n),
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                        ) =>
                    {
                        Ready::Nothing
                    }
                    Err(e) => Ready::Gone(Some(e)),
                },
                other => other,
            },
            Link::Tls { conn, socket } => {
                let got = |r: io::Result<Received>| match r {
                    Ok(Received::Data(n)) => Ready::Input(n),
                    Ok(Received::Nothing) => Ready::Nothing,
                    Ok(Received::Closed) => Ready::Gone(None),
                    Err(e) => Ready::Gone(Some(e)),
                };
                // Plaintext rustls already decrypted first: poll cannot see it.
                match got(conn.receive(buf, Instant::now())) {
                    Ready::Nothing => {}
                    other => return other,
                }
                match ready(socket, stop, deadline) {
                    // Readable: a millisecond lets the layer read and decrypt what came.
                    Ready::Input(_) => {
                        got(conn.receive(buf, Instant::now() + Duration::from_millis(1)))
                    }
                    other => other,
                }
            }
        }
    }

    /// Starts TLS on a plain link; `None` (logged) when the handshake fails.
    fn start_tls(self, config: Arc<ServerConfig>, log: Option<&Log>) -> Option<Link> {
        let Link::Plain(stream) = self else {
            return None;
        };
        let started = (|| {
            let mut conn = TlsConn::new(config, stream.try_clone()?, stream.try_clone()?)?;
            conn.handshake(Instant::now() + HANDSHAKE_TIMEOUT)?;
            Ok::<_, io::Error>(conn)
        })();
        match started {
            Ok(conn) => {
                if let Some(log) = log {
                    log.info(format_args!("TLS started: {}", conn.describe()));
                }
                Some(Link::Tls {
                    conn: Box::new(conn),
                    socket: stream,
                })
            }
            Err(e) => {
                if let Some(log) = log {
                    log.info(format_args!("TLS handshake failed: {e}"));
                }
                None
            }
        }
    }
}

/// Runs `session` on `stream` until the client leaves, the session ends it, or the server
/// stops.
pub(crate) fn drive<B: Backend>(
    mut session: Session<B>,
    stream: TcpStream,
    tls: Encryption,
    stop: &OwnedFd,
    log: Option<&Log>,
) {
    let mut buf = [0u8; READ_SIZE];
    let (link, mut starttls) = match tls {
        Encryption::Implicit(config) => match Link::Plain(stream).start_tls(config, log) {
            Some(link) => {
                // Before the greeting, so that it leaves out STARTTLS and LOGINDISABLED.
                session.tls_started();
                (link, None)
            }
            None => {
                session.hang_up();
                return;
            }
        },
        Encryption::StartTls(config) => (Link::Plain(stream), Some(config)),
        Encryption::Off => (Link::Plain(stream), None),
    };
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, link);
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
            // Flushed above, so reading through the writer's link loses nothing.
            Wait::Read { deadline } => match out.get_mut().receive(&mut buf, deadline, stop) {
                Ready::Input(n) => {
                    session.push(&buf[..n]);
                    session.run(Instant::now(), &mut out)
                }
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
                    close(out);
                    return;
                }
                Ready::Gone(e) => {
                    if let (Some(log), Some(e)) = (log, e) {
                        log.info(format_args!("cannot read from the client: {e}"));
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
                    close(out);
                    return;
                }
            },
            Wait::StartTls => {
                // Only a plain link with STARTTLS offered gets here. Every byte read was
                // pushed, so the session's framer is the only place plaintext can wait; a
                // byte read as if it came over TLS is the whole attack (CVE-2011-0411).
                let Some(config) = starttls.take() else {
                    return;
                };
                if imapd_bin::tls::plaintext_pending(&mut session, log) {
                    return;
                }
                let Ok(link) = out.into_inner() else {
                    session.hang_up();
                    return;
                };
                match link.start_tls(config, log) {
                    Some(link) => {
                        session.tls_started();
                        out = BufWriter::with_capacity(TLS_WRITE_BUFFER, link);
                        session.run(Instant::now(), &mut out)
                    }
                    None => {
                        session.hang_up();
                        return;
                    }
                }
            }
            Wait::Close => {
                close(out);
                return;
            }
        };
    }
}

/// Ends the connection: TLS sends `close_notify`.
fn close(out: BufWriter<Link>) {
    if let Ok(Link::Tls { mut conn, .. }) = out.into_inner() {
        conn.close();
    }
}

enum Ready {
    /// Input: this many bytes (0 from [`ready`]: the socket is readable).
    Input(usize),
    Nothing,
    Stop,
    Gone(Option<io::Error>),
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
        Ok(_) => Ready::Input(0),
        Err(e) => Ready::Gone(Some(e.into())),
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
