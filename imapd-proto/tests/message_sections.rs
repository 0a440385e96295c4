//! BODY[section] on corpus messages, every section form, exact bytes (RFC 3501 §6.4.5).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::fs;
use std::num::NonZeroU32;
use std::path::Path;

use imap_codec::imap_types::core::{AString, Vec1};
use imap_codec::imap_types::fetch::{Part, Section};
use imapd_proto::message::Message;
use test_case::test_case;

/// Builds a section from its IMAP spelling, e.g. `2.1.MIME` or `HEADER.FIELDS (To Cc)`.
fn section(spec: &str) -> Section<'static> {
    let (head, names) = match spec.split_once(" (") {
        Some((head, list)) => {
            let names: Vec<AString<'static>> = list
                .trim_end_matches(')')
                .split(' ')
                .map(|n| AString::try_from(n.to_string()).unwrap())
                .collect();
            (head, Some(Vec1::try_from(names).unwrap()))
        }
        None => (spec, None),
    };
    let mut numbers = Vec::new();
    let mut rest = head;
    while !rest.is_empty() {
        let (piece, tail) = rest.split_once('.').unwrap_or((rest, ""));
        match piece.parse::<u32>() {
            Ok(n) => {
                numbers.push(NonZeroU32::new(n).unwrap());
                rest = tail;
            }
            Err(_) => break,
        }
    }
    let part = (!numbers.is_empty()).then(|| Part(Vec1::try_from(numbers).unwrap()));
    match (rest, names) {
        ("", None) => Section::Part(part.unwrap()),
        ("HEADER", None) => Section::Header(part),
        ("TEXT", None) => Section::Text(part),
        ("MIME", None) => Section::Mime(part.unwrap()),
        ("HEADER.FIELDS", Some(n)) => Section::HeaderFields(part, n),
        ("HEADER.FIELDS.NOT", Some(n)) => Section::HeaderFieldsNot(part, n),
        other => panic!("bad section {other:?}"),
    }
}

fn fetch(name: &str, spec: &str) -> Option<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(format!("{name}.eml"));
    let bytes = fs::read(path).unwrap();
    let message = Message::parse(&bytes);
    message.section(&section(spec)).map(|c| c.into_owned())
}

const FWD_INNER_HEADER: &str = "From: Judy <judy@example.org>\r\n\
To: heidi@example.com\r\n\
Subject: Meeting notes\r\n\
Date: Sun, 7 Apr 2024 18:00:00 +0000\r\n\
Message-ID: <notes@example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n";

const FWD_INNER_TEXT: &str = "--inner\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n\
1. Budget\r\n\
2. Hiring\r\n\
--inner\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n\
<ol><li>Budget</li><li>Hiring</li></ol>\r\n\
--inner--\r\n";

#[test_case("HEADER.FIELDS (SUBJECT from)", Some("From: Heidi <heidi@example.com>\r\nSubject: Fwd: Meeting notes\r\n\r\n") ; "header fields in message order")]
#[test_case("HEADER.FIELDS (X-None)", Some("\r\n") ; "header fields none match")]
#[test_case("HEADER.FIELDS.NOT (from to subject date message-id content-type)", Some("MIME-Version: 1.0\r\n\r\n") ; "header fields not")]
#[test_case("1", Some("Forwarding the notes below.") ; "first part")]
#[test_case("1.MIME", Some("Content-Type: text/plain; charset=us-ascii\r\n\r\n") ; "first part mime")]
#[test_case("2.MIME", Some("Content-Type: message/rfc822\r\nContent-Description: Meeting notes\r\nContent-Disposition: attachment; filename=\"notes.eml\"\r\n\r\n") ; "message part mime")]
#[test_case("2", Some(&format!("{FWD_INNER_HEADER}{FWD_INNER_TEXT}")) ; "whole encapsulated message")]
#[test_case("2.HEADER", Some(FWD_INNER_HEADER) ; "encapsulated header")]
#[test_case("2.TEXT", Some(FWD_INNER_TEXT) ; "encapsulated text")]
#[test_case("2.HEADER.FIELDS (Subject)", Some("Subject: Meeting notes\r\n\r\n") ; "encapsulated header fields")]
#[test_case("2.HEADER.FIELDS.NOT (From To Subject Date Message-ID Content-Type)", Some("MIME-Version: 1.0\r\n\r\n") ; "encapsulated header fields not")]
#[test_case("2.1", Some("1. Budget\r\n2. Hiring") ; "encapsulated multipart child")]
#[test_case("2.2", Some("<ol><li>Budget</li><li>Hiring</li></ol>") ; "encapsulated second child")]
#[test_case("2.1.MIME", Some("Content-Type: text/plain; charset=utf-8\r\n\r\n") ; "encapsulated child mime")]
#[test_case("1.HEADER", None ; "header of a text part")]
#[test_case("1.TEXT", None ; "text of a text part")]
#[test_case("1.HEADER.FIELDS (From)", None ; "header fields of a text part")]
#[test_case("1.1", None ; "child of a text part")]
#[test_case("3", None ; "part past the end")]
#[test_case("2.3", None ; "encapsulated part past the end")]
#[test_case("2.1.1", None ; "child of an encapsulated text part")]
fn forwarded_multipart(spec: &str, expected: Option<&str>) {
    assert_eq!(
        fetch("rfc822-attachment", spec),
        expected.map(|e| e.as_bytes().to_vec()),
        "{spec}"
    );
}

#[test_case("1", Some("Delivery failed.") ; "text part")]
#[test_case("2", Some("From: Lena <lena@example.com>\r\nSubject: hello\r\n\r\nHello there.") ; "message part")]
#[test_case("2.1", Some("Hello there.") ; "non multipart encapsulated body is part 1")]
#[test_case("2.1.MIME", Some("From: Lena <lena@example.com>\r\nSubject: hello\r\n\r\n") ; "its mime header is the encapsulated header")]
#[test_case("2.HEADER", Some("From: Lena <lena@example.com>\r\nSubject: hello\r\n\r\n") ; "encapsulated header")]
#[test_case("2.TEXT", Some("Hello there.") ; "encapsulated text")]
#[test_case("2.HEADER.FIELDS.NOT (from)", Some("Subject: hello\r\n\r\n") ; "encapsulated fields not")]
#[test_case("2.2", None ; "no second encapsulated part")]
#[test_case("2.1.1", None ; "nothing below")]
#[test_case("TEXT", Some("--rpt\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n--rpt\r\nContent-Type: message/rfc822\r\n\r\nFrom: Lena <lena@example.com>\r\nSubject: hello\r\n\r\nHello there.\r\n--rpt--\r\n") ; "top text")]
#[test_case("HEADER.FIELDS (Content-Type)", Some("Content-Type: multipart/report; report-type=delivery-status; boundary=\"rpt\"\r\n\r\n") ; "top fields")]
fn bounce(spec: &str, expected: Option<&str>) {
    assert_eq!(
        fetch("rfc822-simple", spec),
        expected.map(|e| e.as_bytes().to_vec()),
        "{spec}"
    );
}

#[test_case("1", Some("Hi Bob,\r\n\r\nare you free for lunch on Thursday?\r\n\r\nAlice\r\n") ; "part 1 of a single part message is its body")]
#[test_case("TEXT", Some("Hi Bob,\r\n\r\nare you free for lunch on Thursday?\r\n\r\nAlice\r\n") ; "text")]
#[test_case("HEADER.FIELDS (Subject cc)", Some("Cc: \"Doe, John\" <john.doe@example.com>\r\nSubject: Lunch on\r\n Thursday?\r\n\r\n") ; "fields keep folding")]
#[test_case("HEADER.FIELDS.NOT (Return-Path Received From To Cc Subject Message-ID MIME-Version Content-Type Content-Transfer-Encoding)", Some("Date: Tue, 14 May 2024 11:11:58 +0200\r\n\r\n") ; "fields not drop folded received")]
#[test_case("1.HEADER", None ; "single part has no encapsulated header")]
#[test_case("2", None ; "no part 2")]
fn single_part(spec: &str, expected: Option<&str>) {
    assert_eq!(
        fetch("simple-text", spec),
        expected.map(|e| e.as_bytes().to_vec()),
        "{spec}"
    );
}

#[test_case("1.1", Some("See the picture below.") ; "alternative text")]
#[test_case("1.2.1", Some("<p>See the picture below.</p>\r\n<img src=\"cid:pic1@example.com\">") ; "related html")]
#[test_case("1.2.2.MIME", Some("Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <pic1@example.com>\r\nContent-Disposition: inline; filename=pic.png\r\n\r\n") ; "related image mime")]
#[test_case("1.2.2", Some("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==") ; "related image")]
#[test_case("2", Some("day,km\r\n1,12\r\n2,30") ; "attachment")]
#[test_case("1.MIME", Some("Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n") ; "multipart mime")]
#[test_case("1.2.3", None ; "past related")]
#[test_case("1.2.HEADER", None ; "header of a multipart")]
fn nested_multipart(spec: &str, expected: Option<&str>) {
    assert_eq!(
        fetch("nested", spec),
        expected.map(|e| e.as_bytes().to_vec()),
        "{spec}"
    );
}

#[test]
fn bare_lf_and_no_final_newline() {
    let bytes = b"Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\none\n--b\n\ntwo";
    let m = Message::parse(bytes);
    assert_eq!(
        m.header(),
        b"Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n"
    );
    assert_eq!(m.section(&section("1")).unwrap().as_ref(), b"one");
    assert_eq!(m.section(&section("2")).unwrap().as_ref(), b"two");
    assert_eq!(m.section(&section("2.MIME")).unwrap().as_ref(), b"\n");
    assert_eq!(
        m.section(&section("HEADER.FIELDS (subject)"))
            .unwrap()
            .as_ref(),
        b"Subject: x\n\r\n"
    );
}

#[test]
fn header_only_message() {
    let m = Message::parse(b"Subject: x\r\nTo: a@b");
    assert_eq!(m.header(), b"Subject: x\r\nTo: a@b");
    assert_eq!(m.text(), b"");
    assert_eq!(
        m.section(&section("HEADER.FIELDS (to)")).unwrap().as_ref(),
        b"To: a@b\r\n\r\n"
    );
    assert_eq!(
        imapd_proto::message::header_len(b"Subject: x\r\nTo: a@b"),
        None
    );
}
