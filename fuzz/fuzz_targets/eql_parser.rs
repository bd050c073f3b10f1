//! EQL text: parsing never panics, and what the printer makes of a parsed
//! query parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(query) = harrier_eql::parse(src) {
        let printed = query.to_string();
        if let Err(e) = harrier_eql::parse(&printed) {
            panic!("printed form does not parse: {e}\ninput: {src:?}\nprinted: {printed:?}");
        }
    }
});
