//! The IMAP session's performance targets, measured end to end through [`Session`] over the
//! mbox store: bytes pushed in, `run`, responses written to a `Vec` or a sink.
//!
//! `cargo bench -p imapd-proto --bench session -- --warm-up-time 1 --measurement-time 3`
//!
//! This file owns the session benchmarks and their fixture: a deterministic 100,000-message,
//! ~1 GB INBOX of delivered mail (the generator of `dmail-store/benches/mbox.rs`, so the figures
//! compare), one 25 MB message and 1,000 messages of 10 KB, all generated once per run in a
//! temporary directory (`DMAIL_BENCH_DIR`, else the system's) and removed at the end
//! (`DMAIL_BENCH_MESSAGES` changes the count). It must never depend on ENVELOPE,
//! BODYSTRUCTURE or SEARCH output (those have benchmarks of their own) nor leave files behind.
//!
//! Benchmarks (each timed part is one `push` and one `run`):
//! - `select_unchanged`, `examine_unchanged`: SELECT / EXAMINE of the unchanged 100k INBOX in a
//!   logged-in session, private index present (the previous session opened it).
//!   `select_unchanged_cpu`, `examine_unchanged_cpu`: the same in this thread's CPU time
//!   (`/proc/thread-self/schedstat`), which other processes on a busy machine do not inflate.
//! - `first_examine`: EXAMINE of the delivered file with no private data (a full scan).
//! - `first_select_stamp_all`: SELECT of a fresh copy of the delivered file, which stamps all
//!   100,000 messages (only the SELECT is timed).
//! - `fetch_uid_flags`: `FETCH 1:* (UID FLAGS)` on the selected 100k INBOX into a reused `Vec`.
//! - `fetch_body_25mb`, `fetch_body_10kb_batch`: `FETCH 1 BODY[]` of a 25 MB message and
//!   `FETCH 1:1000 BODY[]` of 10 KB messages (EXAMINE, so no `\Seen` is written) into a sink;
//!   the `_cpu` variants in CPU time.
//! - `memory_report`: prints the resident memory (VmRSS, VmHWM) of a fresh process that logged
//!   in and selected the 100k INBOX through a session (this program run again); times nothing
//!   of interest.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::cell::OnceCell;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput};
use dmail_auth::Password;
use dmail_conf::Platform;
use dmail_store::mbox::engine::MboxOptions;
use dmail_store::mbox::store::MboxStore;
use imapd_proto::backend::{Account, Backend, LogLevel, LoginFailure};
use imapd_proto::session::{Options, Session, Wait};

#[path = "../../dmail-store/benches/support/mbox_fixture.rs"]
mod mbox_fixture;
use mbox_fixture::{generate, pristine};

fn options() -> MboxOptions {
    let mut o = MboxOptions::new("bob", "bench.example.com");
    o.local_offset = |_| 0;
    o
}

/// A mailbox owner: the drop file `ROOT/NAME` (their INBOX) and folder directory
/// `ROOT/NAME.mbx` (the private index under it).
#[derive(Clone)]
struct Place {
    drop_file: Utf8PathBuf,
    folder_dir: Utf8PathBuf,
}

impl Place {
    fn at(root: &Utf8Path, name: &str) -> Place {
        let folder_dir = root.join(format!("{name}.mbx"));
        std::fs::create_dir_all(&folder_dir).unwrap();
        Place {
            drop_file: root.join(name),
            folder_dir,
        }
    }

    /// Removes the private data (the index among it).
    fn forget(&self) {
        let _ = std::fs::remove_dir_all(&self.folder_dir);
        std::fs::create_dir_all(&self.folder_dir).unwrap();
    }
}

/// Logs anyone in as bob at one place; writes no log.
struct OneUser(Place);

impl Backend for OneUser {
    type Store = MboxStore;

    fn login(&mut self, _: &[u8], _: Password) -> Result<Account<MboxStore>, LoginFailure> {
        Ok(Account {
            user: "bob".into(),
            store: MboxStore::new(
                self.0.folder_dir.clone(),
                self.0.drop_file.clone(),
                Platform::Unix,
                options(),
            ),
            quota: None,
        })
    }

    fn log(&mut self, _: LogLevel, _: &str) {}

    fn log_enabled(&self, _: LogLevel) -> bool {
        false
    }
}

/// Pushes `command` and runs the session once, writing to `out`.
fn send(session: &mut Session<OneUser>, command: &[u8], out: &mut dyn Write) -> Wait {
    session.push(command);
    session.run(Instant::now(), out).unwrap()
}

/// A session past its greeting and LOGIN.
fn logged_in(place: &Place) -> Session<OneUser> {
    let mut s = Session::new(OneUser(place.clone()), Options::default(), Instant::now());
    let mut out = Vec::new();
    send(&mut s, b"a LOGIN bob secret\r\n", &mut out);
    assert!(
        out.windows(5).any(|w| w == b"a OK "),
        "{}",
        String::from_utf8_lossy(&out)
    );
    s
}

/// A session in the selected state (`command` is the SELECT or EXAMINE).
fn selected(place: &Place, command: &[u8]) -> Session<OneUser> {
    let mut s = logged_in(place);
    let mut out = Vec::new();
    send(&mut s, command, &mut out);
    assert!(
        out.windows(5).any(|w| w == b"s OK "),
        "{}",
        String::from_utf8_lossy(&out)
    );
    s
}

/// A sink that counts what it is given.
struct Counting(u64);

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        io::sink().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    n: usize,
    size: u64,
    /// The 100k INBOX, stamped and indexed, made on first use.
    inbox: OnceCell<Place>,
    memory_reported: OnceCell<()>,
}

impl Fixture {
    fn new() -> Fixture {
        let (dir, n, size) = pristine("session");
        Fixture {
            dir,
            n,
            size,
            inbox: OnceCell::new(),
            memory_reported: OnceCell::new(),
        }
    }

    fn root(&self) -> &Utf8Path {
        Utf8Path::from_path(self.dir.path()).unwrap()
    }

    /// The delivered file as `name`'s INBOX, without private data.
    fn copy_pristine(&self, name: &str) -> Place {
        let place = Place::at(self.root(), name);
        place.forget();
        std::fs::copy(self.root().join("pristine"), &place.drop_file).unwrap();
        place
    }

    /// The 100k INBOX after its first SELECT (stamped, index written).
    fn inbox(&self) -> &Place {
        self.inbox.get_or_init(|| {
            let place = self.copy_pristine("inbox");
            let t = Instant::now();
            drop(selected(&place, b"s SELECT INBOX\r\n"));
            eprintln!(
                "session bench: the first SELECT stamped {} messages in {:.2?}",
                self.n,
                t.elapsed()
            );
            place
        })
    }

    /// A stamped, indexed INBOX of `n` messages with bodies of `body_len` bytes; returns it
    /// and the bytes a client sees of it (CRLF line ends).
    fn small(&self, name: &str, n: usize, body_len: usize) -> (Place, u64) {
        let place = Place::at(self.root(), name);
        generate(place.drop_file.as_std_path(), n, Some(body_len));
        let mut s = selected(&place, b"s SELECT INBOX\r\n");
        let mut out = Vec::new();
        send(&mut s, b"f FETCH 1:* RFC822.SIZE\r\n", &mut out);
        let text = String::from_utf8_lossy(&out);
        let total = text
            .split("RFC822.SIZE ")
            .skip(1)
            .filter_map(|t| t.split(')').next()?.parse::<u64>().ok())
            .sum();
        (place, total)
    }
}

/// CPU time this thread has used (the scheduler's account), so that a figure can be had that
/// the other builds sharing the machine do not inflate.
fn cpu_time() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = text
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

/// Resident memory (VmRSS) and its peak (VmHWM) of this process, bytes.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The child's side of [`memory_report`]: log in, SELECT, report.
fn rss_child(spec: &str) {
    let (folder_dir, drop_file) = spec.split_once('\n').unwrap();
    let place = Place {
        drop_file: drop_file.into(),
        folder_dir: folder_dir.into(),
    };
    let (before, _) = rss();
    let session = selected(&place, b"s SELECT INBOX\r\n");
    let (after, peak) = rss();
    println!("{before} {after} {peak}");
    drop(session);
}

fn memory_report(place: &Place, n: usize) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env(
            "DMAIL_BENCH_SESSION_RSS_CHILD",
            format!("{}\n{}", place.folder_dir, place.drop_file),
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<u64> = text
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(
        v.len(),
        3,
        "child said {text:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    eprintln!(
        "session bench: a fresh process logged in and selected the {n}-message INBOX: VmRSS \
         {:.1} MiB (it was {:.1} MiB before the session; {:.0} bytes a message), VmHWM {:.1} MiB",
        mib(v[1]),
        mib(v[0]),
        v[1].saturating_sub(v[0]) as f64 / n as f64,
        mib(v[2]),
    );
}

fn benches(c: &mut Criterion, fx: &Fixture) {
    let n = fx.n;
    let mut g = c.benchmark_group("session");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(50);
    g.throughput(Throughput::Elements(n as u64));
    for (name, command) in [
        ("select_unchanged", &b"s SELECT INBOX\r\n"[..]),
        ("examine_unchanged", b"s EXAMINE INBOX\r\n"),
    ] {
        g.bench_function(name, |b| {
            let inbox = fx.inbox();
            let exists = format!("* {n} EXISTS\r\n");
            let mut out = Vec::new();
            b.iter_batched_ref(
                || logged_in(inbox),
                |s| {
                    out.clear();
                    send(s, command, &mut out);
                },
                BatchSize::PerIteration,
            );
            assert!(String::from_utf8_lossy(&out).contains(&exists));
        });
        // The same, timed in CPU time rather than wall time.
        g.bench_function(format!("{name}_cpu"), |b| {
            let inbox = fx.inbox();
            let mut out = Vec::new();
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut s = logged_in(inbox);
                    out.clear();
                    let t = cpu_time();
                    send(&mut s, command, &mut out);
                    total += cpu_time() - t;
                }
                total
            });
        });
    }
    g.bench_function("fetch_uid_flags", |b| {
        let mut s = selected(fx.inbox(), b"s SELECT INBOX\r\n");
        let mut out = Vec::new();
        b.iter(|| {
            out.clear();
            send(&mut s, b"f FETCH 1:* (UID FLAGS)\r\n", &mut out);
        });
        assert!(out.ends_with(b"f OK FETCH completed\r\n"));
        let lines = out.iter().filter(|&&c| c == b'\n').count();
        assert_eq!(lines, n + 1);
    });

    g.sample_size(10);
    g.throughput(Throughput::Bytes(fx.size));
    g.bench_function("first_examine", |b| {
        let place = Place::at(fx.root(), "pristine");
        place.forget();
        let mut out = Vec::new();
        b.iter_batched_ref(
            || logged_in(&place),
            |s| {
                out.clear();
                send(s, b"s EXAMINE INBOX\r\n", &mut out);
            },
            BatchSize::PerIteration,
        );
        assert!(String::from_utf8_lossy(&out).contains(&format!("* {n} EXISTS\r\n")));
    });
    g.bench_function("first_select_stamp_all", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let place = fx.copy_pristine("work");
                let mut s = logged_in(&place);
                let mut out = Vec::new();
                let t = Instant::now();
                send(&mut s, b"s SELECT INBOX\r\n", &mut out);
                total += t.elapsed();
                assert!(String::from_utf8_lossy(&out).contains(&format!("* {n} RECENT\r\n")));
            }
            total
        });
    });

    let (big, big_bytes) = fx.small("big", 1, 25 << 20);
    let (batch, batch_bytes) = fx.small("batch", 1000, 10 << 10);
    g.sample_size(20);
    for (name, place, bytes, command) in [
        (
            "fetch_body_25mb",
            &big,
            big_bytes,
            &b"f FETCH 1 BODY[]\r\n"[..],
        ),
        (
            "fetch_body_10kb_batch",
            &batch,
            batch_bytes,
            b"f FETCH 1:1000 BODY[]\r\n",
        ),
    ] {
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(name, |b| {
            let mut s = selected(place, b"s EXAMINE INBOX\r\n");
            let mut sink = Counting(0);
            b.iter(|| {
                sink.0 = 0;
                send(&mut s, command, &mut sink);
            });
            assert!(sink.0 > bytes, "{} of {bytes}", sink.0);
        });
        g.bench_function(format!("{name}_cpu"), |b| {
            let mut s = selected(place, b"s EXAMINE INBOX\r\n");
            let mut sink = Counting(0);
            b.iter_custom(|iters| {
                let t = cpu_time();
                for _ in 0..iters {
                    send(&mut s, command, &mut sink);
                }
                cpu_time() - t
            });
        });
    }

    // SEARCH BODY reads and decodes every message: the 1,000 messages of 10 KB, end to end
    // through the session and the mbox store (the target is 10,000 messages, ~100 MB, in 1 s).
    g.throughput(Throughput::Bytes(batch_bytes));
    g.bench_function("search_body_10kb_batch", |b| {
        let mut s = selected(&batch, b"s EXAMINE INBOX\r\n");
        let mut out = Vec::new();
        b.iter(|| {
            out.clear();
            send(&mut s, b"q SEARCH BODY \"zebra crossing\"\r\n", &mut out);
        });
        assert!(out.ends_with(b"q OK SEARCH completed\r\n"));
    });

    g.bench_function("memory_report", |b| {
        let inbox = fx.inbox();
        fx.memory_reported.get_or_init(|| memory_report(inbox, n));
        b.iter(rss);
    });
    g.finish();
}

fn main() {
    if let Ok(spec) = std::env::var("DMAIL_BENCH_SESSION_RSS_CHILD") {
        rss_child(&spec);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let fx = Fixture::new();
    benches(&mut c, &fx);
    c.final_summary();
}
