//! `imapd-proto` will hold the IMAP session of dmail-imapd: a sans-I/O state machine that turns
//! client bytes into responses and store calls.
//!
//! It holds no code yet.
#![deny(unsafe_code)]
