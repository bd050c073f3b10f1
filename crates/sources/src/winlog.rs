//! Windows event records (the `evtx` crate's JSON rendering of one record) to
//! documents shaped like Winlogbeat's: `winlog.*` plus basic ECS fields, and,
//! for Sysmon, the full ECS mapping of [`crate::sysmon`].
//!
//! Index choice for Windows logs (Fleet's data streams, so that rules' index
//! patterns match): Sysmon → `logs-windows.sysmon_operational-default`;
//! Security, System, Application → `logs-system.<channel>-default`;
//! Windows PowerShell → `logs-windows.powershell-default`;
//! PowerShell/Operational → `logs-windows.powershell_operational-default`;
//! every other channel, and records without a channel (ETW captures) →
//! `logs-windows.forwarded-default`.

use crate::doc::{Doc, ROOT};
use serde_json::{Map, Value};

pub(crate) const SYSMON_CHANNEL: &str = "Microsoft-Windows-Sysmon/Operational";

/// A mapped record: the document and its data stream.
pub(crate) struct Mapped {
    pub doc: Map<String, Value>,
    pub index: &'static str,
}

/// The record header's id and time, which stand in for a missing
/// `System/EventRecordID` or `System/TimeCreated`.
pub(crate) struct Header {
    pub record_id: u64,
    pub time: evtx::Timestamp,
}

/// What a record says, read from either rendering: the `System` fields,
/// `EventData` as `winlog.event_data` gets it (string values, unnamed `Data`
/// as `param1`, `param2`, ...; distinct names, in order) and `UserData`.
pub(crate) struct Fields {
    pub sys: System,
    pub event_data: Vec<(String, Value)>,
    pub user_data: Option<Map<String, Value>>,
}

/// Maps one rendered record. `file` becomes `log.file.path`.
/// Returns `None` when the value has no `Event.System` element.
pub(crate) fn map_record(record: &Value, file: &str, header: Option<Header>) -> Option<Mapped> {
    read_fields(record).map(|f| build(f, file, header))
}

/// The fields of an `evtx`-crate JSON rendering; `None` without `Event.System`.
pub(crate) fn read_fields(record: &Value) -> Option<Fields> {
    let event = record.get("Event")?;
    let system = event.get("System")?;
    let sys = System::read(system);
    let mut event_data = Map::new();
    if let Some(data) = event.get("EventData") {
        collect_event_data(data, &mut event_data);
    }
    let user_data = event.get("UserData").and_then(user_data);
    Some(Fields {
        sys,
        event_data: event_data.into_iter().collect(),
        user_data,
    })
}

/// The document for a record's fields. `header` stands in for a missing
/// record id or time.
pub(crate) fn build(fields: Fields, file: &str, header: Option<Header>) -> Mapped {
    let (doc, index) = build_doc(fields, file, header);
    Mapped {
        doc: doc.into_map(),
        index,
    }
}

/// [`build`], with the document left as a [`Doc`] (for the thread that will
/// own the maps to build them).
pub(crate) fn build_doc(fields: Fields, file: &str, header: Option<Header>) -> (Doc, &'static str) {
    let Fields {
        mut sys,
        mut event_data,
        user_data,
    } = fields;
    if let Some(h) = header {
        if sys.record_id.is_none() {
            sys.record_id = Some(h.record_id);
        }
        if sys.time_created.is_none() {
            sys.time_created = Some(h.time.to_string());
        }
    }

    let is_sysmon = sys
        .channel
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case(SYSMON_CHANNEL));
    let (index, dataset) = data_stream(sys.channel.as_deref(), is_sysmon);

    let mut d = Doc::with_capacity(if is_sysmon { 112 } else { 48 });
    // `event` and `winlog` come last, after what the Sysmon mapping adds.
    let ev = d.detached("event");
    let wl = d.detached("winlog");
    let created = sys.time_created.as_deref().map(iso_millis);
    if let Some(t) = &created {
        d.push(ROOT, "@timestamp", Value::String(t.clone()));
    }

    // winlog.*
    if let Some(c) = &sys.channel {
        d.push(wl, "channel", Value::String(c.clone()));
    }
    if let Some(c) = &sys.computer {
        d.push(wl, "computer_name", Value::String(c.clone()));
    }
    let code = sys.event_id.map(|id| id.to_string());
    if let Some(id) = &code {
        d.push(wl, "event_id", Value::String(id.clone()));
    }
    if let Some(op) = sys.opcode {
        if let Some(name) = opcode_name(op) {
            d.push(wl, "opcode", Value::String(name.into()));
        }
    }
    if sys.pid.is_some() || sys.tid.is_some() {
        let process = d.push_object(wl, "process");
        if let Some(pid) = sys.pid {
            d.push(process, "pid", pid.into());
        }
        if let Some(tid) = sys.tid {
            let thread = d.push_object(process, "thread");
            d.push(thread, "id", tid.into());
        }
    }
    if let Some(g) = &sys.provider_guid {
        d.push(wl, "provider_guid", Value::String(normalize_guid(g)));
    }
    if let Some(p) = &sys.provider_name {
        d.push(wl, "provider_name", Value::String(p.clone()));
    }
    if let Some(id) = sys.record_id {
        d.push(wl, "record_id", Value::String(id.to_string()));
    }
    if let Some(sid) = &sys.user_id {
        let user = d.push_object(wl, "user");
        d.push(user, "identifier", Value::String(sid.clone()));
    }
    if let Some(v) = sys.version {
        d.push(wl, "version", v.into());
    }
    if let Some(a) = &sys.activity_id {
        d.push(wl, "activity_id", Value::String(normalize_guid(a)));
    }
    if let Some(a) = &sys.related_activity_id {
        d.push(wl, "related_activity_id", Value::String(normalize_guid(a)));
    }
    if let Some(k) = &sys.keywords {
        if let Some(names) = keyword_names(k) {
            d.push(wl, "keywords", names);
        }
    }
    if let Some(ud) = user_data {
        d.push(wl, "user_data", Value::Object(ud));
    }

    // event.*
    if let Some(id) = code {
        d.push(ev, "code", Value::String(id));
    }
    d.push(ev, "kind", Value::String("event".into()));
    if let Some(p) = &sys.provider_name {
        d.push(ev, "provider", Value::String(p.clone()));
    }
    if let Some(t) = created {
        d.push(ev, "created", Value::String(t));
    }
    d.push(ev, "dataset", Value::String(dataset.into()));

    let host = d.push_object(ROOT, "host");
    if let Some(c) = &sys.computer {
        d.push(host, "name", Value::String(c.clone()));
    }
    let os = d.push_object(host, "os");
    d.push(os, "type", Value::String("windows".into()));
    d.push(os, "family", Value::String("windows".into()));
    let log = d.push_object(ROOT, "log");
    if let Some(level) = sys.level.and_then(level_name) {
        d.push(log, "level", Value::String(level.into()));
    }
    let log_file = d.push_object(log, "file");
    d.push(log_file, "path", Value::String(file.into()));
    let ds = d.push_object(ROOT, "data_stream");
    d.push(ds, "type", Value::String("logs".into()));
    d.push(ds, "dataset", Value::String(dataset.into()));
    d.push(ds, "namespace", Value::String("default".into()));

    if is_sysmon {
        if let Some(code) = sys.event_id {
            if let Some(task) = crate::sysmon::task_name(code) {
                d.push(wl, "task", Value::String(task.into()));
            }
        }
        crate::sysmon::map(&mut d, ev, &mut event_data, &sys);
    }
    if !event_data.is_empty() {
        d.set_object(wl, "event_data", event_data);
    }
    d.link(ROOT, ev);
    d.link(ROOT, wl);
    (d, index)
}

/// The `System` element's fields we use.
#[derive(Default)]
pub(crate) struct System {
    pub provider_name: Option<String>,
    pub provider_guid: Option<String>,
    pub event_id: Option<u64>,
    pub version: Option<u64>,
    pub level: Option<u64>,
    pub opcode: Option<u64>,
    pub keywords: Option<String>,
    pub time_created: Option<String>,
    pub record_id: Option<u64>,
    pub activity_id: Option<String>,
    pub related_activity_id: Option<String>,
    pub pid: Option<u64>,
    pub tid: Option<u64>,
    pub channel: Option<String>,
    pub computer: Option<String>,
    pub user_id: Option<String>,
}

impl System {
    fn read(system: &Value) -> System {
        let attr = |elem: &str, name: &str| -> Option<&Value> {
            system.get(elem)?.get("#attributes")?.get(name)
        };
        System {
            provider_name: attr("Provider", "Name").and_then(text),
            provider_guid: attr("Provider", "Guid").and_then(text),
            event_id: system.get("EventID").and_then(number),
            version: system.get("Version").and_then(number),
            level: system.get("Level").and_then(number),
            opcode: system.get("Opcode").and_then(number),
            keywords: system.get("Keywords").and_then(text),
            time_created: attr("TimeCreated", "SystemTime").and_then(text),
            record_id: system.get("EventRecordID").and_then(number),
            activity_id: attr("Correlation", "ActivityID").and_then(text),
            related_activity_id: attr("Correlation", "RelatedActivityID").and_then(text),
            pid: attr("Execution", "ProcessID").and_then(number),
            tid: attr("Execution", "ThreadID").and_then(number),
            channel: system
                .get("Channel")
                .and_then(text)
                .filter(|s| !s.is_empty()),
            computer: system
                .get("Computer")
                .and_then(text)
                .filter(|s| !s.is_empty()),
            user_id: attr("Security", "UserID").and_then(text),
        }
    }
}

/// The text of an element: a scalar, or the `#text` of an element with attributes.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Object(o) => o.get("#text").and_then(text),
        _ => None,
    }
}

fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(o) => o.get("#text").and_then(number),
        _ => None,
    }
}

/// An event data value as the Windows XML rendering shows it: a string, with
/// GUIDs upper-cased in braces (the `evtx` crate renders them lower-case).
pub(crate) fn data_string(v: &Value) -> Option<Value> {
    match v {
        Value::Null => Some(Value::String(String::new())),
        Value::String(s) => Some(Value::String(normalize_guid(s))),
        Value::Number(n) => Some(Value::String(n.to_string())),
        Value::Bool(b) => Some(Value::String(b.to_string())),
        Value::Array(items) => Some(Value::Array(items.iter().filter_map(data_string).collect())),
        Value::Object(o) => match o.get("#text") {
            Some(t) => data_string(t),
            None => Some(Value::String(String::new())),
        },
    }
}

/// `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}` upper-cased; anything else unchanged.
pub(crate) fn normalize_guid(s: &str) -> String {
    if is_guid(s) {
        s.to_ascii_uppercase()
    } else {
        s.to_string()
    }
}

/// [`normalize_guid`] of an owned string, without a copy.
pub(crate) fn normalize_guid_owned(mut s: String) -> String {
    if is_guid(&s) {
        s.make_ascii_uppercase();
    }
    s
}

fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 38
        && b[0] == b'{'
        && b[37] == b'}'
        && b[1..37].iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

fn collect_event_data(data: &Value, out: &mut Map<String, Value>) {
    let Value::Object(fields) = data else {
        return;
    };
    let mut params = 0usize;
    for (k, v) in fields {
        if k == "#attributes" {
            continue;
        }
        if k == "Data" || k == "#text" {
            // Unnamed <Data> elements: Winlogbeat names them param1, param2, ...
            let items: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                Value::Object(o) => match o.get("#text") {
                    Some(Value::Array(a)) => a.iter().collect(),
                    Some(t) => vec![t],
                    None => Vec::new(),
                },
                other => vec![other],
            };
            for item in items {
                params += 1;
                if let Some(s) = data_string(item) {
                    out.insert(format!("param{params}"), s);
                }
            }
            continue;
        }
        if let Some(s) = data_string(v) {
            out.insert(k.clone(), s);
        }
    }
}

fn user_data(v: &Value) -> Option<Map<String, Value>> {
    let Value::Object(o) = v else {
        return None;
    };
    let (name, inner) = o.iter().find(|(k, _)| k.as_str() != "#attributes")?;
    let mut out = Map::new();
    if let Value::Object(fields) = inner {
        for (k, v) in fields {
            if k == "#attributes" {
                continue;
            }
            if let Some(s) = data_string(v) {
                out.insert(k.clone(), s);
            }
        }
    }
    out.insert("xml_name".into(), Value::String(name.clone()));
    Some(out)
}

fn data_stream(channel: Option<&str>, is_sysmon: bool) -> (&'static str, &'static str) {
    if is_sysmon {
        return (
            "logs-windows.sysmon_operational-default",
            "windows.sysmon_operational",
        );
    }
    match channel.map(str::to_ascii_lowercase).as_deref() {
        Some("security") => ("logs-system.security-default", "system.security"),
        Some("system") => ("logs-system.system-default", "system.system"),
        Some("application") => ("logs-system.application-default", "system.application"),
        Some("windows powershell") => ("logs-windows.powershell-default", "windows.powershell"),
        Some("microsoft-windows-powershell/operational") => (
            "logs-windows.powershell_operational-default",
            "windows.powershell_operational",
        ),
        _ => ("logs-windows.forwarded-default", "windows.forwarded"),
    }
}

/// ISO 8601 with millisecond precision, as Elasticsearch's date processor writes it:
/// `2019-03-18T16:57:37.9333240Z` → `2019-03-18T16:57:37.933Z`. Also accepts
/// Sysmon's `2019-03-18 16:57:37.933`. Unrecognised text is returned unchanged.
pub(crate) fn iso_millis(t: &str) -> String {
    let b = t.as_bytes();
    if b.len() < 19 || !(b[10] == b'T' || b[10] == b' ') || b[4] != b'-' || b[13] != b':' {
        return t.to_string();
    }
    // (A multi-byte character before position 19 is no time either.)
    let (Some(date), Some(time), Some(mut rest)) = (t.get(..10), t.get(11..19), t.get(19..)) else {
        return t.to_string();
    };
    let mut frac = "";
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        (frac, rest) = r.split_at(digits);
    }
    if !(rest.is_empty() || rest == "Z") {
        return t.to_string();
    }
    let mut out = String::with_capacity(24);
    out.push_str(date);
    out.push('T');
    out.push_str(time);
    out.push('.');
    out.push_str(&frac[..frac.len().min(3)]);
    for _ in frac.len()..3 {
        out.push('0');
    }
    out.push('Z');
    out
}

fn level_name(level: u64) -> Option<&'static str> {
    Some(match level {
        0 | 4 => "information",
        1 => "critical",
        2 => "error",
        3 => "warning",
        5 => "verbose",
        _ => return None,
    })
}

fn opcode_name(op: u64) -> Option<&'static str> {
    Some(match op {
        0 => "Info",
        1 => "Start",
        2 => "Stop",
        3 => "DCStart",
        4 => "DCStop",
        5 => "Extension",
        6 => "Reply",
        7 => "Resume",
        8 => "Suspend",
        9 => "Send",
        240 => "Receive",
        _ => return None,
    })
}

/// The standard keyword bits Windows renders by name (`winlog.keywords`).
fn keyword_names(hex: &str) -> Option<Value> {
    let v = u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok()?;
    const NAMES: [(u64, &str); 7] = [
        (0x0001_0000_0000_0000, "Response Time"),
        (0x0004_0000_0000_0000, "WDI Diag"),
        (0x0008_0000_0000_0000, "SQM"),
        (0x0010_0000_0000_0000, "Audit Failure"),
        (0x0020_0000_0000_0000, "Audit Success"),
        (0x0040_0000_0000_0000, "Correlation Hint"),
        (0x0080_0000_0000_0000, "Classic"),
    ];
    let names: Vec<Value> = NAMES
        .iter()
        .filter(|(bit, _)| v & bit != 0)
        .map(|(_, n)| Value::String((*n).into()))
        .collect();
    (!names.is_empty()).then_some(Value::Array(names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis() {
        assert_eq!(
            iso_millis("2019-03-18T16:57:37.9333240Z"),
            "2019-03-18T16:57:37.933Z"
        );
        assert_eq!(
            iso_millis("2019-03-18 16:57:37.933"),
            "2019-03-18T16:57:37.933Z"
        );
        assert_eq!(
            iso_millis("2019-03-18 16:57:37"),
            "2019-03-18T16:57:37.000Z"
        );
        assert_eq!(iso_millis("garbage"), "garbage");
        assert_eq!(
            iso_millis("2019-03-18 16:57:3\u{e9}"),
            "2019-03-18 16:57:3\u{e9}"
        );
    }

    #[test]
    fn guids() {
        assert_eq!(
            normalize_guid("{42f11c3b-ce01-5c8f-0000-0010c73e2a00}"),
            "{42F11C3B-CE01-5C8F-0000-0010C73E2A00}"
        );
        assert_eq!(normalize_guid("{not-a-guid}"), "{not-a-guid}");
    }
}
