//! Elasticsearch EQL: syntax, analysis and evaluation.
//!
//! `syntax` turns text into an AST with spans (and back); `analyze` resolves
//! fields against a [`schema::Schema`] and compiles the AST into a
//! [`plan::Plan`]; `eval` runs predicates with Elasticsearch's semantics and
//! `exec` runs plans over ordered events (filters, sequences, samples,
//! pipes). The crate does no I/O.

pub mod analyze;
mod ecs;
pub mod eval;
pub mod exec;
pub mod expr;
pub mod pattern;
pub mod plan;
pub mod schema;
pub mod syntax;
pub mod value;

pub use analyze::{Analyzer, Settings};
pub use syntax::{parse, parse_expression, Error, Span};

/// Evaluates an expression that reads no fields, as Elasticsearch would fold
/// it, and returns its value as JSON (`null` for a null result).
pub fn eval_constant(src: &str) -> Result<serde_json::Value, Error> {
    let ast = parse_expression(src)?;
    let schema = schema::Schema::dynamic();
    let c = Analyzer::new(&schema, Settings::default()).expr(&ast)?;
    let empty = serde_json::Map::new();
    Ok(eval::eval(&c, &empty).to_json())
}
