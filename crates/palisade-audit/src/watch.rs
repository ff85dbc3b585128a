//! `palisade audit watch`: follows audit log files as the API server writes and rotates
//! them, and writes each detection exactly once to an output file, across crashes.
//!
//! Where each file was read to (its inode and offset) and how long the output file is
//! are kept in SQLite and written in one transaction after the output is on disk. On
//! start, output beyond the recorded length (written by a run killed before it could
//! record it) is cut off, and reading resumes at the recorded offsets: what was cut off
//! is written again, once. Rotation by rename (the log backend's own, logrotate's
//! `create`) is followed by finishing the renamed file, found by its inode, before the
//! new one; rotation by `copytruncate` by reading the rest from the copy (`<file>.1`)
//! before starting the truncated file again.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension};

use crate::events::{line_events, BadLine};
use crate::{detect, AuditEvent, Detection, RuleSet};

/// How to watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub files: Vec<PathBuf>,
    /// The SQLite database of checkpoints.
    pub state: PathBuf,
    /// Where detections go, one per line.
    pub output: PathBuf,
    /// How often files are looked at.
    pub poll: Duration,
    /// Stop after this long with nothing new (for batch runs and tests).
    pub idle_exit: Option<Duration>,
}

/// A watch failed (files, database).
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("checkpoint database {0}: {1}")]
    State(String, rusqlite::Error),
}

struct Tracked {
    path: PathBuf,
    name: String,
    file: Option<File>,
    inode: u64,
    offset: u64,
}

/// What a watch saw until it stopped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WatchTotals {
    pub events: u64,
    pub detections: u64,
    pub bad_lines: u64,
}

fn io(what: &Path, e: std::io::Error) -> WatchError {
    WatchError::Io(what.display().to_string(), e)
}

fn open_state(path: &Path) -> Result<Connection, WatchError> {
    let err = |e| WatchError::State(path.display().to_string(), e);
    let db = Connection::open(path).map_err(err)?;
    db.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, inode INTEGER NOT NULL, offset INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS output (path TEXT PRIMARY KEY, length INTEGER NOT NULL);",
    )
    .map_err(err)?;
    Ok(db)
}

/// A file in `path`'s directory with inode `inode` (where a renamed log went).
fn find_by_inode(path: &Path, inode: u64) -> Option<PathBuf> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .find(|e| e.metadata().is_ok_and(|m| m.ino() == inode && m.is_file()))
        .map(|e| e.path())
}

/// Follows `options.files`, writing `format`ted detections to `options.output`.
///
/// # Errors
/// A file, the output or the checkpoint database cannot be used.
pub fn watch(
    options: &WatchOptions,
    rules: &RuleSet,
    format: impl Fn(&str, u64, &Detection<'_>, &AuditEvent<'_>) -> String,
    mut bad: impl FnMut(BadLine),
) -> Result<WatchTotals, WatchError> {
    let state_err = |e| WatchError::State(options.state.display().to_string(), e);
    let mut db = open_state(&options.state)?;
    let out_key = options.output.display().to_string();

    // Undo output that was written but never recorded.
    let mut out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&options.output)
        .map_err(|e| io(&options.output, e))?;
    let recorded: Option<u64> = db
        .query_row(
            "SELECT length FROM output WHERE path = ?1",
            [&out_key],
            |r| r.get(0),
        )
        .optional()
        .map_err(state_err)?;
    let on_disk = out.metadata().map_err(|e| io(&options.output, e))?.len();
    let mut out_len = match recorded {
        Some(len) if len <= on_disk => {
            out.set_len(len).map_err(|e| io(&options.output, e))?;
            len
        }
        _ => on_disk,
    };

    let mut totals = WatchTotals::default();
    let mut tracked = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    for path in &options.files {
        let name = path.display().to_string();
        let row: Option<(u64, u64)> = db
            .query_row(
                "SELECT inode, offset FROM files WHERE path = ?1",
                [&name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(state_err)?;
        let mut t = Tracked {
            path: path.clone(),
            name,
            file: None,
            inode: 0,
            offset: 0,
        };
        if let Some((inode, offset)) = row {
            t.inode = inode;
            t.offset = offset;
            let current = std::fs::metadata(path).map(|m| m.ino()).ok();
            if current == Some(inode) {
                t.file = File::open(path).ok();
            } else if let Some(rotated) = find_by_inode(path, inode) {
                // Rotated while we were down: finish the old file first.
                t.file = File::open(&rotated).ok();
            } else {
                t.file = None;
                t.offset = 0;
            }
        }
        tracked.push(t);
    }

    let mut idle_since = Instant::now();
    loop {
        let mut progressed = false;
        for t in &mut tracked {
            progressed |= step(t, rules, &format, &mut pending, &mut totals, &mut bad)?;
        }
        if !pending.is_empty() {
            out.write_all(&pending)
                .map_err(|e| io(&options.output, e))?;
            out.sync_data().map_err(|e| io(&options.output, e))?;
            out_len += pending.len() as u64;
            pending.clear();
        }
        if progressed {
            let tx = db.transaction().map_err(state_err)?;
            for t in &tracked {
                tx.execute(
                    "INSERT INTO files (path, inode, offset) VALUES (?1, ?2, ?3)
                     ON CONFLICT(path) DO UPDATE SET inode = excluded.inode, offset = excluded.offset",
                    params![t.name, t.inode, t.offset],
                )
                .map_err(state_err)?;
            }
            tx.execute(
                "INSERT INTO output (path, length) VALUES (?1, ?2)
                 ON CONFLICT(path) DO UPDATE SET length = excluded.length",
                params![out_key, out_len],
            )
            .map_err(state_err)?;
            tx.commit().map_err(state_err)?;
            idle_since = Instant::now();
        } else if options.idle_exit.is_some_and(|d| idle_since.elapsed() >= d) {
            return Ok(totals);
        } else {
            std::thread::sleep(options.poll);
        }
    }
}

/// Reads what is new in one file (following a rotation); true if anything changed.
fn step(
    t: &mut Tracked,
    rules: &RuleSet,
    format: &impl Fn(&str, u64, &Detection<'_>, &AuditEvent<'_>) -> String,
    pending: &mut Vec<u8>,
    totals: &mut WatchTotals,
    bad: &mut impl FnMut(BadLine),
) -> Result<bool, WatchError> {
    let mut progressed = false;
    if t.file.is_none() {
        let Ok(file) = File::open(&t.path) else {
            return Ok(false); // not there yet
        };
        t.inode = file.metadata().map_err(|e| io(&t.path, e))?.ino();
        t.offset = 0;
        t.file = Some(file);
        progressed = true;
    }
    progressed |= read_new(t, rules, format, pending, totals, bad)?;
    // Rotated by rename: the open file is complete once it has been read to its end.
    let current = std::fs::metadata(&t.path).ok();
    match current {
        Some(m) if m.ino() != t.inode => {
            // Lines written to the old file between the read above and the rename.
            read_new(t, rules, format, pending, totals, bad)?;
            // Switch at once, so that the checkpoint names the new file: a restart
            // must not read the old one again.
            match File::open(&t.path) {
                Ok(file) => {
                    t.inode = file.metadata().map_err(|e| io(&t.path, e))?.ino();
                    t.file = Some(file);
                }
                Err(_) => {
                    t.inode = 0;
                    t.file = None;
                }
            }
            t.offset = 0;
            progressed = true;
        }
        Some(m) if m.len() < t.offset => {
            // copytruncate: what was not read yet is in the copy.
            let copy = PathBuf::from(format!("{}.1", t.path.display()));
            if let Ok(mut file) = File::open(&copy) {
                if file.metadata().is_ok_and(|c| c.len() >= t.offset) {
                    let mut rest = Vec::new();
                    file.seek(SeekFrom::Start(t.offset))
                        .and_then(|_| file.read_to_end(&mut rest))
                        .map_err(|e| io(&copy, e))?;
                    let end = rest.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                    process(
                        &t.name,
                        t.offset,
                        &rest[..end],
                        rules,
                        format,
                        pending,
                        totals,
                        bad,
                    );
                }
            }
            t.offset = 0;
            progressed = true;
        }
        _ => {}
    }
    Ok(progressed)
}

/// Reads complete lines after `t.offset` and processes them.
fn read_new(
    t: &mut Tracked,
    rules: &RuleSet,
    format: &impl Fn(&str, u64, &Detection<'_>, &AuditEvent<'_>) -> String,
    pending: &mut Vec<u8>,
    totals: &mut WatchTotals,
    bad: &mut impl FnMut(BadLine),
) -> Result<bool, WatchError> {
    let Some(file) = t.file.as_mut() else {
        return Ok(false);
    };
    let mut buf = Vec::new();
    file.seek(SeekFrom::Start(t.offset))
        .and_then(|_| file.read_to_end(&mut buf))
        .map_err(|e| io(&t.path, e))?;
    // A line still being written is left for the next look.
    let Some(last) = buf.iter().rposition(|b| *b == b'\n') else {
        return Ok(false);
    };
    let complete = &buf[..=last];
    process(
        &t.name, t.offset, complete, rules, format, pending, totals, bad,
    );
    t.offset += complete.len() as u64;
    Ok(true)
}

#[allow(clippy::too_many_arguments)] // one call site each, all state of the loop
fn process(
    name: &str,
    offset: u64,
    bytes: &[u8],
    rules: &RuleSet,
    format: &impl Fn(&str, u64, &Detection<'_>, &AuditEvent<'_>) -> String,
    pending: &mut Vec<u8>,
    totals: &mut WatchTotals,
    bad: &mut impl FnMut(BadLine),
) {
    let mut at = offset;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        // Lines are named by their byte offset: the line number is not known after a
        // restart or a rotation.
        match line_events(name, at, line) {
            Ok(events) => {
                for e in &events {
                    totals.events += 1;
                    for d in detect(rules, e) {
                        totals.detections += 1;
                        pending.extend_from_slice(format(name, at, &d, e).as_bytes());
                        pending.push(b'\n');
                    }
                }
            }
            Err(b) => {
                totals.bad_lines += 1;
                bad(b);
            }
        }
        at += line.len() as u64;
    }
}
