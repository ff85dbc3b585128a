//! The signature policy file: which images need which signers.
//!
//! ```yaml
//! trustRoot:                       # optional; paths relative to this file
//!   trustedRoot: trusted_root.json
//!   fulcio: [fulcio.pem]
//!   rekor: [rekor.pub]
//! rules:                           # the first rule whose images match applies
//!   - images: ["ghcr.io/acme/**", "docker.io/library/nginx"]
//!     require: any                 # or all: every signer must be satisfied
//!     signers:
//!       - key: keys/cosign.pub     # a file, or inline PEM
//!       - keyless:
//!           identity: release@acme.example     # or identityRegExp
//!           issuerRegExp: https://token\.actions\.githubusercontent\.com
//!         transparencyLog: required            # default: required keyless, optional keyed
//! ```
//!
//! Image patterns match the reference without tag or digest: `*` within a path
//! segment, `**` across segments. Docker Hub names are expanded in references and in
//! patterns not starting with a wildcard (`nginx` is `docker.io/library/nginx`).

use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::evidence::Evidence;
use crate::key::{hex, PublicKey};
use crate::signer::{Matcher, Signer, TlogRequirement};
use crate::trust::TrustRoot;
use crate::verify::{verify, Failure, Rejection, Verified};
use crate::SignatureError;

/// Policy files larger than this are refused.
const MAX_POLICY_BYTES: usize = 4 << 20;

/// Rules in file order, and the trust root the file names.
#[derive(Debug, Clone)]
pub struct Policy {
    pub rules: Vec<Rule>,
    pub trust: Option<TrustRoot>,
}

/// Images and the signers they need.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Position in the file, from 0.
    pub index: usize,
    pub images: Vec<String>,
    patterns: Vec<Regex>,
    pub signers: Vec<Signer>,
    pub require: Require,
}

/// How many of a rule's signers must be satisfied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Require {
    Any,
    All,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPolicy {
    trust_root: Option<RawTrust>,
    rules: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTrust {
    trusted_root: Option<PathBuf>,
    #[serde(default)]
    fulcio: Vec<PathBuf>,
    #[serde(default)]
    rekor: Vec<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    images: Vec<String>,
    signers: Vec<RawSigner>,
    require: Option<Require>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSigner {
    key: Option<String>,
    keyless: Option<RawKeyless>,
    transparency_log: Option<RawTlog>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawTlog {
    Required,
    Optional,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawKeyless {
    identity: Option<String>,
    #[serde(rename = "identityRegExp")]
    identity_regexp: Option<String>,
    issuer: Option<String>,
    #[serde(rename = "issuerRegExp")]
    issuer_regexp: Option<String>,
}

impl Policy {
    /// Reads a policy file: JSON if it ends in `.json`, YAML otherwise.
    ///
    /// # Errors
    /// The file cannot be read, or as [`Policy::parse`].
    pub fn from_file(path: &Path) -> Result<Self, SignatureError> {
        let bytes =
            std::fs::read(path).map_err(|e| SignatureError::Io(path.display().to_string(), e))?;
        let text = String::from_utf8(bytes).map_err(|_| SignatureError::Policy {
            path: path.display().to_string(),
            rule: None,
            message: "not UTF-8".into(),
        })?;
        let json = path.extension().is_some_and(|e| e == "json");
        Self::parse(
            &text,
            json,
            &path.display().to_string(),
            path.parent().unwrap_or(Path::new(".")),
        )
    }

    /// Parses policy text; `source` names it in errors, relative paths are
    /// relative to `base`.
    ///
    /// # Errors
    /// Syntax, unknown fields, bad patterns, unreadable key or trust files: each
    /// naming `source` and the rule index.
    pub fn parse(
        text: &str,
        json: bool,
        source: &str,
        base: &Path,
    ) -> Result<Self, SignatureError> {
        let err = |rule: Option<usize>, message: String| SignatureError::Policy {
            path: source.to_owned(),
            rule,
            message,
        };
        if text.len() > MAX_POLICY_BYTES {
            return Err(err(None, format!("larger than {MAX_POLICY_BYTES} bytes")));
        }
        let value = if json {
            serde_json::from_str(text).map_err(|e| err(None, e.to_string()))?
        } else {
            yaml_to_json(text).map_err(|e| err(None, e))?
        };
        let raw: RawPolicy = serde_json::from_value(value).map_err(|e| err(None, e.to_string()))?;
        let trust = raw
            .trust_root
            .map(|t| {
                let abs = |p: &PathBuf| base.join(p);
                let fulcio: Vec<PathBuf> = t.fulcio.iter().map(abs).collect();
                let rekor: Vec<PathBuf> = t.rekor.iter().map(abs).collect();
                TrustRoot::from_files(
                    t.trusted_root.as_ref().map(abs).as_deref(),
                    &fulcio.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
                    &rekor.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
                )
                .map_err(|e| err(None, format!("trustRoot: {e}")))
            })
            .transpose()?;
        let rules = raw
            .rules
            .into_iter()
            .enumerate()
            .map(|(index, v)| {
                let raw: RawRule =
                    serde_json::from_value(v).map_err(|e| err(Some(index), e.to_string()))?;
                Rule::from_raw(index, raw, base).map_err(|m| err(Some(index), m))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { rules, trust })
    }

    /// The first rule covering `image_ref` (any reference form; tag and digest
    /// are ignored), or `None`: the policy does not cover the image.
    #[must_use]
    pub fn rules_for(&self, image_ref: &str) -> Option<&Rule> {
        let name = image_name(image_ref);
        self.rules.iter().find(|r| r.matches_name(&name))
    }
}

impl Rule {
    /// A rule built in code rather than read from a file.
    ///
    /// # Errors
    /// An image pattern that cannot be compiled.
    pub fn new(
        images: &[&str],
        signers: Vec<Signer>,
        require: Require,
    ) -> Result<Self, SignatureError> {
        let patterns = images
            .iter()
            .map(|p| glob_regex(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(SignatureError::Pattern)?;
        Ok(Self {
            index: 0,
            images: images.iter().map(|s| (*s).to_owned()).collect(),
            patterns,
            signers,
            require,
        })
    }

    fn from_raw(index: usize, raw: RawRule, base: &Path) -> Result<Self, String> {
        if raw.images.is_empty() {
            return Err("no images".into());
        }
        if raw.signers.is_empty() {
            return Err("no signers".into());
        }
        let patterns = raw
            .images
            .iter()
            .map(|p| glob_regex(p))
            .collect::<Result<Vec<_>, _>>()?;
        let signers = raw
            .signers
            .into_iter()
            .enumerate()
            .map(|(i, s)| signer(s, base).map_err(|e| format!("signer {i}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            index,
            images: raw.images,
            patterns,
            signers,
            require: raw.require.unwrap_or(Require::Any),
        })
    }

    /// Whether the rule covers `image_ref`.
    #[must_use]
    pub fn matches(&self, image_ref: &str) -> bool {
        self.matches_name(&image_name(image_ref))
    }

    fn matches_name(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| p.is_match(name))
    }

    /// SHA-256 over the rule's signers, requirement and `trust`: a cache key part
    /// that changes whenever what verification accepts changes.
    #[must_use]
    pub fn fingerprint(&self, trust: &TrustRoot) -> String {
        let mut h = Sha256::new();
        h.update(match self.require {
            Require::Any => "any\n",
            Require::All => "all\n",
        });
        for s in &self.signers {
            h.update(s.canonical().as_bytes());
            h.update(b"\n");
        }
        h.update(trust.fingerprint().as_bytes());
        hex(&h.finalize())
    }

    /// Verifies `image_digest` against the rule's signers: one (`any`) or each
    /// (`all`) must be satisfied by some evidence.
    ///
    /// # Errors
    /// A [`Rejection`] with the failures of the signers not satisfied.
    pub fn verify(
        &self,
        image_digest: &str,
        evidence: &[Evidence],
        trust: &TrustRoot,
    ) -> Result<Vec<Verified>, Rejection> {
        let mut ok = Vec::new();
        let mut failures: Vec<Failure> = Vec::new();
        for s in &self.signers {
            match verify(image_digest, evidence, s, trust) {
                Ok(v) => {
                    ok.push(v);
                    if self.require == Require::Any {
                        return Ok(ok);
                    }
                }
                Err(r) => failures.extend(r.failures),
            }
        }
        if failures.is_empty() && !ok.is_empty() {
            Ok(ok)
        } else {
            Err(Rejection {
                image_digest: image_digest.to_owned(),
                failures,
            })
        }
    }
}

fn signer(raw: RawSigner, base: &Path) -> Result<Signer, String> {
    let s = match (raw.key, raw.keyless) {
        (Some(key), None) => {
            let pem = if key.contains("-----BEGIN") {
                key
            } else {
                let p = base.join(&key);
                std::fs::read_to_string(&p).map_err(|e| format!("key {}: {e}", p.display()))?
            };
            Signer::key(PublicKey::from_pem(&pem).map_err(|e| e.to_string())?)
        }
        (None, Some(k)) => {
            let m = |exact: Option<String>, re: Option<String>, what: &str| match (exact, re) {
                (Some(e), None) => Ok(Matcher::exact(e)),
                (None, Some(r)) => Matcher::regex(&r).map_err(|e| e.to_string()),
                _ => Err(format!(
                    "keyless needs exactly one of {what} and {what}RegExp"
                )),
            };
            Signer::keyless(
                m(k.identity, k.identity_regexp, "identity")?,
                m(k.issuer, k.issuer_regexp, "issuer")?,
            )
        }
        _ => return Err("a signer is exactly one of key and keyless".into()),
    };
    Ok(match raw.transparency_log {
        Some(RawTlog::Required) => s.with_tlog(TlogRequirement::Required),
        Some(RawTlog::Optional) => s.with_tlog(TlogRequirement::Optional),
        None => s,
    })
}

/// The repository of an image reference: tag and digest removed, Docker Hub's
/// implicit registry and `library/` made explicit.
#[must_use]
pub fn image_name(image_ref: &str) -> String {
    let no_digest = image_ref.split('@').next().unwrap_or_default();
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    let name = match no_digest[last_slash..].rfind(':') {
        Some(i) => &no_digest[..last_slash + i],
        None => no_digest,
    };
    expand_docker_hub(name)
}

/// `nginx` is `docker.io/library/nginx`, `acme/app` is `docker.io/acme/app`.
fn expand_docker_hub(name: &str) -> String {
    match name.split_once('/') {
        Some((host, _)) if host.contains(['.', ':']) || host == "localhost" => name.to_owned(),
        Some(_) => format!("docker.io/{name}"),
        None => format!("docker.io/library/{name}"),
    }
}

/// `*` within a segment, `**` across segments; everything else literal. Patterns
/// not starting with a wildcard get Docker Hub's implicit prefixes, as references do.
fn glob_regex(glob: &str) -> Result<Regex, String> {
    if glob.is_empty() {
        return Err("empty image pattern".into());
    }
    let expanded = if glob.starts_with('*') {
        glob.to_owned()
    } else {
        expand_docker_hub(glob)
    };
    let mut re = String::from("^");
    let mut rest = expanded.as_str();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("**") {
            re.push_str(".*");
            rest = r;
        } else if let Some(r) = rest.strip_prefix('*') {
            re.push_str("[^/]*");
            rest = r;
        } else {
            let n = rest.find('*').unwrap_or(rest.len());
            re.push_str(&regex::escape(&rest[..n]));
            rest = &rest[n..];
        }
    }
    re.push('$');
    Regex::new(&re).map_err(|e| format!("image pattern {glob:?}: {e}"))
}

/// YAML to JSON values; aliases are refused (they can expand exponentially).
fn yaml_to_json(text: &str) -> Result<serde_json::Value, String> {
    use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
    use yaml_rust2::scanner::Marker;
    use yaml_rust2::{Yaml, YamlLoader};

    struct NoAliases(bool);
    impl MarkedEventReceiver for NoAliases {
        fn on_event(&mut self, ev: Event, _: Marker) {
            if matches!(ev, Event::Alias(_)) {
                self.0 = true;
            }
        }
    }
    let mut check = NoAliases(false);
    Parser::new_from_str(text)
        .load(&mut check, true)
        .map_err(|e| e.to_string())?;
    if check.0 {
        return Err("YAML aliases are not allowed in policy files".into());
    }
    fn convert(y: &Yaml) -> Result<serde_json::Value, String> {
        use serde_json::Value;
        Ok(match y {
            Yaml::Null => Value::Null,
            Yaml::Boolean(b) => Value::Bool(*b),
            Yaml::Integer(i) => Value::from(*i),
            Yaml::Real(r) => r
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| Value::String(r.clone()), Value::Number),
            Yaml::String(s) => Value::String(s.clone()),
            Yaml::Array(a) => Value::Array(a.iter().map(convert).collect::<Result<_, _>>()?),
            Yaml::Hash(h) => {
                let mut m = serde_json::Map::new();
                for (k, v) in h {
                    let k = match k {
                        Yaml::String(s) => s.clone(),
                        other => return Err(format!("mapping key {other:?} is not a string")),
                    };
                    m.insert(k, convert(v)?);
                }
                Value::Object(m)
            }
            Yaml::Alias(_) | Yaml::BadValue => return Err("unsupported YAML value".into()),
        })
    }
    let docs = YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
    match docs.as_slice() {
        [doc] => convert(doc),
        [] => Err("empty policy".into()),
        _ => Err("more than one YAML document".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names() {
        for (r, want) in [
            ("nginx", "docker.io/library/nginx"),
            ("nginx:1.25", "docker.io/library/nginx"),
            ("acme/app@sha256:abc", "docker.io/acme/app"),
            ("ghcr.io/acme/app:v1@sha256:abc", "ghcr.io/acme/app"),
            ("localhost:5000/app:v1", "localhost:5000/app"),
            ("localhost/app", "localhost/app"),
            ("registry.example:443/a/b/c", "registry.example:443/a/b/c"),
        ] {
            assert_eq!(image_name(r), want, "{r}");
        }
    }

    #[test]
    fn glob_table() {
        for (glob, name, want) in [
            ("ghcr.io/acme/*", "ghcr.io/acme/app", true),
            ("ghcr.io/acme/*", "ghcr.io/acme/team/app", false),
            ("ghcr.io/acme/**", "ghcr.io/acme/team/app", true),
            ("ghcr.io/acme/**", "ghcr.io/acme", false),
            ("ghcr.io/*/app", "ghcr.io/acme/app", true),
            ("ghcr.io/*/app", "ghcr.io/a/b/app", false),
            ("ghcr.io/**/app", "ghcr.io/a/b/app", true),
            ("ghcr.io/acme/app", "ghcr.io/acme/app", true),
            ("ghcr.io/acme/app", "ghcr.io/acme/app2", false),
            ("ghcr.io/acme/app*", "ghcr.io/acme/app2", true),
            ("ghcr.io/acme/app", "ghcrxio/acme/app", false),
            ("**", "anything/at/all", true),
            ("docker.io/library/*", "docker.io/library/nginx", true),
            ("nginx", "docker.io/library/nginx", true),
            ("acme/*", "docker.io/acme/app", true),
            ("*/acme/*", "docker.io/acme/app", true),
            ("*/acme/*", "ghcr.io/acme/app", true),
        ] {
            assert_eq!(
                glob_regex(glob).expect("compiles").is_match(name),
                want,
                "{glob} vs {name}"
            );
        }
        assert!(glob_regex("").is_err());
    }

    #[test]
    fn yaml_aliases_and_non_string_keys_are_refused() {
        assert!(yaml_to_json("a: &x [1]\nb: *x\n").is_err());
        assert!(yaml_to_json("? [1]\n: 2\n").is_err());
        assert!(yaml_to_json("a: [").is_err());
        assert!(yaml_to_json("---\na: 1\n---\nb: 2\n").is_err());
        assert_eq!(
            yaml_to_json("a: [1, x, true, 1.5]").ok(),
            Some(serde_json::json!({"a": [1, "x", true, 1.5]}))
        );
    }
}
