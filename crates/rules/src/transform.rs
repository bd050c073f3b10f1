//! `[transform]` tables and the investigation-guide plugins of Kibana's Markdown
//! (`!{investigate{…}}`, `!{osquery{…}}`).
//!
//! detection-rules keeps the plugin configurations in `[[transform.investigate]]` and
//! `[[transform.osquery]]` tables and writes `$investigate_N` / `$osquery_N` in the
//! `note`; at build time each placeholder becomes `!{investigate<json>}` with the JSON
//! in sorted-key compact form. Kibana exports carry that rendered form. This module:
//!
//! - [`render_note`] turns a TOML note into the exported Markdown;
//! - [`parse_guide`] splits Markdown into text and plugin blocks, scanning the JSON with
//!   Kibana's brace counter (a `}` inside a JSON string ends the block early: reproduced
//!   and reported as a warning);
//! - [`resolve_guide`] renders readable Markdown for an alert: `{{field}}` templates are
//!   filled from the alert's first value, relative times anchored on its `@timestamp`.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `[transform]`: investigation-guide plugin configurations, in placeholder order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Transform {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub investigate: Vec<Investigate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub osquery: Vec<Osquery>,
}

/// One `!{investigate{…}}` configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Investigate {
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub description: String,
    /// OR of AND groups.
    #[serde(default)]
    pub providers: Vec<Vec<Provider>>,
    #[serde(
        default,
        rename = "relativeFrom",
        skip_serializing_if = "Option::is_none"
    )]
    pub relative_from: Option<String>,
    #[serde(
        default,
        rename = "relativeTo",
        skip_serializing_if = "Option::is_none"
    )]
    pub relative_to: Option<String>,
}

/// One condition of an investigate provider group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    #[serde(default)]
    pub excluded: bool,
    pub field: String,
    /// `phrase`, `phrases`, `range` or `exists`.
    #[serde(rename = "queryType")]
    pub query_type: String,
    #[serde(default)]
    pub value: Value,
    #[serde(default, rename = "valueType", skip_serializing_if = "Option::is_none")]
    pub value_type: Option<String>,
}

/// One `!{osquery{…}}` configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Osquery {
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecs_mapping: Option<Map<String, Value>>,
}

/// Fills `$investigate_N` / `$osquery_N` placeholders the way detection-rules does
/// (Python `string.Template.safe_substitute`): unknown names stay as they are, `$$`
/// becomes `$`. Notes of rules without a transform are returned unchanged.
pub fn render_note(note: &str, transform: Option<&Transform>) -> String {
    let Some(t) = transform else {
        return note.to_owned();
    };
    let lookup = |name: &str| -> Option<String> {
        let (kind, n) = name.rsplit_once('_')?;
        let n: usize = n.parse().ok()?;
        let value = match kind {
            "investigate" => serde_json::to_value(t.investigate.get(n)?).ok()?,
            "osquery" => serde_json::to_value(t.osquery.get(n)?).ok()?,
            _ => return None,
        };
        let mut s = format!("!{{{kind}");
        python_json(&value, &mut s);
        s.push('}');
        Some(s)
    };
    safe_substitute(note, lookup)
}

fn safe_substitute(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) if is_identifier(&braced[..end]) => (&braced[..end], end + 2),
                _ => ("", 0),
            }
        } else {
            let end = after
                .char_indices()
                .find(|&(k, c)| {
                    !(c == '_' || c.is_ascii_alphabetic() || (k > 0 && c.is_ascii_digit()))
                })
                .map_or(after.len(), |(k, _)| k);
            (&after[..end], end)
        };
        match (name.is_empty(), lookup(name)) {
            (false, Some(v)) => {
                out.push_str(&v);
                rest = &after[consumed..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// JSON as Python's `json.dumps(v, sort_keys=True, separators=(',', ':'))` writes it
/// (ASCII only: other characters as `\uXXXX`).
pub fn python_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => python_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                python_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                python_string(k, out);
                out.push(':');
                if let Some(v) = map.get(k) {
                    python_json(v, out);
                }
            }
            out.push('}');
        }
    }
}

fn python_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{:04x}", unit));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A piece of an investigation guide.
#[derive(Clone, Debug, PartialEq)]
pub enum GuideSegment {
    Text(String),
    Investigate(Investigate),
    Osquery(Osquery),
    /// A plugin block whose JSON did not parse; `raw` is the text as written.
    Invalid {
        raw: String,
        message: String,
    },
}

/// A problem noticed while parsing a guide (the guide still renders).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuideWarning {
    /// Byte offset in the Markdown.
    pub offset: usize,
    pub message: String,
}

/// Splits rendered Markdown into text and plugin blocks.
///
/// Like Kibana's tokenizers, the JSON after `!{investigate` / `!{osquery` is delimited by
/// counting braces without regard to JSON strings, then parsed; one more `}` closes the
/// plugin.
pub fn parse_guide(markdown: &str) -> (Vec<GuideSegment>, Vec<GuideWarning>) {
    const PREFIXES: [(&str, bool); 2] = [("!{investigate", true), ("!{osquery", false)];
    let mut segments = Vec::new();
    let mut warnings = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while let Some(rel) = markdown[i..].find("!{") {
        let at = i + rel;
        let Some(&(prefix, is_investigate)) =
            PREFIXES.iter().find(|(p, _)| markdown[at..].starts_with(p))
        else {
            i = at + 2;
            continue;
        };
        let json_start = at + prefix.len();
        let after = &markdown[json_start..];
        if after.starts_with('}') {
            // Bare form: a plugin with no configuration.
            push_text(&mut segments, &markdown[text_start..at]);
            segments.push(if is_investigate {
                GuideSegment::Investigate(Investigate::default())
            } else {
                GuideSegment::Osquery(Osquery::default())
            });
            i = json_start + 1;
            text_start = i;
            continue;
        }
        if !after.starts_with('{') {
            i = json_start;
            continue;
        }
        // Brace counter: stop when the count would go below zero.
        let mut depth: i32 = -1;
        let mut end = None;
        for (k, c) in after.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    if depth == 0 {
                        end = Some(k + 1);
                        break;
                    }
                    depth -= 1;
                }
                _ => {}
            }
        }
        let Some(json_len) = end else {
            i = json_start;
            continue;
        };
        let json = &after[..json_len];
        let close = json_start + json_len;
        let block_end = if markdown[close..].starts_with('}') {
            close + 1
        } else {
            close
        };
        if brace_inside_string(json) {
            warnings.push(GuideWarning {
                offset: at,
                message: "a brace inside a JSON string ends the plugin block early in Kibana"
                    .to_owned(),
            });
        }
        push_text(&mut segments, &markdown[text_start..at]);
        let parsed = if is_investigate {
            serde_json::from_str::<Investigate>(json).map(GuideSegment::Investigate)
        } else {
            serde_json::from_str::<Osquery>(json).map(GuideSegment::Osquery)
        };
        match parsed {
            Ok(seg) => segments.push(seg),
            Err(e) => {
                let message = format!("unable to parse {} JSON configuration: {e}", &prefix[2..]);
                warnings.push(GuideWarning {
                    offset: at,
                    message: message.clone(),
                });
                segments.push(GuideSegment::Invalid {
                    raw: markdown[at..block_end].to_owned(),
                    message,
                });
            }
        }
        i = block_end;
        text_start = block_end;
    }
    push_text(&mut segments, &markdown[text_start..]);
    (segments, warnings)
}

fn push_text(segments: &mut Vec<GuideSegment>, text: &str) {
    if !text.is_empty() {
        segments.push(GuideSegment::Text(text.to_owned()));
    }
}

/// Whether the brace-counted `json` ends inside a string literal: a `}` in a string
/// cut the block short (balanced braces in strings, like `{{host.id}}`, are harmless).
fn brace_inside_string(json: &str) -> bool {
    let mut in_str = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
        } else if c == '"' {
            in_str = true;
        }
    }
    in_str
}

/// Renders a guide as readable Markdown. Placeholders are expanded first (when the
/// rule has a transform), then each plugin block becomes text. With an `alert`
/// document, `{{field}}` templates take the alert's first value of the field and
/// relative times are resolved against the alert's `@timestamp`.
pub fn resolve_guide(
    note: &str,
    transform: Option<&Transform>,
    alert: Option<&Map<String, Value>>,
) -> (String, Vec<GuideWarning>) {
    let rendered = render_note(note, transform);
    let (segments, warnings) = parse_guide(&rendered);
    let anchor = alert.and_then(alert_time);
    let mut out = String::with_capacity(rendered.len());
    for seg in &segments {
        match seg {
            GuideSegment::Text(t) => out.push_str(t),
            GuideSegment::Investigate(inv) => describe_investigate(inv, alert, anchor, &mut out),
            GuideSegment::Osquery(q) => describe_osquery(q, alert, &mut out),
            GuideSegment::Invalid { raw, .. } => out.push_str(raw),
        }
    }
    (out, warnings)
}

fn alert_time(alert: &Map<String, Value>) -> Option<DateTime<Utc>> {
    let v = first_value(alert, "@timestamp")?;
    DateTime::parse_from_rfc3339(&v)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The first value of `field` in the alert (dotted or nested), as text.
fn first_value(alert: &Map<String, Value>, field: &str) -> Option<String> {
    let path = harrier_event::FieldPath::new(field);
    let v = harrier_event::lookup_first(alert, &path)?;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

/// Replaces `{{ field }}` templates from the alert; unresolved ones stay literal.
pub fn fill_templates(text: &str, alert: Option<&Map<String, Value>>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let inner = &rest[start + 2..start + 2 + len];
        out.push_str(&rest[..start]);
        let value = if inner.contains('}') || inner.trim().is_empty() {
            None
        } else {
            alert.and_then(|a| first_value(a, inner.trim()))
        };
        match value {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[start..start + 2 + len + 2]),
        }
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    out
}

fn describe_investigate(
    inv: &Investigate,
    alert: Option<&Map<String, Value>>,
    anchor: Option<DateTime<Utc>>,
    out: &mut String,
) {
    let label = if inv.label.trim().is_empty() {
        "Investigate"
    } else {
        inv.label.trim()
    };
    out.push_str(&format!("[{label}]"));
    if !inv.description.trim().is_empty() {
        out.push_str(&format!(" ({})", inv.description.trim()));
    }
    let groups: Vec<String> = inv
        .providers
        .iter()
        .map(|group| {
            let terms: Vec<String> = group.iter().map(|p| describe_provider(p, alert)).collect();
            terms.join(" AND ")
        })
        .filter(|g| !g.is_empty())
        .collect();
    if !groups.is_empty() {
        let query = if groups.len() == 1 {
            groups.join("")
        } else {
            groups
                .iter()
                .map(|g| format!("({g})"))
                .collect::<Vec<_>>()
                .join(" OR ")
        };
        out.push_str(&format!(": `{query}`"));
    }
    if let (Some(from), Some(to)) = (&inv.relative_from, &inv.relative_to) {
        match anchor {
            Some(t) => {
                let f = resolve_date_math(from, t);
                let e = resolve_date_math(to, t);
                match (f, e) {
                    (Some(f), Some(e)) => out.push_str(&format!(
                        " from {} to {}",
                        f.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        e.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                    )),
                    _ => out.push_str(&format!(" from {from} to {to}")),
                }
            }
            None => out.push_str(&format!(" from {from} to {to}")),
        }
    }
}

fn describe_provider(p: &Provider, alert: Option<&Map<String, Value>>) -> String {
    let value = match &p.value {
        Value::String(s) => fill_templates(s, alert),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let term = match p.query_type.as_str() {
        "exists" => format!("{}: *", p.field),
        "phrase" => format!("{}: {}", p.field, quote(&value)),
        "phrases" => {
            let items: Vec<String> = serde_json::from_str::<Vec<Value>>(&value)
                .map(|vs| {
                    vs.iter()
                        .map(|v| match v {
                            Value::String(s) => quote(s),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .unwrap_or_else(|_| vec![quote(&value)]);
            format!("{}: ({})", p.field, items.join(" or "))
        }
        "range" => format!("{} in range {}", p.field, value),
        other => format!(
            "{}: {} (unknown query type {other:?})",
            p.field,
            quote(&value)
        ),
    };
    if p.excluded {
        format!("NOT {term}")
    } else {
        term
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn describe_osquery(q: &Osquery, alert: Option<&Map<String, Value>>, out: &mut String) {
    let label = if q.label.trim().is_empty() {
        "Osquery"
    } else {
        q.label.trim()
    };
    let query = fill_templates(q.query.trim(), alert);
    out.push_str(&format!("[{label}]: `{}`", query.replace('\n', " ")));
}

/// Resolves Elastic date math relative to `now`: `now`, `now-1h`, `now+5m`,
/// `now-48h/h` (rounding down). Units: y M w d h H m s. Returns `None` for other forms.
pub fn resolve_date_math(expr: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut rest = expr.trim().strip_prefix("now")?;
    let mut t = now;
    while !rest.is_empty() {
        let op = rest.chars().next()?;
        rest = &rest[1..];
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        let n: i64 = if digits == 0 {
            1
        } else {
            rest[..digits].parse().ok()?
        };
        if op == '/' && digits > 0 {
            return None;
        }
        rest = &rest[digits..];
        let unit = rest.chars().next()?;
        rest = &rest[unit.len_utf8()..];
        t = match op {
            '+' | '-' => {
                let sign = if op == '-' { -1 } else { 1 };
                match unit {
                    'y' => add_months(t, sign * 12 * n)?,
                    'M' => add_months(t, sign * n)?,
                    _ => t + Duration::try_milliseconds(sign * n * unit_millis(unit)?)?,
                }
            }
            '/' => round_down(t, unit)?,
            _ => return None,
        };
    }
    Some(t)
}

fn unit_millis(unit: char) -> Option<i64> {
    Some(match unit {
        'w' => 7 * 86_400_000,
        'd' => 86_400_000,
        'h' | 'H' => 3_600_000,
        'm' => 60_000,
        's' => 1_000,
        _ => return None,
    })
}

fn add_months(t: DateTime<Utc>, months: i64) -> Option<DateTime<Utc>> {
    let m = chrono::Months::new(months.unsigned_abs().try_into().ok()?);
    if months >= 0 {
        t.checked_add_months(m)
    } else {
        t.checked_sub_months(m)
    }
}

fn round_down(t: DateTime<Utc>, unit: char) -> Option<DateTime<Utc>> {
    use chrono::{Datelike, NaiveTime, TimeZone, Timelike};
    let day = |y: i32, m: u32, d: u32| {
        chrono::NaiveDate::from_ymd_opt(y, m, d)
            .map(|d| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)))
    };
    match unit {
        'y' => day(t.year(), 1, 1),
        'M' => day(t.year(), t.month(), 1),
        'w' => {
            let back = t.weekday().num_days_from_monday() as i64;
            day(t.year(), t.month(), t.day()).map(|d| d - Duration::days(back))
        }
        'd' => day(t.year(), t.month(), t.day()),
        'h' | 'H' => t.with_nanosecond(0)?.with_second(0)?.with_minute(0),
        'm' => t.with_nanosecond(0)?.with_second(0),
        's' => t.with_nanosecond(0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn transform() -> Transform {
        Transform {
            investigate: vec![Investigate {
                label: "Alerts for the host".into(),
                description: String::new(),
                providers: vec![vec![
                    Provider {
                        excluded: false,
                        field: "event.kind".into(),
                        query_type: "phrase".into(),
                        value: json!("signal"),
                        value_type: Some("string".into()),
                    },
                    Provider {
                        excluded: false,
                        field: "host.id".into(),
                        query_type: "phrase".into(),
                        value: json!("{{host.id}}"),
                        value_type: Some("string".into()),
                    },
                ]],
                relative_from: Some("now-48h/h".into()),
                relative_to: Some("now".into()),
            }],
            osquery: vec![Osquery {
                label: "Osquery - DNS cache".into(),
                query: "SELECT * FROM dns_cache".into(),
                ecs_mapping: None,
            }],
        }
    }

    #[test]
    fn placeholders_become_sorted_compact_json() {
        let note = "See $investigate_0 and ${osquery_0}; costs $$5, $HOME stays, $osquery_7 too.";
        let out = render_note(note, Some(&transform()));
        assert_eq!(
            out,
            "See !{investigate{\"description\":\"\",\"label\":\"Alerts for the host\",\
             \"providers\":[[{\"excluded\":false,\"field\":\"event.kind\",\"queryType\":\"phrase\",\
             \"value\":\"signal\",\"valueType\":\"string\"},{\"excluded\":false,\"field\":\"host.id\",\
             \"queryType\":\"phrase\",\"value\":\"{{host.id}}\",\"valueType\":\"string\"}]],\
             \"relativeFrom\":\"now-48h/h\",\"relativeTo\":\"now\"}} and \
             !{osquery{\"label\":\"Osquery - DNS cache\",\"query\":\"SELECT * FROM dns_cache\"}}; \
             costs $5, $HOME stays, $osquery_7 too."
        );
        // Notes without a transform are left alone, `$$` included.
        assert_eq!(render_note("a $$ b", None), "a $$ b");
    }

    #[test]
    fn parse_round_trips_rendered_blocks() {
        let t = transform();
        let md = render_note("x $investigate_0 y $osquery_0", Some(&t));
        let (segs, warnings) = parse_guide(&md);
        assert!(warnings.is_empty());
        assert_eq!(
            segs,
            vec![
                GuideSegment::Text("x ".into()),
                GuideSegment::Investigate(t.investigate[0].clone()),
                GuideSegment::Text(" y ".into()),
                GuideSegment::Osquery(t.osquery[0].clone()),
            ]
        );
    }

    #[test]
    fn brace_in_string_ends_the_block_early_with_a_warning() {
        let md = "!{investigate{\"label\":\"a}b\",\"providers\":[]}}";
        let (segs, warnings) = parse_guide(md);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(matches!(segs[0], GuideSegment::Invalid { .. }));
    }

    #[test]
    fn resolves_templates_and_time_against_the_alert() {
        let alert = json!({"@timestamp": "2024-05-01T10:30:00.000Z", "host": {"id": "h-1"}});
        let alert = alert.as_object().cloned().unwrap_or_default();
        let (text, warnings) = resolve_guide(
            "- $investigate_0\n- $osquery_0\n",
            Some(&transform()),
            Some(&alert),
        );
        assert!(warnings.is_empty());
        assert_eq!(
            text,
            "- [Alerts for the host]: `event.kind: \"signal\" AND host.id: \"h-1\"` \
             from 2024-04-29T10:00:00.000Z to 2024-05-01T10:30:00.000Z\n\
             - [Osquery - DNS cache]: `SELECT * FROM dns_cache`\n"
        );
        let (unresolved, _) = resolve_guide("$investigate_0", Some(&transform()), None);
        assert!(unresolved.contains("host.id: \"{{host.id}}\""));
        assert!(unresolved.contains("from now-48h/h to now"));
    }

    #[test]
    fn date_math() {
        let now = DateTime::parse_from_rfc3339("2024-03-31T10:30:15Z")
            .map(|t| t.with_timezone(&Utc))
            .ok();
        let Some(now) = now else { panic!("time") };
        let s = |e: &str| {
            resolve_date_math(e, now).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        };
        assert_eq!(s("now-1h").as_deref(), Some("2024-03-31T09:30:15Z"));
        assert_eq!(s("now-1M").as_deref(), Some("2024-02-29T10:30:15Z"));
        assert_eq!(s("now/d").as_deref(), Some("2024-03-31T00:00:00Z"));
        assert_eq!(s("now-2d/d+1h").as_deref(), Some("2024-03-29T01:00:00Z"));
        assert_eq!(s("yesterday"), None);
    }
}
