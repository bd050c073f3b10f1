//! Alert writers for `harrier hunt`. Every format implements [`AlertWriter`]; the
//! terminal summary is rendered by [`write_summary`].

use harrier_engine::{Detection, Engine};
use harrier_event::{lookup, Event, FieldPath, Value};
use harrier_rules::{Rule, Severity};
use serde_json::{json, Map};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Everything a writer may show.
pub struct Report<'a> {
    pub engine: &'a Engine,
    pub events: &'a [Event],
    pub detections: &'a [Detection],
}

impl Report<'_> {
    pub fn rule(&self, d: &Detection) -> &Rule {
        &self.engine.rules()[d.rule].rule
    }
}

pub trait AlertWriter {
    fn write(&self, out: &mut dyn Write, report: &Report) -> io::Result<()>;
}

/// Terminal styling: severity colours, only when enabled.
#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn severity(&self, s: Severity, text: &str) -> String {
        let code = match s {
            Severity::Low => "36",
            Severity::Medium => "33",
            Severity::High => "1;31",
            Severity::Critical => "1;97;41",
        };
        self.paint(code, text)
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// The fields of one alert row (CSV and JSONL).
pub struct Row {
    pub rule_id: String,
    pub rule_name: String,
    pub severity: String,
    pub risk_score: String,
    pub tactics: Vec<String>,
    pub techniques: Vec<String>,
    pub host: String,
    pub user: String,
    pub process: String,
    pub command_line: String,
    pub first_time: String,
    pub last_time: String,
    pub alert_id: String,
    pub events: usize,
    pub origin: String,
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The first value of `path` among the detection's events, in order.
pub fn first_field(d: &Detection, events: &[Event], path: &str) -> String {
    let p = FieldPath::new(path);
    let mut vals = Vec::new();
    for &i in &d.events {
        let Some(e) = events.get(i) else { continue };
        vals.clear();
        lookup(&e.source, &p, &mut vals);
        if let Some(v) = vals.iter().find(|v| !v.is_null()) {
            return text_of(v);
        }
    }
    String::new()
}

/// `@timestamp` of the detection's first (or last) event, as the event has it.
pub fn event_time(d: &Detection, events: &[Event], last: bool) -> String {
    let i = if last {
        d.events.last()
    } else {
        d.events.first()
    };
    i.and_then(|&i| events.get(i))
        .and_then(|e| {
            e.source
                .get("@timestamp")
                .or_else(|| harrier_event::lookup_first(&e.source, &FieldPath::new("@timestamp")))
        })
        .map(text_of)
        .unwrap_or_default()
}

pub fn tactics(rule: &Rule) -> Vec<String> {
    let mut v: Vec<String> = rule.threat.iter().map(|t| t.tactic.name.clone()).collect();
    v.dedup();
    v
}

/// Technique ids, with subtechniques when the rule names them (`T1218.005`).
pub fn techniques(rule: &Rule) -> Vec<String> {
    let mut v = Vec::new();
    for t in &rule.threat {
        for tech in &t.technique {
            if tech.subtechnique.is_empty() {
                v.push(tech.id.clone());
            } else {
                v.extend(tech.subtechnique.iter().map(|s| s.id.clone()));
            }
        }
    }
    v.dedup();
    v
}

pub fn row(report: &Report, d: &Detection) -> Row {
    let rule = report.rule(d);
    let primary = d.primary();
    let get = |k: &str| primary.get(k).map(text_of).unwrap_or_default();
    Row {
        rule_id: rule.rule_id.clone(),
        rule_name: get("kibana.alert.rule.name"),
        severity: get("kibana.alert.severity"),
        risk_score: get("kibana.alert.risk_score"),
        tactics: tactics(rule),
        techniques: techniques(rule),
        host: first_field(d, report.events, "host.name"),
        user: first_field(d, report.events, "user.name"),
        process: first_field(d, report.events, "process.name"),
        command_line: first_field(d, report.events, "process.command_line"),
        first_time: event_time(d, report.events, false),
        last_time: event_time(d, report.events, true),
        alert_id: get("kibana.alert.uuid"),
        events: d.events.len(),
        origin: d
            .events
            .first()
            .and_then(|&i| report.events.get(i))
            .map(|e| e.origin.to_string())
            .unwrap_or_default(),
    }
}

const CSV_HEADER: [&str; 15] = [
    "rule_id",
    "rule_name",
    "severity",
    "risk_score",
    "tactics",
    "techniques",
    "host",
    "user",
    "process",
    "command_line",
    "first_time",
    "last_time",
    "alert_id",
    "events",
    "origin",
];

/// One CSV row per alert (a sequence counts once).
pub struct CsvWriter;

impl AlertWriter for CsvWriter {
    fn write(&self, out: &mut dyn Write, report: &Report) -> io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(CSV_HEADER)?;
        for d in report.detections {
            let r = row(report, d);
            w.write_record([
                r.rule_id,
                r.rule_name,
                r.severity,
                r.risk_score,
                r.tactics.join(";"),
                r.techniques.join(";"),
                r.host,
                r.user,
                r.process,
                r.command_line,
                r.first_time,
                r.last_time,
                r.alert_id,
                r.events.to_string(),
                r.origin,
            ])?;
        }
        w.flush()
    }
}

/// One JSON object per alert, same fields as the CSV.
pub struct JsonlWriter;

impl AlertWriter for JsonlWriter {
    fn write(&self, out: &mut dyn Write, report: &Report) -> io::Result<()> {
        for d in report.detections {
            let r = row(report, d);
            let v = json!({
                "rule_id": r.rule_id,
                "rule_name": r.rule_name,
                "severity": r.severity,
                "risk_score": report.rule(d).risk_score,
                "tactics": r.tactics,
                "techniques": r.techniques,
                "host": r.host,
                "user": r.user,
                "process": r.process,
                "command_line": r.command_line,
                "first_time": r.first_time,
                "last_time": r.last_time,
                "alert_id": r.alert_id,
                "events": r.events,
                "origin": r.origin,
            });
            serde_json::to_writer(&mut *out, &v)?;
            writeln!(out)?;
        }
        Ok(())
    }
}

/// Every Kibana alert document (building blocks and shells included), as a JSON array.
pub struct KibanaJsonWriter;

impl AlertWriter for KibanaJsonWriter {
    fn write(&self, out: &mut dyn Write, report: &Report) -> io::Result<()> {
        let docs: Vec<&Map<String, Value>> = report
            .detections
            .iter()
            .flat_map(|d| d.documents.iter())
            .collect();
        serde_json::to_writer_pretty(&mut *out, &docs)?;
        writeln!(out)
    }
}

/// Alerts grouped by rule, most severe rules first.
pub struct TableWriter {
    pub style: Style,
}

fn clip(s: &str, n: usize) -> String {
    let s = s.replace(['\n', '\r', '\t'], " ");
    if s.chars().count() > n {
        s.chars().take(n.saturating_sub(3)).collect::<String>() + "..."
    } else {
        s
    }
}

/// Rules in display order (severity, then alert count, then name) with their alerts.
pub fn by_rule<'a>(report: &'a Report) -> Vec<(usize, Vec<&'a Detection>)> {
    let mut groups: BTreeMap<usize, Vec<&Detection>> = BTreeMap::new();
    for d in report.detections {
        groups.entry(d.rule).or_default().push(d);
    }
    let mut v: Vec<(usize, Vec<&Detection>)> = groups.into_iter().collect();
    v.sort_by(|a, b| {
        let ra = &report.engine.rules()[a.0].rule;
        let rb = &report.engine.rules()[b.0].rule;
        rb.severity
            .cmp(&ra.severity)
            .then(b.1.len().cmp(&a.1.len()))
            .then(ra.name.cmp(&rb.name))
    });
    v
}

impl AlertWriter for TableWriter {
    fn write(&self, out: &mut dyn Write, report: &Report) -> io::Result<()> {
        let st = self.style;
        if report.detections.is_empty() {
            return writeln!(out, "No alerts.");
        }
        for (r, dets) in by_rule(report) {
            let rule = &report.engine.rules()[r].rule;
            let sev = rule.severity;
            let n = dets.len();
            let techs = techniques(rule).join(", ");
            writeln!(
                out,
                "{} {}  {}",
                st.severity(sev, &format!("{:<8}", sev.as_str().to_uppercase())),
                st.bold(&rule.name),
                st.dim(&format!(
                    "{n} alert{}, risk {}{}",
                    if n == 1 { "" } else { "s" },
                    rule.risk_score,
                    if techs.is_empty() {
                        String::new()
                    } else {
                        format!(", {techs}")
                    }
                ))
            )?;
            let mut table: Vec<[String; 5]> = vec![[
                "TIME".into(),
                "HOST".into(),
                "USER".into(),
                "PROCESS".into(),
                "DETAILS".into(),
            ]];
            for d in &dets {
                let mut details = first_field(d, report.events, "process.command_line");
                let dst = first_field(d, report.events, "destination.ip");
                if !dst.is_empty() {
                    let src = first_field(d, report.events, "source.ip");
                    let sport = first_field(d, report.events, "source.port");
                    let dport = first_field(d, report.events, "destination.port");
                    let dir = first_field(d, report.events, "network.direction");
                    let conn = format!("{dir} {src}:{sport} -> {dst}:{dport}");
                    details = if details.is_empty() {
                        conn
                    } else {
                        format!("{details} | {conn}")
                    };
                }
                table.push([
                    event_time(d, report.events, false),
                    clip(&first_field(d, report.events, "host.name"), 24),
                    clip(&first_field(d, report.events, "user.name"), 20),
                    clip(&first_field(d, report.events, "process.name"), 24),
                    clip(&details, 110),
                ]);
            }
            let widths: Vec<usize> = (0..5)
                .map(|c| {
                    table
                        .iter()
                        .map(|r| r[c].chars().count())
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            for (k, r) in table.iter().enumerate() {
                let line: Vec<String> = r
                    .iter()
                    .zip(&widths)
                    .map(|(v, w)| format!("{v:<w$}"))
                    .collect();
                let line = format!("  {}", line.join("  ").trim_end());
                if k == 0 {
                    writeln!(out, "{}", st.dim(&line))?;
                } else {
                    writeln!(out, "{line}")?;
                }
            }
            writeln!(out)?;
        }
        Ok(())
    }
}

/// Counts shown after a hunt.
pub struct RunFacts {
    pub files: u64,
    pub events_read: u64,
    /// NDJSON lines passed over unparsed by the literal prefilter (not in `events_read`).
    pub passed_over: u64,
    pub skipped: u64,
    pub failed_files: u64,
    pub rule_problems: usize,
    pub elapsed: std::time::Duration,
    pub rules_at_max_signals: Vec<String>,
}

fn count_line(counts: &BTreeMap<String, usize>, limit: usize) -> String {
    let mut v: Vec<(&String, &usize)> = counts.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut parts: Vec<String> = v
        .iter()
        .take(limit)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    if v.len() > limit {
        parts.push(format!("(+{} more)", v.len() - limit));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

pub fn write_summary(
    out: &mut dyn Write,
    report: &Report,
    facts: &RunFacts,
    st: Style,
) -> io::Result<()> {
    let mut by_sev: BTreeMap<Severity, usize> = BTreeMap::new();
    let mut by_tactic: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_tech: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_host: BTreeMap<String, usize> = BTreeMap::new();
    let mut docs = 0;
    for d in report.detections {
        *by_sev.entry(d.severity()).or_default() += 1;
        let rule = report.rule(d);
        for t in tactics(rule) {
            *by_tactic.entry(t).or_default() += 1;
        }
        for t in techniques(rule) {
            *by_tech.entry(t).or_default() += 1;
        }
        let host = first_field(d, report.events, "host.name");
        *by_host
            .entry(if host.is_empty() {
                "(none)".into()
            } else {
                host
            })
            .or_default() += 1;
        docs += d.documents.len();
    }
    let sev_text: Vec<String> = by_sev
        .iter()
        .rev()
        .map(|(s, n)| st.severity(*s, &format!("{} {n}", s.as_str())))
        .collect();
    writeln!(out, "{}", st.bold("Summary"))?;
    let total = report.detections.len();
    writeln!(
        out,
        "  alerts      {total}{}  ({docs} Kibana alert documents)",
        if sev_text.is_empty() {
            String::new()
        } else {
            format!(": {}", sev_text.join(", "))
        }
    )?;
    writeln!(out, "  tactics     {}", count_line(&by_tactic, 8))?;
    writeln!(out, "  techniques  {}", count_line(&by_tech, 8))?;
    writeln!(out, "  hosts       {}", count_line(&by_host, 8))?;
    let groups = by_rule(report);
    let mut top: Vec<(usize, &str)> = groups
        .iter()
        .map(|(r, d)| (d.len(), report.engine.rules()[*r].rule.name.as_str()))
        .collect();
    top.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    for (k, (n, name)) in top.iter().take(5).enumerate() {
        let label = if k == 0 { "top rules" } else { "" };
        writeln!(out, "  {label:<10}  {n:>4}  {name}")?;
    }
    writeln!(
        out,
        "  events      {} read from {} file{}{}, {} skipped{}",
        facts.events_read + facts.passed_over,
        facts.files,
        if facts.files == 1 { "" } else { "s" },
        if facts.passed_over > 0 {
            format!(
                " ({} lines naming no rule's literal value passed over unparsed)",
                facts.passed_over
            )
        } else {
            String::new()
        },
        facts.skipped,
        if facts.failed_files > 0 {
            format!(" ({} unreadable files)", facts.failed_files)
        } else {
            String::new()
        }
    )?;
    let s = report.engine.summary();
    let unsupported: Vec<String> = s
        .unsupported_by_type
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    writeln!(
        out,
        "  rules       {} loaded: {} run ({} with literal prefilters), {} filtered out, {} failed to compile, {} unsupported{}{}",
        s.total,
        report.engine.rules().len(),
        report.engine.rules_with_literals(),
        report.engine.filtered_out(),
        report.engine.errors().len(),
        s.unsupported,
        if unsupported.is_empty() {
            String::new()
        } else {
            format!(" ({})", unsupported.join(", "))
        },
        if facts.rule_problems > 0 {
            format!(", {} load problems", facts.rule_problems)
        } else {
            String::new()
        }
    )?;
    for name in &facts.rules_at_max_signals {
        writeln!(
            out,
            "  warning     {name}: max_signals reached, later alerts were not raised"
        )?;
    }
    let secs = facts.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        (facts.events_read + facts.passed_over) as f64 / secs
    } else {
        0.0
    };
    writeln!(out, "  elapsed     {secs:.2} s ({rate:.0} events/s)")
}
