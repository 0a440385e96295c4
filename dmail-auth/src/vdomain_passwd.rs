//! `vdomain_passwd DOMAIN PATH` files (dmail-conventions §2): passwd-format files
//! (`name:hash:uid:gid:gecos:home:shell`, names are local parts) that replace the system
//! database for one virtual domain. [`parse_line`], [`lookup`] and [`authenticate`].
//!
//! This module only reads the file; it must never write it, never fall back to the system
//! database for a domain that has a file, and never accept a login on an unusable hash.

use std::io::{self, BufRead, BufReader};

use camino::{Utf8Path, Utf8PathBuf};
use zeroize::Zeroizing;

// Checking a password needs crypt(3): Unix only (the parsing above it is portable).
#[cfg(unix)]
use crate::hash::{self, HashState};
#[cfg(unix)]
use crate::{AuthError, Authenticated, Password, Source};

/// One line of a vdomain_passwd file.
///
/// ```
/// use dmail_auth::vdomain_passwd::parse_line;
/// let e = parse_line("sales:$6$s$h:1001:100:Sales:/home/cc/sales:/bin/false").unwrap();
/// assert_eq!((e.name.as_str(), e.uid, e.gid), ("sales", 1001, 100));
/// assert_eq!(e.home.as_deref(), Some("/home/cc/sales".into()));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// The local part (the login without `@domain`).
    pub name: String,
    /// The crypt(3) hash (or `!...`, `*`, empty). Zeroed when dropped.
    pub hash: Zeroizing<String>,
    /// The numeric user id.
    pub uid: u32,
    /// The numeric group id.
    pub gid: u32,
    /// The GECOS field.
    pub gecos: String,
    /// The home directory; `None` when the field is empty.
    pub home: Option<Utf8PathBuf>,
    /// The shell (informational).
    pub shell: String,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.name)
            .field("hash", &"..")
            .field("uid", &self.uid)
            .field("gid", &self.gid)
            .field("home", &self.home)
            .finish_non_exhaustive()
    }
}

/// Parses one line. \[decided\] `None` for blank lines, `#` comments and malformed lines (not
/// exactly seven `:`-separated fields, an empty name, a uid or gid that is not a decimal `u32`);
/// a trailing CR is ignored. Malformed lines are skipped, not fatal: one bad line must not lock
/// every user of the domain out.
///
/// ```
/// use dmail_auth::vdomain_passwd::parse_line;
/// assert!(parse_line("# comment").is_none());
/// assert!(parse_line("bob:x:notanumber:1:::").is_none());
/// assert!(parse_line("bob:x:1:1:::").is_some());
/// ```
pub fn parse_line(line: &str) -> Option<Entry> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() || line.trim_start().starts_with('#') {
        return None;
    }
    let fields: Vec<&str> = line.split(':').collect();
    let [name, hash, uid, gid, gecos, home, shell] = fields.as_slice() else {
        return None;
    };
    if name.is_empty() {
        return None;
    }
    Some(Entry {
        name: (*name).to_owned(),
        hash: Zeroizing::new((*hash).to_owned()),
        uid: uid.parse().ok()?,
        gid: gid.parse().ok()?,
        gecos: (*gecos).to_owned(),
        home: (!home.is_empty()).then(|| Utf8PathBuf::from(*home)),
        shell: (*shell).to_owned(),
    })
}

/// Finds the first entry named `local` (exact, case-sensitive match: `lowercase_username` has
/// already been applied to the login) in the file at `path`. Lines that are not UTF-8 are
/// skipped like other malformed lines.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = camino::Utf8PathBuf::from_path_buf(dir.path().join("pw")).unwrap();
/// std::fs::write(&path, "sales:*:1:1:::\n").unwrap();
/// let e = dmail_auth::vdomain_passwd::lookup(&path, "sales").unwrap().unwrap();
/// assert_eq!(e.uid, 1);
/// assert!(dmail_auth::vdomain_passwd::lookup(&path, "Sales").unwrap().is_none());
/// ```
pub fn lookup(path: &Utf8Path, local: &str) -> io::Result<Option<Entry>> {
    let mut reader = BufReader::new(std::fs::File::open(path)?);
    let mut line = Zeroizing::new(Vec::new());
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        let bytes = line.strip_suffix(b"\n").unwrap_or(&line);
        // Cheap pre-filter: the name is everything before the first ':'.
        if !bytes.starts_with(local.as_bytes()) || bytes.get(local.len()) != Some(&b':') {
            continue;
        }
        if let Some(entry) = std::str::from_utf8(bytes).ok().and_then(parse_line) {
            return Ok(Some(entry));
        }
    }
}

/// Checks `local`'s password against the vdomain_passwd file at `path`; `system_name` is the
/// login's system name (dmail-conventions §3 step 4), which the result carries.
///
/// Failures: `Rejected` with "no such user", "wrong password", or the hash's
/// [`HashState::reason`]; `Unavailable` when the file cannot be read.
///
/// ```
/// use dmail_auth::{Password, Source, vdomain_passwd::authenticate};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = camino::Utf8PathBuf::from_path_buf(dir.path().join("pw")).unwrap();
/// std::fs::write(&path, "sales:$1$saltsalt$9xy1btjgzLYfb7hivXtC//:1001:100::/home/s:\n").unwrap();
/// let ok = authenticate(&path, "sales", "cc_sales", &Password::new(b"secret".to_vec())).unwrap();
/// assert_eq!((ok.system_name.as_str(), ok.source, ok.uid), ("cc_sales", Source::VdomainPasswd, Some(1001)));
/// ```
#[cfg(unix)]
pub fn authenticate(
    path: &Utf8Path,
    local: &str,
    system_name: &str,
    password: &Password,
) -> Result<Authenticated, AuthError> {
    let entry = lookup(path, local).map_err(|e| {
        AuthError::Unavailable(format!("cannot read vdomain_passwd file {path}: {e}"))
    })?;
    let Some(entry) = entry else {
        crate::unix_user::equalize_timing(password);
        return Err(AuthError::Rejected(format!("no such user in {path}")));
    };
    if let Some(reason) = hash::classify(&entry.hash).reason() {
        return Err(AuthError::Rejected(reason.to_owned()));
    }
    debug_assert_eq!(hash::classify(&entry.hash), HashState::Usable);
    if !hash::verify(password, &entry.hash) {
        return Err(AuthError::Rejected("wrong password".to_owned()));
    }
    Ok(Authenticated {
        system_name: system_name.to_owned(),
        source: Source::VdomainPasswd,
        uid: Some(entry.uid),
        gid: Some(entry.gid),
        home: entry.home.clone(),
        drop_file: None,
        quota_kbytes: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    // dmail-conventions §2 `vdomain_passwd`: `name:hash:uid:gid:gecos:home:shell`.
    #[test_case("a:h:1:2:g:/h:/s", Some(("a", 1, 2, Some("/h"))) ; "full")]
    #[test_case("a:h:1:2:g:/h:/s\r", Some(("a", 1, 2, Some("/h"))) ; "crlf")]
    #[test_case("a:h:0:0:::", Some(("a", 0, 0, None)) ; "empty home")]
    #[test_case("a:h:1:2:g:/h", None ; "six fields")]
    #[test_case("a:h:1:2:g:/h:/s:extra", None ; "eight fields")]
    #[test_case(":h:1:2:g:/h:/s", None ; "empty name")]
    #[test_case("a:h:-1:2:g:/h:/s", None ; "negative uid")]
    #[test_case("a:h:1:4294967296:g:/h:/s", None ; "gid overflow")]
    #[test_case("  # a:h:1:2:g:/h:/s", None ; "comment")]
    #[test_case("", None ; "blank")]
    fn lines(line: &str, expected: Option<(&str, u32, u32, Option<&str>)>) {
        let got = parse_line(line);
        let got = got.as_ref().map(|e| {
            (
                e.name.as_str(),
                e.uid,
                e.gid,
                e.home.as_ref().map(|h| h.as_str()),
            )
        });
        assert_eq!(got, expected);
    }

    fn file(text: impl AsRef<[u8]>) -> (tempfile::TempDir, Utf8PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8PathBuf::from_path_buf(dir.path().join("cc.passwd")).unwrap();
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    // The hashes are `$1$saltsalt$...` of "secret" (openssl passwd -1 -salt saltsalt secret).
    const SECRET: &str = "$1$saltsalt$9xy1btjgzLYfb7hivXtC//";

    #[test]
    fn first_match_wins_and_malformed_lines_are_skipped() {
        let mut text = format!("sales:broken\nsalesman:{SECRET}:5:5:::\n").into_bytes();
        text.extend_from_slice(b"sales:\xff:1:1:::\n");
        text.extend_from_slice(
            format!("sales:{SECRET}:7:8::/vd/sales:\nsales:{SECRET}:9:9:::\n").as_bytes(),
        );
        let (_d, path) = file(text);
        let e = lookup(&path, "sales").unwrap().unwrap();
        assert_eq!((e.uid, e.gid), (7, 8));
        assert!(lookup(&path, "sale").unwrap().is_none());
    }

    #[test_case("sales", "secret", Ok(1001) ; "right password")]
    #[test_case("sales", "Secret", Err("wrong password") ; "wrong password")]
    #[test_case("nobody", "secret", Err("no such user") ; "unknown user")]
    #[test_case("locked", "secret", Err("account locked") ; "locked")]
    #[test_case("star", "secret", Err("account has no password (disabled)") ; "star")]
    #[test_case("empty", "", Err("empty password field refused") ; "empty hash")]
    fn authenticate_table(local: &str, password: &str, expected: Result<u32, &str>) {
        let (_d, path) = file(format!(
            "sales:{SECRET}:1001:100:Sales:/vd/cc/sales:/bin/false\nlocked:!{SECRET}:1002:100:::\nstar:*:1003:100:::\nempty::1004:100:::\n"
        ));
        let got = authenticate(
            &path,
            local,
            &format!("cc_{local}"),
            &Password::new(password.as_bytes().to_vec()),
        );
        match (got, expected) {
            (Ok(a), Ok(uid)) => {
                assert_eq!(a.uid, Some(uid));
                assert_eq!(a.gid, Some(100));
                assert_eq!(a.system_name, format!("cc_{local}"));
                assert_eq!(a.source, Source::VdomainPasswd);
                assert_eq!(a.home.as_deref(), Some(Utf8Path::new("/vd/cc/sales")));
            }
            (Err(AuthError::Rejected(r)), Err(want)) => assert!(r.starts_with(want), "{r}"),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn missing_file_is_unavailable() {
        let got = authenticate(
            Utf8Path::new("/nonexistent/dmail/cc.passwd"),
            "sales",
            "cc_sales",
            &Password::new(b"secret".to_vec()),
        );
        assert!(matches!(got, Err(AuthError::Unavailable(_))), "{got:?}");
    }
}
