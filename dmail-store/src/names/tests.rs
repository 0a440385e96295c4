//! Mailbox name rules (mailbox-formats.md §4; notes/uw-c-client.md §4.1; RFC 3501 §5.1,
//! §5.1.3) as tables, plus properties of the modified UTF-7 codec.

use dmail_conf::Platform;
use proptest::prelude::*;
use test_case::test_case;

use super::*;

fn utf7_err(offset: usize, kind: Utf7ErrorKind) -> NameError {
    NameError::Utf7(Utf7Error { offset, kind })
}

// mailbox-formats.md §4 "Refused": every rule, with the hostile names of the brief.
#[test_case(b"", NameError::Empty; "empty")]
#[test_case(b"/etc/passwd", NameError::Absolute; "absolute path")]
#[test_case(b"/", NameError::Absolute; "slash alone")]
#[test_case(b"~root/x", NameError::HomeRelative; "other user's home")]
#[test_case(b"~/x", NameError::HomeRelative; "own home")]
#[test_case(b"#news.comp", NameError::Namespace; "namespace prefix")]
#[test_case(b"#mhinbox", NameError::Namespace; "mh driver")]
#[test_case(b"{imap.example.com}INBOX", NameError::Remote; "remote mailbox")]
#[test_case(b"../x", NameError::DotDotComponent; "leading dot-dot")]
#[test_case(b"a/../../x", NameError::DotDotComponent; "inner dot-dot")]
#[test_case(b"a/..", NameError::DotDotComponent; "trailing dot-dot")]
#[test_case(b"..", NameError::DotDotComponent; "dot-dot alone")]
#[test_case(b"a/./b", NameError::DotComponent; "dot component")]
#[test_case(b".", NameError::DotComponent; "dot alone")]
#[test_case(b"a//b", NameError::EmptyComponent; "double slash")]
#[test_case(b"a//", NameError::EmptyComponent; "two trailing slashes")]
#[test_case(b"a\0b", NameError::ControlCharacter { offset: 1 }; "NUL")]
#[test_case(b"a\rb", NameError::ControlCharacter { offset: 1 }; "CR")]
#[test_case(b"ab\n", NameError::ControlCharacter { offset: 2 }; "LF")]
#[test_case(b"\tx", NameError::ControlCharacter { offset: 0 }; "tab")]
#[test_case(b"a\x7f", NameError::ControlCharacter { offset: 1 }; "DEL")]
#[test_case(b"caf\xc3\xa9", NameError::NonAscii { offset: 3 }; "raw UTF-8")]
#[test_case(b"\xff", NameError::NonAscii { offset: 0 }; "8-bit byte")]
// Decided: hidden and lock names are refused (folders.rs never lists them).
#[test_case(b".mailboxlist", NameError::Hidden; "subscription file")]
#[test_case(b".imapd/index", NameError::Hidden; "private directory")]
#[test_case(b"a/.x", NameError::Hidden; "hidden below")]
#[test_case(b"Sent.lock", NameError::LockName; "dot-lock")]
#[test_case(b"a/SENT.LOCK/b", NameError::LockName; "dot-lock any case, any level")]
// RFC 3501 §5.1.3, strictly.
#[test_case(b"&", utf7_err(0, Utf7ErrorKind::Unterminated); "lone ampersand")]
#[test_case(b"a&Jjo", utf7_err(1, Utf7ErrorKind::Unterminated); "unterminated shift")]
#[test_case(b"&Jjo!-", utf7_err(4, Utf7ErrorKind::BadBase64); "bad base64 character")]
#[test_case(b"&Jj/o-", utf7_err(3, Utf7ErrorKind::BadBase64); "slash is not modified base64")]
#[test_case(b"&A-", utf7_err(0, Utf7ErrorKind::BadLength); "six bits")]
#[test_case(b"&AA-", utf7_err(0, Utf7ErrorKind::OddBytes); "one byte")]
#[test_case(b"&AOkA-", utf7_err(0, Utf7ErrorKind::OddBytes); "three bytes")]
#[test_case(b"&AOl-", utf7_err(0, Utf7ErrorKind::NonZeroPadding); "non-zero padding")]
#[test_case(b"&2D0-", utf7_err(0, Utf7ErrorKind::UnpairedSurrogate); "lone high surrogate")]
#[test_case(b"x&3AA-", utf7_err(1, Utf7ErrorKind::UnpairedSurrogate); "lone low surrogate")]
#[test_case(b"&2D0-&3gA-", utf7_err(0, Utf7ErrorKind::UnpairedSurrogate); "surrogates split over two shifts")]
#[test_case(b"&AGE-", utf7_err(0, Utf7ErrorKind::EncodesPrintable); "encoded letter")]
#[test_case(b"&ACY-", utf7_err(0, Utf7ErrorKind::EncodesPrintable); "encoded ampersand")]
#[test_case(b"&AOk-&AOk-", utf7_err(5, Utf7ErrorKind::AdjacentShifts); "adjacent shifts")]
#[test_case(b"&AAA-", NameError::ControlCharacter { offset: 0 }; "encoded NUL")]
#[test_case(b"ab&AOk-&AAo-", utf7_err(7, Utf7ErrorKind::AdjacentShifts); "adjacency checked before content")]
#[test_case(b"ab&AOkACg-", NameError::ControlCharacter { offset: 2 }; "encoded LF after a letter")]
#[test_case(b"a&AH8-", NameError::ControlCharacter { offset: 1 }; "encoded DEL")]
#[test_case(b"&AIA-", NameError::ControlCharacter { offset: 0 }; "encoded C1 control")]
fn refused(input: &[u8], expected: NameError) {
    assert_eq!(MailboxName::parse(input), Err(expected));
}

#[test]
fn over_long_names_are_refused() {
    // §4: "names whose file path would exceed the system limit".
    let long = vec![b'a'; 5000];
    assert_eq!(
        MailboxName::parse(&long),
        Err(NameError::TooLong { len: 5000 })
    );
    let limit = vec![b'a'; MAX_PATH_BYTES];
    assert_eq!(
        MailboxName::parse(&limit),
        Err(NameError::TooLong {
            len: MAX_PATH_BYTES
        })
    );
    let component = vec![b'b'; MAX_COMPONENT_BYTES + 1];
    assert_eq!(
        MailboxName::parse(&component),
        Err(NameError::ComponentTooLong { len: 256 })
    );
    let ok = vec![b'b'; MAX_COMPONENT_BYTES];
    assert!(MailboxName::parse(&ok).is_ok());
    let deep = vec!["d"; MAX_DEPTH + 1].join("/");
    assert_eq!(MailboxName::parse(deep.as_bytes()), Err(NameError::TooDeep));
    let deepest = vec!["d"; MAX_DEPTH].join("/");
    assert_eq!(
        MailboxName::parse(deepest.as_bytes()).map(|n| n.depth()),
        Ok(MAX_DEPTH)
    );
}

// notes §4.1: INBOX in any case and only as the whole name; `inbox/x` is an ordinary name.
#[test_case(b"INBOX", "INBOX", true, false; "upper")]
#[test_case(b"inbox", "INBOX", true, false; "lower")]
#[test_case(b"InBoX", "INBOX", true, false; "mixed")]
#[test_case(b"INBOX/", "INBOX", false, true; "trailing slash is a directory named INBOX")]
#[test_case(b"inbox/x", "inbox/x", false, false; "below inbox keeps its case")]
#[test_case(b"INBOXES", "INBOXES", false, false; "longer name")]
#[test_case(b"Sent", "Sent", false, false; "plain")]
#[test_case(b"a/", "a", false, true; "directory intent")]
#[test_case(b"Work/2000/", "Work/2000", false, true; "nested directory intent")]
#[test_case(b"Tom &- Jerry", "Tom &- Jerry", false, false; "escaped ampersand")]
#[test_case(b"mail/&U,BTFw-/&ZeVnLIqe-", "mail/&U,BTFw-/&ZeVnLIqe-", false, false; "RFC 3501 example")]
#[test_case(b"&2D3eAA-", "&2D3eAA-", false, false; "surrogate pair")]
#[test_case(b"a b%c*", "a b%c*", false, false; "spaces and wildcard bytes are legal")]
#[test_case(b"x.lockx", "x.lockx", false, false; "lock not at the end")]
fn accepted(input: &[u8], as_str: &str, inbox: bool, directory: bool) {
    let name = MailboxName::parse(input).unwrap();
    assert_eq!(
        (name.as_str(), name.is_inbox(), name.is_directory_intent()),
        (as_str, inbox, directory)
    );
}

#[test_case("mail/&U,BTFw-/&ZeVnLIqe-", "mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}"; "RFC 3501 example")]
#[test_case("R&AOk-pertoire", "R\u{e9}pertoire"; "latin")]
#[test_case("&AOkA6Q-", "\u{e9}\u{e9}"; "two characters in one shift")]
#[test_case("Tom &- Jerry", "Tom & Jerry"; "ampersand")]
#[test_case("&2D3eAA-", "\u{1f600}"; "astral")]
fn decodes(encoded: &str, utf8: &str) {
    let name = MailboxName::parse(encoded.as_bytes()).unwrap();
    assert_eq!(name.to_utf8(), utf8);
    assert_eq!(MailboxName::from_utf8(utf8).unwrap(), name);
    assert_eq!(encode_modified_utf7(utf8), encoded);
}

#[test]
fn parents_and_below() {
    let n = MailboxName::parse(b"a/b/c").unwrap();
    assert_eq!(n.parent().unwrap().as_str(), "a/b");
    assert_eq!(n.parent().unwrap().parent().unwrap().as_str(), "a");
    assert_eq!(n.parent().unwrap().parent().unwrap().parent(), None);
    let a = MailboxName::parse(b"a").unwrap();
    assert!(n.is_below(&a));
    assert!(!n.is_below(&n));
    assert!(!MailboxName::parse(b"ab/c").unwrap().is_below(&a));
    assert_eq!(n.components().collect::<Vec<_>>(), ["a", "b", "c"]);
}

#[test]
fn display_is_the_client_form_without_the_trailing_slash() {
    let n = MailboxName::parse(b"R&AOk-/").unwrap();
    assert_eq!(n.to_string(), "R&AOk-");
    assert_eq!(format!("{n:?}"), "MailboxName(\"R&AOk-\", directory)");
}

// NT file names (dmail-conventions §10: NT rules selected by Platform, tested on Linux).
#[test_case(b"a\\..\\b", Some(1); "backslash")]
#[test_case(b"C:x", Some(1); "drive colon")]
#[test_case(b"a/b*", Some(3); "star")]
#[test_case(b"a/CON", Some(2); "device")]
#[test_case(b"nul.txt", Some(0); "device with extension")]
#[test_case(b"COM1", Some(0); "numbered device")]
#[test_case(b"x/trail.", Some(2); "trailing dot")]
#[test_case(b"trail ", Some(0); "trailing space")]
#[test_case(b"COM0", None; "COM0 is not a device")]
#[test_case(b"CONSOLE", None; "longer than a device")]
#[test_case(b"Work/2000", None; "plain")]
#[test_case(b"inbox", None; "INBOX")]
fn nt_names(input: &[u8], bad_offset: Option<usize>) {
    let name = MailboxName::parse(input).unwrap();
    assert_eq!(name.check_platform(Platform::Unix), Ok(()));
    assert_eq!(
        name.check_platform(Platform::Nt),
        match bad_offset {
            Some(offset) => Err(NameError::NotPortable { offset }),
            None => Ok(()),
        }
    );
}

/// Bytes biased towards the interesting ones for modified UTF-7.
fn utf7ish() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        Just(b'&'),
        Just(b'-'),
        Just(b'/'),
        Just(b','),
        Just(b'+'),
        Just(b'.'),
        b'A'..=b'Z',
        b'a'..=b'z',
        b'0'..=b'9',
        any::<u8>(),
    ];
    proptest::collection::vec(byte, 0..40)
}

proptest! {
    // RFC 3501 §5.1.3: every Unicode string has a modified UTF-7 form that decodes back.
    #[test]
    fn encode_then_decode_round_trips(text in any::<String>()) {
        let encoded = encode_modified_utf7(&text);
        prop_assert!(encoded.bytes().all(utf7::is_printable_ascii));
        prop_assert_eq!(decode_modified_utf7(encoded.as_bytes()), Ok(text));
    }

    // Strictness: what the decoder accepts is exactly the encoder's output (one spelling each).
    #[test]
    fn decoding_accepts_only_canonical_forms(bytes in utf7ish()) {
        if let Ok(text) = decode_modified_utf7(&bytes) {
            prop_assert_eq!(encode_modified_utf7(&text).into_bytes(), bytes);
        }
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_modified_utf7(&bytes);
    }

    // Whatever is accepted cannot leave the folder root when joined to it.
    #[test]
    fn accepted_names_stay_below_the_root(bytes in utf7ish()) {
        if let Ok(name) = MailboxName::parse(&bytes) {
            prop_assert!(!name.as_str().starts_with('/'));
            for c in name.components() {
                prop_assert!(!c.is_empty() && c != "." && c != "..");
                prop_assert!(!c.starts_with('.'));
            }
            prop_assert!(name.as_bytes().iter().all(|&b| utf7::is_printable_ascii(b)));
        }
    }

    #[test]
    fn from_utf8_accepts_ordinary_text(text in "[a-zA-Z0-9 \u{e0}-\u{ff}\u{4e00}-\u{4e20}]{1,30}") {
        prop_assume!(!text.eq_ignore_ascii_case("inbox"));
        let name = MailboxName::from_utf8(&text).unwrap();
        prop_assert_eq!(name.to_utf8(), text);
    }
}
