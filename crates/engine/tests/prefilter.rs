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

/// The clause index decides which filters an event is evaluated against; it
/// must never leave out a rule that an exhaustive evaluation finds. Every
/// Elastic rule against every event of the shared datasets (Elastic Defend
/// documents, every EVTX recording mapped to ECS, flat JSON) and the examples.
#[test]
fn indexed_matching_equals_exhaustive_matching() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shared = root.join("../shared");
    let corpus = shared.join("corpora/elastic-detection-rules");
    if !corpus.is_dir() {
        eprintln!("skipping: ../shared not found");
        return;
    }
    let (rules, _) = harrier_rules::load_rules(&[corpus]);
    let engine = Engine::new(rules, EngineOptions::default());
    let paths: Vec<std::path::PathBuf> = [
        "datasets/ecs/elastic-defend",
        "datasets/ecs/winlogbeat-sysmon-golden",
        "datasets/evtx",
        "datasets/flat-json",
    ]
    .iter()
    .map(|p| shared.join(p))
    .chain([root.join("examples")])
    .collect();
    // and 20,000 generated endpoint events, which many broad rules match
    let tmp = std::env::temp_dir().join(format!("harrier-prefilter-{}", std::process::id()));
    let generated = tmp.join("generated.ndjson");
    let made = std::fs::create_dir_all(&tmp).is_ok()
        && std::process::Command::new("python3")
            .arg(shared.join("tools/gen-ecs-events.py"))
            .args(["--events", "20000", "--seed", "7", "--out"])
            .arg(&generated)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    assert!(made, "gen-ecs-events.py failed");
    let paths: Vec<std::path::PathBuf> = paths.into_iter().chain([generated]).collect();
    let (mut events, mut with_rules, mut pairs) = (0u64, 0u64, 0u64);
    let mut differences = Vec::new();
    harrier_sources::read_paths(
        &paths,
        &harrier_sources::ReadOptions::default(),
        &mut |e| {
            events += 1;
            let (mut indexed, mut exhaustive) = (Vec::new(), Vec::new());
            engine.matching_rules(&e, &mut indexed);
            engine.matching_rules_unindexed(&e, &mut exhaustive);
            if !exhaustive.is_empty() {
                with_rules += 1;
                pairs += exhaustive.len() as u64;
            }
            if indexed != exhaustive && differences.len() < 10 {
                let names = |v: &[u32]| -> Vec<String> {
                    v.iter()
                        .map(|&r| engine.rules()[r as usize].rule.name.clone())
                        .collect()
                };
                differences.push(format!(
                    "{}: indexed {:?}, exhaustive {:?}",
                    e.origin,
                    names(&indexed),
                    names(&exhaustive)
                ));
            }
        },
        &mut |_| {},
    );
    let _ = std::fs::remove_dir_all(&tmp);
    let evaluated = engine.filters_evaluated();
    eprintln!(
        "{events} events, {with_rules} matched by some rule, {pairs} (event, rule) pairs, \
         {evaluated} filters evaluated"
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    // The index lets few filters through that do not match. Indexing exact
    // values alone let 6.6 through per matching pair here (445,539); with
    // wildcard fragments (`file.name : "lsass*.dmp"` needs "lsass") it is
    // 2.4 (158,315).
    assert!(
        evaluated < 4 * pairs,
        "{evaluated} filters evaluated for {pairs} matching pairs"
    );
    // the comparison must have had something to compare
    assert!(events > 30_000 && with_rules > 20_000 && pairs > with_rules);
}
