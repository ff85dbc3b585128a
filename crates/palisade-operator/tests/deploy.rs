//! `deploy/operator/` and the Helm chart `deploy/helm/palisade-operator/` say the same
//! thing, and the chart's templates use only values it defines.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn the_chart_installs_the_same_crds_and_role() {
    for crd in [
        "wgpolicyk8s.io_policyreports.yaml",
        "wgpolicyk8s.io_clusterpolicyreports.yaml",
        "openreports.io_reports.yaml",
        "openreports.io_clusterreports.yaml",
    ] {
        assert_eq!(
            read(&format!("deploy/operator/crds/{crd}")),
            read(&format!("deploy/helm/palisade-operator/crds/{crd}")),
            "{crd} differs between deploy/operator and the chart"
        );
    }
    assert_eq!(
        read("deploy/operator/rbac.yaml").replace(
            "namespace: palisade-system",
            "namespace: {{ .Release.Namespace }}"
        ),
        read("deploy/helm/palisade-operator/templates/rbac.yaml")
    );
}

/// `a.b.c` paths of `values.yaml` (block mappings, two-space indents).
fn value_paths(values: &str) -> Vec<String> {
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut paths = Vec::new();
    for line in values.lines() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('-') {
            continue;
        }
        let Some((key, _)) = trimmed.split_once(':') else {
            continue;
        };
        let indent = line.len() - trimmed.len();
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, key.to_owned()));
        paths.push(
            stack
                .iter()
                .map(|(_, k)| k.as_str())
                .collect::<Vec<_>>()
                .join("."),
        );
    }
    paths
}

#[test]
fn templates_use_only_defined_values() {
    let values = value_paths(&read("deploy/helm/palisade-operator/values.yaml"));
    assert!(values.contains(&"metrics.serviceMonitor.enabled".to_owned()));
    let dir = root().join("deploy/helm/palisade-operator/templates");
    let mut used = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, _) in text.match_indices(".Values.") {
            let rest = &text[i + ".Values.".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
                .unwrap_or(rest.len());
            let path_used = rest[..end].trim_end_matches('.');
            used += 1;
            assert!(
                values.iter().any(|v| v == path_used),
                "{} uses .Values.{path_used}, which values.yaml does not define",
                path.display()
            );
        }
        // Balanced template blocks.
        let opens = text.matches("{{- if").count() + text.matches("{{- with").count();
        assert_eq!(
            opens,
            text.matches("{{- end }}").count(),
            "{}",
            path.display()
        );
    }
    assert!(used > 10, "{used} value references");
}
