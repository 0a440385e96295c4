//! The session's [`Backend`] in the inetd server: a login is `dmail_auth::policy::login`, then
//! the post-login steps of dmail-conventions §11 ([`imapd_bin::login::start_session`]), then the
//! user's mbox store; the log is `LOG_PATH/imapd.log`.
//!
//! This module owns the connection's authenticator (made at the first login attempt, §3a) and
//! its failure count ([`LoginGuard`]). It must never let a reason reach the client (reasons go
//! to the log; the client gets only a [`LoginFailureKind`]), never log a password, and never
//! serve a login whose post-login steps failed.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use dmail_auth::policy::{self, LoggedIn, LoginGuard};
use dmail_auth::{AuthError, Authenticator, Password};
use dmail_conf::Config;
use dmail_conf::values::{LogLevel as ConfLevel, UserQuota};
use dmail_store::layout::MailPaths;
use dmail_store::lock::{CLIENT_BUDGET, LockOptions};
use dmail_store::mbox::engine::MboxOptions;
use dmail_store::mbox::store::MboxStore;
use dmail_store::quota::{QuotaReport, QuotaStatus};
use imapd_bin::log::Log;
use imapd_bin::login::{ClientAnswer, start_session};
use imapd_proto::backend::{
    Account, Backend, LogLevel, LoginFailure, LoginFailureKind, QuotaSource,
};

/// The inetd server's view of the world for one connection.
pub(crate) struct ServerBackend {
    config: Config,
    log: Option<Log>,
    /// Made at the first login attempt; `None` before it.
    authenticator: Option<Box<dyn Authenticator + Send>>,
    guard: LoginGuard,
    client_ip: Option<IpAddr>,
    local_ip: Option<IpAddr>,
    /// This machine's host name, for bulletins and appended messages' `From ` lines.
    host: String,
}

impl ServerBackend {
    /// A backend for one connection from `client_ip` to `local_ip`.
    pub(crate) fn new(
        config: Config,
        log: Option<Log>,
        client_ip: Option<IpAddr>,
        local_ip: Option<IpAddr>,
    ) -> ServerBackend {
        ServerBackend {
            guard: LoginGuard::new(&config),
            config,
            log,
            authenticator: None,
            client_ip,
            local_ip,
            host: dmail_store::lock::hostname(),
        }
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
        if self.authenticator.is_none() {
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
        let Some(authenticator) = self.authenticator.as_deref_mut() else {
            return Err(Self::server_side(LoginFailureKind::Unavailable));
        };
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
        let started = start_session(
            &self.config,
            &logged_in,
            self.client_ip,
            authenticator,
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
        Ok(self.account(&logged_in, &start.paths))
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
