//! Every EVTX file in `datasets/evtx/` is read without aborting; the damaged
//! samples give exactly the skips pinned here.

mod common;

use common::{read_all, shared};
use harrier_event::Locator;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn evtx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            evtx_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "evtx") {
            out.push(p);
        }
    }
}

/// Skips per file of `parser-edge-cases/` with evtx 0.15.1. (The dataset README
/// lists evtx 0.14's numbers; 0.15 resyncs past damage, so it reads more
/// records and reports `sample_with_a_bad_chunk_magic.evtx` as 2 bad chunks and
/// 1 bad record header rather than 2 failures.)
const EDGE_CASE_SKIPS: &[(&str, usize)] = &[
    (
        "2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx",
        4,
    ),
    ("sample-with-zero-data-size-event.evtx", 1),
    ("sample_with_a_bad_chunk_magic.evtx", 3),
    ("sysmon.evtx", 8),
];

#[test]
fn all_evtx_files_read_without_aborting() {
    let Some(shared) = shared() else { return };
    let root = shared.join("datasets/evtx");
    let mut files = Vec::new();
    evtx_files(&root, &mut files);
    assert_eq!(files.len(), 532, "EVTX files in datasets/evtx");

    let (events, skips, summary) = read_all(&files);
    assert_eq!(summary.files, 532);
    assert_eq!(summary.failed_files, 0, "{skips:#?}");
    assert_eq!(summary.events as usize, events.len());
    assert_eq!(summary.skipped as usize, skips.len());

    let mut per_file: BTreeMap<String, usize> = BTreeMap::new();
    for s in &skips {
        assert!(matches!(s.origin.locator, Locator::Record(_)));
        assert!(!s.reason.is_empty());
        let name = s
            .origin
            .file
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        *per_file.entry(name).or_default() += 1;
        assert!(
            s.origin.file.contains("parser-edge-cases"),
            "unexpected skip: {} {}",
            s.origin,
            s.reason
        );
    }
    let want: BTreeMap<String, usize> = EDGE_CASE_SKIPS
        .iter()
        .map(|(f, n)| (f.to_string(), *n))
        .collect();
    assert_eq!(per_file, want);

    // Record counts: the README's 17,654 (evtx 0.14) plus the records 0.15
    // recovers past the damage: 449 - 335 in sample-with-zero-data-size-event
    // and 301 - 270 in sample_with_a_bad_chunk_magic. Every other file gives
    // exactly the manifest's record count.
    assert_eq!(events.len(), 17_654 + (449 - 335) + (301 - 270));

    // Records without a Channel (an ETW capture) are accepted.
    let zerologon: Vec<_> = events
        .iter()
        .filter(|e| e.origin.file.ends_with("etw_rpc_zerologon.evtx"))
        .collect();
    assert_eq!(zerologon.len(), 415);
    for e in &zerologon {
        assert_eq!(&*e.index, "logs-windows.forwarded-default");
        assert!(e.source["winlog"].get("channel").is_none());
        assert_eq!(e.source["host"]["os"]["type"], "windows");
    }

    // Every event has the fields every Windows log gets.
    for e in &events {
        assert!(matches!(e.origin.locator, Locator::Record(_)));
        // From System/EventRecordID, which can differ from the record header's
        // id (the locator) in damaged or carved files.
        assert!(e.source["winlog"]["record_id"].is_string());
        assert_eq!(e.source["host"]["os"]["family"], "windows");
        assert!(e.source["log"]["file"]["path"].is_string());
        assert!(e.source["event"]["created"].is_string());
    }

    // Within an undamaged file, events come in record order.
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.origin.file.contains("attack-samples"))
    {
        let Locator::Record(id) = e.origin.locator else {
            continue;
        };
        let prev = last.insert(&e.origin.file, id);
        if let Some(p) = prev {
            assert!(p < id, "{} out of order", e.origin);
        }
    }
}

/// A record mapped in place writes its document's JSON text without
/// building the map ([`harrier_sources::FlatRecord::json`]): the text is
/// what `serde_json` writes for the record's event, for every record of
/// every file.
#[test]
fn records_mapped_in_place_write_the_json_of_their_events() {
    use harrier_event::{FieldIndex, FieldPath};
    use harrier_sources::{read_paths_flat, FlatLine, FlatRead, FlatRecord, ReadOptions};
    let Some(shared) = shared() else { return };
    let mut files = Vec::new();
    evtx_files(&shared.join("datasets/evtx"), &mut files);
    let paths = [FieldPath::new("process.name"), FieldPath::new("event.code")];
    let fields = FieldIndex::new(&paths);
    let lines = |_: &FlatLine<'_>| -> Option<Option<(usize, usize)>> { None };
    let records = |r: &FlatRecord<'_>| {
        let written = r.json();
        let event = r.event();
        let want = serde_json::to_vec(&event.source).unwrap_or_default();
        // once the map is built, the text is written from the map
        let again = r.json();
        Some(Some((
            usize::from(written != want),
            usize::from(again != want),
        )))
    };
    let flat = FlatRead {
        fields: &fields,
        map: Some(&lines),
        record: Some(&records),
    };
    let (mut checked, mut differ) = (0usize, (0usize, 0usize));
    read_paths_flat(
        &files,
        &ReadOptions::default(),
        None,
        Some(&flat),
        &|_, _| None,
        &mut |(a, b)| {
            checked += 1;
            differ.0 += a;
            differ.1 += b;
        },
        &mut |_| {},
    );
    assert!(checked > 10_000, "records mapped in place: {checked}");
    assert_eq!(differ, (0, 0), "of {checked} records");
}
