//! The party overlay through HTTP: organisations and members, contact households, co-building
//! units; the demo's overlay; bad input refused with the field named and nothing written; and a
//! grid chief kept inside its grid.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::TestApp;

crate::on_both_engines!(party_overlay_round_trip, a_grid_chief_keeps_to_its_grid);

/// Rows of the party tables and audit events: refused requests must leave them as they were.
async fn party_counts(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for t in ["party_organisations", "party_members", "contact_households", "co_building_units", "audit_events"] {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {t}")))
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        out.push(n);
    }
    out
}

fn items(v: &Value) -> &Vec<Value> {
    v["items"].as_array().unwrap_or_else(|| panic!("not a page: {v}"))
}

async fn ok(app: &TestApp, path: &str) -> Value {
    let (s, v) = app.get(path).await;
    assert_eq!(s, StatusCode::OK, "{path}: {v}");
    v
}

/// Asserts a refusal with its status, code and field.
#[track_caller]
fn refused(got: (StatusCode, Value), status: StatusCode, code: &str, field: Option<&str>) {
    let (s, v) = got;
    assert_eq!(s, status, "{v}");
    assert_eq!(v["error"]["code"], code, "{v}");
    if let Some(f) = field {
        assert_eq!(v["error"]["field"], f, "{v}");
    }
}

async fn party_overlay_round_trip(app: TestApp) {
    let app = app.with_demo().await;
    let shengquan = app.area_id("圣泉社区").await;

    // The demo: a committee, a branch per grid (6), groups below, members with 3-8 households.
    let v = ok(&app, &format!("/api/v1/party/organisations?area_id={shengquan}&kind=party_committee")).await;
    assert_eq!(v["total"], 1, "{v}");
    let committee = &items(&v)[0];
    assert_eq!(committee["name"], "圣泉社区大党委");
    assert_eq!(committee["area_id"], shengquan);
    let committee_id = committee["id"].as_i64().unwrap();
    let v = ok(&app, &format!("/api/v1/party/organisations?parent_id={committee_id}&page_size=200")).await;
    assert_eq!(v["total"], 6, "{v}");
    assert!(items(&v).iter().all(|o| o["kind"] == "party_branch" && o["parent_id"] == committee_id));
    let branch = items(&v)[0].clone();
    let grid = branch["area_id"].as_i64().unwrap();
    assert!(branch["secretary_account_id"].is_i64(), "the grid chief is the branch's secretary: {branch}");
    let groups = ok(&app, &format!("/api/v1/party/organisations?area_id={shengquan}&kind=party_group")).await;
    assert!(groups["total"].as_i64().unwrap() >= 5, "{groups}");
    let tagged = ok(&app, &format!("/api/v1/residents?area_id={shengquan}&tag=party_member&page_size=1")).await;
    assert!(tagged["total"].as_i64().unwrap() > 10, "{tagged}");
    let contacts = ok(&app, &format!("/api/v1/party/contacts?area_id={shengquan}&page_size=200")).await;
    let first = &items(&contacts)[0];
    let mine = ok(&app, &format!("/api/v1/party/contacts?resident_id={}", first["resident_id"])).await;
    let n = mine["total"].as_i64().unwrap();
    assert!((3..=8).contains(&n), "{mine}");
    assert!(items(&mine).iter().all(|c| c["unit_id"] == first["unit_id"]), "contacts come from the member's unit");
    let units = ok(&app, &format!("/api/v1/party/co-building-units?area_id={shengquan}")).await;
    let names: Vec<&str> = items(&units).iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"仙游县人民医院"), "{units}");
    assert_eq!(ok(&app, &format!("/api/v1/party/co-building-units?area_id={shengquan}&kind=agency")).await["total"], 1);

    // A new party group in a unit of the grid, led by the grid's branch.
    let unit = items(&ok(&app, &format!("/api/v1/areas?parent_id={grid}&sort=code")).await)[1]["id"].as_i64().unwrap();
    let (s, org) = app
        .post(
            "/api/v1/party/organisations",
            json!({"area_id": unit, "kind": "party_group", "name": "  测试党小组 ", "parent_id": branch["id"],
                   "founded_on": "2024-07-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{org}");
    assert_eq!(org["name"], "测试党小组");
    assert_eq!(org["parent_name"], branch["name"]);
    assert_eq!(org["founded_on"], "2024-07-01");
    assert_eq!(org["members"], 0);
    let org_id = org["id"].as_i64().unwrap();
    let found = ok(&app, "/api/v1/party/organisations?q=测试党").await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(items(&found)[0]["id"], org_id);
    assert_eq!(ok(&app, &format!("/api/v1/party/organisations/{org_id}")).await["area_id"], unit);

    // Bad organisations: each refused with its field, nothing written.
    let before = party_counts(&app).await;
    let post = |body: Value| app.post("/api/v1/party/organisations", body);
    refused(
        post(json!({"area_id": grid, "kind": "party_committee", "name": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "wrong_level",
        Some("area_id"),
    );
    refused(
        post(json!({"area_id": unit, "kind": "party_group", "name": " "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "required",
        Some("name"),
    );
    refused(
        post(json!({"area_id": unit, "kind": "party_cell", "name": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
        Some("kind"),
    );
    refused(
        post(json!({"area_id": unit, "kind": "party_group", "name": "x", "founded_on": "2024-13-01"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad_date",
        Some("founded_on"),
    );
    refused(
        post(json!({"area_id": grid, "kind": "party_branch", "name": "x", "parent_id": org_id})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "wrong_kind",
        Some("parent_id"),
    );
    refused(
        post(json!({"area_id": 99_999_999, "kind": "party_group", "name": "x"})).await,
        StatusCode::NOT_FOUND,
        "unknown_area",
        Some("area_id"),
    );
    refused(
        post(json!({"area_id": unit, "kind": "party_group", "name": "x", "secretary_account_id": 99_999_999})).await,
        StatusCode::NOT_FOUND,
        "unknown_account",
        Some("secretary_account_id"),
    );
    assert_eq!(party_counts(&app).await, before);

    // Members: a party member of the unit joins; others are refused.
    let tagged = ok(&app, &format!("/api/v1/residents?area_id={unit}&tag=party_member")).await;
    let resident = items(&tagged).first().cloned().unwrap_or_else(|| panic!("no party member in unit {unit}"));
    let rid = resident["id"].as_i64().unwrap();
    let path = format!("/api/v1/party/organisations/{org_id}/members");
    let (s, m) = app.post(&path, json!({"resident_id": rid, "role": "group_leader", "since": "2024-07-01"})).await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    assert_eq!((m["resident_name"].clone(), m["role"].clone()), (resident["name"].clone(), json!("group_leader")));
    assert_eq!(m["organisation_id"], org_id);
    let member_id = m["id"].as_i64().unwrap();
    let list = ok(&app, &path).await;
    assert_eq!(list["total"], 1);
    assert_eq!(items(&list)[0]["id"], member_id);
    assert_eq!(ok(&app, &format!("/api/v1/party/organisations/{org_id}")).await["members"], 1);

    let before = party_counts(&app).await;
    refused(
        app.post(&path, json!({"resident_id": rid})).await,
        StatusCode::CONFLICT,
        "already_member",
        Some("resident_id"),
    );
    let all = ok(&app, &format!("/api/v1/residents?area_id={unit}&page_size=200")).await;
    let plain = items(&all)
        .iter()
        .find(|r| !r["tags"].as_array().unwrap().contains(&json!("party_member")))
        .expect("a resident without the party member tag");
    refused(
        app.post(&path, json!({"resident_id": plain["id"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not_a_party_member",
        Some("resident_id"),
    );
    // A party member of another grid does not live in the group's unit.
    let elsewhere =
        items(&ok(&app, &format!("/api/v1/residents?area_id={shengquan}&tag=party_member&page_size=200")).await)
            .iter()
            .find(|r| r["grid_id"] != grid)
            .cloned()
            .unwrap();
    refused(
        app.post(&path, json!({"resident_id": elsewhere["id"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "outside_area",
        Some("resident_id"),
    );
    refused(
        app.post(&path, json!({"resident_id": rid, "role": "chairman"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
        Some("role"),
    );
    refused(
        app.post(&format!("/api/v1/party/members/{member_id}/end"), json!({"until": "2020-01-01"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "before_start",
        Some("until"),
    );
    assert_eq!(party_counts(&app).await, before);

    // Ending a membership keeps it in the history.
    let (s, ended) = app.post(&format!("/api/v1/party/members/{member_id}/end"), json!({"until": "2025-01-31"})).await;
    assert_eq!((s, ended["until"].as_str()), (StatusCode::OK, Some("2025-01-31")), "{ended}");
    let (s, _) = app.post(&format!("/api/v1/party/members/{member_id}/end"), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(ok(&app, &path).await["total"], 0);
    assert_eq!(ok(&app, &format!("{path}?include_ended=true")).await["total"], 1);

    // Contact households: the member keeps in touch with a household of the unit.
    let households = ok(&app, &format!("/api/v1/households?area_id={unit}&page_size=200")).await;
    let assigned: Vec<i64> = items(&ok(&app, &format!("/api/v1/party/contacts?resident_id={rid}&page_size=200")).await)
        .iter()
        .map(|c| c["household_id"].as_i64().unwrap())
        .collect();
    let household = items(&households)
        .iter()
        .map(|h| h["id"].as_i64().unwrap())
        .find(|h| !assigned.contains(h))
        .expect("a household the member does not yet contact");
    let (s, c) = app.post("/api/v1/party/contacts", json!({"resident_id": rid, "household_id": household})).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!((c["resident_id"].as_i64(), c["household_id"].as_i64()), (Some(rid), Some(household)));
    assert_eq!(c["unit_id"], unit);
    let contact_id = c["id"].as_i64().unwrap();
    let of_member = ok(&app, &format!("/api/v1/party/contacts?resident_id={rid}&page_size=200")).await;
    assert_eq!(of_member["total"].as_i64().unwrap(), assigned.len() as i64 + 1);
    let of_household = ok(&app, &format!("/api/v1/party/contacts?household_id={household}")).await;
    assert!(items(&of_household).iter().any(|c| c["resident_id"] == rid), "{of_household}");

    let before = party_counts(&app).await;
    refused(
        app.post("/api/v1/party/contacts", json!({"resident_id": rid, "household_id": household})).await,
        StatusCode::CONFLICT,
        "already_assigned",
        Some("household_id"),
    );
    refused(
        app.post("/api/v1/party/contacts", json!({"resident_id": plain["id"], "household_id": household})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not_a_party_member",
        Some("resident_id"),
    );
    refused(
        app.post("/api/v1/party/contacts", json!({"resident_id": rid, "household_id": 99_999_999})).await,
        StatusCode::NOT_FOUND,
        "unknown_household",
        Some("household_id"),
    );
    refused(
        app.post("/api/v1/party/contacts", json!({"resident_id": rid})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
        Some("household_id"),
    );
    assert_eq!(party_counts(&app).await, before);
    let (s, ended) = app.post(&format!("/api/v1/party/contacts/{contact_id}/end"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{ended}");
    assert!(ended["until"].is_string());
    let of_household = ok(&app, &format!("/api/v1/party/contacts?household_id={household}")).await;
    assert!(!items(&of_household).iter().any(|c| c["id"] == contact_id), "{of_household}");

    // Co-building units are attached to grids only.
    let (s, u) = app
        .post(
            "/api/v1/party/co-building-units",
            json!({"grid_id": grid, "name": "仙游县邮政分公司", "kind": "enterprise", "contact_name": "李明"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    assert_eq!((u["grid_id"].as_i64(), u["kind"].as_str()), (Some(grid), Some("enterprise")));
    assert_eq!(u["contact_name"], "李明");
    assert!(u.get("phone").is_none());
    let unit_id = u["id"].as_i64().unwrap();
    let found = ok(&app, "/api/v1/party/co-building-units?q=邮政").await;
    assert_eq!((found["total"].as_i64(), items(&found)[0]["id"].as_i64()), (Some(1), Some(unit_id)));
    let before = party_counts(&app).await;
    refused(
        app.post("/api/v1/party/co-building-units", json!({"grid_id": unit, "name": "x", "kind": "agency"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "wrong_level",
        Some("grid_id"),
    );
    refused(
        app.post("/api/v1/party/co-building-units", json!({"grid_id": grid, "name": "x", "kind": "club"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
        Some("kind"),
    );
    refused(
        app.post(
            "/api/v1/party/co-building-units",
            json!({"grid_id": grid, "name": "x", "kind": "agency", "phone": "13800000000"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
        Some("phone"),
    );
    assert_eq!(party_counts(&app).await, before);
    let (s, ended) = app.post(&format!("/api/v1/party/co-building-units/{unit_id}/end"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{ended}");
    assert_eq!(ok(&app, "/api/v1/party/co-building-units?q=邮政").await["total"], 0);
    assert_eq!(ok(&app, "/api/v1/party/co-building-units?q=邮政&include_ended=true").await["total"], 1);

    // Every write left its audit event.
    for (entity, id) in [
        ("party_organisation", org_id),
        ("party_member", member_id),
        ("contact_household", contact_id),
        ("co_building_unit", unit_id),
    ] {
        let events = ok(&app, &format!("/api/v1/audit?entity={entity}&entity_id={id}")).await;
        let actions: Vec<&str> = items(&events).iter().map(|e| e["action"].as_str().unwrap()).collect();
        let want: &[&str] = if entity == "party_organisation" { &["create"] } else { &["end", "create"] };
        assert_eq!(actions, want, "{entity}: {events}");
    }
}

async fn token_for(app: &TestApp, area: i64, kind: &str) -> String {
    let posts = ok(app, &format!("/api/v1/posts?area_id={area}&kind={kind}")).await;
    let post = items(&posts).iter().find(|p| p["area_id"] == area).expect("the demo has this post");
    let (s, t) = app.post("/api/v1/tokens", json!({"post_id": post["id"], "name": "party test"})).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t["token"].as_str().unwrap().to_string()
}

async fn a_grid_chief_keeps_to_its_grid(app: TestApp) {
    let app = app.with_demo().await;
    let shengquan = app.area_id("圣泉社区").await;
    let chiefs = ok(&app, &format!("/api/v1/posts?area_id={shengquan}&kind=grid_chief")).await;
    let own = items(&chiefs)[0]["area_id"].as_i64().unwrap();
    let token = token_for(&app, own, "grid_chief").await;
    let as_chief = |m: Method, p: String, b: Option<Value>| {
        let token = token.clone();
        let app = &app;
        async move { app.call_as(Some(&token), m, &p, b).await }
    };
    let branches =
        ok(&app, &format!("/api/v1/party/organisations?area_id={shengquan}&kind=party_branch&page_size=200")).await;
    let mine = items(&branches).iter().find(|o| o["area_id"] == own).unwrap().clone();
    let theirs = items(&branches).iter().find(|o| o["area_id"] != own).unwrap().clone();
    let other_grid = theirs["area_id"].as_i64().unwrap();
    let their_contact = items(&ok(&app, &format!("/api/v1/party/contacts?area_id={other_grid}")).await)[0].clone();
    let their_member =
        items(&ok(&app, &format!("/api/v1/party/organisations/{}/members", theirs["id"])).await)[0].clone();
    let their_unit = items(&ok(&app, &format!("/api/v1/party/co-building-units?area_id={shengquan}")).await)
        .iter()
        .find(|u| u["grid_id"] != own)
        .unwrap()
        .clone();

    // Its own grid's records it sees, and only those.
    let (s, v) = as_chief(Method::GET, "/api/v1/party/organisations?page_size=200".into(), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(items(&v).iter().any(|o| o["id"] == mine["id"]));
    assert!(!items(&v).iter().any(|o| o["kind"] == "party_committee" || o["id"] == theirs["id"]), "{v}");
    let (s, v) = as_chief(Method::GET, "/api/v1/party/contacts?page_size=200".into(), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["total"].as_i64().unwrap() > 0);
    assert!(!items(&v).iter().any(|c| c["id"] == their_contact["id"]));
    let (s, v) = as_chief(Method::GET, "/api/v1/party/co-building-units".into(), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(items(&v).iter().all(|u| u["grid_id"] == own), "{v}");

    // Another grid's records are not found, whether read or changed; nothing is written.
    let before = party_counts(&app).await;
    let tries: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/v1/party/organisations/{}", theirs["id"]), None),
        (Method::GET, format!("/api/v1/party/organisations/{}/members", theirs["id"]), None),
        (Method::GET, format!("/api/v1/party/organisations?area_id={other_grid}"), None),
        (Method::GET, format!("/api/v1/party/contacts?area_id={other_grid}"), None),
        (Method::GET, format!("/api/v1/party/co-building-units/{}", their_unit["id"]), None),
        (
            Method::POST,
            format!("/api/v1/party/organisations/{}/members", theirs["id"]),
            Some(json!({"resident_id": their_member["resident_id"]})),
        ),
        (Method::POST, format!("/api/v1/party/members/{}/end", their_member["id"]), Some(json!({}))),
        (Method::POST, format!("/api/v1/party/contacts/{}/end", their_contact["id"]), Some(json!({}))),
        (
            Method::POST,
            "/api/v1/party/contacts".into(),
            Some(json!({"resident_id": their_contact["resident_id"], "household_id": their_contact["household_id"]})),
        ),
        (
            Method::POST,
            "/api/v1/party/organisations".into(),
            Some(json!({"area_id": other_grid, "kind": "party_branch", "name": "x"})),
        ),
        (
            Method::POST,
            "/api/v1/party/co-building-units".into(),
            Some(json!({"grid_id": other_grid, "name": "x", "kind": "agency"})),
        ),
        (Method::POST, format!("/api/v1/party/co-building-units/{}/end", their_unit["id"]), Some(json!({}))),
    ];
    for (m, p, b) in tries {
        let (s, v) = as_chief(m.clone(), p.clone(), b).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{m} {p}: {v}");
        assert!(v["error"]["code"].is_string() && v.get("items").is_none(), "{v}");
    }
    // A party member of another grid cannot join its own branch either.
    refused(
        as_chief(
            Method::POST,
            format!("/api/v1/party/organisations/{}/members", mine["id"]),
            Some(json!({"resident_id": their_member["resident_id"]})),
        )
        .await,
        StatusCode::NOT_FOUND,
        "unknown_resident",
        Some("resident_id"),
    );
    assert_eq!(party_counts(&app).await, before);

    // In its own grid it may attach a co-building unit.
    let (s, u) = as_chief(
        Method::POST,
        "/api/v1/party/co-building-units".into(),
        Some(json!({"grid_id": own, "name": "县烟草专卖局", "kind": "agency"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");

    // A unit chief may keep contact households but not set up organisations.
    let unit_posts = ok(&app, &format!("/api/v1/posts?area_id={own}&kind=unit_chief")).await;
    let unit = items(&unit_posts)[0]["area_id"].as_i64().unwrap();
    let unit_token = token_for(&app, unit, "unit_chief").await;
    let before = party_counts(&app).await;
    let (s, v) = app
        .call_as(
            Some(&unit_token),
            Method::POST,
            "/api/v1/party/organisations",
            Some(json!({"area_id": unit, "kind": "party_group", "name": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(party_counts(&app).await, before);
}
