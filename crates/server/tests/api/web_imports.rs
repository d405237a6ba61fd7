//! Import from the web on both engines: upload → preview (nothing written) → confirm → a
//! background job in the database → rows in the registry; a file with errors writes nothing by
//! default; a job cut short is taken over, and only one runner runs it; another grid's chief
//! sees nothing of it.

use std::time::Duration;

use reqwest::StatusCode;
use wangge_core::{PostKind, Scope};
use wangge_store::{HouseholdFilter, Page, PostFilter};

use crate::web::Web;
use crate::{TestApp, id_number};

crate::on_both_engines!(web_import_runs_as_a_background_job, web_import_with_errors_writes_nothing_by_default);

/// A grid chief, a household code of their grid, and the login of another grid's chief.
struct Chiefs {
    login: String,
    other_login: String,
    household_code: String,
}

async fn chiefs(app: &TestApp) -> Chiefs {
    let all = Scope::everything();
    let page = Page::new(Some(1), Some(200)).unwrap();
    let pf = PostFilter { kind: Some(PostKind::GridChief), ..Default::default() };
    let posts = app.store.list_posts(&all, &pf, page).await.unwrap().items;
    let grid = posts[0].area_id.unwrap();
    let login = app.store.account(posts[0].account_id).await.unwrap().login;
    let other = posts.iter().find(|p| p.area_id != Some(grid)).expect("another grid chief");
    let other_login = app.store.account(other.account_id).await.unwrap().login;
    let hf = HouseholdFilter { within: Some(grid), ..Default::default() };
    let household_code = app.store.list_households(&all, &hf, page).await.unwrap().items[0].code.clone();
    Chiefs { login, other_login, household_code }
}

/// Uploads a file as the browser's form does (multipart), answering the status and the
/// redirect's location or the page.
async fn upload(web: &Web, kind: &str, name: &str, file: &[u8]) -> (StatusCode, String) {
    let boundary = "----wanggeTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    for (k, v) in [("csrf", web.csrf.as_str()), ("kind", kind)] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let resp = web
        .client
        .post(format!("{}/imports", web.base))
        .header("cookie", &web.cookie)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let location = resp.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    let text = resp.text().await.unwrap();
    (status, location.unwrap_or(text))
}

fn job_id(location: &str) -> i64 {
    location.strip_prefix("/imports/").and_then(|i| i.parse().ok()).unwrap_or_else(|| panic!("{location}"))
}

async fn state(app: &TestApp, id: i64) -> (String, i64, i64) {
    sqlx::query_as("SELECT state, attempts, good_rows_only FROM import_jobs WHERE id = $1")
        .bind(id)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

/// Runs the queue now and waits for the job to end (the server's own runner may have it).
async fn run_until_ended(app: &TestApp, web: &Web, id: i64) -> String {
    wangge_server::jobs::run_import_jobs(&app.store, "test-runner").await.unwrap();
    for _ in 0..150 {
        let (s, page) = web.get(&format!("/imports/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        if page.contains(r#"data-state="done""#) || page.contains(r#"data-state="failed""#) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("import {id} did not end");
}

async fn residents_named(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM residents WHERE name = $1")
        .bind(name)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

fn csv(household: &str, rows: &[(&str, String)]) -> Vec<u8> {
    let mut s = String::from("id_number,name,household_code,relation\n");
    for (name, id) in rows {
        s.push_str(&format!("{id},{name},{household},child\n"));
    }
    s.into_bytes()
}

async fn web_import_runs_as_a_background_job(app: TestApp) {
    let app = app.with_demo().await;
    let c = chiefs(&app).await;
    let web = Web::sign_in(&app, &c.login).await;
    let (s, page) = web.get("/imports").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains(r#"enctype="multipart/form-data""#));

    let file = csv(
        &c.household_code,
        &[("导入甲", id_number("2001-03-04", 11, true)), ("导入乙", id_number("2003-05-06", 12, false))],
    );
    let before = app.row_counts().await;
    let (s, location) = upload(&web, "residents", "居民.csv", &file).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{location}");
    let id = job_id(&location);

    // The preview: what would happen, nothing written yet.
    let (s, page) = web.get(&location).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains(r#"data-state="preview""#), "{page}");
    assert!(page.contains(r#"<tr id="count-residents"><th>居民</th><td class="created">2</td>"#), "{page}");
    assert!(page.contains(r#"id="confirm-form""#));
    assert_eq!(app.row_counts().await, before, "a preview writes nothing");

    // Another grid's chief sees nothing of it, and cannot confirm it.
    let other = Web::sign_in(&app, &c.other_login).await;
    for path in [format!("/imports/{id}"), format!("/imports/{id}/errors?format=csv")] {
        let (s, body) = other.get(&path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "GET {path}");
        assert!(!body.contains("居民.csv"));
    }
    let (s, _) = other.post(&format!("/imports/{id}/confirm"), &[], true).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, list) = other.get("/imports").await;
    assert!(!list.contains(&format!("/imports/{id}\"")), "another grid's list does not show it");
    assert_eq!(state(&app, id).await.0, "preview");
    // Nor does a missing CSRF token confirm it.
    let (s, _) = web.post(&format!("/imports/{id}/confirm"), &[], false).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(state(&app, id).await.0, "preview");

    let (s, _) = web.post(&format!("/imports/{id}/confirm"), &[], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let page = run_until_ended(&app, &web, id).await;
    assert!(page.contains(r#"data-state="done""#), "{page}");
    assert!(page.contains(r#"<td class="created">2</td>"#), "the summary: {page}");
    assert_eq!(residents_named(&app, "导入甲").await, 1);
    assert_eq!(residents_named(&app, "导入乙").await, 1);
    let (st, attempts, _) = state(&app, id).await;
    assert_eq!((st.as_str(), attempts), ("done", 1), "one runner ran it once");
    let file_left: Option<Vec<u8>> = sqlx::query_scalar("SELECT file FROM import_jobs WHERE id = $1")
        .bind(id)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert!(file_left.is_none(), "the file is deleted when the job ends");
    // Confirming again is refused: the job has run.
    let (s, _) = web.post(&format!("/imports/{id}/confirm"), &[], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // A job cut short by a restart (claimed by a runner that went silent) is taken over and,
    // imports merging by keys, running the same rows again duplicates nothing.
    let (s, location) = upload(&web, "residents", "again.csv", &file).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{location}");
    let again = job_id(&location);
    sqlx::query(
        "UPDATE import_jobs SET state = 'running', claimed_by = 'gone', heartbeat_at = '2000-01-01T00:00:00Z', \
         attempts = 1, started_at = '2000-01-01T00:00:00Z' WHERE id = $1",
    )
    .bind(again)
    .execute(app.store.pool())
    .await
    .unwrap();
    // Two runners at once: one of them (or the server's own) takes it.
    let (a, b) = tokio::join!(
        wangge_server::jobs::run_import_jobs(&app.store, "runner-a"),
        wangge_server::jobs::run_import_jobs(&app.store, "runner-b")
    );
    assert!(a.unwrap() + b.unwrap() <= 1);
    let page = run_until_ended(&app, &web, again).await;
    assert!(page.contains(r#"data-state="done""#), "{page}");
    assert!(page.contains(r#"<td class="unchanged">2</td>"#), "{page}");
    assert_eq!(state(&app, again).await.1, 2, "taken over once");
    assert_eq!(residents_named(&app, "导入甲").await, 1, "nothing duplicated");
    app.assert_stats_consistent().await;
}

async fn web_import_with_errors_writes_nothing_by_default(app: TestApp) {
    let app = app.with_demo().await;
    let c = chiefs(&app).await;
    let web = Web::sign_in(&app, &c.login).await;
    let good = id_number("1999-09-09", 21, true);
    let bad = {
        let g = id_number("1998-08-08", 22, false);
        format!("{}{}", &g[..17], if g.ends_with('0') { '1' } else { '0' })
    };
    let file = csv(&c.household_code, &[("好行", good), ("坏行", bad)]);
    let before = app.row_counts().await;

    // Nothing to upload, or an unreadable file: the form again, with the message.
    let (s, page) = upload(&web, "residents", "empty.csv", b"").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(r#"id="file-error""#), "{page}");
    let (s, page) = upload(&web, "nonsense", "x.csv", &file).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(r#"id="kind-error""#), "{page}");

    let (s, location) = upload(&web, "residents", "residents.csv", &file).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{location}");
    let id = job_id(&location);
    let (_, page) = web.get(&location).await;
    assert!(page.contains(r#"id="row-errors""#), "{page}");
    assert!(page.contains(r#"id="good-rows-only""#));
    // The error report names the row and the field.
    let (s, report) = web.get(&format!("/imports/{id}/errors?format=csv")).await;
    assert_eq!(s, StatusCode::OK);
    let line = report.lines().find(|l| l.contains(",3,")).unwrap_or_else(|| panic!("row 3 in {report}"));
    assert!(line.contains("id_number"), "{line}");
    let (s, _) = web.get(&format!("/imports/{id}/errors?format=ods")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Confirmed as it is: refused, nothing queued, nothing written.
    let (s, page) = web.post(&format!("/imports/{id}/confirm"), &[], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(r#"id="good-error""#), "{page}");
    assert_eq!(state(&app, id).await.0, "preview");
    wangge_server::jobs::run_import_jobs(&app.store, "test-runner").await.unwrap();
    assert_eq!(app.row_counts().await, before, "nothing was written");

    // With "write the good rows only": the good row goes in, the bad one does not.
    let (s, _) = web.post(&format!("/imports/{id}/confirm"), &[("good_rows_only", "1")], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let page = run_until_ended(&app, &web, id).await;
    assert!(page.contains(r#"data-state="done""#), "{page}");
    assert_eq!(state(&app, id).await.2, 1);
    assert_eq!(residents_named(&app, "好行").await, 1);
    assert_eq!(residents_named(&app, "坏行").await, 0);
    app.assert_stats_consistent().await;
}
