//! Writing IMAP data by hand: atoms, quoted strings, literals, `NIL`.
//!
//! The FETCH path writes its responses itself (imap-codec's encoder copies every literal into a
//! new buffer, and refuses NUL), so the string rules of RFC 3501 §4.3 and §9 live here, once.
//!
//! Must never: write a client's or a message's bytes where the grammar cannot hold them (a CR,
//! LF, NUL or 8-bit byte inside a quoted string), or emit a non-synchronising literal (servers
//! may not, RFC 7888 §4).

use dmail_store::names::MailboxName;

/// The byte a NUL becomes inside a literal we send. RFC 3501's `CHAR8` excludes NUL, so a
/// message that holds one cannot be sent as it is; 0x80 keeps every offset and size (the same
/// choice as Dovecot's).
pub const NUL_REPLACEMENT: u8 = 0x80;

/// Longest string sent quoted; longer ones go as literals (easier on clients' parsers).
const MAX_QUOTED: usize = 1024;

/// Whether `byte` may stand in a quoted string (`TEXT-CHAR`, with `"` and `\` escaped).
fn quotable(byte: u8) -> bool {
    matches!(byte, 0x01..=0x7f) && byte != b'\r' && byte != b'\n'
}

/// Whether `byte` is an `ATOM-CHAR` (RFC 3501 §9; `]` is allowed in `ASTRING-CHAR`).
pub fn is_atom_char(byte: u8) -> bool {
    matches!(byte, 0x21..=0x7e)
        && !matches!(
            byte,
            b'(' | b')' | b'{' | b' ' | b'%' | b'*' | b'"' | b'\\' | b']'
        )
}

/// Writes `bytes` as an IMAP `string`: quoted when it can be, otherwise a synchronising-form
/// literal (`{n}` CRLF bytes), with any NUL replaced by [`NUL_REPLACEMENT`].
///
/// ```
/// let mut out = Vec::new();
/// imapd_proto::wire::string(&mut out, b"say \"hi\"");
/// imapd_proto::wire::string(&mut out, b" caf\xc3\xa9");
/// assert_eq!(out, b"\"say \\\"hi\\\"\"{6}\r\n caf\xc3\xa9");
/// ```
pub fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.len() <= MAX_QUOTED && bytes.iter().all(|&b| quotable(b)) {
        out.push(b'"');
        for &b in bytes {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        literal_prefix(out, bytes.len() as u64);
        literal_bytes(out, bytes);
    }
}

/// Writes `NIL` for `None`, otherwise [`string`].
///
/// ```
/// let mut out = Vec::new();
/// imapd_proto::wire::nstring(&mut out, None);
/// out.push(b' ');
/// imapd_proto::wire::nstring(&mut out, Some(b"x"));
/// assert_eq!(out, b"NIL \"x\"");
/// ```
pub fn nstring(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => out.extend_from_slice(b"NIL"),
        Some(bytes) => string(out, bytes),
    }
}

/// Writes an `astring`: an atom when every byte allows it (and it is not `NIL`), otherwise
/// [`string`].
///
/// ```
/// let mut out = Vec::new();
/// imapd_proto::wire::astring(&mut out, b"Date");
/// out.push(b' ');
/// imapd_proto::wire::astring(&mut out, b"two words");
/// assert_eq!(out, b"Date \"two words\"");
/// ```
pub fn astring(out: &mut Vec<u8>, bytes: &[u8]) {
    if !bytes.is_empty()
        && bytes.iter().all(|&b| is_atom_char(b))
        && !bytes.eq_ignore_ascii_case(b"NIL")
    {
        out.extend_from_slice(bytes);
    } else {
        string(out, bytes);
    }
}

/// Writes a mailbox name as LIST, STATUS and the like show it: `INBOX` for the inbox,
/// otherwise the modified UTF-7 name as an astring.
///
/// ```
/// use dmail_store::names::MailboxName;
/// let mut out = Vec::new();
/// imapd_proto::wire::mailbox(&mut out, &MailboxName::from_utf8("Sent Items").unwrap());
/// assert_eq!(out, b"\"Sent Items\"");
/// ```
pub fn mailbox(out: &mut Vec<u8>, name: &MailboxName) {
    if name.is_inbox() {
        out.extend_from_slice(b"INBOX");
    } else {
        astring(out, name.as_bytes());
    }
}

/// Writes `{len}` CRLF, the start of a literal of `len` bytes.
///
/// ```
/// let mut out = Vec::new();
/// imapd_proto::wire::literal_prefix(&mut out, 317);
/// assert_eq!(out, b"{317}\r\n");
/// ```
pub fn literal_prefix(out: &mut Vec<u8>, len: u64) {
    out.push(b'{');
    out.extend_from_slice(len.to_string().as_bytes());
    out.extend_from_slice(b"}\r\n");
}

/// Appends literal bytes, each NUL replaced by [`NUL_REPLACEMENT`].
///
/// ```
/// let mut out = Vec::new();
/// imapd_proto::wire::literal_bytes(&mut out, b"a\0b");
/// assert_eq!(out, b"a\x80b");
/// ```
pub fn literal_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.extend_from_slice(bytes);
    replace_nul(&mut out[start..]);
}

/// Replaces every NUL in `bytes` by [`NUL_REPLACEMENT`], in place.
///
/// ```
/// let mut b = *b"\0x\0";
/// imapd_proto::wire::replace_nul(&mut b);
/// assert_eq!(&b, b"\x80x\x80");
/// ```
pub fn replace_nul(bytes: &mut [u8]) {
    let mut from = 0;
    while let Some(i) = memchr::memchr(0, &bytes[from..]) {
        bytes[from + i] = NUL_REPLACEMENT;
        from += i + 1;
    }
}

/// A writer that passes bytes on with NULs replaced by [`NUL_REPLACEMENT`]: literal data
/// streamed from a mailbox goes through it.
///
/// ```
/// use std::io::Write;
/// let mut sink = Vec::new();
/// imapd_proto::wire::NulFree(&mut sink).write_all(b"x\0y").unwrap();
/// assert_eq!(sink, b"x\x80y");
/// ```
#[derive(Debug)]
pub struct NulFree<W>(pub W);

impl<W: std::io::Write> std::io::Write for NulFree<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match memchr::memchr(0, buf) {
            None => self.0.write(buf),
            Some(0) => {
                self.0.write_all(&[NUL_REPLACEMENT])?;
                Ok(1)
            }
            Some(i) => self.0.write(&buf[..i]),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    // RFC 3501 §4.3: quoted strings hold 7-bit TEXT-CHARs only; anything else is a literal.
    #[test_case(b"", b"\"\"" ; "empty string is quoted")]
    #[test_case(b"a\\b", b"\"a\\\\b\"" ; "backslash escaped")]
    #[test_case(b"a\r\nb", b"{4}\r\na\r\nb" ; "crlf needs a literal")]
    #[test_case(b"\xff", b"{1}\r\n\xff" ; "8-bit needs a literal")]
    #[test_case(b"a\0", b"{2}\r\na\x80" ; "nul replaced in a literal")]
    fn string_forms(input: &[u8], expected: &[u8]) {
        let mut out = Vec::new();
        string(&mut out, input);
        assert_eq!(out, expected);
    }

    #[test_case(b"NIL", b"\"NIL\"" ; "nil is not an atom")]
    #[test_case(b"a]b", b"\"a]b\"" ; "bracket quoted")]
    #[test_case(b"", b"\"\"" ; "empty astring")]
    #[test_case(b"X-Mailer", b"X-Mailer" ; "header name atom")]
    fn astring_forms(input: &[u8], expected: &[u8]) {
        let mut out = Vec::new();
        astring(&mut out, input);
        assert_eq!(out, expected);
    }

    #[test]
    fn long_strings_are_literals() {
        let mut out = Vec::new();
        string(&mut out, &[b'a'; 2000]);
        assert!(out.starts_with(b"{2000}\r\n"));
    }

    #[test]
    fn nul_free_writer_streams_everything() {
        use std::io::Write;
        let mut sink = Vec::new();
        let data: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        NulFree(&mut sink).write_all(&data).unwrap();
        assert_eq!(sink.len(), data.len());
        assert!(!sink.contains(&0));
    }
}
