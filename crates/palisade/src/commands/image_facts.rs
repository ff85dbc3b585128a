//! What `scan` and the admission webhook learn about images from registries: the
//! digest a tag names, the image's packages' known vulnerabilities, and (with a policy)
//! whether it is signed as required. Checks ask from rayon workers; each image is
//! resolved, pulled, matched and verified once per run, however many containers run it,
//! with at most `--image-concurrency` registry conversations at a time.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use palisade_engine::{ImageFacts, ImageVulnerabilities, ImageVulnerability, SignatureVerdict};
use palisade_model::Severity;
use palisade_registry::Registry;
use palisade_vuln::osv::Database;
use tokio::sync::Semaphore;

/// Values computed once per key, however many threads ask at the same time: the
/// first computes, the others wait for its answer. A value may expire (`ttl`), for the
/// webhook, which runs for weeks: a tag moves, a rejected image gets signed.
struct Memo<V> {
    cells: Mutex<HashMap<String, Arc<Cell<V>>>>,
    ttl: fn(&V) -> Option<Duration>,
}

/// One key's value, with when it was computed.
type Cell<V> = OnceLock<(Instant, V)>;

/// How long a failed answer (a registry error, a rejection) is trusted.
const RETRY_AFTER: Duration = Duration::from_secs(60);
/// How long a tag's digest is trusted.
const TAG_TTL: Duration = Duration::from_secs(300);

impl<V: Clone> Memo<V> {
    fn new(ttl: fn(&V) -> Option<Duration>) -> Self {
        Self {
            cells: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    fn get(&self, key: &str, compute: impl FnOnce() -> V) -> V {
        let cell = {
            let mut cells = self
                .cells
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let cell = cells.entry(key.to_owned()).or_default();
            if let Some((at, value)) = cell.get() {
                if (self.ttl)(value).is_some_and(|ttl| at.elapsed() > ttl) {
                    *cell = Arc::default();
                }
            }
            cell.clone()
        };
        cell.get_or_init(|| (Instant::now(), compute())).1.clone()
    }
}

/// The image facts of one run.
pub(crate) struct RegistryFacts {
    /// `None` only while being dropped.
    runtime: Option<tokio::runtime::Runtime>,
    registry: Registry,
    /// At most this many registry conversations at once.
    slots: Semaphore,
    resolve_digests: bool,
    /// The database and the layout pulled images are kept in, with `--scan-images`.
    vulnerabilities: Option<(Mutex<Database>, PathBuf)>,
    signatures: Option<super::image_verify::Verifier>,
    /// Tag to digest.
    digests: Memo<Result<String, String>>,
    /// Digest to vulnerabilities.
    scanned: Memo<Result<ImageVulnerabilities, String>>,
    /// Policy rule and `repo@digest` to verdict.
    verdicts: Memo<Option<SignatureVerdict>>,
}

// The webhook's last reference may go on one of its server's tasks: a runtime dropped
// there would panic, so its threads are let go in the background instead.
impl Drop for RegistryFacts {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for RegistryFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryFacts")
            .field("resolve_digests", &self.resolve_digests)
            .field("scan_images", &self.vulnerabilities.is_some())
            .field("signatures", &self.signatures.is_some())
            .finish_non_exhaustive()
    }
}

/// `repo@sha256:…` when the reference carries a digest.
fn pinned(image: &str) -> Option<(&str, &str)> {
    let (name, digest) = image.split_once('@')?;
    digest.starts_with("sha256:").then_some((name, digest))
}

impl RegistryFacts {
    /// Facts for `scan`'s image flags; `None` when none of them asks for any.
    pub(crate) fn for_scan(
        args: &crate::cli::ScanImageArgs,
        vuln_db: Option<&PathBuf>,
    ) -> anyhow::Result<Option<Arc<Self>>> {
        if !args.scan_images && !args.resolve_digests && args.image_policy.is_none() {
            return Ok(None);
        }
        Self::new(args, vuln_db).map(Some)
    }

    /// Facts for the admission webhook: signatures only (an image is not pulled whole
    /// while an API request waits).
    pub(crate) fn for_admission(
        args: &crate::cli::AdmissionImageArgs,
    ) -> anyhow::Result<Option<Arc<Self>>> {
        if args.image_policy.is_none() {
            return Ok(None);
        }
        let scan_args = crate::cli::ScanImageArgs {
            scan_images: false,
            image_policy: args.image_policy.clone(),
            signature_cache: args.signature_cache.clone(),
            resolve_digests: false,
            image_cache: None,
            image_concurrency: args.image_concurrency,
            registry: args.registry.clone(),
        };
        Self::new(&scan_args, None).map(Some)
    }

    fn new(
        args: &crate::cli::ScanImageArgs,
        vuln_db: Option<&PathBuf>,
    ) -> anyhow::Result<Arc<Self>> {
        let vulnerabilities = match (args.scan_images, vuln_db) {
            (true, Some(dir)) => {
                if !dir.join("osv.sqlite").exists() {
                    anyhow::bail!(
                        "--vuln-db {}: no vulnerability database there (palisade db update --from ... --db {})",
                        dir.display(),
                        dir.display()
                    );
                }
                Some((
                    Mutex::new(Database::open(dir)?),
                    super::image::cache_dir(args.image_cache.as_ref(), "images"),
                ))
            }
            _ => None,
        };
        let signatures = match &args.image_policy {
            Some(path) => Some(super::image_verify::Verifier::load(
                path,
                args.signature_cache.as_ref(),
            )?),
            None => None,
        };
        Ok(Arc::new(Self {
            runtime: Some(super::image::runtime()?),
            registry: super::image::registry(&args.registry)?,
            slots: Semaphore::new(args.image_concurrency.max(1)),
            resolve_digests: args.resolve_digests,
            vulnerabilities,
            signatures,
            digests: Memo::new(|v| Some(if v.is_ok() { TAG_TTL } else { RETRY_AFTER })),
            scanned: Memo::new(|v| v.is_err().then_some(RETRY_AFTER)),
            verdicts: Memo::new(|v| {
                matches!(v, Some(SignatureVerdict::Rejected(_))).then_some(RETRY_AFTER)
            }),
        }))
    }

    /// Runs `work` on the runtime, holding one of the conversation slots.
    fn with_slot<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        let runtime = self.runtime.as_ref().expect("present until dropped");
        runtime.block_on(async {
            let _slot = self.slots.acquire().await;
            work.await
        })
    }

    /// `repo@digest` for `image`: as written when pinned, else its tag resolved (once).
    fn by_digest(&self, image: &str) -> Result<String, String> {
        if let Some((name, digest)) = pinned(image) {
            // A tag beside the digest is ignored by the runtime; so here.
            let name = match name.rfind(':') {
                Some(i) if !name[i..].contains('/') => &name[..i],
                _ => name,
            };
            return Ok(format!("{name}@{digest}"));
        }
        let digest = self.digests.get(image, || {
            self.with_slot(self.registry.resolve(image))
                .map_err(|e| e.to_string())
        })?;
        let name = match image.rfind(':') {
            Some(i) if !image[i..].contains('/') => &image[..i],
            _ => image,
        };
        Ok(format!("{name}@{digest}"))
    }

    fn scan(&self, image: &str) -> Result<ImageVulnerabilities, String> {
        let (database, layout) = self
            .vulnerabilities
            .as_ref()
            .expect("asked only with --scan-images");
        let reference = self.by_digest(image)?;
        let digest = pinned(&reference).map_or("", |(_, d)| d).to_owned();
        // Keyed by digest alone: the same content under two names is scanned once.
        self.scanned.get(&digest, || {
            let pulled = self
                .with_slot(self.registry.pull(&reference, layout))
                .map_err(|e| e.to_string())?;
            let contents = palisade_vuln::image::read_image(layout, &pulled.manifest)
                .map_err(|e| e.to_string())?;
            let Some(ecosystem) = &contents.ecosystem else {
                return Err("no os-release in the image: its packages cannot be matched to an OS's advisories".into());
            };
            let database = database.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut vulnerabilities = Vec::new();
            for package in &contents.packages {
                for m in database.matches(ecosystem, package).map_err(|e| e.to_string())? {
                    vulnerabilities.push(ImageVulnerability {
                        id: m.id,
                        severity: Severity::parse(&m.severity).unwrap_or(Severity::Medium),
                        package: m.package,
                        installed: m.installed,
                        fixed: m.fixed,
                    });
                }
            }
            vulnerabilities.sort_by(|a, b| {
                b.severity
                    .cmp(&a.severity)
                    .then_with(|| a.package.cmp(&b.package))
                    .then_with(|| a.id.cmp(&b.id))
            });
            Ok(ImageVulnerabilities {
                digest: contents.digest,
                packages: contents.packages.len(),
                vulnerabilities,
            })
        })
    }
}

impl ImageFacts for RegistryFacts {
    fn digest(&self, image: &str) -> Option<String> {
        if !self.resolve_digests || pinned(image).is_some() {
            return None;
        }
        self.by_digest(image)
            .ok()
            .and_then(|r| pinned(&r).map(|(_, d)| d.to_owned()))
    }

    fn signature(&self, image: &str) -> Option<SignatureVerdict> {
        let verifier = self.signatures.as_ref()?;
        let rule = verifier.rule_for(image)?;
        let rule = format!("rule {rule}");
        let verdict = match self.by_digest(image) {
            Err(e) => SignatureVerdict::Rejected(format!("its digest could not be resolved: {e}")),
            Ok(reference) => {
                return self.verdicts.get(&format!("{rule}\u{0}{reference}"), || {
                    Some(self.with_slot(verifier.verify(&self.registry, &reference)))
                });
            }
        };
        Some(verdict)
    }

    fn vulnerabilities(&self, image: &str) -> Option<Result<ImageVulnerabilities, String>> {
        self.vulnerabilities.as_ref()?;
        Some(self.scan(image))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn concurrent_askers_compute_once() {
        let memo: Memo<usize> = Memo::new(|_| None);
        let computed = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let v = memo.get("image", || {
                        std::thread::sleep(Duration::from_millis(50));
                        computed.fetch_add(1, Ordering::SeqCst) + 10
                    });
                    assert_eq!(v, 10);
                });
            }
        });
        assert_eq!(computed.load(Ordering::SeqCst), 1);
        assert_eq!(memo.get("other", || 3), 3);
    }

    #[test]
    fn expired_answers_are_asked_again_and_lasting_ones_are_not() {
        let memo: Memo<Result<u32, u32>> =
            Memo::new(|v| v.is_err().then_some(Duration::from_millis(30)));
        assert_eq!(memo.get("a", || Err(1)), Err(1));
        assert_eq!(memo.get("a", || Err(2)), Err(1), "not expired yet");
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(memo.get("a", || Ok(3)), Ok(3));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(memo.get("a", || Ok(4)), Ok(3), "a success does not expire");
    }

    #[test]
    fn pinned_references() {
        assert_eq!(
            pinned("ghcr.io/a/b@sha256:00"),
            Some(("ghcr.io/a/b", "sha256:00"))
        );
        assert_eq!(pinned("ghcr.io/a/b:1"), None);
    }
}
