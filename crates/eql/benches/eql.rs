//! Single-event predicate evaluation and the sequence engine, on ECS-shaped
//! events generated here (no input files needed).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use harrier_eql::exec::{self, Limits, OrderFields};
use harrier_eql::plan::PlanKind;
use harrier_eql::schema::Schema;
use harrier_eql::{eval, parse, Analyzer, Settings};
use harrier_event::{Event, Locator, Origin};
use serde_json::json;
use std::sync::Arc;

const NAMES: [&str; 8] = [
    "svchost.exe",
    "explorer.exe",
    "chrome.exe",
    "mshta.exe",
    "powershell.exe",
    "cmd.exe",
    "lsass.exe",
    "winword.exe",
];

fn events(n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| {
            let name = NAMES[i % NAMES.len()];
            let pid = 1000 + (i / 2) % 5000;
            let doc = if i % 2 == 0 {
                json!({"@timestamp": 1_700_000_000_000i64 + i as i64, "event": {"category": ["process"], "type": ["start"]},
                       "host": {"id": format!("h{}", i % 50), "os": {"type": "windows"}},
                       "process": {"name": name, "entity_id": format!("{{{pid}}}"), "args": [name, "-Embedding"],
                                   "command_line": format!("C:\\Windows\\System32\\{name} -Embedding")}})
            } else {
                json!({"@timestamp": 1_700_000_000_000i64 + i as i64, "event": {"category": ["network"], "type": ["start"]},
                       "host": {"id": format!("h{}", i % 50), "os": {"type": "windows"}},
                       "network": {"direction": "ingress", "transport": "tcp"},
                       "source": {"ip": "10.0.2.17", "port": 55683}, "destination": {"port": 49168},
                       "process": {"name": name, "entity_id": format!("{{{pid}}}")}})
            };
            let serde_json::Value::Object(source) = doc else { unreachable!() };
            Event {
                source,
                index: Arc::from("logs-endpoint.events.process-default"),
                id: None,
                origin: Origin { file: Arc::from("bench"), locator: Locator::Line(i as u64 + 1) },
            }
        })
        .collect()
}

const DCOM: &str = r#"sequence with maxspan=1m
  [process where host.os.type == "windows" and event.type == "start" and
   process.name : "mshta.exe" and process.args : "-Embedding"] by host.id, process.entity_id
  [network where host.os.type == "windows" and event.type == "start" and process.name : "mshta.exe" and
   network.direction : ("incoming", "ingress") and network.transport == "tcp" and
   source.port > 49151 and destination.port > 49151 and source.ip != "127.0.0.1" and source.ip != "::1"] by host.id, process.entity_id"#;

fn bench(c: &mut Criterion) {
    let evs = events(20_000);
    let schema = Schema::ecs();
    let analyzer = Analyzer::new(&schema, Settings::default());
    let plan = analyzer
        .plan(&parse(DCOM).expect("parses"))
        .expect("analyzes");
    let PlanKind::Sequence { stages, .. } = &plan.kind else {
        unreachable!()
    };
    let filter = stages[0].filter.clone();

    let mut g = c.benchmark_group("eql");
    g.throughput(Throughput::Elements(evs.len() as u64));
    g.bench_function("predicate/dcom-step-1", |b| {
        b.iter(|| {
            evs.iter()
                .filter(|e| eval::matches(black_box(&filter), &e.source))
                .count()
        })
    });
    let order = OrderFields::by_date("@timestamp");
    g.bench_function("sequence/dcom-mshta", |b| {
        b.iter(|| {
            exec::run(
                black_box(&plan),
                &order,
                &evs,
                &Limits {
                    size: None,
                    max_samples_per_key: 1,
                },
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
