//! TLS in the built `imapd`, served inetd-style on a loopback socket: STARTTLS (with and
//! without `imapd_login_disabled`), implicit TLS (`imapd --tls`), the STARTTLS injection
//! refusal, a failed handshake, unusable certificate files, and the key formats
//! [`imapd_bin::tls::server_config`] reads. The client is rustls, trusting a CA the test makes
//! with the `openssl` command.
//!
//! Every test checks that the server wrote nothing to stderr and logged no panic.

// Helpers outside #[test] functions panic on failure, as a test should.
#![allow(clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use camino::Utf8Path;
use common::{Certs, Spool, assert_no_panic, openssl, text};
use imapd_bin::tls::{TlsError, TlsFile, server_config};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// How long any read may wait before the test fails instead of hanging.
const TIMEOUT: Duration = Duration::from_secs(20);

/// A spool whose dmail.conf names a freshly made certificate and key, plus `extra`.
fn tls_spool(extra: &str) -> (Spool, Certs) {
    let spool = Spool::new("");
    let certs = Certs::new(spool.dir.path());
    spool.add_config(&certs.config_lines());
    spool.add_config(extra);
    (spool, certs)
}

/// One connection to `imapd -i CONF ARGS`, started on the accepted socket as inetd would.
fn connect(spool: &Spool, args: &[&str]) -> (TcpStream, Child) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    client.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    let (socket, _) = listener.accept().expect("accept");
    let child = spool.spawn_on_with(OwnedFd::from(socket), args);
    (client, child)
}

/// A rustls client trusting the test CA, offering `alpn`.
fn client_config(certs: &Certs, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&certs.ca).expect("read CA"))
        .expect("add CA");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    Arc::new(config)
}

type Tls = StreamOwned<ClientConnection, TcpStream>;

/// Starts TLS as the client on `socket` and completes the handshake.
fn handshake(socket: TcpStream, config: Arc<ClientConfig>) -> std::io::Result<Tls> {
    let name = ServerName::try_from("localhost").expect("name");
    let conn = ClientConnection::new(config, name).expect("client connection");
    let mut tls = StreamOwned::new(conn, socket);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

/// Reads IMAP output line by line from either side of STARTTLS.
struct Reader<S> {
    stream: S,
    buf: Vec<u8>,
}

impl<S: Read + Write> Reader<S> {
    fn new(stream: S) -> Reader<S> {
        Reader {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
        self.stream.flush().expect("flush");
    }

    /// More bytes into the buffer; false at end of stream.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) => panic!("read: {e}"),
        }
    }

    /// The next line, CRLF included.
    fn line(&mut self) -> String {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return String::from_utf8_lossy(&line).into_owned();
            }
            assert!(self.fill(), "end of stream; got {:?}", self.buf);
        }
    }

    /// Everything up to and including the line tagged `tag`.
    fn until_tagged(&mut self, tag: &str) -> Vec<u8> {
        let mut all = Vec::new();
        let prefix = format!("{tag} ");
        loop {
            let start = all.len();
            loop {
                if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                    all.extend(self.buf.drain(..=i));
                    break;
                }
                assert!(self.fill(), "end of stream before {tag}");
            }
            if all[start..].starts_with(prefix.as_bytes()) {
                return all;
            }
        }
    }

    /// Sends a command and returns its whole answer.
    fn command(&mut self, tag: &str, command: &str) -> String {
        self.send(format!("{tag} {command}\r\n").as_bytes());
        String::from_utf8_lossy(&self.until_tagged(tag)).into_owned()
    }

    /// Everything until the server ends the stream cleanly.
    fn rest(&mut self) -> Vec<u8> {
        while self.fill() {}
        std::mem::take(&mut self.buf)
    }

    /// The stream, once nothing is left unread.
    fn into_inner(self) -> S {
        assert!(self.buf.is_empty(), "unread: {:?}", self.buf);
        self.stream
    }
}

/// Waits for the server and returns its exit code, asserting it wrote nothing on stderr.
fn finish(child: Child) -> Option<i32> {
    let out = child.wait_with_output().expect("wait for imapd");
    assert!(
        out.stderr.is_empty(),
        "stderr: {:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.status.code()
}

/// A message larger than 1 MB, LF line ends.
fn large_message() -> String {
    let mut m = String::from("From: Bob <bob@example.com>\nSubject: large\n\n");
    let mut i = 0;
    while m.len() < 1_300_000 {
        m.push_str(&format!(
            "line {i:07} of a large message over TLS .................\n"
        ));
        i += 1;
    }
    m
}

#[test]
fn starttls_with_login_disabled_then_login_and_a_large_fetch() {
    let (spool, certs) = tls_spool("imapd_login_disabled true\n");
    let message = large_message();
    spool.write_mail("alice", &message);
    let (socket, child) = connect(&spool, &[]);
    let mut plain = Reader::new(socket);

    let greeting = plain.line();
    assert!(greeting.starts_with("* OK [CAPABILITY "), "{greeting}");
    assert!(greeting.contains(" STARTTLS"), "{greeting}");
    assert!(greeting.contains(" LOGINDISABLED"), "{greeting}");
    assert!(!greeting.contains("AUTH="), "{greeting}");
    let refused = plain.command("a", "LOGIN alice pw");
    assert!(refused.starts_with("a NO [PRIVACYREQUIRED] "), "{refused}");
    assert_eq!(
        plain.command("b", "STARTTLS"),
        "b OK Begin TLS negotiation now\r\n"
    );

    let tls = handshake(plain.into_inner(), client_config(&certs, &[])).expect("handshake");
    let mut tls = Reader::new(tls);
    let caps = tls.command("c", "CAPABILITY");
    assert!(caps.starts_with("* CAPABILITY IMAP4rev1 "), "{caps}");
    assert!(caps.contains(" AUTH=PLAIN"), "{caps}");
    assert!(!caps.contains("STARTTLS"), "{caps}");
    assert!(!caps.contains("LOGINDISABLED"), "{caps}");
    assert!(tls.command("d", "STARTTLS").starts_with("d BAD "));
    let login = tls.command("e", "LOGIN alice pw");
    assert!(login.contains("e OK "), "{login}");
    let select = tls.command("f", "SELECT INBOX");
    assert!(select.contains("* 1 EXISTS\r\n"), "{select}");

    tls.send(b"g FETCH 1 BODY.PEEK[]\r\n");
    let fetched = tls.until_tagged("g");
    let expected = message.replace('\n', "\r\n");
    let head = format!("* 1 FETCH (BODY[] {{{}}}\r\n", expected.len());
    assert!(
        fetched.starts_with(head.as_bytes()),
        "{:?}",
        String::from_utf8_lossy(&fetched[..fetched.len().min(200)])
    );
    let body = &fetched[head.len()..head.len() + expected.len()];
    assert!(body == expected.as_bytes(), "the body differs");
    assert!(
        fetched[head.len() + expected.len()..].starts_with(b")\r\ng OK "),
        "{:?}",
        String::from_utf8_lossy(&fetched[head.len() + expected.len()..])
    );

    tls.send(b"h LOGOUT\r\n");
    // The stream ends with close_notify: a read error (UnexpectedEof) would panic in fill.
    let rest = String::from_utf8_lossy(&tls.rest()).into_owned();
    assert!(rest.ends_with("h OK LOGOUT completed\r\n"), "{rest}");
    assert_eq!(finish(child), Some(0));
    let log = spool.log();
    assert!(log.contains("TLS started: TLSv1_3"), "{log}");
    assert_no_panic(&log);
}

#[test]
fn implicit_tls_greets_inside_tls() {
    let (spool, certs) = tls_spool("imapd_login_disabled true\n");
    let (socket, child) = connect(&spool, &["--tls"]);
    let tls = handshake(socket, client_config(&certs, &[b"imap"])).expect("handshake");
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"imap"[..]));
    let mut tls = Reader::new(tls);
    let greeting = tls.line();
    assert!(greeting.starts_with("* OK [CAPABILITY "), "{greeting}");
    assert!(greeting.contains(" AUTH=PLAIN"), "{greeting}");
    assert!(!greeting.contains("STARTTLS"), "{greeting}");
    assert!(!greeting.contains("LOGINDISABLED"), "{greeting}");
    assert!(tls.command("a", "LOGIN alice pw").contains("a OK "));
    // Many commands in one burst: several records decrypted by one read must all be answered
    // (the server drains rustls' plaintext before it polls the socket again).
    let burst: String = (0..3000).map(|i| format!("n{i} NOOP\r\n")).collect();
    tls.send(burst.as_bytes());
    let answers = String::from_utf8_lossy(&tls.until_tagged("n2999")).into_owned();
    assert_eq!(answers.matches(" OK NOOP completed\r\n").count(), 3000);
    tls.send(b"b LOGOUT\r\n");
    let rest = String::from_utf8_lossy(&tls.rest()).into_owned();
    assert!(rest.ends_with("b OK LOGOUT completed\r\n"), "{rest}");
    assert_eq!(finish(child), Some(0));
    let log = spool.log();
    assert!(log.contains("ALPN imap"), "{log}");
    assert_no_panic(&log);
}

#[test]
fn implicit_tls_without_alpn_is_served_and_a_foreign_alpn_is_refused() {
    let (spool, certs) = tls_spool("");
    let (socket, child) = connect(&spool, &["--tls"]);
    let tls = handshake(socket, client_config(&certs, &[])).expect("handshake");
    assert_eq!(tls.conn.alpn_protocol(), None);
    let mut tls = Reader::new(tls);
    assert!(tls.line().starts_with("* OK "));
    drop(tls);
    assert_eq!(finish(child), Some(0));

    // An HTTPS client sent to the IMAP port (the ALPACA attack) gets no session.
    let (socket, child) = connect(&spool, &["--tls"]);
    let refused = handshake(socket, client_config(&certs, &[b"http/1.1"]));
    assert!(refused.is_err());
    assert_eq!(finish(child), Some(0));
    let log = spool.log();
    assert!(log.contains("TLS handshake failed"), "{log}");
    assert_no_panic(&log);
}

#[test]
fn starttls_with_pipelined_plaintext_is_refused() {
    let (spool, _certs) = tls_spool("");
    let (socket, child) = connect(&spool, &[]);
    let mut plain = Reader::new(socket);
    assert!(plain.line().contains(" STARTTLS"));
    plain.send(b"a STARTTLS\r\nb LOGIN alice pw\r\n");
    let rest = String::from_utf8_lossy(&plain.rest()).into_owned();
    assert!(rest.starts_with("* BYE "), "{rest}");
    assert!(!rest.contains("Begin TLS"), "{rest}");
    assert!(!rest.contains("b OK"), "{rest}");
    assert_eq!(finish(child), Some(0));
    let log = spool.log();
    assert!(log.contains("plaintext pipelined after STARTTLS"), "{log}");
    assert!(!log.contains("alice"), "{log}");
    assert_no_panic(&log);
}

#[test]
fn a_failed_handshake_ends_quietly() {
    let (spool, _certs) = tls_spool("");
    let (socket, child) = connect(&spool, &[]);
    let mut plain = Reader::new(socket);
    plain.line();
    assert_eq!(
        plain.command("a", "STARTTLS"),
        "a OK Begin TLS negotiation now\r\n"
    );
    plain.send(b"GET / HTTP/1.0\r\n\r\n");
    // rustls answers with an alert (not plaintext), then the server closes.
    let rest = plain.rest();
    assert!(!rest.windows(4).any(|w| w == b"* OK"), "{rest:?}");
    assert_eq!(finish(child), Some(0));
    let log = spool.log();
    assert!(log.contains("TLS handshake failed"), "{log}");
    assert_no_panic(&log);
}

#[test]
fn unusable_tls_files_mean_no_starttls() {
    let spool = Spool::new("imapd_login_disabled true\n");
    let garbage = spool.dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a key\n").expect("write");
    let missing = spool.dir.path().join("missing.pem");
    spool.add_config(&format!(
        "imapd_tls_cert {}\nimapd_tls_key {}\n",
        text(&missing),
        text(&garbage)
    ));

    let (socket, child) = connect(&spool, &[]);
    let mut plain = Reader::new(socket);
    let greeting = plain.line();
    assert!(!greeting.contains("STARTTLS"), "{greeting}");
    assert!(greeting.contains(" LOGINDISABLED"), "{greeting}");
    assert!(plain.command("a", "STARTTLS").starts_with("a BAD "));
    assert!(plain.command("b", "LOGIN alice pw").starts_with("b NO "));
    plain.send(b"c LOGOUT\r\n");
    plain.rest();
    assert_eq!(finish(child), Some(0));
    let log = spool.log();
    assert!(
        log.contains(&format!(
            "TLS is not available: cannot read {}",
            text(&missing)
        )),
        "{log}"
    );
    assert_no_panic(&log);

    // imapd --tls cannot serve: it closes without a byte and exits 1.
    let (socket, child) = connect(&spool, &["--tls"]);
    let mut tls = Reader::new(socket);
    assert!(tls.rest().is_empty());
    assert_eq!(finish(child), Some(1));

    let out = Command::new(env!("CARGO_BIN_EXE_imapd"))
        .arg("-i")
        .arg(&spool.config)
        .arg("check-config")
        .stdin(Stdio::null())
        .output()
        .expect("run check-config");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains(&format!(
            ": error: imapd_tls_cert: cannot read {}: No such file or directory",
            text(&missing)
        )),
        "{report}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn key_formats_and_refusals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = Certs::new(dir.path());
    let path = |name: &str| dir.path().join(name);
    let utf8 = |p: &std::path::Path| Utf8Path::new(text(p)).to_owned();
    let (cert, key) = (utf8(&certs.cert), utf8(&certs.key));

    // PKCS#8 (openssl's default) and SEC1 EC keys.
    let config = server_config(&cert, &key).expect("PKCS#8");
    assert_eq!(config.alpn_protocols, [b"imap".to_vec()]);
    openssl(&[
        "ec",
        "-in",
        text(&certs.key),
        "-out",
        text(&path("sec1.key")),
    ]);
    let sec1 = std::fs::read_to_string(path("sec1.key")).expect("read");
    assert!(sec1.contains("BEGIN EC PRIVATE KEY"), "{sec1}");
    server_config(&cert, &utf8(&path("sec1.key"))).expect("SEC1");

    // A PKCS#1 RSA key with its own certificate.
    openssl(&[
        "genrsa",
        "-traditional",
        "-out",
        text(&path("rsa.key")),
        "2048",
    ]);
    let pkcs1 = std::fs::read_to_string(path("rsa.key")).expect("read");
    assert!(pkcs1.contains("BEGIN RSA PRIVATE KEY"), "{pkcs1}");
    openssl(&[
        "req",
        "-x509",
        "-key",
        text(&path("rsa.key")),
        "-subj",
        "/CN=localhost",
        "-days",
        "2",
        "-out",
        text(&path("rsa.pem")),
    ]);
    let rsa_cert = utf8(&path("rsa.pem"));
    server_config(&rsa_cert, &utf8(&path("rsa.key"))).expect("PKCS#1");

    // A key that is not the certificate's.
    let e = server_config(&rsa_cert, &key).expect_err("mismatch");
    assert!(matches!(e, TlsError::Rejected { .. }), "{e}");
    assert_eq!(e.file(), TlsFile::Key);
    // A key where the certificate should be, and the other way round.
    let e = server_config(&key, &key).expect_err("no certificate");
    assert!(matches!(e, TlsError::NoCertificate { .. }), "{e}");
    assert!(e.to_string().contains(key.as_str()), "{e}");
    let e = server_config(&cert, &cert).expect_err("no key");
    assert!(matches!(e, TlsError::NoKey { .. }), "{e}");
    assert_eq!(e.file().setting(), "imapd_tls_key");
    let e = server_config(&cert, Utf8Path::new("/nonexistent/key.pem")).expect_err("missing");
    assert!(
        matches!(
            e,
            TlsError::Read {
                file: TlsFile::Key,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("/nonexistent/key.pem"), "{e}");
}

#[test]
fn openssl_s_client_starttls() {
    let (spool, certs) = tls_spool("imapd_login_disabled true\n");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut client = Command::new("openssl")
        .args([
            "s_client",
            "-starttls",
            "imap",
            "-quiet",
            "-crlf",
            "-verify_return_error",
        ])
        .arg("-CAfile")
        .arg(&certs.ca)
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl s_client");
    let (socket, _) = listener.accept().expect("accept");
    let server = spool.spawn_on_with(OwnedFd::from(socket), &[]);
    // s_client reads this only once TLS is up; -quiet keeps it reading after end of input.
    client
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a LOGIN alice pw\nb CAPABILITY\nc LOGOUT\n")
        .expect("write");
    let out = client.wait_with_output().expect("wait for s_client");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("a OK "), "{text}");
    assert!(text.contains("c OK LOGOUT completed"), "{text}");
    assert_eq!(finish(server), Some(0));
    let log = spool.log();
    assert!(log.contains("TLS started"), "{log}");
    assert_no_panic(&log);
}
