//! forward_user records (dmail-conventions §6).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::net::IpAddr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use camino::{Utf8Path, Utf8PathBuf};
use dmail_auth::forward::{may_relay, prune, record_login};
use test_case::test_case;

fn spool() -> (tempfile::TempDir, Utf8PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
    (dir, path)
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

const WINDOW: Duration = Duration::from_secs(600);
const T0: u64 = 1_700_000_000;

// §6: ADDRESS is the canonical text, mapped IPv4 as IPv4, every `:` as `%3A`.
#[test_case("192.0.2.7", "192.0.2.7" ; "ipv4")]
#[test_case("::ffff:192.0.2.7", "192.0.2.7" ; "ipv4-mapped")]
#[test_case("2001:db8::1", "2001%3Adb8%3A%3A1" ; "ipv6")]
#[test_case("2001:DB8:0:0:0:0:0:1", "2001%3Adb8%3A%3A1" ; "ipv6 canonical")]
#[test_case("::1", "%3A%3A1" ; "ipv6 loopback")]
fn record_file_names(ip: &str, file: &str) {
    let (_d, drop_path) = spool();
    let ip: IpAddr = ip.parse().unwrap();
    record_login(&drop_path, ip, at(T0)).unwrap();
    let path = drop_path.join(".forward_user").join(file);
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.is_file());
    assert_eq!(meta.mtime(), T0 as i64, "mtime is the login time");
    assert_eq!(meta.len(), 0);
    let names: Vec<_> = std::fs::read_dir(drop_path.join(".forward_user"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [file]);
}

#[test]
fn directory_and_file_modes() {
    let (_d, drop_path) = spool();
    record_login(&drop_path, "192.0.2.7".parse().unwrap(), at(T0)).unwrap();
    let dir = std::fs::metadata(drop_path.join(".forward_user")).unwrap();
    let file = std::fs::metadata(drop_path.join(".forward_user/192.0.2.7")).unwrap();
    // umask may only remove bits.
    assert_eq!(dir.permissions().mode() & 0o7022, 0);
    assert_eq!(dir.permissions().mode() & 0o700, 0o700);
    assert_eq!(file.permissions().mode() & 0o7133, 0);
}

// forward_window: relay while the last login is less than the window old.
#[test_case(0, true ; "at login")]
#[test_case(599, true ; "inside the window")]
#[test_case(600, false ; "window elapsed")]
#[test_case(86_400, false ; "long after")]
fn relay_window(after: u64, expected: bool) {
    let (_d, drop_path) = spool();
    let ip: IpAddr = "2001:db8::1".parse().unwrap();
    record_login(&drop_path, ip, at(T0)).unwrap();
    assert_eq!(may_relay(&drop_path, ip, at(T0 + after), WINDOW), expected);
    // The mapped form of another address never matches this one.
    assert!(!may_relay(
        &drop_path,
        "::ffff:192.0.2.1".parse().unwrap(),
        at(T0),
        WINDOW
    ));
}

#[test]
fn a_new_login_extends_the_window() {
    let (_d, drop_path) = spool();
    let ip: IpAddr = "::ffff:198.51.100.4".parse().unwrap();
    record_login(&drop_path, ip, at(T0)).unwrap();
    record_login(&drop_path, ip, at(T0 + 500)).unwrap();
    assert!(may_relay(
        &drop_path,
        "198.51.100.4".parse().unwrap(),
        at(T0 + 1000),
        WINDOW
    ));
    assert!(!may_relay(&drop_path, ip, at(T0 + 1100), WINDOW));
}

#[test]
fn no_directory_means_no_relay_and_nothing_to_prune() {
    let (_d, drop_path) = spool();
    assert!(!may_relay(
        &drop_path,
        "192.0.2.7".parse().unwrap(),
        at(T0),
        WINDOW
    ));
    assert_eq!(prune(&drop_path, at(T0), WINDOW).unwrap(), 0);
    assert!(
        !drop_path.join(".forward_user").exists(),
        "read paths create nothing"
    );
}

#[test]
fn prune_removes_only_expired_records() {
    let (_d, drop_path) = spool();
    record_login(&drop_path, "192.0.2.1".parse().unwrap(), at(T0)).unwrap();
    record_login(&drop_path, "192.0.2.2".parse().unwrap(), at(T0 + 100)).unwrap();
    record_login(&drop_path, "2001:db8::2".parse().unwrap(), at(T0 + 300)).unwrap();
    let dir = drop_path.join(".forward_user");
    std::fs::create_dir(dir.join("subdir")).unwrap();
    std::fs::write(dir.join(".hidden"), "").unwrap();
    filetime_zero(&dir.join(".hidden"));
    // At T0+700: the first two are >= 600 s old, the third 400 s.
    assert_eq!(prune(&drop_path, at(T0 + 700), WINDOW).unwrap(), 2);
    let mut left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, [".hidden", "2001%3Adb8%3A%3A2", "subdir"]);
    assert_eq!(prune(&drop_path, at(T0 + 700), WINDOW).unwrap(), 0);
    assert_eq!(prune(&drop_path, at(T0 + 900), WINDOW).unwrap(), 1);
}

/// Sets a file's mtime to the epoch (so only the name rule keeps it from being pruned).
fn filetime_zero(path: &Utf8Path) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(UNIX_EPOCH).unwrap();
}

#[test]
fn symlinks_are_never_followed() {
    let (_d, drop_path) = spool();
    let elsewhere = tempfile::tempdir().unwrap();
    // The directory itself a symlink: refused, nothing written through it.
    std::os::unix::fs::symlink(elsewhere.path(), drop_path.join(".forward_user")).unwrap();
    assert!(record_login(&drop_path, "192.0.2.7".parse().unwrap(), at(T0)).is_err());
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    std::fs::remove_file(drop_path.join(".forward_user")).unwrap();

    // A record that is a symlink to a file: not written through, not a relay permission.
    let target = elsewhere.path().join("target");
    std::fs::write(&target, "keep").unwrap();
    std::fs::create_dir(drop_path.join(".forward_user")).unwrap();
    std::os::unix::fs::symlink(&target, drop_path.join(".forward_user/192.0.2.7")).unwrap();
    let target_mtime = std::fs::metadata(&target).unwrap().mtime();
    assert!(record_login(&drop_path, "192.0.2.7".parse().unwrap(), at(T0)).is_err());
    assert_eq!(std::fs::metadata(&target).unwrap().mtime(), target_mtime);
    assert!(!may_relay(
        &drop_path,
        "192.0.2.7".parse().unwrap(),
        SystemTime::now(),
        WINDOW
    ));
    // Prune leaves the symlink (and its target) alone.
    assert_eq!(
        prune(&drop_path, at(u64::from(u32::MAX)), WINDOW).unwrap(),
        0
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
}
