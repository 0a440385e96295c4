//! `imapd`: the DMail-compatible IMAP server as inetd runs it, and its admin commands
//! (`check-config`, `whereis`, `auth-test`).
//!
//! This file only wires the modules together and owns the exit codes: 0 success (in server
//! mode: the session ended, however the client left, a failed TLS handshake included), 1 failure
//! (the server could not read its configuration and said BYE, `--tls` without a usable
//! certificate, `check-config` found errors, a login failed), 2 usage
//! (bad command line, a login that maps to no mailbox, `auth-test` with an unreadable
//! configuration, or a set-uid caller refused), 3 a temporary authentication failure
//! (`auth-test`). It must never read the environment: a set-uid `imapd` takes nothing from it
//! (dmail-conventions §11).

mod auth_test;
mod check_config;
mod home;
mod privilege;
mod server;
mod whereis;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use dmail_conf::Platform;

use crate::privilege::{Decision, Ids};
use imapd_bin::cli::{Cli, Command};

/// Success.
const EXIT_OK: u8 = 0;
/// The server refused the client, the configuration has errors or cannot be read.
const EXIT_FAILURE: u8 = 1;
/// A usage error, an unmappable login, or a refused set-uid caller.
const EXIT_USAGE: u8 = 2;
/// The authenticator could not answer (`auth-test`).
const EXIT_UNAVAILABLE: u8 = 3;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and --version go to stdout and succeed; every other error is usage.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    if (cli.tls || cli.session_slots.is_some()) && cli.command.is_some() {
        // clap cannot tie a top-level flag to the absence of a subcommand; say it its way.
        let e = Cli::command().error(
            clap::error::ErrorKind::ArgumentConflict,
            "--tls and --session-slots are for server mode: they cannot be used with a \
             subcommand",
        );
        let _ = e.print();
        return ExitCode::from(EXIT_USAGE);
    }
    // --session-slots makes root create files where it says: as privileged as -i.
    let decision = privilege::decide(
        Ids::current(),
        cli.config.is_some() || cli.session_slots.is_some(),
        cli.command.is_some(),
    );
    if decision == Decision::Refuse {
        return fail(privilege::REFUSAL, EXIT_USAGE);
    }
    let Some(command) = cli.command else {
        return ExitCode::from(
            match server::serve(cli.config, cli.tls, cli.session_slots) {
                server::Ended::Served => EXIT_OK,
                server::Ended::Refused => EXIT_FAILURE,
            },
        );
    };
    let config_path = cli
        .config
        .unwrap_or_else(|| dmail_conf::defaults::config_path(Platform::current()));
    match command {
        Command::CheckConfig => {
            let report = check_config::run(&config_path);
            let code = if report.has_errors {
                EXIT_FAILURE
            } else {
                EXIT_OK
            };
            print(&report.text, code)
        }
        Command::Whereis(args) => match whereis::run(&config_path, &args) {
            Ok(text) => print(&text, EXIT_OK),
            Err(whereis::Failure::Unreadable(line)) => fail(&line, EXIT_FAILURE),
            Err(whereis::Failure::Unmappable(line)) => fail(&line, EXIT_USAGE),
        },
        Command::AuthTest(args) => {
            match auth_test::run(&config_path, &args, &mut std::io::stdin().lock()) {
                auth_test::Outcome::Ok(text) => print(&text, EXIT_OK),
                auth_test::Outcome::Failed(reason) => {
                    print(&format!("failed: {reason}\n"), EXIT_FAILURE)
                }
                auth_test::Outcome::Unavailable(reason) => {
                    print(&format!("unavailable: {reason}\n"), EXIT_UNAVAILABLE)
                }
                auth_test::Outcome::Unreadable(line) => fail(&line, EXIT_USAGE),
            }
        }
    }
}

/// Writes `text` to stdout and exits with `code`, or with 1 if stdout cannot be written.
fn print(text: &str, code: u8) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::from(code),
        Err(e) => fail(
            &format!("imapd: cannot write to standard output: {e}"),
            EXIT_FAILURE,
        ),
    }
}

/// Writes one line to stderr and exits with `code`.
fn fail(line: &str, code: u8) -> ExitCode {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    ExitCode::from(code)
}
