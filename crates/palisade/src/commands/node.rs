//! `palisade node`: judge a node (or a captured tree, or a capture file).

use std::fs::File;
use std::io::{self, BufWriter, Write};

use anyhow::Context;
use std::sync::Arc;

use palisade_checks::node::{evaluate, RULES};
use palisade_checks::{analyses, registry};
use palisade_engine::{scan, Check, ScanOptions};
use palisade_inventory::{InputKind, InputSpec};
use palisade_model::{Category, CheckMeta, ScanResult, Severity};
use palisade_node::{collect, replay, NodeView, Snapshot};

use super::scan::{emit, failing};
use crate::cli::{FailOn, NodeArgs, OutputFormat};
use crate::ExitStatus;

pub fn run(args: &NodeArgs) -> anyhow::Result<ExitStatus> {
    let (node_checks, plane_checks) = selected(args)?;
    let (view, snapshot) = match &args.from {
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
            (replay(&snapshot), snapshot)
        }
        None => {
            if !args.root.is_dir() {
                anyhow::bail!("--root {}: not a directory", args.root.display());
            }
            let (view, snapshot) = collect(&args.root);
            if args.collect {
                write_capture(args, &view, &snapshot)?;
                return Ok(ExitStatus::Clean);
            }
            (view, snapshot)
        }
    };
    for problem in &view.problems {
        eprintln!("palisade: warning: {problem}");
    }
    if args.show_config {
        show_config(&view, args.format)?;
        return Ok(ExitStatus::Clean);
    }
    let mut result = evaluate(&view, &node_checks);
    let mut ran: Vec<&'static CheckMeta> = node_checks;
    if !view.components.is_empty() && !plane_checks.is_empty() {
        let plane = control_plane(&view, &snapshot, &plane_checks);
        result.findings.extend(plane.findings);
        result.objects.extend(plane.objects);
        result.suppressed.extend(plane.suppressed);
        result.errors.extend(plane.errors);
        ran.extend(plane_checks.iter().map(|c| c.meta()));
    }
    emit(
        &result,
        args.format,
        args.output.as_deref(),
        args.color,
        ran.clone(),
        super::compliance(&super::frameworks(&args.framework), &result, &ran),
        palisade_report::Extras::default(),
    )?;
    for e in &result.errors {
        eprintln!("palisade: error: {e}");
    }
    if !result.errors.is_empty() {
        return Ok(ExitStatus::Error);
    }
    let fail_on = args.fail_on.unwrap_or(FailOn::Severity(Severity::High));
    Ok(if failing(&result, fail_on) {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}

fn write_capture(args: &NodeArgs, view: &NodeView, snapshot: &Snapshot) -> anyhow::Result<()> {
    let path = args.output.as_deref().unwrap_or(std::path::Path::new("-"));
    let mut w: Box<dyn Write> = if path == std::path::Path::new("-") {
        Box::new(BufWriter::new(io::stdout().lock()))
    } else {
        Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
        ))
    };
    serde_json::to_writer_pretty(&mut w, snapshot)?;
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
    Ok(())
}

/// The line of a synthesized pod on which a process's argument 0 stands.
const FIRST_ARG_LINE: u32 = 12;

/// The control-plane flag checks (CIS 1.2-1.4, 2) on the components of the node: a
/// static pod manifest as written (findings at its lines), a component running as a
/// process through its command line (findings at `/proc/PID/cmdline`, the argument's
/// index as column).
fn control_plane(
    view: &NodeView,
    snapshot: &Snapshot,
    checks: &[&'static dyn Check],
) -> ScanResult {
    let mut inputs = Vec::new();
    let mut manifests: Vec<&str> = Vec::new();
    for c in &view.components {
        match (&c.manifest, c.pid) {
            (Some(path), _) => {
                if manifests.contains(&path.as_str()) {
                    continue;
                }
                manifests.push(path);
                if let Some(text) = snapshot.files.get(path).and_then(|f| f.text.clone()) {
                    inputs.push(InputSpec {
                        name: Arc::from(path.as_str()),
                        kind: InputKind::Inline(text),
                    });
                }
            }
            (None, Some(pid)) => {
                let Some(process) = snapshot.processes.iter().find(|p| p.pid == pid) else {
                    continue;
                };
                let mut text = format!(
                    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {} (pid {pid})\n  namespace: kube-system\n  annotations:\n    palisade.dev/source: process\nspec:\n  containers:\n  - name: {}\n    command:\n",
                    c.program, c.program
                );
                for arg in &process.args {
                    text.push_str(&format!(
                        "    - {}\n",
                        serde_json::to_string(arg).unwrap_or_default()
                    ));
                }
                inputs.push(InputSpec {
                    name: Arc::from(process.cmdline_path().as_str()),
                    kind: InputKind::Inline(text),
                });
            }
            (None, None) => {}
        }
    }
    let opts = ScanOptions {
        analyses: analyses(),
        catalogue: registry().into_iter().map(|c| c.meta()).collect(),
        ..ScanOptions::default()
    };
    let mut result = scan(&inputs, checks, &opts);
    // A process's findings: the command line, its argument index as column.
    for f in &mut result.findings {
        if f.location.file.starts_with("/proc/") {
            f.location.column = f.location.line.saturating_sub(FIRST_ARG_LINE);
            f.location.line = 1;
        }
    }
    result
}

/// The node checks, and the control-plane checks, that `--select` and `--ignore` keep.
fn selected(args: &NodeArgs) -> anyhow::Result<(Vec<&'static CheckMeta>, Vec<&'static dyn Check>)> {
    let node: Vec<&'static CheckMeta> = RULES.iter().map(|r| &r.meta).collect();
    let plane: Vec<&'static dyn Check> = registry()
        .into_iter()
        .filter(|c| c.meta().category == Category::ControlPlane)
        .collect();
    let known = |id: &str| {
        id == "node"
            || id == "control-plane"
            || node.iter().any(|m| m.id == id)
            || plane.iter().any(|c| c.meta().id == id)
    };
    for id in args.select.iter().chain(&args.ignore) {
        if !known(id) {
            anyhow::bail!(
                "unknown node or control-plane check {id:?} (see `palisade checks list`, categories node and control-plane)"
            );
        }
    }
    let keep = |meta: &CheckMeta| {
        let hit = |s: &String| s == meta.id || s == meta.category.as_str();
        (args.select.is_empty() || args.select.iter().any(hit)) && !args.ignore.iter().any(hit)
    };
    Ok((
        node.into_iter().filter(|m| keep(m)).collect(),
        plane.into_iter().filter(|c| keep(c.meta())).collect(),
    ))
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
    for c in &view.components {
        let from = match (&c.manifest, c.pid) {
            (Some(m), _) => format!("static pod {m} (command and args)"),
            (None, Some(pid)) => format!("process /proc/{pid}/cmdline"),
            (None, None) => String::new(),
        };
        writeln!(out, "\n{}: {from}", c.program)?;
        for f in &c.flags {
            writeln!(out, "  {:<48}  argument {}", f.written, f.index)?;
        }
    }
    Ok(out.flush()?)
}
