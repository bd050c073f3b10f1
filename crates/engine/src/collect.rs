//! Bounded memory for a hunt: what each rule keeps of the events it can use.
//!
//! Each event is evaluated once, where it is read ([`Engine::hits`], on the
//! reader's worker threads): which rules can use it, which of each rule's
//! stages it matches, its effective time and its join keys. The
//! [`Collector`] (on the reading thread) keeps only these *facts*, about 8
//! bytes per (rule, event) once encoded, with join key tuples interned once
//! for all rules (see [`crate::compact`]). The document itself is kept,
//! serialized as compact JSON with its origin, compressed, and shared
//! by every rule that may put it into an alert, only when it matches an
//! event rule or a *positive* stage of a sequence: events that only match a
//! missing-event step (`![...]`) or an `until` are never needed in an alert.
//! An event rule keeps at most its `max_signals` earliest events (when its
//! query has no pipes), so a noisy rule costs a bounded amount.
//!
//! At the end ([`Collector::finish`]) each rule's facts are decoded, run
//! through the EQL executor ([`harrier_eql::exec::run_facts`]) and freed;
//! the events of the results are decoded into the detections, whose alert
//! documents are built when they are written. A sequence or sample rule
//! with a positive stage no event matched is not run at all.
//!
//! Why our own store: the executor's state machine needs events in time
//! order, and input files (several of them, EVTX chunks decoded in parallel)
//! are not, so a rule cannot run while events stream by; keeping facts
//! instead of documents is what keeps memory proportional to the matches.

use crate::compact::{Fact, FactStore, TupleSet};
use crate::{Detection, Engine, RunOutput};
use harrier_eql::eval::KeyVal;
use harrier_eql::exec::{self, Facts, Limits, Output};
use harrier_eql::plan::PlanKind;
use harrier_eql::value::Val;
use harrier_event::{Event, Locator, Map, Origin, Value};
use harrier_rules::alert::{alert_severity, derived_event_id};
use harrier_sources::{FlatLine, FlatRecord, LineAt};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};

/// An event's document, made where it was read, and who it is.
#[derive(Debug)]
pub struct Stored {
    doc: StoredDoc,
    index: Arc<str>,
    id: Option<Arc<str>>,
    origin: Origin,
}

/// How a kept event's document is kept.
#[derive(Debug, Clone, PartialEq)]
enum StoredDoc {
    /// As compact JSON.
    Json(Vec<u8>),
    /// As the place of its NDJSON line in its file (read again when it is in
    /// an alert, see [`harrier_sources::read_line_event`]).
    Line { offset: u64, len: u32, hash: u64 },
}

impl StoredDoc {
    /// The place of a line no longer than `u32::MAX` bytes.
    fn line(at: LineAt<'_>) -> StoredDoc {
        StoredDoc::Line {
            offset: at.offset,
            len: at.text.len() as u32,
            hash: harrier_sources::line_hash(at.text),
        }
    }
}

impl Stored {
    fn of(e: &Event, at: Option<LineAt<'_>>) -> Stored {
        let doc = match at {
            Some(at) if at.text.len() <= u32::MAX as usize => StoredDoc::line(at),
            // serializing a map of JSON values cannot fail
            _ => StoredDoc::Json(serde_json::to_vec(&e.source).unwrap_or_default()),
        };
        Stored {
            doc,
            index: e.index.clone(),
            id: e.id.clone(),
            origin: e.origin.clone(),
        }
    }
}

/// How a kept event is written into the [`Blobs`]: who it is (index and
/// file names interned in [`Collector::names`], its place in the file, its
/// id), then its document: a tag byte, then the JSON (tag 0) or the line's
/// offset, length and checksum (tag 1). Kept this way, an event costs the
/// collector a [`BlobRef`], and what it says of itself is compressed with
/// its document.
fn write_kept(s: &Stored, index: u32, file: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(&file.to_le_bytes());
    let (kind, at) = match s.origin.locator {
        Locator::Line(n) => (0u8, n),
        Locator::Record(n) => (1, n),
        Locator::Element(n) => (2, n),
    };
    out.push(kind);
    out.extend_from_slice(&at.to_le_bytes());
    match &s.id {
        Some(id) => {
            out.extend_from_slice(&(id.len() as u32).to_le_bytes());
            out.extend_from_slice(id.as_bytes());
        }
        None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
    }
    match &s.doc {
        StoredDoc::Json(json) => {
            out.push(0);
            out.extend_from_slice(json);
        }
        StoredDoc::Line { offset, len, hash } => {
            out.push(1);
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&hash.to_le_bytes());
        }
    }
}

/// What [`write_kept`] wrote.
#[derive(Debug, PartialEq)]
struct KeptRecord<'a> {
    index: u32,
    file: u32,
    locator: Locator,
    id: Option<&'a str>,
    doc: KeptDoc<'a>,
}

#[derive(Debug, PartialEq)]
enum KeptDoc<'a> {
    Json(&'a [u8]),
    Line { offset: u64, len: u32, hash: u64 },
}

fn read_kept(bytes: &[u8]) -> Option<KeptRecord<'_>> {
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    let index = u32_at(0)?;
    let file = u32_at(4)?;
    let at = u64::from_le_bytes(bytes.get(9..17)?.try_into().ok()?);
    let locator = match bytes.get(8)? {
        0 => Locator::Line(at),
        1 => Locator::Record(at),
        _ => Locator::Element(at),
    };
    let (id, json_at) = match u32_at(17)? {
        u32::MAX => (None, 21),
        n => {
            let end = 21 + n as usize;
            (Some(std::str::from_utf8(bytes.get(21..end)?).ok()?), end)
        }
    };
    let doc = match bytes.get(json_at)? {
        0 => KeptDoc::Json(bytes.get(json_at + 1..)?),
        _ => {
            let rest = bytes.get(json_at + 1..)?;
            if rest.len() != 20 {
                return None;
            }
            KeptDoc::Line {
                offset: u64::from_le_bytes(rest[..8].try_into().ok()?),
                len: u32::from_le_bytes(rest[8..12].try_into().ok()?),
                hash: u64::from_le_bytes(rest[12..20].try_into().ok()?),
            }
        }
    };
    Some(KeptRecord {
        index,
        file,
        locator,
        id,
        doc,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct BlobRef {
    block: u32,
    offset: u32,
    len: u32,
}

/// Kept documents, appended to blocks of about [`BLOCK`] bytes that are
/// compressed (zstd) as they fill: JSON events compress about tenfold in
/// blocks, against twofold one by one.
#[derive(Default)]
struct Blobs {
    sealed: Vec<Box<[u8]>>,
    open: Vec<u8>,
    /// Uncompressed bytes put in, and compressed bytes held.
    raw_bytes: usize,
    held_bytes: usize,
}

const BLOCK: usize = 256 << 10;

impl Blobs {
    fn put(&mut self, json: &[u8]) -> BlobRef {
        if !self.open.is_empty() && self.open.len() + json.len() > BLOCK {
            self.seal();
        }
        let at = BlobRef {
            block: self.sealed.len() as u32,
            offset: self.open.len() as u32,
            len: json.len() as u32,
        };
        self.open.extend_from_slice(json);
        self.raw_bytes += json.len();
        at
    }

    fn seal(&mut self) {
        let block = std::mem::take(&mut self.open);
        // compressing a buffer in memory fails only on allocation failure;
        // keep the block uncompressed then (marked by a leading byte)
        let packed = match zstd::bulk::compress(&block, 1) {
            Ok(mut z) => {
                z.insert(0, 1);
                z
            }
            Err(_) => {
                let mut b = block;
                b.insert(0, 0);
                b
            }
        };
        self.held_bytes += packed.len();
        self.sealed.push(packed.into_boxed_slice());
    }

    /// The document at `at`. `cache` holds the last block decompressed
    /// (results of one rule mostly come in input order).
    fn get<'a>(&'a self, at: BlobRef, cache: &'a mut Option<(u32, Vec<u8>)>) -> Option<&'a [u8]> {
        let range = at.offset as usize..(at.offset + at.len) as usize;
        let Some(packed) = self.sealed.get(at.block as usize) else {
            return self.open.get(range);
        };
        if cache.as_ref().is_none_or(|(b, _)| *b != at.block) {
            let plain = match packed.split_first() {
                Some((1, z)) => {
                    zstd::bulk::decompress(z, BLOCK.max(at.offset as usize + at.len as usize))
                        .ok()?
                }
                Some((_, b)) => b.to_vec(),
                None => return None,
            };
            *cache = Some((at.block, plain));
        }
        cache.as_ref()?.1.get(range)
    }
}

/// What one event means to the rules (see the module documentation).
#[derive(Debug, Default)]
pub struct Hits {
    pub(crate) hits: Vec<Hit>,
    /// The event, when some hit may put it into an alert.
    pub(crate) stored: Option<Stored>,
    pub(crate) candidates: u32,
    pub(crate) excepted: u32,
}

impl Hits {
    /// Does no rule use the event?
    pub fn is_empty(&self) -> bool {
        self.hits.is_empty() && self.candidates == 0
    }

    /// Positions of the rules that use the event, ascending.
    pub fn rules(&self) -> impl Iterator<Item = usize> + '_ {
        self.hits.iter().map(|h| h.rule as usize)
    }

    pub(crate) fn store(&mut self, e: &Event, at: Option<LineAt<'_>>) {
        self.stored = Some(Stored::of(e, at));
    }

    /// Keeps a record mapped in place as its document's JSON text (see
    /// [`Engine::hits_record`]).
    pub(crate) fn store_record(&mut self, record: &FlatRecord<'_>) {
        self.stored = Some(Stored {
            doc: StoredDoc::Json(record.json()),
            index: record.index.clone(),
            id: None,
            origin: record.origin(),
        });
    }

    /// Keeps a line read into slots as its place (see [`Engine::hits_flat`]).
    pub(crate) fn store_line(&mut self, line: &FlatLine<'_>) {
        self.stored = Some(Stored {
            doc: StoredDoc::line(line.at),
            index: line.index.clone(),
            id: None,
            origin: line.origin(),
        });
    }
}

/// One rule's view of one event.
#[derive(Debug)]
pub(crate) struct Hit {
    pub rule: u32,
    pub ts: Option<i128>,
    pub tiebreaker: Option<Val<'static>>,
    /// Bit `i`: the event matches the rule's filter `i` (stages, then `until`).
    pub mask: u64,
    /// (filter, key tuple) for each matched filter with keys.
    pub keys: Vec<(u8, Vec<KeyVal>)>,
}

const NO_KEYS: u32 = u32::MAX;
/// [`Fact::ts`] of an event without a time (event and sample queries order
/// such events last).
const NO_TIME: i64 = i64::MAX;
/// [`Fact::ts`] of a time outside 1677–2262 (a zeroed FILETIME is 1601).
const WIDE: i64 = i64::MIN;
const SAME_KEY: u32 = 1 << 31;

/// Interned values, each stored once, numbered in order of first sight.
#[derive(Debug)]
struct Interner<T: std::hash::Hash + Eq> {
    set: indexmap::IndexSet<T, ahash::RandomState>,
}

impl<T: std::hash::Hash + Eq> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            set: indexmap::IndexSet::default(),
        }
    }
}

impl<T: std::hash::Hash + Eq + Clone> Interner<T> {
    /// The id of `v`. A new value is stored as a copy made on this thread:
    /// `v` was built on a reader thread, and keeping it would pin that
    /// thread's allocator pages (mostly freed temporaries) for the whole run.
    fn id(&mut self, v: T) -> u32 {
        match self.set.get_index_of(&v) {
            Some(i) => i as u32,
            None => self.set.insert_full(v.clone()).0 as u32,
        }
    }

    fn get(&self, id: u32) -> Option<&T> {
        self.set.get_index(id as usize)
    }
}

#[derive(Debug, Default)]
struct RuleFacts {
    facts: FactStore,
    /// Times that do not fit a [`Fact`], by event number.
    wide: HashMap<u64, i128>,
    /// Tiebreaker values by event number (rules that set one).
    tiebreakers: HashMap<u64, Val<'static>>,
    /// Events of an event rule's kept facts, in the same order.
    events: Vec<BlobRef>,
    /// An event rule without tiebreaker that has trimmed its facts: events
    /// at or after this time can no longer be among its first results.
    cutoff: Option<i128>,
}

/// Sizes of what a [`Collector`] keeps.
#[derive(Clone, Debug, Default)]
pub struct CollectStats {
    /// (rule, event) facts over all rules, and the bytes they take.
    pub facts: usize,
    pub fact_bytes: usize,
    /// Distinct join-key tuples, and distinct lists of them.
    pub tuples: usize,
    pub key_lists: usize,
    /// Bytes the tuples take.
    pub tuple_bytes: usize,
    /// Documents kept for alerts (an event kept by several event rules counts once per rule).
    pub documents: usize,
    /// Their JSON bytes, and the bytes held for them (compressed).
    pub document_bytes: usize,
    pub held_bytes: usize,
    /// The rules with the most facts: (rule position, facts), largest first, at most five.
    pub largest: Vec<(usize, usize)>,
}

impl RuleFacts {
    fn add(&mut self, ts: i128, event: u64, mask: u32, keys: u32) {
        let short = match i64::try_from(ts) {
            Ok(t) if t != NO_TIME && t != WIDE => t,
            _ if ts == i128::MAX => NO_TIME,
            _ => {
                self.wide.insert(event, ts);
                WIDE
            }
        };
        self.facts.push(Fact {
            ts: short,
            event,
            mask,
            keys,
        });
    }

    /// A fact's time, `i128::MAX` when its event has none.
    fn time(&self, f: &Fact) -> i128 {
        match f.ts {
            NO_TIME => i128::MAX,
            WIDE => self.wide.get(&f.event).copied().unwrap_or(i128::MAX),
            t => i128::from(t),
        }
    }
}

/// Keeps the facts of a hunt as events are read; see the module documentation.
pub struct Collector<'e> {
    engine: &'e Engine,
    rules: Vec<RuleFacts>,
    tuples: TupleSet,
    key_lists: Interner<Vec<(u8, u32)>>,
    /// Events matching a positive sequence stage, by event number,
    /// ascending (events arrive in order).
    stored: Vec<(u64, BlobRef)>,
    /// Index and file names of kept events.
    names: Interner<Arc<str>>,
    blobs: Blobs,
    /// Where [`write_kept`] writes an event before it goes into the blobs.
    scratch: Vec<u8>,
    next_event: u64,
    candidates: u64,
    excepted: u64,
}

impl<'e> Collector<'e> {
    pub fn new(engine: &'e Engine) -> Collector<'e> {
        Collector {
            engine,
            rules: (0..engine.rules.len())
                .map(|_| RuleFacts::default())
                .collect(),
            tuples: TupleSet::default(),
            key_lists: Interner::default(),
            stored: Vec::new(),
            names: Interner::default(),
            blobs: Blobs::default(),
            scratch: Vec::new(),
            next_event: 0,
            candidates: 0,
            excepted: 0,
        }
    }

    /// Takes the facts of the next event (in input order).
    pub fn push(&mut self, hits: Hits) {
        let n = self.next_event;
        self.next_event += 1;
        self.candidates += u64::from(hits.candidates);
        self.excepted += u64::from(hits.excepted);
        let mut pending = hits.stored;
        let mut kept: Option<BlobRef> = None;
        let blobs = &mut self.blobs;
        let names = &mut self.names;
        let scratch = &mut self.scratch;
        // the document goes into the store the first time a rule needs it
        let mut keep = || -> Option<BlobRef> {
            if kept.is_none() {
                let s = pending.take()?;
                let index = names.id(s.index.clone());
                let file = names.id(s.origin.file.clone());
                scratch.clear();
                write_kept(&s, index, file, scratch);
                kept = Some(blobs.put(scratch));
            }
            kept
        };
        for h in hits.hits {
            let r = h.rule as usize;
            let Some(cr) = self.engine.rules.get(r) else {
                continue;
            };
            let is_event = matches!(cr.plan.kind, PlanKind::Event(_));
            let is_sequence = matches!(cr.plan.kind, PlanKind::Sequence { .. });
            // sequences need a time; samples and event queries order without one
            let ts = match h.ts {
                Some(t) => t,
                None if is_sequence => continue,
                None => i128::MAX,
            };
            let keys = if h.keys.is_empty() {
                NO_KEYS
            } else {
                let mut list: Vec<(u8, u32)> = h
                    .keys
                    .into_iter()
                    .map(|(f, t)| (f, self.tuples.id(&t)))
                    .collect();
                list.sort_unstable();
                // the common shape: one tuple, the same for every matched filter
                let first = list[0].1;
                let filters = list.iter().map(|&(f, _)| 1u64 << f).fold(0, |a, b| a | b);
                let one = list.iter().all(|&(_, t)| t == first)
                    && filters == h.mask
                    && list.len() == h.mask.count_ones() as usize;
                if one && first < SAME_KEY {
                    first | SAME_KEY
                } else {
                    self.key_lists.id(list)
                }
            };
            let rf = &mut self.rules[r];
            if is_event && rf.cutoff.is_some_and(|c| ts >= c) {
                continue;
            }
            if let Some(tb) = h.tiebreaker {
                rf.tiebreakers.insert(n, tb);
            }
            rf.add(ts, n, h.mask as u32, keys);
            if is_event {
                if let Some(k) = keep() {
                    rf.events.push(k);
                }
                if cr.plan.pipes.is_empty() {
                    trim_event_rule(
                        rf,
                        cr.rule.max_signals.max(1) as usize,
                        cr.tiebreaker.is_none(),
                    );
                }
            } else if h.mask & cr.positive != 0 && self.stored.last().is_none_or(|l| l.0 != n) {
                if let Some(k) = keep() {
                    self.stored.push((n, k));
                }
            }
        }
    }

    /// The kept event at `at`. Its record was written by [`write_kept`]; a
    /// JSON document parses (it was written from one), a line is read again
    /// from its file. A line that cannot be (the file is gone or changed)
    /// gives an empty document and a warning in `cache`. An event kept as
    /// JSON without an id of its own is given the id alerts derive for it
    /// ([`derived_event_id`], here from the text it was kept as, which is
    /// what `serde_json` writes for the parsed document).
    fn event_at(&self, at: BlobRef, cache: &mut ReadCache) -> Event {
        let name = |i: u32| self.names.get(i).cloned().unwrap_or_else(|| Arc::from(""));
        let Some((index, file_id, locator, id, doc)) = self
            .blobs
            .get(at, &mut cache.block)
            .and_then(read_kept)
            .map(|k| {
                let mut id = k.id.map(Arc::from);
                let doc = match k.doc {
                    KeptDoc::Json(json) => {
                        match serde_json::from_slice::<Map<String, Value>>(json) {
                            Ok(source) => {
                                if id.is_none() {
                                    let derived = derived_event_id(&name(k.index), json);
                                    id = Some(Arc::from(derived));
                                }
                                Ok(source)
                            }
                            Err(_) => Ok(Map::new()),
                        }
                    }
                    KeptDoc::Line { offset, len, hash } => Err((offset, len, hash)),
                };
                (k.index, k.file, k.locator, id, doc)
            })
        else {
            return Event {
                source: Map::new(),
                index: Arc::from(""),
                id: None,
                origin: Origin {
                    file: Arc::from(""),
                    locator: Locator::Line(0),
                },
            };
        };
        let file = name(file_id);
        let source = match doc {
            Ok(source) => source,
            Err((offset, len, hash)) => match cache.reread(file_id, &file, offset, len, hash) {
                Ok(source) => source,
                Err(e) => {
                    cache.warnings.push(e);
                    Map::new()
                }
            },
        };
        Event {
            source,
            index: name(index),
            id,
            origin: Origin { file, locator },
        }
    }

    /// What is kept so far, for `HARRIER_STATS` and benchmarks.
    pub fn stats(&self) -> CollectStats {
        CollectStats {
            facts: self.rules.iter().map(|r| r.facts.len()).sum(),
            fact_bytes: self.rules.iter().map(|r| r.facts.held_bytes()).sum(),
            tuples: self.tuples.len(),
            tuple_bytes: self.tuples.held_bytes(),
            key_lists: self.key_lists.set.len(),
            documents: self.stored.len() + self.rules.iter().map(|r| r.events.len()).sum::<usize>(),
            document_bytes: self.blobs.raw_bytes,
            held_bytes: self.blobs.held_bytes + self.blobs.open.len(),
            largest: {
                let mut by_size: Vec<(usize, usize)> = self
                    .rules
                    .iter()
                    .enumerate()
                    .map(|(r, f)| (r, f.facts.len()))
                    .filter(|&(_, n)| n > 0)
                    .collect();
                by_size.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                by_size.truncate(5);
                by_size
            },
        }
    }

    /// Runs every rule over its facts and builds the alerts. `progress` is
    /// called with the number of rules finished so far (from worker threads).
    pub fn finish(mut self, progress: &(dyn Fn(usize) + Sync)) -> RunOutput {
        /// Facts from which running a rule takes enough memory (tens of
        /// bytes a fact while it runs) that two such rules should not run
        /// at once.
        const LARGE_RULE_FACTS: usize = 100_000;
        let engine = self.engine;
        // each rule's facts are freed as soon as the rule has run
        let pending: Vec<Mutex<RuleFacts>> = std::mem::take(&mut self.rules)
            .into_iter()
            .map(Mutex::new)
            .collect();
        let threads = match engine.options.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
        .clamp(1, engine.rules.len().max(1));
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        // running a rule takes memory in proportion to its facts: rules with
        // many run one at a time, so that the peak is one of them at most
        let large = Mutex::new(());
        let this = &self;
        let chunks: Vec<Vec<(usize, RuleResult)>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let r = next.fetch_add(1, AtomicOrdering::Relaxed);
                            if r >= engine.rules.len() {
                                break;
                            }
                            let rf = pending.get(r).map(|m| match m.lock() {
                                Ok(mut g) => std::mem::take(&mut *g),
                                Err(p) => std::mem::take(&mut *p.into_inner()),
                            });
                            let rf = rf.unwrap_or_default();
                            let _one_large = (rf.facts.len() >= LARGE_RULE_FACTS)
                                .then(|| large.lock().unwrap_or_else(|p| p.into_inner()));
                            mine.push((r, this.run_rule(r, rf)));
                            progress(done.fetch_add(1, AtomicOrdering::Relaxed) + 1);
                        }
                        mine
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        let mut results: Vec<Option<RuleResult>> = Vec::new();
        results.resize_with(engine.rules.len(), || None);
        for chunk in chunks {
            for (r, res) in chunk {
                results[r] = Some(res);
            }
        }
        let mut out = RunOutput {
            candidates: self.candidates,
            excepted: self.excepted,
            ..RunOutput::default()
        };
        let mut found = Vec::new();
        for (r, res) in results.into_iter().enumerate() {
            let Some(res) = res else { continue };
            if res.skipped {
                out.rules_skipped += 1;
            }
            if res.at_max {
                out.rules_at_max_signals.push(r);
            }
            found.extend(res.detections);
        }
        let (detections, warnings) = self.read_detections(found);
        out.detections = detections;
        out.warnings = warnings;
        out
    }

    /// The detections, each with its events read back. Every event is read
    /// once, in the order it is kept (so each compressed block is unpacked
    /// once, or once a core, and lines are read again in file order), and
    /// handed to the detections that name it.
    fn read_detections(&self, found: Vec<Found>) -> (Vec<Detection>, Vec<String>) {
        let mut wanted: Vec<BlobRef> = found
            .iter()
            .flat_map(|f| f.events.iter().copied())
            .collect();
        wanted.sort_unstable();
        // each event kept once, with how many detections take it
        let mut refs: Vec<(BlobRef, usize)> = Vec::new();
        for at in wanted {
            match refs.last_mut() {
                Some((last, n)) if *last == at => *n += 1,
                _ => refs.push((at, 1)),
            }
        }
        // on every core, each reading a run of the kept events
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, refs.len().max(1));
        let per = refs.len().div_ceil(threads).max(1);
        let parts: Vec<(Vec<Option<Event>>, Vec<String>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (refs.chunks(per))
                .map(|part| {
                    s.spawn(move || {
                        let mut cache = ReadCache::default();
                        let events = (part.iter())
                            .map(|&(at, _)| Some(self.event_at(at, &mut cache)))
                            .collect();
                        (events, cache.warnings)
                    })
                })
                .collect();
            (handles.into_iter())
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let mut pool: Vec<Option<Event>> = Vec::with_capacity(refs.len());
        let mut warnings = Vec::new();
        for (events, w) in parts {
            pool.extend(events);
            warnings.extend(w);
        }
        let mut take = |at: &BlobRef| {
            let i = refs.binary_search_by_key(at, |&(a, _)| a).ok()?;
            let left = &mut refs.get_mut(i)?.1;
            *left -= 1;
            let slot = pool.get_mut(i)?;
            if *left == 0 {
                slot.take()
            } else {
                slot.clone()
            }
        };
        let mut detections = Vec::with_capacity(found.len());
        for f in found {
            let events: Vec<Event> = f.events.iter().filter_map(&mut take).collect();
            let Some(first) = events.first() else {
                continue;
            };
            let rule = &self.engine.rules[f.rule].rule;
            let severity = match f.sequence {
                true => rule.severity,
                false => alert_severity(rule, first),
            };
            detections.push(Detection {
                rule: f.rule,
                events,
                sequence: f.sequence,
                severity,
                first_time: f.first_time,
                last_time: f.last_time,
            });
        }
        (detections, warnings)
    }

    fn run_rule(&self, r: usize, rf: RuleFacts) -> RuleResult {
        let engine = self.engine;
        let cr = &engine.rules[r];
        let mut res = RuleResult::default();
        // a sequence or sample needs an event for each of its positive
        // stages: when some stage matched nothing, there is nothing to run
        let all_stages = match cr.plan.kind {
            PlanKind::Event(_) => true,
            _ => u64::from(rf.facts.masks()) & cr.positive == cr.positive,
        };
        if rf.facts.is_empty() || !all_stages {
            res.skipped = true;
            return res;
        }
        let facts = rf.facts.to_vec();
        let rf = &rf;
        let view = RuleView {
            rf,
            facts: &facts,
            col: self,
        };
        let max = cr.rule.max_signals.max(1) as usize;
        let limits = Limits {
            size: Some(max),
            max_samples_per_key: 1,
        };
        let time_of = |k: usize| facts.get(k).map(|f| rf.time(f)).filter(|&t| t != i128::MAX);
        match exec::run_facts(&cr.plan, &view, &limits) {
            Output::Events(ids) => {
                res.at_max = ids.len() >= max;
                for k in ids {
                    let Some(stored) = rf.events.get(k) else {
                        continue;
                    };
                    res.detections.push(Found {
                        rule: r,
                        sequence: false,
                        events: vec![*stored],
                        first_time: time_of(k),
                        last_time: time_of(k),
                    });
                }
            }
            Output::Sequences(seqs) => {
                res.at_max = seqs.len() >= max;
                for m in seqs {
                    let ks: Vec<usize> = m.events.iter().flatten().copied().collect();
                    let events: Vec<BlobRef> = ks
                        .iter()
                        .filter_map(|&k| facts.get(k))
                        .filter_map(|f| {
                            let at = self.stored.binary_search_by_key(&f.event, |s| s.0).ok()?;
                            self.stored.get(at)
                        })
                        .map(|&(_, at)| at)
                        .collect();
                    if events.is_empty() {
                        continue;
                    }
                    res.detections.push(Found {
                        rule: r,
                        first_time: ks.first().and_then(|&k| time_of(k)),
                        last_time: ks.last().and_then(|&k| time_of(k)),
                        events,
                        sequence: true,
                    });
                }
            }
        }
        res
    }
}

/// What reading kept events back keeps between events: the last block
/// decompressed (a rule's results mostly come in input order), the last file
/// opened to read lines again, and what could not be read.
#[derive(Default)]
struct ReadCache {
    block: Option<(u32, Vec<u8>)>,
    file: Option<(u32, std::fs::File)>,
    warnings: Vec<String>,
}

impl ReadCache {
    fn reread(
        &mut self,
        id: u32,
        name: &Arc<str>,
        offset: u64,
        len: u32,
        hash: u64,
    ) -> Result<Map<String, Value>, String> {
        if self.file.as_ref().is_none_or(|(f, _)| *f != id) {
            let f = std::fs::File::open(&**name)
                .map_err(|e| format!("{name}: cannot open again to read an alert's event: {e}"))?;
            self.file = Some((id, f));
        }
        let Some((_, f)) = self.file.as_mut() else {
            return Err(format!("{name}: not open"));
        };
        harrier_sources::read_line_event(f, name, offset, len, hash).map(|e| e.source)
    }
}

/// Keeps an event rule's facts to its `max` earliest once they reach twice
/// that: the query returns the first `max` events in time order, and a later
/// event can never displace an earlier one.
fn trim_event_rule(rf: &mut RuleFacts, max: usize, by_time_only: bool) {
    if rf.facts.len() < 2 * max.max(512) {
        return;
    }
    let all = rf.facts.to_vec();
    let mut order: Vec<usize> = (0..all.len()).collect();
    let key = |i: usize| {
        let f = all.get(i).copied().unwrap_or(Fact {
            ts: NO_TIME,
            event: u64::MAX,
            mask: 0,
            keys: NO_KEYS,
        });
        (rf.time(&f), rf.tiebreakers.get(&f.event), f.event)
    };
    order.sort_by(|&a, &b| {
        let (ta, ba, ea) = key(a);
        let (tb, bb, eb) = key(b);
        ta.cmp(&tb)
            .then_with(|| match (ba, bb) {
                (Some(x), Some(y)) => harrier_eql::eval::cmp_vals(x, y).unwrap_or(Ordering::Equal),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
            .then(ea.cmp(&eb))
    });
    order.truncate(max);
    order.sort_unstable();
    let facts: Vec<Fact> = order.iter().filter_map(|&i| all.get(i).copied()).collect();
    if by_time_only {
        rf.cutoff = facts.iter().map(|f| rf.time(f)).max();
    }
    let events: Vec<BlobRef> = order
        .iter()
        .filter_map(|&i| rf.events.get(i).cloned())
        .collect();
    let kept: std::collections::HashSet<u64> = facts.iter().map(|f| f.event).collect();
    rf.tiebreakers.retain(|e, _| kept.contains(e));
    rf.wide.retain(|e, _| kept.contains(e));
    rf.facts.replace(facts);
    rf.events = events;
}

#[derive(Default)]
struct RuleResult {
    detections: Vec<Found>,
    skipped: bool,
    at_max: bool,
}

/// A detection whose events are still where the collector keeps them
/// (read back by [`Collector::read_detections`]).
struct Found {
    rule: usize,
    sequence: bool,
    events: Vec<BlobRef>,
    first_time: Option<i128>,
    last_time: Option<i128>,
}

/// One rule's facts as the executor reads them.
struct RuleView<'a, 'e> {
    rf: &'a RuleFacts,
    /// `rf`'s facts, decoded.
    facts: &'a [Fact],
    col: &'a Collector<'e>,
}

impl Facts for RuleView<'_, '_> {
    type Key = u32;

    fn len(&self) -> usize {
        self.facts.len()
    }

    fn time(&self, i: usize) -> Option<i128> {
        self.facts.get(i).map(|f| self.rf.time(f))
    }

    fn tiebreaker(&self, i: usize) -> Option<Val<'static>> {
        let f = self.facts.get(i)?;
        self.rf.tiebreakers.get(&f.event).cloned()
    }

    fn matches(&self, i: usize, stage: usize) -> bool {
        stage < 32
            && self
                .facts
                .get(i)
                .is_some_and(|f| f.mask & (1 << stage) != 0)
    }

    fn keys(&self, i: usize, stage: usize) -> Vec<u32> {
        let Some(f) = self.facts.get(i) else {
            return Vec::new();
        };
        if f.keys == NO_KEYS {
            return Vec::new();
        }
        if f.keys & SAME_KEY != 0 {
            return if self.matches(i, stage) {
                vec![f.keys & !SAME_KEY]
            } else {
                Vec::new()
            };
        }
        self.col
            .key_lists
            .get(f.keys)
            .map(|list| {
                list.iter()
                    .filter(|(s, _)| *s as usize == stage)
                    .map(|&(_, t)| t)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn cmp_keys(&self, a: &u32, b: &u32) -> Ordering {
        self.col.tuples.get(*a).cmp(&self.col.tuples.get(*b))
    }

    fn key_values(&self, k: &u32) -> Vec<KeyVal> {
        self.col.tuples.get(*k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_give_back_every_document_across_sealed_blocks() {
        let mut blobs = Blobs::default();
        let docs: Vec<Vec<u8>> = (0..6000)
            .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(i % 300)).into_bytes())
            .collect();
        let refs: Vec<BlobRef> = docs.iter().map(|d| blobs.put(d)).collect();
        assert!(
            blobs.sealed.len() > 1,
            "the test must cross block boundaries"
        );
        assert!(blobs.held_bytes < blobs.raw_bytes / 4);
        let mut cache = None;
        for (d, r) in docs.iter().zip(&refs) {
            assert_eq!(blobs.get(*r, &mut cache), Some(&d[..]));
        }
        // a document larger than a block is kept whole
        let big = vec![b'a'; BLOCK * 2];
        let r = blobs.put(&big);
        blobs.put(b"{}");
        assert_eq!(blobs.get(r, &mut None), Some(&big[..]));
    }

    #[test]
    fn kept_events_read_back_as_written() {
        let json = br#"{"a":{"b":[1,"x"]}}"#;
        let cases = [
            (Locator::Line(7), None, StoredDoc::Json(json.to_vec())),
            (
                Locator::Record(u64::MAX),
                Some("évent-1"),
                StoredDoc::Json(json.to_vec()),
            ),
            (
                Locator::Element(0),
                Some(""),
                StoredDoc::Line {
                    offset: u64::MAX - 5,
                    len: 0,
                    hash: 1,
                },
            ),
            (
                Locator::Line(3),
                None,
                StoredDoc::Line {
                    offset: 17,
                    len: u32::MAX,
                    hash: u64::MAX,
                },
            ),
        ];
        for (locator, id, doc) in cases {
            let stored = Stored {
                doc: doc.clone(),
                index: Arc::from("logs-x"),
                id: id.map(Arc::from),
                origin: Origin {
                    file: Arc::from("f.ndjson"),
                    locator,
                },
            };
            let mut bytes = Vec::new();
            write_kept(&stored, 3, u32::MAX - 1, &mut bytes);
            let (kept, doc_bytes) = match &doc {
                StoredDoc::Json(j) => (KeptDoc::Json(&j[..]), j.len()),
                &StoredDoc::Line { offset, len, hash } => (KeptDoc::Line { offset, len, hash }, 20),
            };
            assert_eq!(
                read_kept(&bytes),
                Some(KeptRecord {
                    index: 3,
                    file: u32::MAX - 1,
                    locator,
                    id,
                    doc: kept,
                })
            );
            // without the tag byte and the document, or with a line cut short
            assert_eq!(read_kept(&bytes[..bytes.len() - doc_bytes - 1]), None);
            if matches!(doc, StoredDoc::Line { .. }) {
                assert_eq!(read_kept(&bytes[..bytes.len() - 1]), None);
            }
        }
    }

    #[test]
    fn facts_keep_every_time_exactly() {
        assert_eq!(std::mem::size_of::<Fact>(), 24);
        let times = [
            i128::MAX,                   // no time
            -11_644_473_600_000_000_000, // 1601-01-01, a zeroed FILETIME
            1_700_000_000_123_456_789,
            i128::from(i64::MAX), // the sentinels' values as real times
            i128::from(i64::MIN),
            0,
            253_402_300_799_999_999_999, // 9999-12-31T23:59:59.999999999
        ];
        let mut rf = RuleFacts::default();
        for (n, &t) in times.iter().enumerate() {
            rf.add(t, n as u64, 1, NO_KEYS);
        }
        let back: Vec<i128> = rf.facts.to_vec().iter().map(|f| rf.time(f)).collect();
        assert_eq!(back, times);
        assert_eq!(
            rf.wide.len(),
            4,
            "only times outside i64 and the sentinels' values"
        );
    }
}
