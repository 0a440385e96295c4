//! The mbox engine: UW c-client-compatible mbox drop files and folders (mailbox-formats.md).
//!
//! Each submodule owns one part of the format; none of them opens sockets or knows about IMAP.

pub mod from_line;
pub mod write;
