//! Framework compliance: every control of a framework, each with one of four statuses
//! and why.
//!
//! A control **fails** when a check mapped to it has a finding; it **passes** only when
//! every check mapped to it ran and judged something (a workload, an API server, a
//! node's kubelet) without a finding. Otherwise it is **not applicable** (the checks said
//! why: a worker node has no API server manifest) or **not evaluated**: no check
//! implements it, the benchmark asks a person to judge it, its checks were not selected,
//! or nothing they judge was scanned. A score counts passed and failed controls only,
//! and is always shown beside the four counts, so a control nobody evaluated is never
//! silently a pass or a failure.
//!
//! ```
//! use palisade_compliance::{evaluate, Status};
//! use palisade_model::{Framework, ScanResult};
//! let report = evaluate(Framework::Cis, &ScanResult::default(), &[], &[]);
//! // Nothing scanned, nothing run: every control is not evaluated.
//! assert!(report.controls.iter().all(|c| c.status == Status::NotEvaluated));
//! assert_eq!(report.counts.score(), None);
//! ```

pub mod catalogue;

use std::collections::{BTreeMap, HashMap, HashSet};

use palisade_model::{Category, CheckMeta, Framework, ScanResult};
use serde::Serialize;

pub use catalogue::{Assessment, Control, Section};

/// The frameworks, in the order reports list them.
pub const FRAMEWORKS: [Framework; 4] = [
    Framework::Cis,
    Framework::Nsa,
    Framework::Mitre,
    Framework::Pss,
];

/// A framework by its key (`cis`, `nsa`, `mitre`, `pss`).
#[must_use]
pub fn framework(key: &str) -> Option<Framework> {
    FRAMEWORKS.into_iter().find(|f| f.key() == key)
}

/// The version of a framework that the catalogue holds.
#[must_use]
pub fn version(framework: Framework) -> &'static str {
    match framework {
        Framework::Cis => "v1.10.0",
        Framework::Nsa => "v1.2 (August 2022)",
        Framework::Mitre => "Containers matrix",
        Framework::Pss => "baseline and restricted",
    }
}

/// Whether a check implements a control of `framework`.
#[must_use]
pub fn maps_to(check: &CheckMeta, framework: Framework) -> bool {
    check.mappings.iter().any(|m| m.framework == framework)
}

/// A control's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Failed,
    Passed,
    NotApplicable,
    NotEvaluated,
}

impl Status {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Failed => "failed",
            Status::Passed => "passed",
            Status::NotApplicable => "not-applicable",
            Status::NotEvaluated => "not-evaluated",
        }
    }
}

/// One control's result.
#[derive(Debug, Clone, Serialize)]
pub struct ControlResult {
    pub id: &'static str,
    pub title: &'static str,
    /// The section (CIS `5.2`, a MITRE tactic, an NSA chapter, a PSS level).
    pub section: &'static str,
    #[serde(serialize_with = "assessment_str")]
    pub assessment: Assessment,
    pub status: Status,
    /// The checks that implement it.
    pub checks: Vec<&'static str>,
    /// Those with findings.
    pub failing_checks: Vec<&'static str>,
    /// Findings of those checks, and the objects they are on.
    pub findings: usize,
    pub failing_objects: usize,
    /// Findings that exceptions or the baseline hide: they do not fail the control.
    pub excepted: usize,
    /// Why a control is not applicable or not evaluated, or what a person must still
    /// judge of a passed manual control.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn assessment_str<S: serde::Serializer>(a: &Assessment, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match a {
        Assessment::Automated => "automated",
        Assessment::Manual => "manual",
    })
}

/// How many controls ended in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub not_applicable: usize,
    pub not_evaluated: usize,
}

impl Counts {
    fn add(&mut self, status: Status) {
        match status {
            Status::Passed => self.passed += 1,
            Status::Failed => self.failed += 1,
            Status::NotApplicable => self.not_applicable += 1,
            Status::NotEvaluated => self.not_evaluated += 1,
        }
    }

    /// Passed controls as a percentage of passed and failed ones; `None` when no control
    /// was decided.
    #[must_use]
    pub fn score(&self) -> Option<f64> {
        let decided = self.passed + self.failed;
        #[allow(clippy::cast_precision_loss)] // control counts are small
        (decided > 0).then(|| self.passed as f64 * 100.0 / decided as f64)
    }
}

/// A framework's controls and their counts.
#[derive(Debug, Clone, Serialize)]
pub struct FrameworkReport {
    #[serde(serialize_with = "framework_key")]
    pub framework: Framework,
    pub name: &'static str,
    pub version: &'static str,
    pub counts: Counts,
    /// Percentage of decided controls that passed.
    pub score: Option<f64>,
    pub sections: Vec<SectionResult>,
    pub controls: Vec<ControlResult>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn framework_key<S: serde::Serializer>(f: &Framework, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(f.key())
}

/// A section's counts.
#[derive(Debug, Clone, Serialize)]
pub struct SectionResult {
    pub id: &'static str,
    pub title: &'static str,
    pub counts: Counts,
    pub score: Option<f64>,
}

/// What the scan held that checks judge, gathered once for every control.
struct Evidence<'r> {
    ran: HashSet<&'static str>,
    findings: HashMap<&'static str, (usize, HashSet<*const palisade_model::ObjectRef>)>,
    excepted: HashMap<&'static str, usize>,
    not_applicable: HashMap<&'static str, &'r str>,
    /// Node checks some scanned node answers.
    node_checks: HashSet<&'static str>,
    any_object: bool,
    any_workload: bool,
    any_rbac: bool,
    /// The kinds of the objects scanned.
    kinds: HashSet<&'r str>,
    /// Control-plane components present (by binary name).
    components: HashSet<&'static str>,
}

/// The control-plane component a check judges, by its id's prefix.
fn component(check: &str) -> Option<&'static str> {
    [
        ("apiserver-", "kube-apiserver"),
        ("controller-manager-", "kube-controller-manager"),
        ("scheduler-", "kube-scheduler"),
        ("etcd-", "etcd"),
    ]
    .into_iter()
    .find(|(prefix, _)| check.starts_with(prefix))
    .map(|(_, binary)| binary)
}

const RBAC_KINDS: [&str; 4] = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

/// Checks that judge particular kinds of object rather than every object of their
/// category, and those kinds.
const KIND_SUBJECTS: &[(&str, &[&str])] = &[
    ("audit-policy-logs-secrets", &["Policy"]),
    ("cluster-version-unsupported", &["ClusterInfo", "Node"]),
    ("kubernetes-version-vulnerable", &["ClusterInfo"]),
];

impl<'r> Evidence<'r> {
    fn gather(result: &'r ScanResult, ran: &[&'static CheckMeta]) -> Evidence<'r> {
        let mut findings: HashMap<&'static str, (usize, HashSet<_>)> = HashMap::new();
        for f in &result.findings {
            let entry = findings.entry(f.check.id).or_default();
            entry.0 += 1;
            entry.1.insert(std::sync::Arc::as_ptr(&f.object));
        }
        let mut excepted: HashMap<&'static str, usize> = HashMap::new();
        for s in &result.suppressed {
            *excepted.entry(s.finding.check.id).or_default() += 1;
        }
        let mut components = HashSet::new();
        let mut node_checks = HashSet::new();
        let (mut any_workload, mut any_rbac) = (false, false);
        let mut kinds = HashSet::new();
        for o in &result.objects {
            kinds.insert(o.identity.kind.as_str());
            any_workload |= o.workload;
            any_rbac |= RBAC_KINDS.contains(&o.identity.kind.as_str());
            if let Some(ids) = &o.checks {
                node_checks.extend(ids.iter().copied());
            }
            if o.workload {
                // Static and mirror pods are named after their component
                // (`kube-apiserver-node1`).
                for binary in [
                    "kube-apiserver",
                    "kube-controller-manager",
                    "kube-scheduler",
                    "etcd",
                ] {
                    if o.identity.name.starts_with(binary) {
                        components.insert(binary);
                    }
                }
            }
        }
        // A finding about a component proves it was there, whatever its name.
        components.extend(findings.keys().filter_map(|id| component(id)));
        Evidence {
            ran: ran.iter().map(|c| c.id).collect(),
            findings,
            excepted,
            not_applicable: result
                .not_applicable
                .iter()
                .map(|n| (n.check.id, n.reason.as_str()))
                .collect(),
            node_checks,
            any_object: !result.objects.is_empty(),
            any_workload,
            any_rbac,
            kinds,
            components,
        }
    }

    /// Whether `check` judged something in this scan, or why it did not.
    fn judged(&self, check: &CheckMeta) -> Result<(), String> {
        if let Some((_, kinds)) = KIND_SUBJECTS.iter().find(|(id, _)| *id == check.id) {
            return if kinds.iter().any(|k| self.kinds.contains(k)) {
                Ok(())
            } else {
                Err(format!("no {} was scanned", kinds.join(" or ")))
            };
        }
        let (judged, missing) = match check.category {
            Category::Node => (
                self.node_checks.contains(check.id),
                "no node was judged (`palisade node`, or `scan --cluster` for the kubelets' \
                 configz)"
                    .to_owned(),
            ),
            Category::ControlPlane => match component(check.id) {
                Some(binary) => (
                    self.components.contains(binary),
                    format!("no {binary} was among the scanned objects"),
                ),
                None => (self.any_object, "nothing was scanned".to_owned()),
            },
            Category::PodSecurity | Category::Workload | Category::Image => {
                (self.any_workload, "no workload was scanned".to_owned())
            }
            Category::Rbac => (self.any_rbac, "no RBAC object was scanned".to_owned()),
            _ => (self.any_object, "nothing was scanned".to_owned()),
        };
        if judged {
            Ok(())
        } else {
            Err(missing)
        }
    }
}

/// A control of the catalogue with its section.
struct Entry {
    control: Control,
    section: &'static str,
}

/// The controls of `framework`, in order, with their sections. The Pod Security
/// Standards' controls are their checks, sectioned by level.
fn entries(framework: Framework, checks: &[&'static CheckMeta]) -> (Vec<Section>, Vec<Entry>) {
    match framework {
        Framework::Cis => {
            let sections = catalogue::CIS_V1_10_SECTIONS.to_vec();
            let entries = catalogue::CIS_V1_10
                .iter()
                .map(|c| Entry {
                    control: *c,
                    section: cis_section(c.id),
                })
                .collect();
            (sections, entries)
        }
        Framework::Nsa => {
            let entries = catalogue::NSA
                .iter()
                .map(|c| Entry {
                    control: *c,
                    section: catalogue::nsa_chapter(c.id),
                })
                .collect();
            (catalogue::NSA_SECTIONS.to_vec(), entries)
        }
        Framework::Mitre => {
            let tactic: HashMap<&str, &'static str> =
                catalogue::MITRE_TACTIC.iter().copied().collect();
            let entries = catalogue::MITRE
                .iter()
                .map(|c| Entry {
                    control: *c,
                    section: tactic.get(c.id).copied().unwrap_or(""),
                })
                .collect();
            (catalogue::MITRE_SECTIONS.to_vec(), entries)
        }
        Framework::Pss => {
            let sections = vec![
                Section {
                    id: "baseline",
                    title: "Baseline",
                },
                Section {
                    id: "restricted",
                    title: "Restricted",
                },
            ];
            let mut entries = Vec::new();
            for c in checks {
                for m in c.mappings.iter().filter(|m| m.framework == Framework::Pss) {
                    entries.push(Entry {
                        control: Control {
                            id: c.id,
                            title: c.title,
                            assessment: Assessment::Automated,
                        },
                        section: m.id,
                    });
                }
            }
            (sections, entries)
        }
    }
}

/// A CIS id's section: `5.2` of `5.2.3`, `2` of `2.1`.
fn cis_section(id: &'static str) -> &'static str {
    id.rsplit_once('.').map_or(id, |(section, _)| section)
}

/// Scores every control of `framework` on `result`. `checks` is every check Palisade
/// has (to know which implement a control even when they did not run); `ran`, the ones
/// this scan ran.
#[must_use]
pub fn evaluate(
    framework: Framework,
    result: &ScanResult,
    checks: &[&'static CheckMeta],
    ran: &[&'static CheckMeta],
) -> FrameworkReport {
    let evidence = Evidence::gather(result, ran);
    let (sections, entries) = entries(framework, checks);
    let mut controls = Vec::with_capacity(entries.len());
    for entry in entries {
        let mapped: Vec<&'static CheckMeta> = if framework == Framework::Pss {
            checks
                .iter()
                .copied()
                .filter(|c| c.id == entry.control.id)
                .collect()
        } else {
            checks
                .iter()
                .copied()
                .filter(|c| {
                    c.mappings
                        .iter()
                        .any(|m| m.framework == framework && m.id == entry.control.id)
                })
                .collect()
        };
        controls.push(judge(&entry, &mapped, &evidence));
    }
    let mut counts = Counts::default();
    let mut by_section: BTreeMap<&str, Counts> = BTreeMap::new();
    for c in &controls {
        counts.add(c.status);
        by_section.entry(c.section).or_default().add(c.status);
    }
    let sections = sections
        .into_iter()
        .filter_map(|s| {
            let counts = *by_section.get(s.id)?;
            Some(SectionResult {
                id: s.id,
                title: s.title,
                counts,
                score: counts.score(),
            })
        })
        .collect();
    FrameworkReport {
        framework,
        name: framework.as_str(),
        version: version(framework),
        counts,
        score: counts.score(),
        sections,
        controls,
    }
}

fn judge(entry: &Entry, mapped: &[&'static CheckMeta], evidence: &Evidence<'_>) -> ControlResult {
    let control = entry.control;
    let mut findings = 0;
    let mut objects = HashSet::new();
    let mut excepted = 0;
    let mut failing_checks = Vec::new();
    for c in mapped {
        if let Some((n, on)) = evidence.findings.get(c.id) {
            failing_checks.push(c.id);
            findings += n;
            objects.extend(on.iter().copied());
        }
        excepted += evidence.excepted.get(c.id).copied().unwrap_or(0);
    }
    let manual = control.assessment == Assessment::Manual;
    let not_run: Vec<&str> = mapped
        .iter()
        .filter(|c| !evidence.ran.contains(c.id))
        .map(|c| c.id)
        .collect();
    let (status, reason) = if mapped.is_empty() {
        let why = if manual {
            "manual: the benchmark asks a person to judge it"
        } else {
            "no Palisade check implements it"
        };
        (Status::NotEvaluated, Some(why.to_owned()))
    } else if findings > 0 {
        (Status::Failed, None)
    } else if !not_run.is_empty() {
        (
            Status::NotEvaluated,
            Some(format!("not run: {}", not_run.join(", "))),
        )
    } else {
        // Every check ran: each judged something, or said why it does not apply.
        let mut unjudged = Vec::new();
        let mut not_applicable = Vec::new();
        for c in mapped {
            if let Err(why) = evidence.judged(c) {
                match evidence.not_applicable.get(c.id) {
                    Some(reason) => not_applicable.push(format!("{}: {reason}", c.id)),
                    None => unjudged.push(why),
                }
            }
        }
        unjudged.dedup();
        if !unjudged.is_empty() {
            (Status::NotEvaluated, Some(unjudged.join("; ")))
        } else if not_applicable.len() == mapped.len() {
            (Status::NotApplicable, Some(not_applicable.join("; ")))
        } else if manual {
            (
                Status::Passed,
                Some("manual: Palisade's checks passed; a person should confirm the rest".into()),
            )
        } else {
            (Status::Passed, None)
        }
    };
    ControlResult {
        id: control.id,
        title: control.title,
        section: entry.section,
        assessment: control.assessment,
        status,
        checks: mapped.iter().map(|c| c.id).collect(),
        failing_checks,
        findings,
        failing_objects: objects.len(),
        excepted,
        reason,
    }
}

#[cfg(test)]
mod tests;
