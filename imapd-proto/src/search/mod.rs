//! SEARCH (RFC 3501 §6.4.4): compiling a command's search keys into a [`Query`] and deciding,
//! message by message, whether it matches.
//!
//! This module owns the meaning of the keys: flags, sizes, dates, sequence sets, and which
//! header or text a string is looked for in. It must never do I/O or know the session: the
//! caller passes each message's metadata and, when [`Query::needs`] asks for them, its bytes.
//! No input may make it panic, and the work per message is bounded (see the `mime` limits).
//!
//! Choices where RFC 3501 leaves room:
//!
//! * `CHARSET` may be `UTF-8` or `US-ASCII`; US-ASCII strings are read as UTF-8 when valid.
//! * Strings match as case-insensitive substrings (Unicode simple lowercase, which includes
//!   i;ascii-casemap) of decoded text: header values unfolded with RFC 2047 words decoded;
//!   bodies with transfer encodings undone and charsets converted (see `mime` for which parts).
//! * TEXT looks in the top-level header (every field as `name: value`) and in what BODY does.
//! * BEFORE, ON and SINCE use the INTERNALDATE's date in the zone it was recorded in; SENT*
//!   use the date written in `Date:`; a missing or unreadable `Date:` falls back to the
//!   INTERNALDATE, as Dovecot does.
//! * A message whose bytes were needed but not given is searched as an empty message.

mod charset;
mod date;
mod decode;
mod mime;
mod text;

#[cfg(test)]
mod tests;

use std::cell::OnceCell;
use std::fmt;

use chrono::Datelike;
use dmail_store::store::MessageMeta;
use dmail_store::{KeywordTable, SystemFlags, Uid};
use imap_codec::imap_types::core::{AString, Charset};
use imap_codec::imap_types::datetime::NaiveDate;
use imap_codec::imap_types::search::SearchKey;
use imap_codec::imap_types::sequence::{SeqOrUid, Sequence, SequenceSet};

use charset::SearchCharset;
use date::Ymd;
use text::Needle;

/// How deep NOT, OR and parentheses may nest (imap-codec's own limit is lower; this guards
/// values built by hand).
const MAX_NESTING: u32 = 64;

/// What a query needs of each message beyond its metadata, from least to most.
///
/// ```
/// use imapd_proto::search::Needs;
/// assert!(Needs::Metadata < Needs::Header && Needs::Header < Needs::Whole);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Needs {
    /// Flags, UID, sizes and dates are enough.
    Metadata,
    /// The header block is needed (a header key or SENT*).
    Header,
    /// The whole message is needed (BODY or TEXT).
    Whole,
}

/// Why a query cannot run.
///
/// ```
/// use imapd_proto::search::SearchError;
/// assert_eq!(SearchError::BadCharset.to_string(), "unsupported charset");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchError {
    /// The CHARSET is not supported: answer `NO [BADCHARSET (UTF-8 US-ASCII)]`.
    BadCharset,
    /// The criteria are unusable (e.g. a string not valid in the charset): answer `BAD` with
    /// this text.
    Bad(String),
}

impl fmt::Display for SearchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SearchError::BadCharset => f.write_str("unsupported charset"),
            SearchError::Bad(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for SearchError {}

/// One message as the evaluator sees it.
///
/// ```
/// use dmail_store::{store::MessageMeta, Flags, Uid};
/// use imapd_proto::search::Candidate;
/// let meta = MessageMeta {
///     uid: Uid::MIN,
///     flags: Flags::default(),
///     internal_date: None,
///     size: 0,
///     recent: false,
/// };
/// let c = Candidate { seq: 1, meta: &meta, bytes: None };
/// assert_eq!(c.meta.uid, Uid::MIN);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// Its sequence number.
    pub seq: u32,
    /// UID, flags, INTERNALDATE, size, `\Recent`.
    pub meta: &'a MessageMeta,
    /// The message in client (CRLF) form: `None` when [`Query::needs`] is
    /// [`Needs::Metadata`]; at least the header block for [`Needs::Header`]; the whole
    /// message for [`Needs::Whole`].
    pub bytes: Option<&'a [u8]>,
}

/// How a date key compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DateCmp {
    Before,
    On,
    Since,
}

impl DateCmp {
    fn holds(self, date: Ymd, key: Ymd) -> bool {
        match self {
            DateCmp::Before => date < key,
            DateCmp::On => date == key,
            DateCmp::Since => date >= key,
        }
    }
}

/// A compiled search key.
#[derive(Clone, Debug)]
enum Node {
    True,
    False,
    And(Vec<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    /// Inclusive ranges, low end first.
    Seq(Vec<(u32, u32)>),
    Uid(Vec<(u32, u32)>),
    /// A system flag set (`true`) or not set (`false`).
    Flag(SystemFlags, bool),
    Recent,
    Keyword(usize, bool),
    Larger(u64),
    Smaller(u64),
    Internal(DateCmp, Ymd),
    Sent(DateCmp, Ymd),
    /// Lowercase field name.
    Header(Vec<u8>, Needle),
    Body(Needle),
    Text(Needle),
}

impl Node {
    fn needs(&self) -> Needs {
        match self {
            Node::And(v) => v.iter().map(Node::needs).max().unwrap_or(Needs::Metadata),
            Node::Or(a, b) => a.needs().max(b.needs()),
            Node::Not(a) => a.needs(),
            Node::Sent(..) | Node::Header(..) => Needs::Header,
            Node::Body(_) | Node::Text(_) => Needs::Whole,
            _ => Needs::Metadata,
        }
    }
}

/// A compiled SEARCH: build it once per command, then ask [`Query::matches`] of each message.
///
/// ```
/// use dmail_store::{store::MessageMeta, Flags, KeywordTable, SystemFlags, Uid};
/// use imap_codec::decode::Decoder;
/// use imap_codec::imap_types::command::CommandBody;
/// use imap_codec::CommandCodec;
/// use imapd_proto::search::{Candidate, Needs, Query};
///
/// let (_, cmd) = CommandCodec::default().decode(b"a SEARCH UNSEEN SUBJECT hello\r\n").unwrap();
/// let CommandBody::Search { charset, criteria, .. } = cmd.body else { unreachable!() };
/// let q = Query::new(criteria.as_ref(), charset.as_ref(), &KeywordTable::default(), 1, Uid::new(1))
///     .unwrap();
/// assert_eq!(q.needs(), Needs::Header);
///
/// let meta = MessageMeta {
///     uid: Uid::MIN,
///     flags: Flags::default(),
///     internal_date: None,
///     size: 30,
///     recent: false,
/// };
/// let msg = b"Subject: Hello world\r\n\r\nhi\r\n";
/// assert!(q.matches(&Candidate { seq: 1, meta: &meta, bytes: Some(msg) }));
/// ```
#[derive(Clone, Debug)]
pub struct Query {
    root: Node,
    needs: Needs,
}

/// What compiling needs besides the keys.
struct Env<'k> {
    charset: SearchCharset,
    keywords: &'k KeywordTable,
    last_seq: u32,
    last_uid: Option<Uid>,
}

impl Query {
    /// Compiles the criteria (all must match: the top-level list is an AND). `charset` `None`
    /// means US-ASCII. `keywords` maps keyword names to the mailbox's slots. `last_seq` and
    /// `last_uid` resolve `*` in sequence sets (`last_uid` is the UID of the last message, or
    /// `None` when the mailbox is empty).
    ///
    /// ```
    /// use dmail_store::KeywordTable;
    /// use imap_codec::decode::Decoder;
    /// use imap_codec::imap_types::command::CommandBody;
    /// use imap_codec::CommandCodec;
    /// use imapd_proto::search::{Query, SearchError};
    ///
    /// let (_, cmd) = CommandCodec::default().decode(b"a SEARCH CHARSET KOI8-R ALL\r\n").unwrap();
    /// let CommandBody::Search { charset, criteria, .. } = cmd.body else { unreachable!() };
    /// let r = Query::new(criteria.as_ref(), charset.as_ref(), &KeywordTable::default(), 0, None);
    /// assert_eq!(r.err(), Some(SearchError::BadCharset));
    /// ```
    pub fn new(
        criteria: &[SearchKey<'_>],
        charset: Option<&Charset<'_>>,
        keywords: &KeywordTable,
        last_seq: u32,
        last_uid: Option<Uid>,
    ) -> Result<Query, SearchError> {
        let charset = match charset {
            None => SearchCharset::UsAscii,
            Some(c) => charset::search_charset(c.as_ref()).ok_or(SearchError::BadCharset)?,
        };
        let env = Env {
            charset,
            keywords,
            last_seq,
            last_uid,
        };
        let nodes = criteria
            .iter()
            .map(|k| compile(k, &env, 0))
            .collect::<Result<Vec<_>, _>>()?;
        let root = and(nodes);
        let needs = root.needs();
        Ok(Query { root, needs })
    }

    /// What [`Query::matches`] needs in [`Candidate::bytes`].
    ///
    /// ```
    /// use dmail_store::KeywordTable;
    /// use imap_codec::imap_types::search::SearchKey;
    /// use imapd_proto::search::{Needs, Query};
    ///
    /// let q = Query::new(&[SearchKey::Seen], None, &KeywordTable::default(), 0, None).unwrap();
    /// assert_eq!(q.needs(), Needs::Metadata);
    /// ```
    pub fn needs(&self) -> Needs {
        self.needs
    }

    /// Whether the message matches every criterion.
    ///
    /// ```
    /// use dmail_store::{store::MessageMeta, Flags, KeywordTable, SystemFlags, Uid};
    /// use imap_codec::imap_types::search::SearchKey;
    /// use imapd_proto::search::{Candidate, Query};
    ///
    /// let q = Query::new(&[SearchKey::Seen], None, &KeywordTable::default(), 1, Uid::new(1))
    ///     .unwrap();
    /// let mut meta = MessageMeta {
    ///     uid: Uid::MIN,
    ///     flags: Flags::default(),
    ///     internal_date: None,
    ///     size: 0,
    ///     recent: false,
    /// };
    /// assert!(!q.matches(&Candidate { seq: 1, meta: &meta, bytes: None }));
    /// meta.flags.system = SystemFlags::SEEN;
    /// assert!(q.matches(&Candidate { seq: 1, meta: &meta, bytes: None }));
    /// ```
    pub fn matches(&self, c: &Candidate<'_>) -> bool {
        let message = Message::new(c);
        eval(&self.root, c, &message)
    }
}

/// AND of nodes, the cheap ones first so that costly ones often need not run.
fn and(mut nodes: Vec<Node>) -> Node {
    if nodes.len() == 1 {
        return nodes.pop().unwrap_or(Node::True);
    }
    nodes.sort_by_key(Node::needs);
    Node::And(nodes)
}

/// A search string in the query's charset.
fn string(s: &AString<'_>, env: &Env<'_>) -> Result<String, SearchError> {
    let bytes: &[u8] = s.as_ref();
    charset::search_string(bytes, env.charset)
        .ok_or_else(|| SearchError::Bad("search string is not valid in the charset".into()))
}

fn needle(s: &AString<'_>, env: &Env<'_>) -> Result<Needle, SearchError> {
    Ok(Needle::new(&string(s, env)?))
}

fn header(name: &[u8], s: &AString<'_>, env: &Env<'_>) -> Result<Node, SearchError> {
    Ok(Node::Header(name.to_ascii_lowercase(), needle(s, env)?))
}

fn ymd(d: &NaiveDate) -> Ymd {
    let d: &chrono::NaiveDate = d.as_ref();
    (i64::from(d.year()), d.month(), d.day())
}

/// A sequence set as inclusive ranges, `*` being `last`; with no `last` (an empty mailbox) a
/// sequence naming `*` matches nothing.
fn ranges(set: &SequenceSet, last: Option<u32>) -> Vec<(u32, u32)> {
    let value = |v: &SeqOrUid| match v {
        SeqOrUid::Value(n) => Some(n.get()),
        SeqOrUid::Asterisk => last,
    };
    set.0
        .as_ref()
        .iter()
        .filter_map(|s| match s {
            Sequence::Single(a) => value(a).map(|a| (a, a)),
            Sequence::Range(a, b) => {
                let (a, b) = (value(a)?, value(b)?);
                Some((a.min(b), a.max(b)))
            }
        })
        .collect()
}

fn compile(key: &SearchKey<'_>, env: &Env<'_>, depth: u32) -> Result<Node, SearchError> {
    if depth > MAX_NESTING {
        return Err(SearchError::Bad("search keys nest too deeply".into()));
    }
    let sub = |k: &SearchKey<'_>| compile(k, env, depth + 1);
    let flag = |f, set| Ok(Node::Flag(f, set));
    match key {
        SearchKey::And(keys) => Ok(and(keys
            .as_ref()
            .iter()
            .map(sub)
            .collect::<Result<Vec<_>, _>>()?)),
        SearchKey::SequenceSet(set) => {
            let last = (env.last_seq > 0).then_some(env.last_seq);
            Ok(Node::Seq(ranges(set, last)))
        }
        SearchKey::Uid(set) => Ok(Node::Uid(ranges(set, env.last_uid.map(Uid::get)))),
        SearchKey::All => Ok(Node::True),
        SearchKey::Answered => flag(SystemFlags::ANSWERED, true),
        SearchKey::Deleted => flag(SystemFlags::DELETED, true),
        SearchKey::Draft => flag(SystemFlags::DRAFT, true),
        SearchKey::Flagged => flag(SystemFlags::FLAGGED, true),
        SearchKey::Seen => flag(SystemFlags::SEEN, true),
        SearchKey::Unanswered => flag(SystemFlags::ANSWERED, false),
        SearchKey::Undeleted => flag(SystemFlags::DELETED, false),
        SearchKey::Undraft => flag(SystemFlags::DRAFT, false),
        SearchKey::Unflagged => flag(SystemFlags::FLAGGED, false),
        SearchKey::Unseen => flag(SystemFlags::SEEN, false),
        SearchKey::Recent => Ok(Node::Recent),
        // RFC 3501: NEW is "RECENT UNSEEN", OLD is "NOT RECENT".
        SearchKey::New => Ok(Node::And(vec![
            Node::Recent,
            Node::Flag(SystemFlags::SEEN, false),
        ])),
        SearchKey::Old => Ok(Node::Not(Box::new(Node::Recent))),
        // A keyword the mailbox has never defined is set on no message.
        SearchKey::Keyword(k) => Ok(match env.keywords.slot(k.as_ref()) {
            Some(slot) => Node::Keyword(slot, true),
            None => Node::False,
        }),
        SearchKey::Unkeyword(k) => Ok(match env.keywords.slot(k.as_ref()) {
            Some(slot) => Node::Keyword(slot, false),
            None => Node::True,
        }),
        SearchKey::Larger(n) => Ok(Node::Larger(u64::from(*n))),
        SearchKey::Smaller(n) => Ok(Node::Smaller(u64::from(*n))),
        SearchKey::Before(d) => Ok(Node::Internal(DateCmp::Before, ymd(d))),
        SearchKey::On(d) => Ok(Node::Internal(DateCmp::On, ymd(d))),
        SearchKey::Since(d) => Ok(Node::Internal(DateCmp::Since, ymd(d))),
        SearchKey::SentBefore(d) => Ok(Node::Sent(DateCmp::Before, ymd(d))),
        SearchKey::SentOn(d) => Ok(Node::Sent(DateCmp::On, ymd(d))),
        SearchKey::SentSince(d) => Ok(Node::Sent(DateCmp::Since, ymd(d))),
        SearchKey::Bcc(s) => header(b"bcc", s, env),
        SearchKey::Cc(s) => header(b"cc", s, env),
        SearchKey::From(s) => header(b"from", s, env),
        SearchKey::Subject(s) => header(b"subject", s, env),
        SearchKey::To(s) => header(b"to", s, env),
        SearchKey::Header(name, s) => {
            let name: &[u8] = name.as_ref();
            header(name.trim_ascii(), s, env)
        }
        // An empty string occurs in every text, even a message with none.
        SearchKey::Body(s) | SearchKey::Text(s) => {
            let n = needle(s, env)?;
            Ok(match key {
                _ if n.is_empty() => Node::True,
                SearchKey::Body(_) => Node::Body(n),
                _ => Node::Text(n),
            })
        }
        SearchKey::Not(k) => Ok(Node::Not(Box::new(sub(k)?))),
        SearchKey::Or(a, b) => Ok(Node::Or(Box::new(sub(a)?), Box::new(sub(b)?))),
        // The store keeps no mod-sequences, so CONDSTORE is not offered.
        SearchKey::ModSequence { .. } => Err(SearchError::Bad("MODSEQ is not supported".into())),
        // Keys of extensions this server does not enable (e.g. RFC 5032's OLDER and YOUNGER
        // when another crate turns `ext_within` on).
        #[allow(unreachable_patterns)]
        _ => Err(SearchError::Bad("search key not supported".into())),
    }
}

/// What has been worked out of one message's bytes so far, so that several keys share it.
struct Message<'a> {
    bytes: &'a [u8],
    header: OnceCell<&'a [u8]>,
    /// Every field as (lowercase name, folded decoded value).
    fields: OnceCell<Vec<(Vec<u8>, String)>>,
    header_text: OnceCell<String>,
    body: OnceCell<Vec<String>>,
    sent: OnceCell<Option<Ymd>>,
}

impl<'a> Message<'a> {
    fn new(c: &Candidate<'a>) -> Self {
        Message {
            bytes: c.bytes.unwrap_or(&[]),
            header: OnceCell::new(),
            fields: OnceCell::new(),
            header_text: OnceCell::new(),
            body: OnceCell::new(),
            sent: OnceCell::new(),
        }
    }

    fn header(&self) -> &'a [u8] {
        self.header.get_or_init(|| mime::split(self.bytes).0)
    }

    fn fields(&self) -> &[(Vec<u8>, String)] {
        self.fields.get_or_init(|| {
            mime::Fields::new(self.header())
                .map(|(name, value)| {
                    (
                        name.to_ascii_lowercase(),
                        text::fold(&decode::header_value(value)),
                    )
                })
                .collect()
        })
    }

    fn header_text(&self) -> &str {
        self.header_text
            .get_or_init(|| mime::header_text(self.header()))
    }

    fn body(&self) -> &[String] {
        self.body.get_or_init(|| mime::body_texts(self.bytes))
    }

    /// The date of the first `Date:` field, if it can be read.
    fn sent(&self) -> Option<Ymd> {
        *self.sent.get_or_init(|| {
            mime::Fields::new(self.header())
                .find(|(name, _)| name.eq_ignore_ascii_case(b"date"))
                .and_then(|(_, value)| date::parse_header_date(value))
        })
    }
}

fn in_ranges(n: u32, ranges: &[(u32, u32)]) -> bool {
    ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&n))
}

fn eval(node: &Node, c: &Candidate<'_>, m: &Message<'_>) -> bool {
    let meta = c.meta;
    match node {
        Node::True => true,
        Node::False => false,
        Node::And(v) => v.iter().all(|n| eval(n, c, m)),
        Node::Or(a, b) => eval(a, c, m) || eval(b, c, m),
        Node::Not(a) => !eval(a, c, m),
        Node::Seq(r) => in_ranges(c.seq, r),
        Node::Uid(r) => in_ranges(meta.uid.get(), r),
        Node::Flag(f, set) => meta.flags.system.contains(*f) == *set,
        Node::Recent => meta.recent,
        Node::Keyword(slot, set) => meta.flags.keywords.has(*slot) == *set,
        Node::Larger(n) => meta.size > *n,
        Node::Smaller(n) => meta.size < *n,
        Node::Internal(cmp, key) => cmp.holds(date::internal(meta.internal_date), *key),
        Node::Sent(cmp, key) => {
            let sent = m
                .sent()
                .unwrap_or_else(|| date::internal(meta.internal_date));
            cmp.holds(sent, *key)
        }
        // An empty string matches every message that has the field (RFC 3501 §6.4.4).
        Node::Header(name, needle) => m
            .fields()
            .iter()
            .any(|(n, v)| n == name && needle.found_in(v)),
        Node::Body(needle) => m.body().iter().any(|t| needle.found_in(t)),
        Node::Text(needle) => {
            needle.found_in(m.header_text()) || m.body().iter().any(|t| needle.found_in(t))
        }
    }
}
