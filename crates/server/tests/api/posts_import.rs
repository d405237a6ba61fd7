//! Posts in and out: the demo's posts exported and imported into another database's areas
//! come out equal, and again change nothing; bad rows are named and write nothing. And the
//! JSON API of the imports from the web, scoped as the `/imports` pages.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wangge_core::PostKind;
use wangge_store::{ImportReport, NewImportJob, SheetKind};

use crate::exports::{csv_rows, deputy};
use crate::{Engine, TestApp};

crate::on_both_engines!(posts_round_trip_through_csv, import_jobs_are_listed_in_scope);

async fn empty_like(app: &TestApp) -> TestApp {
    match app.engine {
        Engine::Sqlite => TestApp::sqlite().await,
        Engine::Postgres => TestApp::postgres().await.expect("PostgreSQL answered for the first app"),
    }
}

async fn export(app: &TestApp, kind: &str) -> Vec<u8> {
    let body = json!({"kind": kind, "format": "csv", "purpose": "moving the posts"});
    let resp = app.client.post(format!("{}/api/v1/export", app.base)).bearer_auth(&app.token).json(&body).send();
    let resp = resp.await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.bytes().await.unwrap().to_vec()
}

async fn import(app: &TestApp, name: &str, file: Vec<u8>) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(format!("{}/api/v1/imports?name={name}", app.base))
        .bearer_auth(&app.token)
        .body(file)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn sorted_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut rows = csv_rows(bytes);
    rows.sort();
    rows
}

fn counts(report: &Value) -> (i64, i64, i64) {
    let c = &report["counts"]["posts"];
    (c["created"].as_i64().unwrap(), c["updated"].as_i64().unwrap(), c["unchanged"].as_i64().unwrap())
}

async fn posts_round_trip_through_csv(app: TestApp) {
    let demo = app.with_demo().await;
    let posts = export(&demo, "posts").await;
    let original = sorted_rows(&posts);
    assert!(original.len() > 50, "the demo has its people in charge");
    assert!(original.iter().all(|r| !r[0].is_empty()), "posts over the whole deployment stay out");

    // Into another database that has the areas only.
    let copy = empty_like(&demo).await;
    let (s, report) = import(&copy, "areas.csv", export(&demo, "areas").await).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    let (s, report) = import(&copy, "posts.csv", posts.clone()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(counts(&report), (original.len() as i64, 0, 0), "{report}");
    assert_eq!(sorted_rows(&export(&copy, "posts").await), original, "the copy's posts equal the original's");

    // Again: every row matches an open post, nothing changes.
    let before = copy.row_counts().await;
    let (s, report) = import(&copy, "posts.csv", posts.clone()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(counts(&report), (0, 0, original.len() as i64), "{report}");
    assert_eq!(copy.row_counts().await, before);

    // A new holder by name and phone: an account is made, once.
    let grid = original.iter().find(|r| r[1] == "grid_chief").unwrap()[0].clone();
    let file = format!("区划代码,岗位,姓名,电话,职务\n{grid},网格员,王小五,13900001111,协管员\n");
    let (s, report) = import(&copy, "posts.csv", file.clone().into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(counts(&report), (1, 0, 0));
    let login: String = sqlx::query_scalar(
        "SELECT c.login FROM posts p JOIN accounts c ON c.id = p.account_id WHERE p.kind = 'grid_member' AND c.display_name = '王小五'",
    )
    .fetch_one(copy.store.pool())
    .await
    .unwrap();
    assert_eq!(login, "13900001111");
    let (_, report) = import(&copy, "posts.csv", file.into_bytes()).await;
    assert_eq!(counts(&report), (0, 0, 1), "{report}");
    // A changed title updates the post and says so.
    let file = format!("区划代码,岗位,姓名,电话,职务\n{grid},grid_member,王小五,13900001111,网格协管员\n");
    let (_, report) = import(&copy, "posts.csv", file.into_bytes()).await;
    assert_eq!(counts(&report), (0, 1, 0), "{report}");
    assert!(report["changes"][0]["changes"][0].as_str().unwrap().starts_with("title:"), "{report}");

    // Bad rows are named by row and field, and nothing is written.
    let before = copy.row_counts().await;
    let file = format!(
        "area_code,kind,display_name,phone,is_primary\n\
         999999999999,grid_member,甲,13900002222,0\n\
         {grid},chief_of_everything,乙,13900003333,0\n\
         {grid},grid_chief,丙,13900004444,1\n\
         {grid},grid_member,丁,,0\n"
    );
    let (s, v) = import(&copy, "posts.csv", file.into_bytes()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let errors: Vec<(i64, String, String)> = v["report"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_i64().unwrap(), e["field"].as_str().unwrap().into(), e["code"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (2, "area_code".into(), "unknown_area".into()),
            (3, "kind".into(), "unknown_kind".into()),
            (4, "is_primary".into(), "post_held".into()),
            (5, "phone".into(), "required".into()),
        ],
        "{v}"
    );
    assert_eq!(copy.row_counts().await, before);

    // The template is offered with the others.
    let resp = copy
        .client
        .get(format!("{}/api/v1/imports/template?kind=posts&format=csv", copy.base))
        .bearer_auth(&copy.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    assert!(text.contains("area_code") && text.contains("phone") && text.contains("started_on"), "{text}");
}

async fn import_jobs_are_listed_in_scope(app: TestApp) {
    let app = app.with_demo().await;
    let shengquan = app.area_id("圣泉社区").await;
    let grids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM areas WHERE parent_id = $1 AND level = 'grid' ORDER BY id LIMIT 2")
            .bind(shengquan)
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    let (post, mine) = deputy(&app, grids[0], PostKind::GridChief, "jobs-chief").await;
    let (_, other) = deputy(&app, grids[1], PostKind::GridChief, "jobs-other").await;
    let (_, above) = deputy(&app, shengquan, PostKind::StationChief, "jobs-above").await;
    let account: i64 = sqlx::query_scalar("SELECT account_id FROM posts WHERE id = $1")
        .bind(post)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let caller = app.store.caller_for_post(account, post).await.unwrap().unwrap();
    let preview = ImportReport { dry_run: true, ..Default::default() };
    let new = NewImportJob {
        within: None,
        kind: Some(SheetKind::Houses),
        file_name: "houses.csv",
        file: b"code,address\n",
        rows_total: 0,
        preview: &preview,
    };
    let job = app.store.create_import_job(&caller, new).await.unwrap();
    let get = |token: &str, path: String| {
        let token = token.to_string();
        let app = &app;
        async move { app.call_as(Some(&token), Method::GET, &path, None).await }
    };
    let ids = |v: &Value| -> Vec<i64> {
        v["items"].as_array().unwrap().iter().map(|j| j["id"].as_i64().unwrap()).collect::<Vec<_>>()
    };

    // The uploader sees their preview, by state too.
    let (s, v) = get(&mine, "/api/v1/imports".into()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), vec![job.id]);
    let (_, v) = get(&mine, "/api/v1/imports?state=preview".into()).await;
    assert_eq!(ids(&v), vec![job.id]);
    let (_, v) = get(&mine, "/api/v1/imports?state=done".into()).await;
    assert!(ids(&v).is_empty());
    let (s, v) = get(&mine, "/api/v1/imports?state=lost".into()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = get(&mine, format!("/api/v1/imports/{}", job.id)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["state"].as_str(), v["errors"].as_i64(), v["progress"].as_i64()),
        (Some("preview"), Some(0), Some(0))
    );

    // Nobody else sees a preview; another grid never sees the job.
    for token in [&other, &above] {
        let (_, v) = get(token, "/api/v1/imports".into()).await;
        assert!(!ids(&v).contains(&job.id), "{v}");
        let (s, _) = get(token, format!("/api/v1/imports/{}", job.id)).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    app.store.confirm_import_job(&caller, job.id, false).await.unwrap();
    let (_, v) = get(&above, "/api/v1/imports".into()).await;
    assert!(ids(&v).contains(&job.id), "the community sees its grids' jobs once confirmed: {v}");
    let (s, v) = get(&above, format!("/api/v1/imports/{}", job.id)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = get(&other, "/api/v1/imports".into()).await;
    assert!(!ids(&v).contains(&job.id), "{v}");
    let (s, _) = get(&other, format!("/api/v1/imports/{}", job.id)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = get(&mine, "/api/v1/imports/999999".into()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The site's import page offers posts and their template.
    let web = crate::web::Web::sign_in(&app, "jobs-chief").await;
    let (s, page) = web.get("/imports").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains(r#"<option value="posts""#), "{page}");
    assert!(page.contains("/api/v1/imports/template?kind=posts&amp;format=csv"), "{page}");
}
