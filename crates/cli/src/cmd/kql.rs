//! `harrier kql`: an ad-hoc Kusto (KQL) query over event files, mapped onto Microsoft
//! Defender advanced-hunting tables and executed on DataFusion.

use anyhow::{Context, Result};
use clap::ValueEnum;
use harrier_event::Event;
use harrier_kql_exec::{
    columns_read, empty_tables, event_table_columns, InputTable, KType, PreparedRow, ResultTable,
    TableBuilder,
};
use harrier_sources::{
    defender_quick_parse, read_paths_quick, to_defender, DefenderTable, ReadOptions, Skip, Summary,
};
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

/// The Defender event tables a query can read: those it names, or all six when it
/// has `union`, `search` or `find` (which may name tables by wildcard). A textual test,
/// so it can only over-include: a table the query cannot read stays empty.
fn tables_read(query: &str) -> Vec<DefenderTable> {
    let q = query.to_ascii_lowercase();
    let wide = ["union", "search", "find"].iter().any(|w| q.contains(w));
    DefenderTable::all()
        .into_iter()
        .filter(|t| wide || q.contains(&t.name().to_ascii_lowercase()))
        .collect()
}

/// A table's columns as `harrier_kql_exec` types them.
type Columns = Vec<(String, KType)>;

/// The columns to load for each table in `wanted`: those the query can read
/// ([`harrier_kql_exec::columns_read`]), or all of them. Narrowing is only done when the
/// query plans over the full, empty tables, so an error (and its "did you mean" hint)
/// is the one the full tables would give.
fn columns_to_load(
    query: &str,
    wanted: &[DefenderTable],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(DefenderTable, Columns)> {
    let mut specs: Vec<(DefenderTable, Columns, Option<Vec<String>>)> = wanted
        .iter()
        .map(|t| {
            let all = event_table_columns(*t);
            let keep = columns_read(query, t.name(), &all);
            (*t, all, keep)
        })
        .collect();
    if specs.iter().any(|(_, _, keep)| keep.is_some())
        && harrier_kql_exec::run(query, &empty_tables(), now).is_err()
    {
        for (_, _, keep) in &mut specs {
            *keep = None;
        }
    }
    specs
        .into_iter()
        .map(|(t, all, keep)| {
            let cols = match keep {
                Some(keep) => all.into_iter().filter(|(n, _)| keep.contains(n)).collect(),
                None => all,
            };
            (t, cols)
        })
        .collect()
}

/// The Defender tables, filled with the rows the events map onto (only the tables in
/// `wanted`, with the columns given there; the other tables stay empty and whole).
/// Worker threads parse the input (NDJSON lines of flat Defender rows for those
/// columns only) and map each event onto its table's columns
/// (`TableBuilder::prepare`); this thread appends the rows in input order, and they go
/// into Arrow columns 8,192 at a time, so memory follows the data, not the JSON objects
/// the mapping produces.
fn load_tables(
    paths: &[String],
    wanted: &[(DefenderTable, Columns)],
    opts: &ReadOptions,
) -> Result<BTreeMap<String, InputTable>> {
    let (tables, _) = load_tables_with(paths, wanted, opts, &mut |skip| {
        eprintln!("warning: {}: skipped: {}", skip.origin, skip.reason)
    })?;
    Ok(tables)
}

/// [`load_tables`], handing each line or record that cannot be read to `on_skip`.
fn load_tables_with(
    paths: &[String],
    wanted: &[(DefenderTable, Columns)],
    opts: &ReadOptions,
    on_skip: &mut dyn FnMut(Skip),
) -> Result<(BTreeMap<String, InputTable>, Summary)> {
    let mut tables = empty_tables();
    if paths.is_empty() {
        return Ok((tables, Summary::default()));
    }
    let mut builders: Vec<TableBuilder> = wanted
        .iter()
        .map(|(_, cols)| TableBuilder::new(cols.clone()))
        .collect();
    let mut failure: Option<harrier_kql_exec::KqlError> = None;
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let map = |e: Event| -> Option<(usize, PreparedRow)> {
        let row = to_defender(&e)?;
        let i = wanted.iter().position(|(t, _)| *t == row.table)?;
        Some((i, TableBuilder::prepare(&wanted[i].1, &row.row)))
    };
    // NDJSON lines of flat Defender rows are parsed for the loaded columns only
    let quick = defender_quick_parse(
        wanted
            .iter()
            .flat_map(|(_, cols)| cols.iter().map(|(n, _)| n.as_str())),
    );
    let summary = read_paths_quick(
        &paths,
        opts,
        None,
        Some(&quick),
        &map,
        &mut |(i, row)| {
            if let Some(b) = builders.get_mut(i) {
                if let Err(err) = b.push_prepared(row) {
                    failure.get_or_insert(err);
                }
            }
        },
        on_skip,
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
    for ((t, _), b) in wanted.iter().zip(builders) {
        tables.insert(t.name().to_string(), b.finish()?);
    }
    Ok((tables, summary))
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
    let wanted = if args.paths.is_empty() {
        Vec::new()
    } else {
        columns_to_load(&args.query, &tables_read(&args.query), now)
    };
    let tables = load_tables(&args.paths, &wanted, &ReadOptions::default())?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// NDJSON spanning several of the parallel reader's blocks: network and process
    /// rows, missing and null values, numbers as strings, and malformed lines.
    fn sample() -> (String, Vec<u64>) {
        let mut text = String::new();
        let mut bad = Vec::new();
        let pad = "x".repeat(120);
        for i in 0..60_000u64 {
            let line = match i % 11 {
                3 if i % 2 == 1 => {
                    bad.push(i + 1);
                    format!(
                        "{{\"Timestamp\": \"2024-05-01T00:00:{:02}Z\", broken",
                        i % 60
                    )
                }
                5 => format!(
                    r#"{{"Timestamp":"2024-05-01T01:00:00Z","DeviceName":"h{i}","ActionType":"ProcessCreated","FileName":"p{}.exe","ProcessCommandLine":"{pad}","ProcessId":"{i}"}}"#,
                    i % 13
                ),
                7 => format!(
                    r#"{{"Timestamp":"2024-05-01T02:00:00.5Z","DeviceName":"h{i}","ActionType":"ConnectionSuccess","RemoteIP":null,"RemotePort":"{}"}}"#,
                    i % 9
                ),
                _ => format!(
                    r#"{{"Timestamp":"2024-05-01T00:{:02}:00Z","DeviceId":"d{}","DeviceName":"h{}","ActionType":"ConnectionSuccess","RemoteIP":"10.0.{}.{}","RemotePort":{},"InitiatingProcessFileName":"a.exe","InitiatingProcessCommandLine":"{pad}"}}"#,
                    i % 60,
                    i % 17,
                    i % 100,
                    i % 200,
                    i % 250,
                    i % 65536
                ),
            };
            text.push_str(&line);
            text.push('\n');
        }
        (text, bad)
    }

    #[test]
    fn parallel_load_gives_the_sequential_tables() {
        let (text, bad) = sample();
        assert!(
            text.len() > 9 << 20,
            "the input spans at least three blocks"
        );
        let path =
            std::env::temp_dir().join(format!("harrier-kql-load-{}.ndjson", std::process::id()));
        std::fs::write(&path, &text).expect("write the sample");
        let paths = vec![path.to_string_lossy().into_owned()];
        let all: Vec<_> = DefenderTable::all()
            .into_iter()
            .map(|t| (t, event_table_columns(t)))
            .collect();
        let load = |threads: usize| {
            let mut skipped = Vec::new();
            let opts = ReadOptions {
                threads,
                ..ReadOptions::default()
            };
            let (tables, summary) = load_tables_with(&paths, &all, &opts, &mut |s| {
                skipped.push(s.origin.to_string())
            })
            .expect("loads");
            (tables, summary, skipped)
        };
        let (seq, seq_summary, seq_skips) = load(1);
        let (par, par_summary, par_skips) = load(3);
        let _ = std::fs::remove_file(&path);

        assert_eq!(seq_summary, par_summary);
        assert_eq!(seq_summary.skipped, bad.len() as u64);
        assert_eq!(seq_skips, par_skips);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (origin, line) in seq_skips.iter().zip(&bad) {
            assert!(
                origin.contains(&name) && origin.ends_with(&format!(":{line}")),
                "{origin} is not line {line}"
            );
        }
        assert_eq!(
            seq.keys().collect::<Vec<_>>(),
            par.keys().collect::<Vec<_>>()
        );
        let rows = |t: &InputTable| t.batches.iter().map(|b| b.num_rows()).sum::<usize>();
        assert!(rows(&seq["DeviceNetworkEvents"]) > 40_000);
        assert!(rows(&seq["DeviceProcessEvents"]) > 5_000);
        for (name, s) in &seq {
            let p = &par[name];
            assert_eq!(s.columns, p.columns, "{name}");
            assert_eq!(s.batches, p.batches, "{name}");
            assert!(s.rows.is_empty() && p.rows.is_empty(), "{name}");
        }
    }

    #[test]
    fn projected_loads_give_the_full_results() {
        let (text, _) = sample();
        let path =
            std::env::temp_dir().join(format!("harrier-kql-project-{}.ndjson", std::process::id()));
        std::fs::write(&path, &text).expect("write the sample");
        let paths = vec![path.to_string_lossy().into_owned()];
        let now = chrono::DateTime::from_timestamp(1_714_600_000, 0).unwrap_or_default();
        let queries = [
            "DeviceNetworkEvents | where InitiatingProcessFileName =~ 'A.EXE' \
             | where RemoteIPType == 'Public' or not(ipv4_is_private(RemoteIP)) \
             | project Timestamp, DeviceName, InitiatingProcessCommandLine, RemoteIP, RemotePort \
             | count",
            "DeviceNetworkEvents | summarize Connections = count(), Devices = dcount(DeviceName) \
             by InitiatingProcessFileName, RemotePort | sort by RemotePort asc, InitiatingProcessFileName asc",
            "DeviceNetworkEvents | where Timestamp > datetime(2024-05-01T00:30:00Z) \
             | top 7 by RemotePort desc, DeviceName asc | project DeviceName, RemotePort, Timestamp",
            "DeviceNetworkEvents | where isempty(RemoteIP) | project DeviceName, RemotePort \
             | sort by DeviceName asc",
            "DeviceProcessEvents | extend n = strlen(ProcessCommandLine) \
             | summarize sum(n), max(Timestamp), max(ProcessId) by FileName | sort by FileName asc",
            "DeviceNetworkEvents | distinct DeviceId | count",
            "DeviceNetworkEvents | count",
        ];
        for q in queries {
            let full: Vec<_> = tables_read(q)
                .into_iter()
                .map(|t| (t, event_table_columns(t)))
                .collect();
            let narrow = columns_to_load(q, &tables_read(q), now);
            assert!(
                narrow
                    .iter()
                    .zip(&full)
                    .all(|((_, n), (_, f))| n.len() < f.len()),
                "{q} is not narrowed"
            );
            // every column, each line parsed whole (one thread), against the columns
            // the query reads, parsed for those only (several threads)
            let whole = ReadOptions {
                threads: 1,
                ..ReadOptions::default()
            };
            let quick = ReadOptions {
                threads: 3,
                ..ReadOptions::default()
            };
            let a = load_tables(&paths, &full, &whole).expect("loads");
            let b = load_tables(&paths, &narrow, &quick).expect("loads");
            let a = harrier_kql_exec::run(q, &a, now).expect("runs");
            let b = harrier_kql_exec::run(q, &b, now).expect("runs");
            assert_eq!(a, b, "{q}");
            assert!(!a[0].rows.is_empty(), "{q}");
        }
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_query_with_an_error_loads_every_column() {
        let now = chrono::DateTime::from_timestamp(0, 0).unwrap_or_default();
        let q = "DeviceNetworkEvents | where RemotePrt == 1 | count";
        let specs = columns_to_load(q, &tables_read(q), now);
        assert_eq!(
            specs[0].1,
            event_table_columns(DefenderTable::DeviceNetworkEvents)
        );
    }

    #[test]
    fn only_the_tables_a_query_names_are_read() {
        assert_eq!(
            tables_read("DeviceNetworkEvents | where RemotePort == 443 | count"),
            vec![DefenderTable::DeviceNetworkEvents]
        );
        assert_eq!(tables_read("union Device* | count").len(), 6);
        assert_eq!(tables_read("search \"x\"").len(), 6);
        assert!(tables_read("print 1").is_empty());
    }
}
