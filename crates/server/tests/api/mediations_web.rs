//! The staff pages of mediations and evaluations over plain HTTP, on both engines: a dispute
//! case taken to mediation from its page, sessions, the agreement and the follow-up visit;
//! outsiders (the grid's own chief, another grid's chief, another community's station chief)
//! get 404 on every page and form and nothing is written; bad input is a 4xx with nothing
//! written. Residents rate the people in charge; staff publish a period's frozen result, shown
//! beside the post's case rates. And a visit that files a case writes both or neither.

use std::sync::Arc;

use chrono::{NaiveDate, TimeDelta};
use reqwest::{Method, StatusCode};
use serde_json::json;
use wangge_core::{Caller, PostKind};
use wangge_store::clock::FakeClock;
use wangge_store::{NewAccount, NewPost, NewVisit, VisitCase};

use crate::web::Web;
use crate::{DEMO_PASSWORD, TestApp};

crate::on_both_engines!(
    a_mediation_walks_through_its_pages,
    residents_rate_and_staff_publish_on_the_pages,
    a_visit_and_its_case_are_one_write,
);

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

/// What a refused form must leave untouched.
async fn written(app: &TestApp) -> Vec<i64> {
    let mut v = Vec::new();
    for t in ["mediations", "mediation_parties", "mediation_sessions", "visits", "evaluations", "evaluation_snapshots"]
    {
        v.push(count(app, t).await);
    }
    let states: Vec<String> =
        sqlx::query_scalar("SELECT state FROM mediations ORDER BY id").fetch_all(app.store.pool()).await.unwrap();
    v.push(states.iter().filter(|s| *s != "open").count() as i64);
    v
}

/// One grid of Shengquan Community, its people, and outsiders.
struct World {
    app: TestApp,
    clock: Arc<FakeClock>,
    grid: i64,
    grid_chief_post: i64,
    other_grid_chief_post: i64,
    chief: Web,
    grid_chief: Web,
    strangers: Vec<(&'static str, Web)>,
}

async fn world(app: TestApp) -> World {
    let app = app.with_demo().await;
    let clock = FakeClock::at_local(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap().and_hms_opt(9, 0, 0).unwrap());
    app.store.set_clock(clock.clone());
    let community = app.area_id("圣泉社区").await;
    let units = app.staffed_units(community).await;
    let grid = units[0].1;
    let other_grid = units.iter().find(|(_, g)| *g != grid).expect("a second staffed grid").1;
    let communities: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM areas WHERE level = 'community' AND id <> $1 ORDER BY id")
            .bind(community)
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    let mut other_station = None;
    for c in communities {
        if let Some(p) = app.post_at(c, "station_chief").await {
            other_station = Some(p);
            break;
        }
    }
    let sign_in = |post: i64| {
        let app = &app;
        async move { Web::sign_in(app, &app.login_of(post).await).await }
    };
    let grid_chief_post = app.post_at(grid, "grid_chief").await.unwrap();
    let other_grid_chief_post = app.post_at(other_grid, "grid_chief").await.unwrap();
    let chief = sign_in(app.post_at(community, "station_chief").await.unwrap()).await;
    let grid_chief = sign_in(grid_chief_post).await;
    let strangers = vec![
        ("another grid's chief", sign_in(other_grid_chief_post).await),
        ("another community's station chief", sign_in(other_station.expect("another staffed community")).await),
    ];
    World { app, clock, grid, grid_chief_post, other_grid_chief_post, chief, grid_chief, strangers }
}

/// A resident of the grid with a household, and that household's code.
async fn resident_of(app: &TestApp, grid: i64) -> (i64, i64, String) {
    sqlx::query_as::<_, (i64, i64, String)>(
        "SELECT r.id, r.unit_id, h.code FROM residents r JOIN households h ON h.id = r.household_id \
         WHERE r.grid_id = $1 ORDER BY r.id LIMIT 1",
    )
    .bind(grid)
    .fetch_one(app.store.pool())
    .await
    .unwrap()
}

/// A dispute reported on the hotline, routed to the community's station chief.
async fn dispute(w: &World) -> i64 {
    let county = w.app.area_id("仙游县").await;
    let system = Caller::system();
    let new =
        NewAccount { login: "agent.mediation".into(), display_name: "县热线坐席".into(), ..NewAccount::default() };
    let (acct, _) = w.app.store.create_account(&system, new).await.unwrap();
    let post = NewPost {
        account_id: acct.id,
        area_id: Some(county),
        kind: PostKind::HotlineAgent,
        is_primary: true,
        title: None,
        started_on: None,
    };
    let agent = w.app.post_token(w.app.store.appoint(&system, post).await.unwrap().id).await;
    let (resident, _, code) = resident_of(&w.app, w.grid).await;
    let (s, v) = w
        .app
        .call_as(
            Some(&agent),
            Method::POST,
            "/api/v1/cases",
            Some(json!({"category": "neighbour_dispute", "channel": "hotline", "description": "楼上漏水与邻居争执",
                   "reporter": {"kind": "resident", "resident_id": resident}, "household_code": code,
                   "answers": {"parties": 2}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["case"]["id"].as_i64().unwrap()
}

async fn a_mediation_walks_through_its_pages(app: TestApp) {
    let w = world(app).await;
    let case = dispute(&w).await;
    let start = format!("/cases/{case}/mediation");

    // The case's owner is offered the way to mediation; the grid's chief is not.
    let (s, body) = w.chief.get(&format!("/cases/{case}")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"start-mediation\""), "{body}");
    let (_, body) = w.grid_chief.get(&format!("/cases/{case}")).await;
    assert!(!body.contains("id=\"start-mediation\""), "{body}");
    let (s, body) = w.chief.get(&start).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"start-form\""), "{body}");

    let good =
        [("parties", "张先生\n楼上住户李某"), ("mediators", "郑老伯，乡贤"), ("me", "yes"), ("follow_up_days", "30")];
    // Outside the owner chain: 404 on the form and its post, and nothing written.
    let before = written(&w.app).await;
    for (who, web) in w.strangers.iter().map(|(n, x)| (*n, x)).chain([("the grid's chief", &w.grid_chief)]) {
        let (s, _) = web.get(&start).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who}");
        let (s, _) = web.post(&start, &good, true).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who}");
    }
    // Bad input: 422 with the field's error.
    let (s, body) =
        w.chief.post(&start, &[("parties", ""), ("mediators", "郑老伯"), ("follow_up_days", "30")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"parties-error\"") && body.contains("当事人为1至20人"), "{body}");
    let (s, body) =
        w.chief.post(&start, &[("parties", "张先生"), ("me", "yes"), ("follow_up_days", "三十")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"follow_up_days-error\""), "{body}");
    let (s, body) =
        w.chief.post(&start, &[("parties", "张先生"), ("me", "yes"), ("follow_up_days", "999")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"follow_up_days-error\""), "{body}");
    let (s, _) = w.chief.post(&start, &good, false).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no CSRF token, no mediation");
    assert_eq!(written(&w.app).await, before);

    let (s, body) = w.chief.post(&start, &good, true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let id: i64 = sqlx::query_scalar("SELECT id FROM mediations WHERE case_id = $1")
        .bind(case)
        .fetch_one(w.app.store.pool())
        .await
        .unwrap();
    let page = format!("/mediations/{id}");
    let (s, body) = w.chief.post(&start, &good, true).await;
    assert_eq!(s, StatusCode::CONFLICT, "a case is mediated once: {body}");
    assert_eq!(count(&w.app, "mediations").await, 1);
    let (_, body) = w.chief.get(&format!("/cases/{case}")).await;
    assert!(body.contains(&format!("href=\"{page}\"")), "the case links its mediation: {body}");

    let (s, body) = w.chief.get(&page).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    for text in ["楼上住户李某", "郑老伯", "乡贤", "id=\"session-form\"", "调解中"] {
        assert!(body.contains(text), "{text}: {body}");
    }
    assert!(!body.contains("id=\"outcome-form\""), "no outcome before a session");

    // The list: filters, search and pages.
    let (s, body) = w.chief.get("/mediations").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(&format!("id=\"mediation-{id}\"")), "{body}");
    let (_, body) = w.chief.get(&format!("/mediations?q={}", crate::web::enc("李某"))).await;
    assert!(body.contains(&format!("id=\"mediation-{id}\"")), "{body}");
    let (_, body) = w.chief.get("/mediations?q=nobody").await;
    assert!(body.contains("id=\"no-mediations\""), "{body}");
    let (_, body) = w.chief.get("/mediations?state=agreed&page=1").await;
    assert!(body.contains("id=\"no-mediations\""), "{body}");
    let (s, _) = w.chief.get("/mediations?page=0").await;
    assert!(s.is_client_error(), "{s}");

    // Private: 404 for everyone outside the owner chain, on every page and form.
    let before = written(&w.app).await;
    let audit = count(&w.app, "audit_events").await;
    for (who, web) in w.strangers.iter().map(|(n, x)| (*n, x)).chain([("the grid's chief", &w.grid_chief)]) {
        let (s, _) = web.get(&page).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who}");
        let (_, body) = web.get("/mediations").await;
        assert!(!body.contains(&format!("mediation-{id}\"")), "{who} lists it");
        for (form, fields) in [
            ("sessions", vec![("held_at", "2026-03-02T08:00"), ("note", "x")]),
            ("outcome", vec![("outcome", "agreed"), ("terms", "x")]),
            ("outcome", vec![("outcome", "")]),
            ("follow-up", vec![("found", "x")]),
        ] {
            let (s, _) = web.post(&format!("{page}/{form}"), &fields, true).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{who} posts {form}");
        }
    }
    assert_eq!(written(&w.app).await, before);
    assert_eq!(count(&w.app, "audit_events").await, audit);

    // No outcome before a session: out of turn.
    let (s, body) = w.chief.post(&format!("{page}/outcome"), &[("outcome", "agreed"), ("terms", "x")], true).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("请先记录调解经过"), "{body}");
    // A session: not in the future, with a note.
    let (s, body) =
        w.chief.post(&format!("{page}/sessions"), &[("held_at", "2026-03-09T09:00"), ("note", "x")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"held_at-error\""), "{body}");
    let (s, body) =
        w.chief.post(&format!("{page}/sessions"), &[("held_at", "2026-03-02T08:30"), ("note", " ")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"note-error\""), "{body}");
    let (s, body) = w.chief.post(&format!("{page}/sessions"), &[("held_at", "昨天"), ("note", "x")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(written(&w.app).await, before);
    let note = "双方到邻里客厅陈述，乡贤郑老伯释法说理";
    let (s, body) =
        w.chief.post(&format!("{page}/sessions"), &[("held_at", "2026-03-02T08:30"), ("note", note)], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, body) = w.chief.get(&page).await;
    assert!(body.contains(note) && body.contains("id=\"outcome-form\""), "{body}");

    // The outcome: chosen, and an agreement has terms.
    let (s, body) = w.chief.post(&format!("{page}/outcome"), &[("terms", "x")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"outcome-error\""), "{body}");
    let (s, body) = w.chief.post(&format!("{page}/outcome"), &[("outcome", "agreed"), ("terms", "")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"terms-error\""), "{body}");
    let terms = "楼上住户一周内修复防水层并承担楼下墙面修补费用";
    let (s, body) = w.chief.post(&format!("{page}/outcome"), &[("outcome", "agreed"), ("terms", terms)], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, body) = w.chief.get(&page).await;
    assert!(body.contains(terms) && body.contains("id=\"follow-up-due\"") && body.contains("2026-04-01"), "{body}");
    assert!(!body.contains("id=\"follow-up-form\"") && body.contains("id=\"follow-up-later\""), "{body}");
    assert!(!body.contains("id=\"session-form\""), "an ended mediation takes no session");
    let (s, _) = w.chief.post(&format!("{page}/outcome"), &[("outcome", "referred"), ("referred_to", "x")], true).await;
    assert_eq!(s, StatusCode::CONFLICT, "one outcome");

    // The follow-up visit waits for its day.
    let before = written(&w.app).await;
    let (s, body) = w.chief.post(&format!("{page}/follow-up"), &[("found", "x")], true).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("尚未到回访日期"), "{body}");
    assert_eq!(written(&w.app).await, before);
    w.clock.advance(TimeDelta::days(30));
    let (_, body) = w.chief.get("/mediations?due=1").await;
    assert!(body.contains(&format!("id=\"mediation-{id}\"")), "{body}");
    let (_, body) = w.chief.get(&page).await;
    assert!(body.contains("id=\"follow-up-form\""), "{body}");
    let (s, body) = w.chief.post(&format!("{page}/follow-up"), &[("found", "")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"found-error\""), "{body}");
    assert_eq!(written(&w.app).await, before);
    let (s, body) = w.chief.post(&format!("{page}/follow-up"), &[("found", "防水已修复，双方关系和睦")], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, body) = w.chief.get(&page).await;
    assert!(body.contains("id=\"follow-up-done\"") && body.contains("已回访"), "{body}");
    let state: String = sqlx::query_scalar("SELECT state FROM mediations WHERE id = $1")
        .bind(id)
        .fetch_one(w.app.store.pool())
        .await
        .unwrap();
    assert_eq!(state, "followed_up");
    let (_, body) = w.chief.get("/mediations?state=followed_up").await;
    assert!(body.contains(&format!("id=\"mediation-{id}\"")), "{body}");
}

async fn residents_rate_and_staff_publish_on_the_pages(app: TestApp) {
    let w = world(app).await;
    let system = Caller::system();
    let (resident, unit, _) = resident_of(&w.app, w.grid).await;
    let (account, _) = w
        .app
        .store
        .create_account(
            &system,
            NewAccount {
                login: "resident.rates".into(),
                display_name: "居民".into(),
                resident_id: Some(resident),
                password: Some(DEMO_PASSWORD.into()),
                ..NewAccount::default()
            },
        )
        .await
        .unwrap();
    let post = NewPost {
        account_id: account.id,
        area_id: Some(unit),
        kind: PostKind::HouseholdHead,
        is_primary: false,
        title: None,
        started_on: None,
    };
    w.app.store.appoint(&system, post).await.unwrap();
    let me = Web::sign_in(&w.app, "resident.rates").await;
    let gc = w.grid_chief_post.to_string();

    // The resident's page offers the people in charge of where they live, for this quarter.
    let (s, body) = me.get("/evaluate").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("2026-Q1") && body.contains(&format!("id=\"rate-form-{gc}\"")), "{body}");
    assert!(!body.contains(&format!("id=\"rate-form-{}\"", w.other_grid_chief_post)), "{body}");
    let before = written(&w.app).await;
    let (s, body) = me.post("/evaluate", &[("post_id", &gc), ("period", "2026-Q1"), ("score", "9")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, _) = me.post("/evaluate", &[("post_id", &gc), ("period", "2026-Q1")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = me.post("/evaluate", &[("post_id", &gc), ("period", "2026-Q9"), ("score", "4")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let other = w.other_grid_chief_post.to_string();
    let (s, _) = me.post("/evaluate", &[("post_id", &other), ("period", "2026-Q1"), ("score", "4")], true).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "only the people in charge of where the resident lives");
    assert_eq!(written(&w.app).await, before);
    let (s, body) = me
        .post("/evaluate", &[("post_id", &gc), ("period", "2026-Q1"), ("score", "4"), ("comment", "办事认真")], true)
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, body) = me.get("/evaluate").await;
    assert!(body.contains(&format!("id=\"rated-{gc}\"")), "{body}");
    let (s, _) = me.post("/evaluate", &[("post_id", &gc), ("period", "2026-Q1"), ("score", "5")], true).await;
    assert_eq!(s, StatusCode::CONFLICT, "once a period");
    assert_eq!(count(&w.app, "evaluations").await, 1);
    // Staff pages are not the resident's.
    let (s, _) = me.get("/evaluations").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The station chief sees the grid chief's ratings waiting, beside the case rates.
    let list = "/evaluations?period=2026-Q1&kind=grid_chief";
    let (s, body) = w.chief.get(list).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(&format!("id=\"pending-{gc}\"")) && body.contains(&format!("id=\"publish-{gc}\"")), "{body}");
    let (s, body) = w.chief.get("/evaluations?period=2026-13").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // The grid chief does not publish their own result.
    let (_, body) = w.grid_chief.get(list).await;
    assert!(body.contains(&format!("id=\"post-{gc}\"")) && !body.contains(&format!("id=\"publish-{gc}\"")), "{body}");

    // Outsiders: the post is not there, and nothing is written.
    let before = written(&w.app).await;
    for (who, web) in &w.strangers {
        let (_, body) = web.get(list).await;
        assert!(!body.contains(&format!("id=\"post-{gc}\"")), "{who}: {body}");
        let form = [("post_id", gc.as_str()), ("period", "2026-Q1"), ("kind", "grid_chief"), ("confirm", "yes")];
        let (s, _) = web.post("/evaluations/publish", &form, true).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who}");
    }
    // Confirmed first; a period the store reads.
    let (s, body) = w.chief.post("/evaluations/publish", &[("post_id", &gc), ("period", "2026-Q1")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let form = [("post_id", gc.as_str()), ("period", "2026-Q5"), ("confirm", "yes")];
    let (s, _) = w.chief.post("/evaluations/publish", &form, true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(written(&w.app).await, before);

    let form = [("post_id", gc.as_str()), ("period", "2026-Q1"), ("kind", "grid_chief"), ("confirm", "yes")];
    let (s, body) = w.chief.post("/evaluations/publish", &form, true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, body) = w.chief.get(list).await;
    assert!(body.contains(&format!("id=\"snapshot-{gc}\"")) && body.contains("4.00"), "{body}");
    let (s, _) = w.chief.post("/evaluations/publish", &form, true).await;
    assert_eq!(s, StatusCode::CONFLICT, "a published result is frozen");
    assert_eq!(count(&w.app, "evaluation_snapshots").await, 1);

    // The grid's dashboard shows the post's published result beside its case satisfaction.
    let (s, body) = w.chief.get(&format!("/areas/{}/dashboard", w.grid)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(&format!("id=\"post-evaluation-{gc}\"")) && body.contains("4.00"), "{body}");
}

async fn a_visit_and_its_case_are_one_write(app: TestApp) {
    let w = world(app).await;
    let (_, _, code) = resident_of(&w.app, w.grid).await;
    let household: i64 = sqlx::query_scalar("SELECT id FROM households WHERE code = $1")
        .bind(&code)
        .fetch_one(w.app.store.pool())
        .await
        .unwrap();
    // The visit cannot be written (a trigger refuses it): the case that came with it is not
    // left behind either.
    let refuse = match w.app.engine {
        crate::Engine::Sqlite => {
            vec!["CREATE TRIGGER refuse_visits BEFORE INSERT ON visits BEGIN SELECT RAISE(ABORT, 'refused'); END"]
        }
        crate::Engine::Postgres => vec![
            "CREATE FUNCTION refuse_visits() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \
             RAISE EXCEPTION 'refused'; END $f$",
            "CREATE TRIGGER refuse_visits BEFORE INSERT ON visits FOR EACH ROW EXECUTE FUNCTION refuse_visits()",
        ],
    };
    for sql in refuse {
        sqlx::raw_sql(sql).execute(w.app.store.pool()).await.unwrap();
    }
    let new = || NewVisit {
        household_id: household,
        visited_on: None,
        found: "门前消防通道被电动车占用".into(),
        follow_up: None,
        case: Some(VisitCase { category: "road_occupation".into(), description: "消防通道被占".into() }),
    };
    let before = (count(&w.app, "cases").await, count(&w.app, "visits").await, count(&w.app, "case_events").await);
    assert!(w.app.store.record_visit(&Caller::system(), new()).await.is_err());
    let after = (count(&w.app, "cases").await, count(&w.app, "visits").await, count(&w.app, "case_events").await);
    assert_eq!(after, before, "neither the case nor the visit is written");
    let drop = match w.app.engine {
        crate::Engine::Sqlite => "DROP TRIGGER refuse_visits",
        crate::Engine::Postgres => "DROP TRIGGER refuse_visits ON visits",
    };
    sqlx::raw_sql(drop).execute(w.app.store.pool()).await.unwrap();

    // Without the trigger both are written, and the visit names its case.
    let v = w.app.store.record_visit(&Caller::system(), new()).await.unwrap();
    let case = v.case_id.expect("the visit filed a case");
    assert_eq!(count(&w.app, "cases").await, before.0 + 1);
    assert_eq!(count(&w.app, "visits").await, before.1 + 1);
    let category: String = sqlx::query_scalar("SELECT category_code FROM cases WHERE id = $1")
        .bind(case)
        .fetch_one(w.app.store.pool())
        .await
        .unwrap();
    assert_eq!(category, "road_occupation");
    // A visit without a case is still one write of its own.
    let mut plain = new();
    plain.case = None;
    assert!(w.app.store.record_visit(&Caller::system(), plain).await.unwrap().case_id.is_none());
}
