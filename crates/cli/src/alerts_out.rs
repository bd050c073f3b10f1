//! Alert writers for `harrier hunt`. Every format implements [`AlertWriter`]; the
//! terminal summary is rendered by [`write_summary`]. EQL detections (events matched by
//! the engine) and KQL detections (result rows of Kusto rules) are shown side by side
//! through [`Alert`].

use crate::kql_hunt::KqlDetection;
use harrier_engine::{Detection, Engine};
use harrier_event::{lookup, FieldPath, Value};
use harrier_rules::{Rule, Severity};
use serde_json::{json, Map};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Everything a writer may show.
pub struct Report<'a> {
    pub engine: &'a Engine,
    pub detections: &'a [Detection],
    /// Alerts of the KQL rules, one per result row.
    pub kql: &'a [KqlDetection],
    /// How many KQL rules ran.
    pub kql_rules: usize,
}

/// One alert of either language.
#[derive(Clone, Copy)]
pub enum Alert<'a> {
    Eql(&'a Detection),
    Kql(&'a KqlDetection),
}

impl<'a> Report<'a> {
    pub fn rule(&self, d: &Detection) -> &'a Rule {
        &self.engine.rules()[d.rule].rule
    }

    /// Every alert: the EQL detections, then the KQL ones.
    pub fn alerts(&self) -> Vec<Alert<'a>> {
        self.detections
            .iter()
            .map(Alert::Eql)
            .chain(self.kql.iter().map(Alert::Kql))
            .collect()
    }

    pub fn alert_rule(&self, a: Alert<'a>) -> &'a Rule {
        match a {
            Alert::Eql(d) => self.rule(d),
            Alert::Kql(k) => &k.rule,
        }
    }

    /// The alert documents (a sequence's building blocks, then its shell),
    /// built as they are asked for.
    pub fn documents(&self, a: Alert<'a>) -> Vec<Map<String, Value>> {
        match a {
            Alert::Eql(d) => self.engine.alert_documents(d),
            Alert::Kql(k) => vec![k.document.clone()],
        }
    }

    /// What the alert's primary document (the last of
    /// [`Report::documents`]) says of it, without building EQL alerts'
    /// documents. Empty for an alert without events.
    pub fn head(&self, a: Alert<'a>) -> Head {
        match a {
            Alert::Eql(d) => self
                .engine
                .alert_head(d)
                .map(|h| Head {
                    name: h.name,
                    severity: h.severity.as_str().to_owned(),
                    risk_score: text_of(&h.risk),
                    uuid: h.uuid,
                })
                .unwrap_or_default(),
            Alert::Kql(k) => {
                let get = |key: &str| k.document.get(key).map(text_of).unwrap_or_default();
                Head {
                    name: get("kibana.alert.rule.name"),
                    severity: get("kibana.alert.severity"),
                    risk_score: get("kibana.alert.risk_score"),
                    uuid: get("kibana.alert.uuid"),
                }
            }
        }
    }

    /// How many alert documents [`Report::documents`] gives.
    pub fn document_count(&self, a: Alert<'a>) -> usize {
        match a {
            Alert::Eql(d) => d.document_count(),
            Alert::Kql(_) => 1,
        }
    }

    pub fn severity(&self, a: Alert<'a>) -> Severity {
        match a {
            Alert::Eql(d) => d.severity(),
            Alert::Kql(k) => k.severity(),
        }
    }

    /// A field of the alert's events (EQL: ECS paths) or row (KQL: the Defender columns
    /// standing for the same thing).
    pub fn field(&self, a: Alert<'a>, what: What) -> String {
        match a {
            Alert::Eql(d) => {
                let path = match what {
                    What::Host => "host.name",
                    What::User => "user.name",
                    What::Process => "process.name",
                    What::CommandLine => "process.command_line",
                };
                first_field(d, path)
            }
            Alert::Kql(k) => {
                let created = !row_text(&k.row, &["ProcessCommandLine"]).is_empty();
                let cols: &[&str] = match what {
                    What::Host => &["DeviceName", "Computer"],
                    What::User => &[
                        "AccountName",
                        "InitiatingProcessAccountName",
                        "AccountUpn",
                        "InitiatingProcessAccountUpn",
                    ],
                    What::Process if created => &["FileName", "InitiatingProcessFileName"],
                    What::Process => &["InitiatingProcessFileName", "FileName"],
                    What::CommandLine if created => {
                        &["ProcessCommandLine", "InitiatingProcessCommandLine"]
                    }
                    What::CommandLine => &["InitiatingProcessCommandLine", "ProcessCommandLine"],
                };
                row_text(&k.row, cols)
            }
        }
    }

    /// Time of the first (or last) event: `@timestamp` as the event has it, or the KQL
    /// row's `Timestamp`.
    pub fn time(&self, a: Alert<'a>, last: bool) -> String {
        match a {
            Alert::Eql(d) => event_time(d, last),
            Alert::Kql(k) => k.time.clone().unwrap_or_default(),
        }
    }

    pub fn origin(&self, a: Alert<'a>) -> String {
        match a {
            Alert::Eql(d) => d
                .events
                .first()
                .map(|e| e.origin.to_string())
                .unwrap_or_default(),
            Alert::Kql(k) => k.origin.clone().unwrap_or_default(),
        }
    }

    /// Events behind the alert: a KQL row counts as one.
    pub fn event_count(&self, a: Alert<'a>) -> usize {
        match a {
            Alert::Eql(d) => d.events.len(),
            Alert::Kql(_) => 1,
        }
    }

    /// The connection, or for other KQL rows the first columns, for the table's details.
    fn details(&self, a: Alert<'a>) -> String {
        let mut details = self.field(a, What::CommandLine);
        let conn = match a {
            Alert::Eql(d) => {
                let f = |p: &str| first_field(d, p);
                let dst = f("destination.ip");
                (!dst.is_empty()).then(|| {
                    format!(
                        "{} {}:{} -> {dst}:{}",
                        f("network.direction"),
                        f("source.ip"),
                        f("source.port"),
                        f("destination.port")
                    )
                })
            }
            Alert::Kql(k) => {
                let f = |c: &str| row_text(&k.row, &[c]);
                let ip = f("RemoteIP");
                if !ip.is_empty() {
                    let url = f("RemoteUrl");
                    Some(format!(
                        "{} {ip}:{}{}",
                        f("ActionType"),
                        f("RemotePort"),
                        if url.is_empty() {
                            String::new()
                        } else {
                            format!(" ({url})")
                        }
                    ))
                } else if details.is_empty() {
                    // an aggregate or projection: show what the row holds
                    let cells: Vec<String> = k
                        .row
                        .iter()
                        .filter(|(_, v)| !v.is_null() && v.as_str() != Some(""))
                        .take(6)
                        .map(|(n, v)| format!("{n}={}", text_of(v)))
                        .collect();
                    Some(cells.join(" "))
                } else {
                    None
                }
            }
        };
        if let Some(conn) = conn {
            details = if details.is_empty() {
                conn
            } else {
                format!("{details} | {conn}")
            };
        }
        details
    }
}

/// Fields shown for every alert.
#[derive(Clone, Copy)]
pub enum What {
    Host,
    User,
    Process,
    CommandLine,
}

/// The first non-empty of `cols` in a KQL result row, as text.
fn row_text(row: &Map<String, Value>, cols: &[&str]) -> String {
    cols.iter()
        .filter_map(|c| row.get(*c))
        .filter(|v| !v.is_null())
        .map(text_of)
        .find(|t| !t.is_empty())
        .unwrap_or_default()
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

/// What an alert's primary document says of it, as text ([`Report::head`]).
#[derive(Default)]
pub struct Head {
    pub name: String,
    pub severity: String,
    pub risk_score: String,
    pub uuid: String,
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
pub fn first_field(d: &Detection, path: &str) -> String {
    let p = FieldPath::new(path);
    let mut vals = Vec::new();
    for e in &d.events {
        vals.clear();
        lookup(&e.source, &p, &mut vals);
        if let Some(v) = vals.iter().find(|v| !v.is_null()) {
            return text_of(v);
        }
    }
    String::new()
}

/// `@timestamp` of the detection's first (or last) event, as the event has it.
pub fn event_time(d: &Detection, last: bool) -> String {
    let e = if last {
        d.events.last()
    } else {
        d.events.first()
    };
    e.and_then(|e| {
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

pub fn row<'a>(report: &Report<'a>, a: Alert<'a>) -> Row {
    let rule = report.alert_rule(a);
    let head = report.head(a);
    Row {
        rule_id: rule.rule_id.clone(),
        rule_name: head.name,
        severity: head.severity,
        risk_score: head.risk_score,
        tactics: tactics(rule),
        techniques: techniques(rule),
        host: report.field(a, What::Host),
        user: report.field(a, What::User),
        process: report.field(a, What::Process),
        command_line: report.field(a, What::CommandLine),
        first_time: report.time(a, false),
        last_time: report.time(a, true),
        alert_id: head.uuid,
        events: report.event_count(a),
        origin: report.origin(a),
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
        for a in report.alerts() {
            let r = row(report, a);
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
        for a in report.alerts() {
            let r = row(report, a);
            let v = json!({
                "rule_id": r.rule_id,
                "rule_name": r.rule_name,
                "severity": r.severity,
                "risk_score": report.alert_rule(a).risk_score,
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
        // one alert's documents at a time, never all of them at once
        let docs = report
            .alerts()
            .into_iter()
            .flat_map(|a| report.documents(a));
        let mut json = serde_json::Serializer::pretty(&mut *out);
        serde::Serializer::collect_seq(&mut json, docs)?;
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
pub fn by_rule<'a>(report: &Report<'a>) -> Vec<(&'a Rule, Vec<Alert<'a>>)> {
    // rule ids are unique among loaded rules
    let mut groups: Vec<(&'a Rule, Vec<Alert<'a>>)> = Vec::new();
    for a in report.alerts() {
        let rule = report.alert_rule(a);
        match groups.iter_mut().find(|(r, _)| r.rule_id == rule.rule_id) {
            Some((_, v)) => v.push(a),
            None => groups.push((rule, vec![a])),
        }
    }
    groups.sort_by(|(ra, a), (rb, b)| {
        rb.severity
            .cmp(&ra.severity)
            .then(b.len().cmp(&a.len()))
            .then(ra.name.cmp(&rb.name))
    });
    groups
}

impl AlertWriter for TableWriter {
    fn write(&self, out: &mut dyn Write, report: &Report) -> io::Result<()> {
        let st = self.style;
        if report.detections.is_empty() && report.kql.is_empty() {
            return writeln!(out, "No alerts.");
        }
        for (rule, dets) in by_rule(report) {
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
            for &a in &dets {
                table.push([
                    report.time(a, false),
                    clip(&report.field(a, What::Host), 24),
                    clip(&report.field(a, What::User), 20),
                    clip(&report.field(a, What::Process), 24),
                    clip(&report.details(a), 110),
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
    for a in report.alerts() {
        *by_sev.entry(report.severity(a)).or_default() += 1;
        let rule = report.alert_rule(a);
        for t in tactics(rule) {
            *by_tactic.entry(t).or_default() += 1;
        }
        for t in techniques(rule) {
            *by_tech.entry(t).or_default() += 1;
        }
        let host = report.field(a, What::Host);
        *by_host
            .entry(if host.is_empty() {
                "(none)".into()
            } else {
                host
            })
            .or_default() += 1;
        docs += report.document_count(a);
    }
    let sev_text: Vec<String> = by_sev
        .iter()
        .rev()
        .map(|(s, n)| st.severity(*s, &format!("{} {n}", s.as_str())))
        .collect();
    writeln!(out, "{}", st.bold("Summary"))?;
    let total = report.detections.len() + report.kql.len();
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
        .map(|(r, d)| (d.len(), r.name.as_str()))
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
        "  rules       {} loaded: {} run ({} with literal prefilters{}), {} filtered out, {} failed to compile, {} unsupported{}{}",
        s.total,
        report.engine.rules().len() + report.kql_rules,
        report.engine.rules_with_literals(),
        if report.kql_rules > 0 {
            format!(", {} KQL", report.kql_rules)
        } else {
            String::new()
        },
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
