//! How many of Elastic's EQL rules the literal prefilter can index; rules it
//! cannot are evaluated on every event of their category.

use harrier_engine::{Engine, EngineOptions};
use std::path::Path;

#[test]
fn most_elastic_rules_have_a_literal_prefilter() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/elastic-detection-rules");
    if !corpus.is_dir() {
        eprintln!("skipping: ../shared not found");
        return;
    }
    let (rules, _) = harrier_rules::load_rules(&[corpus]);
    let engine = Engine::new(rules, EngineOptions::default());
    let total = engine.rules().len();
    let with = engine.rules_with_literals();
    eprintln!("{with} of {total} rules have a literal prefilter");
    for r in engine.rules().iter().filter(|r| !r.has_literals()).take(15) {
        eprintln!("  without: {}", r.rule.name);
    }
    assert!(
        with * 100 / total >= 60,
        "only {with} of {total} rules have a literal prefilter"
    );
}
