//! FETCH and UID FETCH (RFC 3501 §6.4.5, §7.4.2): which items, which bytes, and writing them.
//!
//! Whole messages (`BODY[]`, `RFC822`) stream from the mailbox into the output; other sections
//! come from one message read and parsed at a time ([`crate::message`]); header-only items read
//! only the start of the message when the header fits in it. Small whole messages are read a
//! batch at a time ([`Mailbox::read_batch`]: one lock for the batch, not one per message). A
//! FETCH never holds more than one message, or one batch of at most [`BUFFER_WHOLE_UP_TO`]
//! bytes, in memory.
//!
//! Must never: send a literal whose length differs from its bytes, set `\Seen` on a read-only
//! mailbox or for a `.PEEK`, or send EXPUNGE (the caller sends no updates after FETCH).

use std::io::{self, Write};

use dmail_store::civil::{Civil, MONTHS};
use dmail_store::store::{FlagOp, Mailbox, MessageMeta};
use dmail_store::{InternalDate, KeywordTable, SystemFlags, Uid};
use imap_codec::imap_types::fetch::{
    MacroOrMessageDataItemNames, MessageDataItemName, Part, Section,
};
use imap_codec::imap_types::sequence::SequenceSet;

use super::Outcome;
use super::mailboxes::store_error;
use super::selected::{Selected, done_unless_missing, write_flags};
use crate::message::Message;
use crate::wire;

/// Whole messages up to this size are read into memory before their literal is announced, so
/// a read error can still be answered cleanly; larger ones stream.
const BUFFER_WHOLE_UP_TO: u64 = 1 << 20;

/// At most this many messages are read in one batch.
const BATCH_MESSAGES: usize = 256;

/// What one FETCH needs of each message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Needs {
    /// The parsed message (or its header).
    parse: bool,
    /// Only the header is parsed.
    header_only: bool,
    /// Some item sets \Seen.
    sets_seen: bool,
    /// FLAGS was asked for.
    flags: bool,
}

fn needs_of(items: &[MessageDataItemName<'_>]) -> Needs {
    let mut n = Needs {
        header_only: true,
        ..Needs::default()
    };
    for item in items {
        match item {
            MessageDataItemName::Flags => n.flags = true,
            MessageDataItemName::Envelope | MessageDataItemName::Rfc822Header => n.parse = true,
            MessageDataItemName::Body | MessageDataItemName::BodyStructure => {
                n.parse = true;
                n.header_only = false;
            }
            MessageDataItemName::Rfc822 => n.sets_seen = true,
            MessageDataItemName::Rfc822Text => {
                n.sets_seen = true;
                n.parse = true;
                n.header_only = false;
            }
            MessageDataItemName::BodyExt { section, peek, .. } => {
                if !peek {
                    n.sets_seen = true;
                }
                match section {
                    None => {}
                    Some(Section::Header(None))
                    | Some(Section::HeaderFields(None, _))
                    | Some(Section::HeaderFieldsNot(None, _)) => n.parse = true,
                    Some(_) => {
                        n.parse = true;
                        n.header_only = false;
                    }
                }
            }
            _ => {}
        }
    }
    if !n.parse {
        n.header_only = false;
    }
    n
}

/// `INTERNALDATE` text: `"dd-Mon-yyyy hh:mm:ss +zzzz"` (RFC 3501 `date-time`).
pub(crate) fn internal_date_text(date: Option<InternalDate>) -> String {
    let date = date.unwrap_or_default();
    let local = date.unix + i64::from(date.offset_minutes) * 60;
    let c = Civil::from_unix(local);
    let month = MONTHS
        .get((c.month as usize).saturating_sub(1))
        .copied()
        .unwrap_or("Jan");
    let off = i32::from(date.offset_minutes);
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.abs();
    format!(
        "\"{:>2}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}\"",
        c.day,
        month,
        c.year,
        c.hour,
        c.minute,
        c.second,
        sign,
        off / 60,
        off % 60
    )
}

fn write_part(out: &mut Vec<u8>, part: &Part) {
    let mut first = true;
    for n in part.0.as_ref() {
        if !first {
            out.push(b'.');
        }
        first = false;
        out.extend_from_slice(n.to_string().as_bytes());
    }
}

/// The section text as the client wrote it, for the response's item name (Apple Mail matches
/// `HEADER.FIELDS` answers by the exact field list it sent).
fn write_section(out: &mut Vec<u8>, section: Option<&Section<'_>>) {
    out.push(b'[');
    let with_part = |out: &mut Vec<u8>, part: &Option<Part>, rest: &[u8]| {
        if let Some(p) = part {
            write_part(out, p);
            out.push(b'.');
        }
        out.extend_from_slice(rest);
    };
    match section {
        None => {}
        Some(Section::Part(p)) => write_part(out, p),
        Some(Section::Header(p)) => with_part(out, p, b"HEADER"),
        Some(Section::Text(p)) => with_part(out, p, b"TEXT"),
        Some(Section::Mime(p)) => {
            write_part(out, p);
            out.extend_from_slice(b".MIME");
        }
        Some(Section::HeaderFields(p, fields)) | Some(Section::HeaderFieldsNot(p, fields)) => {
            let word: &[u8] = if matches!(section, Some(Section::HeaderFields(..))) {
                b"HEADER.FIELDS ("
            } else {
                b"HEADER.FIELDS.NOT ("
            };
            with_part(out, p, word);
            let mut first = true;
            for f in fields.as_ref() {
                if !first {
                    out.push(b' ');
                }
                first = false;
                wire::astring(out, f.as_ref());
            }
            out.push(b')');
        }
    }
    out.push(b']');
}

/// Applies `<origin.length>` to `bytes` and writes `<origin>` (when partial) and the literal.
fn write_partial_literal(
    out: &mut Vec<u8>,
    bytes: &[u8],
    partial: Option<(u32, std::num::NonZeroU32)>,
) {
    match partial {
        None => {
            out.push(b' ');
            wire::literal_prefix(out, bytes.len() as u64);
            wire::literal_bytes(out, bytes);
        }
        Some((origin, len)) => {
            let start = (origin as usize).min(bytes.len());
            let end = start.saturating_add(len.get() as usize).min(bytes.len());
            out.extend_from_slice(format!("<{origin}> ").as_bytes());
            wire::literal_prefix(out, (end - start) as u64);
            wire::literal_bytes(out, &bytes[start..end]);
        }
    }
}

/// Runs FETCH or UID FETCH.
pub(crate) fn fetch<M: Mailbox>(
    sel: &mut Selected<M>,
    set: &SequenceSet,
    items: &MacroOrMessageDataItemNames<'_>,
    uid: bool,
    out: &mut dyn Write,
) -> io::Result<Outcome> {
    let what = if uid { "UID FETCH" } else { "FETCH" };
    let mut items: Vec<MessageDataItemName<'_>> = match items {
        MacroOrMessageDataItemNames::Macro(m) => m.expand(),
        MacroOrMessageDataItemNames::MessageDataItemNames(v) => v.clone(),
    };
    if items.iter().any(|i| {
        matches!(
            i,
            MessageDataItemName::Binary { .. } | MessageDataItemName::BinarySize { .. }
        )
    }) {
        return Ok(Outcome::bad("BINARY is not supported").no_expunges());
    }
    // RFC 3501 §6.4.8: UID FETCH answers always carry the UID.
    if uid && !items.iter().any(|i| matches!(i, MessageDataItemName::Uid)) {
        items.insert(0, MessageDataItemName::Uid);
    }
    let needs = needs_of(&items);
    let (positions, _) = match sel.uids(set, uid) {
        Ok(x) => x,
        Err(o) => return Ok(o.no_expunges()),
    };

    // \Seen first, so it is in the file before the answer (mailbox-formats §5).
    let mut seen_now: Vec<Uid> = Vec::new();
    if needs.sets_seen && !sel.read_only {
        seen_now = positions
            .iter()
            .filter_map(|&p| sel.meta(p))
            .filter(|m| !m.flags.system.contains(SystemFlags::SEEN))
            .map(|m| m.uid)
            .collect();
        if !seen_now.is_empty()
            && let Err(e) = sel
                .mailbox
                .store_flags(&seen_now, FlagOp::Add, SystemFlags::SEEN, &[])
        {
            return Ok(store_error(what, &e).no_expunges());
        }
    }

    let keywords = sel.mailbox.keywords().clone();
    let mut missing = false;
    let mut buf: Vec<u8> = Vec::new();
    let mut line: Vec<u8> = Vec::with_capacity(256);
    let batched = !needs.parse && items.iter().any(is_whole);
    // Prefetched messages for `positions[batch_from..]`.
    let mut batch: Vec<Option<Vec<u8>>> = Vec::new();
    let mut batch_from = 0;
    for (k, &pos) in positions.iter().enumerate() {
        if batched && k >= batch_from + batch.len() {
            batch_from = k;
            batch = sel.prefetch(
                positions[k..].iter().copied(),
                BUFFER_WHOLE_UP_TO,
                BUFFER_WHOLE_UP_TO,
                BATCH_MESSAGES,
            );
        }
        let mut prefetched = if batched {
            batch.get_mut(k - batch_from).and_then(Option::take)
        } else {
            None
        };
        let Some(meta) = sel.meta(pos).copied() else {
            missing = true;
            continue;
        };
        let add_flags = !needs.flags && seen_now.binary_search(&meta.uid).is_ok();
        match fetch_one(
            sel,
            pos,
            &meta,
            &items,
            needs,
            add_flags,
            &keywords,
            &mut buf,
            &mut line,
            &mut prefetched,
            out,
        ) {
            Ok(true) => {}
            Ok(false) => missing = true,
            Err(e) => return Err(e),
        }
    }
    Ok(done_unless_missing(what, missing))
}

/// Whether `item` is a whole message without a window (what [`prefetch`] reads).
fn is_whole(item: &MessageDataItemName<'_>) -> bool {
    matches!(
        item,
        MessageDataItemName::Rfc822
            | MessageDataItemName::BodyExt {
                section: None,
                partial: None,
                ..
            }
    )
}

/// Writes one message's FETCH response. `Ok(false)`: the message could not be read (nothing
/// was written).
#[allow(clippy::too_many_arguments)]
fn fetch_one<M: Mailbox>(
    sel: &mut Selected<M>,
    pos: u32,
    meta: &MessageMeta,
    items: &[MessageDataItemName<'_>],
    needs: Needs,
    add_flags: bool,
    keywords: &KeywordTable,
    buf: &mut Vec<u8>,
    line: &mut Vec<u8>,
    prefetched: &mut Option<Vec<u8>>,
    out: &mut dyn Write,
) -> io::Result<bool> {
    // Read what the parsed items need before anything is written.
    buf.clear();
    if needs.parse && !sel.read_for_parse(meta, needs.header_only, buf) {
        return Ok(false);
    }
    let parsed = if needs.parse {
        Some(Message::parse(buf))
    } else {
        None
    };
    line.clear();
    line.extend_from_slice(format!("* {} FETCH (", pos + 1).as_bytes());
    let mut first = true;
    for item in items {
        if !first {
            line.push(b' ');
        }
        first = false;
        match item {
            MessageDataItemName::Uid => {
                line.extend_from_slice(format!("UID {}", meta.uid).as_bytes());
            }
            MessageDataItemName::Flags => {
                line.extend_from_slice(b"FLAGS ");
                write_flags(line, meta.flags, meta.recent, keywords);
            }
            MessageDataItemName::InternalDate => {
                line.extend_from_slice(b"INTERNALDATE ");
                line.extend_from_slice(internal_date_text(meta.internal_date).as_bytes());
            }
            MessageDataItemName::Rfc822Size => {
                line.extend_from_slice(format!("RFC822.SIZE {}", meta.size).as_bytes());
            }
            MessageDataItemName::Envelope => {
                line.extend_from_slice(b"ENVELOPE ");
                if let Some(m) = &parsed {
                    m.write_envelope(line);
                }
            }
            MessageDataItemName::Body => {
                line.extend_from_slice(b"BODY ");
                if let Some(m) = &parsed {
                    m.write_body_structure(line, false);
                }
            }
            MessageDataItemName::BodyStructure => {
                line.extend_from_slice(b"BODYSTRUCTURE ");
                if let Some(m) = &parsed {
                    m.write_body_structure(line, true);
                }
            }
            MessageDataItemName::Rfc822Header => {
                line.extend_from_slice(b"RFC822.HEADER ");
                let h = parsed.as_ref().map_or(&[][..], |m| m.header());
                wire::literal_prefix(line, h.len() as u64);
                wire::literal_bytes(line, h);
            }
            MessageDataItemName::Rfc822Text => {
                line.extend_from_slice(b"RFC822.TEXT ");
                let t = parsed.as_ref().map_or(&[][..], |m| m.text());
                wire::literal_prefix(line, t.len() as u64);
                wire::literal_bytes(line, t);
            }
            MessageDataItemName::Rfc822 => {
                line.extend_from_slice(b"RFC822 ");
                if !whole(sel, meta, None, line, prefetched, out)? {
                    return Ok(false);
                }
            }
            MessageDataItemName::BodyExt {
                section: None,
                partial: None,
                peek: true,
            } if sel.rfc822_peek => {
                line.extend_from_slice(b"RFC822 ");
                if !whole(sel, meta, None, line, prefetched, out)? {
                    return Ok(false);
                }
            }
            MessageDataItemName::BodyExt {
                section, partial, ..
            } => {
                line.extend_from_slice(b"BODY");
                write_section(line, section.as_ref());
                match (section, &parsed) {
                    (None, _) => {
                        if let Some((origin, _)) = partial {
                            line.extend_from_slice(format!("<{origin}>").as_bytes());
                        }
                        line.push(b' ');
                        if !whole(sel, meta, *partial, line, prefetched, out)? {
                            return Ok(false);
                        }
                    }
                    (Some(section), Some(m)) => {
                        let bytes = m.section(section).unwrap_or_default();
                        write_partial_literal(line, &bytes, *partial);
                    }
                    (Some(_), None) => write_partial_literal(line, b"", *partial),
                }
            }
            _ => {}
        }
    }
    if add_flags {
        line.extend_from_slice(b" FLAGS ");
        write_flags(line, meta.flags, meta.recent, keywords);
    }
    line.extend_from_slice(b")\r\n");
    out.write_all(line)?;
    line.clear();
    Ok(true)
}

/// Writes a whole message (or a window of it) as a literal. Small messages are read first (or
/// come `prefetched`, whole); large ones stream after `line` (everything before the literal)
/// is flushed. `Ok(false)`: the message could not be read and nothing was written.
fn whole<M: Mailbox>(
    sel: &mut Selected<M>,
    meta: &MessageMeta,
    partial: Option<(u32, std::num::NonZeroU32)>,
    line: &mut Vec<u8>,
    prefetched: &mut Option<Vec<u8>>,
    out: &mut dyn Write,
) -> io::Result<bool> {
    let (start, len) = match partial {
        None => (0, meta.size),
        Some((origin, len)) => {
            let start = u64::from(origin).min(meta.size);
            (start, u64::from(len.get()).min(meta.size - start))
        }
    };
    let range = if partial.is_some() {
        Some(start..start + len)
    } else {
        None
    };
    if len <= BUFFER_WHOLE_UP_TO {
        let bytes = match prefetched.take().filter(|_| partial.is_none()) {
            Some(bytes) => bytes,
            None => {
                let mut bytes = Vec::with_capacity(len as usize);
                if len > 0 && sel.mailbox.read(meta.uid, range, &mut bytes).is_err() {
                    return Ok(false);
                }
                bytes
            }
        };
        if bytes.len() as u64 != len {
            return Ok(false);
        }
        wire::literal_prefix(line, len);
        wire::literal_bytes(line, &bytes);
        return Ok(true);
    }
    wire::literal_prefix(line, len);
    out.write_all(line)?;
    line.clear();
    let mut sink = wire::NulFree(&mut *out);
    match sel.mailbox.read(meta.uid, range, &mut sink) {
        Ok(n) if n == len => Ok(true),
        // The literal was announced: the connection cannot be kept in step.
        Ok(_) => Err(io::Error::other("message changed while it was being sent")),
        Err(e) => Err(io::Error::other(format!(
            "message read failed mid-literal: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    // RFC 3501 §9 date-time: day space-padded, numeric zone.
    #[test_case(0, 0, "\" 1-Jan-1970 00:00:00 +0000\"" ; "epoch")]
    #[test_case(966_392_475, 720, "\"16-Aug-2000 14:21:15 +1200\"" ; "new zealand")]
    #[test_case(966_392_475, -150, "\"15-Aug-2000 23:51:15 -0230\"" ; "negative half hour")]
    fn internal_dates(unix: i64, offset_minutes: i16, expected: &str) {
        let d = InternalDate {
            unix,
            offset_minutes,
        };
        assert_eq!(internal_date_text(Some(d)), expected);
    }
}
