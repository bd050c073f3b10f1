//! Arbitrary bytes read as an NDJSON / JSON input (prefixed with `{` so the
//! JSON readers, not format detection, get most of the work), then mapped to
//! Defender rows.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Vec::with_capacity(data.len() + 1);
    if !data.starts_with(b"{") && !data.starts_with(b"[") {
        input.push(b'{');
    }
    input.extend_from_slice(data);
    harrier_sources::read_bytes(
        "fuzz.ndjson",
        &input,
        &mut |e| {
            let _ = harrier_sources::to_defender(&e);
        },
        &mut |_| {},
    );
    // And the bytes as they are, through format detection.
    harrier_sources::read_bytes("fuzz", data, &mut |_| {}, &mut |_| {});
});
