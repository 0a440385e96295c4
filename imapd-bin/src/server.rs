//! Server mode (`imapd` without a subcommand): one IMAP session on standard input and output, as
//! inetd runs it.
//!
//! This module owns the start of a connection: silencing stderr, loading dmail.conf, opening
//! the log (dmail-conventions §9), finding the client's and the local address, loading the TLS
//! certificate. The options and the login are the library's (`imapd_bin::setup`,
//! `imapd_bin::backend`), the read/write loop
//! [`driver`]'s, the protocol imapd-proto's.
//!
//! Under inetd stdout and stderr are the client's socket: this module and those below it must
//! never write to stderr, never send a server path or a configuration diagnostic to the client,
//! and never panic (a panic is logged by the hook, never printed).

mod driver;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use camino::Utf8PathBuf;
use dmail_conf::{Config, Platform, ip_text};
use imapd_bin::backend::{ServerBackend, UserSessions};
use imapd_bin::log::{self, Log};
use imapd_bin::setup::{load_config, options};
use imapd_proto::session::Session;

use self::driver::Encryption;

/// What a client is told when dmail.conf cannot be read. It names no path: the reason is
/// logged, if a log can be opened.
pub(crate) const CONFIG_UNREADABLE: &[u8] =
    b"* BYE Server configuration cannot be read; try again later\r\n";

/// How a connection ended, for the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The session ran (whatever the client did).
    Served,
    /// The configuration could not be read; the client was told BYE.
    Refused,
}

/// Serves one connection on stdin/stdout with the configuration at `config_path` (the
/// platform's default when `None`); with `implicit_tls` (`imapd --tls`) the connection is TLS
/// from the first byte.
pub(crate) fn serve(
    config_path: Option<Utf8PathBuf>,
    implicit_tls: bool,
    session_slots: Option<std::path::PathBuf>,
) -> Ended {
    silence_stderr();
    let platform = Platform::current();
    let config_path = config_path.unwrap_or_else(|| dmail_conf::defaults::config_path(platform));
    let addresses = Addresses::of_stdin();
    let config = match load_config(&config_path, platform) {
        Ok((config, problems)) => {
            let log = open_log(&config, &addresses);
            if let Some(log) = &log {
                for problem in &problems {
                    log.error(problem);
                }
            }
            (config, log)
        }
        Err(reason) => {
            if let Some(log) = open_log(&Config::defaults(platform), &addresses) {
                log.error(format_args!("cannot serve a connection: {reason}"));
            }
            let mut out = std::io::stdout().lock();
            // The client may have gone already; there is no one else to tell.
            let _ = out.write_all(CONFIG_UNREADABLE).and_then(|()| out.flush());
            return Ended::Refused;
        }
    };
    let (config, log) = config;
    if let Some(log) = &log {
        log.info(format_args!("connect to {}", addresses.local_text()));
    }
    let tls = match (tls_config(&config, log.as_ref()), implicit_tls) {
        (Some(tls), true) => Encryption::Implicit(tls),
        (Some(tls), false) => Encryption::StartTls(tls),
        (None, false) => Encryption::Off,
        (None, true) => {
            // A client of an imaps port speaks TLS first: a plaintext BYE would be noise to
            // it, so the connection is just closed.
            if let Some(log) = &log {
                log.error("imapd --tls needs imapd_tls_cert and imapd_tls_key; closing");
            }
            return Ended::Refused;
        }
    };
    let options = options(&config, matches!(tls, Encryption::StartTls(_)));
    let mut backend = ServerBackend::new(config, log.clone(), addresses.client, addresses.local);
    if let Some(dir) = session_slots {
        // Spawned by imapdsvc: the per-user limit is kept across its imapd processes.
        backend = backend.with_user_sessions(UserSessions::in_directory(dir));
    }
    let session = Session::new(backend, options, Instant::now());
    driver::drive(session, tls, log.as_ref());
    Ended::Served
}

/// The TLS configuration when both files are set and load. When they do not load the error
/// is logged and the connection goes on without TLS (logins stay refused if
/// `imapd_login_disabled` says so).
fn tls_config(config: &Config, log: Option<&Log>) -> Option<Arc<rustls::ServerConfig>> {
    let (Some(cert), Some(key)) = (&config.imapd_tls_cert, &config.imapd_tls_key) else {
        return None;
    };
    match imapd_bin::tls::server_config(cert, key) {
        Ok(tls) => Some(tls),
        Err(e) => {
            if let Some(log) = log {
                log.error(format_args!("TLS is not available: {e}"));
            }
            None
        }
    }
}

/// Points fd 2 at /dev/null, so that nothing (a library's message, a panic) can reach the
/// client through it, and replaces the panic hook with a silent one until the log is open.
fn silence_stderr() {
    std::panic::set_hook(Box::new(|_| {}));
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        // If this fails fd 2 stays as inetd gave it; nothing here writes to it anyway.
        let _ = rustix::stdio::dup2_stderr(&null);
    }
}

/// `LOG_PATH/imapd.log` with this connection's context (session id = pid, peer = client
/// address), and the panic hook writing to it. `None` when it cannot be opened: the session
/// then runs without a log, since there is nowhere to report that.
fn open_log(config: &Config, addresses: &Addresses) -> Option<Log> {
    let log = Log::from_config(config, "imapd")
        .ok()?
        .with_context(std::process::id(), addresses.client_text());
    log::install_panic_hook(log.clone());
    Some(log)
}

/// The two ends of the connection on fd 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Addresses {
    /// The client's address; `None` when stdin is not a socket (run by hand, a pipe).
    pub(crate) client: Option<IpAddr>,
    /// The address the client connected to (chooses a vdomain); `None` as above.
    pub(crate) local: Option<IpAddr>,
}

impl Addresses {
    fn of_stdin() -> Addresses {
        let stdin = std::io::stdin();
        let ip = |addr: Option<rustix::net::SocketAddrAny>| {
            addr.and_then(|a| SocketAddr::try_from(a).ok())
                .map(|a| a.ip().to_canonical())
        };
        Addresses {
            client: rustix::net::getpeername(&stdin).ok().and_then(ip),
            local: ip(rustix::net::getsockname(&stdin).ok()),
        }
    }

    fn client_text(&self) -> String {
        self.client.map_or_else(|| "-".to_owned(), ip_text)
    }

    fn local_text(&self) -> String {
        self.local
            .map_or_else(|| "standard input (not a socket)".to_owned(), ip_text)
    }
}
