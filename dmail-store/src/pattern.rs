//! LIST and LSUB patterns (RFC 3501 §6.3.8, §6.3.9; notes/uw-c-client.md §4.3): the one
//! matcher both commands use.
//!
//! Owns reference-name concatenation, the `*` and `%` wildcards, INBOX's case rule and the
//! "could anything below this directory match?" question that prunes the directory walk. It
//! must never touch the file system, and its cost must stay linear in (name × pattern): it is a
//! set-of-positions automaton, so no pattern (`*a*a*a*a*b`) can make it backtrack
//! exponentially.

use crate::names::{DELIMITER, MAX_PATH_BYTES, MailboxName};

/// A LIST or LSUB pattern, with the reference already applied.
///
/// ```
/// use dmail_store::pattern::Pattern;
/// let p = Pattern::with_reference(b"Work/", b"%");
/// assert!(p.matches(b"Work/2000"));
/// assert!(!p.matches(b"Work/2000/Jan"));
/// assert!(Pattern::new(b"*").matches(b"Work/2000/Jan"));
/// assert!(Pattern::new(b"inbox").matches_inbox());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// The pattern with runs of wildcards collapsed (`%*` and `**` are `*`, `%%` is `%`).
    bytes: Vec<u8>,
    /// How many non-wildcard bytes it has: a name must be at least this long to match.
    literals: usize,
}

impl Pattern {
    /// A pattern used as it is (an empty reference).
    pub fn new(pattern: &[u8]) -> Pattern {
        let mut bytes: Vec<u8> = Vec::with_capacity(pattern.len());
        for &b in pattern {
            match (bytes.last(), b) {
                (Some(b'*'), b'*' | b'%') => {}
                (Some(b'%'), b'*') => {
                    bytes.pop();
                    // A `*` may follow the `%` we just dropped (`*%*`): keep one.
                    if bytes.last() != Some(&b'*') {
                        bytes.push(b'*');
                    }
                }
                (Some(b'%'), b'%') => {}
                _ => bytes.push(b),
            }
        }
        let literals = bytes.iter().filter(|&&b| b != b'*' && b != b'%').count();
        Pattern { bytes, literals }
    }

    /// RFC 3501 §6.3.8: the reference and the mailbox argument concatenated as they are, except
    /// that a mailbox argument starting with `/` or `~` ignores the reference (c-client's
    /// `mail_list` does the same). Such a pattern then matches nothing here, since no mailbox
    /// name starts with those; nor does a reference starting with `{` (a remote server).
    pub fn with_reference(reference: &[u8], pattern: &[u8]) -> Pattern {
        if pattern.first().is_some_and(|&b| b == b'/' || b == b'~') || reference.is_empty() {
            Pattern::new(pattern)
        } else {
            Pattern::new(&[reference, pattern].concat())
        }
    }

    /// The pattern after reference handling and wildcard collapsing.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the pattern is empty (`LIST "" ""`, the request for the hierarchy delimiter).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Whether the pattern ends with `%` (LSUB then reports unsubscribed parents as
    /// `\Noselect`, RFC 3501 §6.3.9).
    pub fn ends_with_percent(&self) -> bool {
        self.bytes.last() == Some(&b'%')
    }

    /// Whether `name` matches, byte for byte and case-sensitively: `*` matches any bytes, `%`
    /// any bytes but `/`.
    pub fn matches(&self, name: &[u8]) -> bool {
        if name.len() < self.literals || name.len() > MAX_PATH_BYTES {
            return false;
        }
        let states = self.run(name);
        states.last().copied().unwrap_or(false)
    }

    /// Whether INBOX matches: `INBOX` against the pattern in upper case, so `inbox`, `In*` and
    /// `%` all list INBOX (c-client's rule, notes §4.3 step 6; RFC 3501 §5.1: INBOX is
    /// case-insensitive).
    pub fn matches_inbox(&self) -> bool {
        Pattern {
            bytes: self.bytes.to_ascii_uppercase(),
            literals: self.literals,
        }
        .matches(b"INBOX")
    }

    /// Whether a mailbox name matches: INBOX by [`matches_inbox`](Self::matches_inbox), every
    /// other name by [`matches`](Self::matches).
    pub fn matches_name(&self, name: &MailboxName) -> bool {
        if name.is_inbox() {
            self.matches_inbox()
        } else {
            self.matches(name.as_bytes())
        }
    }

    /// Whether some name starting with `prefix` could match (c-client's `dmatch`), so that a
    /// directory walk can skip a subtree: `Work/` could match `Work/%` or `*`, never `Sent`.
    pub fn may_match_below(&self, prefix: &[u8]) -> bool {
        if prefix.len() > MAX_PATH_BYTES {
            return false;
        }
        // Any live position can still reach the end: literals can be supplied, wildcards can
        // match nothing.
        self.run(prefix).contains(&true)
    }

    /// Runs the position automaton over `input`; `result[i]` says whether position `i` of the
    /// pattern is reachable afterwards (the last position is "matched everything").
    fn run(&self, input: &[u8]) -> Vec<bool> {
        let p = &self.bytes;
        let mut current = vec![false; p.len() + 1];
        current[0] = true;
        self.close(&mut current);
        let mut next = vec![false; p.len() + 1];
        for &c in input {
            next.iter_mut().for_each(|s| *s = false);
            let mut any = false;
            for (i, &live) in current.iter().enumerate() {
                if !live {
                    continue;
                }
                match p.get(i) {
                    Some(b'*') => next[i] = true,
                    Some(b'%') if c != DELIMITER => next[i] = true,
                    Some(b'%') => continue,
                    Some(&lit) if lit == c => next[i + 1] = true,
                    _ => continue,
                }
                any = true;
            }
            if !any {
                return next;
            }
            self.close(&mut next);
            std::mem::swap(&mut current, &mut next);
        }
        current
    }

    /// Adds the positions reachable by letting wildcards match nothing.
    fn close(&self, states: &mut [bool]) {
        for i in 0..self.bytes.len() {
            if states[i] && matches!(self.bytes[i], b'*' | b'%') {
                states[i + 1] = true;
            }
        }
    }
}

#[cfg(test)]
mod tests;
