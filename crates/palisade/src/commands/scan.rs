//! `palisade scan`.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};

use anyhow::Context;
use palisade_checks::{select, Selection};
use palisade_engine::{scan, ScanOptions};
use palisade_inventory::{discover, InputKind};
use palisade_report::{write_report, Format, ReportContext};

use crate::cli::{ColorChoice, FailOn, OutputFormat, ScanArgs};
use crate::ExitStatus;

pub fn run(args: &ScanArgs) -> anyhow::Result<ExitStatus> {
    let checks = select(&Selection {
        select: args.select.clone(),
        ignore: args.ignore.clone(),
    })
    .map_err(anyhow::Error::msg)?;
    let (inputs, discover_errors) = discover(&args.paths);
    if inputs.iter().filter(|i| i.kind == InputKind::Stdin).count() > 1 {
        anyhow::bail!("`-` (stdin) may be given only once");
    }
    let opts = ScanOptions {
        profile: args.pss,
        ..ScanOptions::default()
    };
    let mut result = scan(&inputs, &checks, &opts);
    if !discover_errors.is_empty() {
        let mut errors = discover_errors;
        errors.append(&mut result.errors);
        result.errors = errors;
    }

    let format = match args.format {
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Sarif => Format::Sarif,
        OutputFormat::Junit => Format::Junit,
    };
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            args.output.is_none()
                && io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let ctx = ReportContext {
        version: env!("CARGO_PKG_VERSION"),
        checks: checks.iter().map(|c| c.meta()).collect(),
        color,
    };
    match &args.output {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
            let mut w = BufWriter::new(file);
            write_report(format, &result, &ctx, &mut w)
                .and_then(|()| w.flush())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => {
            let stdout = io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            write_report(format, &result, &ctx, &mut w).and_then(|()| w.flush())?;
        }
    }
    if !result.errors.is_empty() {
        // Errors are in the report; say so on stderr too, where CI logs look.
        if args.format != OutputFormat::Table || args.output.is_some() {
            for e in &result.errors {
                eprintln!("palisade: error: {e}");
            }
        }
        return Ok(ExitStatus::Error);
    }
    let failing = match args.fail_on {
        FailOn::Never => false,
        FailOn::Severity(min) => result.max_severity().is_some_and(|s| s >= min),
    };
    Ok(if failing {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}
