//! The IMAP session: one connection's state machine, free of I/O.
//!
//! A driver pushes the client's bytes in ([`Session::push`]), calls [`Session::run`] (which
//! answers every complete command, writing to the `out` it is given), and obeys the returned
//! [`Wait`]: read more until a deadline, pause (a failed login's delay), start TLS, or close.
//! When a deadline passes with no input it calls [`Session::timeout`]. Time comes in as
//! arguments; the session never reads a clock, never sleeps and never touches a socket.
//!
//! States (RFC 3501 §3): not authenticated → authenticated → selected → logout. Commands are
//! framed and decoded by [`crate::framer`], then dispatched to the modules below by state.
//!
//! Must never: write a password or SASL data anywhere (the log included); send a server path
//! to a client; report an EXPUNGE during FETCH, STORE or SEARCH (RFC 3501 §7.4.1); answer a
//! command before the mailbox file holds what the command changed.

mod auth;
mod fetch;
mod mailboxes;
mod search;
mod selected;
mod seqset;

use std::io::{self, Write};
use std::time::{Duration, Instant};

use dmail_auth::sasl::{Exchange, Mechanism};
use dmail_store::store::MailboxList;
use imap_codec::imap_types::command::{Command, CommandBody};

use crate::backend::{Account, Backend, LogLevel};
use crate::framer::{Event, Framer, Limits, Mode};
use crate::response::{self, Cond};

/// The settings a session runs with (from dmail.conf; see [`Options::default`]).
#[derive(Clone, Debug)]
pub struct Options {
    /// The name and version in the greeting and in `ID` (`dmail-imapd 0.1.0`).
    pub server_name: String,
    /// The version alone, for `ID`.
    pub version: String,
    /// Idle time allowed before login (always 3 minutes in DMail).
    pub timeout_before_login: Duration,
    /// Idle time allowed after login (`imapd_timeout`).
    pub timeout_after_login: Duration,
    /// How often a mailbox is checked for changes during IDLE (`imapd_idle_check`).
    pub idle_check: Duration,
    /// Command size limits after login (`imapd_max_line`, `imapd_max_message`).
    pub limits_after_login: Limits,
    /// Bad commands in a row before the connection is closed (`imapd_max_bad_commands`).
    pub max_bad_commands: u32,
    /// The SASL mechanisms offered (`AUTH=`).
    pub mechanisms: Vec<Mechanism>,
    /// Whether `STARTTLS` is offered (a certificate is configured and TLS is not active).
    pub starttls: bool,
    /// Whether plaintext logins are refused until TLS (`imapd_login_disabled`) — meaningful
    /// only while TLS is not active.
    pub login_disabled: bool,
}

impl Default for Options {
    /// DMail's defaults: 3 minutes before login, 30 after, IDLE checks every 30 s, 10 bad
    /// commands, PLAIN and LOGIN, no TLS.
    ///
    /// ```
    /// let o = imapd_proto::session::Options::default();
    /// assert_eq!(o.timeout_after_login.as_secs(), 1800);
    /// ```
    fn default() -> Self {
        Options {
            server_name: concat!("dmail-imapd ", env!("CARGO_PKG_VERSION")).to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            timeout_before_login: Duration::from_secs(180),
            timeout_after_login: Duration::from_secs(1800),
            idle_check: Duration::from_secs(30),
            limits_after_login: Limits::AFTER_LOGIN_DEFAULT,
            max_bad_commands: 10,
            mechanisms: vec![Mechanism::Plain, Mechanism::Login],
            starttls: false,
            login_disabled: false,
        }
    }
}

/// What the driver does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Read more client bytes; if none come by `deadline`, call [`Session::timeout`].
    Read {
        /// When to give up waiting.
        deadline: Instant,
    },
    /// Read nothing until `until`, then call [`Session::run`] (a failed login's delay).
    Pause {
        /// When to go on.
        until: Instant,
    },
    /// Flush the output, then start TLS on the connection and call
    /// [`Session::tls_started`] (after `STARTTLS`; the driver must check it holds no
    /// buffered plaintext).
    StartTls,
    /// Flush the output and close the connection.
    Close,
}

/// The capability list of a state (what is advertised is what is implemented and tested).
const CAPS_COMMON: &str =
    "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN QUOTA";

/// One IMAP connection.
///
/// ```
/// use std::time::Instant;
/// use dmail_store::mem::MemoryStore;
/// use imapd_proto::backend::{Account, Backend, LogLevel, LoginFailure};
/// use imapd_proto::session::{Options, Session, Wait};
///
/// struct Anyone;
/// impl Backend for Anyone {
///     type Store = MemoryStore;
///     fn login(&mut self, _: &[u8], _: dmail_auth::Password) -> Result<Account<MemoryStore>, LoginFailure> {
///         Ok(Account { user: "bob".into(), store: MemoryStore::new(), quota: None })
///     }
///     fn log(&mut self, _: LogLevel, _: &str) {}
/// }
///
/// let now = Instant::now();
/// let mut session = Session::new(Anyone, Options::default(), now);
/// let mut out = Vec::new();
/// session.push(b"a LOGIN bob secret\r\nb LOGOUT\r\n");
/// assert_eq!(session.run(now, &mut out).unwrap(), Wait::Close);
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.starts_with("* OK [CAPABILITY IMAP4rev1 "));
/// assert!(text.contains("a OK [CAPABILITY IMAP4rev1 "));
/// assert!(text.ends_with("* BYE dmail-imapd logging out\r\nb OK LOGOUT completed\r\n"));
/// ```
pub struct Session<B: Backend> {
    backend: B,
    options: Options,
    framer: Framer,
    state: State<B::Store>,
    greeted: bool,
    /// Bad commands in a row.
    bad_in_a_row: u32,
    /// The last time the client sent something (for the autologout).
    last_activity: Instant,
    /// Output held back until a pause ends (a failed login's answer), and whether the
    /// connection closes after it.
    held: Option<Held>,
    /// An AUTHENTICATE exchange in progress.
    sasl: Option<SaslState>,
    /// An IDLE in progress: its tag and when the mailbox is next checked.
    idle: Option<Idling>,
    /// Whether TLS is active on the connection.
    tls: bool,
    /// Set once the connection is to close (after BYE).
    closing: bool,
    /// Set once the framer asked for STARTTLS to begin.
    starting_tls: bool,
}

struct Held {
    bytes: Vec<u8>,
    until: Instant,
    close: bool,
}

struct SaslState {
    tag: String,
    exchange: Exchange,
}

struct Idling {
    tag: String,
    next_check: Instant,
}

/// The session's state and what it holds.
enum State<S: MailboxList> {
    NotAuthenticated,
    Authenticated(User<S>),
    Logout,
}

/// A logged-in user and, in the selected state, their open mailbox.
struct User<S: MailboxList> {
    account: Account<S>,
    selected: Option<selected::Selected<S::Mailbox>>,
}

/// Outcome of one command, for the bad-command counter and the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// Answered; go on with the next command.
    Continue,
    /// Answered with BAD.
    Bad,
    /// Stop reading commands and return this to the driver.
    Return(Wait),
}

impl<B: Backend> Session<B> {
    /// A new session whose greeting is written by the first [`Session::run`].
    pub fn new(backend: B, options: Options, now: Instant) -> Session<B> {
        Session {
            backend,
            options,
            framer: Framer::new(Limits::BEFORE_LOGIN),
            state: State::NotAuthenticated,
            greeted: false,
            bad_in_a_row: 0,
            last_activity: now,
            held: None,
            sasl: None,
            idle: None,
            tls: false,
            closing: false,
            starting_tls: false,
        }
    }

    /// The backend, for the driver (e.g. to close its log).
    ///
    /// ```
    /// # use imapd_proto::session::{Options, Session};
    /// # fn f<B: imapd_proto::backend::Backend>(s: &Session<B>) -> &B { s.backend() }
    /// ```
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Gives the session bytes the client sent. Push only after [`Session::run`] returned
    /// [`Wait::Read`], so that at most one read's worth of bytes waits unframed.
    ///
    /// ```
    /// # use imapd_proto::session::Session;
    /// # fn f<B: imapd_proto::backend::Backend>(s: &mut Session<B>) { s.push(b"a NOOP\r\n"); }
    /// ```
    pub fn push(&mut self, bytes: &[u8]) {
        self.framer.push(bytes);
    }

    /// Answers every complete command pushed so far, writing responses to `out`, and says
    /// what the driver does next. An error from `out` means the client is gone.
    ///
    /// ```
    /// # use imapd_proto::session::{Session, Wait};
    /// # fn f<B: imapd_proto::backend::Backend>(s: &mut Session<B>) -> std::io::Result<Wait> {
    /// let mut out = Vec::new();
    /// s.run(std::time::Instant::now(), &mut out)
    /// # }
    /// ```
    pub fn run(&mut self, now: Instant, out: &mut dyn Write) -> io::Result<Wait> {
        if !self.greeted {
            self.greeted = true;
            self.greet(out)?;
        }
        if let Some(held) = self.held.take() {
            if now < held.until {
                let until = held.until;
                self.held = Some(held);
                return Ok(Wait::Pause { until });
            }
            out.write_all(&held.bytes)?;
            if held.close {
                self.closing = true;
            }
            self.last_activity = now;
        }
        if self.closing {
            return Ok(Wait::Close);
        }
        if self.starting_tls {
            return Ok(Wait::StartTls);
        }
        while let Some(event) = self.framer.next() {
            self.last_activity = now;
            let flow = self.event(event, now, out)?;
            match flow {
                Flow::Continue => self.bad_in_a_row = 0,
                Flow::Bad => {
                    self.bad_in_a_row += 1;
                    if self.bad_in_a_row >= self.options.max_bad_commands {
                        self.log(LogLevel::Info, "too many bad commands; closing");
                        response::bye(out, "Too many invalid commands")?;
                        self.close_mailbox();
                        self.closing = true;
                        return Ok(Wait::Close);
                    }
                }
                Flow::Return(wait) => return Ok(wait),
            }
            if self.closing {
                return Ok(Wait::Close);
            }
        }
        Ok(Wait::Read {
            deadline: self.deadline(),
        })
    }

    /// The deadline in [`Wait::Read`] passed with no input: in IDLE, checks the mailbox and
    /// reports changes; otherwise ends the session with `* BYE Autologout; idle for too long`.
    ///
    /// ```
    /// # use imapd_proto::session::{Session, Wait};
    /// # fn f<B: imapd_proto::backend::Backend>(s: &mut Session<B>) -> std::io::Result<Wait> {
    /// s.timeout(std::time::Instant::now(), &mut Vec::new())
    /// # }
    /// ```
    pub fn timeout(&mut self, now: Instant, out: &mut dyn Write) -> io::Result<Wait> {
        if now >= self.last_activity + self.idle_limit() {
            self.log(LogLevel::Info, "autologout: idle for too long");
            response::bye(out, "Autologout; idle for too long")?;
            self.close_mailbox();
            self.closing = true;
            return Ok(Wait::Close);
        }
        if let Some(idle) = &mut self.idle
            && now >= idle.next_check
        {
            idle.next_check = now + self.options.idle_check;
            if let State::Authenticated(user) = &mut self.state
                && let Some(sel) = &mut user.selected
            {
                let fatal = sel.report_changes(out, true)?;
                if fatal {
                    self.closing = true;
                    return Ok(Wait::Close);
                }
            }
        }
        Ok(Wait::Read {
            deadline: self.deadline(),
        })
    }

    /// The client closed the connection: closes the mailbox and logs it. Nothing is written.
    ///
    /// ```
    /// # fn f<B: imapd_proto::backend::Backend>(s: &mut imapd_proto::session::Session<B>) { s.hang_up(); }
    /// ```
    pub fn hang_up(&mut self) {
        if !matches!(self.state, State::Logout) {
            self.log(LogLevel::Info, "client closed the connection");
        }
        self.close_mailbox();
        self.state = State::Logout;
        self.closing = true;
    }

    /// The server is stopping: unless the session already ended, writes
    /// `* BYE Server shutting down` and closes the mailbox (every change a command was answered
    /// for is already in the file), then says [`Wait::Close`]. A failed login's held answer is
    /// dropped.
    ///
    /// ```
    /// # use imapd_proto::session::{Session, Wait};
    /// # fn f<B: imapd_proto::backend::Backend>(s: &mut Session<B>) -> std::io::Result<Wait> {
    /// s.shut_down(&mut Vec::new())
    /// # }
    /// ```
    pub fn shut_down(&mut self, out: &mut dyn Write) -> io::Result<Wait> {
        self.held = None;
        let result = if self.closing {
            Ok(())
        } else {
            self.log(LogLevel::Info, "server shutting down");
            // Not greeted yet: a BYE is a valid greeting (RFC 3501 §7.1.5), so no OK first.
            self.greeted = true;
            response::bye(out, "Server shutting down")
        };
        self.close_mailbox();
        self.state = State::Logout;
        self.closing = true;
        result.map(|()| Wait::Close)
    }

    /// TLS is now active (after [`Wait::StartTls`]): the session forgets nothing but the
    /// offer of STARTTLS, and commands go on. Called before the first [`Session::run`], it
    /// says the connection is TLS from the first byte (port 993), so the greeting already
    /// leaves out `STARTTLS` and `LOGINDISABLED`.
    ///
    /// ```
    /// # fn f<B: imapd_proto::backend::Backend>(s: &mut imapd_proto::session::Session<B>) { s.tls_started(); }
    /// ```
    pub fn tls_started(&mut self) {
        self.tls = true;
        self.starting_tls = false;
    }

    /// Whether the framer holds bytes that arrived after the last complete command (a client
    /// that pipelines plaintext after `STARTTLS`: the driver must close, not start TLS).
    ///
    /// ```
    /// # fn f<B: imapd_proto::backend::Backend>(s: &imapd_proto::session::Session<B>) -> bool { s.has_pending_input() }
    /// ```
    pub fn has_pending_input(&self) -> bool {
        !self.framer.is_empty_after_command()
    }

    fn idle_limit(&self) -> Duration {
        match self.state {
            State::NotAuthenticated => self.options.timeout_before_login,
            _ => self.options.timeout_after_login,
        }
    }

    fn deadline(&self) -> Instant {
        let logout = self.last_activity + self.idle_limit();
        match &self.idle {
            Some(idle) if idle.next_check < logout => idle.next_check,
            _ => logout,
        }
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        if self.backend.log_enabled(level) {
            self.backend.log(level, message);
        }
    }

    fn capabilities(&self) -> String {
        let mut caps = CAPS_COMMON.to_owned();
        if matches!(self.state, State::NotAuthenticated) {
            if self.options.starttls && !self.tls {
                caps.push_str(" STARTTLS");
            }
            if self.logins_disabled() {
                caps.push_str(" LOGINDISABLED");
            } else {
                for m in &self.options.mechanisms {
                    caps.push_str(" AUTH=");
                    caps.push_str(m.name());
                }
            }
        }
        caps
    }

    fn logins_disabled(&self) -> bool {
        self.options.login_disabled && !self.tls
    }

    fn greet(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let code = format!("CAPABILITY {}", self.capabilities());
        // mailbox-formats §5: the manual's form, "IMAP4rev1 <server> <version> server ready".
        let text = format!("IMAP4rev1 {} server ready", self.options.server_name);
        response::status(out, None, Cond::Ok, Some(&code), &text)
    }

    fn close_mailbox(&mut self) {
        if let State::Authenticated(user) = &mut self.state {
            user.selected = None;
        }
    }

    fn event(&mut self, event: Event, now: Instant, out: &mut dyn Write) -> io::Result<Flow> {
        match event {
            Event::Command(command) => self.command(command, now, out),
            Event::NeedContinuation { .. } => {
                out.write_all(b"+ Ready for literal data\r\n")?;
                Ok(Flow::Continue)
            }
            Event::AuthenticateData(data) => self.authenticate_data(data, now, out),
            Event::IdleDone => self.idle_done(out),
            Event::Rejected { tag, reason } => {
                let tag = tag.as_ref().map(|t| t.as_ref().to_owned());
                self.bad(out, tag.as_deref(), &reason.to_string())
            }
            Event::Bad { tag, reason } => {
                // A bad line in the middle of AUTHENTICATE or IDLE ends them (RFC 3501 §6.2.2:
                // a malformed response is a BAD of the AUTHENTICATE command).
                if let Some(sasl) = self.sasl.take() {
                    self.framer.set_mode(Mode::Command);
                    response::status(out, Some(&sasl.tag), Cond::Bad, None, &reason.to_string())?;
                    return Ok(Flow::Bad);
                }
                if let Some(idle) = self.idle.take() {
                    self.framer.set_mode(Mode::Command);
                    response::status(
                        out,
                        Some(&idle.tag),
                        Cond::Bad,
                        None,
                        "Expected DONE to end IDLE",
                    )?;
                    return Ok(Flow::Bad);
                }
                let tag = tag.as_ref().map(|t| t.as_ref().to_owned());
                self.bad(out, tag.as_deref(), &reason.to_string())
            }
            Event::Fatal { reason } => {
                self.log(LogLevel::Info, &format!("closing: {reason}"));
                response::bye(out, &reason.to_string())?;
                self.close_mailbox();
                self.closing = true;
                Ok(Flow::Return(Wait::Close))
            }
        }
    }

    fn bad(&mut self, out: &mut dyn Write, tag: Option<&str>, text: &str) -> io::Result<Flow> {
        response::status(out, tag, Cond::Bad, None, text)?;
        Ok(Flow::Bad)
    }

    fn command(
        &mut self,
        command: Command<'static>,
        now: Instant,
        out: &mut dyn Write,
    ) -> io::Result<Flow> {
        let tag = command.tag.as_ref().to_owned();
        let name = command.body.name();
        if self.backend.log_enabled(LogLevel::Debug) {
            let line = match &command.body {
                CommandBody::Login { username, .. } => format!(
                    "{tag} LOGIN {} ****",
                    String::from_utf8_lossy(username.as_ref())
                ),
                CommandBody::Authenticate { mechanism, .. } => {
                    format!("{tag} AUTHENTICATE {}", mechanism.as_ref())
                }
                _ => format!("{tag} {name}"),
            };
            self.backend.log(LogLevel::Debug, &line);
        }
        // Commands valid in every state (RFC 3501 §6.1, RFC 2971).
        match command.body {
            CommandBody::Capability => {
                let line = format!("* CAPABILITY {}\r\n", self.capabilities());
                out.write_all(line.as_bytes())?;
                self.after_command(out, true)?;
                self.ok(out, &tag, None, "CAPABILITY completed")
            }
            CommandBody::Noop => {
                self.after_command(out, true)?;
                self.ok(out, &tag, None, "NOOP completed")
            }
            CommandBody::Logout => {
                self.log(LogLevel::Info, "logout");
                response::bye(out, &format!("{} logging out", self.short_name()))?;
                self.close_mailbox();
                self.state = State::Logout;
                self.closing = true;
                response::status(out, Some(&tag), Cond::Ok, None, "LOGOUT completed")?;
                Ok(Flow::Return(Wait::Close))
            }
            CommandBody::Id { parameters } => {
                if let Some(params) = &parameters {
                    let mut text = String::from("client ID:");
                    for (k, v) in params {
                        text.push(' ');
                        text.push_str(&String::from_utf8_lossy(k.as_ref()));
                        text.push('=');
                        match &v.0 {
                            Some(v) => text.push_str(&String::from_utf8_lossy(v.as_ref())),
                            None => text.push_str("NIL"),
                        }
                    }
                    self.log(LogLevel::Info, &text);
                }
                let mut line = b"* ID (\"name\" \"dmail-imapd\" \"version\" ".to_vec();
                crate::wire::string(&mut line, self.options.version.as_bytes());
                line.extend_from_slice(b")\r\n");
                out.write_all(&line)?;
                self.after_command(out, true)?;
                self.ok(out, &tag, None, "ID completed")
            }
            body => match &mut self.state {
                State::NotAuthenticated => self.not_authenticated(tag, body, now, out),
                State::Authenticated(_) => self.authenticated(tag, body, now, out),
                State::Logout => Ok(Flow::Return(Wait::Close)),
            },
        }
    }

    /// `dmail-imapd` without the version, for BYE texts.
    fn short_name(&self) -> &str {
        self.options
            .server_name
            .split(' ')
            .next()
            .unwrap_or("dmail-imapd")
    }

    fn ok(
        &mut self,
        out: &mut dyn Write,
        tag: &str,
        code: Option<&str>,
        text: &str,
    ) -> io::Result<Flow> {
        response::status(out, Some(tag), Cond::Ok, code, text)?;
        Ok(Flow::Continue)
    }

    fn not_authenticated(
        &mut self,
        tag: String,
        body: CommandBody<'static>,
        now: Instant,
        out: &mut dyn Write,
    ) -> io::Result<Flow> {
        match body {
            CommandBody::StartTLS => {
                if !self.options.starttls || self.tls {
                    return self.bad(out, Some(&tag), "STARTTLS is not available");
                }
                if self.has_pending_input() {
                    // Bytes after STARTTLS would be read as if they came over TLS
                    // (the CVE-2011-0411 class): refuse and close.
                    self.log(
                        LogLevel::Info,
                        "plaintext pipelined after STARTTLS; closing",
                    );
                    response::bye(out, "Commands pipelined after STARTTLS")?;
                    self.closing = true;
                    return Ok(Flow::Return(Wait::Close));
                }
                response::status(out, Some(&tag), Cond::Ok, None, "Begin TLS negotiation now")?;
                self.starting_tls = true;
                Ok(Flow::Return(Wait::StartTls))
            }
            CommandBody::Login { username, password } => {
                let login = username.as_ref().to_vec();
                let password = dmail_auth::Password::new(password.declassify().as_ref().to_vec());
                self.login(&tag, &login, password, now, out, "LOGIN")
            }
            CommandBody::Authenticate {
                mechanism,
                initial_response,
            } => self.authenticate(&tag, mechanism.as_ref(), initial_response, now, out),
            other => {
                let text = format!("{} not allowed before login", other.name());
                self.bad(out, Some(&tag), &text)
            }
        }
    }

    fn authenticated(
        &mut self,
        tag: String,
        body: CommandBody<'static>,
        now: Instant,
        out: &mut dyn Write,
    ) -> io::Result<Flow> {
        let State::Authenticated(user) = &mut self.state else {
            return Ok(Flow::Continue);
        };
        let name = body.name();
        let outcome = match body {
            CommandBody::StartTLS
            | CommandBody::Login { .. }
            | CommandBody::Authenticate { .. } => {
                return self.bad(out, Some(&tag), "Already logged in");
            }
            CommandBody::Idle => {
                let next_check = now + self.options.idle_check;
                self.idle = Some(Idling {
                    tag: tag.clone(),
                    next_check,
                });
                self.framer.set_mode(Mode::IdleDone);
                // Changes already known go out before the continuation (RFC 2177 allows
                // untagged responses at any time during IDLE).
                if let Some(sel) = &mut user.selected
                    && sel.report_changes(out, true)?
                {
                    self.closing = true;
                    return Ok(Flow::Return(Wait::Close));
                }
                out.write_all(b"+ idling\r\n")?;
                return Ok(Flow::Continue);
            }
            body => {
                if let Some(sel) = &mut user.selected {
                    sel.rfc822_peek = self.framer.last_command_used_rfc822_peek();
                }
                mailboxes::dispatch(user, &tag, name, body, now, out)?
            }
        };
        self.finish(out, &tag, outcome)
    }

    /// Sends a command's tagged answer, after the untagged updates it allows.
    fn finish(&mut self, out: &mut dyn Write, tag: &str, outcome: Outcome) -> io::Result<Flow> {
        if let Some(level_text) = &outcome.log {
            self.log(level_text.0, &level_text.1);
        }
        if outcome.close {
            self.closing = true;
            return Ok(Flow::Return(Wait::Close));
        }
        self.after_command(out, outcome.updates)?;
        response::status(
            out,
            Some(tag),
            outcome.cond,
            outcome.code.as_deref(),
            &outcome.text,
        )?;
        Ok(if outcome.cond == Cond::Bad {
            Flow::Bad
        } else {
            Flow::Continue
        })
    }

    /// Reports what changed in the selected mailbox (EXPUNGE only when `expunges_allowed`).
    fn after_command(&mut self, out: &mut dyn Write, expunges_allowed: bool) -> io::Result<()> {
        if let State::Authenticated(user) = &mut self.state
            && let Some(sel) = &mut user.selected
            && sel.report_changes(out, expunges_allowed)?
        {
            response::bye(out, "Mailbox was changed by another program; reconnect")?;
            self.closing = true;
        }
        Ok(())
    }

    fn idle_done(&mut self, out: &mut dyn Write) -> io::Result<Flow> {
        self.framer.set_mode(Mode::Command);
        let Some(idle) = self.idle.take() else {
            return self.bad(out, None, "DONE without IDLE");
        };
        self.after_command(out, true)?;
        self.ok(out, &idle.tag, None, "IDLE terminated")
    }

    /// A successful login: the authenticated state, larger limits, `OK [CAPABILITY ...]`.
    fn logged_in(
        &mut self,
        out: &mut dyn Write,
        tag: &str,
        account: Account<B::Store>,
        what: &str,
    ) -> io::Result<Flow> {
        let user_name = account.user.clone();
        self.state = State::Authenticated(User {
            account,
            selected: None,
        });
        self.framer.set_limits(self.options.limits_after_login);
        self.log(LogLevel::Info, &format!("login {user_name} ({what})"));
        let code = format!("CAPABILITY {}", self.capabilities());
        self.ok(out, tag, Some(&code), &format!("{what} completed"))
    }

    #[cfg(test)]
    fn selected_name(&self) -> Option<dmail_store::names::MailboxName> {
        match &self.state {
            State::Authenticated(User {
                selected: Some(sel),
                ..
            }) => Some(sel.name.clone()),
            _ => None,
        }
    }
}

/// What a command handler decided, for [`Session::finish`].
pub(crate) struct Outcome {
    cond: Cond,
    code: Option<String>,
    text: String,
    /// Whether untagged updates (EXPUNGE included) go out before the tagged line.
    updates: bool,
    /// A line for the log.
    log: Option<(LogLevel, String)>,
    /// The connection must close (the answer was a BYE already written).
    close: bool,
}

impl Outcome {
    pub(crate) fn ok(text: impl Into<String>) -> Outcome {
        Outcome {
            cond: Cond::Ok,
            code: None,
            text: text.into(),
            updates: true,
            log: None,
            close: false,
        }
    }

    pub(crate) fn no(text: impl Into<String>) -> Outcome {
        Outcome {
            cond: Cond::No,
            ..Outcome::ok(text)
        }
    }

    pub(crate) fn bad(text: impl Into<String>) -> Outcome {
        Outcome {
            cond: Cond::Bad,
            ..Outcome::ok(text)
        }
    }

    pub(crate) fn code(mut self, code: impl Into<String>) -> Outcome {
        self.code = Some(code.into());
        self
    }

    pub(crate) fn no_expunges(mut self) -> Outcome {
        self.updates = false;
        self
    }

    pub(crate) fn logged(mut self, level: LogLevel, text: impl Into<String>) -> Outcome {
        self.log = Some((level, text.into()));
        self
    }
}

#[cfg(test)]
mod tests;
