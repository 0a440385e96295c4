//! Reads dmail.conf and its includes into a [`Config`], collecting diagnostics
//! (dmail-conventions §1).
//!
//! This module owns include handling (depth, cycles, relative paths) and where each setting was
//! set; it must never decide a value's meaning (see `values`) and never fail because of a bad
//! line: the server must start with defaults and say what was wrong.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};

use crate::config::{Arity, Config, OtherSetting, Stored};
use crate::defaults;
use crate::diag::{Diagnostic, FILE_SETTING, Severity};
use crate::lex::{IncludeKind, Line, classify, lines};
use crate::{Platform, Program};

/// Where a setting's value was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: Arc<Utf8Path>,
    /// The 1-based line.
    pub line: u32,
}

/// A configuration as read, with where each known setting was set and what was found wrong.
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform, Severity};
/// let l = parse_str("hash_spool 7\ndrop_path /var/mail\n", "/etc/dmail.conf".into(), Program::Imapd, Platform::Unix);
/// assert_eq!(l.config.hash_spool.levels(), 0);          // the bad value is ignored
/// assert!(l.has_errors());
/// assert_eq!(l.diagnostics[0].to_string(), "/etc/dmail.conf:1: error: hash_spool: expected 0, 1 or 2; the setting is ignored");
/// assert_eq!(l.origin("drop_path").unwrap().line, 2);
/// ```
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The typed settings.
    pub config: Config,
    /// Every problem and note, in the order found.
    pub diagnostics: Vec<Diagnostic>,
    /// The top-level file.
    pub path: Utf8PathBuf,
    origins: HashMap<&'static str, Vec<Location>>,
}

impl Loaded {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// Where a known setting was last given, if it was.
    pub fn origin(&self, name: &str) -> Option<&Location> {
        self.origins.get(name).and_then(|v| v.last())
    }

    /// Where each value of a known setting was given, in order.
    pub fn origins_of(&self, name: &str) -> &[Location] {
        self.origins.get(name).map_or(&[], Vec::as_slice)
    }

    /// Whether a known setting was given in the files (as opposed to left at its default).
    pub fn is_set(&self, name: &str) -> bool {
        self.origins.contains_key(name)
    }
}

/// The top-level file could not be read; nothing can be configured.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct ReadError {
    /// The file.
    pub path: Utf8PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Reads dmail.conf at `path` (and the includes `program` follows).
///
/// ```no_run
/// use dmail_conf::{load, defaults, Program, Platform};
/// let loaded = load(&defaults::config_path(Platform::current()), Program::Imapd, Platform::current())?;
/// for d in &loaded.diagnostics { eprintln!("{d}"); }
/// # Ok::<(), dmail_conf::ReadError>(())
/// ```
pub fn load(path: &Utf8Path, program: Program, platform: Platform) -> Result<Loaded, ReadError> {
    let text = std::fs::read(path).map_err(|source| ReadError {
        path: path.to_owned(),
        source,
    })?;
    let mut loader = Loader::new(path, program, platform);
    loader.stack.push(identity(path));
    loader.read_file(&Arc::from(path), &text, 0);
    Ok(loader.finish())
}

/// Reads dmail.conf text that came from `path` (used for relative includes and diagnostics).
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform};
/// let l = parse_str("drop_path /var/spool/mail", "dmail.conf".into(), Program::Imapd, Platform::Unix);
/// assert_eq!(l.config.drop_path.as_deref().map(|p| p.as_str()), Some("/var/spool/mail"));
/// ```
pub fn parse_str(text: &str, path: &Utf8Path, program: Program, platform: Platform) -> Loaded {
    parse_bytes(text.as_bytes(), path, program, platform)
}

/// As [`parse_str`], for text that may not be UTF-8 (comments in a legacy encoding are fine).
///
/// ```
/// use dmail_conf::{parse_bytes, Program, Platform};
/// let l = parse_bytes(b"# caf\xE9\nhash_spool 1\n", "c".into(), Program::Imapd, Platform::Unix);
/// assert_eq!(l.config.hash_spool.levels(), 1);
/// ```
pub fn parse_bytes(text: &[u8], path: &Utf8Path, program: Program, platform: Platform) -> Loaded {
    let mut loader = Loader::new(path, program, platform);
    loader.stack.push(identity(path));
    loader.read_file(&Arc::from(path), text, 0);
    loader.finish()
}

/// What identifies a file for cycle detection: its canonical path when it exists.
fn identity(path: &Utf8Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.as_std_path().to_owned())
}

struct Loader {
    program: Program,
    config: Config,
    origins: HashMap<&'static str, Vec<Location>>,
    diagnostics: Vec<Diagnostic>,
    stack: Vec<PathBuf>,
    top: Utf8PathBuf,
}

impl Loader {
    fn new(path: &Utf8Path, program: Program, platform: Platform) -> Self {
        Loader {
            program,
            config: Config::defaults(platform),
            origins: HashMap::new(),
            diagnostics: Vec::new(),
            stack: Vec::new(),
            top: path.to_owned(),
        }
    }

    fn finish(self) -> Loaded {
        Loaded {
            config: self.config,
            diagnostics: self.diagnostics,
            path: self.top,
            origins: self.origins,
        }
    }

    fn report(
        &mut self,
        file: &Arc<Utf8Path>,
        line: u32,
        severity: Severity,
        setting: &str,
        reason: impl Into<Cow<'static, str>>,
    ) {
        self.diagnostics.push(Diagnostic {
            file: Arc::clone(file),
            line,
            severity,
            setting: setting.to_owned(),
            reason: reason.into(),
        });
    }

    /// Reads one file's lines; `depth` is 0 for the top file.
    fn read_file(&mut self, file: &Arc<Utf8Path>, text: &[u8], depth: u32) {
        // Single-valued settings seen in this file, for the duplicate warning.
        let mut seen: HashMap<&'static str, u32> = HashMap::new();
        for (number, line) in lines(text) {
            match classify(line) {
                Line::Blank | Line::Comment => {}
                Line::Include(kind, path) => self.include(file, number, kind, path, depth),
                Line::Setting(name, value) => self.setting(file, number, name, value, &mut seen),
            }
        }
    }

    fn setting(
        &mut self,
        file: &Arc<Utf8Path>,
        number: u32,
        name: &[u8],
        raw: &[u8],
        seen: &mut HashMap<&'static str, u32>,
    ) {
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        let info = Config::setting_info(&name);
        let value = match (std::str::from_utf8(raw), info) {
            (Ok(value), Some(info)) => (value, info),
            (Err(_), Some(_)) => {
                let reason = "the value is not valid UTF-8; the setting is ignored";
                return self.report(file, number, Severity::Error, &name, reason);
            }
            (value, None) => {
                // Kept for DPOP and DSMTP callers; most lines of a large dmail.conf come here.
                let reason = match value {
                    Ok(_) => "not an IMAPD setting; kept for other DMail programs",
                    Err(_) => {
                        "not an IMAPD setting; kept for other DMail programs (its value is not UTF-8)"
                    }
                };
                self.report(file, number, Severity::Note, &name, reason);
                let value = String::from_utf8_lossy(raw);
                self.config.other.push(OtherSetting {
                    name,
                    value: value.into_owned(),
                });
                return;
            }
        };
        let (value, info) = value;
        if value.is_empty() {
            self.report(
                file,
                number,
                Severity::Error,
                info.name,
                "no value given; the setting is ignored",
            );
            return;
        }
        match self.config.store(info.name, value) {
            Ok(Stored::Known(arity)) => {
                let previous = if arity == Arity::Multi {
                    None
                } else {
                    seen.insert(info.name, number)
                };
                if let Some(previous) = previous {
                    self.report(
                        file,
                        number,
                        Severity::Warning,
                        info.name,
                        format!("also set on line {previous} of this file; this later value wins"),
                    );
                }
                self.origins.entry(info.name).or_default().push(Location {
                    file: file.to_owned(),
                    line: number,
                });
            }
            Ok(Stored::Other) => {}
            Err(e) => self.report(
                file,
                number,
                Severity::Error,
                info.name,
                format!("{e}; the setting is ignored"),
            ),
        }
    }

    fn include(
        &mut self,
        file: &Arc<Utf8Path>,
        number: u32,
        kind: IncludeKind,
        path: &[u8],
        depth: u32,
    ) {
        let keyword = kind.keyword();
        if kind == IncludeKind::ImapdInclude && !self.program.honours_imapd_include() {
            return;
        }
        let limit = match self.program {
            Program::Imapd => self.config.imapd_include_level,
            Program::Dpop | Program::Dsmtp => defaults::NON_IMAPD_INCLUDE_DEPTH,
        };
        if depth >= limit {
            let reason = match self.program {
                Program::Imapd => format!("not followed: imapd_include_level is {limit}"),
                Program::Dpop | Program::Dsmtp => {
                    format!("not followed: includes nest deeper than {limit} levels")
                }
            };
            let severity = if self.program == Program::Imapd {
                Severity::Note
            } else {
                Severity::Error
            };
            self.report(file, number, severity, keyword, reason);
            return;
        }
        if path.is_empty() {
            self.report(file, number, Severity::Error, keyword, "no file named");
            return;
        }
        let Ok(path) = std::str::from_utf8(path) else {
            self.report(
                file,
                number,
                Severity::Error,
                keyword,
                "the path is not valid UTF-8",
            );
            return;
        };
        let target = match file.parent() {
            Some(dir) if Utf8Path::new(path).is_relative() => dir.join(path),
            _ => Utf8PathBuf::from(path),
        };
        let id = identity(&target);
        if self.stack.contains(&id) {
            self.report(
                file,
                number,
                Severity::Error,
                keyword,
                "include cycle: the named file is already being read",
            );
            return;
        }
        let text = match std::fs::read(&target) {
            Ok(text) => text,
            Err(e) => {
                self.report(
                    file,
                    number,
                    Severity::Error,
                    keyword,
                    format!("cannot read the included file: {}", io_reason(&e)),
                );
                return;
            }
        };
        self.stack.push(id);
        self.read_file(&Arc::from(target.as_path()), &text, depth + 1);
        self.stack.pop();
    }
}

/// An I/O error in words, without the OS's decoration.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => "no such file".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::IsADirectory => "it is a directory".into(),
        _ => e.to_string(),
    }
}

/// A diagnostic for an unreadable top-level file, in the same form as the others.
///
/// ```
/// use dmail_conf::{load, Program, Platform, unreadable_diagnostic};
/// let err = load("/nonexistent/dmail.conf".into(), Program::Imapd, Platform::Unix).unwrap_err();
/// assert_eq!(unreadable_diagnostic(&err).to_string(), "/nonexistent/dmail.conf:0: error: (file): cannot read: no such file");
/// ```
pub fn unreadable_diagnostic(err: &ReadError) -> Diagnostic {
    Diagnostic {
        file: Arc::from(err.path.as_path()),
        line: 0,
        severity: Severity::Error,
        setting: FILE_SETTING.to_owned(),
        reason: format!("cannot read: {}", io_reason(&err.source)).into(),
    }
}
