//! `imapdsvc --demo`: a throwaway installation anyone can try in one command — a temporary
//! spool with the user `demo` (password `demo`) and a few messages, a dmail.conf that uses this
//! program itself as the external authenticator, and a listener on 127.0.0.1:1143.
//!
//! Owns: making the spool and the configuration, the demo's messages, the tiny authenticator
//! (`imapdsvc --demo-authenticator`, dmail-conventions §3a) and the text that tells a newcomer
//! how to connect. Must never touch anything outside its temporary directory, listen anywhere
//! but loopback, or accept any login but demo/demo.

use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::path::Path;

use camino::{Utf8Path, Utf8PathBuf};
use dmail_conf::{Platform, Program};
use dmail_store::InternalDate;
use dmail_store::deliver::{DeliverOptions, deliver};

/// Where the demo listens.
pub(crate) const DEMO_LISTEN: &str = "127.0.0.1:1143";

/// The hidden flag that runs this program as the demo's authenticator.
pub(crate) const AUTHENTICATOR_FLAG: &str = "--demo-authenticator";

/// The demo's user and password.
const USER: &str = "demo";
const PASSWORD: &str = "demo";

/// A prepared demo: its directory (removed when this is dropped) and configuration file.
pub(crate) struct Demo {
    /// Kept for its `Drop`: the spool goes away with the demo.
    _dir: tempfile::TempDir,
    /// The root of the throwaway installation.
    pub(crate) root: Utf8PathBuf,
    /// Its dmail.conf.
    pub(crate) config: Utf8PathBuf,
    /// The address to listen on.
    pub(crate) listen: SocketAddr,
}

/// The demo's messages: (envelope sender, message). A plain note, a multipart message with an
/// attachment, and one with an encoded-word subject, so a client shows something of each.
fn messages() -> [(&'static str, String); 3] {
    [
        (
            "postmaster@demo.invalid",
            "From: DMail IMAPD <postmaster@demo.invalid>\n\
             To: demo@demo.invalid\n\
             Subject: Welcome to the dmail-imapd demo\n\
             Date: Fri, 27 Nov 2026 09:00:00 +0000\n\
             Message-ID: <welcome@demo.invalid>\n\
             \n\
             This mailbox lives in a temporary directory and disappears when the demo stops.\n\
             Read it, flag it, move it to a new folder, append drafts: it is all a real\n\
             mbox spool, as DMail's DSMTP writes it.\n"
                .to_owned(),
        ),
        (
            "alice@demo.invalid",
            "From: Alice <alice@demo.invalid>\n\
             To: demo@demo.invalid\n\
             Subject: Notes from the meeting\n\
             Date: Fri, 27 Nov 2026 10:30:00 +0000\n\
             Message-ID: <notes@demo.invalid>\n\
             MIME-Version: 1.0\n\
             Content-Type: multipart/mixed; boundary=\"=-demo-=\"\n\
             \n\
             --=-demo-=\n\
             Content-Type: text/plain; charset=utf-8\n\
             \n\
             The notes are attached.\n\
             --=-demo-=\n\
             Content-Type: text/plain; name=notes.txt\n\
             Content-Disposition: attachment; filename=notes.txt\n\
             Content-Transfer-Encoding: base64\n\
             \n\
             MS4gU2hpcCB0aGUgZGVtby4KMi4gVGVsbCBldmVyeW9uZS4K\n\
             --=-demo-=--\n"
                .to_owned(),
        ),
        (
            "bruno@demo.invalid",
            "From: =?utf-8?q?Bruno_M=C3=BCller?= <bruno@demo.invalid>\n\
             To: demo@demo.invalid\n\
             Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_Z=C3=BCrich?=\n\
             Date: Fri, 27 Nov 2026 11:45:00 +0100\n\
             Message-ID: <gruesse@demo.invalid>\n\
             MIME-Version: 1.0\n\
             Content-Type: text/plain; charset=utf-8\n\
             Content-Transfer-Encoding: quoted-printable\n\
             \n\
             Sch=C3=B6ne Gr=C3=BC=C3=9Fe!\n"
                .to_owned(),
        ),
    ]
}

/// The demo's dmail.conf: external logins through this program, the spool and the log in
/// `root`, no waiting after a mistyped password.
fn config_text(root: &Utf8Path, exe: &Path) -> String {
    format!(
        "# dmail-imapd demo: made by `imapdsvc --demo`, removed when it stops.\n\
         drop_path {root}/spool\n\
         log_path {root}/log\n\
         log_level info\n\
         authent_method external\n\
         imapd_authent_process {} {AUTHENTICATOR_FLAG}\n\
         imapd_login_delay 0\n",
        exe.display()
    )
}

/// Makes the throwaway installation: directory, dmail.conf, log directory, demo's INBOX.
pub(crate) fn prepare() -> io::Result<Demo> {
    let dir = tempfile::Builder::new()
        .prefix("dmail-imapd-demo-")
        .tempdir()?;
    let root = Utf8PathBuf::from_path_buf(dir.path().to_path_buf()).map_err(|p| {
        io::Error::other(format!("temporary directory {} is not UTF-8", p.display()))
    })?;
    let exe = std::env::current_exe()?;
    std::fs::create_dir_all(root.join("spool"))?;
    std::fs::create_dir_all(root.join("log"))?;
    let config_path = root.join("dmail.conf");
    std::fs::write(&config_path, config_text(&root, &exe))?;

    let loaded = dmail_conf::load(&config_path, Program::Imapd, Platform::current())
        .map_err(|e| io::Error::other(format!("reading the demo's dmail.conf: {e}")))?;
    let config = loaded.config;
    let login = config
        .resolve_login(USER.as_bytes(), None)
        .map_err(|e| io::Error::other(format!("the demo user: {e}")))?;
    let paths = dmail_store::layout::mail_paths(&config, &login, None)
        .map_err(|e| io::Error::other(format!("where the demo's mail goes: {e}")))?;
    let options = DeliverOptions::from_config(&config);
    for (i, (sender, text)) in messages().iter().enumerate() {
        let date = InternalDate {
            unix: 1_795_770_000 + 3600 * i as i64,
            offset_minutes: 0,
        };
        deliver(&paths.drop_file, sender, text.as_bytes(), date, &options)
            .map_err(|e| io::Error::other(format!("delivering the demo's mail: {e}")))?;
    }
    let listen = DEMO_LISTEN
        .parse()
        .map_err(|e| io::Error::other(format!("{DEMO_LISTEN}: {e}")))?;
    Ok(Demo {
        _dir: dir,
        root,
        config: config_path,
        listen,
    })
}

/// What the demo prints when it is ready: how to connect with telnet (as the manual's
/// "Checking it works" does) and with a mail client.
pub(crate) fn banner(demo: &Demo) -> String {
    let addr = demo.listen;
    let (host, port) = (addr.ip(), addr.port());
    format!(
        "dmail-imapd demo: serving IMAP on {addr} (plain text, loopback only)\n\
         user `demo`, password `demo`; spool, log and dmail.conf in {root}\n\
         \n\
         Try it by hand, as the DMail manual's \"Checking it works\" does:\n\
         \x20   telnet {host} {port}\n\
         \x20   a login demo demo\n\
         \x20   b select inbox\n\
         \x20   c fetch 1:* (flags envelope)\n\
         \x20   d uid fetch 1 body.peek[]\n\
         \x20   e logout\n\
         \n\
         Or point a mail client (Thunderbird, mutt, ...) at IMAP server {host}, port {port},\n\
         no encryption, normal password, user demo, password demo;\n\
         for example: mutt -f imap://demo@{host}:{port}/INBOX\n\
         \n\
         Ctrl-C stops the demo and removes everything it made.\n",
        root = demo.root,
    )
}

/// The demo's external authenticator (dmail-conventions §3a), run as
/// `imapdsvc --demo-authenticator`: `check demo demo [IP]` is `+OK demo config` (the drop file
/// computed from the configuration), any other check is `-ERR`, `exit` or end of input ends it.
pub(crate) fn authenticator_main() -> std::process::ExitCode {
    let stdin = io::stdin();
    let mut out = io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else {
            break;
        };
        let reply = answer(&line);
        let Some(reply) = reply else {
            break;
        };
        if out
            .write_all(reply.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
    }
    std::process::ExitCode::SUCCESS
}

/// The reply to one request line; `None` ends the conversation.
fn answer(line: &str) -> Option<String> {
    let mut words = line.split(' ');
    match (words.next(), words.next(), words.next()) {
        (Some("exit"), _, _) => None,
        (Some("check"), Some(USER), Some(PASSWORD)) => Some(format!("+OK {USER} config\n")),
        (Some("check"), Some(_), Some(_)) => Some("-ERR the demo knows only demo/demo\n".into()),
        _ => Some("-ERR unknown request\n".into()),
    }
}

/// `imapdsvc --demo`: prepares the demo, says how to connect, serves it in this process until
/// SIGINT or SIGTERM, then removes it.
pub(crate) fn run() -> std::process::ExitCode {
    let demo = match prepare() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("imapdsvc --demo: cannot prepare the demo: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let cli = imapdsvc_bin::cli::Cli {
        config: Some(demo.config.clone()),
        listen: vec![demo.listen],
        listen_tls: Vec::new(),
        pidfile: None,
        imapd: None,
        mode: imapdsvc_bin::cli::ModeChoice::InProcess,
        demo: false,
        demo_authenticator: false,
    };
    let mut out = io::stdout().lock();
    // The banner comes first so that a newcomer sees it even while the port is being bound; a
    // failure to listen follows it on standard error.
    let _ = out
        .write_all(banner(&demo).as_bytes())
        .and_then(|()| out.flush());
    drop(out);
    let code = crate::service::run(&cli);
    drop(demo);
    std::process::ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authenticator_knows_only_demo() {
        assert_eq!(
            answer("check demo demo 127.0.0.1").as_deref(),
            Some("+OK demo config\n")
        );
        assert_eq!(
            answer("check demo demo").as_deref(),
            Some("+OK demo config\n")
        );
        assert!(answer("check demo wrong 127.0.0.1").is_some_and(|r| r.starts_with("-ERR")));
        assert!(answer("check root demo").is_some_and(|r| r.starts_with("-ERR")));
        assert!(answer("lookup demo").is_some_and(|r| r.starts_with("-ERR")));
        assert_eq!(answer("exit"), None);
    }

    #[test]
    fn prepare_makes_a_spool_with_mail_and_a_clean_config() {
        let demo = prepare().unwrap();
        let loaded = dmail_conf::load(&demo.config, Program::Imapd, Platform::current()).unwrap();
        assert!(
            loaded
                .diagnostics
                .iter()
                .all(|d| d.severity != dmail_conf::Severity::Error),
            "{:?}",
            loaded.diagnostics
        );
        let login = loaded.config.resolve_login(b"demo", None).unwrap();
        let paths = dmail_store::layout::mail_paths(&loaded.config, &login, None).unwrap();
        let inbox = std::fs::read_to_string(paths.drop_file.as_path()).unwrap();
        assert_eq!(inbox.matches("\nFrom ").count() + 1, 3, "{inbox}");
        assert!(banner(&demo).contains("telnet 127.0.0.1 1143"));
        let root = demo.root.clone();
        drop(demo);
        assert!(!root.exists(), "the demo's directory outlived it");
    }
}
