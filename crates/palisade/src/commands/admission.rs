//! `palisade admission`: the webhook server, offline reviews, and certificates.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use palisade_admission::review::{response_body, API_VERSION};
use palisade_admission::{start, Decision, Judge, JudgeConfig, ServerConfig};
use palisade_cluster::{namespace_labels, Connection};
use palisade_inventory::{objects_in, read_input};
use palisade_source::{parse_document, split_documents, Limits};
use serde_json::{json, Value};

use crate::cli::{
    AdmissionCertsArgs, AdmissionCommand, AdmissionExportVapArgs, AdmissionImageArgs,
    AdmissionReviewArgs, AdmissionServeArgs, PolicyArgs, VapFormat,
};
use crate::ExitStatus;

pub fn run(command: AdmissionCommand) -> anyhow::Result<ExitStatus> {
    match command {
        AdmissionCommand::Serve(args) => serve(&args),
        AdmissionCommand::Review(args) => review(&args),
        AdmissionCommand::Certs(args) => certs(&args),
        AdmissionCommand::ExportVap(args) => export_vap(&args),
    }
}

fn judge(policy: &PolicyArgs, images: &AdmissionImageArgs) -> anyhow::Result<Judge> {
    let (config, mut checks, mut scan) = super::policy(policy)?;
    match super::image_facts::RegistryFacts::for_admission(images)? {
        Some(facts) => scan.settings.images = Some(facts),
        // Nothing to judge signatures by: the check is not among those that ran.
        None => {
            checks.retain(|c| c.meta().id != palisade_checks::image::image_signature::CHECK.meta.id)
        }
    }
    // The webhook never pulls whole images.
    checks.retain(|c| c.meta().id != palisade_checks::image::image_vulnerable::CHECK.meta.id);
    Judge::new(JudgeConfig {
        checks,
        scan,
        admission: config.admission,
    })
    .map_err(anyhow::Error::msg)
}

fn serve(args: &AdmissionServeArgs) -> anyhow::Result<ExitStatus> {
    super::init_logging(args.log_format);
    let judge = Arc::new(judge(&args.policy, &args.images)?);
    let config = ServerConfig {
        max_body: args.max_body,
        max_in_flight: args.max_in_flight.max(1),
        read_timeout: Duration::from_secs(args.read_timeout.max(1)),
        reload_every: Duration::from_millis((args.reload_interval * 1000).max(100)),
        ..ServerConfig::new(args.listen, args.tls_cert.clone(), args.tls_key.clone())
    };
    let server = start(judge.clone(), config).map_err(anyhow::Error::msg)?;
    tracing::info!(
        listen = %server.addr,
        checks = judge.checks().len(),
        default_mode = judge.settings().default_mode.as_str(),
        "palisade admission webhook serving"
    );
    if args.namespace_refresh > 0 {
        // Not ready until the namespaces' labels are known: a review before that would
        // judge a labelled namespace's pods at the default level.
        server.set_ready(false);
        let connection = Connection {
            kubeconfig: args.kubeconfig.clone(),
            context: None,
            timeout: Some(Duration::from_secs(10)),
        };
        let every = Duration::from_secs(args.namespace_refresh);
        let ready = server.ready_handle();
        let judge = judge.clone();
        std::thread::Builder::new()
            .name("namespace-refresh".into())
            .spawn(move || loop {
                match namespace_labels(&connection) {
                    Ok(list) => {
                        judge.replace_namespaces(&list);
                        ready.store(true, std::sync::atomic::Ordering::SeqCst);
                        tracing::debug!(namespaces = list.len(), "namespace labels read");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the namespaces' labels");
                    }
                }
                std::thread::sleep(every);
            })
            .context("cannot start the namespace reader")?;
    }
    wait_for_termination()?;
    tracing::info!("stopping: answering the reviews in flight");
    server.stop();
    Ok(ExitStatus::Clean)
}

/// Blocks until SIGTERM (the kubelet stopping the pod) or SIGINT.
fn wait_for_termination() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the signal runtime")?;
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot listen for SIGTERM")?;
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(())
    })
}

/// The group/version/kind and a resource name for an object (the resource is only
/// named in logs; the plural is Kubernetes' usual one).
fn request_for(object: &Value, index: usize, file: &Path) -> Value {
    let api_version = object["apiVersion"].as_str().unwrap_or("v1");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let kind = object["kind"].as_str().unwrap_or("");
    let lower = kind.to_ascii_lowercase();
    let resource = if lower.ends_with('s') {
        format!("{lower}es")
    } else if let Some(stem) = lower.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    };
    json!({
        "uid": format!("{}#{index}", file.display()),
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": resource},
        "name": object["metadata"]["name"].as_str().unwrap_or(""),
        "namespace": object["metadata"]["namespace"].as_str().unwrap_or(""),
        "operation": "CREATE",
        "userInfo": {"username": "palisade-admission-review"},
        "object": object,
    })
}

/// The AdmissionReview bodies in an input: the input itself when it is one, else one
/// CREATE review per object of its manifests.
fn bodies(file: &Path, text: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        if v["kind"] == "AdmissionReview" {
            return Ok(vec![text.as_bytes().to_vec()]);
        }
    }
    let mut out = Vec::new();
    for chunk in split_documents(text) {
        let doc = parse_document(&text[chunk.range.clone()], &chunk, &Limits::default()).map_err(
            |e| {
                anyhow::anyhow!(
                    "{}: document {}: {}:{}: {}",
                    file.display(),
                    chunk.index + 1,
                    e.line,
                    e.column,
                    e.message
                )
            },
        )?;
        let (objects, _) = objects_in(&doc);
        for object in objects {
            let json = object.root.to_json();
            let request = request_for(&json, out.len(), file);
            out.push(serde_json::to_vec(&json!({
                "apiVersion": API_VERSION, "kind": "AdmissionReview", "request": request,
            }))?);
        }
    }
    Ok(out)
}

fn print_decision(out: &mut impl Write, d: &Decision) -> std::io::Result<()> {
    let verdict = if d.skipped.is_some() {
        "SKIPPED"
    } else if !d.response.allowed {
        "DENIED"
    } else if !d.response.warnings.is_empty() {
        "WARNED"
    } else {
        "ALLOWED"
    };
    let why = d.skipped.map_or_else(
        || {
            d.mode
                .map_or(String::new(), |m| format!(" ({} mode)", m.as_str()))
        },
        |s| format!(" ({})", s.as_str()),
    );
    writeln!(out, "{verdict} {}{why}", d.object)?;
    if let Some(status) = &d.response.status {
        writeln!(out, "  {}", status.message)?;
    }
    for w in &d.response.warnings {
        writeln!(out, "  warning: {w}")?;
    }
    Ok(())
}

fn review(args: &AdmissionReviewArgs) -> anyhow::Result<ExitStatus> {
    let judge = judge(&args.policy, &args.images)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut denied = false;
    // Directories, kustomizations and stdin as `scan` reads them, in the same order.
    let (inputs, errors) = super::inputs(&args.files)?;
    if let Some(e) = errors.first() {
        anyhow::bail!("{e}");
    }
    for input in &inputs {
        let (source, _) = read_input(input).map_err(|e| anyhow::anyhow!("{e}"))?;
        let file = Path::new(&*source.name);
        for body in bodies(file, &source.text)? {
            let (api_version, decision) = judge
                .review(&body)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            denied |= !decision.response.allowed;
            if args.json {
                out.write_all(&response_body(&api_version, &decision.response))?;
                out.write_all(b"\n")?;
            } else {
                print_decision(&mut out, &decision)?;
            }
        }
    }
    out.flush()?;
    Ok(if denied {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}

fn certs(args: &AdmissionCertsArgs) -> anyhow::Result<ExitStatus> {
    let service = &args.service;
    let ns = &args.namespace;
    let mut names = vec![
        format!("{service}.{ns}.svc"),
        format!("{service}.{ns}.svc.cluster.local"),
        format!("{service}.{ns}"),
        service.clone(),
    ];
    names.extend(args.extra_name.iter().cloned());
    let set = palisade_admission::tls::bootstrap(&names, args.days).map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    write_file(&args.out.join("ca.crt"), &set.ca_cert, 0o644)?;
    write_file(&args.out.join("tls.crt"), &set.cert, 0o644)?;
    write_file(&args.out.join("tls.key"), &set.key, 0o600)?;
    eprintln!(
        "palisade: wrote ca.crt, tls.crt and tls.key to {} for {} (valid {} days)",
        args.out.display(),
        names[0],
        args.days
    );
    Ok(ExitStatus::Clean)
}

fn write_file(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // The mode given to `open` applies only to a new file.
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn export_vap(args: &AdmissionExportVapArgs) -> anyhow::Result<ExitStatus> {
    let (config, checks, scan) = super::policy(&args.policy)?;
    let export =
        palisade_admission::vap::export_vap(&checks, &scan, &config.admission, &args.name_prefix);
    let text = match args.format {
        VapFormat::Json => {
            let list = json!({"apiVersion": "v1", "kind": "List", "items": export.objects});
            format!("{}\n", serde_json::to_string_pretty(&list)?)
        }
        VapFormat::Yaml => yaml_documents(&export.objects)?,
    };
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    let mut err = std::io::stderr().lock();
    let policies = export
        .objects
        .iter()
        .filter(|o| o["kind"] == "ValidatingAdmissionPolicy")
        .count();
    writeln!(
        err,
        "exported {} checks as CEL: {policies} policies, {} bindings",
        export.exported.len(),
        export.objects.len() - policies
    )?;
    if !export.not_exported.is_empty() {
        let ids: Vec<&str> = export.not_exported.iter().map(|(id, _)| *id).collect();
        writeln!(
            err,
            "not exported ({}; `palisade checks explain ID` says why): {}",
            ids.len(),
            ids.join(", ")
        )?;
    }
    for note in &export.notes {
        writeln!(err, "note: {note}")?;
    }
    Ok(ExitStatus::Clean)
}

/// `objects` as YAML documents (`---` before each).
fn yaml_documents(objects: &[Value]) -> anyhow::Result<String> {
    let mut out = String::new();
    for object in objects {
        let mut emitter = yaml_rust2::YamlEmitter::new(&mut out);
        emitter.multiline_strings(true);
        emitter
            .dump(&to_yaml(object))
            .map_err(|e| anyhow::anyhow!("cannot write YAML: {e:?}"))?;
        out.push('\n');
    }
    Ok(out)
}

fn to_yaml(v: &Value) -> yaml_rust2::Yaml {
    use yaml_rust2::Yaml;
    match v {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Boolean(*b),
        Value::Number(n) => n
            .as_i64()
            .map_or_else(|| Yaml::Real(n.to_string()), Yaml::Integer),
        Value::String(s) => Yaml::String(s.clone()),
        Value::Array(items) => Yaml::Array(items.iter().map(to_yaml).collect()),
        Value::Object(map) => Yaml::Hash(
            map.iter()
                .map(|(k, v)| (Yaml::String(k.clone()), to_yaml(v)))
                .collect(),
        ),
    }
}
