//! EVTX files through the `evtx` crate.
//!
//! Chunks are parsed, rendered and mapped to documents on the crate's rayon
//! pool (one worker per core); the crate hands results back in chunk order,
//! and records within a chunk stay in order, so events come out in record
//! order. A record or chunk that fails becomes a [`crate::Skip`]; the file goes on.
//! Chunk-level failures have no record id: they are reported at
//! `Locator::Record(0)` with the chunk named in the reason.

use crate::winlog::{self, Header, Mapped};
use crate::Sink;
use evtx::err::EvtxError;
use evtx::{EvtxParser, ParserSettings};
use harrier_event::{Event, Locator, Origin};
use std::io::{Read, Seek};
use std::path::Path;
use std::sync::Arc;

pub(crate) fn read_evtx_path(path: &Path, name: Arc<str>, sink: &mut Sink) {
    match EvtxParser::from_path(path) {
        Ok(p) => read(p, name, sink),
        Err(e) => sink.fail_file(&name, Locator::Record(0), format!("EVTX: {}", chain(&e))),
    }
}

pub(crate) fn read_evtx_buffer(buf: Vec<u8>, name: Arc<str>, sink: &mut Sink) {
    match EvtxParser::from_buffer(buf) {
        Ok(p) => read(p, name, sink),
        Err(e) => sink.fail_file(&name, Locator::Record(0), format!("EVTX: {}", chain(&e))),
    }
}

enum Outcome {
    Event(u64, Mapped),
    Bad(u64, String),
}

fn read<T: Read + Seek + Send + 'static>(parser: EvtxParser<T>, name: Arc<str>, sink: &mut Sink) {
    let settings = ParserSettings::new()
        .num_threads(0)
        .indent(false)
        .separate_json_attributes(false);
    let mut parser = parser.with_configuration(settings);
    let file = name.clone();
    let records = parser.serialized_records(move |record| {
        let record = record?;
        let id = record.event_record_id;
        let time = record.timestamp;
        let rendered = record.into_json_bytes()?;
        Ok(
            match serde_json::from_slice::<serde_json::Value>(&rendered.data) {
                Ok(v) => match winlog::map_record(
                    &v,
                    &file,
                    Some(Header {
                        record_id: id,
                        time: time.to_string(),
                    }),
                ) {
                    Some(m) => Outcome::Event(id, m),
                    None => Outcome::Bad(id, "record has no Event/System element".into()),
                },
                Err(e) => Outcome::Bad(id, format!("rendered record is not valid JSON: {e}")),
            },
        )
    });
    for item in records {
        match item {
            Ok(Outcome::Event(id, m)) => sink.event(Event {
                source: m.doc,
                index: Arc::from(m.index),
                id: None,
                origin: Origin {
                    file: name.clone(),
                    locator: Locator::Record(id),
                },
            }),
            Ok(Outcome::Bad(id, reason)) => sink.skip(&name, Locator::Record(id), reason),
            Err(e) => {
                let id = match &e {
                    EvtxError::FailedToParseRecord { record_id, .. } => *record_id,
                    _ => 0,
                };
                sink.skip(&name, Locator::Record(id), chain(&e));
            }
        }
    }
}

/// An error and its sources, joined with ": ".
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let text = src.to_string();
        if !s.ends_with(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = src.source();
    }
    s
}
