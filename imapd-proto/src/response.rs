//! Status lines and the small untagged responses, written by hand.
//!
//! Every response line the session sends that is not FETCH data is built here, so the texts a
//! client sees (`LOGIN completed`, `SELECT completed`, ...) live in one place. Client-supplied
//! bytes only ever enter a line through [`crate::wire`]; response texts are our own constants or
//! formatted numbers, never a server path.

use std::io::{self, Write};

/// The three status conditions of a tagged or untagged status response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    /// `OK`.
    Ok,
    /// `NO`.
    No,
    /// `BAD`.
    Bad,
}

impl Cond {
    fn word(self) -> &'static [u8] {
        match self {
            Cond::Ok => b"OK",
            Cond::No => b"NO",
            Cond::Bad => b"BAD",
        }
    }
}

/// Writes `TAG COND [CODE] TEXT` CRLF; `tag` `None` writes `*`. `text` must be a single line of
/// our own making.
///
/// ```
/// use imapd_proto::response::{status, Cond};
/// let mut out = Vec::new();
/// status(&mut out, Some("a1"), Cond::No, Some("TRYCREATE"), "No such mailbox").unwrap();
/// assert_eq!(out, b"a1 NO [TRYCREATE] No such mailbox\r\n");
/// ```
pub fn status(
    out: &mut dyn Write,
    tag: Option<&str>,
    cond: Cond,
    code: Option<&str>,
    text: &str,
) -> io::Result<()> {
    let mut line = Vec::with_capacity(32 + text.len());
    line.extend_from_slice(tag.unwrap_or("*").as_bytes());
    line.push(b' ');
    line.extend_from_slice(cond.word());
    line.push(b' ');
    if let Some(code) = code {
        line.push(b'[');
        line.extend_from_slice(code.as_bytes());
        line.extend_from_slice(b"] ");
    }
    // A text is never empty (RFC 3501 `text = 1*TEXT-CHAR`) and never holds a line end.
    let text = if text.is_empty() { "done" } else { text };
    line.extend(
        text.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    line.extend_from_slice(b"\r\n");
    out.write_all(&line)
}

/// Writes `* BYE TEXT` CRLF.
///
/// ```
/// let mut out = Vec::new();
/// imapd_proto::response::bye(&mut out, "Autologout; idle for too long").unwrap();
/// assert_eq!(out, b"* BYE Autologout; idle for too long\r\n");
/// ```
pub fn bye(out: &mut dyn Write, text: &str) -> io::Result<()> {
    out.write_all(b"* BYE ")?;
    out.write_all(text.as_bytes())?;
    out.write_all(b"\r\n")
}

/// Writes a compact UID set (`1:3,7`) of ascending-or-not UIDs, in the order given, joining
/// runs that ascend by one (COPYUID's two sets must pair up element by element, so the order
/// is kept).
///
/// ```
/// let mut out = Vec::new();
/// imapd_proto::response::uid_set(&mut out, &[1, 2, 3, 7, 9, 10]);
/// assert_eq!(out, b"1:3,7,9:10");
/// ```
pub fn uid_set(out: &mut Vec<u8>, uids: &[u32]) {
    let mut i = 0;
    let mut first = true;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && end.checked_add(1) == Some(uids[i + 1]) {
            end = uids[i + 1];
            i += 1;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(start.to_string().as_bytes());
        if end != start {
            out.push(b':');
            out.extend_from_slice(end.to_string().as_bytes());
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_without_tag_or_code() {
        let mut out = Vec::new();
        status(&mut out, None, Cond::Bad, None, "Malformed\r\ncommand").unwrap();
        assert_eq!(out, b"* BAD Malformed  command\r\n");
    }

    #[test]
    fn uid_set_keeps_order() {
        let mut out = Vec::new();
        uid_set(&mut out, &[5, 6, 2, 3, 4294967295]);
        assert_eq!(out, b"5:6,2:3,4294967295");
    }
}
