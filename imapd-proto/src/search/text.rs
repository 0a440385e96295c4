//! Case-insensitive substring matching for SEARCH strings: the folding applied to both the
//! search string and the message text, and the compiled needle.
//!
//! Owns only comparison. It must never decode MIME or charsets (text arrives as UTF-8) and must
//! never fold one character into several, so that a match in folded text is always a match in
//! the original.

use memchr::memmem::Finder;

/// Lowercases `s` one character to one character: ASCII as i;ascii-casemap does, the rest by
/// Unicode simple lowercase.
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// [`fold`], appending to `out`.
pub(crate) fn fold_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
        return;
    }
    out.reserve(s.len());
    for c in s.chars() {
        out.push(fold_char(c));
    }
}

/// Simple lowercase: the full mapping's first character, which is the simple mapping for the
/// few characters (U+0130) whose full lowercase is longer than one character.
fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    c.to_lowercase().next().unwrap_or(c)
}

/// A search string, folded and ready to look for in folded text.
#[derive(Clone, Debug)]
pub(crate) struct Needle {
    finder: Finder<'static>,
}

impl Needle {
    /// The needle for a search string given in UTF-8.
    pub(crate) fn new(s: &str) -> Needle {
        let folded = fold(s);
        let finder = Finder::new(folded.as_bytes()).into_owned();
        Needle { finder }
    }

    /// Whether the search string was empty (it then occurs everywhere).
    pub(crate) fn is_empty(&self) -> bool {
        self.finder.needle().is_empty()
    }

    /// Whether the needle occurs in `folded` (text already passed through [`fold`]).
    pub(crate) fn found_in(&self, folded: &str) -> bool {
        self.finder.find(folded.as_bytes()).is_some()
    }
}
