//! What the session asks of the world outside the protocol: checking a login and preparing the
//! user's mail, measuring quota, writing the log.
//!
//! The binary implements [`Backend`] with dmail-auth, dmail-store and its log file; tests and the
//! fuzz target implement it over an in-memory store. Nothing here may know about sockets or
//! argv, and a [`LoginFailure`] never carries a reason meant for the client (reasons go to the
//! log, through [`Backend::log`]).

use std::time::Duration;

use dmail_auth::Password;
use dmail_store::quota::QuotaReport;
use dmail_store::store::MailboxList;

/// How much a log line matters (the `log_level` setting chooses which are written).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Something failed that an administrator should look at.
    Error,
    /// Logins, logouts, mailbox opens: one line per event.
    Info,
    /// Every command (never with a password).
    Debug,
}

/// A logged-in user's mail, as the backend hands it to the session.
///
/// ```
/// use dmail_store::mem::MemoryStore;
/// use imapd_proto::backend::Account;
/// let account = Account { user: "bob".into(), store: MemoryStore::new(), quota: None };
/// assert_eq!(account.user, "bob");
/// ```
pub struct Account<S> {
    /// The user's system name, for the log.
    pub user: String,
    /// The user's mailboxes.
    pub store: S,
    /// Where usage and limit come from; `None` when quotas are off (`user_quota false`).
    pub quota: Option<Box<dyn QuotaSource>>,
}

impl<S> std::fmt::Debug for Account<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("user", &self.user)
            .field("quota", &self.quota.is_some())
            .finish_non_exhaustive()
    }
}

/// Measures a user's quota (dmail-conventions §7).
///
/// ```
/// use dmail_store::quota::QuotaReport;
/// use imapd_proto::backend::QuotaSource;
/// struct Fixed;
/// impl QuotaSource for Fixed {
///     fn measure(&self) -> Result<Option<QuotaReport>, String> {
///         Ok(Some(QuotaReport { used_kbytes: 10, limit_kbytes: 100 }))
///     }
/// }
/// assert_eq!(Fixed.measure().unwrap().unwrap().limit_kbytes, 100);
/// ```
pub trait QuotaSource {
    /// Usage and limit now; `Ok(None)` when the user has no limit. The error text is for the
    /// log and names no password.
    fn measure(&self) -> Result<Option<QuotaReport>, String>;
}

/// How a login attempt failed, as far as the client is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoginFailureKind {
    /// Wrong user name or password, or refused by policy (`valid_users`, `user_ip_address`):
    /// `NO [AUTHENTICATIONFAILED]`.
    Rejected,
    /// The password could not be checked (the authenticator did not answer):
    /// `NO [UNAVAILABLE]`.
    Unavailable,
    /// The user was accepted but their mail cannot be served (e.g. `use_maildir` without a
    /// maildir engine, a folder directory that cannot be made): `NO [UNAVAILABLE]`.
    Unserviceable,
    /// The process cannot go on (a failed user switch): `BYE`, then close.
    Fatal,
    /// The user already has as many sessions as the server allows
    /// (`imapd_max_connections_per_user` in imapdsvc): `NO [LIMIT]`.
    Limit,
}

/// A failed login: what the client is told, how long to wait first, and whether the
/// connection ends (`imapd_max_login_failures`).
///
/// ```
/// use std::time::Duration;
/// use imapd_proto::backend::{LoginFailure, LoginFailureKind};
/// let f = LoginFailure { kind: LoginFailureKind::Rejected, delay: Duration::from_secs(2), close: false };
/// assert_eq!(f.delay.as_secs(), 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LoginFailure {
    /// What kind of failure.
    pub kind: LoginFailureKind,
    /// How long to wait before answering (`imapd_login_delay`).
    pub delay: Duration,
    /// Whether to close the connection after answering.
    pub close: bool,
}

/// The session's view of the outside world.
///
/// ```
/// use dmail_auth::Password;
/// use dmail_store::mem::MemoryStore;
/// use imapd_proto::backend::{Account, Backend, LogLevel, LoginFailure};
/// struct OneUser;
/// impl Backend for OneUser {
///     type Store = MemoryStore;
///     fn login(&mut self, login: &[u8], _: Password) -> Result<Account<MemoryStore>, LoginFailure> {
///         Ok(Account { user: String::from_utf8_lossy(login).into_owned(), store: MemoryStore::new(), quota: None })
///     }
///     fn log(&mut self, _: LogLevel, _: &str) {}
/// }
/// assert!(OneUser.login(b"bob", Password::new(b"x".to_vec())).is_ok());
/// ```
pub trait Backend {
    /// The user's mailboxes.
    type Store: MailboxList;

    /// Checks a login and prepares the user's session (dmail-conventions §11 steps 1–5: the
    /// forward_user record, the folder directory, the end of the authenticator, the user
    /// switch, bulletins). `login` is exactly what the client sent.
    fn login(
        &mut self,
        login: &[u8],
        password: Password,
    ) -> Result<Account<Self::Store>, LoginFailure>;

    /// Writes one line to the server log. The session never passes a password here.
    fn log(&mut self, level: LogLevel, message: &str);

    /// Whether lines of `level` are written, so the session can skip building them.
    fn log_enabled(&self, level: LogLevel) -> bool {
        let _ = level;
        true
    }
}
