//! `imapd-proto` holds the IMAP protocol layer of dmail-imapd, free of I/O: no sockets, no
//! threads, no clocks. Drivers (`imapd-bin` on stdin/stdout, `imapdsvc-bin` on TCP/TLS, the
//! tests) push client bytes in and write what comes out.
//!
//! # Layout
//!
//! * [`session`]: the state machine of one connection (not authenticated, authenticated,
//!   selected, logout): every RFC 3501 command and the extensions advertised, untagged updates,
//!   timeouts. It asks the outside world through [`backend`].
//! * [`framer`]: splits client bytes into IMAP messages with per-state size limits and decodes
//!   them with imap-codec into commands, AUTHENTICATE data lines or IDLE's `DONE`, or into
//!   precise errors (`BAD`, refused literal, fatal).
//! * [`message`]: one stored message as FETCH sees it: MIME part tree, ENVELOPE,
//!   BODY/BODYSTRUCTURE, `BODY[section]` bytes.
//! * [`search`]: SEARCH criteria compiled into a query and matched against one message at a
//!   time (flags, dates, sequence sets, decoded headers and MIME text).
//! * [`response`] and [`wire`]: status lines and the string forms (quoted, literal, `NIL`) of
//!   hand-written responses.
#![deny(unsafe_code)]

pub mod backend;
pub mod framer;
pub mod message;
pub mod response;
pub mod search;
pub mod session;
pub mod wire;
