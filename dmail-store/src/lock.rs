//! Mailbox locking as c-client, DSMTP and DPOP share it (mailbox-formats.md §3;
//! notes/uw-c-client.md §3): the dot-lock `FILE.lock`, `flock` on the mailbox file itself, and
//! c-client's `/tmp/.<dev>.<ino>` session lock.
//!
//! This module owns creating, judging, breaking and removing locks and the retry loop with its
//! budget. It must never read or write a mailbox's contents, decide what a caller logs (it
//! reports, e.g. [`MailboxLock::dot_lock_skipped`]), wait longer than the caller's budget, or
//! signal another process.
//!
//! ```no_run
//! use std::fs::OpenOptions;
//! use dmail_store::lock::{LockMode, LockOptions, MailboxLock};
//! let lock = MailboxLock::acquire(
//!     camino::Utf8Path::new("/var/spool/mail/bob"),
//!     OpenOptions::new().read(true),
//!     LockMode::Shared,
//!     &LockOptions::client(),
//! )?;
//! // read from lock.file() ...
//! drop(lock); // flock released, then the dot-lock removed
//! # Ok::<(), dmail_store::lock::LockError>(())
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use camino::{Utf8Path, Utf8PathBuf};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// How often a lock attempt is retried (mailbox-formats.md §3).
pub const RETRY_INTERVAL: Duration = Duration::from_millis(50);
/// How long a client command waits for its locks before `NO [INUSE]` (mailbox-formats.md §3).
pub const CLIENT_BUDGET: Duration = Duration::from_secs(15);
/// How long delivery waits for its locks (mailbox-formats.md §3).
pub const DELIVERY_BUDGET: Duration = Duration::from_secs(300);
/// The default age at which a dot-lock we cannot prove dead counts as stale
/// (`imapd_lock_stale`, 300 s).
pub const DEFAULT_STALE: Duration = Duration::from_secs(300);

/// How a caller wants to lock: the `lock_id` setting, the stale limit, the retry interval and
/// the total budget.
///
/// ```
/// use std::time::Duration;
/// use dmail_store::lock::LockOptions;
/// let o = LockOptions::delivery();
/// assert_eq!(o.budget, Duration::from_secs(300));
/// assert_eq!(LockOptions::client().budget, Duration::from_secs(15));
/// assert_eq!(o.retry_interval, Duration::from_millis(50));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockOptions {
    /// `lock_id`: when set, dot-locks are created NFS-safely and hold `lock_id PID TIME`.
    pub lock_id: Option<String>,
    /// `imapd_lock_stale`: the ctime age at which a lock not proven dead is broken.
    pub stale_after: Duration,
    /// The pause between attempts.
    pub retry_interval: Duration,
    /// The longest the whole acquisition (dot-lock and flock) may take.
    pub budget: Duration,
}

impl LockOptions {
    /// Defaults for a client command: no `lock_id`, 300 s stale limit, 50 ms retries, 15 s.
    pub fn client() -> Self {
        LockOptions {
            lock_id: None,
            stale_after: DEFAULT_STALE,
            retry_interval: RETRY_INTERVAL,
            budget: CLIENT_BUDGET,
        }
    }

    /// Defaults for delivery: as [`LockOptions::client`] with a 5-minute budget.
    pub fn delivery() -> Self {
        LockOptions {
            budget: DELIVERY_BUDGET,
            ..Self::client()
        }
    }

    /// `lock_id` and `imapd_lock_stale` from a configuration, with the given budget.
    ///
    /// ```
    /// use dmail_conf::{parse_str, Program, Platform};
    /// use dmail_store::lock::{LockOptions, CLIENT_BUDGET};
    /// let c = parse_str("lock_id mx1\nimapd_lock_stale 60\n", "c".into(), Program::Imapd,
    ///     Platform::Unix).config;
    /// let o = LockOptions::from_config(&c, CLIENT_BUDGET);
    /// assert_eq!(o.lock_id.as_deref(), Some("mx1"));
    /// assert_eq!(o.stale_after.as_secs(), 60);
    /// ```
    pub fn from_config(config: &dmail_conf::Config, budget: Duration) -> Self {
        LockOptions {
            lock_id: config.lock_id.clone(),
            stale_after: config.imapd_lock_stale.as_duration(),
            retry_interval: RETRY_INTERVAL,
            budget,
        }
    }
}

impl Default for LockOptions {
    fn default() -> Self {
        Self::client()
    }
}

/// `flock` mode: shared to read, exclusive to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    /// LOCK_SH: reading.
    Shared,
    /// LOCK_EX: writing.
    Exclusive,
}

/// Why a lock was not obtained. Each variant names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process held the lock for the whole budget. The protocol layer answers
    /// `NO [INUSE]`.
    #[error("{path}: still locked by another process after {budget:?}")]
    Timeout {
        /// The dot-lock or the mailbox file (flock) that stayed locked.
        path: Utf8PathBuf,
        /// The budget that ran out.
        budget: Duration,
    },
    /// The lock file is a symbolic link; it is never followed, written or removed.
    #[error("{path}: lock file is a symbolic link, refused")]
    Symlink {
        /// The lock file.
        path: Utf8PathBuf,
    },
    /// The session lock file has more than one hard link (c-client's security check).
    #[error("{path}: lock file has {links} hard links, refused")]
    HardLinks {
        /// The lock file.
        path: Utf8PathBuf,
        /// Its link count.
        links: u64,
    },
    /// The session lock path is not a regular file.
    #[error("{path}: lock file is not a regular file, refused")]
    NotAFile {
        /// The lock file.
        path: Utf8PathBuf,
    },
    /// Creating the dot-lock failed for a reason other than "exists" or "directory not
    /// writable".
    #[error("{path}: cannot create lock file: {source}")]
    Create {
        /// The dot-lock (or its NFS temp file).
        path: Utf8PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// A stale lock could not be removed.
    #[error("{path}: cannot remove stale lock file: {source}")]
    Break {
        /// The dot-lock.
        path: Utf8PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// The mailbox (or session lock file) could not be opened or examined.
    #[error("{path}: {source}")]
    Open {
        /// The file.
        path: Utf8PathBuf,
        /// The system's reason (`NotFound` for a missing mailbox).
        source: io::Error,
    },
    /// `flock` failed for a reason other than "held by someone else".
    #[error("{path}: flock failed: {source}")]
    Flock {
        /// The mailbox or session lock file.
        path: Utf8PathBuf,
        /// The system's reason.
        source: io::Error,
    },
}

impl LockError {
    /// Whether this is [`LockError::Timeout`], the "mailbox is busy" case.
    ///
    /// ```
    /// use dmail_store::lock::LockError;
    /// let e = LockError::Timeout { path: "/m.lock".into(), budget: std::time::Duration::ZERO };
    /// assert!(e.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, LockError::Timeout { .. })
    }
}

/// The dot-lock's name: the mailbox path plus `.lock`.
///
/// ```
/// use dmail_store::lock::dot_lock_path;
/// assert_eq!(dot_lock_path(camino::Utf8Path::new("/var/mail/bob")), "/var/mail/bob.lock");
/// ```
pub fn dot_lock_path(mailbox: &Utf8Path) -> Utf8PathBuf {
    Utf8PathBuf::from(format!("{mailbox}.lock"))
}

/// This host's name (`uname` nodename), as written into our dot-locks.
///
/// ```
/// assert!(!dmail_store::lock::hostname().is_empty());
/// ```
pub fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// What our dot-locks hold: `PID HOSTNAME\n`, or with `lock_id` set `lock_id PID TIME\n` (TIME
/// in seconds since 1970).
///
/// ```
/// use dmail_store::lock::dot_lock_contents;
/// assert_eq!(dot_lock_contents(None, 42, "mx", 7), "42 mx\n");
/// assert_eq!(dot_lock_contents(Some("node1"), 42, "mx", 1_700_000_000), "node1 42 1700000000\n");
/// ```
pub fn dot_lock_contents(lock_id: Option<&str>, pid: u32, hostname: &str, time: u64) -> String {
    match lock_id {
        Some(id) => format!("{id} {pid} {time}\n"),
        None => format!("{pid} {hostname}\n"),
    }
}

/// The PID of a lock's holder when the lock is one of ours made on this host: `PID HOSTNAME`
/// with our host name, or `lock_id PID TIME` with our `lock_id`. `None` for anything else
/// (c-client's empty locks, other hosts, other ids, junk).
fn local_holder(contents: &[u8], hostname: &str, lock_id: Option<&str>) -> Option<i32> {
    let text = std::str::from_utf8(contents).ok()?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    let pid = |s: &str| -> Option<i32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse::<i32>().ok().filter(|p| *p > 0)
    };
    if let Some(id) = lock_id
        && let Some(rest) = text.strip_prefix(id).and_then(|r| r.strip_prefix(' '))
        && let Some((p, time)) = rest.split_once(' ')
        && !time.is_empty()
        && time.bytes().all(|b| b.is_ascii_digit())
    {
        return pid(p);
    }
    let (p, host) = text.split_once(' ')?;
    if host == hostname { pid(p) } else { None }
}

/// Whether a process is known to be gone: `kill(pid, 0)` fails with ESRCH.
fn process_is_dead(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    match rustix::process::Pid::from_raw(pid) {
        Some(p) => rustix::process::test_kill_process(p) == Err(Errno::SRCH),
        None => false,
    }
}

/// What to do about an existing dot-lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// Break it now: its holder is ours, on this host, and dead.
    DeadHolder,
    /// Break it now: older than the stale limit.
    Stale,
    /// Wait.
    Live,
}

/// mailbox-formats.md §3: a local holder that is dead is broken at once; any other lock once
/// its ctime is `stale_after` old.
fn judge(
    local_pid: Option<i32>,
    dead: impl Fn(i32) -> bool,
    age: Duration,
    stale_after: Duration,
) -> Verdict {
    if local_pid.is_some_and(dead) {
        Verdict::DeadHolder
    } else if age >= stale_after {
        Verdict::Stale
    } else {
        Verdict::Live
    }
}

/// Whether a failure to create the dot-lock means "carry on with flock alone": the directory is
/// not writable (EACCES, as c-client; EROFS, where no one can write the mailbox either).
fn is_unwritable_directory(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(Errno::from_raw_os_error),
        Some(Errno::ACCESS | Errno::ROFS)
    )
}

fn io_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// How long ago a file's status last changed (0 if its ctime is in the future).
fn ctime_age(meta: &fs::Metadata) -> Duration {
    let secs = u64::try_from(meta.ctime()).unwrap_or(0);
    let nanos = u32::try_from(meta.ctime_nsec()).unwrap_or(0);
    let ctime = UNIX_EPOCH + Duration::new(secs, nanos.min(999_999_999));
    SystemTime::now().duration_since(ctime).unwrap_or_default()
}

/// A dot-lock we created; removed on drop if the path still names our file.
#[derive(Debug)]
struct DotLock {
    path: Utf8PathBuf,
    dev: u64,
    ino: u64,
}

impl DotLock {
    fn is_ours(&self) -> bool {
        fs::symlink_metadata(&self.path).is_ok_and(|m| m.dev() == self.dev && m.ino() == self.ino)
    }
}

impl Drop for DotLock {
    fn drop(&mut self) {
        // Someone who judged our lock stale may have replaced it; leave theirs alone.
        if self.is_ours() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Why a creation attempt did not give us the lock.
enum CreateFailure {
    Exists,
    Unwritable,
    Other(Utf8PathBuf, io::Error),
}

/// Creates a file with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0666 whatever the umask, holding
/// `contents` (a failed write of the contents is ignored: the lock is held either way).
fn create_exclusive(path: &Utf8Path, contents: &[u8]) -> Result<File, CreateFailure> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::open(path.as_std_path(), flags, Mode::from_bits_truncate(0o666)) {
        Ok(fd) => {
            let mut file = File::from(fd);
            let _ = file.set_permissions(fs::Permissions::from_mode(0o666));
            let _ = file.write_all(contents);
            Ok(file)
        }
        Err(Errno::EXIST) => Err(CreateFailure::Exists),
        Err(e) => {
            let e = io_err(e);
            if is_unwritable_directory(&e) {
                Err(CreateFailure::Unwritable)
            } else {
                Err(CreateFailure::Other(path.to_owned(), e))
            }
        }
    }
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn try_create(
    lock: &Utf8Path,
    options: &LockOptions,
    host: &str,
) -> Result<DotLock, CreateFailure> {
    let pid = std::process::id();
    let contents = dot_lock_contents(options.lock_id.as_deref(), pid, host, now_unix());
    if options.lock_id.is_none() {
        let file = create_exclusive(lock, contents.as_bytes())?;
        let meta = file
            .metadata()
            .map_err(|e| CreateFailure::Other(lock.to_owned(), e))?;
        return Ok(DotLock {
            path: lock.to_owned(),
            dev: meta.dev(),
            ino: meta.ino(),
        });
    }
    // NFS-safe: a unique "hitching post" in the same directory, linked to the lock name; the
    // link count of the post tells whether the link happened (link()'s answer may be wrong on
    // NFS). The post is a dot-file so that LIST never shows it.
    let leaf = lock.file_name().unwrap_or("mailbox.lock");
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let post_name = format!(".{leaf}.{host}.{pid}.{nanos}.{n}");
    let post = match lock.parent() {
        Some(dir) => dir.join(post_name),
        None => Utf8PathBuf::from(post_name),
    };
    let file = create_exclusive(&post, contents.as_bytes())?;
    let linked = fs::hard_link(&post, lock);
    let meta = fs::metadata(&post);
    let _ = fs::remove_file(&post);
    drop(file);
    match (meta, linked) {
        (Ok(m), _) if m.nlink() == 2 => Ok(DotLock {
            path: lock.to_owned(),
            dev: m.dev(),
            ino: m.ino(),
        }),
        (_, Err(e)) if e.kind() == io::ErrorKind::AlreadyExists => Err(CreateFailure::Exists),
        (_, Err(e)) if is_unwritable_directory(&e) => Err(CreateFailure::Unwritable),
        (_, Err(e)) => Err(CreateFailure::Other(lock.to_owned(), e)),
        (Err(e), Ok(())) => Err(CreateFailure::Other(post, e)),
        // Linked, yet the count is not 2: someone else's lock took the name; treat as held.
        (Ok(_), Ok(())) => Err(CreateFailure::Exists),
    }
}

/// What the dot-lock step produced.
#[derive(Debug)]
enum DotState {
    Held(DotLock),
    Skipped(Utf8PathBuf),
}

fn sleep_until_next(deadline: Instant, interval: Duration) -> bool {
    let now = Instant::now();
    if now >= deadline {
        return false;
    }
    std::thread::sleep(interval.min(deadline - now));
    true
}

/// Reads at most 1 KiB of an existing lock without following a symlink.
fn read_lock(path: &Utf8Path) -> io::Result<(fs::Metadata, Vec<u8>)> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let fd = rustix::fs::open(path.as_std_path(), flags, Mode::empty()).map_err(io_err)?;
    let file = File::from(fd);
    let meta = file.metadata()?;
    let mut buf = Vec::new();
    file.take(1024).read_to_end(&mut buf)?;
    Ok((meta, buf))
}

fn acquire_dot_lock(
    mailbox: &Utf8Path,
    options: &LockOptions,
    deadline: Instant,
) -> Result<DotState, LockError> {
    let lock = dot_lock_path(mailbox);
    let directory = || match mailbox.parent() {
        Some(dir) if !dir.as_str().is_empty() => dir.to_owned(),
        _ => Utf8PathBuf::from("."),
    };
    let host = hostname();
    let mut first = true;
    loop {
        // Immediate retries (the lock vanished, or we broke a stale one) count against the
        // budget too.
        if !first && Instant::now() >= deadline {
            return Err(LockError::Timeout {
                path: lock,
                budget: options.budget,
            });
        }
        first = false;
        match try_create(&lock, options, &host) {
            Ok(held) => return Ok(DotState::Held(held)),
            Err(CreateFailure::Unwritable) => return Ok(DotState::Skipped(directory())),
            Err(CreateFailure::Other(path, source)) => {
                return Err(LockError::Create { path, source });
            }
            Err(CreateFailure::Exists) => {}
        }
        if fs::symlink_metadata(&lock).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(LockError::Symlink { path: lock });
        }
        let (meta, contents) = match read_lock(&lock) {
            Ok(found) => found,
            // Removed meanwhile: try again at once.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            Err(e) if e.raw_os_error() == Some(Errno::LOOP.raw_os_error()) => {
                return Err(LockError::Symlink { path: lock });
            }
            Err(source) => return Err(LockError::Open { path: lock, source }),
        };
        let holder = local_holder(&contents, &host, options.lock_id.as_deref());
        match judge(
            holder,
            process_is_dead,
            ctime_age(&meta),
            options.stale_after,
        ) {
            Verdict::DeadHolder | Verdict::Stale => {
                // Remove it only if the name still refers to the file we judged.
                let same = fs::symlink_metadata(&lock)
                    .is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino());
                if same {
                    match fs::remove_file(&lock) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        // A stale lock we may not remove: flock alone, as c-client does.
                        Err(e) if is_unwritable_directory(&e) => {
                            return Ok(DotState::Skipped(directory()));
                        }
                        Err(source) => return Err(LockError::Break { path: lock, source }),
                    }
                }
            }
            Verdict::Live => {
                if !sleep_until_next(deadline, options.retry_interval) {
                    return Err(LockError::Timeout {
                        path: lock,
                        budget: options.budget,
                    });
                }
            }
        }
    }
}

/// Takes `flock` on `file`, retrying until `deadline`.
fn flock_until(
    file: &File,
    path: &Utf8Path,
    mode: LockMode,
    interval: Duration,
    deadline: Instant,
    budget: Duration,
) -> Result<(), LockError> {
    loop {
        let attempt = match mode {
            LockMode::Shared => file.try_lock_shared(),
            LockMode::Exclusive => file.try_lock(),
        };
        match attempt {
            Ok(()) => return Ok(()),
            Err(fs::TryLockError::WouldBlock) => {
                if !sleep_until_next(deadline, interval) {
                    return Err(LockError::Timeout {
                        path: path.to_owned(),
                        budget,
                    });
                }
            }
            Err(fs::TryLockError::Error(source)) => {
                return Err(LockError::Flock {
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
}

/// A mailbox locked for one I/O operation: the dot-lock (unless the directory is not writable)
/// and `flock` on the open file. Dropping it releases the flock, closes the file, then removes
/// the dot-lock.
#[derive(Debug)]
pub struct MailboxLock {
    // Field order matters: `file` closes before `dot` removes the dot-lock.
    file: File,
    path: Utf8PathBuf,
    mode: LockMode,
    dot: DotState,
}

impl MailboxLock {
    /// Dot-lock `path`, open it with `open`, then `flock` it in `mode`, all within
    /// `options.budget`, retrying every `options.retry_interval`.
    ///
    /// The caller chooses how the file is opened (e.g. `create(true)` for delivery); a missing
    /// file without `create` is [`LockError::Open`] with `NotFound`, and the dot-lock is gone
    /// again when this returns.
    ///
    /// ```
    /// use std::fs::OpenOptions;
    /// use dmail_store::lock::{dot_lock_path, LockMode, LockOptions, MailboxLock};
    /// let dir = tempfile::tempdir()?;
    /// let path = camino::Utf8PathBuf::try_from(dir.path().join("bob")).unwrap();
    /// let lock = MailboxLock::acquire(&path, OpenOptions::new().read(true).write(true).create(true),
    ///     LockMode::Exclusive, &LockOptions::client())?;
    /// assert!(lock.dot_lock_skipped().is_none());
    /// assert!(dot_lock_path(&path).exists());
    /// drop(lock);
    /// assert!(!dot_lock_path(&path).exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn acquire(
        path: &Utf8Path,
        open: &OpenOptions,
        mode: LockMode,
        options: &LockOptions,
    ) -> Result<MailboxLock, LockError> {
        let deadline = Instant::now() + options.budget;
        let dot = acquire_dot_lock(path, options, deadline)?;
        let file = open.open(path).map_err(|source| LockError::Open {
            path: path.to_owned(),
            source,
        })?;
        flock_until(
            &file,
            path,
            mode,
            options.retry_interval,
            deadline,
            options.budget,
        )?;
        Ok(MailboxLock {
            file,
            path: path.to_owned(),
            mode,
            dot,
        })
    }

    /// The locked, open mailbox file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The mailbox path.
    pub fn path(&self) -> &Utf8Path {
        &self.path
    }

    /// The flock mode held.
    pub fn mode(&self) -> LockMode {
        self.mode
    }

    /// The dot-lock held, or `None` when it was skipped.
    pub fn dot_lock(&self) -> Option<&Utf8Path> {
        match &self.dot {
            DotState::Held(d) => Some(&d.path),
            DotState::Skipped(_) => None,
        }
    }

    /// When the dot-lock could not be created because the directory is not writable, that
    /// directory: the lock is flock alone and the caller logs it (once per session).
    pub fn dot_lock_skipped(&self) -> Option<&Utf8Path> {
        match &self.dot {
            DotState::Held(_) => None,
            DotState::Skipped(dir) => Some(dir),
        }
    }

    /// Renews the dot-lock's ctime (by setting its mode again) so that a long operation is not
    /// judged stale by others; call it well within the stale limit.
    pub fn refresh(&self) -> Result<(), LockError> {
        match &self.dot {
            DotState::Held(d) => fs::set_permissions(&d.path, fs::Permissions::from_mode(0o666))
                .map_err(|source| LockError::Open {
                    path: d.path.clone(),
                    source,
                }),
            DotState::Skipped(_) => Ok(()),
        }
    }
}

impl Drop for MailboxLock {
    fn drop(&mut self) {
        // Reverse order: flock first; then `file` closes and `dot` removes the dot-lock.
        let _ = self.file.unlock();
    }
}

/// c-client's session lock name for a mailbox: `/tmp/.` + `st_dev` + `.` + `st_ino`, both in
/// lower-case hex without leading zeros.
///
/// ```
/// use dmail_store::lock::session_lock_path;
/// assert_eq!(session_lock_path(0x803, 0x1a2b3c), "/tmp/.803.1a2b3c");
/// ```
pub fn session_lock_path(dev: u64, ino: u64) -> Utf8PathBuf {
    Utf8PathBuf::from(format!("/tmp/.{dev:x}.{ino:x}"))
}

/// A shared flock on a mailbox's `/tmp` session lock, held while one of our sessions has the
/// mailbox selected read-write, so that a c-client program cannot take it exclusively. Released
/// on drop; the file is left in place (other sessions may hold it too).
#[derive(Debug)]
pub struct SessionLock {
    file: File,
    path: Utf8PathBuf,
}

/// The result of [`SessionLock::try_shared`].
#[derive(Debug)]
pub enum SessionLockOutcome {
    /// We hold LOCK_SH.
    Held(SessionLock),
    /// A c-client program holds it exclusively: open the mailbox read-only.
    Busy,
}

fn session_path_of(mailbox: &Utf8Path) -> Result<Utf8PathBuf, LockError> {
    let meta = fs::metadata(mailbox).map_err(|source| LockError::Open {
        path: mailbox.to_owned(),
        source,
    })?;
    Ok(session_lock_path(meta.dev(), meta.ino()))
}

/// Opens an existing session lock file without following a symlink, read-write if allowed.
fn open_session_file(path: &Utf8Path) -> Result<Option<File>, LockError> {
    let base = OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let mut result = rustix::fs::open(path.as_std_path(), base | OFlags::RDWR, Mode::empty());
    if matches!(result, Err(Errno::ACCESS)) {
        result = rustix::fs::open(path.as_std_path(), base | OFlags::RDONLY, Mode::empty());
    }
    match result {
        Ok(fd) => Ok(Some(File::from(fd))),
        Err(Errno::NOENT) => Ok(None),
        Err(Errno::LOOP) => Err(LockError::Symlink {
            path: path.to_owned(),
        }),
        Err(e) => Err(LockError::Open {
            path: path.to_owned(),
            source: io_err(e),
        }),
    }
}

/// The checks c-client makes: a regular file with one link.
fn check_session_file(file: &File, path: &Utf8Path) -> Result<fs::Metadata, LockError> {
    let meta = file.metadata().map_err(|source| LockError::Open {
        path: path.to_owned(),
        source,
    })?;
    if !meta.is_file() {
        return Err(LockError::NotAFile {
            path: path.to_owned(),
        });
    }
    if meta.nlink() > 1 {
        return Err(LockError::HardLinks {
            path: path.to_owned(),
            links: meta.nlink(),
        });
    }
    Ok(meta)
}

impl SessionLock {
    /// Takes LOCK_SH, without waiting, on the session lock of the mailbox at `mailbox`
    /// (creating it mode 0666 if needed, writing nothing). Refuses a symlink or a file with more
    /// than one link. [`SessionLockOutcome::Busy`] when a c-client program holds it exclusively.
    /// If the file keeps being replaced under us (five rounds), [`LockError::Timeout`] with a
    /// zero budget: treat it as busy.
    ///
    /// ```
    /// use dmail_store::lock::{SessionLock, SessionLockOutcome};
    /// let mbox = tempfile::NamedTempFile::new()?;
    /// let path = camino::Utf8Path::from_path(mbox.path()).unwrap();
    /// let SessionLockOutcome::Held(lock) = SessionLock::try_shared(path)? else { panic!() };
    /// assert!(lock.path().as_str().starts_with("/tmp/."));
    /// # let p = lock.path().to_owned(); drop(lock); std::fs::remove_file(p)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_shared(mailbox: &Utf8Path) -> Result<SessionLockOutcome, LockError> {
        let path = session_path_of(mailbox)?;
        // A few rounds: the file may be created, or replaced by a c-client's unlink, under us.
        for _ in 0..5 {
            let file = match open_session_file(&path)? {
                Some(f) => f,
                None => match create_exclusive(&path, b"") {
                    Ok(f) => {
                        drop(f);
                        continue;
                    }
                    Err(CreateFailure::Exists) => continue,
                    Err(CreateFailure::Unwritable) => {
                        return Err(LockError::Create {
                            path,
                            source: io::Error::from(io::ErrorKind::PermissionDenied),
                        });
                    }
                    Err(CreateFailure::Other(path, source)) => {
                        return Err(LockError::Create { path, source });
                    }
                },
            };
            let meta = check_session_file(&file, &path)?;
            match file.try_lock_shared() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => return Ok(SessionLockOutcome::Busy),
                Err(fs::TryLockError::Error(source)) => {
                    return Err(LockError::Flock { path, source });
                }
            }
            // c-client 4.7+: after locking, the name must still be this one-link file.
            let still = fs::symlink_metadata(&path)
                .is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino() && m.nlink() == 1);
            if still {
                return Ok(SessionLockOutcome::Held(SessionLock { file, path }));
            }
        }
        Err(LockError::Timeout {
            path,
            budget: Duration::ZERO,
        })
    }

    /// The `/tmp` file.
    pub fn path(&self) -> &Utf8Path {
        &self.path
    }
}

impl Drop for SessionLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Whether a c-client program holds the mailbox's session lock exclusively (our non-blocking
/// LOCK_SH would fail). A missing lock file means no.
///
/// ```
/// let mbox = tempfile::NamedTempFile::new()?;
/// let path = camino::Utf8Path::from_path(mbox.path()).unwrap();
/// assert!(!dmail_store::lock::session_lock_busy(path)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn session_lock_busy(mailbox: &Utf8Path) -> Result<bool, LockError> {
    let path = session_path_of(mailbox)?;
    let Some(file) = open_session_file(&path)? else {
        return Ok(false);
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            Ok(false)
        }
        Err(fs::TryLockError::WouldBlock) => Ok(true),
        Err(fs::TryLockError::Error(source)) => Err(LockError::Flock { path, source }),
    }
}

#[cfg(test)]
mod tests;
