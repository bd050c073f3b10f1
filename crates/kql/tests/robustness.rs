//! Property tests: the lexer and parser never panic, errors always render, and whatever
//! parses also round-trips through the printer.

mod common;

use proptest::prelude::*;

/// Fragments of KQL, glued together at random to reach deep into the parser.
const FRAGMENTS: &[&str] = &[
    "T",
    "| where",
    "| project",
    "| extend",
    "| summarize",
    "count()",
    "by",
    "| join",
    "kind=inner",
    "on",
    "$left.a",
    "==",
    "!=",
    "=~",
    "has",
    "!has",
    "has_any",
    "in~",
    "!in",
    "between",
    "..",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    "=",
    ":",
    "let",
    "x",
    "'s'",
    "\"q\\\"\"",
    "@'v'",
    "h'o'",
    "```m```",
    "1",
    "2.5",
    "1d",
    "30m",
    "datetime(2024-01-01)",
    "dynamic([1,{\"a\":null}])",
    "typeof(string)",
    "and",
    "or",
    "not(",
    "*",
    "-",
    "+",
    "/",
    "| mv-expand",
    "| parse",
    "with",
    "| union",
    "| take",
    "| sort",
    "asc",
    "nulls",
    "last",
    "print",
    "range",
    "from",
    "to",
    "step",
    "datatable(a:string)",
    "| top",
    "| render",
    "| evaluate",
    "bag_unpack(",
    "| project-away",
    "| project-reorder",
    "granny-asc",
    "| mv-apply",
    "| make-series",
    "| scan",
    "| fork",
    "| facet",
    "| as",
    "toscalar(",
    "materialize(",
    "['a b']",
    ".",
    "x[0]",
    "| lookup",
    "declare pattern p",
    "set",
    "view",
    "(a:string)",
    "\n",
    "// c\n",
    "|",
    "search",
    "in",
    "| top-nested",
    "of",
    "others",
];

fn check(src: &str) {
    match harrier_kql::parse(src) {
        Ok(_) => {
            if let Err(e) = common::round_trip(src) {
                panic!("round trip failed for {src:?}: {e}");
            }
        }
        Err(e) => {
            let text = harrier_kql::render_error(src, &e);
            assert!(text.starts_with("error: "));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,200}") {
        check(&src);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn fragment_soup_never_panics(
        parts in proptest::collection::vec((0..FRAGMENTS.len(), any::<bool>()), 0..40)
    ) {
        let mut src = String::new();
        for (i, space) in parts {
            src.push_str(FRAGMENTS[i]);
            if space {
                src.push(' ');
            }
        }
        check(&src);
    }
}

#[test]
fn render_handles_odd_spans() {
    use harrier_kql::ast::Span;
    use harrier_kql::ParseError;
    for (src, span) in [
        ("", Span::new(0, 0)),
        ("abc", Span::new(5, 9)),
        ("é", Span::new(1, 2)),
        ("a\nb", Span::new(1, 3)),
        ("a\r\nb", Span::new(3, 1)),
    ] {
        let text = harrier_kql::render_error(src, &ParseError::new("m", span));
        assert!(text.contains('^'), "{text}");
    }
}

/// Random well-formed scalar expressions, as text.
fn expr_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "[A-Za-z_][A-Za-z0-9_]{0,6}".prop_filter("not a keyword", |s| {
            !matches!(
                s.as_str(),
                "and"
                    | "or"
                    | "by"
                    | "on"
                    | "with"
                    | "in"
                    | "has"
                    | "between"
                    | "contains"
                    | "startswith"
                    | "endswith"
                    | "hasprefix"
                    | "hassuffix"
                    | "has_cs"
                    | "has_any"
                    | "has_all"
                    | "matches"
                    | "contains_cs"
                    | "startswith_cs"
                    | "endswith_cs"
                    | "hasprefix_cs"
                    | "hassuffix_cs"
                    | "containscs"
                    | "notcontains"
                    | "notcontainscs"
                    | "print"
                    | "union"
                    | "search"
                    | "evaluate"
                    | "range"
                    | "datatable"
                    | "externaldata"
                    | "dynamic"
                    | "asc"
                    | "desc"
                    | "nulls"
                    | "of"
                    | "to"
                    | "from"
                    | "step"
                    | "let"
                    | "limit"
                    | "default"
                    | "id"
                    | "others"
                    | "first"
                    | "last"
                    | "as"
            ) && !s.starts_with('h')
        }),
        any::<u32>().prop_map(|n| n.to_string()),
        (0u32..1000, 0u32..1000).prop_map(|(a, b)| format!("{a}.{b}")),
        (
            1u32..100,
            prop_oneof![
                Just("d"),
                Just("h"),
                Just("m"),
                Just("s"),
                Just("ms"),
                Just("tick")
            ]
        )
            .prop_map(|(n, u)| format!("{n}{u}")),
        "\\PC{0,8}".prop_map(|s| {
            let mut out = String::from("'");
            for c in s.chars() {
                match c {
                    '\'' => out.push_str("\\'"),
                    '\\' => out.push_str("\\\\"),
                    c => out.push(c),
                }
            }
            out.push('\'');
            out
        }),
        "[a-z ]{0,6}".prop_map(|s| format!("@\"{s}\"\"x\"")),
        Just("datetime(2024-01-01 10:00)".to_string()),
        Just("dynamic({\"a\": [1, -2, \"x\"]})".to_string()),
        Just("true".to_string()),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        let bin = prop_oneof![
            Just("and"),
            Just("or"),
            Just("=="),
            Just("!="),
            Just("=~"),
            Just("<"),
            Just(">="),
            Just("+"),
            Just("-"),
            Just("*"),
            Just("/"),
            Just("%"),
            Just("has"),
            Just("!has"),
            Just("contains_cs"),
            Just("startswith"),
            Just("matches regex"),
            Just("!endswith"),
        ];
        prop_oneof![
            (inner.clone(), bin, inner.clone()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("-{a}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("f({a}, name = {b})")),
            (
                inner.clone(),
                proptest::collection::vec(inner.clone(), 1..3),
                prop_oneof![
                    Just("in"),
                    Just("!in"),
                    Just("in~"),
                    Just("has_any"),
                    Just("has_all")
                ]
            )
                .prop_map(|(a, l, op)| format!("{a} {op} ({})", l.join(", "))),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("{a} between ({b} .. {c})")),
            inner.clone().prop_map(|a| format!("x.y[{a}]")),
            inner.prop_map(|a| format!("iff({a}, 1, 2)")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn generated_expressions_parse_and_round_trip(e in expr_text(), k in 0..3usize) {
        let src = match k {
            0 => format!("T | where {e}"),
            1 => format!("print x = {e}"),
            _ => format!("let v = {e};\nT | extend y = {e} | summarize c = count() by z = {e}"),
        };
        if let Err(err) = harrier_kql::parse(&src) {
            panic!("{}\n{src}", harrier_kql::render_error(&src, &err));
        }
        if let Err(msg) = common::round_trip(&src) {
            panic!("{msg}");
        }
    }
}
