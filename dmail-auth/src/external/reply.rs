//! The external authenticator's reply lines (dmail-conventions §3a): `+OK`, `-ERR`, `-DEAD`,
//! `+DATA`, and everything else, which is malformed.
//!
//! This module only parses one line that has already been cut at its LF (and had a CR before the
//! LF removed). It must never panic on any input, never do I/O, and never accept a line that does
//! not follow the grammar exactly: anything it cannot read is [`ReplyLine::Malformed`], which the
//! caller turns into a temporary failure.

use camino::Utf8PathBuf;

/// The most bytes a reply line may take, its LF (and any CR before it) included
/// (dmail-conventions §3a). \[decided\]
pub const MAX_REPLY: usize = 1024;

/// The most `+DATA` lines that may come before one final reply (dmail-conventions §3a).
/// \[decided\]
pub const MAX_DATA_LINES: usize = 100;

/// A successful `+OK USER DROPFILE [UID [INFO...]]` reply.
///
/// ```
/// use dmail_auth::external::Reply;
/// let r = Reply::parse("+OK bob /var/mail/bob 1001 quota=\"20000\"").unwrap();
/// assert_eq!(r.user, "bob");
/// assert_eq!(r.drop_file.as_deref(), Some("/var/mail/bob".into()));
/// assert_eq!(r.uid, Some(1001));
/// assert_eq!(r.quota_kbytes(), Some(20000));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The USER field: the name the authenticator knows the user by. Logged when it differs
    /// from the name that was asked about; never used as the identity.
    pub user: String,
    /// An absolute DROPFILE, used as it is; `None` for a non-absolute token such as `config`,
    /// which means "compute it from the config".
    pub drop_file: Option<Utf8PathBuf>,
    /// The UID field, when present (informational; may be 0).
    pub uid: Option<u32>,
    /// Every `label="value"` pair, in the order sent, unknown labels included.
    pub info: Vec<(String, String)>,
}

impl Reply {
    /// Parses a final `+OK` line (without its line ending); `None` if it is anything else or
    /// malformed.
    ///
    /// ```
    /// use dmail_auth::external::Reply;
    /// assert_eq!(Reply::parse("+OK bob config").unwrap().drop_file, None);
    /// assert!(Reply::parse("+OK bob  config").is_none()); // two spaces
    /// assert!(Reply::parse("-ERR no").is_none());
    /// ```
    pub fn parse(line: &str) -> Option<Reply> {
        match ReplyLine::parse(line) {
            ReplyLine::Ok(reply) => Some(reply),
            _ => None,
        }
    }

    /// The value of the first `label="value"` pair with this label (labels compare ASCII
    /// case-insensitively).
    ///
    /// ```
    /// use dmail_auth::external::Reply;
    /// let r = Reply::parse("+OK bob config 0 name=\"Bob Smith\"").unwrap();
    /// assert_eq!(r.info_value("NAME"), Some("Bob Smith"));
    /// assert_eq!(r.info_value("quota"), None);
    /// ```
    pub fn info_value(&self, label: &str) -> Option<&str> {
        self.info
            .iter()
            .find(|(l, _)| l.eq_ignore_ascii_case(label))
            .map(|(_, v)| v.as_str())
    }

    /// The `quota="KBYTES"` value, when present and a whole number.
    pub fn quota_kbytes(&self) -> Option<u64> {
        self.info_value("quota").and_then(parse_decimal)
    }
}

/// One line of what the authenticator says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReplyLine {
    /// `+DATA ...`: informational, before the final reply; the text after `+DATA `.
    Data(String),
    /// `+OK ...`: the login succeeded.
    Ok(Reply),
    /// `-ERR reason`: the login failed; the reason (possibly empty).
    Err(String),
    /// `-DEAD reason`: the authenticator cannot answer now; the reason (possibly empty).
    Dead(String),
    /// Anything else: why it could not be read.
    Malformed(&'static str),
}

impl ReplyLine {
    /// Classifies and parses one line.
    pub(crate) fn parse(line: &str) -> ReplyLine {
        let (keyword, rest) = match line.split_once(' ') {
            Some((k, r)) => (k, Some(r)),
            None => (line, None),
        };
        match keyword {
            "+DATA" => ReplyLine::Data(rest.unwrap_or("").to_owned()),
            "-ERR" => ReplyLine::Err(rest.unwrap_or("").to_owned()),
            "-DEAD" => ReplyLine::Dead(rest.unwrap_or("").to_owned()),
            "+OK" => match rest.map(parse_ok) {
                Some(Ok(reply)) => ReplyLine::Ok(reply),
                Some(Err(why)) => ReplyLine::Malformed(why),
                None => ReplyLine::Malformed("+OK without USER and DROPFILE"),
            },
            _ => ReplyLine::Malformed("the reply is not +OK, -ERR, -DEAD or +DATA"),
        }
    }
}

/// `USER DROPFILE [UID [INFO...]]`, fields separated by single spaces.
fn parse_ok(fields: &str) -> Result<Reply, &'static str> {
    let (user, rest) = next_field(fields);
    if user.is_empty() {
        return Err("+OK with an empty USER field");
    }
    let Some(rest) = rest else {
        return Err("+OK without a DROPFILE field");
    };
    let (drop, rest) = next_field(rest);
    if drop.is_empty() {
        return Err("+OK with an empty DROPFILE field");
    }
    let drop_file = is_absolute(drop).then(|| Utf8PathBuf::from(drop));
    let (uid, info) = match rest {
        None => (None, Vec::new()),
        Some(rest) => {
            let (uid, rest) = next_field(rest);
            let uid = parse_decimal(uid)
                .and_then(|u| u32::try_from(u).ok())
                .ok_or("+OK with a UID that is not a whole number")?;
            let info = match rest {
                None => Vec::new(),
                Some(rest) => parse_info(rest)?,
            };
            (Some(uid), info)
        }
    };
    let quota = info.iter().find(|(l, _)| l.eq_ignore_ascii_case("quota"));
    if quota.is_some_and(|(_, v)| parse_decimal(v).is_none()) {
        return Err("+OK with a quota that is not a whole number of kbytes");
    }
    Ok(Reply {
        user: user.to_owned(),
        drop_file,
        uid,
        info,
    })
}

/// The field before the next space, and what follows that space (`None` at the end).
fn next_field(text: &str) -> (&str, Option<&str>) {
    match text.split_once(' ') {
        Some((field, rest)) => (field, Some(rest)),
        None => (text, None),
    }
}

/// `label="value"` pairs separated by single spaces; a value is any text without `"`.
fn parse_info(mut text: &str) -> Result<Vec<(String, String)>, &'static str> {
    const BAD: &str = "+OK with INFO that is not label=\"value\" pairs";
    let mut pairs = Vec::new();
    loop {
        let (label, rest) = text.split_once("=\"").ok_or(BAD)?;
        if label.is_empty() || label.contains([' ', '"']) {
            return Err(BAD);
        }
        let (value, rest) = rest.split_once('"').ok_or(BAD)?;
        pairs.push((label.to_owned(), value.to_owned()));
        if rest.is_empty() {
            return Ok(pairs);
        }
        text = rest.strip_prefix(' ').ok_or(BAD)?;
    }
}

/// A non-empty run of ASCII digits that fits in a `u64`.
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Whether a DROPFILE token is an absolute path: one starting with `/`, or a Windows path
/// starting with a drive letter and `:\` or `:/`, or `\\`. \[decided\] Checked textually, so that
/// the answer does not depend on the host the library runs on.
fn is_absolute(token: &str) -> bool {
    let b = token.as_bytes();
    match b {
        [b'/', ..] | [b'\\', b'\\', ..] => true,
        [drive, b':', b'\\' | b'/', ..] => drive.is_ascii_alphabetic(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{Reply, ReplyLine, parse_decimal};
    use proptest::prelude::*;

    fn reply(user: &str, drop: Option<&str>, uid: Option<u32>, info: &[(&str, &str)]) -> ReplyLine {
        ReplyLine::Ok(Reply {
            user: user.to_owned(),
            drop_file: drop.map(Into::into),
            uid,
            info: info
                .iter()
                .map(|(l, v)| ((*l).to_owned(), (*v).to_owned()))
                .collect(),
        })
    }

    #[test]
    fn ok_forms() {
        let p = ReplyLine::parse;
        assert_eq!(
            p("+OK bob /var/mail/bob"),
            reply("bob", Some("/var/mail/bob"), None, &[])
        );
        assert_eq!(p("+OK bob config"), reply("bob", None, None, &[]));
        assert_eq!(p("+OK bob config 0"), reply("bob", None, Some(0), &[]));
        assert_eq!(
            p("+OK bob /m/bob 1001 quota=\"20000\" name=\"Bob B\" x=\"\""),
            reply(
                "bob",
                Some("/m/bob"),
                Some(1001),
                &[("quota", "20000"), ("name", "Bob B"), ("x", "")]
            )
        );
        assert_eq!(
            p("+OK b C:\\mail\\b"),
            reply("b", Some("C:\\mail\\b"), None, &[])
        );
        assert_eq!(p("+OK b mail/b"), reply("b", None, None, &[]));
    }

    #[test]
    fn other_kinds() {
        let p = ReplyLine::parse;
        assert_eq!(
            p("-ERR bad password"),
            ReplyLine::Err("bad password".into())
        );
        assert_eq!(p("-ERR"), ReplyLine::Err(String::new()));
        assert_eq!(p("-DEAD db down"), ReplyLine::Dead("db down".into()));
        assert_eq!(p("-DEAD"), ReplyLine::Dead(String::new()));
        assert_eq!(
            p("+DATA hello world"),
            ReplyLine::Data("hello world".into())
        );
        assert_eq!(p("+DATA"), ReplyLine::Data(String::new()));
    }

    #[test]
    fn malformed() {
        for line in [
            "",
            "+OK",
            "+OK ",
            "+OK bob",
            "+OK bob ",
            "+OK  bob /m",
            "+OK bob  /m",
            "+OK bob /m ",
            "+OK bob /m x",
            "+OK bob /m -1",
            "+OK bob /m 4294967296",
            "+OK bob /m 1 quota",
            "+OK bob /m 1 quota=20",
            "+OK bob /m 1 quota=\"20",
            "+OK bob /m 1 quota=\"x\"",
            "+OK bob /m 1 a=\"1\"  b=\"2\"",
            "+OK bob /m 1 a=\"1\"b=\"2\"",
            "+OK bob /m 1 a=\"1\" ",
            "+OK bob /m 1 =\"1\"",
            "+ok bob /m",
            "OK bob /m",
            "-err no",
            "* OK hello",
        ] {
            assert!(
                matches!(ReplyLine::parse(line), ReplyLine::Malformed(_)),
                "{line:?} was accepted"
            );
        }
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("+1"), None);
        assert_eq!(parse_decimal(""), None);
        assert_eq!(parse_decimal("18446744073709551616"), None);
    }

    proptest! {
        #[test]
        fn never_panics(line in "\\PC{0,64}") {
            let _ = ReplyLine::parse(&line);
        }

        #[test]
        fn round_trips(user in "[!-~&&[^\"]]{1,10}", uid in any::<u32>(), quota in any::<u64>()) {
            let line = format!("+OK {user} /m/{user} {uid} quota=\"{quota}\"");
            let r = Reply::parse(&line).expect("well-formed");
            prop_assert_eq!(r.uid, Some(uid));
            prop_assert_eq!(r.quota_kbytes(), Some(quota));
            prop_assert_eq!(r.user, user);
        }
    }
}
