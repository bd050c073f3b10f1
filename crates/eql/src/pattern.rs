//! String matchers for `:`, `like`, `like~`, `regex`, `regex~` and the
//! string functions. Wildcard patterns (`*`, `?`) with a simple shape
//! (exact, prefix, suffix, contains) are compared directly; anything else is
//! compiled into a `regex` automaton, which matches in linear time.

use regex::Regex;

#[derive(Clone, Debug)]
pub enum Matcher {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    Any,
    /// A Lucene regular expression (`regex`, `regex~`), compiled by analysis,
    /// which must report a bad one.
    Regex(Regex),
    /// Wildcard patterns of other shapes, as one automaton built on first use.
    Wildcards(Automaton),
}

/// Wildcard patterns of shapes other than exact, prefix, suffix and
/// contains. ASCII values are matched piece by piece ([`Glob`]); other
/// values by the patterns compiled to one automaton the first time such a
/// value comes. In a run of a thousand rules most patterns are never
/// evaluated (their rules' literal conditions never hold), and building
/// automata was most of the time it took to load such a rule set.
#[derive(Clone, Debug)]
pub struct Automaton {
    /// (regex source with its flags and anchors, the wildcard pattern it came from)
    sources: Vec<(String, String)>,
    /// Every pattern as pieces, when each could be made one (see
    /// [`Glob::new`]).
    globs: Option<Vec<Glob>>,
    built: std::sync::OnceLock<Built>,
}

#[derive(Clone, Debug)]
enum Built {
    One(Regex),
    /// The merged automaton would not compile (size limit): each pattern on
    /// its own, as an automaton or, failing that, as its exact text.
    Each(Vec<Matcher>),
}

impl Automaton {
    fn is_match(&self, s: &str, insensitive: bool) -> bool {
        match &self.globs {
            Some(globs) if s.is_ascii() => {
                if globs.iter().any(|g| g.insensitive) {
                    with_folded(s, |f| self.is_match_ascii(s, f, insensitive))
                } else {
                    self.is_match_ascii(s, s, insensitive)
                }
            }
            _ => self.regex_match(s, insensitive),
        }
    }

    /// [`Automaton::is_match`] for an ASCII value `s`, given it lower-cased
    /// as well (`folded`).
    fn is_match_ascii(&self, s: &str, folded: &str, insensitive: bool) -> bool {
        match &self.globs {
            Some(globs) => globs
                .iter()
                .any(|g| g.is_match(if g.insensitive { folded } else { s }.as_bytes())),
            None => self.regex_match(s, insensitive),
        }
    }

    /// The patterns' automaton, built on first use.
    fn regex_match(&self, s: &str, insensitive: bool) -> bool {
        match self.built.get_or_init(|| self.build()) {
            Built::One(r) => r.is_match(s),
            Built::Each(list) => list.iter().any(|m| m.is_match(s, insensitive)),
        }
    }

    fn build(&self) -> Built {
        let mut alternation = String::new();
        for (re, _) in &self.sources {
            if !alternation.is_empty() {
                alternation.push('|');
            }
            alternation.push_str("(?:");
            alternation.push_str(re);
            alternation.push(')');
        }
        match Regex::new(&alternation) {
            Ok(r) => Built::One(r),
            Err(_) => Built::Each(
                self.sources
                    .iter()
                    .map(|(re, pattern)| match Regex::new(re) {
                        Ok(r) => Matcher::Regex(r),
                        Err(_) => Matcher::Exact(pattern.clone()),
                    })
                    .collect(),
            ),
        }
    }
}

impl Matcher {
    /// A wildcard pattern: `*` any run of characters, `?` one character;
    /// every other character is literal (EQL has no escape inside patterns:
    /// the string literal's own escapes were already applied). With `insensitive`, the pattern is
    /// stored lower-cased and `matches` must be given lower-cased input
    /// only for the simple shapes (see [`Matcher::is_match`]).
    pub fn wildcard(pattern: &str, insensitive: bool) -> Matcher {
        let parts = parts(pattern);
        let fold = |s: &str| {
            if insensitive {
                s.to_lowercase()
            } else {
                s.to_string()
            }
        };
        let simple = !insensitive
            || parts
                .iter()
                .all(|p| matches!(p, Part::Lit(l) if l.is_ascii()) || !matches!(p, Part::Lit(_)));
        if simple {
            match parts.as_slice() {
                [] => return Matcher::Exact(String::new()),
                [Part::Star] => return Matcher::Any,
                [Part::Lit(l)] => return Matcher::Exact(fold(l)),
                [Part::Lit(l), Part::Star] => return Matcher::Prefix(fold(l)),
                [Part::Star, Part::Lit(l)] => return Matcher::Suffix(fold(l)),
                [Part::Star, Part::Lit(l), Part::Star] => return Matcher::Contains(fold(l)),
                _ => {}
            }
        }
        let mut re = String::from(if insensitive { "(?is)^" } else { "(?s)^" });
        for p in &parts {
            match p {
                Part::Star => re.push_str(".*"),
                Part::One => re.push('.'),
                Part::Lit(l) => re.push_str(&regex::escape(l)),
            }
        }
        re.push('$');
        Matcher::Wildcards(Automaton {
            sources: vec![(re, pattern.to_string())],
            globs: Glob::new(&parts, insensitive).map(|g| vec![g]),
            built: std::sync::OnceLock::new(),
        })
    }

    /// Does `s` match? `insensitive` must be what the matcher was built with.
    pub fn is_match(&self, s: &str, insensitive: bool) -> bool {
        match self {
            Matcher::Any => true,
            Matcher::Regex(r) => r.is_match(s),
            Matcher::Wildcards(a) => a.is_match(s, insensitive),
            Matcher::Exact(p) => {
                if insensitive {
                    eq_fold(s, p)
                } else {
                    s == p
                }
            }
            Matcher::Prefix(p) => {
                if insensitive {
                    s.len() >= p.len() && s.is_char_boundary(p.len()) && eq_fold(&s[..p.len()], p)
                        || !s.is_ascii() && s.to_lowercase().starts_with(p.as_str())
                } else {
                    s.starts_with(p.as_str())
                }
            }
            Matcher::Suffix(p) => {
                if insensitive {
                    let k = s.len().wrapping_sub(p.len());
                    s.len() >= p.len() && s.is_char_boundary(k) && eq_fold(&s[k..], p)
                        || !s.is_ascii() && s.to_lowercase().ends_with(p.as_str())
                } else {
                    s.ends_with(p.as_str())
                }
            }
            Matcher::Contains(p) => {
                if insensitive {
                    contains_fold(s, p)
                } else {
                    s.contains(p.as_str())
                }
            }
        }
    }
}

/// The matchers of one `:`/`like`/`like~` list with every wildcard
/// automaton merged into one: the list holds when any matcher does, and one
/// pass of one automaton answers for all of its patterns, where separate
/// automata would each scan the value again (rules list dozens of path
/// patterns). Each pattern keeps its own flags and anchors inside its group.
pub fn merge_automata(matchers: Vec<Matcher>) -> Vec<Matcher> {
    let automata = matchers
        .iter()
        .filter(|m| matches!(m, Matcher::Wildcards(_)))
        .count();
    if automata < 2 {
        return matchers;
    }
    let mut sources = Vec::new();
    let mut globs = Some(Vec::new());
    let mut out = Vec::with_capacity(matchers.len() - automata + 1);
    for m in matchers {
        match m {
            Matcher::Wildcards(a) => {
                sources.extend(a.sources);
                globs = globs.zip(a.globs).map(|(mut all, more)| {
                    all.extend(more);
                    all
                });
            }
            other => out.push(other),
        }
    }
    out.push(Matcher::Wildcards(Automaton {
        sources,
        globs,
        built: std::sync::OnceLock::new(),
    }));
    out
}

/// Exact patterns from which a list looks values up in a hash set rather
/// than comparing them one by one.
const EXACT_SET_MIN: usize = 4;

/// The matchers of one `:`/`like`/`like~`/`regex`/`regex~` list, arranged
/// so that a value is tested against all of them at once. Rules list dozens
/// of names and paths in one condition; testing each matcher in turn folded
/// and measured the value again for every pattern. Here the value is folded
/// once, exact patterns are one set look-up, prefixes, suffixes and
/// substrings are plain comparisons with the folded value, and the wildcard
/// automata are merged into one ([`merge_automata`]). Holds exactly when
/// one of its matchers does ([`Matcher::is_match`]).
#[derive(Clone, Debug)]
pub struct MatchList {
    matchers: Vec<Matcher>,
    insensitive: bool,
    any: bool,
    /// Some pattern has a simple shape (the fields below are not all empty).
    simple: bool,
    /// Exact patterns (lower-cased when insensitive), few of them...
    exact: Vec<String>,
    /// ...or many.
    exact_set: Option<ahash::AHashSet<String>>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    contains: Vec<String>,
    /// Regular expressions and the merged wildcard automaton, which are
    /// given the value as it is.
    automata: Vec<Matcher>,
}

impl MatchList {
    /// `matchers` built with `insensitive` ([`Matcher::wildcard`],
    /// [`lucene_regex`]).
    pub fn new(matchers: Vec<Matcher>, insensitive: bool) -> MatchList {
        let matchers = merge_automata(matchers);
        let mut list = MatchList {
            matchers: Vec::new(),
            insensitive,
            any: false,
            simple: false,
            exact: Vec::new(),
            exact_set: None,
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            contains: Vec::new(),
            automata: Vec::new(),
        };
        for m in &matchers {
            match m {
                Matcher::Any => list.any = true,
                Matcher::Exact(p) => list.exact.push(p.clone()),
                Matcher::Prefix(p) => list.prefixes.push(p.clone()),
                Matcher::Suffix(p) => list.suffixes.push(p.clone()),
                Matcher::Contains(p) => list.contains.push(p.clone()),
                Matcher::Regex(_) | Matcher::Wildcards(_) => list.automata.push(m.clone()),
            }
        }
        list.simple = !(list.exact.is_empty()
            && list.prefixes.is_empty()
            && list.suffixes.is_empty()
            && list.contains.is_empty());
        if list.exact.len() >= EXACT_SET_MIN {
            list.exact_set = Some(std::mem::take(&mut list.exact).into_iter().collect());
        }
        list.matchers = matchers;
        list
    }

    /// The matchers, wildcard automata merged.
    pub fn matchers(&self) -> &[Matcher] {
        &self.matchers
    }

    /// Does one of the matchers accept `s`?
    pub fn is_match(&self, s: &str) -> bool {
        if self.any {
            return true;
        }
        if self.insensitive && s.is_ascii() {
            // folded once for the simple shapes and the pieces of the others
            return with_folded(s, |f| {
                (self.simple && self.simple_match(f))
                    || self.automata.iter().any(|m| match m {
                        Matcher::Wildcards(a) => a.is_match_ascii(s, f, self.insensitive),
                        other => other.is_match(s, true),
                    })
            });
        }
        if self.simple {
            let hit = if self.insensitive {
                with_folded(s, |f| self.simple_match(f))
            } else {
                self.simple_match(s)
            };
            if hit {
                return true;
            }
        }
        self.automata
            .iter()
            .any(|m| m.is_match(s, self.insensitive))
    }

    /// The simple shapes against `f`, the value lower-cased when the list is
    /// insensitive. Their patterns are ASCII then (see
    /// [`Matcher::wildcard`]), and comparing with the lower-cased value is
    /// what [`eq_fold`] and [`contains_fold`] do.
    fn simple_match(&self, f: &str) -> bool {
        self.exact_set.as_ref().is_some_and(|set| set.contains(f))
            || self.exact.iter().any(|p| p == f)
            || self.prefixes.iter().any(|p| f.starts_with(p.as_str()))
            || self.suffixes.iter().any(|p| f.ends_with(p.as_str()))
            || self.contains.iter().any(|p| f.contains(p.as_str()))
    }
}

/// Calls `f` with `s` lower-cased as [`eq_fold`] compares it: ASCII
/// letters lower-cased, and any other text as `str::to_lowercase` does.
/// ASCII text is folded into a buffer kept per thread.
pub(crate) fn with_folded<R>(s: &str, f: impl FnOnce(&str) -> R) -> R {
    thread_local! {
        static FOLDED: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    if !s.is_ascii() {
        return f(&s.to_lowercase());
    }
    FOLDED.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            buf.push_str(s);
            buf.make_ascii_lowercase();
            f(&buf)
        }
        Err(_) => f(&s.to_ascii_lowercase()),
    })
}

/// A wildcard pattern matched against ASCII values without an automaton:
/// the runs of literal characters and `?` between its stars ("pieces"). The
/// first piece must start the value unless the pattern starts with `*`, the
/// last must end it unless the pattern ends with `*`, and the ones between
/// are found in order, each at its leftmost place after the one before
/// (taking the leftmost place never loses a match: the stars between pieces
/// take up whatever lies between). In an ASCII value `?` is one byte. Most
/// values fail on the first or last piece after a few bytes, where the
/// automaton of a pattern starting with `*` reads the whole value.
#[derive(Clone, Debug)]
struct Glob {
    pieces: Vec<Piece>,
    /// Is the first piece free to start anywhere (the pattern starts with `*`)?
    open_start: bool,
    /// Is the last piece free to end anywhere (the pattern ends with `*`)?
    open_end: bool,
    /// Bytes of all pieces: no shorter value matches.
    min_len: usize,
    /// Are the pieces lower-cased, to be compared with the value lower-cased?
    insensitive: bool,
}

/// Literal bytes (lower-cased for an insensitive pattern) with holes for `?`.
#[derive(Clone, Debug, Default)]
struct Piece {
    bytes: Vec<u8>,
    /// `holes[i]`: `bytes[i]` stands for `?` (empty when there are none).
    holes: Vec<bool>,
}

impl Glob {
    /// The pieces of a pattern's parts, or `None` when the pattern is
    /// insensitive and has non-ASCII literals (folding those is the
    /// automaton's job).
    fn new(parts: &[Part], insensitive: bool) -> Option<Glob> {
        let mut pieces: Vec<Piece> = Vec::new();
        let mut current: Option<Piece> = None;
        for part in parts {
            match part {
                Part::Star => pieces.extend(current.take()),
                Part::One => {
                    let p = current.get_or_insert_with(Piece::default);
                    p.holes.resize(p.bytes.len(), false);
                    p.bytes.push(b'?');
                    p.holes.push(true);
                }
                Part::Lit(l) => {
                    if insensitive && !l.is_ascii() {
                        return None;
                    }
                    let p = current.get_or_insert_with(Piece::default);
                    if insensitive {
                        p.bytes.extend(l.bytes().map(|b| b.to_ascii_lowercase()));
                    } else {
                        p.bytes.extend_from_slice(l.as_bytes());
                    }
                    if !p.holes.is_empty() {
                        p.holes.resize(p.bytes.len(), false);
                    }
                }
            }
        }
        pieces.extend(current);
        if pieces.is_empty() {
            return None;
        }
        Some(Glob {
            min_len: pieces.iter().map(|p| p.bytes.len()).sum(),
            pieces,
            open_start: parts.first() == Some(&Part::Star),
            open_end: parts.last() == Some(&Part::Star),
            insensitive,
        })
    }

    /// Does the ASCII value `v` (lower-cased when the pattern is
    /// [`Glob::insensitive`]) match?
    fn is_match(&self, v: &[u8]) -> bool {
        if v.len() < self.min_len {
            return false;
        }
        let mut pieces = &self.pieces[..];
        let (mut lo, mut hi) = (0, v.len());
        if !self.open_start {
            let Some((first, rest)) = pieces.split_first() else {
                return true;
            };
            if rest.is_empty() && !self.open_end {
                return v.len() == first.bytes.len() && first.at(v);
            }
            if !first.at(v) {
                return false;
            }
            lo = first.bytes.len();
            pieces = rest;
        }
        if !self.open_end {
            let Some((last, rest)) = pieces.split_last() else {
                return true;
            };
            hi = v.len() - last.bytes.len();
            if !last.at(&v[hi..]) {
                return false;
            }
            pieces = rest;
        }
        // min_len keeps lo <= hi: the first and last pieces do not overlap
        for piece in pieces {
            match piece.find(&v[lo..hi]) {
                Some(at) => lo += at + piece.bytes.len(),
                None => return false,
            }
        }
        true
    }
}

impl Piece {
    /// Does `h` start with this piece?
    fn at(&self, h: &[u8]) -> bool {
        let Some(h) = h.get(..self.bytes.len()) else {
            return false;
        };
        if self.holes.is_empty() {
            return h == self.bytes.as_slice();
        }
        h.iter()
            .zip(&self.bytes)
            .zip(&self.holes)
            .all(|((a, b), hole)| *hole || a == b)
    }

    /// Where this piece first occurs in `h`.
    fn find(&self, h: &[u8]) -> Option<usize> {
        if self.holes.is_empty() {
            return memchr::memmem::find(h, &self.bytes);
        }
        let last = h.len().checked_sub(self.bytes.len())?;
        (0..=last).find(|&i| self.at(&h[i..]))
    }
}

/// A wildcard pattern's literal runs, stars and single-character holes.
fn parts(pattern: &str) -> Vec<Part> {
    let mut literal = String::new();
    let mut parts: Vec<Part> = Vec::new();
    for c in pattern.chars() {
        match c {
            '*' => {
                flush(&mut literal, &mut parts);
                if parts.last() != Some(&Part::Star) {
                    parts.push(Part::Star);
                }
            }
            '?' => {
                flush(&mut literal, &mut parts);
                parts.push(Part::One);
            }
            c => literal.push(c),
        }
    }
    flush(&mut literal, &mut parts);
    parts
}

impl Matcher {
    /// Text every value this matcher accepts must contain, once folded with
    /// [`fold_for_fragments`]: for each pattern the matcher stands for, its
    /// longest run of ASCII literal characters, lower-cased. `None` for a
    /// regular expression or a pattern without literal characters (`*`).
    ///
    /// This is what lets a rule engine index wildcard conditions: a value
    /// in which none of a list's fragments occurs matches none of its
    /// patterns, whatever their case sensitivity. Only ASCII is kept because
    /// ASCII-insensitive containment is the one comparison that both
    /// lower-casing (the simple shapes) and Unicode simple case folding (the
    /// automata) agree on once [`fold_for_fragments`] has folded the value.
    pub fn fragments(&self) -> Option<Vec<String>> {
        let longest = |lits: &mut dyn Iterator<Item = &str>| -> Option<String> {
            lits.flat_map(|l| l.split(|c: char| !c.is_ascii()))
                .max_by_key(|run| run.len())
                .filter(|run| !run.is_empty())
                .map(str::to_ascii_lowercase)
        };
        match self {
            Matcher::Exact(p) | Matcher::Prefix(p) | Matcher::Suffix(p) | Matcher::Contains(p) => {
                Some(vec![longest(&mut std::iter::once(p.as_str()))?])
            }
            Matcher::Any | Matcher::Regex(_) => None,
            Matcher::Wildcards(a) => a
                .sources
                .iter()
                .map(|(_, pattern)| {
                    let parts = parts(pattern);
                    longest(&mut parts.iter().filter_map(|p| match p {
                        Part::Lit(l) => Some(l.as_str()),
                        _ => None,
                    }))
                })
                .collect(),
        }
    }
}

/// Folds `s` into `out` for a search of [`Matcher::fragments`]: ASCII
/// lower-cased; other characters lower-cased as `str::to_lowercase` does,
/// and the two that Unicode case folding equates with an ASCII letter
/// (`ſ` with `s`; the Kelvin sign already lower-cases to `k`), as well as
/// dotless `ı`, written as that letter. Folding more characters onto ASCII
/// only ever adds matches, so the search stays a necessary condition.
pub fn fold_for_fragments(s: &str, out: &mut String) {
    out.clear();
    if s.is_ascii() {
        out.push_str(s);
        out.make_ascii_lowercase();
        return;
    }
    for c in s.chars() {
        match c {
            'ſ' => out.push('s'),
            'ı' => out.push('i'),
            c => out.extend(c.to_lowercase()),
        }
    }
}

#[derive(Debug, PartialEq)]
enum Part {
    Lit(String),
    Star,
    One,
}

fn flush(lit: &mut String, parts: &mut Vec<Part>) {
    if !lit.is_empty() {
        parts.push(Part::Lit(std::mem::take(lit)));
    }
}

/// `s` equals the lower-case ASCII `lower`, ignoring case.
pub fn eq_fold(s: &str, lower: &str) -> bool {
    if s.is_ascii() {
        s.len() == lower.len()
            && s.bytes()
                .zip(lower.bytes())
                .all(|(a, b)| a.to_ascii_lowercase() == b)
    } else {
        s.to_lowercase() == lower
    }
}

/// Case-insensitive substring test against a lower-cased needle.
pub fn contains_fold(s: &str, lower_needle: &str) -> bool {
    if lower_needle.is_empty() {
        return true;
    }
    if s.is_ascii() && lower_needle.is_ascii() {
        let n = lower_needle.as_bytes();
        let h = s.as_bytes();
        if n.len() > h.len() {
            return false;
        }
        let first = n[0];
        for i in 0..=h.len() - n.len() {
            if h[i].to_ascii_lowercase() == first
                && h[i..i + n.len()]
                    .iter()
                    .zip(n)
                    .all(|(a, b)| a.to_ascii_lowercase() == *b)
            {
                return true;
            }
        }
        false
    } else {
        s.to_lowercase().contains(lower_needle)
    }
}

/// Translates a Lucene regular expression (the syntax of Elasticsearch's
/// `regexp` query, which EQL's `regex` uses) into an anchored `regex` crate
/// pattern. Lucene matches the whole string, `.` matches any character, `"…"`
/// quotes literally, `@` is any string, `<n-m>` a numeric range, and a
/// backslash makes the next character literal.
pub fn lucene_regex(pattern: &str, insensitive: bool) -> Result<Regex, String> {
    let mut out = String::from(if insensitive { "(?is)^(?:" } else { "(?s)^(?:" });
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        if in_class {
            match c {
                ']' => {
                    in_class = false;
                    out.push(']');
                }
                '\\' if i + 1 < chars.len() => {
                    i += 1;
                    push_escaped(&mut out, chars[i], true);
                }
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
            i += 1;
            continue;
        }
        match c {
            '\\' => {
                i += 1;
                match chars.get(i) {
                    Some(&n) => push_escaped(&mut out, n, false),
                    None => return Err("the pattern ends with a lone backslash".into()),
                }
            }
            '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '"')
                    .ok_or("unterminated quoted string in regex")?;
                let lit: String = chars[i + 1..i + 1 + end].iter().collect();
                out.push_str(&regex::escape(&lit));
                i += end + 1;
            }
            '[' => {
                in_class = true;
                out.push('[');
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
            }
            '@' => out.push_str(".*"),
            '#' => out.push_str("[^\\s\\S]"),
            '&' | '~' => return Err(format!("the regex operator [{c}] is not supported")),
            '<' => {
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == '>')
                    .ok_or("unterminated numeric range")?;
                let body: String = chars[i + 1..i + end].iter().collect();
                let (lo, hi) = body.split_once('-').ok_or("invalid numeric range")?;
                let lo: u64 = lo.parse().map_err(|_| "invalid numeric range")?;
                let hi: u64 = hi.parse().map_err(|_| "invalid numeric range")?;
                if hi < lo || hi - lo > 10_000 {
                    return Err("numeric range too large".into());
                }
                let alts: Vec<String> = (lo..=hi).map(|n| n.to_string()).collect();
                out.push_str("(?:");
                out.push_str(&alts.join("|"));
                out.push(')');
                i += end;
            }
            '{' | '}' | '(' | ')' | '|' | '*' | '+' | '?' | '.' => out.push(c),
            '^' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    if in_class {
        return Err("unterminated character class".into());
    }
    out.push_str(")$");
    Regex::new(&out).map_err(|e| e.to_string())
}

fn push_escaped(out: &mut String, c: char, in_class: bool) {
    match c {
        'd' | 'D' | 's' | 'S' | 'w' | 'W' => {
            out.push('\\');
            out.push(c);
        }
        c if in_class && c.is_ascii_alphanumeric() => out.push(c),
        c => out.push_str(&regex::escape(&c.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wc(p: &str, s: &str, ci: bool) -> bool {
        Matcher::wildcard(p, ci).is_match(s, ci)
    }

    #[test]
    fn wildcards() {
        assert!(wc("*.exe", "C:\\a.EXE", true));
        assert!(!wc("*.exe", "C:\\a.EXE", false));
        assert!(wc("1?", "17", false));
        assert!(!wc("1?", "1", false));
        assert!(wc(
            "*\\red_ttp\\winin*.*",
            "C:\\Users\\red_ttp\\wininit.exe",
            true
        ));
        assert!(wc("a*b*c", "aXXbYYc", false));
        assert!(!wc("a*b*c", "aXXbYY", false));
        assert!(wc("MSHTA.EXE", "mshta.exe", true));
        assert!(wc("ÄB*", "äbc", true));
    }

    #[test]
    fn merged_automata_answer_as_the_list_does() {
        let patterns = ["*\\temp\\*.exe", "c:\\w?ndows\\*", "*.dll", "x*y*z", "abc"];
        for insensitive in [false, true] {
            let each: Vec<Matcher> = patterns
                .iter()
                .map(|p| Matcher::wildcard(p, insensitive))
                .collect();
            let merged = merge_automata(each.clone());
            assert!(merged.len() < each.len());
            for s in [
                "C:\\Users\\a\\Temp\\x.EXE",
                "c:\\users\\a\\temp\\x.exe",
                "c:\\windows\\system32",
                "C:\\WINDOWS\\x",
                "a.dll",
                "xaybz",
                "xyz!",
                "abc",
                "ABC",
                "",
            ] {
                let folded = if insensitive {
                    s.to_lowercase()
                } else {
                    s.to_string()
                };
                let want = each.iter().any(|m| m.is_match(&folded, insensitive));
                let got = merged.iter().any(|m| m.is_match(&folded, insensitive));
                assert_eq!(got, want, "{s:?} insensitive={insensitive}");
            }
        }
        // flags stay with their pattern: a sensitive one next to an insensitive one
        let mixed = merge_automata(vec![
            Matcher::wildcard("a?c*", false),
            Matcher::wildcard("x?z*", true),
        ]);
        assert_eq!(mixed.len(), 1);
        assert!(mixed[0].is_match("abcd", false));
        assert!(!mixed[0].is_match("ABCD", false));
        assert!(mixed[0].is_match("XYZW", false));
    }

    #[test]
    fn automata_that_do_not_compile_fall_back_to_each_pattern() {
        // a merged automaton over the size limit
        let big: Vec<String> = (0..3000)
            .map(|i| format!("*{i}?{}*x", "y".repeat(200)))
            .collect();
        let merged = merge_automata(big.iter().map(|p| Matcher::wildcard(p, true)).collect());
        assert_eq!(merged.len(), 1);
        let hit = format!("a2999b{}x", "Y".repeat(200));
        let Matcher::Wildcards(a) = &merged[0] else {
            panic!("one automaton")
        };
        // the automaton answers for values outside ASCII
        assert!(a.regex_match(&hit, true));
        assert!(!a.regex_match("a2999b", true));
        assert!(merged[0].is_match(&hit, true));
        assert!(matches!(a.built.get(), Some(Built::Each(list)) if list.len() == 3000));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// Pieces answer as the automaton does for every ASCII value, alone
        /// and merged into a list with other patterns (the list folds the
        /// value once for both).
        #[test]
        fn pieces_answer_as_the_automaton(
            patterns in proptest::collection::vec("[aAbB?*.\\\\]{1,7}", 1..4),
            values in proptest::collection::vec("[aAbB.\\\\]{0,9}", 1..6),
            insensitive in proptest::prelude::any::<bool>(),
        ) {
            let each: Vec<Matcher> = patterns.iter().map(|p| Matcher::wildcard(p, insensitive)).collect();
            let list = MatchList::new(each.clone(), insensitive);
            for v in &values {
                let mut want = false;
                for m in &each {
                    let one = match m {
                        Matcher::Wildcards(a) => {
                            proptest::prop_assert!(a.globs.is_some());
                            let reference = a.regex_match(v, insensitive);
                            proptest::prop_assert_eq!(a.is_match(v, insensitive), reference, "{:?} against {:?}", v, a.sources);
                            reference
                        }
                        simple => simple.is_match(&if insensitive { v.to_lowercase() } else { v.clone() }, insensitive),
                    };
                    want |= one;
                }
                proptest::prop_assert_eq!(list.is_match(v), want, "{:?} against {:?}", v, patterns);
            }
        }
    }

    #[test]
    fn pieces() {
        for (p, v, ci, want) in [
            (
                "?:\\windows\\*.exe",
                "C:\\Windows\\System32\\a.EXE",
                true,
                true,
            ),
            (
                "?:\\windows\\*.exe",
                "C:\\Windows\\System32\\a.EXE",
                false,
                false,
            ),
            (
                "*\\users\\*\\appdata\\*",
                "c:\\users\\bob\\appdata\\x",
                false,
                true,
            ),
            (
                "*\\users\\*\\appdata\\*",
                "c:\\users\\appdata\\x",
                false,
                false,
            ),
            ("a*a", "a", false, false),
            ("a*a", "aa", false, true),
            ("a?c", "abc", false, true),
            ("a?c", "abbc", false, false),
            ("*a?c*", "xxabcx", false, true),
            ("*a?c*", "xxacx", false, false),
            ("??", "ab", false, true),
            ("??", "abc", false, false),
        ] {
            assert_eq!(
                wc(p, v, ci),
                want,
                "{p:?} against {v:?} (insensitive: {ci})"
            );
        }
        // a value outside ASCII goes to the automaton: `?` is a character, not a byte
        assert!(wc("a?c", "aéc", false));
        assert!(wc("*É?", "xéz", true));
    }

    #[test]
    fn lucene_regexes() {
        let m = |p: &str, s: &str| {
            lucene_regex(p, false)
                .map(|r| r.is_match(s))
                .unwrap_or(false)
        };
        assert!(m("a.c", "abc"));
        assert!(!m("a.c", "xabc"));
        assert!(m("\"a.c\"", "a.c"));
        assert!(!m("\"a.c\"", "abc"));
        assert!(m("foo<1-10>", "foo7"));
        assert!(m("a@", "anything"));
        assert!(m("[a-c]+", "abcab"));
        assert!(m("x\\-y", "x-y"));
    }
}
