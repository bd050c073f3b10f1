//! `harrier events`: the events as Harrier reads and normalises them.

use anyhow::Result;
use clap::ValueEnum;
use harrier_event::{lookup, Event, FieldPath, Value};
use harrier_sources::{read_paths, ReadOptions};
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

pub fn run(args: Args) -> Result<ExitCode> {
    let Target::Ecs = args.to;
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
    if let Some(e) = io_error {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(ExitCode::SUCCESS);
        }
        return Err(e.into());
    }
    if format == Format::Jsonl {
        let s = json!({"harrier_summary": {
            "files": summary.files,
            "events": summary.events,
            "skipped": summary.skipped,
            "failed_files": summary.failed_files,
        }});
        serde_json::to_writer(&mut out, &s)?;
        writeln!(out)?;
    }
    out.flush()?;
    for s in &skips {
        eprintln!("skipped {s}");
    }
    eprintln!(
        "{} events from {} file{}, {} skipped{}",
        summary.events,
        summary.files,
        if summary.files == 1 { "" } else { "s" },
        summary.skipped,
        if summary.failed_files > 0 {
            format!(", {} files unreadable", summary.failed_files)
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}
