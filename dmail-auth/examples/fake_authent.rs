//! A fake external authenticator (dmail-conventions §3a) for tests and benchmarks: it reads
//! requests on stdin and answers on stdout, behaving as its arguments say.
//!
//! ```text
//! fake_authent [--echo FILE] [--mode MODE] [--sleep SECS] [--data N] [--reply TEXT]
//!              [--exit-after N] [--ignore-exit] [--pid-file FILE]
//! ```
//!
//! - `--echo FILE`: append every line received, exactly as received (LF included), to FILE,
//!   before answering it.
//! - `--mode table` (the default): answer `check USER PASSWORD [IP]` from a small table:
//!   `bob secret` → `+OK bob /var/mail/bob 1001 quota="20000"`; `alice pw` → `+OK alice config`;
//!   `carol pw` → `+OK carol-real /var/mail/carol 0`; `bob@example.com secret` →
//!   `+OK bob@example.com /var/mail/bob 1001`; `sales@computers.com pw` →
//!   `+OK sales@computers.com config 2002`; `cc_sales pw` → `+OK cc_sales config 2002`.
//!   A known user with another password gets `-ERR bad password`, anyone else
//!   `-ERR unknown user`.
//! - `--mode slow`: sleep `--sleep` seconds (default 30) before each answer from the table.
//! - `--mode die`: write half a reply, then exit.
//! - `--mode garbage`: answer `* hello there`.
//! - `--mode dead`: answer `-DEAD database down`.
//! - `--mode long`: answer a 2,000-byte `+OK` line.
//! - `--mode raw`: answer `--reply TEXT` exactly, with `\s`, `\n` and `\r` in TEXT decoded to
//!   space, LF and CR (a TEXT without a final `\n` gets none; command lines are split on blanks,
//!   hence `\s`).
//! - `--mode passwd --passwd FILE`: answer `check USER PASSWORD [IP]` from a passwd-format
//!   file (`user:hash[:...]` lines, read once at start), verifying the password against the
//!   crypt(3) hash (`$6$` and the rest, as `vdomain_passwd` does): `+OK USER config` on a match,
//!   `-ERR bad password` or `-ERR unknown user` otherwise (the load test's authenticator).
//! - `--data N`: send N `+DATA line I` lines before each answer.
//! - `--exit-after N`: exit after answering N requests.
//! - `--ignore-exit`: do not exit on `exit` (wait for stdin to close instead).
//! - `--pid-file FILE`: write this process's id to FILE at start.
//!
//! Any other request line gets `-ERR unknown request`. EOF on stdin ends the program.

use std::fs::OpenOptions;
use std::io::{BufRead, Write};
use std::time::Duration;

/// How to answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Table,
    Slow,
    Die,
    Garbage,
    Dead,
    Long,
    Raw,
    Passwd,
}

struct Options {
    echo: Option<String>,
    mode: Mode,
    sleep: u64,
    data: usize,
    reply: String,
    exit_after: Option<usize>,
    ignore_exit: bool,
    passwd: Vec<(Vec<u8>, String)>,
}

fn usage(why: &str) -> ! {
    eprintln!("fake_authent: {why}");
    std::process::exit(2)
}

fn options() -> Options {
    let mut o = Options {
        echo: None,
        mode: Mode::Table,
        sleep: 30,
        data: 0,
        reply: String::new(),
        exit_after: None,
        ignore_exit: false,
        passwd: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage("missing value"));
        let number = |v: String| v.parse().unwrap_or_else(|_| usage("not a number"));
        match arg.as_str() {
            "--echo" => o.echo = Some(value()),
            "--mode" => {
                o.mode = match value().as_str() {
                    "table" => Mode::Table,
                    "slow" => Mode::Slow,
                    "die" => Mode::Die,
                    "garbage" => Mode::Garbage,
                    "dead" => Mode::Dead,
                    "long" => Mode::Long,
                    "raw" => Mode::Raw,
                    "passwd" => Mode::Passwd,
                    _ => usage("unknown mode"),
                }
            }
            "--sleep" => o.sleep = number(value()),
            "--data" => o.data = number(value()) as usize,
            "--reply" => {
                o.reply = value()
                    .replace("\\s", " ")
                    .replace("\\n", "\n")
                    .replace("\\r", "\r")
            }
            "--exit-after" => o.exit_after = Some(number(value()) as usize),
            "--ignore-exit" => o.ignore_exit = true,
            "--passwd" => {
                let text = std::fs::read_to_string(value())
                    .unwrap_or_else(|_| usage("cannot read the passwd file"));
                o.passwd = text
                    .lines()
                    .filter_map(|line| {
                        let mut fields = line.split(':');
                        let user = fields.next()?;
                        let hash = fields.next()?;
                        Some((user.as_bytes().to_vec(), hash.to_owned()))
                    })
                    .collect();
            }
            "--pid-file" => {
                let path = value();
                std::fs::write(path, std::process::id().to_string())
                    .unwrap_or_else(|_| usage("cannot write the pid file"));
            }
            _ => usage("unknown argument"),
        }
    }
    o
}

/// The passwd file's answer to `check USER PASSWORD [IP]`.
fn passwd(entries: &[(Vec<u8>, String)], user: &[u8], password: &[u8]) -> String {
    match entries.iter().find(|(u, _)| u == user) {
        Some((_, hash))
            if dmail_auth::hash::verify(&dmail_auth::Password::new(password.to_vec()), hash) =>
        {
            format!("+OK {} config\n", String::from_utf8_lossy(user))
        }
        Some(_) => "-ERR bad password\n".to_owned(),
        None => "-ERR unknown user\n".to_owned(),
    }
}

/// The table's answer to `check USER PASSWORD [IP]`.
fn table(user: &[u8], password: &[u8]) -> String {
    const USERS: &[(&str, &str, &str)] = &[
        (
            "bob",
            "secret",
            "+OK bob /var/mail/bob 1001 quota=\"20000\"",
        ),
        ("alice", "pw", "+OK alice config"),
        ("carol", "pw", "+OK carol-real /var/mail/carol 0"),
        (
            "bob@example.com",
            "secret",
            "+OK bob@example.com /var/mail/bob 1001",
        ),
        (
            "sales@computers.com",
            "pw",
            "+OK sales@computers.com config 2002",
        ),
        ("cc_sales", "pw", "+OK cc_sales config 2002"),
    ];
    match USERS.iter().find(|(u, _, _)| u.as_bytes() == user) {
        Some((_, p, answer)) if p.as_bytes() == password => format!("{answer}\n"),
        Some(_) => "-ERR bad password\n".to_owned(),
        None => "-ERR unknown user\n".to_owned(),
    }
}

fn main() {
    let o = options();
    let mut echo = o.echo.as_ref().map(|path| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap_or_else(|_| usage("cannot open the echo file"))
    });
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stdout().lock();
    let mut answered = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if let Some(file) = echo.as_mut() {
            let _ = file.write_all(&line).and_then(|()| file.flush());
        }
        let request = line.strip_suffix(b"\n").unwrap_or(&line);
        if request == b"exit" {
            if o.ignore_exit {
                continue;
            }
            return;
        }
        let words: Vec<&[u8]> = request.split(|&b| b == b' ').collect();
        let answer = match (words.first(), words.len()) {
            (Some(&b"check"), 3 | 4) => match o.mode {
                Mode::Table => table(words[1], words[2]),
                Mode::Slow => {
                    std::thread::sleep(Duration::from_secs(o.sleep));
                    table(words[1], words[2])
                }
                Mode::Die => {
                    let _ = out.write_all(b"+OK bo").and_then(|()| out.flush());
                    std::process::exit(3);
                }
                Mode::Garbage => "* hello there\n".to_owned(),
                Mode::Dead => "-DEAD database down\n".to_owned(),
                Mode::Long => format!("+OK bob /{}\n", "x".repeat(2000)),
                Mode::Raw => o.reply.clone(),
                Mode::Passwd => passwd(&o.passwd, words[1], words[2]),
            },
            _ => "-ERR unknown request\n".to_owned(),
        };
        for i in 0..o.data {
            let _ = writeln!(out, "+DATA line {i}");
        }
        if out
            .write_all(answer.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
        answered += 1;
        if o.exit_after == Some(answered) {
            return;
        }
    }
}
