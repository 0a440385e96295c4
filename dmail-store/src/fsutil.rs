//! The few file-system calls the folder namespace needs beyond std, with the hardening the spec
//! asks for: `O_NOFOLLOW` opens, private modes, `fsync` of directories, no-replace renames.
//!
//! Owns only thin wrappers; it must never decide policy (what counts as a mailbox, which names
//! are allowed). On non-Unix systems the wrappers fall back to plain std calls.

use std::fs::{self, File, Metadata};
use std::io;
use std::path::Path;

/// Mode of directories we create (c-client's `dir_protection`).
pub(crate) const DIR_MODE: u32 = 0o700;
/// Mode of mailbox files we create (c-client's `mbx_protection`).
pub(crate) const FILE_MODE: u32 = 0o600;

/// Opens an existing file for reading without following a symlink in the last component, without
/// blocking on a FIFO, and (Linux, when permitted) without updating its access time, so that
/// sniffing a mailbox does not change its `\Marked` state.
#[cfg(unix)]
pub(crate) fn open_read_nofollow(path: &Path) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    #[cfg(target_os = "linux")]
    {
        match rustix::fs::open(path, flags | OFlags::NOATIME, Mode::empty()) {
            Ok(fd) => return Ok(File::from(fd)),
            // O_NOATIME is refused unless we own the file (or have CAP_FOWNER).
            Err(rustix::io::Errno::PERM) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(File::from(rustix::fs::open(path, flags, Mode::empty())?))
}

/// Opens an existing file for reading (no symlink protection on this platform).
#[cfg(not(unix))]
pub(crate) fn open_read_nofollow(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// Opens (creating if needed, mode 0600) a file for reading and writing without following a
/// symlink in the last component.
#[cfg(unix)]
pub(crate) fn open_rw_nofollow(path: &Path) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(File::from(rustix::fs::open(
        path,
        flags,
        Mode::from_bits_truncate(FILE_MODE),
    )?))
}

/// Opens (creating if needed) a file for reading and writing.
#[cfg(not(unix))]
pub(crate) fn open_rw_nofollow(path: &Path) -> io::Result<File> {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Creates a new file, mode 0600, failing if anything (a symlink included) has the name.
#[cfg(unix)]
pub(crate) fn create_new_file(path: &Path) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(File::from(rustix::fs::open(
        path,
        flags,
        Mode::from_bits_truncate(FILE_MODE),
    )?))
}

/// Creates a new file, failing if anything has the name.
#[cfg(not(unix))]
pub(crate) fn create_new_file(path: &Path) -> io::Result<File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// Creates one directory, mode 0700 (not its parents).
pub(crate) fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(DIR_MODE);
    }
    builder.create(path)
}

/// Makes a directory's entries durable (a created, removed or renamed name). A no-op where
/// directories cannot be opened.
pub(crate) fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(path)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Renames `from` to `to`, failing with `AlreadyExists` if `to` exists. Atomic on Linux
/// (`renameat2(RENAME_NOREPLACE)`); elsewhere, and on file systems without it, a check then a
/// `rename`, which a concurrent creator can race.
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {}
            Err(e) => return Err(e.into()),
        }
    }
    match fs::symlink_metadata(to) {
        Ok(_) => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::rename(from, to),
        Err(e) => Err(e),
    }
}

/// The (device, inode) pair identifying a file, where the platform has one.
pub(crate) fn file_id(meta: &Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// Access and status-change times in whole seconds, as c-client compares them (`st_atime`,
/// `st_ctime`). Without a ctime (NT), the modification time stands in.
pub(crate) fn atime_ctime(meta: &Metadata) -> (i64, i64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.atime(), meta.ctime())
    }
    #[cfg(not(unix))]
    {
        let secs = |t: io::Result<std::time::SystemTime>| {
            t.ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        };
        (secs(meta.accessed()), secs(meta.modified()))
    }
}

/// Whether an error means "a symlink was in the way of an `O_NOFOLLOW` open" (`ELOOP`).
pub(crate) fn is_symlink_refusal(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}
