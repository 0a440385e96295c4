//! Fault injection for the crash tests: runs one mailbox operation that rewrites the file, with
//! a crash point armed, so that the process aborts (as if killed) at that step of the rewrite
//! (mailbox-formats.md §2, "Crash safety").
//!
//! `cargo run -p dmail-store --example crash_rewrite -- MAILBOX PRIVATE_DIR STEP NTH ACTION`
//!
//! - STEP, NTH: `dmail_store::failpoint::arm(STEP, NTH)`; STEP `none` arms nothing.
//! - ACTION `stamp`: opens the mailbox read-write, which stamps new mail (a rewrite).
//! - ACTION `expunge`: opens it read-write, sets `\Deleted` on every other message of the
//!   snapshot (the first, third, ...), printing each one's `Subject:` value on stdout (all of
//!   them, flushed, before anything is written), then expunges them.
//! - ACTION `flags-grow`: opens it read-write and adds the keyword `KEYWORD` to every message
//!   of the snapshot; the name is too long for any status block's padding, so every message is
//!   rewritten.
//! - ACTION `flags-new`: the same with `SHORT_KEYWORD`, which fits every status block's padding
//!   but is new to the keyword list (in the pseudo-message), so the file is rewritten from the
//!   top.
//!
//! The mailbox's IMAP name is `INBOX` (its private files are `PRIVATE_DIR/INBOX.*`). The clock
//! is fixed at `NOW` (UTC) and the host is `mail.example.com`, so a test can reproduce a
//! rewrite byte for byte in its own process. Exit 0 when the action completed; 1 with the reason
//! on stderr when it failed; killed by SIGABRT when the armed step was reached. A test tool.

use std::io::Write;
use std::process::ExitCode;

use dmail_store::mbox::engine::{MboxMailbox, MboxOptions, MboxPaths};
use dmail_store::store::{FlagOp, Mailbox};
use dmail_store::{SystemFlags, Uid, failpoint};

/// The keyword `flags-grow` adds (longer than the padding of a status block).
const KEYWORD: &str = "$CrashTestKeywordTooLongToFitThePadding";
/// The keyword `flags-new` adds (short enough for the padding).
const SHORT_KEYWORD: &str = "$Fits";
/// The fixed clock: seconds since 1970.
const NOW: i64 = 1_700_000_000;

const USAGE: &str =
    "usage: crash_rewrite MAILBOX PRIVATE_DIR STEP NTH stamp|expunge|flags-grow|flags-new";

/// The options the crash tests use, in this program and in the tests.
fn options() -> MboxOptions {
    let mut o = MboxOptions::new("crash", "mail.example.com");
    o.now = || NOW;
    o.local_offset = |_| 0;
    o
}

/// The value of the first `Subject:` header of a message in client form.
fn subject(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    text.split("\r\n")
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("Subject:"))
        .unwrap_or("")
        .trim()
        .to_owned()
}

fn run(paths: MboxPaths, action: &str) -> Result<(), String> {
    let open = |paths| MboxMailbox::open(paths, false, options()).map_err(|e| e.to_string());
    match action {
        "stamp" => {
            open(paths)?;
        }
        "expunge" => {
            let mut m = open(paths)?;
            let uids: Vec<Uid> = m.messages().iter().step_by(2).map(|x| x.uid).collect();
            let mut listing = String::new();
            for uid in &uids {
                let mut bytes = Vec::new();
                m.read(*uid, None, &mut bytes).map_err(|e| e.to_string())?;
                listing.push_str(&subject(&bytes));
                listing.push('\n');
            }
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(listing.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| format!("stdout: {e}"))?;
            m.store_flags(&uids, FlagOp::Add, SystemFlags::DELETED, &[])
                .map_err(|e| e.to_string())?;
            m.expunge(Some(&uids)).map_err(|e| e.to_string())?;
        }
        "flags-grow" | "flags-new" => {
            let keyword = if action == "flags-grow" {
                KEYWORD
            } else {
                SHORT_KEYWORD
            };
            let mut m = open(paths)?;
            let uids: Vec<Uid> = m.messages().iter().map(|x| x.uid).collect();
            m.store_flags(
                &uids,
                FlagOp::Add,
                SystemFlags::EMPTY,
                &[keyword.to_owned()],
            )
            .map_err(|e| e.to_string())?;
        }
        _ => return Err(USAGE.to_owned()),
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mailbox, private_dir, step, nth, action] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let Ok(nth) = nth.parse::<u32>() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let paths = MboxPaths::new(mailbox.into(), private_dir.into(), "INBOX");
    if step != "none" {
        failpoint::arm(step, nth);
    }
    match run(paths, action) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crash_rewrite: {e}");
            ExitCode::FAILURE
        }
    }
}
