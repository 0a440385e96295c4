//! The Windows calls dmail-auth needs, behind a safe wrapper: [`logon_network`], a network logon
//! through `LogonUserW` whose token is closed at once with `CloseHandle`.
//!
//! This is the ONE module of the crate allowed `unsafe` in a Windows build (the Unix build's is
//! `sys`); every block says why it is sound. It must never keep the token, impersonate, load a
//! profile, or decide policy: which account, which strings, which passwords are refused and what
//! an error code means are [`crate::nt_user`]'s business, where they are tested on every
//! platform. `lib.rs` declares it `#[cfg(windows)]` with `#[allow(unsafe_code)]`.

use std::ptr;

use windows_sys::Win32::Foundation::{self as foundation, CloseHandle, GetLastError, HANDLE};
use windows_sys::Win32::Security::{LOGON32_LOGON_NETWORK, LOGON32_PROVIDER_DEFAULT, LogonUserW};

use crate::nt_user::{self, is_wide_c_string};

// The error codes nt_user maps are plain numbers so that Linux tests them; a wrong one would
// fail this Windows build instead of mis-classifying a logon.
const _: () = {
    assert!(nt_user::ERROR_NOT_ENOUGH_MEMORY == foundation::ERROR_NOT_ENOUGH_MEMORY);
    assert!(nt_user::ERROR_INVALID_PARAMETER == foundation::ERROR_INVALID_PARAMETER);
    assert!(nt_user::ERROR_NO_LOGON_SERVERS == foundation::ERROR_NO_LOGON_SERVERS);
    assert!(nt_user::ERROR_PRIVILEGE_NOT_HELD == foundation::ERROR_PRIVILEGE_NOT_HELD);
    assert!(nt_user::ERROR_INVALID_ACCOUNT_NAME == foundation::ERROR_INVALID_ACCOUNT_NAME);
    assert!(nt_user::ERROR_NO_SUCH_USER == foundation::ERROR_NO_SUCH_USER);
    assert!(nt_user::ERROR_WRONG_PASSWORD == foundation::ERROR_WRONG_PASSWORD);
    assert!(nt_user::ERROR_LOGON_FAILURE == foundation::ERROR_LOGON_FAILURE);
    assert!(nt_user::ERROR_ACCOUNT_RESTRICTION == foundation::ERROR_ACCOUNT_RESTRICTION);
    assert!(nt_user::ERROR_INVALID_LOGON_HOURS == foundation::ERROR_INVALID_LOGON_HOURS);
    assert!(nt_user::ERROR_INVALID_WORKSTATION == foundation::ERROR_INVALID_WORKSTATION);
    assert!(nt_user::ERROR_PASSWORD_EXPIRED == foundation::ERROR_PASSWORD_EXPIRED);
    assert!(nt_user::ERROR_ACCOUNT_DISABLED == foundation::ERROR_ACCOUNT_DISABLED);
    assert!(nt_user::ERROR_NO_SUCH_DOMAIN == foundation::ERROR_NO_SUCH_DOMAIN);
    assert!(nt_user::ERROR_LOGON_NOT_GRANTED == foundation::ERROR_LOGON_NOT_GRANTED);
    assert!(nt_user::ERROR_LOGON_TYPE_NOT_GRANTED == foundation::ERROR_LOGON_TYPE_NOT_GRANTED);
    assert!(nt_user::ERROR_TIME_SKEW == foundation::ERROR_TIME_SKEW);
    assert!(nt_user::ERROR_TRUSTED_DOMAIN_FAILURE == foundation::ERROR_TRUSTED_DOMAIN_FAILURE);
    assert!(
        nt_user::ERROR_TRUSTED_RELATIONSHIP_FAILURE
            == foundation::ERROR_TRUSTED_RELATIONSHIP_FAILURE
    );
    assert!(nt_user::ERROR_NETLOGON_NOT_STARTED == foundation::ERROR_NETLOGON_NOT_STARTED);
    assert!(nt_user::ERROR_ACCOUNT_EXPIRED == foundation::ERROR_ACCOUNT_EXPIRED);
    assert!(nt_user::ERROR_PASSWORD_MUST_CHANGE == foundation::ERROR_PASSWORD_MUST_CHANGE);
    assert!(
        nt_user::ERROR_DOMAIN_CONTROLLER_NOT_FOUND == foundation::ERROR_DOMAIN_CONTROLLER_NOT_FOUND
    );
    assert!(nt_user::ERROR_ACCOUNT_LOCKED_OUT == foundation::ERROR_ACCOUNT_LOCKED_OUT);
};

/// Logs `user` on in `domain` with `password` (each NUL-terminated UTF-16) as a network logon
/// with the default provider, and closes the token. `Err` with the Windows error code;
/// `ERROR_INVALID_PARAMETER` without calling Windows when a string is not NUL-terminated or
/// holds a NUL before its end.
pub(crate) fn logon_network(user: &[u16], domain: &[u16], password: &[u16]) -> Result<(), u32> {
    if ![user, domain, password].iter().all(|s| is_wide_c_string(s)) {
        return Err(nt_user::ERROR_INVALID_PARAMETER);
    }
    let mut token: HANDLE = ptr::null_mut();
    // SAFETY: the three strings were just checked to be NUL-terminated UTF-16 and are borrowed
    // for the whole call; `token` is a valid place for the one HANDLE LogonUserW writes.
    let ok = unsafe {
        LogonUserW(
            user.as_ptr(),
            domain.as_ptr(),
            password.as_ptr(),
            LOGON32_LOGON_NETWORK,
            LOGON32_PROVIDER_DEFAULT,
            &mut token,
        )
    };
    if ok == 0 {
        // SAFETY: GetLastError has no preconditions; called straight after the failed call on
        // the same thread, it reports that call's error.
        return Err(unsafe { GetLastError() });
    }
    // SAFETY: on success `token` is a handle LogonUserW opened for this process; it is closed
    // exactly once, here, and not used afterwards. A failure to close leaves nothing to act on:
    // the password was already proved right.
    unsafe { CloseHandle(token) };
    Ok(())
}
