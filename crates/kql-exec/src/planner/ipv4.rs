//! `evaluate ipv4_lookup(LookupTable, SourceIPv4Key, IPv4LookupKey [, ExtraKey…]
//! [, return_unmatched])`: a join of the input with a table of IPv4 ranges, as Kusto
//! documents it. A row matches a lookup row when its address (an address, or a range in
//! prefix notation) lies within the lookup row's range (an address or `a.b.c.d/n`) and the
//! extra key columns, present in both tables, are equal. The result has the input's
//! columns, then the lookup table's (extra keys once; other names the input already has
//! get a numeric suffix), one row per match; with `return_unmatched = true`, input rows
//! without a match are kept with the lookup columns null (empty for strings).

use super::{err, unique_name, Planner, Res};
use crate::strings::parse_ipv4;
use crate::value::KType;
use crate::ResultTable;
use datafusion::logical_expr::LogicalPlan;
use harrier_kql::ast::{self, ExprKind, Literal, Span};
use serde_json::Value as Json;

fn mask(bits: u32) -> u32 {
    if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits.min(32))
    }
}

/// Whether address range `ip` (address, prefix) lies within `range`.
fn within(ip: (u32, u32), range: (u32, u32)) -> bool {
    let (a, pa) = ip;
    let (r, pr) = range;
    pr <= pa && a & mask(pr) == r & mask(pr)
}

fn column_name(e: &ast::Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Ident(i) => Some(i.name.as_str()),
        ExprKind::Paren(x) => column_name(x),
        _ => None,
    }
}

impl Planner<'_> {
    pub(super) fn ipv4_lookup(
        &mut self,
        plan: LogicalPlan,
        args: &[ast::Arg],
        span: Span,
    ) -> Res<LogicalPlan> {
        const USAGE: &str = "ipv4_lookup(LookupTable, SourceIPv4Key, IPv4LookupKey \
                             [, ExtraKey…] [, return_unmatched])";
        if args.len() < 3 {
            return Err(err(span, format!("expected {USAGE}")));
        }
        let mut keys: Vec<&str> = Vec::new();
        let mut return_unmatched = false;
        for a in &args[1..] {
            let named = a.name.as_ref().map(|n| n.name.as_str());
            match (named, &a.value.kind) {
                (Some("return_unmatched"), _) | (None, ExprKind::Literal(Literal::Bool(_))) => {
                    return_unmatched = self.const_value(&a.value)?.as_bool().unwrap_or(false);
                }
                (None, _) => match column_name(&a.value) {
                    Some(c) => keys.push(c),
                    None => return Err(err(a.value.span, format!("expected a column: {USAGE}"))),
                },
                (Some(n), _) => {
                    return Err(err(a.span, format!("ipv4_lookup has no argument `{n}`")))
                }
            }
        }
        let [source_key, lookup_key, extra @ ..] = keys.as_slice() else {
            return Err(err(span, format!("expected {USAGE}")));
        };
        let lookup_plan = self.tabular(&args[0].value)?;
        let left = self.execute(plan)?;
        let right = self.execute(lookup_plan)?;
        let find = |t: &ResultTable, name: &str, what: &str| {
            t.columns
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| err(span, format!("ipv4_lookup: {what} has no column `{name}`")))
        };
        let src = find(&left, source_key, "the input")?;
        let key = find(&right, lookup_key, "the lookup table")?;
        let mut extra_pairs = Vec::new();
        for e in extra {
            extra_pairs.push((
                find(&left, e, "the input")?,
                find(&right, e, "the lookup table")?,
            ));
        }
        // output columns: the input's, then the lookup table's other than the extra keys
        let mut columns: Vec<(String, KType)> = left.columns.clone();
        let mut taken: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
        let mut right_cols = Vec::new();
        for (i, (n, t)) in right.columns.iter().enumerate() {
            if extra_pairs.iter().any(|(_, r)| *r == i) {
                continue;
            }
            let name = unique_name(n, &taken);
            taken.push(name.clone());
            columns.push((name, *t));
            right_cols.push(i);
        }
        let ranges: Vec<Option<(u32, u32)>> = right
            .rows
            .iter()
            .map(|r| r.get(key).and_then(Json::as_str).and_then(parse_ipv4))
            .collect();
        let mut rows = Vec::new();
        for l in &left.rows {
            let ip = l.get(src).and_then(Json::as_str).and_then(parse_ipv4);
            let mut matched = false;
            if let Some(ip) = ip {
                for (r, range) in right.rows.iter().zip(&ranges) {
                    let hit = range.is_some_and(|range| within(ip, range))
                        && extra_pairs.iter().all(|(li, ri)| {
                            l.get(*li)
                                .is_some_and(|v| !v.is_null() && Some(v) == r.get(*ri))
                        });
                    if hit {
                        matched = true;
                        let mut row = l.clone();
                        row.extend(
                            right_cols
                                .iter()
                                .map(|i| r.get(*i).cloned().unwrap_or(Json::Null)),
                        );
                        rows.push(row);
                    }
                }
            }
            if !matched && return_unmatched {
                let mut row = l.clone();
                row.extend(right_cols.iter().map(|_| Json::Null));
                rows.push(row);
            }
        }
        self.table_plan(
            "ipv4_lookup",
            ResultTable {
                name: String::new(),
                columns,
                rows,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let p = |s: &str| parse_ipv4(s).unwrap_or((0, 0));
        assert!(within(p("5.8.1.2"), p("5.8.0.0/19")));
        assert!(!within(p("5.8.32.1"), p("5.8.0.0/19")));
        assert!(within(p("46.36.200.51"), p("46.36.200.51")));
        assert!(within(p("10.1.0.0/16"), p("10.0.0.0/8")));
        assert!(!within(p("10.0.0.0/8"), p("10.1.0.0/16")));
        assert!(within(p("1.2.3.4"), p("0.0.0.0/0")));
    }
}
