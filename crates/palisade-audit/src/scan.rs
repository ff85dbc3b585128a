//! Reading a log and matching every event, on every core: lines are read in batches,
//! each batch parsed and matched in parallel, and the results written in input order.

use std::io::Read;

use rayon::prelude::*;

use crate::events::{for_each_line, line_events, BadLine};
use crate::{detect, AuditEvent, Detection, RuleSet};

/// Lines read before a batch is handed to the pool.
const BATCH_LINES: usize = 8192;

/// What a scan saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub events: u64,
    pub detections: u64,
    pub bad_lines: u64,
}

/// What one line gave: its events' detections (formatted), or why it is no event.
type LineResult = (u64, Result<Vec<String>, BadLine>);

/// Matches every event of `input` (named `file`) against `rules`; `format` turns each
/// detection (with its line number) into text, handed to `write` in input order, and
/// lines that are no event go to `bad`.
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
    let mut totals = Totals::default();
    let mut batch: Vec<(u64, Vec<u8>)> = Vec::with_capacity(BATCH_LINES);
    let mut failed = None;
    let mut flush = |batch: &mut Vec<(u64, Vec<u8>)>, totals: &mut Totals| {
        let results: Vec<(usize, LineResult)> = batch
            .par_iter()
            .map(|(line, bytes)| {
                let r = line_events(file, *line, bytes).map(|events| {
                    let n = events.len();
                    let lines: Vec<String> = events
                        .iter()
                        .flat_map(|e| {
                            detect(rules, e)
                                .iter()
                                .map(|d| format(*line, d, e))
                                .collect::<Vec<_>>()
                        })
                        .collect();
                    (n, lines)
                });
                match r {
                    Ok((n, lines)) => (n, (*line, Ok(lines))),
                    Err(b) => (0, (*line, Err(b))),
                }
            })
            .collect();
        batch.clear();
        for (n, (_, r)) in results {
            totals.events += n as u64;
            match r {
                Ok(lines) => {
                    for l in lines {
                        totals.detections += 1;
                        if failed.is_none() {
                            if let Err(e) = write(&l) {
                                failed = Some(e);
                            }
                        }
                    }
                }
                Err(b) => {
                    totals.bad_lines += 1;
                    bad(b);
                }
            }
        }
    };
    let mut too_long = Vec::new();
    for_each_line(
        file,
        input,
        |line, bytes| {
            batch.push((line, bytes.to_vec()));
            if batch.len() == BATCH_LINES {
                flush(&mut batch, &mut totals);
            }
        },
        |b| too_long.push(b),
    )?;
    flush(&mut batch, &mut totals);
    totals.bad_lines += too_long.len() as u64;
    for b in too_long {
        bad(b);
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(totals),
    }
}
