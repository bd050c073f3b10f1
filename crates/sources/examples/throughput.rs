//! Throughput probe for `bench/sources.sh`: reads inputs several times and
//! prints `records`, `seconds` and `records/s` as one JSON line.
//!
//! ```text
//! throughput evtx-harrier REPEAT PATH...   EVTX → ECS documents (read_paths)
//! throughput evtx-json    REPEAT PATH...   the evtx crate's own JSON rendering only
//! throughput ndjson-harrier REPEAT FILE    NDJSON through read_paths
//! throughput ndjson-serde   REPEAT FILE    each line parsed with serde_json::Value
//! ```
//! EVTX decoding uses every core it is allowed (run under `taskset -c 0` for one).
//! The allocator is the `harrier` binary's (mimalloc), so that the figures are
//! what `harrier` pays; both modes use it alike.
use harrier_sources::{read_paths, ReadOptions};
use std::path::{Path, PathBuf};
use std::time::Instant;

// As in `crates/cli/src/main.rs`: measure with the allocator the product uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn evtx_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            evtx_files(&e, out);
        }
    } else if path
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("evtx"))
    {
        out.push(path.to_path_buf());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(repeat)) = (
        args.first(),
        args.get(1).and_then(|r| r.parse::<u32>().ok()),
    ) else {
        eprintln!("usage: throughput MODE REPEAT PATH...");
        std::process::exit(2);
    };
    let paths: Vec<PathBuf> = args[2..].iter().map(PathBuf::from).collect();
    let start = Instant::now();
    let mut records = 0u64;
    for _ in 0..repeat {
        match mode.as_str() {
            "evtx-harrier" | "ndjson-harrier" => {
                let s = read_paths(&paths, &ReadOptions::default(), &mut |_| {}, &mut |_| {});
                records += s.events;
            }
            "evtx-json" => {
                let mut files = Vec::new();
                for p in &paths {
                    evtx_files(p, &mut files);
                }
                for f in files {
                    let Ok(parser) = evtx::EvtxParser::from_path(&f) else {
                        continue;
                    };
                    let settings = evtx::ParserSettings::new()
                        .num_threads(0)
                        .indent(false)
                        .separate_json_attributes(false);
                    let mut parser = parser.with_configuration(settings);
                    records += parser.records_json().filter(Result::is_ok).count() as u64;
                }
            }
            "ndjson-serde" => {
                for p in &paths {
                    let Ok(bytes) = std::fs::read(p) else {
                        continue;
                    };
                    for line in bytes.split(|&b| b == b'\n') {
                        if serde_json::from_slice::<serde_json::Value>(line).is_ok() {
                            records += 1;
                        }
                    }
                }
            }
            other => {
                eprintln!("unknown mode {other}");
                std::process::exit(2);
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"mode\":\"{mode}\",\"records\":{records},\"seconds\":{secs:.3},\"records_per_s\":{:.0}}}",
        records as f64 / secs
    );
}
