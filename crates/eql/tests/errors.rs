//! What users see when a query is wrong: line, column, the source line and a caret.

use harrier_eql::schema::Schema;
use harrier_eql::{parse, Analyzer, Settings};

fn render(query: &str) -> String {
    let schema = Schema::ecs();
    match parse(query).and_then(|ast| {
        Analyzer::new(&schema, Settings::default())
            .plan(&ast)
            .map(|_| ())
    }) {
        Ok(()) => panic!("expected an error for {query:?}"),
        Err(e) => e.render(query),
    }
}

#[test]
fn single_quotes() {
    insta::assert_snapshot!(render("process where process.name == 'cmd.exe'"));
}

#[test]
fn unsupported_pipe() {
    insta::assert_snapshot!(render("process where true | unique process.name"));
}

#[test]
fn join_is_rejected() {
    insta::assert_snapshot!(render("join [process where true] [network where true]"));
}

#[test]
fn missing_time_unit() {
    insta::assert_snapshot!(render(
        "sequence with maxspan=5\n  [process where true]\n  [network where true]"
    ));
}

#[test]
fn unknown_function_suggests() {
    insta::assert_snapshot!(render("process where startswith2(process.name, \"a\")"));
}

#[test]
fn wrong_arity() {
    insta::assert_snapshot!(render("process where length(process.name, 2) > 1"));
}

#[test]
fn single_equals() {
    insta::assert_snapshot!(render("process where process.name = \"a\""));
}

#[test]
fn field_to_field_comparison() {
    insta::assert_snapshot!(render("process where process.name == process.parent.name"));
}

#[test]
fn one_step_sequence() {
    insta::assert_snapshot!(render("sequence [process where true]"));
}

#[test]
fn inconsistent_keys() {
    insta::assert_snapshot!(render(
        "sequence\n  [process where true] by a, b\n  [network where true] by a"
    ));
}

#[test]
fn unknown_field_with_mapping() {
    let mut schema = Schema::dynamic();
    schema
        .add_mapping(r#"{"properties":{"process_name":{"type":"keyword"},"event_type":{"type":"keyword"},"event":{"properties":{"category":{"type":"alias","path":"event_type"}}}}}"#)
        .expect("mapping");
    let q = "process where proces_name : \"cmd.exe\"";
    let err = Analyzer::new(&schema, Settings::default())
        .plan(&parse(q).expect("parses"))
        .expect_err("unknown field");
    insta::assert_snapshot!(err.render(q));
}
