//! The LIST/LSUB matcher: RFC 3501 §6.3.8 (wildcards, reference names) and notes/uw-c-client.md
//! §4.3 (INBOX, `dmatch`) as tables, and a property against a naive reference matcher.

use proptest::prelude::*;
use test_case::test_case;

use super::*;

// RFC 3501 §6.3.8: "*" matches zero or more characters at this position; "%" is like "*" but
// does not match a hierarchy delimiter. Names are case-sensitive.
#[test_case(b"*", b"Sent", true; "star matches a name")]
#[test_case(b"*", b"Work/2000/Jan", true; "star crosses delimiters")]
#[test_case(b"%", b"Sent", true; "percent matches a top-level name")]
#[test_case(b"%", b"Work/2000", false; "percent does not cross a delimiter")]
#[test_case(b"Work/%", b"Work/2000", true; "percent one level down")]
#[test_case(b"Work/%", b"Work/2000/Jan", false; "percent not two levels down")]
#[test_case(b"Work/%", b"Work", false; "the directory itself does not match Work/%")]
#[test_case(b"Work/*", b"Work/2000/Jan", true; "star below a directory")]
#[test_case(b"W*n", b"Work/2000/Jan", true; "star in the middle")]
#[test_case(b"W%n", b"Work/2000/Jan", false; "percent in the middle")]
#[test_case(b"%/%", b"Work/2000", true; "two percents")]
#[test_case(b"%/%", b"Work", false; "two percents need two levels")]
#[test_case(b"Sent", b"Sent", true; "literal")]
#[test_case(b"sent", b"Sent", false; "case-sensitive")]
#[test_case(b"Sent", b"Sent2", false; "literal must match all")]
#[test_case(b"S%t", b"Sent", true; "percent inside a word")]
#[test_case(b"%%", b"a", true; "collapsed percents")]
#[test_case(b"*%", b"a/b", true; "star then percent")]
#[test_case(b"%*", b"a/b", true; "percent then star")]
#[test_case(b"*/", b"a/b", false; "trailing delimiter literal")]
#[test_case(b"", b"Sent", false; "empty pattern matches no name")]
#[test_case(b"*a*a*a*a*a*a*a*a*b", b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false; "no exponential backtracking")]
fn matches(pattern: &[u8], name: &[u8], expected: bool) {
    assert_eq!(Pattern::new(pattern).matches(name), expected);
}

// RFC 3501 §6.3.8, the reference table (our names have no "~" or "/" roots, so those rows
// ignore the reference and match nothing here), and notes §4.3 step 1.
#[test_case(b"~smith/Mail/", b"foo.*", b"~smith/Mail/foo.*"; "reference prefixes the pattern")]
#[test_case(b"archive/", b"%", b"archive/%"; "directory reference")]
#[test_case(b"#news.", b"comp.mail.*", b"#news.comp.mail.*"; "no delimiter added")]
#[test_case(b"~smith/Mail/", b"/usr/doc/foo", b"/usr/doc/foo"; "absolute pattern ignores the reference")]
#[test_case(b"archive/", b"~fred/Mail/*", b"~fred/Mail/*"; "home pattern ignores the reference")]
#[test_case(b"", b"Work/*", b"Work/*"; "empty reference")]
#[test_case(b"Work", b"%", b"Work%"; "plain concatenation, as c-client")]
fn reference(reference: &[u8], pattern: &[u8], expected: &[u8]) {
    assert_eq!(
        Pattern::with_reference(reference, pattern).as_bytes(),
        expected
    );
}

// RFC 3501 §5.1: INBOX is case-insensitive; c-client matches "INBOX" against the upper-cased
// pattern (notes §4.3 step 6).
#[test_case(b"INBOX", true; "exact")]
#[test_case(b"inbox", true; "lower")]
#[test_case(b"In%", true; "wildcard")]
#[test_case(b"*", true; "star")]
#[test_case(b"%", true; "percent")]
#[test_case(b"*x", true; "upper-cased pattern")]
#[test_case(b"INBOX/%", false; "children pattern")]
#[test_case(b"Sent", false; "other name")]
#[test_case(b"", false; "empty")]
fn inbox(pattern: &[u8], expected: bool) {
    assert_eq!(Pattern::new(pattern).matches_inbox(), expected);
    let inbox = MailboxName::inbox();
    assert_eq!(Pattern::new(pattern).matches_name(&inbox), expected);
}

#[test]
fn inbox_rule_is_only_for_inbox() {
    let name = MailboxName::parse(b"inbox/x").unwrap();
    assert!(!Pattern::new(b"INBOX/x").matches_name(&name));
    assert!(Pattern::new(b"inbox/x").matches_name(&name));
}

// notes §4.3 `dmatch`: could a name below this directory match?
#[test_case(b"%", b"Work/", false; "percent stays at the top")]
#[test_case(b"*", b"Work/", true; "star goes everywhere")]
#[test_case(b"Work/%", b"Work/", true; "pattern names the directory")]
#[test_case(b"Work/%", b"Sent/", false; "other directory")]
#[test_case(b"Work/%", b"Work/2000/", false; "too deep for percent")]
#[test_case(b"Work/*", b"Work/2000/", true; "star goes deeper")]
#[test_case(b"%/2000", b"Work/", true; "percent then literal")]
#[test_case(b"W%/x", b"Work/", true; "percent inside the first level")]
#[test_case(b"Sent", b"Sent/", false; "literal name without children")]
fn below(pattern: &[u8], prefix: &[u8], expected: bool) {
    assert_eq!(Pattern::new(pattern).may_match_below(prefix), expected);
}

#[test]
fn percent_ending() {
    assert!(Pattern::new(b"Work/%").ends_with_percent());
    assert!(!Pattern::new(b"Work/*").ends_with_percent());
    assert!(!Pattern::new(b"%*").ends_with_percent());
}

/// The obvious exponential matcher, as the specification reads.
fn naive(p: &[u8], n: &[u8]) -> bool {
    match p.split_first() {
        None => n.is_empty(),
        Some((b'*', rest)) => (0..=n.len()).any(|i| naive(rest, &n[i..])),
        Some((b'%', rest)) => (0..=n.len())
            .take_while(|&i| i == 0 || n[i - 1] != b'/')
            .any(|i| naive(rest, &n[i..])),
        Some((&c, rest)) => n.first() == Some(&c) && naive(rest, &n[1..]),
    }
}

fn small(alphabet: &'static [u8], max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(proptest::sample::select(alphabet), 0..max)
}

proptest! {
    #[test]
    fn agrees_with_the_naive_matcher(p in small(b"ab/*%", 8), n in small(b"ab/", 10)) {
        prop_assert_eq!(Pattern::new(&p).matches(&n), naive(&p, &n));
    }

    #[test]
    fn below_is_exact(p in small(b"ab/*%", 8), prefix in small(b"ab/", 6), tail in small(b"ab/", 6)) {
        // If some continuation matches, the prefix may match below.
        let mut name = prefix.clone();
        name.extend_from_slice(&tail);
        if naive(&p, &name) {
            prop_assert!(Pattern::new(&p).may_match_below(&prefix));
        }
    }
}
