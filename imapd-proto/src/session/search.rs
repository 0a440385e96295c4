//! SEARCH and UID SEARCH (RFC 3501 §6.4.4): runs a [`crate::search::Query`] over the client's
//! view, reading each message only as far as the query needs, small ones in batches.
//!
//! Must never: send EXPUNGE (the caller sends no updates after SEARCH) or hold more than one
//! batch of small messages (or one large message) in memory.

use std::io::{self, Write};

use dmail_store::store::Mailbox;
use imap_codec::imap_types::core::Charset;
use imap_codec::imap_types::search::SearchKey;

use super::Outcome;
use super::selected::{HEADER_PROBE, Selected};
use crate::search::{Candidate, Needs, Query, SearchError};

/// The most bytes of whole messages one batch holds.
const BATCH_BYTES: u64 = 4 << 20;

/// The most messages in one batch.
const BATCH_MESSAGES: usize = 256;

/// Runs SEARCH or UID SEARCH.
pub(crate) fn search<M: Mailbox>(
    sel: &mut Selected<M>,
    charset: Option<&Charset<'_>>,
    criteria: &[SearchKey<'_>],
    uid: bool,
    out: &mut dyn Write,
) -> io::Result<Outcome> {
    let what = if uid { "UID SEARCH" } else { "SEARCH" };
    let query = match Query::new(
        criteria,
        charset,
        sel.mailbox.keywords(),
        sel.view.len() as u32,
        sel.view.last().copied(),
    ) {
        Ok(q) => q,
        Err(SearchError::BadCharset) => {
            return Ok(Outcome::no("Unsupported charset")
                .code("BADCHARSET (UTF-8 US-ASCII)")
                .no_expunges());
        }
        Err(SearchError::Bad(why)) => return Ok(Outcome::bad(why).no_expunges()),
    };
    let needs = query.needs();
    let mut found = Vec::new();
    let mut buf = Vec::new();
    let count = sel.view.len() as u32;
    let mut pos = 0u32;
    while pos < count {
        // Messages read whole go in batches under one lock (a lock per message costs more than
        // reading a small one); each batch is held in memory, so it is kept small.
        let batch = if needs == Needs::Metadata {
            Vec::new()
        } else {
            // For a header-only query, only messages no larger than the header probe are read
            // whole; the rest get the probe of their own.
            let per_message = if needs == Needs::Header {
                HEADER_PROBE
            } else {
                BATCH_BYTES
            };
            sel.prefetch(pos..count, per_message, BATCH_BYTES, BATCH_MESSAGES)
        };
        let end = pos + (batch.len() as u32).max(1);
        for (i, p) in (pos..end).enumerate() {
            let Some(meta) = sel.meta(p).copied() else {
                continue;
            };
            let prefetched = batch.get(i).and_then(Option::as_deref);
            let bytes = match (needs, prefetched) {
                (Needs::Metadata, _) => None,
                (_, Some(bytes)) => Some(bytes),
                (Needs::Header | Needs::Whole, None) => {
                    if !sel.read_for_parse(&meta, needs == Needs::Header, &mut buf) {
                        continue;
                    }
                    Some(&buf[..])
                }
            };
            let candidate = Candidate {
                seq: p + 1,
                meta: &meta,
                bytes,
            };
            if query.matches(&candidate) {
                found.push(if uid { meta.uid.get() } else { p + 1 });
            }
        }
        pos = end;
    }
    let mut line = Vec::with_capacity(10 + found.len() * 6);
    line.extend_from_slice(b"* SEARCH");
    for n in found {
        line.push(b' ');
        line.extend_from_slice(n.to_string().as_bytes());
    }
    line.extend_from_slice(b"\r\n");
    out.write_all(&line)?;
    Ok(Outcome::ok(format!("{what} completed")).no_expunges())
}
