//! Which [`Authenticator`] a configuration asks for (`authent_method`).
//!
//! This module only chooses and constructs; it must never check a password itself. Methods not
//! built into this crate yet are `Unavailable`, never a silent fallback to another method.

use dmail_conf::Config;
use dmail_conf::values::AuthentMethod;

use crate::{AuthError, Authenticator, External};

/// The authenticator for `config.authent_method`: an [`External`] for `external` (its child is
/// started at first use). `unix_user` and `nt_user` are not built into this branch yet:
/// `Unavailable`, saying so.
///
/// ```
/// use dmail_auth::{authenticator_for, AuthError};
/// use dmail_conf::{parse_str, Program, Platform};
/// let c = parse_str("authent_method external\nauthent_process /usr/local/dmail/nwauth\n",
///     "c".into(), Program::Imapd, Platform::Unix).config;
/// assert!(authenticator_for(&c).is_ok());
/// let c = parse_str("authent_method external\n", "c".into(), Program::Imapd, Platform::Unix).config;
/// assert!(matches!(authenticator_for(&c), Err(AuthError::Unavailable(_))));
/// ```
pub fn authenticator_for(config: &Config) -> Result<Box<dyn Authenticator>, AuthError> {
    match config.authent_method {
        AuthentMethod::External => Ok(Box::new(External::from_config(config)?)),
        AuthentMethod::UnixUser => Err(AuthError::Unavailable(
            "authent_method unix_user is not built into this branch".to_owned(),
        )),
        AuthentMethod::NtUser => Err(AuthError::Unavailable(
            "authent_method nt_user is not built into this branch".to_owned(),
        )),
    }
}
