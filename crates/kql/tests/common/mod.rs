//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `Debug` of a tree with every span blanked, so trees can be compared modulo spans.
pub fn shape(script: &harrier_kql::ast::Script) -> String {
    let re = regex::Regex::new(r"Span\(\d+\.\.\d+\)").expect("valid regex");
    re.replace_all(&format!("{script:?}"), "Span").into_owned()
}

/// Prints `src`'s tree, re-parses the printed text, and checks both trees agree.
pub fn round_trip(src: &str) -> Result<(), String> {
    let first = harrier_kql::parse(src).map_err(|e| format!("original: {e}"))?;
    let printed = first.to_string();
    let second = harrier_kql::parse(&printed).map_err(|e| {
        format!(
            "printed text does not parse:\n{}\n--- printed ---\n{printed}",
            harrier_kql::render_error(&printed, &e)
        )
    })?;
    if shape(&first) != shape(&second) {
        return Err(format!(
            "tree changed after printing\n--- printed ---\n{printed}\n--- reprinted ---\n{second}"
        ));
    }
    Ok(())
}

/// The shared data directory (`../shared` beside the workspace), if present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    dir.is_dir().then_some(dir)
}
