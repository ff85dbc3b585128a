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
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension};

use crate::events::{BadLine, MAX_LINE};
use crate::scan::{line_detections, Totals};
use crate::{AuditEvent, Detection, RuleSet};

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
    bad: impl FnMut(BadLine),
) -> Result<Totals, WatchError> {
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

    let mut p = Pipeline {
        rules,
        format,
        bad,
        pending: Vec::new(),
        totals: Totals::default(),
    };
    let mut tracked = Vec::new();
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
            progressed |= t.step(&mut p)?;
        }
        if !p.pending.is_empty() {
            out.write_all(&p.pending)
                .map_err(|e| io(&options.output, e))?;
            out.sync_data().map_err(|e| io(&options.output, e))?;
            out_len += p.pending.len() as u64;
            p.pending.clear();
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
            return Ok(p.totals);
        } else {
            std::thread::sleep(options.poll);
        }
    }
}

/// Complete lines are read at most about this much at a time, so that a large log
/// is followed in bounded memory (and checkpointed as it goes).
const CHUNK: u64 = 4 << 20;

/// What turns lines into output: the rules, the format, and what the round produced.
struct Pipeline<'a, F, B> {
    rules: &'a RuleSet,
    format: F,
    bad: B,
    pending: Vec<u8>,
    totals: Totals,
}

impl<F, B> Pipeline<'_, F, B>
where
    F: Fn(&str, u64, &Detection<'_>, &AuditEvent<'_>) -> String,
    B: FnMut(BadLine),
{
    /// Matches the complete lines `bytes`, which start at byte `offset` of `name`.
    /// Lines are named by their byte offset: a line's number is not known after a
    /// restart or a rotation.
    fn lines(&mut self, name: &str, offset: u64, bytes: &[u8]) {
        let mut at = offset;
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            let outcome = line_detections(name, at, line, self.rules, |d, e| {
                (self.format)(name, at, d, e)
            });
            let pending = &mut self.pending;
            self.totals.add(
                outcome,
                |l| {
                    pending.extend_from_slice(l.as_bytes());
                    pending.push(b'\n');
                },
                &mut self.bad,
            );
            at += line.len() as u64;
        }
    }
}

/// The complete lines of `file` from `offset`: about [`CHUNK`] bytes, more only to
/// finish a line (up to [`MAX_LINE`]); a longer line is returned whole as it is, to be
/// reported and passed over.
fn complete_lines(file: &mut File, offset: u64, path: &Path) -> Result<Vec<u8>, WatchError> {
    let mut buf = Vec::new();
    let mut read = || -> std::io::Result<()> {
        file.seek(SeekFrom::Start(offset))?;
        let mut reader = BufReader::new(&mut *file);
        (&mut reader).take(CHUNK).read_to_end(&mut buf)?;
        if buf.len() as u64 == CHUNK && buf.last() != Some(&b'\n') {
            (&mut reader)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut buf)?;
        }
        Ok(())
    };
    read().map_err(|e| io(path, e))?;
    let end = match buf.iter().rposition(|b| *b == b'\n') {
        Some(last) => last + 1,
        None if buf.len() > MAX_LINE => buf.len(),
        // A line still being written is left for the next look.
        None => 0,
    };
    buf.truncate(end);
    Ok(buf)
}

impl Tracked {
    /// Opens the file now at the path (after a rotation, or when it first appears),
    /// so that the checkpoint names it; `false` if there is none yet.
    fn open_current(&mut self) -> Result<bool, WatchError> {
        self.offset = 0;
        match File::open(&self.path) {
            Ok(file) => {
                self.inode = file.metadata().map_err(|e| io(&self.path, e))?.ino();
                self.file = Some(file);
                Ok(true)
            }
            Err(_) => {
                self.inode = 0;
                self.file = None;
                Ok(false)
            }
        }
    }

    /// Matches the next chunk of complete lines; true if there was one.
    fn read_new<F, B>(&mut self, p: &mut Pipeline<'_, F, B>) -> Result<bool, WatchError>
    where
        F: Fn(&str, u64, &Detection<'_>, &AuditEvent<'_>) -> String,
        B: FnMut(BadLine),
    {
        let Some(file) = self.file.as_mut() else {
            return Ok(false);
        };
        let lines = complete_lines(file, self.offset, &self.path)?;
        if lines.is_empty() {
            return Ok(false);
        }
        p.lines(&self.name, self.offset, &lines);
        self.offset += lines.len() as u64;
        Ok(true)
    }

    /// Reads what is new (following a rotation); true if anything changed.
    fn step<F, B>(&mut self, p: &mut Pipeline<'_, F, B>) -> Result<bool, WatchError>
    where
        F: Fn(&str, u64, &Detection<'_>, &AuditEvent<'_>) -> String,
        B: FnMut(BadLine),
    {
        if self.file.is_none() && !self.open_current()? {
            return Ok(false); // not there yet
        }
        if self.read_new(p)? {
            // More may follow at once; rotation is looked at once the file is read.
            return Ok(true);
        }
        let Ok(current) = std::fs::metadata(&self.path) else {
            return Ok(false);
        };
        if current.ino() != self.inode {
            // Renamed away. Lines written just before the rename may have come after
            // the read above; nothing is written to it after, so once a read finds
            // nothing it is complete.
            if !self.read_new(p)? {
                self.open_current()?;
            }
            return Ok(true);
        }
        if current.len() < self.offset {
            // copytruncate: what was not read yet is in the copy.
            let copy = PathBuf::from(format!("{}.1", self.path.display()));
            if let Ok(mut file) = File::open(&copy) {
                if file.metadata().is_ok_and(|c| c.len() >= self.offset) {
                    let mut at = self.offset;
                    loop {
                        let lines = complete_lines(&mut file, at, &copy)?;
                        if lines.is_empty() {
                            break;
                        }
                        p.lines(&self.name, at, &lines);
                        at += lines.len() as u64;
                    }
                }
            }
            self.offset = 0;
            return Ok(true);
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_in_bounded_chunks_and_partial_lines_wait() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        // 6 MiB of 1 KiB lines and a line still being written.
        let line = format!("{}\n", "x".repeat(1023));
        let mut text = line.repeat(6 << 10);
        text.push_str("{\"partial");
        std::fs::write(&path, &text).unwrap();
        let mut file = File::open(&path).unwrap();
        let first = complete_lines(&mut file, 0, &path).unwrap();
        assert!(first.len() as u64 <= CHUNK, "{}", first.len());
        assert!(first.len() as u64 > CHUNK - 1024);
        assert!(first.ends_with(b"\n"));
        let second = complete_lines(&mut file, first.len() as u64, &path).unwrap();
        assert_eq!(
            first.len() + second.len(),
            6 << 20,
            "the partial line is left"
        );
        let none = complete_lines(&mut file, 6 << 20, &path).unwrap();
        assert!(none.is_empty());
    }
}
