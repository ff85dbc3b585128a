//! `palisade audit`: Falco rules over Kubernetes audit logs.

use std::io::Write;

use anyhow::Context;
use palisade_audit::events::{open, read_events};
use palisade_audit::{detect, falco_json, Loader};

use crate::cli::{AuditCommand, AuditFormat, AuditScanArgs};
use crate::ExitStatus;

pub fn run(command: AuditCommand) -> anyhow::Result<ExitStatus> {
    match command {
        AuditCommand::Scan(args) => scan(&args),
    }
}

fn scan(args: &AuditScanArgs) -> anyhow::Result<ExitStatus> {
    let mut loader = Loader::default();
    for path in &args.rules {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read rules file {}", path.display()))?;
        loader.add(&path.display().to_string(), &text)?;
    }
    let rules = loader.compile();
    let mut err = std::io::stderr().lock();
    for notice in &rules.notices {
        writeln!(err, "note: {notice}")?;
    }
    if rules.rules.is_empty() {
        anyhow::bail!("no k8s_audit rule could be loaded from the rules files");
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut events, mut detections, mut bad_lines) = (0u64, 0u64, 0u64);
    let mut write_error = None;
    for path in &args.files {
        let name = path.display().to_string();
        let input = open(path).with_context(|| format!("cannot open {name}"))?;
        read_events(
            &name,
            input,
            |event| {
                events += 1;
                for d in detect(&rules, &event.json) {
                    detections += 1;
                    let line = match args.format {
                        AuditFormat::FalcoJson => falco_json(&d, &args.hostname).to_string(),
                        AuditFormat::Text => format!(
                            "{name}:{}: {} {} ({}): {}",
                            event.line,
                            d.time,
                            d.rule.priority.as_str(),
                            d.rule.name,
                            d.output
                        ),
                    };
                    if let Err(e) = writeln!(out, "{line}") {
                        write_error.get_or_insert(e);
                    }
                }
            },
            |bad| {
                bad_lines += 1;
                let _ = writeln!(std::io::stderr(), "error: {bad}");
            },
        )
        .with_context(|| format!("cannot read {name}"))?;
    }
    if let Some(e) = write_error {
        return Err(e.into());
    }
    out.flush()?;
    writeln!(
        err,
        "{events} events, {detections} detections by {} rules; {bad_lines} unreadable lines skipped",
        rules.rules.len()
    )?;
    Ok(if detections > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}
