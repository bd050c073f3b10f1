//! EQL syntax: tokens, AST with spans, parser, printer and error rendering.
//! Nothing here does I/O or knows about field types.

pub mod ast;
mod lexer;
mod parser;
mod printer;

pub use lexer::{Token, TokenKind};
pub use parser::{parse, parse_expression};

use std::fmt;

/// A byte range in the query text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// An error in a query, with the span it refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub message: String,
    pub span: Span,
}

impl Error {
    pub fn new(message: impl Into<String>, span: Span) -> Error {
        Error {
            message: message.into(),
            span,
        }
    }

    /// Renders the error the way every Harrier command shows query errors:
    /// `line:column: message`, the source line, and a caret under the span.
    pub fn render(&self, source: &str) -> String {
        render_diagnostic(source, self.span, &self.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `line:col: message` followed by the offending source line and carets.
pub fn render_diagnostic(source: &str, span: Span, message: &str) -> String {
    let (line, col) = line_col(source, span.start as usize);
    let start = floor_char_boundary(source, span.start as usize);
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[start..]
        .find('\n')
        .map_or(source.len(), |i| start + i);
    let text = &source[line_start..line_end];
    let end = floor_char_boundary(source, (span.end as usize).clamp(start, line_end));
    let width = source[start..end].chars().count().max(1);
    let gutter = line.to_string();
    let pad = " ".repeat(gutter.len());
    format!(
        "error: {message}\n{pad}--> line {line}, column {col}\n{pad} |\n{gutter} | {text}\n{pad} | {}{}\n",
        " ".repeat(col - 1),
        "^".repeat(width)
    )
}
