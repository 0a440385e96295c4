//! `cargo xtask man OUTDIR`: section 8 manual pages rendered from the programs' own clap
//! definitions, one page per program and one per subcommand (`imapd-whereis.8`, ...), which the
//! program's page lists.
//!
//! This module must never hold option or subcommand text of its own: everything comes from the
//! command-line definitions the binaries parse with, so a page cannot disagree with `--help`.

use std::io;
use std::path::{Path, PathBuf};

use clap_mangen::Man;

/// The workspace version, shown on every page (the programs' own `--version` text carries a
/// project prefix that reads badly after the page's `v`).
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The programs that get a manual page.
pub(crate) fn commands() -> Vec<clap::Command> {
    vec![imapd_bin::cli::command(), imapdsvc_bin::cli::command()]
}

/// Writes every page of every program in [`commands`] into `out` (created if missing) and
/// returns the files written.
pub(crate) fn write_pages(out: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out)?;
    let mut written = Vec::new();
    for command in commands() {
        for page in pages(command) {
            written.push(page.generate_to(out)?);
        }
    }
    Ok(written)
}

/// The program's page, then one page per visible subcommand.
fn pages(command: clap::Command) -> Vec<Man> {
    let mut command = command.version(VERSION);
    // Building propagates global arguments (imapd's `-i`) into the subcommands and gives them
    // their `PROGRAM-SUBCOMMAND` names, which the program's page refers to.
    command.build();
    let mut pages = vec![page(command.clone())];
    pages.extend(
        command
            .get_subcommands()
            .filter(|sub| !sub.is_hide_set())
            .map(|sub| page(sub.clone())),
    );
    pages
}

/// One section 8 page: these are system administrators' programs.
fn page(command: clap::Command) -> Man {
    let title = command
        .get_display_name()
        .unwrap_or_else(|| command.get_name())
        .to_uppercase();
    Man::new(command)
        .title(title)
        .section("8")
        .source(format!("dmail-imapd {VERSION}"))
        .manual("System Manager's Manual")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page as text, with roff's escaped hyphens made plain so option names can be searched.
    fn plain(man: &Man) -> String {
        let mut roff = Vec::new();
        man.render(&mut roff).expect("render");
        String::from_utf8(roff)
            .expect("UTF-8 page")
            .replace("\\-", "-")
    }

    #[test]
    fn imapd_page_lists_every_subcommand_and_the_config_option() {
        let command = imapd_bin::cli::command();
        let names: Vec<String> = command
            .get_subcommands()
            .map(|sub| sub.get_name().to_owned())
            .collect();
        assert!(names.len() >= 3, "subcommands: {names:?}");
        let pages = pages(command);
        let text = plain(&pages[0]);
        assert!(text.starts_with(".ie"), "not a roff page: {text}");
        assert!(text.contains(".TH IMAPD 8"), "{text}");
        assert!(text.contains("-i"), "{text}");
        assert!(text.contains("FILE"), "{text}");
        for name in &names {
            assert!(text.contains(&format!("imapd-{name}(8)")), "{name}: {text}");
        }
        assert!(text.contains(VERSION), "{text}");
    }

    #[test]
    fn every_subcommand_gets_a_page_with_the_global_config_option() {
        let dir = tempfile::tempdir().expect("temp dir");
        let written = write_pages(dir.path()).expect("write pages");
        let mut names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "imapd-auth-test.8",
                "imapd-check-config.8",
                "imapd-whereis.8",
                "imapd.8",
                "imapdsvc.8"
            ]
        );
        let svc = std::fs::read_to_string(dir.path().join("imapdsvc.8")).expect("read page");
        let svc = svc.replace("\\-", "-");
        for option in [
            "--listen",
            "--listen-tls",
            "--pidfile",
            "--imapd",
            "--mode",
            "--demo",
        ] {
            assert!(svc.contains(option), "{option}: {svc}");
        }
        assert!(
            !svc.contains("--demo-authenticator"),
            "a hidden flag is documented"
        );
        let whereis =
            std::fs::read_to_string(dir.path().join("imapd-whereis.8")).expect("read page");
        let whereis = whereis.replace("\\-", "-");
        assert!(whereis.contains("-i"), "{whereis}");
        assert!(whereis.contains("--local-ip"), "{whereis}");
    }
}
