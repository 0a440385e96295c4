//! One stored message as FETCH sees it: its MIME part tree, ENVELOPE, BODY/BODYSTRUCTURE and
//! `BODY[section]` bytes.
//!
//! Owns the read-only view of a message in client form (the bytes BODY[] returns: CRLF line
//! ends normally, bare LF and a missing final newline tolerated). Must never fail, panic, do
//! more than linear work times the nesting limit, or change a byte of the message; output
//! goes through [`crate::wire`].
//!
//! * [`header`]: header blocks and fields.
//! * [`params`]: Content-Type / Content-Disposition parameters, RFC 2231.
//! * [`address`]: address lists for ENVELOPE.
//! * [`mime`]: the part tree.
//! * [`envelope`], [`bodystructure`], [`section`]: the FETCH items.

use std::borrow::Cow;

use imap_codec::imap_types::fetch::Section;

pub mod address;
pub mod bodystructure;
pub mod envelope;
pub mod header;
pub mod mime;
pub mod params;
pub mod section;

/// A message and its parsed part tree, borrowing the message bytes.
///
/// ```
/// use imapd_proto::message::Message;
/// let m = Message::parse(b"Subject: hi\r\n\r\nHello\r\n");
/// let mut out = Vec::new();
/// m.write_body_structure(&mut out, false);
/// assert_eq!(out, b"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 7 1)");
/// ```
#[derive(Debug, Clone)]
pub struct Message<'a> {
    bytes: &'a [u8],
    root: mime::Part,
}

impl<'a> Message<'a> {
    /// Parses `bytes`. Never fails: whatever cannot be read takes the RFC 2045 defaults; at
    /// most [`mime::MAX_DEPTH`] levels and [`mime::MAX_PARTS`] parts are opened.
    ///
    /// ```
    /// let m = imapd_proto::message::Message::parse(b"\0\xff garbage");
    /// assert_eq!(m.text(), b"");
    /// ```
    pub fn parse(bytes: &'a [u8]) -> Message<'a> {
        Message {
            bytes,
            root: mime::parse(bytes),
        }
    }

    /// The message bytes.
    ///
    /// ```
    /// let m = imapd_proto::message::Message::parse(b"A: b\r\n\r\n");
    /// assert_eq!(m.bytes(), b"A: b\r\n\r\n");
    /// ```
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The root of the part tree (the message itself).
    ///
    /// ```
    /// let m = imapd_proto::message::Message::parse(b"A: b\r\n\r\nx");
    /// assert_eq!((m.root().start, m.root().body_start, m.root().end), (0, 8, 9));
    /// ```
    pub fn root(&self) -> &mime::Part {
        &self.root
    }

    /// Writes the ENVELOPE value, `(date subject from sender reply-to to cc bcc in-reply-to
    /// message-id)` (RFC 3501 §7.4.2); see [`envelope::write`].
    ///
    /// ```
    /// let m = imapd_proto::message::Message::parse(b"Date: x\r\n\r\n");
    /// let mut out = Vec::new();
    /// m.write_envelope(&mut out);
    /// assert_eq!(out, b"(\"x\" NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    /// ```
    pub fn write_envelope(&self, out: &mut Vec<u8>) {
        envelope::write(out, self.header());
    }

    /// Writes the BODYSTRUCTURE value (`extended`, with extension data) or the BODY value;
    /// see [`bodystructure::write`].
    ///
    /// ```
    /// let m = imapd_proto::message::Message::parse(b"\r\nx");
    /// let mut out = Vec::new();
    /// m.write_body_structure(&mut out, true);
    /// assert_eq!(
    ///     out,
    ///     b"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1 1 NIL NIL NIL NIL)"
    /// );
    /// ```
    pub fn write_body_structure(&self, out: &mut Vec<u8>, extended: bool) {
        bodystructure::write(out, self.bytes, &self.root, extended);
    }

    /// The bytes of `section` (RFC 3501 §6.4.5) before any `<partial>`; `None` when the
    /// message has no such section (the caller sends an empty string). See [`section`].
    ///
    /// ```
    /// use imap_codec::imap_types::fetch::Section;
    /// let m = imapd_proto::message::Message::parse(b"A: b\r\n\r\nx");
    /// assert_eq!(m.section(&Section::Header(None)).as_deref(), Some(&b"A: b\r\n\r\n"[..]));
    /// ```
    pub fn section(&self, section: &Section<'_>) -> Option<Cow<'a, [u8]>> {
        section::bytes(self.bytes, &self.root, section)
    }

    /// The header block of the message, including the blank line that ends it (all of the
    /// message when there is no blank line).
    ///
    /// ```
    /// let m = imapd_proto::message::Message::parse(b"A: b\nB: c\n\nx");
    /// assert_eq!(m.header(), b"A: b\nB: c\n\n");
    /// ```
    pub fn header(&self) -> &'a [u8] {
        self.root.header(self.bytes)
    }

    /// The body of the message (RFC822.TEXT, `BODY[TEXT]`).
    ///
    /// ```
    /// let m = imapd_proto::message::Message::parse(b"A: b\r\n\r\nx\r\n");
    /// assert_eq!(m.text(), b"x\r\n");
    /// ```
    pub fn text(&self) -> &'a [u8] {
        self.root.body(self.bytes)
    }
}

/// Whether the (possibly truncated) `prefix` of a message holds its whole header block:
/// the block's length including the blank line, or `None` when the blank line is not in
/// `prefix` yet.
///
/// ```
/// use imapd_proto::message::header_len;
/// assert_eq!(header_len(b"A: b\r\n\r\nbo"), Some(8));
/// assert_eq!(header_len(b"A: b\r\n\r"), None);
/// ```
pub fn header_len(prefix: &[u8]) -> Option<usize> {
    header::find_end(prefix)
}
