//! Protected personal data: ID numbers and phones are sealed at rest, found by keyed hash,
//! shown in clear only on a reveal with a purpose, and every reveal is in the resident's
//! "who read my record" list.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Row;
use wangge_store::{Caller, PostKind, Scope, StoreError};

use crate::areas::small_tree;
use crate::auth::person;
use crate::{Engine, TestApp, id_number};

crate::on_both_engines!(
    personal_numbers_are_sealed_at_rest,
    reveals_need_a_purpose_and_are_logged,
    posts_see_what_they_need
);

/// Every row of every table of the database as one text, its columns joined by `|`.
async fn all_rows(app: &TestApp) -> Vec<(String, String)> {
    let tables_sql = match app.engine {
        Engine::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        Engine::Postgres => "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    };
    let tables: Vec<String> = sqlx::query_scalar(tables_sql).fetch_all(app.store.pool()).await.unwrap();
    assert!(tables.contains(&"residents".to_string()), "{tables:?}");
    let mut rows = Vec::new();
    for t in tables {
        let columns: Vec<String> = match app.engine {
            Engine::Sqlite => sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                .bind(&t)
                .fetch_all(app.store.pool())
                .await
                .unwrap(),
            Engine::Postgres => sqlx::query_scalar(
                "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
            )
            .bind(&t)
            .fetch_all(app.store.pool())
            .await
            .unwrap(),
        };
        let joined: Vec<String> = columns.iter().map(|c| format!("COALESCE(CAST(\"{c}\" AS TEXT), '')")).collect();
        let sql = format!("SELECT {} AS v FROM \"{t}\"", joined.join(" || '|' || "));
        for row in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(app.store.pool()).await.unwrap() {
            rows.push((t.clone(), row.get::<String, _>("v")));
        }
    }
    rows
}

/// Fails when any row contains any of `secrets`, anywhere in any column.
fn assert_no_secret_in(rows: &[(String, String)], secrets: &HashSet<String>) {
    let lengths: HashSet<usize> = secrets.iter().map(String::len).collect();
    let set: HashSet<&[u8]> = secrets.iter().map(|s| s.as_bytes()).collect();
    let shortest = lengths.iter().copied().min().unwrap_or(0);
    for (table, row) in rows {
        // Only runs of the characters that numbers are made of can hold one.
        for run in row.as_bytes().split(|c| !(c.is_ascii_digit() || b"X-".contains(c))).filter(|r| r.len() >= shortest)
        {
            for &n in &lengths {
                for w in run.windows(n) {
                    assert!(
                        !set.contains(w),
                        "a row of {table} holds {:?} in clear: {row}",
                        String::from_utf8_lossy(w)
                    );
                }
            }
        }
    }
}

async fn find_by(app: &TestApp, param: &str, value: &str) -> Vec<Value> {
    let (s, v) = app.get(&format!("/api/v1/residents?{param}={value}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().clone()
}

/// A resident made through the API in the demo county's first household, with an ID number
/// and a phone that the demo does not use.
async fn new_resident(app: &TestApp) -> (i64, String, String) {
    let plan = wangge_demo::demo_county(1);
    let taken: HashSet<&str> =
        plan.residents.iter().flat_map(|r| [Some(r.id_number.as_str()), r.phone.as_deref()]).flatten().collect();
    let (s, hh) = app.get("/api/v1/households?page_size=1").await;
    assert_eq!(s, StatusCode::OK, "{hh}");
    let household = hh["items"][0]["id"].as_i64().unwrap();
    let idn = (1..999).map(|seq| id_number("1958-11-23", seq, false)).find(|i| !taken.contains(i.as_str())).unwrap();
    let phone = "13759412468".to_string();
    assert!(!taken.contains(phone.as_str()) && !taken.contains("18859401357"));
    let (s, r) = app
        .post(
            "/api/v1/residents",
            json!({"household_id": household, "name": "陈秀兰", "id_number": idn, "phone": phone, "relation": "other"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["id_number_masked"], format!("**************{}", &idn[14..]));
    assert_eq!(r["phone_masked"], "*******2468");
    (r["id"].as_i64().unwrap(), idn, phone)
}

async fn personal_numbers_are_sealed_at_rest(app: TestApp) {
    let app = app.with_demo().await;
    let plan = wangge_demo::demo_county(1);
    let mut secrets: HashSet<String> = plan.residents.iter().map(|r| r.id_number.clone()).collect();
    secrets.extend(plan.residents.iter().filter_map(|r| r.phone.clone()));
    let (id, idn, phone) = new_resident(&app).await;
    secrets.insert(idn.clone());
    secrets.insert(phone.clone());

    // No table holds any of the numbers in clear, whole or inside another value.
    let probe = [("probe".to_string(), format!("7|v1:AbC|{}|2026-01-01", &idn))];
    assert!(std::panic::catch_unwind(|| assert_no_secret_in(&probe, &secrets)).is_err(), "the check finds a number");
    let rows = all_rows(&app).await;
    assert!(rows.iter().filter(|(t, _)| t == "residents").count() > plan.residents.len());
    assert_no_secret_in(&rows, &secrets);
    let sealed: Vec<String> =
        sqlx::query_scalar("SELECT id_number_sealed FROM residents").fetch_all(app.store.pool()).await.unwrap();
    assert_eq!(sealed.len(), plan.residents.len() + 1);
    assert!(sealed.iter().all(|v| v.starts_with("v1:")));
    assert_eq!(sealed.iter().collect::<HashSet<_>>().len(), sealed.len(), "each value has its own nonce");

    // Exact search still finds them, by keyed hash: the one made here and demo residents
    // (whose numbers went in through the bulk loader).
    let found = find_by(&app, "id_number", &idn).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], id);
    assert_eq!(find_by(&app, "phone", &phone).await.len(), 1);
    for r in plan.residents.iter().step_by(plan.residents.len() / 7) {
        let found = find_by(&app, "id_number", &r.id_number).await;
        assert_eq!(found.len(), 1, "{}", r.id_number);
        assert_eq!(found[0]["name"], r.name.as_str());
        assert_eq!(found[0]["id_number_masked"], format!("**************{}", &r.id_number[14..]));
        if let Some(p) = &r.phone {
            assert!(find_by(&app, "phone", p).await.iter().any(|f| f["id"] == found[0]["id"]), "{p}");
        }
        // The bulk-sealed values open with the server's key.
        let rid = found[0]["id"].as_i64().unwrap();
        let (s, v) = app.post(&format!("/api/v1/residents/{rid}/reveal"), json!({"purpose": "核对户籍信息"})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v, json!({"id": rid, "id_number": r.id_number, "phone": r.phone}));
    }

    // The consistency check of sex and birth date against the stored (sealed) ID number.
    let (s, e) = app.patch(&format!("/api/v1/residents/{id}"), json!({"sex": "male"})).await;
    assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("sex")), "{e}");
    let (s, e) = app.patch(&format!("/api/v1/residents/{id}"), json!({"birth_date": "1958-11-24"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // A new phone is sealed too; the old one no longer finds the resident.
    let (s, r) = app.patch(&format!("/api/v1/residents/{id}"), json!({"phone": "18859401357", "sex": "female"})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["phone_masked"], "*******1357");
    assert!(find_by(&app, "phone", &phone).await.is_empty());
    assert_eq!(find_by(&app, "phone", "18859401357").await.len(), 1);
    secrets.insert("18859401357".into());
    assert_no_secret_in(&all_rows(&app).await, &secrets);
    let (_, v) = app.post(&format!("/api/v1/residents/{id}/reveal"), json!({"purpose": "回访"})).await;
    assert_eq!(v, json!({"id": id, "id_number": idn, "phone": "18859401357"}));
    // Removing the numbers removes the sealed values with them.
    let (s, r) = app.patch(&format!("/api/v1/residents/{id}"), json!({"phone": null, "id_number": null})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!((r["phone_masked"].as_str(), r["id_number_masked"].as_str()), (None, None));
    let (_, v) = app.post(&format!("/api/v1/residents/{id}/reveal"), json!({"purpose": "回访"})).await;
    assert_eq!(v, json!({"id": id, "id_number": null, "phone": null}));
}

async fn reveals_need_a_purpose_and_are_logged(app: TestApp) {
    let app = app.with_demo().await;
    let (id, idn, phone) = new_resident(&app).await;
    let reveal = format!("/api/v1/residents/{id}/reveal");
    let readers = format!("/api/v1/residents/{id}/readers");
    let audit_count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_events WHERE action = 'reveal'")
            .fetch_one(app.store.pool())
            .await
            .unwrap()
    };

    // Without a purpose (absent, blank or too long): refused, and nothing is logged.
    for body in [json!({}), json!({"purpose": ""}), json!({"purpose": "  \n"}), json!({"purpose": "查".repeat(201)})] {
        let (s, e) = app.post(&reveal, body.clone()).await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("purpose")),
            "{body}: {e}"
        );
        assert!(e.to_string().find(&idn).is_none());
    }
    assert_eq!(audit_count().await, 0);
    let (s, v) = app.get(&readers).await;
    assert_eq!((s, v), (StatusCode::OK, json!([])));
    let (s, _) = app.post("/api/v1/residents/99999999/reveal", json!({"purpose": "核实"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get("/api/v1/residents/99999999/readers").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // With one: the clear numbers, and an audit event with the purpose.
    let (s, v) = app.post(&reveal, json!({"purpose": "办理低保申请，需核对身份证"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"id": id, "id_number": idn, "phone": phone}));
    let (s, v) = app.post(&reveal, json!({"purpose": "  电话回访  "})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(audit_count().await, 2);

    // The resident's "who read my record" list: newest first, with each purpose.
    let (s, v) = app.get(&readers).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let events = v.as_array().unwrap();
    assert_eq!(events.len(), 2, "{v}");
    assert_eq!(events[0]["purpose"], "电话回访");
    assert_eq!(events[1]["purpose"], "办理低保申请，需核对身份证");
    for e in events {
        assert_eq!(
            (e["action"].as_str(), e["entity"].as_str(), e["entity_id"].as_i64()),
            (Some("reveal"), Some("resident"), Some(id))
        );
        assert!(e["at"].as_str().is_some_and(|a| !a.is_empty()));
    }
    assert!(events[0]["id"].as_i64() > events[1]["id"].as_i64());
    // Another resident's list does not show them.
    let (_, others) = app.get("/api/v1/residents?page_size=1").await;
    let other = others["items"][0]["id"].as_i64().unwrap();
    assert_ne!(other, id);
    let (_, v) = app.get(&format!("/api/v1/residents/{other}/readers")).await;
    assert_eq!(v, json!([]));

    // A post without the right is refused (403), and one outside the resident's subtree does
    // not find it (404); neither is logged.
    let unit_chief = Caller::for_post(1, 1, PostKind::UnitChief, Scope::everything());
    let e = app.store.reveal_resident(&unit_chief, id, "核实").await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden { .. }), "{e:?}");
    let elsewhere = Caller::for_post(1, 1, PostKind::GridMember, Scope::subtree("/999999/"));
    let e = app.store.reveal_resident(&elsewhere, id, "核实").await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
    assert_eq!(audit_count().await, 2);
}

/// A bearer token of a new account holding a post of `kind` at `area`.
async fn token_of(app: &TestApp, login: &str, kind: &str, area: i64) -> String {
    let (_, post) = person(app, login, kind, area).await;
    let (s, t) = app.post("/api/v1/tokens", json!({"post_id": post, "name": login})).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t["token"].as_str().unwrap().to_string()
}

async fn posts_see_what_they_need(app: TestApp) {
    let [_, _, _, grid, unit] = small_tree(&app).await;
    let (s, hh) = app
        .post(
            "/api/v1/households",
            json!({"unit_id": unit, "code": "350999101001001001000101", "address": "圣泉路2号"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hh}");
    let idn = id_number("1948-06-30", 21, true);
    let (s, r) = app
        .post(
            "/api/v1/residents",
            json!({"household_id": hh["id"], "name": "黄德明", "id_number": idn, "phone": "13905947788",
                   "relation": "head", "tags": ["party_member", "low_income", "lonely_elderly"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["tags"], json!(["lonely_elderly", "low_income", "party_member"]));
    let id = r["id"].as_i64().unwrap();

    let chief = token_of(&app, "lin.unit", "unit_chief", unit).await;
    let member = token_of(&app, "wu.grid", "grid_member", grid).await;
    let grid_chief = token_of(&app, "zhang.grid", "grid_chief", grid).await;
    let as_ = |token: &str, method: Method, path: String, body: Option<Value>| {
        let token = token.to_string();
        let app = &app;
        async move { app.call_as(Some(&token), method, &path, body).await }
    };

    // A unit chief may not reveal: 403, nothing logged. A grid member may, with a purpose.
    let (s, e) =
        as_(&chief, Method::POST, format!("/api/v1/residents/{id}/reveal"), Some(json!({"purpose": "核实"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert!(!e.to_string().contains(&idn));
    let (s, v) =
        as_(&member, Method::POST, format!("/api/v1/residents/{id}/reveal"), Some(json!({"purpose": "入户走访"})))
            .await;
    assert_eq!((s, &v["id_number"]), (StatusCode::OK, &json!(idn)), "{v}");
    let (_, readers) = app.get(&format!("/api/v1/residents/{id}/readers")).await;
    assert_eq!(readers.as_array().map(Vec::len), Some(1), "{readers}");
    assert_eq!(readers[0]["purpose"], "入户走访");
    assert!(readers[0]["account_id"].as_i64().is_some() && readers[0]["post_id"].as_i64().is_some(), "{readers}");

    // Sensitive tags: hidden from posts without the right, in the resident, its list, its tag
    // history; filtering or writing by them is refused.
    for (token, sees) in [(&chief, false), (&member, false), (&grid_chief, true)] {
        let expected =
            if sees { json!(["lonely_elderly", "low_income", "party_member"]) } else { json!(["party_member"]) };
        let (s, v) = as_(token, Method::GET, format!("/api/v1/residents/{id}"), None).await;
        assert_eq!((s, &v["tags"]), (StatusCode::OK, &expected), "{v}");
        let (_, v) = as_(token, Method::GET, format!("/api/v1/residents?household_id={}", hh["id"]), None).await;
        assert_eq!(v["items"][0]["tags"], expected, "{v}");
        let (_, v) = as_(token, Method::GET, format!("/api/v1/residents/{id}/tags"), None).await;
        assert_eq!(v.as_array().map(Vec::len), Some(if sees { 3 } else { 1 }), "{v}");
        let (s, v) = as_(token, Method::GET, "/api/v1/residents?tag=low_income".into(), None).await;
        if sees {
            assert_eq!((s, v["total"].as_i64()), (StatusCode::OK, Some(1)), "{v}");
        } else {
            assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        }
        let (s, v) = as_(token, Method::GET, "/api/v1/residents?tag=party_member".into(), None).await;
        assert_eq!((s, v["total"].as_i64()), (StatusCode::OK, Some(1)), "{v}");
    }
    let before = app.row_counts().await;
    let (s, e) =
        as_(&chief, Method::POST, format!("/api/v1/residents/{id}/tags"), Some(json!({"tag": "disabled"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (s, e) = as_(&chief, Method::DELETE, format!("/api/v1/residents/{id}/tags/low_income"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (s, e) = as_(
        &chief,
        Method::POST,
        "/api/v1/residents".into(),
        Some(json!({"household_id": hh["id"], "name": "黄小梅", "tags": ["left_behind_child"]})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(app.row_counts().await, before);
    // Ordinary tags and edits still work for the unit chief, and its answers stay stripped.
    let (s, v) =
        as_(&chief, Method::POST, format!("/api/v1/residents/{id}/tags"), Some(json!({"tag": "veteran"}))).await;
    assert_eq!((s, &v["tags"]), (StatusCode::OK, &json!(["party_member", "veteran"])), "{v}");
    let (s, v) = as_(&chief, Method::PATCH, format!("/api/v1/residents/{id}"), Some(json!({"status": "away"}))).await;
    assert_eq!((s, &v["tags"]), (StatusCode::OK, &json!(["party_member", "veteran"])), "{v}");
}
