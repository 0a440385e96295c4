//! Property tests for the mbox reader: (a) the scan of generated mailboxes (From lines valid and
//! not, status headers, continuations, pseudo-messages, CRLF, lone CRs, NULs, partial "From"
//! prefixes) is the same however the input is split into chunks; (b) scanning arbitrary bytes,
//! in any chunks, never panics and accounts for every byte; (c) mailboxes written with our own
//! writers (pseudo-message, status blocks) read back with the flags, keywords and UIDs written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dmail_store::mbox::LineEnding;
use dmail_store::mbox::pseudo::{self, FolderData};
use dmail_store::mbox::scan::{Scan, Scanner, scan_bytes};
use dmail_store::mbox::status::write_block;
use dmail_store::mbox::uids::assign_uids;
use dmail_store::{Flags, InternalDate, KeywordSet, KeywordTable, SystemFlags, Uid, UidValidity};
use proptest::prelude::*;
use proptest::sample::select;

const PIECES: &[&[u8]] = &[
    b"From a@b Sat Dec 26 09:37:48 1998\n",
    b"From MAILER-DAEMON Fri Jul 21 12:38:16 2000\n",
    b"From user Wed Dec  2 05:53 PST 1992 remote from host\r\n",
    b"From x Wed Dec 2 05:53 1992\n",
    b"From here to eternity\n",
    b">From a@b Sat Dec 26 09:37:48 1998\n",
    b"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n",
    b"Subject: hello\r\n",
    b"X-IMAP: 0964139896 0000000003 a b\n",
    b"X-IMAP: 12 x\n",
    b"X-IMAPbase: 77 9 c\n",
    b"Status: RO\n",
    b"status: R\n",
    b"X-Status: DFAT\n",
    b"X-Keywords: a  b c          \n",
    b"X-UID: 2\n",
    b"X-UID: 7\r\n",
    b"X-UID: junk\n",
    b" continued\n",
    b"\tcontinued\r\n",
    b"\n",
    b"\r\n",
    b"\r",
    b"\0\0",
    b"body text\n",
    b"F",
    b"Fr",
    b"From",
    b"From ",
    b"\nFrom",
    b"\xff\xfe",
];

fn mailbox() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(select(PIECES), 0..60).prop_map(|p| p.concat())
}

/// Split points as chunk lengths (cycled until the input is used up).
fn chunking() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![1usize..4, 1usize..40, 1usize..400], 1..8)
}

fn scan_chunked(bytes: &[u8], base: u64, sizes: &[usize]) -> Scan {
    let mut s = Scanner::new(base, |_| 60);
    let mut rest = bytes;
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at((*size).min(rest.len()));
        s.feed(chunk);
        // Empty feeds change nothing.
        s.feed(b"");
        rest = tail;
    }
    s.finish()
}

/// Every byte is in the leading junk or in exactly one message, in order; the parts of each
/// message nest inside it.
fn check_layout(scan: &Scan, base: u64, len: usize) {
    let mut at = scan.leading_junk.as_ref().map_or(base, |j| {
        assert_eq!(j.start, base);
        j.end
    });
    for m in &scan.messages {
        assert_eq!(m.start(), at);
        assert!(m.from_line.end == m.header.start);
        assert!(m.header.start <= m.header.end && m.header.end <= m.body.start);
        assert!(m.body.start <= m.body.end);
        for l in &m.status_lines {
            assert!(m.header.start <= l.range.start && l.range.end <= m.header.end);
        }
        at = m.end();
    }
    assert_eq!(at, base + len as u64);
    assert_eq!(scan.end, at);
}

/// A slow, line-by-line model of the reader (mailbox-formats.md §1, notes/uw-c-client.md §1.10):
/// per message `(start, header end, body start, end, RFC822.SIZE)`.
fn reference(bytes: &[u8]) -> Vec<(u64, u64, u64, u64, u64)> {
    struct Cur {
        start: u64,
        first: bool,
        pseudo_sender: bool,
        header_end: Option<u64>,
        body_start: u64,
        in_status: bool,
        in_x_imap: bool,
        subject: bool,
        x_imap: Option<u64>,
        header: u64,
        body: u64,
        last_line_empty: bool,
    }
    fn client(line: &[u8]) -> u64 {
        line.len() as u64 + u64::from(line.ends_with(b"\n") && !line.ends_with(b"\r\n"))
    }
    fn close(c: Cur, end: u64, out: &mut Vec<(u64, u64, u64, u64, u64)>) {
        let pseudo = c.first && c.pseudo_sender && c.subject && c.x_imap.is_some();
        let header = c.header + if pseudo { 0 } else { c.x_imap.unwrap_or(0) };
        let (header_end, body_start) = match c.header_end {
            Some(h) => (h, c.body_start),
            None => (end, end),
        };
        let size = header + c.body - if c.last_line_empty { 2 } else { 0 };
        out.push((c.start, header_end, body_start, end, size));
    }
    let mut out = Vec::new();
    let mut cur: Option<Cur> = None;
    let mut pos = 0u64;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        let start = pos;
        pos += line.len() as u64;
        let from = line.ends_with(b"\n")
            && line.len() <= dmail_store::mbox::scan::MAX_LINE
            && dmail_store::mbox::from_line::is_valid(line);
        if from {
            if let Some(c) = cur.take() {
                close(c, start, &mut out);
            }
            let sender = dmail_store::mbox::from_line::parse(line, &|_| 0)
                .unwrap()
                .sender;
            cur = Some(Cur {
                start,
                first: out.is_empty(),
                pseudo_sender: sender == b"MAILER-DAEMON",
                header_end: None,
                body_start: 0,
                in_status: false,
                in_x_imap: false,
                subject: false,
                x_imap: None,
                header: 0,
                body: 0,
                last_line_empty: false,
            });
            continue;
        }
        let Some(c) = cur.as_mut() else { continue };
        if c.header_end.is_some() {
            c.body += client(line);
            c.last_line_empty = line == b"\n" || line == b"\r\n";
        } else if line == b"\n" || line == b"\r\n" {
            c.header_end = Some(start);
            c.body_start = pos;
            c.header += 2;
        } else if c.in_status && (line[0] == b' ' || line[0] == b'\t') {
            if let Some(x) = c.x_imap.as_mut().filter(|_| c.in_x_imap) {
                *x += client(line);
            }
        } else {
            let names: &[&[u8]] = &[b"Status:", b"X-Status:", b"X-Keywords:", b"X-UID:"];
            c.in_status = false;
            c.in_x_imap = false;
            if names.iter().any(|n| line.starts_with(n))
                || (c.first && line.starts_with(b"X-IMAPbase:"))
            {
                c.in_status = true;
            } else if c.first && line.starts_with(b"X-IMAP:") {
                c.in_status = true;
                c.in_x_imap = true;
                *c.x_imap.get_or_insert(0) += client(line);
            } else {
                c.header += client(line);
                c.subject |= c.first && dmail_store::mbox::pseudo::is_subject_line(line);
            }
        }
    }
    if let Some(c) = cur {
        close(c, pos, &mut out);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn chunking_does_not_matter(bytes in mailbox(), sizes in chunking(), base in select(&[0u64, 5000][..])) {
        let whole = scan_bytes(&bytes, base, |_| 60);
        let chunked = scan_chunked(&bytes, base, &sizes);
        prop_assert_eq!(&chunked, &whole);
        check_layout(&whole, base, bytes.len());
        if base == 0 {
            let model: Vec<_> = whole
                .messages
                .iter()
                .map(|m| (m.start(), m.header.end, m.body.start, m.end(), m.size))
                .collect();
            prop_assert_eq!(model, reference(&bytes));
        }
        let _ = assign_uids(&whole, None, None, 1_700_000_000);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000), sizes in chunking()) {
        let whole = scan_bytes(&bytes, 0, |_| 0);
        check_layout(&whole, 0, bytes.len());
        prop_assert_eq!(scan_chunked(&bytes, 0, &sizes), whole.clone());
        let plan = assign_uids(&whole, None, None, 0);
        prop_assert_eq!(plan.uids.len(), whole.messages.len());
    }

    #[test]
    fn written_mailboxes_read_back(
        msgs in prop::collection::vec((0u8..32, 0u32..16, any::<bool>(), "[a-z ]{0,30}"), 0..12),
        crlf in any::<bool>(),
        last in 0u32..1000,
    ) {
        let ending = if crlf { LineEnding::Crlf } else { LineEnding::Lf };
        let eol = ending.as_bytes();
        let table = KeywordTable::new(["$Junk", "Work", "later", "x"].map(String::from));
        let data = FolderData {
            uid_validity: UidValidity::new(964139896).unwrap(),
            last_uid: Uid::new(last),
            keywords: table.clone(),
        };
        let mut file = Vec::new();
        let date = InternalDate { unix: 964139896, offset_minutes: 720 };
        let field = pseudo::write(&mut file, &data, date, "mail.example.com", ending);
        let mut expected = Vec::new();
        let mut next = last;
        for (i, (system, keywords, stamped, body)) in msgs.iter().enumerate() {
            let flags = Flags {
                system: SystemFlags::from_bits(*system),
                keywords: KeywordSet::from_bits(*keywords),
            };
            file.extend_from_slice(b"From someone@example.com Sat Dec 26 09:37:48 1998");
            file.extend_from_slice(eol);
            file.extend_from_slice(format!("Subject: {i}").as_bytes());
            file.extend_from_slice(eol);
            // Stamped or not, the reader numbers every message next in line.
            next += 1;
            let uid = stamped.then(|| Uid::new(next).unwrap());
            write_block(&mut file, flags, &table, uid, ending);
            file.extend_from_slice(eol);
            file.extend_from_slice(body.as_bytes());
            file.extend_from_slice(eol);
            file.extend_from_slice(eol);
            let size = format!("Subject: {i}").len() + 2 + 2 + body.len() + 2;
            expected.push((flags, uid, Uid::new(next).unwrap(), size as u64));
        }
        let scan = scan_bytes(&file, 0, |_| 720);
        prop_assert_eq!(scan.line_ending, ending);
        prop_assert_eq!(scan.folder.as_ref(), Some(&data));
        prop_assert_eq!(scan.last_uid_field.clone(), Some(field.start as u64..field.end as u64));
        prop_assert!(scan.messages[0].pseudo);
        prop_assert_eq!(scan.visible().count(), msgs.len());
        let plan = assign_uids(&scan, None, None, 1_700_000_000);
        prop_assert_eq!(plan.uid_validity, data.uid_validity);
        prop_assert_eq!(plan.last_uid, Uid::new(next));
        for ((m, a), (flags, uid, assigned, size)) in scan.visible().zip(plan.uids.iter().flatten()).zip(&expected) {
            prop_assert_eq!(m.flags(&table), *flags);
            prop_assert!(m.status.old);
            prop_assert!(m.status_block.is_some());
            prop_assert_eq!(m.status.uid, *uid);
            prop_assert_eq!(m.size, *size);
            prop_assert_eq!(a.uid, *assigned);
            prop_assert_eq!(a.stamp, uid.is_none());
        }
    }
}
