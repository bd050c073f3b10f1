//! Text inputs: NDJSON, JSON arrays, Elasticsearch hits and search responses,
//! CSV, gzip and zstd, stdin-free. Files are written to a fresh temporary folder.

mod common;

use common::read_all;
use harrier_event::Locator;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh folder under the system temp dir for one test.
fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "harrier-sources-{}-{}-{}",
        std::process::id(),
        name,
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn write(path: &PathBuf, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write test file");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

#[test]
fn ndjson_with_one_malformed_line_keeps_the_rest() {
    let dir = scratch("ndjson");
    let f = dir.join("events.data");
    write(
        &f,
        b"{\"a\":1}\n{\"a\":2,\n\n{\"_index\":\"logs-x\",\"_id\":\"7\",\"_source\":{\"a\":3}}\n",
    );
    let (events, skips, summary) = read_all(&[f]);
    assert_eq!(summary.events, 2);
    assert_eq!(summary.skipped, 1);
    assert_eq!(summary.failed_files, 0);
    assert_eq!(events[0].source["a"], 1);
    assert_eq!(events[0].origin.locator, Locator::Line(1));
    assert_eq!(&*events[0].index, "");
    assert_eq!(events[1].source["a"], 3);
    assert_eq!(events[1].origin.locator, Locator::Line(4));
    assert_eq!(&*events[1].index, "logs-x");
    assert_eq!(events[1].id.as_deref(), Some("7"));
    assert_eq!(skips.len(), 1);
    assert_eq!(skips[0].origin.locator, Locator::Line(2));
    assert!(skips[0].origin.to_string().ends_with("events.data:2"));
    assert!(
        skips[0].reason.starts_with("invalid JSON: EOF"),
        "{}",
        skips[0].reason
    );
}

#[test]
fn data_stream_fields_name_the_index() {
    let dir = scratch("ds");
    let f = dir.join("x.json");
    write(
        &f,
        br#"{"data_stream":{"type":"logs","dataset":"endpoint.events.process","namespace":"default"},"event":{"category":["process"]}}
{"data_stream.type":"logs","data_stream.dataset":"d","data_stream.namespace":"n"}
"#,
    );
    let (events, _, _) = read_all(&[f]);
    assert_eq!(&*events[0].index, "logs-endpoint.events.process-default");
    assert_eq!(&*events[1].index, "logs-d-n");
}

#[test]
fn json_array_and_search_response() {
    let dir = scratch("array");
    let a = dir.join("a.json");
    write(
        &a,
        br#" [ {"x": 1}, {"_index": "i", "_source": {"x": 2}}, 5 ]"#,
    );
    let b = dir.join("b.json");
    write(
        &b,
        br#"{
  "took": 3,
  "hits": {
    "total": {"value": 2},
    "hits": [
      {"_index": "logs-a", "_id": "1", "_source": {"y": 1}},
      {"_index": "logs-b", "_id": "2", "_source": {"y": 2}}
    ]
  }
}
"#,
    );
    let (events, skips, summary) = read_all(&[dir]);
    assert_eq!(summary.files, 2);
    // Directory order is sorted: a.json, then b.json.
    assert_eq!(events.len(), 4);
    assert_eq!(events[0].origin.locator, Locator::Element(0));
    assert_eq!(events[1].origin.locator, Locator::Element(1));
    assert_eq!(&*events[1].index, "i");
    assert_eq!(skips.len(), 1, "the number 5 is not a document");
    assert_eq!(skips[0].origin.locator, Locator::Element(2));
    assert_eq!(&*events[2].index, "logs-a");
    assert_eq!(events[3].id.as_deref(), Some("2"));
    assert_eq!(events[3].origin.locator, Locator::Element(1));
}

#[test]
fn gzip_and_zstd_are_detected_by_content() {
    let dir = scratch("compressed");
    let text = b"{\"n\":1}\n{\"n\":2}\n";
    write(&dir.join("one.bin"), &gzip(text));
    let z = zstd::stream::encode_all(&text[..], 3).expect("zstd");
    write(&dir.join("two.bin"), &z);
    // gzip inside zstd.
    let gz_in_z = zstd::stream::encode_all(&gzip(text)[..], 3).expect("zstd");
    write(&dir.join("three.bin"), &gz_in_z);
    let (events, skips, summary) = read_all(&[dir]);
    assert!(skips.is_empty(), "{skips:?}");
    assert_eq!(summary.files, 3);
    assert_eq!(events.len(), 6);
}

#[test]
fn truncated_gzip_keeps_what_was_read() {
    let dir = scratch("truncated");
    let mut text = Vec::new();
    for i in 0..2000 {
        text.extend_from_slice(
            format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "x".repeat(40)).as_bytes(),
        );
    }
    let gz = gzip(&text);
    let f = dir.join("cut.ndjson.gz");
    write(&f, &gz[..gz.len() / 2]);
    let (events, skips, summary) = read_all(&[f]);
    assert!(!events.is_empty());
    assert!(events.len() < 2000);
    assert_eq!(skips.len(), 1, "{skips:?}");
    assert_eq!(summary.failed_files, 0);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.source["n"], i);
    }
}

#[test]
fn csv_defender_export() {
    let dir = scratch("csv");
    let f = dir.join("export.csv");
    write(
        &f,
        "\u{feff}Timestamp,DeviceName,ActionType,RemoteIP,RemotePort,InitiatingProcessFileName,InitiatingProcessCommandLine\n\
         2024-01-01T00:00:00Z,host1,ConnectionSuccess,1.2.3.4,443,mshta.exe,\"mshta.exe \"\"javascript:a\"\"\"\n\
         2024-01-01T00:00:01Z,host1,InboundConnectionAccepted,,135,svchost.exe,svchost.exe -k RPCSS\n"
            .as_bytes(),
    );
    let (events, skips, _) = read_all(&[f]);
    assert!(skips.is_empty(), "{skips:?}");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].source["RemotePort"], 443);
    assert_eq!(
        events[0].source["InitiatingProcessCommandLine"],
        "mshta.exe \"javascript:a\""
    );
    assert_eq!(events[0].origin.locator, Locator::Line(2));
    assert!(events[1].source.get("RemoteIP").is_none());
    assert_eq!(events[1].origin.locator, Locator::Line(3));
}

#[test]
fn missing_and_unknown_files_fail_alone() {
    let dir = scratch("bad");
    let unknown = dir.join("notes.txt");
    write(&unknown, b"just some words\n");
    let good = dir.join("ok.json");
    write(&good, b"{\"k\":1}\n");
    let (events, skips, summary) = read_all(&[dir.join("missing.json"), unknown, good]);
    assert_eq!(events.len(), 1);
    assert_eq!(summary.failed_files, 2);
    assert_eq!(skips.len(), 2);
}

#[test]
fn evtx_json_renderings_are_mapped_like_records() {
    let dir = scratch("evtxjson");
    let f = dir.join("record.json");
    write(
        &f,
        br##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":3,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"pc","EventRecordID":9,"TimeCreated":{"#attributes":{"SystemTime":"2020-01-01T00:00:01.5Z"}}},"EventData":{"UtcTime":"2020-01-01 00:00:01.000","ProcessGuid":"365abb72-19e0-5cda-0000-001006711000","Image":"C:\\Windows\\System32\\mshta.exe","Protocol":"tcp","Initiated":"false","SourceIsIpv6":"false","SourceIp":"10.0.0.1","SourcePort":49168,"DestinationIp":"10.0.0.2","DestinationPort":55683}}}
"##,
    );
    let (events, skips, _) = read_all(&[f]);
    assert!(skips.is_empty(), "{skips:?}");
    let e = &events[0];
    assert_eq!(&*e.index, "logs-windows.sysmon_operational-default");
    assert_eq!(
        e.source["process"]["entity_id"],
        "{365ABB72-19E0-5CDA-0000-001006711000}"
    );
    assert_eq!(e.source["process"]["name"], "mshta.exe");
    assert_eq!(e.source["network"]["direction"], "ingress");
    assert_eq!(e.source["source"]["port"], 49168);
    assert_eq!(e.source["event"]["created"], "2020-01-01T00:00:01.500Z");
    assert_eq!(e.source["@timestamp"], "2020-01-01T00:00:01.000Z");
}
