//! Sign-in through HTTP: Argon2id hashes, cookies and CSRF, session expiry, sign-out, disabled
//! accounts, API token revocation, throttling; and the coverage gaps that come from posts.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::areas::small_tree;
use crate::{DEMO_PASSWORD, TestApp};

crate::on_both_engines!(
    sessions_and_tokens,
    sign_in_is_throttled,
    coverage_comes_from_posts,
    sensitive_tags_are_protected
);

/// A browser-like client: the session cookie and the CSRF token.
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

pub async fn sign_in(app: &TestApp, login: &str, password: &str) -> (StatusCode, Option<Browser>, Value) {
    let resp = app
        .client
        .post(format!("{}/api/v1/session", app.base))
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let set_cookie = resp.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_string());
    let body: Value = resp.json().await.unwrap();
    let browser = set_cookie.map(|c| Browser {
        cookie: c.split(';').next().unwrap().to_string(),
        csrf: body["csrf_token"].as_str().unwrap_or_default().to_string(),
    });
    (status, browser, body)
}

impl Browser {
    pub async fn call(
        &self,
        app: &TestApp,
        method: Method,
        path: &str,
        body: Option<Value>,
        csrf: bool,
    ) -> (StatusCode, Value) {
        let mut req = app.client.request(method, format!("{}{path}", app.base)).header("cookie", &self.cookie);
        if csrf {
            req = req.header("x-csrf-token", &self.csrf);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let s = resp.status();
        let text = resp.text().await.unwrap();
        (s, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

/// Creates an account with a password and appoints it; returns (account id, post id).
pub async fn person(app: &TestApp, login: &str, kind: &str, area: i64) -> (i64, i64) {
    let (s, a) = app
        .post("/api/v1/accounts", json!({"login": login, "display_name": login, "password": "a-good-password"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let account = a["account"]["id"].as_i64().unwrap();
    let (s, p) = app.post("/api/v1/posts", json!({"account_id": account, "area_id": area, "kind": kind})).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    (account, p["id"].as_i64().unwrap())
}

async fn sessions_and_tokens(app: TestApp) {
    let [_, town, community, grid, unit] = small_tree(&app).await;
    let (account, post) = person(&app, "wang.grid", "grid_chief", grid).await;

    // The password is stored as an Argon2id hash, never in clear.
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM accounts WHERE id = $1")
        .bind(account)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains("a-good-password"));

    let (s, _, e) = sign_in(&app, "wang.grid", "a-wrong-password").await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("wrong_credentials")));
    let resp = app
        .client
        .post(format!("{}/api/v1/session", app.base))
        .json(&json!({"login": "wang.grid", "password": "a-good-password"}))
        .send()
        .await
        .unwrap();
    let set_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict") && set_cookie.contains("Secure"),
        "{set_cookie}"
    );
    let (s, Some(b), view) = sign_in(&app, "Wang.Grid", "a-good-password").await else { panic!("no cookie") };
    assert_eq!(s, StatusCode::OK);
    assert_eq!(view["post_id"], post);
    assert_eq!(view["posts"][0]["kind"], "grid_chief");

    // The session acts as the grid chief: its grid, not the community.
    let (s, _) = b.call(&app, Method::GET, &format!("/api/v1/areas/{grid}/summary"), None, false).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = b.call(&app, Method::GET, &format!("/api/v1/areas/{community}"), None, false).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, areas) = b.call(&app, Method::GET, "/api/v1/areas", None, false).await;
    assert_eq!(areas["total"], 2, "the grid and its unit: {areas}");
    // A changing request needs the CSRF token as well as the cookie.
    let body = json!({"parent_id": grid, "code": "350999101001001002", "name": "2单元"});
    let (s, e) = b.call(&app, Method::POST, "/api/v1/areas", Some(body.clone()), false).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("csrf")));
    let (s, created) = b.call(&app, Method::POST, "/api/v1/areas", Some(body), true).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    // Its write is in the audit, with who did it.
    let (_, audit) = app.get(&format!("/api/v1/audit?entity=area&entity_id={}", created["id"])).await;
    assert_eq!(audit["items"][0]["account_id"], account);
    assert_eq!(audit["items"][0]["post_id"], post);
    // A grid chief grants only what it holds: not an admin post, and only inside its grid.
    let (other, other_post) = person(&app, "li.unit", "unit_chief", unit).await;
    let (s, _) = b
        .call(
            &app,
            Method::POST,
            "/api/v1/posts",
            Some(json!({"account_id": other, "area_id": grid, "kind": "admin"})),
            true,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = b
        .call(
            &app,
            Method::POST,
            "/api/v1/posts",
            Some(json!({"account_id": other, "area_id": town, "kind": "party_secretary"})),
            true,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Sign-out ends the session.
    let (s, _) = b.call(&app, Method::DELETE, "/api/v1/session", None, true).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, e) = b.call(&app, Method::GET, "/api/v1/areas", None, false).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("sign_in_required")));

    // Disabling an account ends its sessions.
    let (_, Some(b2), _) = sign_in(&app, "wang.grid", "a-good-password").await else { panic!() };
    let (s, _) = b2.call(&app, Method::GET, "/api/v1/areas", None, false).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.post(&format!("/api/v1/accounts/{account}/disable"), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = b2.call(&app, Method::GET, "/api/v1/areas", None, false).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = sign_in(&app, "wang.grid", "a-good-password").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // API tokens: bound to a post, revocable, stored hashed.
    let (s, t) = app.post("/api/v1/tokens", json!({"post_id": other_post, "name": "unit app"})).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let token = t["token"].as_str().unwrap().to_string();
    let stored: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM api_tokens WHERE token_hash = '{token}'"
    )))
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(stored, 0, "tokens are kept hashed");
    let (s, _) = app.call_as(Some(&token), Method::GET, &format!("/api/v1/areas/{unit}"), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.call_as(Some(&token), Method::GET, &format!("/api/v1/areas/{grid}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a unit chief's token sees its unit only");
    let (s, _) = app.call(Method::DELETE, &format!("/api/v1/tokens/{}", t["id"]), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, e) = app.call_as(Some(&token), Method::GET, &format!("/api/v1/areas/{unit}"), None).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("bad_token")));
    let (s, _) = app.call_as(None, Method::GET, "/api/v1/areas", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn sign_in_is_throttled(app: TestApp) {
    let [_, _, _, grid, _] = small_tree(&app).await;
    person(&app, "zhao.grid", "grid_chief", grid).await;
    for _ in 0..5 {
        let (s, _, _) = sign_in(&app, "zhao.grid", "not-the-password").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    // Even the right password waits now.
    let (s, _, e) = sign_in(&app, "zhao.grid", "a-good-password").await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("throttled")));
    // Per address: many logins tried from one address.
    for i in 0..15 {
        let (s, _, _) = sign_in(&app, &format!("nobody{i}"), "whatever-pass").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (s, _, _) = sign_in(&app, "root", crate::ROOT_PASSWORD).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_sqlite() {
    sessions_expire(TestApp::sqlite_with_ttl(1).await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_postgres() {
    if let Some(app) = TestApp::postgres_with_ttl(1).await {
        sessions_expire(app).await
    }
}

async fn sessions_expire(app: TestApp) {
    let (s, Some(b), _) = sign_in(&app, "root", crate::ROOT_PASSWORD).await else { panic!("no session") };
    assert_eq!(s, StatusCode::OK);
    let (s, _) = b.call(&app, Method::GET, "/api/v1/session", None, false).await;
    assert_eq!(s, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let (s, e) = b.call(&app, Method::GET, "/api/v1/session", None, false).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("sign_in_required")));
}

async fn coverage_comes_from_posts(app: TestApp) {
    let app = app.with_demo().await;
    let id = app.area_id("圣泉社区").await;
    let (_, sum) = app.get(&format!("/api/v1/areas/{id}/summary")).await;
    let units_gap = sum["coverage"]["units_without_unit_chief"].as_i64().unwrap();
    assert!(units_gap > 0 && units_gap < 25, "some units lack a chief on purpose: {sum}");
    let (_, chiefs) = app.get(&format!("/api/v1/posts?area_id={id}&kind=unit_chief&page_size=200")).await;
    assert_eq!(chiefs["total"].as_i64().unwrap() + units_gap, 25);
    // The demo's people sign in with the demo password; a unit chief is a resident of the unit.
    let login = format!("station-{}", "350322100001");
    let (s, Some(b), view) = sign_in(&app, &login, DEMO_PASSWORD).await else { panic!("station chief signs in") };
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(view["posts"][0]["area_id"], id);
    // Filling a gap closes it.
    let (_, units) = app.get(&format!("/api/v1/areas?within={id}&level=unit&page_size=200")).await;
    let (_, held) = app.get(&format!("/api/v1/posts?area_id={id}&kind=unit_chief&page_size=200")).await;
    let held: Vec<i64> = held["items"].as_array().unwrap().iter().map(|p| p["area_id"].as_i64().unwrap()).collect();
    let vacant = units["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .find(|u| !held.contains(u))
        .unwrap();
    let (_, a) = b
        .call(
            &app,
            Method::POST,
            "/api/v1/accounts",
            Some(json!({"login": "new.unit", "display_name": "新单元长"})),
            true,
        )
        .await;
    assert!(a["one_time_password"].as_str().is_some_and(|p| p.len() >= 10), "{a}");
    let (s, p) = b
        .call(
            &app,
            Method::POST,
            "/api/v1/posts",
            Some(json!({"account_id": a["account"]["id"], "area_id": vacant, "kind": "unit_chief"})),
            true,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let (_, after) = app.get(&format!("/api/v1/areas/{id}/summary")).await;
    assert_eq!(after["coverage"]["units_without_unit_chief"].as_i64().unwrap(), units_gap - 1);
    // One primary holder per area and kind.
    let (s, e) = b
        .call(
            &app,
            Method::POST,
            "/api/v1/posts",
            Some(json!({"account_id": a["account"]["id"], "area_id": vacant, "kind": "unit_chief"})),
            true,
        )
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("post_held")));
    // Ending the post reopens the gap and keeps the history.
    let (s, _) = b.call(&app, Method::POST, &format!("/api/v1/posts/{}/end", p["id"]), Some(json!({})), true).await;
    assert_eq!(s, StatusCode::OK);
    let (_, again) = app.get(&format!("/api/v1/areas/{id}/summary")).await;
    assert_eq!(again["coverage"]["units_without_unit_chief"].as_i64().unwrap(), units_gap);
    let (_, hist) = app.get(&format!("/api/v1/posts?area_id={vacant}&include_ended=true")).await;
    assert_eq!(hist["total"], 1);
}

async fn sensitive_tags_are_protected(app: TestApp) {
    let app = app.with_demo().await;
    let sensitive = ["low_income", "disabled", "left_behind_child", "lonely_elderly", "empty_nest_elderly"];
    let id = app.area_id("圣泉社区").await;
    let (_, posts) = app.get(&format!("/api/v1/posts?area_id={id}&kind=unit_chief&page_size=200")).await;
    let mut hidden_somewhere = false;
    for post in posts["items"].as_array().unwrap() {
        let unit = post["area_id"].as_i64().unwrap();
        let (_, full) = app.get(&format!("/api/v1/areas/{unit}/summary")).await;
        // An administrator sees sensitive counts of 5 and more; smaller ones only as "<5".
        for (tag, n) in full["residents_by_tag"].as_object().unwrap() {
            if sensitive.contains(&tag.as_str()) {
                assert!(n.as_i64().unwrap() >= 5, "{tag} {n} shown in a unit");
            }
        }
        hidden_somewhere |= !full["residents_by_tag_under_5"].as_array().unwrap().is_empty();
    }
    assert!(hidden_somewhere, "some unit of the demo has a small sensitive count");
    // A unit chief sees no sensitive tag at all, even in their own unit.
    let post = &posts["items"][0];
    let (_, t) = app.post("/api/v1/tokens", json!({"post_id": post["id"], "name": "unit phone"})).await;
    let token = t["token"].as_str().unwrap();
    let (s, v) =
        app.call_as(Some(token), Method::GET, &format!("/api/v1/areas/{}/summary", post["area_id"]), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["residents_by_tag"].as_object().unwrap().keys().all(|k| !sensitive.contains(&k.as_str())), "{v}");
    assert!(v["residents_by_tag_under_5"].as_array().unwrap().is_empty());
    // The community's station chief sees the community's sensitive counts.
    let (_, community) = app.get(&format!("/api/v1/areas/{id}/summary")).await;
    assert!(community["residents_by_tag"]["low_income"].as_i64().unwrap() > 0);
}
