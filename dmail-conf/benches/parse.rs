//! Criterion benchmarks for reading dmail.conf (dmail-conventions §1: IMAPD reads the file for
//! every connection, so a 2,000-line dmail.conf must parse in well under a millisecond).
//!
//! `parse_2000_lines` benches `parse_bytes` on a realistic, deterministically built 2,000-line
//! file (comments, blank lines, ~200 vdomains in both forms, host_domains, vdomain_passwd lines,
//! many DPOP/DSMTP-only settings and the IMAPD settings); `load_2000_lines_from_disk` benches
//! `load` on the same text written once to a temporary file.

use std::hint::black_box;

use camino::Utf8PathBuf;
use criterion::{Criterion, criterion_group, criterion_main};
use dmail_conf::{Platform, Program, load, parse_bytes};

/// The number of lines in the generated file.
const LINES: usize = 2000;

/// Settings DPOP, DSMTP and DList read that IMAPD does not know (kept as `other`).
const FOREIGN: &[&str] = &[
    "drop_users",
    "alt_drop_path",
    "smtp_max_size",
    "smtp_banner",
    "smtp_timeout",
    "smtp_relay_hosts",
    "relay_allow",
    "relay_deny",
    "relay_check_from",
    "dpop_timeout",
    "dpop_max_connections",
    "dlist_path",
    "spam_filter",
    "alias_file",
    "forward_file",
    "bad_senders",
    "max_recipients",
    "queue_path",
    "retry_interval",
    "bounce_after",
];

/// Builds a realistic dmail.conf of exactly [`LINES`] lines, the same every time.
fn dmail_conf_text() -> String {
    let mut lines: Vec<String> = Vec::with_capacity(LINES + 16);
    lines.extend(
        [
            "# dmail.conf for mail.example.com",
            "# Shared by DSMTP, DPOP, DList and IMAPD.",
            "",
            "imapd_include_level 0",
            "drop_path /var/spool/dmail",
            "dmail_path /usr/local/dmail",
            "log_path /var/log/dmail",
            "log_level info",
            "max_log_size 5000000",
            "hash_spool 2",
            "drop_prefix true",
            "vdomain_separator _",
            "invalid_chars /",
            "authent_method unix_user",
            "authent_process /usr/local/dmail/nwauth -v",
            "authent_timeout 15",
            "authent_domain false",
            "lowercase_username true",
            "lowercase_password false",
            "forward_user true",
            "forward_window 900",
            "user_quota 20000",
            "bulletin_path /usr/local/dmail/bulletins",
            "bulletin_from Example Mail Team",
            "lock_id mx1",
            "imapd_timeout 1800",
            "imapd_become_user true",
            "imapd_enable_new_hashing true",
            "imapd_strip_domain @imap.example.com",
            "imapd_mailbox_name mail",
            "imapd_max_line 65536",
            "imapd_max_message 52428800",
            "imapd_max_bad_commands 10",
            "imapd_login_delay 2",
            "imapd_max_login_failures 3",
            "imapd_idle_check 30",
            "imapd_lock_stale 300",
            "imapd_max_connections 1000",
            "imapd_max_connections_per_ip 20",
            "imapd_max_connections_per_user 10",
            "imapd_tls_cert /etc/ssl/mail.pem",
            "imapd_tls_key /etc/ssl/mail.key",
            "dpop_host 192.0.2.1",
            "user_ip_address 192.0.2.*, 198.51.100.*, 2001%3Adb8%3A*",
            "valid_users *",
            "",
        ]
        .map(str::to_owned),
    );
    lines.push("# Local domains".to_owned());
    for i in 0..20 {
        lines.push(format!("host_domain mail{i}.example.com"));
    }
    lines.push(String::new());
    lines.push("# Virtual domains".to_owned());
    for i in 0..200 {
        if i % 25 == 0 {
            lines.push(format!("# customers {i}-{}", i + 24));
        }
        if i % 4 == 3 {
            lines.push(format!(
                "vdomain v{i} 203.0.113.{} customer{i}.example /var/spool/vd/customer {i}",
                i % 250
            ));
        } else {
            lines.push(format!(
                "vdomain v{i}\t@customer{i}.example   customer{i}.example /var/spool/vd/v{i}"
            ));
        }
        if i % 5 == 0 {
            lines.push(format!(
                "vdomain_passwd customer{i}.example /etc/dmail/passwd/customer{i}"
            ));
        }
    }
    lines.push(String::new());
    lines.push("# DSMTP, DPOP and DList settings".to_owned());
    let mut i = 0usize;
    while lines.len() < LINES {
        let line = match i % 10 {
            0 => format!("# section {i}"),
            1 => String::new(),
            _ => {
                let name = FOREIGN[i % FOREIGN.len()];
                match i % 3 {
                    0 => format!("{name} user{i}@customer{}.example", i % 200),
                    1 => format!("{name} {}", 1000 + i),
                    _ => format!("{name}   /var/spool/dmail/extra/{i}  # not a comment"),
                }
            }
        };
        lines.push(line);
        i += 1;
    }
    lines.truncate(LINES);
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

fn benches(c: &mut Criterion) {
    let text = dmail_conf_text();
    let path = Utf8PathBuf::from("/etc/dmail.conf");
    // Sanity: the file is what the benchmark claims to read.
    let loaded = parse_bytes(text.as_bytes(), &path, Program::Imapd, Platform::Unix);
    assert_eq!(text.lines().count(), LINES);
    assert!(!loaded.has_errors(), "the generated file has errors");
    assert_eq!(loaded.config.vdomain.len(), 200);

    c.bench_function("parse_2000_lines", |b| {
        b.iter(|| {
            parse_bytes(
                black_box(text.as_bytes()),
                black_box(&path),
                Program::Imapd,
                Platform::Unix,
            )
        });
    });

    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("cannot make a temporary directory: {e}"),
    };
    let file = match Utf8PathBuf::from_path_buf(dir.path().join("dmail.conf")) {
        Ok(file) => file,
        Err(p) => panic!("temporary path is not UTF-8: {}", p.display()),
    };
    if let Err(e) = std::fs::write(&file, &text) {
        panic!("cannot write {file}: {e}");
    }
    c.bench_function("load_2000_lines_from_disk", |b| {
        b.iter(|| load(black_box(&file), Program::Imapd, Platform::Unix));
    });
}

criterion_group!(parse, benches);
criterion_main!(parse);
