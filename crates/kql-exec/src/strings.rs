//! Kusto string predicates (term matching for `has`, substring matching for `contains`)
//! and the text helpers behind URL, path, IPv4 and JSON functions.

use serde_json::{Map, Value as Json};

fn is_term_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

pub fn eq_ci(a: &str, b: &str) -> bool {
    a == b || lower(a) == lower(b)
}

pub fn contains_cs(s: &str, n: &str) -> bool {
    s.contains(n)
}

pub fn contains(s: &str, n: &str) -> bool {
    lower(s).contains(&lower(n))
}

pub fn startswith_cs(s: &str, n: &str) -> bool {
    s.starts_with(n)
}

pub fn startswith(s: &str, n: &str) -> bool {
    lower(s).starts_with(&lower(n))
}

pub fn endswith_cs(s: &str, n: &str) -> bool {
    s.ends_with(n)
}

pub fn endswith(s: &str, n: &str) -> bool {
    lower(s).ends_with(&lower(n))
}

#[derive(Clone, Copy, PartialEq)]
enum Anchor {
    Whole,
    Prefix,
    Suffix,
}

/// Term matching. A needle that is one alphanumeric run must equal (or, for prefix and
/// suffix, begin or end) a maximal alphanumeric run of `s`. A needle with other characters
/// must occur in `s` with its alphanumeric ends on term boundaries.
fn term_match(s: &str, needle: &str, anchor: Anchor) -> bool {
    if needle.is_empty() {
        return true;
    }
    let sb = s.as_bytes();
    let first_alnum = needle.chars().next().is_some_and(is_term_char);
    let last_alnum = needle.chars().last().is_some_and(is_term_char);
    let mut from = 0;
    while let Some(pos) = s.get(from..).and_then(|r| r.find(needle)) {
        let start = from + pos;
        let end = start + needle.len();
        let before_ok = start == 0
            || !sb
                .get(start - 1)
                .is_some_and(|b| (*b as char).is_ascii_alphanumeric());
        let after_ok = end >= sb.len()
            || !sb
                .get(end)
                .is_some_and(|b| (*b as char).is_ascii_alphanumeric());
        let ok = match anchor {
            Anchor::Whole => (before_ok || !first_alnum) && (after_ok || !last_alnum),
            Anchor::Prefix => before_ok || !first_alnum,
            Anchor::Suffix => after_ok || !last_alnum,
        };
        if ok {
            return true;
        }
        from = start + needle.chars().next().map_or(1, |c| c.len_utf8());
    }
    false
}

pub fn has_cs(s: &str, n: &str) -> bool {
    term_match(s, n, Anchor::Whole)
}

pub fn has(s: &str, n: &str) -> bool {
    term_match(&lower(s), &lower(n), Anchor::Whole)
}

pub fn hasprefix_cs(s: &str, n: &str) -> bool {
    term_match(s, n, Anchor::Prefix)
}

pub fn hasprefix(s: &str, n: &str) -> bool {
    term_match(&lower(s), &lower(n), Anchor::Prefix)
}

pub fn hassuffix_cs(s: &str, n: &str) -> bool {
    term_match(s, n, Anchor::Suffix)
}

pub fn hassuffix(s: &str, n: &str) -> bool {
    term_match(&lower(s), &lower(n), Anchor::Suffix)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.trim().bytes() {
        if c == b'=' {
            break;
        }
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits & 255) as u8);
        }
    }
    Some(out)
}

pub fn url_encode(s: &str, component: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else if b == b' ' {
            out.push_str(if component { "%20" } else { "+" });
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or(""), 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_url(u: &str) -> Json {
    let mut m = Map::new();
    let Some((scheme, rest)) = u.split_once("://") else {
        return Json::Object(m);
    };
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (u, h),
        None => ("", authority),
    };
    let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => (h, p),
        _ => (hostport, ""),
    };
    m.insert("Scheme".into(), Json::String(scheme.into()));
    m.insert("Host".into(), Json::String(host.into()));
    m.insert("Port".into(), Json::String(port.into()));
    m.insert("Path".into(), Json::String(path.into()));
    m.insert("Username".into(), Json::String(user.into()));
    m.insert("Password".into(), Json::String(pass.into()));
    let mut q = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        q.insert(k.into(), Json::String(url_decode(v)));
    }
    m.insert("Query Parameters".into(), Json::Object(q));
    m.insert("Fragment".into(), Json::String(fragment.into()));
    Json::Object(m)
}

pub fn parse_path(p: &str) -> Json {
    let mut m = Map::new();
    let (scheme, rest) = match p.split_once("://") {
        Some((s, r)) => (s, r),
        None => ("", p),
    };
    let (dir, file) = match rest.rfind(['\\', '/']) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => ("", rest),
    };
    let (file, ads) = match file.split_once(':') {
        Some((f, a)) => (f, a),
        None => (file, ""),
    };
    let ext = match file.rfind('.') {
        Some(i) => &file[i + 1..],
        None => "",
    };
    // only a drive letter is a root path (`C:`); the parse_path page gives "" for `\\share`
    // and `/usr` paths
    let root = if rest.as_bytes().get(1) == Some(&b':') {
        rest.get(..2).unwrap_or("")
    } else {
        ""
    };
    let dirname = dir.rsplit(['\\', '/']).next().unwrap_or("");
    m.insert("Scheme".into(), Json::String(scheme.into()));
    m.insert("RootPath".into(), Json::String(root.into()));
    m.insert("DirectoryPath".into(), Json::String(dir.into()));
    m.insert("DirectoryName".into(), Json::String(dirname.into()));
    m.insert("Filename".into(), Json::String(file.into()));
    m.insert("Extension".into(), Json::String(ext.into()));
    m.insert("AlternateDataStreamName".into(), Json::String(ads.into()));
    Json::Object(m)
}

/// An IPv4 address with an optional `/prefix` (default 32).
pub fn parse_ipv4(s: &str) -> Option<(u32, u32)> {
    let s = s.trim();
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, p.trim().parse::<u32>().ok().filter(|p| *p <= 32)?),
        None => (s, 32),
    };
    let ip: std::net::Ipv4Addr = addr.trim().parse().ok()?;
    Some((u32::from(ip), prefix))
}

pub fn ipv4_is_private(s: &str) -> Option<bool> {
    let (ip, _) = parse_ipv4(s)?;
    let o = ip.to_be_bytes();
    Some(o[0] == 10 || (o[0] == 172 && (16..32).contains(&o[1])) || (o[0] == 192 && o[1] == 168))
}

/// The IPv4 netmask of a prefix length (`/24` → 255.255.255.0).
pub fn mask(bits: u32) -> u32 {
    if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits.min(32))
    }
}

pub fn ipv4_in_range(ip: &str, range: &str) -> Option<bool> {
    let (a, pa) = parse_ipv4(ip)?;
    let (r, pr) = parse_ipv4(range)?;
    let m = mask(pr.min(pa));
    Some(a & m == r & m)
}

/// -1, 0 or 1 comparing two addresses under the smaller prefix.
pub fn ipv4_compare(a: &str, b: &str, prefix: Option<i64>) -> Option<i64> {
    let (x, px) = parse_ipv4(a)?;
    let (y, py) = parse_ipv4(b)?;
    let bits = prefix
        .map_or(px.min(py), |p| p.clamp(0, 32) as u32)
        .min(px)
        .min(py);
    let m = mask(bits);
    Some(match (x & m).cmp(&(y & m)) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    })
}

/// The valid IPv4 addresses in `text` that stand alone (not inside longer runs of
/// digits, letters and dots).
pub fn ipv4_tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .filter(|t| t.parse::<std::net::Ipv4Addr>().is_ok())
        .map(|t| t.to_string())
        .collect()
}

/// A small JSONPath subset: `$.a.b[0]['c']`.
pub fn json_path(doc: &Json, path: &str) -> Option<Json> {
    let p = path.trim().strip_prefix('$')?;
    let mut cur = doc.clone();
    let mut rest = p;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            cur = cur.get(&r[..end])?.clone();
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let key = r[..end].trim();
            cur = if let Ok(i) = key.parse::<usize>() {
                cur.get(i)?.clone()
            } else {
                cur.get(key.trim_matches(|c| c == '\'' || c == '"'))?
                    .clone()
            };
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_is_term_matching() {
        assert!(!has("cmd /c encode.bat", "enc"));
        assert!(has("x --ENC=1", "enc"));
        assert!(has(
            "KQL: ad67d136-c1db-4f9f;KustoExplorerQueryRun",
            "kustoexplorerqueryrun"
        ));
        assert!(has("North America", "america"));
        assert!(!has("NorthAmerica", "america"));
        assert!(!has_cs("North America", "america"));
        assert!(has_cs("North America", "America"));
        assert!(has("a.b.c", "b.c"));
        assert!(!has("xa.b.c", "xa.b.cd"));
        assert!(hasprefix("North America", "amer"));
        assert!(!hasprefix("North America", "meric"));
        assert!(hassuffix("North America", "rica"));
    }

    #[test]
    fn contains_and_equality() {
        assert!(contains("FabriKam", "BRik"));
        assert!(!contains_cs("FabriKam", "BRik"));
        assert!(contains_cs("FabriKam", "riK"));
        assert!(eq_ci("MSHTA.exe", "mshta.EXE"));
        assert!(!eq_ci("mshta.exe", "mshta"));
        assert!(startswith("Fabrikam", "FAB"));
        assert!(endswith("Fabrikam", "KAM"));
    }

    #[test]
    fn ipv4() {
        assert_eq!(ipv4_is_private("10.1.2.3/24"), Some(true));
        assert_eq!(ipv4_is_private("127.0.0.1"), Some(false));
        assert_eq!(ipv4_is_private("100.64.0.1"), Some(false));
        assert_eq!(ipv4_is_private("172.31.0.1"), Some(true));
        assert_eq!(ipv4_is_private("nonsense"), None);
        assert_eq!(ipv4_in_range("192.168.1.7", "192.168.1.0/24"), Some(true));
    }

    #[test]
    fn base64_roundtrip() {
        assert_eq!(base64_encode(b"Kusto1"), "S3VzdG8x");
        assert_eq!(base64_decode("S3VzdG8x").unwrap_or_default(), b"Kusto1");
    }
}

/// Splits a Windows command line into arguments as `CommandLineToArgvW` does (Kusto's
/// `parse_command_line(s, "windows")`). The program name ends at the first space or tab,
/// or, when it starts with `"`, at the next `"`, with backslashes taken literally. In
/// later arguments 2n backslashes before `"` give n backslashes and the quote opens or
/// closes quoting, 2n+1 give n backslashes and a literal `"`, backslashes elsewhere are
/// literal, and `""` inside quotes is a literal `"`.
pub fn windows_argv(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    if chars.is_empty() {
        return out;
    }
    let mut i = 0;
    let mut arg0 = String::new();
    if chars[0] == '"' {
        i = 1;
        while i < chars.len() && chars[i] != '"' {
            arg0.push(chars[i]);
            i += 1;
        }
        i += 1;
    } else {
        while i < chars.len() && chars[i] != ' ' && chars[i] != '\t' {
            arg0.push(chars[i]);
            i += 1;
        }
    }
    out.push(arg0);
    loop {
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut arg = String::new();
        let mut quoted = false;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                let start = i;
                while i < chars.len() && chars[i] == '\\' {
                    i += 1;
                }
                let n = i - start;
                if i < chars.len() && chars[i] == '"' {
                    arg.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        arg.push('"');
                        i += 1;
                    }
                } else {
                    arg.extend(std::iter::repeat_n('\\', n));
                }
                continue;
            }
            if c == '"' {
                if quoted && chars.get(i + 1) == Some(&'"') {
                    arg.push('"');
                    i += 2;
                    continue;
                }
                quoted = !quoted;
                i += 1;
                continue;
            }
            if !quoted && (c == ' ' || c == '\t') {
                break;
            }
            arg.push(c);
            i += 1;
        }
        out.push(arg);
    }
    out
}

#[cfg(test)]
mod argv_tests {
    use super::windows_argv;

    #[test]
    fn splits_like_command_line_to_argv_w() {
        // the documentation's example: echo "hello world!" → ["echo","hello world!"]
        assert_eq!(
            windows_argv(r#"echo "hello world!""#),
            ["echo", "hello world!"]
        );
        assert_eq!(
            windows_argv(r#""C:\Program Files\x.exe" /a   b"#),
            [r"C:\Program Files\x.exe", "/a", "b"]
        );
        // backslashes before a quote halve; an odd one escapes the quote
        assert_eq!(
            windows_argv(r#"x a\\"b c" d\"e f\g"#),
            ["x", r"a\b c", r#"d"e"#, r"f\g"]
        );
        assert_eq!(windows_argv(r#"x "a""b""#), ["x", r#"a"b"#]);
        assert_eq!(windows_argv(r"C:\dir\p.exe"), [r"C:\dir\p.exe"]);
        assert!(windows_argv("").is_empty());
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Pads a message for the MD-style hashes: 0x80, zeros, then the bit length (64-bit, big- or
/// little-endian) so the length is a multiple of 64 bytes.
fn md_pad(data: &[u8], big_endian: bool) -> Vec<u8> {
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&if big_endian {
        bits.to_be_bytes()
    } else {
        bits.to_le_bytes()
    });
    msg
}

fn be_words(chunk: &[u8]) -> Vec<u32> {
    chunk
        .chunks_exact(4)
        .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
        .collect()
}

/// `hash_sha256`: the lower-case hex SHA-256 digest (FIPS 180-4).
pub fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    for chunk in md_pad(data, true).chunks_exact(64) {
        let mut w = be_words(chunk);
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w.push(
                w[i - 16]
                    .wrapping_add(s0)
                    .wrapping_add(w[i - 7])
                    .wrapping_add(s1),
            );
        }
        let mut v = h;
        for i in 0..64 {
            let [a, b, c, d, e, f, g, hh] = v;
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g];
        }
        for (x, y) in h.iter_mut().zip(v) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

/// `hash_sha1`: the lower-case hex SHA-1 digest (FIPS 180-4).
pub fn sha1_hex(data: &[u8]) -> String {
    let mut h: [u32; 5] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
    for chunk in md_pad(data, true).chunks_exact(64) {
        let mut w = be_words(chunk);
        for i in 16..80 {
            w.push((w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1));
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i / 20 {
                0 => ((b & c) | (!b & d), 0x5a827999),
                1 => (b ^ c ^ d, 0x6ed9eba1),
                2 => ((b & c) | (b & d) | (c & d), 0x8f1bbcdc),
                _ => (b ^ c ^ d, 0xca62c1d6u32),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

/// xxHash64 with seed 0 (the `hash` and `hash_xxhash64` functions).
pub fn xxhash64(data: &[u8]) -> u64 {
    const P1: u64 = 0x9E3779B185EBCA87;
    const P2: u64 = 0xC2B2AE3D27D4EB4F;
    const P3: u64 = 0x165667B19E3779F9;
    const P4: u64 = 0x85EBCA77C2B2AE63;
    const P5: u64 = 0x27D4EB2F165667C5;
    let u64_at = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&data[i..i + 8]);
        u64::from_le_bytes(b)
    };
    let round = |acc: u64, lane: u64| {
        acc.wrapping_add(lane.wrapping_mul(P2))
            .rotate_left(31)
            .wrapping_mul(P1)
    };
    let merge = |acc: u64, v: u64| (acc ^ round(0, v)).wrapping_mul(P1).wrapping_add(P4);
    let n = data.len();
    let mut i = 0;
    let mut h = if n >= 32 {
        let mut v = [P1.wrapping_add(P2), P2, 0, 0u64.wrapping_sub(P1)];
        while i + 32 <= n {
            for (k, x) in v.iter_mut().enumerate() {
                *x = round(*x, u64_at(i + 8 * k));
            }
            i += 32;
        }
        let mut h = v[0]
            .rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18));
        for x in v {
            h = merge(h, x);
        }
        h
    } else {
        P5
    };
    h = h.wrapping_add(n as u64);
    while i + 8 <= n {
        h = (h ^ round(0, u64_at(i)))
            .rotate_left(27)
            .wrapping_mul(P1)
            .wrapping_add(P4);
        i += 8;
    }
    if i + 4 <= n {
        let w = u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]) as u64;
        h = (h ^ w.wrapping_mul(P1))
            .rotate_left(23)
            .wrapping_mul(P2)
            .wrapping_add(P3);
        i += 4;
    }
    while i < n {
        h = (h ^ (data[i] as u64).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
        i += 1;
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

/// `hash_md5`: the lower-case hex MD5 digest (RFC 1321).
pub fn md5_hex(data: &[u8]) -> String {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    // K[i] = floor(abs(sin(i + 1)) * 2^32)
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let msg = md_pad(data, false);
    let (mut a0, mut b0, mut c0, mut d0) = (
        0x6745_2301u32,
        0xefcd_ab89u32,
        0x98ba_dcfeu32,
        0x1032_5476u32,
    );
    for chunk in msg.chunks_exact(64) {
        let m: Vec<u32> = chunk
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = Vec::with_capacity(16);
    for w in [a0, b0, c0, d0] {
        out.extend_from_slice(&w.to_le_bytes());
    }
    hex(&out)
}
