//! Living rooms through the HTTP API on the demo county, with a fake clock: a topic from
//! raised to decided under a one-per-household quorum, with a follow-up case closed through the
//! cases API and shown on the meeting's public page; a mediation from dispute to agreement to
//! its follow-up visit, private to its owner chain; visits that file cases; notices; residents'
//! evaluations; bad input refused with nothing written.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Row;
use wangge_core::{Caller, PostKind};
use wangge_store::clock::FakeClock;
use wangge_store::{NewAccount, NewPost};

use crate::TestApp;

crate::on_both_engines!(
    a_topic_walks_to_a_decision_and_its_follow_up_closes,
    a_mediation_reaches_agreement_and_its_follow_up_visit,
    visits_file_cases_and_list_the_unvisited,
    notices_are_reviewed_published_and_withdrawn,
    residents_evaluate_posts_and_results_freeze,
    bad_input_is_refused_and_nothing_is_written,
    the_demo_tells_the_living_room_story,
    a_grid_worker_records_a_visit_on_the_web,
);

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, min, 0).unwrap()
}

/// A resident and their household.
#[derive(Debug, Clone)]
struct Res {
    id: i64,
    household: i64,
    code: String,
}

/// One staffed grid of Shengquan Community and the people around it.
struct World {
    app: TestApp,
    clock: Arc<FakeClock>,
    grid: i64,
    unit: i64,
    /// Two members of one household, then residents of three other households, all in `grid`.
    a: Res,
    a2: Res,
    b: Res,
    c: Res,
    d: Res,
    /// A resident of another grid of the same community.
    outsider: Res,
    station_chief: String,
    grid_chief: String,
    unit_chief: String,
    other_grid_chief: String,
    other_unit_chief: String,
    agent: String,
    station_post: i64,
    grid_chief_post: i64,
}

async fn residents_of_grid(app: &TestApp, grid: i64) -> Vec<Res> {
    let rows = sqlx::query(
        "SELECT r.id, r.household_id, h.code FROM residents r JOIN households h ON h.id = r.household_id \
         WHERE r.grid_id = $1 ORDER BY r.household_id, r.id",
    )
    .bind(grid)
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    rows.iter().map(|r| Res { id: r.get("id"), household: r.get("household_id"), code: r.get("code") }).collect()
}

async fn world(app: TestApp) -> World {
    let app = app.with_demo().await;
    let clock = FakeClock::at_local(at(2026, 3, 2, 9, 0));
    app.store.set_clock(clock.clone());
    let shengquan = app.area_id("圣泉社区").await;
    let rows = app.staffed_units(shengquan).await;
    let (unit, grid) = rows[0];
    let (other_unit, other_grid) = *rows.iter().find(|r| r.1 != grid).expect("a unit in another grid");
    let people = residents_of_grid(&app, grid).await;
    // A household with two members, then three other households.
    let pair =
        people.windows(2).find(|w| w[0].household == w[1].household).expect("a household of two in the grid").to_vec();
    let mut others: Vec<Res> = Vec::new();
    for p in &people {
        if p.household != pair[0].household && !others.iter().any(|o| o.household == p.household) {
            others.push(p.clone());
        }
    }
    assert!(others.len() >= 3, "three more households in the grid");
    let outsider = residents_of_grid(&app, other_grid).await.remove(0);
    let station_post = app.post_at(shengquan, "station_chief").await.unwrap();
    let grid_chief_post = app.post_at(grid, "grid_chief").await.unwrap();
    let county = app.area_id("仙游县").await;
    let system = Caller::system();
    let new =
        NewAccount { login: "agent.rooms".into(), display_name: "县热线坐席".into(), ..NewAccount::default() };
    let (acct, _) = app.store.create_account(&system, new).await.unwrap();
    let post = NewPost {
        account_id: acct.id,
        area_id: Some(county),
        kind: PostKind::HotlineAgent,
        is_primary: true,
        title: None,
        started_on: None,
    };
    let agent_post = app.store.appoint(&system, post).await.unwrap().id;
    World {
        grid,
        unit,
        a: pair[0].clone(),
        a2: pair[1].clone(),
        b: others[0].clone(),
        c: others[1].clone(),
        d: others[2].clone(),
        outsider,
        station_chief: app.post_token(station_post).await,
        grid_chief: app.post_token(grid_chief_post).await,
        unit_chief: app.post_token(app.post_at(unit, "unit_chief").await.unwrap()).await,
        other_grid_chief: app.post_token(app.post_at(other_grid, "grid_chief").await.unwrap()).await,
        other_unit_chief: app.post_token(app.post_at(other_unit, "unit_chief").await.unwrap()).await,
        agent: app.post_token(agent_post).await,
        station_post,
        grid_chief_post,
        clock,
        app,
    }
}

impl World {
    async fn call(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.app.call_as(Some(token), method, path, body).await
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(token, Method::POST, path, Some(body)).await
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.call(token, Method::GET, path, None).await
    }

    /// A POST that must answer `want`.
    async fn ok(&self, token: &str, path: &str, body: Value, want: StatusCode) -> Value {
        let (s, v) = self.post(token, path, body).await;
        assert_eq!(s, want, "POST {path}: {v}");
        v
    }

    /// A living room at the world's grid (Lanxin Garden's is a grid's too).
    async fn room(&self) -> i64 {
        let v = self
            .ok(
                &self.station_chief,
                "/api/v1/living-rooms",
                json!({"area_id": self.grid, "name": "邻里客厅", "address": "圣泉社区3号楼下", "opening_hours": "每天 08:30-21:00",
                       "capacity": 30, "keeper_post_id": self.grid_chief_post}),
                StatusCode::CREATED,
            )
            .await;
        v["id"].as_i64().unwrap()
    }

    async fn dispute(&self) -> i64 {
        let (s, v) = self
            .post(
                &self.agent,
                "/api/v1/cases",
                json!({"category": "neighbour_dispute", "channel": "hotline", "description": "楼上漏水与邻居争执",
                       "reporter": {"kind": "resident", "resident_id": self.a.id}, "household_code": self.a.code,
                       "answers": {"parties": 2}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["case"]["id"].as_i64().unwrap()
    }
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

const TABLES: [&str; 15] = [
    "living_rooms",
    "room_bookings",
    "topics",
    "topic_supports",
    "meetings",
    "meeting_attendees",
    "decisions",
    "decision_votes",
    "follow_ups",
    "mediations",
    "visits",
    "notices",
    "evaluations",
    "cases",
    "audit_events",
];

async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut v = Vec::new();
    for t in TABLES {
        v.push(count(app, t).await);
    }
    v
}

async fn a_topic_walks_to_a_decision_and_its_follow_up_closes(app: TestApp) {
    let w = world(app).await;
    let room = w.room().await;

    // Raised by a resident (who supports it), with a threshold of three supports.
    let topic = w
        .ok(
            &w.grid_chief,
            "/api/v1/topics",
            json!({"area_id": w.grid, "title": "楼道堆物占道", "description": "3号楼楼道长期堆放杂物，影响通行与消防",
                   "raised_by_resident_id": w.a.id, "threshold": 3}),
            StatusCode::CREATED,
        )
        .await;
    let tid = topic["id"].as_i64().unwrap();
    assert_eq!((topic["state"].as_str(), topic["supports"].as_i64()), (Some("raised"), Some(1)), "{topic}");
    let support = format!("/api/v1/topics/{tid}/supports");
    let t = w.ok(&w.grid_chief, &support, json!({"resident_id": w.b.id}), StatusCode::OK).await;
    assert_eq!((t["state"].as_str(), t["supports"].as_i64()), (Some("raised"), Some(2)));
    let told =
        |inbox: &Value| inbox["items"].as_array().unwrap().iter().filter(|i| i["kind"] == "topic_supported").count();
    assert_eq!(told(&w.get(&w.grid_chief, "/api/v1/inbox").await.1), 0, "below the threshold nobody is told");
    let t = w.ok(&w.grid_chief, &support, json!({"resident_id": w.c.id}), StatusCode::OK).await;
    assert_eq!((t["state"].as_str(), t["supports"].as_i64()), (Some("supported"), Some(3)), "the threshold is reached");
    // The post in charge of the topic's area is told, once, and nobody elsewhere.
    let (_, inbox) = w.get(&w.grid_chief, "/api/v1/inbox").await;
    assert_eq!(told(&inbox), 1, "{inbox}");
    assert!(inbox.to_string().contains("楼道堆物占道"), "{inbox}");
    let t = w.ok(&w.grid_chief, &support, json!({"resident_id": w.d.id}), StatusCode::OK).await;
    assert_eq!(t["supports"].as_i64(), Some(4));
    assert_eq!(told(&w.get(&w.grid_chief, "/api/v1/inbox").await.1), 1, "told once");
    assert_eq!(told(&w.get(&w.other_grid_chief, "/api/v1/inbox").await.1), 0);
    // The topics that must be scheduled.
    let (_, due) = w.get(&w.station_chief, "/api/v1/topics?state=supported").await;
    assert_eq!(due["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64()).collect::<Vec<_>>(), [Some(tid)]);

    // Scheduled at the room, one vote per household, a quorum of three households.
    let meeting = w
        .ok(
            &w.station_chief,
            "/api/v1/meetings",
            json!({"room_id": room, "title": "三月居民议事会", "agenda": "一、楼道堆物整治\n二、停车秩序",
                   "starts_at": "2026-03-05T19:30", "ends_at": "2026-03-05T21:00", "topic_ids": [tid],
                   "vote_mode": "household", "quorum": 3}),
            StatusCode::CREATED,
        )
        .await;
    let mid = meeting["id"].as_i64().unwrap();
    assert_eq!(
        (meeting["state"].as_str(), meeting["topic_ids"].clone()),
        (Some("scheduled"), json!([tid])),
        "{meeting}"
    );
    let (_, t) = w.get(&w.grid_chief, &format!("/api/v1/topics/{tid}")).await;
    assert_eq!(t["state"], "scheduled");
    let (s, cal) = w.get(&w.grid_chief, &format!("/api/v1/living-rooms/{room}/bookings?from=2026-03-01T00:00")).await;
    assert_eq!(s, StatusCode::OK, "{cal}");
    assert_eq!(
        (cal[0]["meeting_id"].as_i64(), cal[0]["starts_at"].as_str()),
        (Some(mid), Some("2026-03-05T11:30:00Z"))
    );

    // Invitations with codes; two members of one household, and others.
    let inv = w
        .ok(
            &w.station_chief,
            &format!("/api/v1/meetings/{mid}/invitations"),
            json!({"resident_ids": [w.a.id, w.a2.id, w.b.id]}),
            StatusCode::CREATED,
        )
        .await;
    let code_of = |r: i64| inv.as_array().unwrap().iter().find(|i| i["resident_id"] == r).unwrap()["code"].clone();
    let check_in = format!("/api/v1/meetings/{mid}/check-ins");
    w.ok(&w.grid_chief, &check_in, json!({"code": code_of(w.a.id)}), StatusCode::OK).await;
    w.ok(&w.grid_chief, &check_in, json!({"code": code_of(w.a2.id)}), StatusCode::OK).await;
    let (s, v) = w.post(&w.grid_chief, &check_in, json!({"code": code_of(w.a.id)})).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("already_checked_in")));
    // A staff member checks in a resident who has no code, with consent recorded.
    let (s, v) = w.post(&w.grid_chief, &check_in, json!({"resident_id": w.b.id})).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("consent")), "{v}");
    let att = w
        .ok(
            &w.grid_chief,
            &check_in,
            json!({"resident_id": w.b.id, "consent": "本人口头同意由网格长代为签到"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(att["consent"], "本人口头同意由网格长代为签到");
    w.ok(&w.grid_chief, &check_in, json!({"resident_id": w.c.id, "consent": "本人同意"}), StatusCode::OK).await;
    let (_, m) = w.get(&w.grid_chief, &format!("/api/v1/meetings/{mid}")).await;
    assert_eq!(
        (m["state"].as_str(), m["invited"].as_i64(), m["present"].as_i64(), m["present_households"].as_i64()),
        (Some("held"), Some(3), Some(4), Some(3)),
        "{m}"
    );
    let (s, _) = w
        .call(
            &w.station_chief,
            Method::PUT,
            &format!("/api/v1/meetings/{mid}/minutes"),
            Some(json!({"minutes": "到会4人，讨论楼道堆物整治。"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // The decision is voted, one ballot per household.
    let d = w
        .ok(
            &w.station_chief,
            &format!("/api/v1/meetings/{mid}/decisions"),
            json!({"body": "一周内清理楼道堆物，由单元长督促", "topic_id": tid, "needs_vote": true}),
            StatusCode::CREATED,
        )
        .await;
    let did = d["id"].as_i64().unwrap();
    assert_eq!(d["state"], "open");
    let votes = format!("/api/v1/decisions/{did}/votes");
    w.ok(&w.grid_chief, &votes, json!({"resident_id": w.a.id, "choice": "yes"}), StatusCode::OK).await;
    let (s, v) = w.post(&w.grid_chief, &votes, json!({"resident_id": w.a2.id, "choice": "no"})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_voted")),
        "one ballot per household"
    );
    w.ok(&w.grid_chief, &votes, json!({"resident_id": w.b.id, "choice": "yes"}), StatusCode::OK).await;
    let (s, v) = w.post(&w.grid_chief, &votes, json!({"resident_id": w.d.id, "choice": "yes"})).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("not_present")), "{v}");
    let d = w.ok(&w.grid_chief, &votes, json!({"resident_id": w.c.id, "choice": "no"}), StatusCode::OK).await;
    assert_eq!((d["yes"].as_i64(), d["no"].as_i64()), (Some(2), Some(1)));
    let (s, _) = w.post(&w.unit_chief, &format!("/api/v1/decisions/{did}/close"), json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a unit chief is below the meeting's grid");
    let d = w.ok(&w.station_chief, &format!("/api/v1/decisions/{did}/close"), json!({}), StatusCode::OK).await;
    assert_eq!(d["state"], "adopted", "three households voted: quorum met, 2 to 1");
    let (_, t) = w.get(&w.grid_chief, &format!("/api/v1/topics/{tid}")).await;
    assert_eq!(t["state"], "decided");
    // A second decision with one ballot falls below the quorum.
    let d2 = w
        .ok(
            &w.station_chief,
            &format!("/api/v1/meetings/{mid}/decisions"),
            json!({"body": "增设非机动车停放点", "needs_vote": true}),
            StatusCode::CREATED,
        )
        .await;
    let d2id = d2["id"].as_i64().unwrap();
    w.ok(
        &w.grid_chief,
        &format!("/api/v1/decisions/{d2id}/votes"),
        json!({"resident_id": w.b.id, "choice": "yes"}),
        StatusCode::OK,
    )
    .await;
    let d2 = w.ok(&w.station_chief, &format!("/api/v1/decisions/{d2id}/close"), json!({}), StatusCode::OK).await;
    assert_eq!(d2["state"], "no_quorum");
    let (s, v) = w
        .post(
            &w.station_chief,
            &format!("/api/v1/decisions/{d2id}/follow-ups"),
            json!({"action": "x", "category": "parking"}),
        )
        .await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_adopted")));

    // The case and its link to the decision are one transaction: when the link cannot be
    // written (a trigger refuses it here), no case is left behind either.
    let refuse = match w.app.engine {
        crate::Engine::Sqlite => vec![
            "CREATE TRIGGER refuse_follow_ups BEFORE INSERT ON follow_ups BEGIN SELECT RAISE(ABORT, 'refused'); END",
        ],
        crate::Engine::Postgres => vec![
            "CREATE FUNCTION refuse_follow_ups() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \
             RAISE EXCEPTION 'refused'; END $f$",
            "CREATE TRIGGER refuse_follow_ups BEFORE INSERT ON follow_ups FOR EACH ROW EXECUTE FUNCTION refuse_follow_ups()",
        ],
    };
    for sql in refuse {
        sqlx::raw_sql(sql).execute(w.app.store.pool()).await.unwrap();
    }
    let before = (count(&w.app, "cases").await, count(&w.app, "follow_ups").await);
    let new = wangge_store::NewFollowUp {
        action: "清理3号楼楼道堆物".into(),
        category: "road_occupation".into(),
        household_code: Some(w.a.code.clone()),
        area_id: None,
    };
    assert!(w.app.store.add_follow_up(&Caller::system(), did, new).await.is_err());
    assert_eq!((count(&w.app, "cases").await, count(&w.app, "follow_ups").await), before, "neither is written");
    let drop = match w.app.engine {
        crate::Engine::Sqlite => "DROP TRIGGER refuse_follow_ups",
        crate::Engine::Postgres => "DROP TRIGGER refuse_follow_ups ON follow_ups",
    };
    sqlx::raw_sql(drop).execute(w.app.store.pool()).await.unwrap();

    // The follow-up is a case from the living room, tracked to its end through the cases API.
    let f = w
        .ok(
            &w.station_chief,
            &format!("/api/v1/decisions/{did}/follow-ups"),
            json!({"action": "清理3号楼楼道堆物", "category": "road_occupation", "household_code": w.a.code}),
            StatusCode::CREATED,
        )
        .await;
    let case = f["case_id"].as_i64().unwrap();
    let (_, cv) = w.get(&w.station_chief, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(cv["channel"], "living_room");
    let owner = cv["owner_post_id"].as_i64().expect("the follow-up is dispatched");
    let public = format!("/api/v1/public/meetings/{mid}");
    let (s, p) = w.app.call_as(None, Method::GET, &public, None).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["decisions"][0]["follow_ups"][0]["case_state"], "dispatched", "{p}");
    assert!(!p.to_string().contains(&format!("\"resident_id\":{}", w.a.id)), "no resident on the public page");
    let owner_token = w.app.post_token(owner).await;
    let mv = |m: &str| format!("/api/v1/cases/{case}/moves/{m}");
    w.ok(&owner_token, &mv("sign"), json!({}), StatusCode::OK).await;
    w.ok(&owner_token, &mv("respond"), json!({"note": "已联系楼栋住户"}), StatusCode::OK).await;
    w.ok(&owner_token, &mv("resolve"), json!({"note": "杂物已清理"}), StatusCode::OK).await;
    w.ok(&w.station_chief, &mv("verify"), json!({}), StatusCode::OK).await;
    w.ok(&w.station_chief, &mv("close"), json!({}), StatusCode::OK).await;

    let (_, p) = w.app.call_as(None, Method::GET, &public, None).await;
    let decisions = p["decisions"].as_array().unwrap();
    assert_eq!(
        decisions.iter().map(|d| d["state"].as_str().unwrap()).collect::<Vec<_>>(),
        ["adopted", "no_quorum"],
        "{p}"
    );
    let fu = &decisions[0]["follow_ups"][0];
    assert_eq!((fu["case_state"].as_str(), fu["action"].as_str()), (Some("closed"), Some("清理3号楼楼道堆物")));
    assert!(fu["closed_at"].is_string());
    assert_eq!(
        (p["present_households"].as_i64(), p["minutes"].as_str()),
        (Some(3), Some("到会4人，讨论楼道堆物整治。"))
    );
    // The same on the meeting's web page, for residents on a phone, in both languages.
    for (lang, adopted, done) in [("en", "Adopted", "Done"), ("zh-CN", "通过", "已办结")] {
        let resp = w
            .app
            .client
            .get(format!("{}/meetings/{mid}/public", w.app.base))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let html = resp.text().await.unwrap();
        for want in ["一周内清理楼道堆物，由单元长督促", "清理3号楼楼道堆物", adopted, done] {
            assert!(html.contains(want), "{lang}: the page lacks {want}: {html}");
        }
    }
    let resp = w.app.client.get(format!("{}/meetings/999999/public", w.app.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let (_, list) =
        w.app.call_as(None, Method::GET, &format!("/api/v1/public/meetings?area_id={}", w.unit), None).await;
    assert_eq!(list["total"], 0, "a unit's page lists the meetings of its own subtree only: {list}");
    let (_, list) =
        w.app.call_as(None, Method::GET, &format!("/api/v1/public/meetings?area_id={}", w.grid), None).await;
    assert_eq!(list["items"][0]["id"].as_i64(), Some(mid));

    // The dashboard's figures.
    let (_, fig) = w.get(&w.station_chief, "/api/v1/living-room-figures").await;
    assert_eq!((fig["meetings_held"].as_i64(), fig["decisions_followed_up"].as_i64()), (Some(1), Some(1)), "{fig}");
    // Another grid's chief sees none of it.
    for path in
        [format!("/api/v1/meetings/{mid}"), format!("/api/v1/topics/{tid}"), format!("/api/v1/living-rooms/{room}")]
    {
        let (s, _) = w.get(&w.other_grid_chief, &path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    let (_, l) = w.get(&w.other_grid_chief, "/api/v1/meetings").await;
    assert_eq!(l["total"], 0);
}

async fn a_mediation_reaches_agreement_and_its_follow_up_visit(app: TestApp) {
    let w = world(app).await;
    let room = w.room().await;
    let case = w.dispute().await;
    let body = json!({"case_id": case, "room_id": room, "follow_up_days": 30,
        "parties": [{"resident_id": w.a.id}, {"name": "楼上住户李某"}],
        "mediators": [{"post_id": w.station_post, "title": "社区调解员"}, {"name": "郑老伯", "title": "乡贤"}]});
    // Only the owner chain takes it to mediation: the case is with the station chief.
    let (s, _) = w.post(&w.grid_chief, "/api/v1/mediations", body.clone()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let m = w.ok(&w.station_chief, "/api/v1/mediations", body.clone(), StatusCode::CREATED).await;
    let id = m["id"].as_i64().unwrap();
    assert_eq!((m["state"].as_str(), m["parties"].as_array().unwrap().len()), (Some("open"), 2), "{m}");
    assert_eq!(m["mediators"][1]["title"], "乡贤");
    let (s, v) = w.post(&w.station_chief, "/api/v1/mediations", body).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("already_mediated")));
    // A case that is not a dispute is not mediated.
    let (_, parking) = w
        .post(
            &w.agent,
            "/api/v1/cases",
            json!({"category": "parking", "channel": "hotline", "description": "乱停车", "reporter": {"kind": "anonymous"},
                   "household_code": w.a.code}),
        )
        .await;
    let (s, v) = w
        .post(
            &w.station_chief,
            "/api/v1/mediations",
            json!({"case_id": parking["case"]["id"], "follow_up_days": 30, "parties": [{"name": "甲"}], "mediators": [{"name": "乙"}]}),
        )
        .await;
    assert!(s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::NOT_FOUND, "{s} {v}");

    // Private: nobody outside the owner chain sees it, not even the grid chief of its grid.
    let path = format!("/api/v1/mediations/{id}");
    for (who, t) in [
        ("grid chief of the grid", Some(&w.grid_chief)),
        ("grid chief of another grid", Some(&w.other_grid_chief)),
        ("unit chief of another unit", Some(&w.other_unit_chief)),
        ("unit chief of the unit", Some(&w.unit_chief)),
        ("the public", None),
    ] {
        let (s, v) = w.app.call_as(t.map(String::as_str), Method::GET, &path, None).await;
        assert!(s == StatusCode::NOT_FOUND || s == StatusCode::FORBIDDEN, "{who}: {s} {v}");
        let (s, v) = w.app.call_as(t.map(String::as_str), Method::GET, "/api/v1/mediations", None).await;
        assert!(s != StatusCode::OK || v["total"] == 0, "{who} lists it: {v}");
        let (s, _) = w
            .app
            .call_as(
                t.map(String::as_str),
                Method::POST,
                &format!("{path}/sessions"),
                Some(json!({"held_at": "2026-03-02T09:00", "note": "x"})),
            )
            .await;
        assert!(s == StatusCode::NOT_FOUND || s == StatusCode::FORBIDDEN, "{who} adds a session");
    }
    let (_, list) = w.get(&w.station_chief, "/api/v1/mediations").await;
    assert_eq!(list["total"], 1);

    // No outcome before a session; then a session and the agreement.
    let (s, v) = w.post(&w.station_chief, &format!("{path}/outcome"), json!({"outcome": "agreed", "terms": "x"})).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("no_session")));
    w.clock.advance(TimeDelta::hours(2));
    let (s, v) = w
        .post(&w.station_chief, &format!("{path}/sessions"), json!({"held_at": "2026-03-09T09:00", "note": "x"}))
        .await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("in_future")));
    let m = w
        .ok(
            &w.station_chief,
            &format!("{path}/sessions"),
            json!({"held_at": "2026-03-02T10:00", "note": "双方到邻里客厅陈述，乡贤郑老伯释法说理"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(m["sessions"].as_array().unwrap().len(), 1);
    let (s, v) = w.post(&w.station_chief, &format!("{path}/outcome"), json!({"outcome": "agreed"})).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("terms")));
    let m = w
        .ok(
            &w.station_chief,
            &format!("{path}/outcome"),
            json!({"outcome": "agreed", "terms": "楼上住户一周内修复防水层并承担楼下墙面修补费用"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (m["state"].as_str(), m["follow_up_due"].as_str()),
        (Some("agreed"), Some("2026-04-01T03:00:00Z")),
        "{m}"
    );

    // The follow-up visit waits for its day; the job runner reminds the owner when it comes.
    let (s, v) = w.post(&w.station_chief, &format!("{path}/follow-up"), json!({"found": "x"})).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("follow_up_not_due")));
    assert_eq!(w.app.store.run_due_mediation_follow_ups(w.app.store.now()).await.unwrap(), 0);
    w.clock.advance(TimeDelta::days(30));
    assert_eq!(w.app.store.run_due_mediation_follow_ups(w.app.store.now()).await.unwrap(), 1);
    assert_eq!(w.app.store.run_due_mediation_follow_ups(w.app.store.now()).await.unwrap(), 0, "reminded once");
    let (_, inbox) = w.get(&w.station_chief, "/api/v1/inbox").await;
    assert!(inbox["items"].as_array().unwrap().iter().any(|i| i["kind"] == "mediation_follow_up"), "{inbox}");
    let (_, due) = w.get(&w.station_chief, "/api/v1/mediations?follow_up_due=true").await;
    assert_eq!(due["total"], 1);
    let m = w
        .ok(
            &w.station_chief,
            &format!("{path}/follow-up"),
            json!({"found": "防水已修复，双方关系和睦"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(m["state"], "followed_up");
    assert!(m["follow_up_visit_id"].is_i64());
    // The follow-up visit stays with the mediation: the grid's visit list does not show it.
    let (_, visits) = w.get(&w.grid_chief, &format!("/api/v1/visits?household_id={}", w.a.household)).await;
    assert_eq!(visits["total"], 0, "{visits}");
    let (_, fig) = w.get(&w.station_chief, "/api/v1/living-room-figures").await;
    assert_eq!(fig["disputes_settled"], 1);
}

async fn visits_file_cases_and_list_the_unvisited(app: TestApp) {
    let w = world(app).await;
    let v = w
        .ok(
            &w.grid_chief,
            "/api/v1/visits",
            json!({"household_id": w.b.household, "found": "老人独居，身体尚可", "follow_up": "每月电话问候"}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!((v["visited_on"].as_str(), v["case_id"].as_i64()), (Some("2026-03-02"), None), "{v}");
    // A visit that finds a problem files a case in the same step.
    let v = w
        .ok(
            &w.grid_chief,
            "/api/v1/visits",
            json!({"household_id": w.a.household, "visited_on": "2026-03-01", "found": "门前消防通道被电动车占用",
                   "case": {"category": "road_occupation", "description": "门前消防通道被电动车占用"}}),
            StatusCode::CREATED,
        )
        .await;
    let case = v["case_id"].as_i64().expect("the visit filed a case");
    let (_, c) = w.get(&w.grid_chief, &format!("/api/v1/cases/{case}")).await;
    assert_eq!((c["channel"].as_str(), c["household_id"].as_i64()), (Some("patrol"), Some(w.a.household)), "{c}");
    assert_eq!(v["case_number"], c["number"]);
    // The household's history, newest first.
    w.ok(
        &w.grid_chief,
        "/api/v1/visits",
        json!({"household_id": w.a.household, "found": "复查：通道已清空"}),
        StatusCode::CREATED,
    )
    .await;
    let (_, h) = w.get(&w.grid_chief, &format!("/api/v1/visits?household_id={}", w.a.household)).await;
    let days: Vec<&str> = h["items"].as_array().unwrap().iter().map(|v| v["visited_on"].as_str().unwrap()).collect();
    assert_eq!(days, ["2026-03-02", "2026-03-01"]);
    // Not visited for 30 days: every household of the grid but the two visited.
    let (s, u) =
        w.get(&w.grid_chief, &format!("/api/v1/unvisited-households?area_id={}&days=30&page_size=200", w.grid)).await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let households: i64 = sqlx::query_scalar("SELECT count(*) FROM households WHERE grid_id = $1")
        .bind(w.grid)
        .fetch_one(w.app.store.pool())
        .await
        .unwrap();
    assert_eq!(u["total"].as_i64(), Some(households - 2));
    let ids: Vec<i64> = u["items"].as_array().unwrap().iter().map(|h| h["id"].as_i64().unwrap()).collect();
    assert!(!ids.contains(&w.a.household) && !ids.contains(&w.b.household));
    // Forty days on, both are due again; the one visited first shows when.
    w.clock.advance(TimeDelta::days(40));
    let (_, u) =
        w.get(&w.grid_chief, &format!("/api/v1/unvisited-households?area_id={}&days=30&page_size=200", w.grid)).await;
    assert_eq!(u["total"].as_i64(), Some(households));
    let b = u["items"].as_array().unwrap().iter().find(|h| h["id"] == w.b.household).unwrap().clone();
    assert_eq!(b["last_visited_on"], "2026-03-02");
    // Another grid's chief sees none of it; its own unvisited list has none of these.
    let (s, _) = w.get(&w.other_grid_chief, &format!("/api/v1/visits/{}", v["id"])).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, l) = w.get(&w.other_grid_chief, "/api/v1/visits").await;
    assert_eq!(l["total"], 0);
    let (s, _) = w.get(&w.other_grid_chief, &format!("/api/v1/unvisited-households?area_id={}", w.grid)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn notices_are_reviewed_published_and_withdrawn(app: TestApp) {
    let w = world(app).await;
    let n = w
        .ok(
            &w.grid_chief,
            "/api/v1/notices",
            json!({"area_id": w.grid, "kind": "village_affairs", "title": "2026年一季度村务公开",
                   "body": "环境整治经费支出 3,200 元，明细见公示栏。"}),
            StatusCode::CREATED,
        )
        .await;
    let id = n["id"].as_i64().unwrap();
    assert_eq!((n["state"].as_str(), n["kind"].as_str()), (Some("draft"), Some("village_affairs")));
    let step = |s: &str| format!("/api/v1/notices/{id}/{s}");
    let (s, v) = w.post(&w.grid_chief, &step("publish"), json!({})).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("bad_step")), "not before review");
    let (s, v) = w.post(&w.grid_chief, &step("review"), json!({})).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("own_draft")));
    let (s, _) = w.post(&w.unit_chief, &step("review"), json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a unit chief is below the notice's grid");
    w.ok(&w.station_chief, &step("review"), json!({}), StatusCode::OK).await;
    let public = format!("/api/v1/public/notices?area_id={}", w.unit);
    let (_, p) = w.app.call_as(None, Method::GET, &public, None).await;
    assert_eq!(p["total"], 0, "not yet published");
    let n = w.ok(&w.grid_chief, &step("publish"), json!({}), StatusCode::OK).await;
    assert_eq!(n["state"], "published");
    // Residents of a unit in the grid see it; so does the unit chief's home page.
    let (_, p) = w.app.call_as(None, Method::GET, &public, None).await;
    assert_eq!(p["items"][0]["id"].as_i64(), Some(id), "{p}");
    let (_, home) = w.get(&w.unit_chief, "/api/v1/notices?reaching_me=true").await;
    assert_eq!(home["items"][0]["id"].as_i64(), Some(id), "{home}");
    let (s, _) = w.get(&w.unit_chief, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    // Another grid does not.
    let (_, home) = w.get(&w.other_grid_chief, "/api/v1/notices?reaching_me=true").await;
    assert_eq!(home["total"], 0);
    let (s, _) = w.get(&w.other_grid_chief, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let page = format!("{}/notices/public?area_id={}", w.app.base, w.unit);
    let html = w.app.client.get(&page).header("accept-language", "zh-CN").send().await.unwrap().text().await.unwrap();
    assert!(html.contains("2026年一季度村务公开") && html.contains("村务公开"), "{html}");
    w.ok(&w.grid_chief, &step("withdraw"), json!({}), StatusCode::OK).await;
    let html = w.app.client.get(&page).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("2026年一季度村务公开"), "withdrawn notices leave the page");
    let (_, p) = w.app.call_as(None, Method::GET, &public, None).await;
    assert_eq!(p["total"], 0, "withdrawn");
    let (s, _) = w.post(&w.grid_chief, &step("reopen"), json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn residents_evaluate_posts_and_results_freeze(app: TestApp) {
    let w = world(app).await;
    let rate = |r: i64, score: i64| json!({"post_id": w.grid_chief_post, "period": "2026-Q1", "resident_id": r, "score": score});
    w.ok(&w.grid_chief, "/api/v1/evaluations", rate(w.a.id, 5), StatusCode::NO_CONTENT).await;
    w.ok(&w.grid_chief, "/api/v1/evaluations", rate(w.b.id, 4), StatusCode::NO_CONTENT).await;
    w.ok(&w.grid_chief, "/api/v1/evaluations", rate(w.c.id, 4), StatusCode::NO_CONTENT).await;
    let (s, v) = w.post(&w.grid_chief, "/api/v1/evaluations", rate(w.a.id, 1)).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("already_rated")));
    let (s, v) = w.post(&w.station_chief, "/api/v1/evaluations", rate(w.outsider.id, 1)).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("outside_area")));
    let (s, v) = w.post(&w.grid_chief, "/api/v1/evaluations", rate(w.d.id, 6)).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("score")));
    let publish = json!({"post_id": w.grid_chief_post, "period": "2026-Q1"});
    let (s, _) = w.post(&w.grid_chief, "/api/v1/evaluations/snapshots", publish.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no post publishes its own results");
    let snap = w.ok(&w.station_chief, "/api/v1/evaluations/snapshots", publish.clone(), StatusCode::CREATED).await;
    assert_eq!((snap["ratings"].as_i64(), snap["mean_x100"].as_i64()), (Some(3), Some(433)));
    let (s, v) = w.post(&w.grid_chief, "/api/v1/evaluations", rate(w.d.id, 3)).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("period_published")), "frozen");
    let (s, _) = w.post(&w.station_chief, "/api/v1/evaluations/snapshots", publish).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, l) = w.get(&w.station_chief, &format!("/api/v1/evaluations/snapshots?post_id={}", w.grid_chief_post)).await;
    assert_eq!(l["items"][0]["mean_x100"], 433);
    let (_, l) = w.get(&w.other_grid_chief, "/api/v1/evaluations/snapshots").await;
    assert_eq!(l["total"], 0);
}

async fn bad_input_is_refused_and_nothing_is_written(app: TestApp) {
    let w = world(app).await;
    let room = w.room().await;
    let topic = w
        .ok(
            &w.grid_chief,
            "/api/v1/topics",
            json!({"area_id": w.grid, "title": "停车", "description": "乱停车", "threshold": 2}),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let meeting = w
        .ok(
            &w.station_chief,
            "/api/v1/meetings",
            json!({"room_id": room, "title": "议事会", "agenda": "停车", "starts_at": "2026-03-05T19:30",
                   "ends_at": "2026-03-05T21:00", "topic_ids": [topic], "vote_mode": "resident", "quorum": 1}),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    w.ok(
        &w.grid_chief,
        &format!("/api/v1/meetings/{meeting}/check-ins"),
        json!({"resident_id": w.a.id, "consent": "同意"}),
        StatusCode::OK,
    )
    .await;
    let decision = w
        .ok(
            &w.station_chief,
            &format!("/api/v1/meetings/{meeting}/decisions"),
            json!({"body": "划线停车", "needs_vote": true}),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let votes = format!("/api/v1/decisions/{decision}/votes");
    w.ok(&w.grid_chief, &votes, json!({"resident_id": w.a.id, "choice": "yes"}), StatusCode::OK).await;
    // A closed room for the meeting refused below.
    let closed = w.room().await;
    let (s, _) = w
        .call(
            &w.station_chief,
            Method::PUT,
            &format!("/api/v1/living-rooms/{closed}/open"),
            Some(json!({"is_open": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let before = snapshot(&w.app).await;
    let meeting_body = |room: i64, from: &str, to: &str| json!({"room_id": room, "title": "议事会", "agenda": "x", "starts_at": from, "ends_at": to, "vote_mode": "household", "quorum": 3});
    let supports = format!("/api/v1/topics/{topic}/supports");
    let bookings = format!("/api/v1/living-rooms/{closed}/bookings");
    let invitations = format!("/api/v1/meetings/{meeting}/invitations");
    let check_ins = format!("/api/v1/meetings/{meeting}/check-ins");
    let votes = votes.as_str();
    let cases: Vec<(&str, &str, &str, Value, StatusCode, &str)> = vec![
        // A vote by someone outside the meeting's area.
        (
            "grid chief",
            "POST",
            votes,
            json!({"resident_id": w.outsider.id, "choice": "yes"}),
            StatusCode::NOT_FOUND,
            "unknown_resident",
        ),
        (
            "station chief",
            "POST",
            votes,
            json!({"resident_id": w.outsider.id, "choice": "yes"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "outside_area",
        ),
        // A second vote.
        (
            "grid chief",
            "POST",
            votes,
            json!({"resident_id": w.a.id, "choice": "no"}),
            StatusCode::CONFLICT,
            "already_voted",
        ),
        (
            "grid chief",
            "POST",
            votes,
            json!({"resident_id": w.a.id, "choice": "maybe"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        // A meeting in a closed living room, and in a booked one.
        (
            "station chief",
            "POST",
            "/api/v1/meetings",
            meeting_body(closed, "2026-03-06T19:30", "2026-03-06T21:00"),
            StatusCode::CONFLICT,
            "room_closed",
        ),
        (
            "station chief",
            "POST",
            "/api/v1/meetings",
            meeting_body(room, "2026-03-05T20:00", "2026-03-05T22:00"),
            StatusCode::CONFLICT,
            "room_booked",
        ),
        (
            "station chief",
            "POST",
            "/api/v1/meetings",
            meeting_body(room, "2026-03-06T21:00", "2026-03-06T19:00"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_span",
        ),
        (
            "station chief",
            "POST",
            "/api/v1/meetings",
            meeting_body(room, "tomorrow", "2026-03-06T19:00"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_time",
        ),
        (
            "station chief",
            "POST",
            "/api/v1/meetings",
            json!({"room_id": room, "title": "x", "agenda": "x", "starts_at": "2026-03-07T19:00", "ends_at": "2026-03-07T20:00", "topic_ids": [topic], "vote_mode": "resident", "quorum": 1}),
            StatusCode::CONFLICT,
            "topic_taken",
        ),
        // A visit to a household outside the worker's grid, and one with a bad case.
        (
            "grid chief",
            "POST",
            "/api/v1/visits",
            json!({"household_id": w.outsider.household, "found": "x"}),
            StatusCode::NOT_FOUND,
            "unknown_household",
        ),
        (
            "grid chief",
            "POST",
            "/api/v1/visits",
            json!({"household_id": w.a.household, "found": "x", "case": {"category": "nope", "description": "x"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_category",
        ),
        (
            "grid chief",
            "POST",
            "/api/v1/visits",
            json!({"household_id": w.a.household, "found": " "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
        ),
        (
            "grid chief",
            "POST",
            "/api/v1/visits",
            json!({"household_id": w.a.household, "found": "x", "visited_on": "2026-03-09"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "in_future",
        ),
        // Supports from outside the area, and twice.
        (
            "station chief",
            "POST",
            supports.as_str(),
            json!({"resident_id": w.outsider.id}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "outside_area",
        ),
        ("grid chief", "POST", supports.as_str(), json!({"resident_id": w.b.id}), StatusCode::CONFLICT, "topic_closed"),
        (
            "grid chief",
            "POST",
            "/api/v1/topics",
            json!({"area_id": w.grid, "title": "x", "description": "x", "raised_by_resident_id": w.outsider.id}),
            StatusCode::NOT_FOUND,
            "unknown_resident",
        ),
        (
            "station chief",
            "POST",
            "/api/v1/topics",
            json!({"area_id": w.grid, "title": "x", "description": "x", "raised_by_resident_id": w.outsider.id}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "outside_area",
        ),
        (
            "station chief",
            "POST",
            "/api/v1/topics",
            json!({"area_id": w.grid, "title": "x", "description": "x", "threshold": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "out_of_range",
        ),
        (
            "unit chief",
            "POST",
            "/api/v1/living-rooms",
            json!({"area_id": w.unit, "name": "x", "address": "x", "opening_hours": "x", "capacity": 5}),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            "station chief",
            "POST",
            "/api/v1/living-rooms",
            json!({"area_id": w.grid, "name": "x", "address": "x", "opening_hours": "x", "capacity": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "out_of_range",
        ),
        (
            "station chief",
            "POST",
            bookings.as_str(),
            json!({"starts_at": "2026-03-06T09:00", "ends_at": "2026-03-06T10:00", "purpose": "x"}),
            StatusCode::CONFLICT,
            "room_closed",
        ),
        (
            "station chief",
            "POST",
            invitations.as_str(),
            json!({"resident_ids": [w.b.id, w.outsider.id]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "outside_area",
        ),
        (
            "station chief",
            "POST",
            check_ins.as_str(),
            json!({"code": "AAAAAAAA"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_code",
        ),
        (
            "station chief",
            "POST",
            "/api/v1/notices",
            json!({"area_id": w.grid, "kind": "gossip", "title": "x", "body": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ];
    for (who, method, path, body, want, code) in cases {
        let t = match who {
            "grid chief" => &w.grid_chief,
            "unit chief" => &w.unit_chief,
            _ => &w.station_chief,
        };
        let (s, v) = w.call(t, Method::from_bytes(method.as_bytes()).unwrap(), path, Some(body.clone())).await;
        assert_eq!(s, want, "{who} {path} {body}: {v}");
        if !code.is_empty() {
            assert_eq!(v["error"]["code"], code, "{who} {path} {body}: {v}");
        }
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        assert_eq!(snapshot(&w.app).await, before, "{who} {path} {body} wrote something");
    }
}

async fn the_demo_tells_the_living_room_story(app: TestApp) {
    let app = app.with_demo().await;
    let r = app.store.seed_demo_rooms().await.expect("the living rooms' story is told");
    assert_eq!((r.rooms, r.meetings, r.decisions, r.follow_ups, r.mediations), (3, 2, 3, 3, 1), "{r:?}");
    assert_eq!((r.visits, r.notices), (12, 2));
    // Lanxin Garden's meeting page shows its three decisions, two follow-ups closed.
    let lanxin = app.area_id("兰馨园网格").await;
    let (_, list) = app.call_as(None, Method::GET, &format!("/api/v1/public/meetings?area_id={lanxin}"), None).await;
    assert_eq!(list["total"], 1, "{list}");
    let (_, m) =
        app.call_as(None, Method::GET, &format!("/api/v1/public/meetings/{}", list["items"][0]["id"]), None).await;
    let states: Vec<&str> =
        m["decisions"].as_array().unwrap().iter().map(|d| d["follow_ups"][0]["case_state"].as_str().unwrap()).collect();
    assert_eq!(states, ["closed", "closed", "signed"], "{m}");
    let (_, n) = app.call_as(None, Method::GET, &format!("/api/v1/public/notices?area_id={lanxin}"), None).await;
    assert_eq!(n["items"][0]["kind"], "village_affairs", "{n}");
    let (_, med) = app.get("/api/v1/mediations?state=followed_up").await;
    let (_, med) = app.get(&format!("/api/v1/mediations/{}", med["items"][0]["id"])).await;
    assert_eq!(med["mediators"][1]["title"], "乡贤", "{med}");
    let (_, fig) = app.get("/api/v1/living-room-figures").await;
    assert_eq!(
        (fig["meetings_held"].as_i64(), fig["decisions_followed_up"].as_i64(), fig["disputes_settled"].as_i64()),
        (Some(1), Some(3), Some(1)),
        "{fig}"
    );
}

async fn a_grid_worker_records_a_visit_on_the_web(app: TestApp) {
    let w = world(app).await;
    let login: String =
        sqlx::query_scalar("SELECT a.login FROM accounts a JOIN posts p ON p.account_id = a.id WHERE p.id = $1")
            .bind(w.grid_chief_post)
            .fetch_one(w.app.store.pool())
            .await
            .unwrap();
    let web = crate::web::Web::sign_in(&w.app, &login).await;
    let page = format!("/households/{}/visits", w.a.household);
    let (s, body) = web.get(&page).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(r#"id="no-visits""#) && body.contains(r#"name="case_category""#), "{body}");
    let before = snapshot(&w.app).await;
    // Without the session's token, with nothing found, or at another grid's household: refused.
    let form = [("found", "楼道堆放杂物"), ("case_category", "road_occupation")];
    let (s, _) = web.post(&page, &form, false).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = web.post(&page, &[("found", " ")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains(r#"id="found-error""#), "{body}");
    let (s, _) = web.post(&format!("/households/{}/visits", w.outsider.household), &form, true).await;
    assert!(s == StatusCode::NOT_FOUND || s == StatusCode::FORBIDDEN, "{s}");
    assert_eq!(snapshot(&w.app).await, before, "refused forms wrote nothing");
    // The visit files its case in the same step.
    let (s, _) = web.post(&page, &form, true).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, body) = web.get(&page).await;
    assert!(body.contains("楼道堆放杂物") && body.contains("/cases/"), "{body}");
    let (_, v) = w.get(&w.grid_chief, &format!("/api/v1/visits?household_id={}", w.a.household)).await;
    let case = v["items"][0]["case_id"].as_i64().expect("a case was filed");
    let (_, c) = w.get(&w.grid_chief, &format!("/api/v1/cases/{case}")).await;
    assert_eq!((c["channel"].as_str(), c["category"].as_str()), (Some("patrol"), Some("road_occupation")));
    // The grid's dashboard counts the visit among the living rooms' figures.
    let (s, body) = web.get(&format!("/areas/{}/dashboard", w.grid)).await;
    assert_eq!(s, StatusCode::OK);
    let section = &body[body.find(r#"id="rooms-section""#).expect("the living rooms' figures")..];
    assert!(section.contains("<dt>入户走访</dt><dd>1</dd>"), "{section}");
}
