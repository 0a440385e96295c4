//! TLS for one IMAP connection: the server configuration built from `imapd_tls_cert` and
//! `imapd_tls_key` ([`server_config`]), and a blocking transport ([`TlsConn`]) that runs rustls
//! over any pair of file descriptors — stdin/stdout under inetd, a `TcpStream` in imapdsvc.
//!
//! This module owns every rustls call of the server. It must never write to stderr, never
//! poll the socket while rustls still holds decrypted bytes (a client's pipelined command would
//! wait forever), never buffer a whole response (FETCH streams through [`TlsConn`]'s `Write`),
//! and never read plaintext of its own: what came before the handshake is the driver's.

use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};

/// The ALPN name of IMAP (RFC 9266 registry). Offered so that a client naming it gets it; a
/// client naming no protocol is served too, and one naming only other protocols (an HTTPS
/// client sent here) is refused by rustls, which is what defends against cross-protocol
/// attacks such as ALPACA.
pub const ALPN_IMAP: &[u8] = b"imap";

/// Which of the two files an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsFile {
    /// The certificate chain (`imapd_tls_cert`).
    Cert,
    /// The private key (`imapd_tls_key`).
    Key,
}

impl TlsFile {
    /// The dmail.conf setting naming the file.
    ///
    /// ```
    /// assert_eq!(imapd_bin::tls::TlsFile::Key.setting(), "imapd_tls_key");
    /// ```
    pub fn setting(self) -> &'static str {
        match self {
            TlsFile::Cert => "imapd_tls_cert",
            TlsFile::Key => "imapd_tls_key",
        }
    }
}

/// Why the TLS settings cannot be used. Each message names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// Which file.
        file: TlsFile,
        /// Its path.
        path: Utf8PathBuf,
        /// The reason.
        source: io::Error,
    },
    /// A file is not valid PEM.
    #[error("{path}: not a valid PEM file: {source}")]
    Pem {
        /// Which file.
        file: TlsFile,
        /// Its path.
        path: Utf8PathBuf,
        /// The reason.
        source: pem::Error,
    },
    /// The certificate file holds no `CERTIFICATE` block.
    #[error("{path}: no PEM certificate (BEGIN CERTIFICATE) found")]
    NoCertificate {
        /// The file.
        path: Utf8PathBuf,
    },
    /// The key file holds no private key in PKCS#8, PKCS#1 or SEC1 form.
    #[error(
        "{path}: no PEM private key (BEGIN PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY) found"
    )]
    NoKey {
        /// The file.
        path: Utf8PathBuf,
    },
    /// rustls refused the pair: an unsupported key, or a key that is not the certificate's.
    #[error("{key} cannot be used with {cert}: {source}")]
    Rejected {
        /// The certificate file.
        cert: Utf8PathBuf,
        /// The key file.
        key: Utf8PathBuf,
        /// rustls' reason.
        source: rustls::Error,
    },
}

impl TlsError {
    /// The file at fault, so that a report can point at its setting. A pair rustls refuses is
    /// the key's fault: the key is what must match the certificate.
    ///
    /// ```
    /// use imapd_bin::tls::{TlsError, TlsFile};
    /// let e = TlsError::NoKey { path: "/etc/dmail/key.pem".into() };
    /// assert_eq!(e.file(), TlsFile::Key);
    /// assert!(e.to_string().contains("/etc/dmail/key.pem"));
    /// ```
    pub fn file(&self) -> TlsFile {
        match self {
            TlsError::Read { file, .. } | TlsError::Pem { file, .. } => *file,
            TlsError::NoCertificate { .. } => TlsFile::Cert,
            TlsError::NoKey { .. } | TlsError::Rejected { .. } => TlsFile::Key,
        }
    }
}

/// Whether plaintext waits in `session` at the moment TLS is to start (after the OK to
/// STARTTLS was flushed). Every byte read was pushed into the session, so its framer is the
/// only place such bytes can be; a byte read as if it came over TLS is the whole attack
/// (CVE-2011-0411). When it returns true it has logged that and hung the session up: the
/// caller closes the connection instead of starting TLS.
///
/// ```no_run
/// # fn f<B: imapd_proto::backend::Backend>(mut session: imapd_proto::session::Session<B>) {
/// if imapd_bin::tls::plaintext_pending(&mut session, None) {
///     return; // close, never handshake
/// }
/// # }
/// ```
pub fn plaintext_pending<B: imapd_proto::backend::Backend>(
    session: &mut imapd_proto::session::Session<B>,
    log: Option<&crate::log::Log>,
) -> bool {
    if !session.has_pending_input() {
        return false;
    }
    if let Some(log) = log {
        log.info("plaintext pending when TLS was to start; closing");
    }
    session.hang_up();
    true
}

/// Loads the PEM certificate chain at `cert` (leaf first) and the PEM private key at `key`
/// (PKCS#8, PKCS#1 or SEC1) into a server configuration: TLS 1.2 and 1.3 with the ring
/// provider, no client certificates, ALPN `imap` accepted but not required.
///
/// ```no_run
/// let config = imapd_bin::tls::server_config(
///     "/etc/dmail/imapd.pem".into(),
///     "/etc/dmail/imapd.key".into(),
/// )?;
/// assert_eq!(config.alpn_protocols, [b"imap".to_vec()]);
/// # Ok::<(), imapd_bin::tls::TlsError>(())
/// ```
pub fn server_config(cert: &Utf8Path, key: &Utf8Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = read_chain(cert)?;
    let private_key = read_key(key)?;
    let rejected = |source| TlsError::Rejected {
        cert: cert.to_owned(),
        key: key.to_owned(),
        source,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(rejected)?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(rejected)?;
    config.alpn_protocols = vec![ALPN_IMAP.to_vec()];
    // One process serves one connection, so a ticket could never be redeemed: sending them
    // would only cost bytes and CPU.
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

fn read_file(path: &Utf8Path, file: TlsFile) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        file,
        path: path.to_owned(),
        source,
    })
}

fn read_chain(path: &Utf8Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read_file(path, TlsFile::Cert)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            file: TlsFile::Cert,
            path: path.to_owned(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(chain)
}

fn read_key(path: &Utf8Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read_file(path, TlsFile::Key)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|source| match source {
        pem::Error::NoItemsFound => TlsError::NoKey {
            path: path.to_owned(),
        },
        source => TlsError::Pem {
            file: TlsFile::Key,
            path: path.to_owned(),
            source,
        },
    })
}

/// What [`TlsConn::receive`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// This many plaintext bytes, at the start of the buffer.
    Data(usize),
    /// Nothing yet: the deadline passed, or a signal interrupted the wait. The caller checks
    /// the clock and calls again or gives up.
    Nothing,
    /// The client closed the connection (with or without `close_notify`).
    Closed,
}

/// A server-side TLS connection over a reader and a writer (the two halves of one socket,
/// possibly as two descriptors, as inetd hands them over). Reads wait with poll(2) on the
/// reader; writes go straight through to the writer, encrypted.
///
/// The reader must be unbuffered (a `File`, a `TcpStream`, not `std::io::Stdin`): poll only
/// sees what the kernel holds.
///
/// ```no_run
/// use std::net::TcpListener;
/// use std::time::{Duration, Instant};
/// use imapd_bin::tls::{TlsConn, server_config};
///
/// let config = server_config("cert.pem".into(), "key.pem".into())?;
/// let (socket, _) = TcpListener::bind("127.0.0.1:993")?.accept()?;
/// let mut tls = TlsConn::new(config, socket.try_clone()?, socket)?;
/// tls.handshake(Instant::now() + Duration::from_secs(60))?;
/// std::io::Write::write_all(&mut tls, b"* OK ready\r\n")?;
/// tls.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TlsConn<R, W> {
    conn: ServerConnection,
    reader: R,
    writer: W,
}

impl<R: Read + AsFd, W: Write> TlsConn<R, W> {
    /// A connection waiting for the client's hello on `reader`.
    ///
    /// ```no_run
    /// # use imapd_bin::tls::{TlsConn, server_config};
    /// let config = server_config("cert.pem".into(), "key.pem".into())?;
    /// let tls = TlsConn::new(config, std::fs::File::open("/dev/null")?, std::io::sink())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(config: Arc<ServerConfig>, reader: R, writer: W) -> io::Result<TlsConn<R, W>> {
        let conn = ServerConnection::new(config).map_err(io::Error::other)?;
        Ok(TlsConn {
            conn,
            reader,
            writer,
        })
    }

    /// Runs the handshake to its end, or fails: the client sent something that is not TLS,
    /// refused the certificate, closed, or took until `deadline` (`TimedOut`). On failure any
    /// alert rustls prepared has been sent.
    ///
    /// ```no_run
    /// # fn f(tls: &mut imapd_bin::tls::TlsConn<std::net::TcpStream, std::net::TcpStream>) -> std::io::Result<()> {
    /// tls.handshake(std::time::Instant::now() + std::time::Duration::from_secs(60))
    /// # }
    /// ```
    pub fn handshake(&mut self, deadline: Instant) -> io::Result<()> {
        while self.conn.is_handshaking() {
            self.write_pending()?;
            if !self.conn.wants_read() {
                // Mid-handshake with nothing to send and nothing wanted: only a close_notify
                // does that. Without this the loop would spin.
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed the connection during the TLS handshake",
                ));
            }
            if !self.wait_readable(deadline)? {
                if Instant::now() >= deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "TLS handshake timed out",
                    ));
                }
                continue;
            }
            if self.read_records()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed the connection during the TLS handshake",
                ));
            }
        }
        self.write_pending()
    }

    /// The negotiated protocol version and ALPN name, for the log (`TLSv1_3`, `imap`).
    ///
    /// ```no_run
    /// # fn f(tls: &imapd_bin::tls::TlsConn<std::net::TcpStream, std::net::TcpStream>) {
    /// println!("{}", tls.describe());
    /// # }
    /// ```
    pub fn describe(&self) -> String {
        let version = self
            .conn
            .protocol_version()
            .map_or_else(|| "unknown version".to_owned(), |v| format!("{v:?}"));
        let cipher = self
            .conn
            .negotiated_cipher_suite()
            .map_or_else(String::new, |s| format!(" {:?}", s.suite()));
        let alpn = match self.conn.alpn_protocol() {
            Some(name) => format!(", ALPN {}", String::from_utf8_lossy(name)),
            None => String::new(),
        };
        format!("{version}{cipher}{alpn}")
    }

    /// Plaintext from the client into `buf`, waiting until `deadline` at most. Bytes rustls
    /// already decrypted are returned first, without touching the socket.
    ///
    /// ```no_run
    /// # use imapd_bin::tls::Received;
    /// # fn f(tls: &mut imapd_bin::tls::TlsConn<std::net::TcpStream, std::net::TcpStream>) -> std::io::Result<()> {
    /// let mut buf = [0u8; 4096];
    /// let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1800);
    /// if let Received::Data(n) = tls.receive(&mut buf, deadline)? {
    ///     println!("{:?}", &buf[..n]);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn receive(&mut self, buf: &mut [u8], deadline: Instant) -> io::Result<Received> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(0) => return Ok(Received::Closed),
                Ok(n) => return Ok(Received::Data(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The socket ended without close_notify: a client that just hung up.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Ok(Received::Closed);
                }
                Err(e) => return Err(e),
            }
            // Whatever processing the last records produced (an alert, a key update answer)
            // goes out before we sleep.
            self.write_pending()?;
            if !self.wait_readable(deadline)? {
                return Ok(Received::Nothing);
            }
            self.read_records()?;
        }
    }

    /// Sends `close_notify` and everything still pending. Errors are ignored: the connection
    /// is ending either way.
    ///
    /// ```no_run
    /// # fn f(mut tls: imapd_bin::tls::TlsConn<std::net::TcpStream, std::net::TcpStream>) {
    /// tls.close();
    /// # }
    /// ```
    pub fn close(&mut self) {
        self.conn.send_close_notify();
        let _ = self.write_pending();
    }

    /// Reads what the socket has and lets rustls process it; returns the bytes read (0 at end
    /// of file). A protocol error sends rustls' alert before it is returned.
    fn read_records(&mut self) -> io::Result<usize> {
        let n = loop {
            match self.conn.read_tls(&mut self.reader) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other?,
            }
        };
        if let Err(e) = self.conn.process_new_packets() {
            let _ = self.write_pending();
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        Ok(n)
    }

    /// Writes every TLS record rustls has ready; the writer is blocking, so this returns only
    /// once all of them are written (or the client is gone).
    fn write_pending(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.writer) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.writer.flush()
    }

    /// Waits until the reader has input or `deadline` passes; false when it did not come (or a
    /// signal came first).
    fn wait_readable(&self, deadline: Instant) -> io::Result<bool> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        // poll's resolution is a millisecond: round up so that it does not wake just before.
        let left = left.saturating_add(Duration::from_millis(1));
        let timeout = Timespec::try_from(left).unwrap_or(Timespec {
            tv_sec: i64::MAX,
            tv_nsec: 0,
        });
        let mut fds = [PollFd::new(&self.reader, PollFlags::IN)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) | Err(Errno::INTR) => Ok(false),
            Ok(_) => Ok(true),
            Err(e) => Err(e.into()),
        }
    }
}

/// Encrypts and sends: each write is taken by rustls and written through to the socket at once,
/// so a large FETCH never waits whole in memory. Put a `BufWriter` in front to make records of
/// a useful size.
impl<R: Read + AsFd, W: Write> Write for TlsConn<R, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.conn.writer().write(buf)?;
        self.write_pending()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.conn.writer().flush()?;
        self.write_pending()
    }
}
