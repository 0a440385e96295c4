//! `dmail-store` knows where and how DMail users' mail is stored.
//!
//! Today it holds [`layout`]: from a resolved login to the user's drop file, folder directory,
//! subscription file and maildir, exactly as DMail's DSMTP and DPOP place them; and the folder
//! namespace: [`names`] (validated mailbox names, modified UTF-7), [`pattern`] (the LIST/LSUB
//! matcher), [`folders`] (name to path, LIST, CREATE, DELETE, RENAME) and [`subscriptions`];
//! and the per-user policies around the mailboxes: [`quota`] (limits and usage) and
//! [`bulletin`] (administrator messages delivered at login).
//! It knows nothing of sockets, so DPOP and DSMTP implementations can import it.
//!
//! ```
//! use dmail_conf::{parse_str, Program, Platform};
//! use dmail_store::layout::mail_paths;
//! let config = parse_str("drop_path /var/spool/mail\nhash_spool 1\n", "c".into(),
//!     Program::Imapd, Platform::Unix).config;
//! let login = config.resolve_login(b"bob", None).unwrap();
//! let paths = mail_paths(&config, &login, None).unwrap();
//! assert_eq!(paths.drop_file.as_path(), "/var/spool/mail/b/bob");
//! assert_eq!(paths.folder_dir, "/var/spool/mail/b/bob.mbx");
//! ```
#![deny(unsafe_code)]

pub mod bulletin;
pub mod civil;
pub mod deliver;
pub mod failpoint;
pub mod folders;
mod fsutil;
pub mod layout;
pub mod lock;
pub mod mbox;
pub mod mem;
pub mod names;
pub mod pattern;
pub mod quota;
pub mod store;
pub mod subscriptions;
mod types;

pub use types::{
    Flags, InternalDate, KeywordSet, KeywordTable, MAX_KEYWORDS, SystemFlags, Uid, UidValidity,
};

/// Whether this build has a maildir engine. Until it does, `use_maildir true` is a configuration
/// error and logins under it are refused.
pub const MAILDIR_AVAILABLE: bool = false;
