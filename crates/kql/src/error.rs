//! Parse errors and their rendering.

use crate::ast::Span;
use std::fmt;

/// A lexing or parsing error at a byte span of the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub span: Span,
}

impl ParseError {
    pub fn new(message: impl Into<String>, span: Span) -> ParseError {
        ParseError {
            message: message.into(),
            span,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (at bytes {}..{})",
            self.message, self.span.start, self.span.end
        )
    }
}

impl std::error::Error for ParseError {}

/// 1-based line and column (in characters) of byte offset `pos` in `src`.
pub fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let pos = floor_char_boundary(src, pos.min(src.len()));
    let before = src.get(..pos).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before.get(line_start..).unwrap_or("").chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(src: &str, mut pos: usize) -> usize {
    while pos > 0 && !src.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}

/// Renders `error` against `src`: the message, the line and column, the source line and a
/// row of carets under the span (clipped to the first line of the span).
///
/// ```text
/// error: expected an expression, found `|`
///  --> line 2, column 9
///   |
/// 2 | | where | take 1
///   |         ^
/// ```
pub fn render(src: &str, error: &ParseError) -> String {
    let start = floor_char_boundary(src, error.span.start.min(src.len()));
    let end = floor_char_boundary(src, error.span.end.min(src.len()).max(start));
    let (line, col) = line_col(src, start);
    let line_start = src
        .get(..start)
        .and_then(|s| s.rfind('\n'))
        .map_or(0, |i| i + 1);
    let line_end = src
        .get(start..)
        .and_then(|s| s.find('\n'))
        .map_or(src.len(), |i| start + i);
    let text = src
        .get(line_start..line_end)
        .unwrap_or("")
        .trim_end_matches('\r');
    let text_display: String = text
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect();
    let caret_end = end.min(line_end);
    let width = src
        .get(start..caret_end)
        .map_or(0, |s| s.chars().count())
        .max(1);
    let gutter = line.to_string().len();
    let pad = " ".repeat(gutter);
    let mut out = String::new();
    out.push_str(&format!("error: {}\n", error.message));
    out.push_str(&format!("{pad}--> line {line}, column {col}\n"));
    out.push_str(&format!("{pad} |\n"));
    out.push_str(&format!("{line} | {text_display}\n"));
    out.push_str(&format!(
        "{pad} | {}{}\n",
        " ".repeat(col - 1),
        "^".repeat(width)
    ));
    out
}
