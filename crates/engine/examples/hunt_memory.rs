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
use harrier_sources::{read_paths_at, LineAt, LineFilter, ReadOptions};
use std::path::PathBuf;

/// glibc's `struct mallinfo2`.
#[repr(C)]
#[derive(Default)]
struct MallInfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

extern "C" {
    fn mallinfo2() -> MallInfo2;
}

/// Resident memory and what the allocator has handed out, in MB.
fn memory(when: &str) {
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.trim_start_matches("VmRSS:").trim().to_owned())
        })
        .unwrap_or_default();
    // SAFETY: mallinfo2 only reads the allocator's counters
    let m = unsafe { mallinfo2() };
    eprintln!(
        "{when}: rss {rss}; allocated {} MB in arenas + {} MB mapped, {} MB free in arenas",
        m.uordblks >> 20,
        m.hblkhd >> 20,
        m.fordblks >> 20
    );
}

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
    memory("rules loaded");
    let raw = RawFilter::new(engine.literal_values());
    let filter = |line: &[u8]| raw.may_match(line);
    let keep = |e, at: Option<LineAt<'_>>| {
        let hits = engine.hits_at(&e, at);
        (!hits.is_empty()).then_some(hits)
    };
    let mut collector = Collector::new(&engine);
    let summary = read_paths_at(
        &[PathBuf::from(events)],
        &ReadOptions::default(),
        (!raw.keeps_everything()).then_some(&filter as &LineFilter<'_>),
        &keep,
        &mut |hits| collector.push(hits),
        &mut |_| {},
    );
    eprintln!("{summary:?}");
    memory("events read");
    let stats = collector.stats();
    eprintln!("{stats:?}");
    for &(r, n) in &stats.largest {
        eprintln!("  {n} facts: {}", engine.rules()[r].rule.name);
    }
    let out = collector.finish(&|_| {});
    memory("rules run");
    eprintln!("{} detections", out.detections.len());
}
