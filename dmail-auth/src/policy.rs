//! The login policy around any [`Authenticator`]: [`login`] resolves what the client typed
//! (dmail-conventions §3), applies `user_ip_address`, `valid_users` and `lowercase_password`
//! (§2), then asks the authenticator; [`LoginGuard`] counts a connection's failures
//! (`imapd_login_delay`, `imapd_max_login_failures`); [`for_config`] builds the authenticator
//! `authent_method` names.
//!
//! Sans-I/O: this module never sleeps, never closes connections and never logs. It returns the
//! delay and the verdict, and the protocol layer acts on them.

use std::net::IpAddr;
use std::time::Duration;

use dmail_conf::values::AuthentMethod;
use dmail_conf::{Config, Platform, ResolvedLogin, ip_text};

pub use crate::nt_user::NtUser;
use crate::{AuthError, Authenticated, Authenticator, Password};

/// A successful login: where the user's mail lives is decided from `resolved`, who they are
/// from `user`.
///
/// ```
/// # use dmail_auth::{policy, AuthError, Authenticated, Authenticator, Password, Source};
/// # use dmail_conf::{Config, Platform, ResolvedLogin};
/// # struct Anyone;
/// # impl Authenticator for Anyone {
/// #     fn authenticate(&mut self, _: &Config, l: &ResolvedLogin, _: &Password, _: Option<std::net::IpAddr>)
/// #         -> Result<Authenticated, AuthError> {
/// #         Ok(Authenticated { system_name: l.system_name.clone(), source: Source::External,
/// #             uid: None, gid: None, home: None, drop_file: None, quota_kbytes: None })
/// #     }
/// # }
/// let c = Config::defaults(Platform::Unix);
/// let ok = policy::login(&c, &mut Anyone, b"bob", &Password::new(b"pw".to_vec()), None, None).unwrap();
/// assert_eq!((ok.resolved.local.as_str(), ok.user.system_name.as_str()), ("bob", "bob"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedIn {
    /// The login after dmail-conventions §3 steps 1–4.
    pub resolved: ResolvedLogin,
    /// What the authenticator said.
    pub user: Authenticated,
}

/// Whether `user_ip_address` lets a client at `client_ip` in (§2): every pattern list is tried
/// against the canonical text of the address (IPv4-mapped IPv6 written as IPv4); no
/// `user_ip_address` at all lets everyone in. \[decided\] With patterns set and the address
/// unknown (e.g. stdin is not a socket), the client is refused: the rule fails closed.
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform};
/// use dmail_auth::policy::client_allowed;
/// let c = parse_str("user_ip_address 10.1.*\n", "c".into(), Program::Imapd, Platform::Unix).config;
/// assert!(client_allowed(&c, Some("::ffff:10.1.2.3".parse().unwrap())));
/// assert!(!client_allowed(&c, Some("10.2.0.1".parse().unwrap())));
/// assert!(!client_allowed(&c, None));
/// ```
pub fn client_allowed(config: &Config, client_ip: Option<IpAddr>) -> bool {
    if config.user_ip_address.is_empty() {
        return true;
    }
    let Some(ip) = client_ip else {
        return false;
    };
    let text = ip_text(ip);
    config.user_ip_address.iter().any(|l| l.matches(&text))
}

/// Whether `valid_users` lets `system_name` in (§2, §3 step 4): any pattern of any list
/// matching; no `valid_users` at all lets everyone in.
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform};
/// use dmail_auth::policy::user_allowed;
/// let c = parse_str("valid_users cc_*, bob\n", "c".into(), Program::Imapd, Platform::Unix).config;
/// assert!(user_allowed(&c, "cc_sales"));
/// assert!(!user_allowed(&c, "alice"));
/// ```
pub fn user_allowed(config: &Config, system_name: &str) -> bool {
    config.valid_users.is_empty() || config.valid_users.iter().any(|l| l.matches(system_name))
}

/// One login attempt under the config's policy, in this order: `user_ip_address` (client
/// address), resolution (`Config::resolve_login` with the local address), `valid_users` (system
/// name), `lowercase_password`, then the authenticator. Every refusal is
/// [`AuthError::Rejected`] with a reason for the log; the authenticator's own errors pass
/// through unchanged.
///
/// ```
/// use dmail_auth::{policy, AuthError, Authenticated, Authenticator, Password, Source};
/// use dmail_conf::{parse_str, Config, Program, Platform, ResolvedLogin};
/// struct Anyone;
/// impl Authenticator for Anyone {
///     fn authenticate(&mut self, _: &Config, l: &ResolvedLogin, _: &Password, _: Option<std::net::IpAddr>)
///         -> Result<Authenticated, AuthError> {
///         Ok(Authenticated { system_name: l.system_name.clone(), source: Source::External,
///             uid: None, gid: None, home: None, drop_file: None, quota_kbytes: None })
///     }
/// }
/// let c = parse_str("valid_users bob\n", "c".into(), Program::Imapd, Platform::Unix).config;
/// let pw = Password::new(b"pw".to_vec());
/// assert!(policy::login(&c, &mut Anyone, b"bob", &pw, None, None).is_ok());
/// assert!(matches!(policy::login(&c, &mut Anyone, b"eve", &pw, None, None), Err(AuthError::Rejected(_))));
/// ```
pub fn login(
    config: &Config,
    authenticator: &mut dyn Authenticator,
    login: &[u8],
    password: &Password,
    client_ip: Option<IpAddr>,
    local_ip: Option<IpAddr>,
) -> Result<LoggedIn, AuthError> {
    if !client_allowed(config, client_ip) {
        let shown = client_ip.map_or_else(|| "unknown".to_owned(), ip_text);
        return Err(AuthError::Rejected(format!(
            "client address {shown} is not allowed by user_ip_address"
        )));
    }
    let resolved = config
        .resolve_login(login, local_ip)
        .map_err(|e| AuthError::Rejected(e.to_string()))?;
    if !user_allowed(config, &resolved.system_name) {
        return Err(AuthError::Rejected(format!(
            "{} is not allowed by valid_users",
            resolved.system_name
        )));
    }
    let lowered;
    let password = if config.lowercase_password {
        lowered = password.to_ascii_lowercase();
        &lowered
    } else {
        password
    };
    let user = authenticator.authenticate(config, &resolved, password, client_ip)?;
    Ok(LoggedIn { resolved, user })
}

/// What the protocol layer must do after a failed login.
///
/// ```
/// use dmail_conf::{Config, Platform};
/// let mut g = dmail_auth::policy::LoginGuard::new(&Config::defaults(Platform::Unix));
/// let after = g.failed(&dmail_auth::AuthError::Rejected("wrong password".into()));
/// assert_eq!(after, dmail_auth::policy::AfterFailure { delay: std::time::Duration::from_secs(2), close: false });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AfterFailure {
    /// Wait this long before answering (`imapd_login_delay`).
    pub delay: Duration,
    /// Close the connection (BYE) after answering: the failure limit is reached.
    pub close: bool,
}

/// A connection's login failures: `imapd_login_delay` after each failure, and the connection
/// closed after `imapd_max_login_failures` of them (§2). Sans-I/O: the caller sleeps and closes.
///
/// \[decided\] Only rejections count towards the limit; an [`AuthError::Unavailable`] (the
/// authenticator could not answer) is delayed like a failure but not counted, since it is not
/// the client's fault. `imapd_max_login_failures 0` means no limit.
///
/// ```
/// use dmail_auth::{policy::LoginGuard, AuthError};
/// use dmail_conf::{parse_str, Program, Platform};
/// let c = parse_str("imapd_max_login_failures 2\n", "c".into(), Program::Imapd, Platform::Unix).config;
/// let mut g = LoginGuard::new(&c);
/// let no = AuthError::Rejected("wrong password".into());
/// assert!(!g.failed(&no).close);
/// assert!(g.failed(&no).close);
/// assert_eq!(g.failed(&no).delay.as_secs(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginGuard {
    failures: u32,
    max_failures: u32,
    delay: Duration,
}

impl LoginGuard {
    /// A guard for a new connection, with the config's delay and limit.
    ///
    /// ```
    /// use dmail_conf::{Config, Platform};
    /// let g = dmail_auth::policy::LoginGuard::new(&Config::defaults(Platform::Unix));
    /// assert_eq!(g.failures(), 0);
    /// ```
    pub fn new(config: &Config) -> LoginGuard {
        LoginGuard {
            failures: 0,
            max_failures: config.imapd_max_login_failures,
            delay: Duration::from_secs(config.imapd_login_delay.0),
        }
    }

    /// Records a failed login and says how long to wait and whether to close.
    ///
    /// ```
    /// use dmail_conf::{Config, Platform};
    /// let mut g = dmail_auth::policy::LoginGuard::new(&Config::defaults(Platform::Unix));
    /// let a = g.failed(&dmail_auth::AuthError::Unavailable("timeout".into()));
    /// assert_eq!((a.delay.as_secs(), a.close, g.failures()), (2, false, 0));
    /// ```
    pub fn failed(&mut self, error: &AuthError) -> AfterFailure {
        if matches!(error, AuthError::Rejected(_)) {
            self.failures = self.failures.saturating_add(1);
        }
        AfterFailure {
            delay: self.delay,
            close: self.limit_reached(),
        }
    }

    /// Whether the connection has used up its failures (it should be closed; a further login
    /// must not be attempted).
    ///
    /// ```
    /// use dmail_conf::{Config, Platform};
    /// assert!(!dmail_auth::policy::LoginGuard::new(&Config::defaults(Platform::Unix)).limit_reached());
    /// ```
    pub fn limit_reached(&self) -> bool {
        self.max_failures != 0 && self.failures >= self.max_failures
    }

    /// Failed logins counted so far.
    ///
    /// ```
    /// use dmail_conf::{Config, Platform};
    /// assert_eq!(dmail_auth::policy::LoginGuard::new(&Config::defaults(Platform::Unix)).failures(), 0);
    /// ```
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// Why `method` cannot be used on `platform` in this project, or `None` when it can: `nt_user`
/// exists only on Windows; `unix_user` (crypt(3), passwd and shadow) only on Unix; and
/// \[decided\] `external` only on Unix too, because the child's pipes are driven by poll(2) and
/// non-blocking writes, which have no Windows counterpart here. Every refusal is
/// [`AuthError::Unavailable`], a configuration error rather than a failed login.
///
/// ```
/// use dmail_auth::policy::unsupported;
/// use dmail_conf::{Platform, values::AuthentMethod};
/// assert!(unsupported(AuthentMethod::UnixUser, Platform::Unix).is_none());
/// assert!(unsupported(AuthentMethod::NtUser, Platform::Unix).is_some());
/// assert!(unsupported(AuthentMethod::NtUser, Platform::Nt).is_none());
/// assert!(unsupported(AuthentMethod::UnixUser, Platform::Nt).is_some());
/// assert!(unsupported(AuthentMethod::External, Platform::Nt).is_some());
/// ```
pub fn unsupported(method: AuthentMethod, platform: Platform) -> Option<AuthError> {
    let why = match (method, platform) {
        (AuthentMethod::NtUser, Platform::Unix) => crate::nt_user::NOT_ON_UNIX,
        (AuthentMethod::UnixUser, Platform::Nt) => {
            "authent_method unix_user works only on Unix; use nt_user on Windows"
        }
        (AuthentMethod::External, Platform::Nt) => {
            "authent_method external is not available in the Windows build (its child-process \
             handling is Unix-only); use nt_user on Windows"
        }
        _ => return None,
    };
    Some(AuthError::Unavailable(why.to_owned()))
}

/// The authenticator `authent_method` names: on Unix [`crate::UnixUser`] for `unix_user` and the
/// external authenticator (`External`, its child started at first use) for `external`; on
/// Windows [`NtUser`] for `nt_user`. Every other pair is the error [`unsupported`] gives.
///
/// ```
/// use dmail_conf::{Config, Platform, values::AuthentMethod};
/// let mut c = Config::defaults(Platform::Unix);
/// assert_eq!(dmail_auth::policy::for_config(&c).is_ok(), cfg!(unix));
/// c.authent_method = AuthentMethod::NtUser;
/// assert_eq!(dmail_auth::policy::for_config(&c).is_ok(), cfg!(windows));
/// ```
pub fn for_config(config: &Config) -> Result<Box<dyn Authenticator + Send>, AuthError> {
    if let Some(e) = unsupported(config.authent_method, Platform::current()) {
        return Err(e);
    }
    match config.authent_method {
        AuthentMethod::NtUser => Ok(Box::new(NtUser::new()?)),
        #[cfg(unix)]
        AuthentMethod::UnixUser => Ok(Box::new(crate::UnixUser::new())),
        #[cfg(unix)]
        AuthentMethod::External => Ok(Box::new(crate::External::from_config(config)?)),
        #[cfg(not(unix))]
        other => Err(AuthError::Unavailable(format!(
            "authent_method {other:?} is not available in this build"
        ))),
    }
}
