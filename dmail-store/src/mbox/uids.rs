//! Which UID each scanned message gets, and which UIDVALIDITY the mailbox has: the UID rule of
//! mailbox-formats.md §1 as a pure function of a [`Scan`] and what the private index remembers.
//!
//! - UIDVALIDITY comes from the file's `X-IMAP:`/`X-IMAPbase:`, else from the index, else it is
//!   new (`max(now, 1)`).
//! - An X-UID is believed when it is strictly greater than the previous message's UID; one
//!   above the recorded last UID raises the last UID (c-client 2007f) without renewing
//!   UIDVALIDITY.
//! - Messages without a believed X-UID are numbered last+1, last+2, ... in file order, and must
//!   be stamped.
//! - An X-UID that is not greater than the previous message's UID violates the sequence: the
//!   message is numbered afresh and UIDVALIDITY is renewed as `max(now, last known + 1)`.
//!
//! It must never read or write files, never change a UID the file already holds in a valid
//! sequence, and never decide anything about flags.

use crate::mbox::scan::Scan;
use crate::{Uid, UidValidity};

/// What the private index remembers of a mailbox from before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Remembered {
    /// The UIDVALIDITY last reported to clients.
    pub uid_validity: UidValidity,
    /// The last UID assigned under it.
    pub last_uid: Option<Uid>,
}

/// The UID a message gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assigned {
    /// The UID.
    pub uid: Uid,
    /// Whether the file does not hold it yet: the message must be stamped (`X-UID` written)
    /// before its UID reaches a client.
    pub stamp: bool,
}

/// Why UIDVALIDITY had to be renewed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renewal {
    /// Message `message` (index into [`Scan::messages`]) has `X-UID: x_uid`, not greater than
    /// the previous message's UID `previous` (the first such message is reported).
    Sequence {
        /// Index of the message in [`Scan::messages`].
        message: usize,
        /// Its X-UID.
        x_uid: Uid,
        /// The UID of the message before it.
        previous: Uid,
    },
    /// The 32-bit UID space is used up (a last UID of 4294967295): every message is numbered
    /// again from 1.
    Exhausted,
}

/// Where the mailbox's UIDVALIDITY came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValiditySource {
    /// The file's `X-IMAP:` / `X-IMAPbase:`.
    File,
    /// The private index (the file has lost its folder data).
    Remembered,
    /// Neither knew one: new, `max(now, 1)`.
    New,
    /// The one known was renewed, `max(now, last known + 1)`; the engine logs the reason.
    Renewed(Renewal),
}

/// The outcome of [`assign_uids`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UidPlan {
    /// The mailbox's UIDVALIDITY.
    pub uid_validity: UidValidity,
    /// Where it came from.
    pub source: ValiditySource,
    /// The last UID assigned after these messages (UIDNEXT is one more).
    pub last_uid: Option<Uid>,
    /// One entry per [`Scan::messages`] entry: `None` for the pseudo-message, which has no UID.
    pub uids: Vec<Option<Assigned>>,
}

const MAX_UID: Uid = match Uid::new(u32::MAX) {
    Some(u) => u,
    None => panic!("u32::MAX is not zero"),
};

const MAX_VALIDITY: UidValidity = match UidValidity::new(u32::MAX) {
    Some(v) => v,
    None => panic!("u32::MAX is not zero"),
};

/// `max(now, known + 1)` (or `max(now, 1)`), within UIDVALIDITY's range.
fn new_validity(now_unix: i64, known: Option<UidValidity>) -> UidValidity {
    let floor = known.map_or(1, |k| i64::from(k.get()) + 1);
    let v = now_unix.max(floor).min(i64::from(u32::MAX));
    u32::try_from(v)
        .ok()
        .and_then(UidValidity::new)
        .unwrap_or(MAX_VALIDITY)
}

/// Assigns UIDs to the messages of `scan`.
///
/// `remembered` is what the private index knows from before; `previous_uid` is the UID of the
/// message just before the scanned range, for a scan of a file's tail (`None` for a scan from
/// the start). `now_unix` is the current time, seconds since 1970.
///
/// When the file's folder data and `remembered` have the same UIDVALIDITY, the greater of the
/// two last UIDs counts (UIDs already reported are never reused). When they differ, the file
/// wins (another program renewed it); the caller sees the difference in
/// [`UidPlan::uid_validity`]. \[decided\] X-UIDs are believed (by the same rule) even when
/// UIDVALIDITY is new: the numbering is then valid as it stands and fewer messages need
/// stamping.
///
/// On [`Renewal::Exhausted`] of a tail scan, numbering restarts at 1 within the tail; the
/// caller must then renumber the whole file.
///
/// ```
/// use dmail_store::mbox::{scan::scan_bytes, uids::{assign_uids, ValiditySource}};
/// let file = b"From a Sat Dec 26 09:37:48 1998\nX-UID: 5\n\nFrom b Sat Dec 26 09:37:49 1998\n\n";
/// let plan = assign_uids(&scan_bytes(file, 0, |_| 0), None, None, 1_000_000_000);
/// assert_eq!(plan.source, ValiditySource::New);
/// assert_eq!(plan.uid_validity.get(), 1_000_000_000);
/// let uids: Vec<_> = plan.uids.iter().map(|a| a.unwrap().uid.get()).collect();
/// assert_eq!(uids, [5, 6]);
/// assert!(plan.uids[1].unwrap().stamp);
/// ```
pub fn assign_uids(
    scan: &Scan,
    remembered: Option<Remembered>,
    previous_uid: Option<Uid>,
    now_unix: i64,
) -> UidPlan {
    let file = scan.folder.as_ref().map(|f| (f.uid_validity, f.last_uid));
    let messages = scan
        .messages
        .iter()
        .map(|m| (!m.pseudo).then_some(m.status.uid));
    assign(file, remembered, previous_uid, now_unix, messages)
}

/// The rule over `(file folder data, remembered, previous, now, per message: None for the
/// pseudo-message, else its X-UID)`.
fn assign(
    file: Option<(UidValidity, Option<Uid>)>,
    remembered: Option<Remembered>,
    previous_uid: Option<Uid>,
    now_unix: i64,
    messages: impl Iterator<Item = Option<Option<Uid>>> + Clone,
) -> UidPlan {
    let (uid_validity, last, source) = match (file, remembered) {
        (Some((v, l)), Some(r)) if r.uid_validity == v => {
            (v, l.max(r.last_uid), ValiditySource::File)
        }
        (Some((v, l)), _) => (v, l, ValiditySource::File),
        (None, Some(r)) => (r.uid_validity, r.last_uid, ValiditySource::Remembered),
        (None, None) => (new_validity(now_unix, None), None, ValiditySource::New),
    };
    let mut last = last.max(previous_uid);
    let mut prev = previous_uid;
    let mut violation = None;
    let mut uids = Vec::new();
    for (index, m) in messages.clone().enumerate() {
        let Some(x_uid) = m else {
            uids.push(None);
            continue;
        };
        let assigned = match x_uid {
            Some(x) if prev.is_none_or(|p| x > p) => {
                last = last.max(Some(x));
                Assigned {
                    uid: x,
                    stamp: false,
                }
            }
            _ => {
                if let (Some(x), Some(p)) = (x_uid, prev) {
                    violation.get_or_insert(Renewal::Sequence {
                        message: index,
                        x_uid: x,
                        previous: p,
                    });
                }
                let Some(uid) = last.map_or(Uid::new(1), Uid::next) else {
                    return renumber(uid_validity, remembered, now_unix, messages);
                };
                last = Some(uid);
                Assigned { uid, stamp: true }
            }
        };
        prev = Some(assigned.uid);
        uids.push(Some(assigned));
    }
    let (uid_validity, source) = match (violation, source) {
        (Some(renewal), ValiditySource::File | ValiditySource::Remembered) => (
            new_validity(now_unix, known(uid_validity, remembered)),
            ValiditySource::Renewed(renewal),
        ),
        _ => (uid_validity, source),
    };
    UidPlan {
        uid_validity,
        source,
        last_uid: last,
        uids,
    }
}

/// The greatest UIDVALIDITY known.
fn known(current: UidValidity, remembered: Option<Remembered>) -> Option<UidValidity> {
    Some(current.max(remembered.map_or(current, |r| r.uid_validity)))
}

/// Every message numbered from 1 under a renewed UIDVALIDITY.
fn renumber(
    current: UidValidity,
    remembered: Option<Remembered>,
    now_unix: i64,
    messages: impl Iterator<Item = Option<Option<Uid>>>,
) -> UidPlan {
    let mut last: Option<Uid> = None;
    let uids = messages
        .map(|m| {
            m.map(|_| {
                let uid = last.map_or(Uid::new(1), Uid::next).unwrap_or(MAX_UID);
                last = Some(uid);
                Assigned { uid, stamp: true }
            })
        })
        .collect();
    UidPlan {
        uid_validity: new_validity(now_unix, known(current, remembered)),
        source: ValiditySource::Renewed(Renewal::Exhausted),
        last_uid: last,
        uids,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    const NOW: i64 = 1_700_000_000;

    fn v(n: u32) -> UidValidity {
        UidValidity::new(n).unwrap()
    }

    fn u(n: u32) -> Option<Uid> {
        Uid::new(n)
    }

    /// Runs the rule with file folder data `(V, last)`; `x` lists X-UIDs (0 = none).
    fn run(file: Option<(u32, u32)>, remembered: Option<(u32, u32)>, x: &[u32]) -> UidPlan {
        let file = file.map(|(a, b)| (v(a), u(b)));
        let remembered = remembered.map(|(a, b)| Remembered {
            uid_validity: v(a),
            last_uid: u(b),
        });
        let msgs: Vec<Option<Option<Uid>>> = x.iter().map(|n| Some(u(*n))).collect();
        assign(file, remembered, None, NOW, msgs.into_iter())
    }

    fn numbers(p: &UidPlan) -> Vec<(u32, bool)> {
        p.uids
            .iter()
            .flatten()
            .map(|a| (a.uid.get(), a.stamp))
            .collect()
    }

    // mailbox-formats.md §1 "UIDs": believed when strictly greater than the previous UID;
    // above the recorded last raises it; the rest numbered last+1... in file order.
    #[test_case(&[1, 2, 3], 3, &[(1, false), (2, false), (3, false)], 3; "all stamped")]
    #[test_case(&[1, 0, 0], 3, &[(1, false), (4, true), (5, true)], 5; "new mail numbered after last")]
    #[test_case(&[2, 7, 9], 3, &[(2, false), (7, false), (9, false)], 9; "above last raises it")]
    #[test_case(&[0, 2], 10, &[(11, true), (12, true)], 12; "X-UID below a fresh number violates")]
    #[test_case(&[1, 3, 3], 3, &[(1, false), (3, false), (4, true)], 4; "repeat violates")]
    #[test_case(&[5, 4], 5, &[(5, false), (6, true)], 6; "going backwards violates")]
    #[test_case(&[], 8, &[], 8; "empty keeps last")]
    fn sequences(x: &[u32], last: u32, expected: &[(u32, bool)], new_last: u32) {
        let p = run(Some((100, last)), None, x);
        assert_eq!(numbers(&p), expected);
        assert_eq!(p.last_uid, u(new_last));
    }

    #[test_case(&[1, 2, 3], ValiditySource::File; "in order keeps UIDVALIDITY")]
    #[test_case(&[2, 7, 9], ValiditySource::File; "above last keeps UIDVALIDITY")]
    #[test_case(&[1, 0, 0], ValiditySource::File; "new mail keeps UIDVALIDITY")]
    #[test_case(&[1, 3, 3], ValiditySource::Renewed(Renewal::Sequence { message: 2, x_uid: Uid::new(3).unwrap(), previous: Uid::new(3).unwrap() }); "repeat renews")]
    #[test_case(&[5, 4, 1], ValiditySource::Renewed(Renewal::Sequence { message: 1, x_uid: Uid::new(4).unwrap(), previous: Uid::new(5).unwrap() }); "first violation reported")]
    fn validity(x: &[u32], source: ValiditySource) {
        let p = run(Some((100, 3)), None, x);
        assert_eq!(p.source, source);
        let expected = if matches!(source, ValiditySource::Renewed(_)) {
            NOW as u32
        } else {
            100
        };
        assert_eq!(p.uid_validity.get(), expected);
    }

    // mailbox-formats.md §1: a new UIDVALIDITY is max(now, last known + 1).
    #[test_case(Some((100, 0)), None, NOW as u32; "now when later")]
    #[test_case(Some((u32::MAX - 1, 0)), None, u32::MAX; "known + 1 when later")]
    #[test_case(Some((100, 0)), Some((u32::MAX - 5, 0)), u32::MAX - 4; "remembered counts as known")]
    #[test_case(Some((u32::MAX, 0)), None, u32::MAX; "saturates")]
    fn renewed_value(file: Option<(u32, u32)>, remembered: Option<(u32, u32)>, expected: u32) {
        let p = run(file, remembered, &[3, 2]);
        assert!(matches!(p.source, ValiditySource::Renewed(_)));
        assert_eq!(p.uid_validity.get(), expected);
    }

    // mailbox-formats.md §1: the index keeps UIDVALIDITY and last UID when the file lost them.
    #[test_case(None, Some((77, 40)), &[0, 0], 77, ValiditySource::Remembered, &[(41, true), (42, true)]; "file lost its folder data")]
    #[test_case(Some((77, 10)), Some((77, 40)), &[0], 77, ValiditySource::File, &[(41, true)]; "same validity, index further on")]
    #[test_case(Some((78, 10)), Some((77, 40)), &[0], 78, ValiditySource::File, &[(11, true)]; "file renewed by another program")]
    #[test_case(None, None, &[0, 0], NOW as u32, ValiditySource::New, &[(1, true), (2, true)]; "nothing known")]
    #[test_case(None, None, &[4, 2], NOW as u32, ValiditySource::New, &[(4, false), (5, true)]; "violation under a new validity")]
    fn sources(
        file: Option<(u32, u32)>,
        remembered: Option<(u32, u32)>,
        x: &[u32],
        validity: u32,
        source: ValiditySource,
        expected: &[(u32, bool)],
    ) {
        let p = run(file, remembered, x);
        assert_eq!((p.uid_validity.get(), p.source), (validity, source));
        assert_eq!(numbers(&p), expected);
    }

    #[test]
    fn pseudo_message_has_no_uid() {
        let msgs = vec![None, Some(u(1)), Some(None)];
        let p = assign(Some((v(9), u(1))), None, None, NOW, msgs.into_iter());
        assert_eq!(p.uids[0], None);
        assert_eq!(numbers(&p), [(1, false), (2, true)]);
    }

    #[test]
    fn tail_scan_continues_after_the_previous_message() {
        let r = Remembered {
            uid_validity: v(9),
            last_uid: u(20),
        };
        let msgs = vec![Some(None), Some(u(15)), Some(u(30))];
        let p = assign(None, Some(r), u(20), NOW, msgs.into_iter());
        assert_eq!(numbers(&p), [(21, true), (22, true), (30, false)]);
        assert!(matches!(
            p.source,
            ValiditySource::Renewed(Renewal::Sequence { message: 1, .. })
        ));
    }

    #[test]
    fn exhausted_uid_space_renumbers() {
        let p = run(Some((100, 5)), None, &[u32::MAX, 0, 0]);
        assert_eq!(p.source, ValiditySource::Renewed(Renewal::Exhausted));
        assert_eq!(numbers(&p), [(1, true), (2, true), (3, true)]);
        assert_eq!(p.last_uid, u(3));
        assert_eq!(p.uid_validity.get(), NOW as u32);
    }
}
