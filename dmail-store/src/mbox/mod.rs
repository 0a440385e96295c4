//! The mbox engine: UW c-client-compatible mbox drop files and folders (mailbox-formats.md).
//!
//! Each submodule owns one part of the format; none of them opens sockets or knows about IMAP.
//! The reader is [`scan`] (message boundaries, status headers, sizes, all as byte offsets),
//! [`status`] and [`pseudo`] (the metadata headers and the pseudo-message) and [`uids`] (which
//! UID each message gets); they work on bytes handed to them and never open files.

pub mod changelog;
pub mod engine;
pub mod from_line;
pub mod index;
pub mod journal;
pub mod pseudo;
pub mod scan;
pub mod status;
pub mod store;
pub mod uids;
pub mod write;

/// How a file's lines end. Unix files are LF-only; files written by c-client on NT use CRLF,
/// and a CRLF file keeps CRLF when we write to it (mailbox-formats.md §2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LineEnding {
    /// `\n`.
    #[default]
    Lf,
    /// `\r\n`.
    Crlf,
}

impl LineEnding {
    /// The bytes of a line end.
    ///
    /// ```
    /// use dmail_store::mbox::LineEnding;
    /// assert_eq!(LineEnding::Crlf.as_bytes(), b"\r\n");
    /// ```
    pub const fn as_bytes(self) -> &'static [u8] {
        match self {
            LineEnding::Lf => b"\n",
            LineEnding::Crlf => b"\r\n",
        }
    }

    /// The ending of a file judged by its first line: CRLF if the first LF follows a CR, LF if
    /// not, `None` when `start` (the file's first bytes) holds no LF.
    ///
    /// ```
    /// use dmail_store::mbox::LineEnding;
    /// assert_eq!(LineEnding::of_first_line(b"From a\r\nx\n"), Some(LineEnding::Crlf));
    /// assert_eq!(LineEnding::of_first_line(b"From a\nx\r\n"), Some(LineEnding::Lf));
    /// assert_eq!(LineEnding::of_first_line(b"From a"), None);
    /// ```
    pub fn of_first_line(start: &[u8]) -> Option<LineEnding> {
        let lf = memchr::memchr(b'\n', start)?;
        Some(if lf > 0 && start[lf - 1] == b'\r' {
            LineEnding::Crlf
        } else {
            LineEnding::Lf
        })
    }
}
