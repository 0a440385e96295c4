//! The DMail log writer (dmail-conventions §9): `LOG_PATH/imapd.log` for inetd `imapd` and its
//! per-user children, `LOG_PATH/imapdsvc.log` for imapdsvc.
//!
//! This module owns the log file: opening it (`O_APPEND|O_CREAT`, mode 0644), the line format
//! `YYYY-MM-DD HH:MM:SS [pid] LEVEL message` in local time, level filtering, escaping of control
//! characters, rotation to `NAME.log.1` … `NAME.log.5` under an exclusive flock on
//! `LOG_PATH/NAME.lock`, and a panic hook that writes panics to the log.
//!
//! Decided details \[decided\]: the rotated files are `NAME.log.1` … `NAME.log.5` (§9 writes
//! `NAME.1`; the issue that asked for this module names them `NAME.log.N`); levels are written in
//! lower case, as `log_level` spells them; the size is checked with an fstat of our descriptor
//! before each line, so a file can pass `max_log_size` by one line; a `max_log_size` of 0 never
//! rotates. Under the lock a writer first checks whether the path still names its file (device and
//! inode): if not, another process rotated, and it only reopens. A process refused a rename or the
//! lock file (EACCES/EPERM/EROFS: it switched user) stops trying to rotate, keeps writing, and
//! reopens when someone else's rotation moves its file away.
//!
//! It must never write to stderr (under inetd fd 2 is the client's socket), never write a line
//! with more than one `write()` (many processes append to one file), never let a message break
//! a line, and never see a password: the API takes only [`Display`] messages, and callers must
//! never format a `dmail_auth::Password` into one (its `Debug` prints `Password(..)` anyway).
//! Failing to write a line is silent: there is nowhere left to report it.

use std::fmt::{self, Display, Write as _};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::sync::{Arc, Mutex, PoisonError};

use camino::{Utf8Path, Utf8PathBuf};
use dmail_conf::Config;
use dmail_conf::values::LogLevel;
use jiff::civil::DateTime;

/// The number of rotated files kept: `NAME.log.1` (newest) to `NAME.log.5` (oldest)
/// (dmail-conventions §9). \[decided\]
///
/// ```
/// assert_eq!(imapd_bin::log::KEEP, 5);
/// ```
pub const KEEP: u32 = 5;

/// The mode a new log file is created with (before the umask).
const FILE_MODE: u32 = 0o644;

/// Where a line's time comes from: local time in production, a fixed time in tests.
pub(crate) type Clock = fn() -> DateTime;

/// The current local time (the system zone: `TZ`, else `/etc/localtime`).
fn local_now() -> DateTime {
    jiff::tz::TimeZone::system().to_datetime(jiff::Timestamp::now())
}

/// The word a line shows for `level`: lower case, the same words `log_level` takes in
/// dmail.conf (`error`, `info`, `debug`). \[decided\]
///
/// ```
/// use dmail_conf::values::LogLevel;
/// assert_eq!(imapd_bin::log::level_word(LogLevel::Info), "info");
/// ```
pub fn level_word(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Error => "error",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
    }
}

/// A handle on one DMail log file. Cheap to clone; clones (and [`Log::with_context`] children)
/// share the open file, so threads of one process never interleave within a line.
///
/// Callers must never format a `dmail_auth::Password` into a message; passwords never reach the
/// log at any level (dmail-conventions §9).
///
/// ```
/// use dmail_conf::values::LogLevel;
/// use imapd_bin::log::Log;
/// let dir = tempfile::tempdir().unwrap();
/// let dir = camino::Utf8Path::from_path(dir.path()).unwrap();
/// let log = Log::open(dir, "imapd", LogLevel::Info, 1_000_000).unwrap();
/// log.info("started");
/// log.debug("not written at info");
/// let text = std::fs::read_to_string(dir.join("imapd.log")).unwrap();
/// assert!(text.ends_with(" info started\n"));
/// assert_eq!(text.lines().count(), 1);
/// ```
#[derive(Clone)]
pub struct Log {
    shared: Arc<Shared>,
    /// `sess=ID peer=ADDR: `, already escaped, or empty.
    prefix: Arc<str>,
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Log")
            .field("path", &self.shared.path)
            .field("level", &self.shared.level)
            .field("max_size", &self.shared.max_size)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// What every clone of one [`Log`] shares.
struct Shared {
    path: Utf8PathBuf,
    lock_path: Utf8PathBuf,
    level: LogLevel,
    max_size: u64,
    clock: Clock,
    state: Mutex<State>,
}

/// The open file, and whether this process may rotate it.
struct State {
    file: File,
    /// Set once renaming in LOG_PATH was refused (the process switched user): from then on the
    /// process only follows rotations done by others.
    rotation_blocked: bool,
}

impl Log {
    /// Opens (creating it if missing) `dir/NAME.log` for appending, logging `level` and above,
    /// rotating at `max_size` bytes (0: never rotate \[decided\]).
    ///
    /// `name` is `imapd` or `imapdsvc`; an empty name or one containing `/` is refused with
    /// [`io::ErrorKind::InvalidInput`]. A log that cannot be opened is this error: the caller
    /// decides what to do with it, and must not print it under inetd.
    ///
    /// ```
    /// use dmail_conf::values::LogLevel;
    /// use imapd_bin::log::Log;
    /// let dir = tempfile::tempdir().unwrap();
    /// let dir = camino::Utf8Path::from_path(dir.path()).unwrap();
    /// assert!(Log::open(dir, "imapdsvc", LogLevel::Error, 0).is_ok());
    /// assert!(dir.join("imapdsvc.log").exists());
    /// assert!(Log::open(&dir.join("missing"), "imapd", LogLevel::Error, 0).is_err());
    /// ```
    pub fn open(dir: &Utf8Path, name: &str, level: LogLevel, max_size: u64) -> io::Result<Log> {
        Self::open_with_clock(dir, name, level, max_size, local_now)
    }

    /// Opens the log `name` (`imapd` or `imapdsvc`) where `config` says: [`Config::log_dir`],
    /// `log_level` and `max_log_size`.
    ///
    /// ```
    /// use dmail_conf::{Platform, Program, parse_str};
    /// use imapd_bin::log::Log;
    /// let dir = tempfile::tempdir().unwrap();
    /// let text = format!("log_path {}\nlog_level debug\n", dir.path().display());
    /// let config = parse_str(&text, "c".into(), Program::Imapd, Platform::Unix).config;
    /// let log = Log::from_config(&config, "imapd").unwrap();
    /// log.debug("hello");
    /// assert!(dir.path().join("imapd.log").metadata().unwrap().len() > 0);
    /// ```
    pub fn from_config(config: &Config, name: &str) -> io::Result<Log> {
        Self::open(
            &config.log_dir(),
            name,
            config.log_level,
            config.max_log_size.get(),
        )
    }

    /// [`Log::open`] with the time taken from `clock` (tests fix it).
    pub(crate) fn open_with_clock(
        dir: &Utf8Path,
        name: &str,
        level: LogLevel,
        max_size: u64,
        clock: Clock,
    ) -> io::Result<Log> {
        if name.is_empty() || name.contains(['/', '\0']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad log name {name:?}"),
            ));
        }
        let path = dir.join(format!("{name}.log"));
        let file = open_append(&path)?;
        Ok(Log {
            shared: Arc::new(Shared {
                lock_path: dir.join(format!("{name}.lock")),
                path,
                level,
                max_size,
                clock,
                state: Mutex::new(State {
                    file,
                    rotation_blocked: false,
                }),
            }),
            prefix: Arc::from(""),
        })
    }

    /// The path of the log file (`LOG_PATH/NAME.log`).
    ///
    /// ```
    /// use dmail_conf::values::LogLevel;
    /// let dir = tempfile::tempdir().unwrap();
    /// let dir = camino::Utf8Path::from_path(dir.path()).unwrap();
    /// let log = imapd_bin::log::Log::open(dir, "imapd", LogLevel::Info, 0).unwrap();
    /// assert_eq!(log.path(), dir.join("imapd.log"));
    /// ```
    pub fn path(&self) -> &Utf8Path {
        &self.shared.path
    }

    /// A logger writing to the same file whose messages start `sess=ID peer=ADDR: ` (escaped
    /// like messages). It replaces any context `self` had.
    ///
    /// ```
    /// use dmail_conf::values::LogLevel;
    /// let dir = tempfile::tempdir().unwrap();
    /// let dir = camino::Utf8Path::from_path(dir.path()).unwrap();
    /// let log = imapd_bin::log::Log::open(dir, "imapd", LogLevel::Info, 0).unwrap();
    /// log.with_context(7, "192.0.2.1:993").info("LOGIN bob ok");
    /// let text = std::fs::read_to_string(log.path()).unwrap();
    /// assert!(text.ends_with(" info sess=7 peer=192.0.2.1:993: LOGIN bob ok\n"));
    /// ```
    pub fn with_context(&self, session: impl Display, peer: impl Display) -> Log {
        let mut prefix = String::new();
        prefix.push_str("sess=");
        push_escaped(&mut prefix, &session.to_string());
        prefix.push_str(" peer=");
        push_escaped(&mut prefix, &peer.to_string());
        prefix.push_str(": ");
        Log {
            shared: Arc::clone(&self.shared),
            prefix: Arc::from(prefix),
        }
    }

    /// Whether messages at `level` are written (`level` is at or below `log_level`).
    ///
    /// ```
    /// use dmail_conf::values::LogLevel;
    /// let dir = tempfile::tempdir().unwrap();
    /// let dir = camino::Utf8Path::from_path(dir.path()).unwrap();
    /// let log = imapd_bin::log::Log::open(dir, "imapd", LogLevel::Info, 0).unwrap();
    /// assert!(log.enabled(LogLevel::Error));
    /// assert!(!log.enabled(LogLevel::Debug));
    /// ```
    pub fn enabled(&self, level: LogLevel) -> bool {
        level <= self.shared.level
    }

    /// Writes `msg` at error level.
    ///
    /// ```
    /// use dmail_conf::values::LogLevel;
    /// let dir = tempfile::tempdir().unwrap();
    /// let dir = camino::Utf8Path::from_path(dir.path()).unwrap();
    /// let log = imapd_bin::log::Log::open(dir, "imapd", LogLevel::Error, 0).unwrap();
    /// log.error(format_args!("cannot open {}", "/var/spool/mail/bob"));
    /// let text = std::fs::read_to_string(log.path()).unwrap();
    /// assert!(text.ends_with(" error cannot open /var/spool/mail/bob\n"));
    /// ```
    pub fn error(&self, msg: impl Display) {
        self.log(LogLevel::Error, msg);
    }

    /// Writes `msg` at info level (skipped when `log_level` is `error`).
    ///
    /// ```
    /// use dmail_conf::values::LogLevel;
    /// let dir = tempfile::tempdir().unwrap();
    /// let dir = camino::Utf8Path::from_path(dir.path()).unwrap();
    /// let log = imapd_bin::log::Log::open(dir, "imapd", LogLevel::Error, 0).unwrap();
    /// log.info("skipped");
    /// assert_eq!(std::fs::read_to_string(log.path()).unwrap(), "");
    /// ```
    pub fn info(&self, msg: impl Display) {
        self.log(LogLevel::Info, msg);
    }

    /// Writes `msg` at debug level (only when `log_level` is `debug`).
    ///
    /// ```
    /// use dmail_conf::values::LogLevel;
    /// let dir = tempfile::tempdir().unwrap();
    /// let dir = camino::Utf8Path::from_path(dir.path()).unwrap();
    /// let log = imapd_bin::log::Log::open(dir, "imapd", LogLevel::Debug, 0).unwrap();
    /// log.debug("C: a1 NOOP");
    /// assert!(std::fs::read_to_string(log.path()).unwrap().ends_with(" debug C: a1 NOOP\n"));
    /// ```
    pub fn debug(&self, msg: impl Display) {
        self.log(LogLevel::Debug, msg);
    }

    /// Writes `msg` at `level`, if enabled. The message is formatted before the file is
    /// touched, so a `Display` that panics never leaves the log locked.
    ///
    /// ```
    /// use dmail_conf::values::LogLevel;
    /// let dir = tempfile::tempdir().unwrap();
    /// let dir = camino::Utf8Path::from_path(dir.path()).unwrap();
    /// let log = imapd_bin::log::Log::open(dir, "imapd", LogLevel::Info, 0).unwrap();
    /// log.log(LogLevel::Info, "two\nlines");
    /// assert!(std::fs::read_to_string(log.path()).unwrap().ends_with(" info two\\nlines\n"));
    /// ```
    pub fn log(&self, level: LogLevel, msg: impl Display) {
        if !self.enabled(level) {
            return;
        }
        let line = format_line(
            (self.shared.clock)(),
            std::process::id(),
            level,
            &self.prefix,
            &msg.to_string(),
        );
        self.shared.write_line(line.as_bytes());
    }
}

/// One whole line: `YYYY-MM-DD HH:MM:SS [pid] LEVEL PREFIXmessage\n`, the message escaped
/// (`prefix` is escaped already).
pub(crate) fn format_line(
    now: DateTime,
    pid: u32,
    level: LogLevel,
    prefix: &str,
    msg: &str,
) -> String {
    let mut line = String::with_capacity(40 + prefix.len() + msg.len());
    let _ = write!(
        line,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} [{pid}] {} {prefix}",
        now.year(),
        now.month(),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        level_word(level),
    );
    push_escaped(&mut line, msg);
    line.push('\n');
    line
}

/// Appends `s` to `out` so that it cannot end or split a line \[decided\]: CR, LF, TAB and NUL
/// become `\r`, `\n`, `\t`, `\0`; other ASCII control characters and DEL `\xHH`; other Unicode
/// control characters and the line/paragraph separators U+2028/U+2029 `\u{HHHH}`. Backslashes
/// are kept as they are (Windows paths stay readable), so the escaping is not reversible.
pub(crate) fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// Opens `path` for appending, creating it with mode 0644.
fn open_append(path: &Utf8Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .open(path)
}

/// The rotated file `NAME.log.N`.
fn rotated(path: &Utf8Path, n: u32) -> Utf8PathBuf {
    Utf8PathBuf::from(format!("{path}.{n}"))
}

/// Whether `e` means this process may not change LOG_PATH (it switched user, or the file
/// system is read-only): rotation is then skipped for good.
fn is_refusal(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
    )
}

impl Shared {
    /// Rotates if due, then writes `line` with one `write()`. Errors are dropped: there is
    /// nowhere to report them (never stderr).
    fn write_line(&self, line: &[u8]) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if self.max_size > 0
            && state
                .file
                .metadata()
                .is_ok_and(|m| m.len() >= self.max_size)
        {
            self.rotate(&mut state);
        }
        // One write() call: with O_APPEND the kernel places the whole line at the end.
        let _ = state.file.write(line);
    }

    /// Our file has reached `max_size`: rotate it, or follow a rotation another process did.
    fn rotate(&self, state: &mut State) {
        if state.rotation_blocked {
            // We may not rename, but someone else may have: follow them.
            if !self.same_file(&state.file) {
                self.reopen(state);
            }
            return;
        }
        let lock = match open_lock(&self.lock_path) {
            Ok(lock) => lock,
            Err(e) => {
                if is_refusal(&e) {
                    state.rotation_blocked = true;
                    if !self.same_file(&state.file) {
                        self.reopen(state);
                    }
                }
                return;
            }
        };
        if lock.lock().is_err() {
            return;
        }
        // Under the lock: another process may have rotated while we waited.
        if !self.same_file(&state.file) {
            self.reopen(state);
        } else {
            match self.shift() {
                Ok(()) => self.reopen(state),
                Err(e) if is_refusal(&e) => state.rotation_blocked = true,
                Err(_) => {}
            }
        }
        let _ = lock.unlock();
    }

    /// Whether `file` is still the file at our path (same device and inode).
    fn same_file(&self, file: &File) -> bool {
        match (file.metadata(), fs::metadata(&self.path)) {
            (Ok(ours), Ok(theirs)) => ours.dev() == theirs.dev() && ours.ino() == theirs.ino(),
            _ => false,
        }
    }

    /// Renames `NAME.log.4` → `.5` (dropping the old `.5`), …, `NAME.log` → `.1`.
    fn shift(&self) -> io::Result<()> {
        ignore_missing(fs::remove_file(rotated(&self.path, KEEP)))?;
        for n in (1..KEEP).rev() {
            ignore_missing(fs::rename(
                rotated(&self.path, n),
                rotated(&self.path, n + 1),
            ))?;
        }
        fs::rename(&self.path, rotated(&self.path, 1))
    }

    /// Opens our path afresh; on failure keeps writing to the file we have.
    fn reopen(&self, state: &mut State) {
        if let Ok(file) = open_append(&self.path) {
            state.file = file;
        }
    }
}

/// Opens (creating it if it can) the lock file; read-only is enough for flock when another
/// user created it.
fn open_lock(path: &Utf8Path) -> io::Result<File> {
    match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(f) => Ok(f),
        // Keep the refusal when there is no lock file to open read-only either.
        Err(e) if is_refusal(&e) => File::open(path).map_err(|_| e),
        Err(e) => Err(e),
    }
}

/// `r`, with "no such file" counted as success.
fn ignore_missing(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

/// Replaces the panic hook with one that writes `panic in thread NAME at FILE:LINE:COL:
/// MESSAGE` to `log` at error level, and nothing to stderr (dmail-conventions §9: under inetd
/// fd 2 is the client's socket).
///
/// ```no_run
/// use dmail_conf::values::LogLevel;
/// let dir = camino::Utf8Path::new("/usr/local/dmail/log");
/// let log = imapd_bin::log::Log::open(dir, "imapd", LogLevel::Info, 1_000_000)?;
/// imapd_bin::log::install_panic_hook(log);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn install_panic_hook(log: Log) {
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let thread = thread.name().unwrap_or("<unnamed>");
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("Box<dyn Any>");
        match info.location() {
            Some(at) => log.error(format_args!(
                "panic in thread {thread} at {}:{}:{}: {message}",
                at.file(),
                at.line(),
                at.column()
            )),
            None => log.error(format_args!("panic in thread {thread}: {message}")),
        }
    }));
}

#[cfg(test)]
mod tests;
