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
