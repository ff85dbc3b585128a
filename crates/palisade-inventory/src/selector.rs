//! Kubernetes label selectors (`matchLabels` and `matchExpressions`), read from a node.

use palisade_source::Node;

/// One `matchExpressions` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A label selector. Every requirement must hold; the empty selector selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    pub requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Reads a `LabelSelector` node. A null or missing node is the empty selector.
    ///
    /// # Errors
    /// A selector the API server would reject (unknown operator, `In` without values,
    /// `Exists` with values, non-string labels), described for the user.
    pub fn from_node(node: Option<Node<'_>>) -> Result<Self, String> {
        let mut requirements = Vec::new();
        let Some(node) = node.filter(|n| !n.is_null()) else {
            return Ok(Self::default());
        };
        if !node.is_mapping() {
            return Err("a label selector must be a mapping".to_owned());
        }
        if let Some(labels) = node.get_present("matchLabels") {
            if !labels.is_mapping() {
                return Err("matchLabels must be a mapping".to_owned());
            }
            for (k, v) in labels.entries() {
                let (Some(k), Some(v)) = (k.as_str(), v.as_str()) else {
                    return Err("matchLabels keys and values must be strings".to_owned());
                };
                requirements.push(Requirement::In(k.to_owned(), vec![v.to_owned()]));
            }
        }
        if let Some(exprs) = node.get_present("matchExpressions") {
            if !exprs.is_sequence() {
                return Err("matchExpressions must be a list".to_owned());
            }
            for e in exprs.items() {
                let key = e
                    .get("key")
                    .and_then(|k| k.as_str())
                    .ok_or("a matchExpressions entry needs a string `key`")?
                    .to_owned();
                let op = e.get("operator").and_then(|o| o.as_str()).unwrap_or("");
                let values: Vec<String> = e
                    .get_present("values")
                    .into_iter()
                    .flat_map(|v| v.items())
                    .map(|v| v.as_str().unwrap_or_default().to_owned())
                    .collect();
                let requirement = match op {
                    "In" | "NotIn" if values.is_empty() => {
                        return Err(format!("operator {op} on {key:?} needs values"))
                    }
                    "Exists" | "DoesNotExist" if !values.is_empty() => {
                        return Err(format!("operator {op} on {key:?} takes no values"))
                    }
                    "In" => Requirement::In(key, values),
                    "NotIn" => Requirement::NotIn(key, values),
                    "Exists" => Requirement::Exists(key),
                    "DoesNotExist" => Requirement::DoesNotExist(key),
                    other => {
                        return Err(format!(
                        "unknown operator {other:?} on {key:?} (In, NotIn, Exists, DoesNotExist)"
                    ))
                    }
                };
                requirements.push(requirement);
            }
        }
        Ok(Self { requirements })
    }

    /// Whether labels (as pairs) satisfy every requirement.
    #[must_use]
    pub fn matches<'a, I>(&self, labels: I) -> bool
    where
        I: IntoIterator<Item = (&'a str, &'a str)> + Clone,
    {
        let get = |key: &str| {
            labels
                .clone()
                .into_iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v)
        };
        self.requirements.iter().all(|r| match r {
            Requirement::In(k, vs) => get(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            // NotIn also holds when the label is absent, as in Kubernetes.
            Requirement::NotIn(k, vs) => get(k).is_none_or(|v| !vs.iter().any(|x| x == v)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::DoesNotExist(k) => get(k).is_none(),
        })
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

impl std::fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.requirements.is_empty() {
            return f.write_str("{}");
        }
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match r {
                Requirement::In(k, vs) if vs.len() == 1 => write!(f, "{k}={}", vs[0])?,
                Requirement::In(k, vs) => write!(f, "{k} in ({})", vs.join(","))?,
                Requirement::NotIn(k, vs) => write!(f, "{k} notin ({})", vs.join(","))?,
                Requirement::Exists(k) => write!(f, "{k}")?,
                Requirement::DoesNotExist(k) => write!(f, "!{k}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_source::{parse_document, split_documents, Limits};

    fn selector(yaml: &str) -> Result<LabelSelector, String> {
        let chunks = split_documents(yaml);
        let doc = parse_document(yaml, &chunks[0], &Limits::default()).unwrap();
        LabelSelector::from_node(doc.root())
    }

    #[test]
    fn match_labels_and_expressions_all_hold() {
        let s = selector(
            "matchLabels: {app: web}\nmatchExpressions:\n- {key: tier, operator: In, values: [a, b]}\n- {key: env, operator: NotIn, values: [prod]}\n- {key: x, operator: Exists}\n- {key: y, operator: DoesNotExist}\n",
        )
        .unwrap();
        let ok = [("app", "web"), ("tier", "b"), ("x", "")];
        assert!(s.matches(ok));
        assert!(!s.matches([("app", "web"), ("tier", "c"), ("x", "")]));
        assert!(!s.matches([("app", "web"), ("tier", "a"), ("x", ""), ("env", "prod")]));
        assert!(!s.matches([("app", "web"), ("tier", "a"), ("x", ""), ("y", "1")]));
        assert!(!s.matches([("app", "web"), ("tier", "a")]));
        assert_eq!(s.to_string(), "app=web,tier in (a,b),env notin (prod),x,!y");
    }

    #[test]
    fn empty_selects_all_and_bad_ones_are_refused() {
        assert!(selector("{}").unwrap().matches([("a", "b")]));
        assert!(selector("matchExpressions: [{key: a, operator: Maybe}]")
            .unwrap_err()
            .contains("unknown operator"));
        assert!(selector("matchExpressions: [{key: a, operator: In}]")
            .unwrap_err()
            .contains("needs values"));
        assert!(selector("matchLabels: [a]").is_err());
    }
}
