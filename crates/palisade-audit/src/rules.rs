//! Falco rule files: `list`, `macro` and `rule` items (with `append`), read as data and
//! compiled into conditions over audit events.
//!
//! What a file needs and Palisade does not have is reported, not fatal: a rule of
//! another source, a rule naming an unknown field, macro or list, or a key Palisade does
//! not read is left out (or the key ignored) with a [`Notice`] saying where and why, and
//! every other rule runs.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;

use palisade_source::{parse_document, split_documents, Limits, Node};
use serde_json::Value;

use crate::condition::{self, Expr, FieldRef, Item, Op};
use crate::event::AuditEvent;
use crate::fields::{self, Arg};
use crate::state::StateKind;

/// Something in a rule file that was not used as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub file: String,
    pub line: u32,
    pub message: String,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// A rule file that cannot be read at all.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct LoadError {
    pub file: String,
    pub line: u32,
    pub message: String,
}

/// A rule's priority, Falco's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Debug,
    Informational,
    Notice,
    Warning,
    Error,
    Critical,
    Alert,
    Emergency,
}

impl Priority {
    fn parse(s: &str) -> Option<Priority> {
        Some(match s.to_ascii_lowercase().as_str() {
            "debug" => Priority::Debug,
            "info" | "informational" => Priority::Informational,
            "notice" => Priority::Notice,
            "warning" | "warn" => Priority::Warning,
            "error" => Priority::Error,
            "critical" => Priority::Critical,
            "alert" => Priority::Alert,
            "emergency" => Priority::Emergency,
            _ => return None,
        })
    }

    /// As Falco writes it in its JSON output.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Debug => "Debug",
            Priority::Informational => "Informational",
            Priority::Notice => "Notice",
            Priority::Warning => "Warning",
            Priority::Error => "Error",
            Priority::Critical => "Critical",
            Priority::Alert => "Alert",
            Priority::Emergency => "Emergency",
        }
    }
}

/// A condition ready to evaluate: macros inlined, lists expanded, fields resolved to
/// their extraction.
#[derive(Debug, Clone)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Compare {
        /// Index of the field in [`RuleSet::fields`]: each field is read once per
        /// event, however many rules compare it.
        slot: usize,
        /// Index of the comparison among the rule set's distinct ones (its result is
        /// kept per event).
        predicate: usize,
        op: Op,
        values: Vec<String>,
        /// The operand as a number, for `<`, `<=`, `>`, `>=`.
        number: Option<f64>,
    },
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub desc: String,
    pub condition: Cond,
    pub output: String,
    pub priority: Priority,
    pub tags: Vec<String>,
    /// Palisade's extension: what the rule remembers across events
    /// (`palisade_state`, see [`crate::state`]); matched in order, after the others.
    pub state: Option<StateKind>,
    /// Where the rule is written.
    pub file: String,
    pub line: u32,
}

/// The rules of one or more files, compiled, and what could not be used.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// Every field the rules compare, with how it is read.
    pub fields: Vec<(FieldRef, fields::Extract)>,
    /// How many distinct comparisons the rules make.
    pub predicates: usize,
    pub notices: Vec<Notice>,
    /// `required_plugin_versions` entries: (plugin, version).
    pub required_plugins: Vec<(String, String)>,
}

impl RuleSet {
    /// Whether a rule keeps state.
    #[must_use]
    pub fn has_state(&self) -> bool {
        self.rules.iter().any(|r| r.state.is_some())
    }

    /// The rules that keep state whose condition matches the event of `cache`, by
    /// index.
    pub fn stateful_matches(&self, cache: &mut FieldCache<'_, '_>) -> Vec<usize> {
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.state.is_some() && r.condition.eval(self, cache))
            .map(|(i, _)| i)
            .collect()
    }
}

/// A list, macro or rule as written, before compiling.
#[derive(Debug, Clone)]
struct Source {
    line: u32,
    file: String,
    enabled: bool,
    /// list items / macro or rule condition
    items: Vec<Item>,
    condition: String,
    output: String,
    desc: String,
    priority: Option<Priority>,
    tags: Vec<String>,
    source: String,
    state: Option<String>,
}

/// Rule files read in order; a later file's items replace or append to earlier ones.
#[derive(Debug, Default)]
pub struct Loader {
    lists: HashMap<String, Source>,
    macros: HashMap<String, Source>,
    rules: Vec<(String, Source)>,
    notices: Vec<Notice>,
    required_plugins: Vec<(String, String)>,
}

const RULE_KEYS: &[&str] = &[
    "rule",
    "desc",
    "condition",
    "output",
    "priority",
    "source",
    "tags",
    "enabled",
    "append",
    "override",
    "palisade_state",
];

impl Loader {
    /// Reads one rule file's text.
    ///
    /// # Errors
    /// The text is not YAML, or not a sequence of items.
    pub fn add(&mut self, file: &str, text: &str) -> Result<(), LoadError> {
        let chunks = split_documents(text);
        for chunk in &chunks {
            let doc = parse_document(&text[chunk.range.clone()], chunk, &Limits::default())
                .map_err(|e| LoadError {
                    file: file.to_owned(),
                    line: chunk.first_line,
                    message: e.to_string(),
                })?;
            let Some(root) = doc.root() else { continue };
            if !root.is_sequence() {
                return Err(LoadError {
                    file: file.to_owned(),
                    line: root.pos().line,
                    message: "a rules file is a list of items (list, macro, rule, ...)".into(),
                });
            }
            for item in root.items() {
                self.item(file, item);
            }
        }
        Ok(())
    }

    fn notice(&mut self, file: &str, line: u32, message: String) {
        self.notices.push(Notice {
            file: file.to_owned(),
            line,
            message,
        });
    }

    fn item(&mut self, file: &str, item: Node<'_>) {
        let line = item.pos().line;
        let str_of = |key: &str| item.get(key).and_then(|n| n.as_str()).map(str::to_owned);
        if let Some(plugins) = item.get("required_plugin_versions") {
            for p in plugins.items() {
                let name = p.get("name").and_then(|n| n.as_str()).unwrap_or("");
                let version = p.get("version").and_then(|n| n.as_str()).unwrap_or("");
                self.required_plugins
                    .push((name.to_owned(), version.to_owned()));
            }
            return;
        }
        if item.get("required_engine_version").is_some() {
            return;
        }
        let append = item.get("append").is_some_and(|a| a.is_true())
            || item
                .get("override")
                .is_some_and(|o| o.entries().any(|(_, v)| v.as_str() == Some("append")));
        let enabled = item.get("enabled").is_none_or(|e| e.is_true());
        let mut source = Source {
            line,
            file: file.to_owned(),
            enabled,
            items: item
                .get("items")
                .into_iter()
                .flat_map(|i| i.items())
                .map(|n| list_item(n))
                .collect(),
            condition: str_of("condition").unwrap_or_default(),
            output: str_of("output").unwrap_or_default(),
            desc: str_of("desc").unwrap_or_default(),
            priority: str_of("priority").and_then(|p| Priority::parse(&p)),
            tags: item
                .get("tags")
                .into_iter()
                .flat_map(|t| t.items())
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
            source: str_of("source").unwrap_or_else(|| "syscall".into()),
            state: str_of("palisade_state"),
        };
        if let Some(name) = str_of("list") {
            match self.lists.get_mut(&name) {
                Some(old) if append => old.items.append(&mut source.items),
                _ => {
                    self.lists.insert(name, source);
                }
            }
        } else if let Some(name) = str_of("macro") {
            match self.macros.get_mut(&name) {
                Some(old) if append => {
                    old.condition = format!("{} {}", old.condition, source.condition);
                }
                _ => {
                    self.macros.insert(name, source);
                }
            }
        } else if let Some(name) = str_of("rule") {
            for (key, _) in item.entries() {
                let key = key.as_str().unwrap_or("");
                if !RULE_KEYS.contains(&key) {
                    self.notice(
                        file,
                        line,
                        format!("rule {name:?}: key {key:?} is not read (ignored)"),
                    );
                }
            }
            match self.rules.iter_mut().find(|(n, _)| *n == name) {
                Some((_, old)) if append => {
                    if !source.condition.is_empty() {
                        old.condition = format!("{} {}", old.condition, source.condition);
                    }
                    if !source.output.is_empty() {
                        old.output = format!("{} {}", old.output, source.output);
                    }
                }
                // `enabled: false` alone turns an earlier rule off.
                Some((_, old)) if source.condition.is_empty() => old.enabled = source.enabled,
                Some((_, old)) => *old = source,
                None if append => self.notice(
                    file,
                    line,
                    format!("rule {name:?} appends to a rule that does not exist"),
                ),
                None => self.rules.push((name, source)),
            }
        } else if item.is_null() {
            // Falco's own k8s_audit_rules.yaml has one (a bare `-`); Falco skips it too.
            self.notice(
                file,
                line,
                "an empty item (a bare `-`) is skipped".to_owned(),
            );
        } else {
            let what = item
                .entries()
                .next()
                .and_then(|(k, _)| k.as_str())
                .unwrap_or("?")
                .to_owned();
            self.notice(file, line, format!("item {what:?} is not read (ignored)"));
        }
    }

    /// Compiles every enabled `k8s_audit` rule.
    #[must_use]
    pub fn compile(self) -> RuleSet {
        let mut out = RuleSet {
            notices: self.notices,
            required_plugins: self.required_plugins,
            ..RuleSet::default()
        };
        let ctx = Resolver {
            lists: &self.lists,
            macros: &self.macros,
            slots: std::cell::RefCell::new(Vec::new()),
            predicates: std::cell::RefCell::new(Vec::new()),
        };
        for (name, src) in &self.rules {
            if !src.enabled {
                continue;
            }
            if src.source != "k8s_audit" {
                out.notices.push(Notice {
                    file: src.file.clone(),
                    line: src.line,
                    message: format!(
                        "rule {name:?} is for source {:?}, not k8s_audit (left out)",
                        src.source
                    ),
                });
                continue;
            }
            let compiled = condition::parse(&src.condition)
                .map_err(|e| format!("condition: {e}"))
                .and_then(|e| ctx.resolve(&e, &mut Vec::new()))
                .and_then(|c| {
                    let state = src.state.as_deref().map(StateKind::parse).transpose()?;
                    Ok((c, state))
                });
            match compiled {
                Ok((condition, state)) => out.rules.push(Rule {
                    name: name.clone(),
                    desc: src.desc.clone(),
                    condition,
                    output: src.output.trim().to_owned(),
                    priority: src.priority.unwrap_or(Priority::Warning),
                    tags: src.tags.clone(),
                    state,
                    file: src.file.clone(),
                    line: src.line,
                }),
                Err(why) => out.notices.push(Notice {
                    file: src.file.clone(),
                    line: src.line,
                    message: format!("rule {name:?} left out: {why}"),
                }),
            }
        }
        out.fields = ctx.slots.into_inner();
        out.predicates = ctx.predicates.into_inner().len();
        out
    }
}

fn list_item(n: Node<'_>) -> Item {
    let text = n.as_str().unwrap_or("").to_owned();
    // A quoted item is a literal; a plain one may name another list.
    match n.scalar_source() {
        Some((_, false)) => Item::Quoted(text),
        _ => Item::Bare(text),
    }
}

struct Resolver<'a> {
    lists: &'a HashMap<String, Source>,
    macros: &'a HashMap<String, Source>,
    slots: std::cell::RefCell<Vec<(FieldRef, fields::Extract)>>,
    /// Each distinct comparison (field, operator, operands), so that one that many
    /// rules share (through a macro) is evaluated once per event.
    predicates: std::cell::RefCell<Vec<(usize, Op, Vec<String>)>>,
}

impl Resolver<'_> {
    /// `expr` with macros inlined and lists expanded; `stack` holds the macros being
    /// expanded (a macro that uses itself is an error, not a loop).
    fn resolve(&self, expr: &Expr, stack: &mut Vec<String>) -> Result<Cond, String> {
        Ok(match expr {
            Expr::And(parts) => Cond::And(
                parts
                    .iter()
                    .map(|p| self.resolve(p, stack))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Or(parts) => Cond::Or(
                parts
                    .iter()
                    .map(|p| self.resolve(p, stack))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Not(inner) => Cond::Not(Box::new(self.resolve(inner, stack)?)),
            Expr::Macro(name) => {
                let Some(m) = self.macros.get(name) else {
                    return Err(format!("unknown macro {name:?}"));
                };
                if stack.contains(name) {
                    return Err(format!("macro {name:?} refers to itself"));
                }
                stack.push(name.clone());
                let parsed =
                    condition::parse(&m.condition).map_err(|e| format!("macro {name:?}: {e}"))?;
                let c = self.resolve(&parsed, stack)?;
                stack.pop();
                c
            }
            Expr::Compare { field, op, values } => {
                let extract = match fields::lookup(&field.name) {
                    None => return Err(format!("unknown field {}", field.name)),
                    Some((Arg::Required, _)) if field.arg.is_none() => {
                        return Err(format!("field {} needs an argument", field.name))
                    }
                    Some((_, extract)) => extract,
                };
                let mut expanded = Vec::new();
                self.expand(values, &mut expanded, &mut HashSet::new());
                let mut slots = self.slots.borrow_mut();
                let slot = match slots.iter().position(|(f, _)| f == field) {
                    Some(i) => i,
                    None => {
                        slots.push((field.clone(), extract));
                        slots.len() - 1
                    }
                };
                let number = expanded.first().and_then(|v| v.parse::<f64>().ok());
                let mut predicates = self.predicates.borrow_mut();
                let key = (slot, *op, expanded);
                let predicate = match predicates.iter().position(|p| *p == key) {
                    Some(i) => i,
                    None => {
                        predicates.push(key.clone());
                        predicates.len() - 1
                    }
                };
                Cond::Compare {
                    slot,
                    predicate,
                    op: *op,
                    values: key.2,
                    number,
                }
            }
        })
    }

    fn expand(&self, items: &[Item], out: &mut Vec<String>, seen: &mut HashSet<String>) {
        for item in items {
            match item {
                Item::Quoted(s) => out.push(s.clone()),
                Item::Bare(name) => match self.lists.get(name) {
                    Some(list) if seen.insert(name.clone()) => {
                        self.expand(&list.items, out, seen);
                    }
                    Some(_) => {}
                    None => out.push(name.clone()),
                },
            }
        }
    }
}

/// The values of each field of a [`RuleSet`] in one event, read when first compared.
pub struct FieldCache<'e, 'a> {
    event: &'e AuditEvent<'a>,
    values: Vec<Option<Vec<Cow<'e, str>>>>,
    /// Each comparison's result on this event: 0 not yet evaluated, 1 false, 2 true.
    results: Vec<u8>,
}

impl<'e, 'a> FieldCache<'e, 'a> {
    #[must_use]
    pub fn new(rules: &RuleSet, event: &'e AuditEvent<'a>) -> FieldCache<'e, 'a> {
        FieldCache {
            event,
            values: vec![None; rules.fields.len()],
            results: vec![0; rules.predicates],
        }
    }

    fn get(&mut self, rules: &RuleSet, slot: usize) -> &[Cow<'e, str>] {
        let event = self.event;
        self.values[slot].get_or_insert_with(|| {
            let (field, extract) = &rules.fields[slot];
            extract(event, field.arg.as_deref())
        })
    }
}

impl Cond {
    /// Whether the event of `cache` satisfies the condition.
    pub fn eval(&self, rules: &RuleSet, cache: &mut FieldCache<'_, '_>) -> bool {
        match self {
            Cond::And(parts) => parts.iter().all(|p| p.eval(rules, cache)),
            Cond::Or(parts) => parts.iter().any(|p| p.eval(rules, cache)),
            Cond::Not(inner) => !inner.eval(rules, cache),
            Cond::Compare {
                slot,
                predicate,
                op,
                values,
                number,
            } => match cache.results[*predicate] {
                0 => {
                    let result = compare_with(cache.get(rules, *slot), *op, values, *number);
                    cache.results[*predicate] = 1 + u8::from(result);
                    result
                }
                known => known == 2,
            },
        }
    }
}

/// Falco's comparison: no value is false for every operator; a field with several
/// values satisfies a scalar operator when one of them does, `in` when all are in the
/// set, `intersects` when one is.
#[cfg(test)]
fn compare(got: &[Cow<'_, str>], op: Op, values: &[String]) -> bool {
    let number = values.first().and_then(|v| v.parse::<f64>().ok());
    compare_with(got, op, values, number)
}

fn compare_with(got: &[Cow<'_, str>], op: Op, values: &[String], number: Option<f64>) -> bool {
    if got.is_empty() {
        return false;
    }
    let operand = values.first().map_or("", String::as_str);
    match op {
        Op::Exists => true,
        Op::In => got.iter().all(|g| values.iter().any(|v| v == g)),
        Op::Intersects => got.iter().any(|g| values.iter().any(|v| v == g)),
        Op::PMatch => got.iter().any(|g| {
            values.iter().any(|p| {
                g == p
                    || g.strip_prefix(p.trim_end_matches('/'))
                        .is_some_and(|rest| rest.starts_with('/'))
            })
        }),
        Op::Eq => got.iter().any(|g| g == operand),
        Op::Ne => got.iter().any(|g| g != operand),
        Op::Contains => got.iter().any(|g| g.contains(operand)),
        Op::IContains => {
            let needle = operand.to_lowercase();
            got.iter().any(|g| g.to_lowercase().contains(&needle))
        }
        Op::StartsWith => got.iter().any(|g| g.starts_with(operand)),
        Op::EndsWith => got.iter().any(|g| g.ends_with(operand)),
        Op::Glob => glob::Pattern::new(operand).is_ok_and(|p| got.iter().any(|g| p.matches(g))),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => got.iter().any(|g| {
            let ord = match (g.parse::<f64>(), number) {
                (Ok(a), Some(b)) => a.partial_cmp(&b),
                _ => Some(g.as_ref().cmp(operand)),
            };
            ord.is_some_and(|o| match op {
                Op::Lt => o.is_lt(),
                Op::Le => o.is_le(),
                Op::Gt => o.is_gt(),
                _ => o.is_ge(),
            })
        }),
    }
}

/// `output` with each `%field` and `%field[arg]` replaced by its values (`<NA>` when it
/// has none; several values as `(a,b)`), and the fields it names with their values.
#[must_use]
pub fn format_output(output: &str, event: &AuditEvent<'_>) -> (String, Vec<(String, Value)>) {
    let mut text = String::with_capacity(output.len() + 64);
    let mut named = Vec::new();
    let mut rest = output;
    while let Some(i) = rest.find('%') {
        text.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = field_end(after);
        let word = &after[..end];
        let (name, arg) = match word.split_once('[') {
            Some((n, a)) => (n, Some(a.trim_end_matches(']'))),
            None => (word, None),
        };
        let Some((_, extract)) = fields::lookup(name).filter(|_| !word.is_empty()) else {
            text.push('%');
            rest = after;
            continue;
        };
        let values = extract(event, arg);
        let shown = match values.len() {
            0 => "<NA>".to_owned(),
            1 => values[0].to_string(),
            _ => format!("({})", values.join(",")),
        };
        let json = match values.len() {
            0 => Value::Null,
            1 => Value::String(values[0].to_string()),
            _ => Value::Array(
                values
                    .into_iter()
                    .map(|v| Value::String(v.into_owned()))
                    .collect(),
            ),
        };
        text.push_str(&shown);
        if !named.iter().any(|(n, _)| n == word) {
            named.push((word.to_owned(), json));
        }
        rest = &after[end..];
    }
    text.push_str(rest);
    (text, named)
}

/// Where a `%field` reference ends: letters, digits, `.`, `_`, and one `[...]`.
fn field_end(s: &str) -> usize {
    let mut end = 0;
    let bytes = s.as_bytes();
    while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || b"._".contains(&bytes[end])) {
        end += 1;
    }
    if bytes.get(end) == Some(&b'[') {
        if let Some(close) = s[end..].find(']') {
            end += close + 1;
        }
    }
    // A trailing `.` ends a sentence, not a field name.
    while end > 0 && bytes[end - 1] == b'.' {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests;
