//! The `From ` line that starts every message of an mbox file: c-client's VALID test (which lines
//! start a message), the internal date it carries, and the forms our writers produce
//! (mailbox-formats.md §1–2; notes/uw-c-client.md §1.2).
//!
//! Works on one line at a time; it must never look at other lines or decide anything about
//! message bodies (`>From` quoting is the writer's business).

use crate::InternalDate;
use crate::civil::{Civil, MONTHS, WEEKDAYS};

/// Where the parts of a valid From line are, found by c-client's VALID scan from the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shape {
    /// End of the sender (exclusive): the space before the weekday.
    sender_end: usize,
    /// Start of TIME (`hh:mm` or `hh:mm:ss`).
    time: usize,
    /// End of TIME (exclusive).
    time_end: usize,
    /// The year's 4 bytes.
    year: usize,
    /// The zone, if any: start and end.
    zone: Option<(usize, usize)>,
}

/// The line without its LF and one CR before it, and without a ` remote from host` trailer.
fn core(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let mut l = line.strip_suffix(b"\r").unwrap_or(line);
    if l.len() >= 41
        && let Some(space) = l.iter().rposition(|b| *b == b' ')
        && space >= 12
        && &l[space - 12..space] == b" remote from"
    {
        l = &l[..space - 12];
    }
    l
}

fn shape(l: &[u8]) -> Option<Shape> {
    if !l.starts_with(b"From ") || l.len() < 27 {
        return None;
    }
    let n = l.len();
    let at = |back: usize| -> Option<u8> { n.checked_sub(back).map(|i| l[i]) };
    let sign = |b: Option<u8>| matches!(b, Some(b'+' | b'-'));
    // (bytes back from the end where TIME ends, the year's start back, the zone's extent back)
    let (ti, year, zone): (usize, usize, Option<(usize, usize)>) = if at(5) == Some(b' ') {
        if at(8) == Some(b':') {
            (5, 4, None)
        } else if at(9) == Some(b' ') {
            (9, 4, Some((8, 5)))
        } else if at(11) == Some(b' ') && sign(at(10)) {
            (11, 4, Some((10, 5)))
        } else {
            return None;
        }
    } else if at(4) == Some(b' ') {
        if at(9) != Some(b' ') {
            return None;
        }
        (9, 8, Some((3, 0)))
    } else if at(6) == Some(b' ') {
        if !(at(11) == Some(b' ') && sign(at(5))) {
            return None;
        }
        (11, 10, Some((5, 0)))
    } else {
        return None;
    };
    let time_end = n - ti;
    if at(ti + 3) != Some(b':') {
        return None;
    }
    let time_len = if at(ti + 6) == Some(b':') { 8 } else { 5 };
    let before_time = time_end.checked_sub(time_len + 1)?;
    let ok = |i: Option<usize>| i.is_some_and(|i| l[i] == b' ');
    if !(ok(Some(before_time))
        && ok(before_time.checked_sub(3))
        && ok(before_time.checked_sub(7))
        && ok(before_time.checked_sub(11)))
    {
        return None;
    }
    let sender_end = before_time.checked_sub(11)?;
    if sender_end < 4 {
        // The weekday's space must come after "From" (it may be the space of "From ").
        return None;
    }
    Some(Shape {
        sender_end,
        time: before_time + 1,
        time_end,
        year: n - year,
        zone: zone.map(|(s, e)| (n - s, n - e)),
    })
}

/// Whether a line starts a message: c-client's VALID test, exactly (all five date tails, `hh:mm`
/// or `hh:mm:ss`, a two-byte day, an optional ` remote from host`). The line may include its LF
/// and a CR before it.
///
/// ```
/// use dmail_store::mbox::from_line::is_valid;
/// assert!(is_valid(b"From pntest@161.29.2.46 Sat Dec 26 09:37:48 1998"));
/// assert!(is_valid(b"From user Wed Dec  2 05:53 PST 1992 remote from host\r\n"));
/// assert!(!is_valid(b"From user Wed Dec 2 05:53 1992"));
/// assert!(!is_valid(b"From here to eternity, said the song"));
/// ```
pub fn is_valid(line: &[u8]) -> bool {
    shape(core(line)).is_some()
}

/// A parsed From line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FromLine<'a> {
    /// The envelope sender: whatever stands between `From ` and the weekday (may be empty or
    /// hold spaces).
    pub sender: &'a [u8],
    /// The internal date, when the date parses (c-client accepts the line either way).
    pub date: Option<InternalDate>,
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Named zones c-client's date parser knows, in minutes east of UTC.
fn named_zone(name: &[u8]) -> Option<i16> {
    const ZONES: &[(&[u8], i16)] = &[
        (b"UT", 0),
        (b"UTC", 0),
        (b"GMT", 0),
        (b"WET", 0),
        (b"BST", 60),
        (b"MET", 60),
        (b"CET", 60),
        (b"EET", 120),
        (b"JST", 540),
        (b"AST", -240),
        (b"ADT", -180),
        (b"EST", -300),
        (b"EDT", -240),
        (b"CST", -360),
        (b"CDT", -300),
        (b"MST", -420),
        (b"MDT", -360),
        (b"PST", -480),
        (b"PDT", -420),
        (b"YST", -540),
        (b"YDT", -480),
        (b"HST", -600),
        (b"HDT", -540),
    ];
    ZONES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, m)| *m)
}

fn numeric_zone(z: &[u8]) -> Option<i16> {
    let (sign, rest) = match z.split_first()? {
        (b'+', rest) => (1, rest),
        (b'-', rest) => (-1, rest),
        _ => return None,
    };
    if rest.len() != 4 {
        return None;
    }
    let hhmm = digits(rest)?;
    let minutes = i16::try_from(hhmm / 100 * 60 + hhmm % 100).ok()?;
    Some(sign * minutes)
}

fn date(l: &[u8], s: Shape, local_offset: &dyn Fn(i64) -> i16) -> Option<InternalDate> {
    let month_name = l.get(s.time - 7..s.time - 4)?;
    let month = MONTHS
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(month_name))?;
    let day_field = l.get(s.time - 3..s.time - 1)?;
    let day = digits(day_field.strip_prefix(b" ").unwrap_or(day_field))?;
    let time = l.get(s.time..s.time_end)?;
    let hour = digits(time.get(0..2)?)?;
    let minute = digits(time.get(3..5)?)?;
    let second = if time.len() == 8 {
        digits(time.get(6..8)?)?
    } else {
        0
    };
    let year = i64::from(digits(l.get(s.year..s.year + 4)?)?);
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let month = u32::try_from(month + 1).ok()?;
    let civil = Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
    };
    let wall = civil.to_unix();
    // c-client: no zone, or a name it does not know, means the server's local offset.
    let zone = s.zone.and_then(|(a, b)| {
        let z = l.get(a..b)?;
        numeric_zone(z).or_else(|| named_zone(z))
    });
    let offset = zone.unwrap_or_else(|| local_offset(wall));
    Some(InternalDate {
        unix: wall - i64::from(offset) * 60,
        offset_minutes: offset,
    })
}

/// Parses a From line: `None` unless [`is_valid`]. A date without a zone (or with a zone name
/// not in c-client's table) is read in the zone `local_offset` gives for that wall-clock time
/// (seconds since 1970 read as UTC → minutes east).
///
/// ```
/// use dmail_store::mbox::from_line::parse;
/// let f = parse(b"From tam6@[161.29.2.46] Tue Jan 05 16:41:58 1999", &|_| 0).unwrap();
/// assert_eq!(f.sender, b"tam6@[161.29.2.46]");
/// assert_eq!(f.date.unwrap().unix, 915_554_518);
/// let g = parse(b"From a Wed Dec  2 05:53:22 1992 -0700", &|_| 0).unwrap();
/// assert_eq!(g.date.unwrap().offset_minutes, -420);
/// ```
pub fn parse<'a>(line: &'a [u8], local_offset: &dyn Fn(i64) -> i16) -> Option<FromLine<'a>> {
    let l = core(line);
    let s = shape(l)?;
    let sender = l.get(5..s.sender_end).unwrap_or(b"");
    Some(FromLine {
        sender,
        date: date(l, s, local_offset),
    })
}

fn wall(date: InternalDate) -> Civil {
    Civil::from_unix(date.unix + i64::from(date.offset_minutes) * 60)
}

/// `±hhmm` for an offset in minutes east of UTC.
pub(crate) fn zone_text(offset_minutes: i16) -> String {
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let m = offset_minutes.unsigned_abs();
    format!("{sign}{:02}{:02}", m / 60, m % 60)
}

/// `ctime()`'s 24 characters for a date in its own zone: `Www Mmm dd hh:mm:ss yyyy`, the day
/// space-padded (the pseudo-message's From line).
///
/// ```
/// use dmail_store::{InternalDate, mbox::from_line::ctime};
/// assert_eq!(ctime(InternalDate { unix: 952_510_530, offset_minutes: 0 }), "Wed Mar  8 10:15:30 2000");
/// ```
pub fn ctime(date: InternalDate) -> String {
    let c = wall(date);
    let month = MONTHS[(c.month as usize).saturating_sub(1) % 12];
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        WEEKDAYS[c.weekday()],
        month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.year
    )
}

/// The From line c-client's APPEND writes (and so do we): `From SENDER Www Mmm dd hh:mm:ss yyyy
/// ±hhmm`, the day space-padded, the zone after the year; without the LF.
///
/// ```
/// use dmail_store::{InternalDate, mbox::from_line::{append_line, is_valid}};
/// let l = append_line("bob@mail", InternalDate { unix: 952_510_530, offset_minutes: 780 });
/// assert_eq!(l, "From bob@mail Wed Mar  8 23:15:30 2000 +1300");
/// assert!(is_valid(l.as_bytes()));
/// ```
pub fn append_line(sender: &str, date: InternalDate) -> String {
    format!(
        "From {sender} {} {}",
        ctime(date),
        zone_text(date.offset_minutes)
    )
}

/// The From line DSMTP writes: `From SENDER Www Mmm DD hh:mm:ss yyyy`, the day zero-padded, no
/// zone (NetWin's documented form); without the LF.
///
/// ```
/// use dmail_store::{InternalDate, mbox::from_line::{delivery_line, is_valid}};
/// let l = delivery_line("pntest@161.29.2.46", InternalDate { unix: 914_665_068, offset_minutes: 0 });
/// assert_eq!(l, "From pntest@161.29.2.46 Sat Dec 26 09:37:48 1998");
/// assert!(is_valid(l.as_bytes()));
/// ```
pub fn delivery_line(sender: &str, date: InternalDate) -> String {
    let c = wall(date);
    let month = MONTHS[(c.month as usize).saturating_sub(1) % 12];
    format!(
        "From {sender} {} {} {:02} {:02}:{:02}:{:02} {}",
        WEEKDAYS[c.weekday()],
        month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.year
    )
}

#[cfg(test)]
mod tests {
    use super::{is_valid, parse};
    use test_case::test_case;

    // notes/uw-c-client.md §1.2: the examples in unix.h's VALID comment, and DSMTP's lines.
    #[test_case(b"From user Wed Dec  2 05:53 1992", true; "hh:mm")]
    #[test_case(b"From user Wed Dec  2 05:53:22 1992", true; "hh:mm:ss")]
    #[test_case(b"From user Wed Dec  2 05:53 PST 1992", true; "zone name before year")]
    #[test_case(b"From user Wed Dec  2 05:53:22 PST 1992", true; "seconds, zone name before year")]
    #[test_case(b"From user Wed Dec  2 05:53 -0700 1992", true; "numeric zone before year")]
    #[test_case(b"From user Wed Dec  2 05:53:22 -0700 1992", true; "seconds, numeric zone before year")]
    #[test_case(b"From user Wed Dec  2 05:53 1992 PST", true; "zone name after year")]
    #[test_case(b"From user Wed Dec  2 05:53:22 1992 PST", true; "seconds, zone name after year")]
    #[test_case(b"From user Wed Dec  2 05:53 1992 -0700", true; "numeric zone after year")]
    #[test_case(b"From user Wed Dec  2 05:53:22 1992 -0700", true; "seconds, numeric zone after year")]
    #[test_case(b"From user Wed Dec  2 05:53:22 1992 -0700 remote from host", true; "remote from")]
    #[test_case(b"From user Wed Dec  2 05:53 1992 remote from uunet", true; "remote from, short")]
    #[test_case(b"From pntest@161.29.2.46 Sat Dec 26 09:37:48 1998", true; "DSMTP form")]
    #[test_case(b"From tam6@[161.29.2.46] Tue Jan 05 16:41:58 1999", true; "zero-padded day")]
    #[test_case(b"From MAILER-DAEMON Fri Jul 21 12:38:16 2000\r\n", true; "CRLF")]
    #[test_case(b"From a b c Wed Dec  2 05:53 1992", true; "sender with spaces")]
    #[test_case(b"From  Wed Dec  2 05:53:22 1992", true; "empty sender")]
    #[test_case(b"From user Wed Dec 2 05:53 1992", false; "one-byte day")]
    #[test_case(b"from user Wed Dec  2 05:53 1992", false; "lower-case from")]
    #[test_case(b">From user Wed Dec  2 05:53 1992", false; "quoted")]
    #[test_case(b"From user", false; "too short")]
    #[test_case(b"From the desk of the president, greetings", false; "prose")]
    #[test_case(b"From user Wed Dec  2 0553 1992", false; "no colon")]
    #[test_case(b"", false; "empty")]
    fn valid(line: &[u8], expected: bool) {
        assert_eq!(
            is_valid(line),
            expected,
            "{}",
            String::from_utf8_lossy(line)
        );
    }

    // Every row of the table parses to the right instant (the 4.4 bug with a numeric zone before
    // the year is not reproduced).
    #[test_case(b"From u Wed Dec  2 05:53:22 1992", 723_275_602, 0; "no zone is local")]
    #[test_case(b"From u Wed Dec  2 05:53:22 PST 1992", 723_304_402, -480; "PST before year")]
    #[test_case(b"From u Wed Dec  2 05:53:22 -0700 1992", 723_300_802, -420; "numeric before year")]
    #[test_case(b"From u Wed Dec  2 05:53:22 1992 PST", 723_304_402, -480; "PST after year")]
    #[test_case(b"From u Wed Dec  2 05:53:22 1992 +0130", 723_270_202, 90; "numeric after year")]
    #[test_case(b"From u Wed Dec  2 05:53 1992 XYZ", 723_275_580, 0; "unknown name is local")]
    fn dates(line: &[u8], unix: i64, offset: i16) {
        let d = parse(line, &|_| 0).unwrap().date.unwrap();
        assert_eq!((d.unix, d.offset_minutes), (unix, offset));
    }

    #[test]
    fn bad_date_is_still_a_message() {
        let f = parse(b"From u Wed Xyz 99 99:99:99 1992", &|_| 0).unwrap();
        assert_eq!(f.date, None);
        assert_eq!(f.sender, b"u");
    }
}
