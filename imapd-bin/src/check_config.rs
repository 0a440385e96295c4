//! `imapd check-config`: every setting IMAPD honours with its effective value, then every
//! diagnostic about the file (dmail-conventions §1–2), including whether the TLS certificate
//! and key load as the server would load them.
//!
//! This module builds the report as text; it must never write the configuration, never print
//! (main does), and never show the text of an unknown setting's value or of a bad line: values
//! are shown only as IMAPD parsed them.

use std::sync::Arc;

use camino::Utf8Path;
use dmail_conf::check::{Build, imapd_checks};
use dmail_conf::config::Arity;

use dmail_conf::{
    Config, Diagnostic, Loaded, Platform, Program, SETTINGS, Severity, load, unreadable_diagnostic,
};
use imapd_bin::tls::TlsFile;

/// What `check-config` found.
#[derive(Debug)]
pub(crate) struct Report {
    /// Everything to print on stdout.
    pub(crate) text: String,
    /// Whether any diagnostic is an error.
    pub(crate) has_errors: bool,
}

/// Reads the configuration at `path` as IMAPD would and reports on it.
pub(crate) fn run(path: &Utf8Path) -> Report {
    let platform = Platform::current();
    match load(path, Program::Imapd, platform) {
        Ok(loaded) => {
            let mut diagnostics = loaded.diagnostics.clone();
            diagnostics.extend(imapd_checks(
                &loaded,
                platform,
                Build {
                    maildir: dmail_store::MAILDIR_AVAILABLE,
                },
            ));
            diagnostics.extend(tls_check(&loaded));
            report(&loaded.config, |name| loaded.is_set(name), &diagnostics)
        }
        Err(err) => report(
            &Config::defaults(platform),
            |_| false,
            &[unreadable_diagnostic(&err)],
        ),
    }
}

/// Whether `imapd_tls_cert` and `imapd_tls_key` load: an error naming the file at fault on
/// the line of its setting, or a note that STARTTLS (and `imapd --tls`) will work. Nothing when
/// they are not both set (unset is fine; one alone is already reported).
fn tls_check(loaded: &Loaded) -> Option<Diagnostic> {
    let c = &loaded.config;
    let (Some(cert), Some(key)) = (&c.imapd_tls_cert, &c.imapd_tls_key) else {
        return None;
    };
    let at = |setting: &'static str, severity, reason: String| {
        let (file, line) = match loaded.origin(setting) {
            Some(o) => (o.file.clone(), o.line),
            None => (Arc::from(loaded.path.as_path()), 0),
        };
        Diagnostic {
            file,
            line,
            severity,
            setting: setting.to_owned(),
            reason: reason.into(),
        }
    };
    Some(match imapd_bin::tls::server_config(cert, key) {
        Ok(_) => at(
            TlsFile::Cert.setting(),
            Severity::Note,
            "certificate and key load: STARTTLS is offered, and imapd --tls can serve".to_owned(),
        ),
        Err(e) => at(
            e.file().setting(),
            Severity::Error,
            format!("{e}; TLS is not offered"),
        ),
    })
}

/// The settings, a blank line, then the diagnostics.
fn report(config: &Config, is_set: impl Fn(&str) -> bool, diagnostics: &[Diagnostic]) -> Report {
    let mut text = settings_text(config, is_set);
    text.push('\n');
    for d in diagnostics {
        text.push_str(&d.to_string());
        text.push('\n');
    }
    Report {
        text,
        has_errors: diagnostics.iter().any(|d| d.severity == Severity::Error),
    }
}

/// One line per setting value, alphabetically: `NAME = VALUE` when set in the files,
/// `NAME = VALUE (default)` for a defaulted setting left alone, `NAME = (unset)` for an optional
/// or multi-entry setting left alone. A multi-entry setting gives one line per value, in file
/// order.
fn settings_text(config: &Config, is_set: impl Fn(&str) -> bool) -> String {
    let mut out = String::new();
    for info in SETTINGS {
        let name = info.name;
        let values = config.rendered(name).unwrap_or_default();
        if is_set(name) {
            for value in values {
                out.push_str(&format!("{name} = {value}\n"));
            }
            continue;
        }
        if let Some(value) = effective_default(config, name) {
            out.push_str(&format!("{name} = {value} (default)\n"));
        } else if info.arity == Arity::Defaulted {
            for value in values {
                out.push_str(&format!("{name} = {value} (default)\n"));
            }
        } else {
            out.push_str(&format!("{name} = (unset)\n"));
        }
    }
    out
}

/// Optional settings whose absence still means a value: `log_path` is `config.log_dir()`.
fn effective_default(config: &Config, name: &str) -> Option<String> {
    match name {
        "log_path" => Some(config.log_dir().to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use dmail_conf::{Platform, Program, SETTINGS, parse_str};

    use super::settings_text;

    #[test]
    fn one_line_per_setting_when_nothing_is_set() {
        let loaded = parse_str("", "c".into(), Program::Imapd, Platform::Unix);
        let text = settings_text(&loaded.config, |n| loaded.is_set(n));
        assert_eq!(text.lines().count(), SETTINGS.len());
        assert!(text.contains("hash_spool = 0 (default)\n"));
        assert!(text.contains("drop_path = (unset)\n"));
        assert!(text.contains("vdomain = (unset)\n"));
        assert!(text.contains("log_path = /usr/local/dmail/log (default)\n"));
    }

    #[test]
    fn set_values_and_multi_entries() {
        let loaded = parse_str(
            "host_domain b.com\nhost_domain a.com\nhash_spool 0\ndmail_path /opt/dmail\n",
            "c".into(),
            Program::Imapd,
            Platform::Unix,
        );
        let text = settings_text(&loaded.config, |n| loaded.is_set(n));
        assert!(text.contains("host_domain = b.com\nhost_domain = a.com\n"));
        assert!(text.contains("hash_spool = 0\n"));
        assert!(text.contains("log_path = /opt/dmail/log (default)\n"));
    }
}
