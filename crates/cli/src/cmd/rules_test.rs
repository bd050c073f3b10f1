//! `harrier rules test`: unit tests for detection rules.
//!
//! A test file (TOML) names the rules to load (`rules`, default: the
//! built-in pack) and a list of `[[case]]`s. Each case runs one rule
//! (`rule`: rule_id or name) over event files (`events`) and states what it
//! must raise: `alerts` (a count; a sequence counts once) and/or
//! `entity_ids` (the `process.entity_id` of each alert's first event, in any
//! order). Optional `timestamp_override` orders events by another field.
//! Paths are relative to the test file.

use crate::cmd::hunt::load;
use anyhow::{Context, Result};
use harrier_engine::{Engine, EngineOptions};
use harrier_event::{Event, FieldPath};
use harrier_sources::{read_paths, ReadOptions};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default, rename = "case")]
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    rule: String,
    events: Vec<String>,
    alerts: Option<usize>,
    entity_ids: Option<Vec<String>>,
    timestamp_override: Option<String>,
}

pub fn run(files: &[PathBuf]) -> Result<ExitCode> {
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let spec: TestFile =
            toml::from_str(&text).with_context(|| format!("in {}", file.display()))?;
        let base = file.parent().unwrap_or(Path::new("."));
        let rule_paths: Vec<PathBuf> = spec.rules.iter().map(|p| base.join(p)).collect();
        let (rules, problems) = load(&rule_paths);
        for p in &problems {
            eprintln!("warning: {p}");
        }
        for case in &spec.cases {
            match check(case, base, &rules) {
                Ok(()) => {
                    passed += 1;
                    println!("ok    {}: {}", file.display(), case.name);
                }
                Err(why) => {
                    failed += 1;
                    println!("FAIL  {}: {}\n      {why}", file.display(), case.name);
                }
            }
        }
    }
    println!("\nrules test: {passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn check(case: &Case, base: &Path, rules: &[harrier_rules::Rule]) -> Result<(), String> {
    if case.alerts.is_none() && case.entity_ids.is_none() {
        return Err("the case states neither `alerts` nor `entity_ids`".into());
    }
    let options = EngineOptions {
        rules: vec![case.rule.clone()],
        timestamp_override: case.timestamp_override.clone(),
        ..EngineOptions::default()
    };
    let engine = Engine::new(rules.to_vec(), options);
    if engine.rules().is_empty() {
        return Err(format!("no runnable rule named {:?}", case.rule));
    }
    if let Some(e) = engine.errors().first() {
        return Err(format!("rule does not compile: {}", e.message));
    }
    let paths: Vec<PathBuf> = case.events.iter().map(|p| base.join(p)).collect();
    let mut events: Vec<Event> = Vec::new();
    let mut skips = Vec::new();
    let summary = read_paths(
        &paths,
        &ReadOptions::default(),
        &mut |e| events.push(e),
        &mut |s| skips.push(format!("{}: {}", s.origin, s.reason)),
    );
    if summary.failed_files > 0 || !skips.is_empty() {
        return Err(format!("unreadable input: {}", skips.join("; ")));
    }
    let out = engine.run(&events, &|_| {});
    if let Some(n) = case.alerts {
        if out.detections.len() != n {
            return Err(format!("expected {n} alerts, got {}", out.detections.len()));
        }
    }
    if let Some(want) = &case.entity_ids {
        let path = FieldPath::new("process.entity_id");
        let mut got: Vec<String> = out
            .detections
            .iter()
            .filter_map(|d| d.events.first())
            .filter_map(|e| harrier_event::lookup_first(&e.source, &path))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect();
        let mut want = want.clone();
        got.sort();
        want.sort();
        if got != want {
            return Err(format!("expected alerts for {want:?}, got {got:?}"));
        }
    }
    Ok(())
}
