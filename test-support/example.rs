//! The path of a workspace package's example program, built with `cargo build -p PACKAGE
//! --examples` the first time a test asks for one that is missing (`cargo test` builds only the
//! examples of the package under test). Included by path from the tests of several packages;
//! must never build anything but examples.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// The packages whose examples this test process has built.
static BUILT: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// `target/<profile>/examples/NAME`, after building PACKAGE's examples if it is not there.
pub(crate) fn example(package: &str, name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join("examples")
        .join(name);
    if !path.exists() {
        let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
        if built
            .get_or_insert_with(HashSet::new)
            .insert(package.to_owned())
        {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-p", package, "--examples"])
                .status()
                .expect("run cargo");
            assert!(
                status.success(),
                "cargo build -p {package} --examples failed"
            );
        }
    }
    assert!(path.exists(), "{} is not built", path.display());
    path
}
