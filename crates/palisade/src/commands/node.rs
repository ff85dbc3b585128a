//! `palisade node`: judge a node (or a captured tree, or a capture file).

use std::fs::File;
use std::io::{self, BufWriter, Write};

use anyhow::Context;
use palisade_checks::node::{evaluate, RULES};
use palisade_model::{CheckMeta, Severity};
use palisade_node::{collect, replay, NodeView, Snapshot};

use super::scan::{emit, failing};
use crate::cli::{FailOn, NodeArgs, OutputFormat};
use crate::ExitStatus;

pub fn run(args: &NodeArgs) -> anyhow::Result<ExitStatus> {
    let checks = selected(args)?;
    let view = match &args.from {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let snapshot: Snapshot = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a capture written by `palisade node --collect`",
                    path.display()
                )
            })?;
            if snapshot.format != palisade_node::snapshot::FORMAT {
                anyhow::bail!(
                    "{}: capture format {} is not {} (written by another Palisade version)",
                    path.display(),
                    snapshot.format,
                    palisade_node::snapshot::FORMAT
                );
            }
            replay(&snapshot)
        }
        None => {
            if !args.root.is_dir() {
                anyhow::bail!("--root {}: not a directory", args.root.display());
            }
            let (view, snapshot) = collect(&args.root);
            if args.collect {
                let path = args.output.as_deref().unwrap_or(std::path::Path::new("-"));
                let mut w: Box<dyn Write> = if path == std::path::Path::new("-") {
                    Box::new(BufWriter::new(io::stdout().lock()))
                } else {
                    Box::new(BufWriter::new(
                        File::create(path)
                            .with_context(|| format!("cannot write {}", path.display()))?,
                    ))
                };
                serde_json::to_writer_pretty(&mut w, &snapshot)?;
                writeln!(w)?;
                w.flush()
                    .with_context(|| format!("cannot write {}", path.display()))?;
                eprintln!(
                    "palisade: captured {} processes and {} paths of {} to {}",
                    snapshot.processes.len(),
                    snapshot.files.len(),
                    view.node,
                    path.display()
                );
                return Ok(ExitStatus::Clean);
            }
            view
        }
    };
    for problem in &view.problems {
        eprintln!("palisade: warning: {problem}");
    }
    if args.show_config {
        show_config(&view, args.format)?;
        return Ok(ExitStatus::Clean);
    }
    let result = evaluate(&view, &checks);
    emit(
        &result,
        args.format,
        args.output.as_deref(),
        args.color,
        checks,
    )?;
    let fail_on = args.fail_on.unwrap_or(FailOn::Severity(Severity::High));
    Ok(if failing(&result, fail_on) {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}

/// The node checks `--select` and `--ignore` keep.
fn selected(args: &NodeArgs) -> anyhow::Result<Vec<&'static CheckMeta>> {
    let all: Vec<&'static CheckMeta> = RULES.iter().map(|r| &r.meta).collect();
    for id in args.select.iter().chain(&args.ignore) {
        if !all.iter().any(|m| m.id == id) {
            anyhow::bail!("unknown node check {id:?} (see `palisade checks list`, category node)");
        }
    }
    Ok(all
        .into_iter()
        .filter(|m| args.select.is_empty() || args.select.iter().any(|s| s == m.id))
        .filter(|m| !args.ignore.iter().any(|s| s == m.id))
        .collect())
}

/// The kubelet's effective configuration: every value and where it came from.
fn show_config(view: &NodeView, format: OutputFormat) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let Some(kubelet) = &view.kubelet else {
        anyhow::bail!(
            "{}",
            view.no_kubelet
                .as_deref()
                .unwrap_or("no kubelet on this node")
        );
    };
    if format == OutputFormat::Json {
        serde_json::to_writer_pretty(&mut out, &kubelet.config)?;
        writeln!(out)?;
        return Ok(out.flush()?);
    }
    writeln!(
        out,
        "kubelet (pid {}) on {}: {}",
        kubelet.pid,
        view.node,
        match &kubelet.config.config_file {
            Some(f) => format!("--config {f}"),
            None => "no --config (command-line defaults)".to_owned(),
        }
    )?;
    for d in &kubelet.config.drop_ins {
        writeln!(out, "  drop-in {d}")?;
    }
    let width = kubelet
        .config
        .values
        .keys()
        .map(String::len)
        .max()
        .unwrap_or(0);
    for (field, setting) in &kubelet.config.values {
        writeln!(
            out,
            "{field:<width$}  {:<24}  {}",
            setting.shown(),
            setting.source
        )?;
    }
    Ok(out.flush()?)
}
