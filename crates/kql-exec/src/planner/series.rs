//! `make-series`: aggregates along an axis into dynamic arrays, as Kusto documents it.
//!
//! `T | make-series [kind=nonempty] [C =] Agg [default = D], … on Axis [from A] [to B] step S
//! [by [C =] G, …]` groups the rows by the `by` expressions and by `bin_at(Axis, S, A)`,
//! aggregates each group, and lays the aggregates of each `by` group out along the axis
//! `A, A+S, A+2S, … < B` (bins without rows hold `D`, default 0). Without `from`, `A` is the
//! bin (`bin(x, S)`) of the smallest axis value; without `to`, the axis ends with the bin of
//! the largest one. Rows whose axis value is null or outside `[A, B)` are left out. The
//! alternative `on Axis in range(A, B, S)` bins with `bin()` and includes `B`. The result
//! has the `by` columns, one dynamic array per aggregate, then the axis as a dynamic array
//! named after the axis column. An empty input gives no rows, or with `kind=nonempty` one
//! row of defaults.
//!
//! The grouping and aggregation are an ordinary `summarize` (so every aggregate it knows
//! works here); the arrays are assembled from its rows.

use super::{derived_name, err, lit_v, option_word, Binding, Planner, Res};
use crate::value::{self, KType, Value};
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::common::DFSchema;
use datafusion::logical_expr::LogicalPlan;
use harrier_kql::ast::{self, BinaryOp, ExprKind, OpKind, Span};
use serde_json::Value as Json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Kusto's limit on the length of a series.
const MAX_BINS: i64 = 1 << 20;

/// An axis position: nanoseconds for datetimes and timespans, a number otherwise.
#[derive(Clone, Copy, Debug)]
enum Axis {
    Ticks(i64, KType),
    Num(f64, bool),
}

impl Axis {
    fn of(v: &Value) -> Option<Axis> {
        match v.clone().undyn() {
            Value::DateTime(n) => Some(Axis::Ticks(n, KType::DateTime)),
            Value::TimeSpan(n) => Some(Axis::Ticks(n, KType::TimeSpan)),
            Value::Long(i) => Some(Axis::Num(i as f64, false)),
            Value::Real(f) if f.is_finite() => Some(Axis::Num(f, true)),
            _ => None,
        }
    }

    fn value(self) -> Value {
        match self {
            Axis::Ticks(n, KType::DateTime) => Value::DateTime(n),
            Axis::Ticks(n, _) => Value::TimeSpan(n),
            Axis::Num(f, true) => Value::Real(f),
            Axis::Num(f, false) => Value::Long(f as i64),
        }
    }

    fn ktype(self) -> KType {
        match self {
            Axis::Ticks(_, t) => t,
            Axis::Num(_, true) => KType::Real,
            Axis::Num(_, false) => KType::Long,
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Axis::Ticks(n, _) => n as f64,
            Axis::Num(f, _) => f,
        }
    }

    fn with_f64(self, f: f64) -> Axis {
        match self {
            Axis::Ticks(_, t) => Axis::Ticks(f.round() as i64, t),
            Axis::Num(_, real) => Axis::Num(f, real),
        }
    }
}

/// `bin(x, step)`: the largest multiple of `step` not above `x`.
fn bin(x: f64, step: f64) -> f64 {
    (x / step).floor() * step
}

impl Planner<'_> {
    pub(super) fn make_series(
        &mut self,
        plan: LogicalPlan,
        op: &OpKind,
        span: Span,
    ) -> Res<LogicalPlan> {
        let OpKind::MakeSeries {
            options,
            aggregates,
            on,
            range,
            by,
        } = op
        else {
            return Err(err(span, "expected make-series"));
        };
        let nonempty = option_word(options, "kind").as_deref() == Some("nonempty");
        let axis_name = derived_name(on)
            .ok_or_else(|| err(on.span, "make-series: the axis must be a column"))?;
        let (from, to, step, inclusive) = match range {
            ast::SeriesRange::FromTo { from, to, step } => {
                (from.as_ref(), to.as_ref(), step, false)
            }
            ast::SeriesRange::InRange { start, stop, step } => {
                (Some(start), Some(stop), step, true)
            }
        };
        let step_v = self.const_value(step)?;
        let step_f = match step_v.clone().undyn() {
            Value::TimeSpan(n) => n as f64,
            v => v.as_f64().unwrap_or(0.0),
        };
        if !(step_f.is_finite() && step_f > 0.0) {
            return Err(err(step.span, "make-series: the step must be positive"));
        }
        let mut start = match from {
            Some(e) => Some(
                Axis::of(&self.const_value(e)?)
                    .ok_or_else(|| err(e.span, "make-series: `from` must be a number or time"))?,
            ),
            None => None,
        };
        let mut end = match to {
            Some(e) => Some(
                Axis::of(&self.const_value(e)?)
                    .ok_or_else(|| err(e.span, "make-series: `to` must be a number or time"))?,
            ),
            None => None,
        };
        if inclusive {
            // `in range(A, B, S)`: bins aligned with bin(), B included
            start = start.map(|a| a.with_f64(bin(a.as_f64(), step_f)));
            end = end.map(|b| b.with_f64(bin(b.as_f64(), step_f) + step_f));
        }
        if start.is_none() || end.is_none() {
            let (lo, hi) = self.axis_bounds(&plan, on)?;
            if start.is_none() {
                start = lo.map(|a| a.with_f64(bin(a.as_f64(), step_f)));
            }
            if end.is_none() {
                end = hi.map(|b| b.with_f64(bin(b.as_f64(), step_f) + step_f));
            }
        }

        // summarize Aggs by By, __ms_bin = bin_at(Axis, S, A), over rows with A <= Axis < B
        let mut series_aggs: Vec<ast::ColumnExpr> = Vec::new();
        let mut defaults: Vec<Option<&ast::Expr>> = Vec::new();
        for a in aggregates {
            series_aggs.push(a.column.clone());
            defaults.push(a.default.as_ref());
        }
        let ident = |name: &str| ast::Expr {
            kind: ExprKind::Ident(ast::Ident {
                name: name.to_string(),
                span,
            }),
            span,
        };
        let binary = |op: BinaryOp, lhs: ast::Expr, rhs: ast::Expr| ast::Expr {
            kind: ExprKind::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            span,
        };
        let summarized = match (start, end) {
            (Some(a), Some(b)) => {
                self.scopes.push(HashMap::new());
                self.bind("__ms_start", Binding::Scalar(lit_v(a.ktype(), a.value())));
                self.bind("__ms_end", Binding::Scalar(lit_v(b.ktype(), b.value())));
                let r = (|| {
                    let within = binary(
                        BinaryOp::And,
                        binary(BinaryOp::Ge, on.clone(), ident("__ms_start")),
                        binary(BinaryOp::Lt, on.clone(), ident("__ms_end")),
                    );
                    let filtered = self.operator(
                        plan.clone(),
                        &ast::Operator {
                            kind: OpKind::Where(within),
                            span,
                        },
                    )?;
                    let bin_at = ast::Expr {
                        kind: ExprKind::Call {
                            callee: Box::new(ident("bin_at")),
                            args: [on.clone(), step.clone(), ident("__ms_start")]
                                .into_iter()
                                .map(|value| ast::Arg {
                                    name: None,
                                    value,
                                    span,
                                })
                                .collect(),
                        },
                        span,
                    };
                    let mut keys = by.clone();
                    keys.push(ast::ColumnExpr {
                        names: vec![ast::Ident {
                            name: "__ms_bin".into(),
                            span,
                        }],
                        expr: bin_at,
                        span,
                    });
                    let p = self.summarize(filtered, &series_aggs, &keys)?;
                    self.execute(p)
                })();
                self.scopes.pop();
                Some(r?)
            }
            _ => None,
        };
        let (a, b) = match (start, end) {
            (Some(a), Some(b)) => (a, b),
            // no rows with an axis value: no series
            _ => {
                let t = self.empty_series(&plan, by, aggregates.len(), &axis_name)?;
                return self.table_plan("make_series", t);
            }
        };
        let n = ((b.as_f64() - a.as_f64()) / step_f).ceil().max(0.0);
        if n > MAX_BINS as f64 {
            return Err(err(
                step.span,
                format!("make-series: the series would have {n} values; the limit is {MAX_BINS}"),
            ));
        }
        let n = n as usize;
        let axis: Vec<Json> = (0..n)
            .map(|i| a.with_f64(a.as_f64() + i as f64 * step_f).value().to_json())
            .collect();
        let Some(t) = summarized else {
            return Err(err(span, "make-series: no axis range"));
        };
        let nby = by.len();
        let nagg = t.columns.len().saturating_sub(nby + 1);
        if nagg != aggregates.len() {
            return Err(err(span, "make-series: each aggregate must be one column"));
        }
        // defaults, typed as each aggregate's result
        let mut fill: Vec<Json> = Vec::new();
        for (i, d) in defaults.iter().enumerate() {
            let v = match d {
                Some(e) => self.const_value(e)?,
                None => Value::Long(0),
            };
            let kt = t.columns[nby + 1 + i].1;
            let v = if kt.is_numeric() && !v.is_null() {
                v.convert(kt)
            } else {
                v
            };
            fill.push(v.to_json());
        }
        let bin_col = nby;
        let bin_type = t.columns[bin_col].1;
        let mut order: Vec<Vec<Json>> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut series: HashMap<String, Vec<Vec<Json>>> = HashMap::new();
        for row in &t.rows {
            let key_vals: Vec<Json> = row[..nby].to_vec();
            let key = Json::Array(key_vals.clone()).to_string();
            if seen.insert(key.clone()) {
                order.push(key_vals);
            }
            let arrays = series
                .entry(key)
                .or_insert_with(|| fill.iter().map(|f| vec![f.clone(); n]).collect());
            let pos = crate::input_value(bin_type, &row[bin_col]);
            let Some(p) = Axis::of(&pos) else { continue };
            let idx = ((p.as_f64() - a.as_f64()) / step_f).round();
            if !(0.0..n as f64).contains(&idx) {
                continue;
            }
            for (j, arr) in arrays.iter_mut().enumerate() {
                arr[idx as usize] = row[nby + 1 + j].clone();
            }
        }
        if order.is_empty() && nonempty && nby == 0 {
            order.push(Vec::new());
            series.insert(
                Json::Array(Vec::new()).to_string(),
                fill.iter().map(|f| vec![f.clone(); n]).collect(),
            );
        }
        let mut columns: Vec<(String, KType)> = t.columns[..nby].to_vec();
        for (name, _) in &t.columns[nby + 1..] {
            columns.push((name.clone(), KType::Dynamic));
        }
        columns.push((unique(&axis_name, &columns), KType::Dynamic));
        let mut rows = Vec::new();
        for key_vals in order {
            let key = Json::Array(key_vals.clone()).to_string();
            let mut row = key_vals;
            if let Some(arrays) = series.remove(&key) {
                row.extend(arrays.into_iter().map(Json::Array));
            }
            row.push(Json::Array(axis.clone()));
            rows.push(row);
        }
        self.table_plan(
            "make_series",
            crate::ResultTable {
                name: String::new(),
                columns,
                rows,
            },
        )
    }

    /// The smallest and largest non-null axis values.
    fn axis_bounds(
        &mut self,
        plan: &LogicalPlan,
        on: &ast::Expr,
    ) -> Res<(Option<Axis>, Option<Axis>)> {
        let schema: DFSchema = plan.schema().as_ref().clone();
        let x = self.scalar(on, &schema)?;
        let p = self.builder(
            datafusion::logical_expr::LogicalPlanBuilder::from(plan.clone()).aggregate(
                Vec::<datafusion::logical_expr::Expr>::new(),
                vec![
                    datafusion::functions_aggregate::expr_fn::min(x.clone()).alias("lo"),
                    datafusion::functions_aggregate::expr_fn::max(x).alias("hi"),
                ],
            ),
        )?;
        let t = self.execute(p)?;
        let get = |i: usize| {
            t.rows.first().and_then(|r| {
                let (_, kt) = t.columns.get(i)?;
                Axis::of(&crate::input_value(*kt, r.get(i)?))
            })
        };
        Ok((get(0), get(1)))
    }

    /// The (row-less) result when no row has an axis value: `by` columns, aggregates, axis.
    fn empty_series(
        &mut self,
        plan: &LogicalPlan,
        by: &[ast::ColumnExpr],
        naggs: usize,
        axis_name: &str,
    ) -> Res<crate::ResultTable> {
        let schema: DFSchema = plan.schema().as_ref().clone();
        let mut columns: Vec<(String, KType)> = Vec::new();
        for (i, b) in by.iter().enumerate() {
            let x = self.scalar(&b.expr, &schema)?;
            let kt = self.ktype(&x, &schema)?;
            let name = b
                .names
                .first()
                .map(|n| n.name.clone())
                .or_else(|| derived_name(&b.expr))
                .unwrap_or_else(|| format!("Column{}", i + 1));
            columns.push((name, kt));
        }
        for i in 0..naggs {
            columns.push((format!("series_{i}"), KType::Dynamic));
        }
        columns.push((unique(axis_name, &columns), KType::Dynamic));
        Ok(crate::ResultTable {
            name: String::new(),
            columns,
            rows: Vec::new(),
        })
    }

    /// A plan reading rows assembled in memory (cells as in [`crate::ResultTable`]).
    pub(super) fn table_plan(&self, name: &str, t: crate::ResultTable) -> Res<LogicalPlan> {
        let schema = Arc::new(Schema::new(
            t.columns
                .iter()
                .map(|(n, k)| Field::new(n, k.arrow(), true))
                .collect::<Vec<_>>(),
        ));
        let arrays: Vec<ArrayRef> = t
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, k))| {
                let vals = t
                    .rows
                    .iter()
                    .map(|r| r.get(i).map_or(Value::Null, |j| crate::input_value(*k, j)))
                    .collect();
                value::build(&k.arrow(), vals)
            })
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| self.df(e.into()))?;
        self.mem_plan(name, schema, batch)
    }
}

/// `name`, or `name1`, `name2`… when a column already has it.
fn unique(name: &str, columns: &[(String, KType)]) -> String {
    let taken: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
    super::unique_name(name, &taken)
}
