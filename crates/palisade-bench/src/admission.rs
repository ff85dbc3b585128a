//! The admission webhook's benchmarks: CPU per review of a 5-container pod, and the
//! HTTPS server under load from `wrk` on loopback.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use palisade_admission::{start, Judge, JudgeConfig, ServerConfig};
use palisade_config::{scan_setup, Config, Overrides};

/// A pod of five containers, as a team's web application deploys it: a few hardening
/// gaps, env vars, mounts, probes; about 6 KB of AdmissionReview.
fn five_container_review() -> String {
    let container = |i: usize| {
        format!(
            r#"{{"name":"c{i}","image":"registry.example.com/team/app-{i}:1.{i}.0","imagePullPolicy":"IfNotPresent",
            "ports":[{{"containerPort":{port},"protocol":"TCP"}}],
            "env":[{{"name":"MODE","value":"production"}},{{"name":"DB_PASSWORD","valueFrom":{{"secretKeyRef":{{"name":"db","key":"password"}}}}}},{{"name":"LOG_LEVEL","value":"info"}}],
            "resources":{{"requests":{{"cpu":"100m","memory":"128Mi"}},"limits":{{"memory":"256Mi"}}}},
            "securityContext":{{"allowPrivilegeEscalation":false,"runAsNonRoot":true,"capabilities":{{"drop":["ALL"]{add}}}}},
            "volumeMounts":[{{"name":"data","mountPath":"/data"}},{{"name":"config","mountPath":"/etc/app","readOnly":true}}],
            "readinessProbe":{{"httpGet":{{"path":"/ready","port":{port}}}}}}}"#,
            port = 8080 + i,
            add = if i == 4 {
                r#","add":["NET_BIND_SERVICE"]"#
            } else {
                ""
            },
        )
    };
    let containers: Vec<String> = (0..5).map(container).collect();
    format!(
        r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{
        "uid":"0f6a4f5e-3b1c-4d2e-9a8b-7c6d5e4f3a2b",
        "kind":{{"group":"","version":"v1","kind":"Pod"}},"resource":{{"group":"","version":"v1","resource":"pods"}},
        "requestKind":{{"group":"","version":"v1","kind":"Pod"}},"requestResource":{{"group":"","version":"v1","resource":"pods"}},
        "name":"web-7d9f8c6b5-x2k4p","namespace":"shop","operation":"CREATE",
        "userInfo":{{"username":"system:serviceaccount:kube-system:replicaset-controller","uid":"1","groups":["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]}},
        "object":{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"web-7d9f8c6b5-x2k4p","generateName":"web-7d9f8c6b5-","namespace":"shop",
          "labels":{{"app":"web","pod-template-hash":"7d9f8c6b5"}},
          "ownerReferences":[{{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d9f8c6b5","uid":"3c1b2a3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d","controller":true,"blockOwnerDeletion":true}}]}},
          "spec":{{"serviceAccountName":"web","securityContext":{{"seccompProfile":{{"type":"RuntimeDefault"}}}},
            "containers":[{}],
            "volumes":[{{"name":"data","emptyDir":{{}}}},{{"name":"config","configMap":{{"name":"web"}}}}]}}}},
        "oldObject":null,"dryRun":false,"options":{{"apiVersion":"meta.k8s.io/v1","kind":"CreateOptions"}}}}}}"#,
        containers.join(",")
    )
}

fn judge() -> anyhow::Result<Judge> {
    let (checks, scan) =
        scan_setup(&Config::default(), &Overrides::default()).map_err(anyhow::Error::msg)?;
    Judge::new(JudgeConfig {
        checks,
        scan,
        admission: Default::default(),
    })
    .map_err(anyhow::Error::msg)
}

/// This process's CPU time (user + system), from /proc.
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces), from its closing ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 (1-based); `rest` starts at field 3.
    let total = ticks(11) + ticks(12);
    Duration::from_millis(total * 10) // USER_HZ is 100 on Linux
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `admission-review [N]`: N reviews of the 5-container pod, one after another on one
/// of rayon's threads (where the server judges them).
pub fn review(n: usize) -> anyhow::Result<()> {
    let judge = judge()?;
    let body = five_container_review();
    let (_, d) = judge.review(body.as_bytes()).map_err(anyhow::Error::msg)?;
    println!(
        "review of a 5-container pod: {} bytes, {} findings, allowed {}",
        body.len(),
        d.findings.len(),
        d.response.allowed
    );
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let (times, cpu) = pool.install(|| {
        for _ in 0..1000 {
            let _ = judge.review(body.as_bytes());
        }
        let cpu_before = cpu_time();
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let r = judge.review(body.as_bytes());
            times.push(t.elapsed());
            drop(r);
        }
        (times, cpu_time() - cpu_before)
    });
    let mut sorted = times;
    sorted.sort_unstable();
    println!(
        "{n} reviews: wall per review p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs; CPU {:.0} µs per review on average",
        percentile(&sorted, 0.5).as_secs_f64() * 1e6,
        percentile(&sorted, 0.99).as_secs_f64() * 1e6,
        sorted[sorted.len() - 1].as_secs_f64() * 1e6,
        cpu.as_secs_f64() * 1e6 / n as f64
    );
    Ok(())
}

/// `admission-load SECONDS CONNECTIONS [MAX_IN_FLIGHT]`: the HTTPS server in this
/// process, `wrk` posting the 5-container review over keep-alive connections; RSS is
/// sampled every second.
pub fn load(seconds: u64, connections: usize, max_in_flight: usize) -> anyhow::Result<()> {
    if Command::new("wrk").arg("--version").output().is_err() {
        bail!("wrk is not installed (apt-get install wrk)");
    }
    let dir = tempfile::tempdir()?;
    let pki =
        palisade_admission::tls::bootstrap(&["127.0.0.1".into()], 1).map_err(anyhow::Error::msg)?;
    std::fs::write(dir.path().join("tls.crt"), &pki.cert)?;
    std::fs::write(dir.path().join("tls.key"), &pki.key)?;
    let body_path = dir.path().join("review.json");
    std::fs::write(&body_path, five_container_review())?;
    let script = dir.path().join("post.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nlocal f = io.open(\"{}\")\nwrk.body = f:read(\"*a\")\nf:close()\n",
            body_path.display()
        ),
    )?;
    let config = ServerConfig {
        max_in_flight,
        ..ServerConfig::new(
            "127.0.0.1:0".parse()?,
            dir.path().join("tls.crt"),
            dir.path().join("tls.key"),
        )
    };
    let server = start(Arc::new(judge()?), config).map_err(anyhow::Error::msg)?;
    let url = format!("https://{}/validate", server.addr);
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                samples.push(rss_kb());
                std::thread::sleep(Duration::from_secs(1));
            }
            samples
        })
    };
    let cpu_before = cpu_time();
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "--timeout",
            "10s",
            "-s",
        ])
        .arg(&script)
        .arg(&url)
        .output()
        .context("running wrk")?;
    let server_cpu = cpu_time() - cpu_before;
    stop.store(true, Ordering::SeqCst);
    let samples = sampler.join().unwrap_or_default();
    print!("{}", String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    // Skip the first samples (warm-up) when judging flatness.
    let steady: Vec<u64> = samples.iter().skip(3).copied().collect();
    if let (Some(min), Some(max)) = (steady.iter().min(), steady.iter().max()) {
        println!(
            "server RSS: {} KB after warm-up, min {min} KB, max {max} KB, last {} KB ({:+.1}% max over min); server CPU {:.1} s over {seconds} s",
            steady[0],
            steady[steady.len() - 1],
            (*max as f64 / *min as f64 - 1.0) * 100.0,
            server_cpu.as_secs_f64()
        );
    }
    for line in server.metrics().lines().filter(|l| {
        l.starts_with("palisade_admission_rejected_total")
            || l.starts_with("palisade_admission_reviews_total")
    }) {
        println!("{line}");
    }
    server.stop();
    Ok(())
}
