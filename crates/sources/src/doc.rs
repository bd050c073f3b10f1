//! A document under construction, turned into a `serde_json::Map` once.
//!
//! Mapping a record writes fields by dotted path, overwrites some, reads a
//! few back and decides on others by whether they are set. Doing that on
//! `serde_json::Map`s hashes every path segment with SipHash at each step and
//! grows every map as it goes. [`Doc`] keeps the tree in one `Vec` instead:
//! children are found by comparing keys (objects have a handful of fields),
//! and [`Doc::into_map`] builds each map once, at its final size, in the order
//! the fields were first written. The semantics are those of inserting into
//! an insertion-ordered map: overwriting a field keeps its place, writing
//! under a field that is not an object replaces it, in its place, by one.

use harrier_event::{Document, FieldNode, FieldPath};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::cell::OnceCell;

/// A node of a [`Doc`].
pub(crate) type Id = u32;

/// The document itself.
pub(crate) const ROOT: Id = 0;

const NIL: Id = Id::MAX;

struct Node {
    key: Cow<'static, str>,
    /// `None` for an object.
    leaf: Option<Value>,
    /// Children of an object, in insertion order.
    first: Id,
    last: Id,
    len: u32,
    /// The next sibling.
    next: Id,
}

impl Node {
    fn new(key: Cow<'static, str>, leaf: Option<Value>) -> Node {
        Node {
            key,
            leaf,
            first: NIL,
            last: NIL,
            len: 0,
            next: NIL,
        }
    }
}

/// The keys of a dotted path, as `path.split('.')` gives them (a byte scan:
/// the paths are short, and `split`'s searcher costs more than it saves).
fn segments(path: &str) -> Segments<'_> {
    Segments(Some(path))
}

struct Segments<'a>(Option<&'a str>);

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.0?;
        match s.bytes().position(|b| b == b'.') {
            // `.` is ASCII: both sides are on character boundaries.
            Some(i) => {
                self.0 = s.get(i + 1..);
                s.get(..i)
            }
            None => {
                self.0 = None;
                Some(s)
            }
        }
    }
}

pub(crate) struct Doc {
    nodes: Vec<Node>,
}

impl Doc {
    /// An empty document with room for `n` fields.
    pub(crate) fn with_capacity(n: usize) -> Doc {
        let mut nodes = Vec::with_capacity(n.max(1));
        nodes.push(Node::new(Cow::Borrowed(""), None));
        Doc { nodes }
    }

    fn node(&self, id: Id) -> &Node {
        &self.nodes[id as usize]
    }

    fn node_mut(&mut self, id: Id) -> &mut Node {
        &mut self.nodes[id as usize]
    }

    /// The child of object `parent` named `key`.
    fn find(&self, parent: Id, key: &str) -> Option<Id> {
        let mut c = self.node(parent).first;
        while c != NIL {
            let n = self.node(c);
            if n.key == key {
                return Some(c);
            }
            c = n.next;
        }
        None
    }

    fn new_node(&mut self, key: Cow<'static, str>, leaf: Option<Value>) -> Id {
        let id = self.nodes.len() as Id;
        self.nodes.push(Node::new(key, leaf));
        id
    }

    /// Appends node `child` to the children of `parent`.
    fn append(&mut self, parent: Id, child: Id) {
        let last = self.node(parent).last;
        if last == NIL {
            self.node_mut(parent).first = child;
        } else {
            self.node_mut(last).next = child;
        }
        let p = self.node_mut(parent);
        p.last = child;
        p.len += 1;
    }

    /// Turns node `id` into a leaf holding `v` (dropping any children).
    fn make_leaf(&mut self, id: Id, v: Value) {
        let n = self.node_mut(id);
        n.leaf = Some(v);
        n.first = NIL;
        n.last = NIL;
        n.len = 0;
    }

    /// The child `key` of `parent`, created by `make` when missing (`leaf`:
    /// as a field, else as an object).
    fn entry(
        &mut self,
        parent: Id,
        key: &str,
        name: impl FnOnce() -> Cow<'static, str>,
        leaf: Option<Value>,
    ) -> Id {
        match self.find(parent, key) {
            Some(id) => {
                match leaf {
                    Some(v) => self.make_leaf(id, v),
                    None => self.node_mut(id).leaf = None,
                }
                id
            }
            None => {
                let id = self.new_node(name(), leaf);
                self.append(parent, id);
                id
            }
        }
    }

    /// The object `key` under `parent`, created (or put in place of a
    /// field) when needed.
    pub(crate) fn object(&mut self, parent: Id, key: &'static str) -> Id {
        self.entry(parent, key, || Cow::Borrowed(key), None)
    }

    /// Sets `key` under object `parent` to `v`: in place when it is there.
    pub(crate) fn set(&mut self, parent: Id, key: &'static str, v: Value) {
        self.entry(parent, key, || Cow::Borrowed(key), Some(v));
    }

    /// Sets `key` under object `parent` to an object of `entries`, whose
    /// keys are distinct (as [`Doc::set`] of that object, without building
    /// a map: most documents are never turned into one).
    pub(crate) fn set_object(
        &mut self,
        parent: Id,
        key: &'static str,
        entries: Vec<(String, Value)>,
    ) {
        // A leaf first, which drops any children; then an empty object.
        let id = self.entry(parent, key, || Cow::Borrowed(key), Some(Value::Null));
        self.node_mut(id).leaf = None;
        for (k, v) in entries {
            debug_assert!(self.find(id, &k).is_none(), "{k} twice");
            let child = self.new_node(Cow::Owned(k), Some(v));
            self.append(id, child);
        }
    }

    /// Adds field `key` to object `parent`, which must not have it yet (as
    /// [`Doc::set`], without looking).
    pub(crate) fn push(&mut self, parent: Id, key: &'static str, v: Value) {
        debug_assert!(self.find(parent, key).is_none(), "{key} set twice");
        let id = self.new_node(Cow::Borrowed(key), Some(v));
        self.append(parent, id);
    }

    /// A new object `key` under `parent`, which must not have that key yet.
    pub(crate) fn push_object(&mut self, parent: Id, key: &'static str) -> Id {
        debug_assert!(self.find(parent, key).is_none(), "{key} set twice");
        let id = self.new_node(Cow::Borrowed(key), None);
        self.append(parent, id);
        id
    }

    /// Sets the dotted `path` under `parent` to `v`, creating objects on the
    /// way (a field on the way is replaced by an object, in its place).
    pub(crate) fn put_at(&mut self, mut parent: Id, path: &'static str, v: Value) {
        let mut parts = segments(path);
        let mut cur = parts.next().unwrap_or("");
        for next in parts {
            parent = self.object(parent, cur);
            cur = next;
        }
        self.set(parent, cur, v);
    }

    /// [`Doc::put_at`] from the root.
    pub(crate) fn put(&mut self, path: &'static str, v: Value) {
        self.put_at(ROOT, path, v);
    }

    /// [`Doc::put_at`] for a path that is not static (new keys are copied).
    pub(crate) fn put_owned(&mut self, mut parent: Id, path: &str, v: Value) {
        let mut parts = segments(path);
        let mut cur = parts.next().unwrap_or("");
        for next in parts {
            parent = self.entry(parent, cur, || Cow::Owned(cur.to_owned()), None);
            cur = next;
        }
        self.entry(parent, cur, || Cow::Owned(cur.to_owned()), Some(v));
    }

    /// The value at the dotted `path`, when it is a field (not an object).
    pub(crate) fn get(&self, path: &str) -> Option<&Value> {
        let mut cur = ROOT;
        for p in segments(path) {
            if self.node(cur).leaf.is_some() {
                return None;
            }
            cur = self.find(cur, p)?;
        }
        self.node(cur).leaf.as_ref()
    }

    pub(crate) fn get_str(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(Value::as_str)
    }

    /// Whether `path` is set to an object or a non-null value.
    pub(crate) fn has(&self, path: &str) -> bool {
        let mut cur = ROOT;
        for p in segments(path) {
            if self.node(cur).leaf.is_some() {
                return false;
            }
            match self.find(cur, p) {
                Some(c) => cur = c,
                None => return false,
            }
        }
        !matches!(self.node(cur).leaf, Some(Value::Null))
    }

    /// A new object named `key` that is not yet in the document (see
    /// [`Doc::link`]).
    pub(crate) fn detached(&mut self, key: &'static str) -> Id {
        self.new_node(Cow::Borrowed(key), None)
    }

    /// Puts the detached object `child` under `parent` now: last, or in
    /// place of a field of the same name.
    pub(crate) fn link(&mut self, parent: Id, child: Id) {
        let key = std::mem::take(&mut self.node_mut(child).key);
        match self.find(parent, &key) {
            Some(at) => {
                let (first, last, len) = {
                    let c = self.node(child);
                    (c.first, c.last, c.len)
                };
                let n = self.node_mut(at);
                n.leaf = None;
                n.first = first;
                n.last = last;
                n.len = len;
            }
            None => {
                self.node_mut(child).key = key;
                self.append(parent, child);
            }
        }
    }

    /// The finished document.
    /// The values of an index's fields under `node`, in the order the
    /// walk of [`Doc::into_map`]'s map would give them (see
    /// [`harrier_event::Collected`]).
    pub(crate) fn collect<'a>(&'a self, node: FieldNode<'_>, out: &mut Vec<(u16, &'a Value)>) {
        self.collect_under(ROOT, node, out);
    }

    fn collect_under<'a>(&'a self, id: Id, node: FieldNode<'_>, out: &mut Vec<(u16, &'a Value)>) {
        let mut c = self.node(id).first;
        while c != NIL {
            let n = self.node(c);
            if let Some(next) = node.step(&n.key) {
                match &n.leaf {
                    Some(v) => next.collect(v, out),
                    None => self.collect_under(c, next, out),
                }
            }
            c = n.next;
        }
    }

    /// The map [`Doc::into_map`] would give, leaving the document as it is.
    pub(crate) fn to_map(&self) -> Map<String, Value> {
        self.copy_object(ROOT)
    }

    fn copy_object(&self, id: Id) -> Map<String, Value> {
        let mut map = Map::with_capacity(self.node(id).len as usize);
        let mut c = self.node(id).first;
        while c != NIL {
            let n = self.node(c);
            let v = match &n.leaf {
                Some(v) => v.clone(),
                None => Value::Object(self.copy_object(c)),
            };
            map.insert(n.key.to_string(), v);
            c = n.next;
        }
        map
    }

    /// Appends to `out` the JSON text `serde_json` writes for
    /// [`Doc::to_map`], without building the map (keys are unique among
    /// siblings, so the map would keep every node, in this order).
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        self.write_object(ROOT, out);
    }

    fn write_object(&self, id: Id, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut c = self.node(id).first;
        while c != NIL {
            let n = self.node(c);
            if c != self.node(id).first {
                out.push(b',');
            }
            // writing JSON into a Vec cannot fail
            let _ = serde_json::to_writer(&mut *out, n.key.as_ref());
            out.push(b':');
            match &n.leaf {
                Some(v) => {
                    let _ = serde_json::to_writer(&mut *out, v);
                }
                None => self.write_object(c, out),
            }
            c = n.next;
        }
        out.push(b'}');
    }

    pub(crate) fn into_map(mut self) -> Map<String, Value> {
        self.take_object(ROOT)
    }

    fn take_object(&mut self, id: Id) -> Map<String, Value> {
        let mut map = Map::with_capacity(self.node(id).len as usize);
        let mut c = self.node(id).first;
        while c != NIL {
            let n = self.node_mut(c);
            let next = n.next;
            let key = std::mem::take(&mut n.key).into_owned();
            let v = match n.leaf.take() {
                Some(v) => v,
                None => Value::Object(self.take_object(c)),
            };
            map.insert(key, v);
            c = next;
        }
        map
    }
}

/// A mapped EVTX record's document, as rules see it without its map being
/// built: a [`harrier_event::Collected`] holds the values of the fields the
/// caller named, and this answers the rest, building the map the first time
/// a path outside them is asked for.
pub struct RecordDoc<'a> {
    doc: &'a Doc,
    whole: OnceCell<Map<String, Value>>,
}

impl<'a> RecordDoc<'a> {
    pub(crate) fn new(doc: &'a Doc) -> RecordDoc<'a> {
        RecordDoc {
            doc,
            whole: OnceCell::new(),
        }
    }

    /// The whole document, as the event made of the record holds it.
    pub fn map(&self) -> &Map<String, Value> {
        self.whole.get_or_init(|| self.doc.to_map())
    }

    /// [`RecordDoc::map`] as compact JSON text, written without building
    /// the map when no look-up has built it yet.
    pub fn json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2048);
        match self.whole.get() {
            Some(map) => {
                // writing JSON into a Vec cannot fail
                let _ = serde_json::to_writer(&mut out, map);
            }
            None => self.doc.write_json(&mut out),
        }
        out
    }

    /// Offers `f` the document's string values, at any depth (in arrays
    /// too; keys are not offered), without building its map, and says
    /// whether `f` held for one. Strings the mapping wrote and then
    /// detached may be offered too: `false` means that no string value of
    /// the document satisfies `f`.
    pub fn any_string(&self, f: &mut dyn FnMut(&str) -> bool) -> bool {
        fn any(v: &Value, f: &mut dyn FnMut(&str) -> bool) -> bool {
            match v {
                Value::String(s) => f(s),
                Value::Array(a) => a.iter().any(|v| any(v, f)),
                Value::Object(m) => m.values().any(|v| any(v, f)),
                _ => false,
            }
        }
        match self.whole.get() {
            Some(map) => map.values().any(|v| any(v, f)),
            None => self
                .doc
                .nodes
                .iter()
                .filter_map(|n| n.leaf.as_ref())
                .any(|v| any(v, f)),
        }
    }
}

impl Document for RecordDoc<'_> {
    fn visit<'b>(&'b self, path: &FieldPath, f: &mut dyn FnMut(&'b Value) -> bool) -> bool {
        self.map().visit(path, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The same writes through `Doc` and through `serde_json::Map` inserts
    /// give the same document, keys in the same order.
    #[test]
    fn segments_like_split() {
        for p in [
            "",
            "a",
            "a.b",
            "a..b",
            ".a",
            "a.",
            "process.parent.entity_id",
            "\u{e9}.x",
        ] {
            assert_eq!(
                segments(p).collect::<Vec<_>>(),
                p.split('.').collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn behaves_like_map_inserts() {
        let mut d = Doc::with_capacity(4);
        let ev = d.detached("event");
        d.put("b.x", json!(1));
        d.put("a", json!("leaf"));
        d.put("b.y.z", json!(2));
        d.put("b.x", json!(3)); // overwritten in place
        d.put("a.inner", json!(4)); // a field on the way becomes an object, in place
        d.set(ev, "kind", json!("event"));
        d.put("event", json!("replaced by the link, in place"));
        d.put_owned(ROOT, "c.dyn.key", json!(5));
        d.set(ROOT, "b", json!({"whole": true})); // an object replaced by a field
        d.put("o.old.x", json!(6));
        let entries = vec![
            ("k".to_owned(), json!(7)),
            ("j".to_owned(), json!({"n": 8})),
        ];
        d.set_object(ROOT, "o", entries); // an object replaced whole, in place
        d.link(ROOT, ev);
        assert_eq!(d.get_str("event.kind"), Some("event"));
        assert!(d.has("c.dyn"));
        assert!(!d.has("c.none"));
        assert!(!d.has("o.old") && d.get("o.k") == Some(&json!(7)));
        let want = r#"{"b":{"whole":true},"a":{"inner":4},"event":{"kind":"event"},"c":{"dyn":{"key":5}},"o":{"k":7,"j":{"n":8}}}"#;
        // written straight from the nodes, and through the map
        let mut written = Vec::new();
        d.write_json(&mut written);
        assert_eq!(String::from_utf8(written).ok().as_deref(), Some(want));
        let got = serde_json::to_string(&d.into_map()).ok();
        assert_eq!(got.as_deref(), Some(want));
    }

    /// Every string value is offered, nested ones too, before and after the map is
    /// built; keys, numbers and booleans are not.
    #[test]
    fn any_string_offers_every_string_value() {
        let mut d = Doc::with_capacity(4);
        d.put("process.name", json!("mshta.exe"));
        d.put("process.args", json!(["a", {"deep": "needle"}]));
        d.put("process.pid", json!(42));
        d.put("keyword", json!(true));
        let r = RecordDoc::new(&d);
        for built in [false, true] {
            if built {
                let _ = r.map();
            }
            let has = |want: &str| r.any_string(&mut |s| s == want);
            assert!(
                has("mshta.exe") && has("a") && has("needle"),
                "built: {built}"
            );
            for absent in ["process", "deep", "keyword", "42", "true", "name"] {
                assert!(!has(absent), "{absent} (built: {built})");
            }
        }
    }
}
