//! Test-only: one whole login as the server does it — `dmail_auth::policy::login` with the
//! configured authenticator, then `imapd_bin::login::start_session` (dmail-conventions §11) —
//! in a process of its own, since switching user cannot be undone. Used by
//! `tests/login_steps.rs`; needs root for unix_user logins.
//!
//! ```text
//! login_probe CONFIG LOGIN [CLIENT-IP]      (the password is the first line of stdin)
//! ```
//!
//! Prints `ok`, `switched: true|false`, `drop_file: PATH`, `folder_dir: PATH`,
//! `bulletins: N`, then the `Uid:` and `Gid:` lines of
//! /proc/self/status. A refused password prints `failed: REASON` and exits 1; a failed step
//! prints `step: STEP`, `answer: LOGIN failed|UNAVAILABLE`, `close: true|false` and
//! `error: REASON`, and exits 1. Usage errors exit 2.

use std::io::BufRead;
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::SystemTime;

use dmail_auth::{Password, for_config, login};
use dmail_conf::{Platform, Program, load};
use imapd_bin::login::{ClientAnswer, start_session};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(config_path), Some(name)) = (args.first(), args.get(1)) else {
        eprintln!("usage: login_probe CONFIG LOGIN [CLIENT-IP]");
        return ExitCode::from(2);
    };
    let client_ip: Option<IpAddr> = match args.get(2).map(|a| a.parse()) {
        None => None,
        Some(Ok(ip)) => Some(ip),
        Some(Err(e)) => {
            eprintln!("login_probe: bad client address: {e}");
            return ExitCode::from(2);
        }
    };
    let config = match load(
        config_path.as_str().into(),
        Program::Imapd,
        Platform::current(),
    ) {
        Ok(loaded) => loaded.config,
        Err(e) => {
            eprintln!("login_probe: {config_path}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        eprintln!("login_probe: cannot read the password");
        return ExitCode::from(2);
    }
    let password = Password::new(line.trim_end_matches(['\r', '\n']).as_bytes().to_vec());

    let mut authenticator = match for_config(&config) {
        Ok(a) => a,
        Err(e) => {
            println!("failed: {e}");
            return ExitCode::from(1);
        }
    };
    let logged_in = match login(
        &config,
        authenticator.as_mut(),
        name.as_bytes(),
        &password,
        client_ip,
        None,
    ) {
        Ok(l) => l,
        Err(e) => {
            println!("failed: {e}");
            return ExitCode::from(1);
        }
    };
    let start = start_session(
        &config,
        &logged_in,
        client_ip,
        authenticator.as_mut(),
        "probe.example",
        SystemTime::now(),
    );
    let start = match start {
        Ok(start) => start,
        Err(e) => {
            let answer = match e.answer() {
                ClientAnswer::LoginFailed => "LOGIN failed",
                ClientAnswer::Unavailable => "UNAVAILABLE",
            };
            println!("step: {}", e.step());
            println!("answer: {answer}");
            println!("close: {}", e.closes_connection());
            println!("error: {e}");
            return ExitCode::from(1);
        }
    };
    println!("ok");
    println!("switched: {}", start.switched);
    println!("drop_file: {}", start.paths.drop_file);
    println!("folder_dir: {}", start.paths.folder_dir);
    println!(
        "bulletins: {}",
        start.bulletins.as_ref().map_or(0, |r| r.delivered.len())
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status.lines() {
        if line.starts_with("Uid:") || line.starts_with("Gid:") {
            println!("{line}");
        }
    }
    ExitCode::SUCCESS
}
