//! The writing rules of mailbox-formats.md §2 ("APPEND writes ...") and notes/uw-c-client.md
//! §1.9 and §3.6 as tables, plus properties that hold for any message.

use proptest::prelude::*;
use test_case::test_case;

use super::LineEnding::{Crlf, Lf};
use super::*;

// mailbox-formats.md §2: CRLF becomes LF; a lone CR is kept; a CRLF file keeps CRLF; NUL bytes
// are stored as received; a final line end is always added (uw-c-client.md §1.9), then the one
// separator line (dmail-conventions.md §4).
#[test_case(b"A: b\n\nbody\n", Lf, b"A: b\n\nbody\n\n"; "LF stays LF")]
#[test_case(b"A: b\r\n\r\nbody\r\n", Lf, b"A: b\n\nbody\n\n"; "CRLF becomes LF")]
#[test_case(b"A: b\n\nbody\n", Crlf, b"A: b\r\n\r\nbody\r\n\r\n"; "LF becomes CRLF in a CRLF file")]
#[test_case(b"A: b\r\n\r\nbody\r\n", Crlf, b"A: b\r\n\r\nbody\r\n\r\n"; "CRLF file keeps CRLF")]
#[test_case(b"A: b\r\n\nx\r\ny\n", Lf, b"A: b\n\nx\ny\n\n"; "mixed endings")]
#[test_case(b"A: b\n\na\rb\n", Lf, b"A: b\n\na\rb\n\n"; "lone CR kept")]
#[test_case(b"A: b\n\na\rb\n", Crlf, b"A: b\r\n\r\na\rb\r\n\r\n"; "lone CR kept in CRLF file")]
#[test_case(b"A: b\n\na\r\r\n", Lf, b"A: b\n\na\r\n\n"; "only the CR before LF goes")]
#[test_case(b"A: b\n\nend\r", Lf, b"A: b\n\nend\r\n\n"; "CR at the very end is a lone CR")]
#[test_case(b"A: \0b\n\nx\0y\0\n", Lf, b"A: \0b\n\nx\0y\0\n\n"; "NUL kept")]
#[test_case(b"A: b\n\nbody", Lf, b"A: b\n\nbody\n\n"; "final line end added")]
#[test_case(b"A: b\r\n\r\nbody", Crlf, b"A: b\r\n\r\nbody\r\n\r\n"; "final CRLF added")]
#[test_case(b"Subject: x", Lf, b"Subject: x\n\n"; "header only without newline")]
#[test_case(b"", Lf, b"\n"; "empty message")]
#[test_case(b"\n", Lf, b"\n\n"; "just the header end")]
fn line_endings(message: &[u8], ending: LineEnding, expected: &[u8]) {
    assert_eq!(
        encode(message, ending, None)
            .bytes
            .escape_ascii()
            .to_string(),
        expected.escape_ascii().to_string()
    );
}

// uw-c-client.md §1.9: every line starting `From ` (case-sensitive), header or body, gets `>`;
// `>From` is not quoted again.
#[test_case(b"A: b\n\nFrom me\n", b"A: b\n\n>From me\n\n"; "body line")]
#[test_case(b"From x Sat Dec 26 09:37:48 1998\nA: b\n\nx\n", b">From x Sat Dec 26 09:37:48 1998\nA: b\n\nx\n\n"; "header line")]
#[test_case(b"A: b\n\n>From me\n", b"A: b\n\n>From me\n\n"; "already quoted")]
#[test_case(b"A: b\n\n>>From me\n", b"A: b\n\n>>From me\n\n"; "doubly quoted")]
#[test_case(b"A: b\n\nFrom\nFromage\nfrom me\n FROM x\n", b"A: b\n\nFrom\nFromage\nfrom me\n FROM x\n\n"; "not From space")]
#[test_case(b"A: b\r\n\r\nFrom me\r\n", b"A: b\n\n>From me\n\n"; "CRLF body line")]
#[test_case(b"A: b\n\nx\nFrom the end", b"A: b\n\nx\n>From the end\n\n"; "last line without newline")]
fn from_quoting(message: &[u8], expected: &[u8]) {
    assert_eq!(
        encode(message, Lf, None).bytes.escape_ascii().to_string(),
        expected.escape_ascii().to_string()
    );
}

// mailbox-formats.md §2 and uw-c-client.md §3.6 step 6: the six metadata headers, any case, in
// the header only, renamed X-Original-...; their continuation lines stay with them.
#[test_case(b"Status: RO\n", b"X-Original-Status: RO\n"; "Status")]
#[test_case(b"status: RO\n", b"X-Original-status: RO\n"; "lower case")]
#[test_case(b"STATUS: RO\n", b"X-Original-STATUS: RO\n"; "upper case")]
#[test_case(b"Status : RO\n", b"X-Original-Status : RO\n"; "blank before colon")]
#[test_case(b"X-Status: AF\n", b"X-Original-X-Status: AF\n"; "X-Status")]
#[test_case(b"x-keywords: $Junk\n", b"X-Original-x-keywords: $Junk\n"; "X-Keywords")]
#[test_case(b"X-UID: 5\n", b"X-Original-X-UID: 5\n"; "X-UID")]
#[test_case(b"X-IMAP: 0964139896 0000000009\n", b"X-Original-X-IMAP: 0964139896 0000000009\n"; "X-IMAP")]
#[test_case(b"X-IMAPbase: 964139896 9 $Junk\n", b"X-Original-X-IMAPbase: 964139896 9 $Junk\n"; "X-IMAPbase")]
#[test_case(b"X-IMAP: 1 2\n $Junk\n\tFoo\nSubject: s\n", b"X-Original-X-IMAP: 1 2\n $Junk\n\tFoo\nSubject: s\n"; "continuation lines")]
#[test_case(b"Subject: s\n Status: RO\n", b"Subject: s\n Status: RO\n"; "a continuation is not a field")]
#[test_case(b"X-UIDL: abc\nStatuses: x\nX-Status-Foo: y\nX-Original-Status: z\n", b"X-UIDL: abc\nStatuses: x\nX-Status-Foo: y\nX-Original-Status: z\n"; "similar names kept")]
#[test_case(b"Status RO\n", b"Status RO\n"; "no colon")]
fn header_renaming(header: &[u8], expected: &[u8]) {
    let mut message = header.to_vec();
    message.extend_from_slice(b"\nStatus: RO\nX-IMAP: body\n");
    let mut want = expected.to_vec();
    want.extend_from_slice(b"\nStatus: RO\nX-IMAP: body\n\n");
    assert_eq!(
        encode(&message, Lf, None).bytes.escape_ascii().to_string(),
        want.escape_ascii().to_string()
    );
}

#[test]
fn whitespace_line_does_not_end_the_header() {
    let s = encode(b"A: b\n \nStatus: RO\n\nbody\n", Lf, None);
    assert_eq!(s.bytes, b"A: b\n \nX-Original-Status: RO\n\nbody\n\n");
    assert_eq!(s.status_at, "A: b\n \nX-Original-Status: RO\n".len());
}

// The status block goes at the end of the header (mailbox-formats.md §2: "the message's header,
// the status block with X-UID, the body").
#[test_case(b"A: b\n\nbody\n", Lf, b"A: b\nS\n\nbody\n\n", 5; "before the blank line")]
#[test_case(b"A: b\r\n\r\nbody\r\n", Crlf, b"A: b\r\nS\r\n\r\nbody\r\n\r\n", 6; "CRLF")]
#[test_case(b"A: b", Lf, b"A: b\nS\n\n", 5; "header only")]
#[test_case(b"", Lf, b"S\n\n", 0; "empty message")]
#[test_case(b"\nbody\n", Lf, b"S\n\nbody\n\n", 0; "empty header")]
fn status_block_position(message: &[u8], ending: LineEnding, expected: &[u8], at: usize) {
    let block: &[u8] = match ending {
        Lf => b"S\n",
        Crlf => b"S\r\n",
    };
    let s = encode(message, ending, Some(block));
    assert_eq!(
        s.bytes.escape_ascii().to_string(),
        expected.escape_ascii().to_string()
    );
    assert_eq!(s.status_at, at);
}

// dmail-conventions.md §4: a From line starts the file or follows a blank line.
#[test_case(b"", 0, Lf, b""; "empty file")]
#[test_case(b"\n", 1, Lf, b""; "file is one line end")]
#[test_case(b"\r\n", 2, Crlf, b""; "file is one CRLF")]
#[test_case(b"x\n\n", 900, Lf, b""; "ends with blank line")]
#[test_case(b"\n\n", 2, Lf, b""; "two newlines")]
#[test_case(b"\n\r\n", 900, Crlf, b""; "ends with blank CRLF line")]
#[test_case(b"\n\r\n", 900, Lf, b""; "CRLF blank line in an LF file")]
#[test_case(b"xy\n", 900, Lf, b"\n"; "ends with newline")]
#[test_case(b"a\n", 2, Lf, b"\n"; "short file with one line")]
#[test_case(b"y\r\n", 900, Crlf, b"\r\n"; "ends with CRLF")]
#[test_case(b"x\r\r\n", 900, Lf, b"\n"; "CR before CRLF is content")]
#[test_case(b"xyz", 900, Lf, b"\n\n"; "no final newline")]
#[test_case(b"x", 1, Crlf, b"\r\n\r\n"; "no final CRLF")]
#[test_case(b"xy\r", 900, Lf, b"\n\n"; "ends with lone CR")]
fn separator(tail: &[u8], file_len: u64, ending: LineEnding, expected: &[u8]) {
    assert_eq!(separator_before(tail, file_len, ending), expected);
}

proptest! {
    #[test]
    fn no_stored_line_starts_from_space(message in proptest::collection::vec(
        prop_oneof![Just(b'F'), Just(b'r'), Just(b'o'), Just(b'm'), Just(b' '), Just(b'\n'),
            Just(b'\r'), Just(b':'), Just(b'>'), any::<u8>()], 0..200),
        crlf in any::<bool>()) {
        let ending = if crlf { Crlf } else { Lf };
        let s = encode(&message, ending, None);
        let eol = ending.as_bytes();
        prop_assert!(s.bytes.ends_with(eol));
        prop_assert!(!s.bytes.starts_with(b"From "));
        for (i, w) in s.bytes.windows(6).enumerate() {
            prop_assert!(!(w[0] == b'\n' && &w[1..] == b"From "), "From at {}", i + 1);
        }
        // A bare LF never appears in a CRLF file's output.
        if crlf {
            for (i, b) in s.bytes.iter().enumerate() {
                if *b == b'\n' {
                    prop_assert!(i > 0 && s.bytes[i - 1] == b'\r');
                }
            }
        }
    }

    #[test]
    fn status_block_is_only_an_insertion(message in proptest::collection::vec(
        prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), Just(b':')], 0..60)) {
        let plain = encode(&message, Lf, None);
        let with = encode(&message, Lf, Some(b"Status: O\n"));
        prop_assert_eq!(plain.status_at, with.status_at);
        let mut expected = plain.bytes.clone();
        expected.splice(plain.status_at..plain.status_at, b"Status: O\n".iter().copied());
        prop_assert_eq!(with.bytes, expected);
    }
}
