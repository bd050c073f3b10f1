//! The parser never panics, and what it accepts prints back to the same tree.

use proptest::prelude::*;

fn fragments() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "process",
        "where",
        "sequence",
        "by",
        "with",
        "maxspan=1m",
        "[",
        "]",
        "(",
        ")",
        "and",
        "or",
        "not",
        "process.name",
        "?x",
        "`a b`",
        "\"s\"",
        "\"\"\"r\\\"\"\"",
        "1",
        "-2.5",
        ":",
        "==",
        "!=",
        "<",
        "in",
        "in~",
        "like~",
        "regex",
        "\"a*\"",
        ",",
        "|",
        "head",
        "5",
        "until",
        "!",
        "sample",
        "runs=2",
        "startsWith~",
        "null",
        "true",
        "+",
        "*",
        "%",
        "\n",
        "//c\n",
        "/*c*/",
    ]);
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parser_never_panics_on_arbitrary_text(s in "\\PC{0,200}") {
        let _ = harrier_eql::parse(&s);
    }

    #[test]
    fn accepted_queries_round_trip(s in fragments()) {
        if let Ok(ast) = harrier_eql::parse(&s) {
            let printed = ast.to_string();
            let mut again = harrier_eql::parse(&printed).expect("printed form parses");
            let mut orig = ast.clone();
            orig.clear_spans();
            again.clear_spans();
            prop_assert_eq!(orig, again, "printed: {}", printed);
        }
    }
}

/// Characters that stress case folding: ASCII letters of both cases, the
/// non-ASCII letters Unicode folds onto ASCII ones (`ſ`, the Kelvin sign),
/// dotted and dotless i, a letter outside ASCII, and a path separator.
fn folding_text() -> impl Strategy<Value = String> {
    let chars = vec![
        "a", "A", "b", "B", "k", "K", "s", "S", "i", "I", "\u{17f}", "\u{212a}", "\u{130}",
        "\u{131}", "é", "É", "\\", ".",
    ];
    prop::collection::vec(prop::sample::select(chars), 0..8).prop_map(|v| v.concat())
}

/// Patterns made from `value` and each of `others` by `ops`.
fn patterns_from(value: &str, others: &[String], ops: &[u8]) -> Vec<String> {
    std::iter::once(pattern_from(value, ops))
        .chain(others.iter().map(|o| pattern_from(o, ops)))
        .collect()
}

/// A pattern made from `value` by `ops`, one per character: keep it, change
/// its case, replace it with `?` or `*`, or put a `*` before it. Most such
/// patterns accept the value, so the property below is exercised.
fn pattern_from(value: &str, ops: &[u8]) -> String {
    let mut out = String::new();
    for (c, op) in value.chars().zip(ops.iter().cycle()) {
        match op {
            0 => out.extend(c.to_uppercase()),
            1 => out.extend(c.to_lowercase()),
            2 => out.push('?'),
            3 => out.push('*'),
            4 => {
                out.push('*');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// A list of matchers holds exactly when one of its matchers does,
    /// however its patterns fall between the exact set, the other simple
    /// shapes and the merged automaton.
    #[test]
    fn match_lists_answer_as_their_matchers(
        value in folding_text(),
        others in prop::collection::vec(folding_text(), 0..8),
        ops in prop::collection::vec(0u8..8, 1..8),
        insensitive in any::<bool>(),
    ) {
        use harrier_eql::pattern::{MatchList, Matcher};
        // patterns made from the values, and the values themselves (exact
        // patterns, enough of them for a set)
        let mut patterns = patterns_from(&value, &others, &ops);
        patterns.extend(others.iter().cloned());
        let each: Vec<Matcher> = patterns.iter().map(|p| Matcher::wildcard(p, insensitive)).collect();
        let list = MatchList::new(each.clone(), insensitive);
        let probes = std::iter::once(value.clone())
            .chain(others.iter().cloned())
            .chain([value.to_uppercase(), value.to_lowercase(), format!("x{value}")]);
        for probe in probes {
            let want = each.iter().any(|m| m.is_match(&probe, insensitive));
            prop_assert_eq!(
                list.is_match(&probe),
                want,
                "{:?} against {:?} (insensitive: {})",
                probe,
                patterns,
                insensitive
            );
        }
    }

    /// The engine skips a wildcard condition when none of its fragments
    /// occurs in the folded value: so every value a matcher accepts must
    /// contain one of them.
    #[test]
    fn accepted_values_contain_a_fragment(
        value in folding_text(),
        others in prop::collection::vec(folding_text(), 0..3),
        ops in prop::collection::vec(0u8..8, 1..8),
        insensitive in any::<bool>(),
    ) {
        use harrier_eql::pattern::{fold_for_fragments, merge_automata, Matcher};
        let patterns = patterns_from(&value, &others, &ops);
        let each: Vec<Matcher> = patterns.iter().map(|p| Matcher::wildcard(p, insensitive)).collect();
        let mut folded = String::new();
        fold_for_fragments(&value, &mut folded);
        for m in each.iter().chain(&merge_automata(each.clone())) {
            if let (true, Some(frags)) = (m.is_match(&value, insensitive), m.fragments()) {
                prop_assert!(
                    frags.iter().any(|f| folded.contains(f.as_str())),
                    "{m:?} accepts {value:?} (folded {folded:?}) without any of {frags:?}"
                );
            }
        }
    }
}
