//! The spool of `palisade audit serve`: events the webhook backend sent, on disk before
//! they are acknowledged, read by the same loop as a log file.
//!
//! A spool is a directory of numbered segments (`00000000000000000001.jsonl`, ...), one
//! event per line. The writer appends to the newest segment only and starts a new one
//! when it is full and at every start, so a segment is final once a later one exists:
//! a line a crash cut short stays at the end of its segment (its batch was never
//! acknowledged, so the sender sends it again) and is reported, not read as an event.
//! The reader keeps its place (segment, offset) in the watch's checkpoint database and
//! deletes a segment once that place is past it and recorded.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Bytes in the spool not yet read: what the writer bounds.
#[derive(Debug, Default)]
pub struct SpoolGauge {
    /// Bytes in segments on disk.
    on_disk: AtomicU64,
    /// How far the reader is into the oldest segment.
    read: AtomicU64,
}

impl SpoolGauge {
    /// Bytes written and not yet read.
    #[must_use]
    pub fn backlog(&self) -> u64 {
        self.on_disk
            .load(Ordering::Relaxed)
            .saturating_sub(self.read.load(Ordering::Relaxed))
    }
}

fn segment_name(seq: u64) -> String {
    format!("{seq:020}.jsonl")
}

/// The segments in `dir`, oldest first.
///
/// # Errors
/// The directory cannot be read.
pub fn segments(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name();
            let seq = name.to_str()?.strip_suffix(".jsonl")?.parse().ok()?;
            Some((seq, e.path()))
        })
        .collect();
    found.sort_unstable();
    Ok(found)
}

/// Appends events to the spool.
#[derive(Debug)]
pub struct SpoolWriter {
    dir: PathBuf,
    seq: u64,
    file: File,
    len: u64,
    segment_bytes: u64,
    gauge: Arc<SpoolGauge>,
}

impl SpoolWriter {
    /// Opens `dir` (made if missing) and starts a new segment after the last one;
    /// segments start anew after `segment_bytes`. The gauge counts what is on disk.
    ///
    /// # Errors
    /// The directory cannot be made or read, or the segment cannot be created.
    pub fn open(dir: &Path, segment_bytes: u64) -> std::io::Result<SpoolWriter> {
        std::fs::create_dir_all(dir)?;
        let existing = segments(dir)?;
        let on_disk = existing
            .iter()
            .filter_map(|(_, p)| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        let seq = existing.last().map_or(1, |(s, _)| s + 1);
        let gauge = Arc::new(SpoolGauge {
            on_disk: AtomicU64::new(on_disk),
            read: AtomicU64::new(0),
        });
        let file = create_segment(dir, seq)?;
        Ok(SpoolWriter {
            dir: dir.to_owned(),
            seq,
            file,
            len: 0,
            segment_bytes,
            gauge,
        })
    }

    /// What the reader updates as it goes, and the writer reads to bound the spool.
    #[must_use]
    pub fn gauge(&self) -> Arc<SpoolGauge> {
        self.gauge.clone()
    }

    /// Appends `bytes` (whole lines); durable only after [`SpoolWriter::sync`].
    ///
    /// # Errors
    /// The write failed.
    pub fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)?;
        self.len += bytes.len() as u64;
        self.gauge
            .on_disk
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Starts a new segment, leaving the current one as it is (after a failed write,
    /// so that a partial line is never continued).
    ///
    /// # Errors
    /// The segment cannot be created.
    pub fn start_segment(&mut self) -> std::io::Result<()> {
        self.file = create_segment(&self.dir, self.seq + 1)?;
        self.seq += 1;
        self.len = 0;
        Ok(())
    }

    /// Makes what was appended durable, then starts a new segment if this one is full.
    ///
    /// # Errors
    /// The sync or the new segment failed.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()?;
        if self.len >= self.segment_bytes {
            self.start_segment()?;
        }
        Ok(())
    }
}

/// Creates segment `seq` and makes its name durable.
fn create_segment(dir: &Path, seq: u64) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(dir.join(segment_name(seq)))?;
    File::open(dir)?.sync_all()?;
    Ok(file)
}

/// Where the reader of a spool is, and what it has finished.
#[derive(Debug)]
pub struct SpoolReader {
    pub dir: PathBuf,
    /// The segment being read (0 before the first).
    pub seq: u64,
    pub offset: u64,
    file: Option<File>,
    /// Segments read to their end, deleted once the place past them is recorded.
    finished: Vec<(PathBuf, u64)>,
    gauge: Option<Arc<SpoolGauge>>,
}

/// What [`SpoolReader::next_lines`] found.
#[derive(Debug)]
pub enum SpoolRead {
    /// Complete lines at `offset` of the current segment.
    Lines(Vec<u8>),
    /// The current segment is final and was read to its end, but for `tail` (a line a
    /// crash cut short, if not empty) at `offset`; the reader moved on.
    Finished {
        tail: u64,
        offset: u64,
    },
    Nothing,
}

impl SpoolReader {
    /// A reader of `dir` at the recorded place; `gauge` (the writer's, when both run
    /// in one process) is kept up to date.
    #[must_use]
    pub fn new(dir: &Path, seq: u64, offset: u64, gauge: Option<Arc<SpoolGauge>>) -> SpoolReader {
        if let Some(g) = &gauge {
            g.read.store(offset, Ordering::Relaxed);
        }
        SpoolReader {
            dir: dir.to_owned(),
            seq,
            offset,
            file: None,
            finished: Vec::new(),
            gauge,
        }
    }

    /// The current segment's name, for reports.
    #[must_use]
    pub fn segment_path(&self) -> PathBuf {
        self.dir.join(segment_name(self.seq))
    }

    /// The next complete lines (about `chunk` bytes), or the end of a final segment.
    ///
    /// # Errors
    /// A segment cannot be read.
    pub fn next_lines(
        &mut self,
        complete_lines: impl Fn(&mut File, u64) -> std::io::Result<Vec<u8>>,
    ) -> std::io::Result<SpoolRead> {
        let all = if self.file.is_none() {
            let all = segments(&self.dir)?;
            // The recorded segment, or the first after it (a place of 0 is before all).
            let Some((seq, path)) = all.iter().find(|(s, _)| *s >= self.seq).cloned() else {
                return Ok(SpoolRead::Nothing);
            };
            if seq != self.seq {
                self.seq = seq;
                self.offset = 0;
            }
            self.file = Some(File::open(path)?);
            Some(all)
        } else {
            None
        };
        let path = self.segment_path();
        let file = self.file.as_mut().expect("opened above");
        let lines = complete_lines(file, self.offset)?;
        if !lines.is_empty() {
            return Ok(SpoolRead::Lines(lines));
        }
        let all = match all {
            Some(all) => all,
            None => segments(&self.dir)?,
        };
        let Some((next, _)) = all.iter().find(|(s, _)| *s > self.seq) else {
            return Ok(SpoolRead::Nothing);
        };
        // A later segment exists, so nothing more is written to this one.
        let len = file.metadata()?.len();
        let tail = len.saturating_sub(self.offset);
        let offset = self.offset;
        self.finished.push((path, len));
        self.seq = *next;
        self.offset = 0;
        self.file = None;
        Ok(SpoolRead::Finished { tail, offset })
    }

    /// Counts `n` bytes of the current segment as read.
    pub fn advance(&mut self, n: u64) {
        self.offset += n;
    }

    /// The place is recorded: finished segments go, and the gauge learns the place.
    pub fn recorded(&mut self) {
        for (path, len) in self.finished.drain(..) {
            if std::fs::remove_file(&path).is_ok() {
                if let Some(g) = &self.gauge {
                    g.on_disk.fetch_sub(len, Ordering::Relaxed);
                }
            }
        }
        if let Some(g) = &self.gauge {
            g.read.store(self.offset, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// All complete lines from `offset`, as the watch reads them.
    fn lines(file: &mut File, offset: u64) -> std::io::Result<Vec<u8>> {
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::Start(offset))?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf)?;
        let end = buf.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        buf.truncate(end);
        Ok(buf)
    }

    #[test]
    fn segments_roll_are_read_in_order_and_go_once_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        let mut w = SpoolWriter::open(&spool, 10).unwrap();
        let gauge = w.gauge();
        w.append(b"{\"a\":1}\n{\"a\":2}\n").unwrap();
        w.sync().unwrap(); // full: a second segment starts
        w.append(b"{\"a\":3}\n").unwrap();
        w.sync().unwrap();
        assert_eq!(segments(&spool).unwrap().len(), 2);
        assert_eq!(gauge.backlog(), 24);

        let mut r = SpoolReader::new(&spool, 0, 0, Some(gauge.clone()));
        let SpoolRead::Lines(first) = r.next_lines(lines).unwrap() else {
            panic!()
        };
        assert_eq!(first, b"{\"a\":1}\n{\"a\":2}\n");
        r.advance(first.len() as u64);
        assert!(matches!(
            r.next_lines(lines).unwrap(),
            SpoolRead::Finished { tail: 0, .. }
        ));
        // Not deleted before the place is recorded.
        assert_eq!(segments(&spool).unwrap().len(), 2);
        r.recorded();
        assert_eq!(segments(&spool).unwrap().len(), 1);
        assert_eq!(gauge.backlog(), 8);
        let SpoolRead::Lines(second) = r.next_lines(lines).unwrap() else {
            panic!()
        };
        assert_eq!(second, b"{\"a\":3}\n");
        r.advance(second.len() as u64);
        r.recorded();
        assert_eq!(gauge.backlog(), 0);
        // The newest segment is never finished: more may come.
        assert!(matches!(r.next_lines(lines).unwrap(), SpoolRead::Nothing));
    }

    #[test]
    fn a_line_cut_short_by_a_crash_is_reported_and_never_continued() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        let mut w = SpoolWriter::open(&spool, 1 << 20).unwrap();
        w.append(b"{\"a\":1}\n{\"a\":").unwrap(); // killed mid-batch
        drop(w);
        // The next run starts a new segment.
        let mut w = SpoolWriter::open(&spool, 1 << 20).unwrap();
        w.append(b"{\"b\":1}\n").unwrap();
        w.sync().unwrap();
        let mut r = SpoolReader::new(&spool, 0, 0, None);
        let SpoolRead::Lines(first) = r.next_lines(lines).unwrap() else {
            panic!()
        };
        assert_eq!(first, b"{\"a\":1}\n");
        r.advance(first.len() as u64);
        let SpoolRead::Finished { tail, offset } = r.next_lines(lines).unwrap() else {
            panic!()
        };
        assert_eq!((tail, offset), (5, 8));
        let SpoolRead::Lines(next) = r.next_lines(lines).unwrap() else {
            panic!()
        };
        assert_eq!(next, b"{\"b\":1}\n");
    }
}
