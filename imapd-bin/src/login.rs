//! What the server does after a password has been accepted (`dmail_auth::policy::login`) and
//! before it answers the tagged OK: dmail-conventions §11, in this order:
//!
//! 0. decide where the user's mail lives ([`MailPaths`]: the external authenticator's absolute
//!    drop file if it named one, else the layout of §3; `imapd_mailbox_name` folders under
//!    [`Authenticated::home`]) and refuse what cannot be served (`use_maildir` without a maildir
//!    engine, a layout error, a switching login without ids) — nothing is touched yet;
//! 1. record the client's address for forward_user (§6), when `forward_user` is true and the
//!    address is known;
//! 2. create a missing folder directory as the current (root) user without following symlinks,
//!    mode 0700, and give it to the user when the process will switch ([`create_folder_dir`]);
//! 3. end the authenticator's helper process, if it has one (§3a:
//!    [`Authenticator::shutdown`]; nothing for unix_user);
//! 4. switch user (`imapd_become_user`, [`will_switch`]), verified with getresuid/getresgid;
//! 5. deliver bulletins (§8), as the user when the process switched;
//! 6. (the caller answers the tagged OK and opens mailboxes).
//!
//! Every failure of any step is a [`LoginStepError`] naming its step, and the login fails (§11:
//! "Failure at any step is a failed login with the reason in the log"), a bulletin failure
//! included; the client only ever sees `LOGIN failed` or `NO [UNAVAILABLE]`
//! ([`LoginStepError::answer`]).
//!
//! The steps are the methods of a small private trait, so the order is tested with a recorder
//! that needs no root; [`start_session`] runs them for real. This module never writes to the
//! client, never logs (the caller does, with [`LoginStepError`]'s text), and must never follow
//! a symlink below a trusted directory while creating the folder directory as root.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::os::fd::OwnedFd;
use std::time::{SystemTime, UNIX_EPOCH};

use camino::{Utf8Component, Utf8Path, Utf8PathBuf};
use dmail_auth::become_user::{self, BecomeError};
use dmail_auth::policy::LoggedIn;
use dmail_auth::{Authenticated, Authenticator, Source, forward};
use dmail_conf::{Config, ResolvedLogin, ip_text};
use dmail_store::InternalDate;
use dmail_store::bulletin::{self, BulletinError, BulletinReport};
use dmail_store::deliver::DeliverOptions;
use dmail_store::folders::Folders;
use dmail_store::layout::{self, DropPath, LayoutError, MailPaths};
use dmail_store::mbox::engine::MboxPaths;
use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, Uid};
use rustix::io::Errno;

/// \[decided\] Mode of a folder directory created at login (§5, §11): the user's alone.
pub const FOLDER_DIR_MODE: u32 = 0o700;

/// A step of the post-login sequence (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// 0: where the mail lives, and whether it can be served.
    Paths,
    /// 1: the forward_user record.
    ForwardUser,
    /// 2: the folder directory.
    FolderDir,
    /// 3: ending the authenticator's helper process.
    EndAuthenticator,
    /// 4: switching user.
    SwitchUser,
    /// 5: bulletins.
    Bulletins,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Paths => "mail paths",
            Step::ForwardUser => "forward_user",
            Step::FolderDir => "folder directory",
            Step::EndAuthenticator => "end authenticator",
            Step::SwitchUser => "switch user",
            Step::Bulletins => "bulletins",
        })
    }
}

/// What the client is told about a failed login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAnswer {
    /// `NO LOGIN failed` (or the AUTHENTICATE equivalent).
    LoginFailed,
    /// `NO [UNAVAILABLE]`: the server cannot serve this login now.
    Unavailable,
}

/// Why the folder directory could not be made ready (step 2).
#[derive(Debug, thiserror::Error)]
pub enum FolderDirProblem {
    /// The folder directory, or a directory between the trusted directory and it, is a
    /// symlink: refused, and nothing is created through it.
    #[error("{0} is a symlink; refused")]
    Symlink(String),
    /// The folder directory, or a directory on the way to it, exists and is not a directory.
    #[error("{0} exists and is not a directory")]
    NotADirectory(String),
    /// The path has no last component, or one that is not a plain name.
    #[error("the path has no plain last component")]
    NoName,
    /// A system call failed.
    #[error("{call} {name}: {source}")]
    Io {
        /// The call (`open`, `mkdir`, `fchmod`, `fchown`).
        call: &'static str,
        /// The path or component it was made on.
        name: String,
        /// The system's reason.
        source: io::Error,
    },
}

/// Why a login failed after its password was accepted: the step and the reason, for the log.
#[derive(Debug, thiserror::Error)]
pub enum LoginStepError {
    /// `use_maildir true`, and this build has no maildir engine (§5).
    #[error("mail paths: use_maildir is true, but maildir storage is not built into this imapd")]
    MaildirUnavailable,
    /// The login maps to no mailbox (no `drop_path`, no home for `imapd_mailbox_name`, ...).
    #[error("mail paths: {0}")]
    Paths(#[from] LayoutError),
    /// The login would switch user, but lacks a uid or gid.
    #[error("mail paths: {0} would switch user but has no uid and gid")]
    NoIds(String),
    /// `forward_user true`, a client address to record, and no `drop_path` to record it in.
    #[error("forward_user: forward_user is true but drop_path is not set")]
    ForwardUserNoDropPath,
    /// The forward_user record could not be written.
    #[error("forward_user: cannot record {ip} under {drop_path}: {source}")]
    ForwardUser {
        /// `drop_path`.
        drop_path: Utf8PathBuf,
        /// The client address, canonical text.
        ip: String,
        /// The system's reason.
        source: io::Error,
    },
    /// The folder directory could not be made ready.
    #[error("folder directory {path}: {problem}")]
    FolderDir {
        /// The folder directory.
        path: Utf8PathBuf,
        /// What went wrong.
        problem: FolderDirProblem,
    },
    /// Switching user failed. The process may be half switched: close the connection.
    #[error("switch user: {0}")]
    SwitchUser(BecomeError),
    /// Delivering bulletins failed (nothing delivered is lost: the counters say what was).
    #[error("bulletins: {0}")]
    Bulletins(BulletinError),
}

impl LoginStepError {
    /// The step that failed.
    ///
    /// ```
    /// use imapd_bin::login::{LoginStepError, Step};
    /// assert_eq!(LoginStepError::ForwardUserNoDropPath.step(), Step::ForwardUser);
    /// ```
    pub fn step(&self) -> Step {
        match self {
            LoginStepError::MaildirUnavailable
            | LoginStepError::Paths(_)
            | LoginStepError::NoIds(_) => Step::Paths,
            LoginStepError::ForwardUserNoDropPath | LoginStepError::ForwardUser { .. } => {
                Step::ForwardUser
            }
            LoginStepError::FolderDir { .. } => Step::FolderDir,
            LoginStepError::SwitchUser(_) => Step::SwitchUser,
            LoginStepError::Bulletins(_) => Step::Bulletins,
        }
    }

    /// What the client is told: `NO [UNAVAILABLE]` for a `use_maildir` this build cannot
    /// serve (§5), `LOGIN failed` for everything else (the reason is only logged).
    ///
    /// ```
    /// use imapd_bin::login::{ClientAnswer, LoginStepError};
    /// assert_eq!(LoginStepError::MaildirUnavailable.answer(), ClientAnswer::Unavailable);
    /// assert_eq!(LoginStepError::ForwardUserNoDropPath.answer(), ClientAnswer::LoginFailed);
    /// ```
    pub fn answer(&self) -> ClientAnswer {
        match self {
            LoginStepError::MaildirUnavailable => ClientAnswer::Unavailable,
            _ => ClientAnswer::LoginFailed,
        }
    }

    /// \[decided\] Whether the connection must be closed after answering: a failed switch may
    /// leave the process with some of the user's ids (`dmail_auth::become_user`), so it must
    /// not serve anyone any more. After any other failure the client may try again.
    ///
    /// ```
    /// use imapd_bin::login::LoginStepError;
    /// assert!(!LoginStepError::MaildirUnavailable.closes_connection());
    /// ```
    pub fn closes_connection(&self) -> bool {
        matches!(self, LoginStepError::SwitchUser(_))
    }
}

/// A login that is ready to be served.
#[derive(Debug)]
pub struct SessionStart {
    /// Where the user's mail lives.
    pub paths: MailPaths,
    /// Whether the process now runs as the user.
    pub switched: bool,
    /// Whether a forward_user record was written.
    pub forward_recorded: bool,
    /// Whether the folder directory was created by this login.
    pub folder_dir_created: bool,
    /// What the bulletin run did (`None`: no `bulletin_path`), for the log.
    pub bulletins: Option<BulletinReport>,
}

/// Whether this login switches the process to the user (§11): `imapd_become_user` is true and
/// the identity comes from a passwd source (unix_user or a `vdomain_passwd` file) with a uid
/// that is not 0. External logins never switch (their UID is informational). \[decided\] A
/// passwd login without a uid counts as switching, so that it fails (fail closed) rather than
/// being served as root.
///
/// ```
/// use dmail_auth::{Authenticated, Source};
/// use dmail_conf::{Config, Platform};
/// let mut user = Authenticated { system_name: "bob".into(), source: Source::SystemPasswd,
///     uid: Some(1001), gid: Some(1001), home: None, drop_file: None, quota_kbytes: None };
/// let c = Config::defaults(Platform::Unix);
/// assert!(imapd_bin::login::will_switch(&c, &user));
/// user.source = Source::External;
/// assert!(!imapd_bin::login::will_switch(&c, &user));
/// ```
pub fn will_switch(config: &Config, user: &Authenticated) -> bool {
    config.imapd_become_user
        && matches!(user.source, Source::SystemPasswd | Source::VdomainPasswd)
        && user.uid != Some(0)
}

/// Step 0: the user's mail paths. The drop file is the external authenticator's absolute path
/// when it gave one, else the layout's (§3); the home for `imapd_mailbox_name` is
/// [`Authenticated::home`]. `use_maildir` fails as unavailable while this build has no maildir
/// engine.
///
/// ```
/// use dmail_auth::{Authenticated, LoggedIn, Source};
/// use dmail_conf::{parse_str, Program, Platform};
/// let c = parse_str("drop_path /var/spool/mail\n", "c".into(), Program::Imapd, Platform::Unix).config;
/// let resolved = c.resolve_login(b"bob", None).unwrap();
/// let user = Authenticated { system_name: "bob".into(), source: Source::External, uid: None,
///     gid: None, home: None, drop_file: Some("/data/bob".into()), quota_kbytes: None };
/// let p = imapd_bin::login::session_paths(&c, &LoggedIn { resolved, user }).unwrap();
/// assert_eq!(p.folder_dir, "/data/bob.mbx");
/// ```
pub fn session_paths(config: &Config, logged_in: &LoggedIn) -> Result<MailPaths, LoginStepError> {
    if config.use_maildir && !dmail_store::MAILDIR_AVAILABLE {
        return Err(LoginStepError::MaildirUnavailable);
    }
    let (resolved, user) = (&logged_in.resolved, &logged_in.user);
    let home = user.home.as_deref();
    let paths = match user.drop_file.as_ref().filter(|d| d.is_absolute()) {
        Some(drop) => {
            layout::mail_paths_with_drop(config, resolved, DropPath::new(drop.clone()), home)?
        }
        None => layout::mail_paths(config, resolved, home)?,
    };
    Ok(paths)
}

/// Where step 2 starts and what it walks: `trusted` is opened following symlinks (the
/// administrator's: the spool directory holding the drop file, or the user's home from the
/// password database); every name in `below` is opened without following one, and the last is
/// created if missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderDirPlan {
    /// The directory the walk starts from.
    pub trusted: Utf8PathBuf,
    /// The names below it, the folder directory last (never empty).
    pub below: Vec<String>,
}

/// The plan for a folder directory: below the home when `imapd_mailbox_name` put it there
/// (every component of the setting is walked, since the user owns their home: `Mail` in
/// `imapd_mailbox_name Mail/imap` could be the user's symlink to anywhere), else its parent
/// directory (the spool, or the directory of the external authenticator's drop file).
///
/// ```
/// use imapd_bin::login::folder_dir_plan;
/// let p = folder_dir_plan("/var/spool/mail/bob.mbx".into(), None).unwrap();
/// assert_eq!((p.trusted.as_str(), p.below), ("/var/spool/mail", vec!["bob.mbx".to_owned()]));
/// let p = folder_dir_plan("/home/bob/Mail/imap".into(), Some("/home/bob".into())).unwrap();
/// assert_eq!((p.trusted.as_str(), p.below), ("/home/bob", vec!["Mail".to_owned(), "imap".to_owned()]));
/// ```
pub fn folder_dir_plan(
    folder_dir: &Utf8Path,
    home: Option<&Utf8Path>,
) -> Result<FolderDirPlan, FolderDirProblem> {
    if let Some(rel) = home.and_then(|h| folder_dir.strip_prefix(h).ok().map(|r| (h, r))) {
        let (home, rel) = rel;
        let mut below = Vec::new();
        for c in rel.components() {
            match c {
                Utf8Component::Normal(name) => below.push(name.to_owned()),
                Utf8Component::CurDir => {}
                _ => return Err(FolderDirProblem::NoName),
            }
        }
        if !below.is_empty() {
            return Ok(FolderDirPlan {
                trusted: home.to_owned(),
                below,
            });
        }
    }
    let (Some(parent), Some(Utf8Component::Normal(name))) =
        (folder_dir.parent(), folder_dir.components().next_back())
    else {
        return Err(FolderDirProblem::NoName);
    };
    Ok(FolderDirPlan {
        trusted: parent.to_owned(),
        below: vec![name.to_owned()],
    })
}

/// Step 2 for real: opens `plan.trusted`, walks `plan.below` without following symlinks
/// (a missing intermediate directory is an error: spool and home directories are never made
/// here), creates the last one if missing with mode [`FOLDER_DIR_MODE`] (set exactly, whatever
/// the umask), and gives a directory it created to `owner` (uid, gid). An existing directory
/// is used as it is. Returns whether it created the directory; if giving it away fails, the
/// new directory is removed again so that a later login retries.
pub fn create_folder_dir(
    plan: &FolderDirPlan,
    owner: Option<(u32, u32)>,
) -> Result<bool, FolderDirProblem> {
    let io = |call: &'static str, name: &str| {
        let name = name.to_owned();
        move |e: Errno| FolderDirProblem::Io {
            call,
            name,
            source: e.into(),
        }
    };
    let (last, between) = plan.below.split_last().ok_or(FolderDirProblem::NoName)?;
    let mut dir = rustix::fs::open(
        plan.trusted.as_str(),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io("open", plan.trusted.as_str()))?;
    for name in between {
        dir = open_below(&dir, name)?;
    }
    let created =
        match rustix::fs::mkdirat(&dir, last.as_str(), Mode::from_raw_mode(FOLDER_DIR_MODE)) {
            Ok(()) => true,
            Err(Errno::EXIST) => false,
            Err(e) => return Err(io("mkdir", last)(e)),
        };
    let fd = open_below(&dir, last)?;
    if created {
        let set_up = rustix::fs::fchmod(&fd, Mode::from_raw_mode(FOLDER_DIR_MODE))
            .map_err(io("fchmod", last))
            .and_then(|()| match owner {
                Some((uid, gid)) => {
                    rustix::fs::fchown(&fd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
                        .map_err(io("fchown", last))
                }
                None => Ok(()),
            });
        if let Err(e) = set_up {
            // Best effort: a root-owned leftover would never be given to the user later.
            let _ = rustix::fs::unlinkat(&dir, last.as_str(), AtFlags::REMOVEDIR);
            return Err(e);
        }
    }
    Ok(created)
}

/// Opens directory `name` in `dir` without following a symlink, saying what is in the way when
/// it cannot.
fn open_below(dir: &OwnedFd, name: &str) -> Result<OwnedFd, FolderDirProblem> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => Ok(fd),
        Err(e) => Err(
            match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
                .map(|st| FileType::from_raw_mode(st.st_mode))
            {
                Ok(FileType::Symlink) => FolderDirProblem::Symlink(name.to_owned()),
                Ok(t) if t != FileType::Directory => {
                    FolderDirProblem::NotADirectory(name.to_owned())
                }
                _ => FolderDirProblem::Io {
                    call: "open",
                    name: name.to_owned(),
                    source: e.into(),
                },
            },
        ),
    }
}

/// The side effects of the steps, so that their order can be tested without root.
pub(crate) trait Actions {
    /// Step 1.
    fn record_forward(
        &mut self,
        drop_path: &Utf8Path,
        ip: IpAddr,
        now: SystemTime,
    ) -> io::Result<()>;
    /// Step 2; `owner` is set when the process will switch.
    fn make_folder_dir(
        &mut self,
        plan: &FolderDirPlan,
        owner: Option<(u32, u32)>,
    ) -> Result<bool, FolderDirProblem>;
    /// Step 3.
    fn end_authenticator(&mut self);
    /// Step 4.
    fn switch_user(&mut self, user: &Authenticated) -> Result<(), BecomeError>;
    /// Step 5.
    fn deliver_bulletins(
        &mut self,
        config: &Config,
        login: &ResolvedLogin,
        paths: &MailPaths,
        now: InternalDate,
        host: &str,
    ) -> Result<Option<BulletinReport>, BulletinError>;
}

/// The real side effects.
struct System<'a> {
    authenticator: &'a mut dyn Authenticator,
}

impl Actions for System<'_> {
    fn record_forward(
        &mut self,
        drop_path: &Utf8Path,
        ip: IpAddr,
        now: SystemTime,
    ) -> io::Result<()> {
        forward::record_login(drop_path, ip, now)
    }

    fn make_folder_dir(
        &mut self,
        plan: &FolderDirPlan,
        owner: Option<(u32, u32)>,
    ) -> Result<bool, FolderDirProblem> {
        create_folder_dir(plan, owner)
    }

    fn end_authenticator(&mut self) {
        self.authenticator.shutdown();
    }

    fn switch_user(&mut self, user: &Authenticated) -> Result<(), BecomeError> {
        become_user::become_authenticated(user)
    }

    fn deliver_bulletins(
        &mut self,
        config: &Config,
        login: &ResolvedLogin,
        paths: &MailPaths,
        now: InternalDate,
        host: &str,
    ) -> Result<Option<BulletinReport>, BulletinError> {
        // Sessions of ours may be rewriting INBOX: recover its journal before appending.
        let private_dir = Folders::from_paths(paths, config.platform).private_dir();
        let inbox = MboxPaths::new(paths.drop_file.as_path().to_owned(), private_dir, "INBOX");
        let options = DeliverOptions {
            journal: Some(inbox.journal()),
            ..DeliverOptions::from_config(config)
        };
        bulletin::deliver_to_inbox(config, login, paths, now, host, &options)
    }
}

/// Runs steps 1–5 of §11 (see the module docs) after a successful `dmail_auth::policy::login`,
/// with the authenticator that accepted it (its helper process, if any, is ended at step 3).
/// `host` is the machine's host name for bulletin headers, `now` the login time.
///
/// On `Ok` the caller answers the tagged OK and opens mailboxes with
/// [`SessionStart::paths`]. On `Err` it logs the error, answers as
/// [`LoginStepError::answer`] says, and closes the connection if
/// [`LoginStepError::closes_connection`].
pub fn start_session(
    config: &Config,
    logged_in: &LoggedIn,
    client_ip: Option<IpAddr>,
    authenticator: &mut dyn Authenticator,
    host: &str,
    now: SystemTime,
) -> Result<SessionStart, LoginStepError> {
    run_steps(
        &mut System { authenticator },
        config,
        logged_in,
        client_ip,
        host,
        now,
    )
}

/// The sequence, over any [`Actions`].
pub(crate) fn run_steps(
    actions: &mut impl Actions,
    config: &Config,
    logged_in: &LoggedIn,
    client_ip: Option<IpAddr>,
    host: &str,
    now: SystemTime,
) -> Result<SessionStart, LoginStepError> {
    let user = &logged_in.user;
    // 0: decide everything that can be decided without touching anything.
    let paths = session_paths(config, logged_in)?;
    let switch = will_switch(config, user);
    let owner = match (switch, user.uid, user.gid) {
        (false, _, _) => None,
        (true, Some(uid), Some(gid)) => Some((uid, gid)),
        (true, _, _) => return Err(LoginStepError::NoIds(user.system_name.clone())),
    };
    let folder_err = |problem| LoginStepError::FolderDir {
        path: paths.folder_dir.clone(),
        problem,
    };
    let home = layout::needs_home(config, &logged_in.resolved)
        .then_some(user.home.as_deref())
        .flatten();
    let plan = folder_dir_plan(&paths.folder_dir, home).map_err(folder_err)?;

    // 1.
    let mut forward_recorded = false;
    if let (true, Some(ip)) = (config.forward_user, client_ip) {
        let drop_path = config
            .drop_path
            .as_deref()
            .ok_or(LoginStepError::ForwardUserNoDropPath)?;
        actions
            .record_forward(drop_path, ip, now)
            .map_err(|source| LoginStepError::ForwardUser {
                drop_path: drop_path.to_owned(),
                ip: ip_text(ip),
                source,
            })?;
        forward_recorded = true;
    }

    // 2.
    let folder_dir_created = actions.make_folder_dir(&plan, owner).map_err(folder_err)?;

    // 3. [decided] Always, not only before a switch: a connection never logs in twice.
    actions.end_authenticator();

    // 4.
    if switch {
        actions
            .switch_user(user)
            .map_err(LoginStepError::SwitchUser)?;
    }

    // 5.
    let bulletins = actions
        .deliver_bulletins(
            config,
            &logged_in.resolved,
            &paths,
            internal_date(now),
            host,
        )
        .map_err(LoginStepError::Bulletins)?;

    Ok(SessionStart {
        paths,
        switched: switch,
        forward_recorded,
        folder_dir_created,
        bulletins,
    })
}

/// `now` as a delivery date in the system's zone (1970 for a clock before it).
fn internal_date(now: SystemTime) -> InternalDate {
    let unix = now
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .unwrap_or(0);
    InternalDate {
        unix,
        offset_minutes: dmail_store::civil::local_offset_minutes(unix),
    }
}

#[cfg(test)]
mod tests;
