//! Where a user's mail lives: dmail-conventions §3 steps 5–9 and §5, as pure functions of the
//! configuration and a resolved login.
//!
//! Every decided naming rule (leaf, `%XX` encoding, hash directories, `.mbx`, subscription file
//! names) is one small function here, named in its rustdoc. This module must never touch the file
//! system or the password database: the caller supplies a home directory when one is needed, so
//! the same answers come out on any machine and for both platforms.

use std::fmt;

use camino::{Utf8Path, Utf8PathBuf};
use dmail_conf::values::AuthentMethod;
use dmail_conf::{Config, LoginDomain, Platform, ResolvedLogin};

/// The path of a user's drop file (their INBOX).
///
/// ```
/// use dmail_store::layout::DropPath;
/// let d = DropPath::new("/var/spool/mail/bob".into());
/// assert_eq!(d.to_string(), "/var/spool/mail/bob");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DropPath(Utf8PathBuf);

impl DropPath {
    /// Wraps a path known to be a drop file (e.g. an external authenticator's absolute answer).
    pub fn new(path: Utf8PathBuf) -> Self {
        DropPath(path)
    }
    /// The path.
    pub fn as_path(&self) -> &Utf8Path {
        &self.0
    }
}

impl fmt::Display for DropPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Everything a user's mail is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailPaths {
    /// The drop file (INBOX).
    pub drop_file: DropPath,
    /// Where folders other than INBOX live, without a trailing separator.
    pub folder_dir: Utf8PathBuf,
    /// The subscription list.
    pub subscriptions: Utf8PathBuf,
    /// The maildir, when `use_maildir` is true.
    pub maildir: Option<Utf8PathBuf>,
}

/// Why a login has no place for its mail. Logged, never shown to a client.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// A main-domain user, and `drop_path` is not set.
    #[error("drop_path is not set")]
    NoDropPath,
    /// The leaf would be `.` or `..`.
    #[error("the user name {0:?} cannot name a file")]
    DotLeaf(String),
    /// `imapd_mailbox_name` applies and no home directory is known.
    #[error("imapd_mailbox_name needs the user's home directory, which is not known")]
    NoHome,
    /// `use_maildir` and neither `maildir_home` nor a matching `maildir_althome`.
    #[error("use_maildir is true and maildir_home is not set")]
    NoMaildirHome,
}

/// Step 5, the leaf name: the system name, except that with `drop_prefix false` a
/// virtual-domain user's leaf is the local part alone. \[doc + decided\]
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform};
/// use dmail_store::layout::leaf_name;
/// let c = parse_str("vdomain cc @c.com c.com /vd\ndrop_prefix false\n", "c".into(), Program::Imapd, Platform::Unix).config;
/// assert_eq!(leaf_name(&c, &c.resolve_login(b"sales@c.com", None).unwrap()), "sales");
/// ```
pub fn leaf_name<'a>(config: &Config, login: &'a ResolvedLogin) -> &'a str {
    match login.domain {
        LoginDomain::Virtual { .. } if !config.drop_prefix => &login.local,
        _ => &login.system_name,
    }
}

/// Step 6: characters of `invalid_chars`, control characters, `%` and the platform's path
/// separators are written `%XX` (upper-case hex of each UTF-8 byte); a leaf of `.` or `..` is
/// refused. \[decided\]
///
/// ```
/// use dmail_conf::Platform;
/// use dmail_store::layout::encode_leaf;
/// assert_eq!(encode_leaf("a/b%c", "/", Platform::Unix).unwrap(), "a%2Fb%25c");
/// assert_eq!(encode_leaf("a\\b", "/", Platform::Nt).unwrap(), "a%5Cb");
/// assert!(encode_leaf("..", "/", Platform::Unix).is_err());
/// ```
pub fn encode_leaf(
    leaf: &str,
    invalid_chars: &str,
    platform: Platform,
) -> Result<String, LayoutError> {
    if leaf == "." || leaf == ".." {
        return Err(LayoutError::DotLeaf(leaf.to_owned()));
    }
    let mut out = String::with_capacity(leaf.len());
    for c in leaf.chars() {
        if c == '%' || c.is_control() || platform.is_separator(c) || invalid_chars.contains(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Step 8: the hash directories for a local part. Made from the local part (never the prefix),
/// ASCII lower-cased, before encoding: level 1 is its first character, level 2 its second, a
/// missing second character is `_`. New hashing turns anything outside `[a-z0-9]` into `_`.
/// Old hashing keeps the character, except that `.` adds no level (`a/./a.b` is `a/a.b`), and
/// `/`, `\`, control characters, `invalid_chars` and non-ASCII characters become `_` (the old
/// server hashed single bytes; a lone byte of a UTF-8 sequence cannot be a portable name).
/// \[doc + decided\]
///
/// ```
/// use dmail_store::layout::hash_dirs;
/// assert_eq!(hash_dirs("Bob", 2, true, "/"), ["b", "o"]);
/// assert_eq!(hash_dirs("a.b", 2, true, "/"), ["a", "_"]);
/// assert_eq!(hash_dirs("a.b", 2, false, "/"), ["a"]);
/// assert_eq!(hash_dirs("x", 2, true, "/"), ["x", "_"]);
/// ```
pub fn hash_dirs(
    local: &str,
    levels: usize,
    new_hashing: bool,
    invalid_chars: &str,
) -> Vec<String> {
    let mut chars = local.chars().map(|c| c.to_ascii_lowercase());
    let mut out = Vec::with_capacity(levels);
    for _ in 0..levels {
        let c = chars.next().unwrap_or('_');
        if new_hashing {
            let keep = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(if keep { c } else { '_' }.to_string());
        } else if c != '.' {
            let bad = c == '/'
                || c == '\\'
                || c.is_control()
                || !c.is_ascii()
                || invalid_chars.contains(c);
            out.push(if bad { '_' } else { c }.to_string());
        }
    }
    out
}

/// A path without trailing separators (but `/` stays `/`).
fn without_trailing_separator(path: &Utf8Path, platform: Platform) -> Utf8PathBuf {
    let trimmed = path.as_str().trim_end_matches(|c| platform.is_separator(c));
    if trimmed.is_empty() {
        path.to_owned()
    } else {
        Utf8PathBuf::from(trimmed)
    }
}

/// Steps 5–9: the drop file computed from the configuration.
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform};
/// use dmail_store::layout::drop_file;
/// let c = parse_str("drop_path /var/spool/mail\nhash_spool 2\nvdomain cc @computers.com computers.com /var/spool/vd/cc\n",
///     "c".into(), Program::Imapd, Platform::Unix).config;
/// let login = c.resolve_login(b"sales@computers.com", None).unwrap();
/// assert_eq!(drop_file(&c, &login).unwrap().as_path(), "/var/spool/vd/cc/s/a/cc_sales");
/// ```
pub fn drop_file(config: &Config, login: &ResolvedLogin) -> Result<DropPath, LayoutError> {
    let base = match login.vdomain() {
        Some(v) => v.dir.as_path(),
        None => config.drop_path.as_deref().ok_or(LayoutError::NoDropPath)?,
    };
    Ok(DropPath(user_path(config, login, base)?))
}

/// `base / hash dirs / encoded leaf`, shared by drop files and maildirs.
fn user_path(
    config: &Config,
    login: &ResolvedLogin,
    base: &Utf8Path,
) -> Result<Utf8PathBuf, LayoutError> {
    let platform = config.platform;
    let leaf = encode_leaf(leaf_name(config, login), &config.invalid_chars, platform)?;
    let dirs = hash_dirs(
        &login.local,
        config.hash_spool.levels(),
        config.imapd_enable_new_hashing,
        &config.invalid_chars,
    );
    let mut parts: Vec<&str> = dirs.iter().map(String::as_str).collect();
    parts.push(&leaf);
    Ok(platform.join(base, &parts))
}

/// The subscription list's file name: `.mailboxlist` on Unix, `MAILBOX.LST` on NT. \[doc\]
///
/// ```
/// use dmail_conf::Platform;
/// assert_eq!(dmail_store::layout::subscription_file_name(Platform::Nt), "MAILBOX.LST");
/// ```
pub fn subscription_file_name(platform: Platform) -> &'static str {
    match platform {
        Platform::Unix => ".mailboxlist",
        Platform::Nt => "MAILBOX.LST",
    }
}

/// Whether the user was "authenticated from the system password file", so that
/// `imapd_mailbox_name` applies: `authent_method unix_user` and either a main-domain user or a
/// virtual domain without a `vdomain_passwd` file. \[decided\]
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform};
/// use dmail_store::layout::uses_system_passwd;
/// let c = parse_str("authent_method external\n", "c".into(), Program::Imapd, Platform::Unix).config;
/// assert!(!uses_system_passwd(&c, &c.resolve_login(b"bob", None).unwrap()));
/// ```
pub fn uses_system_passwd(config: &Config, login: &ResolvedLogin) -> bool {
    config.authent_method == AuthentMethod::UnixUser
        && login
            .vdomain()
            .is_none_or(|v| config.vdomain_passwd_for(v).is_none())
}

/// Whether the folder directory depends on the user's home directory (so the caller must look it
/// up before calling [`mail_paths`]).
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform};
/// use dmail_store::layout::needs_home;
/// let c = parse_str("imapd_mailbox_name mail\n", "c".into(), Program::Imapd, Platform::Unix).config;
/// assert!(needs_home(&c, &c.resolve_login(b"bob", None).unwrap()));
/// ```
pub fn needs_home(config: &Config, login: &ResolvedLogin) -> bool {
    !config.use_maildir && config.imapd_mailbox_name.is_some() && uses_system_passwd(config, login)
}

/// The maildir base for a user: `maildir_althome` for a virtual-domain user (an entry naming
/// the domain first, then one for every virtual domain), else `maildir_home`.
fn maildir_base<'a>(config: &'a Config, login: &ResolvedLogin) -> Option<&'a Utf8Path> {
    if let Some(v) = login.vdomain() {
        let specific = config
            .maildir_althome
            .iter()
            .find(|a| a.domain.as_deref().is_some_and(|d| v.is_named(d)));
        let any = config.maildir_althome.iter().find(|a| a.domain.is_none());
        if let Some(alt) = specific.or(any) {
            return Some(&alt.path);
        }
    }
    config.maildir_home.as_deref()
}

/// The user's maildir (§5): `maildir_home / hash dirs / leaf`, plus `.mdir` when
/// `maildir_suffix` is true; `None` when `use_maildir` is false.
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform};
/// use dmail_store::layout::maildir;
/// let c = parse_str("use_maildir true\nmaildir_home /srv/md\nhash_spool 1\n", "c".into(), Program::Imapd, Platform::Unix).config;
/// let p = maildir(&c, &c.resolve_login(b"bob", None).unwrap()).unwrap();
/// assert_eq!(p.unwrap(), "/srv/md/b/bob.mdir");
/// ```
pub fn maildir(config: &Config, login: &ResolvedLogin) -> Result<Option<Utf8PathBuf>, LayoutError> {
    if !config.use_maildir {
        return Ok(None);
    }
    let base = maildir_base(config, login).ok_or(LayoutError::NoMaildirHome)?;
    let mut path = user_path(config, login, base)?;
    if config.maildir_suffix {
        path = Utf8PathBuf::from(format!("{path}.mdir"));
    }
    Ok(Some(path))
}

/// Everything for a login, computing the drop file from the configuration. `home` is the user's
/// home directory; it is needed only when [`needs_home`] says so.
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform};
/// use dmail_store::layout::mail_paths;
/// let c = parse_str("drop_path /var/spool/mail\nimapd_mailbox_name mail\n", "c".into(), Program::Imapd, Platform::Unix).config;
/// let login = c.resolve_login(b"bob", None).unwrap();
/// let p = mail_paths(&c, &login, Some("/home/bob".into())).unwrap();
/// assert_eq!(p.folder_dir, "/home/bob/mail");
/// assert_eq!(p.subscriptions, "/home/bob/mail/.mailboxlist");
/// ```
pub fn mail_paths(
    config: &Config,
    login: &ResolvedLogin,
    home: Option<&Utf8Path>,
) -> Result<MailPaths, LayoutError> {
    let drop = drop_file(config, login)?;
    mail_paths_with_drop(config, login, drop, home)
}

/// As [`mail_paths`], with a drop file decided elsewhere (an external authenticator's absolute
/// path, which is used as it is).
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform};
/// use dmail_store::layout::{mail_paths_with_drop, DropPath};
/// let c = parse_str("authent_method external\nauthent_process /bin/auth\n", "c".into(), Program::Imapd, Platform::Unix).config;
/// let login = c.resolve_login(b"bob", None).unwrap();
/// let p = mail_paths_with_drop(&c, &login, DropPath::new("/data/bob".into()), None).unwrap();
/// assert_eq!(p.folder_dir, "/data/bob.mbx");
/// ```
pub fn mail_paths_with_drop(
    config: &Config,
    login: &ResolvedLogin,
    drop_file: DropPath,
    home: Option<&Utf8Path>,
) -> Result<MailPaths, LayoutError> {
    let platform = config.platform;
    let maildir = maildir(config, login)?;
    let (folder_dir, list_name) = match (&maildir, &config.imapd_mailbox_name) {
        // §5: the maildir is its own folder directory; its list is `.mailboxlist`.
        (Some(md), _) => (md.clone(), ".mailboxlist"),
        (None, Some(name)) if uses_system_passwd(config, login) => {
            let home = without_trailing_separator(home.ok_or(LayoutError::NoHome)?, platform);
            let dir = if name.is_home() {
                home
            } else {
                platform.join(&home, &[name.as_path().as_str()])
            };
            (
                without_trailing_separator(&dir, platform),
                subscription_file_name(platform),
            )
        }
        _ => (folder_dir_of(&drop_file), subscription_file_name(platform)),
    };
    let subscriptions = platform.join(&folder_dir, &[list_name]);
    Ok(MailPaths {
        drop_file,
        folder_dir,
        subscriptions,
        maildir,
    })
}

/// Step 9 and §5: the folder directory beside a drop file is `DROPFILE.mbx`. \[doc\]
///
/// ```
/// use dmail_store::layout::{folder_dir_of, DropPath};
/// assert_eq!(folder_dir_of(&DropPath::new("/s/bob".into())), "/s/bob.mbx");
/// ```
pub fn folder_dir_of(drop_file: &DropPath) -> Utf8PathBuf {
    Utf8PathBuf::from(format!("{}.mbx", drop_file.0))
}

#[cfg(test)]
mod tests;
