//! Reading only the fields rules use.
//!
//! Building a full `serde_json::Value` tree per event costs most of the time
//! of a hunt (allocation and hashing for every key of every event). A
//! [`FieldTree`] names the paths the loaded rules read; [`parse_projected`]
//! scans a JSON document and keeps only those paths (nested objects and
//! dotted keys alike), skipping everything else without allocating. The
//! result answers every lookup of a named path exactly as the full document
//! would.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
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

/// Parses a JSON object keeping only the paths in `tree`.
pub fn parse_projected(
    json: &[u8],
    tree: &FieldTree,
) -> Result<Map<String, Value>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let map = ObjectSeed(tree).deserialize(&mut de)?;
    de.end()?;
    Ok(map)
}

struct ObjectSeed<'t>(&'t FieldTree);

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(ObjectVisitor(self.0))
    }
}

struct ObjectVisitor<'t>(&'t FieldTree);

impl<'de> Visitor<'de> for ObjectVisitor<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = access.next_key::<Key<'de>>()? {
            match self.0.step(key.as_str()) {
                None => {
                    access.next_value::<IgnoredAny>()?;
                }
                Some(node) if node.leaf => {
                    let v: Value = access.next_value()?;
                    out.insert(key.into_string(), v);
                }
                Some(node) => {
                    if let Some(v) = access.next_value_seed(ValueSeed(node))? {
                        out.insert(key.into_string(), v);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// A value on the way to a named path: objects are projected, arrays are
/// projected element-wise, scalars cannot hold the path and are dropped.
struct ValueSeed<'t>(&'t FieldTree);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ValueVisitor(self.0))
    }
}

struct ValueVisitor<'t>(&'t FieldTree);

impl<'de> Visitor<'de> for ValueVisitor<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
        let m = ObjectVisitor(self.0).visit_map(access)?;
        Ok((!m.is_empty()).then_some(Value::Object(m)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = access.next_element_seed(ValueSeed(self.0))? {
            if let Some(v) = v {
                items.push(v);
            }
        }
        Ok((!items.is_empty()).then_some(Value::Array(items)))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// An object key, borrowed from the input when it has no escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }

    fn into_string(self) -> String {
        match self {
            Key::Borrowed(s) => s.to_string(),
            Key::Owned(s) => s,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(s))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(s.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(s))
            }
        }
        d.deserialize_str(V)
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
            for path in &paths {
                let want: Vec<Value> = values(&full, path).into_iter().filter(|v| !v.is_array() && !v.is_object()).collect();
                let got: Vec<Value> = values(&p, path).into_iter().filter(|v| !v.is_array() && !v.is_object()).collect();
                prop_assert_eq!(got, want, "path {}", path);
            }
        }
    }
}
