//! Modified UTF-7, RFC 3501 §5.1.3: the 7-bit form in which IMAP clients send mailbox names.
//!
//! Owns the strict decoder (which refuses every non-canonical encoding, so each Unicode string
//! has exactly one accepted spelling) and the encoder. It must never look at hierarchy
//! delimiters, INBOX or file names: that is [`MailboxName`](super::MailboxName)'s business.

use std::fmt;

/// The modified BASE64 alphabet: RFC 2045's, with `,` in place of `/` (RFC 3501 §5.1.3).
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// The value of one modified BASE64 character.
fn sextet(b: u8) -> Option<u32> {
    let v = match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b',' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Whether a byte is printable US-ASCII, which modified UTF-7 writes as itself (`&` as `&-`).
pub(crate) fn is_printable_ascii(b: u8) -> bool {
    (0x20..=0x7e).contains(&b)
}

/// What is wrong with a modified UTF-7 string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Utf7ErrorKind {
    /// A byte that is neither printable US-ASCII nor part of a shift sequence (a control
    /// character or an 8-bit byte): modified UTF-7 is 7-bit printable text.
    NotPrintable,
    /// A `&` with no closing `-`.
    Unterminated,
    /// A byte inside a shift sequence that is not in the modified BASE64 alphabet.
    BadBase64,
    /// A shift sequence whose length leaves bits that cannot form a byte (one character too
    /// many).
    BadLength,
    /// A shift sequence that decodes to an odd number of bytes (UTF-16 needs pairs).
    OddBytes,
    /// The unused bits at the end of a shift sequence are not zero (a non-canonical spelling).
    NonZeroPadding,
    /// A UTF-16 surrogate without its partner inside the same shift sequence.
    UnpairedSurrogate,
    /// A shift sequence encoding a printable US-ASCII character, which must represent itself
    /// (RFC 3501 §5.1.3: "MUST NOT be used to represent any printing US-ASCII character").
    EncodesPrintable,
    /// A shift sequence directly after another one: the two must be written as one.
    AdjacentShifts,
}

/// A modified UTF-7 error and the byte offset where the offending part starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Utf7Error {
    /// Offset of the offending byte, or of the `&` that starts the offending shift sequence.
    pub offset: usize,
    /// What is wrong.
    pub kind: Utf7ErrorKind,
}

impl fmt::Display for Utf7Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            Utf7ErrorKind::NotPrintable => "a byte that is not printable US-ASCII",
            Utf7ErrorKind::Unterminated => "a shift sequence without its closing '-'",
            Utf7ErrorKind::BadBase64 => "a character outside modified BASE64",
            Utf7ErrorKind::BadLength => "a shift sequence of impossible length",
            Utf7ErrorKind::OddBytes => "a shift sequence with an odd number of bytes",
            Utf7ErrorKind::NonZeroPadding => "a shift sequence with non-zero padding bits",
            Utf7ErrorKind::UnpairedSurrogate => "an unpaired UTF-16 surrogate",
            Utf7ErrorKind::EncodesPrintable => "a shift sequence encoding printable US-ASCII",
            Utf7ErrorKind::AdjacentShifts => "two adjacent shift sequences",
        };
        write!(f, "invalid modified UTF-7 at byte {}: {what}", self.offset)
    }
}

impl std::error::Error for Utf7Error {}

/// Decodes modified UTF-7 (RFC 3501 §5.1.3) strictly: only the one canonical spelling of each
/// string is accepted. Never panics, whatever the bytes.
///
/// ```
/// use dmail_store::names::decode_modified_utf7;
/// assert_eq!(decode_modified_utf7(b"~peter/mail/&U,BTFw-/&ZeVnLIqe-").unwrap(),
///            "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}");
/// assert_eq!(decode_modified_utf7(b"Tom &- Jerry").unwrap(), "Tom & Jerry");
/// assert!(decode_modified_utf7(b"&AGE-").is_err()); // "a" must represent itself
/// ```
pub fn decode_modified_utf7(input: &[u8]) -> Result<String, Utf7Error> {
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    // Where the previous shift sequence ended, to refuse `&...-&...-`.
    let mut last_shift_end = None;
    while let Some(&b) = input.get(i) {
        if b != b'&' {
            if !is_printable_ascii(b) {
                return Err(Utf7Error {
                    offset: i,
                    kind: Utf7ErrorKind::NotPrintable,
                });
            }
            out.push(char::from(b));
            i += 1;
            last_shift_end = None;
            continue;
        }
        if input.get(i + 1) == Some(&b'-') {
            out.push('&');
            i += 2;
            last_shift_end = None;
            continue;
        }
        let start = i;
        if last_shift_end == Some(start) {
            return Err(Utf7Error {
                offset: start,
                kind: Utf7ErrorKind::AdjacentShifts,
            });
        }
        let body_start = start + 1;
        let mut end = body_start;
        loop {
            match input.get(end) {
                None => {
                    return Err(Utf7Error {
                        offset: start,
                        kind: Utf7ErrorKind::Unterminated,
                    });
                }
                Some(b'-') => break,
                Some(&c) if sextet(c).is_some() => end += 1,
                Some(_) => {
                    return Err(Utf7Error {
                        offset: end,
                        kind: Utf7ErrorKind::BadBase64,
                    });
                }
            }
        }
        let body = input.get(body_start..end).unwrap_or_default();
        decode_shift(body, start, &mut out)?;
        i = end + 1;
        last_shift_end = Some(i);
    }
    Ok(out)
}

/// Decodes the body of one shift sequence (between `&` and `-`, non-empty) into `out`.
fn decode_shift(body: &[u8], start: usize, out: &mut String) -> Result<(), Utf7Error> {
    let err = |kind| Utf7Error {
        offset: start,
        kind,
    };
    let mut units = Vec::with_capacity(body.len() * 6 / 16);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for &c in body {
        let v = sextet(c).ok_or(err(Utf7ErrorKind::BadBase64))?;
        acc = ((acc << 6) | v) & 0x3f_ffff;
        bits += 6;
        if bits >= 16 {
            bits -= 16;
            // Masked to 16 bits, so the conversion cannot fail.
            units.push(u16::try_from((acc >> bits) & 0xffff).unwrap_or_default());
        }
    }
    match bits {
        6 => return Err(err(Utf7ErrorKind::BadLength)),
        8.. => return Err(err(Utf7ErrorKind::OddBytes)),
        _ => {}
    }
    if acc & ((1 << bits) - 1) != 0 {
        return Err(err(Utf7ErrorKind::NonZeroPadding));
    }
    for decoded in char::decode_utf16(units.iter().copied()) {
        let c = decoded.map_err(|_| err(Utf7ErrorKind::UnpairedSurrogate))?;
        if c.is_ascii() && is_printable_ascii(c as u8) {
            return Err(err(Utf7ErrorKind::EncodesPrintable));
        }
        out.push(c);
    }
    Ok(())
}

/// Encodes a Unicode string as modified UTF-7 (RFC 3501 §5.1.3), in the canonical form that
/// [`decode_modified_utf7`] accepts: printable US-ASCII as itself, `&` as `&-`, every run of
/// other characters as one shift sequence.
///
/// ```
/// use dmail_store::names::encode_modified_utf7;
/// assert_eq!(encode_modified_utf7("\u{53f0}\u{5317}"), "&U,BTFw-");
/// assert_eq!(encode_modified_utf7("R\u{e9}pertoire & co"), "R&AOk-pertoire &- co");
/// ```
pub fn encode_modified_utf7(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut pending: Vec<u16> = Vec::new();
    for c in text.chars() {
        if c.is_ascii() && is_printable_ascii(c as u8) {
            flush(&mut pending, &mut out);
            out.push(c);
            if c == '&' {
                out.push('-');
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Writes the pending UTF-16 units as one shift sequence.
fn flush(pending: &mut Vec<u16>, out: &mut String) {
    if pending.is_empty() {
        return;
    }
    out.push('&');
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    let push = |v: u32, out: &mut String| {
        out.push(char::from(ALPHABET[(v & 0x3f) as usize]));
    };
    for unit in pending.drain(..) {
        acc = (acc << 16) | u32::from(unit);
        bits += 16;
        while bits >= 6 {
            bits -= 6;
            push(acc >> bits, out);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        push(acc << (6 - bits), out);
    }
    out.push('-');
}
