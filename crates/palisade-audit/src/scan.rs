//! Reading a log and matching every event, on every core: lines are read in batches,
//! each batch parsed and matched in parallel, and the results written in input order.

use std::collections::{HashSet, VecDeque};
use std::io::Read;

use rayon::prelude::*;

use crate::events::{for_each_line, line_events, BadLine};
use crate::rules::FieldCache;
use crate::state::{
    exec_target, first_seen_value, object_change, with_detail, AuditState, Change, StateKind,
};
use crate::{detect_in, AuditEvent, Detection, RuleSet};

/// Lines read before a batch is handed to the pool.
const BATCH_LINES: usize = 8192;

/// What a scan or a watch saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub events: u64,
    pub detections: u64,
    pub bad_lines: u64,
    /// Events with detections that had been seen before (same auditID and stage: a
    /// batch the webhook backend sent again, a line in two files) and were passed over.
    pub duplicates: u64,
}

/// One line's events: how many, and those with detections or that the stateful rules
/// must see, each with its place in the line, its identity (`auditID/stage`, when it
/// has both) and its `format`ted detections.
#[derive(Debug, Default)]
pub struct LineOutcome {
    pub events: u64,
    pub detected: Vec<EventOutcome>,
}

/// An event of a line that produced detections or goes to the stateful rules.
#[derive(Debug)]
pub struct EventOutcome {
    pub index: usize,
    pub key: Option<String>,
    pub lines: Vec<String>,
    /// First-seen rules that matched, by index, with the value they remember.
    pub first_seen: Vec<(usize, String)>,
    /// What the event changes in the state (a pod or RBAC write or deletion).
    pub change: Option<Change>,
    /// The RBAC-path rule, by index, when it matched.
    pub escalation: Option<usize>,
    /// The privileged-exec rule, by index, and the pod entered, when it matched.
    pub exec: Option<(usize, String)>,
}

/// The events of one line and their detections, each `format`ted; or why the line is
/// no event. The one pipeline of `scan`, `watch` and `serve`; what depends on event
/// order is done after, by [`InOrder::finish`].
///
/// # Errors
/// The line is not an audit event.
pub fn line_detections(
    file: &str,
    line: u64,
    bytes: &[u8],
    rules: &RuleSet,
    format: impl Fn(&Detection<'_>, &AuditEvent<'_>) -> String,
) -> Result<LineOutcome, BadLine> {
    let events = line_events(file, line, bytes)?;
    let has_state = rules.has_state();
    let detected = events
        .iter()
        .enumerate()
        .filter_map(|(index, e)| {
            let mut cache = FieldCache::new(rules, e);
            let found = detect_in(rules, e, &mut cache);
            // What the rules that keep state need, read here in parallel so that the
            // part in event order does not read the event again (but to report).
            let (mut first_seen, mut change, mut escalation, mut exec) =
                (Vec::new(), None, None, None);
            if has_state {
                change = object_change(e);
                for i in rules.stateful_matches(&mut cache) {
                    match &rules.rules[i].state {
                        Some(StateKind::FirstSeen { .. }) => {
                            first_seen.extend(first_seen_value(&rules.rules[i], e).map(|v| (i, v)));
                        }
                        Some(StateKind::PrivilegedPodExec) => {
                            exec = exec_target(e).map(|pod| (i, pod));
                        }
                        Some(StateKind::RbacEscalation) => escalation = Some(i),
                        None => {}
                    }
                }
            }
            if found.is_empty() && first_seen.is_empty() && change.is_none() && exec.is_none() {
                return None;
            }
            let key = match (&e.head.audit_id, &e.head.stage) {
                (Some(id), Some(stage)) => Some(format!("{id}/{stage}")),
                _ => None,
            };
            Some(EventOutcome {
                index,
                key,
                lines: found.iter().map(|d| format(d, e)).collect(),
                first_seen,
                change,
                escalation,
                exec,
            })
        })
        .collect();
    Ok(LineOutcome {
        events: events.len() as u64,
        detected,
    })
}

/// A line as read: its file, where it is, its bytes.
#[derive(Debug, Clone, Copy)]
pub struct LineAt<'b> {
    pub file: &'b str,
    pub line: u64,
    pub bytes: &'b [u8],
}

/// What is decided in event order: events delivered again are passed over, and the
/// rules that keep state see every event they need.
#[derive(Debug)]
pub struct InOrder<'r> {
    pub rules: &'r RuleSet,
    pub seen: Seen,
    pub state: AuditState,
}

impl<'r> InOrder<'r> {
    #[must_use]
    pub fn new(rules: &'r RuleSet, dedup_window: usize) -> InOrder<'r> {
        InOrder {
            rules,
            seen: Seen::new(dedup_window),
            state: AuditState::default(),
        }
    }

    /// Counts one line's outcome and hands on its detections (those of events not
    /// seen before, and the stateful rules') or its error.
    pub fn finish(
        &mut self,
        totals: &mut Totals,
        outcome: Result<LineOutcome, BadLine>,
        at: LineAt<'_>,
        format: impl Fn(&Detection<'_>, &AuditEvent<'_>) -> String,
        mut detection: impl FnMut(String),
        bad: &mut impl FnMut(BadLine),
    ) {
        let outcome = match outcome {
            Ok(o) => o,
            Err(b) => {
                totals.bad_lines += 1;
                bad(b);
                return;
            }
        };
        totals.events += outcome.events;
        // The line's events, read again only to report what a rule that keeps state
        // found: rare.
        let mut parsed = None;
        for event in outcome.detected {
            if event.key.as_deref().is_some_and(|k| self.seen.contains(k)) {
                totals.duplicates += 1;
                continue;
            }
            let mut lines = event.lines;
            // (rule, detail) of the rules that keep state.
            let mut stateful: Vec<(usize, String)> = Vec::new();
            for (i, value) in event.first_seen {
                if self.state.first_time(&self.rules.rules[i], &value) {
                    let field = match &self.rules.rules[i].state {
                        Some(StateKind::FirstSeen { field }) => field.as_str(),
                        _ => "",
                    };
                    stateful.push((i, format!("first time {field} = {value}")));
                }
            }
            if let Some(change) = event.change {
                let paths = self.state.apply_change(change, event.escalation.is_some());
                if let (Some(i), Some(detail)) = (event.escalation, paths) {
                    stateful.push((i, detail));
                }
            }
            if let Some((i, pod)) = &event.exec {
                if let Some(detail) = self.state.exec_detail(pod) {
                    stateful.push((*i, detail));
                }
            }
            if !stateful.is_empty() {
                let events =
                    parsed.get_or_insert_with(|| line_events(at.file, at.line, at.bytes).ok());
                if let Some(e) = events.as_ref().and_then(|p| p.get(event.index)) {
                    for (i, detail) in stateful {
                        let d = with_detail(&self.rules.rules[i], e, detail);
                        lines.push(format(&d, e));
                    }
                }
            }
            if lines.is_empty() {
                continue;
            }
            if let Some(k) = &event.key {
                self.seen.insert(k);
            }
            for l in lines {
                totals.detections += 1;
                detection(l);
            }
        }
    }
}

/// The identities of the events with detections seen last (at most `window`), so that
/// an event delivered twice is reported once. Only events with detections are kept:
/// one without is harmless to see again.
#[derive(Debug)]
pub struct Seen {
    window: usize,
    set: HashSet<String>,
    order: VecDeque<String>,
    /// Identities added since [`Seen::take_new`] (to be made durable with the output).
    new: Vec<String>,
}

impl Seen {
    #[must_use]
    pub fn new(window: usize) -> Seen {
        Seen {
            window,
            set: HashSet::new(),
            order: VecDeque::new(),
            new: Vec::new(),
        }
    }

    /// Whether `key` was seen (within the window).
    #[must_use]
    pub fn contains(&self, key: &str) -> bool {
        self.window > 0 && self.set.contains(key)
    }

    /// Records `key`; false if it was already seen.
    pub fn insert(&mut self, key: &str) -> bool {
        if self.window == 0 {
            return true;
        }
        if self.set.contains(key) {
            return false;
        }
        if self.order.len() == self.window {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(key.to_owned());
        self.order.push_back(key.to_owned());
        self.new.push(key.to_owned());
        true
    }

    /// Restores a key seen by an earlier run, oldest first.
    pub fn restore(&mut self, key: String) {
        if self.insert(&key) {
            self.new.pop();
        }
    }

    /// The keys recorded since the last call.
    pub fn take_new(&mut self) -> Vec<String> {
        std::mem::take(&mut self.new)
    }

    #[must_use]
    pub fn window(&self) -> usize {
        self.window
    }
}

/// Matches every event of `input` (named `file`) against `rules`; `format` turns each
/// detection (with its line number) into text, handed to `write` in input order, and
/// lines that are no event go to `bad`, in their place. Events in `seen` are passed
/// over (one `seen` across files passes over an event logged twice).
///
/// # Errors
/// Reading fails, or `write` does.
pub fn scan_reader(
    file: &str,
    input: impl Read,
    rules: &RuleSet,
    format: impl Fn(u64, &Detection<'_>, &AuditEvent<'_>) -> String + Sync,
    in_order: &mut InOrder<'_>,
    mut write: impl FnMut(&str) -> std::io::Result<()>,
    mut bad: impl FnMut(BadLine),
) -> std::io::Result<Totals> {
    type Line = (u64, Result<Vec<u8>, BadLine>);
    let mut totals = Totals::default();
    let mut batch: Vec<Line> = Vec::with_capacity(BATCH_LINES);
    let mut failed = None;
    let mut flush = |batch: &mut Vec<Line>, totals: &mut Totals| {
        let outcomes: Vec<_> = batch
            .par_iter()
            .map(|(line, bytes)| {
                let bytes = bytes.as_ref().map_err(Clone::clone)?;
                line_detections(file, *line, bytes, rules, |d, e| format(*line, d, e))
            })
            .collect();
        for ((line, bytes), outcome) in batch.iter().zip(outcomes) {
            let at = LineAt {
                file,
                line: *line,
                bytes: bytes.as_deref().unwrap_or_default(),
            };
            in_order.finish(
                totals,
                outcome,
                at,
                |d, e| format(*line, d, e),
                |l| {
                    if failed.is_none() {
                        failed = write(&l).err();
                    }
                },
                &mut bad,
            );
        }
        batch.clear();
    };
    for_each_line(file, input, |line, bytes| {
        batch.push((line, bytes.map(<[u8]>::to_vec)));
        if batch.len() == BATCH_LINES {
            flush(&mut batch, &mut totals);
        }
    })?;
    flush(&mut batch, &mut totals);
    match failed {
        Some(e) => Err(e),
        None => Ok(totals),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_remembers_a_window_of_events() {
        let mut seen = Seen::new(2);
        assert!(seen.insert("a/ResponseComplete"));
        assert!(!seen.insert("a/ResponseComplete"));
        assert!(
            seen.insert("a/ResponseStarted"),
            "another stage is another event"
        );
        assert!(seen.insert("b/ResponseComplete"));
        // "a/ResponseComplete" left the window.
        assert!(seen.insert("a/ResponseComplete"));
        assert_eq!(seen.take_new().len(), 4);
        let mut restored = Seen::new(2);
        restored.restore("x".into());
        assert!(!restored.insert("x"));
        assert!(restored.take_new().is_empty(), "restored keys are not new");
        let mut off = Seen::new(0);
        assert!(off.insert("x") && off.insert("x"));
    }
}
