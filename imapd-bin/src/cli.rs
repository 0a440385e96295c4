//! The command line of `imapd`: the clap definitions and nothing else. It lives in the library
//! so that `cargo xtask man` can render the manual page from the same definitions the binary
//! parses with ([`command`]).
//!
//! This module only describes arguments. It must never act on them, and never read the
//! environment: no clap `env` attributes, and colours off, so that nothing (not even a colour
//! choice) is taken from the environment of a set-uid process (dmail-conventions §11).

use std::ffi::OsString;
use std::net::IpAddr;

use camino::Utf8PathBuf;
use clap::{ColorChoice, CommandFactory, Parser, Subcommand};

/// `imapd --version` prints `imapd (dmail-imapd) VERSION`.
const VERSION: &str = concat!("(dmail-imapd) ", env!("CARGO_PKG_VERSION"));

/// The DMail-compatible IMAP server, as inetd runs it, and its admin commands.
#[derive(Debug, Parser)]
#[command(
    name = "imapd",
    version = VERSION,
    about = "imapd: the DMail-compatible IMAP server",
    long_about = "imapd: the DMail-compatible IMAP server.\n\n\
        Without a subcommand it serves one IMAP client on standard input and output, as inetd \
        runs it. The subcommands are for administrators.",
    color = ColorChoice::Never,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Read this dmail.conf instead of the default (/etc/dmail.conf on Unix)
    #[arg(short = 'i', value_name = "FILE", global = true)]
    pub config: Option<Utf8PathBuf>,

    /// Server mode only: TLS from the first byte (an imaps inetd line, port 993), with the
    /// certificate and key of imapd_tls_cert and imapd_tls_key
    #[arg(long)]
    pub tls: bool,

    /// Server mode only, set by imapdsvc when it spawns imapd: count this session in the slot
    /// files of DIR against imapd_max_connections_per_user
    #[arg(long, value_name = "DIR", hide = true)]
    pub session_slots: Option<std::path::PathBuf>,

    /// The admin subcommand; without one, imapd serves the client on stdin and stdout
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The admin subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show every setting IMAPD honours with its effective value, then every problem found
    CheckConfig,
    /// Show where a login's mail lives: drop file, folder directory, subscriptions, maildir
    Whereis(WhereisArgs),
    /// Check a login's password as the server would; the password is read from standard input
    /// up to the first newline. Prints `ok` and the user's details, `failed: REASON` (exit 1) or
    /// `unavailable: REASON` (exit 3)
    AuthTest(AuthTestArgs),
}

/// `imapd whereis`.
#[derive(Debug, clap::Args)]
pub struct WhereisArgs {
    /// The address the client connected to (selects an IP virtual domain)
    #[arg(long, value_name = "ADDR")]
    pub local_ip: Option<IpAddr>,

    /// The user's home directory, instead of looking it up in the system database
    #[arg(long, value_name = "DIR")]
    pub home: Option<Utf8PathBuf>,

    /// The login name as a client would type it
    #[arg(value_name = "LOGIN")]
    pub login: OsString,
}

/// `imapd auth-test`.
#[derive(Debug, clap::Args)]
pub struct AuthTestArgs {
    /// The client's address (checked against user_ip_address, sent to an external
    /// authenticator)
    #[arg(long, value_name = "ADDR")]
    pub ip: Option<IpAddr>,

    /// The address the client connected to (selects an IP virtual domain)
    #[arg(long, value_name = "ADDR")]
    pub local_ip: Option<IpAddr>,

    /// The login name as a client would type it
    #[arg(value_name = "LOGIN")]
    pub login: OsString,
}

/// The whole `imapd` command line as a clap [`clap::Command`], for generated documentation
/// (the manual page); the binary parses with [`Cli`] itself.
pub fn command() -> clap::Command {
    Cli::command()
}
