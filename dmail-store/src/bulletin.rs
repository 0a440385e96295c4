//! Bulletins (dmail-conventions §8): administrator messages in `bulletin_path`, delivered once
//! to every user's INBOX at login, in id order.
//!
//! Owns finding a user's bulletins ([`scan_dir`]), the per-user counter file `.bulletin`
//! ([`Counters`]), turning a bulletin file into a message ([`compose`]) and the login-time run
//! ([`deliver_bulletins`], [`deliver_to_inbox`]). It must never write into `bulletin_path`,
//! modify a bulletin file, write a mailbox itself (delivery goes through the caller's sink),
//! follow a symlink to read or replace `.bulletin`, hold its lock for longer than one login's
//! run, or fail a login (every error is returned for the log; the caller carries on).
//!
//! # Rules
//!
//! - **Files.** `bulletin_path/NNN.txt` is global bulletin NNN; `bulletin_path/DOMAIN/NNN.txt`
//!   goes only to users of the virtual domain whose `vdomain` DOMAIN is DOMAIN (the directory
//!   name matched ASCII case-insensitively, an exact match preferred). NNN is one or more
//!   decimal digits (leading zeros allowed: `007.txt` is 7), `.txt` in any case. Ids run from 1
//!   to `u32::MAX`; `0.txt`, larger ids, and a second file with an id already seen (the first
//!   name in byte order wins) are skipped with a reason. Other names, directories, devices and
//!   non-UTF-8 names are ignored silently. Symlinks in `bulletin_path` are followed: the
//!   directory is the administrator's. \[doc + decided\]
//! - **Main-domain users get only the global bulletins.** A directory named after a
//!   `host_domain` is not applied to them: §8 gives a DOMAIN directory to "that virtual
//!   domain's users", and the global bulletins already reach the main domain ([`bulletin_domain`]).
//!   \[decided\]
//! - **Counters.** `.bulletin` in the folder directory holds `global N` and `domain N`, the last
//!   id handled in each directory. At login every existing bulletin with a larger id is
//!   delivered, global ones first, each directory in ascending id order. A user without the file
//!   gets every existing bulletin. A directory that exists and holds no `NNN.txt` sets its
//!   counter to 0, so ids can start again from 1. A *missing* directory changes nothing: a
//!   missing or unreadable `bulletin_path` is an error (a mistyped path or an absent mount must
//!   not reset every user's counters and then deliver every bulletin again); a missing DOMAIN
//!   directory leaves the domain counter alone (to restart a domain's ids, empty its directory
//!   rather than removing it). Main-domain users' `domain` counter is kept as read.
//!   \[doc + decided\]
//! - **The counter file** is written `global N\ndomain N\n` (LF on every platform). Reading
//!   accepts CRLF, blank lines, surrounding blanks, either order and the keywords in any case;
//!   a missing line is 0. Any other content (a third keyword, a repeated one, a number beyond
//!   `u32`) makes the file corrupt: nothing is delivered and the file is left alone, since
//!   treating it as absent would deliver every bulletin again; deleting it does exactly that.
//!   It is replaced atomically (temporary file, fsync, rename, fsync of the directory) and only
//!   when a value changes, so a login with nothing new writes nothing. \[decided\]
//! - **Once, at least once.** The counter is written after each successful delivery, so a
//!   crash never re-delivers bulletins handled before the one in flight. A crash (or a failed
//!   counter write) between a delivery and its counter update delivers that one bulletin again
//!   at the next login: like SMTP (RFC 5321 §6.1), a rare duplicate is preferred to a lost
//!   message, and the duplicate carries the same `Message-ID`, so clients may fold it. A
//!   delivery that fails leaves the counter before it: that bulletin and the later ones are
//!   tried again at the next login. \[decided\]
//! - **Concurrency.** The whole read-deliver-write run holds an exclusive `flock` on
//!   `.bulletin.lock` beside the counter file (hidden from LIST and quota like every dot-file),
//!   waited for at most [`LOCK_WAIT`]; a session that cannot get it delivers nothing (another
//!   session of the same user is delivering). A login with nothing to do takes no lock.
//! - **Size.** A bulletin larger than [`MAX_BULLETIN_BYTES`] is skipped with a reason, and its
//!   id counts as handled (it would otherwise block every later bulletin). \[decided\]
//! - **Headers** ([`compose`]): a file that starts with RFC 5322 headers
//!   ([`header_names`]) keeps them and gains only a missing `From:`, `Date:` and `Message-ID:`;
//!   any other file gets those and `Subject: Bulletin NNN`, then a blank line, then the file.
//!   Added headers come first, in the order From, Date, Message-ID, Subject, with the line
//!   ending of the file's first line (LF for a file without one). \[doc + decided\]
//!     - `From:` is [`from_header`] of `bulletin_from`.
//!     - `Date:` is the delivery time, RFC 5322 format in the caller's zone.
//!     - `Message-ID:` is `<bulletin.NNN.TIME@HOST>` (`<bulletin.DOMAIN.NNN.TIME@HOST>` for a
//!       domain bulletin), TIME the bulletin file's modification time in seconds since 1970:
//!       one bulletin is one message, with one id for every recipient, and an edited file gets
//!       a new one ([`message_id`]).
//!     - HOST is the machine's host name (gethostname, §2), given by the caller.
//!
//! Delivery into INBOX goes through a caller-supplied sink, so this module has no engine
//! dependency; [`deliver_to_inbox`] is the sink that appends to the drop file with
//! [`crate::deliver::deliver`] (envelope sender `MAILER-DAEMON`, \[decided\]: bulletins are
//! system mail and nothing should ever be sent back to their envelope sender).

use std::fs::{self, File, TryLockError};
use std::io::{self, Read, Write};
use std::time::{Duration, Instant, UNIX_EPOCH};

use camino::{Utf8Path, Utf8PathBuf};
use dmail_conf::{Config, ResolvedLogin};

use crate::InternalDate;
use crate::deliver::{DeliverOptions, deliver};
use crate::fsutil;
use crate::layout::MailPaths;
use crate::mbox::LineEnding;
use crate::mbox::pseudo::rfc822_date;

/// The per-user counter file's name, in the folder directory. \[doc\]
pub const COUNTER_FILE_NAME: &str = ".bulletin";

/// The lock serialising one user's bulletin runs, beside the counter file. \[decided\]
pub const LOCK_FILE_NAME: &str = ".bulletin.lock";

/// The prefix of the counter file's temporary files (hidden by the dot).
const TEMP_PREFIX: &str = ".bulletin.tmp.";

/// The largest bulletin delivered; a larger file is skipped with a reason. \[decided\]
pub const MAX_BULLETIN_BYTES: u64 = 1 << 20;

/// The largest counter file read; a larger one is corrupt.
pub const MAX_COUNTER_FILE_BYTES: u64 = 4096;

/// How long a run waits for another session's run of the same user.
pub const LOCK_WAIT: Duration = Duration::from_secs(15);

/// How often a waiting run retries the lock.
const LOCK_RETRY: Duration = Duration::from_millis(50);

/// The local part of the address given to a `bulletin_from` that is only a display name.
/// \[decided\]
pub const FROM_LOCAL_PART: &str = "postmaster";

/// The bulletin settings of a configuration.
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform};
/// use dmail_store::bulletin::BulletinSettings;
/// let c = parse_str("bulletin_path /var/dmail/bulletins\n", "c".into(), Program::Imapd, Platform::Unix).config;
/// let s = BulletinSettings::from_config(&c).unwrap();
/// assert_eq!(s.dir, "/var/dmail/bulletins");
/// assert_eq!(s.from, "Email System Administrator");
/// let none = parse_str("", "c".into(), Program::Imapd, Platform::Unix).config;
/// assert_eq!(BulletinSettings::from_config(&none), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulletinSettings {
    /// `bulletin_path`.
    pub dir: Utf8PathBuf,
    /// `bulletin_from`.
    pub from: String,
}

impl BulletinSettings {
    /// The settings, or `None` when `bulletin_path` is unset (no bulletins).
    pub fn from_config(config: &Config) -> Option<BulletinSettings> {
        Some(BulletinSettings {
            dir: config.bulletin_path.clone()?,
            from: config.bulletin_from.clone(),
        })
    }
}

/// The DOMAIN directory that applies to a login: the virtual domain's DOMAIN, `None` for a
/// main-domain user (who gets only the global bulletins, whatever directories are named after
/// a `host_domain`). \[decided\]
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform};
/// use dmail_store::bulletin::bulletin_domain;
/// let c = parse_str("host_domain example.com\nvdomain cc @computers.com Computers.com /vd/cc\n",
///     "c".into(), Program::Imapd, Platform::Unix).config;
/// assert_eq!(bulletin_domain(&c.resolve_login(b"sales@computers.com", None).unwrap()), Some("Computers.com"));
/// assert_eq!(bulletin_domain(&c.resolve_login(b"bob@example.com", None).unwrap()), None);
/// ```
pub fn bulletin_domain(login: &ResolvedLogin) -> Option<&str> {
    login.vdomain().map(|v| v.domain.as_str())
}

/// Which directory (and counter) a bulletin belongs to.
///
/// ```
/// use dmail_store::bulletin::{Counters, Scope};
/// let mut c = Counters::default();
/// c.set(Scope::Domain, 4);
/// assert_eq!((c.get(Scope::Global), c.get(Scope::Domain)), (0, 4));
/// assert_eq!(Scope::Domain.keyword(), "domain");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `bulletin_path/NNN.txt`, counter `global`.
    Global,
    /// `bulletin_path/DOMAIN/NNN.txt`, counter `domain`.
    Domain,
}

impl Scope {
    /// The counter's keyword in `.bulletin`.
    pub const fn keyword(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Domain => "domain",
        }
    }
}

/// A user's counters: the last bulletin id handled in each directory (0: none).
///
/// ```
/// use dmail_store::bulletin::Counters;
/// let c = Counters::parse(b"domain 2\r\nglobal 14\r\n").unwrap();
/// assert_eq!(c, Counters { global: 14, domain: 2 });
/// assert_eq!(c.render(), "global 14\ndomain 2\n");
/// assert!(Counters::parse(b"global x\n").is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counters {
    /// `global N`.
    pub global: u32,
    /// `domain N`.
    pub domain: u32,
}

impl Counters {
    /// The counter of a scope.
    pub const fn get(self, scope: Scope) -> u32 {
        match scope {
            Scope::Global => self.global,
            Scope::Domain => self.domain,
        }
    }

    /// Sets the counter of a scope.
    pub fn set(&mut self, scope: Scope, id: u32) {
        match scope {
            Scope::Global => self.global = id,
            Scope::Domain => self.domain = id,
        }
    }

    /// Reads `.bulletin` content (see the module's rules): `keyword N` lines, keyword `global`
    /// or `domain` in any case, N decimal; blank lines, CRLF and surrounding blanks tolerated;
    /// a missing line is 0. \[decided\]
    pub fn parse(bytes: &[u8]) -> Result<Counters, CounterFileProblem> {
        let mut global = None;
        let mut domain = None;
        for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let line_number = index + 1;
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            let bad = CounterFileProblem::BadLine { line: line_number };
            let mut words = line
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty());
            let (Some(keyword), Some(number), None) = (words.next(), words.next(), words.next())
            else {
                return Err(bad);
            };
            let slot = if keyword.eq_ignore_ascii_case(b"global") {
                &mut global
            } else if keyword.eq_ignore_ascii_case(b"domain") {
                &mut domain
            } else {
                return Err(bad);
            };
            if slot.is_some() {
                return Err(bad);
            }
            *slot = Some(parse_u32(number).ok_or(bad)?);
        }
        Ok(Counters {
            global: global.unwrap_or(0),
            domain: domain.unwrap_or(0),
        })
    }

    /// The file's content: `global N\ndomain N\n`.
    pub fn render(self) -> String {
        format!("global {}\ndomain {}\n", self.global, self.domain)
    }
}

/// Decimal digits only, within `u32`.
fn parse_u32(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u32, |n, &d| {
        n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

/// What is wrong with a `.bulletin` file.
///
/// ```
/// use dmail_store::bulletin::{Counters, CounterFileProblem};
/// assert_eq!(Counters::parse(b"global 1\nglobal 2\n"), Err(CounterFileProblem::BadLine { line: 2 }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CounterFileProblem {
    /// A line that is not `global N` or `domain N`, or repeats one.
    #[error("line {line} is not `global N` or `domain N` (or repeats one)")]
    BadLine {
        /// 1-based.
        line: usize,
    },
    /// Larger than [`MAX_COUNTER_FILE_BYTES`].
    #[error("it is larger than {MAX_COUNTER_FILE_BYTES} bytes")]
    TooLarge,
    /// A symlink, which is never followed.
    #[error("it is a symbolic link")]
    Symlink,
    /// A directory or other non-regular file.
    #[error("it is not a regular file")]
    NotAFile,
    /// Opening or reading it failed.
    #[error("it cannot be read ({0})")]
    Unreadable(io::ErrorKind),
}

/// What a file name in a bulletin directory is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BulletinName {
    /// Not `NNN.txt`: ignored silently.
    Other,
    /// `NNN.txt` with a usable id.
    Id(u32),
    /// `NNN.txt` with an id outside 1..=`u32::MAX`: skipped with this reason.
    Unusable(SkipReason),
}

/// Classifies a file name (see the module's rules): `DIGITS.txt`, `.txt` in any case.
/// \[decided\]
///
/// ```
/// use dmail_store::bulletin::{bulletin_name, BulletinName, SkipReason};
/// assert_eq!(bulletin_name("12.txt"), BulletinName::Id(12));
/// assert_eq!(bulletin_name("007.TXT"), BulletinName::Id(7));
/// assert_eq!(bulletin_name("0.txt"), BulletinName::Unusable(SkipReason::IdZero));
/// assert_eq!(bulletin_name("4294967296.txt"), BulletinName::Unusable(SkipReason::IdTooLarge));
/// assert_eq!(bulletin_name("12.txt~"), BulletinName::Other);
/// assert_eq!(bulletin_name("+1.txt"), BulletinName::Other);
/// ```
pub fn bulletin_name(name: &str) -> BulletinName {
    let Some(split) = name.len().checked_sub(4) else {
        return BulletinName::Other;
    };
    let (Some(digits), Some(ext)) = (name.get(..split), name.get(split..)) else {
        return BulletinName::Other;
    };
    if !ext.eq_ignore_ascii_case(".txt")
        || digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return BulletinName::Other;
    }
    match parse_u32(digits.as_bytes()) {
        Some(0) => BulletinName::Unusable(SkipReason::IdZero),
        Some(id) => BulletinName::Id(id),
        None => BulletinName::Unusable(SkipReason::IdTooLarge),
    }
}

/// Why a bulletin file was not delivered.
///
/// ```
/// use dmail_store::bulletin::SkipReason;
/// assert_eq!(SkipReason::IdZero.to_string(), "bulletin ids start at 1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SkipReason {
    /// `0.txt`: ids start at 1.
    #[error("bulletin ids start at 1")]
    IdZero,
    /// An id above `u32::MAX`.
    #[error("the bulletin id is larger than {}", u32::MAX)]
    IdTooLarge,
    /// Another file (earlier in byte order) has the same id.
    #[error("another file has the same bulletin id")]
    DuplicateId,
    /// Larger than [`MAX_BULLETIN_BYTES`] (its id counts as handled).
    #[error("the bulletin is {0} bytes, larger than {MAX_BULLETIN_BYTES}")]
    TooLarge(u64),
}

/// A file skipped, and why (for the log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub path: Utf8PathBuf,
    /// Why.
    pub reason: SkipReason,
}

/// One usable bulletin file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulletinFile {
    /// Its id.
    pub id: u32,
    /// Its path.
    pub path: Utf8PathBuf,
}

/// The bulletins of one directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirScan {
    /// Usable bulletins in ascending id order, one per id.
    pub files: Vec<BulletinFile>,
    /// Files named like bulletins that cannot be used.
    pub skipped: Vec<Skipped>,
}

/// Lists a bulletin directory: regular files (symlinks followed) named `NNN.txt`, in id order
/// ([`bulletin_name`]; for a repeated id the first name in byte order wins). Directories and
/// other names are ignored.
///
/// ```
/// use dmail_store::bulletin::scan_dir;
/// let dir = tempfile::tempdir()?;
/// let d = camino::Utf8Path::from_path(dir.path()).unwrap();
/// for name in ["10.txt", "2.txt", "notes", "0.txt"] { std::fs::write(d.join(name), "x")?; }
/// std::fs::create_dir(d.join("computers.com"))?;
/// let scan = scan_dir(d)?;
/// assert_eq!(scan.files.iter().map(|f| f.id).collect::<Vec<_>>(), [2, 10]);
/// assert_eq!(scan.skipped.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn scan_dir(dir: &Utf8Path) -> io::Result<DirScan> {
    let mut found: Vec<(u32, String)> = Vec::new();
    let mut scan = DirScan::default();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let kind = bulletin_name(&name);
        if kind == BulletinName::Other {
            continue;
        }
        let path = dir.join(&name);
        // Followed: bulletin_path is the administrator's. A name that vanished is ignored.
        if !fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            continue;
        }
        match kind {
            BulletinName::Id(id) => found.push((id, name)),
            BulletinName::Unusable(reason) => scan.skipped.push(Skipped { path, reason }),
            BulletinName::Other => {}
        }
    }
    found.sort();
    let mut last = None;
    for (id, name) in found {
        let path = dir.join(&name);
        if last == Some(id) {
            scan.skipped.push(Skipped {
                path,
                reason: SkipReason::DuplicateId,
            });
        } else {
            scan.files.push(BulletinFile { id, path });
            last = Some(id);
        }
    }
    scan.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(scan)
}

/// The entry of `parent` naming `domain`'s directory: an exact match, else the first (in byte
/// order) directory whose name equals it ASCII case-insensitively. \[decided\]
fn find_domain_dir(parent: &Utf8Path, domain: &str) -> io::Result<Option<Utf8PathBuf>> {
    let exact = parent.join(domain);
    if !domain.is_empty()
        && !domain.contains(['/', '\\'])
        && fs::metadata(&exact).is_ok_and(|m| m.is_dir())
    {
        return Ok(Some(exact));
    }
    let mut matches: Vec<String> = Vec::new();
    for entry in fs::read_dir(parent)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.eq_ignore_ascii_case(domain)
            && fs::metadata(parent.join(&name)).is_ok_and(|m| m.is_dir())
        {
            matches.push(name);
        }
    }
    matches.sort();
    Ok(matches.into_iter().next().map(|name| parent.join(name)))
}

/// The names of the header fields a bulletin starts with, or `None` when it does not start
/// with headers. A file starts with headers when its first line is a header field line
/// (`Name: value`, Name one or more printable ASCII characters other than `:`, RFC 5322 §2.2 —
/// no blank before the colon) and every line up to the first empty line (or the end) is a
/// field line or a continuation (starting with a space or tab). So a plain-text bulletin whose
/// first paragraph is one line like `Note: the server moves` is read as a header; start such a
/// file with an empty line. \[decided\]
///
/// ```
/// use dmail_store::bulletin::header_names;
/// assert_eq!(header_names(b"Subject: Hi\r\nX-Tag:\r\n  more\r\n\r\nBody\r\n"),
///     Some(vec![&b"Subject"[..], &b"X-Tag"[..]]));
/// assert_eq!(header_names(b"Dear users,\n\nThe server moves.\n"), None);
/// assert_eq!(header_names(b"Note: the server moves\nsoon, please log off.\n"), None);
/// assert_eq!(header_names(b"From bob Sat Dec 26 09:37:48 1998\n"), None);
/// ```
pub fn header_names(content: &[u8]) -> Option<Vec<&[u8]>> {
    let mut names = Vec::new();
    for line in content.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if matches!(line[0], b' ' | b'\t') {
            if names.is_empty() {
                return None;
            }
            continue;
        }
        names.push(field_name(line)?);
    }
    (!names.is_empty()).then_some(names)
}

/// The name of a header field line: the bytes before the first `:`, if they are one or more
/// printable ASCII characters (33–126).
fn field_name(line: &[u8]) -> Option<&[u8]> {
    let colon = memchr::memchr(b':', line)?;
    let name = &line[..colon];
    (!name.is_empty() && name.iter().all(|b| (33..=126).contains(b))).then_some(name)
}

/// The `From:` header's value for `bulletin_from` (control characters dropped) \[decided\]:
/// a value holding `<...>` at its end (`Admin <admin@example.com>`) or a bare address (`@`
/// and no blank) is used as written; any other text is a display name given the address
/// `postmaster@HOST` ([`FROM_LOCAL_PART`]): quoted when ASCII, RFC 2047 encoded words when
/// not. An empty value is the address alone.
///
/// ```
/// use dmail_store::bulletin::from_header;
/// assert_eq!(from_header("Email System Administrator", "mx.example.com"),
///     "\"Email System Administrator\" <postmaster@mx.example.com>");
/// assert_eq!(from_header("Admin <admin@example.com>", "mx"), "Admin <admin@example.com>");
/// assert_eq!(from_header("admin@example.com", "mx"), "admin@example.com");
/// assert_eq!(from_header("Sys \"Ops\"", "mx"), "\"Sys \\\"Ops\\\"\" <postmaster@mx>");
/// assert_eq!(from_header("Équipe", "mx"), "=?UTF-8?B?w4lxdWlwZQ==?= <postmaster@mx>");
/// ```
pub fn from_header(bulletin_from: &str, host: &str) -> String {
    let text: String = bulletin_from.chars().filter(|c| !c.is_control()).collect();
    let text = text.trim();
    let address = format!("<{FROM_LOCAL_PART}@{}>", host_part(host));
    if text.is_empty() {
        return address;
    }
    let bracketed = text.ends_with('>') && text.contains('<');
    let bare = text.contains('@') && !text.contains(char::is_whitespace);
    if bracketed || bare {
        return text.to_owned();
    }
    if text.is_ascii() {
        let mut quoted = String::with_capacity(text.len() + 2);
        quoted.push('"');
        for c in text.chars() {
            if c == '"' || c == '\\' {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        quoted.push('"');
        format!("{quoted} {address}")
    } else {
        format!("{} {address}", encoded_words(text))
    }
}

/// RFC 2047 `=?UTF-8?B?...?=` words, each of at most 45 bytes of text (60 of base64), split at
/// character boundaries and separated by a space.
fn encoded_words(text: &str) -> String {
    let mut words = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + 45).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        words.push(format!(
            "=?UTF-8?B?{}?=",
            base64(&text.as_bytes()[start..end])
        ));
        start = end;
    }
    words.join(" ")
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The host name as it may appear after `@`: letters, digits, `-` and `.` kept, anything else
/// `-`; empty is `localhost`.
fn host_part(host: &str) -> String {
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if host.is_empty() {
        "localhost".to_owned()
    } else {
        host
    }
}

/// A bulletin's `Message-ID` \[decided\]: `<bulletin.NNN.TIME@HOST>`, or
/// `<bulletin.DOMAIN.NNN.TIME@HOST>` for a domain bulletin, TIME the file's modification time
/// (seconds since 1970). DOMAIN and HOST keep letters, digits, `-` and `.`; other characters
/// become `-`.
///
/// ```
/// use dmail_store::bulletin::message_id;
/// assert_eq!(message_id(3, None, 914_665_068, "mx.example.com"), "<bulletin.3.914665068@mx.example.com>");
/// assert_eq!(message_id(3, Some("computers.com"), 7, "mx"), "<bulletin.computers.com.3.7@mx>");
/// ```
pub fn message_id(id: u32, domain: Option<&str>, written: i64, host: &str) -> String {
    let host = host_part(host);
    match domain {
        Some(domain) => format!("<bulletin.{}.{id}.{written}@{host}>", host_part(domain)),
        None => format!("<bulletin.{id}.{written}@{host}>"),
    }
}

/// Everything besides the file that goes into a bulletin message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageInfo<'a> {
    /// The bulletin id.
    pub id: u32,
    /// The DOMAIN directory's domain, for a domain bulletin.
    pub domain: Option<&'a str>,
    /// The file's modification time, seconds since 1970 (for the `Message-ID`).
    pub written: i64,
    /// `bulletin_from`.
    pub from: &'a str,
    /// Now, in the zone the `Date:` is written in.
    pub now: InternalDate,
    /// The machine's host name.
    pub host: &'a str,
}

/// The message delivered for a bulletin file (see the module's rules on headers).
///
/// ```
/// use dmail_store::{InternalDate, bulletin::{compose, MessageInfo}};
/// let info = MessageInfo { id: 3, domain: None, written: 900_000_000, from: "Admin <a@b.c>",
///     now: InternalDate { unix: 914_665_068, offset_minutes: 60 }, host: "mx" };
/// assert_eq!(compose(b"Server down Sunday.\n", &info), b"\
/// From: Admin <a@b.c>\n\
/// Date: Sat, 26 Dec 1998 10:37:48 +0100\n\
/// Message-ID: <bulletin.3.900000000@mx>\n\
/// Subject: Bulletin 3\n\
/// \n\
/// Server down Sunday.\n");
/// assert_eq!(compose(b"Subject: Moving\nFrom: ops@b.c\n\nSoon.\n", &info), b"\
/// Date: Sat, 26 Dec 1998 10:37:48 +0100\n\
/// Message-ID: <bulletin.3.900000000@mx>\n\
/// Subject: Moving\nFrom: ops@b.c\n\nSoon.\n");
/// ```
pub fn compose(content: &[u8], info: &MessageInfo<'_>) -> Vec<u8> {
    let ending = LineEnding::of_first_line(content)
        .unwrap_or_default()
        .as_bytes();
    let names = header_names(content);
    let has = |wanted: &str| {
        names.as_ref().is_some_and(|names| {
            names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(wanted.as_bytes()))
        })
    };
    let mut out = Vec::with_capacity(content.len() + 256);
    let mut header = |name: &str, value: &str| {
        if !has(name) {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(ending);
        }
    };
    header("From", &from_header(info.from, info.host));
    header("Date", &rfc822_date(info.now));
    header(
        "Message-ID",
        &message_id(info.id, info.domain, info.written, info.host),
    );
    if names.is_none() {
        header("Subject", &format!("Bulletin {}", info.id));
        out.extend_from_slice(ending);
    }
    out.extend_from_slice(content);
    out
}

/// One bulletin delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// Its directory.
    pub scope: Scope,
    /// Its id.
    pub id: u32,
    /// Its file.
    pub path: Utf8PathBuf,
}

/// What a run did, for the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BulletinReport {
    /// Bulletins delivered, in delivery order.
    pub delivered: Vec<Delivered>,
    /// Files skipped, with the reason.
    pub skipped: Vec<Skipped>,
    /// The counters as read; `None` when the user had no `.bulletin`.
    pub previous: Option<Counters>,
    /// The counters afterwards (what `.bulletin` now holds, if it was written).
    pub counters: Counters,
    /// Whether `.bulletin` was written.
    pub counters_written: bool,
    /// The DOMAIN directory used, if one exists for the user's domain.
    pub domain_dir: Option<Utf8PathBuf>,
}

/// Why a run stopped. Never shown to a client; the login goes on. Variants raised after a
/// delivery carry what was delivered before ([`delivered`](Self::delivered)).
#[derive(Debug, thiserror::Error)]
pub enum BulletinError {
    /// `bulletin_path` or a DOMAIN directory cannot be listed (missing included): nothing done.
    #[error("bulletin directory {path} cannot be read: {source}")]
    Dir {
        /// The directory.
        path: Utf8PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// `.bulletin` is unusable: nothing delivered, the file left alone.
    #[error("bulletin counter file {path} is not used: {problem}")]
    Counters {
        /// The counter file.
        path: Utf8PathBuf,
        /// What is wrong with it.
        problem: CounterFileProblem,
    },
    /// Another session of the user kept the lock for [`LOCK_WAIT`]: nothing done.
    #[error("bulletin lock {path} is held by another session")]
    Busy {
        /// The lock file.
        path: Utf8PathBuf,
    },
    /// The folder directory or the lock file could not be created or opened: nothing done.
    #[error("{path}: {source}")]
    Setup {
        /// The directory or lock file.
        path: Utf8PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// A bulletin file could not be read; it and the later ones wait for the next login.
    #[error("bulletin {path} cannot be read: {source}")]
    Read {
        /// The bulletin file.
        path: Utf8PathBuf,
        /// The system's reason.
        source: io::Error,
        /// Delivered before the failure.
        delivered: Vec<Delivered>,
    },
    /// The sink refused a bulletin; it and the later ones wait for the next login.
    #[error("bulletin {path} could not be delivered: {source}")]
    Deliver {
        /// The bulletin file.
        path: Utf8PathBuf,
        /// The sink's reason.
        source: io::Error,
        /// Delivered before the failure.
        delivered: Vec<Delivered>,
    },
    /// `.bulletin` could not be replaced after a delivery: that bulletin (the last of
    /// `delivered`) will be delivered again at the next login.
    #[error("bulletin counter file {path} could not be written: {source}")]
    WriteCounters {
        /// The counter file (or the temporary file or directory the call failed on).
        path: Utf8PathBuf,
        /// The system's reason.
        source: io::Error,
        /// Delivered, including the one whose count was not recorded.
        delivered: Vec<Delivered>,
    },
}

impl BulletinError {
    /// The bulletins delivered before the run stopped.
    pub fn delivered(&self) -> &[Delivered] {
        match self {
            BulletinError::Read { delivered, .. }
            | BulletinError::Deliver { delivered, .. }
            | BulletinError::WriteCounters { delivered, .. } => delivered,
            _ => &[],
        }
    }
}

/// The bulletins that apply to one user: the global directory's and the DOMAIN directory's.
struct Plan {
    global: DirScan,
    domain: Option<(Utf8PathBuf, DirScan)>,
}

impl Plan {
    fn scan(settings: &BulletinSettings, domain: Option<&str>) -> Result<Plan, BulletinError> {
        let dir_error = |path: &Utf8Path| {
            let path = path.to_owned();
            move |source| BulletinError::Dir { path, source }
        };
        let global = scan_dir(&settings.dir).map_err(dir_error(&settings.dir))?;
        let domain = match domain {
            None => None,
            Some(domain) => {
                match find_domain_dir(&settings.dir, domain).map_err(dir_error(&settings.dir))? {
                    None => None,
                    Some(dir) => {
                        let scan = scan_dir(&dir).map_err(dir_error(&dir))?;
                        Some((dir, scan))
                    }
                }
            }
        };
        Ok(Plan { global, domain })
    }

    /// The directories that apply, in delivery order.
    fn scopes(&self) -> impl Iterator<Item = (Scope, &DirScan)> {
        std::iter::once((Scope::Global, &self.global))
            .chain(self.domain.iter().map(|(_, scan)| (Scope::Domain, scan)))
    }

    /// The counters with every empty directory's reset to 0.
    fn reset(&self, mut counters: Counters) -> Counters {
        for (scope, scan) in self.scopes() {
            if scan.files.is_empty() {
                counters.set(scope, 0);
            }
        }
        counters
    }

    /// Whether a run with these counters would deliver or write anything.
    fn has_work(&self, previous: Option<Counters>) -> bool {
        let counters = previous.unwrap_or_default();
        let newer = self
            .scopes()
            .any(|(scope, scan)| scan.files.iter().any(|f| f.id > counters.get(scope)));
        newer || (previous.is_some() && self.reset(counters) != counters)
    }
}

/// The login-time run (see the module's rules) for one user: reads `bulletin_path` (and the
/// DOMAIN directory of `domain`, [`bulletin_domain`]), reads `.bulletin` in `folder_dir`, and
/// hands each new bulletin, composed with [`compose`], to `sink`, which must deliver it into
/// the user's INBOX; the counter file is rewritten after each delivery. The folder directory
/// is created (one level, mode 0700) when the counter file must be written and it is missing.
///
/// ```
/// use dmail_store::{InternalDate, bulletin::{deliver_bulletins, BulletinSettings}};
/// let dir = tempfile::tempdir()?;
/// let base = camino::Utf8Path::from_path(dir.path()).unwrap();
/// std::fs::create_dir(base.join("bulletins"))?;
/// std::fs::write(base.join("bulletins/1.txt"), "Welcome.\n")?;
/// let settings = BulletinSettings { dir: base.join("bulletins"), from: "Admin".into() };
/// let now = InternalDate { unix: 914_665_068, offset_minutes: 0 };
/// let mut inbox = Vec::new();
/// let mut sink = |m: &[u8]| { inbox.push(m.to_vec()); Ok(()) };
/// let report = deliver_bulletins(&settings, None, &base.join("bob.mbx"), now, "mx", &mut sink)?;
/// assert_eq!(report.delivered.len(), 1);
/// assert_eq!(std::fs::read_to_string(base.join("bob.mbx/.bulletin"))?, "global 1\ndomain 0\n");
/// // Only once.
/// let again = deliver_bulletins(&settings, None, &base.join("bob.mbx"), now, "mx", &mut sink)?;
/// assert!(again.delivered.is_empty() && !again.counters_written);
/// assert_eq!(inbox.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn deliver_bulletins(
    settings: &BulletinSettings,
    domain: Option<&str>,
    folder_dir: &Utf8Path,
    now: InternalDate,
    host: &str,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Result<BulletinReport, BulletinError> {
    let counter_path = folder_dir.join(COUNTER_FILE_NAME);
    let plan = Plan::scan(settings, domain)?;
    let previous = read_counters(&counter_path)?;
    let mut report = BulletinReport {
        previous,
        counters: previous.unwrap_or_default(),
        domain_dir: plan.domain.as_ref().map(|(dir, _)| dir.clone()),
        ..BulletinReport::default()
    };
    for (_, scan) in plan.scopes() {
        report.skipped.extend(scan.skipped.iter().cloned());
    }
    if !plan.has_work(previous) {
        return Ok(report);
    }

    ensure_dir(folder_dir)?;
    let _lock = lock(&folder_dir.join(LOCK_FILE_NAME))?;
    // Another session may have run between the first read and the lock.
    let previous = read_counters(&counter_path)?;
    report.previous = previous;
    let mut counters = plan.reset(previous.unwrap_or_default());
    if previous != Some(counters) && previous.is_some() {
        write_counters(folder_dir, &counter_path, counters).map_err(|(path, source)| {
            BulletinError::WriteCounters {
                path,
                source,
                delivered: Vec::new(),
            }
        })?;
        report.counters_written = true;
    }
    report.counters = counters;

    for (scope, scan) in plan.scopes() {
        let domain = (scope == Scope::Domain).then_some(domain).flatten();
        let after = counters.get(scope);
        for file in scan.files.iter().filter(|f| f.id > after) {
            let delivered = || report.delivered.clone();
            let read = read_bulletin(&file.path).map_err(|source| BulletinError::Read {
                path: file.path.clone(),
                source,
                delivered: delivered(),
            })?;
            match read {
                BulletinContent::Skip(reason) => report.skipped.push(Skipped {
                    path: file.path.clone(),
                    reason,
                }),
                BulletinContent::Message(content, written) => {
                    let info = MessageInfo {
                        id: file.id,
                        domain,
                        written: written.unwrap_or(now.unix),
                        from: &settings.from,
                        now,
                        host,
                    };
                    sink(&compose(&content, &info)).map_err(|source| BulletinError::Deliver {
                        path: file.path.clone(),
                        source,
                        delivered: delivered(),
                    })?;
                    report.delivered.push(Delivered {
                        scope,
                        id: file.id,
                        path: file.path.clone(),
                    });
                }
            }
            counters.set(scope, file.id);
            write_counters(folder_dir, &counter_path, counters).map_err(|(path, source)| {
                BulletinError::WriteCounters {
                    path,
                    source,
                    delivered: report.delivered.clone(),
                }
            })?;
            report.counters = counters;
            report.counters_written = true;
        }
    }
    Ok(report)
}

/// [`deliver_bulletins`] into the user's drop file with [`crate::deliver::deliver`] (envelope
/// sender `MAILER-DAEMON`, dated `now`), using the configuration's `bulletin_path`,
/// `bulletin_from` and the login's domain ([`bulletin_domain`]). `Ok(None)` when
/// `bulletin_path` is unset. Pass [`DeliverOptions::from_config`] with `journal` set to the
/// INBOX journal when sessions of ours may be rewriting INBOX.
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform};
/// use dmail_store::{InternalDate, layout::mail_paths, bulletin::deliver_to_inbox, deliver::DeliverOptions};
/// let dir = tempfile::tempdir()?;
/// let base = camino::Utf8Path::from_path(dir.path()).unwrap();
/// std::fs::create_dir(base.join("b"))?;
/// std::fs::write(base.join("b/1.txt"), "Subject: Hello\n\nWelcome.\n")?;
/// let text = format!("drop_path {base}\nbulletin_path {base}/b\n");
/// let config = parse_str(&text, "c".into(), Program::Imapd, Platform::Unix).config;
/// let login = config.resolve_login(b"bob", None)?;
/// let paths = mail_paths(&config, &login, None)?;
/// let now = InternalDate { unix: 914_665_068, offset_minutes: 0 };
/// let report = deliver_to_inbox(&config, &login, &paths, now, "mx", &DeliverOptions::default())?;
/// assert_eq!(report.unwrap().delivered.len(), 1);
/// let inbox = std::fs::read_to_string(paths.drop_file.as_path())?;
/// assert!(inbox.starts_with("From MAILER-DAEMON Sat Dec 26 09:37:48 1998\nFrom: \"Email System"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn deliver_to_inbox(
    config: &Config,
    login: &ResolvedLogin,
    paths: &MailPaths,
    now: InternalDate,
    host: &str,
    options: &DeliverOptions,
) -> Result<Option<BulletinReport>, BulletinError> {
    let Some(settings) = BulletinSettings::from_config(config) else {
        return Ok(None);
    };
    let mut sink = |message: &[u8]| {
        deliver(&paths.drop_file, "", message, now, options)
            .map(drop)
            .map_err(io::Error::other)
    };
    deliver_bulletins(
        &settings,
        bulletin_domain(login),
        &paths.folder_dir,
        now,
        host,
        &mut sink,
    )
    .map(Some)
}

/// Reads `.bulletin`: `Ok(None)` when there is none.
fn read_counters(path: &Utf8Path) -> Result<Option<Counters>, BulletinError> {
    let problem = |problem| BulletinError::Counters {
        path: path.to_owned(),
        problem,
    };
    let file = match fsutil::open_read_nofollow(path.as_std_path()) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if fsutil::is_symlink_refusal(&e) => {
            return Err(problem(CounterFileProblem::Symlink));
        }
        Err(e) => return Err(problem(CounterFileProblem::Unreadable(e.kind()))),
    };
    let unreadable = |e: io::Error| problem(CounterFileProblem::Unreadable(e.kind()));
    if !file.metadata().map_err(unreadable)?.is_file() {
        return Err(problem(CounterFileProblem::NotAFile));
    }
    let mut bytes = Vec::new();
    file.take(MAX_COUNTER_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_COUNTER_FILE_BYTES {
        return Err(problem(CounterFileProblem::TooLarge));
    }
    Counters::parse(&bytes).map(Some).map_err(problem)
}

/// A bulletin file as read.
enum BulletinContent {
    /// Its bytes and modification time (seconds since 1970, when known).
    Message(Vec<u8>, Option<i64>),
    /// It is not delivered.
    Skip(SkipReason),
}

/// Reads a bulletin: its bytes and modification time, or the reason it is skipped.
fn read_bulletin(path: &Utf8Path) -> io::Result<BulletinContent> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.len() > MAX_BULLETIN_BYTES {
        return Ok(BulletinContent::Skip(SkipReason::TooLarge(meta.len())));
    }
    let mut content = Vec::new();
    file.take(MAX_BULLETIN_BYTES + 1)
        .read_to_end(&mut content)?;
    if content.len() as u64 > MAX_BULLETIN_BYTES {
        return Ok(BulletinContent::Skip(SkipReason::TooLarge(
            content.len() as u64
        )));
    }
    let written = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_secs()).ok());
    Ok(BulletinContent::Message(content, written))
}

/// Creates the folder directory (one level, mode 0700) if it is missing.
fn ensure_dir(dir: &Utf8Path) -> Result<(), BulletinError> {
    if fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Ok(());
    }
    match fsutil::create_private_dir(dir.as_std_path()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(BulletinError::Setup {
            path: dir.to_owned(),
            source,
        }),
    }
}

/// Takes the run's lock, retrying for [`LOCK_WAIT`]. Released when the file is dropped.
fn lock(path: &Utf8Path) -> Result<File, BulletinError> {
    let setup = |source| BulletinError::Setup {
        path: path.to_owned(),
        source,
    };
    let file = fsutil::open_rw_nofollow(path.as_std_path()).map_err(setup)?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(LOCK_RETRY);
            }
            Err(TryLockError::WouldBlock) => {
                return Err(BulletinError::Busy {
                    path: path.to_owned(),
                });
            }
            Err(TryLockError::Error(source)) => return Err(setup(source)),
        }
    }
}

/// Replaces `.bulletin`: temporary file in the folder directory, fsync, rename (which replaces
/// a symlink rather than following it), fsync of the directory.
fn write_counters(
    dir: &Utf8Path,
    path: &Utf8Path,
    counters: Counters,
) -> Result<(), (Utf8PathBuf, io::Error)> {
    let at = |p: &Utf8Path| {
        let p = p.to_owned();
        move |e| (p, e)
    };
    let mut temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir.as_std_path())
        .map_err(at(dir))?;
    temp.write_all(counters.render().as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .map_err(at(path))?;
    temp.persist(path.as_std_path())
        .map_err(|e| (path.to_owned(), e.error))?;
    fsutil::sync_dir(dir.as_std_path()).map_err(at(dir))
}

#[cfg(test)]
mod tests;
