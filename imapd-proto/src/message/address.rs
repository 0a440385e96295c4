//! RFC 5322 §3.4 address lists (mailboxes, angle addresses with routes, groups) turned into
//! the (name adl mailbox host) quadruples of an IMAP ENVELOPE.
//!
//! Owns reading one unfolded address field. Must never fail or drop a non-empty entry: what
//! it cannot read becomes an address with the [`MISSING_MAILBOX`] / [`MISSING_DOMAIN`]
//! markers, never a NIL host (which clients read as group syntax). Must never decode RFC 2047
//! encoded words or 8-bit text: bytes stay as sent.

use super::params::Cursor;

/// The mailbox written for an address that has none (Dovecot's marker).
pub const MISSING_MAILBOX: &[u8] = b"MISSING_MAILBOX";
/// The host written for an address that has no domain (Dovecot's marker). A NIL host would
/// mean the start of a group (RFC 3501 §7.4.2), so a real host-less address needs a string.
pub const MISSING_DOMAIN: &[u8] = b"MISSING_DOMAIN";

/// One ENVELOPE address. A group start has `mailbox` = the group name and no host; a group
/// end has all four `None`.
///
/// ```
/// use imapd_proto::message::address::parse_address_list;
/// let a = &parse_address_list(b"Al <a@b.example>")[0];
/// assert_eq!(a.host.as_deref(), Some(&b"b.example"[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// The display name (phrase words joined by one space, quotes removed), or the comment of
    /// a bare `addr-spec (Name)`.
    pub name: Option<Vec<u8>>,
    /// The obsolete source route (`@a,@b`).
    pub adl: Option<Vec<u8>>,
    /// The local part (quotes removed), or the group name.
    pub mailbox: Option<Vec<u8>>,
    /// The domain.
    pub host: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// An atom (dots included) or a quoted string (quotes removed).
    Word(Vec<u8>),
    Special(u8),
    Comment(Vec<u8>),
}

fn lex(value: &[u8]) -> Vec<Tok> {
    let mut cur = Cursor::new(value);
    let mut toks = Vec::new();
    loop {
        let mut comments = Vec::new();
        cur.skip_cfws_comments(&mut comments);
        toks.extend(comments.into_iter().map(Tok::Comment));
        let Some(b) = cur.peek() else { break };
        match b {
            b'"' => toks.push(Tok::Word(cur.quoted())),
            b'[' => {
                // A domain literal stays one word, brackets included.
                let start = cur.pos;
                while let Some(c) = cur.peek() {
                    cur.bump();
                    if c == b']' {
                        break;
                    }
                }
                toks.push(Tok::Word(cur.slice(start, cur.pos).to_vec()));
            }
            b'<' | b'>' | b'@' | b',' | b':' | b';' | b']' | b')' | b'\\' => {
                cur.bump();
                toks.push(Tok::Special(b));
            }
            _ => {
                let start = cur.pos;
                while let Some(c) = cur.peek() {
                    if crate::message::header::is_wsp(c) || b"()<>[]:;@\\,\"".contains(&c) {
                        break;
                    }
                    cur.bump();
                }
                toks.push(Tok::Word(cur.slice(start, cur.pos).to_vec()));
            }
        }
    }
    toks
}

/// Parses an address list (From, To, ...). An empty or blank value gives an empty list.
///
/// ```
/// use imapd_proto::message::address::parse_address_list;
/// let a = parse_address_list(b"\"Doe, J.\" <j@example.com>, undisclosed:;");
/// assert_eq!(a[0].name.as_deref(), Some(&b"Doe, J."[..]));
/// assert_eq!(a[0].mailbox.as_deref(), Some(&b"j"[..]));
/// assert_eq!(a[1].mailbox.as_deref(), Some(&b"undisclosed"[..]));
/// assert_eq!(a[2], Default::default());
/// ```
pub fn parse_address_list(value: &[u8]) -> Vec<Address> {
    let toks = lex(value);
    let mut out = Vec::new();
    let mut cur: Vec<Tok> = Vec::new();
    let mut in_group = false;
    let mut in_angle = false;
    for tok in toks {
        match tok {
            Tok::Special(b'<') => {
                in_angle = true;
                cur.push(tok);
                continue;
            }
            Tok::Special(b'>') => {
                in_angle = false;
                cur.push(tok);
                continue;
            }
            Tok::Special(b',') if !in_angle => out.extend(mailbox(&cur)),
            Tok::Special(b':') if !in_angle && !in_group => {
                in_group = true;
                out.push(Address {
                    mailbox: Some(phrase(&cur).unwrap_or_default()),
                    ..Address::default()
                });
            }
            Tok::Special(b';') if !in_angle => {
                out.extend(mailbox(&cur));
                if in_group {
                    out.push(Address::default());
                    in_group = false;
                }
            }
            _ => {
                cur.push(tok);
                continue;
            }
        }
        cur.clear();
    }
    out.extend(mailbox(&cur));
    if in_group {
        out.push(Address::default());
    }
    out
}

/// Words joined by one space; `None` when there are none.
fn phrase(toks: &[Tok]) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    let mut any = false;
    for t in toks {
        let bytes: &[u8] = match t {
            Tok::Word(w) => w,
            Tok::Special(b'@') => b"@",
            Tok::Special(b'.') => b".",
            _ => continue,
        };
        if any {
            out.push(b' ');
        }
        out.extend_from_slice(bytes);
        any = true;
    }
    any.then_some(out)
}

/// Concatenates words and specials without spaces (local parts, domains, routes).
fn tight(toks: &[Tok]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in toks {
        match t {
            Tok::Word(w) => out.extend_from_slice(w),
            Tok::Special(b) => out.push(*b),
            Tok::Comment(_) => {}
        }
    }
    out
}

fn mailbox(toks: &[Tok]) -> Option<Address> {
    if toks.iter().all(|t| matches!(t, Tok::Comment(_))) {
        return None;
    }
    let pos = |pred: &dyn Fn(&Tok) -> bool, within: &[Tok]| within.iter().position(pred);
    if let Some(lt) = pos(&|t| *t == Tok::Special(b'<'), toks) {
        let name = phrase(toks.get(..lt).unwrap_or_default());
        let inner = toks.get(lt + 1..).unwrap_or_default();
        let inner = match pos(&|t| *t == Tok::Special(b'>'), inner) {
            Some(gt) => inner.get(..gt).unwrap_or_default(),
            None => inner,
        };
        let mut adl = None;
        let mut spec = inner;
        if matches!(inner.first(), Some(Tok::Special(b'@')))
            && let Some(colon) = pos(&|t| *t == Tok::Special(b':'), inner)
        {
            adl = Some(tight(inner.get(..colon).unwrap_or_default()));
            spec = inner.get(colon + 1..).unwrap_or_default();
        }
        let (mailbox, host) = addr_spec(spec);
        return Some(Address {
            name,
            adl,
            mailbox: Some(mailbox),
            host: Some(host),
        });
    }
    let name = toks.iter().find_map(|t| match t {
        Tok::Comment(c) if !crate::message::header::trim(c).is_empty() => {
            Some(crate::message::header::trim(c).to_vec())
        }
        _ => None,
    });
    let (mailbox, host) = addr_spec(toks);
    Some(Address {
        name,
        adl: None,
        mailbox: Some(mailbox),
        host: Some(host),
    })
}

fn addr_spec(toks: &[Tok]) -> (Vec<u8>, Vec<u8>) {
    let toks: Vec<Tok> = toks
        .iter()
        .filter(|t| !matches!(t, Tok::Comment(_)))
        .cloned()
        .collect();
    let (local, host) = match toks.iter().rposition(|t| *t == Tok::Special(b'@')) {
        Some(at) => (
            tight(toks.get(..at).unwrap_or_default()),
            tight(toks.get(at + 1..).unwrap_or_default()),
        ),
        // No `@`: keep the text as the mailbox, words spaced as written.
        None => (phrase(&toks).unwrap_or_default(), Vec::new()),
    };
    let or = |v: Vec<u8>, marker: &[u8]| if v.is_empty() { marker.to_vec() } else { v };
    (or(local, MISSING_MAILBOX), or(host, MISSING_DOMAIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quad(a: &Address) -> String {
        let s = |v: &Option<Vec<u8>>| match v {
            None => "NIL".to_string(),
            Some(v) => format!("{:?}", String::from_utf8_lossy(v)),
        };
        format!(
            "({} {} {} {})",
            s(&a.name),
            s(&a.adl),
            s(&a.mailbox),
            s(&a.host)
        )
    }

    fn all(v: &[u8]) -> String {
        parse_address_list(v)
            .iter()
            .map(quad)
            .collect::<Vec<_>>()
            .join("")
    }

    #[test]
    fn forms() {
        assert_eq!(all(b""), "");
        assert_eq!(all(b"a@b"), r#"(NIL NIL "a" "b")"#);
        assert_eq!(all(b"a@b (Al B)"), r#"("Al B" NIL "a" "b")"#);
        assert_eq!(
            all(b"<@r1,@r2:x@y>, Z <z@w.org>"),
            r#"(NIL "@r1,@r2" "x" "y")("Z" NIL "z" "w.org")"#
        );
        assert_eq!(
            all(b"G: a@b, c@d; e@f"),
            r#"(NIL NIL "G" NIL)(NIL NIL "a" "b")(NIL NIL "c" "d")(NIL NIL NIL NIL)(NIL NIL "e" "f")"#
        );
        assert_eq!(all(b"root"), r#"(NIL NIL "root" "MISSING_DOMAIN")"#);
        assert_eq!(
            all(b"<>"),
            r#"(NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")"#
        );
        assert_eq!(all(b"\"a b\"@[1.2.3.4]"), r#"(NIL NIL "a b" "[1.2.3.4]")"#);
        assert_eq!(all(b"G: ;"), r#"(NIL NIL "G" NIL)(NIL NIL NIL NIL)"#);
        assert_eq!(all(b"unclosed <a@b"), r#"("unclosed" NIL "a" "b")"#);
    }

    // The examples of RFC 5322 Appendix A.1.2, A.1.3, A.5 and A.6.3.
    #[test]
    fn rfc5322_appendix() {
        assert_eq!(
            all(b"\"Joe Q. Public\" <john.q.public@example.com>"),
            r#"("Joe Q. Public" NIL "john.q.public" "example.com")"#
        );
        assert_eq!(
            all(b"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;"),
            r#"(NIL NIL "A Group" NIL)("Ed Jones" NIL "c" "a.test")(NIL NIL "joe" "where.test")("John" NIL "jdoe" "one.test")(NIL NIL NIL NIL)"#
        );
        assert_eq!(
            all(b"Undisclosed recipients:;"),
            r#"(NIL NIL "Undisclosed recipients" NIL)(NIL NIL NIL NIL)"#
        );
        assert_eq!(
            all(b"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
            r#"("Pete" NIL "pete" "silly.test")"#
        );
        assert_eq!(
            all(b"A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)"),
            r#"(NIL NIL "A Group" NIL)("Chris Jones" NIL "c" "public.example")(NIL NIL "joe" "example.org")("John" NIL "jdoe" "one.test")(NIL NIL NIL NIL)"#
        );
        assert_eq!(
            all(b"Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example"),
            r#"("Mary Smith" "@node.test" "mary" "example.net")(NIL NIL "jdoe" "test.example")"#
        );
    }
}
