//! `*`-wildcard pattern lists (`valid_users`, `user_ip_address`): plain string matches where `*`
//! stands for any run of characters, as DMail documents (`1.2.3.*` matches anything starting
//! `1.2.3.`).
//!
//! Matching here is pure string work; it must never interpret addresses or user names (callers
//! pass them already in canonical form).

use std::fmt;

/// One or more patterns, separated in the file by commas or blanks. [decided: both separators
/// are accepted for both settings; DMail documents comma lists for `user_ip_address`]
///
/// ```
/// use dmail_conf::WildcardList;
/// let l = WildcardList::parse("192.168.*, 10.0.0.1").unwrap();
/// assert!(l.matches("192.168.4.7"));
/// assert!(l.matches("10.0.0.1"));
/// assert!(!l.matches("10.0.0.10"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WildcardList {
    patterns: Vec<String>,
}

impl WildcardList {
    /// Splits a value into patterns; `None` when it holds none.
    pub fn parse(raw: &str) -> Option<Self> {
        let patterns: Vec<String> = raw
            .split([',', ' ', '\t'])
            .filter(|p| !p.is_empty())
            // The file-name form of an IPv6 address (dmail-conventions §6) is read as `:`.
            .map(|p| p.replace("%3A", ":").replace("%3a", ":"))
            .collect();
        (!patterns.is_empty()).then_some(WildcardList { patterns })
    }

    /// The patterns in the order written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether any pattern matches all of `text` (case-sensitively).
    pub fn matches(&self, text: &str) -> bool {
        self.patterns.iter().any(|p| wildcard_match(p, text))
    }
}

impl fmt::Display for WildcardList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.patterns.join(","))
    }
}

/// Whether `pattern` (with `*` for any run of characters, possibly empty) matches all of `text`.
///
/// ```
/// use dmail_conf::wildcard::wildcard_match;
/// assert!(wildcard_match("a*c", "abbbc"));
/// assert!(wildcard_match("*", ""));
/// assert!(!wildcard_match("a*c", "abd"));
/// ```
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return text.is_empty();
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let middle: Vec<&str> = parts.collect();
    let Some((last, middle)) = middle.split_last() else {
        // No `*` at all: the whole text must equal the pattern.
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;
    use test_case::test_case;

    // dmail-conventions §2: "`*` wildcards are plain string matches".
    #[test_case("1.2.3.*", "1.2.3.4", true)]
    #[test_case("1.2.3.*", "1.2.34.4", false)]
    #[test_case("*", "anything", true)]
    #[test_case("bob", "bob", true)]
    #[test_case("bob", "bobby", false)]
    #[test_case("b*b", "bob", true)]
    #[test_case("b*b", "b", false)]
    #[test_case("*.5", "1.2.3.5", true)]
    #[test_case("a*b*c", "aXbYc", true)]
    #[test_case("a*b*c", "acb", false)]
    #[test_case("**", "", true)]
    #[test_case("cc_*", "cc_sales", true)]
    fn matches(pattern: &str, text: &str, expected: bool) {
        assert_eq!(wildcard_match(pattern, text), expected);
    }
}
