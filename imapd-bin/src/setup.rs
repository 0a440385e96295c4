//! What both servers do with dmail.conf before serving a connection: read it as IMAPD does
//! ([`load_config`]) and turn it into the session's [`Options`] ([`options`]).
//!
//! This module only reads and converts; it must never write to stderr or to a client (under
//! inetd both are the client's socket), and never decide anything about listening.

use camino::Utf8Path;
use dmail_conf::check::{Build, imapd_checks};
use dmail_conf::{Config, Platform, Program, Severity, load, unreadable_diagnostic};
use imapd_proto::framer::Limits;
use imapd_proto::session::Options;

/// Reads dmail.conf as IMAPD does. `Ok` carries the configuration and the error diagnostics
/// (the server runs on with defaults for bad lines, and logs them); `Err` the reason the file
/// cannot be read, for the log.
///
/// ```
/// use dmail_conf::Platform;
/// let err = imapd_bin::setup::load_config("/nonexistent/dmail.conf".into(), Platform::Unix);
/// assert!(err.is_err());
/// ```
pub fn load_config(path: &Utf8Path, platform: Platform) -> Result<(Config, Vec<String>), String> {
    let loaded = load(path, Program::Imapd, platform)
        .map_err(|err| format!("{path}: {}", unreadable_diagnostic(&err).reason))?;
    let build = Build {
        maildir: dmail_store::MAILDIR_AVAILABLE,
    };
    let problems = loaded
        .diagnostics
        .iter()
        .cloned()
        .chain(imapd_checks(&loaded, platform, build))
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect();
    Ok((loaded.config, problems))
}

/// The session's settings from dmail.conf (§2); `starttls` says whether STARTTLS is offered
/// (a certificate is configured and the connection is not TLS already).
///
/// ```
/// use dmail_conf::{Config, Platform};
/// let o = imapd_bin::setup::options(&Config::defaults(Platform::Unix), false);
/// assert_eq!(o.timeout_after_login.as_secs(), 1800);
/// ```
pub fn options(config: &Config, starttls: bool) -> Options {
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    Options {
        timeout_after_login: config.imapd_timeout.as_duration(),
        // At least a second: 0 would make IDLE a busy loop.
        idle_check: config
            .imapd_idle_check
            .as_duration()
            .max(std::time::Duration::from_secs(1)),
        limits_after_login: Limits {
            line: size(config.imapd_max_line.get()),
            literal: size(config.imapd_max_message.get()),
        },
        max_bad_commands: config.imapd_max_bad_commands,
        mechanisms: dmail_auth::sasl::offered(config),
        starttls,
        login_disabled: config.imapd_login_disabled,
        ..Options::default()
    }
}
