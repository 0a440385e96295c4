//! The small value types every storage engine and the protocol layer share: UIDs, UIDVALIDITY,
//! flags, keywords, internal dates.
//!
//! These are plain data; this module must never know about files or any one mailbox format.

use std::fmt;
use std::num::NonZeroU32;

/// A message's UID: a non-zero 32-bit number, strictly increasing within a mailbox as long as
/// its [`UidValidity`] stays the same (RFC 3501 §2.3.1.1).
///
/// ```
/// use dmail_store::Uid;
/// let u = Uid::new(7).unwrap();
/// assert_eq!(u.get(), 7);
/// assert!(Uid::new(0).is_none());
/// assert_eq!(u.next(), Uid::new(8));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uid(NonZeroU32);

impl Uid {
    /// UID 1.
    pub const MIN: Uid = Uid(NonZeroU32::MIN);
    /// The largest UID.
    pub const MAX: Uid = Uid(NonZeroU32::MAX);

    /// The UID `n`, or `None` for 0.
    pub const fn new(n: u32) -> Option<Uid> {
        match NonZeroU32::new(n) {
            Some(n) => Some(Uid(n)),
            None => None,
        }
    }
    /// The number.
    pub const fn get(self) -> u32 {
        self.0.get()
    }
    /// The UID after this one, or `None` when the 32-bit space is used up.
    pub fn next(self) -> Option<Uid> {
        self.0.get().checked_add(1).and_then(Uid::new)
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A mailbox's UIDVALIDITY: non-zero; by c-client convention the time (seconds since 1970) at
/// which the mailbox was created or last lost its UIDs.
///
/// ```
/// use dmail_store::UidValidity;
/// assert_eq!(UidValidity::new(964139896).unwrap().get(), 964139896);
/// assert!(UidValidity::new(0).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UidValidity(NonZeroU32);

impl UidValidity {
    /// The value 1 (c-client's UIDVALIDITY for an empty, missing INBOX).
    pub const MIN: UidValidity = UidValidity(NonZeroU32::MIN);

    /// The value `n`, or `None` for 0.
    pub const fn new(n: u32) -> Option<UidValidity> {
        match NonZeroU32::new(n) {
            Some(n) => Some(UidValidity(n)),
            None => None,
        }
    }
    /// The number.
    pub const fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for UidValidity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The IMAP system flags a message keeps in its mailbox (\Recent is a session's view, not a
/// stored flag, and is not here).
///
/// ```
/// use dmail_store::SystemFlags;
/// let f = SystemFlags::SEEN | SystemFlags::FLAGGED;
/// assert!(f.contains(SystemFlags::SEEN));
/// assert!(!f.contains(SystemFlags::DELETED));
/// assert_eq!(f.remove(SystemFlags::SEEN), SystemFlags::FLAGGED);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SystemFlags(u8);

impl SystemFlags {
    /// No flags.
    pub const EMPTY: SystemFlags = SystemFlags(0);
    /// `\Seen`: the `R` of `Status:`.
    pub const SEEN: SystemFlags = SystemFlags(1);
    /// `\Answered`: the `A` of `X-Status:`.
    pub const ANSWERED: SystemFlags = SystemFlags(2);
    /// `\Flagged`: the `F` of `X-Status:`.
    pub const FLAGGED: SystemFlags = SystemFlags(4);
    /// `\Deleted`: the `D` of `X-Status:`.
    pub const DELETED: SystemFlags = SystemFlags(8);
    /// `\Draft`: the `T` of `X-Status:`.
    pub const DRAFT: SystemFlags = SystemFlags(16);
    /// All five.
    pub const ALL: SystemFlags = SystemFlags(31);

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: SystemFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// These flags without `other`'s.
    #[must_use]
    pub const fn remove(self, other: SystemFlags) -> SystemFlags {
        SystemFlags(self.0 & !other.0)
    }
    /// The raw bits (stable: used in the private index).
    pub const fn bits(self) -> u8 {
        self.0
    }
    /// From raw bits; unknown bits are dropped.
    pub const fn from_bits(bits: u8) -> SystemFlags {
        SystemFlags(bits & Self::ALL.0)
    }
    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::BitOr for SystemFlags {
    type Output = SystemFlags;
    fn bitor(self, rhs: SystemFlags) -> SystemFlags {
        SystemFlags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for SystemFlags {
    fn bitor_assign(&mut self, rhs: SystemFlags) {
        self.0 |= rhs.0;
    }
}

/// The most keywords a mailbox can define (the c-client format's 30 slots).
pub const MAX_KEYWORDS: usize = 30;

/// Which of a mailbox's keywords a message has: bit `i` is slot `i` of the mailbox's keyword
/// table ([`KeywordTable`]).
///
/// ```
/// use dmail_store::KeywordSet;
/// let k = KeywordSet::EMPTY.with(0).with(3);
/// assert!(k.has(3));
/// assert_eq!(k.slots().collect::<Vec<_>>(), [0, 3]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeywordSet(u32);

impl KeywordSet {
    /// No keywords.
    pub const EMPTY: KeywordSet = KeywordSet(0);
    /// With slot `slot` set (slots at or above [`MAX_KEYWORDS`] are ignored).
    #[must_use]
    pub const fn with(self, slot: usize) -> KeywordSet {
        if slot < MAX_KEYWORDS {
            KeywordSet(self.0 | (1 << slot))
        } else {
            self
        }
    }
    /// Without slot `slot`.
    #[must_use]
    pub const fn without(self, slot: usize) -> KeywordSet {
        if slot < MAX_KEYWORDS {
            KeywordSet(self.0 & !(1 << slot))
        } else {
            self
        }
    }
    /// Whether slot `slot` is set.
    pub const fn has(self, slot: usize) -> bool {
        slot < MAX_KEYWORDS && self.0 & (1 << slot) != 0
    }
    /// The set slots, lowest first.
    pub fn slots(self) -> impl Iterator<Item = usize> {
        (0..MAX_KEYWORDS).filter(move |s| self.has(*s))
    }
    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// From raw bits; bits above the last slot are dropped.
    pub const fn from_bits(bits: u32) -> KeywordSet {
        KeywordSet(bits & ((1 << MAX_KEYWORDS) - 1))
    }
    /// Whether no keyword is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// A mailbox's keyword names, in slot order (at most [`MAX_KEYWORDS`]). Names compare ASCII
/// case-insensitively, as c-client does.
///
/// ```
/// use dmail_store::KeywordTable;
/// let mut t = KeywordTable::default();
/// assert_eq!(t.slot_or_add("$Junk"), Some(0));
/// assert_eq!(t.slot("$junk"), Some(0));
/// assert_eq!(t.name(0), Some("$Junk"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeywordTable {
    names: Vec<String>,
}

impl KeywordTable {
    /// A table of these names (extra names past [`MAX_KEYWORDS`] are dropped, as c-client does).
    pub fn new<I: IntoIterator<Item = String>>(names: I) -> Self {
        KeywordTable {
            names: names.into_iter().take(MAX_KEYWORDS).collect(),
        }
    }
    /// The slot of a name.
    pub fn slot(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n.eq_ignore_ascii_case(name))
    }
    /// The slot of a name, adding it if there is room.
    pub fn slot_or_add(&mut self, name: &str) -> Option<usize> {
        if let Some(s) = self.slot(name) {
            return Some(s);
        }
        if self.names.len() >= MAX_KEYWORDS {
            return None;
        }
        self.names.push(name.to_owned());
        Some(self.names.len() - 1)
    }
    /// The name in a slot.
    pub fn name(&self, slot: usize) -> Option<&str> {
        self.names.get(slot).map(String::as_str)
    }
    /// All names in slot order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// Whether another keyword can still be defined.
    pub fn has_room(&self) -> bool {
        self.names.len() < MAX_KEYWORDS
    }
}

/// A message's flags as stored: system flags and keywords.
///
/// ```
/// use dmail_store::{Flags, SystemFlags, KeywordSet};
/// let f = Flags { system: SystemFlags::SEEN, keywords: KeywordSet::EMPTY.with(1) };
/// assert!(f.system.contains(SystemFlags::SEEN));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags {
    /// `\Seen`, `\Answered`, `\Flagged`, `\Deleted`, `\Draft`.
    pub system: SystemFlags,
    /// Keyword slots of the mailbox's [`KeywordTable`].
    pub keywords: KeywordSet,
}

/// When a message arrived (IMAP INTERNALDATE): seconds since 1970 UTC and the zone it was
/// written in, in minutes east of UTC.
///
/// ```
/// use dmail_store::InternalDate;
/// let d = InternalDate { unix: 0, offset_minutes: 60 };
/// assert_eq!(d.unix, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct InternalDate {
    /// Seconds since 1970-01-01 00:00:00 UTC.
    pub unix: i64,
    /// The zone's offset, minutes east of UTC.
    pub offset_minutes: i16,
}
