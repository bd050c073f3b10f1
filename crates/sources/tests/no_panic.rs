//! Arbitrary input never panics the readers or the mappers (the fuzz targets
//! under `fuzz/` do the same at depth; these run in every `cargo test`).

use harrier_event::{Event, Locator, Origin};
use harrier_sources::{map_windows_event, read_bytes, to_defender};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::sync::Arc;

fn read_and_map(name: &str, bytes: &[u8]) {
    read_bytes(
        name,
        bytes,
        &mut |e| {
            let _ = to_defender(&e);
        },
        &mut |_| {},
    );
}

const SYSMON_FIELDS: &[&str] = &[
    "UtcTime",
    "ProcessId",
    "Image",
    "CommandLine",
    "User",
    "LogonId",
    "Hashes",
    "ParentImage",
    "ParentProcessId",
    "Protocol",
    "Initiated",
    "SourceIp",
    "SourceHostname",
    "SourcePort",
    "DestinationIp",
    "DestinationHostname",
    "DestinationPort",
    "TargetFilename",
    "ImageLoaded",
    "EventType",
    "TargetObject",
    "Details",
    "NewName",
    "QueryName",
    "QueryResults",
    "PipeName",
    "TargetImage",
    "TargetProcessId",
    "GrantedAccess",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        read_and_map("any", &bytes);
    }

    #[test]
    fn json_like_bytes(body in "[{}\\[\\]\":,0-9a-zA-Z \\n\\\\.-]{0,300}") {
        read_and_map("x.ndjson", format!("{{{body}").as_bytes());
        read_and_map("x.json", format!("[{body}").as_bytes());
    }

    #[test]
    fn defender_shaped_json(
        category in "(AdvancedHunting-)?[A-Za-z]{0,24}",
        key in "[A-Za-z]{1,30}",
        value in any::<String>(),
        n in any::<i64>(),
    ) {
        for doc in [
            json!({"category": category, "properties": {key.clone(): value, "RemotePort": n, "Timestamp": value}}),
            json!({"Schema": [], "Results": [{"ActionType": value, "DeviceName": key, "Timestamp": n}]}),
            json!({"tables": [{"columns": [{"name": key}], "rows": [[value], [n], "x"]}]}),
            json!({"Type": category, "TimeGenerated": value, "ActionType": key, "LocalPort": value}),
        ] {
            read_and_map("d.json", doc.to_string().as_bytes());
        }
    }

    #[test]
    fn csv_rows(body in "[A-Za-z0-9,\"\\n. :-]{0,300}") {
        let csv = format!(
            "Timestamp,DeviceName,ActionType,RemoteIP,RemotePort,ReportId,Type\n{body}"
        );
        read_and_map("x.csv", csv.as_bytes());
    }

    #[test]
    fn sysmon_event_data(
        code in 0u64..32,
        fields in proptest::collection::vec((0usize..SYSMON_FIELDS.len(), any::<String>()), 0..12),
        computer in any::<String>(),
    ) {
        let mut data = Map::new();
        for (i, v) in fields {
            data.insert(SYSMON_FIELDS[i].to_string(), Value::String(v));
        }
        let record = json!({"Event": {
            "System": {
                "EventID": code,
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": computer,
            },
            "EventData": data,
        }});
        if let Some((doc, index)) = map_windows_event(&record, "p.evtx") {
            let e = Event {
                source: doc,
                index: Arc::from(index),
                id: None,
                origin: Origin { file: Arc::from("p.evtx"), locator: Locator::Record(1) },
            };
            let _ = to_defender(&e);
        }
    }

    #[test]
    fn datetimes(s in "[0-9T:. Z+-]{0,40}") {
        if let Some(t) = harrier_sources::defender::kusto_datetime(&s) {
            prop_assert_eq!(t.len(), 28);
        }
    }
}
