//! What a field value lights in the clause index is remembered per thread
//! (`LightCache` in the engine): answers must not depend on what the thread
//! met before, which engine it met it for, or whether the cache was emptied.

mod common;

use common::rule;
use harrier_engine::{Engine, EngineOptions};
use harrier_event::{Event, Locator, Origin};
use serde_json::{json, Value};
use std::sync::Arc;

fn event(source: Value) -> Event {
    let Value::Object(source) = source else {
        panic!("not an object");
    };
    Event {
        source,
        index: Arc::from("logs-endpoint.events.process-default"),
        id: None,
        origin: Origin {
            file: Arc::from("test.ndjson"),
            locator: Locator::Line(1),
        },
    }
}

fn names(engine: &Engine, e: &Event) -> Vec<String> {
    let mut out = Vec::new();
    engine.matching_rules(e, &mut out);
    out.iter()
        .map(|&r| engine.rules()[r as usize].rule.name.clone())
        .collect()
}

fn process(name: &str, command_line: &str) -> Event {
    event(json!({
        "event": {"category": "process", "type": "start"},
        "process": {"name": name, "command_line": command_line},
    }))
}

#[test]
fn engines_sharing_a_thread_keep_their_own_answers() {
    // the same value means different clauses to each engine
    let a = Engine::new(
        vec![
            rule(
                "a-exact",
                r#"process where process.name : "mshta.exe""#,
                100,
            ),
            rule(
                "a-frag",
                r#"process where process.command_line : "*http*""#,
                100,
            ),
        ],
        EngineOptions::default(),
    );
    let b = Engine::new(
        vec![
            rule("b-other", r#"process where process.name == "cmd.exe""#, 100),
            rule(
                "b-frag",
                r#"process where process.command_line : "*.hta*""#,
                100,
            ),
        ],
        EngineOptions::default(),
    );
    let e1 = process("MSHTA.exe", "mshta http://x/a.hta");
    let e2 = process("cmd.exe", "cmd /c a.hta");
    for _ in 0..3 {
        assert_eq!(names(&a, &e1), ["a-exact", "a-frag"]);
        assert_eq!(names(&b, &e1), ["b-frag"]);
        assert_eq!(names(&a, &e2), Vec::<String>::new());
        assert_eq!(names(&b, &e2), ["b-other", "b-frag"]);
    }
}

#[test]
fn answers_survive_the_cache_being_emptied() {
    let engine = Engine::new(
        vec![
            rule("exact", r#"process where process.name == "mshta.exe""#, 100),
            rule(
                "frag",
                r#"process where process.command_line : "*http*""#,
                100,
            ),
        ],
        EngineOptions::default(),
    );
    let hit = process("mshta.exe", "mshta http://x");
    let miss = process("cmd.exe", "cmd /c dir");
    // far more distinct values than the cache holds, the two events between them
    for i in 0..70_000 {
        if i % 9_999 == 0 {
            assert_eq!(names(&engine, &hit), ["exact", "frag"], "at {i}");
            assert!(names(&engine, &miss).is_empty(), "at {i}");
        }
        let other = process(&format!("tool{i}.exe"), &format!("tool{i} https://h{i}"));
        assert_eq!(names(&engine, &other), ["frag"], "value {i}");
    }
}
