//! Compiled expressions: what analysis produces and evaluation runs.

use crate::schema::DataType;
use crate::syntax::ast::{ArithOp, CmpOp};
use crate::value::Val;
use harrier_event::FieldPath;
use serde_json::Value as Json;

/// A field read through the schema.
#[derive(Clone, Debug)]
pub struct FieldAccess {
    /// The name as written in the query.
    pub name: String,
    /// Where the values are read from (after aliases).
    pub path: FieldPath,
    pub ty: DataType,
    pub null_value: Option<Json>,
    /// Mapping date formats (`||`-separated), tried before the default ones.
    pub format: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    Add,
    Between,
    CidrMatch,
    Concat,
    Divide,
    EndsWith,
    IndexOf,
    Length,
    Modulo,
    Multiply,
    Number,
    StartsWith,
    String,
    StringContains,
    Substring,
    Subtract,
}

impl Func {
    pub fn name(self) -> &'static str {
        match self {
            Func::Add => "add",
            Func::Between => "between",
            Func::CidrMatch => "cidrMatch",
            Func::Concat => "concat",
            Func::Divide => "divide",
            Func::EndsWith => "endsWith",
            Func::IndexOf => "indexOf",
            Func::Length => "length",
            Func::Modulo => "modulo",
            Func::Multiply => "multiply",
            Func::Number => "number",
            Func::StartsWith => "startsWith",
            Func::String => "string",
            Func::StringContains => "stringContains",
            Func::Substring => "substring",
            Func::Subtract => "subtract",
        }
    }

    pub const ALL: [Func; 16] = [
        Func::Add,
        Func::Between,
        Func::CidrMatch,
        Func::Concat,
        Func::Divide,
        Func::EndsWith,
        Func::IndexOf,
        Func::Length,
        Func::Modulo,
        Func::Multiply,
        Func::Number,
        Func::StartsWith,
        Func::String,
        Func::StringContains,
        Func::Substring,
        Func::Subtract,
    ];

    pub fn lookup(name: &str) -> Option<Func> {
        Func::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    pub fn allows_insensitive(self) -> bool {
        matches!(
            self,
            Func::Between
                | Func::EndsWith
                | Func::IndexOf
                | Func::StartsWith
                | Func::StringContains
        )
    }
}

#[derive(Clone, Debug)]
pub enum CExpr {
    Lit(Val<'static>),
    Field(FieldAccess),
    Not(Box<CExpr>),
    And(Vec<CExpr>),
    Or(Vec<CExpr>),
    IsNull(Box<CExpr>),
    IsNotNull(Box<CExpr>),
    Cmp(CmpOp, Box<CExpr>, Box<CExpr>),
    Arith(ArithOp, Box<CExpr>, Box<CExpr>),
    Neg(Box<CExpr>),
    In {
        expr: Box<CExpr>,
        list: InList,
        insensitive: bool,
    },
    /// Wildcard or regex patterns (the list knows whether they ignore case).
    Match {
        expr: Box<CExpr>,
        matchers: crate::pattern::MatchList,
    },
    Call {
        func: Func,
        insensitive: bool,
        args: Vec<CExpr>,
        /// For `cidrMatch`: the ranges of its constant arguments (the
        /// analyzer requires them to be constants), parsed once here rather
        /// than for every event; empty for other functions.
        nets: Vec<(std::net::IpAddr, u8)>,
    },
}

impl CExpr {
    pub fn is_lit(&self) -> bool {
        matches!(self, CExpr::Lit(_))
    }

    /// Visits every field this expression reads.
    pub fn fields<'s>(&'s self, out: &mut Vec<&'s FieldAccess>) {
        match self {
            CExpr::Lit(_) => {}
            CExpr::Field(f) => out.push(f),
            CExpr::Not(e) | CExpr::IsNull(e) | CExpr::IsNotNull(e) | CExpr::Neg(e) => e.fields(out),
            CExpr::And(v) | CExpr::Or(v) => v.iter().for_each(|e| e.fields(out)),
            CExpr::Cmp(_, a, b) | CExpr::Arith(_, a, b) => {
                a.fields(out);
                b.fields(out);
            }
            CExpr::In { expr, list, .. } => {
                expr.fields(out);
                list.iter().for_each(|e| e.fields(out));
            }
            CExpr::Match { expr, .. } => expr.fields(out),
            CExpr::Call { args, .. } => args.iter().for_each(|e| e.fields(out)),
        }
    }
}

/// The items of an `in`/`in~` list (or of `:` on a field that is not a
/// string), with its string constants also in a hash set when there are
/// enough of them: rules list dozens of names, and a value is then one
/// look-up rather than a comparison per item. Dereferences to the items.
#[derive(Clone, Debug)]
pub struct InList {
    items: Vec<CExpr>,
    /// The string constants, lower-cased when insensitive.
    strings: Option<ahash::AHashSet<String>>,
    /// The items that are not string constants.
    others: Vec<CExpr>,
    insensitive: bool,
    /// Every item is a constant.
    constant: bool,
}

/// String constants from which a list looks values up in a set.
const STRING_SET_MIN: usize = 4;

impl InList {
    pub fn new(items: Vec<CExpr>, insensitive: bool) -> InList {
        let strings = items
            .iter()
            .filter(|c| matches!(c, CExpr::Lit(crate::value::Val::Str(_))))
            .count();
        let (strings, others) = if strings >= STRING_SET_MIN {
            let mut set = ahash::AHashSet::new();
            let mut others = Vec::new();
            for c in &items {
                match c {
                    CExpr::Lit(crate::value::Val::Str(s)) if insensitive => {
                        set.insert(s.to_lowercase());
                    }
                    CExpr::Lit(crate::value::Val::Str(s)) => {
                        set.insert(s.to_string());
                    }
                    other => others.push(other.clone()),
                }
            }
            (Some(set), others)
        } else {
            (None, Vec::new())
        };
        InList {
            constant: items.iter().all(CExpr::is_lit),
            items,
            strings,
            others,
            insensitive,
        }
    }

    /// Is every item a constant?
    pub fn is_constant(&self) -> bool {
        self.constant
    }

    /// When the string constants are in a set: `Some(Ok(()))` when `s` is
    /// one of them, else `Some(Err(items))` with the items left to compare
    /// it with (those that are not string constants). `None` when every
    /// item is to be compared.
    pub(crate) fn lookup(&self, s: &str) -> Option<Result<(), &[CExpr]>> {
        let set = self.strings.as_ref()?;
        let hit = if self.insensitive {
            // equal ignoring case: both lower-cased (see `eval::eq_vals`)
            crate::pattern::with_folded(s, |f| set.contains(f))
        } else {
            set.contains(s)
        };
        Some(if hit { Ok(()) } else { Err(&self.others) })
    }
}

impl std::ops::Deref for InList {
    type Target = [CExpr];
    fn deref(&self) -> &[CExpr] {
        &self.items
    }
}
