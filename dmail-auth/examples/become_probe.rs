//! Switches this process to a system user with `dmail_auth::become_user` and prints what the
//! kernel says about it afterwards, for tests (dmail-conventions §11 step 4). Needs root.
//!
//! ```text
//! become_probe USER [--no-groups] [--twice]
//! ```
//!
//! Prints `switched` (or `error: ...` and exits 1), then the `Uid:`, `Gid:` and `Groups:` lines
//! of /proc/self/status, then `shadow: denied` or `shadow: readable` (whether /etc/shadow can
//! still be opened). `--no-groups` switches with the user's gid only; `--twice` then tries the
//! same switch again and prints its error (`again: ...`), which must fail now that the process
//! is no longer root.

use dmail_auth::become_user::become_user;
use nix::unistd::User;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args.first() else {
        eprintln!("usage: become_probe USER [--no-groups] [--twice]");
        std::process::exit(2);
    };
    let no_groups = args.iter().any(|a| a == "--no-groups");
    let twice = args.iter().any(|a| a == "--twice");
    let user = match User::from_name(name) {
        Ok(Some(user)) => user,
        _ => {
            println!("error: no such user {name}");
            std::process::exit(1);
        }
    };
    let (uid, gid) = (user.uid.as_raw(), user.gid.as_raw());
    let groups_of = (!no_groups).then_some(name.as_str());
    if let Err(e) = become_user(uid, gid, groups_of) {
        println!("error: {e}");
        std::process::exit(1);
    }
    println!("switched");
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status.lines() {
        if line.starts_with("Uid:") || line.starts_with("Gid:") || line.starts_with("Groups:") {
            println!("{line}");
        }
    }
    let shadow = std::fs::File::open("/etc/shadow").is_ok();
    println!("shadow: {}", if shadow { "readable" } else { "denied" });
    if twice {
        match become_user(uid, gid, groups_of) {
            Ok(()) => println!("again: ok"),
            Err(e) => println!("again: {e}"),
        }
    }
}
