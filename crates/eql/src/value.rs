//! Run-time values and the conversions Elasticsearch applies when it reads a
//! field through its mapping (doc values): numbers as keywords become strings,
//! numeric strings in long fields become numbers, dates become instants.

use crate::schema::DataType;
use serde_json::Value as Json;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::net::IpAddr;

/// A value during evaluation. `Multi` holds the values of a multi-valued
/// field (never nested, never empty, never containing `Null`).
#[derive(Clone, Debug, PartialEq)]
pub enum Val<'a> {
    Null,
    Bool(bool),
    Long(i64),
    Double(f64),
    Str(Cow<'a, str>),
    /// Nanoseconds since the Unix epoch.
    Date(i128, DateRes),
    Ip(IpAddr),
    Version(Cow<'a, str>),
    Multi(Vec<Val<'a>>),
}

/// How a date prints: `date` fields print milliseconds, `date_nanos` print nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateRes {
    Millis,
    Nanos,
}

impl<'a> Val<'a> {
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    pub fn str(s: &'a str) -> Val<'a> {
        Val::Str(Cow::Borrowed(s))
    }

    pub fn into_owned(self) -> Val<'static> {
        match self {
            Val::Null => Val::Null,
            Val::Bool(b) => Val::Bool(b),
            Val::Long(v) => Val::Long(v),
            Val::Double(v) => Val::Double(v),
            Val::Str(s) => Val::Str(Cow::Owned(s.into_owned())),
            Val::Date(n, r) => Val::Date(n, r),
            Val::Ip(ip) => Val::Ip(ip),
            Val::Version(s) => Val::Version(Cow::Owned(s.into_owned())),
            Val::Multi(v) => Val::Multi(v.into_iter().map(Val::into_owned).collect()),
        }
    }

    /// The value as Elasticsearch prints it in a response (join keys, `string()`).
    pub fn to_json(&self) -> Json {
        match self {
            Val::Null => Json::Null,
            Val::Bool(b) => Json::Bool(*b),
            Val::Long(v) => Json::from(*v),
            Val::Double(v) => serde_json::Number::from_f64(*v).map_or(Json::Null, Json::Number),
            Val::Str(s) | Val::Version(s) => Json::String(s.to_string()),
            Val::Date(n, r) => Json::String(format_date(*n, *r)),
            Val::Ip(ip) => Json::String(ip.to_string()),
            Val::Multi(v) => Json::Array(v.iter().map(Val::to_json).collect()),
        }
    }

    /// The text `string()` gives for a value.
    pub fn to_text(&self) -> Option<Cow<'_, str>> {
        Some(match self {
            Val::Null => return None,
            Val::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Val::Long(v) => Cow::Owned(v.to_string()),
            Val::Double(v) => Cow::Owned(format_double(*v)),
            Val::Str(s) | Val::Version(s) => Cow::Borrowed(s.as_ref()),
            Val::Date(n, r) => Cow::Owned(format_date(*n, *r)),
            Val::Ip(ip) => Cow::Owned(ip.to_string()),
            Val::Multi(v) => {
                return v
                    .first()
                    .and_then(|x| x.to_text().map(|c| Cow::Owned(c.into_owned())))
            }
        })
    }
}

/// Java's `Double.toString` for the common cases: always a decimal point.
pub fn format_double(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e7 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// Reads one JSON scalar as a field of type `ty`. `None` when the value
/// cannot be read as that type (Elasticsearch would have rejected or ignored it).
pub fn from_json<'a>(v: &'a Json, ty: DataType) -> Option<Val<'a>> {
    if let Json::String(s) = v {
        return from_str(s, ty);
    }
    Some(match (ty, v) {
        (_, Json::Null) => Val::Null,
        (DataType::Keyword, Json::Number(n)) => Val::Str(Cow::Owned(n.to_string())),
        (DataType::Keyword, Json::Bool(b)) => {
            Val::Str(Cow::Borrowed(if *b { "true" } else { "false" }))
        }
        (DataType::Long, Json::Number(n)) => {
            Val::Long(n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?)
        }
        (DataType::Double, Json::Number(n)) => Val::Double(n.as_f64()?),
        (DataType::Boolean, Json::Bool(b)) => Val::Bool(*b),
        (DataType::Date, v) => Val::Date(date_from_json(v)?, DateRes::Millis),
        (DataType::DateNanos, v) => Val::Date(date_from_json(v)?, DateRes::Nanos),
        (DataType::Unknown, Json::Number(n)) => match n.as_i64() {
            Some(i) => Val::Long(i),
            None => Val::Double(n.as_f64()?),
        },
        (DataType::Unknown, Json::Bool(b)) => Val::Bool(*b),
        _ => return None,
    })
}

/// An address as an `ip` field holds it: Elasticsearch stores every address
/// in 16 bytes, IPv4 as IPv4-mapped IPv6, and reads the mapped ones back as
/// IPv4, so `::ffff:10.0.0.1` and `10.0.0.1` are one value, printed (doc
/// values, fields API, join keys) as `10.0.0.1`.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// [`from_json`] of a JSON string.
pub fn from_str(s: &str, ty: DataType) -> Option<Val<'_>> {
    Some(match ty {
        DataType::Keyword | DataType::Unknown => Val::Str(Cow::Borrowed(s)),
        DataType::Long => Val::Long(parse_long_coerce(s)?),
        DataType::Double => Val::Double(s.trim().parse().ok()?),
        DataType::Boolean => match s {
            "true" => Val::Bool(true),
            "false" | "" => Val::Bool(false),
            _ => return None,
        },
        DataType::Date => Val::Date(parse_date(s)?, DateRes::Millis),
        DataType::DateNanos => Val::Date(parse_date(s)?, DateRes::Nanos),
        DataType::Ip => Val::Ip(canonical_ip(s.parse().ok()?)),
        DataType::Version => Val::Version(Cow::Borrowed(s)),
        _ => return None,
    })
}

fn parse_long_coerce(s: &str) -> Option<i64> {
    let t = s.trim();
    t.parse::<i64>()
        .ok()
        .or_else(|| t.parse::<f64>().ok().map(|f| f as i64))
}

fn date_from_json(v: &Json) -> Option<i128> {
    match v {
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i as i128 * 1_000_000)
            } else {
                n.as_f64().map(|f| (f * 1e6) as i128)
            }
        }
        Json::String(s) => parse_date(s),
        _ => None,
    }
}

/// Parses a date the way Elasticsearch's default format
/// (`strict_date_optional_time||epoch_millis`) does, to nanoseconds.
pub fn parse_date(s: &str) -> Option<i128> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes()
        .all(|c| c.is_ascii_digit() || c == b'-' || c == b'.')
        && !s[1..].contains('-')
    {
        // epoch millis, possibly with a fraction ("1516116808349.123")
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let ms: i128 = int.parse().ok()?;
        let mut nanos_frac: i128 = 0;
        if !frac.is_empty() {
            let digits = &frac[..frac.len().min(6)];
            nanos_frac = digits.parse::<i128>().ok()? * 10i128.pow(6 - digits.len() as u32);
        }
        return Some(ms * 1_000_000 + if ms < 0 { -nanos_frac } else { nanos_frac });
    }
    parse_iso(s)
}

/// Parses a date with mapping formats (`||`-separated): Joda-style patterns
/// built from `yyyy`, `MM`, `dd`, `HH`, `mm`, `ss`, `SSS` and literal
/// characters, or the named formats Elasticsearch accepts by default.
pub fn parse_date_with(s: &str, formats: &str) -> Option<i128> {
    for f in formats.split("||") {
        let parsed = match f {
            "strict_date_optional_time"
            | "date_optional_time"
            | "strict_date_optional_time_nanos" => parse_iso(s),
            "epoch_millis" => s.parse::<i64>().ok().map(|ms| ms as i128 * 1_000_000),
            "epoch_second" => s.parse::<i64>().ok().map(|sec| sec as i128 * 1_000_000_000),
            pattern => parse_pattern(s, pattern),
        };
        if parsed.is_some() {
            return parsed;
        }
    }
    None
}

fn parse_pattern(s: &str, pattern: &str) -> Option<i128> {
    let (mut y, mut mo, mut d, mut h, mut mi, mut sec, mut ms) =
        (1970i64, 1i64, 1i64, 0i64, 0i64, 0i64, 0i64);
    let pat: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = s.chars().collect();
    let (mut i, mut t) = (0, 0);
    while i < pat.len() {
        let c = pat[i];
        let mut run = 1;
        while i + run < pat.len() && pat[i + run] == c {
            run += 1;
        }
        if c.is_ascii_alphabetic() {
            let take = if c == 'y' && run == 4 || run >= 2 {
                run
            } else {
                2
            };
            let digits: String = text.get(t..t + take)?.iter().collect();
            let n: i64 = digits.parse().ok()?;
            match c {
                'y' | 'u' => y = n,
                'M' => mo = n,
                'd' => d = n,
                'H' => h = n,
                'm' => mi = n,
                's' => sec = n,
                'S' => ms = n * 10i64.pow(3u32.saturating_sub(take as u32)),
                _ => return None,
            }
            t += take;
        } else {
            for _ in 0..run {
                if text.get(t) != Some(&c) {
                    return None;
                }
                t += 1;
            }
        }
        i += run;
    }
    if t != text.len() || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec;
    Some(secs as i128 * 1_000_000_000 + ms as i128 * 1_000_000)
}

fn parse_iso(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let year = num(0, 4)?;
    let mut pos = 4;
    let (mut month, mut day) = (1, 1);
    if b.get(pos) == Some(&b'-') {
        month = num(pos + 1, 2)?;
        pos += 3;
        if b.get(pos) == Some(&b'-') {
            day = num(pos + 1, 2)?;
            pos += 3;
        }
    }
    let (mut h, mut mi, mut sec, mut nanos) = (0i64, 0i64, 0i64, 0i64);
    let mut offset_secs = 0i64;
    if b.get(pos) == Some(&b'T') || b.get(pos) == Some(&b' ') {
        pos += 1;
        h = num(pos, 2)?;
        pos += 2;
        if b.get(pos) == Some(&b':') {
            mi = num(pos + 1, 2)?;
            pos += 3;
            if b.get(pos) == Some(&b':') {
                sec = num(pos + 1, 2)?;
                pos += 3;
                if b.get(pos) == Some(&b'.') || b.get(pos) == Some(&b',') {
                    pos += 1;
                    let start = pos;
                    while b.get(pos).is_some_and(u8::is_ascii_digit) {
                        pos += 1;
                    }
                    let digits = &s[start..pos];
                    if digits.is_empty() || digits.len() > 9 {
                        return None;
                    }
                    nanos = digits.parse::<i64>().ok()? * 10i64.pow(9 - digits.len() as u32);
                }
            }
        }
        match b.get(pos) {
            None => {}
            Some(b'Z') | Some(b'z') => pos += 1,
            Some(&c) if c == b'+' || c == b'-' => {
                let oh = num(pos + 1, 2)?;
                let mut p = pos + 3;
                if b.get(p) == Some(&b':') {
                    p += 1;
                }
                let om = num(p, 2).unwrap_or(0);
                if num(p, 2).is_some() {
                    p += 2;
                }
                offset_secs = (oh * 3600 + om * 60) * if c == b'-' { -1 } else { 1 };
                pos = p;
            }
            _ => return None,
        }
    }
    if pos != b.len()
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_secs;
    Some(secs as i128 * 1_000_000_000 + nanos as i128)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// ISO-8601 in UTC, as Elasticsearch prints `date` (millis) and `date_nanos` values.
pub fn format_date(nanos: i128, res: DateRes) -> String {
    let secs = nanos.div_euclid(1_000_000_000) as i64;
    let sub = nanos.rem_euclid(1_000_000_000) as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let (h, mi, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let frac = match res {
        DateRes::Millis => format!("{:03}", sub / 1_000_000),
        DateRes::Nanos => {
            if sub % 1_000_000 == 0 {
                format!("{:03}", sub / 1_000_000)
            } else {
                let mut f = format!("{sub:09}");
                while f.len() > 3 && f.ends_with('0') {
                    f.pop();
                }
                f
            }
        }
    };
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac}Z")
}

/// Orders versions as Elasticsearch's `version` field does: valid semantic
/// versions by precedence (any number of numeric parts, pre-releases before
/// releases), then every invalid string after all valid ones, by bytes.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    match (parse_version(a), parse_version(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum PreId<'a> {
    Num(u64),
    Alpha(&'a str),
}

#[derive(PartialEq, Eq)]
struct Version<'a> {
    main: Vec<u64>,
    pre: Option<Vec<PreId<'a>>>,
}

impl Ord for Version<'_> {
    fn cmp(&self, o: &Self) -> Ordering {
        let n = self.main.len().max(o.main.len());
        for i in 0..n {
            let x = self.main.get(i).copied().unwrap_or(0);
            let y = o.main.get(i).copied().unwrap_or(0);
            match x.cmp(&y) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        match self.main.len().cmp(&o.main.len()) {
            Ordering::Equal => {}
            other => return other,
        }
        match (&self.pre, &o.pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => x.cmp(y),
        }
    }
}

impl PartialOrd for Version<'_> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

fn parse_version(s: &str) -> Option<Version<'_>> {
    let s = s.split_once('+').map_or(s, |(v, _)| v);
    let (main, pre) = match s.split_once('-') {
        Some((m, p)) => (m, Some(p)),
        None => (s, None),
    };
    let mut nums = Vec::new();
    for part in main.split('.') {
        if part.is_empty()
            || !part.bytes().all(|c| c.is_ascii_digit())
            || part.len() > 1 && part.starts_with('0')
        {
            return None;
        }
        nums.push(part.parse().ok()?);
    }
    let pre = match pre {
        None => None,
        Some(p) => {
            let mut ids = Vec::new();
            for id in p.split('.') {
                if id.is_empty() || !id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
                    return None;
                }
                ids.push(if id.bytes().all(|c| c.is_ascii_digit()) {
                    PreId::Num(id.parse().ok()?)
                } else {
                    PreId::Alpha(id)
                });
            }
            Some(ids)
        }
    };
    Some(Version { main: nums, pre })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_as_elasticsearch_reads_them() {
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("1"), Some(1_000_000));
        assert_eq!(
            parse_date("1974-03-03T02:22:54.294365140Z"),
            Some(131509374294365140)
        );
        assert_eq!(parse_date("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_date("not a date"), None);
    }

    #[test]
    fn dates_format_with_their_resolution() {
        assert_eq!(format_date(0, DateRes::Millis), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_date(131509374294365140, DateRes::Nanos),
            "1974-03-03T02:22:54.29436514Z"
        );
        assert_eq!(
            format_date(1_504_126_053_000_000_000, DateRes::Millis),
            "2017-08-30T20:47:33.000Z"
        );
    }

    #[test]
    fn versions_order_by_precedence_with_invalid_last() {
        assert_eq!(compare_versions("1.2.4", "1.11.3"), Ordering::Less);
        assert_eq!(compare_versions("1.2.4-SNAPSHOT", "1.2.4"), Ordering::Less);
        assert_eq!(compare_versions("bad", "99.0.0"), Ordering::Greater);
        assert_eq!(compare_versions("1.5.0", "1.5.0"), Ordering::Equal);
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn mapping_formats_parse_dates() {
        let want = parse_date("2022-12-17");
        assert_eq!(
            parse_date_with("17-12-2022", "dd-MM-yyyy||yyyy-MM-dd"),
            want
        );
        assert_eq!(
            parse_date_with("2022-12-17", "dd-MM-yyyy||yyyy-MM-dd"),
            want
        );
        assert_eq!(parse_date_with("17/12/2022", "dd-MM-yyyy"), None);
    }
}
