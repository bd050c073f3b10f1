//! `scan [with_match_id=Id] [with_step_name=Name] [declare (c:type[=default], …)] with
//! (step s: Condition [=> c = Expr, …]; …)`, with the matching logic Kusto documents.
//!
//! The input is read in order. Step `s_k` has a state: the records (input columns and
//! declared columns) of `s_1 … s_k` of its ongoing sequence, and that sequence's match id.
//! Each record is checked against the steps from the last to the first:
//!
//! * Check 1: when `s_k-1` has a state and the record meets `s_k`'s condition (evaluated
//!   with `s_k-1`'s state), `s_k-1`'s state moves to `s_k`, the record, extended by `s_k`'s
//!   assignments, is appended to it and is output (unless `output=none`).
//! * Check 2, only when check 1 did not match: when `s_k` has a state, or is the first
//!   step, and the record meets the condition (evaluated with `s_k`'s state), the extended
//!   record replaces `s_k`'s own record in that state and is output (unless `output=none`);
//!   a first step without a state starts a new sequence, with the next match id.
//!
//! `StepName.Column` reads the state; a step without a record reads null input columns
//! and the declared defaults. Conditions and assignments see the record with its declared
//! columns at their defaults. `output=last` is not supported.

use super::{err, option_word, Planner, Res};
use crate::value::{self, KType, Value};
use crate::ResultTable;
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::common::DFSchema;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::PhysicalExpr;
use harrier_kql::ast::{self, ExprKind, OpKind, Span};
use std::sync::Arc;

/// One step's ongoing sequence: the records of steps 1..=k and the match id.
#[derive(Clone)]
struct State {
    recs: Vec<Vec<Value>>,
    id: i64,
}

struct Step {
    cond: Arc<dyn PhysicalExpr>,
    assign: Vec<(usize, Arc<dyn PhysicalExpr>)>,
    output: bool,
    name: String,
}

/// Replaces `step.col` by the hidden column holding it.
fn rewrite(e: &mut ast::Expr, steps: &[String]) {
    if let ExprKind::Member { target, name } = &e.kind {
        if let ExprKind::Ident(t) = &target.kind {
            if let Some(i) = steps.iter().position(|s| *s == t.name) {
                e.kind = ExprKind::Ident(ast::Ident {
                    name: state_col(i, &name.name),
                    span: name.span,
                });
                return;
            }
        }
    }
    match &mut e.kind {
        ExprKind::Call { callee, args } => {
            rewrite(callee, steps);
            args.iter_mut().for_each(|a| rewrite(&mut a.value, steps));
        }
        ExprKind::Member { target, .. } => rewrite(target, steps),
        ExprKind::Index { target, index } => {
            rewrite(target, steps);
            rewrite(index, steps);
        }
        ExprKind::Unary { operand, .. } => rewrite(operand, steps),
        ExprKind::Binary { lhs, rhs, .. } => {
            rewrite(lhs, steps);
            rewrite(rhs, steps);
        }
        ExprKind::Paren(x) => rewrite(x, steps),
        ExprKind::InList { lhs, items, .. } => {
            rewrite(lhs, steps);
            items.iter_mut().for_each(|i| rewrite(i, steps));
        }
        ExprKind::Between { lhs, low, high, .. } => {
            rewrite(lhs, steps);
            rewrite(low, steps);
            rewrite(high, steps);
        }
        _ => {}
    }
}

fn state_col(step: usize, col: &str) -> String {
    format!("__scan{step}_{col}")
}

impl Planner<'_> {
    pub(super) fn scan(&mut self, plan: LogicalPlan, op: &OpKind, span: Span) -> Res<LogicalPlan> {
        let OpKind::Scan {
            options,
            declare,
            steps,
        } = op
        else {
            return Err(err(span, "expected scan"));
        };
        if steps.is_empty() {
            return Err(err(span, "scan needs at least one step"));
        }
        let input = self.execute(plan)?;
        // the record: input columns, then declared ones
        let mut cols: Vec<(String, KType)> = input.columns.clone();
        let mut defaults: Vec<Value> = Vec::new();
        for p in declare {
            let t = match &p.ty {
                ast::ParamType::Scalar(t) => KType::from_name(&t.name)
                    .ok_or_else(|| err(t.span, format!("unknown type `{}`", t.name)))?,
                ast::ParamType::Tabular { .. } => {
                    return Err(err(p.span, "scan declares scalar columns"))
                }
            };
            if cols.iter().any(|(n, _)| *n == p.name.name) {
                return Err(err(
                    p.name.span,
                    format!("scan: column `{}` already exists", p.name.name),
                ));
            }
            let d = match &p.default {
                Some(e) => self.const_value(e)?.convert(t),
                None => Value::Null.convert(t),
            };
            cols.push((p.name.name.clone(), t));
            defaults.push(d);
        }
        let ninput = input.columns.len();
        let step_names: Vec<String> = steps.iter().map(|s| s.name.name.clone()).collect();
        // the evaluation row: the record, then each step's record in the state
        let mut wide: Vec<(String, KType)> = cols.clone();
        for i in 0..steps.len() {
            for (n, t) in &cols {
                wide.push((state_col(i, n), *t));
            }
        }
        let schema = Arc::new(Schema::new(
            wide.iter()
                .map(|(n, t)| Field::new(n, t.arrow(), true))
                .collect::<Vec<_>>(),
        ));
        let df_schema = DFSchema::try_from(schema.as_ref().clone()).map_err(|e| self.df(e))?;
        let mut compiled = Vec::new();
        for s in steps {
            let output = match s.output.as_ref().map(|o| o.name.as_str()) {
                None | Some("all") => true,
                Some("none") => false,
                Some(o) => {
                    return Err(err(
                        s.span,
                        format!("scan: `output={o}` is not supported (all and none are)"),
                    ))
                }
            };
            let mut c = s.condition.clone();
            rewrite(&mut c, &step_names);
            let x = self.scalar(&c, &df_schema)?;
            let x = self.as_bool(x, &df_schema)?;
            let cond = self
                .ctx
                .create_physical_expr(x, &df_schema)
                .map_err(|e| self.df(e))?;
            let mut assign = Vec::new();
            for a in &s.assignments {
                let Some(target) = a.names.first() else {
                    return Err(err(a.span, "scan: an assignment needs a column name"));
                };
                let Some(idx) = cols[ninput..]
                    .iter()
                    .position(|(n, _)| *n == target.name)
                    .map(|i| i + ninput)
                else {
                    return Err(err(
                        target.span,
                        format!("scan: `{}` is not a declared column", target.name),
                    ));
                };
                let mut e = a.expr.clone();
                rewrite(&mut e, &step_names);
                let x = self.scalar(&e, &df_schema)?;
                let phys = self
                    .ctx
                    .create_physical_expr(x, &df_schema)
                    .map_err(|e| self.df(e))?;
                assign.push((idx, phys));
            }
            compiled.push(Step {
                cond,
                assign,
                output,
                name: s.name.name.clone(),
            });
        }
        let match_id = option_word(options, "with_match_id");
        let step_name = option_word(options, "with_step_name");
        let empty: Vec<Value> = (0..ninput)
            .map(|i| Value::Null.convert(cols[i].1))
            .chain(defaults.iter().cloned())
            .collect();

        let eval = |x: &Arc<dyn PhysicalExpr>, row: &[Value]| -> Res<Value> {
            let arrays: Vec<ArrayRef> = wide
                .iter()
                .zip(row)
                .map(|((_, t), v)| value::build(&t.arrow(), vec![v.clone()]))
                .collect();
            let batch = RecordBatch::try_new(schema.clone(), arrays)
                .map_err(|e| err(span, format!("scan: {e}")))?;
            let out = x
                .evaluate(&batch)
                .and_then(|c| c.into_array(1))
                .map_err(|e| err(span, format!("scan: {e}")))?;
            Ok(value::get(out.as_ref(), 0))
        };
        // the evaluation row of record `rec` with step records from `state`
        let widen = |rec: &[Value], state: Option<&State>| -> Vec<Value> {
            let mut row = rec.to_vec();
            for i in 0..steps.len() {
                match state.and_then(|s| s.recs.get(i)) {
                    Some(r) => row.extend(r.iter().cloned()),
                    None => row.extend(empty.iter().cloned()),
                }
            }
            row
        };
        let extend = |rec: &[Value], step: &Step, row: &[Value]| -> Res<Vec<Value>> {
            let mut out = rec.to_vec();
            for (idx, x) in &step.assign {
                out[*idx] = eval(x, row)?.convert(cols[*idx].1);
            }
            Ok(out)
        };

        let mut states: Vec<Option<State>> = vec![None; steps.len()];
        let mut next_id = 0i64;
        let mut out_rows: Vec<(Vec<Value>, i64, usize)> = Vec::new();
        for r in &input.rows {
            let rec: Vec<Value> = r
                .iter()
                .zip(&input.columns)
                .map(|(j, (_, t))| crate::input_value(*t, j).convert(*t))
                .chain(defaults.iter().cloned())
                .collect();
            for k in (0..steps.len()).rev() {
                let step = &compiled[k];
                // check 1: promotion from the previous step
                if k > 0 {
                    if let Some(prev) = states[k - 1].as_ref() {
                        let row = widen(&rec, Some(prev));
                        if eval(&step.cond, &row)?.as_bool() == Some(true) {
                            let ext = extend(&rec, step, &row)?;
                            let mut st = states[k - 1].take().unwrap_or(State {
                                recs: Vec::new(),
                                id: 0,
                            });
                            st.recs.truncate(k);
                            st.recs.push(ext.clone());
                            if step.output {
                                out_rows.push((ext, st.id, k));
                            }
                            states[k] = Some(st);
                            continue;
                        }
                    }
                }
                // check 2: the step's own sequence, or a new one at the first step
                if states[k].is_none() && k > 0 {
                    continue;
                }
                let row = widen(&rec, states[k].as_ref());
                if eval(&step.cond, &row)?.as_bool() == Some(true) {
                    let ext = extend(&rec, step, &row)?;
                    let st = states[k].get_or_insert_with(|| {
                        let id = next_id;
                        next_id += 1;
                        State {
                            recs: Vec::new(),
                            id,
                        }
                    });
                    st.recs.truncate(k);
                    st.recs.push(ext.clone());
                    if step.output {
                        out_rows.push((ext, st.id, k));
                    }
                }
            }
        }
        let mut columns = cols.clone();
        if let Some(m) = &match_id {
            columns.push((m.clone(), KType::Long));
        }
        if let Some(s) = &step_name {
            columns.push((s.clone(), KType::String));
        }
        let rows = out_rows
            .into_iter()
            .map(|(vals, id, k)| {
                let mut row: Vec<serde_json::Value> = vals
                    .into_iter()
                    .zip(&cols)
                    .map(|(v, (_, t))| crate::output_json(*t, v))
                    .collect();
                if match_id.is_some() {
                    row.push(serde_json::Value::from(id));
                }
                if step_name.is_some() {
                    row.push(serde_json::Value::from(compiled[k].name.clone()));
                }
                row
            })
            .collect();
        self.table_plan(
            "scan",
            ResultTable {
                name: String::new(),
                columns,
                rows,
            },
        )
    }
}
