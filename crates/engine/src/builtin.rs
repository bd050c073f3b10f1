//! Harrier's own rule pack, built into the binary from `rules/*.toml` at the
//! repository root (see `build.rs`). Used when no rules are given.

use harrier_rules::{parse_toml_rule, Rule, RuleProblem};
use std::sync::Arc;

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// Parses the built-in rules. Their file names read `builtin:rules/<name>.toml`.
pub fn rules() -> (Vec<Rule>, Vec<RuleProblem>) {
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    for (name, text) in BUILTIN_RULES {
        match parse_toml_rule(text, Arc::from(format!("builtin:{name}").as_str())) {
            Ok(r) => rules.push(r),
            Err(p) => problems.push(p),
        }
    }
    (rules, problems)
}

#[cfg(test)]
mod tests {
    #[test]
    fn builtin_pack_loads_and_compiles() {
        let (rules, problems) = super::rules();
        assert!(problems.is_empty(), "{problems:?}");
        assert!(rules.len() >= 3, "{} rules", rules.len());
        let schema = harrier_eql::schema::Schema::ecs();
        for r in &rules {
            assert!(r.is_supported(), "{}", r.name);
            if r.is_kql() {
                // parsed and run by the CLI's KQL executor (tested there)
                assert!(
                    harrier_kql::parse(r.query.as_deref().unwrap_or_default()).is_ok(),
                    "{}",
                    r.name
                );
                continue;
            }
            if let Err(e) = crate::compile_query(r, &schema) {
                panic!(
                    "{}: {}",
                    r.name,
                    e.render(r.query.as_deref().unwrap_or_default())
                );
            }
        }
    }
}
