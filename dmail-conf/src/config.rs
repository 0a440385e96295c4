//! The typed `Config`: one field per setting IMAPD honours, generated from the table in this
//! file, plus the settings kept for other DMail programs.
//!
//! This module owns the list of known settings and how a value is stored into the right field; it
//! must never read files (see `load`) or spell a default (see `defaults`).

use std::net::IpAddr;

use camino::Utf8PathBuf;

use crate::Platform;
use crate::defaults;
use crate::values::{
    AuthentMethod, Bytes, CommandLine, DomainName, HashSpool, HomeSubdir, LogLevel, MaildirAlthome,
    Seconds, SettingValue, UserQuota, ValueError, Vdomain, VdomainPasswd,
};
use crate::wildcard::WildcardList;

/// How many values a setting takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// One value with a default; a later line replaces an earlier one.
    Defaulted,
    /// One value without a default (unset until given); a later line replaces an earlier one.
    Optional,
    /// Every line adds a value, kept in file order.
    Multi,
}

/// A setting IMAPD knows: its name, arity and one-line description.
#[derive(Clone, Copy, Debug)]
pub struct SettingInfo {
    /// The lower-case name as written in dmail.conf.
    pub name: &'static str,
    /// Single or multi-entry.
    pub arity: Arity,
    /// What it does, for `--help` texts and documentation.
    pub doc: &'static str,
}

/// A setting that is not one IMAPD knows, kept because DPOP, DSMTP and DList share the file.
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform};
/// let loaded = parse_str("drop_users alice\ndrop_users bob\n", "dmail.conf".into(), Program::Dpop, Platform::Unix);
/// let values: Vec<&str> = loaded.config.other_values("drop_users").collect();
/// assert_eq!(values, ["alice", "bob"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OtherSetting {
    /// The name, lower-cased.
    pub name: String,
    /// The value as written (trimmed).
    pub value: String,
}

/// What happened when a value was stored.
pub(crate) enum Stored {
    /// A known setting took the value.
    Known(Arity),
    /// Not a setting IMAPD knows; kept in `other`.
    Other,
}

macro_rules! settings {
    (
        defaulted { $( $(#[doc = $ddoc:literal])+ $dname:ident : $dty:ty = $ddefault:expr ; )* }
        optional { $( $(#[doc = $odoc:literal])+ $oname:ident : $oty:ty ; )* }
        multi { $( $(#[doc = $mdoc:literal])+ $mname:ident : $mty:ty ; )* }
    ) => {
        /// Everything dmail.conf says, typed, with defaults applied.
        ///
        /// Fields are named after the settings. Single-valued settings with a default hold the
        /// effective value; those without one are `Option`s; multi-entry settings are `Vec`s in
        /// file order. Defaults are documented in [`crate::defaults`].
        ///
        /// ```
        /// use dmail_conf::{parse_str, Program, Platform, values::Seconds};
        /// let loaded = parse_str("imapd_timeout 86400\nhost_domain example.com\n",
        ///     "dmail.conf".into(), Program::Imapd, Platform::Unix);
        /// assert_eq!(loaded.config.imapd_timeout, Seconds(86400));
        /// assert_eq!(loaded.config.authent_timeout, Seconds(10));
        /// assert_eq!(loaded.config.host_domain[0].as_str(), "example.com");
        /// ```
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct Config {
            /// The platform whose rules and defaults apply.
            pub platform: Platform,
            $( $(#[doc = $ddoc])+ pub $dname: $dty, )*
            $( $(#[doc = $odoc])+ pub $oname: Option<$oty>, )*
            $( $(#[doc = $mdoc])+ pub $mname: Vec<$mty>, )*
            /// Settings IMAPD does not know, in file order, for DPOP and DSMTP callers.
            pub other: Vec<OtherSetting>,
        }

        /// Every setting IMAPD knows, alphabetically.
        pub static SETTINGS: &[SettingInfo] = &{
            let mut all = [
                $( SettingInfo { name: stringify!($dname), arity: Arity::Defaulted, doc: concat!($($ddoc),+) }, )*
                $( SettingInfo { name: stringify!($oname), arity: Arity::Optional, doc: concat!($($odoc),+) }, )*
                $( SettingInfo { name: stringify!($mname), arity: Arity::Multi, doc: concat!($($mdoc),+) }, )*
            ];
            sort_infos(&mut all);
            all
        };

        impl Config {
            /// A configuration with every setting at its default for `platform`.
            ///
            /// ```
            /// use dmail_conf::{Config, Platform, values::AuthentMethod};
            /// assert_eq!(Config::defaults(Platform::Nt).authent_method, AuthentMethod::NtUser);
            /// ```
            pub fn defaults(platform: Platform) -> Config {
                Config {
                    platform,
                    $( $dname: ($ddefault)(platform), )*
                    $( $oname: None, )*
                    $( $mname: Vec::new(), )*
                    other: Vec::new(),
                }
            }

            /// Stores one value. `name` must already be lower-case.
            pub(crate) fn store(&mut self, name: &str, raw: &str) -> Result<Stored, ValueError> {
                let platform = self.platform;
                match name {
                    $( stringify!($dname) => {
                        self.$dname = <$dty as SettingValue>::parse_value(raw, platform)?;
                        Ok(Stored::Known(Arity::Defaulted))
                    } )*
                    $( stringify!($oname) => {
                        self.$oname = Some(<$oty as SettingValue>::parse_value(raw, platform)?);
                        Ok(Stored::Known(Arity::Optional))
                    } )*
                    $( stringify!($mname) => {
                        self.$mname.push(<$mty as SettingValue>::parse_value(raw, platform)?);
                        Ok(Stored::Known(Arity::Multi))
                    } )*
                    _ => {
                        self.other.push(OtherSetting { name: name.to_owned(), value: raw.to_owned() });
                        Ok(Stored::Other)
                    }
                }
            }

            /// The values of a known setting as dmail.conf text, one per entry (empty when an
            /// optional or multi-entry setting is unset). `None` for a name IMAPD does not know.
            ///
            /// ```
            /// use dmail_conf::{Config, Platform};
            /// let c = Config::defaults(Platform::Unix);
            /// assert_eq!(c.rendered("hash_spool"), Some(vec!["0".to_owned()]));
            /// assert_eq!(c.rendered("drop_path"), Some(vec![]));
            /// assert_eq!(c.rendered("no_such_setting"), None);
            /// ```
            pub fn rendered(&self, name: &str) -> Option<Vec<String>> {
                match name {
                    $( stringify!($dname) => Some(vec![self.$dname.render_value()]), )*
                    $( stringify!($oname) => Some(self.$oname.iter().map(SettingValue::render_value).collect()), )*
                    $( stringify!($mname) => Some(self.$mname.iter().map(SettingValue::render_value).collect()), )*
                    _ => None,
                }
            }
        }
    };
}

const fn sort_infos<const N: usize>(all: &mut [SettingInfo; N]) {
    // Insertion sort by name, so the table can be a `static` computed at compile time.
    let mut i = 1;
    while i < N {
        let mut j = i;
        while j > 0 && name_less(all[j].name, all[j - 1].name) {
            all.swap(j, j - 1);
            j -= 1;
        }
        i += 1;
    }
}

const fn name_less(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

settings! {
    defaulted {
        /// `authent_domain`: send `local@DOMAIN` rather than the system name to the external
        /// authenticator.
        authent_domain: bool = |_| defaults::AUTHENT_DOMAIN;
        /// `authent_method`: where passwords are checked.
        authent_method: AuthentMethod = defaults::authent_method;
        /// `authent_number`: external authenticator children kept by imapdsvc.
        authent_number: u32 = |_| defaults::AUTHENT_NUMBER;
        /// `authent_timeout`: how long the external authenticator may take to answer.
        authent_timeout: Seconds = |_| defaults::AUTHENT_TIMEOUT;
        /// `bulletin_from`: the sender shown on bulletin messages.
        bulletin_from: String = |_| defaults::BULLETIN_FROM.to_owned();
        /// `drop_prefix`: whether virtual-domain drop files carry the domain's prefix.
        drop_prefix: bool = |_| defaults::DROP_PREFIX;
        /// `forward_user`: record logins so that DSMTP lets those addresses relay.
        forward_user: bool = |_| defaults::FORWARD_USER;
        /// `forward_window`: how long a login lets its address relay.
        forward_window: Seconds = |_| defaults::FORWARD_WINDOW;
        /// `hash_spool`: directory levels above each drop file.
        hash_spool: HashSpool = |_| defaults::HASH_SPOOL;
        /// `imapd_become_user`: run sessions of system users as those users.
        imapd_become_user: bool = |_| defaults::IMAPD_BECOME_USER;
        /// `imapd_enable_new_hashing`: the hashing of IMAPD 4.4.3y and later (false: the old).
        imapd_enable_new_hashing: bool = |_| defaults::IMAPD_ENABLE_NEW_HASHING;
        /// `imapd_idle_check`: time between mailbox checks during IDLE.
        imapd_idle_check: Seconds = |_| defaults::IMAPD_IDLE_CHECK;
        /// `imapd_include_level`: how many levels of `#include` IMAPD follows.
        imapd_include_level: u32 = |_| defaults::IMAPD_INCLUDE_LEVEL;
        /// `imapd_lock_stale`: age at which a foreign dot-lock counts as stale.
        imapd_lock_stale: Seconds = |_| defaults::IMAPD_LOCK_STALE;
        /// `imapd_login_delay`: delay after each failed login.
        imapd_login_delay: Seconds = |_| defaults::IMAPD_LOGIN_DELAY;
        /// `imapd_login_disabled`: refuse plaintext logins until TLS is on.
        imapd_login_disabled: bool = |_| defaults::IMAPD_LOGIN_DISABLED;
        /// `imapd_max_bad_commands`: bad commands in a row before the connection is closed.
        imapd_max_bad_commands: u32 = |_| defaults::IMAPD_MAX_BAD_COMMANDS;
        /// `imapd_max_connections`: connections imapdsvc serves at once.
        imapd_max_connections: u32 = |_| defaults::IMAPD_MAX_CONNECTIONS;
        /// `imapd_max_connections_per_ip`: connections imapdsvc serves at once per client address.
        imapd_max_connections_per_ip: u32 = |_| defaults::IMAPD_MAX_CONNECTIONS_PER_IP;
        /// `imapd_max_connections_per_user`: sessions imapdsvc serves at once per user.
        imapd_max_connections_per_user: u32 = |_| defaults::IMAPD_MAX_CONNECTIONS_PER_USER;
        /// `imapd_max_line`: longest command line after login.
        imapd_max_line: Bytes = |_| defaults::IMAPD_MAX_LINE;
        /// `imapd_max_login_failures`: failed logins per connection before it is closed.
        imapd_max_login_failures: u32 = |_| defaults::IMAPD_MAX_LOGIN_FAILURES;
        /// `imapd_max_message`: largest message a client may APPEND.
        imapd_max_message: Bytes = |_| defaults::IMAPD_MAX_MESSAGE;
        /// `imapd_timeout`: idle time after login before autologout.
        imapd_timeout: Seconds = |_| defaults::IMAPD_TIMEOUT;
        /// `invalid_chars`: characters encoded in drop-file names.
        invalid_chars: String = defaults::invalid_chars;
        /// `log_level`: how much is logged.
        log_level: LogLevel = |_| defaults::LOG_LEVEL;
        /// `lowercase_password`: lower-case passwords before checking them.
        lowercase_password: bool = |_| defaults::LOWERCASE_PASSWORD;
        /// `lowercase_username`: lower-case the local part of logins.
        lowercase_username: bool = |_| defaults::LOWERCASE_USERNAME;
        /// `maildir_suffix`: append `.mdir` to maildir names.
        maildir_suffix: bool = |_| defaults::MAILDIR_SUFFIX;
        /// `max_log_size`: size at which the log file is rotated.
        max_log_size: Bytes = |_| defaults::MAX_LOG_SIZE;
        /// `use_maildir`: keep INBOX and folders as maildirs.
        use_maildir: bool = |_| defaults::USE_MAILDIR;
        /// `user_quota`: per-user quotas and their default limit.
        user_quota: UserQuota = |_| defaults::USER_QUOTA;
        /// `vdomain_separator`: between a virtual domain's prefix and the local part.
        vdomain_separator: String = |_| defaults::VDOMAIN_SEPARATOR.to_owned();
    }
    optional {
        /// `authent_process`: the external authenticator's command line.
        authent_process: CommandLine;
        /// `bulletin_path`: the directory of bulletin messages (unset: no bulletins).
        bulletin_path: Utf8PathBuf;
        /// `dmail_path`: DMail's directory; the default `log_path` is beneath it.
        dmail_path: Utf8PathBuf;
        /// `dpop_host`: the address imapdsvc listens on (unset: every address).
        dpop_host: IpAddr;
        /// `drop_path`: the directory of main-domain drop files (required).
        drop_path: Utf8PathBuf;
        /// `imapd_authent_process`: IMAPD's own external authenticator, instead of
        /// `authent_process`.
        imapd_authent_process: CommandLine;
        /// `imapd_mailbox_name`: folders of system users in this directory of their home.
        imapd_mailbox_name: HomeSubdir;
        /// `imapd_strip_domain`: a suffix removed from logins that end with it.
        imapd_strip_domain: String;
        /// `imapd_tls_cert`: PEM certificate chain for STARTTLS and implicit TLS.
        imapd_tls_cert: Utf8PathBuf;
        /// `imapd_tls_key`: PEM private key for `imapd_tls_cert`.
        imapd_tls_key: Utf8PathBuf;
        /// `lock_id`: NFS-safe dot-locks holding this id (multi-server systems).
        lock_id: String;
        /// `log_path`: the directory of log files (default: see [`Config::log_dir`]).
        log_path: Utf8PathBuf;
        /// `maildir_home`: the base directory of maildirs (required with `use_maildir`).
        maildir_home: Utf8PathBuf;
    }
    multi {
        /// `host_domain`: the main domain (first) and its aliases.
        host_domain: DomainName;
        /// `maildir_althome`: maildir bases for virtual domains.
        maildir_althome: MaildirAlthome;
        /// `user_ip_address`: client addresses allowed to connect (none: all).
        user_ip_address: WildcardList;
        /// `valid_users`: system names allowed to log in (none: all).
        valid_users: WildcardList;
        /// `vdomain`: virtual domains.
        vdomain: Vdomain;
        /// `vdomain_passwd`: passwd-format files of virtual domains.
        vdomain_passwd: VdomainPasswd;
    }
}

impl Config {
    /// Looks up a setting IMAPD knows.
    ///
    /// ```
    /// use dmail_conf::{Config, config::Arity};
    /// assert_eq!(Config::setting_info("vdomain").unwrap().arity, Arity::Multi);
    /// assert!(Config::setting_info("drop_users").is_none());
    /// ```
    pub fn setting_info(name: &str) -> Option<&'static SettingInfo> {
        SETTINGS
            .binary_search_by(|s| s.name.cmp(name))
            .ok()
            .map(|i| &SETTINGS[i])
    }

    /// The directory log files go to: `log_path`, or its default (see [`defaults::log_path`]).
    ///
    /// ```
    /// use dmail_conf::{Config, Platform};
    /// let mut c = Config::defaults(Platform::Unix);
    /// assert_eq!(c.log_dir(), "/usr/local/dmail/log");
    /// c.dmail_path = Some("/opt/dmail".into());
    /// assert_eq!(c.log_dir(), "/opt/dmail/log");
    /// ```
    pub fn log_dir(&self) -> Utf8PathBuf {
        match &self.log_path {
            Some(p) => p.clone(),
            None => defaults::log_path(self.platform, self.dmail_path.as_deref()),
        }
    }

    /// The external authenticator IMAPD uses: `imapd_authent_process`, else `authent_process`.
    ///
    /// ```
    /// use dmail_conf::{parse_str, Program, Platform};
    /// let l = parse_str("authent_process /a\nimapd_authent_process /b\n", "c".into(), Program::Imapd, Platform::Unix);
    /// assert_eq!(l.config.imapd_authenticator().unwrap().program(), "/b");
    /// ```
    pub fn imapd_authenticator(&self) -> Option<&CommandLine> {
        self.imapd_authent_process
            .as_ref()
            .or(self.authent_process.as_ref())
    }

    /// The `vdomain_passwd` file of a virtual domain, matched by its DOMAIN or `@SUFFIX`.
    ///
    /// ```
    /// use dmail_conf::{parse_str, Program, Platform};
    /// let l = parse_str("vdomain cc @computers.com computers.com /vd/cc\nvdomain_passwd computers.com /etc/cc.pw\n",
    ///     "c".into(), Program::Imapd, Platform::Unix);
    /// assert_eq!(l.config.vdomain_passwd_for(&l.config.vdomain[0]).unwrap().path, "/etc/cc.pw");
    /// ```
    pub fn vdomain_passwd_for(&self, vdomain: &Vdomain) -> Option<&VdomainPasswd> {
        self.vdomain_passwd
            .iter()
            .find(|p| vdomain.is_named(&p.domain))
    }

    /// Every value of a setting IMAPD does not know, in file order.
    pub fn other_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.other
            .iter()
            .filter(move |o| o.name.eq_ignore_ascii_case(name))
            .map(|o| o.value.as_str())
    }

    /// Writes the configuration back as dmail.conf text: every known setting that differs from
    /// its default or has a value, then the other settings, so that reading the text gives this
    /// configuration again.
    ///
    /// ```
    /// use dmail_conf::{parse_str, Program, Platform};
    /// let a = parse_str("HASH_SPOOL 2\nfoo bar\n", "c".into(), Program::Dpop, Platform::Unix).config;
    /// let text = a.render();
    /// assert_eq!(text, "hash_spool 2\nfoo bar\n");
    /// let b = parse_str(&text, "c".into(), Program::Dpop, Platform::Unix).config;
    /// assert_eq!(a, b);
    /// ```
    pub fn render(&self) -> String {
        let defaults = Config::defaults(self.platform);
        let mut out = String::new();
        for info in SETTINGS {
            let values = self.rendered(info.name).unwrap_or_default();
            if info.arity == Arity::Defaulted
                && values == defaults.rendered(info.name).unwrap_or_default()
            {
                continue;
            }
            for v in values {
                out.push_str(info.name);
                out.push(' ');
                out.push_str(&v);
                out.push('\n');
            }
        }
        for o in &self.other {
            out.push_str(&o.name);
            out.push(' ');
            out.push_str(&o.value);
            out.push('\n');
        }
        out
    }
}
