//! The `.palisade.yaml` config file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use glob::Pattern;
use palisade_engine::{names_check, Exception, Profile};
use palisade_model::{Category, CheckMeta, Severity, Suppression, SuppressionKind};
use palisade_source::{parse_document, split_documents, Limits, Node, Pos};
use time::{Date, Month};

use crate::admission::{AdmissionMode, AdmissionSettings, UpdatePolicy, ADMISSION_KEYS};
use crate::ConfigError;

/// Names a config file may have, looked for in this order.
pub const CONFIG_NAMES: [&str; 2] = [".palisade.yaml", ".palisade.yml"];

const TOP_KEYS: [&str; 8] = [
    "select",
    "ignore",
    "severity",
    "registries",
    "pss",
    "fail-on",
    "exceptions",
    "admission",
];
const EXCEPTION_KEYS: [&str; 13] = [
    "check",
    "checks",
    "kind",
    "kinds",
    "namespace",
    "namespaces",
    "name",
    "names",
    "labels",
    "container",
    "containers",
    "reason",
    "expires",
];

/// A config file, read and checked.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where it was read from (`None`: no config file).
    pub file: Option<String>,
    /// Checks or categories to run (`None`: all).
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    /// Severity per check id.
    pub severity: HashMap<String, Severity>,
    pub allowed_registries: Vec<String>,
    pub exceptions: Vec<Exception>,
    pub pss: Option<Profile>,
    /// `Some(None)`: never fail on findings.
    pub fail_on: Option<Option<Severity>>,
    /// How the admission webhook answers.
    pub admission: AdmissionSettings,
}

/// The nearest config file in `start` or a directory above it.
#[must_use]
pub fn find_config(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        CONFIG_NAMES
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
    })
}

/// Reads and checks the config file at `path`. `today` decides which exceptions have
/// expired; `catalogue` is every check, to validate ids.
///
/// # Errors
/// The file cannot be read, or any part of it is wrong.
pub fn load_config(
    path: &Path,
    today: Date,
    catalogue: &[&'static CheckMeta],
) -> Result<Config, ConfigError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: name.clone(),
        line: 0,
        column: 0,
        message: format!("cannot read the config file: {e}"),
    })?;
    parse_config(&name, &text, today, catalogue)
}

/// [`load_config`] on text already read; `name` is used in errors.
///
/// # Errors
/// Any part of the config is wrong.
pub fn parse_config(
    name: &str,
    text: &str,
    today: Date,
    catalogue: &[&'static CheckMeta],
) -> Result<Config, ConfigError> {
    let reader = Reader {
        file: name,
        catalogue,
        today,
    };
    let mut config = Config {
        file: Some(name.to_owned()),
        ..Config::default()
    };
    let chunks = split_documents(text);
    let mut documents = chunks
        .iter()
        .filter(|c| !text[c.range.clone()].trim().is_empty());
    let Some(chunk) = documents.next() else {
        return Ok(config);
    };
    if let Some(extra) = documents.next() {
        return Err(reader.error_at(
            Pos {
                line: extra.first_line,
                column: 1,
            },
            "a config file holds one YAML document".into(),
        ));
    }
    let doc =
        parse_document(&text[chunk.range.clone()], chunk, &Limits::default()).map_err(|e| {
            reader.error_at(
                Pos {
                    line: e.line,
                    column: e.column,
                },
                e.message,
            )
        })?;
    if let Some(d) = doc.duplicates.first() {
        return Err(reader.error_at(
            d.pos,
            format!(
                "key {:?} is given twice (first at line {})",
                d.key, d.first.line
            ),
        ));
    }
    let Some(root) = doc.root().filter(|r| !r.is_null()) else {
        return Ok(config);
    };
    if !root.is_mapping() {
        return Err(reader.error(root, "the config file must be a mapping of settings".into()));
    }
    for (key, value) in root.entries() {
        let k = reader.key(key, &TOP_KEYS)?;
        match k {
            "select" => config.select = Some(reader.selectors(value)?),
            "ignore" => config.ignore = reader.selectors(value)?,
            "severity" => config.severity = reader.severities(value)?,
            "registries" => config.allowed_registries = reader.registries(value)?,
            "pss" => {
                let (s, _) = reader.string(value)?;
                config.pss = Some(s.parse().map_err(|e: String| reader.error(value, e))?);
            }
            "fail-on" => {
                let (s, _) = reader.string(value)?;
                config.fail_on = Some(if s.eq_ignore_ascii_case("none") {
                    None
                } else {
                    Some(Severity::parse(&s).ok_or_else(|| {
                        reader.error(
                            value,
                            format!(
                                "{s:?} is not a severity (critical, high, medium, low, info, none)"
                            ),
                        )
                    })?)
                });
            }
            "exceptions" => {
                if !value.is_sequence() {
                    return Err(reader.error(value, "`exceptions` must be a list".into()));
                }
                for item in value.items() {
                    config.exceptions.push(reader.exception(item)?);
                }
            }
            "admission" => config.admission = reader.admission(value)?,
            _ => unreachable!("key() returns only TOP_KEYS"),
        }
    }
    Ok(config)
}

struct Reader<'a> {
    file: &'a str,
    catalogue: &'a [&'static CheckMeta],
    today: Date,
}

impl Reader<'_> {
    fn error_at(&self, pos: Pos, message: String) -> ConfigError {
        ConfigError {
            file: self.file.to_owned(),
            line: pos.line,
            column: pos.column,
            message,
        }
    }

    fn error(&self, node: Node<'_>, message: String) -> ConfigError {
        self.error_at(node.pos(), message)
    }

    fn key<'k>(&self, key: Node<'_>, allowed: &[&'k str]) -> Result<&'k str, ConfigError> {
        let text = key.as_str().unwrap_or("");
        allowed.iter().copied().find(|k| *k == text).ok_or_else(|| {
            self.error(
                key,
                format!(
                    "unknown key {text:?} (expected one of: {})",
                    allowed.join(", ")
                ),
            )
        })
    }

    fn string(&self, node: Node<'_>) -> Result<(String, Pos), ConfigError> {
        if node.is_mapping() || node.is_sequence() || node.is_null() {
            return Err(self.error(node, "expected a string".into()));
        }
        Ok((node.as_str().unwrap_or("").to_owned(), node.pos()))
    }

    /// A string or a list of strings.
    fn strings(&self, node: Node<'_>) -> Result<Vec<(String, Pos)>, ConfigError> {
        if node.is_sequence() {
            node.items().map(|n| self.string(n)).collect()
        } else {
            Ok(vec![self.string(node)?])
        }
    }

    fn known(&self, selector: &str) -> bool {
        Category::ALL.iter().any(|c| c.as_str() == selector)
            || self.catalogue.iter().any(|m| m.id == selector)
    }

    fn selectors(&self, node: Node<'_>) -> Result<Vec<String>, ConfigError> {
        let list = self.strings(node)?;
        for (s, pos) in &list {
            if s == "*" || !self.known(s) {
                return Err(self.error_at(
                    *pos,
                    format!("{s:?} is no check or category (see `palisade checks list`)"),
                ));
            }
        }
        Ok(list.into_iter().map(|(s, _)| s).collect())
    }

    fn severities(&self, node: Node<'_>) -> Result<HashMap<String, Severity>, ConfigError> {
        if !node.is_mapping() {
            return Err(self.error(
                node,
                "`severity` maps check ids or categories to severities".into(),
            ));
        }
        let mut out = HashMap::new();
        for (key, value) in node.entries() {
            let (selector, pos) = self.string(key)?;
            let (level, _) = self.string(value)?;
            let severity = Severity::parse(&level).ok_or_else(|| {
                self.error(
                    value,
                    format!("{level:?} is not a severity (critical, high, medium, low, info)"),
                )
            })?;
            let matched: Vec<_> = self
                .catalogue
                .iter()
                .filter(|m| selector != "*" && names_check(&selector, m))
                .collect();
            if matched.is_empty() {
                return Err(self.error_at(
                    pos,
                    format!("{selector:?} is no check or category (see `palisade checks list`)"),
                ));
            }
            for m in matched {
                out.insert(m.id.to_owned(), severity);
            }
        }
        Ok(out)
    }

    fn severity(&self, node: Node<'_>) -> Result<Severity, ConfigError> {
        let (s, _) = self.string(node)?;
        Severity::parse(&s).ok_or_else(|| {
            self.error(
                node,
                format!("{s:?} is not a severity (critical, high, medium, low, info)"),
            )
        })
    }

    fn admission(&self, node: Node<'_>) -> Result<AdmissionSettings, ConfigError> {
        if !node.is_mapping() {
            return Err(self.error(node, "`admission` must be a mapping of settings".into()));
        }
        let mut out = AdmissionSettings::default();
        let names = |list: Vec<(String, Pos)>| list.into_iter().map(|(s, _)| s).collect();
        for (key, value) in node.entries() {
            match self.key(key, &ADMISSION_KEYS)? {
                "default-mode" => {
                    let (s, _) = self.string(value)?;
                    out.default_mode = AdmissionMode::parse(&s).ok_or_else(|| {
                        self.error(value, format!("{s:?} is not a mode (enforce, warn, audit)"))
                    })?;
                }
                "deny-severity" => out.deny_severity = self.severity(value)?,
                "exempt-namespaces" => {
                    // Validated as globs, kept as text for the webhook to match.
                    self.globs(value)?;
                    out.exempt_namespaces = names(self.strings(value)?);
                }
                "exempt-users" => out.exempt_users = names(self.strings(value)?),
                "exempt-groups" => out.exempt_groups = names(self.strings(value)?),
                "updates" => {
                    let (s, _) = self.string(value)?;
                    out.updates = match s.as_str() {
                        "introduced" => UpdatePolicy::Introduced,
                        "all" => UpdatePolicy::All,
                        _ => {
                            return Err(self.error(
                                value,
                                format!("{s:?} is not an update policy (introduced, all)"),
                            ))
                        }
                    };
                }
                _ => unreachable!("key() returns only ADMISSION_KEYS"),
            }
        }
        Ok(out)
    }

    fn registries(&self, node: Node<'_>) -> Result<Vec<String>, ConfigError> {
        if !node.is_mapping() {
            return Err(self.error(
                node,
                "`registries` must be a mapping with `allowed: [...]`".into(),
            ));
        }
        let mut allowed = Vec::new();
        for (key, value) in node.entries() {
            self.key(key, &["allowed"])?;
            for (entry, pos) in self.strings(value)? {
                if entry.is_empty() || entry.contains(char::is_whitespace) || entry.contains('@') {
                    return Err(self.error_at(
                        pos,
                        format!("{entry:?} is not a registry (`ghcr.io`) or repository prefix (`ghcr.io/acme/`)"),
                    ));
                }
                allowed.push(entry);
            }
        }
        Ok(allowed)
    }

    fn globs(&self, node: Node<'_>) -> Result<Vec<Pattern>, ConfigError> {
        self.strings(node)?
            .into_iter()
            .map(|(s, pos)| {
                Pattern::new(&s).map_err(|e| self.error_at(pos, format!("bad pattern {s:?}: {e}")))
            })
            .collect()
    }

    fn exception(&self, item: Node<'_>) -> Result<Exception, ConfigError> {
        if !item.is_mapping() {
            return Err(self.error(
                item,
                "an exception is a mapping with `checks`, selectors and `reason`".into(),
            ));
        }
        let mut checks = None;
        let (mut kinds, mut namespaces, mut names, mut containers) =
            (vec![], vec![], vec![], vec![]);
        let mut labels = Vec::new();
        let mut reason = None;
        let mut expires = None;
        for (key, value) in item.entries() {
            match self.key(key, &EXCEPTION_KEYS)? {
                "check" | "checks" => {
                    let list = self.strings(value)?;
                    for (s, pos) in &list {
                        if s != "*" && !self.known(s) {
                            return Err(self.error_at(
                                *pos,
                                format!(
                                    "{s:?} is no check or category (see `palisade checks list`)"
                                ),
                            ));
                        }
                    }
                    checks = Some(list.into_iter().map(|(s, _)| s).collect::<Vec<_>>());
                }
                "kind" | "kinds" => kinds = self.globs(value)?,
                "namespace" | "namespaces" => namespaces = self.globs(value)?,
                "name" | "names" => names = self.globs(value)?,
                "container" | "containers" => containers = self.globs(value)?,
                "labels" => {
                    if !value.is_mapping() {
                        return Err(self.error(value, "`labels` maps label keys to values".into()));
                    }
                    for (k, v) in value.entries() {
                        labels.push((self.string(k)?.0, self.string(v)?.0));
                    }
                }
                "reason" => {
                    let (r, _) = self.string(value)?;
                    if r.trim().is_empty() {
                        return Err(self.error(
                            value,
                            "the reason must say why the finding is accepted".into(),
                        ));
                    }
                    reason = Some(r.trim().to_owned());
                }
                "expires" => expires = Some((self.date(value)?, value)),
                _ => unreachable!("key() returns only EXCEPTION_KEYS"),
            }
        }
        let Some(checks) = checks.filter(|c| !c.is_empty()) else {
            return Err(self.error(
                item,
                "an exception needs `checks`: the check ids (or categories) it covers".into(),
            ));
        };
        if kinds.is_empty()
            && namespaces.is_empty()
            && names.is_empty()
            && labels.is_empty()
            && containers.is_empty()
        {
            return Err(self.error(
                item,
                "an exception needs at least one object selector (kind, namespace, name, labels, container); to turn a check off everywhere, use `ignore:`".into(),
            ));
        }
        let Some(reason) = reason else {
            return Err(self.error(item, "an exception needs a `reason`".into()));
        };
        let pos = item.pos();
        Ok(Exception {
            checks,
            kinds,
            namespaces,
            names,
            labels,
            containers,
            expired: expires.is_some_and(|(d, _)| self.today > d),
            suppression: Arc::new(Suppression {
                kind: SuppressionKind::Config,
                reason,
                file: Arc::from(self.file),
                line: pos.line,
                column: pos.column,
                expires: expires.map(|(d, _)| d.to_string()),
            }),
        })
    }

    fn date(&self, node: Node<'_>) -> Result<Date, ConfigError> {
        let (s, _) = self.string(node)?;
        let bad = || self.error(node, format!("{s:?} is not a date (YYYY-MM-DD)"));
        let mut parts = s.splitn(3, '-');
        let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i32>(), m.parse::<u8>(), d.parse::<u8>()) else {
            return Err(bad());
        };
        let month = Month::try_from(m).map_err(|_| bad())?;
        Date::from_calendar_date(y, month, d).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests;
