//! The read/write loop of the inetd server: client bytes from fd 0 into the session, the
//! session's answers to stdout, and the waits the session asks for (a deadline for input, a
//! failed login's pause, STARTTLS, the end of the connection). With TLS (STARTTLS, or
//! `imapd --tls` from the first byte) the same loop runs over [`TlsConn`].
//!
//! This module owns the only blocking calls of server mode (poll, read, write, sleep) and the
//! SIGTERM watch: signal-hook writes a byte to a socket pair that every wait polls, and the
//! session then says `* BYE Server shutting down`, closes its mailbox, and the process exits 0
//! (imapdsvc stops its spawned children this way). It reads fd 0 directly, without std's
//! buffered stdin, so that poll never misses bytes already read and so that no plaintext can
//! hide in a buffer of ours when TLS starts. It must never write
//! to stderr, never push bytes into the session unless the session asked for input
//! ([`Wait::Read`]), and never start TLS while any plaintext after `STARTTLS` is unread.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use imapd_bin::log::Log;
use imapd_bin::tls::{Received, TlsConn};
use imapd_proto::backend::Backend;
use imapd_proto::session::{Session, Wait};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;
use rustls::ServerConfig;

/// The most read from the client at a time.
const READ_SIZE: usize = 64 * 1024;

/// The longest a TLS handshake may take. Well inside the 3 minutes allowed before login: a
/// handshake is a few round trips, and a client that stalls in it holds a process for nothing.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// Sizes TLS records: the session writes in small pieces, and each write through
/// [`TlsConn`] becomes at least one record.
const TLS_WRITE_BUFFER: usize = 16 * 1024;

/// How the connection is encrypted.
pub(crate) enum Encryption {
    /// Never: no usable certificate.
    Off,
    /// After STARTTLS (the session offers it).
    StartTls(Arc<ServerConfig>),
    /// From the first byte (`imapd --tls`; the session was told TLS is active).
    Implicit(Arc<ServerConfig>),
}

/// The socket under TLS, as inetd hands it over: fd 0 to read, fd 1 to write.
type Encrypted = TlsConn<File, File>;

/// Runs `session` on stdin/stdout until the client leaves or the session ends it.
pub(crate) fn drive<B: Backend>(mut session: Session<B>, tls: Encryption, log: Option<&Log>) {
    let stop = watch_sigterm(log);
    let stop = stop.as_ref();
    let mut buf = vec![0u8; READ_SIZE];
    let config = match tls {
        Encryption::Implicit(config) => {
            if let Some(conn) = start_tls(config, log) {
                // Before the greeting, so that it already leaves out STARTTLS and
                // LOGINDISABLED.
                session.tls_started();
                serve(&mut session, conn, &mut buf, stop, log);
            } else {
                session.hang_up();
            }
            return;
        }
        Encryption::StartTls(config) => Some(config),
        Encryption::Off => None,
    };
    let plain = Plain {
        out: io::stdout().lock(),
    };
    let mut typed = TypedLines::new(io::stdin().is_terminal());
    let mut out = BufWriter::new(plain);
    let wait = session.run(Instant::now(), &mut out);
    if run(
        &mut session,
        &mut out,
        wait,
        &mut buf,
        &mut typed,
        stop,
        log,
    ) == Next::Close
    {
        return;
    }
    // STARTTLS was answered and flushed. fd 0 is read directly and every byte read was pushed,
    // so the session's framer is the only place plaintext can wait: the session checked it
    // before answering OK, and it is checked again here, since a byte read as if it came over
    // TLS is the whole attack (CVE-2011-0411).
    let Some(config) = config else {
        // STARTTLS was not offered, so the session cannot ask for it; plaintext must not go
        // on as if it were encrypted.
        return;
    };
    // (TypedLines holds no bytes between reads: a lone CR only sets a flag.)
    if imapd_bin::tls::plaintext_pending(&mut session, log) {
        return;
    }
    drop(out);
    match start_tls(config, log) {
        Some(conn) => {
            session.tls_started();
            serve(&mut session, conn, &mut buf, stop, log);
        }
        None => session.hang_up(),
    }
}

/// Serves the rest of the session over TLS, then sends `close_notify`.
fn serve<B: Backend>(
    session: &mut Session<B>,
    conn: Encrypted,
    buf: &mut [u8],
    stop: Option<&UnixStream>,
    log: Option<&Log>,
) {
    let mut out = BufWriter::with_capacity(TLS_WRITE_BUFFER, conn);
    // Bytes sent over TLS are never "typed": a terminal cannot speak TLS.
    let mut typed = TypedLines::new(false);
    let wait = session.run(Instant::now(), &mut out);
    // Under TLS the session never asks for STARTTLS again; either way, the connection ends.
    let _ = run(session, &mut out, wait, buf, &mut typed, stop, log);
    let _ = out.flush();
    out.get_mut().close();
}

/// Wraps fd 0 and fd 1 in TLS and runs the handshake. `None` (logged at info: a client that
/// could not or would not speak TLS is not the server's problem) when it fails.
fn start_tls(config: Arc<ServerConfig>, log: Option<&Log>) -> Option<Encrypted> {
    let started = (|| {
        // Duplicates, so that the TLS layer owns plain unbuffered files (std's stdin buffers).
        let reader = File::from(rustix::io::dup(io::stdin())?);
        let writer = File::from(rustix::io::dup(io::stdout())?);
        let mut conn = TlsConn::new(config, reader, writer)?;
        conn.handshake(Instant::now() + HANDSHAKE_TIMEOUT)?;
        Ok::<_, io::Error>(conn)
    })();
    match started {
        Ok(conn) => {
            if let Some(log) = log {
                log.info(format_args!("TLS started: {}", conn.describe()));
            }
            Some(conn)
        }
        Err(e) => {
            if let Some(log) = log {
                log.info(format_args!("TLS handshake failed: {e}"));
            }
            None
        }
    }
}

/// Why [`run`] returned.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// The connection is over.
    Close,
    /// The session answered STARTTLS (and the answer is flushed).
    StartTls,
}

/// Where the session's bytes come from and go to: the plain socket or TLS over it.
trait Link: Write {
    /// Waits for input (or SIGTERM, on `stop`) until `deadline`, then reads what there is.
    fn receive(&mut self, buf: &mut [u8], deadline: Instant, stop: Option<&UnixStream>) -> Input;
}

/// The plain socket: fd 0 read directly, stdout written.
struct Plain {
    out: io::StdoutLock<'static>,
}

impl Write for Plain {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Link for Plain {
    fn receive(&mut self, buf: &mut [u8], deadline: Instant, stop: Option<&UnixStream>) -> Input {
        match wait_input(deadline, stop) {
            Input::Bytes(_) => read(buf),
            other => other,
        }
    }
}

impl Link for Encrypted {
    fn receive(&mut self, buf: &mut [u8], deadline: Instant, stop: Option<&UnixStream>) -> Input {
        let input = |got: io::Result<Received>| match got {
            Ok(Received::Data(n)) => Input::Bytes(n),
            Ok(Received::Nothing) => Input::Nothing,
            Ok(Received::Closed) => Input::Gone(None),
            Err(e) => Input::Gone(Some(e)),
        };
        // Plaintext rustls already decrypted comes first: poll cannot see it. A deadline of
        // now takes only that, without waiting.
        match input(TlsConn::receive(self, buf, Instant::now())) {
            Input::Nothing => {}
            got => return got,
        }
        // The TLS layer reads a duplicate of fd 0, so fd 0 tells when records arrive.
        match wait_input(deadline, stop) {
            // Readable now: a millisecond lets the layer read and decrypt what came.
            Input::Bytes(_) => input(TlsConn::receive(
                self,
                buf,
                Instant::now() + Duration::from_millis(1),
            )),
            other => other,
        }
    }
}

/// The loop proper: runs the session over `out` from `wait` on, until it closes or asks for
/// TLS.
fn run<B: Backend, L: Link>(
    session: &mut Session<B>,
    out: &mut BufWriter<L>,
    mut wait: io::Result<Wait>,
    buf: &mut [u8],
    typed: &mut TypedLines,
    stop: Option<&UnixStream>,
    log: Option<&Log>,
) -> Next {
    loop {
        let next = match flushed(wait, out) {
            Ok(next) => next,
            Err(e) => {
                if let Some(log) = log {
                    log.info(format_args!("cannot write to the client: {e}"));
                }
                session.hang_up();
                return Next::Close;
            }
        };
        wait = match next {
            // Flushed above, so reading through the writer's inner link loses nothing.
            Wait::Read { deadline } => match out.get_mut().receive(buf, deadline, stop) {
                Input::Bytes(n) => {
                    session.push(typed.fix(&buf[..n]));
                    session.run(Instant::now(), out)
                }
                Input::Nothing => {
                    let now = Instant::now();
                    if now < deadline {
                        // Woken early (a signal, poll's rounding): wait on.
                        Ok(next)
                    } else {
                        session.timeout(now, out)
                    }
                }
                Input::Stop => {
                    let _ = session.shut_down(out).and_then(|_| out.flush());
                    return Next::Close;
                }
                Input::Gone(why) => {
                    if let (Some(log), Some(e)) = (log, why) {
                        log.info(format_args!("cannot read from the client: {e}"));
                    }
                    session.hang_up();
                    return Next::Close;
                }
            },
            Wait::Pause { until } => {
                if stopped_within(stop, until) {
                    let _ = session.shut_down(out).and_then(|_| out.flush());
                    return Next::Close;
                }
                session.run(Instant::now(), out)
            }
            Wait::StartTls => return Next::StartTls,
            Wait::Close => return Next::Close,
        };
    }
}

/// Line ends typed at a terminal. The manual's "Checking it works" has an administrator run
/// `imapd` by hand and type commands; a terminal ends lines with a bare LF, which IMAP refuses
/// (RFC 3501 §2.2). Only when standard input is a terminal is each bare LF made CRLF; a socket
/// or a pipe is passed on untouched, so network clients are held to CRLF.
struct TypedLines {
    terminal: bool,
    last_was_cr: bool,
    fixed: Vec<u8>,
}

impl TypedLines {
    fn new(terminal: bool) -> TypedLines {
        TypedLines {
            terminal,
            last_was_cr: false,
            fixed: Vec::new(),
        }
    }

    fn fix<'a>(&'a mut self, input: &'a [u8]) -> &'a [u8] {
        if !self.terminal {
            return input;
        }
        self.fixed.clear();
        for &b in input {
            if b == b'\n' && !self.last_was_cr {
                self.fixed.push(b'\r');
            }
            self.fixed.push(b);
            self.last_was_cr = b == b'\r';
        }
        &self.fixed
    }
}

/// Flushes what the session wrote, passing on its wait or the first error.
fn flushed(wait: io::Result<Wait>, out: &mut impl Write) -> io::Result<Wait> {
    let wait = wait?;
    out.flush()?;
    Ok(wait)
}

/// What came from the client.
enum Input {
    /// This many bytes, at the start of the buffer.
    Bytes(usize),
    /// Nothing yet (the deadline passed, or a signal interrupted the wait).
    Nothing,
    /// End of file, or a read error (`Some`).
    Gone(Option<io::Error>),
    /// SIGTERM came.
    Stop,
}

/// Waits until fd 0 has input (`Bytes(0)`), SIGTERM comes on `stop`, or `deadline` passes.
fn wait_input(deadline: Instant, stop: Option<&UnixStream>) -> Input {
    let stdin = io::stdin();
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Input::Nothing;
    }
    let mut fds = vec![PollFd::new(&stdin, PollFlags::IN)];
    if let Some(stop) = stop {
        fds.push(PollFd::new(stop, PollFlags::IN));
    }
    match poll(&mut fds, Some(&timespec(left))) {
        Ok(0) | Err(Errno::INTR) => Input::Nothing,
        Ok(_) if fds.get(1).is_some_and(|f| !f.revents().is_empty()) => Input::Stop,
        Ok(_) => Input::Bytes(0),
        Err(e) => Input::Gone(Some(e.into())),
    }
}

/// Reads what fd 0 has (after [`wait_input`] said it has something).
fn read(buf: &mut [u8]) -> Input {
    let stdin = io::stdin();
    loop {
        match rustix::io::read(&stdin, &mut *buf) {
            Ok(0) => return Input::Gone(None),
            Ok(n) => return Input::Bytes(n),
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => return Input::Nothing,
            Err(e) => return Input::Gone(Some(e.into())),
        }
    }
}

/// The read end of a socket pair that receives a byte on SIGTERM; `None` (logged) if the
/// handler cannot be installed, and the signal then ends the process as by default.
fn watch_sigterm(log: Option<&Log>) -> Option<UnixStream> {
    let registered = UnixStream::pair().and_then(|(rx, tx)| {
        signal_hook::low_level::pipe::register(signal_hook::consts::SIGTERM, tx)?;
        Ok(rx)
    });
    match registered {
        Ok(rx) => Some(rx),
        Err(e) => {
            if let Some(log) = log {
                log.error(format_args!("cannot watch for SIGTERM: {e}"));
            }
            None
        }
    }
}

/// Waits until `until`, or less if SIGTERM comes first (then true).
fn stopped_within(stop: Option<&UnixStream>, until: Instant) -> bool {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let Some(stop) = stop else {
            std::thread::sleep(left);
            return false;
        };
        let mut fds = [PollFd::new(stop, PollFlags::IN)];
        match poll(&mut fds, Some(&timespec(left))) {
            Ok(0) | Err(Errno::INTR) => {}
            Ok(_) => return true,
            Err(_) => {
                std::thread::sleep(left);
                return false;
            }
        }
    }
}

/// A poll timeout, rounded up a millisecond (poll's resolution) so that it does not wake just
/// before.
fn timespec(left: Duration) -> Timespec {
    let left = left.saturating_add(Duration::from_millis(1));
    Timespec::try_from(left).unwrap_or(Timespec {
        tv_sec: i64::MAX,
        tv_nsec: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::TypedLines;

    #[test]
    fn a_terminal_gets_crlf_and_a_socket_is_untouched() {
        let mut t = TypedLines::new(true);
        assert_eq!(t.fix(b"a login x y\n"), b"a login x y\r\n");
        assert_eq!(t.fix(b"b noop\r"), b"b noop\r");
        // A CR at the end of one read and its LF at the start of the next stay one CRLF.
        assert_eq!(t.fix(b"\nc logout\r\n"), b"\nc logout\r\n");
        let mut s = TypedLines::new(false);
        assert_eq!(s.fix(b"a noop\n"), b"a noop\n");
    }
}
