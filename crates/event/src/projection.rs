//! Reading only the fields rules use.
//!
//! Building a full `serde_json::Value` tree per event costs most of the time
//! of a hunt (allocation and hashing for every key of every event). A
//! [`FieldTree`] names the paths the loaded rules read; [`parse_projected`]
//! scans a JSON document and keeps only those paths (nested objects, dotted
//! keys and arrays of objects alike), skipping everything else. The result
//! answers every lookup of a named path exactly as the full document would
//! (a property test checks this).

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;

/// A trie of dotted field paths.
#[derive(Clone, Debug, Default)]
pub struct FieldTree {
    children: HashMap<Box<str>, FieldTree>,
    /// A named path ends here: keep the whole value.
    leaf: bool,
}

impl FieldTree {
    pub fn new() -> FieldTree {
        FieldTree::default()
    }

    /// Adds a dotted path such as `process.parent.name`.
    pub fn insert(&mut self, path: &str) {
        let mut node = self;
        for seg in path.split('.') {
            node = node.children.entry(seg.into()).or_default();
        }
        node.leaf = true;
    }

    pub fn is_empty(&self) -> bool {
        self.children.is_empty() && !self.leaf
    }

    /// Walks a (possibly dotted) key from this node.
    fn step(&self, key: &str) -> Option<&FieldTree> {
        let mut node = self;
        for seg in key.split('.') {
            if node.leaf {
                return Some(node);
            }
            node = node.children.get(seg)?;
        }
        Some(node)
    }
}

/// The compiled form of a set of paths: the trie, plus what the fast path
/// needs (a sonic-rs pointer tree of every path and its prefixes, and the
/// key prefixes whose presence means a dotted key may be on a route).
pub struct Projection {
    tree: FieldTree,
    pointers: sonic_rs::PointerTree,
    /// In pointer-tree order: the segments of each path, and whether it was
    /// named (true) or is only a prefix of one (false).
    routes: Vec<(Vec<String>, bool)>,
    dotted: Option<aho_corasick::AhoCorasick>,
}

impl Projection {
    pub fn new(tree: FieldTree) -> Projection {
        let mut routes: Vec<(Vec<String>, bool)> = Vec::new();
        collect_routes(&tree, &mut Vec::new(), &mut routes);
        let mut pointers = sonic_rs::PointerTree::new();
        for (segs, _) in &routes {
            pointers.add_path(segs.iter().map(String::as_str));
        }
        // `seg.` for every segment that continues into a deeper one (a
        // match preceded by a quote is a dotted key; the quote is checked
        // separately because it is too common a byte to search for)
        let mut patterns: Vec<String> = routes
            .iter()
            .filter(|(_, named)| !named)
            .filter_map(|(segs, _)| segs.last().map(|s| format!("{s}.")))
            .collect();
        patterns.sort();
        patterns.dedup();
        let dotted = (!patterns.is_empty())
            .then(|| aho_corasick::AhoCorasick::new(&patterns).ok())
            .flatten();
        Projection {
            tree,
            pointers,
            routes,
            dotted,
        }
    }

    /// Would this document take the exact (slower) walk? For benchmarks and tests.
    pub fn needs_walk(&self, json: &str) -> bool {
        if let Some(ac) = &self.dotted {
            let bytes = json.as_bytes();
            if ac
                .find_iter(json)
                .any(|m| m.start() > 0 && bytes[m.start() - 1] == b'"')
            {
                return true;
            }
        }
        match sonic_rs::get_many(json, &self.pointers) {
            Ok(found) => self.routes.iter().zip(found.iter()).any(|((_, named), f)| {
                !named && f.as_ref().is_some_and(|l| l.as_raw_str().starts_with('['))
            }),
            Err(_) => true,
        }
    }

    pub fn tree(&self) -> &FieldTree {
        &self.tree
    }

    /// Parses a JSON object keeping only the named paths.
    ///
    /// The fast path asks sonic-rs for every path at once and parses only
    /// the values found; it is exact unless a dotted key (`"process.name"`)
    /// or an array of objects lies on a route, and then the document is
    /// read again by the exact iterator walk. Values off the named paths are
    /// skipped without being materialised.
    pub fn parse(&self, json: &[u8]) -> Result<Map<String, Value>, ProjectionError> {
        let text = std::str::from_utf8(json)
            .map_err(|e| ProjectionError(format!("invalid UTF-8: {e}")))?;
        let trimmed = text.trim_start();
        if !trimmed.starts_with('{') {
            return Err(ProjectionError("expected a JSON object".into()));
        }
        if let Some(ac) = &self.dotted {
            let bytes = trimmed.as_bytes();
            if ac
                .find_iter(trimmed)
                .any(|m| m.start() > 0 && bytes[m.start() - 1] == b'"')
            {
                return object(trimmed, &self.tree);
            }
        }
        let found = match sonic_rs::get_many(trimmed, &self.pointers) {
            Ok(f) => f,
            // let the exact walk produce the error message
            Err(_) => return object(trimmed, &self.tree),
        };
        let mut out = Map::new();
        for (i, (segs, named)) in self.routes.iter().enumerate() {
            let Some(lazy) = found.get(i).and_then(Option::as_ref) else {
                continue;
            };
            let raw = lazy.as_raw_str();
            if !named {
                if raw.starts_with('[') {
                    return object(trimmed, &self.tree);
                }
                continue;
            }
            let v: Value = serde_json::from_str(raw).map_err(|e| ProjectionError(e.to_string()))?;
            insert_at(&mut out, segs, v);
        }
        Ok(out)
    }
}

/// Every path of the trie in depth-first order; a named path's descendants
/// are left out (the named value is kept whole).
fn collect_routes(node: &FieldTree, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, bool)>) {
    let mut keys: Vec<&Box<str>> = node.children.keys().collect();
    keys.sort();
    for k in keys {
        let Some(child) = node.children.get(k) else {
            continue;
        };
        prefix.push(k.to_string());
        out.push((prefix.clone(), child.leaf));
        if !child.leaf {
            collect_routes(child, prefix, out);
        }
        prefix.pop();
    }
}

fn insert_at(map: &mut Map<String, Value>, segs: &[String], v: Value) {
    let Some((last, init)) = segs.split_last() else {
        return;
    };
    let mut cur = map;
    for s in init {
        let entry = cur
            .entry(s.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        cur = next;
    }
    cur.insert(last.clone(), v);
}

/// Parses a JSON object keeping only the paths in `tree`, by walking it
/// with sonic-rs's lazy iterators: values off the named paths are skipped
/// (validated, never materialised), values on them parsed with serde_json.
/// Exact for nested objects, dotted keys and arrays of objects.
pub fn parse_projected(
    json: &[u8],
    tree: &FieldTree,
) -> Result<Map<String, Value>, ProjectionError> {
    let text =
        std::str::from_utf8(json).map_err(|e| ProjectionError(format!("invalid UTF-8: {e}")))?;
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        return Err(ProjectionError("expected a JSON object".into()));
    }
    object(trimmed, tree)
}

/// Why a document could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectionError(pub String);

impl fmt::Display for ProjectionError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProjectionError {}

fn object(json: &str, node: &FieldTree) -> Result<Map<String, Value>, ProjectionError> {
    let mut out = Map::new();
    for item in sonic_rs::to_object_iter(json) {
        let (key, lazy) = item.map_err(|e| ProjectionError(e.to_string()))?;
        match node.step(&key) {
            None => {}
            Some(n) if n.leaf => {
                let v: Value = serde_json::from_str(lazy.as_raw_str())
                    .map_err(|e| ProjectionError(e.to_string()))?;
                out.insert(key.into_owned(), v);
            }
            Some(n) => {
                if let Some(v) = inner(lazy.as_raw_str(), n)? {
                    out.insert(key.into_owned(), v);
                }
            }
        }
    }
    Ok(out)
}

/// A value on the way to a named path: objects are projected, arrays are
/// projected element-wise, scalars cannot hold the path and are dropped.
fn inner(raw: &str, node: &FieldTree) -> Result<Option<Value>, ProjectionError> {
    match raw.as_bytes().first() {
        Some(b'{') => {
            let m = object(raw, node)?;
            Ok((!m.is_empty()).then_some(Value::Object(m)))
        }
        Some(b'[') => {
            let mut items = Vec::new();
            for elem in sonic_rs::to_array_iter(raw) {
                let elem = elem.map_err(|e| ProjectionError(e.to_string()))?;
                if let Some(v) = inner(elem.as_raw_str(), node)? {
                    items.push(v);
                }
            }
            Ok((!items.is_empty()).then_some(Value::Array(items)))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{lookup, FieldPath};
    use proptest::prelude::*;
    use serde_json::json;

    fn tree(paths: &[&str]) -> FieldTree {
        let mut t = FieldTree::new();
        for p in paths {
            t.insert(p);
        }
        t
    }

    fn values(doc: &Map<String, Value>, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        lookup(doc, &FieldPath::new(path), &mut out);
        out.into_iter().cloned().collect()
    }

    #[test]
    fn keeps_only_named_paths() {
        let doc = json!({"process": {"name": "a", "pid": 4, "args": ["x", "y"]}, "host": {"name": "h"}, "other": [1, 2]});
        let t = tree(&["process.name", "process.args"]);
        let p = parse_projected(doc.to_string().as_bytes(), &t).expect("parses");
        assert_eq!(
            Value::Object(p),
            json!({"process": {"name": "a", "args": ["x", "y"]}})
        );
    }

    #[test]
    fn dotted_keys_and_arrays_of_objects() {
        let doc = json!({"process.name": "a", "a": [{"b": 1, "c": 2}, {"b": 3}], "x.y": {"z": 1, "w": 2}});
        let t = tree(&["process.name", "a.b", "x.y.z"]);
        let p = parse_projected(doc.to_string().as_bytes(), &t).expect("parses");
        assert_eq!(values(&p, "process.name"), vec![json!("a")]);
        assert_eq!(values(&p, "a.b"), vec![json!(1), json!(3)]);
        assert_eq!(values(&p, "x.y.z"), vec![json!(1)]);
        assert!(values(&p, "x.y.w").is_empty());
    }

    #[test]
    fn fast_path_matches_the_walk() {
        let doc = json!({"process": {"name": "a", "pid": 4, "parent": {"name": "p"}}, "host": {"os": {"type": "windows"}}, "event": {"category": ["process"]}});
        let t = tree(&[
            "process.name",
            "process.parent.name",
            "host.os.type",
            "event.category",
            "missing.field",
        ]);
        let fast = Projection::new(t.clone())
            .parse(doc.to_string().as_bytes())
            .expect("parses");
        let walk = parse_projected(doc.to_string().as_bytes(), &t).expect("parses");
        assert_eq!(fast, walk);
        assert!(Projection::new(t)
            .parse(br#"{"process": {"name": "#)
            .is_err());
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(parse_projected(br#"{"a": "#, &tree(&["a"])).is_err());
        assert!(parse_projected(b"[1]", &tree(&["a"])).is_err());
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|i| json!(i)),
            "[a-c]{0,3}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map("[a-c](\\\\.[a-c])?", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn projection_answers_lookups_like_the_full_document(
            doc in prop::collection::btree_map("[a-c](\\\\.[a-c])?", arb_json(), 0..4),
            paths in prop::collection::vec("[a-c](\\\\.[a-c]){0,2}", 1..4),
        ) {
            let full: Map<String, Value> = doc.into_iter().collect();
            let text = Value::Object(full.clone()).to_string();
            let t = tree(&paths.iter().map(String::as_str).collect::<Vec<_>>());
            let p = parse_projected(text.as_bytes(), &t).expect("valid JSON");
            let fast = Projection::new(t.clone()).parse(text.as_bytes()).expect("valid JSON");
            for path in &paths {
                let via_fast: Vec<Value> = values(&fast, path).into_iter().filter(|v| !v.is_array() && !v.is_object()).collect();
                let want: Vec<Value> = values(&full, path).into_iter().filter(|v| !v.is_array() && !v.is_object()).collect();
                let got: Vec<Value> = values(&p, path).into_iter().filter(|v| !v.is_array() && !v.is_object()).collect();
                prop_assert_eq!(&via_fast, &want, "fast path, path {}", path);
                prop_assert_eq!(got, want, "path {}", path);
            }
        }
    }
}
