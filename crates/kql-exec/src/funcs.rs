//! KQL scalar operators and functions, and aggregation functions.
//!
//! Plain numeric arithmetic, comparisons of like types, `and`/`or` and the common aggregates
//! (`count`, `sum`, `avg`, `min`, `max`, `dcount`) map onto DataFusion's own expressions.
//! Everything with Kusto-specific semantics (string operators, temporal arithmetic, dynamic
//! values, most functions) is a row-wise function from [`crate::udf`].

use crate::strings;
use crate::udf::{self, RowFn};
use crate::value::{self, format_datetime, KType, Value};
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Timelike, Utc};
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::{lit, Expr as DfExpr, ExprFunctionExt};
use harrier_kql::ast::{BinaryOp, ListOp};
use serde_json::{Map, Value as Json};
use std::cmp::Ordering;
use std::sync::{Arc, Mutex};

pub const UNKNOWN: &str = "unknown function";

fn rf(f: impl Fn(&[Value]) -> Value + Send + Sync + 'static) -> RowFn {
    Arc::new(f)
}

fn call(name: &str, t: KType, f: RowFn, args: Vec<DfExpr>) -> DfExpr {
    if args.is_empty() {
        // DataFusion has no zero-argument variadic UDFs; a deterministic function of no
        // arguments is a constant
        return DfExpr::Literal(crate::value::scalar(t, f(&[])));
    }
    udf::call(name, t.arrow(), f, args, false)
}

fn arg(a: &[Value], i: usize) -> Value {
    a.get(i).cloned().unwrap_or(Value::Null)
}

fn sarg(a: &[Value], i: usize) -> String {
    a.get(i).map(|v| v.to_kstring()).unwrap_or_default()
}

/// Orders values: numbers numerically, strings ordinally, nulls first.
pub fn cmp_values(a: &Value, b: &Value) -> Ordering {
    let (a, b) = (a.clone().undyn(), b.clone().undyn());
    match (&a, &b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Long(x), Value::Long(y)) => x.cmp(y),
        (Value::DateTime(x), Value::DateTime(y)) | (Value::TimeSpan(x), Value::TimeSpan(y)) => {
            x.cmp(y)
        }
        (Value::Str(x), Value::Str(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::DateTime(x), Value::Str(s)) => match value::parse_datetime(s) {
            Some(y) => x.cmp(&y),
            None => Ordering::Greater,
        },
        (Value::Str(s), Value::DateTime(y)) => match value::parse_datetime(s) {
            Some(x) => x.cmp(y),
            None => Ordering::Less,
        },
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => a.to_kstring().cmp(&b.to_kstring()),
        },
    }
}

/// The `indexof`/`array_index_of` search over `n` items for a lookup `w` items long, with the
/// optional arguments `[start, length, occurrence]`: a negative start counts from the end,
/// a negative length searches to the end, and the lookup must lie wholly inside the window.
/// Each further occurrence is searched in a new window of `length` items that starts just after
/// the previous match (the documented `indexof("abcdefgabcdefg", "cde", 1, 10, 2)` is 9).
/// -1 when not found.
fn nth_index(n: usize, w: usize, opt: &[Value], is_at: impl Fn(usize) -> bool) -> i64 {
    let start = opt.first().and_then(Value::as_i64).unwrap_or(0);
    let len = opt.get(1).and_then(Value::as_i64).unwrap_or(-1);
    let occ = opt.get(2).and_then(Value::as_i64).unwrap_or(1);
    if occ < 1 {
        return -1;
    }
    let mut from = if start < 0 {
        (n as i64 + start).max(0) as usize
    } else {
        start as usize
    };
    let mut seen = 0;
    while from <= n {
        let end = if len < 0 {
            n
        } else {
            from.saturating_add(len as usize).min(n)
        };
        let found = (from..end).find(|&i| i + w <= end && is_at(i));
        match found {
            Some(i) => {
                seen += 1;
                if seen == occ {
                    return i as i64;
                }
                from = i + 1;
            }
            None => return -1,
        }
    }
    -1
}

/// The JSON value with every property bag's keys in sorted order.
fn sort_keys(j: Json) -> Json {
    match j {
        Json::Object(m) => {
            let mut items: Vec<(String, Json)> = m.into_iter().collect();
            items.sort_by(|x, y| x.0.cmp(&y.0));
            Json::Object(items.into_iter().map(|(k, v)| (k, sort_keys(v))).collect())
        }
        Json::Array(v) => Json::Array(v.into_iter().map(sort_keys).collect()),
        j => j,
    }
}

fn values_equal(a: &Value, b: &Value) -> bool {
    let (a, b) = (a.clone().undyn(), b.clone().undyn());
    match (&a, &b) {
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Dyn(x), Value::Dyn(y)) => x == y,
        _ => cmp_values(&a, &b) == Ordering::Equal,
    }
}

// ------------------------------------------------------------------ operators

fn numeric_result(lt: KType, rt: KType) -> KType {
    if lt == KType::Real || rt == KType::Real {
        KType::Real
    } else {
        KType::Long
    }
}

/// Arithmetic with Kusto's typing of datetimes, timespans and dynamic values.
pub fn arith(op: BinaryOp, l: DfExpr, lt: KType, r: DfExpr, rt: KType) -> DfExpr {
    use KType::*;
    let ret = match (op, lt, rt) {
        (BinaryOp::Sub, DateTime, DateTime) => TimeSpan,
        (BinaryOp::Add | BinaryOp::Sub, DateTime, _) => DateTime,
        (BinaryOp::Add, _, DateTime) => DateTime,
        (BinaryOp::Div, TimeSpan, TimeSpan) => Real,
        (_, TimeSpan, _) | (_, _, TimeSpan) => TimeSpan,
        (_, Dynamic, _) | (_, _, Dynamic) => Dynamic,
        _ => numeric_result(lt, rt),
    };
    let f = rf(move |a| arith_values(op, arg(a, 0), arg(a, 1), ret));
    call(&format!("arith{}", op.as_str()), ret, f, vec![l, r])
}

fn arith_values(op: BinaryOp, a: Value, b: Value, ret: KType) -> Value {
    let (a, b) = (a.undyn(), b.undyn());
    if a.is_null() || b.is_null() {
        return Value::Null;
    }
    let int_op = |x: i64, y: i64| -> Option<i64> {
        match op {
            BinaryOp::Add => x.checked_add(y),
            BinaryOp::Sub => x.checked_sub(y),
            BinaryOp::Mul => x.checked_mul(y),
            BinaryOp::Div => x.checked_div(y),
            BinaryOp::Mod => x.checked_rem_euclid(y),
            _ => None,
        }
    };
    let real_op = |x: f64, y: f64| -> f64 {
        match op {
            BinaryOp::Add => x + y,
            BinaryOp::Sub => x - y,
            BinaryOp::Mul => x * y,
            BinaryOp::Div => x / y,
            BinaryOp::Mod => x.rem_euclid(y),
            _ => f64::NAN,
        }
    };
    match (&a, &b) {
        (Value::DateTime(x), Value::DateTime(y)) => {
            int_op(*x, *y).map_or(Value::Null, Value::TimeSpan)
        }
        (Value::DateTime(x), Value::TimeSpan(y)) | (Value::TimeSpan(y), Value::DateTime(x)) => {
            int_op(*x, *y).map_or(Value::Null, Value::DateTime)
        }
        (Value::TimeSpan(x), Value::TimeSpan(y)) => {
            if op == BinaryOp::Div {
                Value::Real(*x as f64 / *y as f64)
            } else {
                int_op(*x, *y).map_or(Value::Null, Value::TimeSpan)
            }
        }
        (Value::TimeSpan(x), n) | (n, Value::TimeSpan(x)) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            let v = real_op(*x as f64, f);
            if v.is_finite() {
                Value::TimeSpan(v as i64)
            } else {
                Value::Null
            }
        }
        (Value::Long(x), Value::Long(y)) if ret != KType::Real => {
            int_op(*x, *y).map_or(Value::Null, Value::Long)
        }
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => {
                let v = real_op(x, y);
                if ret == KType::Dynamic && matches!((&a, &b), (Value::Long(_), Value::Long(_))) {
                    Value::Long(v as i64)
                } else {
                    Value::Real(v)
                }
            }
            _ => Value::Null,
        },
    }
}

type StrPred = fn(&str, &str) -> bool;

fn string_pred(op: BinaryOp) -> Option<(StrPred, bool)> {
    use BinaryOp::*;
    Some(match op {
        EqTilde => (strings::eq_ci, false),
        NotEqTilde => (strings::eq_ci, true),
        Has | SearchHas => (strings::has, false),
        NotHas => (strings::has, true),
        HasCs => (strings::has_cs, false),
        NotHasCs => (strings::has_cs, true),
        HasPrefix => (strings::hasprefix, false),
        NotHasPrefix => (strings::hasprefix, true),
        HasPrefixCs => (strings::hasprefix_cs, false),
        NotHasPrefixCs => (strings::hasprefix_cs, true),
        HasSuffix => (strings::hassuffix, false),
        NotHasSuffix => (strings::hassuffix, true),
        HasSuffixCs => (strings::hassuffix_cs, false),
        NotHasSuffixCs => (strings::hassuffix_cs, true),
        Contains => (strings::contains, false),
        NotContains => (strings::contains, true),
        ContainsCs => (strings::contains_cs, false),
        NotContainsCs => (strings::contains_cs, true),
        StartsWith => (strings::startswith, false),
        NotStartsWith => (strings::startswith, true),
        StartsWithCs => (strings::startswith_cs, false),
        NotStartsWithCs => (strings::startswith_cs, true),
        EndsWith => (strings::endswith, false),
        NotEndsWith => (strings::endswith, true),
        EndsWithCs => (strings::endswith_cs, false),
        NotEndsWithCs => (strings::endswith_cs, true),
        _ => return None,
    })
}

pub fn binary(op: BinaryOp, l: DfExpr, lt: KType, r: DfExpr, rt: KType) -> Result<DfExpr, String> {
    use BinaryOp::*;
    if let Some((pred, negate)) = string_pred(op) {
        let f = rf(move |a| {
            let (x, y) = (sarg(a, 0), sarg(a, 1));
            Value::Bool(pred(&x, &y) != negate)
        });
        return Ok(call(op.as_str(), KType::Bool, f, vec![l, r]));
    }
    match op {
        And | Or => {
            let l = if lt == KType::Bool {
                l
            } else {
                crate::planner::convert_expr(l, KType::Bool)
            };
            let r = if rt == KType::Bool {
                r
            } else {
                crate::planner::convert_expr(r, KType::Bool)
            };
            Ok(if op == And { l.and(r) } else { l.or(r) })
        }
        MatchesRegex => {
            let cache: Arc<RegexCache> = Arc::new(Mutex::new(None));
            let f = rf(move |a| {
                let (s, p) = (sarg(a, 0), sarg(a, 1));
                Value::Bool(with_regex(&cache, &p, |re| re.is_match(&s)).unwrap_or(false))
            });
            Ok(call("matches_regex", KType::Bool, f, vec![l, r]))
        }
        Eq | NotEq | Lt | Le | Gt | Ge => {
            let native = lt == rt && !matches!(lt, KType::Dynamic | KType::Guid)
                || (lt.is_numeric() && rt.is_numeric());
            if native && matches!(op, Eq | NotEq) && lt != KType::String {
                // Kusto: one null side makes == false and != true; both null give null
                let cmp = if op == Eq {
                    l.clone().eq(r.clone())
                } else {
                    l.clone().not_eq(r.clone())
                };
                let one_null = l.clone().is_null().or(r.clone().is_null());
                let both_null = l.is_null().and(r.is_null());
                return datafusion::logical_expr::when(
                    both_null,
                    lit(datafusion::common::ScalarValue::Boolean(None)),
                )
                .when(one_null, lit(op == NotEq))
                .otherwise(cmp)
                .map_err(|e| e.to_string());
            }
            if native {
                return Ok(match op {
                    Eq => l.eq(r),
                    NotEq => l.not_eq(r),
                    Lt => l.lt(r),
                    Le => l.lt_eq(r),
                    Gt => l.gt(r),
                    _ => l.gt_eq(r),
                });
            }
            let f = rf(move |a| {
                let (x, y) = (arg(a, 0), arg(a, 1));
                if x.is_null() || y.is_null() {
                    return match op {
                        Eq | NotEq if x.is_null() && y.is_null() => Value::Null,
                        Eq => Value::Bool(false),
                        NotEq => Value::Bool(true),
                        _ => Value::Null,
                    };
                }
                let o = cmp_values(&x, &y);
                Value::Bool(match op {
                    Eq => values_equal(&x, &y),
                    NotEq => !values_equal(&x, &y),
                    Lt => o == Ordering::Less,
                    Le => o != Ordering::Greater,
                    Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                })
            });
            Ok(call(
                &format!("cmp{}", op.as_str()),
                KType::Bool,
                f,
                vec![l, r],
            ))
        }
        Add | Sub | Mul | Div | Mod => {
            if lt.is_numeric() && rt.is_numeric() && !matches!(op, Div | Mod) {
                Ok(match op {
                    Add => l + r,
                    Sub => l - r,
                    _ => l * r,
                })
            } else if op == Div
                && (lt == KType::Real && rt.is_numeric() || lt.is_numeric() && rt == KType::Real)
            {
                Ok(l / r)
            } else if lt == KType::String && rt == KType::String {
                Err(format!(
                    "operator `{}` cannot be applied to strings",
                    op.as_str()
                ))
            } else {
                Ok(arith(op, l, lt, r, rt))
            }
        }
        _ => Err(format!("operator `{}` is not supported here", op.as_str())),
    }
}

type RegexCache = Mutex<Option<(String, Option<regex::Regex>)>>;

fn with_regex<T>(
    cache: &RegexCache,
    pattern: &str,
    f: impl FnOnce(&regex::Regex) -> T,
) -> Option<T> {
    let mut guard = cache.lock().ok()?;
    let stale = match &*guard {
        Some((p, _)) => p != pattern,
        None => true,
    };
    if stale {
        *guard = Some((pattern.to_string(), regex::Regex::new(pattern).ok()));
    }
    guard.as_ref().and_then(|(_, re)| re.as_ref()).map(f)
}

pub fn in_list(op: ListOp, x: DfExpr, xt: KType, vals: Vec<DfExpr>) -> Result<DfExpr, String> {
    let all_str_lits = vals.iter().all(|v| {
        matches!(
            v,
            DfExpr::Literal(datafusion::common::ScalarValue::Utf8(Some(_)))
        )
    });
    if matches!(op, ListOp::In | ListOp::NotIn)
        && xt == KType::String
        && all_str_lits
        && !vals.is_empty()
    {
        return Ok(x.in_list(vals, op == ListOp::NotIn));
    }
    let mut args = vec![x];
    args.extend(vals);
    let f = rf(move |a| {
        let x = arg(a, 0);
        let items = a.get(1..).unwrap_or(&[]);
        let r = match op {
            ListOp::In | ListOp::NotIn => {
                let hit = !x.is_null() && items.iter().any(|i| values_equal(&x, i));
                hit != (op == ListOp::NotIn)
            }
            ListOp::InCi | ListOp::NotInCi => {
                let s = x.to_kstring();
                let hit = items.iter().any(|i| strings::eq_ci(&s, &i.to_kstring()));
                hit != (op == ListOp::NotInCi)
            }
            ListOp::HasAny => {
                let s = x.to_kstring();
                items.iter().any(|i| strings::has(&s, &i.to_kstring()))
            }
            ListOp::HasAll => {
                let s = x.to_kstring();
                items.iter().all(|i| strings::has(&s, &i.to_kstring()))
            }
        };
        Value::Bool(r)
    });
    Ok(call(op.as_str(), KType::Bool, f, args))
}

fn to_dyn(v: Value) -> Json {
    match v {
        Value::Str(s) => {
            let t = s.trim_start();
            if t.starts_with('{') || t.starts_with('[') {
                serde_json::from_str(&s).unwrap_or(Json::String(s))
            } else {
                Json::String(s)
            }
        }
        Value::Dyn(j) => j,
        v => v.to_json(),
    }
}

pub fn member(x: DfExpr, key: Value) -> DfExpr {
    let k = key.to_kstring();
    let f = rf(move |a| match to_dyn(arg(a, 0)) {
        Json::Object(m) => m.get(&k).cloned().map_or(Value::Null, Value::Dyn),
        _ => Value::Null,
    });
    call("member", KType::Dynamic, f, vec![x])
}

pub fn index(x: DfExpr, i: DfExpr) -> DfExpr {
    let f = rf(move |a| {
        let key = arg(a, 1).undyn();
        match (to_dyn(arg(a, 0)), key) {
            (Json::Array(items), Value::Long(i)) => {
                let i = if i < 0 { items.len() as i64 + i } else { i };
                if i < 0 {
                    Value::Null
                } else {
                    items
                        .get(i as usize)
                        .cloned()
                        .map_or(Value::Null, Value::Dyn)
                }
            }
            (Json::Object(m), k) => m
                .get(&k.to_kstring())
                .cloned()
                .map_or(Value::Null, Value::Dyn),
            _ => Value::Null,
        }
    });
    call("index", KType::Dynamic, f, vec![x, i])
}

// ------------------------------------------------------------------ aggregates

const AGGREGATES: &[&str] = &[
    "count",
    "countif",
    "sum",
    "sumif",
    "avg",
    "avgif",
    "min",
    "max",
    "minif",
    "maxif",
    "dcount",
    "dcountif",
    "make_list",
    "makelist",
    "make_list_if",
    "make_set",
    "makeset",
    "make_set_if",
    "make_bag",
    "make_bag_if",
    "take_any",
    "any",
    "take_anyif",
    "anyif",
    "stdev",
    "stdevif",
    "stdevp",
    "variance",
    "varianceif",
    "variancep",
    "percentile",
    "make_list_with_nulls",
    "count_distinct",
    "binary_all_and",
    "binary_all_or",
    "binary_all_xor",
    "arg_max",
    "arg_min",
    "buildschema",
    "hll",
    "hll_merge",
    "tdigest",
];

pub fn is_aggregate(name: &str) -> bool {
    AGGREGATES.contains(&name)
}

pub fn agg_prefix(name: &str) -> &str {
    match name {
        "make_list" | "makelist" | "make_list_if" | "make_list_with_nulls" => "list",
        "make_set" | "makeset" | "make_set_if" => "set",
        "make_bag" | "make_bag_if" => "bag",
        "take_any" | "any" | "take_anyif" | "anyif" => "any",
        "buildschema" => "schema",
        n => n,
    }
}

fn finish_fn(f: impl Fn(Vec<Vec<Value>>) -> Value + Send + Sync + 'static) -> udf::FinishFn {
    Arc::new(f)
}

fn stats(rows: &[Vec<Value>], pred: bool) -> Vec<f64> {
    rows.iter()
        .filter(|r| !pred || r.get(1).and_then(|p| p.as_bool()).unwrap_or(false))
        .filter_map(|r| r.first().and_then(|v| v.as_f64()))
        .collect()
}

fn variance(xs: &[f64], sample: bool) -> Value {
    let n = xs.len() as f64;
    if xs.is_empty() || (sample && xs.len() < 2) {
        return Value::Real(0.0);
    }
    let mean = xs.iter().sum::<f64>() / n;
    let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
    Value::Real(ss / if sample { n - 1.0 } else { n })
}

pub fn aggregate(name: &str, xs: Vec<DfExpr>, ts: &[KType]) -> Result<DfExpr, String> {
    let t0 = ts.first().copied().unwrap_or(KType::Dynamic);
    let first = xs.first().cloned();
    let need = |n: usize| -> Result<(), String> {
        if xs.len() < n {
            Err(format!("{name}() needs {n} argument(s)"))
        } else {
            Ok(())
        }
    };
    let built = |r: datafusion::error::Result<DfExpr>| r.map_err(|e| e.to_string());
    let pred = |i: usize| -> DfExpr {
        let p = xs[i].clone();
        if ts.get(i) == Some(&KType::Bool) {
            p
        } else {
            crate::planner::convert_expr(p, KType::Bool)
        }
    };
    let native_ok = !matches!(t0, KType::Dynamic | KType::Guid);
    let collect = |ret: KType, f: udf::FinishFn| udf::collect(name, ret.arrow(), f, xs.clone());
    Ok(match name {
        "count" => agg::count(lit(1i64)),
        "countif" => {
            need(1)?;
            built(agg::count(lit(1i64)).filter(pred(0)).build())?
        }
        "sum" if native_ok && t0.is_numeric() => {
            need(1)?;
            agg::sum(xs[0].clone())
        }
        "sumif" if native_ok && t0.is_numeric() => {
            need(2)?;
            built(agg::sum(xs[0].clone()).filter(pred(1)).build())?
        }
        "avg" if native_ok && t0.is_numeric() => {
            need(1)?;
            agg::avg(xs[0].clone())
        }
        "avgif" if native_ok && t0.is_numeric() => {
            need(2)?;
            built(agg::avg(xs[0].clone()).filter(pred(1)).build())?
        }
        "min" | "max" if native_ok && t0 != KType::Bool => {
            need(1)?;
            if name == "min" {
                agg::min(xs[0].clone())
            } else {
                agg::max(xs[0].clone())
            }
        }
        "minif" | "maxif" if native_ok && t0 != KType::Bool => {
            need(2)?;
            let x = if name == "minif" {
                agg::min(xs[0].clone())
            } else {
                agg::max(xs[0].clone())
            };
            built(x.filter(pred(1)).build())?
        }
        "dcount" | "count_distinct" if native_ok => {
            need(1)?;
            agg::count_distinct(xs[0].clone())
        }
        "dcountif" if native_ok => {
            need(2)?;
            built(agg::count_distinct(xs[0].clone()).filter(pred(1)).build())?
        }
        "sum" | "sumif" | "avg" | "avgif" => {
            need(1)?;
            let is_if = name.ends_with("if");
            let is_avg = name.starts_with("avg");
            let ret = if is_avg {
                KType::Real
            } else if t0 == KType::TimeSpan {
                KType::TimeSpan
            } else {
                numeric_result(t0, t0)
            };
            collect(
                ret,
                finish_fn(move |rows| {
                    let xs = stats(&rows, is_if);
                    if xs.is_empty() {
                        return Value::Null;
                    }
                    let s: f64 = xs.iter().sum();
                    if is_avg {
                        Value::Real(s / xs.len() as f64)
                    } else if ret == KType::Real {
                        Value::Real(s)
                    } else if ret == KType::TimeSpan {
                        Value::TimeSpan(s as i64)
                    } else {
                        Value::Long(s as i64)
                    }
                }),
            )
        }
        "min" | "max" | "minif" | "maxif" => {
            need(1)?;
            let is_max = name.starts_with("max");
            let is_if = name.ends_with("if");
            collect(
                t0,
                finish_fn(move |rows| {
                    let mut best: Option<Value> = None;
                    for r in rows {
                        if is_if && !r.get(1).and_then(|p| p.as_bool()).unwrap_or(false) {
                            continue;
                        }
                        let v = r.into_iter().next().unwrap_or(Value::Null);
                        if v.is_null() {
                            continue;
                        }
                        best = match best {
                            None => Some(v),
                            Some(b) => {
                                let o = cmp_values(&v, &b);
                                if (is_max && o == Ordering::Greater)
                                    || (!is_max && o == Ordering::Less)
                                {
                                    Some(v)
                                } else {
                                    Some(b)
                                }
                            }
                        };
                    }
                    best.unwrap_or(Value::Null)
                }),
            )
        }
        "dcount" | "dcountif" | "count_distinct" => {
            need(1)?;
            let is_if = name == "dcountif";
            collect(
                KType::Long,
                finish_fn(move |rows| {
                    let mut seen: Vec<Json> = Vec::new();
                    for r in rows {
                        if is_if && !r.get(1).and_then(|p| p.as_bool()).unwrap_or(false) {
                            continue;
                        }
                        let j = r.first().map(|v| v.to_json()).unwrap_or(Json::Null);
                        if !j.is_null() && !seen.contains(&j) {
                            seen.push(j);
                        }
                    }
                    Value::Long(seen.len() as i64)
                }),
            )
        }
        "make_list"
        | "makelist"
        | "make_list_if"
        | "make_set"
        | "makeset"
        | "make_set_if"
        | "make_list_with_nulls" => {
            need(1)?;
            let is_if = name.ends_with("_if");
            let set = name.contains("set");
            let nulls = name == "make_list_with_nulls";
            let max_arg = if is_if { 2 } else { 1 };
            let _ = first;
            collect(
                KType::Dynamic,
                finish_fn(move |rows| {
                    let mut out: Vec<Json> = Vec::new();
                    let mut limit = usize::MAX;
                    for r in rows {
                        if let Some(m) = r.get(max_arg).and_then(|v| v.as_i64()) {
                            limit = m.max(0) as usize;
                        }
                        if is_if && !r.get(1).and_then(|p| p.as_bool()).unwrap_or(false) {
                            continue;
                        }
                        let v = r.into_iter().next().unwrap_or(Value::Null);
                        if v.is_null() && !nulls {
                            continue;
                        }
                        let j = v.to_json();
                        if set && out.contains(&j) {
                            continue;
                        }
                        // a list of arrays concatenates, for make_set and make_list alike:
                        // the geo_point_in_polygon and geo_h3cell_rings pages build
                        // MultiPolygon coordinates and a flat cell list this way
                        if !nulls {
                            if let Json::Array(items) = j {
                                for i in items {
                                    if !set || !out.contains(&i) {
                                        out.push(i);
                                    }
                                }
                                continue;
                            }
                        }
                        out.push(j);
                    }
                    out.truncate(limit);
                    Value::Dyn(Json::Array(out))
                }),
            )
        }
        "make_bag" | "make_bag_if" => {
            need(1)?;
            let is_if = name == "make_bag_if";
            collect(
                KType::Dynamic,
                finish_fn(move |rows| {
                    let mut out = Map::new();
                    for r in rows {
                        if is_if && !r.get(1).and_then(|p| p.as_bool()).unwrap_or(false) {
                            continue;
                        }
                        if let Some(Json::Object(m)) = r.first().map(|v| to_dyn(v.clone())) {
                            for (k, v) in m {
                                out.entry(k).or_insert(v);
                            }
                        }
                    }
                    Value::Dyn(Json::Object(out))
                }),
            )
        }
        "take_any" | "any" | "take_anyif" | "anyif" => {
            need(1)?;
            let is_if = name.ends_with("if");
            collect(
                t0,
                finish_fn(move |rows| {
                    rows.into_iter()
                        .find(|r| !is_if || r.get(1).and_then(|p| p.as_bool()).unwrap_or(false))
                        .and_then(|r| r.into_iter().next())
                        .unwrap_or(Value::Null)
                }),
            )
        }
        "stdev" | "stdevif" | "stdevp" | "variance" | "varianceif" | "variancep" => {
            need(1)?;
            let is_if = name.ends_with("if");
            let sample = !name.ends_with('p');
            let sd = name.starts_with("stdev");
            collect(
                KType::Real,
                finish_fn(move |rows| {
                    let xs = stats(&rows, is_if);
                    match variance(&xs, sample) {
                        Value::Real(v) if sd => Value::Real(v.sqrt()),
                        v => v,
                    }
                }),
            )
        }
        "percentile" => {
            need(2)?;
            collect(
                t0,
                finish_fn(move |rows| {
                    let p = rows
                        .first()
                        .and_then(|r| r.get(1))
                        .and_then(|v| v.as_f64())
                        .unwrap_or(50.0);
                    let mut vals: Vec<Value> = rows
                        .into_iter()
                        .filter_map(|r| r.into_iter().next())
                        .filter(|v| !v.is_null())
                        .collect();
                    vals.sort_by(cmp_values);
                    if vals.is_empty() {
                        return Value::Null;
                    }
                    // nearest rank
                    let rank = ((p / 100.0) * vals.len() as f64).ceil() as usize;
                    let i = rank.saturating_sub(1).min(vals.len() - 1);
                    vals.swap_remove(i)
                }),
            )
        }
        "binary_all_and" | "binary_all_or" | "binary_all_xor" => {
            need(1)?;
            let kind = name.to_string();
            collect(
                KType::Long,
                finish_fn(move |rows| {
                    let vals: Vec<i64> = rows
                        .iter()
                        .filter_map(|r| {
                            r.first()
                                .and_then(|v| if v.is_null() { None } else { v.as_i64() })
                        })
                        .collect();
                    if vals.is_empty() {
                        return Value::Null;
                    }
                    let init = if kind.ends_with("and") { -1i64 } else { 0 };
                    Value::Long(vals.into_iter().fold(init, |acc, v| match kind.as_str() {
                        "binary_all_and" => acc & v,
                        "binary_all_or" => acc | v,
                        _ => acc ^ v,
                    }))
                }),
            )
        }
        _ => return Err(format!("aggregation `{name}()` is not supported")),
    })
}

// ------------------------------------------------------------------ scalar functions

const NAMES: &[&str] = &[
    "abs",
    "hash",
    "hash_md5",
    "hash_sha1",
    "hash_sha256",
    "hash_xxhash64",
    "acos",
    "ago",
    "array_concat",
    "array_iff",
    "array_iif",
    "array_index_of",
    "array_length",
    "array_reverse",
    "array_rotate_left",
    "array_rotate_right",
    "array_shift_left",
    "array_shift_right",
    "array_slice",
    "array_sort_asc",
    "array_sort_desc",
    "array_split",
    "array_sum",
    "asin",
    "atan",
    "atan2",
    "bag_has_key",
    "bag_keys",
    "bag_merge",
    "bag_pack",
    "bag_remove_keys",
    "bag_set_key",
    "bag_zip",
    "base64_decode_tostring",
    "base64_encode_tostring",
    "bin",
    "bin_at",
    "binary_and",
    "binary_not",
    "binary_or",
    "binary_shift_left",
    "binary_shift_right",
    "binary_xor",
    "bitset_count_ones",
    "case",
    "ceiling",
    "coalesce",
    "column_ifexists",
    "cos",
    "cot",
    "countof",
    "datetime_add",
    "datetime_diff",
    "datetime_local_to_utc",
    "datetime_part",
    "datetime_utc_to_local",
    "dayofmonth",
    "dayofweek",
    "dayofyear",
    "degrees",
    "dynamic_to_json",
    "endofday",
    "endofmonth",
    "endofweek",
    "endofyear",
    "exp",
    "exp10",
    "exp2",
    "extract",
    "extract_all",
    "extract_json",
    "extractjson",
    "floor",
    "format_datetime",
    "format_ipv4",
    "format_ipv4_mask",
    "format_timespan",
    "getmonth",
    "gettype",
    "getyear",
    "has_any_ipv4",
    "has_any_ipv4_prefix",
    "has_ipv4",
    "has_ipv4_prefix",
    "hourofday",
    "iff",
    "iif",
    "indexof",
    "ingestion_time",
    "geo_info_from_ip_address",
    "ipv4_compare",
    "ipv4_is_in_any_range",
    "ipv4_is_in_range",
    "ipv4_is_match",
    "ipv4_is_private",
    "ipv4_netmask_suffix",
    "isascii",
    "isempty",
    "isfinite",
    "isinf",
    "isnan",
    "isnotempty",
    "isnotnull",
    "isnull",
    "isutf8",
    "jaccard_index",
    "log",
    "log10",
    "log2",
    "make_datetime",
    "make_string",
    "make_timespan",
    "max_of",
    "min_of",
    "monthofyear",
    "new_guid",
    "not",
    "now",
    "pack",
    "pack_all",
    "pack_array",
    "pack_dictionary",
    "parse_ipv4",
    "parse_json",
    "parse_path",
    "parse_url",
    "parse_command_line",
    "pi",
    "pow",
    "radians",
    "rand",
    "range",
    "repeat",
    "replace",
    "replace_regex",
    "replace_string",
    "replace_strings",
    "reverse",
    "round",
    "series_sum",
    "set_difference",
    "set_has_element",
    "set_intersect",
    "set_union",
    "sign",
    "sin",
    "split",
    "sqrt",
    "startofmonth",
    "startofweek",
    "startofyear",
    "strcat",
    "strcat_array",
    "strcat_delim",
    "strcmp",
    "string_size",
    "strlen",
    "strrep",
    "substring",
    "tan",
    "to_utf8",
    "toarray",
    "tobag",
    "tobool",
    "toboolean",
    "todatetime",
    "todatetimeoffset",
    "todecimal",
    "todouble",
    "todynamic",
    "toguid",
    "tohex",
    "toint",
    "tolong",
    "tolower",
    "toreal",
    "toscalar",
    "tostring",
    "totime",
    "totimespan",
    "toupper",
    "translate",
    "trim",
    "trim_end",
    "trim_start",
    "unicode_codepoints_from_string",
    "unicode_codepoints_to_string",
    "unixtime_microseconds_todatetime",
    "unixtime_milliseconds_todatetime",
    "unixtime_nanoseconds_todatetime",
    "unixtime_seconds_todatetime",
    "url_decode",
    "url_encode",
    "url_encode_component",
    "week_of_year",
    "weekofyear",
    "zip",
];

pub fn names() -> Vec<&'static str> {
    NAMES
        .iter()
        .chain(crate::seriesfns::NAMES)
        .chain(crate::morefns::NAMES)
        .chain(crate::geo::NAMES)
        .copied()
        .collect()
}

fn json_arr(a: Value) -> Option<Vec<Json>> {
    match to_dyn(a) {
        Json::Array(v) => Some(v),
        _ => None,
    }
}

fn dyn_v(j: Json) -> Value {
    Value::Dyn(j)
}

fn type_name_arg(x: Option<&DfExpr>) -> Option<KType> {
    match x {
        Some(DfExpr::Literal(datafusion::common::ScalarValue::Utf8(Some(s)))) => {
            KType::from_name(s)
        }
        _ => None,
    }
}

fn dt(ns: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000) as u32,
    )
}

fn ns_of(d: DateTime<Utc>) -> Value {
    d.timestamp_nanos_opt().map_or(Value::Null, Value::DateTime)
}

fn start_of(unit: &str, ns: i64, offset: i64) -> Value {
    let Some(d) = dt(ns) else { return Value::Null };
    let date = d.date_naive();
    let base = match unit {
        "day" => Some(date),
        "week" => {
            date.checked_sub_signed(Duration::days(date.weekday().num_days_from_sunday() as i64))
        }
        "month" => NaiveDate::from_ymd_opt(date.year(), date.month(), 1),
        _ => NaiveDate::from_ymd_opt(date.year(), 1, 1),
    };
    let Some(base) = base else { return Value::Null };
    let shifted = match unit {
        "day" => base.checked_add_signed(Duration::days(offset)),
        "week" => base.checked_add_signed(Duration::weeks(offset)),
        "month" => add_months(base, offset),
        _ => add_months(base, offset * 12),
    };
    match shifted.and_then(|d| d.and_hms_opt(0, 0, 0)) {
        Some(n) => ns_of(n.and_utc()),
        None => Value::Null,
    }
}

fn add_months(d: NaiveDate, m: i64) -> Option<NaiveDate> {
    if m >= 0 {
        d.checked_add_months(Months::new(m as u32))
    } else {
        d.checked_sub_months(Months::new((-m) as u32))
    }
}

fn end_of(unit: &str, ns: i64, offset: i64) -> Value {
    match start_of(unit, ns, offset + 1) {
        Value::DateTime(n) => Value::DateTime(n - 100),
        v => v,
    }
}

fn part_ns(part: &str) -> Option<i64> {
    Some(match part.to_ascii_lowercase().as_str() {
        "week" | "weeks" => 7 * 86_400_000_000_000,
        "day" | "days" => 86_400_000_000_000,
        "hour" | "hours" => 3_600_000_000_000,
        "minute" | "minutes" => 60_000_000_000,
        "second" | "seconds" => 1_000_000_000,
        "millisecond" | "milliseconds" => 1_000_000,
        "microsecond" | "microseconds" => 1_000,
        "nanosecond" | "nanoseconds" => 1,
        _ => return None,
    })
}

fn datetime_add(part: &str, amount: i64, ns: i64) -> Value {
    let p = part.to_ascii_lowercase();
    let Some(d) = dt(ns) else { return Value::Null };
    match p.as_str() {
        "year" | "years" | "quarter" | "quarters" | "month" | "months" => {
            let m = match p.as_str() {
                "year" | "years" => amount * 12,
                "quarter" | "quarters" => amount * 3,
                _ => amount,
            };
            match add_months(d.date_naive(), m) {
                Some(nd) => ns_of(nd.and_time(d.time()).and_utc()),
                None => Value::Null,
            }
        }
        _ => match part_ns(&p) {
            Some(u) => amount
                .checked_mul(u)
                .and_then(|x| ns.checked_add(x))
                .map_or(Value::Null, Value::DateTime),
            None => Value::Null,
        },
    }
}

fn datetime_diff(part: &str, a: i64, b: i64) -> Value {
    let p = part.to_ascii_lowercase();
    let (Some(x), Some(y)) = (dt(a), dt(b)) else {
        return Value::Null;
    };
    let months = |x: DateTime<Utc>| x.year() as i64 * 12 + x.month0() as i64;
    Value::Long(match p.as_str() {
        "year" | "years" => x.year() as i64 - y.year() as i64,
        "quarter" | "quarters" => months(x) / 3 - months(y) / 3,
        "month" | "months" => months(x) - months(y),
        "week" | "weeks" => {
            let wx = (x.date_naive() - Duration::days(x.weekday().num_days_from_sunday() as i64))
                .num_days_from_ce() as i64;
            let wy = (y.date_naive() - Duration::days(y.weekday().num_days_from_sunday() as i64))
                .num_days_from_ce() as i64;
            (wx - wy) / 7
        }
        "day" | "days" => {
            x.date_naive().num_days_from_ce() as i64 - y.date_naive().num_days_from_ce() as i64
        }
        _ => match part_ns(&p) {
            Some(u) => a.div_euclid(u) - b.div_euclid(u),
            None => return Value::Null,
        },
    })
}

fn datetime_part(part: &str, ns: i64) -> Value {
    let Some(d) = dt(ns) else { return Value::Null };
    Value::Long(match part.to_ascii_lowercase().as_str() {
        "year" => d.year() as i64,
        "quarter" => d.month0() as i64 / 3 + 1,
        "month" => d.month() as i64,
        "week_of_year" | "weekofyear" => d.iso_week().week() as i64,
        "day" => d.day() as i64,
        "dayofyear" => d.ordinal() as i64,
        "hour" => d.hour() as i64,
        "minute" => d.minute() as i64,
        "second" => d.second() as i64,
        "millisecond" => ns.rem_euclid(1_000_000_000) / 1_000_000,
        "microsecond" => ns.rem_euclid(1_000_000_000) / 1_000,
        "nanosecond" => ns.rem_euclid(1_000_000_000),
        _ => return Value::Null,
    })
}

/// Kusto `format_datetime` patterns.
fn format_dt(ns: i64, fmt: &str) -> String {
    let Some(d) = dt(ns) else {
        return String::new();
    };
    let frac = ns.rem_euclid(1_000_000_000);
    let mut out = String::new();
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let pad = |v: i64, w: usize| format!("{v:0w$}");
        match c {
            'y' => out.push_str(&match n {
                1 => (d.year() % 100).to_string(),
                2 => pad((d.year() % 100) as i64, 2),
                _ => pad(d.year() as i64, n),
            }),
            'M' => out.push_str(&match n {
                1 => d.month().to_string(),
                2 => pad(d.month() as i64, 2),
                3 => d.format("%b").to_string(),
                _ => d.format("%B").to_string(),
            }),
            'd' => out.push_str(&match n {
                1 => d.day().to_string(),
                2 => pad(d.day() as i64, 2),
                3 => d.format("%a").to_string(),
                _ => d.format("%A").to_string(),
            }),
            'H' => out.push_str(&if n == 1 {
                d.hour().to_string()
            } else {
                pad(d.hour() as i64, 2)
            }),
            'h' => {
                let h = (d.hour() + 11) % 12 + 1;
                out.push_str(&if n == 1 {
                    h.to_string()
                } else {
                    pad(h as i64, 2)
                })
            }
            'm' => out.push_str(&if n == 1 {
                d.minute().to_string()
            } else {
                pad(d.minute() as i64, 2)
            }),
            's' => out.push_str(&if n == 1 {
                d.second().to_string()
            } else {
                pad(d.second() as i64, 2)
            }),
            'f' | 'F' => {
                let digits = format!("{frac:09}");
                let s: String = digits.chars().take(n.min(9)).collect();
                if c == 'F' {
                    out.push_str(s.trim_end_matches('0'));
                } else {
                    out.push_str(&s);
                }
            }
            't' => out.push_str(if d.hour() < 12 {
                if n == 1 {
                    "A"
                } else {
                    "AM"
                }
            } else if n == 1 {
                "P"
            } else {
                "PM"
            }),
            _ => {
                for _ in 0..n {
                    out.push(c);
                }
            }
        }
        i += n;
    }
    out
}

fn format_ts(ns: i64, fmt: &str) -> String {
    let neg = ns < 0;
    let a = ns.unsigned_abs() as i64;
    let secs = a / 1_000_000_000;
    let frac = a % 1_000_000_000;
    let (days, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let pad = |v: i64, w: usize| format!("{v:0w$}");
        match c {
            'd' => out.push_str(&pad(days, n)),
            'h' | 'H' => out.push_str(&pad(h, n)),
            'm' => out.push_str(&pad(m, n)),
            's' => out.push_str(&pad(s, n)),
            'f' | 'F' => {
                let digits = format!("{frac:09}");
                let s: String = digits.chars().take(n.min(9)).collect();
                out.push_str(if c == 'F' {
                    s.trim_end_matches('0')
                } else {
                    &s
                });
            }
            _ => {
                for _ in 0..n {
                    out.push(c);
                }
            }
        }
        i += n;
    }
    out
}

fn bin_value(v: Value, size: Value, at: Option<Value>) -> Value {
    let (v, size) = (v.undyn(), size.undyn());
    match (&v, &size) {
        (Value::Null, _) | (_, Value::Null) => Value::Null,
        (Value::DateTime(x), Value::TimeSpan(s)) | (Value::TimeSpan(x), Value::TimeSpan(s)) => {
            if *s <= 0 {
                return Value::Null;
            }
            let origin = match at {
                Some(Value::DateTime(a)) | Some(Value::TimeSpan(a)) => a,
                _ => 0,
            };
            let r = origin + (x - origin).div_euclid(*s) * s;
            if matches!(v, Value::DateTime(_)) {
                Value::DateTime(r)
            } else {
                Value::TimeSpan(r)
            }
        }
        (Value::Long(x), Value::Long(s)) if *s > 0 => {
            let origin = at.and_then(|a| a.as_i64()).unwrap_or(0);
            Value::Long(origin + (x - origin).div_euclid(*s) * s)
        }
        _ => match (v.as_f64(), size.as_f64()) {
            (Some(x), Some(s)) if s > 0.0 => {
                let origin = at.and_then(|a| a.as_f64()).unwrap_or(0.0);
                let r = origin + ((x - origin) / s).floor() * s;
                if matches!(v, Value::Long(_)) {
                    Value::Long(r as i64)
                } else {
                    Value::Real(r)
                }
            }
            _ => Value::Null,
        },
    }
}

fn kusto_regex_rewrite(s: &str) -> String {
    // \1 → ${1}
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(d) = chars.peek().copied().filter(|d| d.is_ascii_digit()) {
                chars.next();
                out.push_str(&format!("${{{d}}}"));
                continue;
            }
        }
        if c == '$' {
            out.push_str("$$");
            continue;
        }
        out.push(c);
    }
    out
}

fn gettype_of(v: &Value, t: KType) -> &'static str {
    match t {
        KType::Dynamic => match v {
            Value::Dyn(Json::Array(_)) => "array",
            Value::Dyn(Json::Object(_)) => "dictionary",
            Value::Dyn(Json::String(_)) => "string",
            Value::Dyn(Json::Bool(_)) => "bool",
            Value::Dyn(Json::Number(n)) => {
                if n.is_i64() {
                    "long"
                } else {
                    "real"
                }
            }
            _ => "null",
        },
        KType::Long => "long",
        KType::Int => "int",
        KType::Real => "real",
        KType::Bool => "bool",
        KType::String => "string",
        KType::DateTime => "datetime",
        KType::TimeSpan => "timespan",
        KType::Guid => "guid",
    }
}

fn math(f: fn(f64) -> f64) -> RowFn {
    rf(move |a| match arg(a, 0).as_f64() {
        Some(x) => Value::Real(f(x)),
        None => Value::Null,
    })
}

fn common_type(ts: &[KType]) -> KType {
    let mut t = None;
    for k in ts {
        match (t, k) {
            (None, k) => t = Some(*k),
            (Some(KType::Long | KType::Int), KType::Real) => t = Some(KType::Real),
            (Some(KType::Int), KType::Long) => t = Some(KType::Long),
            (Some(KType::Dynamic), k) if *k != KType::Dynamic => t = Some(*k),
            _ => {}
        }
    }
    t.unwrap_or(KType::Dynamic)
}

pub fn scalar(name: &str, xs: Vec<DfExpr>, ts: &[KType], now_ns: i64) -> Result<DfExpr, String> {
    use KType as K;
    let t0 = ts.first().copied().unwrap_or(K::Dynamic);
    let _ = now_ns;
    let (ret, f): (KType, RowFn) = match name {
        "strlen" => (
            K::Long,
            rf(|a| Value::Long(sarg(a, 0).chars().count() as i64)),
        ),
        "string_size" => (K::Long, rf(|a| Value::Long(sarg(a, 0).len() as i64))),
        "tolower" => (K::String, rf(|a| Value::Str(sarg(a, 0).to_lowercase()))),
        "toupper" => (K::String, rf(|a| Value::Str(sarg(a, 0).to_uppercase()))),
        "strcat" => (
            K::String,
            rf(|a| Value::Str(a.iter().map(|v| v.to_kstring()).collect())),
        ),
        "strcat_delim" => (
            K::String,
            rf(|a| {
                let d = sarg(a, 0);
                Value::Str(
                    a.iter()
                        .skip(1)
                        .map(|v| v.to_kstring())
                        .collect::<Vec<_>>()
                        .join(&d),
                )
            }),
        ),
        "strrep" => (
            K::String,
            rf(|a| {
                let n = arg(a, 1).as_i64().unwrap_or(0).clamp(0, 1 << 16) as usize;
                let d = sarg(a, 2);
                Value::Str(vec![sarg(a, 0); n].join(&d))
            }),
        ),
        "substring" => (
            K::String,
            rf(|a| {
                let s: Vec<char> = sarg(a, 0).chars().collect();
                let start = arg(a, 1).as_i64().unwrap_or(0).max(0) as usize;
                let len = if a.len() > 2 {
                    arg(a, 2).as_i64().unwrap_or(0).max(0) as usize
                } else {
                    usize::MAX
                };
                Value::Str(s.iter().skip(start).take(len).collect())
            }),
        ),
        "split" => (
            K::Dynamic,
            rf(|a| {
                let s = sarg(a, 0);
                let d = sarg(a, 1);
                let parts: Vec<Json> = if d.is_empty() {
                    vec![Json::String(s)]
                } else {
                    s.split(d.as_str())
                        .map(|p| Json::String(p.to_string()))
                        .collect()
                };
                if a.len() > 2 {
                    let i = arg(a, 2).as_i64().unwrap_or(0);
                    return match parts.get(i.max(0) as usize) {
                        Some(p) if i >= 0 => dyn_v(Json::Array(vec![p.clone()])),
                        _ => dyn_v(Json::Array(vec![])),
                    };
                }
                dyn_v(Json::Array(parts))
            }),
        ),
        "replace_string" => (
            K::String,
            rf(|a| {
                let l = sarg(a, 1);
                if l.is_empty() {
                    return Value::Str(sarg(a, 0));
                }
                Value::Str(sarg(a, 0).replace(&l, &sarg(a, 2)))
            }),
        ),
        "replace_regex" | "replace" => {
            let old = name == "replace";
            let cache = Arc::new(Mutex::new(None));
            (
                K::String,
                rf(move |a| {
                    let (text, re, rw) = if old {
                        (sarg(a, 2), sarg(a, 0), sarg(a, 1))
                    } else {
                        (sarg(a, 0), sarg(a, 1), sarg(a, 2))
                    };
                    let rw = kusto_regex_rewrite(&rw);
                    Value::Str(
                        with_regex(&cache, &re, |r| {
                            r.replace_all(&text, rw.as_str()).into_owned()
                        })
                        .unwrap_or(text),
                    )
                }),
            )
        }
        "translate" => (
            K::String,
            rf(|a| {
                let from: Vec<char> = sarg(a, 0).chars().collect();
                let to: Vec<char> = sarg(a, 1).chars().collect();
                Value::Str(
                    sarg(a, 2)
                        .chars()
                        .filter_map(|c| match from.iter().position(|f| *f == c) {
                            Some(i) if to.is_empty() => {
                                let _ = i;
                                None
                            }
                            Some(i) => Some(*to.get(i).or(to.last()).unwrap_or(&c)),
                            None => Some(c),
                        })
                        .collect(),
                )
            }),
        ),
        "trim" | "trim_start" | "trim_end" => {
            let (start, end) = (name != "trim_end", name != "trim_start");
            let cache = Arc::new(Mutex::new(None));
            (
                K::String,
                rf(move |a| {
                    let re = sarg(a, 0);
                    let mut s = sarg(a, 1);
                    if start {
                        let p = format!("^(?:{re})+");
                        s = with_regex(&cache, &p, |r| r.replace(&s, "").into_owned()).unwrap_or(s);
                    }
                    if end {
                        let p = format!("(?:{re})+$");
                        s = with_regex(&cache, &p, |r| r.replace(&s, "").into_owned()).unwrap_or(s);
                    }
                    Value::Str(s)
                }),
            )
        }
        "extract" => {
            let t = type_name_arg(xs.get(3)).unwrap_or(K::String);
            let cache = Arc::new(Mutex::new(None));
            (
                t,
                rf(move |a| {
                    let (re, g, s) = (
                        sarg(a, 0),
                        arg(a, 1).as_i64().unwrap_or(0).max(0) as usize,
                        sarg(a, 2),
                    );
                    let got = with_regex(&cache, &re, |r| {
                        r.captures(&s)
                            .and_then(|c| c.get(g))
                            .map(|m| m.as_str().to_string())
                    })
                    .flatten();
                    match got {
                        Some(m) => Value::Str(m).convert(t),
                        None => Value::Null.convert(t),
                    }
                }),
            )
        }
        "extract_all" => {
            let cache = Arc::new(Mutex::new(None));
            (
                K::Dynamic,
                rf(move |a| {
                    let re = sarg(a, 0);
                    let (groups, s) = if a.len() > 2 {
                        (json_arr(arg(a, 1)), sarg(a, 2))
                    } else {
                        (None, sarg(a, 1))
                    };
                    let r = with_regex(&cache, &re, |r| {
                        let mut out = Vec::new();
                        for c in r.captures_iter(&s) {
                            let cap = |i: usize| {
                                c.get(i).map_or(Json::String(String::new()), |m| {
                                    Json::String(m.as_str().to_string())
                                })
                            };
                            match &groups {
                                Some(g) => out.push(Json::Array(
                                    g.iter()
                                        .map(|i| cap(i.as_u64().unwrap_or(0) as usize))
                                        .collect(),
                                )),
                                None if c.len() == 1 => out.push(cap(0)),
                                None if c.len() == 2 => out.push(cap(1)),
                                None => out.push(Json::Array((1..c.len()).map(cap).collect())),
                            }
                        }
                        out
                    });
                    match r {
                        Some(v) if !v.is_empty() => dyn_v(Json::Array(v)),
                        _ => Value::Null,
                    }
                }),
            )
        }
        "indexof" => (
            K::Long,
            rf(|a| {
                let s: Vec<char> = sarg(a, 0).chars().collect();
                let l: Vec<char> = sarg(a, 1).chars().collect();
                let w = l.len();
                Value::Long(nth_index(s.len(), w, &a[2.min(a.len())..], |i| {
                    s[i..i + w] == l[..]
                }))
            }),
        ),
        "countof" => {
            let cache = Arc::new(Mutex::new(None));
            (
                K::Long,
                rf(move |a| {
                    let (s, p) = (sarg(a, 0), sarg(a, 1));
                    if sarg(a, 2) == "regex" {
                        return Value::Long(
                            with_regex(&cache, &p, |r| r.find_iter(&s).count() as i64).unwrap_or(0),
                        );
                    }
                    if p.is_empty() {
                        return Value::Long(0);
                    }
                    // overlapping matches, as Kusto counts them
                    let mut n = 0;
                    let mut i = 0;
                    while let Some(pos) = s.get(i..).and_then(|r| r.find(&p)) {
                        n += 1;
                        i += pos + p.chars().next().map_or(1, |c| c.len_utf8());
                    }
                    Value::Long(n)
                }),
            )
        }
        "reverse" => (
            K::String,
            rf(|a| Value::Str(sarg(a, 0).chars().rev().collect())),
        ),
        "isempty" => (
            K::Bool,
            rf(|a| Value::Bool(arg(a, 0).is_null() || sarg(a, 0).is_empty())),
        ),
        "isnotempty" => (
            K::Bool,
            rf(|a| Value::Bool(!(arg(a, 0).is_null() || sarg(a, 0).is_empty()))),
        ),
        "isnull" => (K::Bool, rf(|a| Value::Bool(arg(a, 0).is_null()))),
        "isnotnull" => (K::Bool, rf(|a| Value::Bool(!arg(a, 0).is_null()))),
        "isascii" => (K::Bool, rf(|a| Value::Bool(sarg(a, 0).is_ascii()))),
        "isutf8" => (K::Bool, rf(|_| Value::Bool(true))),
        "tostring" => (K::String, rf(|a| Value::Str(sarg(a, 0)))),
        "dynamic_to_json" => (
            K::String,
            // property bag keys come out sorted (the dynamic_to_json page)
            rf(|a| Value::Str(sort_keys(arg(a, 0).to_json()).to_string())),
        ),
        "todynamic" | "parse_json" | "toarray" | "tobag" => (
            K::Dynamic,
            rf(|a| match arg(a, 0) {
                Value::Str(s) => dyn_v(serde_json::from_str(&s).unwrap_or(Json::String(s))),
                v => Value::Dyn(v.to_json()),
            }),
        ),
        "toint" => (K::Int, rf(|a| arg(a, 0).convert(K::Int))),
        "tolong" => (K::Long, rf(|a| arg(a, 0).convert(K::Long))),
        "toreal" | "todouble" | "todecimal" => (K::Real, rf(|a| arg(a, 0).convert(K::Real))),
        "tobool" | "toboolean" => (K::Bool, rf(|a| arg(a, 0).convert(K::Bool))),
        "todatetime" | "todatetimeoffset" => (K::DateTime, rf(|a| arg(a, 0).convert(K::DateTime))),
        "totimespan" | "totime" => (K::TimeSpan, rf(|a| arg(a, 0).convert(K::TimeSpan))),
        "toguid" => (
            K::Guid,
            rf(|a| {
                let s = sarg(a, 0);
                let t = s.trim().trim_matches(|c| c == '{' || c == '}');
                let hex: String = t.chars().filter(|c| *c != '-').collect();
                let dashes_ok = !t.contains('-')
                    || [8, 13, 18, 23]
                        .iter()
                        .all(|i| t.as_bytes().get(*i) == Some(&b'-'))
                        && t.len() == 36;
                if hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()) && dashes_ok {
                    let h = hex.to_lowercase();
                    Value::Str(format!(
                        "{}-{}-{}-{}-{}",
                        &h[0..8],
                        &h[8..12],
                        &h[12..16],
                        &h[16..20],
                        &h[20..32]
                    ))
                } else {
                    Value::Null
                }
            }),
        ),
        "iff" | "iif" => {
            let t = common_type(ts.get(1..).unwrap_or(&[]));
            (
                t,
                rf(move |a| {
                    if arg(a, 0).as_bool().unwrap_or(false) {
                        arg(a, 1)
                    } else {
                        arg(a, 2)
                    }
                }),
            )
        }
        "case" => {
            let mut vt: Vec<KType> = ts
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == 1 || *i == ts.len() - 1)
                .map(|(_, t)| *t)
                .collect();
            if vt.is_empty() {
                vt.push(K::Dynamic);
            }
            let t = common_type(&vt);
            (
                t,
                rf(move |a| {
                    let mut i = 0;
                    while i + 1 < a.len() {
                        if a[i].as_bool().unwrap_or(false) {
                            return a[i + 1].clone();
                        }
                        i += 2;
                    }
                    a.last().cloned().unwrap_or(Value::Null)
                }),
            )
        }
        "coalesce" => (
            common_type(ts),
            rf(|a| {
                a.iter()
                    .find(|v| !v.is_null() && !matches!(v, Value::Str(s) if s.is_empty()))
                    .cloned()
                    .unwrap_or(Value::Null)
            }),
        ),
        "gettype" => {
            let t = t0;
            (
                K::String,
                rf(move |a| Value::Str(gettype_of(&arg(a, 0), t).to_string())),
            )
        }
        "array_length" => (
            K::Long,
            rf(|a| json_arr(arg(a, 0)).map_or(Value::Null, |v| Value::Long(v.len() as i64))),
        ),
        "pack_array" => (
            K::Dynamic,
            rf(|a| dyn_v(Json::Array(a.iter().map(|v| v.to_json()).collect()))),
        ),
        "pack" | "bag_pack" | "pack_dictionary" => (
            K::Dynamic,
            rf(|a| {
                let mut m = Map::new();
                for p in a.chunks(2) {
                    if let [k, v] = p {
                        m.insert(k.to_kstring(), v.to_json());
                    }
                }
                dyn_v(Json::Object(m))
            }),
        ),
        "bag_keys" => (
            K::Dynamic,
            rf(|a| match to_dyn(arg(a, 0)) {
                Json::Object(m) => dyn_v(Json::Array(
                    m.keys().map(|k| Json::String(k.clone())).collect(),
                )),
                _ => Value::Null,
            }),
        ),
        "bag_has_key" => (
            K::Bool,
            rf(|a| match to_dyn(arg(a, 0)) {
                Json::Object(m) => Value::Bool(m.contains_key(&sarg(a, 1))),
                _ => Value::Bool(false),
            }),
        ),
        "bag_merge" => (
            K::Dynamic,
            rf(|a| {
                let mut out = Map::new();
                for v in a {
                    if let Json::Object(m) = to_dyn(v.clone()) {
                        for (k, v) in m {
                            out.entry(k).or_insert(v);
                        }
                    }
                }
                dyn_v(Json::Object(out))
            }),
        ),
        "bag_set_key" => (
            K::Dynamic,
            rf(|a| match to_dyn(arg(a, 0)) {
                Json::Object(mut m) => {
                    m.insert(sarg(a, 1), arg(a, 2).to_json());
                    dyn_v(Json::Object(m))
                }
                _ => Value::Null,
            }),
        ),
        "bag_remove_keys" => (
            K::Dynamic,
            rf(|a| match (to_dyn(arg(a, 0)), json_arr(arg(a, 1))) {
                (Json::Object(mut m), Some(keys)) => {
                    for k in keys {
                        if let Json::String(k) = k {
                            m.remove(&k);
                        }
                    }
                    dyn_v(Json::Object(m))
                }
                (j, _) => dyn_v(j),
            }),
        ),
        "array_concat" => (
            K::Dynamic,
            rf(|a| {
                let mut out = Vec::new();
                for v in a {
                    match json_arr(v.clone()) {
                        Some(items) => out.extend(items),
                        None => return Value::Null,
                    }
                }
                dyn_v(Json::Array(out))
            }),
        ),
        "array_slice" => (
            K::Dynamic,
            rf(|a| {
                let Some(v) = json_arr(arg(a, 0)) else {
                    return Value::Null;
                };
                let n = v.len() as i64;
                let fix = |i: i64| if i < 0 { n + i } else { i };
                let s = fix(arg(a, 1).as_i64().unwrap_or(0)).max(0);
                let e = fix(arg(a, 2).as_i64().unwrap_or(n - 1)).min(n - 1);
                if s > e {
                    return dyn_v(Json::Array(vec![]));
                }
                dyn_v(Json::Array(v[s as usize..=e as usize].to_vec()))
            }),
        ),
        "array_index_of" => (
            K::Long,
            rf(|a| {
                let Some(v) = json_arr(arg(a, 0)) else {
                    return Value::Null;
                };
                let x = arg(a, 1);
                Value::Long(nth_index(v.len(), 1, &a[2.min(a.len())..], |i| {
                    values_equal(&Value::Dyn(v[i].clone()), &x)
                }))
            }),
        ),
        "array_reverse" => (
            K::Dynamic,
            rf(|a| {
                json_arr(arg(a, 0)).map_or(Value::Null, |mut v| {
                    v.reverse();
                    dyn_v(Json::Array(v))
                })
            }),
        ),
        "array_sort_asc" | "array_sort_desc" => {
            let desc = name.ends_with("desc");
            (
                K::Dynamic,
                rf(move |a| {
                    let Some(mut v) = json_arr(arg(a, 0)) else {
                        return Value::Null;
                    };
                    let nulls_last = a.get(1).and_then(|b| b.as_bool()).unwrap_or(true);
                    let (mut nulls, mut vals): (Vec<Json>, Vec<Json>) =
                        v.drain(..).partition(|j| j.is_null());
                    vals.sort_by(|x, y| cmp_values(&Value::Dyn(x.clone()), &Value::Dyn(y.clone())));
                    if desc {
                        vals.reverse();
                    }
                    let out = if nulls_last {
                        vals.append(&mut nulls);
                        vals
                    } else {
                        nulls.append(&mut vals);
                        nulls
                    };
                    dyn_v(Json::Array(out))
                }),
            )
        }
        "array_sum" | "series_sum" => (
            K::Real,
            rf(|a| {
                let Some(v) = json_arr(arg(a, 0)) else {
                    return Value::Null;
                };
                Value::Real(v.iter().filter_map(|j| j.as_f64()).sum())
            }),
        ),
        "array_rotate_left" | "array_rotate_right" => {
            let left = name.ends_with("left");
            (
                K::Dynamic,
                rf(move |a| {
                    let Some(mut v) = json_arr(arg(a, 0)) else {
                        return Value::Null;
                    };
                    if v.is_empty() {
                        return dyn_v(Json::Array(v));
                    }
                    let n = v.len() as i64;
                    let k = arg(a, 1).as_i64().unwrap_or(0);
                    let k = if left { k } else { -k }.rem_euclid(n) as usize;
                    v.rotate_left(k);
                    dyn_v(Json::Array(v))
                }),
            )
        }
        "array_shift_left" | "array_shift_right" => {
            let left = name.ends_with("left");
            (
                K::Dynamic,
                rf(move |a| {
                    let Some(v) = json_arr(arg(a, 0)) else {
                        return Value::Null;
                    };
                    let n = v.len() as i64;
                    let k = arg(a, 1).as_i64().unwrap_or(0);
                    let k = if left { k } else { -k };
                    let fill = if a.len() > 2 {
                        arg(a, 2).to_json()
                    } else {
                        Json::Null
                    };
                    let out: Vec<Json> = (0..n)
                        .map(|i| {
                            let j = i + k;
                            if j >= 0 && j < n {
                                v[j as usize].clone()
                            } else {
                                fill.clone()
                            }
                        })
                        .collect();
                    dyn_v(Json::Array(out))
                }),
            )
        }
        "set_has_element" => (
            K::Bool,
            rf(|a| {
                let Some(v) = json_arr(arg(a, 0)) else {
                    return Value::Null;
                };
                let x = arg(a, 1);
                Value::Bool(v.iter().any(|j| values_equal(&Value::Dyn(j.clone()), &x)))
            }),
        ),
        "set_union" | "set_intersect" | "set_difference" => {
            let kind = name.to_string();
            (
                K::Dynamic,
                rf(move |a| {
                    let arrays: Vec<Vec<Json>> =
                        a.iter().filter_map(|v| json_arr(v.clone())).collect();
                    let mut out: Vec<Json> = Vec::new();
                    let Some(first) = arrays.first() else {
                        return Value::Null;
                    };
                    match kind.as_str() {
                        "set_union" => {
                            for arr in &arrays {
                                for j in arr {
                                    if !out.contains(j) {
                                        out.push(j.clone());
                                    }
                                }
                            }
                        }
                        "set_intersect" => {
                            for j in first {
                                if arrays[1..].iter().all(|o| o.contains(j)) && !out.contains(j) {
                                    out.push(j.clone());
                                }
                            }
                        }
                        _ => {
                            for j in first {
                                if !arrays[1..].iter().any(|o| o.contains(j)) && !out.contains(j) {
                                    out.push(j.clone());
                                }
                            }
                        }
                    }
                    dyn_v(Json::Array(out))
                }),
            )
        }
        "jaccard_index" => (
            K::Real,
            rf(|a| {
                let (Some(x), Some(y)) = (json_arr(arg(a, 0)), json_arr(arg(a, 1))) else {
                    return Value::Null;
                };
                let mut u: Vec<Json> = Vec::new();
                for j in x.iter().chain(y.iter()) {
                    if !u.contains(j) {
                        u.push(j.clone());
                    }
                }
                let inter = u.iter().filter(|j| x.contains(j) && y.contains(j)).count();
                if u.is_empty() {
                    Value::Real(0.0)
                } else {
                    Value::Real(inter as f64 / u.len() as f64)
                }
            }),
        ),
        "zip" => (
            K::Dynamic,
            rf(|a| {
                let arrays: Vec<Vec<Json>> = a.iter().filter_map(|v| json_arr(v.clone())).collect();
                let n = arrays.iter().map(|v| v.len()).max().unwrap_or(0);
                dyn_v(Json::Array(
                    (0..n)
                        .map(|i| {
                            Json::Array(
                                arrays
                                    .iter()
                                    .map(|v| v.get(i).cloned().unwrap_or(Json::Null))
                                    .collect(),
                            )
                        })
                        .collect(),
                ))
            }),
        ),
        "repeat" => (
            K::Dynamic,
            rf(|a| {
                let n = arg(a, 1).as_i64().unwrap_or(0).clamp(0, 1 << 20) as usize;
                dyn_v(Json::Array(vec![arg(a, 0).to_json(); n]))
            }),
        ),
        "range" => (
            K::Dynamic,
            rf(|a| {
                let (s, e) = (arg(a, 0), arg(a, 1));
                let step = if a.len() > 2 {
                    arg(a, 2)
                } else {
                    Value::Long(1)
                };
                let mut out = Vec::new();
                match (s.clone().undyn(), e.clone().undyn(), step.clone().undyn()) {
                    (Value::Long(x), Value::Long(y), Value::Long(st)) if st != 0 => {
                        let mut x = x;
                        while (st > 0 && x <= y) || (st < 0 && x >= y) {
                            out.push(Json::from(x));
                            x += st;
                            if out.len() > 1 << 20 {
                                break;
                            }
                        }
                    }
                    (Value::DateTime(x), Value::DateTime(y), Value::TimeSpan(st)) if st > 0 => {
                        let mut x = x;
                        while x <= y && out.len() < 1 << 20 {
                            out.push(Json::String(format_datetime(x)));
                            x += st;
                        }
                    }
                    _ => {
                        if let (Some(x), Some(y), Some(st)) =
                            (s.as_f64(), e.as_f64(), step.as_f64())
                        {
                            let mut i = 0.0;
                            while st != 0.0 && out.len() < 1 << 20 {
                                let v = x + i * st;
                                if (st > 0.0 && v > y) || (st < 0.0 && v < y) {
                                    break;
                                }
                                out.push(Value::Real(v).to_json());
                                i += 1.0;
                            }
                        }
                    }
                }
                dyn_v(Json::Array(out))
            }),
        ),
        "bin" | "floor" => {
            let t = if t0 == K::Int { K::Long } else { t0 };
            let t = if t == K::Long && ts.get(1) == Some(&K::Real) {
                K::Real
            } else {
                t
            };
            (t, rf(|a| bin_value(arg(a, 0), arg(a, 1), None)))
        }
        "bin_at" => (t0, rf(|a| bin_value(arg(a, 0), arg(a, 1), Some(arg(a, 2))))),
        "startofday" | "startofweek" | "startofmonth" | "startofyear" | "endofday"
        | "endofweek" | "endofmonth" | "endofyear" => {
            let unit = name
                .trim_start_matches("startof")
                .trim_start_matches("endof")
                .to_string();
            let end = name.starts_with("end");
            (
                K::DateTime,
                rf(move |a| match arg(a, 0).convert(K::DateTime) {
                    Value::DateTime(ns) => {
                        let off = if a.len() > 1 {
                            arg(a, 1).as_i64().unwrap_or(0)
                        } else {
                            0
                        };
                        if end {
                            end_of(&unit, ns, off)
                        } else {
                            start_of(&unit, ns, off)
                        }
                    }
                    _ => Value::Null,
                }),
            )
        }
        "datetime_add" => (
            K::DateTime,
            rf(
                |a| match (arg(a, 1).as_i64(), arg(a, 2).convert(K::DateTime)) {
                    (Some(n), Value::DateTime(ns)) => datetime_add(&sarg(a, 0), n, ns),
                    _ => Value::Null,
                },
            ),
        ),
        "datetime_diff" => (
            K::Long,
            rf(|a| {
                match (
                    arg(a, 1).convert(K::DateTime),
                    arg(a, 2).convert(K::DateTime),
                ) {
                    (Value::DateTime(x), Value::DateTime(y)) => datetime_diff(&sarg(a, 0), x, y),
                    _ => Value::Null,
                }
            }),
        ),
        "datetime_part" => (
            K::Int,
            rf(|a| match arg(a, 1).convert(K::DateTime) {
                Value::DateTime(ns) => datetime_part(&sarg(a, 0), ns),
                _ => Value::Null,
            }),
        ),
        "dayofweek" => (
            K::TimeSpan,
            rf(|a| match arg(a, 0).convert(K::DateTime) {
                Value::DateTime(ns) => dt(ns).map_or(Value::Null, |d| {
                    Value::TimeSpan(d.weekday().num_days_from_sunday() as i64 * 86_400_000_000_000)
                }),
                _ => Value::Null,
            }),
        ),
        "dayofmonth" | "dayofyear" | "hourofday" | "monthofyear" | "getmonth" | "getyear"
        | "week_of_year" | "weekofyear" => {
            let part = match name {
                "dayofmonth" => "day",
                "dayofyear" => "dayofyear",
                "hourofday" => "hour",
                "monthofyear" | "getmonth" => "month",
                "getyear" => "year",
                _ => "week_of_year",
            };
            (
                K::Int,
                rf(move |a| match arg(a, 0).convert(K::DateTime) {
                    Value::DateTime(ns) => datetime_part(part, ns),
                    _ => Value::Null,
                }),
            )
        }
        "format_datetime" => (
            K::String,
            rf(|a| match arg(a, 0).convert(K::DateTime) {
                Value::DateTime(ns) => Value::Str(format_dt(ns, &sarg(a, 1))),
                _ => Value::Str(String::new()),
            }),
        ),
        "format_timespan" => (
            K::String,
            rf(|a| match arg(a, 0).convert(K::TimeSpan) {
                Value::TimeSpan(ns) => Value::Str(format_ts(ns, &sarg(a, 1))),
                _ => Value::Str(String::new()),
            }),
        ),
        "make_datetime" => (
            K::DateTime,
            rf(|a| {
                let g = |i: usize| a.get(i).and_then(|v| v.as_f64());
                let (Some(y), Some(mo), Some(d)) = (g(0), g(1), g(2)) else {
                    return Value::Null;
                };
                let (h, mi, s) = (
                    g(3).unwrap_or(0.0),
                    g(4).unwrap_or(0.0),
                    g(5).unwrap_or(0.0),
                );
                match NaiveDate::from_ymd_opt(y as i32, mo as u32, d as u32)
                    .and_then(|nd| nd.and_hms_opt(h as u32, mi as u32, 0))
                {
                    Some(n) => match ns_of(n.and_utc()) {
                        Value::DateTime(ns) => Value::DateTime(ns + (s * 1e9).round() as i64),
                        v => v,
                    },
                    None => Value::Null,
                }
            }),
        ),
        "make_timespan" => (
            K::TimeSpan,
            rf(|a| {
                let g = |i: usize| a.get(i).and_then(|v| v.as_f64()).unwrap_or(0.0);
                let secs = match a.len() {
                    2 => g(0) * 3600.0 + g(1) * 60.0,
                    3 => g(0) * 3600.0 + g(1) * 60.0 + g(2),
                    _ => g(0) * 86400.0 + g(1) * 3600.0 + g(2) * 60.0 + g(3),
                };
                Value::TimeSpan((secs * 1e9).round() as i64)
            }),
        ),
        "unixtime_seconds_todatetime"
        | "unixtime_milliseconds_todatetime"
        | "unixtime_microseconds_todatetime"
        | "unixtime_nanoseconds_todatetime" => {
            let mul = match name {
                "unixtime_seconds_todatetime" => 1e9,
                "unixtime_milliseconds_todatetime" => 1e6,
                "unixtime_microseconds_todatetime" => 1e3,
                _ => 1.0,
            };
            (
                K::DateTime,
                rf(move |a| {
                    arg(a, 0)
                        .as_f64()
                        .map_or(Value::Null, |x| Value::DateTime((x * mul).round() as i64))
                }),
            )
        }
        "datetime_utc_to_local" | "datetime_local_to_utc" => {
            (K::DateTime, rf(|a| arg(a, 0).convert(K::DateTime)))
        }
        "ingestion_time" => (K::DateTime, rf(|_| Value::Null)),
        // Kusto answers from MaxMind's GeoLite2 data; Harrier ships none, and a null for
        // every address would pass for "no location known" where Kusto has one
        "geo_info_from_ip_address" => {
            return Err(
                "`geo_info_from_ip_address()` is not supported: it needs GeoIP \
                        (MaxMind GeoLite2) data, which Harrier does not have"
                    .into(),
            )
        }
        "abs" => (
            t0,
            rf(|a| match arg(a, 0).undyn() {
                Value::Long(i) => Value::Long(i.abs()),
                Value::TimeSpan(i) => Value::TimeSpan(i.abs()),
                v => v.as_f64().map_or(Value::Null, |f| Value::Real(f.abs())),
            }),
        ),
        "round" => {
            let t = if t0 == K::Int { K::Long } else { t0 };
            (
                t,
                rf(|a| {
                    let p = if a.len() > 1 {
                        arg(a, 1).as_i64().unwrap_or(0)
                    } else {
                        0
                    };
                    match arg(a, 0).undyn() {
                        Value::Long(i) if p >= 0 => Value::Long(i),
                        v => v.as_f64().map_or(Value::Null, |f| {
                            let m = 10f64.powi(p as i32);
                            Value::Real((f * m).round() / m)
                        }),
                    }
                }),
            )
        }
        "ceiling" => (
            t0,
            rf(|a| match arg(a, 0).undyn() {
                Value::Long(i) => Value::Long(i),
                v => v.as_f64().map_or(Value::Null, |f| Value::Real(f.ceil())),
            }),
        ),
        "sqrt" => (K::Real, math(f64::sqrt)),
        "exp" => (K::Real, math(f64::exp)),
        "exp2" => (K::Real, math(f64::exp2)),
        "exp10" => (K::Real, math(|x| 10f64.powf(x))),
        "log" => (K::Real, math(f64::ln)),
        "log2" => (K::Real, math(f64::log2)),
        "log10" => (K::Real, math(f64::log10)),
        "sin" => (K::Real, math(f64::sin)),
        "cos" => (K::Real, math(f64::cos)),
        "tan" => (K::Real, math(f64::tan)),
        "asin" => (K::Real, math(f64::asin)),
        "acos" => (K::Real, math(f64::acos)),
        "atan" => (K::Real, math(f64::atan)),
        "cot" => (K::Real, math(|x| 1.0 / x.tan())),
        "degrees" => (K::Real, math(f64::to_degrees)),
        "radians" => (K::Real, math(f64::to_radians)),
        "atan2" => (
            K::Real,
            rf(|a| match (arg(a, 0).as_f64(), arg(a, 1).as_f64()) {
                (Some(y), Some(x)) => Value::Real(y.atan2(x)),
                _ => Value::Null,
            }),
        ),
        "pow" => (
            K::Real,
            rf(|a| match (arg(a, 0).as_f64(), arg(a, 1).as_f64()) {
                (Some(x), Some(y)) => Value::Real(x.powf(y)),
                _ => Value::Null,
            }),
        ),
        "sign" => (K::Real, math(|x| if x == 0.0 { 0.0 } else { x.signum() })),
        "isnan" => (
            K::Bool,
            rf(|a| Value::Bool(arg(a, 0).as_f64().is_some_and(f64::is_nan))),
        ),
        "isinf" => (
            K::Bool,
            rf(|a| Value::Bool(arg(a, 0).as_f64().is_some_and(f64::is_infinite))),
        ),
        "isfinite" => (
            K::Bool,
            rf(|a| Value::Bool(arg(a, 0).as_f64().is_some_and(f64::is_finite))),
        ),
        "pi" => (K::Real, rf(|_| Value::Real(std::f64::consts::PI))),
        "min_of" | "max_of" => {
            let is_max = name == "max_of";
            (
                common_type(ts),
                rf(move |a| {
                    let mut best: Option<Value> = None;
                    for v in a.iter().filter(|v| !v.is_null()) {
                        best = match best {
                            None => Some(v.clone()),
                            Some(b) => {
                                let o = cmp_values(v, &b);
                                if (is_max && o == Ordering::Greater)
                                    || (!is_max && o == Ordering::Less)
                                {
                                    Some(v.clone())
                                } else {
                                    Some(b)
                                }
                            }
                        }
                    }
                    best.unwrap_or(Value::Null)
                }),
            )
        }
        "rand" => {
            let state = Arc::new(Mutex::new(0x2545_f491_4f6c_dd1du64 ^ now_ns as u64));
            let f = rf(move |a| {
                let mut s = match state.lock() {
                    Ok(g) => g,
                    Err(_) => return Value::Null,
                };
                *s ^= *s << 13;
                *s ^= *s >> 7;
                *s ^= *s << 17;
                let r = (*s >> 11) as f64 / (1u64 << 53) as f64;
                match a.first().and_then(|v| v.as_i64()) {
                    Some(n) if n > 0 => Value::Long((r * n as f64) as i64),
                    _ => Value::Real(r),
                }
            });
            let t = if xs.is_empty() { K::Real } else { K::Long };
            return Ok(udf::call("rand", t.arrow(), f, xs, true));
        }
        "new_guid" => {
            let state = Arc::new(Mutex::new(0x9e37_79b9_7f4a_7c15u64 ^ now_ns as u64));
            let f = rf(move |_| {
                let mut s = match state.lock() {
                    Ok(g) => g,
                    Err(_) => return Value::Null,
                };
                let mut next = || {
                    *s ^= *s << 13;
                    *s ^= *s >> 7;
                    *s ^= *s << 17;
                    *s
                };
                let (a, b) = (next(), next());
                let h = format!("{a:016x}{b:016x}");
                Value::Str(format!(
                    "{}-{}-4{}-a{}-{}",
                    &h[0..8],
                    &h[8..12],
                    &h[13..16],
                    &h[17..20],
                    &h[20..32]
                ))
            });
            return Ok(udf::call("new_guid", K::Guid.arrow(), f, xs, true));
        }
        "hash_sha256" | "hash_sha1" | "hash_md5" => {
            let f = match name {
                "hash_sha256" => strings::sha256_hex,
                "hash_sha1" => strings::sha1_hex,
                _ => strings::md5_hex,
            };
            // the digest of the value's string form (the pages hash datetime(2020-01-01) as
            // "2020-01-01T00:00:00.0000000Z")
            (
                K::String,
                rf(move |a| match arg(a, 0) {
                    Value::Null => Value::Null,
                    v => Value::Str(f(v.to_kstring().as_bytes())),
                }),
            )
        }
        "hash" | "hash_xxhash64" => {
            // xxHash64 (seed 0) of the UTF-8 bytes; only strings, whose bytes are known
            if t0 != K::String && t0 != K::Dynamic {
                return Err(format!(
                    "{name}() of a {} value is not supported",
                    t0.name()
                ));
            }
            (
                K::Long,
                rf(|a| {
                    let s = match arg(a, 0) {
                        Value::Str(s) => s,
                        Value::Dyn(Json::String(s)) => s,
                        _ => return Value::Null,
                    };
                    let h = strings::xxhash64(s.as_bytes());
                    match arg(a, 1).as_i64() {
                        Some(m) if m > 0 => Value::Long((h % m as u64) as i64),
                        Some(_) => Value::Null,
                        None if a.len() > 1 && !arg(a, 1).is_null() => Value::Null,
                        None => Value::Long(h as i64),
                    }
                }),
            )
        }
        "strcmp" => (
            K::Int,
            rf(|a| {
                Value::Long(match sarg(a, 0).cmp(&sarg(a, 1)) {
                    Ordering::Less => -1,
                    Ordering::Equal => 0,
                    Ordering::Greater => 1,
                })
            }),
        ),
        "base64_encode_tostring" => (
            K::String,
            rf(|a| Value::Str(strings::base64_encode(sarg(a, 0).as_bytes()))),
        ),
        "base64_decode_tostring" => (
            K::String,
            rf(|a| {
                Value::Str(
                    strings::base64_decode(&sarg(a, 0))
                        .and_then(|b| String::from_utf8(b).ok())
                        .unwrap_or_default(),
                )
            }),
        ),
        "url_encode" | "url_encode_component" => {
            let component = name == "url_encode_component";
            (
                K::String,
                rf(move |a| Value::Str(strings::url_encode(&sarg(a, 0), component))),
            )
        }
        "url_decode" => (
            K::String,
            rf(|a| Value::Str(strings::url_decode(&sarg(a, 0)))),
        ),
        "parse_url" => (K::Dynamic, rf(|a| dyn_v(strings::parse_url(&sarg(a, 0))))),
        // "windows" is the only parser type Kusto has
        "parse_command_line" => (
            K::Dynamic,
            rf(|a| {
                if sarg(a, 1) != "windows" {
                    return Value::Null;
                }
                let args = strings::windows_argv(&sarg(a, 0));
                Value::Dyn(Json::Array(args.into_iter().map(Json::String).collect()))
            }),
        ),
        "parse_path" => (K::Dynamic, rf(|a| dyn_v(strings::parse_path(&sarg(a, 0))))),
        "ipv4_is_private" => (
            K::Bool,
            rf(|a| strings::ipv4_is_private(&sarg(a, 0)).map_or(Value::Null, Value::Bool)),
        ),
        "ipv4_is_in_range" => (
            K::Bool,
            rf(|a| {
                strings::ipv4_in_range(&sarg(a, 0), &sarg(a, 1)).map_or(Value::Null, Value::Bool)
            }),
        ),
        "ipv4_is_in_any_range" => (
            K::Bool,
            rf(|a| {
                let ip = sarg(a, 0);
                let mut ranges = Vec::new();
                for v in a.iter().skip(1) {
                    match json_arr(v.clone()) {
                        Some(items) => {
                            ranges.extend(items.into_iter().map(|j| Value::Dyn(j).to_kstring()))
                        }
                        None => ranges.push(v.to_kstring()),
                    }
                }
                let mut any_valid = false;
                for r in ranges {
                    match strings::ipv4_in_range(&ip, &r) {
                        Some(true) => return Value::Bool(true),
                        Some(false) => any_valid = true,
                        None => {}
                    }
                }
                if any_valid {
                    Value::Bool(false)
                } else {
                    Value::Null
                }
            }),
        ),
        "ipv4_is_match" | "ipv4_compare" => {
            let cmp = name == "ipv4_compare";
            (
                if cmp { K::Int } else { K::Bool },
                rf(move |a| {
                    let prefix = if a.len() > 2 {
                        arg(a, 2).as_i64()
                    } else {
                        None
                    };
                    match strings::ipv4_compare(&sarg(a, 0), &sarg(a, 1), prefix) {
                        Some(o) if cmp => Value::Long(o),
                        Some(o) => Value::Bool(o == 0),
                        None => Value::Null,
                    }
                }),
            )
        }
        "parse_ipv4" => (
            K::Long,
            rf(|a| {
                strings::parse_ipv4(&sarg(a, 0)).map_or(Value::Null, |(ip, bits)| {
                    Value::Long((ip & strings::mask(bits)) as i64)
                })
            }),
        ),
        "format_ipv4" | "format_ipv4_mask" => {
            let mask = name == "format_ipv4_mask";
            (
                K::String,
                rf(move |a| {
                    let v = arg(a, 0);
                    let ip = match v.clone().undyn() {
                        Value::Long(i) => Some((i as u32, 32)),
                        _ => strings::parse_ipv4(&v.to_kstring()),
                    };
                    let Some((ip, pfx)) = ip else {
                        return Value::Str(String::new());
                    };
                    // the address's own prefix and the mask argument both apply (the
                    // narrower wins); a mask outside 0..=32 gives an empty string
                    let bits = if a.len() > 1 {
                        match arg(a, 1).as_i64() {
                            Some(b) if (0..=32).contains(&b) => (b as u32).min(pfx),
                            _ => return Value::Str(String::new()),
                        }
                    } else {
                        pfx.min(32)
                    };
                    let m = if bits == 0 {
                        0
                    } else {
                        u32::MAX << (32 - bits)
                    };
                    let x = ip & m;
                    let s = format!(
                        "{}.{}.{}.{}",
                        x >> 24,
                        (x >> 16) & 255,
                        (x >> 8) & 255,
                        x & 255
                    );
                    Value::Str(if mask { format!("{s}/{bits}") } else { s })
                }),
            )
        }
        "ipv4_netmask_suffix" => (
            K::Int,
            rf(|a| {
                strings::parse_ipv4(&sarg(a, 0)).map_or(Value::Null, |(_, p)| Value::Long(p as i64))
            }),
        ),
        "tohex" => (
            K::String,
            rf(|a| match arg(a, 0).as_i64() {
                Some(i) => {
                    let w = if a.len() > 1 {
                        arg(a, 1).as_i64().unwrap_or(0).max(0) as usize
                    } else {
                        0
                    };
                    Value::Str(format!("{i:0w$x}"))
                }
                None => Value::Str(String::new()),
            }),
        ),
        "extract_json" | "extractjson" => {
            let t = type_name_arg(xs.get(2)).unwrap_or(K::String);
            (
                t,
                rf(move |a| {
                    let path = sarg(a, 0);
                    let doc = to_dyn(arg(a, 1));
                    match strings::json_path(&doc, &path) {
                        Some(j) => Value::Dyn(j).convert(t),
                        None => Value::Null.convert(t),
                    }
                }),
            )
        }
        "unicode_codepoints_from_string" => (
            K::Dynamic,
            rf(|a| {
                dyn_v(Json::Array(
                    sarg(a, 0).chars().map(|c| Json::from(c as u32)).collect(),
                ))
            }),
        ),
        "unicode_codepoints_to_string" | "make_string" => (
            K::String,
            rf(|a| {
                let mut s = String::new();
                for v in a {
                    match json_arr(v.clone()) {
                        Some(items) => s.extend(
                            items
                                .iter()
                                .filter_map(|j| j.as_u64())
                                .filter_map(|c| char::from_u32(c as u32)),
                        ),
                        None => {
                            if let Some(c) = v.as_i64().and_then(|c| char::from_u32(c as u32)) {
                                s.push(c);
                            }
                        }
                    }
                }
                Value::Str(s)
            }),
        ),
        "binary_and" | "binary_or" | "binary_xor" | "binary_shift_left" | "binary_shift_right" => {
            let k = name.to_string();
            (
                K::Long,
                rf(move |a| match (arg(a, 0).as_i64(), arg(a, 1).as_i64()) {
                    (Some(x), Some(y)) => Value::Long(match k.as_str() {
                        "binary_and" => x & y,
                        "binary_or" => x | y,
                        "binary_xor" => x ^ y,
                        "binary_shift_left" => x.checked_shl(y as u32).unwrap_or(0),
                        _ => x.checked_shr(y as u32).unwrap_or(0),
                    }),
                    _ => Value::Null,
                }),
            )
        }
        "binary_not" => (
            K::Long,
            rf(|a| arg(a, 0).as_i64().map_or(Value::Null, |x| Value::Long(!x))),
        ),
        "bitset_count_ones" => (
            K::Int,
            rf(|a| {
                arg(a, 0)
                    .as_i64()
                    .map_or(Value::Null, |x| Value::Long(x.count_ones() as i64))
            }),
        ),
        "bag_zip" => (
            K::Dynamic,
            rf(|a| {
                let (Some(keys), Some(vals)) = (json_arr(arg(a, 0)), json_arr(arg(a, 1))) else {
                    return Value::Null;
                };
                let mut m = Map::new();
                for (i, k) in keys.iter().enumerate() {
                    if let Json::String(k) = k {
                        m.insert(k.clone(), vals.get(i).cloned().unwrap_or(Json::Null));
                    }
                }
                dyn_v(Json::Object(m))
            }),
        ),
        "has_ipv4" | "has_ipv4_prefix" | "has_any_ipv4" | "has_any_ipv4_prefix" => {
            let prefix = name.ends_with("prefix");
            (
                K::Bool,
                rf(move |a| {
                    let text = sarg(a, 0);
                    let mut needles = Vec::new();
                    for v in a.iter().skip(1) {
                        match json_arr(v.clone()) {
                            Some(items) => needles
                                .extend(items.into_iter().map(|j| Value::Dyn(j).to_kstring())),
                            None => needles.push(v.to_kstring()),
                        }
                    }
                    let ips = strings::ipv4_tokens(&text);
                    Value::Bool(needles.iter().any(|n| {
                        if prefix {
                            let dots = n.matches('.').count();
                            let ok = n.ends_with('.') || dots == 3;
                            ok && ips.iter().any(|ip| ip.starts_with(n.as_str()))
                        } else {
                            ips.iter().any(|ip| ip == n)
                        }
                    }))
                }),
            )
        }
        "replace_strings" => (
            K::String,
            rf(|a| {
                let text = sarg(a, 0);
                let (Some(look), Some(rew)) = (json_arr(arg(a, 1)), json_arr(arg(a, 2))) else {
                    return Value::Str(text);
                };
                let look: Vec<String> = look
                    .into_iter()
                    .map(|j| Value::Dyn(j).to_kstring())
                    .collect();
                let rew: Vec<String> = rew
                    .into_iter()
                    .map(|j| Value::Dyn(j).to_kstring())
                    .collect();
                let mut out = String::new();
                let mut i = 0;
                'outer: while i < text.len() {
                    for (k, l) in look.iter().enumerate() {
                        if !l.is_empty() && text[i..].starts_with(l.as_str()) {
                            out.push_str(rew.get(k).map_or("", |r| r.as_str()));
                            i += l.len();
                            continue 'outer;
                        }
                    }
                    let c = text[i..].chars().next().unwrap_or(' ');
                    out.push(c);
                    i += c.len_utf8();
                }
                Value::Str(out)
            }),
        ),
        "array_iff" | "array_iif" => (
            K::Dynamic,
            rf(|a| {
                let Some(cond) = json_arr(arg(a, 0)) else {
                    return Value::Null;
                };
                let pick = |v: &Value, i: usize| -> Json {
                    match json_arr(v.clone()) {
                        Some(items) => items.get(i).cloned().unwrap_or(Json::Null),
                        None => v.to_json(),
                    }
                };
                let (t, f) = (arg(a, 1), arg(a, 2));
                dyn_v(Json::Array(
                    cond.iter()
                        .enumerate()
                        .map(|(i, c)| match Value::Dyn(c.clone()).as_bool() {
                            Some(true) => pick(&t, i),
                            Some(false) => pick(&f, i),
                            None => Json::Null,
                        })
                        .collect(),
                ))
            }),
        ),
        "to_utf8" => (
            K::Dynamic,
            rf(|a| dyn_v(Json::Array(sarg(a, 0).bytes().map(Json::from).collect()))),
        ),
        "strcat_array" => (
            K::String,
            rf(|a| match json_arr(arg(a, 0)) {
                Some(items) => Value::Str(
                    items
                        .into_iter()
                        .map(|j| Value::Dyn(j).to_kstring())
                        .collect::<Vec<_>>()
                        .join(&sarg(a, 1)),
                ),
                None => Value::Str(String::new()),
            }),
        ),
        "array_split" => (
            K::Dynamic,
            rf(|a| {
                let Some(v) = json_arr(arg(a, 0)) else {
                    return Value::Null;
                };
                let n = v.len() as i64;
                let idx: Vec<i64> = match json_arr(arg(a, 1)) {
                    Some(items) => items.iter().filter_map(|j| j.as_i64()).collect(),
                    None => arg(a, 1).as_i64().into_iter().collect(),
                };
                let mut cuts: Vec<usize> = idx
                    .into_iter()
                    .map(|i| if i < 0 { n + i } else { i }.clamp(0, n) as usize)
                    .collect();
                cuts.sort_unstable();
                let mut out = Vec::new();
                let mut start = 0;
                for c in cuts {
                    out.push(Json::Array(v[start..c.max(start)].to_vec()));
                    start = c.max(start);
                }
                out.push(Json::Array(v[start..].to_vec()));
                dyn_v(Json::Array(out))
            }),
        ),
        _ => match crate::seriesfns::lookup(name)
            .or_else(|| crate::morefns::lookup(name))
            .or_else(|| crate::geo::lookup(name))
        {
            Some(found) => found,
            None => return Err(UNKNOWN.into()),
        },
    };
    Ok(call(name, ret, f, xs))
}
