//! The two axes that change how a dmail.conf is read: which operating system's rules apply
//! (`Platform`) and which DMail program is reading (`Program`).
//!
//! This module only names the choices; it must never look at the running system except in
//! [`Platform::current`], so that both platforms' rules can be tested on one machine.

/// Whose file-system and default rules apply.
///
/// Every rule that differs between Unix and Windows NT (default `authent_method`, the
/// `invalid_chars` default, the subscription file's name) is selected by this value rather than
/// by `cfg`, so both are exercised by the tests on Linux.
///
/// ```
/// use dmail_conf::Platform;
/// assert_eq!(Platform::Unix.name(), "unix");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Unix and Linux: `/` separates paths, `/etc/dmail.conf`.
    Unix,
    /// Windows NT and later: `\` and `/` separate paths, `%SystemRoot%\system32\dmail.conf`.
    Nt,
}

impl Platform {
    /// The platform this binary was built for.
    ///
    /// ```
    /// # use dmail_conf::Platform;
    /// #[cfg(unix)]
    /// assert_eq!(Platform::current(), Platform::Unix);
    /// ```
    pub const fn current() -> Self {
        if cfg!(windows) {
            Platform::Nt
        } else {
            Platform::Unix
        }
    }

    /// A short lower-case name, for messages.
    ///
    /// ```
    /// # use dmail_conf::Platform;
    /// assert_eq!(Platform::Nt.name(), "nt");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Platform::Unix => "unix",
            Platform::Nt => "nt",
        }
    }

    /// Whether `c` separates path components on this platform.
    ///
    /// ```
    /// # use dmail_conf::Platform;
    /// assert!(Platform::Nt.is_separator('\\'));
    /// assert!(!Platform::Unix.is_separator('\\'));
    /// ```
    pub const fn is_separator(self, c: char) -> bool {
        match self {
            Platform::Unix => c == '/',
            Platform::Nt => c == '/' || c == '\\',
        }
    }

    /// The separator this platform writes: `/` on Unix, `\` on NT.
    ///
    /// ```
    /// # use dmail_conf::Platform;
    /// assert_eq!(Platform::Nt.separator(), '\\');
    /// ```
    pub const fn separator(self) -> char {
        match self {
            Platform::Unix => '/',
            Platform::Nt => '\\',
        }
    }

    /// Joins path components with this platform's separator (whatever the host's is), adding
    /// none after a base that already ends with one, so that NT paths are computed and tested on
    /// Unix exactly as on Windows.
    ///
    /// ```
    /// # use dmail_conf::Platform;
    /// assert_eq!(Platform::Nt.join(r"c:\dmail\".into(), &["b", "bob"]), r"c:\dmail\b\bob");
    /// assert_eq!(Platform::Unix.join("/var/mail".into(), &["bob"]), "/var/mail/bob");
    /// ```
    pub fn join(self, base: &camino::Utf8Path, parts: &[&str]) -> camino::Utf8PathBuf {
        let mut s = base.as_str().to_owned();
        for part in parts {
            if !s.is_empty() && !s.ends_with(|c| self.is_separator(c)) {
                s.push(self.separator());
            }
            s.push_str(part);
        }
        camino::Utf8PathBuf::from(s)
    }
}

/// Which DMail program is reading the file. It decides how `#include` and `#imapd_include` are
/// followed (dmail-conventions §1).
///
/// ```
/// use dmail_conf::Program;
/// assert!(Program::Imapd.honours_imapd_include());
/// assert!(!Program::Dpop.honours_imapd_include());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Program {
    /// The IMAP server: includes followed only below `imapd_include_level`.
    Imapd,
    /// A POP3 server: `#include` followed to any depth up to the limit, `#imapd_include` skipped.
    Dpop,
    /// An SMTP server: as DPOP.
    Dsmtp,
}

impl Program {
    /// Whether `#imapd_include` lines are directives for this program (else they are comments).
    ///
    /// ```
    /// # use dmail_conf::Program;
    /// assert!(!Program::Dsmtp.honours_imapd_include());
    /// ```
    pub const fn honours_imapd_include(self) -> bool {
        matches!(self, Program::Imapd)
    }
}
