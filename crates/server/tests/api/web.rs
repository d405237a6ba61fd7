//! The web pages over plain HTTP, on both engines: every page and form of a record of another
//! grid answers a grid chief with 403 and changes nothing; forms check their input and the
//! session's CSRF token; errors, languages and headers.

use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use wangge_core::{Level, PostKind, Scope};
use wangge_store::{AreaFilter, HouseholdFilter, Page, PostFilter};

use crate::{DEMO_PASSWORD, TestApp, id_number};

crate::on_both_engines!(web_pages_stay_inside_the_grid, web_forms_check_input_and_csrf, web_speaks_both_languages);

/// A signed-in browser without redirects followed, so that each answer is seen as sent.
pub struct Web {
    pub client: Client,
    pub base: String,
    pub cookie: String,
    pub csrf: String,
}

impl Web {
    pub async fn sign_in(app: &TestApp, login: &str) -> Web {
        let client = Client::builder().redirect(Policy::none()).build().unwrap();
        let resp = client
            .post(format!("{}/sign-in", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("login={login}&password={DEMO_PASSWORD}&next=%2Fhome"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(resp.headers()["location"], "/home");
        let cookie = resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let session = app.store.session(cookie.split_once('=').unwrap().1).await.unwrap().expect("a session");
        Web { client, base: app.base.clone(), cookie, csrf: session.csrf_token }
    }

    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let resp = self.client.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await.unwrap();
        (resp.status(), resp.text().await.unwrap())
    }

    /// Posts a form; `csrf` adds the session's token.
    pub async fn post(&self, path: &str, form: &[(&str, &str)], csrf: bool) -> (StatusCode, String) {
        let mut pairs: Vec<(String, String)> = form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if csrf {
            pairs.push(("csrf".into(), self.csrf.clone()));
        }
        let body = pairs.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect::<Vec<_>>().join("&");
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        (resp.status(), resp.text().await.unwrap())
    }
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A demo grid chief, and records of their grid and of another.
struct Targets {
    login: String,
    own_household: i64,
    own_grid: i64,
    household: i64,
    house: i64,
    resident: i64,
    resident_name: String,
    grid: i64,
    unit: i64,
    household_code: String,
}

async fn targets(app: &TestApp) -> Targets {
    let all = Scope::everything();
    let page = Page::new(Some(1), Some(200)).unwrap();
    let pf = PostFilter { kind: Some(PostKind::GridChief), ..Default::default() };
    let post = app.store.list_posts(&all, &pf, page).await.unwrap().items.remove(0);
    let login = app.store.account(post.account_id).await.unwrap().login;
    let own_grid = post.area_id.unwrap();
    let own = HouseholdFilter { within: Some(own_grid), ..Default::default() };
    let own_household = app.store.list_households(&all, &own, page).await.unwrap().items[0].id;
    let grid_path = app.store.area(&all, own_grid).await.unwrap().path;
    let gf = AreaFilter { level: Some(Level::Grid), ..Default::default() };
    let grids = app.store.list_areas(&all, &gf, page).await.unwrap().items;
    let other = grids.iter().find(|g| g.path != grid_path).expect("another grid");
    let hf = HouseholdFilter { within: Some(other.id), ..Default::default() };
    let h =
        app.store.list_households(&all, &hf, page).await.unwrap().items.into_iter().find(|h| h.members > 0).unwrap();
    let members = app.store.household_members(&all, h.id).await.unwrap();
    Targets {
        login,
        own_household,
        own_grid,
        household: h.id,
        house: h.house_id.unwrap(),
        resident: members[0].resident_id,
        resident_name: members[0].name.clone(),
        grid: other.id,
        unit: h.unit_id,
        household_code: h.code.clone(),
    }
}

async fn audit_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_events").fetch_one(app.store.pool()).await.unwrap()
}

async fn web_pages_stay_inside_the_grid(app: TestApp) {
    let app = app.with_demo().await;
    let t = targets(&app).await;
    let web = Web::sign_in(&app, &t.login).await;

    // The chief's own records open, so the refusals below are about scope, not a broken page.
    for path in [
        "/home".to_string(),
        format!("/households/{}", t.own_household),
        format!("/areas/{}", t.own_grid),
        format!("/areas/{}/dashboard", t.own_grid),
        format!("/households?area={}", t.own_grid),
    ] {
        let (s, body) = web.get(&path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {body}");
    }

    // A topic of the other grid, for the living-room pages below.
    let new = wangge_store::NewTopic {
        area_id: t.grid,
        title: "外网格的议题".into(),
        description: "别的网格的事".into(),
        raised_by_resident_id: None,
        threshold: Some(2),
    };
    let topic = app.store.raise_topic(&wangge_core::Caller::system(), new).await.unwrap().id;
    let before = (app.row_counts().await, audit_rows(&app).await, room_rows(&app).await);
    let gets = [
        format!("/topics/{topic}"),
        format!("/households/{}/visits", t.household),
        format!("/households/{}", t.household),
        format!("/households/{}/edit", t.household),
        format!("/households/new?house={}", t.house),
        format!("/households?area={}", t.grid),
        format!("/houses/{}", t.house),
        format!("/houses?area={}", t.grid),
        format!("/residents/{}", t.resident),
        format!("/residents/{}/edit", t.resident),
        format!("/residents/{}/move", t.resident),
        format!("/residents/new?household={}", t.household),
        format!("/residents?area={}", t.grid),
        format!("/areas/{}", t.grid),
        format!("/areas/{}", t.unit),
        format!("/areas/{}/dashboard", t.grid),
        format!("/areas/{}/gaps?level=unit", t.grid),
        format!("/areas/{}/appoint", t.unit),
    ];
    for path in &gets {
        let (s, body) = web.get(path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "GET {path}");
        assert!(body.contains("无权访问"), "GET {path} shows the 403 page: {body}");
        assert!(!body.contains(&t.resident_name), "GET {path} shows nothing of the record");
    }
    let household = t.household.to_string();
    let house = t.house.to_string();
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/households/{}/edit", t.household), vec![("address", "改写的地址")]),
        ("/households/new".into(), vec![("house", &house), ("code", "1"), ("address", "x")]),
        (format!("/residents/{}/edit", t.resident), vec![("name", "改名"), ("status", "away")]),
        (format!("/residents/{}/move", t.resident), vec![("household_code", &t.household_code)]),
        (format!("/residents/{}/reveal", t.resident), vec![("purpose", "看看")]),
        ("/residents/new".into(), vec![("household", &household), ("name", "外人")]),
        (format!("/areas/{}/appoint", t.unit), vec![("kind", "unit_chief"), ("login", &t.login)]),
        (format!("/households/{}/visits", t.household), vec![("found", "看看"), ("case_category", "dirty_road")]),
        (format!("/topics/{topic}/support"), vec![]),
    ];
    for (path, form) in &posts {
        let (s, _) = web.post(path, form, true).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "POST {path}");
    }
    // Searching by name does not find them either.
    let (s, body) = web.get(&format!("/residents?q={}", enc(&t.resident_name))).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!body.contains(&format!("/residents/{}\"", t.resident)), "the list is scoped");
    // Nor does the topics list.
    let (s, body) = web.get("/topics").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!body.contains(&format!("/topics/{topic}\"")), "the topics are scoped");
    let after = (app.row_counts().await, audit_rows(&app).await, room_rows(&app).await);
    assert_eq!(after, before, "nothing was written or revealed");
}

/// The rows of the living rooms' records a refused page or form must not add.
async fn room_rows(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for t in ["topics", "topic_supports", "visits", "cases", "inbox_items"] {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {t}")))
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        out.push(n);
    }
    out
}

async fn web_forms_check_input_and_csrf(app: TestApp) {
    let app = app.with_demo().await;
    let t = targets(&app).await;
    let web = Web::sign_in(&app, &t.login).await;
    let before = app.row_counts().await;
    let household = t.own_household.to_string();
    let good = id_number("1988-02-29", 7, true);
    let bad = format!("{}{}", &good[..17], if good.ends_with('0') { '1' } else { '0' });

    // A bad ID number: 422, the message by the field, the typed name kept, nothing written.
    let form = [("household", household.as_str()), ("name", "陈新来"), ("id_number", bad.as_str())];
    let (s, body) = web.post("/residents/new", &form, true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains(r#"id="id_number-error""#) && body.contains("身份证号码不正确"), "{body}");
    assert!(body.contains(r#"value="陈新来""#));
    // A bad phone, and a missing name.
    let form = [("household", household.as_str()), ("name", "陈新来"), ("phone", "12345")];
    let (s, body) = web.post("/residents/new", &form, true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains(r#"id="phone-error""#), "{body}");
    let (s, body) = web.post("/residents/new", &[("household", household.as_str()), ("name", " ")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains(r#"id="name-error""#));
    // Without the CSRF token: refused.
    let form = [("household", household.as_str()), ("name", "陈新来"), ("id_number", good.as_str())];
    let (s, _) = web.post("/residents/new", &form, false).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Another grid's resident cannot be revealed, purpose or not.
    let (s, body) = web.post(&format!("/residents/{}/reveal", t.resident), &[("purpose", "")], true).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another grid's resident: {body}");
    assert_eq!(app.row_counts().await, before, "nothing was written");

    // The good form saves and leads to the new resident.
    let resp = web
        .client
        .post(format!("{}/residents/new", app.base))
        .header("cookie", &web.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("household={household}&name={}&id_number={good}&csrf={}", enc("陈新来"), web.csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let (s, body) = web.get(&location).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("陈新来") && body.contains("1988-02-29"), "{body}");
    let id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    // Revealing needs a purpose; with one, the number shows and the look is logged.
    let (s, body) = web.post(&format!("/residents/{id}/reveal"), &[("purpose", " ")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains(r#"id="purpose-error""#));
    let (s, body) = web.post(&format!("/residents/{id}/reveal"), &[("purpose", "核对身份")], true).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(&good), "the number in clear");
    assert_eq!(app.store.resident_readers(&Scope::everything(), id).await.unwrap().len(), 1);
    app.assert_stats_consistent().await;

    // Wrong password: the form again with a message; unknown pages: the 404 page; the API keeps JSON.
    let anon = Client::builder().redirect(Policy::none()).build().unwrap();
    let resp = anon
        .post(format!("{}/sign-in", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("login={}&password=wrong", t.login))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.text().await.unwrap().contains("账号或密码不对"));
    let resp = anon.get(format!("{}/households/1", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "pages ask to sign in");
    assert_eq!(resp.headers()["location"], "/sign-in?next=/households/1");
    let (s, body) = web.get("/no/such/page").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body.contains("找不到页面"));
    let resp = anon.get(format!("{}/api/v1/no-such-route", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let (s, _) = web.get("/households/999999999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn web_speaks_both_languages(app: TestApp) {
    let app = app.with_demo().await;
    let t = targets(&app).await;
    let web = Web::sign_in(&app, &t.login).await;
    let resp = web
        .client
        .get(format!("{}/home", app.base))
        .header("cookie", &web.cookie)
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    let headers = resp.headers().clone();
    let body = resp.text().await.unwrap();
    assert!(body.contains(r#"<html lang="en">"#) && body.contains("Sign out"));
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert_eq!(headers["cache-control"], "private, no-store");
    // The switch's cookie wins over the browser's languages.
    let resp = web
        .client
        .get(format!("{}/home", app.base))
        .header("cookie", format!("{}; wangge_lang=zh-CN", web.cookie))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let body = resp.text().await.unwrap();
    assert!(body.contains(r#"<html lang="zh-CN">"#) && body.contains("退出登录"));
    // The stylesheet is cached for a year under its hashed name; other names are 404.
    let css = body.split("href=\"/static/app.").nth(1).unwrap().split('"').next().unwrap();
    let resp = web.client.get(format!("{}/static/app.{css}", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let resp = web.client.get(format!("{}/static/app.0000000000.css", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // The switch goes back to the page, and never to another site.
    let resp = web.client.get(format!("{}/lang?to=en&next=//evil.example/", app.base)).send().await.unwrap();
    assert_eq!(resp.headers()["location"], "/home");
    assert!(resp.headers()["set-cookie"].to_str().unwrap().starts_with("wangge_lang=en"));
}

crate::on_both_engines!(web_one_time_password_is_changed_first);

/// An account given a one-time password is sent to change it before any other page.
async fn web_one_time_password_is_changed_first(app: TestApp) {
    let app = app.with_demo().await;
    let t = targets(&app).await;
    let account = app.store.account_by_login(&t.login).await.unwrap();
    let one_time = app.store.reset_password(&wangge_core::Caller::system(), account.id).await.unwrap();
    let client = Client::builder().redirect(Policy::none()).build().unwrap();
    let resp = client
        .post(format!("{}/sign-in", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("login={}&password={}", t.login, enc(&one_time)))
        .send()
        .await
        .unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let csrf = app.store.session(cookie.split_once('=').unwrap().1).await.unwrap().unwrap().csrf_token;
    let web = Web { client, base: app.base.clone(), cookie, csrf };
    let (s, _) = web.get("/households").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, body) = web.get("/password").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("一次性密码"));
    let form =
        [("old_password", one_time.as_str()), ("new_password", "a-new-password-1"), ("repeat", "another-one-22")];
    let (s, body) = web.post("/password", &form, true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains(r#"id="repeat-error""#));
    let form = [("old_password", one_time.as_str()), ("new_password", "short"), ("repeat", "short")];
    let (s, body) = web.post("/password", &form, true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains(r#"id="new_password-error""#), "{body}");
    let form =
        [("old_password", one_time.as_str()), ("new_password", "a-new-password-1"), ("repeat", "a-new-password-1")];
    let (s, body) = web.post("/password", &form, true).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(r#"id="password-changed""#));
    let (s, _) = web.get("/households").await;
    assert_eq!(s, StatusCode::OK, "the other pages open now");
}

crate::on_both_engines!(web_switches_posts_and_moves_residents);

/// One person with two posts switches between them; a resident moves to another household of
/// the grid by its code.
async fn web_switches_posts_and_moves_residents(app: TestApp) {
    let app = app.with_demo().await;
    let t = targets(&app).await;
    let account = app.store.account_by_login(&t.login).await.unwrap();
    // A second post: grid member of the other grid.
    let post = wangge_store::NewPost {
        account_id: account.id,
        area_id: Some(t.grid),
        kind: PostKind::GridMember,
        is_primary: false,
        title: None,
        started_on: None,
    };
    let second = app.store.appoint(&wangge_core::Caller::system(), post).await.unwrap();
    let web = Web::sign_in(&app, &t.login).await;
    let (_, body) = web.get("/home").await;
    assert!(body.contains(r#"id="post-switch""#) && body.contains(&format!(r#"value="{}""#, second.id)));
    let (s, _) = web.get(&format!("/households/{}", t.household)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "not through the first post");
    let (s, _) = web.post("/post", &[("post_id", &second.id.to_string())], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, body) = web.get(&format!("/households/{}", t.household)).await;
    assert_eq!(s, StatusCode::OK, "through the second post: {body}");
    let (s, _) = web.get(&format!("/households/{}", t.own_household)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "and no longer the first grid");
    // Someone else's post cannot be switched to.
    let (s, _) = web.post("/post", &[("post_id", "1")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Move a member of this household to another household of the same grid.
    let all = Scope::everything();
    let hf = HouseholdFilter { within: Some(t.grid), ..Default::default() };
    let page = Page::new(Some(1), Some(200)).unwrap();
    let to = app
        .store
        .list_households(&all, &hf, page)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|h| h.id != t.household)
        .unwrap();
    let path = format!("/residents/{}/move", t.resident);
    let (s, body) = web.post(&path, &[("household_code", "000"), ("relation", "child")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains(r#"id="household_code-error""#));
    let (s, _) = web.post(&path, &[("household_code", &to.code), ("relation", "child")], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let r = app.store.resident(&all, t.resident).await.unwrap();
    assert_eq!(r.household_id, to.id);
    app.assert_stats_consistent().await;
}
