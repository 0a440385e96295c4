//! The change log: how handles on one mailbox learn of each other's in-place flag writes without
//! rescanning every status block (mailbox-formats.md §2).
//!
//! A writer appends one fixed-size record per message whose flags it wrote in place, carrying the
//! file's size and ctime after the write; a reader takes the records past its position, and if
//! the last one's size and ctime are what the file shows now, it knows exactly what changed.
//! Records are appended with `O_APPEND` in single writes, so writers in many processes do not
//! interleave. The log is an optimisation: losing it costs a rescan, never a flag. It must never
//! be the only place a flag is kept.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use crate::{Flags, KeywordSet, SystemFlags, Uid};

const RECORD: usize = 32;

/// The identity and state of a mailbox file that tells whether someone else changed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FileStamp {
    /// Length in bytes.
    pub len: u64,
    /// Device and inode.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Change time, seconds.
    pub ctime: i64,
    /// Change time, nanoseconds.
    pub ctime_nsec: i64,
}

impl FileStamp {
    /// The stamp of an open file.
    pub fn of(file: &File) -> io::Result<FileStamp> {
        let m = file.metadata()?;
        Ok(FileStamp {
            len: m.len(),
            dev: m.dev(),
            ino: m.ino(),
            ctime: m.ctime(),
            ctime_nsec: m.ctime_nsec(),
        })
    }
}

/// One flag write by some handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// The message.
    pub uid: Uid,
    /// Its flags after the write.
    pub flags: Flags,
    /// The file's length after the write.
    pub len: u64,
    /// The file's ctime after the write (seconds, nanoseconds).
    pub ctime: (i64, u32),
}

impl Record {
    fn encode(&self) -> [u8; RECORD] {
        let mut b = [0u8; RECORD];
        b[0..4].copy_from_slice(&self.uid.get().to_le_bytes());
        b[4] = self.flags.system.bits();
        b[8..12].copy_from_slice(&self.flags.keywords.bits().to_le_bytes());
        b[12..20].copy_from_slice(&self.len.to_le_bytes());
        b[20..28].copy_from_slice(&self.ctime.0.to_le_bytes());
        b[28..32].copy_from_slice(&self.ctime.1.to_le_bytes());
        b
    }

    fn decode(b: &[u8]) -> Option<Record> {
        let u32_at = |i: usize| {
            b.get(i..i + 4)
                .and_then(|s| s.try_into().ok())
                .map(u32::from_le_bytes)
        };
        let u64_at = |i: usize| {
            b.get(i..i + 8)
                .and_then(|s| s.try_into().ok())
                .map(u64::from_le_bytes)
        };
        Some(Record {
            uid: Uid::new(u32_at(0)?)?,
            flags: Flags {
                system: SystemFlags::from_bits(*b.get(4)?),
                keywords: KeywordSet::from_bits(u32_at(8)?),
            },
            len: u64_at(12)?,
            ctime: (
                i64::from_le_bytes(b.get(20..28)?.try_into().ok()?),
                u32_at(28)?,
            ),
        })
    }

    /// Whether the file's present stamp is the one this record left.
    pub fn explains(&self, stamp: &FileStamp) -> bool {
        self.len == stamp.len
            && self.ctime.0 == stamp.ctime
            && i64::from(self.ctime.1) == stamp.ctime_nsec
    }
}

/// Appends records to the log at `path` in one write.
///
/// ```
/// use dmail_store::mbox::changelog::{append, read_from, Record};
/// use dmail_store::{Flags, SystemFlags, KeywordSet, Uid};
/// let dir = tempfile::tempdir().unwrap();
/// let log = dir.path().join("log");
/// let r = Record { uid: Uid::new(3).unwrap(), flags: Flags { system: SystemFlags::SEEN, keywords: KeywordSet::EMPTY }, len: 10, ctime: (5, 6) };
/// append(&log, &[r]).unwrap();
/// let (records, pos) = read_from(&log, 0).unwrap().unwrap();
/// assert_eq!(records, [r]);
/// assert_eq!(pos, 32);
/// ```
pub fn append(path: &Path, records: &[Record]) -> io::Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let mut buf = Vec::with_capacity(records.len() * RECORD);
    for r in records {
        buf.extend_from_slice(&r.encode());
    }
    let mut f = OpenOptions::new().append(true).create(true).open(path)?;
    f.write_all(&buf)
}

/// The records from byte `pos` on, and the position after them. `None` when the log is shorter
/// than `pos` (it was truncated: the caller must rescan) — a missing log reads as empty.
pub fn read_from(path: &Path, pos: u64) -> io::Result<Option<(Vec<Record>, u64)>> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok((pos == 0).then_some((Vec::new(), 0)));
        }
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    if len < pos {
        return Ok(None);
    }
    // Only whole records; a record being written right now is read next time.
    let whole = (len - pos) / RECORD as u64 * RECORD as u64;
    let size = usize::try_from(whole).map_err(|_| io::Error::other("change log too large"))?;
    let mut buf = vec![0u8; size];
    f.read_exact_at(&mut buf, pos)?;
    let records = buf
        .chunks_exact(RECORD)
        .filter_map(Record::decode)
        .collect();
    Ok(Some((records, pos + whole)))
}

/// The log's present length (where a handle that just synced starts reading next time).
pub fn end(path: &Path) -> io::Result<u64> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(m.len() / RECORD as u64 * RECORD as u64),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}
