//! Full `serde_json::Value` parsing against projected parsing of the same
//! ECS-shaped NDJSON lines (generated here), keeping the fields a typical
//! rule set reads.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use harrier_event::projection::{parse_projected, FieldTree, Projection};
use serde_json::json;

fn lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            json!({
                "@timestamp": "2024-05-06T08:00:00.123Z",
                "agent": {"id": "5c5b0d4e-2a35-4e5c-9a1e-1c3f1f0c8d2e", "type": "endpoint", "version": "8.13.2"},
                "data_stream": {"dataset": "endpoint.events.process", "namespace": "default", "type": "logs"},
                "ecs": {"version": "8.11.0"},
                "event": {"category": ["process"], "type": ["start"], "action": "start", "id": format!("evt-{i}"), "kind": "event", "module": "endpoint"},
                "host": {"id": format!("host-{}", i % 50), "name": format!("ws-{}", i % 50), "os": {"type": "windows", "family": "windows", "name": "Windows 10 Enterprise", "version": "10.0"}},
                "process": {"name": "svchost.exe", "pid": 1000 + i, "entity_id": format!("{{proc-{i}}}"), "executable": "C:\\Windows\\System32\\svchost.exe",
                            "args": ["C:\\Windows\\System32\\svchost.exe", "-k", "netsvcs"], "command_line": "C:\\Windows\\System32\\svchost.exe -k netsvcs",
                            "parent": {"name": "services.exe", "pid": 700, "entity_id": "{proc-parent}", "executable": "C:\\Windows\\System32\\services.exe"},
                            "hash": {"sha256": "8ac4a7a4bb4e5c1d9a4d1d4f3c0f2c9a4e8b5b0c5b1e0f9d1c2a3b4c5d6e7f80"}},
                "user": {"name": "SYSTEM", "domain": "NT AUTHORITY", "id": "S-1-5-18"}
            })
            .to_string()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let input = lines(10_000);
    let mut tree = FieldTree::new();
    for p in [
        "@timestamp",
        "event.category",
        "event.type",
        "host.os.type",
        "host.id",
        "process.name",
        "process.args",
        "process.entity_id",
        "process.parent.name",
        "data_stream.dataset",
    ] {
        tree.insert(p);
    }
    let mut g = c.benchmark_group("ndjson");
    g.throughput(Throughput::Elements(input.len() as u64));
    g.bench_function("serde_json::Value", |b| {
        b.iter(|| {
            input
                .iter()
                .map(|l| {
                    serde_json::from_str::<serde_json::Value>(black_box(l))
                        .map(|_| 1)
                        .unwrap_or(0)
                })
                .sum::<usize>()
        })
    });
    g.bench_function("projected/walk", |b| {
        b.iter(|| {
            input
                .iter()
                .map(|l| {
                    parse_projected(black_box(l.as_bytes()), &tree)
                        .map(|m| m.len())
                        .unwrap_or(0)
                })
                .sum::<usize>()
        })
    });
    let fast = Projection::new(tree.clone());
    let walks = input.iter().filter(|l| fast.needs_walk(l)).count();
    eprintln!(
        "documents needing the exact walk: {walks} of {}",
        input.len()
    );
    g.bench_function("projected/fast", |b| {
        b.iter(|| {
            input
                .iter()
                .map(|l| {
                    fast.parse(black_box(l.as_bytes()))
                        .map(|m| m.len())
                        .unwrap_or(0)
                })
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
