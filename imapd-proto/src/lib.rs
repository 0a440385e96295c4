//! `imapd-proto` holds the IMAP protocol layer of dmail-imapd, free of I/O: no sockets, no
//! threads, no clocks. Drivers (`imapd-bin` on stdin/stdout, `imapdsvc-bin` on TCP/TLS, the
//! tests) push client bytes in and write what comes out.
//!
//! # Layout
//!
//! * [`framer`] (exists): splits client bytes into IMAP messages with per-state size limits
//!   and decodes them with imap-codec into commands, AUTHENTICATE data lines or IDLE's `DONE`,
//!   or into precise errors (`BAD`, refused literal, fatal).
//! * [`message`]: one stored message as FETCH sees it: MIME part tree, ENVELOPE,
//!   BODY/BODYSTRUCTURE, `BODY[section]` bytes.
//! * [`wire`]: the string forms (quoted, literal, `NIL`) for hand-written responses.
//!
//! # Not yet
//!
//! * The session: the state machine (not authenticated / authenticated / selected / logout)
//!   that answers commands, calls `dmail-auth` and `dmail-store`, writes responses with
//!   imap-codec's encoder and drives the framer's limits and modes. It does not exist yet.
#![deny(unsafe_code)]

pub mod framer;
pub mod message;
pub mod wire;
