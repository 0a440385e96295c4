//! Integration tests for `#include` and `#imapd_include` handling (dmail-conventions §1) with real
//! files in temporary directories: `imapd_include_level` depths for IMAPD, the level taking effect
//! from its own line, DPOP/DSMTP include behaviour, overriding and accumulation across files,
//! relative paths, cycles, missing files, the 16-level limit, and an unreadable top-level file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use camino::{Utf8Path, Utf8PathBuf};
use dmail_conf::values::{HashSpool, Seconds};
use dmail_conf::{Loaded, Program, Severity, load, parse_bytes, unreadable_diagnostic};
use test_case::test_case;

/// A temporary directory holding a dmail.conf and the files it includes.
struct Tree {
    _dir: tempfile::TempDir,
    root: Utf8PathBuf,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        Tree { _dir: dir, root }
    }

    /// Writes `text` to `name` (relative to the root, parent directories created) and returns
    /// its full path.
    fn write(&self, name: &str, text: &str) -> Utf8PathBuf {
        self.write_bytes(name, text.as_bytes())
    }

    fn write_bytes(&self, name: &str, text: &[u8]) -> Utf8PathBuf {
        let path = self.root.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    fn path(&self, name: &str) -> Utf8PathBuf {
        self.root.join(name)
    }

    /// Loads `dmail.conf` from the root.
    fn load(&self, program: Program) -> Loaded {
        load(
            &self.path("dmail.conf"),
            program,
            dmail_conf::Platform::Unix,
        )
        .unwrap()
    }
}

fn rendered(loaded: &Loaded) -> Vec<String> {
    loaded.diagnostics.iter().map(ToString::to_string).collect()
}

fn hosts(loaded: &Loaded) -> Vec<&str> {
    loaded
        .config
        .host_domain
        .iter()
        .map(|d| d.as_str())
        .collect()
}

/// dmail.conf → d1.conf → d2.conf → d3.conf: each included file sets one setting, so the values
/// show which depths were read.
fn chain(level_line: &str) -> Tree {
    let t = Tree::new();
    t.write("dmail.conf", &format!("{level_line}\n#include d1.conf\n"));
    t.write("d1.conf", "authent_number 11\n#include d2.conf\n");
    t.write("d2.conf", "imapd_max_bad_commands 22\n#include d3.conf\n");
    t.write("d3.conf", "imapd_max_login_failures 33\n");
    t
}

// dmail-conventions §1 / imapd-manual item 3: IMAPD follows `#include` only while the include
// depth (dmail.conf is depth 0) is below imapd_include_level; default 0 follows none.
#[test_case("# no level set", 0, [2, 10, 3], Some(("dmail.conf", 2)); "default level 0 follows nothing")]
#[test_case("imapd_include_level 0", 0, [2, 10, 3], Some(("dmail.conf", 2)); "level 0 follows nothing")]
#[test_case("imapd_include_level 1", 1, [11, 10, 3], Some(("d1.conf", 2)); "level 1 reads depth 1 only")]
#[test_case("imapd_include_level 2", 2, [11, 22, 3], Some(("d2.conf", 2)); "level 2 reads depths 1 and 2")]
#[test_case("imapd_include_level 3", 3, [11, 22, 33], None; "level 3 reads depth 3")]
fn imapd_include_level_depths(
    level_line: &str,
    level: u32,
    expected: [u32; 3],
    note_at: Option<(&str, u32)>,
) {
    let t = chain(level_line);
    let l = t.load(Program::Imapd);
    let c = &l.config;
    assert_eq!(
        [
            c.authent_number,
            c.imapd_max_bad_commands,
            c.imapd_max_login_failures
        ],
        expected
    );
    let expected_diags: Vec<String> = note_at
        .map(|(file, line)| {
            format!(
                "{}:{line}: note: #include: not followed: imapd_include_level is {level}",
                t.path(file)
            )
        })
        .into_iter()
        .collect();
    assert_eq!(rendered(&l), expected_diags);
    if let Some(d) = l.diagnostics.first() {
        assert_eq!(d.severity, Severity::Note);
        assert_eq!(d.setting, "#include");
    }
}

// dmail-conventions §1: imapd_include_level "takes effect from the line where it appears".
#[test]
fn include_level_takes_effect_from_its_line() {
    let t = Tree::new();
    let top = t.write(
        "dmail.conf",
        "#include before.conf\nimapd_include_level 1\n#include after.conf\n",
    );
    t.write("before.conf", "authent_number 5\n");
    t.write("after.conf", "authent_timeout 7\n");
    let l = t.load(Program::Imapd);
    assert_eq!(
        l.config.authent_number, 2,
        "the include before the level line is skipped"
    );
    assert_eq!(l.config.authent_timeout, Seconds(7));
    assert_eq!(
        rendered(&l),
        [format!(
            "{top}:1: note: #include: not followed: imapd_include_level is 0"
        )]
    );
}

// dmail-conventions §1: an included file may itself raise the level for what follows.
#[test]
fn include_level_set_in_included_file_applies_to_later_lines() {
    let t = Tree::new();
    t.write(
        "dmail.conf",
        "imapd_include_level 1\n#include a.conf\n#include b.conf\n",
    );
    t.write("a.conf", "imapd_include_level 0\n");
    t.write("b.conf", "authent_number 9\n");
    let l = t.load(Program::Imapd);
    assert_eq!(l.config.authent_number, 2);
    assert_eq!(
        rendered(&l),
        [format!(
            "{}:3: note: #include: not followed: imapd_include_level is 0",
            t.path("dmail.conf")
        )]
    );
}

fn two_kinds() -> Tree {
    let t = Tree::new();
    t.write(
        "dmail.conf",
        "imapd_include_level 1\n#include common.conf\n#imapd_include imapd.conf\n",
    );
    t.write("common.conf", "host_domain common.example\n");
    t.write("imapd.conf", "host_domain imapd.example\nhash_spool 2\n");
    t
}

// dmail-conventions §1: "`#imapd_include PATH` behaves exactly like `#include` for IMAPD".
#[test]
fn imapd_follows_both_directives() {
    let t = two_kinds();
    let l = t.load(Program::Imapd);
    assert_eq!(hosts(&l), ["common.example", "imapd.example"]);
    assert_eq!(l.config.hash_spool, HashSpool::Two);
    assert_eq!(rendered(&l), Vec::<String>::new());
}

// dmail-conventions §1: a DPOP or DSMTP caller follows `#include` and skips `#imapd_include`
// silently (it is a comment to them).
#[test_case(Program::Dpop; "dpop")]
#[test_case(Program::Dsmtp; "dsmtp")]
fn non_imapd_skips_imapd_include(program: Program) {
    let t = two_kinds();
    let l = t.load(program);
    assert_eq!(hosts(&l), ["common.example"]);
    assert_eq!(l.config.hash_spool, HashSpool::None);
    assert_eq!(rendered(&l), Vec::<String>::new());
}

// dmail-conventions §1: DPOP/DSMTP follow `#include` at any depth (imapd_include_level does not
// apply to them); `#imapd_include` is skipped at every depth without even opening the file.
#[test_case(Program::Dpop; "dpop")]
#[test_case(Program::Dsmtp; "dsmtp")]
fn non_imapd_follows_nested_includes(program: Program) {
    let t = Tree::new();
    t.write(
        "dmail.conf",
        "imapd_include_level 0\n#include d1.conf\n#imapd_include missing-top.conf\n",
    );
    t.write(
        "d1.conf",
        "authent_number 11\n#imapd_include missing-1.conf\n#include d2.conf\n",
    );
    t.write(
        "d2.conf",
        "imapd_max_bad_commands 22\n#include d3.conf\n#IMAPD_INCLUDE missing-2.conf\n",
    );
    t.write("d3.conf", "imapd_max_login_failures 33\n");
    let l = t.load(program);
    let c = &l.config;
    assert_eq!(c.authent_number, 11);
    assert_eq!(c.imapd_max_bad_commands, 22);
    assert_eq!(c.imapd_max_login_failures, 33);
    assert_eq!(rendered(&l), Vec::<String>::new());
}

// dmail-conventions §1: a later single value wins (an included file overrides dmail.conf, and a
// dmail.conf line after the include overrides the included one); multi-entry values accumulate in
// file order across files; no duplicate warning across files.
#[test]
fn later_values_win_and_multi_values_accumulate_across_files() {
    let t = Tree::new();
    let top = t.write(
        "dmail.conf",
        "imapd_include_level 1\n\
         hash_spool 1\n\
         authent_number 4\n\
         host_domain a.example\n\
         vdomain va @va.example va.example /vd/va\n\
         #include more.conf\n\
         host_domain c.example\n\
         authent_number 6\n",
    );
    let more = t.write(
        "more.conf",
        "hash_spool 2\nauthent_number 5\nhost_domain b.example\nvdomain vb @vb.example vb.example /vd/vb\n",
    );
    let l = t.load(Program::Imapd);
    assert_eq!(l.config.hash_spool, HashSpool::Two);
    assert_eq!(l.config.authent_number, 6);
    assert_eq!(hosts(&l), ["a.example", "b.example", "c.example"]);
    let prefixes: Vec<&str> = l.config.vdomain.iter().map(|v| v.prefix.as_str()).collect();
    assert_eq!(prefixes, ["va", "vb"]);
    // Only the repeat within dmail.conf itself is warned about, not the one in more.conf.
    assert_eq!(
        rendered(&l),
        [format!(
            "{top}:8: warning: authent_number: also set on line 3 of this file; this later value wins"
        )]
    );

    let origin = l.origin("hash_spool").unwrap();
    assert_eq!((&*origin.file, origin.line), (more.as_path(), 1));
    let host_origins: Vec<(&Utf8Path, u32)> = l
        .origins_of("host_domain")
        .iter()
        .map(|o| (&*o.file, o.line))
        .collect();
    assert_eq!(
        host_origins,
        [(top.as_path(), 4), (more.as_path(), 3), (top.as_path(), 7)]
    );
}

// dmail-conventions §1: "Relative include paths resolve against the including file's directory".
#[test]
fn relative_paths_resolve_against_the_including_file() {
    let t = Tree::new();
    t.write("dmail.conf", "imapd_include_level 2\n#include sub/a.conf\n");
    t.write("sub/a.conf", "host_domain a.example\n#include b.conf\n");
    t.write("sub/b.conf", "host_domain sub-b.example\n");
    // A decoy beside dmail.conf: must not be the one read.
    t.write("b.conf", "host_domain top-b.example\n");
    let l = t.load(Program::Imapd);
    assert_eq!(hosts(&l), ["a.example", "sub-b.example"]);
    assert_eq!(rendered(&l), Vec::<String>::new());
    assert_eq!(
        *l.origin("host_domain").unwrap().file,
        *t.path("sub/b.conf")
    );
}

// dmail-conventions §1: relative paths also work for DPOP and through `..`.
#[test]
fn relative_path_with_parent_component() {
    let t = Tree::new();
    t.write("etc/dmail.conf", "#include ../shared/common.conf\n");
    t.write("shared/common.conf", "host_domain shared.example\n");
    let l = load(
        &t.path("etc/dmail.conf"),
        Program::Dpop,
        dmail_conf::Platform::Unix,
    )
    .unwrap();
    assert_eq!(hosts(&l), ["shared.example"]);
    assert!(l.diagnostics.is_empty(), "{:?}", rendered(&l));
}

// dmail-conventions §1: the directive keyword is case-insensitive; the path keeps inner blanks.
#[test]
fn keyword_any_case_and_path_with_blanks() {
    let t = Tree::new();
    t.write(
        "dmail.conf",
        "imapd_include_level 1\n  #INCLUDE   my settings.conf  \n",
    );
    t.write("my settings.conf", "hash_spool 1\n");
    let l = t.load(Program::Imapd);
    assert_eq!(l.config.hash_spool, HashSpool::One);
    assert!(l.diagnostics.is_empty(), "{:?}", rendered(&l));
}

// dmail-conventions §1: "An include cycle ... is an error" — and it must not loop.
#[test_case(Program::Imapd; "imapd")]
#[test_case(Program::Dpop; "dpop")]
fn two_file_cycle_is_an_error(program: Program) {
    let t = Tree::new();
    t.write(
        "dmail.conf",
        "imapd_include_level 10\nhost_domain top.example\n#include b.conf\n",
    );
    let b = t.write("b.conf", "host_domain b.example\n#include dmail.conf\n");
    let l = t.load(program);
    assert_eq!(hosts(&l), ["top.example", "b.example"]);
    assert_eq!(
        rendered(&l),
        [format!(
            "{b}:2: error: #include: include cycle: the named file is already being read"
        )]
    );
    assert!(l.has_errors());
}

// dmail-conventions §1: a file including itself (by another spelling of its path) is a cycle.
#[test_case("dmail.conf"; "same name")]
#[test_case("./dmail.conf"; "dot slash")]
#[test_case("sub/../dmail.conf"; "through a subdirectory")]
fn self_include_is_a_cycle(spelling: &str) {
    let t = Tree::new();
    std::fs::create_dir_all(t.path("sub")).unwrap();
    let top = t.write(
        "dmail.conf",
        &format!("imapd_include_level 10\nhost_domain top.example\n#include {spelling}\n"),
    );
    for program in [Program::Imapd, Program::Dpop, Program::Dsmtp] {
        let l = t.load(program);
        assert_eq!(hosts(&l), ["top.example"]);
        assert_eq!(
            rendered(&l),
            [format!(
                "{top}:3: error: #include: include cycle: the named file is already being read"
            )]
        );
    }
}

// An absolute self-include is caught the same way.
#[test]
fn absolute_self_include_is_a_cycle() {
    let t = Tree::new();
    let top = t.path("dmail.conf");
    t.write(
        "dmail.conf",
        &format!("host_domain x.example\n#include {top}\n"),
    );
    let l = t.load(Program::Dpop);
    assert_eq!(hosts(&l), ["x.example"]);
    assert_eq!(
        rendered(&l),
        [format!(
            "{top}:2: error: #include: include cycle: the named file is already being read"
        )]
    );
}

// Not a cycle: the same file included twice in a row (a diamond) is read twice.
#[test]
fn repeated_include_is_not_a_cycle() {
    let t = Tree::new();
    t.write("dmail.conf", "#include b.conf\n#include b.conf\n");
    t.write("b.conf", "host_domain b.example\n");
    let l = t.load(Program::Dpop);
    assert_eq!(hosts(&l), ["b.example", "b.example"]);
    assert!(l.diagnostics.is_empty(), "{:?}", rendered(&l));
}

// dmail-conventions §1: "an unreadable include is an error"; reading continues after it.
#[test_case(Program::Imapd; "imapd")]
#[test_case(Program::Dpop; "dpop")]
#[test_case(Program::Dsmtp; "dsmtp")]
fn missing_include_is_an_error(program: Program) {
    let t = Tree::new();
    let top = t.write(
        "dmail.conf",
        "imapd_include_level 1\n#include nowhere.conf\nhash_spool 2\n",
    );
    let l = t.load(program);
    assert_eq!(
        rendered(&l),
        [format!(
            "{top}:2: error: #include: cannot read the included file: no such file"
        )]
    );
    assert_eq!(l.config.hash_spool, HashSpool::Two);
}

#[test]
fn directory_include_is_an_error() {
    let t = Tree::new();
    std::fs::create_dir_all(t.path("conf.d")).unwrap();
    let top = t.write("dmail.conf", "#include conf.d\n");
    let l = t.load(Program::Dpop);
    assert_eq!(
        rendered(&l),
        [format!(
            "{top}:1: error: #include: cannot read the included file: it is a directory"
        )]
    );
}

#[test]
fn non_utf8_include_path_is_an_error() {
    let t = Tree::new();
    let top = t.write_bytes("dmail.conf", b"#include caf\xE9.conf\n");
    let l = t.load(Program::Dpop);
    assert_eq!(
        rendered(&l),
        [format!(
            "{top}:1: error: #include: the path is not valid UTF-8"
        )]
    );
}

/// f0 (dmail.conf) includes f1, which includes f2, ... up to f{last}.
fn deep_chain(last: usize) -> Tree {
    let t = Tree::new();
    for i in 0..=last {
        let name = if i == 0 {
            "dmail.conf".to_owned()
        } else {
            format!("f{i}.conf")
        };
        let mut text = format!("host_domain d{i}.example\n");
        if i < last {
            text.push_str(&format!("#include f{}.conf\n", i + 1));
        }
        t.write(&name, &text);
    }
    t
}

// dmail-conventions §1: DPOP/DSMTP follow `#include` "at any depth up to 16": the file at depth 16
// is read, an include inside it is an error.
#[test_case(Program::Dpop; "dpop")]
#[test_case(Program::Dsmtp; "dsmtp")]
fn non_imapd_nesting_deeper_than_16_is_an_error(program: Program) {
    let t = deep_chain(17);
    let l = t.load(program);
    let expected_hosts: Vec<String> = (0..=16).map(|i| format!("d{i}.example")).collect();
    assert_eq!(hosts(&l), expected_hosts);
    assert_eq!(
        rendered(&l),
        [format!(
            "{}:2: error: #include: not followed: includes nest deeper than 16 levels",
            t.path("f16.conf")
        )]
    );
}

#[test]
fn non_imapd_nesting_of_exactly_16_is_fine() {
    let t = deep_chain(16);
    let l = t.load(Program::Dpop);
    assert_eq!(l.config.host_domain.len(), 17);
    assert!(l.diagnostics.is_empty(), "{:?}", rendered(&l));
}

// dmail-conventions §1: `#include` without a path is an error (for IMAPD only once the include
// would be followed; below the level it is the "not followed" note).
#[test_case(Program::Dpop, "", "error: #include: no file named"; "dpop")]
#[test_case(Program::Dsmtp, "", "error: #include: no file named"; "dsmtp")]
#[test_case(Program::Imapd, "imapd_include_level 1", "error: #include: no file named"; "imapd level 1")]
#[test_case(Program::Imapd, "imapd_include_level 1", "error: #imapd_include: no file named"; "imapd include without path")]
#[test_case(Program::Imapd, "", "note: #include: not followed: imapd_include_level is 0"; "imapd level 0")]
fn include_without_path(program: Program, level_line: &str, expected: &str) {
    let t = Tree::new();
    let keyword = if expected.contains("#imapd_include") {
        "#imapd_include"
    } else {
        "#include"
    };
    let top = t.write("dmail.conf", &format!("{level_line}\n{keyword}   \t\n"));
    let l = t.load(program);
    assert_eq!(rendered(&l), [format!("{top}:2: {expected}")]);
}

// The library never fails because of a bad line, but the top file must be readable.
#[test]
fn missing_top_file_is_a_read_error() {
    let t = Tree::new();
    let path = t.path("absent/dmail.conf");
    let err = load(&path, Program::Imapd, dmail_conf::Platform::Unix).unwrap_err();
    assert_eq!(err.path, path);
    assert_eq!(err.source.kind(), std::io::ErrorKind::NotFound);
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read {path}: ")),
        "{err}"
    );
    let d = unreadable_diagnostic(&err);
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(
        d.to_string(),
        format!("{path}:0: error: (file): cannot read: no such file")
    );
}

#[test]
fn directory_as_top_file_is_a_read_error() {
    let t = Tree::new();
    let err = load(&t.root, Program::Dpop, dmail_conf::Platform::Unix).unwrap_err();
    assert_eq!(
        unreadable_diagnostic(&err).to_string(),
        format!(
            "{}:0: error: (file): cannot read: it is a directory",
            t.root
        )
    );
}

// `parse_bytes` resolves includes against the directory of the path it is given.
#[test]
fn parse_bytes_resolves_includes_against_given_path() {
    let t = Tree::new();
    t.write("inc.conf", "host_domain inc.example\n");
    let l = parse_bytes(
        b"#include inc.conf\n",
        &t.path("dmail.conf"),
        Program::Dsmtp,
        dmail_conf::Platform::Unix,
    );
    assert_eq!(hosts(&l), ["inc.example"]);
    assert!(l.diagnostics.is_empty());
}
