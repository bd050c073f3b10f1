//! Per-event cost of reading NDJSON events: bare sonic-rs parsing (a full
//! `sonic_rs::Value`, and a validating skip), a full `serde_json::Value`
//! parse, and [`parse_projected`] keeping a small projection (the fields of
//! the bundled rules) and a large one (the ~300 fields the Elastic rules'
//! queries name most, plus every field the input's events carry).
//!
//! Input: the NDJSON file named by `HARRIER_BENCH_NDJSON` (its first
//! `HARRIER_BENCH_LINES` lines, default 20,000), e.g. events made by an ECS
//! event generator; when unset, a few thousand ECS-shaped lines generated
//! here. Figures are per line (criterion's throughput is lines).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use harrier_event::projection::{parse_projected, FieldTree, Projection};
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

fn bench(c: &mut Criterion) {
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
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
