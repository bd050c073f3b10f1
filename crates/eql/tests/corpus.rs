//! Every EQL query in Elastic's detection-rules corpus parses, analyzes
//! against the built-in ECS schema, and prints back to text that parses to
//! the same tree.

use harrier_eql::schema::Schema;
use harrier_eql::{parse, Analyzer, Settings};
use std::path::{Path, PathBuf};

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: ../shared not found");
        None
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
}

#[test]
fn elastic_eql_rules_parse_analyze_and_round_trip() {
    let Some(shared) = shared() else { return };
    let mut files = Vec::new();
    walk(&shared.join("corpora/elastic-detection-rules"), &mut files);
    let schema = Schema::ecs();
    let analyzer = Analyzer::new(&schema, Settings::default());
    let (mut eql, mut failures) = (0, Vec::new());
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable rule file");
        let Ok(doc) = text.parse::<toml::Table>() else {
            continue;
        };
        let Some(rule) = doc.get("rule").and_then(|r| r.as_table()) else {
            continue;
        };
        if rule.get("language").and_then(|l| l.as_str()) != Some("eql") {
            continue;
        }
        let Some(query) = rule.get("query").and_then(|q| q.as_str()) else {
            continue;
        };
        eql += 1;
        let name = f.display().to_string();
        let ast = match parse(query) {
            Ok(a) => a,
            Err(e) => {
                failures.push(format!("{name}: parse: {}", e.render(query)));
                continue;
            }
        };
        if let Err(e) = analyzer.plan(&ast) {
            failures.push(format!("{name}: analyze: {}", e.render(query)));
            continue;
        }
        let printed = ast.to_string();
        match parse(&printed) {
            Ok(mut again) => {
                let mut orig = ast.clone();
                orig.clear_spans();
                again.clear_spans();
                if orig != again {
                    failures.push(format!(
                        "{name}: printed form parses to a different tree:\n{printed}"
                    ));
                }
            }
            Err(e) => failures.push(format!(
                "{name}: printed form does not parse: {}\n{printed}",
                e.render(&printed)
            )),
        }
    }
    for f in &failures {
        eprintln!("{f}");
    }
    assert_eq!(eql, 1081, "EQL rules in the corpus");
    assert!(
        failures.is_empty(),
        "{} of {eql} EQL rules failed",
        failures.len()
    );
}
