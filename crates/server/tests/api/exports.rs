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

// ---------------------------------------------------------------- wishes and ledger entries

crate::on_both_engines!(wish_exports_hold_the_list_masked_unless_revealed, ledger_exports_hold_the_list);

/// A new account holding a deputy post of a kind at an area, with its API token.
pub async fn deputy(app: &TestApp, area: i64, kind: wangge_core::PostKind, login: &str) -> (i64, String) {
    let sys = wangge_core::Caller::system();
    let new = wangge_store::NewAccount {
        login: login.into(),
        display_name: login.into(),
        password: Some(crate::DEMO_PASSWORD.into()),
        ..Default::default()
    };
    let (a, _) = app.store.create_account(&sys, new).await.unwrap();
    let post = wangge_store::NewPost {
        account_id: a.id,
        area_id: Some(area),
        kind,
        is_primary: false,
        title: None,
        started_on: None,
    };
    let p = app.store.appoint(&sys, post).await.unwrap();
    (p.id, app.post_token(p.id).await)
}

/// The rows of a CSV export, header left out, read as an import reads them.
pub fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let sheets = wangge_data::read_sheets(bytes, "x.csv", Some(wangge_store::SheetKind::Areas)).unwrap();
    sheets.into_iter().next().unwrap().rows.into_memory().unwrap().into_iter().map(|(_, cells)| cells).collect()
}

async fn download(app: &TestApp, token: &str, path: &str) -> (StatusCode, Vec<u8>) {
    let resp = app.client.get(format!("{}{path}", app.base)).bearer_auth(token).send().await.unwrap();
    (resp.status(), resp.bytes().await.unwrap().to_vec())
}

async fn download_revealed(app: &TestApp, token: &str, path: &str, body: serde_json::Value) -> (StatusCode, Vec<u8>) {
    let resp = app.client.post(format!("{}{path}", app.base)).bearer_auth(token).json(&body).send().await.unwrap();
    (resp.status(), resp.bytes().await.unwrap().to_vec())
}

async fn reveals(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'reveal'")
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

/// The ids of a JSON list, every page.
async fn listed_ids(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for page in 1.. {
        let sep = if path.contains('?') { '&' } else { '?' };
        let (s, v) = app
            .call_as(Some(token), reqwest::Method::GET, &format!("{path}{sep}page={page}&page_size=200"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let items = v["items"].as_array().unwrap();
        out.extend(items.iter().map(|i| i["id"].as_i64().unwrap().to_string()));
        if out.len() as i64 >= v["total"].as_i64().unwrap() || items.is_empty() {
            break;
        }
    }
    out
}

/// Bazhai Village's wishes (the demo's), the grid of the first, and a grid elsewhere.
struct WishWorld {
    grid: i64,
    community: i64,
    other_grid: i64,
    other_community: i64,
}

async fn wish_world(app: &TestApp) -> WishWorld {
    let county = app.area_id("仙游县").await;
    app.store.seed_demo_services(county, crate::DEMO_PASSWORD).await.unwrap();
    let path: String = sqlx::query_scalar("SELECT area_path FROM wishes ORDER BY id LIMIT 1")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let ids = wangge_core::area::path_ids(&path);
    let other_community = app.area_id("度峰社区").await;
    let other_grid: i64 =
        sqlx::query_scalar("SELECT id FROM areas WHERE level = 'grid' AND parent_id = $1 ORDER BY id LIMIT 1")
            .bind(other_community)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    WishWorld { grid: ids[3], community: ids[2], other_grid, other_community }
}

async fn wish_exports_hold_the_list_masked_unless_revealed(app: TestApp) {
    let app = app.with_demo().await;
    let w = wish_world(&app).await;
    let (_, chief) = deputy(&app, w.grid, wangge_core::PostKind::GridChief, "wish-chief").await;
    let (_, other) = deputy(&app, w.other_grid, wangge_core::PostKind::GridChief, "other-chief").await;
    let (_, unit_chief) = {
        let unit: i64 = sqlx::query_scalar("SELECT id FROM areas WHERE parent_id = $1 ORDER BY id LIMIT 1")
            .bind(w.grid)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        deputy(&app, unit, wangge_core::PostKind::UnitChief, "wish-unit").await
    };

    // The export holds the list's rows, in its order, for each filter.
    for query in ["", "?state=published", "?state=confirmed"] {
        let listed = listed_ids(&app, &chief, &format!("/api/v1/wishes{query}")).await;
        let sep = if query.is_empty() { '?' } else { '&' };
        let (s, bytes) = download(&app, &chief, &format!("/api/v1/wishes/export{query}{sep}format=csv")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(bytes.starts_with(b"\xef\xbb\xbf"), "CSV exports start with a BOM");
        let rows = csv_rows(&bytes);
        let exported: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
        assert_eq!(exported, listed, "wishes{query}");
    }
    let rows = csv_rows(&download(&app, &chief, "/api/v1/wishes/export?format=csv").await.1);
    assert!(!rows.is_empty(), "the grid has wishes");

    // Masked: no name, phone or address of the beneficiary.
    for r in &rows {
        let name: String = sqlx::query_scalar("SELECT name FROM residents WHERE id = $1")
            .bind(r[12].parse::<i64>().unwrap())
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        assert_ne!(r[8], name, "{r:?}");
        assert!(r[8].ends_with('*'), "{r:?}");
        assert!(r[9].is_empty() || r[9].starts_with("*******"), "{r:?}");
        assert!(r[10].is_empty(), "{r:?}");
    }

    // Revealed with a purpose, which is logged once.
    let before = reveals(&app).await;
    let body = serde_json::json!({"format": "csv", "purpose": "delivering the wishes"});
    let (s, bytes) = download_revealed(&app, &chief, "/api/v1/wishes/export", body).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(reveals(&app).await, before + 1);
    let purpose: String =
        sqlx::query_scalar("SELECT purpose FROM audit_events WHERE action = 'reveal' ORDER BY id DESC LIMIT 1")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(purpose, "delivering the wishes");
    let revealed = csv_rows(&bytes);
    assert_eq!(revealed.len(), rows.len());
    for r in &revealed {
        let (name, address): (String, String) = sqlx::query_as(
            "SELECT r.name, h.address FROM residents r JOIN households h ON h.id = r.household_id WHERE r.id = $1",
        )
        .bind(r[12].parse::<i64>().unwrap())
        .fetch_one(app.store.pool())
        .await
        .unwrap();
        assert_eq!((&r[8], &r[10]), (&name, &address));
    }

    // No purpose, no post that may reveal, another grid: refused, and nothing logged.
    let body = serde_json::json!({"format": "csv", "purpose": "  "});
    let (s, _) = download_revealed(&app, &chief, "/api/v1/wishes/export", body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let body = serde_json::json!({"format": "csv", "purpose": "curious"});
    let (s, _) = download_revealed(&app, &unit_chief, "/api/v1/wishes/export", body).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let body = serde_json::json!({"format": "csv", "purpose": "curious", "area_id": w.grid});
    let (s, _) = download_revealed(&app, &other, "/api/v1/wishes/export", body).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = download(&app, &other, &format!("/api/v1/wishes/export?format=csv&area_id={}", w.grid)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(reveals(&app).await, before + 1);
    let theirs = csv_rows(&download(&app, &other, "/api/v1/wishes/export?format=csv").await.1);
    assert!(theirs.iter().all(|r| !rows.iter().any(|x| x[0] == r[0])), "none of the first grid's wishes");
    assert_eq!(
        theirs.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        listed_ids(&app, &other, "/api/v1/wishes").await
    );

    // XLSX too; a bad format is a clear 422.
    let (s, bytes) = download(&app, &chief, "/api/v1/wishes/export?format=xlsx").await;
    assert_eq!(s, StatusCode::OK);
    assert!(bytes.starts_with(b"PK"));
    let (s, _) = download(&app, &chief, "/api/v1/wishes/export?format=ods").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let _ = (w.community, w.other_community);
}

async fn ledger_exports_hold_the_list(app: TestApp) {
    let app = app.with_demo().await;
    let w = wish_world(&app).await;
    let (_, chief) = deputy(&app, w.community, wangge_core::PostKind::StationChief, "ledger-chief").await;
    let (_, other) = deputy(&app, w.other_community, wangge_core::PostKind::StationChief, "ledger-other").await;

    for query in ["", "?state=posted", "?kind=award"] {
        let listed = listed_ids(&app, &chief, &format!("/api/v1/points/entries{query}")).await;
        let sep = if query.is_empty() { '?' } else { '&' };
        let (s, bytes) = download(&app, &chief, &format!("/api/v1/points/entries/export{query}{sep}format=csv")).await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
        let exported: Vec<String> = csv_rows(&bytes).iter().map(|r| r[0].clone()).collect();
        assert_eq!(exported, listed, "entries{query}");
    }
    let rows = csv_rows(&download(&app, &chief, "/api/v1/points/entries/export?format=csv").await.1);
    let volunteers: Vec<&Vec<String>> = rows.iter().filter(|r| r[5] == "volunteer").collect();
    assert!(!volunteers.is_empty(), "the demo's volunteers earned points");
    for r in &volunteers {
        assert!(r[7].ends_with('*') && r[7].chars().count() == 2, "masked holder: {r:?}");
        assert!(r[9].is_empty(), "{r:?}");
    }
    // Postings sum to zero for a posted entry.
    let posted = rows.iter().find(|r| r[1] == "posted").unwrap();
    let sum: i64 = posted[17].split(';').map(|p| p.split(':').nth(1).unwrap().parse::<i64>().unwrap()).sum();
    assert_eq!(sum, 0, "{posted:?}");

    let before = reveals(&app).await;
    let body = serde_json::json!({"format": "csv", "purpose": "thanking the volunteers"});
    let (s, bytes) = download_revealed(&app, &chief, "/api/v1/points/entries/export", body).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(reveals(&app).await, before + 1);
    for r in csv_rows(&bytes).iter().filter(|r| r[5] == "volunteer") {
        let name: String = sqlx::query_scalar("SELECT name FROM volunteers WHERE id = $1")
            .bind(r[6].parse::<i64>().unwrap())
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        assert_eq!(r[7], name);
    }

    // Another community's chief: their own entries only; Bazhai's refused, nothing logged.
    let body = serde_json::json!({"format": "csv", "purpose": "x", "area_id": w.community});
    let (s, _) = download_revealed(&app, &other, "/api/v1/points/entries/export", body).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let body = serde_json::json!({"format": "csv", "purpose": ""});
    let (s, _) = download_revealed(&app, &chief, "/api/v1/points/entries/export", body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reveals(&app).await, before + 1);
    let theirs = csv_rows(&download(&app, &other, "/api/v1/points/entries/export?format=csv").await.1);
    assert!(!theirs.is_empty(), "Dufeng's team earned points");
    assert!(theirs.iter().all(|r| !rows.iter().any(|x| x[0] == r[0])));
    assert_eq!(
        theirs.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        listed_ids(&app, &other, "/api/v1/points/entries").await
    );
    let (s, bytes) = download(&app, &chief, "/api/v1/points/entries/export?format=xlsx&state=posted").await;
    assert_eq!(s, StatusCode::OK);
    assert!(bytes.starts_with(b"PK"));
}

// ---------------------------------------------------------------- registry list pages

crate::on_both_engines!(registry_list_pages_link_their_exports);

fn export_href(page: &str) -> String {
    page.split(r#"id="export-csv" href=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("an export link")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

async fn registry_list_pages_link_their_exports(app: TestApp) {
    let app = app.with_demo().await;
    let shengquan = app.area_id("圣泉社区").await;
    let (_, chief) = deputy(&app, shengquan, wangge_core::PostKind::StationChief, "links-chief").await;
    let web = crate::web::Web::sign_in(&app, "links-chief").await;
    for (page, api, kind) in [
        ("/residents?status=present&q=%E9%99%88", "/api/v1/residents?status=present&q=%E9%99%88", "residents"),
        ("/houses?empty=true", "/api/v1/houses?empty=true", "houses"),
        ("/households?without_head=true", "/api/v1/households?without_head=true", "households"),
        ("/households?q=1", "/api/v1/households?q=1", "households"),
    ] {
        let (s, html) = web.get(page).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let href = export_href(&html);
        assert!(href.starts_with(&format!("/api/v1/export?kind={kind}")) && href.ends_with("format=csv"), "{href}");
        let (s, csv) = web.get(&href).await;
        assert_eq!(s, StatusCode::OK, "{href}: {csv}");
        let lines = csv_rows(csv.as_bytes()).len() as i64;
        let (_, list) = app.call_as(Some(&chief), reqwest::Method::GET, api, None).await;
        assert_eq!(lines, list["total"].as_i64().unwrap(), "{page}: the export holds what the list shows");
        assert!(html.contains(r#"id="export-xlsx""#));
    }
    // The filters are the page's: a status filter keeps its residents only.
    let (_, html) = web.get("/residents?status=away").await;
    let (_, csv) = web.get(&export_href(&html)).await;
    assert!(csv_rows(csv.as_bytes()).iter().all(|r| r[5] == "away"));
}
