//! Home directories from the system database (passwd, NSS), for `imapd_mailbox_name`.
//!
//! This module only looks up; it must never guess a home directory (a missing user or a home
//! that is not UTF-8 is an error, never a default) and never read the environment (`$HOME`).

use camino::Utf8PathBuf;
use nix::unistd::User;

/// The home directory of `system_name` in the system database, or why there is none. An empty or
/// relative home field counts as none, so that folders never land relative to the current
/// directory.
pub(crate) fn system_home(system_name: &str) -> Result<Utf8PathBuf, String> {
    let missing = || format!("no home directory for system user {system_name}");
    match User::from_name(system_name) {
        Ok(Some(user)) => match Utf8PathBuf::from_path_buf(user.dir) {
            Ok(dir) if dir.is_absolute() => Ok(dir),
            _ => Err(missing()),
        },
        Ok(None) => Err(missing()),
        Err(errno) => Err(format!("cannot look up system user {system_name}: {errno}")),
    }
}
