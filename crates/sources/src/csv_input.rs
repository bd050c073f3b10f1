//! CSV with a header row, such as a Defender portal advanced-hunting export.
//!
//! Each row becomes a flat document keyed by column name. Empty cells are left
//! out. Columns that Defender types as `long`/`int` (ids, ports, sizes) become
//! numbers when they parse as integers; everything else stays a string, as in
//! the export. `Event.index` is the table name when the file has a `Type` or
//! `$table` column (Sentinel exports), otherwise empty: a portal export does
//! not say which table it came from.

use crate::Sink;
use harrier_event::{Event, Locator, Origin};
use serde_json::{Map, Value};
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

pub(crate) fn read_csv(reader: Box<dyn Read + '_>, name: Arc<str>, sink: &mut Sink) {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    if let Ok(buf) = reader.fill_buf() {
        if buf.starts_with(b"\xef\xbb\xbf") {
            reader.consume(3);
        }
    }
    let delimiter = match reader.fill_buf() {
        Ok(buf) => guess_delimiter(buf),
        Err(_) => b',',
    };
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(reader);
    let headers: Vec<String> = match csv.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
        Err(e) => {
            sink.fail_file(&name, Locator::Line(1), format!("CSV header: {e}"));
            return;
        }
    };
    let numeric: Vec<bool> = headers.iter().map(|h| is_numeric_column(h)).collect();
    let table_col = headers.iter().position(|h| h == "Type" || h == "$table");
    let mut record = csv::StringRecord::new();
    let mut line = 1u64;
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => return,
            Ok(true) => {
                line = record.position().map_or(line + 1, |p| p.line());
                let mut doc = Map::new();
                for (i, cell) in record.iter().enumerate() {
                    if cell.is_empty() {
                        continue;
                    }
                    let Some(col) = headers.get(i) else {
                        continue;
                    };
                    let v = if numeric[i] {
                        cell.trim()
                            .parse::<i64>()
                            .map(Value::from)
                            .unwrap_or_else(|_| Value::String(cell.to_string()))
                    } else {
                        Value::String(cell.to_string())
                    };
                    doc.insert(col.clone(), v);
                }
                if doc.is_empty() {
                    continue;
                }
                let index = table_col
                    .and_then(|i| record.get(i))
                    .map_or_else(|| Arc::from(""), Arc::from);
                sink.event(Event {
                    source: doc,
                    index,
                    id: None,
                    origin: Origin {
                        file: name.clone(),
                        locator: Locator::Line(line),
                    },
                });
            }
            Err(e) => {
                let at = e.position().map_or(line + 1, |p| p.line());
                let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                sink.skip(&name, Locator::Line(at), format!("CSV: {e}"));
                if fatal {
                    return;
                }
                line = at;
            }
        }
    }
}

fn guess_delimiter(buf: &[u8]) -> u8 {
    let end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
    let header = &buf[..end];
    let count = |d: u8| header.iter().filter(|&&b| b == d).count();
    [b',', b'\t', b';']
        .into_iter()
        .max_by_key(|&d| count(d))
        .unwrap_or(b',')
}

/// Defender columns typed `long` or `int`.
fn is_numeric_column(name: &str) -> bool {
    matches!(
        name,
        "ReportId"
            | "ProcessId"
            | "InitiatingProcessId"
            | "InitiatingProcessParentId"
            | "FileSize"
            | "InitiatingProcessFileSize"
            | "LocalPort"
            | "RemotePort"
            | "RequestSourcePort"
            | "LogonId"
            | "InitiatingProcessLogonId"
            | "CreatedProcessSessionId"
            | "InitiatingProcessSessionId"
    )
}
