//! Recursive-descent parser with precedence climbing for binary operators.
//!
//! Pipes bind loosest: `parse_pipe` parses `expr (| operator)*` and is used wherever a
//! tabular value may appear (statements, `let` values, parentheses, function arguments,
//! `in (…)` lists). Inside an operator's arguments `parse_expr` stops at `|`.

use crate::ast::*;
use crate::error::ParseError;
use crate::lexer::{Token, TokenKind};

type PResult<T> = Result<T, ParseError>;

/// Maximum nesting of parentheses, brackets and sub-pipelines: deeper input is rejected
/// rather than risking stack exhaustion.
const MAX_DEPTH: usize = 64;

pub(crate) struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    prev_end: usize,
    /// Inside a `search` predicate, where `Column:"term"` is an operator.
    in_search: bool,
}

enum Infix {
    Bin(BinaryOp, usize),
    List(ListOp),
    Between(bool),
}

/// Tabular operator names, for error hints.
const OPERATOR_NAMES: &[&str] = &[
    "where",
    "filter",
    "project",
    "project-away",
    "project-keep",
    "project-rename",
    "project-reorder",
    "extend",
    "summarize",
    "count",
    "take",
    "limit",
    "top",
    "top-nested",
    "top-hitters",
    "sort",
    "order",
    "distinct",
    "join",
    "lookup",
    "union",
    "mv-expand",
    "mv-apply",
    "parse",
    "parse-where",
    "parse-kv",
    "search",
    "getschema",
    "evaluate",
    "make-series",
    "serialize",
    "sample",
    "sample-distinct",
    "invoke",
    "as",
    "render",
    "facet",
    "fork",
    "partition",
    "reduce",
    "consume",
    "scan",
];

/// Keywords often mistyped in another case.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "by",
    "on",
    "with",
    "of",
    "in",
    "has",
    "contains",
    "startswith",
    "endswith",
    "between",
    "asc",
    "desc",
    "let",
    "kind",
    "true",
    "false",
];

/// A hint when `word` is a keyword or operator written in the wrong case.
fn case_hint(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    if lower != word
        && (OPERATOR_NAMES.contains(&lower.as_str()) || KEYWORDS.contains(&lower.as_str()))
    {
        format!(" (KQL is case-sensitive: write `{lower}`)")
    } else {
        String::new()
    }
}

/// Infix precedence of comparisons, `in`, `between` and the string predicates.
const CMP_PREC: u8 = 3;

impl Parser {
    pub(crate) fn new(toks: Vec<Token>) -> Parser {
        Parser {
            toks,
            pos: 0,
            depth: 0,
            prev_end: 0,
            in_search: false,
        }
    }

    // ----- token helpers -------------------------------------------------------------

    fn nth(&self, n: usize) -> &TokenKind {
        self.toks
            .get(self.pos + n)
            .or_else(|| self.toks.last())
            .map_or(&TokenKind::Eof, |t| &t.kind)
    }

    fn peek(&self) -> &TokenKind {
        self.nth(0)
    }

    fn span_at(&self, n: usize) -> Span {
        self.toks
            .get(self.pos + n)
            .or_else(|| self.toks.last())
            .map_or(Span::default(), |t| t.span)
    }

    fn span(&self) -> Span {
        self.span_at(0)
    }

    fn start(&self) -> usize {
        self.span().start
    }

    /// Span from `start` to the end of the last consumed token.
    fn since(&self, start: usize) -> Span {
        Span::new(start, self.prev_end.max(start))
    }

    fn bump(&mut self) -> Token {
        let tok = self.toks.get(self.pos).cloned().unwrap_or(Token {
            kind: TokenKind::Eof,
            span: self.span(),
        });
        if self.pos < self.toks.len() && tok.kind != TokenKind::Eof {
            self.pos += 1;
            self.prev_end = tok.span.end;
        }
        tok
    }

    fn at_sym_n(&self, n: usize, s: &str) -> bool {
        matches!(self.nth(n), TokenKind::Sym(x) if *x == s)
    }

    fn at_sym(&self, s: &str) -> bool {
        self.at_sym_n(0, s)
    }

    fn at_kw_n(&self, n: usize, kw: &str) -> bool {
        matches!(self.nth(n), TokenKind::Ident(x) if x == kw)
    }

    fn at_kw(&self, kw: &str) -> bool {
        self.at_kw_n(0, kw)
    }

    /// `set name` or `set ["name"]` (the printer quotes names that are not identifiers).
    fn at_set(&self) -> bool {
        self.at_kw("set") && (self.at_ident_n(1) || self.at_sym_n(1, "["))
    }

    fn at_ident_n(&self, n: usize) -> bool {
        matches!(self.nth(n), TokenKind::Ident(_))
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if self.at_sym(s) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.at_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, s: &str) -> PResult<Span> {
        if self.at_sym(s) {
            Ok(self.bump().span)
        } else {
            Err(self.unexpected(&format!("`{s}`")))
        }
    }

    fn expect_kw(&mut self, kw: &str) -> PResult<Span> {
        if self.at_kw(kw) {
            Ok(self.bump().span)
        } else {
            Err(self.unexpected(&format!("`{kw}`")))
        }
    }

    fn describe(kind: &TokenKind) -> String {
        match kind {
            TokenKind::Ident(s) => format!("`{s}`"),
            TokenKind::Str { .. } => "a string literal".into(),
            TokenKind::Long(_) | TokenKind::Real(_) => "a number".into(),
            TokenKind::Timespan { raw, .. } => format!("timespan `{raw}`"),
            TokenKind::Typed { ty, .. } => format!("a `{ty}(…)` literal"),
            TokenKind::Sym(s) => format!("`{s}`"),
            TokenKind::Eof => "end of input".into(),
        }
    }

    fn unexpected(&self, expected: &str) -> ParseError {
        let mut message = format!("expected {expected}, found {}", Self::describe(self.peek()));
        if let TokenKind::Ident(word) = self.peek() {
            message.push_str(&case_hint(word));
        }
        ParseError::new(message, self.span())
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                format!("nesting deeper than {MAX_DEPTH} levels"),
                self.span(),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// End of the current operator's arguments.
    fn at_op_end(&self) -> bool {
        matches!(self.peek(), TokenKind::Eof)
            || self.at_sym("|")
            || self.at_sym(";")
            || self.at_sym(")")
            || self.at_sym("}")
            || self.at_sym("]")
    }

    // ----- statements ----------------------------------------------------------------

    pub(crate) fn parse_script(&mut self) -> PResult<Script> {
        let mut statements = Vec::new();
        loop {
            while self.eat_sym(";") {}
            if matches!(self.peek(), TokenKind::Eof) {
                break;
            }
            statements.push(self.parse_statement()?);
            if self.eat_sym(";") {
                continue;
            }
            if matches!(self.peek(), TokenKind::Eof) {
                break;
            }
            return Err(self.unexpected("`;`, `|` or end of input"));
        }
        let end = self.toks.last().map_or(0, |t| t.span.end);
        Ok(Script {
            statements,
            span: Span::new(0, end),
        })
    }

    fn parse_statement(&mut self) -> PResult<Statement> {
        let start = self.start();
        let kind = if self.at_kw("let") && self.at_ident_n(1)
            || self.at_kw("let") && self.at_sym_n(1, "[")
        {
            self.bump();
            let name = self.parse_name()?;
            self.expect_sym("=")?;
            let value = self.parse_let_value()?;
            StatementKind::Let { name, value }
        } else if self.at_set() {
            self.bump();
            let name = self.parse_dotted_name()?;
            let value = if self.eat_sym("=") {
                Some(self.parse_expr()?)
            } else {
                None
            };
            StatementKind::Set { name, value }
        } else if self.at_kw("declare") && self.at_kw_n(1, "pattern") {
            self.bump();
            self.bump();
            let name = self.parse_name()?;
            let definition = if self.eat_sym("=") {
                Some(self.parse_pattern_def()?)
            } else {
                None
            };
            StatementKind::DeclarePattern { name, definition }
        } else if self.at_kw("declare") && self.at_kw_n(1, "query_parameters") {
            self.bump();
            self.bump();
            StatementKind::DeclareQueryParameters(self.parse_params()?)
        } else {
            StatementKind::Query(self.parse_pipe()?)
        };
        Ok(Statement {
            kind,
            span: self.since(start),
        })
    }

    fn parse_pattern_def(&mut self) -> PResult<PatternDef> {
        let start = self.start();
        let params = self.parse_params()?;
        let path = if self.eat_sym("[") {
            let s = self.start();
            let name = self.parse_name()?;
            self.expect_sym(":")?;
            let ty = ParamType::Scalar(self.parse_type_name()?);
            self.expect_sym("]")?;
            Some(Param {
                name,
                ty,
                default: None,
                span: self.since(s),
            })
        } else {
            None
        };
        self.expect_sym("{")?;
        self.enter()?;
        let mut entries = Vec::new();
        while self.at_sym("(") {
            let s = self.start();
            self.bump();
            let mut args = Vec::new();
            if !self.at_sym(")") {
                args = self.parse_expr_list()?;
            }
            self.expect_sym(")")?;
            let path = if self.at_sym(".") && self.at_sym_n(1, "[") {
                self.bump();
                self.bump();
                let p = self.parse_expr()?;
                self.expect_sym("]")?;
                Some(p)
            } else {
                None
            };
            self.expect_sym("=")?;
            let body = self.parse_body()?;
            entries.push(PatternEntry {
                args,
                path,
                body,
                span: self.since(s),
            });
            if !self.eat_sym(";") {
                break;
            }
        }
        self.expect_sym("}")?;
        self.leave();
        Ok(PatternDef {
            params,
            path,
            entries,
            span: self.since(start),
        })
    }

    fn parse_let_value(&mut self) -> PResult<LetValue> {
        if self.at_kw("view") && self.at_sym_n(1, "(") {
            self.bump();
            return Ok(LetValue::View(self.parse_function()?));
        }
        if self.at_sym("(") && self.lambda_ahead() {
            return Ok(LetValue::Function(self.parse_function()?));
        }
        Ok(LetValue::Expr(self.parse_pipe()?))
    }

    fn lambda_ahead(&self) -> bool {
        (self.at_sym_n(1, ")") && self.at_sym_n(2, "{"))
            || ((self.at_ident_n(1) || self.at_sym_n(1, "[")) && self.at_sym_n(2, ":"))
    }

    fn parse_function(&mut self) -> PResult<Function> {
        let start = self.start();
        let params = self.parse_params()?;
        let body = self.parse_body()?;
        Ok(Function {
            params,
            body,
            span: self.since(start),
        })
    }

    fn parse_body(&mut self) -> PResult<Body> {
        let start = self.start();
        self.expect_sym("{")?;
        self.enter()?;
        let mut lets = Vec::new();
        let result = loop {
            while self.eat_sym(";") {}
            if self.at_kw("let") || self.at_set() {
                let st = self.parse_statement()?;
                lets.push(st);
                if !self.at_sym("}") {
                    self.expect_sym(";")?;
                }
                continue;
            }
            let e = self.parse_pipe()?;
            while self.eat_sym(";") {}
            break e;
        };
        self.expect_sym("}")?;
        self.leave();
        Ok(Body {
            lets,
            result: Box::new(result),
            span: self.since(start),
        })
    }

    fn parse_params(&mut self) -> PResult<Vec<Param>> {
        self.expect_sym("(")?;
        let mut params = Vec::new();
        if !self.at_sym(")") {
            loop {
                let start = self.start();
                let name = self.parse_name()?;
                self.expect_sym(":")?;
                let ty = if self.at_sym("(") {
                    let (columns, any) = self.parse_schema()?;
                    ParamType::Tabular { columns, any }
                } else {
                    ParamType::Scalar(self.parse_type_name()?)
                };
                let default = if self.eat_sym("=") {
                    Some(self.parse_expr()?)
                } else {
                    None
                };
                params.push(Param {
                    name,
                    ty,
                    default,
                    span: self.since(start),
                });
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        self.expect_sym(")")?;
        Ok(params)
    }

    /// `( name:type, …[, *] )`; returns the columns and whether `*` was present.
    fn parse_schema(&mut self) -> PResult<(Vec<ColumnDecl>, bool)> {
        self.expect_sym("(")?;
        let mut columns = Vec::new();
        let mut any = false;
        if !self.at_sym(")") {
            loop {
                if self.eat_sym("*") {
                    any = true;
                } else {
                    columns.push(self.parse_column_decl()?);
                }
                if !self.eat_sym(",") {
                    break;
                }
                if self.at_sym(")") {
                    break;
                }
            }
        }
        self.expect_sym(")")?;
        Ok((columns, any))
    }

    fn parse_column_decl(&mut self) -> PResult<ColumnDecl> {
        let start = self.start();
        let name = self.parse_name()?;
        self.expect_sym(":")?;
        let ty = self.parse_type_name()?;
        Ok(ColumnDecl {
            name,
            ty,
            span: self.since(start),
        })
    }

    fn parse_type_name(&mut self) -> PResult<Ident> {
        match self.peek().clone() {
            TokenKind::Ident(name) => {
                let span = self.bump().span;
                Ok(Ident { name, span })
            }
            _ => Err(self.unexpected("a type name")),
        }
    }

    /// An identifier or a bracketed name `['…']` / `["…"]`.
    fn parse_name(&mut self) -> PResult<Ident> {
        match self.peek().clone() {
            TokenKind::Ident(name) => {
                let span = self.bump().span;
                Ok(Ident { name, span })
            }
            TokenKind::Sym("[") if matches!(self.nth(1), TokenKind::Str { .. }) => {
                let start = self.bump().span.start;
                let TokenKind::Str { value, .. } = self.bump().kind else {
                    return Err(self.unexpected("a string"));
                };
                self.expect_sym("]")?;
                Ok(Ident {
                    name: value,
                    span: self.since(start),
                })
            }
            _ => Err(self.unexpected("a name")),
        }
    }

    fn at_name(&self) -> bool {
        self.at_ident_n(0) || (self.at_sym("[") && matches!(self.nth(1), TokenKind::Str { .. }))
    }

    /// `a.b.c` joined into one name (used for `set` and options such as `hint.strategy`).
    fn parse_dotted_name(&mut self) -> PResult<Ident> {
        let start = self.start();
        let mut name = self.parse_name()?.name;
        while self.at_sym(".") && self.at_ident_n(1) {
            self.bump();
            name.push('.');
            name.push_str(&self.parse_name()?.name);
        }
        Ok(Ident {
            name,
            span: self.since(start),
        })
    }

    // ----- options ---------------------------------------------------------------------

    /// If an option `name(.name)* =` starts here, its name and token length.
    fn option_ahead(&self) -> Option<(String, usize)> {
        let mut n = 0;
        let mut name = String::new();
        loop {
            match self.nth(n) {
                TokenKind::Ident(s) => name.push_str(s),
                _ => return None,
            }
            n += 1;
            if self.at_sym_n(n, ".") {
                name.push('.');
                n += 1;
                continue;
            }
            break;
        }
        if self.at_sym_n(n, "=") {
            Some((name, n))
        } else {
            None
        }
    }

    /// Options such as `kind=inner` whose names are in `allowed` (`"hint.*"` admits every
    /// `hint.` name; `"*"` admits any name).
    fn parse_options(&mut self, allowed: &[&str]) -> PResult<Vec<NamedValue>> {
        let mut out = Vec::new();
        while let Some((name, _)) = self.option_ahead() {
            let ok = allowed.contains(&name.as_str())
                || allowed.contains(&"*")
                || (name.starts_with("hint.") && allowed.contains(&"hint.*"));
            if !ok {
                break;
            }
            let start = self.start();
            let ident = self.parse_dotted_name()?;
            self.expect_sym("=")?;
            let value = self.parse_option_value()?;
            out.push(NamedValue {
                name: ident,
                value,
                span: self.since(start),
            });
        }
        Ok(out)
    }

    /// An option value: a bare name, a literal, or a signed number (never a call, so that
    /// `kind=inner (T)` keeps `(T)` for the operator).
    fn parse_option_value(&mut self) -> PResult<Expr> {
        if let TokenKind::Ident(name) = self.peek().clone() {
            if !name.eq_ignore_ascii_case("true") && !name.eq_ignore_ascii_case("false") {
                let span = self.bump().span;
                return Ok(Expr {
                    kind: ExprKind::Ident(Ident { name, span }),
                    span,
                });
            }
        }
        self.parse_unary()
    }

    /// `( name = value, … )`
    fn parse_with_props(&mut self) -> PResult<Vec<NamedValue>> {
        self.expect_sym("(")?;
        let mut out = Vec::new();
        if !self.at_sym(")") {
            loop {
                out.push(self.parse_named_value()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        self.expect_sym(")")?;
        Ok(out)
    }

    fn parse_named_value(&mut self) -> PResult<NamedValue> {
        let start = self.start();
        let name = self.parse_dotted_name()?;
        self.expect_sym("=")?;
        let value = self.parse_expr()?;
        Ok(NamedValue {
            name,
            value,
            span: self.since(start),
        })
    }

    // ----- expressions ---------------------------------------------------------------

    /// `expr (| operator)*`
    pub(crate) fn parse_pipe(&mut self) -> PResult<Expr> {
        self.enter()?;
        let start = self.start();
        let mut lhs = self.parse_expr()?;
        while self.at_sym("|") {
            self.bump();
            let op = self.parse_operator()?;
            lhs = Expr {
                kind: ExprKind::Pipe {
                    input: Box::new(lhs),
                    op: Box::new(op),
                },
                span: self.since(start),
            };
        }
        self.leave();
        Ok(lhs)
    }

    pub(crate) fn parse_expr(&mut self) -> PResult<Expr> {
        self.parse_binary(0)
    }

    fn peek_infix(&self) -> Option<Infix> {
        use BinaryOp::*;
        let op = match self.peek() {
            TokenKind::Sym(s) => match *s {
                "==" => Eq,
                "!=" | "<>" => NotEq,
                "=~" => EqTilde,
                "!~" => NotEqTilde,
                "<" => Lt,
                "<=" => Le,
                ">" => Gt,
                ">=" => Ge,
                "+" => Add,
                "-" => Sub,
                "*" => Mul,
                "/" => Div,
                "%" => Mod,
                ":" if self.in_search => SearchHas,
                _ => return None,
            },
            TokenKind::Ident(s) => match s.as_str() {
                "or" => Or,
                "and" => And,
                "has" => Has,
                "!has" => NotHas,
                "has_cs" => HasCs,
                "!has_cs" => NotHasCs,
                "hasprefix" => HasPrefix,
                "!hasprefix" => NotHasPrefix,
                "hasprefix_cs" => HasPrefixCs,
                "!hasprefix_cs" => NotHasPrefixCs,
                "hassuffix" => HasSuffix,
                "!hassuffix" => NotHasSuffix,
                "hassuffix_cs" => HasSuffixCs,
                "!hassuffix_cs" => NotHasSuffixCs,
                "contains" => Contains,
                "!contains" | "notcontains" => NotContains,
                "contains_cs" | "containscs" => ContainsCs,
                "!contains_cs" | "!containscs" | "notcontainscs" => NotContainsCs,
                "startswith" => StartsWith,
                "!startswith" => NotStartsWith,
                "startswith_cs" => StartsWithCs,
                "!startswith_cs" => NotStartsWithCs,
                "endswith" => EndsWith,
                "!endswith" => NotEndsWith,
                "endswith_cs" => EndsWithCs,
                "!endswith_cs" => NotEndsWithCs,
                "matches" if self.at_kw_n(1, "regex") => return Some(Infix::Bin(MatchesRegex, 2)),
                "in" => return Some(Infix::List(ListOp::In)),
                "!in" => return Some(Infix::List(ListOp::NotIn)),
                "in~" => return Some(Infix::List(ListOp::InCi)),
                "!in~" => return Some(Infix::List(ListOp::NotInCi)),
                "has_any" => return Some(Infix::List(ListOp::HasAny)),
                "has_all" => return Some(Infix::List(ListOp::HasAll)),
                "between" => return Some(Infix::Between(false)),
                "!between" => return Some(Infix::Between(true)),
                _ => return None,
            },
            _ => return None,
        };
        Some(Infix::Bin(op, 1))
    }

    fn parse_binary(&mut self, min_prec: u8) -> PResult<Expr> {
        let start = self.start();
        let mut lhs = self.parse_unary()?;
        while let Some(infix) = self.peek_infix() {
            match infix {
                Infix::Bin(op, ntoks) => {
                    let prec = op.precedence();
                    if prec < min_prec {
                        break;
                    }
                    for _ in 0..ntoks {
                        self.bump();
                    }
                    let rhs = self.parse_binary(prec + 1)?;
                    lhs = Expr {
                        kind: ExprKind::Binary {
                            op,
                            lhs: Box::new(lhs),
                            rhs: Box::new(rhs),
                        },
                        span: self.since(start),
                    };
                }
                Infix::List(op) => {
                    if CMP_PREC < min_prec {
                        break;
                    }
                    self.bump();
                    let items = if self.at_sym("(") {
                        self.bump();
                        self.enter()?;
                        let mut items = Vec::new();
                        if !self.at_sym(")") {
                            loop {
                                items.push(self.parse_pipe()?);
                                if !self.eat_sym(",") || self.at_sym(")") {
                                    break;
                                }
                            }
                        }
                        self.expect_sym(")")?;
                        self.leave();
                        items
                    } else {
                        vec![self.parse_binary(CMP_PREC + 1)?]
                    };
                    lhs = Expr {
                        kind: ExprKind::InList {
                            op,
                            lhs: Box::new(lhs),
                            items,
                        },
                        span: self.since(start),
                    };
                }
                Infix::Between(negated) => {
                    if CMP_PREC < min_prec {
                        break;
                    }
                    self.bump();
                    self.expect_sym("(")?;
                    self.enter()?;
                    let low = self.parse_expr()?;
                    self.expect_sym("..")?;
                    let high = self.parse_expr()?;
                    self.expect_sym(")")?;
                    self.leave();
                    lhs = Expr {
                        kind: ExprKind::Between {
                            negated,
                            lhs: Box::new(lhs),
                            low: Box::new(low),
                            high: Box::new(high),
                        },
                        span: self.since(start),
                    };
                }
            }
        }
        Ok(lhs)
    }

    fn parse_unary(&mut self) -> PResult<Expr> {
        let start = self.start();
        let op = if self.at_sym("-") {
            UnaryOp::Neg
        } else if self.at_sym("+") {
            UnaryOp::Plus
        } else {
            return self.parse_postfix();
        };
        self.bump();
        self.enter()?;
        let operand = self.parse_unary()?;
        self.leave();
        Ok(Expr {
            kind: ExprKind::Unary {
                op,
                operand: Box::new(operand),
            },
            span: self.since(start),
        })
    }

    fn parse_postfix(&mut self) -> PResult<Expr> {
        let start = self.start();
        let mut e = self.parse_primary()?;
        loop {
            if self.at_sym("(") && matches!(e.kind, ExprKind::Ident(_) | ExprKind::Member { .. }) {
                let args = self.parse_args()?;
                e = Expr {
                    kind: ExprKind::Call {
                        callee: Box::new(e),
                        args,
                    },
                    span: self.since(start),
                };
            } else if self.at_sym(".") && self.at_ident_n(1) {
                self.bump();
                let name = self.parse_name()?;
                e = Expr {
                    kind: ExprKind::Member {
                        target: Box::new(e),
                        name,
                    },
                    span: self.since(start),
                };
            } else if self.at_sym(".") && matches!(self.nth(1), TokenKind::Typed { .. }) {
                // `x.time` lexed as a literal would be odd; treat the word as a member name.
                self.bump();
                let tok = self.bump();
                let TokenKind::Typed { ty, .. } = tok.kind else {
                    return Err(self.unexpected("a name"));
                };
                // Only valid when the literal text is actually a call; report otherwise.
                return Err(ParseError::new(
                    format!("`{ty}(…)` cannot follow `.`"),
                    tok.span,
                ));
            } else if self.at_sym("[") || (self.at_sym(".") && self.at_sym_n(1, "[")) {
                // `x[i]`, and the equivalent `x.[i]` / `x.['name']`.
                if self.at_sym(".") {
                    self.bump();
                }
                self.bump();
                self.enter()?;
                let index = self.parse_expr()?;
                self.expect_sym("]")?;
                self.leave();
                e = Expr {
                    kind: ExprKind::Index {
                        target: Box::new(e),
                        index: Box::new(index),
                    },
                    span: self.since(start),
                };
            } else {
                return Ok(e);
            }
        }
    }

    fn parse_args(&mut self) -> PResult<Vec<Arg>> {
        self.expect_sym("(")?;
        self.enter()?;
        let mut args = Vec::new();
        if !self.at_sym(")") {
            loop {
                let start = self.start();
                let name_len = if self.at_sym("[") { 3 } else { 1 };
                let name = if self.at_name() && self.at_sym_n(name_len, "=") {
                    let n = self.parse_name()?;
                    self.expect_sym("=")?;
                    Some(n)
                } else {
                    None
                };
                let value = self.parse_pipe()?;
                args.push(Arg {
                    name,
                    value,
                    span: self.since(start),
                });
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        self.expect_sym(")")?;
        self.leave();
        Ok(args)
    }

    fn lit(&self, lit: Literal, span: Span) -> Expr {
        Expr {
            kind: ExprKind::Literal(lit),
            span,
        }
    }

    fn parse_primary(&mut self) -> PResult<Expr> {
        let start = self.start();
        match self.peek().clone() {
            TokenKind::Str { .. } => {
                let mut value = String::new();
                let mut obfuscated = false;
                while let TokenKind::Str {
                    value: v,
                    obfuscated: o,
                } = self.peek().clone()
                {
                    self.bump();
                    value.push_str(&v);
                    obfuscated |= o;
                }
                Ok(self.lit(Literal::String { value, obfuscated }, self.since(start)))
            }
            TokenKind::Long(v) => {
                let span = self.bump().span;
                Ok(self.lit(Literal::Long(v), span))
            }
            TokenKind::Real(v) => {
                let span = self.bump().span;
                Ok(self.lit(Literal::Real(v), span))
            }
            TokenKind::Timespan { raw, ticks } => {
                let span = self.bump().span;
                Ok(self.lit(Literal::Timespan { raw, ticks }, span))
            }
            TokenKind::Typed { ty, raw } => {
                let span = self.bump().span;
                Ok(self.lit(Literal::Typed { ty, raw }, span))
            }
            TokenKind::Sym("(") => {
                self.bump();
                let inner = self.parse_pipe()?;
                self.expect_sym(")")?;
                Ok(Expr {
                    kind: ExprKind::Paren(Box::new(inner)),
                    span: self.since(start),
                })
            }
            TokenKind::Sym("*") => {
                let span = self.bump().span;
                Ok(Expr {
                    kind: ExprKind::Star,
                    span,
                })
            }
            TokenKind::Sym("[") if matches!(self.nth(1), TokenKind::Str { .. }) => {
                let id = self.parse_name()?;
                Ok(Expr {
                    span: id.span,
                    kind: ExprKind::Ident(id),
                })
            }
            TokenKind::Ident(name) => self.parse_ident_primary(name, start),
            _ => Err(self.unexpected("an expression")),
        }
    }

    fn parse_ident_primary(&mut self, name: String, start: usize) -> PResult<Expr> {
        let source = |p: &mut Parser, kind: SourceKind| -> PResult<Expr> {
            let span = p.since(start);
            Ok(Expr {
                kind: ExprKind::Source(Box::new(Source { kind, span })),
                span,
            })
        };
        match name.as_str() {
            "true" | "false" | "True" | "False" | "TRUE" | "FALSE" => {
                let span = self.bump().span;
                Ok(self.lit(Literal::Bool(name.eq_ignore_ascii_case("true")), span))
            }
            "dynamic" if self.at_sym_n(1, "(") => {
                self.bump();
                self.bump();
                self.enter()?;
                let v = self.parse_dyn()?;
                self.expect_sym(")")?;
                self.leave();
                Ok(Expr {
                    kind: ExprKind::Dynamic(v),
                    span: self.since(start),
                })
            }
            "print" => {
                self.bump();
                let cols = self.parse_column_list(&[])?;
                source(self, SourceKind::Print(cols))
            }
            "range" if self.at_ident_n(1) && self.at_kw_n(2, "from") => {
                self.bump();
                let name = self.parse_name()?;
                self.expect_kw("from")?;
                let from = self.parse_expr()?;
                self.expect_kw("to")?;
                let to = self.parse_expr()?;
                self.expect_kw("step")?;
                let step = self.parse_expr()?;
                source(
                    self,
                    SourceKind::Range {
                        name,
                        from,
                        to,
                        step,
                    },
                )
            }
            "datatable" if self.at_sym_n(1, "(") => {
                self.bump();
                let (columns, _) = self.parse_schema()?;
                let values = self.parse_bracket_list()?;
                source(self, SourceKind::Datatable { columns, values })
            }
            "externaldata" if self.at_sym_n(1, "(") => {
                self.bump();
                let (columns, _) = self.parse_schema()?;
                let uris = self.parse_bracket_list()?;
                let with = if self.eat_kw("with") {
                    self.parse_with_props()?
                } else {
                    Vec::new()
                };
                source(
                    self,
                    SourceKind::Externaldata {
                        columns,
                        uris,
                        with,
                    },
                )
            }
            "union" if !self.at_sym_n(1, "=") => {
                self.bump();
                let u = self.parse_union()?;
                source(self, SourceKind::Union(u))
            }
            "search" if !self.at_sym_n(1, "=") && !self.at_sym_n(1, "(") => {
                self.bump();
                let s = self.parse_search()?;
                source(self, SourceKind::Search(s))
            }
            "evaluate" if self.at_ident_n(1) => {
                self.bump();
                let e = self.parse_evaluate()?;
                source(self, SourceKind::Evaluate(e))
            }
            _ => {
                let span = self.bump().span;
                Ok(Expr {
                    kind: ExprKind::Ident(Ident { name, span }),
                    span,
                })
            }
        }
    }

    /// `[ expr, … ]` (a trailing comma is allowed).
    fn parse_bracket_list(&mut self) -> PResult<Vec<Expr>> {
        self.expect_sym("[")?;
        self.enter()?;
        let mut out = Vec::new();
        while !self.at_sym("]") {
            out.push(self.parse_expr()?);
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_sym("]")?;
        self.leave();
        Ok(out)
    }

    fn parse_dyn(&mut self) -> PResult<DynValue> {
        self.enter()?;
        let v = match self.peek().clone() {
            TokenKind::Sym("[") => {
                self.bump();
                let mut items = Vec::new();
                while !self.at_sym("]") {
                    items.push(self.parse_dyn()?);
                    if !self.eat_sym(",") {
                        break;
                    }
                }
                self.expect_sym("]")?;
                DynValue::Array(items)
            }
            TokenKind::Sym("{") => {
                self.bump();
                let mut entries = Vec::new();
                while !self.at_sym("}") {
                    let key = match self.peek().clone() {
                        TokenKind::Str { value, .. } => value,
                        TokenKind::Ident(name) => name,
                        _ => return Err(self.unexpected("a property name")),
                    };
                    self.bump();
                    self.expect_sym(":")?;
                    let value = self.parse_dyn()?;
                    entries.push((key, value));
                    if !self.eat_sym(",") {
                        break;
                    }
                }
                self.expect_sym("}")?;
                DynValue::Object(entries)
            }
            TokenKind::Sym("-") => {
                self.bump();
                match self.peek().clone() {
                    TokenKind::Long(v) => {
                        self.bump();
                        DynValue::Negative(Literal::Long(v))
                    }
                    TokenKind::Real(v) => {
                        self.bump();
                        DynValue::Negative(Literal::Real(v))
                    }
                    TokenKind::Timespan { raw, ticks } => {
                        self.bump();
                        DynValue::Negative(Literal::Timespan { raw, ticks })
                    }
                    _ => return Err(self.unexpected("a number")),
                }
            }
            TokenKind::Ident(name) if name == "null" => {
                self.bump();
                DynValue::Null
            }
            TokenKind::Ident(name) if name == "dynamic" && self.at_sym_n(1, "(") => {
                // `dynamic({"a": dynamic([1])})`: the inner wrapper adds nothing.
                self.bump();
                self.bump();
                let inner = self.parse_dyn()?;
                self.expect_sym(")")?;
                inner
            }
            TokenKind::Ident(name)
                if name.eq_ignore_ascii_case("true") || name.eq_ignore_ascii_case("false") =>
            {
                self.bump();
                DynValue::Scalar(Literal::Bool(name.eq_ignore_ascii_case("true")))
            }
            TokenKind::Str { .. }
            | TokenKind::Long(_)
            | TokenKind::Real(_)
            | TokenKind::Timespan { .. }
            | TokenKind::Typed { .. } => match self.parse_primary()?.kind {
                ExprKind::Literal(l) => DynValue::Scalar(l),
                _ => return Err(self.unexpected("a literal")),
            },
            _ => return Err(self.unexpected("a dynamic value")),
        };
        self.leave();
        Ok(v)
    }

    // ----- shared pieces of operators ------------------------------------------------------

    /// `name = expr`, `(a, b) = expr` or `expr`.
    fn parse_column_expr(&mut self) -> PResult<ColumnExpr> {
        let start = self.start();
        let mut names = Vec::new();
        if self.at_name() {
            let len = if self.at_sym("[") { 3 } else { 1 };
            if self.at_sym_n(len, "=") {
                names.push(self.parse_name()?);
                self.expect_sym("=")?;
            }
        } else if self.at_sym("(") && self.tuple_assign_ahead() {
            self.bump();
            loop {
                names.push(self.parse_name()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
            self.expect_sym(")")?;
            self.expect_sym("=")?;
        }
        let expr = self.parse_expr()?;
        Ok(ColumnExpr {
            names,
            expr,
            span: self.since(start),
        })
    }

    fn tuple_assign_ahead(&self) -> bool {
        let mut n = 1;
        loop {
            if !self.at_ident_n(n) {
                return false;
            }
            n += 1;
            if self.at_sym_n(n, ",") {
                n += 1;
                continue;
            }
            return self.at_sym_n(n, ")") && self.at_sym_n(n + 1, "=");
        }
    }

    /// Comma-separated column expressions, stopping before any keyword in `stop`.
    fn parse_column_list(&mut self, stop: &[&str]) -> PResult<Vec<ColumnExpr>> {
        let mut out = Vec::new();
        loop {
            if stop.iter().any(|k| self.at_kw(k)) {
                break;
            }
            out.push(self.parse_column_expr()?);
            if !self.eat_sym(",") {
                break;
            }
        }
        Ok(out)
    }

    fn parse_expr_list(&mut self) -> PResult<Vec<Expr>> {
        let mut out = vec![self.parse_expr()?];
        while self.eat_sym(",") {
            out.push(self.parse_expr()?);
        }
        Ok(out)
    }

    /// A column name or wildcard pattern made of adjacent name and `*` tokens.
    fn parse_name_pattern(&mut self) -> PResult<Expr> {
        let start = self.start();
        if self.at_sym("[") {
            let id = self.parse_name()?;
            return Ok(Expr {
                span: id.span,
                kind: ExprKind::Ident(id),
            });
        }
        let mut text = String::new();
        let mut has_star = false;
        let mut count = 0;
        loop {
            if count > 0 && self.span().start != self.prev_end {
                break;
            }
            match self.peek().clone() {
                TokenKind::Ident(s) => text.push_str(&s),
                TokenKind::Sym("*") => {
                    text.push('*');
                    has_star = true;
                }
                _ => break,
            }
            self.bump();
            count += 1;
        }
        if count == 0 {
            return Err(self.unexpected("a column name or pattern"));
        }
        let span = self.since(start);
        let kind = if text == "*" {
            ExprKind::Star
        } else if has_star {
            ExprKind::Pattern(text)
        } else {
            ExprKind::Ident(Ident { name: text, span })
        };
        Ok(Expr { kind, span })
    }

    fn parse_sort_keys(&mut self) -> PResult<Vec<SortKey>> {
        let mut keys = Vec::new();
        loop {
            let start = self.start();
            let expr = self.parse_expr()?;
            let order = if self.eat_kw("asc") {
                Some(SortOrder::Asc)
            } else if self.eat_kw("desc") {
                Some(SortOrder::Desc)
            } else {
                None
            };
            let nulls = if self.at_kw("nulls") {
                self.bump();
                if self.eat_kw("first") {
                    Some(NullsOrder::First)
                } else {
                    self.expect_kw("last")?;
                    Some(NullsOrder::Last)
                }
            } else {
                None
            };
            keys.push(SortKey {
                expr,
                order,
                nulls,
                span: self.since(start),
            });
            if !self.eat_sym(",") {
                break;
            }
        }
        Ok(keys)
    }

    /// Operators written inside parentheses without a source: `op (| op)*`.
    fn parse_sub_pipeline(&mut self) -> PResult<SubPipeline> {
        let start = self.start();
        self.expect_sym("(")?;
        self.enter()?;
        let mut ops = Vec::new();
        self.eat_sym("|");
        loop {
            ops.push(self.parse_operator()?);
            if !self.eat_sym("|") {
                break;
            }
        }
        self.expect_sym(")")?;
        self.leave();
        Ok(SubPipeline {
            ops,
            span: self.since(start),
        })
    }

    fn parse_union(&mut self) -> PResult<Union> {
        let options = self.parse_options(&["kind", "withsource", "isfuzzy", "hint.*"])?;
        let mut tables = Vec::new();
        loop {
            let t = if self.at_sym("*")
                || (self.at_ident_n(0)
                    && self.at_sym_n(1, "*")
                    && self.span_at(1).start == self.span().end)
            {
                self.parse_name_pattern()?
            } else {
                self.parse_postfix()?
            };
            tables.push(t);
            if !self.eat_sym(",") {
                break;
            }
        }
        Ok(Union { options, tables })
    }

    fn parse_search(&mut self) -> PResult<Search> {
        let options = self.parse_options(&["kind", "hint.*"])?;
        let mut tables = Vec::new();
        if self.at_kw("in") && self.at_sym_n(1, "(") {
            self.bump();
            self.bump();
            loop {
                tables.push(self.parse_name_pattern()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
            self.expect_sym(")")?;
        }
        let saved = std::mem::replace(&mut self.in_search, true);
        let predicate = self.parse_expr();
        self.in_search = saved;
        let predicate = predicate?;
        Ok(Search {
            options,
            tables,
            predicate,
        })
    }

    fn parse_evaluate(&mut self) -> PResult<Evaluate> {
        let options = self.parse_options(&["hint.*"])?;
        let plugin = self.parse_postfix()?;
        let schema = if self.at_sym(":") && self.at_sym_n(1, "(") {
            self.bump();
            Some(self.parse_schema()?)
        } else {
            None
        };
        Ok(Evaluate {
            options,
            plugin,
            schema,
        })
    }

    fn parse_mv_items(&mut self) -> PResult<Vec<MvItem>> {
        let mut items = Vec::new();
        loop {
            let start = self.start();
            let col = self.parse_column_expr()?;
            let to_type = if self.at_kw("to") {
                self.bump();
                match self.peek().clone() {
                    TokenKind::Typed { ty, raw } if ty == "typeof" => {
                        let span = self.bump().span;
                        Some(Ident { name: raw, span })
                    }
                    _ => return Err(self.unexpected("`typeof(…)`")),
                }
            } else {
                None
            };
            items.push(MvItem {
                names: col.names,
                expr: col.expr,
                to_type,
                span: self.since(start),
            });
            if !self.eat_sym(",") {
                break;
            }
        }
        Ok(items)
    }

    // ----- tabular operators -----------------------------------------------------------

    fn parse_operator(&mut self) -> PResult<Operator> {
        self.enter()?;
        let start = self.start();
        let name = match self.peek() {
            TokenKind::Ident(s) => s.clone(),
            _ => return Err(self.unexpected("a tabular operator")),
        };
        let name_span = self.bump().span;
        let kind = match name.as_str() {
            "where" | "filter" => OpKind::Where(self.parse_expr()?),
            "project" => OpKind::Project(self.parse_column_list(&[])?),
            "project-away" | "project-keep" => {
                let mut cols = vec![self.parse_name_pattern()?];
                while self.eat_sym(",") {
                    cols.push(self.parse_name_pattern()?);
                }
                if name == "project-away" {
                    OpKind::ProjectAway(cols)
                } else {
                    OpKind::ProjectKeep(cols)
                }
            }
            "project-rename" => {
                let mut pairs = Vec::new();
                loop {
                    let new = self.parse_name()?;
                    self.expect_sym("=")?;
                    let old = self.parse_name()?;
                    pairs.push((new, old));
                    if !self.eat_sym(",") {
                        break;
                    }
                }
                OpKind::ProjectRename(pairs)
            }
            "project-reorder" => {
                let mut items = Vec::new();
                loop {
                    let pat = self.parse_name_pattern()?;
                    let order = if self.eat_kw("asc") {
                        Some(ReorderOrder::Asc)
                    } else if self.eat_kw("desc") {
                        Some(ReorderOrder::Desc)
                    } else if self.eat_kw("granny-asc") {
                        Some(ReorderOrder::GrannyAsc)
                    } else if self.eat_kw("granny-desc") {
                        Some(ReorderOrder::GrannyDesc)
                    } else {
                        None
                    };
                    items.push((pat, order));
                    if !self.eat_sym(",") {
                        break;
                    }
                }
                OpKind::ProjectReorder(items)
            }
            "extend" => OpKind::Extend(self.parse_column_list(&[])?),
            "summarize" => {
                let options = self.parse_options(&["hint.*"])?;
                let aggregates = if self.at_kw("by") || self.at_op_end() {
                    Vec::new()
                } else {
                    self.parse_column_list(&["by"])?
                };
                let by = if self.eat_kw("by") {
                    self.parse_column_list(&[])?
                } else {
                    Vec::new()
                };
                OpKind::Summarize {
                    options,
                    aggregates,
                    by,
                }
            }
            "count" => OpKind::Count,
            "take" | "limit" => {
                let options = self.parse_options(&["hint.*"])?;
                OpKind::Take {
                    options,
                    count: self.parse_expr()?,
                }
            }
            "top" => {
                let options = self.parse_options(&["hint.*"])?;
                let count = self.parse_expr()?;
                self.expect_kw("by")?;
                OpKind::Top {
                    options,
                    count,
                    by: self.parse_sort_keys()?,
                }
            }
            "top-nested" => {
                let mut clauses = Vec::new();
                let mut clause_start = name_span.start;
                loop {
                    let count = if self.at_kw("of") {
                        None
                    } else {
                        Some(self.parse_expr()?)
                    };
                    self.expect_kw("of")?;
                    let of = self.parse_column_expr()?;
                    let others = if self.at_kw("with") && self.at_kw_n(1, "others") {
                        self.bump();
                        self.bump();
                        self.expect_sym("=")?;
                        let s = self.start();
                        let e = self.parse_expr()?;
                        Some(ColumnExpr {
                            names: Vec::new(),
                            expr: e,
                            span: self.since(s),
                        })
                    } else {
                        None
                    };
                    self.expect_kw("by")?;
                    let by = self.parse_column_expr()?;
                    let order = if self.eat_kw("asc") {
                        Some(SortOrder::Asc)
                    } else if self.eat_kw("desc") {
                        Some(SortOrder::Desc)
                    } else {
                        None
                    };
                    clauses.push(TopNestedClause {
                        count,
                        of,
                        others,
                        by,
                        order,
                        span: self.since(clause_start),
                    });
                    if self.at_sym(",") && self.at_kw_n(1, "top-nested") {
                        self.bump();
                        clause_start = self.bump().span.start;
                    } else {
                        break;
                    }
                }
                OpKind::TopNested(clauses)
            }
            "top-hitters" => {
                let count = self.parse_expr()?;
                self.expect_kw("of")?;
                let of = self.parse_expr()?;
                let by = if self.eat_kw("by") {
                    Some(self.parse_expr()?)
                } else {
                    None
                };
                OpKind::TopHitters { count, of, by }
            }
            "sort" | "order" => {
                let options = self.parse_options(&["hint.*"])?;
                self.expect_kw("by")?;
                OpKind::Sort {
                    options,
                    keys: self.parse_sort_keys()?,
                }
            }
            "distinct" => {
                let options = self.parse_options(&["hint.*"])?;
                OpKind::Distinct {
                    options,
                    columns: self.parse_expr_list()?,
                }
            }
            "join" => {
                let options = self.parse_options(&["kind", "hint.*", "withsource"])?;
                let right = self.parse_postfix()?;
                let mut on = Vec::new();
                let mut where_ = None;
                if self.eat_kw("on") {
                    on = self.parse_expr_list()?;
                } else if self.eat_kw("where") {
                    where_ = Some(self.parse_expr()?);
                }
                OpKind::Join {
                    options,
                    right,
                    on,
                    where_,
                }
            }
            "lookup" => {
                let options = self.parse_options(&["kind", "hint.*"])?;
                let right = self.parse_postfix()?;
                self.expect_kw("on")?;
                OpKind::Lookup {
                    options,
                    right,
                    on: self.parse_expr_list()?,
                }
            }
            "union" => OpKind::Union(self.parse_union()?),
            "mv-expand" | "mvexpand" => {
                let options =
                    self.parse_options(&["bagexpansion", "with_itemindex", "kind", "hint.*"])?;
                let items = self.parse_mv_items()?;
                let limit = if self.eat_kw("limit") || self.eat_kw("take") {
                    Some(self.parse_expr()?)
                } else {
                    None
                };
                OpKind::MvExpand {
                    options,
                    items,
                    limit,
                }
            }
            "mv-apply" | "mvapply" => {
                let options =
                    self.parse_options(&["bagexpansion", "with_itemindex", "kind", "hint.*"])?;
                let items = self.parse_mv_items()?;
                let limit = if self.eat_kw("limit") {
                    Some(self.parse_expr()?)
                } else {
                    None
                };
                let id = if self.at_kw("id") && self.at_sym_n(1, "=") {
                    self.bump();
                    self.bump();
                    Some(self.parse_expr()?)
                } else {
                    None
                };
                self.expect_kw("on")?;
                let body = self.parse_sub_pipeline()?;
                OpKind::MvApply {
                    options,
                    items,
                    limit,
                    id,
                    body,
                }
            }
            "parse" | "parse-where" => {
                let options = self.parse_options(&["kind", "flags"])?;
                let expr = self.parse_expr()?;
                self.expect_kw("with")?;
                let mut pattern = Vec::new();
                while !self.at_op_end() {
                    match self.peek().clone() {
                        TokenKind::Sym("*") => {
                            self.bump();
                            pattern.push(ParsePart::Wildcard);
                        }
                        TokenKind::Str { value, .. } => {
                            self.bump();
                            pattern.push(ParsePart::Text(value));
                        }
                        TokenKind::Ident(_) | TokenKind::Sym("[") => {
                            let name = self.parse_name()?;
                            let ty = if self.eat_sym(":") {
                                Some(self.parse_type_name()?)
                            } else {
                                None
                            };
                            pattern.push(ParsePart::Column { name, ty });
                        }
                        _ => return Err(self.unexpected("a parse pattern part")),
                    }
                }
                OpKind::Parse {
                    where_: name == "parse-where",
                    options,
                    expr,
                    pattern,
                }
            }
            "parse-kv" => {
                let expr = self.parse_expr()?;
                self.expect_kw("as")?;
                let (columns, _) = self.parse_schema()?;
                let with = if self.eat_kw("with") {
                    self.parse_with_props()?
                } else {
                    Vec::new()
                };
                OpKind::ParseKv {
                    expr,
                    columns,
                    with,
                }
            }
            "search" => OpKind::Search(self.parse_search()?),
            "getschema" => OpKind::Getschema,
            "evaluate" => OpKind::Evaluate(self.parse_evaluate()?),
            "make-series" => {
                let options = self.parse_options(&["kind", "hint.*"])?;
                let mut aggregates = Vec::new();
                loop {
                    let s = self.start();
                    let column = self.parse_column_expr()?;
                    let default = if self.at_kw("default") && self.at_sym_n(1, "=") {
                        self.bump();
                        self.bump();
                        Some(self.parse_expr()?)
                    } else {
                        None
                    };
                    aggregates.push(MakeSeriesAgg {
                        column,
                        default,
                        span: self.since(s),
                    });
                    if !self.eat_sym(",") {
                        break;
                    }
                }
                self.expect_kw("on")?;
                let on = self.parse_binary(CMP_PREC + 1)?;
                let range = if self.at_kw("in") {
                    self.bump();
                    self.expect_kw("range")?;
                    self.expect_sym("(")?;
                    let start = self.parse_expr()?;
                    self.expect_sym(",")?;
                    let stop = self.parse_expr()?;
                    self.expect_sym(",")?;
                    let step = self.parse_expr()?;
                    self.expect_sym(")")?;
                    SeriesRange::InRange { start, stop, step }
                } else {
                    let from = if self.eat_kw("from") {
                        Some(self.parse_expr()?)
                    } else {
                        None
                    };
                    let to = if self.eat_kw("to") {
                        Some(self.parse_expr()?)
                    } else {
                        None
                    };
                    self.expect_kw("step")?;
                    SeriesRange::FromTo {
                        from,
                        to,
                        step: self.parse_expr()?,
                    }
                };
                let by = if self.eat_kw("by") {
                    self.parse_column_list(&[])?
                } else {
                    Vec::new()
                };
                OpKind::MakeSeries {
                    options,
                    aggregates,
                    on,
                    range,
                    by,
                }
            }
            "serialize" => {
                let cols = if self.at_op_end() {
                    Vec::new()
                } else {
                    self.parse_column_list(&[])?
                };
                OpKind::Serialize(cols)
            }
            "sample" => OpKind::Sample {
                count: self.parse_expr()?,
            },
            "sample-distinct" => {
                let count = self.parse_expr()?;
                self.expect_kw("of")?;
                OpKind::SampleDistinct {
                    count,
                    of: self.parse_expr()?,
                }
            }
            "invoke" => OpKind::Invoke(self.parse_postfix()?),
            "as" => {
                let options = self.parse_options(&["hint.*"])?;
                OpKind::As {
                    options,
                    name: self.parse_name()?,
                }
            }
            "render" => {
                let chart = self.parse_name()?;
                let mut with = if self.eat_kw("with") {
                    self.parse_with_props()?
                } else {
                    Vec::new()
                };
                // Legacy form: `render timechart kind=stacked title="…"`.
                while self.option_ahead().is_some() {
                    with.push(self.parse_named_value()?);
                }
                OpKind::Render { chart, with }
            }
            "facet" => {
                self.expect_kw("by")?;
                let mut columns = vec![self.parse_name()?];
                while self.eat_sym(",") {
                    columns.push(self.parse_name()?);
                }
                let with = if self.eat_kw("with") {
                    Some(self.parse_sub_pipeline()?)
                } else {
                    None
                };
                OpKind::Facet { columns, with }
            }
            "fork" => {
                let mut branches = Vec::new();
                loop {
                    let name = if self.at_ident_n(0) && self.at_sym_n(1, "=") {
                        let n = self.parse_name()?;
                        self.bump();
                        Some(n)
                    } else if self.at_sym("(") {
                        None
                    } else {
                        break;
                    };
                    branches.push((name, self.parse_sub_pipeline()?));
                }
                if branches.is_empty() {
                    return Err(self.unexpected("`(` starting a fork branch"));
                }
                OpKind::Fork(branches)
            }
            "partition" => {
                let options = self.parse_options(&["hint.*"])?;
                self.expect_kw("by")?;
                let by = self.parse_name()?;
                let body = self.parse_sub_pipeline()?;
                OpKind::Partition { options, by, body }
            }
            "reduce" => {
                let options = self.parse_options(&["kind", "hint.*"])?;
                self.expect_kw("by")?;
                let by = self.parse_expr()?;
                let mut with = Vec::new();
                if self.eat_kw("with") {
                    loop {
                        with.push(self.parse_named_value()?);
                        if !self.eat_sym(",") {
                            break;
                        }
                    }
                }
                OpKind::Reduce { options, by, with }
            }
            "consume" => OpKind::Consume {
                options: self.parse_options(&["*"])?,
            },
            "scan" => self.parse_scan()?,
            _ => {
                return Err(ParseError::new(
                    format!("unknown tabular operator `{name}`{}", case_hint(&name)),
                    name_span,
                ))
            }
        };
        self.leave();
        Ok(Operator {
            kind,
            span: self.since(start),
        })
    }

    fn parse_scan(&mut self) -> PResult<OpKind> {
        let options = self.parse_options(&["with_match_id", "with_step_name", "hint.*"])?;
        let declare = if self.eat_kw("declare") {
            self.parse_params()?
        } else {
            Vec::new()
        };
        self.expect_kw("with")?;
        self.expect_sym("(")?;
        let mut steps = Vec::new();
        while self.at_kw("step") {
            let start = self.bump().span.start;
            let name = self.parse_name()?;
            let optional = self.eat_kw("optional");
            let output = if self.at_kw("output") && self.at_sym_n(1, "=") {
                self.bump();
                self.bump();
                Some(self.parse_name()?)
            } else {
                None
            };
            self.expect_sym(":")?;
            let condition = self.parse_expr()?;
            let mut assignments = Vec::new();
            if self.eat_sym("=>") {
                assignments = self.parse_column_list(&[])?;
            }
            self.expect_sym(";")?;
            steps.push(ScanStep {
                name,
                optional,
                output,
                condition,
                assignments,
                span: self.since(start),
            });
        }
        self.expect_sym(")")?;
        Ok(OpKind::Scan {
            options,
            declare,
            steps,
        })
    }
}
