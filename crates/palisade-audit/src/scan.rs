//! Reading a log and matching every event, on every core: lines are read in batches,
//! each batch parsed and matched in parallel, and the results written in input order.

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
}

/// The number of events of one line and its detections, each `format`ted; or why the
/// line is no event. The one pipeline of `scan` and `watch`.
///
/// # Errors
/// The line is not an audit event.
pub fn line_detections(
    file: &str,
    line: u64,
    bytes: &[u8],
    rules: &RuleSet,
    format: impl Fn(&Detection<'_>, &AuditEvent<'_>) -> String,
) -> Result<(u64, Vec<String>), BadLine> {
    let events = line_events(file, line, bytes)?;
    let detections = events
        .iter()
        .flat_map(|e| {
            detect(rules, e)
                .iter()
                .map(|d| format(d, e))
                .collect::<Vec<_>>()
        })
        .collect();
    Ok((events.len() as u64, detections))
}

impl Totals {
    /// Counts one line's outcome and hands on its detections or its error.
    pub fn add(
        &mut self,
        outcome: Result<(u64, Vec<String>), BadLine>,
        mut detection: impl FnMut(String),
        bad: &mut impl FnMut(BadLine),
    ) {
        match outcome {
            Ok((events, lines)) => {
                self.events += events;
                for l in lines {
                    self.detections += 1;
                    detection(l);
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
/// lines that are no event go to `bad`, in their place.
///
/// # Errors
/// Reading fails, or `write` does.
pub fn scan_reader(
    file: &str,
    input: impl Read,
    rules: &RuleSet,
    format: impl Fn(u64, &Detection<'_>, &AuditEvent<'_>) -> String + Sync,
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
