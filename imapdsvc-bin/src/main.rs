//! `imapdsvc`: the listening DMail-compatible IMAP service (ports 143 and 993), supervised by
//! DWatch, systemd or init.
//!
//! The service is not built yet: this binary only answers `--help` and `--version`, and otherwise
//! says so on stderr (it is never run by inetd, so stderr is the operator's terminal or log).
#![deny(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

/// The DMail-compatible IMAP service (not built yet).
#[derive(Parser)]
#[command(name = "imapdsvc", version, about)]
struct Cli {}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    eprintln!("imapdsvc: the listening service is not built yet; run imapd from inetd");
    ExitCode::FAILURE
}
