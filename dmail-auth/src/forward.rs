//! forward_user records (dmail-conventions §6): with `forward_user true`, each successful login
//! touches `DROP_PATH/.forward_user/ADDRESS` (ADDRESS = [`dmail_conf::ip_file_name`]), whose
//! mtime is the login time; a DSMTP built on these libraries lets that address relay for
//! `forward_window` seconds ([`may_relay`]); [`prune`] removes expired records.
//!
//! This module must never follow a symlink inside `.forward_user` (neither the directory itself
//! nor a record), never open anything but a regular file there, and never write a record's
//! contents (the mtime is the record).

use std::io;
use std::net::IpAddr;
use std::os::fd::OwnedFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use camino::{Utf8Path, Utf8PathBuf};
use dmail_conf::ip_file_name;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Timespec, Timestamps};

/// The directory of records under `drop_path` (see [`record_dir`]).
pub const FORWARD_DIR: &str = ".forward_user";

/// \[decided\] Mode of a newly created `.forward_user` directory: 0755, because DSMTP (which may
/// run as another user) must read it; the records name addresses, never users.
pub const DIR_MODE: u32 = 0o755;

/// \[decided\] Mode of a new record: 0644 (readable by DSMTP, written only by the server).
pub const FILE_MODE: u32 = 0o644;

/// The records directory of a `drop_path`.
///
/// ```
/// assert_eq!(dmail_auth::forward::record_dir("/var/spool/mail".into()), "/var/spool/mail/.forward_user");
/// ```
pub fn record_dir(drop_path: &Utf8Path) -> Utf8PathBuf {
    drop_path.join(FORWARD_DIR)
}

/// Records a login from `ip` at `now`: creates `.forward_user` if missing (mode [`DIR_MODE`]),
/// creates or reuses the record (mode [`FILE_MODE`]) and sets its mtime (and atime) to `now`.
/// Fails when `.forward_user` or the record is a symlink or not of the right type.
///
/// ```
/// use std::time::SystemTime;
/// # let dir = tempfile::tempdir().unwrap();
/// # let drop_path = camino::Utf8Path::from_path(dir.path()).unwrap();
/// let ip = "192.0.2.7".parse().unwrap();
/// dmail_auth::forward::record_login(drop_path, ip, SystemTime::now()).unwrap();
/// assert!(drop_path.join(".forward_user/192.0.2.7").is_file());
/// ```
pub fn record_login(drop_path: &Utf8Path, ip: IpAddr, now: SystemTime) -> io::Result<()> {
    let dir = open_dir(drop_path, true)?;
    let name = ip_file_name(ip);
    let fd = rustix::fs::openat(
        &dir,
        name.as_str(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::from_raw_mode(FILE_MODE),
    )?;
    let st = rustix::fs::fstat(&fd)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(io::Error::other(format!(
            "{FORWARD_DIR}/{name} is not a regular file"
        )));
    }
    let t = timespec(now)?;
    rustix::fs::futimens(
        &fd,
        &Timestamps {
            last_access: t,
            last_modification: t,
        },
    )?;
    Ok(())
}

/// Whether `ip` logged in less than `window` before `now` (a record whose mtime is in the future
/// counts as just made). Any problem (no record, no directory, a symlink) means no.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// # let dir = tempfile::tempdir().unwrap();
/// # let drop_path = camino::Utf8Path::from_path(dir.path()).unwrap();
/// let ip = "2001:db8::1".parse().unwrap();
/// let now = SystemTime::now();
/// let window = Duration::from_secs(600);
/// assert!(!dmail_auth::forward::may_relay(drop_path, ip, now, window));
/// dmail_auth::forward::record_login(drop_path, ip, now).unwrap();
/// assert!(dmail_auth::forward::may_relay(drop_path, ip, now + Duration::from_secs(599), window));
/// assert!(!dmail_auth::forward::may_relay(drop_path, ip, now + window, window));
/// ```
pub fn may_relay(drop_path: &Utf8Path, ip: IpAddr, now: SystemTime, window: Duration) -> bool {
    let Ok(dir) = open_dir(drop_path, false) else {
        return false;
    };
    match record_age(&dir, ip_file_name(ip), now) {
        Ok(Some(age)) => age < window,
        _ => false,
    }
}

/// Removes every record at least `window` old at `now`; returns how many were removed. Entries
/// that are not regular files, and names starting with `.`, are left alone. A missing
/// `.forward_user` directory is `Ok(0)`.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// # let dir = tempfile::tempdir().unwrap();
/// # let drop_path = camino::Utf8Path::from_path(dir.path()).unwrap();
/// let then = SystemTime::now();
/// dmail_auth::forward::record_login(drop_path, "192.0.2.7".parse().unwrap(), then).unwrap();
/// let window = Duration::from_secs(600);
/// assert_eq!(dmail_auth::forward::prune(drop_path, then, window).unwrap(), 0);
/// assert_eq!(dmail_auth::forward::prune(drop_path, then + window, window).unwrap(), 1);
/// ```
pub fn prune(drop_path: &Utf8Path, now: SystemTime, window: Duration) -> io::Result<usize> {
    let dir = match open_dir(drop_path, false) {
        Ok(dir) => dir,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in rustix::fs::Dir::read_from(&dir)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name.is_empty() || name.starts_with(b".") {
            continue;
        }
        let name = entry.file_name().to_owned();
        match record_age(&dir, &name, now) {
            Ok(Some(age)) if age >= window => {
                match rustix::fs::unlinkat(&dir, &*name, AtFlags::empty()) {
                    Ok(()) => removed += 1,
                    // Another process pruned it first.
                    Err(rustix::io::Errno::NOENT) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            _ => {}
        }
    }
    Ok(removed)
}

/// Opens `drop_path/.forward_user` without following a symlink at the last step, creating it
/// when `create` is set.
fn open_dir(drop_path: &Utf8Path, create: bool) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let path = record_dir(drop_path);
    match rustix::fs::open(path.as_str(), flags, Mode::empty()) {
        Ok(fd) => Ok(fd),
        Err(rustix::io::Errno::NOENT) if create => {
            match rustix::fs::mkdir(path.as_str(), Mode::from_raw_mode(DIR_MODE)) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(e.into()),
            }
            Ok(rustix::fs::open(path.as_str(), flags, Mode::empty())?)
        }
        Err(e) => Err(e.into()),
    }
}

/// The age of record `name` at `now` (`None`: not a regular file).
fn record_age<P: rustix::path::Arg>(
    dir: &OwnedFd,
    name: P,
    now: SystemTime,
) -> io::Result<Option<Duration>> {
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Ok(None);
    }
    let secs = u64::try_from(st.st_mtime).unwrap_or(0);
    let nanos = u32::try_from(st.st_mtime_nsec).unwrap_or(0);
    let mtime = UNIX_EPOCH + Duration::new(secs, nanos.min(999_999_999));
    Ok(Some(now.duration_since(mtime).unwrap_or(Duration::ZERO)))
}

fn timespec(t: SystemTime) -> io::Result<Timespec> {
    let d = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "time before 1970"))?;
    let tv_sec = i64::try_from(d.as_secs())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "time out of range"))?;
    Ok(Timespec {
        tv_sec,
        tv_nsec: d.subsec_nanos().into(),
    })
}
