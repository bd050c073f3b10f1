//! The EQL abstract syntax tree. Every node carries the [`Span`] of the text it
//! was parsed from; [`Query::clear_spans`] zeroes them for structural comparison.

use super::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub body: Body,
    pub pipes: Vec<Pipe>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Event(EventQuery),
    Sequence(Sequence),
    Sample(Sample),
}

/// `category where condition`
#[derive(Clone, Debug, PartialEq)]
pub struct EventQuery {
    pub category: Category,
    pub condition: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Category {
    /// `any`
    Any(Span),
    /// An identifier (`process`) or a quoted string (`"process"`).
    Named {
        name: String,
        quoted: bool,
        span: Span,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Sequence {
    /// Keys shared by every step: `sequence by a, b`.
    pub by: Vec<Expr>,
    pub maxspan: Option<TimeSpan>,
    pub steps: Vec<Step>,
    pub until: Option<Step>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub by: Vec<Expr>,
    pub steps: Vec<Step>,
    pub span: Span,
}

/// One bracketed step of a sequence or sample: `[query] by keys with runs=N`,
/// or a missing-event step `![query]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub query: EventQuery,
    pub by: Vec<Expr>,
    pub runs: Option<u32>,
    pub missing: bool,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    Millis,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl TimeUnit {
    pub fn suffix(self) -> &'static str {
        match self {
            TimeUnit::Millis => "ms",
            TimeUnit::Seconds => "s",
            TimeUnit::Minutes => "m",
            TimeUnit::Hours => "h",
            TimeUnit::Days => "d",
        }
    }

    pub fn nanos(self) -> i128 {
        const MS: i128 = 1_000_000;
        match self {
            TimeUnit::Millis => MS,
            TimeUnit::Seconds => 1000 * MS,
            TimeUnit::Minutes => 60_000 * MS,
            TimeUnit::Hours => 3_600_000 * MS,
            TimeUnit::Days => 86_400_000 * MS,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TimeSpan {
    pub value: i64,
    pub unit: TimeUnit,
    pub span: Span,
}

impl TimeSpan {
    pub fn nanos(&self) -> i128 {
        self.value as i128 * self.unit.nanos()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Pipe {
    Head { count: i64, span: Span },
    Tail { count: i64, span: Span },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Neq => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl ArithOp {
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Mod => "%",
        }
    }
}

/// Pattern operators taking one constant or a parenthesised list of constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    /// `:` (case-insensitive, wildcards `*` and `?`)
    Colon,
    /// `!:`
    NotColon,
    Like,
    LikeInsensitive,
    Regex,
    RegexInsensitive,
}

impl MatchOp {
    pub fn symbol(self) -> &'static str {
        match self {
            MatchOp::Colon => ":",
            MatchOp::NotColon => "!:",
            MatchOp::Like => "like",
            MatchOp::LikeInsensitive => "like~",
            MatchOp::Regex => "regex",
            MatchOp::RegexInsensitive => "regex~",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldRef {
    /// Path segments, e.g. `["process", "name"]`.
    pub path: Vec<String>,
    /// `?field`: may be absent from the mapping.
    pub optional: bool,
}

impl FieldRef {
    pub fn dotted(&self) -> String {
        self.path.join(".")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Literal(Literal),
    Field(FieldRef),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    /// `x in (...)`, `x not in (...)`, `x in~ (...)`, `x not in~ (...)`
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
        insensitive: bool,
    },
    /// `x : "a*"`, `x like ("a", "b")`, ... `list` is true when the patterns were parenthesised.
    Match {
        op: MatchOp,
        expr: Box<Expr>,
        patterns: Vec<Expr>,
        list: bool,
    },
    Call {
        name: String,
        insensitive: bool,
        args: Vec<Expr>,
    },
    /// Parentheses kept so the printer round-trips the author's grouping.
    Paren(Box<Expr>),
}

impl Query {
    /// Zeroes every span, so that two trees can be compared for structure alone.
    pub fn clear_spans(&mut self) {
        self.span = Span::default();
        match &mut self.body {
            Body::Event(e) => e.clear_spans(),
            Body::Sequence(s) => {
                s.span = Span::default();
                s.by.iter_mut().for_each(Expr::clear_spans);
                if let Some(m) = &mut s.maxspan {
                    m.span = Span::default();
                }
                s.steps.iter_mut().for_each(Step::clear_spans);
                if let Some(u) = &mut s.until {
                    u.clear_spans();
                }
            }
            Body::Sample(s) => {
                s.span = Span::default();
                s.by.iter_mut().for_each(Expr::clear_spans);
                s.steps.iter_mut().for_each(Step::clear_spans);
            }
        }
        for p in &mut self.pipes {
            match p {
                Pipe::Head { span, .. } | Pipe::Tail { span, .. } => *span = Span::default(),
            }
        }
    }
}

impl EventQuery {
    fn clear_spans(&mut self) {
        self.span = Span::default();
        match &mut self.category {
            Category::Any(s) => *s = Span::default(),
            Category::Named { span, .. } => *span = Span::default(),
        }
        self.condition.clear_spans();
    }
}

impl Step {
    fn clear_spans(&mut self) {
        self.span = Span::default();
        self.query.clear_spans();
        self.by.iter_mut().for_each(Expr::clear_spans);
    }
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }

    pub fn clear_spans(&mut self) {
        self.span = Span::default();
        match &mut self.kind {
            ExprKind::Literal(_) | ExprKind::Field(_) => {}
            ExprKind::Not(e) | ExprKind::Neg(e) | ExprKind::Paren(e) => e.clear_spans(),
            ExprKind::And(a, b)
            | ExprKind::Or(a, b)
            | ExprKind::Compare(_, a, b)
            | ExprKind::Arith(_, a, b) => {
                a.clear_spans();
                b.clear_spans();
            }
            ExprKind::In { expr, list, .. } => {
                expr.clear_spans();
                list.iter_mut().for_each(Expr::clear_spans);
            }
            ExprKind::Match { expr, patterns, .. } => {
                expr.clear_spans();
                patterns.iter_mut().for_each(Expr::clear_spans);
            }
            ExprKind::Call { args, .. } => args.iter_mut().for_each(Expr::clear_spans),
        }
    }

    /// Strips `Paren` wrappers.
    pub fn unparen(&self) -> &Expr {
        match &self.kind {
            ExprKind::Paren(e) => e.unparen(),
            _ => self,
        }
    }
}
