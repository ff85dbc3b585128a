//! Audit events as the API server's log backend writes them: one JSON `Event` per line
//! (an `EventList`, as the webhook backend sends, is read item by item). Files ending
//! in `.gz` are decompressed. A line that is not an event is reported with its file and
//! line and skipped; the rest of the file is still read.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::event::AuditEvent;

/// Lines longer than this are reported and skipped (an audit event with a large
/// request body is tens of KB; the API server's own limit is 3 MB per request body).
pub const MAX_LINE: usize = 16 << 20;

/// A line that is not an audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub file: String,
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Opens `path` for reading, through gzip when its name ends in `.gz`.
///
/// # Errors
/// The file cannot be opened.
pub fn open(path: &Path) -> std::io::Result<Box<dyn BufRead>> {
    let file = File::open(path)?;
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::with_capacity(1 << 20, file))
    })
}

/// Calls `each` with every line of `input` and its number; a line over [`MAX_LINE`]
/// comes as a [`BadLine`] instead (and is skipped), in its place.
///
/// # Errors
/// Reading fails (not a bad line: a failing disk or a corrupt gzip stream).
pub fn for_each_line(
    file: &str,
    input: impl Read,
    mut each: impl FnMut(u64, Result<&[u8], BadLine>),
) -> std::io::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        if buf.len() > MAX_LINE && buf.last() != Some(&b'\n') {
            each(
                line_no,
                Err(BadLine {
                    file: file.to_owned(),
                    line: line_no,
                    message: format!("line longer than {MAX_LINE} bytes (skipped)"),
                }),
            );
            // Skip to the end of the line.
            let mut rest = Vec::new();
            reader.read_until(b'\n', &mut rest)?;
            continue;
        }
        each(line_no, Ok(&buf));
    }
}

/// The events of one line (none for a blank one; several for an `EventList`).
///
/// # Errors
/// The line is not an audit event.
pub fn line_events<'t>(
    file: &str,
    line: u64,
    bytes: &'t [u8],
) -> Result<Vec<AuditEvent<'t>>, BadLine> {
    let fail = |message: String| BadLine {
        file: file.to_owned(),
        line,
        message,
    };
    let text =
        std::str::from_utf8(bytes.trim_ascii()).map_err(|e| fail(format!("not UTF-8: {e}")))?;
    if text.is_empty() {
        return Ok(Vec::new());
    }
    if !text.starts_with('{') {
        // serde would read a list or a number as a struct's fields, or say something
        // less clear.
        return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => fail("not a JSON object".into()),
            Err(e) => fail(format!("not JSON: {e}")),
        });
    }
    let event = AuditEvent::parse(text).map_err(|e| fail(format!("not JSON: {e}")))?;
    if event.head.kind.as_deref() == Some("EventList") {
        return event
            .head
            .items
            .iter()
            .flatten()
            .map(|item| {
                AuditEvent::parse(item.get())
                    .map_err(|e| fail(format!("an EventList item is no Event: {e}")))
            })
            .collect();
    }
    if event.head.audit_id.is_none() {
        return Err(fail("a JSON object but no audit Event (no auditID)".into()));
    }
    Ok(vec![event])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_reported_and_skipped() {
        let input = concat!(
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"1","verb":"get"}"#,
            "\n\nnot json\n[1,2]\n{\"kind\":\"Other\"}\n",
            r#"{"kind":"EventList","items":[{"auditID":"2"},{"auditID":"3"}]}"#,
            "\n{\"auditID\":\"4\"}"
        );
        let mut ids = Vec::new();
        let mut bad = Vec::new();
        for_each_line("audit.log", input.as_bytes(), |line, bytes| {
            match bytes.and_then(|b| line_events("audit.log", line, b)) {
                Ok(events) => ids.extend(
                    events
                        .iter()
                        .map(|e| (line, e.head.audit_id.as_deref().unwrap().to_owned())),
                ),
                Err(b) => bad.push(b.to_string()),
            }
        })
        .unwrap();
        assert_eq!(
            ids,
            [
                (1, "1".to_owned()),
                (6, "2".to_owned()),
                (6, "3".to_owned()),
                (7, "4".to_owned())
            ]
        );
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(bad[0].starts_with("audit.log:3: not JSON"), "{bad:?}");
        assert!(bad[1].starts_with("audit.log:4: not a JSON object"));
        assert!(bad[2].starts_with("audit.log:5:"));
    }

    #[test]
    fn gzip_files_are_read() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log.1.gz");
        let mut gz = flate2::write::GzEncoder::new(
            File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(b"{\"auditID\":\"a\"}\n{\"auditID\":\"b\"}\n")
            .unwrap();
        gz.finish().unwrap();
        let mut n = 0;
        for_each_line("x", open(&path).unwrap(), |line, bytes| {
            n += line_events("x", line, bytes.unwrap()).unwrap().len();
        })
        .unwrap();
        assert_eq!(n, 2);
    }
}
