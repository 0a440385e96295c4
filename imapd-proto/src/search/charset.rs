//! Charsets on both sides of SEARCH: the CHARSET a client names (and its search strings), and
//! the charsets messages declare, converted to UTF-8 with `encoding_rs`.
//!
//! Owns naming and conversion only. It must never fail on message bytes (bad bytes become
//! U+FFFD or fall back to windows-1252) and must never accept a CHARSET other than UTF-8 and
//! US-ASCII.

use std::borrow::Cow;

use encoding_rs::Encoding;

/// A CHARSET a SEARCH command may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SearchCharset {
    /// `UTF-8`.
    Utf8,
    /// `US-ASCII`, also the default when no CHARSET is given.
    UsAscii,
}

/// The SEARCH charset of a CHARSET name, or `None` for one we do not support (BADCHARSET).
pub(crate) fn search_charset(name: &str) -> Option<SearchCharset> {
    if name.eq_ignore_ascii_case("UTF-8") {
        Some(SearchCharset::Utf8)
    } else if name.eq_ignore_ascii_case("US-ASCII") {
        Some(SearchCharset::UsAscii)
    } else {
        None
    }
}

/// A client's search string as UTF-8, or `None` when it is not valid in the charset.
///
/// US-ASCII is read as UTF-8: clients that send 8-bit text without a CHARSET nearly always
/// mean UTF-8, and refusing them gains nothing.
pub(crate) fn search_string(bytes: &[u8], _charset: SearchCharset) -> Option<String> {
    std::str::from_utf8(bytes).ok().map(str::to_owned)
}

/// Whether a label names plain ASCII (whose 8-bit bytes are really in some other charset).
fn is_ascii_label(label: &[u8]) -> bool {
    let label = label.trim_ascii();
    [
        &b"us-ascii"[..],
        b"ascii",
        b"ansi_x3.4-1968",
        b"iso646-us",
        b"us",
    ]
    .iter()
    .any(|l| label.eq_ignore_ascii_case(l))
}

/// How to read bytes in a declared charset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decoder {
    /// No charset, or an ASCII one: UTF-8 when valid, else windows-1252.
    Undeclared,
    /// A charset `encoding_rs` knows.
    Known(&'static Encoding),
}

/// The decoder for a MIME charset label (an RFC 2231 `*language` suffix is ignored), or `None`
/// when `encoding_rs` does not know it (or only as its "replacement" encoding, which would
/// throw the text away).
pub(crate) fn lookup(label: &[u8]) -> Option<Decoder> {
    let label = match memchr::memchr(b'*', label) {
        Some(star) => &label[..star],
        None => label,
    };
    if is_ascii_label(label) {
        return Some(Decoder::Undeclared);
    }
    match Encoding::for_label(label.trim_ascii()) {
        Some(e) if e == encoding_rs::REPLACEMENT => None,
        Some(e) => Some(Decoder::Known(e)),
        None => None,
    }
}

/// Bytes in a charset as UTF-8; never fails.
pub(crate) fn to_utf8(bytes: &[u8], decoder: Decoder) -> Cow<'_, str> {
    match decoder {
        Decoder::Undeclared => undeclared(bytes),
        Decoder::Known(e) if e == encoding_rs::UTF_8 => String::from_utf8_lossy(bytes),
        Decoder::Known(e) => e.decode_without_bom_handling(bytes).0,
    }
}

/// Bytes of no declared charset: UTF-8 when they are valid UTF-8, else windows-1252, the
/// charset raw 8-bit mail most often turns out to be in.
pub(crate) fn undeclared(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}
