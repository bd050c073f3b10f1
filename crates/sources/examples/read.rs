//! Reads the given paths with `read_paths` and prints each event as one JSON
//! line (`{"index":..,"origin":..,"source":..}`), skips on stderr, and the
//! summary at the end (a debugging aid).
use harrier_sources::{read_paths, ReadOptions};
use std::path::PathBuf;

fn main() {
    let paths: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let summary = read_paths(
        &paths,
        &ReadOptions::default(),
        &mut |e| {
            let line = serde_json::json!({
                "index": &*e.index,
                "origin": e.origin.to_string(),
                "source": e.source,
            });
            println!("{line}");
        },
        &mut |s| eprintln!("skip {}: {}", s.origin, s.reason),
    );
    eprintln!("{summary:?}");
}
