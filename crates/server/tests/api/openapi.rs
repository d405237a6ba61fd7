//! The OpenAPI document is generated from the route list and checked in as
//! `docs/openapi.json`, so that every change to the API shows up in review.
//! `UPDATE_SNAPSHOTS=1` rewrites the file.

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

#[test]
fn openapi_document_matches_the_snapshot() {
    let generated = serde_json::to_string_pretty(&wangge_server::openapi()).unwrap() + "\n";
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(SNAPSHOT, &generated).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        stored == generated,
        "docs/openapi.json differs from the generated document; review the change and run UPDATE_SNAPSHOTS=1 scripts/test"
    );
}

#[test]
fn every_route_is_documented() {
    let doc = serde_json::to_value(wangge_server::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/areas",
        "/api/v1/areas/{id}",
        "/api/v1/areas/{id}/summary",
        "/api/v1/areas/{id}/children",
        "/api/v1/areas/{id}/tree",
        "/api/v1/areas/{id}/close",
        "/api/v1/houses",
        "/api/v1/households/{id}/members",
        "/api/v1/residents/{id}/move",
        "/api/v1/residents/{id}/tags/{tag}",
        "/api/v1/tags",
    ] {
        assert!(paths.contains_key(p), "{p} is missing from the OpenAPI document");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}

#[tokio::test]
async fn the_served_document_is_the_generated_one() {
    let app = crate::TestApp::sqlite().await;
    let (s, v) = app.get("/api/v1/openapi.json").await;
    assert_eq!(s, reqwest::StatusCode::OK);
    assert_eq!(v, serde_json::to_value(wangge_server::openapi()).unwrap());
}
