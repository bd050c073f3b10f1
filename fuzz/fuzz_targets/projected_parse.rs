//! Projected parsing against a full serde_json parse: same acceptance, same
//! values at every named path (see `projected_parse_check.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "projected_parse_check.rs"]
mod check;

fuzz_target!(|data: &[u8]| check::check(data));
