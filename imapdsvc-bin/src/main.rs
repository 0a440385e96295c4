//! `imapdsvc`: the listening DMail-compatible IMAP service (ports 143 and 993), run in the
//! foreground by DWatch, systemd or init.
//!
//! This file only wires the modules together: the command line ([`cli`]), the accept loop and
//! signals ([`service`]), the two ways of serving a connection ([`inproc`], [`spawn`]), the
//! connection counts ([`limits`]) and the one-command demo ([`demo`]). It must never fork into the background or re-spawn itself
//! (DWatch checks the PID in the pid file, dmail-conventions §10).
#![deny(unsafe_code)]

mod demo;
mod inproc;
mod limits;
mod service;
mod spawn;
#[cfg(windows)]
mod windows;

use std::process::ExitCode;

use clap::Parser;
use imapdsvc_bin::cli;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if cli.demo_authenticator {
        return demo::authenticator_main();
    }
    if cli.demo {
        return demo::run();
    }
    #[cfg(windows)]
    if windows::run_as_service(&cli) {
        return ExitCode::SUCCESS;
    }
    ExitCode::from(service::run(&cli))
}
