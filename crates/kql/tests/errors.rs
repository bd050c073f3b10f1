//! Snapshots of rendered parse errors: what a user sees for common mistakes.

use harrier_kql::{parse, render_error};

fn rendered(src: &str) -> String {
    match parse(src) {
        Ok(tree) => panic!("expected an error for {src:?}, parsed as {tree}"),
        Err(e) => render_error(src, &e),
    }
}

#[test]
fn missing_predicate() {
    insta::assert_snapshot!(rendered("DeviceProcessEvents\n| where\n| take 10"));
}

#[test]
fn unterminated_string() {
    insta::assert_snapshot!(rendered(
        "DeviceProcessEvents\n| where FileName == 'cmd.exe\n| take 10"
    ));
}

#[test]
fn unknown_operator_with_case_hint() {
    insta::assert_snapshot!(rendered("DeviceEvents | Where ActionType == 'x'"));
}

#[test]
fn uppercase_and() {
    insta::assert_snapshot!(rendered("DeviceEvents | where a == 1 AND b == 2"));
}

#[test]
fn missing_semicolon_after_let() {
    insta::assert_snapshot!(rendered(
        "let window = 1d\nDeviceEvents | where Timestamp > ago(window)"
    ));
}

#[test]
fn between_needs_range() {
    insta::assert_snapshot!(rendered("T | where x between (1, 5)"));
}

#[test]
fn unclosed_paren_at_end() {
    insta::assert_snapshot!(rendered("T | where (a == 1 or b == 2"));
}

#[test]
fn bad_character_after_multibyte_text() {
    insta::assert_snapshot!(rendered("print s = 'héllo' # x"));
}

#[test]
fn multi_token_span() {
    insta::assert_snapshot!(rendered(
        "T | summarize count() by\n    bin(Timestamp, 1h) foo bar"
    ));
}
