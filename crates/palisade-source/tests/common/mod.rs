//! What the parser test suites share: the `../shared` folder and the YAML files under
//! a directory.

use std::path::{Path, PathBuf};

/// `../shared/<sub>` beside the project, or `None` (said on stderr, naming `suite`)
/// when that folder is absent.
pub fn shared(sub: &str, suite: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {suite} did not run: {} is absent (it lives in ../shared beside the project)",
        dir.display()
    );
    None
}

/// Every `.yaml` and `.yml` file under `dir` that reads as text, in path order, with
/// its text.
pub fn yaml_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            matches!(
                e.path().extension().and_then(|x| x.to_str()),
                Some("yaml" | "yml")
            )
        })
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            Some((e.into_path(), text))
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}
