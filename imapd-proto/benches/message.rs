//! Parse + BODYSTRUCTURE of a 25 MB message whose bulk is a base64 attachment, and of one
//! whose bulk is a forwarded message (so line counting runs over all of it).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use imapd_proto::message::Message;

const SIZE: usize = 25 * 1024 * 1024;

fn base64_lines(out: &mut Vec<u8>) {
    let line: Vec<u8> = (0..76u8)
        .map(|i| {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[usize::from(i % 64)]
        })
        .collect();
    while out.len() < SIZE {
        out.extend_from_slice(&line);
        out.extend_from_slice(b"\r\n");
    }
}

fn attachment_message() -> Vec<u8> {
    let mut m = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: big\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=_big\"\r\n\r\n\
--=_big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n\
--=_big\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\n\
Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"big.bin\"\r\n\r\n"
        .to_vec();
    base64_lines(&mut m);
    m.extend_from_slice(b"--=_big--\r\n");
    m
}

fn forwarded_message() -> Vec<u8> {
    let mut m = b"From: a@example.com\r\nSubject: fwd\r\nContent-Type: message/rfc822\r\n\r\n\
From: c@example.com\r\nSubject: inner\r\nContent-Type: text/plain\r\n\r\n"
        .to_vec();
    base64_lines(&mut m);
    m
}

fn bench(c: &mut Criterion) {
    for (name, bytes) in [
        (
            "parse+bodystructure 25MB base64 attachment",
            attachment_message(),
        ),
        (
            "parse+bodystructure 25MB forwarded text",
            forwarded_message(),
        ),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let m = Message::parse(black_box(&bytes));
                let mut out = Vec::with_capacity(1024);
                m.write_body_structure(&mut out, true);
                black_box(out)
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
