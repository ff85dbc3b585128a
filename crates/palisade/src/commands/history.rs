//! `palisade history`: what appeared and what was fixed, from the evaluations `scan
//! --database` recorded.

use std::io::{self, BufWriter, Write};

use palisade_history::{format_unix, ClusterState, Evaluation, Filter, History};
use serde_json::json;

use crate::cli::{HistoryArgs, HistoryFormat};
use crate::ExitStatus;

pub fn run(args: &HistoryArgs) -> anyhow::Result<ExitStatus> {
    let mut history = History::open(&args.database)?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.fleet {
        let fleet = history.fleet()?;
        match args.format {
            HistoryFormat::Text => write_fleet(&fleet, &mut out)?,
            HistoryFormat::Json => {
                let clusters: Vec<_> = fleet
                    .iter()
                    .map(|s| json!({"evaluation": evaluation_json(&s.latest), "open_by_check": s.by_check}))
                    .collect();
                serde_json::to_writer(&mut out, &json!({ "fleet": clusters }))?;
                writeln!(out)?;
            }
        }
        out.flush()?;
        return Ok(ExitStatus::Clean);
    }
    let filter = Filter {
        cluster: args.cluster_name.clone(),
        check: args.check.clone(),
        namespace: args.namespace.clone(),
        since: args.since,
    };
    let evaluations = history.evaluations(args.cluster_name.as_deref(), args.limit)?;
    let drift = history.drift(&filter)?;
    let changes = history.changes(&filter)?;
    match args.format {
        HistoryFormat::Json => {
            let drift: Vec<_> = drift
                .iter()
                .map(|((check, ns), d)| {
                    json!({
                        "check": check, "namespace": ns, "appeared": d.appeared,
                        "fixed": d.fixed, "open": d.open,
                        "last_appeared": d.last_appeared.map(format_unix),
                        "last_fixed": d.last_fixed.map(format_unix),
                    })
                })
                .collect();
            let changes: Vec<_> = changes
                .iter()
                .map(|c| {
                    json!({
                        "evaluation": c.evaluation, "cluster": c.cluster, "at": format_unix(c.at),
                        "change": c.kind.as_str(), "check": c.row.check,
                        "severity": c.row.severity.as_str(), "namespace": c.row.namespace,
                        "object": c.row.object, "message": c.row.message,
                        "fingerprint": c.row.fingerprint,
                    })
                })
                .collect();
            let evaluations: Vec<_> = evaluations.iter().map(evaluation_json).collect();
            serde_json::to_writer(
                &mut out,
                &json!({"evaluations": evaluations, "by_check_and_namespace": drift, "changes": changes}),
            )?;
            writeln!(out)?;
        }
        HistoryFormat::Text => {
            if evaluations.is_empty() {
                writeln!(out, "No evaluation recorded in {}.", args.database)?;
            } else {
                writeln!(out, "Evaluations (the last {}):", evaluations.len())?;
                for e in &evaluations {
                    writeln!(out, "  {}", evaluation_line(e))?;
                }
            }
            if !drift.is_empty() {
                writeln!(out)?;
                writeln!(out, "By check and namespace:")?;
                let width = drift.keys().map(|(c, _)| c.len()).max().unwrap_or(0);
                for ((check, ns), d) in &drift {
                    let ns = if ns.is_empty() { "(cluster)" } else { ns };
                    let mut line = format!(
                        "  {check:<width$}  {ns:<20} +{} appeared, -{} fixed, {} open",
                        d.appeared, d.fixed, d.open
                    );
                    if let Some(t) = d.last_appeared {
                        line += &format!("; last appeared {}", format_unix(t));
                    }
                    if let Some(t) = d.last_fixed {
                        line += &format!("; last fixed {}", format_unix(t));
                    }
                    writeln!(out, "{line}")?;
                }
            }
            if !changes.is_empty() {
                writeln!(out)?;
                writeln!(out, "Changes (newest last):")?;
                // The newest are what a reader wants; the rest are counted.
                let skip = changes.len().saturating_sub(args.limit * 10);
                if skip > 0 {
                    writeln!(
                        out,
                        "  ... {skip} earlier changes (narrow with --check, -n, --since, or -f json)"
                    )?;
                }
                for c in &changes[skip..] {
                    let sign = if c.kind == palisade_history::ChangeKind::Fixed {
                        "fixed   "
                    } else {
                        "appeared"
                    };
                    writeln!(
                        out,
                        "  {} {} {sign} {:<8} {} {}: {}",
                        format_unix(c.at),
                        c.cluster,
                        c.row.severity.as_str(),
                        c.row.check,
                        c.row.object,
                        c.row.message
                    )?;
                }
            }
        }
    }
    out.flush()?;
    Ok(ExitStatus::Clean)
}

fn evaluation_json(e: &Evaluation) -> serde_json::Value {
    json!({
        "id": e.id, "cluster": e.cluster, "at": format_unix(e.at), "findings": e.findings,
        "critical": e.by_severity[0], "high": e.by_severity[1], "medium": e.by_severity[2],
        "low": e.by_severity[3], "info": e.by_severity[4],
        "appeared": e.appeared, "fixed": e.fixed,
    })
}

fn evaluation_line(e: &Evaluation) -> String {
    // `by_severity` is in `Severity::ALL`'s order, critical first.
    let counts: Vec<String> = palisade_model::Severity::ALL
        .iter()
        .map(|s| s.as_str())
        .zip(e.by_severity)
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    format!(
        "#{} {} {}: {} finding{}{} (+{} appeared, -{} fixed)",
        e.id,
        format_unix(e.at),
        e.cluster,
        e.findings,
        if e.findings == 1 { "" } else { "s" },
        if counts.is_empty() {
            String::new()
        } else {
            format!(": {}", counts.join(", "))
        },
        e.appeared,
        e.fixed
    )
}

/// Each cluster's latest evaluation, then the checks with open findings, cluster by
/// cluster, most widespread first.
fn write_fleet(fleet: &[ClusterState], out: &mut dyn Write) -> io::Result<()> {
    if fleet.is_empty() {
        return writeln!(out, "No evaluation recorded.");
    }
    writeln!(out, "Clusters (latest evaluation):")?;
    for s in fleet {
        writeln!(out, "  {}", evaluation_line(&s.latest))?;
    }
    let mut checks: Vec<(&str, i64, usize)> = Vec::new();
    for s in fleet {
        for (check, n) in &s.by_check {
            match checks.iter_mut().find(|(c, _, _)| c == check) {
                Some(entry) => {
                    entry.1 += n;
                    entry.2 += 1;
                }
                None => checks.push((check, *n, 1)),
            }
        }
    }
    // In the most clusters first, then the most findings.
    checks.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(b.0)));
    writeln!(out)?;
    let width = checks
        .iter()
        .map(|(c, _, _)| c.len())
        .max()
        .unwrap_or(5)
        .max(5);
    write!(out, "  {:<width$}", "CHECK")?;
    for s in fleet {
        write!(out, "  {:>10}", truncate(&s.latest.cluster, 10))?;
    }
    writeln!(out)?;
    for (check, _, _) in &checks {
        write!(out, "  {check:<width$}")?;
        for s in fleet {
            let n = s.by_check.get(*check).copied().unwrap_or(0);
            write!(out, "  {n:>10}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
