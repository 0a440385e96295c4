//! Per-user quota (dmail-conventions §7; RFC 9208): where a user's limit comes from, how much
//! storage they use, and whether they are over the limit.
//!
//! Owns the order of the limit sources ([`resolve_limit`]), reading the per-user `quota` file
//! ([`read_quota_file`]), the usage walk ([`usage`]), rounding to kbytes ([`kbytes_rounded_up`])
//! and the at-or-over rule ([`over_quota`]). It must never write or create a file, follow a
//! symlink below the folder directory, read more of a folder file than its first
//! [`SNIFF_BYTES`], take mailbox locks (usage is a snapshot: a size
//! read while a delivery appends is the answer of that moment), or decide what a client is told
//! (`NO [OVERQUOTA]`, the QUOTA response syntax): that is the protocol layer's.
//!
//! # Rules
//!
//! - **Limit** ([`resolve_limit`]): `user_quota false` disables quotas whatever else says so.
//!   Otherwise, in order: the external authenticator's `quota="KBYTES"`, the file `quota` in the
//!   folder directory, the number given to `user_quota`. `user_quota true` with no other source
//!   is no limit. \[doc + decided\]
//! - **A per-user `0`** (from the authenticator or the file) means *no limit for this user*, as
//!   `user_quota 0` means no quota: it still wins over `user_quota KBYTES`. \[decided\]
//! - **The `quota` file** holds one decimal number of kbytes; surrounding blanks, CR and LF are
//!   tolerated. Anything else (empty, junk, a number beyond `u64`, over
//!   [`MAX_QUOTA_FILE_BYTES`], a symlink, a directory, unreadable) is ignored with a reason the
//!   caller logs, and the next source applies. \[decided\] With `imapd_mailbox_name`, the folder
//!   directory is in the user's home, so a user with shell access can write their own `quota`
//!   file: give such users their limit through the authenticator instead.
//! - **Usage** ([`usage`]): the size of the drop file plus every mailbox file below the folder
//!   directory, recursively. A mailbox file is what LIST shows as one by content: a regular file
//!   that [`is_mailbox_head`] accepts (so the `quota` file, notes
//!   and other junk are not counted). Skipped: names starting with `.` (the subscription list,
//!   `.imapd/` with the index and journals, `.bulletin`, temporary files), `*.lock` files,
//!   symlinks (never followed), devices, FIFOs, sockets, and directories deeper than
//!   [`MAX_DEPTH`]. A file reached twice (hard links, the drop file
//!   inside the folder directory) counts once. A missing drop file or folder directory counts 0.
//!   The drop file and the folder directory themselves are configuration, as in
//!   [`folders`](crate::folders): a symlink there is followed, as the engine follows it to read
//!   INBOX. \[decided\]
//! - **Units**: usage and limit are reported in kbytes of 1,024 octets (RFC 9208 §5.1
//!   `STORAGE`), usage rounded up. [`over_quota`] compares exact bytes: a user is over quota
//!   when their usage is at least `limit × 1024` bytes. \[decided\]
//! - **Slightly over** (§7, the manual's installation note 4): a COPY, APPEND or CREATE is
//!   refused only when [`over_quota`] is already true before it; a user under quota may go over
//!   by one operation.

use std::collections::HashSet;
use std::fmt;
use std::fs::{self, Metadata};
use std::io::{self, Read};
use std::path::Path;

use camino::{Utf8Path, Utf8PathBuf};
use dmail_conf::values::UserQuota;

use crate::folders::{SNIFF_BYTES, is_mailbox_head};
use crate::fsutil;
use crate::layout::MailPaths;
use crate::names::MAX_DEPTH;

/// The per-user limit file's name, in the folder directory. \[doc\]
pub const QUOTA_FILE_NAME: &str = "quota";

/// The largest `quota` file read; a longer one is ignored as junk. \[decided\]
pub const MAX_QUOTA_FILE_BYTES: u64 = 1024;

/// The one quota root (RFC 9208 §3): `""`, the user's whole mail. \[decided\]
pub const QUOTA_ROOT: &str = "";

/// The one resource reported (RFC 9208 §5.1), in kbytes of 1,024 octets.
pub const STORAGE: &str = "STORAGE";

/// A user's storage limit.
///
/// ```
/// use dmail_store::quota::QuotaLimit;
/// assert_eq!(QuotaLimit::Kbytes(20).kbytes(), Some(20));
/// assert!(QuotaLimit::Unlimited.is_enabled());
/// assert!(!QuotaLimit::Disabled.is_enabled());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuotaLimit {
    /// `user_quota false` (or `0`): no quota system at all.
    Disabled,
    /// Quotas are on, and this user has no limit.
    Unlimited,
    /// A limit in kbytes (never 0).
    Kbytes(u64),
}

impl QuotaLimit {
    /// The limit in kbytes, if there is one.
    pub const fn kbytes(self) -> Option<u64> {
        match self {
            QuotaLimit::Kbytes(k) => Some(k),
            QuotaLimit::Disabled | QuotaLimit::Unlimited => None,
        }
    }

    /// Whether the quota system is on (`user_quota` is not false).
    pub const fn is_enabled(self) -> bool {
        !matches!(self, QuotaLimit::Disabled)
    }

    /// A per-user number of kbytes as a limit: `0` is no limit. \[decided\]
    ///
    /// ```
    /// use dmail_store::quota::QuotaLimit;
    /// assert_eq!(QuotaLimit::per_user(0), QuotaLimit::Unlimited);
    /// assert_eq!(QuotaLimit::per_user(5), QuotaLimit::Kbytes(5));
    /// ```
    pub const fn per_user(kbytes: u64) -> QuotaLimit {
        if kbytes == 0 {
            QuotaLimit::Unlimited
        } else {
            QuotaLimit::Kbytes(kbytes)
        }
    }
}

/// Where a limit came from (for the log).
///
/// ```
/// use dmail_conf::values::UserQuota;
/// use dmail_store::quota::{resolve_limit, LimitSource};
/// let r = resolve_limit(UserQuota::On, Some(20_000), "/nonexistent".into());
/// assert_eq!(r.source, Some(LimitSource::Authenticator));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitSource {
    /// The external authenticator's `quota="KBYTES"`.
    Authenticator,
    /// The `quota` file in the folder directory.
    File,
    /// The number given to `user_quota`.
    UserQuota,
}

/// Why a `quota` text is not a number of kbytes.
///
/// ```
/// use dmail_store::quota::{parse_kbytes, KbytesError};
/// assert_eq!(parse_kbytes(b" \r\n"), Err(KbytesError::Empty));
/// assert_eq!(parse_kbytes(b"20 MB"), Err(KbytesError::NotANumber));
/// assert_eq!(parse_kbytes(b"99999999999999999999"), Err(KbytesError::TooLarge));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum KbytesError {
    /// Nothing but blanks.
    #[error("it is empty")]
    Empty,
    /// Something other than decimal digits (a sign, a unit, a second number).
    #[error("it is not one decimal number of kbytes")]
    NotANumber,
    /// A number beyond `u64`.
    #[error("the number is too large")]
    TooLarge,
}

/// Parses a number of kbytes as the `quota` file and the authenticator's `quota="..."` give it:
/// ASCII decimal digits, with surrounding blanks, tabs, CR and LF ignored. \[decided\]
///
/// ```
/// use dmail_store::quota::parse_kbytes;
/// assert_eq!(parse_kbytes(b"20000\r\n"), Ok(20000));
/// assert_eq!(parse_kbytes(b"  007 "), Ok(7));
/// assert!(parse_kbytes(b"-1").is_err());
/// ```
pub fn parse_kbytes(text: &[u8]) -> Result<u64, KbytesError> {
    let text = text.trim_ascii();
    if text.is_empty() {
        return Err(KbytesError::Empty);
    }
    if !text.iter().all(u8::is_ascii_digit) {
        return Err(KbytesError::NotANumber);
    }
    text.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or(KbytesError::TooLarge)
    })
}

/// Why the `quota` file was ignored.
///
/// ```
/// use dmail_store::quota::{read_quota_file, QuotaFileProblem, KbytesError};
/// let dir = tempfile::tempdir()?;
/// let folder_dir = camino::Utf8Path::from_path(dir.path()).unwrap();
/// std::fs::write(folder_dir.join("quota"), "lots")?;
/// let ignored = read_quota_file(folder_dir).unwrap_err();
/// assert_eq!(ignored.problem, QuotaFileProblem::Junk(KbytesError::NotANumber));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuotaFileProblem {
    /// The file's content is not one number of kbytes.
    #[error("{0}")]
    Junk(KbytesError),
    /// Larger than [`MAX_QUOTA_FILE_BYTES`].
    #[error("it is larger than {MAX_QUOTA_FILE_BYTES} bytes")]
    TooLarge,
    /// A symlink, which is never followed.
    #[error("it is a symbolic link")]
    Symlink,
    /// A directory, device or other non-regular file.
    #[error("it is not a regular file")]
    NotAFile,
    /// Opening or reading it failed.
    #[error("it cannot be read ({0})")]
    Unreadable(io::ErrorKind),
}

/// A `quota` file that was ignored, and why. Display gives a log line.
///
/// ```
/// use dmail_store::quota::{IgnoredQuotaFile, QuotaFileProblem, KbytesError};
/// let i = IgnoredQuotaFile { path: "/s/bob.mbx/quota".into(),
///     problem: QuotaFileProblem::Junk(KbytesError::NotANumber) };
/// assert_eq!(i.to_string(),
///     "quota file /s/bob.mbx/quota ignored: it is not one decimal number of kbytes");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoredQuotaFile {
    /// The file.
    pub path: Utf8PathBuf,
    /// What is wrong with it.
    pub problem: QuotaFileProblem,
}

impl fmt::Display for IgnoredQuotaFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "quota file {} ignored: {}", self.path, self.problem)
    }
}

/// Reads the `quota` file of a folder directory: `Ok(None)` when there is none, `Ok(Some(n))`
/// for a valid number, `Err` (for the log) when it exists but is not usable. Never follows a
/// symlink.
///
/// ```
/// use dmail_store::quota::read_quota_file;
/// let dir = tempfile::tempdir()?;
/// let folder_dir = camino::Utf8Path::from_path(dir.path()).unwrap();
/// assert_eq!(read_quota_file(folder_dir), Ok(None));
/// std::fs::write(folder_dir.join("quota"), "5000\r\n")?;
/// assert_eq!(read_quota_file(folder_dir), Ok(Some(5000)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_quota_file(folder_dir: &Utf8Path) -> Result<Option<u64>, IgnoredQuotaFile> {
    let path = folder_dir.join(QUOTA_FILE_NAME);
    let ignored = |problem| IgnoredQuotaFile {
        path: path.clone(),
        problem,
    };
    let file = match fsutil::open_read_nofollow(path.as_std_path()) {
        Ok(file) => file,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) if fsutil::is_symlink_refusal(&e) => {
            return Err(ignored(QuotaFileProblem::Symlink));
        }
        Err(e) => return Err(ignored(QuotaFileProblem::Unreadable(e.kind()))),
    };
    let meta = file
        .metadata()
        .map_err(|e| ignored(QuotaFileProblem::Unreadable(e.kind())))?;
    if !meta.is_file() {
        return Err(ignored(QuotaFileProblem::NotAFile));
    }
    let mut bytes = Vec::new();
    file.take(MAX_QUOTA_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ignored(QuotaFileProblem::Unreadable(e.kind())))?;
    if bytes.len() as u64 > MAX_QUOTA_FILE_BYTES {
        return Err(ignored(QuotaFileProblem::TooLarge));
    }
    parse_kbytes(&bytes)
        .map(Some)
        .map_err(|e| ignored(QuotaFileProblem::Junk(e)))
}

/// A resolved limit: the limit, where it came from, and a `quota` file that was ignored on the
/// way (to be logged).
///
/// ```
/// use dmail_conf::values::UserQuota;
/// use dmail_store::quota::{resolve_limit, LimitResolution, LimitSource, QuotaLimit};
/// assert_eq!(resolve_limit(UserQuota::Limit(9), None, "/nonexistent".into()),
///     LimitResolution { limit: QuotaLimit::Kbytes(9), source: Some(LimitSource::UserQuota), ignored_file: None });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitResolution {
    /// The limit.
    pub limit: QuotaLimit,
    /// The source that decided it; `None` when quotas are off or no source gave a limit.
    pub source: Option<LimitSource>,
    /// A `quota` file that exists but was not usable.
    pub ignored_file: Option<IgnoredQuotaFile>,
}

/// Resolves a user's limit (§7), in order: `user_quota false` → [`QuotaLimit::Disabled`]
/// (nothing read); the authenticator's `quota="KBYTES"` (`authenticator`, already parsed, e.g.
/// with [`parse_kbytes`]); the `quota` file in `folder_dir` ([`read_quota_file`]; a bad file is
/// skipped and reported); `user_quota KBYTES`; else (`user_quota true`) no limit. A per-user `0`
/// is no limit ([`QuotaLimit::per_user`]). \[doc + decided\]
///
/// ```
/// use dmail_conf::values::UserQuota;
/// use dmail_store::quota::{resolve_limit, LimitSource, QuotaLimit};
/// let dir = tempfile::tempdir()?;
/// let folder_dir = camino::Utf8Path::from_path(dir.path()).unwrap();
/// let r = resolve_limit(UserQuota::Limit(100), None, folder_dir);
/// assert_eq!((r.limit, r.source), (QuotaLimit::Kbytes(100), Some(LimitSource::UserQuota)));
/// std::fs::write(folder_dir.join("quota"), "250\n")?;
/// assert_eq!(resolve_limit(UserQuota::Limit(100), None, folder_dir).limit, QuotaLimit::Kbytes(250));
/// assert_eq!(resolve_limit(UserQuota::On, Some(7), folder_dir).limit, QuotaLimit::Kbytes(7));
/// assert_eq!(resolve_limit(UserQuota::Off, Some(7), folder_dir).limit, QuotaLimit::Disabled);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn resolve_limit(
    setting: UserQuota,
    authenticator: Option<u64>,
    folder_dir: &Utf8Path,
) -> LimitResolution {
    let resolved = |limit, source, ignored_file| LimitResolution {
        limit,
        source,
        ignored_file,
    };
    if setting == UserQuota::Off {
        return resolved(QuotaLimit::Disabled, None, None);
    }
    if let Some(kbytes) = authenticator {
        return resolved(
            QuotaLimit::per_user(kbytes),
            Some(LimitSource::Authenticator),
            None,
        );
    }
    let ignored = match read_quota_file(folder_dir) {
        Ok(Some(kbytes)) => {
            return resolved(QuotaLimit::per_user(kbytes), Some(LimitSource::File), None);
        }
        Ok(None) => None,
        Err(ignored) => Some(ignored),
    };
    match setting {
        UserQuota::Limit(kbytes) => resolved(
            QuotaLimit::per_user(kbytes),
            Some(LimitSource::UserQuota),
            ignored,
        ),
        UserQuota::On | UserQuota::Off => resolved(QuotaLimit::Unlimited, None, ignored),
    }
}

/// `bytes` in kbytes of 1,024 octets, rounded up (RFC 9208 `STORAGE`).
///
/// ```
/// use dmail_store::quota::kbytes_rounded_up;
/// assert_eq!(kbytes_rounded_up(0), 0);
/// assert_eq!(kbytes_rounded_up(1), 1);
/// assert_eq!(kbytes_rounded_up(1024), 1);
/// assert_eq!(kbytes_rounded_up(1025), 2);
/// ```
pub const fn kbytes_rounded_up(bytes: u64) -> u64 {
    bytes.div_ceil(1024)
}

/// How much storage a user's mail takes.
///
/// ```
/// use dmail_store::quota::Usage;
/// assert_eq!(Usage { bytes: 1500, mailbox_files: 2 }.kbytes(), 2);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Usage {
    /// Bytes: the drop file plus every mailbox file below the folder directory.
    pub bytes: u64,
    /// How many mailbox files below the folder directory were counted (the drop file is not
    /// among them).
    pub mailbox_files: usize,
}

impl Usage {
    /// The usage in kbytes, rounded up ([`kbytes_rounded_up`]).
    pub const fn kbytes(self) -> u64 {
        kbytes_rounded_up(self.bytes)
    }
}

/// Why usage could not be measured. The caller logs it (with the path) and decides whether the
/// command goes ahead; the Display text holds no path.
///
/// ```
/// use dmail_store::quota::usage;
/// let dir = tempfile::tempdir()?;
/// let base = camino::Utf8Path::from_path(dir.path()).unwrap();
/// std::fs::write(base.join("plain"), "x")?; // a file where a directory should be
/// let err = usage(&base.join("plain/bob"), &base.join("plain/bob.mbx")).unwrap_err();
/// assert_eq!(err.path, base.join("plain/bob"));
/// assert!(err.to_string().starts_with("the mail storage used cannot be measured"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[error("the mail storage used cannot be measured: {}", source.kind())]
pub struct QuotaError {
    /// The file or directory the call failed on.
    pub path: Utf8PathBuf,
    /// The system's reason.
    pub source: io::Error,
}

/// Measures a user's usage (see the module's rules): the drop file's size (missing: 0) plus
/// every mailbox file below `folder_dir`, without following symlinks below it. A file or
/// directory that vanishes during the walk (a concurrent DELETE) is skipped.
///
/// ```
/// use dmail_store::quota::usage;
/// let dir = tempfile::tempdir()?;
/// let base = camino::Utf8Path::from_path(dir.path()).unwrap();
/// std::fs::write(base.join("bob"), "From a Sat Dec 26 09:37:48 1998\n\nhi\n\n")?;
/// std::fs::create_dir_all(base.join("bob.mbx/Work"))?;
/// std::fs::write(base.join("bob.mbx/Work/2000"), "From a Sat Dec 26 09:37:48 1998\n\nx\n")?;
/// std::fs::write(base.join("bob.mbx/notes.txt"), "not a mailbox")?;
/// let u = usage(&base.join("bob"), &base.join("bob.mbx"))?;
/// assert_eq!((u.bytes, u.mailbox_files), (37 + 35, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn usage(drop_file: &Utf8Path, folder_dir: &Utf8Path) -> Result<Usage, QuotaError> {
    let mut walk = Walk {
        usage: Usage::default(),
        seen: HashSet::new(),
    };
    // The drop file is configuration (or the authenticator's answer): followed, as the engine
    // follows it.
    match fs::metadata(drop_file) {
        Ok(meta) if meta.is_file() => {
            walk.first_time(&meta);
            walk.usage.bytes = meta.len();
        }
        Ok(_) => {}
        Err(e) if is_not_found(&e) => {}
        Err(source) => return Err(error_at(drop_file.as_std_path(), source)),
    }
    match fs::metadata(folder_dir) {
        Ok(meta) if meta.is_dir() => walk.directory(folder_dir.as_std_path(), 1)?,
        Ok(_) => {}
        Err(e) if is_not_found(&e) => {}
        Err(source) => return Err(error_at(folder_dir.as_std_path(), source)),
    }
    Ok(walk.usage)
}

/// The state of one [`usage`] walk.
struct Walk {
    usage: Usage,
    /// Files already counted, by (device, inode).
    seen: HashSet<(u64, u64)>,
}

impl Walk {
    /// Whether `meta`'s file has not been counted before (always true without file ids).
    fn first_time(&mut self, meta: &Metadata) -> bool {
        fsutil::file_id(meta).is_none_or(|id| self.seen.insert(id))
    }

    /// Counts the mailbox files of one directory, `depth` levels below the folder directory.
    fn directory(&mut self, dir: &Path, depth: usize) -> Result<(), QuotaError> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(source) => return Err(error_at(dir, source)),
        };
        for entry in entries {
            let entry = entry.map_err(|source| error_at(dir, source))?;
            let name = entry.file_name();
            if is_skipped_name(name.as_encoded_bytes()) {
                continue;
            }
            let path = entry.path();
            let meta = match fs::symlink_metadata(&path) {
                Ok(meta) => meta,
                Err(e) if is_not_found(&e) => continue,
                Err(source) => return Err(error_at(&path, source)),
            };
            if meta.is_dir() {
                if depth < MAX_DEPTH {
                    self.directory(&path, depth + 1)?;
                }
            } else if meta.is_file() {
                self.file(&path)?;
            }
        }
        Ok(())
    }

    /// Counts one regular file if it is a mailbox not counted before.
    fn file(&mut self, path: &Path) -> Result<(), QuotaError> {
        let file = match fsutil::open_read_nofollow(path) {
            Ok(file) => file,
            // Gone, or swapped for a symlink since it was listed.
            Err(e) if is_not_found(&e) || fsutil::is_symlink_refusal(&e) => return Ok(()),
            Err(source) => return Err(error_at(path, source)),
        };
        let meta = file.metadata().map_err(|source| error_at(path, source))?;
        if !meta.is_file() || !self.first_time(&meta) {
            return Ok(());
        }
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        file.take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(|source| error_at(path, source))?;
        if is_mailbox_head(&head) {
            self.usage.bytes = self.usage.bytes.saturating_add(meta.len());
            self.usage.mailbox_files += 1;
        }
        Ok(())
    }
}

/// Whether a directory entry is never counted by name: dot-files (the subscription list,
/// `.imapd/`, `.bulletin`, temporary files) and `*.lock` files. \[decided\]
fn is_skipped_name(name: &[u8]) -> bool {
    name.starts_with(b".") || name.ends_with(b".lock")
}

fn is_not_found(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

fn error_at(path: &Path, source: io::Error) -> QuotaError {
    QuotaError {
        path: Utf8PathBuf::from(path.to_string_lossy().into_owned()),
        source,
    }
}

/// Whether a user is already at or over their limit, so that a COPY, APPEND or CREATE is
/// refused (`NO [OVERQUOTA]`). True only when there is a limit and `usage.bytes` is at least
/// `limit × 1024`: a user under quota may go slightly over (§7). \[doc + decided\]
///
/// ```
/// use dmail_store::quota::{over_quota, QuotaLimit, Usage};
/// let used = |bytes| Usage { bytes, mailbox_files: 0 };
/// assert!(!over_quota(used(1023), QuotaLimit::Kbytes(1)));
/// assert!(over_quota(used(1024), QuotaLimit::Kbytes(1)));
/// assert!(!over_quota(used(u64::MAX), QuotaLimit::Unlimited));
/// ```
pub const fn over_quota(usage: Usage, limit: QuotaLimit) -> bool {
    match limit {
        QuotaLimit::Kbytes(kbytes) => usage.bytes >= kbytes.saturating_mul(1024),
        QuotaLimit::Disabled | QuotaLimit::Unlimited => false,
    }
}

/// The storage of the quota root [`QUOTA_ROOT`], as GETQUOTA and GETQUOTAROOT report it
/// (RFC 9208 §5.1): the protocol layer writes `QUOTA "" (STORAGE used limit)`.
///
/// ```
/// use dmail_store::quota::{QuotaLimit, QuotaReport, Usage, QUOTA_ROOT, STORAGE};
/// let r = QuotaReport::new(Usage { bytes: 1025, mailbox_files: 1 }, QuotaLimit::Kbytes(512)).unwrap();
/// let line = format!("QUOTA \"{QUOTA_ROOT}\" ({STORAGE} {} {})", r.used_kbytes, r.limit_kbytes);
/// assert_eq!(line, "QUOTA \"\" (STORAGE 2 512)");
/// assert_eq!(QuotaReport::new(Usage::default(), QuotaLimit::Unlimited), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QuotaReport {
    /// Usage in kbytes, rounded up.
    pub used_kbytes: u64,
    /// The limit in kbytes.
    pub limit_kbytes: u64,
}

impl QuotaReport {
    /// The report for a usage and a limit; `None` when there is no limit (the user has no quota
    /// root: GETQUOTAROOT lists none).
    pub const fn new(usage: Usage, limit: QuotaLimit) -> Option<QuotaReport> {
        match limit {
            QuotaLimit::Kbytes(limit_kbytes) => Some(QuotaReport {
                used_kbytes: usage.kbytes(),
                limit_kbytes,
            }),
            QuotaLimit::Disabled | QuotaLimit::Unlimited => None,
        }
    }
}

/// A user's quota at one moment: the resolved limit and, when there is a limit, the usage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaStatus {
    /// The limit and its source.
    pub resolution: LimitResolution,
    /// The usage; measured only when there is a limit.
    pub usage: Option<Usage>,
}

impl QuotaStatus {
    /// Resolves the limit ([`resolve_limit`]) and, only when there is one, measures the usage
    /// ([`usage`]) of `paths`' drop file and folder directory.
    ///
    /// ```
    /// use dmail_conf::{parse_str, Program, Platform};
    /// use dmail_store::{layout::mail_paths, quota::{QuotaStatus, QuotaReport}};
    /// let dir = tempfile::tempdir()?;
    /// let text = format!("drop_path {}\nuser_quota 1\n", dir.path().display());
    /// let config = parse_str(&text, "c".into(), Program::Imapd, Platform::Unix).config;
    /// let paths = mail_paths(&config, &config.resolve_login(b"bob", None)?, None)?;
    /// std::fs::write(paths.drop_file.as_path(), vec![b'x'; 1024])?;
    /// let status = QuotaStatus::measure(config.user_quota, None, &paths)?;
    /// assert!(status.over_quota());
    /// assert_eq!(status.report(), Some(QuotaReport { used_kbytes: 1, limit_kbytes: 1 }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn measure(
        setting: UserQuota,
        authenticator: Option<u64>,
        paths: &MailPaths,
    ) -> Result<QuotaStatus, QuotaError> {
        let resolution = resolve_limit(setting, authenticator, &paths.folder_dir);
        let usage = match resolution.limit {
            QuotaLimit::Kbytes(_) => Some(usage(paths.drop_file.as_path(), &paths.folder_dir)?),
            QuotaLimit::Disabled | QuotaLimit::Unlimited => None,
        };
        Ok(QuotaStatus { resolution, usage })
    }

    /// [`over_quota`] of this status (false when there is no limit).
    pub fn over_quota(&self) -> bool {
        self.usage
            .is_some_and(|usage| over_quota(usage, self.resolution.limit))
    }

    /// [`QuotaReport::new`] of this status.
    pub fn report(&self) -> Option<QuotaReport> {
        self.usage
            .and_then(|usage| QuotaReport::new(usage, self.resolution.limit))
    }
}

#[cfg(test)]
mod tests;
