//! Alert documents as Kibana's detection engine writes them to
//! `.alerts-security.alerts-<space>` (8.x "alerts as data").
//!
//! The layout follows Kibana's `build_alert.ts`, `transform_hit_to_alert.ts`,
//! `wrap_hits_factory.ts`, `generate_building_block_ids.ts` and
//! `build_alert_group_from_sequence.ts`:
//!
//! - An alert is the event's `_source` (minus `event.kind`), with the alert fields
//!   added as dotted top-level keys (`kibana.alert.*`, `event.kind: "signal"`, and
//!   `@timestamp` = execution time).
//! - Single-event alert id: `sha256(index ‖ event id ‖ version ‖ "<space>:<rule uuid>")`.
//!   EQL responses carry no `_version`, so Kibana hashes the text `undefined` there;
//!   [`AlertContext::event_version`] sets it for other sources.
//! - Sequences give one building-block alert per event plus a shell alert; ids follow
//!   Kibana's recipes, so reruns produce the same ids. Overrides
//!   (`severity_mapping`, `risk_score_mapping`, `rule_name_override`) apply to
//!   single-event alerts only, as in Kibana.
//! - Not reproduced: ECS validation of source fields (Kibana drops invalid ones), asset
//!   criticality and risk enrichment, and the legacy `kibana.alert.original_event.*` copy.

use chrono::{DateTime, SecondsFormat, Utc};
use harrier_event::{lookup_first, Event, FieldPath};
use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};

use crate::model::{Rule, Severity};
use crate::transform::render_note;

/// How and where a rule ran.
#[derive(Clone, Debug)]
pub struct AlertContext {
    /// Start of the rule execution: the alerts' `@timestamp`.
    pub execution_time: DateTime<Utc>,
    /// Kibana space, e.g. `default`.
    pub space_id: String,
    /// The rule's saved-object id (`kibana.alert.rule.uuid`). Defaults to the rule's
    /// saved-object id from an export, else its `rule_id`.
    pub rule_uuid: Option<String>,
    /// Kibana's public base URL; when set, alerts get a `kibana.alert.url`.
    pub public_base_url: Option<String>,
    /// Set for manual runs (backfill): the time the run stands for.
    pub intended_timestamp: Option<DateTime<Utc>>,
    /// `created_by` / `updated_by` of the rule.
    pub user: Option<String>,
    /// The events' `_version` as Elasticsearch would report it; `None` hashes as
    /// `undefined`, which is what EQL searches give Kibana.
    pub event_version: Option<u64>,
}

impl AlertContext {
    pub fn new(execution_time: DateTime<Utc>, space_id: &str) -> AlertContext {
        AlertContext {
            execution_time,
            space_id: space_id.to_owned(),
            rule_uuid: None,
            public_base_url: None,
            intended_timestamp: None,
            user: None,
            event_version: None,
        }
    }

    fn rule_uuid<'a>(&'a self, rule: &'a Rule) -> &'a str {
        self.rule_uuid
            .as_deref()
            .or(rule.saved_object_id.as_deref())
            .unwrap_or(&rule.rule_id)
    }
}

/// The `_id` of an event: its own, or one derived from its index and content
/// (first 40 hex digits of a SHA-256) so that reruns agree.
pub fn event_id(event: &Event) -> String {
    if let Some(id) = &event.id {
        return id.to_string();
    }
    let mut h = id_hasher(&event.index);
    // the document's JSON text, written straight into the hash (writing a
    // map of JSON values into a hash cannot fail)
    let _ = serde_json::to_writer(&mut h, &event.source);
    id_of_hash(h)
}

/// The [`event_id`] of an event in `index` without an id of its own, given
/// the compact JSON text `serde_json` writes for its document: the same id,
/// without writing the document again.
pub fn derived_event_id(index: &str, json: &[u8]) -> String {
    let mut h = id_hasher(index);
    h.update(json);
    id_of_hash(h)
}

/// The hash of a derived event id, given the event's index; its document's
/// JSON text follows.
fn id_hasher(index: &str) -> Sha256 {
    let mut h = Sha256::new();
    h.update(index.as_bytes());
    h.update([0u8]);
    h
}

fn id_of_hash(h: Sha256) -> String {
    let mut s = hex::encode(h.finalize());
    s.truncate(40);
    s
}

/// The id (`kibana.alert.uuid`) of an alert document.
pub fn alert_id(alert: &Map<String, Value>) -> Option<&str> {
    alert.get("kibana.alert.uuid").and_then(Value::as_str)
}

fn sha256_hex(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The severity [`build_alert`] gives the alert for `event` (the rule's, or
/// what its `severity_mapping` makes of the event).
pub fn alert_severity(rule: &Rule, event: &Event) -> Severity {
    severity_override(rule, &event.source).unwrap_or(rule.severity)
}

/// What an alert's primary document says of it (the alert of a single-event
/// rule, the shell of a sequence): its `kibana.alert.rule.name`,
/// `kibana.alert.severity`, `kibana.alert.risk_score` and `kibana.alert.uuid`,
/// for writers that show only these and need not build the documents.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertHead {
    pub name: String,
    pub severity: Severity,
    pub risk: Value,
    pub uuid: String,
}

/// The [`AlertHead`] of [`build_alert`]'s document.
pub fn alert_head(rule: &Rule, event: &Event, ctx: &AlertContext) -> AlertHead {
    event_head(rule, event, &event_id(event), ctx)
}

/// [`alert_head`] for an event whose id is `eid`.
fn event_head(rule: &Rule, event: &Event, eid: &str, ctx: &AlertContext) -> AlertHead {
    let uuid = ctx.rule_uuid(rule);
    let version = ctx
        .event_version
        .map_or_else(|| "undefined".to_owned(), |v| v.to_string());
    let scope = format!("{}:{}", ctx.space_id, uuid);
    AlertHead {
        name: name_override(rule, &event.source).unwrap_or_else(|| rule.name.clone()),
        severity: alert_severity(rule, event),
        risk: risk_score_override(rule, &event.source)
            .unwrap_or_else(|| Value::from(rule.risk_score)),
        uuid: sha256_hex(&[&event.index, eid, &version, &scope]),
    }
}

/// Builds the alert for one event matched by a single-event rule.
pub fn build_alert(rule: &Rule, event: &Event, ctx: &AlertContext) -> Map<String, Value> {
    let eid = event_id(event);
    let head = event_head(rule, event, &eid, ctx);
    let reason = reason_message(&head.name, head.severity, Some(&event.source));
    let parent = Parent::Event {
        id: &eid,
        index: &event.index,
    };
    let fields = alert_fields(
        rule,
        ctx,
        &[parent],
        original_time(&event.source),
        &reason,
        &head.uuid,
        Overrides {
            name: head.name,
            severity: head.severity,
            risk: head.risk,
        },
    );
    merge_into_source(&event.source, fields)
}

/// Builds the alert for one result row of a query rule that returns rows rather than
/// events (Harrier's Kusto rules). The row's columns are the alert's event fields,
/// `kibana.alert.original_time` is `time` (the row's `Timestamp` or `TimeGenerated`), and
/// the alert has no ancestors (a row may stand for many events, or none). The id is
/// `sha256("row" ‖ table ‖ row JSON ‖ occurrence ‖ "<space>:<rule uuid>")`: `occurrence`
/// counts earlier identical rows of the same result, so reruns give the same ids and
/// identical rows distinct ones.
pub fn build_row_alert(
    rule: &Rule,
    table: &str,
    row: &Map<String, Value>,
    time: Option<&str>,
    occurrence: usize,
    ctx: &AlertContext,
) -> Map<String, Value> {
    let uuid = ctx.rule_uuid(rule);
    let scope = format!("{}:{}", ctx.space_id, uuid);
    let row_json = Value::Object(row.clone()).to_string();
    let id = sha256_hex(&["row", table, &row_json, &occurrence.to_string(), &scope]);
    let name = name_override(rule, row).unwrap_or_else(|| rule.name.clone());
    let severity = severity_override(rule, row).unwrap_or(rule.severity);
    let risk = risk_score_override(rule, row).unwrap_or_else(|| Value::from(rule.risk_score));
    let reason = reason_message(&name, severity, Some(row));
    let fields = alert_fields(
        rule,
        ctx,
        &[],
        time.and_then(parse_time).map(iso),
        &reason,
        &id,
        Overrides {
            name,
            severity,
            risk,
        },
    );
    merge_into_source(row, fields)
}

/// Builds the alerts for one EQL sequence: a building-block alert per event (in
/// sequence order), then the shell alert. All share `kibana.alert.group.id`.
pub fn build_sequence_alerts(
    rule: &Rule,
    events: &[&Event],
    ctx: &AlertContext,
) -> Vec<Map<String, Value>> {
    if events.is_empty() {
        return Vec::new();
    }
    let plain = Overrides {
        name: rule.name.clone(),
        severity: rule.severity,
        risk: Value::from(rule.risk_score),
    };
    let SequenceIds {
        events: ids,
        blocks: block_ids,
        shell: shell_id,
    } = sequence_ids(rule, events, ctx);

    let mut blocks: Vec<Map<String, Value>> = Vec::with_capacity(events.len() + 1);
    for ((e, eid), bid) in events.iter().zip(&ids).zip(&block_ids) {
        let reason = reason_message(&rule.name, rule.severity, Some(&e.source));
        let fields = alert_fields(
            rule,
            ctx,
            &[Parent::Event {
                id: eid,
                index: &e.index,
            }],
            original_time(&e.source),
            &reason,
            bid,
            plain.clone(),
        );
        blocks.push(merge_into_source(&e.source, fields));
    }

    // The shell: the blocks' common fields, overlaid with alert fields whose parents
    // are the blocks (each block's ancestry, then the block itself).
    let merged = intersect_all(&blocks);
    // Kibana hands the intersected source to the reason builder as if it were a search
    // hit; it finds no `_source` there and reads `fields`, normally absent, so the
    // shell's reason names no fields.
    let reason_doc = merged.as_ref().map(|m| match m.get("fields") {
        Some(Value::Object(f)) => f.clone(),
        _ => Map::new(),
    });
    let reason = reason_message(&rule.name, rule.severity, reason_doc.as_ref());
    let parents = block_parents(events, &ids, &block_ids);
    // `original_time` of the shell comes from the first block, whose `@timestamp`
    // is the execution time.
    let first_block_time = blocks
        .first()
        .and_then(|b| b.get("@timestamp"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let fields = alert_fields(
        rule,
        ctx,
        &parents,
        first_block_time,
        &reason,
        &shell_id,
        plain,
    );
    let mut shell = merged.unwrap_or_default();
    for (k, v) in fields {
        shell.insert(k, v);
    }
    shell.insert(
        "kibana.alert.group.id".to_owned(),
        Value::from(shell_id.clone()),
    );

    for (i, b) in blocks.iter_mut().enumerate() {
        b.insert(
            "kibana.alert.building_block_type".to_owned(),
            Value::from("default"),
        );
        b.insert(
            "kibana.alert.group.id".to_owned(),
            Value::from(shell_id.clone()),
        );
        b.insert("kibana.alert.group.index".to_owned(), Value::from(i));
    }
    blocks.push(shell);
    blocks
}

/// The ids of a sequence's alerts: its events', its building blocks' and
/// its shell's.
struct SequenceIds {
    events: Vec<String>,
    blocks: Vec<String>,
    shell: String,
}

fn sequence_ids(rule: &Rule, events: &[&Event], ctx: &AlertContext) -> SequenceIds {
    let uuid = ctx.rule_uuid(rule);
    let ids: Vec<String> = events.iter().map(|e| event_id(e)).collect();
    // Building-block ids depend on every block's ancestry.
    let mut base = String::new();
    for (e, id) in events.iter().zip(&ids) {
        base.push_str(id);
        base.push_str(&e.index);
        base.push_str(uuid);
    }
    let blocks: Vec<String> = (0..events.len())
        .map(|i| sha256_hex(&[&base, &i.to_string()]))
        .collect();
    // the shell's id: its parents' ancestries (each block's, then the block)
    let mut shell_id_input = String::new();
    for p in &block_parents(events, &ids, &blocks) {
        for a in p.ancestors(uuid) {
            shell_id_input.push_str(&a.id);
            shell_id_input.push_str(&a.index);
        }
    }
    shell_id_input.push_str(uuid);
    SequenceIds {
        shell: sha256_hex(&[&shell_id_input]),
        events: ids,
        blocks,
    }
}

/// A sequence shell's parents: its building blocks.
fn block_parents<'a>(
    events: &[&'a Event],
    ids: &'a [String],
    block_ids: &'a [String],
) -> Vec<Parent<'a>> {
    events
        .iter()
        .zip(ids)
        .zip(block_ids)
        .map(|((e, eid), bid)| Parent::Block {
            event_id: eid,
            event_index: &e.index,
            id: bid,
        })
        .collect()
}

/// The [`AlertHead`] of [`build_sequence_alerts`]'s shell; `None` for no events.
pub fn sequence_head(rule: &Rule, events: &[&Event], ctx: &AlertContext) -> Option<AlertHead> {
    if events.is_empty() {
        return None;
    }
    Some(AlertHead {
        name: rule.name.clone(),
        severity: rule.severity,
        risk: Value::from(rule.risk_score),
        uuid: sequence_ids(rule, events, ctx).shell,
    })
}

#[derive(Clone)]
struct Overrides {
    name: String,
    severity: Severity,
    risk: Value,
}

/// A direct parent of an alert.
enum Parent<'a> {
    Event {
        id: &'a str,
        index: &'a str,
    },
    /// A sequence building block (itself an alert on one event).
    Block {
        event_id: &'a str,
        event_index: &'a str,
        id: &'a str,
    },
}

struct Ancestor {
    id: String,
    signal: bool,
    index: String,
    depth: u32,
}

impl Parent<'_> {
    fn depth(&self) -> u32 {
        match self {
            Parent::Event { .. } => 0,
            Parent::Block { .. } => 1,
        }
    }

    /// The parent's own ancestors followed by the parent.
    fn ancestors(&self, _rule_uuid: &str) -> Vec<Ancestor> {
        match self {
            Parent::Event { id, index } => vec![Ancestor {
                id: (*id).to_owned(),
                signal: false,
                index: (*index).to_owned(),
                depth: 0,
            }],
            Parent::Block {
                event_id,
                event_index,
                id,
            } => vec![
                Ancestor {
                    id: (*event_id).to_owned(),
                    signal: false,
                    index: (*event_index).to_owned(),
                    depth: 0,
                },
                // Building blocks are not indexed yet when the shell is built: their
                // `_index` is empty.
                Ancestor {
                    id: (*id).to_owned(),
                    signal: true,
                    index: String::new(),
                    depth: 1,
                },
            ],
        }
    }
}

fn ancestor_json(a: &Ancestor, rule_uuid: &str) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), Value::from(a.id.clone()));
    m.insert(
        "type".into(),
        Value::from(if a.signal { "signal" } else { "event" }),
    );
    m.insert("index".into(), Value::from(a.index.clone()));
    m.insert("depth".into(), Value::from(a.depth));
    if a.signal {
        m.insert("rule".into(), Value::from(rule_uuid));
    }
    Value::Object(m)
}

/// The `kibana.alert.*` fields, in Kibana's order.
fn alert_fields(
    rule: &Rule,
    ctx: &AlertContext,
    parents: &[Parent<'_>],
    original_time: Option<String>,
    reason: &str,
    alert_uuid: &str,
    o: Overrides,
) -> Vec<(String, Value)> {
    let uuid = ctx.rule_uuid(rule);
    let depth = parents.iter().map(Parent::depth).max().unwrap_or(0) + 1;
    let ancestors: Vec<Value> = parents
        .iter()
        .flat_map(|p| p.ancestors(uuid))
        .map(|a| ancestor_json(&a, uuid))
        .collect();
    let timestamp = iso(ctx.execution_time);
    let user = ctx.user.clone().unwrap_or_default();
    let note = rule
        .note
        .as_deref()
        .map(|n| render_note(n, rule.transform.as_ref()));
    let mut f: Vec<(String, Value)> = Vec::with_capacity(64);
    let mut put = |k: &str, v: Value| f.push((k.to_owned(), v));
    let opt = |v: &Option<String>| v.as_ref().map(|s| Value::from(s.clone()));

    put("@timestamp", Value::from(timestamp.clone()));
    put("kibana.space_ids", Value::from(vec![ctx.space_id.clone()]));
    put("event.kind", Value::from("signal"));
    if let Some(t) = original_time {
        put("kibana.alert.original_time", Value::from(t));
    }
    put("kibana.alert.rule.consumer", Value::from("siem"));
    put("kibana.alert.ancestors", Value::Array(ancestors));
    put("kibana.alert.status", Value::from("active"));
    put("kibana.alert.workflow_status", Value::from("open"));
    put("kibana.alert.depth", Value::from(depth));
    put("kibana.alert.reason", Value::from(reason));
    if let Some(b) = opt(&rule.building_block_type) {
        put("kibana.alert.building_block_type", b);
    }
    put("kibana.alert.severity", Value::from(o.severity.as_str()));
    put("kibana.alert.risk_score", o.risk);
    put(
        "kibana.alert.rule.parameters",
        Value::Object(parameters(rule, note.as_deref())),
    );
    put("kibana.alert.rule.actions", Value::Array(Vec::new()));
    put("kibana.alert.rule.author", Value::from(rule.author.clone()));
    put(
        "kibana.alert.rule.created_at",
        Value::from(rule.created_at.clone().unwrap_or_else(|| timestamp.clone())),
    );
    put("kibana.alert.rule.created_by", Value::from(user.clone()));
    put(
        "kibana.alert.rule.description",
        Value::from(rule.description.clone()),
    );
    put("kibana.alert.rule.enabled", Value::from(rule.enabled));
    put(
        "kibana.alert.rule.exceptions_list",
        to_json(&rule.exceptions_list),
    );
    put(
        "kibana.alert.rule.false_positives",
        Value::from(rule.false_positives.clone()),
    );
    put("kibana.alert.rule.from", Value::from(rule.from.clone()));
    put("kibana.alert.rule.immutable", Value::from(rule.immutable));
    put(
        "kibana.alert.rule.interval",
        Value::from(rule.interval.clone()),
    );
    put("kibana.alert.rule.indices", Value::from(rule.index.clone()));
    if let Some(l) = opt(&rule.license) {
        put("kibana.alert.rule.license", l);
    }
    put(
        "kibana.alert.rule.max_signals",
        Value::from(rule.max_signals),
    );
    put("kibana.alert.rule.name", Value::from(o.name));
    if let Some(n) = note {
        put("kibana.alert.rule.note", Value::from(n));
    }
    put(
        "kibana.alert.rule.references",
        Value::from(rule.references.clone()),
    );
    put(
        "kibana.alert.rule.risk_score_mapping",
        to_json(&rule.risk_score_mapping),
    );
    put(
        "kibana.alert.rule.rule_id",
        Value::from(rule.rule_id.clone()),
    );
    if let Some(v) = opt(&rule.rule_name_override) {
        put("kibana.alert.rule.rule_name_override", v);
    }
    put(
        "kibana.alert.rule.severity_mapping",
        to_json(&rule.severity_mapping),
    );
    put("kibana.alert.rule.tags", Value::from(rule.tags.clone()));
    put("kibana.alert.rule.threat", to_json(&rule.threat));
    if let Some(v) = opt(&rule.timeline_id) {
        put("kibana.alert.rule.timeline_id", v);
    }
    if let Some(v) = opt(&rule.timeline_title) {
        put("kibana.alert.rule.timeline_title", v);
    }
    if let Some(v) = opt(&rule.timestamp_override) {
        put("kibana.alert.rule.timestamp_override", v);
    }
    put("kibana.alert.rule.to", Value::from(rule.to.clone()));
    put(
        "kibana.alert.rule.type",
        Value::from(rule.rule_type.as_str()),
    );
    put(
        "kibana.alert.rule.updated_at",
        Value::from(rule.updated_at.clone().unwrap_or_else(|| timestamp.clone())),
    );
    put("kibana.alert.rule.updated_by", Value::from(user));
    put("kibana.alert.rule.uuid", Value::from(uuid));
    put("kibana.alert.rule.version", Value::from(rule.version));
    if let Some(url) = alert_url(ctx, alert_uuid, &timestamp) {
        put("kibana.alert.url", Value::from(url));
    }
    put("kibana.alert.uuid", Value::from(alert_uuid));
    put("kibana.alert.workflow_tags", Value::Array(Vec::new()));
    put(
        "kibana.alert.workflow_assignee_ids",
        Value::Array(Vec::new()),
    );
    if let Some(Value::Object(meta)) = rule.params.get("meta") {
        let mut flat = Vec::new();
        flatten("kibana.alert.rule.meta", &meta, &mut flat);
        for (k, v) in flat {
            put(&k, v);
        }
    }
    put("kibana.alert.rule.risk_score", Value::from(rule.risk_score));
    put(
        "kibana.alert.rule.severity",
        Value::from(rule.severity.as_str()),
    );
    if let Some(b) = opt(&rule.building_block_type) {
        put("kibana.alert.rule.building_block_type", b);
    }
    put(
        "kibana.alert.intended_timestamp",
        Value::from(ctx.intended_timestamp.map_or(timestamp, iso)),
    );
    put(
        "kibana.alert.rule.execution.type",
        Value::from(if ctx.intended_timestamp.is_some() {
            "manual"
        } else {
            "scheduled"
        }),
    );
    f
}

/// Serialises model values; they are plain data, so this cannot fail in practice.
fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn flatten(prefix: &str, obj: &Map<String, Value>, out: &mut Vec<(String, Value)>) {
    for (k, v) in obj {
        let key = format!("{prefix}.{k}");
        match v {
            Value::Object(inner) => flatten(&key, inner, out),
            other => out.push((key, other.clone())),
        }
    }
}

/// `<base>[/s/<space>]/app/security/alerts/redirect/<id>?index=…&timestamp=…`.
fn alert_url(ctx: &AlertContext, alert_uuid: &str, timestamp: &str) -> Option<String> {
    let base = ctx.public_base_url.as_deref()?.trim_end_matches('/');
    let space = if ctx.space_id.is_empty() || ctx.space_id == "default" {
        String::new()
    } else {
        format!("/s/{}", ctx.space_id)
    };
    Some(format!(
        "{base}{space}/app/security/alerts/redirect/{alert_uuid}?index=.alerts-security.alerts-{}&timestamp={timestamp}",
        ctx.space_id
    ))
}

/// `kibana.alert.rule.parameters`: the rule's parameters in snake_case, sorted by key.
/// Rule-level settings that Kibana keeps outside the parameters (name, tags, enabled,
/// interval, ids, timestamps) are left out.
fn parameters(rule: &Rule, note: Option<&str>) -> Map<String, Value> {
    const NOT_PARAMS: [&str; 11] = [
        "name",
        "tags",
        "enabled",
        "interval",
        "id",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
        "throttle",
        "actions",
    ];
    let mut p: std::collections::BTreeMap<String, Value> = rule
        .params_map()
        .into_iter()
        .filter(|(k, _)| !NOT_PARAMS.contains(&k.as_str()) && k.as_str() != "output_index")
        .collect();
    let mut set = |k: &str, v: Value| {
        p.insert(k.to_owned(), v);
    };
    set("author", Value::from(rule.author.clone()));
    set("description", Value::from(rule.description.clone()));
    set("exceptions_list", to_json(&rule.exceptions_list));
    set("false_positives", Value::from(rule.false_positives.clone()));
    set("from", Value::from(rule.from.clone()));
    set("immutable", Value::from(rule.immutable));
    set("max_signals", Value::from(rule.max_signals));
    set("references", Value::from(rule.references.clone()));
    set("risk_score", Value::from(rule.risk_score));
    set("risk_score_mapping", to_json(&rule.risk_score_mapping));
    set("rule_id", Value::from(rule.rule_id.clone()));
    set("severity", Value::from(rule.severity.as_str()));
    set("severity_mapping", to_json(&rule.severity_mapping));
    set("threat", to_json(&rule.threat));
    set("to", Value::from(rule.to.clone()));
    set("type", Value::from(rule.rule_type.as_str()));
    set("version", Value::from(rule.version));
    set("setup", Value::from(rule.setup.clone().unwrap_or_default()));
    if let Some(n) = note {
        set("note", Value::from(n));
    }
    for k in ["related_integrations", "required_fields"] {
        if !p.contains_key(k) {
            p.insert(k.to_owned(), Value::Array(Vec::new()));
        }
    }
    if !p.contains_key("rule_source") {
        let source = if rule.immutable {
            serde_json::json!({"type": "external", "is_customized": false})
        } else {
            serde_json::json!({"type": "internal"})
        };
        p.insert("rule_source".to_owned(), source);
    }
    p.into_iter().collect()
}

/// The event with its `event.kind` removed and the alert fields added.
fn merge_into_source(
    source: &Map<String, Value>,
    fields: Vec<(String, Value)>,
) -> Map<String, Value> {
    let mut doc = source.clone();
    doc.remove("event.kind");
    if let Some(Value::Object(ev)) = doc.get_mut("event") {
        ev.remove("kind");
    }
    for (k, v) in fields {
        doc.insert(k, v);
    }
    doc
}

/// `@timestamp` of the event as an ISO 8601 UTC time with milliseconds.
fn original_time(source: &Map<String, Value>) -> Option<String> {
    let v = lookup_first(source, &FieldPath::new("@timestamp"))?;
    let t = match v {
        Value::String(s) => parse_time(s)?,
        Value::Number(n) => DateTime::from_timestamp_millis(n.as_f64()? as i64)?,
        _ => return None,
    };
    Some(iso(t))
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    s.trim()
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
}

/// A field read the way lodash `get` reads it: a top-level key with that exact
/// (dotted) name first, else the path through nested objects.
fn kibana_get<'a>(doc: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = doc.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut cur = doc.get(parts.next()?)?;
    for p in parts {
        cur = match cur {
            Value::Object(o) => o.get(p)?,
            Value::Array(a) => a.get(p.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn name_override(rule: &Rule, source: &Map<String, Value>) -> Option<String> {
    let field = rule.rule_name_override.as_deref()?;
    kibana_get(source, field)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

fn safe_integer(v: &Value) -> Option<f64> {
    let f = v.as_f64()?;
    (f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER).then_some(f)
}

/// `severity_mapping`: entries are tried from low to high severity and the last match
/// wins, so the highest matching severity applies. `event.severity` compares as an
/// integer; other fields compare as strings.
fn severity_override(rule: &Rule, source: &Map<String, Value>) -> Option<Severity> {
    let mut sorted: Vec<_> = rule.severity_mapping.iter().collect();
    sorted.sort_by_key(|m| m.severity);
    let mut found = None;
    for m in sorted {
        let Some(v) = kibana_get(source, &m.field) else {
            continue;
        };
        let values: Vec<&Value> = match v {
            Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        let hit = if m.field == "event.severity" {
            let wanted = m.value.trim().parse::<f64>().ok().map(f64::floor);
            values
                .iter()
                .filter(|v| v.is_number())
                .filter_map(|v| safe_integer(v))
                .any(|n| Some(n) == wanted)
        } else {
            values.iter().any(|v| match v {
                Value::String(s) => *s == m.value,
                Value::Number(_) => safe_integer(v).is_some_and(|n| format_js_number(n) == m.value),
                _ => false,
            })
        };
        if hit {
            found = Some(m.severity);
        }
    }
    found
}

fn format_js_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e21 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// `risk_score_mapping`: the largest value in 0..=100 of the first entry's field
/// (numbers, or strings holding numbers).
fn risk_score_override(rule: &Rule, source: &Map<String, Value>) -> Option<Value> {
    let m = rule.risk_score_mapping.first()?;
    let v = kibana_get(source, &m.field)?;
    let values: Vec<&Value> = match v {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    let best = values
        .iter()
        .filter_map(|v| match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => {
                let t = s.trim();
                if t.is_empty() {
                    Some(0.0)
                } else {
                    t.parse::<f64>().ok()
                }
            }
            _ => None,
        })
        .filter(|n| n.is_finite() && (0.0..=100.0).contains(n))
        .fold(None, |acc: Option<f64>, n| {
            Some(acc.map_or(n, |a| a.max(n)))
        })?;
    Some(if best.fract() == 0.0 {
        Value::from(best as i64)
    } else {
        Number::from_f64(best).map_or(Value::Null, Value::Number)
    })
}

/// `kibana.alert.reason`, e.g. "process event with process cmd.exe, parent process
/// explorer.exe, by bob on host-1 created high alert Suspicious Thing.".
/// Only string values and non-empty arrays are shown (a numeric port is not).
pub fn reason_message(name: &str, severity: Severity, doc: Option<&Map<String, Value>>) -> String {
    let Some(doc) = doc else {
        return String::new();
    };
    let get = |path: &str| -> Option<String> {
        match kibana_get(doc, path)? {
            Value::String(s) if !s.is_empty() && s != "-" => Some(s.clone()),
            Value::Array(items) if !items.is_empty() => {
                if items.len() == 1 && items[0] == "-" {
                    return None;
                }
                Some(
                    items
                        .iter()
                        .map(js_join_text)
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            }
            _ => None,
        }
    };
    let category = get("event.category");
    let process = get("process.name");
    let parent = get("process.parent.name");
    let file = get("file.name");
    let src = get("source.ip");
    let src_port = get("source.port");
    let dst = get("destination.ip");
    let dst_port = get("destination.port");
    let user = get("user.name");
    let host = get("host.name");
    let interesting = [&process, &parent, &file, &src, &src_port, &dst, &dst_port]
        .iter()
        .any(|v| v.is_some());
    let mut s = String::new();
    if let Some(c) = category {
        s.push_str(&c);
        s.push(' ');
    }
    s.push_str("event");
    if interesting {
        s.push_str(" with");
    }
    if let Some(v) = process {
        s.push_str(&format!(" process {v},"));
    }
    if let Some(v) = parent {
        s.push_str(&format!(" parent process {v},"));
    }
    if let Some(v) = file {
        s.push_str(&format!(" file {v},"));
    }
    if let Some(v) = src {
        s.push_str(&format!(" source {v}"));
    }
    if let Some(v) = src_port {
        s.push_str(&format!(":{v},"));
    }
    if let Some(v) = dst {
        s.push_str(&format!(" destination {v}"));
    }
    if let Some(v) = dst_port {
        s.push_str(&format!(":{v},"));
    }
    if let Some(v) = user {
        s.push_str(&format!(" by {v}"));
    }
    if let Some(v) = host {
        s.push_str(&format!(" on {v}"));
    }
    s.push_str(&format!(" created {severity} alert {name}."));
    s
}

/// How JavaScript's `Array.prototype.join` prints an element.
fn js_join_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), format_js_number),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => items.iter().map(js_join_text).collect::<Vec<_>>().join(","),
        Value::Object(_) => "[object Object]".to_owned(),
    }
}

/// Kibana's `objectArrayIntersection` over the blocks' documents.
fn intersect_all(docs: &[Map<String, Value>]) -> Option<Map<String, Value>> {
    let (first, rest) = docs.split_first()?;
    let mut acc = Some(first.clone());
    for d in rest {
        acc = acc.and_then(|a| intersect_pair(&a, d));
    }
    acc
}

/// Keys present in both with equal scalar values; objects recurse; arrays (or an array
/// and a scalar) keep the common scalar elements. Objects and arrays inside arrays
/// never compare equal (JavaScript compares them by identity). `None` when nothing is
/// left.
fn intersect_pair(a: &Map<String, Value>, b: &Map<String, Value>) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    for (k, av) in a {
        let Some(bv) = b.get(k) else { continue };
        let merged = match (av, bv) {
            (Value::Object(ao), Value::Object(bo)) => intersect_pair(ao, bo).map(Value::Object),
            (Value::Array(aa), Value::Array(ba)) => Some(array_intersection(aa, ba)),
            (Value::Array(aa), b1) => Some(array_intersection(aa, std::slice::from_ref(b1))),
            (a1, Value::Array(ba)) => Some(array_intersection(std::slice::from_ref(a1), ba)),
            (x, y) if scalar_eq(x, y) => Some(x.clone()),
            _ => None,
        };
        if let Some(v) = merged {
            out.insert(k.clone(), v);
        }
    }
    (!out.is_empty()).then_some(out)
}

fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Null, Value::Null) => true,
        _ => false,
    }
}

/// lodash `intersection`: unique elements of `a`, in order, that are also in `b`.
fn array_intersection(a: &[Value], b: &[Value]) -> Value {
    let mut out: Vec<Value> = Vec::new();
    for x in a {
        if matches!(x, Value::Array(_) | Value::Object(_)) {
            continue;
        }
        if b.iter().any(|y| scalar_eq(x, y)) && !out.iter().any(|y| scalar_eq(x, y)) {
            out.push(x.clone());
        }
    }
    Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn reason_message_shapes() {
        let doc = obj(json!({
            "event": {"category": ["process"]},
            "process": {"name": "cmd.exe", "parent": {"name": "explorer.exe"}},
            "destination": {"ip": "1.2.3.4", "port": 443},
            "user": {"name": "bob"},
            "host": {"name": "h1"}
        }));
        assert_eq!(
            reason_message("X", Severity::High, Some(&doc)),
            "process event with process cmd.exe, parent process explorer.exe, \
             destination 1.2.3.4 by bob on h1 created high alert X."
        );
        assert_eq!(
            reason_message("X", Severity::Low, Some(&Map::new())),
            "event created low alert X."
        );
        let multi = obj(json!({"event.category": ["network", "process"], "host": {"name": "-"}}));
        assert_eq!(
            reason_message("Y", Severity::Medium, Some(&multi)),
            "network, process event created medium alert Y."
        );
    }

    #[test]
    fn intersection_follows_lodash() {
        let a = obj(
            json!({"a": 1, "b": {"c": 2, "d": 3}, "e": ["x", "y", "x"], "f": [{"o": 1}], "g": "s", "h": 1}),
        );
        let b = obj(
            json!({"a": 1.0, "b": {"c": 2, "d": 4}, "e": ["y", "x"], "f": [{"o": 1}], "g": ["s", "t"], "h": 2}),
        );
        assert_eq!(
            intersect_pair(&a, &b).map(Value::Object),
            Some(json!({"a": 1, "b": {"c": 2}, "e": ["x", "y"], "f": [], "g": ["s"]}))
        );
        assert_eq!(
            intersect_pair(&obj(json!({"a": 1})), &obj(json!({"a": 2}))),
            None
        );
    }

    #[test]
    fn kibana_get_prefers_the_dotted_key() {
        let doc = obj(json!({"event.severity": 1, "event": {"severity": 2}}));
        assert_eq!(kibana_get(&doc, "event.severity"), Some(&json!(1)));
        let nested = obj(json!({"a": {"b.c": 1}}));
        assert_eq!(kibana_get(&nested, "a.b.c"), None);
    }
}
