//! The authenticated state's commands (RFC 3501 §6.3 and the extensions that live there):
//! SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS, APPEND,
//! NAMESPACE, ENABLE, GETQUOTA, GETQUOTAROOT, SETQUOTA; the selected state's commands are
//! passed on to [`super::selected`].
//!
//! Must never: name a server path in a response, create a mailbox as a side effect of
//! APPEND/COPY (RFC 3501 wants `[TRYCREATE]`), or refuse a write for quota unless the user is
//! already at or over it (dmail-conventions §7).

use std::io::{self, Write};
use std::time::Instant;

use dmail_store::folders::{ListEntry, ListName};
use dmail_store::names::MailboxName;
use dmail_store::store::{
    Mailbox as _, MailboxList, MailboxStatus, NewMessage, OpenMode, StoreError,
};
use dmail_store::{InternalDate, SystemFlags};
use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::extensions::binary::LiteralOrLiteral8;
use imap_codec::imap_types::flag::Flag;
use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox};
use imap_codec::imap_types::status::StatusDataItemName;

use super::selected::Selected;
use super::{Outcome, User};
use crate::backend::Account;
use crate::backend::LogLevel;
use crate::wire;

/// The client's mailbox argument as a validated name, or the answer refusing it.
pub(super) fn name_of(mailbox: &Mailbox<'_>) -> Result<MailboxName, Outcome> {
    match mailbox {
        Mailbox::Inbox => Ok(MailboxName::inbox()),
        Mailbox::Other(other) => MailboxName::parse(other.as_ref())
            .map_err(|e| Outcome::no(format!("Invalid mailbox name: {e}")).code("CANNOT")),
    }
}

/// The answer for a store error in a command named `what`.
pub(super) fn store_error(what: &str, e: &StoreError) -> Outcome {
    match e {
        StoreError::NonExistent => Outcome::no("No such mailbox").code("NONEXISTENT"),
        StoreError::InUse => Outcome::no("Mailbox is in use; try again").code("INUSE"),
        StoreError::NoSuchMessage(_) => {
            Outcome::no("Some of the messages no longer exist").code("EXPUNGEISSUED")
        }
        StoreError::ReadOnly => Outcome::no("Mailbox is read-only").code("READ-ONLY"),
        StoreError::TooManyKeywords => {
            Outcome::no("Too many keywords in this mailbox").code("LIMIT")
        }
        StoreError::Damaged(why) => Outcome::no(format!("{what} failed: mailbox is damaged"))
            .code("CORRUPTION")
            .logged(LogLevel::Error, format!("{what}: damaged mailbox: {why}")),
        StoreError::UidsExhausted => {
            Outcome::no("The mailbox has used every UID; recreate it").code("LIMIT")
        }
        StoreError::AlreadyExists => Outcome::no("Mailbox already exists").code("ALREADYEXISTS"),
        StoreError::InvalidName(why) => {
            Outcome::no(format!("Invalid mailbox name: {why}")).code("CANNOT")
        }
        StoreError::NoSelect => {
            Outcome::no("That name holds mailboxes, not messages").code("NONEXISTENT")
        }
        StoreError::NotAllowed(why) => Outcome::no(why.clone()).code("CANNOT"),
        StoreError::Io { context, source } => Outcome::no(format!("{what} failed: server error"))
            .code("SERVERBUG")
            .logged(LogLevel::Error, format!("{what}: {context}: {source}")),
    }
}

/// Whether the user is at or over quota now, and a line for the log when it could not be
/// measured (an unmeasurable quota does not block: nothing is lost by letting the write go on).
pub(super) fn over_quota<S: MailboxList>(account: &Account<S>) -> (bool, Option<String>) {
    let Some(source) = &account.quota else {
        return (false, None);
    };
    match source.measure() {
        Ok(Some(r)) => (r.used_kbytes >= r.limit_kbytes, None),
        Ok(None) => (false, None),
        Err(e) => (false, Some(format!("quota not measured: {e}"))),
    }
}

/// Attaches a quota measurement problem to an answer's log line.
fn with_quota_log(outcome: Outcome, log: Option<String>) -> Outcome {
    match log {
        Some(text) if outcome.log.is_none() => outcome.logged(LogLevel::Error, text),
        _ => outcome,
    }
}

fn quota_refusal() -> Outcome {
    Outcome::no("You are over your mail quota; delete some mail first").code("OVERQUOTA")
}

/// Runs one authenticated- or selected-state command.
pub(super) fn dispatch<S: MailboxList>(
    user: &mut User<S>,
    tag: &str,
    name: &str,
    body: CommandBody<'static>,
    now: Instant,
    out: &mut dyn Write,
) -> io::Result<Outcome> {
    let _ = (tag, now);
    Ok(match body {
        CommandBody::Select { mailbox, .. } => select(user, &mailbox, OpenMode::ReadWrite, out)?,
        CommandBody::Examine { mailbox, .. } => select(user, &mailbox, OpenMode::ReadOnly, out)?,
        CommandBody::Create { mailbox } => create(user, &mailbox),
        CommandBody::Delete { mailbox } => match name_of(&mailbox) {
            Err(o) => o,
            Ok(n) => {
                if user.selected.as_ref().is_some_and(|s| s.name == n) {
                    Outcome::no("Cannot delete the selected mailbox; select another first")
                        .code("INUSE")
                } else {
                    match user.account.store.delete(&n) {
                        Ok(()) => Outcome::ok("DELETE completed"),
                        Err(e) => store_error("DELETE", &e),
                    }
                }
            }
        },
        CommandBody::Rename { from, to } => match (name_of(&from), name_of(&to)) {
            (Err(o), _) | (_, Err(o)) => o,
            (Ok(from), Ok(to)) => match user.account.store.rename(&from, &to) {
                Ok(()) => Outcome::ok("RENAME completed"),
                Err(e) => store_error("RENAME", &e),
            },
        },
        CommandBody::Subscribe { mailbox } => match name_of(&mailbox) {
            Err(o) => o,
            Ok(n) => match user.account.store.subscribe(&n) {
                Ok(()) => Outcome::ok("SUBSCRIBE completed"),
                Err(e) => store_error("SUBSCRIBE", &e),
            },
        },
        CommandBody::Unsubscribe { mailbox } => match name_of(&mailbox) {
            Err(o) => o,
            Ok(n) => match user.account.store.unsubscribe(&n) {
                Ok(()) => Outcome::ok("UNSUBSCRIBE completed"),
                Err(e) => store_error("UNSUBSCRIBE", &e),
            },
        },
        CommandBody::List {
            reference,
            mailbox_wildcard,
        } => list(user, &reference, &mailbox_wildcard, false, out)?,
        CommandBody::Lsub {
            reference,
            mailbox_wildcard,
        } => list(user, &reference, &mailbox_wildcard, true, out)?,
        CommandBody::Status {
            mailbox,
            item_names,
        } => status(user, &mailbox, &item_names, out)?,
        CommandBody::Append {
            mailbox,
            flags,
            date,
            message,
        } => append(user, &mailbox, &flags, date.as_ref(), &message, out)?,
        CommandBody::Namespace => {
            out.write_all(b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n")?;
            Outcome::ok("NAMESPACE completed")
        }
        CommandBody::Enable { .. } => {
            // Nothing we implement needs enabling (no CONDSTORE, QRESYNC or UTF8=ACCEPT).
            out.write_all(b"* ENABLED\r\n")?;
            Outcome::ok("ENABLE completed")
        }
        CommandBody::GetQuota { root } => get_quota(user, root.as_ref(), out)?,
        CommandBody::GetQuotaRoot { mailbox } => get_quota_root(user, &mailbox, out)?,
        CommandBody::SetQuota { .. } => {
            Outcome::no("Quotas are set by the administrator").code("NOPERM")
        }
        CommandBody::Close | CommandBody::Unselect if user.selected.is_some() => {
            let closing = matches!(body, CommandBody::Close);
            let mut outcome = Outcome::ok(format!("{name} completed"));
            if let Some(mut sel) = user.selected.take() {
                // CLOSE expunges silently (RFC 3501 §6.4.2); UNSELECT does not (RFC 3691).
                if closing
                    && !sel.read_only
                    && let Err(e) = sel.mailbox.expunge(None)
                {
                    outcome = outcome.logged(
                        LogLevel::Error,
                        format!("CLOSE of {}: expunge failed: {e}", sel.name.to_utf8()),
                    );
                }
            }
            outcome
        }
        body => match &mut user.selected {
            Some(sel) => super::selected::dispatch(sel, &user.account, name, body, out)?,
            None => {
                if is_selected_state_command(&body) {
                    Outcome::bad(format!("{name} needs a selected mailbox"))
                } else {
                    Outcome::bad(format!("{name} is not supported"))
                }
            }
        },
    })
}

fn is_selected_state_command(body: &CommandBody<'_>) -> bool {
    matches!(
        body,
        CommandBody::Check
            | CommandBody::Close
            | CommandBody::Unselect
            | CommandBody::Expunge
            | CommandBody::ExpungeUid { .. }
            | CommandBody::Search { .. }
            | CommandBody::Fetch { .. }
            | CommandBody::Store { .. }
            | CommandBody::Copy { .. }
            | CommandBody::Move { .. }
    )
}

fn select<S: MailboxList>(
    user: &mut User<S>,
    mailbox: &Mailbox<'_>,
    mode: OpenMode,
    out: &mut dyn Write,
) -> io::Result<Outcome> {
    // RFC 3501 §6.3.1: a SELECT first deselects, even when it then fails (no EXPUNGE of
    // \Deleted messages: that is only CLOSE's).
    let had_selection = user.selected.take().is_some();
    let what = if mode == OpenMode::ReadWrite {
        "SELECT"
    } else {
        "EXAMINE"
    };
    let name = match name_of(mailbox) {
        Ok(n) => n,
        Err(o) => return Ok(o),
    };
    if had_selection {
        // RFC 7162 §3.2.11 / RFC 3501: tells the client the old mailbox is closed.
        out.write_all(b"* OK [CLOSED] Previous mailbox closed\r\n")?;
    }
    let opened = match user.account.store.open(&name, mode) {
        Ok(m) => m,
        Err(e) => return Ok(store_error(what, &e)),
    };
    let sel = Selected::new(name, opened, mode == OpenMode::ReadOnly);
    sel.write_select_responses(out)?;
    let read_only = sel.read_only;
    let log = format!("{what} {}", sel.name.to_utf8());
    user.selected = Some(sel);
    // The answer was just made from a snapshot taken under the mailbox's locks: looking for
    // changes again at once would cost another lock for nothing (the next command does it).
    Ok(if read_only {
        Outcome::ok(format!("{what} completed")).code("READ-ONLY")
    } else {
        Outcome::ok(format!("{what} completed")).code("READ-WRITE")
    }
    .no_expunges()
    .logged(LogLevel::Debug, log))
}

fn create<S: MailboxList>(user: &mut User<S>, mailbox: &Mailbox<'_>) -> Outcome {
    let name = match name_of(mailbox) {
        Ok(n) => n,
        Err(o) => return o,
    };
    if name.is_inbox() {
        return Outcome::no("INBOX always exists").code("ALREADYEXISTS");
    }
    let (over, log) = over_quota(&user.account);
    if over {
        return quota_refusal();
    }
    let outcome = match user.account.store.create(&name) {
        Ok(()) => Outcome::ok("CREATE completed"),
        Err(e) => store_error("CREATE", &e),
    };
    with_quota_log(outcome, log)
}

fn list_bytes<'a>(m: &'a ListMailbox<'_>) -> &'a [u8] {
    match m {
        ListMailbox::Token(t) => t.as_ref(),
        ListMailbox::String(s) => s.as_ref(),
    }
}

fn mailbox_bytes<'a>(m: &'a Mailbox<'_>) -> &'a [u8] {
    match m {
        Mailbox::Inbox => b"INBOX",
        Mailbox::Other(o) => o.as_ref(),
    }
}

fn list<S: MailboxList>(
    user: &mut User<S>,
    reference: &Mailbox<'_>,
    pattern: &ListMailbox<'_>,
    lsub: bool,
    out: &mut dyn Write,
) -> io::Result<Outcome> {
    let what = if lsub { "LSUB" } else { "LIST" };
    let (reference, pattern) = (mailbox_bytes(reference), list_bytes(pattern));
    let entries = if lsub {
        user.account.store.lsub(reference, pattern)
    } else {
        user.account.store.list(reference, pattern)
    };
    let entries: Vec<ListEntry> = match entries {
        Ok(e) => e,
        Err(e) => return Ok(store_error(what, &e)),
    };
    let mut line = Vec::with_capacity(128);
    for entry in &entries {
        line.clear();
        line.extend_from_slice(b"* ");
        line.extend_from_slice(what.as_bytes());
        line.extend_from_slice(b" (");
        let mut first = true;
        for a in entry.attributes.iter() {
            if !first {
                line.push(b' ');
            }
            first = false;
            line.extend_from_slice(a.name().as_bytes());
        }
        line.extend_from_slice(b") \"/\" ");
        match &entry.name {
            ListName::Root => line.extend_from_slice(b"\"\""),
            ListName::Mailbox(name) => wire::mailbox(&mut line, name),
        }
        line.extend_from_slice(b"\r\n");
        out.write_all(&line)?;
    }
    Ok(Outcome::ok(format!("{what} completed")))
}

fn status<S: MailboxList>(
    user: &mut User<S>,
    mailbox: &Mailbox<'_>,
    items: &[StatusDataItemName],
    out: &mut dyn Write,
) -> io::Result<Outcome> {
    let name = match name_of(mailbox) {
        Ok(n) => n,
        Err(o) => return Ok(o),
    };
    let st: MailboxStatus = match &mut user.selected {
        // The selected mailbox answers from its own view (and STATUS of it is allowed).
        Some(sel) if sel.name == name => sel.status(),
        _ => match user.account.store.status(&name) {
            Ok(s) => s,
            Err(e) => return Ok(store_error("STATUS", &e)),
        },
    };
    let mut line = b"* STATUS ".to_vec();
    wire::mailbox(&mut line, &name);
    line.extend_from_slice(b" (");
    let mut first = true;
    for item in items {
        let (word, value): (&str, u64) = match item {
            StatusDataItemName::Messages => ("MESSAGES", st.messages as u64),
            StatusDataItemName::Recent => ("RECENT", st.recent as u64),
            StatusDataItemName::UidNext => ("UIDNEXT", u64::from(st.uid_next.get())),
            StatusDataItemName::UidValidity => ("UIDVALIDITY", u64::from(st.uid_validity.get())),
            StatusDataItemName::Unseen => ("UNSEEN", st.unseen as u64),
            _ => return Ok(Outcome::bad("STATUS item not supported")),
        };
        if !first {
            line.push(b' ');
        }
        first = false;
        line.extend_from_slice(word.as_bytes());
        line.push(b' ');
        line.extend_from_slice(value.to_string().as_bytes());
    }
    line.extend_from_slice(b")\r\n");
    out.write_all(&line)?;
    Ok(Outcome::ok("STATUS completed"))
}

/// The flags of an APPEND or STORE: system flags and keyword names (`\Recent` ignored).
pub(super) fn parse_flags(flags: &[Flag<'_>]) -> Result<(SystemFlags, Vec<String>), Outcome> {
    let mut system = SystemFlags::EMPTY;
    let mut keywords = Vec::new();
    for f in flags {
        match f {
            Flag::Seen => system |= SystemFlags::SEEN,
            Flag::Answered => system |= SystemFlags::ANSWERED,
            Flag::Flagged => system |= SystemFlags::FLAGGED,
            Flag::Deleted => system |= SystemFlags::DELETED,
            Flag::Draft => system |= SystemFlags::DRAFT,
            Flag::Keyword(k) => {
                let k = k.as_ref().to_owned();
                if !keywords.contains(&k) {
                    keywords.push(k);
                }
            }
            Flag::Extension(_) => {
                // `\Recent` is the server's to set (RFC 3501 §2.3.2); other `\`-flags are unknown.
                let text = f.to_string();
                if !text.eq_ignore_ascii_case("\\recent") {
                    return Err(Outcome::bad(format!("Unknown system flag {text}")));
                }
            }
        }
    }
    Ok((system, keywords))
}

fn internal_date(date: &imap_codec::imap_types::datetime::DateTime) -> InternalDate {
    let inner = date.as_ref();
    InternalDate {
        unix: inner.timestamp(),
        offset_minutes: i16::try_from(inner.offset().local_minus_utc() / 60).unwrap_or(0),
    }
}

fn append<S: MailboxList>(
    user: &mut User<S>,
    mailbox: &Mailbox<'_>,
    flags: &[Flag<'_>],
    date: Option<&imap_codec::imap_types::datetime::DateTime>,
    message: &LiteralOrLiteral8<'_>,
    out: &mut dyn Write,
) -> io::Result<Outcome> {
    let _ = out;
    let name = match name_of(mailbox) {
        Ok(n) => n,
        Err(o) => return Ok(o),
    };
    let (system, keywords) = match parse_flags(flags) {
        Ok(f) => f,
        Err(o) => return Ok(o),
    };
    let bytes: &[u8] = match message {
        LiteralOrLiteral8::Literal(l) => l.as_ref(),
        LiteralOrLiteral8::Literal8(_) => {
            return Ok(Outcome::no("BINARY is not supported").code("CANNOT"));
        }
    };
    if bytes.is_empty() {
        return Ok(Outcome::no("An empty message cannot be appended").code("CANNOT"));
    }
    let (over, log) = over_quota(&user.account);
    if over {
        return Ok(quota_refusal());
    }
    let new = [NewMessage {
        bytes,
        flags: system,
        keywords: &keywords,
        internal_date: date.map(internal_date),
        envelope_sender: None,
    }];
    let result = match &mut user.selected {
        Some(sel) if sel.name == name && !sel.read_only => sel.append(&new),
        _ => user.account.store.append_to(&name, &new),
    };
    Ok(with_quota_log(
        match result {
            Ok((validity, uids)) => {
                let mut code = format!("APPENDUID {validity} ");
                let mut set = Vec::new();
                crate::response::uid_set(
                    &mut set,
                    &uids.iter().map(|u| u.get()).collect::<Vec<_>>(),
                );
                code.push_str(&String::from_utf8_lossy(&set));
                Outcome::ok("APPEND completed").code(code)
            }
            Err(StoreError::NonExistent) => {
                Outcome::no("No such mailbox; create it first").code("TRYCREATE")
            }
            Err(e) => store_error("APPEND", &e),
        },
        log,
    ))
}

/// The user's quota report for GETQUOTA and GETQUOTAROOT (`None`: no limit, so no quota
/// root), or the answer when it cannot be measured.
fn quota_report<S: MailboxList>(
    account: &Account<S>,
) -> Result<Option<dmail_store::quota::QuotaReport>, Outcome> {
    match &account.quota {
        None => Ok(None),
        Some(q) => q.measure().map_err(|e| {
            Outcome::no("Quota cannot be measured now")
                .code("UNAVAILABLE")
                .logged(LogLevel::Error, format!("quota not measured: {e}"))
        }),
    }
}

fn get_quota<S: MailboxList>(
    user: &mut User<S>,
    root: &[u8],
    out: &mut dyn Write,
) -> io::Result<Outcome> {
    if !root.is_empty() {
        return Ok(Outcome::no("No such quota root").code("NONEXISTENT"));
    }
    let report = match quota_report(&user.account) {
        Ok(r) => r,
        Err(o) => return Ok(o),
    };
    match report {
        None => Ok(Outcome::no("No such quota root").code("NONEXISTENT")),
        Some(r) => {
            let line = format!(
                "* QUOTA \"\" (STORAGE {} {})\r\n",
                r.used_kbytes, r.limit_kbytes
            );
            out.write_all(line.as_bytes())?;
            Ok(Outcome::ok("GETQUOTA completed"))
        }
    }
}

fn get_quota_root<S: MailboxList>(
    user: &mut User<S>,
    mailbox: &Mailbox<'_>,
    out: &mut dyn Write,
) -> io::Result<Outcome> {
    let name = match name_of(mailbox) {
        Ok(n) => n,
        Err(o) => return Ok(o),
    };
    let report = match quota_report(&user.account) {
        Ok(r) => r,
        Err(o) => return Ok(o),
    };
    let mut line = b"* QUOTAROOT ".to_vec();
    wire::mailbox(&mut line, &name);
    if report.is_some() {
        line.extend_from_slice(b" \"\"");
    }
    line.extend_from_slice(b"\r\n");
    out.write_all(&line)?;
    if let Some(r) = report {
        let line = format!(
            "* QUOTA \"\" (STORAGE {} {})\r\n",
            r.used_kbytes, r.limit_kbytes
        );
        out.write_all(line.as_bytes())?;
    }
    Ok(Outcome::ok("GETQUOTAROOT completed"))
}
