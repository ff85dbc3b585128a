//! `duplicate-key`: a key given twice in one mapping.

use palisade_engine::{Check, Findings, ObjectContext};
use palisade_model::{Category, CheckMeta, Severity};

pub struct DuplicateKey;

pub static CHECK: DuplicateKey = DuplicateKey;

static META: CheckMeta = CheckMeta {
    id: "duplicate-key",
    title: "Duplicate key",
    severity: Severity::Medium,
    category: Category::Input,
    description: "A mapping gives the same key twice (e.g. two `privileged:` lines in one securityContext).",
    rationale: "Kubernetes decodes the object with the last value winning and says nothing; a reviewer reading the first value sees a different object from the one the cluster runs. It is also how a dangerous setting is hidden in plain sight.",
    remediation: "Delete one of the two keys, keeping the value you mean.",
    references: &["https://yaml.org/spec/1.2.2/#mapping", "https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation"],
    mappings: &[palisade_model::Mapping { framework: palisade_model::Framework::Mitre, id: "T1610" }],
    peers: &[],
    peer_notes: "Peers either refuse the whole file (losing every other object in it) or read the first value, which is not what the cluster runs; Palisade evaluates the object as Kubernetes decodes it and reports the repeat.",
    source: file!(),
};

impl Check for DuplicateKey {
    fn meta(&'static self) -> &'static CheckMeta {
        &META
    }

    fn run(&'static self, ctx: &ObjectContext<'_>, out: &mut Findings) {
        for d in &ctx.duplicates {
            out.report_at(
                &META,
                d.pos,
                ctx.object.path(
                    &ctx.object
                        .root
                        .path_to_key(d.first)
                        .unwrap_or_else(|| d.key.clone()),
                ),
                format!(
                    "key {:?} is given twice (first at line {}); Kubernetes uses this last value",
                    d.key, d.first.line
                ),
            );
        }
    }
}
