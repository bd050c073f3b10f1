//! Further scalar functions: IPv6 parsing and matching, unit conversions and small string
//! helpers, each as its Kusto reference page defines it.

use crate::udf::RowFn;
use crate::value::{KType, Value};
use serde_json::Value as Json;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// The names this module answers for.
pub const NAMES: &[&str] = &[
    "ipv6_compare",
    "ipv6_is_in_any_range",
    "ipv6_is_in_range",
    "ipv6_is_match",
    "parse_ipv6",
    "parse_ipv6_mask",
    "regex_quote",
    "around",
    "loggamma",
    "has_any_index",
    "indexof_regex",
    "format_bytes",
    "base64_decode_toguid",
    "base64_encode_fromguid",
    "base64_decode_toarray",
    "base64_encode_fromarray",
    "zlib_compress_to_base64_string",
    "zlib_decompress_from_base64_string",
    "gzip_compress_to_base64_string",
    "gzip_decompress_from_base64_string",
    "parse_csv",
    "ipv4_range_to_cidr_list",
    "convert_angle",
    "convert_energy",
    "convert_force",
    "convert_length",
    "convert_mass",
    "convert_speed",
    "convert_temperature",
    "convert_volume",
];

fn arg(a: &[Value], i: usize) -> Value {
    a.get(i).cloned().unwrap_or(Value::Null)
}

fn sarg(a: &[Value], i: usize) -> String {
    a.get(i).map(|v| v.to_kstring()).unwrap_or_default()
}

/// An IPv6 address (IPv4 addresses as IPv4-mapped `::ffff:a.b.c.d`) and its prefix length.
///
/// A prefix written after an IPv4 address (also `::a.b.c.d`) counts IPv4 bits, so it
/// becomes 96 + n; the ipv6 pages read `::192.168.1.1` as the mapped address.
pub fn parse_ipv6(s: &str) -> Option<(u128, u32)> {
    let s = s.trim();
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a.trim(), Some(p.trim().parse::<u32>().ok()?)),
        None => (s, None),
    };
    if let Ok(v4) = addr.parse::<Ipv4Addr>() {
        let bits = (0xffffu128 << 32) | u32::from(v4) as u128;
        let p = match prefix {
            Some(p) if p <= 32 => 96 + p,
            Some(_) => return None,
            None => 128,
        };
        return Some((bits, p));
    }
    let v6: Ipv6Addr = addr.parse().ok()?;
    let mut bits = u128::from(v6);
    let dotted = addr.contains('.');
    if dotted && bits >> 32 == 0 {
        bits |= 0xffffu128 << 32;
    }
    let p = match prefix {
        Some(p) if dotted && p <= 32 => 96 + p,
        Some(p) if !dotted && p <= 128 => p,
        Some(_) => return None,
        None => 128,
    };
    Some((bits, p))
}

fn mask(bits: u32) -> u128 {
    match bits {
        0 => 0,
        b if b >= 128 => u128::MAX,
        b => u128::MAX << (128 - b),
    }
}

/// Eight groups of four lower-case hex digits.
fn format_ipv6(v: u128) -> String {
    (0..8)
        .map(|i| format!("{:04x}", (v >> (112 - 16 * i)) & 0xffff))
        .collect::<Vec<_>>()
        .join(":")
}

/// Compares two addresses over their common prefix (and at most `limit` bits).
fn compare_ipv6(a: &str, b: &str, limit: Option<i64>) -> Option<i64> {
    let (x, px) = parse_ipv6(a)?;
    let (y, py) = parse_ipv6(b)?;
    let mut p = px.min(py);
    if let Some(l) = limit {
        if !(0..=128).contains(&l) {
            return None;
        }
        p = p.min(l as u32);
    }
    let m = mask(p);
    Some(match (x & m).cmp(&(y & m)) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    })
}

fn in_range(ip: &str, range: &str) -> Option<bool> {
    let (x, _) = parse_ipv6(ip)?;
    let (r, p) = parse_ipv6(range)?;
    let m = mask(p);
    Some(x & m == r & m)
}

fn limit_arg(a: &[Value]) -> Option<Option<i64>> {
    if a.len() > 2 {
        arg(a, 2).as_i64().map(Some)
    } else {
        Some(None)
    }
}

/// Units and their size in the category's base unit (a linear scale).
fn unit_factor(category: &str, unit: &str) -> Option<f64> {
    let table: &[(&str, f64)] = match category {
        "length" => &[
            ("Angstrom", 1e-10),
            ("AstronomicalUnit", 1.495_978_707e11),
            ("Centimeter", 1e-2),
            ("Chain", 20.1168),
            ("DataMile", 1828.8),
            ("Decameter", 10.0),
            ("Decimeter", 0.1),
            ("DtpPica", 0.0254 / 6.0),
            ("DtpPoint", 0.0254 / 72.0),
            ("Fathom", 1.8288),
            ("Foot", 0.3048),
            ("Hand", 0.1016),
            ("Hectometer", 100.0),
            ("Inch", 0.0254),
            ("KilolightYear", 9.460_730_472_580_8e18),
            ("Kilometer", 1000.0),
            ("Kiloparsec", 3.085_677_581_491_367e19),
            ("LightYear", 9.460_730_472_580_8e15),
            ("MegalightYear", 9.460_730_472_580_8e21),
            ("Megaparsec", 3.085_677_581_491_367e22),
            ("Meter", 1.0),
            ("Microinch", 2.54e-8),
            ("Micrometer", 1e-6),
            ("Mil", 2.54e-5),
            ("Mile", 1609.344),
            ("Millimeter", 1e-3),
            ("Nanometer", 1e-9),
            ("NauticalMile", 1852.0),
            ("Parsec", 3.085_677_581_491_367e16),
            ("PrinterPica", 0.0254 / 6.0225),
            ("PrinterPoint", 0.0254 / 72.27),
            ("Shackle", 27.432),
            ("SolarRadius", 6.957_00e8),
            ("Twip", 0.0254 / 1440.0),
            ("UsSurveyFoot", 1200.0 / 3937.0),
            ("Yard", 0.9144),
        ],
        "mass" => &[
            ("Centigram", 1e-5),
            ("Decagram", 1e-2),
            ("Decigram", 1e-4),
            ("Grain", 6.479_891e-5),
            ("Gram", 1e-3),
            ("Hectogram", 0.1),
            ("Kilogram", 1.0),
            ("Kilopound", 453.592_37),
            ("Kilotonne", 1e6),
            ("LongHundredweight", 50.802_345_44),
            ("LongTon", 1_016.046_908_8),
            ("Megapound", 453_592.37),
            ("Megatonne", 1e9),
            ("Microgram", 1e-9),
            ("Milligram", 1e-6),
            ("Nanogram", 1e-12),
            ("Ounce", 0.028_349_523_125),
            ("Pound", 0.453_592_37),
            ("ShortHundredweight", 45.359_237),
            ("ShortTon", 907.184_74),
            ("Slug", 14.593_902_937_206_4),
            ("SolarMass", 1.988_47e30),
            ("Stone", 6.350_293_18),
            ("Tonne", 1000.0),
        ],
        "angle" => &[
            ("Arcminute", std::f64::consts::PI / 10_800.0),
            ("Arcsecond", std::f64::consts::PI / 648_000.0),
            ("Centiradian", 1e-2),
            ("Deciradian", 0.1),
            ("Degree", std::f64::consts::PI / 180.0),
            ("Gradian", std::f64::consts::PI / 200.0),
            ("Microdegree", std::f64::consts::PI / 180.0 * 1e-6),
            ("Microradian", 1e-6),
            ("Millidegree", std::f64::consts::PI / 180.0 * 1e-3),
            ("Milliradian", 1e-3),
            ("Nanodegree", std::f64::consts::PI / 180.0 * 1e-9),
            ("Nanoradian", 1e-9),
            ("NatoMil", 2.0 * std::f64::consts::PI / 6400.0),
            ("Radian", 1.0),
            ("Revolution", 2.0 * std::f64::consts::PI),
        ],
        "energy" => &[
            ("BritishThermalUnit", 1_055.055_852_62),
            ("Calorie", 4.184),
            ("DecathermEc", 1.055_055_852_62e9),
            ("DecathermImperial", 1.055_055_852_62e9),
            ("DecathermUs", 1.054_804e9),
            ("ElectronVolt", 1.602_176_634e-19),
            ("Erg", 1e-7),
            ("FootPound", 1.355_817_948_331_400_4),
            ("GigabritishThermalUnit", 1.055_055_852_62e12),
            ("GigaelectronVolt", 1.602_176_634e-10),
            ("Gigajoule", 1e9),
            ("GigawattDay", 8.64e13),
            ("GigawattHour", 3.6e12),
            ("HorsepowerHour", 2.684_519_537_696_173e6),
            ("Joule", 1.0),
            ("KilobritishThermalUnit", 1.055_055_852_62e6),
            ("Kilocalorie", 4184.0),
            ("KiloelectronVolt", 1.602_176_634e-16),
            ("Kilojoule", 1e3),
            ("KilowattDay", 8.64e7),
            ("KilowattHour", 3.6e6),
            ("MegabritishThermalUnit", 1.055_055_852_62e9),
            ("Megacalorie", 4.184e6),
            ("MegaelectronVolt", 1.602_176_634e-13),
            ("Megajoule", 1e6),
            ("MegawattDay", 8.64e10),
            ("MegawattHour", 3.6e9),
            ("Millijoule", 1e-3),
            ("TeraelectronVolt", 1.602_176_634e-7),
            ("TerawattDay", 8.64e16),
            ("TerawattHour", 3.6e15),
            ("ThermEc", 1.055_055_852_62e8),
            ("ThermImperial", 1.055_055_852_62e8),
            ("ThermUs", 1.054_804e8),
            ("WattDay", 86_400.0),
            ("WattHour", 3600.0),
        ],
        "force" => &[
            ("Decanewton", 10.0),
            ("Dyn", 1e-5),
            ("KilogramForce", 9.806_65),
            ("Kilonewton", 1e3),
            ("KiloPond", 9.806_65),
            ("KilopoundForce", 4_448.221_615_260_5),
            ("Meganewton", 1e6),
            ("Micronewton", 1e-6),
            ("Millinewton", 1e-3),
            ("Newton", 1.0),
            ("OunceForce", 0.278_013_850_953_781_2),
            ("Poundal", 0.138_254_954_376),
            ("PoundForce", 4.448_221_615_260_5),
            ("ShortTonForce", 8_896.443_230_521),
            ("TonneForce", 9806.65),
        ],
        "speed" => &[
            ("CentimeterPerHour", 0.01 / 3600.0),
            ("CentimeterPerMinute", 0.01 / 60.0),
            ("CentimeterPerSecond", 0.01),
            ("DecimeterPerMinute", 0.1 / 60.0),
            ("DecimeterPerSecond", 0.1),
            ("FootPerHour", 0.3048 / 3600.0),
            ("FootPerMinute", 0.3048 / 60.0),
            ("FootPerSecond", 0.3048),
            ("InchPerHour", 0.0254 / 3600.0),
            ("InchPerMinute", 0.0254 / 60.0),
            ("InchPerSecond", 0.0254),
            ("KilometerPerHour", 1000.0 / 3600.0),
            ("KilometerPerMinute", 1000.0 / 60.0),
            ("KilometerPerSecond", 1000.0),
            ("Knot", 1852.0 / 3600.0),
            ("MeterPerHour", 1.0 / 3600.0),
            ("MeterPerMinute", 1.0 / 60.0),
            ("MeterPerSecond", 1.0),
            ("MicrometerPerMinute", 1e-6 / 60.0),
            ("MicrometerPerSecond", 1e-6),
            ("MilePerHour", 1609.344 / 3600.0),
            ("MillimeterPerHour", 1e-3 / 3600.0),
            ("MillimeterPerMinute", 1e-3 / 60.0),
            ("MillimeterPerSecond", 1e-3),
            ("NanometerPerMinute", 1e-9 / 60.0),
            ("NanometerPerSecond", 1e-9),
            ("UsSurveyFootPerHour", 1200.0 / 3937.0 / 3600.0),
            ("UsSurveyFootPerMinute", 1200.0 / 3937.0 / 60.0),
            ("UsSurveyFootPerSecond", 1200.0 / 3937.0),
            ("YardPerHour", 0.9144 / 3600.0),
            ("YardPerMinute", 0.9144 / 60.0),
            ("YardPerSecond", 0.9144),
        ],
        "volume" => &[
            // UnitsNet's definition, which Kusto uses: 1 m³ = 0.000810714 acre-feet
            ("AcreFoot", 1.0 / 0.000_810_714),
            ("AuTablespoon", 2e-5),
            ("Centiliter", 1e-5),
            ("CubicCentimeter", 1e-6),
            ("CubicDecimeter", 1e-3),
            ("CubicFoot", 0.028_316_846_592),
            ("CubicHectometer", 1e6),
            ("CubicInch", 1.638_706_4e-5),
            ("CubicKilometer", 1e9),
            ("CubicMeter", 1.0),
            ("CubicMicrometer", 1e-18),
            ("CubicMile", 4.168_181_825_440_58e9),
            ("CubicMillimeter", 1e-9),
            ("CubicYard", 0.764_554_857_984),
            ("Decaliter", 1e-2),
            ("DecausGallon", 0.037_854_117_84),
            ("Deciliter", 1e-4),
            ("DeciusGallon", 3.785_411_784e-4),
            ("HectocubicFoot", 2.831_684_659_2),
            ("HectocubicMeter", 100.0),
            ("Hectoliter", 0.1),
            ("HectousGallon", 0.378_541_178_4),
            ("ImperialBeerBarrel", 0.163_659_24),
            ("ImperialGallon", 4.546_09e-3),
            ("ImperialOunce", 2.841_306_25e-5),
            ("ImperialPint", 5.682_612_5e-4),
            ("KilocubicFoot", 28.316_846_592),
            ("KilocubicMeter", 1000.0),
            ("KiloimperialGallon", 4.546_09),
            ("Kiloliter", 1.0),
            ("KilousGallon", 3.785_411_784),
            ("Liter", 1e-3),
            ("MegacubicFoot", 28_316.846_592),
            ("MegaimperialGallon", 4546.09),
            ("Megaliter", 1000.0),
            ("MegausGallon", 3_785.411_784),
            ("MetricCup", 2.5e-4),
            ("MetricTeaspoon", 5e-6),
            ("Microliter", 1e-9),
            ("Milliliter", 1e-6),
            ("OilBarrel", 0.158_987_294_928),
            ("UkTablespoon", 1.5e-5),
            ("UsBeerBarrel", 0.117_347_765_304),
            ("UsCustomaryCup", 2.365_882_365e-4),
            ("UsGallon", 3.785_411_784e-3),
            ("UsLegalCup", 2.4e-4),
            ("UsOunce", 2.957_352_956_25e-5),
            ("UsPint", 4.731_764_73e-4),
            ("UsQuart", 9.463_529_46e-4),
            ("UsTablespoon", 1.478_676_478_125e-5),
            ("UsTeaspoon", 4.928_921_593_75e-6),
        ],
        _ => return None,
    };
    table.iter().find(|(n, _)| *n == unit).map(|(_, f)| *f)
}

/// A temperature in kelvin, from `unit`; and back.
fn to_kelvin(unit: &str, x: f64) -> Option<f64> {
    Some(match unit {
        "DegreeCelsius" => x + 273.15,
        "DegreeDelisle" => 373.15 - x * 2.0 / 3.0,
        "DegreeFahrenheit" => (x + 459.67) * 5.0 / 9.0,
        "DegreeNewton" => x * 100.0 / 33.0 + 273.15,
        "DegreeRankine" => x * 5.0 / 9.0,
        "DegreeReaumur" => x * 5.0 / 4.0 + 273.15,
        "DegreeRoemer" => (x - 7.5) * 40.0 / 21.0 + 273.15,
        "Kelvin" => x,
        "MillidegreeCelsius" => x / 1000.0 + 273.15,
        "SolarTemperature" => x * 5778.0,
        _ => return None,
    })
}

fn from_kelvin(unit: &str, k: f64) -> Option<f64> {
    Some(match unit {
        "DegreeCelsius" => k - 273.15,
        "DegreeDelisle" => (373.15 - k) * 3.0 / 2.0,
        "DegreeFahrenheit" => k * 9.0 / 5.0 - 459.67,
        "DegreeNewton" => (k - 273.15) * 33.0 / 100.0,
        "DegreeRankine" => k * 9.0 / 5.0,
        "DegreeReaumur" => (k - 273.15) * 4.0 / 5.0,
        "DegreeRoemer" => (k - 273.15) * 21.0 / 40.0 + 7.5,
        "Kelvin" => k,
        "MillidegreeCelsius" => (k - 273.15) * 1000.0,
        "SolarTemperature" => k / 5778.0,
        _ => return None,
    })
}

/// `convert_<category>(value, from, to)`: null for an unknown unit.
fn convert(category: &str, x: f64, from: &str, to: &str) -> Option<f64> {
    if category == "temperature" {
        return from_kelvin(to, to_kelvin(from, x)?);
    }
    Some(x * unit_factor(category, from)? / unit_factor(category, to)?)
}

/// ln Γ(x) by the Lanczos approximation (g = 7, 9 terms), with the reflection formula below ½.
fn loggamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - loggamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Standard base64 that must be well formed (length a multiple of four), as .NET reads it.
fn base64_strict(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(4) {
        return None;
    }
    crate::strings::base64_decode(s)
}

/// A guid's 16 bytes in .NET's order (the first three groups little-endian).
fn guid_bytes(g: &str) -> Option<[u8; 16]> {
    let hex: String = g.trim().chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut b = [0u8; 16];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    Some(b)
}

fn guid_of_bytes(b: &[u8]) -> Option<String> {
    if b.len() != 16 {
        return None;
    }
    let mut b = b.to_vec();
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// `format_bytes(size [, precision [, unit]])`: sizes in powers of 1024.
fn format_bytes(size: f64, precision: usize, unit: Option<&str>) -> Option<String> {
    const UNITS: [&str; 7] = ["Bytes", "KB", "MB", "GB", "TB", "PB", "EB"];
    let k = match unit {
        Some(u) if !u.is_empty() => UNITS.iter().position(|x| x.eq_ignore_ascii_case(u))?,
        _ => {
            let mut k = 0;
            while k + 1 < UNITS.len() && size.abs() >= 1024f64.powi(k as i32 + 1) {
                k += 1;
            }
            k
        }
    };
    let v = size / 1024f64.powi(k as i32);
    Some(format!("{v:.precision$} {}", UNITS[k]))
}

/// The smallest list of CIDR blocks that covers `start`..=`end`.
fn cidr_list(start: u32, end: u32) -> Vec<String> {
    let mut out = Vec::new();
    let (mut cur, end) = (start as u64, end as u64);
    while cur <= end {
        let mut size = if cur == 0 {
            32
        } else {
            cur.trailing_zeros().min(32)
        };
        while size > 0 && cur + (1u64 << size) - 1 > end {
            size -= 1;
        }
        out.push(format!("{}/{}", Ipv4Addr::from(cur as u32), 32 - size));
        cur += 1u64 << size;
    }
    out
}

fn compress(data: &[u8], gzip: bool) -> Option<Vec<u8>> {
    use std::io::Write;
    if gzip {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).ok()?;
        e.finish().ok()
    } else {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).ok()?;
        e.finish().ok()
    }
}

fn decompress(data: &[u8], gzip: bool) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    if gzip {
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .ok()?;
    } else {
        flate2::read::ZlibDecoder::new(data)
            .read_to_end(&mut out)
            .ok()?;
    }
    Some(out)
}

/// The scalar function `name`: its result type and row function.
pub fn lookup(name: &str) -> Option<(KType, RowFn)> {
    let f: RowFn = match name {
        "parse_ipv6" => Arc::new(|a: &[Value]| {
            Value::Str(
                parse_ipv6(&sarg(a, 0))
                    .map(|(v, p)| format_ipv6(v & mask(p)))
                    .unwrap_or_default(),
            )
        }),
        "parse_ipv6_mask" => Arc::new(|a: &[Value]| {
            let m = match arg(a, 1).as_i64() {
                Some(m) if (0..=128).contains(&m) => m as u32,
                _ => return Value::Str(String::new()),
            };
            Value::Str(
                parse_ipv6(&sarg(a, 0))
                    .map(|(v, p)| format_ipv6(v & mask(p.min(m))))
                    .unwrap_or_default(),
            )
        }),
        "ipv6_compare" => Arc::new(|a: &[Value]| {
            limit_arg(a)
                .and_then(|l| compare_ipv6(&sarg(a, 0), &sarg(a, 1), l))
                .map_or(Value::Null, Value::Long)
        }),
        "ipv6_is_match" => Arc::new(|a: &[Value]| {
            limit_arg(a)
                .and_then(|l| compare_ipv6(&sarg(a, 0), &sarg(a, 1), l))
                .map_or(Value::Null, |c| Value::Bool(c == 0))
        }),
        "ipv6_is_in_range" => Arc::new(|a: &[Value]| {
            in_range(&sarg(a, 0), &sarg(a, 1)).map_or(Value::Null, Value::Bool)
        }),
        "ipv6_is_in_any_range" => Arc::new(|a: &[Value]| {
            let ip = sarg(a, 0);
            if parse_ipv6(&ip).is_none() {
                return Value::Null;
            }
            let mut ranges: Vec<String> = Vec::new();
            for v in a.iter().skip(1) {
                match v {
                    Value::Dyn(Json::Array(items)) => {
                        ranges.extend(items.iter().map(|j| Value::Dyn(j.clone()).to_kstring()))
                    }
                    v => ranges.push(v.to_kstring()),
                }
            }
            Value::Bool(ranges.iter().any(|r| in_range(&ip, r) == Some(true)))
        }),
        "regex_quote" => Arc::new(|a: &[Value]| Value::Str(regex::escape(&sarg(a, 0)))),
        "around" => Arc::new(|a: &[Value]| {
            let (v, c, d) = (arg(a, 0), arg(a, 1), arg(a, 2));
            if v.is_null() || c.is_null() || d.is_null() {
                return Value::Null;
            }
            match (v.clone().undyn(), c.clone().undyn(), d.clone().undyn()) {
                (Value::DateTime(x), Value::DateTime(m), Value::TimeSpan(w))
                | (Value::TimeSpan(x), Value::TimeSpan(m), Value::TimeSpan(w)) => {
                    Value::Bool(x >= m.saturating_sub(w) && x <= m.saturating_add(w))
                }
                _ => match (v.as_f64(), c.as_f64(), d.as_f64()) {
                    (Some(x), Some(m), Some(w)) => Value::Bool(x >= m - w && x <= m + w),
                    _ => Value::Null,
                },
            }
        }),
        "loggamma" => Arc::new(|a: &[Value]| {
            arg(a, 0)
                .as_f64()
                .map_or(Value::Null, |x| Value::Real(loggamma(x)))
        }),
        "has_any_index" => Arc::new(|a: &[Value]| {
            let text = sarg(a, 0);
            let Value::Dyn(Json::Array(items)) = arg(a, 1) else {
                return Value::Null;
            };
            let found = items
                .iter()
                .position(|j| crate::strings::has(&text, &Value::Dyn(j.clone()).to_kstring()));
            Value::Long(found.map_or(-1, |i| i as i64))
        }),
        "indexof_regex" => {
            let cache: Arc<std::sync::Mutex<Option<(String, regex::Regex)>>> =
                Arc::new(std::sync::Mutex::new(None));
            Arc::new(move |a: &[Value]| {
                let text = sarg(a, 0);
                let pat = sarg(a, 1);
                let start = if a.len() > 2 {
                    arg(a, 2).as_i64()
                } else {
                    Some(0)
                };
                let len = if a.len() > 3 {
                    arg(a, 3).as_i64()
                } else {
                    Some(-1)
                };
                let occurrence = if a.len() > 4 {
                    arg(a, 4).as_i64()
                } else {
                    Some(1)
                };
                let (Some(start), Some(len), Some(occurrence)) = (start, len, occurrence) else {
                    return Value::Null;
                };
                if start < 0 || occurrence <= 0 || len < -1 {
                    return Value::Null;
                }
                let Ok(mut guard) = cache.lock() else {
                    return Value::Null;
                };
                if guard.as_ref().is_none_or(|(p, _)| *p != pat) {
                    match regex::Regex::new(&pat) {
                        Ok(re) => *guard = Some((pat.clone(), re)),
                        Err(_) => return Value::Null,
                    }
                }
                let Some((_, re)) = guard.as_ref() else {
                    return Value::Null;
                };
                let chars: Vec<(usize, char)> = text.char_indices().collect();
                let byte_at = |k: usize| -> Option<usize> {
                    match chars.get(k) {
                        Some((i, _)) => Some(*i),
                        None if k == chars.len() => Some(text.len()),
                        None => None,
                    }
                };
                let Some(from) = byte_at(start as usize) else {
                    return Value::Long(-1);
                };
                let to = if len == -1 {
                    text.len()
                } else {
                    byte_at(start as usize + len as usize).unwrap_or(text.len())
                };
                let window = &text[from..to];
                let found = re
                    .find_iter(window)
                    .nth(occurrence as usize - 1)
                    .map(|m| m.start());
                match found {
                    Some(b) => Value::Long(start + text[from..from + b].chars().count() as i64),
                    None => Value::Long(-1),
                }
            })
        }
        "format_bytes" => Arc::new(|a: &[Value]| {
            let Some(size) = arg(a, 0).as_f64() else {
                return Value::Str(String::new());
            };
            let precision = if a.len() > 1 {
                arg(a, 1).as_i64().unwrap_or(0).clamp(0, 15) as usize
            } else {
                0
            };
            let unit = if a.len() > 2 { Some(sarg(a, 2)) } else { None };
            Value::Str(format_bytes(size, precision, unit.as_deref()).unwrap_or_default())
        }),
        "base64_decode_toguid" => Arc::new(|a: &[Value]| {
            base64_strict(&sarg(a, 0))
                .and_then(|b| guid_of_bytes(&b))
                .map_or(Value::Null, Value::Str)
        }),
        "base64_encode_fromguid" => Arc::new(|a: &[Value]| {
            guid_bytes(&sarg(a, 0)).map_or(Value::Str(String::new()), |b| {
                Value::Str(crate::strings::base64_encode(&b))
            })
        }),
        "base64_decode_toarray" => Arc::new(|a: &[Value]| {
            base64_strict(&sarg(a, 0)).map_or(Value::Null, |b| {
                Value::Dyn(Json::Array(b.into_iter().map(Json::from).collect()))
            })
        }),
        "base64_encode_fromarray" => Arc::new(|a: &[Value]| {
            let Value::Dyn(Json::Array(items)) = arg(a, 0) else {
                return Value::Str(String::new());
            };
            let bytes: Option<Vec<u8>> = items
                .iter()
                .map(|j| j.as_u64().and_then(|x| u8::try_from(x).ok()))
                .collect();
            Value::Str(bytes.map_or(String::new(), |b| crate::strings::base64_encode(&b)))
        }),
        "zlib_compress_to_base64_string" | "gzip_compress_to_base64_string" => {
            let gzip = name.starts_with("gzip");
            Arc::new(move |a: &[Value]| {
                Value::Str(
                    compress(sarg(a, 0).as_bytes(), gzip)
                        .map_or(String::new(), |b| crate::strings::base64_encode(&b)),
                )
            })
        }
        "zlib_decompress_from_base64_string" | "gzip_decompress_from_base64_string" => {
            let gzip = name.starts_with("gzip");
            Arc::new(move |a: &[Value]| {
                Value::Str(
                    base64_strict(&sarg(a, 0))
                        .and_then(|b| decompress(&b, gzip))
                        .and_then(|b| String::from_utf8(b).ok())
                        .unwrap_or_default(),
                )
            })
        }
        "parse_csv" => Arc::new(|a: &[Value]| {
            let text = sarg(a, 0);
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            let mut rec = csv::StringRecord::new();
            match r.read_record(&mut rec) {
                Ok(true) => Value::Dyn(Json::Array(
                    rec.iter().map(|f| Json::String(f.to_string())).collect(),
                )),
                Ok(false) => Value::Dyn(Json::Array(Vec::new())),
                Err(_) => Value::Null,
            }
        }),
        "ipv4_range_to_cidr_list" => Arc::new(|a: &[Value]| {
            let (Ok(s), Ok(e)) = (
                sarg(a, 0).trim().parse::<Ipv4Addr>(),
                sarg(a, 1).trim().parse::<Ipv4Addr>(),
            ) else {
                return Value::Null;
            };
            let (s, e) = (u32::from(s), u32::from(e));
            if s > e {
                return Value::Null;
            }
            Value::Dyn(Json::Array(
                cidr_list(s, e).into_iter().map(Json::String).collect(),
            ))
        }),
        n if n.starts_with("convert_") => {
            let category = n.trim_start_matches("convert_").to_string();
            if !matches!(
                category.as_str(),
                "length"
                    | "mass"
                    | "angle"
                    | "energy"
                    | "force"
                    | "speed"
                    | "volume"
                    | "temperature"
            ) {
                return None;
            }
            Arc::new(move |a: &[Value]| {
                let Some(x) = arg(a, 0).as_f64() else {
                    return Value::Null;
                };
                convert(&category, x, &sarg(a, 1), &sarg(a, 2)).map_or(Value::Null, Value::Real)
            })
        }
        _ => return None,
    };
    let t = match name {
        "parse_ipv6"
        | "parse_ipv6_mask"
        | "regex_quote"
        | "format_bytes"
        | "base64_encode_fromguid"
        | "base64_encode_fromarray"
        | "zlib_compress_to_base64_string"
        | "zlib_decompress_from_base64_string"
        | "gzip_compress_to_base64_string"
        | "gzip_decompress_from_base64_string" => KType::String,
        "base64_decode_toguid" => KType::Guid,
        "base64_decode_toarray" | "parse_csv" | "ipv4_range_to_cidr_list" => KType::Dynamic,
        "ipv6_compare" | "has_any_index" | "indexof_regex" => KType::Long,
        "loggamma" => KType::Real,
        n if n.starts_with("convert_") => KType::Real,
        _ => KType::Bool,
    };
    Some((t, f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, args: &[Value]) -> Value {
        match lookup(name) {
            Some((_, f)) => f(args),
            None => panic!("no {name}"),
        }
    }

    fn s(x: &str) -> Value {
        Value::Str(x.to_string())
    }

    #[test]
    fn ipv6_canonical_forms_and_masks() {
        assert_eq!(
            run("parse_ipv6", &[s("192.168.255.255/24")]).to_kstring(),
            "0000:0000:0000:0000:0000:ffff:c0a8:ff00"
        );
        assert_eq!(
            run(
                "parse_ipv6_mask",
                &[s("fe80::85d:e82c:9446:7994/120"), Value::Long(124)]
            )
            .to_kstring(),
            "fe80:0000:0000:0000:085d:e82c:9446:7900"
        );
        assert_eq!(
            run(
                "parse_ipv6_mask",
                &[s("::192.168.255.255/24"), Value::Long(128)]
            )
            .to_kstring(),
            "0000:0000:0000:0000:0000:ffff:c0a8:ff00"
        );
        assert_eq!(run("parse_ipv6", &[s("not an address")]).to_kstring(), "");
    }

    #[test]
    fn ipv6_comparisons_use_the_shortest_prefix() {
        let cmp = |a: &str, b: &str| run("ipv6_compare", &[s(a), s(b)]).as_i64();
        assert_eq!(cmp("192.168.1.1/24", "192.168.1.255"), Some(0));
        assert_eq!(cmp("192.168.1.1", "::ffff:c0a8:0101"), Some(0));
        assert_eq!(cmp("::192.168.1.1/30", "192.168.1.255/24"), Some(0));
        assert_eq!(cmp("fe80::1", "fe80::2"), Some(-1));
        assert_eq!(
            run(
                "ipv6_is_match",
                &[s("192.168.1.1"), s("192.168.1.0"), Value::Long(31)]
            ),
            Value::Bool(true)
        );
        assert_eq!(
            run(
                "ipv6_is_in_range",
                &[
                    s("a5e:f127:8a9d:146d:e102:b5d3:c755:abcd"),
                    s("0:0:0:0:0:ffff:c0a8:ac/60")
                ]
            ),
            Value::Bool(false)
        );
    }

    #[test]
    fn unit_conversions_match_the_pages() {
        let c = |n: &str, x: f64, f: &str, t: &str| {
            run(n, &[Value::Real(x), s(f), s(t)])
                .as_f64()
                .unwrap_or(f64::NAN)
        };
        assert!((c("convert_length", 1.2, "Meter", "Foot") - 3.937_007_874_015_75).abs() < 1e-12);
        assert!((c("convert_mass", 1.2, "Kilogram", "Pound") - 2.645_547_146_218_53).abs() < 1e-12);
        assert!((c("convert_angle", 1.2, "Degree", "Arcminute") - 72.0).abs() < 1e-9);
        assert!((c("convert_temperature", 1.2, "Kelvin", "DegreeCelsius") + 271.95).abs() < 1e-9);
        assert!(
            (c("convert_speed", 1.2, "MeterPerSecond", "CentimeterPerHour") - 432_000.0).abs()
                < 1e-6
        );
        assert!(run(
            "convert_length",
            &[Value::Real(1.0), s("Meter"), s("Furlong")]
        )
        .is_null());
    }

    #[test]
    fn byte_formats_guids_and_compression() {
        let fb = |args: &[Value]| run("format_bytes", args).to_kstring();
        assert_eq!(fb(&[Value::Long(564)]), "564 Bytes");
        assert_eq!(fb(&[Value::Long(10332), Value::Long(1)]), "10.1 KB");
        assert_eq!(fb(&[Value::Long(20010332)]), "19 MB");
        assert_eq!(fb(&[Value::Long(20010332), Value::Long(2)]), "19.08 MB");
        assert_eq!(
            fb(&[Value::Long(20010332), Value::Long(0), s("KB")]),
            "19541 KB"
        );
        assert_eq!(
            run("base64_decode_toguid", &[s("JpbpECu8dUy7Pv5gbeJXAA==")]).to_kstring(),
            "10e99626-bc2b-4c75-bb3e-fe606de25700"
        );
        assert_eq!(
            run(
                "base64_encode_fromguid",
                &[s("ae3133f2-6e22-49ae-b06a-16e6a9b212eb")]
            )
            .to_kstring(),
            "8jMxriJurkmwahbmqbIS6w=="
        );
        assert_eq!(
            run(
                "zlib_decompress_from_base64_string",
                &[s("eJwLSS0uUSguKcrMS1cwNDIGACxqBQ4=")]
            )
            .to_kstring(),
            "Test string 123"
        );
        assert_eq!(
            run("zlib_decompress_from_base64_string", &[s("x0x0x0")]).to_kstring(),
            ""
        );
        let z = run(
            "gzip_compress_to_base64_string",
            &[s("1234567890qwertyuiop")],
        );
        assert_eq!(
            run("gzip_decompress_from_base64_string", &[z]).to_kstring(),
            "1234567890qwertyuiop"
        );
        assert!(run("base64_decode_toarray", &[s("U3RyaW5n0KHR0tGA0L7Rh9C60LA")]).is_null());
    }

    #[test]
    fn small_helpers_follow_their_pages() {
        let lg = run("loggamma", &[Value::Long(5)]).as_f64().unwrap_or(0.0);
        assert!((lg - 24f64.ln()).abs() < 1e-12);
        let arr = |v: &str| Value::Dyn(serde_json::from_str(v).unwrap_or(Json::Null));
        assert_eq!(
            run(
                "has_any_index",
                &[s("this is an example"), arr(r#"["not","example"]"#)]
            ),
            Value::Long(1)
        );
        assert_eq!(
            run("has_any_index", &[s("Example number 2"), arr("[1,2,3]")]),
            Value::Long(1)
        );
        assert_eq!(
            run(
                "ipv4_range_to_cidr_list",
                &[s("1.1.128.0"), s("1.1.140.255")]
            )
            .to_json(),
            serde_json::json!(["1.1.128.0/21", "1.1.136.0/22", "1.1.140.0/24"])
        );
        assert_eq!(
            run(
                "parse_csv",
                &[s("aa,\"b,b,b\",cc,\"Escaping quotes: \"\"Title\"\"\"")]
            )
            .to_json(),
            serde_json::json!(["aa", "b,b,b", "cc", "Escaping quotes: \"Title\""])
        );
        assert_eq!(
            run("indexof_regex", &[s("abcabc"), s("a.c"), Value::Long(1)]),
            Value::Long(3)
        );
        let t = Value::DateTime(1_000_000_000_000);
        assert_eq!(
            run(
                "around",
                &[
                    t.clone(),
                    Value::DateTime(1_060_000_000_000),
                    Value::TimeSpan(60_000_000_000)
                ]
            ),
            Value::Bool(true)
        );
    }
}
