//! Criterion benchmark of the external authenticator client (dmail-conventions §3a): one
//! `check bob secret 192.0.2.1` round trip through a warm (already started) fake authenticator
//! child (`examples/fake_authent.rs`). Target: at most 200 µs per round trip.
//!
//! `cargo bench` does not build examples: the fake is built here with
//! `cargo build --release -p dmail-auth --examples` when it is missing.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use dmail_auth::{External, Password};
use dmail_conf::Platform;
use dmail_conf::values::{CommandLine, SettingValue};

fn fake_authent() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples")
        .join("fake_authent");
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "-p", "dmail-auth", "--examples"])
            .status()
            .expect("run cargo");
        assert!(status.success(), "cargo build --examples failed");
    }
    path
}

fn benches(c: &mut Criterion) {
    let line = fake_authent().display().to_string();
    let command = CommandLine::parse_value(&line, Platform::Unix).unwrap();
    let mut ext = External::new(command, Duration::from_secs(10));
    let password = Password::new(b"secret".to_vec());
    let ip: Option<IpAddr> = Some("192.0.2.1".parse().unwrap());
    // Warm: the child is started by the first request.
    ext.check("bob", &password, ip).unwrap();
    let pid = ext.child_id();
    c.bench_function("external_check_round_trip", |b| {
        b.iter(|| black_box(ext.check(black_box("bob"), &password, ip).unwrap()));
    });
    assert_eq!(
        ext.child_id(),
        pid,
        "the child was replaced during the bench"
    );
}

criterion_group!(external, benches);
criterion_main!(external);
