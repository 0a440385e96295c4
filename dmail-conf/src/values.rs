//! The typed values of dmail.conf settings: how each kind of value is parsed from the text after
//! the setting's name, and how it is written back (`render`) so that parse(render(v)) == v.
//!
//! Parsing here sees one value at a time; it must never know which file or line it came from (the
//! loader adds that), and an error message must never repeat the value's text, since a
//! diagnostic may be shown to someone who should not see the file's contents.

use std::fmt;
use std::net::IpAddr;

use camino::{Utf8Path, Utf8PathBuf};

use crate::Platform;
use crate::ip::canonical_ip;
use crate::wildcard::WildcardList;

/// Why a value was refused. The text names what was expected, never the value itself.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

fn invalid(reason: impl Into<String>) -> ValueError {
    ValueError(reason.into())
}

/// A kind of setting value: parsed from the trimmed text after the setting's name.
///
/// ```
/// use dmail_conf::values::SettingValue;
/// use dmail_conf::Platform;
/// assert_eq!(bool::parse_value("Yes", Platform::Unix), Ok(true));
/// assert_eq!(true.render_value(), "true");
/// ```
pub trait SettingValue: Sized {
    /// Parses a trimmed, non-empty value.
    fn parse_value(raw: &str, platform: Platform) -> Result<Self, ValueError>;
    /// Writes the value so that [`SettingValue::parse_value`] gives it back.
    fn render_value(&self) -> String;
}

fn blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn words(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(blank).filter(|w| !w.is_empty())
}

/// Splits off the first blank-separated word; the rest is trimmed.
fn first_word(raw: &str) -> (&str, &str) {
    match raw.find(blank) {
        Some(i) => (&raw[..i], raw[i..].trim_matches(blank)),
        None => (raw, ""),
    }
}

impl SettingValue for bool {
    /// `true`/`false`, `yes`/`no`, `on`/`off`, any case (dmail-conventions §1).
    fn parse_value(raw: &str, _: Platform) -> Result<Self, ValueError> {
        match raw.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Ok(true),
            "false" | "no" | "off" => Ok(false),
            _ => Err(invalid("expected true or false")),
        }
    }
    fn render_value(&self) -> String {
        if *self { "true" } else { "false" }.to_owned()
    }
}

fn parse_u64(raw: &str, what: &str) -> Result<u64, ValueError> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!("expected {what}")));
    }
    raw.parse::<u64>()
        .map_err(|_| invalid(format!("expected {what}; the number is too large")))
}

impl SettingValue for u32 {
    fn parse_value(raw: &str, _: Platform) -> Result<Self, ValueError> {
        let n = parse_u64(raw, "a whole number")?;
        u32::try_from(n).map_err(|_| invalid("expected a whole number; the number is too large"))
    }
    fn render_value(&self) -> String {
        self.to_string()
    }
}

/// A duration in whole seconds, as every DMail program writes it (no unit suffixes, so that DPOP
/// and DSMTP reading the same file agree).
///
/// ```
/// use dmail_conf::values::Seconds;
/// assert_eq!(Seconds(90).as_duration().as_secs(), 90);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seconds(pub u64);

impl Seconds {
    /// As a `std::time::Duration`.
    pub const fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.0)
    }
}

impl SettingValue for Seconds {
    fn parse_value(raw: &str, _: Platform) -> Result<Self, ValueError> {
        parse_u64(raw, "a whole number of seconds").map(Seconds)
    }
    fn render_value(&self) -> String {
        self.0.to_string()
    }
}

/// A size in bytes, written as a plain number (as DPOP writes `max_log_size`).
///
/// ```
/// use dmail_conf::values::Bytes;
/// assert_eq!(Bytes(1024).get(), 1024);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub u64);

impl Bytes {
    /// The number of bytes.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl SettingValue for Bytes {
    fn parse_value(raw: &str, _: Platform) -> Result<Self, ValueError> {
        parse_u64(raw, "a whole number of bytes").map(Bytes)
    }
    fn render_value(&self) -> String {
        self.0.to_string()
    }
}

impl SettingValue for String {
    /// Free text: the whole trimmed value, spaces included.
    fn parse_value(raw: &str, _: Platform) -> Result<Self, ValueError> {
        Ok(raw.to_owned())
    }
    fn render_value(&self) -> String {
        self.clone()
    }
}

impl SettingValue for Utf8PathBuf {
    /// A path, taken literally (`c:\dmail\in` stays as written).
    fn parse_value(raw: &str, _: Platform) -> Result<Self, ValueError> {
        Ok(Utf8PathBuf::from(raw))
    }
    fn render_value(&self) -> String {
        self.to_string()
    }
}

impl SettingValue for IpAddr {
    /// An IPv4 or IPv6 address; an IPv4-mapped IPv6 address is kept as IPv4 (§6).
    fn parse_value(raw: &str, _: Platform) -> Result<Self, ValueError> {
        raw.parse::<IpAddr>()
            .map(canonical_ip)
            .map_err(|_| invalid("expected an IPv4 or IPv6 address"))
    }
    fn render_value(&self) -> String {
        self.to_string()
    }
}

/// `authent_method`: where passwords are checked.
///
/// ```
/// use dmail_conf::values::{AuthentMethod, SettingValue};
/// use dmail_conf::Platform;
/// assert_eq!(AuthentMethod::parse_value("External", Platform::Unix), Ok(AuthentMethod::External));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthentMethod {
    /// The system's passwd/shadow database (or a `vdomain_passwd` file).
    UnixUser,
    /// Windows NT accounts.
    NtUser,
    /// A long-lived `authent_process` child (dmail-conventions §3a).
    External,
}

impl SettingValue for AuthentMethod {
    fn parse_value(raw: &str, _: Platform) -> Result<Self, ValueError> {
        match raw.to_ascii_lowercase().as_str() {
            "unix_user" => Ok(AuthentMethod::UnixUser),
            "nt_user" => Ok(AuthentMethod::NtUser),
            "external" => Ok(AuthentMethod::External),
            _ => Err(invalid("expected unix_user, nt_user or external")),
        }
    }
    fn render_value(&self) -> String {
        match self {
            AuthentMethod::UnixUser => "unix_user",
            AuthentMethod::NtUser => "nt_user",
            AuthentMethod::External => "external",
        }
        .to_owned()
    }
}

/// `log_level`: how much goes to the log.
///
/// ```
/// use dmail_conf::values::LogLevel;
/// assert!(LogLevel::Debug > LogLevel::Info);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Errors and one line per login and notable event.
    Info,
    /// Everything, for finding a problem.
    Debug,
}

impl SettingValue for LogLevel {
    fn parse_value(raw: &str, _: Platform) -> Result<Self, ValueError> {
        match raw.to_ascii_lowercase().as_str() {
            "error" => Ok(LogLevel::Error),
            "info" => Ok(LogLevel::Info),
            "debug" => Ok(LogLevel::Debug),
            _ => Err(invalid("expected error, info or debug")),
        }
    }
    fn render_value(&self) -> String {
        match self {
            LogLevel::Error => "error",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
        .to_owned()
    }
}

/// `hash_spool`: how many levels of one-character directories sit above each drop file.
///
/// ```
/// use dmail_conf::values::HashSpool;
/// assert_eq!(HashSpool::Two.levels(), 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashSpool {
    /// `0`: drop files directly in the base directory.
    None,
    /// `1`: `b/bob`.
    One,
    /// `2`: `b/o/bob`.
    Two,
}

impl HashSpool {
    /// The number of directory levels.
    pub const fn levels(self) -> usize {
        match self {
            HashSpool::None => 0,
            HashSpool::One => 1,
            HashSpool::Two => 2,
        }
    }
}

impl SettingValue for HashSpool {
    fn parse_value(raw: &str, _: Platform) -> Result<Self, ValueError> {
        match raw {
            "0" => Ok(HashSpool::None),
            "1" => Ok(HashSpool::One),
            "2" => Ok(HashSpool::Two),
            _ => Err(invalid("expected 0, 1 or 2")),
        }
    }
    fn render_value(&self) -> String {
        self.levels().to_string()
    }
}

/// `user_quota`: off, on without a default limit, or on with a default limit in kbytes.
///
/// ```
/// use dmail_conf::values::{SettingValue, UserQuota};
/// use dmail_conf::Platform;
/// assert_eq!(UserQuota::parse_value("20000", Platform::Unix), Ok(UserQuota::Limit(20000)));
/// assert_eq!(UserQuota::parse_value("0", Platform::Unix), Ok(UserQuota::Off));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UserQuota {
    /// `false` or `0`.
    Off,
    /// `true`: quotas apply where a user's own limit is known.
    On,
    /// A number of kbytes: the limit for users without their own.
    Limit(u64),
}

impl SettingValue for UserQuota {
    fn parse_value(raw: &str, platform: Platform) -> Result<Self, ValueError> {
        if let Ok(on) = bool::parse_value(raw, platform) {
            return Ok(if on { UserQuota::On } else { UserQuota::Off });
        }
        match parse_u64(raw, "true, false or a number of kbytes")? {
            0 => Ok(UserQuota::Off),
            n => Ok(UserQuota::Limit(n)),
        }
    }
    fn render_value(&self) -> String {
        match self {
            UserQuota::Off => "false".to_owned(),
            UserQuota::On => "true".to_owned(),
            UserQuota::Limit(n) => n.to_string(),
        }
    }
}

/// A command line: the program's path, then its arguments split on blanks
/// (`authent_process`, `imapd_authent_process`).
///
/// ```
/// use dmail_conf::values::{CommandLine, SettingValue};
/// use dmail_conf::Platform;
/// let c = CommandLine::parse_value("/usr/local/dmail/nwauth  -v", Platform::Unix).unwrap();
/// assert_eq!(c.program(), "/usr/local/dmail/nwauth");
/// assert_eq!(c.args(), ["-v"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CommandLine {
    words: Vec<String>,
}

impl CommandLine {
    /// The program to run.
    pub fn program(&self) -> &str {
        self.words.first().map_or("", String::as_str)
    }
    /// Its arguments.
    pub fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or(&[])
    }
}

impl SettingValue for CommandLine {
    fn parse_value(raw: &str, _: Platform) -> Result<Self, ValueError> {
        let words: Vec<String> = words(raw).map(str::to_owned).collect();
        if words.is_empty() {
            return Err(invalid("expected a program path"));
        }
        Ok(CommandLine { words })
    }
    fn render_value(&self) -> String {
        self.words.join(" ")
    }
}

/// A domain name as written in `host_domain`: one word, compared ASCII case-insensitively.
///
/// ```
/// use dmail_conf::values::{DomainName, SettingValue};
/// use dmail_conf::Platform;
/// let d = DomainName::parse_value("Example.COM", Platform::Unix).unwrap();
/// assert!(d.matches("example.com"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DomainName(String);

impl DomainName {
    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Whether `typed` names this domain (ASCII case-insensitive, no sub-domain matching).
    pub fn matches(&self, typed: &str) -> bool {
        self.0.eq_ignore_ascii_case(typed)
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn domain_word(raw: &str) -> Result<String, ValueError> {
    if raw.is_empty() || raw.contains(|c: char| blank(c) || c.is_control() || c == '@') {
        return Err(invalid("expected one domain name"));
    }
    Ok(raw.to_owned())
}

impl SettingValue for DomainName {
    fn parse_value(raw: &str, _: Platform) -> Result<Self, ValueError> {
        domain_word(raw).map(DomainName)
    }
    fn render_value(&self) -> String {
        self.0.clone()
    }
}

/// What selects a virtual domain when the user typed no domain, or by which suffix it is typed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum VdomainKey {
    /// `@SUFFIX`: logins `local@SUFFIX` (stored without the `@`).
    Suffix(String),
    /// `IPADDR`: logins without a domain arriving on this local address.
    Address(IpAddr),
}

/// One `vdomain PREFIX @SUFFIX|IPADDR DOMAIN DIR` line. DIR is the rest of the line, so it may
/// contain blanks.
///
/// ```
/// use dmail_conf::values::{SettingValue, Vdomain, VdomainKey};
/// use dmail_conf::Platform;
/// let v = Vdomain::parse_value("cc @computers.com computers.com /var/spool/vd/cc", Platform::Unix).unwrap();
/// assert_eq!(v.prefix, "cc");
/// assert_eq!(v.key, VdomainKey::Suffix("computers.com".into()));
/// assert!(v.selected_by("COMPUTERS.com"));
/// assert!(v.is_named("computers.com"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Vdomain {
    /// The prefix of the domain's system names (`cc` in `cc_sales`).
    pub prefix: String,
    /// The suffix or local address that selects it.
    pub key: VdomainKey,
    /// The domain's name.
    pub domain: String,
    /// The base directory of its drop files.
    pub dir: Utf8PathBuf,
}

impl Vdomain {
    /// Whether a domain typed in a login selects this virtual domain (dmail-conventions §3 step
    /// 2): only `@SUFFIX` lines are selected by a typed domain, when it equals their SUFFIX or
    /// DOMAIN, ASCII case-insensitively, with no sub-domain matching. An IP line is selected by
    /// the local address alone. \[decided\]
    pub fn selected_by(&self, typed: &str) -> bool {
        match &self.key {
            VdomainKey::Suffix(s) => {
                s.eq_ignore_ascii_case(typed) || self.domain.eq_ignore_ascii_case(typed)
            }
            VdomainKey::Address(_) => false,
        }
    }

    /// Whether a domain named by another setting (`vdomain_passwd`, `maildir_althome`) means this
    /// virtual domain: its DOMAIN, or its SUFFIX, ASCII case-insensitively.
    pub fn is_named(&self, name: &str) -> bool {
        let by_suffix = matches!(&self.key, VdomainKey::Suffix(s) if s.eq_ignore_ascii_case(name));
        by_suffix || self.domain.eq_ignore_ascii_case(name)
    }
}

impl SettingValue for Vdomain {
    fn parse_value(raw: &str, _: Platform) -> Result<Self, ValueError> {
        const SHAPE: &str = "expected PREFIX @SUFFIX|IPADDR DOMAIN DIR";
        let (prefix, rest) = first_word(raw);
        let (key, rest) = first_word(rest);
        let (domain, dir) = first_word(rest);
        if prefix.is_empty() || key.is_empty() || domain.is_empty() || dir.is_empty() {
            return Err(invalid(SHAPE));
        }
        if prefix.contains(|c: char| c.is_control()) {
            return Err(invalid("the PREFIX holds a control character"));
        }
        let key =
            match key.strip_prefix('@') {
                Some(suffix) => VdomainKey::Suffix(
                    domain_word(suffix).map_err(|_| invalid("expected a domain after @"))?,
                ),
                None => VdomainKey::Address(canonical_ip(key.parse::<IpAddr>().map_err(|_| {
                    invalid("expected @SUFFIX or an IP address as the second word")
                })?)),
            };
        let domain = domain_word(domain).map_err(|_| invalid(SHAPE))?;
        Ok(Vdomain {
            prefix: prefix.to_owned(),
            key,
            domain,
            dir: Utf8PathBuf::from(dir),
        })
    }
    fn render_value(&self) -> String {
        let key = match &self.key {
            VdomainKey::Suffix(s) => format!("@{s}"),
            VdomainKey::Address(a) => a.to_string(),
        };
        format!("{} {} {} {}", self.prefix, key, self.domain, self.dir)
    }
}

/// One `vdomain_passwd DOMAIN PATH` line: a passwd-format file for that virtual domain.
///
/// ```
/// use dmail_conf::values::{SettingValue, VdomainPasswd};
/// use dmail_conf::Platform;
/// let p = VdomainPasswd::parse_value("computers.com /etc/vd/cc.passwd", Platform::Unix).unwrap();
/// assert_eq!(p.path, "/etc/vd/cc.passwd");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VdomainPasswd {
    /// The virtual domain's DOMAIN (or its `@SUFFIX` without the `@`).
    pub domain: String,
    /// The passwd-format file.
    pub path: Utf8PathBuf,
}

impl SettingValue for VdomainPasswd {
    fn parse_value(raw: &str, _: Platform) -> Result<Self, ValueError> {
        let (domain, path) = first_word(raw);
        let domain = domain.strip_prefix('@').unwrap_or(domain);
        if path.is_empty() {
            return Err(invalid("expected DOMAIN PATH"));
        }
        let domain = domain_word(domain).map_err(|_| invalid("expected DOMAIN PATH"))?;
        Ok(VdomainPasswd {
            domain,
            path: Utf8PathBuf::from(path),
        })
    }
    fn render_value(&self) -> String {
        format!("{} {}", self.domain, self.path)
    }
}

/// One `maildir_althome [DOMAIN] PATH` line: the maildir base for one virtual domain, or (without
/// DOMAIN) for every virtual domain.
///
/// A value with two or more words whose first word holds no path separator is `DOMAIN PATH`;
/// anything else is a `PATH`, which may contain blanks. \[decided\]
///
/// ```
/// use dmail_conf::values::{MaildirAlthome, SettingValue};
/// use dmail_conf::Platform;
/// let a = MaildirAlthome::parse_value("/shared/spool/maildir/vdomain1", Platform::Unix).unwrap();
/// assert_eq!(a.domain, None);
/// let b = MaildirAlthome::parse_value("x.com /srv/x", Platform::Unix).unwrap();
/// assert_eq!(b.domain.as_deref(), Some("x.com"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MaildirAlthome {
    /// The virtual domain it is for; `None` for every virtual domain.
    pub domain: Option<String>,
    /// The base directory of those users' maildirs.
    pub path: Utf8PathBuf,
}

impl SettingValue for MaildirAlthome {
    fn parse_value(raw: &str, platform: Platform) -> Result<Self, ValueError> {
        let (first, rest) = first_word(raw);
        if !rest.is_empty() && !first.chars().any(|c| platform.is_separator(c)) {
            let domain = domain_word(first).map_err(|_| invalid("expected [DOMAIN] PATH"))?;
            return Ok(MaildirAlthome {
                domain: Some(domain),
                path: Utf8PathBuf::from(rest),
            });
        }
        Ok(MaildirAlthome {
            domain: None,
            path: Utf8PathBuf::from(raw),
        })
    }
    fn render_value(&self) -> String {
        match &self.domain {
            Some(d) => format!("{d} {}", self.path),
            None => self.path.to_string(),
        }
    }
}

/// `imapd_mailbox_name`: a directory relative to a user's home (`.` is the home itself).
/// Absolute paths and `..` are refused, so that the setting cannot point outside the home.
///
/// ```
/// use dmail_conf::values::{HomeSubdir, SettingValue};
/// use dmail_conf::Platform;
/// assert!(HomeSubdir::parse_value("mail", Platform::Unix).is_ok());
/// assert!(HomeSubdir::parse_value("../etc", Platform::Unix).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HomeSubdir(Utf8PathBuf);

impl HomeSubdir {
    /// The relative path as written.
    pub fn as_path(&self) -> &Utf8Path {
        &self.0
    }
    /// Whether it names the home directory itself (`.`).
    pub fn is_home(&self) -> bool {
        self.0
            .components()
            .all(|c| c == camino::Utf8Component::CurDir)
    }
}

impl SettingValue for HomeSubdir {
    fn parse_value(raw: &str, platform: Platform) -> Result<Self, ValueError> {
        let starts_absolute = raw.starts_with(|c| platform.is_separator(c))
            || (platform == Platform::Nt && raw.as_bytes().get(1) == Some(&b':'));
        let has_parent = raw
            .split(|c| platform.is_separator(c))
            .any(|part| part == "..");
        if starts_absolute || has_parent {
            return Err(invalid(
                "expected a directory relative to the home directory, without ..",
            ));
        }
        Ok(HomeSubdir(Utf8PathBuf::from(raw)))
    }
    fn render_value(&self) -> String {
        self.0.to_string()
    }
}

impl SettingValue for WildcardList {
    fn parse_value(raw: &str, _: Platform) -> Result<Self, ValueError> {
        WildcardList::parse(raw).ok_or_else(|| invalid("expected one or more patterns"))
    }
    fn render_value(&self) -> String {
        self.to_string()
    }
}
