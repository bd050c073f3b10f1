//! Loads the elastic/detection-rules corpus from the shared data directory
//! (`../shared` beside the repository); skipped with a message when it is absent.

use harrier_rules::{load_rules, Rule, RuleSetSummary};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/elastic-detection-rules");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: shared corpus not found at {} (expected ../shared beside the repository)",
            dir.display()
        );
        None
    }
}

fn counts<'a>(rules: impl Iterator<Item = &'a Rule>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in rules {
        *m.entry(r.rule_type.to_string()).or_default() += 1;
    }
    m
}

fn map(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn whole_corpus_loads_without_problems() {
    let Some(dir) = corpus() else { return };
    let (rules, problems) = load_rules(&[&dir]);
    for p in problems.iter().take(20) {
        eprintln!("{p}");
    }
    assert_eq!(problems.len(), 0);

    let s = RuleSetSummary::of(&rules);
    assert_eq!(s.total, 2192);
    assert_eq!(s.supported, 1081);
    assert_eq!(s.building_blocks, 133);
    assert_eq!(s.deprecated, 124);
    assert_eq!(
        s.by_type,
        map(&[
            ("eql", 1081),
            ("esql", 212),
            ("machine_learning", 106),
            ("new_terms", 245),
            ("query", 508),
            ("threat_match", 9),
            ("threshold", 31),
        ])
    );
    assert_eq!(
        s.by_language,
        map(&[
            ("eql", 1081),
            ("esql", 212),
            ("kuery", 792),
            ("lucene", 1),
            ("none", 106),
        ])
    );
    // Active rules (not deprecated), as in reference/rule-corpora.md § A1.
    assert_eq!(
        counts(rules.iter().filter(|r| !r.is_deprecated())),
        map(&[
            ("eql", 1024),
            ("esql", 209),
            ("machine_learning", 106),
            ("new_terms", 241),
            ("query", 454),
            ("threat_match", 6),
            ("threshold", 28),
        ])
    );
    let with = |f: &dyn Fn(&Rule) -> bool| rules.iter().filter(|r| f(r)).count();
    assert_eq!(with(&|r| !r.threat.is_empty()), 2114);
    assert_eq!(with(&|r| r.transform.is_some()), 260);
    assert_eq!(with(&|r| !r.severity_mapping.is_empty()), 28);
    assert_eq!(with(&|r| !r.exceptions_list.is_empty()), 9);
    assert_eq!(with(&|r| r.timestamp_override.is_some()), 1915);
}

#[test]
fn every_query_maps_back_to_its_file_text() {
    let Some(dir) = corpus() else { return };
    let (rules, _) = load_rules(&[&dir]);
    let mut checked = 0;
    for r in &rules {
        let Some(q) = r.query.as_deref() else {
            continue;
        };
        let Some(loc) = r.origin.query.as_ref() else {
            panic!("{}: query not located", r.origin.file);
        };
        let text = std::fs::read_to_string(&*r.origin.file).unwrap_or_default();
        // Every non-blank line of the query starts where the map says it does.
        let mut offset = 0;
        for line in q.split_inclusive('\n') {
            let start = loc.file_offset(offset);
            assert!(
                text[start..].starts_with(line.trim_end_matches('\n')),
                "{}: query offset {offset} maps to the wrong text",
                r.origin.file
            );
            let (l, c) = loc.position(offset);
            assert_eq!(c, 1);
            assert_eq!(
                l as usize,
                text[..start].matches('\n').count() + 1,
                "{}",
                r.origin.file
            );
            offset += line.len();
        }
        checked += 1;
    }
    assert_eq!(checked, 2086);
}
