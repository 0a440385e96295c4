//! `imapd whereis`: where a login's mail lives (dmail-conventions §3 and §5), as the server
//! would compute it.
//!
//! This module only computes and formats paths; it must never create, open or stat a mailbox,
//! never print (main does), and never report the configuration's diagnostics (the server would
//! use defaults for bad lines, and so does this).

use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;

use camino::Utf8Path;
use dmail_conf::{Platform, Program, load, unreadable_diagnostic};
use dmail_store::layout::{mail_paths, needs_home};

use crate::home::system_home;
use imapd_bin::cli::WhereisArgs;

/// Why there is nothing to show.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The configuration cannot be read: the line for stderr.
    Unreadable(String),
    /// The login maps to no path: the line for stderr.
    Unmappable(String),
}

/// The lines for stdout, or why there are none.
pub(crate) fn run(config_path: &Utf8Path, args: &WhereisArgs) -> Result<String, Failure> {
    let loaded = load(config_path, Program::Imapd, Platform::current()).map_err(|err| {
        let reason = unreadable_diagnostic(&err).reason;
        Failure::Unreadable(format!("whereis: {config_path}: {reason}"))
    })?;
    let login = args.login.as_bytes();
    locate(&loaded.config, login, args.local_ip, args.home.as_deref()).map_err(|reason| {
        let shown = String::from_utf8_lossy(login);
        Failure::Unmappable(format!("whereis: {shown}: {reason}"))
    })
}

/// Resolves `login` and computes its paths; the error is the reason, in words.
fn locate(
    config: &dmail_conf::Config,
    login: &[u8],
    local_ip: Option<IpAddr>,
    home: Option<&Utf8Path>,
) -> Result<String, String> {
    let resolved = config
        .resolve_login(login, local_ip)
        .map_err(|e| e.to_string())?;
    let home = if needs_home(config, &resolved) {
        Some(match home {
            Some(home) => home.to_owned(),
            None => system_home(&resolved.system_name)?,
        })
    } else {
        None
    };
    let paths = mail_paths(config, &resolved, home.as_deref()).map_err(|e| e.to_string())?;
    let domain = resolved.domain_name(config).unwrap_or("-");
    let maildir = paths.maildir.as_ref().map_or("-", |p| p.as_str());
    Ok(format!(
        "user: {}\ndomain: {domain}\ndrop_file: {}\nfolder_dir: {}\nsubscriptions: {}\nmaildir: {maildir}\n",
        resolved.local, paths.drop_file, paths.folder_dir, paths.subscriptions
    ))
}
