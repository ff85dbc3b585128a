//! Splitting a YAML stream into documents without parsing it.
//!
//! The YAML spec forbids a line that starts with `---` or `...` (followed by white space or
//! the end of the line) inside any content ("c-forbidden"), so such lines are always
//! document boundaries and cutting there is exact.

use std::ops::Range;

/// One document of a stream: where its text is and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentChunk {
    /// 0-based index of the document in its stream, as a YAML parser counts them.
    pub index: usize,
    /// Byte range of the document's text in the stream, its `---` line included (so
    /// `--- |` and `--- {a: 1}` parse as written).
    pub range: Range<usize>,
    /// 1-based line of the first byte of `range`.
    pub first_line: u32,
}

fn is_marker(line: &str, m: &str) -> bool {
    line.strip_prefix(m)
        .is_some_and(|rest| matches!(rest.chars().next(), None | Some(' ' | '\t' | '\r' | '\n')))
}

/// True when the text holds something other than blank lines, comments and directives.
fn has_content(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim_start_matches([' ', '\t', '\u{feff}']).trim_end();
        !(t.is_empty() || t.starts_with('#') || l.starts_with('%'))
    })
}

/// Splits `text` into its documents. An implicit first document counts only when it has
/// content; every document opened by `---` counts, even an empty one.
#[must_use]
pub fn split_documents(text: &str) -> Vec<DocumentChunk> {
    let mut chunks = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1u32;
    let mut explicit = false;
    let mut push = |range: Range<usize>, first_line: u32, explicit: bool| {
        if explicit || has_content(&text[range.clone()]) {
            let index = chunks.len();
            chunks.push(DocumentChunk {
                index,
                range,
                first_line,
            });
        }
    };
    // Markers start lines: only the places after a line break where `---` or `...`
    // begins are looked at, and lines are counted between them.
    let bytes = text.as_bytes();
    let mut candidates: Vec<usize> = memchr::memmem::find_iter(bytes, b"\n---")
        .chain(memchr::memmem::find_iter(bytes, b"\n..."))
        .map(|at| at + 1)
        .collect();
    if bytes.starts_with(b"---") || bytes.starts_with(b"...") {
        candidates.push(0);
    }
    candidates.sort_unstable();
    let (mut counted_to, mut line_no) = (0usize, 1u32);
    for line_start in candidates {
        let line_end =
            memchr::memchr(b'\n', &bytes[line_start..]).map_or(bytes.len(), |i| line_start + i + 1);
        let line = &text[line_start..line_end];
        let marker = if is_marker(line, "---") {
            "---"
        } else if is_marker(line, "...") {
            "..."
        } else {
            continue;
        };
        let newlines = bytes[counted_to..line_start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        line_no = line_no.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
        counted_to = line_start;
        if marker == "---" {
            push(start..line_start, start_line, explicit);
            explicit = true;
            start = line_start;
            start_line = line_no;
        } else {
            push(start..line_start, start_line, explicit);
            explicit = false;
            start = line_end;
            start_line = line_no.saturating_add(1);
        }
    }
    push(start..text.len(), start_line, explicit);
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies(text: &str) -> Vec<(usize, &str, u32)> {
        split_documents(text)
            .into_iter()
            .map(|c| (c.index, &text[c.range], c.first_line))
            .collect()
    }

    #[test]
    fn splits_on_markers_and_counts_like_a_parser() {
        let t = "# comment\n---\na: 1\n---\nb: 2\n---\n";
        assert_eq!(
            bodies(t),
            vec![
                (0, "---\na: 1\n", 2),
                (1, "---\nb: 2\n", 4),
                (2, "---\n", 6)
            ]
        );
    }

    #[test]
    fn implicit_first_document_counts_when_it_has_content() {
        assert_eq!(
            bodies("a: 1\n---\nb: 2"),
            vec![(0, "a: 1\n", 1), (1, "---\nb: 2", 2)]
        );
        assert_eq!(bodies(""), vec![]);
    }

    #[test]
    fn dashes_inside_content_do_not_split() {
        let t = "a: |\n  ---\n  x\nb: '---'\n----: 1\n";
        assert_eq!(bodies(t).len(), 1);
    }

    /// Line by line, as the splitter first did: the oracle for the marker search.
    fn split_line_by_line(text: &str) -> Vec<(Range<usize>, u32)> {
        let mut out = Vec::new();
        let (mut start, mut start_line, mut explicit) = (0usize, 1u32, false);
        let mut offset = 0usize;
        let mut keep = |range: Range<usize>, line: u32, explicit: bool| {
            if explicit || has_content(&text[range.clone()]) {
                out.push((range, line));
            }
        };
        for (i, line) in text.split_inclusive('\n').enumerate() {
            let (line_no, line_start) = (u32::try_from(i + 1).unwrap(), offset);
            offset += line.len();
            if is_marker(line, "---") {
                keep(start..line_start, start_line, explicit);
                (start, start_line, explicit) = (line_start, line_no, true);
            } else if is_marker(line, "...") {
                keep(start..line_start, start_line, explicit);
                (start, start_line, explicit) = (offset, line_no + 1, false);
            }
        }
        keep(start..text.len(), start_line, explicit);
        out
    }

    #[test]
    fn the_marker_search_splits_as_reading_line_by_line_does() {
        let mut texts: Vec<String> = vec![
            "---".into(),
            "...".into(),
            "--- \n...\n---\t#c\n...x\n----\n-- -\n\n---".into(),
            "a: 1\r\n---\r\nb: 2\r\n...\r\n# c\r\n".into(),
            "\n\n---\n\n...\n\n---\n".into(),
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        for entry in walkdir::WalkDir::new(dir) {
            if let Ok(text) = std::fs::read_to_string(entry.unwrap().path()) {
                texts.push(text);
            }
        }
        assert!(texts.len() > 20, "the examples are missing");
        // And pieces cut at every few bytes, so markers meet the text's ends.
        let joined = texts.concat();
        for cut in (0..joined.len()).step_by(97) {
            if joined.is_char_boundary(cut) {
                texts.push(joined[cut..].to_owned());
                texts.push(joined[..cut].to_owned());
            }
        }
        for text in &texts {
            let got: Vec<(Range<usize>, u32)> = split_documents(text)
                .into_iter()
                .map(|c| (c.range, c.first_line))
                .collect();
            assert_eq!(got, split_line_by_line(text), "{text:?}");
        }
    }

    #[test]
    fn document_end_marker_ends_a_document() {
        assert_eq!(bodies("a: 1\n...\n"), vec![(0, "a: 1\n", 1)]);
    }
}
