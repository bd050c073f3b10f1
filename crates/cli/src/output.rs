//! Query result writers. Every format implements [`ResultWriter`].

use harrier_eql::exec::{Match, Output};
use harrier_event::Event;
use serde_json::{json, Map, Value};
use std::io::Write;

pub trait ResultWriter {
    fn write(
        &self,
        out: &mut dyn Write,
        result: &Output,
        events: &[Event],
        took_ms: u64,
    ) -> std::io::Result<()>;
}

/// A stable document id: the input's `_id`, or a hash of where the event came from.
pub fn doc_id(e: &Event) -> String {
    if let Some(id) = &e.id {
        return id.to_string();
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in e.origin.to_string().bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    format!("{h:016x}")
}

fn hit(e: &Event) -> Value {
    json!({"_index": e.index.as_ref(), "_id": doc_id(e), "_source": Value::Object(e.source.clone())})
}

fn sequence_json(m: &Match, events: &[Event]) -> Value {
    let mut s = Map::new();
    if !m.join_keys.is_empty() {
        s.insert(
            "join_keys".into(),
            Value::Array(m.join_keys.iter().map(|k| k.to_json()).collect()),
        );
    }
    let evs: Vec<Value> = m
        .events
        .iter()
        .map(|e| match e {
            Some(i) => hit(&events[*i]),
            None => json!({"_index": "", "_id": "", "missing": true}),
        })
        .collect();
    s.insert("events".into(), Value::Array(evs));
    Value::Object(s)
}

/// The response body of Elasticsearch's EQL search API.
pub struct EsWriter;

impl ResultWriter for EsWriter {
    fn write(
        &self,
        out: &mut dyn Write,
        result: &Output,
        events: &[Event],
        took_ms: u64,
    ) -> std::io::Result<()> {
        let hits = match result {
            Output::Events(ids) => json!({
                "total": {"value": ids.len(), "relation": "eq"},
                "events": ids.iter().map(|&i| hit(&events[i])).collect::<Vec<_>>(),
            }),
            Output::Sequences(seqs) => json!({
                "total": {"value": seqs.len(), "relation": "eq"},
                "sequences": seqs.iter().map(|m| sequence_json(m, events)).collect::<Vec<_>>(),
            }),
        };
        let body = json!({"is_partial": false, "is_running": false, "took": took_ms, "timed_out": false, "hits": hits});
        serde_json::to_writer_pretty(&mut *out, &body)?;
        writeln!(out)
    }
}

/// One matched event (or one sequence) per line.
pub struct JsonlWriter;

impl ResultWriter for JsonlWriter {
    fn write(
        &self,
        out: &mut dyn Write,
        result: &Output,
        events: &[Event],
        _took_ms: u64,
    ) -> std::io::Result<()> {
        match result {
            Output::Events(ids) => {
                for &i in ids {
                    serde_json::to_writer(&mut *out, &hit(&events[i]))?;
                    writeln!(out)?;
                }
            }
            Output::Sequences(seqs) => {
                for m in seqs {
                    serde_json::to_writer(&mut *out, &sequence_json(m, events))?;
                    writeln!(out)?;
                }
            }
        }
        Ok(())
    }
}

/// A readable table: time, category, host, process and a summary per event.
pub struct TableWriter;

const COLUMNS: [(&str, &str); 5] = [
    ("@timestamp", "TIME"),
    ("event.category", "CATEGORY"),
    ("host.name", "HOST"),
    ("process.name", "PROCESS"),
    ("process.command_line", "COMMAND LINE"),
];

fn cell(e: &Event, path: &str) -> String {
    let mut vals = Vec::new();
    harrier_event::lookup(&e.source, &harrier_event::FieldPath::new(path), &mut vals);
    let text: Vec<String> = vals
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    let mut s = text.join(",");
    if s.chars().count() > 60 {
        s = s.chars().take(57).collect::<String>() + "...";
    }
    s
}

impl ResultWriter for TableWriter {
    fn write(
        &self,
        out: &mut dyn Write,
        result: &Output,
        events: &[Event],
        took_ms: u64,
    ) -> std::io::Result<()> {
        let mut rows: Vec<(String, usize)> = Vec::new();
        let count;
        match result {
            Output::Events(ids) => {
                count = ids.len();
                rows.extend(ids.iter().map(|&i| (String::new(), i)));
            }
            Output::Sequences(seqs) => {
                count = seqs.len();
                for (n, m) in seqs.iter().enumerate() {
                    let keys: Vec<String> = m
                        .join_keys
                        .iter()
                        .map(|k| k.to_json().to_string())
                        .collect();
                    let label = format!("#{} [{}]", n + 1, keys.join(", "));
                    for (j, e) in m.events.iter().enumerate() {
                        let l = if j == 0 { label.clone() } else { String::new() };
                        match e {
                            Some(i) => rows.push((l, *i)),
                            None => rows.push((format!("{l} (missing)"), usize::MAX)),
                        }
                    }
                }
            }
        }
        let seq = matches!(result, Output::Sequences(_));
        let mut table: Vec<Vec<String>> = Vec::new();
        let mut header: Vec<String> = Vec::new();
        if seq {
            header.push("SEQUENCE".into());
        }
        header.extend(COLUMNS.iter().map(|(_, h)| h.to_string()));
        table.push(header);
        for (label, i) in rows {
            let mut r = Vec::new();
            if seq {
                r.push(label);
            }
            if i == usize::MAX {
                r.extend(COLUMNS.iter().map(|_| "-".to_string()));
            } else {
                r.extend(COLUMNS.iter().map(|(p, _)| cell(&events[i], p)));
            }
            table.push(r);
        }
        let widths: Vec<usize> = (0..table[0].len())
            .map(|c| {
                table
                    .iter()
                    .map(|r| r[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for r in &table {
            let line: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(v, w)| format!("{v:<w$}"))
                .collect();
            writeln!(out, "{}", line.join("  ").trim_end())?;
        }
        let what = if seq { "sequences" } else { "events" };
        writeln!(out, "\n{count} {what} in {took_ms} ms")
    }
}
