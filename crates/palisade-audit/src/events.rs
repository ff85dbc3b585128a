//! Audit events as the API server's log backend writes them: one JSON `Event` per line
//! (an `EventList`, as the webhook backend sends, is read item by item). Files ending
//! in `.gz` are decompressed. A line that is not an event is reported with its file and
//! line and skipped; the rest of the file is still read.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::Value;

/// Lines longer than this are reported and skipped (an audit event with a large
/// request body is tens of KB; the API server's own limit is 3 MB per request body).
pub const MAX_LINE: usize = 16 << 20;

/// One event and where it was read.
#[derive(Debug)]
pub struct Event {
    pub line: u64,
    pub json: Value,
}

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

/// Reads every event of `input` (named `file` in reports), calling `each` for each
/// event in order and `bad` for each line that is not one.
///
/// # Errors
/// Reading fails (not a bad line: a failing disk or a corrupt gzip stream).
pub fn read_events(
    file: &str,
    input: impl Read,
    mut each: impl FnMut(Event),
    bad: impl FnMut(BadLine),
) -> std::io::Result<()> {
    let bad = std::cell::RefCell::new(bad);
    for_each_line(
        file,
        input,
        |line, bytes| match parse_line(file, line, bytes) {
            Ok(events) => events.into_iter().for_each(&mut each),
            Err(b) => (bad.borrow_mut())(b),
        },
        |b| (bad.borrow_mut())(b),
    )
}

/// Calls `each` with every line of `input` and its number; a line over [`MAX_LINE`]
/// goes to `too_long` instead (and is skipped).
///
/// # Errors
/// Reading fails.
pub fn for_each_line(
    file: &str,
    input: impl Read,
    mut each: impl FnMut(u64, &[u8]),
    mut too_long: impl FnMut(BadLine),
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
            too_long(BadLine {
                file: file.to_owned(),
                line: line_no,
                message: format!("line longer than {MAX_LINE} bytes (skipped)"),
            });
            // Skip to the end of the line.
            let mut rest = Vec::new();
            reader.read_until(b'\n', &mut rest)?;
            continue;
        }
        each(line_no, &buf);
    }
}

/// The events of one line (none for a blank one; several for an `EventList`).
///
/// # Errors
/// The line is not an audit event.
pub fn parse_line(file: &str, line: u64, bytes: &[u8]) -> Result<Vec<Event>, BadLine> {
    let fail = |message: String| BadLine {
        file: file.to_owned(),
        line,
        message,
    };
    let text = bytes.trim_ascii();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let json = match serde_json::from_slice::<Value>(text) {
        Ok(json @ Value::Object(_)) => json,
        Ok(_) => return Err(fail("not a JSON object".into())),
        Err(e) => return Err(fail(format!("not JSON: {e}"))),
    };
    match json.get("kind").and_then(Value::as_str) {
        Some("EventList") => Ok(json
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|item| Event {
                line,
                json: item.clone(),
            })
            .collect()),
        Some("Event") | None if json.get("auditID").is_some() => Ok(vec![Event { line, json }]),
        _ => Err(fail("a JSON object but no audit Event (no auditID)".into())),
    }
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
        read_events(
            "audit.log",
            input.as_bytes(),
            |e| ids.push((e.line, e.json["auditID"].as_str().unwrap().to_owned())),
            |b| bad.push(b.to_string()),
        )
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
        read_events("x", open(&path).unwrap(), |_| n += 1, |b| panic!("{b}")).unwrap();
        assert_eq!(n, 2);
    }
}
