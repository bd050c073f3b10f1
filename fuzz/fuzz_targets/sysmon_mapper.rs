//! Arbitrary Sysmon EventData key/values through the Sysmon → ECS mapper and
//! then onto Defender tables.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};

#[derive(Arbitrary, Debug)]
struct Input {
    event_id: u8,
    computer: String,
    fields: Vec<(Field, String)>,
}

/// Mostly the names Sysmon uses, so the mapper's branches are reached.
#[derive(Arbitrary, Debug)]
enum Field {
    Known(u8),
    Other(String),
}

const KNOWN: &[&str] = &[
    "UtcTime",
    "ProcessGuid",
    "ProcessId",
    "Image",
    "CommandLine",
    "User",
    "LogonId",
    "IntegrityLevel",
    "Hashes",
    "Hash",
    "ParentProcessId",
    "ParentImage",
    "ParentCommandLine",
    "OriginalFileName",
    "Protocol",
    "Initiated",
    "SourceIsIpv6",
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
    "QueryStatus",
    "PipeName",
    "SourceImage",
    "TargetImage",
    "TargetProcessId",
    "GrantedAccess",
    "SourceProcessGuid",
    "Archived",
    "IsExecutable",
    "Signature",
    "SignatureStatus",
    "Signed",
    "ID",
    "Type",
    "RuleName",
];

fuzz_target!(|input: Input| {
    let mut data = Map::new();
    for (field, value) in input.fields {
        let key = match field {
            Field::Known(i) => KNOWN[usize::from(i) % KNOWN.len()].to_string(),
            Field::Other(s) => s,
        };
        data.insert(key, Value::String(value));
    }
    let record = json!({"Event": {
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
            "EventID": input.event_id % 32,
            "EventRecordID": 1,
            "Channel": "Microsoft-Windows-Sysmon/Operational",
            "Computer": input.computer,
        },
        "EventData": data,
    }});
    if let Some((doc, index)) = harrier_sources::map_windows_event(&record, "fuzz.evtx") {
        let event = harrier_event::Event {
            source: doc,
            index: index.into(),
            id: None,
            origin: harrier_event::Origin {
                file: "fuzz.evtx".into(),
                locator: harrier_event::Locator::Record(1),
            },
        };
        let _ = harrier_sources::to_defender(&event);
    }
});
