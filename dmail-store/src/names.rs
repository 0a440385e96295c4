//! Mailbox names as IMAP clients send them (mailbox-formats.md §4; RFC 3501 §5.1, §5.1.3).
//!
//! Owns [`MailboxName`], the one gate every name from a client passes before it can name a file,
//! and the modified UTF-7 codec. It must never touch the file system: resolving a name to a path
//! (and refusing symlinks) is [`folders`](crate::folders)' job; this module only guarantees that
//! a valid name, joined to the folder root, stays below it.
//!
//! The decided rules beyond the spec, each in one place here:
//! - a component starting with `.` is refused ([`NameError::Hidden`]): dot-files (the
//!   subscription file, `.imapd/`, temporary files) are never listed, so no client may name them;
//! - a component ending in `.lock` (any case) is refused ([`NameError::LockName`]): it would be
//!   another mailbox's dot-lock;
//! - a name starting with `{` is refused ([`NameError::Remote`]): c-client reads it as a remote
//!   mailbox (`{host}INBOX`), and pine writes such lines into the subscription list;
//! - a decoded control character (`&AAA-`, U+0000) is refused like a raw one;
//! - a name has at most [`MAX_DEPTH`] components, so everything creatable can be listed.

use std::fmt;

use dmail_conf::Platform;

mod utf7;

pub use utf7::{Utf7Error, Utf7ErrorKind, decode_modified_utf7, encode_modified_utf7};

/// The hierarchy delimiter, also the path separator below the folder root (mailbox-formats.md §4).
pub const DELIMITER: u8 = b'/';

/// Longest file name component, in bytes (`NAME_MAX` on Linux and most Unix file systems).
pub const MAX_COMPONENT_BYTES: usize = 255;

/// `PATH_MAX` on Linux, counting the terminating NUL: a mailbox's full path (folder root, `/`,
/// name) must be shorter than this. A name alone may never reach it either.
pub const MAX_PATH_BYTES: usize = 4096;

/// Most components a name may have, and the deepest level LIST descends to. \[decided\]
pub const MAX_DEPTH: usize = 64;

/// The suffix of dot-lock files (mailbox-formats.md §3), refused as the end of a component.
const LOCK_SUFFIX: &[u8] = b".lock";

/// Why a name cannot be a mailbox name. The Display text never echoes the name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum NameError {
    /// The empty name.
    #[error("the mailbox name is empty")]
    Empty,
    /// A leading `/`: absolute paths are not mailbox names.
    #[error("a mailbox name may not start with '/'")]
    Absolute,
    /// A leading `~`: other users' home directories are not reachable.
    #[error("a mailbox name may not start with '~'")]
    HomeRelative,
    /// A leading `#`: no other namespaces exist.
    #[error("a mailbox name may not start with '#'")]
    Namespace,
    /// A leading `{`: c-client's remote mailbox syntax (`{host}INBOX`), never a local name.
    /// \[decided\]
    #[error("a mailbox name may not start with '{{'")]
    Remote,
    /// `a//b`, or `a//` (one trailing `/` is a directory intent; two leave an empty component).
    #[error("a mailbox name may not have an empty level")]
    EmptyComponent,
    /// A `.` component.
    #[error("a mailbox name may not have a '.' level")]
    DotComponent,
    /// A `..` component.
    #[error("a mailbox name may not have a '..' level")]
    DotDotComponent,
    /// A component starting with `.` (hidden files are never listed). \[decided\]
    #[error("a mailbox name may not have a level starting with '.'")]
    Hidden,
    /// A component ending in `.lock`, in any case (a dot-lock's name). \[decided\]
    #[error("a mailbox name may not have a level ending in '.lock'")]
    LockName,
    /// A control character, raw or encoded in modified UTF-7, at this byte offset.
    #[error("a mailbox name may not contain control characters (byte {offset})")]
    ControlCharacter {
        /// Offset of the byte (or of the `&` of the shift sequence that encodes it).
        offset: usize,
    },
    /// A byte above 0x7F at this offset: names are 7-bit modified UTF-7.
    #[error("a mailbox name must be 7-bit modified UTF-7 (byte {offset})")]
    NonAscii {
        /// Offset of the byte.
        offset: usize,
    },
    /// Invalid modified UTF-7.
    #[error(transparent)]
    Utf7(#[from] Utf7Error),
    /// A component longer than [`MAX_COMPONENT_BYTES`].
    #[error("a level of the mailbox name is {len} bytes long; the limit is 255")]
    ComponentTooLong {
        /// The component's length.
        len: usize,
    },
    /// A name of [`MAX_PATH_BYTES`] or more, or one whose path below the folder root would be.
    #[error("the mailbox name is too long ({len} bytes)")]
    TooLong {
        /// The name's length, or the path's when the folder root made it too long.
        len: usize,
    },
    /// The name of the subscription list (`MAILBOX.LST` at the top level on NT).
    #[error("the mailbox name is reserved")]
    Reserved,
    /// More than [`MAX_DEPTH`] components.
    #[error("the mailbox name has more than 64 levels")]
    TooDeep,
    /// A byte or name the platform's file system cannot hold (NT: `\ : * ? " < > |`, a trailing
    /// dot or space, a device name such as `CON`).
    #[error("the mailbox name cannot be a file name on this system (byte {offset})")]
    NotPortable {
        /// Offset of the byte, or of the start of the offending component.
        offset: usize,
    },
}

/// A validated mailbox name: `INBOX` (any case, as the whole name) or a relative path of
/// `/`-separated components in canonical modified UTF-7, as the client sent it (after the
/// protocol layer has undone any quoting or literal).
///
/// A trailing `/` (`CREATE a/`) is kept as a *directory intent* flag, not as an empty component:
/// [`as_str`](Self::as_str) never ends with `/`. Names are case-sensitive byte strings except
/// INBOX, which is stored as `INBOX`.
///
/// ```
/// use dmail_store::names::{MailboxName, NameError};
/// let n = MailboxName::parse(b"Work/&ZeVnLIqe-").unwrap();
/// assert_eq!(n.as_str(), "Work/&ZeVnLIqe-");
/// assert_eq!(n.to_utf8(), "Work/\u{65e5}\u{672c}\u{8a9e}");
/// assert!(MailboxName::parse(b"inbox").unwrap().is_inbox());
/// assert!(!MailboxName::parse(b"inbox/x").unwrap().is_inbox());
/// let d = MailboxName::parse(b"a/").unwrap();
/// assert_eq!((d.as_str(), d.is_directory_intent()), ("a", true));
/// assert_eq!(MailboxName::parse(b"../x"), Err(NameError::DotDotComponent));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailboxName {
    /// ASCII, without a trailing delimiter; `INBOX` for INBOX.
    name: String,
    directory: bool,
}

impl MailboxName {
    /// Validates a name as the client sent it. Checks, in order: empty, INBOX, leading `/` `~`
    /// `#` `{`, raw control and 8-bit bytes, length, components (empty, `.`, `..`, hidden, `.lock`,
    /// too long, too many), modified UTF-7 (including decoded control characters).
    pub fn parse(bytes: &[u8]) -> Result<MailboxName, NameError> {
        if bytes.is_empty() {
            return Err(NameError::Empty);
        }
        if bytes.eq_ignore_ascii_case(b"INBOX") {
            return Ok(MailboxName::inbox());
        }
        match bytes[0] {
            b'/' => return Err(NameError::Absolute),
            b'~' => return Err(NameError::HomeRelative),
            b'#' => return Err(NameError::Namespace),
            b'{' => return Err(NameError::Remote),
            _ => {}
        }
        for (offset, &b) in bytes.iter().enumerate() {
            if b >= 0x80 {
                return Err(NameError::NonAscii { offset });
            }
            if b < 0x20 || b == 0x7f {
                return Err(NameError::ControlCharacter { offset });
            }
        }
        if bytes.len() >= MAX_PATH_BYTES {
            return Err(NameError::TooLong { len: bytes.len() });
        }
        let (body, directory) = match bytes.strip_suffix(b"/") {
            Some(body) => (body, true),
            None => (bytes, false),
        };
        let mut depth = 0;
        for component in body.split(|&b| b == DELIMITER) {
            depth += 1;
            check_component(component)?;
        }
        if depth > MAX_DEPTH {
            return Err(NameError::TooDeep);
        }
        let decoded = decode_modified_utf7(body)?;
        if let Some(pos) = decoded.chars().position(char::is_control) {
            return Err(NameError::ControlCharacter {
                offset: encoded_offset(body, pos),
            });
        }
        // Checked to be ASCII above.
        let name = String::from_utf8_lossy(body).into_owned();
        Ok(MailboxName { name, directory })
    }

    /// Encodes a Unicode name (as typed by a person, e.g. an admin tool) in modified UTF-7 and
    /// validates it.
    ///
    /// ```
    /// use dmail_store::names::MailboxName;
    /// assert_eq!(MailboxName::from_utf8("R\u{e9}sum\u{e9}s").unwrap().as_str(), "R&AOk-sum&AOk-s");
    /// ```
    pub fn from_utf8(text: &str) -> Result<MailboxName, NameError> {
        MailboxName::parse(encode_modified_utf7(text).as_bytes())
    }

    /// INBOX.
    pub fn inbox() -> MailboxName {
        MailboxName {
            name: "INBOX".to_owned(),
            directory: false,
        }
    }

    /// Whether this is INBOX (the drop file).
    pub fn is_inbox(&self) -> bool {
        !self.directory && self.name == "INBOX"
    }

    /// The name in modified UTF-7, without any trailing `/`; `INBOX` for INBOX in any case.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// [`as_str`](Self::as_str) as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.name.as_bytes()
    }

    /// Whether the client wrote a trailing `/` (`CREATE a/`: make a directory).
    pub fn is_directory_intent(&self) -> bool {
        self.directory
    }

    /// The same name without the directory intent.
    pub fn without_directory_intent(&self) -> MailboxName {
        MailboxName {
            name: self.name.clone(),
            directory: false,
        }
    }

    /// The components, in order (one, `INBOX`, for INBOX).
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.name.split('/')
    }

    /// The number of components.
    pub fn depth(&self) -> usize {
        self.components().count()
    }

    /// The enclosing directory's name (`a/b` for `a/b/c`), or `None` at the top level.
    pub fn parent(&self) -> Option<MailboxName> {
        let (parent, _) = self.name.rsplit_once('/')?;
        Some(MailboxName {
            name: parent.to_owned(),
            directory: false,
        })
    }

    /// Whether `self` lies strictly below `dir` (`a/b/c` is below `a` and `a/b`, not below
    /// `a/b/c` or `a/bc`).
    pub fn is_below(&self, dir: &MailboxName) -> bool {
        self.name
            .strip_prefix(dir.name.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
    }

    /// The name decoded to UTF-8, for logs and admin tools (never sent to clients, who get
    /// [`as_str`](Self::as_str)).
    pub fn to_utf8(&self) -> String {
        // Validated at construction; fall back to the stored form rather than panic.
        decode_modified_utf7(self.as_bytes()).unwrap_or_else(|_| self.name.clone())
    }

    /// Checks what only some file systems refuse. On [`Platform::Nt`]: the bytes
    /// `\ : * ? " < > |`, a component ending in `.` or space, and the device names `CON`,
    /// `PRN`, `AUX`, `NUL`, `COM1`–`COM9`, `LPT1`–`LPT9` (with or without an extension). On
    /// Unix everything [`parse`](Self::parse) accepts is a valid file name.
    ///
    /// ```
    /// use dmail_conf::Platform;
    /// use dmail_store::names::MailboxName;
    /// let n = MailboxName::parse(b"a\\..\\b").unwrap();
    /// assert!(n.check_platform(Platform::Unix).is_ok());
    /// assert!(n.check_platform(Platform::Nt).is_err());
    /// ```
    pub fn check_platform(&self, platform: Platform) -> Result<(), NameError> {
        if platform == Platform::Unix || self.is_inbox() {
            return Ok(());
        }
        let mut start = 0;
        for component in self.name.split('/') {
            if let Some(i) = component.bytes().position(|b| b"\\:*?\"<>|".contains(&b)) {
                return Err(NameError::NotPortable { offset: start + i });
            }
            let stem = component.split('.').next().unwrap_or_default();
            let upper = stem.trim_end_matches(' ').to_ascii_uppercase();
            let device = matches!(upper.as_str(), "CON" | "PRN" | "AUX" | "NUL")
                || ((upper.starts_with("COM") || upper.starts_with("LPT"))
                    && upper.len() == 4
                    && upper.as_bytes()[3].is_ascii_digit()
                    && upper.as_bytes()[3] != b'0');
            if device || component.ends_with('.') || component.ends_with(' ') {
                return Err(NameError::NotPortable { offset: start });
            }
            start += component.len() + 1;
        }
        Ok(())
    }
}

/// One component's rules.
fn check_component(component: &[u8]) -> Result<(), NameError> {
    match component {
        b"" => Err(NameError::EmptyComponent),
        b"." => Err(NameError::DotComponent),
        b".." => Err(NameError::DotDotComponent),
        [b'.', ..] => Err(NameError::Hidden),
        _ if component.len() > MAX_COMPONENT_BYTES => Err(NameError::ComponentTooLong {
            len: component.len(),
        }),
        _ if component.len() >= LOCK_SUFFIX.len()
            && component[component.len() - LOCK_SUFFIX.len()..]
                .eq_ignore_ascii_case(LOCK_SUFFIX) =>
        {
            Err(NameError::LockName)
        }
        _ => Ok(()),
    }
}

/// The offset in `encoded` (valid modified UTF-7) of the byte or shift sequence that produced
/// the `pos`-th decoded character.
fn encoded_offset(encoded: &[u8], pos: usize) -> usize {
    let mut chars = 0;
    let mut i = 0;
    while let Some(rest) = encoded.get(i..).filter(|r| !r.is_empty()) {
        let (len, n) = if rest[0] == b'&' {
            let len = rest
                .iter()
                .position(|&b| b == b'-')
                .map_or(rest.len(), |e| e + 1);
            let n = decode_modified_utf7(&rest[..len]).map_or(1, |s| s.chars().count());
            (len, n)
        } else {
            (1, 1)
        };
        if pos < chars + n {
            return i;
        }
        chars += n;
        i += len;
    }
    0
}

impl fmt::Display for MailboxName {
    /// The name as clients see it: modified UTF-7, no trailing `/`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Debug for MailboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MailboxName({:?}", self.name)?;
        if self.directory {
            f.write_str(", directory")?;
        }
        f.write_str(")")
    }
}

impl TryFrom<&[u8]> for MailboxName {
    type Error = NameError;
    fn try_from(bytes: &[u8]) -> Result<Self, NameError> {
        MailboxName::parse(bytes)
    }
}

impl TryFrom<&str> for MailboxName {
    type Error = NameError;
    /// Parses the string's bytes as the client's (modified UTF-7) form; see
    /// [`MailboxName::from_utf8`] for Unicode text.
    fn try_from(text: &str) -> Result<Self, NameError> {
        MailboxName::parse(text.as_bytes())
    }
}

#[cfg(test)]
mod tests;
