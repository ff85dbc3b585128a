//! `palisade audit`: Falco rules over Kubernetes audit logs.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use palisade_audit::events::open;
use palisade_audit::scan::{scan_reader, InOrder, Totals};
use palisade_audit::{falco_json, output, Loader, PALISADE_RULES, PALISADE_RULES_NAME};

use crate::cli::{
    AuditCommand, AuditFollowArgs, AuditFormat, AuditScanArgs, AuditServeArgs, AuditWatchArgs,
    WhenFullArg,
};
use crate::ExitStatus;
use palisade_audit::serve::{ServeConfig, WhenFull};
use palisade_audit::spool::SpoolGauge;
use palisade_audit::watch::{Output, Progress, WatchOptions};

pub fn run(command: AuditCommand) -> anyhow::Result<ExitStatus> {
    match command {
        AuditCommand::Scan(args) => scan(&args),
        AuditCommand::Watch(args) => watch(&args),
        AuditCommand::Serve(args) => serve(&args),
        AuditCommand::Policy => {
            std::io::stdout().write_all(palisade_audit::RECOMMENDED_POLICY.as_bytes())?;
            Ok(ExitStatus::Clean)
        }
    }
}

/// Events with detections remembered by `audit scan` to pass over a second copy.
const DEDUP_WINDOW: usize = 1_000_000;

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

fn follow_options(
    follow: &AuditFollowArgs,
    files: &[std::path::PathBuf],
    spool: Option<std::path::PathBuf>,
) -> anyhow::Result<WatchOptions> {
    let output = match follow.output.as_str() {
        "-" => Output::Stdout,
        url if url.starts_with("https://") => Output::Https {
            url: url.to_owned(),
            ca: follow.output_ca.clone(),
        },
        url if url.starts_with("http://") => {
            anyhow::bail!("{url}: detections are sent over https only")
        }
        path => Output::File(path.into()),
    };
    let mut options = WatchOptions::new(files.to_vec(), follow.state.clone(), output);
    options.spool = spool;
    options.poll = Duration::from_millis(follow.poll_ms.max(1));
    options.idle_exit =
        (follow.exit_when_idle_ms > 0).then(|| Duration::from_millis(follow.exit_when_idle_ms));
    options.dedup_window = follow.dedup_window;
    Ok(options)
}

/// Runs the detection loop over `options` until it ends (idle, or an error).
fn follow(
    follow: &AuditFollowArgs,
    options: &WatchOptions,
    gauge: Option<Arc<SpoolGauge>>,
    progress: &Progress,
) -> anyhow::Result<ExitStatus> {
    let rules = load_rules(&follow.rules.rules)?;
    let totals = palisade_audit::watch::watch(
        options,
        &rules,
        |name, offset, d, event| {
            render(
                follow.format,
                &follow.rules.hostname,
                &format!("{name}@{offset}"),
                d,
                event,
            )
        },
        |bad| {
            let _ = writeln!(std::io::stderr(), "error: {bad}");
        },
        gauge,
        progress,
    )?;
    writeln!(
        std::io::stderr(),
        "{} events, {} detections; {} delivered again and passed over; {} unreadable lines skipped",
        totals.events,
        totals.detections,
        totals.duplicates,
        totals.bad_lines
    )?;
    Ok(ExitStatus::Clean)
}

fn watch(args: &AuditWatchArgs) -> anyhow::Result<ExitStatus> {
    let options = follow_options(&args.follow, &args.files, None)?;
    follow(&args.follow, &options, None, &Progress::default())
}

fn serve(args: &AuditServeArgs) -> anyhow::Result<ExitStatus> {
    let mut config = ServeConfig::new(
        args.listen,
        args.tls_cert.clone(),
        args.tls_key.clone(),
        args.spool.clone(),
    );
    config.client_ca.clone_from(&args.client_ca);
    config.max_spool = args.max_spool_mb.saturating_mul(1 << 20);
    config.max_body = args.max_batch_mb.saturating_mul(1 << 20);
    config.when_full = match args.when_full {
        WhenFullArg::Reject => WhenFull::Reject,
        WhenFullArg::Drop => WhenFull::Drop,
    };
    // The rules are loaded before the server starts: a bad rules file fails fast.
    load_rules(&args.follow.rules.rules)?;
    let progress = Arc::new(Progress::default());
    let server =
        palisade_audit::serve::start(config, progress.clone()).map_err(anyhow::Error::msg)?;
    writeln!(
        std::io::stderr(),
        "palisade audit serve: listening on https://{}/audit, spool {}",
        server.addr,
        args.spool.display()
    )?;
    let options = follow_options(&args.follow, &args.files, Some(args.spool.clone()))?;
    let status = follow(
        &args.follow,
        &options,
        Some(server.gauge.clone()),
        &progress,
    );
    server.stop();
    status
}

fn scan(args: &AuditScanArgs) -> anyhow::Result<ExitStatus> {
    let rules = load_rules(&args.rules.rules)?;
    let mut err = std::io::stderr().lock();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut totals = Totals::default();
    // One memory across files: an event in two of them is reported once.
    let mut in_order = InOrder::new(&rules, DEDUP_WINDOW);
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
            &mut in_order,
            |text| writeln!(out, "{text}"),
            |bad| {
                let _ = writeln!(std::io::stderr(), "error: {bad}");
            },
        )
        .with_context(|| format!("cannot read {name}"))?;
        totals.events += t.events;
        totals.detections += t.detections;
        totals.bad_lines += t.bad_lines;
        totals.duplicates += t.duplicates;
    }
    out.flush()?;
    let Totals {
        events,
        detections,
        bad_lines,
        duplicates,
    } = totals;
    writeln!(
        err,
        "{events} events, {detections} detections by {} rules; {duplicates} events seen twice passed over; {bad_lines} unreadable lines skipped",
        rules.rules.len()
    )?;
    Ok(if detections > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}
