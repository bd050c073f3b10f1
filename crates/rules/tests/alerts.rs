//! Golden alert documents: one single-event alert and one sequence alert group,
//! built from small ECS events written here.

use chrono::{DateTime, Utc};
use harrier_event::{Event, Locator, Origin};
use harrier_rules::alert::{
    alert_head, alert_id, build_alert, build_row_alert, build_sequence_alerts, derived_event_id,
    event_id, sequence_head, AlertContext, AlertHead,
};
use harrier_rules::parse_toml_rule;
use harrier_rules::{Rule, Severity};
use serde_json::{json, Value};

const SINGLE: &str = r###"[metadata]
creation_date = "2021/03/04"
integration = ["endpoint"]
maturity = "production"
updated_date = "2024/05/06"

[rule]
author = ["Elastic"]
description = "Identifies mshta.exe making a network connection."
from = "now-9m"
index = ["logs-endpoint.events.network-*", "winlogbeat-*"]
language = "eql"
license = "Elastic License v2"
name = "Network Connection via Mshta"
note = """## Triage and analysis

- Review the network events of the process: $investigate_0
"""
risk_score = 47
rule_id = "c2d90150-0133-451c-a783-533e736c12d7"
severity = "medium"
tags = ["OS: Windows", "Tactic: Defense Evasion"]
timestamp_override = "event.ingested"
type = "eql"
query = '''
network where host.os.type == "windows" and process.name : "mshta.exe"
'''

[[rule.severity_mapping]]
field = "event.severity"
operator = "equals"
severity = "high"
value = "73"

[[rule.severity_mapping]]
field = "event.severity"
operator = "equals"
severity = "critical"
value = "99"

[[rule.risk_score_mapping]]
field = "event.risk_score"
operator = "equals"
value = ""

[[rule.threat]]
framework = "MITRE ATT&CK"
[[rule.threat.technique]]
id = "T1218"
name = "System Binary Proxy Execution"
reference = "https://attack.mitre.org/techniques/T1218/"
[[rule.threat.technique.subtechnique]]
id = "T1218.005"
name = "Mshta"
reference = "https://attack.mitre.org/techniques/T1218/005/"

[rule.threat.tactic]
id = "TA0005"
name = "Defense Evasion"
reference = "https://attack.mitre.org/tactics/TA0005/"

[transform]
[[transform.investigate]]
label = "Network events of the process"
description = ""
providers = [[
  { excluded = false, field = "host.id", queryType = "phrase", value = "{{host.id}}", valueType = "string" },
  { excluded = false, field = "process.entity_id", queryType = "phrase", value = "{{process.entity_id}}", valueType = "string" }
]]
relativeFrom = "now-1h"
relativeTo = "now"
"###;

const SEQUENCE: &str = r#"[metadata]
creation_date = "2020/11/04"
maturity = "production"
updated_date = "2024/01/02"

[rule]
author = ["Elastic"]
description = "mshta started by a service and then connecting out."
from = "now-9m"
index = ["logs-endpoint.events.*"]
language = "eql"
license = "Elastic License v2"
name = "Mshta Spawned Then Connected"
risk_score = 73
rule_id = "9d9a1a8c-0000-4000-8000-000000000001"
severity = "high"
tags = ["OS: Windows"]
type = "eql"
query = '''
sequence by host.id, process.entity_id with maxspan=1m
  [process where event.type == "start" and process.name : "mshta.exe"]
  [network where process.name : "mshta.exe"]
'''
"#;

fn rule(text: &str) -> Rule {
    match parse_toml_rule(text, "test.toml".into()) {
        Ok(r) => r,
        Err(p) => panic!("{p}"),
    }
}

fn event(index: &str, id: &str, line: u64, doc: Value) -> Event {
    Event {
        source: doc.as_object().cloned().unwrap_or_default(),
        index: index.into(),
        id: Some(id.into()),
        origin: Origin {
            file: "events.ndjson".into(),
            locator: Locator::Line(line),
        },
    }
}

/// What a document says of the alert, as its [`AlertHead`].
fn head_of(doc: &serde_json::Map<String, Value>) -> AlertHead {
    let text = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    AlertHead {
        name: text("kibana.alert.rule.name"),
        severity: match text("kibana.alert.severity").as_str() {
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            _ => Severity::Critical,
        },
        risk: doc
            .get("kibana.alert.risk_score")
            .cloned()
            .unwrap_or_default(),
        uuid: text("kibana.alert.uuid"),
    }
}

fn ctx() -> AlertContext {
    let t: DateTime<Utc> = DateTime::parse_from_rfc3339("2024-06-01T12:00:00.000Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default();
    let mut c = AlertContext::new(t, "default");
    c.rule_uuid = Some("5b2e8a0e-1c0d-4d5b-9f0e-0a1b2c3d4e5f".to_owned());
    c.public_base_url = Some("https://kibana.example".to_owned());
    c
}

fn network_event() -> Event {
    event(
        ".ds-logs-endpoint.events.network-default-2024.06.01-000001",
        "net-1",
        2,
        json!({
            "@timestamp": "2024-06-01T11:58:30.123Z",
            "agent": {"type": "endpoint"},
            "event": {
                "category": ["network"],
                "type": ["start"],
                "kind": "event",
                "ingested": "2024-06-01T11:58:31Z",
                "severity": 73,
                "risk_score": "88"
            },
            "host": {"id": "host-1", "name": "WS-01", "os": {"type": "windows"}},
            "process": {"entity_id": "p-1", "name": "mshta.exe", "pid": 4242},
            "source": {"ip": "10.0.0.5", "port": 50123},
            "destination": {"ip": "203.0.113.9", "port": 443},
            "user": {"name": "alice"}
        }),
    )
}

#[test]
fn single_event_alert() {
    let r = rule(SINGLE);
    let ev = network_event();
    let alert = build_alert(&r, &ev, &ctx());
    // Overrides: event.severity 73 → high; event.risk_score "88" → 88.
    assert_eq!(alert.get("kibana.alert.severity"), Some(&json!("high")));
    assert_eq!(alert.get("kibana.alert.risk_score"), Some(&json!(88)));
    // what writers of rows read without building the document
    assert_eq!(alert_head(&r, &ev, &ctx()), head_of(&alert));
    let named = rule(&SINGLE.replace(
        "risk_score = 47\n",
        "risk_score = 47\nrule_name_override = \"process.name\"\n",
    ));
    let renamed = build_alert(&named, &ev, &ctx());
    assert_eq!(renamed["kibana.alert.rule.name"], "mshta.exe");
    assert_eq!(alert_head(&named, &ev, &ctx()), head_of(&renamed));
    // Same inputs, same id.
    let again = build_alert(&r, &ev, &ctx());
    assert_eq!(alert_id(&alert), alert_id(&again));
    insta::assert_json_snapshot!("single_event_alert", Value::Object(alert));
}

#[test]
fn sequence_alert_group() {
    let r = rule(SEQUENCE);
    let start = event(
        ".ds-logs-endpoint.events.process-default-2024.06.01-000001",
        "proc-1",
        1,
        json!({
            "@timestamp": "2024-06-01T11:58:00.000Z",
            "event": {"category": ["process"], "type": ["start"], "kind": "event"},
            "host": {"id": "host-1", "name": "WS-01"},
            "process": {
                "entity_id": "p-1",
                "name": "mshta.exe",
                "args": ["mshta.exe", "http://203.0.113.9/a.hta"],
                "parent": {"name": "svchost.exe"}
            },
            "user": {"name": "alice"}
        }),
    );
    let net = network_event();
    let alerts = build_sequence_alerts(&r, &[&start, &net], &ctx());
    assert_eq!(alerts.len(), 3);
    // what writers of rows read: the shell's fields
    assert_eq!(
        sequence_head(&r, &[&start, &net], &ctx()),
        Some(head_of(&alerts[2]))
    );
    assert_eq!(sequence_head(&r, &[], &ctx()), None);
    let group = alerts[2].get("kibana.alert.group.id").cloned();
    assert!(alerts
        .iter()
        .all(|a| a.get("kibana.alert.group.id").cloned() == group));
    assert_eq!(group.as_ref().and_then(Value::as_str), alert_id(&alerts[2]));
    let again = build_sequence_alerts(&r, &[&start, &net], &ctx());
    let ids = |v: &[serde_json::Map<String, Value>]| {
        v.iter()
            .map(|a| alert_id(a).map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&alerts), ids(&again));
    let docs: Vec<Value> = alerts.into_iter().map(Value::Object).collect();
    insta::assert_json_snapshot!("sequence_alert_group", docs);
}

#[test]
fn row_alert_of_a_kusto_rule() {
    let text = SINGLE
        .replace("language = \"eql\"", "language = \"kql\"")
        .replace("type = \"eql\"", "type = \"query\"")
        .replace(
            "network where host.os.type == \"windows\" and process.name : \"mshta.exe\"",
            "DeviceNetworkEvents | where InitiatingProcessFileName =~ \"mshta.exe\"",
        );
    let r = rule(&text);
    assert!(r.is_kql());
    let row = json!({
        "Timestamp": "2019-06-15T07:13:42.5770000Z",
        "DeviceName": "ws-1",
        "RemoteIP": "93.184.216.34",
    });
    let row = row.as_object().cloned().unwrap_or_default();
    let c = ctx();
    let a = build_row_alert(
        &r,
        "DeviceNetworkEvents",
        &row,
        Some("2019-06-15T07:13:42.5770000Z"),
        0,
        &c,
    );
    assert_eq!(a["DeviceName"], "ws-1");
    assert_eq!(a["RemoteIP"], "93.184.216.34");
    assert_eq!(a["kibana.alert.original_time"], "2019-06-15T07:13:42.577Z");
    assert_eq!(a["@timestamp"], "2024-06-01T12:00:00.000Z");
    assert_eq!(a["kibana.alert.rule.type"], "query");
    assert_eq!(a["kibana.alert.rule.parameters"]["language"], "kql");
    assert_eq!(a["kibana.alert.severity"], "medium");
    assert_eq!(a["kibana.alert.risk_score"], 47);
    assert_eq!(a["kibana.alert.ancestors"], json!([]));
    assert_eq!(a["kibana.alert.depth"], 1);
    assert_eq!(a["kibana.alert.rule.threat"][0]["tactic"]["id"], "TA0005");
    assert_eq!(a["event.kind"], "signal");
    // deterministic ids: the same row gives the same id, a repeat of it another one
    let again = build_row_alert(&r, "DeviceNetworkEvents", &row, None, 0, &c);
    let second = build_row_alert(&r, "DeviceNetworkEvents", &row, None, 1, &c);
    assert_eq!(alert_id(&a), alert_id(&again));
    assert_ne!(alert_id(&a), alert_id(&second));
    assert_eq!(alert_id(&a).map(str::len), Some(64));
    assert!(again.get("kibana.alert.original_time").is_none());
}

/// An event without an id of its own gets one from its index and document
/// text; given the text it was kept as (what `serde_json` writes for the
/// document, read back), the id is the same, for floats, large integers,
/// escapes and text outside ASCII alike.
#[test]
fn derived_ids_from_kept_text() {
    let doc = json!({
        "@timestamp": "2025-03-11T10:15:02.118Z",
        "process": {"name": "mshta.exe", "args": ["a \"b\"", "\\c\u{1}"], "pid": 4294967296u64},
        "x": {"ratio": 0.1, "whole": 3.0, "neg": -17, "big": 18446744073709551615u64},
        "user": {"name": "J\u{f6}rg \u{1f600}"},
        "empty": {}
    });
    let mut e = event("logs-endpoint.events.process-default", "unused", 1, doc);
    e.id = None;
    let text = serde_json::to_vec(&e.source).unwrap_or_default();
    let read_back: serde_json::Map<String, Value> =
        serde_json::from_slice(&text).unwrap_or_default();
    assert_eq!(serde_json::to_vec(&read_back).ok(), Some(text.clone()));
    let id = event_id(&e);
    assert_eq!(id.len(), 40);
    assert_eq!(derived_event_id(&e.index, &text), id);
    // the index is part of it
    assert_ne!(derived_event_id("logs-other", &text), id);
}
