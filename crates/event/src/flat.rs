//! Flat views of documents: every value of the fields a rule set reads,
//! found in one walk of the document and then looked up by array index.
//!
//! [`crate::visit`] resolves a path against a document each time it is asked:
//! it hashes every segment (and every run of segments, since `{"a.b": 1}` and
//! `{"a": {"b": 1}}` are the same field) at every level. With a thousand rules
//! reading a few dozen fields each, that look-up is most of the cost of
//! matching an event. A [`FieldIndex`] names the fields the rules read and
//! gives each a slot; [`FlatView::new`] walks the document once, following
//! only keys on the way to some named field, and records each value under its
//! field's slot. A later look-up of a named path is an index into a table and
//! a binary search over a few dozen entries; a path the index does not name
//! falls back to the full walk, so answers never change, only their cost.
//!
//! The flattening follows Elasticsearch's reading of `_source` exactly as
//! [`crate::visit`] does: nested objects and dotted keys are the same field,
//! arrays (of values and of objects) are transparent, `null` values are kept,
//! and an object is never a value of the path that ends at it.

use crate::path::FieldPath;
use ahash::AHashMap;
use serde_json::{Map, Value};
use std::sync::{OnceLock, RwLock};

/// One scalar value of a document, as a reader can give it: a built JSON
/// value, or a string read straight from the document's text (no escapes
/// to undo, so nothing to allocate). The two mean the same: `Str(s)` is
/// `Json(&Value::String(s))`, and they compare equal.
#[derive(Clone, Copy, Debug)]
pub enum Scalar<'a> {
    Json(&'a Value),
    Str(&'a str),
}

impl<'a> Scalar<'a> {
    /// The string, for a string value.
    pub fn as_str(self) -> Option<&'a str> {
        match self {
            Scalar::Str(s) => Some(s),
            Scalar::Json(v) => v.as_str(),
        }
    }

    pub fn is_null(self) -> bool {
        matches!(self, Scalar::Json(Value::Null))
    }

    /// The value, built.
    pub fn to_value(self) -> Value {
        match self {
            Scalar::Str(s) => Value::String(s.to_owned()),
            Scalar::Json(v) => v.clone(),
        }
    }
}

impl PartialEq for Scalar<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self.as_str(), other.as_str(), self, other) {
            (Some(a), Some(b), _, _) => a == b,
            (None, None, Scalar::Json(a), Scalar::Json(b)) => a == b,
            _ => false,
        }
    }
}

/// Anything field paths can be looked up in.
pub trait Document {
    /// Calls `f` with every value at `path` (arrays flattened, `null` kept,
    /// objects left out: an object is not a value of the field that names
    /// it), stopping early when `f` returns `true`. Returns whether it
    /// stopped early.
    fn visit<'a>(&'a self, path: &FieldPath, f: &mut dyn FnMut(&'a Value) -> bool) -> bool;

    /// [`Document::visit`], where a string may come as its text
    /// ([`Scalar::Str`]) if the document holds it so: the form evaluation
    /// reads, which then builds no string values.
    fn visit_scalars<'a>(
        &'a self,
        path: &FieldPath,
        f: &mut dyn FnMut(Scalar<'a>) -> bool,
    ) -> bool {
        self.visit(path, &mut |v| f(Scalar::Json(v)))
    }
}

/// A [`Document`] that holds the values of a [`FieldIndex`]'s fields by slot.
pub trait SlotValues: Document {
    /// Calls `f` with every (slot, value) held, ordered by slot.
    fn each_slot_value<'s>(&'s self, f: &mut dyn FnMut(u16, &'s Value));

    /// [`SlotValues::each_slot_value`] for the slots `want` accepts (asked
    /// once per value), strings possibly as their text (see
    /// [`Document::visit_scalars`]): a document that builds values when they
    /// are read builds none here.
    fn each_wanted_slot_value<'s>(
        &'s self,
        want: &dyn Fn(u16) -> bool,
        f: &mut dyn FnMut(u16, Scalar<'s>),
    ) {
        self.each_slot_value(&mut |slot, v| {
            if want(slot) {
                f(slot, Scalar::Json(v))
            }
        });
    }
}

impl<D: Document + ?Sized> Document for &D {
    fn visit<'a>(&'a self, path: &FieldPath, f: &mut dyn FnMut(&'a Value) -> bool) -> bool {
        (**self).visit(path, f)
    }

    fn visit_scalars<'a>(
        &'a self,
        path: &FieldPath,
        f: &mut dyn FnMut(Scalar<'a>) -> bool,
    ) -> bool {
        (**self).visit_scalars(path, f)
    }
}

impl Document for Map<String, Value> {
    fn visit<'a>(&'a self, path: &FieldPath, f: &mut dyn FnMut(&'a Value) -> bool) -> bool {
        leaves(self, path, f)
    }
}

/// [`crate::visit`] without objects.
pub(crate) fn leaves<'a>(
    doc: &'a Map<String, Value>,
    path: &FieldPath,
    f: &mut dyn FnMut(&'a Value) -> bool,
) -> bool {
    crate::path::visit(doc, path, &mut |v| !v.is_object() && f(v))
}

fn interner() -> &'static RwLock<AHashMap<Box<str>, u32>> {
    static IDS: OnceLock<RwLock<AHashMap<Box<str>, u32>>> = OnceLock::new();
    IDS.get_or_init(|| RwLock::new(AHashMap::new()))
}

/// The process-wide id of a field path's text: equal texts, equal ids; ids are
/// dense, from 0.
pub fn intern(text: &str) -> u32 {
    if let Ok(ids) = interner().read() {
        if let Some(&id) = ids.get(text) {
            return id;
        }
    }
    let mut ids = match interner().write() {
        Ok(ids) => ids,
        Err(poisoned) => poisoned.into_inner(),
    };
    let next = ids.len() as u32;
    *ids.entry(text.into()).or_insert(next)
}

const NONE: u16 = u16::MAX;

/// Keys of a [`Node`]. They are looked up for every key of every document
/// read, and a general-purpose map spends most of such a look-up hashing the
/// whole key; here a key is placed by its length and its first and last
/// eight bytes (a few loads and a multiply) in an open-addressing table at
/// most half full, and the key found there is compared whole. Built once
/// ([`Children::seal`]) after the index's paths are in.
#[derive(Debug, Default)]
struct Children {
    keys: Vec<(Box<str>, Node)>,
    /// A power of two long; 1 + a position in `keys`, or 0 where empty.
    table: Box<[u32]>,
}

impl Children {
    /// The child named `key`, added if new (while the index is built).
    fn entry(&mut self, key: &str) -> &mut Node {
        let at = match self.keys.iter().position(|(k, _)| &**k == key) {
            Some(i) => i,
            None => {
                self.keys.push((key.into(), Node::default()));
                self.keys.len() - 1
            }
        };
        &mut self.keys[at].1
    }

    /// Builds the look-up table over the keys added.
    fn seal(&mut self) {
        let size = (2 * self.keys.len()).next_power_of_two().max(4);
        let mut table = vec![0u32; size];
        for (i, (k, _)) in self.keys.iter().enumerate() {
            let mut at = key_hash(k.as_bytes()) & (size - 1);
            while table[at] != 0 {
                at = (at + 1) & (size - 1);
            }
            table[at] = i as u32 + 1;
        }
        self.table = table.into();
    }

    fn get(&self, key: &str) -> Option<&Node> {
        let mask = self.table.len().checked_sub(1)?;
        let mut at = key_hash(key.as_bytes()) & mask;
        loop {
            // the table has empty places (at most half full), so this ends
            let i = *self.table.get(at)?;
            let (k, node) = self.keys.get(i.checked_sub(1)? as usize)?;
            if k.as_bytes() == key.as_bytes() {
                return Some(node);
            }
            at = (at + 1) & mask;
        }
    }

    fn values_mut(&mut self) -> impl Iterator<Item = &mut Node> {
        self.keys.iter_mut().map(|(_, n)| n)
    }
}

/// Where a key goes in a [`Children`] table: its length and its first and
/// last (up to) eight bytes, mixed by a multiply whose high bits are kept.
fn key_hash(b: &[u8]) -> usize {
    let n = b.len();
    let word = |at: usize, len: usize| -> u64 {
        let mut w = [0u8; 8];
        if let (Some(dst), Some(src)) = (w.get_mut(..len), b.get(at..at + len)) {
            dst.copy_from_slice(src);
        }
        u64::from_le_bytes(w)
    };
    let (first, last) = match n {
        8.. => (word(0, 8), word(n - 8, 8)),
        4..=7 => (word(0, 4), word(n - 4, 4)),
        _ => (word(0, n), 0),
    };
    let h = (first ^ last.rotate_left(31) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> 40) as usize
}

#[derive(Debug, Default)]
pub(crate) struct Node {
    children: Children,
    pub(crate) slot: Option<u16>,
    /// One bit of 64, spread over the tree's nodes: a reader meeting keys
    /// of one object can tell most keys it has not met yet by their bits
    /// alone (see `flatdoc::begin_key`).
    pub(crate) bit: u64,
}

impl Node {
    /// Gives this node and those under it their bits, in turn, and seals
    /// their key tables.
    fn finish(&mut self, next: &mut u32) {
        self.bit = 1 << (*next % 64);
        *next += 1;
        self.children.seal();
        for child in self.children.values_mut() {
            child.finish(next);
        }
    }

    /// Follows a key, which may itself contain dots, from this node.
    pub(crate) fn step(&self, key: &str) -> Option<&Node> {
        // a child's name has no dot: most keys are found or not on the first look
        if let Some(n) = self.children.get(key) {
            return Some(n);
        }
        if !key.contains('.') {
            return None;
        }
        let mut node = self;
        for seg in key.split('.') {
            node = node.children.get(seg)?;
        }
        Some(node)
    }
}

/// A set of field paths, each with a slot (see the module documentation).
#[derive(Debug, Default)]
pub struct FieldIndex {
    pub(crate) root: Node,
    /// Slot of each interned path id; `NONE` for paths not in the set.
    slot_of_id: Vec<u16>,
    len: usize,
}

impl FieldIndex {
    /// The index of the given paths (duplicates ignored; at most 65,534).
    pub fn new<'p>(paths: impl IntoIterator<Item = &'p FieldPath>) -> FieldIndex {
        let mut index = FieldIndex::default();
        for p in paths {
            if index.slot(p).is_some() || index.len >= NONE as usize {
                continue;
            }
            let slot = index.len as u16;
            index.len += 1;
            let mut node = &mut index.root;
            for seg in p.segments() {
                node = node.children.entry(seg);
            }
            node.slot = Some(slot);
            let id = p.id() as usize;
            if index.slot_of_id.len() <= id {
                index.slot_of_id.resize(id + 1, NONE);
            }
            index.slot_of_id[id] = slot;
        }
        let mut next = 0;
        index.root.finish(&mut next);
        index
    }

    /// Number of paths in the index.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The root of the index's tree of keys.
    pub fn root(&self) -> FieldNode<'_> {
        FieldNode(&self.root)
    }

    /// The slot of a path in the index, if the index names it.
    pub fn slot(&self, path: &FieldPath) -> Option<u16> {
        match self.slot_of_id.get(path.id() as usize) {
            Some(&s) if s != NONE => Some(s),
            _ => None,
        }
    }
}

/// A place in a [`FieldIndex`]'s tree of keys. A reader whose documents are
/// trees of its own (not `serde_json` maps) walks them along these to find
/// the values of the index's fields, as [`FlatView`] finds them in a map,
/// and answers look-ups through a [`Collected`].
#[derive(Clone, Copy)]
pub struct FieldNode<'i>(&'i Node);

impl<'i> FieldNode<'i> {
    /// Follows a key (which may itself contain dots, as a map key may).
    pub fn step(self, key: &str) -> Option<FieldNode<'i>> {
        self.0.step(key).map(FieldNode)
    }

    /// Appends the values `value`, found at this place, gives the index's
    /// fields: scalars (array items included) when this place is a field,
    /// and those under it when `value` is an object.
    pub fn collect<'v>(self, value: &'v Value, out: &mut Vec<(u16, &'v Value)>) {
        record(self.0, value, out);
    }
}

/// The values of a [`FieldIndex`]'s fields collected from a document along
/// [`FieldNode`]s, in the document's order, and the document itself (`rest`)
/// for paths the index does not name. Answers as [`FlatView`] does.
pub struct Collected<'a, D> {
    index: &'a FieldIndex,
    /// (slot, value), ordered by slot and, within a slot, by document order.
    entries: Vec<(u16, &'a Value)>,
    rest: D,
}

impl<'a, D: Document> Collected<'a, D> {
    /// `entries` in the order the document gives them.
    pub fn from_entries(
        index: &'a FieldIndex,
        mut entries: Vec<(u16, &'a Value)>,
        rest: D,
    ) -> Self {
        // stable: values of one field keep their document order
        entries.sort_by_key(|&(slot, _)| slot);
        Collected {
            index,
            entries,
            rest,
        }
    }

    /// The document, for paths the index does not name.
    pub fn rest(&self) -> &D {
        &self.rest
    }
}

impl<D: Document> Document for Collected<'_, D> {
    fn visit<'b>(&'b self, path: &FieldPath, f: &mut dyn FnMut(&'b Value) -> bool) -> bool {
        match self.index.slot(path) {
            Some(slot) => {
                let start = self.entries.partition_point(|&(s, _)| s < slot);
                let end = start + self.entries[start..].partition_point(|&(s, _)| s == slot);
                self.entries[start..end].iter().any(|&(_, v)| f(v))
            }
            None => self.rest.visit(path, f),
        }
    }
}

impl<D: Document> SlotValues for Collected<'_, D> {
    fn each_slot_value<'s>(&'s self, f: &mut dyn FnMut(u16, &'s Value)) {
        for &(slot, v) in &self.entries {
            f(slot, v);
        }
    }
}

/// A document together with the values of an index's fields (see the module
/// documentation). Implements [`Document`] with the same answers as the
/// document itself.
pub type FlatView<'a> = Collected<'a, &'a Map<String, Value>>;

impl<'a> FlatView<'a> {
    pub fn new(index: &'a FieldIndex, doc: &'a Map<String, Value>) -> FlatView<'a> {
        let mut entries = Vec::with_capacity(32);
        walk(&index.root, doc, &mut entries);
        Collected::from_entries(index, entries, doc)
    }

    /// The document the view was made from.
    pub fn document(&self) -> &'a Map<String, Value> {
        self.rest
    }

    /// Every value the view holds, as (slot, value), ordered by slot and,
    /// within a slot, as [`Document::visit`] gives them. A caller interested
    /// in a few of many named fields reads this once instead of looking each
    /// field up.
    pub fn slot_values(&self) -> &[(u16, &'a Value)] {
        &self.entries
    }
}

fn walk<'a>(node: &Node, obj: &'a Map<String, Value>, out: &mut Vec<(u16, &'a Value)>) {
    for (key, value) in obj {
        if let Some(next) = node.step(key) {
            record(next, value, out);
        }
    }
}

fn record<'a>(node: &Node, value: &'a Value, out: &mut Vec<(u16, &'a Value)>) {
    match value {
        Value::Object(o) => walk(node, o, out),
        Value::Array(items) => {
            for item in items {
                record(node, item, out);
            }
        }
        _ => {
            if let Some(slot) = node.slot {
                out.push((slot, value));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        /// A key table finds exactly the keys put in, among keys that share
        /// their length and first and last bytes (only the middle differs).
        #[test]
        fn key_tables_find_exactly_their_keys(
            keys in prop::collection::hash_set("[ab]{0,3}(_{0,12})?[ab.]{0,3}", 0..40),
            asked in prop::collection::vec("[ab]{0,3}(_{0,12})?[ab.]{0,3}", 0..40),
        ) {
            let mut children = Children::default();
            for k in &keys {
                children.entry(k).slot = Some(k.len() as u16);
            }
            children.seal();
            for k in keys.iter().chain(&asked) {
                let found = children.get(k).and_then(|n| n.slot);
                prop_assert_eq!(found, keys.contains(k).then_some(k.len() as u16), "{}", k);
            }
        }
    }

    fn all(d: &dyn Document, path: &FieldPath) -> Vec<Value> {
        let mut out = Vec::new();
        d.visit(path, &mut |v| {
            out.push(v.clone());
            false
        });
        out
    }

    #[test]
    fn same_text_same_id() {
        assert_eq!(
            FieldPath::new("process.name").id(),
            FieldPath::new("process.name").id()
        );
        assert_ne!(
            FieldPath::new("process.name").id(),
            FieldPath::new("process.pid").id()
        );
    }

    #[test]
    fn view_answers_like_the_document() {
        let doc = json!({
            "process": {"name": "a.exe", "args": ["x", ["y"]], "parent.name": "p"},
            "process.pid": 4,
            "event": {"category": ["process", "network"]},
            "list": [{"k": 1}, {"k": null}, {"j": 2}],
            "obj": {"inner": 1},
        });
        let Value::Object(doc) = doc else { panic!() };
        let named: Vec<FieldPath> = [
            "process.name",
            "process.args",
            "process.parent.name",
            "process.pid",
            "event.category",
            "list.k",
            "obj",
        ]
        .iter()
        .map(|p| FieldPath::new(p))
        .collect();
        let index = FieldIndex::new(&named);
        let view = FlatView::new(&index, &doc);
        for p in named
            .iter()
            .chain([&FieldPath::new("not.named"), &FieldPath::new("list.j")])
        {
            assert_eq!(all(&view, p), all(&doc, p), "{p}");
        }
        assert_eq!(
            all(&view, &FieldPath::new("process.args")),
            vec![json!("x"), json!("y")]
        );
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<i32>().prop_map(|n| json!(n)),
            "[a-c]{0,2}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::vec(("[ab](\\.[ab])?", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever the document's shape, a view gives the values the document gives.
        #[test]
        fn view_equals_document(doc in json_value()) {
            let Value::Object(doc) = doc else { return Ok(()) };
            let paths: Vec<FieldPath> = ["a", "b", "a.a", "a.b", "b.a", "a.a.b", "b.b.a"]
                .iter().map(|p| FieldPath::new(p)).collect();
            let index = FieldIndex::new(&paths[..4]);
            let view = FlatView::new(&index, &doc);
            // the same values; their order may differ where a document mixes
            // dotted and nested keys for one field (evaluation never depends on it)
            let sorted = |mut v: Vec<Value>| { v.sort_by_key(|x| x.to_string()); v };
            for p in &paths {
                prop_assert_eq!(sorted(all(&view, p)), sorted(all(&doc, p)), "{}", p);
            }
        }
    }
}
