//! Star households, rankings, welfare linkage and service records through the HTTP API: a
//! household's rating from self-assessment to revocation and its bar (on the store's clock);
//! refusals that write nothing; a published ranking that later entries do not change.

use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wangge_store::clock::FakeClock;

use crate::TestApp;

crate::on_both_engines!(
    a_household_is_rated_revoked_and_barred,
    a_published_ranking_is_frozen,
    the_demo_county_has_star_households
);

async fn first_id(app: &TestApp, path: &str) -> i64 {
    let (s, v) = app.get(path).await;
    assert_eq!(s, StatusCode::OK, "{path}: {v}");
    v["items"][0]["id"].as_i64().unwrap_or_else(|| panic!("{path} is empty: {v}"))
}

/// Every star rating as it is stored, and the audit trail's length: "nothing written".
async fn ratings_state(app: &TestApp) -> Vec<String> {
    let rows: Vec<(i64, String, Option<i64>, Option<String>)> =
        sqlx::query_as("SELECT id, state, stars, barred_until FROM star_ratings ORDER BY id")
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events").fetch_one(app.store.pool()).await.unwrap();
    let mut out: Vec<String> = rows.iter().map(|r| format!("{r:?}")).collect();
    out.push(format!("audit {audit}"));
    out
}

struct Chain {
    community: i64,
    household: i64,
    grid_chief: String,
    unit_chief: String,
    chief: String,
    /// The station chief of another community.
    outsider: String,
}

async fn chain(app: &TestApp) -> Chain {
    let community = app.area_id("圣泉社区").await;
    let (unit, grid) = app.staffed_units(community).await[0];
    let household = first_id(app, &format!("/api/v1/households?area_id={unit}")).await;
    let token = |area: i64, kind: &'static str| async move {
        let post = app.post_at(area, kind).await.unwrap_or_else(|| panic!("a {kind} at {area}"));
        app.post_token(post).await
    };
    let hongqiao = app.area_id("虹桥社区").await;
    Chain {
        community,
        household,
        grid_chief: token(grid, "grid_chief").await,
        unit_chief: token(unit, "unit_chief").await,
        chief: token(community, "station_chief").await,
        outsider: token(hongqiao, "station_chief").await,
    }
}

async fn a_household_is_rated_revoked_and_barred(app: TestApp) {
    let app = app.with_demo().await;
    let clock = FakeClock::at(chrono::Utc::now());
    app.store.set_clock(clock.clone());
    let c = chain(&app).await;
    let call = |token: &str, method: Method, path: &str, body: Option<Value>| {
        let (app, token, path) = (&app, token.to_string(), path.to_string());
        async move { app.call_as(Some(&token), method, &path, body).await }
    };

    let (s, items) = call(&c.grid_chief, Method::GET, "/api/v1/star-ratings/items", None).await;
    assert_eq!(s, StatusCode::OK, "{items}");
    let codes: Vec<String> = items.as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap().into()).collect();
    assert_eq!(codes.len(), 8, "{items}");
    assert_eq!(items[0]["name_zh"], "爱国守法星");

    // Bad input first: nothing is written.
    let before = ratings_state(&app).await;
    let assess = |period: &str, items: &[String]| json!({"household_id": c.household, "period": period, "items": items, "note": "家风好"});
    for (body, want) in [
        (assess("2026", &["flying".to_string()]), StatusCode::UNPROCESSABLE_ENTITY),
        (assess("26", &codes[..2]), StatusCode::UNPROCESSABLE_ENTITY),
        (assess("2026", &[]), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (s, e) = call(&c.grid_chief, Method::POST, "/api/v1/star-ratings", Some(body)).await;
        assert_eq!(s, want, "{e}");
        assert!(e["error"]["message"].is_string(), "{e}");
    }
    let (s, e) = call(&c.outsider, Method::POST, "/api/v1/star-ratings", Some(assess("2026", &codes[..2]))).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another community's chief: {e}");
    assert_eq!(before, ratings_state(&app).await);

    // The grid worker assesses for the household; a second one for the period is refused.
    let (s, r) = call(&c.grid_chief, Method::POST, "/api/v1/star-ratings", Some(assess("2026", &codes[..6]))).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "self_assessed");
    assert_eq!(r["claimed_items"].as_array().unwrap().len(), 6);
    let id = r["id"].as_i64().unwrap();
    let path = |p: &str| format!("/api/v1/star-ratings/{id}/{p}");
    let before = ratings_state(&app).await;
    let (s, e) = call(&c.grid_chief, Method::POST, "/api/v1/star-ratings", Some(assess("2026", &codes[..1]))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["code"], "already_assessed");
    // Deciding before review is out of turn; the outsider cannot see it at all.
    let (s, e) = call(&c.chief, Method::POST, &path("decide"), Some(json!({}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    let (s, _) = call(&c.outsider, Method::GET, &format!("/api/v1/star-ratings/{id}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(before, ratings_state(&app).await);

    // The unit chief reviews: five of the six items hold.
    let (s, r) =
        call(&c.unit_chief, Method::POST, &path("review"), Some(json!({"items": &codes[..5], "note": "核实"}))).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["state"], "reviewed");

    // Only the village or community post decides: not the grid chief, not another community's.
    let before = ratings_state(&app).await;
    let (s, e) = call(&c.grid_chief, Method::POST, &path("decide"), Some(json!({}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (s, e) = call(&c.outsider, Method::POST, &path("decide"), Some(json!({}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    assert_eq!(before, ratings_state(&app).await);
    let (s, r) = call(&c.chief, Method::POST, &path("decide"), Some(json!({}))).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["state"], "published");
    assert_eq!(r["stars"], 5);

    // Other parts read the stars, the points and the flag.
    let welfare = format!("/api/v1/welfare/households/{}", c.household);
    let (s, w) = call(&c.grid_chief, Method::GET, &welfare, None).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!(
        (w["stars"].as_i64(), w["period"].as_str(), w["welfare_flag"].as_bool()),
        (Some(5), Some("2026"), Some(true))
    );
    let (s, _) = call(&c.outsider, Method::GET, &welfare, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Revocation needs a reason and the deciding level; then the household is barred.
    let before = ratings_state(&app).await;
    let (s, e) = call(&c.chief, Method::POST, &path("revoke"), Some(json!({"reason": " "}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, e) = call(&c.unit_chief, Method::POST, &path("revoke"), Some(json!({"reason": "x"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(before, ratings_state(&app).await);
    let (s, r) =
        call(&c.chief, Method::POST, &path("revoke"), Some(json!({"reason": "违规建房", "bar_days": 30}))).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["state"], "revoked");
    assert!(r["stars"].is_null(), "{r}");
    let (_, w) = call(&c.grid_chief, Method::GET, &welfare, None).await;
    assert_eq!(w["stars"], 0, "{w}");
    assert_eq!(w["welfare_flag"], false);
    assert!(w["barred_until"].is_string(), "{w}");

    let before = ratings_state(&app).await;
    let (s, e) = call(&c.grid_chief, Method::POST, "/api/v1/star-ratings", Some(assess("2027", &codes[..3]))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["code"], "barred");
    clock.advance(TimeDelta::days(29));
    let (s, _) = call(&c.grid_chief, Method::POST, "/api/v1/star-ratings", Some(assess("2027", &codes[..3]))).await;
    assert_eq!(s, StatusCode::CONFLICT, "still barred on day 29");
    assert_eq!(before, ratings_state(&app).await);
    clock.advance(TimeDelta::days(2));
    let (s, r) = call(&c.grid_chief, Method::POST, "/api/v1/star-ratings", Some(assess("2027", &codes[..3]))).await;
    assert_eq!(s, StatusCode::CREATED, "the bar has ended: {r}");
    let (_, w) = call(&c.grid_chief, Method::GET, &welfare, None).await;
    assert!(w["barred_until"].is_null(), "{w}");

    // The list, within the community.
    let (s, list) =
        call(&c.chief, Method::GET, &format!("/api/v1/star-ratings?area_id={}&period=2026", c.community), None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1);
}

async fn a_published_ranking_is_frozen(app: TestApp) {
    use wangge_core::ledger::SourceKind;
    use wangge_core::{Caller, PostKind};
    use wangge_store::{Holder, NewAward, NewPointsRule, NewVolunteer};
    let app = app.with_demo().await;
    let c = chain(&app).await;
    let (store, sys) = (&app.store, Caller::system());
    let rule = store
        .propose_points_rule(
            &sys,
            NewPointsRule {
                area_id: c.community,
                code: "good_deed".into(),
                name: "好人好事".into(),
                source_kind: SourceKind::Manual,
                points: 10,
                threshold: 100,
                approver_kind: PostKind::StationChief,
            },
        )
        .await
        .unwrap();
    store.approve_points_rule(&sys, rule.id).await.unwrap();
    let (unit, _) = app.staffed_units(c.community).await[0];
    let mut vols = Vec::new();
    for name in ["林志远", "许明"] {
        let v = store
            .create_volunteer(&sys, NewVolunteer { area_id: unit, name: name.into(), ..Default::default() })
            .await
            .unwrap();
        vols.push(v.id);
    }
    let award = |v: i64, qty: i64, key: &str| NewAward {
        rule_id: rule.id,
        holder: Holder::Volunteer(v),
        quantity: qty,
        source_kind: None,
        source_id: None,
        client_key: key.into(),
        note: None,
    };
    store.award_points(&sys, award(vols[0], 3, "rank-1")).await.unwrap();
    store.award_points(&sys, award(vols[1], 2, "rank-2")).await.unwrap();
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let body = json!({"area_id": c.community, "period": month, "kind": "volunteer"});

    // Only the community's post publishes; bad periods are refused.
    let counts = || async {
        let n: (i64, i64) =
            sqlx::query_as("SELECT (SELECT count(*) FROM rankings), (SELECT count(*) FROM ranking_rows)")
                .fetch_one(app.store.pool())
                .await
                .unwrap();
        n
    };
    let before = counts().await;
    let (s, e) = app.call_as(Some(&c.grid_chief), Method::POST, "/api/v1/rankings", Some(body.clone())).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the community lies above the grid chief: {e}");
    let (s, e) = app
        .call_as(
            Some(&c.unit_chief),
            Method::POST,
            "/api/v1/rankings",
            Some(json!({"area_id": unit, "period": month, "kind": "volunteer"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a unit chief publishes nothing: {e}");
    let (s, e) = app.call_as(Some(&c.outsider), Method::POST, "/api/v1/rankings", Some(body.clone())).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    let bad = json!({"area_id": c.community, "period": "2026-13", "kind": "volunteer"});
    let (s, e) = app.call_as(Some(&c.chief), Method::POST, "/api/v1/rankings", Some(bad)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(before, counts().await);

    let (s, r) = app.call_as(Some(&c.chief), Method::POST, "/api/v1/rankings", Some(body.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let rows = r["rows"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2, "{r}");
    assert_eq!((rows[0]["points"].as_i64(), rows[1]["points"].as_i64()), (Some(30), Some(20)));
    let label = rows[0]["label"].as_str().unwrap();
    assert!(label.ends_with("林*") && !label.contains("志远"), "masked: {label}");
    let (s, e) = app.call_as(Some(&c.chief), Method::POST, "/api/v1/rankings", Some(body)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");

    // Later entries move the live standings but not the published snapshot.
    store.award_points(&sys, award(vols[1], 5, "rank-3")).await.unwrap();
    let (_, live) = app
        .call_as(
            Some(&c.chief),
            Method::GET,
            &format!("/api/v1/rankings/preview?area_id={}&period={month}&kind=volunteer", c.community),
            None,
        )
        .await;
    assert_eq!(live["rows"][0]["points"], 70, "{live}");
    let (s, public) = app.call_as(None, Method::GET, &format!("/api/v1/public/rankings/{}", r["id"]), None).await;
    assert_eq!(s, StatusCode::OK, "{public}");
    assert_eq!(public["rows"], json!(rows), "the snapshot is frozen");
    let (s, list) =
        app.call_as(None, Method::GET, &format!("/api/v1/public/rankings?area_id={}", c.community), None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1);

    // The volunteers' service records.
    let (s, rec) =
        app.call_as(Some(&c.chief), Method::GET, &format!("/api/v1/volunteers/{}/record", vols[0]), None).await;
    assert_eq!(s, StatusCode::OK, "{rec}");
    assert_eq!((rec["activities"].as_i64(), rec["wishes_fulfilled"].as_i64()), (Some(0), Some(0)));
}

async fn the_demo_county_has_star_households(app: TestApp) {
    let app = app.with_demo().await;
    let county = app.area_id("仙游县").await;
    let report = app.store.seed_demo_stars(county).await.unwrap();
    assert_eq!((report.ratings, report.published, report.revoked), (10, 7, 1), "{report:?}");
    assert!(report.ranked >= 10, "{report:?}");
    let problems = app.store.verify_ledger().await.unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
    let shengquan = app.area_id("圣泉社区").await;
    let (s, list) = app.get(&format!("/api/v1/star-ratings?area_id={shengquan}&state=published")).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 6, "seven published, one of them revoked");
    let top = &list["items"].as_array().unwrap().iter().max_by_key(|r| r["stars"].as_i64()).unwrap().clone();
    let (_, w) = app.get(&format!("/api/v1/welfare/households/{}", top["household_id"])).await;
    assert_eq!(w["welfare_flag"], true, "{w}");
    let (s, rankings) =
        app.call_as(None, Method::GET, &format!("/api/v1/public/rankings?area_id={shengquan}"), None).await;
    assert_eq!(s, StatusCode::OK, "{rankings}");
    assert_eq!(rankings["total"], 1);
    // Its page, for anyone on a phone.
    let url = format!("{}/rankings/{}/public", app.base, rankings["items"][0]["id"]);
    let resp = app.client.get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.unwrap();
    assert!(body.contains("圣泉社区") && body.contains("id=\"ranking\""), "{body}");
}

crate::on_both_engines!(the_pages_walk_a_rating);

/// The sign-in name of the holder of a post.
async fn the_pages_walk_a_rating(app: TestApp) {
    use crate::web::Web;
    let app = app.with_demo().await;
    let community = app.area_id("圣泉社区").await;
    let units = app.staffed_units(community).await;
    let (unit, grid) = units[0];
    let household = first_id(&app, &format!("/api/v1/households?area_id={unit}")).await;
    let grid_chief = Web::sign_in(&app, &app.login_of(app.post_at(grid, "grid_chief").await.unwrap()).await).await;
    let chief = Web::sign_in(&app, &app.login_of(app.post_at(community, "station_chief").await.unwrap()).await).await;
    let page = format!("/households/{household}/stars");

    let (s, body) = grid_chief.get(&page).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("爱国守法星") && body.contains("id=\"self-assess\""), "{body}");
    let items = [("period", "2026"), ("item", "law_abiding"), ("item", "honest"), ("item", "filial")];
    let items: Vec<(&str, &str)> = items.iter().copied().chain([("item", "neighbourly"), ("item", "clean")]).collect();
    let (s, body) = grid_chief.post(&page, &items, true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (s, body) = grid_chief.post(&page, &items, true).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("该户本年度已参评"), "{body}");
    let (s, _) = grid_chief.post(&page, &items, false).await;
    assert!(s.is_client_error(), "no CSRF token, no rating: {s}");
    let id: i64 = sqlx::query_scalar("SELECT id FROM star_ratings WHERE household_id = $1")
        .bind(household)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let step = |p: &str| format!("/star-ratings/{id}/{p}");
    let (s, body) = grid_chief.post(&step("review"), &items[1..], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (s, _) = grid_chief.post(&step("decide"), &[], true).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the grid chief does not decide");
    let (s, body) = chief.post(&step("decide"), &[], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");

    // The household page shows the stars and the welfare flag.
    let (s, body) = grid_chief.get(&format!("/households/{household}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("id=\"welfare-flag\"") && body.contains("5 星"), "{body}");
    // Another grid's chief sees nothing of it.
    let other = units.iter().find(|(_, g)| *g != grid).expect("a second staffed grid").1;
    let stranger = Web::sign_in(&app, &app.login_of(app.post_at(other, "grid_chief").await.unwrap()).await).await;
    let (s, _) = stranger.get(&page).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = stranger.post(&step("revoke"), &[("reason", "x")], true).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let state: String = sqlx::query_scalar("SELECT state FROM star_ratings WHERE id = $1")
        .bind(id)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(state, "published");

    // A volunteer's service record page, for staff over them only.
    let v = app
        .store
        .create_volunteer(
            &wangge_core::Caller::system(),
            wangge_store::NewVolunteer { area_id: unit, name: "林志远".into(), ..Default::default() },
        )
        .await
        .unwrap();
    let (s, body) = grid_chief.get(&format!("/volunteers/{}/record", v.id)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("林志远") && body.contains("id=\"record\""), "{body}");
    let (s, _) = stranger.get(&format!("/volunteers/{}/record", v.id)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The community's dashboard carries the services figures.
    let (s, body) = chief.get(&format!("/areas/{community}/dashboard")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("id=\"services-figures\""), "{body}");
}
