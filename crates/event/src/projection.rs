//! Reading only the fields rules use.
//!
//! Building a full `serde_json::Value` tree per event costs most of the time
//! of a hunt (allocation and hashing for every key of every event). A
//! [`FieldTree`] names the paths the loaded rules read; [`parse_projected`]
//! scans a JSON document once and keeps only those paths (nested objects,
//! dotted keys and arrays of objects alike). Values off the named paths are
//! validated and skipped without being built; only the kept values are
//! allocated. The result answers every lookup of a named path exactly as the
//! full document would (property tests and a fuzz target check this against
//! `serde_json`), and a document is accepted exactly when
//! `serde_json::from_str::<Value>` accepts it.

use ahash::AHashMap;
use serde_json::{Map, Number, Value};
use std::fmt;

/// A trie of dotted field paths.
#[derive(Clone, Debug, Default)]
pub struct FieldTree {
    children: AHashMap<Box<str>, FieldTree>,
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

    /// Walks a (possibly dotted) key from this node; a named path met on
    /// the way keeps the whole value.
    #[inline]
    fn step(&self, key: &str) -> Option<&FieldTree> {
        if self.leaf {
            return Some(self);
        }
        if !key.as_bytes().contains(&b'.') {
            return self.children.get(key);
        }
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

/// A set of paths ready to parse documents with.
pub struct Projection {
    tree: FieldTree,
}

impl Projection {
    pub fn new(tree: FieldTree) -> Projection {
        Projection { tree }
    }

    pub fn tree(&self) -> &FieldTree {
        &self.tree
    }

    /// Parses a JSON object keeping only the named paths (see [`parse_projected`]).
    pub fn parse(&self, json: &[u8]) -> Result<Map<String, Value>, ProjectionError> {
        parse_projected(json, &self.tree)
    }
}

/// Parses a JSON object keeping only the paths in `tree`, in one pass:
/// keys on the way to a named path are descended into (objects, dotted keys,
/// arrays of objects), the values of named paths are built, everything else
/// is validated and skipped. Duplicate keys behave as in `serde_json` (the
/// last one wins). Errors exactly when `serde_json::from_slice::<Value>`
/// would (malformed JSON, nesting deeper than 127, numbers out of range,
/// lone surrogates, trailing characters), or when the document is not an
/// object.
pub fn parse_projected(
    json: &[u8],
    tree: &FieldTree,
) -> Result<Map<String, Value>, ProjectionError> {
    let text =
        std::str::from_utf8(json).map_err(|e| ProjectionError(format!("invalid UTF-8: {e}")))?;
    let mut s = Scanner {
        b: text.as_bytes(),
        s: text,
        i: 0,
    };
    s.ws();
    if s.peek() != Some(b'{') {
        return s.err("expected a JSON object");
    }
    let out = s.object(tree, 0)?;
    s.ws();
    if s.i != s.b.len() {
        return s.err("trailing characters");
    }
    Ok(out)
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

pub(crate) type Res<T> = Result<T, ProjectionError>;

/// `serde_json`'s nesting limit: a container opened at this depth is an error.
const MAX_DEPTH: u32 = 128;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Bytes of `w` that end a run of plain string content (`"`, `\` or a
/// control character) have their high bit set; the lowest such byte is exact.
#[inline]
fn specials(w: u64) -> u64 {
    let quote = w ^ (ONES * u64::from(b'"'));
    let slash = w ^ (ONES * u64::from(b'\\'));
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    (zero(quote) | zero(slash) | (w.wrapping_sub(ONES * 0x20) & !w)) & HIGHS
}

pub(crate) struct Scanner<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) s: &'a str,
    pub(crate) i: usize,
}

/// A string token: the byte range of its content and whether it has escapes.
#[derive(Clone, Copy)]
pub(crate) struct Str {
    start: usize,
    end: usize,
    escaped: bool,
}

impl Str {
    /// The string's value, from `s`, the text it was scanned in; `None`
    /// only for an escape the scanner would have rejected.
    pub(crate) fn text_in(self, s: &str) -> Option<std::borrow::Cow<'_, str>> {
        let raw = s.get(self.start..self.end).unwrap_or("");
        if !self.escaped {
            return Some(raw.into());
        }
        unescape(raw).map(Into::into)
    }

    /// The string's text in `s` when it has no escapes (then the text is
    /// its value).
    pub(crate) fn plain_in(self, s: &str) -> Option<&str> {
        match self.escaped {
            false => s.get(self.start..self.end),
            true => None,
        }
    }
}

impl<'a> Scanner<'a> {
    #[cold]
    pub(crate) fn err<T>(&self, what: &str) -> Res<T> {
        Err(ProjectionError(format!("{what} at byte {}", self.i)))
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    pub(crate) fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    /// At an opening quote: validates the string, leaves `i` after the closing quote.
    #[inline]
    pub(crate) fn string(&mut self) -> Res<Str> {
        self.i += 1;
        let start = self.i;
        let mut escaped = false;
        loop {
            while let Some(chunk) = self.b.get(self.i..self.i + 8) {
                let mut w = [0u8; 8];
                w.copy_from_slice(chunk);
                let m = specials(u64::from_le_bytes(w));
                if m != 0 {
                    self.i += (m.trailing_zeros() / 8) as usize;
                    break;
                }
                self.i += 8;
            }
            match self.peek() {
                Some(b'"') => {
                    let end = self.i;
                    self.i += 1;
                    return Ok(Str {
                        start,
                        end,
                        escaped,
                    });
                }
                Some(b'\\') => {
                    escaped = true;
                    self.escape()?;
                }
                Some(c) if c < 0x20 => return self.err("control character in string"),
                Some(_) => self.i += 1,
                None => return self.err("unterminated string"),
            }
        }
    }

    /// At a backslash: validates one escape as `serde_json` does (surrogates
    /// must pair), leaves `i` after it.
    fn escape(&mut self) -> Res<()> {
        self.i += 1;
        match self.peek() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.i += 1;
                Ok(())
            }
            Some(b'u') => {
                self.i += 1;
                let n = self.hex4()?;
                if (0xDC00..=0xDFFF).contains(&n) {
                    return self.err("lone trailing surrogate");
                }
                if (0xD800..=0xDBFF).contains(&n) {
                    if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                        return self.err("unpaired surrogate");
                    }
                    self.i += 2;
                    let n2 = self.hex4()?;
                    if !(0xDC00..=0xDFFF).contains(&n2) {
                        return self.err("unpaired surrogate");
                    }
                }
                Ok(())
            }
            _ => self.err("invalid escape"),
        }
    }

    fn hex4(&mut self) -> Res<u16> {
        let Some(digits) = self.b.get(self.i..self.i + 4) else {
            return self.err("short unicode escape");
        };
        let mut n = 0u16;
        for &d in digits {
            let v = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return self.err("invalid unicode escape"),
            };
            n = (n << 4) | u16::from(v);
        }
        self.i += 4;
        Ok(n)
    }

    /// The text of a validated string.
    #[inline]
    pub(crate) fn text(&self, t: Str) -> Res<std::borrow::Cow<'a, str>> {
        t.text_in(self.s)
            .ok_or_else(|| ProjectionError(format!("bad escape in string at byte {}", t.start)))
    }

    /// At `-` or a digit: validates a number's syntax, leaves `i` after it.
    /// Returns whether it is a plain integer short enough to read directly.
    fn number(&mut self) -> Res<bool> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                while matches!(self.peek(), Some(b'0'..=b'9')) {
                    self.i += 1;
                }
            }
            _ => return self.err("invalid number"),
        }
        let int_end = self.i;
        let mut plain = true;
        if self.peek() == Some(b'.') {
            plain = false;
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return self.err("invalid number");
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            plain = false;
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return self.err("invalid number");
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        // `-0` is a float in serde_json; long integers may become floats
        let digits = int_end - start - usize::from(self.b[start] == b'-');
        Ok(plain && digits <= 18 && !self.b[start..].starts_with(b"-0"))
    }

    /// A number token as `serde_json` reads it (range errors included).
    fn number_value(&mut self) -> Res<Value> {
        let start = self.i;
        let plain = self.number()?;
        let tok = &self.s[start..self.i];
        if plain {
            let mut n: u64 = 0;
            for &d in tok.trim_start_matches('-').as_bytes() {
                n = n * 10 + u64::from(d - b'0');
            }
            return Ok(if tok.starts_with('-') {
                // at most 18 digits: fits
                Value::Number(Number::from(-(n as i64)))
            } else {
                Value::Number(Number::from(n))
            });
        }
        serde_json::from_str::<Value>(tok)
            .map_err(|e| ProjectionError(format!("{e} in number at byte {start}")))
    }

    fn literal(&mut self, lit: &[u8]) -> Res<()> {
        if self.b.get(self.i..self.i + lit.len()) == Some(lit) {
            self.i += lit.len();
            Ok(())
        } else {
            self.err("invalid literal")
        }
    }

    /// Validates and skips one value (after whitespace).
    pub(crate) fn skip(&mut self, depth: u32) -> Res<()> {
        match self.peek() {
            Some(b'"') => self.string().map(|_| ()),
            Some(b'{') => {
                self.open(depth)?;
                if self.first_entry()? {
                    loop {
                        self.key()?;
                        self.ws();
                        self.skip(depth + 1)?;
                        if !self.next_entry(b'}')? {
                            break;
                        }
                    }
                }
                Ok(())
            }
            Some(b'[') => {
                self.open(depth)?;
                if self.first_item()? {
                    loop {
                        self.skip(depth + 1)?;
                        if !self.next_entry(b']')? {
                            break;
                        }
                    }
                }
                Ok(())
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                if self.number()? {
                    Ok(())
                } else {
                    // range errors: as serde_json reads the number
                    serde_json::from_str::<Value>(&self.s[start..self.i])
                        .map(|_| ())
                        .map_err(|e| ProjectionError(format!("{e} in number at byte {start}")))
                }
            }
            Some(_) => self.err("expected a value"),
            None => self.err("unexpected end of input"),
        }
    }

    /// At `{` or `[` of a container at `depth` (0 for the document).
    #[inline]
    pub(crate) fn open(&mut self, depth: u32) -> Res<()> {
        if depth + 1 >= MAX_DEPTH {
            return self.err("recursion limit exceeded");
        }
        self.i += 1;
        Ok(())
    }

    /// After `{`: whether an entry follows (else `}` is consumed).
    #[inline]
    pub(crate) fn first_entry(&mut self) -> Res<bool> {
        self.ws();
        match self.peek() {
            Some(b'}') => {
                self.i += 1;
                Ok(false)
            }
            Some(b'"') => Ok(true),
            _ => self.err("expected a key"),
        }
    }

    /// After `[`: whether an item follows (else `]` is consumed); leaves
    /// `i` at the item.
    #[inline]
    pub(crate) fn first_item(&mut self) -> Res<bool> {
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// At a key's quote: reads it and the colon.
    #[inline]
    pub(crate) fn key(&mut self) -> Res<Str> {
        let k = self.string()?;
        self.ws();
        if self.peek() != Some(b':') {
            return self.err("expected ':'");
        }
        self.i += 1;
        Ok(k)
    }

    /// After a value: `,` (true, positioned at the next key or item) or the
    /// closing bracket (false, consumed).
    #[inline]
    pub(crate) fn next_entry(&mut self, close: u8) -> Res<bool> {
        self.ws();
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                self.ws();
                if close == b'}' && self.peek() != Some(b'"') {
                    return self.err("expected a key");
                }
                Ok(true)
            }
            Some(c) if c == close => {
                self.i += 1;
                Ok(false)
            }
            _ => self.err("expected ',' or a closing bracket"),
        }
    }

    /// Builds one value (after whitespace).
    pub(crate) fn build(&mut self, depth: u32) -> Res<Value> {
        match self.peek() {
            Some(b'"') => {
                let t = self.string()?;
                Ok(Value::String(self.text(t)?.into_owned()))
            }
            Some(b'{') => {
                self.open(depth)?;
                let mut m = Map::new();
                if self.first_entry()? {
                    loop {
                        let k = self.key()?;
                        let k = self.text(k)?.into_owned();
                        self.ws();
                        let v = self.build(depth + 1)?;
                        m.insert(k, v);
                        if !self.next_entry(b'}')? {
                            break;
                        }
                    }
                }
                Ok(Value::Object(m))
            }
            Some(b'[') => {
                self.open(depth)?;
                let mut items = Vec::new();
                if self.first_item()? {
                    loop {
                        items.push(self.build(depth + 1)?);
                        if !self.next_entry(b']')? {
                            break;
                        }
                    }
                }
                Ok(Value::Array(items))
            }
            Some(b't') => self.literal(b"true").map(|_| Value::Bool(true)),
            Some(b'f') => self.literal(b"false").map(|_| Value::Bool(false)),
            Some(b'n') => self.literal(b"null").map(|_| Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number_value(),
            Some(_) => self.err("expected a value"),
            None => self.err("unexpected end of input"),
        }
    }

    /// At `{`: the object projected on `node` (whose children are the keys
    /// to keep or descend into). A later duplicate key replaces an earlier
    /// one, as in the full document.
    fn object(&mut self, node: &FieldTree, depth: u32) -> Res<Map<String, Value>> {
        self.open(depth)?;
        let mut out = Map::new();
        if !self.first_entry()? {
            return Ok(out);
        }
        loop {
            let k = self.key()?;
            self.ws();
            let key = self.text(k)?;
            match node.step(&key) {
                // (the same key always steps the same way: nothing kept to replace)
                None => self.skip(depth + 1)?,
                Some(n) if n.leaf => {
                    let v = self.build(depth + 1)?;
                    out.insert(key.into_owned(), v);
                }
                Some(n) => match self.inner(n, depth + 1)? {
                    Some(v) => {
                        out.insert(key.into_owned(), v);
                    }
                    // an earlier duplicate is replaced by nothing
                    None => {
                        out.remove(key.as_ref());
                    }
                },
            }
            if !self.next_entry(b'}')? {
                return Ok(out);
            }
        }
    }

    /// A value on the way to a named path: objects are projected, arrays
    /// element-wise, scalars cannot hold the path and are dropped (as are
    /// objects and arrays left empty).
    fn inner(&mut self, node: &FieldTree, depth: u32) -> Res<Option<Value>> {
        match self.peek() {
            Some(b'{') => {
                let m = self.object(node, depth)?;
                Ok((!m.is_empty()).then_some(Value::Object(m)))
            }
            Some(b'[') => {
                self.open(depth)?;
                let mut items = Vec::new();
                if self.first_item()? {
                    loop {
                        if let Some(v) = self.inner(node, depth + 1)? {
                            items.push(v);
                        }
                        if !self.next_entry(b']')? {
                            break;
                        }
                    }
                }
                Ok((!items.is_empty()).then_some(Value::Array(items)))
            }
            _ => self.skip(depth).map(|_| None),
        }
    }
}

/// Decodes the content of a validated string with escapes; `None` if an
/// escape is malformed (validation makes that unreachable).
fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    // a byte loop: the runs between escapes are short (Windows paths), and
    // a character search costs more per call than such a run
    while let Some(pos) = rest.bytes().position(|c| c == b'\\') {
        out.push_str(&rest[..pos]);
        let b = rest.as_bytes();
        let esc = *b.get(pos + 1)?;
        rest = rest.get(pos + 2..)?;
        let c = match esc {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let n = u32::from_str_radix(rest.get(..4)?, 16).ok()?;
                rest = &rest[4..];
                if (0xD800..0xDC00).contains(&n) {
                    let lo = rest.strip_prefix("\\u")?;
                    let n2 = u32::from_str_radix(lo.get(..4)?, 16).ok()?;
                    rest = &lo[4..];
                    char::from_u32(0x10000 + ((n - 0xD800) << 10) + n2.checked_sub(0xDC00)?)?
                } else {
                    char::from_u32(n)?
                }
            }
            _ => return None,
        };
        out.push(c);
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testgen::{arb_j, render, J};
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

    /// Every named path looks up the same values in the projection as in
    /// the full document (objects included), and both parsers accept the
    /// same texts.
    fn agrees(text: &str, paths: &[&str]) -> Result<(), TestCaseError> {
        let t = tree(paths);
        let got = parse_projected(text.as_bytes(), &t);
        let full = serde_json::from_str::<Value>(text);
        match (full, got) {
            (Ok(Value::Object(full)), Ok(p)) => {
                for path in paths {
                    prop_assert_eq!(
                        values(&p, path),
                        values(&full, path),
                        "path {} in {}",
                        path,
                        text
                    );
                }
            }
            (Ok(Value::Object(_)), Err(e)) => {
                prop_assert!(false, "projection rejects {}: {}", text, e)
            }
            (Ok(_), got) => prop_assert!(got.is_err(), "not an object: {}", text),
            (Err(e), got) => prop_assert!(
                got.is_err(),
                "serde_json rejects {} ({}), projection accepts",
                text,
                e
            ),
        }
        Ok(())
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
        let fast = Projection::new(t)
            .parse(doc.to_string().as_bytes())
            .expect("parses");
        assert_eq!(fast, p);
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let paths = ["a.b", "c", "d.e"];
        for text in [
            r#"{"a": {"b": 1}, "a": 5}"#,
            r#"{"a": {"b": 1}, "a": {"x": 2}}"#,
            r#"{"a": {"b": 1}, "a": {"b": 2}}"#,
            r#"{"c": 1, "c": [2, 3]}"#,
            r#"{"d": [{"e": 1}], "d": []}"#,
            r#"{"a": {"b": 1, "b": {"z": null}}}"#,
        ] {
            agrees(text, &paths).expect("agrees");
        }
        let p = parse_projected(br#"{"a": {"b": 1}, "a": 5, "c": 1, "c": 2}"#, &tree(&paths))
            .expect("parses");
        assert!(values(&p, "a.b").is_empty());
        assert_eq!(values(&p, "c"), vec![json!(2)]);
    }

    #[test]
    fn escapes_in_keys_and_values() {
        let text = r#"{"pro\u0063ess": {"na\u006de": "C:\\Windows\\x\"\u00e9\ud83d\ude00", "args": ["\t"]}, "a\\.b": 1}"#;
        agrees(text, &["process.name", "process.args", "a\\.b", "a\\"]).expect("agrees");
        let p = parse_projected(text.as_bytes(), &tree(&["process.name"])).expect("parses");
        assert_eq!(
            values(&p, "process.name"),
            vec![json!("C:\\Windows\\x\"é😀")]
        );
    }

    #[test]
    fn numbers_as_serde_json_reads_them() {
        let text = r#"{"a": [0, -0, 1, -1, 123456789012345678, 1234567890123456789012, -9223372036854775808, 1.5, 1e3, -2.5E-3, 18446744073709551615, 18446744073709551616]}"#;
        agrees(text, &["a"]).expect("agrees");
        agrees(r#"{"a": 1e400}"#, &["a"]).expect("range error either way");
        agrees(r#"{"b": 1e400}"#, &["a"]).expect("range error either way, skipped");
    }

    #[test]
    fn malformed_input_is_an_error() {
        let t = tree(&["a", "b.c"]);
        for text in [
            r#"{"a": "#,
            "[1]",
            "",
            "  ",
            r#"{"x": 01}"#,
            r#"{"x": 1.}"#,
            r#"{"x": -}"#,
            r#"{"x": [1,]}"#,
            r#"{"x": 1,}"#,
            r#"{"x" 1}"#,
            r#"{"x": tru}"#,
            r#"{"x": "\q"}"#,
            r#"{"x": "\ud800"}"#,
            r#"{"x": "\udc00"}"#,
            r#"{"x": "\ud800\u0041"}"#,
            "{\"x\": \"a\u{1}b\"}",
            r#"{"a": 1} x"#,
            r#"{"a": 1}}"#,
            r#"{x: 1}"#,
            r#"{"b": {"c": 1, "d": [1 2]}}"#,
        ] {
            assert!(parse_projected(text.as_bytes(), &t).is_err(), "{text}");
            agrees(text, &["a", "b.c"]).expect("serde_json agrees");
        }
        assert!(parse_projected(b"{\"a\": \"\xff\"}", &t).is_err());
    }

    #[test]
    fn nesting_limit_as_serde_json() {
        for depth in [126, 127, 128, 129] {
            for paths in [&["a"][..], &["x"][..], &["a.a.a.a"][..]] {
                let text = format!("{}{}1{}", "{\"a\":".repeat(depth), "", "}".repeat(depth));
                agrees(&text, paths).expect("agrees");
                let text = format!("{{\"a\":{}1{}}}", "[".repeat(depth), "]".repeat(depth));
                agrees(&text, paths).expect("agrees");
            }
        }
    }

    proptest! {
        #[test]
        fn projection_answers_lookups_like_the_full_document(
            entries in prop::collection::vec(("[a-c](\\.[a-c])?", arb_j()), 0..5),
            paths in prop::collection::vec("[a-c](\\.[a-c]){0,2}", 1..4),
            escape_keys in any::<bool>(),
        ) {
            let mut text = String::new();
            render(&J::Obj(entries), escape_keys, &mut text);
            let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
            agrees(&text, &paths)?;
        }

        /// Cutting a document anywhere: both parsers reject (or accept) it alike.
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
            agrees(&text[..at], &["a", "a.b", "b.c"])?;
        }
    }
}
