//! How a message as received becomes a message as stored in an mbox file (mailbox-formats.md
//! §2; notes/uw-c-client.md §1.9, §3.6): line endings, `>From ` quoting, renaming of incoming
//! metadata headers, the final line end and the separator line; and what must precede a message
//! appended to an existing file.
//!
//! Pure byte formatting: this module must never open files, take locks, write the `From ` line
//! (see [`super::from_line`]) or decide flags (the caller passes a finished status block).

use memchr::memchr;

pub use super::LineEnding;

/// Incoming headers that would set our metadata; renamed `X-Original-<name>` (any case).
const RESERVED_HEADERS: [&[u8]; 6] = [
    b"Status",
    b"X-Status",
    b"X-Keywords",
    b"X-UID",
    b"X-IMAP",
    b"X-IMAPbase",
];

/// What a reserved header is renamed with.
pub const RENAME_PREFIX: &[u8] = b"X-Original-";

/// Whether a header line starts one of [`RESERVED_HEADERS`] (name, optional blanks, colon).
fn is_reserved_header(line: &[u8]) -> bool {
    let Some(colon) = memchr(b':', line) else {
        return false;
    };
    let name = &line[..colon];
    let name = match name.iter().rposition(|b| *b != b' ' && *b != b'\t') {
        Some(last) => &name[..=last],
        None => return false,
    };
    RESERVED_HEADERS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(name))
}

/// A message in its stored form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    /// The bytes to write after the `From ` line: header (with the status block, if one was
    /// given), the blank line, the body, a final line end and the one blank separator line.
    pub bytes: Vec<u8>,
    /// Where the status block starts in `bytes` (or would start: the end of the header, before
    /// the blank line that ends it, or before the separator when the message has no body).
    pub status_at: usize,
}

/// The stored form of `message` (bytes as received, CRLF or LF) for a file using `ending`:
///
/// - every line ends with `ending` (CRLF and LF alike); a CR not followed by LF is kept;
/// - every line, header or body, starting `From ` gets a `>` (`>From` is not quoted again);
/// - in the header only, `Status`, `X-Status`, `X-Keywords`, `X-UID`, `X-IMAP` and `X-IMAPbase`
///   fields (any case; their continuation lines follow unchanged) are renamed
///   `X-Original-<name as received>`;
/// - `status_block` (already in `ending`) goes at the end of the header;
/// - a final line end is added if missing, then one blank separator line.
///
/// NUL and all other bytes are kept as received.
///
/// ```
/// use dmail_store::mbox::write::{encode, LineEnding};
/// let s = encode(b"Status: RO\r\nSubject: hi\r\n\r\nFrom me\r\nbye", LineEnding::Lf, Some(b"X-UID: 1\n"));
/// assert_eq!(s.bytes, b"X-Original-Status: RO\nSubject: hi\nX-UID: 1\n\n>From me\nbye\n\n");
/// assert_eq!(&s.bytes[s.status_at..s.status_at + 9], b"X-UID: 1\n");
/// ```
pub fn encode(message: &[u8], ending: LineEnding, status_block: Option<&[u8]>) -> StoredMessage {
    let eol = ending.as_bytes();
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 64);
    let mut status_at = None;
    let mut rest = message;
    while !rest.is_empty() {
        let (line, next) = match memchr(b'\n', rest) {
            // Drop the CR of a CRLF; a CR anywhere else is data.
            Some(lf) => {
                let line = &rest[..lf];
                (line.strip_suffix(b"\r").unwrap_or(line), &rest[lf + 1..])
            }
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        let in_header = status_at.is_none();
        if in_header && line.is_empty() {
            status_at = Some(out.len());
            out.extend_from_slice(status_block.unwrap_or_default());
            out.extend_from_slice(eol);
            continue;
        }
        if line.starts_with(b"From ") {
            out.push(b'>');
        } else if in_header && is_reserved_header(line) {
            out.extend_from_slice(RENAME_PREFIX);
        }
        out.extend_from_slice(line);
        out.extend_from_slice(eol);
    }
    let status_at = match status_at {
        Some(at) => at,
        // All header: the status block closes it.
        None => {
            let at = out.len();
            out.extend_from_slice(status_block.unwrap_or_default());
            at
        }
    };
    out.extend_from_slice(eol);
    StoredMessage {
        bytes: out,
        status_at,
    }
}

/// How many of a file's last bytes [`separator_before`] needs.
pub const TAIL_LEN: usize = 3;

/// What to write before a new `From ` line appended to a file of `file_len` bytes whose last
/// bytes are `tail` (at least its last [`TAIL_LEN`] bytes, or all of a shorter file), so that the
/// From line starts a line after a blank line: nothing for an empty file or one ending in a blank
/// line (`\n\n`, or `\n\r\n`, or a file that is just one line end); one line end after a
/// final line end; two when the file does not end with one.
///
/// ```
/// use dmail_store::mbox::write::{separator_before, LineEnding::*};
/// assert_eq!(separator_before(b"", 0, Lf), b"");
/// assert_eq!(separator_before(b"x\n\n", 500, Lf), b"");
/// assert_eq!(separator_before(b"xy\n", 500, Lf), b"\n");
/// assert_eq!(separator_before(b"xyz", 500, Lf), b"\n\n");
/// assert_eq!(separator_before(b"z\r\n", 500, Crlf), b"\r\n");
/// ```
pub fn separator_before(tail: &[u8], file_len: u64, ending: LineEnding) -> &'static [u8] {
    let whole_file = u64::try_from(tail.len()).is_ok_and(|n| n >= file_len);
    let Some(before_last) = tail.strip_suffix(b"\n") else {
        return if tail.is_empty() && whole_file {
            b""
        } else {
            match ending {
                LineEnding::Lf => b"\n\n",
                LineEnding::Crlf => b"\r\n\r\n",
            }
        };
    };
    // The last line's content, CR of a CRLF dropped: is it empty?
    let content_end = before_last.strip_suffix(b"\r").unwrap_or(before_last);
    let last_line_empty = match content_end.last() {
        Some(b) => *b == b'\n',
        // Nothing before it in `tail`: empty only if that is the start of the file.
        None => whole_file,
    };
    if last_line_empty {
        b""
    } else {
        ending.as_bytes()
    }
}

#[cfg(test)]
mod tests;
