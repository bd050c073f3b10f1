//! The KQL lexer: source text to tokens with byte spans.
//!
//! Notes on Kusto's lexical rules, as implemented here:
//!
//! * Identifiers are `[A-Za-z_][A-Za-z0-9_]*` (Unicode letters are accepted too).
//!   `$left` and `$right` (join sides) lex as identifiers that keep the `$`.
//! * Operator names that contain a hyphen (`project-away`, `mv-expand`, `parse-kv`, …) lex
//!   as one identifier when written without spaces. `!has`, `!contains`, `!in`, `!between`
//!   and friends lex as one identifier, as do `in~` and `!in~`.
//! * Strings: `'…'` and `"…"` with backslash escapes (`\\ \' \" \n \r \t \uXXXX`; an
//!   unknown escape keeps the backslash), verbatim `@'…'` / `@"…"` where a doubled quote is
//!   a quote, multi-line ```` ```…``` ````, and obfuscated `h"…"` / `h@"…"` (same value,
//!   hidden in traces).
//! * Numbers: `long` (`42`, `0x2A`), `real` (`1.5`, `1e-3`); a number directly followed by
//!   a unit is a timespan (`1d`, `2h`, `30m`, `10s`, `100ms`, `10microsecond`, `1tick`).
//! * `datetime(…)`, `time(…)`, `timespan(…)`, `guid(…)`, `int(…)`, `long(…)`, `real(…)`,
//!   `double(…)`, `decimal(…)`, `bool(…)` and `typeof(…)` are single literal tokens: the
//!   text inside the parentheses is not tokenised (`datetime(2024-01-01 10:00:00)`).
//!   `dynamic(…)` is parsed by the parser, since it nests.
//! * Comments run from `//` to the end of the line. Kusto has no block comments.

use crate::ast::Span;
use crate::error::ParseError;

#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    /// An identifier or keyword (keywords are not reserved at the lexical level).
    Ident(String),
    Str {
        value: String,
        obfuscated: bool,
    },
    Long(i64),
    Real(f64),
    Timespan {
        raw: String,
        ticks: Option<i64>,
    },
    /// `type(raw text)`, see the module docs.
    Typed {
        ty: String,
        raw: String,
    },
    /// Punctuation and symbolic operators, e.g. `|`, `==`, `..`, `=>`.
    Sym(&'static str),
    Eof,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

/// Hyphenated operator names that lex as one identifier.
const HYPHENATED: &[&str] = &[
    "project-away",
    "project-keep",
    "project-rename",
    "project-reorder",
    "project-smart",
    "parse-where",
    "parse-kv",
    "mv-expand",
    "mv-apply",
    "make-series",
    "top-nested",
    "top-hitters",
    "sample-distinct",
    "granny-asc",
    "granny-desc",
    "make-graph",
    "graph-match",
    "graph-merge",
    "graph-to-table",
    "macro-expand",
    "assert-schema",
];

/// Words that may follow `!` to form a negated operator.
const NEGATABLE: &[&str] = &[
    "has",
    "has_cs",
    "hasprefix",
    "hasprefix_cs",
    "hassuffix",
    "hassuffix_cs",
    "contains",
    "contains_cs",
    "containscs",
    "startswith",
    "startswith_cs",
    "endswith",
    "endswith_cs",
    "in",
    "between",
    "has_any",
    "has_all",
];

/// Names whose parenthesised argument is raw literal text.
const TYPED_LITERALS: &[&str] = &[
    "datetime", "date", "time", "timespan", "guid", "uuid", "uniqueid", "int", "int32", "long",
    "int64", "real", "double", "decimal", "bool", "boolean", "typeof",
];

/// Symbols, longest first so that `==` wins over `=`.
const SYMBOLS: &[&str] = &[
    "..", "==", "!=", "<>", "<=", ">=", "=~", "!~", "=>", "|", "(", ")", "[", "]", "{", "}", ",",
    ";", ":", ".", "=", "<", ">", "+", "-", "*", "/", "%", "?",
];

/// Timespan units and their length in 100-nanosecond ticks.
const UNITS: &[(&str, f64)] = &[
    ("d", 864_000_000_000.0),
    ("day", 864_000_000_000.0),
    ("days", 864_000_000_000.0),
    ("h", 36_000_000_000.0),
    ("hr", 36_000_000_000.0),
    ("hrs", 36_000_000_000.0),
    ("hour", 36_000_000_000.0),
    ("hours", 36_000_000_000.0),
    ("m", 600_000_000.0),
    ("min", 600_000_000.0),
    ("minute", 600_000_000.0),
    ("minutes", 600_000_000.0),
    ("s", 10_000_000.0),
    ("sec", 10_000_000.0),
    ("second", 10_000_000.0),
    ("seconds", 10_000_000.0),
    ("ms", 10_000.0),
    ("milli", 10_000.0),
    ("millis", 10_000.0),
    ("millisec", 10_000.0),
    ("millisecond", 10_000.0),
    ("milliseconds", 10_000.0),
    ("micro", 10.0),
    ("micros", 10.0),
    ("microsec", 10.0),
    ("microsecond", 10.0),
    ("microseconds", 10.0),
    ("tick", 1.0),
    ("ticks", 1.0),
    ("nano", 0.01),
    ("nanos", 0.01),
    ("nanosec", 0.01),
    ("nanosecond", 0.01),
    ("nanoseconds", 0.01),
    ("millisecs", 10_000.0),
    ("microsecs", 10.0),
    ("nanosecs", 0.01),
    ("secs", 10_000_000.0),
    ("mins", 600_000_000.0),
];

/// Is `c` a character that can start an identifier?
pub fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

/// Is `c` a character that can continue an identifier?
pub fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// The value of a timespan unit in ticks, if `unit` is one.
pub fn unit_ticks(unit: &str) -> Option<f64> {
    UNITS.iter().find(|(u, _)| *u == unit).map(|(_, t)| *t)
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    tokens: Vec<Token>,
}

/// Splits `src` into tokens. The last token is always [`TokenKind::Eof`].
pub fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut lx = Lexer {
        src,
        pos: 0,
        tokens: Vec::new(),
    };
    lx.run()?;
    Ok(lx.tokens)
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token {
            kind,
            span: Span::new(start, self.pos),
        });
    }

    fn err<T>(&self, message: impl Into<String>, start: usize) -> Result<T, ParseError> {
        Err(ParseError::new(
            message,
            Span::new(
                start,
                self.pos.max(start + 1).min(self.src.len().max(start)),
            ),
        ))
    }

    fn run(&mut self) -> Result<(), ParseError> {
        loop {
            self.skip_trivia();
            let start = self.pos;
            let Some(c) = self.peek() else {
                self.push(TokenKind::Eof, start);
                return Ok(());
            };
            if c == '\'' || c == '"' {
                let value = self.quoted(c)?;
                self.push(
                    TokenKind::Str {
                        value,
                        obfuscated: false,
                    },
                    start,
                );
            } else if c == '@' {
                match self.peek_at(1) {
                    Some(q @ ('\'' | '"')) => {
                        self.pos += 1;
                        let value = self.verbatim(q)?;
                        self.push(
                            TokenKind::Str {
                                value,
                                obfuscated: false,
                            },
                            start,
                        );
                    }
                    _ => {
                        self.pos += 1;
                        return self.err("unexpected character `@`", start);
                    }
                }
            } else if self.rest().starts_with("```") || self.rest().starts_with("~~~") {
                let value = self.multiline()?;
                self.push(
                    TokenKind::Str {
                        value,
                        obfuscated: false,
                    },
                    start,
                );
            } else if (c == 'h' || c == 'H') && self.obfuscated_start() {
                self.pos += 1;
                let value = match self.peek() {
                    Some('`' | '~') => self.multiline()?,
                    Some('@') => {
                        self.pos += 1;
                        match self.peek() {
                            Some(q) => self.verbatim(q)?,
                            None => return self.err("unterminated string", start),
                        }
                    }
                    Some(q) => self.quoted(q)?,
                    None => return self.err("unterminated string", start),
                };
                self.push(
                    TokenKind::Str {
                        value,
                        obfuscated: true,
                    },
                    start,
                );
            } else if c.is_ascii_digit() {
                self.number(start)?;
            } else if is_ident_start(c) {
                self.ident(start)?;
            } else if c == '$' {
                self.pos += 1;
                let name_start = self.pos;
                while self.peek().is_some_and(is_ident_continue) {
                    self.pos += self.peek().map_or(1, char::len_utf8);
                }
                if self.pos == name_start {
                    return self.err("expected a name after `$`", start);
                }
                let text = self.src.get(start..self.pos).unwrap_or("").to_string();
                self.push(TokenKind::Ident(text), start);
            } else if c == '!' && self.peek_at(1).is_some_and(is_ident_start) {
                self.pos += 1;
                let word_start = self.pos;
                while self.peek().is_some_and(is_ident_continue) {
                    self.pos += self.peek().map_or(1, char::len_utf8);
                }
                let word = self.src.get(word_start..self.pos).unwrap_or("");
                if !NEGATABLE.contains(&word) {
                    return self.err(format!("unknown negated operator `!{word}`"), start);
                }
                let mut text = format!("!{word}");
                if word == "in" && self.peek() == Some('~') {
                    self.pos += 1;
                    text.push('~');
                }
                self.push(TokenKind::Ident(text), start);
            } else if let Some(sym) = SYMBOLS.iter().find(|s| self.rest().starts_with(**s)) {
                self.pos += sym.len();
                self.push(TokenKind::Sym(sym), start);
            } else {
                self.pos += c.len_utf8();
                return self.err(format!("unexpected character `{c}`"), start);
            }
        }
    }

    fn obfuscated_start(&self) -> bool {
        let after = self.rest().get(1..).unwrap_or("");
        if after.starts_with("```") || after.starts_with("~~~") {
            return true;
        }
        match self.peek_at(1) {
            Some('\'' | '"') => true,
            Some('@') => matches!(self.peek_at(2), Some('\'' | '"')),
            _ => false,
        }
    }

    fn skip_trivia(&mut self) {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("//") {
                let line_len = trimmed.find('\n').unwrap_or(trimmed.len());
                self.pos += line_len;
            } else {
                return;
            }
        }
    }

    /// A `'…'` or `"…"` string with escapes; the cursor is on the opening quote.
    fn quoted(&mut self, quote: char) -> Result<String, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return self.err("unterminated string literal", start);
            };
            self.pos += c.len_utf8();
            if c == quote {
                return Ok(out);
            }
            match c {
                '\n' => {
                    self.pos -= 1;
                    return self.err("unterminated string literal (strings end at the line end; use ```…``` for multi-line text)", start);
                }
                '\\' => {
                    let Some(e) = self.peek() else {
                        return self.err("unterminated string literal", start);
                    };
                    self.pos += e.len_utf8();
                    match e {
                        '\\' => out.push('\\'),
                        '\'' => out.push('\''),
                        '"' => out.push('"'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'a' => out.push('\u{7}'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'v' => out.push('\u{b}'),
                        'u' | 'U' | 'x' => {
                            let n = match e {
                                'u' => 4,
                                'U' => 8,
                                _ => 2,
                            };
                            let hex = self.rest().get(..n).unwrap_or("");
                            let decoded =
                                if hex.len() == n && hex.chars().all(|h| h.is_ascii_hexdigit()) {
                                    u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
                                } else {
                                    None
                                };
                            match decoded {
                                Some(ch) => {
                                    self.pos += n;
                                    out.push(ch);
                                }
                                None => {
                                    out.push('\\');
                                    out.push(e);
                                }
                            }
                        }
                        '0'..='7' => {
                            // Up to three octal digits.
                            let mut v = e as u32 - '0' as u32;
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ '0'..='7')
                                        if v * 8 + (d as u32 - '0' as u32) <= 0o377 =>
                                    {
                                        v = v * 8 + (d as u32 - '0' as u32);
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push(char::from_u32(v).unwrap_or('\0'));
                        }
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    }
                }
                _ => out.push(c),
            }
        }
    }

    /// A verbatim `'…'` / `"…"` string (the `@` already consumed); a doubled quote is a quote.
    fn verbatim(&mut self, quote: char) -> Result<String, ParseError> {
        let start = self.pos.saturating_sub(1);
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return self.err("unterminated verbatim string literal", start);
            };
            if c == '\n' {
                return self.err("unterminated verbatim string literal", start);
            }
            self.pos += c.len_utf8();
            if c == quote {
                if self.peek() == Some(quote) {
                    self.pos += 1;
                    out.push(quote);
                } else {
                    return Ok(out);
                }
            } else {
                out.push(c);
            }
        }
    }

    /// A ```` ```…``` ```` or `~~~…~~~` string; the cursor is on the opening fence.
    fn multiline(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        let fence = if self.rest().starts_with("~~~") {
            "~~~"
        } else {
            "```"
        };
        self.pos += 3;
        match self.rest().find(fence) {
            Some(end) => {
                let value = self.rest().get(..end).unwrap_or("").to_string();
                self.pos += end + 3;
                Ok(value)
            }
            None => {
                self.pos = self.src.len();
                self.err(format!("unterminated {fence} string literal"), start)
            }
        }
    }

    fn number(&mut self, start: usize) -> Result<(), ParseError> {
        let bytes = self.src.as_bytes();
        let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
        if at(self.pos) == b'0' && matches!(at(self.pos + 1), b'x' | b'X') {
            let digits_start = self.pos + 2;
            let mut end = digits_start;
            while at(end).is_ascii_hexdigit() {
                end += 1;
            }
            self.pos = end;
            let digits = self.src.get(digits_start..end).unwrap_or("");
            return match i64::from_str_radix(digits, 16)
                .ok()
                .or_else(|| u64::from_str_radix(digits, 16).ok().map(|v| v as i64))
            {
                Some(v) if !digits.is_empty() => {
                    self.push(TokenKind::Long(v), start);
                    Ok(())
                }
                _ => self.err("invalid hexadecimal literal", start),
            };
        }
        let mut end = self.pos;
        while at(end).is_ascii_digit() {
            end += 1;
        }
        let mut is_real = false;
        if at(end) == b'.' && at(end + 1).is_ascii_digit() {
            is_real = true;
            end += 1;
            while at(end).is_ascii_digit() {
                end += 1;
            }
        } else if at(end) == b'.'
            && at(end + 1) != b'.'
            && !at(end + 1).is_ascii_alphabetic()
            && at(end + 1) != b'_'
        {
            // `1.` is a real; `1..2` is a range and `1.e` is left to the parser.
            is_real = true;
            end += 1;
        }
        if matches!(at(end), b'e' | b'E') {
            let mut e = end + 1;
            if matches!(at(e), b'+' | b'-') {
                e += 1;
            }
            if at(e).is_ascii_digit() {
                while at(e).is_ascii_digit() {
                    e += 1;
                }
                is_real = true;
                end = e;
            }
        }
        let num_text = self.src.get(start..end).unwrap_or("");
        self.pos = end;
        // A unit directly after the number makes a timespan.
        if self.peek().is_some_and(is_ident_start) {
            let unit_start = self.pos;
            while self.peek().is_some_and(is_ident_continue) {
                self.pos += self.peek().map_or(1, char::len_utf8);
            }
            let unit = self.src.get(unit_start..self.pos).unwrap_or("");
            let Some(per) = unit_ticks(unit) else {
                // Digits followed by letters form an identifier (`2022Report`), unless the
                // number has a fraction or exponent.
                if num_text.bytes().all(|b| b.is_ascii_digit()) {
                    let text = self.src.get(start..self.pos).unwrap_or("").to_string();
                    self.push(TokenKind::Ident(text), start);
                    return Ok(());
                }
                return self.err(format!("invalid number literal `{num_text}{unit}`"), start);
            };
            let ticks = num_text.parse::<f64>().ok().and_then(|v| {
                let t = (v * per).round();
                (t.is_finite() && t.abs() < 9.2e18).then_some(t as i64)
            });
            let raw = self.src.get(start..self.pos).unwrap_or("").to_string();
            self.push(TokenKind::Timespan { raw, ticks }, start);
            return Ok(());
        }
        if is_real {
            match num_text.parse::<f64>() {
                Ok(v) => self.push(TokenKind::Real(v), start),
                Err(_) => return self.err("invalid real literal", start),
            }
        } else {
            match num_text.parse::<i64>() {
                Ok(v) => self.push(TokenKind::Long(v), start),
                Err(_) => match num_text.parse::<f64>() {
                    Ok(v) => self.push(TokenKind::Real(v), start),
                    Err(_) => return self.err("invalid number literal", start),
                },
            }
        }
        Ok(())
    }

    fn ident(&mut self, start: usize) -> Result<(), ParseError> {
        while self.peek().is_some_and(is_ident_continue) {
            self.pos += self.peek().map_or(1, char::len_utf8);
        }
        let mut text = self.src.get(start..self.pos).unwrap_or("").to_string();
        // Hyphenated operator names.
        if self.peek() == Some('-') && self.peek_at(1).is_some_and(is_ident_start) {
            let save = self.pos;
            self.pos += 1;
            while self
                .peek()
                .is_some_and(|c| is_ident_continue(c) || c == '-')
            {
                self.pos += self.peek().map_or(1, char::len_utf8);
            }
            // Take the longest hyphenated keyword that is a prefix ending at a word boundary.
            let candidate = self.src.get(start..self.pos).unwrap_or("");
            let found = HYPHENATED
                .iter()
                .filter(|k| {
                    candidate.starts_with(**k)
                        && !candidate
                            .get(k.len()..)
                            .and_then(|r| r.chars().next())
                            .is_some_and(is_ident_continue)
                })
                .max_by_key(|k| k.len());
            match found {
                Some(k) => {
                    self.pos = start + k.len();
                    text = k.to_string();
                }
                None => self.pos = save,
            }
        }
        if text == "in" && self.peek() == Some('~') {
            self.pos += 1;
            text.push('~');
        }
        if TYPED_LITERALS.contains(&text.as_str()) {
            let save = self.pos;
            self.skip_trivia();
            if self.peek() == Some('(') {
                let open = self.pos;
                let mut depth = 0usize;
                let mut end = None;
                let mut quote: Option<char> = None;
                for (i, c) in self.rest().char_indices() {
                    if let Some(q) = quote {
                        if c == q {
                            quote = None;
                        }
                        continue;
                    }
                    match c {
                        '\'' | '"' => quote = Some(c),
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(open + i);
                                break;
                            }
                        }
                        '\n' if text != "typeof" => break,
                        _ => {}
                    }
                }
                let Some(close) = end else {
                    return self.err(format!("unterminated `{text}(` literal"), start);
                };
                let raw = self
                    .src
                    .get(open + 1..close)
                    .unwrap_or("")
                    .trim()
                    .to_string();
                self.pos = close + 1;
                self.push(TokenKind::Typed { ty: text, raw }, start);
                return Ok(());
            }
            self.pos = save;
        }
        self.push(TokenKind::Ident(text), start);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src)
            .map(|t| t.into_iter().map(|t| t.kind).collect())
            .unwrap_or_else(|e| panic!("lex error {e:?}"))
    }

    fn ident(s: &str) -> TokenKind {
        TokenKind::Ident(s.to_string())
    }

    fn string(s: &str) -> TokenKind {
        TokenKind::Str {
            value: s.to_string(),
            obfuscated: false,
        }
    }

    #[test]
    fn strings() {
        assert_eq!(
            kinds(
                r#"'a\'b' "c\"d\n" @"C:\x""y" @'z''' ```m
l``` h"secret" h@'v\'"#
            ),
            vec![
                string("a'b"),
                string("c\"d\n"),
                string("C:\\x\"y"),
                string("z'"),
                string("m\nl"),
                TokenKind::Str {
                    value: "secret".into(),
                    obfuscated: true
                },
                TokenKind::Str {
                    value: "v\\".into(),
                    obfuscated: true
                },
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn numbers_and_timespans() {
        let ks = kinds("1 2.5 1e3 0x10 1d 2h 30m 10s 100ms 10microsecond 1tick 1.5h 1..2");
        assert_eq!(ks[0], TokenKind::Long(1));
        assert_eq!(ks[1], TokenKind::Real(2.5));
        assert_eq!(ks[2], TokenKind::Real(1000.0));
        assert_eq!(ks[3], TokenKind::Long(16));
        assert_eq!(
            ks[4],
            TokenKind::Timespan {
                raw: "1d".into(),
                ticks: Some(864_000_000_000)
            }
        );
        assert_eq!(
            ks[9],
            TokenKind::Timespan {
                raw: "10microsecond".into(),
                ticks: Some(100)
            }
        );
        assert_eq!(
            ks[11],
            TokenKind::Timespan {
                raw: "1.5h".into(),
                ticks: Some(54_000_000_000)
            }
        );
        assert_eq!(
            &ks[12..15],
            &[TokenKind::Long(1), TokenKind::Sym(".."), TokenKind::Long(2)]
        );
        assert!(tokenize("1.5abc").is_err());
        assert_eq!(kinds("2022Report")[0], ident("2022Report"));
    }

    #[test]
    fn typed_literals_and_operators() {
        assert_eq!(
            kinds("datetime(2024-01-01 10:00:00.1) guid(74be27de-1e4e-49d9-b579-fe0b331d3642) typeof(string)"),
            vec![
                TokenKind::Typed {
                    ty: "datetime".into(),
                    raw: "2024-01-01 10:00:00.1".into()
                },
                TokenKind::Typed {
                    ty: "guid".into(),
                    raw: "74be27de-1e4e-49d9-b579-fe0b331d3642".into()
                },
                TokenKind::Typed {
                    ty: "typeof".into(),
                    raw: "string".into()
                },
                TokenKind::Eof
            ]
        );
        assert_eq!(
            kinds(
                "a !has b in~ !in~ !contains_cs project-away mv-expand x-y $left.k =~ !~ <> // c"
            ),
            vec![
                ident("a"),
                ident("!has"),
                ident("b"),
                ident("in~"),
                ident("!in~"),
                ident("!contains_cs"),
                ident("project-away"),
                ident("mv-expand"),
                ident("x"),
                TokenKind::Sym("-"),
                ident("y"),
                ident("$left"),
                TokenKind::Sym("."),
                ident("k"),
                TokenKind::Sym("=~"),
                TokenKind::Sym("!~"),
                TokenKind::Sym("<>"),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn spans_are_byte_offsets() {
        let toks = tokenize("T | where x").unwrap_or_default();
        let spans: Vec<_> = toks.iter().map(|t| (t.span.start, t.span.end)).collect();
        assert_eq!(spans, vec![(0, 1), (2, 3), (4, 9), (10, 11), (11, 11)]);
    }

    #[test]
    fn errors() {
        assert!(tokenize("'abc").is_err());
        assert!(tokenize("a # b").is_err());
        assert!(tokenize("!foo").is_err());
        assert!(tokenize("datetime(2020").is_err());
    }
}
