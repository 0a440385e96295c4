//! The undo journal that makes mailbox rewrites crash-safe (mailbox-formats.md §2).
//!
//! Before a rewrite touches the mailbox, the bytes it will overwrite and the file's original
//! length are written to a journal file beside the private data and made durable. Every opener
//! runs [`recover`] first: with a journal present, the old bytes are put back and the file cut to
//! its old length, so a rewrite killed at any instant leaves the old content. This module must
//! never decide what to rewrite, and must never be used without the mailbox's exclusive lock.
//! Journals are written and read back in chunks: a rewrite of a 1 GB file never holds the saved
//! bytes in memory.
//!
//! Format: `DMJRNL1\n`, original length, planned length, region count (u64 little-endian),
//! then per region its offset, length and saved bytes, then the FNV-1a 64 of all of that and
//! `DMJEND1\n`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"DMJRNL1\n";
const TRAILER: &[u8; 8] = b"DMJEND1\n";
/// Regions larger than this are refused: a journal is meant for the tail of one mailbox, and a
/// bound keeps a corrupt journal from asking for absurd allocations.
const MAX_REGION: u64 = 16 << 30;
/// How much of a region is read or written at a time.
const CHUNK: usize = 1 << 20;

/// A journal that has been made durable; the rewrite may now proceed.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
}

/// What [`recover`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// There was no journal.
    Clean,
    /// A journal was found and the old content restored.
    Restored {
        /// Bytes found past the rewrite's extent (written by a foreign program after the crash)
        /// and kept at the end of the restored file.
        kept: u64,
    },
    /// A journal was found but is incomplete or damaged; it was written before any mailbox byte
    /// changed (journals are made durable before the rewrite starts), so it was removed.
    DiscardedIncomplete,
    /// A journal was found, but the file is shorter than the rewrite could ever have left it:
    /// another program cut it after the crash (DPOP's burst). The journal no longer describes
    /// the file, so it was removed and the file left as it is (restoring would write old bytes
    /// at old offsets: NULs in front, messages already taken brought back).
    DiscardedStale,
}

fn fnv1a(data: &[u8], mut h: u64) -> u64 {
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Journal {
    /// Saves `file`'s bytes in `regions` (offset, length; each within `original_len`), the
    /// original length and the length the rewrite will give the file, to `path`, durably.
    ///
    /// ```
    /// use std::io::Write;
    /// use dmail_store::mbox::journal::{Journal, recover, Recovery};
    /// let dir = tempfile::tempdir().unwrap();
    /// let mbox = dir.path().join("mbox");
    /// std::fs::write(&mbox, b"old content").unwrap();
    /// let f = std::fs::OpenOptions::new().read(true).write(true).open(&mbox).unwrap();
    /// let j = Journal::begin(&dir.path().join("journal"), &f, 11, 20, &[(4, 7)]).unwrap();
    /// use std::os::unix::fs::FileExt;
    /// f.write_all_at(b"NEW CONTENT!", 4).unwrap();      // ...killed here...
    /// drop(j);
    /// assert!(matches!(recover(&dir.path().join("journal"), &f).unwrap(), Recovery::Restored { .. }));
    /// assert_eq!(std::fs::read(&mbox).unwrap(), b"old content");
    /// ```
    pub fn begin(
        path: &Path,
        file: &File,
        original_len: u64,
        planned_len: u64,
        regions: &[(u64, u64)],
    ) -> io::Result<Journal> {
        for &(offset, len) in regions {
            let end = offset.checked_add(len).filter(|e| *e <= original_len);
            if end.is_none() || len > MAX_REGION {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "journal region outside the file",
                ));
            }
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let tmp = path.with_extension("journal-tmp");
        {
            let mut t = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            // Streamed in chunks: the saved bytes are never all in memory at once.
            let mut sum = FNV_START;
            let mut pending = Vec::with_capacity(CHUNK + 64);
            pending.extend_from_slice(MAGIC);
            pending.extend_from_slice(&original_len.to_le_bytes());
            pending.extend_from_slice(&planned_len.to_le_bytes());
            pending.extend_from_slice(&(regions.len() as u64).to_le_bytes());
            for &(offset, len) in regions {
                pending.extend_from_slice(&offset.to_le_bytes());
                pending.extend_from_slice(&len.to_le_bytes());
                let mut done = 0u64;
                while done < len {
                    let n = usize::try_from((len - done).min(CHUNK as u64))
                        .map_err(|_| io::Error::other("journal region too large"))?;
                    let at = pending.len();
                    pending.resize(at + n, 0);
                    file.read_exact_at(&mut pending[at..], offset + done)?;
                    done += n as u64;
                    if pending.len() >= CHUNK {
                        sum = fnv1a(&pending, sum);
                        t.write_all(&pending)?;
                        pending.clear();
                    }
                }
            }
            sum = fnv1a(&pending, sum);
            pending.extend_from_slice(&sum.to_le_bytes());
            pending.extend_from_slice(TRAILER);
            t.write_all(&pending)?;
            t.sync_all()?;
        }
        crate::failpoint::hit("journal:written");
        // A journal that exists under its real name is always complete.
        fs::rename(&tmp, path)?;
        sync_dir(dir)?;
        Ok(Journal {
            path: path.to_owned(),
        })
    }

    /// The rewrite is complete and the mailbox fsynced: forget the old bytes.
    pub fn commit(self) -> io::Result<()> {
        fs::remove_file(&self.path)?;
        if let Some(dir) = self.path.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    }
}

/// A journal that passed its checks: the lengths, and each region's place in the file and in
/// the journal.
struct Parsed {
    original_len: u64,
    planned_len: u64,
    /// (offset in the mailbox, length, offset of the saved bytes in the journal).
    regions: Vec<(u64, u64, u64)>,
}

fn u64_at(j: &File, at: u64) -> io::Result<u64> {
    let mut b = [0u8; 8];
    j.read_exact_at(&mut b, at)?;
    Ok(u64::from_le_bytes(b))
}

/// Checks a journal without holding it in memory: the trailer, the checksum of everything
/// before it (read in chunks), then the structure. `None` when it is incomplete or damaged.
fn parse(j: &File) -> io::Result<Option<Parsed>> {
    let len = j.metadata()?.len();
    let Some(body_len) = len.checked_sub(16).filter(|b| *b >= 32) else {
        return Ok(None);
    };
    let mut tail = [0u8; 16];
    j.read_exact_at(&mut tail, body_len)?;
    if &tail[8..] != TRAILER {
        return Ok(None);
    }
    let mut magic = [0u8; 8];
    j.read_exact_at(&mut magic, 0)?;
    if &magic != MAGIC {
        return Ok(None);
    }
    let mut sum = FNV_START;
    let mut buf = vec![0u8; usize::try_from(body_len.min(CHUNK as u64)).unwrap_or(CHUNK)];
    let mut pos = 0u64;
    while pos < body_len {
        let n = usize::try_from((body_len - pos).min(buf.len() as u64)).unwrap_or(buf.len());
        j.read_exact_at(&mut buf[..n], pos)?;
        sum = fnv1a(&buf[..n], sum);
        pos += n as u64;
    }
    if sum.to_le_bytes() != tail[..8] {
        return Ok(None);
    }
    let original_len = u64_at(j, 8)?;
    let planned_len = u64_at(j, 16)?;
    let count = u64_at(j, 24)?;
    let mut regions = Vec::new();
    let mut at = 32u64;
    for _ in 0..count {
        if at.checked_add(16).is_none_or(|e| e > body_len) {
            return Ok(None);
        }
        let offset = u64_at(j, at)?;
        let region_len = u64_at(j, at + 8)?;
        let saved = at + 16;
        match saved.checked_add(region_len) {
            Some(e) if e <= body_len => at = e,
            _ => return Ok(None),
        }
        regions.push((offset, region_len, saved));
    }
    Ok(Some(Parsed {
        original_len,
        planned_len,
        regions,
    }))
}

/// Removes the temporary file of a journal whose writer died before renaming it (nothing was
/// overwritten yet; it only holds a copy of the old bytes). Best effort: it is garbage, and the
/// next rewrite replaces it anyway.
fn remove_unfinished(journal: &Path) {
    let _ = fs::remove_file(journal.with_extension("journal-tmp"));
}

/// Puts back what an interrupted rewrite overwrote, if `journal` exists. Call with the
/// mailbox's exclusive lock held, before reading it.
pub fn recover(journal: &Path, file: &File) -> io::Result<Recovery> {
    let j = match File::open(journal) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            remove_unfinished(journal);
            return Ok(Recovery::Clean);
        }
        Err(e) => return Err(e),
    };
    let Some(parsed) = parse(&j)? else {
        fs::remove_file(journal)?;
        return Ok(Recovery::DiscardedIncomplete);
    };
    let len = file.metadata()?.len();
    // A rewrite only ever leaves the file between its old and its planned length.
    if len < parsed.original_len.min(parsed.planned_len) {
        fs::remove_file(journal)?;
        if let Some(dir) = journal.parent() {
            sync_dir(dir)?;
        }
        return Ok(Recovery::DiscardedStale);
    }
    // Bytes past everything the rewrite could have written belong to someone else: keep them.
    let extent = parsed.original_len.max(parsed.planned_len);
    let foreign = if len > extent {
        let size = usize::try_from(len - extent).map_err(|_| io::Error::other("too large"))?;
        let mut v = vec![0u8; size];
        file.read_exact_at(&mut v, extent)?;
        v
    } else {
        Vec::new()
    };
    let mut buf = Vec::new();
    for &(offset, region_len, saved) in &parsed.regions {
        let mut done = 0u64;
        while done < region_len {
            let n = usize::try_from((region_len - done).min(CHUNK as u64))
                .map_err(|_| io::Error::other("journal region too large"))?;
            buf.resize(n, 0);
            j.read_exact_at(&mut buf, saved + done)?;
            file.write_all_at(&buf, offset + done)?;
            done += n as u64;
        }
    }
    file.set_len(parsed.original_len)?;
    if !foreign.is_empty() {
        file.write_all_at(&foreign, parsed.original_len)?;
    }
    file.sync_all()?;
    fs::remove_file(journal)?;
    if let Some(dir) = journal.parent() {
        sync_dir(dir)?;
    }
    Ok(Recovery::Restored {
        kept: foreign.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(content: &[u8]) -> (tempfile::TempDir, PathBuf, File) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m");
        fs::write(&p, content).unwrap();
        let f = OpenOptions::new().read(true).write(true).open(&p).unwrap();
        (dir, p, f)
    }

    #[test]
    fn no_journal_is_clean() {
        let (dir, _, f) = setup(b"x");
        assert_eq!(recover(&dir.path().join("j"), &f).unwrap(), Recovery::Clean);
    }

    #[test]
    fn restores_a_shrinking_rewrite() {
        let (dir, p, f) = setup(b"AAAABBBBCCCC");
        let j = dir.path().join("j");
        let journal = Journal::begin(&j, &f, 12, 8, &[(4, 8)]).unwrap();
        f.write_all_at(b"CCCC", 4).unwrap();
        f.set_len(8).unwrap();
        drop(journal);
        assert_eq!(recover(&j, &f).unwrap(), Recovery::Restored { kept: 0 });
        assert_eq!(fs::read(&p).unwrap(), b"AAAABBBBCCCC");
        assert!(!j.exists());
    }

    #[test]
    fn keeps_foreign_bytes_past_the_rewrite() {
        let (dir, p, f) = setup(b"AAAABBBB");
        let j = dir.path().join("j");
        let journal = Journal::begin(&j, &f, 8, 10, &[(4, 4)]).unwrap();
        f.write_all_at(b"XXXXXX", 4).unwrap(); // the rewrite, 10 bytes now
        f.write_all_at(b"From new", 10).unwrap(); // a foreign append after the crash
        drop(journal);
        assert_eq!(recover(&j, &f).unwrap(), Recovery::Restored { kept: 8 });
        assert_eq!(fs::read(&p).unwrap(), b"AAAABBBBFrom new");
    }

    #[test]
    fn committed_journal_leaves_new_content() {
        let (dir, p, f) = setup(b"AAAABBBB");
        let j = dir.path().join("j");
        let journal = Journal::begin(&j, &f, 8, 8, &[(0, 8)]).unwrap();
        f.write_all_at(b"ZZZZZZZZ", 0).unwrap();
        journal.commit().unwrap();
        assert_eq!(recover(&j, &f).unwrap(), Recovery::Clean);
        assert_eq!(fs::read(&p).unwrap(), b"ZZZZZZZZ");
    }

    #[test]
    fn damaged_journal_is_discarded_and_file_untouched() {
        let (dir, p, f) = setup(b"AAAABBBB");
        let j = dir.path().join("j");
        drop(Journal::begin(&j, &f, 8, 8, &[(0, 8)]).unwrap());
        let mut data = fs::read(&j).unwrap();
        let mid = data.len() / 2;
        data[mid] ^= 0xff;
        fs::write(&j, &data).unwrap();
        assert_eq!(recover(&j, &f).unwrap(), Recovery::DiscardedIncomplete);
        assert_eq!(fs::read(&p).unwrap(), b"AAAABBBB");
        assert!(!j.exists());
    }

    #[test]
    fn journal_of_a_file_cut_by_someone_else_is_dropped() {
        let (dir, p, f) = setup(b"AAAABBBBCCCC");
        let j = dir.path().join("j");
        let journal = Journal::begin(&j, &f, 12, 14, &[(4, 8)]).unwrap();
        f.write_all_at(b"XXXXXXXXXX", 4).unwrap(); // ...killed here...
        drop(journal);
        f.set_len(0).unwrap(); // DPOP's burst
        assert_eq!(recover(&j, &f).unwrap(), Recovery::DiscardedStale);
        assert_eq!(fs::read(&p).unwrap(), b"");
        assert!(!j.exists());
    }

    #[test]
    fn unfinished_journal_is_removed_and_file_untouched() {
        let (dir, p, f) = setup(b"AAAABBBB");
        let j = dir.path().join("m.journal");
        let tmp = dir.path().join("m.journal-tmp");
        fs::write(&tmp, b"DMJRNL1\n half a journal").unwrap();
        assert_eq!(recover(&j, &f).unwrap(), Recovery::Clean);
        assert!(!tmp.exists());
        assert_eq!(fs::read(&p).unwrap(), b"AAAABBBB");
    }

    #[test]
    fn regions_larger_than_a_chunk_round_trip() {
        let old: Vec<u8> = (0..3 * CHUNK + 12_345).map(|i| (i % 251) as u8).collect();
        let (dir, p, f) = setup(&old);
        let j = dir.path().join("j");
        let len = old.len() as u64;
        let journal = Journal::begin(&j, &f, len, len + 10, &[(100, len - 100)]).unwrap();
        let saved = fs::read(&j).unwrap();
        assert_eq!(&saved[..8], MAGIC);
        assert_eq!(saved.len(), 32 + 16 + old.len() - 100 + 16);
        assert_eq!(&saved[48..48 + 10], &old[100..110]);
        let sum = fnv1a(&saved[..saved.len() - 16], FNV_START);
        assert_eq!(saved[saved.len() - 16..saved.len() - 8], sum.to_le_bytes());
        f.write_all_at(&vec![b'x'; old.len() + 10], 0).unwrap();
        drop(journal);
        assert_eq!(recover(&j, &f).unwrap(), Recovery::Restored { kept: 0 });
        // The first 100 bytes were not journaled: they keep what was written.
        assert_eq!(&fs::read(&p).unwrap()[100..], &old[100..]);
    }

    #[test]
    fn region_outside_the_file_is_refused() {
        let (dir, _, f) = setup(b"AAAA");
        assert!(Journal::begin(&dir.path().join("j"), &f, 4, 4, &[(2, 5)]).is_err());
    }
}
