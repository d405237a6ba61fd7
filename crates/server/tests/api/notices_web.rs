//! The staff pages of notices: a grid chief drafts one, the station chief reviews and publishes
//! it, and it shows on the grid chief's home page; another grid's chief is refused the notice's
//! page and forms, and nothing is written.

use reqwest::StatusCode;

use crate::TestApp;
use crate::web::Web;

crate::on_both_engines!(the_pages_draft_publish_and_withdraw_a_notice);

/// The notice's state and the audit trail's length: "nothing written".
async fn written(app: &TestApp, id: i64) -> (String, i64) {
    let state: String = sqlx::query_scalar("SELECT state FROM notices WHERE id = $1")
        .bind(id)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events").fetch_one(app.store.pool()).await.unwrap();
    (state, audit)
}

async fn the_pages_draft_publish_and_withdraw_a_notice(app: TestApp) {
    let app = app.with_demo().await;
    let community = app.area_id("圣泉社区").await;
    let units = app.staffed_units(community).await;
    let grid = units[0].1;
    let other = units.iter().find(|(_, g)| *g != grid).expect("a second staffed grid").1;
    let sign_in = |area: i64, kind: &'static str| {
        let app = &app;
        async move { Web::sign_in(app, &app.login_of(app.post_at(area, kind).await.unwrap()).await).await }
    };
    let grid_chief = sign_in(grid, "grid_chief").await;
    let chief = sign_in(community, "station_chief").await;
    let stranger = sign_in(other, "grid_chief").await;

    let (s, body) = grid_chief.get("/notices").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"draft-form\"") && body.contains(&format!("value=\"{grid}\"")), "{body}");
    let grid_s = grid.to_string();
    let title = "楼道堆物清理通知";
    let form =
        [("title", title), ("body", "本周六上午统一清理楼道堆物。"), ("kind", "general"), ("area_id", grid_s.as_str())];
    // Bad input: no title, nothing written.
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM notices").fetch_one(app.store.pool()).await.unwrap();
    let (s, body) =
        grid_chief.post("/notices", &[("title", ""), ("body", "x"), ("area_id", grid_s.as_str())], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"title-error\""), "{body}");
    let (s, _) = grid_chief.post("/notices", &form, false).await;
    assert!(s.is_client_error(), "no CSRF token, no notice: {s}");
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM notices").fetch_one(app.store.pool()).await.unwrap();
    assert_eq!(before, after);

    let (s, body) = grid_chief.post("/notices", &form, true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let id: i64 = sqlx::query_scalar("SELECT id FROM notices WHERE title = $1")
        .bind(title)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let page = format!("/notices/{id}");
    let step = |p: &str| format!("/notices/{id}/{p}");
    let (s, body) = grid_chief.get(&page).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(title), "{body}");
    // The drafter is offered no review the store would refuse; posted anyway, it is a 409.
    assert!(!body.contains("id=\"review-form\""), "{body}");
    let (s, body) = grid_chief.post(&step("review"), &[], true).await;
    assert_eq!(s, StatusCode::CONFLICT, "the drafter does not review: {body}");
    assert!(body.contains("公告须由起草岗位以外的岗位审核"), "{body}");
    let (s, body) = chief.get(&page).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("id=\"review-form\""), "{body}");
    let (s, body) = chief.post(&step("review"), &[], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (s, body) = chief.post(&step("publish"), &[], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (s, body) = chief.get("/notices?state=published").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(&format!("id=\"notice-{id}\"")), "{body}");

    // The grid chief's home page shows it.
    let (s, body) = grid_chief.get("/home").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(&format!("id=\"home-notice-{id}\"")) && body.contains(title), "{body}");

    // Another grid's chief: refused, and nothing written.
    let was = written(&app, id).await;
    let (s, _) = stranger.get(&page).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for p in ["review", "publish", "withdraw"] {
        let (s, _) = stranger.post(&step(p), &[("confirm", "yes")], true).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
    }
    let (_, body) = stranger.get("/home").await;
    assert!(!body.contains(title), "another grid's notice does not reach it");
    assert_eq!(written(&app, id).await, was);

    // Withdrawing is confirmed first.
    let (s, body) = grid_chief.post(&step("withdraw"), &[], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(written(&app, id).await, was);
    let (s, body) = grid_chief.post(&step("withdraw"), &[("confirm", "yes")], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(written(&app, id).await.0, "withdrawn");
    let (_, body) = grid_chief.get("/home").await;
    assert!(!body.contains(title), "a withdrawn notice leaves the home page");
}
