//! `palisade`: the command line. Parsing, dispatch and exit codes; the work is in the
//! library crates.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

// The allocator (mimalloc, tuned) comes with this crate.
use palisade_alloc as _;

/// Exit codes: 0 clean, 1 findings at or above `--fail-on`, 2 unreadable input or usage error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Clean,
    Findings,
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        ExitCode::from(match s {
            ExitStatus::Clean => 0,
            ExitStatus::Findings => 1,
            ExitStatus::Error => 2,
        })
    }
}

fn main() -> ExitCode {
    palisade_alloc::configure();
    // libyaml-safer panics on a few malformed documents; the loader catches that and
    // reports the document as unreadable, so its panic message is not for the user.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info
            .location()
            .is_some_and(|l| l.file().contains("libyaml-safer"))
        {
            default_hook(info);
        }
    }));
    let args = cli::Args::parse();
    match commands::run(args) {
        Ok(status) => status.into(),
        Err(err) => {
            // A closed pipe (`palisade scan . | head`) is not a failure.
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("palisade: error: {err:#}");
            ExitStatus::Error.into()
        }
    }
}
