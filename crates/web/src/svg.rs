//! Charts and maps drawn on the server as SVG: no script, no tile server, nothing fetched.

use std::fmt::Write;

use serde_json::Value;

/// Escapes text for SVG and HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const ROW: f64 = 26.0;
const WIDTH: f64 = 360.0;
const LABEL: f64 = 120.0;

/// Horizontal bars, one row per (label, value), scaled to the largest value. The chart names
/// itself through `title` for screen readers.
pub fn bar_chart(title: &str, rows: &[(String, i64)]) -> String {
    let max = rows.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    let height = ROW * rows.len().max(1) as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(title)
    );
    let room = WIDTH - LABEL - 56.0;
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = i as f64 * ROW;
        let w = (*value as f64 / max * room).max(if *value > 0 { 1.0 } else { 0.0 });
        let _ = write!(
            s,
            r#"<text x="{x}" y="{ty}" text-anchor="end" class="chart-label">{label}</text><rect x="{bx}" y="{by}" width="{w:.1}" height="{bh}" rx="3" class="bar"/><text x="{vx:.1}" y="{ty}" class="chart-value">{value}</text>"#,
            x = LABEL - 6.0,
            ty = y + 17.0,
            label = esc(label),
            bx = LABEL,
            by = y + 5.0,
            bh = ROW - 9.0,
            vx = LABEL + w + 4.0,
        );
    }
    s.push_str("</svg>");
    s
}

/// One area of a map: its boundary (a GeoJSON Polygon or MultiPolygon geometry), its value and
/// where a click leads.
pub struct MapArea {
    pub name: String,
    pub value: i64,
    pub href: String,
    pub geometry: Value,
}

/// Five shades from light to dark: readable in print and for most colour-blind readers.
pub const SHADES: [&str; 5] = ["#fde7d9", "#f9b99a", "#f0845f", "#d4533a", "#9e2a1f"];

/// The shade index of `value` among values from `min` to `max`.
pub fn shade(value: i64, min: i64, max: i64) -> usize {
    if max <= min {
        return 2;
    }
    let t = (value - min) as f64 / (max - min) as f64;
    ((t * SHADES.len() as f64) as usize).min(SHADES.len() - 1)
}

fn polygons(g: &Value) -> Vec<&Vec<Value>> {
    match g.get("type").and_then(Value::as_str) {
        Some("Polygon") => g.get("coordinates").and_then(Value::as_array).into_iter().collect(),
        Some("MultiPolygon") => g
            .get("coordinates")
            .and_then(Value::as_array)
            .map(|ps| ps.iter().filter_map(Value::as_array).collect())
            .unwrap_or_default(),
        _ => vec![],
    }
}

fn points(ring: &Value) -> Vec<(f64, f64)> {
    ring.as_array()
        .map(|pts| {
            pts.iter()
                .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect()
        })
        .unwrap_or_default()
}

/// A choropleth of the areas, fitted to their bounds, north up; `None` when no area has a
/// boundary. Longitude is scaled by the cosine of the middle latitude so shapes keep their
/// proportions at the county's latitude.
pub fn choropleth(title: &str, areas: &[MapArea]) -> Option<String> {
    let mut rings: Vec<(usize, Vec<(f64, f64)>)> = vec![];
    for (i, a) in areas.iter().enumerate() {
        for poly in polygons(&a.geometry) {
            for ring in poly {
                let pts = points(ring);
                if pts.len() >= 3 {
                    rings.push((i, pts));
                }
            }
        }
    }
    if rings.is_empty() {
        return None;
    }
    let all = rings.iter().flat_map(|(_, r)| r.iter());
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (x, y) in all {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(*y);
        y1 = y1.max(*y);
    }
    let k = ((y0 + y1) / 2.0).to_radians().cos().max(0.01);
    let (w, h) = (((x1 - x0) * k).max(1e-9), (y1 - y0).max(1e-9));
    let size = 360.0;
    let scale = size / w.max(h);
    let (vw, vh) = (w * scale, h * scale);
    let values: Vec<i64> = areas.iter().map(|a| a.value).collect();
    let (min, max) = (*values.iter().min().unwrap_or(&0), *values.iter().max().unwrap_or(&0));
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="map" viewBox="-2 -2 {:.1} {:.1}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        vw + 4.0,
        vh + 4.0,
        esc(title)
    );
    for (i, a) in areas.iter().enumerate() {
        let mut d = String::new();
        for (_, ring) in rings.iter().filter(|(j, _)| *j == i) {
            for (n, (x, y)) in ring.iter().enumerate() {
                let px = (x - x0) * k * scale;
                let py = (y1 - y) * scale;
                let _ = write!(d, "{}{px:.1},{py:.1}", if n == 0 { "M" } else { "L" });
            }
            d.push('Z');
        }
        if d.is_empty() {
            continue;
        }
        let _ = write!(
            s,
            r#"<a href="{}"><path d="{d}" fill="{}" class="map-area"><title>{}: {}</title></path></a>"#,
            esc(&a.href),
            SHADES[shade(a.value, min, max)],
            esc(&a.name),
            a.value
        );
    }
    s.push_str("</svg>");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_value_and_escape_labels() {
        let svg = bar_chart("t", &[("a<b".into(), 10), ("c".into(), 5), ("d".into(), 0)]);
        assert!(svg.contains("a&lt;b"));
        let room = WIDTH - LABEL - 56.0;
        assert!(svg.contains(&format!(r#"width="{room:.1}""#)), "{svg}");
        assert!(svg.contains(&format!(r#"width="{:.1}""#, room / 2.0)), "{svg}");
        assert!(svg.contains(r#"width="0.0""#));
        assert_eq!(svg.matches("<rect").count(), 3);
    }

    #[test]
    fn shades_cover_the_range() {
        assert_eq!(shade(0, 0, 100), 0);
        assert_eq!(shade(100, 0, 100), 4);
        assert_eq!(shade(50, 0, 100), 2);
        assert_eq!(shade(7, 7, 7), 2);
    }

    #[test]
    fn a_map_fits_its_areas_and_colours_them_by_value() {
        let square = |x: f64, v: i64| MapArea {
            name: format!("a{v}"),
            value: v,
            href: format!("/areas/{v}"),
            geometry: serde_json::json!({"type": "Polygon", "coordinates": [[[x, 0.0], [x + 1.0, 0.0], [x + 1.0, 1.0], [x, 1.0], [x, 0.0]]]}),
        };
        let svg = choropleth("m", &[square(0.0, 1), square(1.0, 9)]).unwrap();
        assert_eq!(svg.matches("<path").count(), 2);
        assert!(svg.contains(SHADES[0]) && svg.contains(SHADES[4]));
        // Two unit squares side by side at the equator: twice as wide as high.
        assert!(svg.contains(r#"viewBox="-2 -2 364.0 184.0""#), "{svg}");
        assert!(svg.contains("M0.0,180.0"), "{svg}");
        let none = MapArea { name: "x".into(), value: 1, href: "/".into(), geometry: serde_json::json!(null) };
        assert!(choropleth("m", &[none]).is_none());
    }
}
