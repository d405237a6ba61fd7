//! Exports of the lists beyond the registry: a grid chief's export of cases holds exactly the
//! cases its list shows, and none of another grid's.

use reqwest::StatusCode;

use crate::TestApp;

crate::on_both_engines!(case_exports_are_scoped_to_the_caller);

async fn case_exports_are_scoped_to_the_caller(app: TestApp) {
    let app = app.with_demo().await;
    let county = app.area_id("仙游县").await;
    app.store.seed_demo_cases(county).await.unwrap();
    // The grid of a case, and its chief.
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT number, area_path FROM cases ORDER BY id").fetch_all(app.store.pool()).await.unwrap();
    let mut chief = None;
    for (_, path) in &rows {
        let ids = wangge_core::area::path_ids(path);
        if ids.len() < 4 {
            continue;
        }
        if let Some(post) = app.post_at(ids[3], "grid_chief").await {
            chief = Some((post, format!("/{}/", ids[..4].iter().map(|i| i.to_string()).collect::<Vec<_>>().join("/"))));
            break;
        }
    }
    let (post, grid_path) = chief.expect("a case in a grid with a chief");
    let token = app.post_token(post).await;

    let resp = app
        .client
        .get(format!("{}/api/v1/cases/export?format=csv", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-disposition"].to_str().unwrap().contains("cases.csv"));
    let text = resp.text().await.unwrap();
    let exported: std::collections::BTreeSet<String> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .map(|n| n.trim_start_matches('\u{feff}').to_string())
        .collect();

    let (s, list) = app.call_as(Some(&token), reqwest::Method::GET, "/api/v1/cases?page_size=200", None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let listed: std::collections::BTreeSet<String> =
        list["items"].as_array().unwrap().iter().map(|c| c["number"].as_str().unwrap().to_string()).collect();
    assert!(!listed.is_empty());
    assert_eq!(exported, listed, "the export holds what the list shows");
    let outside: Vec<&String> = rows.iter().filter(|(_, p)| !p.starts_with(&grid_path)).map(|(n, _)| n).collect();
    assert!(!outside.is_empty(), "the demo has cases in other grids");
    assert!(outside.iter().any(|n| !exported.contains(*n)), "another grid's cases are absent");

    // The list's filters apply; a bad format is a clear 422.
    let (s, v) = app.call_as(Some(&token), reqwest::Method::GET, "/api/v1/cases/export?format=ods", None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let resp = app
        .client
        .get(format!("{}/api/v1/cases/export?format=xlsx&state=closed", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.bytes().await.unwrap().starts_with(b"PK"));

    // The case list page links its export, with the page's filters.
    let account: i64 = sqlx::query_scalar("SELECT account_id FROM posts WHERE id = $1")
        .bind(post)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let login = app.store.account(account).await.unwrap().login;
    let web = crate::web::Web::sign_in(&app, &login).await;
    let (s, page) = web.get("/cases?all=true&state=closed").await;
    assert_eq!(s, StatusCode::OK);
    let href = page
        .split(r#"id="export-csv" href=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("an export link")
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(href.contains("state=closed") && href.contains("format=csv"), "{href}");
    let (s, csv) = web.get(&href).await;
    assert_eq!(s, StatusCode::OK);
    assert!(csv.lines().skip(1).all(|l| l.contains(",closed,")), "{csv}");
}
