//! Reading event files for the CLI: JSON arrays and NDJSON, optionally
//! gzip-compressed, from files or stdin. Unreadable lines are reported with
//! file and line, skipped and counted.

use anyhow::{Context, Result};
use harrier_event::{Event, Locator, Origin};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

#[derive(Default, Debug)]
pub struct ReadStats {
    pub events: u64,
    pub skipped: u64,
}

pub fn read_all(paths: &[String], stats: &mut ReadStats) -> Result<Vec<Event>> {
    let mut out = Vec::new();
    for p in paths {
        read_one(p, &mut out, stats).with_context(|| format!("reading {p}"))?;
    }
    Ok(out)
}

fn read_one(path: &str, out: &mut Vec<Event>, stats: &mut ReadStats) -> Result<()> {
    let raw: Box<dyn Read> = if path == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(Path::new(path))?)
    };
    let mut reader = BufReader::with_capacity(1 << 16, raw);
    let head = reader.fill_buf()?;
    let reader: Box<dyn BufRead> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(reader),
        ))
    } else {
        Box::new(reader)
    };
    let file: Arc<str> = Arc::from(path);
    let index: Arc<str> = Arc::from(
        Path::new(path)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("stdin")
            .trim_end_matches(".json")
            .trim_end_matches(".ndjson"),
    );
    let mut reader = reader;
    let first = loop {
        let buf = reader.fill_buf()?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let c = buf[i];
                reader.consume(i);
                break Some(c);
            }
            None if buf.is_empty() => break None,
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    };
    match first {
        None => Ok(()),
        Some(b'[') => {
            let mut text = String::new();
            reader.read_to_string(&mut text)?;
            let docs: Vec<Value> = serde_json::from_str(&text).context("invalid JSON array")?;
            for (i, d) in docs.into_iter().enumerate() {
                push(d, &file, &index, Locator::Element(i as u64), out, stats);
            }
            Ok(())
        }
        Some(_) => {
            for (n, line) in reader.lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(&line) {
                    Ok(d) => push(d, &file, &index, Locator::Line(n as u64 + 1), out, stats),
                    Err(e) => {
                        stats.skipped += 1;
                        eprintln!("warning: {path}:{}: skipped: {e}", n + 1);
                    }
                }
            }
            Ok(())
        }
    }
}

fn push(
    doc: Value,
    file: &Arc<str>,
    index: &Arc<str>,
    loc: Locator,
    out: &mut Vec<Event>,
    stats: &mut ReadStats,
) {
    let Value::Object(mut map) = doc else {
        stats.skipped += 1;
        eprintln!(
            "warning: {}: skipped: not a JSON object",
            Origin {
                file: file.clone(),
                locator: loc
            }
        );
        return;
    };
    let mut idx = index.clone();
    let mut id = None;
    if let Some(Value::Object(src)) = map.get("_source") {
        if let Some(Value::String(i)) = map.get("_index") {
            idx = Arc::from(i.as_str());
        }
        if let Some(Value::String(i)) = map.get("_id") {
            id = Some(Arc::from(i.as_str()));
        }
        map = src.clone();
    }
    stats.events += 1;
    out.push(Event {
        source: map,
        index: idx,
        id,
        origin: Origin {
            file: file.clone(),
            locator: loc,
        },
    });
}
