//! Harrier's detection engine: many rules over a set of events in one pass, with the
//! alerts Elastic Security's detection engine would raise.
//!
//! - [`Engine::new`] compiles every supported (EQL) rule once: parse, analysis against
//!   the built-in ECS schema, its index patterns ([`index_pattern`]), the event
//!   categories its query requires, and its time field.
//! - [`Engine::run`] evaluates them. Each rule sees only
//!   - events whose `Event.index` matches one of its `index` patterns (an event with an
//!     empty index, i.e. input that names no data stream, is seen by every rule);
//!   - events of a category its query names (`process where …` needs
//!     `event.category == "process"`), looked up in a category index built once;
//!   - events inside the `--from/--to` window, read on its time field;
//!   - events no exception of the rule suppresses (exceptions filter the search in
//!     Kibana, so an excepted event cannot take part in a sequence either).
//!
//!   Only events that match one of the query's step filters are then handed to the EQL
//!   executor; events matching no step cannot change a sequence's state.
//! - Time: `timestamp_override` (or [`EngineOptions::timestamp_override`] for every
//!   rule) orders and filters by that field, falling back to `@timestamp` for events
//!   that lack it unless the rule sets `timestamp_override_fallback_disabled`.
//! - `max_signals` caps the events or sequences per rule (Kibana's EQL `size`).
//! - Alerts are built by `harrier_rules::alert`: one per event for event queries, and
//!   building blocks plus a shell for sequences.

pub mod builtin;
pub mod collect;
mod compact;
pub mod index_pattern;
pub mod literal;
pub mod raw;

use chrono::{DateTime, Utc};
use harrier_eql::exec;
use harrier_eql::expr::{CExpr, FieldAccess};
use harrier_eql::plan::{KeyExpr, Plan, PlanKind};
use harrier_eql::schema::{DataType, Schema};
use harrier_eql::syntax::ast::CmpOp;
use harrier_eql::value::Val;
use harrier_eql::{Analyzer, Settings, Span};
use harrier_event::{
    Document, Event, FieldIndex, FieldPath, FlatView, Map, Scalar, SlotValues, Value,
};
use harrier_rules::exceptions::ExceptionLists;
use harrier_rules::{Rule, RuleSetSummary, Severity};
use harrier_sources::{FlatLine, FlatRecord, LineAt};
use index_pattern::IndexFilter;
use std::collections::HashMap;

pub use harrier_rules;

/// What to run and how.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Start of the run: the alerts' `@timestamp`, and `now` in date math.
    pub execution_time: DateTime<Utc>,
    /// Kibana space of the alerts.
    pub space_id: String,
    /// Only events at or after this time (nanoseconds since the epoch).
    pub from: Option<i128>,
    /// Only events at or before this time.
    pub to: Option<i128>,
    /// Order and filter every rule by this field (falling back to `@timestamp`).
    pub timestamp_override: Option<String>,
    /// Leave out rules below this severity.
    pub min_severity: Option<Severity>,
    /// Keep only rules whose `rule_id` or name (case-insensitive) is listed.
    pub rules: Vec<String>,
    /// Keep only rules carrying one of these tags (case-insensitive).
    pub tags: Vec<String>,
    /// Leave out rules whose `rule_id` or name is listed.
    pub exclude_rules: Vec<String>,
    /// Exception lists the rules refer to.
    pub exceptions: ExceptionLists,
    /// Leave out deprecated rules.
    pub skip_deprecated: bool,
    /// Worker threads for evaluating rules (0: as many as the machine has).
    pub threads: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            execution_time: Utc::now(),
            space_id: "default".into(),
            from: None,
            to: None,
            timestamp_override: None,
            min_severity: None,
            rules: Vec::new(),
            tags: Vec::new(),
            exclude_rules: Vec::new(),
            exceptions: ExceptionLists::default(),
            skip_deprecated: true,
            threads: 0,
        }
    }
}

/// Parses a severity name (`low`, `medium`, `high`, `critical`).
pub fn parse_severity(s: &str) -> Option<Severity> {
    match s.trim().to_ascii_lowercase().as_str() {
        "low" => Some(Severity::Low),
        "medium" => Some(Severity::Medium),
        "high" => Some(Severity::High),
        "critical" => Some(Severity::Critical),
        _ => None,
    }
}

/// Parses a time bound: an ISO 8601 date (`2019-05-21`, `2019-05-21T01:29:00Z`, …) or
/// Elastic date math relative to `now` (`now`, `now-9m`, `now-1d/d`). Nanoseconds.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<i128, String> {
    let t = text.trim();
    if t.starts_with("now") {
        return harrier_rules::transform::resolve_date_math(t, now)
            .and_then(|d| d.timestamp_nanos_opt())
            .map(i128::from)
            .ok_or_else(|| format!("invalid date math {t:?} (expected e.g. now-9m, now-1d/d)"));
    }
    harrier_eql::value::parse_date(t).ok_or_else(|| {
        format!("invalid time {t:?} (expected ISO 8601 such as 2024-05-01T12:00:00Z, or now-9m)")
    })
}

/// Parses and analyzes a rule's query as the engine runs it.
pub fn compile_query(rule: &Rule, schema: &Schema) -> Result<Plan, harrier_eql::Error> {
    let query = rule.query.as_deref().unwrap_or_default();
    let ast = harrier_eql::parse(query)?;
    let settings = match &rule.event_category_override {
        Some(f) => Settings {
            event_category_field: f.clone(),
        },
        None => Settings::default(),
    };
    Analyzer::new(schema, settings).plan(&ast)
}

/// A rule whose query does not compile.
#[derive(Clone, Debug)]
pub struct CompileError {
    /// Position of the rule in the input list.
    pub rule: usize,
    pub rule_id: String,
    pub name: String,
    pub file: String,
    /// 1-based position in the rule's file (0 when unknown).
    pub line: u32,
    pub column: u32,
    pub message: String,
    pub span: Span,
    /// The query text, for rendering.
    pub query: String,
}

/// One compiled rule.
#[derive(Debug)]
pub struct CompiledRule {
    pub rule: Rule,
    plan: Plan,
    index: IndexFilter,
    /// Categories one of which an event must have; `None` when any event may match.
    categories: Option<Vec<String>>,
    /// A literal condition every filter implies (see [`literal`]), if there is one.
    literals: Option<literal::Literals>,
    /// Bit `i`: filter `i` is a stage whose events appear in results (not a
    /// missing-event step, not `until`).
    positive: u64,
    time: TimeField,
    tiebreaker: Option<FieldAccess>,
    has_exceptions: bool,
}

impl CompiledRule {
    /// The step filters (stages, then `until`) with their join keys, read
    /// from the plan: an event matching none of them is irrelevant.
    fn filters(&self) -> impl Iterator<Item = (&CExpr, &[KeyExpr])> + '_ {
        let (event, stages, until) = match &self.plan.kind {
            PlanKind::Event(f) => (Some(f), &[][..], None),
            PlanKind::Sequence { stages, until, .. } => (None, &stages[..], until.as_ref()),
            PlanKind::Sample { stages } => (None, &stages[..], None),
        };
        event
            .map(|f| (f, &[][..]))
            .into_iter()
            .chain(stages.iter().chain(until).map(|s| (&s.filter, &s.keys[..])))
    }

    /// Step filter `i` (see [`CompiledRule::filters`]).
    fn filter(&self, i: usize) -> Option<&CExpr> {
        self.filters().nth(i).map(|(f, _)| f)
    }

    pub fn is_sequence(&self) -> bool {
        !matches!(self.plan.kind, PlanKind::Event(_))
    }

    /// Does the rule have a literal prefilter (see [`literal`])?
    pub fn has_literals(&self) -> bool {
        self.literals.is_some()
    }

    /// The categories the query requires (`None`: any).
    pub fn categories(&self) -> Option<&[String]> {
        self.categories.as_deref()
    }
}

#[derive(Clone, Debug)]
struct TimeField {
    primary: FieldAccess,
    fallback: Option<FieldAccess>,
}

impl TimeField {
    /// Equal keys, equal times for any document: the fields' path ids.
    fn key(&self) -> (u32, u32) {
        (
            self.primary.path.id(),
            self.fallback.as_ref().map_or(u32::MAX, |f| f.path.id()),
        )
    }

    fn of(&self, doc: &dyn Document) -> Option<i128> {
        harrier_eql::eval::timestamp_of(&self.primary, doc).or_else(|| {
            self.fallback
                .as_ref()
                .and_then(|f| harrier_eql::eval::timestamp_of(f, doc))
        })
    }
}

fn field_access(schema: &Schema, name: &str, default: DataType) -> FieldAccess {
    match schema.get(name) {
        Some(info) => FieldAccess {
            name: name.to_owned(),
            path: FieldPath::new(&info.source_path),
            ty: info.ty,
            null_value: None,
            format: info.format.clone(),
        },
        None => FieldAccess {
            name: name.to_owned(),
            path: FieldPath::new(name),
            ty: default,
            null_value: None,
            format: None,
        },
    }
}

/// Which rules can care about an event, looked up before the event is kept.
///
/// Every step (or `until`) filter of every rule is an [`Entry`]. A filter's
/// necessary literal clauses ([`literal::clauses`]: "`event.category` is
/// `process`", "`process.name` is one of these names", ...) are indexed by
/// (field, lower-case value); an event's values light up the clauses they
/// meet, and a filter is evaluated only when all of its clauses are lit. So
/// an event named by hundreds of rules' `process.name` lists is evaluated
/// only against those whose other conditions it also meets. Filters without
/// any clause are evaluated on every event. Per index name, which rules
/// search it is computed once.
#[derive(Debug, Default)]
struct Prefilter {
    entries: Vec<Entry>,
    /// (rule, filter) pairs no clause indexes.
    unindexed: Vec<(u32, u16)>,
    /// Fields named by clauses.
    literal_fields: Vec<FieldPath>,
    /// Wildcard clauses ([`literal::Lit::Has`]), searched per field.
    fragments: Vec<Option<Fragments>>,
    /// What meeting each indexed value or fragment does, by its number.
    lits: Vec<Lit>,
    /// (field position, lower-case value) → the number of its [`Lit`].
    literal_index: ahash::AHashMap<(usize, String), u32>,
    /// Per entry: (clause bits, common value) pairs: the clauses a common
    /// value meets without marking them (see [`Prefilter::split_common`]).
    entry_common: Vec<Vec<(u8, u32)>>,
    /// How many values are common.
    commons: usize,
    /// Every field the step filters and the clauses read: each event is
    /// flattened over these once.
    fields: FieldIndex,
    /// Position in `literal_fields` of each slot of `fields` (`u32::MAX`: not
    /// a clause field), so an event's clause values are found by reading its
    /// flat view once rather than looking up every clause field.
    literal_of_slot: Vec<u32>,
    /// Clause fields `fields` has no slot for (only past its 65,534-path limit).
    literal_unslotted: Vec<usize>,
    index_ok: std::sync::RwLock<HashMap<std::sync::Arc<str>, std::sync::Arc<Vec<bool>>>>,
    /// Step filters evaluated so far, over all events (see
    /// [`Engine::filters_evaluated`]).
    evaluated: Counter,
}

/// A counter every reading thread adds to, on a cache line of its own, so
/// that adding to it does not evict the index the other threads are reading.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Counter(std::sync::atomic::AtomicU64);

/// The clauses a value meets: (entry, bit of the clause) pairs.
type Lights = Vec<(u32, u8)>;

/// A value (or fragment) met by more (entry, clause) pairs than this is
/// common: see [`Prefilter::split_common`].
const COMMON_VALUE: usize = 32;

/// Not a common value.
const NOT_COMMON: u32 = u32::MAX;

/// What meeting a value does.
#[derive(Debug, Default)]
struct Lit {
    /// The (entry, clause bits) pairs to mark.
    marks: Lights,
    /// Its number among the common values, or [`NOT_COMMON`].
    common: u32,
}

impl Prefilter {
    /// Turns the (entry, clause) pairs of each value into [`Lit`]s, marking
    /// fewer of them.
    ///
    /// Every event of a category meets `event.category == "process"`, and
    /// most meet `event.type == "start"`: such a value meets a clause of
    /// hundreds of entries, and marking them all was the largest cost of
    /// matching an event against the whole Elastic rule set. A common value
    /// (met by more than [`COMMON_VALUE`] pairs) is only noted as met, in a
    /// bit per event; an entry that some other value marks looks at the
    /// common values of its clauses (`entry_common`) when it is checked.
    /// An entry is marked by at least one clause: one none of whose values
    /// is common, or else the clause whose values meet the fewest pairs,
    /// whose common values mark it too. So an entry is ready for exactly the
    /// events it was ready for when every value marked it.
    fn split_common(
        &mut self,
        exact: ahash::AHashMap<(usize, String), Lights>,
        fragments: std::collections::BTreeMap<(usize, String), Lights>,
    ) -> std::collections::BTreeMap<(usize, String), u32> {
        let n = self.entries.len();
        // per entry and clause bit: the most pairs one of its values meets,
        // and whether one of its values is common
        let mut weight = vec![[0usize; 8]; n];
        let mut has_common = vec![0u8; n];
        for hits in exact.values().chain(fragments.values()) {
            let common = hits.len() > COMMON_VALUE;
            for &(entry, bits) in hits {
                let e = entry as usize;
                for (b, w) in weight[e].iter_mut().enumerate() {
                    if bits & (1 << b) != 0 {
                        *w = (*w).max(hits.len());
                    }
                }
                if common {
                    has_common[e] |= bits;
                }
            }
        }
        // per entry: the clause bit its common values must mark (0: none)
        let forced: Vec<u8> = self
            .entries
            .iter()
            .enumerate()
            .map(|(e, en)| {
                let bits = (0..8u8).filter(|b| en.full & (1 << b) != 0);
                if bits.clone().any(|b| has_common[e] & (1 << b) == 0) {
                    return 0;
                }
                bits.min_by_key(|&b| weight[e][usize::from(b)])
                    .map_or(0, |b| 1 << b)
            })
            .collect();
        self.entry_common = vec![Vec::new(); n];
        let mut split = |hits: Lights| -> u32 {
            let lit = if hits.len() <= COMMON_VALUE {
                Lit {
                    marks: hits,
                    common: NOT_COMMON,
                }
            } else {
                let k = self.commons as u32;
                self.commons += 1;
                let mut marks = Vec::new();
                for (entry, bits) in hits {
                    self.entry_common[entry as usize].push((bits, k));
                    let m = bits & forced[entry as usize];
                    if m != 0 {
                        marks.push((entry, m));
                    }
                }
                Lit { marks, common: k }
            };
            self.lits.push(lit);
            (self.lits.len() - 1) as u32
        };
        self.literal_index = exact.into_iter().map(|(k, h)| (k, split(h))).collect();
        fragments.into_iter().map(|(k, h)| (k, split(h))).collect()
    }

    /// Appends the numbers of the [`Lit`]s value `v` of literal field `fi`
    /// meets: its lower-case form's in the value index, and each fragment's
    /// found in it. `key` and `folded` are working space.
    fn lights_of(
        &self,
        fi: usize,
        v: Scalar<'_>,
        key: &mut String,
        folded: &mut String,
        out: &mut Vec<u32>,
    ) {
        key.clear();
        match (v.as_str(), v) {
            (Some(s), _) if s.is_ascii() => {
                key.push_str(s);
                key.make_ascii_lowercase();
            }
            // the same folding analysis applied to the literals
            (Some(s), _) => key.push_str(&s.to_lowercase()),
            (None, Scalar::Json(Value::Number(n))) => {
                use std::fmt::Write;
                let _ = write!(key, "{n}");
            }
            (None, Scalar::Json(Value::Bool(b))) => key.push_str(if *b { "true" } else { "false" }),
            _ => return,
        }
        // the lookup key owns its string; reuse one allocation per probe
        let probe = (fi, std::mem::take(key));
        if let Some(&lit) = self.literal_index.get(&probe) {
            out.push(lit);
        }
        *key = probe.1;
        if let Some(Some(fr)) = self.fragments.get(fi) {
            match v.as_str() {
                // `key` is the lower-cased value, which is the fold for ASCII
                Some(s) if s.is_ascii() => fr.each_hit(key, out),
                Some(s) => {
                    harrier_eql::pattern::fold_for_fragments(s, folded);
                    fr.each_hit(folded, out);
                }
                // patterns match a number's or a boolean's text too,
                // which is rare enough to light every fragment for
                _ => fr.each(out),
            }
        }
    }
}

/// The wildcard fragments clauses ask of one field, searched for in the
/// field's folded values in one pass.
#[derive(Debug)]
struct Fragments {
    /// `None` only if the automaton could not be built (not seen for
    /// thousands of short patterns): then every clause is lit, so nothing
    /// is missed.
    automaton: Option<aho_corasick::AhoCorasick>,
    /// Per pattern of the automaton: the number of the [`Lit`] it meets.
    hits: Vec<u32>,
}

impl Fragments {
    /// Per literal field, its fragments' automaton, from
    /// (field position, fragment) → (entry, bit) pairs.
    fn new(
        fields: usize,
        all: std::collections::BTreeMap<(usize, String), u32>,
    ) -> Vec<Option<Fragments>> {
        let mut per_field: Vec<(Vec<String>, Vec<u32>)> =
            (0..fields).map(|_| Default::default()).collect();
        for ((fpos, frag), hits) in all {
            per_field[fpos].0.push(frag);
            per_field[fpos].1.push(hits);
        }
        per_field
            .into_iter()
            .map(|(patterns, hits)| {
                if patterns.is_empty() {
                    return None;
                }
                // every occurrence counts, so overlapping matches are wanted
                let automaton = aho_corasick::AhoCorasick::builder()
                    .match_kind(aho_corasick::MatchKind::Standard)
                    .build(&patterns)
                    .ok();
                Some(Fragments { automaton, hits })
            })
            .collect()
    }

    /// Appends the [`Lit`] of each fragment found in `folded`.
    fn each_hit(&self, folded: &str, out: &mut Vec<u32>) {
        let Some(automaton) = &self.automaton else {
            return self.each(out);
        };
        for m in automaton.find_overlapping_iter(folded) {
            out.push(self.hits[m.pattern().as_usize()]);
        }
    }

    /// Appends the [`Lit`] of every fragment: for values that are not text.
    fn each(&self, out: &mut Vec<u32>) {
        out.extend_from_slice(&self.hits);
    }
}

/// One step filter of one rule, reached through its literal clauses.
#[derive(Debug, Clone, Copy)]
struct Entry {
    rule: u32,
    filter: u16,
    /// One bit per clause: the mask at which every clause is met.
    full: u8,
}

/// Per-thread working memory of [`Engine::matching_rules`]: clause bits per
/// entry (all zero between calls), the entries touched, the entries ready.
#[derive(Default)]
struct Scratch {
    masks: Vec<u8>,
    touched: Vec<u32>,
    ready: Vec<u32>,
    /// The lower-cased value being looked up.
    key: String,
    /// A non-ASCII value folded for the fragment search.
    folded: String,
    /// A bit per common value: met by the event (all zero between calls).
    common: Vec<u64>,
    /// The lits of a value that is not cached.
    lits: Vec<u32>,
    cache: LightCache,
}

/// Text values longer than this are not cached.
const CACHE_VALUE: usize = 1024;
/// The cache is emptied when it holds this many values…
const CACHE_ENTRIES: usize = 32 * 1024;
/// …or this many bytes of values and lits.
const CACHE_BYTES: usize = 4 << 20;

/// The [`Lit`]s of text values met before, per literal field. Events repeat
/// the values of earlier events (the same programs, parents, hosts, users and
/// registry keys), and finding a value here replaces lower-casing it, looking
/// it up in the value index and searching it for every fragment of its
/// field. Bounded by emptying it when full ([`CACHE_ENTRIES`],
/// [`CACHE_BYTES`]); kept for one engine at a time (a thread may run
/// several).
#[derive(Default)]
struct LightCache {
    /// [`Engine::id`] of the engine the lits belong to.
    engine: u64,
    /// Per literal field: value → its range of `lits`.
    fields: Vec<hashbrown::HashMap<Box<str>, (u32, u32), foldhash::fast::FixedState>>,
    lits: Vec<u32>,
    entries: usize,
    bytes: usize,
}

impl LightCache {
    fn clear(&mut self) {
        self.fields.iter_mut().for_each(|f| f.clear());
        self.lits.clear();
        self.entries = 0;
        self.bytes = 0;
    }

    /// The lits of text value `s` of literal field `fi`, computed by
    /// `compute` (which appends them) when not cached yet.
    fn lits_of(&mut self, fi: usize, s: &str, compute: impl FnOnce(&mut Vec<u32>)) -> &[u32] {
        if self.fields.len() <= fi {
            self.fields.resize_with(fi + 1, Default::default);
        }
        if let Some(&(start, end)) = self.fields[fi].get(s) {
            return &self.lits[start as usize..end as usize];
        }
        if self.entries >= CACHE_ENTRIES || self.bytes >= CACHE_BYTES {
            self.clear();
        }
        let start = self.lits.len();
        compute(&mut self.lits);
        let end = self.lits.len();
        self.fields[fi].insert(s.into(), (start as u32, end as u32));
        self.entries += 1;
        self.bytes += s.len() + 4 * (end - start);
        &self.lits[start..end]
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// The compiled rule set.
#[derive(Debug)]
pub struct Engine {
    /// Tells engines apart (for per-thread caches of what a value means).
    id: u64,
    prefilter: Prefilter,
    rules: Vec<CompiledRule>,
    kql_rules: Vec<Rule>,
    errors: Vec<CompileError>,
    summary: RuleSetSummary,
    filtered_out: usize,
    options: EngineOptions,
}

/// One alert as a user sees it: a matched event, or a matched sequence.
///
/// Its Kibana alert documents are built when asked for
/// ([`Engine::alert_documents`]): they repeat the events and the rule's
/// parameters, and a hunt with a thousand alerts would otherwise hold them
/// all until it writes them.
#[derive(Clone, Debug)]
pub struct Detection {
    /// Position of the rule in [`Engine::rules`].
    pub rule: usize,
    /// The events (a sequence's in order; missing-event steps left out).
    pub events: Vec<Event>,
    /// A sequence's detection (building blocks and a shell), not an event's.
    pub sequence: bool,
    /// The alert's severity (`kibana.alert.severity`).
    pub severity: Severity,
    /// Effective time of the first and last event (nanoseconds).
    pub first_time: Option<i128>,
    pub last_time: Option<i128>,
}

impl Detection {
    pub fn severity(&self) -> Severity {
        self.severity
    }

    pub fn is_sequence(&self) -> bool {
        self.sequence
    }

    /// How many alert documents it makes: one for an event; a building block
    /// per event and the shell for a sequence.
    pub fn document_count(&self) -> usize {
        if self.sequence {
            self.events.len() + 1
        } else {
            1
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug, Default)]
pub struct RunOutput {
    /// By rule (in rule order), then in the order the executor found them.
    pub detections: Vec<Detection>,
    /// Rules that produced `max_signals` results (Kibana warns of a partial run).
    pub rules_at_max_signals: Vec<usize>,
    /// Rule evaluations skipped because no event could match them.
    pub rules_skipped: usize,
    /// (rule, event) pairs the filters examined, summed over rules.
    pub candidates: u64,
    /// Events suppressed by exceptions, summed over rules.
    pub excepted: u64,
    /// Kept events that could not be read again from their files (each with
    /// its file and why); their alerts carry an empty document.
    pub warnings: Vec<String>,
}

impl Engine {
    /// Compiles every supported EQL rule that passes the options' rule filters; KQL
    /// rules that pass them are kept aside ([`Engine::kql_rules`]).
    pub fn new(rules: Vec<Rule>, options: EngineOptions) -> Engine {
        let schema = Schema::ecs();
        let summary = RuleSetSummary::of(&rules);
        let mut compiled = Vec::new();
        let mut errors = Vec::new();
        let mut filtered_out = 0;
        let mut kql_rules = Vec::new();
        let mut todo = Vec::new();
        for (i, rule) in rules.into_iter().enumerate() {
            if !rule.is_supported() {
                continue;
            }
            if !selected(&rule, &options) {
                filtered_out += 1;
                continue;
            }
            if rule.is_kql() {
                // run by the caller (the engine does not depend on a KQL executor)
                kql_rules.push(rule);
                continue;
            }
            todo.push((i, rule));
        }
        for r in compile_all(todo, &schema, &options) {
            match r {
                Ok(cr) => compiled.push(cr),
                Err(e) => errors.push(*e),
            }
        }
        let mut prefilter = Prefilter::default();
        let mut fragments: std::collections::BTreeMap<(usize, String), Lights> = Default::default();
        let mut exact: ahash::AHashMap<(usize, String), Lights> = Default::default();
        for (r, cr) in compiled.iter().enumerate() {
            let cat_field = cr
                .rule
                .event_category_override
                .as_deref()
                .unwrap_or("event.category");
            for (fi, (f, _)) in cr.filters().enumerate() {
                let clauses = literal::clauses(f, cat_field);
                if clauses.is_empty() {
                    prefilter.unindexed.push((r as u32, fi as u16));
                    continue;
                }
                let entry = prefilter.entries.len() as u32;
                prefilter.entries.push(Entry {
                    rule: r as u32,
                    filter: fi as u16,
                    full: ((1u16 << clauses.len()) - 1) as u8,
                });
                for (ci, alts) in clauses.iter().enumerate() {
                    let bit = 1u8 << ci;
                    for (field, vals) in alts {
                        let fpos = match prefilter
                            .literal_fields
                            .iter()
                            .position(|p| p.as_str() == field)
                        {
                            Some(i) => i,
                            None => {
                                prefilter.literal_fields.push(FieldPath::new(field));
                                prefilter.literal_fields.len() - 1
                            }
                        };
                        for v in vals {
                            let hits = match v {
                                literal::Lit::Is(v) => exact.entry((fpos, v.clone())).or_default(),
                                literal::Lit::Has(frag) => {
                                    fragments.entry((fpos, frag.clone())).or_default()
                                }
                            };
                            match hits.iter_mut().find(|(e, _)| *e == entry) {
                                Some(h) => h.1 |= bit,
                                None => hits.push((entry, bit)),
                            }
                        }
                    }
                }
            }
        }
        // every field a rule reads of an event where it is read: a flat
        // document made for these never has to parse its whole text
        let mut read: Vec<&FieldAccess> = Vec::new();
        for cr in &compiled {
            for (f, keys) in cr.filters() {
                f.fields(&mut read);
                for k in keys {
                    k.expr.fields(&mut read);
                }
            }
            read.push(&cr.time.primary);
            read.extend(&cr.time.fallback);
            read.extend(&cr.tiebreaker);
        }
        let fragments = prefilter.split_common(exact, fragments);
        prefilter.fragments = Fragments::new(prefilter.literal_fields.len(), fragments);
        prefilter.fields = FieldIndex::new(
            read.iter()
                .map(|f| &f.path)
                .chain(prefilter.literal_fields.iter()),
        );
        prefilter.literal_of_slot = vec![u32::MAX; prefilter.fields.len()];
        for (fpos, path) in prefilter.literal_fields.iter().enumerate() {
            match prefilter.fields.slot(path) {
                Some(slot) => prefilter.literal_of_slot[slot as usize] = fpos as u32,
                None => prefilter.literal_unslotted.push(fpos),
            }
        }
        static ENGINES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Engine {
            id: ENGINES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            prefilter,
            rules: compiled,
            kql_rules,
            errors,
            summary,
            filtered_out,
            options,
        }
    }

    /// How many compiled rules have a literal prefilter (see [`literal`]).
    pub fn rules_with_literals(&self) -> usize {
        self.rules.iter().filter(|r| r.literals.is_some()).count()
    }

    /// Every value the rules' literal conditions name (lower-case, sorted), or
    /// `None` when some rule has no literal condition: the input for a
    /// [`raw::RawFilter`].
    pub fn literal_values(&self) -> Option<Vec<String>> {
        let mut out = Vec::new();
        for cr in &self.rules {
            for (_, vals) in cr.literals.as_ref()? {
                out.extend(vals.iter().map(|v| v.text().to_string()));
            }
        }
        out.sort();
        out.dedup();
        Some(out)
    }

    /// The compiled rules, in input order.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// The Kusto (KQL) rules that passed the rule filters, in input order. The engine
    /// does not run them: a KQL executor (the CLI's) does.
    pub fn kql_rules(&self) -> &[Rule] {
        &self.kql_rules
    }

    /// Supported rules whose query does not compile.
    /// The Kibana alert documents of a detection of this engine's: the event
    /// alert, or a sequence's building blocks and then its shell. Built anew
    /// on each call, the same each time (ids follow Kibana's recipes).
    pub fn alert_documents(&self, d: &Detection) -> Vec<Map<String, Value>> {
        let Some(cr) = self.rules.get(d.rule) else {
            return Vec::new();
        };
        let ctx = self.alert_context();
        if d.sequence {
            let refs: Vec<&Event> = d.events.iter().collect();
            harrier_rules::alert::build_sequence_alerts(&cr.rule, &refs, &ctx)
        } else {
            d.events
                .first()
                .map(|e| harrier_rules::alert::build_alert(&cr.rule, e, &ctx))
                .into_iter()
                .collect()
        }
    }

    /// The run's alert context: its execution time and Kibana space.
    fn alert_context(&self) -> harrier_rules::alert::AlertContext {
        harrier_rules::alert::AlertContext::new(self.options.execution_time, &self.options.space_id)
    }

    /// What the primary alert document of `d` says of it (name, severity,
    /// risk score, id: [`harrier_rules::alert::AlertHead`]), without building
    /// the documents. `None` when `d` has no events.
    pub fn alert_head(&self, d: &Detection) -> Option<harrier_rules::alert::AlertHead> {
        let cr = self.rules.get(d.rule)?;
        let ctx = self.alert_context();
        if d.sequence {
            let refs: Vec<&Event> = d.events.iter().collect();
            harrier_rules::alert::sequence_head(&cr.rule, &refs, &ctx)
        } else {
            d.events
                .first()
                .map(|e| harrier_rules::alert::alert_head(&cr.rule, e, &ctx))
        }
    }

    pub fn errors(&self) -> &[CompileError] {
        &self.errors
    }

    /// Counts over every rule given to [`Engine::new`].
    pub fn summary(&self) -> &RuleSetSummary {
        &self.summary
    }

    /// Supported rules left out by the rule, tag, severity or deprecation filters.
    pub fn filtered_out(&self) -> usize {
        self.filtered_out
    }

    /// Can any rule use this event? True when some rule that searches the
    /// event's index and accepts its category has a step (or `until`) filter
    /// the event matches. Events for which this is false can be dropped as
    /// they are read: no rule's result depends on them. Time windows and
    /// exceptions are left to [`Engine::run`].
    pub fn wants(&self, e: &Event) -> bool {
        let mut out = Vec::new();
        self.matching_rules(e, &mut out);
        !out.is_empty()
    }

    /// Every rule that can use the event: it searches the event's index,
    /// accepts its category, passes the literal prefilter, and one of its
    /// step (or `until`) filters matches. Appends rule positions to `out`,
    /// each once, in ascending order.
    pub fn matching_rules(&self, e: &Event, out: &mut Vec<u32>) {
        let index_ok = self.index_ok(&e.index);
        // every look-up reads this one walk of the document
        let doc = FlatView::new(&self.prefilter.fields, &e.source);
        let mut held = Vec::new();
        self.match_doc(&index_ok, &doc, &mut held);
        out.extend(held.iter().map(|&(r, _)| r));
    }

    /// What one event means to each rule that can use it, computed where the
    /// event is read: see [`collect`]. Applies the time window and the
    /// rules' exceptions.
    pub fn hits(&self, e: &Event) -> collect::Hits {
        self.hits_at(e, None)
    }

    /// [`Engine::hits`] for an event whose NDJSON line can be read again
    /// (`at`, from [`harrier_sources::read_paths_at`]): a kept event is then
    /// kept as its line's place and checksum, and read again from the file
    /// when it is in an alert, instead of being held until the end.
    pub fn hits_at(&self, e: &Event, at: Option<LineAt<'_>>) -> collect::Hits {
        let doc = FlatView::new(&self.prefilter.fields, &e.source);
        let (mut out, needed) = self
            .hits_of(&doc, &e.index, Some(e))
            .unwrap_or_else(|| (collect::Hits::default(), false));
        if needed {
            out.store(e, at);
        }
        out
    }

    /// The fields every rule reads: filters, join keys, times and
    /// tiebreakers. A [`FlatDoc`](harrier_event::FlatDoc) made for these
    /// answers every look-up [`Engine::hits_flat`] makes from its slots.
    pub fn fields(&self) -> &FieldIndex {
        &self.prefilter.fields
    }

    /// [`Engine::hits_at`] for a line read straight into the slots of
    /// [`Engine::fields`] ([`harrier_sources::read_paths_flat`]). A kept
    /// event is kept as its line's place. `None` when a rule that can use the
    /// event has exceptions: they read whole documents (nested items), so the
    /// caller must read the event whole and use [`Engine::hits_at`].
    pub fn hits_flat(&self, line: &FlatLine<'_>) -> Option<collect::Hits> {
        if line.at.text.len() > u32::MAX as usize {
            return None;
        }
        let (mut out, needed) = self.hits_of(line.doc, &line.index, None)?;
        if needed {
            out.store_line(line);
        }
        Some(out)
    }

    /// [`Engine::hits_at`] for an EVTX record mapped without building its
    /// map ([`FlatRecord`], from [`harrier_sources::read_paths_flat`] with
    /// [`Engine::fields`]). A kept event is kept as the JSON text of the
    /// record's event, written only then. `None` when a rule that can use
    /// the event has exceptions (see [`Engine::hits_flat`]).
    pub fn hits_record(&self, record: &FlatRecord<'_>) -> Option<collect::Hits> {
        let (mut out, needed) = self.hits_of(record.doc, &record.index, None)?;
        if needed {
            out.store_record(record);
        }
        Some(out)
    }

    /// What an event means to each rule that can use it, and whether some
    /// rule may put it into an alert. `None` when a candidate rule has
    /// exceptions and `event` is not given.
    fn hits_of<D: SlotValues>(
        &self,
        doc: &D,
        index: &std::sync::Arc<str>,
        event: Option<&Event>,
    ) -> Option<(collect::Hits, bool)> {
        let index_ok = self.index_ok(index);
        let mut rules = Vec::with_capacity(16);
        self.match_doc(&index_ok, doc, &mut rules);
        let mut out = collect::Hits {
            hits: Vec::with_capacity(rules.len()),
            ..Default::default()
        };
        let opts = &self.options;
        let mut needed = false;
        // most rules read the same time field: parse each field's time once
        let mut times: Vec<((u32, u32), Option<i128>)> = Vec::with_capacity(4);
        for (r, held) in rules {
            let cr = &self.rules[r as usize];
            out.candidates += 1;
            let tkey = cr.time.key();
            let ts = match times.iter().find(|(k, _)| *k == tkey) {
                Some(&(_, t)) => t,
                None => {
                    let t = cr.time.of(doc);
                    times.push((tkey, t));
                    t
                }
            };
            if opts.from.is_some() || opts.to.is_some() {
                let Some(t) = ts else { continue };
                if opts.from.is_some_and(|f| t < f) || opts.to.is_some_and(|to| t > to) {
                    continue;
                }
            }
            if cr.has_exceptions
                && opts
                    .exceptions
                    .is_excepted(&cr.rule, event?, opts.execution_time)
            {
                out.excepted += 1;
                continue;
            }
            let is_event = matches!(cr.plan.kind, PlanKind::Event(_));
            // the filters that hold, as `match_doc` found them (for an event
            // rule, its one filter)
            let mask = held;
            let mut keys = Vec::new();
            if !is_event {
                for (fi, (_, key_exprs)) in cr.filters().enumerate().take(64) {
                    if mask & (1 << fi) != 0 {
                        for t in exec::key_tuples(key_exprs, doc) {
                            keys.push((fi as u8, t));
                        }
                    }
                }
            }
            needed |= mask & cr.positive != 0;
            let tiebreaker = cr.tiebreaker.as_ref().and_then(|f| {
                let v = harrier_eql::eval::field_min(f, doc).into_owned();
                (!v.is_null()).then_some(v)
            });
            out.hits.push(collect::Hit {
                rule: r,
                ts,
                tiebreaker,
                mask,
                keys,
            });
        }
        Some((out, needed))
    }

    /// The rules whose filters `doc` meets, each with the filters it meets
    /// (a bit per filter), in rule order. Every filter that can hold is
    /// evaluated: one whose clauses the event does not all meet cannot.
    fn match_doc<D: SlotValues>(&self, index_ok: &[bool], doc: &D, out: &mut Vec<(u32, u64)>) {
        let start = out.len();
        let p = &self.prefilter;
        let evaluated = std::cell::Cell::new(0u64);
        let holds = |rule: u32, filter: u16| {
            index_ok[rule as usize]
                && self.rules[rule as usize]
                    .filter(filter as usize)
                    .is_some_and(|f| {
                        evaluated.set(evaluated.get() + 1);
                        harrier_eql::eval::matches(f, doc)
                    })
        };
        for &(r, f) in &p.unindexed {
            if holds(r, f) {
                out.push((r, 1u64.checked_shl(u32::from(f)).unwrap_or(0)));
            }
        }
        SCRATCH.with(|cell| {
            let mut scratch = cell.borrow_mut();
            let Scratch {
                masks,
                touched,
                ready,
                key,
                folded,
                common,
                lits,
                cache,
            } = &mut *scratch;
            if masks.len() < p.entries.len() {
                masks.resize(p.entries.len(), 0);
            }
            let words = p.commons.div_ceil(64);
            if common.len() < words {
                common.resize(words, 0);
            }
            fn mark(masks: &mut [u8], touched: &mut Vec<u32>, common: &mut [u64], lit: &Lit) {
                for &(entry, bits) in &lit.marks {
                    let m = &mut masks[entry as usize];
                    if *m == 0 {
                        touched.push(entry);
                    }
                    *m |= bits;
                }
                if lit.common != NOT_COMMON {
                    let k = lit.common as usize;
                    common[k / 64] |= 1 << (k % 64);
                }
            }
            if cache.engine != self.id {
                cache.clear();
                cache.engine = self.id;
            }
            // light up the clauses the event's values meet
            let mut light = |fi: usize, v: Scalar<'_>| {
                let ids: &[u32] = match v.as_str() {
                    Some(s) if s.len() <= CACHE_VALUE => {
                        cache.lits_of(fi, s, |out| p.lights_of(fi, v, key, folded, out))
                    }
                    _ => {
                        lits.clear();
                        p.lights_of(fi, v, key, folded, lits);
                        lits
                    }
                };
                for &id in ids {
                    if let Some(lit) = p.lits.get(id as usize) {
                        mark(masks, touched, common, lit);
                    }
                }
            };
            let literal = |slot: u16| {
                p.literal_of_slot
                    .get(slot as usize)
                    .is_some_and(|&fi| fi != u32::MAX)
            };
            doc.each_wanted_slot_value(&literal, &mut |slot, v| {
                if let Some(&fi) = p.literal_of_slot.get(slot as usize) {
                    light(fi as usize, v)
                }
            });
            for &fi in &p.literal_unslotted {
                doc.visit_scalars(&p.literal_fields[fi], &mut |v| {
                    light(fi, v);
                    false
                });
            }
            // reset the masks before evaluating anything, so they are all zero again
            for &entry in touched.iter() {
                let mut m = std::mem::take(&mut masks[entry as usize]);
                for &(bits, k) in &p.entry_common[entry as usize] {
                    let k = k as usize;
                    if common[k / 64] & (1 << (k % 64)) != 0 {
                        m |= bits;
                    }
                }
                if m == p.entries[entry as usize].full {
                    ready.push(entry);
                }
            }
            touched.clear();
            common[..words].fill(0);
            for &entry in ready.iter() {
                let en = p.entries[entry as usize];
                if holds(en.rule, en.filter) {
                    out.push((en.rule, 1u64.checked_shl(u32::from(en.filter)).unwrap_or(0)));
                }
            }
            ready.clear();
        });
        if evaluated.get() > 0 {
            self.prefilter
                .evaluated
                .0
                .fetch_add(evaluated.get(), std::sync::atomic::Ordering::Relaxed);
        }
        out[start..].sort_unstable_by_key(|&(r, _)| r);
        let mut i = start;
        for j in start..out.len() {
            if i > start && out[j].0 == out[i - 1].0 {
                out[i - 1].1 |= out[j].1;
            } else {
                out[i] = out[j];
                i += 1;
            }
        }
        out.truncate(i);
    }

    /// How many step filters the clause index has let through to be
    /// evaluated, over every event matched so far: the measure of how well
    /// the index narrows a rule set (ideally little more than the filters
    /// that match).
    pub fn filters_evaluated(&self) -> u64 {
        self.prefilter
            .evaluated
            .0
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// What [`Engine::matching_rules`] computes, without its index: every rule
    /// whose index patterns admit the event and one of whose filters matches.
    /// The reference the index is tested against.
    pub fn matching_rules_unindexed(&self, e: &Event, out: &mut Vec<u32>) {
        let index_ok = self.index_ok(&e.index);
        for (r, cr) in self.rules.iter().enumerate() {
            if index_ok[r]
                && cr
                    .filters()
                    .any(|(f, _)| harrier_eql::eval::matches(f, &e.source))
            {
                out.push(r as u32);
            }
        }
    }

    fn index_ok(&self, index: &std::sync::Arc<str>) -> std::sync::Arc<Vec<bool>> {
        if let Ok(cache) = self.prefilter.index_ok.read() {
            if let Some(v) = cache.get(index) {
                return v.clone();
            }
        }
        let v = std::sync::Arc::new(
            self.rules
                .iter()
                .map(|r| r.index.matches(index))
                .collect::<Vec<bool>>(),
        );
        if let Ok(mut cache) = self.prefilter.index_ok.write() {
            cache.insert(index.clone(), v.clone());
        }
        v
    }

    /// Evaluates every rule over `events`. `progress` is called with the number of
    /// rules finished so far (from worker threads).
    pub fn run(&self, events: &[Event], progress: &(dyn Fn(usize) + Sync)) -> RunOutput {
        let mut collector = collect::Collector::new(self);
        for e in events {
            collector.push(self.hits(e));
        }
        collector.finish(progress)
    }
}

/// Stage and `until` filters of a plan.
fn filter_count(plan: &Plan) -> usize {
    match &plan.kind {
        PlanKind::Event(_) => 1,
        PlanKind::Sequence { stages, until, .. } => stages.len() + usize::from(until.is_some()),
        PlanKind::Sample { stages } => stages.len(),
    }
}

fn matches_name(rule: &Rule, wanted: &[String]) -> bool {
    wanted
        .iter()
        .any(|w| w.eq_ignore_ascii_case(&rule.rule_id) || w.eq_ignore_ascii_case(&rule.name))
}

fn selected(rule: &Rule, o: &EngineOptions) -> bool {
    if o.skip_deprecated && rule.is_deprecated() {
        return false;
    }
    if !o.rules.is_empty() && !matches_name(rule, &o.rules) {
        return false;
    }
    if !o.tags.is_empty()
        && !rule
            .tags
            .iter()
            .any(|t| o.tags.iter().any(|w| w.eq_ignore_ascii_case(t)))
    {
        return false;
    }
    if matches_name(rule, &o.exclude_rules) {
        return false;
    }
    if o.min_severity.is_some_and(|m| rule.severity < m) {
        return false;
    }
    true
}

/// Compiles rule `i`, or says why it cannot run.
fn compile_one(
    i: usize,
    rule: Rule,
    schema: &Schema,
    options: &EngineOptions,
) -> Result<CompiledRule, Box<CompileError>> {
    let error = |rule: &Rule, line, column, message, span| {
        Box::new(CompileError {
            rule: i,
            rule_id: rule.rule_id.clone(),
            name: rule.name.clone(),
            file: rule.origin.file.to_string(),
            line,
            column,
            message,
            span,
            query: rule.query.clone().unwrap_or_default(),
        })
    };
    match compile_query(&rule, schema) {
        Ok(plan) if filter_count(&plan) > 32 => Err(error(
            &rule,
            0,
            0,
            "sequences of more than 32 steps (runs included) are not supported".into(),
            Span::default(),
        )),
        Ok(plan) => Ok(compile_rule(rule, plan, schema, options)),
        Err(e) => {
            let (line, column) = rule.query_position(e.span.start as usize).unwrap_or((0, 0));
            Err(error(&rule, line, column, e.message.clone(), e.span))
        }
    }
}

/// [`compile_one`] for each `(index, rule)`, in order, on every core: a
/// thousand rules take tens of milliseconds to compile, a noticeable part of
/// a hunt's start-up.
fn compile_all(
    todo: Vec<(usize, Rule)>,
    schema: &Schema,
    options: &EngineOptions,
) -> Vec<Result<CompiledRule, Box<CompileError>>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = todo.len().div_ceil(threads.max(1)).max(1);
    let mut parts: Vec<Vec<(usize, Rule)>> = Vec::new();
    let mut rest = todo.into_iter().peekable();
    while rest.peek().is_some() {
        parts.push(rest.by_ref().take(per).collect());
    }
    if parts.len() < 2 {
        return parts
            .into_iter()
            .flatten()
            .map(|(i, r)| compile_one(i, r, schema, options))
            .collect();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| {
                s.spawn(move || {
                    part.into_iter()
                        .map(|(i, r)| compile_one(i, r, schema, options))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

fn compile_rule(rule: Rule, plan: Plan, schema: &Schema, o: &EngineOptions) -> CompiledRule {
    let cat_field = rule
        .event_category_override
        .clone()
        .unwrap_or_else(|| "event.category".into());
    let mut filters: Vec<&CExpr> = Vec::new();
    let mut positive = 0u64;
    match &plan.kind {
        PlanKind::Event(f) => {
            filters.push(f);
            positive = 1;
        }
        PlanKind::Sequence { stages, until, .. } => {
            for (i, s) in stages.iter().enumerate() {
                if !s.missing && i < 64 {
                    positive |= 1 << i;
                }
            }
            filters.extend(stages.iter().chain(until.iter()).map(|s| &s.filter));
        }
        PlanKind::Sample { stages } => {
            for i in 0..stages.len().min(64) {
                positive |= 1 << i;
            }
            filters.extend(stages.iter().map(|s| &s.filter));
        }
    }
    let mut categories = Some(Vec::new());
    for f in &filters {
        match (required_category(f, &cat_field), categories.as_mut()) {
            (Some(c), Some(list)) => {
                if !list.contains(&c) {
                    list.push(c);
                }
            }
            _ => categories = None,
        }
    }
    let time_name = o
        .timestamp_override
        .clone()
        .or_else(|| rule.timestamp_override.clone());
    let ts_field = rule.timestamp_field.as_deref().unwrap_or("@timestamp");
    let time = match time_name {
        Some(t) if t != ts_field => TimeField {
            primary: field_access(schema, &t, DataType::Date),
            fallback: (o.timestamp_override.is_some()
                || rule.timestamp_override_fallback_disabled != Some(true))
            .then(|| field_access(schema, ts_field, DataType::Date)),
        },
        _ => TimeField {
            primary: field_access(schema, ts_field, DataType::Date),
            fallback: None,
        },
    };
    let tiebreaker = rule
        .tiebreaker_field
        .as_deref()
        .map(|t| field_access(schema, t, DataType::Unknown));
    let has_exceptions = o.exceptions.for_rule(&rule).next().is_some();
    // the rule's literal condition: the union over its filters, if each has one
    let mut literals: Option<literal::Literals> = Some(Vec::new());
    for f in &filters {
        match (literal::required(f, &cat_field), literals.as_mut()) {
            (Some(alts), Some(all)) => {
                for (field, vals) in alts {
                    match all.iter_mut().find(|(g, _)| *g == field) {
                        Some((_, v)) => {
                            v.extend(vals);
                            v.sort();
                            v.dedup();
                        }
                        None => all.push((field, vals)),
                    }
                }
            }
            _ => literals = None,
        }
    }
    CompiledRule {
        literals,
        index: IndexFilter::new(&rule.index),
        rule,
        plan,
        categories,
        positive,
        time,
        tiebreaker,
        has_exceptions,
    }
}

/// The category a step filter requires: analysis puts `<category field> == "name"` first
/// in the conjunction for `name where …`.
fn required_category(f: &CExpr, cat_field: &str) -> Option<String> {
    let first = match f {
        CExpr::And(v) => v.first()?,
        other => other,
    };
    match first {
        CExpr::Cmp(CmpOp::Eq, a, b) => match (&**a, &**b) {
            (CExpr::Field(fa), CExpr::Lit(Val::Str(s))) if fa.name == cat_field => {
                Some(s.to_string())
            }
            _ => None,
        },
        _ => None,
    }
}
