//! `imapdsvc`: the listening DMail-compatible IMAP service (ports 143 and 993), run in the
//! foreground by DWatch, systemd or init.
//!
//! This file only wires the modules together: the command line ([`cli`]), the accept loop and
//! signals ([`service`]), the two ways of serving a connection ([`inproc`], [`spawn`]) and the
//! connection counts ([`limits`]). It must never fork into the background or re-spawn itself
//! (DWatch checks the PID in the pid file, dmail-conventions §10).
#![deny(unsafe_code)]

mod cli;
mod inproc;
mod limits;
mod service;
mod spawn;
#[cfg(windows)]
mod windows;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    #[cfg(windows)]
    if windows::run_as_service(&cli) {
        return ExitCode::SUCCESS;
    }
    ExitCode::from(service::run(&cli))
}
