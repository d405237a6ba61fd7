//! Which grid a point falls in: GeoJSON boundaries of a county's grids and towns, parsed once
//! and kept in memory with their bounding boxes; a lookup tests the polygons whose box holds
//! the point. Rebuilt when the county's areas change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::Row;

use crate::{Store, StoreResult};

/// A ring of [lng, lat] points.
type Ring = Vec<(f64, f64)>;

#[derive(Debug, Clone)]
struct Shape {
    area_id: i64,
    bbox: (f64, f64, f64, f64),
    /// Polygons, each an outer ring followed by holes.
    polygons: Vec<Vec<Ring>>,
}

/// Degrees (about a metre) within which a point counts as on a boundary.
const EDGE: f64 = 1e-5;

impl Shape {
    fn parse(area_id: i64, geojson: &str) -> Option<Shape> {
        let v: serde_json::Value = serde_json::from_str(geojson).ok()?;
        let ring = |r: &serde_json::Value| -> Option<Ring> {
            r.as_array()?.iter().map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?))).collect()
        };
        let polygon = |p: &serde_json::Value| -> Option<Vec<Ring>> { p.as_array()?.iter().map(ring).collect() };
        let coords = v.get("coordinates")?;
        let polygons = match v.get("type")?.as_str()? {
            "Polygon" => vec![polygon(coords)?],
            "MultiPolygon" => coords.as_array()?.iter().map(polygon).collect::<Option<Vec<_>>>()?,
            _ => return None,
        };
        let mut bbox = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for &(x, y) in polygons.iter().flat_map(|p| p.first()).flatten() {
            bbox = (bbox.0.min(x), bbox.1.min(y), bbox.2.max(x), bbox.3.max(y));
        }
        Some(Shape { area_id, bbox, polygons })
    }

    fn in_box(&self, x: f64, y: f64, margin: f64) -> bool {
        x >= self.bbox.0 - margin && x <= self.bbox.2 + margin && y >= self.bbox.1 - margin && y <= self.bbox.3 + margin
    }

    fn contains(&self, x: f64, y: f64) -> bool {
        self.in_box(x, y, 0.0)
            && self.polygons.iter().any(|p| {
                p.first().is_some_and(|outer| in_ring(outer, x, y)) && !p[1..].iter().any(|h| in_ring(h, x, y))
            })
    }

    /// Distance in degrees from the point to the nearest edge.
    fn edge_distance(&self, x: f64, y: f64) -> f64 {
        self.polygons
            .iter()
            .flatten()
            .flat_map(|r| r.windows(2))
            .map(|w| segment_distance(w[0], w[1], (x, y)))
            .fold(f64::MAX, f64::min)
    }
}

/// Even-odd ray casting.
fn in_ring(ring: &Ring, x: f64, y: f64) -> bool {
    let mut inside = false;
    let n = ring.len();
    let mut j = n.wrapping_sub(1);
    for i in 0..n {
        let (xi, yi) = ring[i];
        let (xj, yj) = ring[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

fn segment_distance(a: (f64, f64), b: (f64, f64), p: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 { 0.0 } else { (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0) };
    let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt()
}

/// The boundaries of one county.
#[derive(Debug, Default)]
pub(crate) struct CountyIndex {
    /// What the index was built from: (count, latest update) of the county's areas.
    version: (i64, String),
    county: Option<Shape>,
    towns: Vec<Shape>,
    grids: Vec<Shape>,
}

/// Where a point falls.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PointPlace {
    /// Outside every boundary of the county.
    Outside,
    /// The county has no boundaries to tell.
    Unknown,
    /// Inside this grid; `on_edge` when within a metre of its boundary (the nearest grid,
    /// flagged for the dispatcher).
    Grid { area_id: i64, on_edge: bool },
    /// In the county but in no grid.
    NoGrid,
}

impl CountyIndex {
    fn place(&self, x: f64, y: f64) -> PointPlace {
        let in_county = match (&self.county, self.towns.is_empty()) {
            (Some(c), _) => c.contains(x, y) || c.edge_distance(x, y) < EDGE,
            (None, false) => self.towns.iter().any(|t| t.contains(x, y) || t.edge_distance(x, y) < EDGE),
            (None, true) if self.grids.is_empty() => return PointPlace::Unknown,
            (None, true) => true,
        };
        let near: Vec<&Shape> = self.grids.iter().filter(|g| g.in_box(x, y, EDGE)).collect();
        let best = near.iter().find(|g| g.contains(x, y)).or_else(|| {
            near.iter().filter(|g| g.edge_distance(x, y) < EDGE).min_by(|a, b| {
                a.edge_distance(x, y).partial_cmp(&b.edge_distance(x, y)).unwrap_or(std::cmp::Ordering::Equal)
            })
        });
        match best {
            Some(g) => PointPlace::Grid { area_id: g.area_id, on_edge: g.edge_distance(x, y) < EDGE },
            None if in_county && self.grids.is_empty() => PointPlace::Unknown,
            None if in_county => PointPlace::NoGrid,
            None => PointPlace::Outside,
        }
    }
}

pub(crate) type GeoCache = Arc<Mutex<HashMap<i64, Arc<CountyIndex>>>>;

impl Store {
    /// Where a point ([lng, lat]) falls in a county.
    pub(crate) async fn place_point(&self, county_id: i64, lng: f64, lat: f64) -> StoreResult<PointPlace> {
        let v = sqlx::query(
            "SELECT count(*) AS n, COALESCE(max(updated_at), '') AS u FROM areas \
             WHERE county_id = $1 AND boundary IS NOT NULL",
        )
        .bind(county_id)
        .fetch_one(&self.pool)
        .await?;
        let version: (i64, String) = (v.try_get("n")?, v.try_get("u")?);
        let cached = self.cases.geo.lock().expect("geo lock").get(&county_id).cloned();
        let index = match cached {
            Some(ix) if ix.version == version => ix,
            _ => {
                let rows = sqlx::query(
                    "SELECT id, level, boundary FROM areas WHERE county_id = $1 AND boundary IS NOT NULL \
                     AND valid_to IS NULL AND level IN ('county', 'town', 'grid')",
                )
                .bind(county_id)
                .fetch_all(&self.pool)
                .await?;
                let mut ix = CountyIndex { version, ..CountyIndex::default() };
                for r in rows {
                    let level: String = r.try_get("level")?;
                    let boundary: String = r.try_get("boundary")?;
                    let Some(shape) = Shape::parse(r.try_get("id")?, &boundary) else { continue };
                    match level.as_str() {
                        "county" => ix.county = Some(shape),
                        "town" => ix.towns.push(shape),
                        _ => ix.grids.push(shape),
                    }
                }
                let ix = Arc::new(ix);
                self.cases.geo.lock().expect("geo lock").insert(county_id, ix.clone());
                ix
            }
        };
        Ok(index.place(lng, lat))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(id: i64, w: f64, s: f64, e: f64, n: f64) -> Shape {
        let g = format!(r#"{{"type":"Polygon","coordinates":[[[{w},{s}],[{e},{s}],[{e},{n}],[{w},{n}],[{w},{s}]]]}}"#);
        Shape::parse(id, &g).unwrap()
    }

    #[test]
    fn points_fall_in_their_grid() {
        let ix = CountyIndex {
            version: (0, String::new()),
            county: None,
            towns: vec![rect(1, 0.0, 0.0, 2.0, 1.0)],
            grids: vec![rect(10, 0.0, 0.0, 1.0, 1.0), rect(11, 1.0, 0.0, 2.0, 1.0)],
        };
        assert_eq!(ix.place(0.5, 0.5), PointPlace::Grid { area_id: 10, on_edge: false });
        assert_eq!(ix.place(1.5, 0.5), PointPlace::Grid { area_id: 11, on_edge: false });
        // On the shared edge: one of the two, flagged.
        assert!(matches!(ix.place(1.0, 0.5), PointPlace::Grid { on_edge: true, .. }));
        assert_eq!(ix.place(3.0, 0.5), PointPlace::Outside);
        let empty = CountyIndex::default();
        assert_eq!(empty.place(3.0, 0.5), PointPlace::Unknown);
    }

    #[test]
    fn holes_and_multipolygons() {
        let g = r#"{"type":"MultiPolygon","coordinates":[[[[0,0],[4,0],[4,4],[0,4],[0,0]],[[1,1],[3,1],[3,3],[1,3],[1,1]]],[[[10,10],[11,10],[11,11],[10,11],[10,10]]]]}"#;
        let s = Shape::parse(5, g).unwrap();
        assert!(s.contains(0.5, 0.5));
        assert!(!s.contains(2.0, 2.0));
        assert!(s.contains(10.5, 10.5));
        assert!(!s.contains(5.0, 5.0));
        assert!(Shape::parse(1, r#"{"type":"Point","coordinates":[1,2]}"#).is_none());
    }
}
