//! The streaming mbox scanner: from the bytes of a file (or of its tail), fed in chunks of any
//! size, to one record per message with absolute byte offsets, the parsed From line, the status
//! headers and where they are, the pseudo-message and folder data, and RFC822.SIZE
//! (mailbox-formats.md §1; notes/uw-c-client.md §1.1–1.10).
//!
//! Owns message boundaries: a `From ` line that passes [`from_line::is_valid`] at the start of
//! the input or of any line, header or body (no blank line needed before it); `Content-Length`
//! is ignored and `>From` is body text. Bodies are skipped with `memmem` to the next `\nFrom `;
//! header lines are examined one by one.
//!
//! It must never do I/O, never allocate in proportion to a line's length (lines are examined up
//! to [`MAX_LINE`] bytes), never panic on any input, and never give results that depend on how
//! the input was split into chunks.

use std::ops::Range;
use std::sync::LazyLock;

use memchr::memmem;

use crate::mbox::LineEnding;
use crate::mbox::from_line;
use crate::mbox::pseudo::{self, FolderData};
use crate::mbox::status::{HeaderKind, StatusFields};
use crate::{Flags, InternalDate, KeywordTable};

/// The longest line examined in full. \[decided\] A line longer than this (line end included) is
/// never a From line, and only its first `MAX_LINE` bytes are read for a status header's value;
/// its bytes still count in full in offsets and sizes. (A 2 GB single line is read without
/// holding it in memory.)
pub const MAX_LINE: usize = 64 * 1024;

/// One metadata header line (with its continuation lines) in a message's header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusLine {
    /// Which header.
    pub kind: HeaderKind,
    /// Its bytes in the file, continuation lines and the final line end included.
    pub range: Range<u64>,
}

/// One message of an mbox file. All offsets are absolute (the scanner's base offset plus the
/// position in the input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The From line, its line end included. `from_line.start` is where the message starts.
    pub from_line: Range<u64>,
    /// The header lines after the From line, up to (not including) the blank line that ends the
    /// header. When no blank line comes before the next message or the end of the input, the
    /// header runs to the message's end.
    pub header: Range<u64>,
    /// The body: from after the blank line to the message's end (the start of the next From
    /// line, or the end of the input). Empty, at the message's end, when the header never ended.
    pub body: Range<u64>,
    /// The From line's envelope sender (may be empty or hold spaces).
    pub sender: Vec<u8>,
    /// The From line's date; `None` when it does not parse (the message is still a message).
    pub internal_date: Option<InternalDate>,
    /// The metadata header lines, in file order: `Status`, `X-Status`, `X-Keywords`, `X-UID`,
    /// and, on the file's first message only, `X-IMAP` (only when this is the pseudo-message)
    /// and `X-IMAPbase`. They are hidden from clients.
    pub status_lines: Vec<StatusLine>,
    /// The range of the message's `Status`/`X-Status`/`X-Keywords`/`X-UID` lines when they
    /// follow one another with no other line between them, so that a same-length replacement
    /// ([`crate::mbox::status::fit_block`]) can be written over it in place; `None` when there
    /// are none or they are scattered.
    pub status_block: Option<Range<u64>>,
    /// What the status headers say: letters, `O`, keyword names, X-UID.
    pub status: StatusFields,
    /// Whether this is the pseudo-message (never shown to clients).
    pub pseudo: bool,
    /// RFC822.SIZE: the header (metadata lines left out) and body with every line end counted
    /// as CRLF (a bare LF counts 2, an existing CRLF 2, a lone CR 1), less the one trailing
    /// blank separator line: the body's last line when it is empty (`LF` or `CRLF` alone), as
    /// c-client's parser takes it off. A body that does not end in an empty line loses nothing;
    /// a last line without a line end (at the end of the file) counts as it stands.
    pub size: u64,
}

impl Message {
    /// Where the message starts (its From line).
    pub fn start(&self) -> u64 {
        self.from_line.start
    }

    /// Where the message ends (exclusive).
    pub fn end(&self) -> u64 {
        self.body.end
    }

    /// The stored flags, keywords resolved against the mailbox's keyword table.
    pub fn flags(&self, table: &KeywordTable) -> Flags {
        self.status.flags(table)
    }
}

/// The result of a scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Bytes before the first From line (whitespace, or junk: a file that does not start with
    /// a From line). The engine must not rewrite a file that has them. `None` when the input
    /// starts with a From line or is empty.
    pub leading_junk: Option<Range<u64>>,
    /// The file's line ends: CRLF when the first message's From line ends in CRLF, else LF.
    pub line_ending: LineEnding,
    /// The messages, pseudo-message included, in file order.
    pub messages: Vec<Message>,
    /// The folder data from the first message's `X-IMAP:` (when it is the pseudo-message) or
    /// else its `X-IMAPbase:`, when that header counts. Only a scan that starts at offset 0
    /// looks for it.
    pub folder: Option<FolderData>,
    /// Where the folder data's 10-digit last-UID field is in the file, when it is the padded
    /// form ([`pseudo::last_uid_field`]).
    pub last_uid_field: Option<Range<u64>>,
    /// The offset just past the input.
    pub end: u64,
}

static NO_KEYWORDS: LazyLock<KeywordTable> = LazyLock::new(KeywordTable::default);

impl Scan {
    /// The mailbox's keyword table (from the folder data; empty when there is none).
    pub fn keywords(&self) -> &KeywordTable {
        self.folder.as_ref().map_or(&NO_KEYWORDS, |f| &f.keywords)
    }

    /// The messages clients see: all but the pseudo-message.
    pub fn visible(&self) -> impl Iterator<Item = &Message> {
        self.messages.iter().filter(|m| !m.pseudo)
    }
}

/// Scans a whole buffer at once: the same as one [`Scanner::feed`] and [`Scanner::finish`].
/// `local_offset` gives the zone of From-line dates that have none (seconds since 1970 of the
/// wall-clock time read as UTC → minutes east; [`crate::civil::local_offset_minutes`] on a
/// server).
///
/// ```
/// use dmail_store::mbox::scan::scan_bytes;
/// let s = scan_bytes(b"From a Sat Dec 26 09:37:48 1998\nSubject: x\n\nhi\n\n", 0, |_| 0);
/// assert_eq!(s.messages.len(), 1);
/// assert_eq!(s.messages[0].size, 18);
/// ```
pub fn scan_bytes(bytes: &[u8], base_offset: u64, local_offset: impl Fn(i64) -> i16) -> Scan {
    let mut s = Scanner::new(base_offset, local_offset);
    s.feed(bytes);
    s.finish()
}

/// A partial line: the first [`MAX_LINE`] bytes, the full length and the last three bytes.
#[derive(Default)]
struct Pending {
    active: bool,
    start: u64,
    head: Vec<u8>,
    len: u64,
    last3: [u8; 3],
}

fn shift_in(last3: &mut [u8; 3], bytes: &[u8]) {
    if let Some(tail) = bytes.last_chunk::<3>() {
        *last3 = *tail;
    } else {
        for b in bytes {
            *last3 = [last3[1], last3[2], *b];
        }
    }
}

impl Pending {
    fn begin(&mut self, start: u64, bytes: &[u8]) {
        self.active = true;
        self.start = start;
        self.head.clear();
        self.len = 0;
        self.last3 = [0; 3];
        self.push(bytes);
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.head.len());
        self.head
            .extend_from_slice(bytes.get(..room).unwrap_or(bytes));
        self.len += bytes.len() as u64;
        shift_in(&mut self.last3, bytes);
    }
}

/// A whole line (or the unterminated last line of the input).
#[derive(Clone, Copy)]
struct Line<'a> {
    start: u64,
    /// The first [`MAX_LINE`] bytes.
    head: &'a [u8],
    len: u64,
    last3: [u8; 3],
}

impl<'a> Line<'a> {
    fn whole(start: u64, bytes: &'a [u8]) -> Line<'a> {
        let mut last3 = [0; 3];
        shift_in(&mut last3, bytes);
        Line {
            start,
            head: bytes.get(..MAX_LINE).unwrap_or(bytes),
            len: bytes.len() as u64,
            last3,
        }
    }

    fn end(&self) -> u64 {
        self.start + self.len
    }

    fn has_lf(&self) -> bool {
        self.last3[2] == b'\n'
    }

    fn has_crlf(&self) -> bool {
        self.has_lf() && self.len >= 2 && self.last3[1] == b'\r'
    }

    /// Its size with every line end counted as CRLF.
    fn client_len(&self) -> u64 {
        self.len + u64::from(self.has_lf() && !self.has_crlf())
    }

    fn is_blank(&self) -> bool {
        self.has_lf() && (self.len == 1 || (self.len == 2 && self.has_crlf()))
    }

    /// \[decided\] A From line must end with its LF: an unterminated last line (a delivery
    /// still being written) does not start a message.
    fn starts_message(&self) -> bool {
        self.head.starts_with(b"From ")
            && self.has_lf()
            && self.len <= MAX_LINE as u64
            && from_line::is_valid(self.head)
    }
}

/// A metadata header being read (its continuation lines may follow).
struct OpenStatus {
    kind: HeaderKind,
    start: u64,
    end: u64,
    client_len: u64,
    /// The header's bytes as in the file, up to [`MAX_LINE`] of them.
    bytes: Vec<u8>,
    /// Whether `bytes` is exactly the file's bytes from `start` (no line was cut short).
    exact: bool,
}

/// A message being read.
struct Building {
    msg: Message,
    /// The file's first message (X-IMAP / X-IMAPbase count only there).
    first: bool,
    in_header: bool,
    open: Option<OpenStatus>,
    header_client: u64,
    body_client: u64,
    body_len: u64,
    body_last3: [u8; 3],
    subject_seen: bool,
    /// `X-IMAP:` lines of the first message: the client size of each (added back to the size
    /// when the message turns out not to be the pseudo-message) and the first one's bytes.
    x_imap_client: u64,
    x_imap: Option<OpenStatus>,
    x_imap_base: Option<OpenStatus>,
}

impl Building {
    fn close_open(&mut self) {
        let Some(open) = self.open.take() else {
            return;
        };
        self.msg.status_lines.push(StatusLine {
            kind: open.kind,
            range: open.start..open.end,
        });
        match open.kind {
            HeaderKind::XImap => {
                self.x_imap_client += open.client_len;
                self.x_imap.get_or_insert(open);
            }
            HeaderKind::XImapBase => {
                self.x_imap_base.get_or_insert(open);
            }
            kind => self.msg.status.add(kind, &open.bytes),
        }
    }

    fn account_body(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let prev_cr = self.body_len > 0 && self.body_last3[2] == b'\r';
        let lfs = count(bytes, b'\n');
        let crlfs = if prev_cr || memchr::memchr(b'\r', bytes).is_some() {
            let inner = memmem::find_iter(bytes, b"\r\n").count();
            inner + usize::from(prev_cr && bytes[0] == b'\n')
        } else {
            0
        };
        self.body_len += bytes.len() as u64;
        self.body_client += (bytes.len() + lfs - crlfs) as u64;
        shift_in(&mut self.body_last3, bytes);
    }

    fn account_body_line(&mut self, line: &Line<'_>) {
        self.body_len += line.len;
        self.body_client += line.client_len();
        if line.len >= 3 {
            self.body_last3 = line.last3;
        } else {
            let n = usize::try_from(line.len).unwrap_or(3).min(3);
            shift_in(&mut self.body_last3, &line.last3[3 - n..]);
        }
    }

    /// Whether the body's last line is empty: the separator line c-client takes off.
    fn ends_with_empty_line(&self) -> bool {
        let [a, b, c] = self.body_last3;
        let n = self.body_len;
        c == b'\n' && (n == 1 || b == b'\n' || (b == b'\r' && (n == 2 || a == b'\n')))
    }
}

/// Bytes equal to `needle` (a loop the compiler vectorises).
fn count(bytes: &[u8], needle: u8) -> usize {
    bytes.iter().filter(|b| **b == needle).count()
}

/// The streaming scanner. Feed it consecutive chunks of the input, of any size, then
/// [`finish`](Scanner::finish). The first byte fed must be at the start of a line (offset 0, or
/// the end of the last message already known).
///
/// ```
/// use dmail_store::mbox::scan::{Scanner, scan_bytes};
/// let file = b"From a Sat Dec 26 09:37:48 1998\nX-UID: 3\n\nbody\n\nFrom b Sat Dec 26 09:37:49 1998\n\n";
/// let mut s = Scanner::new(0, |_| 0);
/// for chunk in file.chunks(3) {
///     s.feed(chunk);
/// }
/// let scan = s.finish();
/// assert_eq!(scan, scan_bytes(file, 0, |_| 0));
/// assert_eq!(scan.messages[1].start(), 48);
/// assert_eq!(scan.messages[0].status.uid.unwrap().get(), 3);
/// ```
pub struct Scanner<F> {
    local_offset: F,
    finder: memmem::Finder<'static>,
    base: u64,
    /// Absolute offset of the next byte to be fed.
    pos: u64,
    pending: Pending,
    /// In a body (or before the first message): whether the next byte starts a line.
    at_line_start: bool,
    cur: Option<Building>,
    scan: Scan,
}

impl<F: Fn(i64) -> i16> Scanner<F> {
    /// A scanner whose input starts at `base_offset` in the file. Only a scan from offset 0 sees
    /// the file's first message, so only it reads `X-IMAP:`/`X-IMAPbase:` and can find the
    /// pseudo-message; a scan of a file's tail treats those headers as ordinary ones.
    /// `local_offset` is as for [`scan_bytes`].
    pub fn new(base_offset: u64, local_offset: F) -> Self {
        Scanner {
            local_offset,
            finder: memmem::Finder::new(b"\nFrom ").into_owned(),
            base: base_offset,
            pos: base_offset,
            pending: Pending::default(),
            at_line_start: true,
            cur: None,
            scan: Scan {
                end: base_offset,
                ..Scan::default()
            },
        }
    }

    /// Takes in the next chunk of the input.
    pub fn feed(&mut self, chunk: &[u8]) {
        let mut i = 0;
        if self.pending.active {
            match memchr::memchr(b'\n', chunk) {
                None => {
                    self.pending.push(chunk);
                    self.pos += chunk.len() as u64;
                    return;
                }
                Some(k) => {
                    self.pending.push(&chunk[..=k]);
                    i = k + 1;
                    self.take_pending();
                }
            }
        }
        while i < chunk.len() {
            let in_header = self.cur.as_ref().is_some_and(|b| b.in_header);
            if in_header {
                match memchr::memchr(b'\n', &chunk[i..]) {
                    Some(k) => {
                        let line = Line::whole(self.abs(i), &chunk[i..=i + k]);
                        self.header_line(&line);
                        i += k + 1;
                    }
                    None => {
                        self.pending.begin(self.abs(i), &chunk[i..]);
                        i = chunk.len();
                    }
                }
            } else {
                i = self.body(chunk, i);
            }
        }
        self.pos += chunk.len() as u64;
    }

    /// Ends the input and returns the scan.
    pub fn finish(mut self) -> Scan {
        if self.pending.active {
            self.take_pending();
        }
        let end = self.pos;
        self.finish_message(end);
        let mut scan = self.scan;
        scan.end = end;
        let first = scan.messages.first().map_or(end, Message::start);
        if first > self.base {
            scan.leading_junk = Some(self.base..first);
        }
        scan
    }

    fn abs(&self, i: usize) -> u64 {
        self.pos + i as u64
    }

    /// Processes the completed pending line.
    fn take_pending(&mut self) {
        let p = std::mem::take(&mut self.pending);
        let line = Line {
            start: p.start,
            head: &p.head,
            len: p.len,
            last3: p.last3,
        };
        if self.cur.as_ref().is_some_and(|b| b.in_header) {
            self.header_line(&line);
        } else {
            self.body_line(&line);
        }
        // Keep the buffer's allocation for the next partial line.
        self.pending.head = p.head;
    }

    /// A whole line at a line start in a body (or before the first message).
    fn body_line(&mut self, line: &Line<'_>) {
        if line.starts_message() {
            self.start_message(line);
        } else {
            if let Some(b) = &mut self.cur {
                b.account_body_line(line);
            }
            self.at_line_start = line.has_lf();
        }
    }

    fn account_body(&mut self, bytes: &[u8]) {
        if let Some(b) = &mut self.cur {
            b.account_body(bytes);
        }
    }

    /// Skips body bytes from `i` to the next line that may start a message; returns where
    /// scanning goes on.
    fn body(&mut self, c: &[u8], mut i: usize) -> usize {
        loop {
            let rest = &c[i..];
            let candidate = if self.at_line_start && rest.starts_with(b"From ") {
                Some(i)
            } else {
                self.finder.find(rest).map(|k| i + k + 1)
            };
            let Some(s) = candidate else {
                // The chunk may end inside a line that starts with a prefix of "From ".
                let partial = (1..=4usize)
                    .filter_map(|n| c.len().checked_sub(n))
                    .find(|&s| {
                        s >= i
                            && b"From ".starts_with(&c[s..])
                            && if s == i {
                                self.at_line_start
                            } else {
                                c[s - 1] == b'\n'
                            }
                    });
                match partial {
                    Some(s) => {
                        self.account_body(&c[i..s]);
                        self.pending.begin(self.abs(s), &c[s..]);
                    }
                    None => {
                        self.account_body(rest);
                        if let Some(last) = rest.last() {
                            self.at_line_start = *last == b'\n';
                        }
                    }
                }
                return c.len();
            };
            self.account_body(&c[i..s]);
            self.at_line_start = true;
            match memchr::memchr(b'\n', &c[s..]) {
                Some(k) => {
                    let line = Line::whole(self.abs(s), &c[s..=s + k]);
                    self.body_line(&line);
                    i = s + k + 1;
                    if self.cur.as_ref().is_some_and(|b| b.in_header) {
                        return i;
                    }
                }
                None => {
                    self.pending.begin(self.abs(s), &c[s..]);
                    return c.len();
                }
            }
        }
    }

    /// Ends the current message (if any) at `line.start` and starts a new one.
    fn start_message(&mut self, line: &Line<'_>) {
        self.finish_message(line.start);
        let first = self.base == 0 && self.scan.messages.is_empty();
        let parsed = from_line::parse(line.head, &self.local_offset);
        if self.scan.messages.is_empty() && line.has_crlf() {
            self.scan.line_ending = LineEnding::Crlf;
        }
        self.cur = Some(Building {
            msg: Message {
                from_line: line.start..line.end(),
                header: line.end()..line.end(),
                body: line.end()..line.end(),
                sender: parsed.map(|p| p.sender.to_vec()).unwrap_or_default(),
                internal_date: parsed.and_then(|p| p.date),
                status_lines: Vec::new(),
                status_block: None,
                status: StatusFields::default(),
                pseudo: false,
                size: 0,
            },
            first,
            in_header: true,
            open: None,
            header_client: 0,
            body_client: 0,
            body_len: 0,
            body_last3: [0; 3],
            subject_seen: false,
            x_imap_client: 0,
            x_imap: None,
            x_imap_base: None,
        });
    }

    /// One header line.
    fn header_line(&mut self, line: &Line<'_>) {
        if line.starts_message() {
            self.start_message(line);
            return;
        }
        let Some(b) = &mut self.cur else {
            return;
        };
        if line.is_blank() {
            b.header_client += 2;
            b.msg.header.end = line.start;
            b.msg.body = line.end()..line.end();
            self.end_header();
            self.at_line_start = true;
            return;
        }
        let first_byte = line.head.first().copied();
        if let (Some(b' ' | b'\t'), Some(open)) = (first_byte, &mut b.open) {
            open.end = line.end();
            open.client_len += line.client_len();
            let room = MAX_LINE.saturating_sub(open.bytes.len());
            let take = line.head.get(..room).unwrap_or(line.head);
            open.bytes.extend_from_slice(take);
            open.exact &= take.len() as u64 == line.len;
            b.msg.header.end = line.end();
            return;
        }
        b.close_open();
        b.msg.header.end = line.end();
        match HeaderKind::of(line.head) {
            Some(kind) if kind.is_block() || b.first => {
                b.open = Some(OpenStatus {
                    kind,
                    start: line.start,
                    end: line.end(),
                    client_len: line.client_len(),
                    bytes: line.head.to_vec(),
                    exact: line.head.len() as u64 == line.len,
                });
            }
            _ => {
                b.header_client += line.client_len();
                if b.first && pseudo::is_subject_line(line.head) {
                    b.subject_seen = true;
                }
            }
        }
    }

    /// The header has ended (blank line, next message, or end of input): settle the
    /// pseudo-message, the folder data and the status block.
    fn end_header(&mut self) {
        let Some(b) = &mut self.cur else {
            return;
        };
        b.close_open();
        b.in_header = false;
        let msg = &mut b.msg;
        msg.pseudo = pseudo::is_pseudo(b.first, &msg.sender, b.x_imap.is_some(), b.subject_seen);
        if b.first && !msg.pseudo {
            // A forged or stray X-IMAP: an ordinary header, shown and counted.
            msg.status_lines.retain(|l| l.kind != HeaderKind::XImap);
            b.header_client += b.x_imap_client;
        }
        let source = if msg.pseudo {
            b.x_imap
                .as_ref()
                .filter(|o| pseudo::parse_folder_data(&o.bytes).is_some())
                .or(b.x_imap_base.as_ref())
        } else {
            b.x_imap_base.as_ref()
        };
        if let Some(o) = source
            && let Some(data) = pseudo::parse_folder_data(&o.bytes)
        {
            self.scan.folder = Some(data);
            self.scan.last_uid_field = pseudo::last_uid_field(&o.bytes)
                .filter(|_| o.exact)
                .map(|r| o.start + r.start as u64..o.start + r.end as u64);
        }
        let mut block = msg.status_lines.iter().filter(|l| l.kind.is_block());
        msg.status_block = block.next().and_then(|first| {
            block.try_fold(first.range.clone(), |run, l| {
                (l.range.start == run.end).then_some(run.start..l.range.end)
            })
        });
    }

    fn finish_message(&mut self, end: u64) {
        if self.cur.as_ref().is_some_and(|b| b.in_header) {
            if let Some(b) = &mut self.cur {
                b.msg.header.end = end;
                b.msg.body = end..end;
            }
            self.end_header();
        }
        let Some(mut b) = self.cur.take() else {
            return;
        };
        b.msg.body.end = end;
        let separator = if b.ends_with_empty_line() { 2 } else { 0 };
        b.msg.size = b.header_client + b.body_client - separator;
        self.scan.messages.push(b.msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    fn scan(bytes: &[u8]) -> Scan {
        scan_bytes(bytes, 0, |_| 0)
    }

    const F1: &str = "From a@b Sat Dec 26 09:37:48 1998\n";

    // mailbox-formats.md §1: boundaries at any line start passing VALID; Content-Length ignored;
    // >From and invalid From lines are body text.
    #[test_case("", 0; "empty")]
    #[test_case("From a@b Sat Dec 26 09:37:48 1998\n", 1; "just a From line")]
    #[test_case("From a@b Sat Dec 26 09:37:48 1998", 0; "unterminated From line")]
    #[test_case("From a Sat Dec 26 09:37:48 1998\n\nx\nFrom b Sat Dec 26 09:37:48 1998\n\n", 2; "no blank line before From")]
    #[test_case("From a Sat Dec 26 09:37:48 1998\nContent-Length: 9999\n\nx\n\nFrom b Sat Dec 26 09:37:48 1998\n\n", 2; "Content-Length ignored")]
    #[test_case("From a Sat Dec 26 09:37:48 1998\n\n>From b Sat Dec 26 09:37:48 1998\n", 1; "quoted From")]
    #[test_case("From a Sat Dec 26 09:37:48 1998\n\nFrom here to eternity\n", 1; "invalid From line")]
    #[test_case("From a Sat Dec 26 09:37:48 1998\n\nx From b Sat Dec 26 09:37:48 1998\n", 1; "From mid-line")]
    #[test_case("From a Sat Dec 26 09:37:48 1998\nSubject: x\nFrom b Sat Dec 26 09:37:48 1998\n\n", 2; "From in a header")]
    #[test_case("From a Sat Dec 26 09:37:48 1998\r\n\r\nx\r\nFrom b Sat Dec 26 09:37:48 1998\r\n", 2; "CRLF")]
    fn boundaries(text: &str, n: usize) {
        assert_eq!(scan(text.as_bytes()).messages.len(), n);
    }

    // notes/uw-c-client.md §1.10 and mailbox-formats.md §1: every line end counts as CRLF; the
    // one trailing empty line is taken off; status lines are left out. "Subject: x" is 12 in
    // CRLF form, the blank line 2.
    #[test_case("Subject: x\n\nbody\n\n", 12 + 2 + 6; "separator taken off")]
    #[test_case("Subject: x\n\nbody\n", 12 + 2 + 6; "no separator, nothing lost")]
    #[test_case("Subject: x\n\nbody\n\n\n", 12 + 2 + 6 + 2; "two blank lines, one taken off")]
    #[test_case("Subject: x\n\nbody", 12 + 2 + 4; "unterminated last line")]
    #[test_case("Subject: x\r\n\r\nbody\r\n\r\n", 12 + 2 + 6; "CRLF")]
    #[test_case("Subject: x\n\nbo\rdy\n\n", 12 + 2 + 7; "lone CR counts 1")]
    #[test_case("Subject: x\n\n", 12 + 2; "empty body keeps the header's blank line")]
    #[test_case("Subject: x\n\n\n", 12 + 2; "body of one empty line")]
    #[test_case("Subject: x\n", 12; "header never ends")]
    #[test_case("Status: RO\nSubject: x\nX-Status: F\nX-Keywords: a\n  b\nX-UID: 4\n\nbody\n\n", 12 + 2 + 6; "status lines left out")]
    #[test_case("status: RO\n\n", 12 + 2; "status: is ordinary")]
    #[test_case("Subject: x\n\n\r\n", 12 + 2; "CRLF empty line as separator")]
    #[test_case("Subject: x\n\nab\r\n\n", 12 + 2 + 4; "empty LF line after CRLF")]
    #[test_case("Subject: x\n\nab\n\r\n", 12 + 2 + 4; "empty CRLF line after LF")]
    #[test_case("Subject: x\n\n\0\0\n\n", 12 + 2 + 4; "NUL bytes count as bytes")]
    fn sizes(rest: &str, size: u64) {
        let text = format!("{F1}{rest}");
        let s = scan(text.as_bytes());
        assert_eq!(s.messages.len(), 1);
        assert_eq!(s.messages[0].size, size);
    }

    #[test]
    fn header_without_blank_line_runs_to_the_next_message() {
        let text = format!("{F1}Subject: x\nX-UID: 5\n{F1}\nbody\n");
        let f1 = F1.len() as u64;
        let s = scan(text.as_bytes());
        assert_eq!(s.messages.len(), 2);
        let m = &s.messages[0];
        assert_eq!(m.header, f1..f1 + 20);
        assert_eq!(m.body, f1 + 20..f1 + 20);
        assert_eq!(m.size, 12);
        assert_eq!(m.status.uid.map(|u| u.get()), Some(5));
        let second = 2 * f1 + 20;
        assert_eq!(s.messages[1].header, second..second);
        assert_eq!(s.messages[1].body, second + 1..second + 6);
    }

    #[test]
    fn offsets_and_status_block() {
        let text = format!(
            "{F1}Subject: x\nStatus: RO\nX-Status: F\nX-Keywords: a  \nX-UID: 9\nTo: y\n\nbody\n\n"
        );
        let s = scan_bytes(text.as_bytes(), 1000, |_| 0);
        let m = &s.messages[0];
        let at = |needle: &str| 1000 + text.find(needle).unwrap() as u64;
        let f1 = F1.len() as u64;
        assert_eq!(m.from_line, 1000..1000 + f1);
        assert_eq!(m.header.start, 1000 + f1);
        assert_eq!(m.header.end, at("\n\nbody") + 1);
        assert_eq!(m.body, at("body")..1000 + text.len() as u64);
        assert_eq!(m.status_block, Some(at("Status:")..at("To: y")));
        assert_eq!(
            m.status_lines.iter().map(|l| l.kind).collect::<Vec<_>>(),
            [
                HeaderKind::Status,
                HeaderKind::XStatus,
                HeaderKind::XKeywords,
                HeaderKind::XUid
            ]
        );
        assert_eq!(m.status_lines[3].range, at("X-UID")..at("To: y"));
        assert!(m.status.old);
        assert_eq!(m.status.keyword_names, ["a"]);
        assert_eq!(m.sender, b"a@b");
        assert_eq!(m.internal_date.map(|d| d.unix), Some(914_665_068));
        // A base offset other than 0 is a tail scan: no leading junk, no folder data.
        assert_eq!(s.leading_junk, None);
        assert_eq!(s.end, 1000 + text.len() as u64);
    }

    #[test]
    fn scattered_status_lines_have_no_block() {
        let text = format!("{F1}Status: RO\nSubject: x\nX-UID: 9\n\n");
        let m = &scan(text.as_bytes()).messages[0];
        assert_eq!(m.status_lines.len(), 2);
        assert_eq!(m.status_block, None);
    }

    #[test]
    fn leading_junk_and_line_ending() {
        let text = b"junk\0\xff\nmore\r\nFrom a Sat Dec 26 09:37:48 1998\r\n\r\nx\r\n";
        let s = scan(text);
        assert_eq!(s.leading_junk, Some(0..13));
        assert_eq!(s.line_ending, LineEnding::Crlf);
        assert_eq!(s.messages.len(), 1);
        let s = scan(b"no mailbox here\n");
        assert_eq!(s.leading_junk, Some(0..16));
        assert!(s.messages.is_empty());
    }

    #[test]
    fn long_lines() {
        let long = "x".repeat(MAX_LINE * 2);
        // A long header line, a long status header, a long body line and an over-long line
        // that would pass VALID: exact offsets, no From line found.
        let text = format!(
            "{F1}X-Long: {long}\nX-Keywords: k {long}\n\n{long}\nFrom {long} Sat Dec 26 09:37:48 1998\n\n"
        );
        let s = scan(text.as_bytes());
        assert_eq!(s.messages.len(), 1, "an over-long From line is body text");
        let m = &s.messages[0];
        assert_eq!(m.end(), text.len() as u64);
        assert_eq!(m.status.keyword_names[0], "k");
        let l = long.len() as u64;
        assert_eq!(m.size, (l + 10) + 2 + (l + 2) + (l + 32));
        // Fed in small pieces it is the same.
        let mut sc = Scanner::new(0, |_| 0);
        for chunk in text.as_bytes().chunks(1000) {
            sc.feed(chunk);
        }
        assert_eq!(sc.finish(), s);
    }
}
