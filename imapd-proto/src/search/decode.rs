//! Undoing mail's encodings: RFC 2047 encoded words in header values, and the quoted-printable
//! and base64 content transfer encodings of RFC 2045, all leniently.
//!
//! Owns byte-level decoding only. It must never fail or panic on malformed input: whatever
//! cannot be decoded is kept as it was (encoded words) or skipped (base64 junk).

use std::borrow::Cow;

use memchr::memmem;

use super::charset::{self, Decoder};

/// The base64 value of each byte, or `INVALID`.
const INVALID: u8 = 0xFF;
const B64: [u8; 256] = {
    let mut t = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < alphabet.len() {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// Base64 decoding that skips line breaks and any other byte outside the alphabet, and treats
/// `=` as the end of a group (so blocks glued together still decode).
pub(crate) fn base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut n = 0u8;
    for &b in input {
        let v = B64[usize::from(b)];
        if v == INVALID {
            if b == b'=' {
                flush_partial(&mut out, acc, n);
                acc = 0;
                n = 0;
            }
            continue;
        }
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    flush_partial(&mut out, acc, n);
    out
}

/// The bytes of an unfinished group of `n` sextets (one sextet alone carries no whole byte).
fn flush_partial(out: &mut Vec<u8>, acc: u32, n: u8) {
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
}

/// The value of a hex digit (either case: some encoders write lowercase).
fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Quoted-printable decoding: `=XX` escapes, soft line breaks (`=` then optional blanks then a
/// line break, or `=` at the very end); a stray `=` is kept.
pub(crate) fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let Some(p) = memchr::memchr(b'=', &input[i..]) else {
            out.extend_from_slice(&input[i..]);
            break;
        };
        out.extend_from_slice(&input[i..i + p]);
        i += p;
        let rest = &input[i + 1..];
        if let (Some(h), Some(l)) = (
            rest.first().copied().and_then(hex),
            rest.get(1).copied().and_then(hex),
        ) {
            out.push((h << 4) | l);
            i += 3;
            continue;
        }
        let blanks = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        let after = &rest[blanks..];
        if after.starts_with(b"\r\n") {
            i += 1 + blanks + 2;
        } else if after.starts_with(b"\n") {
            i += 1 + blanks + 1;
        } else if after.is_empty() {
            i = input.len();
        } else {
            out.push(b'=');
            i += 1;
        }
    }
    out
}

/// RFC 2047's Q encoding: `_` is a space, `=XX` a byte; a bad escape is kept as written.
fn q_word(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' => {
                if let (Some(h), Some(l)) = (
                    text.get(i + 1).copied().and_then(hex),
                    text.get(i + 2).copied().and_then(hex),
                ) {
                    out.push((h << 4) | l);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// One encoded word starting at `s[0..2] == "=?"`: its decoder, decoded bytes and length, or
/// `None` when it is malformed or names a charset we do not know (it then stays as written).
fn encoded_word(s: &[u8]) -> Option<(Decoder, Vec<u8>, usize)> {
    let rest = s.get(2..)?;
    let q1 = memchr::memchr(b'?', rest)?;
    let label = &rest[..q1];
    if label.is_empty() || label.iter().any(|b| !b.is_ascii_graphic()) {
        return None;
    }
    let enc = *rest.get(q1 + 1)?;
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    let tail = rest.get(text_start..)?;
    let q2 = memchr::memchr(b'?', tail)?;
    if tail.get(q2 + 1) != Some(&b'=') {
        return None;
    }
    let text = &tail[..q2];
    if text.iter().any(|b| !b.is_ascii_graphic()) {
        return None;
    }
    let bytes = match enc {
        b'B' | b'b' => {
            if text
                .iter()
                .any(|&b| B64[usize::from(b)] == INVALID && b != b'=')
            {
                return None;
            }
            base64(text)
        }
        b'Q' | b'q' => q_word(text),
        _ => return None,
    };
    let decoder = charset::lookup(label)?;
    Some((decoder, bytes, 2 + text_start + q2 + 2))
}

/// A header field's value as searchable text: unfolded (line breaks dropped, the blanks after
/// them kept), trimmed, encoded words decoded, other bytes read as UTF-8 or windows-1252.
///
/// Blanks between two encoded words are dropped (RFC 2047 §6.2); adjacent words in the same
/// charset are decoded together, so a character split across two words survives.
pub(crate) fn header_value(raw: &[u8]) -> String {
    let unfolded: Cow<'_, [u8]> = if memchr::memchr2(b'\r', b'\n', raw).is_some() {
        Cow::Owned(
            raw.iter()
                .copied()
                .filter(|b| !matches!(b, b'\r' | b'\n'))
                .collect(),
        )
    } else {
        Cow::Borrowed(raw)
    };
    let s = unfolded.trim_ascii();
    let mut out = String::with_capacity(s.len());
    let mut pending: Option<(Decoder, Vec<u8>)> = None;
    let mut text_start = 0;
    let mut search = 0;
    while let Some(p) = memmem::find(&s[search..], b"=?").map(|p| p + search) {
        let Some((decoder, bytes, len)) = encoded_word(&s[p..]) else {
            search = p + 2;
            continue;
        };
        let gap = &s[text_start..p];
        let gap_blank = gap.iter().all(|b| matches!(b, b' ' | b'\t'));
        match pending.as_mut() {
            Some((d, buf)) if gap_blank && *d == decoder => buf.extend_from_slice(&bytes),
            Some(_) if gap_blank => {
                flush(&mut out, pending.take());
                pending = Some((decoder, bytes));
            }
            _ => {
                flush(&mut out, pending.take());
                out.push_str(&charset::undeclared(gap));
                pending = Some((decoder, bytes));
            }
        }
        text_start = p + len;
        search = text_start;
    }
    flush(&mut out, pending.take());
    out.push_str(&charset::undeclared(&s[text_start..]));
    out
}

fn flush(out: &mut String, pending: Option<(Decoder, Vec<u8>)>) {
    if let Some((decoder, bytes)) = pending {
        out.push_str(&charset::to_utf8(&bytes, decoder));
    }
}
