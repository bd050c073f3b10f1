//! What the engine's integration tests share.

use std::sync::Arc;

/// A detection-rules TOML rule searching `logs-*` with the given EQL query.
pub fn rule(name: &str, query: &str, max_signals: u32) -> harrier_rules::Rule {
    let text = format!(
        "[metadata]\ncreation_date = \"2024/01/01\"\n\n[rule]\nauthor = [\"Harrier\"]\n\
         description = \"test\"\nindex = [\"logs-*\"]\nlanguage = \"eql\"\nlicense = \"MIT\"\n\
         name = \"{name}\"\nrisk_score = 21\nrule_id = \"{name}\"\nseverity = \"low\"\n\
         type = \"eql\"\nmax_signals = {max_signals}\nquery = '''\n{query}\n'''\n"
    );
    match harrier_rules::parse_toml_rule(&text, Arc::from("test.toml")) {
        Ok(r) => r,
        Err(e) => panic!("test rule does not load: {e:?}"),
    }
}
