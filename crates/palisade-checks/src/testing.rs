//! Test support: run checks over YAML text and look at what they report.
#![allow(dead_code)] // not every helper is used by every test module

use palisade_engine::{Check, CheckSettings, Findings, Memo, ObjectContext, Profile, RawFinding};
use palisade_inventory::{find_pod_specs, objects_in};
use palisade_model::Severity;
use palisade_source::{parse_document, split_documents, Limits};

use crate::registry;

/// One reported finding, flattened for assertions.
#[derive(Debug, Clone)]
pub struct Hit {
    pub id: &'static str,
    pub severity: Severity,
    pub line: u32,
    pub path: String,
    pub message: String,
}

/// Findings of the checks with these ids (all checks when `ids` is empty) on `yaml`,
/// at the default profile (restricted, latest) and default settings.
pub fn run(yaml: &str, ids: &[&str]) -> Vec<Hit> {
    run_with(yaml, ids, "restricted", &CheckSettings::default())
}

/// [`run`] at the `baseline` profile, where catalogue checks that overlap a restricted
/// Pod Security check report.
pub fn run_baseline(yaml: &str, ids: &[&str]) -> Vec<Hit> {
    run_with(yaml, ids, "baseline", &CheckSettings::default())
}

/// A Pod named `p` whose spec is `spec` (indented YAML lines, newline-terminated).
pub fn pod(spec: &str) -> String {
    format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n{spec}")
}

/// [`run`] at a Pod Security `profile` ("baseline:v1.30") with `settings`.
pub fn run_with(yaml: &str, ids: &[&str], profile: &str, settings: &CheckSettings) -> Vec<Hit> {
    let checks: Vec<_> = registry()
        .into_iter()
        .filter(|c| ids.is_empty() || ids.contains(&c.meta().id))
        .collect();
    assert!(
        ids.is_empty() || checks.len() == ids.len(),
        "unknown check id among {ids:?}"
    );
    let profile: Profile = profile.parse().expect("profile");
    raw_findings(yaml, &checks, profile, settings)
        .into_iter()
        .map(|f| Hit {
            id: f.check.id,
            severity: f.severity,
            line: f.line,
            path: f.path,
            message: f.message.to_string(),
        })
        .collect()
}

/// What `checks` report on every object of `yaml`, unprocessed.
pub fn raw_findings(
    yaml: &str,
    checks: &[&'static dyn Check],
    profile: Profile,
    settings: &CheckSettings,
) -> Vec<RawFinding> {
    let mut hits = Vec::new();
    for chunk in split_documents(yaml) {
        let doc = parse_document(&yaml[chunk.range.clone()], &chunk, &Limits::default())
            .expect("test YAML parses");
        let (objects, problems) = objects_in(&doc);
        assert!(problems.is_empty(), "{problems:?}");
        for object in objects {
            let pods = find_pod_specs(&object);
            let ctx = ObjectContext {
                object,
                pods,
                profile,
                duplicates: doc.duplicates.clone(),
                settings,
                memo: Memo::default(),
            };
            let mut out = Findings::default();
            for c in checks {
                c.run(&ctx, &mut out);
            }
            hits.extend(out.items);
        }
    }
    hits
}

/// Where each hit is and how bad: (line, path, severity).
pub fn placed(hits: &[Hit]) -> Vec<(u32, &str, Severity)> {
    hits.iter()
        .map(|h| (h.line, h.path.as_str(), h.severity))
        .collect()
}

/// The ids of `hits`, in order.
pub fn ids(hits: &[Hit]) -> Vec<&'static str> {
    hits.iter().map(|h| h.id).collect()
}

/// A finding of an analysis, with the gathered object (in input order) it is on.
#[derive(Debug, Clone)]
pub struct AnalysisHit {
    pub id: &'static str,
    pub severity: Severity,
    pub line: u32,
    pub path: String,
    pub message: String,
    pub object: usize,
}

/// Runs `analysis` as the scan does over `yaml` (named `file`), with the checks `ids`
/// active (all of the analysis' when empty); findings sorted by line and id.
pub fn run_analysis(
    analysis: &dyn palisade_engine::Analysis,
    file: &str,
    yaml: &str,
    ids: &[&'static str],
) -> Vec<AnalysisHit> {
    let file: std::sync::Arc<str> = std::sync::Arc::from(file);
    let (items, errors) =
        palisade_inventory::map_objects_in_text(&file, yaml, &Limits::default(), &|at| {
            analysis.gather(at)
        });
    assert!(errors.is_empty(), "{errors:?}");
    for id in ids {
        assert!(
            registry().iter().any(|c| c.meta().id == *id),
            "unknown check {id}"
        );
    }
    let settings = CheckSettings {
        allowed_registries: Vec::new(),
        active: (!ids.is_empty()).then(|| ids.iter().copied().collect()),
        images: None,
    };
    let mut hits: Vec<AnalysisHit> = analysis
        .report(items, &settings)
        .into_iter()
        .map(|(object, f)| AnalysisHit {
            id: f.check.id,
            severity: f.severity,
            line: f.line,
            path: f.path,
            message: f.message.to_string(),
            object,
        })
        .collect();
    hits.sort_by_key(|h| (h.line, h.id));
    hits
}
