//! Server mode (`imapd` without a subcommand): one IMAP session on standard input and output, as
//! inetd runs it.
//!
//! The server is not built yet, so it only says BYE. Under inetd stdout is the client's socket
//! and stderr may be too: this module must never write to stderr, and must never panic.

use std::io::Write;

/// What a client is told while the server is not built.
pub(crate) const NOT_BUILT: &[u8] = b"* BYE dmail-imapd: the IMAP server is not built yet\r\n";

/// Says BYE to the client. A failed write is ignored: the client has gone, and there is no one
/// else to tell.
pub(crate) fn serve() {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(NOT_BUILT).and_then(|()| out.flush());
}
