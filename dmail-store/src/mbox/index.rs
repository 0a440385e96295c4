//! The private index of an mbox file (mailbox-formats.md §3): what the engine learnt from
//! scanning the file, saved in `FOLDERDIR/.imapd/KEY.index` so that reopening a large unchanged
//! mailbox, or one that only grew, costs time in proportion to the new data.
//!
//! This module owns the compact in-memory form of one message ([`Entry`], 48 bytes) and the
//! index file's binary format: encoding, decoding, checksums, and writing it atomically (temp
//! file and rename in the private directory). It decides nothing about mailboxes: whether an
//! index still describes its file is the engine's question, answered by comparing the
//! [`FileStamp`] saved here with the file's and replaying the change log from the saved
//! position.
//!
//! It must never be the only copy of anything: an index that is missing, damaged (the
//! checksums do not match), of another version, or inconsistent in any way reads as `None`,
//! and the engine scans the file instead. It never panics on any input and never reads or
//! writes the mailbox file.
//!
//! # Format (version 1, little-endian)
//!
//! ```text
//! 0    magic "DMIMAPIX", version u32 = 1, header length u32 (where the entries start)
//! 16   mailbox FileStamp: len u64, dev u64, ino u64, ctime i64, ctime_nsec i64
//! 56   change-log position u64, change-log dev u64, ino u64 (0, 0: there was no log)
//! 80   UIDVALIDITY u32, last UID u32, bits u32 (1 CRLF, 2 leading junk, 4 pseudo-message,
//!      8 last-UID field), reserved u32
//! 96   pseudo-message start u64, end u64; last-UID field start u64, end u64
//! 128  prefix check u64 (the engine's hash of bytes that prove the file only grew)
//! 136  messages u64, messages without \Seen u64, first unseen (1-based, 0 none) u64
//! 160  entries length u64, entries checksum u64
//! 176  keyword count u32, then per keyword: length u16, UTF-8 bytes
//! ...  header checksum u64 (of every header byte before it)
//! then the entries, one after another, each a run of LEB128 varints:
//!      start - previous end, end - start, status block offset from start (0: none)
//!      [, block length], uid - previous uid (>= 1), one byte (system flags | stamped << 5 |
//!      has date << 6), keyword bits, RFC822.SIZE [, zigzag(date - previous date),
//!      zigzag(zone minutes)]
//! ```
//!
//! The header alone (a few hundred bytes) answers STATUS and SELECT's counts
//! ([`read_summary`]); the entries (about 17 bytes a message) give the whole table.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::mbox::LineEnding;
use crate::mbox::changelog::FileStamp;
use crate::{Flags, InternalDate, KeywordSet, KeywordTable, SystemFlags, Uid, UidValidity};

const MAGIC: &[u8; 8] = b"DMIMAPIX";
const VERSION: u32 = 1;
/// Bytes of the fixed part of the header (before the keyword table).
const FIXED: usize = 176;
/// How much of the file [`read_summary`] reads at first (the header is usually much shorter).
const SUMMARY_READ: usize = 4096;

const BIT_CRLF: u32 = 1;
const BIT_JUNK: u32 = 2;
const BIT_PSEUDO: u32 = 4;
const BIT_FIELD: u32 = 8;

const STAMPED: u8 = 1 << 5;
const HAS_DATE: u8 = 1 << 6;

/// A date that does not fit the packed form (never from a real From line).
const NO_DATE: i64 = i64::MIN;

/// One message as the engine tracks it in the file, in 48 bytes: where it is, where its status
/// block is (for in-place flag writes), its UID, flags, RFC822.SIZE and INTERNALDATE, and
/// whether the file holds its UID.
///
/// ```
/// use dmail_store::mbox::index::Entry;
/// use dmail_store::{Flags, InternalDate, SystemFlags, Uid};
/// let date = InternalDate { unix: 914_665_068, offset_minutes: -300 };
/// let flags = Flags { system: SystemFlags::SEEN, ..Flags::default() };
/// let e = Entry::new(100, 900, Some((140, 60)), Uid::new(7).unwrap(), flags, 820, Some(date), true);
/// assert_eq!((e.block(), e.flags(), e.date()), (Some((140, 60)), flags, Some(date)));
/// assert!(std::mem::size_of::<Entry>() <= 48);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Where the message starts (its From line).
    pub start: u64,
    /// Where it ends (exclusive): the next message's start, or the end of the file.
    pub end: u64,
    /// RFC822.SIZE.
    pub size: u64,
    /// INTERNALDATE packed as `unix << 16 | zone minutes`, or `i64::MIN` for none.
    date: i64,
    /// Its UID.
    pub uid: Uid,
    keywords: KeywordSet,
    /// The status block's offset from `start`; 0 when there is none (or it is out of reach).
    block_rel: u32,
    block_len: u16,
    system: SystemFlags,
    /// Whether the file holds this UID (`X-UID` accepted): false for messages a read-only
    /// handle numbered in memory.
    pub stamped: bool,
}

fn pack_date(date: Option<InternalDate>) -> i64 {
    const LIMIT: i64 = 1 << 47;
    match date {
        Some(d) if d.unix > -LIMIT && d.unix < LIMIT => {
            (d.unix << 16) | i64::from(d.offset_minutes as u16)
        }
        _ => NO_DATE,
    }
}

fn unpack_date(packed: i64) -> Option<InternalDate> {
    (packed != NO_DATE).then_some(InternalDate {
        unix: packed >> 16,
        offset_minutes: packed as u16 as i16,
    })
}

fn pack_block(start: u64, block: Option<(u64, u64)>) -> (u32, u16) {
    block
        .and_then(|(at, len)| {
            let rel = u32::try_from(at.checked_sub(start)?).ok()?;
            let len = u16::try_from(len).ok()?;
            (rel > 0 && len > 0).then_some((rel, len))
        })
        .unwrap_or((0, 0))
}

impl Entry {
    /// An entry. A status block (offset, length) further than 4 GiB from the message's start or
    /// longer than 65,535 bytes is not kept: that message's flags are then changed by a rewrite
    /// instead of in place. A date beyond ±4 million years is not kept either.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        start: u64,
        end: u64,
        block: Option<(u64, u64)>,
        uid: Uid,
        flags: Flags,
        size: u64,
        date: Option<InternalDate>,
        stamped: bool,
    ) -> Entry {
        let (block_rel, block_len) = pack_block(start, block);
        Entry {
            start,
            end,
            size,
            date: pack_date(date),
            uid,
            keywords: flags.keywords,
            block_rel,
            block_len,
            system: flags.system,
            stamped,
        }
    }

    /// The contiguous status block (offset, length), for in-place flag writes.
    pub fn block(&self) -> Option<(u64, u64)> {
        (self.block_rel != 0).then(|| {
            (
                self.start + u64::from(self.block_rel),
                u64::from(self.block_len),
            )
        })
    }

    /// Moves the message to `start`..`end` with its status block at `block`.
    pub fn relocate(&mut self, start: u64, end: u64, block: Option<(u64, u64)>) {
        self.start = start;
        self.end = end;
        (self.block_rel, self.block_len) = pack_block(start, block);
    }

    /// Its flags and keywords.
    pub fn flags(&self) -> Flags {
        Flags {
            system: self.system,
            keywords: self.keywords,
        }
    }

    /// Sets its flags and keywords.
    pub fn set_flags(&mut self, flags: Flags) {
        self.system = flags.system;
        self.keywords = flags.keywords;
    }

    /// INTERNALDATE (`None` when the From line's date does not parse).
    pub fn date(&self) -> Option<InternalDate> {
        unpack_date(self.date)
    }
}

/// Everything the engine keeps of a mailbox file, as saved in the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Index {
    /// The mailbox file's stamp when the entries were true.
    pub stamp: FileStamp,
    /// How far the change log had been read (every record before it is in the entries).
    pub log_pos: u64,
    /// The change log's (dev, ino) then; (0, 0) when there was none.
    pub log_id: (u64, u64),
    /// UIDVALIDITY.
    pub uid_validity: UidValidity,
    /// The last UID assigned.
    pub last_uid: u32,
    /// The keyword names.
    pub keywords: KeywordTable,
    /// The file's line ending.
    pub ending: LineEnding,
    /// The pseudo-message's range, when the file has one.
    pub pseudo: Option<(u64, u64)>,
    /// The padded 10-digit last-UID field of the folder data.
    pub last_uid_field: Option<(u64, u64)>,
    /// Bytes before the first message that are not a From line.
    pub junk: bool,
    /// The engine's hash of the bytes that show the file still starts as it did.
    pub prefix_check: u64,
    /// The messages, pseudo-message left out, in file order (and so in UID order).
    pub entries: Vec<Entry>,
}

/// What the index header alone says: the numbers STATUS and SELECT report, and what tells
/// whether they are still true.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The mailbox file's stamp when the index was written.
    pub stamp: FileStamp,
    /// The change-log position then.
    pub log_pos: u64,
    /// The change log's (dev, ino) then.
    pub log_id: (u64, u64),
    /// UIDVALIDITY.
    pub uid_validity: UidValidity,
    /// The last UID assigned.
    pub last_uid: u32,
    /// Messages.
    pub messages: u64,
    /// Messages without `\Seen`.
    pub unseen: u64,
    /// The sequence number of the first message without `\Seen` (1-based).
    pub first_unseen: Option<u64>,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

const fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

const fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2)?.try_into().ok().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)?.try_into().ok().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)?.try_into().ok().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take(8)?.try_into().ok().map(i64::from_le_bytes)
    }
    fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    #[inline(always)]
    fn varint(&mut self) -> Option<u64> {
        // Most values (deltas, flags, keyword bits) fit one byte.
        let b = *self.data.get(self.pos)?;
        if b < 0x80 {
            self.pos += 1;
            return Some(u64::from(b));
        }
        self.varint_long()
    }

    #[inline(never)]
    fn varint_long(&mut self) -> Option<u64> {
        let mut v = 0u64;
        let mut shift = 0u32;
        loop {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return None;
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
    }
}

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;

#[inline]
fn round(acc: u64, word: u64) -> u64 {
    acc.wrapping_add(word.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = bytes.len().min(8);
    w[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(w)
}

/// A fast 64-bit checksum (four independent lanes of multiply-rotate rounds, after xxHash64;
/// several GB/s), against damage, not against an adversary.
///
/// ```
/// use dmail_store::mbox::index::checksum;
/// assert_eq!(checksum(b"abc"), checksum(b"abc"));
/// assert_ne!(checksum(b"abc"), checksum(b"abd"));
/// assert_ne!(checksum(b""), checksum(b"\0"));
/// ```
pub fn checksum(data: &[u8]) -> u64 {
    let mut lanes = [P1.wrapping_add(P2), P2, 0, 0u64.wrapping_sub(P1)];
    let mut stripes = data.chunks_exact(32);
    for s in &mut stripes {
        for (i, lane) in lanes.iter_mut().enumerate() {
            *lane = round(*lane, word(&s[i * 8..i * 8 + 8]));
        }
    }
    let mut h = lanes[0]
        .rotate_left(1)
        .wrapping_add(lanes[1].rotate_left(7))
        .wrapping_add(lanes[2].rotate_left(12))
        .wrapping_add(lanes[3].rotate_left(18));
    for lane in lanes {
        h = (h ^ round(0, lane)).wrapping_mul(P1).wrapping_add(P3);
    }
    h = h.wrapping_add(data.len() as u64);
    let rest = stripes.remainder();
    for w in rest.chunks(8) {
        h = (h ^ round(0, word(w))).rotate_left(27).wrapping_mul(P1);
        h = h.wrapping_add(P3 ^ w.len() as u64);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

fn encode_entries(entries: &[Entry], out: &mut Vec<u8>) -> Option<()> {
    let mut prev_end = 0u64;
    let mut prev_uid = 0u32;
    let mut prev_date = 0i64;
    for e in entries {
        put_varint(out, e.start.checked_sub(prev_end)?);
        put_varint(out, e.end.checked_sub(e.start)?);
        put_varint(out, u64::from(e.block_rel));
        if e.block_rel != 0 {
            put_varint(out, u64::from(e.block_len));
        }
        let uid = e.uid.get();
        put_varint(
            out,
            u64::from(uid.checked_sub(prev_uid).filter(|d| *d > 0)?),
        );
        let date = e.date();
        let mut bits = e.system.bits();
        if e.stamped {
            bits |= STAMPED;
        }
        if date.is_some() {
            bits |= HAS_DATE;
        }
        out.push(bits);
        put_varint(out, u64::from(e.keywords.bits()));
        put_varint(out, e.size);
        if let Some(d) = date {
            put_varint(out, zigzag(d.unix.wrapping_sub(prev_date)));
            put_varint(out, zigzag(i64::from(d.offset_minutes)));
            prev_date = d.unix;
        }
        prev_end = e.end;
        prev_uid = uid;
    }
    Some(())
}

/// Where varints and bytes come from while decoding entries.
trait Source {
    fn varint(&mut self) -> Option<u64>;
    fn byte(&mut self) -> Option<u8>;
}

impl Source for Reader<'_> {
    #[inline(always)]
    fn varint(&mut self) -> Option<u64> {
        Reader::varint(self)
    }
    #[inline(always)]
    fn byte(&mut self) -> Option<u8> {
        Reader::byte(self)
    }
}

/// Bytes an entry can take at most: nine varints of at most 10 bytes and the flag byte.
const MAX_ENTRY: usize = 9 * 10 + 1;
/// The window [`Window`] reads one entry from (a power of two above [`MAX_ENTRY`]).
const WINDOW: usize = 128;
const _: () = assert!(MAX_ENTRY <= WINDOW);

/// One entry's bytes with room to spare, so that the hot loop needs no bounds check: positions
/// are taken modulo [`WINDOW`], which never changes them because an entry ends within
/// [`MAX_ENTRY`] bytes (each varint gives up after 10).
struct Window<'a> {
    w: &'a [u8; WINDOW],
    at: usize,
}

impl Source for Window<'_> {
    #[inline(always)]
    fn varint(&mut self) -> Option<u64> {
        let b = self.w[self.at % WINDOW];
        self.at += 1;
        if b < 0x80 {
            return Some(u64::from(b));
        }
        let mut v = u64::from(b & 0x7f);
        let mut shift = 7u32;
        loop {
            let b = self.w[self.at % WINDOW];
            self.at += 1;
            if shift == 63 && b > 1 {
                return None;
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
    }
    #[inline(always)]
    fn byte(&mut self) -> Option<u8> {
        let b = self.w[self.at % WINDOW];
        self.at += 1;
        Some(b)
    }
}

/// What each entry is encoded relative to.
#[derive(Default)]
struct Previous {
    end: u64,
    uid: u32,
    date: i64,
}

/// Decodes one entry, checking everything [`encode_entries`] guarantees.
#[inline(always)]
fn decode_entry(r: &mut impl Source, prev: &mut Previous, file_len: u64) -> Option<Entry> {
    let start = prev.end.checked_add(r.varint()?)?;
    let end = start.checked_add(r.varint()?)?;
    let block_rel = u32::try_from(r.varint()?).ok()?;
    let block_len = if block_rel == 0 {
        0
    } else {
        u16::try_from(r.varint()?).ok().filter(|l| *l > 0)?
    };
    if u64::from(block_rel) + u64::from(block_len) > end - start {
        return None;
    }
    let delta = u32::try_from(r.varint()?).ok().filter(|d| *d > 0)?;
    let uid = Uid::new(prev.uid.checked_add(delta)?)?;
    let bits = r.byte()?;
    if bits & 0x80 != 0 || SystemFlags::from_bits(bits & 0x1f).bits() != bits & 0x1f {
        return None;
    }
    let kw = u32::try_from(r.varint()?).ok()?;
    let keywords = KeywordSet::from_bits(kw);
    if keywords.bits() != kw {
        return None;
    }
    let size = r.varint()?;
    let date = if bits & HAS_DATE != 0 {
        let unix = prev.date.checked_add(unzigzag(r.varint()?))?;
        let offset_minutes = i16::try_from(unzigzag(r.varint()?)).ok()?;
        prev.date = unix;
        // Only what `Entry::new` can have packed.
        let packed = pack_date(Some(InternalDate {
            unix,
            offset_minutes,
        }));
        if packed == NO_DATE {
            return None;
        }
        packed
    } else {
        NO_DATE
    };
    if end > file_len {
        return None;
    }
    prev.end = end;
    prev.uid = uid.get();
    Some(Entry {
        start,
        end,
        size,
        date,
        uid,
        keywords,
        block_rel,
        block_len,
        system: SystemFlags::from_bits(bits),
        stamped: bits & STAMPED != 0,
    })
}

fn decode_entries(data: &[u8], count: usize, file_len: u64) -> Option<Vec<Entry>> {
    // Every entry takes at least 7 bytes: a count beyond that is damage, not a reason to
    // allocate.
    if count > data.len() / 7 + 1 {
        return None;
    }
    let mut entries = Vec::with_capacity(count);
    let mut prev = Previous::default();
    let mut pos = 0usize;
    // Reopening a large mailbox is mostly this loop: entries are read from a fixed-size
    // window while one fits, which lets the compiler drop the per-byte bounds checks.
    while entries.len() < count {
        let Some(w) = data
            .get(pos..pos.saturating_add(WINDOW))
            .and_then(|w| <&[u8; WINDOW]>::try_from(w).ok())
        else {
            break;
        };
        let mut r = Window { w, at: 0 };
        entries.push(decode_entry(&mut r, &mut prev, file_len)?);
        pos += r.at;
    }
    let mut r = Reader { data, pos };
    while entries.len() < count {
        entries.push(decode_entry(&mut r, &mut prev, file_len)?);
    }
    (r.pos == data.len()).then_some(entries)
}

fn opt_range(present: bool, a: u64, b: u64) -> Option<Option<(u64, u64)>> {
    if !present {
        return Some(None);
    }
    (a <= b).then_some(Some((a, b)))
}

impl Index {
    /// The index file's bytes; `None` when the entries are not in file and UID order (the
    /// engine never has such entries; nothing is then saved).
    ///
    /// ```
    /// use dmail_store::mbox::index::{Entry, Index};
    /// use dmail_store::mbox::{LineEnding, changelog::FileStamp};
    /// use dmail_store::{Flags, KeywordTable, Uid, UidValidity};
    /// let e = Entry::new(70, 200, None, Uid::new(3).unwrap(), Flags::default(), 120, None, true);
    /// let index = Index {
    ///     stamp: FileStamp { len: 200, dev: 1, ino: 2, ctime: 3, ctime_nsec: 4 },
    ///     log_pos: 0, log_id: (0, 0),
    ///     uid_validity: UidValidity::new(1_700_000_000).unwrap(), last_uid: 3,
    ///     keywords: KeywordTable::new(["$Junk".to_owned()]), ending: LineEnding::Lf,
    ///     pseudo: Some((0, 70)), last_uid_field: Some((40, 50)), junk: false,
    ///     prefix_check: 99, entries: vec![e],
    /// };
    /// let bytes = index.encode().unwrap();
    /// assert_eq!(Index::decode(&bytes), Some(index));
    /// ```
    pub fn encode(&self) -> Option<Vec<u8>> {
        let mut entries = Vec::with_capacity(self.entries.len() * 18 + 16);
        encode_entries(&self.entries, &mut entries)?;
        let unseen = self
            .entries
            .iter()
            .filter(|e| !e.system.contains(SystemFlags::SEEN))
            .count() as u64;
        let first_unseen = self
            .entries
            .iter()
            .position(|e| !e.system.contains(SystemFlags::SEEN))
            .map_or(0, |i| i as u64 + 1);
        let mut h = Vec::with_capacity(FIXED + 64 + entries.len());
        h.extend_from_slice(MAGIC);
        h.extend_from_slice(&VERSION.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes()); // header length, filled in below
        for v in [self.stamp.len, self.stamp.dev, self.stamp.ino] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        for v in [self.stamp.ctime, self.stamp.ctime_nsec] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        for v in [self.log_pos, self.log_id.0, self.log_id.1] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        let mut bits = 0;
        if self.ending == LineEnding::Crlf {
            bits |= BIT_CRLF;
        }
        if self.junk {
            bits |= BIT_JUNK;
        }
        if self.pseudo.is_some() {
            bits |= BIT_PSEUDO;
        }
        if self.last_uid_field.is_some() {
            bits |= BIT_FIELD;
        }
        for v in [self.uid_validity.get(), self.last_uid, bits, 0] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        let (pa, pb) = self.pseudo.unwrap_or_default();
        let (fa, fb) = self.last_uid_field.unwrap_or_default();
        for v in [pa, pb, fa, fb, self.prefix_check] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        for v in [self.entries.len() as u64, unseen, first_unseen] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        h.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        h.extend_from_slice(&checksum(&entries).to_le_bytes());
        debug_assert_eq!(h.len(), FIXED);
        let names = self.keywords.names();
        h.extend_from_slice(&u32::try_from(names.len()).ok()?.to_le_bytes());
        for n in names {
            h.extend_from_slice(&u16::try_from(n.len()).ok()?.to_le_bytes());
            h.extend_from_slice(n.as_bytes());
        }
        let header_len = u32::try_from(h.len() + 8).ok()?;
        h[12..16].copy_from_slice(&header_len.to_le_bytes());
        let sum = checksum(&h);
        h.extend_from_slice(&sum.to_le_bytes());
        h.extend_from_slice(&entries);
        Some(h)
    }

    /// The index in `bytes`; `None` unless it is whole, of this version, and consistent.
    pub fn decode(bytes: &[u8]) -> Option<Index> {
        let (head, header_len) = Head::decode(bytes)?;
        let body = bytes.get(header_len..)?;
        if body.len() as u64 != head.entries_len || checksum(body) != head.entries_sum {
            return None;
        }
        let count = usize::try_from(head.summary.messages).ok()?;
        let entries = decode_entries(body, count, head.summary.stamp.len)?;
        if head.summary.last_uid < entries.last().map_or(0, |e| e.uid.get()) {
            return None;
        }
        Some(Index {
            stamp: head.summary.stamp,
            log_pos: head.summary.log_pos,
            log_id: head.summary.log_id,
            uid_validity: head.summary.uid_validity,
            last_uid: head.summary.last_uid,
            keywords: head.keywords,
            ending: head.ending,
            pseudo: head.pseudo,
            last_uid_field: head.last_uid_field,
            junk: head.junk,
            prefix_check: head.prefix_check,
            entries,
        })
    }
}

/// The decoded header.
struct Head {
    summary: Summary,
    keywords: KeywordTable,
    ending: LineEnding,
    pseudo: Option<(u64, u64)>,
    last_uid_field: Option<(u64, u64)>,
    junk: bool,
    prefix_check: u64,
    entries_len: u64,
    entries_sum: u64,
}

impl Head {
    /// The header at the start of `bytes` and its length; `None` unless its checksum matches.
    fn decode(bytes: &[u8]) -> Option<(Head, usize)> {
        let mut r = Reader {
            data: bytes,
            pos: 0,
        };
        if r.take(8)? != MAGIC || r.u32()? != VERSION {
            return None;
        }
        let header_len = usize::try_from(r.u32()?).ok()?;
        let sum_at = header_len.checked_sub(8).filter(|at| *at >= FIXED + 4)?;
        let stored = u64::from_le_bytes(bytes.get(sum_at..header_len)?.try_into().ok()?);
        if checksum(&bytes[..sum_at]) != stored {
            return None;
        }
        let stamp = FileStamp {
            len: r.u64()?,
            dev: r.u64()?,
            ino: r.u64()?,
            ctime: r.i64()?,
            ctime_nsec: r.i64()?,
        };
        let log_pos = r.u64()?;
        let log_id = (r.u64()?, r.u64()?);
        let uid_validity = UidValidity::new(r.u32()?)?;
        let last_uid = r.u32()?;
        let bits = r.u32()?;
        let _reserved = r.u32()?;
        let (pa, pb, fa, fb) = (r.u64()?, r.u64()?, r.u64()?, r.u64()?);
        let prefix_check = r.u64()?;
        let messages = r.u64()?;
        let unseen = r.u64()?;
        let first_unseen = r.u64()?;
        let entries_len = r.u64()?;
        let entries_sum = r.u64()?;
        let count = r.u32()?;
        let mut names = Vec::new();
        for _ in 0..count.min(crate::MAX_KEYWORDS as u32 + 1) {
            let len = usize::from(r.u16()?);
            names.push(String::from_utf8(r.take(len)?.to_vec()).ok()?);
        }
        if names.len() != count as usize || r.pos != sum_at || unseen > messages {
            return None;
        }
        let keywords = KeywordTable::new(names.iter().cloned());
        if keywords.names() != names.as_slice() {
            return None;
        }
        let head = Head {
            summary: Summary {
                stamp,
                log_pos,
                log_id,
                uid_validity,
                last_uid,
                messages,
                unseen,
                first_unseen: (first_unseen != 0).then_some(first_unseen),
            },
            keywords,
            ending: if bits & BIT_CRLF != 0 {
                LineEnding::Crlf
            } else {
                LineEnding::Lf
            },
            pseudo: opt_range(bits & BIT_PSEUDO != 0, pa, pb)?,
            last_uid_field: opt_range(bits & BIT_FIELD != 0, fa, fb)?,
            junk: bits & BIT_JUNK != 0,
            prefix_check,
            entries_len,
            entries_sum,
        };
        Some((head, header_len))
    }
}

/// Reads the index at `path`: `Ok(None)` when there is none or it is not usable.
pub fn read(path: &Path) -> io::Result<Option<Index>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Index::decode(&bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads only the header of the index at `path` (one small read): the counts and what tells
/// whether they are still true. `Ok(None)` when there is none or it is not usable.
pub fn read_summary(path: &Path) -> io::Result<Option<Summary>> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut buf = vec![0u8; SUMMARY_READ];
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    buf.truncate(n);
    let want = buf
        .get(12..16)
        .and_then(|b| b.try_into().ok())
        .map_or(0, |b| u32::from_le_bytes(b) as usize);
    if want > buf.len() && n == SUMMARY_READ && want <= 1 << 20 {
        let mut rest = vec![0u8; want - buf.len()];
        f.read_exact(&mut rest)?;
        buf.extend_from_slice(&rest);
    }
    Ok(Head::decode(&buf).map(|(h, _)| h.summary))
}

/// Writes `index` to `path` atomically: a temp file beside it (`.NAME.PID.N.tmp`, so that
/// handles writing at once never share one), then a rename. Not fsynced: an index lost or torn
/// in a crash fails its checksum and is rebuilt by a scan.
pub fn write(path: &Path, index: &Index) -> io::Result<()> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let bytes = index
        .encode()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "entries out of order"))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "index path"))?;
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(&bytes)?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: u32) -> Index {
        let mut entries = Vec::new();
        let mut at = 3000u64;
        for i in 1..=n {
            let len = 500 + u64::from(i % 7) * 1000;
            let block = (i % 5 != 0).then_some((at + 120, 62));
            let flags = Flags {
                system: SystemFlags::from_bits((i % 32) as u8),
                keywords: KeywordSet::from_bits(if i % 3 == 0 { 0b101 } else { 0 }),
            };
            let date = (i % 11 != 0).then_some(InternalDate {
                unix: 1_600_000_000 + i64::from(i) * 37 - i64::from(i % 4) * 1000,
                offset_minutes: [0, 60, -300, 330][(i % 4) as usize],
            });
            entries.push(Entry::new(
                at,
                at + len,
                block,
                Uid::new(i * 3 + (i % 3)).unwrap(),
                flags,
                len + 40,
                date,
                i % 13 != 0,
            ));
            at += len;
        }
        Index {
            stamp: FileStamp {
                len: at,
                dev: 2049,
                ino: 123_456,
                ctime: 1_700_000_000,
                ctime_nsec: 999_999_999,
            },
            log_pos: 320,
            log_id: (2049, 777),
            uid_validity: UidValidity::new(1_700_000_000).unwrap(),
            last_uid: n * 3 + 5,
            keywords: KeywordTable::new(["$Junk".into(), "Work".into(), "ünï".into()]),
            ending: LineEnding::Crlf,
            pseudo: Some((0, 3000)),
            last_uid_field: Some((2000, 2010)),
            junk: false,
            prefix_check: 0xdead_beef,
            entries,
        }
    }

    #[test]
    fn entry_is_48_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 48);
    }

    #[test]
    fn round_trip() {
        for n in [0, 1, 2, 1000] {
            let ix = sample(n);
            let bytes = ix.encode().unwrap();
            assert_eq!(Index::decode(&bytes).as_ref(), Some(&ix), "n = {n}");
            let s = Head::decode(&bytes).unwrap().0.summary;
            assert_eq!(s.messages, u64::from(n));
            assert_eq!(
                s.unseen,
                ix.entries
                    .iter()
                    .filter(|e| !e.flags().system.contains(SystemFlags::SEEN))
                    .count() as u64
            );
        }
        let ix = sample(1000);
        assert!(
            ix.encode().unwrap().len() < 1000 * 20 + 400,
            "about 17 bytes a message"
        );
    }

    #[test]
    fn extreme_values_round_trip() {
        let mut ix = sample(3);
        ix.entries[0].set_flags(Flags {
            system: SystemFlags::ALL,
            keywords: KeywordSet::from_bits(u32::MAX),
        });
        ix.entries[1] = Entry::new(
            ix.entries[0].end,
            u64::MAX / 4,
            Some((ix.entries[0].end + 65_000, 65_535)),
            Uid::new(u32::MAX - 1).unwrap(),
            Flags::default(),
            u64::MAX / 2,
            Some(InternalDate {
                unix: -(1 << 46),
                offset_minutes: i16::MIN,
            }),
            true,
        );
        ix.entries.truncate(2);
        ix.stamp.len = u64::MAX / 4;
        ix.last_uid = u32::MAX;
        let bytes = ix.encode().unwrap();
        assert_eq!(Index::decode(&bytes), Some(ix));
    }

    #[test]
    fn out_of_reach_blocks_and_dates_are_not_kept() {
        let e = Entry::new(
            0,
            10 << 32,
            Some((5 << 32, 60)),
            Uid::MIN,
            Flags::default(),
            1,
            Some(InternalDate {
                unix: i64::MAX,
                offset_minutes: 0,
            }),
            true,
        );
        assert_eq!((e.block(), e.date()), (None, None));
        let e = Entry::new(
            0,
            1 << 20,
            Some((10, 70_000)),
            Uid::MIN,
            Flags::default(),
            1,
            None,
            true,
        );
        assert_eq!(e.block(), None);
    }

    #[test]
    fn every_damaged_byte_is_noticed() {
        let bytes = sample(40).encode().unwrap();
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                assert_eq!(Index::decode(&b), None, "byte {i} ^ {flip:#x}");
            }
        }
        for cut in 0..bytes.len() {
            assert_eq!(Index::decode(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Index::decode(&longer), None);
        let mut other_version = bytes;
        other_version[8] = 2;
        assert_eq!(Index::decode(&other_version), None);
    }

    #[test]
    fn unordered_entries_are_not_saved() {
        let mut ix = sample(3);
        ix.entries.swap(0, 1);
        assert_eq!(ix.encode(), None);
        let mut ix = sample(3);
        ix.entries[1].uid = ix.entries[0].uid;
        assert_eq!(ix.encode(), None);
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 12345u64;
        let bytes = sample(20).encode().unwrap();
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut b = bytes.clone();
            let at = (seed as usize) % b.len();
            b[at] = (seed >> 32) as u8;
            // Whatever the damage, decoding returns (usually None; the checksum might not
            // notice a change that keeps it, which this would then show as equal input).
            if let Some(ix) = Index::decode(&b) {
                assert_eq!(b, bytes);
                assert_eq!(ix, sample(20));
            }
        }
        assert_eq!(Index::decode(b"DMIMAPIX"), None);
        assert_eq!(Index::decode(&[]), None);
    }

    #[test]
    fn files_round_trip_and_the_summary_reads_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("INBOX.index");
        assert_eq!(read(&path).unwrap(), None);
        assert_eq!(read_summary(&path).unwrap(), None);
        let ix = sample(500);
        write(&path, &ix).unwrap();
        assert_eq!(read(&path).unwrap(), Some(ix.clone()));
        let s = read_summary(&path).unwrap().unwrap();
        assert_eq!(
            (s.stamp, s.messages, s.last_uid),
            (ix.stamp, 500, ix.last_uid)
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
        // A torn write (the crash case: renamed but not all on disk) is ignored.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert_eq!(read(&path).unwrap(), None);
        std::fs::write(&path, &bytes[..100]).unwrap();
        assert_eq!(read_summary(&path).unwrap(), None);
    }

    #[test]
    fn a_long_keyword_table_is_read_by_the_summary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.index");
        let mut ix = sample(2);
        ix.keywords = KeywordTable::new((0..30).map(|i| format!("{i}{}", "k".repeat(300))));
        write(&path, &ix).unwrap();
        assert_eq!(read_summary(&path).unwrap().unwrap().messages, 2);
        assert_eq!(read(&path).unwrap(), Some(ix));
    }

    #[test]
    fn checksum_lanes_all_count() {
        let base = vec![7u8; 100];
        let h = checksum(&base);
        for i in 0..base.len() {
            let mut b = base.clone();
            b[i] ^= 1;
            assert_ne!(checksum(&b), h, "byte {i}");
        }
    }
}
