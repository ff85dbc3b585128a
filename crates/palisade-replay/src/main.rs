//! `palisade-replay RECORDINGS KUBECONFIG_OUT [EXTRA_PODS]`: serves the recordings on a
//! loopback port until killed, after writing a kubeconfig for it (client certificate).
//! For trying `palisade scan --cluster` by hand and for the cluster benchmark.

use std::path::Path;

use palisade_replay::{Auth, Options, Recordings, ReplayServer};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: palisade-replay RECORDINGS KUBECONFIG_OUT [EXTRA_PODS]");
        std::process::exit(2);
    };
    let extra_pods = match args.get(2).map(|n| n.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("palisade-replay: EXTRA_PODS: {e}");
            std::process::exit(2);
        }
    };
    let recordings = match Recordings::load(Path::new(dir)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("palisade-replay: {e}");
            std::process::exit(2);
        }
    };
    let server = ReplayServer::start(
        recordings,
        Options {
            extra_pods,
            ..Options::default()
        },
    );
    if let Err(e) = std::fs::write(out, server.kubeconfig(&Auth::ClientCertificate)) {
        eprintln!("palisade-replay: {out}: {e}");
        std::process::exit(2);
    }
    eprintln!(
        "palisade-replay: serving {dir} at {} (kubeconfig {out})",
        server.url()
    );
    loop {
        std::thread::park();
    }
}
