//! Executes Kusto (KQL) queries on Apache DataFusion.
//!
//! [`run`] parses a script with `harrier-kql`, plans each query statement onto a DataFusion
//! logical plan (see `planner`), executes it, and returns one [`ResultTable`] per query
//! statement. Input tables are given as typed rows ([`InputTable`]); query sources built in
//! the script (`datatable`, `print`, `range`, `let`) need no input at all.
//!
//! ```
//! use std::collections::BTreeMap;
//! let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
//! let out = harrier_kql_exec::run("print x = strcat('a', 'b')", &BTreeMap::new(), now)
//!     .expect("valid query");
//! assert_eq!(out[0].rows[0][0], serde_json::json!("ab"));
//! ```

mod funcs;
mod geo;
mod morefns;
mod planner;
mod schemas;
mod seriesfns;
mod strings;
mod tables;
mod udf;
mod value;

pub use schemas::defender_schemas;
pub use tables::{columns_read, empty_tables, event_table_columns, ktype};
pub use value::{format_datetime, format_timespan, parse_datetime, parse_timespan, KType};

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use harrier_kql::ast::Span;
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use value::Value;

/// An input table: typed columns and rows of JSON values (datetimes as ISO-8601 strings,
/// timespans as Kusto prints them, dynamic values as JSON). Missing string values read as
/// the empty string, other missing values as null.
#[derive(Clone, Debug, Default)]
pub struct InputTable {
    pub columns: Vec<(String, KType)>,
    pub rows: Vec<Map<String, Json>>,
    /// Rows already converted to Arrow ([`TableBuilder`]); they come before `rows`.
    pub batches: Vec<RecordBatch>,
}

/// Builds an [`InputTable`] row by row, converting every 8,192 rows to Arrow arrays, so
/// that a large table is held as columns rather than as JSON objects (a row of a Defender
/// table as a JSON map takes kilobytes; as Arrow columns, about its text).
pub struct TableBuilder {
    columns: Vec<(String, KType)>,
    schema: SchemaRef,
    pending: Vec<Vec<Value>>,
    batches: Vec<RecordBatch>,
}

impl TableBuilder {
    const BATCH: usize = 8192;

    pub fn new(columns: Vec<(String, KType)>) -> Self {
        let schema = table_schema(&columns);
        let pending = columns
            .iter()
            .map(|_| Vec::with_capacity(Self::BATCH))
            .collect();
        TableBuilder {
            columns,
            schema,
            pending,
            batches: Vec::new(),
        }
    }

    /// Appends one row (values as in [`InputTable`] rows; missing columns are null, or
    /// `""` for strings).
    pub fn push(&mut self, row: &Map<String, Json>) -> Result<(), KqlError> {
        for ((name, t), col) in self.columns.iter().zip(&mut self.pending) {
            col.push(row.get(name).map_or(Value::Null, |j| input_value(*t, j)));
        }
        if self.pending.first().is_some_and(|c| c.len() >= Self::BATCH) {
            self.flush()?;
        }
        Ok(())
    }

    /// Converts one row for [`TableBuilder::push_prepared`] (values as in
    /// [`TableBuilder::push`]). It needs only the columns, so it can run on any thread,
    /// away from the builder.
    pub fn prepare(columns: &[(String, KType)], row: &Map<String, Json>) -> PreparedRow {
        PreparedRow(
            columns
                .iter()
                .map(|(name, t)| row.get(name).map_or(Value::Null, |j| input_value(*t, j)))
                .collect(),
        )
    }

    /// Appends a row made by [`TableBuilder::prepare`] with this builder's columns;
    /// the same as [`TableBuilder::push`] of the row it was made from.
    pub fn push_prepared(&mut self, row: PreparedRow) -> Result<(), KqlError> {
        if row.0.len() != self.pending.len() {
            return Err(KqlError {
                message: format!(
                    "a row of {} values for a table of {} columns",
                    row.0.len(),
                    self.pending.len()
                ),
                span: Span::default(),
            });
        }
        for (col, v) in self.pending.iter_mut().zip(row.0) {
            col.push(v);
        }
        if self.pending.first().is_some_and(|c| c.len() >= Self::BATCH) {
            self.flush()?;
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum::<usize>()
            + self.pending.first().map_or(0, |c| c.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn flush(&mut self) -> Result<(), KqlError> {
        if self.pending.first().is_none_or(|c| c.is_empty()) {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter()
            .zip(&mut self.pending)
            .map(|((_, k), vals)| value::build(&k.arrow(), std::mem::take(vals)))
            .collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| KqlError {
            message: format!("cannot build the table: {e}"),
            span: Span::default(),
        })?;
        self.batches.push(batch);
        Ok(())
    }

    pub fn finish(mut self) -> Result<InputTable, KqlError> {
        self.flush()?;
        Ok(InputTable {
            columns: self.columns,
            rows: Vec::new(),
            batches: self.batches,
        })
    }
}

/// A row converted to a table's column types ([`TableBuilder::prepare`]), ready to be
/// appended by [`TableBuilder::push_prepared`].
#[derive(Debug)]
pub struct PreparedRow(Vec<Value>);

fn table_schema(columns: &[(String, KType)]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, k)| Field::new(n, k.arrow(), true))
            .collect::<Vec<_>>(),
    ))
}

/// One result table.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultTable {
    pub name: String,
    pub columns: Vec<(String, KType)>,
    /// Cells as Kusto's v1 REST API writes them: datetimes ISO-8601 UTC, timespans
    /// `[-][d.]hh:mm:ss[.fffffff]`, dynamic values as JSON, NaN and infinities as strings.
    pub rows: Vec<Vec<Json>>,
}

impl ResultTable {
    /// The table in Kusto's v1 REST response shape (one element of `Tables`).
    pub fn to_kusto_json(&self) -> Json {
        serde_json::json!({
            "TableName": self.name,
            "Columns": self.columns.iter().map(|(n, t)| serde_json::json!({
                "ColumnName": n,
                "DataType": dotnet_type(*t),
                "ColumnType": t.name(),
            })).collect::<Vec<_>>(),
            "Rows": self.rows,
        })
    }

    /// A cell as text for tables and CSV: strings bare, dynamic values as compact JSON.
    pub fn cell_text(cell: &Json) -> String {
        match cell {
            Json::Null => String::new(),
            Json::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

fn dotnet_type(t: KType) -> &'static str {
    match t {
        KType::String => "String",
        KType::Long => "Int64",
        KType::Int => "Int32",
        KType::Real => "Double",
        KType::Bool => "Boolean",
        KType::DateTime => "DateTime",
        KType::TimeSpan => "TimeSpan",
        KType::Dynamic => "Object",
        KType::Guid => "Guid",
    }
}

/// A planning or execution error at a span of the query text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KqlError {
    pub message: String,
    pub span: Span,
}

impl KqlError {
    /// The error with the query line and carets under the span.
    pub fn render(&self, src: &str) -> String {
        harrier_kql::render_error(
            src,
            &harrier_kql::ParseError::new(self.message.clone(), self.span),
        )
    }
}

impl fmt::Display for KqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for KqlError {}

/// Parses and runs `script_src` over `tables`, with `now()` pinned to `now`.
pub fn run(
    script_src: &str,
    tables: &BTreeMap<String, InputTable>,
    now: DateTime<Utc>,
) -> Result<Vec<ResultTable>, KqlError> {
    let script = harrier_kql::parse(script_src).map_err(|e| KqlError {
        message: e.message,
        span: e.span,
    })?;
    let now_ns = now
        .timestamp_nanos_opt()
        .unwrap_or(now.timestamp().saturating_mul(1_000_000_000));
    let mut planner = planner::Planner::new(tables, now_ns)?;
    planner.run_script(&script)
}

/// A value as the result JSON writes it.
pub(crate) fn output_json(t: KType, v: Value) -> Json {
    if v.is_null() && t != KType::String {
        return Json::Null;
    }
    match (t, v.convert(t)) {
        (KType::String | KType::Guid, v) => Json::String(v.to_kstring()),
        (_, Value::Null) => Json::Null,
        (_, Value::Long(i)) => Json::from(i),
        (_, Value::Real(f)) => {
            if f.is_finite() {
                Value::Real(f).to_json()
            } else {
                Json::String(value::format_real(f))
            }
        }
        (_, Value::Bool(b)) => Json::Bool(b),
        (_, Value::DateTime(ns)) => Json::String(format_datetime(ns)),
        (_, Value::TimeSpan(ns)) => Json::String(format_timespan(ns)),
        (_, Value::Str(s)) => Json::String(s),
        (_, Value::Dyn(j)) => j,
    }
}

/// Reads a JSON cell (as in [`InputTable`] rows or result rows) as a value of type `t`.
pub(crate) fn input_value(t: KType, j: &Json) -> Value {
    match (t, j) {
        (_, Json::Null) => Value::Null,
        (KType::Dynamic, j) => Value::Dyn(j.clone()),
        (KType::Real, Json::String(s)) => match s.as_str() {
            "NaN" => Value::Real(f64::NAN),
            "Infinity" => Value::Real(f64::INFINITY),
            "-Infinity" => Value::Real(f64::NEG_INFINITY),
            _ => Value::Str(s.clone()).convert(t),
        },
        (t, Json::String(s)) => Value::Str(s.clone()).convert(t),
        (t, j) => Value::Dyn(j.clone()).undyn().convert(t),
    }
}

pub(crate) fn udf_tag(v: &Value) -> Json {
    match v {
        Value::Real(f) if !f.is_finite() => Json::String(value::format_real(*f)),
        v => v.to_json(),
    }
}

pub(crate) fn udf_untag(j: &Json) -> Value {
    Value::Dyn(j.clone()).undyn()
}

/// The Arrow batches holding an input table: its prebuilt batches, then its rows.
pub(crate) fn table_batches(
    t: &InputTable,
) -> datafusion::error::Result<(SchemaRef, Vec<RecordBatch>)> {
    let schema = table_schema(&t.columns);
    let mut batches: Vec<RecordBatch> = t.batches.clone();
    if !t.rows.is_empty() || batches.is_empty() {
        let arrays: Vec<ArrayRef> = t
            .columns
            .iter()
            .map(|(n, k)| {
                let vals = t
                    .rows
                    .iter()
                    .map(|r| r.get(n).map_or(Value::Null, |j| input_value(*k, j)))
                    .collect();
                value::build(&k.arrow(), vals)
            })
            .collect();
        batches.push(if arrays.is_empty() {
            RecordBatch::new_empty(schema.clone())
        } else {
            RecordBatch::try_new(schema.clone(), arrays)?
        });
    }
    Ok((schema, batches))
}

#[cfg(test)]
mod tests;
