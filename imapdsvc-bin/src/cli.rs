//! The command line of `imapdsvc`: the clap definitions and nothing else.
//!
//! This module only describes arguments; it must never act on them or read the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use camino::Utf8PathBuf;
use clap::{ColorChoice, CommandFactory, Parser, ValueEnum};

/// `imapdsvc --version` prints `imapdsvc (dmail-imapd) VERSION`.
const VERSION: &str = concat!("(dmail-imapd) ", env!("CARGO_PKG_VERSION"));

/// The DMail-compatible IMAP service: listens on the IMAP ports and serves every connection,
/// in the foreground.
#[derive(Debug, Parser)]
#[command(
    name = "imapdsvc",
    version = VERSION,
    about = "imapdsvc: the DMail-compatible IMAP service (runs in the foreground)",
    color = ColorChoice::Never
)]
pub struct Cli {
    /// Read this dmail.conf instead of the default (/etc/dmail.conf on Unix)
    #[arg(short = 'i', value_name = "FILE")]
    pub config: Option<Utf8PathBuf>,

    /// Listen for plain IMAP (STARTTLS when a certificate is configured) here; repeatable.
    /// Default: dpop_host, else every IPv4 and IPv6 address, port 143
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Vec<SocketAddr>,

    /// Listen for implicit-TLS IMAP here; repeatable. Default: port 993 on the plain
    /// listeners' addresses when imapd_tls_cert is configured
    #[arg(long = "listen-tls", value_name = "ADDR:PORT")]
    pub listen_tls: Vec<SocketAddr>,

    /// Write the process id here (for DWatch's `pidf`); removed on a clean stop
    #[arg(long, value_name = "PATH")]
    pub pidfile: Option<PathBuf>,

    /// The imapd binary that serves each connection in spawn mode. Default: `imapd` next to
    /// this executable
    #[arg(long, value_name = "PATH")]
    pub imapd: Option<PathBuf>,

    /// How connections are served: `auto` spawns one imapd per connection when sessions run as
    /// unix users (authent_method unix_user with imapd_become_user true), else serves them in
    /// this process
    #[arg(long, value_enum, default_value_t = ModeChoice::Auto)]
    pub mode: ModeChoice,

    /// Try it out: serve a throwaway spool (user demo, password demo, a few messages) on
    /// 127.0.0.1:1143 until Ctrl-C, then remove it
    #[arg(long, conflicts_with_all = ["config", "listen", "listen_tls", "pidfile", "imapd"])]
    pub demo: bool,

    /// The demo's external authenticator (the demo runs this itself)
    #[arg(long = "demo-authenticator", hide = true)]
    pub demo_authenticator: bool,
}

/// `--mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeChoice {
    /// Chosen from dmail.conf.
    Auto,
    /// One `imapd -i CONF` per connection, the socket as its stdin and stdout.
    Spawn,
    /// Sessions in this process (refused when sessions must switch user).
    InProcess,
}

/// The whole `imapdsvc` command line as a clap [`clap::Command`], for generated documentation
/// (the manual page); the binary parses with [`Cli`] itself.
///
/// ```
/// let cmd = imapdsvc_bin::cli::command();
/// assert_eq!(cmd.get_name(), "imapdsvc");
/// ```
pub fn command() -> clap::Command {
    Cli::command()
}
