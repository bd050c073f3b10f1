//! The mapped Sysmon events of the mshta samples (datasets/README.md §3) carry
//! the fields the mshta rules read.

mod common;

use common::{read_all, shared};
use harrier_event::{lookup_first, Event, FieldPath, Value};

fn field<'a>(e: &'a Event, path: &str) -> Option<&'a Value> {
    lookup_first(&e.source, &FieldPath::new(path))
}

fn code(e: &Event) -> Option<&str> {
    field(e, "event.code").and_then(Value::as_str)
}

#[test]
fn lethal_hta_dcom_launch_and_inbound_connection() {
    let Some(shared) = shared() else { return };
    let file = shared.join(
        "datasets/evtx/attack-samples/Lateral Movement/LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx",
    );
    let (events, skips, _) = read_all(&[file]);
    assert!(skips.is_empty(), "{skips:?}");
    for e in &events {
        eprintln!(
            "{} {}",
            e.origin,
            serde_json::to_string(&e.source).unwrap_or_default()
        );
    }
    let start = events
        .iter()
        .find(|e| code(e) == Some("1"))
        .expect("process start");
    let net = events
        .iter()
        .find(|e| code(e) == Some("3"))
        .expect("network event");
    for e in [start, net] {
        assert_eq!(&*e.index, "logs-windows.sysmon_operational-default");
        assert_eq!(
            field(e, "process.name").and_then(Value::as_str),
            Some("mshta.exe")
        );
        assert_eq!(
            field(e, "process.executable").and_then(Value::as_str),
            Some(r"C:\Windows\System32\mshta.exe")
        );
    }
    // The process start: a DCOM launch with -Embedding.
    assert_eq!(
        start.source["event"]["category"],
        Value::from(vec!["process"])
    );
    assert_eq!(start.source["event"]["type"], Value::from(vec!["start"]));
    assert_eq!(
        start.source["process"]["args"],
        Value::from(vec![r"C:\Windows\System32\mshta.exe", "-Embedding"])
    );
    assert_eq!(field(start, "process.args_count"), Some(&Value::from(2)));
    assert_eq!(
        field(start, "process.parent.name").and_then(Value::as_str),
        Some("svchost.exe")
    );
    assert_eq!(
        start.source["process"]["parent"]["args"],
        Value::from(vec![r"C:\Windows\system32\svchost.exe", "-k", "DcomLaunch"])
    );
    // The network event: inbound TCP, both ports above 49151, same process.
    let entity = field(start, "process.entity_id").and_then(Value::as_str);
    assert_eq!(entity, Some("{365ABB72-19E0-5CDA-0000-001006711000}"));
    assert_eq!(
        field(net, "process.entity_id").and_then(Value::as_str),
        entity
    );
    let direction = field(net, "network.direction").and_then(Value::as_str);
    assert!(
        matches!(direction, Some("ingress" | "incoming")),
        "{direction:?}"
    );
    assert_eq!(
        field(net, "network.transport").and_then(Value::as_str),
        Some("tcp")
    );
    assert_eq!(
        field(net, "network.type").and_then(Value::as_str),
        Some("ipv4")
    );
    assert_eq!(
        field(net, "source.ip").and_then(Value::as_str),
        Some("10.0.2.16")
    );
    assert_eq!(field(net, "source.port"), Some(&Value::from(49168)));
    assert_eq!(
        field(net, "destination.ip").and_then(Value::as_str),
        Some("10.0.2.17")
    );
    assert_eq!(field(net, "destination.port"), Some(&Value::from(55683)));
    assert_eq!(
        net.source["event"]["type"],
        Value::from(vec!["start", "connection", "protocol"])
    );
    // UtcTime puts the connection 4 s before the start; record order does not.
    assert_eq!(
        field(net, "@timestamp").and_then(Value::as_str),
        Some("2019-05-14T01:29:00.318Z")
    );
    assert_eq!(
        field(start, "@timestamp").and_then(Value::as_str),
        Some("2019-05-14T01:29:04.293Z")
    );
}

#[test]
fn outbound_mshta_samples_share_the_process_guid() {
    let Some(shared) = shared() else { return };
    let base = shared.join("datasets/evtx/attack-samples");
    let cases = [
        (
            "Execution/sysmon_mshta_sharpshooter_stageless_meterpreter.evtx",
            "{365ABB72-9AA6-5D04-0000-00109C850F00}",
            1,
        ),
        (
            "Execution/exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx",
            "{365ABB72-1A29-5CE4-0000-001079F92101}",
            3,
        ),
        (
            "AutomatedTestingTools/panache_sysmon_vs_EDRTestingScript.evtx",
            "{747F3D96-661E-5D3F-0000-00107F248700}",
            2,
        ),
    ];
    for (file, guid, connections) in cases {
        let (events, _, summary) = read_all(&[base.join(file)]);
        assert_eq!(summary.failed_files, 0);
        let mine: Vec<&Event> = events
            .iter()
            .filter(|e| field(e, "process.entity_id").and_then(Value::as_str) == Some(guid))
            .collect();
        let starts = mine.iter().filter(|e| code(e) == Some("1")).count();
        let nets: Vec<_> = mine.iter().filter(|e| code(e) == Some("3")).collect();
        assert_eq!(starts, 1, "{file}");
        assert_eq!(nets.len(), connections, "{file}");
        for n in nets {
            assert_eq!(
                field(n, "process.name")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .as_deref(),
                Some("mshta.exe"),
                "{file}"
            );
            assert_eq!(
                field(n, "network.direction").and_then(Value::as_str),
                Some("egress"),
                "{file}"
            );
            assert_eq!(
                field(n, "network.transport").and_then(Value::as_str),
                Some("tcp"),
                "{file}"
            );
            assert!(
                field(n, "destination.port").is_some_and(Value::is_u64),
                "{file}"
            );
            assert!(field(n, "source.port").is_some_and(Value::is_u64), "{file}");
        }
    }
}
