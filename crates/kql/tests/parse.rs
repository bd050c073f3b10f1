//! Structural tests of the parser: precedence, operators, statements and literals.

mod common;

use harrier_kql::ast::*;
use harrier_kql::parse;

/// A compact, fully parenthesised rendering of an expression, to check tree shape.
fn sx(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Literal(l) => format!("{l}"),
        ExprKind::Ident(i) => i.name.clone(),
        ExprKind::Pattern(p) => format!("pattern:{p}"),
        ExprKind::Star => "*".into(),
        ExprKind::Dynamic(d) => format!("dyn:{d}"),
        ExprKind::Paren(inner) => sx(inner),
        ExprKind::Call { callee, args } => {
            let args: Vec<String> = args
                .iter()
                .map(|a| match &a.name {
                    Some(n) => format!("{}={}", n.name, sx(&a.value)),
                    None => sx(&a.value),
                })
                .collect();
            format!("({} {})", sx(callee), args.join(" "))
        }
        ExprKind::Member { target, name } => format!("(. {} {})", sx(target), name.name),
        ExprKind::Index { target, index } => format!("([] {} {})", sx(target), sx(index)),
        ExprKind::Unary { op, operand } => format!("({op:?} {})", sx(operand)),
        ExprKind::Binary { op, lhs, rhs } => format!("({} {} {})", op.as_str(), sx(lhs), sx(rhs)),
        ExprKind::InList { op, lhs, items } => {
            let items: Vec<String> = items.iter().map(sx).collect();
            format!("({} {} [{}])", op.as_str(), sx(lhs), items.join(" "))
        }
        ExprKind::Between {
            negated,
            lhs,
            low,
            high,
        } => format!(
            "({}between {} {} {})",
            if *negated { "!" } else { "" },
            sx(lhs),
            sx(low),
            sx(high)
        ),
        ExprKind::Pipe { input, op } => format!("(| {} {})", sx(input), op),
        ExprKind::Source(s) => format!("<{s}>"),
    }
}

fn query(src: &str) -> Expr {
    let script = parse(src).unwrap_or_else(|e| panic!("{}", harrier_kql::render_error(src, &e)));
    if let Err(e) = common::round_trip(src) {
        panic!("round trip failed for {src}: {e}");
    }
    match script.statements.into_iter().last().map(|s| s.kind) {
        Some(StatementKind::Query(e)) => e,
        other => panic!("expected a query, got {other:?}"),
    }
}

fn ops(src: &str) -> Vec<OpKind> {
    let mut out = Vec::new();
    let mut e = query(src);
    while let ExprKind::Pipe { input, op } = e.kind {
        out.push(op.kind);
        e = *input;
    }
    out.reverse();
    out
}

fn where_expr(src: &str) -> String {
    match ops(&format!("T | where {src}")).pop() {
        Some(OpKind::Where(e)) => sx(&e),
        other => panic!("expected where, got {other:?}"),
    }
}

#[test]
fn precedence() {
    assert_eq!(where_expr("a or b and c"), "(or a (and b c))");
    assert_eq!(where_expr("a == 1 and b != 2"), "(and (== a 1) (!= b 2))");
    assert_eq!(where_expr("a + b * c > d - 1"), "(> (+ a (* b c)) (- d 1))");
    assert_eq!(
        where_expr("not(a has 'x') or b"),
        "(or (not (has a \"x\")) b)"
    );
    assert_eq!(where_expr("-a * b"), "(* (Neg a) b)");
    assert_eq!(
        where_expr("x has_any ('a', 'b') and y !in~ (1, 2)"),
        "(and (has_any x [\"a\" \"b\"]) (!in~ y [1 2]))"
    );
    assert_eq!(
        where_expr("t between (ago(1d) .. now()) or t !between (1 .. 2)"),
        "(or (between t (ago 1d) (now )) (!between t 1 2))"
    );
    assert_eq!(
        where_expr("a matches regex @'\\d+'"),
        "(matches regex a \"\\\\d+\")"
    );
    assert_eq!(where_expr("a <> b"), "(!= a b)");
}

#[test]
fn string_operators() {
    for op in [
        "=~",
        "!~",
        "has",
        "!has",
        "has_cs",
        "!has_cs",
        "hasprefix",
        "!hasprefix",
        "hasprefix_cs",
        "hassuffix",
        "!hassuffix",
        "hassuffix_cs",
        "contains",
        "!contains",
        "contains_cs",
        "!contains_cs",
        "startswith",
        "!startswith",
        "startswith_cs",
        "endswith",
        "!endswith",
        "endswith_cs",
    ] {
        assert_eq!(
            where_expr(&format!("a {op} 'x'")),
            format!("({op} a \"x\")")
        );
    }
    assert_eq!(where_expr("a notcontains 'x'"), "(!contains a \"x\")");
    assert_eq!(
        where_expr("a in (T | project x)"),
        "(in a [(| T project x)])"
    );
    assert_eq!(where_expr("a has_all (list)"), "(has_all a [list])");
}

#[test]
fn postfix_access() {
    assert_eq!(
        where_expr("d.a.b == d['k'][0] and $left.x == e.[1]"),
        "(and (== (. (. d a) b) ([] ([] d \"k\") 0)) (== (. $left x) ([] e 1)))"
    );
    assert_eq!(
        where_expr("parse_json(x).['a b'] == 1"),
        "(== ([] (parse_json x) \"a b\") 1)"
    );
    assert_eq!(where_expr("['my col'] == 1"), "(== my col 1)");
}

#[test]
fn literals() {
    assert_eq!(
        where_expr("x == datetime(2024-01-01 10:00:00.1234567)"),
        "(== x datetime(2024-01-01 10:00:00.1234567))"
    );
    assert_eq!(
        where_expr("x > 1d and y < 100ms"),
        "(and (> x 1d) (< y 100ms))"
    );
    assert_eq!(where_expr("x == h'secret'"), "(== x h\"secret\")");
    assert_eq!(where_expr("x == 'a' \"b\""), "(== x \"ab\")");
    assert_eq!(
        where_expr("x == True or y == FALSE"),
        "(or (== x true) (== y false))"
    );
    assert_eq!(
        where_expr("x in (dynamic(['a', 1, {\"k\": [null, -2.5]}]))"),
        "(in x [dyn:[\"a\", 1, {\"k\": [null, -2.5]}]])"
    );
    assert_eq!(
        where_expr("typeof(x) == typeof(string)"),
        "(== typeof(x) typeof(string))"
    );
    assert_eq!(
        where_expr("g == guid(74be27de-1e4e-49d9-b579-fe0b331d3642)"),
        "(== g guid(74be27de-1e4e-49d9-b579-fe0b331d3642))"
    );
    let e = query("print t = 1tick, r = 1.5e3, l = 0x10, m = ```a\nb```");
    assert!(e.to_string().contains("\"a\\nb\""));
}

#[test]
fn case_sensitive_keywords() {
    // `Where` is not an operator; `AND` is not a conjunction.
    assert!(parse("T | Where x == 1").is_err());
    assert!(parse("T | where x == 1 AND y == 2").is_err());
}

#[test]
fn tabular_operators() {
    let o = ops(
        "DeviceProcessEvents
         | where Timestamp > ago(1d)
         | extend Lower = tolower(FileName), (a, b) = f(x)
         | project-away Col*, Other
         | project-rename New = Old
         | project-reorder B*, A asc, C granny-desc
         | summarize hint.shufflekey = DeviceId Count = count(), dcount(x) by DeviceId, bin(Timestamp, 1h)
         | top 10 by Count desc nulls last
         | sort by a asc, b
         | take 5
         | distinct DeviceId, FileName
         | render timechart with (title = 'x')",
    );
    assert_eq!(o.len(), 11);
    match &o[1] {
        OpKind::Extend(cols) => {
            assert_eq!(cols[0].names[0].name, "Lower");
            assert_eq!(cols[1].names.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    match &o[2] {
        OpKind::ProjectAway(cols) => {
            assert_eq!(cols[0].kind, ExprKind::Pattern("Col*".into()));
        }
        other => panic!("{other:?}"),
    }
    match &o[5] {
        OpKind::Summarize {
            options,
            aggregates,
            by,
        } => {
            assert_eq!(options[0].name.name, "hint.shufflekey");
            assert_eq!(aggregates.len(), 2);
            assert_eq!(by.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    match &o[6] {
        OpKind::Top { by, .. } => {
            assert_eq!(by[0].order, Some(SortOrder::Desc));
            assert_eq!(by[0].nulls, Some(NullsOrder::Last));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn joins_and_unions() {
    let o = ops(
        "T | join kind=leftouter hint.strategy=broadcast (U | where x > 1) on $left.a == $right.b, c
           | lookup kind=inner Dim on Key
           | union kind=outer withsource=Source isfuzzy=true X, (Y | take 1), Device*Events",
    );
    match &o[0] {
        OpKind::Join {
            options, right, on, ..
        } => {
            assert_eq!(options.len(), 2);
            assert!(matches!(right.kind, ExprKind::Paren(_)));
            assert_eq!(sx(&on[0]), "(== (. $left a) (. $right b))");
            assert_eq!(sx(&on[1]), "c");
        }
        other => panic!("{other:?}"),
    }
    match &o[2] {
        OpKind::Union(u) => {
            assert_eq!(u.options.len(), 3);
            assert_eq!(u.tables.len(), 3);
            assert_eq!(u.tables[2].kind, ExprKind::Pattern("Device*Events".into()));
        }
        other => panic!("{other:?}"),
    }
    query("union isfuzzy=true (A), (B | where x) | sort by T");
}

#[test]
fn expand_parse_and_friends() {
    let o = ops(
        "T | mv-expand with_itemindex=i x to typeof(string), y limit 10
           | mv-apply e = arr to typeof(long) on (summarize s = sum(e) | where s > 1)
           | parse kind=regex flags=Ui Line with * 'user=' User:string ' ' Rest
           | parse-where Line with 'a' * 'b' B:long
           | parse-kv Msg as (k1:string, k2:long) with (pair_delimiter=',', kv_delimiter='=')
           | evaluate bag_unpack(Extra) : (a:string, *)
           | make-series n = count() default = 0 on Timestamp from ago(7d) to now() step 1h by Dev
           | make-series avg(x) on t in range(1, 10, 1)
           | top-nested 3 of A with others = 'other' by c = count() desc, top-nested of B by sum(x)
           | serialize rn = row_number()
           | sample 10
           | sample-distinct 5 of Col
           | invoke FileProfile(SHA1, 1000)
           | as hint.materialized=true Saved
           | facet by a, b with (take 1)
           | fork (where x > 1 | count) named = (take 2)
           | partition hint.strategy=native by Dev (top 1 by Timestamp)
           | reduce by Message with threshold=0.5
           | scan with_match_id=Id declare (Step:string) with (step s1: x > 1 => Step = 'a'; step s2 optional: true;)
           | getschema
           | count",
    );
    assert_eq!(o.len(), 21);
    match &o[2] {
        OpKind::Parse {
            options, pattern, ..
        } => {
            assert_eq!(options.len(), 2);
            assert_eq!(pattern.len(), 5);
            assert_eq!(pattern[0], ParsePart::Wildcard);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn statements() {
    let src = "set query_now = datetime(2024-01-01);
        declare query_parameters(n:long = 10, s:string);
        let window = 1d;
        let f = (a:string, b:long = 1) { let c = a; strcat(c, tostring(b)) };
        let g = (T:(x:string, *)) { T | where x != '' };
        let v = view () { print x = 1 };
        let Tbl = datatable(Name:string, Age:long) ['a', 1, 'b', -2,];
        let ext = externaldata(MD5:string) [@'https://example.invalid/x.txt'] with (format='txt', ignoreFirstRecord=True);
        let m = materialize(Tbl | summarize count());
        let s = toscalar(Tbl | summarize max(Age));
        range i from 1 to 10 step 1 | extend y = i * s";
    let script = parse(src).unwrap_or_else(|e| panic!("{}", harrier_kql::render_error(src, &e)));
    assert_eq!(script.statements.len(), 11);
    assert!(matches!(
        script.statements[3].kind,
        StatementKind::Let {
            value: LetValue::Function(_),
            ..
        }
    ));
    assert!(matches!(
        script.statements[5].kind,
        StatementKind::Let {
            value: LetValue::View(_),
            ..
        }
    ));
    if let Err(e) = common::round_trip(src) {
        panic!("{e}");
    }
}

#[test]
fn spans_cover_nodes() {
    let src = "T | where a == 'x'";
    let e = query(src);
    assert_eq!(e.span, Span::new(0, src.len()));
    let ExprKind::Pipe { op, .. } = &e.kind else {
        panic!("not a pipe");
    };
    assert_eq!(&src[op.span.start..op.span.end], "where a == 'x'");
    let OpKind::Where(w) = &op.kind else {
        panic!("not where");
    };
    assert_eq!(&src[w.span.start..w.span.end], "a == 'x'");
}

#[test]
fn search_syntax() {
    let e = query("search in (DeviceFileEvents) \"ntds\" and ActionType:\"FileModified\"");
    assert!(e.to_string().contains("ActionType : \"FileModified\""));
    query("T | search * has 'x'");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let src = format!("print {}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(parse(&src).is_err());
    let src = format!("print {}1", "-".repeat(5000));
    assert!(parse(&src).is_err());
    let src = format!("print dynamic({}{})", "[".repeat(5000), "]".repeat(5000));
    assert!(parse(&src).is_err());
}

#[test]
fn round_trip_tricky_names_and_literals() {
    for src in [
        "T | extend ['by'] = 1, ['a b'] = f(['default'] = 2), ['x\\'y'] = 3",
        "T | project ['where'], $left, x.['with space'], x.true, x.['in~']",
        "print s = 'tab\\there', q = \"quote\\\"\", v = @'C:\\path''s', u = '\\u00e9'",
        "print r = 1., big = 1e300, tiny = 1e-9, h = 0xff, n = -5, p = +3",
        "print a = datetime(null), b = timespan(null), c = int(null), d = real(nan)",
        "T | where x in~ ('A', 'b') and y !in (1, 2) and z has_all ('p', 'q')",
        "T | sort by ['asc'] asc nulls first, b desc nulls last",
        "T | join kind=inner (['my table'] | where ['desc'] == 1) on ['on']",
        "let ['let'] = 1; print ['let']",
        "T | parse x with ['with'] ':' h \" \" *",
        "T | extend d = dynamic({'k': [1, -2.5, true, null, 'v', datetime(2020-01-01)]})",
        "T | where x == 2022Report",
        "print x = ~~~multi\nline~~~",
    ] {
        if let Err(e) = common::round_trip(src) {
            panic!("{src}: {e}");
        }
    }
}
