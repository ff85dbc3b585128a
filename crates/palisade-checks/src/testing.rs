//! Test support: run checks over YAML text and look at what they report.
#![allow(dead_code)] // not every helper is used by every test module

use palisade_engine::{CheckSettings, Findings, ObjectContext, Profile};
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

/// [`run`] at a Pod Security `profile` ("baseline:v1.30") with `settings`.
pub fn run_with(yaml: &str, ids: &[&str], profile: &str, settings: &CheckSettings) -> Vec<Hit> {
    let profile: Profile = profile.parse().expect("profile");
    let checks: Vec<_> = registry()
        .into_iter()
        .filter(|c| ids.is_empty() || ids.contains(&c.meta().id))
        .collect();
    assert!(
        ids.is_empty() || checks.len() == ids.len(),
        "unknown check id among {ids:?}"
    );
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
            };
            let mut out = Findings::default();
            for c in &checks {
                c.run(&ctx, &mut out);
            }
            hits.extend(out.items.into_iter().map(|f| Hit {
                id: f.check.id,
                severity: f.severity,
                line: f.line,
                path: f.path,
                message: f.message,
            }));
        }
    }
    hits
}

/// The ids of `hits`, in order.
pub fn ids(hits: &[Hit]) -> Vec<&'static str> {
    hits.iter().map(|h| h.id).collect()
}
