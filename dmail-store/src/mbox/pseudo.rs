//! The pseudo-message ("DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA") and the folder data
//! it carries: UIDVALIDITY, the last UID and the keyword names (mailbox-formats.md §1–2;
//! notes/uw-c-client.md §1.5–1.6). Reads `X-IMAP:` (padded 4.4 or unpadded NT numbers) and
//! `X-IMAPbase:`, tells the pseudo-message from delivered mail, writes the 4.4 layout, and
//! locates the fixed-width last-UID field so it can be updated in place.
//!
//! Works on bytes handed to it; it must never scan a whole mailbox (that is [`super::scan`]),
//! decide UIDs (that is [`super::uids`]) or touch files. A forged `X-IMAP:` in delivered mail
//! must never make a message count as the pseudo-message.

use std::ops::Range;

use crate::civil::{Civil, MONTHS, WEEKDAYS};
use crate::mbox::LineEnding;
use crate::mbox::from_line::{ctime, zone_text};
use crate::{InternalDate, KeywordTable, MAX_KEYWORDS, Uid, UidValidity};

/// The pseudo-message's envelope sender and the local part of its `From:` address.
pub const SENDER: &str = "MAILER-DAEMON";
/// The display name of its `From:` address.
pub const FROM_NAME: &str = "Mail System Internal Data";
/// Its `Subject:`.
pub const SUBJECT: &str = "DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA";
/// Its body: four lines (c-client's `pseudo.c`).
pub const BODY: [&str; 4] = [
    "This text is part of the internal format of your mail folder, and is not",
    "a real message.  It is created automatically by the mail system software.",
    "If deleted, important folder data will be lost, and it will be re-created",
    "with the data reset to initial values.",
];

/// A mailbox's folder data, as `X-IMAP:` / `X-IMAPbase:` hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderData {
    /// UIDVALIDITY.
    pub uid_validity: UidValidity,
    /// The last UID assigned (`None`: none yet, written as 0).
    pub last_uid: Option<Uid>,
    /// The keyword names, slot 0 first.
    pub keywords: KeywordTable,
}

/// Whether a message is the pseudo-message (mailbox-formats.md §1): it must be the file's first
/// message, carry `X-IMAP:`, have the envelope sender `MAILER-DAEMON` **and** the pseudo
/// Subject ([`is_subject_line`]). Anything less is an ordinary message, whatever its headers
/// say, so a forged `X-IMAP:` can never hide or destroy delivered mail.
///
/// ```
/// use dmail_store::mbox::pseudo::is_pseudo;
/// assert!(is_pseudo(true, b"MAILER-DAEMON", true, true));
/// assert!(!is_pseudo(true, b"evil@example.com", true, true));
/// assert!(!is_pseudo(false, b"MAILER-DAEMON", true, true));
/// ```
pub fn is_pseudo(first: bool, sender: &[u8], has_x_imap: bool, has_subject: bool) -> bool {
    first && has_x_imap && has_subject && sender == SENDER.as_bytes()
}

/// Whether a header line is exactly `Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL
/// DATA` (the name in any case, the value exact, then LF or CRLF or nothing).
///
/// ```
/// use dmail_store::mbox::pseudo::is_subject_line;
/// assert!(is_subject_line(b"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\r\n"));
/// assert!(!is_subject_line(b"Subject: Re: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"));
/// ```
pub fn is_subject_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let name = b"Subject: ";
    line.len() == name.len() + SUBJECT.len()
        && line[..name.len()].eq_ignore_ascii_case(name)
        && &line[name.len()..] == SUBJECT.as_bytes()
}

/// The parts of an `X-IMAP:`/`X-IMAPbase:` header: the two numbers' digit ranges and the
/// keyword tokens, all relative to the header's first byte.
struct Parts<'a> {
    validity: Range<usize>,
    last: Range<usize>,
    keywords: Vec<&'a [u8]>,
}

fn digits_at(h: &[u8], mut i: usize) -> Range<usize> {
    let start = i;
    while h.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    start..i
}

fn blanks(h: &[u8], mut i: usize) -> usize {
    while matches!(h.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

fn parts(header: &[u8]) -> Option<Parts<'_>> {
    let name_len = if header.starts_with(b"X-IMAP:") {
        7
    } else if header.starts_with(b"X-IMAPbase:") {
        11
    } else {
        return None;
    };
    let validity = digits_at(header, blanks(header, name_len));
    let last = digits_at(header, blanks(header, validity.end));
    if validity.is_empty() || last.is_empty() || last.start == validity.end {
        return None;
    }
    let keywords = header[last.end..]
        .split(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .filter(|t| !t.is_empty())
        .collect();
    Some(Parts {
        validity,
        last,
        keywords,
    })
}

fn number(b: &[u8]) -> Option<u32> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Reads an `X-IMAP:` or `X-IMAPbase:` header (name included, continuation lines allowed):
/// `UIDVALIDITY LASTUID [keyword ...]`, the numbers zero-padded (4.4) or not (NT, X-IMAPbase),
/// CRLF or LF. As in c-client, the header counts only if UIDVALIDITY is non-zero and the last
/// UID's digits are present; numbers above 4294967295 make it not count either. Keywords past
/// the 30th, and repeats of a name already listed, are dropped.
///
/// ```
/// use dmail_store::mbox::pseudo::parse_folder_data;
/// let d = parse_folder_data(b"X-IMAP: 0964139896 0000000012 $Junk Work\n").unwrap();
/// assert_eq!(d.uid_validity.get(), 964139896);
/// assert_eq!(d.last_uid.unwrap().get(), 12);
/// assert_eq!(d.keywords.names(), ["$Junk", "Work"]);
/// assert!(parse_folder_data(b"X-IMAP: 0 5\n").is_none());
/// ```
pub fn parse_folder_data(header: &[u8]) -> Option<FolderData> {
    let p = parts(header)?;
    let uid_validity = UidValidity::new(number(&header[p.validity])?)?;
    let last_uid = Uid::new(number(&header[p.last])?);
    let mut keywords = KeywordTable::default();
    for k in p.keywords {
        if keywords.names().len() >= MAX_KEYWORDS {
            break;
        }
        keywords.slot_or_add(&String::from_utf8_lossy(k));
    }
    Some(FolderData {
        uid_validity,
        last_uid,
        keywords,
    })
}

/// Where the last-UID number of an `X-IMAP:`/`X-IMAPbase:` header is, relative to the header's
/// first byte, when it is the fixed-width 10-digit form: then the engine can overwrite it with
/// [`last_uid_digits`] without moving any other byte. `None` for the unpadded form (NT,
/// X-IMAPbase), which must be rewritten.
///
/// ```
/// use dmail_store::mbox::pseudo::last_uid_field;
/// assert_eq!(last_uid_field(b"X-IMAP: 0964139896 0000000001\n"), Some(19..29));
/// assert_eq!(last_uid_field(b"X-IMAP: 964139896 1\r\n"), None);
/// ```
pub fn last_uid_field(header: &[u8]) -> Option<Range<usize>> {
    let p = parts(header)?;
    (p.last.len() == 10).then_some(p.last)
}

/// The ten digits of the last-UID field (`%010u`; 0 when no UID has been assigned).
///
/// ```
/// use dmail_store::{Uid, mbox::pseudo::last_uid_digits};
/// assert_eq!(&last_uid_digits(Uid::new(42)), b"0000000042");
/// assert_eq!(&last_uid_digits(None), b"0000000000");
/// ```
pub fn last_uid_digits(last_uid: Option<Uid>) -> [u8; 10] {
    let mut out = [b'0'; 10];
    let mut n = last_uid.map_or(0, Uid::get);
    for d in out.iter_mut().rev() {
        // n % 10 < 10, so the cast is exact.
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out
}

/// RFC 822's `Www, d Mmm yyyy hh:mm:ss ±hhmm` (c-client's `rfc822_date` without the zone
/// name), in the date's own zone.
pub(crate) fn rfc822_date(date: InternalDate) -> String {
    let c = Civil::from_unix(date.unix + i64::from(date.offset_minutes) * 60);
    format!(
        "{}, {} {} {} {:02}:{:02}:{:02} {}",
        WEEKDAYS[c.weekday()],
        c.day,
        MONTHS[(c.month as usize).saturating_sub(1) % 12],
        c.year,
        c.hour,
        c.minute,
        c.second,
        zone_text(date.offset_minutes)
    )
}

/// Appends a pseudo-message in c-client 4.4's layout (notes/uw-c-client.md §1.5) to `out`, and
/// returns where its 10-digit last-UID field is within `out`:
///
/// ```text
/// From MAILER-DAEMON Fri Jul 21 12:38:16 2000
/// Date: Fri, 21 Jul 2000 12:38:16 +1200
/// From: Mail System Internal Data <MAILER-DAEMON@HOST>
/// Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA
/// X-IMAP: 0964139896 0000000001[ keyword]...
/// Status: RO
///
/// (the four body lines)
///
/// ```
///
/// `now` gives the date and its zone (the From line is `ctime()` of it); `host` is the machine's
/// host name. Lines end as `ending` says. \[decided\] The `Date:` line has no `(TZNAME)` comment:
/// the zone abbreviation is not reliably known and nothing reads it.
///
/// ```
/// use dmail_store::{InternalDate, KeywordTable, UidValidity, Uid};
/// use dmail_store::mbox::{LineEnding, pseudo::{FolderData, write}};
/// let data = FolderData {
///     uid_validity: UidValidity::new(964139896).unwrap(),
///     last_uid: Uid::new(1),
///     keywords: KeywordTable::default(),
/// };
/// let mut out = Vec::new();
/// let now = InternalDate { unix: 964139896, offset_minutes: 720 };
/// let field = write(&mut out, &data, now, "mail.example.com", LineEnding::Lf);
/// assert!(out.starts_with(b"From MAILER-DAEMON Fri Jul 21 12:38:16 2000\nDate: Fri, 21 Jul 2000 12:38:16 +1200\n"));
/// assert_eq!(&out[field], b"0000000001");
/// ```
pub fn write(
    out: &mut Vec<u8>,
    data: &FolderData,
    now: InternalDate,
    host: &str,
    ending: LineEnding,
) -> Range<usize> {
    let eol = ending.as_bytes();
    let line = |out: &mut Vec<u8>, text: &[u8]| {
        out.extend_from_slice(text);
        out.extend_from_slice(eol);
    };
    line(out, format!("From {SENDER} {}", ctime(now)).as_bytes());
    line(out, format!("Date: {}", rfc822_date(now)).as_bytes());
    line(
        out,
        format!("From: {FROM_NAME} <{SENDER}@{host}>").as_bytes(),
    );
    line(out, format!("Subject: {SUBJECT}").as_bytes());
    let mut x_imap = format!("X-IMAP: {:010} ", data.uid_validity.get()).into_bytes();
    let field_start = out.len() + x_imap.len();
    x_imap.extend_from_slice(&last_uid_digits(data.last_uid));
    for name in data.keywords.names() {
        x_imap.push(b' ');
        x_imap.extend_from_slice(name.as_bytes());
    }
    line(out, &x_imap);
    line(out, b"Status: RO");
    line(out, b"");
    for body in BODY {
        line(out, body.as_bytes());
    }
    line(out, b"");
    field_start..field_start + 10
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    // notes/uw-c-client.md §1.5 (4.4 padded, NT unpadded, CRLF) and §1.6 (X-IMAPbase).
    #[test_case(b"X-IMAP: 0964139896 0000000001\n", 964139896, 1, &[]; "4.4 padded")]
    #[test_case(b"X-IMAP: 964139896 57\r\n", 964139896, 57, &[]; "NT unpadded CRLF")]
    #[test_case(b"X-IMAP: 0964139896 0000000000 $Junk Work\n", 964139896, 0, &["$Junk", "Work"]; "keywords")]
    #[test_case(b"X-IMAP:  1\t2  a  b   \n", 1, 2, &["a", "b"]; "odd blanks")]
    #[test_case(b"X-IMAP: 1 2 a\n b\n", 1, 2, &["a", "b"]; "continuation")]
    #[test_case(b"X-IMAPbase: 1234567890 5 $Forwarded\n", 1234567890, 5, &["$Forwarded"]; "X-IMAPbase")]
    #[test_case(b"X-IMAP: 1 2 a A b a\n", 1, 2, &["a", "b"]; "repeats dropped")]
    fn folder_data(h: &[u8], validity: u32, last: u32, kw: &[&str]) {
        let d = parse_folder_data(h).unwrap();
        assert_eq!(d.uid_validity.get(), validity);
        assert_eq!(d.last_uid.map_or(0, Uid::get), last);
        assert_eq!(d.keywords.names(), kw);
    }

    // notes §1.4: UIDVALIDITY must be non-zero and the last UID's digits present.
    #[test_case(b"X-IMAP: 0 5\n"; "zero validity")]
    #[test_case(b"X-IMAP: 964139896\n"; "no last uid")]
    #[test_case(b"X-IMAP: 964139896 x\n"; "junk last uid")]
    #[test_case(b"X-IMAP: junk\n"; "junk")]
    #[test_case(b"X-IMAP: 4294967296 1\n"; "validity overflow")]
    #[test_case(b"X-IMAP: 1 4294967296\n"; "last overflow")]
    #[test_case(b"Subject: 1 2\n"; "not the header")]
    fn ignored(h: &[u8]) {
        assert_eq!(parse_folder_data(h), None);
    }

    #[test]
    fn thirty_keywords_at_most() {
        let names: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        let h = format!("X-IMAP: 1 2 {}\n", names.join(" "));
        let d = parse_folder_data(h.as_bytes()).unwrap();
        assert_eq!(d.keywords.names().len(), MAX_KEYWORDS);
    }

    #[test_case(b"X-IMAP: 0964139896 0000000001 a b\n", Some(19..29); "padded")]
    #[test_case(b"X-IMAP: 964139896 1\n", None; "unpadded")]
    #[test_case(b"X-IMAPbase: 0964139896 4000000000\n", Some(23..33); "ten digits in X-IMAPbase")]
    #[test_case(b"X-IMAP: 0 0000000001\n", Some(10..20); "field found even when the header does not count")]
    fn field(h: &[u8], range: Option<Range<usize>>) {
        assert_eq!(last_uid_field(h), range);
    }

    /// notes/uw-c-client.md §1.5: the exact 4.4 layout (without the Date's zone comment).
    #[test]
    fn writes_the_44_layout() {
        let data = FolderData {
            uid_validity: UidValidity::new(964139896).unwrap(),
            last_uid: Uid::new(1),
            keywords: KeywordTable::new(["$Junk".to_string(), "Work".to_string()]),
        };
        let now = InternalDate {
            unix: 964139896,
            offset_minutes: 720,
        };
        let mut out = b"prefix".to_vec();
        let field = write(&mut out, &data, now, "mail.example.com", LineEnding::Lf);
        let expected = "prefixFrom MAILER-DAEMON Fri Jul 21 12:38:16 2000\n\
Date: Fri, 21 Jul 2000 12:38:16 +1200\n\
From: Mail System Internal Data <MAILER-DAEMON@mail.example.com>\n\
Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n\
X-IMAP: 0964139896 0000000001 $Junk Work\n\
Status: RO\n\
\n\
This text is part of the internal format of your mail folder, and is not\n\
a real message.  It is created automatically by the mail system software.\n\
If deleted, important folder data will be lost, and it will be re-created\n\
with the data reset to initial values.\n\
\n";
        assert_eq!(String::from_utf8(out.clone()).unwrap(), expected);
        assert_eq!(&out[field.clone()], b"0000000001");
        // Overwriting the field in place gives a header that reads back the new value.
        out[field].copy_from_slice(&last_uid_digits(Uid::new(4_000_000_000)));
        let line = out
            .split_inclusive(|b| *b == b'\n')
            .find(|l| l.starts_with(b"X-IMAP:"))
            .unwrap();
        assert_eq!(
            parse_folder_data(line).unwrap().last_uid,
            Uid::new(4_000_000_000)
        );
    }

    #[test]
    fn crlf_and_small_days() {
        let data = FolderData {
            uid_validity: UidValidity::new(7).unwrap(),
            last_uid: None,
            keywords: KeywordTable::default(),
        };
        // 2000-03-08 10:15:30 UTC, a Wednesday: ctime pads the day with a space, Date does not.
        let now = InternalDate {
            unix: 952_510_530,
            offset_minutes: -300,
        };
        let mut out = Vec::new();
        let field = write(&mut out, &data, now, "h", LineEnding::Crlf);
        assert!(out.starts_with(
            b"From MAILER-DAEMON Wed Mar  8 05:15:30 2000\r\nDate: Wed, 8 Mar 2000 05:15:30 -0500\r\n"
        ));
        assert_eq!(&out[field], b"0000000000");
        assert!(out.ends_with(b"initial values.\r\n\r\n"));
        assert!(!out.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
    }

    #[test_case(b"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n", true; "exact")]
    #[test_case(b"SUBJECT: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA", true; "name case, no line end")]
    #[test_case(b"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA \n", false; "trailing space")]
    #[test_case(b"Subject: don't delete this message -- folder internal data\n", false; "value case")]
    #[test_case(b"Subject:DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n", false; "no space")]
    fn subject(line: &[u8], expected: bool) {
        assert_eq!(is_subject_line(line), expected);
    }
}
