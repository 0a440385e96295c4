//! Session transcripts over a real mbox store in a temporary directory: every state, the
//! update rules, timeouts and login failures, driven through the public API with a clock the
//! tests move.

use std::time::{Duration, Instant};

use camino::Utf8PathBuf;
use dmail_auth::Password;
use dmail_conf::Platform;
use dmail_store::mbox::engine::MboxOptions;
use dmail_store::mbox::store::MboxStore;

use super::*;
use crate::backend::{LoginFailure, LoginFailureKind};

struct TestBackend {
    root: Utf8PathBuf,
    failures: u32,
    logs: Vec<String>,
}

impl Backend for TestBackend {
    type Store = MboxStore;

    fn login(
        &mut self,
        login: &[u8],
        password: Password,
    ) -> Result<Account<MboxStore>, LoginFailure> {
        if login == b"bob" && password.expose() == b"secret" {
            let store = MboxStore::new(
                self.root.join("bob.mbx"),
                self.root.join("bob"),
                Platform::Unix,
                MboxOptions::new("bob", "localhost"),
            );
            Ok(Account {
                user: "bob".into(),
                store,
                quota: None,
            })
        } else {
            self.failures += 1;
            Err(LoginFailure {
                kind: LoginFailureKind::Rejected,
                delay: Duration::from_secs(2),
                close: self.failures >= 3,
            })
        }
    }

    fn log(&mut self, _: LogLevel, message: &str) {
        self.logs.push(message.to_owned());
    }
}

struct Harness {
    session: Session<TestBackend>,
    now: Instant,
    _dir: tempfile::TempDir,
    root: Utf8PathBuf,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_path_buf()).unwrap();
        Harness::at(dir, root)
    }

    fn at(dir: tempfile::TempDir, root: Utf8PathBuf) -> Harness {
        let now = Instant::now();
        let options = Options {
            idle_check: Duration::from_secs(5),
            ..Options::default()
        };
        let backend = TestBackend {
            root: root.clone(),
            failures: 0,
            logs: Vec::new(),
        };
        let mut h = Harness {
            session: Session::new(backend, options, now),
            now,
            _dir: dir,
            root,
        };
        h.send("");
        h
    }

    /// A second connection to the same spool.
    fn second(&self) -> Harness {
        let now = Instant::now();
        let backend = TestBackend {
            root: self.root.clone(),
            failures: 0,
            logs: Vec::new(),
        };
        let mut h = Harness {
            session: Session::new(backend, Options::default(), now),
            now,
            _dir: tempfile::tempdir().unwrap(),
            root: self.root.clone(),
        };
        h.send("");
        h
    }

    fn send(&mut self, input: &str) -> String {
        self.session.push(input.as_bytes());
        let mut out = Vec::new();
        let mut wait = self.session.run(self.now, &mut out).unwrap();
        while let Wait::Pause { until } = wait {
            self.now = until;
            wait = self.session.run(self.now, &mut out).unwrap();
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn login(&mut self) {
        let r = self.send("l LOGIN bob secret\r\n");
        assert!(r.contains("l OK [CAPABILITY "), "{r}");
    }

    fn deliver(&self, text: &str) {
        let path = self.root.join("bob");
        let mut bytes = std::fs::read(&path).unwrap_or_default();
        if !bytes.is_empty() {
            bytes.extend_from_slice(b"\n");
        }
        bytes.extend_from_slice(b"From sender@example.com Wed Aug 16 14:11:15 2000\n");
        bytes.extend_from_slice(text.as_bytes());
        std::fs::write(&path, bytes).unwrap();
    }
}

const MSG: &str =
    "Subject: Hello Test\nFrom: test2 sender\n\nline 1 of 4\nline 2\nline 3\nline 4\n";

#[test]
fn greeting_and_capabilities_by_state() {
    let mut h = Harness::new();
    let r = h.send("a CAPABILITY\r\n");
    assert!(r.contains("AUTH=PLAIN AUTH=LOGIN"), "{r}");
    assert!(r.ends_with("a OK CAPABILITY completed\r\n"), "{r}");
    h.login();
    let r = h.send("b CAPABILITY\r\n");
    assert!(!r.contains("AUTH="), "{r}");
    assert!(
        r.contains(" IDLE ") && r.contains(" UIDPLUS ") && r.contains(" MOVE "),
        "{r}"
    );
}

#[test]
fn failed_login_waits_and_third_closes() {
    let mut h = Harness::new();
    let start = h.now;
    let r = h.send("a LOGIN bob wrong\r\n");
    assert_eq!(r, "a NO [AUTHENTICATIONFAILED] LOGIN failed\r\n");
    assert_eq!(h.now, start + Duration::from_secs(2));
    h.send("b LOGIN bob wrong\r\n");
    let r = h.send("c LOGIN bob wrong\r\n");
    assert_eq!(
        r,
        "c NO [AUTHENTICATIONFAILED] LOGIN failed\r\n* BYE Too many failed logins\r\n"
    );
    assert!(h.session.closing);
    assert!(!h.session.backend().logs.iter().any(|l| l.contains("wrong")));
}

#[test]
fn authenticate_plain_with_and_without_initial_response() {
    let mut h = Harness::new();
    // "\0bob\0secret"
    let r = h.send("a AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ=\r\n");
    assert!(r.starts_with("a OK [CAPABILITY "), "{r}");
    let mut h = Harness::new();
    assert_eq!(h.send("a AUTHENTICATE PLAIN\r\n"), "+ \r\n");
    let r = h.send("AGJvYgBzZWNyZXQ=\r\n");
    assert!(r.starts_with("a OK [CAPABILITY "), "{r}");
    let mut h = Harness::new();
    assert_eq!(h.send("a AUTHENTICATE LOGIN\r\n"), "+ VXNlcm5hbWU6\r\n");
    assert_eq!(h.send("Ym9i\r\n"), "+ UGFzc3dvcmQ6\r\n");
    let r = h.send("c2VjcmV0\r\n");
    assert!(r.starts_with("a OK [CAPABILITY "), "{r}");
    let mut h = Harness::new();
    h.send("a AUTHENTICATE PLAIN\r\n");
    assert_eq!(h.send("*\r\n"), "a BAD AUTHENTICATE cancelled\r\n");
}

#[test]
fn wrong_state_commands_are_bad() {
    let mut h = Harness::new();
    assert_eq!(
        h.send("a SELECT INBOX\r\n"),
        "a BAD SELECT not allowed before login\r\n"
    );
    h.login();
    assert_eq!(
        h.send("b FETCH 1 FLAGS\r\n"),
        "b BAD FETCH needs a selected mailbox\r\n"
    );
    assert_eq!(
        h.send("c LOGIN bob secret\r\n"),
        "c BAD Already logged in\r\n"
    );
}

#[test]
fn select_answers_in_the_decided_order() {
    let mut h = Harness::new();
    h.deliver(MSG);
    h.login();
    let r = h.send("b select inbox\r\n");
    let lines: Vec<&str> = r.split("\r\n").collect();
    assert_eq!(lines[0], "* 1 EXISTS");
    assert_eq!(lines[1], "* 1 RECENT");
    assert_eq!(
        lines[2],
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Draft \\Seen)"
    );
    assert_eq!(
        lines[3],
        "* OK [PERMANENTFLAGS (\\* \\Answered \\Flagged \\Deleted \\Draft \\Seen)] Permanent flags"
    );
    assert_eq!(lines[4], "* OK [UNSEEN 1] Message 1 is first unseen");
    assert!(lines[5].starts_with("* OK [UIDVALIDITY "), "{r}");
    assert_eq!(lines[6], "* OK [UIDNEXT 2] Predicted next UID");
    assert_eq!(lines[7], "b OK [READ-WRITE] SELECT completed");
    let r = h.send("c uid fetch 1 body.peek[]\r\n");
    assert_eq!(
        r,
        "* 1 FETCH (UID 1 BODY[] {80}\r\nSubject: Hello Test\r\nFrom: test2 sender\r\n\r\nline 1 of 4\r\nline 2\r\nline 3\r\nline 4\r\n)\r\nc OK UID FETCH completed\r\n"
    );
}

#[test]
fn fetch_sets_seen_unless_peek_and_reports_flags() {
    let mut h = Harness::new();
    h.deliver(MSG);
    h.login();
    h.send("s SELECT INBOX\r\n");
    let r = h.send("a FETCH 1 (FLAGS)\r\n");
    assert_eq!(
        r,
        "* 1 FETCH (FLAGS (\\Recent))\r\na OK FETCH completed\r\n"
    );
    let r = h.send("b FETCH 1 BODY[]<0.7>\r\n");
    assert_eq!(
        r,
        "* 1 FETCH (BODY[]<0> {7}\r\nSubject FLAGS (\\Seen \\Recent))\r\nb OK FETCH completed\r\n"
    );
    let r = h.send("c FETCH 1 (UID RFC822.PEEK)\r\n");
    assert!(r.starts_with("* 1 FETCH (UID 1 RFC822 {80}\r\n"), "{r}");
    // Past the end: the origin as asked and an empty literal (RFC 3501 §6.4.5).
    let r = h.send("d FETCH 1 BODY.PEEK[]<500.10>\r\n");
    assert_eq!(
        r,
        "* 1 FETCH (BODY[]<500> {0}\r\n)\r\nd OK FETCH completed\r\n"
    );
    let r = h.send("e EXAMINE INBOX\r\n");
    assert!(
        r.contains("* OK [PERMANENTFLAGS ()] Permanent flags"),
        "{r}"
    );
    assert!(r.ends_with("e OK [READ-ONLY] EXAMINE completed\r\n"), "{r}");
}

#[test]
fn append_store_copy_move_expunge() {
    let mut h = Harness::new();
    h.login();
    let r = h.send("a APPEND Drafts {5}\r\n");
    assert_eq!(r, "+ Ready for literal data\r\n");
    let r = h.send("hello\r\n");
    assert_eq!(r, "a NO [TRYCREATE] No such mailbox; create it first\r\n");
    assert_eq!(h.send("b CREATE Drafts\r\n"), "b OK CREATE completed\r\n");
    let r = h.send("c APPEND Drafts (\\Draft) {7+}\r\nSubj: x\r\n");
    assert!(r.starts_with("c OK [APPENDUID "), "{r}");
    assert!(r.ends_with(" 1] APPEND completed\r\n"), "{r}");
    let r = h.send("d SELECT Drafts\r\n");
    assert!(r.starts_with("* 1 EXISTS\r\n"), "{r}");
    let r = h.send("e STORE 1 +FLAGS (\\Flagged $Label1)\r\n");
    assert!(r.starts_with("* FLAGS ($Label1 \\Answered"), "{r}");
    assert!(
        r.contains("* 1 FETCH (FLAGS (\\Flagged \\Draft $Label1))\r\n"),
        "{r}"
    );
    assert_eq!(
        h.send("f UID STORE 1 -FLAGS.SILENT (\\Flagged)\r\n"),
        "f OK UID STORE completed\r\n"
    );
    h.send("g CREATE Archive\r\n");
    let r = h.send("h COPY 1 Archive\r\n");
    assert!(
        r.starts_with("h OK [COPYUID ") && r.ends_with(" 1 1] COPY completed\r\n"),
        "{r}"
    );
    let r = h.send("i MOVE 1 Archive\r\n");
    let lines: Vec<&str> = r.split("\r\n").collect();
    assert!(
        lines[0].starts_with("* OK [COPYUID ") && lines[0].ends_with(" 1 2] Moved"),
        "{r}"
    );
    assert_eq!(lines[1], "* 1 EXPUNGE");
    assert_eq!(lines[2], "i OK MOVE completed");
    let r = h.send("j STATUS Archive (MESSAGES UIDNEXT UNSEEN)\r\n");
    assert_eq!(
        r,
        "* STATUS Archive (MESSAGES 2 UIDNEXT 3 UNSEEN 2)\r\nj OK STATUS completed\r\n"
    );
    h.send("k SELECT Archive\r\n");
    h.send("l STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    let r = h.send("m EXPUNGE\r\n");
    assert_eq!(r, "* 1 EXPUNGE\r\nm OK EXPUNGE completed\r\n");
    let r = h.send("n UID EXPUNGE 1:*\r\n");
    assert_eq!(r, "n OK EXPUNGE completed\r\n");
    assert_eq!(h.send("o CLOSE\r\n"), "o OK CLOSE completed\r\n");
    assert_eq!(h.session.selected_name(), None);
}

#[test]
fn list_lsub_namespace_id_enable() {
    let mut h = Harness::new();
    h.login();
    h.send("a CREATE Work/Projects\r\n");
    let r = h.send("b LIST \"\" *\r\n");
    assert!(
        r.contains("* LIST (\\HasNoChildren) \"/\" INBOX\r\n") || r.contains("\"/\" INBOX\r\n"),
        "{r}"
    );
    assert!(r.contains("\"/\" Work/Projects\r\n"), "{r}");
    assert_eq!(
        h.send("c LIST \"\" \"\"\r\n"),
        "* LIST (\\Noselect) \"/\" \"\"\r\nc OK LIST completed\r\n"
    );
    h.send("d SUBSCRIBE Work/Projects\r\n");
    let r = h.send("e LSUB \"\" *\r\n");
    assert!(r.contains("\"/\" Work/Projects\r\n"), "{r}");
    assert_eq!(
        h.send("f NAMESPACE\r\n"),
        "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\nf OK NAMESPACE completed\r\n"
    );
    let r = h.send("g ID (\"name\" \"test\")\r\n");
    assert!(
        r.starts_with("* ID (\"name\" \"dmail-imapd\" \"version\" "),
        "{r}"
    );
    assert_eq!(
        h.send("h ENABLE CONDSTORE\r\n"),
        "* ENABLED\r\nh OK ENABLE completed\r\n"
    );
    let r = h.send("i CREATE \"bad&name\"\r\n");
    assert!(r.starts_with("i NO [CANNOT] Invalid mailbox name"), "{r}");
}

#[test]
fn expunge_elsewhere_waits_for_a_command_that_allows_it() {
    let mut a = Harness::new();
    a.deliver(MSG);
    a.deliver(MSG);
    let mut b = a.second();
    a.login();
    b.login();
    a.send("s SELECT INBOX\r\n");
    b.send("s SELECT INBOX\r\n");
    a.send("x STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    a.send("y EXPUNGE\r\n");
    // FETCH, STORE and SEARCH never carry EXPUNGE (RFC 3501 §7.4.1).
    let r = b.send("f FETCH 2 (UID)\r\n");
    assert_eq!(r, "* 2 FETCH (UID 2)\r\nf OK FETCH completed\r\n");
    let r = b.send("n NOOP\r\n");
    assert!(r.starts_with("* 1 EXPUNGE\r\n"), "{r}");
    assert!(r.ends_with("n OK NOOP completed\r\n"), "{r}");
    let r = b.send("f FETCH 1 (UID)\r\n");
    assert_eq!(r, "* 1 FETCH (UID 2)\r\nf OK FETCH completed\r\n");
}

#[test]
fn idle_reports_a_delivery_at_the_next_check() {
    let mut h = Harness::new();
    h.login();
    h.send("s SELECT INBOX\r\n");
    assert_eq!(h.send("i IDLE\r\n"), "+ idling\r\n");
    h.deliver(MSG);
    let mut out = Vec::new();
    h.now += Duration::from_secs(5);
    let wait = h.session.timeout(h.now, &mut out).unwrap();
    assert!(matches!(wait, Wait::Read { .. }));
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "* 1 EXISTS\r\n* 1 RECENT\r\n"
    );
    assert_eq!(h.send("DONE\r\n"), "i OK IDLE terminated\r\n");
}

#[test]
fn autologout_after_the_idle_limit() {
    let mut h = Harness::new();
    let mut out = Vec::new();
    h.now += Duration::from_secs(181);
    assert_eq!(h.session.timeout(h.now, &mut out).unwrap(), Wait::Close);
    assert_eq!(out, b"* BYE Autologout; idle for too long\r\n");
}

#[test]
fn too_many_bad_commands_close() {
    let mut h = Harness::new();
    let r = h.send(&"x BOGUS\r\n".repeat(10));
    assert!(r.ends_with("* BYE Too many invalid commands\r\n"), "{r}");
    assert!(h.session.closing);
}

#[test]
fn search_charset_refusal() {
    let mut h = Harness::new();
    h.login();
    h.send("s SELECT INBOX\r\n");
    let r = h.send("a SEARCH CHARSET ISO-8859-1 ALL\r\n");
    assert_eq!(
        r,
        "a NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n"
    );
}

#[test]
fn search_reads_only_what_it_needs() {
    let mut h = Harness::new();
    h.deliver(MSG);
    h.deliver("Subject: other\nFrom: x@example.com\n\nnothing here\n");
    h.login();
    h.send("s SELECT INBOX\r\n");
    h.send("t STORE 2 +FLAGS.SILENT (\\Seen)\r\n");
    assert_eq!(
        h.send("a SEARCH SUBJECT hello\r\n"),
        "* SEARCH 1\r\na OK SEARCH completed\r\n"
    );
    assert_eq!(
        h.send("b UID SEARCH UNSEEN\r\n"),
        "* SEARCH 1\r\nb OK UID SEARCH completed\r\n"
    );
    assert_eq!(
        h.send("c SEARCH CHARSET UTF-8 BODY \"LINE 3\"\r\n"),
        "* SEARCH 1\r\nc OK SEARCH completed\r\n"
    );
    assert_eq!(
        h.send("d SEARCH OR SEEN DELETED\r\n"),
        "* SEARCH 2\r\nd OK SEARCH completed\r\n"
    );
    assert_eq!(
        h.send("e SEARCH 5\r\n"),
        "* SEARCH\r\ne OK SEARCH completed\r\n"
    );
}

#[test]
fn fetch_structure_envelope_and_sections() {
    let mut h = Harness::new();
    h.deliver("Subject: Hello Test\nFrom: Test Two <test2@example.com>\nDate: Wed, 16 Aug 2000 14:11:15 +1200\nMessage-ID: <1@x>\n\nline 1 of 4\nline 2\n");
    h.login();
    h.send("s EXAMINE INBOX\r\n");
    let r = h.send("a FETCH 1 (ENVELOPE BODYSTRUCTURE)\r\n");
    assert_eq!(
        r,
        "* 1 FETCH (ENVELOPE (\"Wed, 16 Aug 2000 14:11:15 +1200\" \"Hello Test\" \
         ((\"Test Two\" NIL \"test2\" \"example.com\")) ((\"Test Two\" NIL \"test2\" \"example.com\")) \
         ((\"Test Two\" NIL \"test2\" \"example.com\")) NIL NIL NIL NIL \"<1@x>\") \
         BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 21 2 NIL NIL NIL NIL))\r\n\
         a OK FETCH completed\r\n"
    );
    // Apple Mail matches the answer by the field list exactly as it sent it.
    let r = h.send("b FETCH 1 (BODY.PEEK[HEADER.FIELDS (subject X-None)])\r\n");
    assert_eq!(
        r,
        "* 1 FETCH (BODY[HEADER.FIELDS (subject X-None)] {23}\r\nSubject: Hello Test\r\n\r\n)\r\nb OK FETCH completed\r\n"
    );
    let r = h.send("c FETCH 1 (BODY[TEXT]<5.6> BODY[1] BODY[2])\r\n");
    assert_eq!(
        r,
        "* 1 FETCH (BODY[TEXT]<5> {6}\r\n1 of 4 BODY[1] {21}\r\nline 1 of 4\r\nline 2\r\n BODY[2] {0}\r\n)\r\nc OK FETCH completed\r\n"
    );
    // EXAMINE: no \Seen was set by the non-PEEK fetch.
    assert_eq!(
        h.send("d FETCH 1 FLAGS\r\n"),
        "* 1 FETCH (FLAGS ())\r\nd OK FETCH completed\r\n"
    );
}

#[test]
fn greeting_has_the_manuals_form() {
    let dir = tempfile::tempdir().unwrap();
    let root = Utf8PathBuf::from_path_buf(dir.path().to_path_buf()).unwrap();
    let backend = TestBackend {
        root,
        failures: 0,
        logs: Vec::new(),
    };
    let mut session = Session::new(backend, Options::default(), Instant::now());
    let mut out = Vec::new();
    session.run(Instant::now(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("* OK [CAPABILITY IMAP4rev1 LITERAL+ "),
        "{text}"
    );
    assert!(
        text.ends_with(&format!(
            "] IMAP4rev1 dmail-imapd {} server ready\r\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
}

#[test]
fn append_of_a_message_without_header_end_reads_back() {
    let mut h = Harness::new();
    h.login();
    h.send("b CREATE Drafts\r\n");
    let r = h.send("c APPEND Drafts {5+}\r\nhello\r\n");
    assert!(r.starts_with("c OK [APPENDUID "), "{r}");
    h.send("d SELECT Drafts\r\n");
    let r = h.send("e FETCH 1 (RFC822.SIZE BODY.PEEK[])\r\n");
    assert_eq!(
        r,
        "* 1 FETCH (RFC822.SIZE 9 BODY[] {9}\r\nhello\r\n\r\n)\r\ne OK FETCH completed\r\n"
    );
}

#[test]
fn idle_in_the_authenticated_state_and_lower_case_done() {
    // Outlook idles with no mailbox selected.
    let mut h = Harness::new();
    h.login();
    assert_eq!(h.send("i idle\r\n"), "+ idling\r\n");
    assert_eq!(h.send("done\r\n"), "i OK IDLE terminated\r\n");
    assert_eq!(h.send("j IDLE\r\n"), "+ idling\r\n");
    assert_eq!(h.send("k NOOP\r\n"), "j BAD Expected DONE to end IDLE\r\n");
}

#[test]
fn whole_messages_read_in_batches_answer_as_one_by_one() {
    let mut h = Harness::new();
    for i in 0..5 {
        h.deliver(&format!(
            "Subject: {i}\n\n{}\n",
            "body line\n".repeat(i * 40)
        ));
    }
    h.login();
    // SELECT stamps them, so their UIDs outlive another program's rewrite.
    h.send("s SELECT INBOX\r\n");
    let mut one_by_one = String::new();
    for n in 1..=5 {
        let r = h.send(&format!("a FETCH {n} (UID BODY.PEEK[] BODY.PEEK[])\r\n"));
        one_by_one.push_str(r.strip_suffix("a OK FETCH completed\r\n").unwrap());
    }
    let r = h.send("b FETCH 1:5 (UID BODY.PEEK[] BODY.PEEK[])\r\n");
    assert_eq!(r, format!("{one_by_one}b OK FETCH completed\r\n"));
    // Another program expunges a message: the batch answers the others, and NO.
    let text = std::fs::read_to_string(h.root.join("bob")).unwrap();
    let cut = text.find("Subject: 2\n").unwrap();
    let from = text[..cut].rfind("From ").unwrap();
    let next = cut + text[cut..].find("\nFrom ").unwrap() + 1;
    std::fs::write(
        h.root.join("bob"),
        format!("{}{}", &text[..from], &text[next..]),
    )
    .unwrap();
    let r = h.send("c FETCH 1:5 BODY.PEEK[]\r\n");
    assert_eq!(r.matches(" FETCH (BODY[] {").count(), 4, "{r}");
    assert!(
        r.ends_with("c NO [EXPUNGEISSUED] Some of the messages no longer exist\r\n"),
        "{r}"
    );
}
