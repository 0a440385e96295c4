//! An in-memory mailbox implementing [`Mailbox`]: the reference model that the mbox engine is
//! checked against, and a store for protocol tests that need no files.
//!
//! Handles made with [`MemoryMailbox::open_handle`] share one mailbox and learn of each other's
//! changes through `sync`, as handles on one mbox file do; [`MemoryStore`] is a whole user's
//! namespace of such mailboxes. Where the two kinds of store could differ, the mbox engine is the
//! reference and this module follows it (the conformance suite in `tests/conformance.rs` checks
//! both). It must never touch the file system.

mod store;

pub use store::MemoryStore;

use std::sync::{Arc, Mutex, MutexGuard};

use crate::store::{Changes, Exported, FlagOp, Mailbox, MessageMeta, NewMessage, StoreError};
use crate::{Flags, InternalDate, KeywordSet, KeywordTable, SystemFlags, Uid, UidValidity};

#[derive(Clone, Debug)]
struct Stored {
    meta: MessageMeta,
    /// The message in client (CRLF) form.
    bytes: Vec<u8>,
    envelope_sender: Option<Vec<u8>>,
    /// Delivered from outside and not yet seen by a read-write handle: the first one to see it
    /// reports it `\Recent`, as the mbox handle that stamps an X-UID does.
    unclaimed: bool,
}

#[derive(Debug)]
struct Shared {
    uid_validity: UidValidity,
    last_uid: u32,
    keywords: KeywordTable,
    /// In ascending UID order.
    messages: Vec<Stored>,
    /// Mail arrived since the mailbox was last opened (LIST's `\Marked`).
    marked: bool,
}

/// A mailbox shared between handles, as [`MemoryStore`] keeps it.
type SharedMailbox = Arc<Mutex<Shared>>;

/// One handle on a shared in-memory mailbox.
///
/// ```
/// use dmail_store::mem::MemoryMailbox;
/// use dmail_store::store::{Mailbox, NewMessage};
/// use dmail_store::SystemFlags;
/// let mut a = MemoryMailbox::new(1000);
/// let mut b = a.open_handle();
/// let uids = a.append(&[NewMessage { bytes: b"Subject: x\r\n\r\nhi\r\n", flags: SystemFlags::EMPTY,
///     keywords: &[], internal_date: None, envelope_sender: None }]).unwrap();
/// assert_eq!(uids[0].get(), 1);
/// assert_eq!(b.sync().unwrap().added, 1);
/// assert_eq!(b.messages().len(), 1);
/// ```
#[derive(Debug)]
pub struct MemoryMailbox {
    shared: Arc<Mutex<Shared>>,
    snapshot: Vec<MessageMeta>,
    keywords: KeywordTable,
    uid_next: Uid,
    read_only: bool,
    /// The UIDs this handle reports as `\Recent`, ascending.
    recent: Vec<Uid>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panic while holding the lock leaves consistent data (every change is one assignment or
    // push after its checks), so a poisoned lock is still usable.
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MemoryMailbox {
    /// A new, empty mailbox with this UIDVALIDITY (0 is taken as 1).
    pub fn new(uid_validity: u32) -> MemoryMailbox {
        MemoryMailbox::attach(new_shared(uid_validity), false)
    }

    /// A handle on `shared` with a fresh snapshot; opening counts as reading the mailbox, so it
    /// is no longer `\Marked`.
    fn attach(shared: SharedMailbox, read_only: bool) -> MemoryMailbox {
        let mut mailbox = MemoryMailbox {
            shared,
            snapshot: Vec::new(),
            keywords: KeywordTable::default(),
            uid_next: Uid::MIN,
            read_only,
            recent: Vec::new(),
        };
        let shared = Arc::clone(&mailbox.shared);
        let mut s = lock(&shared);
        s.marked = false;
        mailbox.take_snapshot(&mut s);
        drop(s);
        mailbox
    }

    /// Rebuilds the snapshot from `s`. A read-write handle first claims the messages no
    /// read-write handle has seen, which makes them `\Recent` for it alone.
    fn take_snapshot(&mut self, s: &mut Shared) {
        if !self.read_only {
            for m in s.messages.iter_mut().filter(|m| m.unclaimed) {
                m.unclaimed = false;
                self.recent.push(m.meta.uid);
            }
        }
        self.recent
            .retain(|u| s.messages.binary_search_by_key(u, |m| m.meta.uid).is_ok());
        let recent = &self.recent;
        self.snapshot = s
            .messages
            .iter()
            .map(|m| MessageMeta {
                recent: recent.binary_search(&m.meta.uid).is_ok(),
                ..m.meta
            })
            .collect();
        self.keywords = s.keywords.clone();
        self.uid_next = uid_after(s.last_uid);
    }

    /// Another read-write handle on the same mailbox, with a fresh snapshot.
    pub fn open_handle(&self) -> MemoryMailbox {
        MemoryMailbox::attach(Arc::clone(&self.shared), false)
    }

    /// A read-only handle on the same mailbox.
    pub fn open_read_only(&self) -> MemoryMailbox {
        MemoryMailbox::attach(Arc::clone(&self.shared), true)
    }

    fn writable(&self) -> Result<(), StoreError> {
        if self.read_only {
            Err(StoreError::ReadOnly)
        } else {
            Ok(())
        }
    }
}

/// A new, empty shared mailbox with this UIDVALIDITY (0 is taken as 1).
fn new_shared(uid_validity: u32) -> SharedMailbox {
    Arc::new(Mutex::new(Shared {
        uid_validity: UidValidity::new(uid_validity.max(1)).unwrap_or(UidValidity::MIN),
        last_uid: 0,
        keywords: KeywordTable::default(),
        messages: Vec::new(),
        marked: false,
    }))
}

/// Adds a message from outside any handle (a new delivery): no flags, dated now, `\Recent` for
/// the first read-write handle that sees it.
fn deliver(shared: &SharedMailbox, bytes: &[u8]) -> Result<Uid, StoreError> {
    let mut s = lock(shared);
    let last = s.last_uid.checked_add(1).ok_or(StoreError::UidsExhausted)?;
    let uid = Uid::new(last).ok_or(StoreError::UidsExhausted)?;
    let bytes = crlf(bytes);
    s.messages.push(Stored {
        meta: MessageMeta {
            uid,
            flags: Flags::default(),
            internal_date: Some(now_date()),
            size: bytes.len() as u64,
            recent: false,
        },
        bytes,
        envelope_sender: None,
        unclaimed: true,
    });
    s.last_uid = last;
    s.marked = true;
    Ok(uid)
}

/// What STATUS reports, read without opening (so without unmarking) the mailbox.
fn status_of(shared: &SharedMailbox) -> crate::store::MailboxStatus {
    let s = lock(shared);
    crate::store::MailboxStatus {
        messages: s.messages.len(),
        recent: 0,
        unseen: s
            .messages
            .iter()
            .filter(|m| !m.meta.flags.system.contains(SystemFlags::SEEN))
            .count(),
        uid_next: uid_after(s.last_uid),
        uid_validity: s.uid_validity,
    }
}

/// Whether mail arrived since the mailbox was last opened, and whether it holds any.
fn mark_of(shared: &SharedMailbox) -> (bool, bool) {
    let s = lock(shared);
    (s.marked, !s.messages.is_empty())
}

/// The current time as an INTERNALDATE in UTC, for messages appended without one (the mbox
/// engine dates them too, in its `From ` line).
fn now_date() -> InternalDate {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    InternalDate {
        unix,
        offset_minutes: 0,
    }
}

fn uid_after(last: u32) -> Uid {
    Uid::new(last.saturating_add(1)).unwrap_or(Uid::MAX)
}

fn keyword_set(table: &mut KeywordTable, names: &[String]) -> Result<KeywordSet, StoreError> {
    let mut set = KeywordSet::EMPTY;
    for name in names {
        set = set.with(table.slot_or_add(name).ok_or(StoreError::TooManyKeywords)?);
    }
    Ok(set)
}

impl Mailbox for MemoryMailbox {
    fn uid_validity(&self) -> UidValidity {
        lock(&self.shared).uid_validity
    }
    fn uid_next(&self) -> Uid {
        self.uid_next
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
        out: &mut dyn std::io::Write,
    ) -> Result<u64, StoreError> {
        if !self.snapshot.iter().any(|m| m.uid == uid) {
            return Err(StoreError::NoSuchMessage(uid));
        }
        let s = lock(&self.shared);
        // Expunged elsewhere since the snapshot: the client still sees it until the next sync,
        // so it gets what can be had (nothing), as from the mbox engine.
        let Some(m) = s.messages.iter().find(|m| m.meta.uid == uid) else {
            return Ok(0);
        };
        let len = m.bytes.len() as u64;
        let r = range.unwrap_or(0..len);
        let (a, b) = (r.start.min(len) as usize, r.end.min(len) as usize);
        let part = m.bytes.get(a..b.max(a)).unwrap_or(&[]);
        out.write_all(part).map_err(|source| StoreError::Io {
            context: "writing a message".into(),
            source,
        })?;
        Ok(part.len() as u64)
    }

    fn store_flags(
        &mut self,
        uids: &[Uid],
        op: FlagOp,
        flags: SystemFlags,
        keywords: &[String],
    ) -> Result<(), StoreError> {
        self.writable()?;
        let mut s = lock(&self.shared);
        let kw = keyword_set(&mut s.keywords, keywords)?;
        for uid in uids {
            let Ok(i) = s.messages.binary_search_by_key(uid, |m| m.meta.uid) else {
                continue;
            };
            let old = s.messages[i].meta.flags;
            let new = op.apply(old, flags, kw);
            // As in the mbox engine, a message that already has the result is left alone, and
            // so is this handle's snapshot of it: if another handle made the change, the next
            // sync still reports it.
            if new == old {
                continue;
            }
            s.messages[i].meta.flags = new;
            if let Ok(k) = self.snapshot.binary_search_by_key(uid, |m| m.uid) {
                self.snapshot[k].flags = new;
            }
        }
        self.keywords = s.keywords.clone();
        Ok(())
    }

    fn append(&mut self, messages: &[NewMessage<'_>]) -> Result<Vec<Uid>, StoreError> {
        self.writable()?;
        let mut s = lock(&self.shared);
        let mut table = s.keywords.clone();
        let mut staged = Vec::new();
        let mut last = s.last_uid;
        for m in messages {
            last = last.checked_add(1).ok_or(StoreError::UidsExhausted)?;
            let uid = Uid::new(last).ok_or(StoreError::UidsExhausted)?;
            let keywords = keyword_set(&mut table, m.keywords)?;
            let bytes = crlf(m.bytes);
            let meta = MessageMeta {
                uid,
                flags: Flags {
                    system: m.flags,
                    keywords,
                },
                internal_date: Some(m.internal_date.unwrap_or_else(now_date)),
                size: bytes.len() as u64,
                recent: false,
            };
            staged.push(Stored {
                meta,
                bytes,
                envelope_sender: m.envelope_sender.map(<[u8]>::to_vec),
                unclaimed: false,
            });
        }
        let uids: Vec<Uid> = staged.iter().map(|m| m.meta.uid).collect();
        s.keywords = table;
        s.last_uid = last;
        s.marked |= !staged.is_empty();
        s.messages.extend(staged);
        // Like the mbox handle, the appender knows the new UIDNEXT and keyword names at once;
        // the messages themselves join its snapshot at the next sync.
        self.uid_next = uid_after(s.last_uid);
        self.keywords = s.keywords.clone();
        Ok(uids)
    }

    fn export(&mut self, uids: &[Uid]) -> Result<Vec<Exported>, StoreError> {
        let s = lock(&self.shared);
        uids.iter()
            .map(|uid| {
                let m = s
                    .messages
                    .iter()
                    .find(|m| m.meta.uid == *uid)
                    .ok_or(StoreError::NoSuchMessage(*uid))?;
                Ok(Exported {
                    bytes: m.bytes.clone(),
                    flags: m.meta.flags.system,
                    keywords: m
                        .meta
                        .flags
                        .keywords
                        .slots()
                        .filter_map(|k| s.keywords.name(k).map(str::to_owned))
                        .collect(),
                    internal_date: m.meta.internal_date,
                    envelope_sender: m.envelope_sender.clone(),
                })
            })
            .collect()
    }

    fn expunge(&mut self, only: Option<&[Uid]>) -> Result<Vec<Uid>, StoreError> {
        self.writable()?;
        let mut s = lock(&self.shared);
        let gone: Vec<Uid> = s
            .messages
            .iter()
            .filter(|m| m.meta.flags.system.contains(SystemFlags::DELETED))
            .filter(|m| only.is_none_or(|o| o.contains(&m.meta.uid)))
            .map(|m| m.meta.uid)
            .collect();
        s.messages.retain(|m| !gone.contains(&m.meta.uid));
        Ok(gone)
    }

    /// What changed is read off the shared state against this handle's snapshot, as the mbox
    /// engine compares the file with its snapshot: a flag changed and changed back elsewhere is
    /// no news, and this handle's own flag changes are already in its snapshot.
    fn sync(&mut self) -> Result<Changes, StoreError> {
        let shared = Arc::clone(&self.shared);
        let mut s = lock(&shared);
        let mut changes = Changes::default();
        // Both in ascending UID order: one walk.
        let mut j = 0;
        for m in &self.snapshot {
            while s.messages.get(j).is_some_and(|x| x.meta.uid < m.uid) {
                j += 1;
            }
            match s.messages.get(j).filter(|x| x.meta.uid == m.uid) {
                None => changes.expunged.push(m.uid),
                Some(x) if x.meta.flags != m.flags => changes.flags_changed.push(m.uid),
                Some(_) => {}
            }
        }
        let max_before = self.snapshot.last().map(|m| m.uid);
        changes.added = s
            .messages
            .iter()
            .filter(|m| max_before.is_none_or(|b| m.meta.uid > b))
            .count();
        changes.keywords_changed = s.keywords != self.keywords;
        self.take_snapshot(&mut s);
        Ok(changes)
    }
}

/// Bare LFs become CRLF: the client form.
fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    let mut prev = 0u8;
    for &b in bytes {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}
