//! JSON inputs: NDJSON (one document per line), a JSON array of documents, or
//! one or more pretty-printed documents. Each document can be:
//!
//! - a plain ECS document (`Event.index` from `data_stream.{type,dataset,namespace}`,
//!   else empty);
//! - an Elasticsearch hit `{"_index", "_id", "_source"}`;
//! - a whole search response (`hits.hits[]`), which gives one event per hit;
//! - an `evtx`-crate rendering of a Windows event (`{"Event": {"System": ..}}`),
//!   mapped like an EVTX record;
//! - Defender rows: a Sentinel/Log Analytics row (`Event.index` from its `Type`
//!   column when it has `TimeGenerated`), the advanced-hunting API's
//!   `{"Schema": [..], "Results": [..]}` (one event per result), the Log
//!   Analytics query API's `{"tables": [{"columns", "rows"}]}`, and the Event
//!   Hub streaming format `{"category": "AdvancedHunting-<Table>", "properties":
//!   {..}}`, whose `properties` become the event (`Event.index` = the table,
//!   with the record's `time` as `TimeGenerated`), also inside an Azure
//!   `{"records": [..]}` batch.
//!
//! Locators: `Line(n)` (1-based) for NDJSON, `Element(i)` for array elements,
//! for the hits of a search response read as a whole document, and for the
//! i-th (0-based) of several concatenated pretty-printed documents.

use crate::{winlog, Sink};
use harrier_event::{Event, FlatDoc, Locator, Origin};
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

/// Reads a stream whose first non-blank byte is `{`: NDJSON when the first line
/// is a whole document, otherwise a sequence of (pretty-printed) documents.
pub(crate) fn read_objects(reader: Box<dyn Read + '_>, name: Arc<str>, sink: &mut Sink) {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let mut line = Vec::new();
    let mut line_no = 0u64;
    // Find the first non-blank line and decide the mode from it.
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                sink.skip(
                    &name,
                    Locator::Line(line_no + 1),
                    format!("read error: {e}"),
                );
                return;
            }
        }
        line_no += 1;
        if !is_blank(&line) {
            break;
        }
    }
    let first = trim_eol(strip_bom(&line));
    match serde_json::from_slice::<Value>(first) {
        Ok(v) => {
            emit(v, Locator::Line(line_no), &name, sink);
        }
        Err(e) if e.is_eof() => {
            // The first document spans several lines.
            let head = std::io::Cursor::new(strip_bom(&line).to_vec());
            read_documents(Box::new(head.chain(reader)), name, sink);
            return;
        }
        Err(e) => {
            sink.skip(&name, Locator::Line(line_no), format!("invalid JSON: {e}"));
        }
    }
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                sink.skip(
                    &name,
                    Locator::Line(line_no + 1),
                    format!("read error, input ends here: {e}"),
                );
                return;
            }
        }
        line_no += 1;
        if is_blank(&line) {
            continue;
        }
        match serde_json::from_slice::<Value>(trim_eol(&line)) {
            Ok(v) => emit(v, Locator::Line(line_no), &name, sink),
            Err(e) => sink.skip(&name, Locator::Line(line_no), format!("invalid JSON: {e}")),
        }
    }
}

/// One NDJSON line (with or without its line end): its events, or a skip.
pub(crate) fn parse_line(line: &[u8], locator: Locator, name: &Arc<str>, sink: &mut Sink) {
    match serde_json::from_slice::<Value>(trim_eol(line)) {
        Ok(v) => emit(v, locator, name, sink),
        Err(e) => sink.skip(name, locator, format!("invalid JSON: {e}")),
    }
}

fn is_blank(line: &[u8]) -> bool {
    strip_bom(line).iter().all(|b| b.is_ascii_whitespace())
}

pub(crate) fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn strip_bom(line: &[u8]) -> &[u8] {
    line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line)
}

/// One or more whitespace-separated JSON documents.
fn read_documents(reader: Box<dyn Read + '_>, name: Arc<str>, sink: &mut Sink) {
    let stream = serde_json::Deserializer::from_reader(BufReader::new(reader)).into_iter::<Value>();
    for (i, item) in stream.enumerate() {
        match item {
            Ok(v) => emit(v, Locator::Element(i as u64), &name, sink),
            Err(e) => {
                sink.skip(
                    &name,
                    Locator::Element(i as u64),
                    format!("invalid JSON, rest of file skipped: {e}"),
                );
                return;
            }
        }
    }
}

/// A JSON array of documents, streamed element by element.
pub(crate) fn read_array(reader: Box<dyn Read + '_>, name: Arc<str>, sink: &mut Sink) {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    // Skip a UTF-8 byte order mark.
    if let Ok(buf) = reader.fill_buf() {
        if buf.starts_with(b"\xef\xbb\xbf") {
            reader.consume(3);
        }
    }
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut count = 0u64;
    let seed = Elements {
        name: &name,
        sink,
        count: &mut count,
    };
    let result = seed.deserialize(&mut de);
    let result = result.and_then(|()| de.end());
    if let Err(e) = result {
        sink.skip(
            &name,
            Locator::Element(count),
            format!("invalid JSON, rest of array skipped: {e}"),
        );
    }
}

struct Elements<'a, 'b, 'c> {
    name: &'a Arc<str>,
    sink: &'a mut Sink<'b>,
    count: &'c mut u64,
}

impl<'de> DeserializeSeed<'de> for Elements<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of documents")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            emit(v, Locator::Element(*self.count), self.name, self.sink);
            *self.count += 1;
        }
        Ok(())
    }
}

/// Turns one parsed document into events.
pub(crate) fn emit(v: Value, locator: Locator, name: &Arc<str>, sink: &mut Sink) {
    let Value::Object(mut obj) = v else {
        sink.skip(name, locator, "not a JSON object".into());
        return;
    };
    let sub = |i: usize| match locator {
        Locator::Line(n) => Locator::Line(n),
        _ => Locator::Element(i as u64),
    };
    // Azure diagnostic batches (Event Hub, storage): {"records": [...]}.
    if obj.len() == 1 {
        if let Some(Value::Array(records)) = obj.get_mut("records") {
            for (i, r) in std::mem::take(records).into_iter().enumerate() {
                match r {
                    Value::Object(o) => emit_object(o, sub(i), name, sink),
                    _ => sink.skip(name, sub(i), "record is not a JSON object".into()),
                }
            }
            return;
        }
    }
    // Defender advanced-hunting API: {"Schema": [...], "Results": [...]}
    // (the Graph API spells them in lower case).
    let results_key = ["Results", "results"]
        .into_iter()
        .find(|k| obj.get(*k).is_some_and(Value::is_array));
    let has_schema = ["Schema", "schema"]
        .iter()
        .any(|k| obj.get(*k).is_some_and(Value::is_array));
    if let (Some(key), true) = (results_key, has_schema) {
        if let Some(Value::Array(rows)) = obj.remove(key) {
            for (i, r) in rows.into_iter().enumerate() {
                match r {
                    Value::Object(o) => emit_object(o, sub(i), name, sink),
                    _ => sink.skip(name, sub(i), "result row is not a JSON object".into()),
                }
            }
        }
        return;
    }
    // Log Analytics query API: {"tables": [{"columns": [{"name"}], "rows": [[...]]}]}.
    if let Some(Value::Array(tables)) = obj.get("tables") {
        if tables.iter().all(|t| {
            t.get("columns").is_some_and(Value::is_array)
                && t.get("rows").is_some_and(Value::is_array)
        }) {
            let mut i = 0usize;
            for t in tables {
                let cols: Vec<Option<&str>> = t
                    .get("columns")
                    .and_then(Value::as_array)
                    .map(|c| {
                        c.iter()
                            .map(|c| c.get("name").and_then(Value::as_str))
                            .collect()
                    })
                    .unwrap_or_default();
                for r in t
                    .get("rows")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(cells) = r.as_array() else {
                        sink.skip(name, sub(i), "table row is not a JSON array".into());
                        i += 1;
                        continue;
                    };
                    let row: Map<String, Value> = cols
                        .iter()
                        .zip(cells)
                        .filter_map(|(c, v)| Some(((*c)?.to_string(), v.clone())))
                        .collect();
                    emit_object(row, sub(i), name, sink);
                    i += 1;
                }
            }
            return;
        }
    }
    // A whole search response.
    if let Some(Value::Array(hits)) = obj
        .get_mut("hits")
        .and_then(|h| h.as_object_mut())
        .and_then(|h| h.remove("hits"))
    {
        for (i, hit) in hits.into_iter().enumerate() {
            let loc = match locator {
                Locator::Line(n) => Locator::Line(n),
                _ => Locator::Element(i as u64),
            };
            match hit {
                Value::Object(h) => emit_object(h, loc, name, sink),
                _ => sink.skip(name, loc, "search hit is not a JSON object".into()),
            }
        }
        return;
    }
    emit_object(obj, locator, name, sink);
}

fn emit_object(mut obj: Map<String, Value>, locator: Locator, name: &Arc<str>, sink: &mut Sink) {
    let origin = Origin {
        file: name.clone(),
        locator,
    };
    // An Elasticsearch hit.
    if let Some(Value::Object(source)) = obj.remove("_source") {
        let index = match obj.get("_index") {
            Some(Value::String(s)) => Arc::from(s.as_str()),
            _ => data_stream_index(&source),
        };
        let id = match obj.get("_id") {
            Some(Value::String(s)) => Some(Arc::from(s.as_str())),
            _ => None,
        };
        sink.event(Event {
            source,
            index,
            id,
            origin,
        });
        return;
    }
    // An evtx-crate rendering of a Windows event.
    if obj.get("Event").and_then(|e| e.get("System")).is_some() {
        if let Some(m) = winlog::map_record(&Value::Object(obj), name, None) {
            sink.event(Event {
                source: m.doc,
                index: Arc::from(m.index),
                id: None,
                origin,
            });
        }
        return;
    }
    // Defender's Event Hub streaming format: one advanced-hunting row per record.
    let streamed_table = obj
        .get("category")
        .and_then(Value::as_str)
        .and_then(|c| c.strip_prefix("AdvancedHunting-"))
        .map(str::to_string);
    if let (Some(table), Some(Value::Object(_))) = (&streamed_table, obj.get("properties")) {
        let Some(Value::Object(mut row)) = obj.remove("properties") else {
            return;
        };
        // The record's time is when Defender published it: Sentinel's TimeGenerated.
        for (from, to) in [("time", "TimeGenerated"), ("tenantId", "TenantId")] {
            if let Some(v) = obj.get(from).filter(|v| v.is_string()) {
                row.entry(to.to_string()).or_insert_with(|| v.clone());
            }
        }
        sink.event(Event {
            source: row,
            index: Arc::from(table.as_str()),
            id: None,
            origin,
        });
        return;
    }
    let index = defender_table_column(&obj).unwrap_or_else(|| data_stream_index(&obj));
    sink.event(Event {
        source: obj,
        index,
        id: None,
        origin,
    });
}

/// The top-level keys whose presence gives a document a shape other than a
/// plain event (see [`emit`]), and those [`data_stream_index`] reads: a
/// reader that scans a line for some fields only captures these whole.
pub(crate) const SHAPE_KEYS: &[&str] = &[
    "records",
    "Results",
    "results",
    "Schema",
    "schema",
    "tables",
    "hits",
    "_source",
    "Event",
    "properties",
    "TimeGenerated",
    "data_stream",
    "data_stream.type",
    "data_stream.dataset",
    "data_stream.namespace",
];

/// The index of a document [`emit`] turns into exactly one plain event (the
/// document itself), judged from the JSON text of its [`SHAPE_KEYS`] that
/// are present (as [`FlatDoc::captured`] gives them: place in `SHAPE_KEYS`
/// and text, in document order); `None` for every other shape (batches,
/// search hits and responses, API results, evtx-crate renderings, Event Hub
/// records, Sentinel rows). The indexes of the last texts seen are kept
/// in `cache`, so that events from a few data streams build nothing.
pub(crate) fn plain_index(doc: &FlatDoc<'_>, cache: &mut PlainIndexes) -> Option<Arc<str>> {
    let first_data_stream = SHAPE_KEYS
        .iter()
        .position(|k| k.starts_with("data_stream"))
        .unwrap_or(SHAPE_KEYS.len());
    cache.scratch.clear();
    for (i, text) in doc.captured() {
        if i < first_data_stream {
            return None;
        }
        // a key's place and its text, separated by a byte JSON cannot hold
        cache.scratch.push(i as u8);
        cache.scratch.extend_from_slice(text.as_bytes());
        cache.scratch.push(0xff);
    }
    if let Some((_, index)) = cache.seen.iter().find(|(k, _)| *k == cache.scratch) {
        return Some(Arc::clone(index));
    }
    let mut top = Map::new();
    for (i, text) in doc.captured() {
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            top.insert(SHAPE_KEYS[i].to_string(), v);
        }
    }
    let index = data_stream_index(&top);
    if cache.seen.len() == PlainIndexes::MAX {
        cache.seen.remove(0);
    }
    cache.seen.push((cache.scratch.clone(), Arc::clone(&index)));
    Some(index)
}

/// What [`plain_index`] remembers between the lines of one reader: the
/// indexes of the last few shapes seen (events of a few data streams come
/// interleaved).
#[derive(Default)]
pub(crate) struct PlainIndexes {
    scratch: Vec<u8>,
    seen: Vec<(Vec<u8>, Arc<str>)>,
}

impl PlainIndexes {
    const MAX: usize = 16;
}

/// The `Type` column of a Sentinel or Log Analytics row (`DeviceNetworkEvents`, ...).
fn defender_table_column(doc: &Map<String, Value>) -> Option<Arc<str>> {
    if doc.contains_key("@timestamp") || !doc.contains_key("TimeGenerated") {
        return None;
    }
    let t = doc.get("Type").and_then(Value::as_str)?;
    (!t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then(|| Arc::from(t))
}

/// `type-dataset-namespace` from `data_stream.*` (nested or dotted keys), or "".
fn data_stream_index(doc: &Map<String, Value>) -> Arc<str> {
    let get = |k: &str| -> Option<&str> {
        doc.get("data_stream")
            .and_then(|d| d.get(k))
            .or_else(|| doc.get(&format!("data_stream.{k}")))
            .and_then(Value::as_str)
    };
    match (get("type"), get("dataset"), get("namespace")) {
        (Some(t), Some(d), Some(n)) => Arc::from(format!("{t}-{d}-{n}").as_str()),
        _ => Arc::from(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_event::{FieldIndex, FieldPath};

    /// The index a line's shape keys give, through one cache shared by the
    /// lines, as a reader uses it.
    fn indexes(lines: &[&str]) -> Vec<Option<String>> {
        let fields = FieldIndex::new(&[FieldPath::new("data_stream.dataset")]);
        let mut cache = PlainIndexes::default();
        lines
            .iter()
            .map(|l| {
                let doc = FlatDoc::parse(l.as_bytes(), &fields, SHAPE_KEYS).expect("valid");
                plain_index(&doc, &mut cache).map(|i| i.to_string())
            })
            .collect()
    }

    #[test]
    fn plain_index_follows_each_line_through_the_cache() {
        let got = indexes(&[
            r#"{"data_stream":{"type":"logs","dataset":"a","namespace":"n"},"x":1}"#,
            r#"{"data_stream":{"type":"logs","dataset":"a","namespace":"n"},"x":2}"#,
            r#"{"data_stream":{"type":"logs","dataset":"b","namespace":"n"}}"#,
            r#"{"data_stream.type":"logs","data_stream.dataset":"c","data_stream.namespace":"d"}"#,
            r#"{"data_stream":{"type":"logs","dataset":"a","namespace":"n"}}"#,
            r#"{"x":1}"#,
            // a repeated key: the last one counts, as in a map
            r#"{"data_stream":{"type":"logs","dataset":"a","namespace":"n"},"data_stream":{"type":"logs","dataset":"z","namespace":"n"}}"#,
            r#"{"_source":{"data_stream":{"type":"logs","dataset":"a","namespace":"n"}}}"#,
            r#"{"data_stream":{"type":"logs","dataset":"a","namespace":"n"},"records":[]}"#,
        ]);
        let want = [
            Some("logs-a-n"),
            Some("logs-a-n"),
            Some("logs-b-n"),
            Some("logs-c-d"),
            Some("logs-a-n"),
            Some(""),
            Some("logs-z-n"),
            None,
            None,
        ];
        let want: Vec<Option<String>> = want.iter().map(|w| w.map(str::to_string)).collect();
        assert_eq!(got, want);
    }
}
