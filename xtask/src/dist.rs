//! `cargo xtask dist`: what goes into the release archive and how it is packed
//! (`dmail-imapd-VERSION-TARGET.tar.gz`, every file under a directory of the same name).
//!
//! This module only gathers and packs files that already exist; building the binaries and the
//! manual pages is the caller's job, so the packing can be tested on a directory of fake files.
//! It must never write anywhere but the archive it is given.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use flate2::Compression;
use flate2::write::GzEncoder;

/// Mode of the programs in the archive.
const EXECUTABLE: u32 = 0o755;
/// Mode of everything else.
const READABLE: u32 = 0o644;

/// One file to pack: where it is now, where it goes in the archive, and its mode there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) source: PathBuf,
    pub(crate) dest: String,
    pub(crate) mode: u32,
}

/// The archive's name without `.tar.gz`, which is also its top directory.
pub(crate) fn archive_stem(version: &str, target: &str) -> String {
    format!("dmail-imapd-{version}-{target}")
}

/// The target triple the release build is for: the host's, as `rustc -vV` reports it (no
/// `--target` is passed to the build).
pub(crate) fn host_target(rustc: &std::ffi::OsStr) -> Result<String, String> {
    let out = Command::new(rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", rustc.to_string_lossy()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(|host| host.trim().to_owned())
        .ok_or_else(|| "`rustc -vV` names no host target".to_owned())
}

/// Everything the archive holds, in archive order: `bin/imapd` and `bin/imapdsvc` from
/// `bin_dir`, `man/man8/*.8` from `man_dir`, every file under `ROOT/contrib/`, `README.md` and any
/// `LICENSE*` files at the root. A missing program or README is an error; the rest may be
/// absent.
pub(crate) fn entries(root: &Path, bin_dir: &Path, man_dir: &Path) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for program in ["imapd", "imapdsvc"] {
        let file = format!("{program}{}", std::env::consts::EXE_SUFFIX);
        out.push(Entry {
            source: existing(bin_dir.join(&file))?,
            dest: format!("bin/{file}"),
            mode: EXECUTABLE,
        });
    }
    for page in sorted_files(man_dir)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "8"))
    {
        out.push(readable(&page, man_dir, "man/man8")?);
    }
    let contrib = root.join("contrib");
    if contrib.is_dir() {
        for file in files_under(&contrib)? {
            out.push(readable(&file, &contrib, "contrib")?);
        }
    }
    out.push(readable(&existing(root.join("README.md"))?, root, "")?);
    for file in sorted_files(root)? {
        if file
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("LICENSE"))
        {
            out.push(readable(&file, root, "")?);
        }
    }
    Ok(out)
}

/// Writes `entries` as a gzip-compressed tar at `archive`, each under the directory `top`.
/// Owners, times and modes are fixed, so the same inputs give the same archive.
pub(crate) fn pack(archive: &Path, top: &str, entries: &[Entry]) -> io::Result<()> {
    let gz = GzEncoder::new(File::create(archive)?, Compression::best());
    let mut tar = tar::Builder::new(gz);
    for entry in entries {
        let file = File::open(&entry.source)?;
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(&file.metadata()?, tar::HeaderMode::Deterministic);
        header.set_mode(entry.mode);
        tar.append_data(&mut header, format!("{top}/{}", entry.dest), file)?;
    }
    tar.into_inner()?.finish()?.sync_all()
}

/// `path` if it is a file, else a not-found error naming it.
fn existing(path: PathBuf) -> io::Result<PathBuf> {
    if path.is_file() {
        Ok(path)
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is missing", path.display()),
        ))
    }
}

/// A non-program entry: `file`, which is under `base`, goes to `prefix/` plus its path from
/// `base` (`/`-separated, as tar wants on every platform).
fn readable(file: &Path, base: &Path, prefix: &str) -> io::Result<Entry> {
    let relative = file.strip_prefix(base).map_err(|_| {
        io::Error::other(format!("{} is outside {}", file.display(), base.display()))
    })?;
    let mut dest = prefix.to_owned();
    for part in relative.components() {
        if !dest.is_empty() {
            dest.push('/');
        }
        dest.push_str(&part.as_os_str().to_string_lossy());
    }
    Ok(Entry {
        source: file.to_owned(),
        dest,
        mode: READABLE,
    })
}

/// The plain files directly in `dir`, by name; none if `dir` does not exist.
fn sorted_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Every plain file under `dir`, at any depth, in path order.
fn files_under(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    /// A workspace-like tree with fake programs and pages.
    fn fake_tree(root: &Path) {
        write(&root.join("README.md"), "readme\n");
        write(&root.join("LICENSE-MIT"), "mit\n");
        write(&root.join("Cargo.toml"), "not shipped\n");
        write(&root.join("contrib/inetd.conf"), "imap stream\n");
        write(&root.join("contrib/systemd/imapd.socket"), "[Socket]\n");
        write(&root.join("bin/imapd"), "fake imapd\n");
        write(&root.join("bin/imapdsvc"), "fake imapdsvc\n");
        write(&root.join("bin/other"), "not shipped\n");
        write(&root.join("man/imapd.8"), ".TH IMAPD 8\n");
        write(&root.join("man/notes.txt"), "not shipped\n");
    }

    /// The archive's members: name, mode and contents.
    fn members(archive: &Path) -> Vec<(String, u32, String)> {
        let mut tar = tar::Archive::new(GzDecoder::new(File::open(archive).expect("open")));
        tar.entries()
            .expect("entries")
            .map(|entry| {
                let mut entry = entry.expect("entry");
                let name = entry.path().expect("path").to_string_lossy().into_owned();
                let mode = entry.header().mode().expect("mode");
                let mut text = String::new();
                entry.read_to_string(&mut text).expect("read");
                (name, mode, text)
            })
            .collect()
    }

    #[test]
    fn packs_programs_pages_contrib_readme_and_licences_under_one_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        fake_tree(root);
        let entries = entries(root, &root.join("bin"), &root.join("man")).expect("entries");
        let archive = root.join("out.tar.gz");
        let top = archive_stem("1.2.3", "x86_64-unknown-linux-gnu");
        pack(&archive, &top, &entries).expect("pack");

        let got = members(&archive);
        let names: Vec<&str> = got.iter().map(|(n, _, _)| n.as_str()).collect();
        let t = "dmail-imapd-1.2.3-x86_64-unknown-linux-gnu";
        assert_eq!(
            names,
            [
                format!("{t}/bin/imapd"),
                format!("{t}/bin/imapdsvc"),
                format!("{t}/man/man8/imapd.8"),
                format!("{t}/contrib/inetd.conf"),
                format!("{t}/contrib/systemd/imapd.socket"),
                format!("{t}/README.md"),
                format!("{t}/LICENSE-MIT"),
            ]
        );
        for (name, mode, _) in &got {
            let want = if name.contains("/bin/") { 0o755 } else { 0o644 };
            assert_eq!(*mode, want, "{name}");
        }
        assert_eq!(got[0].2, "fake imapd\n");
        assert_eq!(got[2].2, ".TH IMAPD 8\n");
    }

    #[test]
    fn packing_twice_gives_the_same_bytes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        fake_tree(root);
        let entries = entries(root, &root.join("bin"), &root.join("man")).expect("entries");
        pack(&root.join("a.tar.gz"), "t", &entries).expect("pack a");
        pack(&root.join("b.tar.gz"), "t", &entries).expect("pack b");
        let a = std::fs::read(root.join("a.tar.gz")).expect("read a");
        let b = std::fs::read(root.join("b.tar.gz")).expect("read b");
        assert_eq!(a, b);
    }

    #[test]
    fn a_missing_program_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        fake_tree(root);
        std::fs::remove_file(root.join("bin/imapdsvc")).expect("remove");
        let err = entries(root, &root.join("bin"), &root.join("man")).expect_err("missing");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("imapdsvc"), "{err}");
    }

    #[test]
    fn host_target_reads_rustc() {
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let target = host_target(&rustc).expect("host target");
        assert!(target.contains('-'), "{target}");
    }

    #[test]
    fn ships_the_real_contrib_files() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        let dir = tempfile::tempdir().expect("temp dir");
        write(&dir.path().join("imapd"), "x");
        write(&dir.path().join("imapdsvc"), "x");
        let entries = entries(root, dir.path(), dir.path()).expect("entries");
        let dests: Vec<&str> = entries.iter().map(|e| e.dest.as_str()).collect();
        for want in [
            "contrib/inetd.conf",
            "contrib/dmail.conf.example",
            "contrib/xinetd.d/imap",
            "contrib/xinetd.d/imaps",
            "contrib/systemd/imapdsvc.service",
            "contrib/systemd/imapd.socket",
            "contrib/systemd/imapd@.service",
            "contrib/systemd/imaps.socket",
            "contrib/systemd/imaps@.service",
            "contrib/dwatch/imapdsvc.wat",
            "README.md",
        ] {
            assert!(dests.contains(&want), "{want} not in {dests:?}");
        }
    }
}
