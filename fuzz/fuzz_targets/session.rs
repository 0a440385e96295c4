//! Any bytes from a client, through the whole session over an in-memory store: logged in or
//! not, with a mailbox holding mail: the session never panics, and every response it writes
//! ends in CRLF.
#![no_main]

use std::time::{Duration, Instant};

use dmail_auth::Password;
use dmail_store::mem::MemoryStore;
use dmail_store::names::MailboxName;
use imapd_proto::backend::{Account, Backend, LogLevel, LoginFailure, LoginFailureKind};
use imapd_proto::session::{Options, Session, Wait};
use libfuzzer_sys::fuzz_target;

struct Fuzz {
    store: MemoryStore,
}

impl Backend for Fuzz {
    type Store = MemoryStore;

    fn login(&mut self, login: &[u8], _: Password) -> Result<Account<MemoryStore>, LoginFailure> {
        if login.starts_with(b"x") {
            return Err(LoginFailure {
                kind: LoginFailureKind::Rejected,
                delay: Duration::from_secs(1),
                close: false,
            });
        }
        Ok(Account {
            user: "fuzz".into(),
            store: self.store.clone(),
            quota: None,
        })
    }

    fn log(&mut self, _: LogLevel, _: &str) {}
}

fuzz_target!(|data: &[u8]| {
    let store = MemoryStore::new();
    let inbox = MailboxName::inbox();
    let _ = store.deliver(&inbox, b"Subject: one\r\nFrom: a@b.c\r\n\r\nbody\r\n");
    let _ = store.deliver(
        &inbox,
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
    );
    let mut now = Instant::now();
    // Start logged in half the time, so the fuzzer reaches the selected state quickly.
    let mut session = Session::new(Fuzz { store }, Options::default(), now);
    let mut out = Vec::new();
    let preamble: &[u8] = if data.first().is_some_and(|b| b & 1 == 1) {
        b"a LOGIN u p\r\nb SELECT INBOX\r\n"
    } else {
        b""
    };
    session.push(preamble);
    for chunk in data.chunks(13) {
        let mut wait = match session.run(now, &mut out) {
            Ok(w) => w,
            Err(_) => return,
        };
        while let Wait::Pause { until } = wait {
            now = until;
            wait = match session.run(now, &mut out) {
                Ok(w) => w,
                Err(_) => return,
            };
        }
        match wait {
            Wait::Close | Wait::StartTls => break,
            Wait::Read { deadline } => {
                if chunk.first() == Some(&0xff) {
                    now = deadline;
                    if session.timeout(now, &mut out).is_err() {
                        return;
                    }
                }
            }
            Wait::Pause { .. } => {}
        }
        session.push(chunk);
        now += Duration::from_millis(10);
    }
    let _ = session.run(now, &mut out);
    assert!(out.is_empty() || out.ends_with(b"\r\n") || out.ends_with(b"+ idling\r\n"));
});
