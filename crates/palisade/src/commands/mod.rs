//! One module per command.

mod checks;
mod netpol;
mod rbac;
mod scan;

use std::path::PathBuf;

use palisade_inventory::{discover, InputKind, InputSpec};
use palisade_model::LoadError;

use crate::cli::{Args, Command};
use crate::ExitStatus;

/// A Graphviz DOT string's inside.
fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The inputs the command-line paths name, and the paths that could not be found;
/// stdin may be read once only.
fn inputs(paths: &[PathBuf]) -> anyhow::Result<(Vec<InputSpec>, Vec<LoadError>)> {
    let (inputs, errors) = discover(paths);
    if inputs.iter().filter(|i| i.kind == InputKind::Stdin).count() > 1 {
        anyhow::bail!("`-` (stdin) may be given only once");
    }
    Ok((inputs, errors))
}

pub fn run(args: Args) -> anyhow::Result<ExitStatus> {
    match args.command {
        Command::Scan(scan) => scan::run(&scan),
        Command::Checks { command } => checks::run(command),
        Command::Rbac { command } => rbac::run(command),
        Command::Netpol { command } => netpol::run(command),
    }
}
