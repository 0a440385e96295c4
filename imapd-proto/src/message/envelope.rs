//! The ENVELOPE value of RFC 3501 §7.4.2, from one header block.
//!
//! Owns choosing the fields and writing them. Must never decode RFC 2047 words or 8-bit text
//! (clients get the raw bytes; 8-bit goes out as a literal), and must never write anything
//! but a well-formed `envelope` whatever the header holds.

use super::address::{Address, parse_address_list};
use super::header;
use crate::wire;

/// Writes the ENVELOPE of the message whose header block is `header`.
///
/// Date, subject, in-reply-to and message-id are the first such field, unfolded and trimmed
/// (a present but empty field is `""`); sender and reply-to fall back to from when absent or
/// empty (RFC 3501 §7.4.2).
///
/// ```
/// let mut out = Vec::new();
/// imapd_proto::message::envelope::write(&mut out, b"From: a@b\r\nSubject: hi\r\n\r\n");
/// assert_eq!(
///     out,
///     b"(NIL \"hi\" ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) \
///       ((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)"
/// );
/// ```
pub fn write(out: &mut Vec<u8>, header: &[u8]) {
    let text = |name: &[u8]| header::first_value(header, name);
    let addrs = |name: &[u8]| {
        text(name)
            .map(|v| parse_address_list(&v))
            .unwrap_or_default()
    };
    let from = addrs(b"from");
    let mut sender = addrs(b"sender");
    if sender.is_empty() {
        sender.clone_from(&from);
    }
    let mut reply_to = addrs(b"reply-to");
    if reply_to.is_empty() {
        reply_to.clone_from(&from);
    }
    out.push(b'(');
    wire::nstring(out, text(b"date").as_deref());
    out.push(b' ');
    wire::nstring(out, text(b"subject").as_deref());
    for list in [
        &from,
        &sender,
        &reply_to,
        &addrs(b"to"),
        &addrs(b"cc"),
        &addrs(b"bcc"),
    ] {
        out.push(b' ');
        write_addresses(out, list);
    }
    out.push(b' ');
    wire::nstring(out, text(b"in-reply-to").as_deref());
    out.push(b' ');
    wire::nstring(out, text(b"message-id").as_deref());
    out.push(b')');
}

fn write_addresses(out: &mut Vec<u8>, list: &[Address]) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in list {
        out.push(b'(');
        wire::nstring(out, a.name.as_deref());
        out.push(b' ');
        wire::nstring(out, a.adl.as_deref());
        out.push(b' ');
        wire::nstring(out, a.mailbox.as_deref());
        out.push(b' ');
        wire::nstring(out, a.host.as_deref());
        out.push(b')');
    }
    out.push(b')');
}
