//! The kubelet's effective configuration, computed as the kubelet computes it, with
//! where every value came from:
//!
//! 1. defaults: without `--config`, the kubelet keeps its historical command-line
//!    defaults (anonymous requests allowed, `AlwaysAllow`, read-only port 10255); with
//!    `--config`, the `KubeletConfiguration` v1beta1 defaults (anonymous off, `Webhook`,
//!    read-only port off);
//! 2. the `--config` file;
//! 3. the `--config-dir` drop-ins (`*.conf`, subdirectories included, in the lexical
//!    order of a directory walk), each merged as a JSON merge patch: maps merge key by
//!    key, anything else (lists too) is replaced, and `null` changes nothing (the
//!    kubelet unmarshals the merged JSON over the configuration it had);
//! 4. the command-line flags, which the kubelet parses again over the result so a flag
//!    always wins (feature gates merge key by key).
//!
//! kube-bench reads the first candidate file that exists and the flags, and ignores
//! drop-ins and the change of defaults; each of those gives answers that are not the
//! kubelet's.

use std::collections::BTreeMap;

use palisade_source::{parse_document, split_documents, Limits, Node, NodeKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::flags::{self, Flag};
use crate::snapshot::Files;

/// Where a value of the effective configuration came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum Source {
    /// The kubelet's default: the command-line one (`legacy`, no `--config`) or the
    /// `KubeletConfiguration` one.
    Default { legacy: bool },
    /// The `--config` file.
    File {
        path: String,
        line: u32,
        column: u32,
    },
    /// A `--config-dir` drop-in.
    DropIn {
        path: String,
        line: u32,
        column: u32,
    },
    /// The kubelet's own report of its running configuration, through the API server
    /// (`/api/v1/nodes/NAME/proxy/configz`).
    Configz {
        /// Where it was read: `cluster://CONTEXT/api/v1/nodes/NAME/proxy/configz`.
        path: String,
    },
    /// A command-line flag.
    Flag {
        /// `/proc/PID/cmdline`.
        path: String,
        /// The flag's argument index.
        index: usize,
        written: String,
    },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default { legacy: true } => {
                f.write_str("the kubelet's default without --config")
            }
            Source::Default { legacy: false } => f.write_str("the KubeletConfiguration default"),
            Source::File { path, line, .. } => write!(f, "{path}:{line}"),
            Source::DropIn { path, line, .. } => write!(f, "drop-in {path}:{line}"),
            Source::Flag { path, written, .. } => write!(f, "flag {written} ({path})"),
            Source::Configz { path } => write!(f, "the kubelet's configz ({path})"),
        }
    }
}

/// One value of the effective configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Setting {
    pub value: Value,
    pub source: Source,
}

impl Setting {
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) => Some(*b),
            Value::String(s) => flags::parse_bool(s),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match &self.value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        self.value.as_str()
    }

    /// The value as written in a message: `false`, `"AlwaysAllow"`, `["a","b"]`.
    #[must_use]
    pub fn shown(&self) -> String {
        self.value.to_string()
    }
}

/// How a flag's text becomes a configuration value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int,
    Text,
    /// A Go duration, kept as written (`4h0m0s`).
    Duration,
    /// Comma-separated.
    List,
}

/// A configuration field the checks read: its flag, its type, and its two defaults.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Dotted path in `KubeletConfiguration`: `authentication.anonymous.enabled`.
    pub field: &'static str,
    pub flag: &'static str,
    pub kind: Kind,
    /// The `KubeletConfiguration` v1beta1 default, as JSON; `None`: unset.
    pub default: Option<&'static str>,
    /// The default without `--config`, where it differs.
    pub legacy_default: Option<&'static str>,
}

/// The fields Palisade reads, after the kubelet's `pkg/kubelet/apis/config/v1beta1`
/// defaults and `cmd/kubelet/app/options` legacy defaults.
pub static FIELDS: &[Field] = &[
    field(
        "authentication.anonymous.enabled",
        "anonymous-auth",
        Kind::Bool,
        Some("false"),
        Some("true"),
    ),
    field(
        "authentication.webhook.enabled",
        "authentication-token-webhook",
        Kind::Bool,
        Some("true"),
        Some("false"),
    ),
    field(
        "authentication.webhook.cacheTTL",
        "authentication-token-webhook-cache-ttl",
        Kind::Duration,
        Some("\"2m0s\""),
        None,
    ),
    field(
        "authentication.x509.clientCAFile",
        "client-ca-file",
        Kind::Text,
        None,
        None,
    ),
    field(
        "authorization.mode",
        "authorization-mode",
        Kind::Text,
        Some("\"Webhook\""),
        Some("\"AlwaysAllow\""),
    ),
    field(
        "readOnlyPort",
        "read-only-port",
        Kind::Int,
        Some("0"),
        Some("10255"),
    ),
    field("port", "port", Kind::Int, Some("10250"), None),
    field("address", "address", Kind::Text, Some("\"0.0.0.0\""), None),
    field(
        "streamingConnectionIdleTimeout",
        "streaming-connection-idle-timeout",
        Kind::Duration,
        Some("\"4h0m0s\""),
        None,
    ),
    field(
        "protectKernelDefaults",
        "protect-kernel-defaults",
        Kind::Bool,
        Some("false"),
        None,
    ),
    field(
        "makeIPTablesUtilChains",
        "make-iptables-util-chains",
        Kind::Bool,
        Some("true"),
        None,
    ),
    field("eventRecordQPS", "event-qps", Kind::Int, Some("50"), None),
    field("tlsCertFile", "tls-cert-file", Kind::Text, None, None),
    field(
        "tlsPrivateKeyFile",
        "tls-private-key-file",
        Kind::Text,
        None,
        None,
    ),
    field(
        "tlsCipherSuites",
        "tls-cipher-suites",
        Kind::List,
        None,
        None,
    ),
    field("tlsMinVersion", "tls-min-version", Kind::Text, None, None),
    field(
        "rotateCertificates",
        "rotate-certificates",
        Kind::Bool,
        Some("false"),
        None,
    ),
    field(
        "serverTLSBootstrap",
        "rotate-server-certificates",
        Kind::Bool,
        Some("false"),
        None,
    ),
    field("podPidsLimit", "pod-max-pids", Kind::Int, Some("-1"), None),
    field(
        "seccompDefault",
        "seccomp-default",
        Kind::Bool,
        Some("false"),
        None,
    ),
    field("staticPodPath", "pod-manifest-path", Kind::Text, None, None),
];

#[allow(clippy::too_many_arguments)]
const fn field(
    field: &'static str,
    flag: &'static str,
    kind: Kind,
    default: Option<&'static str>,
    legacy_default: Option<&'static str>,
) -> Field {
    Field {
        field,
        flag,
        kind,
        default,
        legacy_default,
    }
}

/// Configuration fields holding paths, which the kubelet resolves against the directory
/// of the file that sets them.
const PATH_FIELDS: &[&str] = &[
    "authentication.x509.clientCAFile",
    "tlsCertFile",
    "tlsPrivateKeyFile",
    "staticPodPath",
];

/// The kubelet's boolean flags (a boolean flag never takes the next argument).
pub const BOOLEAN_FLAGS: &[&str] = &[
    "anonymous-auth",
    "authentication-token-webhook",
    "protect-kernel-defaults",
    "make-iptables-util-chains",
    "rotate-certificates",
    "rotate-server-certificates",
    "seccomp-default",
    "fail-swap-on",
    "register-node",
    "enable-server",
    "enable-debugging-handlers",
    "cgroups-per-qos",
    "serialize-image-pulls",
    "help",
    "version",
];

/// The feature gate of kubelet serving-certificate rotation, and its default.
pub const ROTATE_SERVER_CERT_GATE: (&str, bool) = ("RotateKubeletServerCertificate", true);

/// Configuration fields that hold credentials (`staticPodURLHeader`: HTTP headers,
/// authorization among them, the kubelet masks in its own logs): shown redacted, and
/// blanked in captures.
pub const SECRET_FIELDS: &[&str] = &["staticPodURLHeader"];

/// What a secret field's value is shown as.
pub const REDACTED: &str = "<redacted>";

/// `text` with the lines of every [`SECRET_FIELDS`] key and the lines indented under it
/// blanked, so a capture holds no credential and line numbers stay the file's.
#[must_use]
pub fn without_secret_fields(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blanking: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start().len();
        let content = line.trim();
        if let Some(depth) = blanking {
            if content.is_empty() || indent > depth {
                out.push_str(if line.ends_with('\n') { "\n" } else { "" });
                continue;
            }
            blanking = None;
        }
        let key = content.trim_start_matches(['"', '{', ' ']);
        if SECRET_FIELDS.iter().any(|f| {
            key.starts_with(f)
                && key[f.len()..]
                    .trim_start_matches('"')
                    .trim_start()
                    .starts_with(':')
        }) {
            blanking = Some(indent);
            out.push_str(if line.ends_with('\n') { "\n" } else { "" });
            continue;
        }
        out.push_str(line);
    }
    out
}

/// The suffix of the drop-in files the kubelet reads from `--config-dir`.
pub const DROP_IN_SUFFIX: &str = ".conf";

/// A kubelet's effective configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EffectiveConfig {
    /// The process's command line, `/proc/PID/cmdline`.
    pub cmdline: String,
    pub flags: Vec<Flag>,
    /// The `--config` file, when given.
    pub config_file: Option<String>,
    /// The drop-ins read, in the order applied.
    pub drop_ins: Vec<String>,
    /// Every value set by a default, the file, a drop-in or a flag, by dotted field.
    pub values: BTreeMap<String, Setting>,
    /// What could not be read, with file and line.
    pub problems: Vec<String>,
    /// Read from the kubelet's configz, which shows the result and not its sources
    /// (no command line, no files).
    #[serde(default)]
    pub configz: bool,
}

impl EffectiveConfig {
    /// The value of a dotted field.
    #[must_use]
    pub fn get(&self, field: &str) -> Option<&Setting> {
        self.values.get(field)
    }

    /// A flag that has no configuration field (`--hostname-override`, `--kubeconfig`).
    #[must_use]
    pub fn flag(&self, name: &str) -> Option<&Flag> {
        flags::last(&self.flags, name)
    }

    /// Whether defaults are the command-line ones (no `--config`).
    #[must_use]
    pub fn legacy(&self) -> bool {
        self.config_file.is_none()
    }

    /// Sets `field` from a whole document's value at `node`, merge-patch style.
    fn merge(
        &mut self,
        prefix: &str,
        node: Node<'_>,
        origin: &dyn Fn(Node<'_>) -> Source,
        dir: &str,
    ) {
        for (key, value) in node.entries() {
            let Some(key) = key.as_str() else { continue };
            if prefix.is_empty() && (key == "apiVersion" || key == "kind") {
                continue;
            }
            let path = if prefix.is_empty() {
                key.to_owned()
            } else {
                format!("{prefix}.{key}")
            };
            if SECRET_FIELDS.contains(&path.as_str()) {
                // Never read into the view: the value is a credential.
                self.remove_under(&path);
                self.values.insert(
                    path,
                    Setting {
                        value: Value::String(REDACTED.to_owned()),
                        source: origin(value),
                    },
                );
                continue;
            }
            if value.kind() == NodeKind::Mapping {
                // A map replaces a value that was no map.
                self.values.remove(&path);
                self.merge(&path, value, origin, dir);
                continue;
            }
            // `null` changes nothing: in the `--config` file the field keeps its default,
            // and a drop-in's merge patch deletes a key the kubelet then never reads
            // (`json.Unmarshal` leaves the field it had).
            if value.is_null() {
                continue;
            }
            self.remove_under(&path);
            let mut json = value.to_json();
            if PATH_FIELDS.contains(&path.as_str()) {
                if let Some(p) = json
                    .as_str()
                    .filter(|p| !p.is_empty() && !p.starts_with('/'))
                {
                    json = Value::String(crate::snapshot::normalize(&format!("{dir}/{p}")));
                }
            }
            self.values.insert(
                path,
                Setting {
                    value: json,
                    source: origin(value),
                },
            );
        }
    }

    fn remove_under(&mut self, path: &str) {
        let prefix = format!("{path}.");
        self.values
            .retain(|k, _| k != path && !k.starts_with(&prefix));
    }

    /// Applies configuration file text (the `--config` file or a drop-in).
    fn apply_file(&mut self, path: &str, text: &str, drop_in: bool) {
        let chunks = split_documents(text);
        let Some(chunk) = chunks.first() else {
            return;
        };
        let doc = match parse_document(&text[chunk.range.clone()], chunk, &Limits::default()) {
            Ok(doc) => doc,
            Err(e) => {
                self.problems.push(format!(
                    "{path}:{}:{}: {}; the kubelet refuses this file",
                    e.line, e.column, e.message
                ));
                return;
            }
        };
        let Some(root) = doc.root() else { return };
        if !root.is_mapping() {
            self.problems.push(format!(
                "{path}:{}:{}: not a KubeletConfiguration (a mapping)",
                root.pos().line,
                root.pos().column
            ));
            return;
        }
        // The kubelet decodes the file by its type: without it, it refuses to start, so
        // such a file cannot be what the running kubelet read.
        let kind = root.get("kind").and_then(|n| n.as_str().map(str::to_owned));
        let api = root
            .get("apiVersion")
            .and_then(|n| n.as_str().map(str::to_owned));
        if kind.as_deref() != Some("KubeletConfiguration")
            || !api.is_some_and(|a| a.starts_with("kubelet.config.k8s.io/"))
        {
            self.problems.push(format!(
                "{path}:{}:{}: no `apiVersion: kubelet.config.k8s.io/v1beta1` and `kind: KubeletConfiguration`; the kubelet refuses such a file, so the running kubelet did not read it and it is not applied",
                root.pos().line,
                root.pos().column
            ));
            return;
        }
        let file = path.to_owned();
        let origin = move |n: Node<'_>| {
            let (line, column) = (n.pos().line, n.pos().column);
            if drop_in {
                Source::DropIn {
                    path: file.clone(),
                    line,
                    column,
                }
            } else {
                Source::File {
                    path: file.clone(),
                    line,
                    column,
                }
            }
        };
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
        self.merge("", root, &origin, &dir);
    }

    fn apply_flags(&mut self) {
        let flags = self.flags.clone();
        for f in &flags {
            let source = || match &f.file {
                Some((path, line)) => Source::File {
                    path: path.clone(),
                    line: *line,
                    column: 1,
                },
                None => Source::Flag {
                    path: self.cmdline.clone(),
                    index: f.index,
                    written: f.written.clone(),
                },
            };
            if f.name == "feature-gates" {
                for pair in f.value.split(',').filter(|p| !p.trim().is_empty()) {
                    let (gate, on) = pair.split_once('=').unwrap_or((pair, ""));
                    let value = flags::parse_bool(on.trim())
                        .map_or_else(|| Value::String(on.trim().to_owned()), Value::Bool);
                    let source = source();
                    self.values.insert(
                        format!("featureGates.{}", gate.trim()),
                        Setting { value, source },
                    );
                }
                continue;
            }
            if f.name == "seccomp-default" {
                // A flag of the kubelet's own (not the configuration's): the kubelet uses
                // the flag OR the configuration's `seccompDefault`, so only `true` changes
                // anything.
                if flags::parse_bool(&f.value) == Some(true) {
                    let source = source();
                    self.values.insert(
                        "seccompDefault".to_owned(),
                        Setting {
                            value: Value::Bool(true),
                            source,
                        },
                    );
                }
                continue;
            }
            let Some(spec) = FIELDS.iter().find(|s| s.flag == f.name) else {
                continue;
            };
            let value = match spec.kind {
                Kind::Bool => flags::parse_bool(&f.value)
                    .map_or_else(|| Value::String(f.value.clone()), Value::Bool),
                Kind::Int => f
                    .value
                    .trim()
                    .parse::<i64>()
                    .map_or_else(|_| Value::String(f.value.clone()), Value::from),
                Kind::Text | Kind::Duration => Value::String(f.value.clone()),
                Kind::List => Value::Array(
                    f.value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| Value::String(s.to_owned()))
                        .collect(),
                ),
            };
            let source = source();
            self.remove_under(spec.field);
            self.values
                .insert(spec.field.to_owned(), Setting { value, source });
        }
    }
}

/// The drop-ins under `dir` in the order of Go's `filepath.WalkDir` (each directory's
/// entries sorted, a subdirectory walked where it sorts), `*.conf` files only.
fn drop_ins(files: &mut dyn Files, dir: &str, depth: usize, out: &mut Vec<String>) {
    if depth > 16 {
        return;
    }
    for name in files.list(dir).unwrap_or_default() {
        let path = format!("{}/{name}", dir.trim_end_matches('/'));
        match files.stat(&path).kind {
            crate::snapshot::FileKind::Dir => drop_ins(files, &path, depth + 1, out),
            crate::snapshot::FileKind::File if name.ends_with(DROP_IN_SUFFIX) => out.push(path),
            _ => {}
        }
    }
}

/// The configuration a kubelet reports at `configz` (read at `path`): every value as
/// the kubelet runs with it, whatever set it.
#[must_use]
pub fn from_configz(path: &str, config: &Value) -> EffectiveConfig {
    fn walk(prefix: &str, value: &Value, path: &str, out: &mut BTreeMap<String, Setting>) {
        if SECRET_FIELDS.contains(&prefix) {
            out.insert(
                prefix.to_owned(),
                Setting {
                    value: Value::String(REDACTED.to_owned()),
                    source: Source::Configz {
                        path: path.to_owned(),
                    },
                },
            );
            return;
        }
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    let field = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&field, v, path, out);
                }
            }
            Value::Null => {}
            leaf => {
                out.insert(
                    prefix.to_owned(),
                    Setting {
                        value: leaf.clone(),
                        source: Source::Configz {
                            path: path.to_owned(),
                        },
                    },
                );
            }
        }
    }
    let mut values = BTreeMap::new();
    walk("", config, path, &mut values);
    EffectiveConfig {
        cmdline: path.to_owned(),
        values,
        configz: true,
        ..EffectiveConfig::default()
    }
}

/// The effective configuration of the kubelet with this pid and command line, its
/// files read through `files`.
pub fn effective(pid: u32, args: &[String], files: &mut dyn Files) -> EffectiveConfig {
    effective_with(pid, flags::parse(args, BOOLEAN_FLAGS), files)
}

/// [`effective`] of flags already read (k3s's embedded kubelet has no command line of
/// its own).
pub fn effective_with(pid: u32, flags: Vec<Flag>, files: &mut dyn Files) -> EffectiveConfig {
    let mut config = EffectiveConfig {
        cmdline: format!("/proc/{pid}/cmdline"),
        config_file: flags::last(&flags, "config")
            .map(|f| f.value.clone())
            .filter(|v| !v.is_empty()),
        flags,
        ..EffectiveConfig::default()
    };
    let legacy = config.legacy();
    for spec in FIELDS {
        let default = if legacy {
            spec.legacy_default.or(spec.default)
        } else {
            spec.default
        };
        if let Some(value) = default.and_then(|d| serde_json::from_str(d).ok()) {
            config.values.insert(
                spec.field.to_owned(),
                Setting {
                    value,
                    source: Source::Default { legacy },
                },
            );
        }
    }
    if let Some(path) = config.config_file.clone() {
        let path = crate::snapshot::normalize(&path);
        match files.read_part(&path, &without_secret_fields) {
            Some(text) => config.apply_file(&path, &text, false),
            None => config.problems.push(format!(
                "{path}: the --config file cannot be read here; the values below are defaults and flags only"
            )),
        }
    }
    if let Some(dir) = config
        .flag("config-dir")
        .map(|f| f.value.clone())
        .filter(|d| !d.is_empty())
    {
        let dir = crate::snapshot::normalize(&dir);
        if files.list(&dir).is_some() {
            let mut found = Vec::new();
            drop_ins(files, &dir, 0, &mut found);
            for path in found {
                if let Some(text) = files.read_part(&path, &without_secret_fields) {
                    config.apply_file(&path, &text, true);
                    config.drop_ins.push(path);
                }
            }
        } else {
            config.problems.push(format!(
                "{dir}: the --config-dir directory cannot be read here"
            ));
        }
    }
    config.apply_flags();
    config
}

/// One fuzz input through [`effective`]: `data` is both the `--config` file and a
/// drop-in, and its first line's words are extra flags. Panics when an invariant breaks
/// (a position outside the text); shared by the fuzz target and the seed replay test.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let lines = u32::try_from(text.bytes().filter(|b| matches!(b, b'\n' | b'\r')).count())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    let mut args: Vec<String> = ["kubelet", "--config=/c.yaml", "--config-dir=/d"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(
        text.lines()
            .next()
            .unwrap_or("")
            .split(' ')
            .take(64)
            .map(str::to_owned),
    );
    let snap = crate::snapshot::Snapshot::with_texts(&[("/c.yaml", &text), ("/d/1.conf", &text)]);
    let config = effective(1, &args, &mut &snap);
    for (field, setting) in &config.values {
        if let Source::File { line, .. } | Source::DropIn { line, .. } = setting.source {
            assert!(
                (1..=lines).contains(&line),
                "{field}: line {line} of {lines}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Snapshot;

    /// What every configuration file starts with.
    const HEADER: &str = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n";

    /// `files`, each configuration file given its type (two lines) unless it has one.
    fn run(args: &str, files: &[(&str, &str)]) -> EffectiveConfig {
        let args: Vec<String> = args.split(' ').map(str::to_owned).collect();
        let typed: Vec<(&str, String)> = files
            .iter()
            .map(|(p, t)| {
                let text = if t.contains("kind:") || t.starts_with("{") {
                    (*t).to_owned()
                } else {
                    format!("{HEADER}{t}")
                };
                (*p, text)
            })
            .collect();
        let typed: Vec<(&str, &str)> = typed.iter().map(|(p, t)| (*p, t.as_str())).collect();
        let snap = Snapshot::with_texts(&typed);
        effective(42, &args, &mut &snap)
    }

    #[test]
    fn defaults_differ_without_a_config_file() {
        let legacy = run("kubelet --kubeconfig=/etc/kubernetes/kubelet.conf", &[]);
        let anon = legacy.get("authentication.anonymous.enabled").unwrap();
        assert_eq!(anon.as_bool(), Some(true));
        assert_eq!(anon.source, Source::Default { legacy: true });
        assert_eq!(legacy.get("readOnlyPort").unwrap().as_i64(), Some(10255));

        let with_file = run(
            "kubelet --config=/var/lib/kubelet/config.yaml",
            &[(
                "/var/lib/kubelet/config.yaml",
                "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n",
            )],
        );
        assert_eq!(
            with_file
                .get("authentication.anonymous.enabled")
                .unwrap()
                .as_bool(),
            Some(false)
        );
        assert_eq!(
            with_file.get("authorization.mode").unwrap().as_str(),
            Some("Webhook")
        );
        assert_eq!(with_file.get("readOnlyPort").unwrap().as_i64(), Some(0));
    }

    #[test]
    fn file_then_drop_ins_in_order_then_flags() {
        let c = run(
            "kubelet --config /etc/k/config.yaml --config-dir=/etc/k/conf.d --feature-gates=RotateKubeletServerCertificate=false --read-only-port=10255",
            &[
                ("/etc/k/config.yaml", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  anonymous:\n    enabled: false\n  x509:\n    clientCAFile: pki/ca.crt\nreadOnlyPort: 0\nfeatureGates:\n  Foo: true\n"),
                ("/etc/k/conf.d/20-late.conf", "authentication:\n  anonymous:\n    enabled: false\n"),
                ("/etc/k/conf.d/10-early.conf", "authentication:\n  anonymous:\n    enabled: true\nprotectKernelDefaults: true\n"),
                ("/etc/k/conf.d/30-ignored.yaml", "protectKernelDefaults: false\n"),
            ],
        );
        assert_eq!(
            c.drop_ins,
            ["/etc/k/conf.d/10-early.conf", "/etc/k/conf.d/20-late.conf"]
        );
        let anon = c.get("authentication.anonymous.enabled").unwrap();
        assert_eq!(anon.as_bool(), Some(false));
        assert_eq!(
            anon.source,
            Source::DropIn {
                path: "/etc/k/conf.d/20-late.conf".into(),
                line: 5,
                column: 14
            }
        );
        assert_eq!(
            c.get("protectKernelDefaults").unwrap().as_bool(),
            Some(true)
        );
        // Relative paths resolve against the file's directory.
        assert_eq!(
            c.get("authentication.x509.clientCAFile").unwrap().as_str(),
            Some("/etc/k/pki/ca.crt")
        );
        let port = c.get("readOnlyPort").unwrap();
        assert_eq!(port.as_i64(), Some(10255));
        assert!(
            matches!(port.source, Source::Flag { index: 5, .. }),
            "{port:?}"
        );
        // Flag feature gates merge with the file's, key by key.
        assert_eq!(c.get("featureGates.Foo").unwrap().as_bool(), Some(true));
        assert_eq!(
            c.get("featureGates.RotateKubeletServerCertificate")
                .unwrap()
                .as_bool(),
            Some(false)
        );
    }

    #[test]
    fn null_changes_nothing_and_broken_files_are_said() {
        let c = run(
            "kubelet --config=/c.yaml --config-dir=/d",
            &[
                (
                    "/c.yaml",
                    "tlsCipherSuites: [A, B]\nstaticPodPath: /etc/kubernetes/manifests\nreadOnlyPort: null\n",
                ),
                ("/d/1.conf", "tlsCipherSuites: null\n"),
                ("/d/2.conf", "readOnlyPort: [\n"),
            ],
        );
        // The kubelet unmarshals the merged JSON over what it had: the file's list stays.
        assert_eq!(
            c.get("tlsCipherSuites").unwrap().value,
            serde_json::json!(["A", "B"])
        );
        // A null in the file leaves the default.
        assert_eq!(
            c.get("readOnlyPort").unwrap().source,
            Source::Default { legacy: false }
        );
        assert_eq!(
            c.get("staticPodPath").unwrap().as_str(),
            Some("/etc/kubernetes/manifests")
        );
        assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
        assert!(c.problems[0].starts_with("/d/2.conf:"), "{:?}", c.problems);
    }

    #[test]
    fn credentials_in_the_configuration_are_never_kept() {
        let text = "staticPodURL: https://pods.example.com/\nstaticPodURLHeader:\n  Authorization:\n  - Bearer hunter2\nreadOnlyPort: 0\n";
        let blanked = without_secret_fields(text);
        assert!(!blanked.contains("hunter2"), "{blanked}");
        assert_eq!(blanked.lines().count(), text.lines().count());
        assert!(blanked.ends_with("readOnlyPort: 0\n"));
        let c = run("kubelet --config=/c.yaml", &[("/c.yaml", text)]);
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.get("readOnlyPort").unwrap().as_i64(), Some(0));
        let z = from_configz(
            "cluster://c/api/v1/nodes/n/proxy/configz",
            &serde_json::json!({"staticPodURLHeader": {"Authorization": ["Bearer hunter2"]}}),
        );
        assert_eq!(
            z.get("staticPodURLHeader").unwrap().as_str(),
            Some(REDACTED)
        );
        assert!(!format!("{z:?}").contains("hunter2"));
    }

    #[test]
    fn a_file_without_its_type_is_not_what_the_kubelet_read() {
        let args: Vec<String> = "kubelet --config=/c.yaml --config-dir=/d"
            .split(' ')
            .map(str::to_owned)
            .collect();
        let snap = Snapshot::with_texts(&[
            ("/c.yaml", "kind: KubeletConfiguration\napiVersion: kubelet.config.k8s.io/v1beta1\nreadOnlyPort: 0\n"),
            ("/d/1.conf", "readOnlyPort: 10255\n"),
        ]);
        let c = effective(1, &args, &mut &snap);
        assert_eq!(c.get("readOnlyPort").unwrap().as_i64(), Some(0));
        assert!(
            c.problems[0].starts_with("/d/1.conf:1:1: no `apiVersion"),
            "{:?}",
            c.problems
        );
    }

    #[test]
    fn the_seccomp_default_flag_can_only_turn_it_on() {
        let on = "kubelet --config=/c.yaml --seccomp-default=false";
        let c = run(on, &[("/c.yaml", "seccompDefault: true\n")]);
        assert_eq!(c.get("seccompDefault").unwrap().as_bool(), Some(true));
        let c = run(
            "kubelet --config=/c.yaml --seccomp-default",
            &[("/c.yaml", "seccompDefault: false\n")],
        );
        let s = c.get("seccompDefault").unwrap();
        assert_eq!(s.as_bool(), Some(true));
        assert!(matches!(s.source, Source::Flag { .. }));
    }

    #[test]
    fn drop_ins_in_subdirectories_are_walked_in_order() {
        let c = run(
            "kubelet --config=/c.yaml --config-dir=/d",
            &[
                ("/c.yaml", "readOnlyPort: 0\n"),
                ("/d/10-a.conf", "readOnlyPort: 1\n"),
                ("/d/20-sub/x.conf", "readOnlyPort: 2\n"),
                ("/d/30-b.conf", "podPidsLimit: 7\n"),
            ],
        );
        assert_eq!(
            c.drop_ins,
            ["/d/10-a.conf", "/d/20-sub/x.conf", "/d/30-b.conf"]
        );
        assert_eq!(c.get("readOnlyPort").unwrap().as_i64(), Some(2));
    }

    #[test]
    fn configz_values_are_the_running_ones() {
        let c = from_configz(
            "cluster://kind/api/v1/nodes/n1/proxy/configz",
            &serde_json::json!({
                "authentication": {"anonymous": {"enabled": true}, "x509": {"clientCAFile": ""}},
                "readOnlyPort": 10255,
                "featureGates": {"RotateKubeletServerCertificate": false},
                "tlsCipherSuites": ["TLS_RSA_WITH_3DES_EDE_CBC_SHA"],
                "staticPodPath": null,
            }),
        );
        assert_eq!(
            c.get("authentication.anonymous.enabled").unwrap().as_bool(),
            Some(true)
        );
        assert_eq!(c.get("readOnlyPort").unwrap().as_i64(), Some(10255));
        assert!(c.get("tlsCipherSuites").unwrap().value.is_array());
        assert!(c.get("staticPodPath").is_none());
        assert!(c.configz && c.config_file.is_none());
    }

    #[test]
    fn missing_config_file_is_a_problem_not_a_guess() {
        let c = run("kubelet --config=/nowhere.yaml", &[]);
        assert!(c.problems[0].contains("cannot be read"), "{:?}", c.problems);
        // Still the KubeletConfiguration defaults: the kubelet started with a file.
        assert_eq!(
            c.get("authorization.mode").unwrap().as_str(),
            Some("Webhook")
        );
    }
}
