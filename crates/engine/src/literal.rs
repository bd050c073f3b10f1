//! Literal prefilters: a rule's necessary condition on field values.
//!
//! Most detection rules require a field to hold one of a few literal values
//! (`process.name : ("mshta.exe", "rundll32.exe")`, `event.action ==
//! "creation"`). If a step filter implies "field F (lower-cased) is one of
//! these values" — for one of several fields — the engine looks the event's
//! values up in a hash index and evaluates only the rules they name, so a
//! thousand rules cost about as much as the few that can match.
//!
//! Wildcard conditions (`file.path : "?:\\Users\\*\\Startup\\*"`) count
//! too, by the longest literal run of each pattern: a value in which no
//! pattern's run occurs matches none of them ([`Lit::Has`]).

use harrier_eql::expr::CExpr;
use harrier_eql::pattern::Matcher;
use harrier_eql::schema::DataType;
use harrier_eql::syntax::ast::CmpOp;
use harrier_eql::value::Val;

/// Alternatives: the filter can only hold if, for one `(field, values)`,
/// the event's field has a value one of `values` admits.
pub type Literals = Vec<(String, Vec<Lit>)>;

/// What a literal condition asks of one field value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lit {
    /// The value's lower-case form is this.
    Is(String),
    /// The value, folded by [`harrier_eql::pattern::fold_for_fragments`],
    /// contains this (lower-case ASCII, at least [`MIN_FRAGMENT`] bytes): a
    /// wildcard pattern's longest literal run.
    Has(String),
}

impl Lit {
    pub fn text(&self) -> &str {
        match self {
            Lit::Is(s) | Lit::Has(s) => s,
        }
    }

    /// How much of the input a value lets through, for choosing among
    /// conditions: a fragment admits more values than an exact value.
    fn weight(&self) -> usize {
        match self {
            Lit::Is(_) => 1,
            Lit::Has(_) => 4,
        }
    }
}

/// The shortest wildcard fragment worth indexing: shorter ones (`.`, `\\`)
/// occur in nearly every value of the fields they are about.
pub const MIN_FRAGMENT: usize = 3;

fn size(alts: &Literals) -> usize {
    alts.iter()
        .map(|(_, v)| v.iter().map(Lit::weight).sum::<usize>())
        .sum()
}

/// Fields whose few values most events share; a literal condition on them is
/// used only when a conjunction offers nothing better.
const LOW_CARDINALITY: &[&str] = &[
    "event.type",
    "event.action",
    "event.outcome",
    "event.kind",
    "event.module",
    "event.dataset",
    "event.provider",
    "event.category",
    "host.os.type",
    "host.os.family",
    "host.os.name",
    "host.os.platform",
    "network.direction",
    "network.transport",
    "network.protocol",
    "network.type",
    "data_stream.dataset",
    "data_stream.type",
    "agent.type",
    "process.Ext.token.integrity_level_name",
    "user.domain",
];

/// The necessary literal condition of a filter, if it has one. The
/// category field is left out: categories are dispatched separately.
pub fn required(f: &CExpr, category_field: &str) -> Option<Literals> {
    match f {
        CExpr::And(items) => {
            let cands: Vec<Literals> = items
                .iter()
                .filter_map(|c| required(c, category_field))
                .collect();
            // a condition on a field most events share (event.type == "start") filters nothing
            let selective = |alts: &&Literals| {
                alts.iter()
                    .all(|(f, _)| !LOW_CARDINALITY.contains(&f.as_str()))
            };
            let best = cands.iter().filter(selective).min_by_key(|a| size(a));
            best.or_else(|| cands.iter().min_by_key(|a| size(a)))
                .cloned()
        }
        CExpr::Or(items) => {
            let mut all: Literals = Vec::new();
            for c in items {
                for (field, vals) in required(c, category_field)? {
                    match all.iter_mut().find(|(f, _)| *f == field) {
                        Some((_, v)) => {
                            v.extend(vals);
                            v.sort();
                            v.dedup();
                        }
                        None => all.push((field, vals)),
                    }
                }
            }
            Some(all)
        }
        CExpr::Cmp(CmpOp::Eq, a, b) => leaf(a, std::slice::from_ref(&**b), category_field),
        CExpr::In { expr, list, .. } => leaf(expr, list, category_field),
        CExpr::Match { expr, matchers, .. } => {
            let CExpr::Field(fa) = &**expr else {
                return None;
            };
            let path = fa.path.as_str();
            if path == category_field || !textual(fa) {
                return None;
            }
            // exact values as such; other patterns by their longest
            // literal run (see `Matcher::fragments`)
            let mut vals = Vec::new();
            for m in matchers.matchers() {
                match m {
                    Matcher::Exact(s) => vals.push(Lit::Is(s.to_lowercase())),
                    m => {
                        for f in m.fragments()? {
                            if f.len() < MIN_FRAGMENT {
                                return None;
                            }
                            vals.push(Lit::Has(f));
                        }
                    }
                }
            }
            vals.sort();
            vals.dedup();
            Some(vec![(path.to_string(), vals)])
        }
        _ => None,
    }
}

/// The most clauses [`clauses`] returns for one filter.
pub const MAX_CLAUSES: usize = 8;

/// Necessary conditions of a filter that must all hold: each clause is a
/// [`Literals`] alternative ("one of these fields holds one of these
/// values"), and the filter can only match an event that meets every clause.
/// Unlike [`required`], conditions on the category field count, since the
/// engine indexes every clause; conditions on fields most events share come
/// last, and at most [`MAX_CLAUSES`] are returned (any subset of necessary
/// conditions is still necessary).
pub fn clauses(f: &CExpr, category_field: &str) -> Vec<Literals> {
    let mut out = Vec::new();
    collect_clauses(f, category_field, &mut out);
    out.sort_by_key(|alts| {
        let common = alts
            .iter()
            .any(|(f, _)| f == category_field || LOW_CARDINALITY.contains(&f.as_str()));
        (common, size(alts))
    });
    out.dedup();
    out.truncate(MAX_CLAUSES);
    out
}

fn collect_clauses(f: &CExpr, category_field: &str, out: &mut Vec<Literals>) {
    match f {
        CExpr::And(items) => {
            for c in items {
                collect_clauses(c, category_field, out);
            }
        }
        // the category leaf, which `required` leaves to category dispatch
        CExpr::Cmp(CmpOp::Eq, a, b) => out.extend(leaf_any(a, std::slice::from_ref(&**b))),
        CExpr::In { expr, list, .. } => out.extend(leaf_any(expr, list)),
        other => out.extend(required(other, category_field)),
    }
}

/// Fields compared as the text the document holds. An ip, date, version or
/// number field compares parsed values (`::1` equals `0:0:0:0:0:0:0:1`), so a
/// literal's text says nothing certain about the document's.
fn textual(fa: &harrier_eql::expr::FieldAccess) -> bool {
    matches!(fa.ty, DataType::Keyword | DataType::Unknown)
}

fn leaf(target: &CExpr, list: &[CExpr], category_field: &str) -> Option<Literals> {
    match target {
        CExpr::Field(fa) if fa.path.as_str() == category_field => None,
        _ => leaf_any(target, list),
    }
}

/// `field == literal` or `field in (literals)` on a textual field, whatever the field.
fn leaf_any(target: &CExpr, list: &[CExpr]) -> Option<Literals> {
    let CExpr::Field(fa) = target else {
        return None;
    };
    let path = fa.path.as_str();
    if !textual(fa) {
        return None;
    }
    let mut vals = Vec::new();
    for l in list {
        match l {
            CExpr::Lit(Val::Str(s)) => vals.push(Lit::Is(s.to_lowercase())),
            _ => return None,
        }
    }
    vals.sort();
    vals.dedup();
    Some(vec![(path.to_string(), vals)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_eql::schema::Schema;
    use harrier_eql::{parse, Analyzer, Settings};

    /// The filter of an event query.
    fn filter(q: &str) -> CExpr {
        let schema = Schema::ecs();
        let plan = Analyzer::new(&schema, Settings::default())
            .plan(&parse(q).expect("parses"))
            .expect("analyzes");
        let harrier_eql::plan::PlanKind::Event(f) = plan.kind else {
            panic!("event query")
        };
        f
    }

    fn lits(q: &str) -> Option<Literals> {
        required(&filter(q), "event.category")
    }

    fn is(field: &str, vals: &[&str]) -> (String, Vec<Lit>) {
        (
            field.to_string(),
            vals.iter().map(|v| Lit::Is(v.to_string())).collect(),
        )
    }

    fn has(field: &str, vals: &[&str]) -> (String, Vec<Lit>) {
        (
            field.to_string(),
            vals.iter().map(|v| Lit::Has(v.to_string())).collect(),
        )
    }

    #[test]
    fn conjunctions_pick_a_literal_leaf() {
        assert_eq!(
            lits(
                r#"process where event.type == "start" and process.name : ("MSHTA.exe", "rundll32.exe")"#
            ),
            Some(vec![is("process.name", &["mshta.exe", "rundll32.exe"])])
        );
        assert_eq!(
            lits(r#"process where event.type == "start" and process.args : "*x*""#),
            Some(vec![is("event.type", &["start"])])
        );
        assert_eq!(
            lits(r#"process where process.name : ("mshta.exe", "b.exe") and process.args : "*x*""#),
            Some(vec![is("process.name", &["b.exe", "mshta.exe"])])
        );
        // an exact value is worth more than a fragment
        assert_eq!(
            lits(r#"process where process.name : "a.exe" and process.args : "*-encoded*""#),
            Some(vec![is("process.name", &["a.exe"])])
        );
    }

    fn clauses_of(q: &str) -> Vec<Literals> {
        clauses(&filter(q), "event.category")
    }

    #[test]
    fn clauses_are_every_literal_conjunct_selective_ones_first() {
        let c = clauses_of(
            r#"process where event.type == "start" and process.name : ("A.exe", "b.exe")
               and process.parent.name == "X.EXE" and process.args : "*-enc*""#,
        );
        assert_eq!(
            c,
            vec![
                vec![is("process.parent.name", &["x.exe"])],
                vec![is("process.name", &["a.exe", "b.exe"])],
                vec![has("process.args", &["-enc"])],
                vec![is("event.category", &["process"])],
                vec![is("event.type", &["start"])],
            ]
        );
        // a disjunction is one clause, if each branch names literals
        let c = clauses_of(
            r#"file where file.name == "a" or (file.extension == "b" and file.path : "*x*")"#,
        );
        assert_eq!(
            c,
            vec![
                vec![is("file.name", &["a"]), is("file.extension", &["b"])],
                vec![is("event.category", &["file"])],
            ]
        );
        // negations and short fragments give none; `any` gives no category clause
        assert!(
            clauses_of(r#"any where not process.name : "a" and process.args : "*x""#).is_empty()
        );
    }

    #[test]
    fn disjunctions_need_every_branch() {
        assert_eq!(
            lits(
                r#"process where process.name == "a.exe" or process.pe.original_file_name == "A.EXE""#
            ),
            Some(vec![
                is("process.name", &["a.exe"]),
                is("process.pe.original_file_name", &["a.exe"])
            ])
        );
        assert_eq!(
            lits(r#"process where process.name == "a.exe" or process.args : "*x*""#),
            None
        );
        // a wildcard branch counts by its fragment
        assert_eq!(
            lits(r#"process where process.name == "a.exe" or process.args : "*Secret*""#),
            Some(vec![
                is("process.name", &["a.exe"]),
                has("process.args", &["secret"])
            ])
        );
    }

    #[test]
    fn wildcards_give_their_longest_ascii_run() {
        assert_eq!(
            lits(
                r#"file where file.path : ("?:\\Users\\*\\AppData\\Local\\Temp\\TH????.tmp", "lsass*.DMP", "c:\\x.exe")"#
            ),
            Some(vec![(
                "file.path".to_string(),
                vec![
                    Lit::Is("c:\\x.exe".into()),
                    Lit::Has("\\appdata\\local\\temp\\th".into()),
                    Lit::Has("lsass".into()),
                ]
            )])
        );
        // case-sensitive `like` too: the fragment is lower-cased like the value
        assert_eq!(
            lits(r#"file where file.name like "*DUMP*""#),
            Some(vec![has("file.name", &["dump"])])
        );
        // non-ASCII characters split runs
        assert_eq!(
            lits(r#"file where file.name : "*résumé_2024*""#),
            Some(vec![has("file.name", &["_2024"])])
        );
    }

    #[test]
    fn wildcards_negations_and_categories_give_none() {
        assert_eq!(lits(r#"process where process.name : "*.e""#), None);
        assert_eq!(lits(r#"process where process.name : ("*.exe", "*")"#), None);
        assert_eq!(lits(r#"process where process.name regex "a.*""#), None);
        assert_eq!(lits(r#"process where not process.name : "a.exe""#), None);
        assert_eq!(lits(r#"process where true"#), None);
    }
}
