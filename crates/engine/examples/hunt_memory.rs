//! Where a hunt's memory goes, under a heap profiler.
//!
//! The `harrier` binary uses mimalloc, which heap profilers cannot see into;
//! this example runs the same steps as `harrier hunt` (load rules, build the
//! engine, read events through the raw prefilter, collect facts, run the
//! rules) with the system allocator and prints what the collector keeps.
//!
//! ```sh
//! cargo build --release -p harrier-engine --example hunt_memory
//! heaptrack target/release/examples/hunt_memory RULES_DIR EVENTS.ndjson
//! ```

use harrier_engine::collect::Collector;
use harrier_engine::raw::RawFilter;
use harrier_engine::{Engine, EngineOptions};
use harrier_sources::{read_paths_with, LineFilter, ReadOptions};
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [rules, events] = args.as_slice() else {
        eprintln!("usage: hunt_memory RULES_PATH EVENTS_PATH");
        std::process::exit(2);
    };
    let (rules, problems) = harrier_rules::load_rules(&[rules]);
    let engine = Engine::new(rules, EngineOptions::default());
    eprintln!(
        "{} rules ({} problems, {} do not compile)",
        engine.rules().len(),
        problems.len(),
        engine.errors().len()
    );
    let raw = RawFilter::new(engine.literal_values());
    let filter = |line: &[u8]| raw.may_match(line);
    let keep = |e| {
        let hits = engine.hits(&e);
        (!hits.is_empty()).then_some(hits)
    };
    let mut collector = Collector::new(&engine);
    let summary = read_paths_with(
        &[PathBuf::from(events)],
        &ReadOptions::default(),
        (!raw.keeps_everything()).then_some(&filter as &LineFilter<'_>),
        &keep,
        &mut |hits| collector.push(hits),
        &mut |_| {},
    );
    eprintln!("{summary:?}");
    eprintln!("{:?}", collector.stats());
    let out = collector.finish(&|_| {});
    eprintln!("{} detections", out.detections.len());
}
