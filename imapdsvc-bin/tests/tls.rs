//! TLS through imapdsvc: STARTTLS on the plain listener and implicit TLS on a `--listen-tls`
//! listener, in-process (imapd_bin::tls in this process) and in spawn mode (imapdsvc passes
//! `--tls` to the imapd it spawns). The client is rustls, trusting a CA the test makes with the
//! `openssl` command (imapd-bin's `Certs`).

#![allow(clippy::expect_used)]

#[path = "../../imapd-bin/tests/common/mod.rs"]
mod common;
mod svc;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use common::{Certs, Spool};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use svc::{Svc, free_port};

fn client_config(certs: &Certs) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&certs.ca).expect("read CA"))
        .expect("add CA");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

type Tls = StreamOwned<ClientConnection, TcpStream>;

fn handshake(socket: TcpStream, certs: &Certs) -> Tls {
    let name = ServerName::try_from("localhost").expect("name");
    let conn = ClientConnection::new(client_config(certs), name).expect("client");
    let mut tls = StreamOwned::new(conn, socket);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).expect("handshake");
    }
    tls
}

/// Sends `command` with tag `tag` and returns every line up to the tagged one.
fn command<S: Read + Write>(r: &mut BufReader<S>, tag: &str, command: &str) -> Vec<String> {
    r.get_mut()
        .write_all(format!("{tag} {command}\r\n").as_bytes())
        .expect("send");
    r.get_mut().flush().expect("flush");
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(r.read_line(&mut line).expect("read") > 0, "{lines:?}");
        let done = line.starts_with(&format!("{tag} "));
        lines.push(line);
        if done {
            return lines;
        }
    }
}

fn line<S: Read>(r: &mut BufReader<S>) -> String {
    let mut line = String::new();
    r.read_line(&mut line).expect("read");
    line
}

fn tls_spool() -> (Spool, Certs) {
    let spool = Spool::new("imapd_login_disabled true\n");
    let certs = Certs::new(spool.dir.path());
    spool.add_config(&certs.config_lines());
    spool.write_mail("alice", common::MANUAL_MESSAGE);
    (spool, certs)
}

fn socket(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(svc::WAIT)).expect("timeout");
    s
}

/// A logged-in session over `tls` selects INBOX and logs out.
fn use_session(tls: &mut BufReader<Tls>) {
    let login = command(tls, "e", "LOGIN alice pw");
    assert!(
        login.last().is_some_and(|l| l.starts_with("e OK")),
        "{login:?}"
    );
    let select = command(tls, "f", "SELECT INBOX");
    assert!(select.contains(&"* 1 EXISTS\r\n".to_owned()), "{select:?}");
    let logout = command(tls, "g", "LOGOUT");
    assert!(
        logout.last().is_some_and(|l| l.starts_with("g OK")),
        "{logout:?}"
    );
}

fn starttls(mode: &str) {
    let (spool, certs) = tls_spool();
    // A certificate makes port 993 a default listener: another port, so tests do not clash.
    let tls_addr = free_port();
    let service = Svc::start_with(&spool, mode, &["--listen-tls", &tls_addr.to_string()]);
    let mut plain = BufReader::new(socket(service.addr));
    let greeting = line(&mut plain);
    assert!(greeting.contains(" STARTTLS"), "{greeting}");
    assert!(greeting.contains(" LOGINDISABLED"), "{greeting}");
    let refused = command(&mut plain, "a", "LOGIN alice pw");
    assert!(
        refused[0].starts_with("a NO [PRIVACYREQUIRED]"),
        "{refused:?}"
    );
    let ok = command(&mut plain, "b", "STARTTLS");
    assert_eq!(ok, vec!["b OK Begin TLS negotiation now\r\n".to_owned()]);
    let mut tls = BufReader::new(handshake(plain.into_inner(), &certs));
    let caps = command(&mut tls, "c", "CAPABILITY");
    assert!(
        !caps[0].contains("STARTTLS") && caps[0].contains("AUTH=PLAIN"),
        "{caps:?}"
    );
    use_session(&mut tls);
    common::assert_no_panic(&spool.log_named("imapdsvc"));
}

fn implicit(mode: &str) {
    let (spool, certs) = tls_spool();
    let tls_addr = free_port();
    let service = Svc::start_with(&spool, mode, &["--listen-tls", &tls_addr.to_string()]);
    let mut tls = BufReader::new(handshake(socket(tls_addr), &certs));
    let greeting = line(&mut tls);
    assert!(greeting.starts_with("* OK [CAPABILITY "), "{greeting}");
    assert!(!greeting.contains("STARTTLS"), "{greeting}");
    assert!(!greeting.contains("LOGINDISABLED"), "{greeting}");
    use_session(&mut tls);
    drop(service);
    common::assert_no_panic(&spool.log_named("imapdsvc"));
}

#[test]
fn starttls_in_process() {
    starttls("in-process");
}

#[test]
fn implicit_tls_in_process() {
    implicit("in-process");
}

#[test]
fn starttls_in_spawn_mode() {
    starttls("spawn");
}

#[test]
fn implicit_tls_in_spawn_mode() {
    implicit("spawn");
}
