//! `BODY[section]` (RFC 3501 §6.4.5): finding the part a section names and cutting out its
//! bytes.
//!
//! Owns part-number resolution and header subsetting. Must never apply `<partial>` (the
//! caller does), never panic on any section, and never copy bytes except for
//! HEADER.FIELDS[.NOT], which has to assemble a new block.
//!
//! A `HEADER`, `HEADER.FIELDS[.NOT]` or `TEXT` on a part that is not message/rfc822 (say
//! `1.HEADER` where 1 is text/plain) names nothing: `None`, as c-client and Dovecot answer
//! with an empty string.
//!
//! `MIME` of a part that is a message's whole body (`1.MIME` of a single-part message, or
//! `2.1.MIME` when part 2 encapsulates a single-part message) is that message's header block,
//! the only header that part has.

use std::borrow::Cow;

use imap_codec::imap_types::fetch::{Part as PartPath, Section};

use super::header;
use super::mime::{Kind, Part};

/// Resolves `path` from the message root: at each step a multipart gives its n-th child, a
/// message/rfc822 gives the n-th part of the encapsulated message, and a message whose body is
/// not multipart has its body as part 1.
///
/// ```
/// use std::num::NonZeroU32;
/// use imap_codec::imap_types::fetch::Part;
/// let m = imapd_proto::message::Message::parse(b"Subject: x\r\n\r\nbody");
/// let one = Part(NonZeroU32::new(1).unwrap().into());
/// let p = imapd_proto::message::section::resolve(m.root(), &one).unwrap();
/// assert_eq!(p.body(m.bytes()), b"body");
/// ```
pub fn resolve<'p>(root: &'p Part, path: &PartPath) -> Option<&'p Part> {
    let numbers: &[std::num::NonZeroU32] = path.0.as_ref();
    let mut iter = numbers.iter();
    let first = iter.next()?;
    let mut cur = part_of_message(root, first.get())?;
    for n in iter {
        cur = match &cur.kind {
            Kind::Multipart(children) => usize::try_from(n.get() - 1)
                .ok()
                .and_then(|i| children.get(i))?,
            Kind::Message(nested) => part_of_message(nested, n.get())?,
            Kind::Leaf => return None,
        };
    }
    Some(cur)
}

/// Part `n` of the message whose root part is `root`.
fn part_of_message(root: &Part, n: u32) -> Option<&Part> {
    match &root.kind {
        Kind::Multipart(children) => usize::try_from(n.checked_sub(1)?)
            .ok()
            .and_then(|i| children.get(i)),
        _ if n == 1 => Some(root),
        _ => None,
    }
}

/// The encapsulated message's root for `path`, or the message itself for no path.
fn message_root<'p>(root: &'p Part, path: Option<&PartPath>) -> Option<&'p Part> {
    match path {
        None => Some(root),
        Some(path) => match &resolve(root, path)?.kind {
            Kind::Message(nested) => Some(nested),
            _ => None,
        },
    }
}

/// The bytes of `section` in `message` (whose tree is `root`), before any partial.
///
/// ```
/// use imap_codec::imap_types::fetch::Section;
/// let bytes = b"Subject: x\r\n\r\nbody";
/// let m = imapd_proto::message::Message::parse(bytes);
/// let text = imapd_proto::message::section::bytes(bytes, m.root(), &Section::Text(None));
/// assert_eq!(text.as_deref(), Some(&b"body"[..]));
/// ```
pub fn bytes<'a>(message: &'a [u8], root: &Part, section: &Section<'_>) -> Option<Cow<'a, [u8]>> {
    match section {
        Section::Part(path) => Some(Cow::Borrowed(resolve(root, path)?.body(message))),
        Section::Mime(path) => Some(Cow::Borrowed(resolve(root, path)?.header(message))),
        Section::Header(path) => Some(Cow::Borrowed(
            message_root(root, path.as_ref())?.header(message),
        )),
        Section::Text(path) => Some(Cow::Borrowed(
            message_root(root, path.as_ref())?.body(message),
        )),
        Section::HeaderFields(path, names) => {
            let hdr = message_root(root, path.as_ref())?.header(message);
            Some(Cow::Owned(subset(hdr, names.as_ref(), true)))
        }
        Section::HeaderFieldsNot(path, names) => {
            let hdr = message_root(root, path.as_ref())?.header(message);
            Some(Cow::Owned(subset(hdr, names.as_ref(), false)))
        }
    }
}

/// The fields of `hdr` whose name is (`keep`) or is not (`!keep`) in `names`, with their
/// original bytes and folding, in message order, then the blank line.
///
/// ```
/// use imapd_proto::message::section::subset;
/// let h = b"To: a\r\nSubject: s\r\n t\r\nto: b\r\n\r\n";
/// assert_eq!(subset(h, &[&b"TO"[..]], true), b"To: a\r\nto: b\r\n\r\n");
/// assert_eq!(subset(h, &[&b"to"[..]], false), b"Subject: s\r\n t\r\n\r\n");
/// ```
pub fn subset<N: AsRef<[u8]>>(hdr: &[u8], names: &[N], keep: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for f in header::fields(hdr) {
        let listed = names
            .iter()
            .any(|n| n.as_ref().eq_ignore_ascii_case(f.name));
        if listed == keep {
            out.extend_from_slice(f.raw);
            // The last field of a block without a final line end still gets one.
            if !f.raw.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}
