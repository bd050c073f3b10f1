//! The rule model: every field a detection rule author or a Kibana user sees.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::span::QueryLocation;
use crate::transform::Transform;

/// The kind of a rule, as in the `type` field.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleType {
    Eql,
    Query,
    SavedQuery,
    Threshold,
    NewTerms,
    Esql,
    MachineLearning,
    ThreatMatch,
}

impl RuleType {
    pub fn as_str(&self) -> &'static str {
        match self {
            RuleType::Eql => "eql",
            RuleType::Query => "query",
            RuleType::SavedQuery => "saved_query",
            RuleType::Threshold => "threshold",
            RuleType::NewTerms => "new_terms",
            RuleType::Esql => "esql",
            RuleType::MachineLearning => "machine_learning",
            RuleType::ThreatMatch => "threat_match",
        }
    }
}

impl fmt::Display for RuleType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Alert severity; ordered from `Low` to `Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `severity_mapping` entry: when the event's `field` equals `value`, use `severity`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeverityMapping {
    pub field: String,
    #[serde(default = "equals")]
    pub operator: String,
    pub value: String,
    pub severity: Severity,
}

/// One `risk_score_mapping` entry: take the risk score from the event's `field`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RiskScoreMapping {
    pub field: String,
    #[serde(default = "equals")]
    pub operator: String,
    #[serde(default)]
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_score: Option<u32>,
}

fn equals() -> String {
    "equals".to_owned()
}

/// A MITRE ATT&CK tactic, technique or subtechnique reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttackRef {
    pub id: String,
    pub name: String,
    pub reference: String,
}

/// A technique with its subtechniques.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Technique {
    pub id: String,
    pub name: String,
    pub reference: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subtechnique: Vec<AttackRef>,
}

/// One `[[rule.threat]]` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threat {
    pub framework: String,
    pub tactic: AttackRef,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub technique: Vec<Technique>,
}

/// A reference from a rule to an exception list (`exceptions_list`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionListRef {
    pub id: String,
    pub list_id: String,
    pub namespace_type: String,
    #[serde(rename = "type")]
    pub list_type: String,
}

/// `[metadata]` of a detection-rules TOML file. The typed fields are copies; `raw` keeps it all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metadata {
    pub creation_date: Option<String>,
    pub updated_date: Option<String>,
    pub deprecation_date: Option<String>,
    pub deprecated_reason: Option<String>,
    pub maturity: Option<String>,
    pub integration: Vec<String>,
    pub min_stack_version: Option<String>,
    /// The whole `[metadata]` table as JSON.
    pub raw: Map<String, Value>,
}

/// Which loader produced a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleFormat {
    /// An elastic/detection-rules TOML file.
    Toml,
    /// One line of a Kibana rule export (`.ndjson`).
    KibanaNdjson,
}

/// Where a rule came from.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleOrigin {
    pub file: Arc<str>,
    pub format: RuleFormat,
    /// 1-based line of the rule: the NDJSON line, or 1 for TOML.
    pub line: u32,
    /// Position of the query text inside the file, when the rule has a query.
    pub query: Option<QueryLocation>,
}

/// A detection rule.
///
/// Defaults are Kibana's: `from = "now-6m"`, `to = "now"`, `interval = "5m"`,
/// `max_signals = 100`, `version = 1`, `enabled = true`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Stable rule id (`rule_id`), the same in every Kibana.
    pub rule_id: String,
    /// Kibana saved-object id (`id` in an export); `None` for TOML rules.
    pub saved_object_id: Option<String>,
    pub name: String,
    pub description: String,
    pub rule_type: RuleType,
    /// `eql`, `kuery`, `lucene`, `esql`, or `kql` for Harrier's Kusto rules; `None` for
    /// machine-learning rules.
    pub language: Option<String>,
    pub query: Option<String>,
    pub index: Vec<String>,
    pub from: String,
    pub to: String,
    pub interval: String,
    pub max_signals: u32,
    pub severity: Severity,
    pub risk_score: u32,
    pub severity_mapping: Vec<SeverityMapping>,
    pub risk_score_mapping: Vec<RiskScoreMapping>,
    pub tags: Vec<String>,
    pub threat: Vec<Threat>,
    /// The investigation guide (Markdown), with `$investigate_N` placeholders for TOML rules.
    pub note: Option<String>,
    pub setup: Option<String>,
    pub references: Vec<String>,
    pub false_positives: Vec<String>,
    pub exceptions_list: Vec<ExceptionListRef>,
    /// `"default"` for building-block rules.
    pub building_block_type: Option<String>,
    pub timestamp_override: Option<String>,
    pub timestamp_override_fallback_disabled: Option<bool>,
    pub event_category_override: Option<String>,
    pub tiebreaker_field: Option<String>,
    pub timestamp_field: Option<String>,
    pub author: Vec<String>,
    pub license: Option<String>,
    pub version: u32,
    pub rule_name_override: Option<String>,
    pub timeline_id: Option<String>,
    pub timeline_title: Option<String>,
    pub enabled: bool,
    /// `true` for prebuilt (Elastic-managed) rules in a Kibana export.
    pub immutable: bool,
    /// ISO 8601 creation time: `created_at` of an export, or `[metadata] creation_date`.
    pub created_at: Option<String>,
    /// ISO 8601 update time: `updated_at` of an export, or `[metadata] updated_date`.
    pub updated_at: Option<String>,
    pub metadata: Metadata,
    pub transform: Option<Transform>,
    /// Every field of `[rule]` (or of the exported rule object) as JSON, snake_case,
    /// including ones not modelled above (`new_terms`, `threshold`, `alert_suppression`, …).
    pub params: Params,
    pub origin: RuleOrigin,
}

/// A rule's parameters ([`Rule::params`]) kept as JSON text. Only alert
/// documents read them, a few times per alert; held as maps, a thousand
/// rules' parameters took about 12 MB of a hunt's memory.
///
/// The long texts a rule also holds as fields (description, investigation
/// guide, setup, query: 6 of the 8 MB of Elastic's EQL rules' parameters)
/// can be left out of the text ([`Params::without_held`]);
/// [`Rule::params_map`] puts them back.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Params {
    text: Box<str>,
    /// Bit `i`: `HELD[i]` was left out, its value being the rule's field.
    held: u8,
}

/// Parameters a [`Rule`] holds as string fields of its own, in the order of
/// [`Rule::held_texts`].
const HELD: [&str; 4] = ["description", "note", "setup", "query"];

impl Params {
    pub fn new(map: Map<String, Value>) -> Params {
        Params {
            text: Value::Object(map).to_string().into_boxed_str(),
            held: 0,
        }
    }

    /// `map` without each parameter of [`HELD`] whose value is the string
    /// `texts` gives for it (the rule's field), kept once, in the rule.
    pub(crate) fn without_held(mut map: Map<String, Value>, texts: [Option<&str>; 4]) -> Params {
        let mut held = 0;
        for (i, (key, text)) in HELD.iter().zip(texts).enumerate() {
            let same = matches!((map.get(*key), text), (Some(Value::String(v)), Some(t)) if v == t);
            if same {
                map.remove(*key);
                held |= 1 << i;
            }
        }
        Params {
            held,
            ..Params::new(map)
        }
    }

    /// The parameters as a JSON object (without those left out: see
    /// [`Rule::params_map`]).
    pub fn map(&self) -> Map<String, Value> {
        // the text was written from a map by `new`, so it reads back as one
        serde_json::from_str(&self.text).unwrap_or_default()
    }

    /// One parameter (not one left out). Only its value is built: the
    /// others are scanned past.
    pub fn get(&self, key: &str) -> Option<Value> {
        let mut de = serde_json::Deserializer::from_str(&self.text);
        serde::de::DeserializeSeed::deserialize(OneKey(key), &mut de).unwrap_or_default()
    }
}

/// Reads one key's value out of a JSON object (the last, if repeated, as a
/// map keeps it), skipping the other values without building them.
struct OneKey<'k>(&'k str);

impl<'de> serde::de::DeserializeSeed<'de> for OneKey<'_> {
    type Value = Option<Value>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for OneKey<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Option<Value>, A::Error> {
        let mut found = None;
        while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
            if k == self.0 {
                found = Some(m.next_value::<Value>()?);
            } else {
                m.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

impl Rule {
    /// The rule's parameters as a JSON object, each as it was read (those
    /// [`Params`] left out come back from the rule's fields).
    pub fn params_map(&self) -> Map<String, Value> {
        let mut map = self.params.map();
        for (i, (key, text)) in HELD.iter().zip(self.held_texts()).enumerate() {
            if let Some(text) = text.filter(|_| self.params.held & (1 << i) != 0) {
                map.insert((*key).to_owned(), Value::from(text));
            }
        }
        map
    }

    /// The fields whose text parameters may leave out, in [`HELD`]'s order.
    pub(crate) fn held_texts(&self) -> [Option<&str>; 4] {
        [
            Some(self.description.as_str()),
            self.note.as_deref(),
            self.setup.as_deref(),
            self.query.as_deref(),
        ]
    }

    /// Whether Harrier can run this rule today: EQL rules and Kusto (KQL) rules.
    pub fn is_supported(&self) -> bool {
        self.is_eql() || self.is_kql()
    }

    /// An EQL rule with a query.
    pub fn is_eql(&self) -> bool {
        self.rule_type == RuleType::Eql
            && self.language.as_deref().unwrap_or("eql") == "eql"
            && self.query.is_some()
    }

    /// A Kusto (KQL) rule: `type = "query"` with `language = "kql"` and a query. Each row
    /// of the query's result is one alert. (Elastic's own Kibana query language is
    /// `language = "kuery"`; such rules are not KQL rules.)
    pub fn is_kql(&self) -> bool {
        self.rule_type == RuleType::Query
            && self.language.as_deref() == Some("kql")
            && self.query.is_some()
    }

    /// `maturity = "deprecated"` in the TOML metadata, or a deprecation date.
    pub fn is_deprecated(&self) -> bool {
        self.metadata.maturity.as_deref() == Some("deprecated")
            || self.metadata.deprecation_date.is_some()
    }

    pub fn is_building_block(&self) -> bool {
        self.building_block_type.is_some()
    }

    /// Maps a byte offset inside [`Rule::query`] to a 1-based (line, column) in the
    /// rule's file. `None` when the rule has no query or its position is unknown.
    pub fn query_position(&self, offset: usize) -> Option<(u32, u32)> {
        self.origin.query.as_ref().map(|q| q.position(offset))
    }
}

/// Counts over a set of rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RuleSetSummary {
    pub total: usize,
    pub supported: usize,
    pub unsupported: usize,
    pub building_blocks: usize,
    pub deprecated: usize,
    pub by_type: BTreeMap<String, usize>,
    /// Languages; rules without one (machine learning) count under `"none"`.
    pub by_language: BTreeMap<String, usize>,
    /// Unsupported rules by type.
    pub unsupported_by_type: BTreeMap<String, usize>,
}

impl RuleSetSummary {
    pub fn of(rules: &[Rule]) -> RuleSetSummary {
        let mut s = RuleSetSummary::default();
        for r in rules {
            s.total += 1;
            *s.by_type.entry(r.rule_type.to_string()).or_default() += 1;
            let lang = r.language.clone().unwrap_or_else(|| "none".to_owned());
            *s.by_language.entry(lang).or_default() += 1;
            if r.is_supported() {
                s.supported += 1;
            } else {
                s.unsupported += 1;
                *s.unsupported_by_type
                    .entry(r.rule_type.to_string())
                    .or_default() += 1;
            }
            if r.is_building_block() {
                s.building_blocks += 1;
            }
            if r.is_deprecated() {
                s.deprecated += 1;
            }
        }
        s
    }
}

impl fmt::Display for RuleSetSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rules: {} supported, {} unsupported",
            self.total, self.supported, self.unsupported
        )?;
        if !self.unsupported_by_type.is_empty() {
            let parts: Vec<String> = self
                .unsupported_by_type
                .iter()
                .map(|(t, n)| format!("{t} {n}"))
                .collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `Params::get` gives what the whole map gives for every key (nested
    /// values, escaped keys and text included), and nothing for a key the
    /// parameters do not have.
    #[test]
    fn one_parameter_is_the_maps() {
        let map = json!({
            "meta": {"from": "1m", "kibana_siem_app_url": "https://x"},
            "note": "## Triage\n\"quoted\" \\ text",
            "threat": [{"framework": "MITRE ATT&CK", "tactic": {"id": "TA0002"}}],
            "risk_score": 47,
            "we\"ird": true,
            "max_signals": null
        });
        let Value::Object(map) = map else {
            panic!("an object")
        };
        let params = Params::new(map.clone());
        for (k, v) in &map {
            assert_eq!(params.get(k).as_ref(), Some(v), "{k}");
        }
        assert_eq!(params.get("query"), None);
        assert_eq!(params.map(), map);
    }

    /// Texts the rule holds are kept once, and the rule's parameters read
    /// back as they were read in; a parameter that differs from the field
    /// (or is not a string) stays in the text.
    #[test]
    fn held_texts_come_back_from_the_rule() {
        let mut rule = crate::load::parse_toml_rule(
            "[rule]\nrule_id = \"r\"\nname = \"n\"\ndescription = \"d\"\ntype = \"eql\"\n\
             language = \"eql\"\nquery = \"process where true\"\nrisk_score = 21\n\
             severity = \"low\"\nnote = \"## Triage\"\n",
            "r.toml".into(),
        )
        .expect("a rule");
        let full = rule.params_map();
        assert_eq!(full.get("note"), Some(&json!("## Triage")));
        assert_eq!(full.get("description"), Some(&json!("d")));
        assert_eq!(full.get("query"), Some(&json!("process where true")));
        assert!(!full.contains_key("setup"));
        assert_eq!(rule.params.get("note"), None, "kept in the rule only");

        let mut map = full.clone();
        map.insert("setup".into(), json!(7));
        map.insert("query".into(), json!("other"));
        rule.params = Params::without_held(map.clone(), rule.held_texts());
        assert_eq!(rule.params.get("query"), Some(json!("other")));
        assert_eq!(rule.params_map(), map);
    }
}
