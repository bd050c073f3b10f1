//! Per-event cost of reading NDJSON events: bare sonic-rs parsing (a full
//! `sonic_rs::Value`, and a validating skip), a full `serde_json::Value`
//! parse, and [`parse_projected`] keeping a small projection (the fields of
//! the bundled rules) and a large one (the ~300 fields the Elastic rules'
//! queries name most, plus every field the input's events carry).
//!
//! Against those, the two ways of reading only some fields of each line:
//! [`FlatDoc::parse`] (what `harrier hunt` does with plain NDJSON lines)
//! with the same two field sets, and sonic-rs's lazy field lookup
//! (`sonic_rs::get_many`, one call a line for all the paths), the baseline
//! the project's issue #3 names.
//!
//! Input: the NDJSON file named by `HARRIER_BENCH_NDJSON` (its first
//! `HARRIER_BENCH_LINES` lines, default 20,000), e.g. events made by an ECS
//! event generator; when unset, a few thousand ECS-shaped lines generated
//! here. Figures are per line (criterion's throughput is lines).
//!
//! With `HARRIER_BENCH_CPU` set (Linux), criterion measures the CPU time of
//! the benchmark's thread instead of wall time: on a shared, busy machine
//! wall times stretch with the time the thread waits for a core, CPU time
//! much less.

use criterion::measurement::Measurement;
use criterion::{black_box, Criterion, Throughput};
use harrier_event::projection::{parse_projected, FieldTree, Projection};
use harrier_event::{FieldIndex, FieldPath, FlatDoc, SlotValues};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

/// Field paths the most Elastic detection rules' queries name (extracted
/// from the rules' query texts, most frequent first).
const RULE_FIELDS: &str = include_str!("elastic-rule-fields.txt");

/// The fields the bundled rules (`rules/`) read.
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

/// The top-level keys the hunt reader captures whole to recognise a line's
/// shape (a copy of `SHAPE_KEYS` in crates/sources/src/json.rs).
const SHAPE_KEYS: &[&str] = &[
    "records",
    "Results",
    "results",
    "Schema",
    "schema",
    "tables",
    "hits",
    "_source",
    "Event",
    "properties",
    "TimeGenerated",
    "data_stream",
    "data_stream.type",
    "data_stream.dataset",
    "data_stream.namespace",
];

fn generated(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            json!({
                "@timestamp": "2024-05-06T08:00:00.123Z",
                "agent": {"id": "5c5b0d4e-2a35-4e5c-9a1e-1c3f1f0c8d2e", "type": "endpoint", "version": "8.13.2"},
                "data_stream": {"dataset": "endpoint.events.process", "namespace": "default", "type": "logs"},
                "ecs": {"version": "8.11.0"},
                "event": {"category": ["process"], "type": ["start"], "action": "start", "id": format!("evt-{i}"), "kind": "event", "module": "endpoint"},
                "host": {"id": format!("host-{}", i % 50), "name": format!("ws-{}", i % 50), "ip": ["10.0.0.1", "fe80::1"], "os": {"type": "windows", "family": "windows", "name": "Windows 10 Enterprise", "version": "10.0"}},
                "process": {"name": "svchost.exe", "pid": 1000 + i, "entity_id": format!("{{proc-{i}}}"), "executable": "C:\\Windows\\System32\\svchost.exe",
                            "args": ["C:\\Windows\\System32\\svchost.exe", "-k", "netsvcs"], "args_count": 3, "command_line": "C:\\Windows\\System32\\svchost.exe -k netsvcs",
                            "parent": {"name": "services.exe", "pid": 700, "entity_id": "{proc-parent}", "executable": "C:\\Windows\\System32\\services.exe"},
                            "code_signature": {"trusted": true, "subject_name": "Microsoft Windows", "status": "trusted"},
                            "hash": {"md5": "5f1a3ee1ba5b0a2c1fb7e5e3cf21ab12", "sha256": "8ac4a7a4bb4e5c1d9a4d1d4f3c0f2c9a4e8b5b0c5b1e0f9d1c2a3b4c5d6e7f80"}},
                "user": {"name": "SYSTEM", "domain": "NT AUTHORITY", "id": "S-1-5-18"}
            })
            .to_string()
        })
        .collect()
}

fn input() -> Vec<String> {
    let Ok(path) = std::env::var("HARRIER_BENCH_NDJSON") else {
        eprintln!("HARRIER_BENCH_NDJSON unset: using 5,000 generated ECS-shaped lines");
        return generated(5_000);
    };
    let limit = std::env::var("HARRIER_BENCH_LINES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("HARRIER_BENCH_NDJSON={path}: {e}"));
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(limit)
        .map(str::to_string)
        .collect();
    let bytes: usize = lines.iter().map(String::len).sum();
    eprintln!(
        "{} lines from {path}, {} bytes a line on average",
        lines.len(),
        bytes / lines.len().max(1)
    );
    lines
}

/// Every path to a scalar in the documents (arrays are transparent).
fn leaf_paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaf_paths(x, &p, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| leaf_paths(x, prefix, out)),
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

fn bench<M: Measurement>(c: &mut Criterion<M>) {
    let lines = input();
    let small: BTreeSet<String> = PACK_FIELDS.iter().map(|s| s.to_string()).collect();
    let mut large: BTreeSet<String> = RULE_FIELDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let from_rules = large.len();
    for l in &lines {
        if let Ok(v) = serde_json::from_str::<Value>(l) {
            leaf_paths(&v, "", &mut large);
        }
    }
    eprintln!(
        "small projection: {} paths; large: {} paths ({from_rules} from rules, the rest from the input)",
        small.len(),
        large.len()
    );
    let projection = |paths: &BTreeSet<String>| {
        let mut t = FieldTree::new();
        paths.iter().for_each(|p| t.insert(p));
        Projection::new(t)
    };
    // the same two field sets as FlatDoc indexes and sonic-rs pointer trees
    let field_index = |paths: &BTreeSet<String>| {
        let paths: Vec<FieldPath> = paths.iter().map(|p| FieldPath::new(p)).collect();
        FieldIndex::new(&paths)
    };
    let (small_index, large_index) = (field_index(&small), field_index(&large));
    // sonic-rs fails a whole `get_many` call when a path steps into a
    // scalar (`process.name.caseless` where `process.name` is a string), so
    // its trees leave out the paths that extend another path of the set
    // (FlatDoc keeps them all: they simply find nothing)
    let pointer_tree = |paths: &BTreeSet<String>| {
        let mut t = sonic_rs::PointerTree::new();
        paths
            .iter()
            .filter(|p| {
                !paths.iter().any(|q| {
                    p.strip_prefix(q.as_str())
                        .is_some_and(|r| r.starts_with('.'))
                })
            })
            .for_each(|p| t.add_path(p.split('.').collect::<Vec<_>>()));
        t
    };
    let (small_tree, large_tree) = (pointer_tree(&small), pointer_tree(&large));
    let (small, large) = (projection(&small), projection(&large));
    for (name, p) in [("small", &small), ("large", &large)] {
        let ok = lines
            .iter()
            .filter(|l| p.parse(l.as_bytes()).is_ok())
            .count();
        let kept: usize = lines
            .iter()
            .filter_map(|l| parse_projected(l.as_bytes(), p.tree()).ok())
            .map(|m| Value::Object(m).to_string().len())
            .sum();
        eprintln!(
            "{name}: {ok} of {} lines parse; kept {} bytes of JSON a line on average",
            lines.len(),
            kept / lines.len().max(1)
        );
    }
    for (name, index, tree) in [
        ("small", &small_index, &small_tree),
        ("large", &large_index, &large_tree),
    ] {
        let flat: Vec<usize> = lines
            .iter()
            .filter_map(|l| FlatDoc::parse(l.as_bytes(), index, &[]).ok())
            .map(|d| slot_values(&d))
            .collect();
        let lazy: Vec<usize> = lines
            .iter()
            .filter_map(|l| sonic_rs::get_many(l.as_str(), tree).ok())
            .map(|v| v.iter().flatten().count())
            .collect();
        eprintln!(
            "{name}: FlatDoc reads {} of {} lines, {:.1} values a line; \
             sonic_rs::get_many reads {} lines, finds {:.1} of {} paths a line",
            flat.len(),
            lines.len(),
            flat.iter().sum::<usize>() as f64 / flat.len().max(1) as f64,
            lazy.len(),
            lazy.iter().sum::<usize>() as f64 / lazy.len().max(1) as f64,
            tree.size(),
        );
        if let Some(e) = lines
            .iter()
            .find_map(|l| sonic_rs::get_many(l.as_str(), tree).err())
        {
            eprintln!("{name}: sonic_rs::get_many fails on some lines: {e}");
        }
    }

    let mut g = c.benchmark_group("ndjson_parse");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g.bench_function("sonic_rs::Value", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| sonic_rs::from_str::<sonic_rs::Value>(black_box(l)).is_ok())
                .count()
        })
    });
    g.bench_function("sonic_rs::skip", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| sonic_rs::from_str::<serde::de::IgnoredAny>(black_box(l)).is_ok())
                .count()
        })
    });
    g.bench_function("serde_json::Value", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| serde_json::from_str::<Value>(black_box(l)).is_ok())
                .count()
        })
    });
    for (name, p) in [("projected/small", &small), ("projected/large", &large)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                lines
                    .iter()
                    .map(|l| p.parse(black_box(l.as_bytes())).map_or(0, |m| m.len()))
                    .sum::<usize>()
            })
        });
    }
    // FlatDoc: one scan of the line keeping the scalars under the indexed
    // fields (each string value allocated, as `serde_json::Value`s), then
    // every kept value visited, as the rules' matching would. No top-level
    // keys are captured, except in the "+capture" case: there, as the hunt
    // reader does, the keys that tell a document's shape are kept whole
    // (an ECS event's `data_stream` object, as a `serde_json::Map`).
    // `bench/sources.sh` (ndjson-flat) measures the whole reader.
    for (name, index, capture) in [
        ("flatdoc/small", &small_index, &[][..]),
        ("flatdoc/small+capture", &small_index, SHAPE_KEYS),
        ("flatdoc/large", &large_index, &[][..]),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                lines
                    .iter()
                    .map(|l| {
                        FlatDoc::parse(black_box(l.as_bytes()), index, capture)
                            .map_or(0, |d| slot_values(&d))
                    })
                    .sum::<usize>()
            })
        });
    }
    // sonic-rs lazy field lookup: one `get_many` call a line walks the text
    // once with a tree of all the paths, validating what it skips, and gives
    // each found path's raw JSON text (not decoded: a string stays escaped,
    // an array stays one value). It stops scanning once every path is found.
    // The paths are nested keys only: ECS documents may also spell a field
    // as a dotted key ("event.category": ...), which FlatDoc finds and this
    // does not; for this baseline, nested paths are enough (the generated
    // events use nested objects only).
    for (name, tree) in [
        ("sonic_rs::get_many/small", &small_tree),
        ("sonic_rs::get_many/large", &large_tree),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                lines
                    .iter()
                    .map(|l| {
                        sonic_rs::get_many(black_box(l.as_str()), tree)
                            .map_or(0, |v| v.iter().flatten().count())
                    })
                    .sum::<usize>()
            })
        });
    }
    // The same lookup, then each found value decoded into a
    // `serde_json::Value` (strings unescaped and allocated, arrays built):
    // what FlatDoc hands on, for a like-for-like comparison.
    g.bench_function("sonic_rs::get_many+decode/small", |b| {
        b.iter(|| {
            lines
                .iter()
                .map(|l| {
                    sonic_rs::get_many(black_box(l.as_str()), &small_tree).map_or(0, |v| {
                        v.iter()
                            .flatten()
                            .filter(|lv| serde_json::from_str::<Value>(lv.as_raw_str()).is_ok())
                            .count()
                    })
                })
                .sum::<usize>()
        })
    });
    g.finish();
}

/// Visits every value a [`FlatDoc`] kept; their number.
fn slot_values(doc: &FlatDoc<'_>) -> usize {
    let mut n = 0;
    doc.each_slot_value(&mut |_, v| {
        black_box(v);
        n += 1;
    });
    n
}

/// CPU time of the calling thread (the benchmark runs on one thread).
#[cfg(target_os = "linux")]
struct ThreadCpu;

#[cfg(target_os = "linux")]
impl ThreadCpu {
    fn now() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid timespec for the call to write.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
}

#[cfg(target_os = "linux")]
impl Measurement for ThreadCpu {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        ThreadCpu::now()
    }
    fn end(&self, start: Duration) -> Duration {
        ThreadCpu::now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, d: &Duration) -> f64 {
        d.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn criterion::measurement::ValueFormatter {
        // durations are shown as wall times are
        static WALL: criterion::measurement::WallTime = criterion::measurement::WallTime;
        WALL.formatter()
    }
}

fn main() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("HARRIER_BENCH_CPU").is_some() {
        let mut c = Criterion::default()
            .with_measurement(ThreadCpu)
            .configure_from_args();
        bench(&mut c);
        c.final_summary();
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
