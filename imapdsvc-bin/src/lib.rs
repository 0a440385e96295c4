//! The parts of `imapdsvc` another target must reach: its command line ([`cli`]), which xtask
//! renders as the manual page. Everything else stays in the binary.
#![deny(unsafe_code)]

pub mod cli;
