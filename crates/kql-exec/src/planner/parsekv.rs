//! `parse-kv Expr as (Key:type, …) [with (…)]`: key/value extraction in the three modes the
//! parse-kv page documents.
//!
//! * **Specified delimiters** (`pair_delimiter`, `kv_delimiter`): the text splits into pairs
//!   at the pair delimiter and each pair into key and value at its first key/value
//!   delimiter; text with no key/value delimiter is not a pair. With `greedy=true` a value
//!   runs on to the next pair that has a key (the pairs in between are joined back with the
//!   pair delimiter).
//! * **No delimiters**: every character that is not alphanumeric separates; a key is a run of
//!   alphanumerics and its value the next run (or quoted text).
//! * **`regex`**: a pattern with two capture groups, key then value, matched repeatedly.
//!
//! `quote` (one character, or two for distinct open/close, repeatable) makes delimiters inside
//! quoted text literal; `escape` (repeatable) takes the next character literally inside quotes.
//! Keys and values are trimmed of surrounding whitespace and unquoted. Only the listed keys are
//! read; a key's first occurrence wins; a missing key is null (empty for strings).

use super::{col, err, names, Planner, Res};
use crate::udf;
use crate::value::{KType, Value};
use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{Expr as DfExpr, LogicalPlan, LogicalPlanBuilder};
use harrier_kql::ast::{self, Span};
use serde_json::Value as Json;
use std::sync::Arc;

/// How the text is split into pairs.
#[derive(Clone, Debug)]
pub(crate) enum KvMode {
    Delimited {
        pair: String,
        kv: String,
        greedy: bool,
    },
    Undelimited,
    Regex(regex::Regex),
}

/// The extraction settings of one `parse-kv`.
#[derive(Clone, Debug)]
pub(crate) struct KvSpec {
    pub mode: KvMode,
    /// (open, close) quote characters.
    pub quotes: Vec<(char, char)>,
    pub escapes: Vec<char>,
}

impl KvSpec {
    fn close_of(&self, c: char) -> Option<char> {
        self.quotes.iter().find(|(o, _)| *o == c).map(|(_, e)| *e)
    }

    /// The end (byte offset) of the quoted run starting at `start` (an open quote), just
    /// after its closing quote (or the end of `s`).
    fn quoted_end(&self, s: &str, start: usize, close: char) -> usize {
        let mut it = s[start..].char_indices().skip(1);
        while let Some((i, c)) = it.next() {
            if self.escapes.contains(&c) {
                it.next();
            } else if c == close {
                return start + i + c.len_utf8();
            }
        }
        s.len()
    }

    /// Splits `s` at each occurrence of `delim` outside quotes.
    fn split_outside_quotes<'a>(&self, s: &'a str, delim: &str) -> Vec<&'a str> {
        let mut out = Vec::new();
        let (mut from, mut i) = (0, 0);
        while i < s.len() {
            if s[i..].starts_with(delim) && !delim.is_empty() {
                out.push(&s[from..i]);
                i += delim.len();
                from = i;
                continue;
            }
            let Some(c) = s[i..].chars().next() else {
                break;
            };
            i = match self.close_of(c) {
                Some(close) => self.quoted_end(s, i, close),
                None => i + c.len_utf8(),
            };
        }
        out.push(&s[from..]);
        out
    }

    /// Trims `s` and, when it is one quoted run, removes the quotes and the escapes.
    fn unquote(&self, s: &str) -> String {
        let s = s.trim();
        let mut chars = s.chars();
        if let Some(first) = chars.next() {
            if let Some(close) = self.close_of(first) {
                if self.quoted_end(s, 0, close) == s.len() && s.len() > first.len_utf8() {
                    let inner = &s[first.len_utf8()..s.len() - close.len_utf8()];
                    return self.unescape(inner);
                }
            }
        }
        s.to_string()
    }

    fn unescape(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut it = s.chars();
        while let Some(c) = it.next() {
            if self.escapes.contains(&c) {
                if let Some(n) = it.next() {
                    out.push(n);
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// The (key, value) pairs of `s`, in order.
    pub fn pairs(&self, s: &str) -> Vec<(String, String)> {
        match &self.mode {
            KvMode::Delimited { pair, kv, greedy } => {
                let mut out: Vec<(String, String)> = Vec::new();
                let mut raw: Vec<(String, String)> = Vec::new();
                for p in self.split_outside_quotes(s, pair) {
                    let parts = self.split_outside_quotes(p, kv);
                    if parts.len() < 2 {
                        // not a pair: with greedy, part of the previous value
                        if *greedy {
                            if let Some((_, v)) = raw.last_mut() {
                                v.push_str(pair);
                                v.push_str(p);
                            }
                        }
                        continue;
                    }
                    let key = parts[0];
                    let value = &p[key.len() + kv.len()..];
                    raw.push((key.to_string(), value.to_string()));
                }
                for (k, v) in raw {
                    out.push((self.unquote(&k), self.unquote(&v)));
                }
                out
            }
            KvMode::Regex(re) => re
                .captures_iter(s)
                .filter_map(|c| {
                    let k = c.get(1)?.as_str();
                    let v = c.get(2).map_or("", |m| m.as_str());
                    Some((self.unquote(k), self.unquote(v)))
                })
                .collect(),
            KvMode::Undelimited => {
                // tokens: quoted runs and runs of alphanumerics
                let mut tokens: Vec<String> = Vec::new();
                let mut i = 0;
                while i < s.len() {
                    let Some(c) = s[i..].chars().next() else {
                        break;
                    };
                    if let Some(close) = self.close_of(c) {
                        let end = self.quoted_end(s, i, close);
                        tokens.push(self.unquote(&s[i..end]));
                        i = end;
                    } else if c.is_alphanumeric() || c == '_' {
                        let end = s[i..]
                            .char_indices()
                            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
                            .map_or(s.len(), |(j, _)| i + j);
                        tokens.push(s[i..end].to_string());
                        i = end;
                    } else {
                        i += c.len_utf8();
                    }
                }
                tokens
                    .windows(2)
                    .map(|w| (w[0].clone(), w[1].clone()))
                    .collect()
            }
        }
    }

    /// The value of each of `keys` in `s` (first occurrence), or None.
    pub fn extract(&self, s: &str, keys: &[String]) -> Vec<Option<String>> {
        let pairs = self.pairs(s);
        keys.iter()
            .map(|k| pairs.iter().find(|(pk, _)| pk == k).map(|(_, v)| v.clone()))
            .collect()
    }
}

impl Planner<'_> {
    fn kv_string(&mut self, with: &[ast::NamedValue], name: &str) -> Res<Vec<String>> {
        let mut out = Vec::new();
        for nv in with.iter().filter(|nv| nv.name.name == name) {
            out.push(self.const_value(&nv.value)?.to_kstring());
        }
        Ok(out)
    }

    pub(super) fn parse_kv(
        &mut self,
        plan: LogicalPlan,
        expr: &ast::Expr,
        columns: &[ast::ColumnDecl],
        with: &[ast::NamedValue],
        span: Span,
    ) -> Res<LogicalPlan> {
        for nv in with {
            let known = [
                "pair_delimiter",
                "kv_delimiter",
                "quote",
                "escape",
                "greedy",
                "regex",
            ];
            if !known.contains(&nv.name.name.as_str()) {
                return Err(err(
                    nv.name.span,
                    format!("parse-kv: unknown property `{}`", nv.name.name),
                ));
            }
        }
        let mut quotes = Vec::new();
        for q in self.kv_string(with, "quote")? {
            let cs: Vec<char> = q.chars().collect();
            match cs.as_slice() {
                [c] => quotes.push((*c, *c)),
                [o, c] => quotes.push((*o, *c)),
                _ => return Err(err(span, "parse-kv: `quote` takes one or two characters")),
            }
        }
        let mut escapes = Vec::new();
        for e in self.kv_string(with, "escape")? {
            let cs: Vec<char> = e.chars().collect();
            match cs.as_slice() {
                [c] => escapes.push(*c),
                _ => return Err(err(span, "parse-kv: `escape` takes one character")),
            }
        }
        let pair = self.kv_string(with, "pair_delimiter")?;
        let kv = self.kv_string(with, "kv_delimiter")?;
        let greedy = self
            .kv_string(with, "greedy")?
            .first()
            .is_some_and(|g| g.eq_ignore_ascii_case("true"));
        let regex = self.kv_string(with, "regex")?;
        let mode = if let Some(r) = regex.first() {
            let re =
                regex::Regex::new(r).map_err(|e| err(span, format!("parse-kv: bad regex: {e}")))?;
            if re.captures_len() != 3 {
                return Err(err(
                    span,
                    "parse-kv: the regex needs exactly two capture groups (key, value)",
                ));
            }
            KvMode::Regex(re)
        } else {
            match (pair.first(), kv.first()) {
                (Some(p), Some(k)) if !p.is_empty() && !k.is_empty() => KvMode::Delimited {
                    pair: p.clone(),
                    kv: k.clone(),
                    greedy,
                },
                (None, None) => KvMode::Undelimited,
                _ => {
                    return Err(err(
                        span,
                        "parse-kv: give both pair_delimiter and kv_delimiter, or neither",
                    ))
                }
            }
        };
        let spec = KvSpec {
            mode,
            quotes,
            escapes,
        };
        let mut cols: Vec<(String, KType)> = Vec::new();
        for c in columns {
            let t = KType::from_name(&c.ty.name)
                .ok_or_else(|| err(c.ty.span, format!("unknown type `{}`", c.ty.name)))?;
            cols.push((c.name.name.clone(), t));
        }
        let keys: Vec<String> = cols.iter().map(|(n, _)| n.clone()).collect();
        let x = self.scalar(expr, plan.schema())?;
        let f: udf::RowFn = Arc::new(move |a: &[Value]| {
            let s = a.first().map(|v| v.to_kstring()).unwrap_or_default();
            let vals = spec.extract(&s, &keys);
            Value::Dyn(Json::Array(
                vals.into_iter()
                    .map(|v| v.map_or(Json::Null, Json::String))
                    .collect(),
            ))
        });
        let caps = udf::call("parse_kv", DataType::LargeUtf8, f, vec![x], false);
        let have = names(&plan);
        let mut base: Vec<DfExpr> = have.iter().map(|n| col(n)).collect();
        base.push(caps.alias("__parse_kv"));
        let p = self.builder(LogicalPlanBuilder::from(plan).project(base))?;
        let item = |i: usize, t: KType| -> DfExpr {
            let f: udf::RowFn = Arc::new(move |a: &[Value]| match a.first() {
                Some(Value::Dyn(Json::Array(items))) => match items.get(i) {
                    Some(Json::String(s)) => Value::Str(s.clone()).convert(t),
                    _ => Value::Null.convert(t),
                },
                _ => Value::Null.convert(t),
            });
            udf::call(
                &format!("parse_kv_item{i}"),
                t.arrow(),
                f,
                vec![col("__parse_kv")],
                false,
            )
        };
        let mut out: Vec<DfExpr> = Vec::new();
        for n in &have {
            match cols.iter().position(|(c, _)| c == n) {
                Some(i) => out.push(item(i, cols[i].1).alias(n)),
                None => out.push(col(n)),
            }
        }
        for (i, (n, t)) in cols.iter().enumerate() {
            if !have.contains(n) && !cols[..i].iter().any(|(c, _)| c == n) {
                out.push(item(i, *t).alias(n));
            }
        }
        self.builder(LogicalPlanBuilder::from(p).project(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(mode: KvMode, quotes: &[(char, char)], escapes: &[char]) -> KvSpec {
        KvSpec {
            mode,
            quotes: quotes.to_vec(),
            escapes: escapes.to_vec(),
        }
    }

    fn keys(ks: &[&str]) -> Vec<String> {
        ks.iter().map(|s| s.to_string()).collect()
    }

    fn delimited(pair: &str, kv: &str, greedy: bool) -> KvMode {
        KvMode::Delimited {
            pair: pair.into(),
            kv: kv.into(),
            greedy,
        }
    }

    #[test]
    fn delimited_pairs_are_trimmed_and_quoted_values_keep_delimiters() {
        let s = spec(delimited(",", ":", false), &[], &[]);
        let got = s.extract(
            "ThreadId:458745723, Machine:Node001, Text: The service is up, Level: Info",
            &keys(&["Text", "ThreadId", "Machine", "Missing"]),
        );
        assert_eq!(
            got,
            [
                Some("The service is up".to_string()),
                Some("458745723".into()),
                Some("Node001".into()),
                None
            ]
        );
        let s = spec(delimited(" ", "=", false), &[('(', ')')], &[]);
        let got = s.extract(
            "bytes=125 failure=(connection aborted) (event time)=(2021-01-01 10:00:54)",
            &keys(&["event time", "failure"]),
        );
        assert_eq!(
            got,
            [
                Some("2021-01-01 10:00:54".to_string()),
                Some("connection aborted".into())
            ]
        );
        let s = spec(delimited(" ", "=", false), &[('"', '"')], &['\\']);
        let got = s.extract(
            r#"failure="the remote host sent \"bye!\"" time=1"#,
            &keys(&["failure"]),
        );
        assert_eq!(got, [Some(r#"the remote host sent "bye!""#.to_string())]);
    }

    #[test]
    fn greedy_values_run_to_the_next_key() {
        let text = "name=John Doe phone=555 5555 city=New York";
        let ks = keys(&["name", "phone", "city"]);
        let lazy = spec(delimited(" ", "=", false), &[], &[]).extract(text, &ks);
        assert_eq!(
            lazy,
            [
                Some("John".to_string()),
                Some("555".into()),
                Some("New".into())
            ]
        );
        let greedy = spec(delimited(" ", "=", true), &[], &[]).extract(text, &ks);
        assert_eq!(
            greedy,
            [
                Some("John Doe".to_string()),
                Some("555 5555".into()),
                Some("New York".into())
            ]
        );
    }

    #[test]
    fn undelimited_keys_take_the_next_word_or_quoted_text() {
        let s = spec(KvMode::Undelimited, &[('\'', '\'')], &['\\']);
        let got = s.extract(
            r"2021-01-01T10:00:34 [INFO] ThreadId:458745723, Machine:Node001, Text: 'The service \' is up'",
            &keys(&["Text", "ThreadId", "Machine"]),
        );
        assert_eq!(
            got,
            [
                Some("The service ' is up".to_string()),
                Some("458745723".into()),
                Some("Node001".into())
            ]
        );
    }

    #[test]
    fn regex_mode_reads_key_and_value_groups() {
        let re = regex::Regex::new(r#""([\w ]+)\s*:\s*([^"]*)""#).unwrap_or_else(|e| panic!("{e}"));
        let s = spec(KvMode::Regex(re), &[], &[]);
        let got = s.extract(
            r#"["referer url: https://h.com/?h=1", "advertiser id: 24fefbca"]"#,
            &keys(&["advertiser id", "referer url"]),
        );
        assert_eq!(
            got,
            [
                Some("24fefbca".to_string()),
                Some("https://h.com/?h=1".into())
            ]
        );
    }
}
