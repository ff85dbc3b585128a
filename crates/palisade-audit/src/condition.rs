//! Falco's condition language, the subset its Kubernetes audit rules use: `and`, `or`,
//! `not`, parentheses, macro names, and comparisons of a field (`ka.verb`,
//! `ka.uri.param[name]`, `jevt.value[/json/pointer]`) with a value or a list.
//!
//! Parsing yields an [`Expr`] with macro and list names unresolved; [`crate::rules`]
//! resolves them. Precedence: `not` binds tighter than `and`, `and` than `or`.

use std::fmt;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    IContains,
    StartsWith,
    EndsWith,
    Glob,
    /// Every value of the field is in the set.
    In,
    /// Some value of the field is in the set.
    Intersects,
    /// A value of the field is a path under one of the set's prefixes.
    PMatch,
    /// The field has a value.
    Exists,
}

impl Op {
    fn parse(word: &str) -> Option<Op> {
        Some(match word {
            "=" | "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "contains" => Op::Contains,
            "icontains" => Op::IContains,
            "startswith" => Op::StartsWith,
            "endswith" => Op::EndsWith,
            "glob" => Op::Glob,
            "in" => Op::In,
            "intersects" => Op::Intersects,
            "pmatch" => Op::PMatch,
            "exists" => Op::Exists,
            _ => return None,
        })
    }

    /// Whether the operator takes a parenthesised list.
    pub fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::Intersects | Op::PMatch)
    }
}

/// A field reference: `ka.uri.param[name]` is `ka.uri.param` with argument `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRef {
    pub name: String,
    pub arg: Option<String>,
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.arg {
            Some(a) => write!(f, "{}[{a}]", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// One item of a right-hand side: a literal, or a name that may be a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// Quoted: always a literal.
    Quoted(String),
    /// Bare: a list's name if such a list exists, else a literal.
    Bare(String),
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// A macro's name.
    Macro(String),
    Compare {
        field: FieldRef,
        op: Op,
        /// One item for scalar operators, the set for list operators, none for `exists`.
        values: Vec<Item>,
    },
}

/// A syntax error, with the byte offset where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.offset + 1)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Comma,
    /// An operator spelled with symbols.
    Symbol(&'static str),
    Word(String),
    Quoted(String),
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, SyntaxError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => {
                out.push((i, Token::Open));
                i += 1;
            }
            b')' => {
                out.push((i, Token::Close));
                i += 1;
            }
            b',' => {
                out.push((i, Token::Comma));
                i += 1;
            }
            b'=' | b'!' | b'<' | b'>' => {
                let two = text.get(i..i + 2).unwrap_or("");
                let sym = match two {
                    "==" => "==",
                    "!=" => "!=",
                    "<=" => "<=",
                    ">=" => ">=",
                    _ => match c {
                        b'=' => "=",
                        b'<' => "<",
                        b'>' => ">",
                        _ => {
                            return Err(SyntaxError {
                                offset: i,
                                message: "unexpected '!'".into(),
                            })
                        }
                    },
                };
                out.push((i, Token::Symbol(sym)));
                i += sym.len();
            }
            b'"' | b'\'' => {
                let quote = c;
                let mut value = String::new();
                i += 1;
                loop {
                    let Some(&b) = bytes.get(i) else {
                        return Err(SyntaxError {
                            offset: start,
                            message: "unterminated string".into(),
                        });
                    };
                    if b == quote {
                        i += 1;
                        break;
                    }
                    if b == b'\\' && bytes.get(i + 1).is_some() {
                        i += 1;
                    }
                    // Copy one whole UTF-8 character.
                    let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
                    value.push(ch);
                    i += ch.len_utf8();
                }
                out.push((start, Token::Quoted(value)));
            }
            _ => {
                // A word runs to whitespace, a parenthesis, a comma or an operator
                // symbol; brackets hold a field's argument, which may contain any of
                // them but `]`.
                let mut depth = 0usize;
                while i < bytes.len() {
                    let b = bytes[i];
                    if depth > 0 {
                        if b == b']' {
                            depth -= 1;
                        }
                        i += 1;
                        continue;
                    }
                    match b {
                        b'[' => depth += 1,
                        b' ' | b'\t' | b'\n' | b'\r' | b'(' | b')' | b',' | b'=' | b'<' | b'>' => {
                            break
                        }
                        b'!' if bytes.get(i + 1) == Some(&b'=') => break,
                        _ => {}
                    }
                    i += 1;
                }
                out.push((start, Token::Word(text[start..i].to_owned())));
            }
        }
    }
    Ok(out)
}

/// Parses a condition.
///
/// # Errors
/// A [`SyntaxError`] naming what was expected and where.
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    let tokens = tokenize(text)?;
    let mut p = Parser {
        tokens,
        at: 0,
        end: text.len(),
    };
    let e = p.or()?;
    if let Some((offset, t)) = p.tokens.get(p.at) {
        return Err(SyntaxError {
            offset: *offset,
            message: format!("unexpected {t:?} after a complete condition"),
        });
    }
    Ok(e)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(_, t)| t)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |(o, _)| *o)
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, SyntaxError> {
        Err(SyntaxError {
            offset: self.offset(),
            message: message.into(),
        })
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w == word)
    }

    fn or(&mut self) -> Result<Expr, SyntaxError> {
        let mut parts = vec![self.and()?];
        while self.keyword("or") {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Expr::And(Vec::new()))
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Expr, SyntaxError> {
        let mut parts = vec![self.unary()?];
        while self.keyword("and") {
            self.at += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Expr::And(Vec::new()))
        } else {
            Expr::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        if self.keyword("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            let e = self.or()?;
            if self.peek() != Some(&Token::Close) {
                return self.error("expected ')'");
            }
            self.at += 1;
            return Ok(e);
        }
        let Some(Token::Word(word)) = self.peek().cloned() else {
            return self.error("expected a field, a macro, 'not' or '('");
        };
        self.at += 1;
        let op = match self.peek() {
            Some(Token::Symbol(s)) => Op::parse(s),
            Some(Token::Word(w)) => Op::parse(w),
            _ => None,
        };
        let Some(op) = op else {
            // A bare name is a macro; a field needs an operator.
            if word.contains('.') || word.contains('[') {
                return self.error(format!("expected an operator after field {word}"));
            }
            return Ok(Expr::Macro(word));
        };
        self.at += 1;
        let field = field_ref(&word);
        let values = if op == Op::Exists {
            Vec::new()
        } else if op.takes_list() {
            self.list()?
        } else {
            vec![self.value()?]
        };
        Ok(Expr::Compare { field, op, values })
    }

    fn value(&mut self) -> Result<Item, SyntaxError> {
        let item = match self.peek() {
            Some(Token::Quoted(s)) => Item::Quoted(s.clone()),
            Some(Token::Word(w)) => Item::Bare(w.clone()),
            _ => return self.error("expected a value"),
        };
        self.at += 1;
        Ok(item)
    }

    fn list(&mut self) -> Result<Vec<Item>, SyntaxError> {
        if self.peek() != Some(&Token::Open) {
            // `x in list_name` without parentheses is not Falco syntax.
            return self.error("expected '(' to open a list");
        }
        self.at += 1;
        let mut items = Vec::new();
        if self.peek() == Some(&Token::Close) {
            self.at += 1;
            return Ok(items);
        }
        loop {
            items.push(self.value()?);
            match self.peek() {
                Some(Token::Comma) => self.at += 1,
                Some(Token::Close) => {
                    self.at += 1;
                    return Ok(items);
                }
                _ => return self.error("expected ',' or ')' in a list"),
            }
        }
    }
}

/// `name[arg]` split into its parts.
fn field_ref(word: &str) -> FieldRef {
    match word.split_once('[') {
        Some((name, rest)) => FieldRef {
            name: name.to_owned(),
            arg: Some(rest.strip_suffix(']').unwrap_or(rest).to_owned()),
        },
        None => FieldRef {
            name: word.to_owned(),
            arg: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(field: &str, op: Op, values: &[&str]) -> Expr {
        Expr::Compare {
            field: field_ref(field),
            op,
            values: values.iter().map(|v| Item::Bare((*v).to_owned())).collect(),
        }
    }

    #[test]
    fn precedence_not_and_or() {
        let e = parse("a or not b and ka.verb=create").unwrap();
        assert_eq!(
            e,
            Expr::Or(vec![
                Expr::Macro("a".into()),
                Expr::And(vec![
                    Expr::Not(Box::new(Expr::Macro("b".into()))),
                    cmp("ka.verb", Op::Eq, &["create"]),
                ]),
            ])
        );
    }

    #[test]
    fn lists_arguments_and_quotes() {
        let e = parse(
            "ka.target.resource in (pods, \"pods/exec\", my_list) and jevt.value[/requestObject/kind]=\"Pod\" and ka.uri.param[command] exists",
        )
        .unwrap();
        let Expr::And(parts) = e else { panic!() };
        assert_eq!(
            parts[0],
            Expr::Compare {
                field: field_ref("ka.target.resource"),
                op: Op::In,
                values: vec![
                    Item::Bare("pods".into()),
                    Item::Quoted("pods/exec".into()),
                    Item::Bare("my_list".into())
                ],
            }
        );
        assert_eq!(
            parts[1],
            Expr::Compare {
                field: FieldRef {
                    name: "jevt.value".into(),
                    arg: Some("/requestObject/kind".into())
                },
                op: Op::Eq,
                values: vec![Item::Quoted("Pod".into())],
            }
        );
        assert_eq!(parts[2], cmp("ka.uri.param[command]", Op::Exists, &[]));
    }

    #[test]
    fn operators_without_spaces_and_paths_as_values() {
        assert_eq!(
            parse("ka.uri!=/api/v1/namespaces").unwrap(),
            cmp("ka.uri", Op::Ne, &["/api/v1/namespaces"])
        );
        assert_eq!(
            parse("ka.response.code>=400").unwrap(),
            cmp("ka.response.code", Op::Ge, &["400"])
        );
        assert_eq!(
            parse("(ka.verb startswith get)").unwrap(),
            cmp("ka.verb", Op::StartsWith, &["get"])
        );
    }

    #[test]
    fn errors_say_where() {
        for (text, at) in [
            ("ka.verb =", 9),
            ("(a and b", 8),
            ("ka.verb in pods", 11),
            ("a b", 2),
            ("ka.verb", 7),
            ("'open", 0),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.offset, at, "{text}: {e}");
        }
    }
}
