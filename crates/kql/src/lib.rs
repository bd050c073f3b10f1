//! Kusto Query Language (KQL) syntax: lexer, parser, error rendering and printer.
//!
//! This crate is the syntax layer of Harrier's KQL support. It does no I/O and knows
//! nothing of execution: [`parse`] turns query text into an [`ast::Script`] whose every
//! node carries a byte [`ast::Span`]; [`render_error`] formats a [`ParseError`] for people;
//! and `Display` on the tree prints KQL text that parses back to the same tree.
//!
//! ```
//! let script = harrier_kql::parse("DeviceProcessEvents | where FileName =~ 'cmd.exe' | take 10")
//!     .expect("valid KQL");
//! assert_eq!(script.statements.len(), 1);
//! let printed = script.to_string();
//! assert!(printed.contains("| take 10"));
//! ```
//!
//! Kusto is case-sensitive: keywords, operators, functions, tables and columns must be
//! written as defined (`where`, not `Where`). See [`ast`] for the normalisations the tree
//! makes.

pub mod ast;
mod error;
pub mod lexer;
mod parser;
mod printer;

pub use error::{line_col, ParseError};

/// Parses a KQL query text (one or more `;`-separated statements).
pub fn parse(src: &str) -> Result<ast::Script, ParseError> {
    let tokens = lexer::tokenize(src)?;
    parser::Parser::new(tokens).parse_script()
}

/// Renders `e` with the line and column it points at, the source line, and carets under
/// the offending span.
pub fn render_error(src: &str, e: &ParseError) -> String {
    error::render(src, e)
}
