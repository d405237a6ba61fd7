//! Many intakes at once on a small pool: every one is taken, on both engines. A transaction
//! that borrowed a second pooled connection, or writers waiting for SQLite's lock while holding
//! connections, once starved the pool until the waits timed out into 500s.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::TestApp;

crate::on_both_engines!(concurrent_intake_is_all_taken);

async fn concurrent_intake_is_all_taken(app: TestApp) {
    let app = app.with_demo().await;
    let (s, v) = app.get("/api/v1/households?page_size=8").await;
    assert_eq!(s, StatusCode::OK);
    let codes: Vec<String> =
        v["items"].as_array().unwrap().iter().map(|h| h["code"].as_str().unwrap().into()).collect();
    // Six times the pool's four connections, all at once.
    let mut tasks = vec![];
    for i in 0..24 {
        let body = json!({"category": "parking", "channel": "hotline", "description": format!("并发受理 {i}"),
            "reporter": {"kind": "anonymous"}, "household_code": codes[i % codes.len()]});
        let (client, base, token) = (app.client.clone(), app.base.clone(), app.token.clone());
        tasks.push(tokio::spawn(async move {
            let r = client
                .request(Method::POST, format!("{base}/api/v1/cases"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await;
            let r = r.unwrap();
            (r.status(), r.text().await.unwrap())
        }));
    }
    for t in tasks {
        let (s, body) = t.await.unwrap();
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM cases WHERE description LIKE '并发受理%'")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(n, 24);
}
