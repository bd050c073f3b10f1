//! `harrier events --to ecs|defender` on a real EVTX file.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sample() -> Option<String> {
    let rel = "../shared/datasets/evtx/attack-samples/Execution/exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx";
    if repo().join(rel).is_file() {
        Some(rel.to_string())
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

fn lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn defender_rows_as_json_lines() {
    let Some(file) = sample() else { return };
    let out = harrier(&["events", "--to", "defender", &file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = lines(&out);
    let (summary, rows) = docs.split_last().expect("output");
    assert_eq!(summary["harrier_summary"]["events"], 8);
    assert_eq!(summary["harrier_summary"]["unmapped"], 0);
    assert_eq!(rows.len(), 8);
    let net: Vec<&Value> = rows
        .iter()
        .filter(|r| r["table"] == "DeviceNetworkEvents")
        .collect();
    assert_eq!(net.len(), 3);
    for r in &net {
        assert_eq!(r["InitiatingProcessFileName"], "mshta.exe");
        assert_eq!(r["RemoteIPType"], "Public");
        assert_eq!(r["ActionType"], "ConnectionSuccess");
        assert_eq!(r["Protocol"], "Tcp");
        assert!(r["RemotePort"].is_u64());
        assert_eq!(r["DeviceName"], "iewin7");
    }
    let procs = rows
        .iter()
        .filter(|r| r["table"] == "DeviceProcessEvents")
        .count();
    assert_eq!(procs, 4);
}

#[test]
fn defender_tables_for_the_terminal() {
    let Some(file) = sample() else { return };
    let out = harrier(&["events", "--to", "defender", "--format", "table", &file]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("DeviceProcessEvents (4 rows)"), "{text}");
    assert!(text.contains("DeviceNetworkEvents (3 rows)"), "{text}");
    assert!(text.contains("gator4243.hostgator.com"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 with no Defender table"));
}

#[test]
fn ecs_is_still_the_default() {
    let Some(file) = sample() else { return };
    let out = harrier(&["events", &file]);
    assert!(out.status.success());
    let docs = lines(&out);
    assert_eq!(docs.len(), 9);
    assert_eq!(docs[0]["event"]["module"], "sysmon");
    assert!(docs[0].get("table").is_none());
}
