//! Evaluation with Elasticsearch's semantics.
//!
//! Elasticsearch runs an EQL filter in two ways, and the difference shows in
//! results, so Harrier keeps both:
//!
//! * **query context** ([`matches`]): a predicate of a field against constants
//!   becomes a Lucene query. A field matches when *any* of its values does;
//!   an absent field matches nothing; `!=`, `not in` and `not` around such a
//!   predicate match documents where the field is absent (they are
//!   `must_not` clauses); `not` around a range comparison flips the
//!   comparison instead (`not x > 1` is `x <= 1`, which an absent field fails).
//! * **script context** ([`eval`]): anything else (functions of fields,
//!   arithmetic) runs as a script with SQL-style three-valued logic: null
//!   propagates, `not null` is null, and a null result does not match. In a
//!   filter the script is "multi-value aware": every field occurrence is
//!   tried with each of the field's values and any true combination matches
//!   (`script_matches`); plain [`eval`] reads a field's smallest value.

use crate::expr::{CExpr, FieldAccess, Func};
use crate::pattern::eq_fold;
use crate::schema::DataType;
use crate::syntax::ast::{ArithOp, CmpOp};
use crate::value::{compare_versions, from_json, parse_date, DateRes, Val};
use harrier_event::Scalar;
use serde_json::Value as Json;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::net::IpAddr;

type Doc<'d> = dyn harrier_event::Document + 'd;

/// Does the document match the predicate (query context)?
pub fn matches(c: &CExpr, doc: &Doc<'_>) -> bool {
    match c {
        CExpr::Lit(v) => matches!(v, Val::Bool(true)),
        CExpr::And(v) => v.iter().all(|e| matches(e, doc)),
        CExpr::Or(v) => v.iter().any(|e| matches(e, doc)),
        CExpr::Not(inner) => {
            if is_script(inner) {
                return script_matches(c, doc);
            }
            match &**inner {
                CExpr::Cmp(op, a, b)
                    if matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge) =>
                {
                    let flipped = match op {
                        CmpOp::Lt => CmpOp::Ge,
                        CmpOp::Le => CmpOp::Gt,
                        CmpOp::Gt => CmpOp::Le,
                        _ => CmpOp::Lt,
                    };
                    leaf_cmp(flipped, a, b, doc)
                }
                other => !matches(other, doc),
            }
        }
        CExpr::IsNull(e) => match &**e {
            CExpr::Field(f) => !any_value(f, doc, &mut |_| true),
            other => eval(other, doc).is_null(),
        },
        CExpr::IsNotNull(e) => match &**e {
            CExpr::Field(f) => any_value(f, doc, &mut |_| true),
            other => !eval(other, doc).is_null(),
        },
        CExpr::Cmp(op, a, b) if !is_script(c) => leaf_cmp(*op, a, b, doc),
        CExpr::In {
            expr,
            list,
            insensitive,
        } if !is_script(c) => {
            let CExpr::Field(f) = &**expr else {
                return false;
            };
            any_value(f, doc, &mut |v| {
                let rest: &[CExpr] = match &v {
                    Val::Str(s) => match list.lookup(s) {
                        Some(Ok(())) => return true,
                        Some(Err(others)) => others,
                        None => list,
                    },
                    _ => list,
                };
                rest.iter().any(|l| lit_eq(&v, l, *insensitive))
            })
        }
        CExpr::Match { expr, matchers, .. } if !is_script(c) => {
            let CExpr::Field(f) = &**expr else {
                return false;
            };
            any_value(f, doc, &mut |v| match v.to_text() {
                Some(s) => matchers.is_match(&s),
                None => false,
            })
        }
        // Elasticsearch's QueryTranslator makes these Lucene queries when the
        // first argument is a field and the rest are constants: startsWith a
        // prefix query, endsWith and stringContains wildcard queries (`*s`,
        // `*s*`), cidrMatch a terms query on the ip field
        CExpr::Call {
            func: func @ (Func::StartsWith | Func::EndsWith | Func::StringContains),
            insensitive,
            args,
            ..
        } if !is_script(c) => {
            let (CExpr::Field(f), CExpr::Lit(Val::Str(p))) = (&args[0], &args[1]) else {
                return false;
            };
            any_value(f, doc, &mut |v| match v.to_text() {
                Some(s) => string_test(*func, &s, p, *insensitive),
                None => false,
            })
        }
        CExpr::Call {
            func: Func::CidrMatch,
            args,
            nets,
            ..
        } if !is_script(c) => {
            let CExpr::Field(f) = &args[0] else {
                return false;
            };
            any_value(f, doc, &mut |v| {
                let ip = match &v {
                    Val::Ip(ip) => Some(*ip),
                    Val::Str(s) => s.parse::<IpAddr>().ok(),
                    _ => None,
                };
                ip.is_some_and(|ip| nets.iter().any(|(n, b)| in_cidr(&ip, n, *b)))
            })
        }
        CExpr::Field(f) => any_value(f, doc, &mut |v| matches!(v, Val::Bool(true))),
        _ => script_matches(c, doc),
    }
}

/// The most value combinations a script is tried with; beyond that the
/// smallest values are used (Elasticsearch has no such limit, documents
/// with that many values are rare).
const MAX_COMBINATIONS: usize = 4096;

/// A script in query context. Elasticsearch runs a script filter made of
/// fields, constants and functions as a "multi-value aware" script
/// (`MultiValueAwareScriptQuery`): every occurrence of a field in the script
/// ranges over that field's values (an absent field is one null), and the
/// document matches when some combination makes the script true.
fn script_matches(c: &CExpr, doc: &Doc<'_>) -> bool {
    let mut occurrences = Vec::new();
    c.fields(&mut occurrences);
    let values: Vec<Vec<Val<'static>>> = occurrences
        .iter()
        .map(|f| {
            let mut vs: Vec<Val<'static>> = field_values(f, doc)
                .into_iter()
                .map(Val::into_owned)
                .collect();
            if vs.is_empty() {
                vs.push(Val::Null);
            }
            vs
        })
        .collect();
    let combinations = values
        .iter()
        .try_fold(1usize, |n, v| n.checked_mul(v.len()))
        .unwrap_or(usize::MAX);
    if combinations <= 1 || combinations > MAX_COMBINATIONS {
        return truthy(&eval(c, doc));
    }
    let mut pick = vec![0usize; values.len()];
    loop {
        let env: Vec<(*const FieldAccess, Val<'static>)> = occurrences
            .iter()
            .zip(&values)
            .zip(&pick)
            .map(|((f, vs), &i)| (*f as *const FieldAccess, vs[i].clone()))
            .collect();
        if truthy(&eval_in(c, doc, &env)) {
            return true;
        }
        // next combination (odometer order)
        let mut k = 0;
        loop {
            if k == pick.len() {
                return false;
            }
            pick[k] += 1;
            if pick[k] < values[k].len() {
                break;
            }
            pick[k] = 0;
            k += 1;
        }
    }
}

fn leaf_cmp(op: CmpOp, a: &CExpr, b: &CExpr, doc: &Doc<'_>) -> bool {
    let CExpr::Field(f) = a else { return false };
    match op {
        CmpOp::Neq => !any_value(f, doc, &mut |v| {
            cmp_vals(&v, &lit_of(b)) == Some(Ordering::Equal)
        }),
        _ => any_value(f, doc, &mut |v| {
            cmp_vals(&v, &lit_of(b)).is_some_and(|o| op_holds(op, o))
        }),
    }
}

fn lit_of<'a>(c: &'a CExpr) -> Val<'a> {
    match c {
        CExpr::Lit(v) => borrow(v),
        _ => Val::Null,
    }
}

/// Is this a leaf Elasticsearch would have to run as a script (rather than a Lucene query)?
fn is_script(c: &CExpr) -> bool {
    match c {
        CExpr::Lit(_) | CExpr::And(_) | CExpr::Or(_) => false,
        CExpr::Field(_) => false,
        CExpr::Not(inner) => is_script(inner),
        CExpr::IsNull(e) | CExpr::IsNotNull(e) => !matches!(**e, CExpr::Field(_)),
        CExpr::Cmp(_, a, b) => !(matches!(**a, CExpr::Field(_)) && b.is_lit()),
        CExpr::In { expr, list, .. } => !(matches!(**expr, CExpr::Field(_)) && list.is_constant()),
        CExpr::Match { expr, .. } => !matches!(**expr, CExpr::Field(_)),
        CExpr::Call {
            func: Func::StartsWith | Func::EndsWith | Func::StringContains,
            args,
            ..
        } => !(matches!(args[0], CExpr::Field(_)) && matches!(args[1], CExpr::Lit(Val::Str(_)))),
        CExpr::Call {
            func: Func::CidrMatch,
            args,
            ..
        } => !(matches!(args[0], CExpr::Field(_)) && args[1..].iter().all(CExpr::is_lit)),
        _ => true,
    }
}

fn truthy(v: &Val) -> bool {
    matches!(v, Val::Bool(true))
}

fn op_holds(op: CmpOp, o: Ordering) -> bool {
    match op {
        CmpOp::Eq => o == Ordering::Equal,
        CmpOp::Neq => o != Ordering::Equal,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
    }
}

fn borrow<'a>(v: &'a Val<'_>) -> Val<'a> {
    match v {
        Val::Str(s) => Val::Str(Cow::Borrowed(s.as_ref())),
        Val::Version(s) => Val::Version(Cow::Borrowed(s.as_ref())),
        Val::Null => Val::Null,
        Val::Bool(b) => Val::Bool(*b),
        Val::Long(x) => Val::Long(*x),
        Val::Double(x) => Val::Double(*x),
        Val::Date(n, r) => Val::Date(*n, *r),
        Val::Ip(ip) => Val::Ip(*ip),
        Val::Multi(items) => Val::Multi(items.iter().map(borrow).collect()),
    }
}

/// Calls `f` with each value of the field (doc-values view: nulls dropped
/// unless the mapping has a `null_value`); true as soon as `f` is.
pub fn any_value<'a>(
    f: &FieldAccess,
    doc: &'a Doc<'a>,
    pred: &mut dyn FnMut(Val<'a>) -> bool,
) -> bool {
    doc.visit_scalars(&f.path, &mut |j: Scalar<'a>| {
        if j.is_null() {
            match &f.null_value {
                Some(nv) => match from_json(nv, f.ty) {
                    Some(v) => pred(v.into_owned()),
                    None => false,
                },
                None => false,
            }
        } else {
            if let (Some(fmt), Some(s), true) = (&f.format, j.as_str(), f.ty.is_date()) {
                if let Some(n) = crate::value::parse_date_with(s, fmt) {
                    let res = if f.ty == DataType::DateNanos {
                        DateRes::Nanos
                    } else {
                        DateRes::Millis
                    };
                    return pred(Val::Date(n, res));
                }
            }
            let v = match j {
                Scalar::Str(s) => crate::value::from_str(s, f.ty),
                Scalar::Json(j) => from_json(j, f.ty),
            };
            match v {
                Some(v) => pred(v),
                None => false,
            }
        }
    })
}

/// All values of a field in doc-values order (sorted, duplicates removed).
pub fn field_values<'a>(f: &FieldAccess, doc: &'a Doc<'a>) -> Vec<Val<'a>> {
    let mut out: Vec<Val<'a>> = Vec::new();
    any_value(f, doc, &mut |v| {
        out.push(v);
        false
    });
    if out.len() > 1 {
        out.sort_by(|a, b| cmp_vals(a, b).unwrap_or(Ordering::Equal));
        out.dedup_by(|a, b| cmp_vals(a, b) == Some(Ordering::Equal));
    }
    out
}

fn lit_eq(v: &Val, lit: &CExpr, insensitive: bool) -> bool {
    let CExpr::Lit(l) = lit else { return false };
    eq_vals(v, l, insensitive)
}

fn eq_vals(a: &Val, b: &Val, insensitive: bool) -> bool {
    if insensitive {
        if let (Some(x), Some(y)) = (str_of(a), str_of(b)) {
            return eq_fold(x, &y.to_lowercase());
        }
    }
    cmp_vals(a, b) == Some(Ordering::Equal)
}

fn str_of<'b>(v: &'b Val) -> Option<&'b str> {
    match v {
        Val::Str(s) => Some(s),
        _ => None,
    }
}

/// Orders two values of comparable types; `None` when they do not compare.
pub fn cmp_vals(a: &Val, b: &Val) -> Option<Ordering> {
    use Val::*;
    match (a, b) {
        (Long(x), Long(y)) => Some(x.cmp(y)),
        (Long(x), Double(y)) => (*x as f64).partial_cmp(y),
        (Double(x), Long(y)) => x.partial_cmp(&(*y as f64)),
        (Double(x), Double(y)) => x.partial_cmp(y),
        (Str(x), Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Bool(x), Bool(y)) => Some(x.cmp(y)),
        (Date(x, _), Date(y, _)) => Some(x.cmp(y)),
        (Date(x, _), Str(s)) => parse_date(s).map(|y| x.cmp(&y)),
        (Str(s), Date(y, _)) => parse_date(s).map(|x| x.cmp(y)),
        (Ip(x), Ip(y)) => Some(cmp_ip(x, y)),
        (Ip(x), Str(s)) => s.parse::<IpAddr>().ok().map(|y| cmp_ip(x, &y)),
        (Str(s), Ip(y)) => s.parse::<IpAddr>().ok().map(|x| cmp_ip(&x, y)),
        (Version(x), Version(y)) | (Version(x), Str(y)) | (Str(x), Version(y)) => {
            Some(compare_versions(x, y))
        }
        _ => None,
    }
}

fn cmp_ip(a: &IpAddr, b: &IpAddr) -> Ordering {
    let norm = |ip: &IpAddr| match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => *v6,
    };
    norm(a).cmp(&norm(b))
}

/// Script-context evaluation (three-valued), a multi-valued field read as
/// its smallest value.
pub fn eval<'a>(c: &'a CExpr, doc: &'a Doc<'a>) -> Val<'a> {
    eval_in(c, doc, &[])
}

/// Values given to particular field occurrences (by node address) instead
/// of reading them from the document.
type Env<'e> = &'e [(*const FieldAccess, Val<'static>)];

fn eval_in<'a>(c: &'a CExpr, doc: &'a Doc<'a>, env: Env<'_>) -> Val<'a> {
    match c {
        CExpr::Lit(v) => borrow(v),
        CExpr::Field(f) => match env.iter().find(|(p, _)| std::ptr::eq(*p, f)) {
            Some((_, v)) => v.clone(),
            None => first_value(f, doc),
        },
        CExpr::Not(e) => match eval_in(e, doc, env) {
            Val::Bool(b) => Val::Bool(!b),
            _ => Val::Null,
        },
        CExpr::And(v) => {
            let mut null = false;
            for e in v {
                match eval_in(e, doc, env) {
                    Val::Bool(false) => return Val::Bool(false),
                    Val::Bool(true) => {}
                    _ => null = true,
                }
            }
            if null {
                Val::Null
            } else {
                Val::Bool(true)
            }
        }
        CExpr::Or(v) => {
            let mut null = false;
            for e in v {
                match eval_in(e, doc, env) {
                    Val::Bool(true) => return Val::Bool(true),
                    Val::Bool(false) => {}
                    _ => null = true,
                }
            }
            if null {
                Val::Null
            } else {
                Val::Bool(false)
            }
        }
        CExpr::IsNull(e) => Val::Bool(eval_in(e, doc, env).is_null()),
        CExpr::IsNotNull(e) => Val::Bool(!eval_in(e, doc, env).is_null()),
        CExpr::Cmp(op, a, b) => {
            let (x, y) = (eval_in(a, doc, env), eval_in(b, doc, env));
            if x.is_null() || y.is_null() {
                return Val::Null;
            }
            match cmp_vals(&x, &y) {
                Some(o) => Val::Bool(op_holds(*op, o)),
                None if *op == CmpOp::Eq => Val::Bool(false),
                None if *op == CmpOp::Neq => Val::Bool(true),
                None => Val::Null,
            }
        }
        CExpr::Arith(op, a, b) => arith(*op, eval_in(a, doc, env), eval_in(b, doc, env)),
        CExpr::Neg(e) => match eval_in(e, doc, env) {
            Val::Long(v) => v.checked_neg().map_or(Val::Null, Val::Long),
            Val::Double(v) => Val::Double(-v),
            _ => Val::Null,
        },
        CExpr::In {
            expr,
            list,
            insensitive,
        } => {
            let x = eval_in(expr, doc, env);
            if x.is_null() {
                return Val::Null;
            }
            let mut null = false;
            for l in list.iter() {
                let y = eval_in(l, doc, env);
                if y.is_null() {
                    null = true;
                } else if eq_vals(&x, &y, *insensitive) {
                    return Val::Bool(true);
                }
            }
            if null {
                Val::Null
            } else {
                Val::Bool(false)
            }
        }
        CExpr::Match { expr, matchers, .. } => match eval_in(expr, doc, env).to_text() {
            Some(s) => Val::Bool(matchers.is_match(&s)),
            None => Val::Null,
        },
        CExpr::Call {
            func,
            insensitive,
            args,
            ..
        } => call(*func, *insensitive, args, doc, env),
    }
}

fn first_value<'a>(f: &FieldAccess, doc: &'a Doc<'a>) -> Val<'a> {
    let mut best: Option<Val<'a>> = None;
    any_value(f, doc, &mut |v| {
        match &best {
            Some(b) if cmp_vals(&v, b) != Some(Ordering::Less) => {}
            _ => best = Some(v),
        }
        false
    });
    best.unwrap_or(Val::Null)
}

fn arith<'a>(op: ArithOp, a: Val, b: Val) -> Val<'a> {
    match (a, b) {
        (Val::Long(x), Val::Long(y)) => match op {
            ArithOp::Add => x.checked_add(y).map_or(Val::Null, Val::Long),
            ArithOp::Sub => x.checked_sub(y).map_or(Val::Null, Val::Long),
            ArithOp::Mul => x.checked_mul(y).map_or(Val::Null, Val::Long),
            ArithOp::Div => x.checked_div(y).map_or(Val::Null, Val::Long),
            ArithOp::Mod => x.checked_rem(y).map_or(Val::Null, Val::Long),
        },
        (x, y) => {
            let (Some(x), Some(y)) = (num(&x), num(&y)) else {
                return Val::Null;
            };
            Val::Double(match op {
                ArithOp::Add => x + y,
                ArithOp::Sub => x - y,
                ArithOp::Mul => x * y,
                ArithOp::Div => x / y,
                ArithOp::Mod => x % y,
            })
        }
    }
}

fn num(v: &Val) -> Option<f64> {
    match v {
        Val::Long(x) => Some(*x as f64),
        Val::Double(x) => Some(*x),
        _ => None,
    }
}

fn text<'a>(v: &Val<'a>) -> Option<Cow<'a, str>> {
    match v {
        Val::Str(Cow::Borrowed(s)) => Some(Cow::Borrowed(s)),
        other => other.to_text().map(|c| Cow::Owned(c.into_owned())),
    }
}

/// startsWith, endsWith or stringContains of one value against a constant.
fn string_test(func: Func, s: &str, p: &str, insensitive: bool) -> bool {
    let (s, p) = if insensitive {
        (Cow::Owned(s.to_lowercase()), Cow::Owned(p.to_lowercase()))
    } else {
        (Cow::Borrowed(s), Cow::Borrowed(p))
    };
    match func {
        Func::StartsWith => s.starts_with(p.as_ref()),
        Func::EndsWith => s.ends_with(p.as_ref()),
        _ => s.contains(p.as_ref()),
    }
}

fn char_index_of(hay: &str, needle: &str, from_char: usize) -> Option<usize> {
    let byte_from = hay.char_indices().nth(from_char).map(|(i, _)| i)?;
    hay[byte_from..]
        .find(needle)
        .map(|b| hay[..byte_from + b].chars().count())
}

fn call<'a>(func: Func, ci: bool, args: &'a [CExpr], doc: &'a Doc<'a>, env: Env<'_>) -> Val<'a> {
    let vals: Vec<Val<'a>> = args.iter().map(|a| eval_in(a, doc, env)).collect();
    let fold = |s: Cow<'a, str>| -> Cow<'a, str> {
        if ci {
            Cow::Owned(s.to_lowercase())
        } else {
            s
        }
    };
    match func {
        Func::Add => arith(ArithOp::Add, vals[0].clone(), vals[1].clone()),
        Func::Subtract => arith(ArithOp::Sub, vals[0].clone(), vals[1].clone()),
        Func::Multiply => arith(ArithOp::Mul, vals[0].clone(), vals[1].clone()),
        Func::Divide => arith(ArithOp::Div, vals[0].clone(), vals[1].clone()),
        Func::Modulo => arith(ArithOp::Mod, vals[0].clone(), vals[1].clone()),
        Func::Between => {
            let (Some(src), Some(left), Some(right)) =
                (text(&vals[0]), text(&vals[1]), text(&vals[2]))
            else {
                return Val::Null;
            };
            let greedy = match vals.get(3) {
                Some(Val::Bool(b)) => *b,
                Some(Val::Null) | None => false,
                Some(_) => return Val::Null,
            };
            let (s, l, r) = (fold(src.clone()), fold(left), fold(right));
            let Some(li) = s.find(l.as_ref()) else {
                return Val::Str(Cow::Borrowed(""));
            };
            let start = li + l.len();
            let end = if greedy {
                s[start..].rfind(r.as_ref()).map(|i| start + i)
            } else {
                s[start..].find(r.as_ref()).map(|i| start + i)
            };
            match end {
                // folding can change byte lengths; slice the original only when it is safe
                Some(e)
                    if s.len() == src.len()
                        && src.is_char_boundary(start)
                        && src.is_char_boundary(e) =>
                {
                    Val::Str(Cow::Owned(src[start..e].to_string()))
                }
                Some(e) => Val::Str(Cow::Owned(s[start..e].to_string())),
                None => Val::Str(Cow::Borrowed("")),
            }
        }
        Func::CidrMatch => {
            let ip = match &vals[0] {
                Val::Ip(ip) => *ip,
                Val::Str(s) => match s.parse() {
                    Ok(ip) => ip,
                    Err(_) => return Val::Null,
                },
                _ => return Val::Null,
            };
            let mut null = false;
            for v in &vals[1..] {
                match v {
                    Val::Str(c) => {
                        if parse_cidr(c).is_some_and(|(net, bits)| in_cidr(&ip, &net, bits)) {
                            return Val::Bool(true);
                        }
                    }
                    _ => null = true,
                }
            }
            if null {
                Val::Null
            } else {
                Val::Bool(false)
            }
        }
        Func::Concat => {
            let mut out = String::new();
            for v in &vals {
                match v.to_text() {
                    Some(t) => out.push_str(&t),
                    None => return Val::Null,
                }
            }
            Val::Str(Cow::Owned(out))
        }
        Func::EndsWith | Func::StartsWith | Func::StringContains => {
            let (Some(s), Some(p)) = (text(&vals[0]), text(&vals[1])) else {
                return Val::Null;
            };
            let (s, p) = (fold(s), fold(p));
            Val::Bool(match func {
                Func::EndsWith => s.ends_with(p.as_ref()),
                Func::StartsWith => s.starts_with(p.as_ref()),
                _ => s.contains(p.as_ref()),
            })
        }
        Func::IndexOf => {
            let (Some(s), Some(p)) = (text(&vals[0]), text(&vals[1])) else {
                return Val::Null;
            };
            let start = match vals.get(2) {
                Some(Val::Long(n)) => (*n).max(0) as usize,
                Some(Val::Null) | None => 0,
                Some(_) => return Val::Null,
            };
            let (s, p) = (fold(s), fold(p));
            match char_index_of(&s, &p, start) {
                Some(i) => Val::Long(i as i64),
                None if start == s.chars().count() && p.is_empty() => Val::Long(start as i64),
                None => Val::Null,
            }
        }
        Func::Length => match text(&vals[0]) {
            Some(s) => Val::Long(s.chars().count() as i64),
            None => Val::Null,
        },
        Func::Number => {
            let Some(s) = text(&vals[0]) else {
                return Val::Null;
            };
            let base = match vals.get(1) {
                Some(Val::Long(b)) => *b,
                Some(Val::Null) | None => 10,
                Some(_) => return Val::Null,
            };
            parse_number(s.trim(), base).unwrap_or(Val::Null)
        }
        Func::String => match vals[0].to_text() {
            Some(t) => Val::Str(Cow::Owned(t.into_owned())),
            None => Val::Null,
        },
        Func::Substring => {
            let Some(s) = text(&vals[0]) else {
                return Val::Null;
            };
            let len = s.chars().count() as i64;
            let start = match &vals[1] {
                Val::Long(n) => *n,
                Val::Null => 0,
                _ => return Val::Null,
            };
            let end = match vals.get(2) {
                Some(Val::Long(n)) => *n,
                Some(Val::Null) | None => len,
                Some(_) => return Val::Null,
            };
            let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
            let (a, b) = (norm(start), norm(end));
            if a >= b {
                return Val::Str(Cow::Borrowed(""));
            }
            Val::Str(Cow::Owned(
                s.chars().skip(a as usize).take((b - a) as usize).collect(),
            ))
        }
    }
}

fn parse_number(s: &str, base: i64) -> Option<Val<'static>> {
    if !(2..=36).contains(&base) {
        return None;
    }
    let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"));
    if base == 10 && hex.is_some() {
        return parse_number(s, 16);
    }
    if base == 10 {
        if let Ok(v) = s.parse::<i64>() {
            return Some(Val::Long(v));
        }
        return s.parse::<f64>().ok().map(Val::Double);
    }
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let body = if base == 16 {
        body.strip_prefix("0x")
            .or_else(|| body.strip_prefix("0X"))
            .unwrap_or(body)
    } else {
        body
    };
    let v = i64::from_str_radix(body, base as u32).ok()?;
    Some(Val::Long(if neg { -v } else { v }))
}

/// Parses `a.b.c.d/n` or an IPv6 CIDR; a bare address is a /32 or /128.
pub fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u8>().ok()?)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((ip, bits))
}

fn in_cidr(ip: &IpAddr, net: &IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(*a) & mask == u32::from(*n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(*a) & mask == u128::from(*n) & mask
        }
        (IpAddr::V4(a), IpAddr::V6(_)) => in_cidr(&IpAddr::V6(a.to_ipv6_mapped()), net, bits),
        (IpAddr::V6(a), IpAddr::V4(_)) => match a.to_ipv4_mapped() {
            Some(v4) => in_cidr(&IpAddr::V4(v4), net, bits),
            None => false,
        },
    }
}

/// A hashable, ordered copy of a value, for join keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyVal {
    Null,
    Bool(bool),
    Long(i64),
    /// f64 bits, ordered by total order of the float
    Double(i64),
    Str(Box<str>),
    Date(i128, bool),
    Ip(IpAddr),
    Version(Box<str>),
}

impl KeyVal {
    pub fn from_val(v: &Val) -> KeyVal {
        match v {
            Val::Null | Val::Multi(_) => KeyVal::Null,
            Val::Bool(b) => KeyVal::Bool(*b),
            Val::Long(x) => KeyVal::Long(*x),
            Val::Double(x) => KeyVal::Double(x.to_bits() as i64),
            Val::Str(s) => KeyVal::Str(s.as_ref().into()),
            Val::Date(n, r) => KeyVal::Date(*n, *r == DateRes::Nanos),
            Val::Ip(ip) => KeyVal::Ip(crate::value::canonical_ip(*ip)),
            Val::Version(s) => KeyVal::Version(s.as_ref().into()),
        }
    }

    pub fn to_json(&self) -> Json {
        match self {
            KeyVal::Null => Json::Null,
            KeyVal::Bool(b) => Json::Bool(*b),
            KeyVal::Long(x) => Json::from(*x),
            KeyVal::Double(bits) => Val::Double(f64::from_bits(*bits as u64)).to_json(),
            KeyVal::Str(s) | KeyVal::Version(s) => Json::String(s.to_string()),
            KeyVal::Date(n, nanos) => Val::Date(
                *n,
                if *nanos {
                    DateRes::Nanos
                } else {
                    DateRes::Millis
                },
            )
            .to_json(),
            KeyVal::Ip(ip) => Json::String(ip.to_string()),
        }
    }
}

/// A join key's value when it has at most one ([`key_values`] without
/// building a list): `Some(Some(v))` its one value (null for a missing
/// optional key), `Some(None)` a missing required key, `None` when it has
/// several values.
pub fn single_key_value(e: &CExpr, optional: bool, doc: &Doc<'_>) -> Option<Option<KeyVal>> {
    let first = match e {
        CExpr::Field(f) => {
            let mut first: Option<KeyVal> = None;
            let mut more = false;
            any_value(f, doc, &mut |v| match &first {
                None => {
                    first = Some(KeyVal::from_val(&v));
                    false
                }
                // an equal value is the same doc value
                Some(k) if *k == KeyVal::from_val(&v) => false,
                Some(_) => {
                    more = true;
                    true
                }
            });
            if more {
                return None;
            }
            first
        }
        other => {
            let v = eval(other, doc);
            (!v.is_null()).then(|| KeyVal::from_val(&v))
        }
    };
    Some(match first {
        None if optional => Some(KeyVal::Null),
        v => v,
    })
}

/// Every value a key expression has for a document: all values of a
/// multi-valued field (sorted, distinct), or the expression's single value.
/// Empty when the key is null and not optional.
pub fn key_values(e: &CExpr, optional: bool, doc: &Doc<'_>) -> Vec<KeyVal> {
    let vals: Vec<KeyVal> = match e {
        CExpr::Field(f) => field_values(f, doc).iter().map(KeyVal::from_val).collect(),
        other => {
            let v = eval(other, doc);
            if v.is_null() {
                Vec::new()
            } else {
                vec![KeyVal::from_val(&v)]
            }
        }
    };
    if vals.is_empty() && optional {
        vec![KeyVal::Null]
    } else {
        vals
    }
}

/// The timestamp of an event read through its field, as nanoseconds. A field
/// the schema does not type is read as a date.
pub fn timestamp_of(f: &FieldAccess, doc: &Doc<'_>) -> Option<i128> {
    let mut best: Option<i128> = None;
    any_value(f, doc, &mut |v| {
        let ts = match v {
            Val::Date(n, _) => Some(n),
            Val::Long(ms) => Some(ms as i128 * 1_000_000),
            Val::Str(s) if f.ty == DataType::Unknown => parse_date(&s),
            _ => None,
        };
        if let Some(ts) = ts {
            best = Some(best.map_or(ts, |b: i128| b.min(ts)));
        }
        false
    });
    best
}

/// The smallest value of a field (how a script reads a multi-valued field).
pub fn field_min<'a>(f: &FieldAccess, doc: &'a Doc<'a>) -> Val<'a> {
    first_value(f, doc)
}

#[cfg(test)]
mod tests_support {
    use super::matches;
    use crate::plan::PlanKind;
    use crate::schema::Schema;
    use crate::{parse, Analyzer, Settings};
    use serde_json::Value;

    /// Does an event query match the document (ECS schema)?
    pub fn hits(query: &str, doc: Value) -> bool {
        let schema = Schema::ecs();
        let ast = parse(query).expect("query parses");
        let plan = Analyzer::new(&schema, Settings::default())
            .plan(&ast)
            .expect("query plans");
        let PlanKind::Event(filter) = plan.kind else {
            panic!("an event query")
        };
        let Value::Object(doc) = doc else {
            panic!("an object")
        };
        matches(&filter, &doc)
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::hits;
    use serde_json::json;

    /// A long list of strings is looked up in a set: it must answer as the
    /// same list compared item by item (a short list), in both cases.
    #[test]
    fn long_in_lists_answer_as_short_ones() {
        let items = r#""Ab", "\u{212a}ELVIN", "Straße", "é.EXE""#;
        let padding = r#", "zz1", "zz2", "zz3", "zz4""#;
        for op in ["in", "in~"] {
            let short = format!("process where process.name {op} ({items})");
            let long = format!("process where process.name {op} ({items}{padding})");
            for value in [
                "Ab",
                "ab",
                "AB",
                "kelvin",
                "KELVIN",
                "\u{212a}ELVIN",
                "\u{212a}elvin",
                "straße",
                "STRASSE",
                "Straße",
                "É.exe",
                "é.EXE",
                "zz",
                "",
            ] {
                let doc = json!({"event": {"category": "process"}, "process": {"name": value}});
                assert_eq!(
                    hits(&long, doc.clone()),
                    hits(&short, doc),
                    "{value:?} {op}"
                );
            }
        }
        let doc = |v: &str| json!({"event": {"category": "process"}, "process": {"name": v}});
        let long = format!("process where process.name in~ ({items}{padding})");
        assert!(hits(&long, doc("aB")));
        assert!(hits(&long, doc("\u{212a}elvin")));
        assert!(!hits(&long, doc("abc")));
        let long = format!("process where process.name in ({items}{padding})");
        assert!(!hits(&long, doc("aB")));
        assert!(hits(&long, doc("zz3")));
    }

    // Elasticsearch's EQL QueryTranslator turns endsWith and stringContains of a
    // field and a constant into wildcard queries (`*s`, `*s*`): any value of
    // a multi-valued field may match, and `not` is a `must_not`, so it matches
    // documents without the field.
    #[test]
    fn ends_with_and_string_contains_of_a_field_are_lucene_queries() {
        let multi =
            json!({"event": {"category": "process"}, "process": {"name": ["aaa", "zzz.exe"]}});
        assert!(hits(
            r#"process where endsWith(process.name, ".exe")"#,
            multi.clone()
        ));
        assert!(hits(
            r#"process where stringContains(process.name, "z.e")"#,
            multi.clone()
        ));
        assert!(hits(
            r#"process where stringContains~(process.name, "Z.E")"#,
            multi.clone()
        ));
        assert!(!hits(
            r#"process where not endsWith(process.name, ".exe")"#,
            multi
        ));
        let absent = json!({"event": {"category": "process"}});
        assert!(hits(
            r#"process where not endsWith(process.name, ".exe")"#,
            absent.clone()
        ));
        assert!(hits(
            r#"process where not stringContains~(process.name, "x")"#,
            absent
        ));
    }

    // cidrMatch of an ip field and constant ranges is a terms query on the
    // ip field: any value in any range matches; `not` matches a missing field.
    #[test]
    fn cidr_match_of_a_field_is_a_terms_query() {
        let multi = json!({"event": {"category": "network"}, "source": {"ip": ["192.168.0.1", "10.1.2.3"]}});
        assert!(hits(
            r#"network where cidrMatch(source.ip, "10.0.0.0/8")"#,
            multi.clone()
        ));
        assert!(!hits(
            r#"network where not cidrMatch(source.ip, "10.0.0.0/8", "::1")"#,
            multi
        ));
        let absent = json!({"event": {"category": "network"}});
        assert!(!hits(
            r#"network where cidrMatch(source.ip, "10.0.0.0/8")"#,
            absent.clone()
        ));
        assert!(hits(
            r#"network where not cidrMatch(source.ip, "10.0.0.0/8")"#,
            absent
        ));
    }
    // IPv4-mapped IPv6 spellings are the IPv4 address to an ip field, in
    // queries (terms, cidrMatch) and in scripts (`string()` prints it as IPv4).
    #[test]
    fn ipv4_mapped_addresses_are_their_ipv4_address() {
        let mapped = json!({"event": {"category": "network"}, "source": {"ip": "::ffff:10.0.0.1"}});
        assert!(hits(
            r#"network where source.ip == "10.0.0.1""#,
            mapped.clone()
        ));
        assert!(hits(
            r#"network where cidrMatch(source.ip, "10.0.0.0/8")"#,
            mapped.clone()
        ));
        assert!(hits(
            r#"network where string(source.ip) == "10.0.0.1""#,
            mapped
        ));
    }
}

#[cfg(test)]
mod script_tests {
    use super::tests_support::hits;
    use serde_json::json;

    // Elasticsearch runs a script filter over fields as a multi-value aware
    // script: each field occurrence ranges over all of the field's values,
    // and the document matches when any combination makes it true (a missing
    // field is one null value, and `not null` stays null).
    #[test]
    fn scripts_try_every_value_of_a_multi_valued_field() {
        let doc =
            json!({"event": {"category": "process"}, "process": {"name": ["abcdefgh", "zz"]}});
        assert!(hits("process where length(process.name) == 2", doc.clone()));
        assert!(hits("process where length(process.name) == 8", doc.clone()));
        assert!(hits(
            "process where not length(process.name) == 8",
            doc.clone()
        ));
        assert!(!hits("process where length(process.name) == 3", doc));
        let absent = json!({"event": {"category": "process"}});
        assert!(!hits("process where not length(process.name) == 8", absent));
    }
}
