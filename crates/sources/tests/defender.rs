//! Events onto Defender tables: the mshta ground truth over the EVTX attack
//! samples, the Defender fixture rows passing through, and the API shapes.

mod common;

use common::{read_all, shared};
use harrier_event::{Event, Locator, Origin};
use harrier_sources::{read_bytes, to_defender, DefenderRow, DefenderTable};
use serde_json::{json, Map, Value};
use std::sync::Arc;

fn rows_of(events: &[Event]) -> Vec<DefenderRow> {
    events.iter().filter_map(to_defender).collect()
}

fn s<'a>(r: &'a DefenderRow, col: &str) -> Option<&'a str> {
    r.row.get(col).and_then(Value::as_str)
}

#[test]
fn mshta_public_connections_in_the_attack_samples() {
    let Some(shared) = shared() else { return };
    let base = shared.join("datasets/evtx/attack-samples");
    let (events, _, summary) = read_all(&[base]);
    assert!(summary.events > 8000, "{summary:?}");
    let rows = rows_of(&events);
    let mapped: Vec<(&Event, DefenderRow)> = events
        .iter()
        .filter_map(|e| to_defender(e).map(|r| (e, r)))
        .collect();
    let mshta: Vec<(&Event, &DefenderRow)> = mapped
        .iter()
        .map(|(e, r)| (*e, r))
        .filter(|(_, r)| {
            r.table == DefenderTable::DeviceNetworkEvents
                && s(r, "InitiatingProcessFileName")
                    .is_some_and(|f| f.eq_ignore_ascii_case("mshta.exe"))
        })
        .collect();
    let public: Vec<_> = mshta
        .iter()
        .filter(|(_, r)| s(r, "RemoteIPType") == Some("Public"))
        .collect();
    let file = |e: &Event| {
        e.origin
            .file
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let mut got: Vec<(String, String)> = public
        .iter()
        .map(|(e, r)| (file(e), s(r, "RemoteIP").unwrap_or_default().to_string()))
        .collect();
    got.sort();
    let persist = "exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx";
    let panache = "panache_sysmon_vs_EDRTestingScript.evtx";
    let mut want: Vec<(String, String)> = [
        (persist, "108.179.232.58"),
        (persist, "105.73.6.112"),
        (persist, "105.73.6.105"),
        (panache, "151.101.0.133"),
        (panache, "93.184.220.29"),
    ]
    .iter()
    .map(|(f, ip)| (f.to_string(), ip.to_string()))
    .collect();
    want.sort();
    assert_eq!(got, want);
    for (_, r) in &public {
        assert_eq!(s(r, "ActionType"), Some("ConnectionSuccess"));
        assert_eq!(s(r, "Protocol"), Some("Tcp"));
        assert_eq!(s(r, "LocalIPType"), Some("Private"));
        assert!(r.row.get("RemotePort").is_some_and(Value::is_u64));
        assert!(s(r, "DeviceName").is_some());
        // Sysmon network events carry no command line; the image path is there.
        assert!(s(r, "InitiatingProcessFolderPath").is_some());
        assert_eq!(s(r, "InitiatingProcessAccountName"), Some("ieuser"));
        let ts = s(r, "Timestamp").unwrap_or_default();
        assert_eq!(ts.len(), "2019-06-15T07:13:42.5770000Z".len(), "{ts}");
        assert_eq!(r.row.get("TimeGenerated"), r.row.get("Timestamp"));
    }
    // The hostgator connection carries its host name.
    assert!(public
        .iter()
        .any(|(_, r)| s(r, "RemoteUrl") == Some("gator4243.hostgator.com")));
    // sharpshooter (outbound) and LethalHTA (inbound) stay in the private range.
    for (name, action, remote) in [
        (
            "sysmon_mshta_sharpshooter_stageless_meterpreter.evtx",
            "ConnectionSuccess",
            "10.0.2.18",
        ),
        (
            "LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx",
            "InboundConnectionAccepted",
            "10.0.2.17",
        ),
    ] {
        let mine: Vec<_> = mshta.iter().filter(|(e, _)| file(e) == name).collect();
        assert_eq!(mine.len(), 1, "{name}");
        let r = mine[0].1;
        assert_eq!(s(r, "RemoteIPType"), Some("Private"), "{name}");
        assert_eq!(s(r, "ActionType"), Some(action), "{name}");
        assert_eq!(s(r, "RemoteIP"), Some(remote), "{name}");
    }
    // Every table gets rows from the samples.
    for t in DefenderTable::all() {
        let n = rows.iter().filter(|r| r.table == t).count();
        eprintln!("{}: {n}", t.name());
        assert!(n > 0, "{}", t.name());
    }
}

#[test]
fn lethal_hta_inbound_orientation() {
    let Some(shared) = shared() else { return };
    let file = shared.join(
        "datasets/evtx/attack-samples/Lateral Movement/LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx",
    );
    let (events, _, _) = read_all(&[file]);
    let rows = rows_of(&events);
    let net = rows
        .iter()
        .find(|r| r.table == DefenderTable::DeviceNetworkEvents)
        .expect("network row");
    // Sysmon names the local end (IEWIN7, 10.0.2.16:49168) the source here.
    assert_eq!(s(net, "LocalIP"), Some("10.0.2.16"));
    assert_eq!(net.row.get("LocalPort"), Some(&json!(49168)));
    assert_eq!(s(net, "RemoteIP"), Some("10.0.2.17"));
    assert_eq!(net.row.get("RemotePort"), Some(&json!(55683)));
    let start = rows
        .iter()
        .find(|r| r.table == DefenderTable::DeviceProcessEvents)
        .expect("process row");
    assert_eq!(s(start, "FileName"), Some("mshta.exe"));
    assert_eq!(
        s(start, "ProcessCommandLine"),
        Some(r"C:\Windows\System32\mshta.exe -Embedding")
    );
    assert_eq!(s(start, "InitiatingProcessFileName"), Some("svchost.exe"));
    assert_eq!(s(start, "ActionType"), Some("ProcessCreated"));
}

#[test]
fn event_hub_fixture_rows_pass_through() {
    let Some(shared) = shared() else { return };
    let file = shared.join("datasets/defender/m365-defender-pipeline-tests/test-device.log");
    let (events, skips, _) = read_all(&[file]);
    assert!(skips.is_empty(), "{skips:?}");
    assert_eq!(events.len(), 31);
    let rows = rows_of(&events);
    let count = |t: DefenderTable| rows.iter().filter(|r| r.table == t).count();
    assert_eq!(count(DefenderTable::DeviceNetworkEvents), 17);
    assert_eq!(count(DefenderTable::DeviceProcessEvents), 2);
    assert_eq!(count(DefenderTable::DeviceImageLoadEvents), 3);
    assert_eq!(count(DefenderTable::DeviceRegistryEvents), 2);
    assert_eq!(count(DefenderTable::DeviceFileEvents), 1);
    assert_eq!(count(DefenderTable::DeviceEvents), 1);
    // DeviceInfo, DeviceLogonEvents, ... are not among the six tables.
    assert_eq!(rows.len(), 26);
    let inbound = rows
        .iter()
        .find(|r| s(r, "ActionType") == Some("InboundConnectionAccepted"))
        .expect("inbound row");
    assert_eq!(inbound.row.get("LocalPort"), Some(&json!(135)));
    assert!(inbound.row.get("TimeGenerated").is_some());
    for r in &rows {
        let ts = s(r, "Timestamp").unwrap_or_default();
        assert!(ts.ends_with('Z') && ts.len() == 28, "{ts}");
        assert!(r.row.values().all(|v| !v.is_null()));
        if let Some(a) = r.row.get("AdditionalFields") {
            assert!(a.is_object() || a.is_array(), "{a}");
        }
    }
}

fn event(index: &str, source: Value) -> Event {
    let Value::Object(source) = source else {
        panic!("object")
    };
    Event {
        source,
        index: Arc::from(index),
        id: None,
        origin: Origin {
            file: Arc::from("t"),
            locator: Locator::Line(1),
        },
    }
}

#[test]
fn api_results_and_sentinel_rows() {
    let api = json!({
        "Schema": [{"Name": "Timestamp", "Type": "DateTime"}, {"Name": "ActionType", "Type": "String"}],
        "Results": [
            {"Timestamp": "2019-06-15T07:13:42.577Z", "DeviceName": "pc1", "ActionType": "ConnectionSuccess",
             "RemoteIP": "8.8.8.8", "RemotePort": "443", "InitiatingProcessFileName": "mshta.exe"},
            {"Timestamp": "2019-06-15T07:13:43Z", "DeviceName": "pc1", "ActionType": "ProcessCreated",
             "ProcessId": 42}
        ]
    });
    let mut events = Vec::new();
    read_bytes(
        "api.json",
        api.to_string().as_bytes(),
        &mut |e| events.push(e),
        &mut |s| panic!("{}", s.reason),
    );
    assert_eq!(events.len(), 2);
    let rows = rows_of(&events);
    assert_eq!(rows[0].table, DefenderTable::DeviceNetworkEvents);
    assert_eq!(rows[0].row["RemotePort"], json!(443));
    assert_eq!(
        rows[0].row["Timestamp"],
        json!("2019-06-15T07:13:42.5770000Z")
    );
    assert_eq!(rows[0].row["TimeGenerated"], rows[0].row["Timestamp"]);
    assert_eq!(rows[1].table, DefenderTable::DeviceProcessEvents);

    let sentinel = r#"{"TimeGenerated":"2024-01-02T03:04:05.1234567Z","Type":"DeviceRegistryEvents","ActionType":"RegistryValueSet","RegistryKey":"HKEY_LOCAL_MACHINE\\x","DeviceName":"pc"}"#;
    let mut events = Vec::new();
    read_bytes(
        "s.json",
        sentinel.as_bytes(),
        &mut |e| events.push(e),
        &mut |_| {},
    );
    assert_eq!(&*events[0].index, "DeviceRegistryEvents");
    let r = to_defender(&events[0]).expect("row");
    assert_eq!(r.table, DefenderTable::DeviceRegistryEvents);
    assert_eq!(r.row["Timestamp"], json!("2024-01-02T03:04:05.1234567Z"));

    let la = json!({"tables": [{"name": "PrimaryResult",
        "columns": [{"name": "TimeGenerated", "type": "datetime"}, {"name": "Type", "type": "string"},
                    {"name": "ActionType", "type": "string"}, {"name": "FileName", "type": "string"}],
        "rows": [["2024-01-02T03:04:05Z", "DeviceFileEvents", "FileCreated", "a.exe"]]}]});
    let mut events = Vec::new();
    read_bytes(
        "la.json",
        la.to_string().as_bytes(),
        &mut |e| events.push(e),
        &mut |_| {},
    );
    let r = to_defender(&events[0]).expect("row");
    assert_eq!(r.table, DefenderTable::DeviceFileEvents);
    assert_eq!(r.row["FileName"], json!("a.exe"));
}

#[test]
fn csv_export_rows_pass_through() {
    let csv =
        "Timestamp,DeviceName,ActionType,FileName,FolderPath,InitiatingProcessFileName,ReportId\n\
               2019-06-15T07:13:42.577Z,pc1,ImageLoaded,x.dll,C:\\x.dll,rundll32.exe,17\n";
    let mut events = Vec::new();
    read_bytes(
        "e.csv",
        csv.as_bytes(),
        &mut |e| events.push(e),
        &mut |_| {},
    );
    let r = to_defender(&events[0]).expect("row");
    assert_eq!(r.table, DefenderTable::DeviceImageLoadEvents);
    assert_eq!(r.row["ReportId"], json!(17));
    assert_eq!(r.row["Type"], json!("DeviceImageLoadEvents"));
}

#[test]
fn elastic_defend_network_and_process() {
    let net = event(
        "logs-endpoint.events.network-default",
        json!({
            "@timestamp": "2020-03-03T19:08:32.74626000Z",
            "event": {"action": "connection_accepted", "category": ["network"], "type": ["start"], "module": "endpoint"},
            "host": {"name": "Host1", "ip": "10.0.1.20"},
            "network": {"direction": "inbound", "transport": "tcp"},
            "process": {"executable": "C:\\eclipse.exe", "name": "eclipse.exe", "pid": 5},
            "source": {"ip": "192.168.10.100", "port": 12345},
            "destination": {"ip": "10.0.1.20", "port": 11123},
            "user": {"id": "S-1-5-18", "name": "MINWINPC$"}
        }),
    );
    let r = to_defender(&net).expect("row");
    assert_eq!(r.table, DefenderTable::DeviceNetworkEvents);
    assert_eq!(r.row["ActionType"], json!("InboundConnectionAccepted"));
    assert_eq!(r.row["RemoteIP"], json!("192.168.10.100"));
    assert_eq!(r.row["LocalPort"], json!(11123));
    assert_eq!(r.row["DeviceName"], json!("host1"));
    assert_eq!(r.row["InitiatingProcessAccountSid"], json!("S-1-5-18"));
    assert_eq!(r.row["Timestamp"], json!("2020-03-03T19:08:32.7462600Z"));

    let mut m = Map::new();
    m.insert("@timestamp".into(), json!("2022-04-04T18:52:00Z"));
    m.insert(
        "event".into(),
        json!({"category": ["process"], "type": ["start"]}),
    );
    m.insert(
        "process".into(),
        json!({"executable": "C:\\w\\cmd.exe", "pid": 9, "command_line": "cmd /c x",
               "parent": {"executable": "C:\\w\\explorer.exe", "pid": 1}}),
    );
    let r = to_defender(&event("", Value::Object(m))).expect("row");
    assert_eq!(r.table, DefenderTable::DeviceProcessEvents);
    assert_eq!(r.row["FileName"], json!("cmd.exe"));
    assert_eq!(r.row["InitiatingProcessFileName"], json!("explorer.exe"));
    assert_eq!(r.row["InitiatingProcessId"], json!(1));
}
