//! Geospatial scalar functions with a closed definition: geohash cells, H3 cells (through the
//! `h3o` crate, Uber's H3 in Rust), great-circle distance, and point-in-circle /
//! point-in-polygon tests.
//!
//! Coordinates are (longitude, latitude) in degrees, longitude in [-180, 180] and latitude
//! in [-90, 90]; anything else gives null. Distances are on a sphere of radius 6,371,010 m,
//! the radius that reproduces the geo_distance_2points page's figure; polygon edges are
//! great-circle arcs (geodesics), as the geo pages define them.

use crate::udf::RowFn;
use crate::value::{KType, Value};
use serde_json::{json, Value as Json};
use std::sync::Arc;

pub const NAMES: &[&str] = &[
    "geo_distance_2points",
    "geo_h3cell_children",
    "geo_h3cell_level",
    "geo_h3cell_neighbors",
    "geo_h3cell_parent",
    "geo_h3cell_rings",
    "geo_h3cell_to_central_point",
    "geo_h3cell_to_polygon",
    "geo_point_to_h3cell",
    "geo_geohash_neighbors",
    "geo_geohash_to_central_point",
    "geo_geohash_to_polygon",
    "geo_point_in_circle",
    "geo_point_in_polygon",
    "geo_point_to_geohash",
];

const EARTH_RADIUS_M: f64 = 6_371_010.0;
const BASE32: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

fn arg(a: &[Value], i: usize) -> Value {
    a.get(i).cloned().unwrap_or(Value::Null)
}

/// A valid (longitude, latitude) from two arguments.
fn point(a: &[Value], i: usize) -> Option<(f64, f64)> {
    let lon = arg(a, i).as_f64()?;
    let lat = arg(a, i + 1).as_f64()?;
    ((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)).then_some((lon, lat))
}

/// The geohash of a point with `len` characters.
pub fn geohash(lon: f64, lat: f64, len: usize) -> String {
    let (mut lo, mut la) = ((-180.0, 180.0), (-90.0, 90.0));
    let mut out = String::with_capacity(len);
    let (mut ch, mut bits, mut even) = (0usize, 0, true);
    while out.len() < len {
        let (r, v) = if even { (&mut lo, lon) } else { (&mut la, lat) };
        let mid = (r.0 + r.1) / 2.0;
        if v >= mid {
            ch = ch * 2 + 1;
            r.0 = mid;
        } else {
            ch *= 2;
            r.1 = mid;
        }
        even = !even;
        bits += 1;
        if bits == 5 {
            out.push(BASE32[ch] as char);
            ch = 0;
            bits = 0;
        }
    }
    out
}

/// The cell of a geohash: ((min lon, max lon), (min lat, max lat)).
pub fn geohash_cell(h: &str) -> Option<((f64, f64), (f64, f64))> {
    if h.is_empty() || h.len() > 18 {
        return None;
    }
    let (mut lo, mut la) = ((-180.0, 180.0), (-90.0, 90.0));
    let mut even = true;
    for c in h.bytes() {
        let v = BASE32.iter().position(|b| *b == c.to_ascii_lowercase())?;
        for i in (0..5).rev() {
            let r = if even { &mut lo } else { &mut la };
            let mid = (r.0 + r.1) / 2.0;
            if v >> i & 1 == 1 {
                r.0 = mid;
            } else {
                r.1 = mid;
            }
            even = !even;
        }
    }
    Some((lo, la))
}

fn polygon_of_cell(((x0, x1), (y0, y1)): ((f64, f64), (f64, f64))) -> Json {
    json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})
}

/// The (up to) eight cells around a geohash, in the order the geo_geohash_neighbors page
/// lists them: south-west, north-west, south-east, north, west, north-east, east, south.
/// Longitude wraps; there is nothing beyond a pole.
fn geohash_neighbors(h: &str) -> Option<Vec<String>> {
    let ((x0, x1), (y0, y1)) = geohash_cell(h)?;
    let (w, ht) = (x1 - x0, y1 - y0);
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let mut out = Vec::new();
    for (dx, dy) in [
        (-1, -1),
        (-1, 1),
        (1, -1),
        (0, 1),
        (-1, 0),
        (1, 1),
        (1, 0),
        (0, -1),
    ] {
        let y = cy + dy as f64 * ht;
        if !(-90.0..=90.0).contains(&y) {
            continue;
        }
        let mut x = cx + dx as f64 * w;
        if x > 180.0 {
            x -= 360.0;
        } else if x < -180.0 {
            x += 360.0;
        }
        let n = geohash(x, y, h.len());
        if n != h && !out.contains(&n) {
            out.push(n);
        }
    }
    Some(out)
}

/// Great-circle distance in metres (haversine).
pub fn distance(p: (f64, f64), q: (f64, f64)) -> f64 {
    let (l1, f1) = (p.0.to_radians(), p.1.to_radians());
    let (l2, f2) = (q.0.to_radians(), q.1.to_radians());
    let h = ((f2 - f1) / 2.0).sin().powi(2) + f1.cos() * f2.cos() * ((l2 - l1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

fn unit(p: (f64, f64)) -> [f64; 3] {
    let (l, f) = (p.0.to_radians(), p.1.to_radians());
    [f.cos() * l.cos(), f.cos() * l.sin(), f.sin()]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// A ring's vertices, validated: closed, at least three distinct vertices, valid coordinates.
fn ring(j: &Json) -> Option<Vec<(f64, f64)>> {
    let pts: Vec<(f64, f64)> = j
        .as_array()?
        .iter()
        .map(|p| {
            let c = p.as_array()?;
            let (lon, lat) = (c.first()?.as_f64()?, c.get(1)?.as_f64()?);
            ((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)).then_some((lon, lat))
        })
        .collect::<Option<_>>()?;
    if pts.len() < 4 || pts.first() != pts.last() {
        return None;
    }
    let mut distinct: Vec<(f64, f64)> = Vec::new();
    for p in &pts[..pts.len() - 1] {
        if !distinct.contains(p) {
            distinct.push(*p);
        }
    }
    (distinct.len() >= 3).then_some(pts)
}

/// Whether `p` is inside the closed ring, edges being great-circle arcs: the winding number
/// of the ring around `p`, from the signed angles the edges subtend at `p`.
fn in_ring(p: (f64, f64), ring: &[(f64, f64)]) -> bool {
    let c = unit(p);
    let tangent = |v: [f64; 3]| {
        let d = dot(v, c);
        [v[0] - d * c[0], v[1] - d * c[1], v[2] - d * c[2]]
    };
    let mut total = 0.0;
    for w in ring.windows(2) {
        let (a, b) = (tangent(unit(w[0])), tangent(unit(w[1])));
        total += dot(cross(a, b), c).atan2(dot(a, b));
    }
    total.abs() > std::f64::consts::PI
}

/// The polygons of a GeoJSON Polygon or MultiPolygon: each an outer ring and holes.
/// Rings of (longitude, latitude) vertices: an outer ring, then holes.
type Rings = Vec<Vec<(f64, f64)>>;

fn polygons(g: &Json) -> Option<Vec<Rings>> {
    let coords = g.get("coordinates")?;
    let rings_of = |poly: &Json| -> Option<Rings> {
        let rs: Rings = poly.as_array()?.iter().map(ring).collect::<Option<_>>()?;
        (!rs.is_empty()).then_some(rs)
    };
    match g.get("type")?.as_str()? {
        "Polygon" => Some(vec![rings_of(coords)?]),
        "MultiPolygon" => coords.as_array()?.iter().map(rings_of).collect(),
        _ => None,
    }
}

fn point_in_polygon(p: (f64, f64), g: &Json) -> Option<bool> {
    let polys = polygons(g)?;
    Some(
        polys
            .iter()
            .any(|rings| in_ring(p, &rings[0]) && !rings[1..].iter().any(|hole| in_ring(p, hole))),
    )
}

fn dynamic(v: &Value) -> Option<Json> {
    match v {
        Value::Dyn(j) => Some(j.clone()),
        Value::Str(s) => serde_json::from_str(s).ok(),
        _ => None,
    }
}

fn h3cell(v: &Value) -> Option<h3o::CellIndex> {
    v.to_kstring().trim().parse().ok()
}

fn h3res(v: &Value) -> Option<h3o::Resolution> {
    let r = u8::try_from(v.as_i64()?).ok()?;
    h3o::Resolution::try_from(r).ok()
}

fn h3_str(c: h3o::CellIndex) -> Json {
    Json::String(c.to_string())
}

/// At most this many children: the geo_h3cell_children page's example asks for a level-9
/// cell's level-15 children (7^6 = 117,649) and gets null.
const MAX_H3_CHILDREN: u64 = 1 << 16;

/// The longest ring distance geo_h3cell_rings accepts (its page: [0, 142]).
const MAX_H3_RING: i64 = 142;

fn h3_lookup(name: &str) -> Option<(KType, RowFn)> {
    Some(match name {
        "geo_point_to_h3cell" => (
            KType::String,
            Arc::new(|a: &[Value]| {
                let res = if a.len() > 2 {
                    h3res(&arg(a, 2))
                } else {
                    h3res(&Value::Long(6))
                };
                match (point(a, 0), res) {
                    (Some((lon, lat)), Some(r)) => match h3o::LatLng::new(lat, lon) {
                        Ok(ll) => Value::Str(ll.to_cell(r).to_string()),
                        Err(_) => Value::Str(String::new()),
                    },
                    _ => Value::Str(String::new()),
                }
            }),
        ),
        "geo_h3cell_level" => (
            KType::Int,
            Arc::new(|a: &[Value]| {
                h3cell(&arg(a, 0)).map_or(Value::Null, |c| {
                    Value::Long(u8::from(c.resolution()) as i64)
                })
            }),
        ),
        "geo_h3cell_parent" => (
            KType::String,
            Arc::new(|a: &[Value]| {
                let Some(c) = h3cell(&arg(a, 0)) else {
                    return Value::Str(String::new());
                };
                let res = if a.len() > 1 {
                    h3res(&arg(a, 1))
                } else {
                    u8::from(c.resolution())
                        .checked_sub(1)
                        .and_then(|r| h3o::Resolution::try_from(r).ok())
                };
                match res.and_then(|r| c.parent(r)) {
                    Some(p) => Value::Str(p.to_string()),
                    None => Value::Str(String::new()),
                }
            }),
        ),
        "geo_h3cell_children" => (
            KType::Dynamic,
            Arc::new(|a: &[Value]| {
                let Some(c) = h3cell(&arg(a, 0)) else {
                    return Value::Null;
                };
                let res = if a.len() > 1 {
                    h3res(&arg(a, 1))
                } else {
                    c.resolution().succ()
                };
                let Some(r) = res else {
                    return Value::Null;
                };
                if r < c.resolution() || c.children_count(r) > MAX_H3_CHILDREN {
                    return Value::Null;
                }
                Value::Dyn(Json::Array(c.children(r).map(h3_str).collect()))
            }),
        ),
        "geo_h3cell_neighbors" => (
            KType::Dynamic,
            Arc::new(|a: &[Value]| match h3cell(&arg(a, 0)) {
                Some(c) => Value::Dyn(Json::Array(
                    c.grid_disk::<Vec<_>>(1)
                        .into_iter()
                        .filter(|n| *n != c)
                        .map(h3_str)
                        .collect(),
                )),
                None => Value::Null,
            }),
        ),
        "geo_h3cell_rings" => (
            KType::Dynamic,
            Arc::new(|a: &[Value]| {
                let (Some(c), Some(k)) = (h3cell(&arg(a, 0)), arg(a, 1).as_i64()) else {
                    return Value::Null;
                };
                if !(0..=MAX_H3_RING).contains(&k) {
                    return Value::Null;
                }
                let mut rings: Vec<Vec<Json>> = vec![Vec::new(); k as usize + 1];
                for (cell, d) in c.grid_disk_distances::<Vec<_>>(k as u32) {
                    if let Some(r) = rings.get_mut(d as usize) {
                        r.push(h3_str(cell));
                    }
                }
                Value::Dyn(Json::Array(rings.into_iter().map(Json::Array).collect()))
            }),
        ),
        "geo_h3cell_to_central_point" => (
            KType::Dynamic,
            Arc::new(|a: &[Value]| match h3cell(&arg(a, 0)) {
                Some(c) => {
                    let ll = h3o::LatLng::from(c);
                    Value::Dyn(json!({"type": "Point", "coordinates": [ll.lng(), ll.lat()]}))
                }
                None => Value::Null,
            }),
        ),
        "geo_h3cell_to_polygon" => (
            KType::Dynamic,
            Arc::new(|a: &[Value]| match h3cell(&arg(a, 0)) {
                Some(c) => {
                    let mut ring: Vec<Json> = c
                        .boundary()
                        .iter()
                        .map(|p| json!([p.lng(), p.lat()]))
                        .collect();
                    if let Some(first) = ring.first().cloned() {
                        ring.push(first);
                    }
                    Value::Dyn(json!({"type": "Polygon", "coordinates": [ring]}))
                }
                None => Value::Null,
            }),
        ),
        _ => return None,
    })
}

pub fn lookup(name: &str) -> Option<(KType, RowFn)> {
    if name.contains("h3cell") {
        return h3_lookup(name);
    }
    Some(match name {
        "geo_point_to_geohash" => (
            KType::String,
            Arc::new(|a: &[Value]| {
                let accuracy = if a.len() > 2 {
                    arg(a, 2).as_i64()
                } else {
                    Some(5)
                };
                match (point(a, 0), accuracy) {
                    (Some((lon, lat)), Some(n)) if (1..=18).contains(&n) => {
                        Value::Str(geohash(lon, lat, n as usize))
                    }
                    _ => Value::Str(String::new()),
                }
            }),
        ),
        "geo_geohash_to_central_point" => (
            KType::Dynamic,
            Arc::new(|a: &[Value]| match geohash_cell(&arg(a, 0).to_kstring()) {
                Some(((x0, x1), (y0, y1))) => Value::Dyn(
                    json!({"type": "Point", "coordinates": [(x0 + x1) / 2.0, (y0 + y1) / 2.0]}),
                ),
                None => Value::Null,
            }),
        ),
        "geo_geohash_to_polygon" => (
            KType::Dynamic,
            Arc::new(|a: &[Value]| {
                geohash_cell(&arg(a, 0).to_kstring())
                    .map_or(Value::Null, |c| Value::Dyn(polygon_of_cell(c)))
            }),
        ),
        "geo_geohash_neighbors" => (
            KType::Dynamic,
            Arc::new(|a: &[Value]| {
                geohash_neighbors(&arg(a, 0).to_kstring()).map_or(Value::Null, |v| {
                    Value::Dyn(Json::Array(v.into_iter().map(Json::String).collect()))
                })
            }),
        ),
        "geo_distance_2points" => (
            KType::Real,
            Arc::new(|a: &[Value]| match (point(a, 0), point(a, 2)) {
                (Some(p), Some(q)) => Value::Real(distance(p, q)),
                _ => Value::Null,
            }),
        ),
        "geo_point_in_circle" => (
            KType::Bool,
            Arc::new(
                |a: &[Value]| match (point(a, 0), point(a, 2), arg(a, 4).as_f64()) {
                    (Some(p), Some(c), Some(r)) if r >= 0.0 => Value::Bool(distance(p, c) <= r),
                    _ => Value::Null,
                },
            ),
        ),
        "geo_point_in_polygon" => (
            KType::Bool,
            Arc::new(|a: &[Value]| match (point(a, 0), dynamic(&arg(a, 2))) {
                (Some(p), Some(g)) => point_in_polygon(p, &g).map_or(Value::Null, Value::Bool),
                _ => Value::Null,
            }),
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geohash_encodes_and_decodes_as_the_pages_show() {
        assert_eq!(geohash(139.806115, 35.554128, 12), "xn76m27ty9g4");
        assert_eq!(geohash(-80.195829, 25.802215, 8), "dhwfz15h");
        assert_eq!(
            polygon_of_cell(geohash_cell("dr5ru").unwrap_or_default()),
            json!({"type":"Polygon","coordinates":[[[-74.00390625,40.7373046875],[-73.9599609375,40.7373046875],[-73.9599609375,40.78125],[-74.00390625,40.78125],[-74.00390625,40.7373046875]]]})
        );
        assert_eq!(
            geohash_neighbors("sunny").unwrap_or_default(),
            ["sunnt", "sunpj", "sunnx", "sunpn", "sunnv", "sunpp", "sunnz", "sunnw"]
        );
        assert!(geohash_cell("a").is_none());
    }

    #[test]
    fn distances_circles_and_polygons() {
        let d = distance((-122.407628, 47.578557), (-118.275287, 34.019056));
        assert!((d - 1_546_754.351_973_81).abs() < 1e-3, "{d}");
        assert!(distance((-122.143564, 47.535677), (-122.100896, 47.527351)) <= 3500.0);
        assert!(distance((-122.137575, 47.630683), (-122.100896, 47.527351)) > 3500.0);
        let square = json!({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]]});
        assert_eq!(point_in_polygon((1.0, 1.0), &square), Some(true));
        assert_eq!(point_in_polygon((5.0, 5.0), &square), Some(false));
        assert_eq!(point_in_polygon((11.0, 5.0), &square), Some(false));
        let degenerate = json!({"type": "Polygon","coordinates": [[[0,0],[10,10],[10,10],[0,0]]]});
        assert_eq!(point_in_polygon((1.0, 1.0), &degenerate), None);
    }

    fn h3(name: &str, args: &[Value]) -> Json {
        match lookup(name) {
            Some((_, f)) => f(args).to_json(),
            None => panic!("no {name}"),
        }
    }

    fn s(x: &str) -> Value {
        Value::Str(x.to_string())
    }

    #[test]
    fn h3_cells_follow_the_pages() {
        assert_eq!(
            h3(
                "geo_point_to_h3cell",
                &[
                    Value::Real(-74.04450446039874),
                    Value::Real(40.689250859314974),
                    Value::Long(6)
                ]
            ),
            json!("862a1072fffffff")
        );
        assert_eq!(h3("geo_h3cell_level", &[s("862a1072fffffff")]), json!(6));
        assert_eq!(
            h3("geo_h3cell_parent", &[s("862a1072fffffff")]),
            json!("852a1073fffffff")
        );
        assert_eq!(
            h3("geo_h3cell_parent", &[s("862a1072fffffff"), Value::Long(1)]),
            json!("812a3ffffffffff")
        );
        assert_eq!(
            h3(
                "geo_h3cell_parent",
                &[s("862a1072fffffff"), Value::Long(15)]
            ),
            json!("")
        );
        assert_eq!(
            h3("geo_h3cell_neighbors", &[s("862a1072fffffff")]),
            json!([
                "862a10727ffffff",
                "862a10707ffffff",
                "862a1070fffffff",
                "862a10777ffffff",
                "862a100dfffffff",
                "862a100d7ffffff"
            ])
        );
        assert_eq!(
            h3("geo_h3cell_rings", &[s("861f8894fffffff"), Value::Long(1)]),
            json!([
                ["861f8894fffffff"],
                [
                    "861f88947ffffff",
                    "861f8895fffffff",
                    "861f88867ffffff",
                    "861f8d497ffffff",
                    "861f8d4b7ffffff",
                    "861f8896fffffff"
                ]
            ])
        );
        assert_eq!(
            h3(
                "geo_h3cell_rings",
                &[s("861f8894fffffff"), Value::Long(150)]
            ),
            Json::Null
        );
        let kids = h3(
            "geo_h3cell_children",
            &[s("862a1072fffffff"), Value::Long(9)],
        );
        assert_eq!(kids.as_array().map(|v| v.len()), Some(343));
        assert_eq!(h3("geo_h3cell_level", &[s("abc")]), Json::Null);
        let p = h3("geo_h3cell_to_polygon", &[s("862a1072fffffff")]);
        assert_eq!(p["coordinates"][0].as_array().map(|v| v.len()), Some(7));
    }
}
