//! Elastic exception lists: model, loading from Kibana's export NDJSON, and
//! evaluation against events.
//!
//! An event is *excepted* (its alert suppressed) when any item of the rule's lists
//! matches; an item matches when all its entries match. Kibana turns entries into an
//! Elasticsearch filter (`match` and `match_any` become `match_phrase`, `wildcard` a
//! `wildcard` query without `case_insensitive`, `exists` an `exists` query, `nested` a
//! `nested` query) and excludes what it matches. Against `keyword` fields, which ECS
//! uses for almost every string, all of these are **case-sensitive**. The one
//! case-insensitive idiom is Elastic Defend's `.caseless` multi-fields (a keyword with
//! a lowercase normaliser): an entry on `process.executable.caseless` compares
//! `process.executable` ignoring case. A multi-valued field matches when any value
//! does; `excluded` negates the entry as a whole.
//!
//! Not modelled: `os_types` (used by Elastic Defend, not by rule filters), and
//! analysed `text` fields (matched here like keywords).

use chrono::{DateTime, Utc};
use harrier_event::{lookup, Event, FieldPath};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use crate::load::RuleProblem;
use crate::model::Rule;

/// `included` (the entry must hold) or `excluded` (it must not).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operator {
    #[default]
    Included,
    Excluded,
}

/// A reference to a value list from a `list` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueListRef {
    pub id: String,
    /// `keyword`, `ip`, `ip_range`, `text`, …
    #[serde(rename = "type")]
    pub list_type: String,
}

/// One condition of an exception item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entry {
    Match {
        field: String,
        #[serde(default)]
        operator: Operator,
        value: String,
    },
    MatchAny {
        field: String,
        #[serde(default)]
        operator: Operator,
        value: Vec<String>,
    },
    Exists {
        field: String,
        #[serde(default)]
        operator: Operator,
    },
    Wildcard {
        field: String,
        #[serde(default)]
        operator: Operator,
        value: String,
    },
    List {
        field: String,
        #[serde(default)]
        operator: Operator,
        list: ValueListRef,
    },
    /// Conditions that must all hold within one object of the array at `field`.
    Nested { field: String, entries: Vec<Entry> },
}

/// An exception item: its entries are ANDed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExceptionItem {
    pub item_id: String,
    pub list_id: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "single")]
    pub namespace_type: String,
    #[serde(default)]
    pub os_types: Vec<String>,
    /// ISO 8601; the item no longer applies from this time on.
    #[serde(default)]
    pub expire_time: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub entries: Vec<Entry>,
}

fn single() -> String {
    "single".to_owned()
}

/// An exception list container with its items.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExceptionList {
    pub list_id: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// `detection`, `endpoint`, `rule_default`, …
    #[serde(rename = "type", default = "detection")]
    pub list_type: String,
    #[serde(default = "single")]
    pub namespace_type: String,
    #[serde(default)]
    pub items: Vec<ExceptionItem>,
}

fn detection() -> String {
    "detection".to_owned()
}

/// Values of value lists (for `list` entries), by list id.
#[derive(Clone, Debug, Default)]
pub struct ValueLists {
    lists: HashMap<String, ValueList>,
}

#[derive(Clone, Debug, Default)]
struct ValueList {
    strings: std::collections::HashSet<String>,
    ips: Vec<IpRange>,
}

impl ValueLists {
    pub fn new() -> ValueLists {
        ValueLists::default()
    }

    /// Adds a list from its values (for `ip_range` lists: addresses, CIDRs or `a-b` ranges).
    pub fn insert<I, S>(&mut self, id: &str, values: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let list = self.lists.entry(id.to_owned()).or_default();
        for v in values {
            let v = v.as_ref().trim();
            if v.is_empty() {
                continue;
            }
            if let Some(r) = IpRange::parse(v) {
                list.ips.push(r);
            }
            list.strings.insert(v.to_owned());
        }
    }

    /// Reads a list from a file holding one value per line.
    pub fn load_file(&mut self, id: &str, path: &Path) -> std::io::Result<()> {
        let text = std::fs::read_to_string(path)?;
        self.insert(id, text.lines());
        Ok(())
    }

    fn contains(&self, r: &ValueListRef, v: &Value) -> bool {
        let Some(list) = self.lists.get(&r.id) else {
            return false;
        };
        let Some(s) = scalar_text(v) else {
            return false;
        };
        match r.list_type.as_str() {
            "ip" | "ip_range" => match s.parse::<IpAddr>() {
                Ok(ip) => list.ips.iter().any(|range| range.contains(ip)),
                Err(_) => false,
            },
            _ => list.strings.contains(s.as_ref()),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct IpRange {
    lo: u128,
    hi: u128,
    v4: bool,
}

impl IpRange {
    fn parse(s: &str) -> Option<IpRange> {
        if let Some((a, b)) = s.split_once('-') {
            let (a, b) = (
                a.trim().parse::<IpAddr>().ok()?,
                b.trim().parse::<IpAddr>().ok()?,
            );
            if a.is_ipv4() != b.is_ipv4() {
                return None;
            }
            return Some(IpRange {
                lo: ip_bits(a),
                hi: ip_bits(b),
                v4: a.is_ipv4(),
            });
        }
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u32>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(width);
        if prefix > width {
            return None;
        }
        let bits = ip_bits(addr);
        let host = width - prefix;
        let mask: u128 = if host == 0 { 0 } else { (1u128 << host) - 1 };
        Some(IpRange {
            lo: bits & !mask,
            hi: bits | mask,
            v4: addr.is_ipv4(),
        })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.v4 && (self.lo..=self.hi).contains(&ip_bits(ip))
    }
}

fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a),
    }
}

/// Text of a scalar for comparison (`4` → "4", `true` → "true"); `None` for null,
/// objects and arrays.
fn scalar_text(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        Value::String(s) => Some(s.as_str().into()),
        Value::Number(n) => Some(n.to_string().into()),
        Value::Bool(b) => Some(if *b { "true" } else { "false" }.into()),
        _ => None,
    }
}

/// A field of an entry: its path and whether it compares ignoring case (`.caseless`).
fn entry_field(field: &str) -> (FieldPath, bool) {
    match field.strip_suffix(".caseless") {
        Some(base) => (FieldPath::new(base), true),
        None => (FieldPath::new(field), false),
    }
}

fn values<'a>(doc: &'a Map<String, Value>, path: &FieldPath) -> Vec<&'a Value> {
    let mut out = Vec::new();
    lookup(doc, path, &mut out);
    out.retain(|v| !v.is_null());
    out
}

fn equals(event_value: &Value, wanted: &str, caseless: bool) -> bool {
    match event_value {
        Value::String(s) => {
            if caseless {
                s.to_lowercase() == wanted.to_lowercase()
            } else {
                s == wanted
            }
        }
        Value::Number(n) => match (n.as_f64(), wanted.trim().parse::<f64>()) {
            (Some(a), Ok(b)) => a == b,
            _ => false,
        },
        Value::Bool(b) => wanted.trim() == if *b { "true" } else { "false" },
        _ => false,
    }
}

/// Elasticsearch `wildcard` pattern matching: `*` any run, `?` one character, `\`
/// escapes the next character.
pub fn wildcard_match(pattern: &str, text: &str, caseless: bool) -> bool {
    let fold = |s: &str| {
        if caseless {
            s.to_lowercase().chars().collect::<Vec<char>>()
        } else {
            s.chars().collect()
        }
    };
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Lit(char),
        One,
        Any,
    }
    let p = fold(pattern);
    let mut toks = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' if i + 1 < p.len() => {
                toks.push(Tok::Lit(p[i + 1]));
                i += 1;
            }
            '*' => toks.push(Tok::Any),
            '?' => toks.push(Tok::One),
            c => toks.push(Tok::Lit(c)),
        }
        i += 1;
    }
    let t = fold(text);
    // Iterative matching with backtracking to the last `*`.
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match toks.get(pi) {
            Some(Tok::Any) => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(Tok::One) => {
                ti += 1;
                pi += 1;
            }
            Some(Tok::Lit(c)) if *c == t[ti] => {
                ti += 1;
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[pi.min(toks.len())..].iter().all(|t| *t == Tok::Any)
}

impl Entry {
    /// Whether this entry holds for the document.
    pub fn matches(&self, doc: &Map<String, Value>, lists: &ValueLists) -> bool {
        let (operator, hit) = match self {
            Entry::Match {
                field,
                operator,
                value,
            } => {
                let (path, caseless) = entry_field(field);
                let hit = values(doc, &path)
                    .iter()
                    .any(|v| equals(v, value, caseless));
                (*operator, hit)
            }
            Entry::MatchAny {
                field,
                operator,
                value,
            } => {
                let (path, caseless) = entry_field(field);
                let hit = values(doc, &path)
                    .iter()
                    .any(|v| value.iter().any(|w| equals(v, w, caseless)));
                (*operator, hit)
            }
            Entry::Exists { field, operator } => {
                let (path, _) = entry_field(field);
                (*operator, !values(doc, &path).is_empty())
            }
            Entry::Wildcard {
                field,
                operator,
                value,
            } => {
                let (path, caseless) = entry_field(field);
                let hit = values(doc, &path)
                    .iter()
                    .any(|v| scalar_text(v).is_some_and(|s| wildcard_match(value, &s, caseless)));
                (*operator, hit)
            }
            Entry::List {
                field,
                operator,
                list,
            } => {
                let (path, _) = entry_field(field);
                let hit = values(doc, &path).iter().any(|v| lists.contains(list, v));
                (*operator, hit)
            }
            Entry::Nested { field, entries } => {
                let path = FieldPath::new(field);
                let hit = values(doc, &path).iter().any(|v| match v {
                    Value::Object(inner) => entries.iter().all(|e| e.matches(inner, lists)),
                    _ => false,
                });
                (Operator::Included, hit)
            }
        };
        match operator {
            Operator::Included => hit,
            Operator::Excluded => !hit,
        }
    }
}

impl ExceptionItem {
    /// Whether the item has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expire_time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t.with_timezone(&Utc) <= now)
    }

    /// All entries hold for the event (an item without entries never matches).
    pub fn matches(&self, event: &Event, lists: &ValueLists) -> bool {
        !self.entries.is_empty() && self.entries.iter().all(|e| e.matches(&event.source, lists))
    }
}

impl ExceptionList {
    /// Whether any item, not expired at `now`, matches the event.
    pub fn excepts(&self, event: &Event, lists: &ValueLists, now: DateTime<Utc>) -> bool {
        self.items
            .iter()
            .any(|i| !i.is_expired(now) && i.matches(event, lists))
    }
}

/// Exception lists by `(list_id, namespace_type)`, with the value lists their items use.
#[derive(Clone, Debug, Default)]
pub struct ExceptionLists {
    pub lists: Vec<ExceptionList>,
    pub values: ValueLists,
}

impl ExceptionLists {
    pub fn new(lists: Vec<ExceptionList>) -> ExceptionLists {
        ExceptionLists {
            lists,
            values: ValueLists::default(),
        }
    }

    /// The lists a rule refers to in `exceptions_list` (unknown references are skipped).
    pub fn for_rule<'a>(&'a self, rule: &'a Rule) -> impl Iterator<Item = &'a ExceptionList> + 'a {
        self.lists.iter().filter(move |l| {
            rule.exceptions_list
                .iter()
                .any(|r| r.list_id == l.list_id && r.namespace_type == l.namespace_type)
        })
    }

    /// Whether the rule's exceptions suppress an alert on `event` at time `now`.
    pub fn is_excepted(&self, rule: &Rule, event: &Event, now: DateTime<Utc>) -> bool {
        self.for_rule(rule)
            .any(|l| l.excepts(event, &self.values, now))
    }
}

/// Loads exception lists from Kibana export files (`.ndjson`), directories walked in
/// sorted order. Problems never stop the loading.
pub fn load_exception_lists<P: AsRef<Path>>(paths: &[P]) -> (Vec<ExceptionList>, Vec<RuleProblem>) {
    let mut lists = Vec::new();
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for p in paths {
        let p = p.as_ref();
        if p.is_dir() {
            let mut stack = vec![p.to_path_buf()];
            while let Some(dir) = stack.pop() {
                let Ok(rd) = std::fs::read_dir(&dir) else {
                    continue;
                };
                let mut entries: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                entries.sort();
                for e in entries.into_iter().rev() {
                    if e.is_dir() {
                        stack.push(e);
                    } else if e.extension().and_then(|x| x.to_str()) == Some("ndjson") {
                        files.push(e);
                    }
                }
            }
        } else {
            files.push(p.to_path_buf());
        }
    }
    files.sort();
    for f in files {
        let name: Arc<str> = f.display().to_string().into();
        match std::fs::read_to_string(&f) {
            Ok(text) => {
                let (ls, ps) = parse_exception_ndjson(&text, name);
                lists.extend(ls);
                problems.extend(ps);
            }
            Err(e) => problems.push(RuleProblem {
                file: name,
                line: 0,
                column: 0,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    (lists, problems)
}

/// Parses Kibana's exception list export: list lines (`list_id` without `item_id`),
/// item lines (`item_id`), and a closing summary line. Items join their list by
/// `list_id` and `namespace_type`; items whose list is missing get a list of their own.
/// Rule lines (a rule export may carry lists) are ignored.
pub fn parse_exception_ndjson(
    text: &str,
    file: Arc<str>,
) -> (Vec<ExceptionList>, Vec<RuleProblem>) {
    let mut lists: Vec<ExceptionList> = Vec::new();
    let mut items: Vec<ExceptionItem> = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let problem = |message: String| RuleProblem {
            file: file.clone(),
            line: (i + 1) as u32,
            column: 1,
            message,
        };
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                problems.push(problem(format!("invalid JSON: {e}")));
                continue;
            }
        };
        let Some(obj) = value.as_object() else {
            problems.push(problem("expected a JSON object".to_owned()));
            continue;
        };
        if obj.contains_key("exported_exception_list_count")
            || obj.contains_key("exported_count")
            || obj.contains_key("rule_id")
        {
            continue;
        }
        if obj.contains_key("item_id") {
            match serde_json::from_value::<ExceptionItem>(value) {
                Ok(item) => items.push(item),
                Err(e) => problems.push(problem(format!("exception item: {e}"))),
            }
        } else if obj.contains_key("list_id") {
            match serde_json::from_value::<ExceptionList>(value) {
                Ok(list) => lists.push(list),
                Err(e) => problems.push(problem(format!("exception list: {e}"))),
            }
        }
    }
    for item in items {
        let at = lists
            .iter()
            .position(|l| l.list_id == item.list_id && l.namespace_type == item.namespace_type);
        match at {
            Some(k) => lists[k].items.push(item),
            None => lists.push(ExceptionList {
                list_id: item.list_id.clone(),
                id: None,
                name: item.list_id.clone(),
                description: String::new(),
                list_type: "detection".to_owned(),
                namespace_type: item.namespace_type.clone(),
                items: vec![item],
            }),
        }
    }
    (lists, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_event::{Locator, Origin};
    use serde_json::json;

    fn event(doc: Value) -> Event {
        Event {
            source: doc.as_object().cloned().unwrap_or_default(),
            index: "logs-endpoint.events.process-default".into(),
            id: Some("e1".into()),
            origin: Origin {
                file: "t.ndjson".into(),
                locator: Locator::Line(1),
            },
        }
    }

    fn entry(v: Value) -> Entry {
        match serde_json::from_value(v) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        }
    }

    fn m(e: &Entry, doc: &Event) -> bool {
        e.matches(&doc.source, &ValueLists::default())
    }

    #[test]
    fn match_is_case_sensitive_as_on_keyword_fields() {
        // Kibana builds `match_phrase` clauses; on ECS keyword fields that is an
        // exact, case-sensitive comparison. Only `.caseless` fields ignore case.
        let ev = event(json!({"process": {"name": "Svchost.exe", "pid": 4}}));
        let exact = entry(
            json!({"type": "match", "field": "process.name", "operator": "included", "value": "Svchost.exe"}),
        );
        let lower = entry(
            json!({"type": "match", "field": "process.name", "operator": "included", "value": "svchost.exe"}),
        );
        let caseless = entry(
            json!({"type": "match", "field": "process.name.caseless", "operator": "included", "value": "svchost.exe"}),
        );
        let number = entry(
            json!({"type": "match", "field": "process.pid", "operator": "included", "value": "4"}),
        );
        assert!(m(&exact, &ev));
        assert!(!m(&lower, &ev));
        assert!(m(&caseless, &ev));
        assert!(m(&number, &ev));
        let not = entry(
            json!({"type": "match", "field": "process.name", "operator": "excluded", "value": "Svchost.exe"}),
        );
        assert!(!m(&not, &ev));
        let not_absent = entry(
            json!({"type": "match", "field": "user.name", "operator": "excluded", "value": "x"}),
        );
        assert!(m(&not_absent, &ev));
    }

    #[test]
    fn match_any_exists_and_multi_values() {
        let ev = event(json!({"process": {"args": ["a", "-enc", "b"]}, "user": {"name": null}}));
        let any = entry(
            json!({"type": "match_any", "field": "process.args", "operator": "included", "value": ["-e", "-enc"]}),
        );
        assert!(m(&any, &ev));
        let exists =
            entry(json!({"type": "exists", "field": "process.args", "operator": "included"}));
        let null_exists =
            entry(json!({"type": "exists", "field": "user.name", "operator": "included"}));
        let not_exists =
            entry(json!({"type": "exists", "field": "host.name", "operator": "excluded"}));
        assert!(m(&exists, &ev));
        assert!(!m(&null_exists, &ev));
        assert!(m(&not_exists, &ev));
    }

    #[test]
    fn wildcard_patterns() {
        assert!(wildcard_match(
            "C:\\\\Windows\\\\*.exe",
            "C:\\Windows\\a.exe",
            false
        ));
        assert!(wildcard_match("*.ex?", "a.exe", false));
        assert!(!wildcard_match("*.EXE", "a.exe", false));
        assert!(wildcard_match("*.EXE", "a.exe", true));
        assert!(wildcard_match("a*b*c", "aXXbYYc", false));
        assert!(!wildcard_match("a*b*c", "aXXbYY", false));
        assert!(wildcard_match("*", "", false));
        let ev = event(json!({"file": {"path": "C:\\Users\\bob\\x.dll"}}));
        let w = entry(
            json!({"type": "wildcard", "field": "file.path", "operator": "included", "value": "C:\\\\Users\\\\*\\\\x.dll"}),
        );
        assert!(m(&w, &ev));
        let nw = entry(
            json!({"type": "wildcard", "field": "file.path", "operator": "excluded", "value": "C:\\\\Users\\\\*\\\\x.dll"}),
        );
        assert!(!m(&nw, &ev));
    }

    #[test]
    fn nested_entries_hold_within_one_object() {
        let ev = event(json!({"Target": {"process": {"Ext": {"memory_region": [
            {"region_protection": "RWX", "mapped_path": "a"},
            {"region_protection": "R", "mapped_path": "b"}
        ]}}}}));
        let same = entry(
            json!({"type": "nested", "field": "Target.process.Ext.memory_region", "entries": [
                {"type": "match", "field": "region_protection", "operator": "included", "value": "RWX"},
                {"type": "match", "field": "mapped_path", "operator": "included", "value": "a"}
            ]}),
        );
        let across = entry(
            json!({"type": "nested", "field": "Target.process.Ext.memory_region", "entries": [
                {"type": "match", "field": "region_protection", "operator": "included", "value": "RWX"},
                {"type": "match", "field": "mapped_path", "operator": "included", "value": "b"}
            ]}),
        );
        assert!(m(&same, &ev));
        assert!(!m(&across, &ev));
    }

    #[test]
    fn list_entries_use_value_lists() {
        let mut lists = ValueLists::new();
        lists.insert(
            "bad-ips",
            ["10.0.0.0/8", "192.168.1.5", "172.16.0.1-172.16.0.9"],
        );
        lists.insert("tools", ["psexec.exe"]);
        let ip = entry(
            json!({"type": "list", "field": "source.ip", "operator": "included", "list": {"id": "bad-ips", "type": "ip_range"}}),
        );
        let tool = entry(
            json!({"type": "list", "field": "process.name", "operator": "included", "list": {"id": "tools", "type": "keyword"}}),
        );
        let check = |doc: Value, e: &Entry| e.matches(&event(doc).source, &lists);
        assert!(check(json!({"source": {"ip": "10.1.2.3"}}), &ip));
        assert!(check(json!({"source": {"ip": "172.16.0.4"}}), &ip));
        assert!(!check(json!({"source": {"ip": "11.1.2.3"}}), &ip));
        assert!(check(json!({"process": {"name": "psexec.exe"}}), &tool));
        assert!(!check(json!({"process": {"name": "PsExec.exe"}}), &tool));
    }

    #[test]
    fn export_ndjson_items_and_expiry() {
        let text = concat!(
            r#"{"list_id":"my-list","type":"detection","namespace_type":"single","name":"My list","description":"d"}"#,
            "\n",
            r#"{"item_id":"i1","list_id":"my-list","namespace_type":"single","type":"simple","name":"n","entries":[{"type":"match","field":"host.name","operator":"included","value":"build-01"},{"type":"match_any","field":"process.name","operator":"included","value":["a.exe","b.exe"]}]}"#,
            "\n",
            r#"{"item_id":"i2","list_id":"my-list","namespace_type":"single","type":"simple","name":"old","expire_time":"2020-01-01T00:00:00.000Z","entries":[{"type":"exists","field":"host.name","operator":"included"}]}"#,
            "\n",
            r#"{"exported_exception_list_count":1,"exported_exception_list_item_count":2,"missing_exception_list_item_count":0}"#,
            "\n"
        );
        let (lists, problems) = parse_exception_ndjson(text, "x.ndjson".into());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(lists.len(), 1);
        assert_eq!(lists[0].items.len(), 2);
        let now = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let vl = ValueLists::default();
        let hit = event(json!({"host": {"name": "build-01"}, "process": {"name": "b.exe"}}));
        let miss = event(json!({"host": {"name": "build-01"}, "process": {"name": "c.exe"}}));
        assert!(lists[0].excepts(&hit, &vl, now));
        // i2 would match, but it expired.
        assert!(!lists[0].excepts(&miss, &vl, now));
    }
}
