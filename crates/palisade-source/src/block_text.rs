//! Block-style YAML as manifests are written (indented mappings and sequences, plain
//! scalars over one or more lines, one-line quoted scalars, literal block scalars,
//! one-line flow collections, comments) read straight into parser steps with positions,
//! without a general YAML scanner.
//!
//! saphyr's scanner was most of a scan's time. This reader handles the narrow, regular
//! part of YAML that nearly every Kubernetes manifest stays inside and must give exactly
//! the steps and positions saphyr gives for the same text (a test compares the trees of
//! every document of the corpus, and of mutations of them). Anything else (anchors,
//! tags, folded scalars, quoted scalars over several lines, flow collections over
//! several lines, tabs, carriage returns, complex keys, directives, a scalar alone at the
//! root, anything unusual or invalid) is refused with [`NotSimple`] as soon as it is
//! seen, and the caller reads the document with saphyr, which also words the errors:
//! this reader never reports a syntax error of its own.

use crate::tree::{Mark, Step};
use crate::SourceError;

/// The text leaves the subset this reader handles; the caller reads it with saphyr.
#[derive(Debug)]
pub(crate) struct NotSimple;

type Outcome<T> = Result<T, Result<NotSimple, SourceError>>;

const NOT_SIMPLE: Result<NotSimple, SourceError> = Ok(NotSimple);

/// YAML's bound on an implicit key's length; longer ones are saphyr's to refuse.
const MAX_KEY: usize = 1024;

/// One line of content: not blank, not only a comment.
#[derive(Clone, Copy)]
struct Line {
    /// 1-based line number.
    number: usize,
    start: usize,
    /// Offset of the line break (or the end of the text).
    end: usize,
    /// Spaces before the content.
    indent: usize,
}

impl Line {
    fn content(self) -> usize {
        self.start + self.indent
    }
}

struct Reader<'t, F> {
    text: &'t str,
    bytes: &'t [u8],
    /// Offset where the next line to look at starts, and its number.
    next: usize,
    next_number: usize,
    /// The current content line, if any is left.
    line: Option<Line>,
    /// Whether a content line was seen: only the first may be a `---` marker.
    started: bool,
    step: F,
}

/// Reads the block YAML document `text` and hands each step to `step`.
///
/// # Errors
/// `Err(Ok(NotSimple))` when the text leaves the subset (the caller reads it with
/// saphyr, and what was already stepped must be discarded); `Err(Err(e))` when `step`
/// refused (a limit).
pub(crate) fn read<F>(text: &str, step: F) -> Outcome<()>
where
    F: FnMut(Step<'_>, &Mark) -> Result<(), SourceError>,
{
    if !plain_characters(text) {
        return Err(NOT_SIMPLE);
    }
    let mut r = Reader {
        text,
        bytes: text.as_bytes(),
        next: 0,
        next_number: 1,
        line: None,
        started: false,
        step,
    };
    r.advance()?;
    let Some(first) = r.line else {
        return Err(NOT_SIMPLE); // empty: saphyr decides what that is
    };
    let document = Mark {
        line: first.number,
        col: 0,
    };
    if r.bytes[first.content()..].starts_with(b"---") && first.indent == 0 {
        // The explicit start of the document, alone on its line.
        let after = first.content() + 3;
        if !r.rest_is_empty(after) {
            return Err(NOT_SIMPLE);
        }
        r.emit(Step::DocumentStart, &document)?;
        r.advance()?;
    } else {
        r.emit(Step::DocumentStart, &document)?;
    }
    let Some(line) = r.line else {
        return Err(NOT_SIMPLE);
    };
    r.block_node(line, line.content(), None)?;
    if r.line.is_some() {
        return Err(NOT_SIMPLE); // content after the root node: not ours to judge
    }
    Ok(())
}

/// Whether `text` is free of what has rules of its own in YAML: tabs, carriage returns,
/// control characters, byte order marks, and line and paragraph separators.
fn plain_characters(text: &str) -> bool {
    // No early exit, so the test runs over whole vectors of bytes.
    let controls = text.bytes().fold(false, |found, b| {
        found | ((b < 0x20) & (b != b'\n')) | (b == 0x7f)
    });
    if controls {
        return false;
    }
    text.is_ascii()
        || !text.chars().any(|c| {
            matches!(
                c,
                '\u{80}'
                    ..='\u{9f}' | '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}'
            )
        })
}

/// Whether a plain scalar may start at `at` of `line` (in block context): not at an
/// indicator, and at `-`, `?` or `:` only when text follows it.
fn starts_plain(line: &[u8], at: usize) -> bool {
    match line[at] {
        b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
        | b'"' | b'%' | b'@' | b'`' => false,
        b'-' | b'?' | b':' => !is_space_or_end(line.get(at + 1)),
        _ => true,
    }
}

fn is_space_or_end(b: Option<&u8>) -> bool {
    matches!(b, None | Some(b' ' | b'\n'))
}

impl<'t, F> Reader<'t, F>
where
    F: FnMut(Step<'_>, &Mark) -> Result<(), SourceError>,
{
    fn emit(&mut self, step: Step<'_>, mark: &Mark) -> Outcome<()> {
        (self.step)(step, mark).map_err(Err)
    }

    /// Moves to the next content line (skipping blank and comment lines).
    fn advance(&mut self) -> Outcome<()> {
        self.line = None;
        while self.next < self.bytes.len() {
            let start = self.next;
            let (end, indent) = self.raw_line(start);
            let number = self.next_number;
            self.next = end + 1;
            self.next_number += 1;
            let content = start + indent;
            if content == end || self.bytes[content] == b'#' {
                continue;
            }
            if indent == 0
                && (self.bytes[start..].starts_with(b"---")
                    || self.bytes[start..].starts_with(b"..."))
                && is_space_or_end(self.bytes[..end].get(start + 3))
                && (self.started || self.bytes[start] == b'.')
            {
                return Err(NOT_SIMPLE); // document markers belong to saphyr
            }
            self.started = true;
            if self.bytes[content] == b'%' && indent == 0 {
                return Err(NOT_SIMPLE);
            }
            self.line = Some(Line {
                number,
                start,
                end,
                indent,
            });
            return Ok(());
        }
        Ok(())
    }

    /// The line starting at `pos`: where it ends (its line break, or the end of the
    /// text) and how many spaces indent it.
    fn raw_line(&self, pos: usize) -> (usize, usize) {
        let end = memchr::memchr(b'\n', &self.bytes[pos..]).map_or(self.bytes.len(), |i| pos + i);
        let spaces = self.bytes[pos..end]
            .iter()
            .take_while(|&&b| b == b' ')
            .count();
        (end, spaces)
    }

    /// The mark of byte `at` on `line`: columns count characters.
    fn mark(&self, line: Line, at: usize) -> Mark {
        let before = &self.text[line.start..at];
        let col = if before.is_ascii() {
            before.len()
        } else {
            before.chars().count()
        };
        Mark {
            line: line.number,
            col,
        }
    }

    /// Whether only spaces and a comment follow `at` on the current line.
    fn rest_is_empty(&self, at: usize) -> bool {
        let line = self.line.map_or(self.bytes.len(), |l| l.end);
        let rest = &self.bytes[at..line];
        let spaces = rest.iter().take_while(|&&b| b == b' ').count();
        spaces == rest.len() || (rest[spaces] == b'#' && spaces > 0)
    }

    /// A node whose content starts at byte `at` of `line` (the current line); block
    /// content of it on later lines must be indented more than `parent` (the column of
    /// the enclosing mapping's keys or sequence's dashes; `None` at the root).
    fn block_node(&mut self, line: Line, at: usize, parent: Option<usize>) -> Outcome<()> {
        let column = at - line.start;
        if parent.is_some_and(|p| column <= p) {
            return Err(NOT_SIMPLE);
        }
        let b = self.bytes[at];
        if b == b'-' && is_space_or_end(self.bytes[..line.end].get(at + 1)) {
            return self.block_sequence(line, at, false);
        }
        if let Some(key) = self.key(line, at)? {
            return self.block_mapping(line, at, key);
        }
        // A scalar alone at the root (a document that is just text) is saphyr's: its
        // continuation and block rules at column 0 are its own.
        let Some(parent) = parent else {
            return Err(NOT_SIMPLE);
        };
        self.value_in_line(line, at, parent + 1)
    }

    /// The mapping key starting at `at` (on one line, `:` after it), or `None` when `at`
    /// does not start one.
    fn key(&self, line: Line, at: usize) -> Outcome<Option<Key<'t>>> {
        let bytes = &self.bytes[..line.end];
        let (value, plain, colon) = match bytes[at] {
            b'"' | b'\'' => {
                let Some((value, after)) = self.quoted(line, at)? else {
                    return Err(NOT_SIMPLE);
                };
                let colon = after + bytes[after..].iter().take_while(|&&b| b == b' ').count();
                if bytes.get(colon) != Some(&b':') || !is_space_or_end(bytes.get(colon + 1)) {
                    return Ok(None);
                }
                (value, false, colon)
            }
            _ if !starts_plain(bytes, at) => return Ok(None),
            _ => match self.plain_end(line, at)? {
                (end, Stop::Colon) => (self.text[at..end].trim_end_matches(' ').into(), true, end),
                (_, Stop::Line | Stop::Comment) => return Ok(None),
            },
        };
        if colon - at > MAX_KEY {
            return Err(NOT_SIMPLE);
        }
        Ok(Some(Key {
            value,
            plain,
            colon,
        }))
    }

    /// A block mapping whose first key, `first`, starts at `at` on `line`.
    fn block_mapping(&mut self, line: Line, at: usize, first: Key<'t>) -> Outcome<()> {
        let column = at - line.start;
        let open = self.mark(line, at);
        self.emit(Step::Open(crate::NodeKind::Mapping, 0, false), &open)?;
        let (mut line, mut at, mut key) = (line, at, Some(first));
        loop {
            let Some(Key {
                value,
                plain,
                colon,
            }) = key
                .take()
                .map_or_else(|| self.key(line, at), |k| Ok(Some(k)))?
            else {
                return Err(NOT_SIMPLE); // a line at the keys' column that is no key
            };
            let key_mark = self.mark(line, at);
            self.emit_scalar(&value, plain, &key_mark)?;
            // The value: on this line, or on the next ones, or none.
            let after = colon + 1;
            let value_at = after
                + self.bytes[after..line.end]
                    .iter()
                    .take_while(|&&b| b == b' ')
                    .count();
            if value_at < line.end && self.bytes[value_at] != b'#' {
                self.value_in_line(line, value_at, column + 1)?;
            } else {
                if value_at < line.end && value_at == after {
                    return Err(NOT_SIMPLE); // `key:#`: not a comment
                }
                let colon_mark = self.mark(line, colon);
                self.advance()?;
                match self.line {
                    Some(next) if next.indent > column => {
                        self.block_node(next, next.content(), Some(column))?;
                    }
                    Some(next)
                        if next.indent == column
                            && self.bytes[next.content()] == b'-'
                            && is_space_or_end(self.bytes[..next.end].get(next.content() + 1)) =>
                    {
                        self.block_sequence(next, next.content(), true)?;
                    }
                    _ => self.emit_scalar("", true, &colon_mark)?,
                }
            }
            // The next key, at this mapping's column.
            match self.line {
                Some(next) if next.indent == column => {
                    line = next;
                    at = next.content();
                }
                Some(next) if next.indent > column => return Err(NOT_SIMPLE),
                _ => break,
            }
        }
        let end = self.end_mark();
        self.emit(Step::Close, &end)
    }

    /// A block sequence whose first `-` is at `at` on `line`; `indentless` when it is a
    /// mapping value whose dashes sit at the key's column.
    fn block_sequence(&mut self, line: Line, at: usize, indentless: bool) -> Outcome<()> {
        let column = at - line.start;
        let (mut line, mut at) = (line, at);
        let mut first = true;
        loop {
            let entry = at
                + 1
                + self.bytes[at + 1..line.end]
                    .iter()
                    .take_while(|&&b| b == b' ')
                    .count();
            let empty = entry == line.end || self.bytes[entry] == b'#';
            if first {
                // saphyr places an indentless sequence at its first entry, an indented
                // one at its first dash.
                let open = if indentless {
                    if empty {
                        return Err(NOT_SIMPLE);
                    }
                    self.mark(line, entry)
                } else {
                    self.mark(line, at)
                };
                self.emit(Step::Open(crate::NodeKind::Sequence, 0, false), &open)?;
                first = false;
            }
            if empty {
                if entry < line.end && entry == at + 1 {
                    return Err(NOT_SIMPLE);
                }
                let end_mark = self.mark(line, line.end);
                self.advance()?;
                match self.line {
                    Some(next) if next.indent > column => {
                        self.block_node(next, next.content(), Some(column))?;
                    }
                    _ => self.emit_scalar("", true, &end_mark)?,
                }
            } else {
                self.block_node(line, entry, Some(column))?;
            }
            match self.line {
                Some(next)
                    if next.indent == column
                        && self.bytes[next.content()] == b'-'
                        && is_space_or_end(self.bytes[..next.end].get(next.content() + 1)) =>
                {
                    line = next;
                    at = next.content();
                }
                Some(next) if next.indent > column => return Err(NOT_SIMPLE),
                // A key at the dashes' column ends an indentless sequence; anything
                // else there is not ours.
                Some(next) if next.indent == column && !indentless => return Err(NOT_SIMPLE),
                _ => break,
            }
        }
        let end = self.end_mark();
        self.emit(Step::Close, &end)
    }

    /// Where saphyr ends a block collection: the next content line's start, or the end.
    fn end_mark(&self) -> Mark {
        match self.line {
            Some(l) => Mark {
                line: l.number,
                col: 0,
            },
            None => Mark {
                line: self.next_number,
                col: 0,
            },
        }
    }

    fn emit_scalar(&mut self, value: &str, plain: bool, mark: &Mark) -> Outcome<()> {
        self.emit(
            Step::Scalar {
                value,
                plain,
                anchor: 0,
                at: None,
            },
            mark,
        )
    }

    /// A value that starts at `at` on `line` and is not a block collection: a scalar, a
    /// literal block scalar or a flow collection. Its block content (a literal's lines)
    /// must be indented at least `min_indent`. Moves to the next content line.
    fn value_in_line(&mut self, line: Line, at: usize, min_indent: usize) -> Outcome<()> {
        let mark = self.mark(line, at);
        match self.bytes[at] {
            b'"' | b'\'' => {
                let Some((value, after)) = self.quoted(line, at)? else {
                    return Err(NOT_SIMPLE);
                };
                if !self.rest_is_empty(after) {
                    return Err(NOT_SIMPLE);
                }
                self.emit_scalar(value.as_ref(), false, &mark)?;
                self.after_scalar(min_indent)
            }
            b'|' => self.literal(line, at, min_indent),
            b'[' | b'{' => {
                let after = self.flow(line, at)?;
                if !self.rest_is_empty(after) {
                    return Err(NOT_SIMPLE);
                }
                self.after_scalar(min_indent)
            }
            _ if !starts_plain(&self.bytes[..line.end], at) => Err(NOT_SIMPLE),
            _ => {
                let (end, stop) = self.plain_end(line, at)?;
                if stop == Stop::Colon {
                    return Err(NOT_SIMPLE); // `a: b: c`, or a key where a value belongs
                }
                let first = self.text[at..end].trim_end_matches(' ');
                if stop == Stop::Comment {
                    self.emit_scalar(first, true, &mark)?;
                    return self.after_scalar(min_indent);
                }
                let (more, next) = self.plain_lines(line, min_indent)?;
                if more.is_empty() {
                    self.emit_scalar(first, true, &mark)?;
                } else {
                    let mut value = String::with_capacity(first.len() + more.len());
                    value.push_str(first);
                    value.push_str(&more);
                    self.emit_scalar(&value, true, &mark)?;
                }
                self.next = next.0;
                self.next_number = next.1;
                self.after_scalar(min_indent)
            }
        }
    }

    /// The continuation lines of a plain scalar that began on `line` (those indented at
    /// least `min_indent`), folded as YAML folds them: each joined by a space, or by as
    /// many line breaks as there are blank lines between. Returns the folded text and
    /// the offset and number of the line after them.
    fn plain_lines(&self, line: Line, min_indent: usize) -> Outcome<(String, (usize, usize))> {
        let mut folded = String::new();
        let mut pos = line.end + 1;
        let mut number = line.number + 1;
        let mut end_of_scalar = (pos, number);
        let mut blanks = 0usize;
        while pos < self.bytes.len() {
            let (end, spaces) = self.raw_line(pos);
            let content = pos + spaces;
            if content == end {
                blanks += 1;
            } else {
                if spaces < min_indent || self.bytes[content] == b'#' {
                    break;
                }
                let this = Line {
                    number,
                    start: pos,
                    end,
                    indent: spaces,
                };
                if !starts_plain(&self.bytes[..end], content) {
                    return Err(NOT_SIMPLE);
                }
                let (text_end, stop) = self.plain_end(this, content)?;
                if stop == Stop::Colon {
                    return Err(NOT_SIMPLE); // a key inside: saphyr decides
                }
                if blanks == 0 {
                    folded.push(' ');
                }
                for _ in 0..blanks {
                    folded.push('\n');
                }
                blanks = 0;
                folded.push_str(self.text[content..text_end].trim_end_matches(' '));
                end_of_scalar = (end + 1, number + 1);
                if end == self.bytes.len() {
                    return Err(NOT_SIMPLE);
                }
                if stop == Stop::Comment {
                    break; // a comment ends the scalar
                }
            }
            pos = end + 1;
            number += 1;
        }
        if pos > line.end + 1 && pos >= self.bytes.len() && !self.text.ends_with('\n') {
            return Err(NOT_SIMPLE); // as for block scalars
        }
        if folded.is_empty() {
            return Ok((folded, (line.end + 1, line.number + 1)));
        }
        Ok((folded, end_of_scalar))
    }

    /// After a one-line value: the next content line must not continue it.
    fn after_scalar(&mut self, min_indent: usize) -> Outcome<()> {
        self.advance()?;
        match self.line {
            Some(next) if next.indent >= min_indent => Err(NOT_SIMPLE),
            _ => Ok(()),
        }
    }

    /// Where a plain scalar starting at `at` ends (trailing spaces included), and what
    /// stops it: the line's end, a comment, or a `:` that makes it a key.
    fn plain_end(&self, line: Line, at: usize) -> Outcome<(usize, Stop)> {
        let bytes = &self.bytes[..line.end];
        if !starts_plain(bytes, at) {
            return Err(NOT_SIMPLE);
        }
        let mut i = at;
        while let Some(offset) = memchr::memchr2(b':', b'#', &bytes[i..]) {
            let j = i + offset;
            if bytes[j] == b':' {
                if is_space_or_end(bytes.get(j + 1)) {
                    return Ok((j, Stop::Colon));
                }
            } else if bytes[j - 1] == b' ' {
                return Ok((j, Stop::Comment));
            }
            i = j + 1;
        }
        Ok((line.end, Stop::Line))
    }

    /// A one-line quoted scalar at `at`: its value and the offset after its closing
    /// quote; `None` when it does not close on this line or has an escape.
    fn quoted(&self, line: Line, at: usize) -> Outcome<Option<(std::borrow::Cow<'t, str>, usize)>> {
        let bytes = &self.bytes[..line.end];
        let quote = bytes[at];
        if quote == b'"' {
            let Some(close) = memchr::memchr2(b'"', b'\\', &bytes[at + 1..]) else {
                return Ok(None);
            };
            let close = at + 1 + close;
            if bytes[close] == b'\\' {
                let escaped = unescape(&self.text[at + 1..line.end]);
                return Ok(escaped.map(|(value, len)| (value.into(), at + 2 + len)));
            }
            return Ok(Some((self.text[at + 1..close].into(), close + 1)));
        }
        let mut value = String::new();
        let mut from = at + 1;
        loop {
            let Some(close) = memchr::memchr(b'\'', &bytes[from..]) else {
                return Ok(None);
            };
            let close = from + close;
            if bytes.get(close + 1) == Some(&b'\'') {
                value.push_str(&self.text[from..=close]);
                from = close + 2;
                continue;
            }
            if value.is_empty() {
                return Ok(Some((self.text[at + 1..close].into(), close + 1)));
            }
            value.push_str(&self.text[from..close]);
            return Ok(Some((value.into(), close + 1)));
        }
    }

    /// A literal block scalar whose `|` is at `at`; its lines are indented at least
    /// `min_indent`.
    fn literal(&mut self, line: Line, at: usize, min_indent: usize) -> Outcome<()> {
        let bytes = &self.bytes[..line.end];
        let (keep, strip, header_end) = match bytes.get(at + 1) {
            Some(b'-') => (false, true, at + 2),
            Some(b'+') => (true, false, at + 2),
            _ => (false, false, at + 1),
        };
        if header_end < line.end && bytes[header_end] != b' ' {
            return Err(NOT_SIMPLE); // an indentation indicator, or text
        }
        if !self.rest_is_empty(header_end) {
            return Err(NOT_SIMPLE);
        }
        // The lines that follow, raw: blank ones included, comments are content.
        let mut value = String::new();
        let mut pos = line.end + 1;
        let mut number = line.number + 1;
        let mut indent = None;
        let mut mark = None;
        let mut breaks = 0usize; // line breaks owed before the next content line
        while pos < self.bytes.len() {
            let (end, spaces) = self.raw_line(pos);
            let blank = pos + spaces == end;
            if blank {
                if indent.is_none() {
                    return Err(NOT_SIMPLE); // leading blank lines: saphyr's rules
                }
                if indent.is_some_and(|n| spaces > n) {
                    return Err(NOT_SIMPLE); // spaces beyond the indentation are content
                }
                breaks += 1;
            } else {
                let n = *indent.get_or_insert(spaces);
                if spaces < n || spaces < min_indent {
                    break;
                }
                if mark.is_none() {
                    mark = Some(Mark {
                        line: number,
                        col: spaces,
                    });
                }
                if !value.is_empty() {
                    for _ in 0..=breaks {
                        value.push('\n');
                    }
                }
                breaks = 0;
                value.push_str(&self.text[pos + n..end]);
                if end == self.bytes.len() {
                    return Err(NOT_SIMPLE); // no final line break
                }
            }
            pos = end + 1;
            number += 1;
        }
        let Some(mark) = mark else {
            return Err(NOT_SIMPLE); // an empty block scalar
        };
        if pos >= self.bytes.len() && !self.text.ends_with('\n') {
            // At the end of a text without a final line break, saphyr's block scalars
            // end in ways of their own.
            return Err(NOT_SIMPLE);
        }
        if pos >= self.bytes.len() && breaks > 0 && keep {
            return Err(NOT_SIMPLE);
        }
        if keep {
            for _ in 0..=breaks {
                value.push('\n');
            }
        } else if !strip {
            value.push('\n');
        }
        self.emit_scalar(value.as_ref(), false, &mark)?;
        // Carry on after the block: the lines it took are consumed.
        self.next = pos.min(self.bytes.len());
        self.next_number = number;
        self.advance()?;
        if let Some(next) = self.line {
            if next.indent >= min_indent {
                return Err(NOT_SIMPLE);
            }
        }
        Ok(())
    }

    /// A flow collection opening at `at` that closes on the same line: steps for it and
    /// the offset after it.
    fn flow(&mut self, line: Line, at: usize) -> Outcome<usize> {
        let bytes = &self.bytes[..line.end];
        let mapping = bytes[at] == b'{';
        let kind = if mapping {
            crate::NodeKind::Mapping
        } else {
            crate::NodeKind::Sequence
        };
        let open = self.mark(line, at);
        self.emit(Step::Open(kind, 0, false), &open)?;
        let close = if mapping { b'}' } else { b']' };
        let mut i = at + 1;
        let skip = |i: usize| i + bytes[i..].iter().take_while(|&&b| b == b' ').count();
        i = skip(i);
        if bytes.get(i) == Some(&close) {
            let mark = self.mark(line, i);
            self.emit(Step::Close, &mark)?;
            return Ok(i + 1);
        }
        loop {
            // An entry: a scalar, or a nested collection; in a mapping, `key: value`.
            i = self.flow_entry(line, i)?;
            i = skip(i);
            if mapping {
                if bytes.get(i) != Some(&b':') || !matches!(bytes.get(i + 1), Some(b' ')) {
                    return Err(NOT_SIMPLE);
                }
                i = skip(i + 1);
                i = self.flow_entry(line, i)?;
                i = skip(i);
            }
            match bytes.get(i) {
                Some(b',') => {
                    i = skip(i + 1);
                    // A trailing comma adds no entry.
                    if bytes.get(i) == Some(&close) {
                        let mark = self.mark(line, i);
                        self.emit(Step::Close, &mark)?;
                        return Ok(i + 1);
                    }
                }
                Some(&b) if b == close => {
                    let mark = self.mark(line, i);
                    self.emit(Step::Close, &mark)?;
                    return Ok(i + 1);
                }
                _ => return Err(NOT_SIMPLE),
            }
        }
    }

    /// One scalar or collection inside a flow collection; the offset after it.
    fn flow_entry(&mut self, line: Line, at: usize) -> Outcome<usize> {
        let bytes = &self.bytes[..line.end];
        let Some(&first) = bytes.get(at) else {
            return Err(NOT_SIMPLE);
        };
        let mark = self.mark(line, at);
        match first {
            b'[' | b'{' => self.flow(line, at),
            b'"' | b'\'' => {
                let Some((value, after)) = self.quoted(line, at)? else {
                    return Err(NOT_SIMPLE);
                };
                self.emit_scalar(value.as_ref(), false, &mark)?;
                Ok(after)
            }
            _ => {
                // A plain scalar of safe characters only.
                let len = bytes[at..]
                    .iter()
                    .take_while(|&&b| {
                        b.is_ascii_alphanumeric()
                            || b >= 0x80
                            || matches!(b, b'-' | b'_' | b'.' | b'/' | b' ')
                    })
                    .count();
                let value = self.text[at..at + len].trim_end_matches(' ');
                let dash_alone =
                    value.starts_with('-') && value.as_bytes().get(1).is_none_or(|b| *b == b' ');
                if value.is_empty() || dash_alone {
                    return Err(NOT_SIMPLE);
                }
                self.emit_scalar(value, true, &mark)?;
                Ok(at + value.len())
            }
        }
    }
}

/// The value of a double-quoted scalar whose text after the opening quote is `text`,
/// and the length of that text up to its closing quote; `None` when it does not close in
/// `text` or holds an escape outside YAML's list.
fn unescape(text: &str) -> Option<(String, usize)> {
    let mut value = String::with_capacity(text.len());
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, i)),
            '\\' => {
                let (_, e) = chars.next()?;
                let escaped = match e {
                    '0' => '\0',
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    't' => '\t',
                    'n' => '\n',
                    'v' => '\u{b}',
                    'f' => '\u{c}',
                    'r' => '\r',
                    'e' => '\u{1b}',
                    ' ' => ' ',
                    '"' => '"',
                    '/' => '/',
                    '\\' => '\\',
                    'N' => '\u{85}',
                    '_' => '\u{a0}',
                    'L' => '\u{2028}',
                    'P' => '\u{2029}',
                    'x' | 'u' | 'U' => {
                        let digits = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut code = 0u32;
                        for _ in 0..digits {
                            let (_, d) = chars.next()?;
                            code = code * 16 + d.to_digit(16)?;
                        }
                        char::from_u32(code)?
                    }
                    _ => return None,
                };
                value.push(escaped);
            }
            c => value.push(c),
        }
    }
    None
}

/// A mapping key: its value, whether it is plain, and where its `:` is.
struct Key<'t> {
    value: std::borrow::Cow<'t, str>,
    plain: bool,
    colon: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    Line,
    Comment,
    Colon,
}
