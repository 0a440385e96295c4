//! The command framer: client bytes in, decoded commands or precise errors out.
//!
//! # What it owns
//!
//! * Splitting the client byte stream into IMAP messages (lines and literals) with imap-codec's
//!   [`Fragmentizer`], *before* any grammar runs, so that a bad message is dropped as a whole and
//!   literal bytes are never run as commands (frame first, then parse).
//! * The size limits of the session state ([`Limits`]): a line budget and a literal budget per
//!   command, 8192 bytes each before login, `imapd_max_line` / `imapd_max_message` after.
//! * The literal rules of RFC 3501 §2.2.2, §7.5 and RFC 7888: a synchronising literal `{n}` is
//!   announced to the session ([`Event::NeedContinuation`]) or rejected without reading it; a
//!   non-synchronising literal `{n+}` (we advertise `LITERAL+`) is always read, and one over the
//!   cap ends the connection ([`Event::Fatal`]), because the client will not wait for us.
//! * Decoding a complete message with the codec of the current [`Mode`]: `CommandCodec`,
//!   `AuthenticateDataCodec` or `IdleDoneCodec`.
//!
//! # What it must never do
//!
//! * No I/O, no threads, no clocks: the driver pushes bytes in ([`Framer::push`]) and pulls
//!   events out ([`Framer::next`]); it writes any response itself.
//! * Never read bytes of a synchronising literal before the session was told to send
//!   `+ Ready for literal data`, and never treat literal bytes as a command.
//! * Never hold more than one command's worth of bytes (bounded by [`Limits`]) beyond what the
//!   driver pushed and the framer has not looked at yet.
//! * Never accept a bare LF as a line end (imap-codec's `quirk_crlf_relaxed` is off, and
//!   imap-next stays out of the workspace so that feature unification cannot turn it on).
//! * Never panic on any input.
//!
//! # Example
//!
//! ```
//! use imapd_proto::framer::{Event, Framer, Limits};
//!
//! let mut framer = Framer::new(Limits::BEFORE_LOGIN);
//! framer.push(b"a1 LOGIN {4}\r\n");
//! let Some(Event::NeedContinuation { tag }) = framer.next() else { panic!() };
//! assert_eq!(tag.as_ref(), "a1");
//! // The session writes "+ Ready for literal data\r\n" here.
//! assert_eq!(framer.next(), None);
//! framer.push(b"user pass\r\n");
//! let Some(Event::Command(command)) = framer.next() else { panic!() };
//! assert_eq!(command.tag.as_ref(), "a1");
//! assert_eq!(command.body.name(), "LOGIN");
//! ```

use std::collections::VecDeque;
use std::fmt;

use imap_codec::decode::{CommandDecodeError, Decoder};
use imap_codec::fragmentizer::{FragmentInfo, Fragmentizer, LineEnding, LiteralAnnouncement};
use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::auth::AuthenticateData;
use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::imap_types::core::{LiteralMode, Tag};
use imap_codec::{AuthenticateDataCodec, CommandCodec, IdleDoneCodec};

/// Size limits for one command, set by the session for its current state.
///
/// * `line`: the bytes of a command *outside* its literals, line ends (CRLF) included, summed
///   over all the lines of the command. Before login this is a fixed 8192; after login it is
///   `imapd_max_line` (default 65536).
/// * `literal`: the bytes of all literals of one command together. Before login it is small
///   (8192: enough for `LOGIN` with literals); after login it is `imapd_max_message` (default
///   52428800, the largest `APPEND`).
///
/// A command therefore never occupies more than `line + literal + 1` bytes of memory.
///
/// ```
/// use imapd_proto::framer::Limits;
///
/// assert_eq!(Limits::BEFORE_LOGIN, Limits { line: 8192, literal: 8192 });
/// assert_eq!(Limits::AFTER_LOGIN_DEFAULT, Limits { line: 65536, literal: 52_428_800 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest number of line bytes of one command (CRLF included, literals excluded).
    pub line: usize,
    /// Largest number of literal bytes of one command (all its literals together).
    pub literal: usize,
}

impl Limits {
    /// The limits before login: 8192 line bytes (fixed by DMail), 8192 literal bytes.
    pub const BEFORE_LOGIN: Limits = Limits {
        line: 8192,
        literal: 8192,
    };

    /// The limits after login with DMail's defaults: `imapd_max_line` 65536 and
    /// `imapd_max_message` 52428800.
    pub const AFTER_LOGIN_DEFAULT: Limits = Limits {
        line: 65536,
        literal: 52_428_800,
    };

    /// The size of the [`Fragmentizer`]'s message buffer: one byte more than a command may
    /// hold, so that exceeding a limit is always seen.
    fn message_cap(self) -> u32 {
        let cap = self.line.saturating_add(self.literal).saturating_add(1);
        u32::try_from(cap).unwrap_or(u32::MAX)
    }
}

impl Default for Limits {
    /// [`Limits::BEFORE_LOGIN`].
    fn default() -> Self {
        Limits::BEFORE_LOGIN
    }
}

/// Which codec decodes the next complete message.
///
/// The session switches the mode; only it knows the conversation state (RFC 3501 §6.2.2
/// AUTHENTICATE, RFC 2177 IDLE).
///
/// ```
/// use imapd_proto::framer::{Event, Framer, Limits, Mode};
///
/// let mut framer = Framer::new(Limits::BEFORE_LOGIN);
/// framer.set_mode(Mode::IdleDone);
/// framer.push(b"DONE\r\n");
/// assert_eq!(framer.next(), Some(Event::IdleDone));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Commands (`CommandCodec`). Yields [`Event::Command`].
    #[default]
    Command,
    /// SASL continuation lines after `AUTHENTICATE` (`AuthenticateDataCodec`): base64 data or
    /// `*` to cancel. Yields [`Event::AuthenticateData`].
    AuthenticateData,
    /// The `DONE` line that ends IDLE (`IdleDoneCodec`). Yields [`Event::IdleDone`].
    IdleDone,
}

/// What the framer found in the input.
///
/// `Debug` never shows a password, a SASL initial response or SASL data, in any build
/// (imap-types' own `Secret` redacts only in release builds).
#[derive(Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete command ([`Mode::Command`]).
    Command(Command<'static>),
    /// A synchronising literal within the limits was announced. The session must now send a
    /// command continuation request (`+ Ready for literal data`, RFC 3501 §7.5) *before* it
    /// calls [`Framer::next`] again; the next call reads the literal.
    NeedContinuation {
        /// The tag of the command the literal belongs to.
        tag: Tag<'static>,
    },
    /// A complete SASL continuation line ([`Mode::AuthenticateData`]), already base64-decoded,
    /// or the `*` cancellation.
    AuthenticateData(AuthenticateData<'static>),
    /// The `DONE` that ends IDLE ([`Mode::IdleDone`]).
    IdleDone,
    /// The command was refused for its size. The session answers `<tag> BAD …` (or `* BAD …`
    /// without a tag) and goes on; the framer has skipped or is discarding the rest of the
    /// command, keeping the framing.
    Rejected {
        /// The tag of the refused command, when it could be read.
        tag: Option<Tag<'static>>,
        /// Why.
        reason: Rejection,
    },
    /// A complete message that does not parse. The session answers `<tag> BAD …` (or
    /// `* BAD …`) and goes on.
    Bad {
        /// The tag, when it could be read (always `None` outside [`Mode::Command`]).
        tag: Option<Tag<'static>>,
        /// Why.
        reason: BadReason,
    },
    /// The connection cannot go on: the session sends `* BYE …` and closes it. The framer
    /// drops all input and yields nothing after this.
    Fatal {
        /// Why.
        reason: FatalReason,
    },
}

/// Outlook sends `RFC822.PEEK`, which imap-codec (rightly, for RFC 3501) refuses: a FETCH that
/// fails to decode and holds it is decoded again with `BODY.PEEK[]` in its place. The rewrite
/// only ever touches a command line without literals, so literal data cannot be changed.
fn rfc822_peek_quirk(message: &[u8]) -> Option<Command<'static>> {
    const OLD: &[u8] = b"RFC822.PEEK";
    const NEW: &[u8] = b"BODY.PEEK[]";
    if message.contains(&b'{') {
        return None;
    }
    let upper = message.to_ascii_uppercase();
    if memchr::memmem::find(&upper, OLD).is_none()
        || memchr::memmem::find(&upper, b"FETCH").is_none()
    {
        return None;
    }
    let mut rewritten = Vec::with_capacity(message.len());
    let mut i = 0;
    while i < message.len() {
        if upper[i..].starts_with(OLD) {
            rewritten.extend_from_slice(NEW);
            i += OLD.len();
        } else {
            rewritten.push(message[i]);
            i += 1;
        }
    }
    match CommandCodec::default().decode(&rewritten) {
        Ok((rest, command)) if rest.is_empty() && command.body.name() == "FETCH" => {
            Some(command.into_static())
        }
        _ => None,
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Command(command) => match &command.body {
                CommandBody::Login { username, .. } => f
                    .debug_struct("Command::Login")
                    .field("tag", &command.tag)
                    .field("username", username)
                    .field("password", &Redacted)
                    .finish(),
                CommandBody::Authenticate {
                    mechanism,
                    initial_response,
                } => f
                    .debug_struct("Command::Authenticate")
                    .field("tag", &command.tag)
                    .field("mechanism", mechanism)
                    .field(
                        "initial_response",
                        &initial_response.as_ref().map(|_| Redacted),
                    )
                    .finish(),
                _ => f.debug_tuple("Command").field(command).finish(),
            },
            Event::NeedContinuation { tag } => f
                .debug_struct("NeedContinuation")
                .field("tag", tag)
                .finish(),
            Event::AuthenticateData(AuthenticateData::Continue(_)) => {
                write!(f, "AuthenticateData(Continue({Redacted:?}))")
            }
            Event::AuthenticateData(AuthenticateData::Cancel) => {
                f.write_str("AuthenticateData(Cancel)")
            }
            Event::IdleDone => f.write_str("IdleDone"),
            Event::Rejected { tag, reason } => f
                .debug_struct("Rejected")
                .field("tag", tag)
                .field("reason", reason)
                .finish(),
            Event::Bad { tag, reason } => f
                .debug_struct("Bad")
                .field("tag", tag)
                .field("reason", reason)
                .finish(),
            Event::Fatal { reason } => f.debug_struct("Fatal").field("reason", reason).finish(),
        }
    }
}

/// Stands in for a secret in `Debug` output.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("/* REDACTED */")
    }
}

/// Why a command was refused for its size ([`Event::Rejected`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The command's lines exceed [`Limits::line`]. Reported as soon as the limit is passed;
    /// the rest of the command is then read and dropped.
    LineTooLong {
        /// The limit in force.
        limit: usize,
    },
    /// A synchronising literal would take the command's literals over [`Limits::literal`].
    /// The literal was not read (the client waits for a continuation it never gets).
    LiteralTooLarge {
        /// The announced literal length.
        length: u32,
        /// The limit in force.
        limit: usize,
    },
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::LineTooLong { limit } => {
                write!(f, "Command line too long (limit {limit} bytes)")
            }
            Rejection::LiteralTooLarge { length, limit } => {
                write!(
                    f,
                    "Literal of {length} bytes too large (limit {limit} bytes)"
                )
            }
        }
    }
}

/// Why a complete message is bad ([`Event::Bad`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadReason {
    /// It does not follow the grammar of the current [`Mode`].
    Malformed,
    /// An empty line (`CRLF` alone) where a command was expected.
    EmptyLine,
    /// A line ended in a bare LF instead of CRLF (RFC 3501 §2.2).
    BareLineFeed,
    /// A literal where the current [`Mode`] allows none (AUTHENTICATE data, IDLE).
    UnexpectedLiteral,
}

impl fmt::Display for BadReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadReason::Malformed => "Malformed command",
            BadReason::EmptyLine => "Empty command line",
            BadReason::BareLineFeed => "Line must end in CRLF",
            BadReason::UnexpectedLiteral => "Literal not allowed here",
        })
    }
}

/// Why the connection must be closed ([`Event::Fatal`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FatalReason {
    /// A non-synchronising literal (`{n+}`, RFC 7888) would take the command's literals over
    /// [`Limits::literal`]. The client sends it without waiting, so it cannot be refused
    /// without reading it; we close instead (RFC 7888 §4 allows closing the connection).
    NonSyncLiteralTooLarge {
        /// The announced literal length.
        length: u32,
        /// The limit in force.
        limit: usize,
    },
}

impl fmt::Display for FatalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FatalReason::NonSyncLiteralTooLarge { length, limit } => write!(
                f,
                "Non-synchronizing literal of {length} bytes too large (limit {limit} bytes)"
            ),
        }
    }
}

/// What the fragmentizer reads next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Line,
    Literal { remaining: usize },
}

/// The sans-I/O command framer of one connection.
///
/// Push the bytes read from the client with [`Framer::push`], then call [`Framer::next`] until
/// it returns `None` (it needs more bytes), handling each [`Event`] before the next call.
/// Changes of [`Limits`] and [`Mode`] take effect at the start of the next message, so the
/// session sets them right after the event that calls for them (e.g. after `LOGIN` succeeded,
/// after `AUTHENTICATE` or `IDLE` was accepted) and before its next call to `next`.
///
/// Memory: the framer holds the bytes pushed and not yet framed, plus one command capped by
/// [`Limits`]. Push only when `next` returned `None`, and the read size bounds the first part.
///
/// ```
/// use imapd_proto::framer::{Event, Framer, Limits, Rejection};
///
/// let mut framer = Framer::new(Limits::BEFORE_LOGIN);
/// framer.push(b"a1 APPEND INBOX {100000}\r\na2 NOOP\r\n");
/// assert!(matches!(
///     framer.next(),
///     Some(Event::Rejected { reason: Rejection::LiteralTooLarge { length: 100000, .. }, .. })
/// ));
/// let Some(Event::Command(noop)) = framer.next() else { panic!() };
/// assert_eq!(noop.tag.as_ref(), "a2");
/// assert_eq!(framer.next(), None);
/// ```
///
/// `Debug` shows the state and buffer sizes, never buffered bytes (they may hold a password).
pub struct Framer {
    /// Bytes pushed and not yet handed to the fragmentizer.
    input: VecDeque<u8>,
    /// Only ever fed up to the end of its current fragment, so it buffers no unparsed bytes
    /// between calls and can be replaced at a message boundary.
    fragmentizer: Fragmentizer,
    /// Limits for the next message.
    limits: Limits,
    /// Mode for the next message.
    mode: Mode,
    /// Limits of the current message.
    active_limits: Limits,
    /// Mode of the current message.
    active_mode: Mode,
    /// Whether a message has started and not been finished.
    in_message: bool,
    expect: Expect,
    /// Line bytes of the current message so far.
    line_bytes: usize,
    /// Announced literal bytes of the current message so far.
    literal_bytes: usize,
    /// The current message was answered with [`Event::Rejected`]; the rest is dropped silently.
    rejected: bool,
    /// The current message will be reported [`Event::Bad`] for this reason once complete.
    poison: Option<BadReason>,
    /// A [`Event::Fatal`] was yielded.
    dead: bool,
    /// Set by the last decode that needed the `RFC822.PEEK` rewrite.
    rfc822_peek: std::cell::Cell<bool>,
}

impl fmt::Debug for Framer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Framer")
            .field("input_len", &self.input.len())
            .field("message_len", &self.fragmentizer.message_bytes().len())
            .field("limits", &self.limits)
            .field("mode", &self.mode)
            .field("active_limits", &self.active_limits)
            .field("active_mode", &self.active_mode)
            .field("in_message", &self.in_message)
            .field("expect", &self.expect)
            .field("line_bytes", &self.line_bytes)
            .field("literal_bytes", &self.literal_bytes)
            .field("rejected", &self.rejected)
            .field("poison", &self.poison)
            .field("dead", &self.dead)
            .finish()
    }
}

impl Framer {
    /// A framer in [`Mode::Command`] with the given limits.
    ///
    /// ```
    /// use imapd_proto::framer::{Framer, Limits};
    ///
    /// let framer = Framer::new(Limits::BEFORE_LOGIN);
    /// assert!(framer.is_empty_after_command());
    /// ```
    pub fn new(limits: Limits) -> Self {
        Framer {
            input: VecDeque::new(),
            fragmentizer: Fragmentizer::new(limits.message_cap()),
            limits,
            mode: Mode::Command,
            active_limits: limits,
            active_mode: Mode::Command,
            in_message: false,
            expect: Expect::Line,
            line_bytes: 0,
            literal_bytes: 0,
            rejected: false,
            poison: None,
            rfc822_peek: std::cell::Cell::new(false),
            dead: false,
        }
    }

    /// Appends bytes read from the client. Nothing is parsed until [`Framer::next`]. After
    /// [`Event::Fatal`] the bytes are dropped.
    ///
    /// ```
    /// use imapd_proto::framer::{Framer, Limits};
    ///
    /// let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    /// framer.push(b"a1 NOOP\r\n");
    /// assert_eq!(framer.buffered_len(), 9);
    /// ```
    pub fn push(&mut self, bytes: &[u8]) {
        if !self.dead {
            self.input.extend(bytes);
        }
    }

    /// The limits that apply from the next message on (the current message keeps the limits
    /// it started with).
    ///
    /// ```
    /// use imapd_proto::framer::{Framer, Limits};
    ///
    /// let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    /// framer.set_limits(Limits::AFTER_LOGIN_DEFAULT); // LOGIN succeeded
    /// assert_eq!(framer.limits(), Limits::AFTER_LOGIN_DEFAULT);
    /// ```
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The limits set for the next message.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The codec for the next message. The session sets [`Mode::AuthenticateData`] after
    /// accepting `AUTHENTICATE`, [`Mode::IdleDone`] after accepting `IDLE`, and
    /// [`Mode::Command`] when the exchange is over.
    ///
    /// ```
    /// use imapd_proto::framer::{Event, Framer, Limits, Mode};
    /// use imap_codec::imap_types::auth::AuthenticateData;
    ///
    /// let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    /// framer.set_mode(Mode::AuthenticateData);
    /// framer.push(b"*\r\n");
    /// assert_eq!(framer.next(), Some(Event::AuthenticateData(AuthenticateData::Cancel)));
    /// ```
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    /// The mode set for the next message.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether no byte is buffered beyond the message last reported. After `STARTTLS` the
    /// session must refuse to go on if this is false: plaintext pipelined after `STARTTLS`
    /// must never be read as if it came over TLS (the CVE-2011-0411 class).
    ///
    /// ```
    /// use imapd_proto::framer::{Event, Framer, Limits};
    ///
    /// let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    /// framer.push(b"a STARTTLS\r\nb LOGIN evil pw\r\n");
    /// assert!(matches!(framer.next(), Some(Event::Command(_))));
    /// assert!(!framer.is_empty_after_command());
    /// ```
    pub fn is_empty_after_command(&self) -> bool {
        !self.in_message && self.input.is_empty()
    }

    /// Bytes the framer holds: pushed and not yet framed, plus the current (or last) message
    /// (capped by the limits). For monitoring and tests of the memory bound.
    pub fn buffered_len(&self) -> usize {
        self.input.len() + self.fragmentizer.message_bytes().len()
    }

    /// The next event, or `None` when more bytes must be pushed first (or after
    /// [`Event::Fatal`]).
    ///
    /// ```
    /// use imapd_proto::framer::{BadReason, Event, Framer, Limits};
    ///
    /// let mut framer = Framer::new(Limits::BEFORE_LOGIN);
    /// framer.push(b"a1 FROB\r\na2 NOOP\r\n");
    /// let Some(Event::Bad { tag: Some(tag), reason: BadReason::Malformed }) = framer.next()
    /// else { panic!() };
    /// assert_eq!(tag.as_ref(), "a1");
    /// assert!(matches!(framer.next(), Some(Event::Command(_))));
    /// assert_eq!(framer.next(), None);
    /// ```
    #[allow(clippy::should_implement_trait)] // not an iterator: `None` means "push more".
    pub fn next(&mut self) -> Option<Event> {
        if self.dead {
            return None;
        }
        loop {
            if !self.in_message {
                if self.input.is_empty() {
                    return None;
                }
                self.start_message();
            }

            let n = match self.expect {
                Expect::Line => self
                    .input
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(self.input.len(), |i| i + 1),
                Expect::Literal { remaining } => remaining.min(self.input.len()),
            };
            if n == 0 && self.expect != (Expect::Literal { remaining: 0 }) {
                return None;
            }
            self.feed(n);

            match self.fragmentizer.progress() {
                None => {
                    if self.expect == Expect::Line
                        && !self.rejected
                        && self.line_bytes > self.active_limits.line
                    {
                        self.rejected = true;
                        return Some(self.line_too_long());
                    }
                    if self.input.is_empty() {
                        return None;
                    }
                }
                Some(FragmentInfo::Literal { .. }) => self.expect = Expect::Line,
                Some(FragmentInfo::Line {
                    announcement,
                    ending,
                    ..
                }) => {
                    if let Some(event) = self.on_line(announcement, ending) {
                        return Some(event);
                    }
                }
            }
        }
    }

    fn start_message(&mut self) {
        if self.limits != self.active_limits {
            // The old fragmentizer holds no bytes here (see `feed`), so nothing is lost.
            self.fragmentizer = Fragmentizer::new(self.limits.message_cap());
            self.active_limits = self.limits;
        }
        self.active_mode = self.mode;
        self.in_message = true;
        self.expect = Expect::Line;
        self.line_bytes = 0;
        self.literal_bytes = 0;
        self.rejected = false;
        self.poison = None;
    }

    fn end_message(&mut self) {
        self.in_message = false;
        self.expect = Expect::Line;
    }

    /// Hands the next `n` input bytes to the fragmentizer; `n` never passes the end of the
    /// current fragment, so the fragmentizer consumes all of them in `progress`.
    fn feed(&mut self, n: usize) {
        let (front, back) = self.input.as_slices();
        let from_front = n.min(front.len());
        self.fragmentizer.enqueue_bytes(&front[..from_front]);
        self.fragmentizer
            .enqueue_bytes(&back[..(n - from_front).min(back.len())]);
        self.input.drain(..n);
        match &mut self.expect {
            Expect::Line => self.line_bytes = self.line_bytes.saturating_add(n),
            Expect::Literal { remaining } => *remaining -= n,
        }
    }

    fn tag(&self) -> Option<Tag<'static>> {
        match self.active_mode {
            Mode::Command => self.fragmentizer.decode_tag().map(IntoStatic::into_static),
            Mode::AuthenticateData | Mode::IdleDone => None,
        }
    }

    fn line_too_long(&self) -> Event {
        Event::Rejected {
            tag: self.tag(),
            reason: Rejection::LineTooLong {
                limit: self.active_limits.line,
            },
        }
    }

    fn fatal(&mut self, reason: FatalReason) -> Event {
        self.dead = true;
        self.input = VecDeque::new();
        self.fragmentizer = Fragmentizer::new(0);
        Event::Fatal { reason }
    }

    /// A line fragment ended. Returns the event to yield, if any.
    fn on_line(
        &mut self,
        announcement: Option<LiteralAnnouncement>,
        ending: LineEnding,
    ) -> Option<Event> {
        let over = self.line_bytes > self.active_limits.line;
        let newly_rejected = over && !self.rejected;
        self.rejected |= over;
        let rejection = newly_rejected.then(|| self.line_too_long());
        if ending == LineEnding::Lf && self.poison.is_none() {
            self.poison = Some(BadReason::BareLineFeed);
            self.fragmentizer.poison_message();
        }

        let Some(LiteralAnnouncement { mode, length }) = announcement else {
            let event = if self.rejected {
                rejection
            } else {
                Some(self.decode_complete())
            };
            self.end_message();
            return event;
        };

        let total = self.literal_bytes.saturating_add(length as usize);
        let limit = self.active_limits.literal;
        match mode {
            LiteralMode::NonSync => {
                // RFC 7888: the client sends the literal without waiting; read it or close.
                if total > limit {
                    return Some(self.fatal(FatalReason::NonSyncLiteralTooLarge { length, limit }));
                }
                self.literal_bytes = total;
                self.expect = Expect::Literal {
                    remaining: length as usize,
                };
                if self.active_mode != Mode::Command && self.poison.is_none() {
                    self.poison = Some(BadReason::UnexpectedLiteral);
                    self.fragmentizer.poison_message();
                }
                rejection
            }
            LiteralMode::Sync => {
                // The client waits for "+"; whatever we refuse, we refuse without reading.
                let event = if self.rejected {
                    rejection
                } else if total > limit {
                    Some(Event::Rejected {
                        tag: self.tag(),
                        reason: Rejection::LiteralTooLarge { length, limit },
                    })
                } else if let Some(reason) = self.poison {
                    Some(Event::Bad {
                        tag: self.tag(),
                        reason,
                    })
                } else if self.active_mode != Mode::Command {
                    Some(Event::Bad {
                        tag: None,
                        reason: BadReason::UnexpectedLiteral,
                    })
                } else {
                    match CommandCodec::default().decode(self.fragmentizer.message_bytes()) {
                        Err(CommandDecodeError::LiteralFound { tag, .. }) => {
                            self.literal_bytes = total;
                            self.expect = Expect::Literal {
                                remaining: length as usize,
                            };
                            return Some(Event::NeedContinuation {
                                tag: tag.into_static(),
                            });
                        }
                        _ => Some(Event::Bad {
                            tag: self.tag(),
                            reason: BadReason::Malformed,
                        }),
                    }
                };
                self.fragmentizer.skip_message();
                self.end_message();
                event
            }
        }
    }

    /// Whether the last [`Event::Command`] was a FETCH that used Outlook's obsolete
    /// `RFC822.PEEK` (RFC 1730), decoded as `BODY.PEEK[]`; the session answers such items as
    /// `RFC822`, which is what the client looks for.
    ///
    /// ```
    /// use imapd_proto::framer::{Event, Framer, Limits};
    /// let mut framer = Framer::new(Limits::AFTER_LOGIN_DEFAULT);
    /// framer.push(b"a FETCH 1 (UID RFC822.PEEK)\r\n");
    /// assert!(matches!(framer.next(), Some(Event::Command(_))));
    /// assert!(framer.last_command_used_rfc822_peek());
    /// ```
    pub fn last_command_used_rfc822_peek(&self) -> bool {
        self.rfc822_peek.get()
    }

    /// Decodes the complete current message with the codec of its mode.
    fn decode_complete(&self) -> Event {
        self.rfc822_peek.set(false);
        if let Some(reason) = self.poison {
            return Event::Bad {
                tag: self.tag(),
                reason,
            };
        }
        let bad = |reason| Event::Bad {
            tag: self.tag(),
            reason,
        };
        match self.active_mode {
            Mode::Command => match self.fragmentizer.decode_message(&CommandCodec::default()) {
                Ok(command) => Event::Command(command.into_static()),
                Err(_) if self.fragmentizer.message_bytes() == b"\r\n" => bad(BadReason::EmptyLine),
                Err(_) => match rfc822_peek_quirk(self.fragmentizer.message_bytes()) {
                    Some(command) => {
                        self.rfc822_peek.set(true);
                        Event::Command(command)
                    }
                    None => bad(BadReason::Malformed),
                },
            },
            Mode::AuthenticateData => match self
                .fragmentizer
                .decode_message(&AuthenticateDataCodec::default())
            {
                Ok(data) => Event::AuthenticateData(data.into_static()),
                Err(_) => bad(BadReason::Malformed),
            },
            Mode::IdleDone => match self.fragmentizer.decode_message(&IdleDoneCodec::default()) {
                Ok(_) => Event::IdleDone,
                Err(_) => bad(BadReason::Malformed),
            },
        }
    }
}
