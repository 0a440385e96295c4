//! The structure of a message as SEARCH reads it: the header block and its fields, and the
//! MIME tree (multipart, message/rfc822) down to the text that BODY and TEXT look at.
//!
//! Owns structure only (decoding is `decode`'s, charsets `charset`'s). It must never panic or
//! do unbounded work on broken MIME: nesting stops at [`MAX_DEPTH`] and the number of parts at
//! [`MAX_PARTS`]; what it cannot make sense of is read as plain text or skipped.
//!
//! What BODY searches: every `text/*` part and every `message/*` part other than
//! message/rfc822 and message/global (delivery reports are text), decoded to UTF-8, plus the
//! header of every embedded message (message/rfc822, message/global). Other parts (images,
//! applications) are not searched: their bytes are not text.

use std::borrow::Cow;

use memchr::memmem;

use super::charset::{self, Decoder};
use super::decode;
use super::text;

/// How deep multiparts and embedded messages are followed.
pub(crate) const MAX_DEPTH: u32 = 50;
/// How many entities of one message are looked at.
pub(crate) const MAX_PARTS: u32 = 10_000;

/// A message (or body part) split at the first empty line into header block and body. Lone LF
/// line ends are accepted as well as CRLF; with no empty line it is all header.
pub(crate) fn split(msg: &[u8]) -> (&[u8], &[u8]) {
    if let Some(body) = msg.strip_prefix(b"\r\n") {
        return (&[], body);
    }
    if let Some(body) = msg.strip_prefix(b"\n") {
        return (&[], body);
    }
    for p in memchr::memchr_iter(b'\n', msg) {
        let after = &msg[p + 1..];
        if after.starts_with(b"\n") {
            return (&msg[..=p], &msg[p + 2..]);
        }
        if after.starts_with(b"\r\n") {
            return (&msg[..=p], &msg[p + 3..]);
        }
    }
    (msg, &[])
}

/// The fields of a header block as (name, raw value): the value runs from after the colon to
/// the end of the field, continuation lines included. Lines with no colon are skipped.
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    pub(crate) fn new(header: &'a [u8]) -> Self {
        Fields { rest: header }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let mut end = self.rest.len();
            let mut from = 0;
            while let Some(p) = memchr::memchr(b'\n', &self.rest[from..]).map(|p| p + from) {
                if matches!(self.rest.get(p + 1), Some(b' ' | b'\t')) {
                    from = p + 1;
                } else {
                    end = p;
                    break;
                }
            }
            let field = &self.rest[..end];
            self.rest = self.rest.get(end + 1..).unwrap_or(&[]);
            let field = field.strip_suffix(b"\r").unwrap_or(field);
            if let Some(colon) = memchr::memchr(b':', field) {
                let name = field[..colon].trim_ascii();
                // Blanks inside are not a field name (an mbox `From ` line's time has colons).
                if !name.is_empty() && !name.iter().any(|b| matches!(b, b' ' | b'\t')) {
                    return Some((name, &field[colon + 1..]));
                }
            }
        }
    }
}

/// The parts of a Content-Type (or Content-Transfer-Encoding) that searching needs.
#[derive(Debug, Default)]
struct ContentType {
    /// Lowercase type, e.g. `text`.
    kind: String,
    /// Lowercase subtype, e.g. `plain`.
    sub: String,
    boundary: Option<Vec<u8>>,
    charset: Option<Vec<u8>>,
}

/// Parses `type/subtype; name=value; name="quoted value"`; `None` without a `type/subtype`.
fn content_type(raw: &[u8]) -> Option<ContentType> {
    let value: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    let mut pieces = value.splitn(2, |b| *b == b';');
    let mime = pieces.next()?.trim_ascii();
    let slash = memchr::memchr(b'/', mime)?;
    let mut ct = ContentType {
        kind: String::from_utf8_lossy(mime[..slash].trim_ascii()).to_ascii_lowercase(),
        sub: String::from_utf8_lossy(mime[slash + 1..].trim_ascii()).to_ascii_lowercase(),
        ..ContentType::default()
    };
    let mut rest = pieces.next().unwrap_or(&[]);
    while !rest.is_empty() {
        let (name, value, after) = parameter(rest);
        if name.eq_ignore_ascii_case(b"boundary") && ct.boundary.is_none() {
            ct.boundary = Some(value);
        } else if name.eq_ignore_ascii_case(b"charset") && ct.charset.is_none() {
            ct.charset = Some(value);
        }
        rest = after;
    }
    Some(ct)
}

/// One `name=value` parameter and what follows its `;`.
fn parameter(s: &[u8]) -> (&[u8], Vec<u8>, &[u8]) {
    let s = s.trim_ascii_start();
    let Some(eq) = s.iter().position(|b| matches!(b, b'=' | b';')) else {
        return (s.trim_ascii(), Vec::new(), &[]);
    };
    let name = s[..eq].trim_ascii();
    if s[eq] == b';' {
        return (name, Vec::new(), &s[eq + 1..]);
    }
    let v = s[eq + 1..].trim_ascii_start();
    let mut value = Vec::new();
    if let Some(q) = v.strip_prefix(b"\"") {
        let mut i = 0;
        while i < q.len() {
            match q[i] {
                b'\\' if i + 1 < q.len() => {
                    value.push(q[i + 1]);
                    i += 2;
                    continue;
                }
                b'"' => break,
                b => value.push(b),
            }
            i += 1;
        }
        let after = &q[(i + 1).min(q.len())..];
        let next = memchr::memchr(b';', after).map_or(&[][..], |p| &after[p + 1..]);
        (name, value, next)
    } else {
        let end = memchr::memchr(b';', v).unwrap_or(v.len());
        value.extend_from_slice(v[..end].trim_ascii());
        (name, value, v.get(end + 1..).unwrap_or(&[]))
    }
}

/// A body with its Content-Transfer-Encoding undone (unknown encodings are left as they are).
fn transfer_decode<'a>(body: &'a [u8], cte: Option<&[u8]>) -> Cow<'a, [u8]> {
    match cte.map(<[u8]>::trim_ascii) {
        Some(c) if c.eq_ignore_ascii_case(b"base64") => Cow::Owned(decode::base64(body)),
        Some(c) if c.eq_ignore_ascii_case(b"quoted-printable") => {
            Cow::Owned(decode::quoted_printable(body))
        }
        _ => Cow::Borrowed(body),
    }
}

/// A header block as searchable text: `name: decoded value` per field, each on its own line,
/// folded.
pub(crate) fn header_text(header: &[u8]) -> String {
    let mut out = String::with_capacity(header.len());
    for (name, value) in Fields::new(header) {
        text::fold_into(&charset::undeclared(name), &mut out);
        out.push_str(": ");
        text::fold_into(&decode::header_value(value), &mut out);
        out.push('\n');
    }
    out
}

/// The searchable texts of a message's body (see the module documentation), each decoded and
/// folded. The message's own header is not among them.
pub(crate) fn body_texts(msg: &[u8]) -> Vec<String> {
    let (header, body) = split(msg);
    let mut out = Vec::new();
    let mut budget = MAX_PARTS;
    entity(header, body, false, 0, &mut budget, &mut out);
    out
}

/// Walks one entity. `digest` says the default type is message/rfc822 (inside
/// multipart/digest, RFC 2046 §5.1.5) rather than text/plain.
fn entity(
    header: &[u8],
    body: &[u8],
    digest: bool,
    depth: u32,
    budget: &mut u32,
    out: &mut Vec<String>,
) {
    if depth > MAX_DEPTH || *budget == 0 {
        return;
    }
    *budget -= 1;
    let mut ct = None;
    let mut cte = None;
    for (name, value) in Fields::new(header) {
        if ct.is_none() && name.eq_ignore_ascii_case(b"content-type") {
            ct = content_type(value);
        } else if cte.is_none() && name.eq_ignore_ascii_case(b"content-transfer-encoding") {
            cte = Some(value);
        }
    }
    let ct = ct.unwrap_or_else(|| ContentType {
        kind: if digest { "message" } else { "text" }.into(),
        sub: if digest { "rfc822" } else { "plain" }.into(),
        ..ContentType::default()
    });
    match ct.kind.as_str() {
        "multipart" => match ct.boundary.as_deref() {
            Some(boundary) if !boundary.is_empty() => {
                let digest = ct.sub == "digest";
                for part in parts(body, boundary) {
                    let (h, b) = split(part);
                    entity(h, b, digest, depth + 1, budget, out);
                    if *budget == 0 {
                        break;
                    }
                }
            }
            // Without a boundary there are no parts to find; the body is all there is.
            _ => out.push(plain_text(body, cte, None)),
        },
        "message" if ct.sub == "rfc822" || ct.sub == "global" => {
            let inner = transfer_decode(body, cte);
            let (h, b) = split(&inner);
            out.push(header_text(h));
            entity(h, b, false, depth + 1, budget, out);
        }
        "text" | "message" => out.push(plain_text(body, cte, ct.charset.as_deref())),
        _ => {}
    }
}

/// A text part's body decoded (transfer encoding, then charset) and folded. A charset
/// `encoding_rs` does not know is read as if undeclared.
fn plain_text(body: &[u8], cte: Option<&[u8]>, charset: Option<&[u8]>) -> String {
    let bytes = transfer_decode(body, cte);
    let decoder = charset
        .and_then(charset::lookup)
        .unwrap_or(Decoder::Undeclared);
    text::fold(&charset::to_utf8(&bytes, decoder))
}

/// The parts of a multipart body: what lies between `--boundary` lines (RFC 2046 §5.1.1),
/// stopping at `--boundary--`. Preamble and epilogue are not parts.
fn parts<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut delimiter = Vec::with_capacity(boundary.len() + 2);
    delimiter.extend_from_slice(b"--");
    delimiter.extend_from_slice(boundary);
    let finder = memmem::Finder::new(&delimiter);
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for p in finder.find_iter(body) {
        if p != 0 && body[p - 1] != b'\n' {
            continue;
        }
        let after = &body[p + delimiter.len()..];
        let close = after.starts_with(b"--");
        let line_end = memchr::memchr(b'\n', after);
        let line = &after[..line_end.unwrap_or(after.len())];
        if !close && !line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            // `--boundaryX`: another boundary that merely starts with ours.
            continue;
        }
        if let Some(s) = start {
            // The line break before a delimiter belongs to the delimiter.
            let mut end = p;
            if end > s && body[end - 1] == b'\n' {
                end -= 1;
                if end > s && body[end - 1] == b'\r' {
                    end -= 1;
                }
            }
            out.push(&body[s..end]);
            if out.len() >= MAX_PARTS as usize {
                return out;
            }
        }
        if close {
            return out;
        }
        // The rest of the delimiter line is transport padding.
        start = Some(line_end.map_or(body.len(), |nl| p + delimiter.len() + nl + 1));
    }
    // A last part whose close delimiter never came still counts.
    if let Some(s) = start {
        out.push(&body[s..]);
    }
    out
}
