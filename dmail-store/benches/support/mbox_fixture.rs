//! The generated mailbox the mbox and session benchmarks share: `n` messages as DSMTP delivers
//! them (1 to 8 `Received:` headers, sometimes a DKIM signature, some `>From` body lines), from
//! a fixed seed, so every run and both benchmarks measure the same bytes. Included by path from
//! `dmail-store/benches/mbox.rs` and `imapd-proto/benches/session.rs`; must never depend on
//! anything but std and tempfile (a dev-dependency of both).

use std::io::Write;
use std::path::Path;

pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "the",
    "mail",
    "server",
    "From",
    "quota",
    "delivery",
    "imap",
    "folder",
    "message",
    "and",
    "of",
    "to",
    "spool",
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// One message body of `len` bytes or a little more.
pub(crate) fn body(rng: &mut Rng, len: usize, out: &mut Vec<u8>) {
    let start = out.len();
    while out.len() - start < len {
        let line_start = out.len();
        if rng.below(200) == 0 {
            out.extend_from_slice(b">From the archives, a quoted line");
        }
        let width = 60 + rng.below(16) as usize;
        while out.len() - line_start < width {
            if out.len() > line_start {
                out.push(b' ');
            }
            out.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
        }
        out.push(b'\n');
    }
}

/// Writes `n` delivered messages to `path` (bodies of `body_len` bytes, or 2 to 20 KB as in
/// the store's benchmark); returns the file's size.
pub(crate) fn generate(path: &Path, n: usize, body_len: Option<usize>) -> u64 {
    let f = std::fs::File::create(path).unwrap();
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut msg = Vec::with_capacity(32 * 1024);
    let mut total = 0u64;
    for i in 0..n {
        msg.clear();
        let day = 1 + (i / 4000) % 28;
        let month = MONTHS[(i / 112_000) % 12];
        let (h, m, s) = ((i / 3600) % 24, (i / 60) % 60, i % 60);
        let date = format!("{day} {month} 2020 {h:02}:{m:02}:{s:02} +0000");
        writeln!(
            msg,
            "From user{}@example.com Sat {month} {day:2} {h:02}:{m:02}:{s:02} 2020",
            i % 97
        )
        .unwrap();
        for r in 0..1 + rng.below(8) {
            writeln!(
                msg,
                "Received: from relay{r}.example.net (relay{r}.example.net [10.0.{r}.{}])\n\
                 \tby mx.example.com with ESMTP id {:016x}\n\tfor <bob@example.com>; Sat, {date}",
                i % 250,
                rng.next()
            )
            .unwrap();
        }
        if rng.below(2) == 0 {
            write!(
                msg,
                "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; b="
            )
            .unwrap();
            for _ in 0..6 {
                writeln!(
                    msg,
                    "\t{:016x}{:016x}{:016x}{:016x}",
                    rng.next(),
                    rng.next(),
                    rng.next(),
                    rng.next()
                )
                .unwrap();
            }
        }
        writeln!(msg, "From: User {0} <user{0}@example.com>", i % 97).unwrap();
        writeln!(msg, "To: bob@example.com").unwrap();
        writeln!(
            msg,
            "Subject: message {i} about {}",
            WORDS[(i * 7) % WORDS.len()]
        )
        .unwrap();
        writeln!(msg, "Date: Sat, {date}").unwrap();
        writeln!(msg, "Message-ID: <{i}.{:x}@example.com>", rng.next()).unwrap();
        if i % 10 == 3 {
            writeln!(msg, "Status: O").unwrap();
        }
        writeln!(
            msg,
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n"
        )
        .unwrap();
        let len = body_len.unwrap_or_else(|| {
            // 2 to 20 KB, smaller ones more often (mean about 9 KB).
            let span = 18 * 1024 + 1;
            let extra = if rng.below(4) == 0 {
                rng.below(span)
            } else {
                rng.below(span).min(rng.below(span))
            };
            2048 + extra as usize
        });
        body(&mut rng, len, &mut msg);
        msg.push(b'\n');
        total += msg.len() as u64;
        w.write_all(&msg).unwrap();
    }
    w.flush().unwrap();
    total
}

/// The pristine mailbox a benchmark starts from: `DMAIL_BENCH_MESSAGES` messages (default
/// 100,000) generated into `DIR/pristine` of a new temporary directory (below
/// `DMAIL_BENCH_DIR` when set: a 1 GB file may not fit in /tmp). Returns the directory, the
/// message count and the file's size; `label` names the benchmark in what it prints.
pub(crate) fn pristine(label: &str) -> (tempfile::TempDir, usize, u64) {
    let n = std::env::var("DMAIL_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = match std::env::var_os("DMAIL_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let t = std::time::Instant::now();
    let size = generate(&dir.path().join("pristine"), n, None);
    eprintln!(
        "{label} bench: {n} messages, {size} bytes ({:.2} GB), generated in {:.1?} in {}",
        size as f64 / 1e9,
        t.elapsed(),
        dir.path().display()
    );
    (dir, n, size)
}
