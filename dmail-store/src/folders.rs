//! The folder namespace of one user: which mailbox a [`MailboxName`] is, LIST, CREATE, DELETE
//! and RENAME (mailbox-formats.md §4; dmail-conventions.md §5; notes/uw-c-client.md §4).
//!
//! Owns the mapping from names to paths below the folder root (`DROPFILE.mbx/` or
//! `HOME/imapd_mailbox_name`), the "is this file a mailbox" sniff, and the directory walk behind
//! LIST. It must never follow a symlink below the folder root, write outside it, read more of a
//! file than its first line, parse messages, take mailbox locks (the engine does, around
//! DELETE and RENAME of a mailbox file), or put a server path in an error's Display text.
//!
//! # Rules
//!
//! - **INBOX** (any case, whole name) is the drop file, which lies outside the folder root. It
//!   always exists: a missing drop file is an empty selectable mailbox. It cannot be created or
//!   deleted here, and RENAME of INBOX is the engine's (it moves the messages and leaves INBOX
//!   with its pseudo-message, mailbox-formats.md §4), so [`Folders::rename`] refuses it with
//!   [`FolderError::Inbox`].
//! - **Files and directories.** A regular file is a mailbox (`\Noinferiors`) only when
//!   [`is_mailbox_head`] accepts its first bytes; any other file is *not a mailbox*: never
//!   listed, and SELECT, EXAMINE, STATUS, APPEND, COPY, DELETE and RENAME on it fail with
//!   [`FolderError::NotAMailbox`] (`NO [NONEXISTENT]`) and leave it untouched. A directory holds
//!   folders (`\Noselect`). Folders hold messages or folders, never both.
//! - **Never listed**: anything whose name starts with `.` (the subscription file, `.imapd/`,
//!   temporary files), `*.lock` files, the subscription file under any name
//!   (`MAILBOX.LST` on NT), a top-level entry named INBOX in any case (INBOX is the drop file;
//!   the children of a directory named `INBOX` are listed as ordinary folders, c-client's
//!   mapping), the drop file itself should it lie inside the root, symlinks, devices, FIFOs and
//!   sockets, and every name on disk that is not a valid [`MailboxName`]: names are listed as
//!   stored when they are canonical modified UTF-7 in printable ASCII, and skipped otherwise
//!   (a UTF-8 file name made by a shell user cannot be named by a client, so it is not shown).
//!   \[decided\]
//! - **Symlinks.** Every component below the root is checked with `symlink_metadata`; a symlink
//!   anywhere is refused ([`FolderError::Symlink`]), and LIST neither shows nor enters it. Files
//!   are opened with `O_NOFOLLOW` (and `O_NONBLOCK`, so a FIFO swapped in cannot hang a sniff);
//!   new files are created with `O_CREAT|O_EXCL|O_NOFOLLOW`; renames do not replace
//!   (`RENAME_NOREPLACE` on Linux). The folder root itself and its ancestors are configuration
//!   and may be symlinks.
//!
//! # Limits of the symlink defence (TOCTOU)
//!
//! Checks are made on paths, one `lstat` per component, and the engine later opens the same
//! path again. A process that can write inside the folder root (the user's own shell, when the
//! root is in their home) can swap a checked directory for a symlink between the check and the
//! use. Only the last component of an open is protected (`O_NOFOLLOW`). The defence is complete
//! when the server runs as the user (`imapd_become_user`, dmail-conventions §11), since a
//! symlink then grants nothing the user could not do anyway; a server that keeps root for
//! users with shell access to their folder root should not rely on it. Closing the gap needs
//! `openat` on every component from a root directory descriptor, which the engine's path-based
//! API does not carry yet.

use std::collections::HashSet;
use std::fs::{self, Metadata};
use std::io::{self, Read, Write};

use camino::{Utf8Path, Utf8PathBuf};
use dmail_conf::Platform;

use crate::fsutil;
use crate::layout::{MailPaths, subscription_file_name};
use crate::mbox::from_line;
use crate::names::{MAX_DEPTH, MAX_PATH_BYTES, MailboxName, NameError};
use crate::pattern::Pattern;
use crate::subscriptions::Subscriptions;

/// The engine's private directory in the folder root (mailbox-formats.md §3): never listed.
pub const PRIVATE_DIR_NAME: &str = ".imapd";

/// How much of a file the mailbox sniff reads (c-client's `unix_isvalid_fd`, notes §1.1).
pub const SNIFF_BYTES: usize = 1023;

/// Whether the first bytes of a file make it a mailbox: c-client's `unix_isvalid_fd` (notes
/// §1.1), on at most the first [`SNIFF_BYTES`] of `head`. An empty file is a mailbox
/// (mailbox-formats.md §4). Otherwise leading LF, CR, space and tab are skipped, the first other
/// byte must start the file or follow an LF, and its line, with its LF inside the 1,023 bytes,
/// must pass [`from_line::is_valid`]. A file of blanks only is not a mailbox.
///
/// ```
/// use dmail_store::folders::is_mailbox_head;
/// assert!(is_mailbox_head(b""));
/// assert!(is_mailbox_head(b"\nFrom bob Sat Dec 26 09:37:48 1998\nSubject: x\n"));
/// assert!(!is_mailbox_head(b"From bob Sat Dec 26 09:37:48 1998")); // no LF
/// assert!(!is_mailbox_head(b"  From bob Sat Dec 26 09:37:48 1998\n")); // not at a line start
/// assert!(!is_mailbox_head(b"INBOX\nWork/2000\n"));
/// ```
pub fn is_mailbox_head(head: &[u8]) -> bool {
    let head = head.get(..SNIFF_BYTES).unwrap_or(head);
    if head.is_empty() {
        return true;
    }
    let Some(start) = head
        .iter()
        .position(|&b| !matches!(b, b'\n' | b'\r' | b' ' | b'\t'))
    else {
        return false;
    };
    if start > 0 && head[start - 1] != b'\n' {
        return false;
    }
    let line = &head[start..];
    match line.iter().position(|&b| b == b'\n') {
        Some(lf) => from_line::is_valid(&line[..=lf]),
        None => false,
    }
}

/// A mailbox attribute in LIST and LSUB responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// A mailbox file: no folder can be created below it (implies `\HasNoChildren`).
    NoInferiors,
    /// A directory: it holds folders, not messages.
    NoSelect,
    /// New mail since the mailbox was last read (c-client's atime rule, [`marked_attribute`]).
    Marked,
    /// No new mail.
    UnMarked,
    /// A directory holding at least one listable folder (RFC 3348).
    HasChildren,
    /// A directory holding no listable folder (RFC 3348).
    HasNoChildren,
}

impl Attribute {
    /// Every attribute, in the order responses list them: c-client's `\Noinferiors \Noselect
    /// \Marked \Unmarked` (notes §4.3 step 7), then the RFC 3348 ones.
    pub const ALL: [Attribute; 6] = [
        Attribute::NoInferiors,
        Attribute::NoSelect,
        Attribute::Marked,
        Attribute::UnMarked,
        Attribute::HasChildren,
        Attribute::HasNoChildren,
    ];

    /// The attribute as RFC 3501 and RFC 3348 spell it (`\Unmarked`; UW wrote `\UnMarked`, and
    /// attributes are case-insensitive).
    pub const fn name(self) -> &'static str {
        match self {
            Attribute::NoInferiors => "\\Noinferiors",
            Attribute::NoSelect => "\\Noselect",
            Attribute::Marked => "\\Marked",
            Attribute::UnMarked => "\\Unmarked",
            Attribute::HasChildren => "\\HasChildren",
            Attribute::HasNoChildren => "\\HasNoChildren",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of [`Attribute`]s.
///
/// ```
/// use dmail_store::folders::{Attribute, Attributes};
/// let a = Attributes::of(&[Attribute::Marked, Attribute::NoInferiors]);
/// assert!(a.contains(Attribute::Marked));
/// assert_eq!(a.iter().collect::<Vec<_>>(), [Attribute::NoInferiors, Attribute::Marked]);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Attributes(u8);

impl Attributes {
    /// No attributes.
    pub const fn empty() -> Attributes {
        Attributes(0)
    }

    /// The set of the given attributes.
    pub fn of(attributes: &[Attribute]) -> Attributes {
        attributes
            .iter()
            .fold(Attributes::empty(), |set, &a| set.with(a))
    }

    /// This set plus `attribute`.
    pub const fn with(self, attribute: Attribute) -> Attributes {
        Attributes(self.0 | attribute.bit())
    }

    /// Whether `attribute` is in the set.
    pub const fn contains(self, attribute: Attribute) -> bool {
        self.0 & attribute.bit() != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The attributes in response order ([`Attribute::ALL`]).
    pub fn iter(self) -> impl Iterator<Item = Attribute> {
        Attribute::ALL
            .into_iter()
            .filter(move |&a| self.contains(a))
    }
}

impl std::fmt::Debug for Attributes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Attribute::name))
            .finish()
    }
}

/// c-client 4.4's `\Marked` rule (notes §4.3 step 5, §1.12), on whole seconds: `\Marked` when
/// the file is non-empty and was changed after it was last read (atime \< ctime); nothing when
/// it is non-empty and atime equals ctime; `\Unmarked` otherwise (empty, or read since).
///
/// ```
/// use dmail_store::folders::{marked_attribute, Attribute};
/// assert_eq!(marked_attribute(10, 100, 200), Some(Attribute::Marked));
/// assert_eq!(marked_attribute(10, 200, 200), None);
/// assert_eq!(marked_attribute(0, 100, 200), Some(Attribute::UnMarked));
/// ```
pub fn marked_attribute(size: u64, atime: i64, ctime: i64) -> Option<Attribute> {
    if size > 0 && atime < ctime {
        Some(Attribute::Marked)
    } else if size > 0 && atime == ctime {
        None
    } else {
        Some(Attribute::UnMarked)
    }
}

/// The name in a LIST or LSUB entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ListName {
    /// The hierarchy root, answering `LIST "" ""` (sent as `""`; RFC 3501 §6.3.8 allows the
    /// empty string as the root of a non-rooted hierarchy).
    Root,
    /// A mailbox or directory.
    Mailbox(MailboxName),
}

impl ListName {
    /// The name as sent to the client: `""` for the root.
    pub fn as_str(&self) -> &str {
        match self {
            ListName::Root => "",
            ListName::Mailbox(name) => name.as_str(),
        }
    }
}

/// One line of a LIST or LSUB response; the delimiter is always `/`
/// ([`DELIMITER`](crate::names::DELIMITER)), INBOX included (mailbox-formats.md §4).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ListEntry {
    /// The name.
    pub name: ListName,
    /// Its attributes.
    pub attributes: Attributes,
}

impl ListEntry {
    fn mailbox(name: MailboxName, attributes: Attributes) -> ListEntry {
        ListEntry {
            name: ListName::Mailbox(name),
            attributes,
        }
    }
}

/// What a name resolves to on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// INBOX: the drop file, which may be missing (an empty mailbox).
    Inbox,
    /// A mailbox file.
    Mailbox,
    /// A directory of folders.
    Directory,
    /// A regular file that is not a mailbox, a device, FIFO or socket, or the drop file seen
    /// from inside the folder root.
    NotAMailbox,
    /// Nothing (or a file where a directory on the way should be).
    Missing,
}

/// A resolved name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The path (the drop file for INBOX).
    pub path: Utf8PathBuf,
    /// What is there.
    pub node: Node,
}

/// What [`Folders::delete`] removed. The caller then removes the engine's private data for it
/// (index, change log, journal in [`Folders::private_dir`]); this module never touches those.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removed {
    /// A mailbox file was unlinked.
    Mailbox(Utf8PathBuf),
    /// An empty directory was removed.
    Directory(Utf8PathBuf),
}

/// What [`Folders::rename`] moved. The caller moves the engine's private data along (for a
/// directory, that of every mailbox below it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Renamed {
    /// The old path.
    pub from: Utf8PathBuf,
    /// The new path.
    pub to: Utf8PathBuf,
    /// Whether a directory (with its subtree) moved, rather than one mailbox file.
    pub directory: bool,
}

/// The operations INBOX does not allow here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InboxOperation {
    /// CREATE INBOX.
    Create,
    /// DELETE INBOX.
    Delete,
    /// RENAME INBOX: the engine's job (it moves the messages).
    Rename,
}

/// Why a folder operation failed. The Display text names the mailbox and never a server path;
/// [`path`](Self::path) gives the path for the log.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// The name cannot be a file here (NT-only characters, too long a path with this root, the
    /// subscription list's name).
    #[error("Invalid mailbox name {name}: {source}")]
    InvalidName {
        /// The name.
        name: MailboxName,
        /// Why.
        source: NameError,
    },
    /// Nothing has this name (`NO [NONEXISTENT]`).
    #[error("Mailbox doesn't exist: {name}")]
    NonExistent {
        /// The name.
        name: MailboxName,
        /// Where it would be.
        path: Utf8PathBuf,
    },
    /// A file that is not a mailbox has this name; clients are told `NO [NONEXISTENT]` and the
    /// file is left untouched.
    #[error("Mailbox doesn't exist: {name} (not a mailbox)")]
    NotAMailbox {
        /// The name.
        name: MailboxName,
        /// The file.
        path: Utf8PathBuf,
    },
    /// A symlink lies on the way; it is never followed (clients: `NO [NONEXISTENT]`).
    #[error("Mailbox doesn't exist: {name} (symbolic links are not followed)")]
    Symlink {
        /// The name.
        name: MailboxName,
        /// The symlink.
        path: Utf8PathBuf,
    },
    /// The name is a directory of folders, not a mailbox (SELECT, STATUS, APPEND, COPY).
    #[error("Mailbox {name} holds folders, not messages, and cannot be selected")]
    NoSelect {
        /// The name.
        name: MailboxName,
        /// The directory.
        path: Utf8PathBuf,
    },
    /// The name exists (`NO [ALREADYEXISTS]`).
    #[error("Mailbox already exists: {name}")]
    AlreadyExists {
        /// The name.
        name: MailboxName,
        /// What is there.
        path: Utf8PathBuf,
    },
    /// A level above the new name is a file, which cannot hold folders (`CREATE a/b` with a
    /// mailbox `a`).
    #[error("Can't create {name}: {parent} is a mailbox, and mailboxes cannot hold folders")]
    ParentNotDirectory {
        /// The name being created.
        name: MailboxName,
        /// The level that is a file.
        parent: MailboxName,
        /// Its path.
        path: Utf8PathBuf,
    },
    /// DELETE of a directory that still holds something.
    #[error("Can't delete {name}: it still holds folders")]
    NotEmpty {
        /// The name.
        name: MailboxName,
        /// The directory.
        path: Utf8PathBuf,
    },
    /// A trailing `/` (a directory) where a mailbox file is meant, or the reverse.
    #[error("{name} names a directory, but the mailbox is not one")]
    DirectoryIntent {
        /// The name written with the trailing `/`.
        name: MailboxName,
    },
    /// RENAME of a directory into its own subtree.
    #[error("Can't rename {from} into itself ({to})")]
    IntoItself {
        /// The directory.
        from: MailboxName,
        /// The target inside it.
        to: MailboxName,
    },
    /// CREATE, DELETE or RENAME of INBOX.
    #[error("{}", match operation {
        InboxOperation::Create => "Can't create INBOX",
        InboxOperation::Delete => "Can't delete INBOX",
        InboxOperation::Rename => "RENAME of INBOX moves its messages; the engine does it",
    })]
    Inbox {
        /// The operation refused.
        operation: InboxOperation,
    },
    /// The folder root cannot be used (not a directory, cannot be created or read).
    #[error("The folder directory is not available")]
    Root {
        /// The folder root.
        path: Utf8PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Another system error.
    #[error("Can't access mailbox {name}: {}", source.kind())]
    Io {
        /// The name.
        name: MailboxName,
        /// The path the call failed on.
        path: Utf8PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl FolderError {
    /// The server path involved, for the log.
    pub fn path(&self) -> Option<&Utf8Path> {
        match self {
            FolderError::NonExistent { path, .. }
            | FolderError::NotAMailbox { path, .. }
            | FolderError::Symlink { path, .. }
            | FolderError::NoSelect { path, .. }
            | FolderError::AlreadyExists { path, .. }
            | FolderError::ParentNotDirectory { path, .. }
            | FolderError::NotEmpty { path, .. }
            | FolderError::Root { path, .. }
            | FolderError::Io { path, .. } => Some(path),
            FolderError::InvalidName { .. }
            | FolderError::DirectoryIntent { .. }
            | FolderError::IntoItself { .. }
            | FolderError::Inbox { .. } => None,
        }
    }

    /// Whether clients should be told `NO [NONEXISTENT]`: nothing there, not a mailbox, or a
    /// symlink in the way.
    pub fn is_nonexistent(&self) -> bool {
        matches!(
            self,
            FolderError::NonExistent { .. }
                | FolderError::NotAMailbox { .. }
                | FolderError::Symlink { .. }
        )
    }

    /// Whether clients should be told `NO [ALREADYEXISTS]`.
    pub fn is_already_exists(&self) -> bool {
        matches!(self, FolderError::AlreadyExists { .. })
    }
}

/// One user's folders: the folder root, the drop file (INBOX) and the subscription list.
///
/// ```
/// use dmail_conf::Platform;
/// use dmail_store::folders::{Folders, ListName};
/// use dmail_store::names::MailboxName;
/// let dir = tempfile::tempdir().unwrap();
/// let root = camino::Utf8Path::from_path(dir.path()).unwrap().join("bob.mbx");
/// let folders = Folders::new(root, "/nonexistent/bob".into(), Platform::Unix);
/// let work = MailboxName::parse(b"Work/2000").unwrap();
/// folders.create(&work, b"").unwrap();
/// let names: Vec<String> = folders.list(b"", b"*").unwrap().iter()
///     .map(|e| e.name.as_str().to_owned()).collect();
/// assert_eq!(names, ["INBOX", "Work", "Work/2000"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folders {
    root: Utf8PathBuf,
    drop_file: Utf8PathBuf,
    subscriptions: Utf8PathBuf,
    platform: Platform,
}

impl Folders {
    /// Folders below `root` (a folder directory, [`MailPaths::folder_dir`]) with INBOX at
    /// `drop_file` and the platform's subscription list in the root.
    pub fn new(root: Utf8PathBuf, drop_file: Utf8PathBuf, platform: Platform) -> Folders {
        let subscriptions = root.join(subscription_file_name(platform));
        Folders {
            root,
            drop_file,
            subscriptions,
            platform,
        }
    }

    /// Folders as [`layout::mail_paths`](crate::layout::mail_paths) placed them.
    pub fn from_paths(paths: &MailPaths, platform: Platform) -> Folders {
        Folders {
            root: paths.folder_dir.clone(),
            drop_file: paths.drop_file.as_path().to_owned(),
            subscriptions: paths.subscriptions.clone(),
            platform,
        }
    }

    /// The folder root.
    pub fn root(&self) -> &Utf8Path {
        &self.root
    }

    /// The drop file (INBOX).
    pub fn drop_file(&self) -> &Utf8Path {
        &self.drop_file
    }

    /// The engine's private directory, `ROOT/.imapd` (mailbox-formats.md §3).
    pub fn private_dir(&self) -> Utf8PathBuf {
        self.root.join(PRIVATE_DIR_NAME)
    }

    /// The subscription list.
    pub fn subscriptions(&self) -> Subscriptions {
        Subscriptions::new(self.subscriptions.clone(), self.platform)
    }

    /// Creates the folder root if it is missing (mode 0700; its parent must exist: spool
    /// directories are never made here, dmail-conventions §5, §11).
    pub fn ensure_root(&self) -> Result<(), FolderError> {
        let root_err = |source| FolderError::Root {
            path: self.root.clone(),
            source,
        };
        match fs::metadata(&self.root) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(root_err(io::Error::from(io::ErrorKind::NotADirectory))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match fsutil::create_private_dir(self.root.as_std_path()) {
                    Ok(()) => {}
                    // Created meanwhile by another session: fine if it is a directory now.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(root_err(e)),
                }
                match fs::metadata(&self.root) {
                    Ok(m) if m.is_dir() => Ok(()),
                    Ok(_) => Err(root_err(io::Error::from(io::ErrorKind::NotADirectory))),
                    Err(e) => Err(root_err(e)),
                }
            }
            Err(e) => Err(root_err(e)),
        }
    }

    /// The path a name maps to, without looking at the disk: the drop file for INBOX, else
    /// `ROOT/NAME`. Fails for names this platform cannot hold, the subscription list's name,
    /// and paths of [`MAX_PATH_BYTES`] or more.
    pub fn path_of(&self, name: &MailboxName) -> Result<Utf8PathBuf, FolderError> {
        if name.is_inbox() {
            return Ok(self.drop_file.clone());
        }
        let invalid = |source| FolderError::InvalidName {
            name: name.clone(),
            source,
        };
        name.check_platform(self.platform).map_err(invalid)?;
        if name.depth() == 1 && self.is_subscription_file(name.as_str()) {
            return Err(invalid(NameError::Reserved));
        }
        let len = self.root.as_str().len() + 1 + name.as_str().len();
        if len >= MAX_PATH_BYTES {
            return Err(invalid(NameError::TooLong { len }));
        }
        Ok(self.root.join(name.as_str()))
    }

    /// Resolves a name without following symlinks: every component below the root is checked
    /// with `symlink_metadata`, and a file's first line is sniffed ([`is_mailbox_head`]). A
    /// symlink on the way fails with [`FolderError::Symlink`]; a missing root, a missing
    /// component or a file where a directory should be gives [`Node::Missing`].
    pub fn resolve(&self, name: &MailboxName) -> Result<Resolved, FolderError> {
        let path = self.path_of(name)?;
        if name.is_inbox() {
            return Ok(Resolved {
                path,
                node: Node::Inbox,
            });
        }
        let missing = |path| {
            Ok(Resolved {
                path,
                node: Node::Missing,
            })
        };
        match fs::metadata(&self.root) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(FolderError::Root {
                    path: self.root.clone(),
                    source: io::Error::from(io::ErrorKind::NotADirectory),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return missing(path),
            Err(source) => {
                return Err(FolderError::Root {
                    path: self.root.clone(),
                    source,
                });
            }
        }
        let mut current = self.root.clone();
        let depth = name.depth();
        for (i, component) in name.components().enumerate() {
            current.push(component);
            let meta = match fs::symlink_metadata(&current) {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return missing(path),
                Err(source) => return Err(self.io(name, &current, source)),
            };
            if meta.file_type().is_symlink() {
                return Err(FolderError::Symlink {
                    name: name.clone(),
                    path: current,
                });
            }
            if i + 1 < depth {
                if !meta.is_dir() {
                    return missing(path);
                }
                continue;
            }
            let node = if meta.is_dir() {
                Node::Directory
            } else if meta.is_file() && !is_same_file(&meta, self.drop_id()) {
                match sniff(&current) {
                    Ok(true) => Node::Mailbox,
                    Ok(false) => Node::NotAMailbox,
                    Err(e) if fsutil::is_symlink_refusal(&e) => {
                        return Err(FolderError::Symlink {
                            name: name.clone(),
                            path: current,
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return missing(path),
                    Err(source) => return Err(self.io(name, &current, source)),
                }
            } else {
                Node::NotAMailbox
            };
            return Ok(Resolved { path, node });
        }
        missing(path)
    }

    /// The path of a mailbox that can be selected, for SELECT, EXAMINE, STATUS, APPEND and COPY:
    /// the drop file for INBOX (even when it is missing), or a mailbox file. A directory fails
    /// with [`FolderError::NoSelect`]; a file that is not a mailbox with
    /// [`FolderError::NotAMailbox`]; nothing with [`FolderError::NonExistent`].
    pub fn selectable(&self, name: &MailboxName) -> Result<Utf8PathBuf, FolderError> {
        let resolved = self.resolve(name)?;
        let name = name.clone();
        let path = resolved.path;
        match resolved.node {
            Node::Inbox => Ok(path),
            Node::Mailbox if !name.is_directory_intent() => Ok(path),
            Node::Mailbox | Node::Missing => Err(FolderError::NonExistent { name, path }),
            Node::Directory => Err(FolderError::NoSelect { name, path }),
            Node::NotAMailbox => Err(FolderError::NotAMailbox { name, path }),
        }
    }

    /// LIST (RFC 3501 §6.3.8; notes §4.3). `reference` and `pattern` are the command's
    /// arguments after quoting is undone. An empty pattern answers the hierarchy delimiter
    /// request with one [`ListName::Root`] entry (`\Noselect`). Otherwise: INBOX first when it
    /// matches (with `\Noinferiors`, or `\HasChildren` when a directory named `INBOX` holds
    /// folders, and its mark), then the folder tree depth first in byte order of names,
    /// a directory before its contents. Directories get `\Noselect` and `\HasChildren` or
    /// `\HasNoChildren`; mailbox files `\Noinferiors` and their mark ([`marked_attribute`]).
    ///
    /// The walk never follows a symlink, never goes deeper than [`MAX_DEPTH`] levels, never
    /// enters a directory twice (bind mounts), and skips subtrees the pattern cannot match
    /// (c-client's `dmatch`). Unreadable subdirectories are skipped silently; a missing folder
    /// root lists only INBOX. Departs from c-client: `LIST "" "Work/%"` does not also return
    /// `Work/` itself.
    pub fn list(&self, reference: &[u8], pattern: &[u8]) -> Result<Vec<ListEntry>, FolderError> {
        if pattern.is_empty() {
            return Ok(vec![ListEntry {
                name: ListName::Root,
                attributes: Attributes::empty().with(Attribute::NoSelect),
            }]);
        }
        let pattern = Pattern::with_reference(reference, pattern);
        let mut out = Vec::new();
        if pattern.matches_inbox() {
            out.push(self.inbox_entry());
        }
        let root_meta = match fs::metadata(&self.root) {
            Ok(m) if m.is_dir() => m,
            Ok(_) => {
                return Err(FolderError::Root {
                    path: self.root.clone(),
                    source: io::Error::from(io::ErrorKind::NotADirectory),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(source) => {
                return Err(FolderError::Root {
                    path: self.root.clone(),
                    source,
                });
            }
        };
        let entries = read_dir_sorted(&self.root).map_err(|source| FolderError::Root {
            path: self.root.clone(),
            source,
        })?;
        let mut walk = Walk {
            folders: self,
            pattern: &pattern,
            visited: HashSet::new(),
            drop_id: self.drop_id(),
            out,
        };
        if let Some(id) = fsutil::file_id(&root_meta) {
            walk.visited.insert(id);
        }
        walk.entries("", 1, entries);
        Ok(walk.out)
    }

    /// CREATE (notes §4.5): `a/b` creates the missing directories on the way (mode 0700) and
    /// the mailbox file `b` (mode 0600, `O_EXCL`), holding `initial` (the engine's
    /// pseudo-message), written and fsynced before this returns; `a/` creates only directories.
    /// The folder root is created on first use. Fails with [`FolderError::Inbox`] for INBOX,
    /// [`FolderError::AlreadyExists`] when anything has the name (a non-mailbox file included),
    /// [`FolderError::ParentNotDirectory`] below a file, [`FolderError::Symlink`] through a
    /// symlink. On failure, directories this call created are removed again.
    pub fn create(&self, name: &MailboxName, initial: &[u8]) -> Result<Utf8PathBuf, FolderError> {
        if name.is_inbox() {
            return Err(FolderError::Inbox {
                operation: InboxOperation::Create,
            });
        }
        let path = self.path_of(name)?;
        self.ensure_root()?;
        let created = self.make_parents(name)?;
        let result = self.create_last(name, &path, initial);
        if result.is_err() {
            remove_created(&created);
        }
        result.map(|()| path)
    }

    /// The last step of [`create`](Self::create).
    fn create_last(
        &self,
        name: &MailboxName,
        path: &Utf8Path,
        initial: &[u8],
    ) -> Result<(), FolderError> {
        let exists = || FolderError::AlreadyExists {
            name: name.clone(),
            path: path.to_owned(),
        };
        if name.is_directory_intent() {
            match fsutil::create_private_dir(path.as_std_path()) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(exists()),
                Err(source) => return Err(self.io(name, path, source)),
            }
        } else {
            let mut file = match fsutil::create_new_file(path.as_std_path()) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(exists()),
                Err(source) => return Err(self.io(name, path, source)),
            };
            if let Err(source) = file.write_all(initial).and_then(|()| file.sync_all()) {
                drop(file);
                let _ = fs::remove_file(path);
                return Err(self.io(name, path, source));
            }
        }
        self.sync_parent(name, path)
    }

    /// Creates the missing directories above `name` (mode 0700), refusing symlinks and files on
    /// the way. Returns the directories it created, outermost first.
    fn make_parents(&self, name: &MailboxName) -> Result<Vec<Utf8PathBuf>, FolderError> {
        let mut created = Vec::new();
        let result = self.make_parents_into(name, &mut created);
        if result.is_err() {
            remove_created(&created);
        }
        result.map(|()| created)
    }

    fn make_parents_into(
        &self,
        name: &MailboxName,
        created: &mut Vec<Utf8PathBuf>,
    ) -> Result<(), FolderError> {
        let components: Vec<&str> = name.components().collect();
        let Some((_, parents)) = components.split_last() else {
            return Ok(());
        };
        let mut current = self.root.clone();
        for (i, component) in parents.iter().enumerate() {
            current.push(component);
            match fs::symlink_metadata(&current) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(FolderError::Symlink {
                        name: name.clone(),
                        path: current,
                    });
                }
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    let parent = components[..=i].join("/");
                    return Err(FolderError::ParentNotDirectory {
                        name: name.clone(),
                        parent: MailboxName::parse(parent.as_bytes())
                            .unwrap_or_else(|_| name.clone()),
                        path: current,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fsutil::create_private_dir(current.as_std_path())
                        .map_err(|source| self.io(name, &current, source))?;
                    created.push(current.clone());
                }
                Err(source) => return Err(self.io(name, &current, source)),
            }
        }
        Ok(())
    }

    /// DELETE (notes §4.6): unlinks a mailbox file or removes an empty directory. Fails with
    /// [`FolderError::Inbox`] for INBOX, [`FolderError::NotEmpty`] for a directory that holds
    /// anything (even hidden files), [`FolderError::NotAMailbox`] for a file that is not a
    /// mailbox (left untouched), [`FolderError::NonExistent`] when nothing is there (or `a/`
    /// names a mailbox file). The dot-lock, if any, is left alone; the caller holds the
    /// mailbox's locks and removes its private data ([`Removed`]).
    pub fn delete(&self, name: &MailboxName) -> Result<Removed, FolderError> {
        if name.is_inbox() {
            return Err(FolderError::Inbox {
                operation: InboxOperation::Delete,
            });
        }
        let resolved = self.resolve(name)?;
        let path = resolved.path;
        match resolved.node {
            Node::Mailbox if !name.is_directory_intent() => {
                fs::remove_file(&path).map_err(|source| self.io(name, &path, source))?;
                self.sync_parent(name, &path)?;
                Ok(Removed::Mailbox(path))
            }
            Node::Directory => {
                match fs::remove_dir(&path) {
                    Ok(()) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::DirectoryNotEmpty | io::ErrorKind::AlreadyExists
                        ) =>
                    {
                        return Err(FolderError::NotEmpty {
                            name: name.clone(),
                            path,
                        });
                    }
                    Err(source) => return Err(self.io(name, &path, source)),
                }
                self.sync_parent(name, &path)?;
                Ok(Removed::Directory(path))
            }
            Node::NotAMailbox => Err(FolderError::NotAMailbox {
                name: name.clone(),
                path,
            }),
            Node::Mailbox | Node::Missing | Node::Inbox => Err(FolderError::NonExistent {
                name: name.clone(),
                path,
            }),
        }
    }

    /// RENAME (notes §4.7): moves a mailbox file, or a directory with everything below it,
    /// creating the target's missing parent directories (removed again on failure). Never
    /// replaces anything. Fails with [`FolderError::Inbox`] when `from` is INBOX (the engine
    /// moves INBOX's messages instead; callers must special-case it),
    /// [`FolderError::AlreadyExists`] when `to` exists (INBOX always does),
    /// [`FolderError::NotAMailbox`] / [`FolderError::NonExistent`] for the source as
    /// [`delete`](Self::delete) does, [`FolderError::IntoItself`] for `a` → `a/b`,
    /// [`FolderError::DirectoryIntent`] when a trailing `/` on `to` meets a mailbox file, and
    /// [`FolderError::ParentNotDirectory`] below a file. The caller holds the locks and moves
    /// the private data ([`Renamed`]).
    pub fn rename(&self, from: &MailboxName, to: &MailboxName) -> Result<Renamed, FolderError> {
        if from.is_inbox() {
            return Err(FolderError::Inbox {
                operation: InboxOperation::Rename,
            });
        }
        let source = self.resolve(from)?;
        let directory = match source.node {
            Node::Directory => true,
            Node::Mailbox if !from.is_directory_intent() => false,
            Node::NotAMailbox => {
                return Err(FolderError::NotAMailbox {
                    name: from.clone(),
                    path: source.path,
                });
            }
            Node::Mailbox | Node::Missing | Node::Inbox => {
                return Err(FolderError::NonExistent {
                    name: from.clone(),
                    path: source.path,
                });
            }
        };
        if to.is_inbox() {
            return Err(FolderError::AlreadyExists {
                name: to.clone(),
                path: self.drop_file.clone(),
            });
        }
        if to.is_directory_intent() && !directory {
            return Err(FolderError::DirectoryIntent { name: to.clone() });
        }
        let target = self.path_of(to)?;
        if from.as_str() == to.as_str() {
            return Err(FolderError::AlreadyExists {
                name: to.clone(),
                path: target,
            });
        }
        if directory && to.is_below(from) {
            return Err(FolderError::IntoItself {
                from: from.clone(),
                to: to.clone(),
            });
        }
        match self.resolve(to)?.node {
            Node::Missing => {}
            _ => {
                return Err(FolderError::AlreadyExists {
                    name: to.clone(),
                    path: target,
                });
            }
        }
        let created = self.make_parents(to)?;
        let moved = match fsutil::rename_noreplace(source.path.as_std_path(), target.as_std_path())
        {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(FolderError::AlreadyExists {
                name: to.clone(),
                path: target.clone(),
            }),
            Err(source) => Err(self.io(to, &target, source)),
        };
        if let Err(e) = moved {
            remove_created(&created);
            return Err(e);
        }
        self.sync_parent(to, &target)?;
        self.sync_parent(from, &source.path)?;
        Ok(Renamed {
            from: source.path,
            to: target,
            directory,
        })
    }

    /// The INBOX line of LIST.
    fn inbox_entry(&self) -> ListEntry {
        let mut attributes = Attributes::empty();
        let inbox_dir = self.root.join("INBOX");
        let has_children = fs::symlink_metadata(&inbox_dir).is_ok_and(|m| m.is_dir())
            && self.has_listable_child(&inbox_dir, "INBOX", 2, self.drop_id());
        attributes = attributes.with(if has_children {
            Attribute::HasChildren
        } else {
            Attribute::NoInferiors
        });
        // The drop file is configuration: follow a symlink to it. Missing means empty.
        let mark = match fs::metadata(&self.drop_file) {
            Ok(meta) => {
                let (atime, ctime) = fsutil::atime_ctime(&meta);
                marked_attribute(meta.len(), atime, ctime)
            }
            Err(_) => marked_attribute(0, 0, 0),
        };
        if let Some(mark) = mark {
            attributes = attributes.with(mark);
        }
        ListEntry::mailbox(MailboxName::inbox(), attributes)
    }

    /// The name a directory entry has as a folder, if it can have one: not hidden, not a lock,
    /// not the subscription list, a valid [`MailboxName`] that maps to a usable path.
    fn entry_name(&self, prefix: &str, entry: &str, depth: usize) -> Option<MailboxName> {
        if entry.starts_with('.') || depth > MAX_DEPTH {
            return None;
        }
        if depth == 1 && self.is_subscription_file(entry) {
            return None;
        }
        let full = if prefix.is_empty() {
            entry.to_owned()
        } else {
            format!("{prefix}/{entry}")
        };
        let name = MailboxName::parse(full.as_bytes()).ok()?;
        if name.is_directory_intent() {
            return None;
        }
        self.path_of(&name).ok()?;
        Some(name)
    }

    /// Whether a directory holds at least one entry LIST would show.
    fn has_listable_child(
        &self,
        dir: &Utf8Path,
        prefix: &str,
        depth: usize,
        drop_id: Option<(u64, u64)>,
    ) -> bool {
        let Ok(entries) = read_dir_sorted(dir) else {
            return false;
        };
        entries.iter().any(|(entry, path)| {
            let Some(name) = self.entry_name(prefix, entry, depth) else {
                return false;
            };
            if name.is_inbox() {
                return false;
            }
            match fs::symlink_metadata(path) {
                Ok(meta) if meta.is_dir() => true,
                Ok(meta) if meta.is_file() => {
                    !is_same_file(&meta, drop_id) && sniff(path).unwrap_or(false)
                }
                _ => false,
            }
        })
    }

    /// Whether `entry` (a top-level file name) is the subscription list's.
    fn is_subscription_file(&self, entry: &str) -> bool {
        if self.subscriptions.parent() != Some(self.root.as_path()) {
            return false;
        }
        let Some(file) = self.subscriptions.file_name() else {
            return false;
        };
        match self.platform {
            Platform::Unix => entry == file,
            Platform::Nt => entry.eq_ignore_ascii_case(file),
        }
    }

    /// The drop file's identity, to recognise it should it lie inside the folder root.
    fn drop_id(&self) -> Option<(u64, u64)> {
        fs::metadata(&self.drop_file)
            .ok()
            .and_then(|m| fsutil::file_id(&m))
    }

    /// Makes the new or removed name durable.
    fn sync_parent(&self, name: &MailboxName, path: &Utf8Path) -> Result<(), FolderError> {
        match path.parent() {
            Some(parent) => fsutil::sync_dir(parent.as_std_path())
                .map_err(|source| self.io(name, parent, source)),
            None => Ok(()),
        }
    }

    fn io(&self, name: &MailboxName, path: &Utf8Path, source: io::Error) -> FolderError {
        FolderError::Io {
            name: name.clone(),
            path: path.to_owned(),
            source,
        }
    }
}

/// The state of one LIST walk.
struct Walk<'a> {
    folders: &'a Folders,
    pattern: &'a Pattern,
    /// Directories entered, by (device, inode).
    visited: HashSet<(u64, u64)>,
    /// The drop file's identity ([`Folders::drop_id`]), looked up once per walk.
    drop_id: Option<(u64, u64)>,
    out: Vec<ListEntry>,
}

impl Walk<'_> {
    /// Lists the entries of one directory, whose children are at `depth` (1 for the root's).
    fn entries(&mut self, prefix: &str, depth: usize, entries: Vec<(String, Utf8PathBuf)>) {
        for (entry, path) in entries {
            let Some(name) = self.folders.entry_name(prefix, &entry, depth) else {
                continue;
            };
            // A top-level entry named INBOX in any case is not listed; a directory's children
            // are ordinary folders.
            let top_inbox = depth == 1 && entry.eq_ignore_ascii_case("INBOX");
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let full = if top_inbox {
                entry.clone()
            } else {
                name.as_str().to_owned()
            };
            if meta.is_dir() {
                if !top_inbox && self.pattern.matches(full.as_bytes()) {
                    let children =
                        if self
                            .folders
                            .has_listable_child(&path, &full, depth + 1, self.drop_id)
                        {
                            Attribute::HasChildren
                        } else {
                            Attribute::HasNoChildren
                        };
                    let attributes = Attributes::of(&[Attribute::NoSelect, children]);
                    self.out.push(ListEntry::mailbox(name, attributes));
                }
                let below = format!("{full}/");
                if depth < MAX_DEPTH && self.pattern.may_match_below(below.as_bytes()) {
                    let fresh = fsutil::file_id(&meta).is_none_or(|id| self.visited.insert(id));
                    if fresh && let Ok(children) = read_dir_sorted(&path) {
                        self.entries(&full, depth + 1, children);
                    }
                }
            } else if meta.is_file()
                && !top_inbox
                && self.pattern.matches(full.as_bytes())
                && !is_same_file(&meta, self.drop_id)
                && sniff(&path).unwrap_or(false)
            {
                let mut attributes = Attributes::empty().with(Attribute::NoInferiors);
                let (atime, ctime) = fsutil::atime_ctime(&meta);
                if let Some(mark) = marked_attribute(meta.len(), atime, ctime) {
                    attributes = attributes.with(mark);
                }
                self.out.push(ListEntry::mailbox(name, attributes));
            }
        }
    }
}

/// Whether `meta` is the file identified by `id`.
fn is_same_file(meta: &Metadata, id: Option<(u64, u64)>) -> bool {
    id.is_some() && fsutil::file_id(meta) == id
}

/// A directory's entries with UTF-8 names, sorted by name (`.` and `..` are never returned).
fn read_dir_sorted(dir: &Utf8Path) -> io::Result<Vec<(String, Utf8PathBuf)>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if let Ok(name) = entry.file_name().into_string() {
            let path = dir.join(&name);
            entries.push((name, path));
        }
    }
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

/// Reads a file's first bytes without following a symlink and applies [`is_mailbox_head`].
/// Anything but a regular file (checked on the open descriptor) is not a mailbox.
fn sniff(path: &Utf8Path) -> io::Result<bool> {
    let file = fsutil::open_read_nofollow(path.as_std_path())?;
    if !file.metadata()?.is_file() {
        return Ok(false);
    }
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    file.take(SNIFF_BYTES as u64).read_to_end(&mut head)?;
    Ok(is_mailbox_head(&head))
}

/// Removes directories this call created, innermost first, ignoring failures (best effort:
/// another session may have put something in them meanwhile).
fn remove_created(created: &[Utf8PathBuf]) {
    for dir in created.iter().rev() {
        let _ = fs::remove_dir(dir);
    }
}

#[cfg(test)]
mod tests;
