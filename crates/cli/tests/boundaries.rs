//! `wangge boundaries FILE` on the demo county: a bad feature writes nothing and exits 2; a
//! good file sets the boundary and reports the child that sticks out of its parent and the gap
//! it leaves.

use std::path::Path;
use std::process::{Command, Output};

const GRID: &str = "350322100001001";

fn wangge(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wangge"))
        .arg("--data-dir")
        .arg(dir)
        .args(["--log", "warn"])
        .args(args)
        .env("WANGGE_DEMO_PASSWORD", "boundary-test-password")
        .env_remove("WANGGE_DATABASE_URL")
        .output()
        .expect("wangge runs")
}

/// A square of about 100 m; its first corner in whole degrees, as GeoJSON allows.
fn square(code: &str, lng: f64, lat: f64) -> String {
    let (a, b) = (lng + 0.001, lat + 0.001);
    format!(
        r#"{{"type":"Feature","properties":{{"code":"{code}"}},"geometry":{{"type":"Polygon","coordinates":[[[{lng},{lat}],[{a:.6},{lat:.6}],[{a:.6},{b:.6}],[{lng:.6},{b:.6}],[{lng},{lat}]]]}}}}"#
    )
}

async fn boundary(db: &Path) -> String {
    let url = format!("sqlite://{}", db.display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    sqlx::query_scalar("SELECT boundary FROM areas WHERE code = $1 AND valid_to IS NULL")
        .bind(GRID)
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn boundaries_are_checked_then_set() {
    let dir = tempfile::tempdir().unwrap();
    let built = wangge(dir.path(), &["demo", "--no-serve"]);
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let db = dir.path().join("demo-1.db");
    let url = format!("sqlite://{}", db.display());
    let before = boundary(&db).await;

    // A square far from Shengquan Community, and a code no area has.
    let bad = dir.path().join("bad.geojson");
    let features = [square(GRID, 119.0, 25.0), square("999999999999999", 119.0, 25.0)];
    std::fs::write(&bad, format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, features.join(","))).unwrap();
    let out = wangge(dir.path(), &["--database-url", &url, "boundaries", bad.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("feature 2 (999999999999999)"), "{text}");
    assert!(text.contains("nothing written"), "{text}");
    assert_eq!(boundary(&db).await, before, "a file with a bad feature writes nothing");

    let good = dir.path().join("good.geojson");
    std::fs::write(&good, format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, features[0])).unwrap();
    let out = wangge(dir.path(), &["--database-url", &url, "boundaries", good.to_str().unwrap(), "--dry-run"]);
    assert!(out.status.success(), "{:?} {}", out.status, String::from_utf8_lossy(&out.stdout));
    assert_eq!(boundary(&db).await, before, "a dry run writes nothing");
    let out = wangge(dir.path(), &["--database-url", &url, "boundaries", good.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("outside {GRID}")), "{text}");
    assert!(text.contains("gap 350322100001"), "the grid's old place in its community is now a gap: {text}");
    assert!(text.contains("1 boundaries set"), "{text}");
    assert!(boundary(&db).await.contains("119.001"));
}
