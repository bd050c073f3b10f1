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
}
