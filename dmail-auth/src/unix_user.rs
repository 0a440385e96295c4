//! `authent_method unix_user`: the [`UnixUser`] authenticator. A main-domain login, or a
//! virtual-domain login without a `vdomain_passwd` file, is looked up by its system name
//! (dmail-conventions §3 step 4) in the system's passwd database, with the hash from shadow when
//! passwd says `x`; a virtual domain with a `vdomain_passwd` file uses
//! [`crate::vdomain_passwd`] instead, and never the system database.
//!
//! This module decides which accounts may log in (locked, disabled, expired); it must never
//! switch user, touch mailboxes, or tell a client why a login failed (the reasons are for the
//! log).

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use camino::Utf8PathBuf;
use dmail_conf::{Config, ResolvedLogin};

use crate::hash;
use crate::sys::{self, ShadowEntry};
use crate::{AuthError, Authenticated, Authenticator, Password, Source, vdomain_passwd};

/// The system's users (and `vdomain_passwd` files), as `authent_method unix_user` asks.
///
/// ```no_run
/// use dmail_auth::{Authenticator, Password, unix_user::UnixUser};
/// use dmail_conf::{Config, Platform};
/// let config = Config::defaults(Platform::Unix);
/// let login = config.resolve_login(b"bob", None).unwrap();
/// let who = UnixUser::new().authenticate(&config, &login, &Password::new(b"pw".to_vec()), None);
/// ```
#[derive(Clone, Debug, Default)]
pub struct UnixUser {
    /// The day (since 1970-01-01 UTC) used for account expiry; `None`: today.
    today: Option<i64>,
}

impl UnixUser {
    /// An authenticator that judges expiry by the system clock.
    ///
    /// ```
    /// let _ = dmail_auth::unix_user::UnixUser::new();
    /// ```
    pub fn new() -> UnixUser {
        UnixUser { today: None }
    }

    /// An authenticator that takes `day` (days since 1970-01-01 UTC) as today, for tests.
    ///
    /// ```
    /// let _ = dmail_auth::unix_user::UnixUser::with_today(20_000);
    /// ```
    pub fn with_today(day: i64) -> UnixUser {
        UnixUser { today: Some(day) }
    }

    fn today(&self) -> i64 {
        self.today
            .unwrap_or_else(|| days_since_epoch(SystemTime::now()))
    }

    /// The system database path: passwd, then shadow when passwd says `x`.
    fn system(&self, system_name: &str, password: &Password) -> Result<Authenticated, AuthError> {
        let entry = sys::getpwnam(system_name)
            .map_err(|e| AuthError::Unavailable(format!("passwd lookup failed: {e}")))?;
        let Some(entry) = entry else {
            equalize_timing(password);
            return Err(AuthError::Rejected("no such user".to_owned()));
        };
        let shadow;
        let hash: &str = if entry.passwd.as_str() == "x" {
            shadow = sys::getspnam(system_name)
                .map_err(|e| AuthError::Unavailable(format!("cannot read shadow: {e}")))?
                .ok_or_else(|| AuthError::Rejected("passwd says x but no shadow entry".into()))?;
            if account_expired(&shadow, self.today()) {
                return Err(AuthError::Rejected("account expired".to_owned()));
            }
            &shadow.hash
        } else {
            &entry.passwd
        };
        if let Some(reason) = hash::classify(hash).reason() {
            return Err(AuthError::Rejected(reason.to_owned()));
        }
        if !hash::verify(password, hash) {
            return Err(AuthError::Rejected("wrong password".to_owned()));
        }
        let home = Utf8PathBuf::from_path_buf(entry.home.clone()).map_err(|h| {
            AuthError::Rejected(format!("home directory {} is not UTF-8", h.display()))
        })?;
        Ok(Authenticated {
            system_name: system_name.to_owned(),
            source: Source::SystemPasswd,
            uid: Some(entry.uid),
            gid: Some(entry.gid),
            home: Some(home),
            drop_file: None,
            quota_kbytes: None,
        })
    }
}

impl Authenticator for UnixUser {
    fn authenticate(
        &mut self,
        config: &Config,
        login: &ResolvedLogin,
        password: &Password,
        _client_ip: Option<IpAddr>,
    ) -> Result<Authenticated, AuthError> {
        if let Some(file) = login.vdomain().and_then(|v| config.vdomain_passwd_for(v)) {
            return vdomain_passwd::authenticate(
                &file.path,
                &login.local,
                &login.system_name,
                password,
            );
        }
        self.system(&login.system_name, password)
    }
}

/// Whether a shadow entry's account has expired on `today` (days since 1970-01-01 UTC).
///
/// \[decided\] Only the account expiry date (`sp_expire`, set by `usermod -e` / `chage -E`)
/// counts, as pam_unix counts it: expired from that day on, and `0` means expired on day 0 (an
/// empty field never expires). Password ageing (`sp_max`, `sp_inact`, a `sp_lstchg` of 0 for
/// "must change at next login") is ignored: an IMAP client cannot change a password, and DMail
/// documents no ageing rule, so a user with an aged password still reads mail.
///
/// ```
/// use dmail_auth::unix_user::account_expired;
/// use dmail_auth::sys::ShadowEntry;
/// let mut e = ShadowEntry { name: "bob".into(), hash: String::new().into(),
///     last_change: None, max_days: None, inactive_days: None, expire: Some(100) };
/// assert!(!account_expired(&e, 99));
/// assert!(account_expired(&e, 100));
/// e.expire = None;
/// assert!(!account_expired(&e, 100_000));
/// ```
pub fn account_expired(shadow: &ShadowEntry, today: i64) -> bool {
    matches!(shadow.expire, Some(day) if today >= day)
}

/// Whole days since 1970-01-01 UTC (0 for times before it).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use dmail_auth::unix_user::days_since_epoch;
/// assert_eq!(days_since_epoch(UNIX_EPOCH + Duration::from_secs(86_400 * 3 + 5)), 3);
/// ```
pub fn days_since_epoch(now: SystemTime) -> i64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| {
        i64::try_from(d.as_secs() / 86_400).unwrap_or(i64::MAX)
    })
}

/// A yescrypt hash (of a password nobody uses) verified when the user does not exist, so that
/// "no such user" takes about as long as "wrong password". \[decided\]
const DUMMY_HASH: &str =
    "$y$j9T$csbwYxG0v4JHJ9S/a13Qa.$weawZQxyJH7SWZB7Q5zcfsy4yCzrleyGb4cQWKQXP83";

/// Spends the time of one password check, discarding the result.
pub(crate) fn equalize_timing(password: &Password) {
    std::hint::black_box(hash::verify(password, DUMMY_HASH));
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    fn shadow(expire: Option<i64>) -> ShadowEntry {
        ShadowEntry {
            name: "u".into(),
            hash: String::new().into(),
            last_change: Some(0),
            max_days: Some(1),
            inactive_days: Some(0),
            expire,
        }
    }

    // \[decided\] account expiry only (see `account_expired`); password ageing is ignored.
    #[test_case(None, 20_000, false ; "never expires")]
    #[test_case(Some(1), 20_000, true ; "usermod -e 1")]
    #[test_case(Some(0), 20_000, true ; "zero is expired as pam_unix says")]
    #[test_case(Some(20_001), 20_000, false ; "expires tomorrow")]
    #[test_case(Some(20_000), 20_000, true ; "expires today")]
    fn expiry(expire: Option<i64>, today: i64, expected: bool) {
        assert_eq!(account_expired(&shadow(expire), today), expected);
    }

    #[test]
    fn dummy_hash_is_a_real_yescrypt_hash() {
        assert!(hash::verify(
            &Password::new(b"hunter2".to_vec()),
            DUMMY_HASH
        ));
    }
}
