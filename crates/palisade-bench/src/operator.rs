//! The operator under load: `palisade operator` (the release binary, a process of its
//! own so its CPU is its own) against the replay server with N generated pods, then a
//! steady stream of pod changes; prints the watch lag and the CPU it took.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use palisade_replay::{Auth, EventKind, Options, Recordings, ReplayServer};
use serde_json::{json, Value};

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after ") ".
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn scrape(port: u16) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

pub fn run(pods: usize, rate: usize, seconds: u64, debounce: &str) -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let binary = root.join("target/release/palisade");
    if !binary.exists() {
        bail!("build the CLI first: cargo build --release -p palisade");
    }
    let recordings =
        Recordings::load(&root.join("testdata/apiserver")).map_err(anyhow::Error::msg)?;
    let template = recordings.lists["/api/v1/pods"]
        .items
        .iter()
        .find(|p| p["metadata"]["namespace"] != "kube-system")
        .context("a recorded pod")?
        .clone();
    let server = ReplayServer::start(
        recordings,
        Options {
            extra_pods: pods,
            ..Options::default()
        },
    );
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(&Auth::ClientCertificate))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = Command::new(&binary)
        .args(["operator", "--kubeconfig"])
        .arg(&kubeconfig)
        .args(["--no-config", "--debounce", debounce, "--metrics-addr"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = log.clone();
    let stderr = child.stderr.take().context("stderr")?;
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            sink.lock().map(|mut l| l.push(line)).ok();
        }
    });

    let started = Instant::now();
    let evaluations = |text: &str| metric(text, "palisade_evaluation_seconds_count");
    loop {
        let text = scrape(port);
        if evaluations(&text) >= 1.0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            bail!(
                "no first evaluation in 300 s: {:?}",
                log.lock().map(|l| l.clone())
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let first = started.elapsed();
    let text = scrape(port);
    println!(
        "{} objects watched; first reports after {:.2} s ({} reports, {:.1} MB), CPU {:.2} s, peak RSS {:.0} MB",
        metric(&text, "palisade_objects_watched"),
        first.as_secs_f64(),
        metric(&text, "palisade_reports"),
        metric(&text, "palisade_report_bytes") / 1e6,
        cpu_seconds(pid),
        peak_rss_mb(pid)
    );

    // The stream: new pods, then changes to them, at `rate` per second.
    let lag_sum0 = metric(&text, "palisade_watch_lag_seconds_sum");
    let lag_count0 = metric(&text, "palisade_watch_lag_seconds_count");
    let cpu0 = cpu_seconds(pid);
    let t0 = Instant::now();
    let total = rate * usize::try_from(seconds)?;
    let added = total / 2;
    for i in 0..total {
        let due = t0 + Duration::from_secs_f64(i as f64 / rate as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let n = i % added.max(1);
        let mut pod: Value = template.clone();
        pod["apiVersion"] = json!("v1");
        pod["kind"] = json!("Pod");
        pod["metadata"]["name"] = json!(format!("change-{n}"));
        pod["metadata"]["namespace"] = json!(format!("bench-{}", n % 100));
        pod["metadata"]["labels"]["round"] = json!((i / added.max(1)).to_string());
        let kind = if i < added {
            EventKind::Added
        } else {
            EventKind::Modified
        };
        server.apply_event("/api/v1/pods", kind, pod);
    }
    let sent = t0.elapsed();
    // Until the last change is judged.
    let settle = Instant::now();
    let mut text = scrape(port);
    let objects_done = |t: &str| metric(t, "palisade_objects_evaluated_total");
    let mut last = objects_done(&text);
    loop {
        std::thread::sleep(
            Duration::from_secs(1) + Duration::from_secs_f64(debounce.parse::<f64>()? * 3.0),
        );
        text = scrape(port);
        let now = objects_done(&text);
        if (now - last).abs() < f64::EPSILON || settle.elapsed() > Duration::from_secs(120) {
            break;
        }
        last = now;
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu0;
    let lag_count = metric(&text, "palisade_watch_lag_seconds_count") - lag_count0;
    let lag_sum = metric(&text, "palisade_watch_lag_seconds_sum") - lag_sum0;
    println!(
        "{total} changes in {:.1} s ({:.0}/s): {} evaluations, mean watch lag {:.2} s, CPU {:.2} s over {:.1} s ({:.0}% of a core), {} reports written, peak RSS {:.0} MB",
        sent.as_secs_f64(),
        total as f64 / sent.as_secs_f64(),
        lag_count,
        if lag_count > 0.0 { lag_sum / lag_count } else { 0.0 },
        cpu,
        wall,
        cpu / wall * 100.0,
        metric(&text, "palisade_reports_written_total"),
        peak_rss_mb(pid)
    );
    let _ = child.kill();
    let _ = child.wait();
    if std::env::var_os("PALISADE_BENCH_VERBOSE").is_some() {
        for line in log.lock().map(|l| l.clone()).unwrap_or_default() {
            if line.contains("evaluat") {
                println!("{line}");
            }
        }
    }
    Ok(())
}
