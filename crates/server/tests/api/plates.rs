//! House QR plates and self-registration, on both engines: a plate's signed link opens the
//! public form, a forged or altered one is refused, submissions are rate-limited, the unit
//! chief reviews what comes in and nobody of another grid sees it, and the submitted fields
//! are gone after the retention period (run with a fake clock).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::TestApp;

crate::on_both_engines!(plates_register_returnees_for_review, forged_links_and_floods_are_refused);

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Posts the public form of a plate, as a phone would.
async fn submit(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let body = form.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect::<Vec<_>>().join("&");
    let resp = app
        .client
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn page(app: &TestApp, path: &str) -> (StatusCode, String) {
    let resp = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn token(app: &TestApp, area: i64, kind: &str) -> String {
    let (_, posts) = app.get(&format!("/api/v1/posts?area_id={area}&kind={kind}&page_size=200")).await;
    let post =
        posts["items"].as_array().unwrap().iter().find(|p| p["area_id"] == area).expect("the demo has this post");
    let (s, t) = app.post("/api/v1/tokens", json!({"post_id": post["id"], "name": "plates"})).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t["token"].as_str().unwrap().to_string()
}

/// The plates of an area's houses where exactly one household lives (so that the form needs
/// no choice of household).
async fn single_household_plates(app: &TestApp, area: i64) -> Vec<Value> {
    let (s, plates) = app.get(&format!("/api/v1/plates?area_id={area}&page_size=200")).await;
    assert_eq!(s, StatusCode::OK, "{plates}");
    let (_, houses) = app.get(&format!("/api/v1/houses?area_id={area}&page_size=200")).await;
    let single: Vec<i64> = houses["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["households"] == 1)
        .map(|h| h["id"].as_i64().unwrap())
        .collect();
    plates["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| single.contains(&p["house_id"].as_i64().unwrap()))
        .cloned()
        .collect()
}

/// A Shengquan unit with a unit chief, its grid, and a plate of the unit.
async fn unit_with_chief(app: &TestApp) -> (i64, i64, Value) {
    let shengquan = app.area_id("圣泉社区").await;
    let (_, posts) = app.get(&format!("/api/v1/posts?area_id={shengquan}&kind=unit_chief&page_size=200")).await;
    for post in posts["items"].as_array().unwrap() {
        let unit = post["area_id"].as_i64().unwrap();
        if let Some(plate) = single_household_plates(app, unit).await.into_iter().next() {
            let (_, area) = app.get(&format!("/api/v1/areas/{unit}")).await;
            return (unit, area["parent_id"].as_i64().unwrap(), plate);
        }
    }
    panic!("no unit of Shengquan has a chief and a one-household house")
}

async fn plates_register_returnees_for_review(app: TestApp) {
    let app = app.with_demo().await;
    let (unit, grid, plate) = unit_with_chief(&app).await;
    let path = plate["path"].as_str().unwrap();
    assert!(plate["unit_chief_name"].is_string(), "the plate names the unit chief: {plate}");

    // The printable page holds an inline SVG QR code of the link.
    let (s, html) = page(&app, path).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("name=\"returned_on\""), "the default county keeps the date of return");
    assert!(!html.contains("<script"), "no scripts on the public form");

    let before = app.row_counts().await;
    let (s, html) = submit(
        &app,
        path,
        &[
            ("kind", "returnee"),
            ("name", "郑国桢"),
            ("phone", "13859441234"),
            ("returned_from", "广东深圳"),
            ("returned_on", "2026-01-02"),
            ("id_number", ""),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"done\""));
    assert_eq!(app.row_counts().await, before, "nothing enters the registry before review");

    // The unit chief and the grid chief of its grid see it; a grid chief of another grid does not.
    let chief = token(&app, unit, "unit_chief").await;
    let (s, list) = app.call_as(Some(&chief), Method::GET, "/api/v1/change-requests?status=pending", None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1, "{list}");
    let request = list["items"][0].clone();
    let id = request["id"].as_i64().unwrap();
    assert_eq!(request["name"], "郑国桢");
    assert_eq!(request["phone_masked"], "*******1234");
    assert_eq!(request["returned_from"], "广东深圳");
    let own_grid = token(&app, grid, "grid_chief").await;
    let (_, list) = app.call_as(Some(&own_grid), Method::GET, "/api/v1/change-requests", None).await;
    assert_eq!(list["total"], 1);
    let shengquan = app.area_id("圣泉社区").await;
    let (_, grids) = app.get(&format!("/api/v1/posts?area_id={shengquan}&kind=grid_chief&page_size=50")).await;
    let other =
        grids["items"].as_array().unwrap().iter().map(|p| p["area_id"].as_i64().unwrap()).find(|g| *g != grid).unwrap();
    let other = token(&app, other, "grid_chief").await;
    let (s, list) = app.call_as(Some(&other), Method::GET, "/api/v1/change-requests", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["total"], 0, "another grid's requests stay hidden: {list}");
    let (s, _) = app.call_as(Some(&other), Method::GET, &format!("/api/v1/change-requests/{id}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) =
        app.call_as(Some(&other), Method::POST, &format!("/api/v1/change-requests/{id}/accept"), Some(json!({}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Accepted: a resident, returned, tagged as a returnee, in the plate's household.
    let (s, done) =
        app.call_as(Some(&chief), Method::POST, &format!("/api/v1/change-requests/{id}/accept"), None).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "accepted");
    let resident = done["resident_id"].as_i64().unwrap();
    let (_, r) = app.get(&format!("/api/v1/residents/{resident}")).await;
    assert_eq!(r["name"], "郑国桢");
    assert_eq!(r["status"], "returned");
    assert!(r["tags"].as_array().unwrap().iter().any(|t| t == "returnee"), "{r}");
    assert_eq!(r["unit_id"], unit);
    let (s, again) =
        app.call_as(Some(&chief), Method::POST, &format!("/api/v1/change-requests/{id}/accept"), None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{again}");
    app.assert_stats_consistent().await;

    // A second one is rejected with a reason, which is required.
    let (s, _) = submit(&app, path, &[("kind", "returnee"), ("name", "林秀英"), ("phone", "13859445678")]).await;
    assert_eq!(s, StatusCode::OK);
    let (_, list) = app.call_as(Some(&chief), Method::GET, "/api/v1/change-requests?status=pending", None).await;
    let second = list["items"][0]["id"].as_i64().unwrap();
    let reject = format!("/api/v1/change-requests/{second}/reject");
    let (s, v) = app.call_as(Some(&chief), Method::POST, &reject, Some(json!({"reason": " "}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app.call_as(Some(&chief), Method::POST, &reject, Some(json!({"reason": "不是本户的人"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["reason"], "不是本户的人");

    // A county that keeps less: the phone is not kept for returnees.
    let county = app.area_id("仙游县").await;
    let (s, v) = app
        .call(
            Method::PUT,
            &format!("/api/v1/registration-settings/{county}"),
            Some(json!({"returnee_fields": ["name", "returned_on"], "retention_days": 30})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .call(
            Method::PUT,
            &format!("/api/v1/registration-settings/{county}"),
            Some(json!({"returnee_fields": ["shoe_size"], "retention_days": 30})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (_, html) = page(&app, path).await;
    assert!(!html.contains("name=\"returned_from\""), "the form no longer asks where from");
    let (s, _) = submit(
        &app,
        path,
        &[("kind", "returnee"), ("name", "黄志强"), ("phone", "13859440000"), ("returned_from", "厦门")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, list) = app.call_as(Some(&chief), Method::GET, "/api/v1/change-requests?status=pending", None).await;
    let third = &list["items"][0];
    assert_eq!(third["name"], "黄志强");
    assert!(
        third["phone_masked"].is_null() && third["returned_from"].is_null(),
        "only the configured fields are kept: {third}"
    );

    // After the retention period (a fake clock), the submitted fields are gone.
    let purged = app.store.purge_change_requests(chrono::Utc::now() + chrono::Duration::days(29)).await.unwrap();
    assert_eq!(purged, 0, "nothing before its time");
    let purged = app.store.purge_change_requests(chrono::Utc::now() + chrono::Duration::days(91)).await.unwrap();
    assert_eq!(purged, 3);
    let (_, gone) = app.call_as(Some(&chief), Method::GET, &format!("/api/v1/change-requests/{id}"), None).await;
    assert_eq!(gone["purged"], true);
    assert!(gone["name"].is_null() && gone["phone_masked"].is_null() && gone["returned_from"].is_null(), "{gone}");
    let sealed: i64 = sqlx::query_scalar("SELECT count(*) FROM change_requests WHERE payload_sealed IS NOT NULL")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(sealed, 0);
    // The registry keeps what was accepted into it.
    let (_, r) = app.get(&format!("/api/v1/residents/{resident}")).await;
    assert_eq!(r["name"], "郑国桢");
}

async fn forged_links_and_floods_are_refused(app: TestApp) {
    let app = app.with_demo().await;
    let (_, _, plate) = unit_with_chief(&app).await;
    let path = plate["path"].as_str().unwrap().to_string();
    let parts: Vec<&str> = path.trim_start_matches("/r/").split('/').collect();
    let (house, version, sig) = (parts[0], parts[1], parts[2]);
    let flipped = {
        let mut s = sig.to_string();
        let last = s.pop().unwrap();
        s.push(if last == '0' { '1' } else { '0' });
        s
    };
    let other_house: i64 = house.parse::<i64>().unwrap() + 1;
    for forged in [
        format!("/r/{house}/{version}/{flipped}"),
        format!("/r/{other_house}/{version}/{sig}"),
        format!("/r/{house}/{}/{sig}", version.parse::<i64>().unwrap() + 1),
        format!("/r/{house}/{version}/{}", &sig[..8]),
        format!("/r/{house}/{version}/"),
    ] {
        let (s, _) = page(&app, &forged).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{forged}");
        let (s, _) = submit(&app, &forged, &[("kind", "returnee"), ("name", "伪造")]).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{forged}");
    }
    let none: i64 =
        sqlx::query_scalar("SELECT count(*) FROM change_requests").fetch_one(app.store.pool()).await.unwrap();
    assert_eq!(none, 0);

    // Bad input is named by its field, and stores nothing.
    let (s, html) =
        submit(&app, &path, &[("kind", "register"), ("name", "王五"), ("id_number", "350322199001011230")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id-error"), "{html}");
    let (s, _) = submit(&app, &path, &[("kind", "returnee"), ("name", "")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // At most PLATE_LIMIT_PER_HOUR submissions a plate in an hour.
    for i in 0..wangge_store::PLATE_LIMIT_PER_HOUR {
        let (s, _) = submit(&app, &path, &[("kind", "returnee"), ("name", &format!("返乡{i}"))]).await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, html) = submit(&app, &path, &[("kind", "returnee"), ("name", "又一个")]).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{html}");
    // And at most ADDRESS_LIMIT_PER_HOUR from one address, over any plates.
    let plates = single_household_plates(&app, app.area_id("圣泉社区").await).await;
    let mut accepted = wangge_store::PLATE_LIMIT_PER_HOUR;
    let mut refused = false;
    for p in plates.iter().filter(|p| p["path"] != path.as_str()) {
        let (s, _) = submit(&app, p["path"].as_str().unwrap(), &[("kind", "returnee"), ("name", "流水")]).await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            break;
        }
        assert_eq!(s, StatusCode::OK);
        accepted += 1;
    }
    assert!(refused, "the address limit holds");
    assert_eq!(accepted, wangge_store::ADDRESS_LIMIT_PER_HOUR);
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM change_requests").fetch_one(app.store.pool()).await.unwrap();
    assert_eq!(stored, wangge_store::ADDRESS_LIMIT_PER_HOUR);
}
