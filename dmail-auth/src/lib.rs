//! `dmail-auth` decides who may log in to a DMail server: the [`Authenticator`] trait and its
//! implementations (the system's users, `vdomain_passwd` files, the external `authent_process`,
//! Windows accounts),
//! the login policy around them, forward_user records, and SASL helpers.
//!
//! Login *resolution* (from what a user typed to a system name and domain) is
//! `dmail_conf::Config::resolve_login`, shared with dmail-store. This crate never touches
//! mailboxes, and never prints, logs or keeps a password longer than a login takes.
#![deny(unsafe_code)]

// The Unix-only parts (crypt(3) and the passwd/shadow databases, the user switch, the external
// authenticator's poll(2)-driven pipes, the forward_user files) are cfg(unix); on Windows,
// `authent_method unix_user` and `external` are configuration errors (`policy::for_config`).
// Each build compiles exactly one unsafe module: `sys` on Unix, `sys_windows` on Windows.
#[cfg(unix)]
pub mod become_user;
#[cfg(unix)]
pub mod external;
#[cfg(unix)]
pub mod forward;
pub mod hash;
pub mod nt_user;
pub mod policy;
pub mod sasl;
#[cfg(unix)]
#[allow(unsafe_code)]
pub mod sys;
#[cfg(windows)]
#[allow(unsafe_code)]
mod sys_windows;
#[cfg(unix)]
pub mod unix_user;
pub mod vdomain_passwd;

#[cfg(unix)]
pub use external::{External, Pool};
pub use nt_user::NtUser;
pub use policy::{LoggedIn, LoginGuard, for_config, login};
#[cfg(unix)]
pub use unix_user::UnixUser;

use std::fmt;
use std::net::IpAddr;

use camino::Utf8PathBuf;
use dmail_conf::{Config, ResolvedLogin};

/// A password as typed: zeroed when dropped, never shown by `Debug`.
///
/// ```
/// use dmail_auth::Password;
/// let p = Password::new(b"secret".to_vec());
/// assert_eq!(format!("{p:?}"), "Password(..)");
/// assert_eq!(p.expose(), b"secret");
/// ```
pub struct Password(zeroize::Zeroizing<Vec<u8>>);

impl Password {
    /// Wraps password bytes.
    pub fn new(bytes: Vec<u8>) -> Password {
        Password(zeroize::Zeroizing::new(bytes))
    }
    /// The bytes, for the one place that checks them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    /// The ASCII-lower-cased password (`lowercase_password`).
    pub fn to_ascii_lowercase(&self) -> Password {
        Password::new(self.0.to_ascii_lowercase())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// Where a successful login's identity came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The system's user database (unix_user).
    SystemPasswd,
    /// A virtual domain's `vdomain_passwd` file.
    VdomainPasswd,
    /// The external authenticator.
    External,
    /// Windows accounts.
    NtUser,
}

/// A successful login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    /// The user's system name (dmail-conventions §3 step 4).
    pub system_name: String,
    /// Where the identity came from.
    pub source: Source,
    /// The numeric user id (passwd uid, or the external reply's UID field).
    pub uid: Option<u32>,
    /// The numeric group id (passwd sources only).
    pub gid: Option<u32>,
    /// The home directory (passwd sources only).
    pub home: Option<Utf8PathBuf>,
    /// An absolute drop file named by the external authenticator (used as it is).
    pub drop_file: Option<Utf8PathBuf>,
    /// A quota from the external authenticator's `quota="KBYTES"`.
    pub quota_kbytes: Option<u64>,
}

/// Why a login did not succeed. The reason is for the log and the administrator, never for the
/// client.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Wrong password, unknown user, refused by policy: the login failed.
    #[error("{0}")]
    Rejected(String),
    /// The authenticator could not answer (timeout, `-DEAD`, a dead child): try again later.
    #[error("{0}")]
    Unavailable(String),
}

/// A source of passwords.
pub trait Authenticator {
    /// Checks a resolved login's password. `client_ip` is the client's address, when known.
    fn authenticate(
        &mut self,
        config: &Config,
        login: &ResolvedLogin,
        password: &Password,
        client_ip: Option<IpAddr>,
    ) -> Result<Authenticated, AuthError>;

    /// Ends any helper process this authenticator started, before the process switches user
    /// (dmail-conventions §3a, §11 step 3): the external authenticator sends `exit`, waits
    /// 1 s, then kills and reaps its child ([`External::shutdown`]). Authenticators without a
    /// helper do nothing, which is the default. A later login may start a new helper.
    fn shutdown(&mut self) {}
}
