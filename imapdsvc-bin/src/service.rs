//! The service's main thread: listening sockets, the accept loop, the checks at accept
//! (`user_ip_address`, the connection limits), signals (SIGTERM/SIGINT stop, SIGHUP reloads
//! dmail.conf, SIGCHLD reaps), the pid file, and the graceful stop.
//!
//! This module owns every decision about which connections are served and by what; the serving
//! itself is [`crate::inproc`]'s or [`crate::spawn`]'s. It must never block on a client (a
//! refused client is told BYE with a short write timeout), never run signal-handler code of its
//! own (signal-hook sets flags and wakes the poll), never re-spawn itself (DWatch watches this
//! PID), and never take longer than [`STOP_DEADLINE`] to stop.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use camino::Utf8PathBuf;
use dmail_auth::Pool;
use dmail_conf::values::AuthentMethod;
use dmail_conf::{Config, Platform, ip_text};
use imapd_bin::backend::UserSessions;
use imapd_bin::log::Log;
use rustix::event::{PollFd, PollFlags, poll};
use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGTERM};

use crate::inproc::{self, Connection};
use crate::limits::{Counts, Refusal};
use crate::spawn::Children;
use imapdsvc_bin::cli::{Cli, ModeChoice};

/// From SIGTERM to exit, at most (DWatch and init wait 10 s before killing).
pub(crate) const STOP_DEADLINE: Duration = Duration::from_secs(9);

/// What a client over a connection limit is told.
const TOO_MANY: &[u8] = b"* BYE Too many connections\r\n";
/// What a client whose address `user_ip_address` does not allow is told.
const NOT_ALLOWED: &[u8] = b"* BYE Connections from your address are not allowed\r\n";

/// One parse of dmail.conf and what is made from it; each new connection takes the newest.
pub(crate) struct Generation {
    pub(crate) config: Arc<Config>,
    /// In-process mode with `authent_method external`: the shared authenticators.
    pub(crate) pool: Option<Arc<Pool>>,
    /// `LOG_PATH/imapdsvc.log`; `None` when it cannot be opened.
    pub(crate) log: Option<Log>,
    /// STARTTLS and implicit TLS for in-process sessions; `None` without usable TLS files.
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
}

/// How connections are served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `imapd -i CONF` per connection.
    Spawn { imapd: PathBuf },
    /// Threads of this process.
    InProcess,
}

/// Whether sessions of `config` switch user, so that they cannot share a process.
pub(crate) fn sessions_switch_user(config: &Config) -> bool {
    config.authent_method == AuthentMethod::UnixUser && config.imapd_become_user
}

impl Generation {
    fn load(path: &Utf8PathBuf, mode: &Mode) -> Result<Generation, String> {
        let (config, problems) = imapd_bin::setup::load_config(path, Platform::current())?;
        let log = Log::from_config(&config, "imapdsvc").ok();
        if let Some(log) = &log {
            for p in &problems {
                log.error(p);
            }
        }
        let pool = match (mode, config.authent_method) {
            (Mode::InProcess, AuthentMethod::External) => match Pool::from_config(&config) {
                Ok(pool) => Some(Arc::new(pool)),
                Err(e) => {
                    // Logins then fail with NO [UNAVAILABLE] and the reason in the log.
                    if let Some(log) = &log {
                        log.error(format_args!("no external authenticator: {e}"));
                    }
                    None
                }
            },
            _ => None,
        };
        let tls = match (&config.imapd_tls_cert, &config.imapd_tls_key, mode) {
            (Some(cert), Some(key), Mode::InProcess) => {
                match imapd_bin::tls::server_config(cert, key) {
                    Ok(tls) => Some(tls),
                    Err(e) => {
                        if let Some(log) = &log {
                            log.error(format_args!("TLS is not available: {e}"));
                        }
                        None
                    }
                }
            }
            // Spawned imapd processes load the files themselves.
            _ => None,
        };
        Ok(Generation {
            config: Arc::new(config),
            pool,
            log,
            tls,
        })
    }
}

/// Where to listen: (address, implicit TLS).
fn addresses(cli: &Cli, config: &Config) -> Vec<(SocketAddr, bool)> {
    let plain: Vec<SocketAddr> = if !cli.listen.is_empty() {
        cli.listen.clone()
    } else if let Some(host) = config.dpop_host {
        vec![SocketAddr::new(host, 143)]
    } else {
        // `[::]` takes IPv4 too (Linux's default bindv6only 0); see bind().
        vec![SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 143)]
    };
    let tls: Vec<SocketAddr> = if !cli.listen_tls.is_empty() {
        cli.listen_tls.clone()
    } else if config.imapd_tls_cert.is_some() {
        plain.iter().map(|a| SocketAddr::new(a.ip(), 993)).collect()
    } else {
        Vec::new()
    };
    plain
        .into_iter()
        .map(|a| (a, false))
        .chain(tls.into_iter().map(|a| (a, true)))
        .collect()
}

/// Binds `addr`; the every-address default falls back to IPv4 alone when IPv6 is off.
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    match TcpListener::bind(addr) {
        Err(e) if addr.ip() == IpAddr::V6(Ipv6Addr::UNSPECIFIED) => {
            TcpListener::bind(SocketAddr::new(IpAddr::from([0, 0, 0, 0]), addr.port()))
                .map_err(|_| e)
        }
        other => other,
    }
}

/// Flags set by signal-hook, and the socket pair it writes to so that poll wakes.
struct Signals {
    stop: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
    child: Arc<AtomicBool>,
    wake: UnixStream,
}

impl Signals {
    fn install() -> io::Result<Signals> {
        let (wake, wake_tx) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let reload = Arc::new(AtomicBool::new(false));
        let child = Arc::new(AtomicBool::new(false));
        for (sig, flag) in [
            (SIGTERM, &stop),
            (SIGINT, &stop),
            (SIGHUP, &reload),
            (SIGCHLD, &child),
        ] {
            signal_hook::flag::register(sig, Arc::clone(flag))?;
            signal_hook::low_level::pipe::register(sig, wake_tx.try_clone()?)?;
        }
        Ok(Signals {
            stop,
            reload,
            child,
            wake,
        })
    }

    fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!(rustix::io::read(&self.wake, &mut buf), Ok(n) if n > 0) {}
    }
}

/// Raises the open-file limit: every connection is a descriptor, and a selected mailbox
/// another. As root (CAP_SYS_RESOURCE) the hard limit itself is raised to the kernel's
/// `fs.nr_open`, up to [`WANTED_FILES`]; otherwise the soft limit goes up to the hard one.
fn raise_nofile(log: Option<&Log>) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok())
        .unwrap_or(0)
        .min(WANTED_FILES);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    if nr_open > hard
        && setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(nr_open),
                maximum: Some(nr_open),
            },
        )
        .is_ok()
    {
        return;
    }
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised)
            && let Some(log) = log
        {
            log.error(format_args!("cannot raise the open-file limit: {e}"));
        }
    }
}

/// The open-file limit asked for when the hard limit can be raised: 10,000 connections with a
/// mailbox open each, and room to spare.
const WANTED_FILES: u64 = 65_536;

/// The running service.
struct Service {
    /// The addresses asked for at start, to tell whether a reload would change them.
    cli_listen: Vec<(SocketAddr, bool)>,
    config_path: Utf8PathBuf,
    mode: Mode,
    choice: ModeChoice,
    current: Arc<Generation>,
    counts: Counts,
    users: UserSessions,
    children: Children,
    /// Spawn mode: the private directory of the slot files through which the spawned imapd
    /// processes keep `imapd_max_connections_per_user` between them (removed at exit).
    slots: Option<tempfile::TempDir>,
    /// Read end polled by every in-process session; the write end is dropped to stop them.
    stop_rx: Arc<OwnedFd>,
    stop_tx: Option<UnixStream>,
    next_id: u64,
}

/// Runs the service until SIGTERM/SIGINT; the exit code.
pub(crate) fn run(cli: &Cli) -> u8 {
    let platform = Platform::current();
    let config_path = cli
        .config
        .clone()
        .unwrap_or_else(|| dmail_conf::defaults::config_path(platform));
    let (config, _) = match imapd_bin::setup::load_config(&config_path, platform) {
        Ok(c) => c,
        Err(reason) => return fatal(None, &format!("cannot read the configuration: {reason}")),
    };
    let mode = match choose_mode(cli, &config) {
        Ok(m) => m,
        Err(reason) => return fatal(None, &reason),
    };
    let generation = match Generation::load(&config_path, &mode) {
        Ok(g) => g,
        Err(reason) => return fatal(None, &format!("cannot read the configuration: {reason}")),
    };
    let log = generation.log.clone();
    raise_nofile(log.as_ref());
    let signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => {
            return fatal(
                log.as_ref(),
                &format!("cannot install signal handlers: {e}"),
            );
        }
    };
    let wanted = addresses(cli, &generation.config);
    let mut listeners = Vec::new();
    for (addr, tls) in &wanted {
        match bind(*addr).and_then(|l| l.set_nonblocking(true).map(|()| l)) {
            Ok(l) => listeners.push((l, *tls)),
            Err(e) => return fatal(log.as_ref(), &format!("cannot listen on {addr}: {e}")),
        }
    }
    if let Some(path) = &cli.pidfile
        && let Err(e) = std::fs::write(path, format!("{}\n", std::process::id()))
    {
        return fatal(
            log.as_ref(),
            &format!("cannot write the pid file {}: {e}", path.display()),
        );
    }
    if let Some(log) = &log {
        let shown: Vec<String> = listeners
            .iter()
            .filter_map(|(l, tls)| {
                l.local_addr()
                    .ok()
                    .map(|a| format!("{a}{}", if *tls { " (TLS)" } else { "" }))
            })
            .collect();
        log.info(format_args!(
            "imapdsvc {} started, pid {}, {} mode, listening on {}",
            env!("CARGO_PKG_VERSION"),
            std::process::id(),
            match mode {
                Mode::Spawn { .. } => "spawn",
                Mode::InProcess => "in-process",
            },
            shown.join(", ")
        ));
    }
    let (stop_rx, stop_tx) = match UnixStream::pair() {
        Ok(p) => p,
        Err(e) => return fatal(log.as_ref(), &format!("cannot make a socket pair: {e}")),
    };
    let slots = match &mode {
        Mode::Spawn { .. } => match tempfile::Builder::new()
            .prefix("imapdsvc-sessions-")
            .tempdir()
        {
            Ok(dir) => Some(dir),
            Err(e) => {
                return fatal(
                    log.as_ref(),
                    &format!("cannot make the session slot directory: {e}"),
                );
            }
        },
        Mode::InProcess => None,
    };
    let mut service = Service {
        cli_listen: wanted,
        config_path,
        mode,
        choice: cli.mode,
        current: Arc::new(generation),
        counts: Counts::default(),
        users: UserSessions::default(),
        children: Children::default(),
        slots,
        stop_rx: Arc::new(OwnedFd::from(stop_rx)),
        stop_tx: Some(stop_tx),
        next_id: 0,
    };
    service.serve(&listeners, &signals, cli);
    drop(listeners);
    service.stop();
    if let Some(path) = &cli.pidfile {
        let _ = std::fs::remove_file(path);
    }
    if let Some(log) = &service.current.log {
        log.info("imapdsvc stopped");
    }
    0
}

/// The mode `--mode` and the configuration ask for.
fn choose_mode(cli: &Cli, config: &Config) -> Result<Mode, String> {
    let spawn = || {
        let imapd = cli.imapd.clone().unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(|d| d.join("imapd")))
                .unwrap_or_else(|| PathBuf::from("imapd"))
        });
        Mode::Spawn { imapd }
    };
    match cli.mode {
        ModeChoice::Spawn => Ok(spawn()),
        ModeChoice::InProcess if sessions_switch_user(config) => Err(
            "--mode in-process: sessions switch user (authent_method unix_user with \
             imapd_become_user true), which one process cannot do for many users"
                .to_owned(),
        ),
        ModeChoice::InProcess => Ok(Mode::InProcess),
        ModeChoice::Auto if sessions_switch_user(config) => Ok(spawn()),
        ModeChoice::Auto => Ok(Mode::InProcess),
    }
}

/// Logs and prints a reason the service cannot run; exit code 1.
fn fatal(log: Option<&Log>, reason: &str) -> u8 {
    if let Some(log) = log {
        log.error(reason);
    }
    // Not inetd: stderr is the operator's terminal or the supervisor's log.
    let _ = writeln!(io::stderr(), "imapdsvc: {reason}");
    1
}

impl Service {
    fn serve(&mut self, listeners: &[(TcpListener, bool)], signals: &Signals, cli: &Cli) {
        loop {
            let mut fds: Vec<PollFd<'_>> = listeners
                .iter()
                .map(|(l, _)| PollFd::new(l, PollFlags::IN))
                .collect();
            fds.push(PollFd::new(&signals.wake, PollFlags::IN));
            // A periodic wake reaps children whose SIGCHLD coalesced with another.
            let timeout = inproc::timespec(Duration::from_secs(5));
            let ready = match poll(&mut fds, Some(&timeout)) {
                Ok(_) => fds.iter().map(|f| !f.revents().is_empty()).collect(),
                Err(_) => vec![false; fds.len()],
            };
            drop(fds);
            signals.drain();
            if signals.stop.load(Ordering::SeqCst) {
                return;
            }
            if signals.reload.swap(false, Ordering::SeqCst) {
                self.reload(cli);
            }
            if signals.child.swap(false, Ordering::SeqCst) || self.children.len() > 0 {
                self.children.reap();
            }
            for ((listener, tls), ready) in listeners.iter().zip(ready) {
                if ready {
                    self.accept_all(listener, *tls);
                }
            }
        }
    }

    fn log(&self) -> Option<&Log> {
        self.current.log.as_ref()
    }

    fn accept_all(&mut self, listener: &TcpListener, tls: bool) {
        loop {
            match listener.accept() {
                Ok((stream, peer)) => self.accept(stream, peer, tls),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if let Some(log) = self.log() {
                        log.error(format_args!("accept failed: {e}"));
                    }
                    // Out of descriptors, say: do not spin; the connection waits in the backlog.
                    std::thread::sleep(Duration::from_millis(100));
                    return;
                }
            }
        }
    }

    fn accept(&mut self, stream: TcpStream, peer: SocketAddr, tls: bool) {
        // Accepted sockets must block: the sessions' loops poll before they read.
        let _ = stream.set_nonblocking(false);
        let client = peer.ip().to_canonical();
        let generation = Arc::clone(&self.current);
        let config = &generation.config;
        let log = generation.log.as_ref();
        if !dmail_auth::policy::client_allowed(config, Some(client)) {
            if let Some(log) = log {
                log.info(format_args!(
                    "refused {}: not allowed by user_ip_address",
                    ip_text(client)
                ));
            }
            refuse(&stream, NOT_ALLOWED);
            return;
        }
        let slot = match self.counts.enter(
            client,
            config.imapd_max_connections,
            config.imapd_max_connections_per_ip,
        ) {
            Ok(slot) => slot,
            Err(why) => {
                if let Some(log) = log {
                    let (n, name) = match why {
                        Refusal::Total => (config.imapd_max_connections, "imapd_max_connections"),
                        Refusal::PerIp => (
                            config.imapd_max_connections_per_ip,
                            "imapd_max_connections_per_ip",
                        ),
                    };
                    log.info(format_args!(
                        "refused {}: {n} connections already ({name})",
                        ip_text(client)
                    ));
                }
                refuse(&stream, TOO_MANY);
                return;
            }
        };
        self.next_id += 1;
        let id = self.next_id;
        let local = stream.local_addr().ok().map(|a| a.ip().to_canonical());
        match &self.mode {
            Mode::Spawn { imapd } => {
                let slots = self.slots.as_ref().map(tempfile::TempDir::path);
                let started = self.children.start(
                    imapd,
                    self.config_path.as_std_path(),
                    slots,
                    stream,
                    tls,
                    slot,
                );
                if let Some(log) = log {
                    match started {
                        Ok(pid) => log.debug(format_args!(
                            "connection {id} from {}: imapd pid {pid}",
                            ip_text(client)
                        )),
                        Err(e) => log.error(format_args!(
                            "cannot start {} for {}: {e}",
                            imapd.display(),
                            ip_text(client)
                        )),
                    }
                }
            }
            Mode::InProcess => {
                let conn = Connection {
                    stream,
                    client,
                    local,
                    id,
                    generation: Arc::clone(&generation),
                    users: self.users.clone(),
                    stop: Arc::clone(&self.stop_rx),
                    slot,
                    implicit_tls: tls,
                };
                if let Err(e) = inproc::start(conn)
                    && let Some(log) = log
                {
                    log.error(format_args!("cannot start a session thread: {e}"));
                }
            }
        }
    }

    /// SIGHUP: the next connections use the new parse. Listening addresses, TLS files and the
    /// mode stay as they are until a restart.
    fn reload(&mut self, cli: &Cli) {
        let old = Arc::clone(&self.current);
        let loaded = imapd_bin::setup::load_config(&self.config_path, Platform::current());
        let config = match loaded {
            Ok((config, _)) => config,
            Err(reason) => {
                if let Some(log) = old.log.as_ref() {
                    log.error(format_args!(
                        "SIGHUP: keeping the old configuration: cannot read it: {reason}"
                    ));
                }
                return;
            }
        };
        if self.mode == Mode::InProcess && sessions_switch_user(&config) {
            if let Some(log) = old.log.as_ref() {
                log.error(
                    "SIGHUP: keeping the old configuration: sessions would switch user, which \
                     in-process mode cannot do; restart imapdsvc to serve them in spawn mode",
                );
            }
            return;
        }
        let generation = match Generation::load(&self.config_path, &self.mode) {
            Ok(g) => g,
            Err(reason) => {
                if let Some(log) = old.log.as_ref() {
                    log.error(format_args!(
                        "SIGHUP: keeping the old configuration: {reason}"
                    ));
                }
                return;
            }
        };
        let log = generation.log.clone().or_else(|| old.log.clone());
        if let Some(log) = &log {
            let mut restart = Vec::new();
            if addresses(cli, &generation.config) != self.cli_listen {
                restart.push("the listening addresses (dpop_host, imapd_tls_cert)");
            }
            if generation.config.imapd_tls_cert != old.config.imapd_tls_cert
                || generation.config.imapd_tls_key != old.config.imapd_tls_key
            {
                restart.push("the TLS files");
            }
            let mode_now = choose_mode(cli, &generation.config).ok();
            if self.choice == ModeChoice::Auto && mode_now.as_ref() != Some(&self.mode) {
                restart.push("the serving mode (authent_method, imapd_become_user)");
            }
            log.info("SIGHUP: configuration reloaded; new connections use it");
            if !restart.is_empty() {
                log.error(format_args!(
                    "SIGHUP: a restart is needed to change {}",
                    restart.join(" and ")
                ));
            }
        }
        if let Some(pool) = &old.pool {
            // Idle helpers of the old parse end now; checked-out ones end when returned.
            pool.shutdown();
        }
        self.current = Arc::new(generation);
    }

    /// Stops every connection: in-process sessions say BYE and close their mailboxes, spawned
    /// children get SIGTERM; waits at most [`STOP_DEADLINE`].
    fn stop(&mut self) {
        let deadline = Instant::now() + STOP_DEADLINE;
        if let Some(log) = self.log() {
            log.info(format_args!(
                "stopping: {} connections open",
                self.counts.total()
            ));
        }
        self.stop_tx = None;
        let killed = self.children.stop(deadline);
        while self.counts.total() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(log) = self.log() {
            let left = self.counts.total();
            if killed > 0 || left > 0 {
                log.error(format_args!(
                    "stopped with {killed} imapd children killed and {left} sessions unfinished"
                ));
            }
        }
        if let Some(pool) = &self.current.pool {
            pool.shutdown();
        }
    }
}

/// Tells a refused client why and closes; a client that does not read loses the message.
fn refuse(mut stream: &TcpStream, message: &[u8]) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let _ = stream.write_all(message);
    let _ = stream.shutdown(std::net::Shutdown::Both);
}
