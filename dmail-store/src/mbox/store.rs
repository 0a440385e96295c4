//! `MboxStore`: one user's mbox mailboxes as a [`MailboxList`] — the folder namespace of
//! [`crate::folders`] and the subscription list, with each mailbox opened through the engine.
//!
//! It owns the rules that join names to engine handles: INBOX is the drop file, new mailbox
//! files start with a pseudo-message, private data follows DELETE and RENAME, RENAME INBOX moves
//! the messages. It never holds the locks of two mailboxes at once, and its errors name
//! mailboxes, never server paths.

use camino::{Utf8Path, Utf8PathBuf};
use dmail_conf::Platform;

use crate::folders::{FolderError, Folders, ListEntry, Removed, Renamed};
use crate::layout::MailPaths;
use crate::mbox::engine::{MboxMailbox, MboxOptions, MboxPaths, new_mailbox_bytes};
use crate::names::MailboxName;
use crate::store::{Mailbox, MailboxList, MailboxStatus, OpenMode, StoreError};
use crate::subscriptions::SubscriptionError;
use crate::{SystemFlags, Uid};

/// A user's mailboxes in mbox files.
///
/// ```
/// use dmail_conf::Platform;
/// use dmail_store::mbox::{engine::MboxOptions, store::MboxStore};
/// use dmail_store::names::MailboxName;
/// use dmail_store::store::{MailboxList, OpenMode, Mailbox};
/// let dir = tempfile::tempdir().unwrap();
/// let root = camino::Utf8Path::from_path(dir.path()).unwrap();
/// let store = MboxStore::new(root.join("bob.mbx"), root.join("bob"), Platform::Unix,
///     MboxOptions::new("bob", "localhost"));
/// let name = MailboxName::from_utf8("Sent").unwrap();
/// store.create(&name).unwrap();
/// let sent = store.open(&name, OpenMode::ReadWrite).unwrap();
/// assert!(sent.messages().is_empty());
/// ```
#[derive(Debug)]
pub struct MboxStore {
    folders: Folders,
    options: MboxOptions,
}

fn folder_err(e: FolderError) -> StoreError {
    match e {
        FolderError::NonExistent { .. }
        | FolderError::NotAMailbox { .. }
        | FolderError::Symlink { .. } => StoreError::NonExistent,
        FolderError::AlreadyExists { .. } => StoreError::AlreadyExists,
        FolderError::NoSelect { .. } => StoreError::NoSelect,
        FolderError::InvalidName { .. } => StoreError::InvalidName(e.to_string()),
        FolderError::Io { .. } => StoreError::Io {
            context: e.to_string(),
            source: std::io::Error::other("folder operation failed"),
        },
        other => StoreError::NotAllowed(other.to_string()),
    }
}

fn subscription_err(e: SubscriptionError) -> StoreError {
    match e {
        SubscriptionError::Busy { .. } => StoreError::InUse,
        other => StoreError::Io {
            context: "updating the subscription list".into(),
            source: std::io::Error::other(other.to_string()),
        },
    }
}

/// The private-data key of a mailbox name (the engine's encoding of `/` and `%`).
fn key_of(name: &str) -> String {
    MboxPaths::new(Utf8PathBuf::new(), Utf8PathBuf::new(), name).key
}

impl MboxStore {
    /// The mailboxes of a user whose folder directory is `root` and drop file `drop_file`.
    pub fn new(
        root: Utf8PathBuf,
        drop_file: Utf8PathBuf,
        platform: Platform,
        options: MboxOptions,
    ) -> MboxStore {
        MboxStore {
            folders: Folders::new(root, drop_file, platform),
            options,
        }
    }

    /// The mailboxes at a user's [`MailPaths`].
    pub fn from_paths(paths: &MailPaths, platform: Platform, options: MboxOptions) -> MboxStore {
        MboxStore {
            folders: Folders::from_paths(paths, platform),
            options,
        }
    }

    /// The folder namespace.
    pub fn folders(&self) -> &Folders {
        &self.folders
    }

    fn paths_for(&self, name: &MailboxName, file: Utf8PathBuf) -> MboxPaths {
        let key = if name.is_inbox() {
            "INBOX".to_owned()
        } else {
            name.as_str().to_owned()
        };
        MboxPaths::new(file, self.folders.private_dir(), &key)
    }

    /// Removes or renames the engine's private files of mailbox key `from` (and, for a
    /// directory, of every mailbox below it).
    fn move_private(&self, from: &str, to: Option<&str>, directory: bool) {
        let dir = self.folders.private_dir();
        let (from, to) = (key_of(from), to.map(key_of));
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(file) = entry.file_name().into_string() else {
                continue;
            };
            let Some((key, ext)) = file.rsplit_once('.') else {
                continue;
            };
            let below = directory
                && key
                    .strip_prefix(&from)
                    .is_some_and(|r| r.starts_with("%2F"));
            if key != from && !below {
                continue;
            }
            let old = dir.join(&file);
            match &to {
                Some(to) => {
                    let new_key = format!("{to}{}", &key[from.len()..]);
                    let _ = std::fs::rename(&old, dir.join(format!("{new_key}.{ext}")));
                }
                None => {
                    let _ = std::fs::remove_file(&old);
                }
            }
        }
    }

    fn open_path(&self, name: &MailboxName, read_only: bool) -> Result<MboxMailbox, StoreError> {
        let file = self.folders.selectable(name).map_err(folder_err)?;
        MboxMailbox::open(self.paths_for(name, file), read_only, self.options.clone())
    }

    /// RENAME INBOX (RFC 3501 §6.3.5): a new mailbox gets INBOX's messages, and INBOX is left
    /// holding none.
    fn rename_inbox(&self, to: &MailboxName) -> Result<(), StoreError> {
        let initial = new_mailbox_bytes(&self.options);
        self.folders.create(to, &initial).map_err(folder_err)?;
        let mut inbox = self.open_path(&MailboxName::inbox(), false)?;
        let uids: Vec<Uid> = inbox.messages().iter().map(|m| m.uid).collect();
        if uids.is_empty() {
            return Ok(());
        }
        self.copy_into(&mut inbox, &uids, to)?;
        inbox.store_flags(&uids, crate::store::FlagOp::Add, SystemFlags::DELETED, &[])?;
        inbox.expunge(Some(&uids))?;
        Ok(())
    }
}

impl MailboxList for MboxStore {
    type Mailbox = MboxMailbox;

    fn list(&self, reference: &[u8], pattern: &[u8]) -> Result<Vec<ListEntry>, StoreError> {
        self.folders.list(reference, pattern).map_err(folder_err)
    }

    fn lsub(&self, reference: &[u8], pattern: &[u8]) -> Result<Vec<ListEntry>, StoreError> {
        self.folders
            .subscriptions()
            .lsub(reference, pattern)
            .map_err(subscription_err)
    }

    fn create(&self, name: &MailboxName) -> Result<(), StoreError> {
        let initial = new_mailbox_bytes(&self.options);
        self.folders.create(name, &initial).map_err(folder_err)?;
        Ok(())
    }

    fn delete(&self, name: &MailboxName) -> Result<(), StoreError> {
        match self.folders.delete(name).map_err(folder_err)? {
            Removed::Mailbox(_) => self.move_private(name.as_str(), None, false),
            Removed::Directory(_) => {}
        }
        Ok(())
    }

    fn rename(&self, from: &MailboxName, to: &MailboxName) -> Result<(), StoreError> {
        if from.is_inbox() {
            return self.rename_inbox(to);
        }
        let Renamed { directory, .. } = self.folders.rename(from, to).map_err(folder_err)?;
        self.move_private(from.as_str(), Some(to.as_str()), directory);
        Ok(())
    }

    fn subscribe(&self, name: &MailboxName) -> Result<(), StoreError> {
        self.folders.ensure_root().map_err(folder_err)?;
        self.folders
            .subscriptions()
            .subscribe(name)
            .map_err(subscription_err)?;
        Ok(())
    }

    fn unsubscribe(&self, name: &MailboxName) -> Result<(), StoreError> {
        self.folders
            .subscriptions()
            .unsubscribe(name)
            .map_err(subscription_err)?;
        Ok(())
    }

    fn open(&self, name: &MailboxName, mode: OpenMode) -> Result<MboxMailbox, StoreError> {
        self.open_path(name, mode == OpenMode::ReadOnly)
    }

    /// STATUS from the private index when it still describes the file (no mailbox read at
    /// all), else from a read-only open.
    fn status(&self, name: &MailboxName) -> Result<MailboxStatus, StoreError> {
        let file = self.folders.selectable(name).map_err(folder_err)?;
        let paths = self.paths_for(name, file);
        if let Some(q) = MboxMailbox::quick_status(&paths, &self.options)? {
            return Ok(MailboxStatus {
                messages: usize::try_from(q.messages).unwrap_or(usize::MAX),
                recent: 0,
                unseen: usize::try_from(q.unseen).unwrap_or(usize::MAX),
                uid_next: q.uid_next,
                uid_validity: q.uid_validity,
            });
        }
        let m = MboxMailbox::open(paths, true, self.options.clone())?;
        Ok(MailboxStatus {
            recent: 0,
            ..MailboxStatus::of(&m)
        })
    }
}

/// The folder root and drop file of a store, for logs.
impl MboxStore {
    /// The folder directory.
    pub fn root(&self) -> &Utf8Path {
        self.folders.root()
    }
}
