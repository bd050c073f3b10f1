//! Helpers shared by the integration tests.
#![allow(dead_code)]

use harrier_event::Event;
use harrier_sources::{read_paths, ReadOptions, Skip, Summary};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The shared data folder (`../shared` beside the repository), if present.
pub fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: ../shared not found");
        None
    }
}

/// Reads `paths` and collects everything.
pub fn read_all(paths: &[PathBuf]) -> (Vec<Event>, Vec<Skip>, Summary) {
    let mut events = Vec::new();
    let mut skips = Vec::new();
    let summary = read_paths(
        paths,
        &ReadOptions::default(),
        &mut |e| events.push(e),
        &mut |s| skips.push(s),
    );
    (events, skips, summary)
}

/// Leaf values of a document by dotted path; arrays are leaves.
pub fn flatten(doc: &Map<String, Value>) -> BTreeMap<String, Value> {
    fn walk(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
        match v {
            Value::Object(o) => {
                for (k, v) in o {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&p, v, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    for (k, v) in doc {
        walk(k, v, &mut out);
    }
    out
}
