//! Reading events for the CLI through `harrier_sources`: every format it
//! detects (EVTX, NDJSON, JSON arrays, CSV; gzip/zstd), from files,
//! directories or stdin. Unreadable records are reported on stderr with
//! file and line or record, skipped and counted.

use anyhow::Result;
use harrier_event::Event;
use harrier_sources::{read_paths, ReadOptions};
use std::path::PathBuf;

#[derive(Default, Debug)]
pub struct ReadStats {
    pub events: u64,
    pub skipped: u64,
}

pub fn read_all(paths: &[String], stats: &mut ReadStats) -> Result<Vec<Event>> {
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let mut out = Vec::new();
    let summary = read_paths(
        &paths,
        &ReadOptions::default(),
        &mut |e| out.push(e),
        &mut |skip| eprintln!("warning: {}: skipped: {}", skip.origin, skip.reason),
    );
    stats.events = summary.events;
    stats.skipped = summary.skipped;
    if summary.failed_files > 0 && summary.events == 0 {
        anyhow::bail!(
            "no events could be read ({} files failed)",
            summary.failed_files
        );
    }
    Ok(out)
}
