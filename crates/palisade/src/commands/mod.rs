//! One module per command.

mod checks;
mod rbac;
mod scan;

use crate::cli::{Args, Command};
use crate::ExitStatus;

pub fn run(args: Args) -> anyhow::Result<ExitStatus> {
    match args.command {
        Command::Scan(scan) => scan::run(&scan),
        Command::Checks { command } => checks::run(command),
        Command::Rbac { command } => rbac::run(command),
    }
}
