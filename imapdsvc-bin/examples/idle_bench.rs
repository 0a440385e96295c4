//! The driver experiment: holds N idle authenticated connections (each did LOGIN and SELECT of a
//! 100-message INBOX, `authent_method external` with the fake authenticator) to a server and
//! reports the server's resident and proportional memory per connection and its CPU time.
//!
//! `idle_bench --server svc|tokio --bin PATH --authent PATH -n N [--no-select]`
//!
//! It only measures: it never changes a server, and removes its temporary spool.

// An experiment run by hand: any setup failure should stop it loudly.
#![allow(clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Rss and Pss of `pid` in kbytes (smaps_rollup).
fn memory(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("Rss:"), field("Pss:"))
}

/// User + system CPU time of `pid` in clock ticks (utime and stime of /proc/PID/stat).
fn cpu_ticks(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = text.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let n = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After the command name: state is field 0, utime 11, stime 12.
    n(11) + n(12)
}

fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count())
}

fn read_until(reader: &mut BufReader<TcpStream>, tag: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return format!("(nothing: closed or timed out waiting for {tag})\n");
        }
        if line.starts_with(tag) {
            return line;
        }
    }
}

fn main() {
    let kind = arg("--server").unwrap_or_else(|| "svc".into());
    let bin = arg("--bin").expect("--bin PATH");
    let authent = arg("--authent").expect("--authent PATH");
    let n: usize = arg("-n").and_then(|v| v.parse().ok()).unwrap_or(1000);
    // LOGIN only: one descriptor per connection instead of two (socket and open mailbox).
    let select = !std::env::args().any(|a| a == "--no-select");

    // As root the hard limit can go up (both servers inherit it); otherwise the soft one.
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let wanted = rustix::process::Rlimit {
        current: Some(65_536),
        maximum: Some(65_536),
    };
    if rustix::process::setrlimit(rustix::process::Resource::Nofile, wanted).is_err() {
        let _ = rustix::process::setrlimit(
            rustix::process::Resource::Nofile,
            rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = dir.path().join("spool");
    let log = dir.path().join("log");
    std::fs::create_dir(&spool).expect("mkdir");
    std::fs::create_dir(&log).expect("mkdir");
    let mut mbox = String::new();
    for i in 1..=100 {
        mbox.push_str(&format!(
            "From test2@example.com Wed Aug 16 14:11:15 2000\nSubject: message {i}\nFrom: a@example.com\n\nbody {i}\nline 2\n\n"
        ));
    }
    std::fs::write(spool.join("alice"), mbox).expect("write mbox");
    let conf = dir.path().join("dmail.conf");
    std::fs::write(
        &conf,
        format!(
            "authent_method external\nauthent_process {authent}\ndrop_path {}\nlog_path {}\n\
             log_level error\nimapd_login_delay 0\nimapd_max_connections 20000\n\
             imapd_max_connections_per_ip 20000\nimapd_max_connections_per_user 20000\n",
            spool.display(),
            log.display()
        ),
    )
    .expect("write conf");
    let addr: SocketAddr = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let mut command = Command::new(&bin);
    if kind == "tokio" {
        command.arg(&conf).arg(addr.to_string());
    } else {
        command
            .arg("-i")
            .arg(&conf)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--mode")
            .arg("in-process");
    }
    let mut server: Child = command.stdout(Stdio::null()).spawn().expect("start server");
    let end = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < end, "server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.id();
    let (rss0, pss0) = memory(pid);
    let cpu0 = cpu_ticks(pid);
    let started = Instant::now();
    let mut held = Vec::with_capacity(n);
    for i in 0..n {
        let stream = TcpStream::connect(addr).expect("connect");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let greeting = read_until(&mut reader, "* ");
        let commands: &[u8] = if select {
            b"a LOGIN alice pw\r\nb SELECT INBOX\r\n"
        } else {
            b"a LOGIN alice pw\r\nb NOOP\r\n"
        };
        (&stream).write_all(commands).expect("write");
        let login = read_until(&mut reader, "a ");
        let select = read_until(&mut reader, "b ");
        if !greeting.starts_with("* OK")
            || !login.starts_with("a OK")
            || !select.starts_with("b OK")
        {
            let text = std::fs::read_to_string(log.join("imapdsvc.log")).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(5).collect();
            println!(
                "{kind}: connection {i} failed: {greeting}{login}{select}threads {}; log: {tail:?}",
                threads(pid)
            );
            let _ = server.kill();
            let _ = server.wait();
            std::process::exit(1);
        }
        held.push(stream);
    }
    let setup = started.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    let (rss1, pss1) = memory(pid);
    let cpu1 = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(10));
    let cpu2 = cpu_ticks(pid);
    println!(
        "{kind}: {n} idle connections ({}); threads {}; setup {:.1} s, {} ticks CPU; \
         RSS {rss0} -> {rss1} kB ({:.1} kB/conn); PSS {pss0} -> {pss1} kB ({:.1} kB/conn); \
         idle CPU over 10 s: {} ticks",
        if select {
            "LOGIN + SELECT"
        } else {
            "LOGIN only"
        },
        threads(pid),
        setup.as_secs_f64(),
        cpu1 - cpu0,
        (rss1 - rss0) as f64 / n as f64,
        (pss1 - pss0) as f64 / n as f64,
        cpu2 - cpu1
    );
    drop(held);
    let _ = server.kill();
    let _ = server.wait();
}
