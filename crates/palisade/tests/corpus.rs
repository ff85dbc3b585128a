//! Robustness on real third-party manifests: every object of `../shared/corpus` loads,
//! with no error and no panic. The object count is checked against an independent YAML
//! parser (yaml-rust2), so a silently dropped document fails the test.

use std::path::Path;
use std::process::Command;

use yaml_rust2::parser::{Event, EventReceiver, Parser};

/// A minimal tree that, unlike `YamlLoader`, accepts duplicate keys (the last wins, as
/// Kubernetes decodes them). Aliases are not needed to count objects.
enum V {
    /// Pairs; a key waiting for its value has `None`.
    Map(Vec<(V, Option<V>)>),
    Seq(Vec<V>),
    Str(String),
}

#[derive(Default)]
struct Loader {
    docs: Vec<V>,
    stack: Vec<V>,
}

impl Loader {
    fn push(&mut self, v: V) {
        match self.stack.last_mut() {
            Some(V::Seq(items)) => items.push(v),
            Some(V::Map(pairs)) => match pairs.last_mut() {
                Some((_, slot @ None)) => *slot = Some(v),
                _ => pairs.push((v, None)),
            },
            _ => self.docs.push(v),
        }
    }
}

impl EventReceiver for Loader {
    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Scalar(s, ..) => self.push(V::Str(s)),
            Event::Alias(_) => self.push(V::Str(String::new())),
            Event::SequenceStart(..) => self.stack.push(V::Seq(Vec::new())),
            Event::MappingStart(..) => self.stack.push(V::Map(Vec::new())),
            Event::SequenceEnd | Event::MappingEnd => {
                let done = self.stack.pop().unwrap();
                self.push(done);
            }
            _ => {}
        }
    }
}

fn get<'a>(pairs: &'a [(V, Option<V>)], key: &str) -> Option<&'a V> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| matches!(k, V::Str(s) if s == key))
        .and_then(|(_, v)| v.as_ref())
}

fn count_objects(doc: &V) -> usize {
    let V::Map(pairs) = doc else { return 0 };
    let Some(V::Str(kind)) = get(pairs, "kind") else {
        return 0;
    };
    if kind.ends_with("List") {
        if let Some(V::Seq(items)) = get(pairs, "items") {
            return items.iter().map(count_objects).sum();
        }
    }
    1
}

#[test]
fn the_whole_corpus_loads_without_errors() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if !corpus.is_dir() {
        skipped_suite("the real-world corpus suite", &corpus);
        return;
    }
    let mut expected = 0usize;
    for entry in walkdir::WalkDir::new(&corpus) {
        let entry = entry.unwrap();
        let ext = entry.path().extension().and_then(|e| e.to_str());
        if !matches!(ext, Some("yaml" | "yml" | "json")) {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let mut loader = Loader::default();
        Parser::new_from_str(&text)
            .load(&mut loader, true)
            .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        expected += loader.docs.iter().map(count_objects).sum::<usize>();
    }
    assert!(expected > 1000, "only {expected} objects in the corpus?");

    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["scan", "--format", "json", "--fail-on", "none"])
        .arg(&corpus)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["errors"],
        serde_json::json!([]),
        "load errors on the corpus"
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(v["summary"]["objects"].as_u64().unwrap() as usize, expected);
    // Every workload kind in the corpus is found by structure and evaluated.
    let kinds: std::collections::BTreeSet<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["object"]["kind"].as_str())
        .collect();
    for kind in ["Deployment", "DaemonSet", "StatefulSet", "Job"] {
        assert!(kinds.contains(kind), "no findings on any {kind}: {kinds:?}");
    }
}

/// Says on the real stderr, which the test harness does not capture, that a suite
/// depending on `../shared` did not run, so a plain `cargo test` shows it.
fn skipped_suite(suite: &str, missing: &Path) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {suite} did not run: {} is absent (it lives in ../shared beside the project)",
        missing.display()
    );
}
