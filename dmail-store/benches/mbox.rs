//! The mbox engine's performance targets on a generated 100,000-message, ~1 GB mailbox.
//!
//! `cargo bench -p dmail-store --bench mbox -- --warm-up-time 1 --measurement-time 3`
//!
//! The mailbox is generated once per run into a temporary directory (`DMAIL_BENCH_DIR`, else
//! the system's) and removed at the end; it is deterministic: a fixed xorshift seed, 1 to 8
//! `Received:` headers and an occasional DKIM signature (headers of 0.4 to 2.5 KB), bodies of
//! 2 to 20 KB of 60-to-75-byte lines, one body line in 200 a `>From` line, one message in ten
//! with pine's `Status: O`. It is delivered mail as DSMTP leaves it: no pseudo-message, no
//! X-UIDs. `DMAIL_BENCH_MESSAGES` changes the count (for trying things out).
//!
//! Benchmarks (every open is of the whole mailbox; "index" is the private index):
//! - `open_ro_no_index`: EXAMINE of the stamped mailbox with no private data (a full scan);
//!   `open_ro_no_index_unstamped`: the same on the delivered file.
//! - `open_rw_stamp_all`: the first SELECT, which stamps all 100,000 messages (a fresh copy of
//!   the delivered file each time; only the open is timed).
//! - `quick_status_index`: the SELECT/STATUS numbers from the index alone.
//! - `reopen_ro_index`, `reopen_rw_index`: EXAMINE / SELECT of the unchanged mailbox.
//! - `reopen_ro_after_delivery`: EXAMINE after DSMTP delivered one 10 KB message;
//!   `reopen_rw_after_delivery`: SELECT then, which also stamps it (journal, two fsyncs) and
//!   rewrites the index; `reopen_ro_after_append`: EXAMINE after another session's APPEND.
//! - `store_seen_then_other_sync`: one handle sets (or clears) \Seen on one message, fsync
//!   included; a second handle's sync reports it.
//! - `append_10k`: APPEND of a 10 KB message (fsync included).
//! - `fsync_reference`: a 100-byte write and `fdatasync` on the same file system, to read the
//!   others' figures "plus the fsync".
//! - `memory_report`: prints the bytes a 100k snapshot holds (its own accounting and the
//!   change in resident memory across an open); times nothing of interest.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::cell::OnceCell;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use criterion::{Criterion, SamplingMode, Throughput};
use dmail_store::deliver::{DeliverOptions, deliver};
use dmail_store::layout::DropPath;
use dmail_store::mbox::engine::{MboxMailbox, MboxOptions, MboxPaths};
use dmail_store::store::{FlagOp, Mailbox, NewMessage};
use dmail_store::{InternalDate, SystemFlags};

#[path = "support/mbox_fixture.rs"]
mod mbox_fixture;
use mbox_fixture::{Rng, body, pristine};

fn options() -> MboxOptions {
    let mut o = MboxOptions::new("bob", "bench.example.com");
    o.local_offset = |_| 0;
    o
}

/// A 10 KB message as a client would APPEND it.
fn ten_kb() -> Vec<u8> {
    let mut m =
        b"From: alice@example.com\r\nTo: bob@example.com\r\nSubject: appended\r\n\r\n".to_vec();
    let mut rng = Rng(42);
    let mut b = Vec::new();
    body(&mut rng, 10 * 1024 - m.len(), &mut b);
    for line in b.split(|c| *c == b'\n').filter(|l| !l.is_empty()) {
        m.extend_from_slice(line);
        m.extend_from_slice(b"\r\n");
    }
    m
}

struct Fixture {
    dir: tempfile::TempDir,
    n: usize,
    size: u64,
    /// The stamped mailbox with its index, made on first use.
    stamped: OnceCell<()>,
    memory_reported: OnceCell<()>,
}

impl Fixture {
    fn new() -> Fixture {
        let (dir, n, size) = pristine("mbox");
        Fixture {
            dir,
            n,
            size,
            stamped: OnceCell::new(),
            memory_reported: OnceCell::new(),
        }
    }

    fn root(&self) -> &Utf8Path {
        Utf8Path::from_path(self.dir.path()).unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Paths for mailbox file `name` with private directory `name.private`.
    fn paths(&self, name: &str) -> MboxPaths {
        let root: Utf8PathBuf = self.root().to_owned();
        MboxPaths::new(
            root.join(name),
            root.join(format!("{name}.private")),
            "INBOX",
        )
    }

    /// A fresh copy of the delivered mailbox as `name`, without private data.
    fn copy_pristine(&self, name: &str) {
        std::fs::copy(self.path("pristine"), self.path(name)).unwrap();
        let _ = std::fs::remove_dir_all(self.path(&format!("{name}.private")));
    }

    /// The stamped mailbox `stamped`, its index written.
    fn stamped(&self) -> MboxPaths {
        self.stamped.get_or_init(|| {
            self.copy_pristine("stamped");
            let t = Instant::now();
            let m = MboxMailbox::open(self.paths("stamped"), false, options()).unwrap();
            eprintln!(
                "mbox bench: first read-write open stamped {} messages in {:.2?}",
                m.messages().len(),
                t.elapsed()
            );
        });
        self.paths("stamped")
    }

    /// A copy of the stamped mailbox as `name`, with an index of its own.
    fn stamped_copy(&self, name: &str) -> MboxPaths {
        let from = self.stamped();
        std::fs::copy(&from.file, self.path(name)).unwrap();
        let _ = std::fs::remove_dir_all(self.path(&format!("{name}.private")));
        std::fs::create_dir_all(self.path(&format!("{name}.private"))).unwrap();
        std::fs::copy(
            from.private_dir.join("INBOX.uids"),
            self.path(&format!("{name}.private/INBOX.uids")),
        )
        .unwrap();
        let paths = self.paths(name);
        drop(MboxMailbox::open(paths.clone(), false, options()).unwrap());
        paths
    }
}

fn deliver_one(file: &Utf8Path, body_bytes: &[u8]) {
    let date = InternalDate {
        unix: 1_700_000_000,
        offset_minutes: 0,
    };
    deliver(
        &DropPath::new(file.to_owned()),
        "alice@example.com",
        body_bytes,
        date,
        &DeliverOptions::default(),
    )
    .unwrap();
}

/// Resident memory of this process, bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Opens `file` read-only in a fresh process (this program again, `DMAIL_BENCH_RSS_CHILD` set)
/// and returns its resident memory before and after, and what the handle says it holds.
fn child_rss(file: &Utf8Path, private_dir: &Utf8Path) -> (u64, u64, usize, usize) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("DMAIL_BENCH_RSS_CHILD", format!("{file}\n{private_dir}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<u64> = text
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(
        v.len(),
        4,
        "child said {text:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (v[0], v[1], v[2] as usize, v[3] as usize)
}

/// The child's part of [`child_rss`].
fn rss_child(spec: &str) {
    let (file, private_dir) = spec.split_once('\n').unwrap();
    let paths = MboxPaths::new(file.into(), private_dir.into(), "INBOX");
    let before = rss();
    let m = MboxMailbox::open(paths, true, options()).unwrap();
    let after = rss();
    println!(
        "{before} {after} {} {}",
        m.memory_bytes(),
        m.messages().len()
    );
}

fn memory_report(fx: &Fixture, paths: &MboxPaths) {
    for (what, private) in [
        ("loaded from the index", paths.private_dir.clone()),
        ("after a full scan", fx.root().join("none.private")),
    ] {
        let (before, after, held, n) = child_rss(&paths.file, &private);
        let grew = after.saturating_sub(before);
        eprintln!(
            "mbox bench: memory of an open {n}-message snapshot, {what}: the handle holds {held} \
             bytes ({:.1} a message: Entry {} + MessageMeta {}); resident memory of a fresh \
             process grew {grew} bytes ({:.1} a message)",
            held as f64 / n as f64,
            size_of::<dmail_store::mbox::index::Entry>(),
            size_of::<dmail_store::store::MessageMeta>(),
            grew as f64 / n as f64,
        );
    }
}

fn benches(c: &mut Criterion, fx: &Fixture) {
    let n = fx.n;
    let mut g = c.benchmark_group("mbox");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);

    g.throughput(Throughput::Bytes(fx.size));
    g.bench_function("open_ro_no_index_unstamped", |b| {
        let paths = fx.paths("pristine");
        b.iter(|| {
            let m = MboxMailbox::open(paths.clone(), true, options()).unwrap();
            assert_eq!(m.messages().len(), n);
        });
    });
    g.bench_function("open_ro_no_index", |b| {
        let stamped = fx.stamped();
        // The same file, seen through an empty private directory.
        let paths = MboxPaths::new(stamped.file, fx.root().join("none.private"), "INBOX");
        b.iter(|| {
            let m = MboxMailbox::open(paths.clone(), true, options()).unwrap();
            assert_eq!(m.messages().len(), n);
        });
    });
    g.bench_function("open_rw_stamp_all", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                fx.copy_pristine("work");
                let t = Instant::now();
                let m = MboxMailbox::open(fx.paths("work"), false, options()).unwrap();
                total += t.elapsed();
                assert_eq!(m.messages().len(), n);
            }
            total
        });
    });
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(50);
    g.bench_function("quick_status_index", |b| {
        let paths = fx.stamped();
        let o = options();
        b.iter(|| {
            let s = MboxMailbox::quick_status(&paths, &o).unwrap().unwrap();
            assert_eq!(s.messages, n as u64);
        });
    });
    g.bench_function("reopen_ro_index", |b| {
        let paths = fx.stamped();
        b.iter(|| {
            let m = MboxMailbox::open(paths.clone(), true, options()).unwrap();
            assert_eq!(m.messages().len(), n);
        });
    });
    g.bench_function("reopen_rw_index", |b| {
        let paths = fx.stamped();
        b.iter(|| {
            let m = MboxMailbox::open(paths.clone(), false, options()).unwrap();
            assert_eq!(m.messages().len(), n);
        });
    });

    let grow = fx.stamped_copy("grow");
    let message = ten_kb();
    let delivered = String::from_utf8_lossy(&message).replace("\r\n", "\n");
    for (name, read_only) in [
        ("reopen_ro_after_delivery", true),
        ("reopen_rw_after_delivery", false),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // Bring the index up to date, then one message arrives.
                    drop(MboxMailbox::open(grow.clone(), false, options()).unwrap());
                    deliver_one(&grow.file, delivered.as_bytes());
                    let t = Instant::now();
                    let m = MboxMailbox::open(grow.clone(), read_only, options()).unwrap();
                    let took = t.elapsed();
                    total += took;
                    drop(m);
                }
                total
            });
        });
    }
    g.bench_function("reopen_ro_after_append", |b| {
        let mut writer = MboxMailbox::open(grow.clone(), false, options()).unwrap();
        let new = NewMessage {
            bytes: &message,
            flags: SystemFlags::EMPTY,
            keywords: &[],
            internal_date: None,
            envelope_sender: None,
        };
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                drop(MboxMailbox::open(grow.clone(), false, options()).unwrap());
                writer.append(&[new]).unwrap();
                let t = Instant::now();
                let m = MboxMailbox::open(grow.clone(), true, options()).unwrap();
                total += t.elapsed();
                drop(m);
            }
            total
        });
    });

    g.throughput(Throughput::Elements(1));
    g.sample_size(100);
    g.bench_function("store_seen_then_other_sync", |b| {
        let mut a = MboxMailbox::open(grow.clone(), false, options()).unwrap();
        let mut other = MboxMailbox::open(grow.clone(), false, options()).unwrap();
        let uid = a.messages()[n / 2].uid;
        let mut set = !a.messages()[n / 2].flags.system.contains(SystemFlags::SEEN);
        b.iter(|| {
            let op = if set { FlagOp::Add } else { FlagOp::Remove };
            a.store_flags(&[uid], op, SystemFlags::SEEN, &[]).unwrap();
            let c = other.sync().unwrap();
            assert_eq!(c.flags_changed, [uid]);
            set = !set;
        });
    });
    g.throughput(Throughput::Bytes(message.len() as u64));
    g.bench_function("append_10k", |b| {
        let mut a = MboxMailbox::open(grow.clone(), false, options()).unwrap();
        let new = NewMessage {
            bytes: &message,
            flags: SystemFlags::EMPTY,
            keywords: &[],
            internal_date: None,
            envelope_sender: None,
        };
        b.iter(|| a.append(&[new]).unwrap());
    });
    g.bench_function("fsync_reference", |b| {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(fx.path("fsync-probe"))
            .unwrap();
        let mut at = 0u64;
        b.iter(|| {
            f.write_all_at(&[b'x'; 100], at).unwrap();
            f.sync_data().unwrap();
            at += 100;
        });
    });
    g.sample_size(10);
    g.bench_function("memory_report", |b| {
        let paths = fx.stamped();
        fx.memory_reported.get_or_init(|| memory_report(fx, &paths));
        b.iter(rss);
    });
    g.finish();
}

fn main() {
    if let Ok(spec) = std::env::var("DMAIL_BENCH_RSS_CHILD") {
        rss_child(&spec);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let fx = Fixture::new();
    benches(&mut c, &fx);
    c.final_summary();
}
