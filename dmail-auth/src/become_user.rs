//! Switching the whole process to a user (`imapd_become_user`, dmail-conventions §11 step 4):
//! supplementary groups, then group id, then user id, then a check that it all took.
//!
//! The calls are nix's `setgroups`, `setgid` and `setuid`, which go through the C library and so
//! change every thread of the process (never rustix's per-thread system calls). This module must
//! never leave a half-switched process unreported: every step's failure is an error naming the
//! step, and success is only returned once `getresuid`/`getresgid`/`getgroups` show the new ids
//! and `setuid(0)` fails. Switching to uid 0 is refused. It never closes or opens a file (the log
//! file descriptor stays open).

use std::ffi::CString;
use std::fmt;

use nix::errno::Errno;
use nix::unistd::{
    Gid, Uid, getgrouplist, getgroups, getresgid, getresuid, setgid, setgroups, setuid,
};

use crate::{Authenticated, Source};

/// The step of a switch that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The request itself (uid 0, an external login, missing ids).
    Refused,
    /// Reading the user's supplementary groups from the group database.
    GroupList,
    /// `setgroups`.
    SetGroups,
    /// `setgid`.
    SetGid,
    /// `setuid`.
    SetUid,
    /// Checking the ids afterwards.
    Verify,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Refused => "refused",
            Step::GroupList => "getgrouplist",
            Step::SetGroups => "setgroups",
            Step::SetGid => "setgid",
            Step::SetUid => "setuid",
            Step::Verify => "verify",
        })
    }
}

/// Why a switch failed: the step and what went wrong, for the log. The process must not go on
/// serving the user after this (the login fails).
///
/// ```
/// use dmail_auth::become_user::{become_user, Step};
/// let err = become_user(0, 0, None).unwrap_err();
/// assert_eq!(err.step, Step::Refused);
/// assert_eq!(err.to_string(), "cannot become uid 0: refused: will not switch to uid 0");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot become uid {uid}: {step}: {detail}")]
pub struct BecomeError {
    /// The target user id.
    pub uid: u32,
    /// The step that failed.
    pub step: Step,
    /// What went wrong.
    pub detail: String,
}

/// Switches the process to `uid` and `gid`, with the supplementary groups that the group
/// database gives `groups_of` (plus `gid`), or only `gid` when `groups_of` is `None` (a
/// `vdomain_passwd` user, unknown to the group database). Needs root. See the module docs for
/// what is checked.
///
/// ```no_run
/// use dmail_auth::become_user::become_user;
/// become_user(1001, 1001, Some("bob")).expect("switch to bob");
/// ```
pub fn become_user(uid: u32, gid: u32, groups_of: Option<&str>) -> Result<(), BecomeError> {
    let fail = |step: Step, detail: String| BecomeError { uid, step, detail };
    let errno = |step: Step, call: String| move |e: Errno| fail(step, format!("{call}: {e}"));
    if uid == 0 {
        return Err(fail(Step::Refused, "will not switch to uid 0".to_owned()));
    }
    let (uid_n, gid_n) = (Uid::from_raw(uid), Gid::from_raw(gid));
    let mut groups = match groups_of {
        Some(name) => {
            let c_name = CString::new(name).map_err(|_| {
                fail(
                    Step::GroupList,
                    format!("the user name {name:?} holds a NUL"),
                )
            })?;
            getgrouplist(&c_name, gid_n).map_err(errno(Step::GroupList, format!("{name:?}")))?
        }
        None => vec![gid_n],
    };
    sort_groups(&mut groups);

    setgroups(&groups).map_err(errno(Step::SetGroups, format!("{groups:?}")))?;
    setgid(gid_n).map_err(errno(Step::SetGid, gid.to_string()))?;
    setuid(uid_n).map_err(errno(Step::SetUid, uid.to_string()))?;

    let verify = |detail: String| fail(Step::Verify, detail);
    let r = getresuid().map_err(|e| verify(format!("getresuid: {e}")))?;
    if [r.real, r.effective, r.saved] != [uid_n; 3] {
        return Err(verify(format!(
            "user ids are real {}, effective {}, saved {}",
            r.real, r.effective, r.saved
        )));
    }
    let g = getresgid().map_err(|e| verify(format!("getresgid: {e}")))?;
    if [g.real, g.effective, g.saved] != [gid_n; 3] {
        return Err(verify(format!(
            "group ids are real {}, effective {}, saved {}",
            g.real, g.effective, g.saved
        )));
    }
    let mut now = getgroups().map_err(|e| verify(format!("getgroups: {e}")))?;
    sort_groups(&mut now);
    if now != groups {
        return Err(verify(format!(
            "supplementary groups are {now:?}, not {groups:?}"
        )));
    }
    if setuid(Uid::from_raw(0)).is_ok() {
        return Err(verify("setuid(0) still succeeds".to_owned()));
    }
    Ok(())
}

/// Switches to the user of a successful login (dmail-conventions §11): a system user with their
/// group database groups, a `vdomain_passwd` user with their gid alone. External and NT logins,
/// and logins without both ids, are refused (`Step::Refused`): the caller decides beforehand
/// whether a login switches at all.
///
/// ```
/// use dmail_auth::{Authenticated, Source};
/// use dmail_auth::become_user::{become_authenticated, Step};
/// let ext = Authenticated { system_name: "bob".into(), source: Source::External, uid: Some(1001),
///     gid: None, home: None, drop_file: None, quota_kbytes: None };
/// assert_eq!(become_authenticated(&ext).unwrap_err().step, Step::Refused);
/// ```
pub fn become_authenticated(user: &Authenticated) -> Result<(), BecomeError> {
    let refused = |detail: &str| BecomeError {
        uid: user.uid.unwrap_or(0),
        step: Step::Refused,
        detail: format!("{detail} ({})", user.system_name),
    };
    let (Some(uid), Some(gid)) = (user.uid, user.gid) else {
        return Err(refused("the login has no uid and gid"));
    };
    match user.source {
        Source::SystemPasswd => become_user(uid, gid, Some(&user.system_name)),
        Source::VdomainPasswd => become_user(uid, gid, None),
        Source::External | Source::NtUser => Err(refused(
            "only unix_user and vdomain_passwd logins switch user",
        )),
    }
}

fn sort_groups(groups: &mut Vec<Gid>) {
    groups.sort_by_key(|g| g.as_raw());
    groups.dedup();
}

#[cfg(test)]
mod tests {
    use super::{Step, become_authenticated};
    use crate::{Authenticated, Source};

    fn login(source: Source, uid: Option<u32>, gid: Option<u32>) -> Authenticated {
        Authenticated {
            system_name: "bob".into(),
            source,
            uid,
            gid,
            home: None,
            drop_file: None,
            quota_kbytes: None,
        }
    }

    // Every case here is refused before any system call, so it is safe in the test process.
    #[test]
    fn refusals() {
        for (source, uid, gid) in [
            (Source::External, Some(1001), Some(1001)),
            (Source::NtUser, Some(1001), Some(1001)),
            (Source::SystemPasswd, None, Some(1001)),
            (Source::VdomainPasswd, Some(1001), None),
            (Source::SystemPasswd, Some(0), Some(0)),
        ] {
            let err = become_authenticated(&login(source, uid, gid)).unwrap_err();
            assert_eq!(err.step, Step::Refused, "{source:?} {uid:?} {gid:?}");
        }
    }
}
