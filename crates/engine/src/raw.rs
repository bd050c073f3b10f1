//! The raw-text prefilter: which input lines can matter to any rule, decided
//! from their bytes before they are parsed.
//!
//! [`crate::literal`] gives most rules a necessary condition "field F has one
//! of these values (compared case-insensitively)". If the event's field holds
//! such a value, the JSON text of the event contains it: the value's
//! characters, with `\` written `\\` and `"` written `\"`. So a line in which
//! none of the rule set's literal values occurs (ignoring ASCII case) cannot
//! produce an event any rule uses, and need not be parsed at all. One
//! Aho-Corasick automaton over every value answers that in a single scan.
//!
//! The argument needs the text to spell values the plain way. It is given up
//! (the line is parsed) when the line could spell a value another way:
//!
//! - it contains `\u` (a `\uXXXX` escape can write any character) or `\/`
//!   (an escaped slash);
//! - it contains bytes outside ASCII (case folding beyond ASCII, such as the
//!   Kelvin sign folding to `k`, could make a value equal a literal without
//!   their bytes matching ASCII-insensitively);
//!
//! and for the whole rule set when some rule has no literal condition, or a
//! literal holds a control character (which JSON must escape).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::Regex;

/// See the module documentation.
#[derive(Debug)]
pub struct RawFilter {
    /// `None`: every line must be parsed.
    automaton: Option<Literals>,
    /// `\u` or `\/` (a backslash then `u` or `/`; whether the backslash is
    /// itself escaped is checked at each hit).
    escapes: Option<Regex>,
}

/// The literal search: a regular expression for a few values (the regex
/// crate searches case variants of a prefix with SIMD, several times faster
/// than an automaton here), an Aho-Corasick automaton for many.
#[derive(Debug)]
enum Literals {
    Few(Regex),
    Many(AhoCorasick),
}

/// Up to this many values are searched with a regular expression.
const FEW: usize = 64;

impl RawFilter {
    /// A filter that keeps lines containing one of `values` (already
    /// lower-cased literal values); `None` keeps every line.
    pub fn new(values: Option<Vec<String>>) -> RawFilter {
        let Some(values) = values else {
            return RawFilter::everything();
        };
        if values.iter().any(|v| v.chars().any(char::is_control)) {
            return RawFilter::everything();
        }
        let mut patterns: Vec<String> = values.iter().map(|v| json_escaped(v)).collect();
        patterns.sort();
        patterns.dedup();
        let automaton = if patterns.len() <= FEW {
            let alternation: Vec<String> = patterns.iter().map(|p| regex::escape(p)).collect();
            Regex::new(&format!("(?i-u){}", alternation.join("|")))
                .ok()
                .map(Literals::Few)
        } else {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .ok()
                .map(Literals::Many)
        };
        RawFilter {
            automaton,
            ..RawFilter::everything()
        }
    }

    fn everything() -> RawFilter {
        RawFilter {
            automaton: None,
            escapes: Regex::new(r"(?-u)\\[u/]").ok(),
        }
    }

    /// Does every line have to be parsed?
    pub fn keeps_everything(&self) -> bool {
        self.automaton.is_none()
    }

    /// May an event on this line matter to some rule? `false` only when certain.
    pub fn may_match(&self, line: &[u8]) -> bool {
        match &self.automaton {
            None => true,
            Some(lits) => {
                let found = match lits {
                    Literals::Few(re) => re.is_match(line),
                    Literals::Many(ac) => ac.is_match(line),
                };
                found || !all_ascii(line) || hiding_escape(self.escapes.as_ref(), line)
            }
        }
    }
}

/// Does the line hold a `\uXXXX` or `\/` escape? A backslash escapes the
/// next character only at the end of an odd run of backslashes (`\\u` is an
/// escaped backslash and a `u`, as in `C:\\Users`).
fn hiding_escape(escapes: Option<&Regex>, line: &[u8]) -> bool {
    let Some(escapes) = escapes else {
        return true;
    };
    escapes.find_iter(line).any(|m| {
        let run = line[..=m.start()]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        run % 2 == 1
    })
}

/// `<[u8]>::is_ascii`, in blocks the compiler vectorises.
fn all_ascii(line: &[u8]) -> bool {
    line.chunks(64)
        .all(|c| c.iter().fold(0u8, |acc, &b| acc | b) < 0x80)
}

/// A value as it appears inside a JSON string written without needless escapes.
fn json_escaped(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(values: &[&str]) -> RawFilter {
        RawFilter::new(Some(values.iter().map(|s| s.to_string()).collect()))
    }

    #[test]
    fn keeps_lines_naming_a_literal_in_any_ascii_case() {
        let f = filter(&["mshta.exe"]);
        assert!(f.may_match(br#"{"process":{"name":"MSHTA.EXE"}}"#));
        assert!(!f.may_match(br#"{"process":{"name":"cmd.exe"}}"#));
    }

    #[test]
    fn many_literals_search_the_same_way() {
        let mut values: Vec<String> = (0..100).map(|i| format!("tool{i}.exe")).collect();
        values.push("mshta.exe".into());
        let f = RawFilter::new(Some(values));
        assert!(f.may_match(br#"{"process":{"name":"MSHTA.EXE"}}"#));
        assert!(f.may_match(br#"{"process":{"name":"Tool42.exe"}}"#));
        assert!(!f.may_match(br#"{"process":{"name":"cmd.exe"}}"#));
        assert!(f.may_match(br#"{"process":{"name":"msht\u0061.exe"}}"#));
    }

    #[test]
    fn backslashes_and_quotes_are_matched_as_json_writes_them() {
        let f = filter(&[r#"c:\windows\"x""#]);
        assert!(f.may_match(br#"{"p":"C:\\Windows\\\"x\""}"#));
        assert!(!f.may_match(br#"{"p":"C:\Windows\"x""}"#));
    }

    #[test]
    fn other_spellings_are_parsed() {
        let f = filter(&["mshta.exe"]);
        // \u escapes and escaped slashes can spell any value
        assert!(f.may_match(br#"{"process":{"name":"msht\u0061.exe"}}"#));
        assert!(f.may_match(br#"{"process":{"name":"x\\\u0061.exe"}}"#));
        assert!(f.may_match(br#"{"url":"http:\/\/x"}"#));
        // an escaped backslash before a u is not an escape
        assert!(!f.may_match(br#"{"path":"C:\\Users\\x"}"#));
        assert!(!f.may_match(br#"{"path":"C:\\\\uncpath"}"#));
        // non-ASCII case folding (Kelvin sign) is left to the parser
        assert!(f.may_match("{\"n\":\"\u{212A}\"}".as_bytes()));
    }

    #[test]
    fn no_literals_or_control_characters_keep_everything() {
        assert!(RawFilter::new(None).keeps_everything());
        assert!(filter(&["a\tb"]).keeps_everything());
        assert!(!filter(&["a"]).keeps_everything());
    }
}
