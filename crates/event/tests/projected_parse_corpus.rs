//! The `projected_parse` fuzz target's check, run on stable over its seeds
//! (`fuzz/seeds/projected_parse/`) and over a local fuzz corpus
//! (`fuzz/corpus/projected_parse/`) when there is one.

#[path = "../../../fuzz/fuzz_targets/projected_parse_check.rs"]
mod check;

use std::path::Path;

#[test]
fn fuzz_seeds_and_corpus_agree_with_serde_json() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut n = 0;
    for dir in ["seeds/projected_parse", "corpus/projected_parse"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let data = std::fs::read(entry.path()).expect("readable corpus file");
            check::check(&data);
            n += 1;
        }
    }
    assert!(n >= 6, "the committed seeds are missing ({n} inputs read)");
}
