//! Kusto scalar values as the row-wise functions see them, and their conversion from and to
//! Arrow arrays.
//!
//! Kusto types map onto Arrow types as follows (see the crate README):
//! `string` Utf8 (never null), `long` Int64, `int` Int32, `real` Float64, `bool` Boolean,
//! `datetime` Timestamp(ns), `timespan` Duration(ns), `dynamic` LargeUtf8 holding JSON text,
//! `guid` Utf8View (the text of the guid).

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, DurationNanosecondBuilder, Float64Builder,
    Int32Builder, Int64Builder, LargeStringBuilder, ListBuilder, StringBuilder, StringViewBuilder,
    TimestampNanosecondBuilder,
};
use datafusion::arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, TimeUnit,
    UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use datafusion::common::ScalarValue;
use serde_json::Value as Json;
use std::sync::Arc;

/// Kusto's scalar types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KType {
    String,
    Long,
    Int,
    Real,
    Bool,
    DateTime,
    TimeSpan,
    Dynamic,
    Guid,
}

impl KType {
    /// The type's name as Kusto spells it in schemas and result metadata.
    pub fn name(self) -> &'static str {
        match self {
            KType::String => "string",
            KType::Long => "long",
            KType::Int => "int",
            KType::Real => "real",
            KType::Bool => "bool",
            KType::DateTime => "datetime",
            KType::TimeSpan => "timespan",
            KType::Dynamic => "dynamic",
            KType::Guid => "guid",
        }
    }

    /// Parses a type name as written in `datatable` schemas, `parse` patterns and casts.
    pub fn from_name(s: &str) -> Option<KType> {
        Some(match s {
            "string" => KType::String,
            "long" | "int64" => KType::Long,
            "int" | "int32" => KType::Int,
            "real" | "double" | "decimal" => KType::Real,
            "bool" | "boolean" => KType::Bool,
            "datetime" | "date" => KType::DateTime,
            "timespan" | "time" => KType::TimeSpan,
            "dynamic" => KType::Dynamic,
            "guid" | "uniqueid" => KType::Guid,
            _ => return None,
        })
    }

    pub fn arrow(self) -> DataType {
        match self {
            KType::String => DataType::Utf8,
            KType::Long => DataType::Int64,
            KType::Int => DataType::Int32,
            KType::Real => DataType::Float64,
            KType::Bool => DataType::Boolean,
            KType::DateTime => DataType::Timestamp(TimeUnit::Nanosecond, None),
            KType::TimeSpan => DataType::Duration(TimeUnit::Nanosecond),
            KType::Dynamic => DataType::LargeUtf8,
            KType::Guid => DataType::Utf8View,
        }
    }

    pub fn of_arrow(t: &DataType) -> KType {
        match t {
            DataType::Utf8 => KType::String,
            DataType::Utf8View => KType::Guid,
            DataType::Int64 | DataType::UInt32 | DataType::UInt64 => KType::Long,
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::UInt8
            | DataType::UInt16 => KType::Int,
            DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal128(..) => KType::Real,
            DataType::Boolean => KType::Bool,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => KType::DateTime,
            DataType::Duration(_) | DataType::Interval(_) => KType::TimeSpan,
            DataType::Null => KType::Dynamic,
            _ => KType::Dynamic,
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, KType::Long | KType::Int | KType::Real)
    }
}

/// One scalar value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Long(i64),
    Real(f64),
    Str(String),
    /// Nanoseconds since the Unix epoch.
    DateTime(i64),
    /// Nanoseconds.
    TimeSpan(i64),
    Dyn(Json),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null | Value::Dyn(Json::Null))
    }

    /// The value as Kusto's `tostring` prints it.
    pub fn to_kstring(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Long(i) => i.to_string(),
            Value::Real(f) => format_real(*f),
            Value::Str(s) => s.clone(),
            Value::DateTime(ns) => format_datetime(*ns),
            Value::TimeSpan(ns) => format_timespan(*ns),
            Value::Dyn(Json::String(s)) => s.clone(),
            Value::Dyn(Json::Null) => String::new(),
            Value::Dyn(j) => j.to_string(),
        }
    }

    /// The value as a dynamic (JSON) value.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Long(i) => Json::from(*i),
            Value::Real(f) => serde_json::Number::from_f64(*f)
                .map(Json::Number)
                .unwrap_or_else(|| Json::String(format_real(*f))),
            Value::Str(s) => Json::String(s.clone()),
            Value::DateTime(ns) => Json::String(format_datetime(*ns)),
            Value::TimeSpan(ns) => Json::String(format_timespan(*ns)),
            Value::Dyn(j) => j.clone(),
        }
    }

    /// Unwraps a dynamic scalar into the matching plain value.
    pub fn undyn(self) -> Value {
        match self {
            Value::Dyn(Json::Null) => Value::Null,
            Value::Dyn(Json::Bool(b)) => Value::Bool(b),
            Value::Dyn(Json::String(s)) => Value::Str(s),
            Value::Dyn(Json::Number(n)) => match n.as_i64() {
                Some(i) => Value::Long(i),
                None => Value::Real(n.as_f64().unwrap_or(f64::NAN)),
            },
            v => v,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self.clone().undyn() {
            Value::Long(i) => Some(i as f64),
            Value::Real(f) => Some(f),
            Value::Bool(b) => Some(b as i64 as f64),
            Value::Str(s) => s.trim().parse().ok(),
            Value::DateTime(n) | Value::TimeSpan(n) => Some(n as f64),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self.clone().undyn() {
            Value::Long(i) => Some(i),
            Value::Real(f) if f.is_finite() => Some(f.trunc() as i64),
            Value::Bool(b) => Some(b as i64),
            Value::Str(s) => {
                let t = s.trim();
                t.parse::<i64>().ok().or_else(|| {
                    t.parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .map(|f| f as i64)
                })
            }
            Value::DateTime(n) | Value::TimeSpan(n) => Some(n / 100),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.clone().undyn() {
            Value::Bool(b) => Some(b),
            Value::Long(i) => Some(i != 0),
            Value::Real(f) => Some(f != 0.0),
            Value::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// Converts to the representation of `t` (Kusto's `to*` conversions); unconvertible
    /// values become null (or the empty string).
    pub fn convert(self, t: KType) -> Value {
        if self.is_null() {
            return if t == KType::String {
                Value::Str(String::new())
            } else {
                Value::Null
            };
        }
        match t {
            KType::String | KType::Guid => Value::Str(self.to_kstring()),
            KType::Long | KType::Int => self.as_i64().map_or(Value::Null, Value::Long),
            KType::Real => self.as_f64().map_or(Value::Null, Value::Real),
            KType::Bool => self.as_bool().map_or(Value::Null, Value::Bool),
            KType::DateTime => match self.undyn() {
                Value::DateTime(n) => Value::DateTime(n),
                Value::Str(s) => parse_datetime(&s).map_or(Value::Null, Value::DateTime),
                Value::Long(i) => Value::DateTime(i.saturating_mul(100)),
                _ => Value::Null,
            },
            KType::TimeSpan => match self.undyn() {
                Value::TimeSpan(n) => Value::TimeSpan(n),
                Value::Str(s) => parse_timespan(&s).map_or(Value::Null, Value::TimeSpan),
                Value::Long(i) => Value::TimeSpan(i.saturating_mul(100)),
                Value::Real(f) => Value::TimeSpan((f * 100.0) as i64),
                _ => Value::Null,
            },
            KType::Dynamic => match self {
                Value::Dyn(j) => Value::Dyn(j),
                Value::Str(s) => Value::Dyn(Json::String(s)),
                v => Value::Dyn(v.to_json()),
            },
        }
    }
}

/// Formats a real as Kusto prints it.
pub fn format_real(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        let s = format!("{f}");
        s
    }
}

/// `2024-01-02T03:04:05.1234567Z`
pub fn format_datetime(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let sub = ns.rem_euclid(1_000_000_000);
    match DateTime::<Utc>::from_timestamp(secs, sub as u32) {
        Some(dt) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            sub / 100
        ),
        None => String::new(),
    }
}

/// `[-][d.]hh:mm:ss[.fffffff]`, as Kusto prints timespans.
pub fn format_timespan(ns: i64) -> String {
    let neg = ns < 0;
    let ticks = (ns / 100).unsigned_abs();
    let frac = ticks % 10_000_000;
    let secs = ticks / 10_000_000;
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if d > 0 {
        out.push_str(&format!("{d}."));
    }
    out.push_str(&format!("{h:02}:{m:02}:{s:02}"));
    if frac > 0 {
        out.push_str(&format!(".{frac:07}"));
    }
    out
}

/// Parses the text of a datetime literal or a string converted with `todatetime`.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim().trim_matches(|c| c == '\'' || c == '"').trim();
    let spaced;
    let s = if s.contains(" - ") {
        spaced = s.replace(" - ", "-");
        spaced.as_str()
    } else {
        s
    };
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return dt.timestamp_nanos_opt();
    }
    let t = s.trim_end_matches('Z');
    let formats = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S%.f",
        "%Y/%m/%d %H:%M",
        "%m/%d/%Y %H:%M:%S%.f",
        "%m/%d/%Y %H:%M",
        "%a, %d %b %Y %H:%M:%S GMT",
        "%d %b %Y %H:%M:%S",
    ];
    for f in formats {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, f) {
            return dt.and_utc().timestamp_nanos_opt();
        }
    }
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%m-%d-%Y", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(t, f) {
            return d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_nanos_opt();
        }
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return dt.timestamp_nanos_opt();
    }
    None
}

/// Parses a timespan: `1.02:03:04.5`, `02:03`, or a literal such as `1d`, `30m`, `1.5h`.
pub fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r.trim()),
        None => (false, s),
    };
    let v = if body.contains(':') {
        let (days, rest) = match body.split_once('.') {
            Some((d, r)) if !d.contains(':') => (d.parse::<i64>().ok()?, r),
            _ => (0, body),
        };
        let parts: Vec<&str> = rest.split(':').collect();
        let (h, m, sec) = match parts.as_slice() {
            [h, m] => (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?, "0"),
            [h, m, s] => (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?, *s),
            _ => return None,
        };
        let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
        let whole: i64 = whole.parse().ok()?;
        let frac_ns: i64 = if frac.is_empty() {
            0
        } else {
            let digits: String = frac.chars().chain("000000000".chars()).take(9).collect();
            digits.parse().ok()?
        };
        (((days * 24 + h) * 60 + m) * 60 + whole) * 1_000_000_000 + frac_ns
    } else {
        let split = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let (num, unit) = body.split_at(split);
        let n: f64 = num.parse().ok()?;
        let per: f64 = match unit.trim() {
            "d" | "day" | "days" => 86_400e9,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600e9,
            "m" | "min" | "minute" | "minutes" => 60e9,
            "s" | "sec" | "second" | "seconds" | "" => 1e9,
            "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1e6,
            "microsecond" | "microseconds" => 1e3,
            "tick" | "ticks" => 100.0,
            "nanosecond" | "nanoseconds" => 1.0,
            _ => return None,
        };
        (n * per).round() as i64
    };
    Some(if neg { -v } else { v })
}

/// Reads row `i` of `a` as a [`Value`].
pub fn get(a: &dyn Array, i: usize) -> Value {
    if a.is_null(i) {
        return match a.data_type() {
            DataType::Utf8 | DataType::Utf8View => Value::Str(String::new()),
            _ => Value::Null,
        };
    }
    match a.data_type() {
        DataType::Utf8 => Value::Str(a.as_string::<i32>().value(i).to_string()),
        DataType::Utf8View => Value::Str(a.as_string_view().value(i).to_string()),
        DataType::LargeUtf8 => {
            let s = a.as_string::<i64>().value(i);
            Value::Dyn(serde_json::from_str(s).unwrap_or(Json::String(s.to_string())))
        }
        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
        DataType::Int8 => Value::Long(a.as_primitive::<Int8Type>().value(i) as i64),
        DataType::Int16 => Value::Long(a.as_primitive::<Int16Type>().value(i) as i64),
        DataType::Int32 => Value::Long(a.as_primitive::<Int32Type>().value(i) as i64),
        DataType::Int64 => Value::Long(a.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => Value::Long(a.as_primitive::<UInt8Type>().value(i) as i64),
        DataType::UInt16 => Value::Long(a.as_primitive::<UInt16Type>().value(i) as i64),
        DataType::UInt32 => Value::Long(a.as_primitive::<UInt32Type>().value(i) as i64),
        DataType::UInt64 => Value::Long(a.as_primitive::<UInt64Type>().value(i) as i64),
        DataType::Float32 => Value::Real(a.as_primitive::<Float32Type>().value(i) as f64),
        DataType::Float64 => Value::Real(a.as_primitive::<Float64Type>().value(i)),
        DataType::Timestamp(..) | DataType::Duration(_) | DataType::Date32 | DataType::Date64 => {
            match ScalarValue::try_from_array(a, i) {
                Ok(ScalarValue::TimestampNanosecond(Some(v), _)) => Value::DateTime(v),
                Ok(ScalarValue::TimestampMicrosecond(Some(v), _)) => Value::DateTime(v * 1000),
                Ok(ScalarValue::TimestampMillisecond(Some(v), _)) => Value::DateTime(v * 1_000_000),
                Ok(ScalarValue::TimestampSecond(Some(v), _)) => Value::DateTime(v * 1_000_000_000),
                Ok(ScalarValue::DurationNanosecond(Some(v))) => Value::TimeSpan(v),
                Ok(ScalarValue::DurationMicrosecond(Some(v))) => Value::TimeSpan(v * 1000),
                Ok(ScalarValue::DurationMillisecond(Some(v))) => Value::TimeSpan(v * 1_000_000),
                Ok(ScalarValue::DurationSecond(Some(v))) => Value::TimeSpan(v * 1_000_000_000),
                Ok(ScalarValue::Date32(Some(d))) => Value::DateTime(d as i64 * 86_400_000_000_000),
                _ => Value::Null,
            }
        }
        DataType::List(_) | DataType::LargeList(_) => {
            let list = match ScalarValue::try_from_array(a, i) {
                Ok(ScalarValue::List(l)) => l.value(0),
                Ok(ScalarValue::LargeList(l)) => l.value(0),
                _ => return Value::Null,
            };
            let items = (0..list.len())
                .map(|j| get(list.as_ref(), j).to_json())
                .collect();
            Value::Dyn(Json::Array(items))
        }
        DataType::Null => Value::Null,
        _ => match ScalarValue::try_from_array(a, i) {
            Ok(s) => Value::Str(s.to_string()),
            Err(_) => Value::Null,
        },
    }
}

/// Builds an array of type `t` from values, converting each (see [`Value::convert`]).
pub fn build(t: &DataType, values: Vec<Value>) -> ArrayRef {
    let k = KType::of_arrow(t);
    match t {
        DataType::Utf8 => {
            let mut b = StringBuilder::new();
            for v in values {
                b.append_value(v.convert(KType::String).to_kstring());
            }
            Arc::new(b.finish())
        }
        DataType::Utf8View => {
            let mut b = StringViewBuilder::new();
            for v in values {
                b.append_value(v.convert(KType::String).to_kstring());
            }
            Arc::new(b.finish())
        }
        DataType::Int64 => {
            let mut b = Int64Builder::new();
            for v in values {
                b.append_option(v.convert(k).as_i64());
            }
            Arc::new(b.finish())
        }
        DataType::Int32 => {
            let mut b = Int32Builder::new();
            for v in values {
                b.append_option(v.convert(k).as_i64().map(|i| i as i32));
            }
            Arc::new(b.finish())
        }
        DataType::Float64 => {
            let mut b = Float64Builder::new();
            for v in values {
                b.append_option(v.convert(k).as_f64());
            }
            Arc::new(b.finish())
        }
        DataType::Boolean => {
            let mut b = BooleanBuilder::new();
            for v in values {
                b.append_option(v.convert(k).as_bool());
            }
            Arc::new(b.finish())
        }
        DataType::Timestamp(..) => {
            let mut b = TimestampNanosecondBuilder::new();
            for v in values {
                b.append_option(match v.convert(k) {
                    Value::DateTime(n) => Some(n),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        DataType::Duration(_) => {
            let mut b = DurationNanosecondBuilder::new();
            for v in values {
                b.append_option(match v.convert(k) {
                    Value::TimeSpan(n) => Some(n),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        DataType::List(_) => {
            let mut b = ListBuilder::new(LargeStringBuilder::new());
            for v in values {
                match v {
                    Value::Dyn(Json::Array(items)) => {
                        for j in items {
                            match j {
                                Json::Null => b.values().append_null(),
                                j => b.values().append_value(j.to_string()),
                            }
                        }
                        b.append(true);
                    }
                    _ => b.append(false),
                }
            }
            Arc::new(b.finish())
        }
        _ => {
            let mut b = LargeStringBuilder::new();
            for v in values {
                match v {
                    Value::Null | Value::Dyn(Json::Null) => b.append_null(),
                    v => b.append_value(v.to_json().to_string()),
                }
            }
            Arc::new(b.finish())
        }
    }
}

/// A one-value literal of the Arrow type of `t`.
pub fn scalar(t: KType, v: Value) -> ScalarValue {
    let arr = build(&t.arrow(), vec![v]);
    ScalarValue::try_from_array(arr.as_ref(), 0).unwrap_or(ScalarValue::Null)
}

/// The value's natural Kusto type.
pub fn type_of(v: &Value) -> KType {
    match v {
        Value::Null | Value::Dyn(_) => KType::Dynamic,
        Value::Bool(_) => KType::Bool,
        Value::Long(_) => KType::Long,
        Value::Real(_) => KType::Real,
        Value::Str(_) => KType::String,
        Value::DateTime(_) => KType::DateTime,
        Value::TimeSpan(_) => KType::TimeSpan,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespan_printing() {
        let ns = (((24 + 2) * 60 + 3) * 60 + 4) * 1_000_000_000 + 500_000_000;
        assert_eq!(format_timespan(ns), "1.02:03:04.5000000");
        assert_eq!(format_timespan(60_000_000_000), "00:01:00");
        assert_eq!(format_timespan(-30_000_000_000), "-00:00:30");
        assert_eq!(parse_timespan("1.02:03:04.5"), Some(ns));
        assert_eq!(parse_timespan("1.5h"), Some(5_400_000_000_000));
    }

    #[test]
    fn datetime_printing() {
        let ns = parse_datetime("2024-01-02 03:04:05.1234567").unwrap_or_default();
        assert_eq!(format_datetime(ns), "2024-01-02T03:04:05.1234567Z");
    }
}
