//! The external authenticator (`authent_method external`, dmail-conventions §3a): a long-lived
//! child process, the `authent_process` (or `imapd_authent_process`) command line, spoken to over
//! its stdin and stdout one line at a time.
//!
//! [`External`] owns one child: it starts it at first use, sends `check USER PASSWORD CLIENT-IP`,
//! reads `+DATA` lines and one final reply within `authent_timeout`, and kills, reaps and (on the
//! next use) replaces a child that timed out, died or said anything it could not read. [`Pool`]
//! holds `authent_number` of them for imapdsvc.
//!
//! This module must never let a reply it cannot read become a successful login, never panic on
//! what the child says, never write a request that could carry a second command (user names and
//! passwords with spaces or control characters are refused before anything is written), never
//! leave a zombie, and never show a password in an error or a log line.
//!
//! Writing to a child that has died relies on SIGPIPE being ignored, as it is in every Rust
//! program (the write then fails with `EPIPE`, a temporary failure).

mod pool;
mod reply;

use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use dmail_conf::values::CommandLine;
use dmail_conf::{Config, ResolvedLogin, ip_text};
use rustix::event::{PollFd, PollFlags, Timespec};
use zeroize::Zeroizing;

pub use pool::{Checkout, Pool};
use reply::ReplyLine;
pub use reply::{MAX_DATA_LINES, MAX_REPLY, Reply};

use crate::{AuthError, Authenticated, Authenticator, Password, Source};

/// The `PATH` the child is started with; nothing else is taken from IMAPD's environment (a
/// set-uid `imapd` takes nothing from it, dmail-conventions §11). \[decided\]
pub const CHILD_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// How long [`External::shutdown`] waits for the child to exit after `exit` before killing it
/// (dmail-conventions §3a).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// The USER sent to the authenticator for a resolved login (dmail-conventions §3a): the system
/// name, or with `authent_domain` `local@DOMAIN`, DOMAIN being the virtual domain's DOMAIN or the
/// first `host_domain`. With `authent_domain` but no domain name at all (a main-domain login and
/// no `host_domain`), the system name is sent. \[decided\]
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform};
/// use dmail_auth::external::request_user;
/// let c = parse_str("authent_domain true\nhost_domain example.com\n\
///     vdomain cc @computers.com computers.com /vd/cc\n", "c".into(), Program::Imapd,
///     Platform::Unix).config;
/// let bob = c.resolve_login(b"bob", None).unwrap();
/// assert_eq!(request_user(&c, &bob), "bob@example.com");
/// let sales = c.resolve_login(b"sales@computers.com", None).unwrap();
/// assert_eq!(request_user(&c, &sales), "sales@computers.com");
/// ```
pub fn request_user(config: &Config, login: &ResolvedLogin) -> String {
    match login.domain_name(config) {
        Some(domain) if config.authent_domain => format!("{}@{domain}", login.local),
        _ => login.system_name.clone(),
    }
}

/// Whether `bytes` can be one field of a request: not empty, and no byte at or below 0x20 (space
/// and control characters) and no 0x7F (dmail-conventions §3a).
///
/// ```
/// use dmail_auth::external::is_expressible;
/// assert!(is_expressible(b"s3cr\xc3\xa9t"));
/// assert!(!is_expressible(b"two words"));
/// assert!(!is_expressible(b"a\r\nexit"));
/// assert!(!is_expressible(b""));
/// ```
pub fn is_expressible(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| b > 0x20 && b != 0x7F)
}

/// What happened during the last request, for the caller's log: the `+DATA` lines (debug
/// level) and the reply's USER when it differs from the one asked about (info level).
///
/// ```
/// use dmail_auth::external::Transcript;
/// let t = Transcript::default();
/// assert!(t.data.is_empty() && t.reply_user.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    /// The text after `+DATA ` of each data line, in order.
    pub data: Vec<String>,
    /// The `+OK` reply's USER, only when it differs from the USER that was sent.
    pub reply_user: Option<String>,
}

/// One external authenticator child, started at first use.
///
/// ```no_run
/// use dmail_auth::{External, Password};
/// use dmail_conf::{parse_str, Program, Platform};
/// let c = parse_str("authent_method external\nauthent_process /usr/local/dmail/nwauth\n",
///     "c".into(), Program::Imapd, Platform::Unix).config;
/// let mut ext = External::from_config(&c).unwrap();
/// let reply = ext.check("bob", &Password::new(b"secret".to_vec()), None);
/// ext.shutdown();
/// ```
#[derive(Debug)]
pub struct External {
    command: CommandLine,
    timeout: Duration,
    child: Option<Running>,
    transcript: Transcript,
}

/// A started child and what has been read from it but not yet used.
#[derive(Debug)]
struct Running {
    process: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    pending: Vec<u8>,
}

/// How one exchange ended, before it becomes an [`AuthError`].
enum Failure {
    /// The authenticator answered: the login failed (`-ERR`).
    Rejected(String),
    /// The authenticator answered that it cannot answer now (`-DEAD`); the child is fine.
    Dead(String),
    /// The child cannot be trusted any more (timeout, EOF, garbage): kill it.
    Broken(String),
}

impl External {
    /// An authenticator running `command`, answering within `timeout`. Nothing is started yet.
    ///
    /// ```
    /// use std::time::Duration;
    /// use dmail_auth::External;
    /// use dmail_conf::{values::{CommandLine, SettingValue}, Platform};
    /// let cmd = CommandLine::parse_value("/bin/cat", Platform::Unix).unwrap();
    /// let ext = External::new(cmd, Duration::from_secs(10));
    /// assert_eq!(ext.child_id(), None);
    /// ```
    pub fn new(command: CommandLine, timeout: Duration) -> External {
        External {
            command,
            timeout,
            child: None,
            transcript: Transcript::default(),
        }
    }

    /// The authenticator of `config`: [`Config::imapd_authenticator`] and `authent_timeout`.
    /// `Unavailable` when neither `imapd_authent_process` nor `authent_process` is set.
    ///
    /// ```
    /// use dmail_auth::{AuthError, External};
    /// use dmail_conf::{Config, Platform};
    /// assert!(matches!(External::from_config(&Config::defaults(Platform::Unix)),
    ///     Err(AuthError::Unavailable(_))));
    /// ```
    pub fn from_config(config: &Config) -> Result<External, AuthError> {
        let command = config.imapd_authenticator().ok_or_else(|| {
            AuthError::Unavailable(
                "authent_method external, but neither imapd_authent_process nor authent_process \
                 is set"
                    .to_owned(),
            )
        })?;
        Ok(External::new(
            command.clone(),
            config.authent_timeout.as_duration(),
        ))
    }

    /// The process id of the running child, if one is running.
    pub fn child_id(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.process.id())
    }

    /// What the last [`check`](External::check) (or `authenticate`) saw besides its result.
    pub fn last_transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// Sends `check USER PASSWORD [CLIENT-IP]` and reads the answer.
    ///
    /// `Rejected` for `-ERR`, and for a USER or PASSWORD the protocol cannot carry (then nothing
    /// is written to the child). `Unavailable` for `-DEAD`, a child that cannot be started, a
    /// timeout, EOF, an over-long or malformed reply, more than [`MAX_DATA_LINES`] `+DATA` lines,
    /// or bytes after the final reply; in all but `-DEAD` the child is killed and reaped, and the
    /// next call starts a new one.
    pub fn check(
        &mut self,
        user: &str,
        password: &Password,
        client_ip: Option<IpAddr>,
    ) -> Result<Reply, AuthError> {
        self.transcript = Transcript::default();
        if !is_expressible(user.as_bytes()) {
            return Err(AuthError::Rejected(format!(
                "the user name {user:?} is empty or holds a space or control character, which \
                 the external authenticator protocol cannot carry"
            )));
        }
        if !is_expressible(password.expose()) {
            return Err(AuthError::Rejected(
                "the password is empty or holds a space or control character, which the external \
                 authenticator protocol cannot carry"
                    .to_owned(),
            ));
        }
        let mut request = Zeroizing::new(Vec::with_capacity(
            16 + user.len() + password.expose().len(),
        ));
        request.extend_from_slice(b"check ");
        request.extend_from_slice(user.as_bytes());
        request.push(b' ');
        request.extend_from_slice(password.expose());
        if let Some(ip) = client_ip {
            request.push(b' ');
            request.extend_from_slice(ip_text(ip).as_bytes());
        }
        request.push(b'\n');

        let deadline = Instant::now() + self.timeout;
        let mut transcript = Transcript::default();
        let result = match self.running() {
            Ok(child) => child.exchange(&request, deadline, &mut transcript),
            Err(e) => Err(Failure::Broken(e)),
        };
        self.transcript = transcript;
        match result {
            Ok(reply) => {
                if reply.user != user {
                    self.transcript.reply_user = Some(reply.user.clone());
                }
                Ok(reply)
            }
            Err(Failure::Rejected(reason)) => Err(AuthError::Rejected(format!(
                "the external authenticator refused the login: {reason}"
            ))),
            Err(Failure::Dead(reason)) => Err(AuthError::Unavailable(format!(
                "the external authenticator cannot answer now (-DEAD): {reason}"
            ))),
            Err(Failure::Broken(reason)) => {
                self.kill();
                Err(AuthError::Unavailable(format!(
                    "external authenticator {}: {reason}",
                    self.command.program()
                )))
            }
        }
    }

    /// Ends the child, if one is running: sends `exit`, waits up to [`SHUTDOWN_GRACE`] for it to
    /// exit, then kills it, and reaps it either way. For before a user switch
    /// (dmail-conventions §11); a later request starts a new child.
    pub fn shutdown(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // Best effort: a child that no longer reads is killed below anyway.
        let _ = child.stdin.write_all(b"exit\n");
        let _ = child.stdin.flush();
        drop(child.stdin);
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        loop {
            match child.process.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => break,
            }
        }
        let _ = child.process.kill();
        let _ = child.process.wait();
    }

    /// Kills and reaps the child at once, if one is running.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin);
            let _ = child.process.kill();
            let _ = child.process.wait();
        }
    }

    /// The running child, started now if there is none, or replaced if the old one has said
    /// something unasked for or closed its output (it died between requests).
    fn running(&mut self) -> Result<&mut Running, String> {
        if self
            .child
            .as_mut()
            .is_some_and(|c| !c.pending.is_empty() || readable_now(&c.stdout))
        {
            self.kill();
        }
        if self.child.is_none() {
            self.child = Some(Running::start(&self.command)?);
        }
        self.child
            .as_mut()
            .ok_or_else(|| "the child was not started".to_owned())
    }
}

impl Drop for External {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Authenticator for External {
    /// Checks the password with the authenticator (see [`External::check`] and
    /// [`request_user`]). The identity is the login's system name; the reply's USER is in
    /// [`External::last_transcript`].
    fn authenticate(
        &mut self,
        config: &Config,
        login: &ResolvedLogin,
        password: &Password,
        client_ip: Option<IpAddr>,
    ) -> Result<Authenticated, AuthError> {
        let user = request_user(config, login);
        let reply = self.check(&user, password, client_ip)?;
        Ok(Authenticated {
            system_name: login.system_name.clone(),
            source: Source::External,
            uid: reply.uid,
            gid: None,
            home: None,
            quota_kbytes: reply.quota_kbytes(),
            drop_file: reply.drop_file,
        })
    }

    /// [`External::shutdown`]: `exit`, 1 s, kill, reap.
    fn shutdown(&mut self) {
        External::shutdown(self);
    }
}

impl Running {
    /// Starts `command` with piped stdin and stdout, stderr discarded (under inetd, IMAPD's
    /// stderr may be the client's socket), and only [`CHILD_PATH`] in its environment.
    fn start(command: &CommandLine) -> Result<Running, String> {
        let mut process = Command::new(command.program())
            .args(command.args())
            .env_clear()
            .env("PATH", CHILD_PATH)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot be started: {e}"))?;
        let (Some(stdin), Some(stdout)) = (process.stdin.take(), process.stdout.take()) else {
            let _ = process.kill();
            let _ = process.wait();
            return Err("started without pipes".to_owned());
        };
        // Writes must not block past the deadline if the child stops reading.
        let nonblocking = rustix::fs::fcntl_getfl(&stdin)
            .and_then(|fl| rustix::fs::fcntl_setfl(&stdin, fl | rustix::fs::OFlags::NONBLOCK));
        if let Err(e) = nonblocking {
            let _ = process.kill();
            let _ = process.wait();
            return Err(format!("cannot make its input non-blocking: {e}"));
        }
        Ok(Running {
            process,
            stdin,
            stdout,
            pending: Vec::new(),
        })
    }

    /// Writes one request and reads `+DATA` lines and the final reply, all before `deadline`.
    fn exchange(
        &mut self,
        request: &[u8],
        deadline: Instant,
        transcript: &mut Transcript,
    ) -> Result<Reply, Failure> {
        self.write_all(request, deadline)?;
        loop {
            let line = self.read_line(deadline)?;
            match ReplyLine::parse(&line) {
                ReplyLine::Data(text) => {
                    if transcript.data.len() == MAX_DATA_LINES {
                        return Err(Failure::Broken(format!(
                            "more than {MAX_DATA_LINES} +DATA lines"
                        )));
                    }
                    transcript.data.push(text);
                    continue;
                }
                _ if !self.pending.is_empty() => {
                    return Err(Failure::Broken(
                        "more was sent after the final reply".to_owned(),
                    ));
                }
                ReplyLine::Ok(reply) => return Ok(reply),
                ReplyLine::Err(reason) => return Err(Failure::Rejected(reason)),
                ReplyLine::Dead(reason) => return Err(Failure::Dead(reason)),
                ReplyLine::Malformed(why) => return Err(Failure::Broken(why.to_owned())),
            }
        }
    }

    /// Writes all of `bytes` to the non-blocking stdin before `deadline`.
    fn write_all(&mut self, mut bytes: &[u8], deadline: Instant) -> Result<(), Failure> {
        while !bytes.is_empty() {
            match self.stdin.write(bytes) {
                Ok(0) => return Err(Failure::Broken("its input is closed".to_owned())),
                Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait_for(&self.stdin, PollFlags::OUT, deadline)?;
                }
                Err(e) => return Err(Failure::Broken(format!("cannot write to it: {e}"))),
            }
        }
        Ok(())
    }

    /// The next line, without its LF and a CR before it. A line longer than [`MAX_REPLY`]
    /// bytes (line ending included), EOF, a timeout or text that is not UTF-8 is `Broken`.
    fn read_line(&mut self, deadline: Instant) -> Result<String, Failure> {
        let mut chunk = [0u8; MAX_REPLY];
        loop {
            if let Some(at) = self.pending.iter().position(|&b| b == b'\n') {
                if at >= MAX_REPLY {
                    return Err(too_long());
                }
                let mut line: Vec<u8> = self.pending.drain(..=at).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return String::from_utf8(line)
                    .map_err(|_| Failure::Broken("the reply is not UTF-8".to_owned()));
            }
            if self.pending.len() >= MAX_REPLY {
                return Err(too_long());
            }
            wait_for(&self.stdout, PollFlags::IN, deadline)?;
            match self.stdout.read(&mut chunk) {
                Ok(0) => {
                    return Err(Failure::Broken(
                        "it closed its output (it exited or died)".to_owned(),
                    ));
                }
                Ok(n) => self
                    .pending
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Failure::Broken(format!("cannot read from it: {e}"))),
            }
        }
    }
}

fn too_long() -> Failure {
    Failure::Broken(format!("a reply line is longer than {MAX_REPLY} bytes"))
}

/// Waits until `fd` is ready for `events` (or has hung up or failed, which the following read
/// or write reports), or fails with a timeout at `deadline`.
fn wait_for(fd: &impl AsFd, events: PollFlags, deadline: Instant) -> Result<(), Failure> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::Broken(
                "no answer within authent_timeout".to_owned(),
            ));
        }
        let timeout = Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut fds = [PollFd::new(fd, events)];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(0) => {}
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(Failure::Broken(format!("cannot wait for it: {e}"))),
        }
    }
}

/// Whether `fd` has something to read (or is at EOF, or failed) right now.
fn readable_now(fd: &impl AsFd) -> bool {
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    !matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(0))
}
