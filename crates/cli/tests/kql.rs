//! `harrier kql` run as a user would: self-contained queries, errors, and the Defender
//! mapping over the shared attack samples.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shared data folder beside the repository, or `None` (with a visible note).
fn shared() -> Option<PathBuf> {
    let dir = repo().join("../shared");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: ../shared not found");
        None
    }
}

fn harrier(args: &[&str]) -> Output {
    match Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(args)
        .current_dir(repo())
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!("cannot run harrier: {e}"),
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    match serde_json::from_slice(&o.stdout) {
        Ok(v) => v,
        Err(e) => panic!("not JSON ({e}): {}\n{}", stdout(o), stderr(o)),
    }
}

#[test]
fn kusto_format_of_a_datatable_query() {
    let q = "datatable(Name:string, Size:long, When:datetime, Took:timespan, Bag:dynamic)\
             ['a', 1, datetime(2024-01-02 03:04:05), 1d, dynamic({\"k\":[1,2]})]\
             | extend Twice = Size * 2";
    let o = harrier(&["kql", "--format", "kusto", q]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    let t = &v["Tables"][0];
    assert_eq!(t["TableName"], "Table_0");
    let types: Vec<&str> = t["Columns"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["ColumnType"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        types,
        ["string", "long", "datetime", "timespan", "dynamic", "long"]
    );
    assert_eq!(
        t["Rows"][0],
        serde_json::json!([
            "a",
            1,
            "2024-01-02T03:04:05.0000000Z",
            "1.00:00:00",
            {"k": [1, 2]},
            2
        ])
    );
}

#[test]
fn csv_and_table_formats() {
    let o = harrier(&[
        "kql",
        "--format",
        "csv",
        "range x from 1 to 3 step 1 | count",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "Count\n3\n");
    let o = harrier(&["kql", "print a = 'x', b = 2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("(1 rows)"), "{}", stdout(&o));
}

#[test]
fn unknown_column_is_a_caret_error_naming_the_nearest_column() {
    let o = harrier(&[
        "kql",
        "datatable(FileName:string)['a'] | where FileNme == 'a'",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("FileNme"), "{e}");
    assert!(e.contains("did you mean `FileName`"), "{e}");
    assert!(e.contains('^'), "{e}");
}

#[test]
fn unknown_table_and_function() {
    let o = harrier(&["kql", "DeviceNetworkEvent | take 1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean `DeviceNetworkEvents`"),
        "{}",
        stderr(&o)
    );
    let o = harrier(&["kql", "print tolowr('A')"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean `tolower`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn seed_outbound_mshta_connection() {
    let Some(shared) = shared() else { return };
    let samples = shared.join("datasets/evtx/attack-samples");
    if !samples.is_dir() {
        eprintln!("skipping: {} not found", samples.display());
        return;
    }
    let q = "DeviceNetworkEvents\n\
             | where InitiatingProcessFileName =~ \"mshta.exe\"\n\
             | where RemoteIPType == \"Public\" or not(ipv4_is_private(RemoteIP))\n\
             | project-reorder Timestamp, InitiatingProcessCommandLine, RemoteUrl, RemoteIP, DeviceName, InitiatingProcessAccountUpn";
    let path = samples.to_string_lossy().into_owned();
    let o = harrier(&["kql", "--format", "kusto", q, &path]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    let t = &v["Tables"][0];
    let cols: Vec<&str> = t["Columns"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["ColumnName"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        cols[..6],
        [
            "Timestamp",
            "InitiatingProcessCommandLine",
            "RemoteUrl",
            "RemoteIP",
            "DeviceName",
            "InitiatingProcessAccountUpn"
        ]
    );
    let rows = t["Rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 5, "{rows:#?}");
    let ip_col = 3;
    for r in &rows {
        let ip = r[ip_col].as_str().unwrap_or("");
        assert!(
            !ip.starts_with("10.") && !ip.starts_with("192.168."),
            "{ip}"
        );
    }
}

#[test]
fn defender_tables_harrier_cannot_fill_are_empty_with_their_schema() {
    let o = harrier(&[
        "kql",
        "--format",
        "csv",
        "DeviceInfo | getschema | where ColumnName in ('OSBuild', 'IsAzureADJoined') | project ColumnName, ColumnType",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "ColumnName,ColumnType\nOSBuild,long\nIsAzureADJoined,bool\n"
    );
    let o = harrier(&[
        "kql",
        "--format",
        "csv",
        "DeviceLogonEvents | join kind=inner (DeviceInfo) on DeviceId | count",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "Count\n0\n");
}
