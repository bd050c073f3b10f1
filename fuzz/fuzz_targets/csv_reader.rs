//! Arbitrary bytes after a Defender CSV header row, then mapped to Defender rows.
#![no_main]

use libfuzzer_sys::fuzz_target;

const HEADER: &[u8] =
    b"Timestamp,DeviceName,ActionType,RemoteIP,RemotePort,InitiatingProcessFileName,Type\n";

fuzz_target!(|data: &[u8]| {
    let mut input = HEADER.to_vec();
    input.extend_from_slice(data);
    harrier_sources::read_bytes(
        "fuzz.csv",
        &input,
        &mut |e| {
            let _ = harrier_sources::to_defender(&e);
        },
        &mut |_| {},
    );
});
