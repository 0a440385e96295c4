//! Plays DPOP's "burst": under the dot-lock and an exclusive flock, copies every message out of
//! a drop file, then truncates the drop file to 0.
//!
//! `cargo run -p dmail-store --example burst -- [--journal FILE] DROPFILE [OUTDIR]`
//!
//! With `--journal` (the drop file's undo journal, `FOLDERDIR/.imapd/INBOX.journal`), a rewrite
//! of ours interrupted by a crash is undone first, as every opener of ours does
//! (mailbox-formats.md §2); without it, burst plays a foreign DPOP.
//!
//! Without OUTDIR the messages go to stdout, one after another, exactly as stored. With OUTDIR
//! (which must exist) each message, as stored from its `From ` line to the next one, goes to a
//! file `000001`, `000002`, ... (bytes before the first `From ` line, if any, go to `000000`).
//! The count is printed on stderr. Exit 0 on success, 1 with the reason on stderr. A test tool.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::process::ExitCode;

use camino::Utf8PathBuf;
use dmail_store::lock::{LockMode, LockOptions, MailboxLock};
use dmail_store::mbox::from_line::is_valid;

/// Where each message starts: every line start whose line passes VALID.
fn message_starts(data: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let end = memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |i| at + i + 1);
        if is_valid(&data[at..end]) {
            starts.push(at);
        }
        at = end;
    }
    starts
}

fn run(
    drop_file: Utf8PathBuf,
    out_dir: Option<Utf8PathBuf>,
    journal: Option<Utf8PathBuf>,
) -> Result<usize, String> {
    let mut open = OpenOptions::new();
    open.read(true).write(true);
    let lock = MailboxLock::acquire(
        &drop_file,
        &open,
        LockMode::Exclusive,
        &LockOptions::delivery(),
    )
    .map_err(|e| e.to_string())?;
    if let Some(journal) = journal {
        dmail_store::mbox::journal::recover(journal.as_std_path(), lock.file())
            .map_err(|e| format!("{journal}: recovering: {e}"))?;
    }
    let mut data = Vec::new();
    let mut file: &std::fs::File = lock.file();
    file.read_to_end(&mut data)
        .map_err(|e| format!("{drop_file}: {e}"))?;
    let mut bounds = message_starts(&data);
    let leading_junk = bounds.first() != Some(&0) && !data.is_empty();
    if leading_junk {
        bounds.insert(0, 0);
    }
    bounds.push(data.len());
    let mut stdout = std::io::stdout().lock();
    let first_number = usize::from(!leading_junk);
    for (i, pair) in bounds.windows(2).enumerate() {
        let message = &data[pair[0]..pair[1]];
        match &out_dir {
            Some(dir) => {
                let path = dir.join(format!("{:06}", i + first_number));
                std::fs::write(&path, message).map_err(|e| format!("{path}: {e}"))?;
            }
            None => stdout
                .write_all(message)
                .map_err(|e| format!("stdout: {e}"))?,
        }
    }
    stdout.flush().map_err(|e| format!("stdout: {e}"))?;
    file.set_len(0)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{drop_file}: truncating: {e}"))?;
    Ok(bounds.len() - 1 - usize::from(leading_junk))
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let journal = match args.first().map(String::as_str) {
        Some("--journal") if args.len() >= 2 => {
            let j = Utf8PathBuf::from(args.remove(1));
            args.remove(0);
            Some(j)
        }
        _ => None,
    };
    let (drop_file, out_dir) = match args.as_slice() {
        [d] if !d.starts_with("--") => (Utf8PathBuf::from(d), None),
        [d, o] if !d.starts_with("--") => (Utf8PathBuf::from(d), Some(Utf8PathBuf::from(o))),
        _ => {
            eprintln!("usage: burst [--journal FILE] DROPFILE [OUTDIR]");
            return ExitCode::FAILURE;
        }
    };
    match run(drop_file, out_dir, journal) {
        Ok(n) => {
            eprintln!("burst: {n} messages");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("burst: {e}");
            ExitCode::FAILURE
        }
    }
}
