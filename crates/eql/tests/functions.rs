//! Expression/value pairs from the endgame EQL suite
//! (`../shared/conformance/eql/endgame/test_string_functions.toml` and
//! `test_folding.toml`), evaluated with Elasticsearch's dialect.
//!
//! The endgame dialect differs from Elasticsearch's: it compares strings
//! case-insensitively by default, accepts single-quoted strings and has
//! functions Elasticsearch lacks (`match`, `wildcard`, `arrayContains`).
//! Topics that only exist in that dialect are skipped; expressions that
//! Elasticsearch rejects are counted, not compared. Where the two dialects
//! give different values for the same expression, the Elasticsearch value
//! is listed in `ES_DIALECT` with the reason.

use std::path::{Path, PathBuf};

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/eql/endgame");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: ../shared not found");
        None
    }
}

/// Topics whose semantics are the endgame dialect's alone.
const ENDGAME_ONLY: &[&str] = &[
    "match",
    "wildcard",
    "wildcard_case_insensitive",
    "wildcard_case_sensitive",
    "endswith_insensitive",
    "startswith_case_insensitive",
    "startswith",
    "endswith",
    "string_case_match_comparison",
    "string_case_insensitive_match_comparison",
    "in_set",
    "in_set_case_insensitive",
];

/// (expression, Elasticsearch's value, why it differs from the endgame file)
const ES_DIALECT: &[(&str, &str, &str)] = &[(
    "between(\"welcome to the planet\", \"welcome\", \"village\")",
    "\"\"",
    "ES returns an empty string when a delimiter is missing",
)];

fn run(file: &str) -> (usize, usize, Vec<String>) {
    let Some(dir) = shared() else {
        return (0, 0, Vec::new());
    };
    let text = std::fs::read_to_string(dir.join(file)).expect("readable");
    let doc: toml::Table = text.parse().expect("valid TOML");
    let (mut compared, mut rejected, mut failures) = (0, 0, Vec::new());
    for (topic, body) in &doc {
        if ENDGAME_ONLY.contains(&topic.as_str()) {
            continue;
        }
        let Some(body) = body.as_table() else {
            continue;
        };
        let tests = body
            .get("fold")
            .and_then(|f| f.get("tests"))
            .or_else(|| body.get("tests"))
            .and_then(|t| t.as_array());
        for t in tests.into_iter().flatten() {
            let Some(expr) = t.get("expression").and_then(|e| e.as_str()) else {
                continue;
            };
            let Some(expected) = t.get("expected") else {
                continue;
            };
            let want = match ES_DIALECT.iter().find(|(e, _, _)| *e == expr) {
                Some((_, v, _)) => serde_json::from_str(v).expect("valid JSON"),
                None => serde_json::to_value(expected).expect("TOML value as JSON"),
            };
            match harrier_eql::eval_constant(expr) {
                Ok(got) => {
                    compared += 1;
                    let same = got == want
                        || got
                            .as_f64()
                            .zip(want.as_f64())
                            .is_some_and(|(a, b)| (a - b).abs() < 1e-9);
                    if !same {
                        failures.push(format!("[{topic}] {expr}: got {got}, want {want}"));
                    }
                }
                Err(_) => rejected += 1,
            }
        }
    }
    (compared, rejected, failures)
}

#[test]
fn string_functions() {
    let (compared, rejected, failures) = run("test_string_functions.toml");
    eprintln!("string functions: {compared} compared, {rejected} not Elasticsearch syntax");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn folding() {
    let (compared, rejected, failures) = run("test_folding.toml");
    eprintln!("folding: {compared} compared, {rejected} not Elasticsearch syntax");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
