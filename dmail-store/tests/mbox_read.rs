//! Reading real mailbox files (tests/fixtures/mbox/): every layout mailbox-formats.md §1 says we
//! must read — c-client 4.4 and 4.7 pseudo-messages, NT CRLF files, X-IMAPbase, DSMTP
//! deliveries, forged X-IMAP headers, junk and NUL bytes, an empty file — scanned and numbered,
//! with exact message counts, UIDs, flags, sizes and UIDVALIDITY. Also the in-place status
//! write: a same-length block over a scanned one reads back as the new flags.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dmail_store::mbox::LineEnding;
use dmail_store::mbox::pseudo::last_uid_digits;
use dmail_store::mbox::scan::{Scan, scan_bytes};
use dmail_store::mbox::status::{HeaderKind, fit_block};
use dmail_store::mbox::uids::{
    Assigned, Remembered, Renewal, UidPlan, ValiditySource, assign_uids,
};
use dmail_store::{Flags, KeywordSet, SystemFlags, Uid, UidValidity};

const NOW: i64 = 1_700_000_000;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/mbox/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Scans a fixture, checks that feeding it in small chunks gives the same result, and assigns
/// UIDs with nothing remembered.
fn read(name: &str) -> (Vec<u8>, Scan, UidPlan) {
    let bytes = fixture(name);
    // Dates without a zone are read at +12:00 (NZST), as on the original server.
    let scan = scan_bytes(&bytes, 0, |_| 720);
    for size in [1, 2, 7, 64] {
        let mut s = dmail_store::mbox::scan::Scanner::new(0, |_| 720);
        for chunk in bytes.chunks(size) {
            s.feed(chunk);
        }
        assert_eq!(s.finish(), scan, "{name} fed in chunks of {size}");
    }
    let plan = assign_uids(&scan, None, None, NOW);
    (bytes, scan, plan)
}

fn uids(plan: &UidPlan) -> Vec<(u32, bool)> {
    plan.uids
        .iter()
        .flatten()
        .map(|a| (a.uid.get(), a.stamp))
        .collect()
}

fn find(bytes: &[u8], needle: &str) -> u64 {
    bytes
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .unwrap() as u64
}

#[test]
fn c_client_44_pseudo_message_and_worked_example() {
    let (bytes, scan, plan) = read("c-client-44.mbox");
    assert_eq!(scan.messages.len(), 2);
    assert!(scan.messages[0].pseudo);
    assert_eq!(scan.visible().count(), 1);
    assert_eq!(scan.leading_junk, None);
    assert_eq!(scan.line_ending, LineEnding::Lf);
    let folder = scan.folder.as_ref().unwrap();
    assert_eq!(folder.uid_validity.get(), 964139896);
    assert_eq!(folder.last_uid, Uid::new(1));
    assert!(folder.keywords.names().is_empty());
    let field = scan.last_uid_field.clone().unwrap();
    assert_eq!(
        &bytes[field.start as usize..field.end as usize],
        b"0000000001"
    );
    assert_eq!(field.start, find(&bytes, "X-IMAP: ") + 19);

    let m = &scan.messages[1];
    assert_eq!(m.start(), find(&bytes, "From test2"));
    assert_eq!(m.end(), bytes.len() as u64);
    assert_eq!(m.sender, b"test2@example.com");
    // Wed Aug 16 14:11:15 2000 at +12:00.
    assert_eq!(m.internal_date.unwrap().unix, 966_391_875);
    assert_eq!(
        m.flags(scan.keywords()).system,
        SystemFlags::SEEN | SystemFlags::FLAGGED
    );
    assert!(m.status.old);
    assert_eq!(
        m.status_block,
        Some(find(&bytes, "Status: RO\nX-Status")..find(&bytes, "\n\nline 1") + 1)
    );
    // notes/uw-c-client.md §1.7, in CRLF form, status lines and the separator left out:
    //   Received 73+2, Subject 19+2, From 38+2, Message-ID 30+2, Date 37+2 = 207
    //   blank line 2; "line 1 of 4" 11+2; "line 2".."line 4" 3 × (6+2) = 37
    assert_eq!(m.size, 246);

    assert_eq!(plan.uid_validity.get(), 964139896);
    assert_eq!(plan.source, ValiditySource::File);
    assert_eq!(plan.uids[0], None);
    assert_eq!(uids(&plan), [(1, false)]);
    assert_eq!(plan.last_uid, Uid::new(1));
}

#[test]
fn c_client_47_padded_keywords_and_new_mail() {
    let (bytes, scan, plan) = read("c-client-47.mbox");
    assert_eq!(scan.messages.len(), 4);
    assert_eq!(scan.visible().count(), 3);
    let folder = scan.folder.as_ref().unwrap();
    assert_eq!(folder.uid_validity.get(), 983563200);
    assert_eq!(folder.keywords.names(), ["$Junk", "Work"]);
    assert!(scan.last_uid_field.is_some());
    let table = scan.keywords();
    let [_, one, two, three] = &scan.messages[..] else {
        panic!()
    };
    // "X-Keywords: work" matches "Work" case-insensitively; trailing padding is skipped.
    assert_eq!(
        one.flags(table),
        Flags {
            system: SystemFlags::SEEN,
            keywords: KeywordSet::EMPTY.with(1)
        }
    );
    // "Unknown" is not in the table and does not count.
    assert_eq!(two.status.keyword_names, ["$Junk", "Work", "Unknown"]);
    assert_eq!(
        two.flags(table),
        Flags {
            system: SystemFlags::ANSWERED,
            keywords: KeywordSet::EMPTY.with(0).with(1)
        }
    );
    assert!(one.status.old && two.status.old && !three.status.old);
    assert_eq!(three.flags(table), Flags::default());
    assert!(three.status_lines.is_empty() && three.status_block.is_none());
    // Fri Mar  2 11:00:00 2001 +1300.
    assert_eq!(two.internal_date.unwrap().unix, 983_484_000);
    assert_eq!(two.internal_date.unwrap().offset_minutes, 780);
    // Subject 14, blank 2, body 8 (the separator is not counted); the last has no separator.
    assert_eq!([one.size, two.size, three.size], [23, 24, 28]);
    // The padded block is 50 bytes up to the X-Keywords line end, plus X-UID.
    let block = one.status_block.clone().unwrap();
    assert_eq!(block.end - block.start, 51 + 9);
    assert_eq!(
        &bytes[block.start as usize..block.start as usize + 10],
        b"Status: RO"
    );

    assert_eq!(plan.source, ValiditySource::File);
    assert_eq!(uids(&plan), [(2, false), (4, false), (5, true)]);
    assert_eq!(plan.last_uid, Uid::new(5));
}

#[test]
fn nt_crlf_unpadded_x_imap() {
    let (_, scan, plan) = read("nt-crlf.mbox");
    assert_eq!(scan.line_ending, LineEnding::Crlf);
    assert_eq!(scan.messages.len(), 3);
    assert!(scan.messages[0].pseudo);
    let folder = scan.folder.as_ref().unwrap();
    assert_eq!(folder.uid_validity.get(), 983660400);
    assert_eq!(folder.last_uid, Uid::new(12));
    assert_eq!(folder.keywords.names(), ["Todo"]);
    // Unpadded numbers cannot be updated in place.
    assert_eq!(scan.last_uid_field, None);
    let table = scan.keywords();
    let one = &scan.messages[1];
    let two = &scan.messages[2];
    assert_eq!(
        one.flags(table),
        Flags {
            system: SystemFlags::SEEN | SystemFlags::DELETED,
            keywords: KeywordSet::EMPTY.with(0)
        }
    );
    assert_eq!(two.flags(table), Flags::default());
    assert!(two.status.old);
    // CRLF lines count as they are: Subject 17, blank 2, body 10 (+10), separator off.
    assert_eq!([one.size, two.size], [29, 39]);
    assert_eq!(uids(&plan), [(11, false), (12, false)]);
    assert_eq!(plan.source, ValiditySource::File);
}

#[test]
fn x_imapbase_on_a_real_first_message() {
    let (bytes, scan, plan) = read("imapbase.mbox");
    assert_eq!(scan.messages.len(), 2);
    assert_eq!(scan.visible().count(), 2, "the message stays visible");
    let folder = scan.folder.as_ref().unwrap();
    assert_eq!(folder.uid_validity.get(), 1105350000);
    assert_eq!(folder.last_uid, Uid::new(7));
    assert_eq!(folder.keywords.names(), ["$Forwarded", "Junk"]);
    assert_eq!(scan.last_uid_field, None);
    let table = scan.keywords();
    let one = &scan.messages[0];
    assert_eq!(one.status_lines[0].kind, HeaderKind::XImapBase);
    assert_eq!(
        one.status_block,
        Some(find(&bytes, "Status: RO")..find(&bytes, "\n\nhello") + 1)
    );
    assert_eq!(
        one.flags(table),
        Flags {
            system: SystemFlags::SEEN | SystemFlags::ANSWERED,
            keywords: KeywordSet::EMPTY.with(0)
        }
    );
    let two = &scan.messages[1];
    assert_eq!(
        two.flags(table),
        Flags {
            system: SystemFlags::SEEN,
            keywords: KeywordSet::EMPTY.with(1)
        }
    );
    assert!(one.status.old && !two.status.old);
    // Subject 29 + From 33 + blank 2 + "hello" 7; Subject 17 + Content-Length 19 + 2 + 8.
    assert_eq!([one.size, two.size], [71, 46]);
    assert_eq!(uids(&plan), [(6, false), (7, false)]);
    assert_eq!(plan.uid_validity.get(), 1105350000);
}

#[test]
fn dsmtp_deliveries() {
    let (bytes, scan, plan) = read("dsmtp.mbox");
    assert_eq!(scan.messages.len(), 3);
    assert_eq!(scan.folder, None);
    let [one, two, three] = &scan.messages[..] else {
        panic!()
    };
    assert_eq!(one.sender, b"pntest@161.29.2.46");
    // Sat Dec 26 09:37:48 1998 at +12:00.
    assert_eq!(one.internal_date.unwrap().unix, 914_665_068 - 12 * 3600);
    assert_eq!(two.sender, b"tam6@[161.29.2.46]");
    // >From and an invalid From line are body text; Content-Length: 3 is ignored:
    // Received 50 + Subject 16 + Content-Length 19 + blank 2 + 7 + 33 + 23.
    assert_eq!(one.size, 150);
    // No blank line after the header: the header runs to the next From line, body empty.
    assert_eq!(two.header.end, three.start());
    assert!(two.body.is_empty());
    assert_eq!(two.body.start, three.start());
    assert_eq!(two.size, 42);
    assert_eq!(three.size, 24);
    assert_eq!(three.end(), bytes.len() as u64);
    assert!(scan.messages.iter().all(|m| !m.status.old));
    // No folder data, nothing remembered: a new UIDVALIDITY; the X-UID is believed.
    assert_eq!(plan.source, ValiditySource::New);
    assert_eq!(plan.uid_validity.get(), NOW as u32);
    assert_eq!(uids(&plan), [(1, true), (77, false), (78, true)]);

    // The index remembers the mailbox (DPOP rewrote it without the pseudo-message): new mail
    // continues its UIDs, so X-UID 77 now comes after 501 and breaks the sequence
    // (mailbox-formats.md §1): UIDVALIDITY is renewed as max(now, last known + 1).
    let remembered = Remembered {
        uid_validity: UidValidity::new(964139896).unwrap(),
        last_uid: Uid::new(500),
    };
    let plan = assign_uids(&scan, Some(remembered), None, NOW);
    assert_eq!(
        plan.source,
        ValiditySource::Renewed(Renewal::Sequence {
            message: 1,
            x_uid: Uid::new(77).unwrap(),
            previous: Uid::new(501).unwrap()
        })
    );
    assert_eq!(plan.uid_validity.get(), NOW as u32);
    assert_eq!(uids(&plan), [(501, true), (502, true), (503, true)]);
    assert!(matches!(plan.uids[1], Some(Assigned { stamp: true, .. })));
    // Without the stray X-UID the remembered UIDVALIDITY holds.
    let plan = assign_uids(
        &scan_bytes(&bytes[..two.start() as usize], 0, |_| 720),
        Some(remembered),
        None,
        NOW,
    );
    assert_eq!(plan.source, ValiditySource::Remembered);
    assert_eq!(plan.uid_validity.get(), 964139896);
    assert_eq!(uids(&plan), [(501, true)]);
}

#[test]
fn forged_x_imap_stays_a_visible_message() {
    let (_, scan, plan) = read("forged-x-imap.mbox");
    assert_eq!(scan.messages.len(), 2);
    assert_eq!(scan.visible().count(), 2);
    assert_eq!(scan.folder, None);
    let m = &scan.messages[0];
    // The X-IMAP line is an ordinary header: not hidden, counted in the size.
    assert!(m.status_lines.iter().all(|l| l.kind == HeaderKind::Status));
    // From 66 + Subject 60 + X-IMAP 31 + blank 2 + body 26.
    assert_eq!(m.size, 185);
    assert_eq!(scan.messages[1].size, 19);
    // Its "last UID" of 4294967295 is not believed.
    assert_eq!(uids(&plan), [(1, true), (2, true)]);
    assert_eq!(plan.source, ValiditySource::New);

    let (_, scan, plan) = read("bounce-x-imap.mbox");
    assert_eq!(scan.visible().count(), 1);
    assert_eq!(scan.folder, None);
    assert_eq!(scan.messages[0].size, 46 + 31 + 2 + 44);
    assert_eq!(uids(&plan), [(1, true)]);
}

#[test]
fn junk_and_nul_bytes() {
    let (bytes, scan, plan) = read("junk.mbox");
    assert_eq!(scan.leading_junk, Some(0..34));
    assert_eq!(scan.messages.len(), 1);
    let m = &scan.messages[0];
    assert_eq!(m.start(), 34);
    assert_eq!(m.end(), bytes.len() as u64);
    // Subject 20 + blank 2 + NULs 5 + lone CR line 9 + binary 4; separator off.
    assert_eq!(m.size, 40);
    assert_eq!(uids(&plan), [(1, true)]);
}

#[test]
fn empty_file() {
    let (_, scan, plan) = read("empty.mbox");
    assert_eq!(scan, Scan::default());
    assert!(plan.uids.is_empty());
    assert_eq!(plan.last_uid, None);
    assert_eq!(plan.source, ValiditySource::New);
}

/// mailbox-formats.md §2: a flag change is an in-place write of the same length; the file,
/// scanned again, says the new flags.
#[test]
fn in_place_status_write_reads_back() {
    let (mut bytes, scan, _) = read("c-client-47.mbox");
    let table = scan.keywords().clone();
    let one = &scan.messages[1];
    let block = one.status_block.clone().unwrap();
    let (start, end) = (block.start as usize, block.end as usize);
    let flags = Flags {
        system: SystemFlags::SEEN | SystemFlags::DELETED | SystemFlags::DRAFT,
        keywords: KeywordSet::EMPTY.with(0).with(1),
    };
    let new = fit_block(end - start, flags, &table, Uid::new(2), LineEnding::Lf).unwrap();
    let before = bytes.len();
    bytes.splice(start..end, new);
    assert_eq!(bytes.len(), before);
    let again = scan_bytes(&bytes, 0, |_| 720);
    assert_eq!(again.messages[1].flags(&table), flags);
    assert_eq!(again.messages[1].status_block, Some(block));
    assert_eq!(again.messages[1].size, one.size);

    // The last-UID field can be overwritten the same way.
    let field = scan.last_uid_field.clone().unwrap();
    bytes.splice(
        field.start as usize..field.end as usize,
        last_uid_digits(Uid::new(5)),
    );
    let again = scan_bytes(&bytes, 0, |_| 720);
    assert_eq!(again.folder.unwrap().last_uid, Uid::new(5));
}

/// A tail scan (new mail after the known messages) continues the UIDs.
#[test]
fn tail_scan_continues() {
    let bytes = fixture("c-client-47.mbox");
    let scan = scan_bytes(&bytes, 0, |_| 720);
    let tail_start = scan.messages[3].start();
    let tail = scan_bytes(&bytes[tail_start as usize..], tail_start, |_| 720);
    assert_eq!(tail.messages, scan.messages[3..]);
    assert_eq!(tail.folder, None);
    let remembered = Remembered {
        uid_validity: UidValidity::new(983563200).unwrap(),
        last_uid: Uid::new(4),
    };
    let plan = assign_uids(&tail, Some(remembered), Uid::new(4), NOW);
    assert_eq!(uids(&plan), [(5, true)]);
    assert_eq!(plan.source, ValiditySource::Remembered);
}

/// Rough scan throughput; run with
/// `cargo test --release -p dmail-store --test mbox_read -- --ignored --nocapture`.
#[test]
#[ignore]
fn scan_throughput() {
    let mut file = Vec::with_capacity(110 << 20);
    let mut n = 0u32;
    while file.len() < 100 << 20 {
        n += 1;
        file.extend_from_slice(b"From someone@example.com Sat Dec 26 09:37:48 1998\n");
        file.extend_from_slice(
            b"Received: from mail.example.com by mx.example.net; Sat, 26 Dec 1998 09:37:48 +1200\n\
Subject: a message of moderate length\nFrom: Someone <someone@example.com>\n\
To: you@example.net\nMessage-ID: <1234@example.com>\nDate: Sat, 26 Dec 1998 09:37:48 +1200\n",
        );
        file.extend_from_slice(
            format!("Status: RO\nX-Status: \nX-Keywords:                 \nX-UID: {n}\n\n")
                .as_bytes(),
        );
        for i in 0..(n % 200 + 20) {
            file.extend_from_slice(
                format!("Body line {i} with some ordinary text in it, as mail usually has.\n")
                    .as_bytes(),
            );
        }
        file.push(b'\n');
    }
    let t = std::time::Instant::now();
    let scan = scan_bytes(&file, 0, |_| 0);
    let one = t.elapsed();
    let t = std::time::Instant::now();
    let mut s = dmail_store::mbox::scan::Scanner::new(0, |_| 0);
    for chunk in file.chunks(64 << 10) {
        s.feed(chunk);
    }
    let chunked = s.finish();
    let two = t.elapsed();
    assert_eq!(scan.messages.len(), n as usize);
    assert_eq!(chunked, scan);
    let mb = file.len() as f64 / 1e6;
    println!(
        "{mb:.0} MB, {n} messages: one feed {:.0} MB/s, 64 KiB chunks {:.0} MB/s",
        mb / one.as_secs_f64(),
        mb / two.as_secs_f64()
    );
    let crlf: Vec<u8> = file
        .iter()
        .flat_map(|b| {
            if *b == b'\n' {
                &b"\r\n"[..]
            } else {
                std::slice::from_ref(b)
            }
        })
        .copied()
        .collect();
    let t = std::time::Instant::now();
    let scan = scan_bytes(&crlf, 0, |_| 0);
    let three = t.elapsed();
    assert_eq!(scan.messages.len(), n as usize);
    let mb = crlf.len() as f64 / 1e6;
    println!(
        "{mb:.0} MB CRLF: one feed {:.0} MB/s",
        mb / three.as_secs_f64()
    );
}
