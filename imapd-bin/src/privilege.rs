//! Set-uid detection: whether `imapd` runs with privileges its caller does not have (installed
//! `chmod 6755`, dmail-conventions §11), and what such a caller may ask for.
//!
//! This module only decides. It must never change the process's ids, and the decision must stay
//! a pure function of the ids and the command line, so that it is tested without set-uid files.

use rustix::process::{getegid, geteuid, getgid, getuid};

/// The one line written to stderr when a caller is refused.
pub(crate) const REFUSAL: &str =
    "imapd: refused: -i and admin commands need the real uid 0 when imapd is installed set-uid";

/// The process's real and effective user and group ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ids {
    /// Real user id.
    pub(crate) ruid: u32,
    /// Effective user id.
    pub(crate) euid: u32,
    /// Real group id.
    pub(crate) rgid: u32,
    /// Effective group id.
    pub(crate) egid: u32,
}

impl Ids {
    /// The ids of this process.
    pub(crate) fn current() -> Ids {
        Ids {
            ruid: getuid().as_raw(),
            euid: geteuid().as_raw(),
            rgid: getgid().as_raw(),
            egid: getegid().as_raw(),
        }
    }

    /// Whether the process runs set-uid or set-gid: a real id differs from its effective one.
    pub(crate) fn is_set_id(self) -> bool {
        self.ruid != self.euid || self.rgid != self.egid
    }
}

/// What a caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Go ahead.
    Allow,
    /// Refuse with [`REFUSAL`].
    Refuse,
}

/// A set-uid (or set-gid) `imapd` whose real uid is not 0 refuses `-i` and every admin
/// subcommand: otherwise any local user could make a privileged process read a file of their
/// choosing, or learn about other users' mail. Serving (no subcommand, no `-i`) is allowed.
pub(crate) fn decide(ids: Ids, config_given: bool, subcommand_given: bool) -> Decision {
    if ids.is_set_id() && ids.ruid != 0 && (config_given || subcommand_given) {
        Decision::Refuse
    } else {
        Decision::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::{Decision, Ids, decide};
    use test_case::test_case;

    const fn ids(ruid: u32, euid: u32, rgid: u32, egid: u32) -> Ids {
        Ids {
            ruid,
            euid,
            rgid,
            egid,
        }
    }

    // Not set-uid: anything goes, whoever runs it.
    #[test_case(ids(1000, 1000, 1000, 1000), true, true, Decision::Allow; "ordinary user, -i and subcommand")]
    #[test_case(ids(0, 0, 0, 0), true, true, Decision::Allow; "root, -i and subcommand")]
    #[test_case(ids(65534, 65534, 65534, 65534), false, false, Decision::Allow; "nobody serving")]
    // Set-uid root run by an ordinary user.
    #[test_case(ids(1000, 0, 1000, 0), false, false, Decision::Allow; "setuid serving")]
    #[test_case(ids(1000, 0, 1000, 0), true, false, Decision::Refuse; "setuid with -i")]
    #[test_case(ids(1000, 0, 1000, 0), false, true, Decision::Refuse; "setuid with subcommand")]
    #[test_case(ids(1000, 0, 1000, 0), true, true, Decision::Refuse; "setuid with both")]
    // Set-uid only, or set-gid only.
    #[test_case(ids(1000, 0, 1000, 1000), true, false, Decision::Refuse; "setuid only with -i")]
    #[test_case(ids(1000, 1000, 1000, 0), false, true, Decision::Refuse; "setgid only with subcommand")]
    #[test_case(ids(1000, 1000, 1000, 0), false, false, Decision::Allow; "setgid only serving")]
    // Set-uid to a non-root owner is still set-uid.
    #[test_case(ids(1000, 8, 1000, 8), true, false, Decision::Refuse; "setuid to another user")]
    // Real uid 0: root may do anything, even through a set-uid binary.
    #[test_case(ids(0, 8, 0, 8), true, true, Decision::Allow; "real root through setuid")]
    #[test_case(ids(0, 0, 1000, 0), true, true, Decision::Allow; "real root, setgid")]
    // Effective uid 0 with a real uid that is not: refused.
    #[test_case(ids(65534, 0, 65534, 65534), false, true, Decision::Refuse; "euid root only")]
    fn decides(ids: Ids, config_given: bool, subcommand_given: bool, expected: Decision) {
        assert_eq!(decide(ids, config_given, subcommand_given), expected);
    }

    #[test]
    fn current_ids_are_not_set_id_in_tests() {
        // The test harness is not installed set-uid.
        assert!(!Ids::current().is_set_id());
    }
}
