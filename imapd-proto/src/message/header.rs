//! Header blocks: where one ends, its fields (with their folding kept), unfolding, lookup by
//! name.
//!
//! Owns the line-level view of RFC 5322 §2.2 headers only. Must never interpret field values
//! (addresses, MIME parameters live elsewhere), and must never copy a field unless unfolding
//! actually changes it.

use std::borrow::Cow;

/// Finds the end of the header block at the start of `bytes`: the length including the blank
/// line (CRLF or bare LF) that ends it, or `None` when no blank line is present.
///
/// A block that starts with the blank line (a part without MIME headers) has a length of that
/// line alone.
///
/// ```
/// use imapd_proto::message::header::find_end;
/// assert_eq!(find_end(b"A: b\r\n\r\nbody"), Some(8));
/// assert_eq!(find_end(b"\r\nbody"), Some(2));
/// assert_eq!(find_end(b"A: b\r\n"), None);
/// ```
pub fn find_end(bytes: &[u8]) -> Option<usize> {
    match bytes {
        [b'\n', ..] => return Some(1),
        [b'\r', b'\n', ..] => return Some(2),
        _ => {}
    }
    for lf in memchr::memchr_iter(b'\n', bytes) {
        let rest = bytes.get(lf + 1..).unwrap_or_default();
        match rest {
            [b'\n', ..] => return Some(lf + 2),
            [b'\r', b'\n', ..] => return Some(lf + 3),
            _ => {}
        }
    }
    None
}

/// Splits `bytes` into header block and body; without a blank line the whole input is header
/// and the body is empty (RFC 3501 §6.4.5: a message with no body and no blank line).
///
/// ```
/// use imapd_proto::message::header::split;
/// assert_eq!(split(b"A: b\n\nbody"), (&b"A: b\n\n"[..], &b"body"[..]));
/// assert_eq!(split(b"A: b"), (&b"A: b"[..], &b""[..]));
/// ```
pub fn split(bytes: &[u8]) -> (&[u8], &[u8]) {
    bytes.split_at(find_end(bytes).unwrap_or(bytes.len()))
}

/// One header field as it stands in the block.
///
/// ```
/// use imapd_proto::message::header::fields;
/// let f = fields(b"To : a,\r\n b\r\n\r\n").next().unwrap();
/// assert_eq!((f.name, f.value), (&b"To"[..], &b" a,\r\n b\r\n"[..]));
/// assert_eq!(f.raw, b"To : a,\r\n b\r\n");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'b> {
    /// The field name, without the colon and trailing whitespace.
    pub name: &'b [u8],
    /// The raw value after the colon, folding and the final line end included.
    pub value: &'b [u8],
    /// The whole field: name, colon, value, folding and final line end.
    pub raw: &'b [u8],
}

impl<'b> Field<'b> {
    /// The value unfolded (line ends removed, the folding whitespace kept) and trimmed.
    ///
    /// ```
    /// use imapd_proto::message::header::fields;
    /// let f = fields(b"Subject: a\r\n b\r\n\r\n").next().unwrap();
    /// assert_eq!(&*f.unfolded(), b"a b");
    /// ```
    pub fn unfolded(&self) -> Cow<'b, [u8]> {
        unfold(self.value)
    }
}

/// Iterates over the fields of a header block. Lines that have no colon become fields whose
/// name is the whole line; the blank line that ends the block stops the iteration.
///
/// ```
/// use imapd_proto::message::header::fields;
/// let names: Vec<_> = fields(b"To: a\r\nCc: b,\r\n c\r\n\r\nbody").map(|f| f.name).collect();
/// assert_eq!(names, [&b"To"[..], &b"Cc"[..]]);
/// ```
pub fn fields(header: &[u8]) -> Fields<'_> {
    Fields { rest: header }
}

/// The iterator [`fields`] returns.
///
/// ```
/// use imapd_proto::message::header::fields;
/// assert_eq!(fields(b"A: 1\nB: 2\n\nC: body").count(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Fields<'b> {
    rest: &'b [u8],
}

impl<'b> Iterator for Fields<'b> {
    type Item = Field<'b>;

    fn next(&mut self) -> Option<Field<'b>> {
        let bytes = self.rest;
        if bytes.is_empty() || bytes.starts_with(b"\n") || bytes.starts_with(b"\r\n") {
            self.rest = &[];
            return None;
        }
        // The field runs until a line end not followed by folding whitespace.
        let mut end = bytes.len();
        for lf in memchr::memchr_iter(b'\n', bytes) {
            if !matches!(bytes.get(lf + 1), Some(b' ' | b'\t')) {
                end = lf + 1;
                break;
            }
        }
        let (raw, rest) = bytes.split_at(end);
        self.rest = rest;
        let (name, value) = match memchr::memchr(b':', raw) {
            Some(colon) => (
                trim_end(raw.get(..colon).unwrap_or_default()),
                raw.get(colon + 1..).unwrap_or_default(),
            ),
            None => (trim(raw), &raw[raw.len()..]),
        };
        Some(Field { name, value, raw })
    }
}

/// Unfolds a raw field value: every CR and LF goes (RFC 5322 §2.2.3: folding is a line end
/// followed by whitespace, which stays), then surrounding whitespace is trimmed.
///
/// ```
/// use imapd_proto::message::header::unfold;
/// assert_eq!(&*unfold(b" a\r\n\tb \r\n"), b"a\tb");
/// ```
pub fn unfold(value: &[u8]) -> Cow<'_, [u8]> {
    let value = trim(value);
    if memchr::memchr2(b'\r', b'\n', value).is_none() {
        return Cow::Borrowed(value);
    }
    Cow::Owned(
        value
            .iter()
            .copied()
            .filter(|&b| b != b'\r' && b != b'\n')
            .collect(),
    )
}

/// The unfolded, trimmed values of every field called `name` (ASCII case-insensitive), in
/// message order.
///
/// ```
/// use imapd_proto::message::header::header_field_values;
/// let h = b"Received: a\r\nTo: x\r\nreceived: b\r\n c\r\n\r\n";
/// let v: Vec<_> = header_field_values(h, b"RECEIVED").collect();
/// assert_eq!(v, [&b"a"[..], &b"b c"[..]]);
/// ```
pub fn header_field_values<'b>(
    header: &'b [u8],
    name: &[u8],
) -> impl Iterator<Item = Cow<'b, [u8]>> + use<'b> {
    let name = name.to_vec();
    fields(header)
        .filter(move |f| f.name.eq_ignore_ascii_case(&name))
        .map(|f| f.unfolded())
}

/// The first field called `name`, unfolded and trimmed.
///
/// ```
/// use imapd_proto::message::header::first_value;
/// assert_eq!(first_value(b"Subject: hi\r\n\r\n", b"subject").as_deref(), Some(&b"hi"[..]));
/// ```
pub fn first_value<'b>(header: &'b [u8], name: &[u8]) -> Option<Cow<'b, [u8]>> {
    fields(header)
        .find(|f| f.name.eq_ignore_ascii_case(name))
        .map(|f| f.unfolded())
}

pub(crate) fn is_wsp(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

pub(crate) fn trim(bytes: &[u8]) -> &[u8] {
    trim_end(trim_start(bytes))
}

pub(crate) fn trim_start(mut bytes: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = bytes {
        if !is_wsp(*first) {
            break;
        }
        bytes = rest;
    }
    bytes
}

pub(crate) fn trim_end(mut bytes: &[u8]) -> &[u8] {
    while let [rest @ .., last] = bytes {
        if !is_wsp(*last) {
            break;
        }
        bytes = rest;
    }
    bytes
}
