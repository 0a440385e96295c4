//! Tests of the command framer: exact events for byte-level input, citing the RFC rule each
//! table row checks.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use imap_codec::CommandCodec;
use imap_codec::decode::Decoder;
use imap_codec::imap_types::auth::{AuthMechanism, AuthenticateData};
use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::imap_types::core::Tag;
use imap_codec::imap_types::fetch::{Macro, MessageDataItemName};
use imap_codec::imap_types::secret::Secret;
use imapd_proto::framer::{BadReason, Event, FatalReason, Framer, Limits, Mode, Rejection};
use proptest::prelude::*;
use test_case::test_case;

/// Pulls every event the framer can produce from what it holds.
fn drain(framer: &mut Framer) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(event) = framer.next() {
        events.push(event);
    }
    events
}

/// A before-login framer fed `bytes` in one push, with all its events.
fn events_of(bytes: &[u8]) -> Vec<Event> {
    let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    framer.push(bytes);
    drain(&mut framer)
}

fn tag(t: &str) -> Option<Tag<'static>> {
    Some(Tag::try_from(t.to_owned()).unwrap())
}

fn command(tag: &str, body: CommandBody<'static>) -> Event {
    Event::Command(Command::new(tag.to_owned(), body).unwrap())
}

// ---------------------------------------------------------------------------------------------
// Decoding (RFC 3501 §6)

#[test_case(b"a1 LOGIN user pass\r\n",
    command("a1", CommandBody::login("user", "pass").unwrap()) ; "RFC 3501 6.2.3 LOGIN")]
#[test_case(b"a2 SELECT INBOX\r\n",
    command("a2", CommandBody::select("INBOX").unwrap()) ; "RFC 3501 6.3.1 SELECT")]
#[test_case(b"a3 UID FETCH 1:* FLAGS\r\n",
    command("a3", CommandBody::fetch("1:*", vec![MessageDataItemName::Flags], true).unwrap())
    ; "RFC 3501 6.4.8 UID FETCH")]
#[test_case(b"a4 FETCH 2 FAST\r\n",
    command("a4", CommandBody::fetch("2", Macro::Fast, false).unwrap()) ; "RFC 3501 6.4.5 FETCH macro")]
#[test_case(b"a5 noop\r\n", command("a5", CommandBody::Noop) ; "RFC 3501 6.1.2 NOOP any case")]
#[test_case(b"a6 STARTTLS\r\n", command("a6", CommandBody::StartTLS) ; "RFC 3501 6.2.1 STARTTLS")]
#[test_case(b"a7 AUTHENTICATE PLAIN\r\n",
    command("a7", CommandBody::authenticate(AuthMechanism::Plain)) ; "RFC 3501 6.2.2 AUTHENTICATE")]
#[test_case(b"a8 IDLE\r\n", command("a8", CommandBody::Idle) ; "RFC 2177 IDLE")]
fn decodes(input: &[u8], expected: Event) {
    assert_eq!(events_of(input), vec![expected]);
}

/// Commands whose decoding must not depend on how the bytes arrive.
const TRANSCRIPTS: &[&[u8]] = &[
    b"a1 LOGIN user pass\r\n",
    b"a2 SELECT INBOX\r\n",
    b"a3 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n",
    b"a4 LOGIN {4}\r\nuser {4}\r\npass\r\n",
    b"a5 LOGIN {4+}\r\nuser {4+}\r\npass\r\na6 NOOP\r\n",
    b"a7 FROB\r\na8 NOOP\r\n",
    b"a9 APPEND INBOX {9000}\r\nb1 NOOP\r\n",
    b"b2 LOGIN user pass\nb3 NOOP\r\n",
];

/// Pushes `input` cut at `cuts`, draining after each push.
fn events_split(input: &[u8], cuts: &[usize]) -> Vec<Event> {
    let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    let mut events = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(start, input.len());
        framer.push(&input[start..cut]);
        events.extend(drain(&mut framer));
        start = cut;
    }
    events
}

#[test]
fn split_at_every_byte_boundary_decodes_identically() {
    for input in TRANSCRIPTS {
        let whole = events_of(input);
        assert!(!whole.is_empty());
        for split in 0..=input.len() {
            assert_eq!(
                events_split(input, &[split]),
                whole,
                "split at {split} of {input:?}"
            );
        }
        // One byte at a time.
        let every: Vec<usize> = (1..input.len()).collect();
        assert_eq!(events_split(input, &every), whole, "byte by byte {input:?}");
    }
}

proptest! {
    #[test]
    fn any_split_points_decode_identically(
        which in 0..TRANSCRIPTS.len(),
        mut cuts in proptest::collection::vec(0usize..200, 0..12),
    ) {
        let input = TRANSCRIPTS[which];
        cuts.sort_unstable();
        prop_assert_eq!(events_split(input, &cuts), events_of(input));
    }
}

// ---------------------------------------------------------------------------------------------
// Literals (RFC 3501 §2.2.2, §4.3, §7.5; RFC 7888)

#[test]
fn synchronising_literal_needs_continuation_first() {
    // RFC 3501 §7.5: the server answers "{4}" with "+" and only then does the client send.
    let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    framer.push(b"a LOGIN {4}\r\n");
    assert_eq!(
        framer.next(),
        Some(Event::NeedContinuation {
            tag: tag("a").unwrap()
        })
    );
    assert_eq!(framer.next(), None);
    framer.push(b"user {4}\r\n");
    assert_eq!(
        framer.next(),
        Some(Event::NeedContinuation {
            tag: tag("a").unwrap()
        })
    );
    assert_eq!(framer.next(), None);
    framer.push(b"pass\r\n");
    let Some(Event::Command(cmd)) = framer.next() else {
        panic!("no command")
    };
    assert_eq!(cmd.tag, tag("a").unwrap());
    let CommandBody::Login { username, password } = cmd.body else {
        panic!("not LOGIN")
    };
    assert_eq!(username.as_ref(), b"user");
    assert_eq!(password.declassify().as_ref(), b"pass");
    assert_eq!(framer.next(), None);
    assert!(framer.is_empty_after_command());
}

#[test]
fn literal_bytes_are_never_commands() {
    // RFC 3501 §4.3: literal data is octets, even when it looks like a command.
    let events = events_of(b"a LOGIN {8}\r\nb LOGOUT {4}\r\npass\r\n");
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[0],
        Event::NeedContinuation {
            tag: tag("a").unwrap()
        }
    );
    let Event::Command(cmd) = &events[2] else {
        panic!("{events:?}")
    };
    assert_eq!(cmd.tag, tag("a").unwrap());
    assert_eq!(cmd.name(), "LOGIN");
}

#[test]
fn zero_length_literal() {
    // RFC 3501 §4.3: "Even if the octet count is 0, a client ... MUST wait" for "+".
    let events = events_of(b"a LOGIN {0}\r\n {4}\r\npass\r\n");
    assert_eq!(
        events[0],
        Event::NeedContinuation {
            tag: tag("a").unwrap()
        }
    );
    assert!(matches!(&events[2], Event::Command(c) if c.name() == "LOGIN"));
}

#[test]
fn literal_plus_needs_no_continuation() {
    // RFC 7888 §3: "{4+}" is sent without waiting; the server sends no "+".
    let events = events_of(b"a LOGIN {4+}\r\nuser {4+}\r\npass\r\n");
    assert_eq!(events.len(), 1, "{events:?}");
    let Event::Command(cmd) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(cmd.name(), "LOGIN");
}

#[test]
fn synchronising_literal_over_cap_is_rejected_unread() {
    // Before login the literal cap is 8192: the client gets BAD instead of "+", so it never
    // sends the literal, and the next line is a command.
    let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    framer.push(b"a APPEND INBOX {100000000}\r\n");
    assert_eq!(
        framer.next(),
        Some(Event::Rejected {
            tag: tag("a"),
            reason: Rejection::LiteralTooLarge {
                length: 100_000_000,
                limit: 8192
            },
        })
    );
    assert_eq!(framer.buffered_len(), 0);
    framer.push(b"b NOOP\r\n");
    assert_eq!(framer.next(), Some(command("b", CommandBody::Noop)));
}

#[test]
fn literal_cap_counts_all_literals_of_a_command() {
    let events = events_of(b"a LOGIN {5000}\r\n");
    assert_eq!(
        events,
        vec![Event::NeedContinuation {
            tag: tag("a").unwrap()
        }]
    );
    let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    framer.push(b"a LOGIN {5000}\r\n");
    assert!(matches!(
        framer.next(),
        Some(Event::NeedContinuation { .. })
    ));
    framer.push(&[b'x'; 5000]);
    framer.push(b" {5000}\r\nb NOOP\r\n");
    assert_eq!(
        drain(&mut framer),
        vec![
            Event::Rejected {
                tag: tag("a"),
                reason: Rejection::LiteralTooLarge {
                    length: 5000,
                    limit: 8192
                },
            },
            command("b", CommandBody::Noop),
        ]
    );
}

#[test]
fn literal_cap_rises_after_login() {
    let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    framer.push(b"a LOGIN user pass\r\nb APPEND INBOX {100000}\r\n");
    assert!(matches!(framer.next(), Some(Event::Command(_))));
    framer.set_limits(Limits::AFTER_LOGIN_DEFAULT);
    assert_eq!(
        framer.next(),
        Some(Event::NeedContinuation {
            tag: tag("b").unwrap()
        })
    );
}

#[test]
fn non_synchronising_literal_over_cap_is_fatal() {
    // RFC 7888 §4: the client does not wait, so the server cannot refuse the literal; it
    // closes the connection instead of reading 100 MB.
    let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    framer.push(b"a APPEND INBOX {100000000+}\r\nxxxx");
    assert_eq!(
        framer.next(),
        Some(Event::Fatal {
            reason: FatalReason::NonSyncLiteralTooLarge {
                length: 100_000_000,
                limit: 8192
            },
        })
    );
    assert_eq!(framer.buffered_len(), 0);
    framer.push(b"b NOOP\r\n");
    assert_eq!(framer.next(), None);
    assert_eq!(framer.buffered_len(), 0);
}

#[test]
fn literal_plus_within_cap_is_read_even_if_command_is_bad() {
    // The literal is part of the bad command's framing; its bytes are not a command.
    assert_eq!(
        events_of(b"a FROB {8+}\r\nb NOOP\r\n\r\nc NOOP\r\n"),
        vec![
            Event::Bad {
                tag: tag("a"),
                reason: BadReason::Malformed
            },
            command("c", CommandBody::Noop),
        ]
    );
}

#[test]
fn synchronising_literal_of_malformed_command_is_not_accepted() {
    // No "+" for a command that is already wrong: BAD, and the literal is never read.
    assert_eq!(
        events_of(b"a FROB {4}\r\nb NOOP\r\n"),
        vec![
            Event::Bad {
                tag: tag("a"),
                reason: BadReason::Malformed
            },
            command("b", CommandBody::Noop),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Line limits (dmail-conventions §2: 8192 before login, imapd_max_line after)

/// A NOOP-like line of exactly `len` bytes, CRLF included: `a NOOP` padded with spaces is not
/// valid, so pad the tag instead.
fn line_of(len: usize) -> Vec<u8> {
    let mut line = vec![b'a'; len - "  NOOP\r\n".len() + 1];
    line.extend_from_slice(b" NOOP\r\n");
    assert_eq!(line.len(), len);
    line
}

#[test]
fn line_of_8192_bytes_is_accepted_before_login() {
    let events = events_of(&line_of(8192));
    assert!(
        matches!(&events[..], [Event::Command(c)] if c.name() == "NOOP"),
        "{events:?}"
    );
}

#[test]
fn line_of_8193_bytes_is_rejected_before_login() {
    let mut input = line_of(8193);
    input.extend_from_slice(b"b NOOP\r\n");
    let events = events_of(&input);
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(
        &events[0],
        Event::Rejected {
            tag: Some(_),
            reason: Rejection::LineTooLong { limit: 8192 }
        }
    ));
    assert_eq!(events[1], command("b", CommandBody::Noop));
}

#[test]
fn line_of_8193_bytes_is_accepted_after_login() {
    let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    framer.push(b"a LOGIN user pass\r\n");
    framer.push(&line_of(8193));
    assert!(matches!(framer.next(), Some(Event::Command(c)) if c.name() == "LOGIN"));
    framer.set_limits(Limits::AFTER_LOGIN_DEFAULT);
    assert!(matches!(framer.next(), Some(Event::Command(c)) if c.name() == "NOOP"));
}

#[test]
fn ten_megabyte_line_before_login_is_one_rejection_in_constant_memory() {
    let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    let chunk = vec![b'x'; 64 * 1024];
    let mut events = Vec::new();
    framer.push(b"a1 LOGIN ");
    for _ in 0..160 {
        framer.push(&chunk);
        events.extend(drain(&mut framer));
        // The pushed chunk is consumed; only the capped command buffer remains.
        assert!(
            framer.buffered_len() <= 8192 + 8192 + 1,
            "{}",
            framer.buffered_len()
        );
    }
    // The line ends announcing a literal: it is not read (no "+" was sent).
    framer.push(b" {5}\r\na2 NOOP\r\n");
    events.extend(drain(&mut framer));
    assert_eq!(
        events,
        vec![
            Event::Rejected {
                tag: tag("a1"),
                reason: Rejection::LineTooLong { limit: 8192 }
            },
            command("a2", CommandBody::Noop),
        ]
    );
}

#[test]
fn line_limit_counts_all_lines_of_a_command() {
    // Three 3000-byte lines joined by literals: 9000 line bytes > 8192.
    let mut input = b"a LOGIN {1+}\r\nx".to_vec();
    input.extend(vec![b'y'; 3000]);
    input.extend_from_slice(b" {1+}\r\nx");
    input.extend(vec![b'z'; 3000]);
    input.extend_from_slice(b" {1+}\r\nx");
    input.extend(vec![b'w'; 3000]);
    input.extend_from_slice(b"\r\nb NOOP\r\n");
    assert_eq!(
        events_of(&input),
        vec![
            Event::Rejected {
                tag: tag("a"),
                reason: Rejection::LineTooLong { limit: 8192 }
            },
            command("b", CommandBody::Noop),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed input (RFC 3501 §7.1.3 BAD)

#[test_case(b"a1 FROB\r\nb NOOP\r\n", tag("a1"), BadReason::Malformed ; "unknown command")]
#[test_case(b"a1 SELECT\r\nb NOOP\r\n", tag("a1"), BadReason::Malformed ; "missing argument")]
#[test_case(b"a1 NOOP extra\r\nb NOOP\r\n", tag("a1"), BadReason::Malformed ; "trailing garbage")]
#[test_case(b"garbage\r\nb NOOP\r\n", None, BadReason::Malformed ; "no tag")]
#[test_case(b"\r\nb NOOP\r\n", None, BadReason::EmptyLine ; "empty line")]
#[test_case(b"a1 NOOP\nb NOOP\r\n", tag("a1"), BadReason::BareLineFeed ; "RFC 3501 2.2 bare LF")]
#[test_case(b"a1 LOGIN {4}\nb NOOP\r\n", tag("a1"), BadReason::BareLineFeed
    ; "bare LF after a literal announcement: literal not read")]
#[test_case(b"a1 LOGIN {4+}\nuser\r\nb NOOP\r\n", tag("a1"), BadReason::BareLineFeed
    ; "bare LF after LITERAL+: literal read and dropped")]
fn bad_then_next_command_decodes(input: &[u8], tag: Option<Tag<'static>>, reason: BadReason) {
    assert_eq!(
        events_of(input),
        vec![Event::Bad { tag, reason }, command("b", CommandBody::Noop)]
    );
}

#[test]
fn bare_lf_is_never_a_line_end_for_the_codec() {
    // Guards against `quirk_crlf_relaxed` being switched on by feature unification.
    assert!(
        CommandCodec::default()
            .decode(b"a LOGIN user pass\n")
            .is_err()
    );
}

// ---------------------------------------------------------------------------------------------
// AUTHENTICATE (RFC 3501 §6.2.2) and IDLE (RFC 2177)

#[test]
fn authenticate_data_lines_and_cancel() {
    let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    framer.push(b"a AUTHENTICATE PLAIN\r\nAHVzZXIAcGFzcw==\r\n");
    assert_eq!(
        framer.next(),
        Some(command(
            "a",
            CommandBody::authenticate(AuthMechanism::Plain)
        ))
    );
    framer.set_mode(Mode::AuthenticateData);
    assert_eq!(
        framer.next(),
        Some(Event::AuthenticateData(AuthenticateData::Continue(
            Secret::new(b"\0user\0pass".to_vec().into())
        )))
    );
    assert_eq!(framer.next(), None);
    framer.push(b"*\r\n");
    assert_eq!(
        framer.next(),
        Some(Event::AuthenticateData(AuthenticateData::Cancel))
    );
    framer.push(b"not base64!\r\n{4}\r\n{4+}\r\nxxxx\r\n");
    assert_eq!(
        drain(&mut framer),
        vec![
            Event::Bad {
                tag: None,
                reason: BadReason::Malformed
            },
            Event::Bad {
                tag: None,
                reason: BadReason::UnexpectedLiteral
            },
            Event::Bad {
                tag: None,
                reason: BadReason::UnexpectedLiteral
            },
        ]
    );
    framer.set_mode(Mode::Command);
    framer.push(b"b NOOP\r\n");
    assert_eq!(framer.next(), Some(command("b", CommandBody::Noop)));
}

#[test_case(b"DONE\r\n", Event::IdleDone ; "RFC 2177 DONE")]
#[test_case(b"done\r\n", Event::IdleDone ; "RFC 2177 DONE any case")]
#[test_case(b"a NOOP\r\n", Event::Bad { tag: None, reason: BadReason::Malformed } ; "not DONE")]
#[test_case(b"DONE\n", Event::Bad { tag: None, reason: BadReason::BareLineFeed } ; "DONE bare LF")]
fn idle_done(input: &[u8], expected: Event) {
    let mut framer = Framer::new(Limits::AFTER_LOGIN_DEFAULT);
    framer.push(b"a IDLE\r\n");
    assert_eq!(framer.next(), Some(command("a", CommandBody::Idle)));
    framer.set_mode(Mode::IdleDone);
    framer.push(input);
    assert_eq!(drain(&mut framer), vec![expected]);
}

// ---------------------------------------------------------------------------------------------
// STARTTLS (RFC 3501 §6.2.1; CVE-2011-0411)

#[test_case(b"a STARTTLS\r\n", true ; "nothing pipelined")]
#[test_case(b"a STARTTLS\r\nb LOGIN evil pw\r\n", false ; "whole command pipelined")]
#[test_case(b"a STARTTLS\r\nb SEL", false ; "partial command pipelined")]
fn starttls_pipelining(input: &[u8], empty: bool) {
    let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    framer.push(input);
    assert_eq!(framer.next(), Some(command("a", CommandBody::StartTLS)));
    assert_eq!(framer.is_empty_after_command(), empty);
}

// ---------------------------------------------------------------------------------------------
// Robustness

fn arbitrary_mode() -> impl Strategy<Value = Mode> {
    prop_oneof![
        Just(Mode::Command),
        Just(Mode::AuthenticateData),
        Just(Mode::IdleDone)
    ]
}

/// Pieces of IMAP input, valid and not, that random input is built from, so that it reaches
/// commands, literals of both kinds, limits and bare LFs often.
const PIECES: &[&[u8]] = &[
    b"a1 ",
    b"b ",
    b"LOGIN ",
    b"NOOP",
    b"SELECT INBOX",
    b"APPEND INBOX ",
    b"user ",
    b"pass",
    b"{4}\r\n",
    b"{4+}\r\n",
    b"{0}\r\n",
    b"{99+}\r\n",
    b"{99}\r\n",
    b"{4294967296}\r\n",
    b"\r\n",
    b"\n",
    b"\r",
    b"DONE",
    b"*",
    b"AHVzZXIAcGFzcw==",
    b" ",
    b"{",
    b"}",
    b"+",
];

fn imap_ish() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            3 => proptest::sample::select(PIECES).prop_map(<[u8]>::to_vec),
            1 => proptest::collection::vec(any::<u8>(), 0..8),
        ],
        0..40,
    )
    .prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(
        chunks in proptest::collection::vec(
            (imap_ish(), arbitrary_mode(), 1usize..64, 0usize..200),
            0..20,
        ),
    ) {
        let mut framer = Framer::new(Limits { line: 40, literal: 30 });
        for (chunk, mode, line, literal) in chunks {
            framer.push(&chunk);
            while let Some(event) = framer.next() {
                if matches!(event, Event::Fatal { .. }) {
                    prop_assert_eq!(framer.next(), None);
                }
                let limits = framer.limits();
                prop_assert!(framer.buffered_len() <= chunk.len() + limits.line.max(64) + limits.literal.max(200) + 1);
            }
            prop_assert!(framer.buffered_len() <= 64 + 200 + 1);
            framer.set_mode(mode);
            framer.set_limits(Limits { line, literal });
        }
    }

    #[test]
    fn arbitrary_text_commands_never_panic(s in "[a-zA-Z0-9 (){}+*\\[\\]<>.\"\\\\\r\n-]{0,200}") {
        let mut framer = Framer::new(Limits::AFTER_LOGIN_DEFAULT);
        framer.push(s.as_bytes());
        let _ = drain(&mut framer);
    }
}

#[test_case(b"\r\n", Event::AuthenticateData(AuthenticateData::Continue(Secret::new(b"".to_vec().into())))
    ; "RFC 3501 6.2.2 empty response")]
#[test_case(b"dGVzdA==\r\n", Event::AuthenticateData(AuthenticateData::Continue(Secret::new(b"test".to_vec().into())))
    ; "RFC 3501 6.2.2 base64 response")]
#[test_case(b"*\r\n", Event::AuthenticateData(AuthenticateData::Cancel) ; "RFC 3501 6.2.2 cancel")]
#[test_case(b"dGVzdA==\n", Event::Bad { tag: None, reason: BadReason::BareLineFeed } ; "bare LF")]
#[test_case(b"dGVzdA=\r\n", Event::Bad { tag: None, reason: BadReason::Malformed } ; "bad padding")]
fn authenticate_data(input: &[u8], expected: Event) {
    let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    framer.set_mode(Mode::AuthenticateData);
    framer.push(input);
    assert_eq!(drain(&mut framer), vec![expected]);
}

#[test]
fn debug_output_redacts_passwords() {
    // imap-types' `Secret` shows its value in debug builds; `Event`'s `Debug` must not.
    let events = events_of(b"a LOGIN user s3cr3t\r\nb AUTHENTICATE PLAIN AHVzZXIAczNjcjN0\r\n");
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(!format!("{events:?}").contains("s3cr3t"));
    assert!(!format!("{events:?}").contains("AHVzZXIAczNjcjN0"));
    assert!(!format!("{events:?}").contains("115, 51, 99")); // b"s3c" as a byte list
    let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    framer.set_mode(Mode::AuthenticateData);
    framer.push(b"AHVzZXIAczNjcjN0\r\n"); // "\0user\0s3cr3t"
    assert!(!format!("{:?}", drain(&mut framer)).contains("s3cr3t"));
    // Nor does the framer's, with a password half read.
    framer.set_mode(Mode::Command);
    framer.push(b"c LOGIN user s3cr3t");
    assert_eq!(framer.next(), None);
    assert!(!format!("{framer:?}").contains("115, 51, 99"));
}

#[test]
fn limits_set_mid_command_apply_to_the_next_one() {
    let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    framer.push(b"a LOGIN {4}\r\n");
    assert!(matches!(
        framer.next(),
        Some(Event::NeedContinuation { .. })
    ));
    framer.set_limits(Limits {
        line: 10,
        literal: 0,
    });
    framer.push(b"user pass\r\nb NOOP\r\n");
    assert!(matches!(framer.next(), Some(Event::Command(c)) if c.name() == "LOGIN"));
    assert!(matches!(
        framer.next(),
        Some(Event::Command(c)) if c.name() == "NOOP"
    ));
    framer.push(b"c SELECT INBOX\r\n");
    assert!(matches!(
        framer.next(),
        Some(Event::Rejected {
            reason: Rejection::LineTooLong { limit: 10 },
            ..
        })
    ));
}
