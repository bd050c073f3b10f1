//! `harrier kql`: an ad-hoc Kusto (KQL) query over event files, mapped onto Microsoft
//! Defender advanced-hunting tables and executed on DataFusion.

use anyhow::{Context, Result};
use clap::ValueEnum;
use harrier_kql_exec::{empty_tables, InputTable, ResultTable, TableBuilder};
use harrier_sources::{read_paths, to_defender, DefenderTable, ReadOptions};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// A table for the terminal
    Table,
    /// One JSON object per row
    Jsonl,
    /// Comma-separated values with a header row
    Csv,
    /// The response body of Kusto's v1 query REST API
    Kusto,
}

#[derive(clap::Args)]
pub struct Args {
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// The time `now()` and `ago()` refer to (ISO-8601); default: the current time
    #[arg(long)]
    now: Option<String>,
    /// The KQL query (`datatable`, `print` and `range` queries need no input files)
    query: String,
    /// Event files or directories (EVTX, NDJSON, JSON, CSV; Defender exports); `-` for stdin
    paths: Vec<String>,
}

/// The Defender tables, filled with the rows the events map onto. Rows go straight into
/// Arrow columns as they are read (`TableBuilder`), so memory follows the data, not the
/// JSON objects the mapping produces.
fn load_tables(paths: &[String]) -> Result<BTreeMap<String, InputTable>> {
    let mut tables = empty_tables();
    if paths.is_empty() {
        return Ok(tables);
    }
    let mut builders: BTreeMap<String, TableBuilder> = DefenderTable::all()
        .into_iter()
        .filter_map(|t| {
            let name = t.name().to_string();
            let cols = tables.get(&name)?.columns.clone();
            Some((name, TableBuilder::new(cols)))
        })
        .collect();
    let mut failure: Option<harrier_kql_exec::KqlError> = None;
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let summary = read_paths(
        &paths,
        &ReadOptions::default(),
        &mut |e| {
            if let Some(row) = to_defender(&e) {
                if let Some(b) = builders.get_mut(row.table.name()) {
                    if let Err(err) = b.push(&row.row) {
                        failure.get_or_insert(err);
                    }
                }
            }
        },
        &mut |skip| eprintln!("warning: {}: skipped: {}", skip.origin, skip.reason),
    );
    if let Some(e) = failure {
        anyhow::bail!("{e}");
    }
    if summary.failed_files > 0 && summary.events == 0 {
        anyhow::bail!(
            "no events could be read ({} files failed)",
            summary.failed_files
        );
    }
    for (name, b) in builders {
        tables.insert(name, b.finish()?);
    }
    Ok(tables)
}

pub fn run(args: Args) -> Result<ExitCode> {
    let now = match &args.now {
        Some(s) => {
            let ns = harrier_kql_exec::parse_datetime(s)
                .with_context(|| format!("--now: cannot read `{s}` as a datetime"))?;
            chrono::DateTime::from_timestamp(
                ns.div_euclid(1_000_000_000),
                ns.rem_euclid(1_000_000_000) as u32,
            )
            .unwrap_or_else(chrono::Utc::now)
        }
        None => chrono::Utc::now(),
    };
    // check the syntax before reading any input
    if let Err(e) = harrier_kql::parse(&args.query) {
        eprint!("{}", harrier_kql::render_error(&args.query, &e));
        return Ok(ExitCode::from(2));
    }
    let tables = load_tables(&args.paths)?;
    let results = match harrier_kql_exec::run(&args.query, &tables, now) {
        Ok(r) => r,
        Err(e) => {
            eprint!("{}", e.render(&args.query));
            return Ok(ExitCode::from(2));
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        Format::Kusto => {
            let tables: Vec<Json> = results.iter().map(|t| t.to_kusto_json()).collect();
            serde_json::to_writer(&mut out, &serde_json::json!({ "Tables": tables }))?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for t in &results {
                for r in &t.rows {
                    let obj: Map<String, Json> = t
                        .columns
                        .iter()
                        .zip(r)
                        .map(|((n, _), v)| (n.clone(), v.clone()))
                        .collect();
                    serde_json::to_writer(&mut out, &obj)?;
                    writeln!(out)?;
                }
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            for t in &results {
                w.write_record(t.columns.iter().map(|(n, _)| n.as_str()))?;
                for r in &t.rows {
                    w.write_record(r.iter().map(ResultTable::cell_text))?;
                }
            }
            w.flush()?;
        }
        Format::Table => {
            for (i, t) in results.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                write_table(&mut out, t)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn write_table(out: &mut impl Write, t: &ResultTable) -> Result<()> {
    let header: Vec<String> = t.columns.iter().map(|(n, _)| n.clone()).collect();
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| ResultTable::cell_text(c).replace(['\n', '\r', '\t'], " "))
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count().min(80));
        }
    }
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| {
                let c: String = c.chars().take(80).collect();
                format!("{c:w$}")
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(out, "{}", line(&header))?;
    writeln!(
        out,
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ")
    )?;
    for r in &rows {
        writeln!(out, "{}", line(r))?;
    }
    writeln!(out, "({} rows)", rows.len())?;
    Ok(())
}
