//! `palisade audit`: Falco rules over Kubernetes audit logs.

use std::io::Write;

use anyhow::Context;
use palisade_audit::events::open;
use palisade_audit::scan::{scan_reader, Totals};
use palisade_audit::{falco_json, output, Loader, PALISADE_RULES, PALISADE_RULES_NAME};

use crate::cli::{AuditCommand, AuditFormat, AuditScanArgs, AuditWatchArgs};
use crate::ExitStatus;
use palisade_audit::watch::WatchOptions;

pub fn run(command: AuditCommand) -> anyhow::Result<ExitStatus> {
    match command {
        AuditCommand::Scan(args) => scan(&args),
        AuditCommand::Watch(args) => watch(&args),
        AuditCommand::Policy => {
            std::io::stdout().write_all(palisade_audit::RECOMMENDED_POLICY.as_bytes())?;
            Ok(ExitStatus::Clean)
        }
    }
}

fn load_rules(rules: &[std::path::PathBuf]) -> anyhow::Result<palisade_audit::RuleSet> {
    let mut loader = Loader::default();
    let default = [std::path::PathBuf::from(PALISADE_RULES_NAME)];
    let files = if rules.is_empty() {
        &default[..]
    } else {
        rules
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
    Ok(rules)
}

/// One detection in `format`; `name:line` places it for `text`.
fn render(
    format: AuditFormat,
    hostname: &str,
    place: &str,
    d: &palisade_audit::Detection<'_>,
    event: &palisade_audit::AuditEvent<'_>,
) -> String {
    match format {
        AuditFormat::FalcoJson => falco_json(d, hostname).to_string(),
        AuditFormat::Ecs => output::ecs(d, event).to_string(),
        AuditFormat::Ocsf => output::ocsf(d, event).to_string(),
        AuditFormat::Cef => output::syslog_cef(d, event, hostname),
        AuditFormat::Text => format!(
            "{place}: {} {} ({}): {}",
            d.time,
            d.rule.priority.as_str(),
            d.rule.name,
            d.output
        ),
    }
}

fn watch(args: &AuditWatchArgs) -> anyhow::Result<ExitStatus> {
    let rules = load_rules(&args.rules.rules)?;
    let options = WatchOptions {
        files: args.files.clone(),
        state: args.state.clone(),
        output: args.output.clone(),
        poll: std::time::Duration::from_millis(args.poll_ms.max(1)),
        idle_exit: (args.exit_when_idle_ms > 0)
            .then(|| std::time::Duration::from_millis(args.exit_when_idle_ms)),
    };
    let totals = palisade_audit::watch::watch(
        &options,
        &rules,
        |name, offset, d, event| {
            render(
                args.format,
                &args.rules.hostname,
                &format!("{name}@{offset}"),
                d,
                event,
            )
        },
        |bad| {
            let _ = writeln!(std::io::stderr(), "error: {bad}");
        },
    )?;
    writeln!(
        std::io::stderr(),
        "{} events, {} detections; {} unreadable lines skipped",
        totals.events,
        totals.detections,
        totals.bad_lines
    )?;
    Ok(ExitStatus::Clean)
}

fn scan(args: &AuditScanArgs) -> anyhow::Result<ExitStatus> {
    let rules = load_rules(&args.rules.rules)?;
    let mut err = std::io::stderr().lock();
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
            |line, d, event| {
                render(
                    args.format,
                    &args.rules.hostname,
                    &format!("{name}:{line}"),
                    d,
                    event,
                )
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
