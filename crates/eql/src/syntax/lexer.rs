//! Hand-written EQL lexer. Keywords are lower-case and case-sensitive, as in
//! Elasticsearch's grammar; identifiers may start with a letter, `_` or `@`.

use super::{Error, Span};

#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    Ident(String),
    /// `` `quoted identifier` `` with doubled backticks unescaped.
    QuotedIdent(String),
    /// A function name written with a trailing `~` (`startsWith~`).
    TildeIdent(String),
    Str(String),
    Int(i64),
    /// An integer literal too large for i64, kept as text for the error.
    BigInt(String),
    Float(f64),
    // punctuation
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Pipe,
    Question,
    Bang,
    Assign,
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    Colon,
    NotColon,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Eof,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

pub fn tokenize(src: &str) -> Result<Vec<Token>, Error> {
    let mut lx = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        out: Vec::new(),
    };
    lx.run()?;
    Ok(lx.out)
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    out: Vec<Token>,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'@'
}

fn is_ident_continue(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'@'
}

impl<'a> Lexer<'a> {
    fn peek(&self, off: usize) -> u8 {
        self.bytes.get(self.pos + off).copied().unwrap_or(0)
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.out.push(Token {
            kind,
            span: Span::new(start, self.pos),
        });
    }

    fn run(&mut self) -> Result<(), Error> {
        loop {
            self.skip_trivia()?;
            let start = self.pos;
            if self.pos >= self.bytes.len() {
                self.push(TokenKind::Eof, start);
                return Ok(());
            }
            let c = self.peek(0);
            let two = |k: TokenKind, lx: &mut Lexer| {
                lx.pos += 2;
                lx.push(k, start);
            };
            let one = |k: TokenKind, lx: &mut Lexer| {
                lx.pos += 1;
                lx.push(k, start);
            };
            match c {
                b'(' => one(TokenKind::LParen, self),
                b')' => one(TokenKind::RParen, self),
                b'[' => one(TokenKind::LBracket, self),
                b']' => one(TokenKind::RBracket, self),
                b',' => one(TokenKind::Comma, self),
                b'|' => one(TokenKind::Pipe, self),
                b'?' if self.peek(1) == b'"' || self.peek(1) == b'\'' => return Err(Error::new(
                    "Raw strings written ?\"...\" are not supported; use \"\"\"...\"\"\" instead",
                    Span::new(start, start + 2),
                )),
                b'?' => one(TokenKind::Question, self),
                b'+' => one(TokenKind::Plus, self),
                b'-' => one(TokenKind::Minus, self),
                b'*' => one(TokenKind::Star, self),
                b'/' => one(TokenKind::Slash, self),
                b'%' => one(TokenKind::Percent, self),
                b':' => one(TokenKind::Colon, self),
                b'=' if self.peek(1) == b'=' => two(TokenKind::Eq, self),
                b'=' => one(TokenKind::Assign, self),
                b'!' if self.peek(1) == b'=' => two(TokenKind::Neq, self),
                b'!' if self.peek(1) == b':' => two(TokenKind::NotColon, self),
                b'!' => one(TokenKind::Bang, self),
                b'<' if self.peek(1) == b'=' => two(TokenKind::Le, self),
                b'<' => one(TokenKind::Lt, self),
                b'>' if self.peek(1) == b'=' => two(TokenKind::Ge, self),
                b'>' => one(TokenKind::Gt, self),
                b'.' if self.peek(1).is_ascii_digit() => self.number()?,
                b'.' => one(TokenKind::Dot, self),
                b'"' => self.string()?,
                b'\'' => {
                    return Err(Error::new(
                        "Use double quotes [\"] to define string literals, not single quotes [']",
                        Span::new(start, start + 1),
                    ))
                }
                b'`' => self.quoted_ident()?,
                c if c.is_ascii_digit() => self.number()?,
                c if is_ident_start(c) => {
                    while is_ident_continue(self.peek(0)) {
                        self.pos += 1;
                    }
                    let text = self.src[start..self.pos].to_string();
                    if self.peek(0) == b'~' {
                        self.pos += 1;
                        self.push(TokenKind::TildeIdent(text), start);
                    } else {
                        self.push(TokenKind::Ident(text), start);
                    }
                }
                _ => {
                    let ch = self.src[start..].chars().next().unwrap_or('\0');
                    return Err(Error::new(
                        format!("token recognition error at: '{ch}'"),
                        Span::new(start, start + ch.len_utf8()),
                    ));
                }
            }
        }
    }

    fn skip_trivia(&mut self) -> Result<(), Error> {
        loop {
            let c = self.peek(0);
            if c == b' ' || c == b'\t' || c == b'\r' || c == b'\n' {
                self.pos += 1;
            } else if c == b'/' && self.peek(1) == b'/' {
                while self.pos < self.bytes.len() && self.peek(0) != b'\n' {
                    self.pos += 1;
                }
            } else if c == b'/' && self.peek(1) == b'*' {
                let start = self.pos;
                self.pos += 2;
                loop {
                    if self.pos >= self.bytes.len() {
                        return Err(Error::new(
                            "unterminated comment",
                            Span::new(start, start + 2),
                        ));
                    }
                    if self.peek(0) == b'*' && self.peek(1) == b'/' {
                        self.pos += 2;
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                return Ok(());
            }
        }
    }

    fn number(&mut self) -> Result<(), Error> {
        let start = self.pos;
        let mut is_float = false;
        while self.peek(0).is_ascii_digit() {
            self.pos += 1;
        }
        if self.peek(0) == b'.' && self.peek(1).is_ascii_digit()
            || self.peek(0) == b'.' && !is_ident_start(self.peek(1)) && start != self.pos
        {
            is_float = true;
            self.pos += 1;
            while self.peek(0).is_ascii_digit() {
                self.pos += 1;
            }
        }
        if matches!(self.peek(0), b'e' | b'E')
            && (self.peek(1).is_ascii_digit()
                || matches!(self.peek(1), b'+' | b'-') && self.peek(2).is_ascii_digit())
        {
            is_float = true;
            self.pos += 2;
            while self.peek(0).is_ascii_digit() {
                self.pos += 1;
            }
        }
        let text = &self.src[start..self.pos];
        if is_float {
            let v: f64 = text.parse().map_err(|_| {
                Error::new(
                    format!("invalid number [{text}]"),
                    Span::new(start, self.pos),
                )
            })?;
            self.push(TokenKind::Float(v), start);
        } else {
            match text.parse::<i64>() {
                Ok(v) => self.push(TokenKind::Int(v), start),
                Err(_) => self.push(TokenKind::BigInt(text.to_string()), start),
            }
        }
        Ok(())
    }

    fn quoted_ident(&mut self) -> Result<(), Error> {
        let start = self.pos;
        self.pos += 1;
        let mut text = String::new();
        loop {
            if self.pos >= self.bytes.len() {
                return Err(Error::new(
                    "unterminated quoted identifier",
                    Span::new(start, start + 1),
                ));
            }
            if self.peek(0) == b'`' {
                if self.peek(1) == b'`' {
                    text.push('`');
                    self.pos += 2;
                    continue;
                }
                self.pos += 1;
                break;
            }
            let ch = self.src[self.pos..].chars().next().unwrap_or('\0');
            text.push(ch);
            self.pos += ch.len_utf8();
        }
        self.push(TokenKind::QuotedIdent(text), start);
        Ok(())
    }

    fn string(&mut self) -> Result<(), Error> {
        let start = self.pos;
        if self.src[self.pos..].starts_with("\"\"\"") {
            self.pos += 3;
            let Some(end) = self.src[self.pos..].find("\"\"\"") else {
                return Err(Error::new(
                    "unterminated raw string",
                    Span::new(start, start + 3),
                ));
            };
            let text = self.src[self.pos..self.pos + end].to_string();
            self.pos += end + 3;
            self.push(TokenKind::Str(text), start);
            return Ok(());
        }
        self.pos += 1;
        let mut text = String::new();
        loop {
            if self.pos >= self.bytes.len() || self.peek(0) == b'\n' {
                return Err(Error::new(
                    "unterminated string",
                    Span::new(start, self.pos),
                ));
            }
            match self.peek(0) {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    let esc_start = self.pos;
                    self.pos += 1;
                    let e = self.peek(0);
                    self.pos += 1;
                    match e {
                        b'"' => text.push('"'),
                        b'\'' => text.push('\''),
                        b'\\' => text.push('\\'),
                        b'n' => text.push('\n'),
                        b'r' => text.push('\r'),
                        b't' => text.push('\t'),
                        b'b' => text.push('\u{8}'),
                        b'f' => text.push('\u{c}'),
                        b'u' if self.peek(0) == b'{' => {
                            let open = self.pos;
                            let Some(close) = self.src[open..].find('}') else {
                                return Err(Error::new(
                                    "unterminated unicode escape",
                                    Span::new(esc_start, self.pos),
                                ));
                            };
                            let hex = &self.src[open + 1..open + close];
                            self.pos = open + close + 1;
                            let ch = (2..=8)
                                .contains(&hex.len())
                                .then(|| u32::from_str_radix(hex, 16).ok())
                                .flatten()
                                .and_then(char::from_u32);
                            match ch {
                                Some(ch) => text.push(ch),
                                None => {
                                    return Err(Error::new(
                                        format!("Invalid unicode character code [{hex}]"),
                                        Span::new(esc_start, self.pos),
                                    ))
                                }
                            }
                        }
                        _ => {
                            return Err(Error::new(
                                "Invalid escape sequence; use \\\\ for a backslash",
                                Span::new(esc_start, self.pos.min(self.bytes.len())),
                            ))
                        }
                    }
                }
                _ => {
                    let ch = self.src[self.pos..].chars().next().unwrap_or('\0');
                    text.push(ch);
                    self.pos += ch.len_utf8();
                }
            }
        }
        self.push(TokenKind::Str(text), start);
        Ok(())
    }
}
