//! The parts of `imapd` that other targets of this package call: the post-login sequence
//! ([`login`]), which the `login_probe` example runs in a child process to test user
//! switching (irreversible, so never inside a test process), and the DMail log writer
//! ([`log`], dmail-conventions §9), shared with imapdsvc and run by the `log_probe` example;
//! TLS ([`tls`]: the configuration from `imapd_tls_cert`/`imapd_tls_key` and a blocking
//! transport), which check-config, the inetd server and imapdsvc all use; and the command line
//! ([`cli`]), which xtask renders as the manual page.
//!
//! The session's backend ([`backend`]) and the reading of dmail.conf into session options
//! ([`setup`]) are shared by `imapd` and imapdsvc's in-process sessions.
//!
//! The binary (`main.rs`) keeps its own modules; only code that a test-only example or another
//! target must reach lives here.
#![deny(unsafe_code)]

pub mod backend;
pub mod cli;
pub mod log;
pub mod login;
pub mod setup;
pub mod tls;
