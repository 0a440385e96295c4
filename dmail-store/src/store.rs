//! The storage traits: what the protocol layer asks of a mail store, whatever the format (the
//! mbox engine, a later maildir engine, an in-memory engine for tests).
//!
//! Two sides, after Dovecot's split: [`MailboxList`] maps names to mailboxes (LIST, CREATE,
//! DELETE, RENAME, subscriptions, opening); [`Mailbox`] is one open mailbox (a snapshot of its
//! messages, their bytes in client form, flags, append, expunge, and `sync` to learn what others
//! changed). Synchronous APIs; nothing here knows about IMAP syntax, sockets or sequence numbers.

use crate::{Flags, InternalDate, KeywordSet, KeywordTable, SystemFlags, Uid, UidValidity};

/// One message as a snapshot shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageMeta {
    /// Its UID.
    pub uid: Uid,
    /// Stored flags and keywords.
    pub flags: Flags,
    /// INTERNALDATE (`None` when the stored date cannot be read; show the epoch).
    pub internal_date: Option<InternalDate>,
    /// RFC822.SIZE: the size of the message in client (CRLF) form.
    pub size: u64,
    /// Whether this handle reports it as `\Recent`.
    pub recent: bool,
}

/// How a mailbox is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// SELECT: may stamp new mail, change flags, append, expunge.
    ReadWrite,
    /// EXAMINE or STATUS: writes nothing.
    ReadOnly,
}

/// What happened to a mailbox since the last [`Mailbox::sync`] (or since it was opened).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// UIDs that are gone, in ascending order.
    pub expunged: Vec<Uid>,
    /// How many messages were added at the end of the snapshot.
    pub added: usize,
    /// UIDs whose flags or keywords changed elsewhere (not by this handle).
    pub flags_changed: Vec<Uid>,
    /// The mailbox's UIDVALIDITY changed: every UID of the old snapshot is void.
    pub uid_validity_changed: bool,
    /// New keyword names were defined.
    pub keywords_changed: bool,
}

/// How [`Mailbox::store_flags`] combines flags with what a message has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagOp {
    /// Replace (`FLAGS`).
    Set,
    /// Add (`+FLAGS`).
    Add,
    /// Remove (`-FLAGS`).
    Remove,
}

impl FlagOp {
    /// The flags a message with `old` has after this operation with `system` and `keywords`.
    ///
    /// ```
    /// use dmail_store::store::FlagOp;
    /// use dmail_store::{Flags, KeywordSet, SystemFlags};
    /// let old = Flags { system: SystemFlags::SEEN, keywords: KeywordSet::EMPTY.with(1) };
    /// let new = FlagOp::Add.apply(old, SystemFlags::FLAGGED, KeywordSet::EMPTY.with(2));
    /// assert_eq!(new.system, SystemFlags::SEEN | SystemFlags::FLAGGED);
    /// assert_eq!(new.keywords.slots().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn apply(self, old: Flags, system: SystemFlags, keywords: KeywordSet) -> Flags {
        match self {
            FlagOp::Set => Flags { system, keywords },
            FlagOp::Add => Flags {
                system: old.system | system,
                keywords: KeywordSet::from_bits(old.keywords.bits() | keywords.bits()),
            },
            FlagOp::Remove => Flags {
                system: old.system.remove(system),
                keywords: KeywordSet::from_bits(old.keywords.bits() & !keywords.bits()),
            },
        }
    }
}

/// A message taken out of one mailbox to be put into another (COPY, MOVE).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exported {
    /// The message in client (CRLF) form, without store metadata headers.
    pub bytes: Vec<u8>,
    /// Its system flags.
    pub flags: SystemFlags,
    /// Its keyword names.
    pub keywords: Vec<String>,
    /// Its INTERNALDATE.
    pub internal_date: Option<InternalDate>,
    /// The envelope sender of its `From ` line (kept by mbox-to-mbox copies).
    pub envelope_sender: Option<Vec<u8>>,
}

/// A message to add to a mailbox.
#[derive(Clone, Copy, Debug)]
pub struct NewMessage<'a> {
    /// The message as the client sent it (CRLF or LF).
    pub bytes: &'a [u8],
    /// Flags to give it.
    pub flags: SystemFlags,
    /// Keyword names to give it.
    pub keywords: &'a [String],
    /// INTERNALDATE; `None` for now.
    pub internal_date: Option<InternalDate>,
    /// The envelope sender for the `From ` line; `None` for the logged-in user.
    pub envelope_sender: Option<&'a [u8]>,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The mailbox does not exist (or is not a mailbox).
    #[error("no such mailbox")]
    NonExistent,
    /// The mailbox's locks could not be had in time.
    #[error("mailbox is busy, try again")]
    InUse,
    /// A UID that is not in the snapshot.
    #[error("no message with UID {0}")]
    NoSuchMessage(Uid),
    /// The mailbox was opened read-only.
    #[error("mailbox is read-only")]
    ReadOnly,
    /// A 31st keyword would be needed.
    #[error("too many keywords in this mailbox")]
    TooManyKeywords,
    /// The mailbox file holds data the engine will not rewrite (e.g. bytes before the first
    /// message); reading still works.
    #[error("mailbox is damaged: {0}")]
    Damaged(String),
    /// No UIDs are left (UID 4294967295 was reached).
    #[error("the mailbox has used every UID")]
    UidsExhausted,
    /// A mailbox of that name exists already.
    #[error("mailbox already exists")]
    AlreadyExists,
    /// The name cannot be used; the text says why, naming no server path.
    #[error("{0}")]
    InvalidName(String),
    /// The name is a directory of mailboxes, which holds no messages.
    #[error("that name holds mailboxes, not messages")]
    NoSelect,
    /// The operation is refused for this mailbox; the text says why, naming no server path.
    #[error("{0}")]
    NotAllowed(String),
    /// Anything the operating system said.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the mailbox (never a server path).
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// What STATUS reports of a mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MailboxStatus {
    /// Messages in it.
    pub messages: usize,
    /// Messages \Recent for the caller (0 for a look from outside).
    pub recent: usize,
    /// Messages without \Seen.
    pub unseen: usize,
    /// UIDNEXT.
    pub uid_next: Uid,
    /// UIDVALIDITY.
    pub uid_validity: UidValidity,
}

impl MailboxStatus {
    /// The status of an open mailbox's snapshot.
    pub fn of(mailbox: &dyn Mailbox) -> MailboxStatus {
        let m = mailbox.messages();
        MailboxStatus {
            messages: m.len(),
            recent: m.iter().filter(|x| x.recent).count(),
            unseen: m
                .iter()
                .filter(|x| !x.flags.system.contains(SystemFlags::SEEN))
                .count(),
            uid_next: mailbox.uid_next(),
            uid_validity: mailbox.uid_validity(),
        }
    }
}

/// The mailbox-list side of a store: names to mailboxes.
pub trait MailboxList {
    /// The open-mailbox type.
    type Mailbox: Mailbox;
    /// LIST: entries matching `reference` and `pattern` (RFC 3501 §6.3.8).
    fn list(
        &self,
        reference: &[u8],
        pattern: &[u8],
    ) -> Result<Vec<crate::folders::ListEntry>, StoreError>;
    /// LSUB: subscribed names matching.
    fn lsub(
        &self,
        reference: &[u8],
        pattern: &[u8],
    ) -> Result<Vec<crate::folders::ListEntry>, StoreError>;
    /// CREATE.
    fn create(&self, name: &crate::names::MailboxName) -> Result<(), StoreError>;
    /// DELETE.
    fn delete(&self, name: &crate::names::MailboxName) -> Result<(), StoreError>;
    /// RENAME (RENAME INBOX moves INBOX's messages and leaves INBOX empty, RFC 3501).
    fn rename(
        &self,
        from: &crate::names::MailboxName,
        to: &crate::names::MailboxName,
    ) -> Result<(), StoreError>;
    /// SUBSCRIBE.
    fn subscribe(&self, name: &crate::names::MailboxName) -> Result<(), StoreError>;
    /// UNSUBSCRIBE.
    fn unsubscribe(&self, name: &crate::names::MailboxName) -> Result<(), StoreError>;
    /// SELECT or EXAMINE.
    fn open(
        &self,
        name: &crate::names::MailboxName,
        mode: OpenMode,
    ) -> Result<Self::Mailbox, StoreError>;
    /// STATUS, without selecting.
    fn status(&self, name: &crate::names::MailboxName) -> Result<MailboxStatus, StoreError> {
        let m = self.open(name, OpenMode::ReadOnly)?;
        Ok(MailboxStatus {
            recent: 0,
            ..MailboxStatus::of(&m)
        })
    }
    /// Appends to a mailbox that is not (necessarily) open: `NonExistent` when it does not
    /// exist (the protocol layer answers `[TRYCREATE]`).
    fn append_to(
        &self,
        name: &crate::names::MailboxName,
        messages: &[NewMessage<'_>],
    ) -> Result<(UidValidity, Vec<Uid>), StoreError> {
        let mut m = self.open(name, OpenMode::ReadWrite)?;
        let uids = m.append(messages)?;
        Ok((m.uid_validity(), uids))
    }

    /// Copies messages of an open mailbox into another mailbox (COPY, and the first half of
    /// MOVE), keeping flags, keywords, dates and envelope senders. Returns the destination's
    /// UIDVALIDITY and the new UIDs in the order of `uids` (for COPYUID). The source's locks are
    /// released (by `export`) before the destination's are taken.
    fn copy_into(
        &self,
        source: &mut dyn Mailbox,
        uids: &[Uid],
        dest: &crate::names::MailboxName,
    ) -> Result<(UidValidity, Vec<Uid>), StoreError> {
        let exported: Vec<Exported> = source.export(uids)?;
        let messages: Vec<NewMessage<'_>> = exported
            .iter()
            .map(|e| NewMessage {
                bytes: &e.bytes,
                flags: e.flags,
                keywords: &e.keywords,
                internal_date: e.internal_date,
                envelope_sender: e.envelope_sender.as_deref(),
            })
            .collect();
        self.append_to(dest, &messages)
    }
}

/// One open mailbox.
pub trait Mailbox {
    /// The UIDVALIDITY.
    fn uid_validity(&self) -> UidValidity;
    /// The UID the next message will get.
    fn uid_next(&self) -> Uid;
    /// The mailbox's keyword names.
    fn keywords(&self) -> &KeywordTable;
    /// Whether writes are refused.
    fn is_read_only(&self) -> bool;
    /// The snapshot, in ascending UID order (sequence number = index + 1).
    fn messages(&self) -> &[MessageMeta];
    /// Writes the bytes `range` (in client form, i.e. CRLF; the whole message when `None`) of
    /// a message to `out`, returning how many were written.
    fn read(
        &mut self,
        uid: Uid,
        range: Option<std::ops::Range<u64>>,
        out: &mut dyn std::io::Write,
    ) -> Result<u64, StoreError>;
    /// Several whole messages in client form, as [`Mailbox::read`] would give them one by one:
    /// for each UID its bytes (empty when another program expunged it since the snapshot), or
    /// `None` when it is not in the snapshot. An engine that locks for each read does it once
    /// here, so a FETCH of many small messages does not pay for a lock each; the caller keeps
    /// each batch small (it is held in memory).
    fn read_batch(&mut self, uids: &[Uid]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let mut all = Vec::with_capacity(uids.len());
        for &uid in uids {
            let mut bytes = Vec::new();
            match self.read(uid, None, &mut bytes) {
                Ok(_) => all.push(Some(bytes)),
                Err(StoreError::NoSuchMessage(_)) => all.push(None),
                Err(e) => return Err(e),
            }
        }
        Ok(all)
    }
    /// Changes flags of messages; they are in the mailbox file when this returns.
    fn store_flags(
        &mut self,
        uids: &[Uid],
        op: FlagOp,
        flags: SystemFlags,
        keywords: &[String],
    ) -> Result<(), StoreError>;
    /// Appends messages, returning their UIDs (in order). All or nothing.
    fn append(&mut self, messages: &[NewMessage<'_>]) -> Result<Vec<Uid>, StoreError>;
    /// Takes messages out for COPY or MOVE.
    fn export(&mut self, uids: &[Uid]) -> Result<Vec<Exported>, StoreError>;
    /// Removes the messages flagged `\Deleted` (all of them, or those among `only`), returning
    /// their UIDs.
    fn expunge(&mut self, only: Option<&[Uid]>) -> Result<Vec<Uid>, StoreError>;
    /// Learns what others changed since the last call and updates the snapshot.
    fn sync(&mut self) -> Result<Changes, StoreError>;
}
