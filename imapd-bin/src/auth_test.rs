//! `imapd auth-test`: checks a login's password the way the server's LOGIN would
//! (dmail-conventions §2, §3, §3a), for administrators setting up authentication.
//!
//! The password is read from standard input, up to the first LF (a CR before it is removed),
//! within the first 4 KB. The login goes through the server's own policy: the client address
//! given with `--ip` is checked against `user_ip_address` (without `--ip` it is unknown, which a
//! `user_ip_address` list refuses) and passed to the authenticator; `valid_users` and
//! `lowercase_password` apply as in the server. Unlike a real login there is no delay after a failure, no forward_user
//! record, no bulletin and no user switch.
//!
//! This module must never print (main does), never show the password, and never create, open or
//! lock a mailbox.

use std::io::Read;
use std::os::unix::ffi::OsStrExt;

use camino::Utf8Path;
use dmail_auth::{AuthError, Password, for_config, login};
use dmail_conf::values::AuthentMethod;
use dmail_conf::{Config, Platform, Program, load, unreadable_diagnostic};
use dmail_store::layout::drop_file;
use zeroize::Zeroizing;

use imapd_bin::cli::AuthTestArgs;

/// The most bytes read from standard input looking for the end of the password.
pub(crate) const MAX_PASSWORD_INPUT: usize = 4096;

/// What `auth-test` found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The login works: the lines for stdout.
    Ok(String),
    /// The login fails: the reason (printed as `failed: REASON`).
    Failed(String),
    /// The authenticator cannot answer now: the reason (printed as `unavailable: REASON`).
    Unavailable(String),
    /// The configuration cannot be read: the line for stderr.
    Unreadable(String),
}

impl From<AuthError> for Outcome {
    fn from(e: AuthError) -> Outcome {
        match e {
            AuthError::Rejected(reason) => Outcome::Failed(reason),
            AuthError::Unavailable(reason) => Outcome::Unavailable(reason),
        }
    }
}

/// Runs the check, reading the password from `input`.
pub(crate) fn run(config_path: &Utf8Path, args: &AuthTestArgs, input: &mut impl Read) -> Outcome {
    let loaded = match load(config_path, Program::Imapd, Platform::current()) {
        Ok(loaded) => loaded,
        Err(err) => {
            let reason = unreadable_diagnostic(&err).reason;
            return Outcome::Unreadable(format!("auth-test: {config_path}: {reason}"));
        }
    };
    // A configuration that cannot authenticate anyone here is the administrator's error.
    if loaded.config.authent_method == AuthentMethod::NtUser && Platform::current() != Platform::Nt
    {
        return Outcome::Unreadable(format!(
            "auth-test: {config_path}: authent_method nt_user works only on Windows"
        ));
    }
    let Some(password) = read_password(input) else {
        return Outcome::Failed("no password on stdin".to_owned());
    };
    match check(&loaded.config, args, password) {
        Ok(text) => Outcome::Ok(text),
        Err(outcome) => outcome,
    }
}

/// The login through the server's own policy (`dmail_auth::login`: `user_ip_address`, login
/// resolution, `valid_users`, `lowercase_password`, the authenticator), then the output lines.
/// Without `--ip` the client address is unknown, which `user_ip_address` refuses as the server
/// would.
fn check(config: &Config, args: &AuthTestArgs, password: Password) -> Result<String, Outcome> {
    let mut authenticator = for_config(config)?;
    let logged_in = login(
        config,
        authenticator.as_mut(),
        args.login.as_bytes(),
        &password,
        args.ip,
        args.local_ip,
    )?;
    // Ends an external authenticator's child now, as a real login would before going on.
    drop(authenticator);
    let (resolved, user) = (logged_in.resolved, logged_in.user);
    let drop_file = match user.drop_file {
        Some(path) => path,
        None => drop_file(config, &resolved)
            .map_err(|e| Outcome::Failed(e.to_string()))?
            .as_path()
            .to_owned(),
    };
    let domain = resolved.domain_name(config).unwrap_or("-");
    let uid = user.uid.map_or_else(|| "-".to_owned(), |u| u.to_string());
    Ok(format!(
        "ok\nuser: {}\ndomain: {domain}\ndrop_file: {drop_file}\nuid: {uid}\n",
        resolved.local
    ))
}

/// The password: the bytes before the first LF within [`MAX_PASSWORD_INPUT`] bytes, without a
/// CR just before the LF. `None` when there is no LF there (nothing at all, or too much).
fn read_password(input: &mut impl Read) -> Option<Password> {
    let mut buf = Zeroizing::new(vec![0u8; MAX_PASSWORD_INPUT]);
    let mut filled = 0;
    loop {
        if let Some(end) = buf.get(..filled)?.iter().position(|&b| b == b'\n') {
            let line = buf.get(..end)?;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            return Some(Password::new(line.to_vec()));
        }
        let free = buf.get_mut(filled..)?;
        if free.is_empty() {
            return None;
        }
        match input.read(free) {
            Ok(0) => return None,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_PASSWORD_INPUT, read_password};

    fn read(input: &[u8]) -> Option<Vec<u8>> {
        read_password(&mut &input[..]).map(|p| p.expose().to_vec())
    }

    #[test]
    fn password_lines() {
        assert_eq!(read(b"secret\n").as_deref(), Some(&b"secret"[..]));
        assert_eq!(read(b"secret\r\nmore\n").as_deref(), Some(&b"secret"[..]));
        assert_eq!(read(b"a\rb\n").as_deref(), Some(&b"a\rb"[..]));
        assert_eq!(read(b"two words\n").as_deref(), Some(&b"two words"[..]));
        assert_eq!(read(b"\n").as_deref(), Some(&b""[..]));
        assert_eq!(read(b""), None);
        assert_eq!(read(b"secret"), None);
        let mut fits = vec![b'x'; MAX_PASSWORD_INPUT - 1];
        fits.push(b'\n');
        assert_eq!(read(&fits).map(|p| p.len()), Some(MAX_PASSWORD_INPUT - 1));
        let mut too_long = vec![b'x'; MAX_PASSWORD_INPUT];
        too_long.push(b'\n');
        assert_eq!(read(&too_long), None);
    }
}
