//! Loading rules from detection-rules TOML files and Kibana rule exports (NDJSON).

use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::model::{
    ExceptionListRef, Metadata, RiskScoreMapping, Rule, RuleFormat, RuleOrigin, RuleType, Severity,
    SeverityMapping, Threat,
};
use crate::span::{line_col, QueryLocation};
use crate::transform::Transform;

/// A problem found while loading rules. Loading goes on with the other rules and files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleProblem {
    pub file: Arc<str>,
    /// 1-based; 0 when the problem concerns the whole file (e.g. it cannot be read).
    pub line: u32,
    /// 1-based, in characters; 0 when unknown.
    pub column: u32,
    pub message: String,
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}: {}", self.file, self.message),
            (l, 0) => write!(f, "{}:{}: {}", self.file, l, self.message),
            (l, c) => write!(f, "{}:{}:{}: {}", self.file, l, c, self.message),
        }
    }
}

impl std::error::Error for RuleProblem {}

/// An error a query validator found, at a byte offset of the query text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryDiagnostic {
    pub offset: usize,
    pub message: String,
}

/// A query checker supplied by the caller (the EQL crate, for instance): it sees
/// each loaded rule and returns the errors of its query.
pub type QueryValidator<'a> = &'a dyn Fn(&Rule) -> Vec<QueryDiagnostic>;

/// Options for [`load_rules_with`].
#[derive(Clone, Copy, Default)]
pub struct LoadOptions<'a> {
    /// When set, rules whose query has errors are reported (at the query's
    /// `file:line:column`) and left out of the result.
    pub validate_query: Option<QueryValidator<'a>>,
}

/// Loads every rule under `paths` (files, or directories walked recursively in
/// sorted order, taking `*.toml` and `*.ndjson`). Problems never stop the loading.
pub fn load_rules<P: AsRef<Path>>(paths: &[P]) -> (Vec<Rule>, Vec<RuleProblem>) {
    load_rules_with(paths, LoadOptions::default())
}

/// The rules in `files`, in order, and the problems met.
fn parse_files(files: &[std::path::PathBuf]) -> (Vec<Rule>, Vec<RuleProblem>) {
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    for f in files {
        let name: Arc<str> = f.display().to_string().into();
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                problems.push(file_problem(f, format!("cannot read: {e}")));
                continue;
            }
        };
        if is_ndjson(f, &text) {
            let (rs, ps) = parse_ndjson_rules(&text, name);
            rules.extend(rs);
            problems.extend(ps);
        } else {
            match parse_toml_rule(&text, name) {
                Ok(r) => rules.push(r),
                Err(p) => problems.push(p),
            }
        }
    }
    (rules, problems)
}

/// [`load_rules`] with options.
pub fn load_rules_with<P: AsRef<Path>>(
    paths: &[P],
    options: LoadOptions<'_>,
) -> (Vec<Rule>, Vec<RuleProblem>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for p in paths {
        let p = p.as_ref();
        if p.is_dir() {
            collect_dir(p, &mut files, &mut problems);
        } else if p.exists() {
            files.push(p.to_path_buf());
        } else {
            problems.push(file_problem(p, "no such file or directory".to_owned()));
        }
    }
    // files are independent: parse them on every core, keeping file order
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, files.len().max(1));
    let per = files.len().div_ceil(threads).max(1);
    let parsed: Vec<(Vec<Rule>, Vec<RuleProblem>)> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(per)
            .map(|chunk| s.spawn(move || parse_files(chunk)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut rules = Vec::new();
    for (rs, ps) in parsed {
        rules.extend(rs);
        problems.extend(ps);
    }
    let mut seen: HashMap<String, Arc<str>> = HashMap::new();
    let mut kept = Vec::with_capacity(rules.len());
    for rule in rules {
        if let Some(first) = seen.get(&rule.rule_id) {
            problems.push(RuleProblem {
                file: rule.origin.file.clone(),
                line: rule.origin.line,
                column: 0,
                message: format!(
                    "duplicate rule_id {} (already loaded from {first}); skipped",
                    rule.rule_id
                ),
            });
            continue;
        }
        if let Some(validate) = options.validate_query {
            let diags = validate(&rule);
            if !diags.is_empty() {
                for d in diags {
                    let (line, column) = rule.query_position(d.offset).unwrap_or((0, 0));
                    problems.push(RuleProblem {
                        file: rule.origin.file.clone(),
                        line,
                        column,
                        message: format!("rule {:?}: {}", rule.name, d.message),
                    });
                }
                continue;
            }
        }
        seen.insert(rule.rule_id.clone(), rule.origin.file.clone());
        kept.push(rule);
    }
    (kept, problems)
}

fn file_problem(p: &Path, message: String) -> RuleProblem {
    RuleProblem {
        file: p.display().to_string().into(),
        line: 0,
        column: 0,
        message,
    }
}

fn collect_dir(dir: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<RuleProblem>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(file_problem(dir, format!("cannot read directory: {e}")));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            collect_dir(&p, files, problems);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("toml") | Some("ndjson")
        ) {
            files.push(p);
        }
    }
}

fn is_ndjson(path: &Path, text: &str) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => false,
        Some("ndjson") | Some("jsonl") | Some("json") => true,
        _ => text.trim_start().starts_with('{'),
    }
}

/// The `[rule]` fields with a type, shared by both formats (snake_case names).
#[derive(Deserialize)]
struct RawRule {
    rule_id: String,
    #[serde(default)]
    id: Option<String>,
    name: String,
    description: String,
    #[serde(rename = "type")]
    rule_type: RuleType,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    index: Vec<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    max_signals: Option<u32>,
    severity: Severity,
    risk_score: u32,
    #[serde(default)]
    severity_mapping: Vec<SeverityMapping>,
    #[serde(default)]
    risk_score_mapping: Vec<RiskScoreMapping>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    threat: Vec<Threat>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    setup: Option<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    false_positives: Vec<String>,
    #[serde(default)]
    exceptions_list: Vec<ExceptionListRef>,
    #[serde(default)]
    building_block_type: Option<String>,
    #[serde(default)]
    timestamp_override: Option<String>,
    #[serde(default)]
    timestamp_override_fallback_disabled: Option<bool>,
    #[serde(default)]
    event_category_override: Option<String>,
    #[serde(default)]
    tiebreaker_field: Option<String>,
    #[serde(default)]
    timestamp_field: Option<String>,
    #[serde(default)]
    author: Vec<String>,
    #[serde(default)]
    license: Option<String>,
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    rule_name_override: Option<String>,
    #[serde(default)]
    timeline_id: Option<String>,
    #[serde(default)]
    timeline_title: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    immutable: Option<bool>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    machine_learning_job_id: Option<Value>,
}

#[derive(Deserialize)]
struct TomlDoc {
    rule: RawRule,
    #[serde(default)]
    transform: Option<Transform>,
}

/// Parses one detection-rules TOML document. `file` names it in problems and origins.
pub fn parse_toml_rule(text: &str, file: Arc<str>) -> Result<Rule, RuleProblem> {
    let problem_at = |offset: usize, message: String| {
        let (line, column) = line_col(text, offset);
        RuleProblem {
            file: file.clone(),
            line,
            column,
            message,
        }
    };
    let toml_problem = |e: toml::de::Error| {
        let offset = e.span().map_or(0, |s| s.start);
        problem_at(offset, e.message().trim().to_owned())
    };
    // the text is parsed once; the typed rule, the table kept as parameters
    // and the query's place are all read from that one tree
    let root = toml::de::DeTable::parse(text).map_err(toml_problem)?;
    let query_span = (root.get_ref().get("rule"))
        .and_then(|r| r.get_ref().as_table())
        .and_then(|r| r.get("query"))
        .filter(|q| q.get_ref().is_str())
        .map(|q| q.span());
    let doc =
        TomlDoc::deserialize(toml::de::Deserializer::from(root.clone())).map_err(toml_problem)?;
    let table =
        toml::Table::deserialize(toml::de::Deserializer::from(root)).map_err(toml_problem)?;

    let rule_header = text
        .find("[rule]")
        .filter(|&i| i == 0 || text.as_bytes().get(i - 1) == Some(&b'\n'))
        .unwrap_or(0);
    let raw_rule = match table.get("rule") {
        Some(toml::Value::Table(t)) => toml_table_to_json(t),
        _ => Map::new(),
    };
    let raw_meta = match table.get("metadata") {
        Some(toml::Value::Table(t)) => toml_table_to_json(t),
        _ => Map::new(),
    };
    let metadata = metadata_from(&raw_meta);
    let origin_query = match (query_span, &doc.rule.query) {
        (Some(span), Some(q)) => QueryLocation::from_toml_token(text, span, q),
        _ => None,
    };
    let origin = RuleOrigin {
        file: file.clone(),
        format: RuleFormat::Toml,
        line: 1,
        query: origin_query,
    };
    let created_at = metadata.creation_date.as_deref().and_then(toml_date_to_iso);
    let updated_at = metadata.updated_date.as_deref().and_then(toml_date_to_iso);
    let mut rule = build_rule(doc.rule, raw_rule, metadata, doc.transform, origin)
        .map_err(|m| problem_at(rule_header, m))?;
    rule.created_at = rule.created_at.or(created_at);
    rule.updated_at = rule.updated_at.or(updated_at);
    Ok(rule)
}

/// `2020/11/04` (detection-rules dates) as `2020-11-04T00:00:00.000Z`.
fn toml_date_to_iso(d: &str) -> Option<String> {
    let date = chrono::NaiveDate::parse_from_str(d.trim(), "%Y/%m/%d").ok()?;
    Some(format!("{}T00:00:00.000Z", date.format("%Y-%m-%d")))
}

fn metadata_from(raw: &Map<String, Value>) -> Metadata {
    let s = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_owned);
    Metadata {
        creation_date: s("creation_date"),
        updated_date: s("updated_date"),
        deprecation_date: s("deprecation_date"),
        deprecated_reason: s("deprecated_reason"),
        maturity: s("maturity"),
        integration: match raw.get("integration") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        },
        min_stack_version: s("min_stack_version"),
        raw: raw.clone(),
    }
}

fn build_rule(
    r: RawRule,
    params: Map<String, Value>,
    metadata: Metadata,
    transform: Option<Transform>,
    origin: RuleOrigin,
) -> Result<Rule, String> {
    let needs_query = !matches!(
        r.rule_type,
        RuleType::MachineLearning | RuleType::SavedQuery
    );
    if needs_query && r.query.is_none() {
        return Err(format!("a {} rule needs a `query`", r.rule_type));
    }
    if r.rule_type == RuleType::MachineLearning && r.machine_learning_job_id.is_none() {
        return Err("a machine_learning rule needs `machine_learning_job_id`".to_owned());
    }
    if r.risk_score > 100 {
        return Err(format!("risk_score {} is above 100", r.risk_score));
    }
    if r.max_signals == Some(0) {
        return Err("max_signals must be at least 1".to_owned());
    }
    let transform = transform.filter(|t| !t.investigate.is_empty() || !t.osquery.is_empty());
    let mut rule = Rule {
        rule_id: r.rule_id,
        saved_object_id: r.id,
        name: r.name,
        description: r.description,
        rule_type: r.rule_type,
        language: r.language,
        query: r.query,
        index: r.index,
        from: r.from.unwrap_or_else(|| "now-6m".to_owned()),
        to: r.to.unwrap_or_else(|| "now".to_owned()),
        interval: r.interval.unwrap_or_else(|| "5m".to_owned()),
        max_signals: r.max_signals.unwrap_or(100),
        severity: r.severity,
        risk_score: r.risk_score,
        severity_mapping: r.severity_mapping,
        risk_score_mapping: r.risk_score_mapping,
        tags: r.tags,
        threat: r.threat,
        note: r.note,
        setup: r.setup,
        references: r.references,
        false_positives: r.false_positives,
        exceptions_list: r.exceptions_list,
        building_block_type: r.building_block_type,
        timestamp_override: r.timestamp_override,
        timestamp_override_fallback_disabled: r.timestamp_override_fallback_disabled,
        event_category_override: r.event_category_override,
        tiebreaker_field: r.tiebreaker_field,
        timestamp_field: r.timestamp_field,
        author: r.author,
        license: r.license,
        version: r.version.unwrap_or(1),
        rule_name_override: r.rule_name_override,
        timeline_id: r.timeline_id,
        timeline_title: r.timeline_title,
        enabled: r.enabled.unwrap_or(true),
        immutable: r.immutable.unwrap_or(false),
        created_at: r.created_at,
        updated_at: r.updated_at,
        metadata,
        transform,
        params: crate::model::Params::default(),
        origin,
    };
    rule.params = crate::model::Params::without_held(params, rule.held_texts());
    Ok(rule)
}

fn toml_table_to_json(t: &toml::Table) -> Map<String, Value> {
    t.iter()
        .map(|(k, v)| (k.clone(), toml_to_json(v)))
        .collect()
}

fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(toml_table_to_json(t)),
    }
}

/// Parses a Kibana rule export: one rule object per line, in the rules API's
/// snake_case form, or a saved-object document (`{"type":"alert","attributes":…}`).
/// The export summary line, exception lists and items, and connectors are skipped.
pub fn parse_ndjson_rules(text: &str, file: Arc<str>) -> (Vec<Rule>, Vec<RuleProblem>) {
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = (i + 1) as u32;
        if line.trim().is_empty() {
            continue;
        }
        let problem = |column: u32, message: String| RuleProblem {
            file: file.clone(),
            line: line_no,
            column,
            message,
        };
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                problems.push(problem(e.column() as u32, format!("invalid JSON: {e}")));
                continue;
            }
        };
        let Value::Object(obj) = value else {
            problems.push(problem(1, "expected a JSON object".to_owned()));
            continue;
        };
        let Some(obj) = rule_object(obj) else {
            continue;
        };
        let raw: RawRule = match serde_json::from_value(Value::Object(obj.clone())) {
            Ok(r) => r,
            Err(e) => {
                problems.push(problem(1, e.to_string()));
                continue;
            }
        };
        let query = raw
            .query
            .as_deref()
            .map(|q| QueryLocation::plain(q, line_no));
        let origin = RuleOrigin {
            file: file.clone(),
            format: RuleFormat::KibanaNdjson,
            line: line_no,
            query,
        };
        match build_rule(raw, obj, Metadata::default(), None, origin) {
            Ok(r) => rules.push(r),
            Err(m) => problems.push(problem(1, m)),
        }
    }
    (rules, problems)
}

/// The rule object of an export line, or `None` for lines that are not rules.
fn rule_object(obj: Map<String, Value>) -> Option<Map<String, Value>> {
    if obj.contains_key("exported_count")
        || obj.contains_key("exported_rules_count")
        || obj.contains_key("exported_exception_list_count")
    {
        return None;
    }
    if obj.get("type").and_then(Value::as_str) == Some("alert") {
        if let Some(Value::Object(attrs)) = obj.get("attributes") {
            return Some(saved_object_to_rule(&obj, attrs));
        }
    }
    if obj.contains_key("rule_id") {
        Some(obj)
    } else {
        None
    }
}

/// A rule saved object (camelCase `params`) in the rules API's snake_case form.
fn saved_object_to_rule(
    obj: &Map<String, Value>,
    attrs: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(Value::Object(params)) = attrs.get("params") {
        for (k, v) in params {
            out.insert(snake_case(k), v.clone());
        }
    }
    if let Some(id) = obj.get("id") {
        out.insert("id".to_owned(), id.clone());
    }
    for key in ["name", "tags", "enabled"] {
        if let Some(v) = attrs.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    for (from, to) in [("createdAt", "created_at"), ("updatedAt", "updated_at")] {
        if let Some(v) = attrs.get(from) {
            out.insert(to.to_owned(), v.clone());
        }
    }
    if let Some(interval) = attrs.get("schedule").and_then(|s| s.get("interval")) {
        out.insert("interval".to_owned(), interval.clone());
    }
    out
}

fn snake_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = r#"[metadata]
creation_date = "2020/11/04"
maturity = "production"
updated_date = "2024/01/02"

[rule]
author = ["Elastic"]
description = "Test rule"
from = "now-9m"
index = ["logs-endpoint.events.process-*"]
language = "eql"
license = "Elastic License v2"
name = "Test"
risk_score = 47
rule_id = "r-1"
severity = "medium"
tags = ["OS: Windows"]
timestamp_override = "event.ingested"
type = "eql"

query = '''
process where
  process.name == "a.exe"
'''

[[rule.threat]]
framework = "MITRE ATT&CK"

[rule.threat.tactic]
id = "TA0005"
name = "Defense Evasion"
reference = "https://attack.mitre.org/tactics/TA0005/"
"#;

    #[test]
    fn toml_rule_loads_with_query_position() {
        let r = parse_toml_rule(RULE, "t.toml".into());
        let r = match r {
            Ok(r) => r,
            Err(p) => panic!("{p}"),
        };
        assert_eq!(r.rule_id, "r-1");
        assert_eq!(r.severity, Severity::Medium);
        assert_eq!(r.interval, "5m");
        assert_eq!(r.max_signals, 100);
        assert_eq!(r.created_at.as_deref(), Some("2020-11-04T00:00:00.000Z"));
        assert_eq!(r.threat[0].tactic.id, "TA0005");
        assert!(r.is_supported());
        let q = r.query.as_deref().unwrap_or_default();
        let at = q.find("process.name").unwrap_or(0);
        assert_eq!(r.query_position(at), Some((23, 3)));
        assert_eq!(r.query_position(0), Some((22, 1)));
        assert_eq!(r.params.get("from"), Some(Value::from("now-9m")));
    }

    #[test]
    fn kusto_rules_are_supported_and_kuery_rules_are_not() {
        let kql = RULE
            .replace("language = \"eql\"", "language = \"kql\"")
            .replace("type = \"eql\"", "type = \"query\"")
            .replace(
                "process where\n  process.name == \"a.exe\"",
                "DeviceProcessEvents\n| where FileName =~ \"a.exe\"",
            );
        let r = match parse_toml_rule(&kql, "k.toml".into()) {
            Ok(r) => r,
            Err(p) => panic!("{p}"),
        };
        assert!(r.is_kql() && !r.is_eql() && r.is_supported());
        let q = r.query.as_deref().unwrap_or_default();
        assert_eq!(
            r.query_position(q.find("FileName").unwrap_or(0)),
            Some((23, 9))
        );
        let kuery = kql.replace("language = \"kql\"", "language = \"kuery\"");
        let k = match parse_toml_rule(&kuery, "q.toml".into()) {
            Ok(k) => k,
            Err(p) => panic!("{p}"),
        };
        assert!(!k.is_supported() && !k.is_kql());
        let s = crate::RuleSetSummary::of(&[r, k]);
        assert_eq!((s.supported, s.unsupported), (1, 1));
        assert_eq!(s.by_language.get("kql"), Some(&1));
    }

    #[test]
    fn bad_toml_is_a_problem_with_a_position() {
        let text = RULE.replace("severity = \"medium\"", "severity = \"urgent\"");
        let p = parse_toml_rule(&text, "t.toml".into()).err();
        let p = p.map(|p| {
            (
                p.line,
                p.message.contains("urgent") || p.message.contains("variant"),
            )
        });
        assert_eq!(p, Some((16, true)));

        let text = RULE.replace("name = \"Test\"\n", "");
        let p = parse_toml_rule(&text, "t.toml".into()).err();
        assert!(p.is_some_and(|p| p.message.contains("name")));

        let p = parse_toml_rule("[rule\nx=1", "t.toml".into()).err();
        assert!(p.is_some_and(|p| p.line == 1 && p.column > 0));
    }

    #[test]
    fn ndjson_export_skips_summary_and_exception_lines() {
        let text = concat!(
            r#"{"id":"so-1","rule_id":"r-1","name":"A","description":"d","type":"eql","language":"eql","query":"process where true","severity":"high","risk_score":73,"version":3,"immutable":true}"#,
            "\n",
            r#"{"list_id":"l","type":"detection","name":"x","description":"","namespace_type":"single"}"#,
            "\n",
            r#"{"type":"alert","id":"so-2","attributes":{"name":"B","tags":[],"enabled":false,"schedule":{"interval":"10m"},"params":{"ruleId":"r-2","description":"d","type":"query","language":"kuery","query":"a:b","severity":"low","riskScore":21,"maxSignals":5}}}"#,
            "\n",
            r#"{"rule_id":"r-3","name":"bad"}"#,
            "\n",
            r#"{"exported_count":2,"exported_rules_count":2,"missing_rules":[],"missing_rules_count":0}"#,
            "\n"
        );
        let (rules, problems) = parse_ndjson_rules(text, "e.ndjson".into());
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].saved_object_id.as_deref(), Some("so-1"));
        assert_eq!(rules[0].version, 3);
        assert_eq!(rules[0].query_position(8), Some((1, 9)));
        assert_eq!(rules[1].rule_id, "r-2");
        assert_eq!(rules[1].interval, "10m");
        assert_eq!(rules[1].max_signals, 5);
        assert!(!rules[1].enabled);
        assert!(!rules[1].is_supported());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 4);
    }

    #[test]
    fn validator_errors_point_into_the_file() {
        let dir = std::env::temp_dir().join(format!("harrier-rules-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("r.toml");
        if std::fs::write(&path, RULE).is_err() {
            return;
        }
        let validate = |r: &Rule| {
            let q = r.query.as_deref().unwrap_or_default();
            vec![QueryDiagnostic {
                offset: q.find("==").unwrap_or(0),
                message: "no".into(),
            }]
        };
        let (rules, problems) = load_rules_with(
            &[&dir],
            LoadOptions {
                validate_query: Some(&validate),
            },
        );
        let _ = std::fs::remove_dir_all(&dir);
        assert!(rules.is_empty());
        assert_eq!(problems.len(), 1);
        assert_eq!((problems[0].line, problems[0].column), (23, 16));
        assert!(problems[0]
            .to_string()
            .ends_with("r.toml:23:16: rule \"Test\": no"));
    }
}
