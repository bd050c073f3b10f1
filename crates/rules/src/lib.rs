//! Elastic detection rules for Harrier: loading, exceptions, investigation guides and
//! Kibana alert documents.
//!
//! This crate knows nothing of query languages: parsing and validating a rule's query
//! is the job of the EQL (or KQL) crate, which the caller injects through
//! [`LoadOptions::validate_query`].
//!
//! # API
//!
//! - Loading: [`load_rules`]`(paths) -> (Vec<Rule>, Vec<RuleProblem>)` reads
//!   detection-rules TOML files and Kibana rule exports (NDJSON), from files and
//!   directories (recursive, sorted). [`load_rules_with`] adds a query validator whose
//!   errors are reported at the query's `file:line:column`. Problems (bad TOML, missing
//!   fields, duplicate `rule_id`s) are collected and never stop the other files.
//!   [`parse_toml_rule`] and [`parse_ndjson_rules`] work on text.
//! - Model: [`Rule`] with every user-visible field, its `[metadata]`, `[transform]`,
//!   the raw `[rule]` table ([`Rule::params`]) and its [`RuleOrigin`].
//!   [`Rule::is_supported`] is true for EQL rules ([`Rule::is_eql`]) and Kusto rules
//!   (`type = "query"`, `language = "kql"`, [`Rule::is_kql`]); other types load and count
//!   as unsupported. [`Rule::query_position`] maps a byte offset inside the query to a
//!   file line and column. [`RuleSetSummary::of`] counts rules by type and language.
//! - Investigation guides ([`transform`]): [`transform::render_note`] expands
//!   `$investigate_N` / `$osquery_N` as detection-rules does,
//!   [`transform::resolve_guide`] renders readable Markdown for an alert,
//!   [`transform::parse_guide`] parses Kibana's `!{investigate{…}}` / `!{osquery{…}}`.
//! - Exceptions ([`exceptions`]): [`exceptions::ExceptionList`] and its items and
//!   entries (match, match_any, exists, wildcard, nested, list),
//!   [`exceptions::load_exception_lists`] for Kibana's export NDJSON, value lists from
//!   files ([`exceptions::ValueLists`]), and [`exceptions::ExceptionLists::is_excepted`].
//! - Alerts ([`alert`]): [`alert::build_alert`] and [`alert::build_sequence_alerts`]
//!   build `.alerts-security.alerts-*` documents exactly as Kibana does, with Kibana's
//!   deterministic ids, given an [`alert::AlertContext`] (execution time, space, rule
//!   saved-object id).

pub mod alert;
pub mod exceptions;
pub mod load;
pub mod model;
pub mod span;
pub mod transform;

pub use load::{
    load_rules, load_rules_with, parse_ndjson_rules, parse_toml_rule, LoadOptions, QueryDiagnostic,
    QueryValidator, RuleProblem,
};
pub use model::{
    AttackRef, ExceptionListRef, Metadata, Params, RiskScoreMapping, Rule, RuleFormat, RuleOrigin,
    RuleSetSummary, RuleType, Severity, SeverityMapping, Technique, Threat,
};
pub use span::{QueryLocation, StringStyle};
