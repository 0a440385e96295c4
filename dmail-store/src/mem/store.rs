//! `MemoryStore`: a user's whole mailbox namespace in memory, as a [`MailboxList`] of
//! [`MemoryMailbox`]es — for protocol tests that need no files, and as a second implementation
//! the conformance suite holds the mbox store to.
//!
//! It owns the namespace rules as [`MboxStore`](crate::mbox::store::MboxStore) applies them on
//! disk (INBOX always exists; `a/b` lives in a directory `a`, which holds mailboxes but no
//! messages; `x/` makes a directory; RENAME INBOX moves the messages; subscriptions are
//! independent of existence) and must keep answering as that store does, error for error. It
//! must never touch the file system, and never hold its namespace lock while it calls one of
//! its own [`MailboxList`] methods (they take it again).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{MemoryMailbox, SharedMailbox, deliver, mark_of, new_shared, status_of};
use crate::folders::{Attribute, Attributes, ListEntry, ListName};
use crate::names::MailboxName;
use crate::pattern::Pattern;
use crate::store::{FlagOp, Mailbox, MailboxList, MailboxStatus, OpenMode, StoreError};
use crate::subscriptions::lsub_entries;
use crate::{SystemFlags, Uid};

/// What a name below the root is.
#[derive(Debug)]
enum Node {
    /// A mailbox: messages, no folders (`\Noinferiors`).
    Mailbox(SharedMailbox),
    /// A directory: folders, no messages (`\Noselect`).
    Directory,
}

/// What a name resolves to (the memory form of [`crate::folders::Node`]).
enum Found {
    Inbox(SharedMailbox),
    Mailbox(SharedMailbox),
    Directory,
    /// Nothing, or a mailbox where a directory on the way should be.
    Missing,
}

#[derive(Debug)]
struct State {
    inbox: SharedMailbox,
    /// Every folder by name (no trailing `/`). Every proper prefix of a key is a directory, as
    /// every level above a file is on disk.
    folders: BTreeMap<String, Node>,
    /// Subscribed names in the order they were added, each once (a trailing `/` kept, as the
    /// subscription file keeps it).
    subscriptions: Vec<MailboxName>,
    /// The UIDVALIDITY the next new mailbox gets: counting up from the clock, so that a mailbox
    /// deleted and created again never reuses its old one.
    next_validity: u32,
}

impl State {
    fn take_validity(&mut self) -> u32 {
        let v = self.next_validity;
        self.next_validity = v.checked_add(1).unwrap_or(1);
        v
    }

    fn resolve(&self, name: &MailboxName) -> Found {
        if name.is_inbox() {
            return Found::Inbox(Arc::clone(&self.inbox));
        }
        let key = name.as_str();
        for prefix in prefixes(key) {
            if !matches!(self.folders.get(prefix), Some(Node::Directory)) {
                return Found::Missing;
            }
        }
        match self.folders.get(key) {
            Some(Node::Mailbox(m)) => Found::Mailbox(Arc::clone(m)),
            Some(Node::Directory) => Found::Directory,
            None => Found::Missing,
        }
    }

    /// The mailbox SELECT, EXAMINE, STATUS, APPEND and COPY may use (`Folders::selectable`).
    fn selectable(&self, name: &MailboxName) -> Result<SharedMailbox, StoreError> {
        match self.resolve(name) {
            Found::Inbox(m) => Ok(m),
            Found::Mailbox(m) if !name.is_directory_intent() => Ok(m),
            Found::Mailbox(_) | Found::Missing => Err(StoreError::NonExistent),
            Found::Directory => Err(StoreError::NoSelect),
        }
    }

    fn has_children(&self, key: &str) -> bool {
        let below = format!("{key}/");
        self.folders
            .range(below.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&below))
    }

    /// Checks that every level above `name` is a directory or missing, then makes the missing
    /// ones directories.
    fn make_parents(&mut self, name: &MailboxName) -> Result<(), StoreError> {
        let key = name.as_str();
        if let Some(file) =
            prefixes(key).find(|p| matches!(self.folders.get(*p), Some(Node::Mailbox(_))))
        {
            return Err(StoreError::NotAllowed(format!(
                "Can't create {name}: {file} is a mailbox, and mailboxes cannot hold folders"
            )));
        }
        for prefix in prefixes(key) {
            self.folders
                .entry(prefix.to_owned())
                .or_insert(Node::Directory);
        }
        Ok(())
    }
}

/// The proper prefixes of a name that are whole levels: `a`, `a/b` for `a/b/c`.
fn prefixes(key: &str) -> impl Iterator<Item = &str> {
    key.match_indices('/').map(move |(i, _)| &key[..i])
}

/// LIST's mark of a mailbox: `\Marked` when mail arrived since it was last opened.
fn mark(mailbox: &SharedMailbox) -> Attribute {
    match mark_of(mailbox) {
        (true, true) => Attribute::Marked,
        _ => Attribute::UnMarked,
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Every change to the namespace is made after its checks, in steps that each leave it
    // consistent, so a poisoned lock still guards usable data.
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A user's mailboxes in memory, hierarchy delimiter `/`. Clones are handles on the same
/// mailboxes, like two sessions of one user: a change made through one is seen by the other's
/// open mailboxes at their next [`Mailbox::sync`].
///
/// ```
/// use dmail_store::mem::MemoryStore;
/// use dmail_store::names::MailboxName;
/// use dmail_store::store::{Mailbox, MailboxList, OpenMode};
/// let store = MemoryStore::new();
/// let work = MailboxName::parse(b"Work/2000").unwrap();
/// store.create(&work).unwrap();
/// let names: Vec<String> = store.list(b"", b"*").unwrap().iter()
///     .map(|e| e.name.as_str().to_owned()).collect();
/// assert_eq!(names, ["INBOX", "Work", "Work/2000"]);
/// let mut mailbox = store.open(&work, OpenMode::ReadWrite).unwrap();
/// store.clone().deliver(&work, b"Subject: hi\n\nbody\n").unwrap();
/// assert_eq!(mailbox.sync().unwrap().added, 1);
/// assert!(mailbox.messages()[0].recent);
/// ```
#[derive(Clone, Debug)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// A store holding only an empty INBOX, with no subscriptions.
    ///
    /// ```
    /// use dmail_store::mem::MemoryStore;
    /// use dmail_store::names::MailboxName;
    /// use dmail_store::store::MailboxList;
    /// let store = MemoryStore::new();
    /// assert_eq!(store.status(&MailboxName::inbox()).unwrap().messages, 0);
    /// assert!(store.lsub(b"", b"*").unwrap().is_empty());
    /// ```
    pub fn new() -> MemoryStore {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
            .max(1);
        let mut state = State {
            inbox: new_shared(1),
            folders: BTreeMap::new(),
            subscriptions: Vec::new(),
            next_validity: now,
        };
        state.inbox = new_shared(state.take_validity());
        MemoryStore {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// Delivers a message into a mailbox from outside any session, as the mail system does:
    /// LF or CRLF line ends, no flags, dated now, `\Recent` for the first read-write handle
    /// that sees it. Fails as APPEND would for a missing mailbox or a directory.
    ///
    /// ```
    /// use dmail_store::mem::MemoryStore;
    /// use dmail_store::names::MailboxName;
    /// use dmail_store::store::{MailboxList, StoreError};
    /// let store = MemoryStore::new();
    /// store.deliver(&MailboxName::inbox(), b"Subject: x\n\nhello\n").unwrap();
    /// assert_eq!(store.status(&MailboxName::inbox()).unwrap().messages, 1);
    /// let missing = MailboxName::parse(b"Nope").unwrap();
    /// assert!(matches!(store.deliver(&missing, b"x\n"), Err(StoreError::NonExistent)));
    /// ```
    pub fn deliver(&self, name: &MailboxName, bytes: &[u8]) -> Result<(), StoreError> {
        let mailbox = lock(&self.state).selectable(name)?;
        deliver(&mailbox, bytes).map(|_| ())
    }

    /// RENAME INBOX (RFC 3501 §6.3.5), step for step as the mbox store does it: a new mailbox
    /// gets INBOX's messages, and INBOX is left holding none (its UIDs go on where they were).
    fn rename_inbox(&self, to: &MailboxName) -> Result<(), StoreError> {
        self.create(to)?;
        let mut inbox = self.open(&MailboxName::inbox(), OpenMode::ReadWrite)?;
        let uids: Vec<Uid> = inbox.messages().iter().map(|m| m.uid).collect();
        if uids.is_empty() {
            return Ok(());
        }
        self.copy_into(&mut inbox, &uids, to)?;
        inbox.store_flags(&uids, FlagOp::Add, SystemFlags::DELETED, &[])?;
        inbox.expunge(Some(&uids))?;
        Ok(())
    }
}

impl MailboxList for MemoryStore {
    type Mailbox = MemoryMailbox;

    fn list(&self, reference: &[u8], pattern: &[u8]) -> Result<Vec<ListEntry>, StoreError> {
        if pattern.is_empty() {
            return Ok(vec![ListEntry {
                name: ListName::Root,
                attributes: Attributes::empty().with(Attribute::NoSelect),
            }]);
        }
        let pattern = Pattern::with_reference(reference, pattern);
        let state = lock(&self.state);
        let mut out = Vec::new();
        if pattern.matches_inbox() {
            let inferiors = matches!(state.folders.get("INBOX"), Some(Node::Directory))
                && state.has_children("INBOX");
            let attributes = Attributes::of(&[
                if inferiors {
                    Attribute::HasChildren
                } else {
                    Attribute::NoInferiors
                },
                mark(&state.inbox),
            ]);
            out.push(ListEntry {
                name: ListName::Mailbox(MailboxName::inbox()),
                attributes,
            });
        }
        // The directory walk's order: depth first, each level in byte order, a directory
        // before its contents.
        let mut keys: Vec<(&String, &Node)> = state.folders.iter().collect();
        keys.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));
        for (key, node) in keys {
            // A top-level INBOX directory is not listed (INBOX is the drop file); its children
            // are ordinary folders.
            let top_inbox = !key.contains('/') && key.eq_ignore_ascii_case("INBOX");
            if top_inbox || !pattern.matches(key.as_bytes()) {
                continue;
            }
            let Ok(name) = MailboxName::parse(key.as_bytes()) else {
                continue;
            };
            let attributes = match node {
                Node::Directory => Attributes::of(&[
                    Attribute::NoSelect,
                    if state.has_children(key) {
                        Attribute::HasChildren
                    } else {
                        Attribute::HasNoChildren
                    },
                ]),
                Node::Mailbox(m) => Attributes::of(&[Attribute::NoInferiors, mark(m)]),
            };
            out.push(ListEntry {
                name: ListName::Mailbox(name),
                attributes,
            });
        }
        Ok(out)
    }

    fn lsub(&self, reference: &[u8], pattern: &[u8]) -> Result<Vec<ListEntry>, StoreError> {
        let pattern = Pattern::with_reference(reference, pattern);
        if pattern.is_empty() {
            return Ok(Vec::new());
        }
        Ok(lsub_entries(&lock(&self.state).subscriptions, &pattern))
    }

    fn create(&self, name: &MailboxName) -> Result<(), StoreError> {
        if name.is_inbox() {
            return Err(StoreError::NotAllowed("Can't create INBOX".into()));
        }
        let mut state = lock(&self.state);
        // When the name exists its parents do too, so this creates nothing before the refusal.
        state.make_parents(name)?;
        if state.folders.contains_key(name.as_str()) {
            return Err(StoreError::AlreadyExists);
        }
        let node = if name.is_directory_intent() {
            Node::Directory
        } else {
            Node::Mailbox(new_shared(state.take_validity()))
        };
        state.folders.insert(name.as_str().to_owned(), node);
        Ok(())
    }

    fn delete(&self, name: &MailboxName) -> Result<(), StoreError> {
        if name.is_inbox() {
            return Err(StoreError::NotAllowed("Can't delete INBOX".into()));
        }
        let mut state = lock(&self.state);
        match state.resolve(name) {
            Found::Mailbox(_) if !name.is_directory_intent() => {}
            Found::Directory if state.has_children(name.as_str()) => {
                return Err(StoreError::NotAllowed(format!(
                    "Can't delete {name}: it still holds folders"
                )));
            }
            Found::Directory => {}
            Found::Mailbox(_) | Found::Missing | Found::Inbox(_) => {
                return Err(StoreError::NonExistent);
            }
        }
        state.folders.remove(name.as_str());
        Ok(())
    }

    fn rename(&self, from: &MailboxName, to: &MailboxName) -> Result<(), StoreError> {
        if from.is_inbox() {
            return self.rename_inbox(to);
        }
        let mut state = lock(&self.state);
        let directory = match state.resolve(from) {
            Found::Directory => true,
            Found::Mailbox(_) if !from.is_directory_intent() => false,
            Found::Mailbox(_) | Found::Missing | Found::Inbox(_) => {
                return Err(StoreError::NonExistent);
            }
        };
        if to.is_inbox() {
            return Err(StoreError::AlreadyExists);
        }
        if to.is_directory_intent() && !directory {
            return Err(StoreError::NotAllowed(format!(
                "{to} names a directory, but the mailbox is not one"
            )));
        }
        if from.as_str() == to.as_str() {
            return Err(StoreError::AlreadyExists);
        }
        if directory && to.is_below(from) {
            return Err(StoreError::NotAllowed(format!(
                "Can't rename {from} into itself ({to})"
            )));
        }
        if !matches!(state.resolve(to), Found::Missing) {
            return Err(StoreError::AlreadyExists);
        }
        state.make_parents(to)?;
        let below = format!("{from}/");
        let moved: Vec<String> = state
            .folders
            .keys()
            .filter(|k| k.as_str() == from.as_str() || k.starts_with(&below))
            .cloned()
            .collect();
        for key in moved {
            if let Some(node) = state.folders.remove(&key) {
                let new_key = format!("{to}{}", &key[from.as_str().len()..]);
                state.folders.insert(new_key, node);
            }
        }
        Ok(())
    }

    fn subscribe(&self, name: &MailboxName) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        if !state.subscriptions.contains(name) {
            state.subscriptions.push(name.clone());
        }
        Ok(())
    }

    fn unsubscribe(&self, name: &MailboxName) -> Result<(), StoreError> {
        lock(&self.state).subscriptions.retain(|n| n != name);
        Ok(())
    }

    fn open(&self, name: &MailboxName, mode: OpenMode) -> Result<MemoryMailbox, StoreError> {
        let mailbox = lock(&self.state).selectable(name)?;
        Ok(MemoryMailbox::attach(mailbox, mode == OpenMode::ReadOnly))
    }

    /// STATUS without opening the mailbox, so a look from outside leaves `\Marked` alone (the
    /// mbox store answers from its private index without reading the file).
    fn status(&self, name: &MailboxName) -> Result<MailboxStatus, StoreError> {
        let mailbox = lock(&self.state).selectable(name)?;
        Ok(status_of(&mailbox))
    }
}
