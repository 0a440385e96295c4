//! Dates for SEARCH: the calendar date of an INTERNALDATE in its own zone, and the calendar
//! date written in a `Date:` header (RFC 5322 §3.3, with the obsolete forms of §4.3 and the
//! asctime-like order some old software writes).
//!
//! Owns date extraction only. It must never consult a clock or the system time zone, and never
//! convert a written date to another zone: SENT* keys compare the date as written.

use dmail_store::InternalDate;
use dmail_store::civil::Civil;

/// A calendar date as (year, month 1–12, day 1–31); tuples order the way dates do.
pub(crate) type Ymd = (i64, u32, u32);

/// The date of an INTERNALDATE in the zone it was recorded in; an unreadable one (`None`) is
/// the epoch, as FETCH shows it.
pub(crate) fn internal(date: Option<InternalDate>) -> Ymd {
    let (unix, offset) = date.map_or((0, 0), |d| (d.unix, i64::from(d.offset_minutes)));
    let c = Civil::from_unix(unix.saturating_add(offset * 60));
    (c.year, c.month, c.day)
}

/// The month (1–12) of a name's first three letters, case-insensitively.
fn month(word: &[u8]) -> Option<u32> {
    let w = word.get(..3)?;
    let names: [&[u8]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let i = names.iter().position(|n| w.eq_ignore_ascii_case(n))?;
    u32::try_from(i + 1).ok()
}

/// A token of 1–4 ASCII digits and nothing else (a time like `10:00:00` is not one).
fn number(word: &[u8]) -> Option<u32> {
    if word.is_empty() || word.len() > 4 || !word.iter().all(u8::is_ascii_digit) {
        return None;
    }
    word.iter().try_fold(0u32, |n, d| {
        n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

/// A written year: two digits are 1950–2049, three digits add 1900 (RFC 5322 §4.3).
fn year(word: &[u8]) -> Option<i64> {
    let n = i64::from(number(word)?);
    Some(match word.len() {
        1 | 2 if n < 50 => 2000 + n,
        1 | 2 => 1900 + n,
        3 => 1900 + n,
        _ => n,
    })
}

/// The date a `Date:` header value names, in its own zone; `None` when it names none.
pub(crate) fn parse_header_date(value: &[u8]) -> Option<Ymd> {
    // Comments may hold anything, including words that look like months.
    let mut clean = Vec::with_capacity(value.len());
    let mut depth = 0u32;
    for &b in value {
        match b {
            b'(' => depth = depth.saturating_add(1),
            b')' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            _ => clean.push(b),
        }
    }
    let words: Vec<&[u8]> = clean
        .split(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b',' | b'-'))
        .filter(|w| !w.is_empty())
        .take(16)
        .collect();
    let m_at = words.iter().position(|w| month(w).is_some())?;
    let m = month(words[m_at])?;
    let day_ok = |d: u32| (1..=31).contains(&d).then_some(d);
    // "3 Jun 2008": day before the month, year right after.
    if let Some(d) = m_at
        .checked_sub(1)
        .and_then(|i| number(words[i]))
        .and_then(day_ok)
    {
        let y = year(words.get(m_at + 1)?)?;
        return Some((y, m, d));
    }
    // "Jun 3 10:00:00 2008" or "Jun 3 2008": day after the month, the year the next number.
    let d = day_ok(number(words.get(m_at + 1)?)?)?;
    let y = words[m_at + 2..].iter().find_map(|w| year(w))?;
    Some((y, m, d))
}
