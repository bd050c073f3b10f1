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

#[test]
fn search_terms_match_any_column_as_has_does() {
    // Kusto: a bare term is `* has term`; `Col:"x"` is `Col has "x"`; `*x*` is contains
    let t = q(
        r#"let T = datatable(a:string, b:long)["cmd /c whoami", 443, "mshta.exe", 80];
        T | search "whoami" | count"#,
    );
    assert_eq!(rows(&t), vec![vec![Json::from(1)]]);
    let t = q(
        r#"let T = datatable(a:string, b:long)["cmd /c whoami", 443, "mshta.exe", 80];
        T | search "who" | count"#,
    );
    assert_eq!(
        rows(&t),
        vec![vec![Json::from(0)]],
        "`has` matches whole terms only"
    );
    let t = q(
        r#"let T = datatable(a:string, b:long)["cmd /c whoami", 443, "mshta.exe", 80];
        T | search "*hta*" and b:"80" | project a"#,
    );
    assert_eq!(rows(&t), vec![vec![Json::from("mshta.exe")]]);
    let t = q(r#"let T = datatable(a:string)["MSHTA.exe"];
        search kind=case_sensitive in (T) "mshta" | count"#);
    assert_eq!(rows(&t), vec![vec![Json::from(0)]]);
    let t = q(r#"let T = datatable(a:string)["MSHTA.exe"];
        search in (T) "mshta""#);
    assert_eq!(names(&t), ["$table", "a"]);
    assert_eq!(
        rows(&t),
        vec![vec![Json::from("T"), Json::from("MSHTA.exe")]]
    );
}

#[test]
fn functions_without_data_return_null() {
    // ingestion_time() is null for tables without an IngestionTime policy
    let t = q("print a = ingestion_time()");
    assert_eq!(rows(&t), vec![vec![Json::Null]]);
    let t = q("print a = isnull(ingestion_time())");
    assert_eq!(rows(&t), vec![vec![Json::Bool(true)]]);
}

#[test]
fn geoip_lookups_are_refused_with_a_reason() {
    let src = "print g = geo_info_from_ip_address('20.53.203.50')";
    let e = run(src, &BTreeMap::new(), now()).expect_err("no GeoIP data");
    assert!(e.message.contains("GeoIP"), "{}", e.message);
}

#[test]
fn file_profile_reports_a_failed_lookup() {
    let t = q(
        r#"datatable(SHA1:string)["e14f7ed43ab3ae9d31680eb74b043339eb6f87e7", ""]
        | invoke FileProfile(SHA1, 1000)
        | project SHA1, GlobalPrevalence, ProfileAvailability"#,
    );
    assert_eq!(
        rows(&t),
        vec![
            vec![
                Json::from("e14f7ed43ab3ae9d31680eb74b043339eb6f87e7"),
                Json::Null,
                Json::from("Error")
            ],
            vec![Json::from(""), Json::Null, Json::from("")],
        ]
    );
    let e = run(
        "datatable(x:string)['a'] | invoke FileProfile('SHA256')",
        &BTreeMap::new(),
        now(),
    )
    .expect_err("no SHA256 column");
    assert!(e.message.contains("SHA256"), "{}", e.message);
}

#[test]
fn mv_apply_runs_the_subquery_per_row() {
    // each row's array is a subtable; rows whose subquery returns nothing are dropped;
    // the other columns are added to each row the subquery returns
    let t = q(
        r#"datatable(id:long, args:dynamic)[1, dynamic(["net", "user", "alice"]), 2, dynamic(["net"])]
        | mv-apply a = args on (where a != "net" | project a)
        | project-away args"#,
    );
    assert_eq!(names(&t), ["id", "a"]);
    assert_eq!(
        rows(&t),
        vec![
            vec![Json::from(1), Json::from("user")],
            vec![Json::from(1), Json::from("alice")]
        ]
    );
    // an aggregating subquery runs once per row
    let t = q("datatable(x:dynamic)[dynamic([1, 2])] | mv-apply x on (summarize count())");
    // the row's columns the subquery does not return (x, unexpanded) come first
    assert_eq!(t.rows.len(), 1);
    assert_eq!(t.rows[0].last(), Some(&Json::from(2)));
}

#[test]
fn parse_command_line_windows() {
    let t = q(r#"print r = parse_command_line("echo \"hello world!\"", "windows")"#);
    assert_eq!(
        rows(&t),
        vec![vec![serde_json::json!(["echo", "hello world!"])]]
    );
    let t = q(r#"print r = tolower(parse_command_line("NLTEST.exe /DCLIST:corp", "windows")[1])"#);
    assert_eq!(rows(&t), vec![vec![Json::from("/dclist:corp")]]);
}

#[test]
fn pivot_counts_each_value_by_the_other_columns() {
    let t = q(
        r#"datatable(d:string, a:string)["h1", "AsrX", "h1", "AsrY", "h1", "AsrX", "h2", "AsrY"]
        | evaluate pivot(a)
        | sort by d asc"#,
    );
    assert_eq!(names(&t), ["d", "AsrX", "AsrY"]);
    assert_eq!(
        rows(&t),
        vec![
            vec![Json::from("h1"), Json::from(2), Json::from(1)],
            vec![Json::from("h2"), Json::from(0), Json::from(1)]
        ]
    );
    let t = q(r#"datatable(d:string, a:string)["h1", "High"]
        | evaluate pivot(a): (d:string, Critical:long, High:long)"#);
    assert_eq!(names(&t), ["d", "Critical", "High"]);
    assert_eq!(
        rows(&t),
        vec![vec![Json::from("h1"), Json::Null, Json::from(1)]]
    );
}

#[test]
fn externaldata_urls_are_refused_with_a_reason() {
    let src =
        r#"let X = externaldata(a:string)[@"https://example.com/x.csv"] with (format="csv"); X"#;
    let e = run(src, &BTreeMap::new(), now()).expect_err("network");
    assert!(
        e.message.contains("never reaches the network"),
        "{}",
        e.message
    );
    assert_eq!(
        &src[e.span.start..e.span.end],
        r#"@"https://example.com/x.csv""#
    );
}

#[test]
fn table_builder_rows_read_as_json_rows_do() {
    let columns = vec![
        ("Name".to_string(), KType::String),
        ("Port".to_string(), KType::Int),
        ("At".to_string(), KType::DateTime),
    ];
    let mut b = TableBuilder::new(columns.clone());
    let mut rows = Vec::new();
    for i in 0..20_000i64 {
        let mut r = Map::new();
        r.insert("Name".into(), Json::from(format!("p{}", i % 7)));
        if i % 3 != 0 {
            r.insert("Port".into(), Json::from(i % 1000));
        }
        r.insert("At".into(), Json::from("2024-05-01T00:00:00Z"));
        b.push(&r).expect("row");
        rows.push(r);
    }
    assert_eq!(b.len(), 20_000);
    let built = b.finish().expect("table");
    assert!(built.batches.len() >= 3 && built.rows.is_empty());
    let plain = InputTable {
        columns,
        rows,
        ..Default::default()
    };
    let query = "T | summarize n = count(), p = sum(Port), e = countif(isnull(Port)) by Name | sort by Name asc";
    let with = |t: InputTable| {
        let tables = BTreeMap::from([("T".to_string(), t)]);
        run(query, &tables, now()).expect("runs").remove(0)
    };
    let a = with(built);
    assert_eq!(a, with(plain));
    assert_eq!(a.rows.len(), 7);
}

fn series_data() -> &'static str {
    "let data = datatable(timestamp:datetime, metric:real) [
        datetime(2016-12-31T06:00), 50, datetime(2017-01-01), 4, datetime(2017-01-02), 3,
        datetime(2017-01-03), 4, datetime(2017-01-03T03:00), 6, datetime(2017-01-05), 8,
        datetime(2017-01-05T13:40), 13, datetime(2017-01-06), 4, datetime(2017-01-07), 3,
        datetime(2017-01-08), 8, datetime(2017-01-08T21:00), 8, datetime(2017-01-09), 2,
        datetime(2017-01-09T12:00), 11, datetime(2017-01-10T05:00), 5];
    let interval = 1d; let stime = datetime(2017-01-01); let etime = datetime(2017-01-10);
    data"
}

fn days(from: u32, to: u32) -> Json {
    Json::Array(
        (from..=to)
            .map(|d| Json::from(format!("2017-01-{d:02}T00:00:00.0000000Z")))
            .collect(),
    )
}

#[test]
fn make_series_follows_the_documented_example() {
    let t = q(&format!(
        "{} | make-series avg(metric) on timestamp from stime to etime step interval",
        series_data()
    ));
    assert_eq!(names(&t), ["avg_metric", "timestamp"]);
    assert_eq!(t.columns[0].1, KType::Dynamic);
    // 2016-12-31 and 2017-01-10T05:00 are outside [from, to); 2017-01-04 has no rows
    assert_eq!(
        rows(&t),
        vec![vec![
            serde_json::json!([4.0, 3.0, 5.0, 0.0, 10.5, 4.0, 3.0, 8.0, 6.5]),
            days(1, 9)
        ]]
    );
    let empty = q(&format!(
        "{} | take 0 | make-series avg(metric) default=1.0 on timestamp from stime to etime \
         step interval | count",
        series_data()
    ));
    assert_eq!(rows(&empty), vec![vec![Json::from(0)]]);
    let nonempty = q(&format!(
        "{} | take 0 | make-series kind=nonempty avg(metric) default=1.0 on timestamp \
         from stime to etime step interval",
        series_data()
    ));
    assert_eq!(
        rows(&nonempty),
        vec![vec![Json::Array(vec![Json::from(1.0); 9]), days(1, 9)]]
    );
}

#[test]
fn make_series_groups_by_and_fills_defaults() {
    // no from/to: the axis runs from bin(min) to bin(max), the same for every series
    let t = q(
        "datatable(t:long, k:string, x:long)[1,'a',10, 2,'a',20, 3,'a',5, 5,'b',7, 5,'b',7]
        | make-series n=count() default=-1, s=sum(x), mn=min(x), mx=max(x), d=dcount(x)
          on t step 2 by k
        | sort by k asc",
    );
    assert_eq!(names(&t), ["k", "n", "s", "mn", "mx", "d", "t"]);
    assert_eq!(
        rows(&t),
        vec![
            vec![
                Json::from("a"),
                serde_json::json!([1, 2, -1]),
                serde_json::json!([10, 25, 0]),
                serde_json::json!([10, 5, 0]),
                serde_json::json!([10, 20, 0]),
                serde_json::json!([1, 2, 0]),
                serde_json::json!([0, 2, 4]),
            ],
            vec![
                Json::from("b"),
                serde_json::json!([-1, -1, 2]),
                serde_json::json!([0, 0, 14]),
                serde_json::json!([0, 0, 7]),
                serde_json::json!([0, 0, 7]),
                serde_json::json!([0, 0, 1]),
                serde_json::json!([0, 2, 4]),
            ],
        ]
    );
    // `to` is exclusive; `in range(start, stop, step)` bins with bin() and includes stop
    let t =
        q("datatable(t:long)[1, 2, 3, 4, 5, 6] | make-series c=count() on t from 1 to 5 step 2");
    assert_eq!(
        rows(&t),
        vec![vec![serde_json::json!([2, 2]), serde_json::json!([1, 3])]]
    );
    let t = q("datatable(t:long)[1, 2, 3, 4, 5, 6] | make-series c=count() on t in range(1, 5, 2)");
    assert_eq!(
        rows(&t),
        vec![vec![
            serde_json::json!([1, 2, 2]),
            serde_json::json!([0, 2, 4])
        ]]
    );
    // timespan steps over datetimes, a series per group, mv-expand back to rows
    let t = q("datatable(at:datetime)[datetime(2024-01-01T00:10), datetime(2024-01-01T02:00)]
        | make-series c=count() on at from datetime(2024-01-01) to datetime(2024-01-01T03:00) step 1h
        | mv-expand c to typeof(long), at to typeof(datetime)
        | where c > 0 | project at");
    assert_eq!(
        rows(&t),
        vec![
            vec![Json::from("2024-01-01T00:00:00.0000000Z")],
            vec![Json::from("2024-01-01T02:00:00.0000000Z")]
        ]
    );
}

const IP_DATA: &str = r#"let IP_Data = datatable(network:string, continent_code:string, country:string) [
    "5.8.0.0/19", "EU", "Russia",
    "2.20.183.0/24", "EU", "United Kingdom",
    "46.36.200.51/32", "OC", "Cook Islands",
    "10.0.0.0/8", "XX", "Private"];
let IPs = datatable(ip:string, n:long) ['2.20.183.12', 1, '5.8.1.2', 2, '192.165.12.17', 3];
"#;

#[test]
fn ipv4_lookup_joins_on_ranges() {
    let t = q(&format!(
        "{IP_DATA} IPs | evaluate ipv4_lookup(IP_Data, ip, network) | sort by n asc"
    ));
    assert_eq!(
        names(&t),
        ["ip", "n", "network", "continent_code", "country"]
    );
    assert_eq!(
        rows(&t),
        vec![
            vec![
                Json::from("2.20.183.12"),
                Json::from(1),
                Json::from("2.20.183.0/24"),
                Json::from("EU"),
                Json::from("United Kingdom")
            ],
            vec![
                Json::from("5.8.1.2"),
                Json::from(2),
                Json::from("5.8.0.0/19"),
                Json::from("EU"),
                Json::from("Russia")
            ],
        ]
    );
    let t = q(&format!(
        "{IP_DATA} IPs | evaluate ipv4_lookup(IP_Data, ip, network, return_unmatched = true)
         | where n == 3"
    ));
    assert_eq!(
        rows(&t),
        vec![vec![
            Json::from("192.165.12.17"),
            Json::from(3),
            Json::from(""),
            Json::from(""),
            Json::from("")
        ]]
    );
    // extra keys must be equal too, and appear once
    let t = q(r#"let L = datatable(net:string, site:string, tag:string)
            ["10.0.0.0/8", "a", "A", "10.0.0.0/8", "b", "B"];
        datatable(ip:string, site:string)["10.1.2.3", "b", "10.1.2.4", "c"]
        | evaluate ipv4_lookup(L, ip, net, site)"#);
    assert_eq!(names(&t), ["ip", "site", "net", "tag"]);
    assert_eq!(
        rows(&t),
        vec![vec![
            Json::from("10.1.2.3"),
            Json::from("b"),
            Json::from("10.0.0.0/8"),
            Json::from("B")
        ]]
    );
}

#[test]
fn externaldata_reads_local_files() {
    let dir = std::env::temp_dir().join(format!("harrier-kql-ext-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let csv = dir.join("iocs.csv");
    std::fs::write(&csv, "sha1,score,seen\nabc,5,2024-01-02\n\"d,e\",7,\n").expect("write");
    let json = dir.join("iocs.json");
    std::fs::write(
        &json,
        "{\"sha1\": \"abc\", \"score\": 5}\n{\"sha1\": \"x\"}\n",
    )
    .expect("write");
    let src = format!(
        r#"externaldata (sha1:string, score:long, seen:datetime) [@"{}"]
           with (format="csv", ignoreFirstRecord=true)"#,
        csv.display()
    );
    let t = q(&src);
    assert_eq!(
        rows(&t),
        vec![
            vec![
                Json::from("abc"),
                Json::from(5),
                Json::from("2024-01-02T00:00:00.0000000Z")
            ],
            vec![Json::from("d,e"), Json::from(7), Json::Null],
        ]
    );
    let src = format!(
        r#"externaldata (sha1:string, score:long) ["file://{}"] with (format="multijson")
           | summarize sum(score), count()"#,
        json.display()
    );
    assert_eq!(rows(&q(&src)), vec![vec![Json::from(5), Json::from(2)]]);
    let missing = format!(
        r#"externaldata (a:string) [@"{}"]"#,
        dir.join("absent.csv").display()
    );
    let e = run(&missing, &BTreeMap::new(), now()).expect_err("no such file");
    assert!(e.message.contains("cannot read"), "{}", e.message);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn scan_cumulative_sums_and_fill_forward() {
    let t = q("range x from 1 to 5 step 1 | extend y = 2 * x
        | scan declare (cumulative_x:long=0, cumulative_y:long=0) with (
            step s1: true => cumulative_x = iff(s1.cumulative_x >= 10, x, x + s1.cumulative_x),
                             cumulative_y = iff(s1.cumulative_y >= 10, y, y + s1.cumulative_y);
        )");
    assert_eq!(names(&t), ["x", "y", "cumulative_x", "cumulative_y"]);
    let got: Vec<Vec<i64>> = rows(&t)
        .iter()
        .map(|r| r.iter().map(|c| c.as_i64().unwrap_or(-1)).collect())
        .collect();
    assert_eq!(
        got,
        vec![
            vec![1, 2, 1, 2],
            vec![2, 4, 3, 6],
            vec![3, 6, 6, 12],
            vec![4, 8, 10, 8],
            vec![5, 10, 5, 18]
        ]
    );
    let t = q(
        r#"datatable (Ts: timespan, Event: string) [0m, "A", 1m, "", 2m, "B", 3m, ""]
        | sort by Ts asc
        | scan declare (Event_filled: string="") with (
            step s1: true => Event_filled = iff(isempty(Event), s1.Event_filled, Event);
        ) | project Event_filled"#,
    );
    assert_eq!(
        rows(&t),
        vec![
            vec![Json::from("A")],
            vec![Json::from("A")],
            vec![Json::from("B")],
            vec![Json::from("B")]
        ]
    );
}

#[test]
fn scan_sequences_get_match_ids() {
    // sessions: a session ends 30 minutes after its first event (endSession outputs nothing)
    let t = q(r#"datatable (Ts: timespan, Event: string)
            [0m, "A", 1m, "A", 2m, "B", 32m, "B", 36m, "C", 75m, "A"]
        | sort by Ts asc
        | scan with_match_id=session_id declare (sessionStart: timespan) with (
            step inSession: true => sessionStart = iff(isnull(inSession.sessionStart), Ts, inSession.sessionStart);
            step endSession output=none: Ts - inSession.sessionStart > 30m;
        ) | project Ts, sessionStart, session_id"#);
    let cell = |s: &str| Json::from(s);
    assert_eq!(
        rows(&t),
        vec![
            vec![cell("00:00:00"), cell("00:00:00"), Json::from(0)],
            vec![cell("00:01:00"), cell("00:00:00"), Json::from(0)],
            vec![cell("00:02:00"), cell("00:00:00"), Json::from(0)],
            vec![cell("00:32:00"), cell("00:32:00"), Json::from(1)],
            vec![cell("00:36:00"), cell("00:32:00"), Json::from(1)],
            vec![cell("01:15:00"), cell("01:15:00"), Json::from(2)],
        ]
    );
    // events between Start and Stop within 5 minutes: records are promoted step to step
    let t = q(
        r#"datatable (Ts: timespan, Event: string) [0m, "A", 1m, "Start", 2m, "B",
            3m, "D", 4m, "Stop", 6m, "C", 8m, "Start", 11m, "E", 12m, "Stop"]
        | sort by Ts asc
        | scan with_match_id=m_id with_step_name=s with (
            step s1: Event == "Start";
            step s2: Event != "Start" and Event != "Stop" and Ts - s1.Ts <= 5m;
            step s3: Event == "Stop" and Ts - s1.Ts <= 5m;
        ) | project Event, m_id, s"#,
    );
    let got: Vec<(String, i64, String)> = rows(&t)
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap_or_default().to_string(),
                r[1].as_i64().unwrap_or(-1),
                r[2].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, i64, String)> = [
        ("Start", 0, "s1"),
        ("B", 0, "s2"),
        ("D", 0, "s2"),
        ("Stop", 0, "s3"),
        ("Start", 1, "s1"),
        ("E", 1, "s2"),
        ("Stop", 1, "s3"),
    ]
    .iter()
    .map(|(e, i, s)| (e.to_string(), *i, s.to_string()))
    .collect();
    assert_eq!(got, want);
    let e = run(
        "range x from 1 to 2 step 1 | scan with (step s1 output=last: true;)",
        &BTreeMap::new(),
        now(),
    )
    .expect_err("output=last");
    assert!(e.message.contains("output=last"), "{}", e.message);
}

#[test]
fn parse_regex_columns_are_greedy_unless_flag_u() {
    // parse page: without flags the string column runs to the last `,`; `flags=U` makes it lazy
    let src = "print s = 'resourceName=Pipe, totalSlices=27, n=2'";
    let t = q(&format!(
        "{src} | parse kind=regex s with * 'resourceName=' r ',' * | project r"
    ));
    assert_eq!(rows(&t), vec![vec![Json::from("Pipe, totalSlices=27")]]);
    let t = q(&format!(
        "{src} | parse kind=regex flags=U s with * 'resourceName=' r ',' * | project r"
    ));
    assert_eq!(rows(&t), vec![vec![Json::from("Pipe")]]);
}

#[test]
fn parse_relaxed_nulls_columns_that_do_not_match_their_type() {
    let t = q("print s = 'a=x, n=oops, m=5)'
        | parse kind=relaxed s with * 'a=' a ', n=' n: long * 'm=' m: long ')' *
        | project a, n, m");
    assert_eq!(
        rows(&t),
        vec![vec![Json::from("x"), Json::Null, Json::from(5)]]
    );
}

#[test]
fn mv_expand_bagexpansion_array_gives_key_value_pairs() {
    let t = q(r#"print b = dynamic({"p1": "a1"}) | mv-expand bagexpansion=array b"#);
    assert_eq!(rows(&t), vec![vec![serde_json::json!(["p1", "a1"])]]);
}

#[test]
fn parse_ipv4_applies_the_prefix_mask() {
    let t = q("print parse_ipv4('192.168.1.1/24'), parse_ipv4('255.255.255.255/31'), parse_ipv4('10.0.0.1')");
    assert_eq!(
        rows(&t),
        vec![vec![
            Json::from(3232235776i64),
            Json::from(4294967294i64),
            Json::from(167772161i64)
        ]]
    );
}

#[test]
fn indexof_windows_and_occurrences() {
    // indexof page: each further occurrence is searched in a new window after the last match
    let t = q(
        r#"print indexof("abcdefg", "cde", 1, 2), indexof("abcdefgabcdefg", "cde", 1, 10, 2),
        indexof("abcdefg", "cde", -5), array_index_of(dynamic(["this", "is", "an", "example", "an"]), "an", 1, -1, 2),
        array_index_of(dynamic(["a", "b"]), "b", 0, 1)"#,
    );
    assert_eq!(
        rows(&t),
        vec![vec![
            Json::from(-1),
            Json::from(9),
            Json::from(2),
            Json::from(4),
            Json::from(-1)
        ]]
    );
}

#[test]
fn digests_hash_the_string_form() {
    let t = q(
        r#"print hash_sha256("World"), hash_sha1("World"), hash_md5("World"),
        hash_md5(datetime(2020-01-01)), hash_md5(""), hash("World"), hash_xxhash64("World", 100)"#,
    );
    assert_eq!(
        rows(&t),
        vec![vec![
            Json::from("78ae647dc5544d227130a0682a51e30bc7777fbb6d8a8f17007463a3ecd1d524"),
            Json::from("70c07ec18ef89c5309bbb0937f3a6342411e1fdd"),
            Json::from("f5a7924e621e84c9280a9a27e1bcb7f6"),
            Json::from("786c530672d1f8db31fee25ea8a9390b"),
            Json::from("d41d8cd98f00b204e9800998ecf8427e"),
            Json::from(1846988464401551951i64),
            Json::from(51),
        ]]
    );
}

#[test]
fn bare_expression_names_its_column_result() {
    let t = q("binary_xor(1, 1)");
    assert_eq!(names(&t), ["result"]);
}

#[test]
fn union_splits_a_name_with_several_types() {
    // union page: x:long and x:int become x_long and x_int; a taken name gets a `1`
    let t = q(
        "let V1 = view () { print x = 1 }; let V2 = view () { print x = toint(2) };
        let V3 = view () { print x_long = 3 };
        union withsource=T V1, V2, V3 | sort by T asc",
    );
    assert_eq!(names(&t), ["T", "x_long1", "x_int", "x_long"]);
    assert_eq!(
        rows(&t)[1],
        vec![Json::from("V2"), Json::Null, Json::from(2), Json::Null]
    );
}

#[test]
fn format_ipv4_takes_the_narrower_prefix() {
    let t = q("print format_ipv4_mask('192.168.1.1/24', 32), format_ipv4('192.168.1.1', -1),
        dynamic_to_json(dynamic({'b': 1, 'a': {'d': 2, 'c': 3}})), parse_path(@'C:\\temp\\f.txt').RootPath");
    assert_eq!(
        rows(&t),
        vec![vec![
            Json::from("192.168.1.0/24"),
            Json::from(""),
            Json::from(r#"{"a":{"c":3,"d":2},"b":1}"#),
            Json::from("C:"),
        ]]
    );
}

#[test]
fn bag_unpack_conflicts_take_the_slot_position() {
    let src = "datatable(Name:string, d:dynamic)['Old', dynamic({\"Name\": \"John\", \"Age\":20})]
        | evaluate bag_unpack(d, columnsConflict=";
    let t = q(&format!("{src}'replace_source')"));
    assert_eq!(names(&t), ["Age", "Name"]);
    assert_eq!(rows(&t), vec![vec![Json::from(20), Json::from("John")]]);
    let t = q(&format!("{src}'keep_source')"));
    assert_eq!(names(&t), ["Age", "Name"]);
    assert_eq!(rows(&t), vec![vec![Json::from(20), Json::from("Old")]]);
}

#[test]
fn parse_kv_extracts_the_listed_keys() {
    let t = q(
        r#"print str="ThreadId:458745723, Machine:Node001, Text: The service is up, Level: Info"
        | parse-kv str as (Text: string, ThreadId:long, Machine: string) with (pair_delimiter=',', kv_delimiter=':')
        | project-away str"#,
    );
    assert_eq!(names(&t), ["Text", "ThreadId", "Machine"]);
    assert_eq!(
        rows(&t),
        vec![vec![
            Json::from("The service is up"),
            Json::from(458745723),
            Json::from("Node001")
        ]]
    );
    let t = q(r#"print str='name=John Doe phone=555 5555 city=New York'
        | parse-kv str as (name:string, city:string, zip:long) with (pair_delimiter=' ', kv_delimiter='=', greedy=true)
        | project-away str"#);
    assert_eq!(
        rows(&t),
        vec![vec![
            Json::from("John Doe"),
            Json::from("New York"),
            Json::Null
        ]]
    );
}

#[test]
fn mv_apply_aggregates_per_row() {
    let t = q("range x from 1 to 8 step 1
        | summarize l=make_list(x) by xMod2 = x % 2
        | mv-apply l to typeof(long) on (top 2 by l | summarize SumOfTop2=sum(l))
        | sort by xMod2 asc");
    assert_eq!(names(&t), ["xMod2", "l", "SumOfTop2"]);
    assert_eq!(t.rows[0][2], Json::from(14));
    assert_eq!(t.rows[1][2], Json::from(12));
    assert_eq!(t.rows[1][1], serde_json::json!([1, 3, 5, 7]));
}

#[test]
fn window_functions_follow_the_serialized_order() {
    let t = q(r#"datatable (name:string, month:int, salary:long)
        ["Alice", 1, 1000, "Bob", 1, 1000, "Alice", 2, 2000, "Bob", 2, 1950]
        | order by name asc, month asc
        | extend total=row_cumsum(salary, name != prev(name)), n=row_number()"#);
    assert_eq!(names(&t), ["name", "month", "salary", "total", "n"]);
    let totals: Vec<Json> = t.rows.iter().map(|r| r[3].clone()).collect();
    assert_eq!(totals, [1000, 3000, 1000, 2950].map(Json::from));
    let ns: Vec<Json> = t.rows.iter().map(|r| r[4].clone()).collect();
    assert_eq!(ns, [1, 2, 3, 4].map(Json::from));
}

#[test]
fn series_geo_and_ipv6_functions_run_in_queries() {
    let t = q(r#"print a = series_add(dynamic([1,2,4]), dynamic([4,2,1])),
        g = geo_point_to_geohash(-80.195829, 25.802215, 8),
        d = geo_distance_2points(300, 1, 1, 1),
        v = parse_ipv6('192.168.255.255/24')"#);
    assert_eq!(
        rows(&t),
        vec![vec![
            serde_json::json!([5, 4, 5]),
            Json::from("dhwfz15h"),
            Json::Null,
            Json::from("0000:0000:0000:0000:0000:ffff:c0a8:ff00")
        ]]
    );
}

#[test]
fn make_list_concatenates_arrays() {
    let t = q("datatable(a:dynamic)[dynamic([1,2]), dynamic([3])] | summarize l = make_list(a)");
    assert_eq!(rows(&t), vec![vec![serde_json::json!([1, 2, 3])]]);
}
