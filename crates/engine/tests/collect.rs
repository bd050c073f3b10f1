//! The hunt keeps facts, not documents (`engine::collect`): its results must
//! be those of the EQL executor reading the documents themselves.

mod common;

use common::rule;
use harrier_engine::{Engine, EngineOptions};
use harrier_eql::exec::{self, Limits, OrderFields, Output};
use harrier_event::{Event, Locator, Origin};
use serde_json::json;
use std::sync::Arc;

/// Events out of time order: process starts and network events of a few
/// processes, timestamps scrambled.
fn events(n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| {
            // a permutation of 0..n spread over time
            let t = (i * 7919) % n;
            let pid = i % 13;
            let source = if i % 3 == 0 {
                json!({"@timestamp": format!("2024-05-01T00:{:02}:{:02}.{:03}Z", (t / 1000) % 60, (t / 10) % 60, t % 1000),
                       "event": {"category": ["process"], "type": ["start"]},
                       "process": {"name": if i % 2 == 0 { "a.exe" } else { "b.exe" }, "entity_id": format!("p{pid}")}})
            } else {
                json!({"@timestamp": format!("2024-05-01T00:{:02}:{:02}.{:03}Z", (t / 1000) % 60, (t / 10) % 60, t % 1000),
                       "event": {"category": ["network"]},
                       "process": {"name": "a.exe", "entity_id": format!("p{pid}")},
                       "destination": {"port": (i % 5) as i64}})
            };
            let serde_json::Value::Object(source) = source else {
                unreachable!()
            };
            Event {
                source,
                index: Arc::from("logs-endpoint.events.process-default"),
                id: Some(Arc::from(format!("e{i}"))),
                origin: Origin {
                    file: Arc::from("test.ndjson"),
                    locator: Locator::Line(i as u64 + 1),
                },
            }
        })
        .collect()
}

fn ids(out: &harrier_engine::RunOutput) -> Vec<Vec<String>> {
    out.detections
        .iter()
        .map(|d| {
            d.events
                .iter()
                .map(|e| e.id.as_deref().unwrap_or_default().to_owned())
                .collect()
        })
        .collect()
}

/// What the executor finds reading the documents, as event ids.
fn reference(r: &harrier_rules::Rule, events: &[Event]) -> Vec<Vec<String>> {
    let plan = harrier_engine::compile_query(r, &harrier_eql::schema::Schema::ecs())
        .unwrap_or_else(|e| panic!("{}", e.message));
    let order = OrderFields::by_date("@timestamp");
    let limits = Limits {
        size: Some(r.max_signals as usize),
        max_samples_per_key: 1,
    };
    let id = |i: usize| events[i].id.as_deref().unwrap_or_default().to_owned();
    match exec::run(&plan, &order, events, &limits) {
        Output::Events(v) => v.into_iter().map(|i| vec![id(i)]).collect(),
        Output::Sequences(v) => v
            .into_iter()
            .map(|m| m.events.into_iter().flatten().map(id).collect())
            .collect(),
    }
}

#[test]
fn a_noisy_event_rule_keeps_its_earliest_events_only() {
    let evs = events(6000);
    let r = rule("noisy", "network where process.name == \"a.exe\"", 7);
    let want = reference(&r, &evs);
    assert_eq!(want.len(), 7);
    let engine = Engine::new(vec![r], EngineOptions::default());
    let got = ids(&engine.run(&evs, &|_| {}));
    assert_eq!(got, want);
}

#[test]
fn sequences_from_facts_equal_sequences_from_documents() {
    let evs = events(3000);
    let queries = [
        "sequence by process.entity_id [process where process.name == \"a.exe\"] [network where destination.port == 3]",
        "sequence by process.entity_id with maxspan=20s [process where true] [network where true] [network where destination.port > 2]",
        "sequence with maxspan=1s [process where process.name == \"b.exe\"] by process.entity_id [network where true] by process.entity_id",
        "sequence by process.entity_id [process where true] ![network where destination.port == 4] [network where destination.port == 1]",
        "sequence by process.entity_id [network where destination.port == 0] [network where destination.port == 1] until [process where process.name == \"b.exe\"]",
        "sample by process.entity_id [process where true] [network where destination.port == 2]",
    ];
    for (i, q) in queries.iter().enumerate() {
        let r = rule(&format!("q{i}"), q, 1000);
        let want = reference(&r, &evs);
        assert!(
            !want.is_empty(),
            "query {q} finds nothing: the test would not test"
        );
        let engine = Engine::new(vec![r], EngineOptions::default());
        assert!(engine.errors().is_empty(), "{q}: {:?}", engine.errors());
        let got = ids(&engine.run(&evs, &|_| {}));
        assert_eq!(got, want, "{q}");
    }
}
