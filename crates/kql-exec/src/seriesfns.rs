//! Kusto's `series_*` scalar functions over dynamic arrays (the series-function pages):
//! element-wise maths and comparisons, gap filling, the IIR filter, the seasonal component,
//! correlation and summary statistics.
//!
//! Element-wise functions read each element as a number; a non-numeric element (or one
//! missing because the other array is shorter) gives null at that position. A scalar in place
//! of an array applies to every element. `add`, `subtract` and `multiply` keep integers when
//! both elements are integers; the other arithmetic is real.

use crate::udf::RowFn;
use crate::value::{KType, Value};
use serde_json::Value as Json;
use std::sync::Arc;

/// The names this module answers for.
pub const NAMES: &[&str] = &[
    "series_abs",
    "series_acos",
    "series_add",
    "series_asin",
    "series_atan",
    "series_ceiling",
    "series_cos",
    "series_divide",
    "series_dot_product",
    "series_equals",
    "series_exp",
    "series_fill_backward",
    "series_fill_const",
    "series_fill_forward",
    "series_fill_linear",
    "series_floor",
    "series_greater",
    "series_greater_equals",
    "series_iir",
    "series_less",
    "series_less_equals",
    "series_log",
    "series_multiply",
    "series_not_equals",
    "series_pearson_correlation",
    "series_pow",
    "series_seasonal",
    "series_sign",
    "series_sin",
    "series_stats_dynamic",
    "series_subtract",
    "series_tan",
];

/// An argument as a series: an array's elements, or one scalar applied to every position.
enum Series {
    Array(Vec<Json>),
    Scalar(Json),
}

impl Series {
    fn of(v: &Value) -> Series {
        match v {
            Value::Dyn(Json::Array(items)) => Series::Array(items.clone()),
            Value::Dyn(j) => Series::Scalar(j.clone()),
            v => Series::Scalar(v.to_json()),
        }
    }

    fn len(&self) -> Option<usize> {
        match self {
            Series::Array(v) => Some(v.len()),
            Series::Scalar(_) => None,
        }
    }

    fn get(&self, i: usize) -> Option<&Json> {
        match self {
            Series::Array(v) => v.get(i),
            Series::Scalar(j) => Some(j),
        }
    }
}

fn arr(v: &Value) -> Option<Vec<Json>> {
    match v {
        Value::Dyn(Json::Array(items)) => Some(items.clone()),
        _ => None,
    }
}

fn num(j: Option<&Json>) -> Option<f64> {
    match j {
        Some(Json::Number(n)) => n.as_f64(),
        Some(Json::Bool(b)) => Some(*b as i64 as f64),
        _ => None,
    }
}

fn real(x: f64) -> Json {
    serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
}

fn arg(a: &[Value], i: usize) -> Value {
    a.get(i).cloned().unwrap_or(Value::Null)
}

fn unary(f: fn(f64) -> f64) -> RowFn {
    Arc::new(move |a: &[Value]| {
        let Some(items) = arr(&arg(a, 0)) else {
            return Value::Null;
        };
        Value::Dyn(Json::Array(
            items
                .iter()
                .map(|j| num(Some(j)).map_or(Json::Null, |x| real(f(x))))
                .collect(),
        ))
    })
}

/// Element-wise `f` over two series (scalars broadcast); null where either is not a number.
fn binary(f: impl Fn(&Json, &Json) -> Option<Json> + Send + Sync + 'static) -> RowFn {
    Arc::new(move |a: &[Value]| {
        let (x, y) = (Series::of(&arg(a, 0)), Series::of(&arg(a, 1)));
        let n = match (x.len(), y.len()) {
            (Some(p), Some(q)) => p.max(q),
            (Some(p), None) | (None, Some(p)) => p,
            (None, None) => return Value::Null,
        };
        Value::Dyn(Json::Array(
            (0..n)
                .map(|i| match (x.get(i), y.get(i)) {
                    (Some(p), Some(q)) => f(p, q).unwrap_or(Json::Null),
                    _ => Json::Null,
                })
                .collect(),
        ))
    })
}

fn arith(op: fn(f64, f64) -> f64, int: Option<fn(i64, i64) -> Option<i64>>) -> RowFn {
    binary(move |p, q| {
        if let (Some(int), Some(a), Some(b)) = (int, p.as_i64(), q.as_i64()) {
            if let Some(r) = int(a, b) {
                return Some(Json::from(r));
            }
        }
        Some(real(op(num(Some(p))?, num(Some(q))?)))
    })
}

fn compare(test: fn(f64, f64) -> bool) -> RowFn {
    binary(move |p, q| Some(Json::Bool(test(num(Some(p))?, num(Some(q))?))))
}

/// Whether element `j` is missing: null, or equal to the placeholder.
fn is_missing(j: &Json, placeholder: &Value) -> bool {
    if j.is_null() {
        return true;
    }
    match (num(Some(j)), placeholder.as_f64()) {
        (Some(x), Some(p)) if !placeholder.is_null() => x == p,
        _ => false,
    }
}

fn fill_linear(items: &[Json], placeholder: &Value, edges: bool, constant: &Value) -> Json {
    let known: Vec<(usize, f64)> = items
        .iter()
        .enumerate()
        .filter(|(_, j)| !is_missing(j, placeholder))
        .filter_map(|(i, j)| num(Some(j)).map(|x| (i, x)))
        .collect();
    if known.is_empty() {
        let c = if constant.is_null() {
            Json::from(0.0)
        } else {
            constant.to_json()
        };
        return Json::Array(vec![c; items.len()]);
    }
    // integer series stay integer (interpolated values truncated, as the page's example shows)
    let ints = items
        .iter()
        .filter(|j| !is_missing(j, placeholder))
        .all(|j| j.is_i64() || j.is_u64());
    let out_num = |x: f64| {
        if ints {
            Json::from(x.trunc() as i64)
        } else {
            real(x)
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, j) in items.iter().enumerate() {
        if !is_missing(j, placeholder) {
            out.push(j.clone());
            continue;
        }
        let before = known.iter().rev().find(|(k, _)| *k < i);
        let after = known.iter().find(|(k, _)| *k > i);
        out.push(match (before, after) {
            (Some((i0, y0)), Some((i1, y1))) => {
                out_num(y0 + (y1 - y0) * (i - i0) as f64 / (i1 - i0) as f64)
            }
            (Some((_, y)), None) | (None, Some((_, y))) if edges => out_num(*y),
            _ => Json::Null,
        });
    }
    Json::Array(out)
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    })
}

/// The scalar function `name`: its result type and row function.
pub fn lookup(name: &str) -> Option<(KType, RowFn)> {
    let d = KType::Dynamic;
    Some(match name {
        "series_abs" => (d, unary(f64::abs)),
        "series_acos" => (d, unary(f64::acos)),
        "series_asin" => (d, unary(f64::asin)),
        "series_atan" => (d, unary(f64::atan)),
        "series_ceiling" => (d, unary(f64::ceil)),
        "series_cos" => (d, unary(f64::cos)),
        "series_exp" => (d, unary(f64::exp)),
        "series_floor" => (d, unary(f64::floor)),
        "series_log" => (d, unary(f64::ln)),
        "series_sign" => (
            d,
            unary(|x| {
                if x == 0.0 || x.is_nan() {
                    x
                } else {
                    x.signum()
                }
            }),
        ),
        "series_sin" => (d, unary(f64::sin)),
        "series_tan" => (d, unary(f64::tan)),
        "series_add" => (d, arith(|x, y| x + y, Some(i64::checked_add))),
        "series_subtract" => (d, arith(|x, y| x - y, Some(i64::checked_sub))),
        "series_multiply" => (d, arith(|x, y| x * y, Some(i64::checked_mul))),
        "series_divide" => (d, arith(|x, y| x / y, None)),
        "series_pow" => (d, arith(f64::powf, None)),
        "series_equals" => (d, compare(|x, y| x == y)),
        "series_not_equals" => (d, compare(|x, y| x != y)),
        "series_greater" => (d, compare(|x, y| x > y)),
        "series_greater_equals" => (d, compare(|x, y| x >= y)),
        "series_less" => (d, compare(|x, y| x < y)),
        "series_less_equals" => (d, compare(|x, y| x <= y)),
        "series_dot_product" => (
            KType::Real,
            Arc::new(|a: &[Value]| {
                let (x, y) = (Series::of(&arg(a, 0)), Series::of(&arg(a, 1)));
                let n = match (x.len(), y.len()) {
                    (Some(p), Some(q)) => p.min(q),
                    (Some(p), None) | (None, Some(p)) => p,
                    (None, None) => 1,
                };
                let s = (0..n)
                    .filter_map(|i| Some(num(x.get(i))? * num(y.get(i))?))
                    .sum();
                Value::Real(s)
            }),
        ),
        "series_pearson_correlation" => (
            KType::Real,
            Arc::new(|a: &[Value]| {
                let (Some(x), Some(y)) = (arr(&arg(a, 0)), arr(&arg(a, 1))) else {
                    return Value::Null;
                };
                let pairs: Vec<(f64, f64)> = x
                    .iter()
                    .zip(&y)
                    .filter_map(|(p, q)| Some((num(Some(p))?, num(Some(q))?)))
                    .collect();
                let n = pairs.len() as f64;
                if n == 0.0 {
                    return Value::Null;
                }
                let (mx, my) = (
                    pairs.iter().map(|p| p.0).sum::<f64>() / n,
                    pairs.iter().map(|p| p.1).sum::<f64>() / n,
                );
                let cov: f64 = pairs.iter().map(|(p, q)| (p - mx) * (q - my)).sum();
                let vx: f64 = pairs.iter().map(|(p, _)| (p - mx).powi(2)).sum();
                let vy: f64 = pairs.iter().map(|(_, q)| (q - my).powi(2)).sum();
                Value::Real(cov / (vx * vy).sqrt())
            }),
        ),
        "series_fill_forward" | "series_fill_backward" => {
            let forward = name == "series_fill_forward";
            (
                d,
                Arc::new(move |a: &[Value]| {
                    let Some(mut items) = arr(&arg(a, 0)) else {
                        return Value::Null;
                    };
                    let placeholder = arg(a, 1);
                    let mut last: Option<Json> = None;
                    let n = items.len();
                    for k in 0..n {
                        let i = if forward { k } else { n - 1 - k };
                        if is_missing(&items[i], &placeholder) {
                            if let Some(l) = &last {
                                items[i] = l.clone();
                            }
                        } else {
                            last = Some(items[i].clone());
                        }
                    }
                    Value::Dyn(Json::Array(items))
                }),
            )
        }
        "series_fill_const" => (
            d,
            Arc::new(|a: &[Value]| {
                let Some(items) = arr(&arg(a, 0)) else {
                    return Value::Null;
                };
                let c = arg(a, 1).to_json();
                let placeholder = arg(a, 2);
                Value::Dyn(Json::Array(
                    items
                        .into_iter()
                        .map(|j| {
                            if is_missing(&j, &placeholder) {
                                c.clone()
                            } else {
                                j
                            }
                        })
                        .collect(),
                ))
            }),
        ),
        "series_fill_linear" => (
            d,
            Arc::new(|a: &[Value]| {
                let Some(items) = arr(&arg(a, 0)) else {
                    return Value::Null;
                };
                let edges = arg(a, 2).as_bool().unwrap_or(true);
                Value::Dyn(fill_linear(&items, &arg(a, 1), edges, &arg(a, 3)))
            }),
        ),
        "series_iir" => (
            d,
            Arc::new(|a: &[Value]| {
                let (Some(x), Some(b), Some(den)) =
                    (arr(&arg(a, 0)), arr(&arg(a, 1)), arr(&arg(a, 2)))
                else {
                    return Value::Null;
                };
                let b: Vec<f64> = b.iter().map(|j| num(Some(j)).unwrap_or(0.0)).collect();
                let den: Vec<f64> = den.iter().map(|j| num(Some(j)).unwrap_or(0.0)).collect();
                let a0 = match den.first() {
                    Some(v) if *v != 0.0 => *v,
                    _ => return Value::Null,
                };
                let x: Vec<f64> = x.iter().map(|j| num(Some(j)).unwrap_or(0.0)).collect();
                let mut y: Vec<f64> = Vec::with_capacity(x.len());
                for n in 0..x.len() {
                    let mut acc = 0.0;
                    for (i, bi) in b.iter().enumerate() {
                        if i <= n {
                            acc += bi * x[n - i];
                        }
                    }
                    for (j, aj) in den.iter().enumerate().skip(1) {
                        if j <= n {
                            acc -= aj * y[n - j];
                        }
                    }
                    y.push(acc / a0);
                }
                Value::Dyn(Json::Array(y.into_iter().map(real).collect()))
            }),
        ),
        "series_seasonal" => (
            d,
            Arc::new(|a: &[Value]| {
                let Some(items) = arr(&arg(a, 0)) else {
                    return Value::Null;
                };
                // The period must be given: Kusto detects it with series_periods_detect,
                // which Harrier does not implement (null rather than a guess).
                let Some(p) = arg(a, 1).as_i64() else {
                    return Value::Null;
                };
                let n = items.len();
                if p <= 0 {
                    return Value::Dyn(Json::Array(vec![real(0.0); n]));
                }
                let p = p as usize;
                let phase: Vec<Option<f64>> = (0..p.min(n))
                    .map(|k| {
                        median(
                            (k..n)
                                .step_by(p)
                                .filter_map(|i| num(items.get(i)))
                                .collect(),
                        )
                    })
                    .collect();
                Value::Dyn(Json::Array(
                    (0..n)
                        .map(|i| phase.get(i % p).copied().flatten().map_or(Json::Null, real))
                        .collect(),
                ))
            }),
        ),
        "series_stats_dynamic" => (
            d,
            Arc::new(|a: &[Value]| {
                let Some(items) = arr(&arg(a, 0)) else {
                    return Value::Null;
                };
                let xs: Vec<(usize, f64)> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, j)| num(Some(j)).map(|x| (i, x)))
                    .collect();
                let mut m = serde_json::Map::new();
                let n = xs.len();
                let min = xs
                    .iter()
                    .fold(None, |acc: Option<(usize, f64)>, &(i, x)| match acc {
                        Some((_, b)) if b <= x => acc,
                        _ => Some((i, x)),
                    });
                let max = xs
                    .iter()
                    .fold(None, |acc: Option<(usize, f64)>, &(i, x)| match acc {
                        Some((_, b)) if b >= x => acc,
                        _ => Some((i, x)),
                    });
                let sum: f64 = xs.iter().map(|p| p.1).sum();
                let avg = sum / n as f64;
                let var = if n > 1 {
                    xs.iter().map(|p| (p.1 - avg).powi(2)).sum::<f64>() / (n - 1) as f64
                } else {
                    0.0
                };
                m.insert("min".into(), min.map_or(Json::Null, |p| real(p.1)));
                m.insert(
                    "min_idx".into(),
                    min.map_or(Json::Null, |p| Json::from(p.0)),
                );
                m.insert("max".into(), max.map_or(Json::Null, |p| real(p.1)));
                m.insert(
                    "max_idx".into(),
                    max.map_or(Json::Null, |p| Json::from(p.0)),
                );
                m.insert("avg".into(), if n > 0 { real(avg) } else { Json::Null });
                m.insert("stdev".into(), real(var.sqrt()));
                m.insert("variance".into(), real(var));
                m.insert("sum".into(), real(sum));
                m.insert("len".into(), Json::from(n));
                Value::Dyn(Json::Object(m))
            }),
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dynv(s: &str) -> Value {
        Value::Dyn(serde_json::from_str(s).unwrap_or(Json::Null))
    }

    fn run(name: &str, args: &[Value]) -> Json {
        match lookup(name) {
            Some((_, f)) => f(args).to_json(),
            None => panic!("no {name}"),
        }
    }

    fn j(s: &str) -> Json {
        serde_json::from_str(s).unwrap_or(Json::Null)
    }

    #[test]
    fn element_wise_arithmetic_and_comparisons() {
        let (a, b) = (dynv("[1,2,4]"), dynv("[4,2,1]"));
        assert_eq!(run("series_add", &[a.clone(), b.clone()]), j("[5,4,5]"));
        assert_eq!(
            run("series_subtract", &[a.clone(), b.clone()]),
            j("[-3,0,3]")
        );
        assert_eq!(
            run("series_multiply", &[a.clone(), b.clone()]),
            j("[4,4,4]")
        );
        assert_eq!(
            run("series_divide", &[a.clone(), b.clone()]),
            j("[0.25,1.0,4.0]")
        );
        assert_eq!(
            run("series_greater_equals", &[a.clone(), b.clone()]),
            j("[false,true,true]")
        );
        assert_eq!(
            run("series_less", &[a.clone(), b.clone()]),
            j("[true,false,false]")
        );
        assert_eq!(
            run("series_pow", &[dynv("[1,2,3,4]"), dynv("[1,2,3,0.5]")]),
            j("[1.0,4.0,27.0,2.0]")
        );
        assert_eq!(run("series_dot_product", &[a.clone(), b]), Json::from(12.0));
        assert_eq!(
            run("series_dot_product", &[a, Value::Long(1)]),
            Json::from(7.0)
        );
        assert_eq!(
            run("series_abs", &[dynv("[-6.5,0,8.2]")]),
            j("[6.5,0.0,8.2]")
        );
        assert_eq!(run("series_sign", &[dynv("[-6,0,8]")]), j("[-1.0,0.0,1.0]"));
        assert_eq!(
            run("series_floor", &[dynv("[-1.5,1,2.5]")]),
            j("[-2.0,1.0,2.0]")
        );
    }

    #[test]
    fn gap_filling_follows_the_pages() {
        let s = dynv("[111,null,36,41,null,null,16,61,33,null,null]");
        assert_eq!(
            run("series_fill_backward", std::slice::from_ref(&s)),
            j("[111,36,36,41,16,16,16,61,33,null,null]")
        );
        assert_eq!(
            run("series_fill_forward", std::slice::from_ref(&s)),
            j("[111,111,36,41,41,41,16,61,33,33,33]")
        );
        assert_eq!(
            run("series_fill_const", &[s, Value::Long(-1)]),
            j("[111,-1,36,41,-1,-1,16,61,33,-1,-1]")
        );
        let s = dynv("[null,111.0,null,36.0,41.0,null,null,16.0,61.0,33.0,null,null]");
        let got = run("series_fill_linear", std::slice::from_ref(&s));
        let want = [
            111.0, 111.0, 73.5, 36.0, 41.0, 32.667, 24.333, 16.0, 61.0, 33.0, 33.0, 33.0,
        ];
        let got: Vec<f64> = got
            .as_array()
            .map(|v| v.iter().filter_map(|x| x.as_f64()).collect())
            .unwrap_or_default();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-3, "{g} vs {w}");
        }
        assert_eq!(
            run(
                "series_fill_linear",
                &[dynv("[null,111,null,36]"), Value::Null, Value::Bool(false)]
            ),
            j("[null,111,73,36]")
        );
        assert_eq!(
            run(
                "series_fill_linear",
                &[
                    dynv("[null,null]"),
                    Value::Null,
                    Value::Bool(true),
                    Value::Real(3.5)
                ]
            ),
            j("[3.5,3.5]")
        );
    }

    #[test]
    fn iir_seasonal_and_stats() {
        assert_eq!(
            run(
                "series_iir",
                &[dynv("[1,2,3]"), dynv("[1]"), dynv("[1,-1]")]
            ),
            j("[1.0,3.0,6.0]")
        );
        assert_eq!(
            run(
                "series_seasonal",
                &[dynv("[1,3,5,2,4,6,1,3,5,2,4,6]"), Value::Long(3)]
            ),
            j("[1.5,3.5,5.5,1.5,3.5,5.5,1.5,3.5,5.5,1.5,3.5,5.5]")
        );
        let st = run(
            "series_stats_dynamic",
            &[dynv("[23,46,23,87,4,8,3,75,2,56,13,75,32,16,29]")],
        );
        assert_eq!(st["min"], Json::from(2.0));
        assert_eq!(st["min_idx"], Json::from(8));
        assert_eq!(st["max_idx"], Json::from(3));
        assert_eq!(st["len"], Json::from(15));
        let var = st["variance"].as_f64().unwrap_or(0.0);
        assert!((var - 812.457142857143).abs() < 1e-9);
        let r = run(
            "series_pearson_correlation",
            &[dynv("[1,2,3,4,5]"), dynv("[2,4,6,8,10]")],
        );
        assert!((r.as_f64().unwrap_or(0.0) - 1.0).abs() < 1e-12);
    }
}
