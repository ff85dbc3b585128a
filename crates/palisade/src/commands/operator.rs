//! `palisade operator`: the in-cluster scanner.

use std::time::Duration;

use anyhow::Context;
use palisade_operator::{run as run_operator, OperatorOptions, ReportApi};

use crate::cli::{OperatorArgs, ReportApiArg};
use crate::ExitStatus;

pub fn run(args: &OperatorArgs) -> anyhow::Result<ExitStatus> {
    super::init_logging(args.log_format);
    let (_config, checks, scan) = super::policy(&args.policy)?;
    let connection = palisade_cluster::Connection {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        timeout: Some(Duration::from_secs(args.request_timeout.max(1))),
    };
    let history = args.database.clone().map(|url| {
        let name = args
            .cluster_name
            .clone()
            .or_else(|| args.context.clone())
            .unwrap_or_else(|| "cluster".to_owned());
        (url, name)
    });
    let options = OperatorOptions {
        connection,
        api: match args.report_api {
            ReportApiArg::Wgpolicy => ReportApi::Wgpolicy,
            ReportApiArg::Openreports => ReportApi::OpenReports,
        },
        max_bytes: args.max_report_bytes.max(16 * 1024),
        debounce: Duration::from_secs_f64(args.debounce.clamp(0.05, 600.0)),
        checks,
        scan,
        metrics: args.metrics_addr,
        only: args.only.clone(),
        history,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async {
        let stop = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = tokio::signal::ctrl_c() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            tracing::info!("stopping");
        };
        run_operator(options, stop).await
    })?;
    Ok(ExitStatus::Clean)
}
