//! JSON text (a `.json` manifest, `kubectl get -o json`, a snapshot) read straight into
//! parser steps with positions, about ten times faster than reading it as YAML.
//!
//! JSON is YAML, so this reader must give exactly the tree the YAML parser gives for the
//! same text: strings become quoted scalars (a key `"true"` stays a string), numbers,
//! `true`, `false` and `null` plain scalars with their text as written, and every node the
//! position the YAML parser reports (the opening quote, bracket or first character). A
//! test compares the two trees document by document. Whatever is not strict JSON (a
//! comment, a trailing comma, an unquoted key) is refused here, and the caller reads the
//! text as YAML instead, so this reader never has to report an error of its own.

use crate::tree::{Mark, Step};

/// Why the text is not strict JSON; the caller falls back to the YAML reader.
#[derive(Debug)]
pub(crate) struct NotJson;

/// Positions as the YAML parser reports them: a 1-based line and a 0-based column in
/// characters. Offsets only grow, so the column is counted from the last position.
struct Cursor<'t> {
    text: &'t str,
    line: usize,
    line_start: usize,
    /// Byte offset and column of the last position asked for on this line.
    last: (usize, usize),
}

impl<'t> Cursor<'t> {
    /// A cursor on `text`, whose first line starts at column `column`.
    fn new(text: &'t str, column: usize) -> Self {
        Cursor {
            text,
            line: 1,
            line_start: 0,
            last: (0, column),
        }
    }

    /// A line break at byte `at`.
    fn newline(&mut self, at: usize) {
        self.line += 1;
        self.line_start = at + 1;
        self.last = (at + 1, 0);
    }

    fn mark(&mut self, at: usize) -> Mark {
        let (from, col) = if self.last.0 >= self.line_start && self.last.0 <= at {
            self.last
        } else {
            (self.line_start, 0)
        };
        let col = col + self.text[from..at].chars().count();
        self.last = (at, col);
        Mark {
            line: self.line,
            col,
        }
    }
}

/// What the reader expects next inside a collection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value (the document's, an array item's, or an object member's).
    Value,
    /// An array item or `]` (right after `[`).
    FirstItem,
    /// `,` or `]`.
    ItemEnd,
    /// A key or `}` (right after `{`).
    FirstKey,
    /// A key (after `,`).
    Key,
    /// `:`.
    Colon,
    /// `,` or `}`.
    MemberEnd,
}

/// Reads one JSON value (with surrounding white space) and hands each step to `step`.
/// `Err(Ok(NotJson))`: not strict JSON; `Err(Err(e))`: `step` refused (a limit).
pub(crate) fn read<E>(
    text: &str,
    column: usize,
    mut step: impl FnMut(Step<'_>, &Mark) -> Result<(), E>,
) -> Result<(), Result<NotJson, E>> {
    let bytes = text.as_bytes();
    let mut cursor = Cursor::new(text, column);
    // `true`: an array; `false`: an object.
    let mut open: Vec<bool> = Vec::new();
    let mut expect = Expect::Value;
    let mut scratch = String::new();
    let mut done = false;
    let mut i = 0;
    let start = Mark { line: 1, col: 0 };
    step(Step::DocumentStart, &start).map_err(Err)?;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            // A lone carriage return breaks a line for YAML, not for JSON: leave it to
            // the YAML reader, whose positions it changes.
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => return Err(Ok(NotJson)),
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'\n' => {
                cursor.newline(i);
                i += 1;
                continue;
            }
            _ => {}
        }
        if done {
            return Err(Ok(NotJson));
        }
        let at = cursor.mark(i);
        match (expect, b) {
            (Expect::ItemEnd, b',') => expect = Expect::Value,
            (Expect::MemberEnd, b',') => expect = Expect::Key,
            (Expect::Colon, b':') => expect = Expect::Value,
            (Expect::FirstItem | Expect::ItemEnd, b']')
            | (Expect::FirstKey | Expect::MemberEnd, b'}') => {
                open.pop();
                step(Step::Close, &at).map_err(Err)?;
                expect = after_value(&open);
                done = open.is_empty();
            }
            (Expect::FirstKey | Expect::Key, b'"') => {
                let end = string(text, i, &mut scratch).ok_or(Ok(NotJson))?;
                step(scalar(decoded(text, i, end, &scratch), false), &at).map_err(Err)?;
                i = end;
                expect = Expect::Colon;
                continue;
            }
            (Expect::Value | Expect::FirstItem, _) => match b {
                b'{' => {
                    open.push(false);
                    step(Step::Open(crate::NodeKind::Mapping, 0, false), &at).map_err(Err)?;
                    expect = Expect::FirstKey;
                }
                b'[' => {
                    open.push(true);
                    step(Step::Open(crate::NodeKind::Sequence, 0, false), &at).map_err(Err)?;
                    expect = Expect::FirstItem;
                }
                b'"' => {
                    let end = string(text, i, &mut scratch).ok_or(Ok(NotJson))?;
                    step(scalar(decoded(text, i, end, &scratch), false), &at).map_err(Err)?;
                    i = end;
                    expect = after_value(&open);
                    done = open.is_empty();
                    continue;
                }
                _ => {
                    let end = literal(bytes, i).ok_or(Ok(NotJson))?;
                    step(scalar(&text[i..end], true), &at).map_err(Err)?;
                    i = end;
                    expect = after_value(&open);
                    done = open.is_empty();
                    continue;
                }
            },
            _ => return Err(Ok(NotJson)),
        }
        i += 1;
    }
    if !done {
        return Err(Ok(NotJson));
    }
    Ok(())
}

/// The value of the string at `start..end`: its text, or `scratch` when it had escapes.
fn decoded<'a>(text: &'a str, start: usize, end: usize, scratch: &'a str) -> &'a str {
    if scratch.is_empty() {
        &text[start + 1..end - 1]
    } else {
        scratch
    }
}

fn scalar(value: &str, plain: bool) -> Step<'_> {
    Step::Scalar {
        value,
        plain,
        anchor: 0,
        at: None,
    }
}

fn after_value(open: &[bool]) -> Expect {
    match open.last() {
        Some(true) => Expect::ItemEnd,
        Some(false) => Expect::MemberEnd,
        None => Expect::Value,
    }
}

/// `true`, `false`, `null` or a number, as JSON writes them; the end offset.
fn literal(bytes: &[u8], start: usize) -> Option<usize> {
    for word in [&b"true"[..], b"false", b"null"] {
        if bytes[start..].starts_with(word) {
            return Some(start + word.len());
        }
    }
    // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    let mut i = start;
    let digits = |i: &mut usize| {
        let from = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > from
    };
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    match bytes.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return None,
    }
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return None;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return None;
        }
    }
    Some(i)
}

/// The string starting with the `"` at `start`: its end offset (past the closing
/// quote). `scratch` holds the decoded value when it has escapes, and is empty otherwise.
fn string(text: &str, start: usize, scratch: &mut String) -> Option<usize> {
    scratch.clear();
    let bytes = text.as_bytes();
    let mut i = start + 1;
    let mut copied = i;
    loop {
        match *bytes.get(i)? {
            b'"' => {
                if !scratch.is_empty() || copied != start + 1 {
                    scratch.push_str(&text[copied..i]);
                }
                return Some(i + 1);
            }
            b'\\' => {
                scratch.push_str(&text[copied..i]);
                let (c, len) = escape(bytes, i)?;
                scratch.push(c);
                i += len;
                copied = i;
            }
            // Control characters must be escaped in JSON; YAML would read some of them.
            0..=0x1f => return None,
            _ => i += 1,
        }
    }
}

/// The escape at `at` (a backslash): the character and the escape's length.
fn escape(bytes: &[u8], at: usize) -> Option<(char, usize)> {
    let c = match *bytes.get(at + 1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let unit = hex4(bytes, at + 2)?;
            if (0xD800..0xDC00).contains(&unit) {
                // A UTF-16 surrogate pair (`\ud83d\ude00`, as Python's json writes an
                // emoji) is one character, as every JSON decoder reads it.
                if bytes.get(at + 6..at + 8) != Some(b"\\u") {
                    return None;
                }
                let low = hex4(bytes, at + 8)?;
                if !(0xDC00..0xE000).contains(&low) {
                    return None;
                }
                let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                return char::from_u32(c).map(|c| (c, 12));
            }
            // A lone surrogate is no character: left to the YAML reader.
            return char::from_u32(unit).map(|c| (c, 6));
        }
        _ => return None,
    };
    Some((c, 2))
}

fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// Where one element of a JSON List's `items` starts and ends in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    /// Byte range of the element in the text.
    pub range: std::ops::Range<usize>,
    /// 1-based line (in the text) and 0-based column (in characters) of its first byte.
    pub line: u32,
    pub column: usize,
}

/// The elements of `items` when `text` is one JSON object whose `kind` ends in `List`
/// (`kubectl get -o json`, a snapshot): found by a structural pass that only matches
/// brackets and skips strings, so each element can be read (and dropped) on its own.
/// `None` when the text is not such an object; the elements themselves are not checked
/// here (reading one that is not JSON fails, and the caller reads the whole text).
#[must_use]
pub fn list_items(text: &str) -> Option<Vec<ListItem>> {
    let bytes = text.as_bytes();
    let mut i = skip_space(bytes, 0);
    if bytes.get(i) != Some(&b'{') {
        return None;
    }
    // Line breaks are counted as `\n`; a lone `\r` (a YAML line break) is left to the
    // whole-document reader.
    if text
        .match_indices('\r')
        .any(|(k, _)| bytes.get(k + 1) != Some(&b'\n'))
    {
        return None;
    }
    i += 1;
    let mut scratch = String::new();
    let mut is_list = false;
    let mut items = None;
    // Anything the whole-document reader would object to (a repeated key, a value that
    // is not strict JSON, an `apiVersion` that is not a string) sends the text there.
    let mut keys: Vec<String> = Vec::new();
    loop {
        i = skip_space(bytes, i);
        if bytes.get(i) == Some(&b'}') && items.is_none() && !is_list {
            return None;
        }
        if bytes.get(i) != Some(&b'"') {
            return None;
        }
        let end = string(text, i, &mut scratch)?;
        let key = decoded(text, i, end, &scratch).to_owned();
        i = skip_space(bytes, end);
        if bytes.get(i) != Some(&b':') || keys.contains(&key) {
            return None;
        }
        i = skip_space(bytes, i + 1);
        if key == "apiVersion" && bytes.get(i) != Some(&b'"') {
            return None;
        }
        match key.as_str() {
            "kind" if bytes.get(i) == Some(&b'"') => {
                let end = string(text, i, &mut scratch)?;
                is_list = decoded(text, i, end, &scratch).ends_with("List");
                i = end;
            }
            "items" if bytes.get(i) == Some(&b'[') => {
                let mut found = Vec::new();
                i = skip_space(bytes, i + 1);
                if bytes.get(i) == Some(&b']') {
                    i += 1;
                } else {
                    loop {
                        let start = i;
                        i = skip_value(bytes, i)?;
                        found.push(start..i);
                        i = skip_space(bytes, i);
                        match bytes.get(i) {
                            Some(b',') => i = skip_space(bytes, i + 1),
                            Some(b']') => {
                                i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                items = Some(found);
            }
            "kind" | "items" => return None,
            _ => {
                let start = i;
                i = skip_value(bytes, i)?;
                read(&text[start..i], 0, |_, _| Ok::<(), ()>(())).ok()?;
            }
        }
        keys.push(key);
        i = skip_space(bytes, i);
        match bytes.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => {
                i += 1;
                break;
            }
            _ => return None,
        }
    }
    if skip_space(bytes, i) != bytes.len() || !is_list {
        return None;
    }
    let ranges = items?;
    // Lines and columns of each start, counted in one pass over the text.
    let mut out = Vec::with_capacity(ranges.len());
    let mut line = 1u32;
    // Byte offset and column of the last start, or of the current line's start.
    let (mut from, mut column) = (0usize, 0usize);
    for range in ranges {
        let gap = &text[from..range.start];
        match gap.rfind('\n') {
            Some(k) => {
                line += u32::try_from(gap.matches('\n').count()).unwrap_or(u32::MAX);
                column = gap[k + 1..].chars().count();
            }
            None => column += gap.chars().count(),
        }
        from = range.start;
        out.push(ListItem {
            range,
            line,
            column,
        });
    }
    Some(out)
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while matches!(bytes.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        i += 1;
    }
    i
}

/// The end of the value starting at `i`, matching brackets and skipping strings.
fn skip_value(bytes: &[u8], mut i: usize) -> Option<usize> {
    let start = i;
    let mut depth = 0usize;
    loop {
        match *bytes.get(i)? {
            b'"' => {
                i += 1;
                loop {
                    match *bytes.get(i)? {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                i += 1;
            }
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n' if depth == 0 => {
                return (i > start).then_some(i);
            }
            b'}' | b']' => {
                depth -= 1;
                i += 1;
            }
            _ => i += 1,
        }
        if depth == 0 && i > 0 && matches!(bytes[i - 1], b'}' | b']' | b'"') {
            return Some(i);
        }
    }
}
