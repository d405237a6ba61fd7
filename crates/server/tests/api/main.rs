//! One integration-test binary: every test starts the real server on port 0 over a fresh
//! database, and runs once on SQLite and once on PostgreSQL.

mod areas;
mod auth;
mod cases;
mod concurrency;
mod data;
mod exports;
mod ledger;
mod matrix;
mod mediations_web;
mod notices_web;
mod open311;
mod openapi;
mod party;
mod plates;
mod posts_import;
mod protected;
mod registry;
mod rooms;
mod rooms_web;
mod schema;
mod scope;
mod services;
mod services_web;
mod stars;
mod validation;
mod web;
mod web_cases;
mod web_imports;

use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use wangge_core::{Caller, PostKind};
use wangge_server::Config;
use wangge_store::{NewAccount, NewPost, Store, admin};

pub const ROOT_PASSWORD: &str = "root-password-1";
pub const DEMO_PASSWORD: &str = "demo-password-1";

/// Runs each named scenario `async fn name(app: TestApp)` on both engines, as
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::TestApp::sqlite().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::TestApp::postgres().await {
                    super::$name(app).await
                }
            }
        }
    )*};
}

pub enum Engine {
    Sqlite,
    Postgres,
}

/// Removes the test's database when the test ends, even by a panic.
enum Guard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { name: String },
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Postgres { name } = self {
            admin::drop_test_database(name);
        }
    }
}

pub struct TestApp {
    pub base: String,
    /// The bearer token of a deployment administrator, sent by `call` and its shorthands.
    pub token: String,
    pub client: Client,
    pub store: Store,
    pub engine: Engine,
    pub url: String,
    _guard: Guard,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh PostgreSQL database and its name, or `None` (with a note) when no server answers
/// and none is required.
pub async fn fresh_postgres() -> Option<(String, String)> {
    let name = format!("wangge_t{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
    Some((admin::fresh_test_database(&name).await?, name))
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        TestApp::sqlite_with_ttl(3600).await
    }

    pub async fn postgres() -> Option<TestApp> {
        TestApp::postgres_with_ttl(3600).await
    }

    /// With sessions that last `ttl` seconds.
    pub async fn sqlite_with_ttl(ttl: i64) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        TestApp::start(url, Engine::Sqlite, Guard::Sqlite(dir), ttl).await
    }

    pub async fn postgres_with_ttl(ttl: i64) -> Option<TestApp> {
        let (url, name) = fresh_postgres().await?;
        Some(TestApp::start(url, Engine::Postgres, Guard::Postgres { name }, ttl).await)
    }

    async fn start(url: String, engine: Engine, guard: Guard, ttl: i64) -> TestApp {
        let mut config = Config::for_database(url.clone());
        config.max_connections = 4;
        config.session_ttl_seconds = ttl;
        let app = wangge_server::build(&config).await.expect("the server starts");
        let base = format!("http://{}", app.local_addr());
        let store = app.store().clone();
        app.spawn();
        let system = Caller::system();
        let new = NewAccount {
            login: "root".into(),
            display_name: "Root".into(),
            password: Some(ROOT_PASSWORD.into()),
            ..NewAccount::default()
        };
        let (root, _) = store.create_account(&system, new).await.unwrap();
        let post = NewPost {
            account_id: root.id,
            area_id: None,
            kind: PostKind::Admin,
            is_primary: true,
            title: None,
            started_on: None,
        };
        let post = store.appoint(&system, post).await.unwrap();
        let (_, token) = store.create_api_token(&system, post.id, "tests").await.unwrap();
        TestApp { base, token, client: Client::new(), store, engine, url, _guard: guard }
    }

    /// Loads the demo county of the source article.
    pub async fn with_demo(self) -> TestApp {
        let plan = wangge_demo::demo_county(1);
        self.store.load_plan(&plan, &mut |_, _| {}).await.expect("the demo county loads");
        let county = self.area_id("仙游县").await;
        self.store.seed_demo_people(county, DEMO_PASSWORD).await.expect("the demo's people are appointed");
        self
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_as(Some(&self.token), method, path, body).await
    }

    /// A request with another bearer token, or none.
    pub async fn call_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// The id of the one area whose name is `name`.
    pub async fn area_id(&self, name: &str) -> i64 {
        let (s, v) = self.get(&format!("/api/v1/areas?q={name}")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let items = v["items"].as_array().unwrap();
        let found: Vec<_> = items.iter().filter(|a| a["name"] == name).collect();
        assert_eq!(found.len(), 1, "one area named {name}: {v}");
        found[0]["id"].as_i64().unwrap()
    }

    /// The login of the account that holds a post.
    pub async fn login_of(&self, post: i64) -> String {
        sqlx::query_scalar("SELECT a.login FROM posts p JOIN accounts a ON a.id = p.account_id WHERE p.id = $1")
            .bind(post)
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }

    /// The open primary post of a kind at an area.
    pub async fn post_at(&self, area: i64, kind: &str) -> Option<i64> {
        sqlx::query_scalar(
            "SELECT id FROM posts WHERE area_id = $1 AND kind = $2 AND ended_on IS NULL AND is_primary = 1",
        )
        .bind(area)
        .bind(kind)
        .fetch_optional(self.store.pool())
        .await
        .unwrap()
    }

    /// A new API token of a post.
    pub async fn post_token(&self, post: i64) -> String {
        self.store.create_api_token(&Caller::system(), post, "tests").await.unwrap().1
    }

    /// The units of a community (Shengquan in the scenarios) whose unit chief and grid chief are both in post and
    /// that have households, as `(unit, grid)` in code order: the staffed chains the case
    /// scenarios walk.
    pub async fn staffed_units(&self, community: i64) -> Vec<(i64, i64)> {
        let path: String = sqlx::query_scalar("SELECT path FROM areas WHERE id = $1")
            .bind(community)
            .fetch_one(self.store.pool())
            .await
            .unwrap();
        sqlx::query_as(
            "SELECT u.id AS unit, u.parent_id AS grid FROM areas u WHERE u.level = 'unit' AND u.path >= $1 AND u.path < $2 \
             AND EXISTS (SELECT 1 FROM posts p WHERE p.area_id = u.id AND p.kind = 'unit_chief' AND p.ended_on IS NULL) \
             AND EXISTS (SELECT 1 FROM posts p WHERE p.area_id = u.parent_id AND p.kind = 'grid_chief' AND p.ended_on IS NULL) \
             AND EXISTS (SELECT 1 FROM households h WHERE h.unit_id = u.id) ORDER BY u.path",
        )
        .bind(&path)
        .bind(format!("{}0", &path[..path.len() - 1]))
        .fetch_all(self.store.pool())
        .await
        .unwrap()
    }

    /// Row counts of every registry table, to prove that a refused request wrote nothing.
    pub async fn row_counts(&self) -> Vec<(String, i64)> {
        let mut out = Vec::new();
        for t in
            ["areas", "houses", "households", "residents", "memberships", "resident_tags", "area_stats", "tag_kinds"]
        {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {t}")))
                .fetch_one(self.store.pool())
                .await
                .unwrap();
            out.push((t.to_string(), n));
        }
        out
    }

    /// Fails when a maintained counter differs from a full recount.
    pub async fn assert_stats_consistent(&self) {
        let diffs = self.store.verify_stats().await.unwrap();
        assert!(diffs.is_empty(), "counters drifted: {diffs:#?}");
    }
}

/// A valid ID number for a birth date and sequence (the check digit computed).
pub fn id_number(birth: &str, seq: u32, male: bool) -> String {
    let d = chrono::NaiveDate::parse_from_str(birth, "%Y-%m-%d").unwrap();
    let sex = if male { wangge_core::Sex::Male } else { wangge_core::Sex::Female };
    wangge_core::IdNumber::compose("350322", d, seq, sex).as_str().to_string()
}
