//! The property the `projected_parse` fuzz target checks, shared with the
//! stable test `crates/event/tests/projected_parse_corpus.rs`, which runs it
//! over the seeds in `fuzz/seeds/projected_parse/` and any local corpus.
//!
//! Input: an optional first line of comma-separated field paths (else a
//! fixed set), then a JSON text. `parse_projected` must accept exactly what
//! `serde_json` accepts as an object, and every named path must look up the
//! same values in the projection as in the full document.

use harrier_event::projection::{parse_projected, FieldTree};
use harrier_event::{lookup, FieldPath, Value};

const DEFAULT_PATHS: &[&str] = &["a", "a.b", "b.c.d", "process.name", "process.args"];

pub fn check(data: &[u8]) {
    let (paths, json): (Vec<String>, &[u8]) = match data.iter().position(|&b| b == b'\n') {
        Some(nl) if nl > 0 && data[0] != b'{' => {
            let Ok(head) = std::str::from_utf8(&data[..nl]) else {
                return;
            };
            let paths = head
                .split(',')
                .filter(|p| !p.is_empty())
                .take(8)
                .map(str::to_string)
                .collect();
            (paths, &data[nl + 1..])
        }
        _ => (DEFAULT_PATHS.iter().map(|p| p.to_string()).collect(), data),
    };
    let mut tree = FieldTree::new();
    for p in &paths {
        tree.insert(p);
    }
    let projected = parse_projected(json, &tree);
    match serde_json::from_slice::<Value>(json) {
        Ok(Value::Object(full)) => {
            let projected = match projected {
                Ok(p) => p,
                Err(e) => panic!("serde_json accepts, projection rejects: {e}"),
            };
            for p in &paths {
                let path = FieldPath::new(p);
                let (mut want, mut got) = (Vec::new(), Vec::new());
                lookup(&full, &path, &mut want);
                lookup(&projected, &path, &mut got);
                assert_eq!(got, want, "path {p}");
            }
        }
        Ok(_) => assert!(projected.is_err(), "projection accepts a non-object"),
        Err(e) => assert!(
            projected.is_err(),
            "serde_json rejects ({e}), projection accepts"
        ),
    }
}
