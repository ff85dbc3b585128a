//! Checks of the `node` category: the kubelet's effective configuration (CIS Kubernetes
//! Benchmark v1.10.0 section 4.2) and the permissions and owners of the node's
//! Kubernetes files (sections 1.1 and 4.1), over the [`NodeView`] `palisade-node`
//! builds. `palisade node` runs them; a manifest scan has nothing they read.
//!
//! Every verdict is on the configuration the kubelet really runs with (its `--config`
//! file, drop-ins, flags and the right defaults, each finding naming where the value came
//! from) and on the files the running components name. A file or component that does not
//! exist makes its checks "not applicable", with the reason, never a failure or a pass.

use std::collections::BTreeMap;
use std::sync::Arc;

use palisade_engine::{Check, Findings, ObjectContext};
use palisade_model::{
    fingerprint, CheckMeta, Finding, Location, NotApplicable, ObjectRef, ScanResult, ScannedObject,
};
use palisade_node::{Kubelet, NodeView, Proxy, Role, RoleFile, Setting, Source};

pub mod files;
pub mod kubelet;

pub const CIS_DOC: &str = "https://www.cisecurity.org/benchmark/kubernetes";
pub const KUBELET_DOC: &str =
    "https://kubernetes.io/docs/reference/command-line-tools-reference/kubelet/";
pub const KUBELET_CONFIG_DOC: &str =
    "https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/";
pub const KUBELET_AUTH_DOC: &str =
    "https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/";
pub const NSA_WORKER: &str = "Worker node protection";
pub const NSA_CONTROL_PLANE: &str = "Control plane hardening";

/// A node check: its metadata and what it judges.
pub struct NodeRule {
    pub meta: CheckMeta,
    pub test: NodeTest,
}

/// What a [`NodeRule`] judges.
pub enum NodeTest {
    /// The files of these roles must have at most these permission bits.
    Mode { roles: &'static [Role], max: u32 },
    /// The files of these roles must belong to this user and group.
    Owner {
        roles: &'static [Role],
        user: &'static str,
        group: &'static str,
    },
    /// The kubelet's effective configuration.
    Kubelet(fn(&'static CheckMeta, &Kubelet, &mut Verdicts)),
    /// kube-proxy's settings.
    Proxy(fn(&'static CheckMeta, &Proxy, &mut Verdicts)),
}

impl Check for NodeRule {
    fn meta(&'static self) -> &'static CheckMeta {
        &self.meta
    }

    /// Nothing in a manifest is a node's configuration; `palisade node` runs these.
    fn run(&'static self, _: &ObjectContext<'_>, _: &mut Findings) {}
}

/// Every node check, in CIS order.
pub static RULES: &[&NodeRule] = &[
    &files::APISERVER_MANIFEST_MODE,
    &files::APISERVER_MANIFEST_OWNER,
    &files::CONTROLLER_MANAGER_MANIFEST_MODE,
    &files::CONTROLLER_MANAGER_MANIFEST_OWNER,
    &files::SCHEDULER_MANIFEST_MODE,
    &files::SCHEDULER_MANIFEST_OWNER,
    &files::ETCD_MANIFEST_MODE,
    &files::ETCD_MANIFEST_OWNER,
    &files::CNI_MODE,
    &files::CNI_OWNER,
    &files::ETCD_DATA_MODE,
    &files::ETCD_DATA_OWNER,
    &files::ADMIN_CONF_MODE,
    &files::ADMIN_CONF_OWNER,
    &files::SCHEDULER_CONF_MODE,
    &files::SCHEDULER_CONF_OWNER,
    &files::CONTROLLER_MANAGER_CONF_MODE,
    &files::CONTROLLER_MANAGER_CONF_OWNER,
    &files::PKI_OWNER,
    &files::PKI_CERT_MODE,
    &files::PKI_KEY_MODE,
    &files::KUBELET_SERVICE_MODE,
    &files::KUBELET_SERVICE_OWNER,
    &files::PROXY_KUBECONFIG_MODE,
    &files::PROXY_KUBECONFIG_OWNER,
    &files::KUBELET_KUBECONFIG_MODE,
    &files::KUBELET_KUBECONFIG_OWNER,
    &files::KUBELET_CA_MODE,
    &files::KUBELET_CA_OWNER,
    &files::KUBELET_CONFIG_MODE,
    &files::KUBELET_CONFIG_OWNER,
    &kubelet::ANONYMOUS_AUTH,
    &kubelet::AUTHORIZATION_ALWAYS_ALLOW,
    &kubelet::CLIENT_CA,
    &kubelet::READ_ONLY_PORT,
    &kubelet::STREAMING_TIMEOUT,
    &kubelet::IPTABLES_CHAINS,
    &kubelet::HOSTNAME_OVERRIDE,
    &kubelet::TLS_FILES,
    &kubelet::ROTATE_CERTIFICATES,
    &kubelet::ROTATE_SERVER_CERTIFICATES,
    &kubelet::WEAK_CIPHERS,
    &kubelet::POD_PIDS_LIMIT,
    &kubelet::SECCOMP_DEFAULT,
    &kubelet::PROTECT_KERNEL_DEFAULTS,
    &kubelet::PROXY_METRICS,
];

/// What a kubelet test found.
#[derive(Default)]
pub struct Verdicts {
    pub failures: Vec<Failure>,
    /// Set when the check cannot apply (and why).
    pub not_applicable: Option<String>,
}

/// One failure of a kubelet setting: where the value came from, and what is wrong.
pub struct Failure {
    /// The field, or the flag for flag-only settings.
    pub path: String,
    /// The setting that decided, when one did (else the finding points at the config
    /// file or the command line).
    pub source: Option<Source>,
    pub message: String,
}

impl Verdicts {
    /// Reports `setting` (the effective value of `field`).
    pub fn fail(&mut self, field: &str, setting: Option<&Setting>, message: String) {
        self.failures.push(Failure {
            path: field.to_owned(),
            source: setting.map(|s| s.source.clone()),
            message,
        });
    }
}

/// `value (from SOURCE)`: what a message says of a setting.
#[must_use]
pub fn provenance(setting: &Setting) -> String {
    format!("{} (from {})", setting.shown(), setting.source)
}

/// Where to change a kubelet setting: its config file when it has one, else the flag.
#[must_use]
pub fn where_to_set(k: &Kubelet, field: &str, flag: &str, value: &str) -> String {
    if k.config.configz {
        return format!("set {field}: {value} in the node's kubelet configuration (or --{flag}={value}); `palisade node` on the node shows which file or flag sets it");
    }
    match &k.config.config_file {
        Some(file) => format!("set {field}: {value} in {file} (or --{flag}={value})"),
        None => format!("set --{flag}={value}"),
    }
}

/// The node checks among `checks`, run over `view`, as a scan result: one object for
/// the kubelet's configuration and one per judged file, findings at the file and line
/// (or the command-line flag) that decided, and "not applicable" where a file or
/// component does not exist.
#[must_use]
pub fn evaluate(view: &NodeView, checks: &[&'static CheckMeta]) -> ScanResult {
    let selected: Vec<&'static NodeRule> = RULES
        .iter()
        .copied()
        .filter(|r| checks.iter().any(|c| c.id == r.meta.id))
        .collect();
    let mut out = Assembly::new(view);
    for rule in selected {
        match &rule.test {
            NodeTest::Mode { roles, max } => {
                out.files(rule, roles, |f| files::mode_failure(f, *max));
            }
            NodeTest::Owner { roles, user, group } => {
                out.files(rule, roles, |f| files::owner_failure(view, f, user, group));
            }
            NodeTest::Kubelet(test) => match &view.kubelet {
                None => out.not_applicable(
                    &rule.meta,
                    view.no_kubelet
                        .clone()
                        .unwrap_or_else(|| "no kubelet".into()),
                ),
                Some(k) => {
                    let mut verdicts = Verdicts::default();
                    test(&rule.meta, k, &mut verdicts);
                    let home = k
                        .config
                        .config_file
                        .clone()
                        .unwrap_or_else(|| k.config.cmdline.clone());
                    let object = out.kubelet.clone();
                    out.settings(&rule.meta, &object, &home, verdicts);
                }
            },
            NodeTest::Proxy(test) => match &view.proxy {
                None => out.not_applicable(
                    &rule.meta,
                    view.no_proxy
                        .clone()
                        .unwrap_or_else(|| "no kube-proxy".into()),
                ),
                Some(p) => {
                    let mut verdicts = Verdicts::default();
                    test(&rule.meta, p, &mut verdicts);
                    let object = out.proxy.clone();
                    out.settings(&rule.meta, &object, &p.cmdline.clone(), verdicts);
                }
            },
        }
    }
    out.finish()
}

/// Whether check `id` judges the kubelet's configuration (and so can run on a
/// kubelet's configz, not only on the node).
#[must_use]
pub fn judges_kubelet_config(id: &str) -> bool {
    RULES
        .iter()
        .any(|r| r.meta.id == id && matches!(r.test, NodeTest::Kubelet(_)))
}

/// The kubelet checks among `checks` over the configuration a node's kubelet reports
/// (`configz`, read through the API server at `path`).
#[must_use]
pub fn evaluate_configz(
    node: &str,
    path: &str,
    config: &serde_json::Value,
    checks: &[&'static CheckMeta],
) -> ScanResult {
    let view = NodeView {
        node: node.to_owned(),
        kubelet: Some(Kubelet {
            pid: 0,
            config: palisade_node::kubelet::from_configz(path, config),
        }),
        ..NodeView::default()
    };
    let kubelet_checks: Vec<&'static CheckMeta> = checks
        .iter()
        .copied()
        .filter(|c| judges_kubelet_config(c.id))
        .collect();
    evaluate(&view, &kubelet_checks)
}

/// Builds the scan result: objects shared by their findings.
struct Assembly<'v> {
    view: &'v NodeView,
    node: Arc<ObjectRef>,
    kubelet: Arc<ObjectRef>,
    proxy: Arc<ObjectRef>,
    file_objects: BTreeMap<String, Arc<ObjectRef>>,
    /// Checks per (object, file).
    checks: BTreeMap<(String, String), Vec<&'static str>>,
    objects: BTreeMap<(String, String), Arc<ObjectRef>>,
    result: ScanResult,
}

impl<'v> Assembly<'v> {
    fn new(view: &'v NodeView) -> Self {
        let object = |kind: &str, name: &str| {
            Arc::new(ObjectRef {
                api_version: "node.palisade.dev/v1".into(),
                kind: kind.into(),
                namespace: None,
                name: name.into(),
            })
        };
        Assembly {
            view,
            node: object("Node", &view.node),
            kubelet: Arc::new(ObjectRef {
                api_version: "kubelet.config.k8s.io/v1beta1".into(),
                kind: "KubeletConfiguration".into(),
                namespace: None,
                name: view.node.clone(),
            }),
            proxy: Arc::new(ObjectRef {
                api_version: "kubeproxy.config.k8s.io/v1alpha1".into(),
                kind: "KubeProxyConfiguration".into(),
                namespace: None,
                name: view.node.clone(),
            }),
            file_objects: BTreeMap::new(),
            checks: BTreeMap::new(),
            objects: BTreeMap::new(),
            result: ScanResult::default(),
        }
    }

    fn not_applicable(&mut self, meta: &'static CheckMeta, reason: String) {
        self.result.not_applicable.push(NotApplicable {
            check: meta,
            object: self.node.clone(),
            reason,
        });
    }

    fn note(&mut self, object: &Arc<ObjectRef>, file: &str, check: &'static str) {
        let key = (object.to_string(), file.to_owned());
        self.objects
            .entry(key.clone())
            .or_insert_with(|| object.clone());
        let checks = self.checks.entry(key).or_default();
        if !checks.contains(&check) {
            checks.push(check);
        }
    }

    fn files(
        &mut self,
        rule: &'static NodeRule,
        roles: &[Role],
        failure: impl Fn(&RoleFile) -> Option<String>,
    ) {
        let judged: Vec<&RoleFile> = self
            .view
            .files
            .iter()
            .filter(|f| roles.contains(&f.role) && f.fact.exists())
            .collect();
        if judged.is_empty() {
            let mut reasons: Vec<String> = Vec::new();
            for role in roles {
                if let Some(why) = self.view.absent.get(role) {
                    if !reasons.iter().any(|r| r.ends_with(why.as_str())) {
                        reasons.push(format!("{}: {why}", role.noun()));
                    }
                }
            }
            let reason = if reasons.is_empty() {
                format!(
                    "no {} on this node",
                    roles.first().map_or("file", |r| r.noun())
                )
            } else {
                reasons.join("; ")
            };
            self.not_applicable(&rule.meta, reason);
            return;
        }
        for f in judged {
            let object = self
                .file_objects
                .entry(f.path.clone())
                .or_insert_with(|| {
                    Arc::new(ObjectRef {
                        api_version: "node.palisade.dev/v1".into(),
                        kind: "File".into(),
                        namespace: None,
                        name: f.path.clone(),
                    })
                })
                .clone();
            self.note(&object, &f.path, rule.meta.id);
            if let Some(message) = failure(f) {
                self.push(
                    &rule.meta,
                    &object,
                    Location {
                        file: Arc::from(f.path.as_str()),
                        document: 0,
                        line: 0,
                        column: 0,
                    },
                    String::new(),
                    format!(
                        "{} ({}, found by {}): {message}",
                        f.path,
                        f.role.noun(),
                        f.found_by
                    ),
                );
            }
        }
    }

    /// The verdicts of a check on a component's settings (`home`: where a default is
    /// set, its configuration file or command line).
    fn settings(
        &mut self,
        meta: &'static CheckMeta,
        object: &Arc<ObjectRef>,
        home: &str,
        verdicts: Verdicts,
    ) {
        if let Some(reason) = verdicts.not_applicable {
            self.not_applicable(meta, reason);
            return;
        }
        let object = object.clone();
        self.note(&object, home, meta.id);
        for f in verdicts.failures {
            let location = match &f.source {
                Some(
                    Source::File { path, line, column } | Source::DropIn { path, line, column },
                ) => Location {
                    file: Arc::from(path.as_str()),
                    document: 0,
                    line: *line,
                    column: *column,
                },
                Some(Source::Configz { path }) => Location {
                    file: Arc::from(path.as_str()),
                    document: 0,
                    line: 0,
                    column: 0,
                },
                // A flag: the command line, "line" 1 and the argument's index as column.
                Some(Source::Flag { path, index, .. }) => Location {
                    file: Arc::from(path.as_str()),
                    document: 0,
                    line: 1,
                    column: u32::try_from(*index).unwrap_or(u32::MAX),
                },
                Some(Source::Default { .. }) | None => Location {
                    file: Arc::from(home),
                    document: 0,
                    line: 0,
                    column: 0,
                },
            };
            let file = location.file.to_string();
            self.note(&object, &file, meta.id);
            self.push(meta, &object, location, f.path, f.message);
        }
    }

    fn push(
        &mut self,
        meta: &'static CheckMeta,
        object: &Arc<ObjectRef>,
        location: Location,
        path: String,
        message: String,
    ) {
        self.result.findings.push(Finding {
            check: meta,
            severity: meta.severity,
            message: message.into(),
            object: object.clone(),
            fingerprint: fingerprint(meta.id, &location.file, object, &path),
            location,
            path,
            pss: None,
            container: None,
        });
    }

    fn finish(mut self) -> ScanResult {
        for ((_, file), object) in &self.objects {
            let checks = &self.checks[&(object.to_string(), file.clone())];
            self.result.objects.push(ScannedObject {
                identity: object.clone(),
                file: Arc::from(file.as_str()),
                document: 0,
                workload: true,
                checks: Some(Arc::from(checks.as_slice())),
            });
        }
        self.result
            .findings
            .sort_by(|a, b| (&a.location, a.check.id).cmp(&(&b.location, b.check.id)));
        self.result
    }
}

#[cfg(test)]
mod tests;
