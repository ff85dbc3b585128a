//! Signature verification: in-process (a keyless bundle with its inclusion proof, and
//! a keyed cosign layer, verified afresh; a cache hit), and `palisade image verify
//! REGISTRY/IMAGE@DIGEST` as a process against a real registry (docker-registry on
//! loopback): the first run fetches and verifies, the later ones are cache hits.
//! Needs `target/release/palisade` (`cargo build --release`).

use std::process::Command;
use std::time::Instant;

use palisade_registry::testing::TestRegistry;
use palisade_signature::testing::{keyed_cosign_layer, SigningKey, Sigstore};
use palisade_signature::{Cache, Evidence, Matcher, Require, Rule, Signer};

fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..n {
        let t = Instant::now();
        last = Some(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best * 1000.0, last.expect("n > 0"))
}

pub fn run() -> anyhow::Result<()> {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let mut sigstore = Sigstore::new();
    let trust = sigstore.trust_root();
    let bundle = sigstore.keyless_bundle(&digest, "dev@acme.example", "https://issuer.example");
    let evidence = [Evidence::from_bundle_json(
        bundle.to_string().as_bytes(),
        None,
    )?];
    let keyless = Rule::new(
        &["**"],
        vec![Signer::keyless(
            Matcher::exact("dev@acme.example"),
            Matcher::exact("https://issuer.example"),
        )],
        Require::Any,
    )?;
    let (ms, ok) = best_of(50, || keyless.verify(&digest, &evidence, &trust).is_ok());
    anyhow::ensure!(ok, "the keyless bundle did not verify");
    println!("keyless bundle (certificate chain, SET, inclusion proof, checkpoint): {ms:.3} ms (best of 50)");

    let key = SigningKey::generate();
    let (payload, annotations) = keyed_cosign_layer(&key, &digest);
    let keyed_evidence = [Evidence::from_cosign_layer(&payload, &annotations)?];
    let keyed = Rule::new(&["**"], vec![Signer::key(key.public_key())], Require::Any)?;
    let (ms, ok) = best_of(50, || {
        keyed.verify(&digest, &keyed_evidence, &trust).is_ok()
    });
    anyhow::ensure!(ok, "the keyed layer did not verify");
    println!("keyed cosign layer: {ms:.3} ms (best of 50)");

    let dir = tempfile::tempdir()?;
    let fingerprint = keyless.fingerprint(&trust);
    let mut cache = Cache::open(&dir.path().join("cache.json"))?;
    for i in 0..10_000 {
        cache.insert(&format!("sha256:{i:064x}"), &fingerprint, Vec::new());
    }
    cache.insert(
        &digest,
        &fingerprint,
        keyless
            .verify(&digest, &evidence, &trust)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    cache.save()?;
    let (ms, hit) = best_of(50, || {
        let cache = Cache::open(&dir.path().join("cache.json")).expect("cache");
        cache.get(&digest, &fingerprint).is_some()
    });
    anyhow::ensure!(hit, "no cache hit");
    println!("cache of 10,001 digests opened and hit: {ms:.3} ms (best of 50)");

    let palisade = std::env::current_exe()?
        .parent()
        .map(|d| d.join("palisade"))
        .filter(|p| p.exists())
        .ok_or_else(|| anyhow::anyhow!("build the palisade binary first: cargo build --release"))?;
    if !palisade_registry::testing::available() {
        anyhow::bail!("docker-registry is needed for the end-to-end figure");
    }
    let registry = TestRegistry::start();
    let runtime = tokio::runtime::Runtime::new()?;
    let image_digest = runtime.block_on(async {
        let d = registry
            .push_image(
                "acme/app",
                "1",
                &[palisade_vuln::testing::layer(&[("a", "b")])],
            )
            .await;
        let (payload, annotations) = keyed_cosign_layer(&key, &d);
        registry
            .push_cosign_signature("acme/app", &d, payload, &annotations)
            .await;
        d
    });
    std::fs::write(dir.path().join("cosign.pub"), key.public_pem())?;
    let reference = format!("{}/acme/app@{image_digest}", registry.host);
    let config = registry.docker_config(None);
    let verify = || {
        let out = Command::new(&palisade)
            .args(["image", "verify", &reference, "--key"])
            .arg(dir.path().join("cosign.pub"))
            .arg("--signature-cache")
            .arg(dir.path().join("signatures.json"))
            .arg("--docker-config")
            .arg(&config)
            .arg("--registry-ca")
            .arg(registry.ca())
            .output()
            .expect("palisade runs");
        out.status.success()
    };
    let t = Instant::now();
    anyhow::ensure!(verify(), "the first verification failed");
    println!(
        "palisade image verify, first (fetch from the registry, verify): {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let requests = registry.requests().len();
    let (ms, ok) = best_of(20, verify);
    anyhow::ensure!(ok, "a cached verification failed");
    anyhow::ensure!(
        registry.requests().len() == requests,
        "a cached verification asked the registry"
    );
    println!("palisade image verify, cached (the whole process): {ms:.1} ms (best of 20)");
    Ok(())
}
