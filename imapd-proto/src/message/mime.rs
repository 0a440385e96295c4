//! The MIME part tree (RFC 2045/2046): where each part's header and body lie in the message,
//! its effective Content-Type, and its children (multipart) or encapsulated message
//! (message/rfc822).
//!
//! Owns the byte ranges. Must never copy body bytes, never recurse deeper than [`MAX_DEPTH`]
//! or build more than [`MAX_PARTS`] parts, and never scan a byte range more than once per
//! nesting level (so work stays linear in the message size times the depth limit).

use super::header;
use super::params::{ContentType, Param, parse_content_type};

/// Nesting levels (multipart or message/rfc822) followed before a part is left unopened.
pub const MAX_DEPTH: usize = 50;
/// Parts built per message; past this, multiparts and encapsulated messages stay unopened.
pub const MAX_PARTS: usize = 10_000;

/// One part: its own header block and body, as offsets into the whole message.
///
/// ```
/// let m = imapd_proto::message::Message::parse(b"Subject: x\r\n\r\nbody");
/// assert_eq!((m.root().body_start, m.root().end), (14, 18));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Offset of the part's header block (its MIME header; for a message, the RFC 5322 one).
    pub start: usize,
    /// Offset of the body, just after the blank line ending the header block.
    pub body_start: usize,
    /// Offset just past the body (before the line end preceding the next boundary).
    pub end: usize,
    /// The type as BODYSTRUCTURE reports it: the header's, or the RFC 2045/2046 default, or
    /// a stand-in for a part that could not be opened (see [`Part::content_type`]).
    pub content_type: ContentType,
    /// What the part holds.
    pub kind: Kind,
}

/// The shape of a part.
///
/// ```
/// use imapd_proto::message::{Message, mime::Kind};
/// let m = Message::parse(b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n");
/// assert!(matches!(&m.root().kind, Kind::Multipart(children) if children.len() == 1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A single part, not opened further.
    Leaf,
    /// A multipart with its children; may be empty when no boundary delimiter was found.
    Multipart(Vec<Part>),
    /// A message/rfc822 part with the root of the encapsulated message.
    Message(Box<Part>),
}

impl Part {
    /// The part's header block within `message`, blank line included.
    ///
    /// ```
    /// let m = imapd_proto::message::Message::parse(b"A: b\r\n\r\nbody");
    /// assert_eq!(m.root().header(m.bytes()), b"A: b\r\n\r\n");
    /// ```
    pub fn header<'m>(&self, message: &'m [u8]) -> &'m [u8] {
        message.get(self.start..self.body_start).unwrap_or_default()
    }

    /// The part's body within `message`.
    ///
    /// ```
    /// let m = imapd_proto::message::Message::parse(b"A: b\r\n\r\nbody");
    /// assert_eq!(m.root().body(m.bytes()), b"body");
    /// ```
    pub fn body<'m>(&self, message: &'m [u8]) -> &'m [u8] {
        message.get(self.body_start..self.end).unwrap_or_default()
    }
}

/// The default of RFC 2045 §5.2.
pub(crate) fn text_plain() -> ContentType {
    ContentType {
        kind: b"TEXT".to_vec(),
        subtype: b"PLAIN".to_vec(),
        params: vec![Param {
            name: b"CHARSET".to_vec(),
            value: b"US-ASCII".to_vec(),
        }],
    }
}

/// A part whose insides are not followed (limits reached) is reported as opaque data, since
/// BODYSTRUCTURE cannot show a multipart or message/rfc822 without its contents.
fn opaque(params: Vec<Param>) -> ContentType {
    ContentType {
        kind: b"APPLICATION".to_vec(),
        subtype: b"OCTET-STREAM".to_vec(),
        params,
    }
}

/// Builds the tree of the message in `message`.
///
/// ```
/// let root = imapd_proto::message::mime::parse(b"Content-Type: text/html\r\n\r\n<p>");
/// assert_eq!(root.content_type.subtype, b"html");
/// ```
pub fn parse(message: &[u8]) -> Part {
    let mut count = 0;
    parse_part(message, 0, message.len(), false, 0, &mut count)
}

fn parse_part(
    msg: &[u8],
    start: usize,
    end: usize,
    in_digest: bool,
    depth: usize,
    count: &mut usize,
) -> Part {
    *count += 1;
    let bytes = msg.get(start..end).unwrap_or_default();
    let header_len = header::find_end(bytes).unwrap_or(bytes.len());
    let body_start = start + header_len;
    let header = bytes.get(..header_len).unwrap_or_default();
    let content_type = header::first_value(header, b"content-type")
        .and_then(|v| parse_content_type(&v))
        .unwrap_or_else(|| {
            // RFC 2046 §5.1.5: inside multipart/digest the default is message/rfc822.
            if in_digest {
                ContentType {
                    kind: b"MESSAGE".to_vec(),
                    subtype: b"RFC822".to_vec(),
                    params: Vec::new(),
                }
            } else {
                text_plain()
            }
        });
    let at_limit = depth >= MAX_DEPTH || *count >= MAX_PARTS;
    let mut part = Part {
        start,
        body_start,
        end,
        content_type,
        kind: Kind::Leaf,
    };
    if part.content_type.kind.eq_ignore_ascii_case(b"multipart") {
        let boundary = part
            .content_type
            .param(b"boundary")
            .filter(|b| !b.is_empty())
            .map(<[u8]>::to_vec);
        match boundary {
            _ if at_limit => part.content_type = opaque(part.content_type.params),
            // No boundary: nothing can be split; the body reads best as text.
            None => part.content_type = text_plain(),
            Some(boundary) => {
                let digest = part.content_type.subtype.eq_ignore_ascii_case(b"digest");
                let mut children = Vec::new();
                for (s, e) in split(msg, body_start, end, &boundary) {
                    if *count >= MAX_PARTS {
                        break;
                    }
                    children.push(parse_part(msg, s, e, digest, depth + 1, count));
                }
                part.kind = Kind::Multipart(children);
            }
        }
    } else if part.content_type.is(b"message", b"rfc822") {
        if at_limit {
            part.content_type = opaque(part.content_type.params);
        } else {
            let nested = parse_part(msg, body_start, end, false, depth + 1, count);
            part.kind = Kind::Message(Box::new(nested));
        }
    }
    part
}

/// The ranges (absolute offsets) of the body parts of a multipart whose body is
/// `msg[body_start..end]`. A part ends before the line end that precedes the next delimiter;
/// without a close delimiter the last part runs to `end`.
fn split(msg: &[u8], body_start: usize, end: usize, boundary: &[u8]) -> Vec<(usize, usize)> {
    let body = msg.get(body_start..end).unwrap_or_default();
    let mut needle = b"\n--".to_vec();
    needle.extend_from_slice(boundary);
    let delim = needle.get(1..).unwrap_or_default();
    let first = body.starts_with(delim).then_some(0);
    let rest = memchr::memmem::find_iter(body, &needle).map(|lf| lf + 1);
    let mut ranges = Vec::new();
    let mut open: Option<usize> = None;
    for line in first.into_iter().chain(rest) {
        let after = line + delim.len();
        let tail = body.get(after..).unwrap_or_default();
        let close = tail.starts_with(b"--");
        let line_end = memchr::memchr(b'\n', tail).map_or(body.len(), |i| after + i + 1);
        if !close {
            // Only transport padding may follow a delimiter; anything else means this line
            // merely starts with the boundary (`--abc` vs `--abcdef`).
            let padding = body.get(after..line_end).unwrap_or_default();
            if !padding
                .iter()
                .all(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            {
                continue;
            }
        }
        let content_end = if line == 0 {
            0
        } else if line >= 2 && body.get(line - 2) == Some(&b'\r') {
            line - 2
        } else {
            line - 1
        };
        if let Some(s) = open.take() {
            ranges.push((body_start + s, body_start + content_end.max(s)));
        }
        if close {
            return ranges;
        }
        open = Some(line_end);
    }
    if let Some(s) = open {
        ranges.push((body_start + s, end));
    }
    ranges
}

/// Lines in `body` as IMAP counts them: line ends, plus a last line without one.
pub(crate) fn count_lines(body: &[u8]) -> usize {
    let n = memchr::memchr_iter(b'\n', body).count();
    n + usize::from(!body.is_empty() && !body.ends_with(b"\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_ranges() {
        let body = b"pre\r\n--b\r\nA\r\n--bc\r\n--b \r\n\r\nB\r\n--b--\r\nepi";
        let r = split(body, 0, body.len(), b"b");
        let got: Vec<&[u8]> = r.iter().map(|&(s, e)| &body[s..e]).collect();
        assert_eq!(got, [&b"A\r\n--bc"[..], &b"\r\nB"[..]]);
    }

    #[test]
    fn unterminated() {
        let body = b"--b\nA\n--b\nB";
        let r = split(body, 0, body.len(), b"b");
        let got: Vec<&[u8]> = r.iter().map(|&(s, e)| &body[s..e]).collect();
        assert_eq!(got, [&b"A"[..], &b"B"[..]]);
    }
}
