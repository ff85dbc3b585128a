//! One module per command.

mod admission;
mod audit;
mod checks;
mod cluster;
mod history;
mod image;
mod image_facts;
mod image_verify;
mod netpol;
mod node;
mod operator;
mod rbac;
mod scan;

use std::path::PathBuf;

use palisade_inventory::{
    discover, map_objects, InputKind, InputSpec, ObjectAt, ObjectError, Origin, Place, Visited,
};
use palisade_model::LoadError;
use palisade_source::Limits;

use anyhow::Context;
use palisade_checks::registry;
use palisade_config::{find_config, load_config, scan_setup, Config, Overrides};
use palisade_engine::{Check, ScanOptions};

use crate::cli::{Args, ClusterArgs, Command, PolicyArgs};
use crate::ExitStatus;

/// `file:line` of a place in the input; a live object, which has no line, is named with
/// the field path instead; `none` for objects not in the input (Kubernetes' defaults).
fn place(origin: Option<&Origin>, at: &Place, none: &str) -> String {
    match origin {
        // The object itself (its name) needs no path: the file names it.
        Some(o) if at.line == 0 && matches!(at.path.as_str(), "" | "metadata.name") => {
            o.file.to_string()
        }
        Some(o) if at.line == 0 => format!("{} {}", o.file, at.path),
        Some(o) => format!("{}:{}", o.file, at.line),
        None => none.to_owned(),
    }
}

/// The config file `args` name: `--config`, else the nearest one, unless `--no-config`.
fn config(args: &PolicyArgs) -> anyhow::Result<Config> {
    let path = if args.no_config {
        None
    } else if let Some(p) = &args.config {
        Some(p.clone())
    } else {
        find_config(&std::env::current_dir().context("cannot read the working directory")?)
    };
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let catalogue: Vec<_> = registry().into_iter().map(|c| c.meta()).collect();
    let today = time::OffsetDateTime::now_utc().date();
    // A config with any mistake is refused whole: nothing is judged by a half-read config.
    load_config(&path, today, &catalogue).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The config, the checks and the options objects are judged with: one function for
/// `scan` and `admission`, so both judge an object alike.
fn policy(args: &PolicyArgs) -> anyhow::Result<(Config, Vec<&'static dyn Check>, ScanOptions)> {
    let config = config(args)?;
    let (checks, opts) = scan_setup(
        &config,
        &Overrides {
            select: args.select.clone(),
            ignore: args.ignore.clone(),
            allowed_registries: args.allowed_registry.clone(),
            pss: args.pss,
            strict: args.strict,
        },
    )
    .map_err(anyhow::Error::msg)?;
    Ok((config, checks, opts))
}

/// A Graphviz DOT string's inside.
fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The inputs the command-line paths name, and the paths that could not be found;
/// stdin may be read once only.
fn inputs(paths: &[PathBuf]) -> anyhow::Result<(Vec<InputSpec>, Vec<LoadError>)> {
    let (inputs, errors) = discover(paths);
    if inputs.iter().filter(|i| i.kind == InputKind::Stdin).count() > 1 {
        anyhow::bail!("`-` (stdin) may be given only once");
    }
    Ok((inputs, errors))
}

/// Every object of the paths, or of the live cluster with `--cluster`, handed to
/// `visit`; what could not be read comes back as errors, also said on stderr.
fn objects<T, F>(paths: &[PathBuf], cluster: &ClusterArgs, visit: &F) -> anyhow::Result<Visited<T>>
where
    T: Send,
    F: Fn(&ObjectAt<'_, '_>) -> Result<Option<T>, ObjectError> + Sync,
{
    let (items, errors) = if cluster.cluster {
        cluster::map_cluster(cluster, visit)?.0
    } else {
        let (inputs, mut errors) = inputs(paths)?;
        let (items, load_errors) = map_objects(&inputs, &Limits::default(), visit);
        errors.extend(load_errors);
        (items, errors)
    };
    // A document that is not a Kubernetes object (a tool's saved output beside the
    // manifests) is skipped with a warning; only what cannot be read is an error.
    let (skipped, errors): (Vec<LoadError>, Vec<LoadError>) =
        errors.into_iter().partition(|e| e.skipped);
    for e in &skipped {
        eprintln!("palisade: warning: {e}");
    }
    for e in &errors {
        eprintln!("palisade: error: {e}");
    }
    Ok((items, errors))
}

pub fn run(args: Args) -> anyhow::Result<ExitStatus> {
    match args.command {
        Command::Scan(scan) => scan::run(&scan),
        Command::Checks { command } => checks::run(command),
        Command::Rbac { command } => rbac::run(command),
        Command::Netpol { command } => netpol::run(command),
        Command::Snapshot(args) => cluster::snapshot(&args),
        Command::Admission { command } => admission::run(command),
        Command::Audit { command } => audit::run(command),
        Command::Node(args) => node::run(&args),
        Command::History(args) => history::run(&args),
        Command::Operator(args) => operator::run(&args),
        Command::Image { command } => image::run(command),
        Command::Db { command } => image::db(command),
    }
}

/// Logs of the long-running servers on stderr: `PALISADE_LOG` filters (default `info`).
fn init_logging(format: crate::cli::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PALISADE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        crate::cli::LogFormat::Json => builder.json().flatten_event(true).init(),
        crate::cli::LogFormat::Text => builder.init(),
    }
}

/// The frameworks `--framework` values name, each once, in report order.
fn frameworks(values: &[crate::cli::Frameworks]) -> Vec<palisade_model::Framework> {
    let named: Vec<palisade_model::Framework> =
        values.iter().flat_map(|f| f.0.iter().copied()).collect();
    palisade_compliance::FRAMEWORKS
        .into_iter()
        .filter(|f| named.contains(f))
        .collect()
}

/// Each framework scored on `result`, given the checks that ran.
fn compliance(
    frameworks: &[palisade_model::Framework],
    result: &palisade_model::ScanResult,
    ran: &[&'static palisade_model::CheckMeta],
) -> Vec<palisade_compliance::FrameworkReport> {
    if frameworks.is_empty() {
        return Vec::new();
    }
    let every: Vec<&'static palisade_model::CheckMeta> = palisade_checks::registry()
        .iter()
        .map(|c| c.meta())
        .collect();
    frameworks
        .iter()
        .map(|f| palisade_compliance::evaluate(*f, result, &every, ran))
        .collect()
}
