//! An in-memory mailbox implementing [`Mailbox`]: the reference model that the mbox engine is
//! checked against, and a store for protocol tests that need no files.
//!
//! Handles made with [`MemoryMailbox::open_handle`] share one mailbox and learn of each other's
//! changes through `sync`, as handles on one mbox file do. It must never touch the file system.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::store::{Changes, Exported, FlagOp, Mailbox, MessageMeta, NewMessage, StoreError};
use crate::{Flags, KeywordSet, KeywordTable, SystemFlags, Uid, UidValidity};

#[derive(Clone, Debug)]
struct Stored {
    meta: MessageMeta,
    /// The message in client (CRLF) form.
    bytes: Vec<u8>,
    envelope_sender: Option<Vec<u8>>,
}

#[derive(Clone, Copy, Debug)]
enum Event {
    Added,
    Expunged(Uid),
    Flags(Uid, usize),
}

#[derive(Debug)]
struct Shared {
    uid_validity: UidValidity,
    last_uid: u32,
    keywords: KeywordTable,
    messages: Vec<Stored>,
    /// Every change, with the handle that made it.
    events: Vec<Event>,
}

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
    id: usize,
    seen_events: usize,
    snapshot: Vec<MessageMeta>,
    keywords: KeywordTable,
    uid_next: Uid,
    read_only: bool,
}

static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panic while holding the lock leaves consistent data (every change is one push), so a
    // poisoned lock is still usable.
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MemoryMailbox {
    /// A new, empty mailbox with this UIDVALIDITY (0 is taken as 1).
    pub fn new(uid_validity: u32) -> MemoryMailbox {
        let shared = Shared {
            uid_validity: UidValidity::new(uid_validity.max(1)).unwrap_or(UidValidity::MIN),
            last_uid: 0,
            keywords: KeywordTable::default(),
            messages: Vec::new(),
            events: Vec::new(),
        };
        MemoryMailbox::attach(Arc::new(Mutex::new(shared)), false)
    }

    fn attach(shared: Arc<Mutex<Shared>>, read_only: bool) -> MemoryMailbox {
        let (snapshot, keywords, uid_next, seen) = {
            let s = lock(&shared);
            let snapshot = s.messages.iter().map(|m| m.meta).collect();
            (
                snapshot,
                s.keywords.clone(),
                uid_after(s.last_uid),
                s.events.len(),
            )
        };
        MemoryMailbox {
            shared,
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            seen_events: seen,
            snapshot,
            keywords,
            uid_next,
            read_only,
        }
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
        let s = lock(&self.shared);
        let m = s
            .messages
            .iter()
            .find(|m| m.meta.uid == uid)
            .ok_or(StoreError::NoSuchMessage(uid))?;
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
            let Some(i) = s.messages.iter().position(|m| m.meta.uid == *uid) else {
                continue;
            };
            let old = s.messages[i].meta.flags;
            let new = op.apply(old, flags, kw);
            if new != old {
                s.messages[i].meta.flags = new;
                s.events.push(Event::Flags(*uid, self.id));
            }
            if let Some(m) = self.snapshot.iter_mut().find(|m| m.uid == *uid) {
                m.flags = new;
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
                internal_date: m.internal_date,
                size: bytes.len() as u64,
                recent: false,
            };
            staged.push(Stored {
                meta,
                bytes,
                envelope_sender: m.envelope_sender.map(<[u8]>::to_vec),
            });
        }
        let uids: Vec<Uid> = staged.iter().map(|m| m.meta.uid).collect();
        s.keywords = table;
        s.last_uid = last;
        for m in staged {
            s.messages.push(m);
            s.events.push(Event::Added);
        }
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
        for uid in &gone {
            s.events.push(Event::Expunged(*uid));
        }
        Ok(gone)
    }

    fn sync(&mut self) -> Result<Changes, StoreError> {
        let s = lock(&self.shared);
        let mut changes = Changes::default();
        for event in &s.events[self.seen_events..] {
            match event {
                Event::Added => {}
                Event::Expunged(uid) => changes.expunged.push(*uid),
                Event::Flags(uid, by) if *by != self.id => changes.flags_changed.push(*uid),
                Event::Flags(..) => {}
            }
        }
        self.seen_events = s.events.len();
        let before: Vec<Uid> = self.snapshot.iter().map(|m| m.uid).collect();
        let max_before = before.last().copied();
        changes.expunged.retain(|u| before.contains(u));
        changes.expunged.sort_unstable();
        changes.expunged.dedup();
        changes
            .flags_changed
            .retain(|u| s.messages.iter().any(|m| m.meta.uid == *u) && before.contains(u));
        changes.flags_changed.sort_unstable();
        changes.flags_changed.dedup();
        changes.added = s
            .messages
            .iter()
            .filter(|m| max_before.is_none_or(|b| m.meta.uid > b))
            .count();
        changes.keywords_changed = s.keywords != self.keywords;
        self.snapshot = s.messages.iter().map(|m| m.meta).collect();
        self.keywords = s.keywords.clone();
        self.uid_next = uid_after(s.last_uid);
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
