//! Tests of SEARCH: every key against exact rows, the decoders, the MIME walk, and properties
//! over arbitrary messages. Criteria come from real command text through imap-codec, so the
//! tests use the real grammar.

use dmail_store::civil::Civil;
use dmail_store::{Flags, InternalDate, KeywordSet};
use imap_codec::CommandCodec;
use imap_codec::decode::Decoder as _;
use imap_codec::imap_types::command::CommandBody;
use proptest::prelude::*;
use test_case::test_case;

use super::*;

fn keywords() -> KeywordTable {
    KeywordTable::new(["$Junk".to_owned(), "work".to_owned()])
}

/// Compiles the arguments of a SEARCH command (everything after `SEARCH `).
fn compile_args(args: &[u8], last_seq: u32, last_uid: Option<u32>) -> Result<Query, SearchError> {
    let mut line = b"a SEARCH ".to_vec();
    line.extend_from_slice(args);
    line.extend_from_slice(b"\r\n");
    let (_, cmd) = CommandCodec::default()
        .decode(&line)
        .unwrap_or_else(|e| panic!("{:?} does not parse: {e:?}", String::from_utf8_lossy(&line)));
    let CommandBody::Search {
        charset, criteria, ..
    } = cmd.body
    else {
        panic!("not a SEARCH");
    };
    Query::new(
        criteria.as_ref(),
        charset.as_ref(),
        &keywords(),
        last_seq,
        last_uid.and_then(Uid::new),
    )
}

fn query(args: &str) -> Query {
    compile_args(args.as_bytes(), 10, Some(100)).expect("compiles")
}

/// 2008-06-04 06:30:00 UTC.
fn arrival() -> i64 {
    Civil {
        year: 2008,
        month: 6,
        day: 4,
        hour: 6,
        minute: 30,
        second: 0,
    }
    .to_unix()
}

/// Sequence number 5, UID 42, \Seen \Flagged, keyword `work`, \Recent, 500 octets.
fn meta() -> MessageMeta {
    MessageMeta {
        uid: Uid::new(42).expect("non-zero"),
        flags: Flags {
            system: SystemFlags::SEEN | SystemFlags::FLAGGED,
            keywords: KeywordSet::EMPTY.with(1),
        },
        internal_date: Some(InternalDate {
            unix: arrival(),
            offset_minutes: 0,
        }),
        size: 500,
        recent: true,
    }
}

const MESSAGE: &[u8] = b"Date: Tue, 3 Jun 2008 23:30:00 -0700\r\n\
From: =?ISO-8859-1?Q?Andr=E9?= Pirard <pirard@example.org>\r\n\
To: Alice <alice@example.com>,\r\n\tCarol <carol@example.com>\r\n\
Cc: bob@example.com\r\n\
Subject: =?utf-8?B?SGVsbG8gV8O2cmxk?= again\r\n\
X-Empty:\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
The quick brown fox\r\njumps over the lazy dog.\r\n";

fn matches_with(args: &str, meta: &MessageMeta, bytes: &[u8]) -> bool {
    query(args).matches(&Candidate {
        seq: 5,
        meta,
        bytes: Some(bytes),
    })
}

fn matches(args: &str) -> bool {
    matches_with(args, &meta(), MESSAGE)
}

// RFC 3501 §6.4.4: flag keys, NEW = RECENT UNSEEN, OLD = NOT RECENT, ALL.
#[test_case("ALL", true)]
#[test_case("SEEN", true)]
#[test_case("UNSEEN", false)]
#[test_case("FLAGGED", true)]
#[test_case("UNFLAGGED", false)]
#[test_case("ANSWERED", false)]
#[test_case("UNANSWERED", true)]
#[test_case("DELETED", false)]
#[test_case("UNDELETED", true)]
#[test_case("DRAFT", false)]
#[test_case("UNDRAFT", true)]
#[test_case("RECENT", true)]
#[test_case("OLD", false)]
#[test_case("NEW", false; "new needs unseen")]
#[test_case("NOT SEEN", false)]
#[test_case("NOT NOT SEEN", true)]
#[test_case("OR DELETED SEEN", true)]
#[test_case("OR DELETED DRAFT", false)]
#[test_case("(SEEN FLAGGED)", true)]
#[test_case("(SEEN DRAFT)", false)]
#[test_case("SEEN FLAGGED RECENT", true; "top level is an and")]
#[test_case("SEEN DRAFT", false)]
fn flag_keys(args: &str, want: bool) {
    assert_eq!(matches(args), want);
}

#[test]
fn new_is_recent_and_unseen() {
    let mut m = meta();
    m.flags.system = SystemFlags::EMPTY;
    assert!(matches_with("NEW", &m, MESSAGE));
    assert!(!matches_with("OLD", &m, MESSAGE));
    m.recent = false;
    assert!(!matches_with("NEW", &m, MESSAGE));
    assert!(matches_with("OLD", &m, MESSAGE));
}

// RFC 3501 §6.4.4 KEYWORD / UNKEYWORD; names not in the table are set on no message.
#[test_case("KEYWORD work", true)]
#[test_case("KEYWORD WORK", true; "names compare case-insensitively")]
#[test_case("KEYWORD $Junk", false)]
#[test_case("KEYWORD never-defined", false)]
#[test_case("UNKEYWORD work", false)]
#[test_case("UNKEYWORD $junk", true)]
#[test_case("UNKEYWORD never-defined", true)]
fn keyword_keys(args: &str, want: bool) {
    assert_eq!(matches(args), want);
}

// RFC 3501 §6.4.4 LARGER / SMALLER: RFC822.SIZE strictly greater / smaller.
#[test_case("LARGER 499", true)]
#[test_case("LARGER 500", false)]
#[test_case("SMALLER 501", true)]
#[test_case("SMALLER 500", false)]
fn size_keys(args: &str, want: bool) {
    assert_eq!(matches(args), want);
}

// RFC 3501 §6.4.4 BEFORE / ON / SINCE: the INTERNALDATE's date, time ignored (here in UTC:
// 2008-06-04).
#[test_case("ON 4-Jun-2008", true)]
#[test_case("ON 3-Jun-2008", false)]
#[test_case("BEFORE 4-Jun-2008", false)]
#[test_case("BEFORE 5-Jun-2008", true)]
#[test_case("SINCE 4-Jun-2008", true)]
#[test_case("SINCE 5-Jun-2008", false)]
#[test_case("SINCE 1-Jan-2008 BEFORE 1-Jan-2009", true)]
fn internal_date_keys(args: &str, want: bool) {
    assert_eq!(matches(args), want);
}

#[test]
fn internal_date_uses_its_own_zone() {
    let mut m = meta();
    m.internal_date = Some(InternalDate {
        unix: arrival(),
        offset_minutes: -7 * 60,
    });
    assert!(matches_with("ON 3-Jun-2008", &m, MESSAGE));
    assert!(!matches_with("ON 4-Jun-2008", &m, MESSAGE));
    m.internal_date = None;
    assert!(matches_with("ON 1-Jan-1970", &m, MESSAGE));
}

// RFC 3501 §6.4.4 SENTBEFORE / SENTON / SENTSINCE: the Date: header's date as written
// (2008-06-03 in -0700, although that is 2008-06-04 in UTC).
#[test_case("SENTON 3-Jun-2008", true)]
#[test_case("SENTON 4-Jun-2008", false)]
#[test_case("SENTBEFORE 3-Jun-2008", false)]
#[test_case("SENTBEFORE 4-Jun-2008", true)]
#[test_case("SENTSINCE 3-Jun-2008", true)]
#[test_case("SENTSINCE 4-Jun-2008", false)]
fn sent_date_keys(args: &str, want: bool) {
    assert_eq!(matches(args), want);
}

#[test]
fn sent_date_falls_back_to_internal_date() {
    let no_date = b"Subject: x\r\n\r\nbody\r\n";
    assert!(matches_with("SENTON 4-Jun-2008", &meta(), no_date));
    let bad_date = b"Date: someday\r\n\r\nbody\r\n";
    assert!(matches_with("SENTON 4-Jun-2008", &meta(), bad_date));
}

// RFC 5322 §3.3 and the obsolete forms of §4.3.
#[test_case(b"Tue, 3 Jun 2008 23:30:00 -0700", Some((2008, 6, 3)))]
#[test_case(b"3 Jun 2008 23:30 +0000", Some((2008, 6, 3)); "no weekday")]
#[test_case(b"Tue,  3 JUN 08 23:30:00 PDT", Some((2008, 6, 3)); "two digit year")]
#[test_case(b"1 Jan 99 00:00 GMT", Some((1999, 1, 1)))]
#[test_case(b"1 Jan 108 00:00 GMT", Some((2008, 1, 1)); "three digit year")]
#[test_case(b"(Tuesday) 3 (the third) Jun 2008", Some((2008, 6, 3)); "comments")]
#[test_case(b"Tue Jun  3 23:30:00 2008", Some((2008, 6, 3)); "asctime order")]
#[test_case(b"3-Jun-2008", Some((2008, 6, 3)))]
#[test_case(b"\r\n 3 Jun\r\n 2008 10:00", Some((2008, 6, 3)); "folded")]
#[test_case(b"someday", None)]
#[test_case(b"", None)]
#[test_case(b"Jun", None)]
#[test_case(b"99 Jun 2008", None; "day out of range")]
fn header_dates(value: &[u8], want: Option<Ymd>) {
    assert_eq!(date::parse_header_date(value), want);
}

// RFC 3501 §6.4.4 FROM / TO / CC / BCC / SUBJECT / HEADER: substring of the decoded,
// unfolded field value, case-insensitively.
#[test_case("FROM pirard", true)]
#[test_case("FROM \"André\"", true; "encoded word decoded from iso-8859-1")]
#[test_case("FROM \"ANDRÉ\"", true; "non-ascii folds")]
#[test_case("FROM alice", false)]
#[test_case("TO carol", true; "folded continuation")]
#[test_case("TO \"alice@example.com>, carol\"", false; "the fold keeps its tab")]
#[test_case("CC BOB@EXAMPLE", true)]
#[test_case("BCC bob", false; "no such field")]
#[test_case("SUBJECT \"hello wörld again\"", true; "encoded word decoded from utf-8")]
#[test_case("SUBJECT SGVsbG8", false; "the encoded form is not searched")]
#[test_case("SUBJECT fox", false; "body is not the subject")]
#[test_case("HEADER Content-Type charset", true)]
#[test_case("HEADER content-TYPE TEXT/PLAIN", true)]
#[test_case("HEADER X-Empty \"\"", true; "empty string matches a present field")]
#[test_case("HEADER X-Missing \"\"", false; "empty string needs the field")]
#[test_case("HEADER Subject \"\"", true)]
#[test_case("HEADER X-Empty x", false)]
fn header_keys(args: &str, want: bool) {
    assert_eq!(matches(args), want);
}

// RFC 3501 §6.4.4 BODY (body text only) and TEXT (header and body).
#[test_case("BODY quick", true)]
#[test_case("BODY \"LAZY DOG\"", true)]
#[test_case("BODY \"fox jumps\"", false; "line break is not a space")]
#[test_case("BODY pirard", false; "header is not body")]
#[test_case("TEXT pirard", true)]
#[test_case("TEXT \"subject: hello\"", true; "field name and value")]
#[test_case("TEXT lazy", true)]
#[test_case("TEXT zebra", false)]
#[test_case("BODY \"\"", true)]
#[test_case("NOT BODY quick", false)]
fn text_keys(args: &str, want: bool) {
    assert_eq!(matches(args), want);
}

#[test]
fn eight_bit_strings_in_literals() {
    let m = meta();
    let c = Candidate {
        seq: 5,
        meta: &m,
        bytes: Some(MESSAGE),
    };
    let q = compile_args(
        "CHARSET UTF-8 SUBJECT {6}\r\nWÖRLD".as_bytes(),
        10,
        Some(100),
    );
    assert!(q.expect("compiles").matches(&c));
    let q = compile_args(b"CHARSET UTF-8 SUBJECT {2}\r\n\xff\xfe", 10, Some(100));
    assert!(matches!(q, Err(SearchError::Bad(_))));
    let q = compile_args(b"BODY {2}\r\n\xc3\xa9", 10, Some(100));
    assert!(q.is_ok(), "US-ASCII strings are read as UTF-8 when valid");
}

// RFC 3501 §6.4.4 CHARSET and §7.1 BADCHARSET.
#[test_case("CHARSET UTF-8 ALL", Ok(()))]
#[test_case("CHARSET utf-8 ALL", Ok(()))]
#[test_case("CHARSET US-ASCII ALL", Ok(()))]
#[test_case("CHARSET \"us-ascii\" ALL", Ok(()))]
#[test_case("ALL", Ok(()))]
#[test_case("CHARSET ISO-8859-1 ALL", Err(SearchError::BadCharset))]
#[test_case("CHARSET UTF-16 ALL", Err(SearchError::BadCharset))]
fn charsets(args: &str, want: Result<(), SearchError>) {
    assert_eq!(compile_args(args.as_bytes(), 0, None).map(|_| ()), want);
}

// RFC 3501 §9 sequence-set: `*` is the last message, `a:b` the same as `b:a`.
#[test_case("5", 5, true)]
#[test_case("1,3,5", 5, true)]
#[test_case("1:4", 5, false)]
#[test_case("2:7", 5, true)]
#[test_case("7:2", 5, true; "reversed range")]
#[test_case("*", 10, true)]
#[test_case("*", 9, false)]
#[test_case("8:*", 9, true)]
#[test_case("*:8", 9, true)]
#[test_case("UID 42", 1, true)]
#[test_case("UID 1:41,43", 1, false)]
#[test_case("UID 50:30", 1, true)]
#[test_case("UID 40:*", 1, true)]
#[test_case("UID *", 1, false; "star is the last uid, 100")]
#[test_case("NOT UID 42", 1, false)]
fn sequence_sets(args: &str, seq: u32, want: bool) {
    let m = meta();
    let c = Candidate {
        seq,
        meta: &m,
        bytes: None,
    };
    assert_eq!(query(args).matches(&c), want);
}

#[test]
fn uid_star_beyond_the_last_uid_is_the_last_message() {
    // `500:*` with the last UID 42 is `42:500`, so it holds the last message (RFC 3501 §6.4.8).
    let q = compile_args(b"UID 500:*", 5, Some(42)).expect("compiles");
    let m = meta();
    assert!(q.matches(&Candidate {
        seq: 5,
        meta: &m,
        bytes: None
    }));
}

#[test]
fn star_in_an_empty_mailbox_matches_nothing() {
    let m = meta();
    let c = Candidate {
        seq: 5,
        meta: &m,
        bytes: None,
    };
    for args in ["UID 1:*", "UID *", "1:*", "*"] {
        let q = compile_args(args.as_bytes(), 0, None).expect("compiles");
        assert!(!q.matches(&c), "{args}");
    }
}

#[test_case("ALL", Needs::Metadata)]
#[test_case("SEEN UID 1:* LARGER 4 SINCE 1-Jan-2000", Needs::Metadata)]
#[test_case("SUBJECT x", Needs::Header)]
#[test_case("SENTON 1-Jan-2000", Needs::Header)]
#[test_case("NOT FROM x", Needs::Header)]
#[test_case("OR SEEN HEADER X-A b", Needs::Header)]
#[test_case("SEEN (DRAFT OR SEEN BODY x)", Needs::Whole)]
#[test_case("NOT TEXT x", Needs::Whole)]
#[test_case("SUBJECT a BODY b", Needs::Whole)]
fn needs(args: &str, want: Needs) {
    assert_eq!(query(args).needs(), want);
}

#[test]
fn header_keys_work_on_the_header_block_alone() {
    let header_only = &MESSAGE[..memchr::memmem::find(MESSAGE, b"\r\n\r\n").expect("blank") + 2];
    assert!(matches_with("SUBJECT again", &meta(), header_only));
    assert!(matches_with("SENTON 3-Jun-2008", &meta(), header_only));
}

#[test]
fn field_names_are_single_words() {
    let msg = b"From someone Tue Jun  3 10:00:00 2008\r\nSubject : spaced\r\n\r\nx\r\n";
    assert!(!matches_with(
        "HEADER \"From someone Tue Jun  3 10\" 00",
        &meta(),
        msg
    ));
    assert!(!matches_with("FROM someone", &meta(), msg));
    assert!(
        matches_with("SUBJECT spaced", &meta(), msg),
        "obsolete blank before colon"
    );
}

#[test]
fn missing_bytes_are_an_empty_message() {
    let m = meta();
    let c = Candidate {
        seq: 5,
        meta: &m,
        bytes: None,
    };
    assert!(!query("SUBJECT x").matches(&c));
    assert!(query("NOT BODY x").matches(&c));
}

// RFC 2047 §4-§6: B and Q words, charsets, adjacent words, malformed words.
#[test_case(b"plain text", "plain text")]
#[test_case(b"  padded  ", "padded")]
#[test_case(b"=?iso-8859-1?q?caf=E9?=", "café"; "q latin1")]
#[test_case(b"=?ISO-8859-1?Q?a_b?=", "a b"; "q underscore")]
#[test_case(b"=?utf-8?b?w6k=?=", "é"; "b utf8")]
#[test_case(b"=?UTF-8?Q?=C3=A9t=C3=A9?=", "été"; "q utf8")]
#[test_case(b"=?windows-1252?Q?=80_and_=93q=94?=", "€ and \u{201c}q\u{201d}"; "q cp1252")]
#[test_case(b"=?utf-8?q?a?= =?utf-8?q?b?=", "ab"; "adjacent words joined")]
#[test_case(b"=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab"; "adjacent across a fold")]
#[test_case(b"=?utf-8?b?w6k=?= =?iso-8859-1?q?=E9?=", "éé"; "adjacent different charsets")]
#[test_case(b"=?utf-8?b?ww==?= =?utf-8?b?qQ==?=", "é"; "character split across words")]
#[test_case(b"x =?utf-8?q?a?= y", "x a y"; "blanks next to text kept")]
#[test_case(b"=?utf-8*en?q?a?=", "a"; "rfc 2231 language")]
#[test_case(b"=?utf-8?x?abc?=", "=?utf-8?x?abc?="; "unknown encoding raw")]
#[test_case(b"=?no-such-charset?q?abc?=", "=?no-such-charset?q?abc?="; "unknown charset raw")]
#[test_case(b"=?utf-8?b?!!!?=", "=?utf-8?b?!!!?="; "bad base64 raw")]
#[test_case(b"=?utf-8?q?a b?=", "=?utf-8?q?a b?="; "blank inside raw")]
#[test_case(b"=?utf-8?q?abc", "=?utf-8?q?abc"; "unterminated raw")]
#[test_case(b"=?", "=?")]
#[test_case(b"=??q?a?=", "=??q?a?="; "empty charset raw")]
#[test_case(b"M\xfcller", "Müller"; "raw latin1 falls back to windows-1252")]
#[test_case("Müller".as_bytes(), "Müller"; "raw utf8")]
#[test_case(b"=?utf-8?q?=ZZ?=", "=ZZ"; "bad q escape kept")]
fn rfc2047(raw: &[u8], want: &str) {
    assert_eq!(decode::header_value(raw), want);
}

// RFC 2045 §6.7 quoted-printable.
#[test_case(b"caf=E9", b"caf\xe9")]
#[test_case(b"caf=e9", b"caf\xe9"; "lowercase hex")]
#[test_case(b"soft=\r\nbreak", b"softbreak")]
#[test_case(b"soft=\nbreak", b"softbreak"; "lf only")]
#[test_case(b"soft=  \r\nbreak", b"softbreak"; "blanks after the equals")]
#[test_case(b"hard\r\nbreak", b"hard\r\nbreak")]
#[test_case(b"a=3D=3Db", b"a==b")]
#[test_case(b"stray = sign", b"stray = sign")]
#[test_case(b"bad=G1", b"bad=G1")]
#[test_case(b"end=", b"end")]
#[test_case(b"end=4", b"end=4")]
fn quoted_printable(input: &[u8], want: &[u8]) {
    assert_eq!(decode::quoted_printable(input), want);
}

// RFC 2045 §6.8 base64, leniently.
#[test_case(b"aGVsbG8=", b"hello")]
#[test_case(b"aGVs\r\nbG8=\r\n", b"hello"; "line breaks")]
#[test_case(b"aGVsbG8", b"hello"; "missing padding")]
#[test_case(b"aG!V*s bG8=", b"hello"; "junk skipped")]
#[test_case(b"aGk=aGk=", b"hihi"; "glued blocks")]
#[test_case(b"", b"")]
#[test_case(b"a", b""; "single sextet")]
fn base64(input: &[u8], want: &[u8]) {
    assert_eq!(decode::base64(input), want);
}

const MULTIPART: &[u8] = b"From: a@example.com\r\n\
Subject: parts\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
\r\n\
preamble is not searched: kangaroo\r\n\
--outer\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Gr=FC=DFe aus K=F6ln, soft=\r\nwrapped\r\n\
--outer\r\n\
Content-Type: multipart/alternative; boundary=inner\r\n\
\r\n\
--inner\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
PGI+YmFzZTY0IHdvbWJhdDwvYj4=\r\n\
--inner--\r\n\
--outer\r\n\
Content-Type: image/png\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
cGxhdHlwdXM=\r\n\
--outer\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
Subject: =?utf-8?q?inner_=C3=A9chidna?=\r\n\
Content-Type: text/plain\r\n\
\r\n\
the embedded koala\r\n\
--outer--\r\n\
epilogue is not searched: wallaby\r\n";

// RFC 2046 §5.1 multipart, §5.2.1 message/rfc822; RFC 2045 §6 transfer encodings.
#[test_case("BODY \"grüße aus köln\"", true; "qp latin1 part")]
#[test_case("BODY softwrapped", true; "soft line break")]
#[test_case("BODY wombat", true; "base64 html in nested multipart")]
#[test_case("BODY koala", true; "embedded message body")]
#[test_case("BODY \"échidna\"", true; "embedded message header")]
#[test_case("SUBJECT \"échidna\"", false; "embedded header is not the top header")]
#[test_case("BODY platypus", false; "image parts are not text")]
#[test_case("BODY kangaroo", false; "preamble")]
#[test_case("BODY wallaby", false; "epilogue")]
#[test_case("BODY boundary", false; "mime headers of the top level are not body")]
#[test_case("TEXT boundary", true)]
#[test_case("TEXT parts", true)]
fn multipart_bodies(args: &str, want: bool) {
    assert_eq!(matches_with(args, &meta(), MULTIPART), want);
}

#[test]
fn lf_only_messages_are_read_too() {
    let lf: Vec<u8> = MULTIPART.iter().copied().filter(|b| *b != b'\r').collect();
    for args in [
        "BODY wombat",
        "BODY koala",
        "BODY softwrapped",
        "SUBJECT parts",
    ] {
        assert!(matches_with(args, &meta(), &lf), "{args}");
    }
}

#[test]
fn digest_parts_default_to_messages() {
    let msg = b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n\
Subject: digested\r\n\r\nbody of the first\r\n--d--\r\n";
    assert!(matches_with("BODY digested", &meta(), msg));
    assert!(matches_with("BODY \"body of the first\"", &meta(), msg));
}

#[test]
fn unterminated_and_boundaryless_multiparts() {
    let msg = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nno close delimiter\r\n";
    assert!(matches_with("BODY \"no close\"", &meta(), msg));
    let msg = b"Content-Type: multipart/mixed\r\n\r\nno boundary at all\r\n";
    assert!(matches_with("BODY \"boundary at all\"", &meta(), msg));
    let msg = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--bb\r\n\r\nnot ours\r\n";
    assert!(!matches_with("BODY ours", &meta(), msg));
}

#[test]
fn deep_nesting_is_cut_off_without_panicking() {
    let mut msg = Vec::new();
    for i in 0..200 {
        msg.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n").as_bytes(),
        );
    }
    msg.extend_from_slice(b"\r\nburied\r\n");
    assert!(!matches_with("BODY buried", &meta(), &msg));
    let mut msg = Vec::new();
    for _ in 0..200 {
        msg.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    msg.extend_from_slice(b"\r\nburied\r\n");
    assert!(!matches_with("BODY buried", &meta(), &msg));
}

#[test]
fn modseq_is_refused() {
    let r = compile_args(b"MODSEQ 5", 1, Some(1));
    assert!(matches!(r, Err(SearchError::Bad(_))));
}

/// Keys of every kind, for the properties below.
const KEYS: &[&str] = &[
    "ALL",
    "ANSWERED",
    "BCC x",
    "BEFORE 1-Jan-2000",
    "BODY a",
    "CC \"\"",
    "DELETED",
    "DRAFT",
    "FLAGGED",
    "FROM e",
    "HEADER Content-Type text",
    "KEYWORD work",
    "LARGER 100",
    "NEW",
    "OLD",
    "ON 1-Jan-1970",
    "OR SEEN TEXT b",
    "RECENT",
    "SEEN",
    "SENTBEFORE 1-Jan-2000",
    "SENTON 1-Jan-2000",
    "SENTSINCE 1-Jan-2000",
    "SINCE 1-Jan-2000",
    "SMALLER 100",
    "SUBJECT =",
    "TEXT \"?\"",
    "TO \"ü\"",
    "UID 1:*",
    "UNANSWERED",
    "UNDELETED",
    "UNDRAFT",
    "UNFLAGGED",
    "UNKEYWORD work",
    "UNSEEN",
    "2:4",
    "(SEEN BODY =)",
];

/// Bytes that look a little like mail, so the MIME paths get exercised.
fn mailish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"\r\n".to_vec()),
        Just(b"\r\n\r\n".to_vec()),
        Just(b"Content-Type: multipart/mixed; boundary=b\r\n".to_vec()),
        Just(b"Content-Type: message/rfc822\r\n".to_vec()),
        Just(b"Content-Type: text/plain; charset=iso-8859-1\r\n".to_vec()),
        Just(b"Content-Transfer-Encoding: base64\r\n".to_vec()),
        Just(b"Content-Transfer-Encoding: quoted-printable\r\n".to_vec()),
        Just(b"--b\r\n".to_vec()),
        Just(b"--b--\r\n".to_vec()),
        Just(b"Date: 1 Jan 2000\r\n".to_vec()),
        Just(b"Subject: =?utf-8?b?".to_vec()),
        Just(b"?=".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..40),
    ];
    proptest::collection::vec(piece, 0..30).prop_map(|v| v.concat())
}

fn arbitrary_meta() -> impl Strategy<Value = (MessageMeta, u32)> {
    (
        1..200u32,
        any::<u8>(),
        any::<u32>(),
        any::<i64>(),
        any::<i16>(),
        0..300u64,
        any::<bool>(),
        1..12u32,
    )
        .prop_map(|(uid, sys, kw, unix, off, size, recent, seq)| {
            let meta = MessageMeta {
                uid: Uid::new(uid).unwrap_or(Uid::MIN),
                flags: Flags {
                    system: SystemFlags::from_bits(sys),
                    keywords: KeywordSet::from_bits(kw),
                },
                internal_date: Some(InternalDate {
                    unix: unix / 4,
                    offset_minutes: off,
                }),
                size,
                recent,
            };
            (meta, seq)
        })
}

proptest! {
    #[test]
    fn arbitrary_messages_never_panic(
        bytes in prop_oneof![mailish(), proptest::collection::vec(any::<u8>(), 0..2000)],
        (meta, seq) in arbitrary_meta(),
    ) {
        for key in KEYS {
            let q = query(key);
            let c = Candidate { seq, meta: &meta, bytes: Some(&bytes) };
            let _ = q.matches(&c);
        }
    }

    #[test]
    fn not_is_the_negation(
        key in proptest::sample::select(KEYS),
        bytes in mailish(),
        (meta, seq) in arbitrary_meta(),
    ) {
        let c = Candidate { seq, meta: &meta, bytes: Some(&bytes) };
        let plain = query(key).matches(&c);
        let negated = query(&format!("NOT {key}")).matches(&c);
        prop_assert_eq!(negated, !plain);
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..500)) {
        let _ = decode::header_value(&bytes);
        let _ = decode::quoted_printable(&bytes);
        let _ = decode::base64(&bytes);
        let _ = date::parse_header_date(&bytes);
        let _ = mime::body_texts(&bytes);
    }
}
