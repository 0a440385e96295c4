//! The subscription list: `.mailboxlist` (Unix) or `MAILBOX.LST` (NT) in the folder root, one
//! name per line (mailbox-formats.md §4; dmail-conventions §5; notes/uw-c-client.md §4.4).
//!
//! Owns reading the list, SUBSCRIBE and UNSUBSCRIBE rewrites, and LSUB. It must never leave a
//! partial list behind (rewrites go to a temporary file in the same directory, are fsynced,
//! then renamed over the list), never follow a symlink to read or write it, never drop a line it
//! does not understand (a `{host}INBOX` line written by pine survives every rewrite), and never
//! check whether a subscribed mailbox exists (RFC 3501 §6.3.6 leaves that to the server; the
//! caller decides).
//!
//! Reading tolerates CRLF, blank lines and duplicates. Rewrites end lines with LF on Unix and
//! CRLF on NT, drop blank lines and exact duplicates, and are serialised between sessions by an
//! exclusive lock on `LIST.lock` beside the list (hidden from LIST like every `*.lock`), waited
//! for at most [`LOCK_WAIT`]. \[decided\]

use std::collections::HashSet;
use std::fs::{self, File, TryLockError};
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use dmail_conf::Platform;

use crate::folders::{Attribute, Attributes, ListEntry, ListName};
use crate::fsutil;
use crate::names::MailboxName;
use crate::pattern::Pattern;

/// Largest subscription list read; a longer one is refused rather than read into memory.
pub const MAX_LIST_BYTES: u64 = 4 << 20;

/// How long a rewrite waits for another session's rewrite (mailbox-formats.md §3's 15 s).
pub const LOCK_WAIT: Duration = Duration::from_secs(15);

/// How often a waiting rewrite retries the lock.
const LOCK_RETRY: Duration = Duration::from_millis(50);

/// The prefix of temporary files (c-client's `.mlbxlsttmp`), hidden by its leading dot.
const TEMP_PREFIX: &str = ".mlbxlsttmp.";

/// Why the subscription list could not be read or written. The Display text has no path;
/// [`path`](Self::path) gives it for the log.
#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    /// The list (or its lock) is a symlink, which is never followed.
    #[error("The subscription list is a symbolic link and is not used")]
    Symlink {
        /// The symlink.
        path: Utf8PathBuf,
    },
    /// The list is larger than [`MAX_LIST_BYTES`].
    #[error("The subscription list is too large ({len} bytes)")]
    TooLarge {
        /// The list.
        path: Utf8PathBuf,
        /// Its size.
        len: u64,
    },
    /// Another session kept the list locked for [`LOCK_WAIT`].
    #[error("The subscription list is busy, try again")]
    Busy {
        /// The lock file.
        path: Utf8PathBuf,
    },
    /// Another system error.
    #[error("The subscription list cannot be used: {}", source.kind())]
    Io {
        /// The file the call failed on.
        path: Utf8PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl SubscriptionError {
    /// The server path involved, for the log.
    pub fn path(&self) -> &Utf8Path {
        match self {
            SubscriptionError::Symlink { path }
            | SubscriptionError::TooLarge { path, .. }
            | SubscriptionError::Busy { path }
            | SubscriptionError::Io { path, .. } => path,
        }
    }
}

/// A user's subscription list.
///
/// ```
/// use dmail_conf::Platform;
/// use dmail_store::names::MailboxName;
/// use dmail_store::subscriptions::Subscriptions;
/// let dir = tempfile::tempdir().unwrap();
/// let file = camino::Utf8Path::from_path(dir.path()).unwrap().join(".mailboxlist");
/// let subs = Subscriptions::new(file, Platform::Unix);
/// assert!(subs.subscribe(&MailboxName::parse(b"Work/2000").unwrap()).unwrap());
/// assert!(!subs.subscribe(&MailboxName::parse(b"Work/2000").unwrap()).unwrap());
/// assert_eq!(subs.names().unwrap(), [MailboxName::parse(b"Work/2000").unwrap()]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscriptions {
    path: Utf8PathBuf,
    platform: Platform,
}

impl Subscriptions {
    /// The list at `path` ([`MailPaths::subscriptions`](crate::layout::MailPaths)), written with
    /// the platform's line ending.
    pub fn new(path: Utf8PathBuf, platform: Platform) -> Subscriptions {
        Subscriptions { path, platform }
    }

    /// The list's path.
    pub fn path(&self) -> &Utf8Path {
        &self.path
    }

    /// The subscribed names that are valid mailbox names, in file order, each once (INBOX in
    /// any case counts as INBOX). A missing list is empty.
    pub fn names(&self) -> Result<Vec<MailboxName>, SubscriptionError> {
        let mut seen = HashSet::new();
        Ok(self
            .read_lines()?
            .iter()
            .filter_map(|line| MailboxName::parse(line).ok())
            .filter(|name| seen.insert(name.clone()))
            .collect())
    }

    /// Whether `name` is subscribed.
    pub fn contains(&self, name: &MailboxName) -> Result<bool, SubscriptionError> {
        Ok(self.read_lines()?.iter().any(|line| is_line_of(line, name)))
    }

    /// SUBSCRIBE: appends `name` unless it is there already. Returns whether the list changed.
    /// Creates the folder root (mode 0700, one level) if it is missing.
    pub fn subscribe(&self, name: &MailboxName) -> Result<bool, SubscriptionError> {
        self.ensure_dir()?;
        let _lock = self.lock()?;
        let mut lines = self.read_lines()?;
        if lines.iter().any(|line| is_line_of(line, name)) {
            return Ok(false);
        }
        let mut line = name.as_str().as_bytes().to_vec();
        if name.is_directory_intent() {
            line.push(b'/');
        }
        lines.push(line);
        self.write_lines(&lines)?;
        Ok(true)
    }

    /// UNSUBSCRIBE: removes every line naming `name`. Returns whether the list changed (it is
    /// not rewritten when nothing matched).
    pub fn unsubscribe(&self, name: &MailboxName) -> Result<bool, SubscriptionError> {
        if !self.list_dir_exists() {
            return Ok(false);
        }
        let _lock = self.lock()?;
        let lines = self.read_lines()?;
        let kept: Vec<Vec<u8>> = lines
            .iter()
            .filter(|line| !is_line_of(line, name))
            .cloned()
            .collect();
        if kept.len() == lines.len() {
            return Ok(false);
        }
        self.write_lines(&kept)?;
        Ok(true)
    }

    /// LSUB (RFC 3501 §6.3.9; notes §4.3): the subscribed names matching the pattern (after
    /// reference handling, [`Pattern::with_reference`]), in file order, with no attributes and
    /// without checking that they exist. When the pattern ends in `%`, an unsubscribed parent
    /// of a subscribed name that matches is reported once, `\Noselect`. An empty pattern gives
    /// nothing.
    pub fn lsub(
        &self,
        reference: &[u8],
        pattern: &[u8],
    ) -> Result<Vec<ListEntry>, SubscriptionError> {
        let pattern = Pattern::with_reference(reference, pattern);
        if pattern.is_empty() {
            return Ok(Vec::new());
        }
        Ok(lsub_entries(&self.names()?, &pattern))
    }

    /// The list's non-blank lines without line endings, exact duplicates dropped, in order.
    fn read_lines(&self) -> Result<Vec<Vec<u8>>, SubscriptionError> {
        let file = match fsutil::open_read_nofollow(self.path.as_std_path()) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) if fsutil::is_symlink_refusal(&e) => {
                return Err(SubscriptionError::Symlink {
                    path: self.path.clone(),
                });
            }
            Err(source) => return Err(self.io(source)),
        };
        let meta = file.metadata().map_err(|e| self.io(e))?;
        if !meta.is_file() {
            return Err(self.io(io::Error::from(io::ErrorKind::InvalidData)));
        }
        if meta.len() > MAX_LIST_BYTES {
            return Err(SubscriptionError::TooLarge {
                path: self.path.clone(),
                len: meta.len(),
            });
        }
        let mut bytes = Vec::new();
        file.take(MAX_LIST_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.io(e))?;
        if bytes.len() as u64 > MAX_LIST_BYTES {
            return Err(SubscriptionError::TooLarge {
                path: self.path.clone(),
                len: bytes.len() as u64,
            });
        }
        let mut seen = HashSet::new();
        Ok(bytes
            .split(|&b| b == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .filter(|line| !line.is_empty())
            .filter(|line| seen.insert(line.to_vec()))
            .map(<[u8]>::to_vec)
            .collect())
    }

    /// Replaces the list with `lines`: temporary file in the same directory, fsync, rename,
    /// fsync of the directory.
    fn write_lines(&self, lines: &[Vec<u8>]) -> Result<(), SubscriptionError> {
        let dir = self.dir();
        let ending: &[u8] = match self.platform {
            Platform::Unix => b"\n",
            Platform::Nt => b"\r\n",
        };
        let mut temp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(dir.as_std_path())
            .map_err(|e| self.io_at(&dir, e))?;
        let mut text = Vec::with_capacity(lines.iter().map(|l| l.len() + 2).sum());
        for line in lines {
            text.extend_from_slice(line);
            text.extend_from_slice(ending);
        }
        temp.write_all(&text)
            .and_then(|()| temp.as_file().sync_all())
            .map_err(|e| self.io(e))?;
        temp.persist(self.path.as_std_path())
            .map_err(|e| self.io(e.error))?;
        fsutil::sync_dir(dir.as_std_path()).map_err(|e| self.io_at(&dir, e))
    }

    /// Takes the rewrite lock, retrying for [`LOCK_WAIT`]. Released when the file is dropped.
    fn lock(&self) -> Result<File, SubscriptionError> {
        let path = Utf8PathBuf::from(format!("{}.lock", self.path));
        let file = match fsutil::open_rw_nofollow(path.as_std_path()) {
            Ok(file) => file,
            Err(e) if fsutil::is_symlink_refusal(&e) => {
                return Err(SubscriptionError::Symlink { path });
            }
            Err(source) => return Err(SubscriptionError::Io { path, source }),
        };
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(LOCK_RETRY);
                }
                Err(TryLockError::WouldBlock) => return Err(SubscriptionError::Busy { path }),
                Err(TryLockError::Error(source)) => {
                    return Err(SubscriptionError::Io { path, source });
                }
            }
        }
    }

    /// The directory holding the list.
    fn dir(&self) -> Utf8PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_str().is_empty() => p.to_owned(),
            _ => Utf8PathBuf::from("."),
        }
    }

    fn list_dir_exists(&self) -> bool {
        fs::metadata(self.dir()).is_ok_and(|m| m.is_dir())
    }

    /// Creates the list's directory (the folder root) if it is missing: one level, mode 0700.
    fn ensure_dir(&self) -> Result<(), SubscriptionError> {
        let dir = self.dir();
        if self.list_dir_exists() {
            return Ok(());
        }
        match fsutil::create_private_dir(dir.as_std_path()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(self.io_at(&dir, e)),
        }
    }

    fn io(&self, source: io::Error) -> SubscriptionError {
        self.io_at(&self.path, source)
    }

    fn io_at(&self, path: &Utf8Path, source: io::Error) -> SubscriptionError {
        SubscriptionError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// LSUB's answer from subscribed `names` (in list order, each once) and a non-empty pattern:
/// the rules of [`Subscriptions::lsub`], shared with stores that keep their list elsewhere.
pub(crate) fn lsub_entries(names: &[MailboxName], pattern: &Pattern) -> Vec<ListEntry> {
    let names: Vec<MailboxName> = names
        .iter()
        .map(MailboxName::without_directory_intent)
        .collect();
    let subscribed: HashSet<&MailboxName> = names.iter().collect();
    let mut reported = HashSet::new();
    let mut out = Vec::new();
    for name in &names {
        if pattern.matches_name(name) {
            if reported.insert(name.clone()) {
                out.push(ListEntry {
                    name: ListName::Mailbox(name.clone()),
                    attributes: Attributes::empty(),
                });
            }
            continue;
        }
        if !pattern.ends_with_percent() {
            continue;
        }
        let mut parent = name.parent();
        while let Some(p) = parent {
            let is_inbox_like = p.as_str().eq_ignore_ascii_case("INBOX");
            if !is_inbox_like
                && !subscribed.contains(&p)
                && pattern.matches(p.as_bytes())
                && reported.insert(p.clone())
            {
                out.push(ListEntry {
                    name: ListName::Mailbox(p.clone()),
                    attributes: Attributes::empty().with(Attribute::NoSelect),
                });
            }
            parent = p.parent();
        }
    }
    out
}

/// Whether a line of the list names `name` (INBOX in any case is INBOX).
fn is_line_of(line: &[u8], name: &MailboxName) -> bool {
    MailboxName::parse(line).is_ok_and(|parsed| parsed == *name)
}

#[cfg(test)]
mod tests;
