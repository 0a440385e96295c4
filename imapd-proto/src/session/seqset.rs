//! Sequence sets (RFC 3501 §9 `sequence-set`) to the messages they name, by sequence number or
//! by UID, against the client's view of the mailbox.
//!
//! Must never: name a message the client has not been told about (a UID that arrived since
//! the last EXISTS), or allocate per element of a huge range that names nothing.

use dmail_store::Uid;
use imap_codec::imap_types::sequence::{SeqOrUid, Sequence, SequenceSet};

/// Why a set cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SetError {
    /// A sequence number beyond the last message (RFC 3501 answers BAD).
    OutOfRange,
}

/// The 0-based positions in `view` (ascending UIDs, the client's numbering) named by `set`,
/// ascending and without repeats.
pub(crate) fn resolve(set: &SequenceSet, uid: bool, view: &[Uid]) -> Result<Vec<u32>, SetError> {
    let mut positions: Vec<u32> = Vec::new();
    let count = view.len() as u32;
    let mut sorted = true;
    for seq in set.0.as_ref() {
        let (lo, hi) = if uid {
            let Some(last) = view.last().map(|u| u.get()) else {
                continue;
            };
            let value = |v: &SeqOrUid| match v {
                SeqOrUid::Value(n) => n.get(),
                SeqOrUid::Asterisk => last,
            };
            let (a, b) = match seq {
                Sequence::Single(v) => (value(v), value(v)),
                Sequence::Range(a, b) => (value(a), value(b)),
            };
            let (a, b) = (a.min(b), a.max(b));
            // Positions of the UIDs in [a, b].
            let start = view.partition_point(|u| u.get() < a) as u32;
            let end = view.partition_point(|u| u.get() <= b) as u32;
            if start >= end {
                continue;
            }
            (start, end - 1)
        } else {
            if count == 0 {
                // Nothing to name; `1:*` on an empty mailbox is what clients send on SELECT.
                continue;
            }
            let value = |v: &SeqOrUid| -> Result<u32, SetError> {
                match v {
                    SeqOrUid::Value(n) if n.get() <= count => Ok(n.get()),
                    SeqOrUid::Value(_) => Err(SetError::OutOfRange),
                    SeqOrUid::Asterisk => Ok(count),
                }
            };
            let (a, b) = match seq {
                Sequence::Single(v) => (value(v)?, value(v)?),
                Sequence::Range(a, b) => (value(a)?, value(b)?),
            };
            if a == 0 || b == 0 {
                // `*` in an empty mailbox names nothing.
                continue;
            }
            (a.min(b) - 1, a.max(b) - 1)
        };
        if positions.last().is_some_and(|&last| lo <= last) {
            sorted = false;
        }
        positions.extend(lo..=hi);
    }
    if !sorted {
        positions.sort_unstable();
        positions.dedup();
    }
    Ok(positions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use imap_codec::CommandCodec;
    use imap_codec::decode::Decoder;
    use imap_codec::imap_types::command::CommandBody;
    use test_case::test_case;

    fn set(text: &str) -> SequenceSet {
        let line = format!("a FETCH {text} FLAGS\r\n");
        let (_, cmd) = CommandCodec::default().decode(line.as_bytes()).unwrap();
        match cmd.body {
            CommandBody::Fetch { sequence_set, .. } => sequence_set,
            other => panic!("{other:?}"),
        }
    }

    fn view(uids: &[u32]) -> Vec<Uid> {
        uids.iter().map(|&u| Uid::new(u).unwrap()).collect()
    }

    // RFC 3501 §9 seq-range: either order; `*` is the last message.
    #[test_case("1:*", false, &[10, 20, 30], Ok(vec![0, 1, 2]) ; "all by number")]
    #[test_case("3:1", false, &[10, 20, 30], Ok(vec![0, 1, 2]) ; "reversed range")]
    #[test_case("2,1,2", false, &[10, 20, 30], Ok(vec![0, 1]) ; "repeats removed")]
    #[test_case("4", false, &[10, 20, 30], Err(SetError::OutOfRange) ; "beyond the last")]
    #[test_case("1:*", false, &[], Ok(vec![]) ; "star in empty mailbox")]
    #[test_case("15:25", true, &[10, 20, 30], Ok(vec![1]) ; "uid range between")]
    #[test_case("99:*", true, &[10, 20, 30], Ok(vec![2]) ; "uid n star includes the last")]
    #[test_case("1:*", true, &[], Ok(vec![]) ; "uid star in empty mailbox")]
    #[test_case("5", true, &[10, 20, 30], Ok(vec![]) ; "missing uid names nothing")]
    fn resolves(text: &str, uid: bool, uids: &[u32], expected: Result<Vec<u32>, SetError>) {
        assert_eq!(resolve(&set(text), uid, &view(uids)), expected);
    }
}
