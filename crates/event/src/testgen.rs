//! Test support: JSON texts with repeated keys, escaped keys and numbers of
//! every kind, for the property tests of the parsers that must read JSON
//! exactly as `serde_json` does.

use proptest::prelude::*;
use serde_json::{json, Value};

/// A JSON value to render as text, with possibly repeated keys.
#[derive(Clone, Debug)]
pub(crate) enum J {
    Scalar(Value),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

pub(crate) fn render(j: &J, escape_keys: bool, out: &mut String) {
    match j {
        J::Scalar(v) => out.push_str(&v.to_string()),
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(item, escape_keys, out);
            }
            out.push(']');
        }
        J::Obj(entries) => {
            out.push_str("{ ");
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('"');
                for c in k.chars() {
                    // some key letters as \u escapes
                    if escape_keys && c == 'b' {
                        out.push_str("\\u0062");
                    } else {
                        out.push(c);
                    }
                }
                out.push_str("\":\n");
                render(v, escape_keys, out);
            }
            out.push('}');
        }
    }
}

pub(crate) fn arb_j() -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-c\\\\\"é\t]{0,3}".prop_map(Value::String),
    ]
    .prop_map(J::Scalar);
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(J::Arr),
            prop::collection::vec(("[a-c](\\.[a-c])?", inner), 0..5).prop_map(J::Obj),
        ]
    })
}
