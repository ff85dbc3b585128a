//! Container image references: `[registry[:port]/]path[:tag][@digest]`, parsed as the
//! container runtimes do (distribution's reference grammar) and normalised to Docker Hub's
//! defaults.

use palisade_engine::ObjectContext;
use palisade_inventory::ContainerView;
use palisade_source::Node;

/// The registry images written without one come from.
pub const DOCKER_HUB: &str = "docker.io";

/// A parsed image reference. Borrowed parts are as written; `registry()` and `name()`
/// give the normalised forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// The registry host as written (`ghcr.io`, `localhost:5000`), `None` when omitted.
    pub written_registry: Option<&'a str>,
    /// The repository path as written, without registry, tag or digest.
    pub path: &'a str,
    pub tag: Option<&'a str>,
    /// The digest after `@` (`sha256:...`).
    pub digest: Option<&'a str>,
}

/// Images a check cannot judge: empty, or still a template (`{{ .Values.image }}`,
/// `${IMAGE}`, `$IMAGE`, `$(TAG)`) that a later tool fills in; `$` is never part of a
/// valid reference.
#[must_use]
pub fn is_unresolved(image: &str) -> bool {
    image.trim().is_empty() || image.contains("{{") || image.contains('$')
}

impl<'a> ImageRef<'a> {
    /// Parses `image`; `None` for images [`is_unresolved`] skips.
    #[must_use]
    pub fn parse(image: &'a str) -> Option<Self> {
        if is_unresolved(image) {
            return None;
        }
        let image = image.trim();
        let (name, digest) = match image.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (image, None),
        };
        let (written_registry, rest) = match name.split_once('/') {
            Some((first, rest)) if is_registry(first) => (Some(first), rest),
            _ => (None, name),
        };
        // The tag follows the last `:` after the last `/`; a registry port is already split off.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (path, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        Some(ImageRef {
            written_registry,
            path,
            tag,
            digest,
        })
    }

    /// The registry host, `docker.io` when omitted (and for the legacy `index.docker.io`).
    #[must_use]
    pub fn registry(&self) -> &'a str {
        match self.written_registry {
            None | Some("index.docker.io") => DOCKER_HUB,
            Some(r) => r,
        }
    }

    /// `registry/path`, with Docker Hub's `library/` for single-component names
    /// (`nginx` is `docker.io/library/nginx`).
    #[must_use]
    pub fn name(&self) -> String {
        let registry = self.registry();
        if registry == DOCKER_HUB && !self.path.contains('/') {
            format!("{registry}/library/{}", self.path)
        } else {
            format!("{registry}/{}", self.path)
        }
    }

    /// Pinned by a well-formed content digest (`sha256:` and 64 hex digits, or sha384/512).
    /// A tag beside the digest is ignored by the runtime, so the digest decides.
    #[must_use]
    pub fn is_pinned(&self) -> bool {
        self.digest.is_some_and(is_valid_digest)
    }

    /// No tag (the runtime pulls `latest`) or the tag `latest`, and no digest (with a
    /// digest the runtime ignores the tag).
    #[must_use]
    pub fn is_latest(&self) -> bool {
        self.digest.is_none() && self.tag.is_none_or(|t| t == "latest")
    }

    /// Whether `entry` of an allowlist admits this image: a registry host (`ghcr.io`,
    /// `registry.example.com:5000`) matches that registry; an entry with a `/`
    /// (`ghcr.io/acme/`) matches the normalised `registry/path` by path prefix.
    #[must_use]
    pub fn allowed_by(&self, entry: &str) -> bool {
        let entry = entry.trim();
        if entry.is_empty() {
            return false;
        }
        let Some((host, prefix)) = entry.split_once('/') else {
            return normalise_host(entry).eq_ignore_ascii_case(self.registry());
        };
        if !normalise_host(host).eq_ignore_ascii_case(self.registry()) {
            return false;
        }
        let name = self.name();
        let path = &name[self.registry().len() + 1..];
        let prefix = prefix.trim_end_matches('/');
        prefix.is_empty()
            || path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

fn normalise_host(host: &str) -> &str {
    if host.eq_ignore_ascii_case("index.docker.io") {
        DOCKER_HUB
    } else {
        host
    }
}

/// The first path component names a registry when it has a `.` or a `:` (a port), is
/// `localhost`, or has upper-case letters (which repository paths cannot have), as in
/// distribution's `splitDockerDomain`.
fn is_registry(first: &str) -> bool {
    first.contains(['.', ':'])
        || first == "localhost"
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

fn is_valid_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let len = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == len
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// One container's image, parsed, with the `image` value node.
pub struct ContainerImage<'d> {
    pub container: ContainerView<'d>,
    pub node: Node<'d>,
    pub image: ImageRef<'d>,
}

/// The image a container of a Pod object actually runs, by digest, from its status
/// (`imageID`: `docker.io/library/nginx@sha256:…`, or `docker-pullable://…` from
/// dockershim); `None` for objects without status or a status without a digest.
#[must_use]
pub fn running_image(ctx: &ObjectContext<'_>, container: &str) -> Option<String> {
    let status = ctx.object.root.get_present("status")?;
    for list in [
        "containerStatuses",
        "initContainerStatuses",
        "ephemeralContainerStatuses",
    ] {
        let Some(statuses) = status.get_present(list) else {
            continue;
        };
        for s in statuses.items() {
            if s.get("name").and_then(|n| n.as_str()) != Some(container) {
                continue;
            }
            let id = s.get("imageID").and_then(|n| n.as_str())?;
            let id = id.strip_prefix("docker-pullable://").unwrap_or(id);
            let (name, digest) = id.split_once('@')?;
            return (!name.is_empty() && is_valid_digest(digest)).then(|| id.to_owned());
        }
    }
    None
}

/// Each judged container image with the reference to ask registries about: the digest
/// it runs when the object's status says so, else the image as written.
pub fn images_to_ask<'d>(ctx: &ObjectContext<'d>) -> Vec<(ContainerImage<'d>, String)> {
    container_images(ctx)
        .into_iter()
        .map(|ci| {
            let image = running_image(ctx, ci.container.name)
                .unwrap_or_else(|| ci.node.as_str().unwrap_or_default().trim().to_owned());
            (ci, image)
        })
        .collect()
}

/// Every container image (init, regular, ephemeral) in the object that can be judged:
/// missing, empty and templated images are skipped.
pub fn container_images<'d>(ctx: &ObjectContext<'d>) -> Vec<ContainerImage<'d>> {
    let mut out = Vec::new();
    for pod in &ctx.pods {
        for container in pod.containers() {
            let Some(node) = container.node.get_present("image") else {
                continue;
            };
            let Some(image) = node.as_str().and_then(ImageRef::parse) else {
                continue;
            };
            out.push(ContainerImage {
                container: container.clone(),
                node,
                image,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(image: &str) -> (String, Option<&str>, Option<&str>) {
        let r = ImageRef::parse(image).unwrap();
        (r.name(), r.tag, r.digest)
    }

    #[test]
    fn normalises_docker_hub() {
        assert_eq!(
            parts("nginx"),
            ("docker.io/library/nginx".into(), None, None)
        );
        assert_eq!(
            parts("nginx:1.27"),
            ("docker.io/library/nginx".into(), Some("1.27"), None)
        );
        assert_eq!(parts("bitnami/redis:7").0, "docker.io/bitnami/redis");
        assert_eq!(parts("docker.io/nginx").0, "docker.io/library/nginx");
        assert_eq!(
            parts("index.docker.io/library/nginx").0,
            "docker.io/library/nginx"
        );
    }

    #[test]
    fn registry_detection_and_ports() {
        let r = ImageRef::parse("registry.example.com:5000/team/app:v2").unwrap();
        assert_eq!(r.registry(), "registry.example.com:5000");
        assert_eq!((r.path, r.tag), ("team/app", Some("v2")));
        // A port without a tag: the `:` is before the last `/`.
        let r = ImageRef::parse("localhost:5000/app").unwrap();
        assert_eq!(
            (r.registry(), r.path, r.tag),
            ("localhost:5000", "app", None)
        );
        assert_eq!(
            ImageRef::parse("localhost/app").unwrap().registry(),
            "localhost"
        );
        // `library` and `team` have no dot, colon or upper case: they are paths.
        assert_eq!(ImageRef::parse("team/app").unwrap().registry(), "docker.io");
        assert_eq!(
            ImageRef::parse("MyRegistry/app").unwrap().registry(),
            "MyRegistry"
        );
    }

    #[test]
    fn digests_and_tags() {
        let hex = "a".repeat(64);
        let image = format!("ghcr.io/acme/app:1.0@sha256:{hex}");
        let r = ImageRef::parse(&image).unwrap();
        assert_eq!(
            (r.tag, r.is_pinned(), r.is_latest()),
            (Some("1.0"), true, false)
        );
        let image = format!("ghcr.io/acme/app@sha256:{hex}");
        let r = ImageRef::parse(&image).unwrap();
        assert!(r.is_pinned() && r.tag.is_none());
        assert!(!ImageRef::parse("app@sha256:abc").unwrap().is_pinned());
        assert!(!ImageRef::parse(&format!("app@md5:{hex}"))
            .unwrap()
            .is_pinned());
        assert!(ImageRef::parse("app:latest").unwrap().is_latest());
        assert!(!ImageRef::parse("app:latest-alpine").unwrap().is_latest());
    }

    #[test]
    fn unresolved_images_are_skipped() {
        for image in [
            "",
            "  ",
            "{{ .Values.image }}",
            "${IMAGE}",
            "$VLLM_IMAGE",
            "repo/app:$(TAG)",
            "repo/app:${TAG}",
        ] {
            assert!(ImageRef::parse(image).is_none(), "{image}");
        }
    }

    #[test]
    fn allowlist_entries() {
        let allowed = |image: &str, entry: &str| ImageRef::parse(image).unwrap().allowed_by(entry);
        assert!(allowed("ghcr.io/acme/app:1", "ghcr.io"));
        assert!(allowed("GHCR.io/acme/app:1", "ghcr.io"));
        assert!(!allowed("ghcr.io.evil.com/acme/app", "ghcr.io"));
        assert!(allowed("ghcr.io/acme/app:1", "ghcr.io/acme/"));
        assert!(allowed("ghcr.io/acme/app:1", "ghcr.io/acme"));
        assert!(!allowed("ghcr.io/acme-evil/app:1", "ghcr.io/acme/"));
        assert!(!allowed("ghcr.io/other/app:1", "ghcr.io/acme/"));
        assert!(allowed("nginx", "docker.io"));
        assert!(allowed("nginx", "docker.io/library/"));
        assert!(allowed("index.docker.io/nginx", "docker.io"));
        assert!(!allowed("bitnami/redis", "docker.io/library/"));
        assert!(allowed(
            "registry.example.com:5000/app",
            "registry.example.com:5000"
        ));
        assert!(!allowed(
            "registry.example.com:5001/app",
            "registry.example.com:5000"
        ));
        assert!(!allowed(
            "registry.example.com/app",
            "registry.example.com:5000"
        ));
    }
}
