//! Rectangular boundaries: each parent's rectangle is cut into rows of equal cells, so the
//! children tile it exactly and never overlap. Crude, but enough to draw a map and to test
//! point-in-area lookups.

/// Longitude west/east and latitude south/north, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub w: f64,
    pub s: f64,
    pub e: f64,
    pub n: f64,
}

/// The demo county: around Xianyou, lng 118.5-118.9, lat 25.2-25.5.
pub(crate) const COUNTY: Rect = Rect { w: 118.5, s: 25.2, e: 118.9, n: 25.5 };

/// The `i`th of `n` equal steps from `a` to `b`; the last step ends exactly at `b` so that
/// neighbours share their edges bit for bit.
fn step(a: f64, b: f64, i: usize, n: usize) -> f64 {
    if i == n { b } else { a + (b - a) * i as f64 / n as f64 }
}

impl Rect {
    /// `count` cells covering this rectangle: about square-root many rows, from south to
    /// north, each row cut into equal cells from west to east.
    pub(crate) fn tile(&self, count: usize) -> Vec<Rect> {
        if count == 0 {
            return Vec::new();
        }
        let rows = (count as f64).sqrt().floor().max(1.0) as usize;
        let mut out = Vec::with_capacity(count);
        for r in 0..rows {
            let cells = count / rows + usize::from(r < count % rows);
            let s = step(self.s, self.n, r, rows);
            let n = step(self.s, self.n, r + 1, rows);
            for c in 0..cells {
                out.push(Rect { w: step(self.w, self.e, c, cells), s, e: step(self.w, self.e, c + 1, cells), n });
            }
        }
        out
    }

    /// A GeoJSON Polygon geometry with one counter-clockwise ring (RFC 7946).
    pub(crate) fn geojson(&self) -> String {
        let Rect { w, s, e, n } = *self;
        format!(
            r#"{{"type":"Polygon","coordinates":[[[{w:.6},{s:.6}],[{e:.6},{s:.6}],[{e:.6},{n:.6}],[{w:.6},{n:.6}],[{w:.6},{s:.6}]]]}}"#
        )
    }
}
