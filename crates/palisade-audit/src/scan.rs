//! Reading a log and matching every event, on every core: lines are read in batches,
//! each batch parsed and matched in parallel, and the results written in input order.

use std::collections::{HashSet, VecDeque};
use std::io::Read;

use rayon::prelude::*;

use crate::events::{for_each_line, line_events, BadLine};
use crate::{detect, AuditEvent, Detection, RuleSet};

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

/// One line's events: how many, and for each event with detections, its identity
/// (`auditID/stage`, when it has both) and its `format`ted detections.
#[derive(Debug, Default)]
pub struct LineOutcome {
    pub events: u64,
    pub detected: Vec<(Option<String>, Vec<String>)>,
}

/// The events of one line and their detections, each `format`ted; or why the line is
/// no event. The one pipeline of `scan`, `watch` and `serve`.
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
    let detected = events
        .iter()
        .filter_map(|e| {
            let found = detect(rules, e);
            if found.is_empty() {
                return None;
            }
            let key = match (&e.head.audit_id, &e.head.stage) {
                (Some(id), Some(stage)) => Some(format!("{id}/{stage}")),
                _ => None,
            };
            Some((key, found.iter().map(|d| format(d, e)).collect()))
        })
        .collect();
    Ok(LineOutcome {
        events: events.len() as u64,
        detected,
    })
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

impl Totals {
    /// Counts one line's outcome and hands on its detections (those of events not
    /// `seen` before) or its error.
    pub fn add(
        &mut self,
        outcome: Result<LineOutcome, BadLine>,
        seen: &mut Seen,
        mut detection: impl FnMut(String),
        bad: &mut impl FnMut(BadLine),
    ) {
        match outcome {
            Ok(LineOutcome { events, detected }) => {
                self.events += events;
                for (key, lines) in detected {
                    if key.as_deref().is_some_and(|k| !seen.insert(k)) {
                        self.duplicates += 1;
                        continue;
                    }
                    for l in lines {
                        self.detections += 1;
                        detection(l);
                    }
                }
            }
            Err(b) => {
                self.bad_lines += 1;
                bad(b);
            }
        }
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
    seen: &mut Seen,
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
        batch.clear();
        for outcome in outcomes {
            totals.add(
                outcome,
                seen,
                |l| {
                    if failed.is_none() {
                        failed = write(&l).err();
                    }
                },
                &mut bad,
            );
        }
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
