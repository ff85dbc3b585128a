//! Reading a live cluster for the commands: objects as documents named by their
//! identity, the not-evaluated resources, and snapshots.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use palisade_cluster::{read, ClusterRead, Connection, Page, ReadOptions};
use palisade_inventory::{map_documents, ObjectAt, ObjectError, Visited};
use palisade_model::LoadError;
use palisade_source::{Document, Limits};
use rayon::prelude::*;

use crate::cli::{ClusterArgs, SnapshotArgs};
use crate::ExitStatus;

pub fn connection(args: &ClusterArgs) -> Connection {
    connect_with(
        args.kubeconfig.as_ref(),
        args.context.as_ref(),
        args.request_timeout,
    )
}

fn connect_with(
    kubeconfig: Option<&PathBuf>,
    context: Option<&String>,
    timeout: u64,
) -> Connection {
    Connection {
        kubeconfig: kubeconfig.cloned(),
        context: context.cloned(),
        timeout: Some(Duration::from_secs(timeout.max(1))),
    }
}

pub fn read_options(namespace: Option<String>) -> ReadOptions {
    ReadOptions {
        namespace,
        progress: io::stderr().is_terminal(),
        ..ReadOptions::default()
    }
}

/// A page's objects as documents, each named by its identity; an object too deep or
/// too large to build is a load error naming it.
pub fn documents(
    context: &str,
    page: Page,
    limits: &Limits,
) -> (Vec<(Arc<str>, Document)>, Vec<LoadError>) {
    let built: Vec<Result<(Arc<str>, Document), LoadError>> = page
        .items
        .into_par_iter()
        .map(|item| {
            let name: Arc<str> = Arc::from(palisade_cluster::object_name(context, &item));
            Document::from_json(&item, 0, limits)
                .map(|doc| (name.clone(), doc))
                .map_err(|e| LoadError {
                    file: name,
                    document: None,
                    line: 0,
                    column: 0,
                    message: e.message,
                    skipped: false,
                })
        })
        .collect();
    let mut docs = Vec::with_capacity(built.len());
    let mut errors = Vec::new();
    for b in built {
        match b {
            Ok(d) => docs.push(d),
            Err(e) => errors.push(e),
        }
    }
    (docs, errors)
}

/// Every object of the cluster handed to `visit`, as `map_objects` does for files.
pub fn map_cluster<T, F>(args: &ClusterArgs, visit: &F) -> anyhow::Result<(Visited<T>, ClusterRead)>
where
    T: Send,
    F: Fn(&ObjectAt<'_, '_>) -> Result<Option<T>, ObjectError> + Sync,
{
    let limits = Limits::default();
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut context = String::new();
    let read = read(&connection(args), &read_options(None), |page| {
        note_context(&mut context, &page);
        let (docs, mut errs) = documents(&context, page, &limits);
        let (mut got, mut visit_errors) = map_documents(&docs, visit);
        items.append(&mut got);
        errors.append(&mut errs);
        errors.append(&mut visit_errors);
        true
    })?;
    report_not_evaluated(&read);
    Ok(((items, errors), read))
}

/// The first page is the cluster info, named after the kubeconfig context: the name
/// every object's report name starts with.
pub fn note_context(context: &mut String, page: &Page) {
    if context.is_empty() {
        *context = page
            .items
            .first()
            .and_then(|i| i["metadata"]["name"].as_str())
            .unwrap_or("cluster")
            .to_owned();
    }
}

/// Says on stderr which resources were not read.
pub fn report_not_evaluated(read: &ClusterRead) {
    for n in &read.not_evaluated {
        eprintln!(
            "palisade: warning: not evaluated: {}: {}",
            n.resource, n.reason
        );
    }
}

/// The start of a snapshot: a JSON `kind: List` whose items follow, one per line.
const SNAPSHOT_HEAD: &[u8] =
    b"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"\"},\"items\":[";

/// Writes a page's objects as List items, one line each; `first` says whether no item
/// has been written yet.
fn write_items(out: &mut dyn Write, page: Page, first: &mut bool) -> io::Result<()> {
    for item in page.items {
        let item = palisade_cluster::without_secret_values(item);
        out.write_all(if *first { b"\n" } else { b",\n" })?;
        *first = false;
        serde_json::to_writer(&mut *out, &item)?;
    }
    Ok(())
}

/// `palisade snapshot`: every object as one JSON `kind: List` (which YAML tools and
/// kubectl read too), with Secret values removed; written as it is read. Each item is
/// one line, so a finding's line is its object's, and the JSON reader builds the whole
/// snapshot's tree at JSON speed.
pub fn snapshot(args: &SnapshotArgs) -> anyhow::Result<ExitStatus> {
    let connection = connect_with(
        args.kubeconfig.as_ref(),
        args.context.as_ref(),
        args.request_timeout,
    );
    let to_stdout = args.output.as_os_str() == "-";
    // Written beside the target and renamed once complete: a failed read never leaves a
    // well-formed but partial snapshot that would scan clean.
    let partial = {
        let mut name = args.output.clone().into_os_string();
        name.push(".partial");
        std::path::PathBuf::from(name)
    };
    let mut out: Box<dyn Write> = if to_stdout {
        Box::new(io::BufWriter::new(io::stdout().lock()))
    } else {
        let file = std::fs::File::create(&partial)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", partial.display()))?;
        Box::new(io::BufWriter::new(file))
    };
    let mut failed: Option<io::Error> = None;
    let mut first = true;
    out.write_all(SNAPSHOT_HEAD)?;
    let read = read(&connection, &read_options(args.namespace.clone()), |page| {
        match write_items(&mut *out, page, &mut first) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false // stop reading the cluster
            }
        }
    });
    let cleanup = || {
        if !to_stdout {
            let _ = std::fs::remove_file(&partial);
        }
    };
    let read = match read {
        Ok(read) => read,
        Err(e) => {
            cleanup();
            return Err(e.into());
        }
    };
    let ended = match failed {
        Some(e) => Err(e),
        None => out.write_all(b"\n]}\n").and_then(|()| out.flush()),
    };
    drop(out);
    if let Err(e) = ended {
        cleanup();
        anyhow::bail!("cannot write {}: {e}", args.output.display());
    }
    if !to_stdout {
        std::fs::rename(&partial, &args.output)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.output.display()))?;
    }
    report_not_evaluated(&read);
    if !to_stdout {
        eprintln!(
            "palisade: wrote {} objects of {} resources from {} ({}) to {}",
            read.objects + 1,
            read.resources,
            read.context,
            read.version.as_deref().unwrap_or("unknown version"),
            args.output.display()
        );
    }
    Ok(ExitStatus::Clean)
}
