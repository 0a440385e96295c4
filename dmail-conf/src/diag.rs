//! Diagnostics: what is wrong or noteworthy in a dmail.conf, with file, line and setting.
//!
//! A diagnostic's reason must never quote the text of the line or the value, so that showing
//! diagnostics cannot leak what the file holds.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use camino::Utf8Path;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The setting is ignored (its default is used) or the server cannot work as configured.
    Error,
    /// Probably a mistake, but the server works.
    Warning,
    /// For information only (e.g. a setting kept for other DMail programs).
    Note,
}

impl Severity {
    /// `error`, `warning` or `note`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// The name a diagnostic gives when it is about a whole file rather than one setting.
pub const FILE_SETTING: &str = "(file)";

/// One finding. Line 0 means the file as a whole (e.g. a required setting that is missing).
///
/// The file is shared (`Arc`) and the reason borrowed where it is fixed text, because a large
/// dmail.conf gives a note for every DPOP/DSMTP setting and IMAPD reads it for every connection.
///
/// ```
/// use dmail_conf::{Diagnostic, Severity};
/// let d = Diagnostic {
///     file: camino::Utf8Path::new("/etc/dmail.conf").into(), line: 3, severity: Severity::Error,
///     setting: "hash_spool".into(), reason: "expected 0, 1 or 2".into(),
/// };
/// assert_eq!(d.to_string(), "/etc/dmail.conf:3: error: hash_spool: expected 0, 1 or 2");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file it is in.
    pub file: Arc<Utf8Path>,
    /// The 1-based line, or 0 for the whole file.
    pub line: u32,
    /// How serious.
    pub severity: Severity,
    /// The setting or directive it is about (lower-case), or [`FILE_SETTING`].
    pub setting: String,
    /// Why, in words an administrator can act on.
    pub reason: Cow<'static, str>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}: {}",
            self.file,
            self.line,
            self.severity.as_str(),
            self.setting,
            self.reason
        )
    }
}
