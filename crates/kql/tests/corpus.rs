//! Parse-rate and round-trip tests over the shared KQL corpora:
//!
//! * `corpora/bert-janp-kql/`: community hunting queries (Defender XDR and Sentinel);
//! * `conformance/kql/kusto-doc-examples.toml`: the examples of Microsoft's KQL reference.
//!
//! The counts are pinned: a change that parses fewer queries fails, and a change that
//! parses more should raise the pins. Skipped (with a message) when `../shared` is absent.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

/// Queries referencing a `Device*` table of Defender XDR that parse (of `DEVICE_TOTAL`).
const DEVICE_PARSED: usize = 471;
const DEVICE_TOTAL: usize = 476;
/// All queries of the corpus that parse (of `ALL_TOTAL`).
const ALL_PARSED: usize = 823;
const ALL_TOTAL: usize = 837;
/// Documentation examples that parse (of `DOC_TOTAL`).
const DOC_PARSED: usize = 709;
const DOC_TOTAL: usize = 710;

/// Sources that fail to parse because they are not valid KQL as published (checked by
/// hand). Any failure outside this list is a parser regression.
const KNOWN_INVALID: &[(&str, &str)] = &[
    (
        "Azure_Active_Directory/SignInsByBrowser.1.kql",
        "fragment starting with `|`",
    ),
    (
        "Defender_For_Endpoint/LocalAccountCreated.1.kql",
        "a comment wraps onto a line without `//`",
    ),
    (
        "Defender_For_Endpoint/RareISOFile.1.kql",
        "prose after the query",
    ),
    (
        "Defender_For_Endpoint/ttp_t1219_netsupportrat_fin7.1.kql",
        "missing `or` between predicates",
    ),
    (
        "Defender_For_Endpoint/ttp_t1219_netsupportrat_fin7.2.kql",
        "missing `or` between predicates",
    ),
    (
        "Defender_For_Endpoint_USB/USBConnectors.1.kql",
        "fragment starting with `|`",
    ),
    (
        "KQL_Regex/RegexExamples.12.kql",
        "prose after the statement",
    ),
    (
        "KQL_Regex/RegexExamples.14.kql",
        "prose after the statement",
    ),
    (
        "KQL_Regex/RegexExamples.15.kql",
        "prose after the statement",
    ),
    (
        "Office_365/Email_-_AIREffectiveness.1.kql",
        "missing `|` and unquoted string",
    ),
    (
        "Office_365/Email_-_AIREffectiveness.2.kql",
        "missing `|` and unquoted string",
    ),
    (
        "Security_Operations/TotalEventsByTable.1.kql",
        "missing `;` after `let`",
    ),
    (
        "Threat_Hunting/Ransomware_-_LeaksiteMontitoring.2.kql",
        "schema closed twice",
    ),
    (
        "Vulnerability_Management/MostExploitedVulnerabilities2022.1.kql",
        "fragment starting with `|`",
    ),
    (
        "rplugin-1",
        "unbalanced quotes in the documentation example",
    ),
];

fn kql_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "kql") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Does the query name a Defender XDR `Device*` table (not merely a `DeviceName` column)?
fn references_device_table(src: &str) -> bool {
    let re =
        regex::Regex::new(r"\bDevice(\w*Events|Info|NetworkInfo|FileCertificateInfo|Tvm\w*)\b")
            .expect("valid regex");
    re.is_match(src)
}

struct Tally {
    total: usize,
    parsed: usize,
    failures: Vec<String>,
    unexpected_failures: Vec<String>,
    round_trip_failures: Vec<String>,
}

fn tally<'a>(items: impl Iterator<Item = (String, &'a str)>) -> Tally {
    let mut t = Tally {
        total: 0,
        parsed: 0,
        failures: Vec::new(),
        unexpected_failures: Vec::new(),
        round_trip_failures: Vec::new(),
    };
    for (name, src) in items {
        t.total += 1;
        match harrier_kql::parse(src) {
            Ok(_) => {
                t.parsed += 1;
                if let Err(e) = common::round_trip(src) {
                    t.round_trip_failures.push(format!("{name}: {e}"));
                }
            }
            Err(e) => {
                if !KNOWN_INVALID.iter().any(|(n, _)| *n == name) {
                    t.unexpected_failures.push(name.clone());
                }
                t.failures
                    .push(format!("{name}:\n{}", harrier_kql::render_error(src, &e)));
            }
        }
    }
    t
}

fn report(label: &str, t: &Tally) {
    eprintln!(
        "{label}: {}/{} parse ({:.1}%)",
        t.parsed,
        t.total,
        100.0 * t.parsed as f64 / t.total.max(1) as f64
    );
    for f in &t.failures {
        eprintln!("  FAIL {f}");
    }
    for f in &t.round_trip_failures {
        eprintln!("  ROUND-TRIP {f}");
    }
}

#[test]
fn bert_janp_corpus() {
    let Some(shared) = common::shared_dir() else {
        eprintln!("SKIPPED: ../shared not found; corpus test not run");
        return;
    };
    let dir = shared.join("corpora/bert-janp-kql");
    let files: Vec<(String, String)> = kql_files(&dir)
        .into_iter()
        .filter_map(|p| {
            let name = p.strip_prefix(&dir).unwrap_or(&p).display().to_string();
            fs::read_to_string(&p).ok().map(|s| (name, s))
        })
        .collect();
    let device = tally(
        files
            .iter()
            .filter(|(_, s)| references_device_table(s))
            .map(|(n, s)| (n.clone(), s.as_str())),
    );
    report("bert-janp Device* queries", &device);
    let all = tally(files.iter().map(|(n, s)| (n.clone(), s.as_str())));
    report("bert-janp all queries", &all);

    assert!(
        all.unexpected_failures.is_empty(),
        "regressions: {:?}",
        all.unexpected_failures
    );
    assert_eq!(device.total, DEVICE_TOTAL, "Device* query count changed");
    assert_eq!(all.total, ALL_TOTAL, "corpus size changed");
    assert!(
        device.parsed >= DEVICE_PARSED,
        "Device* parse count dropped"
    );
    assert!(all.parsed >= ALL_PARSED, "corpus parse count dropped");
    assert!(device.round_trip_failures.is_empty() && all.round_trip_failures.is_empty());
}

#[test]
fn kusto_doc_examples() {
    let Some(shared) = common::shared_dir() else {
        eprintln!("SKIPPED: ../shared not found; doc-example test not run");
        return;
    };
    let path = shared.join("conformance/kql/kusto-doc-examples.toml");
    let text = fs::read_to_string(&path).unwrap_or_default();
    let doc: toml::Value = match toml::from_str(&text) {
        Ok(v) => v,
        Err(e) => panic!("{} does not parse as TOML: {e}", path.display()),
    };
    let cases: Vec<(String, String)> = doc
        .get("cases")
        .and_then(|c| c.as_array())
        .map(|cases| {
            cases
                .iter()
                .filter_map(|c| {
                    let name = c.get("name")?.as_str()?.to_string();
                    let query = c.get("query")?.as_str()?.to_string();
                    Some((name, query))
                })
                .collect()
        })
        .unwrap_or_default();
    let t = tally(cases.iter().map(|(n, q)| (n.clone(), q.as_str())));
    report("kusto doc examples", &t);
    assert!(
        t.unexpected_failures.is_empty(),
        "regressions: {:?}",
        t.unexpected_failures
    );
    assert_eq!(t.total, DOC_TOTAL, "doc example count changed");
    assert!(t.parsed >= DOC_PARSED, "doc example parse count dropped");
    assert!(t.round_trip_failures.is_empty());
}
