//! `audit-serve EVENTS CONNECTIONS [BATCH]`: the audit webhook backend in this process
//! (HTTPS, spool with fdatasync, the detection loop reading the spool), loaded by
//! CONNECTIONS keep-alive TLS clients posting EventLists of BATCH events (the API
//! server's default batch is 400) of the `audit-generate` mix, each event unique.
//! Reported: the rate at which batches are acknowledged (durable), the rate at which
//! they are matched end to end, the largest spool backlog, and CPU time.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use palisade_audit::serve::{start, ServeConfig};
use palisade_audit::watch::{watch, Output, Progress, WatchOptions};
use palisade_audit::{falco_json, Loader, PALISADE_RULES};

use crate::admission::cpu_time;

/// One keep-alive HTTPS connection that posts and reads answers.
struct Client {
    tls: BufReader<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>,
}

impl Client {
    fn connect(addr: &str, config: &Arc<rustls::ClientConfig>) -> anyhow::Result<Client> {
        let name = rustls_pki_types::ServerName::try_from("127.0.0.1")?.to_owned();
        let conn = rustls::ClientConnection::new(config.clone(), name)?;
        let tcp = TcpStream::connect(addr)?;
        tcp.set_nodelay(true)?;
        Ok(Client {
            tls: BufReader::new(rustls::StreamOwned::new(conn, tcp)),
        })
    }

    /// Posts `body`; the status code.
    fn post(&mut self, body: &[u8]) -> anyhow::Result<u16> {
        let head = format!(
            "POST /audit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let stream = self.tls.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        stream.flush()?;
        let mut line = String::new();
        self.tls.read_line(&mut line)?;
        let code = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .with_context(|| format!("no status line: {line:?}"))?;
        let mut length = 0usize;
        loop {
            line.clear();
            self.tls.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse()?;
                }
            }
        }
        let mut answer = vec![0; length];
        self.tls.read_exact(&mut answer)?;
        Ok(code)
    }
}

pub fn run(events: usize, connections: usize, batch: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki =
        palisade_admission::tls::bootstrap(&["127.0.0.1".into()], 1).map_err(anyhow::Error::msg)?;
    std::fs::write(dir.path().join("tls.crt"), &pki.cert)?;
    std::fs::write(dir.path().join("tls.key"), &pki.key)?;
    let mut roots = rustls::RootCertStore::empty();
    {
        use rustls_pki_types::pem::PemObject;
        for c in rustls_pki_types::CertificateDer::pem_slice_iter(pki.ca_cert.as_bytes()) {
            roots.add(c?)?;
        }
    }
    let client_config = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );

    let bodies: Vec<Vec<u8>> = (0..events.div_ceil(batch))
        .map(|b| {
            let items: Vec<String> = (b * batch..((b + 1) * batch).min(events))
                .map(|i| crate::audit::event(i, false))
                .collect();
            format!(
                r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{{}},"items":[{}]}}"#,
                items.join(",")
            )
            .into_bytes()
        })
        .collect();
    let bytes: usize = bodies.iter().map(Vec::len).sum();

    let spool = dir.path().join("spool");
    let config = ServeConfig::new(
        "127.0.0.1:0".parse()?,
        dir.path().join("tls.crt"),
        dir.path().join("tls.key"),
        spool.clone(),
    );
    let progress = Arc::new(Progress::default());
    let server = start(config, progress.clone()).map_err(anyhow::Error::msg)?;
    let addr = server.addr.to_string();

    let mut loader = Loader::default();
    loader.add("palisade_k8s_audit.yaml", PALISADE_RULES)?;
    let rules = loader.compile();
    let mut options = WatchOptions::new(
        Vec::new(),
        dir.path().join("state.db"),
        Output::File(dir.path().join("out.jsonl")),
    );
    options.spool = Some(spool);
    options.poll = Duration::from_millis(20);
    options.idle_exit = Some(Duration::from_secs(2));
    let detector = {
        let (progress, gauge) = (progress.clone(), server.gauge.clone());
        std::thread::spawn(move || {
            watch(
                &options,
                &rules,
                |_, _, d, _| falco_json(d, "bench").to_string(),
                |_| {},
                Some(gauge),
                &progress,
            )
        })
    };

    let max_backlog = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (gauge, max_backlog, done) = (server.gauge.clone(), max_backlog.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                max_backlog.fetch_max(gauge.backlog(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };

    let cpu_before = cpu_time();
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(bodies);
    let clients: Vec<_> = (0..connections)
        .map(|_| {
            let (next, bodies, addr, config) = (
                next.clone(),
                bodies.clone(),
                addr.clone(),
                client_config.clone(),
            );
            std::thread::spawn(move || -> anyhow::Result<()> {
                let mut client = Client::connect(&addr, &config)?;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else {
                        return Ok(());
                    };
                    let code = client.post(body)?;
                    if code != 200 {
                        bail!("batch {i}: HTTP {code}");
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.join()
            .map_err(|_| anyhow::anyhow!("a client panicked"))??;
    }
    let acked = started.elapsed();
    while progress.events.load(Ordering::Relaxed) < events as u64 {
        std::thread::sleep(Duration::from_millis(2));
    }
    let matched = started.elapsed();
    let cpu = cpu_time() - cpu_before;
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let totals = detector
        .join()
        .map_err(|_| anyhow::anyhow!("the detection loop panicked"))??;
    server.stop();
    println!(
        "{events} events in {} batches of {batch} ({:.0} MB) over {connections} connections",
        bodies.len(),
        bytes as f64 / 1e6
    );
    println!(
        "acknowledged (durable) in {:.2} s: {:.0} events/s, {:.0} batches/s",
        acked.as_secs_f64(),
        events as f64 / acked.as_secs_f64(),
        bodies.len() as f64 / acked.as_secs_f64()
    );
    println!(
        "matched end to end in {:.2} s: {:.0} events/s; {} detections; largest spool backlog {:.1} MB; CPU {:.2} s",
        matched.as_secs_f64(),
        events as f64 / matched.as_secs_f64(),
        totals.detections,
        max_backlog.load(Ordering::Relaxed) as f64 / 1e6,
        cpu.as_secs_f64()
    );
    Ok(())
}
