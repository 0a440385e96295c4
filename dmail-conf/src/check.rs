//! Whole-configuration checks IMAPD makes after reading (what `imapd check-config` reports
//! beyond single lines): required settings, impossible combinations, colliding directories.
//!
//! Checks only read a [`Loaded`]; they must never change the configuration.

use std::sync::Arc;

use camino::{Utf8Component, Utf8Path, Utf8PathBuf};

use crate::diag::{Diagnostic, Severity};
use crate::load::Loaded;
use crate::values::AuthentMethod;
use crate::{Config, Platform};

/// What the running build can do, as far as configuration checks care.
///
/// ```
/// use dmail_conf::check::Build;
/// let b = Build { maildir: false };
/// assert!(!b.maildir);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Build {
    /// Whether a maildir engine is built in.
    pub maildir: bool,
}

/// The findings about the configuration as a whole, for IMAPD on `host` (the platform the server
/// runs on, which may differ from the config's rules only in tests).
///
/// ```
/// use dmail_conf::{parse_str, check::{imapd_checks, Build}, Program, Platform};
/// let l = parse_str("host_domain example.com\n", "/etc/dmail.conf".into(), Program::Imapd, Platform::Unix);
/// let d = imapd_checks(&l, Platform::Unix, Build { maildir: false });
/// assert_eq!(d[0].to_string(), "/etc/dmail.conf:0: error: drop_path: required, and not set");
/// ```
pub fn imapd_checks(loaded: &Loaded, host: Platform, build: Build) -> Vec<Diagnostic> {
    let c = &loaded.config;
    let mut out = Vec::new();
    let mut at = |name: &str, severity: Severity, reason: &str| {
        let (file, line) = match loaded.origin(name) {
            Some(o) => (o.file.clone(), o.line),
            None => (Arc::from(loaded.path.as_path()), 0),
        };
        out.push(Diagnostic {
            file,
            line,
            severity,
            setting: name.to_owned(),
            reason: reason.to_owned().into(),
        });
    };
    if c.authent_method == AuthentMethod::NtUser && host != Platform::Nt {
        at(
            "authent_method",
            Severity::Error,
            "nt_user works only on Windows",
        );
    }
    if c.authent_method == AuthentMethod::External && c.imapd_authenticator().is_none() {
        at(
            "authent_method",
            Severity::Error,
            "external needs authent_process (or imapd_authent_process), which is not set",
        );
    }
    if c.drop_path.is_none() {
        at("drop_path", Severity::Error, "required, and not set");
    }
    if c.use_maildir && c.maildir_home.is_none() {
        at(
            "use_maildir",
            Severity::Error,
            "needs maildir_home, which is not set",
        );
    }
    if c.use_maildir && !build.maildir {
        at(
            "use_maildir",
            Severity::Error,
            "maildir storage is not built into this imapd; logins will fail",
        );
    }
    if c.imapd_tls_cert.is_some() != c.imapd_tls_key.is_some() {
        let name = if c.imapd_tls_cert.is_some() {
            "imapd_tls_cert"
        } else {
            "imapd_tls_key"
        };
        at(
            name,
            Severity::Error,
            "imapd_tls_cert and imapd_tls_key must be set together",
        );
    }
    if c.host_domain.is_empty() {
        at(
            "host_domain",
            Severity::Warning,
            "not set: logins naming a domain can only reach virtual domains",
        );
    }
    for (index, reason) in colliding_dirs(c) {
        // The later line of a colliding pair is the one to look at.
        let origin = loaded.origins_of("vdomain").get(index).cloned();
        let (file, line) = match origin {
            Some(o) => (o.file, o.line),
            None => (Arc::from(loaded.path.as_path()), 0),
        };
        out.push(Diagnostic {
            file,
            line,
            severity: Severity::Warning,
            setting: "vdomain".into(),
            reason: reason.into(),
        });
    }
    out
}

/// A path as compared for collisions: `.` components and trailing separators dropped, and on NT
/// the case folded and `\` read as `/`.
fn normalised(path: &Utf8Path, platform: Platform) -> Utf8PathBuf {
    let text = match platform {
        Platform::Unix => path.as_str().to_owned(),
        Platform::Nt => path.as_str().replace('\\', "/").to_ascii_lowercase(),
    };
    Utf8Path::new(&text)
        .components()
        .filter(|c| *c != Utf8Component::CurDir)
        .collect()
}

/// Virtual domains whose DIR equals `drop_path` or an earlier vdomain's DIR: their users'
/// drop files could collide (dmail-conventions §3). Gives the later vdomain's index.
fn colliding_dirs(c: &Config) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let drop = c.drop_path.as_deref().map(|p| normalised(p, c.platform));
    for (i, v) in c.vdomain.iter().enumerate() {
        let dir = normalised(&v.dir, c.platform);
        if drop.as_ref() == Some(&dir) {
            out.push((
                i,
                "its DIR is drop_path: its users' drop files may collide with main-domain users'"
                    .to_owned(),
            ));
            continue;
        }
        if let Some(j) = c.vdomain[..i]
            .iter()
            .position(|w| normalised(&w.dir, c.platform) == dir)
        {
            let other = &c.vdomain[j].domain;
            out.push((i, format!("its DIR is also the DIR of virtual domain {other}: their users' drop files may collide")));
        }
    }
    out
}
