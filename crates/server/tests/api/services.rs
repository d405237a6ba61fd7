//! Community services through the HTTP API: a micro-wish from collection to rating with the
//! volunteer's points arriving once; what a volunteer sees (published wishes, masked) and does
//! not (registry data); bad input refused with nothing written; the shop.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::TestApp;

crate::on_both_engines!(a_wish_walks_the_whole_path, bad_input_writes_nothing, wish_deadlines_escalate);

async fn token(app: &TestApp, post: i64) -> String {
    let (s, t) = app.post("/api/v1/tokens", json!({"post_id": post, "name": "services"})).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t["token"].as_str().unwrap().to_string()
}

async fn first_id(app: &TestApp, path: &str) -> i64 {
    let (s, v) = app.get(path).await;
    assert_eq!(s, StatusCode::OK, "{path}: {v}");
    v["items"][0]["id"].as_i64().unwrap_or_else(|| panic!("{path} is empty: {v}"))
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

/// Row counts of every services table.
async fn services_counts(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "wishes",
        "wish_claims",
        "ledger_entries",
        "ledger_postings",
        "redemptions",
        "points_rules",
        "shop_items",
        "volunteers",
    ] {
        out.push(count(app, t).await);
    }
    let stock: i64 = sqlx::query_scalar("SELECT COALESCE(CAST(SUM(stock) AS BIGINT), 0) FROM shop_items")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    out.push(stock);
    out
}

struct World {
    community: i64,
    grid: i64,
    chief: String,
    grid_chief: String,
    volunteer: String,
    volunteer_id: i64,
    other_volunteer: String,
    resident: Value,
}

/// Shengquan Community with its station chief and a grid chief, two volunteers who sign in,
/// a resident of the grid, and an approved wish rule of 20 points.
async fn world(app: &TestApp) -> World {
    let community = app.area_id("圣泉社区").await;
    let grid = first_id(app, &format!("/api/v1/areas?parent_id={community}&sort=code")).await;
    let chief_post = first_id(app, &format!("/api/v1/posts?area_id={community}&kind=station_chief")).await;
    let (_, posts) = app.get(&format!("/api/v1/posts?area_id={grid}&kind=grid_chief")).await;
    let grid_post =
        posts["items"].as_array().unwrap().iter().find(|p| p["area_id"] == grid).unwrap()["id"].as_i64().unwrap();
    let chief = token(app, chief_post).await;
    let grid_chief = token(app, grid_post).await;
    let mut vols = Vec::new();
    for login in ["zhiyuan.lin", "zhiyuan.xu"] {
        let (s, a) = app
            .post("/api/v1/accounts", json!({"login": login, "display_name": login, "password": "a-good-password"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{a}");
        let account = a["account"]["id"].as_i64().unwrap();
        // Volunteers are many at one community: none is the primary holder of the post.
        let (s, p) = app
            .post(
                "/api/v1/posts",
                json!({"account_id": account, "area_id": community, "kind": "volunteer", "is_primary": false}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        let post = p["id"].as_i64().unwrap();
        let (s, v) = app
            .call_as(
                Some(&chief),
                Method::POST,
                "/api/v1/volunteers",
                Some(json!({"area_id": community, "account_id": account, "name": login, "skills": "维修"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        vols.push((token(app, post).await, v["id"].as_i64().unwrap()));
    }
    let (s, rule) = app
        .call_as(
            Some(&chief),
            Method::POST,
            "/api/v1/points/rules",
            Some(json!({"area_id": community, "code": "wish_fulfilled", "name": "认领并完成一个微心愿",
                        "source_kind": "wish", "points": 20, "threshold": 50, "approver_kind": "station_chief"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{rule}");
    assert_eq!(rule["state"], "proposed");
    let (s, rule) =
        app.call_as(Some(&chief), Method::POST, &format!("/api/v1/points/rules/{}/approve", rule["id"]), None).await;
    assert_eq!(s, StatusCode::OK, "{rule}");
    assert_eq!(rule["state"], "approved");
    let rid = first_id(app, &format!("/api/v1/residents?area_id={grid}&page_size=1")).await;
    // A phone to reveal later, and a tag of a vulnerable group for priority.
    let (s, r) = app.patch(&format!("/api/v1/residents/{rid}"), json!({"phone": "13905941234"})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let (s, t) = app.post(&format!("/api/v1/residents/{rid}/tags"), json!({"tag": "empty_nest_elderly"})).await;
    assert!(s == StatusCode::CREATED || s == StatusCode::CONFLICT || s == StatusCode::OK, "{t}");
    let (v1, v1_id) = vols.remove(0);
    let (v2, _) = vols.remove(0);
    World { community, grid, chief, grid_chief, volunteer: v1, volunteer_id: v1_id, other_volunteer: v2, resident: r }
}

async fn a_wish_walks_the_whole_path(app: TestApp) {
    let app = app.with_demo().await;
    let w = world(&app).await;
    let as_ = |t: &str| Some(t.to_string());
    let name = w.resident["name"].as_str().unwrap().to_string();
    let rid = w.resident["id"].as_i64().unwrap();
    let (_, household) = app.get(&format!("/api/v1/households/{}", w.resident["household_id"])).await;
    let address = household["address"].as_str().unwrap().to_string();

    // Collected by the grid chief on a door-to-door visit.
    let (s, wish) = app
        .call_as(
            as_(&w.grid_chief).as_deref(),
            Method::POST,
            "/api/v1/wishes",
            Some(json!({"resident_id": rid, "channel": "door_to_door", "category": "repair",
                        "description": "厨房水龙头漏水，想请人帮忙换一个", "estimated_value": 60})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{wish}");
    assert_eq!(wish["state"], "collected");
    assert_eq!(wish["priority"], true, "an empty-nest elderly resident's wish comes first");
    let id = wish["id"].as_i64().unwrap();

    // Not yet published: volunteers do not see it.
    let (s, list) = app.call_as(Some(&w.volunteer), Method::GET, "/api/v1/wishes/published", None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert!(list["items"].as_array().unwrap().iter().all(|x| x["id"] != id));
    // A grid chief cannot publish; the community's head can.
    let (s, _) = app
        .call_as(
            Some(&w.grid_chief),
            Method::POST,
            &format!("/api/v1/wishes/{id}/review"),
            Some(json!({"publish": true})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, wish) = app
        .call_as(Some(&w.chief), Method::POST, &format!("/api/v1/wishes/{id}/review"), Some(json!({"publish": true})))
        .await;
    assert_eq!(s, StatusCode::OK, "{wish}");
    assert_eq!(wish["state"], "published");
    assert!(wish["claim_due"].is_string());

    // Published, masked: no name, phone or address anywhere in what a volunteer reads.
    let (s, list) = app.call_as(Some(&w.volunteer), Method::GET, "/api/v1/wishes/published", None).await;
    assert_eq!(s, StatusCode::OK);
    let public = list["items"].as_array().unwrap().iter().find(|x| x["id"] == id).expect("published").clone();
    let (s, one) = app.call_as(Some(&w.volunteer), Method::GET, &format!("/api/v1/wishes/{id}/public"), None).await;
    assert_eq!(s, StatusCode::OK);
    for text in [public.to_string(), one.to_string()] {
        assert!(!text.contains(&name), "the name leaks: {text}");
        assert!(!text.contains("13905941234") && !text.contains("1234\""), "the phone leaks: {text}");
        assert!(!text.contains(&address), "the address leaks: {text}");
        assert!(!text.contains("resident_id") && !text.contains("household_id") && !text.contains("empty_nest"));
    }
    let initial: String = name.chars().take(1).collect();
    assert!(public["masked_label"].as_str().unwrap().ends_with(&format!("{initial}*")), "{public}");
    // A volunteer reads no registry data, and not the full wish.
    for path in [
        "/api/v1/residents".to_string(),
        format!("/api/v1/residents/{rid}"),
        format!("/api/v1/households/{}", w.resident["household_id"]),
        "/api/v1/households".into(),
        format!("/api/v1/wishes/{id}"),
        "/api/v1/wishes".into(),
        format!("/api/v1/wishes/{id}/contact"),
    ] {
        let (s, v) = app.call_as(Some(&w.volunteer), Method::GET, &path, None).await;
        assert!(s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND, "{path}: {s} {v}");
    }

    // Claimed by the first volunteer; the second finds it taken and nothing is written.
    let (s, claimed) =
        app.call_as(Some(&w.volunteer), Method::POST, &format!("/api/v1/wishes/{id}/claim"), Some(json!({}))).await;
    assert_eq!(s, StatusCode::OK, "{claimed}");
    assert_eq!(claimed["state"], "claimed");
    assert_eq!(claimed["claim"]["claimer_id"], w.volunteer_id);
    let before = services_counts(&app).await;
    let (s, e) = app
        .call_as(Some(&w.other_volunteer), Method::POST, &format!("/api/v1/wishes/{id}/claim"), Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["code"], "already_claimed");
    assert_eq!(services_counts(&app).await, before);

    // The contact only after the grid worker approves the claim, and only to the claimer.
    let (s, _) = app.call_as(Some(&w.volunteer), Method::GET, &format!("/api/v1/wishes/{id}/contact"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, approved) =
        app.call_as(Some(&w.grid_chief), Method::POST, &format!("/api/v1/wishes/{id}/claim/approve"), None).await;
    assert_eq!(s, StatusCode::OK, "{approved}");
    assert!(approved["fulfil_due"].is_string());
    let (s, contact) =
        app.call_as(Some(&w.volunteer), Method::GET, &format!("/api/v1/wishes/{id}/contact"), None).await;
    assert_eq!(s, StatusCode::OK, "{contact}");
    assert_eq!(contact["name"], name.as_str());
    assert_eq!(contact["phone"], "13905941234");
    assert_eq!(contact["address"], address.as_str());
    let (s, _) =
        app.call_as(Some(&w.other_volunteer), Method::GET, &format!("/api/v1/wishes/{id}/contact"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "not to another volunteer");
    let reveals: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE entity = 'wish' AND action = 'reveal'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(reveals, 1, "the reveal is audited");

    // Fulfilled with a note; confirmed and rated by the grid worker; points arrive once.
    let (s, _) = app
        .call_as(Some(&w.grid_chief), Method::POST, &format!("/api/v1/wishes/{id}/confirm"), Some(json!({"rating": 5})))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "not before it is fulfilled");
    let (s, f) = app
        .call_as(
            Some(&w.volunteer),
            Method::POST,
            &format!("/api/v1/wishes/{id}/fulfil"),
            Some(json!({"note": "换了新水龙头，试过不漏了"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    assert_eq!(f["state"], "fulfilled");
    let (s, done) = app
        .call_as(
            Some(&w.grid_chief),
            Method::POST,
            &format!("/api/v1/wishes/{id}/confirm"),
            Some(json!({"rating": 5, "note": "老人很满意"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["state"], "confirmed");
    assert_eq!(done["rating"], 5);
    assert!(done["points_entry_id"].is_i64());
    let points = |v: &Value| v.as_array().unwrap().iter().map(|a| a["balance"].as_i64().unwrap()).sum::<i64>();
    let (s, mine) = app.call_as(Some(&w.volunteer), Method::GET, "/api/v1/points/mine", None).await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    assert_eq!(points(&mine), 20);
    let (s, _) = app
        .call_as(Some(&w.grid_chief), Method::POST, &format!("/api/v1/wishes/{id}/confirm"), Some(json!({"rating": 4})))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "confirmed once");
    let (_, mine) = app.call_as(Some(&w.volunteer), Method::GET, "/api/v1/points/mine", None).await;
    assert_eq!(points(&mine), 20, "the points arrive once");
    let entry = done["points_entry_id"].as_i64().unwrap();
    let (s, e) = app.call_as(Some(&w.chief), Method::GET, &format!("/api/v1/points/entries/{entry}"), None).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(e["source_kind"], "wish");
    assert_eq!(e["source_id"], id);
    assert_eq!(e["rule_version"], 1);
    assert_eq!(e["postings"].as_array().unwrap().iter().map(|p| p["amount"].as_i64().unwrap()).sum::<i64>(), 0);

    // The volunteer spends 15 of them at the shop and gets a pickup code; the community hands
    // the item over on it.
    let (s, item) = app
        .call_as(
            Some(&w.chief),
            Method::POST,
            "/api/v1/shop/items",
            Some(json!({"area_id": w.community, "name": "洗衣液", "points": 15, "stock": 3})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{item}");
    let (s, red) = app
        .call_as(
            Some(&w.volunteer),
            Method::POST,
            "/api/v1/shop/redemptions",
            Some(json!({"item_id": item["id"], "holder_kind": "volunteer", "holder_id": w.volunteer_id,
                        "client_key": "wash-1"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{red}");
    assert_eq!(red["state"], "reserved");
    let (_, mine) = app.call_as(Some(&w.volunteer), Method::GET, "/api/v1/points/mine", None).await;
    assert_eq!(points(&mine), 5);
    let (s, wrong) = app
        .call_as(
            Some(&w.chief),
            Method::POST,
            &format!("/api/v1/shop/redemptions/{}/pickup", red["id"]),
            Some(json!({"code": "000000x"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{wrong}");
    let (s, picked) = app
        .call_as(
            Some(&w.chief),
            Method::POST,
            &format!("/api/v1/shop/redemptions/{}/pickup", red["id"]),
            Some(json!({"code": red["pickup_code"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{picked}");
    assert_eq!(picked["state"], "picked_up");
    let problems = app.store.verify_ledger().await.unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
    let _ = w.grid;
}

async fn bad_input_writes_nothing(app: TestApp) {
    let app = app.with_demo().await;
    let w = world(&app).await;
    // A second version of the wish rule, proposed but not approved.
    let (s, v2) = app
        .call_as(
            Some(&w.chief),
            Method::POST,
            "/api/v1/points/rules",
            Some(json!({"area_id": w.community, "code": "wish_fulfilled", "name": "认领并完成一个微心愿",
                        "source_kind": "wish", "points": 30, "threshold": 50, "approver_kind": "station_chief"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v2}");
    assert_eq!(v2["version"], 2);
    let before = services_counts(&app).await;
    let (s, e) = app
        .call_as(
            Some(&w.grid_chief),
            Method::POST,
            "/api/v1/points/awards",
            Some(json!({"rule_id": v2["id"], "holder_kind": "volunteer", "holder_id": w.volunteer_id,
                        "client_key": "unapproved-1"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["code"], "rule_not_approved");
    assert_eq!(e["error"]["field"], "rule_id");
    assert_eq!(services_counts(&app).await, before, "an award under an unapproved rule writes nothing");

    // Redeeming more points than held.
    let (s, item) = app
        .call_as(
            Some(&w.chief),
            Method::POST,
            "/api/v1/shop/items",
            Some(json!({"area_id": w.community, "name": "大米 5 斤", "points": 200, "stock": 5})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{item}");
    let before = services_counts(&app).await;
    let (s, e) = app
        .call_as(
            Some(&w.volunteer),
            Method::POST,
            "/api/v1/shop/redemptions",
            Some(json!({"item_id": item["id"], "holder_kind": "volunteer", "holder_id": w.volunteer_id,
                        "client_key": "rice-1"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["code"], "insufficient_points");
    assert_eq!(services_counts(&app).await, before, "a refused redemption takes neither points nor stock");

    // Spending someone else's points is refused.
    let (s, _) = app
        .call_as(
            Some(&w.other_volunteer),
            Method::POST,
            "/api/v1/shop/redemptions",
            Some(json!({"item_id": item["id"], "holder_kind": "volunteer", "holder_id": w.volunteer_id,
                        "client_key": "rice-2"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Malformed input names its field.
    for (path, body, field) in [
        (
            "/api/v1/points/awards",
            json!({"rule_id": v2["id"], "holder_kind": "volunteer", "holder_id": w.volunteer_id, "client_key": "bad key!"}),
            "client_key",
        ),
        ("/api/v1/shop/items", json!({"area_id": w.community, "name": "x", "points": 0, "stock": 1}), "points"),
        (
            "/api/v1/wishes",
            json!({"resident_id": w.resident["id"], "channel": "phone", "category": "repair", "description": " "}),
            "description",
        ),
        (
            "/api/v1/points/rules",
            json!({"area_id": w.community, "code": "bad code", "name": "x", "source_kind": "manual", "points": 1, "threshold": 1, "approver_kind": "station_chief"}),
            "code",
        ),
    ] {
        let before = services_counts(&app).await;
        let (s, e) = app.call_as(Some(&w.chief), Method::POST, path, Some(body)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {e}");
        assert_eq!(e["error"]["field"], field, "{path}: {e}");
        assert_eq!(services_counts(&app).await, before);
    }
    // Claiming a wish that is not published.
    let (s, wish) = app
        .call_as(
            Some(&w.grid_chief),
            Method::POST,
            "/api/v1/wishes",
            Some(json!({"resident_id": w.resident["id"], "channel": "phone", "category": "company", "description": "想有人陪着去医院复查"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{wish}");
    let before = services_counts(&app).await;
    let (s, e) = app
        .call_as(Some(&w.volunteer), Method::POST, &format!("/api/v1/wishes/{}/claim", wish["id"]), Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(services_counts(&app).await, before);
}

async fn wish_deadlines_escalate(app: TestApp) {
    let app = app.with_demo().await;
    let w = world(&app).await;
    let (_, wish) = app
        .call_as(
            Some(&w.grid_chief),
            Method::POST,
            "/api/v1/wishes",
            Some(json!({"resident_id": w.resident["id"], "channel": "notice", "category": "study", "description": "孩子想要一套课外读物"})),
        )
        .await;
    let id = wish["id"].as_i64().unwrap();
    let (s, _) = app
        .call_as(Some(&w.chief), Method::POST, &format!("/api/v1/wishes/{id}/review"), Some(json!({"publish": true})))
        .await;
    assert_eq!(s, StatusCode::OK);
    let now = app.store.now();
    assert_eq!(app.store.run_wish_deadlines(now).await.unwrap(), 0, "nothing is due yet");
    let later = now + chrono::TimeDelta::days(wangge_store::CLAIM_DAYS) + chrono::TimeDelta::hours(1);
    let inbox_before = count(&app, "inbox_items").await;
    assert_eq!(app.store.run_wish_deadlines(later).await.unwrap(), 1);
    assert_eq!(app.store.run_wish_deadlines(later).await.unwrap(), 0, "escalated once per deadline");
    let (_, full) = app.call_as(Some(&w.chief), Method::GET, &format!("/api/v1/wishes/{id}"), None).await;
    assert_eq!(full["escalation_level"], 1);
    assert!(count(&app, "inbox_items").await > inbox_before, "the community's head is told");
}

/// Services records in the matrix's target community (Hongqiao), made by the deployment.
pub struct Targets {
    rule: i64,
    /// An approved rule, to aim awards at.
    approved_rule: i64,
    /// A pending award.
    entry: i64,
    item: i64,
    redemption: i64,
    volunteer: i64,
    team: i64,
    /// A published wish with a pending claim.
    wish: i64,
    activity: i64,
    /// A self-assessed star rating of the resident's household.
    star_rating: i64,
    household: i64,
}

pub async fn matrix_targets(app: &TestApp, community: i64, unit: i64, resident: i64) -> Targets {
    use wangge_core::ledger::SourceKind;
    use wangge_core::{Caller, PostKind};
    use wangge_store::{
        ClaimerKind, Holder, NewAward, NewPointsRule, NewRedemption, NewShopItem, NewTeam, NewVolunteer, NewWish,
        WishChannel,
    };
    let (store, sys) = (&app.store, Caller::system());
    let rule = |code: &str, threshold: i64| NewPointsRule {
        area_id: community,
        code: code.into(),
        name: code.into(),
        source_kind: SourceKind::Manual,
        points: 40,
        threshold,
        approver_kind: PostKind::StationChief,
    };
    let approved = store.propose_points_rule(&sys, rule("matrix_approved", 50)).await.unwrap();
    let approved = store.approve_points_rule(&sys, approved.id).await.unwrap();
    let proposed = store.propose_points_rule(&sys, rule("matrix_proposed", 50)).await.unwrap();
    let volunteer = store
        .create_volunteer(&sys, NewVolunteer { area_id: unit, name: "虹桥志愿者".into(), ..Default::default() })
        .await
        .unwrap();
    let award = |qty: i64, key: &str| NewAward {
        rule_id: approved.id,
        holder: Holder::Volunteer(volunteer.id),
        quantity: qty,
        source_kind: None,
        source_id: None,
        client_key: key.into(),
        note: None,
    };
    store.award_points(&sys, award(1, "matrix-posted")).await.unwrap();
    let entry = store.award_points(&sys, award(2, "matrix-pending")).await.unwrap();
    assert_eq!(entry.state, "pending");
    let item = store
        .create_shop_item(
            &sys,
            NewShopItem { area_id: community, name: "肥皂".into(), description: String::new(), points: 10, stock: 5 },
        )
        .await
        .unwrap();
    let redemption = store
        .redeem(
            &sys,
            NewRedemption {
                item_id: item.id,
                holder: Some(Holder::Volunteer(volunteer.id)),
                quantity: 1,
                client_key: "matrix-redeem".into(),
            },
        )
        .await
        .unwrap();
    let team = store
        .create_team(
            &sys,
            NewTeam {
                area_id: community,
                name: "虹桥法治宣传队".into(),
                kind: "rule_of_law".into(),
                description: String::new(),
            },
        )
        .await
        .unwrap();
    let wish = store
        .collect_wish(
            &sys,
            NewWish {
                resident_id: resident,
                channel: WishChannel::Phone,
                category: "repair".into(),
                description: "门锁坏了".into(),
                estimated_value: 30,
            },
        )
        .await
        .unwrap();
    let id = wish.public.id;
    store.review_wish(&sys, id, true, None).await.unwrap();
    store.claim_wish(&sys, id, ClaimerKind::Volunteer, Some(volunteer.id)).await.unwrap();
    let activity = store
        .create_activity(
            &sys,
            wangge_store::NewActivity {
                area_id: community,
                team_id: Some(team.id),
                rule_id: Some(approved.id),
                title: "普法宣传".into(),
                place: "虹桥社区广场".into(),
                starts_at: "2026-06-01T01:00:00Z".into(),
                hours: 2,
                capacity: 20,
                people_served: 100,
            },
        )
        .await
        .unwrap()
        .id;
    let household: i64 = sqlx::query_scalar("SELECT household_id FROM residents WHERE id = $1")
        .bind(resident)
        .fetch_one(store.pool())
        .await
        .unwrap();
    let star_rating = store
        .self_assess(
            &sys,
            wangge_store::NewStarRating {
                household_id: household,
                period: "2026".into(),
                items: vec!["honest".into()],
                note: None,
            },
        )
        .await
        .unwrap()
        .id;
    Targets {
        star_rating,
        household,
        activity,
        rule: proposed.id,
        approved_rule: approved.id,
        entry: entry.id,
        item: item.id,
        redemption: redemption.id,
        volunteer: volunteer.id,
        team: team.id,
        wish: id,
    }
}

/// The matrix's request for each services route, aimed at the targets.
pub fn matrix_request(
    method: &str,
    path: &str,
    community: i64,
    resident: i64,
    t: &Targets,
) -> Option<(String, Option<Value>)> {
    let r = |p: String| Some((p, None));
    let b = |p: String, v: Value| Some((p, Some(v)));
    let (w, e, red) = (t.wish, t.entry, t.redemption);
    match (method, path) {
        ("GET", "/api/v1/points/rules") => r(format!("/api/v1/points/rules?area_id={community}")),
        ("POST", "/api/v1/points/rules") => b(
            "/api/v1/points/rules".into(),
            json!({"area_id": community, "code": "x", "name": "x", "source_kind": "manual", "points": 1,
                   "threshold": 1, "approver_kind": "station_chief"}),
        ),
        ("POST", "/api/v1/points/rules/{id}/approve") => r(format!("/api/v1/points/rules/{}/approve", t.rule)),
        ("POST", "/api/v1/points/awards") => b(
            "/api/v1/points/awards".into(),
            json!({"rule_id": t.approved_rule, "holder_kind": "volunteer", "holder_id": t.volunteer, "client_key": "m"}),
        ),
        ("GET", "/api/v1/points/entries") => r(format!("/api/v1/points/entries?area_id={community}")),
        ("GET", "/api/v1/points/entries/{id}") => r(format!("/api/v1/points/entries/{e}")),
        ("POST", "/api/v1/points/entries/{id}/approve") => r(format!("/api/v1/points/entries/{e}/approve")),
        ("POST", "/api/v1/points/entries/{id}/reject") => r(format!("/api/v1/points/entries/{e}/reject")),
        ("POST", "/api/v1/points/entries/{id}/reverse") => {
            b(format!("/api/v1/points/entries/{e}/reverse"), json!({"client_key": "m"}))
        }
        ("GET", "/api/v1/points/accounts") => r(format!("/api/v1/points/accounts?area_id={community}")),
        ("GET", "/api/v1/points/balance") => {
            r(format!("/api/v1/points/balance?holder_kind=resident&holder_id={resident}"))
        }
        ("GET", "/api/v1/shop/items") => r(format!("/api/v1/shop/items?area_id={community}")),
        ("POST", "/api/v1/shop/items") => {
            b("/api/v1/shop/items".into(), json!({"area_id": community, "name": "x", "points": 1, "stock": 1}))
        }
        ("POST", "/api/v1/shop/items/{id}/restock") => {
            b(format!("/api/v1/shop/items/{}/restock", t.item), json!({"delta": 1}))
        }
        ("GET", "/api/v1/shop/redemptions") => r(format!("/api/v1/shop/redemptions?area_id={community}")),
        ("POST", "/api/v1/shop/redemptions") => b(
            "/api/v1/shop/redemptions".into(),
            json!({"item_id": t.item, "holder_kind": "volunteer", "holder_id": t.volunteer, "client_key": "m"}),
        ),
        ("GET", "/api/v1/shop/redemptions/{id}") => r(format!("/api/v1/shop/redemptions/{red}")),
        ("POST", "/api/v1/shop/redemptions/{id}/cancel") => r(format!("/api/v1/shop/redemptions/{red}/cancel")),
        ("POST", "/api/v1/shop/redemptions/{id}/pickup") => {
            b(format!("/api/v1/shop/redemptions/{red}/pickup"), json!({"code": "000000"}))
        }
        ("GET", "/api/v1/volunteers") => r(format!("/api/v1/volunteers?area_id={community}")),
        ("POST", "/api/v1/volunteers") => b("/api/v1/volunteers".into(), json!({"area_id": community, "name": "x"})),
        ("GET", "/api/v1/volunteers/{id}") => r(format!("/api/v1/volunteers/{}", t.volunteer)),
        ("GET", "/api/v1/teams") => r(format!("/api/v1/teams?area_id={community}")),
        ("POST", "/api/v1/teams") => {
            b("/api/v1/teams".into(), json!({"area_id": community, "name": "x", "kind": "rule_of_law"}))
        }
        ("GET", "/api/v1/teams/{id}/members") => r(format!("/api/v1/teams/{}/members", t.team)),
        ("POST", "/api/v1/teams/{id}/members") => {
            b(format!("/api/v1/teams/{}/members", t.team), json!({"volunteer_id": t.volunteer, "role": "member"}))
        }
        ("GET", "/api/v1/wishes") => r(format!("/api/v1/wishes?area_id={community}")),
        ("POST", "/api/v1/wishes") => b(
            "/api/v1/wishes".into(),
            json!({"resident_id": resident, "channel": "phone", "category": "x", "description": "x"}),
        ),
        ("GET", "/api/v1/wishes/published") => r(format!("/api/v1/wishes/published?area_id={community}")),
        ("GET", "/api/v1/wishes/{id}") => r(format!("/api/v1/wishes/{w}")),
        ("GET", "/api/v1/wishes/{id}/public") => r(format!("/api/v1/wishes/{w}/public")),
        ("POST", "/api/v1/wishes/{id}/review") => b(format!("/api/v1/wishes/{w}/review"), json!({"publish": true})),
        ("POST", "/api/v1/wishes/{id}/claim") => b(format!("/api/v1/wishes/{w}/claim"), json!({})),
        ("POST", "/api/v1/wishes/{id}/claim/approve") => r(format!("/api/v1/wishes/{w}/claim/approve")),
        ("POST", "/api/v1/wishes/{id}/claim/decline") => r(format!("/api/v1/wishes/{w}/claim/decline")),
        ("GET", "/api/v1/wishes/{id}/contact") => r(format!("/api/v1/wishes/{w}/contact")),
        ("POST", "/api/v1/wishes/{id}/fulfil") => b(format!("/api/v1/wishes/{w}/fulfil"), json!({"note": "x"})),
        ("POST", "/api/v1/wishes/{id}/confirm") => b(format!("/api/v1/wishes/{w}/confirm"), json!({"rating": 5})),
        ("GET", "/api/v1/activities") => r(format!("/api/v1/activities?area_id={community}")),
        ("POST", "/api/v1/activities") => b(
            "/api/v1/activities".into(),
            json!({"area_id": community, "title": "x", "place": "x", "starts_at": "2026-06-01T01:00:00Z",
                   "hours": 1, "capacity": 1}),
        ),
        ("POST", "/api/v1/activities/{id}/signup") => r(format!("/api/v1/activities/{}/signup", t.activity)),
        ("POST", "/api/v1/activities/{id}/checkin") => {
            b(format!("/api/v1/activities/{}/checkin", t.activity), json!({"code": "000000"}))
        }
        _ => stars_request(method, path, community, t),
    }
}

/// The star-household, ranking, welfare and service-record routes, aimed at the targets.
fn stars_request(method: &str, path: &str, community: i64, t: &Targets) -> Option<(String, Option<Value>)> {
    let r = |p: String| Some((p, None));
    let b = |p: String, v: Value| Some((p, Some(v)));
    let sr = t.star_rating;
    match (method, path) {
        ("GET", "/api/v1/star-ratings") => r(format!("/api/v1/star-ratings?area_id={community}")),
        ("POST", "/api/v1/star-ratings") => b(
            "/api/v1/star-ratings".into(),
            json!({"household_id": t.household, "period": "2030", "items": ["honest"]}),
        ),
        ("GET", "/api/v1/star-ratings/items") => r(format!("/api/v1/star-ratings/items?area_id={community}")),
        ("GET", "/api/v1/star-ratings/{id}") => r(format!("/api/v1/star-ratings/{sr}")),
        ("POST", "/api/v1/star-ratings/{id}/review") => {
            b(format!("/api/v1/star-ratings/{sr}/review"), json!({"items": ["honest"]}))
        }
        ("POST", "/api/v1/star-ratings/{id}/decide") => b(format!("/api/v1/star-ratings/{sr}/decide"), json!({})),
        ("POST", "/api/v1/star-ratings/{id}/revoke") => {
            b(format!("/api/v1/star-ratings/{sr}/revoke"), json!({"reason": "x"}))
        }
        ("POST", "/api/v1/rankings") => {
            b("/api/v1/rankings".into(), json!({"area_id": community, "period": "2026", "kind": "household"}))
        }
        ("GET", "/api/v1/rankings/preview") => {
            r(format!("/api/v1/rankings/preview?area_id={community}&period=2026&kind=household"))
        }
        ("GET", "/api/v1/welfare/households/{id}") => r(format!("/api/v1/welfare/households/{}", t.household)),
        ("GET", "/api/v1/volunteers/{id}/record") => r(format!("/api/v1/volunteers/{}/record", t.volunteer)),
        ("GET", "/api/v1/teams/{id}/record") => r(format!("/api/v1/teams/{}/record", t.team)),
        _ => None,
    }
}

crate::on_both_engines!(the_demo_county_has_services);

async fn the_demo_county_has_services(app: TestApp) {
    let app = app.with_demo().await;
    let county = app.area_id("仙游县").await;
    let report = app.store.seed_demo_services(county, crate::DEMO_PASSWORD).await.unwrap();
    assert_eq!(report.teams, 1);
    assert_eq!(report.activities, 1);
    assert!(report.volunteers >= 40, "{report:?}");
    assert_eq!(report.wishes, 8);
    assert_eq!(report.wishes_fulfilled, 3);
    // Seven leaders' three hours and six volunteers' four hours at 5 points, three wishes at 20.
    assert_eq!(report.points_issued, 7 * 15 + 6 * 20 + 3 * 20);
    let problems = app.store.verify_ledger().await.unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
    // The team and its rule-of-law leaders, through the API.
    let (s, teams) = app.get(&format!("/api/v1/teams?area_id={}", app.area_id("度峰社区").await)).await;
    assert_eq!(s, StatusCode::OK, "{teams}");
    let team = &teams["items"][0];
    assert_eq!(team["name"], "夕阳红法治文艺宣传队");
    let (_, members) = app.get(&format!("/api/v1/teams/{}/members", team["id"])).await;
    let leaders = members.as_array().unwrap().iter().filter(|m| m["role"] == "rule_of_law_leader").count();
    assert_eq!(leaders, 7);
    // The demo volunteer signs in and sees Bazhai's published wishes, masked.
    let (s, _, _) = crate::auth::sign_in(&app, &report.volunteer_login, crate::DEMO_PASSWORD).await;
    assert_eq!(s, StatusCode::OK);
}

crate::on_both_engines!(a_volunteer_signs_up_and_checks_in);

async fn a_volunteer_signs_up_and_checks_in(app: TestApp) {
    let app = app.with_demo().await;
    let w = world(&app).await;
    let (s, rule) = app
        .call_as(
            Some(&w.chief),
            Method::POST,
            "/api/v1/points/rules",
            Some(json!({"area_id": w.community, "code": "volunteer_hour", "name": "志愿服务每小时",
                        "source_kind": "activity", "points": 5, "threshold": 40, "approver_kind": "station_chief"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{rule}");
    app.call_as(Some(&w.chief), Method::POST, &format!("/api/v1/points/rules/{}/approve", rule["id"]), None).await;
    let (s, act) = app
        .call_as(
            Some(&w.chief),
            Method::POST,
            "/api/v1/activities",
            Some(json!({"area_id": w.community, "rule_id": rule["id"], "title": "法治宣传进社区", "place": "圣泉社区文化广场",
                        "starts_at": "2026-06-01T01:00:00Z", "hours": 3, "capacity": 1, "people_served": 120})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{act}");
    let code = act["checkin_code"].as_str().unwrap().to_string();
    let path = |p: &str| format!("/api/v1/activities/{}/{p}", act["id"]);
    // The volunteer sees it, without the code.
    let (_, list) = app.call_as(Some(&w.volunteer), Method::GET, "/api/v1/activities", None).await;
    let seen = list["items"].as_array().unwrap().iter().find(|a| a["id"] == act["id"]).unwrap().clone();
    assert!(seen["checkin_code"].is_null(), "{seen}");
    let (s, _) = app.call_as(Some(&w.volunteer), Method::POST, &path("checkin"), Some(json!({"code": code}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "sign up first");
    let (s, a) = app.call_as(Some(&w.volunteer), Method::POST, &path("signup"), None).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["signed_up"], 1);
    let (s, e) = app.call_as(Some(&w.other_volunteer), Method::POST, &path("signup"), None).await;
    assert_eq!(s, StatusCode::CONFLICT, "full: {e}");
    let (s, e) =
        app.call_as(Some(&w.volunteer), Method::POST, &path("checkin"), Some(json!({"code": "999999x"}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    for _ in 0..2 {
        let (s, a) = app.call_as(Some(&w.volunteer), Method::POST, &path("checkin"), Some(json!({"code": code}))).await;
        assert_eq!(s, StatusCode::OK, "{a}");
        assert_eq!(a["checked_in"], 1);
    }
    let (_, mine) = app.call_as(Some(&w.volunteer), Method::GET, "/api/v1/points/mine", None).await;
    let total: i64 = mine.as_array().unwrap().iter().map(|a| a["balance"].as_i64().unwrap()).sum();
    assert_eq!(total, 15, "three hours at 5 points, once");
}
