//! `authent_method nt_user`: Windows accounts, checked with a network logon (`LogonUserW`).
//!
//! Every decision the Windows call depends on lives here as portable code, tested on every
//! platform (dmail-conventions §10): which account and domain a resolved login names
//! ([`logon_target`]), the NUL-terminated UTF-16 strings handed to Windows ([`wide_nul`],
//! [`logon_password`]), which passwords are refused before Windows sees them, and what a Windows
//! error code means for the login ([`logon_error`]). The one call into Windows is
//! `crate::sys_windows`, compiled only on Windows.
//!
//! This module must never switch user or load a profile (the logon token is only proof that the
//! password is right, and is closed at once), never hand Windows a string with a NUL inside it,
//! never let an unknown error code become a successful login, and never put the password in an
//! error.

use std::net::IpAddr;

use dmail_conf::{Config, ResolvedLogin};
use zeroize::Zeroizing;

use crate::{AuthError, Authenticated, Authenticator, Password, Source};

/// The domain handed to `LogonUserW`: the local computer's account database (on a domain
/// controller, that is the domain's). \[decided\] A login never chooses a Windows domain; see
/// [`logon_target`].
pub const LOCAL_DOMAIN: &str = ".";

/// Why `nt_user` cannot be used outside Windows; [`NtUser::new`]'s error there.
pub(crate) const NOT_ON_UNIX: &str =
    "authent_method nt_user works only on Windows; use unix_user or external on Unix";

/// Characters Windows does not allow in an account name, and `@`, which `LogonUserW` would read
/// as a user principal name (`user@dns.domain`) naming some other domain's account.
const REFUSED_IN_NAME: &[char] = &[
    '"', '/', '\\', '[', ']', ':', ';', '|', '=', ',', '+', '*', '?', '<', '>', '@',
];

// Windows error codes `LogonUserW` reports (winerror.h). Plain numbers so that the mapping is
// tested everywhere; `sys_windows` checks at compile time that they equal windows-sys's.
pub(crate) const ERROR_NOT_ENOUGH_MEMORY: u32 = 8;
pub(crate) const ERROR_INVALID_PARAMETER: u32 = 87;
pub(crate) const ERROR_NO_LOGON_SERVERS: u32 = 1311;
pub(crate) const ERROR_PRIVILEGE_NOT_HELD: u32 = 1314;
pub(crate) const ERROR_INVALID_ACCOUNT_NAME: u32 = 1315;
pub(crate) const ERROR_NO_SUCH_USER: u32 = 1317;
pub(crate) const ERROR_WRONG_PASSWORD: u32 = 1323;
pub(crate) const ERROR_LOGON_FAILURE: u32 = 1326;
pub(crate) const ERROR_ACCOUNT_RESTRICTION: u32 = 1327;
pub(crate) const ERROR_INVALID_LOGON_HOURS: u32 = 1328;
pub(crate) const ERROR_INVALID_WORKSTATION: u32 = 1329;
pub(crate) const ERROR_PASSWORD_EXPIRED: u32 = 1330;
pub(crate) const ERROR_ACCOUNT_DISABLED: u32 = 1331;
pub(crate) const ERROR_NO_SUCH_DOMAIN: u32 = 1355;
pub(crate) const ERROR_LOGON_NOT_GRANTED: u32 = 1380;
pub(crate) const ERROR_LOGON_TYPE_NOT_GRANTED: u32 = 1385;
pub(crate) const ERROR_TIME_SKEW: u32 = 1398;
pub(crate) const ERROR_TRUSTED_DOMAIN_FAILURE: u32 = 1788;
pub(crate) const ERROR_TRUSTED_RELATIONSHIP_FAILURE: u32 = 1789;
pub(crate) const ERROR_NETLOGON_NOT_STARTED: u32 = 1792;
pub(crate) const ERROR_ACCOUNT_EXPIRED: u32 = 1793;
pub(crate) const ERROR_PASSWORD_MUST_CHANGE: u32 = 1907;
pub(crate) const ERROR_DOMAIN_CONTROLLER_NOT_FOUND: u32 = 1908;
pub(crate) const ERROR_ACCOUNT_LOCKED_OUT: u32 = 1909;

/// The account a resolved login names, as `LogonUserW` takes it.
///
/// ```
/// use dmail_auth::nt_user::{logon_target, LOCAL_DOMAIN};
/// use dmail_conf::{Config, Platform};
/// let login = Config::defaults(Platform::Nt).resolve_login(b"bob", None).unwrap();
/// let t = logon_target(&login).unwrap();
/// assert_eq!((t.user.as_str(), t.domain.as_str()), ("bob", LOCAL_DOMAIN));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogonTarget {
    /// The account name: the login's system name (dmail-conventions §3 step 4).
    pub user: String,
    /// The domain: always [`LOCAL_DOMAIN`].
    pub domain: String,
}

/// The Windows account of a resolved login: its system name (so a virtual-domain user is the
/// account `PREFIX_local`, as unix_user would look it up) in [`LOCAL_DOMAIN`].
///
/// \[decided\] The mail domain a user types (`bob@example.com`) is not a Windows domain, and
/// `authent_domain` does not apply (it shapes the external authenticator's request only). A
/// system name holding a character Windows refuses in account names (`" / \ [ ] : ; | = , + * ?
/// < >`), a control character, or `@` is a failed login before Windows is asked: otherwise
/// `DOMAIN\user` or `user@dns.domain` would let the client pick another domain's account.
///
/// ```
/// use dmail_auth::{AuthError, nt_user::logon_target};
/// use dmail_conf::{parse_str, Program, Platform};
/// let c = parse_str("vdomain cc @computers.com computers.com C:\\vd\\cc\n", "c".into(),
///     Program::Imapd, Platform::Nt).config;
/// let sales = c.resolve_login(b"sales@computers.com", None).unwrap();
/// assert_eq!(logon_target(&sales).unwrap().user, "cc_sales");
/// let other = c.resolve_login(b"CORP\\admin", None).unwrap();
/// assert!(matches!(logon_target(&other), Err(AuthError::Rejected(_))));
/// ```
pub fn logon_target(login: &ResolvedLogin) -> Result<LogonTarget, AuthError> {
    let name = &login.system_name;
    if name.is_empty() {
        return Err(AuthError::Rejected("empty Windows account name".to_owned()));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| c.is_control() || REFUSED_IN_NAME.contains(c))
    {
        return Err(AuthError::Rejected(format!(
            "{name:?} cannot be a local Windows account name (it holds {bad:?})"
        )));
    }
    Ok(LogonTarget {
        user: name.clone(),
        domain: LOCAL_DOMAIN.to_owned(),
    })
}

/// `s` as NUL-terminated UTF-16 for a Windows call; `None` when `s` holds a NUL, which would
/// silently cut the string short.
///
/// ```
/// use dmail_auth::nt_user::wide_nul;
/// assert_eq!(wide_nul("bé").unwrap(), vec![0x62, 0xE9, 0]);
/// assert!(wide_nul("a\0b").is_none());
/// ```
pub fn wide_nul(s: &str) -> Option<Vec<u16>> {
    if s.contains('\0') {
        return None;
    }
    Some(s.encode_utf16().chain(std::iter::once(0)).collect())
}

/// Whether `s` is a complete wide C string: it ends with its only NUL.
#[cfg(any(windows, test))]
pub(crate) fn is_wide_c_string(s: &[u16]) -> bool {
    s.iter().position(|&u| u == 0) == Some(s.len().wrapping_sub(1))
}

/// The password as NUL-terminated UTF-16, zeroed when dropped.
///
/// \[decided\] Refused (a failed login, Windows is not asked): an empty password (a network
/// logon with a blank password is refused by Windows' default policy anyway, and an IMAP login
/// without a password is never meant), a password with a NUL (Windows would check only what
/// comes before it), and a password that is not UTF-8 (Windows passwords are Unicode; IMAP
/// clients send UTF-8).
///
/// ```
/// use dmail_auth::{Password, nt_user::logon_password};
/// assert_eq!(&logon_password(&Password::new(b"pw".to_vec())).unwrap()[..], &[0x70, 0x77, 0]);
/// assert!(logon_password(&Password::new(Vec::new())).is_err());
/// assert!(logon_password(&Password::new(b"p\0w".to_vec())).is_err());
/// assert!(logon_password(&Password::new(b"\xff".to_vec())).is_err());
/// ```
pub fn logon_password(password: &Password) -> Result<Zeroizing<Vec<u16>>, AuthError> {
    let bytes = password.expose();
    if bytes.is_empty() {
        return Err(AuthError::Rejected("empty password".to_owned()));
    }
    if bytes.contains(&0) {
        return Err(AuthError::Rejected(
            "the password holds a NUL byte".to_owned(),
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| AuthError::Rejected("the password is not UTF-8".to_owned()))?;
    // UTF-16 never needs more units than UTF-8 needs bytes, so this never reallocates (which
    // would leave an unzeroed copy behind).
    let mut wide = Zeroizing::new(Vec::with_capacity(bytes.len() + 1));
    wide.extend(text.encode_utf16());
    wide.push(0);
    Ok(wide)
}

/// What a `LogonUserW` error code means for the login, with a reason for the log (the code is
/// in it). `Rejected`: the account or password is at fault (wrong password, unknown, disabled,
/// locked out, expired, outside its logon hours, without the right to log on from the network).
/// `Unavailable`: the system could not answer (no domain controller, broken trust, clock skew,
/// missing privilege, out of memory) and every code not listed, so an unknown code is never a
/// success and never counts against the client.
///
/// ```
/// use dmail_auth::{AuthError, nt_user::logon_error};
/// assert!(matches!(logon_error(1326), AuthError::Rejected(r) if r.contains("1326")));
/// assert!(matches!(logon_error(1311), AuthError::Unavailable(_)));
/// assert!(matches!(logon_error(12345), AuthError::Unavailable(r) if r.contains("12345")));
/// ```
pub fn logon_error(code: u32) -> AuthError {
    let rejected = |why: &str| AuthError::Rejected(format!("{why} (Windows error {code})"));
    let unavailable = |why: &str| AuthError::Unavailable(format!("{why} (Windows error {code})"));
    match code {
        ERROR_LOGON_FAILURE => rejected("unknown user name or wrong password"),
        ERROR_NO_SUCH_USER => rejected("no such user"),
        ERROR_WRONG_PASSWORD => rejected("wrong password"),
        ERROR_INVALID_ACCOUNT_NAME => rejected("not a valid account name"),
        ERROR_ACCOUNT_DISABLED => rejected("account disabled"),
        ERROR_ACCOUNT_LOCKED_OUT => rejected("account locked out"),
        ERROR_ACCOUNT_EXPIRED => rejected("account expired"),
        ERROR_PASSWORD_EXPIRED => rejected("password expired"),
        ERROR_PASSWORD_MUST_CHANGE => rejected("the password must be changed before logging on"),
        ERROR_ACCOUNT_RESTRICTION => rejected(
            "account restriction (for example a blank password, refused for network logons)",
        ),
        ERROR_INVALID_LOGON_HOURS => rejected("outside the account's logon hours"),
        ERROR_INVALID_WORKSTATION => rejected("the account may not log on to this computer"),
        ERROR_LOGON_TYPE_NOT_GRANTED | ERROR_LOGON_NOT_GRANTED => {
            rejected("the account lacks the \"Access this computer from the network\" right")
        }
        ERROR_NO_LOGON_SERVERS | ERROR_DOMAIN_CONTROLLER_NOT_FOUND => {
            unavailable("no domain controller could be reached")
        }
        ERROR_NO_SUCH_DOMAIN => unavailable("the account's domain cannot be reached"),
        ERROR_TRUSTED_DOMAIN_FAILURE | ERROR_TRUSTED_RELATIONSHIP_FAILURE => {
            unavailable("the trust with the account's domain failed")
        }
        ERROR_NETLOGON_NOT_STARTED => unavailable("the Netlogon service is not running"),
        ERROR_TIME_SKEW => unavailable("this computer's clock differs from the domain's"),
        ERROR_PRIVILEGE_NOT_HELD => unavailable("the server lacks a privilege LogonUserW needs"),
        ERROR_NOT_ENOUGH_MEMORY => unavailable("out of memory"),
        ERROR_INVALID_PARAMETER => unavailable("LogonUserW refused its arguments"),
        _ => unavailable("LogonUserW failed"),
    }
}

/// The one Windows call: a network logon of `user` in `domain` with `password` (each a
/// NUL-terminated UTF-16 string), `Err` with the Windows error code.
type LogonFn = fn(user: &[u16], domain: &[u16], password: &[u16]) -> Result<(), u32>;

/// `authent_method nt_user`: Windows accounts, checked with `LogonUserW` (a network logon, whose
/// token is closed at once). The result has no uid or gid (nobody switches user on Windows,
/// dmail-conventions §10) and no home directory.
///
/// Outside Windows the constructor fails with a clear configuration error.
///
/// ```
/// let made = dmail_auth::NtUser::new();
/// assert_eq!(made.is_ok(), cfg!(windows));
/// ```
#[derive(Debug)]
pub struct NtUser {
    logon: LogonFn,
}

impl NtUser {
    /// The Windows authenticator; on any other system an `Unavailable` error saying that
    /// `nt_user` works only on Windows.
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// let e = dmail_auth::NtUser::new().unwrap_err();
    /// assert!(e.to_string().contains("nt_user"));
    /// # }
    /// ```
    pub fn new() -> Result<NtUser, AuthError> {
        #[cfg(windows)]
        {
            Ok(NtUser {
                logon: crate::sys_windows::logon_network,
            })
        }
        #[cfg(not(windows))]
        {
            Err(AuthError::Unavailable(NOT_ON_UNIX.to_owned()))
        }
    }

    /// An authenticator that calls `logon` instead of Windows, so that everything around the
    /// call is tested on every platform.
    #[cfg(test)]
    fn with_logon(logon: LogonFn) -> NtUser {
        NtUser { logon }
    }
}

impl Authenticator for NtUser {
    fn authenticate(
        &mut self,
        _config: &Config,
        login: &ResolvedLogin,
        password: &Password,
        _client_ip: Option<IpAddr>,
    ) -> Result<Authenticated, AuthError> {
        let target = logon_target(login)?;
        let (Some(user), Some(domain)) = (wide_nul(&target.user), wide_nul(&target.domain)) else {
            return Err(AuthError::Rejected(
                "the account name holds a NUL character".to_owned(),
            ));
        };
        let password = logon_password(password)?;
        (self.logon)(&user, &domain, &password).map_err(logon_error)?;
        Ok(Authenticated {
            system_name: login.system_name.clone(),
            source: Source::NtUser,
            uid: None,
            gid: None,
            home: None,
            drop_file: None,
            quota_kbytes: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmail_conf::{Platform, Program, parse_str};
    use test_case::test_case;

    fn config() -> Config {
        parse_str(
            "vdomain cc @computers.com computers.com C:\\vd\\cc\nhost_domain example.com\n\
             authent_domain true\n",
            "c".into(),
            Program::Imapd,
            Platform::Nt,
        )
        .config
    }

    fn wide(s: &str) -> Vec<u16> {
        s.encode_utf16().chain([0]).collect()
    }

    /// Accepts `bob` / `.` / `right` only, and checks every string is a wide C string.
    fn fake_logon(user: &[u16], domain: &[u16], password: &[u16]) -> Result<(), u32> {
        assert!([user, domain, password].iter().all(|s| is_wide_c_string(s)));
        if domain != wide(".") {
            return Err(ERROR_NO_SUCH_DOMAIN);
        }
        match (user == wide("bob"), password == wide("right")) {
            (true, true) => Ok(()),
            (true, false) => Err(ERROR_LOGON_FAILURE),
            (false, _) => Err(ERROR_ACCOUNT_DISABLED),
        }
    }

    fn check(login: &[u8], password: &[u8]) -> Result<Authenticated, AuthError> {
        let c = config();
        let resolved = c.resolve_login(login, None).unwrap();
        NtUser::with_logon(fake_logon).authenticate(
            &c,
            &resolved,
            &Password::new(password.to_vec()),
            None,
        )
    }

    #[test]
    fn success_has_no_ids_and_no_home() {
        // authent_domain is on and the login typed the main domain: still the local `bob`.
        let ok = check(b"bob@example.com", b"right").unwrap();
        assert_eq!(
            ok,
            Authenticated {
                system_name: "bob".into(),
                source: Source::NtUser,
                uid: None,
                gid: None,
                home: None,
                drop_file: None,
                quota_kbytes: None,
            }
        );
    }

    #[test]
    fn windows_errors_become_auth_errors() {
        assert!(
            matches!(check(b"bob", b"wrong"), Err(AuthError::Rejected(r)) if r.contains("1326"))
        );
        assert!(
            matches!(check(b"sales@computers.com", b"right"), Err(AuthError::Rejected(r))
            if r.contains("disabled"))
        );
    }

    #[test_case(b"" ; "empty")]
    #[test_case(b"ri\0ght" ; "nul")]
    #[test_case(b"r\xe9ight" ; "latin-1, not utf-8")]
    fn refused_passwords_never_reach_windows(password: &[u8]) {
        fn must_not_be_called(_: &[u16], _: &[u16], _: &[u16]) -> Result<(), u32> {
            panic!("LogonUserW called");
        }
        let c = config();
        let bob = c.resolve_login(b"bob", None).unwrap();
        let r = NtUser::with_logon(must_not_be_called).authenticate(
            &c,
            &bob,
            &Password::new(password.to_vec()),
            None,
        );
        assert!(matches!(r, Err(AuthError::Rejected(_))));
    }

    #[test_case("CORP\\admin" ; "backslash domain")]
    #[test_case("admin@corp.example" ; "upn")]
    #[test_case("a/b" ; "slash")]
    #[test_case("a:b" ; "colon")]
    #[test_case("a\u{7}b" ; "control")]
    fn names_that_could_leave_the_local_database_are_refused(name: &str) {
        let login = ResolvedLogin {
            system_name: name.to_owned(),
            ..config().resolve_login(b"bob", None).unwrap()
        };
        assert!(matches!(logon_target(&login), Err(AuthError::Rejected(_))));
    }

    #[test]
    fn unicode_names_and_passwords_are_utf16() {
        assert_eq!(wide_nul("zoë").unwrap(), vec![0x7A, 0x6F, 0xEB, 0]);
        assert_eq!(wide_nul("😀").unwrap(), vec![0xD83D, 0xDE00, 0]);
        let p = logon_password(&Password::new("pässwörd😀".as_bytes().to_vec())).unwrap();
        assert_eq!(String::from_utf16(&p[..p.len() - 1]).unwrap(), "pässwörd😀");
        assert_eq!(p.last(), Some(&0));
    }

    #[test]
    fn wide_c_strings() {
        assert!(is_wide_c_string(&[0x61, 0]));
        assert!(is_wide_c_string(&[0]));
        assert!(!is_wide_c_string(&[]));
        assert!(!is_wide_c_string(&[0x61]));
        assert!(!is_wide_c_string(&[0x61, 0, 0x62, 0]));
    }

    #[test_case(ERROR_LOGON_FAILURE, true)]
    #[test_case(ERROR_ACCOUNT_DISABLED, true)]
    #[test_case(ERROR_PASSWORD_EXPIRED, true)]
    #[test_case(ERROR_ACCOUNT_LOCKED_OUT, true)]
    #[test_case(ERROR_ACCOUNT_EXPIRED, true)]
    #[test_case(ERROR_PASSWORD_MUST_CHANGE, true)]
    #[test_case(ERROR_ACCOUNT_RESTRICTION, true)]
    #[test_case(ERROR_INVALID_LOGON_HOURS, true)]
    #[test_case(ERROR_INVALID_WORKSTATION, true)]
    #[test_case(ERROR_LOGON_TYPE_NOT_GRANTED, true)]
    #[test_case(ERROR_NO_LOGON_SERVERS, false)]
    #[test_case(ERROR_NO_SUCH_DOMAIN, false)]
    #[test_case(ERROR_TRUSTED_RELATIONSHIP_FAILURE, false)]
    #[test_case(ERROR_TIME_SKEW, false)]
    #[test_case(ERROR_PRIVILEGE_NOT_HELD, false)]
    #[test_case(ERROR_NOT_ENOUGH_MEMORY, false)]
    #[test_case(0, false ; "zero is not a success")]
    #[test_case(u32::MAX, false ; "unknown")]
    fn error_kinds(code: u32, rejected: bool) {
        let e = logon_error(code);
        assert_eq!(matches!(e, AuthError::Rejected(_)), rejected, "{e}");
        assert!(e.to_string().contains(&format!("Windows error {code}")));
    }

    #[cfg(not(windows))]
    #[test]
    fn outside_windows_the_error_is_unchanged() {
        assert_eq!(
            NtUser::new().unwrap_err(),
            AuthError::Unavailable(
                "authent_method nt_user works only on Windows; use unix_user or external on Unix"
                    .to_owned()
            )
        );
    }
}
