//! Turns an AST back into EQL text. Parsing the printed text gives the same
//! tree (spans aside): parentheses are kept as `Paren` nodes, so the printer
//! never has to invent any.

use super::ast::*;
use std::fmt::{self, Display, Formatter, Write};

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.body {
            Body::Event(e) => write!(f, "{e}")?,
            Body::Sequence(s) => write!(f, "{s}")?,
            Body::Sample(s) => write!(f, "{s}")?,
        }
        for p in &self.pipes {
            match p {
                Pipe::Head { count, .. } => write!(f, "\n| head {count}")?,
                Pipe::Tail { count, .. } => write!(f, "\n| tail {count}")?,
            }
        }
        Ok(())
    }
}

impl Display for EventQuery {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.category {
            Category::Any(_) => f.write_str("any")?,
            Category::Named {
                name, quoted: true, ..
            } => write_string(f, name)?,
            Category::Named { name, .. } => write_ident(f, name)?,
        }
        write!(f, " where {}", self.condition)
    }
}

fn write_keys(f: &mut Formatter<'_>, keys: &[Expr]) -> fmt::Result {
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{k}")?;
    }
    Ok(())
}

impl Display for Step {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.missing {
            f.write_str("!")?;
        }
        write!(f, "[{}]", self.query)?;
        if !self.by.is_empty() {
            f.write_str(" by ")?;
            write_keys(f, &self.by)?;
        }
        if let Some(r) = self.runs {
            write!(f, " with runs={r}")?;
        }
        Ok(())
    }
}

impl Display for Sequence {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("sequence")?;
        if !self.by.is_empty() {
            f.write_str(" by ")?;
            write_keys(f, &self.by)?;
        }
        if let Some(m) = &self.maxspan {
            write!(f, " with maxspan={}{}", m.value, m.unit.suffix())?;
        }
        for s in &self.steps {
            write!(f, "\n  {s}")?;
        }
        if let Some(u) = &self.until {
            write!(f, "\nuntil {u}")?;
        }
        Ok(())
    }
}

impl Display for Sample {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("sample")?;
        if !self.by.is_empty() {
            f.write_str(" by ")?;
            write_keys(f, &self.by)?;
        }
        for s in &self.steps {
            write!(f, "\n  {s}")?;
        }
        Ok(())
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Int(v) => write!(f, "{v}"),
            Literal::Float(v) => write!(f, "{v:?}"),
            Literal::Str(s) => write_string(f, s),
        }
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Literal(l) => write!(f, "{l}"),
            ExprKind::Field(r) => {
                if r.optional {
                    f.write_str("?")?;
                }
                for (i, seg) in r.path.iter().enumerate() {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    write_ident(f, seg)?;
                }
                Ok(())
            }
            ExprKind::Not(e) => write!(f, "not {e}"),
            ExprKind::And(a, b) => write!(f, "{a} and {b}"),
            ExprKind::Or(a, b) => write!(f, "{a} or {b}"),
            ExprKind::Compare(op, a, b) => write!(f, "{a} {} {b}", op.symbol()),
            ExprKind::Arith(op, a, b) => write!(f, "{a} {} {b}", op.symbol()),
            ExprKind::Neg(e) => write!(f, "-{e}"),
            ExprKind::In {
                expr,
                list,
                negated,
                insensitive,
            } => {
                write!(f, "{expr} ")?;
                if *negated {
                    f.write_str("not ")?;
                }
                f.write_str(if *insensitive { "in~ (" } else { "in (" })?;
                write_keys(f, list)?;
                f.write_str(")")
            }
            ExprKind::Match {
                op,
                expr,
                patterns,
                list,
            } => {
                write!(f, "{expr} {} ", op.symbol())?;
                if *list {
                    f.write_str("(")?;
                    write_keys(f, patterns)?;
                    f.write_str(")")
                } else {
                    write_keys(f, patterns)
                }
            }
            ExprKind::Call {
                name,
                insensitive,
                args,
            } => {
                f.write_str(name)?;
                if *insensitive {
                    f.write_str("~")?;
                }
                f.write_str("(")?;
                write_keys(f, args)?;
                f.write_str(")")
            }
            ExprKind::Paren(e) => write!(f, "({e})"),
        }
    }
}

const KEYWORDS: &[&str] = &[
    "and", "any", "by", "false", "in", "like", "maxspan", "not", "null", "of", "or", "regex",
    "sample", "sequence", "true", "until", "where", "with", "join",
];

fn write_ident(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    let simple = s
        .bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c == b'@')
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'@')
        && !KEYWORDS.contains(&s);
    if simple {
        f.write_str(s)
    } else {
        f.write_char('`')?;
        f.write_str(&s.replace('`', "``"))?;
        f.write_char('`')
    }
}

fn write_string(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => write!(f, "\\u{{{:04x}}}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}
