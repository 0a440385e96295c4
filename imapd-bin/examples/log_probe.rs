//! Test-only: writes to a DMail log (`imapd_bin::log`, dmail-conventions §9) from a process of
//! its own, so `tests/log.rs` can run several writers at once, run one as another user, and
//! let one panic.
//!
//! ```text
//! log_probe DIR MAX_SIZE lines TAG COUNT   writes COUNT info lines "TAG NNNN" to DIR/imapd.log
//! log_probe DIR MAX_SIZE panic             installs the panic hook, then panics
//! ```
//!
//! Exits 0 after writing, 1 if the log cannot be opened, 2 on usage errors (those two print
//! to stderr: this is a test program, not the server).

use std::process::ExitCode;

use camino::Utf8Path;
use dmail_conf::values::LogLevel;
use imapd_bin::log::{Log, install_panic_hook};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (dir, max_size, rest) = match args.as_slice() {
        [dir, max, rest @ ..] => match max.parse::<u64>() {
            Ok(max) => (Utf8Path::new(dir), max, rest),
            Err(_) => return usage(),
        },
        _ => return usage(),
    };
    let log = match Log::open(dir, "imapd", LogLevel::Debug, max_size) {
        Ok(log) => log,
        Err(e) => {
            eprintln!("log_probe: cannot open the log in {dir}: {e}");
            return ExitCode::from(1);
        }
    };
    match rest {
        ["lines", tag, count] => {
            let Ok(count) = count.parse::<u32>() else {
                return usage();
            };
            for i in 0..count {
                log.info(format_args!("{tag} {i:04}"));
            }
            ExitCode::SUCCESS
        }
        ["panic"] => {
            install_panic_hook(log);
            panic!("probe panic\nsecond line");
        }
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: log_probe DIR MAX_SIZE (lines TAG COUNT | panic)");
    ExitCode::from(2)
}
