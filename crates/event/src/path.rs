use serde_json::{Map, Value};
use std::fmt;

/// A dotted field path such as `process.parent.name`, split once into segments.
///
/// Every path also carries a process-wide id (the same text always gets the
/// same id, see [`crate::flat`]), so that a [`crate::FlatView`] answers a
/// look-up with an array index instead of hashing the path's segments.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath {
    text: Box<str>,
    /// Byte offsets of each segment's end in `text` (the last one is `text.len()`).
    ends: Box<[u32]>,
    id: u32,
}

impl FieldPath {
    pub fn new(text: &str) -> FieldPath {
        let mut ends: Vec<u32> = text.match_indices('.').map(|(i, _)| i as u32).collect();
        ends.push(text.len() as u32);
        FieldPath {
            text: text.into(),
            ends: ends.into(),
            id: crate::flat::intern(text),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The path's process-wide id.
    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> + '_ {
        let mut start = 0usize;
        self.ends.iter().map(move |&end| {
            let s = &self.text[start..end as usize];
            start = end as usize + 1;
            s
        })
    }

    fn segment_count(&self) -> usize {
        self.ends.len()
    }

    /// The text of segments `from..to` joined with dots.
    fn span(&self, from: usize, to: usize) -> &str {
        let start = if from == 0 {
            0
        } else {
            self.ends[from - 1] as usize + 1
        };
        &self.text[start..self.ends[to - 1] as usize]
    }
}

impl Default for FieldPath {
    /// The empty path (names no field).
    fn default() -> FieldPath {
        FieldPath::new("")
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Collects every value at `path` in `doc`, as Elasticsearch reads `_source`:
/// `{"a": {"b": 1}}` and `{"a.b": 1}` both give `a.b = 1`; arrays on the way
/// (`{"a": [{"b": 1}, {"b": 2}]}`) and at the end flatten into several values.
/// JSON `null` values are kept (they are distinct from an absent field only for
/// mappings with a `null_value`).
pub fn lookup<'a>(doc: &'a Map<String, Value>, path: &FieldPath, out: &mut Vec<&'a Value>) {
    walk_object(doc, path, 0, out);
}

/// Calls `f` with every value at `path` (as [`lookup`] would collect them),
/// stopping early when `f` returns `true`. Returns whether it stopped early.
/// Allocates nothing.
pub fn visit<'a>(
    doc: &'a Map<String, Value>,
    path: &FieldPath,
    f: &mut dyn FnMut(&'a Value) -> bool,
) -> bool {
    visit_object(doc, path, 0, f)
}

fn visit_object<'a>(
    obj: &'a Map<String, Value>,
    path: &FieldPath,
    from: usize,
    f: &mut dyn FnMut(&'a Value) -> bool,
) -> bool {
    for to in from + 1..=path.segment_count() {
        if let Some(v) = obj.get(path.span(from, to)) {
            if visit_value(v, path, to, f) {
                return true;
            }
        }
    }
    false
}

fn visit_value<'a>(
    v: &'a Value,
    path: &FieldPath,
    at: usize,
    f: &mut dyn FnMut(&'a Value) -> bool,
) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|item| visit_value(item, path, at, f)),
        Value::Object(o) if at < path.segment_count() => visit_object(o, path, at, f),
        _ if at == path.segment_count() => f(v),
        _ => false,
    }
}

/// The first value at `path`, if any.
pub fn lookup_first<'a>(doc: &'a Map<String, Value>, path: &FieldPath) -> Option<&'a Value> {
    let mut out = Vec::new();
    lookup(doc, path, &mut out);
    out.into_iter().next()
}

fn walk_object<'a>(
    obj: &'a Map<String, Value>,
    path: &FieldPath,
    from: usize,
    out: &mut Vec<&'a Value>,
) {
    let n = path.segment_count();
    // Try the longest dotted key first only when the object has keys with dots;
    // the common case is one key per segment.
    for to in from + 1..=n {
        if let Some(v) = obj.get(path.span(from, to)) {
            walk_value(v, path, to, out);
        }
    }
}

fn walk_value<'a>(v: &'a Value, path: &FieldPath, at: usize, out: &mut Vec<&'a Value>) {
    if at == path.segment_count() {
        match v {
            Value::Array(items) => {
                for item in items {
                    flatten_into(item, out);
                }
            }
            _ => out.push(v),
        }
        return;
    }
    match v {
        Value::Object(o) => walk_object(o, path, at, out),
        Value::Array(items) => {
            for item in items {
                walk_value(item, path, at, out);
            }
        }
        _ => {}
    }
}

fn flatten_into<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => {
            for item in items {
                flatten_into(item, out);
            }
        }
        _ => out.push(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn get(doc: Value, path: &str) -> Vec<Value> {
        let Value::Object(map) = doc else {
            panic!("object")
        };
        let mut out = Vec::new();
        lookup(&map, &FieldPath::new(path), &mut out);
        out.into_iter().cloned().collect()
    }

    #[test]
    fn nested_and_dotted_keys_are_the_same_field() {
        assert_eq!(
            get(json!({"process": {"pid": 4}}), "process.pid"),
            vec![json!(4)]
        );
        assert_eq!(
            get(json!({"process.pid": 4}), "process.pid"),
            vec![json!(4)]
        );
        assert_eq!(
            get(
                json!({"process": {"parent.name": "a"}}),
                "process.parent.name"
            ),
            vec![json!("a")]
        );
    }

    #[test]
    fn arrays_make_fields_multi_valued() {
        assert_eq!(
            get(json!({"a": [1, [2, 3]]}), "a"),
            vec![json!(1), json!(2), json!(3)]
        );
        assert_eq!(
            get(json!({"a": [{"b": 1}, {"b": 2}, {"c": 3}]}), "a.b"),
            vec![json!(1), json!(2)]
        );
    }

    #[test]
    fn absent_and_null_differ() {
        assert!(get(json!({"a": 1}), "b").is_empty());
        assert_eq!(get(json!({"a": null}), "a"), vec![Value::Null]);
        assert!(get(json!({"a": 1}), "a.b").is_empty());
    }

    #[test]
    fn segments_split_on_dots() {
        let p = FieldPath::new("a.b.c");
        assert_eq!(p.segments().collect::<Vec<_>>(), vec!["a", "b", "c"]);
        assert_eq!(p.span(1, 3), "b.c");
    }
}
