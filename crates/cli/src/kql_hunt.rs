//! Kusto (KQL) rules in `harrier hunt`.
//!
//! The engine crate runs EQL only (it must not depend on DataFusion); this module runs
//! the KQL rules beside it. [`KqlHunt::new`] parses and plan-checks each rule,
//! [`KqlHunt::observe`] keeps, as events are read, the Defender rows (from
//! [`harrier_sources::to_defender`]) of the tables the rules read, and
//! [`KqlHunt::finish`] runs every rule over those tables and turns each result row into
//! one Kibana-shaped alert ([`harrier_rules::alert::build_row_alert`]).
//!
//! # Literal prefilter
//!
//! [`KqlHunt::literals`] gives strings of which at least one appears (ASCII
//! case-insensitively) in the raw ECS JSON text of every event that can contribute a row
//! to any rule's result, or `None` when no such guarantee is derived. A rule yields
//! literals only when:
//!
//! 1. its script has exactly one query statement, and the whole script names exactly one
//!    Defender table (so no `join`, `union`, `lookup` or subquery reads another table);
//! 2. that query is a pipeline rooted at the table; only the `where` operators directly
//!    after the table are looked at (before any operator that could add or rename
//!    columns), so a row that fails them never reaches the rest of the pipeline;
//! 3. the predicate (through `and`, `or`, parentheses) constrains a column that the
//!    Defender mapping copies verbatim from the source document, or cuts from such a
//!    value (file names are cut from paths): [`VERBATIM_COLUMNS`], with `==`, `=~`,
//!    `has`, `contains`, `startswith`, `endswith`, `hasprefix`, `hassuffix` (and their
//!    `_cs` forms), `in`, `in~`, `has_any` or `has_all` against string literals. For
//!    `and` one side's literals suffice; `or` needs both sides' (their union).
//!
//! Every such operator, when true, implies that the column's value contains the literal
//! after lower-casing both. Of each literal only its longest run of "plain" characters
//! is used: ASCII graphic characters or spaces other than `"`, `\` and `/` (which JSON
//! writers may escape) and other than `i` and `k` in either case (lower-casing the
//! non-ASCII `İ` and Kelvin sign `K` yields them, so their presence in a lower-cased
//! value does not imply an ASCII `i`/`k` in the source). Such a run therefore occurs,
//! ASCII case-insensitively, in the value, and hence in the JSON text of the document
//! (JSON writers do not escape plain characters). Runs shorter than three characters are
//! not used (the predicate then gives no guarantee). The same test is applied in
//! [`KqlHunt::observe`] to a row's string values, which keeps memory to the rows the
//! rules can use.

use chrono::{DateTime, Utc};
use harrier_event::Event;
use harrier_kql::ast::{
    BinaryOp, DynValue, Expr, ExprKind, ListOp, Literal, OpKind, Span, StatementKind,
};
use harrier_kql::lexer::TokenKind;
use harrier_kql_exec::empty_tables;
use harrier_kql_exec::{InputTable, KType};
use harrier_rules::alert::{build_row_alert, AlertContext};
use harrier_rules::{Rule, RuleProblem};
use harrier_sources::{to_defender, DefenderTable};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Defender columns whose value is a source-document value copied unchanged, or a part
/// cut from one (a file name from a path): a literal such a value contains is also in
/// the document's text.
pub const VERBATIM_COLUMNS: &[&str] = &[
    "FileName",
    "FolderPath",
    "ProcessCommandLine",
    "InitiatingProcessFileName",
    "InitiatingProcessFolderPath",
    "InitiatingProcessCommandLine",
    "InitiatingProcessParentFileName",
    "RemoteUrl",
];

/// Shortest literal fragment worth filtering on.
const MIN_FRAGMENT: usize = 3;

/// One KQL rule ready to run.
struct KqlRule {
    rule: Arc<Rule>,
    /// Lower-cased fragments, at least one of which a contributing row contains; `None`
    /// when no guarantee could be derived.
    literals: Option<Vec<String>>,
}

/// One alert of a KQL rule: one row of its result.
#[derive(Clone, Debug)]
pub struct KqlDetection {
    pub rule: Arc<Rule>,
    /// The result row, columns in the query's order.
    pub row: Map<String, Value>,
    /// The Kibana alert document.
    pub document: Map<String, Value>,
    /// The row's `Timestamp` (or `TimeGenerated`), as Kusto prints it.
    pub time: Option<String>,
    /// Where the row's event was read, when the row identifies it (`Timestamp`,
    /// `DeviceName` and `ReportId` of an observed row).
    pub origin: Option<String>,
}

impl KqlDetection {
    pub fn severity(&self) -> harrier_rules::Severity {
        self.document
            .get("kibana.alert.severity")
            .and_then(Value::as_str)
            .and_then(harrier_engine::parse_severity)
            .unwrap_or(self.rule.severity)
    }
}

/// What [`KqlHunt::finish`] produced.
#[derive(Debug, Default)]
pub struct KqlRun {
    /// By rule (in rule order), then in result order.
    pub detections: Vec<KqlDetection>,
    /// Rules that failed at run time.
    pub problems: Vec<RuleProblem>,
    /// Names of rules whose result reached `max_signals` rows (later rows not raised).
    pub rules_at_max_signals: Vec<String>,
}

/// The KQL rules of a hunt and the table rows they need.
pub struct KqlHunt {
    rules: Vec<KqlRule>,
    tables: BTreeMap<String, InputTable>,
    /// Per table read by some rule: `None` keeps every row, else rows holding one of
    /// these fragments.
    wanted: HashMap<DefenderTable, Option<Vec<String>>>,
    /// (Timestamp, DeviceName, ReportId) of kept rows → where the event was read.
    origins: HashMap<OriginKey, String>,
    /// Only rows whose `Timestamp` lies in this window (nanoseconds, inclusive).
    from: Option<i128>,
    to: Option<i128>,
}

type OriginKey = (String, String, Option<i64>);

fn problem(rule: &Rule, offset: usize, message: String) -> RuleProblem {
    let (line, column) = rule.query_position(offset).unwrap_or((0, 0));
    RuleProblem {
        file: rule.origin.file.clone(),
        line,
        column,
        message: format!("rule {:?}: {message}", rule.name),
    }
}

/// Parses and plans a KQL rule's query over empty Defender tables. The error spans
/// bytes of the query.
pub fn check_query(query: &str) -> Result<(), (Span, String)> {
    if let Err(e) = harrier_kql::parse(query) {
        return Err((e.span, e.message));
    }
    let now = DateTime::from_timestamp(0, 0).unwrap_or_default();
    harrier_kql_exec::run(query, &empty_tables(), now)
        .map(|_| ())
        .map_err(|e| (e.span, e.message))
}

impl KqlHunt {
    /// The KQL rules among `rules` (others are ignored), parsed and plan-checked. Rules
    /// whose query fails are reported and left out.
    pub fn new(rules: &[Rule]) -> (KqlHunt, Vec<RuleProblem>) {
        let mut problems = Vec::new();
        let mut kept = Vec::new();
        let mut wanted: HashMap<DefenderTable, Option<Vec<String>>> = HashMap::new();
        for r in rules.iter().filter(|r| r.is_kql()) {
            let query = r.query.as_deref().unwrap_or_default();
            if let Err((span, message)) = check_query(query) {
                problems.push(problem(r, span.start, message));
                continue;
            }
            let tables = tables_read(query);
            let literals = if tables.len() == 1 {
                harrier_kql::parse(query)
                    .ok()
                    .and_then(|s| script_literals(&s, tables[0].name()))
            } else {
                None
            };
            for t in &tables {
                let entry = wanted.entry(*t).or_insert_with(|| Some(Vec::new()));
                match (&literals, entry.as_mut()) {
                    (Some(l), Some(e)) => {
                        for x in l {
                            if !e.contains(x) {
                                e.push(x.clone());
                            }
                        }
                    }
                    _ => *entry = None,
                }
            }
            kept.push(KqlRule {
                rule: Arc::new(r.clone()),
                literals,
            });
        }
        (
            KqlHunt {
                rules: kept,
                tables: empty_tables(),
                wanted,
                origins: HashMap::new(),
                from: None,
                to: None,
            },
            problems,
        )
    }

    /// Keeps only rows whose `Timestamp` lies in `[from, to]` (nanoseconds since the
    /// epoch), as `harrier hunt --from/--to` does for events. Rows without a time pass.
    pub fn set_window(&mut self, from: Option<i128>, to: Option<i128>) {
        self.from = from;
        self.to = to;
    }

    /// No KQL rule to run.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// How many KQL rules will run.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Lower-cased strings, at least one of which occurs (ASCII case-insensitively) in the
    /// raw JSON text of any event that can contribute to a KQL rule's result; `None` when
    /// some rule gives no such guarantee. (See the module documentation for why this is
    /// sound.) With no rules, no event is needed: `Some` of nothing.
    pub fn literals(&self) -> Option<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.rules {
            for l in r.literals.as_ref()? {
                if !out.contains(l) {
                    out.push(l.clone());
                }
            }
        }
        Some(out)
    }

    /// [`KqlHunt::literals`] as a search over a document's string values: a document
    /// none of whose strings holds one (ASCII case-insensitively) gives no row that can
    /// contribute, because a literal a row's column holds is in the source value the
    /// column was copied or cut from. `None` when every document can contribute.
    pub fn value_matcher(&self) -> Option<aho_corasick::AhoCorasick> {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(self.literals()?)
            .ok()
    }

    /// Keeps the event's Defender row when a rule reads its table and the row can
    /// contribute (it holds one of the table's literals, when there are any).
    pub fn observe(&mut self, e: &Event) {
        if self.wanted.is_empty() {
            return;
        }
        let Some(row) = to_defender(e) else { return };
        let Some(filter) = self.wanted.get(&row.table) else {
            return;
        };
        if self.from.is_some() || self.to.is_some() {
            let t = row
                .row
                .get("Timestamp")
                .and_then(Value::as_str)
                .and_then(harrier_kql_exec::parse_datetime)
                .map(i128::from);
            if let Some(t) = t {
                if self.from.is_some_and(|f| t < f) || self.to.is_some_and(|x| t > x) {
                    return;
                }
            }
        }
        if let Some(lits) = filter {
            let holds = row.row.values().any(|v| match v {
                Value::String(s) => {
                    let s = s.to_ascii_lowercase();
                    lits.iter().any(|l| s.contains(l.as_str()))
                }
                _ => false,
            });
            if !holds {
                return;
            }
        }
        if let Some(key) = origin_key(&row.row) {
            self.origins
                .entry(key)
                .or_insert_with(|| e.origin.to_string());
        }
        if let Some(t) = self.tables.get_mut(row.table.name()) {
            t.rows.push(row.row);
        }
    }

    /// Rows kept so far, over all tables.
    #[allow(dead_code)] // tests, and progress reporting
    pub fn rows(&self) -> usize {
        self.tables.values().map(|t| t.rows.len()).sum()
    }

    /// Runs every rule; one alert per result row, at most `max_signals` per rule.
    pub fn finish(self, now: DateTime<Utc>) -> KqlRun {
        let mut run = KqlRun::default();
        let ctx = AlertContext::new(now, "default");
        for r in &self.rules {
            let query = r.rule.query.as_deref().unwrap_or_default();
            let results = match harrier_kql_exec::run(query, &self.tables, now) {
                Ok(t) => t,
                Err(e) => {
                    run.problems
                        .push(problem(&r.rule, e.span.start, e.message.clone()));
                    continue;
                }
            };
            let max = r.rule.max_signals as usize;
            let mut raised = 0usize;
            let mut seen: HashMap<String, usize> = HashMap::new();
            'tables: for t in &results {
                let time_col = ["Timestamp", "TimeGenerated"].iter().find_map(|c| {
                    t.columns
                        .iter()
                        .position(|(n, k)| n == c && *k == KType::DateTime)
                });
                for cells in &t.rows {
                    if raised == max {
                        run.rules_at_max_signals.push(r.rule.name.clone());
                        break 'tables;
                    }
                    let row: Map<String, Value> = t
                        .columns
                        .iter()
                        .zip(cells)
                        .map(|((n, _), v)| (n.clone(), v.clone()))
                        .collect();
                    let time = time_col
                        .and_then(|i| cells.get(i))
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    let text = Value::Object(row.clone()).to_string();
                    let n = seen.entry(text).or_default();
                    let occurrence = *n;
                    *n += 1;
                    let document =
                        build_row_alert(&r.rule, &t.name, &row, time.as_deref(), occurrence, &ctx);
                    let origin = origin_key(&row).and_then(|k| self.origins.get(&k).cloned());
                    run.detections.push(KqlDetection {
                        rule: r.rule.clone(),
                        row,
                        document,
                        time,
                        origin,
                    });
                    raised += 1;
                }
            }
        }
        run
    }
}

/// (Timestamp, DeviceName, ReportId) of a row, which identify one Defender event (the
/// first one read, should two share them).
fn origin_key(row: &Map<String, Value>) -> Option<OriginKey> {
    Some((
        row.get("Timestamp")?.as_str()?.to_owned(),
        row.get("DeviceName")?.as_str()?.to_owned(),
        row.get("ReportId").and_then(Value::as_i64),
    ))
}

/// The Defender tables a query can read: every table named in it, and all of them when
/// it uses `search`, `find` or a name pattern (`Device*`).
pub fn tables_read(query: &str) -> Vec<DefenderTable> {
    let all = DefenderTable::all();
    let Ok(tokens) = harrier_kql::lexer::tokenize(query) else {
        return all.to_vec();
    };
    let mut out: Vec<DefenderTable> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let TokenKind::Ident(name) = &t.kind else {
            continue;
        };
        if name == "search" || name == "find" {
            return all.to_vec();
        }
        let star_next = |j: Option<usize>| {
            j.and_then(|j| tokens.get(j)).is_some_and(|s| {
                matches!(s.kind, TokenKind::Sym("*"))
                    && (s.span.start == t.span.end || s.span.end == t.span.start)
            })
        };
        if star_next(Some(i + 1)) || star_next(i.checked_sub(1)) {
            return all.to_vec();
        }
        if let Some(table) = DefenderTable::from_name(name) {
            if table.name() == name && !out.contains(&table) {
                out.push(table);
            }
        }
    }
    out
}

/// The literals of a script reading only `table` (see the module documentation).
fn script_literals(script: &harrier_kql::ast::Script, table: &str) -> Option<Vec<String>> {
    let mut queries = script.statements.iter().filter_map(|s| match &s.kind {
        StatementKind::Query(e) => Some(e),
        _ => None,
    });
    let query = queries.next()?;
    if queries.next().is_some() {
        return None;
    }
    // the operators from the root outwards
    let mut ops = Vec::new();
    let mut cur = query;
    loop {
        match &cur.kind {
            ExprKind::Pipe { input, op } => {
                ops.push(op);
                cur = input;
            }
            ExprKind::Paren(inner) => cur = inner,
            ExprKind::Ident(id) if id.name == table => break,
            _ => return None,
        }
    }
    ops.reverse();
    let mut best: Option<Vec<String>> = None;
    for op in ops {
        let OpKind::Where(pred) = &op.kind else { break };
        if let Some(l) = pred_literals(pred) {
            // prefer the fewest alternatives, then the longest shortest one
            let better = match &best {
                None => true,
                Some(b) => {
                    let shortest = |v: &[String]| v.iter().map(String::len).min().unwrap_or(0);
                    (l.len(), usize::MAX - shortest(&l)) < (b.len(), usize::MAX - shortest(b))
                }
            };
            if better {
                best = Some(l);
            }
        }
    }
    best
}

fn is_verbatim_column(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Ident(id) => VERBATIM_COLUMNS.contains(&id.name.as_str()),
        ExprKind::Paren(inner) => is_verbatim_column(inner),
        _ => false,
    }
}

fn string_literal(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Literal(Literal::String { value, .. }) => Some(value),
        ExprKind::Dynamic(DynValue::Scalar(Literal::String { value, .. })) => Some(value),
        ExprKind::Paren(inner) => string_literal(inner),
        _ => None,
    }
}

/// The string items of an `in`-style list: literals, or one `dynamic([...])` of strings.
fn list_strings(items: &[Expr]) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    for it in items {
        match &it.kind {
            ExprKind::Dynamic(DynValue::Array(vals)) => {
                for v in vals {
                    match v {
                        DynValue::Scalar(Literal::String { value, .. }) => out.push(value.as_str()),
                        _ => return None,
                    }
                }
            }
            _ => out.push(string_literal(it)?),
        }
    }
    Some(out)
}

/// The longest run of plain characters of `s`, lower-cased, when long enough.
pub fn fragment(s: &str) -> Option<String> {
    let plain = |c: char| {
        (c.is_ascii_graphic() || c == ' ') && !matches!(c, '"' | '\\' | '/' | 'i' | 'I' | 'k' | 'K')
    };
    s.split(|c: char| !plain(c))
        .max_by_key(|run| run.len())
        .filter(|run| run.len() >= MIN_FRAGMENT)
        .map(str::to_ascii_lowercase)
}

fn fragments(values: &[&str]) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        let f = fragment(v)?;
        if !out.contains(&f) {
            out.push(f);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Fragments of which one occurs in the row of every row the predicate accepts.
fn pred_literals(e: &Expr) -> Option<Vec<String>> {
    use BinaryOp::*;
    match &e.kind {
        ExprKind::Paren(inner) => pred_literals(inner),
        ExprKind::Binary { op: And, lhs, rhs } => match (pred_literals(lhs), pred_literals(rhs)) {
            (Some(a), Some(b)) => Some(if b.len() < a.len() { b } else { a }),
            (a, b) => a.or(b),
        },
        ExprKind::Binary { op: Or, lhs, rhs } => {
            let mut a = pred_literals(lhs)?;
            for x in pred_literals(rhs)? {
                if !a.contains(&x) {
                    a.push(x);
                }
            }
            Some(a)
        }
        ExprKind::Binary {
            op:
                Eq | EqTilde | Has | HasCs | HasPrefix | HasPrefixCs | HasSuffix | HasSuffixCs
                | Contains | ContainsCs | StartsWith | StartsWithCs | EndsWith | EndsWithCs,
            lhs,
            rhs,
        } => {
            if !is_verbatim_column(lhs) {
                return None;
            }
            fragments(&[string_literal(rhs)?])
        }
        ExprKind::InList { op, lhs, items } if is_verbatim_column(lhs) => {
            let vals = list_strings(items)?;
            match op {
                ListOp::In | ListOp::InCi | ListOp::HasAny => fragments(&vals),
                // every item is a term of the value: the longest one will do
                ListOp::HasAll => vals
                    .iter()
                    .filter_map(|v| fragment(v))
                    .max_by_key(String::len)
                    .map(|f| vec![f]),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_rules::parse_toml_rule;

    fn kql_rule(id: &str, query: &str) -> Rule {
        let text = format!(
            "[rule]\nname = \"R {id}\"\nrule_id = \"{id}\"\ndescription = \"d\"\nrisk_score = 21\nseverity = \"low\"\ntype = \"query\"\nlanguage = \"kql\"\nmax_signals = 2\nquery = '''\n{query}\n'''\n"
        );
        match parse_toml_rule(&text, "t.toml".into()) {
            Ok(r) => r,
            Err(p) => panic!("{p}"),
        }
    }

    fn lits(query: &str) -> Option<Vec<String>> {
        let (h, p) = KqlHunt::new(&[kql_rule("a", query)]);
        assert!(p.is_empty(), "{p:?}");
        h.literals()
    }

    #[test]
    fn literals_from_leading_where_on_verbatim_columns() {
        assert_eq!(
            lits("DeviceNetworkEvents | where InitiatingProcessFileName =~ 'mshta.exe' | where RemotePort == 443"),
            Some(vec!["mshta.exe".to_owned()])
        );
        assert_eq!(
            lits("DeviceProcessEvents | where FileName in~ ('Cmd.exe', 'pwsh.exe') or ProcessCommandLine has 'EncodedCommand'"),
            Some(vec!["cmd.exe".into(), "pwsh.exe".into(), "encodedcommand".into()])
        );
        // i/k and path separators break a literal into runs; the longest is kept
        assert_eq!(
            lits(r"DeviceFileEvents | where FolderPath startswith @'C:\Users\Public\Downloads'"),
            Some(vec!["downloads".into()])
        );
        assert_eq!(
            lits("DeviceProcessEvents | where FileName has_any (dynamic(['certutil.exe', 'bitsadmin.exe'])) and AccountName == 'x'"),
            Some(vec!["certut".into(), "n.exe".into()])
        );
    }

    #[test]
    fn no_literals_without_a_guarantee() {
        for q in [
            // a non-verbatim column (DeviceName is lower-cased by the mapping)
            "DeviceNetworkEvents | where DeviceName == 'ws1'",
            // negation, regex, one side of `or` unconstrained
            "DeviceProcessEvents | where FileName !~ 'cmd.exe'",
            "DeviceProcessEvents | where FileName matches regex 'cmd'",
            "DeviceProcessEvents | where FileName =~ 'cmd.exe' or ProcessId == 4",
            // the where comes after another operator (which may add or rename columns)
            "DeviceProcessEvents | take 100 | where FileName =~ 'cmd.exe'",
            // two tables
            "DeviceProcessEvents | where FileName =~ 'cmd.exe' | join (DeviceNetworkEvents) on DeviceId",
            // too short
            "DeviceProcessEvents | where FileName has 'ab'",
        ] {
            assert_eq!(lits(q), None, "{q}");
        }
        // one rule without literals makes the whole set unusable
        let (h, _) = KqlHunt::new(&[
            kql_rule("a", "DeviceProcessEvents | where FileName =~ 'cmd.exe'"),
            kql_rule("b", "DeviceProcessEvents | take 1"),
        ]);
        assert_eq!(h.literals(), None);
        assert_eq!(KqlHunt::new(&[]).0.literals(), Some(Vec::new()));
    }

    #[test]
    fn tables_read_by_name_and_pattern() {
        assert_eq!(
            tables_read("DeviceProcessEvents | join (DeviceNetworkEvents | take 1) on DeviceId"),
            [
                DefenderTable::DeviceProcessEvents,
                DefenderTable::DeviceNetworkEvents
            ]
        );
        assert_eq!(tables_read("union Device*").len(), 6);
        assert_eq!(tables_read("print DeviceName = 1").len(), 0);
    }

    #[test]
    fn bad_rules_are_problems_at_their_position() {
        let (h, p) = KqlHunt::new(&[
            kql_rule("a", "DeviceProcessEvents | where FileNme == 'x'"),
            kql_rule("b", "DeviceProcessEvents | wher x"),
        ]);
        assert!(h.is_empty());
        assert_eq!(p.len(), 2);
        // the query starts on line 11 of the TOML text
        assert_eq!((p[0].line, p[0].column), (11, 29), "{}", p[0]);
        assert!(p[0].message.contains("FileName"), "{}", p[0]);
        assert_eq!(p[1].line, 11, "{}", p[1]);
    }

    fn network_event(process: &str, ip: &str, record: i64) -> Event {
        let doc = serde_json::json!({
            "@timestamp": format!("2024-05-01T10:00:0{record}.000Z"),
            "event": {"category": ["network"], "type": ["connection"], "code": "3", "kind": "event"},
            "host": {"name": "WS1", "os": {"type": "windows"}},
            "process": {"name": process, "executable": format!("C:\\Windows\\System32\\{process}"), "pid": 10},
            "source": {"ip": "10.0.0.5", "port": 50000},
            "destination": {"ip": ip, "port": 443},
            "network": {"direction": "egress", "transport": "tcp"},
            "winlog": {"record_id": record, "channel": "Microsoft-Windows-Sysmon/Operational"},
        });
        Event {
            source: doc.as_object().cloned().unwrap_or_default(),
            index: "logs-windows.sysmon_operational-default".into(),
            id: None,
            origin: harrier_event::Origin {
                file: "net.ndjson".into(),
                locator: harrier_event::Locator::Line(record as u64),
            },
        }
    }

    #[test]
    fn observe_and_finish_raise_one_alert_per_row_up_to_max_signals() {
        let rule = kql_rule(
            "m",
            "DeviceNetworkEvents\n| where InitiatingProcessFileName =~ 'MSHTA.exe'\n| where RemoteIPType == 'Public'\n| project-reorder Timestamp, RemoteIP",
        );
        let (mut h, p) = KqlHunt::new(&[rule]);
        assert!(p.is_empty(), "{p:?}");
        h.observe(&network_event("mshta.exe", "93.184.216.34", 1));
        h.observe(&network_event("rundll32.exe", "93.184.216.34", 2)); // dropped by the literal
        h.observe(&network_event("mshta.exe", "10.1.1.1", 3)); // kept, filtered by the query
        h.observe(&network_event("mshta.exe", "8.8.8.8", 4));
        h.observe(&network_event("mshta.exe", "1.1.1.1", 5));
        assert_eq!(h.rows(), 4);
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let run = h.finish(now);
        assert!(run.problems.is_empty(), "{:?}", run.problems);
        // three public connections, max_signals = 2
        assert_eq!(run.detections.len(), 2);
        assert_eq!(run.rules_at_max_signals, ["R m"]);
        let d = &run.detections[0];
        let cols: Vec<&str> = d.row.keys().map(String::as_str).take(2).collect();
        assert_eq!(cols, ["Timestamp", "RemoteIP"]);
        assert_eq!(d.row["RemoteIP"], "93.184.216.34");
        assert_eq!(d.time.as_deref(), Some("2024-05-01T10:00:01.0000000Z"));
        assert_eq!(
            d.document["kibana.alert.original_time"],
            "2024-05-01T10:00:01.000Z"
        );
        assert_eq!(d.document["kibana.alert.rule.rule_id"], "m");
        assert_eq!(d.origin.as_deref(), Some("net.ndjson:1"));
        assert_ne!(
            d.document["kibana.alert.uuid"],
            run.detections[1].document["kibana.alert.uuid"]
        );
    }

    #[test]
    fn fragments_are_plain_runs() {
        assert_eq!(fragment("mshta.exe").as_deref(), Some("mshta.exe"));
        assert_eq!(fragment("C:\\Windows\\Temp").as_deref(), Some("ndows"));
        assert_eq!(fragment("Ky").as_deref(), None);
        assert_eq!(
            fragment("\"quoted words\"").as_deref(),
            Some("quoted words")
        );
    }
}
