//! Properties of the message layer: no input makes it panic, part ranges stay inside the
//! message, and leaf sections are exactly the bytes between a part's header and the next
//! boundary.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::num::NonZeroU32;

use imap_codec::imap_types::core::{AString, Vec1};
use imap_codec::imap_types::fetch::{Part, Section};
use imapd_proto::message::Message;
use imapd_proto::message::mime::{Kind, Part as MimePart};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Node {
    Leaf(String),
    Multipart(Vec<Node>),
    Message(Box<Node>),
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = "[a-z \r\n]{0,30}".prop_map(Node::Leaf);
    leaf.prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Node::Multipart),
            inner.prop_map(|n| Node::Message(Box::new(n))),
        ]
    })
}

/// Renders `node` as a part (header block and body); boundaries are unique by counter.
fn render(node: &Node, counter: &mut u32, out: &mut Vec<u8>) {
    match node {
        Node::Leaf(body) => {
            out.extend_from_slice(b"Content-Type: text/plain\r\n\r\n");
            out.extend_from_slice(body.as_bytes());
        }
        Node::Multipart(children) => {
            *counter += 1;
            let boundary = format!("=_b{counter}");
            out.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\npre\r\n")
                    .as_bytes(),
            );
            for child in children {
                out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
                render(child, counter, out);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(format!("--{boundary}--\r\nepilogue").as_bytes());
        }
        Node::Message(inner) => {
            out.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n");
            render(inner, counter, out);
        }
    }
}

fn leaves(node: &Node, prefix: &[u32], out: &mut Vec<(Vec<u32>, String)>) {
    match node {
        Node::Leaf(body) => out.push((prefix.to_vec(), body.clone())),
        Node::Multipart(children) => {
            for (i, c) in children.iter().enumerate() {
                leaves(c, &[prefix, &[i as u32 + 1]].concat(), out);
            }
        }
        Node::Message(inner) => message_leaves(inner, prefix, out),
    }
}

/// Leaves of a message whose root is `root`: a multipart's children, or the body as part 1.
fn message_leaves(root: &Node, prefix: &[u32], out: &mut Vec<(Vec<u32>, String)>) {
    match root {
        Node::Multipart(_) => leaves(root, prefix, out),
        _ => leaves(root, &[prefix, &[1]].concat(), out),
    }
}

fn path(numbers: &[u32]) -> Part {
    Part(
        Vec1::try_from(
            numbers
                .iter()
                .map(|&n| NonZeroU32::new(n).unwrap())
                .collect::<Vec<_>>(),
        )
        .unwrap(),
    )
}

fn check_ranges(part: &MimePart, lo: usize, hi: usize) {
    assert!(lo <= part.start && part.start <= part.body_start);
    assert!(part.body_start <= part.end && part.end <= hi);
    match &part.kind {
        Kind::Leaf => {}
        Kind::Multipart(children) => {
            for c in children {
                check_ranges(c, part.body_start, part.end);
            }
        }
        Kind::Message(nested) => check_ranges(nested, part.body_start, part.end),
    }
}

fn exercise(bytes: &[u8]) {
    let m = Message::parse(bytes);
    check_ranges(m.root(), 0, bytes.len());
    let mut out = Vec::new();
    m.write_envelope(&mut out);
    m.write_body_structure(&mut out, true);
    m.write_body_structure(&mut out, false);
    let names = Vec1::from(AString::try_from("subject").unwrap());
    for p in [&[1][..], &[2], &[1, 1], &[2, 1], &[1, 2, 1], &[u32::MAX]] {
        let _ = m.section(&Section::Part(path(p)));
        let _ = m.section(&Section::Mime(path(p)));
        let _ = m.section(&Section::Header(Some(path(p))));
        let _ = m.section(&Section::Text(Some(path(p))));
        let _ = m.section(&Section::HeaderFields(Some(path(p)), names.clone()));
        let _ = m.section(&Section::HeaderFieldsNot(Some(path(p)), names.clone()));
    }
    let _ = m.section(&Section::Header(None));
    let _ = m.section(&Section::HeaderFields(None, names));
    let _ = imapd_proto::message::header_len(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        exercise(&bytes);
    }

    #[test]
    fn mime_shaped_noise_never_panics(
        pieces in prop::collection::vec(
            prop_oneof![
                Just(&b"Content-Type: multipart/mixed; boundary=x\r\n"[..]),
                Just(&b"Content-Type: message/rfc822\r\n"[..]),
                Just(&b"Content-Type: multipart/digest; boundary=\"x\"\r\n"[..]),
                Just(&b"From: a <b@c>, g: d@e;\r\n"[..]),
                Just(&b"Content-Disposition: attachment; filename*0*=x'y'%4; filename*1=z\r\n"[..]),
                Just(&b"--x\r\n"[..]),
                Just(&b"--x--\r\n"[..]),
                Just(&b"\r\n"[..]),
                Just(&b"\n"[..]),
                Just(&b"\0"[..]),
                Just(&b" folded\r\n"[..]),
                Just(&b"text\xff\r\n"[..]),
            ],
            0..60,
        )
    ) {
        exercise(&pieces.concat());
    }

    #[test]
    fn generated_trees(root in node()) {
        let mut bytes = b"Subject: generated\r\nMIME-Version: 1.0\r\n".to_vec();
        render(&root, &mut 0, &mut bytes);
        exercise(&bytes);
        let m = Message::parse(&bytes);
        let mut expected = Vec::new();
        message_leaves(&root, &[], &mut expected);
        for (numbers, body) in expected {
            let got = m.section(&Section::Part(path(&numbers)));
            prop_assert_eq!(got.as_deref(), Some(body.as_bytes()), "part {:?}", numbers);
            let mime = m.section(&Section::Mime(path(&numbers)));
            prop_assert!(mime.is_some_and(|h| h.ends_with(b"\r\n\r\n")));
        }
    }
}

#[test]
fn deep_nesting_is_bounded() {
    let mut bytes = Vec::new();
    for i in 0..200 {
        bytes.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n")
                .as_bytes(),
        );
    }
    for _ in 0..200 {
        bytes.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    exercise(&bytes);
    let mut out = Vec::new();
    Message::parse(&bytes).write_body_structure(&mut out, true);
    assert!(out.windows(14).any(|w| w == b"\"OCTET-STREAM\""));
}

#[test]
fn many_parts_are_bounded() {
    let mut bytes = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
    for _ in 0..30_000 {
        bytes.extend_from_slice(b"--b\r\n\r\nx\r\n");
    }
    let m = Message::parse(&bytes);
    let Kind::Multipart(children) = &m.root().kind else {
        panic!("not a multipart")
    };
    assert!(children.len() < imapd_proto::message::mime::MAX_PARTS);
}
