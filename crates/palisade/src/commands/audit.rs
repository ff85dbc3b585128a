//! `palisade audit`: Falco rules over Kubernetes audit logs.

use std::io::Write;

use anyhow::Context;
use palisade_audit::events::open;
use palisade_audit::scan::{scan_reader, Totals};
use palisade_audit::{falco_json, output, Loader, PALISADE_RULES, PALISADE_RULES_NAME};

use crate::cli::{AuditCommand, AuditFormat, AuditScanArgs};
use crate::ExitStatus;

pub fn run(command: AuditCommand) -> anyhow::Result<ExitStatus> {
    match command {
        AuditCommand::Scan(args) => scan(&args),
        AuditCommand::Policy => {
            std::io::stdout().write_all(palisade_audit::RECOMMENDED_POLICY.as_bytes())?;
            Ok(ExitStatus::Clean)
        }
    }
}

fn scan(args: &AuditScanArgs) -> anyhow::Result<ExitStatus> {
    let mut loader = Loader::default();
    let default = [std::path::PathBuf::from(PALISADE_RULES_NAME)];
    let files = if args.rules.is_empty() {
        &default[..]
    } else {
        &args.rules[..]
    };
    for path in files {
        if path.as_os_str() == PALISADE_RULES_NAME {
            loader.add("palisade_k8s_audit.yaml", PALISADE_RULES)?;
            continue;
        }
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
    let mut totals = Totals::default();
    for path in &args.files {
        let name = path.display().to_string();
        let input = open(path).with_context(|| format!("cannot open {name}"))?;
        let t = scan_reader(
            &name,
            input,
            &rules,
            |line, d, event| match args.format {
                AuditFormat::FalcoJson => falco_json(d, &args.hostname).to_string(),
                AuditFormat::Ecs => output::ecs(d, event).to_string(),
                AuditFormat::Ocsf => output::ocsf(d, event).to_string(),
                AuditFormat::Cef => output::syslog_cef(d, event, &args.hostname),
                AuditFormat::Text => format!(
                    "{name}:{line}: {} {} ({}): {}",
                    d.time,
                    d.rule.priority.as_str(),
                    d.rule.name,
                    d.output
                ),
            },
            |text| writeln!(out, "{text}"),
            |bad| {
                let _ = writeln!(std::io::stderr(), "error: {bad}");
            },
        )
        .with_context(|| format!("cannot read {name}"))?;
        totals.events += t.events;
        totals.detections += t.detections;
        totals.bad_lines += t.bad_lines;
    }
    out.flush()?;
    let Totals {
        events,
        detections,
        bad_lines,
    } = totals;
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
