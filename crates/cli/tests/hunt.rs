//! `harrier hunt`, `events` and `rules` run on real files, as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shared data folder beside the repository, or `None` (with a visible note).
fn shared() -> Option<PathBuf> {
    let dir = repo().join("../shared");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: ../shared not found");
        None
    }
}

fn harrier(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output();
    match out {
        Ok(o) => o,
        Err(e) => panic!("cannot run harrier: {e}"),
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Elapsed time and throughput change from run to run.
fn mask_timing(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.trim_start().starts_with("elapsed") {
                "  elapsed     [masked]".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn hunt_examples_csv() {
    let o = harrier(&["hunt", "examples/", "--format", "csv", "-q"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    insta::assert_snapshot!("hunt_examples_csv", stdout(&o));
}

#[test]
fn hunt_examples_jsonl() {
    let o = harrier(&["hunt", "examples/", "--format", "jsonl", "-q"]);
    assert!(o.status.success());
    let text = stdout(&o);
    let rules: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["rule_name"].as_str().unwrap_or_default().to_owned())
        .collect();
    // 6 EQL sequences and the KQL rule's one public mshta connection
    assert_eq!(rules.len(), 7, "{text}");
    assert_eq!(
        rules
            .iter()
            .filter(|r| *r == "Outbound Mshta Connection (KQL)")
            .count(),
        1
    );
    assert_eq!(
        rules
            .iter()
            .filter(|r| *r == "Incoming DCOM Lateral Movement via Mshta")
            .count(),
        1
    );
    insta::assert_snapshot!("hunt_examples_jsonl", text);
}

#[test]
fn hunt_examples_table_and_summary() {
    let o = harrier(&["hunt", "examples/"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    insta::assert_snapshot!("hunt_examples_table", mask_timing(&text));
}

#[test]
fn hunt_examples_kibana_documents() {
    let o = harrier(&["hunt", "examples/", "--format", "json", "-q"]);
    assert!(o.status.success());
    let docs: serde_json::Value = match serde_json::from_slice(&o.stdout) {
        Ok(v) => v,
        Err(e) => panic!("not JSON: {e}"),
    };
    let docs = docs.as_array().cloned().unwrap_or_default();
    // 6 sequences of 2 events: 2 building blocks and a shell each; 1 KQL row alert
    assert_eq!(docs.len(), 19);
    let shells = docs
        .iter()
        .filter(|d| d.get("kibana.alert.building_block_type").is_none())
        .count();
    assert_eq!(shells, 7);
    assert!(docs.iter().all(|d| d["event.kind"] == "signal"));
}

/// The raw-text prefilter never changes results: the example events, again
/// with `mshta.exe` spelled with a `\u` escape, in upper case, and behind an
/// escaped slash, give the same alerts with and without `--no-prefilter`,
/// and the respelled copies raise alerts of their own.
#[test]
fn hunt_prefilter_changes_nothing() {
    let text = std::fs::read_to_string(repo().join("examples/mshta-ecs.ndjson"))
        .unwrap_or_else(|e| panic!("examples: {e}"));
    let mut all = text.clone();
    for (suffix, from, to) in [
        ("u", "mshta.exe", "msht\\u0061.exe"),
        ("c", "mshta.exe", "MSHTA.EXE"),
        ("s", "\\\\mshta.exe", "\\/mshta.exe"),
    ] {
        for line in text.lines() {
            let line = line
                .replace("001a10}", &format!("001a10-{suffix}}}"))
                .replace(from, to);
            all.push_str(&line);
            all.push('\n');
        }
    }
    let dir = std::env::temp_dir().join(format!("harrier-prefilter-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("temp dir: {e}"));
    let file = dir.join("respelled.ndjson");
    std::fs::write(&file, &all).unwrap_or_else(|e| panic!("write: {e}"));
    let path = file.to_string_lossy().into_owned();
    let filtered = harrier(&["hunt", &path, "--format", "csv", "-q"]);
    let unfiltered = harrier(&["hunt", &path, "--format", "csv", "-q", "--no-prefilter"]);
    assert!(
        filtered.status.success(),
        "{}",
        String::from_utf8_lossy(&filtered.stderr)
    );
    assert_eq!(stdout(&filtered), stdout(&unfiltered));
    // alerts start in each respelled copy (lines n+1..2n for `\u`, 2n+1..3n upper case)
    let n = text.lines().count();
    let origins: Vec<usize> = stdout(&filtered)
        .lines()
        .filter_map(|l| l.rsplit(':').next()?.parse().ok())
        .collect();
    for copy in 1..=2 {
        assert!(
            origins.iter().any(|&l| l > copy * n && l <= (copy + 1) * n),
            "no alert from copy {copy}: {origins:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hunt_filters() {
    let o = harrier(&[
        "hunt",
        "examples/",
        "--format",
        "csv",
        "-q",
        "--min-severity",
        "high",
    ]);
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stdout(&o));
    let o = harrier(&[
        "hunt",
        "examples/",
        "--format",
        "csv",
        "-q",
        "--exclude-rule",
        "Network Connection via Mshta",
        "--to",
        "2025-03-11T11:00:00Z",
    ]);
    // only the strict rule and the KQL rule on the first host are left
    assert_eq!(stdout(&o).lines().count(), 3, "{}", stdout(&o));
    let o = harrier(&[
        "hunt",
        "examples/",
        "--format",
        "csv",
        "-q",
        "--from",
        "now-9m",
    ]);
    assert_eq!(
        stdout(&o).lines().count(),
        1,
        "old events are outside the window"
    );
}

#[test]
fn events_jsonl_summary() {
    let o = harrier(&["events", "examples/mshta-ecs.ndjson"]);
    assert!(o.status.success());
    let text = stdout(&o);
    let last = text.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        r#"{"harrier_summary":{"files":1,"events":14,"skipped":0,"failed_files":0}}"#
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("14 events from 1 file, 0 skipped"));
}

#[test]
fn rules_list_and_show() {
    let o = harrier(&["rules", "list"]);
    assert!(o.status.success());
    insta::assert_snapshot!("rules_list", stdout(&o));
    let o = harrier(&["rules", "show", "Incoming DCOM Lateral Movement via Mshta"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(
        text.contains("T1021.003 Distributed Component Object Model"),
        "{text}"
    );
    assert!(text.contains("Investigation guide"), "{text}");
}

#[test]
fn rules_validate_reports_errors_with_carets() {
    let dir = std::env::temp_dir().join(format!("harrier-validate-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let bad = "[rule]\nname = \"Broken\"\nrule_id = \"b1\"\ndescription = \"x\"\nrisk_score = 1\nseverity = \"low\"\ntype = \"eql\"\nlanguage = \"eql\"\nindex = [\"logs-*\"]\nquery = '''\nprocess where process.name == \"x\" and and true\n'''\n";
    let _ = std::fs::write(dir.join("bad.toml"), bad);
    let o = harrier(&["rules", "validate", &dir.display().to_string()]);
    let _ = std::fs::remove_dir_all(&dir);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("bad.toml:11:"), "{text}");
    assert!(text.contains(" ^^^\n"), "{text}");
    assert!(text.contains("1 EQL broken"), "{text}");
}

#[test]
fn rules_validate_elastic_corpus() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("corpora/elastic-detection-rules");
    let o = harrier(&["rules", "validate", &corpus.display().to_string()]);
    let text = stdout(&o);
    // every EQL rule of the snapshot parses and analyzes; other types are only counted
    assert!(o.status.success(), "{text}");
    let last = text.lines().last().unwrap_or_default();
    assert!(last.contains("1081 EQL valid, 0 EQL broken"), "{last}");
    assert!(last.contains("esql 212"), "{last}");
}

fn alert_origins(csv: &str) -> Vec<(String, String)> {
    // rule_name is column 2, origin the last; names and paths here hold no commas
    csv.lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            let origin = cols.last().copied().unwrap_or_default();
            let file = origin.rsplit_once(" record ").map_or(origin, |(f, _)| f);
            let file = file.rsplit(['/', '\\']).next().unwrap_or(file);
            (
                cols.get(1).copied().unwrap_or_default().to_owned(),
                file.to_owned(),
            )
        })
        .collect()
}

#[test]
fn hunt_attack_samples_default_pack() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("datasets/evtx/attack-samples");
    let o = harrier(&["hunt", &dir.display().to_string(), "--format", "csv", "-q"]);
    assert!(o.status.success());
    let alerts = alert_origins(&stdout(&o));
    for file in [
        "sysmon_mshta_sharpshooter_stageless_meterpreter.evtx",
        "panache_sysmon_vs_EDRTestingScript.evtx",
    ] {
        assert!(
            alerts
                .iter()
                .any(|(r, f)| r == "Mshta Process Making Network Connections" && f == file),
            "{file}: {alerts:?}"
        );
    }
    // ordered by @timestamp (Sysmon UtcTime) the network event comes first in these, so
    // the EQL sequence rules do not fire (the KQL rule looks at connections alone)
    assert!(
        !alerts
            .iter()
            .any(|(r, f)| r != KQL_RULE
                && (f.starts_with("LM_DCOM") || f.starts_with("exec_persist")))
    );

    let o = harrier(&[
        "hunt",
        &dir.display().to_string(),
        "--format",
        "csv",
        "-q",
        "--timestamp-override",
        "event.created",
    ]);
    let alerts = alert_origins(&stdout(&o));
    for file in [
        "exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx",
        "LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx",
    ] {
        assert!(
            alerts
                .iter()
                .any(|(r, f)| r == "Mshta Process Making Network Connections" && f == file),
            "{file}: {alerts:?}"
        );
    }
    let dcom: Vec<&String> = alerts
        .iter()
        .filter(|(r, _)| r == "Incoming DCOM Lateral Movement via Mshta")
        .map(|(_, f)| f)
        .collect();
    assert_eq!(dcom, ["LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx"]);
}

const KQL_RULE: &str = "Outbound Mshta Connection (KQL)";

/// The pack's KQL rule raises one alert per mshta connection to a public address: the
/// five public ones of the recordings, none of the private ones (sharpshooter, LethalHTA).
#[test]
fn hunt_attack_samples_kql_rule_alerts_on_public_mshta_connections() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("datasets/evtx/attack-samples");
    if !dir.is_dir() {
        eprintln!("skipping: {} not found", dir.display());
        return;
    }
    let o = harrier(&["hunt", &dir.display().to_string(), "--format", "csv", "-q"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = stdout(&o);
    let mut files: Vec<String> = alert_origins(&text)
        .into_iter()
        .filter(|(r, _)| r == KQL_RULE)
        .map(|(_, f)| f)
        .collect();
    files.sort();
    // EVTX records none of whose strings holds one of the KQL rule's literals are
    // passed over without being made into whole events; reading every record whole
    // (`--no-prefilter`) gives the same alerts
    let whole = harrier(&[
        "hunt",
        &dir.display().to_string(),
        "--format",
        "csv",
        "-q",
        "--no-prefilter",
    ]);
    assert_eq!(stdout(&whole), text);
    assert_eq!(
        files,
        [
            "exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx",
            "exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx",
            "exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx",
            "panache_sysmon_vs_EDRTestingScript.evtx",
            "panache_sysmon_vs_EDRTestingScript.evtx",
        ],
        "{text}"
    );
    // the Kibana documents carry the row's columns and the rule's ATT&CK mapping
    let o = harrier(&[
        "hunt",
        &dir.display().to_string(),
        "--format",
        "json",
        "-q",
        "--rule",
        KQL_RULE,
    ]);
    assert!(o.status.success());
    let docs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    let docs = docs.as_array().cloned().unwrap_or_default();
    assert_eq!(docs.len(), 5);
    for d in &docs {
        assert_eq!(d["kibana.alert.rule.name"], KQL_RULE);
        assert_eq!(d["kibana.alert.rule.parameters"]["language"], "kql");
        assert_eq!(
            d["kibana.alert.rule.threat"][0]["technique"][0]["subtechnique"][0]["id"],
            "T1218.005"
        );
        assert_eq!(
            d["InitiatingProcessFileName"]
                .as_str()
                .map(str::to_lowercase)
                .as_deref(),
            Some("mshta.exe")
        );
        assert_ne!(d["RemoteIPType"], "Private");
        assert!(d["kibana.alert.original_time"].is_string());
        let cols: Vec<&String> = d
            .as_object()
            .map(|o| o.keys().take(6).collect())
            .unwrap_or_default();
        assert_eq!(
            cols,
            [
                "Timestamp",
                "InitiatingProcessCommandLine",
                "RemoteUrl",
                "RemoteIP",
                "DeviceName",
                "InitiatingProcessAccountUpn"
            ]
        );
    }
    let mut ids: Vec<&str> = docs
        .iter()
        .filter_map(|d| d["kibana.alert.uuid"].as_str())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "alert ids are distinct");
}

#[test]
fn rules_validate_checks_kql_rules() {
    let dir = std::env::temp_dir().join(format!("harrier-validate-kql-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let bad = "[rule]\nname = \"Broken KQL\"\nrule_id = \"k1\"\ndescription = \"x\"\nrisk_score = 1\nseverity = \"low\"\ntype = \"query\"\nlanguage = \"kql\"\nquery = '''\nDeviceProcessEvents\n| where FileNme =~ \"cmd.exe\"\n'''\n";
    let _ = std::fs::write(dir.join("bad.toml"), bad);
    let o = harrier(&["rules", "validate", &dir.display().to_string()]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("bad.toml:11:9: error"), "{text}");
    assert!(text.contains("FileName"), "{text}");
    assert!(text.contains("0 KQL valid, 1 KQL broken"), "{text}");
    // the built-in pack validates, its KQL rule included
    let pack = repo().join("rules");
    let o = harrier(&["rules", "validate", &pack.display().to_string()]);
    let _ = std::fs::remove_dir_all(&dir);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("1 KQL valid, 0 KQL broken"), "{text}");
}

/// Every EQL rule of Elastic's corpus over every attack recording: the run
/// completes and the number of alerts per rule stays what it was.
#[test]
fn hunt_attack_samples_with_elastic_corpus_pins_alert_counts() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("datasets/evtx/attack-samples");
    let rules = shared.join("corpora/elastic-detection-rules");
    let o = harrier(&[
        "hunt",
        &dir.to_string_lossy(),
        "--rules",
        &rules.to_string_lossy(),
        "--format",
        "csv",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = stdout(&o);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut counts: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for rec in reader.records() {
        let rec = rec.expect("valid CSV row");
        let id = rec.get(0).unwrap_or_default().to_string();
        let name = rec.get(1).unwrap_or_default().to_string();
        *counts.entry((name, id)).or_default() += 1;
    }
    let lines: Vec<String> = counts
        .iter()
        .map(|((name, id), n)| format!("{n:4}  {name}  ({id})"))
        .collect();
    insta::assert_snapshot!("attack_samples_elastic_corpus_counts", lines.join("\n"));
}

/// The rule pack's own unit tests pass, and a wrong expectation fails with exit 1.
#[test]
fn rules_test_runs_the_pack_tests() {
    let o = harrier(&["rules", "test", "tests/rules/pack.toml"]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("rules test: 4 passed, 0 failed"), "{text}");

    let dir = std::env::temp_dir().join(format!("harrier-rules-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spec = dir.join("wrong.toml");
    let events = repo().join("tests/rules/mshta-dcom.ndjson");
    std::fs::write(
        &spec,
        format!(
            "[[case]]\nname = \"wrong count\"\nrule = \"Incoming DCOM Lateral Movement via Mshta\"\nevents = [{:?}]\nalerts = 5\n",
            events.to_string_lossy()
        ),
    )
    .expect("write spec");
    let o = harrier(&["rules", "test", &spec.to_string_lossy()]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("expected 5 alerts, got 2"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
