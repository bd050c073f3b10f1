//! `harrier events`: the events as Harrier reads and normalises them.

use anyhow::Result;
use clap::ValueEnum;
use harrier_event::{lookup, Event, FieldPath, Value};
use harrier_sources::{read_paths, to_defender, DefenderRow, DefenderTable, ReadOptions};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One document per line, then a `{"harrier_summary": …}` line
    Jsonl,
    /// A table for the terminal
    Table,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// Elastic Common Schema documents (Sysmon mapped as Elastic's integration does)
    Ecs,
    /// Defender advanced-hunting rows (`{"table": .., ...columns}`); events with
    /// no Defender table are counted as unmapped
    Defender,
}

#[derive(clap::Args)]
pub struct Args {
    /// Schema of the printed documents
    #[arg(long, value_enum, default_value = "ecs")]
    to: Target,
    /// Output format
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
    /// Event files or directories; `-` for stdin
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

const COLUMNS: [(&str, &str); 6] = [
    ("@timestamp", "TIME"),
    ("event.code", "CODE"),
    ("event.category", "CATEGORY"),
    ("host.name", "HOST"),
    ("process.name", "PROCESS"),
    ("process.command_line", "DETAILS"),
];

fn cell(e: &Event, path: &str, width: usize) -> String {
    let mut vals = Vec::new();
    lookup(&e.source, &FieldPath::new(path), &mut vals);
    let parts: Vec<String> = vals
        .iter()
        .map(|v| match v {
            Value::String(s) => s.replace(['\n', '\r', '\t'], " "),
            other => other.to_string(),
        })
        .collect();
    let s = parts.join(",");
    if s.chars().count() > width {
        s.chars().take(width.saturating_sub(3)).collect::<String>() + "..."
    } else {
        s
    }
}

/// Columns shown per Defender table with `--format table` (the last one is wide).
fn defender_columns(t: DefenderTable) -> &'static [&'static str] {
    match t {
        DefenderTable::DeviceProcessEvents => &[
            "Timestamp",
            "DeviceName",
            "ActionType",
            "InitiatingProcessFileName",
            "FileName",
            "ProcessCommandLine",
        ],
        DefenderTable::DeviceNetworkEvents => &[
            "Timestamp",
            "DeviceName",
            "ActionType",
            "InitiatingProcessFileName",
            "Protocol",
            "LocalIP",
            "LocalPort",
            "RemoteIP",
            "RemotePort",
            "RemoteIPType",
            "RemoteUrl",
        ],
        DefenderTable::DeviceFileEvents | DefenderTable::DeviceImageLoadEvents => &[
            "Timestamp",
            "DeviceName",
            "ActionType",
            "InitiatingProcessFileName",
            "FolderPath",
        ],
        DefenderTable::DeviceRegistryEvents => &[
            "Timestamp",
            "DeviceName",
            "ActionType",
            "InitiatingProcessFileName",
            "RegistryValueName",
            "RegistryValueData",
            "RegistryKey",
        ],
        DefenderTable::DeviceEvents => &[
            "Timestamp",
            "DeviceName",
            "ActionType",
            "InitiatingProcessFileName",
            "FileName",
            "AdditionalFields",
        ],
    }
}

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.replace(['\n', '\r', '\t'], " "),
        Some(other) => other.to_string(),
    }
}

fn clip(s: &str, width: usize) -> String {
    if s.chars().count() > width {
        s.chars().take(width.saturating_sub(3)).collect::<String>() + "..."
    } else {
        s.to_string()
    }
}

/// One table per Defender table that has rows, in [`DefenderTable::all`] order.
fn write_defender_tables(out: &mut dyn Write, rows: &[DefenderRow]) -> std::io::Result<()> {
    let mut first = true;
    for t in DefenderTable::all() {
        let mine: Vec<&DefenderRow> = rows.iter().filter(|r| r.table == t).collect();
        if mine.is_empty() {
            continue;
        }
        if !first {
            writeln!(out)?;
        }
        first = false;
        writeln!(out, "{} ({} rows)", t.name(), mine.len())?;
        let cols = defender_columns(t);
        let cells: Vec<Vec<String>> = mine
            .iter()
            .map(|r| {
                cols.iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let w = if i + 1 == cols.len() { 100 } else { 40 };
                        clip(&text(r.row.get(*c)), w)
                    })
                    .collect()
            })
            .collect();
        let widths: Vec<usize> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                cells
                    .iter()
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(c.len())
            })
            .collect();
        let line = |items: &[String]| -> String {
            let n = items.len();
            items
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    if i + 1 == n {
                        s.clone()
                    } else {
                        format!("{s:<w$}", w = widths[i])
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        };
        let header: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
        writeln!(out, "{}", line(&header))?;
        for r in &cells {
            writeln!(out, "{}", line(r))?;
        }
    }
    Ok(())
}

pub fn run(args: Args) -> Result<ExitCode> {
    let to = args.to;
    let mut unmapped = 0u64;
    let mut defender_rows: Vec<DefenderRow> = Vec::new();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut io_error: Option<std::io::Error> = None;
    let mut first = true;
    let format = args.format;
    let mut skips: Vec<String> = Vec::new();
    let summary = read_paths(
        &args.paths,
        &ReadOptions::default(),
        &mut |e| {
            if io_error.is_some() {
                return;
            }
            if to == Target::Defender {
                let Some(row) = to_defender(&e) else {
                    unmapped += 1;
                    return;
                };
                let r = match format {
                    Format::Jsonl => {
                        let mut doc = serde_json::Map::with_capacity(row.row.len() + 1);
                        doc.insert("table".into(), Value::String(row.table.name().into()));
                        doc.extend(row.row);
                        serde_json::to_writer(&mut out, &doc)
                            .map_err(std::io::Error::from)
                            .and_then(|_| writeln!(out))
                    }
                    Format::Table => {
                        defender_rows.push(row);
                        Ok(())
                    }
                };
                if let Err(err) = r {
                    io_error = Some(err);
                }
                return;
            }
            let r = match format {
                Format::Jsonl => serde_json::to_writer(&mut out, &e.source)
                    .map_err(std::io::Error::from)
                    .and_then(|_| writeln!(out)),
                Format::Table => {
                    let mut r = Ok(());
                    if first {
                        let h: Vec<&str> = COLUMNS.iter().map(|c| c.1).collect();
                        r = writeln!(
                            out,
                            "{:<24}  {:<4}  {:<16}  {:<16}  {:<20}  {}",
                            h[0], h[1], h[2], h[3], h[4], h[5]
                        );
                    }
                    r.and_then(|_| {
                        writeln!(
                            out,
                            "{:<24}  {:<4}  {:<16}  {:<16}  {:<20}  {}",
                            cell(&e, COLUMNS[0].0, 24),
                            cell(&e, COLUMNS[1].0, 4),
                            cell(&e, COLUMNS[2].0, 16),
                            cell(&e, COLUMNS[3].0, 16),
                            cell(&e, COLUMNS[4].0, 20),
                            cell(&e, COLUMNS[5].0, 100),
                        )
                    })
                }
            };
            first = false;
            if let Err(err) = r {
                io_error = Some(err);
            }
        },
        &mut |s| skips.push(format!("{}: {}", s.origin, s.reason)),
    );
    if io_error.is_none() && to == Target::Defender && format == Format::Table {
        if let Err(e) = write_defender_tables(&mut out, &defender_rows) {
            io_error = Some(e);
        }
    }
    if let Some(e) = io_error {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(ExitCode::SUCCESS);
        }
        return Err(e.into());
    }
    if format == Format::Jsonl {
        let mut s = json!({"harrier_summary": {
            "files": summary.files,
            "events": summary.events,
            "skipped": summary.skipped,
            "failed_files": summary.failed_files,
        }});
        if to == Target::Defender {
            s["harrier_summary"]["unmapped"] = json!(unmapped);
        }
        serde_json::to_writer(&mut out, &s)?;
        writeln!(out)?;
    }
    out.flush()?;
    for s in &skips {
        eprintln!("skipped {s}");
    }
    let mut notes = String::new();
    if to == Target::Defender {
        notes.push_str(&format!(", {unmapped} with no Defender table"));
    }
    if summary.failed_files > 0 {
        notes.push_str(&format!(", {} files unreadable", summary.failed_files));
    }
    eprintln!(
        "{} events from {} file{}, {} skipped{notes}",
        summary.events,
        summary.files,
        if summary.files == 1 { "" } else { "s" },
        summary.skipped,
    );
    Ok(ExitCode::SUCCESS)
}
