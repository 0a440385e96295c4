//! Content-Type and Content-Disposition values: the type, the subtype and the parameter list
//! (RFC 2045 §5.1, RFC 2183, RFC 2231 continuations and extended values).
//!
//! Owns turning one unfolded field value into a type and parameters. Must never fail on bad
//! input (a value it cannot read is `None`, a parameter it cannot read is dropped) and must
//! never decode text into a character set: values stay bytes.

/// One parameter, as BODYSTRUCTURE shows it.
///
/// ```
/// use imapd_proto::message::params::parse_content_type;
/// let ct = parse_content_type(b"text/plain; title*=us-ascii'en'a%20b").unwrap();
/// assert_eq!((&ct.params[0].name[..], &ct.params[0].value[..]), (&b"title*"[..], &b"us-ascii'en'a%20b"[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The name as the header spells it; `name*` when the value is an RFC 2231 extended value.
    pub name: Vec<u8>,
    /// The value, quotes and escapes removed, continuations joined.
    pub value: Vec<u8>,
}

/// A parsed Content-Type.
///
/// ```
/// use imapd_proto::message::params::parse_content_type;
/// let ct = parse_content_type(b"Text/HTML; charset=\"utf-8\"").unwrap();
/// assert_eq!((&ct.kind[..], &ct.subtype[..]), (&b"Text"[..], &b"HTML"[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    /// The top-level type as spelt in the header (`text`, `Multipart`, ...).
    pub kind: Vec<u8>,
    /// The subtype as spelt in the header.
    pub subtype: Vec<u8>,
    /// The parameters, RFC 2231 continuations joined.
    pub params: Vec<Param>,
}

impl ContentType {
    /// The value of the first parameter called `name` (ASCII case-insensitive).
    ///
    /// ```
    /// use imapd_proto::message::params::parse_content_type;
    /// let ct = parse_content_type(b"multipart/mixed; Boundary=\"x y\"").unwrap();
    /// assert_eq!(ct.param(b"boundary"), Some(&b"x y"[..]));
    /// ```
    pub fn param(&self, name: &[u8]) -> Option<&[u8]> {
        param(&self.params, name)
    }

    /// Whether the type is `kind`/`subtype` (ASCII case-insensitive).
    ///
    /// ```
    /// use imapd_proto::message::params::parse_content_type;
    /// assert!(parse_content_type(b"Message/RFC822").unwrap().is(b"message", b"rfc822"));
    /// ```
    pub fn is(&self, kind: &[u8], subtype: &[u8]) -> bool {
        self.kind.eq_ignore_ascii_case(kind) && self.subtype.eq_ignore_ascii_case(subtype)
    }
}

/// A parsed Content-Disposition.
///
/// ```
/// use imapd_proto::message::params::parse_disposition;
/// let d = parse_disposition(b"attachment; size=3").unwrap();
/// assert_eq!((&d.kind[..], d.params.len()), (&b"attachment"[..], 1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposition {
    /// The disposition type as spelt (`attachment`, `inline`, ...).
    pub kind: Vec<u8>,
    /// The parameters, RFC 2231 continuations joined.
    pub params: Vec<Param>,
}

/// The value of the first parameter in `params` called `name` (ASCII case-insensitive).
///
/// ```
/// use imapd_proto::message::params::{param, parse_disposition};
/// let d = parse_disposition(b"attachment; filename=a.pdf").unwrap();
/// assert_eq!(param(&d.params, b"FILENAME"), Some(&b"a.pdf"[..]));
/// ```
pub fn param<'p>(params: &'p [Param], name: &[u8]) -> Option<&'p [u8]> {
    params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.value.as_slice())
}

/// Parses a Content-Type value (`type/subtype *(; parameter)`); `None` when there is no valid
/// `type/subtype`, in which case RFC 2045 §5.2 says to assume `text/plain; charset=us-ascii`.
///
/// ```
/// use imapd_proto::message::params::parse_content_type;
/// let ct = parse_content_type(b"text/plain; charset=us-ascii (Plain text)").unwrap();
/// assert_eq!((&ct.kind[..], &ct.subtype[..]), (&b"text"[..], &b"plain"[..]));
/// assert_eq!(ct.param(b"charset"), Some(&b"us-ascii"[..]));
/// assert!(parse_content_type(b"text").is_none());
/// ```
pub fn parse_content_type(value: &[u8]) -> Option<ContentType> {
    let mut cur = Cursor::new(value);
    cur.skip_cfws();
    let kind = cur.token()?.to_vec();
    cur.skip_cfws();
    if cur.peek() != Some(b'/') {
        return None;
    }
    cur.bump();
    cur.skip_cfws();
    let subtype = cur.token()?.to_vec();
    let params = parse_params(&mut cur);
    Some(ContentType {
        kind,
        subtype,
        params,
    })
}

/// Parses a Content-Disposition value (`type *(; parameter)`); `None` without a type token.
///
/// ```
/// use imapd_proto::message::params::parse_disposition;
/// let d = parse_disposition(b"inline").unwrap();
/// assert_eq!((&d.kind[..], d.params.len()), (&b"inline"[..], 0));
/// ```
pub fn parse_disposition(value: &[u8]) -> Option<Disposition> {
    let mut cur = Cursor::new(value);
    cur.skip_cfws();
    let kind = cur.token()?.to_vec();
    let params = parse_params(&mut cur);
    Some(Disposition { kind, params })
}

/// Decodes an RFC 2231 extended value (`charset'language'%XX...`, as [`Param::value`] holds
/// for a `name*` parameter) into (charset, language, bytes). `None` when the two quotes are
/// missing.
///
/// ```
/// use imapd_proto::message::params::decode_extended;
/// let (cs, lang, v) = decode_extended(b"utf-8'en'caf%C3%A9").unwrap();
/// assert_eq!((cs, lang, &v[..]), (&b"utf-8"[..], &b"en"[..], "café".as_bytes()));
/// ```
pub fn decode_extended(value: &[u8]) -> Option<(&[u8], &[u8], Vec<u8>)> {
    let q1 = memchr::memchr(b'\'', value)?;
    let rest = value.get(q1 + 1..)?;
    let q2 = memchr::memchr(b'\'', rest)?;
    let charset = value.get(..q1)?;
    let lang = rest.get(..q2)?;
    let text = rest.get(q2 + 1..)?;
    Some((charset, lang, percent_decode(text)))
}

fn percent_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        if b == b'%'
            && let (Some(h), Some(l)) = (
                text.get(i + 1).and_then(|&c| hex(c)),
                text.get(i + 2).and_then(|&c| hex(c)),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// One `name[*n][*]=value` as read, before joining.
struct RawParam {
    base: Vec<u8>,
    section: Option<u32>,
    extended: bool,
    value: Vec<u8>,
}

fn split_name(name: &[u8]) -> (Vec<u8>, Option<u32>, bool) {
    let (name, extended) = match name.strip_suffix(b"*") {
        Some(n) => (n, true),
        None => (name, false),
    };
    if let Some(star) = memchr::memrchr(b'*', name)
        && let Some(digits) = name.get(star + 1..)
        && !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && let Some(n) = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse::<u32>().ok())
    {
        return (
            name.get(..star).unwrap_or_default().to_vec(),
            Some(n),
            extended,
        );
    }
    (name.to_vec(), None, extended)
}

fn parse_params(cur: &mut Cursor<'_>) -> Vec<Param> {
    let mut raw = Vec::new();
    loop {
        cur.skip_cfws();
        match cur.peek() {
            None => break,
            Some(b';') => cur.bump(),
            // Junk where a `;` belongs: skip to the next one.
            Some(_) => {
                cur.skip_to(b';');
                continue;
            }
        }
        cur.skip_cfws();
        let Some(name) = cur.token() else {
            continue;
        };
        let name = name.to_vec();
        cur.skip_cfws();
        if cur.peek() != Some(b'=') {
            continue;
        }
        cur.bump();
        cur.skip_cfws();
        let value = if cur.peek() == Some(b'"') {
            cur.quoted()
        } else {
            let start = cur.pos;
            let token_end = cur.token().map_or(start, |_| cur.pos);
            cur.skip_cfws();
            if matches!(cur.peek(), None | Some(b';')) {
                cur.slice(start, token_end).to_vec()
            } else {
                // Unquoted value with spaces or specials (common in the wild): take it all.
                cur.skip_to(b';');
                crate::message::header::trim(cur.slice(start, cur.pos)).to_vec()
            }
        };
        let (base, section, extended) = split_name(&name);
        raw.push(RawParam {
            base,
            section,
            extended,
            value,
        });
    }
    join(raw)
}

/// Joins RFC 2231 continuations. Like Dovecot, an extended value keeps its encoded form
/// (`charset'lang'%XX`) under the name `name*`; plain sections are joined under `name`. Joining
/// makes no charset conversion, which BODYSTRUCTURE cannot express anyway.
fn join(raw: Vec<RawParam>) -> Vec<Param> {
    let mut out: Vec<Param> = Vec::new();
    let mut done = vec![false; raw.len()];
    for i in 0..raw.len() {
        let Some(first) = raw.get(i) else { break };
        if done.get(i).copied().unwrap_or(true) {
            continue;
        }
        if first.section.is_none() {
            let mut name = first.base.clone();
            if first.extended {
                name.push(b'*');
            }
            out.push(Param {
                name,
                value: first.value.clone(),
            });
            continue;
        }
        let mut sections: Vec<&RawParam> = Vec::new();
        for (j, p) in raw.iter().enumerate().skip(i) {
            if p.section.is_some() && p.base.eq_ignore_ascii_case(&first.base) {
                sections.push(p);
                if let Some(d) = done.get_mut(j) {
                    *d = true;
                }
            }
        }
        sections.sort_by_key(|p| p.section);
        let extended = sections.first().is_some_and(|p| p.extended);
        let mut value = Vec::new();
        for p in &sections {
            if extended && !p.extended {
                // A plain section inside an extended value: escape it so the joined value
                // still reads as one percent-encoded text.
                for &b in &p.value {
                    if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                        value.push(b);
                    } else {
                        value.extend_from_slice(format!("%{b:02X}").as_bytes());
                    }
                }
            } else {
                value.extend_from_slice(&p.value);
            }
        }
        let mut name = first.base.clone();
        if extended {
            name.push(b'*');
        }
        out.push(Param { name, value });
    }
    out
}

/// A read position in a field value, with the RFC 822 lexical rules MIME uses.
pub(crate) struct Cursor<'s> {
    pub(crate) s: &'s [u8],
    pub(crate) pos: usize,
}

impl<'s> Cursor<'s> {
    pub(crate) fn new(s: &'s [u8]) -> Self {
        Cursor { s, pos: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    pub(crate) fn bump(&mut self) {
        self.pos = (self.pos + 1).min(self.s.len());
    }

    pub(crate) fn slice(&self, from: usize, to: usize) -> &'s [u8] {
        self.s.get(from..to).unwrap_or_default()
    }

    fn skip_to(&mut self, byte: u8) {
        let rest = self.s.get(self.pos..).unwrap_or_default();
        self.pos += memchr::memchr(byte, rest).unwrap_or(rest.len());
    }

    /// Skips whitespace and comments; returns the contents of the comments skipped.
    pub(crate) fn skip_cfws_comments(&mut self, comments: &mut Vec<Vec<u8>>) {
        while let Some(b) = self.peek() {
            if crate::message::header::is_wsp(b) {
                self.bump();
            } else if b == b'(' {
                comments.push(self.comment());
            } else {
                break;
            }
        }
    }

    pub(crate) fn skip_cfws(&mut self) {
        while let Some(b) = self.peek() {
            if crate::message::header::is_wsp(b) {
                self.bump();
            } else if b == b'(' {
                self.comment();
            } else {
                break;
            }
        }
    }

    /// Reads a (possibly nested) comment starting at `(`; an unclosed one runs to the end.
    fn comment(&mut self) -> Vec<u8> {
        let mut depth = 0usize;
        let mut text = Vec::new();
        while let Some(b) = self.peek() {
            self.bump();
            match b {
                b'(' => {
                    if depth > 0 {
                        text.push(b);
                    }
                    depth += 1;
                }
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                    text.push(b);
                }
                b'\\' => {
                    if let Some(next) = self.peek() {
                        text.push(next);
                        self.bump();
                    }
                }
                _ => text.push(b),
            }
        }
        text
    }

    /// Reads a quoted string starting at `"`, escapes removed; an unclosed one runs to the end.
    pub(crate) fn quoted(&mut self) -> Vec<u8> {
        self.bump();
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.bump();
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(next) = self.peek() {
                        out.push(next);
                        self.bump();
                    }
                }
                // Folding inside a quoted string was unfolded already; stray line ends go.
                b'\r' | b'\n' => {}
                _ => out.push(b),
            }
        }
        out
    }

    /// Reads an RFC 2045 token (8-bit bytes allowed, as real mail has them).
    fn token(&mut self) -> Option<&'s [u8]> {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b <= b' ' || b == 0x7f || b"()<>@,;:\\\"/[]?=".contains(&b) {
                break;
            }
            self.bump();
        }
        (self.pos > start).then(|| self.slice(start, self.pos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(ps: &[Param]) -> Vec<(String, String)> {
        ps.iter()
            .map(|p| {
                (
                    String::from_utf8_lossy(&p.name).into_owned(),
                    String::from_utf8_lossy(&p.value).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn rfc2231_continuations_join() {
        let ct = parse_content_type(
            b"message/external-body; access-type=URL; URL*0=\"ftp://\"; URL*1=\"cs.utk.edu/pub\"",
        )
        .unwrap();
        assert_eq!(
            pairs(&ct.params),
            [
                ("access-type".into(), "URL".into()),
                ("URL".into(), "ftp://cs.utk.edu/pub".into())
            ]
        );
    }

    #[test]
    fn rfc2231_extended_out_of_order() {
        let d =
            parse_disposition(b"attachment; filename*1=\" b\"; filename*0*=utf-8''%C3%A9; size=3")
                .unwrap();
        assert_eq!(
            pairs(&d.params),
            [
                ("filename*".into(), "utf-8''%C3%A9%20b".into()),
                ("size".into(), "3".into())
            ]
        );
    }

    #[test]
    fn junk_is_skipped() {
        let ct = parse_content_type(b"text/plain; ; =x; bad; charset = \"a\\\"b\" ;").unwrap();
        assert_eq!(pairs(&ct.params), [("charset".into(), "a\"b".into())]);
    }

    #[test]
    fn unquoted_with_spaces() {
        let ct = parse_content_type(b"application/pdf; name=my file.pdf; x=1").unwrap();
        assert_eq!(ct.param(b"name"), Some(&b"my file.pdf"[..]));
        assert_eq!(ct.param(b"x"), Some(&b"1"[..]));
    }
}
