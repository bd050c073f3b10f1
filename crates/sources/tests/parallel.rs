//! `read_paths_with`: NDJSON files on several threads give the same events,
//! in the same order, with the same line numbers and skips as the sequential
//! reader; a line filter passes lines over unparsed and counts them.

use harrier_event::{Event, Locator};
use harrier_sources::{read_paths, read_paths_with, LineFilter, ReadOptions, Skip};
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("harrier-parallel-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// About 12 MB of NDJSON (a dozen 1 MB blocks), with blank lines, a malformed
/// line, an Elasticsearch hit, a BOM and no newline after the last line.
fn big_file(dir: &std::path::Path) -> PathBuf {
    let mut text = String::from("\u{feff}");
    for i in 0..60_000u32 {
        if i == 30_000 {
            // longer than a reading block (1 MiB): read across blocks whole
            text.push_str(&format!(
                "{{\"n\":\"long\",\"process\":{{\"command_line\":\"{}\"}}}}\n",
                "z".repeat(2_500_000)
            ));
        }
        match i % 10_007 {
            5 => text.push_str("{\"broken\": \n"),
            6 => text.push('\n'),
            7 => text.push_str(&format!(
                "{{\"_index\":\"logs-x\",\"_id\":\"h{i}\",\"_source\":{{\"n\":{i}}}}}\n"
            )),
            _ => text.push_str(&format!(
                "{{\"@timestamp\":\"2024-05-06T08:00:00Z\",\"n\":{i},\"process\":{{\"name\":\"{}\",\"command_line\":\"{}\"}}}}\n",
                if i % 1000 == 0 { "mshta.exe" } else { "svchost.exe" },
                "x".repeat(150),
            )),
        }
    }
    text.push_str("{\"n\":\"last\"}");
    let path = dir.join("events.ndjson");
    std::fs::write(&path, text).expect("write");
    path
}

fn key(e: &Event) -> (String, String, String, Option<String>) {
    let line = match e.origin.locator {
        Locator::Line(n) => n.to_string(),
        other => format!("{other:?}"),
    };
    (
        line,
        serde_json::to_string(&e.source).expect("json"),
        e.index.to_string(),
        e.id.as_deref().map(str::to_owned),
    )
}

fn skips(list: &[Skip]) -> Vec<String> {
    list.iter()
        .map(|s| format!("{}: {}", s.origin, s.reason))
        .collect()
}

#[test]
fn parallel_reading_equals_sequential_reading() {
    let dir = scratch("equal");
    let path = big_file(&dir);
    let paths = vec![path];

    let mut seq_events = Vec::new();
    let mut seq_skips = Vec::new();
    let seq = read_paths(
        &paths,
        &ReadOptions::default(),
        &mut |e| seq_events.push(key(&e)),
        &mut |s| seq_skips.push(s),
    );

    let opts = ReadOptions {
        threads: 3,
        ..ReadOptions::default()
    };
    let mut par_events = Vec::new();
    let mut par_skips = Vec::new();
    let par = read_paths_with(
        &paths,
        &opts,
        None,
        &|e: Event| Some(key(&e)),
        &mut |k| par_events.push(k),
        &mut |s| par_skips.push(s),
    );
    assert_eq!(seq, par);
    // 60,000 lines, 6 broken and 6 blank, plus the last and the long one
    assert_eq!(seq_events.len(), 60_000 - 6 * 2 + 2);
    assert_eq!(seq_events, par_events);
    assert_eq!(skips(&seq_skips), skips(&par_skips));
    assert_eq!(par.skipped, 6);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_line_filter_passes_lines_over_and_counts_them() {
    let dir = scratch("filter");
    let path = big_file(&dir);
    let opts = ReadOptions {
        threads: 2,
        ..ReadOptions::default()
    };
    let filter = |line: &[u8]| line.windows(5).any(|w| w == b"mshta");
    let mut names = Vec::new();
    let summary = read_paths_with(
        &[path],
        &opts,
        Some(&filter as &LineFilter<'_>),
        &|e: Event| {
            let line = match e.origin.locator {
                Locator::Line(n) => n,
                _ => 0,
            };
            Some((line, e.source["process"]["name"].clone()))
        },
        &mut |item| names.push(item),
        &mut |_| {},
    );
    // every 1000th event names mshta.exe; the malformed lines are passed over too
    assert_eq!(names.len(), 60);
    assert!(names.iter().all(|(_, n)| n == "mshta.exe"));
    // line numbers count every line, passed over or not (line 1 holds event 0)
    assert_eq!(names[1].0, 1001);
    // the line longer than a block, before event 30,000, is one line
    assert_eq!(names[30].0, 30_002);
    assert_eq!(summary.events, 60);
    assert_eq!(summary.skipped, 0);
    assert_eq!(summary.passed_over, 60_000 - 6 - 60 + 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Defender rows mixed with lines of other shapes (ECS, an Elasticsearch hit of
/// a Defender row, a batch of records, a Sentinel row with `Type`, a logon row,
/// bad JSON): reading with [`defender_quick_parse`] gives the rows
/// `to_defender` makes from the whole lines, for the named columns.
#[test]
fn quick_defender_parse_gives_the_rows_of_the_whole_lines() {
    use harrier_sources::{defender_quick_parse, read_paths_quick, to_defender};
    let dir = scratch("quick");
    let mut text = String::new();
    for i in 0..40_000u32 {
        let line = match i % 97 {
            1 => format!(
                "{{\"@timestamp\":\"2024-05-06T08:00:00Z\",\"event\":{{\"category\":[\"network\"],\"type\":[\"connection\"]}},\"destination\":{{\"ip\":\"10.0.0.{}\",\"port\":{i}}},\"host\":{{\"name\":\"h{i}\"}},\"process\":{{\"name\":\"a.exe\"}}}}",
                i % 250
            ),
            2 => format!(
                "{{\"_index\":\"DeviceNetworkEvents\",\"_source\":{{\"Timestamp\":\"2024-05-06T08:00:00Z\",\"DeviceName\":\"e{i}\",\"ActionType\":\"ConnectionSuccess\",\"RemotePort\":{i}}}}}"
            ),
            3 => format!(
                "{{\"records\":[{{\"Timestamp\":\"2024-05-06T08:00:00Z\",\"DeviceName\":\"r{i}\",\"ActionType\":\"ConnectionSuccess\",\"RemotePort\":\"{i}\"}}]}}"
            ),
            4 => format!(
                "{{\"TimeGenerated\":\"2024-05-06T08:00:01Z\",\"Type\":\"DeviceProcessEvents\",\"DeviceName\":\"s{i}\",\"ActionType\":\"ConnectionSuccess\",\"ProcessId\":{i},\"FileName\":\"f.exe\"}}"
            ),
            5 => format!(
                "{{\"Timestamp\":\"2024-05-06T08:00:00Z\",\"DeviceName\":\"l{i}\",\"ActionType\":\"LogonSuccess\",\"LogonType\":\"Network\"}}"
            ),
            6 => "{\"Timestamp\": broken".to_string(),
            _ => format!(
                "{{\"Timestamp\":\"2024-05-06T08:{:02}:00.123Z\",\"DeviceName\":\"d{i}\",\"ActionType\":\"ConnectionSuccess\",\"RemoteIP\":\"1.2.3.{}\",\"RemotePort\":{},\"RemoteUrl\":\"x{}\",\"Protocol\":\"Tcp\",\"InitiatingProcessId\":\"{i}\",\"Extra\":{{\"a\":[1,2]}}}}",
                i % 60,
                i % 250,
                i % 65536,
                "y".repeat(200)
            ),
        };
        text.push_str(&line);
        text.push('\n');
    }
    let path = dir.join("rows.ndjson");
    std::fs::write(&path, text).expect("write");
    let paths = vec![path];
    let columns = ["DeviceName", "RemotePort", "Timestamp", "ProcessId"];
    let row = |e: &Event| {
        to_defender(e).map(|r| {
            let kept: serde_json::Map<_, _> = r
                .row
                .into_iter()
                .filter(|(k, _)| columns.contains(&k.as_str()))
                .collect();
            (
                r.table.name(),
                serde_json::to_string(&kept).unwrap_or_default(),
            )
        })
    };
    let mut whole = Vec::new();
    let mut whole_skips = Vec::new();
    let seq = read_paths(
        &paths,
        &ReadOptions::default(),
        &mut |e| whole.extend(row(&e)),
        &mut |s| whole_skips.push(s),
    );
    let opts = ReadOptions {
        threads: 3,
        ..ReadOptions::default()
    };
    let quick = defender_quick_parse(columns);
    let mut quick_rows = Vec::new();
    let mut quick_skips = Vec::new();
    let par = read_paths_quick(
        &paths,
        &opts,
        None,
        Some(&quick),
        &|e: Event| row(&e),
        &mut |r| quick_rows.push(r),
        &mut |s| quick_skips.push(s),
    );
    assert_eq!(seq, par);
    assert!(seq.skipped > 400);
    assert_eq!(whole, quick_rows);
    assert_eq!(skips(&whole_skips), skips(&quick_skips));
    for table in ["DeviceNetworkEvents", "DeviceProcessEvents"] {
        assert!(whole.iter().any(|(t, _)| *t == table), "{table}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
