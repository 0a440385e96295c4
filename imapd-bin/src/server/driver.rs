//! The read/write loop of the inetd server: client bytes from fd 0 into the session, the
//! session's answers to stdout, and the waits the session asks for (a deadline for input, a
//! failed login's pause, the end of the connection).
//!
//! This module owns the only blocking calls of server mode (poll, read, write, sleep) and the
//! SIGTERM watch: signal-hook writes a byte to a socket pair that every wait polls, and the
//! session then says `* BYE Server shutting down`, closes its mailbox, and the process exits 0
//! (imapdsvc stops its spawned children this way). It reads fd 0 directly, without std's
//! buffered stdin, so that poll never misses bytes already read.
//! It must never write to stderr and never push bytes into the session unless the session
//! asked for input ([`Wait::Read`]).

use std::io::{self, BufWriter, IsTerminal, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use imapd_bin::log::Log;
use imapd_proto::backend::Backend;
use imapd_proto::session::{Session, Wait};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;

/// The most read from the client at a time.
const READ_SIZE: usize = 64 * 1024;

/// Runs `session` on stdin/stdout until the client leaves or the session ends it.
pub(crate) fn drive<B: Backend>(mut session: Session<B>, log: Option<&Log>) {
    let stop = watch_sigterm(log);
    let mut out = BufWriter::new(io::stdout().lock());
    let mut buf = vec![0u8; READ_SIZE];
    let mut typed = TypedLines::new(io::stdin().is_terminal());
    let mut wait = session.run(Instant::now(), &mut out);
    loop {
        let next = match flushed(wait, &mut out) {
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
            Wait::Read { deadline } => match read(&mut buf, deadline, stop.as_ref()) {
                Input::Bytes(n) => {
                    session.push(typed.fix(&buf[..n]));
                    session.run(Instant::now(), &mut out)
                }
                Input::Nothing => {
                    let now = Instant::now();
                    if now < deadline {
                        // Woken early (a signal, poll's rounding): wait on.
                        Ok(next)
                    } else {
                        session.timeout(now, &mut out)
                    }
                }
                Input::Stop => {
                    let _ = session.shut_down(&mut out).and_then(|_| out.flush());
                    return;
                }
                Input::Gone(why) => {
                    if let (Some(log), Some(e)) = (log, why) {
                        log.info(format_args!("cannot read from the client: {e}"));
                    }
                    session.hang_up();
                    return;
                }
            },
            Wait::Pause { until } => {
                if stopped_within(stop.as_ref(), until) {
                    let _ = session.shut_down(&mut out).and_then(|_| out.flush());
                    return;
                }
                session.run(Instant::now(), &mut out)
            }
            // STARTTLS is never offered, so StartTls cannot come; if it did, plaintext must not
            // go on as if it were encrypted.
            Wait::StartTls | Wait::Close => return,
        };
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

/// Waits for input on fd 0 (or SIGTERM) until `deadline`, then reads what there is.
fn read(buf: &mut [u8], deadline: Instant, stop: Option<&UnixStream>) -> Input {
    let stdin = io::stdin();
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Input::Nothing;
    }
    let timeout = timespec(left);
    let mut fds = vec![PollFd::new(&stdin, PollFlags::IN)];
    if let Some(stop) = stop {
        fds.push(PollFd::new(stop, PollFlags::IN));
    }
    match poll(&mut fds, Some(&timeout)) {
        Ok(0) | Err(Errno::INTR) => return Input::Nothing,
        Ok(_) => {}
        Err(e) => return Input::Gone(Some(e.into())),
    }
    if fds.get(1).is_some_and(|f| !f.revents().is_empty()) {
        return Input::Stop;
    }
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
