//! End-to-end tests of the planner over `print`, `datatable` and `range`.

use super::*;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
}

fn q(src: &str) -> ResultTable {
    match run(src, &BTreeMap::new(), now()) {
        Ok(mut t) => t.remove(0),
        Err(e) => panic!("{}", e.render(src)),
    }
}

fn names(t: &ResultTable) -> Vec<&str> {
    t.columns.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn print_basic() {
    let t = q("print a = 1 + 2, strlen('abc')");
    assert_eq!(names(&t), ["a", "print_1"]);
    assert_eq!(t.rows, vec![vec![Json::from(3), Json::from(3)]]);
}

fn rows(t: &ResultTable) -> Vec<Vec<Json>> {
    t.rows.clone()
}

#[test]
fn string_operators_follow_kusto() {
    let t = q(
        r#"print a = "cmd /c encode.bat" has "enc", b = "x --ENC=1" has "enc",
        c = "FabriKam" contains "BRIK", d = "FabriKam" contains_cs "BRIK",
        e = "MSHTA.EXE" =~ "mshta.exe", f = "MSHTA.EXE" == "mshta.exe",
        g = "abc" in~ ("ABC", "x"), h = "abc" in ("ABC", "x"), i = "a b" !has "b""#,
    );
    assert_eq!(
        rows(&t),
        vec![vec![
            Json::Bool(false),
            Json::Bool(true),
            Json::Bool(true),
            Json::Bool(false),
            Json::Bool(true),
            Json::Bool(false),
            Json::Bool(true),
            Json::Bool(false),
            Json::Bool(false),
        ]]
    );
}

#[test]
fn summarize_names_columns_like_kusto() {
    let t = q("datatable(k:string, x:long)['a', 1, 'a', 2, 'b', 3]
        | summarize count(), sum(x), dcount(x), countif(x > 1), make_set(x), avg(x) by k
        | sort by k asc");
    assert_eq!(
        names(&t),
        ["k", "count_", "sum_x", "dcount_x", "countif_", "set_x", "avg_x"]
    );
    assert_eq!(
        t.rows[0][..5],
        [
            Json::from("a"),
            Json::from(2),
            Json::from(3),
            Json::from(2),
            Json::from(1)
        ]
    );
    let t = q("range x from 1 to 5 step 1 | count");
    assert_eq!(names(&t), ["Count"]);
    assert_eq!(rows(&t), vec![vec![Json::from(5)]]);
}

#[test]
fn bin_floors_numbers_and_datetimes() {
    let t = q("print a = bin(4.5, 1), b = bin(-7, 5), c = bin(datetime(2024-01-01 13:45:07), 1h), d = bin(time(16d), 7d)");
    assert_eq!(
        rows(&t),
        vec![vec![
            Json::from(4.0),
            Json::from(-10),
            Json::from("2024-01-01T13:00:00.0000000Z"),
            Json::from("14.00:00:00"),
        ]]
    );
}

#[test]
fn timespans_print_as_kusto_does() {
    let t = q("print a = 1d + 2h + 3m + 4s + 500ms, b = datetime(2024-01-02) - datetime(2024-01-01 12:00), c = -30s, d = 1h / 1m");
    assert_eq!(
        rows(&t),
        vec![vec![
            Json::from("1.02:03:04.5000000"),
            Json::from("12:00:00"),
            Json::from("-00:00:30"),
            Json::from(60.0),
        ]]
    );
}

#[test]
fn extend_names_and_sort_defaults() {
    let t = q("datatable(a:long)[1, long(null), 3] | extend a * 2, strlen('x') | sort by a");
    assert_eq!(names(&t), ["a", "Column1", "Column2"]);
    let firsts: Vec<Json> = t.rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(firsts, [Json::from(3), Json::from(1), Json::Null]);
}

#[test]
fn join_default_is_innerunique() {
    let t = q(
        "let L = datatable(k:string, v:long)['a', 1, 'a', 2, 'b', 3];
        let R = datatable(k:string, w:long)['a', 10, 'a', 20, 'c', 30];
        L | join R on k | project k, k1, w | sort by w asc",
    );
    assert_eq!(names(&t), ["k", "k1", "w"]);
    assert_eq!(t.rows.len(), 2);
}

#[test]
fn let_functions_mv_expand_and_parse() {
    let t = q("let f = (x:long, y:long = 10) { x + y };
        print n = f(1), m = f(1, 2)");
    assert_eq!(rows(&t), vec![vec![Json::from(11), Json::from(3)]]);
    let t = q("datatable(a:long, d:dynamic)[1, dynamic([1, 2]), 2, dynamic(['x'])] | mv-expand d");
    assert_eq!(t.rows.len(), 3);
    let t = q(
        r#"print s = "user=bob id=42" | parse s with "user=" user " id=" id:long | project user, id"#,
    );
    assert_eq!(rows(&t), vec![vec![Json::from("bob"), Json::from(42)]]);
}

#[test]
fn errors_name_the_nearest_column() {
    let src = "datatable(FileName:string)['a'] | where FileNme == 'a'";
    let Err(e) = run(src, &BTreeMap::new(), now()) else {
        panic!("expected an error")
    };
    assert!(
        e.message.contains("did you mean `FileName`"),
        "{}",
        e.message
    );
    assert!(e.render(src).contains('^'));
}
