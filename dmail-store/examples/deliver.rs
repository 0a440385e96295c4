//! Plays DSMTP: delivers the message on stdin into a drop file.
//!
//! `cargo run -p dmail-store --example deliver -- [--from SENDER] [--journal FILE] DROPFILE < message`
//!
//! Exit 0 when delivered; otherwise the reason on stderr and exit 1. A test tool: the spool
//! directory must exist; the date is now, in the local zone.

use std::io::Read;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use dmail_store::InternalDate;
use dmail_store::civil::local_offset_minutes;
use dmail_store::deliver::{DeliverOptions, deliver};
use dmail_store::layout::DropPath;

const USAGE: &str = "usage: deliver [--from SENDER] [--journal FILE] DROPFILE < message";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut sender = String::new();
    let mut drop_file = None;
    let mut options = DeliverOptions::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--journal" => match args.next() {
                Some(j) => options.journal = Some(j.into()),
                None => return fail(USAGE),
            },
            "--from" => match args.next() {
                Some(s) => sender = s,
                None => return fail(USAGE),
            },
            _ if drop_file.is_none() && !arg.starts_with("--") => drop_file = Some(arg),
            _ => return fail(USAGE),
        }
    }
    let Some(drop_file) = drop_file else {
        return fail(USAGE);
    };
    let mut message = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut message) {
        return fail(&format!("deliver: reading stdin: {e}"));
    }
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    let date = InternalDate {
        unix,
        offset_minutes: local_offset_minutes(unix),
    };
    let drop_path = DropPath::new(drop_file.into());
    match deliver(&drop_path, &sender, &message, date, &options) {
        Ok(report) => {
            if let Some(dir) = report.dot_lock_skipped {
                eprintln!("deliver: {dir} is not writable: locked with flock alone");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("deliver: {e}")),
    }
}

fn fail(text: &str) -> ExitCode {
    eprintln!("{text}");
    ExitCode::FAILURE
}
