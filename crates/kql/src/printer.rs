//! `Display` for the syntax tree: prints KQL text that parses back to the same tree
//! (spans aside).
//!
//! The printer relies on [`ExprKind::Paren`] nodes for grouping: it adds no parentheses of
//! its own, so a tree built by hand must contain `Paren` nodes wherever precedence requires
//! them. Statement-level pipelines print one operator per line; nested ones stay on one line.

use crate::ast::*;
use crate::lexer::{is_ident_continue, is_ident_start};
use std::fmt::{self, Display, Formatter, Write};

/// Words that must not be printed as bare names because the parser gives them a meaning.
const RESERVED: &[&str] = &[
    "and",
    "or",
    "true",
    "false",
    "True",
    "False",
    "TRUE",
    "FALSE",
    "by",
    "on",
    "with",
    "of",
    "to",
    "from",
    "step",
    "asc",
    "desc",
    "nulls",
    "first",
    "last",
    "in",
    "between",
    "has",
    "has_cs",
    "hasprefix",
    "hasprefix_cs",
    "hassuffix",
    "hassuffix_cs",
    "contains",
    "contains_cs",
    "containscs",
    "notcontains",
    "notcontainscs",
    "startswith",
    "startswith_cs",
    "endswith",
    "endswith_cs",
    "has_any",
    "has_all",
    "matches",
    "let",
    "set",
    "declare",
    "pattern",
    "view",
    "print",
    "range",
    "datatable",
    "externaldata",
    "union",
    "search",
    "evaluate",
    "dynamic",
    "default",
    "limit",
    "id",
    "others",
    "optional",
    "output",
    "step",
    "as",
    "null",
    "datetime",
    "date",
    "time",
    "timespan",
    "guid",
    "uuid",
    "uniqueid",
    "int32",
    "int64",
    "int",
    "long",
    "real",
    "double",
    "decimal",
    "bool",
    "boolean",
    "typeof",
];

fn is_plain_ident(name: &str) -> bool {
    let body = name.strip_prefix('$').unwrap_or(name);
    let mut chars = body.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    // Names starting with a digit (`2022Report`) are valid but could read as a number or a
    // timespan (`1d`), so they are always bracketed.
    if !is_ident_start(first) || !chars.all(is_ident_continue) {
        return false;
    }
    // `h` directly followed by a quote would lex as an obfuscated string, but a name is
    // never followed directly by a quote in printed output, so `h` is safe.
    !RESERVED.contains(&body)
}

/// Writes a name, bracketing it (`['…']`) when it is not a plain identifier.
pub fn write_name(f: &mut impl Write, name: &str) -> fmt::Result {
    if is_plain_ident(name) {
        f.write_str(name)
    } else {
        f.write_str("[")?;
        write_string(f, name, false)?;
        f.write_str("]")
    }
}

/// Writes a dotted option name such as `hint.strategy`.
fn write_dotted(f: &mut impl Write, name: &str) -> fmt::Result {
    let plain = name.split('.').all(|part| {
        let mut c = part.chars();
        c.next().is_some_and(is_ident_start) && c.all(is_ident_continue)
    });
    if plain {
        f.write_str(name)
    } else {
        write_name(f, name)
    }
}

/// Writes a string literal in double quotes with escapes.
pub fn write_string(f: &mut impl Write, value: &str, obfuscated: bool) -> fmt::Result {
    if obfuscated {
        f.write_char('h')?;
    }
    f.write_char('"')?;
    for c in value.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '"' => f.write_str("\\\"")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if (c as u32) < 0x20 || c as u32 == 0x7f => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

fn sep<T: Display>(f: &mut Formatter<'_>, items: &[T], s: &str) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(s)?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

fn comma<T: Display>(f: &mut Formatter<'_>, items: &[T]) -> fmt::Result {
    sep(f, items, ", ")
}

fn options(f: &mut Formatter<'_>, opts: &[NamedValue]) -> fmt::Result {
    for o in opts {
        write_dotted(f, &o.name.name)?;
        write!(f, "={} ", o.value)?;
    }
    Ok(())
}

fn props(f: &mut Formatter<'_>, props: &[NamedValue]) -> fmt::Result {
    f.write_str("(")?;
    comma(f, props)?;
    f.write_str(")")
}

/// Writes a statement-level expression with one pipeline operator per line; nested
/// pipelines (in parentheses and arguments) stay on one line.
fn write_top(f: &mut Formatter<'_>, e: &Expr) -> fmt::Result {
    let mut ops = Vec::new();
    let mut cur = e;
    while let ExprKind::Pipe { input, op } = &cur.kind {
        ops.push(op);
        cur = input;
    }
    write!(f, "{cur}")?;
    for op in ops.iter().rev() {
        write!(f, "\n| {op}")?;
    }
    Ok(())
}

impl Display for Ident {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_name(f, &self.name)
    }
}

impl Display for Script {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        sep(f, &self.statements, ";\n")
    }
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.kind {
            StatementKind::Let { name, value } => {
                write!(f, "let {name} = ")?;
                match value {
                    LetValue::Expr(e) => write_top(f, e),
                    LetValue::Function(func) => write!(f, "{func}"),
                    LetValue::View(func) => write!(f, "view {func}"),
                }
            }
            StatementKind::Set { name, value } => {
                f.write_str("set ")?;
                write_dotted(f, &name.name)?;
                if let Some(v) = value {
                    write!(f, " = {v}")?;
                }
                Ok(())
            }
            StatementKind::DeclarePattern { name, definition } => {
                write!(f, "declare pattern {name}")?;
                if let Some(def) = definition {
                    f.write_str(" = (")?;
                    comma(f, &def.params)?;
                    f.write_str(")")?;
                    if let Some(p) = &def.path {
                        write!(f, "[{p}]")?;
                    }
                    f.write_str(" {\n")?;
                    for e in &def.entries {
                        f.write_str("(")?;
                        comma(f, &e.args)?;
                        f.write_str(")")?;
                        if let Some(p) = &e.path {
                            write!(f, ".[{p}]")?;
                        }
                        writeln!(f, " = {};", e.body)?;
                    }
                    f.write_str("}")?;
                }
                Ok(())
            }
            StatementKind::DeclareQueryParameters(params) => {
                f.write_str("declare query_parameters(")?;
                comma(f, params)?;
                f.write_str(")")
            }
            StatementKind::Query(e) => write_top(f, e),
        }
    }
}

impl Display for Function {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        comma(f, &self.params)?;
        write!(f, ") {}", self.body)
    }
}

impl Display for Body {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("{\n")?;
        for l in &self.lets {
            writeln!(f, "{l};")?;
        }
        write_top(f, &self.result)?;
        f.write_str("\n}")
    }
}

impl Display for Param {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.name)?;
        match &self.ty {
            ParamType::Scalar(t) => f.write_str(&t.name)?,
            ParamType::Tabular { columns, any } => schema(f, columns, *any)?,
        }
        if let Some(d) = &self.default {
            write!(f, " = {d}")?;
        }
        Ok(())
    }
}

fn schema(f: &mut Formatter<'_>, columns: &[ColumnDecl], any: bool) -> fmt::Result {
    f.write_str("(")?;
    comma(f, columns)?;
    if any {
        if !columns.is_empty() {
            f.write_str(", ")?;
        }
        f.write_str("*")?;
    }
    f.write_str(")")
}

impl Display for ColumnDecl {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.ty.name)
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::String { value, obfuscated } => write_string(f, value, *obfuscated),
            Literal::Long(v) => write!(f, "{v}"),
            Literal::Real(v) => {
                if v.is_nan() {
                    f.write_str("real(nan)")
                } else if v.is_infinite() {
                    f.write_str(if *v > 0.0 { "real(+inf)" } else { "real(-inf)" })
                } else {
                    write!(f, "{v:?}")
                }
            }
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Timespan { raw, .. } => f.write_str(raw),
            Literal::Typed { ty, raw } => write!(f, "{ty}({raw})"),
        }
    }
}

impl Display for DynValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            DynValue::Null => f.write_str("null"),
            DynValue::Scalar(l) => write!(f, "{l}"),
            DynValue::Negative(l) => write!(f, "-{l}"),
            DynValue::Array(items) => {
                f.write_str("[")?;
                comma(f, items)?;
                f.write_str("]")
            }
            DynValue::Object(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_string(f, k, false)?;
                    write!(f, ": {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

impl Display for Arg {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(n) = &self.name {
            write!(f, "{n} = ")?;
        }
        write!(f, "{}", self.value)
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Literal(l) => write!(f, "{l}"),
            ExprKind::Ident(i) => write!(f, "{i}"),
            ExprKind::Pattern(p) => f.write_str(p),
            ExprKind::Star => f.write_str("*"),
            ExprKind::Dynamic(d) => write!(f, "dynamic({d})"),
            ExprKind::Paren(e) => write!(f, "({e})"),
            ExprKind::Call { callee, args } => {
                write!(f, "{callee}(")?;
                comma(f, args)?;
                f.write_str(")")
            }
            ExprKind::Member { target, name } => {
                // After `.` any identifier token is a member name, keywords and names
                // starting with digits included; such a name re-lexes as the same token.
                write!(f, "{target}.")?;
                let body = name.name.strip_prefix('$').unwrap_or(&name.name);
                if !body.is_empty() && body.chars().all(is_ident_continue) {
                    f.write_str(&name.name)
                } else {
                    write_name(f, &name.name)
                }
            }
            ExprKind::Index { target, index } => write!(f, "{target}[{index}]"),
            ExprKind::Unary { op, operand } => {
                f.write_str(match op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Plus => "+",
                })?;
                if matches!(operand.kind, ExprKind::Unary { .. }) {
                    f.write_str(" ")?;
                }
                write!(f, "{operand}")
            }
            ExprKind::Binary { op, lhs, rhs } => write!(f, "{lhs} {} {rhs}", op.as_str()),
            ExprKind::InList { op, lhs, items } => {
                write!(f, "{lhs} {} (", op.as_str())?;
                comma(f, items)?;
                f.write_str(")")
            }
            ExprKind::Between {
                negated,
                lhs,
                low,
                high,
            } => {
                let kw = if *negated { "!between" } else { "between" };
                write!(f, "{lhs} {kw} ({low} .. {high})")
            }
            ExprKind::Pipe { input, op } => write!(f, "{input} | {op}"),
            ExprKind::Source(s) => write!(f, "{s}"),
        }
    }
}

impl Display for NamedValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_dotted(f, &self.name.name)?;
        write!(f, " = {}", self.value)
    }
}

/// The `name = ` or `(a, b) = ` prefix of an assignment.
fn write_names(f: &mut Formatter<'_>, names: &[Ident]) -> fmt::Result {
    match names {
        [] => Ok(()),
        [only] => write!(f, "{only} = "),
        _ => {
            f.write_str("(")?;
            comma(f, names)?;
            f.write_str(") = ")
        }
    }
}

impl Display for ColumnExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_names(f, &self.names)?;
        write!(f, "{}", self.expr)
    }
}

impl Display for SortKey {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)?;
        match self.order {
            Some(SortOrder::Asc) => f.write_str(" asc")?,
            Some(SortOrder::Desc) => f.write_str(" desc")?,
            None => {}
        }
        match self.nulls {
            Some(NullsOrder::First) => f.write_str(" nulls first")?,
            Some(NullsOrder::Last) => f.write_str(" nulls last")?,
            None => {}
        }
        Ok(())
    }
}

impl Display for Union {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("union ")?;
        options(f, &self.options)?;
        comma(f, &self.tables)
    }
}

impl Display for Search {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("search ")?;
        options(f, &self.options)?;
        if !self.tables.is_empty() {
            f.write_str("in (")?;
            comma(f, &self.tables)?;
            f.write_str(") ")?;
        }
        write!(f, "{}", self.predicate)
    }
}

impl Display for Evaluate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("evaluate ")?;
        options(f, &self.options)?;
        write!(f, "{}", self.plugin)?;
        if let Some((cols, any)) = &self.schema {
            f.write_str(" : ")?;
            schema(f, cols, *any)?;
        }
        Ok(())
    }
}

impl Display for Source {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.kind {
            SourceKind::Print(cols) => {
                f.write_str("print ")?;
                comma(f, cols)
            }
            SourceKind::Range {
                name,
                from,
                to,
                step,
            } => write!(f, "range {name} from {from} to {to} step {step}"),
            SourceKind::Datatable { columns, values } => {
                f.write_str("datatable")?;
                schema(f, columns, false)?;
                f.write_str(" [")?;
                comma(f, values)?;
                f.write_str("]")
            }
            SourceKind::Externaldata {
                columns,
                uris,
                with,
            } => {
                f.write_str("externaldata")?;
                schema(f, columns, false)?;
                f.write_str(" [")?;
                comma(f, uris)?;
                f.write_str("]")?;
                if !with.is_empty() {
                    f.write_str(" with ")?;
                    props(f, with)?;
                }
                Ok(())
            }
            SourceKind::Union(u) => write!(f, "{u}"),
            SourceKind::Search(s) => write!(f, "{s}"),
            SourceKind::Evaluate(e) => write!(f, "{e}"),
        }
    }
}

impl Display for MvItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_names(f, &self.names)?;
        write!(f, "{}", self.expr)?;
        if let Some(t) = &self.to_type {
            write!(f, " to typeof({})", t.name)?;
        }
        Ok(())
    }
}

impl Display for SubPipeline {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        sep(f, &self.ops, " | ")?;
        f.write_str(")")
    }
}

impl Display for ScanStep {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "step {}", self.name)?;
        if self.optional {
            f.write_str(" optional")?;
        }
        if let Some(o) = &self.output {
            write!(f, " output={o}")?;
        }
        write!(f, ": {}", self.condition)?;
        if !self.assignments.is_empty() {
            f.write_str(" => ")?;
            comma(f, &self.assignments)?;
        }
        f.write_str(";")
    }
}

impl Display for Operator {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.kind {
            OpKind::Where(e) => write!(f, "where {e}"),
            OpKind::Project(cols) => {
                f.write_str("project ")?;
                comma(f, cols)
            }
            OpKind::ProjectAway(cols) => {
                f.write_str("project-away ")?;
                comma(f, cols)
            }
            OpKind::ProjectKeep(cols) => {
                f.write_str("project-keep ")?;
                comma(f, cols)
            }
            OpKind::ProjectRename(pairs) => {
                f.write_str("project-rename ")?;
                for (i, (new, old)) in pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{new} = {old}")?;
                }
                Ok(())
            }
            OpKind::ProjectReorder(items) => {
                f.write_str("project-reorder ")?;
                for (i, (pat, order)) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{pat}")?;
                    match order {
                        Some(ReorderOrder::Asc) => f.write_str(" asc")?,
                        Some(ReorderOrder::Desc) => f.write_str(" desc")?,
                        Some(ReorderOrder::GrannyAsc) => f.write_str(" granny-asc")?,
                        Some(ReorderOrder::GrannyDesc) => f.write_str(" granny-desc")?,
                        None => {}
                    }
                }
                Ok(())
            }
            OpKind::Extend(cols) => {
                f.write_str("extend ")?;
                comma(f, cols)
            }
            OpKind::Summarize {
                options: opts,
                aggregates,
                by,
            } => {
                f.write_str("summarize ")?;
                options(f, opts)?;
                comma(f, aggregates)?;
                if !by.is_empty() {
                    if !aggregates.is_empty() {
                        f.write_str(" ")?;
                    }
                    f.write_str("by ")?;
                    comma(f, by)?;
                }
                Ok(())
            }
            OpKind::Count => f.write_str("count"),
            OpKind::Take {
                options: opts,
                count,
            } => {
                f.write_str("take ")?;
                options(f, opts)?;
                write!(f, "{count}")
            }
            OpKind::Top {
                options: opts,
                count,
                by,
            } => {
                f.write_str("top ")?;
                options(f, opts)?;
                write!(f, "{count} by ")?;
                comma(f, by)
            }
            OpKind::TopNested(clauses) => {
                for (i, c) in clauses.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str("top-nested ")?;
                    if let Some(n) = &c.count {
                        write!(f, "{n} ")?;
                    }
                    write!(f, "of {}", c.of)?;
                    if let Some(o) = &c.others {
                        write!(f, " with others = {}", o.expr)?;
                    }
                    write!(f, " by {}", c.by)?;
                    match c.order {
                        Some(SortOrder::Asc) => f.write_str(" asc")?,
                        Some(SortOrder::Desc) => f.write_str(" desc")?,
                        None => {}
                    }
                }
                Ok(())
            }
            OpKind::TopHitters { count, of, by } => {
                write!(f, "top-hitters {count} of {of}")?;
                if let Some(b) = by {
                    write!(f, " by {b}")?;
                }
                Ok(())
            }
            OpKind::Sort {
                options: opts,
                keys,
            } => {
                f.write_str("sort ")?;
                options(f, opts)?;
                f.write_str("by ")?;
                comma(f, keys)
            }
            OpKind::Distinct {
                options: opts,
                columns,
            } => {
                f.write_str("distinct ")?;
                options(f, opts)?;
                comma(f, columns)
            }
            OpKind::Join {
                options: opts,
                right,
                on,
                where_,
            } => {
                f.write_str("join ")?;
                options(f, opts)?;
                write!(f, "{right}")?;
                if !on.is_empty() {
                    f.write_str(" on ")?;
                    comma(f, on)?;
                }
                if let Some(w) = where_ {
                    write!(f, " where {w}")?;
                }
                Ok(())
            }
            OpKind::Lookup {
                options: opts,
                right,
                on,
            } => {
                f.write_str("lookup ")?;
                options(f, opts)?;
                write!(f, "{right} on ")?;
                comma(f, on)
            }
            OpKind::Union(u) => write!(f, "{u}"),
            OpKind::MvExpand {
                options: opts,
                items,
                limit,
            } => {
                f.write_str("mv-expand ")?;
                options(f, opts)?;
                comma(f, items)?;
                if let Some(l) = limit {
                    write!(f, " limit {l}")?;
                }
                Ok(())
            }
            OpKind::MvApply {
                options: opts,
                items,
                limit,
                id,
                body,
            } => {
                f.write_str("mv-apply ")?;
                options(f, opts)?;
                comma(f, items)?;
                if let Some(l) = limit {
                    write!(f, " limit {l}")?;
                }
                if let Some(i) = id {
                    write!(f, " id = {i}")?;
                }
                write!(f, " on {body}")
            }
            OpKind::Parse {
                where_,
                options: opts,
                expr,
                pattern,
            } => {
                f.write_str(if *where_ { "parse-where " } else { "parse " })?;
                options(f, opts)?;
                write!(f, "{expr} with")?;
                for part in pattern {
                    f.write_str(" ")?;
                    match part {
                        ParsePart::Wildcard => f.write_str("*")?,
                        ParsePart::Text(t) => write_string(f, t, false)?,
                        ParsePart::Column { name, ty } => {
                            write!(f, "{name}")?;
                            if let Some(t) = ty {
                                write!(f, ":{}", t.name)?;
                            }
                        }
                    }
                }
                Ok(())
            }
            OpKind::ParseKv {
                expr,
                columns,
                with,
            } => {
                write!(f, "parse-kv {expr} as ")?;
                schema(f, columns, false)?;
                if !with.is_empty() {
                    f.write_str(" with ")?;
                    props(f, with)?;
                }
                Ok(())
            }
            OpKind::Search(s) => write!(f, "{s}"),
            OpKind::Getschema => f.write_str("getschema"),
            OpKind::Evaluate(e) => write!(f, "{e}"),
            OpKind::MakeSeries {
                options: opts,
                aggregates,
                on,
                range,
                by,
            } => {
                f.write_str("make-series ")?;
                options(f, opts)?;
                for (i, a) in aggregates.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", a.column)?;
                    if let Some(d) = &a.default {
                        write!(f, " default = {d}")?;
                    }
                }
                write!(f, " on {on}")?;
                match range {
                    SeriesRange::FromTo { from, to, step } => {
                        if let Some(x) = from {
                            write!(f, " from {x}")?;
                        }
                        if let Some(x) = to {
                            write!(f, " to {x}")?;
                        }
                        write!(f, " step {step}")?;
                    }
                    SeriesRange::InRange { start, stop, step } => {
                        write!(f, " in range({start}, {stop}, {step})")?;
                    }
                }
                if !by.is_empty() {
                    f.write_str(" by ")?;
                    comma(f, by)?;
                }
                Ok(())
            }
            OpKind::Serialize(cols) => {
                f.write_str("serialize")?;
                if !cols.is_empty() {
                    f.write_str(" ")?;
                    comma(f, cols)?;
                }
                Ok(())
            }
            OpKind::Sample { count } => write!(f, "sample {count}"),
            OpKind::SampleDistinct { count, of } => write!(f, "sample-distinct {count} of {of}"),
            OpKind::Invoke(e) => write!(f, "invoke {e}"),
            OpKind::As {
                options: opts,
                name,
            } => {
                f.write_str("as ")?;
                options(f, opts)?;
                write!(f, "{name}")
            }
            OpKind::Render { chart, with } => {
                write!(f, "render {chart}")?;
                if !with.is_empty() {
                    f.write_str(" with ")?;
                    props(f, with)?;
                }
                Ok(())
            }
            OpKind::Facet { columns, with } => {
                f.write_str("facet by ")?;
                comma(f, columns)?;
                if let Some(w) = with {
                    write!(f, " with {w}")?;
                }
                Ok(())
            }
            OpKind::Fork(branches) => {
                f.write_str("fork")?;
                for (name, body) in branches {
                    f.write_str(" ")?;
                    if let Some(n) = name {
                        write!(f, "{n} = ")?;
                    }
                    write!(f, "{body}")?;
                }
                Ok(())
            }
            OpKind::Partition {
                options: opts,
                by,
                body,
            } => {
                f.write_str("partition ")?;
                options(f, opts)?;
                write!(f, "by {by} {body}")
            }
            OpKind::Reduce {
                options: opts,
                by,
                with,
            } => {
                f.write_str("reduce ")?;
                options(f, opts)?;
                write!(f, "by {by}")?;
                if !with.is_empty() {
                    f.write_str(" with ")?;
                    comma(f, with)?;
                }
                Ok(())
            }
            OpKind::Consume { options: opts } => {
                f.write_str("consume ")?;
                options(f, opts)
            }
            OpKind::Scan {
                options: opts,
                declare,
                steps,
            } => {
                f.write_str("scan ")?;
                options(f, opts)?;
                if !declare.is_empty() {
                    f.write_str("declare (")?;
                    comma(f, declare)?;
                    f.write_str(") ")?;
                }
                f.write_str("with (")?;
                sep(f, steps, " ")?;
                f.write_str(")")
            }
        }
    }
}
