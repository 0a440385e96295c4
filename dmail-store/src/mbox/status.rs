//! The status headers c-client keeps in every message's header (mailbox-formats.md §1–2;
//! notes/uw-c-client.md §1.3, §1.7): recognising `Status:`, `X-Status:`, `X-Keywords:`,
//! `X-UID:`, `X-IMAP:` and `X-IMAPbase:` lines, reading the flags, keyword names and UID they
//! carry, and writing the status block (also as a same-length replacement for in-place flag
//! writes).
//!
//! Works on the bytes of one header at a time; it must never decide where messages or headers
//! begin and end, never decide which message is the pseudo-message (that is [`super::pseudo`] and
//! [`super::scan`]), and never touch files.

use crate::mbox::LineEnding;
use crate::{Flags, KeywordSet, KeywordTable, SystemFlags, Uid};

/// Which metadata header a line starts. Recognition is exact and case-sensitive at the start of
/// the line (`status:` is an ordinary header, shown to clients and kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeaderKind {
    /// `Status:` — flag letters (`R` \Seen, `O` not \Recent).
    Status,
    /// `X-Status:` — flag letters (`D`, `F`, `A`, `T`).
    XStatus,
    /// `X-Keywords:` — keyword names.
    XKeywords,
    /// `X-UID:` — the message's UID.
    XUid,
    /// `X-IMAP:` — the pseudo-message's folder data (first message only).
    XImap,
    /// `X-IMAPbase:` — folder data on a real first message (first message only).
    XImapBase,
}

impl HeaderKind {
    const ALL: [HeaderKind; 6] = [
        HeaderKind::Status,
        HeaderKind::XStatus,
        HeaderKind::XKeywords,
        HeaderKind::XUid,
        HeaderKind::XImap,
        HeaderKind::XImapBase,
    ];

    /// The header's name with its colon, as it must appear at the start of the line.
    pub const fn name(self) -> &'static str {
        match self {
            HeaderKind::Status => "Status:",
            HeaderKind::XStatus => "X-Status:",
            HeaderKind::XKeywords => "X-Keywords:",
            HeaderKind::XUid => "X-UID:",
            HeaderKind::XImap => "X-IMAP:",
            HeaderKind::XImapBase => "X-IMAPbase:",
        }
    }

    /// The kind of header a line starts, if any (exact, case-sensitive).
    ///
    /// ```
    /// use dmail_store::mbox::status::HeaderKind;
    /// assert_eq!(HeaderKind::of(b"X-Status: F\n"), Some(HeaderKind::XStatus));
    /// assert_eq!(HeaderKind::of(b"status: RO\n"), None);
    /// assert_eq!(HeaderKind::of(b"X-IMAPbase: 1 2\n"), Some(HeaderKind::XImapBase));
    /// ```
    pub fn of(line: &[u8]) -> Option<HeaderKind> {
        match line.first() {
            Some(b'S' | b'X') => Self::ALL
                .into_iter()
                .find(|k| line.starts_with(k.name().as_bytes())),
            _ => None,
        }
    }

    /// Whether this header belongs to the per-message status block (`Status`, `X-Status`,
    /// `X-Keywords`, `X-UID`), as opposed to the first message's folder data.
    pub const fn is_block(self) -> bool {
        matches!(
            self,
            HeaderKind::Status | HeaderKind::XStatus | HeaderKind::XKeywords | HeaderKind::XUid
        )
    }
}

/// What a message's status headers say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusFields {
    /// `R` → \Seen, `D` → \Deleted, `F` → \Flagged, `A` → \Answered, `T` → \Draft, each in
    /// either `Status:` or `X-Status:` (c-client's rule, not Dovecot's stricter one).
    pub system: SystemFlags,
    /// Whether an `O` was seen: the message is "old", i.e. not \Recent.
    pub old: bool,
    /// The `X-Keywords:` names as written (lossily decoded as UTF-8), empty tokens skipped. They
    /// count only once resolved against the mailbox's keyword table ([`StatusFields::flags`]).
    pub keyword_names: Vec<String>,
    /// The first `X-UID:` header's value. A value that is not a decimal number from 1 to
    /// 4294967295 counts as no X-UID at all (see [`parse_uid`]).
    pub uid: Option<Uid>,
    /// Whether an `X-UID:` header was seen (even one whose value did not parse).
    pub uid_seen: bool,
}

impl StatusFields {
    /// Takes in one status header: `header` is the whole header, name included, with any
    /// continuation lines (which belong to it: letters and names on them count too). Headers of
    /// kind `X-IMAP`/`X-IMAPbase` are ignored here ([`super::pseudo::parse_folder_data`] reads
    /// them).
    ///
    /// ```
    /// use dmail_store::mbox::status::{HeaderKind, StatusFields};
    /// use dmail_store::SystemFlags;
    /// let mut s = StatusFields::default();
    /// s.add(HeaderKind::Status, b"Status: RO\n");
    /// s.add(HeaderKind::XStatus, b"X-Status: F\n");
    /// assert_eq!(s.system, SystemFlags::SEEN | SystemFlags::FLAGGED);
    /// assert!(s.old);
    /// ```
    pub fn add(&mut self, kind: HeaderKind, header: &[u8]) {
        let value = header.get(kind.name().len()..).unwrap_or_default();
        match kind {
            HeaderKind::Status | HeaderKind::XStatus => {
                for b in value {
                    match b {
                        b'R' => self.system |= SystemFlags::SEEN,
                        b'O' => self.old = true,
                        b'D' => self.system |= SystemFlags::DELETED,
                        b'F' => self.system |= SystemFlags::FLAGGED,
                        b'A' => self.system |= SystemFlags::ANSWERED,
                        b'T' => self.system |= SystemFlags::DRAFT,
                        _ => {}
                    }
                }
            }
            HeaderKind::XKeywords => self.keyword_names.extend(
                value
                    .split(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                    .filter(|t| !t.is_empty())
                    .map(|t| String::from_utf8_lossy(t).into_owned()),
            ),
            HeaderKind::XUid => {
                if !self.uid_seen {
                    self.uid_seen = true;
                    self.uid = parse_uid(value);
                }
            }
            HeaderKind::XImap | HeaderKind::XImapBase => {}
        }
    }

    /// The stored flags, with the keyword names resolved against the mailbox's keyword table
    /// (names not in the table do not count; c-client 2007f's rule).
    pub fn flags(&self, table: &KeywordTable) -> Flags {
        Flags {
            system: self.system,
            keywords: resolve_keywords(&self.keyword_names, table),
        }
    }
}

/// The slots of the names that are in `table` (compared ASCII case-insensitively); other names
/// are ignored.
///
/// ```
/// use dmail_store::{KeywordTable, mbox::status::resolve_keywords};
/// let t = KeywordTable::new(["$Junk".to_string(), "Work".to_string()]);
/// let k = resolve_keywords(&["work".to_string(), "Other".to_string()], &t);
/// assert_eq!(k.slots().collect::<Vec<_>>(), [1]);
/// ```
pub fn resolve_keywords(names: &[String], table: &KeywordTable) -> KeywordSet {
    names
        .iter()
        .filter_map(|n| table.slot(n))
        .fold(KeywordSet::EMPTY, KeywordSet::with)
}

/// Reads an `X-UID:` value: blanks, decimal digits, then anything (c-client ignores the rest of
/// the line). \[decided\] A value with no digits, `0`, or one above 4294967295 is `None`: the
/// message is treated as having no X-UID (it is stamped afresh) rather than as breaking the UID
/// sequence, which in c-client would renew UIDVALIDITY.
///
/// ```
/// use dmail_store::{Uid, mbox::status::parse_uid};
/// assert_eq!(parse_uid(b" 42\n"), Uid::new(42));
/// assert_eq!(parse_uid(b" 0\n"), None);
/// assert_eq!(parse_uid(b" junk\n"), None);
/// ```
pub fn parse_uid(value: &[u8]) -> Option<Uid> {
    let start = value.iter().position(|b| !matches!(b, b' ' | b'\t'))?;
    let digits = &value[start..];
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    let n = std::str::from_utf8(&digits[..end])
        .ok()?
        .parse::<u32>()
        .ok()?;
    Uid::new(n)
}

/// The length the first three lines of a status block (`Status:`, `X-Status:`, `X-Keywords:`
/// up to its line end) are padded to with spaces at the end of `X-Keywords:` (c-client 4.7's
/// padding, mailbox-formats.md §2).
pub const BLOCK_PAD: usize = 50;

/// Builds a block; returns it and the index where padding goes (before X-Keywords' line end).
fn build(
    flags: Flags,
    table: &KeywordTable,
    uid: Option<Uid>,
    ending: LineEnding,
) -> (Vec<u8>, usize) {
    let eol = ending.as_bytes();
    let mut b = Vec::with_capacity(80);
    b.extend_from_slice(b"Status: ");
    if flags.system.contains(SystemFlags::SEEN) {
        b.push(b'R');
    }
    b.push(b'O');
    b.extend_from_slice(eol);
    b.extend_from_slice(b"X-Status: ");
    for (flag, letter) in [
        (SystemFlags::DELETED, b'D'),
        (SystemFlags::FLAGGED, b'F'),
        (SystemFlags::ANSWERED, b'A'),
        (SystemFlags::DRAFT, b'T'),
    ] {
        if flags.system.contains(flag) {
            b.push(letter);
        }
    }
    b.extend_from_slice(eol);
    b.extend_from_slice(b"X-Keywords:");
    for name in flags.keywords.slots().filter_map(|s| table.name(s)) {
        b.push(b' ');
        b.extend_from_slice(name.as_bytes());
    }
    if b.len() < BLOCK_PAD {
        b.resize(BLOCK_PAD, b' ');
    }
    let pad_at = b.len();
    b.extend_from_slice(eol);
    if let Some(uid) = uid {
        b.extend_from_slice(format!("X-UID: {uid}").as_bytes());
        b.extend_from_slice(eol);
    }
    (b, pad_at)
}

/// Appends a message's status block to `out` (mailbox-formats.md §2):
///
/// ```text
/// Status: [R]O
/// X-Status: [D][F][A][T]
/// X-Keywords:[ name]...<spaces up to 50 bytes from "Status:">
/// X-UID: n
/// ```
///
/// Keywords are written lowest slot first; slots with no name in `table` are left out. `X-UID`
/// is written when `uid` is given. Lines end as `ending` says (a CRLF file keeps CRLF; the 50
/// counts the line ends of the first two lines as they are written).
///
/// \[decided\] `O` is always written. A message is \Recent only in the session that stamped it
/// (mailbox-formats.md §1): that session remembers the message as \Recent itself, and to every
/// later reader the file says "old". So a freshly stamped message gets `O` too.
///
/// ```
/// use dmail_store::{Flags, KeywordTable, SystemFlags, Uid, mbox::{LineEnding, status::write_block}};
/// let mut out = Vec::new();
/// let f = Flags { system: SystemFlags::SEEN | SystemFlags::FLAGGED, ..Flags::default() };
/// write_block(&mut out, f, &KeywordTable::default(), Uid::new(1), LineEnding::Lf);
/// assert_eq!(out, b"Status: RO\nX-Status: F\nX-Keywords:                \nX-UID: 1\n");
/// ```
pub fn write_block(
    out: &mut Vec<u8>,
    flags: Flags,
    table: &KeywordTable,
    uid: Option<Uid>,
    ending: LineEnding,
) {
    out.extend_from_slice(&build(flags, table, uid, ending).0);
}

/// The replacement for an existing block of exactly `len` bytes (the range of a message's
/// contiguous status lines, [`super::scan::Message::status_block`]): the block
/// [`write_block`] would write, with extra spaces at the end of `X-Keywords:` so that it is
/// exactly `len` bytes long. `None` when it does not fit: the message must be rewritten with
/// new padding.
///
/// ```
/// use dmail_store::{Flags, KeywordTable, SystemFlags, Uid, mbox::{LineEnding, status::fit_block}};
/// let old = b"Status: O\nX-Status: \nX-Keywords:                  \nX-UID: 7\n";
/// let f = Flags { system: SystemFlags::SEEN | SystemFlags::DELETED, ..Flags::default() };
/// let new = fit_block(old.len(), f, &KeywordTable::default(), Uid::new(7), LineEnding::Lf).unwrap();
/// assert_eq!(new.len(), old.len());
/// assert!(new.starts_with(b"Status: RO\nX-Status: D\n"));
/// assert_eq!(fit_block(20, f, &KeywordTable::default(), Uid::new(7), LineEnding::Lf), None);
/// ```
pub fn fit_block(
    len: usize,
    flags: Flags,
    table: &KeywordTable,
    uid: Option<Uid>,
    ending: LineEnding,
) -> Option<Vec<u8>> {
    let (mut b, pad_at) = build(flags, table, uid, ending);
    let extra = len.checked_sub(b.len())?;
    b.splice(pad_at..pad_at, std::iter::repeat_n(b' ', extra));
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    fn fields(headers: &[&[u8]]) -> StatusFields {
        let mut s = StatusFields::default();
        for h in headers {
            s.add(HeaderKind::of(h).unwrap(), h);
        }
        s
    }

    // notes/uw-c-client.md §1.3: exact, case-sensitive names at line start.
    #[test_case(b"Status: RO", Some(HeaderKind::Status); "Status")]
    #[test_case(b"X-Status: F", Some(HeaderKind::XStatus); "X-Status")]
    #[test_case(b"X-Keywords: a", Some(HeaderKind::XKeywords); "X-Keywords")]
    #[test_case(b"X-UID: 1", Some(HeaderKind::XUid); "X-UID")]
    #[test_case(b"X-IMAP: 1 2", Some(HeaderKind::XImap); "X-IMAP")]
    #[test_case(b"X-IMAPbase: 1 2", Some(HeaderKind::XImapBase); "X-IMAPbase")]
    #[test_case(b"status: RO", None; "lower-case status is ordinary")]
    #[test_case(b"X-STATUS: F", None; "upper-case X-STATUS is ordinary")]
    #[test_case(b"Status : RO", None; "space before colon")]
    #[test_case(b" Status: RO", None; "not at line start")]
    #[test_case(b"X-UIDL: 5", None; "X-UIDL")]
    #[test_case(b"X-IMAPBASE: 1 2", None; "X-IMAPBASE upper case")]
    #[test_case(b"Subject: x", None; "ordinary")]
    fn kinds(line: &[u8], kind: Option<HeaderKind>) {
        assert_eq!(HeaderKind::of(line), kind);
    }

    // mailbox-formats.md §1: any of R O D F A T counts in either Status: or X-Status:.
    #[test_case(&[b"Status: R"], SystemFlags::SEEN, false; "R")]
    #[test_case(&[b"Status: O"], SystemFlags::EMPTY, true; "O")]
    #[test_case(&[b"X-Status: DFAT"], SystemFlags::DELETED | SystemFlags::FLAGGED | SystemFlags::ANSWERED | SystemFlags::DRAFT, false; "X-Status letters")]
    #[test_case(&[b"Status: RODF"], SystemFlags::SEEN | SystemFlags::DELETED | SystemFlags::FLAGGED, true; "system letters in Status")]
    #[test_case(&[b"X-Status: RO"], SystemFlags::SEEN, true; "R and O in X-Status")]
    #[test_case(&[b"Status: ro xyz"], SystemFlags::EMPTY, false; "lower case and other letters ignored")]
    #[test_case(&[b"Status: R\n", b"X-Status: A\n"], SystemFlags::SEEN | SystemFlags::ANSWERED, false; "both headers")]
    #[test_case(&[b"Status:\n\tR\n"], SystemFlags::SEEN, false; "continuation line belongs to it")]
    fn letters(headers: &[&[u8]], system: SystemFlags, old: bool) {
        let s = fields(headers);
        assert_eq!((s.system, s.old), (system, old));
    }

    // notes §1.3 / §1.7: names compare case-insensitively with the table; unknown names and
    // padding do not count.
    #[test]
    fn keywords_resolve_against_the_table() {
        let s = fields(&[b"X-Keywords: work $JUNK  unknown           \n"]);
        assert_eq!(s.keyword_names, ["work", "$JUNK", "unknown"]);
        let t = KeywordTable::new(["$Junk".to_string(), "x".to_string(), "Work".to_string()]);
        assert_eq!(s.flags(&t).keywords.slots().collect::<Vec<_>>(), [0, 2]);
        assert!(s.flags(&KeywordTable::default()).keywords.is_empty());
    }

    #[test_case(&[b"X-UID: 17\n"], Some(17); "plain")]
    #[test_case(&[b"X-UID:17\r\n"], Some(17); "no space, CRLF")]
    #[test_case(&[b"X-UID: 0000000017\n"], Some(17); "zero padded")]
    #[test_case(&[b"X-UID: 4294967295\n"], Some(u32::MAX); "largest")]
    #[test_case(&[b"X-UID: 4294967296\n"], None; "overflow")]
    #[test_case(&[b"X-UID: 0\n"], None; "zero")]
    #[test_case(&[b"X-UID: \n"], None; "empty")]
    #[test_case(&[b"X-UID: 5\n", b"X-UID: 9\n"], Some(5); "first wins")]
    #[test_case(&[b"X-UID: x\n", b"X-UID: 9\n"], None; "first wins even when junk")]
    fn uids(headers: &[&[u8]], uid: Option<u32>) {
        let s = fields(headers);
        assert_eq!(s.uid, uid.and_then(Uid::new));
        assert!(s.uid_seen);
    }

    // notes/uw-c-client.md §1.7 worked example: 16 spaces for \Seen \Flagged, 17 for \Seen.
    #[test_case(SystemFlags::SEEN | SystemFlags::FLAGGED, 16; "seen flagged")]
    #[test_case(SystemFlags::SEEN, 17; "seen")]
    fn padding_as_worked_example(system: SystemFlags, spaces: usize) {
        let mut out = Vec::new();
        let flags = Flags {
            system,
            ..Flags::default()
        };
        write_block(
            &mut out,
            flags,
            &KeywordTable::default(),
            None,
            LineEnding::Lf,
        );
        let kw = out.split(|b| *b == b'\n').nth(2).unwrap();
        assert_eq!(kw.len(), "X-Keywords:".len() + spaces);
        assert!(kw.ends_with(&vec![b' '; spaces]));
    }

    #[test]
    fn crlf_block_and_long_keywords() {
        let t =
            KeywordTable::new(["alpha", "beta-keyword-that-is-long", "gamma"].map(String::from));
        let flags = Flags {
            system: SystemFlags::ALL,
            keywords: KeywordSet::EMPTY.with(0).with(1).with(2).with(9),
        };
        let mut out = Vec::new();
        write_block(&mut out, flags, &t, Uid::new(12), LineEnding::Crlf);
        assert_eq!(
            out,
            b"Status: RO\r\nX-Status: DFAT\r\nX-Keywords: alpha beta-keyword-that-is-long gamma\r\nX-UID: 12\r\n"
        );
    }

    /// Reading a written block gives back what was written.
    #[test]
    fn write_then_read() {
        let t = KeywordTable::new(["$Junk", "Work", "Later"].map(String::from));
        for bits in 0..32u8 {
            for kw in [0u32, 1, 5, 7] {
                for ending in [LineEnding::Lf, LineEnding::Crlf] {
                    let flags = Flags {
                        system: SystemFlags::from_bits(bits),
                        keywords: KeywordSet::from_bits(kw),
                    };
                    let mut out = Vec::new();
                    write_block(&mut out, flags, &t, Uid::new(99), ending);
                    let mut s = StatusFields::default();
                    for line in out.split_inclusive(|b| *b == b'\n') {
                        s.add(HeaderKind::of(line).unwrap(), line);
                    }
                    assert_eq!(s.flags(&t), flags);
                    assert_eq!(s.uid, Uid::new(99));
                    assert!(s.old);
                }
            }
        }
    }

    #[test]
    fn fit_keeps_exact_length_or_refuses() {
        let t = KeywordTable::new(["short", "another-long-keyword"].map(String::from));
        let mut old = Vec::new();
        write_block(&mut old, Flags::default(), &t, Uid::new(3), LineEnding::Lf);
        // Growing within the padding fits, with the same length.
        let more = Flags {
            system: SystemFlags::ALL,
            keywords: KeywordSet::EMPTY.with(0),
        };
        let new = fit_block(old.len(), more, &t, Uid::new(3), LineEnding::Lf).unwrap();
        assert_eq!(new.len(), old.len());
        let mut s = StatusFields::default();
        for line in new.split_inclusive(|b| *b == b'\n') {
            s.add(HeaderKind::of(line).unwrap(), line);
        }
        assert_eq!(s.flags(&t), more);
        // Outgrowing it does not.
        let most = Flags {
            system: SystemFlags::ALL,
            keywords: KeywordSet::EMPTY.with(0).with(1),
        };
        assert_eq!(
            fit_block(old.len(), most, &t, Uid::new(3), LineEnding::Lf),
            None
        );
        // Shrinking keeps the length too.
        let new = fit_block(
            old.len() + 7,
            Flags::default(),
            &t,
            Uid::new(3),
            LineEnding::Crlf,
        )
        .unwrap();
        assert_eq!(new.len(), old.len() + 7);
    }
}
