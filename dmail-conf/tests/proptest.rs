//! Property tests for dmail-conf: (a) `parse_bytes` never panics on arbitrary bytes or on text
//! mixing real setting names, include directives, CR/LF, BOMs and junk, for every `Program`;
//! (b) generated valid configurations covering every entry of `SETTINGS` (plus unknown settings)
//! survive `render` → parse unchanged, and each setting holds what its last (or every) line said;
//! (c) `resolve_login` never panics on arbitrary logins and local addresses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use camino::{Utf8Path, Utf8PathBuf};
use dmail_conf::check::{Build, imapd_checks};
use dmail_conf::config::Arity;
use dmail_conf::{
    Config, LoginDomain, Platform, Program, SETTINGS, Severity, parse_bytes, parse_str,
};
use proptest::prelude::*;
use proptest::sample::select;

fn program() -> impl Strategy<Value = Program> {
    prop_oneof![
        Just(Program::Imapd),
        Just(Program::Dpop),
        Just(Program::Dsmtp)
    ]
}

fn platform() -> impl Strategy<Value = Platform> {
    prop_oneof![Just(Platform::Unix), Just(Platform::Nt)]
}

/// A directory with a few real files to include: a two-file cycle, a self-include and a plain
/// file, so that generated `#include` lines exercise the reading paths.
fn include_dir() -> &'static Utf8Path {
    static DIR: OnceLock<(tempfile::TempDir, Utf8PathBuf)> = OnceLock::new();
    let (_, path) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        std::fs::write(
            root.join("a.conf"),
            "imapd_include_level 5\n#include b.conf\nhash_spool 2\n",
        )
        .unwrap();
        std::fs::write(
            root.join("b.conf"),
            "#include a.conf\nhost_domain b.example\n",
        )
        .unwrap();
        std::fs::write(root.join("self.conf"), "#imapd_include self.conf\n").unwrap();
        std::fs::write(root.join("plain.conf"), "vdomain cc @a.com a.com /vd/cc\n").unwrap();
        std::fs::create_dir_all(root.join("dir.d")).unwrap();
        (dir, root)
    });
    path
}

/// Lines built from real setting names, directives and junk, joined by LF or CRLF, sometimes
/// starting with a BOM.
fn config_like_text() -> impl Strategy<Value = Vec<u8>> {
    let mut names: Vec<&'static str> = SETTINGS.iter().map(|s| s.name).collect();
    names.extend([
        "HASH_SPOOL",
        "drop_users",
        "alt_drop_path",
        "smtp_relay",
        "#",
        "#include",
        "#imapd_include",
        "#INCLUDE",
    ]);
    let word = prop_oneof![
        select(names).prop_map(|s| s.as_bytes().to_vec()),
        select(vec![
            "a.conf",
            "b.conf",
            "self.conf",
            "plain.conf",
            "dir.d",
            "missing.conf",
            "../x",
            "/nonexistent/dmail.conf",
            "@a.com",
            "a.com",
            "192.0.2.1",
            "::ffff:1.2.3.4",
            "2001:db8::1",
            "%3A",
            "*",
            ",",
            "true",
            "0",
            "2",
            "99999999999999999999999",
            "..",
            "/",
            "c:\\x",
            "\u{feff}",
            "\t",
            "  ",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        proptest::collection::vec(any::<u8>(), 0..6),
    ];
    let line = proptest::collection::vec(word, 0..6).prop_map(|words| words.join(&b' '));
    let ending = select(vec![&b"\n"[..], b"\r\n", b"\r", b""]);
    (
        any::<bool>(),
        proptest::collection::vec((line, ending), 0..40),
    )
        .prop_map(|(bom, lines)| {
            let mut text = if bom {
                b"\xEF\xBB\xBF".to_vec()
            } else {
                Vec::new()
            };
            for (line, end) in lines {
                text.extend_from_slice(&line);
                text.extend_from_slice(end);
            }
            text
        })
}

fn exercise(text: &[u8], path: &Utf8Path, program: Program, platform: Platform) {
    let l = parse_bytes(text, path, program, platform);
    // Every finding is about a real line of some file.
    assert!(l.diagnostics.iter().all(|d| d.line >= 1));
    let _ = imapd_checks(&l, platform, Build { maildir: true });
    let again = parse_str(&l.config.render(), path, program, platform);
    let _ = again.config.render();
    let _ = l.config.log_dir();
    let _ = l.config.resolve_login(b"bob@a.com", None);
}

proptest! {
    // (a) arbitrary bytes never panic.
    #[test]
    fn parse_never_panics_on_arbitrary_bytes(
        text in proptest::collection::vec(any::<u8>(), 0..4096),
        program in program(),
        platform in platform(),
    ) {
        exercise(&text, "/nonexistent-dir/dmail.conf".into(), program, platform);
    }

    // (a) config-like text, with includes that resolve to real files.
    #[test]
    fn parse_never_panics_on_config_like_text(
        text in config_like_text(),
        program in program(),
        platform in platform(),
    ) {
        exercise(&text, &include_dir().join("dmail.conf"), program, platform);
    }
}

// ---- (b) render → parse round trip of generated valid configurations ----

fn word(max: usize) -> BoxedStrategy<String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9_.+-]{{1,{max}}}"))
        .unwrap()
        .boxed()
}

fn domain() -> BoxedStrategy<String> {
    "[A-Za-z0-9-]{1,8}(\\.[A-Za-z0-9-]{1,8}){0,2}".boxed()
}

fn ip_text() -> BoxedStrategy<String> {
    prop_oneof![
        any::<Ipv4Addr>().prop_map(|a| a.to_string()),
        any::<Ipv6Addr>().prop_map(|a| a.to_string()),
        any::<Ipv4Addr>().prop_map(|a| a.to_ipv6_mapped().to_string()),
        any::<[u16; 8]>().prop_map(|s| s
            .iter()
            .map(|x| format!("{x:04X}"))
            .collect::<Vec<_>>()
            .join(":")),
    ]
    .boxed()
}

/// A path: Unix or NT style, possibly with inner blanks (never at the ends).
fn path() -> BoxedStrategy<String> {
    prop_oneof![
        "(/[a-z0-9._-]{1,8}){1,3}",
        "(/[a-z0-9]{1,6}){1,2} [a-z0-9 ]{0,5}[a-z0-9]",
        "[a-zA-Z]:(\\\\[A-Za-z0-9 ]{0,6}[A-Za-z0-9]){1,2}",
        "[a-z]{1,8}(/[a-z]{1,8}){0,2}",
    ]
    .boxed()
}

/// Free text: printable, may hold `#`, blanks inside, none at the ends; sometimes non-ASCII.
fn text() -> BoxedStrategy<String> {
    prop_oneof!["[!-~]([ -~]{0,20}[!-~])?", "[a-zé€]([a-zé€ ]{0,5}[a-zé€])?"].boxed()
}

fn blanks() -> BoxedStrategy<String> {
    select(vec![" ", "  ", "\t", " \t "])
        .prop_map(str::to_owned)
        .boxed()
}

fn keyword(words: &'static [&'static str]) -> BoxedStrategy<String> {
    (select(words), any::<bool>())
        .prop_map(|(w, upper)| {
            if upper {
                w.to_ascii_uppercase()
            } else {
                w.to_owned()
            }
        })
        .boxed()
}

fn number(max: u64) -> BoxedStrategy<String> {
    prop_oneof![
        (0..=max).prop_map(|n| n.to_string()),
        Just(max.to_string()),
        Just("0".to_owned())
    ]
    .boxed()
}

fn wildcard_list() -> BoxedStrategy<String> {
    let pattern = prop_oneof!["[a-z0-9_.*]{1,8}", "[0-9a-f]{1,4}(%3A|%3a|:)[0-9a-f*]{0,4}"];
    (proptest::collection::vec((pattern, select(vec![",", ", ", " ", "\t", " , "])), 1..4))
        .prop_map(|v| {
            let mut out = String::new();
            for (i, (p, sep)) in v.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                out.push_str(p);
            }
            out
        })
        .boxed()
}

/// A strategy for valid values of a known setting (on both platforms), or `None` for a name this
/// test does not know — which `every_setting_has_a_value_strategy` turns into a failure.
fn value_for(name: &str) -> Option<BoxedStrategy<String>> {
    const BOOLS: &[&str] = &["true", "false", "yes", "no", "on", "off"];
    Some(match name {
        "authent_domain"
        | "drop_prefix"
        | "forward_user"
        | "imapd_become_user"
        | "imapd_enable_new_hashing"
        | "imapd_login_disabled"
        | "lowercase_password"
        | "lowercase_username"
        | "maildir_suffix"
        | "use_maildir" => keyword(BOOLS),
        "authent_method" => keyword(&["unix_user", "nt_user", "external"]),
        "log_level" => keyword(&["error", "info", "debug"]),
        "hash_spool" => select(vec!["0", "1", "2"]).prop_map(str::to_owned).boxed(),
        "user_quota" => prop_oneof![keyword(BOOLS), number(u64::MAX)].boxed(),
        "authent_number"
        | "imapd_include_level"
        | "imapd_max_bad_commands"
        | "imapd_max_connections"
        | "imapd_max_connections_per_ip"
        | "imapd_max_connections_per_user"
        | "imapd_max_login_failures" => number(u64::from(u32::MAX)),
        "authent_timeout" | "forward_window" | "imapd_idle_check" | "imapd_lock_stale"
        | "imapd_login_delay" | "imapd_timeout" | "imapd_max_line" | "imapd_max_message"
        | "max_log_size" => number(u64::MAX),
        "bulletin_from" | "invalid_chars" | "vdomain_separator" | "lock_id"
        | "imapd_strip_domain" => text(),
        "bulletin_path" | "dmail_path" | "drop_path" | "imapd_tls_cert" | "imapd_tls_key"
        | "log_path" | "maildir_home" => path(),
        "authent_process" | "imapd_authent_process" => {
            (path(), proptest::collection::vec((blanks(), word(6)), 0..3))
                .prop_map(|(p, args)| {
                    args.into_iter()
                        .fold(p.replace(' ', "_"), |acc, (b, a)| format!("{acc}{b}{a}"))
                })
                .boxed()
        }
        "dpop_host" => ip_text(),
        "host_domain" => domain(),
        "imapd_mailbox_name" => prop_oneof![
            Just(".".to_owned()),
            "[a-z.]{0,3}[a-z]{1,5}(/[a-z]{1,6}){0,2}"
        ]
        .boxed(),
        "valid_users" | "user_ip_address" => wildcard_list(),
        "vdomain" => (
            "[A-Za-z0-9_]{1,6}",
            prop_oneof![domain().prop_map(|d| format!("@{d}")), ip_text()],
            domain(),
            path(),
            blanks(),
        )
            .prop_map(|(prefix, key, domain, dir, b)| {
                format!("{prefix}{b}{key}{b}{domain}{b}{dir}")
            })
            .boxed(),
        "vdomain_passwd" => (any::<bool>(), domain(), path(), blanks())
            .prop_map(|(at, d, p, b)| format!("{}{d}{b}{p}", if at { "@" } else { "" }))
            .boxed(),
        "maildir_althome" => prop_oneof![
            "(/[a-z0-9]{1,6}){1,2}( [a-z0-9]{1,4})?",
            (domain(), path(), blanks()).prop_map(|(d, p, b)| format!("{d}{b}{p}")),
        ]
        .boxed(),
        _ => return None,
    })
}

#[test]
fn every_setting_has_a_value_strategy() {
    for s in SETTINGS {
        assert!(
            value_for(s.name).is_some(),
            "no value strategy for {}",
            s.name
        );
    }
}

/// A setting name as it might be written: any case.
fn spelled(name: &'static str) -> BoxedStrategy<String> {
    select(vec![0u8, 0, 1, 2])
        .prop_map(move |c| match c {
            1 => name.to_ascii_uppercase(),
            2 => name
                .chars()
                .enumerate()
                .map(|(i, ch)| {
                    if i % 2 == 0 {
                        ch.to_ascii_uppercase()
                    } else {
                        ch
                    }
                })
                .collect(),
            _ => name.to_owned(),
        })
        .boxed()
}

/// One generated line: the setting's canonical name, the text of the line.
type GenLine = (&'static str, String, String);

/// 0–2 lines for every known setting plus 0–4 unknown settings, shuffled.
fn generated_config() -> impl Strategy<Value = Vec<GenLine>> {
    let mut per_setting: Vec<BoxedStrategy<Vec<GenLine>>> = SETTINGS
        .iter()
        .map(|s| {
            let value = value_for(s.name).unwrap_or_else(|| Just(String::new()).boxed());
            proptest::collection::vec((spelled(s.name), blanks(), value), 0..=2)
                .prop_map(move |v| {
                    v.into_iter()
                        .map(|(n, b, val)| (s.name, val.clone(), format!("{n}{b}{val}")))
                        .collect()
                })
                .boxed()
        })
        .collect();
    let unknown = (
        select(vec![
            "drop_users",
            "alt_drop_path",
            "smtp_relay_hosts",
            "relay_allow",
            "dlist_path",
            "Smtp_Max_Size",
        ]),
        prop_oneof![Just(String::new()), text()],
    )
        .prop_map(|(n, v)| ("", v.clone(), format!("{n} {v}")));
    per_setting.push(proptest::collection::vec(unknown, 0..=4).boxed());
    per_setting
        .prop_map(|groups| groups.into_iter().flatten().collect::<Vec<_>>())
        .prop_shuffle()
}

fn join(lines: &[GenLine], crlf: bool) -> String {
    let end = if crlf { "\r\n" } else { "\n" };
    lines.iter().map(|(_, _, l)| format!("{l}{end}")).collect()
}

fn errors_and_warnings(l: &dmail_conf::Loaded) -> Vec<String> {
    l.diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Note)
        .map(ToString::to_string)
        .collect()
}

proptest! {
    // (b) render → parse is the identity on generated configurations.
    #[test]
    fn render_then_parse_round_trips(
        lines in generated_config(),
        crlf in any::<bool>(),
        program in prop_oneof![Just(Program::Imapd), Just(Program::Dpop)],
        platform in platform(),
    ) {
        let path: &Utf8Path = "/nonexistent-dir/dmail.conf".into();
        let text = join(&lines, crlf);
        let l1 = parse_str(&text, path, program, platform);
        prop_assert!(!l1.has_errors(), "{:?}\n{}", errors_and_warnings(&l1), text);
        let c1 = &l1.config;

        // Each setting holds what its lines said: the last line for a single-valued setting,
        // every line in order for a multi-entry one (checked against the line parsed alone).
        for info in SETTINGS {
            let values: Vec<&String> = lines.iter().filter(|(n, _, _)| *n == info.name).map(|(_, v, _)| v).collect();
            let alone = |v: &str| {
                parse_str(&format!("{} {v}\n", info.name), path, program, platform).config.rendered(info.name).unwrap()
            };
            let expected: Vec<String> = match (info.arity, values.last()) {
                (Arity::Multi, _) => values.iter().flat_map(|v| alone(v)).collect(),
                (_, Some(last)) => alone(last),
                (_, None) => Config::defaults(platform).rendered(info.name).unwrap(),
            };
            prop_assert_eq!(c1.rendered(info.name).unwrap(), expected, "{}", info.name);
        }
        let unknown: Vec<&str> = lines.iter().filter(|(n, _, _)| n.is_empty()).map(|(_, v, _)| v.as_str()).collect();
        let kept: Vec<&str> = c1.other.iter().map(|o| o.value.as_str()).collect();
        prop_assert_eq!(kept, unknown);

        let r1 = c1.render();
        let l2 = parse_str(&r1, path, program, platform);
        prop_assert_eq!(errors_and_warnings(&l2), Vec::<String>::new(), "{}", r1);
        prop_assert_eq!(c1, &l2.config, "{}", r1);
        prop_assert_eq!(l2.config.render(), r1);
    }
}

// ---- (c) resolve_login never panics ----

fn login_config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        parse_str(
            "host_domain example.com\n\
             imapd_strip_domain @strip.example\n\
             lowercase_username true\n\
             vdomain cc @computers.com computers.com /vd/cc\n\
             vdomain ip 192.0.2.10 ip.example /vd/ip\n\
             vdomain v6 2001:db8::10 v6.example /vd/v6\n\
             vdomain_separator é\n",
            "/etc/dmail.conf".into(),
            Program::Imapd,
            Platform::Unix,
        )
        .config
    })
}

fn local_ip() -> impl Strategy<Value = Option<IpAddr>> {
    prop_oneof![
        Just(None),
        any::<IpAddr>().prop_map(Some),
        any::<Ipv4Addr>().prop_map(|a| Some(IpAddr::V6(a.to_ipv6_mapped()))),
        Just(Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)))),
    ]
}

fn login_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(
            select(vec![
                "bob",
                "@",
                "example.com",
                "COMPUTERS.com",
                "@strip.example",
                "é",
                "\u{1F600}",
                "\u{130}",
                ""
            ]),
            0..5
        )
        .prop_map(|v| v.concat().into_bytes()),
    ]
}

proptest! {
    // (c) whatever is typed and wherever it arrives, resolution answers without panicking, and
    // a success is consistent with the rules of §3.
    #[test]
    fn resolve_login_never_panics(login in login_bytes(), ip in local_ip()) {
        let c = login_config();
        if let Ok(r) = c.resolve_login(&login, ip) {
            prop_assert!(!r.local.is_empty());
            prop_assert_eq!(r.local.to_ascii_lowercase(), r.local.clone());
            match &r.domain {
                LoginDomain::Main => prop_assert_eq!(&r.system_name, &r.local),
                LoginDomain::Virtual { index, vdomain } => {
                    prop_assert_eq!(&c.vdomain[*index], vdomain);
                    prop_assert_eq!(r.system_name.clone(), format!("{}é{}", vdomain.prefix, r.local));
                }
            }
        }
        // The same against an empty configuration.
        let _ = Config::defaults(Platform::Nt).resolve_login(&login, ip);
    }
}
