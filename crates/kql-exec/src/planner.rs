//! Plans KQL tabular operators onto DataFusion logical plans and KQL scalar expressions onto
//! DataFusion expressions.

use crate::funcs;
use crate::udf;
use crate::value::{self, KType, Value};
use crate::{InputTable, KqlError, ResultTable};
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::tree_node::TreeNode;
use datafusion::common::{Column, DFSchema, JoinType, ScalarValue, UnnestOptions};
use datafusion::datasource::{provider_as_source, MemTable};
use datafusion::execution::context::SessionContext;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::expr::Sort as SortExpr;
use datafusion::logical_expr::{
    lit, when, Expr as DfExpr, ExprSchemable, LogicalPlan, LogicalPlanBuilder,
};
use datafusion::prelude::SessionConfig;
use harrier_kql::ast::{self, BinaryOp, ExprKind, Literal, OpKind, SourceKind, Span};
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};
use std::ops::Not;
use std::rc::Rc;
use std::sync::Arc;

mod external;
mod ipv4;
mod parsekv;
mod scan;
mod series;
mod window;

type Res<T> = Result<T, KqlError>;

#[derive(Clone)]
enum Binding {
    Scalar(DfExpr),
    Tabular(LogicalPlan),
    Function(Rc<ast::Function>),
}

pub struct Planner<'a> {
    ctx: SessionContext,
    rt: tokio::runtime::Runtime,
    tables: &'a BTreeMap<String, InputTable>,
    pub now_ns: i64,
    scopes: Vec<HashMap<String, Binding>>,
    /// Span of the statement being planned, for errors DataFusion reports.
    stmt_span: Span,
    depth: usize,
}

pub fn err(span: Span, msg: impl Into<String>) -> KqlError {
    KqlError {
        message: msg.into(),
        span,
    }
}

pub fn col(name: &str) -> DfExpr {
    DfExpr::Column(Column::new_unqualified(name))
}

fn lit_v(t: KType, v: Value) -> DfExpr {
    DfExpr::Literal(value::scalar(t, v))
}

/// The closest candidate to `name` by edit distance, for "did you mean" hints.
pub fn nearest<'b>(name: &str, candidates: impl IntoIterator<Item = &'b str>) -> Option<&'b str> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 2).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn hint(name: &str, nearest: Option<&str>) -> String {
    match nearest {
        Some(n) if n != name => format!("; did you mean `{n}`?"),
        _ => String::new(),
    }
}

/// Column names of a plan, in order.
fn names(plan: &LogicalPlan) -> Vec<String> {
    plan.schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

/// Makes `name` unique among `taken` by appending 1, 2, … as Kusto does.
fn unique_name(name: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == name) {
        return name.to_string();
    }
    (1..)
        .map(|i| format!("{name}{i}"))
        .find(|c| !taken.iter().any(|t| t == c))
        .unwrap_or_else(|| name.to_string())
}

/// The name Kusto gives an unnamed expression column, when it derives one.
fn derived_name(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Ident(i) => Some(i.name.clone()),
        ExprKind::Paren(inner) => derived_name(inner),
        ExprKind::Member { target, name } => Some(match derived_name(target) {
            Some(t) => format!("{t}_{}", name.name),
            None => name.name.clone(),
        }),
        ExprKind::Index { target, index } => {
            let t = derived_name(target)?;
            match &index.kind {
                ExprKind::Literal(Literal::String { value, .. }) => Some(format!("{t}_{value}")),
                ExprKind::Literal(Literal::Long(i)) => Some(format!("{t}_{i}")),
                _ => Some(t),
            }
        }
        _ => None,
    }
}

/// The first column named inside an expression (for `bin(Timestamp, 1h)` → `Timestamp`).
fn first_ident(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Ident(i) => Some(i.name.clone()),
        ExprKind::Paren(x) => first_ident(x),
        ExprKind::Member { .. } | ExprKind::Index { .. } => derived_name(e),
        ExprKind::Call { args, .. } => args.iter().find_map(|a| first_ident(&a.value)),
        ExprKind::Binary { lhs, rhs, .. } => first_ident(lhs).or_else(|| first_ident(rhs)),
        ExprKind::Unary { operand, .. } => first_ident(operand),
        _ => None,
    }
}

fn callee_name(e: &ast::Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Call { callee, .. } => match &callee.kind {
            ExprKind::Ident(i) => Some(i.name.as_str()),
            _ => None,
        },
        _ => None,
    }
}

fn option<'e>(options: &'e [ast::NamedValue], name: &str) -> Option<&'e ast::Expr> {
    options
        .iter()
        .find(|o| o.name.name == name)
        .map(|o| &o.value)
}

fn option_word(options: &[ast::NamedValue], name: &str) -> Option<String> {
    option(options, name).and_then(|e| match &e.kind {
        ExprKind::Ident(i) => Some(i.name.clone()),
        ExprKind::Literal(Literal::String { value, .. }) => Some(value.clone()),
        ExprKind::Literal(Literal::Bool(b)) => Some(b.to_string()),
        _ => None,
    })
}

/// Glob match with `*`.
fn glob(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let mut rest = s;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else if let Some(pos) = rest.find(p) {
            rest = &rest[pos + p.len()..];
        } else {
            return false;
        }
    }
    true
}

fn pattern_text(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Ident(i) => Some(i.name.clone()),
        ExprKind::Pattern(p) => Some(p.clone()),
        ExprKind::Star => Some("*".into()),
        _ => None,
    }
}

impl<'a> Planner<'a> {
    pub fn new(tables: &'a BTreeMap<String, InputTable>, now_ns: i64) -> Res<Self> {
        let config = SessionConfig::new()
            .with_target_partitions(1)
            .with_batch_size(8192);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| err(Span::default(), format!("cannot start the runtime: {e}")))?;
        // DataFusion 43's SanityCheckPlan rejects a sort over a `union` one of whose inputs
        // has the sort key as a constant (a column that input lacks, filled with null):
        // the optimizer leaves that input unsorted, which is correct, but the check does
        // not see the constant as ordered. The rule only checks; it changes no plan.
        let rules = datafusion::physical_optimizer::optimizer::PhysicalOptimizer::new()
            .rules
            .into_iter()
            .filter(|r| r.name() != "SanityCheckPlan")
            .collect();
        let state = datafusion::execution::SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_physical_optimizer_rules(rules)
            .build();
        Ok(Planner {
            ctx: SessionContext::new_with_state(state),
            rt,
            tables,
            now_ns,
            scopes: vec![HashMap::new()],
            stmt_span: Span::default(),
            depth: 0,
        })
    }

    fn df(&self, e: datafusion::error::DataFusionError) -> KqlError {
        let msg = e.to_string();
        let msg = msg
            .strip_prefix("Error during planning: ")
            .unwrap_or(&msg)
            .to_string();
        err(self.stmt_span, msg)
    }

    fn lookup(&self, name: &str) -> Option<&Binding> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    fn bind(&mut self, name: &str, b: Binding) {
        if let Some(s) = self.scopes.last_mut() {
            s.insert(name.to_string(), b);
        }
    }

    // ---------------------------------------------------------------- statements

    pub fn run_script(&mut self, script: &ast::Script) -> Res<Vec<ResultTable>> {
        let mut out = Vec::new();
        for st in &script.statements {
            self.stmt_span = st.span;
            match &st.kind {
                ast::StatementKind::Let { name, value } => self.let_stmt(name, value)?,
                ast::StatementKind::Query(e) => {
                    let plan = if self.is_tabular(e) {
                        self.tabular(e)?
                    } else {
                        let schema = DFSchema::empty();
                        let x = self.scalar(e, &schema)?;
                        // a bare scalar expression (the form the function reference pages
                        // use) names its column `result`, as those pages show
                        self.builder(
                            LogicalPlanBuilder::empty(true).project(vec![x.alias("result")]),
                        )?
                    };
                    let mut t = self.execute(plan)?;
                    t.name = format!("Table_{}", out.len());
                    out.push(t);
                }
                ast::StatementKind::Set { .. } => {}
                _ => return Err(err(st.span, "this statement is not supported")),
            }
        }
        Ok(out)
    }

    fn let_stmt(&mut self, name: &ast::Ident, value: &ast::LetValue) -> Res<()> {
        let b = match value {
            ast::LetValue::Function(f) | ast::LetValue::View(f) => {
                Binding::Function(Rc::new(f.clone()))
            }
            ast::LetValue::Expr(e) => {
                if self.is_tabular(e) {
                    Binding::Tabular(self.tabular(e)?)
                } else {
                    let schema = DFSchema::empty();
                    let x = self.scalar(e, &schema)?;
                    Binding::Scalar(self.fold(x)?)
                }
            }
        };
        self.bind(&name.name, b);
        Ok(())
    }

    fn builder(&self, r: datafusion::error::Result<LogicalPlanBuilder>) -> Res<LogicalPlan> {
        r.and_then(|b| b.build()).map_err(|e| self.df(e))
    }

    fn collect(&self, plan: LogicalPlan) -> Res<Vec<RecordBatch>> {
        self.rt
            .block_on(async {
                let df = self.ctx.execute_logical_plan(plan).await?;
                df.collect().await
            })
            .map_err(|e| self.df(e))
    }

    pub fn execute(&self, plan: LogicalPlan) -> Res<ResultTable> {
        let fields: Vec<(String, KType)> = plan
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), KType::of_arrow(f.data_type())))
            .collect();
        let batches = self.collect(plan)?;
        let mut rows = Vec::new();
        for b in &batches {
            for i in 0..b.num_rows() {
                let row = b
                    .columns()
                    .iter()
                    .zip(&fields)
                    .map(|(a, (_, t))| crate::output_json(*t, value::get(a.as_ref(), i)))
                    .collect();
                rows.push(row);
            }
        }
        Ok(ResultTable {
            name: String::new(),
            columns: fields,
            rows,
        })
    }

    /// Evaluates a constant expression (no columns) to a literal.
    fn fold(&self, x: DfExpr) -> Res<DfExpr> {
        if matches!(x, DfExpr::Literal(_)) {
            return Ok(x);
        }
        let plan = self.builder(LogicalPlanBuilder::empty(true).project(vec![x.alias("v")]))?;
        let t = plan
            .schema()
            .fields()
            .first()
            .map(|f| f.data_type().clone())
            .unwrap_or(DataType::Null);
        let batches = self.collect(plan)?;
        for b in batches {
            if b.num_rows() > 0 {
                let sv =
                    ScalarValue::try_from_array(b.column(0).as_ref(), 0).map_err(|e| self.df(e))?;
                return Ok(DfExpr::Literal(sv));
            }
        }
        Ok(DfExpr::Literal(
            ScalarValue::try_from(&t).unwrap_or(ScalarValue::Null),
        ))
    }

    fn const_value(&mut self, e: &ast::Expr) -> Res<Value> {
        let schema = DFSchema::empty();
        let x = self.scalar(e, &schema)?;
        match self.fold(x)? {
            DfExpr::Literal(sv) => {
                let arr = sv.to_array().map_err(|e| self.df(e))?;
                Ok(value::get(arr.as_ref(), 0))
            }
            _ => Ok(Value::Null),
        }
    }

    fn mem_plan(&self, name: &str, schema: Arc<Schema>, batch: RecordBatch) -> Res<LogicalPlan> {
        let mem = MemTable::try_new(schema, vec![vec![batch]]).map_err(|e| self.df(e))?;
        let b = LogicalPlanBuilder::scan(name, provider_as_source(Arc::new(mem)), None);
        let plan = self.builder(b)?;
        self.unqualify(plan)
    }

    /// Projects every column to an unqualified name.
    fn unqualify(&self, plan: LogicalPlan) -> Res<LogicalPlan> {
        let exprs: Vec<DfExpr> = plan
            .schema()
            .iter()
            .map(|(q, f)| DfExpr::Column(Column::new(q.cloned(), f.name())).alias(f.name()))
            .collect();
        self.builder(LogicalPlanBuilder::from(plan).project(exprs))
    }

    // ---------------------------------------------------------------- tabular

    fn is_tabular(&self, e: &ast::Expr) -> bool {
        match &e.kind {
            ExprKind::Pipe { .. } | ExprKind::Source(_) => true,
            ExprKind::Paren(x) => self.is_tabular(x),
            ExprKind::Ident(i) => match self.lookup(&i.name) {
                Some(Binding::Tabular(_)) => true,
                Some(Binding::Function(f)) => {
                    f.params.is_empty() && self.is_tabular(&f.body.result)
                }
                Some(_) => false,
                None => self.tables.contains_key(&i.name),
            },
            ExprKind::Call { callee, .. } => match &callee.kind {
                ExprKind::Ident(i) => match i.name.as_str() {
                    "materialize" | "view" | "table" => true,
                    n => match self.lookup(n) {
                        Some(Binding::Function(f)) => {
                            let tab_params: Vec<&str> = f
                                .params
                                .iter()
                                .filter(|p| matches!(p.ty, ast::ParamType::Tabular { .. }))
                                .map(|p| p.name.name.as_str())
                                .collect();
                            match &f.body.result.kind {
                                ExprKind::Ident(r) if tab_params.contains(&r.name.as_str()) => true,
                                _ => self.is_tabular_shallow(&f.body.result, &tab_params),
                            }
                        }
                        _ => false,
                    },
                },
                _ => false,
            },
            _ => false,
        }
    }

    fn is_tabular_shallow(&self, e: &ast::Expr, params: &[&str]) -> bool {
        match &e.kind {
            ExprKind::Ident(i) if params.contains(&i.name.as_str()) => true,
            _ => self.is_tabular(e),
        }
    }

    fn tabular(&mut self, e: &ast::Expr) -> Res<LogicalPlan> {
        self.depth += 1;
        if self.depth > 200 {
            self.depth -= 1;
            return Err(err(e.span, "query nests too deeply"));
        }
        let r = self.tabular_inner(e);
        self.depth -= 1;
        r
    }

    fn tabular_inner(&mut self, e: &ast::Expr) -> Res<LogicalPlan> {
        match &e.kind {
            ExprKind::Paren(x) => self.tabular(x),
            ExprKind::Pipe { input, op } => {
                let plan = self.tabular(input)?;
                self.operator(plan, op)
            }
            ExprKind::Source(s) => self.source(s),
            ExprKind::Ident(i) => self.table_ref(&i.name, i.span),
            ExprKind::Call { callee, args } => {
                let name = match &callee.kind {
                    ExprKind::Ident(i) => i.name.clone(),
                    _ => return Err(err(e.span, "expected a tabular expression")),
                };
                match name.as_str() {
                    "materialize" | "view" => match args.first() {
                        Some(a) => self.tabular(&a.value),
                        None => Err(err(e.span, "materialize() needs an argument")),
                    },
                    "table" => match args.first().map(|a| &a.value.kind) {
                        Some(ExprKind::Literal(Literal::String { value, .. })) => {
                            self.table_ref(value, e.span)
                        }
                        _ => Err(err(e.span, "table() needs a table name")),
                    },
                    _ => match self.lookup(&name).cloned() {
                        Some(Binding::Function(f)) => {
                            match self.call_user(&f, args, None, &DFSchema::empty(), e.span)? {
                                UserResult::Tabular(p) => Ok(p),
                                UserResult::Scalar(_) => {
                                    Err(err(e.span, format!("`{name}` returns a scalar")))
                                }
                            }
                        }
                        _ => Err(err(
                            callee.span,
                            format!("unknown tabular function `{name}`"),
                        )),
                    },
                }
            }
            _ => Err(err(e.span, "expected a tabular expression")),
        }
    }

    fn table_ref(&mut self, name: &str, span: Span) -> Res<LogicalPlan> {
        match self.lookup(name).cloned() {
            Some(Binding::Tabular(p)) => return Ok(p),
            Some(Binding::Function(f)) if f.params.is_empty() => {
                return match self.call_user(&f, &[], None, &DFSchema::empty(), span)? {
                    UserResult::Tabular(p) => Ok(p),
                    UserResult::Scalar(_) => Err(err(span, format!("`{name}` is a scalar"))),
                };
            }
            _ => {}
        }
        if let Some(t) = self.tables.get(name) {
            let (schema, batches) = crate::table_batches(t).map_err(|e| self.df(e))?;
            let mem = MemTable::try_new(schema, vec![batches]).map_err(|e| self.df(e))?;
            let b = LogicalPlanBuilder::scan(name, provider_as_source(Arc::new(mem)), None);
            let plan = self.builder(b)?;
            return self.unqualify(plan);
        }
        let mut candidates: Vec<&str> = self.tables.keys().map(|s| s.as_str()).collect();
        for s in &self.scopes {
            for (k, b) in s {
                if matches!(b, Binding::Tabular(_) | Binding::Function(_)) {
                    candidates.push(k);
                }
            }
        }
        let near = nearest(name, candidates.iter().copied());
        Err(err(
            span,
            format!("unknown table `{name}`{}", hint(name, near)),
        ))
    }

    fn source(&mut self, s: &ast::Source) -> Res<LogicalPlan> {
        match &s.kind {
            SourceKind::Print(cols) => {
                let plan = self.builder(Ok(LogicalPlanBuilder::empty(true)))?;
                let mut exprs = Vec::new();
                let mut taken = Vec::new();
                for (i, c) in cols.iter().enumerate() {
                    let x = self.scalar(&c.expr, plan.schema())?;
                    let name = match c.names.first() {
                        Some(n) => n.name.clone(),
                        None => format!("print_{i}"),
                    };
                    let name = unique_name(&name, &taken);
                    taken.push(name.clone());
                    exprs.push(x.alias(name));
                }
                self.builder(LogicalPlanBuilder::from(plan).project(exprs))
            }
            SourceKind::Range {
                name,
                from,
                to,
                step,
            } => {
                let from = self.const_value(from)?;
                let to = self.const_value(to)?;
                let step = self.const_value(step)?;
                let mut vals = Vec::new();
                let t = value::type_of(&from);
                match (&from, &to, &step) {
                    (Value::DateTime(a), Value::DateTime(b), Value::TimeSpan(st))
                    | (Value::TimeSpan(a), Value::TimeSpan(b), Value::TimeSpan(st)) => {
                        let (mut x, b, st) = (*a, *b, *st);
                        while st != 0
                            && (if st > 0 { x <= b } else { x >= b })
                            && vals.len() < 10_000_000
                        {
                            vals.push(if t == KType::DateTime {
                                Value::DateTime(x)
                            } else {
                                Value::TimeSpan(x)
                            });
                            x += st;
                        }
                    }
                    _ => {
                        let real = [&from, &to, &step]
                            .iter()
                            .any(|v| matches!(v, Value::Real(_)));
                        let (a, b, st) = (
                            from.as_f64().unwrap_or(0.0),
                            to.as_f64().unwrap_or(0.0),
                            step.as_f64().unwrap_or(0.0),
                        );
                        let mut i = 0.0;
                        loop {
                            let x = a + i * st;
                            if st == 0.0
                                || (st > 0.0 && x > b)
                                || (st < 0.0 && x < b)
                                || vals.len() >= 10_000_000
                            {
                                break;
                            }
                            vals.push(if real {
                                Value::Real(x)
                            } else {
                                Value::Long(x as i64)
                            });
                            i += 1.0;
                        }
                    }
                }
                let kt = if t == KType::Real || matches!(step, Value::Real(_)) {
                    KType::Real
                } else if matches!(t, KType::DateTime | KType::TimeSpan) {
                    t
                } else {
                    KType::Long
                };
                let schema = Arc::new(Schema::new(vec![Field::new(&name.name, kt.arrow(), true)]));
                let arr = value::build(&kt.arrow(), vals);
                let batch = RecordBatch::try_new(schema.clone(), vec![arr])
                    .map_err(|e| self.df(e.into()))?;
                self.mem_plan("range", schema, batch)
            }
            SourceKind::Datatable { columns, values } => {
                let mut types = Vec::new();
                for c in columns {
                    let t = KType::from_name(&c.ty.name)
                        .ok_or_else(|| err(c.ty.span, format!("unknown type `{}`", c.ty.name)))?;
                    types.push(t);
                }
                if columns.is_empty() {
                    return Err(err(s.span, "datatable needs columns"));
                }
                let mut cols: Vec<Vec<Value>> = vec![Vec::new(); columns.len()];
                for (i, v) in values.iter().enumerate() {
                    let c = i % columns.len();
                    let val = self.const_value(v)?.convert(types[c]);
                    cols[c].push(val);
                }
                let n = cols.iter().map(|c| c.len()).min().unwrap_or(0);
                let schema = Arc::new(Schema::new(
                    columns
                        .iter()
                        .zip(&types)
                        .map(|(c, t)| Field::new(&c.name.name, t.arrow(), true))
                        .collect::<Vec<_>>(),
                ));
                let arrays: Vec<ArrayRef> = cols
                    .into_iter()
                    .zip(&types)
                    .map(|(mut c, t)| {
                        c.truncate(n);
                        value::build(&t.arrow(), c)
                    })
                    .collect();
                let batch =
                    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| self.df(e.into()))?;
                self.mem_plan("datatable", schema, batch)
            }
            SourceKind::Union(u) => self.union(None, u, s.span),
            SourceKind::Evaluate(_) => Err(err(s.span, "`evaluate` plugins are not supported")),
            SourceKind::Search(sr) => self.search(None, sr, s.span),
            SourceKind::Externaldata {
                columns,
                uris,
                with,
            } => self.externaldata(columns, uris, with, s.span),
        }
    }

    fn union(
        &mut self,
        first: Option<LogicalPlan>,
        u: &ast::Union,
        span: Span,
    ) -> Res<LogicalPlan> {
        let mut inputs: Vec<(String, LogicalPlan)> = Vec::new();
        if let Some(p) = first {
            inputs.push((String::new(), p));
        }
        for t in &u.tables {
            match &t.kind {
                ExprKind::Pattern(p) => {
                    let mut names: Vec<String> =
                        self.tables.keys().filter(|k| glob(p, k)).cloned().collect();
                    for sc in &self.scopes {
                        for (k, b) in sc {
                            let ok = match b {
                                Binding::Tabular(_) => true,
                                Binding::Function(f) => f.params.is_empty(),
                                _ => false,
                            };
                            if ok && glob(p, k) && !names.contains(k) {
                                names.push(k.clone());
                            }
                        }
                    }
                    names.sort();
                    for n in names {
                        let plan = self.table_ref(&n, t.span)?;
                        inputs.push((n, plan));
                    }
                }
                ExprKind::Ident(i) => {
                    let plan = self.table_ref(&i.name, i.span)?;
                    inputs.push((i.name.clone(), plan));
                }
                _ => {
                    let plan = self.tabular(t)?;
                    inputs.push((String::new(), plan));
                }
            }
        }
        let withsource =
            option_word(&u.options, "withsource").or_else(|| option_word(&u.options, "source"));
        let kind_inner = option_word(&u.options, "kind").as_deref() == Some("inner");
        // the union schema: columns in order of first appearance. A name that comes with
        // different types becomes one column per type, `name_type` (union page: `x_long`,
        // `x_int`), with a `1` added when an input already has a column of that name.
        let mut seen: Vec<(String, KType, DataType)> = Vec::new();
        for (_, p) in &inputs {
            for f in p.schema().fields() {
                let kt = KType::of_arrow(f.data_type());
                // an untyped null column takes the type the name has elsewhere
                let untyped = f.data_type() == &DataType::Null;
                let typed_elsewhere = || {
                    inputs.iter().any(|(_, q)| {
                        q.schema()
                            .field_with_unqualified_name(f.name())
                            .is_ok_and(|g| g.data_type() != &DataType::Null)
                    })
                };
                if untyped && typed_elsewhere() {
                    continue;
                }
                if !seen.iter().any(|(n, t, _)| n == f.name() && *t == kt) {
                    seen.push((f.name().clone(), kt, f.data_type().clone()));
                }
            }
        }
        let all_names: Vec<String> = seen.iter().map(|(n, _, _)| n.clone()).collect();
        // (output name, source name, source type, arrow type)
        let mut cols: Vec<(String, String, KType, DataType)> = Vec::new();
        for (n, kt, dt) in &seen {
            let mixed = seen.iter().filter(|(m, _, _)| m == n).count() > 1;
            let out = if mixed {
                let mut o = format!("{n}_{}", kt.name());
                while all_names.contains(&o) || cols.iter().any(|c| c.0 == o) {
                    o.push('1');
                }
                o
            } else {
                n.clone()
            };
            cols.push((out, n.clone(), *kt, dt.clone()));
        }
        if kind_inner {
            cols.retain(|(_, n, kt, _)| {
                inputs.iter().all(|(_, p)| {
                    p.schema()
                        .field_with_unqualified_name(n)
                        .is_ok_and(|f| KType::of_arrow(f.data_type()) == *kt)
                })
            });
        }
        let mut out: Option<LogicalPlanBuilder> = None;
        for (i, (name, p)) in inputs.into_iter().enumerate() {
            let have = names(&p);
            let mut exprs = Vec::new();
            if let Some(ws) = &withsource {
                let label = if name.is_empty() {
                    format!("union_arg{i}")
                } else {
                    name.clone()
                };
                exprs.push(lit(label).alias(ws));
            }
            for (out_name, n, kt, t) in &cols {
                let ft = if have.contains(n) {
                    p.schema()
                        .field_with_unqualified_name(n)
                        .map(|f| f.data_type().clone())
                        .ok()
                } else {
                    None
                };
                let x = match ft {
                    Some(ft) if &ft == t => col(n),
                    Some(ft) if KType::of_arrow(&ft) == *kt || ft == DataType::Null => {
                        convert_expr(col(n), *kt)
                    }
                    _ => DfExpr::Literal(value::scalar(*kt, Value::Null)),
                };
                exprs.push(x.alias(out_name));
            }
            let projected = self.builder(LogicalPlanBuilder::from(p).project(exprs))?;
            out = Some(match out {
                None => LogicalPlanBuilder::from(projected),
                Some(b) => b.union(projected).map_err(|e| self.df(e))?,
            });
        }
        match out {
            Some(b) => self.builder(Ok(b)),
            None => Err(err(span, "union needs at least one table")),
        }
    }

    /// `search [kind=case_sensitive] [in (T, …)] predicate`, or `T | search predicate`.
    /// A bare string term matches when any column has it as a term (`has`; `*` at its
    /// start, end or both asks for `hassuffix`, `hasprefix`, `contains`); `Col:"x"` is
    /// `Col has "x"`; other predicates are ordinary expressions. Searching tables adds a
    /// leading `$table` column naming each row's table.
    fn search(
        &mut self,
        piped: Option<LogicalPlan>,
        sr: &ast::Search,
        span: Span,
    ) -> Res<LogicalPlan> {
        let cs = option_word(&sr.options, "kind").as_deref() == Some("case_sensitive");
        let plan = match piped {
            Some(p) => p,
            None => {
                let mut tables = sr.tables.clone();
                if tables.is_empty() {
                    tables.push(ast::Expr {
                        kind: ExprKind::Pattern("*".into()),
                        span,
                    });
                }
                let u = ast::Union {
                    options: vec![ast::NamedValue {
                        name: ast::Ident {
                            name: "withsource".into(),
                            span,
                        },
                        value: ast::Expr {
                            kind: ExprKind::Ident(ast::Ident {
                                name: "$table".into(),
                                span,
                            }),
                            span,
                        },
                        span,
                    }],
                    tables,
                };
                self.union(None, &u, span)?
            }
        };
        let columns: Vec<(String, KType)> = plan
            .schema()
            .fields()
            .iter()
            .filter(|f| f.name() != "$table")
            .map(|f| (f.name().clone(), KType::of_arrow(f.data_type())))
            .collect();
        let pred = search_predicate(&sr.predicate, &columns, cs)?;
        let x = self.scalar(&pred, plan.schema())?;
        let x = self.as_bool(x, plan.schema())?;
        self.builder(LogicalPlanBuilder::from(plan).filter(x))
    }

    // ---------------------------------------------------------------- operators

    fn operator(&mut self, plan: LogicalPlan, op: &ast::Operator) -> Res<LogicalPlan> {
        let windowed = match &op.kind {
            OpKind::Extend(c) | OpKind::Project(c) | OpKind::Serialize(c) => {
                c.iter().any(|c| window::has_window_call(&c.expr))
            }
            OpKind::Where(e) => window::has_window_call(e),
            _ => false,
        };
        if windowed {
            let mut op2 = op.clone();
            let plan = match &mut op2.kind {
                OpKind::Extend(c) | OpKind::Project(c) | OpKind::Serialize(c) => {
                    let mut es: Vec<&mut ast::Expr> = c.iter_mut().map(|c| &mut c.expr).collect();
                    self.window_pass(plan, &mut es)?
                }
                OpKind::Where(e) => self.window_pass(plan, &mut [e])?,
                _ => plan,
            };
            let out = self.operator(plan, &op2)?;
            return self.drop_window_columns(out);
        }
        match &op.kind {
            OpKind::Where(e) => {
                let x = self.scalar(e, plan.schema())?;
                let x = self.as_bool(x, plan.schema())?;
                self.builder(LogicalPlanBuilder::from(plan).filter(x))
            }
            OpKind::Project(cols) => self.project(plan, cols),
            OpKind::Extend(cols) => {
                // items see the columns added before them, but a replaced input column
                // keeps its input value until the operator ends
                let input = names(&plan);
                let mut plan = plan;
                let mut auto = 0;
                let mut stashed: Vec<String> = Vec::new();
                for c in cols {
                    let target = c
                        .names
                        .first()
                        .map(|n| n.name.clone())
                        .or_else(|| derived_name(&c.expr));
                    match target {
                        Some(t) if c.names.len() <= 1 && input.contains(&t) && cols.len() > 1 => {
                            let hidden = format!("__ext_{t}");
                            let mut c2 = c.clone();
                            c2.names = vec![ast::Ident {
                                name: hidden.clone(),
                                span: c.span,
                            }];
                            plan = self.extend_one(plan, &c2, &mut auto)?;
                            if !stashed.contains(&t) {
                                stashed.push(t);
                            }
                        }
                        _ => plan = self.extend_one(plan, c, &mut auto)?,
                    }
                }
                if stashed.is_empty() {
                    return Ok(plan);
                }
                let exprs: Vec<DfExpr> = names(&plan)
                    .iter()
                    .filter(|n| !n.starts_with("__ext_"))
                    .map(|n| {
                        if stashed.contains(n) {
                            col(&format!("__ext_{n}")).alias(n)
                        } else {
                            col(n)
                        }
                    })
                    .collect();
                self.builder(LogicalPlanBuilder::from(plan).project(exprs))
            }
            OpKind::Serialize(cols) => {
                let mut plan = plan;
                let mut auto = 0;
                for c in cols {
                    plan = self.extend_one(plan, c, &mut auto)?;
                }
                Ok(plan)
            }
            OpKind::ProjectAway(pats) => {
                let pats: Vec<String> = pats.iter().filter_map(pattern_text).collect();
                let keep: Vec<DfExpr> = names(&plan)
                    .iter()
                    .filter(|n| !pats.iter().any(|p| glob(p, n)))
                    .map(|n| col(n))
                    .collect();
                self.check_patterns(&plan, &pats, op.span)?;
                self.builder(LogicalPlanBuilder::from(plan).project(keep))
            }
            OpKind::ProjectKeep(pats) => {
                let pats: Vec<String> = pats.iter().filter_map(pattern_text).collect();
                let keep: Vec<DfExpr> = names(&plan)
                    .iter()
                    .filter(|n| pats.iter().any(|p| glob(p, n)))
                    .map(|n| col(n))
                    .collect();
                self.builder(LogicalPlanBuilder::from(plan).project(keep))
            }
            OpKind::ProjectRename(pairs) => {
                let have = names(&plan);
                for (_, old) in pairs {
                    if !have.contains(&old.name) {
                        return Err(self.unknown_column(&old.name, old.span, &plan));
                    }
                }
                let exprs: Vec<DfExpr> = have
                    .iter()
                    .map(|n| match pairs.iter().find(|(_, old)| &old.name == n) {
                        Some((new, _)) => col(n).alias(&new.name),
                        None => col(n),
                    })
                    .collect();
                self.builder(LogicalPlanBuilder::from(plan).project(exprs))
            }
            OpKind::ProjectReorder(items) => {
                let have = names(&plan);
                let mut placed: Vec<String> = Vec::new();
                for (pat, order) in items {
                    let Some(p) = pattern_text(pat) else {
                        return Err(err(pat.span, "expected a column name or pattern"));
                    };
                    let mut matched: Vec<String> = have
                        .iter()
                        .filter(|n| glob(&p, n) && !placed.contains(n))
                        .cloned()
                        .collect();
                    if matched.is_empty() && !p.contains('*') {
                        return Err(self.unknown_column(&p, pat.span, &plan));
                    }
                    match order {
                        Some(ast::ReorderOrder::Asc) => matched.sort(),
                        Some(ast::ReorderOrder::Desc) => {
                            matched.sort();
                            matched.reverse();
                        }
                        Some(ast::ReorderOrder::GrannyAsc) => {
                            matched.sort_by(|a, b| granny_cmp(a, b))
                        }
                        Some(ast::ReorderOrder::GrannyDesc) => {
                            matched.sort_by(|a, b| granny_cmp(b, a))
                        }
                        None => {}
                    }
                    placed.extend(matched);
                }
                for n in &have {
                    if !placed.contains(n) {
                        placed.push(n.clone());
                    }
                }
                let exprs: Vec<DfExpr> = placed.iter().map(|n| col(n)).collect();
                self.builder(LogicalPlanBuilder::from(plan).project(exprs))
            }
            OpKind::Summarize { aggregates, by, .. } => self.summarize(plan, aggregates, by),
            OpKind::Count => {
                let b = LogicalPlanBuilder::from(plan).aggregate(
                    Vec::<DfExpr>::new(),
                    vec![agg::count(lit(1i64)).alias("Count")],
                );
                self.builder(b)
            }
            OpKind::Take { count, .. } => {
                let n = self.const_value(count)?.as_i64().unwrap_or(0).max(0) as usize;
                self.builder(LogicalPlanBuilder::from(plan).limit(0, Some(n)))
            }
            OpKind::Sample { count } => {
                let n = self.const_value(count)?.as_i64().unwrap_or(0).max(0) as usize;
                self.builder(LogicalPlanBuilder::from(plan).limit(0, Some(n)))
            }
            OpKind::Top { count, by, .. } => {
                let n = self.const_value(count)?.as_i64().unwrap_or(0).max(0) as usize;
                let plan = self.sort(plan, by)?;
                self.builder(LogicalPlanBuilder::from(plan).limit(0, Some(n)))
            }
            OpKind::Sort { keys, .. } => self.sort(plan, keys),
            OpKind::Distinct { columns, .. } => {
                if columns.iter().any(|c| matches!(c.kind, ExprKind::Star)) || columns.is_empty() {
                    return self.builder(LogicalPlanBuilder::from(plan).distinct());
                }
                let cols: Vec<ast::ColumnExpr> = columns
                    .iter()
                    .map(|c| ast::ColumnExpr {
                        names: vec![],
                        expr: c.clone(),
                        span: c.span,
                    })
                    .collect();
                let p = self.project(plan, &cols)?;
                self.builder(LogicalPlanBuilder::from(p).distinct())
            }
            OpKind::Join {
                options,
                right,
                on,
                where_,
            } => {
                let kind = option_word(options, "kind").unwrap_or_else(|| "innerunique".into());
                let right = self.tabular(right)?;
                self.join(plan, right, &kind, on, where_.as_ref(), op.span, false)
            }
            OpKind::Lookup { options, right, on } => {
                let kind = option_word(options, "kind").unwrap_or_else(|| "leftouter".into());
                let right = self.tabular(right)?;
                self.join(plan, right, &kind, on, None, op.span, true)
            }
            OpKind::Union(u) => self.union(Some(plan), u, op.span),
            OpKind::MvExpand {
                options,
                items,
                limit,
            } => self.mv_expand(plan, options, items, limit.as_ref()),
            OpKind::MvApply {
                options,
                items,
                limit,
                id,
                body,
            } => self.mv_apply(plan, options, items, limit.as_ref(), id.as_ref(), body),
            OpKind::Parse {
                where_,
                options,
                expr,
                pattern,
            } => self.parse_op(plan, *where_, options, expr, pattern, op.span),
            OpKind::ParseKv {
                expr,
                columns,
                with,
            } => self.parse_kv(plan, expr, columns, with, op.span),
            OpKind::Getschema => {
                let fields: Vec<(String, KType)> = plan
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| (f.name().clone(), KType::of_arrow(f.data_type())))
                    .collect();
                let schema = Arc::new(Schema::new(vec![
                    Field::new("ColumnName", DataType::Utf8, true),
                    Field::new("ColumnOrdinal", DataType::Int32, true),
                    Field::new("DataType", DataType::Utf8, true),
                    Field::new("ColumnType", DataType::Utf8, true),
                ]));
                let dotnet = |t: KType| match t {
                    KType::String => "System.String",
                    KType::Long => "System.Int64",
                    KType::Int => "System.Int32",
                    KType::Real => "System.Double",
                    KType::Bool => "System.SByte",
                    KType::DateTime => "System.DateTime",
                    KType::TimeSpan => "System.TimeSpan",
                    KType::Dynamic => "System.Object",
                    KType::Guid => "System.Guid",
                };
                let arrays: Vec<ArrayRef> = vec![
                    value::build(
                        &DataType::Utf8,
                        fields.iter().map(|(n, _)| Value::Str(n.clone())).collect(),
                    ),
                    value::build(
                        &DataType::Int32,
                        (0..fields.len()).map(|i| Value::Long(i as i64)).collect(),
                    ),
                    value::build(
                        &DataType::Utf8,
                        fields
                            .iter()
                            .map(|(_, t)| Value::Str(dotnet(*t).into()))
                            .collect(),
                    ),
                    value::build(
                        &DataType::Utf8,
                        fields
                            .iter()
                            .map(|(_, t)| Value::Str(t.name().into()))
                            .collect(),
                    ),
                ];
                let batch =
                    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| self.df(e.into()))?;
                self.mem_plan("getschema", schema, batch)
            }
            OpKind::As { name, .. } => {
                self.bind(&name.name, Binding::Tabular(plan.clone()));
                Ok(plan)
            }
            OpKind::Render { .. } => Ok(plan),
            OpKind::Search(sr) => self.search(Some(plan), sr, op.span),
            OpKind::Evaluate(ev) => self.evaluate(plan, ev, op.span),
            OpKind::MakeSeries { .. } => self.make_series(plan, &op.kind, op.span),
            OpKind::Scan { .. } => self.scan(plan, &op.kind, op.span),
            OpKind::Invoke(call) => match &call.kind {
                ExprKind::Call { callee, args } => {
                    let name = match &callee.kind {
                        ExprKind::Ident(i) => i.name.clone(),
                        _ => String::new(),
                    };
                    match self.lookup(&name).cloned() {
                        Some(Binding::Function(f)) => {
                            match self.call_user(
                                &f,
                                args,
                                Some(plan),
                                &DFSchema::empty(),
                                call.span,
                            )? {
                                UserResult::Tabular(p) => Ok(p),
                                UserResult::Scalar(_) => {
                                    Err(err(call.span, "invoke needs a tabular function"))
                                }
                            }
                        }
                        _ if name == "FileProfile" => self.file_profile(plan, args, call.span),
                        _ => Err(err(callee.span, format!("unknown function `{name}`"))),
                    }
                }
                _ => Err(err(call.span, "expected a function call")),
            },
            _ => Err(err(
                op.span,
                format!("operator `{}` is not supported", op_name(&op.kind)),
            )),
        }
    }

    /// Defender's `invoke FileProfile(x, y)`: enriches rows with what Microsoft's cloud
    /// knows about the file whose hash is in column `x` (default `SHA1`). Harrier has no
    /// access to that service, so every profile reads as Defender reports a failed look-up:
    /// `ProfileAvailability` is `"Error"` for rows with a file ID (empty when the ID is
    /// empty) and the profile columns are empty. Columns the input already has are kept.
    fn file_profile(
        &mut self,
        plan: LogicalPlan,
        args: &[ast::Arg],
        span: Span,
    ) -> Res<LogicalPlan> {
        const PROFILE: &[(&str, KType)] = &[
            ("SHA1", KType::String),
            ("SHA256", KType::String),
            ("MD5", KType::String),
            ("FileSize", KType::Int),
            ("GlobalPrevalence", KType::Int),
            ("GlobalFirstSeen", KType::DateTime),
            ("GlobalLastSeen", KType::DateTime),
            ("Signer", KType::String),
            ("Issuer", KType::String),
            ("SignerHash", KType::String),
            ("IsCertificateValid", KType::Bool),
            ("IsRootSignerMicrosoft", KType::Bool),
            ("SignatureState", KType::String),
            ("IsExecutable", KType::Bool),
            ("ThreatName", KType::String),
            ("Publisher", KType::String),
            ("SoftwareName", KType::String),
            ("ProfileAvailability", KType::String),
        ];
        let have = names(&plan);
        let (id_col, id_span) = match args.first() {
            None => ("SHA1".to_string(), span),
            Some(a) => match &a.value.kind {
                ExprKind::Ident(i) => (i.name.clone(), a.value.span),
                ExprKind::Literal(Literal::String { value, .. }) => (value.clone(), a.value.span),
                _ => {
                    return Err(err(
                        a.value.span,
                        "FileProfile() takes a file ID column: SHA1, SHA256, \
                         InitiatingProcessSHA1 or InitiatingProcessSHA256",
                    ))
                }
            },
        };
        if !have.contains(&id_col) {
            return Err(self.unknown_column(&id_col, id_span, &plan));
        }
        if let Some(limit) = args.get(1) {
            self.const_value(&limit.value)?;
        }
        let mut exprs: Vec<DfExpr> = have.iter().map(|n| col(n)).collect();
        for (n, t) in PROFILE {
            if have.iter().any(|h| h == n) {
                continue;
            }
            let x = if *n == "ProfileAvailability" {
                when(
                    convert_expr(col(&id_col), KType::String).eq(lit("")),
                    lit(""),
                )
                .otherwise(lit("Error"))
                .map_err(|e| self.df(e))?
            } else {
                lit_v(
                    *t,
                    if *t == KType::String {
                        Value::Str(String::new())
                    } else {
                        Value::Null
                    },
                )
            };
            exprs.push(x.alias(*n));
        }
        self.builder(LogicalPlanBuilder::from(plan).project(exprs))
    }

    /// `evaluate pivot(Col)`: one row per combination of the other columns, one column per
    /// distinct value of `Col` (in ascending order) holding the count of rows with that
    /// value (the default aggregation, `count()`). With a declared output schema the
    /// result is projected onto it; declared columns no value produced are null.
    fn pivot(
        &mut self,
        plan: LogicalPlan,
        pivot: &ast::Expr,
        schema: Option<&[ast::ColumnDecl]>,
    ) -> Res<LogicalPlan> {
        let ExprKind::Ident(pc) = &pivot.kind else {
            return Err(err(pivot.span, "pivot() takes a column name"));
        };
        let have = names(&plan);
        if !have.contains(&pc.name) {
            return Err(self.unknown_column(&pc.name, pc.span, &plan));
        }
        let key = convert_expr(col(&pc.name), KType::String);
        let distinct = self.builder(
            LogicalPlanBuilder::from(plan.clone())
                .project(vec![key.clone().alias("v")])
                .and_then(|b| b.distinct()),
        )?;
        let mut values: Vec<String> = Vec::new();
        for b in self.collect(distinct)? {
            for i in 0..b.num_rows() {
                values.push(value::get(b.column(0).as_ref(), i).to_kstring());
            }
        }
        values.sort();
        let group: Vec<DfExpr> = have
            .iter()
            .filter(|n| **n != pc.name)
            .map(|n| col(n))
            .collect();
        let aggs: Vec<DfExpr> = values
            .iter()
            .map(|v| {
                when(key.clone().eq(lit(v.clone())), lit(1i64))
                    .otherwise(lit(0i64))
                    .map(|x| agg::sum(x).alias(v))
            })
            .collect::<datafusion::error::Result<_>>()
            .map_err(|e| self.df(e))?;
        let out = self.builder(LogicalPlanBuilder::from(plan).aggregate(group, aggs))?;
        let Some(decls) = schema else {
            return Ok(out);
        };
        let got = names(&out);
        let mut exprs = Vec::new();
        for d in decls {
            let t = KType::from_name(&d.ty.name)
                .ok_or_else(|| err(d.ty.span, format!("unknown type `{}`", d.ty.name)))?;
            let x = if got.contains(&d.name.name) {
                convert_expr(col(&d.name.name), t)
            } else {
                lit_v(t, Value::Null)
            };
            exprs.push(x.alias(&d.name.name));
        }
        self.builder(LogicalPlanBuilder::from(out).project(exprs))
    }

    fn evaluate(&mut self, plan: LogicalPlan, ev: &ast::Evaluate, span: Span) -> Res<LogicalPlan> {
        let (name, args) = match &ev.plugin.kind {
            ExprKind::Call { callee, args } => match &callee.kind {
                ExprKind::Ident(i) => (i.name.clone(), args.clone()),
                _ => return Err(err(ev.plugin.span, "expected a plugin call")),
            },
            _ => return Err(err(ev.plugin.span, "expected a plugin call")),
        };
        if name == "pivot" && args.len() == 1 {
            return self.pivot(
                plan,
                &args[0].value,
                ev.schema.as_ref().map(|(c, _)| c.as_slice()),
            );
        }
        if name == "ipv4_lookup" {
            return self.ipv4_lookup(plan, &args, span);
        }
        if name != "bag_unpack" {
            return Err(err(
                ev.plugin.span,
                format!("plugin `{name}` is not supported"),
            ));
        }
        let Some(first) = args.first() else {
            return Err(err(span, "bag_unpack() needs a dynamic column"));
        };
        let bag = self.scalar(&first.value, plan.schema())?;
        let bag_name = derived_name(&first.value);
        let mut prefix = String::new();
        let mut conflict = "error".to_string();
        let mut ignored: Vec<String> = Vec::new();
        for a in &args[1..] {
            let v = self.const_value(&a.value)?;
            match a.name.as_ref().map(|n| n.name.as_str()) {
                Some("columnsConflict") => conflict = v.to_kstring(),
                Some("ignoredProperties") => {
                    if let Value::Dyn(Json::Array(items)) = v {
                        ignored = items
                            .iter()
                            .map(|j| Value::Dyn(j.clone()).to_kstring())
                            .collect();
                    }
                }
                _ => prefix = v.to_kstring(),
            }
        }
        // the keys and their types come from the data
        let probe = self.builder(
            LogicalPlanBuilder::from(plan.clone()).project(vec![bag.clone().alias("__bag")]),
        )?;
        let t = self.execute(probe)?;
        let mut keys: BTreeMap<String, Option<KType>> = BTreeMap::new();
        for r in &t.rows {
            if let Some(Json::Object(m)) = r.first() {
                for (k, v) in m {
                    if ignored.contains(k) {
                        continue;
                    }
                    let vt = match v {
                        Json::Null => None,
                        Json::Bool(_) => Some(KType::Bool),
                        Json::Number(n) if n.is_i64() => Some(KType::Long),
                        Json::Number(_) => Some(KType::Real),
                        Json::String(_) => Some(KType::String),
                        _ => Some(KType::Dynamic),
                    };
                    let e = keys.entry(k.clone()).or_insert(vt);
                    *e = match (*e, vt) {
                        (None, x) | (x, None) => x,
                        (Some(a), Some(b)) if a == b => Some(a),
                        (Some(KType::Long), Some(KType::Real))
                        | (Some(KType::Real), Some(KType::Long)) => Some(KType::Real),
                        _ => Some(KType::Dynamic),
                    };
                }
            }
        }
        let have: Vec<String> = names(&plan)
            .into_iter()
            .filter(|n| Some(n) != bag_name.as_ref())
            .collect();
        let mut exprs: Vec<(String, DfExpr)> = have.iter().map(|n| (n.clone(), col(n))).collect();
        for (k, t) in &keys {
            let out = format!("{prefix}{k}");
            let t = t.unwrap_or(KType::Dynamic);
            let x = convert_expr(funcs::member(bag.clone(), Value::Str(k.clone())), t);
            // A slot named like a source column takes the source column's place among the
            // unpacked columns (the bag_unpack page shows `Age, Name` for both conflict modes);
            // `keep_source` keeps the source column's values, `replace_source` the slot's.
            match exprs.iter().position(|(n, _)| n == &out) {
                Some(i) => {
                    let (_, source) = exprs.remove(i);
                    match conflict.as_str() {
                        "replace_source" => exprs.push((out, x)),
                        "keep_source" => exprs.push((out, source)),
                        _ => {
                            return Err(err(
                                span,
                                format!("bag_unpack: column `{out}` already exists"),
                            ))
                        }
                    }
                }
                None => exprs.push((out, x)),
            }
        }
        if let Some((schema, _)) = &ev.schema {
            let mut out = Vec::new();
            for c in schema {
                let t = KType::from_name(&c.ty.name)
                    .ok_or_else(|| err(c.ty.span, format!("unknown type `{}`", c.ty.name)))?;
                let x = match exprs.iter().find(|(n, _)| n == &c.name.name) {
                    Some((_, x)) => x.clone(),
                    None => lit_v(t, Value::Null),
                };
                out.push((c.name.name.clone(), convert_expr(x, t)));
            }
            exprs = out;
        }
        let exprs: Vec<DfExpr> = exprs.into_iter().map(|(n, x)| x.alias(n)).collect();
        self.builder(LogicalPlanBuilder::from(plan).project(exprs))
    }

    fn check_patterns(&self, plan: &LogicalPlan, pats: &[String], span: Span) -> Res<()> {
        let have = names(plan);
        for p in pats {
            if !p.contains('*') && !have.contains(p) {
                return Err(self.unknown_column(p, span, plan));
            }
        }
        Ok(())
    }

    fn unknown_column(&self, name: &str, span: Span, plan: &LogicalPlan) -> KqlError {
        let have = names(plan);
        let near = nearest(name, have.iter().map(|s| s.as_str()));
        err(span, format!("unknown column `{name}`{}", hint(name, near)))
    }

    fn project(&mut self, plan: LogicalPlan, cols: &[ast::ColumnExpr]) -> Res<LogicalPlan> {
        let mut exprs = Vec::new();
        let mut taken: Vec<String> = Vec::new();
        let mut auto = 0;
        for c in cols {
            if let ExprKind::Pattern(p) | ExprKind::Ident(ast::Ident { name: p, .. }) = &c.expr.kind
            {
                if c.names.is_empty() && p.contains('*') {
                    for n in names(&plan) {
                        if glob(p, &n) && !taken.contains(&n) {
                            taken.push(n.clone());
                            exprs.push(col(&n));
                        }
                    }
                    continue;
                }
            }
            let x = self.scalar(&c.expr, plan.schema())?;
            let name = match c.names.first() {
                Some(n) => n.name.clone(),
                None => derived_name(&c.expr).unwrap_or_else(|| {
                    auto += 1;
                    format!("Column{auto}")
                }),
            };
            let name = unique_name(&name, &taken);
            taken.push(name.clone());
            exprs.push(x.alias(name));
        }
        self.builder(LogicalPlanBuilder::from(plan).project(exprs))
    }

    fn extend_one(
        &mut self,
        plan: LogicalPlan,
        c: &ast::ColumnExpr,
        auto: &mut usize,
    ) -> Res<LogicalPlan> {
        let have = names(&plan);
        let x = self.scalar(&c.expr, plan.schema())?;
        if c.names.len() > 1 {
            // (a, b) = f(...): the value is a dynamic array spread over the names
            let mut exprs: Vec<DfExpr> = have.iter().map(|n| col(n)).collect();
            for (i, n) in c.names.iter().enumerate() {
                let f: udf::RowFn = Arc::new(move |a: &[Value]| match a.first() {
                    Some(Value::Dyn(Json::Array(items))) => {
                        items.get(i).cloned().map_or(Value::Null, Value::Dyn)
                    }
                    _ => Value::Null,
                });
                exprs.push(
                    udf::call("tuple_item", DataType::LargeUtf8, f, vec![x.clone()], false)
                        .alias(&n.name),
                );
            }
            return self.builder(LogicalPlanBuilder::from(plan).project(exprs));
        }
        let name = match c.names.first() {
            Some(n) => n.name.clone(),
            None => derived_name(&c.expr).unwrap_or_else(|| loop {
                *auto += 1;
                let n = format!("Column{auto}");
                if !have.contains(&n) {
                    break n;
                }
            }),
        };
        let mut exprs = Vec::new();
        let mut replaced = false;
        for n in &have {
            if n == &name {
                exprs.push(x.clone().alias(n));
                replaced = true;
            } else {
                exprs.push(col(n));
            }
        }
        if !replaced {
            exprs.push(x.alias(&name));
        }
        self.builder(LogicalPlanBuilder::from(plan).project(exprs))
    }

    fn sort(&mut self, plan: LogicalPlan, keys: &[ast::SortKey]) -> Res<LogicalPlan> {
        let mut sorts = Vec::new();
        for k in keys {
            let x = self.scalar(&k.expr, plan.schema())?;
            let asc = k.order == Some(ast::SortOrder::Asc);
            let nulls_first = match k.nulls {
                Some(ast::NullsOrder::First) => true,
                Some(ast::NullsOrder::Last) => false,
                None => asc,
            };
            sorts.push(SortExpr::new(x, asc, nulls_first));
        }
        self.builder(LogicalPlanBuilder::from(plan).sort(sorts))
    }

    // ---------------------------------------------------------------- summarize

    fn summarize(
        &mut self,
        plan: LogicalPlan,
        aggregates: &[ast::ColumnExpr],
        by: &[ast::ColumnExpr],
    ) -> Res<LogicalPlan> {
        let schema = plan.schema().clone();
        let mut group = Vec::new();
        let mut out_names: Vec<String> = Vec::new();
        let mut auto = 0;
        for b in by {
            let x = self.scalar(&b.expr, &schema)?;
            let name = match b.names.first() {
                Some(n) => n.name.clone(),
                None => first_ident(&b.expr).unwrap_or_else(|| {
                    auto += 1;
                    format!("Column{auto}")
                }),
            };
            let name = unique_name(&name, &out_names);
            out_names.push(name.clone());
            group.push(x.alias(name));
        }
        // percentiles(x, p1, p2, …) is one percentile(x, p) column per level
        let mut expanded: Vec<ast::ColumnExpr> = Vec::new();
        for a in aggregates {
            if let (Some("percentiles"), ExprKind::Call { callee, args }) =
                (callee_name(&a.expr), &a.expr.kind)
            {
                if let Some(x) = args.first() {
                    let base = first_ident(&x.value).unwrap_or_default();
                    for (i, p) in args[1..].iter().enumerate() {
                        let label = match &p.value.kind {
                            ExprKind::Literal(Literal::Long(v)) => v.to_string(),
                            ExprKind::Literal(Literal::Real(v)) => v.to_string().replace('.', "_"),
                            _ => i.to_string(),
                        };
                        let name = a.names.get(i).cloned().unwrap_or(ast::Ident {
                            name: format!("percentile_{base}_{label}"),
                            span: a.span,
                        });
                        let mut callee = callee.clone();
                        if let ExprKind::Ident(id) = &mut callee.kind {
                            id.name = "percentile".into();
                        }
                        expanded.push(ast::ColumnExpr {
                            names: vec![name],
                            expr: ast::Expr {
                                kind: ExprKind::Call {
                                    callee,
                                    args: vec![x.clone(), p.clone()],
                                },
                                span: a.expr.span,
                            },
                            span: a.span,
                        });
                    }
                    continue;
                }
            }
            expanded.push(a.clone());
        }
        let aggregates = &expanded[..];
        let mut aggs: Vec<DfExpr> = Vec::new();
        // post-aggregation columns: (name, AST over hidden aggregate columns) or direct exprs
        let mut post: Vec<(String, PostCol)> = Vec::new();
        for a in aggregates {
            // arg_max / arg_min spread over several columns
            if let (
                Some(f @ ("arg_max" | "arg_min" | "argmax" | "argmin")),
                ExprKind::Call { args, .. },
            ) = (callee_name(&a.expr), &a.expr.kind)
            {
                let is_max = f.starts_with("argmax") || f == "arg_max";
                let Some(target) = args.first() else {
                    return Err(err(a.span, format!("{f}() needs arguments")));
                };
                let tx = self.scalar(&target.value, &schema)?;
                let mut cols: Vec<(String, DfExpr, KType)> = Vec::new();
                let tname = a
                    .names
                    .first()
                    .map(|n| n.name.clone())
                    .or_else(|| derived_name(&target.value))
                    .unwrap_or_else(|| format!("{}_", if is_max { "max" } else { "min" }));
                let tt = self.ktype(&tx, &schema)?;
                cols.push((tname, tx.clone(), tt));
                for extra in &args[1..] {
                    if matches!(extra.value.kind, ExprKind::Star) {
                        for f in schema.fields() {
                            let n = f.name().clone();
                            if out_names.contains(&n) || cols.iter().any(|(c, _, _)| c == &n) {
                                continue;
                            }
                            cols.push((n.clone(), col(&n), KType::of_arrow(f.data_type())));
                        }
                    } else {
                        let x = self.scalar(&extra.value, &schema)?;
                        let t = self.ktype(&x, &schema)?;
                        let n = extra
                            .name
                            .as_ref()
                            .map(|n| n.name.clone())
                            .or_else(|| derived_name(&extra.value))
                            .unwrap_or_else(|| format!("Column{}", cols.len()));
                        cols.push((n, x, t));
                    }
                }
                let hidden = format!("__agg{}", aggs.len());
                let finish: udf::FinishFn = Arc::new(move |rows: Vec<Vec<Value>>| {
                    let mut best: Option<&Vec<Value>> = None;
                    for r in &rows {
                        let Some(k) = r.first() else { continue };
                        if k.is_null() {
                            continue;
                        }
                        best = match best {
                            None => Some(r),
                            Some(b) => {
                                let o = funcs::cmp_values(k, &b[0]);
                                if (is_max && o == std::cmp::Ordering::Greater)
                                    || (!is_max && o == std::cmp::Ordering::Less)
                                {
                                    Some(r)
                                } else {
                                    Some(b)
                                }
                            }
                        };
                    }
                    let best = best.or(rows.first());
                    match best {
                        Some(r) => Value::Dyn(Json::Array(r.iter().map(crate::udf_tag).collect())),
                        None => Value::Null,
                    }
                });
                let args: Vec<DfExpr> = cols.iter().map(|(_, x, _)| x.clone()).collect();
                aggs.push(udf::collect(f, DataType::LargeUtf8, finish, args).alias(&hidden));
                for (i, (n, _, t)) in cols.into_iter().enumerate() {
                    let n = unique_name(&n, &out_names);
                    out_names.push(n.clone());
                    post.push((n, PostCol::Item(hidden.clone(), i, t)));
                }
                continue;
            }
            let mut rewritten = a.expr.clone();
            let mut found = Vec::new();
            self.extract_aggs(&mut rewritten, &schema, &mut aggs, &mut found)?;
            if found.is_empty() {
                return Err(err(
                    a.expr.span,
                    "expected an aggregation function such as count() or sum()",
                ));
            }
            let name = match a.names.first() {
                Some(n) => n.name.clone(),
                None => found[0].clone(),
            };
            let name = unique_name(&name, &out_names);
            out_names.push(name.clone());
            post.push((name, PostCol::Expr(rewritten)));
        }
        let group_names: Vec<String> = group.iter().map(|g| g.schema_name().to_string()).collect();
        let _ = group_names;
        let aplan = self.builder(LogicalPlanBuilder::from(plan).aggregate(group.clone(), aggs))?;
        let aschema = aplan.schema().clone();
        let mut exprs: Vec<DfExpr> = Vec::new();
        for g in &group {
            if let DfExpr::Alias(a) = g {
                exprs.push(col(&a.name));
            }
        }
        for (name, p) in post {
            let x = match p {
                PostCol::Expr(e) => self.scalar(&e, &aschema)?,
                PostCol::Item(hidden, i, t) => {
                    let f: udf::RowFn = Arc::new(move |a: &[Value]| match a.first() {
                        Some(Value::Dyn(Json::Array(items))) => {
                            items.get(i).map_or(Value::Null, crate::udf_untag)
                        }
                        _ => Value::Null,
                    });
                    udf::call(
                        &format!("arg_item{i}"),
                        t.arrow(),
                        f,
                        vec![col(&hidden)],
                        false,
                    )
                }
            };
            exprs.push(x.alias(name));
        }
        self.builder(LogicalPlanBuilder::from(aplan).project(exprs))
    }

    /// Replaces aggregate calls in `e` by hidden columns, pushing the aggregate expressions.
    /// `found` receives the default names of the aggregates.
    fn extract_aggs(
        &mut self,
        e: &mut ast::Expr,
        schema: &DFSchema,
        aggs: &mut Vec<DfExpr>,
        found: &mut Vec<String>,
    ) -> Res<()> {
        if let Some(name) = callee_name(e) {
            if funcs::is_aggregate(name) {
                let name = name.to_string();
                let ExprKind::Call { args, .. } = &e.kind else {
                    return Ok(());
                };
                let mut xs = Vec::new();
                let mut ts = Vec::new();
                for a in args {
                    if matches!(a.value.kind, ExprKind::Star) {
                        continue;
                    }
                    let x = self.scalar(&a.value, schema)?;
                    ts.push(self.ktype(&x, schema)?);
                    xs.push(x);
                }
                let x = funcs::aggregate(&name, xs, &ts).map_err(|m| err(e.span, m))?;
                let default = match args.first().and_then(|a| first_ident(&a.value)) {
                    Some(c) if name == "percentile" => {
                        let label = match args.get(1).map(|a| &a.value.kind) {
                            Some(ExprKind::Literal(Literal::Long(v))) => v.to_string(),
                            Some(ExprKind::Literal(Literal::Real(v))) => {
                                v.to_string().replace('.', "_")
                            }
                            _ => String::new(),
                        };
                        format!("percentile_{c}_{label}")
                    }
                    Some(c) if name != "countif" => format!("{}_{c}", funcs::agg_prefix(&name)),
                    _ => format!("{}_", funcs::agg_prefix(&name)),
                };
                found.push(default);
                let hidden = format!("__agg{}", aggs.len());
                aggs.push(x.alias(&hidden));
                e.kind = ExprKind::Ident(ast::Ident {
                    name: hidden,
                    span: e.span,
                });
                return Ok(());
            }
        }
        match &mut e.kind {
            ExprKind::Call { args, .. } => {
                for a in args {
                    self.extract_aggs(&mut a.value, schema, aggs, found)?;
                }
            }
            ExprKind::Binary { lhs, rhs, .. } => {
                self.extract_aggs(lhs, schema, aggs, found)?;
                self.extract_aggs(rhs, schema, aggs, found)?;
            }
            ExprKind::Unary { operand, .. } => self.extract_aggs(operand, schema, aggs, found)?,
            ExprKind::Paren(x) => self.extract_aggs(x, schema, aggs, found)?,
            ExprKind::Member { target, .. } => self.extract_aggs(target, schema, aggs, found)?,
            ExprKind::Index { target, index } => {
                self.extract_aggs(target, schema, aggs, found)?;
                self.extract_aggs(index, schema, aggs, found)?;
            }
            ExprKind::Between { lhs, low, high, .. } => {
                self.extract_aggs(lhs, schema, aggs, found)?;
                self.extract_aggs(low, schema, aggs, found)?;
                self.extract_aggs(high, schema, aggs, found)?;
            }
            ExprKind::InList { lhs, items, .. } => {
                self.extract_aggs(lhs, schema, aggs, found)?;
                for i in items {
                    self.extract_aggs(i, schema, aggs, found)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    // ---------------------------------------------------------------- join

    #[allow(clippy::too_many_arguments)]
    fn join(
        &mut self,
        left: LogicalPlan,
        right: LogicalPlan,
        kind: &str,
        on: &[ast::Expr],
        where_: Option<&ast::Expr>,
        span: Span,
        lookup: bool,
    ) -> Res<LogicalPlan> {
        let jt = match kind {
            "innerunique" | "inner" => JoinType::Inner,
            "leftouter" => JoinType::Left,
            "rightouter" => JoinType::Right,
            "fullouter" | "outer" => JoinType::Full,
            "leftsemi" | "semi" => JoinType::LeftSemi,
            "leftanti" | "anti" | "leftantisemi" => JoinType::LeftAnti,
            "rightsemi" => JoinType::RightSemi,
            "rightanti" | "rightantisemi" => JoinType::RightAnti,
            other => return Err(err(span, format!("unknown join kind `{other}`"))),
        };
        let lnames = names(&left);
        let rnames = names(&right);
        let mut lkeys = Vec::new();
        let mut rkeys = Vec::new();
        let side = |e: &ast::Expr| -> Option<(bool, String)> {
            if let ExprKind::Member { target, name } = &e.kind {
                if let ExprKind::Ident(t) = &target.kind {
                    if t.name == "$left" {
                        return Some((true, name.name.clone()));
                    }
                    if t.name == "$right" {
                        return Some((false, name.name.clone()));
                    }
                }
            }
            None
        };
        let mut conds: Vec<&ast::Expr> = on.iter().collect();
        let mut i = 0;
        while i < conds.len() {
            let c = conds[i];
            i += 1;
            match &c.kind {
                ExprKind::Ident(id) => {
                    if !lnames.contains(&id.name) {
                        return Err(self.unknown_column(&id.name, id.span, &left));
                    }
                    if !rnames.contains(&id.name) {
                        return Err(self.unknown_column(&id.name, id.span, &right));
                    }
                    lkeys.push(id.name.clone());
                    rkeys.push(id.name.clone());
                }
                ExprKind::Binary {
                    op: BinaryOp::And,
                    lhs,
                    rhs,
                } => {
                    conds.push(lhs);
                    conds.push(rhs);
                }
                ExprKind::Paren(x) => conds.push(x),
                ExprKind::Binary {
                    op: BinaryOp::Eq,
                    lhs,
                    rhs,
                } => match (side(lhs), side(rhs)) {
                    (Some((true, l)), Some((false, r))) | (Some((false, r)), Some((true, l))) => {
                        if !lnames.contains(&l) {
                            return Err(self.unknown_column(&l, lhs.span, &left));
                        }
                        if !rnames.contains(&r) {
                            return Err(self.unknown_column(&r, rhs.span, &right));
                        }
                        lkeys.push(l);
                        rkeys.push(r);
                    }
                    _ => {
                        return Err(err(
                            c.span,
                            "join conditions must be `$left.a == $right.b` or column names",
                        ))
                    }
                },
                _ => {
                    return Err(err(
                        c.span,
                        "join conditions must be `$left.a == $right.b` or column names",
                    ))
                }
            }
        }
        if where_.is_some() {
            return Err(err(span, "join ... where is not supported"));
        }
        let left = if kind == "innerunique" {
            // keep one left row per key
            let keys: Vec<DfExpr> = lkeys.iter().map(|k| col(k)).collect();
            let all: Vec<DfExpr> = lnames.iter().map(|n| col(n)).collect();
            self.builder(LogicalPlanBuilder::from(left).distinct_on(keys, all, None))?
        } else {
            left
        };
        let lq = LogicalPlanBuilder::from(left)
            .alias("__l")
            .map_err(|e| self.df(e))?;
        let rq = self.builder(LogicalPlanBuilder::from(right).alias("__r"))?;
        let lk: Vec<Column> = lkeys.iter().map(|k| Column::new(Some("__l"), k)).collect();
        let rk: Vec<Column> = rkeys.iter().map(|k| Column::new(Some("__r"), k)).collect();
        let joined = self.builder(lq.join_detailed(rq, jt, (lk, rk), None, false))?;
        let mut exprs = Vec::new();
        let mut taken: Vec<String> = Vec::new();
        let left_cols = !matches!(jt, JoinType::RightSemi | JoinType::RightAnti);
        let right_cols = !matches!(jt, JoinType::LeftSemi | JoinType::LeftAnti);
        if left_cols {
            for n in &lnames {
                let x = DfExpr::Column(Column::new(Some("__l"), n));
                taken.push(n.clone());
                exprs.push(x.alias(n));
            }
        }
        if right_cols {
            for n in &rnames {
                if lookup && rkeys.contains(n) {
                    continue;
                }
                let name = if left_cols {
                    unique_name(n, &taken)
                } else {
                    n.clone()
                };
                taken.push(name.clone());
                exprs.push(DfExpr::Column(Column::new(Some("__r"), n)).alias(name));
            }
        }
        self.builder(LogicalPlanBuilder::from(joined).project(exprs))
    }

    // ---------------------------------------------------------------- mv-expand

    /// `mv-apply items on (subquery)`: each row's arrays are expanded into a subtable, the
    /// subquery runs on it, and the row's other columns are added to every row it returns
    /// (a row whose subquery returns nothing disappears). When the subquery consists of
    /// row-by-row operators only (`where`, `extend`, `project…`, `parse`, `mv-expand`),
    /// running it on every subtable is running it on the expanded table, which is what
    /// this does; the subquery sees only the expanded columns, as in Kusto.
    fn mv_apply(
        &mut self,
        plan: LogicalPlan,
        options: &[ast::NamedValue],
        items: &[ast::MvItem],
        limit: Option<&ast::Expr>,
        id: Option<&ast::Expr>,
        body: &ast::SubPipeline,
    ) -> Res<LogicalPlan> {
        if let Some(id) = id {
            return Err(err(id.span, "mv-apply: `id` is not supported"));
        }
        for op in &body.ops {
            let row_wise = matches!(
                op.kind,
                OpKind::Where(_)
                    | OpKind::Extend(_)
                    | OpKind::Project(_)
                    | OpKind::ProjectAway(_)
                    | OpKind::ProjectKeep(_)
                    | OpKind::ProjectRename(_)
                    | OpKind::ProjectReorder(_)
                    | OpKind::Parse { .. }
                    | OpKind::MvExpand { .. }
            );
            if !row_wise {
                return self.mv_apply_each_row(plan, options, items, limit, body);
            }
        }
        let before = names(&plan);
        let expanded = self.mv_expand(plan, options, items, limit)?;
        let after = names(&expanded);
        // the expanded columns: new ones, and existing ones an item names
        let item_names: Vec<String> = items
            .iter()
            .enumerate()
            .map(|(k, it)| {
                it.names
                    .first()
                    .map(|n| n.name.clone())
                    .or_else(|| derived_name(&it.expr))
                    .unwrap_or_else(|| format!("Column{}", k + 1))
            })
            .collect();
        let mut sub_cols = Vec::new();
        let mut outer = Vec::new();
        let mut exprs = Vec::new();
        for (i, n) in after.iter().enumerate() {
            if item_names.contains(n) || !before.contains(n) {
                sub_cols.push(n.clone());
                exprs.push(col(n));
            } else {
                let hidden = format!("__mv_apply_outer_{i}");
                exprs.push(col(n).alias(&hidden));
                outer.push((n.clone(), hidden));
            }
        }
        let mut sub = self.builder(LogicalPlanBuilder::from(expanded).project(exprs))?;
        for op in &body.ops {
            // the row's other columns ride along through the subquery's projections
            let ident = |name: &str| ast::Expr {
                kind: ExprKind::Ident(ast::Ident {
                    name: name.to_string(),
                    span: op.span,
                }),
                span: op.span,
            };
            let mut op = op.clone();
            match &mut op.kind {
                OpKind::Project(cols) => {
                    for (_, hidden) in &outer {
                        cols.push(ast::ColumnExpr {
                            names: Vec::new(),
                            expr: ident(hidden),
                            span: op.span,
                        });
                    }
                }
                OpKind::ProjectKeep(cols) => {
                    cols.extend(outer.iter().map(|(_, hidden)| ident(hidden)));
                }
                _ => {}
            }
            sub = self.operator(sub, &op)?;
        }
        let results = names(&sub);
        let mut out = Vec::new();
        for (n, hidden) in &outer {
            if results.contains(hidden) && !results.contains(n) {
                out.push(col(hidden).alias(n));
            }
        }
        for n in &results {
            if !n.starts_with("__mv_apply_outer_") {
                out.push(col(n));
            }
        }
        self.builder(LogicalPlanBuilder::from(sub).project(out))
    }

    /// `mv-apply` whose subquery aggregates, sorts or limits (`summarize`, `top`, `take`,
    /// …): the input is materialized and the subquery runs once per input row over that
    /// row's expansion (all of the row's columns, as the mv-apply page's examples read
    /// them), as Kusto defines it. Each result row is the row's columns the subquery does not
    /// return, followed by the subquery's columns. One plan and execution per row: slower
    /// than the row-by-row path, so only used when needed.
    fn mv_apply_each_row(
        &mut self,
        plan: LogicalPlan,
        options: &[ast::NamedValue],
        items: &[ast::MvItem],
        limit: Option<&ast::Expr>,
        body: &ast::SubPipeline,
    ) -> Res<LogicalPlan> {
        let input = self.execute(plan)?;
        let before: Vec<String> = input.columns.iter().map(|(n, _)| n.clone()).collect();
        let outer: Vec<usize> = (0..before.len()).collect();
        let mut columns: Option<Vec<(String, KType)>> = None;
        let mut kept: Vec<usize> = Vec::new();
        let mut sub_width = 0;
        let mut rows = Vec::new();
        let run = |this: &mut Self, rows_in: Vec<Vec<Json>>| -> Res<crate::ResultTable> {
            let one = crate::ResultTable {
                name: String::new(),
                columns: input.columns.clone(),
                rows: rows_in,
            };
            let p = this.table_plan("__mv_apply_row", one)?;
            let mut sub = this.mv_expand(p, options, items, limit)?;
            for op in &body.ops {
                sub = this.operator(sub, op)?;
            }
            this.execute(sub)
        };
        let mut results = Vec::new();
        if input.rows.is_empty() {
            results.push((None, run(self, Vec::new())?));
        }
        for row in &input.rows {
            results.push((Some(row), run(self, vec![row.clone()])?));
        }
        for (row, sub) in results {
            if columns.is_none() {
                let sub_names: Vec<&String> = sub.columns.iter().map(|(n, _)| n).collect();
                kept = outer
                    .iter()
                    .copied()
                    .filter(|i| !sub_names.contains(&&before[*i]))
                    .collect();
                let mut cs: Vec<(String, KType)> =
                    kept.iter().map(|i| input.columns[*i].clone()).collect();
                sub_width = sub.columns.len();
                cs.extend(sub.columns.iter().cloned());
                columns = Some(cs);
            }
            let Some(row) = row else { continue };
            for r in sub.rows {
                let mut out: Vec<Json> = kept.iter().map(|i| row[*i].clone()).collect();
                out.extend(r.into_iter().take(sub_width));
                rows.push(out);
            }
        }
        let t = crate::ResultTable {
            name: String::new(),
            columns: columns.unwrap_or_default(),
            rows,
        };
        self.table_plan("__mv_apply", t)
    }

    fn mv_expand(
        &mut self,
        plan: LogicalPlan,
        options: &[ast::NamedValue],
        items: &[ast::MvItem],
        limit: Option<&ast::Expr>,
    ) -> Res<LogicalPlan> {
        let limit = match limit {
            Some(l) => self.const_value(l)?.as_i64().map(|v| v.max(0) as usize),
            None => None,
        };
        let index_col = option_word(options, "with_itemindex");
        // bagexpansion=array expands a property bag into [key, value] arrays; the default
        // (bag) into single-entry bags
        let bag_as_array = option_word(options, "bagexpansion")
            .or_else(|| option_word(options, "kind"))
            .as_deref()
            == Some("array");
        let have = names(&plan);
        let mut exprs: Vec<DfExpr> = Vec::new();
        let mut targets: Vec<(String, Option<KType>)> = Vec::new();
        let mut list_cols = Vec::new();
        for (k, it) in items.iter().enumerate() {
            let x = self.scalar(&it.expr, plan.schema())?;
            let name = it
                .names
                .first()
                .map(|n| n.name.clone())
                .or_else(|| derived_name(&it.expr))
                .unwrap_or_else(|| format!("Column{}", k + 1));
            let to = match &it.to_type {
                Some(t) => Some(
                    KType::from_name(&t.name)
                        .ok_or_else(|| err(t.span, format!("unknown type `{}`", t.name)))?,
                ),
                None => None,
            };
            let with_index = index_col.is_some() && k == 0;
            let f: udf::RowFn = Arc::new(move |a: &[Value]| {
                let v = a.first().cloned().unwrap_or(Value::Null);
                let mut items: Vec<Json> = match v {
                    Value::Dyn(Json::Array(items)) => items,
                    Value::Dyn(Json::Object(m)) if bag_as_array => m
                        .into_iter()
                        .map(|(k, v)| Json::Array(vec![Json::String(k), v]))
                        .collect(),
                    Value::Dyn(Json::Object(m)) => m
                        .into_iter()
                        .map(|(k, v)| {
                            let mut o = serde_json::Map::new();
                            o.insert(k, v);
                            Json::Object(o)
                        })
                        .collect(),
                    Value::Null | Value::Dyn(Json::Null) => vec![],
                    other => vec![other.to_json()],
                };
                if let Some(l) = limit {
                    items.truncate(l);
                }
                let items = if with_index {
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| Json::Array(vec![Json::from(i as i64), v]))
                        .collect()
                } else {
                    items
                };
                Value::Dyn(Json::Array(items))
            });
            let list = udf::call(
                "mv_items",
                DataType::List(Arc::new(Field::new("item", DataType::LargeUtf8, true))),
                f,
                vec![x],
                false,
            );
            let lname = format!("__mv{k}");
            list_cols.push(Column::new_unqualified(&lname));
            exprs.push(list.alias(&lname));
            targets.push((name, to));
        }
        let mut base: Vec<DfExpr> = have.iter().map(|n| col(n)).collect();
        base.extend(exprs);
        let p = self.builder(LogicalPlanBuilder::from(plan).project(base))?;
        let opts = UnnestOptions {
            preserve_nulls: false,
            recursions: vec![],
        };
        let p =
            self.builder(LogicalPlanBuilder::from(p).unnest_columns_with_options(list_cols, opts))?;
        // put the expanded values where the source columns were
        let mut out: Vec<DfExpr> = Vec::new();
        let conv = |k: usize, to: Option<KType>, idx: bool| -> DfExpr {
            let src = col(&format!("__mv{k}"));
            let t = to.unwrap_or(KType::Dynamic);
            let f: udf::RowFn = Arc::new(move |a: &[Value]| {
                let v = a.first().cloned().unwrap_or(Value::Null);
                let v = if idx {
                    match v {
                        Value::Dyn(Json::Array(mut p)) if p.len() == 2 => Value::Dyn(p.remove(1)),
                        v => v,
                    }
                } else {
                    v
                };
                v.convert(t)
            });
            udf::call("mv_value", t.arrow(), f, vec![src], false)
        };
        let mut placed = vec![false; targets.len()];
        for n in &have {
            if let Some(k) = targets.iter().position(|(t, _)| t == n) {
                out.push(conv(k, targets[k].1, index_col.is_some() && k == 0).alias(n));
                placed[k] = true;
            } else {
                out.push(col(n));
            }
        }
        for (k, (n, to)) in targets.iter().enumerate() {
            if !placed[k] {
                out.push(conv(k, *to, index_col.is_some() && k == 0).alias(n));
            }
        }
        if let Some(ix) = &index_col {
            let f: udf::RowFn = Arc::new(|a: &[Value]| match a.first() {
                Some(Value::Dyn(Json::Array(p))) if p.len() == 2 => {
                    Value::Long(p[0].as_i64().unwrap_or(0))
                }
                _ => Value::Null,
            });
            out.push(
                udf::call("mv_index", DataType::Int64, f, vec![col("__mv0")], false).alias(ix),
            );
        }
        self.builder(LogicalPlanBuilder::from(p).project(out))
    }

    // ---------------------------------------------------------------- parse

    fn parse_op(
        &mut self,
        plan: LogicalPlan,
        where_: bool,
        options: &[ast::NamedValue],
        expr: &ast::Expr,
        pattern: &[ast::ParsePart],
        span: Span,
    ) -> Res<LogicalPlan> {
        let kind = option_word(options, "kind").unwrap_or_else(|| "simple".into());
        let flags = option_word(options, "flags").unwrap_or_default();
        let regex_mode = kind == "regex";
        let relaxed = kind == "relaxed";
        let mut re = String::new();
        if regex_mode {
            if flags.contains('i') {
                re.push_str("(?i)");
            }
            if flags.contains('s') {
                re.push_str("(?s)");
            }
            if flags.contains('m') {
                re.push_str("(?m)");
            }
            // U swaps greediness: string columns become lazy, `*` greedy
            if flags.contains('U') {
                re.push_str("(?U)");
            }
        } else {
            re.push_str("(?s)^");
        }
        let mut cols: Vec<(String, KType)> = Vec::new();
        for (i, p) in pattern.iter().enumerate() {
            let last = i + 1 == pattern.len();
            match p {
                ast::ParsePart::Wildcard => re.push_str(if last { ".*" } else { ".*?" }),
                ast::ParsePart::Text(t) => {
                    if regex_mode {
                        re.push_str(t)
                    } else {
                        re.push_str(&regex::escape(t))
                    }
                }
                ast::ParsePart::Column { name, ty } => {
                    let t = match ty {
                        Some(t) => KType::from_name(&t.name)
                            .ok_or_else(|| err(t.span, format!("unknown type `{}`", t.name)))?,
                        None => KType::String,
                    };
                    let g = match t {
                        KType::Long | KType::Int => r"(-?\d+)",
                        KType::Real => r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)",
                        _ if last => "(.*)",
                        // regex mode: other columns are greedy unless flags has U (the
                        // parse page's regex-mode examples)
                        _ if regex_mode => "(.*)",
                        _ => "(.*?)",
                    };
                    // relaxed: a typed column that does not match its type is null, the
                    // rest of the pattern still matches
                    let optional = relaxed && matches!(t, KType::Long | KType::Int | KType::Real);
                    re.push_str(&format!(
                        "(?P<kqlcol{}>{}){}",
                        cols.len(),
                        &g[1..g.len() - 1],
                        if optional { "?" } else { "" }
                    ));
                    cols.push((name.name.clone(), t));
                }
            }
        }
        if !regex_mode
            && matches!(
                pattern.last(),
                Some(ast::ParsePart::Column { .. }) | Some(ast::ParsePart::Wildcard)
            )
        {
            re.push('$');
        }
        let compiled =
            regex::Regex::new(&re).map_err(|e| err(span, format!("bad parse pattern: {e}")))?;
        let x = self.scalar(expr, plan.schema())?;
        let ncols = cols.len();
        let col_types: Vec<KType> = cols.iter().map(|(_, t)| *t).collect();
        let f: udf::RowFn = Arc::new(move |a: &[Value]| {
            let s = a.first().map(|v| v.to_kstring()).unwrap_or_default();
            match compiled.captures(&s) {
                Some(c) => {
                    let caps: Vec<Json> = (0..ncols)
                        .map(|i| {
                            c.name(&format!("kqlcol{i}"))
                                .map_or(Json::Null, |m| Json::String(m.as_str().to_string()))
                        })
                        .collect();
                    // parse-where drops rows whose typed columns do not convert
                    let bad = where_
                        && caps.iter().zip(&col_types).any(|(j, t)| {
                            *t != KType::String
                                && Value::Dyn(j.clone()).undyn().convert(*t).is_null()
                        });
                    if bad {
                        Value::Null
                    } else {
                        Value::Dyn(Json::Array(caps))
                    }
                }
                None => Value::Null,
            }
        });
        let caps = udf::call("parse_captures", DataType::LargeUtf8, f, vec![x], false);
        let have = names(&plan);
        let mut base: Vec<DfExpr> = have.iter().map(|n| col(n)).collect();
        base.push(caps.alias("__parse"));
        let mut p = self.builder(LogicalPlanBuilder::from(plan).project(base))?;
        if where_ {
            p = self.builder(LogicalPlanBuilder::from(p).filter(col("__parse").is_not_null()))?;
        }
        let mut out: Vec<DfExpr> = Vec::new();
        let item = |i: usize, t: KType| -> DfExpr {
            let f: udf::RowFn = Arc::new(move |a: &[Value]| match a.first() {
                Some(Value::Dyn(Json::Array(items))) => match items.get(i) {
                    Some(Json::String(s)) => Value::Str(s.clone()).convert(t),
                    _ => Value::Null.convert(t),
                },
                _ => Value::Null.convert(t),
            });
            udf::call(
                &format!("parse_item{i}"),
                t.arrow(),
                f,
                vec![col("__parse")],
                false,
            )
        };
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

    // ---------------------------------------------------------------- user functions

    fn call_user(
        &mut self,
        f: &Rc<ast::Function>,
        args: &[ast::Arg],
        piped: Option<LogicalPlan>,
        schema: &DFSchema,
        span: Span,
    ) -> Res<UserResult> {
        let mut frame = HashMap::new();
        let mut args_iter = args.iter().filter(|a| a.name.is_none());
        let mut piped = piped;
        for p in &f.params {
            let tabular = matches!(p.ty, ast::ParamType::Tabular { .. });
            if tabular {
                if let Some(pl) = piped.take() {
                    frame.insert(p.name.name.clone(), Binding::Tabular(pl));
                    continue;
                }
            }
            let a = args
                .iter()
                .find(|a| a.name.as_ref().is_some_and(|n| n.name == p.name.name))
                .or_else(|| args_iter.next());
            let b = match (a, &p.default) {
                (Some(a), _) => {
                    if tabular {
                        Binding::Tabular(self.tabular(&a.value)?)
                    } else {
                        let x = self.scalar(&a.value, schema)?;
                        let x = match &p.ty {
                            ast::ParamType::Scalar(t) => match KType::from_name(&t.name) {
                                Some(kt)
                                    if self.ktype(&x, schema)? != kt && kt != KType::Dynamic =>
                                {
                                    convert_expr(x, kt)
                                }
                                _ => x,
                            },
                            _ => x,
                        };
                        Binding::Scalar(x)
                    }
                }
                (None, Some(d)) => Binding::Scalar(self.scalar(d, schema)?),
                (None, None) => {
                    return Err(err(span, format!("missing argument `{}`", p.name.name)))
                }
            };
            frame.insert(p.name.name.clone(), b);
        }
        self.scopes.push(frame);
        self.depth += 1;
        let r = (|| {
            if self.depth > 64 {
                return Err(err(span, "function calls nest too deeply"));
            }
            for st in &f.body.lets {
                if let ast::StatementKind::Let { name, value } = &st.kind {
                    self.let_stmt(name, value)?;
                }
            }
            if self.is_tabular(&f.body.result) {
                Ok(UserResult::Tabular(self.tabular(&f.body.result)?))
            } else {
                Ok(UserResult::Scalar(self.scalar(&f.body.result, schema)?))
            }
        })();
        self.depth -= 1;
        self.scopes.pop();
        r
    }

    // ---------------------------------------------------------------- scalars

    pub fn ktype(&self, x: &DfExpr, schema: &DFSchema) -> Res<KType> {
        x.get_type(schema)
            .map(|t| KType::of_arrow(&t))
            .map_err(|e| self.df(e))
    }

    fn as_bool(&self, x: DfExpr, schema: &DFSchema) -> Res<DfExpr> {
        let t = x.get_type(schema).map_err(|e| self.df(e))?;
        Ok(if t == DataType::Boolean {
            x
        } else {
            convert_expr(x, KType::Bool)
        })
    }

    pub fn scalar(&mut self, e: &ast::Expr, schema: &DFSchema) -> Res<DfExpr> {
        self.depth += 1;
        if self.depth > 300 {
            self.depth -= 1;
            return Err(err(e.span, "expression nests too deeply"));
        }
        let r = self.scalar_inner(e, schema);
        self.depth -= 1;
        r
    }

    fn scalar_inner(&mut self, e: &ast::Expr, schema: &DFSchema) -> Res<DfExpr> {
        match &e.kind {
            ExprKind::Literal(l) => literal(l).map_err(|m| err(e.span, m)),
            ExprKind::Dynamic(d) => Ok(lit_v(KType::Dynamic, Value::Dyn(dyn_json(d)))),
            ExprKind::Paren(x) => self.scalar(x, schema),
            ExprKind::Ident(i) => {
                if schema.has_column_with_unqualified_name(&i.name) {
                    return Ok(col(&i.name));
                }
                match self.lookup(&i.name).cloned() {
                    Some(Binding::Scalar(x)) => Ok(x),
                    Some(Binding::Function(f)) if f.params.is_empty() => {
                        match self.call_user(&f, &[], None, schema, i.span)? {
                            UserResult::Scalar(x) => Ok(x),
                            UserResult::Tabular(_) => Err(err(
                                i.span,
                                format!("`{}` is tabular; use toscalar()", i.name),
                            )),
                        }
                    }
                    Some(Binding::Tabular(_)) => Err(err(
                        i.span,
                        format!("`{}` is a table, not a scalar", i.name),
                    )),
                    _ => {
                        if matches!(i.name.as_str(), "true" | "false") {
                            return Ok(lit(i.name == "true"));
                        }
                        let mut cands: Vec<&str> =
                            schema.fields().iter().map(|f| f.name().as_str()).collect();
                        for s in &self.scopes {
                            for (k, b) in s {
                                if matches!(b, Binding::Scalar(_)) {
                                    cands.push(k);
                                }
                            }
                        }
                        let near = nearest(&i.name, cands.iter().copied());
                        Err(err(
                            i.span,
                            format!(
                                "unknown column or variable `{}`{}",
                                i.name,
                                hint(&i.name, near)
                            ),
                        ))
                    }
                }
            }
            ExprKind::Unary { op, operand } => {
                let x = self.scalar(operand, schema)?;
                match op {
                    ast::UnaryOp::Plus => Ok(x),
                    ast::UnaryOp::Neg => {
                        if let DfExpr::Literal(sv) = &x {
                            if let Ok(n) = sv.arithmetic_negate() {
                                return Ok(DfExpr::Literal(n));
                            }
                        }
                        let t = self.ktype(&x, schema)?;
                        if t.is_numeric() {
                            Ok(DfExpr::Negative(Box::new(x)))
                        } else {
                            Ok(funcs::arith(
                                BinaryOp::Sub,
                                lit_v(t, Value::Long(0)),
                                t,
                                x,
                                t,
                            ))
                        }
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.scalar(lhs, schema)?;
                let r = self.scalar(rhs, schema)?;
                let lt = self.ktype(&l, schema)?;
                let rt = self.ktype(&r, schema)?;
                funcs::binary(*op, l, lt, r, rt).map_err(|m| err(e.span, m))
            }
            ExprKind::Between {
                negated,
                lhs,
                low,
                high,
            } => {
                let x = self.scalar(lhs, schema)?;
                let lo = self.scalar(low, schema)?;
                let hi = self.scalar(high, schema)?;
                let (xt, lot, hit) = (
                    self.ktype(&x, schema)?,
                    self.ktype(&lo, schema)?,
                    self.ktype(&hi, schema)?,
                );
                let hi = if xt == KType::DateTime && hit == KType::TimeSpan {
                    funcs::arith(BinaryOp::Add, lo.clone(), lot, hi, hit)
                } else {
                    hi
                };
                let hit = if xt == KType::DateTime {
                    KType::DateTime
                } else {
                    hit
                };
                let ge = funcs::binary(BinaryOp::Ge, x.clone(), xt, lo, lot)
                    .map_err(|m| err(e.span, m))?;
                let le = funcs::binary(BinaryOp::Le, x, xt, hi, hit).map_err(|m| err(e.span, m))?;
                let b = ge.and(le);
                Ok(if *negated { b.not() } else { b })
            }
            ExprKind::InList { op, lhs, items } => {
                let x = self.scalar(lhs, schema)?;
                let xt = self.ktype(&x, schema)?;
                let mut vals: Vec<DfExpr> = Vec::new();
                for it in items {
                    if self.is_tabular(it) {
                        let plan = self.tabular(it)?;
                        let t = self.execute(plan)?;
                        let ty = t.columns.first().map(|c| c.1).unwrap_or(KType::String);
                        for r in &t.rows {
                            if let Some(v) = r.first() {
                                let v = crate::input_value(ty, v);
                                vals.push(lit_v(ty, v));
                            }
                        }
                        continue;
                    }
                    let v = self.scalar(it, schema)?;
                    let v = self.fold_if_const(v)?;
                    match &v {
                        DfExpr::Literal(ScalarValue::LargeUtf8(Some(s))) => {
                            match serde_json::from_str::<Json>(s) {
                                Ok(Json::Array(a)) => {
                                    for j in a {
                                        let v = Value::Dyn(j).undyn();
                                        vals.push(lit_v(value::type_of(&v), v));
                                    }
                                }
                                Ok(j) => {
                                    let v = Value::Dyn(j).undyn();
                                    vals.push(lit_v(value::type_of(&v), v));
                                }
                                Err(_) => vals.push(v.clone()),
                            }
                        }
                        _ => vals.push(v),
                    }
                }
                funcs::in_list(*op, x, xt, vals).map_err(|m| err(e.span, m))
            }
            ExprKind::Call { callee, args } => self.call(callee, args, schema, e.span),
            ExprKind::Member { target, name } => {
                let x = self.scalar(target, schema)?;
                Ok(funcs::member(x, Value::Str(name.name.clone())))
            }
            ExprKind::Index { target, index } => {
                let x = self.scalar(target, schema)?;
                let i = self.scalar(index, schema)?;
                Ok(funcs::index(x, i))
            }
            ExprKind::Pipe { .. } | ExprKind::Source(_) => Err(err(
                e.span,
                "a tabular expression is not allowed here; use toscalar()",
            )),
            ExprKind::Star => Err(err(e.span, "`*` is not allowed here")),
            ExprKind::Pattern(p) => Err(err(e.span, format!("unknown column `{p}`"))),
        }
    }

    fn fold_if_const(&self, x: DfExpr) -> Res<DfExpr> {
        let mut has_col = false;
        let _ = x.apply(|n| {
            if matches!(n, DfExpr::Column(_)) {
                has_col = true;
            }
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        });
        if has_col {
            Ok(x)
        } else {
            self.fold(x)
        }
    }

    fn call(
        &mut self,
        callee: &ast::Expr,
        args: &[ast::Arg],
        schema: &DFSchema,
        span: Span,
    ) -> Res<DfExpr> {
        let name = match &callee.kind {
            ExprKind::Ident(i) => i.name.clone(),
            _ => return Err(err(callee.span, "expected a function name")),
        };
        // user functions shadow built-ins
        if let Some(Binding::Function(f)) = self.lookup(&name).cloned() {
            return match self.call_user(&f, args, None, schema, span)? {
                UserResult::Scalar(x) => Ok(x),
                UserResult::Tabular(_) => Err(err(
                    span,
                    format!("`{name}` returns a table; use toscalar()"),
                )),
            };
        }
        match name.as_str() {
            "toscalar" => {
                let Some(a) = args.first() else {
                    return Err(err(span, "toscalar() needs an argument"));
                };
                if !self.is_tabular(&a.value) {
                    return self.scalar(&a.value, schema);
                }
                let plan = self.tabular(&a.value)?;
                let t = self.execute(plan)?;
                let ty = t.columns.first().map(|c| c.1).unwrap_or(KType::Dynamic);
                let v = t
                    .rows
                    .first()
                    .and_then(|r| r.first())
                    .map(|j| crate::input_value(ty, j))
                    .unwrap_or(Value::Null);
                return Ok(lit_v(ty, v));
            }
            "now" => {
                let base = lit_v(KType::DateTime, Value::DateTime(self.now_ns));
                return match args.first() {
                    Some(a) => {
                        let off = self.scalar(&a.value, schema)?;
                        let ot = self.ktype(&off, schema)?;
                        Ok(funcs::arith(BinaryOp::Add, base, KType::DateTime, off, ot))
                    }
                    None => Ok(base),
                };
            }
            "ago" => {
                let base = lit_v(KType::DateTime, Value::DateTime(self.now_ns));
                let Some(a) = args.first() else {
                    return Err(err(span, "ago() needs a timespan"));
                };
                let off = self.scalar(&a.value, schema)?;
                let ot = self.ktype(&off, schema)?;
                return Ok(funcs::arith(BinaryOp::Sub, base, KType::DateTime, off, ot));
            }
            "not" => {
                let Some(a) = args.first() else {
                    return Err(err(span, "not() needs an argument"));
                };
                let x = self.scalar(&a.value, schema)?;
                let x = self.as_bool(x, schema)?;
                return Ok(x.not());
            }
            "column_ifexists" => {
                if let (Some(a), Some(d)) = (args.first(), args.get(1)) {
                    if let ExprKind::Literal(Literal::String { value, .. }) = &a.value.kind {
                        if schema.has_column_with_unqualified_name(value) {
                            return Ok(col(value));
                        }
                    }
                    return self.scalar(&d.value, schema);
                }
                return Err(err(
                    span,
                    "column_ifexists() needs a column name and a default",
                ));
            }
            "pack_all" => {
                let mut xs = Vec::new();
                for f in schema.fields() {
                    xs.push(lit(f.name().clone()));
                    xs.push(col(f.name()));
                }
                let ts: Vec<KType> = xs
                    .iter()
                    .map(|x| self.ktype(x, schema))
                    .collect::<Res<_>>()?;
                return funcs::scalar("bag_pack", xs, &ts, self.now_ns).map_err(|m| err(span, m));
            }
            _ => {}
        }
        if funcs::is_aggregate(&name) {
            return Err(err(
                callee.span,
                format!("aggregation `{name}()` is only allowed in summarize"),
            ));
        }
        let mut xs = Vec::new();
        let mut ts = Vec::new();
        for a in args {
            let x = self.scalar(&a.value, schema)?;
            ts.push(self.ktype(&x, schema)?);
            xs.push(x);
        }
        match funcs::scalar(&name, xs, &ts, self.now_ns) {
            Ok(x) => Ok(x),
            Err(m) if m == funcs::UNKNOWN => {
                let mut cands: Vec<&str> = funcs::names().to_vec();
                for s in &self.scopes {
                    for (k, b) in s {
                        if matches!(b, Binding::Function(_)) {
                            cands.push(k);
                        }
                    }
                }
                let near = nearest(&name, cands.iter().copied());
                Err(err(
                    callee.span,
                    format!("unknown function `{name}`{}", hint(&name, near)),
                ))
            }
            Err(m) => Err(err(span, m)),
        }
    }
}

enum UserResult {
    Tabular(LogicalPlan),
    Scalar(DfExpr),
}

enum PostCol {
    Expr(ast::Expr),
    Item(String, usize, KType),
}

/// The `search` predicate as an ordinary expression over `columns` (see `Planner::search`).
fn search_predicate(e: &ast::Expr, columns: &[(String, KType)], cs: bool) -> Res<ast::Expr> {
    let span = e.span;
    let node = |kind| ast::Expr { kind, span };
    Ok(match &e.kind {
        ExprKind::Binary {
            op: op @ (BinaryOp::And | BinaryOp::Or),
            lhs,
            rhs,
        } => node(ExprKind::Binary {
            op: *op,
            lhs: Box::new(search_predicate(lhs, columns, cs)?),
            rhs: Box::new(search_predicate(rhs, columns, cs)?),
        }),
        ExprKind::Paren(inner) => node(ExprKind::Paren(Box::new(search_predicate(
            inner, columns, cs,
        )?))),
        ExprKind::Call { callee, args }
            if matches!(&callee.kind, ExprKind::Ident(i) if i.name == "not") && args.len() == 1 =>
        {
            let mut args = args.clone();
            args[0].value = search_predicate(&args[0].value, columns, cs)?;
            node(ExprKind::Call {
                callee: callee.clone(),
                args,
            })
        }
        ExprKind::Literal(Literal::String { value, .. }) => {
            let lead = value.starts_with('*');
            let trail = value.len() > 1 && value.ends_with('*');
            let term = value.trim_matches('*');
            if term.contains('*') {
                return Err(err(
                    span,
                    "search: a `*` inside a term is not supported (only at its start or end)",
                ));
            }
            let op = match (lead, trail, cs) {
                (false, false, false) => BinaryOp::Has,
                (false, false, true) => BinaryOp::HasCs,
                (true, false, false) => BinaryOp::HasSuffix,
                (true, false, true) => BinaryOp::HasSuffixCs,
                (false, true, false) => BinaryOp::HasPrefix,
                (false, true, true) => BinaryOp::HasPrefixCs,
                (true, true, false) => BinaryOp::Contains,
                (true, true, true) => BinaryOp::ContainsCs,
            };
            let lit_term = node(ExprKind::Literal(Literal::String {
                value: term.to_string(),
                obfuscated: false,
            }));
            let tests: Vec<ast::Expr> = columns
                .iter()
                .map(|(c, t)| {
                    let ident = node(ExprKind::Ident(ast::Ident {
                        name: c.clone(),
                        span,
                    }));
                    let lhs = if *t == KType::String {
                        ident
                    } else {
                        node(ExprKind::Call {
                            callee: Box::new(node(ExprKind::Ident(ast::Ident {
                                name: "tostring".into(),
                                span,
                            }))),
                            args: vec![ast::Arg {
                                name: None,
                                value: ident,
                                span,
                            }],
                        })
                    };
                    node(ExprKind::Binary {
                        op,
                        lhs: Box::new(lhs),
                        rhs: Box::new(lit_term.clone()),
                    })
                })
                .collect();
            // a balanced `or` tree: tables have dozens of columns, and a chain that deep
            // would recurse deeply in planning
            fn any_of(mut xs: Vec<ast::Expr>, span: Span) -> ast::Expr {
                if xs.len() <= 1 {
                    return xs.pop().unwrap_or(ast::Expr {
                        kind: ExprKind::Literal(Literal::Bool(false)),
                        span,
                    });
                }
                let rest = xs.split_off(xs.len() / 2);
                ast::Expr {
                    kind: ExprKind::Binary {
                        op: BinaryOp::Or,
                        lhs: Box::new(any_of(xs, span)),
                        rhs: Box::new(any_of(rest, span)),
                    },
                    span,
                }
            }
            any_of(tests, span)
        }
        ExprKind::Binary {
            op: BinaryOp::SearchHas,
            lhs,
            rhs,
        } if cs => node(ExprKind::Binary {
            op: BinaryOp::HasCs,
            lhs: lhs.clone(),
            rhs: rhs.clone(),
        }),
        _ => e.clone(),
    })
}

fn op_name(k: &OpKind) -> &'static str {
    match k {
        OpKind::TopNested(_) => "top-nested",
        OpKind::TopHitters { .. } => "top-hitters",
        OpKind::MvApply { .. } => "mv-apply",
        OpKind::ParseKv { .. } => "parse-kv",
        OpKind::Search(_) => "search",
        OpKind::Evaluate(_) => "evaluate",
        OpKind::MakeSeries { .. } => "make-series",
        OpKind::SampleDistinct { .. } => "sample-distinct",
        OpKind::Facet { .. } => "facet",
        OpKind::Fork(_) => "fork",
        OpKind::Partition { .. } => "partition",
        OpKind::Reduce { .. } => "reduce",
        OpKind::Consume { .. } => "consume",
        OpKind::Scan { .. } => "scan",
        OpKind::Summarize { .. } => "summarize",
        OpKind::Count => "count",
        OpKind::Take { .. } => "take",
        OpKind::Top { .. } => "top",
        OpKind::Sort { .. } => "sort",
        OpKind::Distinct { .. } => "distinct",
        OpKind::Join { .. } => "join",
        OpKind::Lookup { .. } => "lookup",
        OpKind::Union(_) => "union",
        OpKind::Serialize(_) => "serialize",
        OpKind::Sample { .. } => "sample",
        _ => "this",
    }
}

/// Natural ("granny") order: digit runs compare numerically.
fn granny_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn key(s: &str) -> Vec<(String, u128)> {
        let mut out = Vec::new();
        let mut text = String::new();
        let mut num = String::new();
        for c in s.chars() {
            if c.is_ascii_digit() {
                num.push(c);
            } else {
                if !num.is_empty() {
                    out.push((std::mem::take(&mut text), num.parse().unwrap_or(0)));
                    num.clear();
                }
                text.push(c);
            }
        }
        out.push((text, num.parse().unwrap_or(0)));
        out
    }
    key(a).cmp(&key(b))
}

pub fn convert_expr(x: DfExpr, t: KType) -> DfExpr {
    let f: udf::RowFn =
        Arc::new(move |a: &[Value]| a.first().cloned().unwrap_or(Value::Null).convert(t));
    udf::call(&format!("to_{}", t.name()), t.arrow(), f, vec![x], false)
}

fn dyn_json(d: &ast::DynValue) -> Json {
    match d {
        ast::DynValue::Null => Json::Null,
        ast::DynValue::Scalar(l) => lit_value(l).to_json(),
        ast::DynValue::Negative(l) => match lit_value(l) {
            Value::Long(i) => Json::from(-i),
            Value::Real(f) => Value::Real(-f).to_json(),
            v => v.to_json(),
        },
        ast::DynValue::Array(a) => Json::Array(a.iter().map(dyn_json).collect()),
        ast::DynValue::Object(o) => {
            Json::Object(o.iter().map(|(k, v)| (k.clone(), dyn_json(v))).collect())
        }
    }
}

fn lit_value(l: &Literal) -> Value {
    match l {
        Literal::String { value, .. } => Value::Str(value.clone()),
        Literal::Long(i) => Value::Long(*i),
        Literal::Real(f) => Value::Real(*f),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Timespan { raw, ticks } => match ticks {
            Some(t) => Value::TimeSpan(t.saturating_mul(100)),
            None => value::parse_timespan(raw).map_or(Value::Null, Value::TimeSpan),
        },
        Literal::Typed { ty, raw } => typed_value(ty, raw).map(|(_, v)| v).unwrap_or(Value::Null),
    }
}

fn typed_value(ty: &str, raw: &str) -> Result<(KType, Value), String> {
    let raw = raw.trim();
    let raw_unq = raw.trim_matches(|c| c == '"' || c == '\'');
    let t = KType::from_name(ty).ok_or_else(|| format!("unknown literal type `{ty}`"))?;
    if raw == "null" {
        return Ok((t, Value::Null));
    }
    let v = match t {
        KType::DateTime => Value::DateTime(
            value::parse_datetime(raw_unq)
                .ok_or_else(|| format!("bad datetime literal `{raw}`"))?,
        ),
        KType::TimeSpan => Value::TimeSpan(
            value::parse_timespan(raw_unq)
                .ok_or_else(|| format!("bad timespan literal `{raw}`"))?,
        ),
        KType::Long | KType::Int => Value::Long(
            raw.parse::<i64>()
                .or_else(|_| raw.parse::<f64>().map(|f| f as i64))
                .map_err(|_| format!("bad {ty} literal `{raw}`"))?,
        ),
        KType::Real => Value::Real(match raw.to_ascii_lowercase().as_str() {
            "nan" => f64::NAN,
            "+inf" | "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            r => r.parse().map_err(|_| format!("bad real literal `{raw}`"))?,
        }),
        KType::Bool => Value::Bool(matches!(raw.to_ascii_lowercase().as_str(), "true" | "1")),
        KType::Guid | KType::String => Value::Str(raw_unq.to_string()),
        KType::Dynamic => Value::Dyn(serde_json::from_str(raw).unwrap_or(Json::Null)),
    };
    Ok((t, v))
}

fn literal(l: &Literal) -> Result<DfExpr, String> {
    Ok(match l {
        Literal::String { value, .. } => lit(value.clone()),
        Literal::Long(i) => lit(*i),
        Literal::Real(f) => lit(*f),
        Literal::Bool(b) => lit(*b),
        Literal::Timespan { .. } => lit_v(KType::TimeSpan, lit_value(l)),
        Literal::Typed { ty, raw } => {
            if ty == "typeof" {
                return Ok(lit(raw.clone()));
            }
            let (t, v) = typed_value(ty, raw)?;
            lit_v(t, v)
        }
    })
}
