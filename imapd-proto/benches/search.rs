//! SEARCH BODY over a 10,000-message, ~100 MB mailbox held in memory: plain single parts,
//! multipart/alternative with quoted-printable and base64 text, and base64 attachments.

use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use dmail_store::{Flags, KeywordTable, Uid, store::MessageMeta};
use imap_codec::CommandCodec;
use imap_codec::decode::Decoder;
use imap_codec::imap_types::command::CommandBody;
use imapd_proto::search::{Candidate, Query};

const MESSAGES: u32 = 10_000;
const TARGET_SIZE: usize = 10_000;

/// A small deterministic generator, so every run searches the same mailbox.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

const WORDS: &[&str] = &[
    "the",
    "mailbox",
    "server",
    "message",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "Köln",
    "Grüße",
    "meeting",
    "tomorrow",
    "report",
    "quarterly",
    "numbers",
    "please",
    "review",
    "attached",
    "thanks",
    "regards",
    "schedule",
    "project",
    "deadline",
];

fn prose(rng: &mut Lcg, len: usize, needle: bool) -> String {
    let mut s = String::with_capacity(len + 80);
    let mut col = 0;
    while s.len() < len {
        let w = WORDS[(rng.next() as usize) % WORDS.len()];
        s.push_str(w);
        col += w.len() + 1;
        if col > 70 {
            s.push_str("\r\n");
            col = 0;
        } else {
            s.push(' ');
        }
    }
    if needle {
        s.push_str("\r\nthe Needle is here\r\n");
    }
    s
}

fn wrap76(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 38);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && i % 76 == 0 {
            out.push_str("\r\n");
        }
        out.push(c);
    }
    out
}

fn b64(bytes: &[u8]) -> String {
    wrap76(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn qp(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 10);
    for b in s.bytes() {
        if b.is_ascii() && b != b'=' {
            out.push(b as char);
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    out
}

fn message(rng: &mut Lcg, i: u32) -> Vec<u8> {
    let needle = i.is_multiple_of(50);
    let mut m = format!(
        "From: Sender {i} <s{i}@example.com>\r\nTo: rcpt@example.org\r\n\
         Subject: message number {i}\r\nDate: Tue, 3 Jun 2008 10:00:00 +0000\r\n\
         Message-ID: <{i}@example.com>\r\nMIME-Version: 1.0\r\n"
    );
    match i % 4 {
        0 | 1 => {
            m.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
            m.push_str(&prose(rng, TARGET_SIZE, needle));
        }
        2 => {
            m.push_str("Content-Type: multipart/alternative; boundary=\"=_alt\"\r\n\r\n");
            m.push_str("--=_alt\r\nContent-Type: text/plain; charset=utf-8\r\n");
            m.push_str("Content-Transfer-Encoding: quoted-printable\r\n\r\n");
            m.push_str(&qp(&prose(rng, TARGET_SIZE / 2, needle)));
            m.push_str("\r\n--=_alt\r\nContent-Type: text/html; charset=utf-8\r\n");
            m.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
            m.push_str(&b64(prose(rng, TARGET_SIZE / 3, needle).as_bytes()));
            m.push_str("\r\n--=_alt--\r\n");
        }
        _ => {
            m.push_str("Content-Type: multipart/mixed; boundary=\"=_mix\"\r\n\r\n");
            m.push_str("--=_mix\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n");
            m.push_str(&prose(rng, TARGET_SIZE / 4, needle).replace(['ö', 'ü', 'ß'], "o"));
            m.push_str("\r\n--=_mix\r\nContent-Type: application/pdf\r\n");
            m.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
            let blob: Vec<u8> = (0..TARGET_SIZE / 2).map(|_| rng.next() as u8).collect();
            m.push_str(&b64(&blob));
            m.push_str("\r\n--=_mix--\r\n");
        }
    }
    m.into_bytes()
}

fn bench(c: &mut Criterion) {
    let mut rng = Lcg(7);
    let corpus: Vec<(MessageMeta, Vec<u8>)> = (1..=MESSAGES)
        .map(|i| {
            let bytes = message(&mut rng, i);
            let meta = MessageMeta {
                uid: Uid::new(i).unwrap_or(Uid::MIN),
                flags: Flags::default(),
                internal_date: None,
                size: bytes.len() as u64,
                recent: false,
            };
            (meta, bytes)
        })
        .collect();
    let total: usize = corpus.iter().map(|(_, b)| b.len()).sum();
    eprintln!("corpus: {MESSAGES} messages, {total} bytes");

    let Ok((_, cmd)) = CommandCodec::default().decode(b"a SEARCH CHARSET UTF-8 BODY needle\r\n")
    else {
        panic!("the command does not parse");
    };
    let CommandBody::Search {
        charset, criteria, ..
    } = cmd.body
    else {
        panic!("not a SEARCH");
    };
    let Ok(query) = Query::new(
        criteria.as_ref(),
        charset.as_ref(),
        &KeywordTable::default(),
        MESSAGES,
        Uid::new(MESSAGES),
    ) else {
        panic!("the query does not compile");
    };

    let run = || {
        corpus
            .iter()
            .zip(1..)
            .filter(|((meta, bytes), seq)| {
                query.matches(&Candidate {
                    seq: *seq,
                    meta,
                    bytes: Some(bytes),
                })
            })
            .count()
    };
    let hits = run();
    eprintln!("hits: {hits}");
    assert_eq!(hits, (MESSAGES / 50) as usize);

    let mut group = c.benchmark_group("search");
    group.sample_size(10);
    group.bench_function("body_10k_messages", |b| b.iter(run));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
