//! Events kept for alerts as the place of their NDJSON line (`Engine::hits_at`)
//! and read again from the file at the end give the alerts that keeping the
//! documents gives; a file changed in between gives warnings, not wrong alerts.

mod common;

use common::rule;
use harrier_engine::collect::Collector;
use harrier_engine::{Engine, EngineOptions, RunOutput};
use harrier_sources::{read_paths_at, read_paths_with, LineAt, ReadOptions};
use serde_json::json;
use std::path::{Path, PathBuf};

fn engine() -> Engine {
    let rules = vec![
        rule(
            "seq",
            "sequence by process.entity_id [process where process.name == \"a.exe\"] \
             [network where destination.port == 443]",
            1000,
        ),
        rule("ev", "process where process.name : \"b.exe\"", 1000),
    ];
    let engine = Engine::new(rules, EngineOptions::default());
    assert!(engine.errors().is_empty(), "{:?}", engine.errors());
    engine
}

/// An NDJSON file of process starts and connections: a byte-order mark
/// first, CRLF line ends in places, and one line holding two events (an
/// Event Hub batch), which cannot be found again by its line alone.
fn write_events(path: &Path) {
    let mut text = String::from("\u{feff}");
    for i in 0..3000u32 {
        let pid = i % 17;
        let ts = format!(
            "2024-05-01T00:{:02}:{:02}.{:03}Z",
            i / 600,
            (i / 10) % 60,
            i % 1000
        );
        let doc = if i % 4 == 0 {
            json!({"@timestamp": ts, "data_stream": {"type": "logs", "dataset": "endpoint.events.process", "namespace": "default"},
                   "event": {"category": ["process"], "type": ["start"]},
                   "process": {"name": if i % 8 == 0 { "a.exe" } else { "b.exe" }, "entity_id": format!("p{pid}"), "n": i}})
        } else {
            json!({"@timestamp": ts, "data_stream": {"type": "logs", "dataset": "endpoint.events.network", "namespace": "default"},
                   "event": {"category": ["network"]},
                   "process": {"name": "a.exe", "entity_id": format!("p{pid}"), "n": i},
                   "destination": {"port": if i % 3 == 0 { 443 } else { 80 }}})
        };
        text.push_str(&doc.to_string());
        text.push_str(if i % 5 == 0 { "\r\n" } else { "\n" });
        if i == 1500 {
            let batch = json!({"records": [
                {"@timestamp": "2024-05-01T00:02:30.500Z", "data_stream": {"type": "logs", "dataset": "endpoint.events.process", "namespace": "default"},
                 "event": {"category": ["process"], "type": ["start"]}, "process": {"name": "b.exe", "entity_id": "batch1"}},
                {"@timestamp": "2024-05-01T00:02:30.600Z", "data_stream": {"type": "logs", "dataset": "endpoint.events.process", "namespace": "default"},
                 "event": {"category": ["process"], "type": ["start"]}, "process": {"name": "b.exe", "entity_id": "batch2"}}
            ]});
            text.push_str(&batch.to_string());
            text.push('\n');
        }
    }
    if let Err(e) = std::fs::write(path, text) {
        panic!("cannot write {}: {e}", path.display());
    }
}

fn temp_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "harrier-reread-{}-{name}.ndjson",
        std::process::id()
    ))
}

/// What each detection says: rule, and each event's origin, index and document.
fn summary(out: &RunOutput) -> Vec<String> {
    out.detections
        .iter()
        .map(|d| {
            let events: Vec<String> = d
                .events
                .iter()
                .map(|e| format!("{} {} {:?}", e.origin, e.index, e.source))
                .collect();
            format!("{} {}", d.rule, events.join(" | "))
        })
        .collect()
}

/// Reads `path` on two workers (the parallel reader, which knows line places)
/// and collects, with or without the line places; `before_finish` runs
/// between reading and running the rules.
fn hunt(
    engine: &Engine,
    path: &Path,
    with_places: bool,
    before_finish: impl FnOnce(),
) -> RunOutput {
    let opts = ReadOptions {
        threads: 2,
        ..ReadOptions::default()
    };
    let mut collector = Collector::new(engine);
    let paths = [path.to_path_buf()];
    let mut places = 0usize;
    if with_places {
        let keep = |e, at: Option<LineAt<'_>>| Some((at.is_some(), engine.hits_at(&e, at)));
        read_paths_at(
            &paths,
            &opts,
            None,
            &keep,
            &mut |(placed, hits)| {
                places += usize::from(placed);
                collector.push(hits)
            },
            &mut |s| panic!("unexpected skip: {s:?}"),
        );
        // every event but the two of the batch line has a place
        assert_eq!(places, 3000);
    } else {
        let keep = |e| Some(engine.hits(&e));
        read_paths_with(
            &paths,
            &opts,
            None,
            &keep,
            &mut |hits| collector.push(hits),
            &mut |s| panic!("unexpected skip: {s:?}"),
        );
    }
    before_finish();
    collector.finish(&|_| {})
}

#[test]
fn events_read_again_from_their_lines_equal_kept_documents() {
    let path = temp_file("same");
    write_events(&path);
    let engine = engine();
    let kept = hunt(&engine, &path, false, || {});
    let reread = hunt(&engine, &path, true, || {});
    let _ = std::fs::remove_file(&path);
    let want = summary(&kept);
    assert!(
        want.iter().any(|d| d.starts_with("0 ")) && want.iter().any(|d| d.contains("batch2")),
        "the test needs sequences and the batch line's events in alerts: {want:?}"
    );
    assert!(kept.warnings.is_empty() && reread.warnings.is_empty());
    assert_eq!(summary(&reread), want);
}

#[test]
fn a_file_changed_before_alerts_are_built_gives_warnings() {
    let path = temp_file("changed");
    write_events(&path);
    let engine = engine();
    let out = hunt(&engine, &path, true, || {
        // same length, other bytes: every line's checksum differs
        let text = std::fs::read(&path).unwrap_or_default();
        let changed: Vec<u8> = text
            .iter()
            .map(|&b| if b == b'a' { b'c' } else { b })
            .collect();
        let _ = std::fs::write(&path, changed);
    });
    let _ = std::fs::remove_file(&path);
    assert!(!out.detections.is_empty());
    assert!(!out.warnings.is_empty());
    assert!(
        out.warnings
            .iter()
            .all(|w| w.contains("harrier-reread") && w.contains("changed")),
        "{:?}",
        out.warnings
    );
    // the batch line's events were kept as documents, and still are
    assert!(out.detections.iter().flat_map(|d| &d.events).any(|e| e
        .source
        .get("process")
        .is_some_and(|p| p["entity_id"] == "batch2")));
}
