//! `palisade scan`.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::Context;
use palisade_checks::cluster::version_vulnerable;
use palisade_checks::image::{image_signature, image_vulnerable};
use palisade_checks::{node, SECRET_VALUE_CHECKS};
use palisade_cluster::{read, ConfigzError, ReadOptions};
use palisade_config::{read_baseline, write_baseline};
use palisade_engine::{apply_baseline, scan, Check, ScanOptions, StreamingScan};
use palisade_model::{Category, CheckMeta, NotEvaluated, ScanResult, Severity};
use palisade_report::{write_report, Format, ReportContext};

use super::cluster;
use crate::cli::{ColorChoice, FailOn, OutputFormat, ScanArgs};
use crate::ExitStatus;

/// Scans the live cluster page by page: each page is checked and dropped as the next
/// one is fetched.
fn scan_cluster(
    args: &ScanArgs,
    selected: &[String],
    checks: &[&'static dyn Check],
    opts: &ScanOptions,
) -> anyhow::Result<ScanResult> {
    let mut scanner = StreamingScan::new(checks, opts);
    let mut errors = Vec::new();
    let mut context = String::new();
    let options = ReadOptions {
        // Secret values are read only for a check that needs them, named by id.
        secret_contents: selected
            .iter()
            .any(|s| SECRET_VALUE_CHECKS.contains(&s.as_str())),
        ..cluster::read_options(args.namespace.clone())
    };
    let mut nodes: Vec<String> = Vec::new();
    let read = read(&cluster::connection(&args.cluster), &options, |page| {
        cluster::note_context(&mut context, &page);
        if page.resource.group.is_empty() && page.resource.name == "nodes" {
            nodes.extend(
                page.items
                    .iter()
                    .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_owned)),
            );
        }
        let (docs, mut errs) = cluster::documents(&context, page, &opts.limits);
        errors.append(&mut errs);
        scanner.add(docs);
        true
    })?;
    let mut result = scanner.finish();
    result.errors.splice(0..0, errors);
    result.not_evaluated = read.not_evaluated;
    if let (Some(dir), Some(version)) = (&args.vuln_db, &read.version) {
        if checks
            .iter()
            .any(|c| c.meta().id == version_vulnerable::CHECK.meta.id)
        {
            kubernetes_vulnerabilities(dir, version, &mut result)?;
        }
    }
    let kubelet_checks: Vec<&'static CheckMeta> = checks
        .iter()
        .map(|c| c.meta())
        .filter(|m| node::judges_kubelet_config(m.id))
        .collect();
    if !kubelet_checks.is_empty() && !nodes.is_empty() {
        kubelets(args, &context, &nodes, &kubelet_checks, &mut result)?;
    }
    Ok(result)
}

/// Findings of `kubernetes-version-vulnerable` on the ClusterInfo object: one per OSV
/// record whose ranges hold the API server's `version`.
fn kubernetes_vulnerabilities(
    dir: &Path,
    version: &str,
    result: &mut ScanResult,
) -> anyhow::Result<()> {
    if !dir.join("osv.sqlite").exists() {
        anyhow::bail!(
            "--vuln-db {}: no vulnerability database there (palisade db update --from ... --db {})",
            dir.display(),
            dir.display()
        );
    }
    let db = palisade_vuln::osv::Database::open(dir)?;
    let Some(info) = result
        .objects
        .iter()
        .find(|o| o.identity.kind == palisade_cluster::CLUSTER_INFO_KIND)
        .cloned()
    else {
        return Ok(());
    };
    let meta = &version_vulnerable::CHECK.meta;
    let path = "serverVersion.gitVersion";
    for m in db.kubernetes(version)? {
        let aliases = if m.aliases.is_empty() {
            String::new()
        } else {
            format!(" ({})", m.aliases.join(", "))
        };
        let fix = m.fixed.as_ref().map_or_else(
            || "no fixed release yet".to_owned(),
            |f| format!("fixed in {f}"),
        );
        result.findings.push(palisade_model::Finding {
            check: meta,
            severity: Severity::parse(&m.severity).unwrap_or(meta.severity),
            message: palisade_model::Message::Text(format!(
                "Kubernetes {version} is affected by {}{aliases}: {}; {fix}",
                m.id, m.summary
            )),
            object: info.identity.clone(),
            location: palisade_model::Location {
                file: info.file.clone(),
                document: info.document,
                line: 0,
                column: 0,
            },
            path: path.to_owned(),
            // The record is part of the identity: each vulnerability is its own finding.
            fingerprint: palisade_model::fingerprint(
                &format!("{}:{}", meta.id, m.id),
                &info.file,
                &info.identity,
                path,
            ),
            pss: None,
            container: None,
        });
    }
    Ok(())
}

/// Judges each node's kubelet by the configuration it reports (`configz`); a role that
/// may not read it is said once, as not evaluated.
fn kubelets(
    args: &ScanArgs,
    context: &str,
    nodes: &[String],
    checks: &[&'static CheckMeta],
    result: &mut ScanResult,
) -> anyhow::Result<()> {
    let configs = palisade_cluster::kubelet_configs(&cluster::connection(&args.cluster), nodes)?;
    let mut forbidden = Vec::new();
    for (name, config) in configs {
        match config {
            Ok(config) => {
                let path = format!("cluster://{context}/api/v1/nodes/{name}/proxy/configz");
                let judged = node::evaluate_configz(&name, &path, &config, checks);
                result.findings.extend(judged.findings);
                result.objects.extend(judged.objects);
                result.not_applicable.extend(judged.not_applicable);
            }
            Err(ConfigzError::Forbidden(why)) => forbidden.push((name, why)),
            Err(ConfigzError::Failed(why)) => result.not_evaluated.push(NotEvaluated {
                resource: format!("nodes/{name}/proxy/configz"),
                reason: format!("the kubelet's configuration was not read: {why}"),
            }),
        }
    }
    if let Some((_, why)) = forbidden.first() {
        result.not_evaluated.push(NotEvaluated {
            resource: "nodes/proxy (kubelet configz)".to_owned(),
            reason: format!(
                "{} of {} nodes' kubelet configuration not read, the role may not get nodes/proxy ({why}); grant it, or run `palisade node` on the nodes",
                forbidden.len(),
                nodes.len()
            ),
        });
    }
    Ok(())
}

pub fn run(args: &ScanArgs) -> anyhow::Result<ExitStatus> {
    let (config, mut checks, mut opts) = super::policy(&args.policy)?;
    let image_facts =
        super::image_facts::RegistryFacts::for_scan(&args.images, args.vuln_db.as_ref())?;
    opts.settings.images = image_facts
        .clone()
        .map(|f| f as std::sync::Arc<dyn palisade_engine::ImageFacts>);
    let frameworks = super::frameworks(&args.framework);
    if !frameworks.is_empty() {
        // A framework is a selection: its checks, within what --select chose.
        checks.retain(|c| {
            frameworks
                .iter()
                .any(|f| palisade_compliance::maps_to(c.meta(), *f))
        });
    }
    let baseline = match &args.baseline {
        Some(p) => Some(read_baseline(p).map_err(|e| anyhow::anyhow!("{e}"))?),
        None => None,
    };
    // `--select` replaces the config's selection.
    let selected = if args.policy.select.is_empty() {
        config.select.clone().unwrap_or_default()
    } else {
        args.policy.select.clone()
    };
    let mut result = if args.cluster.cluster {
        scan_cluster(args, &selected, &checks, &opts)?
    } else {
        let (inputs, discover_errors) = super::inputs(&args.paths)?;
        let mut result = scan(&inputs, &checks, &opts);
        if !discover_errors.is_empty() {
            let mut errors = discover_errors;
            errors.append(&mut result.errors);
            result.errors = errors;
        }
        result
    };
    if let Some(b) = &baseline {
        apply_baseline(&mut result, b);
    }

    // Node checks judge nodes (`palisade node`); a cluster scan runs the kubelet ones on
    // each kubelet's configz.
    let ran: Vec<&'static CheckMeta> = checks
        .iter()
        .map(|c| c.meta())
        .filter(|m| {
            m.category != Category::Node
                || (args.cluster.cluster && node::judges_kubelet_config(m.id))
        })
        // These judge only with what they match against.
        .filter(|m| {
            m.id != version_vulnerable::CHECK.meta.id
                || (args.cluster.cluster && args.vuln_db.is_some())
        })
        .filter(|m| m.id != image_vulnerable::CHECK.meta.id || args.images.scan_images)
        .filter(|m| m.id != image_signature::CHECK.meta.id || args.images.image_policy.is_some())
        .collect();
    let compliance = super::compliance(&frameworks, &result, &ran);
    // Recorded before the report, so the HTML trend includes this evaluation.
    let trend = match &args.database {
        Some(url) => record_history(args, url, &result)?,
        None => Vec::new(),
    };
    let extras = if args.format == OutputFormat::Html {
        html_extras(args, &result, trend)
    } else {
        palisade_report::Extras::default()
    };
    emit(
        &result,
        args.format,
        args.output.as_deref(),
        args.color,
        ran,
        compliance,
        extras,
    )?;
    if args.format != OutputFormat::Table || args.output.is_some() {
        // Errors and notices are in the report; say so on stderr too, where CI logs look.
        for e in &result.errors {
            eprintln!("palisade: error: {e}");
        }
        for n in &result.notices {
            eprintln!("palisade: warning: {n}");
        }
        for n in &result.not_evaluated {
            eprintln!(
                "palisade: warning: not evaluated: {}: {}",
                n.resource, n.reason
            );
        }
    }
    if let Some(path) = &args.write_baseline {
        write_baseline(path, &result.findings).map_err(|e| anyhow::anyhow!("{e}"))?;
        eprintln!(
            "palisade: wrote {} finding{} to the baseline {}",
            result.findings.len(),
            if result.findings.len() == 1 { "" } else { "s" },
            path.display()
        );
    }
    if !result.errors.is_empty() {
        return Ok(ExitStatus::Error);
    }
    if args.write_baseline.is_some() {
        return Ok(ExitStatus::Clean);
    }
    let fail_on = args.fail_on.unwrap_or(match config.fail_on {
        Some(Some(sev)) => FailOn::Severity(sev),
        Some(None) => FailOn::Never,
        None => FailOn::Severity(Severity::High),
    });
    let failing = failing(&result, fail_on);
    // The process ends next: freeing hundreds of thousands of findings one by one
    // would only delay the exit (a tenth of a second at 100k objects).
    std::mem::forget(result);
    Ok(if failing {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}

/// Writes `result` in `format` to `output` (stdout when `None`).
pub(super) fn emit(
    result: &ScanResult,
    format: OutputFormat,
    output: Option<&Path>,
    color: ColorChoice,
    checks: Vec<&'static CheckMeta>,
    compliance: Vec<palisade_compliance::FrameworkReport>,
    extras: palisade_report::Extras,
) -> anyhow::Result<()> {
    let format = match format {
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Sarif => Format::Sarif,
        OutputFormat::Junit => Format::Junit,
        OutputFormat::Html => Format::Html,
        OutputFormat::Markdown => Format::Markdown,
    };
    let color = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            output.is_none() && io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let ctx = ReportContext {
        version: env!("CARGO_PKG_VERSION"),
        checks,
        color,
        compliance,
        extras,
    };
    match output {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
            let mut w = BufWriter::new(file);
            write_report(format, result, &ctx, &mut w)
                .and_then(|()| w.flush())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => {
            let stdout = io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            write_report(format, result, &ctx, &mut w).and_then(|()| w.flush())?;
        }
    }
    Ok(())
}

/// Records the evaluation in the history database `url`, unless inputs failed to load
/// (their objects' findings would look fixed); returns the trend of open findings over
/// the last evaluations of the same name.
fn record_history(
    args: &ScanArgs,
    url: &str,
    result: &ScanResult,
) -> anyhow::Result<Vec<(String, [i64; 5])>> {
    if !result.errors.is_empty() {
        eprintln!(
            "palisade: warning: not recorded in the history: {} input error{} would make \
             their objects' findings look fixed",
            result.errors.len(),
            if result.errors.len() == 1 { "" } else { "s" }
        );
        return Ok(Vec::new());
    }
    let name = match (&args.cluster_name, args.cluster.cluster) {
        (Some(name), _) => name.clone(),
        (None, true) => args
            .cluster
            .context
            .clone()
            .unwrap_or_else(|| "cluster".to_owned()),
        (None, false) => args
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let mut history = palisade_history::History::open(url)?;
    let e = history.record(&name, now, &palisade_history::Row::of(result))?;
    eprintln!(
        "palisade: history {name:?} evaluation {}: {} appeared, {} fixed, {} open",
        e.id, e.appeared, e.fixed, e.findings
    );
    Ok(history
        .evaluations(Some(&name), 100)?
        .into_iter()
        .map(|e| (palisade_history::format_unix(e.at), e.by_severity))
        .collect())
}

/// Longest line shown in the HTML report.
const MAX_LINE_CHARS: usize = 240;

/// What the HTML page shows besides the findings: their lines (none that may hold a
/// secret), the escalation and reachability graphs, and the trend.
fn html_extras(
    args: &ScanArgs,
    result: &ScanResult,
    trend: Vec<(String, [i64; 5])>,
) -> palisade_report::Extras {
    let mut lines = std::collections::HashMap::new();
    let mut files: std::collections::HashMap<&str, Option<Vec<String>>> =
        std::collections::HashMap::new();
    for f in &result.findings {
        let secret = f.check.category == Category::Secrets
            || SECRET_VALUE_CHECKS.contains(&f.check.id)
            || f.object.kind == "Secret";
        if f.location.line == 0 || secret {
            continue;
        }
        let text = files.entry(&f.location.file).or_insert_with(|| {
            std::fs::read_to_string(&*f.location.file)
                .ok()
                .map(|t| t.lines().map(str::to_owned).collect())
        });
        let Some(line) = text
            .as_ref()
            .and_then(|t| t.get(f.location.line as usize - 1))
        else {
            continue;
        };
        let mut line = line.clone();
        if line.chars().count() > MAX_LINE_CHARS {
            line = line.chars().take(MAX_LINE_CHARS).collect::<String>() + "…";
        }
        lines.insert((f.location.file.to_string(), f.location.line), line);
    }
    let mut graphs = Vec::new();
    for graph in [
        super::rbac::escalation_graph(&args.paths, &args.cluster),
        super::netpol::reachability_graph(&args.paths, &args.cluster),
    ] {
        match graph {
            Ok(g) => graphs.push(g),
            Err(e) => eprintln!("palisade: warning: a graph of the HTML report is left out: {e:#}"),
        }
    }
    palisade_report::Extras {
        trend,
        graphs,
        lines,
    }
}

/// Whether the findings fail the run at `fail_on`.
pub(super) fn failing(result: &ScanResult, fail_on: FailOn) -> bool {
    match fail_on {
        FailOn::Never => false,
        FailOn::Severity(min) => result.max_severity().is_some_and(|s| s >= min),
    }
}
