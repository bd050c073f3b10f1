//! The input tables of `harrier kql` and of KQL hunting rules: the six Defender event
//! tables Harrier fills from events (`harrier_sources::defender`) and the documented tables
//! it cannot fill ([`crate::defender_schemas`]), all typed, none with rows yet.

use crate::{InputTable, KType};
use harrier_sources::{columns, DefenderTable, KustoType};
use std::collections::BTreeMap;

/// The Kusto type of a Defender column as `harrier_sources` declares it.
pub fn ktype(t: KustoType) -> KType {
    match t {
        KustoType::String => KType::String,
        KustoType::Long => KType::Long,
        KustoType::Int => KType::Int,
        KustoType::Real => KType::Real,
        KustoType::Bool => KType::Bool,
        KustoType::DateTime => KType::DateTime,
        KustoType::TimeSpan => KType::TimeSpan,
        KustoType::Dynamic => KType::Dynamic,
        KustoType::Guid => KType::Guid,
    }
}

/// The columns of one of the six Defender event tables.
pub fn event_table_columns(t: DefenderTable) -> Vec<(String, KType)> {
    columns(t)
        .iter()
        .map(|(n, k)| (n.to_string(), ktype(*k)))
        .collect()
}

/// Every table a query may name, with its columns and no rows: the six Defender event
/// tables (`DeviceProcessEvents`, …), and the documented ones Harrier cannot fill
/// (`DeviceInfo`, `DeviceLogonEvents`, `DeviceTvm…`, e-mail, identity and the Sentinel
/// tables of [`crate::defender_schemas`]), which stay empty.
pub fn empty_tables() -> BTreeMap<String, InputTable> {
    let mut tables: BTreeMap<String, InputTable> = crate::defender_schemas()
        .into_iter()
        .map(|(name, columns)| {
            (
                name,
                InputTable {
                    columns,
                    ..Default::default()
                },
            )
        })
        .collect();
    for t in DefenderTable::all() {
        tables.insert(
            t.name().to_string(),
            InputTable {
                columns: event_table_columns(t),
                ..Default::default()
            },
        );
    }
    tables
}

/// The columns of input table `table` (columns `columns`) that `query` can read, in table
/// order, or `None` when it may read or output every column.
///
/// Loading only these columns gives the query the same results, so it is only done for
/// one shape of query, checked on the syntax tree: a single query statement whose
/// pipeline starts at `table`, passes only `where`, `extend`, `take`, `sort` and `top`,
/// and then narrows the columns with `project`, `summarize`, `count` or `distinct`
/// (whatever follows can only see what that operator outputs). The query must name
/// `table` once and no other table, and contain no `*` and no `pack_all`. Every
/// identifier and string literal in the query that equals a column name (ignoring case)
/// is kept, so the test can only over-include. At least one column is always kept, so a
/// table keeps its row count.
pub fn columns_read(query: &str, table: &str, columns: &[(String, KType)]) -> Option<Vec<String>> {
    use harrier_kql::ast::{ExprKind, OpKind, StatementKind};
    use harrier_kql::lexer::{tokenize, TokenKind};
    use std::collections::HashSet;

    let tokens = tokenize(query).ok()?;
    let mut words: HashSet<String> = HashSet::new();
    let mut table_mentions = 0usize;
    let lower_table = table.to_ascii_lowercase();
    let tables: HashSet<String> = crate::defender_schemas()
        .into_iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .chain(
            harrier_sources::DefenderTable::all()
                .into_iter()
                .map(|t| t.name().to_ascii_lowercase()),
        )
        .collect();
    for t in &tokens {
        let word = match &t.kind {
            TokenKind::Ident(s) => s.to_ascii_lowercase(),
            TokenKind::Str { value, .. } => value.to_ascii_lowercase(),
            TokenKind::Sym("*") => return None,
            _ => continue,
        };
        if word == lower_table {
            table_mentions += 1;
        } else if tables.contains(&word) || word == "pack_all" {
            return None;
        }
        words.insert(word);
    }
    if table_mentions != 1 {
        return None;
    }
    let script = harrier_kql::parse(query).ok()?;
    let [statement] = script.statements.as_slice() else {
        return None;
    };
    let StatementKind::Query(expr) = &statement.kind else {
        return None;
    };
    // the operators from the source on
    let mut ops = Vec::new();
    let mut e = expr;
    while let ExprKind::Pipe { input, op } = &e.kind {
        ops.push(&op.kind);
        e = input;
    }
    match &e.kind {
        ExprKind::Ident(i) if i.name.eq_ignore_ascii_case(table) => {}
        _ => return None,
    }
    let narrowed = ops.iter().rev().find_map(|op| match op {
        OpKind::Where(_)
        | OpKind::Extend(_)
        | OpKind::Take { .. }
        | OpKind::Sort { .. }
        | OpKind::Top { .. } => None,
        OpKind::Project(_) | OpKind::Summarize { .. } | OpKind::Count | OpKind::Distinct { .. } => {
            Some(true)
        }
        _ => Some(false),
    });
    if narrowed != Some(true) {
        return None;
    }
    let mut keep: Vec<String> = columns
        .iter()
        .filter(|(n, _)| words.contains(&n.to_ascii_lowercase()))
        .map(|(n, _)| n.clone())
        .collect();
    if keep.is_empty() {
        keep.extend(columns.first().map(|(n, _)| n.clone()));
    }
    Some(keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_tables_hold_event_and_documented_tables() {
        let tables = empty_tables();
        for name in [
            "DeviceProcessEvents",
            "DeviceImageLoadEvents",
            "DeviceInfo",
            "SecurityEvent",
            "IntuneDevices",
        ] {
            let t = tables.get(name).unwrap_or_else(|| panic!("{name} missing"));
            assert!(t.rows.is_empty() && t.batches.is_empty(), "{name} has rows");
        }
        let dpe = &tables["DeviceProcessEvents"].columns;
        assert!(dpe.contains(&("IsProcessRemoteSession".to_string(), KType::Bool)));
        assert!(dpe.contains(&("InitiatingProcessSessionId".to_string(), KType::Long)));
        assert_eq!(ktype(KustoType::Int), KType::Int);
        assert_eq!(ktype(KustoType::Guid), KType::Guid);
    }

    #[test]
    fn session_columns_are_queryable() {
        let now = chrono::DateTime::from_timestamp(0, 0).unwrap_or_default();
        let q = "DeviceImageLoadEvents | where IsInitiatingProcessRemoteSession \
                 | project InitiatingProcessRemoteSessionIP; \
                 SecurityEvent | where EventID == 4688 | count";
        let out = crate::run(q, &empty_tables(), now).expect("runs");
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].columns[0].0, "InitiatingProcessRemoteSessionIP");
        assert_eq!(out[1].rows, vec![vec![serde_json::json!(0)]]);
    }

    #[test]
    fn columns_read_only_narrows_safe_queries() {
        let cols = event_table_columns(DefenderTable::DeviceNetworkEvents);
        let read = |q: &str| columns_read(q, "DeviceNetworkEvents", &cols);
        assert_eq!(
            read("DeviceNetworkEvents | where RemotePort == 443 | project DeviceName, x = 'remoteip'"),
            Some(vec![
                "DeviceName".to_string(),
                "RemoteIP".to_string(),
                "RemotePort".to_string()
            ])
        );
        assert_eq!(
            read("DeviceNetworkEvents | summarize count() by bin(Timestamp, 1h) | take 3"),
            Some(vec!["Timestamp".to_string()])
        );
        // a narrowed query that names no column still keeps one, for the row count
        assert_eq!(
            read("DeviceNetworkEvents | count"),
            Some(vec!["Timestamp".to_string()])
        );
        for q in [
            "DeviceNetworkEvents | where RemotePort == 443",
            "DeviceNetworkEvents | take 10 | extend x = 1",
            "DeviceNetworkEvents | project-away RemoteIP | count",
            "DeviceNetworkEvents | summarize arg_max(Timestamp, *) by DeviceId",
            "DeviceNetworkEvents | extend p = pack_all() | project p",
            "DeviceNetworkEvents | where * has 'x' | count",
            "DeviceNetworkEvents | getschema",
            "DeviceNetworkEvents | mv-expand x = RemotePort | count",
            "DeviceNetworkEvents | project A = 1 | join (DeviceNetworkEvents) on $left.A == $right.RemotePort",
            "DeviceNetworkEvents | project DeviceName | union DeviceProcessEvents",
            "let T = DeviceNetworkEvents; T | count",
            "union DeviceNetworkEvents | count",
            "DeviceProcessEvents | count",
            "(DeviceNetworkEvents) | count",
            "DeviceNetworkEvents | count; DeviceNetworkEvents | take 1",
        ] {
            assert_eq!(read(q), None, "{q}");
        }
    }
}
