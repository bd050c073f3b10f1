//! Recursive-descent parser for Elasticsearch's EQL grammar.
//!
//! Precedence, loosest first: `or`, `and`, `not`, comparison (`==` `!=` `<`
//! `<=` `>` `>=`, not chained), `+ -`, `* / %`, unary `- +`, and a primary
//! with an optional predicate (`in`, `in~`, `not in`, `:`, `!:`, `like`,
//! `like~`, `regex`, `regex~`), which binds tightest, as in Elasticsearch.

use super::ast::*;
use super::lexer::{tokenize, Token, TokenKind as T};
use super::{Error, Span};

/// Words that cannot be used as bare field names.
const RESERVED: &[&str] = &[
    "and", "any", "by", "false", "in", "like", "maxspan", "not", "null", "of", "or", "regex",
    "sample", "sequence", "true", "until", "where", "with", "join",
];

pub fn parse(src: &str) -> Result<Query, Error> {
    let tokens = tokenize(src)?;
    let mut p = Parser { tokens, pos: 0 };
    let q = p.query()?;
    Ok(q)
}

/// Parses a lone expression (for constant evaluation and tests).
pub fn parse_expression(src: &str) -> Result<Expr, Error> {
    let tokens = tokenize(src)?;
    let mut p = Parser { tokens, pos: 0 };
    let e = p.expr()?;
    if p.peek().kind != T::Eof {
        return Err(p.unexpected("end of expression"));
    }
    Ok(e)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

type R<X> = Result<X, Error>;

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, off: usize) -> &Token {
        &self.tokens[(self.pos + off).min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn prev_end(&self) -> u32 {
        if self.pos == 0 {
            0
        } else {
            self.tokens[self.pos - 1].span.end
        }
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().kind, T::Ident(s) if s == kw)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn eat(&mut self, kind: &T) -> bool {
        if &self.peek().kind == kind {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, kind: &T, what: &str) -> R<Token> {
        if &self.peek().kind == kind {
            Ok(self.bump())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn expect_kw(&mut self, kw: &str) -> R<Token> {
        if self.is_kw(kw) {
            Ok(self.bump())
        } else {
            Err(self.unexpected(&format!("'{kw}'")))
        }
    }

    fn unexpected(&self, what: &str) -> Error {
        let t = self.peek();
        let found = describe(&t.kind);
        Error::new(format!("expected {what}, found {found}"), t.span)
    }

    // ---- query level ----

    fn query(&mut self) -> R<Query> {
        let start = self.peek().span;
        let body = if self.is_kw("sequence") {
            Body::Sequence(self.sequence()?)
        } else if self.is_kw("sample") {
            Body::Sample(self.sample()?)
        } else if self.is_kw("join") {
            return Err(Error::new(
                "Queries using [join] are not supported",
                self.peek().span,
            ));
        } else {
            Body::Event(self.event_query()?)
        };
        let mut pipes = Vec::new();
        while self.eat(&T::Pipe) {
            pipes.push(self.pipe()?);
        }
        if self.peek().kind != T::Eof {
            return Err(self.unexpected("'|' or end of query"));
        }
        Ok(Query {
            body,
            pipes,
            span: Span::new(start.start as usize, self.prev_end() as usize),
        })
    }

    fn pipe(&mut self) -> R<Pipe> {
        let t = self.bump();
        let name = match &t.kind {
            T::Ident(s) => s.clone(),
            _ => {
                return Err(Error::new(
                    format!("expected a pipe name, found {}", describe(&t.kind)),
                    t.span,
                ))
            }
        };
        match name.as_str() {
            "head" | "tail" => {
                let n = self.bump();
                let count = match n.kind {
                    T::Int(v) => v,
                    T::Minus => {
                        return Err(Error::new(
                            format!("[{name}] requires a positive number"),
                            n.span,
                        ))
                    }
                    _ => return Err(Error::new(format!("[{name}] requires a number, found {}", describe(&n.kind)), n.span)),
                };
                let span = t.span.to(n.span);
                Ok(if name == "head" {
                    Pipe::Head { count, span }
                } else {
                    Pipe::Tail { count, span }
                })
            }
            other => Err(Error::new(
                format!("Pipe [{other}] is not supported; Elasticsearch EQL supports only [head] and [tail]"),
                t.span,
            )),
        }
    }

    fn event_query(&mut self) -> R<EventQuery> {
        let t = self.peek().clone();
        let category = match t.kind {
            T::Ident(ref s) if s == "any" => Category::Any(t.span),
            T::Ident(ref s) if !RESERVED.contains(&s.as_str()) => Category::Named {
                name: s.clone(),
                quoted: false,
                span: t.span,
            },
            T::QuotedIdent(ref s) => Category::Named {
                name: s.clone(),
                quoted: false,
                span: t.span,
            },
            T::Str(ref s) => Category::Named {
                name: s.clone(),
                quoted: true,
                span: t.span,
            },
            _ => return Err(self.unexpected("an event category or 'any'")),
        };
        self.bump();
        if self.is_kw("of")
            || self.is_kw("descendant")
            || self.is_kw("child")
            || self.is_kw("event")
        {
            return Err(Error::new(
                "Process relationships (descendant of, child of, event of) are not supported",
                self.peek().span,
            ));
        }
        self.expect_kw("where")?;
        let condition = self.expr()?;
        Ok(EventQuery {
            span: t.span.to(condition.span),
            category,
            condition,
        })
    }

    fn join_keys(&mut self) -> R<Vec<Expr>> {
        let mut keys = vec![self.expr()?];
        while self.eat(&T::Comma) {
            keys.push(self.expr()?);
        }
        Ok(keys)
    }

    fn sequence(&mut self) -> R<Sequence> {
        let start = self.bump().span;
        let mut by = Vec::new();
        let mut maxspan = None;
        if self.eat_kw("by") {
            by = self.join_keys()?;
            if self.is_kw("with") {
                maxspan = Some(self.maxspan()?);
            }
        } else if self.is_kw("with") {
            maxspan = Some(self.maxspan()?);
            if self.eat_kw("by") {
                by = self.join_keys()?;
            }
        }
        let mut steps = Vec::new();
        while self.peek().kind == T::LBracket || self.peek().kind == T::Bang {
            steps.push(self.step(true)?);
        }
        if steps.iter().map(|s| s.runs.unwrap_or(1)).sum::<u32>() < 2 {
            return Err(Error::new(
                "A sequence requires a minimum of 2 queries (counting runs)",
                self.peek().span,
            ));
        }
        let mut until = None;
        if self.eat_kw("until") {
            let u = self.step(false)?;
            if u.runs.is_some() {
                return Err(Error::new(
                    "[runs] is not allowed on an until query",
                    u.span,
                ));
            }
            until = Some(u);
        }
        Ok(Sequence {
            by,
            maxspan,
            steps,
            until,
            span: Span::new(start.start as usize, self.prev_end() as usize),
        })
    }

    fn maxspan(&mut self) -> R<TimeSpan> {
        self.expect_kw("with")?;
        let kw = self.bump();
        match &kw.kind {
            T::Ident(s) if s == "maxspan" => {}
            _ => {
                return Err(Error::new(
                    format!("expected 'maxspan', found {}", describe(&kw.kind)),
                    kw.span,
                ))
            }
        }
        self.expect(&T::Assign, "'='")?;
        let n = self.bump();
        let value = match n.kind {
            T::Int(v) => v,
            T::Float(_) => {
                return Err(Error::new(
                    "Decimal time intervals are not supported",
                    n.span,
                ))
            }
            _ => {
                return Err(Error::new(
                    format!("expected a time interval, found {}", describe(&n.kind)),
                    n.span,
                ))
            }
        };
        let unit = match &self.peek().kind {
            T::Ident(u)
                if self.peek().span.start == n.span.end || !RESERVED.contains(&u.as_str()) =>
            {
                let u = u.clone();
                let ut = self.bump();
                match u.as_str() {
                    "ms" => TimeUnit::Millis,
                    "s" => TimeUnit::Seconds,
                    "m" => TimeUnit::Minutes,
                    "h" => TimeUnit::Hours,
                    "d" => TimeUnit::Days,
                    other => {
                        return Err(Error::new(
                            format!("Unrecognized time unit [{other}] in [{value}{other}]; use one of ms, s, m, h, d"),
                            n.span.to(ut.span),
                        ))
                    }
                }
            }
            _ => {
                return Err(Error::new(
                    format!("No time unit specified, did you mean [s] as in [{value}s]?"),
                    n.span,
                ))
            }
        };
        Ok(TimeSpan {
            value,
            unit,
            span: n.span.to(Span::new(0, self.prev_end() as usize)),
        })
    }

    fn step(&mut self, allow_missing: bool) -> R<Step> {
        let start = self.peek().span;
        let missing = if self.peek().kind == T::Bang {
            if !allow_missing {
                return Err(Error::new(
                    "A missing event (![...]) is not allowed here",
                    start,
                ));
            }
            self.bump();
            true
        } else {
            false
        };
        self.expect(&T::LBracket, "'['")?;
        let query = self.event_query()?;
        self.expect(&T::RBracket, "']'")?;
        let mut by = Vec::new();
        if self.eat_kw("by") {
            by = self.join_keys()?;
        }
        let mut runs = None;
        if self.is_kw("with") && !matches!(&self.peek_at(1).kind, T::Ident(s) if s == "maxspan") {
            self.bump();
            let k = self.bump();
            match &k.kind {
                T::Ident(s) if s == "runs" => {}
                _ => {
                    return Err(Error::new(
                        format!("expected 'runs', found {}", describe(&k.kind)),
                        k.span,
                    ))
                }
            }
            self.expect(&T::Assign, "'='")?;
            let n = self.bump();
            match n.kind {
                T::Int(v) if (1..=100).contains(&v) => runs = Some(v as u32),
                _ => {
                    return Err(Error::new(
                        "A sequence step's [runs] must be a whole number between 1 and 100",
                        n.span,
                    ))
                }
            }
        }
        Ok(Step {
            query,
            by,
            runs,
            missing,
            span: Span::new(start.start as usize, self.prev_end() as usize),
        })
    }

    fn sample(&mut self) -> R<Sample> {
        let start = self.bump().span;
        let mut by = Vec::new();
        if self.eat_kw("by") {
            by = self.join_keys()?;
        }
        if self.is_kw("with") {
            return Err(Error::new(
                "[sample] does not take parameters",
                self.peek().span,
            ));
        }
        let mut steps = Vec::new();
        while self.peek().kind == T::LBracket || self.peek().kind == T::Bang {
            if self.peek().kind == T::Bang {
                return Err(Error::new(
                    "Missing events are not allowed in [sample]",
                    self.peek().span,
                ));
            }
            let s = self.step(false)?;
            if s.runs.is_some() {
                return Err(Error::new("[runs] is not allowed in [sample]", s.span));
            }
            steps.push(s);
        }
        if steps.len() < 2 {
            return Err(Error::new(
                "A sample requires a minimum of 2 queries",
                self.peek().span,
            ));
        }
        Ok(Sample {
            by,
            steps,
            span: Span::new(start.start as usize, self.prev_end() as usize),
        })
    }

    // ---- expressions ----

    pub fn expr(&mut self) -> R<Expr> {
        self.or_expr()
    }

    fn or_expr(&mut self) -> R<Expr> {
        let mut left = self.and_expr()?;
        while self.eat_kw("or") {
            let right = self.and_expr()?;
            let span = left.span.to(right.span);
            left = Expr::new(ExprKind::Or(Box::new(left), Box::new(right)), span);
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> R<Expr> {
        let mut left = self.not_expr()?;
        while self.eat_kw("and") {
            let right = self.not_expr()?;
            let span = left.span.to(right.span);
            left = Expr::new(ExprKind::And(Box::new(left), Box::new(right)), span);
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> R<Expr> {
        if self.is_kw("not") {
            let t = self.bump();
            let inner = self.not_expr()?;
            let span = t.span.to(inner.span);
            return Ok(Expr::new(ExprKind::Not(Box::new(inner)), span));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> R<Expr> {
        let left = self.additive()?;
        let op =
            match self.peek().kind {
                T::Eq => CmpOp::Eq,
                T::Neq => CmpOp::Neq,
                T::Lt => CmpOp::Lt,
                T::Le => CmpOp::Le,
                T::Gt => CmpOp::Gt,
                T::Ge => CmpOp::Ge,
                T::Assign => return Err(Error::new(
                    "Single '=' is not supported as an equality operator, use '==' or ':' instead",
                    self.peek().span,
                )),
                _ => return Ok(left),
            };
        self.bump();
        let right = self.additive()?;
        if matches!(
            self.peek().kind,
            T::Eq | T::Neq | T::Lt | T::Le | T::Gt | T::Ge
        ) {
            return Err(Error::new(
                "Comparisons cannot be chained; use parentheses",
                self.peek().span,
            ));
        }
        let span = left.span.to(right.span);
        Ok(Expr::new(
            ExprKind::Compare(op, Box::new(left), Box::new(right)),
            span,
        ))
    }

    fn additive(&mut self) -> R<Expr> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek().kind {
                T::Plus => ArithOp::Add,
                T::Minus => ArithOp::Sub,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.multiplicative()?;
            let span = left.span.to(right.span);
            left = Expr::new(ExprKind::Arith(op, Box::new(left), Box::new(right)), span);
        }
    }

    fn multiplicative(&mut self) -> R<Expr> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek().kind {
                T::Star => ArithOp::Mul,
                T::Slash => ArithOp::Div,
                T::Percent => ArithOp::Mod,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.unary()?;
            let span = left.span.to(right.span);
            left = Expr::new(ExprKind::Arith(op, Box::new(left), Box::new(right)), span);
        }
    }

    fn unary(&mut self) -> R<Expr> {
        match self.peek().kind {
            T::Minus => {
                let t = self.bump();
                let inner = self.unary()?;
                let span = t.span.to(inner.span);
                Ok(Expr::new(ExprKind::Neg(Box::new(inner)), span))
            }
            T::Plus => {
                self.bump();
                self.unary()
            }
            _ => self.predicated(),
        }
    }

    fn predicated(&mut self) -> R<Expr> {
        let e = self.primary()?;
        // `not in` / `not in~`
        if self.is_kw("not") {
            let next = &self.peek_at(1).kind;
            let insensitive = match next {
                T::Ident(s) if s == "in" => false,
                T::TildeIdent(s) if s == "in" => true,
                _ => return Ok(e),
            };
            self.bump();
            self.bump();
            return self.in_list(e, true, insensitive);
        }
        let op = match &self.peek().kind {
            T::Ident(s) if s == "in" => {
                self.bump();
                return self.in_list(e, false, false);
            }
            T::TildeIdent(s) if s == "in" => {
                self.bump();
                return self.in_list(e, false, true);
            }
            T::Colon => MatchOp::Colon,
            T::NotColon => MatchOp::NotColon,
            T::Ident(s) if s == "like" => MatchOp::Like,
            T::TildeIdent(s) if s == "like" => MatchOp::LikeInsensitive,
            T::Ident(s) if s == "regex" => MatchOp::Regex,
            T::TildeIdent(s) if s == "regex" => MatchOp::RegexInsensitive,
            _ => return Ok(e),
        };
        self.bump();
        let (patterns, list) = if self.eat(&T::LParen) {
            let mut ps = vec![self.constant()?];
            while self.eat(&T::Comma) {
                ps.push(self.constant()?);
            }
            self.expect(&T::RParen, "',' or ')'")?;
            (ps, true)
        } else {
            (vec![self.constant()?], false)
        };
        let span = Span::new(e.span.start as usize, self.prev_end() as usize);
        Ok(Expr::new(
            ExprKind::Match {
                op,
                expr: Box::new(e),
                patterns,
                list,
            },
            span,
        ))
    }

    fn in_list(&mut self, e: Expr, negated: bool, insensitive: bool) -> R<Expr> {
        self.expect(&T::LParen, "'(' after 'in'")?;
        let mut list = vec![self.expr()?];
        while self.eat(&T::Comma) {
            list.push(self.expr()?);
        }
        self.expect(&T::RParen, "',' or ')'")?;
        let span = Span::new(e.span.start as usize, self.prev_end() as usize);
        Ok(Expr::new(
            ExprKind::In {
                expr: Box::new(e),
                list,
                negated,
                insensitive,
            },
            span,
        ))
    }

    /// A literal operand of a pattern operator (a string; numbers and null are
    /// accepted here and rejected with a type error during analysis).
    fn constant(&mut self) -> R<Expr> {
        let t = self.peek().clone();
        let lit = match t.kind {
            T::Str(s) => Literal::Str(s),
            T::Int(v) => Literal::Int(v),
            T::Float(v) => Literal::Float(v),
            T::Ident(ref s) if s == "null" => Literal::Null,
            T::Ident(ref s) if s == "true" => Literal::Bool(true),
            T::Ident(ref s) if s == "false" => Literal::Bool(false),
            _ => return Err(self.unexpected("a constant")),
        };
        self.bump();
        Ok(Expr::new(ExprKind::Literal(lit), t.span))
    }

    fn primary(&mut self) -> R<Expr> {
        let t = self.peek().clone();
        match t.kind {
            T::Str(s) => {
                self.bump();
                Ok(Expr::new(ExprKind::Literal(Literal::Str(s)), t.span))
            }
            T::Int(v) => {
                self.bump();
                Ok(Expr::new(ExprKind::Literal(Literal::Int(v)), t.span))
            }
            T::BigInt(text) => Err(Error::new(format!("Number [{text}] is too large"), t.span)),
            T::Float(v) => {
                self.bump();
                Ok(Expr::new(ExprKind::Literal(Literal::Float(v)), t.span))
            }
            T::LParen => {
                self.bump();
                let inner = self.expr()?;
                let close = self.expect(&T::RParen, "')'")?;
                Ok(Expr::new(
                    ExprKind::Paren(Box::new(inner)),
                    t.span.to(close.span),
                ))
            }
            T::TildeIdent(name) => {
                self.bump();
                if self.peek().kind != T::LParen {
                    return Err(self.unexpected("'(' after a function name"));
                }
                self.call(name, true, t.span)
            }
            T::Ident(ref s) if s == "null" => {
                self.bump();
                Ok(Expr::new(ExprKind::Literal(Literal::Null), t.span))
            }
            T::Ident(ref s) if s == "true" || s == "false" => {
                self.bump();
                Ok(Expr::new(
                    ExprKind::Literal(Literal::Bool(s == "true")),
                    t.span,
                ))
            }
            T::Ident(ref name)
                if self.peek_at(1).kind == T::LParen && !RESERVED.contains(&name.as_str()) =>
            {
                self.bump();
                self.call(name.clone(), false, t.span)
            }
            T::Question => {
                self.bump();
                let mut f = self.field(t.span)?;
                if let ExprKind::Field(r) = &mut f.kind {
                    r.optional = true;
                }
                Ok(f)
            }
            T::Ident(_) | T::QuotedIdent(_) => self.field(t.span),
            _ => Err(self.unexpected("an expression")),
        }
    }

    fn call(&mut self, name: String, insensitive: bool, start: Span) -> R<Expr> {
        self.expect(&T::LParen, "'('")?;
        let mut args = Vec::new();
        if !self.eat(&T::RParen) {
            args.push(self.expr()?);
            while self.eat(&T::Comma) {
                args.push(self.expr()?);
            }
            self.expect(&T::RParen, "',' or ')'")?;
        }
        let span = Span::new(start.start as usize, self.prev_end() as usize);
        Ok(Expr::new(
            ExprKind::Call {
                name,
                insensitive,
                args,
            },
            span,
        ))
    }

    fn field(&mut self, start: Span) -> R<Expr> {
        let mut path = vec![self.ident_segment()?];
        loop {
            if self.peek().kind == T::Dot {
                self.bump();
                path.push(self.ident_segment()?);
            } else if self.peek().kind == T::LBracket && self.peek().span.start == self.prev_end() {
                return Err(Error::new(
                    "Array indexes are not supported",
                    self.peek().span,
                ));
            } else {
                break;
            }
        }
        let span = Span::new(start.start as usize, self.prev_end() as usize);
        Ok(Expr::new(
            ExprKind::Field(FieldRef {
                path,
                optional: false,
            }),
            span,
        ))
    }

    fn ident_segment(&mut self) -> R<String> {
        let t = self.peek().clone();
        match t.kind {
            T::Ident(s) if !RESERVED.contains(&s.as_str()) => {
                self.bump();
                Ok(s)
            }
            T::QuotedIdent(s) => {
                self.bump();
                Ok(s)
            }
            T::Ident(s) => Err(Error::new(
                format!(
                    "[{s}] is a reserved word; quote it with backticks to use it as a field name"
                ),
                t.span,
            )),
            _ => Err(self.unexpected("a field name")),
        }
    }
}

fn describe(k: &T) -> String {
    match k {
        T::Ident(s) => format!("'{s}'"),
        T::QuotedIdent(s) => format!("`{s}`"),
        T::TildeIdent(s) => format!("'{s}~'"),
        T::Str(s) => format!("string \"{s}\""),
        T::Int(v) => format!("number {v}"),
        T::BigInt(s) => format!("number {s}"),
        T::Float(v) => format!("number {v}"),
        T::Eof => "end of query".to_string(),
        other => format!("'{}'", punct(other)),
    }
}

fn punct(k: &T) -> &'static str {
    match k {
        T::LParen => "(",
        T::RParen => ")",
        T::LBracket => "[",
        T::RBracket => "]",
        T::Comma => ",",
        T::Dot => ".",
        T::Pipe => "|",
        T::Question => "?",
        T::Bang => "!",
        T::Assign => "=",
        T::Eq => "==",
        T::Neq => "!=",
        T::Lt => "<",
        T::Le => "<=",
        T::Gt => ">",
        T::Ge => ">=",
        T::Colon => ":",
        T::NotColon => "!:",
        T::Plus => "+",
        T::Minus => "-",
        T::Star => "*",
        T::Slash => "/",
        T::Percent => "%",
        _ => "?",
    }
}
