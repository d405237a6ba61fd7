//! Boundaries from GeoJSON, and the checks a county office asks of them: gaps between sibling
//! areas (parts of the parent that no child covers), overlaps between siblings, and children
//! that stick out of their parent. Areas are measured in square metres on a local
//! equirectangular projection, good enough at the scale of a county.

use geo::{Area, BooleanOps, Coord, LineString, MultiPolygon, Polygon};
use serde::Serialize;
use serde_json::Value;

/// One finding.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BoundaryIssue {
    /// `gap`, `overlap` or `outside`.
    pub kind: String,
    /// The parent (for a gap) or the child (overlap, outside).
    pub code: String,
    /// The other sibling of an overlap.
    pub other: Option<String>,
    pub square_metres: f64,
    /// The share of the parent's area (gap) or of the child's (overlap, outside).
    pub share: f64,
}

/// Below this many square metres a difference is the rounding of coordinates, not a finding.
const MIN_M2: f64 = 1.0;

/// The features of a GeoJSON FeatureCollection (or a lone Feature): `(index, code, geometry)`,
/// the code from `properties.code` (or `区划代码`), the geometry as its JSON text.
pub fn features(text: &str) -> Result<Vec<wangge_store::Feature>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let list = match v.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => v.get("features").and_then(Value::as_array).cloned().unwrap_or_default(),
        Some("Feature") => vec![v],
        _ => return Err("not a GeoJSON FeatureCollection or Feature".into()),
    };
    Ok(list
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let props = f.get("properties");
            let code = ["code", "区划代码"]
                .iter()
                .find_map(|k| props.and_then(|p| p.get(*k)))
                .and_then(|c| c.as_str().map(str::to_string).or_else(|| c.as_i64().map(|n| n.to_string())));
            let geometry = f.get("geometry").filter(|g| !g.is_null()).map(Value::to_string);
            (i, code, geometry)
        })
        .collect())
}

fn ring(v: &Value) -> Option<LineString<f64>> {
    let pts = v.as_array()?;
    let coords: Option<Vec<Coord<f64>>> =
        pts.iter().map(|p| Some(Coord { x: p.get(0)?.as_f64()?, y: p.get(1)?.as_f64()? })).collect();
    Some(LineString::new(coords?))
}

fn polygon(v: &Value) -> Option<Polygon<f64>> {
    let rings = v.as_array()?;
    let exterior = ring(rings.first()?)?;
    let interiors: Option<Vec<_>> = rings[1..].iter().map(ring).collect();
    Some(Polygon::new(exterior, interiors?))
}

/// A GeoJSON Polygon or MultiPolygon geometry.
pub fn geometry(text: &str) -> Option<MultiPolygon<f64>> {
    let v: Value = serde_json::from_str(text).ok()?;
    let coords = v.get("coordinates")?;
    match v.get("type")?.as_str()? {
        "Polygon" => Some(MultiPolygon::new(vec![polygon(coords)?])),
        "MultiPolygon" => coords.as_array()?.iter().map(polygon).collect::<Option<Vec<_>>>().map(MultiPolygon::new),
        _ => None,
    }
}

/// Square metres of an area given in degrees, around latitude `lat`.
fn m2(deg2: f64, lat: f64) -> f64 {
    let m_per_deg = 111_320.0;
    deg2 * m_per_deg * m_per_deg * lat.to_radians().cos()
}

fn latitude(g: &MultiPolygon<f64>) -> f64 {
    g.0.first().and_then(|p| p.exterior().0.first()).map_or(0.0, |c| c.y)
}

/// Gaps, overlaps and children outside their parent, for one parent and its children.
pub fn check_family(parent: Option<(&str, &str)>, children: &[(String, String)]) -> Vec<BoundaryIssue> {
    let kids: Vec<(&str, MultiPolygon<f64>)> =
        children.iter().filter_map(|(c, g)| geometry(g).map(|g| (c.as_str(), g))).collect();
    let mut out = Vec::new();
    let Some(lat) = kids.first().map(|(_, g)| latitude(g)) else { return out };
    for (i, (a, ga)) in kids.iter().enumerate() {
        let own = m2(ga.unsigned_area(), lat).max(f64::MIN_POSITIVE);
        for (b, gb) in &kids[i + 1..] {
            let both = m2(ga.intersection(gb).unsigned_area(), lat);
            if both >= MIN_M2 {
                out.push(BoundaryIssue {
                    kind: "overlap".into(),
                    code: a.to_string(),
                    other: Some(b.to_string()),
                    square_metres: both,
                    share: both / own,
                });
            }
        }
    }
    let Some((code, parent)) = parent.and_then(|(c, g)| geometry(g).map(|g| (c, g))) else { return out };
    let parent_m2 = m2(parent.unsigned_area(), lat).max(f64::MIN_POSITIVE);
    for (c, g) in &kids {
        let outside = m2(g.difference(&parent).unsigned_area(), lat);
        if outside >= MIN_M2 {
            let own = m2(g.unsigned_area(), lat).max(f64::MIN_POSITIVE);
            out.push(BoundaryIssue {
                kind: "outside".into(),
                code: c.to_string(),
                other: None,
                square_metres: outside,
                share: outside / own,
            });
        }
    }
    let covered = kids.iter().fold(MultiPolygon::new(vec![]), |acc, (_, g)| acc.union(g));
    let gap = m2(parent.difference(&covered).unsigned_area(), lat);
    if gap >= MIN_M2 {
        out.push(BoundaryIssue {
            kind: "gap".into(),
            code: code.to_string(),
            other: None,
            square_metres: gap,
            share: gap / parent_m2,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> String {
        format!(r#"{{"type":"Polygon","coordinates":[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]}}"#)
    }

    #[test]
    fn tiles_that_cover_their_parent_report_nothing() {
        let parent = square(118.0, 25.0, 118.02, 25.01);
        let kids = vec![
            ("a".to_string(), square(118.0, 25.0, 118.01, 25.01)),
            ("b".to_string(), square(118.01, 25.0, 118.02, 25.01)),
        ];
        assert!(check_family(Some(("p", &parent)), &kids).is_empty());
    }

    #[test]
    fn gaps_overlaps_and_strays_are_found_and_measured() {
        let parent = square(118.0, 25.0, 118.02, 25.01);
        let kids = vec![
            ("a".to_string(), square(118.0, 25.0, 118.011, 25.01)),
            ("b".to_string(), square(118.01, 25.0, 118.019, 25.01)),
            ("c".to_string(), square(118.02, 25.0, 118.03, 25.01)),
        ];
        let issues = check_family(Some(("p", &parent)), &kids);
        let kinds: Vec<(&str, &str)> = issues.iter().map(|i| (i.kind.as_str(), i.code.as_str())).collect();
        assert_eq!(kinds, vec![("overlap", "a"), ("outside", "c"), ("gap", "p")]);
        let overlap = &issues[0];
        assert_eq!(overlap.other.as_deref(), Some("b"));
        // 0.001 x 0.01 degrees near 25°N: about 101 m x 1,113 m.
        assert!((overlap.square_metres - 112_300.0).abs() < 1_500.0, "{}", overlap.square_metres);
        assert!((issues[2].share - 0.05).abs() < 0.001, "{}", issues[2].share);
    }

    #[test]
    fn features_read_codes_and_geometries() {
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"code":"350322100"}},"geometry":{}}},{{"type":"Feature","properties":{{}},"geometry":null}}]}}"#,
            square(1.0, 1.0, 2.0, 2.0)
        );
        let f = features(&text).unwrap();
        assert_eq!(f[0].1.as_deref(), Some("350322100"));
        assert!(f[0].2.is_some());
        assert_eq!((f[1].1.as_deref(), f[1].2.as_deref()), (None, None));
        assert!(features("[]").is_err());
    }
}
