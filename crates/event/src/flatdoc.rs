//! Documents read straight into slots, without a `serde_json` map.
//!
//! A [`FlatView`](crate::FlatView) walks a parsed document; a [`FlatDoc`]
//! never builds one. It scans the JSON text once (the validating scanner of
//! [`crate::projection`], which accepts exactly what `serde_json` accepts),
//! follows only keys on the way to a field the [`FieldIndex`] names, and
//! keeps each scalar it meets there under the field's slot. Everything else
//! is validated and skipped without being built. Reading a 1.3 KB ECS event
//! this way allocates only its kept strings, where a full parse allocates
//! every key and value and hashes every key.
//!
//! It answers look-ups as the parsed document would ([`Document`]), with the
//! same values for every named field (property-tested against `serde_json`,
//! repeated keys included: the last one wins, as in a map). A path the index
//! does not name is answered by parsing the whole text the first time one is
//! asked, so answers never depend on which fields were named, only their
//! cost. A caller can also ask where some top-level keys' values are in the
//! text ([`FlatDoc::parse`]'s `capture`): a reader uses them to recognise the
//! document's shape, and since it gets their text rather than built values,
//! it can tell a shape it has seen before by comparing bytes.

use crate::flat::{leaves, Document, FieldIndex, Node, Scalar, SlotValues};
use crate::path::FieldPath;
use crate::projection::{ProjectionError, Res, Scanner, Str};
use serde_json::{Map, Value};
use std::cell::OnceCell;
use std::ops::Range;

/// A JSON document's values for the fields of a [`FieldIndex`] (see the
/// module documentation).
pub struct FlatDoc<'a> {
    index: &'a FieldIndex,
    /// The text, validated as UTF-8 once.
    text: &'a str,
    /// The kept values, in document order.
    entries: Vec<Kept>,
    /// `slot << 32 | position in entries` for every entry, sorted: a slot's
    /// values in document order, found by a binary search. An event has a
    /// few dozen values of the hundreds of fields a rule set reads, so this
    /// costs less per event than sorting the values or keeping a table over
    /// every field.
    order: Vec<u64>,
    /// Per slot of the index: 1 + where its values start in `order`, 0 when
    /// it has none. Rules look up a few dozen fields of each event, and this
    /// table costs less than a binary search each time. Empty (searched
    /// instead) for indexes of more than [`TABLE_SLOTS`] fields or documents
    /// with more values than a `u16` counts.
    first: Vec<u16>,
    /// (index in `capture`, the value's text), in document order.
    captured: Vec<(usize, Range<usize>)>,
    whole: OnceCell<Option<Map<String, Value>>>,
}

/// The most fields of an index for which a document keeps a table of where
/// each field's values are ([`FlatDoc::first`]).
const TABLE_SLOTS: usize = 4096;

/// One value kept under a slot. A string is kept as its place in the text
/// and built (unescaped, allocated) the first time it is read: rules read
/// only some of an event's named fields, those their clause index lights or
/// their candidate filters ask for. Other scalars, which need no allocation,
/// are built while scanning (a number's range is checked then, as
/// `serde_json` checks it).
struct Kept {
    slot: u16,
    /// The string's token, for a string.
    text: Option<Str>,
    value: OnceCell<Value>,
}

/// The values of one key of the object being scanned, for repeated keys.
struct Frame {
    node: *const Node,
    start: usize,
    end: usize,
}

struct Out<'c> {
    entries: Vec<Kept>,
    frames: Vec<Frame>,
    captured: Vec<(usize, Range<usize>)>,
    capture: &'c [&'c str],
}

impl<'a> FlatDoc<'a> {
    /// Scans a JSON object (one NDJSON line without its line end) for the
    /// fields of `index`; where the values of the top-level keys named in
    /// `capture` are is kept too ([`FlatDoc::captured`]). Errors exactly when
    /// `serde_json::from_slice::<Value>` would, or when the text is not an
    /// object.
    pub fn parse(
        text: &'a [u8],
        index: &'a FieldIndex,
        capture: &[&str],
    ) -> Result<FlatDoc<'a>, ProjectionError> {
        let s = std::str::from_utf8(text)
            .map_err(|e| ProjectionError(format!("invalid UTF-8: {e}")))?;
        let mut scan = Scanner {
            b: s.as_bytes(),
            s,
            i: 0,
        };
        scan.ws();
        if scan.peek() != Some(b'{') {
            return scan.err("expected a JSON object");
        }
        let mut out = Out {
            entries: Vec::with_capacity(64),
            frames: Vec::with_capacity(32),
            captured: Vec::with_capacity(capture.len()),
            capture,
        };
        scan.flat_object(&index.root, 0, &mut out, true)?;
        scan.ws();
        if scan.i != scan.b.len() {
            return scan.err("trailing characters");
        }
        // the position breaks ties: values of one field keep their document order
        let mut order: Vec<u64> = (out.entries.iter().enumerate())
            .map(|(i, k)| (u64::from(k.slot) << 32) | i as u64)
            .collect();
        order.sort_unstable();
        let mut first = Vec::new();
        if index.len() <= TABLE_SLOTS && order.len() < usize::from(u16::MAX) {
            first.resize(index.len(), 0u16);
            for (i, &k) in order.iter().enumerate().rev() {
                if let Some(f) = first.get_mut((k >> 32) as usize) {
                    *f = i as u16 + 1;
                }
            }
        }
        Ok(FlatDoc {
            index,
            text: s,
            entries: out.entries,
            order,
            first,
            captured: out.captured,
            whole: OnceCell::new(),
        })
    }

    /// The captured top-level keys present in the document, in document
    /// order, each as its place in `parse`'s `capture` and the JSON text of
    /// its value (a repeated key comes as often as it is written; as in a
    /// map, the last one is the key's value).
    pub fn captured(&self) -> impl Iterator<Item = (usize, &'a str)> + '_ {
        let text = self.text;
        // the ranges fall at value boundaries, which are character boundaries
        self.captured
            .iter()
            .map(move |(i, r)| (*i, text.get(r.clone()).unwrap_or("")))
    }

    /// The text the document was read from.
    pub fn text(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The values of `slot`, in document order.
    fn values_of(&self, slot: u16) -> impl Iterator<Item = &Value> + '_ {
        self.kept_of(slot).map(|e| self.value(e))
    }

    /// A kept value as a [`Scalar`]: a string without escapes as its text.
    fn scalar<'s>(&'s self, kept: &'s Kept) -> Scalar<'s> {
        match kept.text.and_then(|t| t.plain_in(self.text)) {
            Some(s) => Scalar::Str(s),
            None => Scalar::Json(self.value(kept)),
        }
    }

    /// Every kept value, ordered by slot (each slot's in document order).
    fn kept_by_slot(&self) -> impl Iterator<Item = &Kept> + '_ {
        (self.order.iter()).filter_map(|&k| self.entries.get(k as u32 as usize))
    }

    /// The kept values of `slot`, in document order.
    fn kept_of(&self, slot: u16) -> impl Iterator<Item = &Kept> + '_ {
        let from = match self.first.get(usize::from(slot)) {
            Some(&f) if f > 0 => usize::from(f) - 1,
            Some(_) => self.order.len(),
            None => self.order.partition_point(|&k| k >> 32 < u64::from(slot)),
        };
        let slot = u64::from(slot);
        self.order[from..]
            .iter()
            .take_while(move |&&k| k >> 32 == slot)
            .filter_map(|&k| self.entries.get(k as u32 as usize))
    }

    /// A kept value, built now if it is a string read for the first time.
    fn value<'s>(&'s self, kept: &'s Kept) -> &'s Value {
        kept.value.get_or_init(|| {
            // the scanner checked every escape, so the text is always there
            let text = kept.text.and_then(|t| t.text_in(self.text));
            Value::String(text.map(|t| t.into_owned()).unwrap_or_default())
        })
    }

    /// The whole document, parsed the first time a path the index does not
    /// name is asked for.
    fn whole(&self) -> Option<&Map<String, Value>> {
        self.whole
            .get_or_init(|| serde_json::from_str::<Map<String, Value>>(self.text).ok())
            .as_ref()
    }
}

impl Document for FlatDoc<'_> {
    fn visit<'b>(&'b self, path: &FieldPath, f: &mut dyn FnMut(&'b Value) -> bool) -> bool {
        match self.index.slot(path) {
            Some(slot) => self.values_of(slot).any(f),
            None => self.whole().is_some_and(|doc| leaves(doc, path, f)),
        }
    }

    fn visit_scalars<'b>(
        &'b self,
        path: &FieldPath,
        f: &mut dyn FnMut(Scalar<'b>) -> bool,
    ) -> bool {
        match self.index.slot(path) {
            Some(slot) => self.kept_of(slot).any(|e| f(self.scalar(e))),
            None => {
                (self.whole()).is_some_and(|doc| leaves(doc, path, &mut |v| f(Scalar::Json(v))))
            }
        }
    }
}

impl SlotValues for FlatDoc<'_> {
    fn each_slot_value<'s>(&'s self, f: &mut dyn FnMut(u16, &'s Value)) {
        for e in self.kept_by_slot() {
            f(e.slot, self.value(e));
        }
    }

    fn each_wanted_slot_value<'s>(
        &'s self,
        want: &dyn Fn(u16) -> bool,
        f: &mut dyn FnMut(u16, Scalar<'s>),
    ) {
        for e in self.kept_by_slot().filter(|e| want(e.slot)) {
            f(e.slot, self.scalar(e));
        }
    }
}

impl Scanner<'_> {
    /// At `{`: keeps the scalars under named fields of this object, whose
    /// keys step from `node`. A repeated key drops what its earlier
    /// occurrence kept, as a map would.
    fn flat_object(&mut self, node: &Node, depth: u32, out: &mut Out, top: bool) -> Res<()> {
        self.open(depth)?;
        let base = out.frames.len();
        // the bits of the named keys met so far in this object
        let mut met = 0u64;
        if self.first_entry()? {
            loop {
                let k = self.key()?;
                self.ws();
                let key = self.text(k)?;
                let next = node.step(&key);
                let captured = match top {
                    true => out.capture.iter().position(|c| *c == key.as_ref()),
                    false => None,
                };
                let from = self.i;
                if let Some(n) = next {
                    let start = begin_key(out, base, n, met);
                    met |= n.bit;
                    self.flat_value(n, depth + 1, out)?;
                    end_key(out, n, start);
                } else {
                    self.skip(depth + 1)?;
                }
                if let Some(c) = captured {
                    out.captured.push((c, from..self.i));
                }
                if !self.next_entry(b'}')? {
                    break;
                }
            }
        }
        out.frames.truncate(base);
        Ok(())
    }

    /// A value whose path steps to `node`: objects and arrays are walked,
    /// scalars kept when `node` names a field.
    fn flat_value(&mut self, node: &Node, depth: u32, out: &mut Out) -> Res<()> {
        match self.peek() {
            Some(b'{') => self.flat_object(node, depth, out, false),
            Some(b'[') => {
                self.open(depth)?;
                if self.first_item()? {
                    loop {
                        self.flat_value(node, depth + 1, out)?;
                        if !self.next_entry(b']')? {
                            break;
                        }
                    }
                }
                Ok(())
            }
            Some(b'"') => {
                let t = self.string()?;
                if let Some(slot) = node.slot {
                    out.entries.push(Kept {
                        slot,
                        text: Some(t),
                        value: OnceCell::new(),
                    });
                }
                Ok(())
            }
            _ => match node.slot {
                Some(slot) => {
                    let v = self.build(depth)?;
                    out.entries.push(Kept {
                        slot,
                        text: None,
                        value: OnceCell::from(v),
                    });
                    Ok(())
                }
                None => self.skip(depth),
            },
        }
    }
}

/// Before a key's value is scanned: forgets what an earlier occurrence of
/// the same key in this object (frames from `base`) kept. Equal keys step to
/// the same node, and different keys to different nodes. Returns where the
/// key's values start. `met` has the bits of the nodes of the keys met so
/// far in this object: a node whose bit is not there has no frame yet, and
/// the frames need no search (they are as many as the object's named keys).
fn begin_key(out: &mut Out, base: usize, node: &Node, met: u64) -> usize {
    if met & node.bit == 0 {
        return out.entries.len();
    }
    let node = node as *const Node;
    if let Some(pos) = out.frames[base..].iter().position(|f| f.node == node) {
        let Frame { start, end, .. } = out.frames.remove(base + pos);
        out.entries.drain(start..end);
        for f in &mut out.frames[base + pos..] {
            f.start -= end - start;
            f.end -= end - start;
        }
    }
    out.entries.len()
}

fn end_key(out: &mut Out, node: &Node, start: usize) {
    out.frames.push(Frame {
        node: node as *const Node,
        start,
        end: out.entries.len(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testgen::{arb_j, render, J};
    use proptest::prelude::*;
    use serde_json::json;

    fn all(d: &dyn Document, path: &FieldPath) -> Vec<Value> {
        let mut out = Vec::new();
        d.visit(path, &mut |v| {
            out.push(v.clone());
            false
        });
        out
    }

    fn sorted(mut v: Vec<Value>) -> Vec<Value> {
        v.sort_by_key(|x| x.to_string());
        v
    }

    /// The flat document and the parsed one give the same values for every
    /// path (named or not) and accept the same texts.
    fn agrees(text: &str, named: &[&str], asked: &[&str]) -> Result<(), TestCaseError> {
        let named: Vec<FieldPath> = named.iter().map(|p| FieldPath::new(p)).collect();
        let index = FieldIndex::new(&named);
        let flat = FlatDoc::parse(text.as_bytes(), &index, &["a", "c"]);
        match (serde_json::from_str::<Value>(text), flat) {
            (Ok(Value::Object(full)), Ok(flat)) => {
                let asked: Vec<FieldPath> = asked.iter().map(|p| FieldPath::new(p)).collect();
                for p in named.iter().chain(&asked) {
                    prop_assert_eq!(
                        sorted(all(&flat, p)),
                        sorted(all(&full, p)),
                        "path {} in {}",
                        p,
                        text
                    );
                    let mut scalars = Vec::new();
                    flat.visit_scalars(p, &mut |v| {
                        scalars.push(v.to_value());
                        false
                    });
                    prop_assert_eq!(
                        sorted(scalars),
                        sorted(all(&full, p)),
                        "scalars of {} in {}",
                        p,
                        text
                    );
                }
                for (i, key) in ["a", "c"].into_iter().enumerate() {
                    let last = flat.captured().filter(|&(c, _)| c == i).last();
                    let last = last.and_then(|(_, raw)| serde_json::from_str::<Value>(raw).ok());
                    prop_assert_eq!(last.as_ref(), full.get(key), "{}", text);
                }
            }
            (Ok(Value::Object(_)), Err(e)) => prop_assert!(false, "rejects {}: {}", text, e),
            (Ok(_), flat) => prop_assert!(flat.is_err(), "not an object: {}", text),
            (Err(e), flat) => prop_assert!(
                flat.is_err(),
                "serde_json rejects {} ({}), the flat scan accepts",
                text,
                e
            ),
        }
        Ok(())
    }

    #[test]
    fn keeps_named_scalars_by_slot() {
        let doc = json!({
            "process": {"name": "a.exe", "args": ["x", ["y"]], "parent.name": "p", "pid": 4},
            "event": {"category": ["process", "network"]},
            "list": [{"k": 1}, {"k": null}, {"j": 2}],
            "obj": {"inner": 1.5},
            "other": {"deep": [1, {"x": true}]},
        });
        let text = doc.to_string();
        let paths = [
            "process.name",
            "process.args",
            "process.parent.name",
            "event.category",
            "list.k",
            "obj",
        ];
        agrees(&text, &paths, &["process.pid", "other.deep.x", "list.j"]).expect("agrees");
        let named: Vec<FieldPath> = paths.iter().map(|p| FieldPath::new(p)).collect();
        let index = FieldIndex::new(&named);
        let flat = FlatDoc::parse(text.as_bytes(), &index, &[]).expect("parses");
        // only named scalars are kept: an object is not a value of its field
        let mut kept = Vec::new();
        flat.each_slot_value(&mut |slot, v| kept.push((slot, v.clone())));
        assert_eq!(
            kept,
            vec![
                (0, json!("a.exe")),
                (1, json!("x")),
                (1, json!("y")),
                (2, json!("p")),
                (3, json!("process")),
                (3, json!("network")),
                (4, json!(1)),
                (4, Value::Null),
            ]
        );
        assert!(
            flat.whole.get().is_none(),
            "named paths never parse the whole text"
        );
        assert_eq!(all(&flat, &FieldPath::new("process.pid")), vec![json!(4)]);
    }

    /// Strings are built when read: those of slots nobody asks for stay
    /// text, and those read come out unescaped.
    #[test]
    fn strings_are_built_when_read() {
        let text = r#"{"a": "x\\y", "b": "z", "c": 5, "a": "w\u00e9"}"#;
        let named = [
            FieldPath::new("a"),
            FieldPath::new("b"),
            FieldPath::new("c"),
        ];
        let index = FieldIndex::new(&named);
        let flat = FlatDoc::parse(text.as_bytes(), &index, &[]).expect("parses");
        let built = |flat: &FlatDoc| -> Vec<bool> {
            flat.entries
                .iter()
                .map(|e| e.value.get().is_some())
                .collect()
        };
        // "b", "c", then "a" (whose first occurrence was dropped)
        assert_eq!(built(&flat), vec![false, true, false]);
        // a string without escapes is read as its text, and not built
        let b = index.slot(&named[1]).expect("slot");
        let mut seen = Vec::new();
        flat.each_wanted_slot_value(&|slot| slot == b, &mut |slot, v| seen.push((slot, v)));
        assert_eq!(seen, vec![(b, Scalar::Str("z"))]);
        // the two forms of a string are the same value
        assert_eq!(Scalar::Str("z"), Scalar::Json(&json!("z")));
        assert_ne!(Scalar::Str("5"), Scalar::Json(&json!(5)));
        let mut scalars = Vec::new();
        flat.visit_scalars(&named[1], &mut |v| {
            scalars.push(v.to_value());
            false
        });
        assert_eq!(scalars, vec![json!("z")]);
        assert_eq!(built(&flat), vec![false, true, false]);
        // one with escapes is built, unescaped
        flat.visit_scalars(&named[0], &mut |v| {
            assert_eq!(v, Scalar::Json(&json!("w\u{e9}")));
            false
        });
        assert_eq!(built(&flat), vec![false, true, true]);
        assert_eq!(all(&flat, &named[1]), vec![json!("z")]);
        assert_eq!(built(&flat), vec![true, true, true]);
    }

    /// More fields than a node has bits for (`Node::bit` repeats every 64
    /// nodes): keys sharing a bit are still told apart.
    #[test]
    fn fields_beyond_64_slots() {
        let names: Vec<String> = (0..150).map(|i| format!("f{i}")).collect();
        let named: Vec<&str> = names.iter().map(String::as_str).collect();
        for text in [
            r#"{"f70": 1, "f6": 2}"#,
            r#"{"f134": [1, 2], "f70": "x", "f6": null}"#,
            r#"{"f149": true, "f85": "y"}"#,
            r#"{"f70": 1, "f6": 2, "f70": 3, "f6": [4]}"#,
        ] {
            agrees(text, &named, &[]).expect("agrees");
        }
    }

    /// An index of more fields than a document keeps a table for: its
    /// values are searched for, with the same answers.
    #[test]
    fn fields_beyond_the_table() {
        let names: Vec<String> = (0..TABLE_SLOTS + 10).map(|i| format!("f{i}")).collect();
        let named: Vec<&str> = names.iter().map(String::as_str).collect();
        let last = TABLE_SLOTS + 9;
        for text in [
            format!(r#"{{"f{last}": 1, "f6": 2}}"#),
            format!(r#"{{"f{last}": [1, 2], "f0": "x", "f{last}": null}}"#),
        ] {
            agrees(&text, &named, &[]).expect("agrees");
        }
        let index = FieldIndex::new(&[FieldPath::new("f0")]);
        let flat = FlatDoc::parse(br#"{"f0": 1}"#, &index, &[]).expect("parses");
        assert_eq!(flat.first.len(), 1, "a small index has a table");
    }

    #[test]
    fn repeated_keys_last_wins() {
        let paths = ["a.b", "c", "d.e", "a"];
        for text in [
            r#"{"a": {"b": 1}, "a": 5}"#,
            r#"{"a": {"b": 1}, "a": {"x": 2}}"#,
            r#"{"a": {"b": 1}, "c": 3, "a": {"b": 2}}"#,
            r#"{"c": 1, "d": {"e": 1}, "c": [2, 3], "d": {"e": [4, 5]}}"#,
            r#"{"d": [{"e": 1}], "d": []}"#,
            r#"{"a": {"b": 1, "b": {"z": null}}}"#,
            r#"{"a.b": 1, "a": {"b": 2}, "a.b": 3}"#,
        ] {
            agrees(text, &paths, &[]).expect("agrees");
        }
    }

    #[test]
    fn malformed_input_is_an_error() {
        for text in [
            r#"{"a": "#,
            "[1]",
            "",
            r#"{"x": 01}"#,
            r#"{"x": [1,]}"#,
            r#"{"a": 1,}"#,
            r#"{"a": "\ud800"}"#,
            r#"{"a": 1} x"#,
            r#"{"a": 1e400}"#,
            r#"{"b": {"c": 1, "d": [1 2]}}"#,
        ] {
            agrees(text, &["a", "b.c"], &[]).expect("agrees");
        }
    }

    proptest! {
        #[test]
        fn flat_answers_like_the_parsed_document(
            entries in prop::collection::vec(("[a-c](\\.[a-c])?", arb_j()), 0..5),
            named in prop::collection::vec("[a-c](\\.[a-c]){0,2}", 1..4),
            asked in prop::collection::vec("[a-c](\\.[a-c]){0,2}", 0..2),
            escape_keys in any::<bool>(),
        ) {
            let mut text = String::new();
            render(&J::Obj(entries), escape_keys, &mut text);
            let named: Vec<&str> = named.iter().map(String::as_str).collect();
            let asked: Vec<&str> = asked.iter().map(String::as_str).collect();
            agrees(&text, &named, &asked)?;
        }

        #[test]
        fn truncated_documents_are_rejected_alike(
            entries in prop::collection::vec(("[a-c](\\.[a-c])?", arb_j()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut text = String::new();
            render(&J::Obj(entries), true, &mut text);
            let mut at = cut.index(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            agrees(&text[..at], &["a", "a.b", "b.c"], &[])?;
        }
    }
}
