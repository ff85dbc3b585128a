//! The scan benchmark (figures in the README, no timed assertions anywhere).
//!
//! ```text
//! cargo run --release -p palisade-bench -- generate target/bench-corpus   # 100k objects
//! cargo run --release -p palisade-bench -- run target/bench-corpus
//! cargo run --release -p palisade-bench -- rbac-generate target/bench-rbac  # 10k roles, 50k bindings
//! cargo run --release -p palisade-bench -- rbac target/bench-rbac
//! cargo run --release -p palisade-bench -- netpol-generate target/bench-netpol  # 10k pods, 2k policies
//! cargo run --release -p palisade-bench -- netpol target/bench-netpol
//! ```
//!
//! `generate` replicates every object of `../shared/corpus/realworld` except
//! CustomResourceDefinitions under renamed namespaces (`bench-<n>`) into 100 files of
//! 1,000 documents. `run` measures, in one process: parsing alone (split + positioned
//! tree for every document, in parallel), then the whole scan (every check, findings
//! sorted, JSON report written to a sink), each with the peak resident memory so far.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use palisade_source::{parse_document, split_documents, Limits};
use rayon::prelude::*;

mod admission;
mod audit;
mod audit_serve;
mod image;
mod netpol;
mod operator;
mod rbac;
mod verify;

// The allocator of the `palisade` binary, so that figures are the command's own.
use palisade_alloc as _;

fn main() -> anyhow::Result<()> {
    palisade_alloc::configure();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["generate", dir] => generate(Path::new(dir), 100_000),
        ["generate", dir, n] => generate(Path::new(dir), n.parse()?),
        ["run", dir] => run(Path::new(dir)),
        ["reports", dir] => reports(Path::new(dir)),
        ["image", packages] => image::run(packages.parse()?),
        ["verify"] => verify::run(),
        ["operator", pods, rate, seconds] => operator::run(pods.parse()?, rate.parse()?, seconds.parse()?, "2"),
        ["operator", pods, rate, seconds, debounce] => {
            operator::run(pods.parse()?, rate.parse()?, seconds.parse()?, debounce)
        }
        ["rbac-generate", dir] => rbac::generate(Path::new(dir)),
        ["rbac", dir] => rbac::run(Path::new(dir)),
        ["netpol-generate", dir] => netpol::generate(Path::new(dir)),
        ["netpol", dir] => netpol::run(Path::new(dir)),
        ["admission-review"] => admission::review(20_000),
        ["admission-review", n] => admission::review(n.parse()?),
        ["admission-load", secs, conns] => admission::load(secs.parse()?, conns.parse()?, 256),
        ["admission-load", secs, conns, max] => {
            admission::load(secs.parse()?, conns.parse()?, max.parse()?)
        }
        ["audit-generate", file, n] => audit::generate(Path::new(file), n.parse()?, false),
        ["audit-generate", file, n, "request"] => audit::generate(Path::new(file), n.parse()?, true),
        ["audit", file, rules] => audit::run(Path::new(file), Path::new(rules)),
        ["audit-serve", events, connections] => audit_serve::run(events.parse()?, connections.parse()?, 400),
        ["audit-serve", events, connections, batch] => {
            audit_serve::run(events.parse()?, connections.parse()?, batch.parse()?)
        }
        _ => bail!(
            "usage: palisade-bench generate DIR [OBJECTS] | run DIR | reports DIR | image PACKAGES | operator PODS RATE SECONDS [DEBOUNCE] | rbac-generate DIR | rbac DIR | netpol-generate DIR | netpol DIR | admission-review [N] | admission-load SECONDS CONNECTIONS [MAX_IN_FLIGHT] | audit-generate FILE N [request] | audit FILE RULES | audit-serve EVENTS CONNECTIONS [BATCH]"
        ),
    }
}

/// One object's YAML text, ready to re-namespace.
struct Template {
    text: String,
    /// 0-based line of `namespace:` under metadata, or of `metadata:` to insert after.
    namespace_line: Option<usize>,
    metadata_line: Option<usize>,
    /// Indentation of metadata's keys, for an inserted `namespace:`.
    metadata_indent: usize,
}

fn templates(corpus: &Path) -> anyhow::Result<Vec<Template>> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(corpus).sort_by_file_name() {
        let entry = entry?;
        let ext = entry.path().extension().and_then(|e| e.to_str());
        if !matches!(ext, Some("yaml" | "yml")) {
            continue;
        }
        let text = std::fs::read_to_string(entry.path())?;
        for chunk in split_documents(&text) {
            let body = &text[chunk.range.clone()];
            let Ok(doc) = parse_document(body, &chunk, &Limits::default()) else {
                continue;
            };
            let Some(root) = doc.root() else { continue };
            let kind = root.get("kind").and_then(|k| k.as_str()).unwrap_or("");
            if kind.is_empty() || kind == "CustomResourceDefinition" || kind.ends_with("List") {
                continue;
            }
            let meta = root.entry("metadata");
            // Drop the `---` line: documents are written back with a marker of our own.
            let dropped = u32::from(body.starts_with("---"));
            let lines: Vec<&str> = body.lines().skip(dropped as usize).collect();
            let index = |line: u32| (line - chunk.first_line - dropped) as usize;
            // Only block-style lines that hold nothing else are rewritten.
            let metadata_line = meta
                .map(|(k, _)| index(k.pos().line))
                .filter(|&i| lines.get(i).is_some_and(|l| l.trim() == "metadata:"));
            let namespace_line = meta
                .and_then(|(_, m)| m.entry("namespace"))
                .map(|(k, _)| index(k.pos().line))
                .filter(|&i| {
                    lines
                        .get(i)
                        .is_some_and(|l| l.trim_start().starts_with("namespace:"))
                });
            let metadata_indent = meta.map_or(2, |(_, m)| m.pos().column as usize - 1);
            out.push(Template {
                text: lines.join("\n").trim_end().to_owned(),
                namespace_line,
                metadata_line,
                metadata_indent,
            });
        }
    }
    Ok(out)
}

fn renamed(t: &Template, ns: &str) -> String {
    let mut lines: Vec<String> = t.text.lines().map(str::to_owned).collect();
    if let Some(i) = t.namespace_line {
        if let Some(line) = lines.get_mut(i) {
            let indent = line.len() - line.trim_start().len();
            *line = format!("{}namespace: {ns}", " ".repeat(indent));
        }
    } else if let Some(i) = t.metadata_line {
        lines.insert(
            i + 1,
            format!("{}namespace: {ns}", " ".repeat(t.metadata_indent)),
        );
    }
    lines.join("\n")
}

fn generate(dir: &Path, objects: usize) -> anyhow::Result<()> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/realworld");
    if !corpus.is_dir() {
        bail!(
            "{} is absent: the benchmark replicates it",
            corpus.display()
        );
    }
    let templates = templates(&corpus)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let per_file = 1000;
    let mut written = 0usize;
    let mut bytes = 0usize;
    let mut file_no = 0usize;
    while written < objects {
        let path = dir.join(format!("bench-{file_no:03}.yaml"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
        for _ in 0..per_file.min(objects - written) {
            let t = &templates[written % templates.len()];
            let ns = format!("bench-{}", written / templates.len());
            let text = renamed(t, &ns);
            writeln!(f, "---\n{text}")?;
            bytes += text.len() + 5;
            written += 1;
        }
        f.flush()?;
        file_no += 1;
    }
    println!(
        "generated {written} objects ({} templates, {:.1} MB, {:.2} KB/object) in {file_no} files under {}",
        templates.len(),
        bytes as f64 / 1e6,
        bytes as f64 / written as f64 / 1e3,
        dir.display()
    );
    Ok(())
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        .map(|e| e.into_path())
        .collect();
    files.sort();
    files
}

/// The PolicyReports of a scan of `dir`: how many objects, how large in all and at most,
/// per workload object (a pod, or a controller whose pods it stands for).
fn reports(dir: &Path) -> anyhow::Result<()> {
    let (inputs, _) = palisade_inventory::discover(&[dir.to_path_buf()]);
    let opts = palisade_engine::ScanOptions {
        analyses: palisade_checks::analyses(),
        ..palisade_engine::ScanOptions::default()
    };
    let result = palisade_engine::scan(&inputs, &palisade_checks::registry(), &opts);
    let workloads = result.objects.iter().filter(|o| o.workload).count();
    let t = Instant::now();
    let list = palisade_operator::reports(
        &result,
        palisade_operator::ReportApi::Wgpolicy,
        palisade_operator::DEFAULT_MAX_BYTES,
    );
    let built = t.elapsed();
    let total: usize = list.iter().map(|r| r.bytes).sum();
    let largest = list.iter().map(|r| r.bytes).max().unwrap_or(0);
    #[allow(clippy::cast_precision_loss)]
    let per_workload = total as f64 / workloads.max(1) as f64;
    println!(
        "{} objects ({workloads} workloads), {} findings: {} reports, {:.1} MB in all, largest {:.0} KiB, \
         {:.0} bytes per workload ({:.1} MB per 10,000), built in {:.3} s",
        result.objects.len(),
        result.findings.len(),
        list.len(),
        total as f64 / 1e6,
        largest as f64 / 1024.0,
        per_workload,
        per_workload * 10_000.0 / 1e6,
        built.as_secs_f64()
    );
    Ok(())
}

fn run(dir: &Path) -> anyhow::Result<()> {
    let files = files(dir);
    if files.is_empty() {
        bail!(
            "no .yaml files under {}: run `generate` first",
            dir.display()
        );
    }
    println!("threads: {}", rayon::current_num_threads());

    // Parsing alone: the floor.
    let t = Instant::now();
    let (docs, nodes) = files
        .par_iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            split_documents(&text)
                .par_iter()
                .map(|c| {
                    parse_document(&text[c.range.clone()], c, &Limits::default())
                        .map_or((0, 0), |d| (1usize, d.node_count()))
                })
                .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let parse = t.elapsed();
    println!(
        "parse only: {docs} documents, {nodes} nodes in {:.2} s (peak RSS so far {:.0} MB)",
        parse.as_secs_f64(),
        peak_rss_mb()
    );

    // The whole scan, as `palisade scan DIR --format json` does it.
    let t = Instant::now();
    let (inputs, errors) = palisade_inventory::discover(&[dir.to_path_buf()]);
    let checks = palisade_checks::registry();
    let opts = palisade_engine::ScanOptions {
        analyses: palisade_checks::analyses(),
        ..palisade_engine::ScanOptions::default()
    };
    let result = palisade_engine::scan(&inputs, &checks, &opts);
    let scanned = t.elapsed();
    let ctx = palisade_report::ReportContext {
        version: "bench",
        checks: checks.iter().map(|c| c.meta()).collect(),
        color: false,
        compliance: Vec::new(),
        extras: Default::default(),
    };
    let mut sink = std::io::BufWriter::new(std::io::sink());
    palisade_report::write_report(palisade_report::Format::Json, &result, &ctx, &mut sink)?;
    let total = t.elapsed();
    println!(
        "full scan: {} objects, {} findings, {} errors: scan {:.2} s, with JSON report {:.2} s (peak RSS {:.0} MB)",
        result.objects.len(),
        result.findings.len(),
        result.errors.len() + errors.len(),
        scanned.as_secs_f64(),
        total.as_secs_f64(),
        peak_rss_mb()
    );
    Ok(())
}
