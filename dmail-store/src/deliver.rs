//! Delivery into a drop file, as a DSMTP implementation does it and as our tests play DSMTP
//! (mailbox-formats.md §2–3; dmail-conventions.md §4; notes/uw-c-client.md §3.6).
//!
//! This module owns one operation: append one message at the end of a drop file under the
//! dot-lock and an exclusive flock, then fsync. It must never rewrite or truncate bytes that
//! were in the file before (except to undo its own failed append), write a status block or UID,
//! create directories, or wait for locks longer than its budget.
//!
//! The spool directories (`drop_path` and its hash directories) are the caller's or the
//! administrator's to create; a missing drop file is created (mode 0600).

use std::fs::{File, FileTimes, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::time::SystemTime;

use camino::{Utf8Path, Utf8PathBuf};

use crate::InternalDate;
use crate::layout::DropPath;
use crate::lock::{DELIVERY_BUDGET, LockError, LockMode, LockOptions, MailboxLock};
use crate::mbox::from_line;
use crate::mbox::write::{LineEnding, TAIL_LEN, encode, separator_before};

/// The sender written for an empty envelope sender (a bounce's `<>`).
pub const NULL_SENDER: &str = "MAILER-DAEMON";

/// How far into a file its line ending is looked for.
const FIRST_LINE_LIMIT: u64 = 1024;

/// Delivery settings.
///
/// ```
/// use dmail_store::deliver::DeliverOptions;
/// use dmail_store::mbox::write::LineEnding;
/// let o = DeliverOptions::default();
/// assert_eq!(o.lock.budget.as_secs(), 300);
/// assert_eq!(o.new_file_line_ending, LineEnding::Lf);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliverOptions {
    /// Locking: `lock_id`, stale limit, retry interval, budget (5 minutes by default).
    pub lock: LockOptions,
    /// The line ending of an empty or new drop file, or of one whose first 1 KiB holds no line
    /// end (an existing file's first line decides otherwise).
    pub new_file_line_ending: LineEnding,
    /// The undo journal of the drop file (`FOLDERDIR/.imapd/INBOX.journal`, see
    /// [`crate::mbox::engine::MboxPaths::journal`]): an interrupted rewrite is undone before
    /// delivering. `None` when the caller knows no session of ours writes this mailbox.
    pub journal: Option<Utf8PathBuf>,
}

impl Default for DeliverOptions {
    fn default() -> Self {
        DeliverOptions {
            lock: LockOptions::delivery(),
            new_file_line_ending: LineEnding::Lf,
            journal: None,
        }
    }
}

impl DeliverOptions {
    /// From a configuration: its `lock_id` and `imapd_lock_stale`, the 5-minute budget, and
    /// CRLF for new files on NT.
    ///
    /// ```
    /// use dmail_conf::{parse_str, Program, Platform};
    /// use dmail_store::{deliver::DeliverOptions, mbox::write::LineEnding};
    /// let c = parse_str("", "c".into(), Program::Dsmtp, Platform::Nt).config;
    /// assert_eq!(DeliverOptions::from_config(&c).new_file_line_ending, LineEnding::Crlf);
    /// ```
    pub fn from_config(config: &dmail_conf::Config) -> Self {
        DeliverOptions {
            lock: LockOptions::from_config(config, DELIVERY_BUDGET),
            new_file_line_ending: match config.platform {
                dmail_conf::Platform::Unix => LineEnding::Lf,
                dmail_conf::Platform::Nt => LineEnding::Crlf,
            },
            journal: None,
        }
    }
}

/// What a delivery did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Where the new message's `From ` line starts.
    pub offset: u64,
    /// The file's length afterwards (the message ends there).
    pub end: u64,
    /// The line ending used.
    pub line_ending: LineEnding,
    /// When the dot-lock was skipped because the spool directory is not writable, that
    /// directory (the caller logs it).
    pub dot_lock_skipped: Option<Utf8PathBuf>,
}

/// Why a message was not delivered. In every case the drop file holds what it held before.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// The envelope sender holds a control character and cannot go into a `From ` line.
    #[error("envelope sender {sender:?} cannot be written in a From line")]
    BadSender {
        /// The sender as given.
        sender: String,
    },
    /// The locks were not obtained (a [`LockError::Timeout`] means "try again later").
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Reading the drop file's length, first line or last bytes failed.
    #[error("{path}: {source}")]
    Read {
        /// The drop file.
        path: Utf8PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// Writing or syncing failed (e.g. the disk is full); the file was cut back to its length
    /// before the delivery.
    #[error(
        "{path}: writing the message failed ({source}); the file was restored to {length} bytes"
    )]
    Write {
        /// The drop file.
        path: Utf8PathBuf,
        /// The system's reason.
        source: io::Error,
        /// The length the file was restored to.
        length: u64,
    },
    /// Writing failed, and so did cutting the file back: the file may end with part of the
    /// message (readers see it as the end of the previous message).
    #[error(
        "{path}: writing the message failed ({source}) and restoring the length {length} also failed ({restore})"
    )]
    Restore {
        /// The drop file.
        path: Utf8PathBuf,
        /// Why the write failed.
        source: io::Error,
        /// Why the truncation failed.
        restore: io::Error,
        /// The length it should have had.
        length: u64,
    },
}

impl DeliverError {
    /// Whether this is a lock timeout (a temporary failure: DSMTP retries later).
    pub fn is_timeout(&self) -> bool {
        matches!(self, DeliverError::Lock(e) if e.is_timeout())
    }
}

/// The sender as written: [`NULL_SENDER`] for an empty one; refused if it holds a control
/// character (CR, LF, NUL, ...) or DEL.
fn from_line_sender(sender: &str) -> Result<&str, DeliverError> {
    if sender.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(DeliverError::BadSender {
            sender: sender.to_owned(),
        });
    }
    Ok(if sender.is_empty() {
        NULL_SENDER
    } else {
        sender
    })
}

/// The file operations an append needs; a seam for tests that inject failures.
trait Sink {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    fn set_len(&self, len: u64) -> io::Result<()>;
    fn sync_all(&self) -> io::Result<()>;
}

impl Sink for File {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        FileExt::write_all_at(self, buf, offset)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }
    fn sync_all(&self) -> io::Result<()> {
        File::sync_all(self)
    }
}

/// Writes `data` at `at` (the file's end) and syncs; on failure cuts the file back to `at`.
fn append_or_restore(
    sink: &dyn Sink,
    path: &Utf8Path,
    at: u64,
    data: &[u8],
) -> Result<(), DeliverError> {
    let Err(source) = sink.write_all_at(data, at).and_then(|()| sink.sync_all()) else {
        return Ok(());
    };
    match sink.set_len(at).and_then(|()| sink.sync_all()) {
        Ok(()) => Err(DeliverError::Write {
            path: path.to_owned(),
            source,
            length: at,
        }),
        Err(restore) => Err(DeliverError::Restore {
            path: path.to_owned(),
            source,
            restore,
            length: at,
        }),
    }
}

fn read_at(file: &File, path: &Utf8Path, offset: u64, len: u64) -> Result<Vec<u8>, DeliverError> {
    let mut buf = vec![0; usize::try_from(len).unwrap_or(0)];
    file.read_exact_at(&mut buf, offset)
        .map_err(|source| DeliverError::Read {
            path: path.to_owned(),
            source,
        })?;
    Ok(buf)
}

/// Everything written for one message at the end of a file of `len` bytes.
fn delivery_bytes(
    tail: &[u8],
    len: u64,
    ending: LineEnding,
    sender: &str,
    message: &[u8],
    date: InternalDate,
) -> Vec<u8> {
    let separator = separator_before(tail, len, ending);
    let from = from_line::delivery_line(sender, date);
    let stored = encode(message, ending, None).bytes;
    let mut data = Vec::with_capacity(separator.len() + from.len() + 2 + stored.len());
    data.extend_from_slice(separator);
    data.extend_from_slice(from.as_bytes());
    data.extend_from_slice(ending.as_bytes());
    data.extend_from_slice(&stored);
    data
}

/// Delivers `message` (as received, CRLF or LF) from `envelope_sender` into `drop_file`, as DSMTP
/// does: creates the file if missing (mode 0600), takes the dot-lock and an exclusive flock
/// (waiting up to `options.lock.budget`), appends — after one or two line ends if the file does
/// not already end with a blank line — the DSMTP `From ` line
/// ([`from_line::delivery_line`]) and the stored form of the message
/// ([`encode`], without a status block), fsyncs, sets the file's modification time to now
/// (keeping its access time, so the mailbox shows new mail), and unlocks. A file whose first
/// line ends CRLF gets CRLF. On a write error the file is cut back to its old length.
///
/// An empty sender is written as [`NULL_SENDER`].
///
/// ```
/// use dmail_store::{InternalDate, layout::DropPath, deliver::{deliver, DeliverOptions}};
/// let dir = tempfile::tempdir()?;
/// let drop = DropPath::new(camino::Utf8PathBuf::try_from(dir.path().join("bob"))?);
/// let date = InternalDate { unix: 914_665_068, offset_minutes: 0 };
/// deliver(&drop, "alice@example.com", b"Subject: hi\r\n\r\nFrom me\r\n", date,
///     &DeliverOptions::default())?;
/// let report = deliver(&drop, "", b"Subject: 2\n\nx", date, &DeliverOptions::default())?;
/// assert_eq!(std::fs::read(drop.as_path())?, b"\
/// From alice@example.com Sat Dec 26 09:37:48 1998\nSubject: hi\n\n>From me\n\n\
/// From MAILER-DAEMON Sat Dec 26 09:37:48 1998\nSubject: 2\n\nx\n\n");
/// assert_eq!(report.offset, 71);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn deliver(
    drop_file: &DropPath,
    envelope_sender: &str,
    message: &[u8],
    date: InternalDate,
    options: &DeliverOptions,
) -> Result<DeliveryReport, DeliverError> {
    let sender = from_line_sender(envelope_sender)?;
    let path = drop_file.as_path();
    let mut open = OpenOptions::new();
    open.read(true).write(true).create(true).mode(0o600);
    let lock = MailboxLock::acquire(path, &open, LockMode::Exclusive, &options.lock)?;
    let file = lock.file();
    if let Some(journal) = &options.journal {
        crate::mbox::journal::recover(journal.as_std_path(), file).map_err(|source| {
            DeliverError::Read {
                path: path.to_owned(),
                source,
            }
        })?;
    }
    let before = file.metadata().map_err(|source| DeliverError::Read {
        path: path.to_owned(),
        source,
    })?;
    let appended = append_locked(
        file,
        file,
        path,
        sender,
        message,
        date,
        options.new_file_line_ending,
    )?;
    // New mail: modified now, access time kept (c-client's \Marked test; biff). Best effort:
    // only the owner may set an explicit access time.
    if let Ok(accessed) = before.accessed() {
        let times = FileTimes::new()
            .set_accessed(accessed)
            .set_modified(SystemTime::now());
        let _ = file.set_times(times);
    }
    Ok(DeliveryReport {
        offset: appended.offset,
        end: appended.end,
        line_ending: appended.line_ending,
        dot_lock_skipped: lock.dot_lock_skipped().map(Utf8Path::to_owned),
    })
}

/// Where an append went.
struct Appended {
    offset: u64,
    end: u64,
    line_ending: LineEnding,
}

/// The append itself, under the caller's exclusive locks: reads the file's length, first line
/// and last bytes from `file`, writes through `sink`.
fn append_locked(
    file: &File,
    sink: &dyn Sink,
    path: &Utf8Path,
    sender: &str,
    message: &[u8],
    date: InternalDate,
    default_ending: LineEnding,
) -> Result<Appended, DeliverError> {
    let len = file
        .metadata()
        .map_err(|source| DeliverError::Read {
            path: path.to_owned(),
            source,
        })?
        .len();
    let line_ending = if len == 0 {
        default_ending
    } else {
        let start = read_at(file, path, 0, len.min(FIRST_LINE_LIMIT))?;
        LineEnding::of_first_line(&start).unwrap_or(default_ending)
    };
    let tail_len = len.min(TAIL_LEN as u64);
    let tail = read_at(file, path, len - tail_len, tail_len)?;
    let separator = separator_before(&tail, len, line_ending);
    let data = delivery_bytes(&tail, len, line_ending, sender, message, date);
    append_or_restore(sink, path, len, &data)?;
    Ok(Appended {
        offset: len + separator.len() as u64,
        end: len + data.len() as u64,
        line_ending,
    })
}

#[cfg(test)]
mod tests;
