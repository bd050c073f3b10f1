//! Analysis: resolves fields against the schema, checks types and function
//! arity, folds constants, and compiles the AST into [`CExpr`] trees and a
//! query [`Plan`].
//!
//! Rewrites that Elasticsearch's optimizer performs and that change results
//! are applied here too: `x == null` becomes `IsNull(x)` (and `!=` becomes
//! `IsNotNull`), literals move to the right of comparisons, and a `?field`
//! that the mapping does not know is the constant `null`.

use crate::eval;
use crate::expr::{CExpr, FieldAccess, Func};
use crate::pattern::{lucene_regex, Matcher};
use crate::plan::{KeyExpr, Plan, PlanKind, Stage};
use crate::schema::{DataType, Schema};
use crate::syntax::ast::{self, Body, Category, CmpOp, ExprKind, Literal, MatchOp};
use crate::syntax::{Error, Span};
use crate::value::{parse_date, DateRes, Val};
use harrier_event::FieldPath;
use std::borrow::Cow;

/// Settings that shape how a query reads events.
#[derive(Clone, Debug)]
pub struct Settings {
    pub event_category_field: String,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            event_category_field: "event.category".into(),
        }
    }
}

pub struct Analyzer<'s> {
    schema: &'s Schema,
    settings: Settings,
}

type R<X> = Result<X, Error>;

impl<'s> Analyzer<'s> {
    pub fn new(schema: &'s Schema, settings: Settings) -> Analyzer<'s> {
        Analyzer { schema, settings }
    }

    pub fn plan(&self, q: &ast::Query) -> R<Plan> {
        let kind = match &q.body {
            Body::Event(e) => PlanKind::Event(self.event_query(e)?),
            Body::Sequence(s) => {
                let mut stages = Vec::new();
                let shared = self.keys(&s.by)?;
                for step in &s.steps {
                    let st = self.stage(step, &shared)?;
                    for _ in 0..step.runs.unwrap_or(1) {
                        stages.push(st.clone());
                    }
                }
                if stages.iter().all(|s| s.missing) {
                    return Err(Error::new(
                        "A sequence needs at least one step that is not a missing event",
                        s.span,
                    ));
                }
                check_key_counts(&stages, s.steps.iter().map(|st| st.span))?;
                let until = match &s.until {
                    Some(u) => {
                        let st = self.stage(u, &shared)?;
                        if st.keys.len() != stages[0].keys.len() {
                            return Err(Error::new(
                                format!(
                                    "Inconsistent number of join keys specified; expected [{}] but found [{}]",
                                    stages[0].keys.len(),
                                    st.keys.len()
                                ),
                                u.span,
                            ));
                        }
                        Some(st)
                    }
                    None => None,
                };
                PlanKind::Sequence {
                    stages,
                    until,
                    maxspan: s.maxspan.as_ref().map(|m| m.nanos()),
                }
            }
            Body::Sample(s) => {
                let shared = self.keys(&s.by)?;
                let mut stages = Vec::new();
                for step in &s.steps {
                    stages.push(self.stage(step, &shared)?);
                }
                check_key_counts(&stages, s.steps.iter().map(|st| st.span))?;
                PlanKind::Sample { stages }
            }
        };
        let pipes = q.pipes.iter().map(|p| match p {
            ast::Pipe::Head { count, .. } => crate::plan::Pipe::Head(*count as usize),
            ast::Pipe::Tail { count, .. } => crate::plan::Pipe::Tail(*count as usize),
        });
        if matches!(kind, PlanKind::Sample { .. }) {
            if let Some(p) = q.pipes.iter().find(|p| matches!(p, ast::Pipe::Tail { .. })) {
                let span = match p {
                    ast::Pipe::Head { span, .. } | ast::Pipe::Tail { span, .. } => *span,
                };
                return Err(Error::new("[tail] is not supported with [sample]", span));
            }
        }
        Ok(Plan {
            kind,
            pipes: pipes.collect(),
        })
    }

    fn stage(&self, step: &ast::Step, shared: &[KeyExpr]) -> R<Stage> {
        let mut keys = shared.to_vec();
        keys.extend(self.keys(&step.by)?);
        Ok(Stage {
            filter: self.event_query(&step.query)?,
            keys,
            missing: step.missing,
        })
    }

    fn keys(&self, by: &[ast::Expr]) -> R<Vec<KeyExpr>> {
        by.iter()
            .map(|e| {
                let optional = matches!(&e.unparen().kind, ExprKind::Field(f) if f.optional);
                Ok(KeyExpr {
                    expr: self.expr(e)?,
                    optional,
                })
            })
            .collect()
    }

    /// `category where condition` as one predicate.
    pub fn event_query(&self, q: &ast::EventQuery) -> R<CExpr> {
        let cond = self.expr(&q.condition)?;
        self.expect_boolean(&cond, q.condition.span)?;
        let cat = match &q.category {
            Category::Any(_) => return Ok(cond),
            Category::Named { name, span, .. } => {
                let field = self.field_named(&self.settings.event_category_field, false, *span)?;
                CExpr::Cmp(
                    CmpOp::Eq,
                    Box::new(field),
                    Box::new(CExpr::Lit(Val::Str(Cow::Owned(name.clone())))),
                )
            }
        };
        Ok(match cond {
            CExpr::Lit(Val::Bool(true)) => cat,
            CExpr::And(mut v) => {
                v.insert(0, cat);
                CExpr::And(v)
            }
            other => CExpr::And(vec![cat, other]),
        })
    }

    fn expect_boolean(&self, e: &CExpr, span: Span) -> R<()> {
        match type_of(e) {
            DataType::Boolean | DataType::Unknown => Ok(()),
            _ if matches!(e, CExpr::Lit(Val::Null)) => Ok(()),
            t => Err(Error::new(
                format!(
                    "Condition expression needs to be boolean, found [{}]",
                    t.name()
                ),
                span,
            )),
        }
    }

    fn field_named(&self, name: &str, optional: bool, span: Span) -> R<CExpr> {
        match self.schema.get(name) {
            Some(info) => {
                if info.ty == DataType::Object {
                    return Err(Error::new(
                        format!("Cannot use field [{name}] of type [object]; name one of its sub-fields"),
                        span,
                    ));
                }
                Ok(CExpr::Field(FieldAccess {
                    name: name.to_string(),
                    path: FieldPath::new(&info.source_path),
                    ty: info.ty,
                    null_value: info.null_value.clone(),
                    format: info.format.clone(),
                }))
            }
            None if self.schema.is_strict() => {
                if optional {
                    Ok(CExpr::Lit(Val::Null))
                } else {
                    let hint = suggest(name, self.schema.names())
                        .map(|s| format!(", did you mean [{s}]?"))
                        .unwrap_or_default();
                    Err(Error::new(format!("Unknown field [{name}]{hint}"), span))
                }
            }
            None => Ok(CExpr::Field(FieldAccess {
                name: name.to_string(),
                path: FieldPath::new(name),
                ty: DataType::Unknown,
                null_value: None,
                format: None,
            })),
        }
    }

    pub fn expr(&self, e: &ast::Expr) -> R<CExpr> {
        let c = self.expr_inner(e)?;
        Ok(fold(c))
    }

    fn expr_inner(&self, e: &ast::Expr) -> R<CExpr> {
        Ok(match &e.kind {
            ExprKind::Paren(inner) => return self.expr(inner),
            ExprKind::Literal(l) => CExpr::Lit(match l {
                Literal::Null => Val::Null,
                Literal::Bool(b) => Val::Bool(*b),
                Literal::Int(v) => Val::Long(*v),
                Literal::Float(v) => Val::Double(*v),
                Literal::Str(s) => Val::Str(Cow::Owned(s.clone())),
            }),
            ExprKind::Field(f) => self.field_named(&f.dotted(), f.optional, e.span)?,
            ExprKind::Not(inner) => {
                let c = self.expr(inner)?;
                self.expect_boolean(&c, inner.span)?;
                CExpr::Not(Box::new(c))
            }
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let (ca, cb) = (self.expr(a)?, self.expr(b)?);
                self.expect_boolean(&ca, a.span)?;
                self.expect_boolean(&cb, b.span)?;
                let is_and = matches!(e.kind, ExprKind::And(..));
                let mut items = Vec::new();
                for c in [ca, cb] {
                    match c {
                        CExpr::And(v) if is_and => items.extend(v),
                        CExpr::Or(v) if !is_and => items.extend(v),
                        c => items.push(c),
                    }
                }
                if is_and {
                    CExpr::And(items)
                } else {
                    CExpr::Or(items)
                }
            }
            ExprKind::Compare(op, a, b) => self.compare(*op, a, b, e.span)?,
            ExprKind::Arith(op, a, b) => {
                let (ca, cb) = (self.expr(a)?, self.expr(b)?);
                self.expect_numeric(&ca, a.span, op.symbol())?;
                self.expect_numeric(&cb, b.span, op.symbol())?;
                CExpr::Arith(*op, Box::new(ca), Box::new(cb))
            }
            ExprKind::Neg(inner) => {
                let c = self.expr(inner)?;
                self.expect_numeric(&c, inner.span, "-")?;
                CExpr::Neg(Box::new(c))
            }
            ExprKind::In {
                expr,
                list,
                negated,
                insensitive,
            } => {
                let target = self.expr(expr)?;
                let tt = type_of(&target);
                let mut items = Vec::new();
                for item in list {
                    let c = self.expr(item)?;
                    if *insensitive {
                        self.expect_string(&c, item.span, "in~")?;
                    }
                    items.push(self.coerce_literal(c, tt, item.span, "in")?);
                }
                if *insensitive {
                    self.expect_string(&target, expr.span, "in~")?;
                }
                let c = CExpr::In {
                    expr: Box::new(target),
                    list: crate::expr::InList::new(items, *insensitive),
                    insensitive: *insensitive,
                };
                if *negated {
                    CExpr::Not(Box::new(c))
                } else {
                    c
                }
            }
            ExprKind::Match {
                op, expr, patterns, ..
            } => {
                let target = self.expr(expr)?;
                let tt = type_of(&target);
                let insensitive = matches!(
                    op,
                    MatchOp::Colon
                        | MatchOp::NotColon
                        | MatchOp::LikeInsensitive
                        | MatchOp::RegexInsensitive
                );
                if !matches!(tt, DataType::Keyword | DataType::Unknown) {
                    if matches!(op, MatchOp::Colon | MatchOp::NotColon) {
                        // `:` on a non-string field is an equality test
                        let mut items = Vec::new();
                        for p in patterns {
                            let c = self.expr(p)?;
                            items.push(self.coerce_literal(c, tt, p.span, ":")?);
                        }
                        let c = CExpr::In {
                            expr: Box::new(target),
                            list: crate::expr::InList::new(items, false),
                            insensitive: false,
                        };
                        return Ok(if *op == MatchOp::NotColon {
                            CExpr::Not(Box::new(c))
                        } else {
                            c
                        });
                    }
                    return Err(Error::new(
                        format!(
                            "first argument of [{}] must be [string], found value [{}] type [{}]",
                            op.symbol(),
                            ast_text(expr),
                            tt.name()
                        ),
                        expr.span,
                    ));
                }
                let mut matchers = Vec::new();
                for p in patterns {
                    let s = match &p.kind {
                        ExprKind::Literal(Literal::Str(s)) => s,
                        _ => {
                            return Err(Error::new(
                                format!(
                                    "second argument of [{}] must be a string literal",
                                    op.symbol()
                                ),
                                p.span,
                            ))
                        }
                    };
                    let m = match op {
                        MatchOp::Regex | MatchOp::RegexInsensitive => {
                            Matcher::Regex(lucene_regex(s, insensitive).map_err(|msg| {
                                Error::new(format!("invalid regular expression: {msg}"), p.span)
                            })?)
                        }
                        _ => Matcher::wildcard(s, insensitive),
                    };
                    matchers.push(m);
                }
                let c = CExpr::Match {
                    expr: Box::new(target),
                    matchers: crate::pattern::MatchList::new(matchers, insensitive),
                };
                if *op == MatchOp::NotColon {
                    CExpr::Not(Box::new(c))
                } else {
                    c
                }
            }
            ExprKind::Call {
                name,
                insensitive,
                args,
            } => self.call(name, *insensitive, args, e.span)?,
        })
    }

    fn compare(&self, op: CmpOp, a: &ast::Expr, b: &ast::Expr, span: Span) -> R<CExpr> {
        let (mut ca, mut cb) = (self.expr(a)?, self.expr(b)?);
        let (mut sa, mut sb) = (a.span, b.span);
        let mut op = op;
        // literals go to the right, as Elasticsearch's optimizer puts them
        if ca.is_lit() && !cb.is_lit() {
            std::mem::swap(&mut ca, &mut cb);
            std::mem::swap(&mut sa, &mut sb);
            op = match op {
                CmpOp::Lt => CmpOp::Gt,
                CmpOp::Le => CmpOp::Ge,
                CmpOp::Gt => CmpOp::Lt,
                CmpOp::Ge => CmpOp::Le,
                o => o,
            };
        }
        if matches!(cb, CExpr::Lit(Val::Null)) {
            return Ok(match op {
                CmpOp::Eq => CExpr::IsNull(Box::new(ca)),
                CmpOp::Neq => CExpr::IsNotNull(Box::new(ca)),
                _ => CExpr::Lit(Val::Null),
            });
        }
        if !ca.is_lit() && !cb.is_lit() && matches!(ca, CExpr::Field(_)) {
            return Err(Error::new(
                format!(
                    "Comparisons against fields are not supported; offender [{}] in [{}]",
                    ast_text(b),
                    op.symbol()
                ),
                sb,
            ));
        }
        let ta = type_of(&ca);
        let cb = self.coerce_literal(cb, ta, sb, op.symbol())?;
        let tb = type_of(&cb);
        if !(compatible(ta, tb) || ta.is_string() || tb.is_string() || ta == DataType::Boolean) {
            return Err(Error::new(
                format!(
                    "cannot compare [{}] of type [{}] with [{}] of type [{}]",
                    ast_text(a),
                    ta.name(),
                    ast_text(b),
                    tb.name()
                ),
                span,
            ));
        }
        Ok(CExpr::Cmp(op, Box::new(ca), Box::new(cb)))
    }

    /// Converts a string or number literal to the type of the field it is compared with.
    fn coerce_literal(&self, c: CExpr, target: DataType, span: Span, op: &str) -> R<CExpr> {
        let CExpr::Lit(v) = &c else { return Ok(c) };
        Ok(match (target, v) {
            (DataType::Date | DataType::DateNanos, Val::Str(s)) => {
                let n = parse_date(s)
                    .ok_or_else(|| Error::new(format!("cannot parse [{s}] as a date"), span))?;
                CExpr::Lit(Val::Date(n, res_of(target)))
            }
            (DataType::Date | DataType::DateNanos, Val::Long(ms)) => {
                CExpr::Lit(Val::Date(*ms as i128 * 1_000_000, res_of(target)))
            }
            (DataType::Ip, Val::Str(s)) => match s.parse() {
                Ok(ip) => CExpr::Lit(Val::Ip(crate::value::canonical_ip(ip))),
                Err(_) => {
                    return Err(Error::new(
                        format!("[{s}] is not an IP address (in [{op}])"),
                        span,
                    ));
                }
            },
            (DataType::Version, Val::Str(s)) => CExpr::Lit(Val::Version(Cow::Owned(s.to_string()))),
            _ => c,
        })
    }

    fn expect_numeric(&self, c: &CExpr, span: Span, op: &str) -> R<()> {
        match type_of(c) {
            DataType::Long | DataType::Double | DataType::Unknown => Ok(()),
            _ if matches!(c, CExpr::Lit(Val::Null)) => Ok(()),
            t => Err(Error::new(
                format!(
                    "argument of [{op}] must be [numeric], found type [{}]",
                    t.name()
                ),
                span,
            )),
        }
    }

    fn expect_string(&self, c: &CExpr, span: Span, what: &str) -> R<()> {
        match type_of(c) {
            DataType::Keyword | DataType::Unknown => Ok(()),
            _ if matches!(c, CExpr::Lit(Val::Null)) => Ok(()),
            t => Err(Error::new(
                format!(
                    "argument of [{what}] must be [string], found type [{}]",
                    t.name()
                ),
                span,
            )),
        }
    }

    fn call(&self, name: &str, insensitive: bool, args: &[ast::Expr], span: Span) -> R<CExpr> {
        let func = Func::lookup(name).ok_or_else(|| {
            let hint = suggest(name, Func::ALL.iter().map(|f| f.name()))
                .map(|s| format!(", did you mean [{s}]?"))
                .unwrap_or_default();
            Error::new(format!("Unknown function [{name}]{hint}"), span)
        })?;
        if insensitive && !func.allows_insensitive() {
            return Err(Error::new(
                format!(
                    "Function [{}] does not have a case-insensitive (~) form",
                    func.name()
                ),
                span,
            ));
        }
        let (min, max) = match func {
            Func::Add | Func::Subtract | Func::Multiply | Func::Divide | Func::Modulo => (2, 2),
            Func::Between => (3, 4),
            Func::CidrMatch => (2, usize::MAX),
            Func::Concat => (1, usize::MAX),
            Func::EndsWith | Func::StartsWith | Func::StringContains => (2, 2),
            Func::IndexOf => (2, 3),
            Func::Length | Func::String => (1, 1),
            Func::Number => (1, 2),
            Func::Substring => (2, 3),
        };
        if args.len() < min || args.len() > max {
            let expected = if min == max {
                format!("{min}")
            } else if max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(Error::new(
                format!(
                    "Function [{}] takes {expected} arguments, found [{}]",
                    func.name(),
                    args.len()
                ),
                span,
            ));
        }
        let mut cargs = Vec::new();
        // cidrMatch's ranges, parsed once here (see `CExpr::Call::nets`)
        let mut nets = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let c = self.expr(a)?;
            let t = type_of(&c);
            let ok = match (func, i) {
                (Func::Add | Func::Subtract | Func::Multiply | Func::Divide | Func::Modulo, _) => {
                    matches!(t, DataType::Long | DataType::Double)
                }
                (Func::Between, 3) => t == DataType::Boolean,
                (Func::CidrMatch, 0) => matches!(t, DataType::Ip | DataType::Keyword),
                (Func::CidrMatch, _) => t == DataType::Keyword && c.is_lit(),
                (Func::Concat | Func::String, _) => true,
                (Func::IndexOf, 2) | (Func::Substring, 1 | 2) | (Func::Number, 1) => {
                    t == DataType::Long
                }
                _ => t == DataType::Keyword,
            } || t == DataType::Unknown
                || matches!(c, CExpr::Lit(Val::Null));
            if !ok {
                return Err(Error::new(
                    format!(
                        "argument {} of [{}] has the wrong type [{}]",
                        i + 1,
                        func.name(),
                        t.name()
                    ),
                    a.span,
                ));
            }
            if func == Func::CidrMatch && i > 0 {
                if let CExpr::Lit(Val::Str(s)) = &c {
                    match eval::parse_cidr(s) {
                        Some(net) => nets.push(net),
                        None => {
                            return Err(Error::new(
                                format!("[{s}] is not a valid CIDR block"),
                                a.span,
                            ))
                        }
                    }
                }
            }
            cargs.push(c);
        }
        Ok(CExpr::Call {
            func,
            insensitive,
            args: cargs,
            nets,
        })
    }
}

fn res_of(t: DataType) -> DateRes {
    if t == DataType::DateNanos {
        DateRes::Nanos
    } else {
        DateRes::Millis
    }
}

fn check_key_counts(stages: &[Stage], mut spans: impl Iterator<Item = Span>) -> R<()> {
    let n = stages[0].keys.len();
    for st in stages {
        let span = spans.next().unwrap_or_default();
        if st.keys.len() != n {
            return Err(Error::new(
                format!(
                    "Inconsistent number of join keys specified; expected [{n}] but found [{}]",
                    st.keys.len()
                ),
                span,
            ));
        }
    }
    Ok(())
}

fn compatible(a: DataType, b: DataType) -> bool {
    use DataType::*;
    a == b
        || a == Unknown
        || b == Unknown
        || a.is_numeric() && b.is_numeric()
        || a.is_date() && b.is_date()
        || matches!(
            (a, b),
            (Ip, Keyword) | (Keyword, Ip) | (Version, Keyword) | (Keyword, Version)
        )
}

/// The static type of a compiled expression.
pub fn type_of(c: &CExpr) -> DataType {
    match c {
        CExpr::Lit(v) => match v {
            Val::Null => DataType::Unknown,
            Val::Bool(_) => DataType::Boolean,
            Val::Long(_) => DataType::Long,
            Val::Double(_) => DataType::Double,
            Val::Str(_) => DataType::Keyword,
            Val::Date(_, DateRes::Millis) => DataType::Date,
            Val::Date(_, DateRes::Nanos) => DataType::DateNanos,
            Val::Ip(_) => DataType::Ip,
            Val::Version(_) => DataType::Version,
            Val::Multi(_) => DataType::Unknown,
        },
        CExpr::Field(f) => f.ty,
        CExpr::Not(_)
        | CExpr::And(_)
        | CExpr::Or(_)
        | CExpr::IsNull(_)
        | CExpr::IsNotNull(_)
        | CExpr::Cmp(..)
        | CExpr::In { .. }
        | CExpr::Match { .. } => DataType::Boolean,
        CExpr::Arith(_, a, b) => match (type_of(a), type_of(b)) {
            (DataType::Long, DataType::Long) => DataType::Long,
            (DataType::Unknown, _) | (_, DataType::Unknown) => DataType::Unknown,
            _ => DataType::Double,
        },
        CExpr::Neg(e) => type_of(e),
        CExpr::Call { func, args, .. } => match func {
            Func::Add | Func::Subtract | Func::Multiply | Func::Divide | Func::Modulo => {
                match (type_of(&args[0]), type_of(&args[1])) {
                    (DataType::Long, DataType::Long) => DataType::Long,
                    (DataType::Unknown, _) | (_, DataType::Unknown) => DataType::Unknown,
                    _ => DataType::Double,
                }
            }
            Func::Between | Func::Concat | Func::String | Func::Substring => DataType::Keyword,
            Func::CidrMatch | Func::EndsWith | Func::StartsWith | Func::StringContains => {
                DataType::Boolean
            }
            Func::IndexOf | Func::Length => DataType::Long,
            Func::Number => DataType::Unknown,
        },
    }
}

/// Evaluates sub-trees whose inputs are all constants.
fn fold(c: CExpr) -> CExpr {
    let foldable = match &c {
        CExpr::Lit(_) | CExpr::Field(_) => false,
        CExpr::Not(e) | CExpr::IsNull(e) | CExpr::IsNotNull(e) | CExpr::Neg(e) => e.is_lit(),
        CExpr::And(v) | CExpr::Or(v) => v.iter().all(CExpr::is_lit),
        CExpr::Cmp(_, a, b) | CExpr::Arith(_, a, b) => a.is_lit() && b.is_lit(),
        CExpr::In { expr, list, .. } => expr.is_lit() && list.iter().all(CExpr::is_lit),
        CExpr::Match { expr, .. } => expr.is_lit(),
        CExpr::Call { args, .. } => args.iter().all(CExpr::is_lit),
    };
    if !foldable {
        return c;
    }
    let empty = serde_json::Map::new();
    let v = eval::eval(&c, &empty).into_owned();
    CExpr::Lit(v)
}

fn ast_text(e: &ast::Expr) -> String {
    e.to_string()
}

/// The closest name by edit distance, if it is close enough to be a likely typo.
pub fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .map(|c| (levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
