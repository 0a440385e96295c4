//! The order of the steps with a recorder (no root needed, nothing switches), and the real
//! folder-directory creation and a whole non-switching sequence in temporary directories.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::net::IpAddr;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::time::SystemTime;

use camino::{Utf8Path, Utf8PathBuf};
use dmail_auth::become_user::{BecomeError, Step as BecomeStep};
use dmail_auth::policy::LoggedIn;
use dmail_auth::{AuthError, Authenticated, Authenticator, Password, Source};
use dmail_conf::{Config, Platform, Program, ResolvedLogin, parse_str};
use dmail_store::InternalDate;
use dmail_store::bulletin::{BulletinError, BulletinReport};
use dmail_store::layout::MailPaths;

use super::{
    Actions, ClientAnswer, FolderDirPlan, FolderDirProblem, LoginStepError, Step,
    create_folder_dir, folder_dir_plan, run_steps, start_session,
};

fn config(text: &str) -> Config {
    parse_str(text, "c".into(), Program::Imapd, Platform::Unix).config
}

fn logged_in(config: &Config, source: Source, uid: Option<u32>) -> LoggedIn {
    let resolved = config.resolve_login(b"bob", None).unwrap();
    let user = Authenticated {
        system_name: "bob".into(),
        source,
        uid,
        gid: uid,
        home: Some("/home/bob".into()),
        drop_file: None,
        quota_kbytes: None,
    };
    LoggedIn { resolved, user }
}

fn ip() -> Option<IpAddr> {
    Some("192.0.2.7".parse().unwrap())
}

/// Records each step's call, failing the one named in `fail`.
#[derive(Default)]
struct Recorder {
    log: Vec<String>,
    fail: Option<Step>,
}

impl Actions for Recorder {
    fn record_forward(
        &mut self,
        drop_path: &Utf8Path,
        ip: IpAddr,
        _: SystemTime,
    ) -> io::Result<()> {
        self.log.push(format!("forward {drop_path} {ip}"));
        if self.fail == Some(Step::ForwardUser) {
            return Err(io::Error::other("disk full"));
        }
        Ok(())
    }
    fn make_folder_dir(
        &mut self,
        plan: &FolderDirPlan,
        owner: Option<(u32, u32)>,
    ) -> Result<bool, FolderDirProblem> {
        self.log.push(format!(
            "folder {}/{} {owner:?}",
            plan.trusted,
            plan.below.join("/")
        ));
        if self.fail == Some(Step::FolderDir) {
            return Err(FolderDirProblem::Symlink("bob.mbx".into()));
        }
        Ok(true)
    }
    fn end_authenticator(&mut self) {
        self.log.push("end authenticator".into());
    }
    fn switch_user(&mut self, user: &Authenticated) -> Result<(), BecomeError> {
        self.log.push(format!("switch {:?}", user.uid));
        if self.fail == Some(Step::SwitchUser) {
            return Err(BecomeError {
                uid: user.uid.unwrap_or(0),
                step: BecomeStep::SetUid,
                detail: "EPERM".into(),
            });
        }
        Ok(())
    }
    fn deliver_bulletins(
        &mut self,
        _: &Config,
        _: &ResolvedLogin,
        paths: &MailPaths,
        _: InternalDate,
        host: &str,
    ) -> Result<Option<BulletinReport>, BulletinError> {
        self.log
            .push(format!("bulletins {} {host}", paths.drop_file));
        if self.fail == Some(Step::Bulletins) {
            return Err(BulletinError::Busy { path: "x".into() });
        }
        Ok(None)
    }
}

fn run(
    recorder: &mut Recorder,
    config: &Config,
    login: &LoggedIn,
    client_ip: Option<IpAddr>,
) -> Result<super::SessionStart, LoginStepError> {
    run_steps(recorder, config, login, client_ip, "mx", SystemTime::now())
}

const SPOOL: &str = "drop_path /var/spool/mail\nforward_user true\n";

#[test]
fn a_switching_login_runs_the_steps_in_order() {
    let c = config(SPOOL);
    let mut r = Recorder::default();
    let start = run(
        &mut r,
        &c,
        &logged_in(&c, Source::SystemPasswd, Some(1001)),
        ip(),
    )
    .unwrap();
    assert_eq!(
        r.log,
        [
            "forward /var/spool/mail 192.0.2.7",
            "folder /var/spool/mail/bob.mbx Some((1001, 1001))",
            "end authenticator",
            "switch Some(1001)",
            "bulletins /var/spool/mail/bob mx",
        ]
    );
    assert!(start.switched && start.forward_recorded && start.folder_dir_created);
    assert_eq!(start.paths.folder_dir, "/var/spool/mail/bob.mbx");

    // vdomain_passwd logins switch too.
    let mut r = Recorder::default();
    let start = run(
        &mut r,
        &c,
        &logged_in(&c, Source::VdomainPasswd, Some(1002)),
        ip(),
    )
    .unwrap();
    assert!(start.switched);
    assert!(r.log.contains(&"switch Some(1002)".to_owned()));
}

#[test]
fn a_failing_step_stops_the_sequence() {
    let c = config(SPOOL);
    let login = logged_in(&c, Source::SystemPasswd, Some(1001));
    for (fail, done) in [
        (Step::ForwardUser, 1),
        (Step::FolderDir, 2),
        (Step::SwitchUser, 4),
    ] {
        let mut r = Recorder {
            fail: Some(fail),
            ..Recorder::default()
        };
        let err = run(&mut r, &c, &login, ip()).unwrap_err();
        assert_eq!(err.step(), fail, "{err}");
        assert_eq!(r.log.len(), done, "{fail}: {:?}", r.log);
        assert_eq!(err.answer(), ClientAnswer::LoginFailed);
        assert_eq!(err.closes_connection(), fail == Step::SwitchUser);
        assert!(err.to_string().starts_with(&fail.to_string()), "{err}");
    }
}

#[test]
fn a_bulletin_failure_fails_the_login() {
    let c = config(SPOOL);
    let mut r = Recorder {
        fail: Some(Step::Bulletins),
        ..Recorder::default()
    };
    let err = run(
        &mut r,
        &c,
        &logged_in(&c, Source::SystemPasswd, Some(1001)),
        ip(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        LoginStepError::Bulletins(BulletinError::Busy { .. })
    ));
    assert_eq!(err.step(), Step::Bulletins);
    assert_eq!(r.log.len(), 5);
}

#[test]
fn logins_that_do_not_switch() {
    let cases = [
        (
            config(&format!("{SPOOL}imapd_become_user false\n")),
            Source::SystemPasswd,
            Some(1001),
        ),
        (config(SPOOL), Source::External, Some(1001)),
        (config(SPOOL), Source::External, None),
        (config(SPOOL), Source::SystemPasswd, Some(0)),
        (config(SPOOL), Source::VdomainPasswd, Some(0)),
    ];
    for (c, source, uid) in cases {
        let mut r = Recorder::default();
        let start = run(&mut r, &c, &logged_in(&c, source, uid), ip()).unwrap();
        assert!(!start.switched, "{source:?} {uid:?}");
        assert_eq!(
            r.log,
            [
                "forward /var/spool/mail 192.0.2.7",
                "folder /var/spool/mail/bob.mbx None",
                "end authenticator",
                "bulletins /var/spool/mail/bob mx",
            ],
            "{source:?} {uid:?}"
        );
    }
}

#[test]
fn forward_user_needs_a_known_address_and_the_setting() {
    let c = config(SPOOL);
    let login = logged_in(&c, Source::SystemPasswd, Some(1001));
    let mut r = Recorder::default();
    let start = run(&mut r, &c, &login, None).unwrap();
    assert!(!start.forward_recorded);
    assert!(r.log.first().unwrap().starts_with("folder"));

    let c = config("drop_path /var/spool/mail\n");
    let mut r = Recorder::default();
    assert!(!run(&mut r, &c, &login, ip()).unwrap().forward_recorded);
    assert!(r.log.first().unwrap().starts_with("folder"));

    // No drop_path to record in (the drop file came from the external authenticator).
    let c = config("forward_user true\nauthent_method external\nauthent_process /bin/auth\n");
    let mut login = logged_in(&c, Source::External, Some(7));
    login.user.drop_file = Some("/data/bob".into());
    let mut r = Recorder::default();
    let err = run(&mut r, &c, &login, ip()).unwrap_err();
    assert!(
        matches!(err, LoginStepError::ForwardUserNoDropPath),
        "{err}"
    );
    assert!(r.log.is_empty());
}

#[test]
fn maildir_is_unavailable_before_anything_is_done() {
    let c = config(&format!("{SPOOL}use_maildir true\nmaildir_home /srv/md\n"));
    let mut r = Recorder::default();
    let err = run(
        &mut r,
        &c,
        &logged_in(&c, Source::SystemPasswd, Some(1001)),
        ip(),
    )
    .unwrap_err();
    assert!(matches!(err, LoginStepError::MaildirUnavailable));
    assert_eq!(
        (err.step(), err.answer()),
        (Step::Paths, ClientAnswer::Unavailable)
    );
    assert!(!err.closes_connection());
    assert!(r.log.is_empty());
}

#[test]
fn unmappable_and_id_less_logins_fail_before_anything_is_done() {
    let c = config("forward_user true\n");
    let mut r = Recorder::default();
    let err = run(
        &mut r,
        &c,
        &logged_in(&c, Source::SystemPasswd, Some(1001)),
        ip(),
    )
    .unwrap_err();
    assert!(matches!(err, LoginStepError::Paths(_)), "{err}");
    assert!(r.log.is_empty());

    let c = config(SPOOL);
    let mut login = logged_in(&c, Source::SystemPasswd, Some(1001));
    login.user.gid = None;
    let err = run(&mut r, &c, &login, ip()).unwrap_err();
    assert!(matches!(err, LoginStepError::NoIds(_)), "{err}");
    login.user.uid = None;
    assert!(run(&mut r, &c, &login, ip()).is_err());
    assert!(r.log.is_empty());
}

#[test]
fn drop_files_and_folder_homes() {
    // An external authenticator's absolute drop file is used as it is; a relative one is not.
    let c = config(SPOOL);
    let mut login = logged_in(&c, Source::External, Some(7));
    login.user.drop_file = Some("/data/b/bob".into());
    let mut r = Recorder::default();
    let start = run(&mut r, &c, &login, None).unwrap();
    assert_eq!(start.paths.drop_file.as_path(), "/data/b/bob");
    assert_eq!(r.log.first().unwrap(), "folder /data/b/bob.mbx None");
    login.user.drop_file = Some("config".into());
    let start = run(&mut Recorder::default(), &c, &login, None).unwrap();
    assert_eq!(start.paths.drop_file.as_path(), "/var/spool/mail/bob");

    // imapd_mailbox_name: below the home from the password database, every component walked.
    let c = config(&format!("{SPOOL}imapd_mailbox_name Mail/./imap\n"));
    let mut r = Recorder::default();
    let start = run(
        &mut r,
        &c,
        &logged_in(&c, Source::SystemPasswd, Some(1001)),
        None,
    )
    .unwrap();
    assert_eq!(start.paths.folder_dir, "/home/bob/Mail/imap");
    assert_eq!(
        r.log.first().unwrap(),
        "folder /home/bob/Mail/imap Some((1001, 1001))"
    );
    let plan = folder_dir_plan(&start.paths.folder_dir, Some("/home/bob".into())).unwrap();
    assert_eq!(plan.below, ["Mail", "imap"]);
    // `.`: the home itself, made (if missing) in its parent.
    let plan = folder_dir_plan("/home/bob".into(), Some("/home/bob".into())).unwrap();
    assert_eq!(
        (plan.trusted.as_str(), &plan.below[..]),
        ("/home", &["bob".to_owned()][..])
    );
    assert!(folder_dir_plan("/".into(), None).is_err());
}

fn tempdir() -> (tempfile::TempDir, Utf8PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = Utf8Path::from_path(dir.path()).unwrap().to_owned();
    (dir, path)
}

fn plan(trusted: &Utf8Path, below: &[&str]) -> FolderDirPlan {
    FolderDirPlan {
        trusted: trusted.to_owned(),
        below: below.iter().map(|s| (*s).to_owned()).collect(),
    }
}

#[test]
fn a_missing_folder_dir_is_created_0700_and_an_existing_one_kept() {
    let (_dir, base) = tempdir();
    let p = plan(&base, &["bob.mbx"]);
    assert!(create_folder_dir(&p, None).unwrap());
    let meta = std::fs::symlink_metadata(base.join("bob.mbx")).unwrap();
    assert!(meta.is_dir());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o700);
    assert!(!create_folder_dir(&p, None).unwrap());

    // Below a home: intermediate directories must exist (they are never made here).
    let p = plan(&base, &["Mail", "imap"]);
    assert!(matches!(
        create_folder_dir(&p, None),
        Err(FolderDirProblem::Io { call: "open", .. })
    ));
    std::fs::create_dir(base.join("Mail")).unwrap();
    assert!(create_folder_dir(&p, None).unwrap());
    assert!(base.join("Mail/imap").is_dir());
}

#[test]
fn symlinks_and_files_in_the_way_are_refused_and_nothing_is_made_through_them() {
    let (_dir, base) = tempdir();
    let target = base.join("target");
    std::fs::create_dir(&target).unwrap();

    // A symlink to a directory, and a dangling one.
    symlink(&target, base.join("bob.mbx")).unwrap();
    let err = create_folder_dir(&plan(&base, &["bob.mbx"]), None).unwrap_err();
    assert!(
        matches!(&err, FolderDirProblem::Symlink(n) if n == "bob.mbx"),
        "{err}"
    );
    symlink(base.join("nowhere"), base.join("eve.mbx")).unwrap();
    let err = create_folder_dir(&plan(&base, &["eve.mbx"]), None).unwrap_err();
    assert!(matches!(err, FolderDirProblem::Symlink(_)), "{err}");
    assert!(!base.join("nowhere").exists());

    // An intermediate symlink below a home (the user's own `Mail` pointing elsewhere).
    symlink(&target, base.join("Mail")).unwrap();
    let err = create_folder_dir(&plan(&base, &["Mail", "imap"]), None).unwrap_err();
    assert!(
        matches!(&err, FolderDirProblem::Symlink(n) if n == "Mail"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);

    // A file.
    std::fs::write(base.join("carol.mbx"), "x").unwrap();
    let err = create_folder_dir(&plan(&base, &["carol.mbx"]), None).unwrap_err();
    assert!(matches!(err, FolderDirProblem::NotADirectory(_)), "{err}");
    assert!(matches!(
        create_folder_dir(&plan(&base, &[]), None),
        Err(FolderDirProblem::NoName)
    ));
}

/// An authenticator that counts how often it was told to shut down.
#[derive(Default)]
struct Counting {
    shutdowns: u32,
}

impl Authenticator for Counting {
    fn authenticate(
        &mut self,
        _: &Config,
        _: &ResolvedLogin,
        _: &Password,
        _: Option<IpAddr>,
    ) -> Result<Authenticated, AuthError> {
        Err(AuthError::Rejected("not used".into()))
    }
    fn shutdown(&mut self) {
        self.shutdowns += 1;
    }
}

#[test]
fn a_whole_sequence_without_switching() {
    let (_dir, base) = tempdir();
    std::fs::create_dir(base.join("spool")).unwrap();
    std::fs::create_dir(base.join("b")).unwrap();
    std::fs::write(base.join("b/1.txt"), "Subject: Hello\n\nWelcome.\n").unwrap();
    let c = config(&format!(
        "drop_path {base}/spool\nbulletin_path {base}/b\nforward_user true\n\
         authent_method external\nauthent_process /bin/auth\n"
    ));
    let login = logged_in(&c, Source::External, Some(1001));
    let mut auth = Counting::default();
    let start = start_session(&c, &login, ip(), &mut auth, "mx", SystemTime::now()).unwrap();
    assert!(!start.switched && start.forward_recorded && start.folder_dir_created);
    assert_eq!(auth.shutdowns, 1);
    assert!(base.join("spool/.forward_user/192.0.2.7").is_file());
    let folder = std::fs::metadata(base.join("spool/bob.mbx")).unwrap();
    assert_eq!(folder.permissions().mode() & 0o7777, 0o700);
    assert_eq!(folder.uid(), rustix::process::geteuid().as_raw());
    assert_eq!(start.bulletins.unwrap().delivered.len(), 1);
    let inbox = std::fs::read_to_string(base.join("spool/bob")).unwrap();
    assert!(inbox.starts_with("From MAILER-DAEMON "), "{inbox}");
    assert!(inbox.contains("\nSubject: Hello\n"), "{inbox}");

    // Again: nothing new, nothing created.
    let again = start_session(&c, &login, ip(), &mut auth, "mx", SystemTime::now()).unwrap();
    assert!(!again.folder_dir_created);
    assert!(again.bulletins.unwrap().delivered.is_empty());
    assert_eq!(auth.shutdowns, 2);
}

#[test]
fn a_symlinked_folder_dir_fails_the_login_at_step_2() {
    let (_dir, base) = tempdir();
    std::fs::create_dir(base.join("spool")).unwrap();
    std::fs::create_dir(base.join("target")).unwrap();
    symlink(base.join("target"), base.join("spool/bob.mbx")).unwrap();
    let c = config(&format!(
        "drop_path {base}/spool\nauthent_method external\nauthent_process /bin/auth\n"
    ));
    let login = logged_in(&c, Source::External, None);
    let mut auth = Counting::default();
    let err = start_session(&c, &login, ip(), &mut auth, "mx", SystemTime::now()).unwrap_err();
    assert_eq!(err.step(), Step::FolderDir, "{err}");
    assert_eq!(err.answer(), ClientAnswer::LoginFailed);
    assert_eq!(auth.shutdowns, 0, "the sequence stopped before step 3");
    assert_eq!(std::fs::read_dir(base.join("target")).unwrap().count(), 0);
    assert!(!base.join("spool/bob").exists());
}
