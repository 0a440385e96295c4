//! The comparison load test run by `cargo xtask loadtest`: one spool of N users (100-message
//! delivered INBOXes, a passwd file of `$6$` hashes), a release `imapdsvc` in in-process mode
//! (`authent_method external`, the fake authenticator checking the passwd file) and, when it is
//! installed and this runs as root, a Dovecot of our own (`dovecot -c CONF -F`) on the same
//! users, each server on its own copy of the spool; then the same loads from plain-socket IMAP
//! clients against both — a mixed command loop from concurrent clients, memory per idle
//! authenticated connection (plain and implicit TLS), and 10,000 idle connections to ours — and
//! a table of the figures.
//!
//! `loadtest --bin IMAPDSVC --authent FAKE_AUTHENT [--users 20] [--clients 20] [--secs 10]
//! [--idle 1000] [--many 10000] [--no-dovecot]`
//!
//! It only measures: it talks to loopback only, never touches a system service or the system's
//! Dovecot configuration, stops every server it started by that server's PID, and removes its
//! temporary directory.

// A measurement run by hand: any setup failure should stop it loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../../dmail-store/benches/support/mbox_fixture.rs"]
mod mbox_fixture;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// The uid and gid Dovecot's mail processes run as (`nobody`): its copy of the spool is theirs.
const MAIL_ID: u32 = 65_534;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn num(name: &str, default: usize) -> usize {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn password(user: usize) -> String {
    format!("pw-{user}-load")
}

fn user_name(user: usize) -> String {
    format!("user{user}")
}

/// Every process in the tree rooted at `root` (itself included), from /proc.
fn tree(root: u32) -> Vec<u32> {
    let mut parent = HashMap::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
        if let Some(ppid) = after
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok())
        {
            parent.insert(pid, ppid);
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(parent.iter().filter(|&(_, &pp)| pp == p).map(|(&c, _)| c));
        i += 1;
    }
    out
}

/// The summed PSS of the tree rooted at `root`, in kB, and its process count.
fn tree_pss(root: u32) -> (u64, usize) {
    let pids = tree(root);
    let mut total = 0;
    for pid in &pids {
        let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        total += text
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
    }
    (total, pids.len())
}

fn free_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

fn wait_listening(addr: SocketAddr, child: &mut Child, what: &str) {
    let end = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(addr).is_err() {
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("{what} exited at start: {status}");
        }
        assert!(Instant::now() < end, "{what} did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
}

fn stop(child: &mut Child) {
    if let Ok(pid) = rustix::process::Pid::from_raw(child.id().cast_signed()).ok_or(()) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let end = Instant::now() + Duration::from_secs(15);
    while Instant::now() < end {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The temporary layout: the passwd file, a pristine INBOX, and each server's copy.
struct Layout {
    root: PathBuf,
}

impl Layout {
    fn passwd(&self) -> PathBuf {
        self.root.join("passwd")
    }
    fn ours(&self) -> PathBuf {
        self.root.join("ours")
    }
    fn dovecot(&self) -> PathBuf {
        self.root.join("dovecot")
    }

    fn prepare(root: &Path, users: usize) -> Layout {
        let layout = Layout {
            root: root.to_path_buf(),
        };
        let pristine = root.join("pristine");
        mbox_fixture::generate(&pristine, 100, None);
        let mut passwd = String::new();
        for u in 0..users {
            let out = Command::new("openssl")
                .args(["passwd", "-6", &password(u)])
                .output()
                .expect("run openssl passwd -6");
            assert!(out.status.success(), "openssl passwd -6 failed");
            let hash = String::from_utf8(out.stdout).expect("hash");
            passwd.push_str(&format!("{}:{}\n", user_name(u), hash.trim()));
        }
        std::fs::write(layout.passwd(), passwd).expect("write passwd");
        for server in [layout.ours(), layout.dovecot()] {
            std::fs::create_dir_all(server.join("drop")).expect("mkdir");
            std::fs::create_dir_all(server.join("log")).expect("mkdir");
            for u in 0..users {
                std::fs::copy(&pristine, server.join("drop").join(user_name(u))).expect("copy");
                std::fs::create_dir_all(server.join("home").join(user_name(u))).expect("mkdir");
            }
        }
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .arg("ec_paramgen_curve:prime256v1")
            .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost"])
            // Not a CA: the client trusts this very certificate as the server's.
            .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
            .arg(root.join("key.pem"))
            .arg("-out")
            .arg(root.join("cert.pem"))
            .output()
            .expect("run openssl req");
        assert!(out.status.success(), "openssl req -x509 failed");
        layout
    }
}

/// A server under test: its child process (the root of its process tree) and its addresses.
struct Server {
    name: &'static str,
    child: Child,
    plain: SocketAddr,
    tls: Option<SocketAddr>,
}

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn start_ours(layout: &Layout, bin: &str, authent: &str) -> Server {
    let dir = layout.ours();
    let conf = dir.join("dmail.conf");
    std::fs::write(
        &conf,
        format!(
            "authent_method external\nauthent_process {authent} --mode passwd --passwd {}\n\
             drop_path {}\nlog_path {}\nlog_level error\nimapd_login_delay 0\n\
             imapd_max_connections 20000\nimapd_max_connections_per_ip 20000\n\
             imapd_max_connections_per_user 20000\nimapd_tls_cert {}\nimapd_tls_key {}\n",
            layout.passwd().display(),
            dir.join("drop").display(),
            dir.join("log").display(),
            layout.root.join("cert.pem").display(),
            layout.root.join("key.pem").display(),
        ),
    )
    .expect("write dmail.conf");
    let plain = free_port();
    let tls = free_port();
    let mut child = Command::new(bin)
        .arg("-i")
        .arg(&conf)
        .args([
            "--listen",
            &plain.to_string(),
            "--listen-tls",
            &tls.to_string(),
        ])
        .args(["--mode", "in-process"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start imapdsvc");
    wait_listening(plain, &mut child, "imapdsvc");
    Server {
        name: "ours",
        child,
        plain,
        tls: Some(tls),
    }
}

/// Dovecot on its own copy of the spool; `None` (and why) when it cannot run here.
fn start_dovecot(layout: &Layout) -> Result<Server, String> {
    let found = Command::new("dovecot")
        .arg("--version")
        .output()
        .map_err(|e| format!("dovecot not installed ({e})"))?;
    if !found.status.success() {
        return Err("`dovecot --version` failed".into());
    }
    if !rustix::process::geteuid().is_root() {
        return Err("not root: Dovecot's master must start as root".into());
    }
    let dir = layout.dovecot();
    for sub in ["run", "state"] {
        std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
    }
    let owner = |p: &Path| {
        let _ = Command::new("chown")
            .arg("-R")
            .arg(format!("{MAIL_ID}:{MAIL_ID}"))
            .arg(p)
            .status();
    };
    owner(&dir.join("drop"));
    owner(&dir.join("home"));
    let plain = free_port();
    let conf = dir.join("dovecot.conf");
    std::fs::write(
        &conf,
        format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/log/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\n\
             auth_mechanisms = plain\nmail_location = mbox:~/mail:INBOX={d}/drop/%u\n\
             first_valid_uid = 1\nfirst_valid_gid = 1\n\
             default_process_limit = 12000\ndefault_client_limit = 30000\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=SHA512-CRYPT {p}\n}}\n\
             userdb {{\n  driver = static\n  args = uid={MAIL_ID} gid={MAIL_ID} home={d}/home/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    \
             port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             protocol imap {{\n  mail_max_userip_connections = 20000\n}}\n",
            d = dir.display(),
            p = layout.passwd().display(),
            port = plain.port(),
        ),
    )
    .expect("write dovecot.conf");
    let mut child = Command::new("dovecot")
        .arg("-c")
        .arg(&conf)
        .arg("-F")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start dovecot: {e}"))?;
    let end = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(plain).is_err() {
        if let Some(status) = child.try_wait().expect("wait") {
            let log = std::fs::read_to_string(dir.join("log/dovecot.log")).unwrap_or_default();
            return Err(format!("dovecot exited at start ({status}): {log}"));
        }
        if Instant::now() > end {
            stop(&mut child);
            return Err("dovecot did not listen".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    Ok(Server {
        name: "Dovecot",
        child,
        plain,
        tls: None,
    })
}

/// One IMAP client connection over any stream: hand-written commands, responses read up to
/// the tagged line (literals skipped by their counts).
struct Client<S: Read + Write> {
    io: BufReader<S>,
    tag: u32,
    line: Vec<u8>,
}

impl<S: Read + Write> Client<S> {
    fn new(stream: S) -> Option<Self> {
        let mut c = Client {
            io: BufReader::with_capacity(16 * 1024, stream),
            tag: 0,
            line: Vec::new(),
        };
        let greeting = c.read_line()?;
        greeting.starts_with("* OK").then_some(c)
    }

    /// One response line, with any literals in it read (and dropped) as it goes.
    fn read_line(&mut self) -> Option<String> {
        let mut text = Vec::new();
        loop {
            self.line.clear();
            if self.io.read_until(b'\n', &mut self.line).ok()? == 0 {
                return None;
            }
            text.extend_from_slice(&self.line);
            let l = self.line.strip_suffix(b"\r\n").unwrap_or(&self.line);
            let literal = l.strip_suffix(b"}").and_then(|l| {
                let open = l.iter().rposition(|&b| b == b'{')?;
                std::str::from_utf8(&l[open + 1..])
                    .ok()?
                    .parse::<u64>()
                    .ok()
            });
            match literal {
                Some(n) => {
                    std::io::copy(&mut (&mut self.io).take(n), &mut std::io::sink()).ok()?;
                }
                None => return Some(String::from_utf8_lossy(&text).into_owned()),
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Option<()> {
        let s = self.io.get_mut();
        s.write_all(bytes).ok()?;
        s.flush().ok()
    }

    /// Sends `command` under a new tag; the tagged reply line.
    fn command(&mut self, command: &str) -> Option<String> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        self.send(format!("{tag} {command}\r\n").as_bytes())?;
        self.tagged(&tag)
    }

    fn tagged(&mut self, tag: &str) -> Option<String> {
        loop {
            let line = self.read_line()?;
            if line.starts_with(tag) && line.as_bytes().get(tag.len()) == Some(&b' ') {
                return Some(line[tag.len() + 1..].to_owned());
            }
        }
    }

    /// APPEND of `message` to INBOX with a synchronising literal; the tagged reply line.
    fn append(&mut self, message: &[u8]) -> Option<String> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        self.send(format!("{tag} APPEND INBOX {{{}}}\r\n", message.len()).as_bytes())?;
        loop {
            let line = self.read_line()?;
            if line.starts_with('+') {
                break;
            }
            if line.starts_with(&tag) {
                return Some(line[tag.len() + 1..].to_owned());
            }
        }
        let mut all = message.to_vec();
        all.extend_from_slice(b"\r\n");
        self.send(&all)?;
        self.tagged(&tag)
    }
}

/// The command kinds of the mixed loop, in order.
const KINDS: [&str; 9] = [
    "LOGIN",
    "SELECT INBOX",
    "FETCH 1:* (FLAGS)",
    "FETCH n BODY.PEEK[]",
    "STORE n +FLAGS (\\Seen)",
    "APPEND",
    "UID STORE +FLAGS (\\Deleted)",
    "UID EXPUNGE",
    "LOGOUT",
];

#[derive(Default, Clone)]
struct Tally {
    count: [u64; 9],
    failed: [u64; 9],
    busy: [Duration; 9],
}

fn timed<S: Read + Write>(
    t: &mut Tally,
    kind: usize,
    c: &mut Client<S>,
    f: impl FnOnce(&mut Client<S>) -> Option<String>,
) -> Option<String> {
    let start = Instant::now();
    let reply = f(c);
    t.busy[kind] += start.elapsed();
    match &reply {
        Some(r) if r.starts_with("OK") => t.count[kind] += 1,
        _ => t.failed[kind] += 1,
    }
    reply
}

/// One client's mixed loop until `deadline`, as user `user`.
fn mixed_client(addr: SocketAddr, user: usize, deadline: Instant) -> Tally {
    let mut t = Tally::default();
    let mut rng = mbox_fixture::Rng(0x2545_F491_4F6C_DD1D ^ ((user as u64 + 1) * 7919));
    let message = format!(
        "From: load@example.com\r\nTo: {}@example.com\r\nSubject: load test\r\n\
         Date: Sat, 1 Feb 2020 10:00:00 +0000\r\n\r\nA small appended message.\r\n",
        user_name(user)
    );
    while Instant::now() < deadline {
        let Some(mut c) = TcpStream::connect(addr).ok().and_then(Client::new) else {
            t.failed[0] += 1;
            continue;
        };
        let n = 1 + rng.0 % 100;
        rng.0 ^= rng.0 << 13;
        rng.0 ^= rng.0 >> 7;
        rng.0 ^= rng.0 << 17;
        let login = format!("LOGIN {} {}", user_name(user), password(user));
        if timed(&mut t, 0, &mut c, |c| c.command(&login)).is_none_or(|r| !r.starts_with("OK")) {
            continue;
        }
        timed(&mut t, 1, &mut c, |c| c.command("SELECT INBOX"));
        timed(&mut t, 2, &mut c, |c| c.command("FETCH 1:* (FLAGS)"));
        timed(&mut t, 3, &mut c, |c| {
            c.command(&format!("FETCH {n} BODY.PEEK[]"))
        });
        timed(&mut t, 4, &mut c, |c| {
            c.command(&format!("STORE {n} +FLAGS (\\Seen)"))
        });
        let appended = timed(&mut t, 5, &mut c, |c| c.append(message.as_bytes()));
        // `OK [APPENDUID VALIDITY UID] ...`; without it, the last message is the appended one
        // (each user has one client).
        let uid = appended
            .as_deref()
            .and_then(|r| r.split("[APPENDUID ").nth(1))
            .and_then(|r| r.split([' ', ']']).nth(1))
            .map(str::to_owned);
        match uid {
            Some(uid) => {
                timed(&mut t, 6, &mut c, |c| {
                    c.command(&format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"))
                });
                timed(&mut t, 7, &mut c, |c| {
                    c.command(&format!("UID EXPUNGE {uid}"))
                });
            }
            None => {
                timed(&mut t, 6, &mut c, |c| {
                    c.command("STORE * +FLAGS.SILENT (\\Deleted)")
                });
                timed(&mut t, 7, &mut c, |c| c.command("EXPUNGE"));
            }
        }
        timed(&mut t, 8, &mut c, |c| c.command("LOGOUT"));
    }
    t
}

/// The mixed load's result: commands per second per kind and overall, failures.
struct Mixed {
    per_kind: [f64; 9],
    total: f64,
    failed: u64,
    mean_ms: [f64; 9],
}

fn mixed(server: &Server, users: usize, clients: usize, secs: u64) -> Mixed {
    // Warm-up: every INBOX selected once (the first SELECT stamps a delivered file).
    for u in 0..users {
        let mut c = Client::new(TcpStream::connect(server.plain).expect("connect")).expect("greet");
        let r = c
            .command(&format!("LOGIN {} {}", user_name(u), password(u)))
            .unwrap_or_default();
        assert!(r.starts_with("OK"), "{}: LOGIN {u}: {r}", server.name);
        c.command("SELECT INBOX");
        c.command("LOGOUT");
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let addr = server.plain;
    let handles: Vec<_> = (0..clients)
        .map(|i| std::thread::spawn(move || mixed_client(addr, i % users, deadline)))
        .collect();
    let mut all = Tally::default();
    for h in handles {
        let t = h.join().expect("client thread");
        for k in 0..9 {
            all.count[k] += t.count[k];
            all.failed[k] += t.failed[k];
            all.busy[k] += t.busy[k];
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut per_kind = [0.0; 9];
    let mut mean_ms = [0.0; 9];
    for k in 0..9 {
        per_kind[k] = all.count[k] as f64 / elapsed;
        mean_ms[k] = all.busy[k].as_secs_f64() * 1e3 / (all.count[k] + all.failed[k]).max(1) as f64;
    }
    Mixed {
        per_kind,
        total: all.count.iter().sum::<u64>() as f64 / elapsed,
        failed: all.failed.iter().sum(),
        mean_ms,
    }
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

fn tls_config(cert: &Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(cert).expect("read cert"))
        .expect("add cert");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Idle memory: `n` connections (LOGIN, and SELECT of the user's INBOX when `select`) held
/// open; PSS growth of the server's process tree per connection in kB, processes, setup time.
struct Idle {
    per_conn_kb: f64,
    processes: (usize, usize),
    setup: Duration,
    opened: usize,
    note: String,
}

fn idle(
    server: &Server,
    addr: SocketAddr,
    tls: Option<Arc<ClientConfig>>,
    n: usize,
    users: usize,
    select: bool,
) -> Idle {
    let pid = server.child.id();
    let (pss0, procs0) = tree_pss(pid);
    let start = Instant::now();
    let mut held: Vec<Client<Box<dyn Stream>>> = Vec::with_capacity(n);
    let mut note = String::new();
    for i in 0..n {
        let u = i % users;
        let opened = TcpStream::connect(addr).ok().and_then(|s| {
            s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
            let stream: Box<dyn Stream> = match &tls {
                Some(config) => {
                    let name = ServerName::try_from("localhost").expect("name");
                    let conn = ClientConnection::new(config.clone(), name).ok()?;
                    Box::new(StreamOwned::new(conn, s))
                }
                None => Box::new(s),
            };
            let mut c = Client::new(stream)?;
            let login = c.command(&format!("LOGIN {} {}", user_name(u), password(u)))?;
            if !login.starts_with("OK") {
                return None;
            }
            if select && !c.command("SELECT INBOX")?.starts_with("OK") {
                return None;
            }
            Some(c)
        });
        match opened {
            Some(c) => held.push(c),
            None => {
                note = format!("connection {} failed; stopped there", i + 1);
                break;
            }
        }
    }
    let setup = start.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    let (pss1, procs1) = tree_pss(pid);
    let opened = held.len();
    drop(held);
    Idle {
        per_conn_kb: (pss1.saturating_sub(pss0)) as f64 / opened.max(1) as f64,
        processes: (procs0, procs1),
        setup,
        opened,
        note,
    }
}

fn raise_nofile() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let wanted = Rlimit {
        current: Some(65_536),
        maximum: Some(65_536),
    };
    if setrlimit(Resource::Nofile, wanted).is_err() {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        );
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

fn main() {
    let bin = arg("--bin").expect("--bin PATH (a release imapdsvc)");
    let authent = arg("--authent").expect("--authent PATH (the fake_authent example)");
    let users = num("--users", 20).max(1);
    let clients = num("--clients", 20);
    let secs = num("--secs", 10) as u64;
    let n_idle = num("--idle", 1000);
    let many = num("--many", 10_000);
    let with_dovecot = !std::env::args().any(|a| a == "--no-dovecot");
    let nofile = raise_nofile();

    let dir = tempfile::tempdir().expect("tempdir");
    // Dovecot's mail processes (uid nobody) must reach their copy below it.
    let _ = Command::new("chmod").arg("755").arg(dir.path()).status();
    eprintln!(
        "loadtest: preparing {users} users in {}",
        dir.path().display()
    );
    let layout = Layout::prepare(dir.path(), users);
    let cert = tls_config(&layout.root.join("cert.pem"));

    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    // Mixed load and idle memory, against each server in turn (one running at a time).
    let mut results: Vec<(Mixed, Idle)> = Vec::new();
    let tls_idle;
    {
        let ours = start_ours(&layout, &bin, &authent);
        eprintln!("loadtest: ours: mixed load, {clients} clients, {secs} s");
        let m = mixed(&ours, users, clients, secs);
        drop(ours);
        let ours = start_ours(&layout, &bin, &authent);
        eprintln!("loadtest: ours: {n_idle} idle connections, port 143 style");
        let i = idle(&ours, ours.plain, None, n_idle, users, true);
        drop(ours);
        let ours = start_ours(&layout, &bin, &authent);
        eprintln!("loadtest: ours: {n_idle} idle connections, implicit TLS");
        let tls_addr = ours.tls.expect("TLS listener");
        tls_idle = Some(idle(
            &ours,
            tls_addr,
            Some(cert.clone()),
            n_idle,
            users,
            true,
        ));
        drop(ours);
        results.push((m, i));
    }
    let dovecot = if with_dovecot {
        match start_dovecot(&layout) {
            Ok(server) => {
                eprintln!("loadtest: Dovecot: mixed load, {clients} clients, {secs} s");
                let m = mixed(&server, users, clients, secs);
                eprintln!("loadtest: Dovecot: {n_idle} idle connections");
                let i = idle(&server, server.plain, None, n_idle, users, true);
                let log = layout.dovecot().join("log/dovecot.log");
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let errors: Vec<&str> = text
                    .lines()
                    .filter(|l| l.contains("Error") || l.contains("Fatal"))
                    .collect();
                if let Some(first) = errors.first() {
                    notes.push(format!(
                        "Dovecot logged {} errors, the first: {first}",
                        errors.len()
                    ));
                }
                drop(server);
                Some((m, i))
            }
            Err(why) => {
                notes.push(format!("Dovecot not measured: {why}"));
                None
            }
        }
    } else {
        notes.push("Dovecot not measured: --no-dovecot".into());
        None
    };

    // 10,000 idle connections to ours: SELECT too when two descriptors each fit the limit.
    let select_many = nofile >= 2 * many as u64 + 100;
    let many_result = {
        let ours = start_ours(&layout, &bin, &authent);
        eprintln!(
            "loadtest: ours: {many} idle connections ({})",
            if select_many {
                "LOGIN + SELECT"
            } else {
                "LOGIN only"
            }
        );
        let r = idle(&ours, ours.plain, None, many, users, select_many);
        drop(ours);
        r
    };
    if !select_many {
        notes.push(format!(
            "{many} connections: LOGIN only (open-file limit {nofile}: a selected session \
             needs two descriptors, the socket and the mailbox file)"
        ));
    }

    let (ours_m, ours_i) = &results[0];
    let ratio = |a: f64, b: Option<f64>| {
        b.filter(|b| *b > 0.0)
            .map_or_else(|| "-".to_owned(), |b| format!("{:.2}", a / b))
    };
    let fmt_opt = |v: Option<f64>, digits: usize| {
        v.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
    };
    rows.push((
        format!("mixed load, {clients} clients, {secs} s: commands/s"),
        format!("{:.0}", ours_m.total),
        fmt_opt(dovecot.as_ref().map(|(m, _)| m.total), 0),
        ratio(ours_m.total, dovecot.as_ref().map(|(m, _)| m.total)),
    ));
    for (k, kind) in KINDS.iter().enumerate() {
        let theirs = dovecot.as_ref().map(|(m, _)| m.per_kind[k]);
        rows.push((
            format!("  {kind}: /s (mean ms)"),
            format!("{:.0} ({:.2})", ours_m.per_kind[k], ours_m.mean_ms[k]),
            dovecot.as_ref().map_or_else(
                || "-".to_owned(),
                |(m, _)| format!("{:.0} ({:.2})", m.per_kind[k], m.mean_ms[k]),
            ),
            ratio(ours_m.per_kind[k], theirs),
        ));
    }
    rows.push((
        "  failed commands".into(),
        ours_m.failed.to_string(),
        dovecot
            .as_ref()
            .map_or_else(|| "-".to_owned(), |(m, _)| m.failed.to_string()),
        String::new(),
    ));
    fn idle_row(notes: &mut Vec<String>, label: String, i: &Idle) {
        if !i.note.is_empty() {
            notes.push(format!("{label}: {}", i.note));
        }
    }
    let theirs_idle = dovecot.as_ref().map(|(_, i)| i.per_conn_kb);
    rows.push((
        format!(
            "idle PSS per connection, {n_idle}, LOGIN + SELECT, plain (KB; ratio Dovecot/ours)"
        ),
        format!("{:.1}", ours_i.per_conn_kb),
        fmt_opt(theirs_idle, 1),
        theirs_idle.map_or_else(|| "-".into(), |t| format!("{:.1}", t / ours_i.per_conn_kb)),
    ));
    idle_row(&mut notes, "ours plain idle".into(), ours_i);
    if let Some((_, i)) = &dovecot {
        idle_row(&mut notes, "Dovecot idle".into(), i);
        notes.push(format!(
            "Dovecot processes: {} idle, {} with the connections; setup {:.1} s",
            i.processes.0,
            i.processes.1,
            i.setup.as_secs_f64()
        ));
    }
    if let Some(t) = &tls_idle {
        rows.push((
            format!("idle PSS per connection, {n_idle}, LOGIN + SELECT, implicit TLS (KB)"),
            format!("{:.1}", t.per_conn_kb),
            "not measured".into(),
            String::new(),
        ));
        idle_row(&mut notes, "ours TLS idle".into(), t);
    }
    rows.push((
        format!(
            "{} idle connections open at once ({}), PSS per connection (KB)",
            many_result.opened,
            if select_many {
                "LOGIN + SELECT"
            } else {
                "LOGIN only"
            }
        ),
        format!(
            "{:.1} (setup {:.1} s)",
            many_result.per_conn_kb,
            many_result.setup.as_secs_f64()
        ),
        "not measured".into(),
        String::new(),
    ));
    idle_row(&mut notes, format!("ours {many} idle"), &many_result);

    println!("| measurement | ours | Dovecot | ours/Dovecot |");
    println!("|---|---|---|---|");
    for (a, b, c, d) in &rows {
        println!("| {a} | {b} | {c} | {d} |");
    }
    for n in notes {
        println!("note: {n}");
    }
}
