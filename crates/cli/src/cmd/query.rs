//! `harrier query`: an ad-hoc EQL query over event files.

use crate::input::{read_all, ReadStats};
use crate::output::{EsWriter, JsonlWriter, ResultWriter, TableWriter};
use anyhow::{Context, Result};
use clap::ValueEnum;
use harrier_eql::exec::{self, Limits, OrderFields};
use harrier_eql::expr::{CExpr, FieldAccess};
use harrier_eql::schema::{DataType, Schema};
use harrier_eql::{Analyzer, Settings};
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// The response body of Elasticsearch's EQL search API
    Es,
    /// One matched event or sequence per line
    Jsonl,
    /// A table for the terminal
    Table,
}

#[derive(clap::Args)]
pub struct Args {
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Elasticsearch mapping file (JSON) giving field types; repeatable. Without one, the built-in ECS schema is used.
    #[arg(long = "mapping", value_name = "FILE")]
    mappings: Vec<String>,
    /// Field holding the event time
    #[arg(long, default_value = "@timestamp")]
    timestamp_field: String,
    /// Field that breaks ties between events with the same timestamp
    #[arg(long)]
    tiebreaker_field: Option<String>,
    /// Field holding the event category
    #[arg(long, default_value = "event.category")]
    event_category_field: String,
    /// Most results to return (default: no limit)
    #[arg(long)]
    size: Option<usize>,
    /// For sample queries: samples per join key
    #[arg(long, default_value_t = 1)]
    max_samples_per_key: usize,
    /// The EQL query
    query: String,
    /// Event files: JSON arrays or NDJSON, optionally gzip-compressed; `-` for stdin
    #[arg(required = true)]
    paths: Vec<String>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let started = Instant::now();
    let mut schema = if args.mappings.is_empty() {
        Schema::ecs()
    } else {
        Schema::dynamic()
    };
    for m in &args.mappings {
        let text = std::fs::read_to_string(m).with_context(|| format!("reading mapping {m}"))?;
        schema
            .add_mapping(&text)
            .with_context(|| format!("in mapping {m}"))?;
    }
    let mut stats = ReadStats::default();
    let events = read_all(&args.paths, &mut stats)?;
    if schema.is_strict() {
        // fields the mapping does not name are typed as dynamic mapping would
        for e in &events {
            schema.add_dynamic_fields(&e.source);
        }
    }
    let settings = Settings {
        event_category_field: args.event_category_field.clone(),
    };
    let ast = match harrier_eql::parse(&args.query) {
        Ok(a) => a,
        Err(e) => {
            eprint!("{}", e.render(&args.query));
            return Ok(ExitCode::from(2));
        }
    };
    let analyzer = Analyzer::new(&schema, settings);
    let plan = match analyzer.plan(&ast) {
        Ok(p) => p,
        Err(e) => {
            eprint!("{}", e.render(&args.query));
            return Ok(ExitCode::from(2));
        }
    };
    let order = OrderFields {
        timestamp: order_field(&schema, &args.timestamp_field, DataType::Date),
        tiebreaker: args
            .tiebreaker_field
            .as_deref()
            .map(|f| order_field(&schema, f, DataType::Unknown)),
    };
    let limits = Limits {
        size: args.size,
        max_samples_per_key: args.max_samples_per_key,
    };
    let result = exec::run(&plan, &order, &events, &limits);
    let took = started.elapsed().as_millis() as u64;
    let writer: Box<dyn ResultWriter> = match args.format {
        Format::Es => Box::new(EsWriter),
        Format::Jsonl => Box::new(JsonlWriter),
        Format::Table => Box::new(TableWriter),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    writer.write(&mut out, &result, &events, took)?;
    out.flush()?;
    if stats.skipped > 0 {
        eprintln!("{} events read, {} skipped", stats.events, stats.skipped);
    }
    Ok(ExitCode::SUCCESS)
}

fn order_field(schema: &Schema, name: &str, default: DataType) -> FieldAccess {
    let analyzer_field = schema.get(name);
    match analyzer_field {
        Some(info) => FieldAccess {
            name: name.to_string(),
            path: harrier_event::FieldPath::new(&info.source_path),
            ty: info.ty,
            null_value: None,
            format: None,
        },
        None => FieldAccess {
            name: name.to_string(),
            path: harrier_event::FieldPath::new(name),
            ty: default,
            null_value: None,
            format: None,
        },
    }
}

#[allow(dead_code)]
fn is_field(c: &CExpr) -> bool {
    matches!(c, CExpr::Field(_))
}
