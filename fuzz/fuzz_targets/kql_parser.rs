//! KQL text: parsing never panics, and what the printer makes of a parsed
//! script parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(script) = harrier_kql::parse(src) {
        let printed = script.to_string();
        if let Err(e) = harrier_kql::parse(&printed) {
            panic!("printed form does not parse: {e}\ninput: {src:?}\nprinted: {printed:?}");
        }
    }
});
