//! The BODY and BODYSTRUCTURE values of RFC 3501 §7.4.2 (grammar in §9), from a part tree.
//!
//! Owns the field order and defaults. Must never write a value the grammar rejects: a
//! multipart always has at least one body, a message/rfc822 always has its envelope, body and
//! line count, and every string goes through [`crate::wire`].

use super::header;
use super::mime::{Kind, Part, count_lines};
use super::params::{Param, parse_disposition};
use crate::wire;

/// Writes `part` (of `message`) as BODYSTRUCTURE (`extended`) or BODY.
///
/// Type and subtype are as spelt in the header; a text part without a charset gets
/// `("CHARSET" "US-ASCII")` (RFC 2045 §5.2, RFC 2046 §4.1.2); the encoding defaults to
/// `"7BIT"`; body-fld-md5 is the Content-MD5 field or NIL.
///
/// ```
/// let msg = b"Content-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n";
/// let m = imapd_proto::message::Message::parse(msg);
/// let mut out = Vec::new();
/// imapd_proto::message::bodystructure::write(&mut out, msg, m.root(), false);
/// assert_eq!(out, b"(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7BIT\" 4 1)");
/// ```
pub fn write(out: &mut Vec<u8>, message: &[u8], part: &Part, extended: bool) {
    let hdr = part.header(message);
    let field = |name: &[u8]| header::first_value(hdr, name);
    let ct = &part.content_type;
    out.push(b'(');
    if let Kind::Multipart(children) = &part.kind {
        if children.is_empty() {
            write_empty_text(out, extended);
        }
        for child in children {
            write(out, message, child, extended);
        }
        out.push(b' ');
        wire::string(out, &ct.subtype);
        if extended {
            out.push(b' ');
            write_params(out, &ct.params, false);
            write_ext_tail(out, hdr);
        }
        out.push(b')');
        return;
    }
    let is_text = ct.kind.eq_ignore_ascii_case(b"text");
    let body = part.body(message);
    wire::string(out, &ct.kind);
    out.push(b' ');
    wire::string(out, &ct.subtype);
    out.push(b' ');
    write_params(out, &ct.params, is_text);
    out.push(b' ');
    wire::nstring(out, field(b"content-id").as_deref());
    out.push(b' ');
    wire::nstring(out, field(b"content-description").as_deref());
    out.push(b' ');
    // The mechanism is one token; a trailing comment (`7bit (plain)`) is not part of it.
    let encoding = field(b"content-transfer-encoding").map(|v| {
        let end = v
            .iter()
            .position(|&b| header::is_wsp(b) || b == b'(')
            .unwrap_or(v.len());
        v.get(..end).unwrap_or_default().to_vec()
    });
    match encoding {
        Some(enc) if !enc.is_empty() => wire::string(out, &enc),
        _ => wire::string(out, b"7BIT"),
    }
    out.push(b' ');
    out.extend_from_slice(body.len().to_string().as_bytes());
    if let Kind::Message(nested) = &part.kind {
        out.push(b' ');
        super::envelope::write(out, nested.header(message));
        out.push(b' ');
        write(out, message, nested, extended);
        out.push(b' ');
        out.extend_from_slice(count_lines(body).to_string().as_bytes());
    } else if is_text {
        out.push(b' ');
        out.extend_from_slice(count_lines(body).to_string().as_bytes());
    }
    if extended {
        out.push(b' ');
        wire::nstring(out, field(b"content-md5").as_deref());
        write_ext_tail(out, hdr);
    }
    out.push(b')');
}

/// The stand-in body of a multipart that has none (RFC 3501's grammar needs one).
fn write_empty_text(out: &mut Vec<u8>, extended: bool) {
    out.extend_from_slice(b"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0");
    if extended {
        out.extend_from_slice(b" NIL NIL NIL NIL");
    }
    out.push(b')');
}

fn write_params(out: &mut Vec<u8>, params: &[Param], add_charset: bool) {
    // An RFC 2231 `charset*` names the charset too.
    let add_charset = add_charset
        && !params.iter().any(|p| {
            p.name.eq_ignore_ascii_case(b"charset") || p.name.eq_ignore_ascii_case(b"charset*")
        });
    if params.is_empty() && !add_charset {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        wire::string(out, &p.name);
        out.push(b' ');
        wire::string(out, &p.value);
    }
    if add_charset {
        if !params.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(b"\"CHARSET\" \"US-ASCII\"");
    }
    out.push(b')');
}

/// Writes ` disposition language location`, shared by single parts and multiparts.
fn write_ext_tail(out: &mut Vec<u8>, hdr: &[u8]) {
    out.push(b' ');
    match header::first_value(hdr, b"content-disposition").and_then(|v| parse_disposition(&v)) {
        Some(d) => {
            out.push(b'(');
            wire::string(out, &d.kind);
            out.push(b' ');
            write_params(out, &d.params, false);
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    let langs: Vec<Vec<u8>> = header::first_value(hdr, b"content-language")
        .map(|v| {
            v.split(|&b| b == b',')
                .map(|t| strip_comments(header::trim(t)))
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    match langs.as_slice() {
        [] => out.extend_from_slice(b"NIL"),
        [one] => wire::string(out, one),
        many => {
            out.push(b'(');
            for (i, l) in many.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                wire::string(out, l);
            }
            out.push(b')');
        }
    }
    out.push(b' ');
    wire::nstring(
        out,
        header::first_value(hdr, b"content-location").as_deref(),
    );
}

/// A language tag with any `(comment)` removed (RFC 3282 allows CFWS around tags).
fn strip_comments(tag: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    for &b in tag {
        match b {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            _ if depth == 0 && !header::is_wsp(b) => out.push(b),
            _ => {}
        }
    }
    out
}
