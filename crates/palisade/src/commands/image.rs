//! `palisade image scan|resolve|verify` and `palisade db update`.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use palisade_model::Severity;
use palisade_registry::{Registry, RegistryOptions};
use palisade_vuln::image::{read_image, read_layout, ImageContents};
use palisade_vuln::osv::{Database, Match};
use serde_json::json;

use palisade_signature::{Matcher, Policy, PublicKey, Require, Rule, Signer, TrustRoot};

use super::image_verify::Verifier;
use crate::cli::{
    DbCommand, FailOn, HistoryFormat, ImageCommand, ImageScanArgs, ImageVerifyArgs, RegistryArgs,
};
use crate::ExitStatus;

/// `~/.cache/palisade/NAME` (`$XDG_CACHE_HOME` first), or `DIR` given.
pub(crate) fn cache_dir(given: Option<&PathBuf>, name: &str) -> PathBuf {
    given.cloned().unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(|| PathBuf::from("."));
        cache.join("palisade").join(name)
    })
}

fn db_dir(given: Option<&PathBuf>) -> PathBuf {
    cache_dir(given, "db")
}

/// A registry client for the command line's registry flags.
pub(crate) fn registry(args: &RegistryArgs) -> anyhow::Result<Registry> {
    Ok(Registry::new(&RegistryOptions {
        docker_config: args.docker_config.clone(),
        ca_files: args.registry_ca.clone(),
        insecure: args.insecure_registry.clone(),
        timeout: Duration::from_secs(args.registry_timeout.max(1)),
        ..RegistryOptions::default()
    })?)
}

/// A runtime for the registry client's requests.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// A match's severity for gating: `unknown` ranks as medium.
fn severity(m: &Match) -> Severity {
    Severity::parse(&m.severity).unwrap_or(Severity::Medium)
}

pub fn db(command: DbCommand) -> anyhow::Result<ExitStatus> {
    match command {
        DbCommand::Update { from, db } => {
            let dir = db_dir(db.as_ref());
            let mut database = Database::open(&dir)?;
            let (n, problems) = database.import(&from)?;
            for p in &problems {
                eprintln!("palisade: warning: {p}");
            }
            eprintln!("palisade: imported {n} OSV records into {}", dir.display());
            Ok(if problems.is_empty() {
                ExitStatus::Clean
            } else {
                ExitStatus::Error
            })
        }
    }
}

pub fn run(command: ImageCommand) -> anyhow::Result<ExitStatus> {
    match command {
        ImageCommand::Scan(args) => scan(&args),
        ImageCommand::Resolve { images, registry } => resolve(&images, &registry),
        ImageCommand::Verify(args) => verify(&args),
    }
}

/// The policy `image verify`'s flags describe: the policy file, or one rule covering
/// every image with the keys or keyless identity given.
fn verify_policy(args: &ImageVerifyArgs) -> anyhow::Result<Policy> {
    if let Some(path) = &args.policy {
        return Policy::from_file(path)
            .with_context(|| format!("signature policy {}", path.display()));
    }
    let mut signers = Vec::new();
    for path in &args.key {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let key = PublicKey::from_pem(&pem).with_context(|| path.display().to_string())?;
        signers.push(Signer::key(key));
    }
    let identity = match (
        &args.certificate_identity,
        &args.certificate_identity_regexp,
    ) {
        (Some(exact), _) => Some(Matcher::exact(exact.clone())),
        (None, Some(regex)) => Some(Matcher::regex(regex)?),
        (None, None) => None,
    };
    if let Some(identity) = identity {
        let issuer = match (
            &args.certificate_oidc_issuer,
            &args.certificate_oidc_issuer_regexp,
        ) {
            (Some(exact), _) => Matcher::exact(exact.clone()),
            (None, Some(regex)) => Matcher::regex(regex)?,
            (None, None) => anyhow::bail!("keyless verification needs --certificate-oidc-issuer"),
        };
        signers.push(Signer::keyless(identity, issuer));
    }
    if signers.is_empty() {
        anyhow::bail!("say who must have signed: --key FILE, --certificate-identity with --certificate-oidc-issuer, or --policy FILE");
    }
    Ok(Policy {
        rules: vec![Rule::new(&["**"], signers, Require::Any)?],
        trust: None,
    })
}

/// `image verify`: exit 0 when verified, 1 when not.
fn verify(args: &ImageVerifyArgs) -> anyhow::Result<ExitStatus> {
    let policy = verify_policy(args)?;
    let trust = match &args.trusted_root {
        Some(path) => Some(
            TrustRoot::from_trusted_root_json(
                &std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
            )
            .with_context(|| path.display().to_string())?,
        ),
        None => None,
    };
    let cache = (!args.no_cache).then(|| {
        args.signature_cache
            .clone()
            .unwrap_or_else(|| cache_dir(None, "signatures.json"))
    });
    if let Some(parent) = cache.as_ref().and_then(|c| c.parent()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let verifier = Verifier::new(policy, trust, cache.as_deref())?;
    let path = Path::new(&args.image);
    let (name, digest, outcome) = if path.is_dir() {
        let (digest, ref_name) = layout_image(path)?;
        // The flags' one rule covers any image; a policy file's rules are chosen by the
        // image's name, which only the layout's annotation can give.
        let rule = if args.policy.is_none() {
            Some(0)
        } else {
            ref_name.as_deref().and_then(|n| verifier.rule_for(n))
        };
        let Some(rule) = rule else {
            anyhow::bail!(
                "{}: no rule of the policy covers the image it holds ({}); verify it with --key or --certificate-identity instead",
                args.image,
                ref_name.as_deref().unwrap_or("its index does not name it")
            );
        };
        let artifacts = palisade_registry::layout::signature_artifacts(path, &digest)?;
        let manifest = palisade_registry::layout::blob(path, &digest).ok();
        let outcome = verifier.judge(rule, &digest, &artifacts, manifest.as_deref());
        (args.image.clone(), digest, outcome)
    } else if let Some((digest, hit)) = args.image.split_once('@').and_then(|(_, digest)| {
        // A digest verified before needs no registry: not even a client is built.
        let rule = verifier.rule_for(&args.image)?;
        Some((digest.to_owned(), verifier.cached(rule, digest)?))
    }) {
        (strip_tag(&args.image).to_owned(), digest, Ok(hit))
    } else {
        let registry = registry(&args.registry)?;
        let runtime = runtime()?;
        let reference = match args.image.split_once('@') {
            Some(_) => args.image.clone(),
            None => {
                let digest = runtime.block_on(registry.resolve(&args.image))?;
                format!("{}@{digest}", strip_tag(&args.image))
            }
        };
        let digest = reference.split_once('@').map_or("", |(_, d)| d).to_owned();
        let Some(outcome) = runtime.block_on(verifier.verify_remote(&registry, &reference)) else {
            anyhow::bail!("{}: no rule of the policy covers it", args.image);
        };
        (strip_tag(&args.image).to_owned(), digest, outcome)
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match args.format {
        HistoryFormat::Json => {
            let value = match &outcome {
                Ok(verified) => {
                    json!({"image": name, "digest": digest, "verified": true, "signatures": verified})
                }
                Err(why) => {
                    json!({"image": name, "digest": digest, "verified": false, "reason": why})
                }
            };
            serde_json::to_writer(&mut out, &value)?;
            writeln!(out)?;
        }
        HistoryFormat::Text => match &outcome {
            Ok(verified) => {
                for v in verified {
                    let mut said = format!("{name}@{digest}: verified: signed by {}", v.signer);
                    if let Some(identity) = &v.identity {
                        said.push_str(&format!(" ({identity}"));
                        if let Some(issuer) = &v.issuer {
                            said.push_str(&format!(", issuer {issuer}"));
                        }
                        said.push(')');
                    }
                    if let Some(index) = v.log_index {
                        said.push_str(&format!(", transparency log entry {index}"));
                    }
                    writeln!(out, "{said}")?;
                }
            }
            Err(why) => writeln!(out, "{name}@{digest}: not verified: {why}")?,
        },
    }
    Ok(if outcome.is_ok() {
        ExitStatus::Clean
    } else {
        ExitStatus::Findings
    })
}

/// `repo` of `repo:tag` (a registry's port is not a tag).
fn strip_tag(image: &str) -> &str {
    let image = image.split_once('@').map_or(image, |(i, _)| i);
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    }
}

/// The digest of the image an OCI layout holds (its index's only image manifest, or
/// the one for linux/amd64; signature manifests listed beside it are not images), and
/// the full reference its ref-name annotation gives, if it gives one.
fn layout_image(layout: &Path) -> anyhow::Result<(String, Option<String>)> {
    const REF_NAME: &str = "org.opencontainers.image.ref.name";
    let index_path = layout.join("index.json");
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&index_path)
            .with_context(|| format!("cannot read {}", index_path.display()))?,
    )
    .with_context(|| index_path.display().to_string())?;
    let images: Vec<&serde_json::Value> = index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| {
            let name = m["annotations"][REF_NAME].as_str().unwrap_or_default();
            !name.contains("sha256-")
        })
        .collect();
    let chosen = images
        .iter()
        .find(|m| m["platform"]["os"] == "linux" && m["platform"]["architecture"] == "amd64")
        .or_else(|| images.first())
        .ok_or_else(|| anyhow::anyhow!("{}: index.json lists no image", layout.display()))?;
    let digest = chosen["digest"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("{}: an index entry without a digest", layout.display()))?;
    // `skopeo copy … oci:DIR:TAG` writes only the tag; a full reference has a `/`.
    let name = chosen["annotations"][REF_NAME]
        .as_str()
        .filter(|n| n.contains('/'))
        .map(str::to_owned);
    Ok((digest.to_owned(), name))
}

/// Prints `IMAGE@DIGEST` for each image; one that cannot be resolved is said on stderr
/// and the rest still resolved.
fn resolve(images: &[String], args: &RegistryArgs) -> anyhow::Result<ExitStatus> {
    let registry = registry(args)?;
    let runtime = runtime()?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut status = ExitStatus::Clean;
    for image in images {
        match runtime.block_on(registry.resolve(image)) {
            // The tag stays beside the digest, for readers; the runtime pulls by digest.
            Ok(digest) => writeln!(
                out,
                "{}@{digest}",
                image.split_once('@').map_or(image.as_str(), |(i, _)| i)
            )?,
            Err(e) => {
                eprintln!("palisade: error: {e}");
                status = ExitStatus::Error;
            }
        }
    }
    Ok(status)
}

/// The image `args.image` names: a layout directory read in place, or a reference
/// pulled into the cache first.
fn image_contents(args: &ImageScanArgs) -> anyhow::Result<ImageContents> {
    let path = Path::new(&args.image);
    if path.is_dir() {
        return Ok(read_layout(path)?);
    }
    if args.image.contains(std::path::MAIN_SEPARATOR) && path.exists() {
        anyhow::bail!("{}: not an OCI image layout directory", args.image);
    }
    let cache = cache_dir(args.cache.as_ref(), "images");
    let registry = registry(&args.registry)?;
    let pulled = runtime()?.block_on(registry.pull(&args.image, &cache))?;
    Ok(read_image(&cache, &pulled.manifest)?)
}

fn scan(args: &ImageScanArgs) -> anyhow::Result<ExitStatus> {
    let dir = db_dir(args.db.as_ref());
    if !dir.join("osv.sqlite").exists() {
        anyhow::bail!(
            "no vulnerability database in {}: import one with `palisade db update --from DIR --db {}`",
            dir.display(),
            dir.display()
        );
    }
    let database = Database::open(&dir)?;
    let image = image_contents(args)?;
    let Some(ecosystem) = &image.ecosystem else {
        anyhow::bail!(
            "{}: no os-release in the image: its packages cannot be matched to an OS's advisories",
            args.image
        );
    };
    let mut matches = Vec::new();
    for p in &image.packages {
        matches.extend(database.matches(ecosystem, p)?);
    }
    // Most severe first, then by package.
    matches.sort_by(|a, b| {
        severity(b)
            .cmp(&severity(a))
            .then(a.package.cmp(&b.package))
            .then(a.id.cmp(&b.id))
    });
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        HistoryFormat::Json => {
            let list: Vec<_> = matches
                .iter()
                .map(|m| {
                    json!({"id": m.id, "aliases": m.aliases, "severity": m.severity,
                        "package": m.package, "installed": m.installed, "fixed": m.fixed,
                        "summary": m.summary})
                })
                .collect();
            serde_json::to_writer(
                &mut out,
                &json!({"image": args.image, "digest": image.digest,
                    "ecosystem": ecosystem, "packages": image.packages.len(),
                    "vulnerabilities": list}),
            )?;
            writeln!(out)?;
        }
        HistoryFormat::Text => {
            writeln!(
                out,
                "{} ({}): {ecosystem}, {} packages",
                args.image,
                image.digest,
                image.packages.len()
            )?;
            for m in &matches {
                let aliases = if m.aliases.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", m.aliases.join(", "))
                };
                let fixed = m
                    .fixed
                    .as_ref()
                    .map_or_else(|| "no fix yet".to_owned(), |f| format!("fixed in {f}"));
                writeln!(
                    out,
                    "  {:<8} {} {} {}{aliases}: {fixed}; {}",
                    m.severity, m.package, m.installed, m.id, m.summary
                )?;
            }
            let affected: std::collections::BTreeSet<&str> =
                matches.iter().map(|m| m.package.as_str()).collect();
            writeln!(
                out,
                "{} vulnerabilit{} in {} of {} packages",
                matches.len(),
                if matches.len() == 1 { "y" } else { "ies" },
                affected.len(),
                image.packages.len()
            )?;
        }
    }
    out.flush()?;
    let failing = match args.fail_on.unwrap_or(FailOn::Severity(Severity::High)) {
        FailOn::Never => false,
        FailOn::Severity(min) => matches.iter().any(|m| severity(m) >= min),
    };
    Ok(if failing {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}
