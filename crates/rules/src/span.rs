//! Where a rule's query text sits in its TOML file, so that a query error found at a
//! byte offset of the query string can be shown at `file:line:column`.
//!
//! TOML has four string forms. For literal strings (`'…'`, `'''…'''`, which every
//! prebuilt rule uses) the value is the file text itself; for basic strings (`"…"`,
//! `"""…"""`) escapes make the value shorter than the text, so each value byte is
//! mapped back to the file byte it came from. A newline right after an opening
//! `'''`/`"""` is not part of the value (TOML trims it).

use std::ops::Range;

/// Which TOML string form held the query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringStyle {
    Basic,
    Literal,
    MultiLineBasic,
    MultiLineLiteral,
    /// Not from TOML (e.g. a JSON string in an NDJSON export): positions are
    /// reported relative to the query text itself.
    Plain,
}

/// The location of a query string in its file, with a map from query offsets to file positions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryLocation {
    /// Byte offset in the file of the query's first character.
    pub offset: usize,
    /// 1-based line of the query's first character.
    pub line: u32,
    /// 1-based column (in characters) of the query's first character.
    pub column: u32,
    pub style: StringStyle,
    /// File text from the first value character up to the closing delimiter.
    raw: String,
    /// For basic strings: `map[i]` is the offset in `raw` of value byte `i`
    /// (one extra entry for the end). Empty when value and raw text coincide.
    map: Vec<u32>,
}

impl QueryLocation {
    /// Locates a string value in `text` from the span of its TOML token (quotes
    /// included), checking that decoding the token gives `value`.
    pub fn from_toml_token(text: &str, token: Range<usize>, value: &str) -> Option<QueryLocation> {
        let tok = text.get(token.clone())?;
        let (style, delim) = if tok.starts_with("'''") {
            (StringStyle::MultiLineLiteral, 3)
        } else if tok.starts_with("\"\"\"") {
            (StringStyle::MultiLineBasic, 3)
        } else if tok.starts_with('\'') {
            (StringStyle::Literal, 1)
        } else if tok.starts_with('"') {
            (StringStyle::Basic, 1)
        } else {
            return None;
        };
        if tok.len() < 2 * delim {
            return None;
        }
        let mut body_start = delim;
        let body_end = tok.len() - delim;
        let multi = matches!(
            style,
            StringStyle::MultiLineBasic | StringStyle::MultiLineLiteral
        );
        if multi {
            let rest = tok.get(body_start..body_end)?;
            if rest.starts_with("\r\n") {
                body_start += 2;
            } else if rest.starts_with('\n') {
                body_start += 1;
            }
        }
        let raw = tok.get(body_start..body_end)?;
        let map = match style {
            StringStyle::Literal | StringStyle::MultiLineLiteral => {
                if raw == value {
                    Vec::new()
                } else {
                    // The parser may have normalised CRLF line endings.
                    let (decoded, map) = normalise_crlf(raw);
                    if decoded != value {
                        return None;
                    }
                    map
                }
            }
            _ => {
                let (decoded, map) = decode_basic(raw, multi)?;
                if decoded == value {
                    map
                } else {
                    let (crlf, crlf_map) = normalise_crlf(raw);
                    let (decoded, inner) = decode_basic(&crlf, multi)?;
                    if decoded != value {
                        return None;
                    }
                    inner
                        .iter()
                        .map(|&i| crlf_map.get(i as usize).copied().unwrap_or(i))
                        .collect()
                }
            }
        };
        let offset = token.start + body_start;
        let (line, column) = line_col(text, offset);
        Some(QueryLocation {
            offset,
            line,
            column,
            style,
            raw: raw.to_owned(),
            map,
        })
    }

    /// A location for a query that is not embedded in a TOML file: line 1, column 1
    /// is the query's first character, optionally shifted to `line` of the file.
    pub fn plain(query: &str, line: u32) -> QueryLocation {
        QueryLocation {
            offset: 0,
            line,
            column: 1,
            style: StringStyle::Plain,
            raw: query.to_owned(),
            map: Vec::new(),
        }
    }

    /// Byte offset in the file of the query byte at `value_offset` (clamped to the end).
    pub fn file_offset(&self, value_offset: usize) -> usize {
        self.offset + self.raw_offset(value_offset)
    }

    fn raw_offset(&self, value_offset: usize) -> usize {
        if self.map.is_empty() {
            value_offset.min(self.raw.len())
        } else {
            let i = value_offset.min(self.map.len().saturating_sub(1));
            self.map.get(i).map_or(self.raw.len(), |&o| o as usize)
        }
    }

    /// 1-based (line, column) in the file of the query byte at `value_offset`.
    /// Columns count characters; an offset past the end maps to the end of the query.
    pub fn position(&self, value_offset: usize) -> (u32, u32) {
        let mut at = self.raw_offset(value_offset);
        while at > 0 && !self.raw.is_char_boundary(at) {
            at -= 1;
        }
        let before = &self.raw[..at];
        match before.rfind('\n') {
            None => (self.line, self.column + before.chars().count() as u32),
            Some(nl) => {
                let lines = before.matches('\n').count() as u32;
                let col = before[nl + 1..].chars().count() as u32 + 1;
                (self.line + lines, col)
            }
        }
    }
}

/// 1-based line and character column of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let mut at = offset.min(text.len());
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() as u32 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() as u32 + 1;
    (line, col)
}

/// `raw` with CRLF turned into LF, and the offset map back into `raw`.
fn normalise_crlf(raw: &str) -> (String, Vec<u32>) {
    let mut out = String::with_capacity(raw.len());
    let mut map = Vec::with_capacity(raw.len() + 1);
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        let ch_len = utf8_len(bytes[i]);
        if let Some(s) = raw.get(i..i + ch_len) {
            out.push_str(s);
            for k in 0..ch_len {
                map.push((i + k) as u32);
            }
        }
        i += ch_len;
    }
    map.push(raw.len() as u32);
    (out, map)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Decodes the body of a TOML basic string, recording for each output byte the
/// offset of the input text it came from.
fn decode_basic(raw: &str, multi: bool) -> Option<(String, Vec<u32>)> {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut map: Vec<u32> = Vec::with_capacity(raw.len() + 1);
    let mut i = 0;
    let push = |out: &mut String, map: &mut Vec<u32>, s: &str, from: usize| {
        out.push_str(s);
        for _ in 0..s.len() {
            map.push(from as u32);
        }
    };
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            let n = utf8_len(bytes[i]);
            let s = raw.get(i..i + n)?;
            out.push_str(s);
            for k in 0..n {
                map.push((i + k) as u32);
            }
            i += n;
            continue;
        }
        let esc = *bytes.get(i + 1)?;
        let simple = match esc {
            b'b' => Some("\u{8}"),
            b't' => Some("\t"),
            b'n' => Some("\n"),
            b'f' => Some("\u{c}"),
            b'r' => Some("\r"),
            b'e' => Some("\u{1b}"),
            b'"' => Some("\""),
            b'\\' => Some("\\"),
            _ => None,
        };
        if let Some(s) = simple {
            push(&mut out, &mut map, s, i);
            i += 2;
            continue;
        }
        let hex_len = match esc {
            b'x' => 2,
            b'u' => 4,
            b'U' => 8,
            _ => 0,
        };
        if hex_len > 0 {
            let hex = raw.get(i + 2..i + 2 + hex_len)?;
            let code = u32::from_str_radix(hex, 16).ok()?;
            let ch = char::from_u32(code)?;
            let mut buf = [0u8; 4];
            push(&mut out, &mut map, ch.encode_utf8(&mut buf), i);
            i += 2 + hex_len;
            continue;
        }
        if multi && matches!(esc, b' ' | b'\t' | b'\r' | b'\n') {
            // Line-ending backslash: drop whitespace and newlines up to the next text.
            let mut j = i + 1;
            while j < bytes.len() && matches!(bytes[j], b' ' | b'\t' | b'\r' | b'\n') {
                j += 1;
            }
            i = j;
            continue;
        }
        return None;
    }
    map.push(raw.len() as u32);
    Some((out, map))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locate(text: &str, value: &str) -> QueryLocation {
        let start = text.find("query = ").map(|i| i + 8).unwrap_or(0);
        let end = text.trim_end().len();
        QueryLocation::from_toml_token(text, start..end, value).expect("located")
    }

    #[test]
    fn multi_line_literal_skips_the_first_newline() {
        let text = "a = 1\nquery = '''\nprocess where\n  true\n'''\n";
        let q = locate(text, "process where\n  true\n");
        assert_eq!((q.line, q.column), (3, 1));
        assert_eq!(q.position(0), (3, 1));
        assert_eq!(q.position(8), (3, 9));
        assert_eq!(q.position(16), (4, 3));
        assert_eq!(&text[q.file_offset(16)..q.file_offset(16) + 4], "true");
    }

    #[test]
    fn single_line_basic_string_with_escapes() {
        let text = "query = \"a\\\\b: \\\"x\\\"\"\n";
        let q = locate(text, "a\\b: \"x\"");
        assert_eq!((q.line, q.column), (1, 10));
        // value byte 2 is 'b', after the two-character escape `\\`
        assert_eq!(q.position(2), (1, 13));
        assert_eq!(q.position(6), (1, 18));
    }

    #[test]
    fn multi_line_basic_with_line_ending_backslash() {
        let text = "query = \"\"\"\nab \\\n   cd\"\"\"";
        let q = locate(text, "ab cd");
        assert_eq!(q.position(0), (2, 1));
        assert_eq!(q.position(3), (3, 4));
    }

    #[test]
    fn crlf_files_map_to_the_right_lines() {
        let text = "query = '''\r\nx\r\ny'''";
        let q = locate(text, "x\ny");
        assert_eq!(q.position(2), (3, 1));
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("é = 1\nab", 8), (2, 2));
    }
}
