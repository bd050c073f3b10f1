//! Throughput probe for `bench/sources.sh`: reads inputs several times and
//! prints `records`, `seconds` and `records/s` as one JSON line.
//!
//! ```text
//! throughput evtx-harrier REPEAT PATH...   EVTX → ECS documents (read_paths)
//! throughput evtx-flat    REPEAT PATH...   EVTX → ECS through read_paths_flat: records
//!                                          mapped without a serde_json map, their
//!                                          PACK_FIELDS values read in place, as hunt does
//! throughput evtx-json    REPEAT PATH...   the evtx crate's own JSON rendering only
//! throughput ndjson-harrier REPEAT FILE    NDJSON through read_paths
//! throughput ndjson-serde   REPEAT FILE    each line parsed with serde_json::Value
//! throughput ndjson-flat    REPEAT FILE [FIELDS_FILE]
//!                           NDJSON through read_paths_flat: plain lines read
//!                           straight into the fields' slots (FlatDoc), as hunt does
//! throughput ndjson-sonic   REPEAT FILE [FIELDS_FILE]
//!                           sonic-rs lazy field lookup (get_many) of the fields
//!                           on each line, on as many threads as read_paths_flat
//! ```
//! The fields of ndjson-flat and ndjson-sonic are those the bundled rules
//! read (the bench `ndjson_parse`'s PACK_FIELDS), or one path a line from
//! FIELDS_FILE. ndjson-sonic looks nested keys up only (a dotted key such as
//! `"event.category": …` is not found); it is the baseline of issue #3.
//! With THROUGHPUT_VERBOSE set, both also say on stderr what they found.
//! THROUGHPUT_THREADS=N sets their worker threads (default: one per core
//! allowed). The flat route needs the parallel reader, which a single worker
//! does not use: under `taskset -c 0`, ndjson-flat with the default reads
//! every line whole; with THROUGHPUT_THREADS=2 it measures FlatDoc on one
//! core.
//!
//! EVTX decoding, ndjson-harrier, ndjson-flat and ndjson-sonic use every core
//! they are allowed (run under `taskset -c 0` for one); ndjson-serde one.
//! The allocator is the `harrier` binary's (mimalloc), so that the figures are
//! what `harrier` pays; both modes use it alike.
use harrier_event::{FieldIndex, FieldPath, SlotValues};
use harrier_sources::{read_paths, read_paths_flat, FlatLine, FlatRead, FlatRecord, ReadOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
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

/// The fields the bundled rules (`rules/`) read: the bench `ndjson_parse`'s
/// PACK_FIELDS.
const PACK_FIELDS: &[&str] = &[
    "@timestamp",
    "event.category",
    "event.type",
    "host.os.type",
    "process.entity_id",
    "process.name",
    "process.args",
    "process.parent.name",
    "process.parent.executable",
    "network.direction",
    "network.transport",
    "source.ip",
    "source.port",
    "destination.port",
];

/// The PACK_FIELDS, or the paths of a file of one path a line.
fn fields(file: Option<&String>) -> Vec<String> {
    let Some(file) = file else {
        return PACK_FIELDS.iter().map(|f| f.to_string()).collect();
    };
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| {
        eprintln!("{file}: {e}");
        std::process::exit(2);
    });
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// ndjson-flat and evtx-flat: inputs read by `read_paths_flat`, each plain
/// NDJSON line scanned for `fields` only and each walked EVTX record mapped
/// without a `serde_json` map, their values counted in place; what the flat
/// route does not take (none of an ECS file; EVTX records the template walk
/// leaves) is read whole and counted as one value. Gives the events read.
fn flat(mode: &str, paths: &[PathBuf], fields: &[String]) -> u64 {
    let fields: Vec<FieldPath> = fields.iter().map(|f| FieldPath::new(f)).collect();
    let index = FieldIndex::new(&fields);
    let in_place = AtomicU64::new(0);
    let count = |doc: &dyn SlotValues| {
        let mut n = 0u64;
        doc.each_slot_value(&mut |_, _| n += 1);
        in_place.fetch_add(1, Ordering::Relaxed);
        Some(Some(n))
    };
    let fr = FlatRead {
        fields: &index,
        map: Some(&|line: &FlatLine<'_>| count(line.doc)),
        record: Some(&|record: &FlatRecord<'_>| count(record.doc)),
    };
    let mut values = 0u64;
    let opts = ReadOptions {
        threads: threads(),
        ..ReadOptions::default()
    };
    let summary = read_paths_flat(
        paths,
        &opts,
        None,
        Some(&fr),
        &|_, _| Some(1),
        &mut |n| values += n,
        &mut |_| {},
    );
    verbose(format_args!(
        "{mode}: {} events, {} read straight into {} slots, {values} values",
        summary.events,
        in_place.into_inner(),
        index.len()
    ));
    summary.events
}

/// ndjson-sonic: the file read in blocks cut at line ends, as the parallel
/// NDJSON reader does, and each line's `fields` looked up by one
/// `sonic_rs::get_many` call on as many threads as that reader uses. Gives
/// the lines looked up without error.
fn sonic(path: &Path, fields: &[String]) -> u64 {
    let mut tree = sonic_rs::PointerTree::new();
    for f in fields {
        tree.add_path(f.split('.').collect::<Vec<_>>());
    }
    let workers = match threads() {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let Ok(mut file) = std::fs::File::open(path) else {
        eprintln!("cannot open {}", path.display());
        std::process::exit(2);
    };
    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(workers * 2);
    let rx = Mutex::new(rx);
    let (lines, values) = (AtomicU64::new(0), AtomicU64::new(0));
    std::thread::scope(|s| {
        for _ in 0..workers {
            let (rx, tree, lines, values) = (&rx, &tree, &lines, &values);
            s.spawn(move || loop {
                let Ok(block) = rx.lock().expect("block queue").recv() else {
                    return;
                };
                let (mut l, mut v) = (0, 0);
                for line in block.split(|&b| b == b'\n') {
                    if line.is_empty() {
                        continue;
                    }
                    if let Ok(found) = sonic_rs::get_many(line, tree) {
                        l += 1;
                        v += found.iter().flatten().count() as u64;
                    }
                }
                lines.fetch_add(l, Ordering::Relaxed);
                values.fetch_add(v, Ordering::Relaxed);
            });
        }
        // blocks of about a megabyte, each ending at a line end
        let mut carry = Vec::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf).expect("read the NDJSON file");
            if n == 0 {
                break;
            }
            carry.extend_from_slice(&buf[..n]);
            if let Some(end) = memchr::memrchr(b'\n', &carry) {
                let rest = carry.split_off(end + 1);
                tx.send(std::mem::replace(&mut carry, rest))
                    .expect("workers alive");
            }
        }
        if !carry.is_empty() {
            tx.send(carry).expect("workers alive");
        }
        drop(tx);
    });
    verbose(format_args!(
        "ndjson-sonic: {} lines, {} of {} paths found a line on average",
        lines.load(Ordering::Relaxed),
        values.load(Ordering::Relaxed) as f64 / lines.load(Ordering::Relaxed).max(1) as f64,
        tree.size()
    ));
    lines.into_inner()
}

/// THROUGHPUT_THREADS, or 0: one per core.
fn threads() -> usize {
    std::env::var("THROUGHPUT_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A detail on stderr, with THROUGHPUT_VERBOSE set.
fn verbose(detail: std::fmt::Arguments<'_>) {
    if std::env::var_os("THROUGHPUT_VERBOSE").is_some() {
        eprintln!("{detail}");
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
    let mut paths: Vec<PathBuf> = args[2..].iter().map(PathBuf::from).collect();
    let mut field_list = Vec::new();
    if mode == "ndjson-flat" || mode == "ndjson-sonic" {
        if paths.is_empty() || paths.len() > 2 {
            eprintln!("usage: throughput {mode} REPEAT FILE [FIELDS_FILE]");
            std::process::exit(2);
        }
        field_list = fields(args.get(3));
        paths.truncate(1);
    }
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
            "ndjson-flat" => records += flat(mode, &paths, &field_list),
            "evtx-flat" => records += flat(mode, &paths, &fields(None)),
            "ndjson-sonic" => records += sonic(&paths[0], &field_list),
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
