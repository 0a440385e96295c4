//! The session's [`Backend`] of both servers (inetd `imapd` and imapdsvc's in-process
//! sessions): a login is `dmail_auth::policy::login`, then the post-login steps of
//! dmail-conventions §11 ([`crate::login::start_session`]), then the user's mbox store; the log
//! is the server's DMail log.
//!
//! This module owns the connection's authenticator (its own, made at the first login attempt,
//! or one checked out of imapdsvc's shared [`Pool`] for the length of a login, §3a), its failure
//! count ([`LoginGuard`]) and, in imapdsvc, its place in the per-user session count
//! ([`UserSessions`]). It must never let a reason reach the client (reasons go to the log; the
//! client gets only a [`LoginFailureKind`]), never log a password, and never serve a login whose
//! post-login steps failed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::log::Log;
use crate::login::{ClientAnswer, start_session};
use dmail_auth::policy::{self, LoggedIn, LoginGuard};
use dmail_auth::{AuthError, Authenticated, Authenticator, Password, Pool};
use dmail_conf::Config;
use dmail_conf::values::{LogLevel as ConfLevel, UserQuota};
use dmail_store::layout::MailPaths;
use dmail_store::lock::{CLIENT_BUDGET, LockOptions};
use dmail_store::mbox::engine::MboxOptions;
use dmail_store::mbox::store::MboxStore;
use dmail_store::quota::{QuotaReport, QuotaStatus};
use imapd_proto::backend::{
    Account, Backend, LogLevel, LoginFailure, LoginFailureKind, QuotaSource,
};

/// The server's view of the world for one connection.
///
/// ```
/// use dmail_conf::{Config, Platform};
/// use imapd_bin::backend::ServerBackend;
/// use imapd_proto::session::{Options, Session};
/// let backend = ServerBackend::new(Config::defaults(Platform::Unix), None, None, None);
/// let _session = Session::new(backend, Options::default(), std::time::Instant::now());
/// ```
pub struct ServerBackend {
    /// Shared: imapdsvc hands every session of one parse the same copy.
    config: Arc<Config>,
    log: Option<Log>,
    /// Made at the first login attempt; `None` before it (and always, with a pool).
    authenticator: Option<Box<dyn Authenticator + Send>>,
    /// imapdsvc's shared external authenticators, used instead of a connection's own.
    pool: Option<Arc<Pool>>,
    /// imapdsvc's per-user session count, and this session's place in it once logged in.
    users: Option<UserSessions>,
    user_slot: Option<UserSlot>,
    guard: LoginGuard,
    client_ip: Option<IpAddr>,
    local_ip: Option<IpAddr>,
    /// This machine's host name, for bulletins and appended messages' `From ` lines.
    host: String,
}

impl ServerBackend {
    /// A backend for one connection from `client_ip` to `local_ip`, logging to `log`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use dmail_conf::{Config, Platform};
    /// let config = Arc::new(Config::defaults(Platform::Unix));
    /// let client = Some("192.0.2.1".parse().unwrap());
    /// let _b = imapd_bin::backend::ServerBackend::new(config, None, client, None);
    /// ```
    pub fn new(
        config: impl Into<Arc<Config>>,
        log: Option<Log>,
        client_ip: Option<IpAddr>,
        local_ip: Option<IpAddr>,
    ) -> ServerBackend {
        let config = config.into();
        ServerBackend {
            guard: LoginGuard::new(&config),
            config,
            log,
            authenticator: None,
            pool: None,
            users: None,
            user_slot: None,
            client_ip,
            local_ip,
            host: dmail_store::lock::hostname(),
        }
    }

    /// Checks passwords with `pool`'s authenticators instead of starting one for this
    /// connection (imapdsvc with `authent_method external`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use dmail_conf::{parse_str, Platform, Program};
    /// use imapd_bin::backend::ServerBackend;
    /// let c = parse_str("authent_method external\nauthent_process /bin/cat\n", "c".into(),
    ///     Program::Imapd, Platform::Unix).config;
    /// let pool = Arc::new(dmail_auth::Pool::from_config(&c).unwrap());
    /// let _b = ServerBackend::new(c, None, None, None).with_pool(pool);
    /// ```
    #[must_use]
    pub fn with_pool(mut self, pool: Arc<Pool>) -> ServerBackend {
        self.pool = Some(pool);
        self
    }

    /// Counts this session's login in `users`, and refuses it (`NO [LIMIT]`) when the user
    /// already has `imapd_max_connections_per_user` sessions.
    ///
    /// ```
    /// use dmail_conf::{Config, Platform};
    /// use imapd_bin::backend::{ServerBackend, UserSessions};
    /// let users = UserSessions::default();
    /// let _b = ServerBackend::new(Config::defaults(Platform::Unix), None, None, None)
    ///     .with_user_sessions(users.clone());
    /// assert_eq!(users.count("alice"), 0);
    /// ```
    #[must_use]
    pub fn with_user_sessions(mut self, users: UserSessions) -> ServerBackend {
        self.users = Some(users);
        self
    }

    /// A failure the server caused (not the client): answered without the login delay, and
    /// not counted towards `imapd_max_login_failures`.
    fn server_side(kind: LoginFailureKind) -> LoginFailure {
        LoginFailure {
            kind,
            delay: Duration::ZERO,
            close: kind == LoginFailureKind::Fatal,
        }
    }

    /// The user's store and quota after the post-login steps succeeded.
    fn account(&self, logged_in: &LoggedIn, paths: &MailPaths) -> Account<MboxStore> {
        let user = &logged_in.user;
        let options = MboxOptions {
            lock: LockOptions::from_config(&self.config, CLIENT_BUDGET),
            ..MboxOptions::new(&user.system_name, &self.host)
        };
        let store = MboxStore::from_paths(paths, self.config.platform, options);
        let quota = (self.config.user_quota != UserQuota::Off).then(|| {
            Box::new(Quota {
                setting: self.config.user_quota,
                authenticator: user.quota_kbytes,
                paths: paths.clone(),
            }) as Box<dyn QuotaSource>
        });
        Account {
            user: user.system_name.clone(),
            store,
            quota,
        }
    }
}

impl Backend for ServerBackend {
    type Store = MboxStore;

    fn login(
        &mut self,
        login: &[u8],
        password: Password,
    ) -> Result<Account<MboxStore>, LoginFailure> {
        let shown = String::from_utf8_lossy(login).into_owned();
        let pool = self.pool.clone();
        let mut checkout = match &pool {
            Some(pool) => match pool.checkout() {
                Ok(c) => Some(c),
                Err(e) => {
                    write_log(
                        &self.log,
                        LogLevel::Error,
                        format_args!("login {shown:?}: {e}"),
                    );
                    return Err(Self::server_side(LoginFailureKind::Unavailable));
                }
            },
            None => None,
        };
        if checkout.is_none() && self.authenticator.is_none() {
            match policy::for_config(&self.config) {
                Ok(a) => self.authenticator = Some(a),
                Err(e) => {
                    write_log(
                        &self.log,
                        LogLevel::Error,
                        format_args!("login {shown:?}: no authenticator: {e}"),
                    );
                    return Err(Self::server_side(LoginFailureKind::Unavailable));
                }
            }
        }
        let mut own = self.authenticator.take();
        let result = match (checkout.as_deref_mut(), own.as_deref_mut()) {
            (Some(pooled), _) => self.login_with(pooled, true, login, password),
            (None, Some(own)) => self.login_with(own, false, login, password),
            (None, None) => Err(Self::server_side(LoginFailureKind::Unavailable)),
        };
        self.authenticator = own;
        result
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        write_log(&self.log, level, message);
    }

    fn log_enabled(&self, level: LogLevel) -> bool {
        self.log
            .as_ref()
            .is_some_and(|log| log.enabled(conf_level(level)))
    }
}

impl ServerBackend {
    /// A login checked by `authenticator`; `pooled` when it serves other sessions afterwards
    /// (so the post-login steps must not end its helper).
    fn login_with(
        &mut self,
        authenticator: &mut dyn Authenticator,
        pooled: bool,
        login: &[u8],
        password: Password,
    ) -> Result<Account<MboxStore>, LoginFailure> {
        let shown = String::from_utf8_lossy(login).into_owned();
        let outcome = policy::login(
            &self.config,
            authenticator,
            login,
            &password,
            self.client_ip,
            self.local_ip,
        );
        drop(password);
        let logged_in = match outcome {
            Ok(l) => l,
            Err(e) => {
                let after = self.guard.failed(&e);
                let kind = match e {
                    AuthError::Rejected(_) => LoginFailureKind::Rejected,
                    AuthError::Unavailable(_) => LoginFailureKind::Unavailable,
                };
                let level = match kind {
                    LoginFailureKind::Rejected => LogLevel::Info,
                    _ => LogLevel::Error,
                };
                write_log(
                    &self.log,
                    level,
                    format_args!("login {shown:?} refused: {e}"),
                );
                return Err(LoginFailure {
                    kind,
                    delay: after.delay,
                    close: after.close,
                });
            }
        };
        let name = logged_in.user.system_name.clone();
        if self.config.use_maildir {
            write_log(
                &self.log,
                LogLevel::Error,
                format_args!(
                    "login {name}: use_maildir is true, but maildir storage is not built into \
                     this imapd"
                ),
            );
            return Err(Self::server_side(LoginFailureKind::Unserviceable));
        }
        let slot = match &self.users {
            Some(users) => match users.enter(&name, self.config.imapd_max_connections_per_user) {
                Some(slot) => Some(slot),
                None => {
                    write_log(
                        &self.log,
                        LogLevel::Info,
                        format_args!(
                            "login {name} refused: already {} sessions \
                             (imapd_max_connections_per_user)",
                            self.config.imapd_max_connections_per_user
                        ),
                    );
                    return Err(Self::server_side(LoginFailureKind::Limit));
                }
            },
            None => None,
        };
        let mut nothing_to_end = SharedHelper;
        let ender: &mut dyn Authenticator = if pooled {
            &mut nothing_to_end
        } else {
            authenticator
        };
        let started = start_session(
            &self.config,
            &logged_in,
            self.client_ip,
            ender,
            &self.host,
            SystemTime::now(),
        );
        let start = match started {
            Ok(s) => s,
            Err(e) => {
                write_log(
                    &self.log,
                    LogLevel::Error,
                    format_args!("login {name}: {e}"),
                );
                // The password was right: the server cannot serve this user, whatever
                // `answer` says, and the client is told so rather than "wrong password".
                let kind = if e.closes_connection() {
                    LoginFailureKind::Fatal
                } else {
                    match e.answer() {
                        ClientAnswer::Unavailable | ClientAnswer::LoginFailed => {
                            LoginFailureKind::Unserviceable
                        }
                    }
                };
                return Err(Self::server_side(kind));
            }
        };
        write_log(
            &self.log,
            LogLevel::Debug,
            format_args!(
                "login {name}: drop file {}, folders {}, switched {}, folder directory created \
                 {}, forward_user recorded {}",
                start.paths.drop_file.as_path(),
                start.paths.folder_dir,
                start.switched,
                start.folder_dir_created,
                start.forward_recorded
            ),
        );
        if let Some(report) = &start.bulletins {
            write_log(
                &self.log,
                LogLevel::Info,
                format_args!("login {name}: bulletins {report:?}"),
            );
        }
        self.user_slot = slot;
        Ok(self.account(&logged_in, &start.paths))
    }
}

/// The post-login steps' authenticator when the real one is pooled: there is no helper of this
/// session's to end, and it is never asked to check a password.
struct SharedHelper;

impl Authenticator for SharedHelper {
    fn authenticate(
        &mut self,
        _: &Config,
        _: &dmail_conf::ResolvedLogin,
        _: &Password,
        _: Option<IpAddr>,
    ) -> Result<Authenticated, AuthError> {
        Err(AuthError::Unavailable(
            "no authenticator of this session's".to_owned(),
        ))
    }
}

/// How many sessions each user has logged in (`imapd_max_connections_per_user`), shared by
/// imapdsvc's in-process sessions (a count in memory; cloning shares it) or by the `imapd`
/// processes imapdsvc spawns ([`UserSessions::in_directory`]: one lock file per session slot,
/// so the count is kept by the kernel and a process that dies frees its slot).
///
/// ```
/// use imapd_bin::backend::UserSessions;
/// let users = UserSessions::default();
/// let a = users.enter("bob", 1).unwrap();
/// assert!(users.enter("bob", 1).is_none());
/// drop(a);
/// assert_eq!(users.count("bob"), 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct UserSessions {
    counts: Arc<Mutex<HashMap<String, u32>>>,
    /// Slot files instead of the in-memory count.
    directory: Option<std::path::PathBuf>,
}

impl UserSessions {
    /// Sessions counted across processes: a session of `user` holds an exclusive `flock` on
    /// one of the files `DIR/USER.0` … `DIR/USER.(limit-1)` until it ends. `DIR` must be
    /// private to the service (imapdsvc makes it, mode 0700); the slot is taken before a user
    /// switch and held after it, since a lock belongs to the open file.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let users = imapd_bin::backend::UserSessions::in_directory(dir.path().to_path_buf());
    /// let a = users.enter("bob", 1).unwrap();
    /// assert!(users.enter("bob", 1).is_none());
    /// drop(a);
    /// assert!(users.enter("bob", 1).is_some());
    /// ```
    pub fn in_directory(directory: std::path::PathBuf) -> UserSessions {
        UserSessions {
            counts: Arc::default(),
            directory: Some(directory),
        }
    }

    /// Counts one more session of `user`, unless it already has `limit`; the session is
    /// counted until the returned slot is dropped.
    ///
    /// ```
    /// let users = imapd_bin::backend::UserSessions::default();
    /// assert!(users.enter("bob", 0).is_none());
    /// ```
    pub fn enter(&self, user: &str, limit: u32) -> Option<UserSlot> {
        if let Some(dir) = &self.directory {
            return Self::enter_file(dir, user, limit);
        }
        let mut counts = self.lock();
        let n = counts.entry(user.to_owned()).or_insert(0);
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(UserSlot {
            held: Held::Count {
                users: self.clone(),
                user: user.to_owned(),
            },
        })
    }

    /// A free slot file of `user` in `dir`, locked; `None` when all `limit` are held (or
    /// cannot be made: a limit that cannot be checked refuses rather than lets everyone in).
    fn enter_file(dir: &std::path::Path, user: &str, limit: u32) -> Option<UserSlot> {
        use std::os::unix::fs::OpenOptionsExt;
        // The system name may hold characters a file name cannot: every byte outside
        // [A-Za-z0-9._-] is written %XX, so two users never share a slot file.
        let mut name = String::new();
        for b in user.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') && !name.is_empty() {
                name.push(char::from(b));
            } else {
                name.push_str(&format!("%{b:02X}"));
            }
        }
        for i in 0..limit {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                .open(dir.join(format!("{name}.{i}")))
                .ok()?;
            if file.try_lock().is_ok() {
                return Some(UserSlot {
                    held: Held::File(file),
                });
            }
        }
        None
    }

    /// How many sessions `user` has now (the in-memory count; slot files are not counted).
    ///
    /// ```
    /// let users = imapd_bin::backend::UserSessions::default();
    /// let _slot = users.enter("bob", 10);
    /// assert_eq!(users.count("bob"), 1);
    /// ```
    pub fn count(&self, user: &str) -> u32 {
        self.lock().get(user).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        // A panicking session thread must not stop every later login.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One counted session of a user ([`UserSessions::enter`]); dropping it uncounts it.
///
/// ```
/// let users = imapd_bin::backend::UserSessions::default();
/// let slot = users.enter("bob", 10);
/// assert_eq!(users.count("bob"), 1);
/// drop(slot);
/// ```
#[derive(Debug)]
pub struct UserSlot {
    held: Held,
}

/// What a slot holds: a place in the in-memory count, or a locked slot file (unlocked when
/// it is closed).
#[derive(Debug)]
enum Held {
    Count { users: UserSessions, user: String },
    File(#[allow(dead_code)] std::fs::File),
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        let Held::Count { users, user } = &self.held else {
            return;
        };
        let mut counts = users.lock();
        if let Some(n) = counts.get_mut(user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(user);
            }
        }
    }
}

/// Writes to the log, if there is one. A free function, so that it can be called while the
/// authenticator field is borrowed.
fn write_log(log: &Option<Log>, level: LogLevel, message: impl std::fmt::Display) {
    if let Some(log) = log {
        log.log(conf_level(level), message);
    }
}

/// The log's level for a session level.
fn conf_level(level: LogLevel) -> ConfLevel {
    match level {
        LogLevel::Error => ConfLevel::Error,
        LogLevel::Info => ConfLevel::Info,
        LogLevel::Debug => ConfLevel::Debug,
    }
}

/// A user's quota, measured afresh each time it is asked for (other sessions and deliveries
/// change the usage).
struct Quota {
    setting: UserQuota,
    /// The external authenticator's `quota="KBYTES"`.
    authenticator: Option<u64>,
    paths: MailPaths,
}

impl QuotaSource for Quota {
    fn measure(&self) -> Result<Option<QuotaReport>, String> {
        QuotaStatus::measure(self.setting, self.authenticator, &self.paths)
            .map(|status| status.report())
            .map_err(|e| e.to_string())
    }
}
