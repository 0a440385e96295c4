//! The selected state: the open mailbox, the client's numbering of its messages, and the
//! commands that work on messages (RFC 3501 §6.4, UIDPLUS, MOVE): CHECK, EXPUNGE, UID EXPUNGE,
//! STORE, COPY, MOVE; FETCH and SEARCH live in their own modules.
//!
//! The client's view (`view`: sequence number − 1 → UID) changes only when the session tells
//! the client (EXISTS, EXPUNGE), so numbers stay consistent while the store's snapshot moves.
//!
//! Must never: send EXPUNGE while FETCH, STORE or SEARCH run (RFC 3501 §7.4.1), show a message
//! before its EXISTS, or answer a STORE before the flags are in the mailbox file.

use std::io::{self, Write};

use dmail_store::names::MailboxName;
use dmail_store::store::{FlagOp, Mailbox, MailboxList, MailboxStatus, MessageMeta, NewMessage};
use dmail_store::{Flags, KeywordTable, MAX_KEYWORDS, SystemFlags, Uid, UidValidity};
use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::flag::{StoreResponse, StoreType};

use super::Outcome;
use super::mailboxes::{name_of, over_quota, parse_flags, store_error};
use super::seqset::{self, SetError};
use crate::backend::{Account, LogLevel};
use crate::response;

/// How much of a message is read first when only its header is needed (ENVELOPE,
/// `BODY[HEADER.FIELDS ...]`, SEARCH FROM): most headers end well within it.
pub(crate) const HEADER_PROBE: u64 = 16 * 1024;

/// The answer of a command that ran on some messages and found others gone (RFC 2180 §4.1.2,
/// §4.2.1: they were expunged by another session and this one has not reported it yet).
pub(crate) fn done_unless_missing(what: &str, missing: bool) -> Outcome {
    if missing {
        Outcome::no("Some of the messages no longer exist").code("EXPUNGEISSUED")
    } else {
        Outcome::ok(format!("{what} completed"))
    }
    .no_expunges()
}

/// An open mailbox and what the client knows of it.
pub(crate) struct Selected<M: Mailbox> {
    pub(crate) name: MailboxName,
    pub(crate) mailbox: M,
    pub(crate) read_only: bool,
    /// UIDs in the client's numbering.
    pub(crate) view: Vec<Uid>,
    /// How many keyword names the client was last told of in FLAGS.
    keywords_told: usize,
    /// The RECENT count last told.
    recent_told: usize,
    /// The current command is a FETCH that asked for Outlook's `RFC822.PEEK`.
    pub(crate) rfc822_peek: bool,
}

/// The flags of a message as `(\Seen kw ...)`.
pub(crate) fn write_flags(out: &mut Vec<u8>, flags: Flags, recent: bool, keywords: &KeywordTable) {
    out.push(b'(');
    let mut first = true;
    let mut word = |out: &mut Vec<u8>, w: &[u8]| {
        if !first {
            out.push(b' ');
        }
        first = false;
        out.extend_from_slice(w);
    };
    for (bit, name) in [
        (SystemFlags::SEEN, &b"\\Seen"[..]),
        (SystemFlags::ANSWERED, b"\\Answered"),
        (SystemFlags::FLAGGED, b"\\Flagged"),
        (SystemFlags::DELETED, b"\\Deleted"),
        (SystemFlags::DRAFT, b"\\Draft"),
    ] {
        if flags.system.contains(bit) {
            word(out, name);
        }
    }
    if recent {
        word(out, b"\\Recent");
    }
    for slot in flags.keywords.slots() {
        if let Some(name) = keywords.name(slot) {
            word(out, name.as_bytes());
        }
    }
    out.push(b')');
}

impl<M: Mailbox> Selected<M> {
    pub(crate) fn new(name: MailboxName, mailbox: M, examine: bool) -> Selected<M> {
        let read_only = examine || mailbox.is_read_only();
        // One pass over the snapshot: on a large mailbox SELECT is mostly passes like this.
        let messages = mailbox.messages();
        let mut view: Vec<Uid> = Vec::with_capacity(messages.len());
        let mut recent_told = 0;
        for m in messages {
            view.push(m.uid);
            recent_told += usize::from(m.recent);
        }
        let keywords_told = mailbox.keywords().names().len();
        Selected {
            name,
            mailbox,
            read_only,
            view,
            keywords_told,
            recent_told,
            rfc822_peek: false,
        }
    }

    /// The metadata of the message at client position `pos`, if the store still has it.
    pub(crate) fn meta(&self, pos: u32) -> Option<&MessageMeta> {
        let uid = *self.view.get(pos as usize)?;
        let snap = self.mailbox.messages();
        match snap.get(pos as usize) {
            Some(m) if m.uid == uid => Some(m),
            _ => snap
                .binary_search_by_key(&uid, |m| m.uid)
                .ok()
                .map(|i| &snap[i]),
        }
    }

    fn write_flags_lines(&self, out: &mut dyn Write) -> io::Result<()> {
        let names = self.mailbox.keywords().names();
        let mut line = b"* FLAGS (".to_vec();
        for n in names {
            line.extend_from_slice(n.as_bytes());
            line.push(b' ');
        }
        line.extend_from_slice(b"\\Answered \\Flagged \\Deleted \\Draft \\Seen)\r\n");
        line.extend_from_slice(b"* OK [PERMANENTFLAGS (");
        if !self.read_only {
            for n in names {
                line.extend_from_slice(n.as_bytes());
                line.push(b' ');
            }
            if names.len() < MAX_KEYWORDS {
                line.extend_from_slice(b"\\* ");
            }
            line.extend_from_slice(b"\\Answered \\Flagged \\Deleted \\Draft \\Seen");
        }
        line.extend_from_slice(b")] Permanent flags\r\n");
        out.write_all(&line)
    }

    /// The untagged responses of SELECT and EXAMINE, in mailbox-formats §5's order.
    pub(crate) fn write_select_responses(&self, out: &mut dyn Write) -> io::Result<()> {
        let snap = self.mailbox.messages();
        let head = format!(
            "* {} EXISTS\r\n* {} RECENT\r\n",
            self.view.len(),
            self.recent_told
        );
        out.write_all(head.as_bytes())?;
        self.write_flags_lines(out)?;
        if let Some(first) = snap
            .iter()
            .position(|m| !m.flags.system.contains(SystemFlags::SEEN))
        {
            let n = first + 1;
            out.write_all(format!("* OK [UNSEEN {n}] Message {n} is first unseen\r\n").as_bytes())?;
        }
        let tail = format!(
            "* OK [UIDVALIDITY {}] UID validity status\r\n* OK [UIDNEXT {}] Predicted next UID\r\n",
            self.mailbox.uid_validity(),
            self.mailbox.uid_next()
        );
        out.write_all(tail.as_bytes())
    }

    /// STATUS of the selected mailbox, from the client's view.
    pub(crate) fn status(&mut self) -> MailboxStatus {
        MailboxStatus::of(&self.mailbox)
    }

    /// APPEND into this (read-write) mailbox through its own handle.
    pub(crate) fn append(
        &mut self,
        messages: &[NewMessage<'_>],
    ) -> Result<(UidValidity, Vec<Uid>), dmail_store::store::StoreError> {
        let uids = self.mailbox.append(messages)?;
        Ok((self.mailbox.uid_validity(), uids))
    }

    /// Learns what changed and tells the client: EXPUNGE (only when `expunges_allowed`; while
    /// they are not, nothing is synchronised so numbers cannot move), EXISTS, RECENT, FLAGS,
    /// FETCH FLAGS. Returns true when the mailbox can no longer be used (its UIDVALIDITY
    /// changed) and the connection must close after a BYE.
    pub(crate) fn report_changes(
        &mut self,
        out: &mut dyn Write,
        expunges_allowed: bool,
    ) -> io::Result<bool> {
        if !expunges_allowed {
            return Ok(false);
        }
        let changes = match self.mailbox.sync() {
            Ok(c) => c,
            // A busy or unreadable mailbox is looked at again after the next command.
            Err(_) => return Ok(false),
        };
        if changes.uid_validity_changed {
            response::bye(out, "Mailbox UIDVALIDITY changed; reconnect")?;
            return Ok(true);
        }
        if self.mailbox.keywords().names().len() != self.keywords_told {
            self.keywords_told = self.mailbox.keywords().names().len();
            self.write_flags_lines(out)?;
        }
        self.tell_expunges_and_arrivals(out)?;
        let mut line = Vec::new();
        for uid in &changes.flags_changed {
            let Ok(pos) = self.view.binary_search(uid) else {
                continue;
            };
            let Some(meta) = self.meta(pos as u32) else {
                continue;
            };
            line.clear();
            line.extend_from_slice(format!("* {} FETCH (FLAGS ", pos + 1).as_bytes());
            write_flags(&mut line, meta.flags, meta.recent, self.mailbox.keywords());
            line.extend_from_slice(format!(" UID {uid})\r\n").as_bytes());
            out.write_all(&line)?;
        }
        Ok(false)
    }

    /// Compares the view with the store's snapshot: EXPUNGE for what left, EXISTS and RECENT
    /// for what arrived.
    fn tell_expunges_and_arrivals(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let snap = self.mailbox.messages();
        let last_known = self.view.last().copied();
        let known_still = match last_known {
            None => 0,
            Some(last) => snap.partition_point(|m| m.uid <= last),
        };
        if known_still != self.view.len() {
            // Some known messages are gone: walk both (ascending) lists.
            let mut gone = Vec::new();
            let mut j = 0;
            for (i, uid) in self.view.iter().enumerate() {
                while j < known_still && snap[j].uid < *uid {
                    j += 1;
                }
                if j < known_still && snap[j].uid == *uid {
                    j += 1;
                } else {
                    gone.push(i);
                }
            }
            // Highest first, so each number is still right when the client reads it.
            let mut text = Vec::with_capacity(gone.len() * 16);
            for &i in gone.iter().rev() {
                text.extend_from_slice(format!("* {} EXPUNGE\r\n", i + 1).as_bytes());
                self.view.remove(i);
            }
            out.write_all(&text)?;
        }
        let arrived = &snap[known_still..];
        let recent = snap.iter().filter(|m| m.recent).count();
        if !arrived.is_empty() {
            self.view.extend(arrived.iter().map(|m| m.uid));
            out.write_all(format!("* {} EXISTS\r\n", self.view.len()).as_bytes())?;
        }
        if !arrived.is_empty() || recent != self.recent_told {
            self.recent_told = recent;
            out.write_all(format!("* {recent} RECENT\r\n").as_bytes())?;
        }
        Ok(())
    }

    /// The UIDs named by a set, or the BAD answer.
    pub(crate) fn uids(
        &self,
        set: &imap_codec::imap_types::sequence::SequenceSet,
        uid: bool,
    ) -> Result<(Vec<u32>, Vec<Uid>), Outcome> {
        match seqset::resolve(set, uid, &self.view) {
            Ok(pos) => {
                let uids = pos.iter().map(|&p| self.view[p as usize]).collect();
                Ok((pos, uids))
            }
            Err(SetError::OutOfRange) => Err(Outcome::bad("Invalid message sequence number")),
        }
    }

    /// Reads a message into `buf` (cleared first) as far as a parse needs it: with
    /// `header_only`, the first [`HEADER_PROBE`] bytes when its header ends within them,
    /// otherwise the whole message. False when it cannot be read (another program expunged it).
    pub(crate) fn read_for_parse(
        &mut self,
        meta: &MessageMeta,
        header_only: bool,
        buf: &mut Vec<u8>,
    ) -> bool {
        buf.clear();
        if header_only && meta.size > HEADER_PROBE {
            let probed = self
                .mailbox
                .read(meta.uid, Some(0..HEADER_PROBE), &mut *buf)
                .is_ok();
            if probed && crate::message::header_len(buf).is_some() {
                return true;
            }
            buf.clear();
        }
        self.mailbox.read(meta.uid, None, &mut *buf).is_ok()
    }

    /// Reads the whole messages at `positions` (in order) that are at most `per_message`
    /// bytes, in one batch ([`Mailbox::read_batch`]: one lock, not one per message), up to
    /// `max` messages and `total` bytes together. The result is aligned with the positions
    /// taken (never empty when `positions` is not); `None` where a message is left for a read
    /// of its own: too large, gone, or the batch failed (the single read reports the error).
    pub(crate) fn prefetch(
        &mut self,
        positions: impl Iterator<Item = u32>,
        per_message: u64,
        total: u64,
        max: usize,
    ) -> Vec<Option<Vec<u8>>> {
        let mut uids = Vec::new();
        let mut slots = Vec::new();
        let mut sum = 0u64;
        for pos in positions.take(max) {
            match self.meta(pos).map(|m| (m.uid, m.size)) {
                Some((uid, size)) if size <= per_message => {
                    if sum + size > total && !uids.is_empty() {
                        break;
                    }
                    sum += size;
                    slots.push(Some(uids.len()));
                    uids.push(uid);
                }
                _ => slots.push(None),
            }
        }
        let mut read = if uids.is_empty() {
            Vec::new()
        } else {
            self.mailbox.read_batch(&uids).unwrap_or_default()
        };
        slots
            .into_iter()
            .map(|slot| slot.and_then(|i| read.get_mut(i).and_then(Option::take)))
            .collect()
    }

    /// The UIDs of `uids` the store still has (others were expunged elsewhere).
    fn existing(&self, uids: &[Uid]) -> Vec<Uid> {
        let snap = self.mailbox.messages();
        uids.iter()
            .copied()
            .filter(|u| snap.binary_search_by_key(u, |m| m.uid).is_ok())
            .collect()
    }
}

/// Runs one selected-state command (CLOSE and UNSELECT are the caller's: they end the state).
pub(crate) fn dispatch<S: MailboxList>(
    sel: &mut Selected<S::Mailbox>,
    account: &Account<S>,
    name: &str,
    body: CommandBody<'static>,
    out: &mut dyn Write,
) -> io::Result<Outcome> {
    Ok(match body {
        CommandBody::Check => Outcome::ok("CHECK completed"),
        CommandBody::Expunge => expunge(sel, None),
        CommandBody::ExpungeUid { sequence_set } => match sel.uids(&sequence_set, true) {
            Err(o) => o,
            Ok((_, uids)) => expunge(sel, Some(&uids)),
        },
        CommandBody::Store {
            sequence_set,
            kind,
            response,
            flags,
            uid,
            ..
        } => store(sel, &sequence_set, kind, response, &flags, uid, out)?,
        CommandBody::Copy {
            sequence_set,
            mailbox,
            uid,
        } => copy(sel, account, &sequence_set, &mailbox, uid, false, out)?,
        CommandBody::Move {
            sequence_set,
            mailbox,
            uid,
        } => copy(sel, account, &sequence_set, &mailbox, uid, true, out)?,
        CommandBody::Fetch {
            sequence_set,
            macro_or_item_names,
            uid,
            ..
        } => super::fetch::fetch(sel, &sequence_set, &macro_or_item_names, uid, out)?,
        CommandBody::Search {
            charset,
            criteria,
            uid,
        } => super::search::search(sel, charset.as_ref(), criteria.as_ref(), uid, out)?,
        _ => Outcome::bad(format!("{name} is not supported")),
    })
}

fn expunge<M: Mailbox>(sel: &mut Selected<M>, only: Option<&[Uid]>) -> Outcome {
    if sel.read_only {
        return Outcome::no("Mailbox is read-only").code("READ-ONLY");
    }
    match sel.mailbox.expunge(only) {
        // The EXPUNGE responses come from the update report that follows.
        Ok(_) => Outcome::ok("EXPUNGE completed"),
        Err(e) => store_error("EXPUNGE", &e),
    }
}

fn store<M: Mailbox>(
    sel: &mut Selected<M>,
    set: &imap_codec::imap_types::sequence::SequenceSet,
    kind: StoreType,
    answer: StoreResponse,
    flags: &[imap_codec::imap_types::flag::Flag<'_>],
    uid: bool,
    out: &mut dyn Write,
) -> io::Result<Outcome> {
    let what = if uid { "UID STORE" } else { "STORE" };
    let (positions, uids) = match sel.uids(set, uid) {
        Ok(x) => x,
        Err(o) => return Ok(o.no_expunges()),
    };
    if sel.read_only {
        return Ok(Outcome::no("Mailbox is read-only")
            .code("READ-ONLY")
            .no_expunges());
    }
    let (system, keywords) = match parse_flags(flags) {
        Ok(f) => f,
        Err(o) => return Ok(o.no_expunges()),
    };
    let op = match kind {
        StoreType::Replace => FlagOp::Set,
        StoreType::Add => FlagOp::Add,
        StoreType::Remove => FlagOp::Remove,
    };
    let present = sel.existing(&uids);
    let missing = present.len() != uids.len();
    if !present.is_empty()
        && let Err(e) = sel.mailbox.store_flags(&present, op, system, &keywords)
    {
        return Ok(store_error(what, &e).no_expunges());
    }
    if sel.mailbox.keywords().names().len() != sel.keywords_told {
        sel.keywords_told = sel.mailbox.keywords().names().len();
        sel.write_flags_lines(out)?;
    }
    if answer == StoreResponse::Answer {
        let mut line = Vec::with_capacity(64);
        for &pos in &positions {
            let Some(meta) = sel.meta(pos) else {
                continue;
            };
            line.clear();
            line.extend_from_slice(format!("* {} FETCH (FLAGS ", pos + 1).as_bytes());
            write_flags(&mut line, meta.flags, meta.recent, sel.mailbox.keywords());
            if uid {
                line.extend_from_slice(format!(" UID {}", meta.uid).as_bytes());
            }
            line.extend_from_slice(b")\r\n");
            out.write_all(&line)?;
        }
    }
    Ok(done_unless_missing(what, missing))
}

#[allow(clippy::too_many_arguments)]
fn copy<S: MailboxList>(
    sel: &mut Selected<S::Mailbox>,
    account: &Account<S>,
    set: &imap_codec::imap_types::sequence::SequenceSet,
    mailbox: &imap_codec::imap_types::mailbox::Mailbox<'_>,
    uid: bool,
    moving: bool,
    out: &mut dyn Write,
) -> io::Result<Outcome> {
    let what = match (uid, moving) {
        (false, false) => "COPY",
        (true, false) => "UID COPY",
        (false, true) => "MOVE",
        (true, true) => "UID MOVE",
    };
    let dest = match name_of(mailbox) {
        Ok(n) => n,
        Err(o) => return Ok(o),
    };
    let (_, uids) = match sel.uids(set, uid) {
        Ok(x) => x,
        Err(o) => return Ok(o),
    };
    if moving && sel.read_only {
        return Ok(Outcome::no("Mailbox is read-only").code("READ-ONLY"));
    }
    let uids = sel.existing(&uids);
    if uids.is_empty() {
        return Ok(Outcome::ok(format!("{what} completed")));
    }
    let (over, quota_log) = over_quota(account);
    if over {
        return Ok(
            Outcome::no("You are over your mail quota; delete some mail first").code("OVERQUOTA"),
        );
    }
    let (validity, new) = match account.store.copy_into(&mut sel.mailbox, &uids, &dest) {
        Ok(x) => x,
        Err(dmail_store::store::StoreError::NonExistent) => {
            return Ok(Outcome::no("No such mailbox; create it first").code("TRYCREATE"));
        }
        Err(e) => return Ok(store_error(what, &e)),
    };
    let mut code = format!("COPYUID {validity} ");
    let mut set_text = Vec::new();
    response::uid_set(
        &mut set_text,
        &uids.iter().map(|u| u.get()).collect::<Vec<_>>(),
    );
    set_text.push(b' ');
    response::uid_set(
        &mut set_text,
        &new.iter().map(|u| u.get()).collect::<Vec<_>>(),
    );
    code.push_str(&String::from_utf8_lossy(&set_text));
    let mut outcome = if moving {
        // RFC 6851 §4.3: COPYUID goes in an untagged OK before the EXPUNGEs.
        response::status(out, None, response::Cond::Ok, Some(&code), "Moved")?;
        let removed = sel
            .mailbox
            .store_flags(&uids, FlagOp::Add, SystemFlags::DELETED, &[])
            .and_then(|()| sel.mailbox.expunge(Some(&uids)));
        match removed {
            Ok(_) => Outcome::ok(format!("{what} completed")),
            Err(e) => store_error(what, &e).logged(
                LogLevel::Error,
                format!("{what}: copied but not removed: {e}"),
            ),
        }
    } else {
        Outcome::ok(format!("{what} completed")).code(code)
    };
    if let Some(text) = quota_log
        && outcome.log.is_none()
    {
        outcome = outcome.logged(LogLevel::Error, text);
    }
    Ok(outcome)
}
