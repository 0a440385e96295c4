//! Checking a password against a stored crypt(3) hash: [`verify`] and the classification of
//! hash fields that are not hashes at all ([`classify`]: empty, locked, no password).
//!
//! Every scheme libxcrypt knows is accepted (yescrypt `$y$`, `$6$`, `$5$`, `$1$`, bcrypt `$2b$`,
//! traditional DES); the hashing itself is [`crate::sys::crypt`]. This module must never accept a
//! login on an empty, locked or unusable hash, never compare hashes in variable time, and never
//! log or keep the password.

#[cfg(unix)]
use crate::Password;
#[cfg(unix)]
use crate::sys;

/// What a passwd/shadow hash field says about the account, before any password is checked.
/// See [`classify`].
///
/// ```
/// use dmail_auth::hash::{classify, HashState};
/// assert_eq!(classify("$6$salt$abc"), HashState::Usable);
/// assert_eq!(classify("!$6$salt$abc"), HashState::Locked);
/// assert_eq!(classify("!!"), HashState::NoPassword);
/// assert_eq!(classify("*"), HashState::NoPassword);
/// assert_eq!(classify(""), HashState::Empty);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashState {
    /// Something to hand to crypt(3).
    Usable,
    /// An empty field. Traditionally "no password needed"; refused here (see [`classify`]).
    Empty,
    /// Starts with `!` (but is not exactly `!!`): locked by `passwd -l` / `usermod -L`.
    Locked,
    /// `*...` or `!!`: the account has no password (system accounts, never set).
    NoPassword,
}

impl HashState {
    /// The reason a login on this state fails, for the log.
    ///
    /// ```
    /// use dmail_auth::hash::HashState;
    /// assert_eq!(HashState::Locked.reason(), Some("account locked"));
    /// assert_eq!(HashState::Usable.reason(), None);
    /// ```
    pub fn reason(self) -> Option<&'static str> {
        match self {
            HashState::Usable => None,
            HashState::Empty => Some("empty password field refused"),
            HashState::Locked => Some("account locked"),
            HashState::NoPassword => Some("account has no password (disabled)"),
        }
    }
}

/// Classifies a hash field. \[decided\] An empty field is refused: the traditional Unix meaning
/// ("log in without a password") has no place on a network mail server, and DMail documents no
/// setting to allow it. `!!` (shadow's "never set") counts as no password, any other `!` prefix
/// as locked, any `*` prefix as no password.
///
/// ```
/// use dmail_auth::hash::{classify, HashState};
/// assert_eq!(classify("!"), HashState::Locked);
/// assert_eq!(classify("*LK*"), HashState::NoPassword);
/// ```
pub fn classify(hash: &str) -> HashState {
    if hash.is_empty() {
        HashState::Empty
    } else if hash == "!!" || hash.starts_with('*') {
        HashState::NoPassword
    } else if hash.starts_with('!') {
        HashState::Locked
    } else {
        HashState::Usable
    }
}

/// Whether `password` matches the crypt(3) `hash`. False for every hash that [`classify`] does
/// not call [`HashState::Usable`], for schemes libxcrypt does not know (e.g. Apache's `$apr1$`),
/// for passwords with a NUL byte or longer than 512 bytes. The crypt result is compared in
/// constant time. Traditional DES uses only the first 8 bytes of a password (that is the
/// scheme, not this code).
///
/// ```
/// use dmail_auth::{Password, hash::verify};
/// let h = "$1$saltsalt$9xy1btjgzLYfb7hivXtC//";
/// assert!(verify(&Password::new(b"secret".to_vec()), h));
/// assert!(!verify(&Password::new(b"Secret".to_vec()), h));
/// assert!(!verify(&Password::new(b"secret".to_vec()), &format!("!{h}")));
/// ```
#[cfg(unix)]
pub fn verify(password: &Password, hash: &str) -> bool {
    if classify(hash) != HashState::Usable {
        return false;
    }
    match sys::crypt(password.expose(), hash) {
        Some(computed) => constant_time_eq(computed.as_bytes(), hash.as_bytes()),
        None => false,
    }
}

/// Compares two byte strings in time that depends only on their lengths (lengths of crypt
/// results are fixed by the scheme and are not secret).
///
/// ```
/// use dmail_auth::hash::constant_time_eq;
/// assert!(constant_time_eq(b"abc", b"abc"));
/// assert!(!constant_time_eq(b"abc", b"abd"));
/// assert!(!constant_time_eq(b"abc", b"ab"));
/// ```
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
#[cfg(unix)] // the tests hash with crypt(3) and mkpasswd
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};
    use test_case::test_case;

    fn pw(s: &str) -> Password {
        Password::new(s.as_bytes().to_vec())
    }

    /// A hash made by the system's own tool: `mkpasswd` (Debian's `whois` package) reading the
    /// password from stdin, or `openssl passwd`. `None` (the test is skipped, with a message)
    /// when the tool is not installed, except under CI, which installs both.
    fn system_hash(tool: &str, args: &[&str], password: &str) -> Option<String> {
        let spawned = Command::new(tool)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "{tool} is required under CI (Debian: whois for mkpasswd, openssl)"
                );
                eprintln!(
                    "skipped: {tool} is not installed (Debian: apt-get install whois openssl)"
                );
                return None;
            }
            Err(e) => panic!("{tool}: {e}"),
        };
        child
            .stdin
            .take()
            .unwrap()
            .write_all(password.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{tool} {args:?} failed");
        Some(String::from_utf8(out.stdout).unwrap().trim().to_owned())
    }

    // Every scheme libxcrypt verifies on Debian 12 (rust-libraries.md §5.5), made by the system.
    #[test_case("mkpasswd", &["-m", "yescrypt", "-s"], "$y$" ; "yescrypt")]
    #[test_case("mkpasswd", &["-m", "sha512crypt", "-s"], "$6$" ; "mkpasswd sha512")]
    #[test_case("mkpasswd", &["-m", "sha256crypt", "-s"], "$5$" ; "mkpasswd sha256")]
    #[test_case("mkpasswd", &["-m", "md5crypt", "-s"], "$1$" ; "mkpasswd md5")]
    #[test_case("mkpasswd", &["-m", "bcrypt", "-s"], "$2b$" ; "bcrypt")]
    #[test_case("mkpasswd", &["-m", "descrypt", "-s"], "" ; "traditional des")]
    #[test_case("openssl", &["passwd", "-6", "-stdin"], "$6$" ; "openssl sha512")]
    #[test_case("openssl", &["passwd", "-5", "-stdin"], "$5$" ; "openssl sha256")]
    #[test_case("openssl", &["passwd", "-1", "-stdin"], "$1$" ; "openssl md5")]
    fn system_made_hashes(tool: &str, args: &[&str], prefix: &str) {
        let Some(hash) = system_hash(tool, args, "s3cr&t") else {
            return;
        };
        assert!(hash.starts_with(prefix), "{hash}");
        if prefix.is_empty() {
            assert_eq!(hash.len(), 13, "{hash}");
        }
        assert!(verify(&pw("s3cr&t"), &hash), "{hash}");
        assert!(!verify(&pw("s3cr&u"), &hash), "{hash}");
        assert!(!verify(&pw("S3cr&t"), &hash), "{hash}");
        assert!(!verify(&pw(""), &hash), "{hash}");
        // Locking with `!` (usermod -L) refuses even the right password.
        assert!(!verify(&pw("s3cr&t"), &format!("!{hash}")));
    }

    #[test]
    fn des_uses_eight_bytes_only() {
        let Some(hash) = system_hash("mkpasswd", &["-m", "descrypt", "-s"], "password") else {
            return;
        };
        assert!(verify(&pw("password-and-more"), &hash));
        assert!(!verify(&pw("passwor"), &hash));
    }

    // Hash fields that are not hashes: refused without calling crypt (§5.5 of the notes).
    #[test_case("", HashState::Empty)]
    #[test_case("!", HashState::Locked)]
    #[test_case("!!", HashState::NoPassword)]
    #[test_case("!!$6$x$y", HashState::Locked)]
    #[test_case("*", HashState::NoPassword)]
    #[test_case("*LK*$6$x", HashState::NoPassword)]
    #[test_case("x", HashState::Usable)]
    #[test_case("$y$j9T$a$b", HashState::Usable)]
    fn classification(hash: &str, expected: HashState) {
        assert_eq!(classify(hash), expected);
    }

    #[test_case("" ; "empty")]
    #[test_case("*" ; "star")]
    #[test_case("!!" ; "never set")]
    #[test_case("$apr1$ab$eIePjsejfBGR8ITtu2z0U1" ; "apache md5 unknown to libxcrypt")]
    #[test_case("$6$" ; "salt only")]
    #[test_case("ab" ; "des salt only")]
    fn unusable_hashes_never_verify(hash: &str) {
        assert!(!verify(&pw(""), hash));
        assert!(!verify(&pw("x"), hash));
    }

    #[test]
    fn nul_in_password_refused() {
        let Some(hash) = system_hash("mkpasswd", &["-m", "sha512crypt", "-s"], "ab") else {
            return;
        };
        assert!(verify(&pw("ab"), &hash));
        assert!(!verify(&Password::new(b"ab\0".to_vec()), &hash));
    }
}
