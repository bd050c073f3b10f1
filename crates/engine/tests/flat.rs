//! Lines read straight into the slots of the rules' fields
//! (`harrier_sources::read_paths_flat`, `Engine::hits_flat`) give the
//! detections, alert documents, counts and skips that reading every event
//! whole gives, whatever the lines' shapes: nested and dotted data streams,
//! search hits, batches, repeated keys, invalid lines, and rules with
//! exceptions (which read whole documents, so their candidates are read
//! whole). EVTX records mapped in place (`Engine::hits_record`) likewise
//! give what their events give, under every Elastic rule.

mod common;

use common::rule;
use harrier_engine::collect::Collector;
use harrier_engine::{Engine, EngineOptions, RunOutput};
use harrier_rules::exceptions::{parse_exception_ndjson, ExceptionLists};
use harrier_sources::{
    read_paths_flat, read_paths_with, FlatLine, FlatRead, FlatRecord, LineAt, ReadOptions,
};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A rule whose alerts the exception list below suppresses for entity `p3`.
fn excepted_rule() -> harrier_rules::Rule {
    let text = "[metadata]\ncreation_date = \"2024/01/01\"\n\n[rule]\nauthor = [\"Harrier\"]\n\
         description = \"test\"\nindex = [\"logs-*\"]\nlanguage = \"eql\"\nlicense = \"MIT\"\n\
         name = \"exc\"\nrisk_score = 21\nrule_id = \"exc\"\nseverity = \"low\"\n\
         type = \"eql\"\nmax_signals = 1000\nquery = '''\nprocess where process.name == \"b.exe\"\n'''\n\
         exceptions_list = [{id = \"l1\", list_id = \"not-p3\", namespace_type = \"single\", type = \"detection\"}]\n";
    match harrier_rules::parse_toml_rule(text, Arc::from("exc.toml")) {
        Ok(r) => r,
        Err(e) => panic!("test rule does not load: {e:?}"),
    }
}

fn engine() -> Engine {
    let rules = vec![
        rule(
            "seq",
            "sequence by process.entity_id [process where process.name == \"a.exe\"] \
             [network where destination.port == 443]",
            1000,
        ),
        rule("ev", "process where process.name : \"b.exe\"", 1000),
        rule(
            "args",
            "process where process.args : (\"-enc\", \"*hidden*\") and user.name != null",
            1000,
        ),
        excepted_rule(),
    ];
    let list = concat!(
        r#"{"list_id":"not-p3","type":"detection","namespace_type":"single","name":"l","description":"d"}"#,
        "\n",
        r#"{"item_id":"i1","list_id":"not-p3","namespace_type":"single","type":"simple","name":"n","entries":[{"type":"match","field":"process.entity_id","operator":"included","value":"p3"}]}"#,
        "\n"
    );
    let (lists, problems) = parse_exception_ndjson(list, "list.ndjson".into());
    assert!(problems.is_empty(), "{problems:?}");
    let options = EngineOptions {
        exceptions: ExceptionLists::new(lists),
        ..EngineOptions::default()
    };
    let engine = Engine::new(rules, options);
    assert!(engine.errors().is_empty(), "{:?}", engine.errors());
    engine
}

/// Process starts and connections in every shape a line can take.
fn write_events(path: &Path) {
    let mut text = String::from("\u{feff}");
    for i in 0..2000u32 {
        let pid = i % 13;
        let ts = format!(
            "2024-05-01T00:{:02}:{:02}.{:03}Z",
            i / 600,
            (i / 10) % 60,
            i % 1000
        );
        let proc_ds =
            json!({"type": "logs", "dataset": "endpoint.events.process", "namespace": "default"});
        let mut doc = if i % 4 == 0 {
            json!({"@timestamp": ts, "data_stream": proc_ds,
                   "event": {"category": ["process"], "type": ["start"]},
                   "process": {"name": if i % 8 == 0 { "a.exe" } else { "b.exe" }, "entity_id": format!("p{pid}"),
                               "args": ["x.exe", if i % 3 == 0 { "-enc" } else { "/c" }, "a HIDDEN b"]},
                   "user": {"name": if i % 5 == 0 { json!(null) } else { json!("u") }}})
        } else {
            json!({"@timestamp": ts, "data_stream.type": "logs", "data_stream.dataset": "endpoint.events.network", "data_stream.namespace": "default",
                   "event": {"category": ["network"]},
                   "process": {"name": "a.exe", "entity_id": format!("p{pid}")},
                   "destination": {"port": if i % 3 == 0 { 443 } else { 80 }}})
        };
        let line = match i % 50 {
            // an Elasticsearch hit: its index comes from `_index`
            8 => json!({"_index": "logs-endpoint.events.process-hits", "_id": format!("h{i}"), "_source": doc}).to_string(),
            // a repeated key: the last one wins
            12 | 24 => {
                let t = doc.to_string();
                t.replacen("\"process\":", "\"process\":{\"name\":\"B.EXE\",\"entity_id\":\"dup\"},\"process\":", 1)
            }
            // dotted keys for the process name
            13 => {
                if let Some(p) = doc.get_mut("process").and_then(|p| p.as_object_mut()) {
                    p.remove("name");
                }
                doc["process.name"] = json!("b.exe");
                doc.to_string()
            }
            // not JSON at all
            17 => "{\"@timestamp\": ".to_string(),
            _ => doc.to_string(),
        };
        text.push_str(&line);
        text.push_str(if i % 5 == 0 { "\r\n" } else { "\n" });
        if i == 1000 {
            let batch = json!({"records": [
                {"@timestamp": "2024-05-01T00:01:40.500Z", "data_stream": {"type": "logs", "dataset": "endpoint.events.process", "namespace": "default"},
                 "event": {"category": ["process"], "type": ["start"]}, "process": {"name": "b.exe", "entity_id": "batch1"}},
                {"@timestamp": "2024-05-01T00:01:40.600Z", "data_stream": {"type": "logs", "dataset": "endpoint.events.process", "namespace": "default"},
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
    std::env::temp_dir().join(format!("harrier-flat-{}-{name}.ndjson", std::process::id()))
}

/// Every detection with each event's origin, index and whole document, then
/// the skips.
fn summary(out: &RunOutput, skips: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = out
        .detections
        .iter()
        .map(|d| {
            let events: Vec<String> = d
                .events
                .iter()
                .map(|e| format!("{} {} {:?}", e.origin, e.index, e.source))
                .collect();
            format!("{} {}", d.rule, events.join(" | "))
        })
        .collect();
    lines.extend(skips.iter().cloned());
    lines
}

/// What [`hunt`] gives: the output, the skips, the events read, and how many
/// lines and EVTX records were read into slots.
type Hunted = (RunOutput, Vec<String>, u64, usize, usize);

/// Reads `path` on two workers and collects: with `flat`, plain lines and
/// walked EVTX records are read into slots.
fn hunt(engine: &Engine, path: &Path, flat: bool) -> Hunted {
    let opts = ReadOptions {
        threads: 2,
        ..ReadOptions::default()
    };
    let mut collector = Collector::new(engine);
    let paths = [path.to_path_buf()];
    let mut skips = Vec::new();
    let flat_lines = AtomicUsize::new(0);
    let keep_flat = |line: &FlatLine<'_>| {
        let hits = engine.hits_flat(line)?;
        flat_lines.fetch_add(1, Ordering::Relaxed);
        Some(Some(hits))
    };
    let flat_records = AtomicUsize::new(0);
    let keep_record = |record: &FlatRecord<'_>| {
        let hits = engine.hits_record(record)?;
        flat_records.fetch_add(1, Ordering::Relaxed);
        Some(Some(hits))
    };
    let fr = FlatRead {
        fields: engine.fields(),
        map: Some(&keep_flat),
        record: Some(&keep_record),
    };
    let keep = |e, at: Option<LineAt<'_>>| Some(engine.hits_at(&e, at));
    let summary = if flat {
        read_paths_flat(
            &paths,
            &opts,
            None,
            Some(&fr),
            &keep,
            &mut |hits| collector.push(hits),
            &mut |s| skips.push(format!("{}: {}", s.origin, s.reason)),
        )
    } else {
        let keep = |e| Some(engine.hits(&e));
        read_paths_with(
            &paths,
            &opts,
            None,
            &keep,
            &mut |hits| collector.push(hits),
            &mut |s| skips.push(format!("{}: {}", s.origin, s.reason)),
        )
    };
    let out = collector.finish(&|_| {});
    (
        out,
        skips,
        summary.events,
        flat_lines.into_inner(),
        flat_records.into_inner(),
    )
}

#[test]
fn lines_read_into_slots_give_the_detections_of_whole_events() {
    let path = temp_file("same");
    write_events(&path);
    let engine = engine();
    let (whole, whole_skips, whole_events, none, _) = hunt(&engine, &path, false);
    let (flat, flat_skips, flat_events, flat_lines, _) = hunt(&engine, &path, true);
    let _ = std::fs::remove_file(&path);
    assert_eq!(none, 0);
    let want = summary(&whole, &whole_skips);
    for (what, needle) in [
        ("sequences", "0 "),
        ("the args rule", "2 "),
        ("the excepted rule", "3 "),
        ("a search hit", "process-hits"),
        ("a batch line's event", "batch2"),
        ("a dotted process name", "\"process.name\""),
    ] {
        assert!(
            want.iter().any(|d| d.contains(needle)),
            "the test needs {what} in alerts: {want:?}"
        );
    }
    assert!(
        !want
            .iter()
            .any(|d| d.starts_with("3 ") && d.contains("\"p3\"")),
        "the exception holds"
    );
    assert_eq!(whole_skips.len(), 40, "{whole_skips:?}");
    assert!(whole.warnings.is_empty() && flat.warnings.is_empty());
    assert_eq!(summary(&flat, &flat_skips), want);
    assert_eq!(flat_events, whole_events);
    assert_eq!(flat.detections.len(), whole.detections.len());
    // most lines are read into slots; search hits, batches, invalid lines
    // and the excepted rule's candidates are read whole
    assert!(
        flat_lines > 1500 && flat_lines < 1960,
        "{flat_lines} lines read into slots"
    );
}

#[test]
fn evtx_records_read_into_slots_give_the_detections_of_whole_events() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let samples = root.join("shared/datasets/evtx/attack-samples");
    let corpus = root.join("shared/corpora/elastic-detection-rules");
    if !samples.is_dir() || !corpus.is_dir() {
        eprintln!("skipping: ../shared not found");
        return;
    }
    let (rules, _) = harrier_rules::load_rules(&[corpus]);
    let engine = Engine::new(rules, EngineOptions::default());
    let (whole, whole_skips, whole_events, _, none) = hunt(&engine, &samples, false);
    let (flat, flat_skips, flat_events, _, flat_records) = hunt(&engine, &samples, true);
    assert_eq!(none, 0);
    assert!(
        whole.detections.len() > 100,
        "the test needs detections: {}",
        whole.detections.len()
    );
    assert_eq!(flat_events, whole_events);
    assert_eq!(summary(&flat, &flat_skips), summary(&whole, &whole_skips));
    // the records the template walk maps (most of them) are read in place
    assert!(
        flat_records as u64 * 10 > whole_events * 9,
        "{flat_records} of {whole_events} records read into slots"
    );
}
