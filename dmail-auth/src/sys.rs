//! The C library calls dmail-auth needs, behind safe wrappers that return owned Rust values:
//! [`getpwnam`] (the passwd database through glibc's NSS), [`getspnam`] (the shadow database)
//! and [`crypt`] (crypt(3) from libxcrypt, which verifies yescrypt `$y$`, `$6$`, `$5$`, `$1$`,
//! bcrypt `$2b$` and traditional DES hashes).
//!
//! This is the ONE module of the crate allowed `unsafe`; every block says why it is sound. It
//! must never keep pointers into C buffers past a call, never call the non-reentrant
//! `getpwnam`/`getspnam`/`crypt`, never grow a buffer without bound, and never decide policy
//! (locked or expired accounts are [`crate::unix_user`]'s business). `lib.rs` declares it with
//! `#[allow(unsafe_code)]`; the rest of the crate denies unsafe code.

use std::ffi::{CStr, CString, OsStr, c_char, c_int, c_void};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use zeroize::{Zeroize, Zeroizing};

/// The largest buffer [`getpwnam`] and [`getspnam`] will try before giving up with `ERANGE`.
const MAX_NSS_BUFFER: usize = 1 << 20;
/// The first buffer size tried when `sysconf` gives no hint.
const FIRST_NSS_BUFFER: usize = 1024;

/// One entry of the passwd database.
///
/// ```
/// let root = dmail_auth::sys::getpwnam("root").unwrap().unwrap();
/// assert_eq!(root.uid, 0);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    /// `pw_name`.
    pub name: String,
    /// `pw_passwd`: a hash, `x` (look in shadow), `*`, `!...` or empty. Zeroed when dropped.
    pub passwd: Zeroizing<String>,
    /// `pw_uid`.
    pub uid: u32,
    /// `pw_gid`.
    pub gid: u32,
    /// `pw_gecos`, lossily decoded.
    pub gecos: String,
    /// `pw_dir`, byte for byte.
    pub home: PathBuf,
    /// `pw_shell`, byte for byte.
    pub shell: PathBuf,
}

impl std::fmt::Debug for PasswdEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswdEntry")
            .field("name", &self.name)
            .field("passwd", &"..")
            .field("uid", &self.uid)
            .field("gid", &self.gid)
            .field("home", &self.home)
            .finish_non_exhaustive()
    }
}

/// One entry of the shadow database. Day counts are days since 1970-01-01 UTC; `None` where
/// the field is empty (`-1` from the C library).
///
/// ```no_run
/// // Reading shadow needs root.
/// let root = dmail_auth::sys::getspnam("root").unwrap().unwrap();
/// assert_eq!(root.name, "root");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ShadowEntry {
    /// `sp_namp`.
    pub name: String,
    /// `sp_pwdp`: the hash (or `!...`, `*`, `!!`, empty). Zeroed when dropped.
    pub hash: Zeroizing<String>,
    /// `sp_lstchg`: the day of the last password change (0: must change at next login).
    pub last_change: Option<i64>,
    /// `sp_max`: days a password stays valid.
    pub max_days: Option<i64>,
    /// `sp_inact`: days after password expiry before the account is disabled.
    pub inactive_days: Option<i64>,
    /// `sp_expire`: the day the account expires.
    pub expire: Option<i64>,
}

impl std::fmt::Debug for ShadowEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShadowEntry")
            .field("name", &self.name)
            .field("hash", &"..")
            .field("last_change", &self.last_change)
            .field("max_days", &self.max_days)
            .field("inactive_days", &self.inactive_days)
            .field("expire", &self.expire)
            .finish()
    }
}

/// Looks `name` up in the passwd database (`getpwnam_r`, so NSS modules such as LDAP apply).
/// `Ok(None)` when there is no such user (including a name with a NUL byte); `Err` when the
/// lookup itself failed.
///
/// ```
/// assert!(dmail_auth::sys::getpwnam("no-such-user-here").unwrap().is_none());
/// ```
pub fn getpwnam(name: &str) -> io::Result<Option<PasswdEntry>> {
    let Ok(cname) = CString::new(name) else {
        return Ok(None);
    };
    // SAFETY: sysconf has no memory-safety preconditions.
    let hint = unsafe { libc::sysconf(libc::_SC_GETPW_R_SIZE_MAX) };
    let mut buf = Zeroizing::new(vec![0u8; first_size(hint)]);
    loop {
        // SAFETY: an all-zero `passwd` is a valid value (integers and null pointers).
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: `cname` is NUL-terminated; `pwd` and `result` are valid for writes; `buf` is
        // valid for `buf.len()` bytes, which is the length we pass.
        let rc = unsafe {
            libc::getpwnam_r(
                cname.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr().cast::<c_char>(),
                buf.len(),
                &mut result,
            )
        };
        match rc {
            0 if result.is_null() => return Ok(None),
            0 => {
                // SAFETY: on success every string field of `pwd` points to a NUL-terminated
                // string inside `buf` (or is null, which `owned_bytes` handles), and `buf` is
                // alive and unmodified until these copies are made.
                let entry = unsafe {
                    PasswdEntry {
                        name: lossy(pwd.pw_name),
                        passwd: Zeroizing::new(lossy(pwd.pw_passwd)),
                        uid: pwd.pw_uid,
                        gid: pwd.pw_gid,
                        gecos: lossy(pwd.pw_gecos),
                        home: path(pwd.pw_dir),
                        shell: path(pwd.pw_shell),
                    }
                };
                return Ok(Some(entry));
            }
            libc::ERANGE => grow(&mut buf)?,
            // Some NSS modules report "not found" as one of these (getpwnam_r(3)).
            libc::ENOENT | libc::ESRCH => return Ok(None),
            e => return Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// Looks `name` up in the shadow database (`getspnam_r`; reading `/etc/shadow` needs root).
/// `Ok(None)` when there is no entry; `Err` when it could not be read (e.g. `EACCES`).
///
/// ```
/// // Whoever runs this, an unknown name is never found (or shadow is unreadable).
/// assert!(!matches!(dmail_auth::sys::getspnam("no-such-user-here"), Ok(Some(_))));
/// ```
pub fn getspnam(name: &str) -> io::Result<Option<ShadowEntry>> {
    let Ok(cname) = CString::new(name) else {
        return Ok(None);
    };
    let mut buf = Zeroizing::new(vec![0u8; FIRST_NSS_BUFFER]);
    loop {
        // SAFETY: an all-zero `spwd` is a valid value (integers and null pointers).
        let mut sp: libc::spwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::spwd = std::ptr::null_mut();
        // SAFETY: as in `getpwnam`: valid pointers, and the true length of `buf`.
        let rc = unsafe {
            libc::getspnam_r(
                cname.as_ptr(),
                &mut sp,
                buf.as_mut_ptr().cast::<c_char>(),
                buf.len(),
                &mut result,
            )
        };
        match rc {
            0 if result.is_null() => return Ok(None),
            0 => {
                // SAFETY: on success the string fields point into `buf` (alive, unmodified).
                let entry = unsafe {
                    ShadowEntry {
                        name: lossy(sp.sp_namp),
                        hash: Zeroizing::new(lossy(sp.sp_pwdp)),
                        last_change: day_field(sp.sp_lstchg),
                        max_days: day_field(sp.sp_max),
                        inactive_days: day_field(sp.sp_inact),
                        expire: day_field(sp.sp_expire),
                    }
                };
                return Ok(Some(entry));
            }
            libc::ERANGE => grow(&mut buf)?,
            // glibc's getspnam_r reports a missing entry as ENOENT.
            libc::ENOENT | libc::ESRCH => return Ok(None),
            e => return Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// The buffer size to start with, from `sysconf`'s hint (`-1` or absurd values: 1 KiB).
fn first_size(hint: libc::c_long) -> usize {
    usize::try_from(hint)
        .ok()
        .filter(|&n| (1..=MAX_NSS_BUFFER).contains(&n))
        .unwrap_or(FIRST_NSS_BUFFER)
}

/// Doubles `buf` after `ERANGE`, up to [`MAX_NSS_BUFFER`]; the old contents are zeroed.
fn grow(buf: &mut Zeroizing<Vec<u8>>) -> io::Result<()> {
    let next = buf.len().saturating_mul(2);
    if next > MAX_NSS_BUFFER {
        return Err(io::Error::from_raw_os_error(libc::ERANGE));
    }
    *buf = Zeroizing::new(vec![0u8; next]);
    Ok(())
}

/// `-1` (empty field) becomes `None`.
#[allow(clippy::useless_conversion)] // c_long is i32 on 32-bit targets
fn day_field(v: libc::c_long) -> Option<i64> {
    (v >= 0).then_some(i64::from(v))
}

/// Copies a C string (null: empty).
///
/// # Safety
/// `p` is null or points to a NUL-terminated string valid for reads.
unsafe fn owned_bytes(p: *const c_char) -> Vec<u8> {
    if p.is_null() {
        return Vec::new();
    }
    // SAFETY: the caller guarantees a valid NUL-terminated string.
    unsafe { CStr::from_ptr(p) }.to_bytes().to_vec()
}

/// # Safety
/// As [`owned_bytes`].
unsafe fn lossy(p: *const c_char) -> String {
    // SAFETY: forwarded from the caller.
    let bytes = Zeroizing::new(unsafe { owned_bytes(p) });
    String::from_utf8_lossy(&bytes).into_owned()
}

/// # Safety
/// As [`owned_bytes`].
unsafe fn path(p: *const c_char) -> PathBuf {
    // SAFETY: forwarded from the caller.
    let bytes = unsafe { owned_bytes(p) };
    PathBuf::from(OsStr::from_bytes(&bytes))
}

#[link(name = "crypt")]
unsafe extern "C" {
    /// libxcrypt: `char *crypt_rn(const char *phrase, const char *setting, void *data, int
    /// size)`; NULL on any failure (never the `*0` failure token).
    fn crypt_rn(
        phrase: *const c_char,
        setting: *const c_char,
        data: *mut c_void,
        size: c_int,
    ) -> *mut c_char;
}

/// `sizeof(struct crypt_data)` in libxcrypt 4.x (output 384 + setting 384 + input 512 +
/// reserved 767 + initialized 1 + internal 30720). `crypt_rn` checks the size it is given and
/// fails with `ERANGE` rather than overflow a smaller buffer.
const CRYPT_DATA_SIZE: usize = 32768;
/// libxcrypt's `CRYPT_OUTPUT_SIZE`: the longest hash it writes, NUL included.
const CRYPT_OUTPUT_SIZE: usize = 384;

/// libxcrypt's scratch space, aligned generously, zeroed when dropped (it holds a copy of the
/// passphrase).
#[repr(C, align(16))]
struct CryptData([u8; CRYPT_DATA_SIZE]);

impl Drop for CryptData {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Hashes `phrase` with `setting` (a full hash or just its salt part) through crypt(3):
/// `Some(hash)` or `None` when libxcrypt refuses (unknown or malformed setting, a NUL in either
/// input, a passphrase longer than 512 bytes). Comparing the result with a stored hash is
/// [`crate::hash::verify`]'s job.
///
/// ```
/// let h = dmail_auth::sys::crypt(b"secret", "$1$saltsalt$").unwrap();
/// assert_eq!(&*h, "$1$saltsalt$9xy1btjgzLYfb7hivXtC//");
/// assert!(dmail_auth::sys::crypt(b"secret", "$apr1$x$").is_none());
/// ```
pub fn crypt(phrase: &[u8], setting: &str) -> Option<Zeroizing<String>> {
    if phrase.contains(&0) {
        return None;
    }
    let csetting = CString::new(setting).ok()?;
    let mut cphrase = Zeroizing::new(Vec::with_capacity(phrase.len() + 1));
    cphrase.extend_from_slice(phrase);
    cphrase.push(0);
    let mut data = Box::new(CryptData([0u8; CRYPT_DATA_SIZE]));
    let size = c_int::try_from(CRYPT_DATA_SIZE).ok()?;
    // SAFETY: `cphrase` and `csetting` are NUL-terminated and outlive the call; `data` points
    // to `CRYPT_DATA_SIZE` writable bytes, the size we pass, so libxcrypt writes only inside it.
    let out = unsafe {
        crypt_rn(
            cphrase.as_ptr().cast::<c_char>(),
            csetting.as_ptr(),
            data.0.as_mut_ptr().cast::<c_void>(),
            size,
        )
    };
    if out.is_null() {
        return None;
    }
    // SAFETY: a non-null result points to the NUL-terminated output field inside `data`, which
    // is alive until the end of this function; we copy it out before `data` is dropped.
    let bytes = unsafe { CStr::from_ptr(out) }.to_bytes();
    if bytes.len() >= CRYPT_OUTPUT_SIZE || bytes.first() == Some(&b'*') {
        return None;
    }
    std::str::from_utf8(bytes)
        .ok()
        .map(|s| Zeroizing::new(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_uid_0() {
        let root = getpwnam("root").unwrap().unwrap();
        assert_eq!((root.uid, root.gid, root.name.as_str()), (0, 0, "root"));
        assert_eq!(root.home, PathBuf::from("/root"));
    }

    #[test]
    fn unknown_and_nul_names_are_not_found() {
        assert!(getpwnam("dmail-no-such-user").unwrap().is_none());
        assert!(getpwnam("ro\0ot").unwrap().is_none());
        assert!(getspnam("ro\0ot").unwrap().is_none());
    }

    #[test]
    fn buffer_growth_is_bounded() {
        let mut buf = Zeroizing::new(vec![0u8; MAX_NSS_BUFFER / 2]);
        grow(&mut buf).unwrap();
        assert_eq!(buf.len(), MAX_NSS_BUFFER);
        assert_eq!(
            grow(&mut buf).unwrap_err().raw_os_error(),
            Some(libc::ERANGE)
        );
        assert_eq!(first_size(-1), FIRST_NSS_BUFFER);
        assert_eq!(first_size(4096), 4096);
        assert_eq!(first_size(1 << 30), FIRST_NSS_BUFFER);
    }

    #[test]
    fn crypt_refuses_nul_and_overlong() {
        assert!(crypt(b"a\0b", "$1$salt$").is_none());
        assert!(crypt(b"x", "$1$sa\0lt$").is_none());
        assert!(crypt(&[b'a'; 600], "$6$salt$").is_none());
        assert!(crypt(b"x", "").is_none());
    }
}
