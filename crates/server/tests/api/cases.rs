//! Cases through the HTTP API on the demo county, with a fake clock: every move of the spec,
//! escalation up the chain on missed deadlines, whistles, merges, ratings, rates computed by
//! hand over a holiday and a swapped working day, scope and privacy, bad input.

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
    a_case_walks_through_every_move,
    returns_transfers_and_arbitration,
    duplicates_merge_keeping_every_reporter,
    missed_deadlines_escalate_up_the_chain,
    a_job_claimed_twice_runs_once,
    verified_cases_close_unrated_after_the_window,
    rates_are_computed_from_the_log,
    owners_see_their_chain_and_private_cases_stay_private,
    bad_input_is_refused_and_nothing_is_written,
    a_point_routes_to_its_grid,
    the_intake_answers_with_the_case_as_stored,
    the_demo_tells_the_story,
    a_reporter_follows_and_rates_by_number,
    waiting_cases_remind_the_community,
    the_server_runs_due_jobs_on_the_real_clock,
    the_outbox_goes_to_the_gateway_with_retries,
);

const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==";

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, min, 0).unwrap()
}

/// The people of one fully staffed chain in Shengquan Community, and a county hotline agent.
struct World {
    app: TestApp,
    clock: Arc<FakeClock>,
    unit: i64,
    grid: i64,
    household_code: String,
    /// A resident of that unit, to report as.
    resident: i64,
    unit_chief: String,
    grid_chief: String,
    station_chief: String,
    town_admin: String,
    agent: String,
    /// The unit chief of a unit in another grid.
    other_unit_chief: String,
    posts: Posts,
}

struct Posts {
    unit_chief: i64,
    grid_chief: i64,
    station_chief: i64,
    town_admin: i64,
}

async fn world(app: TestApp) -> World {
    let app = app.with_demo().await;
    let clock = FakeClock::at_local(at(2026, 3, 2, 9, 0)); // a Monday
    app.store.set_clock(clock.clone());
    let shengquan = app.area_id("圣泉社区").await;
    let rows = app.staffed_units(shengquan).await;
    let (unit, grid) = rows[0];
    let (other_unit, _) = *rows.iter().find(|r| r.1 != grid).expect("a unit in another grid");
    let hh = sqlx::query("SELECT h.code, r.id FROM households h JOIN residents r ON r.household_id = h.id WHERE h.unit_id = $1 ORDER BY h.id LIMIT 1")
        .bind(unit)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let town = app.area_id("鲤南镇").await;
    let county = app.area_id("仙游县").await;
    let posts = Posts {
        unit_chief: app.post_at(unit, "unit_chief").await.unwrap(),
        grid_chief: app.post_at(grid, "grid_chief").await.unwrap(),
        station_chief: app.post_at(shengquan, "station_chief").await.expect("Shengquan has its station chief"),
        town_admin: app.post_at(town, "admin").await.unwrap(),
    };
    // The county's hotline (and 12345 transfers) has an agent.
    let system = Caller::system();
    let new =
        NewAccount { login: "agent.county".into(), display_name: "县热线坐席".into(), ..NewAccount::default() };
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
        unit,
        grid,
        household_code: hh.get("code"),
        resident: hh.get("id"),
        unit_chief: app.post_token(posts.unit_chief).await,
        grid_chief: app.post_token(posts.grid_chief).await,
        station_chief: app.post_token(posts.station_chief).await,
        town_admin: app.post_token(posts.town_admin).await,
        agent: app.post_token(agent_post).await,
        other_unit_chief: app.post_token(app.post_at(other_unit, "unit_chief").await.unwrap()).await,
        posts,
        clock,
        app,
    }
}

impl World {
    async fn as_(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.app.call_as(Some(token), method, path, body).await
    }

    /// A move that must succeed; returns the case after it.
    async fn ok(&self, token: &str, case: i64, mv: &str, body: Value) -> Value {
        let (s, v) = self.try_move(token, case, mv, body).await;
        assert_eq!(s, StatusCode::OK, "{mv}: {v}");
        v
    }

    async fn try_move(&self, token: &str, case: i64, mv: &str, body: Value) -> (StatusCode, Value) {
        self.as_(token, Method::POST, &format!("/api/v1/cases/{case}/moves/{mv}"), Some(body)).await
    }

    /// A case taken by the county hotline about the world's household.
    async fn intake(&self, category: &str, extra: Value) -> Value {
        let mut body = json!({"category": category, "channel": "hotline_12345", "description": "车辆长期占用消防通道",
            "reporter": {"kind": "resident", "resident_id": self.resident}, "household_code": self.household_code});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, v) = self.as_(&self.agent, Method::POST, "/api/v1/cases", Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    async fn events(&self, case: i64) -> Vec<Value> {
        let (s, v) = self.app.get(&format!("/api/v1/cases/{case}/events")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v.as_array().unwrap().clone()
    }

    async fn inbox(&self, token: &str) -> Vec<Value> {
        let (s, v) = self.as_(token, Method::GET, "/api/v1/inbox", None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["items"].as_array().unwrap().clone()
    }

    fn set(&self, t: NaiveDateTime) {
        self.clock.set_local(t);
    }

    async fn run_jobs(&self) -> wangge_store::JobReport {
        self.app.store.run_due_jobs(self.app.store.now(), "test").await.unwrap()
    }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(app.store.pool()).await.unwrap()
}

async fn a_case_walks_through_every_move(app: TestApp) {
    let w = world(app).await;
    let intake = w.intake("parking", json!({"answers": {"plate": "闽B12345"}})).await;
    let case = &intake["case"];
    let id = case["id"].as_i64().unwrap();
    assert_eq!(case["number"].as_str().unwrap(), format!("20260302{id:06}"));
    // Taken down by the hotline: filed and routed by household to the unit chief at once.
    assert_eq!(case["state"], "dispatched", "{intake}");
    assert_eq!(case["owner_post_id"], w.posts.unit_chief);
    assert!(intake["promise_zh"].as_str().unwrap().contains("单元长"));
    // 4 working hours to sign from Monday 09:00: 3 h to noon, 1 h from 14:30.
    assert_eq!(case["due_at"], "2026-03-02T07:30:00Z");
    assert!(w.inbox(&w.unit_chief).await.iter().any(|i| i["case_id"] == id && i["kind"] == "dispatch"));

    // A move not allowed from the current state is refused and names the move.
    let (s, v) = w.try_move(&w.unit_chief, id, "resolve", json!({})).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("move")), "{v}");
    // Only the owner signs.
    let (s, _) = w.try_move(&w.grid_chief, id, "sign", json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    w.ok(&w.unit_chief, id, "sign", json!({})).await;
    w.ok(&w.unit_chief, id, "respond", json!({"note": "已电话联系诉求人"})).await;
    let (s, v) = w.try_move(&w.unit_chief, id, "pause", json!({})).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")));
    let paused = w.ok(&w.unit_chief, id, "pause", json!({"reason": "等待车主到场"})).await;
    assert_eq!(paused["paused"], true);
    let due_before = paused["close_due"].as_str().unwrap().to_string();
    w.clock.advance(TimeDelta::hours(24));
    let resumed = w.ok(&w.unit_chief, id, "resume", json!({})).await;
    assert!(resumed["close_due"].as_str().unwrap() > due_before.as_str(), "the pause moved the deadline");
    w.ok(&w.unit_chief, id, "extend", json!({"reason": "需协调交警"})).await;
    assert!(w.inbox(&w.grid_chief).await.iter().any(|i| i["case_id"] == id && i["kind"] == "extend"));
    // The owner cannot approve its own extension; the post above does.
    let (s, _) = w.try_move(&w.unit_chief, id, "approve_extension", json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let extended = w.ok(&w.grid_chief, id, "approve_extension", json!({})).await;
    assert!(extended["close_due"].as_str().unwrap() > resumed["close_due"].as_str().unwrap());
    w.ok(&w.unit_chief, id, "extend", json!({"reason": "再延一次"})).await;
    w.ok(&w.grid_chief, id, "refuse_extension", json!({"reason": "时限已够"})).await;

    // The community blows the whistle: a co-building unit comes to the scene.
    // A co-building unit of the community (the demo attaches them to its first grids).
    let cbu: i64 = sqlx::query_scalar(
        "SELECT u.id FROM co_building_units u JOIN areas g ON g.id = u.grid_id \
         WHERE g.parent_id = (SELECT parent_id FROM areas WHERE id = $1) ORDER BY u.id LIMIT 1",
    )
    .bind(w.grid)
    .fetch_one(w.app.store.pool())
    .await
    .unwrap();
    let (s, _) = w.try_move(&w.unit_chief, id, "whistle", json!({"co_building_unit_id": cbu})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a unit chief does not summon");
    let whistled = w.ok(&w.station_chief, id, "whistle", json!({"co_building_unit_id": cbu})).await;
    assert_eq!(whistled["open_whistles"], 1);
    let (_, outbox) = w.app.get(&format!("/api/v1/cases/{id}/outbox")).await;
    assert!(outbox.as_array().unwrap().iter().any(|m| m["recipient"] == format!("co_building_unit:{cbu}")), "{outbox}");
    let reported = w
        .ok(
            &w.station_chief,
            id,
            "whistle_report",
            json!({"co_building_unit_id": cbu, "note": "30分钟内到场，协助挪车", "rating": {"solved": true, "satisfaction": "satisfied"}}),
        )
        .await;
    assert_eq!(reported["open_whistles"], 0);
    w.ok(&w.grid_chief, id, "comment", json!({"note": "已到现场查看", "public": true})).await;
    w.ok(&w.unit_chief, id, "attach", json!({"photos": [{"content_type": "image/png", "data_base64": PNG}]})).await;
    w.ok(&w.unit_chief, id, "resolve", json!({"note": "车辆已挪走"})).await;
    // Verification fails once: back to the owner with a shorter limit (rework).
    w.ok(&w.grid_chief, id, "reject", json!({"reason": "现场仍有车辆"})).await;
    w.ok(&w.unit_chief, id, "resolve", json!({"note": "已劝离并张贴告示"})).await;
    w.ok(&w.grid_chief, id, "verify", json!({})).await;
    // A low rating reopens it to the same owner, with a shorter deadline.
    let reopened =
        w.ok(&w.agent, id, "callback", json!({"rating": {"solved": false, "satisfaction": "dissatisfied"}})).await;
    assert_eq!((reopened["state"].as_str(), reopened["reopens"].as_u64()), (Some("responded"), Some(1)), "{reopened}");
    assert_eq!(reopened["owner_post_id"], w.posts.unit_chief);
    assert!(w.inbox(&w.unit_chief).await.iter().any(|i| i["kind"] == "reopen"));
    w.ok(&w.unit_chief, id, "resolve", json!({"note": "已彻底解决"})).await;
    w.ok(&w.grid_chief, id, "verify", json!({})).await;
    let closed = w.ok(&w.agent, id, "callback", json!({"rating": {"solved": true, "satisfaction": "satisfied"}})).await;
    assert_eq!(closed["state"], "closed", "a good rating closes a verified case");
    // The reporter says "not fixed" within the window: reopened again; staff exclude it later.
    w.ok(&w.agent, id, "reopen", json!({"reason": "又有车停进来"})).await;
    let excluded = w.ok(&w.station_chief, id, "exclude", json!({"reason": "属于交警职责，经审核不计入考核"})).await;
    assert_eq!(excluded["excluded"], true);
    // The owner escalates what is beyond it.
    let up = w.ok(&w.unit_chief, id, "escalate", json!({"reason": "超出单元处置能力"})).await;
    assert_eq!(up["owner_post_id"], w.posts.grid_chief);

    let events = w.events(id).await;
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "intake",
            "accept",
            "dispatch",
            "sign",
            "respond",
            "pause",
            "resume",
            "extend",
            "approve_extension",
            "extend",
            "refuse_extension",
            "whistle",
            "whistle_report",
            "comment",
            "attach",
            "resolve",
            "reject",
            "resolve",
            "verify",
            "callback",
            "reopen",
            "resolve",
            "verify",
            "callback",
            "close",
            "reopen",
            "exclude",
            "escalate",
        ]
    );
    // Who made each move is in the log; the system made the automatic ones.
    assert!(events[2]["post_id"].is_null() && events[3]["post_id"] == w.posts.unit_chief);
    assert_eq!(events[20]["reason"], "the reporter says it is not solved");
    let photo = events[14]["data"]["photo_ids"][0].as_i64().unwrap();
    let resp = w
        .app
        .client
        .get(format!("{}/api/v1/cases/{id}/photos/{photo}", w.app.base))
        .bearer_auth(&w.grid_chief)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "image/png");
    // Every move was audited in the same transaction.
    let audited =
        count(&w.app, &format!("SELECT count(*) FROM audit_events WHERE entity = 'case' AND entity_id = {id}")).await;
    assert_eq!(audited, i64::try_from(events.len()).unwrap());

    // Void: a case that is not valid ends with a reason that the reporter is told.
    let web = w.intake("inquiry", json!({"channel": "web"})).await;
    let wid = web["case"]["id"].as_i64().unwrap();
    assert_eq!(web["case"]["state"], "received", "a web report waits to be filed");
    let void = w.ok(&w.agent, wid, "void", json!({"reason": "重复来电"})).await;
    assert_eq!(void["state"], "void");
    let (_, outbox) = w.app.get(&format!("/api/v1/cases/{wid}/outbox")).await;
    assert_eq!(outbox[0]["recipient"], format!("resident:{}", w.resident));
    // A consultation answered on the phone is filed and closed at once; not from the web.
    let answered =
        w.intake("inquiry", json!({"channel": "hotline", "answered": "社保卡补办请带身份证到镇便民服务中心"})).await;
    assert_eq!(answered["case"]["state"], "closed", "{answered}");
    let aid = answered["case"]["id"].as_i64().unwrap();
    let kinds: Vec<String> = w.events(aid).await.iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds, ["intake", "accept", "close"]);
    let (s, v) = w
        .as_(
            &w.agent,
            Method::POST,
            "/api/v1/cases",
            Some(
                json!({"category": "inquiry", "channel": "web", "description": "x", "reporter": {"kind": "anonymous"},
                        "household_code": w.household_code, "answered": "y"}),
            ),
        )
        .await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("answered")));
    // Filing a web report dispatches it when the route is clear.
    let q = w.intake("inquiry", json!({"channel": "web"})).await;
    let qid = q["case"]["id"].as_i64().unwrap();
    w.ok(&w.agent, qid, "accept", json!({})).await;
    let (_, qv) = w.app.get(&format!("/api/v1/cases/{qid}")).await;
    assert_eq!(qv["state"], "dispatched", "filing dispatches when the route is clear");
}

async fn returns_transfers_and_arbitration(app: TestApp) {
    let w = world(app).await;
    let id = w.intake("road_occupation", json!({})).await["case"]["id"].as_i64().unwrap();
    let back = w.ok(&w.unit_chief, id, "return", json!({"reason": "不属于本单元"})).await;
    assert_eq!((back["state"].as_str(), back["owner_post_id"].is_null()), (Some("accepted"), true));
    assert!(w.inbox(&w.grid_chief).await.iter().any(|i| i["case_id"] == id && i["kind"] == "return"));
    // The dispatcher names another owner; it refuses too: the community must arbitrate.
    w.ok(&w.agent, id, "dispatch", json!({"post_id": w.posts.grid_chief})).await;
    w.ok(&w.grid_chief, id, "sign", json!({})).await;
    w.ok(&w.grid_chief, id, "return", json!({"reason": "应由社区处理"})).await;
    assert!(w.inbox(&w.station_chief).await.iter().any(|i| i["message"].as_str().unwrap().contains("arbitration")));
    w.ok(&w.station_chief, id, "dispatch", json!({"post_id": w.posts.unit_chief})).await;
    w.ok(&w.unit_chief, id, "sign", json!({})).await;
    let (s, v) = w.try_move(&w.unit_chief, id, "return", json!({"reason": "还是不归我"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "arbitration binds: {v}");
    // Staff may still transfer it; the resident never reports again.
    let (s, _) = w.try_move(&w.unit_chief, id, "transfer", json!({"reason": "x", "post_id": w.posts.grid_chief})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let t = w.ok(&w.station_chief, id, "transfer", json!({"reason": "网格统筹", "post_id": w.posts.grid_chief})).await;
    assert_eq!((t["state"].as_str(), t["owner_post_id"].as_i64()), (Some("dispatched"), Some(w.posts.grid_chief)));
    assert!(w.inbox(&w.grid_chief).await.iter().any(|i| i["case_id"] == id && i["kind"] == "transfer"));
}

async fn duplicates_merge_keeping_every_reporter(app: TestApp) {
    let w = world(app).await;
    let first = w.intake("exposed_rubbish", json!({})).await;
    let a = first["case"]["id"].as_i64().unwrap();
    assert!(first["duplicates"].as_array().unwrap().is_empty());
    let second = w
        .intake(
            "exposed_rubbish",
            json!({"reporter": {"kind": "contact", "name": "林女士", "phone": "138-0000-1234"}, "channel": "hotline"}),
        )
        .await;
    let b = second["case"]["id"].as_i64().unwrap();
    let dups = second["duplicates"].as_array().unwrap();
    assert_eq!(dups.len(), 1);
    assert_eq!(dups[0]["id"], a);
    let kept = w.ok(&w.agent, b, "merge", json!({"into": a})).await;
    assert_eq!(
        (kept["id"].as_i64(), kept["reporter_count"].as_i64(), kept["priority"].as_i64()),
        (Some(a), Some(2), Some(1))
    );
    let reps = kept["reporters"].as_array().unwrap();
    assert_eq!(reps.len(), 2);
    assert_eq!(
        (reps[1]["kind"].as_str(), reps[1]["phone_last4"].as_str(), reps[1]["merged_from"].as_i64()),
        (Some("contact"), Some("1234"), Some(b))
    );
    let (_, dup) = w.app.get(&format!("/api/v1/cases/{b}")).await;
    assert_eq!((dup["state"].as_str(), dup["parent_id"].as_i64()), (Some("void"), Some(a)));
    // Each reporter hears the answer of the kept case.
    w.ok(&w.unit_chief, a, "sign", json!({})).await;
    w.ok(&w.unit_chief, a, "respond", json!({})).await;
    w.ok(&w.unit_chief, a, "resolve", json!({"note": "已清运"})).await;
    let (_, outbox) = w.app.get(&format!("/api/v1/cases/{a}/outbox")).await;
    let to: Vec<&str> = outbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["body"].as_str().unwrap().contains("handled"))
        .map(|m| m["recipient"].as_str().unwrap())
        .collect();
    assert_eq!(to.len(), 2, "{outbox}");
    // No case merges into itself, nor into a closed one.
    let (s, _) = w.try_move(&w.agent, a, "merge", json!({"into": a})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = w.try_move(&w.agent, a, "merge", json!({"into": b})).await;
    assert_eq!(s, StatusCode::CONFLICT);
}

async fn missed_deadlines_escalate_up_the_chain(app: TestApp) {
    let w = world(app).await;
    let id = w.intake("parking", json!({})).await["case"]["id"].as_i64().unwrap();
    // Nothing is due before the warning point (75 % of 4 working hours: Monday noon).
    w.set(at(2026, 3, 2, 11, 59));
    assert_eq!(w.run_jobs().await.total(), 0);
    w.set(at(2026, 3, 2, 12, 0));
    assert_eq!(w.run_jobs().await.warned, 1);
    assert!(w.inbox(&w.unit_chief).await.iter().any(|i| i["case_id"] == id && i["kind"] == "warning"));
    // At the deadline (15:30) the case goes to the grid chief, who is told.
    w.set(at(2026, 3, 2, 15, 30));
    assert_eq!(w.run_jobs().await.escalated, 1);
    let (_, c) = w.app.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!((c["owner_post_id"].as_i64(), c["escalation_level"].as_i64()), (Some(w.posts.grid_chief), Some(1)));
    assert!(w.inbox(&w.grid_chief).await.iter().any(|i| i["case_id"] == id && i["kind"] == "escalate"));
    // The grid chief misses it too: 4 working hours from 15:30 is Tuesday 10:30.
    w.set(at(2026, 3, 3, 10, 29));
    assert_eq!(w.run_jobs().await.escalated, 0);
    w.set(at(2026, 3, 3, 10, 30));
    assert_eq!(w.run_jobs().await.escalated, 1);
    assert!(w.inbox(&w.station_chief).await.iter().any(|i| i["case_id"] == id && i["kind"] == "escalate"));
    // Then the station chief (4 working hours from 10:30 end at 17:00): to the town.
    w.set(at(2026, 3, 3, 17, 0));
    assert_eq!(w.run_jobs().await.escalated, 1);
    let (_, c) = w.app.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!((c["owner_post_id"].as_i64(), c["owner_level"].as_str()), (Some(w.posts.town_admin), Some("town")));
    assert_eq!(c["escalation_level"], 3);
    let town = w.inbox(&w.town_admin).await;
    assert!(town.iter().any(|i| i["case_id"] == id && i["message"].as_str().unwrap().contains("deadline was missed")));
    // The town signs in time: nothing more happens.
    w.ok(&w.town_admin, id, "sign", json!({})).await;
    w.set(at(2026, 3, 5, 9, 0));
    assert_eq!(w.run_jobs().await.escalated, 0);
    let escalations = w.events(id).await.iter().filter(|e| e["kind"] == "escalate").count();
    assert_eq!(escalations, 3);
    // The old owner stays on as a helper: the unit chief still sees the case, not the reporter.
    let (s, c) = w.as_(&w.unit_chief, Method::GET, &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(c["reporters"].is_null());
    let (s, _) = w.as_(&w.unit_chief, Method::GET, &format!("/api/v1/cases/{id}/outbox"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "messages to the reporter stay in the owner chain");
    // Reading one's inbox.
    let item = town[0]["id"].as_i64().unwrap();
    let (s, v) = w.as_(&w.town_admin, Method::POST, &format!("/api/v1/inbox/{item}/read"), Some(json!({}))).await;
    assert_eq!((s, v["read_at"].is_string()), (StatusCode::OK, true));
    let (s, _) = w.as_(&w.unit_chief, Method::POST, &format!("/api/v1/inbox/{item}/read"), Some(json!({}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another post's inbox");
}

async fn a_job_claimed_twice_runs_once(app: TestApp) {
    let w = world(app).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(w.intake("parking", json!({})).await["case"]["id"].as_i64().unwrap());
    }
    w.set(at(2026, 3, 2, 15, 31));
    let now = w.app.store.now();
    let (a, b, c) = tokio::join!(
        w.app.store.run_due_jobs(now, "server-a"),
        w.app.store.run_due_jobs(now, "server-b"),
        w.app.store.run_due_jobs(now, "server-c")
    );
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    assert_eq!(a.escalated + b.escalated + c.escalated, 3, "{a:?} {b:?} {c:?}");
    assert_eq!(a.warned + b.warned + c.warned, 3);
    for id in ids {
        let n = count(&w.app, &format!("SELECT count(*) FROM case_events WHERE case_id = {id} AND kind = 'escalate'"))
            .await;
        assert_eq!(n, 1, "case {id} escalated once");
    }
    let unclaimed_done = count(
        &w.app,
        "SELECT count(*) FROM case_jobs WHERE done_at IS NOT NULL AND outcome <> 'cancelled' AND claimed_by IS NULL",
    )
    .await;
    assert_eq!(unclaimed_done, 0, "every job that ran was claimed");
}

async fn verified_cases_close_unrated_after_the_window(app: TestApp) {
    let w = world(app).await;
    let id = w.intake("dirty_road", json!({})).await["case"]["id"].as_i64().unwrap();
    w.ok(&w.unit_chief, id, "sign", json!({})).await;
    w.ok(&w.unit_chief, id, "respond", json!({})).await;
    w.ok(&w.unit_chief, id, "resolve", json!({"note": "已清扫"})).await;
    w.ok(&w.grid_chief, id, "verify", json!({})).await;
    w.clock.advance(TimeDelta::hours(71));
    assert_eq!(w.run_jobs().await.closed, 0);
    w.clock.advance(TimeDelta::hours(2));
    assert_eq!(w.run_jobs().await.closed, 1);
    let events = w.events(id).await;
    let last = events.last().unwrap();
    assert_eq!((last["kind"].as_str(), last["data"]["unrated"].as_bool()), (Some("close"), Some(true)));
    // Past the window, "not fixed" is a new report.
    w.clock.advance(TimeDelta::hours(73));
    let (s, v) = w.try_move(&w.agent, id, "reopen", json!({"reason": "又脏了"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
}

/// Three parking cases in October 2024 around National Day (1-7 October off; Sunday 29
/// September and Saturday 12 October worked), with a response limit of 1 working day and a
/// resolution limit of 2 working days:
/// 1. dispatched Mon 30 Sep 10:00: respond by Tue 8 Oct 17:30 (the holiday week skipped),
///    responded 8 Oct 16:00, closed 9 Oct 11:00 before its 9 Oct 17:30 deadline; satisfied.
/// 2. dispatched Fri 11 Oct 10:00: respond by the swapped Saturday 12 Oct 17:30, responded
///    Mon 14 Oct 09:00 (late); closed 14 Oct 11:00, in time (due 14 Oct 17:30); basically
///    satisfied.
/// 3. dispatched Tue 8 Oct 09:00, responded at 10:00, resolved 11:00, rated "not solved"
///    at 12:00 and reopened with 1 working day (due 9 Oct 17:30); never closed.
///
/// Response 2/3, resolution 2/3, satisfaction 1.5/3, on-time close 2/3, close 2/3,
/// rework 1/3; extension and return 0 of the 2 cases first dispatched in October.
async fn rates_are_computed_from_the_log(app: TestApp) {
    let w = world(app).await;
    let county = w.app.area_id("仙游县").await;
    let holidays: Vec<String> = (1..=7).map(|d| format!("2024-10-0{d}")).collect();
    let cal = json!({"periods": [{"start": "08:30:00", "end": "12:00:00"}, {"start": "14:30:00", "end": "17:30:00"}],
        "weekend": ["Sat", "Sun"], "holidays": holidays, "working_days": ["2024-09-29", "2024-10-12"]});
    let (s, v) = w.app.call(Method::PUT, &format!("/api/v1/calendars/{county}"), Some(cal)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = w
        .app
        .patch(
            "/api/v1/categories/parking",
            json!({"deadlines": [
                {"severity": "general", "stage": "respond", "amount": 1, "unit": "working_days"},
                {"severity": "general", "stage": "resolve", "amount": 2, "unit": "working_days"}]}),
        )
        .await;
    assert_eq!((s, v["deadlines"].as_array().map(Vec::len)), (StatusCode::OK, Some(2)), "{v}");

    let rate = |solved: bool, s: &str| json!({"rating": {"solved": solved, "satisfaction": s}});
    // Case 1.
    w.set(at(2024, 9, 30, 10, 0));
    let c1 = w.intake("parking", json!({})).await["case"].clone();
    assert_eq!(
        (c1["respond_due"].as_str(), c1["close_due"].as_str()),
        (Some("2024-10-08T09:30:00Z"), Some("2024-10-09T09:30:00Z"))
    );
    let c1 = c1["id"].as_i64().unwrap();
    w.ok(&w.unit_chief, c1, "sign", json!({})).await;
    w.set(at(2024, 10, 8, 16, 0));
    w.ok(&w.unit_chief, c1, "respond", json!({})).await;
    w.set(at(2024, 10, 9, 10, 0));
    w.ok(&w.unit_chief, c1, "resolve", json!({})).await;
    w.ok(&w.grid_chief, c1, "verify", json!({})).await;
    w.set(at(2024, 10, 9, 11, 0));
    assert_eq!(w.ok(&w.agent, c1, "callback", rate(true, "satisfied")).await["state"], "closed");
    // Case 3.
    w.set(at(2024, 10, 8, 9, 0));
    let c3 = w.intake("parking", json!({})).await["case"]["id"].as_i64().unwrap();
    w.ok(&w.unit_chief, c3, "sign", json!({})).await;
    w.set(at(2024, 10, 8, 10, 0));
    w.ok(&w.unit_chief, c3, "respond", json!({})).await;
    w.set(at(2024, 10, 8, 11, 0));
    w.ok(&w.unit_chief, c3, "resolve", json!({})).await;
    w.set(at(2024, 10, 8, 12, 0));
    let r = w.ok(&w.agent, c3, "callback", rate(false, "dissatisfied")).await;
    assert_eq!((r["state"].as_str(), r["close_due"].as_str()), (Some("responded"), Some("2024-10-09T09:30:00Z")));
    // Case 2.
    w.set(at(2024, 10, 11, 10, 0));
    let c2 = w.intake("parking", json!({})).await["case"].clone();
    assert_eq!(
        (c2["respond_due"].as_str(), c2["close_due"].as_str()),
        (Some("2024-10-12T09:30:00Z"), Some("2024-10-14T09:30:00Z"))
    );
    let c2 = c2["id"].as_i64().unwrap();
    w.ok(&w.unit_chief, c2, "sign", json!({})).await;
    w.set(at(2024, 10, 14, 9, 0));
    w.ok(&w.unit_chief, c2, "respond", json!({})).await;
    w.set(at(2024, 10, 14, 10, 0));
    w.ok(&w.unit_chief, c2, "resolve", json!({})).await;
    w.ok(&w.grid_chief, c2, "verify", json!({})).await;
    w.set(at(2024, 10, 14, 11, 0));
    assert_eq!(w.ok(&w.agent, c2, "callback", rate(true, "basically_satisfied")).await["state"], "closed");

    let (s, r) = w.app.get(&format!("/api/v1/rates?area_id={}&from=2024-10-01&to=2024-10-31", w.unit)).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let pair = |k: &str| (r[k]["numerator"].as_f64().unwrap(), r[k]["denominator"].as_u64().unwrap());
    assert_eq!(r["cases"], 3);
    assert_eq!(pair("response"), (2.0, 3));
    assert_eq!(pair("resolution"), (2.0, 3));
    assert_eq!(pair("satisfaction"), (1.5, 3));
    assert_eq!(pair("on_time_close"), (2.0, 3));
    assert_eq!(pair("close"), (2.0, 3));
    assert_eq!(pair("rework"), (1.0, 3));
    assert_eq!(pair("extension"), (0.0, 2));
    assert_eq!(pair("return"), (0.0, 2));
    let composite = r["composite"].as_f64().unwrap();
    assert!((composite - (10.0 * 2.0 / 3.0 + 45.0 * 2.0 / 3.0 + 45.0 * 0.5) / 100.0).abs() < 1e-9);
    // Per owner post and per category the same three; another category has none.
    let (_, r2) =
        w.app.get(&format!("/api/v1/rates?owner_post_id={}&from=2024-10-01&to=2024-10-31", w.posts.unit_chief)).await;
    assert_eq!(r2["response"]["denominator"], 3);
    let (_, r3) = w.app.get("/api/v1/rates?category=inquiry&from=2024-10-01&to=2024-10-31").await;
    assert_eq!((r3["cases"].as_i64(), r3["response"]["value"].is_null()), (Some(0), true));
    // September alone: nothing was due yet.
    let (_, r4) = w.app.get(&format!("/api/v1/rates?area_id={}&from=2024-09-01&to=2024-09-30", w.unit)).await;
    assert_eq!(r4["response"]["denominator"], 0);
    // Another unit's chief cannot ask for this unit's rates.
    let (s, _) = w.as_(&w.other_unit_chief, Method::GET, &format!("/api/v1/rates?area_id={}", w.unit), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = w.app.get("/api/v1/rates?from=2024-10-31&to=2024-10-01").await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("to")));
}

async fn owners_see_their_chain_and_private_cases_stay_private(app: TestApp) {
    let w = world(app).await;
    let open = w.intake("road_occupation", json!({})).await["case"]["id"].as_i64().unwrap();
    // A unit chief of another unit neither sees nor moves it.
    let (s, _) = w.as_(&w.other_unit_chief, Method::GET, &format!("/api/v1/cases/{open}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = w.try_move(&w.other_unit_chief, open, "sign", json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = w.as_(&w.other_unit_chief, Method::GET, &format!("/api/v1/cases/{open}/events"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, list) = w.as_(&w.other_unit_chief, Method::GET, "/api/v1/cases", None).await;
    assert_eq!(list["total"], 0, "{list}");
    // The owner's queue has it, reporters included.
    let (_, q) = w.as_(&w.unit_chief, Method::GET, "/api/v1/cases?mine=true&open=true", None).await;
    assert_eq!((q["total"].as_i64(), q["items"][0]["id"].as_i64()), (Some(1), Some(open)));
    let (_, c) = w.as_(&w.unit_chief, Method::GET, &format!("/api/v1/cases/{open}"), None).await;
    assert_eq!(c["reporters"][0]["resident_id"], w.resident);

    // A neighbour dispute is private and goes to the community (the station chief mediates).
    let dispute = w.intake("neighbour_dispute", json!({"answers": {"parties": 2}})).await["case"].clone();
    let d = dispute["id"].as_i64().unwrap();
    assert_eq!(
        (dispute["is_private"].as_bool(), dispute["owner_post_id"].as_i64()),
        (Some(true), Some(w.posts.station_chief))
    );
    for (who, t) in
        [("unit chief", &w.unit_chief), ("grid chief", &w.grid_chief), ("other unit chief", &w.other_unit_chief)]
    {
        let (s, _) = w.as_(t, Method::GET, &format!("/api/v1/cases/{d}"), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who} sees a private case outside the owner chain");
        let (_, list) = w.as_(t, Method::GET, "/api/v1/cases?category=neighbour_dispute", None).await;
        assert_eq!(list["total"], 0, "{who}: {list}");
    }
    let (_, rates) = w.as_(&w.unit_chief, Method::GET, "/api/v1/rates?category=neighbour_dispute", None).await;
    assert_eq!(rates["cases"], 0, "nor does it count in their rates: {rates}");
    for t in [&w.station_chief, &w.town_admin] {
        let (s, c) = w.as_(t, Method::GET, &format!("/api/v1/cases/{d}"), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(c["reporters"][0]["resident_id"], w.resident, "the owner chain sees the reporter");
    }
    // A unit chief's list shows its unit's open case and nothing private.
    let (_, list) = w.as_(&w.unit_chief, Method::GET, "/api/v1/cases", None).await;
    let ids: Vec<i64> = list["items"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [open]);
}

async fn bad_input_is_refused_and_nothing_is_written(app: TestApp) {
    let w = world(app).await;
    let id = w.intake("parking", json!({})).await["case"]["id"].as_i64().unwrap();
    let tables = [
        "cases",
        "case_events",
        "case_reporters",
        "case_photos",
        "case_jobs",
        "inbox_items",
        "outbox_messages",
        "audit_events",
    ];
    let snapshot = || async {
        let mut v = Vec::new();
        for t in tables {
            v.push(count(&w.app, &format!("SELECT count(*) FROM {t}")).await);
        }
        v
    };
    let before = snapshot().await;
    let base = json!({"category": "parking", "channel": "hotline", "description": "x", "reporter": {"kind": "anonymous"},
        "household_code": w.household_code});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let not_png = "R0lGODlhAQABAAAAACw="; // a GIF
    let big = {
        use std::fmt::Write;
        let mut s = String::from("iVBORw0KGgo");
        // Over 5 MiB once decoded.
        for _ in 0..(7 * 1024 * 1024 / 4) {
            s.write_str("AAAA").unwrap();
        }
        s
    };
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (with("category", json!("ufo")), StatusCode::UNPROCESSABLE_ENTITY, "category"),
        (with("category", json!("neighbour_dispute")), StatusCode::UNPROCESSABLE_ENTITY, "answers"),
        (with("answers", json!({"plate": 7})), StatusCode::UNPROCESSABLE_ENTITY, "answers"),
        (
            json!({"category": "parking", "channel": "web", "description": "x", "reporter": {"kind": "anonymous"},
                   "point": {"lat": 39.9, "lng": 116.4}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "point",
        ),
        (
            with("photos", json!([{"content_type": "image/gif", "data_base64": not_png}])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "photos",
        ),
        (
            with("photos", json!([{"content_type": "image/png", "data_base64": big}])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "photos",
        ),
        (
            with("photos", json!([{"content_type": "image/png", "data_base64": "%%%"}])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "photos",
        ),
        (with("description", json!("  ")), StatusCode::UNPROCESSABLE_ENTITY, "description"),
        (with("household_code", json!("nope")), StatusCode::NOT_FOUND, "household_code"),
        (
            with("reporter", json!({"kind": "contact", "name": "x", "phone": "12"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "contact_phone",
        ),
        (with("channel", json!("pigeon")), StatusCode::UNPROCESSABLE_ENTITY, "channel"),
        (
            json!({"category": "parking", "channel": "web", "description": "x", "reporter": {"kind": "anonymous"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "location",
        ),
    ];
    for (body, status, field) in cases {
        let (s, v) = w.as_(&w.agent, Method::POST, "/api/v1/cases", Some(body)).await;
        assert_eq!((s, v["error"]["field"].as_str()), (status, Some(field)), "{v}");
    }
    // Moves: not allowed now, not for this post, unknown, without a needed field.
    let moves: Vec<(&str, &str, Value, StatusCode, &str)> = vec![
        (&w.unit_chief, "resolve", json!({}), StatusCode::CONFLICT, "move"),
        (&w.agent, "sign", json!({}), StatusCode::FORBIDDEN, ""),
        (&w.agent, "close", json!({}), StatusCode::FORBIDDEN, ""),
        (&w.station_chief, "close", json!({}), StatusCode::CONFLICT, "move"),
        (&w.agent, "fly", json!({}), StatusCode::NOT_FOUND, "move"),
        (&w.agent, "void", json!({}), StatusCode::UNPROCESSABLE_ENTITY, "reason"),
        (&w.agent, "callback", json!({}), StatusCode::UNPROCESSABLE_ENTITY, "rating"),
        (&w.station_chief, "transfer", json!({"reason": "x"}), StatusCode::UNPROCESSABLE_ENTITY, "post_id"),
        (&w.station_chief, "transfer", json!({"reason": "x", "post_id": 999999}), StatusCode::NOT_FOUND, "post_id"),
        (&w.agent, "merge", json!({"into": 999999}), StatusCode::NOT_FOUND, "into"),
        (
            &w.agent,
            "attach",
            json!({"photos": [{"content_type": "image/jpeg", "data_base64": PNG}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "photos",
        ),
        (&w.agent, "comment", json!({"bogus": 1}), StatusCode::UNPROCESSABLE_ENTITY, "bogus"),
        (&w.agent, "comment", json!({}), StatusCode::UNPROCESSABLE_ENTITY, "note"),
    ];
    for (token, mv, body, status, field) in moves {
        let (s, v) = w.try_move(token, id, mv, body).await;
        assert_eq!(s, status, "{mv}: {v}");
        if !field.is_empty() {
            assert_eq!(v["error"]["field"].as_str(), Some(field), "{mv}: {v}");
        }
    }
    let (s, _) = w.try_move(&w.agent, 999_999, "comment", json!({"note": "x"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(snapshot().await, before, "refused requests wrote nothing");
    // Editing the catalogue belongs to the deployment's administrators.
    let (s, _) = w.as_(&w.town_admin, Method::PATCH, "/api/v1/categories/parking", Some(json!({"name_en": "x"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = w.app.patch("/api/v1/categories/parking", json!({"routing": "post:king"})).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("routing")));
}

async fn a_point_routes_to_its_grid(app: TestApp) {
    let w = world(app).await;
    let boundary: String = sqlx::query_scalar("SELECT boundary FROM areas WHERE id = $1")
        .bind(w.grid)
        .fetch_one(w.app.store.pool())
        .await
        .unwrap();
    let g: Value = serde_json::from_str(&boundary).unwrap();
    let ring = g["coordinates"][0].as_array().unwrap();
    let (lng0, lat0) = (ring[0][0].as_f64().unwrap(), ring[0][1].as_f64().unwrap());
    let (lng2, lat2) = (ring[2][0].as_f64().unwrap(), ring[2][1].as_f64().unwrap());
    let mid = json!({"lat": (lat0 + lat2) / 2.0, "lng": (lng0 + lng2) / 2.0});
    let body = json!({"category": "road_occupation", "channel": "patrol", "description": "摊位占道",
        "reporter": {"kind": "anonymous"}, "point": mid, "answers": {"occupier": "stall"}});
    let (s, v) = w.as_(&w.agent, Method::POST, "/api/v1/cases", Some(body.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["case"]["area_id"].as_i64(), v["case"]["owner_post_id"].as_i64()),
        (Some(w.grid), Some(w.posts.grid_chief))
    );
    // On the grid's edge: the nearest grid, flagged, and left for the dispatcher.
    let mut edge = body.clone();
    edge["point"] = json!({"lat": (lat0 + lat2) / 2.0, "lng": lng0});
    let (s, v) = w.as_(&w.agent, Method::POST, "/api/v1/cases", Some(edge)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["case"]["state"], "accepted", "{v}");
    assert!(v["case"]["routing_note"].as_str().unwrap().contains("boundary"));
    // A grid chief on patrol files it in its own grid only.
    let (s, v) = w.as_(&w.grid_chief, Method::POST, "/api/v1/cases", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let _ = w.unit;
}

/// Intake builds its answer from what it wrote instead of reading the case back: on every path
/// (filed and routed, answered at once, waiting to be filed, private, a house with a photo, a
/// contact, a grid chief's own intake) it equals the case as the store then reads it.
async fn the_intake_answers_with_the_case_as_stored(app: TestApp) {
    let w = world(app).await;
    let house: String = sqlx::query_scalar("SELECT code FROM houses WHERE unit_id = $1 ORDER BY id LIMIT 1")
        .bind(w.unit)
        .fetch_one(w.app.store.pool())
        .await
        .unwrap();
    let contact = json!({"kind": "contact", "name": "林女士", "phone": "138-0000-1234"});
    let bodies = [
        (&w.agent, json!({})),
        (&w.agent, json!({"channel": "hotline", "answered": "请带身份证到镇便民服务中心"})),
        (&w.agent, json!({"channel": "web", "reporter": contact})),
        (&w.agent, json!({"category": "neighbour_dispute", "answers": {"parties": 2}, "severity": "urgent"})),
        (
            &w.agent,
            json!({"household_code": null, "house_code": house, "reporter": {"kind": "anonymous"},
            "photos": [{"content_type": "image/png", "data_base64": PNG}]}),
        ),
        (&w.grid_chief, json!({"channel": "patrol", "reporter": contact, "answers": {"occupier": "stall"}})),
    ];
    let mut states = Vec::new();
    for (n, (token, extra)) in bodies.into_iter().enumerate() {
        let mut body = json!({"category": "road_occupation", "channel": "hotline_12345", "description": "车辆长期占用消防通道",
            "reporter": {"kind": "resident", "resident_id": w.resident}, "household_code": w.household_code});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, v) = w.as_(token, Method::POST, "/api/v1/cases", Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "intake {n}: {v}");
        let id = v["case"]["id"].as_i64().unwrap();
        let (s, stored) = w.as_(token, Method::GET, &format!("/api/v1/cases/{id}"), None).await;
        assert_eq!(s, StatusCode::OK, "intake {n}: {stored}");
        assert_eq!(v["case"], stored, "intake {n}");
        states.push((stored["state"].as_str().unwrap().to_string(), stored["is_private"].as_bool().unwrap()));
    }
    // The paths above are the ones meant: one closed at once, one waiting, one private.
    let states: Vec<(&str, bool)> = states.iter().map(|(s, p)| (s.as_str(), *p)).collect();
    assert_eq!(
        states,
        [
            ("dispatched", false),
            ("closed", false),
            ("received", false),
            ("dispatched", true),
            ("dispatched", false),
            ("received", false)
        ]
    );
}

async fn the_demo_tells_the_story(app: TestApp) {
    let app = app.with_demo().await;
    let county = app.area_id("仙游县").await;
    let report = app.store.seed_demo_cases(county).await.unwrap();
    assert!(app.store.clock_is_real(), "the real clock is back after the story");
    assert!(report.cases >= 10 && report.closed >= 5 && report.open >= 3, "{report:?}");
    assert!(report.escalations >= 2, "{report:?}");
    let (_, list) = app.get("/api/v1/cases?page_size=200").await;
    let items = list["items"].as_array().unwrap();
    let has = |f: &dyn Fn(&Value) -> bool| items.iter().any(f);
    assert!(has(&|c| c["channel"] == "hotline_12345" && c["state"] == "closed"));
    assert!(has(&|c| c["category"] == "neighbour_dispute" && c["is_private"] == true));
    assert!(has(&|c| c["reopens"].as_u64() > Some(0)));
    assert!(has(&|c| c["reporter_count"].as_i64() == Some(2)), "a merge");
    assert!(has(&|c| c["escalation_level"].as_i64() >= Some(2)));
    assert!(has(&|c| c["rating"]["satisfaction"] == "basically_satisfied"));
    let events = count(&app, "SELECT count(*) FROM case_events WHERE kind = 'whistle'").await;
    assert_eq!(events, 1);
    // Every event happened in the last two weeks, in order, and the log replays to each case's state.
    let now = app.store.now();
    for c in items {
        let (_, ev) = app.get(&format!("/api/v1/cases/{}/events", c["id"])).await;
        let ev = ev.as_array().unwrap();
        let times: Vec<&str> = ev.iter().map(|e| e["at"].as_str().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
        assert!(wangge_store::clock::parse_ts(times[times.len() - 1]).unwrap() <= now);
        assert_eq!(ev.last().unwrap()["to_state"], c["state"], "{}", c["number"]);
    }
    // The rates of Shengquan come from that log.
    let sq = app.area_id("圣泉社区").await;
    let from = (chrono::Utc::now() - TimeDelta::days(20)).format("%Y-%m-%d");
    let (s, r) = app.get(&format!("/api/v1/rates?area_id={sq}&from={from}")).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(r["satisfaction"]["denominator"].as_u64() >= Some(4), "{r}");
}

async fn a_reporter_follows_and_rates_by_number(app: TestApp) {
    let w = world(app).await;
    let intake = w
        .intake("exposed_rubbish", json!({"reporter": {"kind": "contact", "name": "郑国珍", "phone": "13905947788"}}))
        .await;
    let (id, number) = (intake["case"]["id"].as_i64().unwrap(), intake["case"]["number"].as_str().unwrap().to_string());
    let token = intake["follow_token"].as_str().unwrap().to_string();
    let public = |tok: &str| format!("/api/v1/public/cases/{number}?token={tok}");
    // Without the right token a number opens nothing, and says nothing either way.
    for bad in ["", "guess"] {
        let (s, _) = w.app.call_as(None, Method::GET, &public(bad), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let (s, v) = w.app.call_as(None, Method::GET, &public(&token), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["state"].as_str(), v["handled_at"].as_str(), v["category_zh"].as_str()),
        (Some("dispatched"), Some("unit"), Some("暴露垃圾"))
    );
    assert!(!v.to_string().contains("郑国珍") && !v.to_string().contains("7788"), "no personal data: {v}");
    w.ok(&w.unit_chief, id, "sign", json!({})).await;
    w.ok(&w.unit_chief, id, "respond", json!({})).await;
    w.ok(&w.unit_chief, id, "comment", json!({"note": "内部：保洁员请假", "public": false})).await;
    w.ok(&w.unit_chief, id, "resolve", json!({"note": "垃圾已清运"})).await;
    w.ok(&w.grid_chief, id, "verify", json!({})).await;
    let rate = |solved: bool, s: &str| json!({"token": token, "solved": solved, "satisfaction": s});
    let url = format!("/api/v1/public/cases/{number}/rating");
    let (s, v) = w
        .app
        .call_as(None, Method::POST, &url, Some(json!({"token": "guess", "solved": true, "satisfaction": "satisfied"})))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = w.app.call_as(None, Method::POST, &url, Some(rate(false, "basically_satisfied"))).await;
    assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("responded")), "not solved reopens: {v}");
    let notes: Vec<&str> = v["notes"].as_array().unwrap().iter().map(|n| n["text"].as_str().unwrap()).collect();
    assert_eq!(notes, ["垃圾已清运"], "internal comments stay internal");
    w.ok(&w.unit_chief, id, "resolve", json!({"note": "再次清运并加装垃圾桶"})).await;
    w.ok(&w.grid_chief, id, "verify", json!({})).await;
    let (s, v) = w.app.call_as(None, Method::POST, &url, Some(rate(true, "satisfied"))).await;
    assert_eq!(
        (s, v["state"].as_str(), v["satisfaction"].as_str()),
        (StatusCode::OK, Some("closed"), Some("satisfied"))
    );
    let events = w.events(id).await;
    let callbacks: Vec<&Value> = events.iter().filter(|e| e["kind"] == "callback").collect();
    assert_eq!(callbacks.len(), 2);
    assert!(callbacks.iter().all(|e| e["data"]["by"] == "reporter" && e["post_id"].is_null()));
    // "Not fixed" within the window reopens it to the same owner.
    let (s, v) = w
        .app
        .call_as(
            None,
            Method::POST,
            &format!("/api/v1/public/cases/{number}/not-fixed"),
            Some(json!({"token": token, "reason": "又堆满了"})),
        )
        .await;
    assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("responded")), "{v}");
    let (s, v) = w
        .app
        .call_as(
            None,
            Method::POST,
            &format!("/api/v1/public/cases/{number}/not-fixed"),
            Some(json!({"token": token, "reason": " "})),
        )
        .await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")));
    // A merged report's token follows the case it joined.
    let dup = w.intake("exposed_rubbish", json!({"channel": "hotline"})).await;
    w.ok(&w.agent, dup["case"]["id"].as_i64().unwrap(), "merge", json!({"into": id})).await;
    let dn = dup["case"]["number"].as_str().unwrap();
    let (s, v) = w
        .app
        .call_as(
            None,
            Method::GET,
            &format!("/api/v1/public/cases/{dn}?token={}", dup["follow_token"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        (s, v["merged_into"].as_str(), v["number"].as_str()),
        (StatusCode::OK, Some(number.as_str()), Some(number.as_str()))
    );
}

async fn waiting_cases_remind_the_community(app: TestApp) {
    let w = world(app).await;
    // A web report is to be filed within 2 hours (Monday 09:00 → 11:00).
    let web = w.intake("parking", json!({"channel": "web"})).await["case"].clone();
    let id = web["id"].as_i64().unwrap();
    assert_eq!((web["state"].as_str(), web["due_at"].as_str()), (Some("received"), Some("2026-03-02T03:00:00Z")));
    w.set(at(2026, 3, 2, 10, 59));
    assert_eq!(w.run_jobs().await.total(), 0);
    let (_, overdue) = w.app.get("/api/v1/cases?overdue=true").await;
    assert_eq!(overdue["total"], 0);
    w.set(at(2026, 3, 2, 11, 0));
    assert_eq!(w.run_jobs().await.reminded, 1);
    assert!(w.inbox(&w.station_chief).await.iter().any(|i| i["case_id"] == id && i["kind"] == "remind"));
    w.set(at(2026, 3, 2, 11, 5));
    let (_, overdue) = w.app.get("/api/v1/cases?overdue=true").await;
    assert_eq!(overdue["items"][0]["id"], id, "{overdue}");
    // Filed late, it is dispatched at once; the reminder does not come again.
    let filed = w.ok(&w.station_chief, id, "accept", json!({})).await;
    assert_eq!(filed["state"], "dispatched");
    // Returned, it waits to be dispatched again: 24 hours for a general case.
    w.ok(&w.unit_chief, id, "return", json!({"reason": "不属于本单元"})).await;
    w.set(at(2026, 3, 3, 11, 4));
    assert_eq!(w.run_jobs().await.reminded, 0);
    w.set(at(2026, 3, 3, 11, 5));
    assert_eq!(w.run_jobs().await.reminded, 1);
    let reminders =
        w.inbox(&w.station_chief).await.iter().filter(|i| i["case_id"] == id && i["kind"] == "remind").count();
    assert_eq!(reminders, 2);
}

async fn the_server_runs_due_jobs_on_the_real_clock(app: TestApp) {
    let w = world(app).await;
    w.app.store.set_clock(Arc::new(wangge_store::clock::SystemClock));
    let id = w.intake("parking", json!({})).await["case"]["id"].as_i64().unwrap();
    // Move the sign deadline (and its job) into the past, as if the unit chief had let it pass.
    let past = "2000-01-01T00:00:00Z";
    sqlx::query("UPDATE cases SET due_at = $1 WHERE id = $2")
        .bind(past)
        .bind(id)
        .execute(w.app.store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE case_jobs SET run_at = $1 WHERE case_id = $2 AND kind = 'escalate' AND done_at IS NULL")
        .bind(past)
        .bind(id)
        .execute(w.app.store.pool())
        .await
        .unwrap();
    // Nobody calls the runner: the server's background task escalates it within a tick or two.
    let mut owner = None;
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let (_, c) = w.app.get(&format!("/api/v1/cases/{id}")).await;
        owner = c["owner_post_id"].as_i64();
        if owner == Some(w.posts.grid_chief) {
            break;
        }
    }
    assert_eq!(owner, Some(w.posts.grid_chief), "the background runner escalated the case");
}

/// A message gateway on a port of its own: records each POST and answers with the statuses
/// given, in turn (the last one repeats).
struct FakeGateway {
    url: String,
    seen: Seen,
}

/// Each POST the gateway got: its headers and body.
type Seen = Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, Vec<u8>)>>>;

async fn gateway(answers: Vec<u16>) -> FakeGateway {
    use axum::http::{HeaderMap, StatusCode as S};
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/send",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let log = log.clone();
            let answers = answers.clone();
            async move {
                let mut log = log.lock().unwrap();
                let n = log.len().min(answers.len() - 1);
                log.push((headers, body.to_vec()));
                S::from_u16(answers[n]).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/send", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    FakeGateway { url, seen }
}

async fn the_outbox_goes_to_the_gateway_with_retries(app: TestApp) {
    use wangge_server::outbox::{Delivery, Gateway, MESSAGE_ID_HEADER, SIGNATURE_HEADER, deliver_due, signature};
    let w = world(app).await;
    let store = &w.app.store;
    // A web report by phone contact, voided: the reporter is told why.
    let case = w
        .intake(
            "inquiry",
            json!({"channel": "web", "reporter": {"kind": "contact", "name": "林女士", "phone": "13905941234"}}),
        )
        .await;
    let id = case["case"]["id"].as_i64().unwrap();
    w.ok(&w.agent, id, "void", json!({"reason": "重复来电"})).await;

    // The gateway fails once, then takes it.
    let g = gateway(vec![503, 200]).await;
    let sender = Gateway::new(&g.url, Some("gateway-secret".into()));
    let d = deliver_due(store, &sender, store.now()).await.unwrap();
    assert_eq!(d, Delivery { sent: 0, retried: 1, refused: 0 });
    let (_, outbox) = w.app.get(&format!("/api/v1/cases/{id}/outbox")).await;
    assert_eq!(outbox[0]["attempts"], 1, "{outbox}");
    assert!(outbox[0]["sent_at"].is_null());
    assert!(outbox[0]["last_error"].as_str().unwrap().contains("503"), "{outbox}");
    // Not again before the back-off has passed.
    assert_eq!(deliver_due(store, &sender, store.now()).await.unwrap(), Delivery::default());
    assert_eq!(g.seen.lock().unwrap().len(), 1);
    w.clock.advance(TimeDelta::seconds(61));
    let d = deliver_due(store, &sender, store.now()).await.unwrap();
    assert_eq!(d, Delivery { sent: 1, retried: 0, refused: 0 });
    let (_, outbox) = w.app.get(&format!("/api/v1/cases/{id}/outbox")).await;
    assert_eq!(outbox[0]["attempts"], 2);
    assert!(outbox[0]["sent_at"].is_string() && outbox[0]["last_error"].is_null(), "{outbox}");
    {
        let seen = g.seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        let (headers, body) = &seen[1];
        // Both attempts carry the same id, so the gateway can drop a repeat.
        assert_eq!(headers[MESSAGE_ID_HEADER], seen[0].0[MESSAGE_ID_HEADER]);
        assert_eq!(headers[SIGNATURE_HEADER].to_str().unwrap(), signature("gateway-secret", body));
        let m: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(m["channel"], "sms");
        assert_eq!(m["to"], "13905941234", "the sealed phone is opened for the gateway only");
        assert_eq!(m["case_number"], case["case"]["number"]);
        assert_eq!(m["attempt"], 2);
        assert!(m["body"].as_str().unwrap().contains("重复来电"), "{m}");
    }
    // Sent messages stay sent.
    w.clock.advance(TimeDelta::hours(1));
    assert_eq!(deliver_due(store, &sender, store.now()).await.unwrap(), Delivery::default());

    // A gateway that refuses the message itself: given up at once, with the reason kept.
    let case = w
        .intake(
            "inquiry",
            json!({"channel": "web", "reporter": {"kind": "contact", "name": "郑先生", "phone": "13905947788"}}),
        )
        .await;
    let id = case["case"]["id"].as_i64().unwrap();
    w.ok(&w.agent, id, "void", json!({"reason": "不属于受理范围"})).await;
    let refusing = gateway(vec![422]).await;
    let sender = Gateway::new(&refusing.url, None);
    assert_eq!(deliver_due(store, &sender, store.now()).await.unwrap(), Delivery { sent: 0, retried: 0, refused: 1 });
    let (_, outbox) = w.app.get(&format!("/api/v1/cases/{id}/outbox")).await;
    assert_eq!(outbox[0]["attempts"], wangge_store::outbox::MAX_ATTEMPTS);
    w.clock.advance(TimeDelta::days(1));
    assert_eq!(deliver_due(store, &sender, store.now()).await.unwrap(), Delivery::default());
    assert_eq!(refusing.seen.lock().unwrap().len(), 1);
    assert!(!refusing.seen.lock().unwrap()[0].0.contains_key(SIGNATURE_HEADER), "unsigned without a secret");

    // A gateway that does not answer at all: the attempt is counted and retried later.
    let case = w
        .intake(
            "inquiry",
            json!({"channel": "web", "reporter": {"kind": "contact", "name": "陈女士", "phone": "13905940001"}}),
        )
        .await;
    let id = case["case"]["id"].as_i64().unwrap();
    w.ok(&w.agent, id, "void", json!({"reason": "已在其他渠道办理"})).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/send", l.local_addr().unwrap())
    };
    let d = deliver_due(store, &Gateway::new(closed, None), store.now()).await.unwrap();
    assert_eq!(d, Delivery { sent: 0, retried: 1, refused: 0 });
    let (_, outbox) = w.app.get(&format!("/api/v1/cases/{id}/outbox")).await;
    assert!(outbox[0]["last_error"].as_str().unwrap().contains("unreachable"), "{outbox}");
}
