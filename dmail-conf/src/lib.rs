//! `dmail-conf` reads NetWin DMail's `dmail.conf` — the file IMAPD shares with DPOP, DSMTP and
//! DList — into one typed [`Config`], and resolves logins to users and domains the way every
//! DMail program must agree on.
//!
//! It knows nothing of IMAP, mailboxes or passwords, and never writes files. A DPOP or DSMTP
//! implementation can depend on it alone: pass [`Program::Dpop`] or [`Program::Dsmtp`] to get
//! that program's include behaviour, and read settings IMAPD does not type through
//! [`Config::other_values`].
//!
//! ```
//! use dmail_conf::{parse_str, Program, Platform};
//! let text = "drop_path /var/spool/mail\nhash_spool 2\nhost_domain example.com\n";
//! let loaded = parse_str(text, "/etc/dmail.conf".into(), Program::Imapd, Platform::Unix);
//! assert!(loaded.diagnostics.is_empty());
//! let who = loaded.config.resolve_login(b"bob@example.com", None).unwrap();
//! assert_eq!(who.system_name, "bob");
//! ```
#![deny(unsafe_code)]

pub mod check;
pub mod config;
pub mod defaults;
mod diag;
mod ip;
pub mod lex;
mod load;
mod login;
mod platform;
pub mod values;
pub mod wildcard;

pub use config::{Config, OtherSetting, SETTINGS};
pub use diag::{Diagnostic, FILE_SETTING, Severity};
pub use ip::{canonical_ip, ip_file_name, ip_text};
pub use load::{Loaded, Location, ReadError, load, parse_bytes, parse_str, unreadable_diagnostic};
pub use login::{LoginDomain, LoginError, ResolvedLogin};
pub use platform::{Platform, Program};
pub use wildcard::WildcardList;
