//! Every default value of every setting, in one place (dmail-conventions §2).
//!
//! The generated [`Config`](crate::Config) starts from these and nothing else; no other module may
//! spell a default. Platform-dependent defaults are functions of [`Platform`].

use camino::Utf8PathBuf;

use crate::Platform;
use crate::values::{AuthentMethod, Bytes, HashSpool, LogLevel, Seconds, UserQuota};

/// `authent_method`: the system's own users on each platform.
pub fn authent_method(platform: Platform) -> AuthentMethod {
    match platform {
        Platform::Unix => AuthentMethod::UnixUser,
        Platform::Nt => AuthentMethod::NtUser,
    }
}

/// `authent_timeout`: seconds to wait for the external authenticator's answer.
pub const AUTHENT_TIMEOUT: Seconds = Seconds(10);
/// `authent_domain`: send the bare system name, not `local@DOMAIN`.
pub const AUTHENT_DOMAIN: bool = false;
/// `authent_number`: external authenticator children kept by imapdsvc.
pub const AUTHENT_NUMBER: u32 = 2;
/// `bulletin_from`: the sender shown on bulletins.
pub const BULLETIN_FROM: &str = "Email System Administrator";
/// `drop_prefix`: virtual-domain drop files carry the prefix (`cc_sales`).
pub const DROP_PREFIX: bool = true;
/// `forward_user`: no IMAP-before-SMTP records.
pub const FORWARD_USER: bool = false;
/// `forward_window`: seconds a login allows relaying.
pub const FORWARD_WINDOW: Seconds = Seconds(600);
/// `hash_spool`: drop files directly in the base directory.
pub const HASH_SPOOL: HashSpool = HashSpool::None;

/// `invalid_chars`: characters encoded in drop-file names (the manual's defaults).
pub fn invalid_chars(platform: Platform) -> String {
    match platform {
        Platform::Unix => "/".to_owned(),
        Platform::Nt => "\\/:*?\"<>|".to_owned(),
    }
}

/// `log_level`.
pub const LOG_LEVEL: LogLevel = LogLevel::Info;

/// `log_path` when it is not set: `DMAIL_PATH/log` when `dmail_path` is set, else the manual's
/// `/usr/local/dmail/log` on Unix and the binary's directory's `log` on Windows (given here as the
/// relative `log`, which the Windows service resolves against its own directory).
pub fn log_path(platform: Platform, dmail_path: Option<&camino::Utf8Path>) -> Utf8PathBuf {
    match (dmail_path, platform) {
        (Some(dir), _) => platform.join(dir, &["log"]),
        (None, Platform::Unix) => Utf8PathBuf::from("/usr/local/dmail/log"),
        (None, Platform::Nt) => Utf8PathBuf::from("log"),
    }
}

/// `max_log_size`: bytes before the log file is rotated.
pub const MAX_LOG_SIZE: Bytes = Bytes(1_000_000);
/// `lowercase_username`.
pub const LOWERCASE_USERNAME: bool = false;
/// `lowercase_password`.
pub const LOWERCASE_PASSWORD: bool = false;
/// `use_maildir`: mbox drop files, not maildirs.
pub const USE_MAILDIR: bool = false;
/// `maildir_suffix`: maildirs are named `LEAF.mdir`.
pub const MAILDIR_SUFFIX: bool = true;
/// `user_quota`: no quotas.
pub const USER_QUOTA: UserQuota = UserQuota::Off;
/// `vdomain_separator`: between a virtual domain's prefix and the local part.
pub const VDOMAIN_SEPARATOR: &str = "_";
/// `imapd_timeout`: idle seconds after login before autologout (the manual).
pub const IMAPD_TIMEOUT: Seconds = Seconds(1800);
/// The idle limit before login; fixed by the manual, not a setting.
pub const IMAPD_PRELOGIN_TIMEOUT: Seconds = Seconds(180);
/// `imapd_include_level`: follow no `#include` (the manual).
pub const IMAPD_INCLUDE_LEVEL: u32 = 0;
/// `imapd_become_user`: sessions of system users run as those users (the manual).
pub const IMAPD_BECOME_USER: bool = true;
/// `imapd_enable_new_hashing`: the hashing of IMAPD 4.4.3y and later.
pub const IMAPD_ENABLE_NEW_HASHING: bool = true;
/// `imapd_max_line`: longest command line after login, in bytes.
pub const IMAPD_MAX_LINE: Bytes = Bytes(65_536);
/// The longest command line before login; fixed, not a setting.
pub const IMAPD_PRELOGIN_MAX_LINE: Bytes = Bytes(8_192);
/// `imapd_max_message`: largest APPEND literal, in bytes.
pub const IMAPD_MAX_MESSAGE: Bytes = Bytes(52_428_800);
/// `imapd_max_bad_commands`: bad commands in a row before BYE.
pub const IMAPD_MAX_BAD_COMMANDS: u32 = 10;
/// `imapd_login_delay`: seconds of delay after each failed login.
pub const IMAPD_LOGIN_DELAY: Seconds = Seconds(2);
/// `imapd_max_login_failures`: failed logins per connection before BYE.
pub const IMAPD_MAX_LOGIN_FAILURES: u32 = 3;
/// `imapd_idle_check`: seconds between mailbox checks during IDLE.
pub const IMAPD_IDLE_CHECK: Seconds = Seconds(30);
/// `imapd_lock_stale`: seconds before a foreign dot-lock counts as stale.
pub const IMAPD_LOCK_STALE: Seconds = Seconds(300);
/// `imapd_max_connections`: connections imapdsvc serves at once.
pub const IMAPD_MAX_CONNECTIONS: u32 = 1000;
/// `imapd_max_connections_per_ip`.
pub const IMAPD_MAX_CONNECTIONS_PER_IP: u32 = 20;
/// `imapd_max_connections_per_user`.
pub const IMAPD_MAX_CONNECTIONS_PER_USER: u32 = 10;
/// `imapd_login_disabled`: plaintext logins allowed without TLS.
pub const IMAPD_LOGIN_DISABLED: bool = false;

/// How deep DPOP and DSMTP callers follow `#include` (dmail-conventions §1).
pub const NON_IMAPD_INCLUDE_DEPTH: u32 = 16;

/// Where dmail.conf is read from when `-i` is not given.
///
/// ```
/// use dmail_conf::{defaults, Platform};
/// assert_eq!(defaults::config_path(Platform::Unix), "/etc/dmail.conf");
/// ```
pub fn config_path(platform: Platform) -> Utf8PathBuf {
    match platform {
        Platform::Unix => Utf8PathBuf::from("/etc/dmail.conf"),
        Platform::Nt => Utf8PathBuf::from(r"%SystemRoot%\system32\dmail.conf"),
    }
}
