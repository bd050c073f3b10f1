//! Window functions over a serialized row set: `prev`, `next`, `row_number`, `row_cumsum`,
//! `row_rank_dense` (and its older name `row_rank`) and `row_rank_min`.
//!
//! Their value depends on the row's position in the input as it arrives (after `sort`,
//! `serialize`, …). Before an `extend`, `project`, `serialize` or `where` that calls them,
//! the input is materialized in order with the window function's arguments as extra
//! columns; each call is computed over the rows and added as a hidden column, and the call
//! in the expression is replaced by that column. Calls nested in another window call's
//! arguments (`row_cumsum(x, name != prev(name))`) are computed first.

use super::{col, err, names, Planner, Res};
use crate::value::KType;
use crate::ResultTable;
use datafusion::logical_expr::{Expr as DfExpr, LogicalPlan, LogicalPlanBuilder};
use harrier_kql::ast::{self, ExprKind};
use serde_json::Value as Json;

const WINDOW_FNS: &[&str] = &[
    "prev",
    "next",
    "row_number",
    "row_cumsum",
    "row_rank",
    "row_rank_dense",
    "row_rank_min",
];

/// The prefix of the hidden columns that hold window results.
pub(super) const HIDDEN: &str = "__window_";

fn window_name(e: &ast::Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Call { callee, .. } => match &callee.kind {
            ExprKind::Ident(i) if WINDOW_FNS.contains(&i.name.as_str()) => Some(i.name.as_str()),
            _ => None,
        },
        _ => None,
    }
}

fn children_mut(e: &mut ast::Expr) -> Vec<&mut ast::Expr> {
    match &mut e.kind {
        ExprKind::Paren(x) => vec![x.as_mut()],
        ExprKind::Call { args, .. } => args.iter_mut().map(|a| &mut a.value).collect(),
        ExprKind::Member { target, .. } => vec![target.as_mut()],
        ExprKind::Index { target, index } => vec![target.as_mut(), index.as_mut()],
        ExprKind::Unary { operand, .. } => vec![operand.as_mut()],
        ExprKind::Binary { lhs, rhs, .. } => vec![lhs.as_mut(), rhs.as_mut()],
        ExprKind::InList { lhs, items, .. } => {
            let mut v = vec![lhs.as_mut()];
            v.extend(items.iter_mut());
            v
        }
        ExprKind::Between { lhs, low, high, .. } => {
            vec![lhs.as_mut(), low.as_mut(), high.as_mut()]
        }
        _ => Vec::new(),
    }
}

/// Whether `e` calls a window function.
pub(super) fn has_window_call(e: &ast::Expr) -> bool {
    let mut e = e.clone();
    contains(&mut e)
}

fn contains(e: &mut ast::Expr) -> bool {
    window_name(e).is_some() || children_mut(e).into_iter().any(contains)
}

/// Replaces the first innermost window call in `e` by the column `column`, returning the
/// call's name and arguments.
fn take_innermost(e: &mut ast::Expr, column: &str) -> Option<(String, Vec<ast::Arg>)> {
    for c in children_mut(e) {
        if let Some(found) = take_innermost(c, column) {
            return Some(found);
        }
    }
    let name = window_name(e)?.to_string();
    let ExprKind::Call { args, .. } = &e.kind else {
        return None;
    };
    let args = args.clone();
    e.kind = ExprKind::Ident(ast::Ident {
        name: column.to_string(),
        span: e.span,
    });
    Some((name, args))
}

fn num(j: &Json) -> Option<f64> {
    j.as_f64()
}

fn truthy(j: Option<&Json>) -> bool {
    matches!(j, Some(Json::Bool(true)))
}

/// The window function over the rows in order; `args[i][r]` is argument `i` at row `r`.
fn compute(name: &str, args: &[Vec<Json>], types: &[KType], n: usize) -> (KType, Vec<Json>) {
    let at = |i: usize, r: usize| args.get(i).and_then(|c| c.get(r));
    match name {
        "prev" | "next" => {
            let t = types.first().copied().unwrap_or(KType::Dynamic);
            let offset = at(1, 0).and_then(|j| j.as_i64()).unwrap_or(1);
            let out = (0..n)
                .map(|r| {
                    let src = if name == "prev" {
                        (r as i64).checked_sub(offset)
                    } else {
                        (r as i64).checked_add(offset)
                    };
                    match src {
                        Some(s) if s >= 0 && (s as usize) < n => {
                            at(0, s as usize).cloned().unwrap_or(Json::Null)
                        }
                        _ => at(2, r).cloned().unwrap_or(Json::Null),
                    }
                })
                .collect();
            (t, out)
        }
        "row_number" => {
            let start = at(0, 0).and_then(|j| j.as_i64()).unwrap_or(1);
            let mut cur = start - 1;
            let out = (0..n)
                .map(|r| {
                    cur = if r > 0 && truthy(at(1, r)) {
                        start
                    } else {
                        cur + 1
                    };
                    Json::from(cur)
                })
                .collect();
            (KType::Long, out)
        }
        "row_cumsum" => {
            let t = match types.first() {
                Some(KType::Long | KType::Int) => KType::Long,
                _ => KType::Real,
            };
            let (mut li, mut lf) = (0i64, 0f64);
            let out = (0..n)
                .map(|r| {
                    if truthy(at(1, r)) {
                        li = 0;
                        lf = 0.0;
                    }
                    let v = at(0, r);
                    if t == KType::Long {
                        li = li.wrapping_add(v.and_then(|j| j.as_i64()).unwrap_or(0));
                        Json::from(li)
                    } else {
                        lf += v.and_then(num).unwrap_or(0.0);
                        serde_json::Number::from_f64(lf).map_or(Json::Null, Json::Number)
                    }
                })
                .collect();
            (t, out)
        }
        "row_rank" | "row_rank_dense" | "row_rank_min" => {
            let min = name == "row_rank_min";
            let (mut rank, mut first) = (0i64, 0usize);
            let out = (0..n)
                .map(|r| {
                    let restart = r == 0 || truthy(at(1, r));
                    let changed = restart || at(0, r) != at(0, r - 1);
                    if restart {
                        rank = 1;
                        first = r;
                    } else if changed {
                        rank = if min {
                            (r - first) as i64 + 1
                        } else {
                            rank + 1
                        };
                    }
                    Json::from(rank)
                })
                .collect();
            (KType::Long, out)
        }
        _ => (KType::Dynamic, vec![Json::Null; n]),
    }
}

impl Planner<'_> {
    /// Computes the window calls in `exprs` over `plan` (innermost first), replacing each by
    /// a hidden column of the returned plan.
    pub(super) fn window_pass(
        &mut self,
        mut plan: LogicalPlan,
        exprs: &mut [&mut ast::Expr],
    ) -> Res<LogicalPlan> {
        let mut k = 0;
        loop {
            let column = format!("{HIDDEN}{k}");
            let mut found = None;
            for e in exprs.iter_mut() {
                if let Some(f) = take_innermost(e, &column) {
                    found = Some((f, e.span));
                    break;
                }
            }
            let Some(((name, args), span)) = found else {
                return Ok(plan);
            };
            if args.iter().any(|a| a.name.is_some()) {
                return Err(err(
                    span,
                    format!("{name}(): named arguments are not supported"),
                ));
            }
            let have = names(&plan);
            let mut cols: Vec<DfExpr> = have.iter().map(|n| col(n)).collect();
            for (i, a) in args.iter().enumerate() {
                let x = self.scalar(&a.value, plan.schema())?;
                cols.push(x.alias(format!("__window_arg{i}")));
            }
            let p = self.builder(LogicalPlanBuilder::from(plan).project(cols))?;
            let t = self.execute(p)?;
            let n = t.rows.len();
            let w = have.len();
            let arg_cols: Vec<Vec<Json>> = (0..args.len())
                .map(|i| {
                    t.rows
                        .iter()
                        .map(|r| r.get(w + i).cloned().unwrap_or(Json::Null))
                        .collect()
                })
                .collect();
            let types: Vec<KType> = t.columns[w..].iter().map(|(_, t)| *t).collect();
            let (ty, values) = compute(&name, &arg_cols, &types, n);
            let mut columns = t.columns[..w].to_vec();
            columns.push((column.clone(), ty));
            let rows = t
                .rows
                .into_iter()
                .zip(values)
                .map(|(mut r, v)| {
                    r.truncate(w);
                    r.push(v);
                    r
                })
                .collect();
            plan = self.table_plan(
                "__window",
                ResultTable {
                    name: String::new(),
                    columns,
                    rows,
                },
            )?;
            k += 1;
        }
    }

    /// `plan` without the hidden window columns.
    pub(super) fn drop_window_columns(&mut self, plan: LogicalPlan) -> Res<LogicalPlan> {
        let keep: Vec<DfExpr> = names(&plan)
            .iter()
            .filter(|n| !n.starts_with(HIDDEN))
            .map(|n| col(n))
            .collect();
        self.builder(LogicalPlanBuilder::from(plan).project(keep))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn longs(v: &[i64]) -> Vec<Json> {
        v.iter().map(|x| Json::from(*x)).collect()
    }

    #[test]
    fn ranks_numbers_and_sums_restart_where_told() {
        let deps = longs(&[2, 3, 3, 3, 100]);
        let (_, dense) = compute(
            "row_rank_dense",
            std::slice::from_ref(&deps),
            &[KType::Long],
            5,
        );
        assert_eq!(dense, longs(&[1, 2, 2, 2, 3]));
        let (_, min) = compute("row_rank_min", &[deps], &[KType::Long], 5);
        assert_eq!(min, longs(&[1, 2, 2, 2, 5]));
        let restart: Vec<Json> = [false, false, false, true, false, false]
            .iter()
            .map(|b| Json::Bool(*b))
            .collect();
        let sal = longs(&[1000, 2000, 1400, 1000, 1950, 1450]);
        let (_, cs) = compute("row_cumsum", &[sal, restart.clone()], &[KType::Long], 6);
        assert_eq!(cs, longs(&[1000, 3000, 4400, 1000, 2950, 4400]));
        let (_, rn) = compute("row_number", &[longs(&[1; 6]), restart], &[KType::Long], 6);
        assert_eq!(rn, longs(&[1, 2, 3, 1, 2, 3]));
        let (_, prev) = compute("prev", &[longs(&[7, 8, 9])], &[KType::Long], 3);
        assert_eq!(prev, vec![Json::Null, Json::from(7), Json::from(8)]);
        let (_, next) = compute(
            "next",
            &[longs(&[7, 8, 9]), longs(&[2; 3])],
            &[KType::Long],
            3,
        );
        assert_eq!(next, vec![Json::from(9), Json::Null, Json::Null]);
    }
}
