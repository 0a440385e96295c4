//! The mbox engine proper: one open mailbox file, shared safely with other handles, DSMTP and
//! DPOP (mailbox-formats.md §1–3).
//!
//! It owns the sequence of operations — lock, recover, notice foreign changes, scan, assign UIDs,
//! stamp, write flags in place, append, rewrite — and the snapshot a client sees. Byte formats
//! belong to the reader and writer modules beside it. It holds locks only for the I/O of one
//! call, never between calls, and must never rewrite a file holding bytes it did not understand.

use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;

use camino::{Utf8Path, Utf8PathBuf};

use crate::lock::{LockError, LockMode, LockOptions, MailboxLock};
use crate::mbox::changelog::{self, FileStamp, Record};
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
}

/// One message as the engine tracks it in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    start: u64,
    end: u64,
    /// The contiguous status block (offset, length), for in-place flag writes.
    block: Option<(u64, u64)>,
    uid: Uid,
    flags: Flags,
    size: u64,
    date: Option<InternalDate>,
    /// Whether the file holds this UID (`X-UID` accepted).
    stamped: bool,
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
    recent: HashSet<Uid>,
    /// A UIDVALIDITY change not yet reported by `sync`.
    validity_changed: bool,
    /// Whether `file_validity` and `last_uid` are known (from the file, the private data, or an
    /// earlier look), so that a file that lost them keeps its UIDs going.
    known: bool,
    /// What the private data holds, to write it only when it changes.
    saved: Option<(UidValidity, u32)>,
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

/// Chunk size for scanning a file.
const CHUNK: usize = 1 << 20;

fn scan_file(
    file: &File,
    from: u64,
    to: u64,
    local_offset: fn(i64) -> i16,
) -> Result<Scan, StoreError> {
    let mut scanner = scan::Scanner::new(from, local_offset);
    let mut buf = vec![0u8; CHUNK];
    let mut pos = from;
    while pos < to {
        let want = usize::try_from((to - pos).min(CHUNK as u64)).unwrap_or(CHUNK);
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

impl MboxMailbox {
    /// Opens a mailbox file. A missing or empty file is an empty mailbox (c-client's INBOX
    /// rule). Read-write handles stamp unstamped messages before reporting them.
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
    /// ```
    pub fn open(
        paths: MboxPaths,
        read_only: bool,
        options: MboxOptions,
    ) -> Result<MboxMailbox, StoreError> {
        let now = (options.now)();
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
            recent: HashSet::new(),
            validity_changed: false,
            known: false,
            saved: None,
        };
        if let Some((validity, last)) = mbox.load_remembered() {
            mbox.file_validity = validity;
            mbox.last_uid = last;
            mbox.known = true;
            mbox.saved = Some((validity, last));
        }
        mbox.refresh(true)?;
        mbox.validity_changed = false;
        mbox.rebuild_snapshot();
        Ok(mbox)
    }

    /// Locks the file for one operation; `None` when it does not exist (and `create` is false).
    fn lock(&self, mode: LockMode, create: bool) -> Result<Option<MailboxLock>, StoreError> {
        let mut open = OpenOptions::new();
        open.read(true);
        if mode == LockMode::Exclusive {
            open.write(true).create(create);
        }
        match MailboxLock::acquire(&self.paths.file, &open, mode, &self.options.lock) {
            Ok(l) => Ok(Some(l)),
            Err(LockError::Open { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                Ok(None)
            }
            Err(e) => Err(lock_err(e)),
        }
    }

    /// Brings `entries` up to date with the file (taking the locks itself). With `full`, the
    /// whole file is scanned.
    fn refresh(&mut self, full: bool) -> Result<(), StoreError> {
        // A journal left by a crash must be applied before anyone reads: that needs write access.
        let journal_present = self.paths.journal().exists();
        let mode = if self.read_only && !journal_present {
            LockMode::Shared
        } else {
            LockMode::Exclusive
        };
        let Some(lock) = self.lock(mode, false)? else {
            self.forget_file();
            return Ok(());
        };
        self.refresh_locked(&lock, full)
    }

    /// UIDVALIDITY and the last UID as the private data remembers them.
    fn load_remembered(&self) -> Option<(UidValidity, u32)> {
        let text = std::fs::read_to_string(self.paths.uids()).ok()?;
        let mut words = text.split_whitespace();
        let validity = UidValidity::new(words.next()?.parse().ok()?)?;
        let last = words.next()?.parse().ok()?;
        Some((validity, last))
    }

    /// Records UIDVALIDITY and the last UID in the private data when they changed, so that a
    /// burst or rewrite by DPOP that drops the pseudo-message does not renew UIDVALIDITY
    /// (mailbox-formats.md §1). Best effort: without it, clients at worst resynchronise.
    fn save_remembered(&mut self) {
        let now = (self.file_validity, self.last_uid);
        if self.read_only || !self.known || self.saved == Some(now) {
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

    /// The file is gone (or empty): every message is expunged; UIDVALIDITY and the last UID are
    /// kept, so that new mail continues the UIDs (mailbox-formats.md §1).
    fn forget_file(&mut self) {
        self.entries.clear();
        self.file = FileState {
            log_pos: self.file.log_pos,
            ..FileState::default()
        };
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
        if !full && stamp == self.file.stamp {
            return Ok(());
        }
        if !full && self.apply_log(&stamp)? {
            return Ok(());
        }
        let grew = !full
            && stamp.ino == self.file.stamp.ino
            && stamp.dev == self.file.stamp.dev
            && stamp.len > self.file.stamp.len
            && self.prefix_intact(file)?;
        if grew {
            self.scan_tail(lock, stamp)
        } else {
            self.scan_all(lock, stamp)
        }
    }

    /// Reads other handles' flag writes from the change log; true when they explain the file's
    /// present state (nothing else changed).
    fn apply_log(&mut self, stamp: &FileStamp) -> Result<bool, StoreError> {
        let log = self.paths.log();
        let Some((records, pos)) = changelog::read_from(log.as_std_path(), self.file.log_pos)
            .map_err(io_err("reading the change log"))?
        else {
            return Ok(false);
        };
        self.file.log_pos = pos;
        let Some(last) = records.last() else {
            return Ok(false);
        };
        if !last.explains(stamp) || stamp.ino != self.file.stamp.ino {
            return Ok(false);
        }
        for r in &records {
            if let Some(e) = self.entries.iter_mut().find(|e| e.uid == r.uid) {
                e.flags = r.flags;
            }
        }
        self.file.stamp = *stamp;
        Ok(true)
    }

    /// Whether the bytes we know are still where we left them: the file still ends our last
    /// message where we think, and the next byte starts a From line.
    fn prefix_intact(&self, file: &File) -> Result<bool, StoreError> {
        let end = self.file.stamp.len;
        let Some(last) = self.entries.last() else {
            return Ok(self.file.pseudo.is_some_and(|(_, e)| e == end) || end == 0);
        };
        if last.end != end {
            return Ok(false);
        }
        let head = read_range(file, last.start, last.start + 5)?;
        let mut next = vec![0u8; 5];
        let n = file
            .read_at(&mut next, end)
            .map_err(io_err("reading the mailbox"))?;
        Ok(head == b"From " && n == 5 && next == b"From ")
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
            log_pos: changelog::end(self.paths.log().as_std_path()).unwrap_or(0),
        };
        self.entries = Vec::with_capacity(scan.messages.len());
        self.take_messages(&scan, &plan.uids);
        self.stamp_if_needed(lock)
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
        self.stamp_if_needed(lock)
    }

    fn take_messages(&mut self, scan: &Scan, uids: &[Option<uids::Assigned>]) {
        for (m, assigned) in scan.messages.iter().zip(uids) {
            let Some(a) = assigned else { continue };
            self.entries.push(Entry {
                start: m.start(),
                end: m.end(),
                block: m.status_block.as_ref().map(|r| (r.start, r.end - r.start)),
                uid: a.uid,
                flags: m.flags(&self.keywords),
                size: m.size,
                date: m.internal_date,
                stamped: !a.stamp,
            });
        }
    }

    /// Read-write handles write X-UIDs for messages that lack them before any client sees the
    /// UIDs; read-only handles keep the numbering in memory.
    fn stamp_if_needed(&mut self, lock: &MailboxLock) -> Result<(), StoreError> {
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
        self.rewrite(lock, first, &HashSet::new())?;
        self.recent.extend(newly);
        Ok(())
    }

    /// Updates the padded last-UID field of the folder data in place, if it lags.
    fn write_last_uid(&mut self, file: &File) -> Result<(), StoreError> {
        let Some((start, end)) = self.file.last_uid_field else {
            return Ok(());
        };
        let digits = pseudo::last_uid_digits(Uid::new(self.last_uid));
        let current = read_range(file, start, end)?;
        if current == digits || end - start != digits.len() as u64 {
            return Ok(());
        }
        file.write_all_at(&digits, start)
            .map_err(io_err("writing the folder data"))?;
        file.sync_data()
            .map_err(io_err("writing the folder data"))?;
        self.file.stamp = FileStamp::of(file).map_err(io_err("examining the mailbox"))?;
        Ok(())
    }

    /// Rewrites the file from message `from` on (or from the start, to put a pseudo-message at
    /// the top): status blocks with X-UIDs for every message, the messages in `drop` left out.
    /// Crash-safe through the undo journal; the inode is kept.
    fn rewrite(
        &mut self,
        lock: &MailboxLock,
        from: usize,
        drop: &HashSet<Uid>,
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
        let old = read_range(file, start, old_len)?;
        let ending = self.file.ending;
        let mut out = Vec::with_capacity(old.len() + (self.entries.len() - from) * 80 + 600);
        let last_uid = Uid::new(self.last_uid);
        let field = if from_top {
            let data = FolderData {
                uid_validity: self.file_validity,
                last_uid,
                keywords: self.keywords.clone(),
            };
            Some(pseudo::write(
                &mut out,
                &data,
                self.options.now_date(),
                &self.options.host,
                ending,
            ))
        } else {
            None
        };
        let rescan_local = self.options.local_offset;
        let old_scan = scan::scan_bytes(&old, start, rescan_local);
        let by_start: BTreeMap<u64, &scan::Message> =
            old_scan.messages.iter().map(|m| (m.start(), m)).collect();
        for e in &self.entries[from..] {
            if drop.contains(&e.uid) {
                continue;
            }
            let Some(m) = by_start.get(&e.start) else {
                return Err(StoreError::Damaged(
                    "the mailbox changed during a rewrite".into(),
                ));
            };
            self.write_message(&mut out, &old, start, m, e, ending);
        }
        let new_len = start + out.len() as u64;
        let journal = Journal::begin(
            self.paths.journal().as_std_path(),
            file,
            old_len,
            new_len,
            &[(start, old_len - start)],
        )
        .map_err(io_err("writing the undo journal"))?;
        crate::failpoint::hit("rewrite:journaled");
        let result = (|| {
            // Written in two halves so that a crash can land between them.
            let half = out.len() / 2;
            file.write_all_at(&out[..half], start)?;
            crate::failpoint::hit("rewrite:half-written");
            file.write_all_at(&out[half..], start + half as u64)?;
            crate::failpoint::hit("rewrite:written");
            file.set_len(new_len)?;
            crate::failpoint::hit("rewrite:truncated");
            file.sync_all()
        })();
        crate::failpoint::hit("rewrite:synced");
        if let Err(e) = result {
            // Put the old bytes back now rather than at the next open.
            let _ = journal::recover(self.paths.journal().as_std_path(), file);
            return Err(io_err("rewriting the mailbox")(e));
        }
        journal
            .commit()
            .map_err(io_err("finishing the undo journal"))?;
        crate::failpoint::hit("rewrite:committed");
        // Learn the new layout from what was written.
        let new_scan = scan::scan_bytes(&out, start, rescan_local);
        let kept: Vec<Entry> = self.entries[from..]
            .iter()
            .filter(|e| !drop.contains(&e.uid))
            .copied()
            .collect();
        self.entries.truncate(from);
        let mut kept = kept.into_iter();
        for m in new_scan.messages.iter().filter(|m| !m.pseudo) {
            let Some(mut e) = kept.next() else { break };
            e.start = m.start();
            e.end = m.end();
            e.block = m.status_block.as_ref().map(|r| (r.start, r.end - r.start));
            e.size = m.size;
            e.stamped = true;
            self.entries.push(e);
        }
        if from_top {
            self.file.pseudo = new_scan
                .messages
                .first()
                .filter(|m| m.pseudo)
                .map(|m| (m.start(), m.end()));
            self.file.last_uid_field = field.map(|r| (r.start as u64, r.end as u64));
        } else if let Some((a, b)) = self.file.last_uid_field {
            if a >= start {
                self.file.last_uid_field = None;
            } else {
                self.file.last_uid_field = Some((a, b));
            }
        }
        self.file.stamp = FileStamp::of(file).map_err(io_err("examining the mailbox"))?;
        self.write_last_uid(file)
    }

    /// One message in stored form: From line, header without metadata lines, our status block,
    /// blank line, body (which carries the separator line).
    fn write_message(
        &self,
        out: &mut Vec<u8>,
        old: &[u8],
        base: u64,
        m: &scan::Message,
        e: &Entry,
        ending: LineEnding,
    ) {
        let at = |r: u64| usize::try_from(r - base).unwrap_or(0).min(old.len());
        out.extend_from_slice(&old[at(m.from_line.start)..at(m.from_line.end)]);
        let mut pos = m.header.start;
        for s in &m.status_lines {
            out.extend_from_slice(&old[at(pos)..at(s.range.start.max(pos))]);
            pos = pos.max(s.range.end);
        }
        out.extend_from_slice(&old[at(pos)..at(m.header.end.max(pos))]);
        // A header without its final line end (it ran to the end of the file) gets one.
        if out.last().is_some_and(|b| *b != b'\n') {
            out.extend_from_slice(ending.as_bytes());
        }
        status::write_block(out, e.flags, &self.keywords, Some(e.uid), ending);
        if m.body.start > m.header.end {
            // The blank line and the body, as they are.
            out.extend_from_slice(&old[at(m.header.end)..at(m.body.end)]);
        } else {
            out.extend_from_slice(ending.as_bytes());
        }
        // Keep the next From line at the start of a line after a blank line.
        let sep = write::separator_before(
            &out[out.len().saturating_sub(write::TAIL_LEN)..],
            out.len() as u64,
            ending,
        );
        out.extend_from_slice(sep);
    }

    fn rebuild_snapshot(&mut self) {
        self.snapshot = self
            .entries
            .iter()
            .map(|e| MessageMeta {
                uid: e.uid,
                flags: e.flags,
                internal_date: e.date,
                size: e.size,
                recent: self.recent.contains(&e.uid),
            })
            .collect();
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
        let mut kept = Vec::with_capacity(raw.len());
        let mut pos = m.header.start;
        for st in &m.status_lines {
            kept.extend_from_slice(&raw[at(pos)..at(st.range.start.max(pos))]);
            pos = pos.max(st.range.end);
        }
        kept.extend_from_slice(&raw[at(pos)..at(m.header.end.max(pos))]);
        let mut body = &raw[at(m.header.end)..at(m.body.end)];
        // The one trailing blank separator line is not part of the message.
        if let Some(without) = body.strip_suffix(b"\n") {
            let content = without.strip_suffix(b"\r").unwrap_or(without);
            if content.is_empty() || content.ends_with(b"\n") {
                body = content;
            }
        }
        kept.extend_from_slice(body);
        let mut out = Vec::with_capacity(kept.len() + kept.len() / 30 + 2);
        let mut prev = 0u8;
        for &b in &kept {
            if b == b'\n' && prev != b'\r' {
                out.push(b'\r');
            }
            out.push(if b == 0 { 0x80 } else { b });
            prev = b;
        }
        Ok(out)
    }

    fn entry(&self, uid: Uid) -> Option<&Entry> {
        self.entries
            .binary_search_by_key(&uid, |e| e.uid)
            .ok()
            .map(|i| &self.entries[i])
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
        if !self.snapshot.iter().any(|m| m.uid == uid) {
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

    fn store_flags(
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
            let old = self.entries[i].flags;
            let new = match op {
                FlagOp::Set => Flags {
                    system: flags,
                    keywords: kw,
                },
                FlagOp::Add => Flags {
                    system: old.system | flags,
                    keywords: KeywordSet::from_bits(old.keywords.bits() | kw.bits()),
                },
                FlagOp::Remove => Flags {
                    system: old.system.remove(flags),
                    keywords: KeywordSet::from_bits(old.keywords.bits() & !kw.bits()),
                },
            };
            if new == old {
                continue;
            }
            self.entries[i].flags = new;
            if let Some(m) = self.snapshot.iter_mut().find(|m| m.uid == *uid) {
                m.flags = new;
            }
            let fitted = self.entries[i].block.and_then(|(at, len)| {
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
            self.rewrite(&lock, from, &HashSet::new())?;
            return Ok(());
        }
        if records.is_empty() {
            return Ok(());
        }
        file.sync_data().map_err(io_err("writing flags"))?;
        let stamp = FileStamp::of(file).map_err(io_err("examining the mailbox"))?;
        let log: Vec<Record> = records
            .iter()
            .filter_map(|u| self.entry(*u))
            .map(|e| Record {
                uid: e.uid,
                flags: e.flags,
                len: stamp.len,
                ctime: (stamp.ctime, u32::try_from(stamp.ctime_nsec).unwrap_or(0)),
            })
            .collect();
        if std::fs::create_dir_all(&self.paths.private_dir).is_ok()
            && changelog::append(self.paths.log().as_std_path(), &log).is_ok()
        {
            // Our own records are not news to us.
            self.file.log_pos =
                changelog::end(self.paths.log().as_std_path()).unwrap_or(self.file.log_pos);
        }
        self.file.stamp = stamp;
        Ok(())
    }

    fn append(&mut self, messages: &[NewMessage<'_>]) -> Result<Vec<Uid>, StoreError> {
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
        let result = (|| {
            file.write_all_at(&out, len)?;
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
        } else {
            self.refresh_locked(&lock, true)?;
        }
        if keywords_grew {
            self.rewrite(&lock, 0, &HashSet::new())?;
        } else {
            self.write_last_uid(file)?;
        }
        self.save_remembered();
        Ok(uids)
    }

    fn export(&mut self, uids: &[Uid]) -> Result<Vec<Exported>, StoreError> {
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
            out.push(Exported {
                bytes,
                flags: e.flags.system,
                keywords: e
                    .flags
                    .keywords
                    .slots()
                    .filter_map(|s| self.keywords.name(s).map(str::to_owned))
                    .collect(),
                internal_date: e.date,
                envelope_sender: sender,
            });
        }
        Ok(out)
    }

    fn expunge(&mut self, only: Option<&[Uid]>) -> Result<Vec<Uid>, StoreError> {
        let Some(lock) = self.lock_for_write(false)? else {
            return Ok(Vec::new());
        };
        let gone: Vec<Uid> = self
            .entries
            .iter()
            .filter(|e| e.flags.system.contains(SystemFlags::DELETED))
            .filter(|e| only.is_none_or(|o| o.contains(&e.uid)))
            .map(|e| e.uid)
            .collect();
        let Some(first) = self.entries.iter().position(|e| gone.contains(&e.uid)) else {
            return Ok(Vec::new());
        };
        let drop: HashSet<Uid> = gone.iter().copied().collect();
        self.rewrite(&lock, first, &drop)?;
        Ok(gone)
    }

    fn sync(&mut self) -> Result<Changes, StoreError> {
        self.refresh(false)?;
        let mut changes = Changes {
            uid_validity_changed: self.validity_changed,
            ..Changes::default()
        };
        self.validity_changed = false;
        if changes.uid_validity_changed {
            changes.expunged = self.snapshot.iter().map(|m| m.uid).collect();
            changes.added = self.entries.len();
        } else {
            let max_before = self.snapshot.last().map(|m| m.uid);
            for m in &self.snapshot {
                match self.entry(m.uid) {
                    None => changes.expunged.push(m.uid),
                    Some(e) if e.flags != m.flags => changes.flags_changed.push(m.uid),
                    Some(_) => {}
                }
            }
            changes.added = self
                .entries
                .iter()
                .filter(|e| max_before.is_none_or(|b| e.uid > b))
                .count();
        }
        let before = self.snapshot.len();
        let _ = before;
        self.rebuild_snapshot();
        Ok(changes)
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
