//! The KQL syntax tree.
//!
//! Every node carries a [`Span`]: byte offsets into the source text it was parsed from.
//! The tree is *syntactic*: names are not resolved, and scalar and tabular expressions share
//! one [`Expr`] type (as in Kusto's own grammar, a pipe `T | where …` is an expression, so a
//! tabular value can appear anywhere an expression can: a `let` value, a function argument
//! such as `toscalar(…)`, the right side of `in (…)`).
//!
//! Some spellings are normalised: `filter` parses as [`OpKind::Where`], `limit` as
//! [`OpKind::Take`], `order by` as [`OpKind::Sort`], the legacy `notcontains` as `!contains`,
//! and adjacent string literals (`"a" "b"`) are joined into one. Parentheses written in the
//! source are kept as [`ExprKind::Paren`] so the printer reproduces the same tree.
//!
//! Case: Kusto is case-sensitive. Keywords, operator names (`where`, `has`, `and`), table
//! and column names and function names must be written exactly; `Where` is not `where`.
//! The parser therefore matches keywords byte for byte. (Case-insensitivity in Kusto is a
//! property of some *operators* on string values, `=~`, `has`, `contains`, `in~`, not of
//! the syntax.)

use std::fmt;

/// A half-open range of byte offsets `start..end` into the source text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Span({}..{})", self.start, self.end)
    }
}

/// A name: a column, table, variable, function, plugin or option. Bracketed names
/// (`['a b']`, `["x"]`) are stored unquoted. `$left` and `$right` keep their `$`.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole query text: statements separated by `;`.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    pub statements: Vec<Statement>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub kind: StatementKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StatementKind {
    /// `let name = value`
    Let { name: Ident, value: LetValue },
    /// `set name [= value]` (a request property).
    Set { name: Ident, value: Option<Expr> },
    /// `declare query_parameters (name:type [= default], …)`
    DeclareQueryParameters(Vec<Param>),
    /// `declare pattern name [= (params)[[path:type]] { (args).[path] = { body }; … }]`
    DeclarePattern {
        name: Ident,
        definition: Option<PatternDef>,
    },
    /// A query (tabular) or, rarely, a bare scalar expression.
    Query(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub enum LetValue {
    /// `let x = <expression>` (scalar or tabular).
    Expr(Expr),
    /// `let f = (params) { body }`
    Function(Function),
    /// `let v = view (params) { body }`: like a function, but also seen by `union *`.
    View(Function),
}

/// The definition part of `declare pattern`.
#[derive(Clone, Debug, PartialEq)]
pub struct PatternDef {
    pub params: Vec<Param>,
    /// The optional path parameter `[name:type]`.
    pub path: Option<Param>,
    pub entries: Vec<PatternEntry>,
    pub span: Span,
}

/// One `(args).[path] = { body }` entry of a pattern.
#[derive(Clone, Debug, PartialEq)]
pub struct PatternEntry {
    pub args: Vec<Expr>,
    pub path: Option<Expr>,
    pub body: Body,
    pub span: Span,
}

/// A user-defined function (lambda).
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    pub params: Vec<Param>,
    pub body: Body,
    pub span: Span,
}

/// The `{ … }` body of a function: `let` statements, then the result expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Body {
    pub lets: Vec<Statement>,
    pub result: Box<Expr>,
    pub span: Span,
}

/// A declared parameter `name: type [= default]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: ParamType,
    pub default: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ParamType {
    /// A scalar type name such as `string` or `long`.
    Scalar(Ident),
    /// A tabular parameter: `(*)` gives `Tabular { columns: [], any: true }`, `(a:string)`
    /// lists the required columns, `(a:string, *)` both.
    Tabular { columns: Vec<ColumnDecl>, any: bool },
}

/// `name: type`, as in `datatable` and `externaldata` schemas and `parse` patterns.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDecl {
    pub name: Ident,
    pub ty: Ident,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Literal(Literal),
    /// A column, table, variable or function name.
    Ident(Ident),
    /// A wildcard name pattern such as `Device*Events` (in `union`) or `Col*` (in
    /// `project-away`). A lone `*` is [`ExprKind::Star`].
    Pattern(String),
    /// `*`: all columns (`count(*)` is not Kusto, but `arg_max(T, *)`, `distinct *` are).
    Star,
    /// `dynamic(…)`
    Dynamic(DynValue),
    /// `( … )` as written in the source.
    Paren(Box<Expr>),
    /// `callee(args)`; the callee is usually an [`ExprKind::Ident`].
    Call {
        callee: Box<Expr>,
        args: Vec<Arg>,
    },
    /// `target.name` (dynamic property access, `$left.Col`, `cluster(…).database(…)`).
    Member {
        target: Box<Expr>,
        name: Ident,
    },
    /// `target[index]` (dynamic array or property-bag access).
    Index {
        target: Box<Expr>,
        index: Box<Expr>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `lhs in (…)`, `!in`, `in~`, `!in~`, `has_any (…)`, `has_all (…)`. The items may be
    /// scalars, a dynamic array, or one tabular subquery (its first column is used).
    InList {
        op: ListOp,
        lhs: Box<Expr>,
        items: Vec<Expr>,
    },
    /// `lhs between (low .. high)`; inclusive at both ends.
    Between {
        negated: bool,
        lhs: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
    },
    /// `input | operator`
    Pipe {
        input: Box<Expr>,
        op: Box<Operator>,
    },
    /// A tabular source: `print`, `range`, `datatable`, `union`, `search`, `externaldata`,
    /// `evaluate` at the start of a pipeline.
    Source(Box<Source>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// `name = value` for named arguments.
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `'…'`, `"…"`, `@"…"`, ```` ```…``` ````; `obfuscated` for `h"…"` (hidden in logs).
    String {
        value: String,
        obfuscated: bool,
    },
    Long(i64),
    Real(f64),
    Bool(bool),
    /// `30m`, `1.5h`, `100ms`, `1tick`: the text as written (`raw`) and its value in
    /// 100-nanosecond ticks when it fits.
    Timespan {
        raw: String,
        ticks: Option<i64>,
    },
    /// A literal written as `type(text)`: `datetime(2024-01-01)`, `guid(…)`, `time(1.02:03)`,
    /// `timespan(1d)`, `int(5)`, `long(null)`, `real(nan)`, `bool(true)`, `decimal(1.5)`,
    /// `typeof(string)`. `raw` is the text between the parentheses, trimmed; its meaning is
    /// left to the binder.
    Typed {
        ty: String,
        raw: String,
    },
}

/// The contents of a `dynamic(…)` literal.
#[derive(Clone, Debug, PartialEq)]
pub enum DynValue {
    Null,
    /// A scalar literal (numbers, strings, bools, datetimes, timespans…).
    Scalar(Literal),
    /// A negated numeric literal, `-1` or `-1.5`.
    Negative(Literal),
    Array(Vec<DynValue>),
    Object(Vec<(String, DynValue)>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Plus,
}

/// Binary operators, weakest first: `or`; `and`; comparisons and string predicates;
/// `+ -`; `* / %`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Or,
    And,
    /// `==` (case-sensitive)
    Eq,
    /// `!=` (also written `<>`)
    NotEq,
    /// `=~` (case-insensitive string equality)
    EqTilde,
    /// `!~`
    NotEqTilde,
    Lt,
    Le,
    Gt,
    Ge,
    /// `has` and friends: term matching, case-insensitive unless `_cs`.
    Has,
    NotHas,
    HasCs,
    NotHasCs,
    HasPrefix,
    NotHasPrefix,
    HasPrefixCs,
    NotHasPrefixCs,
    HasSuffix,
    NotHasSuffix,
    HasSuffixCs,
    NotHasSuffixCs,
    /// `contains` and friends: substring, case-insensitive unless `_cs`.
    Contains,
    NotContains,
    ContainsCs,
    NotContainsCs,
    StartsWith,
    NotStartsWith,
    StartsWithCs,
    NotStartsWithCs,
    EndsWith,
    NotEndsWith,
    EndsWithCs,
    NotEndsWithCs,
    /// `matches regex`
    MatchesRegex,
    /// `Column:"term"`, only inside a `search` predicate: the column `has` the term.
    SearchHas,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl BinaryOp {
    /// Binding strength: larger binds tighter.
    pub fn precedence(self) -> u8 {
        use BinaryOp::*;
        match self {
            Or => 1,
            And => 2,
            Add | Sub => 4,
            Mul | Div | Mod => 5,
            _ => 3,
        }
    }

    /// The operator as written in KQL.
    pub fn as_str(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Or => "or",
            And => "and",
            Eq => "==",
            NotEq => "!=",
            EqTilde => "=~",
            NotEqTilde => "!~",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            Has => "has",
            NotHas => "!has",
            HasCs => "has_cs",
            NotHasCs => "!has_cs",
            HasPrefix => "hasprefix",
            NotHasPrefix => "!hasprefix",
            HasPrefixCs => "hasprefix_cs",
            NotHasPrefixCs => "!hasprefix_cs",
            HasSuffix => "hassuffix",
            NotHasSuffix => "!hassuffix",
            HasSuffixCs => "hassuffix_cs",
            NotHasSuffixCs => "!hassuffix_cs",
            Contains => "contains",
            NotContains => "!contains",
            ContainsCs => "contains_cs",
            NotContainsCs => "!contains_cs",
            StartsWith => "startswith",
            NotStartsWith => "!startswith",
            StartsWithCs => "startswith_cs",
            NotStartsWithCs => "!startswith_cs",
            EndsWith => "endswith",
            NotEndsWith => "!endswith",
            EndsWithCs => "endswith_cs",
            NotEndsWithCs => "!endswith_cs",
            MatchesRegex => "matches regex",
            SearchHas => ":",
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
        }
    }
}

/// Operators whose right side is a parenthesised list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListOp {
    /// `in` (case-sensitive)
    In,
    NotIn,
    /// `in~` (case-insensitive)
    InCi,
    NotInCi,
    /// `has_any`: any item is a term of the left side (case-insensitive).
    HasAny,
    /// `has_all`
    HasAll,
}

impl ListOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ListOp::In => "in",
            ListOp::NotIn => "!in",
            ListOp::InCi => "in~",
            ListOp::NotInCi => "!in~",
            ListOp::HasAny => "has_any",
            ListOp::HasAll => "has_all",
        }
    }
}

/// A tabular source at the start of a pipeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub kind: SourceKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SourceKind {
    /// `print [name =] expr, …`
    Print(Vec<ColumnExpr>),
    /// `range name from start to stop step step`
    Range {
        name: Ident,
        from: Expr,
        to: Expr,
        step: Expr,
    },
    /// `datatable (schema) [values]`; values are row-major.
    Datatable {
        columns: Vec<ColumnDecl>,
        values: Vec<Expr>,
    },
    /// `externaldata (schema) [urls] [with (props)]`
    Externaldata {
        columns: Vec<ColumnDecl>,
        uris: Vec<Expr>,
        with: Vec<NamedValue>,
    },
    /// `union [options] tables` at the start of a query.
    Union(Union),
    /// `search [options] [in (tables)] predicate` at the start of a query.
    Search(Search),
    /// `find …` is not parsed; `evaluate plugin(…)` at the start of a query.
    Evaluate(Evaluate),
}

/// `name = value` options written before an operator's arguments: `kind=inner`,
/// `hint.strategy=broadcast`, `withsource=T`, `isfuzzy=true`, `with_itemindex=i`.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedValue {
    /// Dotted names such as `hint.strategy` are stored joined by `.`.
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

/// `[name =] expr` or `(a, b) = expr` in `project`, `extend`, `summarize`, `print`….
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnExpr {
    /// Empty when the column name is implied; several for a tuple assignment.
    pub names: Vec<Ident>,
    pub expr: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub expr: Expr,
    /// `None` when not written. Kusto's default for `sort` and `top` is descending.
    pub order: Option<SortOrder>,
    pub nulls: Option<NullsOrder>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NullsOrder {
    First,
    Last,
}

/// `project-reorder` ordering of a pattern's matched columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReorderOrder {
    Asc,
    Desc,
    GrannyAsc,
    GrannyDesc,
}

/// A tabular operator after `|`.
#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    pub kind: OpKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Union {
    pub options: Vec<NamedValue>,
    /// Table names, wildcard patterns, `(subquery)`s and calls.
    pub tables: Vec<Expr>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Search {
    pub options: Vec<NamedValue>,
    /// `in (T1, T2)`
    pub tables: Vec<Expr>,
    pub predicate: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Evaluate {
    pub options: Vec<NamedValue>,
    /// The plugin call, e.g. `bag_unpack(AdditionalFields)`.
    pub plugin: Expr,
    /// An optional declared output schema `: (a:string, …)`; `*` allowed as `any`.
    pub schema: Option<(Vec<ColumnDecl>, bool)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MvItem {
    pub names: Vec<Ident>,
    pub expr: Expr,
    /// `to typeof(type)`
    pub to_type: Option<Ident>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ParsePart {
    /// `*`: skip any text.
    Wildcard,
    /// A string (a regular expression in `kind=regex`).
    Text(String),
    /// A column to extract, with an optional type: `Name:long`.
    Column { name: Ident, ty: Option<Ident> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct TopNestedClause {
    pub count: Option<Expr>,
    pub of: ColumnExpr,
    pub others: Option<ColumnExpr>,
    pub by: ColumnExpr,
    pub order: Option<SortOrder>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MakeSeriesAgg {
    pub column: ColumnExpr,
    pub default: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SeriesRange {
    /// `[from start] [to end] step step`
    FromTo {
        from: Option<Expr>,
        to: Option<Expr>,
        step: Expr,
    },
    /// `in range(start, stop, step)`
    InRange { start: Expr, stop: Expr, step: Expr },
}

/// A sub-pipeline without a source, as used by `mv-apply … on (…)`, `fork (…)`,
/// `facet … with (…)` and `partition … (…)`: the operators apply to an implied input.
#[derive(Clone, Debug, PartialEq)]
pub struct SubPipeline {
    pub ops: Vec<Operator>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScanStep {
    pub name: Ident,
    pub optional: bool,
    pub output: Option<Ident>,
    pub condition: Expr,
    pub assignments: Vec<ColumnExpr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum OpKind {
    /// `where` / `filter`
    Where(Expr),
    Project(Vec<ColumnExpr>),
    ProjectAway(Vec<Expr>),
    ProjectKeep(Vec<Expr>),
    /// `project-rename new = old, …`
    ProjectRename(Vec<(Ident, Ident)>),
    ProjectReorder(Vec<(Expr, Option<ReorderOrder>)>),
    Extend(Vec<ColumnExpr>),
    Summarize {
        options: Vec<NamedValue>,
        aggregates: Vec<ColumnExpr>,
        by: Vec<ColumnExpr>,
    },
    /// `count`: one row with the number of input rows.
    Count,
    /// `take` / `limit`
    Take {
        options: Vec<NamedValue>,
        count: Expr,
    },
    Top {
        options: Vec<NamedValue>,
        count: Expr,
        by: Vec<SortKey>,
    },
    TopNested(Vec<TopNestedClause>),
    /// `top-hitters N of col [by expr]`
    TopHitters {
        count: Expr,
        of: Expr,
        by: Option<Expr>,
    },
    /// `sort by` / `order by`
    Sort {
        options: Vec<NamedValue>,
        keys: Vec<SortKey>,
    },
    Distinct {
        options: Vec<NamedValue>,
        columns: Vec<Expr>,
    },
    Join {
        options: Vec<NamedValue>,
        right: Expr,
        /// `on` keys: plain columns or `$left.a == $right.b` conditions.
        on: Vec<Expr>,
        /// The newer `where` form of join conditions.
        where_: Option<Expr>,
    },
    Lookup {
        options: Vec<NamedValue>,
        right: Expr,
        on: Vec<Expr>,
    },
    Union(Union),
    MvExpand {
        options: Vec<NamedValue>,
        items: Vec<MvItem>,
        limit: Option<Expr>,
    },
    MvApply {
        options: Vec<NamedValue>,
        items: Vec<MvItem>,
        limit: Option<Expr>,
        id: Option<Expr>,
        body: SubPipeline,
    },
    /// `parse` (`where_` false) and `parse-where` (`where_` true).
    Parse {
        where_: bool,
        options: Vec<NamedValue>,
        expr: Expr,
        pattern: Vec<ParsePart>,
    },
    /// `parse-kv expr as (schema) [with (props)]`
    ParseKv {
        expr: Expr,
        columns: Vec<ColumnDecl>,
        with: Vec<NamedValue>,
    },
    Search(Search),
    Getschema,
    Evaluate(Evaluate),
    MakeSeries {
        options: Vec<NamedValue>,
        aggregates: Vec<MakeSeriesAgg>,
        on: Expr,
        range: SeriesRange,
        by: Vec<ColumnExpr>,
    },
    Serialize(Vec<ColumnExpr>),
    Sample {
        count: Expr,
    },
    SampleDistinct {
        count: Expr,
        of: Expr,
    },
    /// `invoke function(args)`
    Invoke(Expr),
    /// `as [options] name`
    As {
        options: Vec<NamedValue>,
        name: Ident,
    },
    /// `render visualization [with (props)]`: accepted and ignored by execution.
    Render {
        chart: Ident,
        with: Vec<NamedValue>,
    },
    /// `facet by cols [with (ops)]`
    Facet {
        columns: Vec<Ident>,
        with: Option<SubPipeline>,
    },
    /// `fork (ops) (ops) …`, each optionally named `name = (ops)`.
    Fork(Vec<(Option<Ident>, SubPipeline)>),
    /// `partition [options] by col (ops)`
    Partition {
        options: Vec<NamedValue>,
        by: Ident,
        body: SubPipeline,
    },
    /// `reduce [kind=…] by expr [with props]`
    Reduce {
        options: Vec<NamedValue>,
        by: Expr,
        with: Vec<NamedValue>,
    },
    Consume {
        options: Vec<NamedValue>,
    },
    /// `scan [options] [declare (params)] with (steps)`
    Scan {
        options: Vec<NamedValue>,
        declare: Vec<Param>,
        steps: Vec<ScanStep>,
    },
}
