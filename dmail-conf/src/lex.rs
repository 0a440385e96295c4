//! Splits dmail.conf text into classified lines with nom: blank, comment, include directive or
//! `name value` setting (dmail-conventions §1).
//!
//! It works on bytes and never decodes, interprets values or touches files: a file in a legacy
//! 8-bit encoding must still lex, and only the values that are used need to be UTF-8.

use nom::branch::alt;
use nom::bytes::complete::{tag_no_case, take_till1};
use nom::character::complete::space0;
use nom::combinator::{eof, map, rest, verify};
use nom::sequence::preceded;
use nom::{IResult, Parser};

/// Which include directive a line holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeKind {
    /// `#include PATH`: every DMail program's.
    Include,
    /// `#imapd_include PATH`: IMAPD's alone.
    ImapdInclude,
}

impl IncludeKind {
    /// The directive as written in diagnostics.
    pub fn keyword(self) -> &'static str {
        match self {
            IncludeKind::Include => "#include",
            IncludeKind::ImapdInclude => "#imapd_include",
        }
    }
}

/// One line of dmail.conf, classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// Nothing but blanks.
    Blank,
    /// A `#` comment that is not a directive.
    Comment,
    /// An include directive and its (trimmed, possibly empty) path.
    Include(IncludeKind, &'a [u8]),
    /// A setting: its name and its trimmed value (possibly empty).
    Setting(&'a [u8], &'a [u8]),
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trims blanks, and also stray CRs (a file with CR CR LF endings, or a CR before a tab), so that a
/// value never keeps a CR that writing it back would lose.
fn trim(mut s: &[u8]) -> &[u8] {
    let is_blank = |b: u8| b == b' ' || b == b'\t' || b == b'\r';
    while let [first, tail @ ..] = s {
        if !is_blank(*first) {
            break;
        }
        s = tail;
    }
    while let [head @ .., last] = s {
        if !is_blank(*last) {
            break;
        }
        s = head;
    }
    s
}

fn directive(input: &[u8]) -> IResult<&[u8], Line<'_>> {
    // A keyword only counts when a blank or the end of the line follows it:
    // `#includes` is a comment.
    let keyword = alt((
        map(tag_no_case("#imapd_include"), |_| IncludeKind::ImapdInclude),
        map(tag_no_case("#include"), |_| IncludeKind::Include),
    ));
    let after = alt((
        eof,
        verify(rest, |r: &[u8]| r.first().is_some_and(|b| is_blank(*b))),
    ));
    map((keyword, after), |(kind, path)| {
        Line::Include(kind, trim(path))
    })
    .parse(input)
}

fn comment(input: &[u8]) -> IResult<&[u8], Line<'_>> {
    map(preceded(nom::bytes::complete::tag("#"), rest), |_| {
        Line::Comment
    })
    .parse(input)
}

fn blank_line(input: &[u8]) -> IResult<&[u8], Line<'_>> {
    map(eof, |_| Line::Blank).parse(input)
}

fn setting(input: &[u8]) -> IResult<&[u8], Line<'_>> {
    map((take_till1(is_blank), rest), |(name, value)| {
        Line::Setting(name, trim(value))
    })
    .parse(input)
}

/// Classifies one line (without its line ending).
///
/// ```
/// use dmail_conf::lex::{classify, Line, IncludeKind};
/// assert_eq!(classify(b"  drop_path  /var/mail  "), Line::Setting(b"drop_path", b"/var/mail"));
/// assert_eq!(classify(b"#INCLUDE other.conf"), Line::Include(IncludeKind::Include, b"other.conf"));
/// assert_eq!(classify(b"# a comment"), Line::Comment);
/// ```
pub fn classify(line: &[u8]) -> Line<'_> {
    let parsed = preceded(space0, alt((directive, comment, blank_line, setting))).parse(line);
    match parsed {
        Ok((_, line)) => line,
        // Unreachable in practice: after leading blanks, `setting` takes any non-empty input.
        Err(_) => Line::Blank,
    }
}

/// The lines of a file with their 1-based numbers: a UTF-8 byte-order mark is skipped, LF or CRLF
/// end lines, and a last line without an ending still counts.
///
/// ```
/// use dmail_conf::lex::lines;
/// let v: Vec<_> = lines(b"\xEF\xBB\xBFa 1\r\nb 2").collect();
/// assert_eq!(v, [(1, &b"a 1"[..]), (2, &b"b 2"[..])]);
/// ```
pub fn lines(text: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let empty = text.is_empty();
    body.split(|b| *b == b'\n')
        .filter(move |_| !empty)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .zip(1u32..)
        .map(|(l, n)| (n, l))
}

#[cfg(test)]
mod tests {
    use super::{IncludeKind, Line, classify, lines};
    use test_case::test_case;

    // dmail-conventions §1: one setting per line, comments, directives, no trailing comments.
    #[test_case(b"", Line::Blank; "empty")]
    #[test_case(b" \t ", Line::Blank; "blanks only")]
    #[test_case(b"# comment", Line::Comment; "comment")]
    #[test_case(b"   #comment", Line::Comment; "indented comment")]
    #[test_case(b"#includes x", Line::Comment; "keyword needs a blank after it")]
    #[test_case(b"#include", Line::Include(IncludeKind::Include, b""); "include without path")]
    #[test_case(b"#Include  a b.conf ", Line::Include(IncludeKind::Include, b"a b.conf"); "path keeps inner blanks")]
    #[test_case(b"#imapd_include\tx", Line::Include(IncludeKind::ImapdInclude, b"x"); "imapd include")]
    #[test_case(b"name", Line::Setting(b"name", b""); "setting without value")]
    #[test_case(b"log_path c:\\dmail\\log # not a comment", Line::Setting(b"log_path", b"c:\\dmail\\log # not a comment"); "hash inside value")]
    #[test_case(b"vdomain  cc @a.com a.com /x y", Line::Setting(b"vdomain", b"cc @a.com a.com /x y"); "value with spaces")]
    fn classifies(input: &[u8], expected: Line<'_>) {
        assert_eq!(classify(input), expected);
    }

    #[test]
    fn line_endings_and_numbers() {
        let v: Vec<_> = lines(b"a\n\nb\r\nc\n").collect();
        assert_eq!(
            v,
            [
                (1, &b"a"[..]),
                (2, &b""[..]),
                (3, &b"b"[..]),
                (4, &b"c"[..])
            ]
        );
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\n").collect::<Vec<_>>(), [(1, &b""[..])]);
    }
}
