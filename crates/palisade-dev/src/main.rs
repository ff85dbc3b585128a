//! `cargo run -p palisade-dev [-- --check]`: writes `docs/checks.md` from the registry,
//! or with `--check` fails when the committed file differs (CI runs that).

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/checks.md");
    let fresh = palisade_checks::checks_markdown();
    let check = std::env::args().any(|a| a == "--check");
    if check {
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == fresh {
            return ExitCode::SUCCESS;
        }
        eprintln!("docs/checks.md is stale: run `cargo run -p palisade-dev` and commit it");
        return ExitCode::FAILURE;
    }
    if let Err(e) = std::fs::write(&path, fresh) {
        eprintln!("cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    eprintln!("wrote {}", path.display());
    ExitCode::SUCCESS
}
