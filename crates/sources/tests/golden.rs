//! EVTX → ECS conformance against the documents Elastic produced from the same
//! EVTX files (`datasets/ecs/winlogbeat-sysmon-golden/`).
//!
//! `ingest/sysmon-9.01.golden.json` is the output of Elastic's Sysmon ingest
//! pipeline (ECS 1.12, the lineage of the Windows integration's
//! `sysmon_operational` data stream). Every field in it must be equal in ours,
//! except the fields in [`NOT_COMPARED`]; every field we add beyond it must be
//! in [`EXTRA_ALLOWED`]. Both lists say why.
//!
//! `sysmon-10.2-dns.evtx.golden.json` is older (Winlogbeat 7.3, 2019). Its
//! shape differs from the current pipeline in ways the pipeline changed on
//! purpose, so it is compared on the fields that carry the DNS mapping, with
//! those changes normalised (see `dns_2019_golden`).

mod common;

use common::{flatten, read_all, shared};
use serde_json::Value;
use std::collections::BTreeSet;

/// Golden fields we do not produce, and why.
const NOT_COMPARED: &[(&str, &str)] = &[
    (
        "ecs.version",
        "we do not stamp an ECS version; it names the pipeline release, not the event",
    ),
    (
        "message",
        "rendered on the collecting host from the provider's message table; not in the EVTX file",
    ),
    (
        "winlog.user.domain",
        "resolved with LookupAccountSid on the collecting host",
    ),
    (
        "winlog.user.name",
        "resolved with LookupAccountSid on the collecting host",
    ),
    (
        "winlog.user.type",
        "resolved with LookupAccountSid on the collecting host",
    ),
];

/// Field prefixes we add beyond the golden documents, and why.
const EXTRA_ALLOWED: &[(&str, &str)] = &[
    (
        "event.created",
        "record TimeCreated; the current integration sets it (the 2021 golden predates that)",
    ),
    (
        "event.dataset",
        "data stream dataset, as Fleet's integration sets it",
    ),
    (
        "data_stream.",
        "data stream fields, as Fleet's integration sets them",
    ),
    (
        "host.os.",
        "every Windows log gets host.os.type/family = windows",
    ),
    ("log.file.path", "the file the event was read from"),
    (
        "winlog.event_data.",
        "raw EventData fields are kept even where the pipeline moved them to ECS fields",
    ),
];

fn compared(path: &str) -> bool {
    !NOT_COMPARED.iter().any(|(p, _)| *p == path)
}

fn extra_allowed(path: &str) -> bool {
    EXTRA_ALLOWED.iter().any(|(p, _)| path.starts_with(p))
}

/// `related.*` lists are sets: the pipeline builds them from hash maps.
fn same_value(path: &str, a: &Value, b: &Value) -> bool {
    if path.starts_with("related.") {
        if let (Value::Array(x), Value::Array(y)) = (a, b) {
            let x: BTreeSet<String> = x.iter().map(Value::to_string).collect();
            let y: BTreeSet<String> = y.iter().map(Value::to_string).collect();
            return x == y;
        }
    }
    a == b
}

#[test]
fn sysmon_9_01_matches_elastic_ingest_golden() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("datasets/ecs/winlogbeat-sysmon-golden");
    let golden: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("ingest/sysmon-9.01.golden.json")).expect("golden file"),
    )
    .expect("golden JSON");
    let (events, skips, summary) = read_all(&[dir.join("sysmon-9.01.evtx")]);
    assert!(skips.is_empty(), "{skips:?}");
    assert_eq!(summary.events, 32);
    assert_eq!(events.len(), golden.len());

    let mut problems = Vec::new();
    let mut checked = 0usize;
    for (ev, g) in events.iter().zip(&golden) {
        assert_eq!(&*ev.index, "logs-windows.sysmon_operational-default");
        let g = g.as_object().expect("golden doc is an object");
        let ours = flatten(&ev.source);
        let theirs = flatten(g);
        let rid = theirs
            .get("winlog.record_id")
            .map(Value::to_string)
            .unwrap_or_default();
        for (path, want) in &theirs {
            if !compared(path) {
                continue;
            }
            checked += 1;
            match ours.get(path) {
                Some(got) if same_value(path, got, want) => {}
                Some(got) => problems.push(format!("record {rid}: {path}: got {got}, want {want}")),
                None => problems.push(format!("record {rid}: {path}: missing, want {want}")),
            }
        }
        for (path, got) in &ours {
            if !theirs.contains_key(path) && !extra_allowed(path) {
                problems.push(format!("record {rid}: {path}: extra field {got}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!(
        "compared {checked} golden fields over {} documents",
        golden.len()
    );
}

/// The 2019 Winlogbeat 7.3 output for 156 DNS events. Differences that the
/// current pipeline introduced on purpose are normalised before comparing:
/// GUIDs were lower-case there (upper-case now, as Windows renders them);
/// `winlog.record_id`/`event_id` and `event.code` were numbers (strings now);
/// `dns.grouped.ip` became `dns.resolved_ip`; `dns.answers_count` was dropped.
/// Where the 2019 output differs from the current pipeline's on purpose.
const KNOWN_2019_DIFFS: &[(&str, &str, &str)] = &[
    (
        "196",
        "dns.grouped.ip",
        "QueryResults is cut off by Sysmon at `::ffff:192.5`; the 2019 script kept `192.5`, \
         the current pipeline drops what does not parse as an IP (and so do we)",
    ),
    (
        "196",
        "dns.answers",
        "the same cut-off address, as an A answer",
    ),
];

#[test]
fn sysmon_10_2_dns_matches_2019_golden_on_dns_fields() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("datasets/ecs/winlogbeat-sysmon-golden");
    let golden: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("sysmon-10.2-dns.evtx.golden.json"))
            .expect("golden file"),
    )
    .expect("golden JSON");
    let (events, skips, _) = read_all(&[dir.join("sysmon-10.2-dns.evtx")]);
    assert!(skips.is_empty(), "{skips:?}");
    assert_eq!(events.len(), golden.len());
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut problems = Vec::new();
    for (ev, g) in events.iter().zip(&golden) {
        let ours = flatten(&ev.source);
        let theirs = flatten(g.as_object().expect("object"));
        let pairs: &[(&str, &str)] = &[
            ("@timestamp", "@timestamp"),
            ("dns.question.name", "dns.question.name"),
            ("dns.answers", "dns.answers"),
            ("dns.grouped.ip", "dns.resolved_ip"),
            ("process.entity_id", "process.entity_id"),
            ("process.executable", "process.executable"),
            ("process.name", "process.name"),
            ("process.pid", "process.pid"),
            ("sysmon.dns.status", "sysmon.dns.status"),
            ("event.code", "event.code"),
            ("event.kind", "event.kind"),
            ("event.module", "event.module"),
            ("log.level", "log.level"),
            ("winlog.channel", "winlog.channel"),
            ("winlog.computer_name", "winlog.computer_name"),
            ("winlog.event_id", "winlog.event_id"),
            ("winlog.record_id", "winlog.record_id"),
            ("winlog.process.pid", "winlog.process.pid"),
            ("winlog.process.thread.id", "winlog.process.thread.id"),
            ("winlog.provider_guid", "winlog.provider_guid"),
            ("winlog.provider_name", "winlog.provider_name"),
            ("winlog.user.identifier", "winlog.user.identifier"),
            ("winlog.version", "winlog.version"),
        ];
        let rid = ours
            .get("winlog.record_id")
            .map(as_text)
            .unwrap_or_default();
        for (old, new) in pairs {
            let want = theirs.get(*old);
            let got = ours.get(*new);
            // Numbers and strings compare by text; GUIDs ignore case; Go's
            // timestamps drop trailing zeros from the fraction.
            let norm = |v: Option<&Value>| -> Option<Value> {
                v.map(|v| match v {
                    Value::String(_) | Value::Number(_) => {
                        let mut t = as_text(v);
                        if old.ends_with("entity_id") || old.ends_with("provider_guid") {
                            t = t.to_ascii_uppercase();
                        }
                        if *old == "@timestamp" {
                            t = t.trim_end_matches('Z').trim_end_matches('0').to_string();
                        }
                        Value::String(t)
                    }
                    other => other.clone(),
                })
            };
            if KNOWN_2019_DIFFS
                .iter()
                .any(|(r, f, _)| *r == rid && *f == *old)
            {
                continue;
            }
            if norm(want) != norm(got) {
                problems.push(format!(
                    "record {rid}: {old} → {new}: got {got:?}, want {want:?}"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
