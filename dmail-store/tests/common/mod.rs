//! What several engine test files share: a throwaway spool with one user's INBOX, the engine
//! options with a fixed clock and zone, and delivery into it.
#![allow(dead_code, clippy::unwrap_used)]

use camino::{Utf8Path, Utf8PathBuf};
use dmail_store::InternalDate;
use dmail_store::deliver::{DeliverOptions, deliver};
use dmail_store::layout::DropPath;
use dmail_store::mbox::engine::{MboxMailbox, MboxOptions, MboxPaths};

/// Engine options with UTC for zone-less dates and the clock stopped at 1,700,000,000.
pub(crate) fn options() -> MboxOptions {
    let mut o = MboxOptions::new("bob", "mail.example.com");
    o.local_offset = |_| 0;
    o.now = || 1_700_000_000;
    o
}

/// A temporary spool holding user bob's drop file and folder directory.
pub(crate) struct Spool {
    _dir: tempfile::TempDir,
    /// The spool directory.
    pub root: Utf8PathBuf,
}

impl Spool {
    pub(crate) fn new() -> Spool {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8Path::from_path(dir.path()).unwrap().to_owned();
        Spool { _dir: dir, root }
    }
    pub(crate) fn inbox(&self) -> Utf8PathBuf {
        self.root.join("bob")
    }
    pub(crate) fn paths(&self) -> MboxPaths {
        MboxPaths::new(self.inbox(), self.root.join("bob.mbx/.imapd"), "INBOX")
    }
    pub(crate) fn open(&self, read_only: bool) -> MboxMailbox {
        MboxMailbox::open(self.paths(), read_only, options()).unwrap()
    }
    /// Delivers `message` as DSMTP would, from alice@example.com.
    pub(crate) fn deliver_text(&self, message: &str) {
        let date = InternalDate {
            unix: 1_000_000_000,
            offset_minutes: 0,
        };
        deliver(
            &DropPath::new(self.inbox()),
            "alice@example.com",
            message.as_bytes(),
            date,
            &DeliverOptions::default(),
        )
        .unwrap();
    }
    pub(crate) fn bytes(&self) -> Vec<u8> {
        std::fs::read(self.inbox()).unwrap_or_default()
    }
}
