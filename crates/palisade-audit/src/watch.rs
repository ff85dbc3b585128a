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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use rusqlite::{params, Connection, OptionalExtension};

use crate::events::{BadLine, MAX_LINE};
use crate::scan::{line_detections, InOrder, LineAt, Totals};
use crate::sink::HttpsSink;
use crate::spool::{SpoolGauge, SpoolRead, SpoolReader};
use crate::state::Change;
use crate::{AuditEvent, Detection, RuleSet};

/// How to watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub files: Vec<PathBuf>,
    /// A spool directory written by `palisade audit serve`.
    pub spool: Option<PathBuf>,
    /// The SQLite database of checkpoints.
    pub state: PathBuf,
    /// Where detections go, one per line.
    pub output: Output,
    /// How often files are looked at.
    pub poll: Duration,
    /// Stop after this long with nothing new (for batch runs and tests).
    pub idle_exit: Option<Duration>,
    /// How many events with detections are remembered to pass over a second delivery.
    pub dedup_window: usize,
}

impl WatchOptions {
    /// Watching `files`, with the defaults: 200 ms polls, no idle exit, 100,000
    /// remembered events.
    #[must_use]
    pub fn new(files: Vec<PathBuf>, state: PathBuf, output: Output) -> WatchOptions {
        WatchOptions {
            files,
            spool: None,
            state,
            output,
            poll: Duration::from_millis(200),
            idle_exit: None,
            dedup_window: 100_000,
        }
    }
}

/// Where detections go.
#[derive(Debug, Clone)]
pub enum Output {
    /// Appended to a file: exactly once across crashes (what was written past the
    /// checkpoint is cut off on start).
    File(PathBuf),
    /// Written to stdout: at least once (a crash between writing and checkpointing
    /// writes those again).
    Stdout,
    /// POSTed to an HTTPS endpoint ([`HttpsSink`]), trusted by the CA file if given:
    /// at least once, each with a stable id.
    Https { url: String, ca: Option<PathBuf> },
}

impl Output {
    /// The name under which its position is checkpointed.
    fn key(&self) -> String {
        match self {
            Output::File(p) => p.display().to_string(),
            Output::Stdout => "-".to_owned(),
            Output::Https { url, .. } => url.clone(),
        }
    }
}

/// An open output.
enum Sink {
    File { path: PathBuf, file: File },
    Stdout,
    Https(Box<HttpsSink>),
}

impl Sink {
    /// Opens `output`; a file is cut back to `recorded`, its length at the last
    /// checkpoint. Returns the position to count from.
    fn open(output: &Output, recorded: Option<u64>) -> Result<(Sink, u64), WatchError> {
        match output {
            Output::File(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| io(path, e))?;
                let on_disk = file.metadata().map_err(|e| io(path, e))?.len();
                // Undo output that was written but never recorded.
                let len = match recorded {
                    Some(len) if len <= on_disk => {
                        file.set_len(len).map_err(|e| io(path, e))?;
                        len
                    }
                    _ => on_disk,
                };
                let path = path.clone();
                Ok((Sink::File { path, file }, len))
            }
            Output::Stdout => Ok((Sink::Stdout, recorded.unwrap_or(0))),
            Output::Https { url, ca } => {
                let sink = HttpsSink::new(url, ca.as_deref())
                    .map_err(|e| WatchError::Io(url.clone(), std::io::Error::other(e)))?;
                Ok((Sink::Https(Box::new(sink)), recorded.unwrap_or(0)))
            }
        }
    }

    /// Writes `pending` (whole lines) and returns once it is durable or delivered.
    fn write(&mut self, pending: &[u8]) -> Result<(), WatchError> {
        match self {
            Sink::File { path, file } => {
                file.write_all(pending).map_err(|e| io(path, e))?;
                file.sync_data().map_err(|e| io(path, e))
            }
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(pending)
                    .and_then(|()| out.flush())
                    .map_err(|e| io(Path::new("stdout"), e))
            }
            Sink::Https(sink) => {
                for line in pending.split_inclusive(|b| *b == b'\n') {
                    let line = line.strip_suffix(b"\n").unwrap_or(line);
                    sink.deliver(line, |e| {
                        let _ = writeln!(
                            std::io::stderr(),
                            "warning: cannot deliver a detection ({e}); trying again"
                        );
                    });
                }
                Ok(())
            }
        }
    }
}

/// What a watch has done so far, readable while it runs (for `/metrics`).
#[derive(Debug, Default)]
pub struct Progress {
    pub events: AtomicU64,
    pub detections: AtomicU64,
    pub bad_lines: AtomicU64,
    pub duplicates: AtomicU64,
    /// Rounds whose output and checkpoint were made durable.
    pub checkpoints: AtomicU64,
}

impl Progress {
    fn publish(&self, t: Totals) {
        self.events.store(t.events, Ordering::Relaxed);
        self.detections.store(t.detections, Ordering::Relaxed);
        self.bad_lines.store(t.bad_lines, Ordering::Relaxed);
        self.duplicates.store(t.duplicates, Ordering::Relaxed);
        self.checkpoints.fetch_add(1, Ordering::Relaxed);
    }
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
    /// A gzip file (an old rotation, named on purpose): read once, through the
    /// decompressor; its offsets count decompressed bytes.
    gz: Option<Gz>,
}

struct Gz {
    reader: Box<BufReader<flate2::read::MultiGzDecoder<File>>>,
    done: bool,
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
         CREATE TABLE IF NOT EXISTS output (path TEXT PRIMARY KEY, length INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS spool (dir TEXT PRIMARY KEY, segment INTEGER NOT NULL, offset INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS seen (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS first_seen (rule TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (rule, value));
         CREATE TABLE IF NOT EXISTS pods (key TEXT PRIMARY KEY, fails TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS rbac_objects (key TEXT PRIMARY KEY, object TEXT NOT NULL);",
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

/// Where events come from.
enum Source {
    Log(Tracked),
    Spool(SpoolReader),
}

impl Source {
    fn step<F, B>(&mut self, p: &mut Pipeline<'_, F, B>) -> Result<bool, WatchError>
    where
        F: Fn(&str, u64, &Detection<'_>, &AuditEvent<'_>) -> String + Sync,
        B: FnMut(BadLine),
    {
        match self {
            Source::Log(t) => t.step(p),
            Source::Spool(s) => spool_step(s, p),
        }
    }

    fn save(&self, tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
        match self {
            Source::Log(t) => tx.execute(
                "INSERT INTO files (path, inode, offset) VALUES (?1, ?2, ?3)
                 ON CONFLICT(path) DO UPDATE SET inode = excluded.inode, offset = excluded.offset",
                params![t.name, t.inode, t.offset],
            ),
            Source::Spool(s) => tx.execute(
                "INSERT INTO spool (dir, segment, offset) VALUES (?1, ?2, ?3)
                 ON CONFLICT(dir) DO UPDATE SET segment = excluded.segment, offset = excluded.offset",
                params![s.dir.display().to_string(), s.seq, s.offset],
            ),
        }
        .map(drop)
    }
}

/// Reads the next lines of a spool; true if anything changed.
fn spool_step<F, B>(s: &mut SpoolReader, p: &mut Pipeline<'_, F, B>) -> Result<bool, WatchError>
where
    F: Fn(&str, u64, &Detection<'_>, &AuditEvent<'_>) -> String + Sync,
    B: FnMut(BadLine),
{
    let read = s
        .next_lines(complete_lines)
        .map_err(|e| io(&s.segment_path(), e))?;
    match read {
        SpoolRead::Lines(lines) => {
            let name = s.segment_path().display().to_string();
            p.lines(&name, s.offset, &lines);
            s.advance(lines.len() as u64);
            Ok(true)
        }
        SpoolRead::Finished { tail, offset } => {
            if tail > 0 {
                p.totals.bad_lines += 1;
                (p.bad)(BadLine {
                    file: s.dir.display().to_string(),
                    line: offset,
                    message: format!(
                        "{tail} bytes cut short at the end of a segment (the server stopped while \
                         writing; that batch was not acknowledged, so the sender sends it again)"
                    ),
                });
            }
            Ok(true)
        }
        SpoolRead::Nothing => Ok(false),
    }
}

/// Follows `options.files` (and `options.spool`), writing `format`ted detections to
/// `options.output`. `gauge` is the spool writer's, when it runs in this process;
/// `progress` is kept up to date after every checkpoint.
///
/// # Errors
/// A file, the output or the checkpoint database cannot be used.
pub fn watch(
    options: &WatchOptions,
    rules: &RuleSet,
    format: impl Fn(&str, u64, &Detection<'_>, &AuditEvent<'_>) -> String + Sync,
    bad: impl FnMut(BadLine),
    gauge: Option<Arc<SpoolGauge>>,
    progress: &Progress,
) -> Result<Totals, WatchError> {
    let state_err = |e| WatchError::State(options.state.display().to_string(), e);
    let mut db = open_state(&options.state)?;
    let out_key = options.output.key();
    let recorded: Option<u64> = db
        .query_row(
            "SELECT length FROM output WHERE path = ?1",
            [&out_key],
            |r| r.get(0),
        )
        .optional()
        .map_err(state_err)?;
    let (mut out, mut out_len) = Sink::open(&options.output, recorded)?;
    if recorded.is_none() {
        // Record the starting length before anything is written, so that output of a
        // run killed before its first checkpoint is cut back by the next one.
        db.execute(
            "INSERT INTO output (path, length) VALUES (?1, ?2)",
            params![out_key, out_len],
        )
        .map_err(state_err)?;
    }

    let mut in_order = InOrder::new(rules, options.dedup_window);
    restore(&db, &mut in_order, options.dedup_window).map_err(state_err)?;
    let mut p = Pipeline {
        format,
        bad,
        in_order,
        pending: Vec::new(),
        totals: Totals::default(),
    };
    let mut sources = Vec::new();
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
        sources.push(Source::Log(Tracked::resume(path, name, row)?));
    }
    if let Some(dir) = &options.spool {
        let row: Option<(u64, u64)> = db
            .query_row(
                "SELECT segment, offset FROM spool WHERE dir = ?1",
                [dir.display().to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(state_err)?;
        let (seq, offset) = row.unwrap_or((0, 0));
        sources.push(Source::Spool(SpoolReader::new(dir, seq, offset, gauge)));
    }

    let mut idle_since = Instant::now();
    loop {
        let mut progressed = false;
        for s in &mut sources {
            progressed |= s.step(&mut p)?;
        }
        if !p.pending.is_empty() {
            out.write(&p.pending)?;
            out_len += p.pending.len() as u64;
            p.pending.clear();
        }
        if progressed {
            let tx = db.transaction().map_err(state_err)?;
            for s in &sources {
                s.save(&tx).map_err(state_err)?;
            }
            tx.execute(
                "INSERT INTO output (path, length) VALUES (?1, ?2)
                 ON CONFLICT(path) DO UPDATE SET length = excluded.length",
                params![out_key, out_len],
            )
            .map_err(state_err)?;
            save(&tx, &mut p.in_order).map_err(state_err)?;
            tx.commit().map_err(state_err)?;
            for s in &mut sources {
                if let Source::Spool(spool) = s {
                    spool.recorded();
                }
            }
            progress.publish(p.totals);
            idle_since = Instant::now();
        } else if options.idle_exit.is_some_and(|d| idle_since.elapsed() >= d) {
            return Ok(p.totals);
        } else {
            std::thread::sleep(options.poll);
        }
    }
}

/// Whether `name` is a rotated copy of the log `log` (not compressed): logrotate's
/// `audit.log.1` or `audit.log-20261204`, or the API server's own
/// `audit-2026-12-04T10-00-00.000.log`.
fn is_rotation_of(name: &str, log: &str) -> bool {
    if name.ends_with(".gz") || name == log {
        return false;
    }
    if let Some(rest) = name.strip_prefix(log) {
        return rest.starts_with('.') || rest.starts_with('-');
    }
    match log.rsplit_once('.') {
        Some((stem, ext)) => name
            .strip_prefix(stem)
            .and_then(|r| r.strip_prefix('-'))
            .and_then(|r| r.strip_suffix(ext))
            .is_some_and(|r| r.ends_with('.') && r.starts_with(|c: char| c.is_ascii_digit())),
        None => false,
    }
}

/// Restores what an earlier run remembered: the last events with detections and the
/// stateful rules' state.
fn restore(db: &Connection, in_order: &mut InOrder<'_>, window: usize) -> rusqlite::Result<()> {
    let mut recent = db.prepare("SELECT key FROM seen ORDER BY seq DESC LIMIT ?1")?;
    let keys: Vec<String> = recent
        .query_map([window as u64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for key in keys.into_iter().rev() {
        in_order.seen.restore(key);
    }
    let mut changes = Vec::new();
    let mut q = db.prepare("SELECT rule, value FROM first_seen")?;
    for row in q.query_map([], |r| {
        Ok(Change::FirstSeen {
            rule: r.get(0)?,
            value: r.get(1)?,
        })
    })? {
        changes.push(row?);
    }
    let mut q = db.prepare("SELECT key, fails FROM pods")?;
    for row in q.query_map([], |r| {
        let fails: String = r.get(1)?;
        Ok(Change::Pod {
            key: r.get(0)?,
            reasons: Some(
                fails
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
        })
    })? {
        changes.push(row?);
    }
    let mut q = db.prepare("SELECT key, object FROM rbac_objects")?;
    for row in q.query_map([], |r| {
        Ok(Change::Rbac {
            key: r.get(0)?,
            object: Some(r.get(1)?),
        })
    })? {
        changes.push(row?);
    }
    for c in changes {
        in_order.state.restore(c);
    }
    Ok(())
}

/// Writes what was remembered since the last checkpoint, in its transaction.
fn save(tx: &rusqlite::Transaction<'_>, in_order: &mut InOrder<'_>) -> rusqlite::Result<()> {
    let new = in_order.seen.take_new();
    if !new.is_empty() {
        let mut insert = tx.prepare_cached("INSERT INTO seen (key) VALUES (?1)")?;
        for key in &new {
            insert.execute([key])?;
        }
        tx.execute(
            "DELETE FROM seen WHERE seq <= (SELECT MAX(seq) FROM seen) - ?1",
            [in_order.seen.window() as u64],
        )?;
    }
    for change in in_order.state.take_changes() {
        match change {
            Change::FirstSeen { rule, value } => tx.execute(
                "INSERT OR IGNORE INTO first_seen (rule, value) VALUES (?1, ?2)",
                params![rule, value],
            )?,
            Change::Pod {
                key,
                reasons: Some(fails),
            } => tx.execute(
                "INSERT OR REPLACE INTO pods (key, fails) VALUES (?1, ?2)",
                params![key, fails.join(",")],
            )?,
            Change::Pod { key, reasons: None } => {
                tx.execute("DELETE FROM pods WHERE key = ?1", [key])?
            }
            Change::Rbac {
                key,
                object: Some(object),
            } => tx.execute(
                "INSERT OR REPLACE INTO rbac_objects (key, object) VALUES (?1, ?2)",
                params![key, object],
            )?,
            Change::Rbac { key, object: None } => {
                tx.execute("DELETE FROM rbac_objects WHERE key = ?1", [key])?
            }
        };
    }
    Ok(())
}

/// Complete lines are read at most about this much at a time, so that a large log
/// is followed in bounded memory (and checkpointed as it goes).
const CHUNK: u64 = 4 << 20;

/// What turns lines into output: the rules, the format, and what the round produced.
struct Pipeline<'a, F, B> {
    format: F,
    bad: B,
    in_order: InOrder<'a>,
    pending: Vec<u8>,
    totals: Totals,
}

impl<F, B> Pipeline<'_, F, B>
where
    F: Fn(&str, u64, &Detection<'_>, &AuditEvent<'_>) -> String + Sync,
    B: FnMut(BadLine),
{
    /// Matches the complete lines `bytes`, which start at byte `offset` of `name`.
    /// Lines are named by their byte offset: a line's number is not known after a
    /// restart or a rotation.
    fn lines(&mut self, name: &str, offset: u64, bytes: &[u8]) {
        let mut at = offset;
        let lines: Vec<(u64, &[u8])> = bytes
            .split_inclusive(|b| *b == b'\n')
            .map(|line| {
                let start = at;
                at += line.len() as u64;
                (start, line)
            })
            .collect();
        // Matched on every core, then finished in order (as `scan` does).
        let format = &self.format;
        let rules = self.in_order.rules;
        let outcomes: Vec<_> = lines
            .par_iter()
            .map(|(at, line)| {
                line_detections(name, *at, line, rules, |d, e| format(name, *at, d, e))
            })
            .collect();
        for ((at, line), outcome) in lines.into_iter().zip(outcomes) {
            let pending = &mut self.pending;
            let place = LineAt {
                file: name,
                line: at,
                bytes: line,
            };
            self.in_order.finish(
                &mut self.totals,
                outcome,
                place,
                |d, e| format(name, at, d, e),
                |l| {
                    pending.extend_from_slice(l.as_bytes());
                    pending.push(b'\n');
                },
                &mut self.bad,
            );
        }
    }
}

/// The complete lines of `file` from `offset`: about [`CHUNK`] bytes, more only to
/// finish a line (up to [`MAX_LINE`]); a longer line is returned whole as it is, to be
/// reported and passed over.
fn complete_lines(file: &mut File, offset: u64) -> std::io::Result<Vec<u8>> {
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
    read()?;
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
    /// A file to follow from its recorded place (inode, offset), if any.
    fn resume(path: &Path, name: String, row: Option<(u64, u64)>) -> Result<Tracked, WatchError> {
        let mut t = Tracked {
            path: path.to_owned(),
            name,
            file: None,
            inode: 0,
            offset: 0,
            gz: None,
        };
        if path.extension().is_some_and(|e| e == "gz") {
            let file = File::open(path).map_err(|e| io(path, e))?;
            t.inode = file.metadata().map_err(|e| io(path, e))?.ino();
            let mut reader = Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)));
            // Read from where the last run was, unless the file was replaced.
            if let Some((_, offset)) = row.filter(|(inode, _)| *inode == t.inode) {
                std::io::copy(&mut (&mut *reader).take(offset), &mut std::io::sink())
                    .map_err(|e| io(path, e))?;
                t.offset = offset;
            }
            t.gz = Some(Gz {
                reader,
                done: false,
            });
            return Ok(t);
        }
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
        Ok(t)
    }

    /// The next lines of a gzip file; false once it is read.
    fn step_gz<F, B>(&mut self, p: &mut Pipeline<'_, F, B>) -> Result<bool, WatchError>
    where
        F: Fn(&str, u64, &Detection<'_>, &AuditEvent<'_>) -> String + Sync,
        B: FnMut(BadLine),
    {
        let Some(gz) = self.gz.as_mut().filter(|g| !g.done) else {
            return Ok(false);
        };
        let mut buf = Vec::new();
        let mut read = || -> std::io::Result<()> {
            (&mut *gz.reader).take(CHUNK).read_to_end(&mut buf)?;
            if buf.last().is_some_and(|b| *b != b'\n') {
                (&mut *gz.reader)
                    .take(MAX_LINE as u64)
                    .read_until(b'\n', &mut buf)?;
            }
            Ok(())
        };
        read().map_err(|e| io(&self.path, e))?;
        if buf.is_empty() {
            gz.done = true;
            return Ok(false);
        }
        p.lines(&self.name, self.offset, &buf);
        self.offset += buf.len() as u64;
        Ok(true)
    }

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

    /// After a renamed file is read to its end: the file written after it, which is the
    /// one at the path unless the log rotated more than once meanwhile (a watcher that
    /// was stopped): then the older rotation (`audit.log.1`, or the API server's own
    /// `audit-<time>.log`) is next, found as the least recently written file of the
    /// log's name written after the finished one.
    fn open_next(&mut self, current_inode: u64) -> Result<(), WatchError> {
        let finished = self
            .file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .and_then(|m| m.modified().ok());
        let (Some(finished), Some(log_name)) = (
            finished,
            self.path
                .file_name()
                .and_then(|s| s.to_str())
                .map(str::to_owned),
        ) else {
            self.open_current()?;
            return Ok(());
        };
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let next = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| is_rotation_of(&e.file_name().to_string_lossy(), &log_name))
            .filter_map(|e| {
                let m = e.metadata().ok().filter(std::fs::Metadata::is_file)?;
                let written = m.modified().ok()?;
                (m.ino() != self.inode && m.ino() != current_inode && written >= finished)
                    .then(|| (written, m.ino(), e.path()))
            })
            .min();
        match next {
            Some((_, inode, path)) => {
                self.offset = 0;
                self.inode = inode;
                self.file = Some(File::open(&path).map_err(|e| io(&path, e))?);
            }
            None => {
                self.open_current()?;
            }
        }
        Ok(())
    }

    /// Matches the next chunk of complete lines; true if there was one.
    fn read_new<F, B>(&mut self, p: &mut Pipeline<'_, F, B>) -> Result<bool, WatchError>
    where
        F: Fn(&str, u64, &Detection<'_>, &AuditEvent<'_>) -> String + Sync,
        B: FnMut(BadLine),
    {
        let Some(file) = self.file.as_mut() else {
            return Ok(false);
        };
        let lines = complete_lines(file, self.offset).map_err(|e| io(&self.path, e))?;
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
        F: Fn(&str, u64, &Detection<'_>, &AuditEvent<'_>) -> String + Sync,
        B: FnMut(BadLine),
    {
        if self.gz.is_some() {
            return self.step_gz(p);
        }
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
                self.open_next(current.ino())?;
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
                        let lines = complete_lines(&mut file, at).map_err(|e| io(&copy, e))?;
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
    fn rotated_copies_are_told_from_other_files() {
        for name in [
            "audit.log.1",
            "audit.log-20261204",
            "audit-2026-12-04T10-00-00.000.log",
        ] {
            assert!(is_rotation_of(name, "audit.log"), "{name}");
        }
        for name in [
            "audit.log",
            "audit.log.2.gz",
            "audit-policy.yaml",
            "audit-policy.log",
            "auditx.log.1",
        ] {
            assert!(!is_rotation_of(name, "audit.log"), "{name}");
        }
    }

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
        let first = complete_lines(&mut file, 0).unwrap();
        assert!(first.len() as u64 <= CHUNK, "{}", first.len());
        assert!(first.len() as u64 > CHUNK - 1024);
        assert!(first.ends_with(b"\n"));
        let second = complete_lines(&mut file, first.len() as u64).unwrap();
        assert_eq!(
            first.len() + second.len(),
            6 << 20,
            "the partial line is left"
        );
        let none = complete_lines(&mut file, 6 << 20).unwrap();
        assert!(none.is_empty());
    }
}
