//! The mbox engine proper: one open mailbox file, shared safely with other handles, DSMTP and
//! DPOP (mailbox-formats.md §1–3).
//!
//! It owns the sequence of operations — lock, recover, notice foreign changes, scan, assign UIDs,
//! stamp, write flags in place, append, rewrite — and the snapshot a client sees. Byte formats
//! belong to the reader and writer modules beside it. It holds locks only for the I/O of one
//! call, never between calls, and must never rewrite a file holding bytes it did not understand.
//!
//! What it learns of a file it keeps in the private index ([`super::index`]): an open whose
//! index still describes the file (same stamp, or only flag writes the change log explains, or
//! only appended messages behind an intact prefix) loads it instead of scanning. Correctness
//! never depends on the index: anything it cannot vouch for is scanned. Rewrites stream the
//! file in chunks, so memory stays in proportion to the number of messages, not their bytes.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};

use camino::{Utf8Path, Utf8PathBuf};

use crate::lock::{LockError, LockMode, LockOptions, MailboxLock, SessionLock, SessionLockOutcome};
use crate::mbox::changelog::{self, FileStamp, Record};
use crate::mbox::index::{self, Entry, Index};
use crate::mbox::journal::{self, Journal};
use crate::mbox::pseudo::{self, FolderData};
use crate::mbox::scan::{self, Scan};
use crate::mbox::uids::{self, Remembered, ValiditySource};
use crate::mbox::{LineEnding, from_line, status, write};
use crate::store::{Changes, Exported, FlagOp, Mailbox, MessageMeta, NewMessage, StoreError};
use crate::{Flags, InternalDate, KeywordSet, KeywordTable, SystemFlags, Uid, UidValidity};

/// How an engine handle behaves: locking, the names it writes, and its clock (replaceable in
/// tests).
#[derive(Clone, Debug)]
pub struct MboxOptions {
    /// Lock options (budget, stale limit, `lock_id`).
    pub lock: LockOptions,
    /// The envelope sender written in the `From ` line of appended messages (`user@host`).
    pub sender: String,
    /// This machine's host name, for the pseudo-message.
    pub host: String,
    /// Minutes east of UTC for a wall-clock time given as seconds since 1970 (From lines
    /// without a zone).
    pub local_offset: fn(i64) -> i16,
    /// Seconds since 1970, now.
    pub now: fn() -> i64,
}

fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl MboxOptions {
    /// Options for a user on this host, with the system clock and time zone.
    ///
    /// ```
    /// use dmail_store::mbox::engine::MboxOptions;
    /// let o = MboxOptions::new("bob", "mail.example.com");
    /// assert_eq!(o.sender, "bob@mail.example.com");
    /// ```
    pub fn new(user: &str, host: &str) -> MboxOptions {
        MboxOptions {
            lock: LockOptions::client(),
            sender: format!("{user}@{host}"),
            host: host.to_owned(),
            local_offset: crate::civil::local_offset_minutes,
            now: system_now,
        }
    }

    fn now_date(&self) -> InternalDate {
        let unix = (self.now)();
        InternalDate {
            unix,
            offset_minutes: (self.local_offset)(unix),
        }
    }
}

/// Where one mailbox's file and private data are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MboxPaths {
    /// The mailbox file.
    pub file: Utf8PathBuf,
    /// The private directory (`FOLDERDIR/.imapd`), created on first write.
    pub private_dir: Utf8PathBuf,
    /// The mailbox's name within the private directory (`INBOX`, or the folder name with `/`
    /// and `%` encoded).
    pub key: String,
}

impl MboxPaths {
    /// Paths for a mailbox, deriving the private key from its IMAP name.
    ///
    /// ```
    /// use dmail_store::mbox::engine::MboxPaths;
    /// let p = MboxPaths::new("/s/bob.mbx/a/b".into(), "/s/bob.mbx/.imapd".into(), "a/b");
    /// assert_eq!(p.key, "a%2Fb");
    /// ```
    pub fn new(file: Utf8PathBuf, private_dir: Utf8PathBuf, name: &str) -> MboxPaths {
        let key = name.replace('%', "%25").replace('/', "%2F");
        MboxPaths {
            file,
            private_dir,
            key,
        }
    }

    /// The undo journal of this mailbox (deliverers recover it before appending).
    pub fn journal(&self) -> Utf8PathBuf {
        self.private_dir.join(format!("{}.journal", self.key))
    }

    fn log(&self) -> Utf8PathBuf {
        self.private_dir.join(format!("{}.log", self.key))
    }

    fn uids(&self) -> Utf8PathBuf {
        self.private_dir.join(format!("{}.uids", self.key))
    }

    /// The private index of this mailbox ([`crate::mbox::index`]).
    pub fn index(&self) -> Utf8PathBuf {
        self.private_dir.join(format!("{}.index", self.key))
    }
}

/// What the engine knows of the file as a whole.
#[derive(Clone, Debug, Default)]
struct FileState {
    stamp: FileStamp,
    /// The pseudo-message's range, when the file has one.
    pseudo: Option<(u64, u64)>,
    /// The padded 10-digit last-UID field of the folder data.
    last_uid_field: Option<(u64, u64)>,
    ending: LineEnding,
    /// Bytes before the first message that are not a From line: never rewrite such a file.
    junk: bool,
    /// Change-log position read so far.
    log_pos: u64,
    /// The change log's (dev, ino) when `log_pos` was taken; (0, 0) when there was none.
    log_id: (u64, u64),
    /// [`prefix_check`] of the file as we know it.
    prefix_check: u64,
}

/// UIDs as ascending runs of consecutive numbers (the messages this handle stamped, usually
/// one run), so that \Recent costs a few bytes however many messages were stamped.
#[derive(Clone, Debug, Default)]
struct UidRuns(Vec<(u32, u32)>);

impl UidRuns {
    fn insert(&mut self, uid: Uid) {
        let u = uid.get();
        if let Some(last) = self.0.last_mut() {
            if last.1.checked_add(1) == Some(u) {
                last.1 = u;
                return;
            }
            if last.1 < u {
                self.0.push((u, u));
                return;
            }
        } else {
            self.0.push((u, u));
            return;
        }
        if self.contains(uid) {
            return;
        }
        let at = self.0.partition_point(|r| r.1 < u);
        self.0.insert(at, (u, u));
    }

    fn contains(&self, uid: Uid) -> bool {
        let u = uid.get();
        let at = self.0.partition_point(|r| r.1 < u);
        self.0.get(at).is_some_and(|r| r.0 <= u)
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

/// A handle on one mbox file.
#[derive(Debug)]
pub struct MboxMailbox {
    paths: MboxPaths,
    options: MboxOptions,
    read_only: bool,
    file_validity: UidValidity,
    last_uid: u32,
    keywords: KeywordTable,
    entries: Vec<Entry>,
    file: FileState,
    snapshot: Vec<MessageMeta>,
    uid_validity: UidValidity,
    /// Messages this handle stamped: \Recent for it alone.
    recent: UidRuns,
    /// A UIDVALIDITY change not yet reported by `sync`.
    validity_changed: bool,
    /// Whether `file_validity` and `last_uid` are known (from the file, the private data, or an
    /// earlier look), so that a file that lost them keeps its UIDs going.
    known: bool,
    /// What the private data holds, to write it only when it changes.
    saved: Option<(UidValidity, u32)>,
    /// Whether `entries` changed since the snapshot other than in the flags of `touched`
    /// (messages added, removed or moved): `sync` then compares everything.
    structure_changed: bool,
    /// Messages whose flags other handles changed (from the change log) since the snapshot.
    touched: Vec<Uid>,
    /// Whether what we know differs from the private index on disk.
    index_dirty: bool,
    /// An operation failed part-way: what we know may not match the file, so it is never saved.
    index_broken: bool,
    /// Whether what we know is the file as the change log's last record (before our position)
    /// left it: true right after we appended records, and kept while we only follow records.
    /// When it is not (we scanned, rewrote, or loaded an index), our next records start with a
    /// [`barrier`] naming the file as we know it.
    log_continuous: bool,
    /// c-client's `/tmp/.<dev>.<ino>` session lock, held shared while this handle may write, so
    /// that pine or UW imapd opening the mailbox meanwhile goes read-only (mailbox-formats.md §3).
    /// Held for its `Drop` alone.
    _session: Option<SessionLock>,
    /// Opened read-only because a c-client program holds the session lock exclusively.
    contended: bool,
}

/// Marks a [`barrier`] record (no file has this length).
const BARRIER_LEN: u64 = u64::MAX;

/// A change-log record that says "the writer of the records after me knew the file as
/// `stamp`, not as the record before me left it". A record holds a file's length and ctime
/// *after* a write, not before, so without this a reader could take flag writes on a file that
/// was rewritten (or cut by DPOP and refilled to the same length) for the only change since it
/// looked. A reader that knows the file as `stamp` itself goes on; any other must compare the
/// file with what it knows. The stamp's length, device and inode are hashed into the UID and
/// keyword fields, its ctime is in the ctime field.
fn barrier(stamp: &FileStamp) -> Record {
    let mut id = [0u8; 24];
    id[..8].copy_from_slice(&stamp.len.to_le_bytes());
    id[8..16].copy_from_slice(&stamp.dev.to_le_bytes());
    id[16..].copy_from_slice(&stamp.ino.to_le_bytes());
    let h = index::checksum(&id);
    Record {
        uid: Uid::new((h as u32) | 1).unwrap_or(Uid::MAX),
        flags: Flags {
            system: SystemFlags::EMPTY,
            keywords: KeywordSet::from_bits((h >> 32) as u32),
        },
        len: BARRIER_LEN,
        ctime: (stamp.ctime, u32::try_from(stamp.ctime_nsec).unwrap_or(0)),
    }
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> StoreError {
    let context = context.into();
    move |source| StoreError::Io { context, source }
}

fn lock_err(e: LockError) -> StoreError {
    if e.is_timeout() {
        StoreError::InUse
    } else {
        StoreError::Io {
            context: "locking the mailbox".into(),
            source: io::Error::other(e.to_string()),
        }
    }
}

fn read_range(file: &File, start: u64, end: u64) -> Result<Vec<u8>, StoreError> {
    let len = usize::try_from(end.saturating_sub(start))
        .map_err(|_| StoreError::Damaged("message too large".into()))?;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, start)
        .map_err(io_err("reading the mailbox"))?;
    Ok(buf)
}

/// Appends `bytes` with every bare LF made CRLF; `prev` is the byte before them (0 at the
/// start) and is left as their last. Whole runs between line ends are copied at once: this is
/// what every FETCH of a whole message goes through.
fn crlf_extend(out: &mut Vec<u8>, bytes: &[u8], prev: &mut u8) {
    let mut from = 0;
    for i in memchr::memchr_iter(b'\n', bytes) {
        let before = if i == 0 { *prev } else { bytes[i - 1] };
        if before != b'\r' {
            out.extend_from_slice(&bytes[from..i]);
            out.push(b'\r');
            from = i;
        }
    }
    out.extend_from_slice(&bytes[from..]);
    if let Some(&last) = bytes.last() {
        *prev = last;
    }
}

/// Replaces each NUL by 0x80, as c-client shows them to clients.
fn nul_to_0x80(bytes: &mut [u8]) {
    let mut from = 0;
    while let Some(i) = memchr::memchr(0, &bytes[from..]) {
        bytes[from + i] = 0x80;
        from += i + 1;
    }
}

/// Chunk size for reading and writing a file.
const CHUNK: usize = 1 << 20;

/// How often a long rewrite renews its dot-lock (well within the 300 s default stale limit).
const LOCK_RENEWAL: std::time::Duration = std::time::Duration::from_secs(30);

/// Chunk size for scanning: small enough that the scanner's passes over a chunk stay in cache.
const SCAN_CHUNK: usize = 256 << 10;

fn scan_file(
    file: &File,
    from: u64,
    to: u64,
    local_offset: fn(i64) -> i16,
) -> Result<Scan, StoreError> {
    let mut scanner = scan::Scanner::new(from, local_offset);
    let mut buf = vec![0u8; SCAN_CHUNK];
    let mut pos = from;
    while pos < to {
        let want = usize::try_from((to - pos).min(SCAN_CHUNK as u64)).unwrap_or(SCAN_CHUNK);
        let n = file
            .read_at(&mut buf[..want], pos)
            .map_err(io_err("reading the mailbox"))?;
        if n == 0 {
            break;
        }
        scanner.feed(&buf[..n]);
        pos += n as u64;
    }
    Ok(scanner.finish())
}

/// Makes room for `additional` more items, growing by at least an eighth: amortised constant
/// time per item, at most an eighth unused (instead of doubling's half).
fn reserve_some<T>(v: &mut Vec<T>, additional: usize) {
    if v.capacity() - v.len() < additional {
        v.reserve_exact(additional.max(v.len() / 8));
    }
}

/// How much of each end of a file [`prefix_check`] reads.
const CHECK_SPAN: u64 = 4096;

/// A hash of the bytes that show that a file still starts as we knew it, when it has grown:
/// its start up to the first byte we ever write in place (the last-UID field or the first
/// status block), and the last message's From line and header before its status block and its
/// bytes after it (at most [`CHECK_SPAN`] of each). In-place flag and last-UID writes leave it
/// unchanged; a rewrite of the file almost surely does not.
fn prefix_check(file: &File, state: &FileState, entries: &[Entry]) -> Result<u64, StoreError> {
    let len = state.stamp.len;
    let mut first_in_place = len;
    if let Some((a, _)) = state.last_uid_field {
        first_in_place = first_in_place.min(a);
    }
    if let Some((a, _)) = entries.first().and_then(Entry::block) {
        first_in_place = first_in_place.min(a);
    }
    let mut regions = vec![(0, first_in_place.min(CHECK_SPAN))];
    if let Some(last) = entries.last() {
        let (block_start, block_end) = last
            .block()
            .map_or((last.end, last.start), |(a, n)| (a, a + n));
        regions.push((last.start, block_start.min(last.start + CHECK_SPAN)));
        regions.push((block_end.max(len.saturating_sub(CHECK_SPAN)), len));
    }
    let mut bytes = Vec::with_capacity(3 * CHECK_SPAN as usize + 64);
    for (a, b) in regions {
        let b = b.min(len);
        let a = a.min(b);
        bytes.extend_from_slice(&a.to_le_bytes());
        bytes.extend_from_slice(&b.to_le_bytes());
        bytes.extend_from_slice(&read_range(file, a, b)?);
    }
    Ok(index::checksum(&bytes))
}

/// The change log's length and (dev, ino); (0, (0, 0)) when there is none.
fn log_state(path: &Utf8Path) -> (u64, (u64, u64)) {
    match std::fs::metadata(path) {
        Ok(m) => (m.len(), (m.dev(), m.ino())),
        Err(_) => (0, (0, 0)),
    }
}

/// Locks a mailbox file for one operation; `None` when it does not exist (and `create` is
/// false).
fn lock_file(
    paths: &MboxPaths,
    options: &MboxOptions,
    mode: LockMode,
    create: bool,
) -> Result<Option<MailboxLock>, StoreError> {
    let mut open = OpenOptions::new();
    open.read(true);
    if mode == LockMode::Exclusive {
        open.write(true).create(create);
    }
    match MailboxLock::acquire(&paths.file, &open, mode, &options.lock) {
        Ok(l) => Ok(Some(l)),
        Err(LockError::Open { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(lock_err(e)),
    }
}

/// UIDVALIDITY and the last UID as the private data remembers them.
fn load_remembered(paths: &MboxPaths) -> Option<(UidValidity, u32)> {
    let text = std::fs::read_to_string(paths.uids()).ok()?;
    let mut words = text.split_whitespace();
    let validity = UidValidity::new(words.next()?.parse().ok()?)?;
    let last = words.next()?.parse().ok()?;
    Some((validity, last))
}

/// The mailbox's old bytes during a rewrite, read in chunks ahead of where they are needed and
/// forgotten once used: a window on `[base, base + buf.len())` of the file.
struct OldBytes<'f> {
    file: &'f File,
    base: u64,
    buf: Vec<u8>,
    /// The old length of the file: nothing past it is read.
    end: u64,
}

impl<'f> OldBytes<'f> {
    fn new(file: &'f File, start: u64, end: u64) -> OldBytes<'f> {
        OldBytes {
            file,
            base: start,
            buf: Vec::new(),
            end,
        }
    }

    fn loaded_end(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    /// Reads until every byte before `upto` (or the old end) is in the window.
    fn ensure(&mut self, upto: u64) -> Result<(), StoreError> {
        let upto = upto.min(self.end);
        while self.loaded_end() < upto {
            let from = self.loaded_end();
            let want = (upto - from).max(CHUNK as u64).min(self.end - from);
            let want = usize::try_from(want).unwrap_or(CHUNK);
            let at = self.buf.len();
            self.buf.resize(at + want, 0);
            let n = self
                .file
                .read_at(&mut self.buf[at..], from)
                .map_err(io_err("reading the mailbox"));
            let n = match n {
                Ok(n) => n,
                Err(e) => {
                    self.buf.truncate(at);
                    return Err(e);
                }
            };
            self.buf.truncate(at + n);
            if n == 0 {
                return Err(StoreError::Damaged(
                    "the mailbox shrank during a rewrite".into(),
                ));
            }
        }
        Ok(())
    }

    /// Forgets the bytes before `at` (once enough of them are unused to be worth the move).
    fn release(&mut self, at: u64) {
        let k = usize::try_from(at.saturating_sub(self.base))
            .unwrap_or(usize::MAX)
            .min(self.buf.len());
        if k > 0 && k >= self.buf.len() / 2 {
            self.buf.drain(..k);
            self.base += k as u64;
        }
    }
}

/// Where a message's status block went when it was written, and whether its RFC822.SIZE is the
/// old one (no line end or separator had to be added that changes what a client sees).
struct Written {
    block_at: usize,
    block_len: usize,
    same_size: bool,
}

impl MboxMailbox {
    /// Opens a mailbox file. A missing or empty file is an empty mailbox (c-client's INBOX
    /// rule). Read-write handles stamp unstamped messages before reporting them.
    ///
    /// When the private index still describes the file (it is unchanged, or only flags changed
    /// as the change log records, or messages were only appended) the index is loaded and only
    /// what is new is read; otherwise the file is scanned and the index rewritten.
    ///
    /// ```
    /// use dmail_store::mbox::engine::{MboxMailbox, MboxOptions, MboxPaths};
    /// use dmail_store::store::Mailbox;
    /// let dir = tempfile::tempdir().unwrap();
    /// let root = camino::Utf8Path::from_path(dir.path()).unwrap();
    /// std::fs::write(root.join("INBOX"), "From a Sat Dec 26 09:37:48 1998\nSubject: hi\n\nbody\n\n").unwrap();
    /// let paths = MboxPaths::new(root.join("INBOX"), root.join(".imapd"), "INBOX");
    /// let mut mbox = MboxMailbox::open(paths, false, MboxOptions::new("bob", "localhost")).unwrap();
    /// assert_eq!(mbox.messages().len(), 1);
    /// assert!(std::fs::read_to_string(root.join("INBOX")).unwrap().contains("X-UID: 1\n"));
    /// assert!(root.join(".imapd/INBOX.index").exists());
    /// ```
    pub fn open(
        paths: MboxPaths,
        read_only: bool,
        options: MboxOptions,
    ) -> Result<MboxMailbox, StoreError> {
        let now = (options.now)();
        // A c-client program that has the mailbox open read-write holds its session lock
        // exclusively: we open read-only rather than write under it. Without a session lock
        // file (no mailbox yet, or /tmp unusable) we go on with our own locks alone.
        let (mut read_only, mut session, mut contended) = (read_only, None, false);
        if !read_only && paths.file.exists() {
            match SessionLock::try_shared(&paths.file) {
                Ok(SessionLockOutcome::Held(lock)) => session = Some(lock),
                Ok(SessionLockOutcome::Busy) => {
                    read_only = true;
                    contended = true;
                }
                Err(_) => {}
            }
        }
        let mut mbox = MboxMailbox {
            paths,
            options,
            read_only,
            file_validity: UidValidity::new(u32::try_from(now.max(1)).unwrap_or(u32::MAX))
                .unwrap_or(UidValidity::MIN),
            last_uid: 0,
            keywords: KeywordTable::default(),
            entries: Vec::new(),
            file: FileState::default(),
            snapshot: Vec::new(),
            uid_validity: UidValidity::MIN,
            recent: UidRuns::default(),
            validity_changed: false,
            known: false,
            saved: None,
            structure_changed: false,
            touched: Vec::new(),
            index_dirty: true,
            index_broken: false,
            log_continuous: false,
            _session: session,
            contended,
        };
        if let Some((validity, last)) = load_remembered(&mbox.paths) {
            mbox.file_validity = validity;
            mbox.last_uid = last;
            mbox.known = true;
            mbox.saved = Some((validity, last));
        }
        // Until the open succeeds, nothing this handle knows is saved (it is dropped on error).
        mbox.index_broken = true;
        if let Some(lock) = mbox.lock(mbox.refresh_mode(), false)? {
            let adopted = mbox.adopt_index();
            mbox.refresh_locked(&lock, !adopted)?;
        } else {
            mbox.forget_file();
        }
        mbox.index_broken = false;
        mbox.validity_changed = false;
        mbox.structure_changed = false;
        mbox.touched.clear();
        mbox.rebuild_snapshot();
        mbox.save_index();
        Ok(mbox)
    }

    /// Whether this handle was asked for read-write but opened read-only because a c-client
    /// program (pine, UW imapd) has the mailbox open: the protocol layer says
    /// `* NO Mailbox is open by another program, access is read-only`.
    ///
    /// ```
    /// use dmail_store::mbox::engine::{MboxMailbox, MboxOptions, MboxPaths};
    /// let dir = tempfile::tempdir().unwrap();
    /// let root = camino::Utf8Path::from_path(dir.path()).unwrap();
    /// let paths = MboxPaths::new(root.join("INBOX"), root.join(".imapd"), "INBOX");
    /// let m = MboxMailbox::open(paths, false, MboxOptions::new("bob", "localhost")).unwrap();
    /// assert!(!m.read_only_because_in_use());
    /// ```
    pub fn read_only_because_in_use(&self) -> bool {
        self.contended
    }

    /// The counts SELECT and STATUS report, from the private index alone, without reading the
    /// mailbox: `Ok(None)` when there is no usable index or the mailbox changed since it was
    /// written (then [`open`](Self::open) it). \Recent is 0: an index is only written when
    /// every message is stamped, and no later session stamped any (the file would have
    /// changed).
    ///
    /// ```
    /// use dmail_store::mbox::engine::{MboxMailbox, MboxOptions, MboxPaths};
    /// let dir = tempfile::tempdir().unwrap();
    /// let root = camino::Utf8Path::from_path(dir.path()).unwrap();
    /// std::fs::write(root.join("INBOX"), "From a Sat Dec 26 09:37:48 1998\n\nx\n\n").unwrap();
    /// let paths = MboxPaths::new(root.join("INBOX"), root.join(".imapd"), "INBOX");
    /// let o = MboxOptions::new("bob", "localhost");
    /// assert_eq!(MboxMailbox::quick_status(&paths, &o).unwrap(), None);
    /// drop(MboxMailbox::open(paths.clone(), false, o.clone()).unwrap());
    /// let s = MboxMailbox::quick_status(&paths, &o).unwrap().unwrap();
    /// assert_eq!((s.messages, s.unseen, s.first_unseen, s.uid_next.get()), (1, 1, Some(1), 2));
    /// ```
    pub fn quick_status(
        paths: &MboxPaths,
        options: &MboxOptions,
    ) -> Result<Option<QuickStatus>, StoreError> {
        let summary = match index::read_summary(paths.index().as_std_path()) {
            Ok(Some(s)) => s,
            Ok(None) | Err(_) => return Ok(None),
        };
        if paths.journal().exists() {
            return Ok(None);
        }
        let Some(lock) = lock_file(paths, options, LockMode::Shared, false)? else {
            return Ok(None);
        };
        let stamp = FileStamp::of(lock.file()).map_err(io_err("examining the mailbox"))?;
        let (log_len, log_id) = log_state(&paths.log());
        drop(lock);
        let log_same = log_len / 32 * 32 == summary.log_pos
            && (log_id == summary.log_id || (log_len == 0 && summary.log_pos == 0));
        if stamp != summary.stamp || !log_same {
            return Ok(None);
        }
        let mut last = summary.last_uid;
        if let Some((validity, remembered)) = load_remembered(paths) {
            if validity != summary.uid_validity {
                return Ok(None);
            }
            last = last.max(remembered);
        }
        Ok(Some(QuickStatus {
            messages: summary.messages,
            recent: 0,
            unseen: summary.unseen,
            first_unseen: summary.first_unseen,
            uid_next: Uid::new(last.saturating_add(1)).unwrap_or(Uid::MAX),
            uid_validity: summary.uid_validity,
        }))
    }

    /// Writes the private index now if what this handle knows of the file changed since it was
    /// loaded or last written (it is also written at the end of an open that had to read the
    /// file, and when the handle is dropped). Best effort: a failure only costs the next open
    /// a scan. Nothing is written after an operation of this handle failed, nor while messages
    /// are numbered only in memory (a read-only handle's unstamped messages).
    pub fn save_index(&mut self) {
        if !self.index_dirty || self.index_broken || !self.known || self.file.junk {
            return;
        }
        if self.entries.iter().any(|e| !e.stamped) {
            return;
        }
        if self.read_only
            && (self.file.pseudo.is_none() && self.file.last_uid_field.is_none()
                || !self.paths.private_dir.is_dir())
        {
            // The UIDVALIDITY of a read-only view of a file without folder data is this
            // handle's invention; and a read-only handle creates nothing.
            return;
        }
        if self.file.stamp.len == 0 || std::fs::create_dir_all(&self.paths.private_dir).is_err() {
            return;
        }
        let ix = Index {
            stamp: self.file.stamp,
            log_pos: self.file.log_pos,
            log_id: self.file.log_id,
            uid_validity: self.file_validity,
            last_uid: self.last_uid,
            keywords: self.keywords.clone(),
            ending: self.file.ending,
            pseudo: self.file.pseudo,
            last_uid_field: self.file.last_uid_field,
            junk: self.file.junk,
            prefix_check: self.file.prefix_check,
            entries: std::mem::take(&mut self.entries),
        };
        let written = index::write(self.paths.index().as_std_path(), &ix);
        self.entries = ix.entries;
        if written.is_ok() {
            self.index_dirty = false;
        }
    }

    /// Heap bytes this handle holds for its messages (the engine's table, the client's
    /// snapshot, the \Recent runs): about 96 bytes a message.
    pub fn memory_bytes(&self) -> usize {
        self.entries.capacity() * size_of::<Entry>()
            + self.snapshot.capacity() * size_of::<MessageMeta>()
            + self.recent.0.capacity() * size_of::<(u32, u32)>()
            + self.touched.capacity() * size_of::<Uid>()
    }

    /// Takes what the private index knows, if it can describe this file at all: its
    /// UIDVALIDITY agrees with the remembered one and the change log is the one it read. The
    /// caller then checks it against the file like any earlier look. Without a usable index,
    /// its UIDVALIDITY and last UID still serve as the remembered ones.
    fn adopt_index(&mut self) -> bool {
        let Ok(Some(ix)) = index::read(self.paths.index().as_std_path()) else {
            return false;
        };
        if self.known && ix.uid_validity != self.file_validity {
            return false;
        }
        if !self.known {
            self.file_validity = ix.uid_validity;
            self.last_uid = ix.last_uid;
            self.known = true;
        }
        let (log_len, log_id) = log_state(&self.paths.log());
        let log_new_since = ix.log_id == (0, 0) && ix.log_pos == 0;
        if (log_id != ix.log_id && !log_new_since) || log_len < ix.log_pos {
            return false;
        }
        self.last_uid = self.last_uid.max(ix.last_uid);
        self.keywords = ix.keywords;
        self.entries = ix.entries;
        self.file = FileState {
            stamp: ix.stamp,
            pseudo: ix.pseudo,
            last_uid_field: ix.last_uid_field,
            ending: ix.ending,
            junk: ix.junk,
            log_pos: ix.log_pos,
            log_id: if log_new_since { log_id } else { ix.log_id },
            prefix_check: ix.prefix_check,
        };
        self.index_dirty = false;
        // Whoever saved the index may have scanned a file the log does not explain.
        self.log_continuous = false;
        true
    }

    fn lock(&self, mode: LockMode, create: bool) -> Result<Option<MailboxLock>, StoreError> {
        lock_file(&self.paths, &self.options, mode, create)
    }

    /// The lock a refresh needs: a journal left by a crash must be applied before anyone
    /// reads, and that needs write access.
    fn refresh_mode(&self) -> LockMode {
        if self.read_only && !self.paths.journal().exists() {
            LockMode::Shared
        } else {
            LockMode::Exclusive
        }
    }

    /// Brings `entries` up to date with the file (taking the locks itself). With `full`, the
    /// whole file is scanned.
    fn refresh(&mut self, full: bool) -> Result<(), StoreError> {
        let Some(lock) = self.lock(self.refresh_mode(), false)? else {
            self.forget_file();
            return Ok(());
        };
        self.refresh_locked(&lock, full)
    }

    /// Records UIDVALIDITY and the last UID in the private data when they changed, so that a
    /// burst or rewrite by DPOP that drops the pseudo-message does not renew UIDVALIDITY
    /// (mailbox-formats.md §1). Best effort: without it, clients at worst resynchronise.
    fn save_remembered(&mut self) {
        let now = (self.file_validity, self.last_uid);
        if self.read_only || !self.known || self.saved == Some(now) {
            return;
        }
        // Another handle may have remembered more UIDs under the same UIDVALIDITY: never
        // lower what is remembered.
        if let Some((validity, last)) = load_remembered(&self.paths)
            && validity == now.0
            && last >= now.1
        {
            self.saved = Some(now);
            return;
        }
        let path = self.paths.uids();
        let tmp = self
            .paths
            .private_dir
            .join(format!(".{}.uids.tmp", self.paths.key));
        let written = std::fs::create_dir_all(&self.paths.private_dir)
            .and_then(|()| std::fs::write(&tmp, format!("{} {}\n", now.0, now.1)))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if written.is_ok() {
            self.saved = Some(now);
        }
    }

    /// Takes in UIDs another handle remembered under the same UIDVALIDITY since we looked (it
    /// may have appended messages that DPOP took before we saw them): never give a UID twice.
    fn merge_remembered(&mut self) {
        if let Some((validity, last)) = load_remembered(&self.paths)
            && self.known
            && validity == self.file_validity
        {
            self.last_uid = self.last_uid.max(last);
        }
    }

    /// The file is gone (or empty): every message is expunged; UIDVALIDITY and the last UID are
    /// kept, so that new mail continues the UIDs (mailbox-formats.md §1).
    fn forget_file(&mut self) {
        self.merge_remembered();
        // The keyword list lived in the folder data, which is gone with the messages.
        self.keywords = KeywordTable::default();
        if !self.entries.is_empty() {
            self.structure_changed = true;
        }
        self.entries.clear();
        self.index_dirty = true;
        self.log_continuous = false;
        self.file = FileState {
            log_pos: self.file.log_pos,
            log_id: self.file.log_id,
            ..FileState::default()
        };
    }

    /// After `entries` changed shape: remember the file's new prefix check, and that the
    /// snapshot and the index are behind.
    fn settle(&mut self, file: &File) -> Result<(), StoreError> {
        self.file.prefix_check = prefix_check(file, &self.file, &self.entries)?;
        self.structure_changed = true;
        self.index_dirty = true;
        self.log_continuous = false;
        Ok(())
    }

    fn refresh_locked(&mut self, lock: &MailboxLock, full: bool) -> Result<(), StoreError> {
        self.refresh_locked_inner(lock, full)?;
        self.save_remembered();
        Ok(())
    }

    fn refresh_locked_inner(&mut self, lock: &MailboxLock, full: bool) -> Result<(), StoreError> {
        let file = lock.file();
        if lock.mode() == LockMode::Exclusive {
            journal::recover(self.paths.journal().as_std_path(), file)
                .map_err(io_err("recovering an interrupted rewrite"))?;
        }
        let stamp = FileStamp::of(file).map_err(io_err("examining the mailbox"))?;
        if stamp.len == 0 {
            self.forget_file();
            self.file.stamp = stamp;
            return Ok(());
        }
        if !full {
            // Flag writes by other handles first (even when the stamp looks unchanged: two
            // writes within one tick of the clock leave the same ctime).
            if !self.catch_up_log()? {
                return self.scan_all(lock, stamp);
            }
            if stamp == self.file.stamp {
                return Ok(());
            }
            if self.grew(file, &stamp)? {
                return self.scan_tail(lock, stamp);
            }
        }
        self.scan_all(lock, stamp)
    }

    /// Reads other handles' in-place flag writes from the change log since our position and
    /// applies them. False when the log cannot be trusted for the layout we know (it was
    /// truncated, or records were written on a shorter file): the caller must scan.
    ///
    /// The records explain the file's new ctime only when they follow on from what we know:
    /// each written on a file of the length we know, and every [`barrier`] among them naming
    /// the file as the records before it left it. Otherwise the caller compares the file with
    /// what we know (it may have grown, or be rewritten). Flags are applied by UID either way:
    /// records written after messages were appended apply to the messages we know, and the
    /// caller then reads the appended ones with their flags as they are now.
    fn catch_up_log(&mut self) -> Result<bool, StoreError> {
        let log = self.paths.log();
        let Some((records, pos)) = changelog::read_from(log.as_std_path(), self.file.log_pos)
            .map_err(io_err("reading the change log"))?
        else {
            return Ok(false);
        };
        let known = self.file.stamp.len;
        let mut cur = self.file.stamp;
        let mut follows = true;
        for r in &records {
            if r.len == BARRIER_LEN {
                follows &= *r == barrier(&cur);
                continue;
            }
            if r.len < known {
                return Ok(false);
            }
            if let Ok(i) = self.entries.binary_search_by_key(&r.uid, |e| e.uid)
                && self.entries[i].flags() != r.flags
            {
                self.entries[i].set_flags(r.flags);
                self.touched.push(r.uid);
                self.index_dirty = true;
            }
            follows &= r.len == cur.len;
            // The file as this writer left it.
            cur.ctime = r.ctime.0;
            cur.ctime_nsec = i64::from(r.ctime.1);
        }
        if follows {
            self.file.stamp = cur;
        }
        self.file.log_pos = pos;
        if self.file.log_id == (0, 0) {
            self.file.log_id = log_state(&log).1;
        }
        Ok(true)
    }

    /// Whether the file only grew since we looked: same file, longer, our last message still
    /// ends where the new data starts with a From line, and the prefix check holds.
    fn grew(&self, file: &File, stamp: &FileStamp) -> Result<bool, StoreError> {
        let end = self.file.stamp.len;
        // From nothing, the new data holds the folder data: that is a whole scan, and cheap.
        if end == 0
            || stamp.ino != self.file.stamp.ino
            || stamp.dev != self.file.stamp.dev
            || stamp.len <= end
        {
            return Ok(false);
        }
        let ends_right = match self.entries.last() {
            Some(last) => last.end == end,
            None => self.file.pseudo.is_some_and(|(_, e)| e == end),
        };
        if !ends_right {
            return Ok(false);
        }
        let mut next = [0u8; 5];
        let n = file
            .read_at(&mut next, end)
            .map_err(io_err("reading the mailbox"))?;
        if n != 5 || &next != b"From " {
            return Ok(false);
        }
        Ok(prefix_check(file, &self.file, &self.entries)? == self.file.prefix_check)
    }

    fn remembered(&self) -> Option<Remembered> {
        Some(Remembered {
            uid_validity: self.file_validity,
            last_uid: Uid::new(self.last_uid),
        })
    }

    /// Scans the whole file and matches its messages with what we knew.
    fn scan_all(&mut self, lock: &MailboxLock, stamp: FileStamp) -> Result<(), StoreError> {
        let file = lock.file();
        let scan = scan_file(file, 0, stamp.len, self.options.local_offset)?;
        self.merge_remembered();
        let known = self.known;
        let remembered = if known { self.remembered() } else { None };
        let plan = uids::assign_uids(&scan, remembered, None, (self.options.now)());
        if known && plan.uid_validity != self.file_validity {
            self.validity_changed = true;
            self.recent.clear();
        }
        if let ValiditySource::Renewed(_) = plan.source {
            self.validity_changed = true;
        }
        self.file_validity = plan.uid_validity;
        self.known = true;
        self.last_uid = plan
            .last_uid
            .map_or(0, Uid::get)
            .max(if self.validity_changed {
                0
            } else {
                self.last_uid
            });
        self.keywords = scan.keywords().clone();
        let (log_pos, log_id) = log_state(&self.paths.log());
        self.file = FileState {
            stamp,
            pseudo: scan
                .messages
                .first()
                .filter(|m| m.pseudo)
                .map(|m| (m.start(), m.end())),
            last_uid_field: scan.last_uid_field.as_ref().map(|r| (r.start, r.end)),
            ending: scan.line_ending,
            junk: scan.leading_junk.as_ref().is_some_and(|r| r.start != r.end),
            log_pos: log_pos / 32 * 32,
            log_id,
            prefix_check: 0,
        };
        self.entries = Vec::with_capacity(scan.messages.len());
        self.take_messages(&scan, &plan.uids);
        self.settle(file)?;
        self.stamp_if_needed(lock, Some(&scan))
    }

    /// Scans only what was appended since we last looked.
    fn scan_tail(&mut self, lock: &MailboxLock, stamp: FileStamp) -> Result<(), StoreError> {
        let from = self.file.stamp.len;
        let scan = scan_file(lock.file(), from, stamp.len, self.options.local_offset)?;
        if scan.leading_junk.as_ref().is_some_and(|r| r.start != r.end) {
            return self.scan_all(lock, stamp);
        }
        let previous = self.entries.last().map(|e| e.uid);
        let plan = uids::assign_uids(&scan, self.remembered(), previous, (self.options.now)());
        if plan.uid_validity != self.file_validity
            || matches!(plan.source, ValiditySource::Renewed(_))
        {
            return self.scan_all(lock, stamp);
        }
        self.last_uid = self.last_uid.max(plan.last_uid.map_or(0, Uid::get));
        self.file.stamp = stamp;
        self.take_messages(&scan, &plan.uids);
        self.settle(lock.file())?;
        self.stamp_if_needed(lock, Some(&scan))
    }

    fn take_messages(&mut self, scan: &Scan, uids: &[Option<uids::Assigned>]) {
        reserve_some(&mut self.entries, scan.messages.len());
        for (m, assigned) in scan.messages.iter().zip(uids) {
            let Some(a) = assigned else { continue };
            self.entries.push(Entry::new(
                m.start(),
                m.end(),
                m.status_block.as_ref().map(|r| (r.start, r.end - r.start)),
                a.uid,
                m.flags(&self.keywords),
                m.size,
                m.internal_date,
                !a.stamp,
            ));
        }
    }

    /// Read-write handles write X-UIDs for messages that lack them before any client sees the
    /// UIDs; read-only handles keep the numbering in memory. `scan` is a scan of the file's
    /// end just made under the same lock, if there is one.
    fn stamp_if_needed(
        &mut self,
        lock: &MailboxLock,
        scan: Option<&Scan>,
    ) -> Result<(), StoreError> {
        if self.read_only || lock.mode() != LockMode::Exclusive {
            return Ok(());
        }
        let first = self.entries.iter().position(|e| !e.stamped);
        let needs_pseudo_fix = self.validity_changed && self.file.pseudo.is_some();
        let Some(first) = first.or(needs_pseudo_fix.then_some(0)) else {
            return self.write_last_uid(lock.file());
        };
        let newly: Vec<Uid> = self.entries[first..]
            .iter()
            .filter(|e| !e.stamped)
            .map(|e| e.uid)
            .collect();
        self.rewrite(lock, first, &HashSet::new(), scan)?;
        for uid in newly {
            self.recent.insert(uid);
        }
        Ok(())
    }

    /// The digits to write over the padded last-UID field, if it lags behind `last_uid`.
    fn last_uid_patch(&self, file: &File) -> Result<Option<(u64, [u8; 10])>, StoreError> {
        let Some((start, end)) = self.file.last_uid_field else {
            return Ok(None);
        };
        let digits = pseudo::last_uid_digits(Uid::new(self.last_uid));
        if end - start != digits.len() as u64 {
            return Ok(None);
        }
        let current = read_range(file, start, end)?;
        Ok((current != digits).then_some((start, digits)))
    }

    /// Updates the padded last-UID field of the folder data in place, if it lags.
    fn write_last_uid(&mut self, file: &File) -> Result<(), StoreError> {
        let Some((start, digits)) = self.last_uid_patch(file)? else {
            return Ok(());
        };
        file.write_all_at(&digits, start)
            .map_err(io_err("writing the folder data"))?;
        file.sync_data()
            .map_err(io_err("writing the folder data"))?;
        self.file.stamp = FileStamp::of(file).map_err(io_err("examining the mailbox"))?;
        Ok(())
    }

    /// Rewrites the file from message `from` on (or from the start, to put a pseudo-message at
    /// the top): status blocks with X-UIDs for every message, the messages in `dropped` left
    /// out.
    /// Crash-safe through the undo journal; the inode is kept. `known` is a scan of the file
    /// made under the same lock, used when it covers the rewritten part.
    ///
    /// The file is streamed, twice: once to learn the new layout and length (which the journal
    /// records), once to write; old bytes are read ahead of every write that would cover them,
    /// so memory stays in proportion to how much the rewritten part grows, not to its size.
    fn rewrite(
        &mut self,
        lock: &MailboxLock,
        from: usize,
        dropped: &HashSet<Uid>,
        known: Option<&Scan>,
    ) -> Result<(), StoreError> {
        if self.file.junk {
            return Err(StoreError::Damaged(
                "the file does not start with a message; it is left as it is".into(),
            ));
        }
        let file = lock.file();
        let old_len = self.file.stamp.len;
        // A rewrite that starts at the first message writes the pseudo-message at the top, and a
        // file without one gets one, so that UIDVALIDITY and the last UID live in the file.
        let from = if self.file.pseudo.is_none() { 0 } else { from };
        let from_top = from == 0;
        let start = if from_top {
            0
        } else {
            self.entries.get(from).map_or(old_len, |e| e.start)
        };
        let ending = self.file.ending;
        let mut head = Vec::new();
        let field = if from_top {
            let data = FolderData {
                uid_validity: self.file_validity,
                last_uid: Uid::new(self.last_uid),
                keywords: self.keywords.clone(),
            };
            Some(pseudo::write(
                &mut head,
                &data,
                self.options.now_date(),
                &self.options.host,
                ending,
            ))
        } else {
            None
        };
        let covers = |s: &Scan| {
            s.end == old_len
                && s.messages
                    .binary_search_by_key(&start, scan::Message::start)
                    .is_ok()
        };
        let rescanned;
        let old_scan = match known {
            Some(s) if covers(s) => s,
            _ => {
                rescanned = scan_file(file, start, old_len, self.options.local_offset)?;
                &rescanned
            }
        };
        // Pass 1: the new layout.
        let msgs = &old_scan.messages;
        let mut mi = msgs.partition_point(|m| m.start() < start);
        let mut order: Vec<(usize, usize)> = Vec::new();
        let mut placed: Vec<Entry> = Vec::new();
        let mut reader = OldBytes::new(file, start, old_len);
        let mut scratch = Vec::new();
        let mut pos = start + head.len() as u64;
        for (ei, e) in self.entries.iter().enumerate().skip(from) {
            while msgs.get(mi).is_some_and(|m| m.start() < e.start) {
                mi += 1;
            }
            let Some(m) = msgs.get(mi).filter(|m| m.start() == e.start) else {
                return Err(StoreError::Damaged(
                    "the mailbox changed during a rewrite".into(),
                ));
            };
            if dropped.contains(&e.uid) {
                continue;
            }
            reader.ensure(m.end())?;
            scratch.clear();
            let w = self.write_message(&mut scratch, &reader.buf, reader.base, m, e, ending);
            reader.release(m.end());
            let mut placed_e = *e;
            let block_at = pos + w.block_at as u64;
            placed_e.relocate(
                pos,
                pos + scratch.len() as u64,
                Some((block_at, w.block_len as u64)),
            );
            placed_e.stamped = true;
            let rescan = || scan::scan_bytes(&scratch, pos, self.options.local_offset);
            if w.same_size {
                placed_e.size = m.size;
                #[cfg(debug_assertions)]
                {
                    let s = rescan();
                    let n = &s.messages[0];
                    debug_assert_eq!(s.messages.len(), 1);
                    debug_assert_eq!((n.size, n.end()), (m.size, placed_e.end));
                    debug_assert_eq!(
                        n.status_block.as_ref().map(|r| (r.start, r.end - r.start)),
                        placed_e.block()
                    );
                }
            } else {
                let s = rescan();
                let [n] = s.messages.as_slice() else {
                    return Err(StoreError::Damaged(
                        "a message would not stay one message when rewritten".into(),
                    ));
                };
                placed_e.size = n.size;
                placed_e.relocate(
                    pos,
                    n.end(),
                    n.status_block.as_ref().map(|r| (r.start, r.end - r.start)),
                );
            }
            pos = placed_e.end;
            placed.push(placed_e);
            order.push((ei, mi));
        }
        drop(reader);
        let new_len = pos;
        let journal = Journal::begin(
            self.paths.journal().as_std_path(),
            file,
            old_len,
            new_len,
            &[(start, old_len - start)],
        )
        .map_err(io_err("writing the undo journal"))?;
        crate::failpoint::hit("rewrite:journaled");
        // Pass 2: write.
        let result = self.stream_rewrite(lock, &head, msgs, &order, &placed, start, old_len);
        let result = result.and_then(|()| {
            crate::failpoint::hit("rewrite:written");
            file.set_len(new_len)
                .map_err(io_err("rewriting the mailbox"))?;
            crate::failpoint::hit("rewrite:truncated");
            file.sync_all().map_err(io_err("rewriting the mailbox"))
        });
        crate::failpoint::hit("rewrite:synced");
        if let Err(e) = result {
            // Put the old bytes back now rather than at the next open.
            let _ = journal::recover(self.paths.journal().as_std_path(), file);
            return Err(e);
        }
        journal
            .commit()
            .map_err(io_err("finishing the undo journal"))?;
        crate::failpoint::hit("rewrite:committed");
        self.entries.truncate(from);
        self.entries.extend(placed);
        if from_top {
            self.file.pseudo = (!head.is_empty()).then_some((0, head.len() as u64));
            self.file.last_uid_field = field.map(|r| (r.start as u64, r.end as u64));
        } else if let Some((a, b)) = self.file.last_uid_field {
            if a >= start {
                self.file.last_uid_field = None;
            } else {
                self.file.last_uid_field = Some((a, b));
            }
        }
        self.file.stamp = FileStamp::of(file).map_err(io_err("examining the mailbox"))?;
        self.settle(file)?;
        self.write_last_uid(file)
    }

    /// The writing pass of [`rewrite`](Self::rewrite): the pseudo-message `head`, then every
    /// message of `order` (entry index, old-scan index) as `placed` says, in chunks, reading the
    /// old bytes ahead of each write.
    #[allow(clippy::too_many_arguments)]
    fn stream_rewrite(
        &self,
        lock: &MailboxLock,
        head: &[u8],
        msgs: &[scan::Message],
        order: &[(usize, usize)],
        placed: &[Entry],
        start: u64,
        old_len: u64,
    ) -> Result<(), StoreError> {
        let file = lock.file();
        let new_len = placed.last().map_or(start + head.len() as u64, |e| e.end);
        let half = start + (new_len - start) / 2;
        // A rewrite of tens of gigabytes can outlast imapd_lock_stale: renew the dot-lock's
        // ctime as it goes, so that other programs do not judge it stale and break it.
        let mut renewed = std::time::Instant::now();
        let mut half_hit = false;
        let mut reader = OldBytes::new(file, start, old_len);
        let mut out = Vec::with_capacity(CHUNK + (64 << 10));
        out.extend_from_slice(head);
        let mut at = start;
        let mut flush = |out: &mut Vec<u8>, reader: &mut OldBytes<'_>| -> Result<(), StoreError> {
            let end = at + out.len() as u64;
            // Never cover old bytes not read yet.
            reader.ensure(end)?;
            let mut bytes = &out[..];
            if !half_hit && end > half {
                let k = usize::try_from(half - at).unwrap_or(0).min(bytes.len());
                file.write_all_at(&bytes[..k], at)
                    .map_err(io_err("rewriting the mailbox"))?;
                // Written in two halves so that a crash can land between them.
                crate::failpoint::hit("rewrite:half-written");
                half_hit = true;
                bytes = &bytes[k..];
                at += k as u64;
            }
            file.write_all_at(bytes, at)
                .map_err(io_err("rewriting the mailbox"))?;
            at += bytes.len() as u64;
            out.clear();
            if renewed.elapsed() >= LOCK_RENEWAL {
                // Best effort: a lock we can no longer touch is still ours to finish under.
                let _ = lock.refresh();
                renewed = std::time::Instant::now();
            }
            Ok(())
        };
        for (&(ei, mi), p) in order.iter().zip(placed) {
            let (Some(e), Some(m)) = (self.entries.get(ei), msgs.get(mi)) else {
                return Err(StoreError::Damaged("rewrite plan out of step".into()));
            };
            reader.ensure(m.end())?;
            let before = out.len();
            self.write_message(&mut out, &reader.buf, reader.base, m, e, self.file.ending);
            reader.release(m.end());
            if (out.len() - before) as u64 != p.end - p.start {
                return Err(StoreError::Damaged(
                    "the mailbox changed during a rewrite".into(),
                ));
            }
            if out.len() >= CHUNK {
                flush(&mut out, &mut reader)?;
            }
        }
        flush(&mut out, &mut reader)?;
        Ok(())
    }

    /// One message in stored form: From line, header without metadata lines, our status block,
    /// blank line, body (which carries the separator line). `old` holds the file's bytes from
    /// offset `base`, the whole message among them.
    fn write_message(
        &self,
        out: &mut Vec<u8>,
        old: &[u8],
        base: u64,
        m: &scan::Message,
        e: &Entry,
        ending: LineEnding,
    ) -> Written {
        let at = |r: u64| {
            usize::try_from(r.saturating_sub(base))
                .unwrap_or(0)
                .min(old.len())
        };
        let begin = out.len();
        out.extend_from_slice(&old[at(m.from_line.start)..at(m.from_line.end)]);
        let mut pos = m.header.start;
        for s in &m.status_lines {
            out.extend_from_slice(&old[at(pos)..at(s.range.start.max(pos))]);
            pos = pos.max(s.range.end);
        }
        out.extend_from_slice(&old[at(pos)..at(m.header.end.max(pos))]);
        // A header without its final line end (it ran to the end of the file) gets one.
        let added_line_end = out.last().is_some_and(|b| *b != b'\n');
        if added_line_end {
            out.extend_from_slice(ending.as_bytes());
        }
        let block_at = out.len();
        status::write_block(out, e.flags(), &self.keywords, Some(e.uid), ending);
        let block_len = out.len() - block_at;
        let had_body = m.body.start > m.header.end;
        if had_body {
            // The blank line and the body, as they are.
            out.extend_from_slice(&old[at(m.header.end)..at(m.body.end)]);
        } else {
            out.extend_from_slice(ending.as_bytes());
        }
        let ends_with_line_end = out.last() == Some(&b'\n');
        // Keep the next From line at the start of a line after a blank line.
        let sep = write::separator_before(
            &out[out.len().saturating_sub(write::TAIL_LEN)..],
            (out.len() - begin) as u64,
            ending,
        );
        out.extend_from_slice(sep);
        Written {
            block_at: block_at - begin,
            block_len,
            // A separator after a final line end is taken off again by every reader.
            same_size: !added_line_end && had_body && (sep.is_empty() || ends_with_line_end),
        }
    }

    fn rebuild_snapshot(&mut self) {
        let mut snapshot = std::mem::take(&mut self.snapshot);
        snapshot.clear();
        reserve_some(&mut snapshot, self.entries.len());
        let no_recent = self.recent.0.is_empty();
        snapshot.extend(self.entries.iter().map(|e| MessageMeta {
            uid: e.uid,
            flags: e.flags(),
            internal_date: e.date(),
            size: e.size,
            recent: !no_recent && self.recent.contains(e.uid),
        }));
        self.snapshot = snapshot;
        self.uid_validity = self.file_validity;
    }

    fn writable(&self) -> Result<(), StoreError> {
        if self.read_only {
            Err(StoreError::ReadOnly)
        } else {
            Ok(())
        }
    }

    /// Locks exclusively and brings `entries` up to date, for a write.
    fn lock_for_write(&mut self, create: bool) -> Result<Option<MailboxLock>, StoreError> {
        self.writable()?;
        let Some(lock) = self.lock(LockMode::Exclusive, create)? else {
            self.forget_file();
            return Ok(None);
        };
        self.refresh_locked(&lock, false)?;
        Ok(Some(lock))
    }

    fn keyword_set(&mut self, names: &[String]) -> Result<(KeywordSet, bool), StoreError> {
        let mut set = KeywordSet::EMPTY;
        let mut added = false;
        for n in names {
            let had = self.keywords.slot(n).is_some();
            let slot = self
                .keywords
                .slot_or_add(n)
                .ok_or(StoreError::TooManyKeywords)?;
            added |= !had;
            set = set.with(slot);
        }
        Ok((set, added))
    }

    /// The client form of a message: CRLF line ends, metadata headers and the trailing
    /// separator line left out, NUL sent as 0x80.
    fn client_bytes(&self, file: &File, e: &Entry) -> Result<Vec<u8>, StoreError> {
        let raw = read_range(file, e.start, e.end)?;
        let s = scan::scan_bytes(&raw, e.start, self.options.local_offset);
        let Some(m) = s.messages.first() else {
            return Ok(Vec::new());
        };
        let at = |r: u64| usize::try_from(r - e.start).unwrap_or(0).min(raw.len());
        // The pieces a client sees: the header without its metadata lines, then the body.
        let mut pieces: Vec<&[u8]> = Vec::with_capacity(m.status_lines.len() + 2);
        let mut pos = m.header.start;
        for st in &m.status_lines {
            pieces.push(&raw[at(pos)..at(st.range.start.max(pos))]);
            pos = pos.max(st.range.end);
        }
        pieces.push(&raw[at(pos)..at(m.header.end.max(pos))]);
        // The blank line that ends the header belongs to the header, even when it is also the
        // last line before the next message (c-client counts it so, and so does the scan).
        pieces.push(&raw[at(m.header.end)..at(m.body.start.max(m.header.end))]);
        let mut body = &raw[at(m.body.start.max(m.header.end))..at(m.body.end)];
        // The one trailing blank separator line is not part of the message.
        if let Some(without) = body.strip_suffix(b"\n") {
            let content = without.strip_suffix(b"\r").unwrap_or(without);
            if content.is_empty() || content.ends_with(b"\n") {
                body = content;
            }
        }
        pieces.push(body);
        let kept: usize = pieces.iter().map(|p| p.len()).sum();
        let mut out = Vec::with_capacity(kept + kept / 30 + 2);
        let mut prev = 0u8;
        for piece in pieces {
            crlf_extend(&mut out, piece, &mut prev);
        }
        nul_to_0x80(&mut out);
        Ok(out)
    }

    fn entry(&self, uid: Uid) -> Option<&Entry> {
        self.entries
            .binary_search_by_key(&uid, |e| e.uid)
            .ok()
            .map(|i| &self.entries[i])
    }

    fn in_snapshot(&self, uid: Uid) -> Option<usize> {
        self.snapshot.binary_search_by_key(&uid, |m| m.uid).ok()
    }

    /// Notes a failed operation: what we know may now differ from the file, so this handle
    /// never saves the index again.
    fn guard<T>(&mut self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(StoreError::Io { .. } | StoreError::Damaged(_) | StoreError::TooManyKeywords) =
            &r
        {
            self.index_broken = true;
        }
        r
    }

    fn do_read(
        &mut self,
        uid: Uid,
        range: Option<std::ops::Range<u64>>,
        out: &mut dyn io::Write,
    ) -> Result<u64, StoreError> {
        if self.in_snapshot(uid).is_none() {
            return Err(StoreError::NoSuchMessage(uid));
        }
        let Some(lock) = self.lock(LockMode::Shared, false)? else {
            return Err(StoreError::NoSuchMessage(uid));
        };
        self.refresh_locked(&lock, false)?;
        // Expunged by someone else since the snapshot: the client still sees it until the next
        // sync, so it gets what can be had (nothing).
        let Some(e) = self.entry(uid).copied() else {
            return Ok(0);
        };
        let bytes = self.client_bytes(lock.file(), &e)?;
        drop(lock);
        let len = bytes.len() as u64;
        let r = range.unwrap_or(0..len);
        let (a, b) = (r.start.min(len), r.end.min(len).max(r.start.min(len)));
        let part = &bytes[usize::try_from(a).unwrap_or(0)..usize::try_from(b).unwrap_or(0)];
        out.write_all(part).map_err(io_err("sending a message"))?;
        Ok(part.len() as u64)
    }

    fn do_read_batch(&mut self, uids: &[Uid]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let known: Vec<bool> = uids
            .iter()
            .map(|&u| self.in_snapshot(u).is_some())
            .collect();
        if !known.contains(&true) {
            return Ok(vec![None; uids.len()]);
        }
        let Some(lock) = self.lock(LockMode::Shared, false)? else {
            // The file is gone, as `do_read` answers it.
            return Ok(vec![None; uids.len()]);
        };
        self.refresh_locked(&lock, false)?;
        let mut all = Vec::with_capacity(uids.len());
        for (&uid, known) in uids.iter().zip(known) {
            all.push(match (known, self.entry(uid).copied()) {
                (false, _) => None,
                // Expunged by someone else since the snapshot, as in `do_read`.
                (true, None) => Some(Vec::new()),
                (true, Some(e)) => Some(self.client_bytes(lock.file(), &e)?),
            });
        }
        Ok(all)
    }

    fn do_store_flags(
        &mut self,
        uids: &[Uid],
        op: FlagOp,
        flags: SystemFlags,
        keywords: &[String],
    ) -> Result<(), StoreError> {
        let Some(lock) = self.lock_for_write(false)? else {
            return Ok(());
        };
        let (kw, table_grew) = self.keyword_set(keywords)?;
        let file = lock.file();
        let mut records = Vec::new();
        let mut misfits = None::<usize>;
        for uid in uids {
            let Ok(i) = self.entries.binary_search_by_key(uid, |e| e.uid) else {
                continue;
            };
            let old = self.entries[i].flags();
            let new = op.apply(old, flags, kw);
            if new == old {
                continue;
            }
            self.entries[i].set_flags(new);
            self.index_dirty = true;
            if let Some(s) = self.in_snapshot(*uid) {
                self.snapshot[s].flags = new;
            }
            let fitted = self.entries[i].block().and_then(|(at, len)| {
                let len = usize::try_from(len).ok()?;
                status::fit_block(len, new, &self.keywords, Some(*uid), self.file.ending)
                    .map(|b| (at, b))
            });
            match fitted {
                // A new keyword name means a rewrite from the top (the list is in the folder
                // data), under the journal; a block written in place before it would survive a
                // crash, naming a keyword the restored list lacks.
                Some((at, block)) if self.entries[i].stamped && !table_grew => {
                    file.write_all_at(&block, at)
                        .map_err(io_err("writing flags"))?;
                    records.push(*uid);
                }
                _ => misfits = Some(misfits.map_or(i, |m| m.min(i))),
            }
        }
        if table_grew {
            // The keyword list lives in the folder data at the top of the file.
            misfits = Some(0);
        }
        if let Some(from) = misfits {
            // Written in place so far; the rewrite carries every flag from `entries`.
            self.rewrite(&lock, from, &HashSet::new(), None)?;
            return Ok(());
        }
        if records.is_empty() {
            return Ok(());
        }
        file.sync_data().map_err(io_err("writing flags"))?;
        let stamp = FileStamp::of(file).map_err(io_err("examining the mailbox"))?;
        // The file as we knew it before these writes, unless a reader can tell from the log.
        let before = (!self.log_continuous).then(|| barrier(&self.file.stamp));
        let log: Vec<Record> = before
            .into_iter()
            .chain(
                records
                    .iter()
                    .filter_map(|u| self.entry(*u))
                    .map(|e| Record {
                        uid: e.uid,
                        flags: e.flags(),
                        len: stamp.len,
                        ctime: (stamp.ctime, u32::try_from(stamp.ctime_nsec).unwrap_or(0)),
                    }),
            )
            .collect();
        let log_path = self.paths.log();
        if std::fs::create_dir_all(&self.paths.private_dir).is_ok()
            && changelog::append(log_path.as_std_path(), &log).is_ok()
        {
            // Our own records are not news to us.
            let (len, id) = log_state(&log_path);
            self.file.log_pos = len / 32 * 32;
            self.file.log_id = id;
            self.log_continuous = true;
        }
        self.file.stamp = stamp;
        Ok(())
    }

    fn do_append(&mut self, messages: &[NewMessage<'_>]) -> Result<Vec<Uid>, StoreError> {
        let Some(lock) = self.lock_for_write(true)? else {
            return Err(StoreError::NonExistent);
        };
        let file = lock.file();
        let len = FileStamp::of(file)
            .map_err(io_err("examining the mailbox"))?
            .len;
        if len == 0 {
            self.file.ending = LineEnding::Lf;
        }
        let ending = self.file.ending;
        let mut tail = [0u8; write::TAIL_LEN];
        let tail_len = usize::try_from(len.min(write::TAIL_LEN as u64)).unwrap_or(0);
        let n = file
            .read_at(&mut tail[..tail_len], len - tail_len as u64)
            .map_err(io_err("reading the mailbox"))?;
        let mut out = write::separator_before(&tail[..n], len, ending).to_vec();
        let mut uids = Vec::new();
        let mut last = self.last_uid;
        let mut table = self.keywords.clone();
        for m in messages {
            last = last.checked_add(1).ok_or(StoreError::UidsExhausted)?;
            let uid = Uid::new(last).ok_or(StoreError::UidsExhausted)?;
            let mut kw = KeywordSet::EMPTY;
            for name in m.keywords {
                kw = kw.with(table.slot_or_add(name).ok_or(StoreError::TooManyKeywords)?);
            }
            let date = m.internal_date.unwrap_or_else(|| self.options.now_date());
            let sender = match m.envelope_sender {
                Some(s)
                    if !s.is_empty()
                        && !s
                            .iter()
                            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) =>
                {
                    String::from_utf8_lossy(s).into_owned()
                }
                _ => self.options.sender.clone(),
            };
            out.extend_from_slice(from_line::append_line(&sender, date).as_bytes());
            out.extend_from_slice(ending.as_bytes());
            let mut block = Vec::new();
            status::write_block(
                &mut block,
                Flags {
                    system: m.flags,
                    keywords: kw,
                },
                &table,
                Some(uid),
                ending,
            );
            out.extend_from_slice(&write::encode(m.bytes, ending, Some(&block)).bytes);
            uids.push(uid);
        }
        let keywords_grew = table.names().len() != self.keywords.names().len();
        if len == 0 {
            // A new or emptied file starts with the pseudo-message, so that UIDVALIDITY and the
            // last UID live in the file (as CREATE's files do).
            let data = FolderData {
                uid_validity: self.file_validity,
                last_uid: Uid::new(last),
                keywords: table.clone(),
            };
            let mut head = Vec::new();
            pseudo::write(
                &mut head,
                &data,
                self.options.now_date(),
                &self.options.host,
                ending,
            );
            head.extend_from_slice(&out);
            out = head;
        }
        // The last-UID field goes with the messages, under one fsync: a field ahead of the
        // messages (a crash between the two writes) only skips UIDs, and one behind is raised
        // by the next reader from the X-UIDs.
        let patch = if len == 0 || keywords_grew {
            None
        } else {
            let saved = self.last_uid;
            self.last_uid = last;
            let patch = self.last_uid_patch(file);
            self.last_uid = saved;
            patch?
        };
        let result = (|| {
            file.write_all_at(&out, len)?;
            if let Some((at, digits)) = patch {
                file.write_all_at(&digits, at)?;
            }
            file.sync_data()
        })();
        if let Err(e) = result {
            let _ = file.set_len(len);
            let _ = file.sync_data();
            return Err(io_err("appending to the mailbox")(e));
        }
        self.keywords = table;
        self.last_uid = last;
        if len == 0 {
            let stamp = FileStamp::of(file).map_err(io_err("examining the mailbox"))?;
            self.entries.clear();
            self.scan_all(&lock, stamp)?;
            self.save_remembered();
            return Ok(uids);
        }
        // Learn the appended messages' layout from what was written.
        let scan = scan::scan_bytes(&out, len, self.options.local_offset);
        let assigned: Vec<Option<uids::Assigned>> = uids
            .iter()
            .map(|u| {
                Some(uids::Assigned {
                    uid: *u,
                    stamp: false,
                })
            })
            .collect();
        if scan.messages.len() == uids.len() && scan.messages.iter().all(|m| !m.pseudo) {
            self.take_messages(&scan, &assigned);
            self.file.stamp = FileStamp::of(file).map_err(io_err("examining the mailbox"))?;
            self.settle(file)?;
        } else {
            self.refresh_locked(&lock, true)?;
        }
        if keywords_grew {
            self.rewrite(&lock, 0, &HashSet::new(), None)?;
        } else {
            self.write_last_uid(file)?;
        }
        self.save_remembered();
        Ok(uids)
    }

    fn do_export(&mut self, uids: &[Uid]) -> Result<Vec<Exported>, StoreError> {
        let Some(lock) = self.lock(LockMode::Shared, false)? else {
            return Err(StoreError::NonExistent);
        };
        self.refresh_locked(&lock, false)?;
        let mut out = Vec::with_capacity(uids.len());
        for uid in uids {
            let e = *self.entry(*uid).ok_or(StoreError::NoSuchMessage(*uid))?;
            let bytes = self.client_bytes(lock.file(), &e)?;
            let head = read_range(lock.file(), e.start, e.end.min(e.start + 1024))?;
            let line_end = head.iter().position(|b| *b == b'\n').unwrap_or(head.len());
            let sender = from_line::parse(&head[..line_end], &self.options.local_offset)
                .map(|f| f.sender.to_vec());
            let flags = e.flags();
            out.push(Exported {
                bytes,
                flags: flags.system,
                keywords: flags
                    .keywords
                    .slots()
                    .filter_map(|s| self.keywords.name(s).map(str::to_owned))
                    .collect(),
                internal_date: e.date(),
                envelope_sender: sender,
            });
        }
        Ok(out)
    }

    fn do_expunge(&mut self, only: Option<&[Uid]>) -> Result<Vec<Uid>, StoreError> {
        let Some(lock) = self.lock_for_write(false)? else {
            return Ok(Vec::new());
        };
        let only: Option<HashSet<Uid>> = only.map(|o| o.iter().copied().collect());
        let gone: Vec<Uid> = self
            .entries
            .iter()
            .filter(|e| e.flags().system.contains(SystemFlags::DELETED))
            .filter(|e| only.as_ref().is_none_or(|o| o.contains(&e.uid)))
            .map(|e| e.uid)
            .collect();
        let drop: HashSet<Uid> = gone.iter().copied().collect();
        let Some(first) = self.entries.iter().position(|e| drop.contains(&e.uid)) else {
            return Ok(Vec::new());
        };
        self.rewrite(&lock, first, &drop, None)?;
        Ok(gone)
    }

    fn do_sync(&mut self) -> Result<Changes, StoreError> {
        // Keyword names are only ever added, so a longer table is news.
        let keywords_before = Mailbox::keywords(self).names().len();
        self.refresh(false)?;
        let mut changes = Changes {
            uid_validity_changed: self.validity_changed,
            keywords_changed: Mailbox::keywords(self).names().len() != keywords_before,
            ..Changes::default()
        };
        self.validity_changed = false;
        if changes.uid_validity_changed {
            changes.expunged = self.snapshot.iter().map(|m| m.uid).collect();
            changes.added = self.entries.len();
            self.rebuild_snapshot();
        } else if !self.structure_changed {
            // Only flags can have changed, and only those the change log named.
            let mut touched = std::mem::take(&mut self.touched);
            touched.sort_unstable();
            touched.dedup();
            for uid in &touched {
                let (Some(e), Some(s)) = (self.entry(*uid).copied(), self.in_snapshot(*uid)) else {
                    continue;
                };
                if self.snapshot[s].flags != e.flags() {
                    self.snapshot[s].flags = e.flags();
                    changes.flags_changed.push(*uid);
                }
            }
            touched.clear();
            self.touched = touched;
        } else {
            // Both in ascending UID order: one walk.
            let max_before = self.snapshot.last().map(|m| m.uid);
            let mut j = 0;
            for m in &self.snapshot {
                while self.entries.get(j).is_some_and(|e| e.uid < m.uid) {
                    j += 1;
                }
                match self.entries.get(j).filter(|e| e.uid == m.uid) {
                    None => changes.expunged.push(m.uid),
                    Some(e) if e.flags() != m.flags => changes.flags_changed.push(m.uid),
                    Some(_) => {}
                }
            }
            changes.added = match max_before {
                Some(b) => self.entries.len() - self.entries.partition_point(|e| e.uid <= b),
                None => self.entries.len(),
            };
            self.rebuild_snapshot();
        }
        self.structure_changed = false;
        self.touched.clear();
        Ok(changes)
    }
}

/// What SELECT and STATUS report of a mailbox, from its private index alone
/// ([`MboxMailbox::quick_status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuickStatus {
    /// Messages.
    pub messages: u64,
    /// Messages \Recent (always 0 from the index).
    pub recent: u64,
    /// Messages without \Seen.
    pub unseen: u64,
    /// The sequence number of the first message without \Seen.
    pub first_unseen: Option<u64>,
    /// UIDNEXT.
    pub uid_next: Uid,
    /// UIDVALIDITY.
    pub uid_validity: UidValidity,
}

impl Drop for MboxMailbox {
    /// Saves the private index if what this handle knows is newer than it (best effort).
    fn drop(&mut self) {
        self.save_index();
    }
}

impl Mailbox for MboxMailbox {
    fn uid_validity(&self) -> UidValidity {
        self.uid_validity
    }

    fn uid_next(&self) -> Uid {
        Uid::new(self.last_uid.saturating_add(1)).unwrap_or(Uid::MAX)
    }

    fn keywords(&self) -> &KeywordTable {
        &self.keywords
    }

    fn is_read_only(&self) -> bool {
        self.read_only
    }

    fn messages(&self) -> &[MessageMeta] {
        &self.snapshot
    }

    fn read(
        &mut self,
        uid: Uid,
        range: Option<std::ops::Range<u64>>,
        out: &mut dyn io::Write,
    ) -> Result<u64, StoreError> {
        let r = self.do_read(uid, range, out);
        self.guard(r)
    }

    fn read_batch(&mut self, uids: &[Uid]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let r = self.do_read_batch(uids);
        self.guard(r)
    }

    fn store_flags(
        &mut self,
        uids: &[Uid],
        op: FlagOp,
        flags: SystemFlags,
        keywords: &[String],
    ) -> Result<(), StoreError> {
        let r = self.do_store_flags(uids, op, flags, keywords);
        self.guard(r)
    }

    fn append(&mut self, messages: &[NewMessage<'_>]) -> Result<Vec<Uid>, StoreError> {
        let r = self.do_append(messages);
        self.guard(r)
    }

    fn export(&mut self, uids: &[Uid]) -> Result<Vec<Exported>, StoreError> {
        let r = self.do_export(uids);
        self.guard(r)
    }

    fn expunge(&mut self, only: Option<&[Uid]>) -> Result<Vec<Uid>, StoreError> {
        let r = self.do_expunge(only);
        self.guard(r)
    }

    fn sync(&mut self) -> Result<Changes, StoreError> {
        let r = self.do_sync();
        self.guard(r)
    }
}

/// The initial contents of a new mailbox file: a pseudo-message with a new UIDVALIDITY
/// (mailbox-formats.md §4: "New mailbox files start with a pseudo-message").
///
/// ```
/// use dmail_store::mbox::engine::{new_mailbox_bytes, MboxOptions};
/// let b = new_mailbox_bytes(&MboxOptions::new("bob", "localhost"));
/// assert!(b.starts_with(b"From MAILER-DAEMON "));
/// ```
pub fn new_mailbox_bytes(options: &MboxOptions) -> Vec<u8> {
    let now = options.now_date();
    let validity = UidValidity::new(u32::try_from(now.unix.max(1)).unwrap_or(u32::MAX))
        .unwrap_or(UidValidity::MIN);
    let data = FolderData {
        uid_validity: validity,
        last_uid: None,
        keywords: KeywordTable::default(),
    };
    let mut out = Vec::new();
    pseudo::write(&mut out, &data, now, &options.host, LineEnding::Lf);
    out
}

/// The path of a mailbox's private directory inside a folder directory.
///
/// ```
/// assert_eq!(dmail_store::mbox::engine::private_dir("/s/bob.mbx".into()), "/s/bob.mbx/.imapd");
/// ```
pub fn private_dir(folder_dir: &Utf8Path) -> Utf8PathBuf {
    folder_dir.join(".imapd")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(n: u32) -> Uid {
        Uid::new(n).unwrap_or(Uid::MAX)
    }

    #[test]
    fn uid_runs_hold_any_order_compactly() {
        let mut r = UidRuns::default();
        for n in (10..=20).chain([5, 30, 7, 6, 12, 21, 1]) {
            r.insert(uid(n));
        }
        for n in 1..=40 {
            let want = matches!(n, 1 | 5..=7 | 10..=21 | 30);
            assert_eq!(r.contains(uid(n)), want, "{n}");
        }
        assert!(r.0.windows(2).all(|w| w[0].1 < w[1].0), "{:?}", r.0);
        let mut one = UidRuns::default();
        for n in 1..=100_000 {
            one.insert(uid(n));
        }
        assert_eq!(one.0, [(1, 100_000)], "consecutive UIDs are one run");
        one.clear();
        assert!(!one.contains(uid(1)));
    }
}
