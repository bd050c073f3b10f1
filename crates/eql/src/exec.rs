//! Running a [`Plan`] over events.
//!
//! Events are ordered by timestamp, then tiebreaker, then input position
//! (Elasticsearch's implicit `_shard_doc` tiebreaker). Event queries filter;
//! sequences run a state machine per join key that keeps, for each stage,
//! only the most recent partial sequence (Elasticsearch picks the latest
//! earlier candidate and discards older ones, so older ones can never be
//! used again); samples group by key without ordering.

use crate::eval::{key_values, matches, timestamp_of, KeyVal};
use crate::expr::FieldAccess;
use crate::plan::{Pipe, Plan, PlanKind, Stage};
use crate::value::Val;
use harrier_event::Event;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::HashMap;

type Doc<'d> = dyn harrier_event::Document + 'd;

/// Where events' order comes from.
#[derive(Clone, Debug)]
pub struct Ordering_ {
    pub timestamp: FieldAccess,
    pub tiebreaker: Option<FieldAccess>,
}

pub type OrderFields = Ordering_;

impl Ordering_ {
    /// Order by a date field (e.g. `@timestamp`), without tiebreaker.
    pub fn by_date(field: &str) -> Ordering_ {
        Ordering_ {
            timestamp: FieldAccess {
                name: field.to_owned(),
                path: harrier_event::FieldPath::new(field),
                ty: crate::schema::DataType::Date,
                null_value: None,
                format: None,
            },
            tiebreaker: None,
        }
    }
}

/// The result of a query.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Indices of matching events, in order.
    Events(Vec<usize>),
    Sequences(Vec<Match>),
}

/// One sequence or sample: its join key values and its events (`None` for a
/// missing-event placeholder).
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    pub join_keys: Vec<KeyVal>,
    pub events: Vec<Option<usize>>,
}

/// An event's place in query order: its time and its index in the facts.
/// The tiebreaker only decides the order, so it is not kept here: a hunt
/// sorts millions of facts of one rule. The time is kept as two halves: an
/// `i128` field would align the struct to 16 bytes and make it 32 bytes
/// rather than 24.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Ordinal {
    ts_hi: i64,
    ts_lo: u64,
    idx: usize,
}

impl Ordinal {
    fn new(ts: i128, idx: usize) -> Ordinal {
        Ordinal {
            ts_hi: (ts >> 64) as i64,
            ts_lo: ts as u64,
            idx,
        }
    }

    fn ts(&self) -> i128 {
        (i128::from(self.ts_hi) << 64) | i128::from(self.ts_lo)
    }
}

/// Tiebreaker order: values ascending, events without one last.
fn cmp_tiebreakers(a: Option<&Val<'static>>, b: Option<&Val<'static>>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => crate::eval::cmp_vals(a, b).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Execution limits from the request.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    /// `size`: the most results returned (`None` = no limit).
    pub size: Option<usize>,
    /// For samples: samples per key (Elasticsearch's `max_samples_per_key`, default 1).
    pub max_samples_per_key: usize,
}

pub fn run<E: Borrow<Event>>(
    plan: &Plan,
    order: &OrderFields,
    events: &[E],
    limits: &Limits,
) -> Output {
    run_timed(plan, order, events, None, limits)
}

/// What the executor needs to know of each input event: its time and
/// tiebreaker, which stages' filters it matches and its join keys for them.
///
/// [`run_timed`] reads these from the documents as it goes
/// ([`EventFacts`]); a caller that has already computed them (the detection
/// engine, which evaluates each event once as it is read and keeps only
/// these facts) implements the trait over its own storage and calls
/// [`run_facts`].
pub trait Facts {
    /// An interned or literal join key tuple.
    type Key: Clone + Eq + std::hash::Hash;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Effective time in nanoseconds.
    fn time(&self, i: usize) -> Option<i128>;
    fn tiebreaker(&self, i: usize) -> Option<Val<'static>>;
    /// Does event `i` match stage `stage`? Stages are numbered as in the
    /// plan; `until` is number `stages.len()`. For an event query, stage 0
    /// is its filter.
    fn matches(&self, i: usize, stage: usize) -> bool;
    /// All join key tuples of event `i` for `stage` (several when a key
    /// field is multi-valued; none when a required key is missing).
    fn keys(&self, i: usize, stage: usize) -> Vec<Self::Key>;
    /// Orders keys as their values order (Elasticsearch's composite order).
    fn cmp_keys(&self, a: &Self::Key, b: &Self::Key) -> Ordering;
    fn key_values(&self, k: &Self::Key) -> Vec<KeyVal>;
}

/// [`Facts`] read from documents on demand.
pub struct EventFacts<'a, E> {
    filters: Vec<&'a crate::expr::CExpr>,
    keys: Vec<&'a [crate::plan::KeyExpr]>,
    order: &'a OrderFields,
    events: &'a [E],
    times: Option<&'a [Option<i128>]>,
}

impl<'a, E: Borrow<Event>> EventFacts<'a, E> {
    pub fn new(
        plan: &'a Plan,
        order: &'a OrderFields,
        events: &'a [E],
        times: Option<&'a [Option<i128>]>,
    ) -> Self {
        let (filters, keys) = match &plan.kind {
            PlanKind::Event(f) => (vec![f], vec![&[][..]]),
            PlanKind::Sequence { stages, until, .. } => stages
                .iter()
                .chain(until.iter())
                .map(|s| (&s.filter, &s.keys[..]))
                .unzip(),
            PlanKind::Sample { stages } => stages.iter().map(|s| (&s.filter, &s.keys[..])).unzip(),
        };
        EventFacts {
            filters,
            keys,
            order,
            events,
            times,
        }
    }
}

impl<E: Borrow<Event>> Facts for EventFacts<'_, E> {
    type Key = Vec<KeyVal>;

    fn len(&self) -> usize {
        self.events.len()
    }

    fn time(&self, i: usize) -> Option<i128> {
        match self.times {
            Some(t) => t.get(i).copied().flatten(),
            None => timestamp_of(&self.order.timestamp, &self.events[i].borrow().source),
        }
    }

    fn tiebreaker(&self, i: usize) -> Option<Val<'static>> {
        let f = self.order.tiebreaker.as_ref()?;
        let v = crate::eval::field_min(f, &self.events[i].borrow().source).into_owned();
        (!v.is_null()).then_some(v)
    }

    fn matches(&self, i: usize, stage: usize) -> bool {
        self.filters
            .get(stage)
            .is_some_and(|f| matches(f, &self.events[i].borrow().source))
    }

    fn keys(&self, i: usize, stage: usize) -> Vec<Vec<KeyVal>> {
        match self.keys.get(stage) {
            Some(keys) => key_tuples(keys, &self.events[i].borrow().source),
            None => Vec::new(),
        }
    }

    fn cmp_keys(&self, a: &Vec<KeyVal>, b: &Vec<KeyVal>) -> Ordering {
        a.cmp(b)
    }

    fn key_values(&self, k: &Vec<KeyVal>) -> Vec<KeyVal> {
        k.clone()
    }
}

/// Like [`run`], with each event's time given (nanoseconds, `None` when it
/// has none) instead of read from `order.timestamp`, e.g. a rule's
/// `timestamp_override` with its fallback.
pub fn run_timed<E: Borrow<Event>>(
    plan: &Plan,
    order: &OrderFields,
    events: &[E],
    times: Option<&[Option<i128>]>,
    limits: &Limits,
) -> Output {
    run_facts(plan, &EventFacts::new(plan, order, events, times), limits)
}

/// Runs `plan` over events known by their [`Facts`].
pub fn run_facts<F: Facts>(plan: &Plan, facts: &F, limits: &Limits) -> Output {
    match &plan.kind {
        PlanKind::Event(_) => {
            let ords = ordinals(facts, false);
            let hits: Vec<usize> = ords
                .into_iter()
                .map(|o| o.idx)
                .filter(|&i| facts.matches(i, 0))
                .collect();
            Output::Events(apply_limits(plan, hits, limits))
        }
        PlanKind::Sequence {
            stages,
            until,
            maxspan,
        } => {
            let ords = ordinals(facts, true);
            let seqs = run_sequence(stages, until.is_some(), *maxspan, &ords, facts);
            Output::Sequences(apply_limits(plan, seqs, limits))
        }
        PlanKind::Sample { stages } => {
            let samples = run_sample(stages.len(), facts, limits.max_samples_per_key.max(1));
            Output::Sequences(apply_limits(plan, samples, limits))
        }
    }
}

fn apply_limits<T>(plan: &Plan, mut items: Vec<T>, limits: &Limits) -> Vec<T> {
    let w = plan.window(items.len());
    items.truncate(w.end);
    items.drain(..w.start);
    if let Some(size) = limits.size {
        if matches!(plan.pipes.last(), Some(Pipe::Tail(_))) {
            let drop = items.len().saturating_sub(size);
            items.drain(..drop);
        } else {
            items.truncate(size);
        }
    }
    items
}

/// Events in query order. With `require_ts`, events without a timestamp are
/// left out (sequences need one); otherwise they sort last.
fn ordinals<F: Facts>(facts: &F, require_ts: bool) -> Vec<Ordinal> {
    let mut out: Vec<Ordinal> = Vec::with_capacity(facts.len());
    // tiebreakers by fact index, only when some fact has one
    let mut tbs: Vec<Option<Val<'static>>> = Vec::new();
    for idx in 0..facts.len() {
        let ts = match facts.time(idx) {
            Some(ts) => ts,
            None if require_ts => continue,
            None => i128::MAX,
        };
        if let Some(tb) = facts.tiebreaker(idx) {
            if tbs.is_empty() {
                tbs.resize(facts.len(), None);
            }
            tbs[idx] = Some(tb);
        }
        out.push(Ordinal::new(ts, idx));
    }
    if tbs.is_empty() {
        out.sort_unstable_by(|a, b| a.ts().cmp(&b.ts()).then(a.idx.cmp(&b.idx)));
    } else {
        out.sort_by(|a, b| {
            a.ts()
                .cmp(&b.ts())
                .then_with(|| cmp_tiebreakers(tbs[a.idx].as_ref(), tbs[b.idx].as_ref()))
                .then(a.idx.cmp(&b.idx))
        });
    }
    out
}

/// A partial sequence: the events of the positive stages matched so far.
#[derive(Clone, Debug)]
struct Partial {
    /// positions in the ordinal list of each matched positive stage
    events: Vec<usize>,
    start_ts: i128,
}

/// All key tuples of a document for a stage's keys (the Cartesian product
/// of multi-valued keys; none when a required key is missing).
pub fn key_tuples(keys: &[crate::plan::KeyExpr], doc: &Doc<'_>) -> Vec<Vec<KeyVal>> {
    // most events have one value per key: their one tuple is built directly
    let mut tuple = Vec::with_capacity(keys.len());
    for k in keys {
        match crate::eval::single_key_value(&k.expr, k.optional, doc) {
            Some(Some(v)) => tuple.push(v),
            Some(None) => return Vec::new(),
            None => return all_key_tuples(keys, doc),
        }
    }
    vec![tuple]
}

/// [`key_tuples`] when some key has several values.
fn all_key_tuples(keys: &[crate::plan::KeyExpr], doc: &Doc<'_>) -> Vec<Vec<KeyVal>> {
    let mut values = Vec::with_capacity(keys.len());
    for k in keys {
        let vals = key_values(&k.expr, k.optional, doc);
        if vals.is_empty() {
            return Vec::new();
        }
        values.push(vals);
    }
    // most events have one value per key: their one tuple takes the values
    if values.iter().all(|v| v.len() == 1) {
        return vec![values.into_iter().flatten().collect()];
    }
    // the first key's values vary slowest
    let mut tuples: Vec<Vec<KeyVal>> = vec![Vec::with_capacity(keys.len())];
    for vals in &values {
        let mut next = Vec::with_capacity(tuples.len() * vals.len());
        for t in &tuples {
            for v in vals {
                let mut t2 = t.clone();
                t2.push(v.clone());
                next.push(t2);
            }
        }
        tuples = next;
    }
    tuples
}

fn run_sequence<F: Facts>(
    stages: &[Stage],
    has_until: bool,
    maxspan: Option<i128>,
    ords: &[Ordinal],
    facts: &F,
) -> Vec<Match> {
    let positive: Vec<usize> = (0..stages.len()).filter(|&i| !stages[i].missing).collect();
    let np = positive.len();
    let until = stages.len();
    // pending[key][j] = partial sequence whose last matched positive stage is positive[j]
    let mut pending: HashMap<F::Key, Vec<Option<Partial>>> = HashMap::new();
    let mut done: Vec<(usize, F::Key, Partial)> = Vec::new();
    let mut last_sweep_ts = i128::MIN;
    for (pos, ord) in ords.iter().enumerate() {
        // later stages first, so an event never extends a sequence it just advanced
        let mut completed_here: Vec<(F::Key, Partial)> = Vec::new();
        for j in (0..np).rev() {
            let si = positive[j];
            if !facts.matches(ord.idx, si) {
                continue;
            }
            for key in facts.keys(ord.idx, si) {
                if j == 0 {
                    let p = Partial {
                        events: vec![pos],
                        start_ts: ord.ts(),
                    };
                    if np == 1 {
                        completed_here.push((key, p));
                    } else {
                        pending.entry(key).or_insert_with(|| vec![None; np])[0] = Some(p);
                    }
                    continue;
                }
                let Some(slots) = pending.get_mut(&key) else {
                    continue;
                };
                let Some(mut p) = slots[j - 1].take() else {
                    continue;
                };
                if maxspan.is_some_and(|m| ord.ts() - p.start_ts > m) {
                    continue;
                }
                p.events.push(pos);
                if j == np - 1 {
                    completed_here.push((key, p));
                } else {
                    slots[j] = Some(p);
                }
            }
        }
        completed_here.sort_by(|a, b| facts.cmp_keys(&a.0, &b.0));
        for (k, p) in completed_here {
            done.push((pos, k, p));
        }
        if has_until && facts.matches(ord.idx, until) {
            for key in facts.keys(ord.idx, until) {
                pending.remove(&key);
            }
        }
        // drop partial sequences that can no longer complete within maxspan
        if let Some(m) = maxspan {
            if pending.len() > 4096 && ord.ts() - last_sweep_ts > m {
                last_sweep_ts = ord.ts();
                pending.retain(|_, slots| {
                    for s in slots.iter_mut() {
                        if s.as_ref().is_some_and(|p| ord.ts() - p.start_ts > m) {
                            *s = None;
                        }
                    }
                    slots.iter().any(Option::is_some)
                });
            }
        }
    }
    let mut out = Vec::new();
    for (_, key, p) in done {
        if let Some(events_out) = fill_missing(stages, &positive, &p, &key, maxspan, ords, facts) {
            out.push(Match {
                join_keys: facts.key_values(&key),
                events: events_out,
            });
        }
    }
    out
}

/// Checks the missing-event steps of a completed sequence and returns its
/// event list with `None` placeholders, or `None` when the sequence is
/// rejected.
///
/// As Elasticsearch's missing-events suite pins it down: a middle step
/// (between two positive steps) rejects the candidate when a matching event
/// of the same key lies strictly between its neighbours. Leading and
/// trailing steps reject it only together: when every one of them can be
/// filled, in step order, such that the whole sequence (missing events
/// included) still fits in `maxspan`. Filling greedily outwards from the
/// positive events gives the smallest span, so one pass per step decides it.
fn fill_missing<F: Facts>(
    stages: &[Stage],
    positive: &[usize],
    p: &Partial,
    key: &F::Key,
    maxspan: Option<i128>,
    ords: &[Ordinal],
    facts: &F,
) -> Option<Vec<Option<usize>>> {
    let mut out = Vec::with_capacity(stages.len());
    for (si, stage) in stages.iter().enumerate() {
        if stage.missing {
            out.push(None);
        } else {
            let j = positive.iter().position(|&x| x == si)?;
            out.push(Some(ords[p.events[j]].idx));
        }
    }
    if !stages.iter().any(|s| s.missing) {
        return Some(out);
    }
    let first = p.events[0];
    let last = *p.events.last()?;
    let matches_step = |si: usize, pos: usize| -> bool {
        let idx = ords[pos].idx;
        facts.matches(idx, si) && facts.keys(idx, si).iter().any(|k| k == key)
    };
    let first_pos_stage = positive[0];
    let last_pos_stage = *positive.last()?;
    let mut span_lo = ords[first].ts();
    let mut span_hi = ords[last].ts();
    // a middle step rejects the candidate on its own when any matching
    // event lies strictly between its positive neighbours
    for (si, stage) in stages
        .iter()
        .enumerate()
        .take(last_pos_stage)
        .skip(first_pos_stage + 1)
    {
        if !stage.missing {
            continue;
        }
        let prev = positive
            .iter()
            .rposition(|&x| x < si)
            .map(|j| p.events[j])?;
        let next = positive.iter().position(|&x| x > si).map(|j| p.events[j])?;
        if (prev + 1..next).any(|pos| matches_step(si, pos)) {
            return None;
        }
    }
    // leading and trailing steps reject it together: only when all of them
    // can be filled, in order, within maxspan of the whole sequence
    let edges = first_pos_stage + (stages.len() - 1 - last_pos_stage);
    if edges == 0 {
        return Some(out);
    }
    let mut bound = first;
    for si in (0..first_pos_stage).rev() {
        let lo_ts = maxspan.map_or(i128::MIN, |m| ords[last].ts() - m);
        let found = (0..bound)
            .rev()
            .take_while(|&pos| ords[pos].ts() >= lo_ts)
            .find(|&pos| matches_step(si, pos));
        match found {
            Some(pos) => {
                bound = pos;
                span_lo = ords[pos].ts();
            }
            None => return Some(out),
        }
    }
    let mut after = last;
    for si in last_pos_stage + 1..stages.len() {
        let hi_ts = maxspan.map_or(i128::MAX, |m| span_lo + m);
        let found = (after + 1..ords.len())
            .take_while(|&pos| ords[pos].ts() <= hi_ts)
            .find(|&pos| matches_step(si, pos));
        match found {
            Some(pos) => {
                after = pos;
                span_hi = ords[pos].ts();
            }
            None => return Some(out),
        }
    }
    if maxspan.is_some_and(|m| span_hi - span_lo > m) {
        return Some(out);
    }
    None
}

/// `sample by keys [q1] [q2] ...`: for each key value, one distinct event per
/// step. Keys are visited in key order; within a key, events in input order.
fn run_sample<F: Facts>(nstages: usize, facts: &F, per_key: usize) -> Vec<Match> {
    // key -> per stage candidate event indices
    let mut groups: HashMap<F::Key, Vec<Vec<usize>>> = HashMap::new();
    for idx in 0..facts.len() {
        for si in 0..nstages {
            if !facts.matches(idx, si) {
                continue;
            }
            for key in facts.keys(idx, si) {
                groups
                    .entry(key)
                    .or_insert_with(|| vec![Vec::new(); nstages])[si]
                    .push(idx);
            }
        }
    }
    let mut keys: Vec<_> = groups.into_iter().collect();
    keys.sort_by(|a, b| facts.cmp_keys(&a.0, &b.0));
    let mut out = Vec::new();
    for (key, cands) in keys {
        // composite aggregations report date keys as epoch milliseconds
        let key: Vec<KeyVal> = facts
            .key_values(&key)
            .into_iter()
            .map(|k| match k {
                KeyVal::Date(n, _) => KeyVal::Long(n.div_euclid(1_000_000) as i64),
                other => other,
            })
            .collect();
        let mut found = 0;
        let mut chosen = Vec::with_capacity(nstages);
        combinations(&cands, &mut chosen, &mut |c| {
            out.push(Match {
                join_keys: key.clone(),
                events: c.iter().map(|&i| Some(i)).collect(),
            });
            found += 1;
            found >= per_key
        });
    }
    out
}

/// Visits combinations of one event per stage, all distinct, in order
/// (earlier stages vary slowest) until `emit` returns true.
fn combinations(
    cands: &[Vec<usize>],
    chosen: &mut Vec<usize>,
    emit: &mut dyn FnMut(&[usize]) -> bool,
) -> bool {
    let si = chosen.len();
    if si == cands.len() {
        return emit(chosen);
    }
    for &e in &cands[si] {
        if chosen.contains(&e) {
            continue;
        }
        chosen.push(e);
        let stop = combinations(cands, chosen, emit);
        chosen.pop();
        if stop {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;
    use crate::{parse, Analyzer, Settings};
    use harrier_event::{Locator, Origin};
    use serde_json::{json, Value};
    use std::sync::Arc;

    fn events(docs: &[Value]) -> Vec<Event> {
        docs.iter()
            .enumerate()
            .map(|(i, d)| Event {
                source: d.as_object().cloned().unwrap_or_default(),
                index: Arc::from("test"),
                id: None,
                origin: Origin {
                    file: Arc::from("test"),
                    locator: Locator::Element(i as u64),
                },
            })
            .collect()
    }

    fn run_ecs(query: &str, docs: &[Value]) -> Output {
        let schema = Schema::ecs();
        let ast = parse(query).expect("query parses");
        let plan = Analyzer::new(&schema, Settings::default())
            .plan(&ast)
            .expect("query plans");
        let order = OrderFields::by_date("@timestamp");
        let limits = Limits {
            size: None,
            max_samples_per_key: 1,
        };
        run(&plan, &order, &events(docs), &limits)
    }

    /// An ordinal keeps any time whole, in 24 bytes, and orders as the time.
    #[test]
    fn ordinals_keep_times_in_24_bytes() {
        assert_eq!(std::mem::size_of::<Ordinal>(), 24);
        let times = [
            i128::MIN,
            -(1 << 70),
            -1,
            0,
            1,
            (1 << 64) - 1,
            1 << 64,
            i128::MAX,
        ];
        for (idx, &ts) in times.iter().enumerate() {
            assert_eq!(Ordinal::new(ts, idx).ts(), ts);
        }
        for w in times.windows(2) {
            assert!(Ordinal::new(w[0], 0).ts() < Ordinal::new(w[1], 0).ts());
        }
    }

    /// Join keys of a document: one tuple of single values, the Cartesian
    /// product of multi-valued keys (the first key's values varying
    /// slowest), none when a required key is missing, null for a missing
    /// optional key.
    #[test]
    fn key_tuples_of_single_and_multi_valued_keys() {
        use crate::schema::DataType;
        let key = |name: &str, ty: DataType, optional: bool| crate::plan::KeyExpr {
            expr: crate::expr::CExpr::Field(FieldAccess {
                name: name.to_owned(),
                path: harrier_event::FieldPath::new(name),
                ty,
                null_value: None,
                format: None,
            }),
            optional,
        };
        let keys = [
            key("user.name", DataType::Keyword, false),
            key("host.name", DataType::Keyword, false),
            key("process.pid", DataType::Long, false),
        ];
        let s = |t: &str| KeyVal::Str(t.into());
        let doc = json!({"user": {"name": ["a", "b"]}, "host": {"name": "h"}, "process": {"pid": [1, 2]}});
        let doc = doc.as_object().cloned().unwrap_or_default();
        assert_eq!(
            key_tuples(&keys, &doc),
            vec![
                vec![s("a"), s("h"), KeyVal::Long(1)],
                vec![s("a"), s("h"), KeyVal::Long(2)],
                vec![s("b"), s("h"), KeyVal::Long(1)],
                vec![s("b"), s("h"), KeyVal::Long(2)],
            ]
        );
        let doc = json!({"user": {"name": "a"}, "host": {"name": "h"}, "process": {"pid": 7}});
        let doc = doc.as_object().cloned().unwrap_or_default();
        assert_eq!(
            key_tuples(&keys, &doc),
            vec![vec![s("a"), s("h"), KeyVal::Long(7)]]
        );
        // a value repeated is one value (doc values are a set)
        let doc = json!({"user": {"name": ["a", "a"]}, "host": {"name": "h"}, "process": {"pid": [7, 7]}});
        let doc = doc.as_object().cloned().unwrap_or_default();
        assert_eq!(
            key_tuples(&keys, &doc),
            vec![vec![s("a"), s("h"), KeyVal::Long(7)]]
        );
        let doc = json!({"user": {"name": "a"}, "process": {"pid": 7}});
        let doc = doc.as_object().cloned().unwrap_or_default();
        assert!(key_tuples(&keys, &doc).is_empty());
        let optional = [
            key("user.name", DataType::Keyword, false),
            key("host.name", DataType::Keyword, true),
        ];
        assert_eq!(
            key_tuples(&optional, &doc),
            vec![vec![s("a"), KeyVal::Null]]
        );
    }

    // Elasticsearch measures `maxspan` in nanoseconds on a `date_nanos`
    // timestamp (SequenceMatcher.exceedsMaxSpan compares maxSpan.nanos() with
    // Timestamp.delta in NANOS; Timestamp.of reads `<millis>.<fraction>`).
    // The spec test sequencesOnDifferentEventTypes7 relies on it: PR #76953,
    // which added the nanos index, changed its `maxspan=500ms` to `50ms`,
    // because on that index the sequences span 50.2-50.9 ms. Events 61 and 65
    // of the endgame data, as DataLoader.timestampToUnixNanos indexes them.
    #[test]
    fn maxspan_on_date_nanos_counts_sub_millisecond_digits() {
        let mut schema = Schema::dynamic();
        schema
            .add_mapping(
                r#"{"properties": {"@timestamp": {"type": "date_nanos"},
                    "event": {"properties": {"category": {"type": "keyword"}}},
                    "path": {"type": "keyword"}}}"#,
            )
            .expect("mapping");
        let docs = [
            json!({"@timestamp": "131509374345.689460", "event": {"category": "file"}, "path": "a"}),
            json!({"@timestamp": "131509374395.921780", "event": {"category": "file"}, "path": "a"}),
        ];
        let order = OrderFields {
            timestamp: FieldAccess {
                name: "@timestamp".to_owned(),
                path: harrier_event::FieldPath::new("@timestamp"),
                ty: crate::schema::DataType::DateNanos,
                null_value: None,
                format: None,
            },
            tiebreaker: None,
        };
        let limits = Limits {
            size: None,
            max_samples_per_key: 1,
        };
        let count = |maxspan: &str| {
            let query = format!(
                "sequence by path with maxspan={maxspan} [file where true] [file where true]"
            );
            let ast = parse(&query).expect("query parses");
            let plan = Analyzer::new(&schema, Settings::default())
                .plan(&ast)
                .expect("query plans");
            match run(&plan, &order, &events(&docs), &limits) {
                Output::Sequences(ms) => ms.len(),
                _ => panic!("sequences"),
            }
        };
        // 50.232320 ms apart
        assert_eq!(count("50ms"), 0);
        assert_eq!(count("51ms"), 1);
        assert_eq!(count("500ms"), 1);
    }

    // An ip field stores IPv4 as IPv4-mapped IPv6 and reads mapped addresses
    // back as IPv4 (Java's InetAddress), so `::ffff:10.0.0.1` and `10.0.0.1`
    // are one join key, reported as `10.0.0.1`.
    #[test]
    fn ipv4_mapped_addresses_join_with_their_ipv4_spelling() {
        let docs = [
            json!({"@timestamp": 1, "event": {"category": "network"}, "source": {"ip": "::ffff:10.0.0.1"}}),
            json!({"@timestamp": 2, "event": {"category": "network"}, "source": {"ip": "10.0.0.1"}}),
        ];
        let out = run_ecs(
            "sequence by source.ip [network where true] [network where true]",
            &docs,
        );
        let Output::Sequences(ms) = out else {
            panic!("sequences")
        };
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].events, vec![Some(0), Some(1)]);
        assert_eq!(ms[0].join_keys[0].to_json(), json!("10.0.0.1"));
    }
}
