//! Splitting a Windows command line into arguments.
//!
//! Elastic's Sysmon pipeline fills `process.args` with its own port of Go's
//! `commandLineToArgv`, which follows the Microsoft C runtime rules with the
//! "prior to 2008" treatment of doubled quotes. We follow the same rules so
//! that `process.args` matches what Elasticsearch stores:
//!
//! - spaces and tabs outside quotes separate arguments; runs of them count once;
//! - `2n` backslashes followed by `"` give `n` backslashes, and the quote opens
//!   or closes a quoted part;
//! - `2n + 1` backslashes followed by `"` give `n` backslashes and a literal `"`;
//! - backslashes not followed by `"` are literal;
//! - inside a quoted part, `""` gives a literal `"` and the quoted part ends.

/// Splits `cmd` into arguments with the Windows rules described in the module docs.
pub fn split_command_line(cmd: &str) -> Vec<String> {
    // The characters with a meaning are ASCII: runs of other bytes are copied
    // whole (they start and end on character boundaries).
    let special = |b: u8| matches!(b, b' ' | b'\t' | b'"' | b'\\');
    let b = cmd.as_bytes();
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        // Skip separators between arguments.
        while matches!(b.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let mut arg = String::new();
        let mut in_quote = false;
        let mut slashes = 0usize;
        while let Some(&c) = b.get(i) {
            match c {
                b' ' | b'\t' if !in_quote => break,
                b'"' => {
                    i += 1;
                    push_backslashes(&mut arg, slashes / 2);
                    if slashes & 1 == 0 {
                        if in_quote && b.get(i) == Some(&b'"') {
                            arg.push('"');
                            i += 1;
                        }
                        in_quote = !in_quote;
                    } else {
                        arg.push('"');
                    }
                    slashes = 0;
                }
                b'\\' => {
                    slashes += 1;
                    i += 1;
                }
                _ => {
                    push_backslashes(&mut arg, slashes);
                    slashes = 0;
                    let start = i;
                    i += 1;
                    while b.get(i).is_some_and(|&c| !special(c)) {
                        i += 1;
                    }
                    arg.push_str(cmd.get(start..i).unwrap_or_default());
                }
            }
        }
        push_backslashes(&mut arg, slashes);
        args.push(arg);
    }
    args
}

fn push_backslashes(s: &mut String, n: usize) {
    for _ in 0..n {
        s.push('\\');
    }
}

#[cfg(test)]
mod tests {
    use super::push_backslashes;
    use super::split_command_line as split;

    /// The char-by-char form this module had first: the reference.
    fn split_chars(cmd: &str) -> Vec<String> {
        let mut args = Vec::new();
        let mut chars = cmd.chars().peekable();
        loop {
            // Skip separators between arguments.
            while matches!(chars.peek(), Some(' ' | '\t')) {
                chars.next();
            }
            if chars.peek().is_none() {
                break;
            }
            let mut arg = String::new();
            let mut in_quote = false;
            let mut slashes = 0usize;
            while let Some(c) = chars.next() {
                match c {
                    ' ' | '\t' if !in_quote => break,
                    '"' => {
                        push_backslashes(&mut arg, slashes / 2);
                        if slashes & 1 == 0 {
                            if in_quote && chars.peek() == Some(&'"') {
                                arg.push('"');
                                chars.next();
                            }
                            in_quote = !in_quote;
                        } else {
                            arg.push('"');
                        }
                        slashes = 0;
                    }
                    '\\' => slashes += 1,
                    _ => {
                        push_backslashes(&mut arg, slashes);
                        slashes = 0;
                        arg.push(c);
                    }
                }
            }
            push_backslashes(&mut arg, slashes);
            args.push(arg);
        }
        args
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn plain_words_and_runs_of_blanks() {
        assert_eq!(split("a b\t c"), v(&["a", "b", "c"]));
        assert_eq!(split("  lead and trail  "), v(&["lead", "and", "trail"]));
        assert!(split("").is_empty());
        assert!(split(" \t ").is_empty());
    }

    #[test]
    fn quotes_group_blanks() {
        assert_eq!(
            split(r#""C:\Program Files\x.exe" -k "a b""#),
            v(&[r"C:\Program Files\x.exe", "-k", "a b"])
        );
        assert_eq!(split(r#"a"b c"d"#), v(&["ab cd"]));
        // An unterminated quote runs to the end.
        assert_eq!(split(r#""a b"#), v(&["a b"]));
    }

    #[test]
    fn backslashes_are_literal_unless_before_a_quote() {
        assert_eq!(
            split(r"C:\Windows\system32\"),
            v(&[r"C:\Windows\system32\"])
        );
        assert_eq!(split(r"a\\b"), v(&[r"a\\b"]));
        // 2n backslashes + quote: n backslashes, quote toggles.
        assert_eq!(split(r#""a\\" b"#), v(&[r"a\", "b"]));
        // 2n+1 backslashes + quote: n backslashes and a literal quote.
        assert_eq!(split(r#"a\"b"#), v(&[r#"a"b"#]));
        assert_eq!(split(r#"a\\\"b"#), v(&[r#"a\"b"#]));
    }

    #[test]
    fn doubled_quotes_inside_quotes() {
        assert_eq!(split(r#""a""b""#), v(&[r#"a"b"#]));
        assert_eq!(split(r#""""#), v(&[""]));
        assert_eq!(split(r#""" x"#), v(&["", "x"]));
    }

    #[test]
    fn real_sysmon_command_lines() {
        assert_eq!(
            split(r"C:\Windows\system32\svchost.exe -k DcomLaunch"),
            v(&[r"C:\Windows\system32\svchost.exe", "-k", "DcomLaunch"])
        );
        // With the pre-2008 rule, `""` inside quotes gives `"` and closes the
        // quoted part, so the second `""` (outside quotes) gives nothing.
        assert_eq!(
            split(r#""C:\Windows\System32\mshta.exe" "javascript:a=GetObject(""script:x"")""#),
            v(&[
                r"C:\Windows\System32\mshta.exe",
                r#"javascript:a=GetObject("script:x)"#
            ])
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_args_have_no_outer_blanks(s in ".*") {
            let args = split(&s);
            for a in &args {
                proptest::prop_assert!(!a.is_empty() || s.contains('"'));
            }
        }

        #[test]
        fn same_as_char_by_char(s in "[a b\t\"\\\\\u{e9}\u{1F600}x]*") {
            proptest::prop_assert_eq!(split(&s), split_chars(&s));
        }

        #[test]
        fn quote_free_input_is_a_whitespace_split(s in "[a-zA-Z0-9\\\\ \t.:-]*") {
            let expected: Vec<String> = s.split([' ', '\t']).filter(|w| !w.is_empty()).map(String::from).collect();
            proptest::prop_assert_eq!(split(&s), expected);
        }
    }
}
