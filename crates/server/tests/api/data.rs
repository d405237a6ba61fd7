//! Data in and out over HTTP: the registry exported to XLSX and imported into an empty
//! database comes out equal, and again changes nothing; files with bad rows are refused row by
//! row and write nothing; masked exports and logged reveals.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{Engine, TestApp, id_number};

crate::on_both_engines!(
    registry_round_trips_through_xlsx,
    registry_round_trips_through_csv_files,
    csv_files_import_in_batches,
    bad_rows_are_reported_and_nothing_is_written,
    exports_mask_and_log,
    boundaries_import_with_gaps_and_overlaps
);

/// Another empty app on the same engine.
async fn empty_like(app: &TestApp) -> TestApp {
    match app.engine {
        Engine::Sqlite => TestApp::sqlite().await,
        Engine::Postgres => TestApp::postgres().await.expect("PostgreSQL answered for the first app"),
    }
}

async fn export(app: &TestApp, body: Value) -> Vec<u8> {
    let resp = app
        .client
        .post(format!("{}/api/v1/export", app.base))
        .bearer_auth(&app.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.bytes().await.unwrap().to_vec()
}

async fn import(app: &TestApp, query: &str, file: Vec<u8>) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(format!("{}/api/v1/imports?{query}", app.base))
        .bearer_auth(&app.token)
        .body(file)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Every kind of the registry as sorted CSV lines, numbers revealed: equal registries give
/// equal lines whatever their ids.
async fn registry_lines(app: &TestApp) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for kind in ["areas", "houses", "households", "residents"] {
        let bytes = export(app, json!({"kind": kind, "format": "csv", "purpose": "comparing registries"})).await;
        assert!(bytes.starts_with(b"\xef\xbb\xbf"), "CSV exports start with a BOM");
        let text = String::from_utf8(bytes).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.sort();
        out.push((kind.to_string(), lines));
    }
    out
}

fn counts(report: &Value, kind: &str) -> (i64, i64, i64) {
    let c = &report["counts"][kind];
    (c["created"].as_i64().unwrap(), c["updated"].as_i64().unwrap(), c["unchanged"].as_i64().unwrap())
}

async fn registry_round_trips_through_xlsx(app: TestApp) {
    let demo = app.with_demo().await;
    let xlsx = export(&demo, json!({"format": "xlsx", "purpose": "moving the registry to another server"})).await;
    assert!(xlsx.starts_with(b"PK"), "an XLSX workbook");

    // Into an empty database: the whole county at once.
    let copy = empty_like(&demo).await;
    let (s, report) = import(&copy, "name=registry.xlsx", xlsx.clone()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["written"], true);
    assert_eq!(report["bulk"], true, "a new county goes through the bulk loader");
    let (created, _, _) = counts(&report, "residents");
    assert!(created > 20_000, "{report}");
    assert_eq!(registry_lines(&demo).await, registry_lines(&copy).await, "the copy equals the original");
    copy.assert_stats_consistent().await;

    // Again: every row matches, nothing changes.
    let before = copy.row_counts().await;
    let (s, report) = import(&copy, "name=registry.xlsx", xlsx.clone()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    for kind in ["areas", "houses", "households", "residents"] {
        let (c, u, unchanged) = counts(&report, kind);
        assert_eq!((c, u), (0, 0), "{kind}: {report}");
        assert!(unchanged > 0, "{kind}");
    }
    assert_eq!(report["bulk"], false);
    assert_eq!(copy.row_counts().await, before);
    assert_eq!(registry_lines(&demo).await, registry_lines(&copy).await);

    // A changed cell updates its record and says what changed; the rest stays.
    let houses = export(&copy, json!({"kind": "houses", "format": "csv", "purpose": "editing"})).await;
    let text = String::from_utf8(houses).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let first: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    lines[1] = format!("{},新地址 1 号,{}", first[0], first[2]);
    let (s, report) = import(&copy, "name=houses.csv", lines.join("\n").into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(counts(&report, "houses").1, 1, "{report}");
    let change = &report["changes"][0];
    assert_eq!(change["row"], 2);
    assert!(change["changes"][0].as_str().unwrap().ends_with("→ 新地址 1 号"), "{change}");
    let (_, found) = copy.get(&format!("/api/v1/houses?code={}", first[0])).await;
    assert_eq!(found["items"][0]["address"], "新地址 1 号");
    assert_eq!(copy.row_counts().await, before);
}

/// A source that counts how often its rows are read.
struct Counted(std::sync::Arc<dyn wangge_store::RowSource>, std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl wangge_store::RowSource for Counted {
    fn rows(&self) -> std::io::Result<wangge_store::Rows> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.rows()
    }
}

/// Reads CSV files as `wangge import` does, counting the reads of the rows that stay in their
/// files.
fn read_files(
    paths: &[std::path::PathBuf],
) -> (Vec<wangge_store::ImportSheet>, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let reads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut sheets = Vec::new();
    for p in paths {
        for mut sheet in wangge_data::read_file(p, None).unwrap() {
            if let wangge_store::SheetRows::File { source, count } = sheet.rows.clone() {
                sheet.rows = wangge_store::SheetRows::File {
                    source: std::sync::Arc::new(Counted(source, reads.clone())),
                    count,
                };
            }
            sheets.push(sheet);
        }
    }
    (sheets, reads)
}

/// The demo's registry exported to four CSV files (areas, houses, households, residents) in a
/// temporary directory, kept as long as the directory is.
async fn registry_csv_files(demo: &TestApp) -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for kind in ["areas", "houses", "households", "residents"] {
        let bytes = export(demo, json!({"kind": kind, "format": "csv", "purpose": "moving the registry"})).await;
        let path = dir.path().join(format!("{kind}.csv"));
        std::fs::write(&path, bytes).unwrap();
        files.push(path);
    }
    (dir, files)
}

/// The CLI's path: CSV files whose rows stay in the file, each read once to check them (the
/// checked rows spooled for the load), and read into memory only for a file that is not a
/// clean new county.
async fn registry_round_trips_through_csv_files(app: TestApp) {
    use std::sync::atomic::Ordering;
    use wangge_core::Caller;
    use wangge_store::ImportOptions;
    let demo = app.with_demo().await;
    let copy = empty_like(&demo).await;
    let (dir, files) = registry_csv_files(&demo).await;
    let import = |options: ImportOptions, files: Vec<std::path::PathBuf>| {
        let store = copy.store.clone();
        async move {
            let (sheets, reads) = read_files(&files);
            let report = store.import(&Caller::system(), None, sheets, options, &mut |_, _| {}).await.unwrap();
            (report, reads.load(Ordering::SeqCst))
        }
    };
    let empty = copy.row_counts().await;

    // A dry run reads each file once and writes nothing.
    let (report, reads) = import(ImportOptions { dry_run: true, ..Default::default() }, files.clone()).await;
    assert!(!report.written && !report.has_errors(), "{report:?}");
    let residents = &report.counts["residents"];
    assert!(residents.created > 20_000 && residents.created == residents.rows, "{report:?}");
    assert_eq!(reads, 4, "one pass over each file");
    assert_eq!(copy.row_counts().await, empty);

    // A duplicate ID number inside the file: reported on its row, nothing written.
    let text = std::fs::read_to_string(&files[3]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    let mut bad_files: Vec<std::path::PathBuf> = files[..3].to_vec();
    bad_files.push(bad.join("residents.csv"));
    std::fs::write(&bad_files[3], format!("{text}{}\n", lines[5])).unwrap();
    let (report, _) = import(ImportOptions::default(), bad_files).await;
    assert!(!report.written, "{report:?}");
    let dup: Vec<_> = report.errors.iter().filter(|e| e.code == "duplicate_in_file").collect();
    assert_eq!(dup.len(), 1, "{report:?}");
    assert_eq!(
        (dup[0].sheet.as_str(), dup[0].row, dup[0].field.as_str()),
        ("residents", lines.len() as u32 + 1, "id_number")
    );
    assert_eq!(copy.row_counts().await, empty);

    // The whole county: checked in one pass (and spooled), loaded from the spool, equal to
    // the original.
    let (report, reads) = import(ImportOptions::default(), files.clone()).await;
    assert!(report.written && report.bulk && !report.has_errors(), "{report:?}");
    assert_eq!(reads, 4, "each file was read once, never held whole");
    assert_eq!(report.counts["residents"].created, residents.created);
    assert_eq!(registry_lines(&demo).await, registry_lines(&copy).await, "the copy equals the original");
    copy.assert_stats_consistent().await;

    // Again: every row matches a stored record, nothing changes.
    let before = copy.row_counts().await;
    let (report, _) = import(ImportOptions::default(), files.clone()).await;
    assert!(!report.bulk && !report.has_errors(), "{report:?}");
    for kind in ["areas", "houses", "households", "residents"] {
        let c = &report.counts[kind];
        assert_eq!((c.created, c.updated), (0, 0), "{kind}: {report:?}");
        assert!(c.unchanged > 0, "{kind}");
    }
    assert_eq!(copy.row_counts().await, before);
}

/// Houses, households and residents that span many batches import equal to the registry they
/// came from; a code given again in a later batch is still reported on its row.
async fn csv_files_import_in_batches(app: TestApp) {
    use wangge_core::Caller;
    use wangge_store::ImportOptions;
    let demo = app.with_demo().await;
    let copy = empty_like(&demo).await;
    let (dir, files) = registry_csv_files(&demo).await;
    let options = ImportOptions { batch_rows: 700, ..Default::default() };
    let import = |files: Vec<std::path::PathBuf>| {
        let store = copy.store.clone();
        async move {
            let (sheets, _) = read_files(&files);
            store.import(&Caller::system(), None, sheets, options, &mut |_, _| {}).await.unwrap()
        }
    };
    let empty = copy.row_counts().await;

    // The second row of houses and of households again at the end, several batches later.
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    let mut bad_files = files.clone();
    let mut expected = Vec::new();
    for (i, kind) in [(1, "houses"), (2, "households")] {
        let text = std::fs::read_to_string(&files[i]).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() > 3 * 700, "{kind}: {} rows span several batches", lines.len());
        bad_files[i] = bad.join(format!("{kind}.csv"));
        std::fs::write(&bad_files[i], format!("{text}{}\n", lines[1])).unwrap();
        expected.push((kind.to_string(), lines.len() as u32 + 1, "code".to_string()));
    }
    let report = import(bad_files).await;
    assert!(!report.written, "{report:?}");
    let mut dup: Vec<(String, u32, String)> = report
        .errors
        .iter()
        .filter(|e| e.code == "duplicate_in_file")
        .map(|e| (e.sheet.clone(), e.row, e.field.clone()))
        .collect();
    dup.sort();
    expected.sort();
    assert_eq!(dup, expected, "{:?}", report.errors);
    assert_eq!(report.errors.len(), 2, "{:?}", report.errors);
    assert_eq!(copy.row_counts().await, empty);

    // The clean files: streamed batch by batch, equal to the original.
    let report = import(files.clone()).await;
    assert!(report.written && report.bulk && !report.has_errors(), "{report:?}");
    for kind in ["houses", "households", "residents"] {
        let c = &report.counts[kind];
        assert!(c.rows > 3 * 700 && c.created == c.rows, "{kind}: {report:?}");
    }
    assert_eq!(registry_lines(&demo).await, registry_lines(&copy).await, "the copy equals the original");
    copy.assert_stats_consistent().await;
}

async fn bad_rows_are_reported_and_nothing_is_written(app: TestApp) {
    let app = app.with_demo().await;
    // A household of the demo to add residents to, and a unit to add houses to.
    let (_, hh) = app.get("/api/v1/households?sort=code&page_size=1").await;
    let household = hh["items"][0]["code"].as_str().unwrap().to_string();
    let unit = &household[..18];
    let good = id_number("1990-03-04", 501, true);
    let mut wrong_check = id_number("1991-05-06", 502, false);
    let last = wrong_check.pop().unwrap();
    wrong_check.push(if last == '0' { '1' } else { '0' });
    let dup = id_number("1985-01-02", 503, true);
    let residents = format!(
        "姓名,身份证号,户编码,出生日期,与户主关系\n\
         王好,{good},{household},,child\n\
         李错,{wrong_check},{household},,child\n\
         张未来,,{household},2099-01-01,child\n\
         赵一,{dup},{household},,child\n\
         赵二,{dup},{household},,child\n"
    );
    let before = app.row_counts().await;
    let audit_before: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events").fetch_one(app.store.pool()).await.unwrap();
    let (s, v) = import(&app, "name=居民.csv", residents.clone().into_bytes()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "import_rows_invalid");
    let errors: Vec<(i64, String, String)> = v["report"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_i64().unwrap(), e["field"].as_str().unwrap().into(), e["code"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (3, "id_number".into(), "bad_id_number".into()),
            (4, "birth_date".into(), "in_future".into()),
            (6, "id_number".into(), "duplicate_in_file".into()),
        ],
        "{v}"
    );
    assert_eq!(v["report"]["written"], false);
    assert_eq!(app.row_counts().await, before, "nothing written");

    // A house in a unit that does not exist.
    let houses = format!("门牌编码,地址\n{unit}0999,甲 1 号\n3503229999999999990001,乙 2 号\n");
    let (s, v) = import(&app, "name=houses.csv", houses.into_bytes()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let e = &v["report"]["errors"][0];
    assert_eq!(
        (e["row"].as_i64(), e["field"].as_str(), e["code"].as_str()),
        (Some(3), Some("code"), Some("unknown_unit"))
    );
    assert_eq!(v["report"]["errors"].as_array().unwrap().len(), 1);
    assert_eq!(app.row_counts().await, before);

    // The same file in GB18030, as a spreadsheet program saves it: the same report, as a CSV.
    let (gb, _, _) = encoding_rs::GB18030.encode(&residents);
    let resp = app
        .client
        .post(format!("{}/api/v1/imports?name=residents.csv&report=csv", app.base))
        .bearer_auth(&app.token)
        .body(gb.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let report = resp.text().await.unwrap();
    assert!(report.contains("3,id_number,bad_id_number"), "{report}");
    assert!(report.contains("6,id_number,duplicate_in_file"), "{report}");
    assert_eq!(app.row_counts().await, before);

    // A dry run of the good rows says what would happen and writes nothing.
    let (s, v) =
        import(&app, "name=residents.csv&dry_run=true&good_rows_only=true", residents.clone().into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["written"], false);
    assert_eq!(counts(&v, "residents").0, 2, "{v}");
    assert_eq!(app.row_counts().await, before);
    let audit_after: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events").fetch_one(app.store.pool()).await.unwrap();
    assert_eq!(audit_before, audit_after);

    // With good_rows_only the good rows go in, once.
    let (s, v) = import(&app, "name=residents.csv&good_rows_only=true", residents.clone().into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["written"], true);
    let (_, found) = app.get(&format!("/api/v1/residents?id_number={good}")).await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["items"][0]["relation"], "child");
    let (_, v) = import(&app, "name=residents.csv&good_rows_only=true", residents.into_bytes()).await;
    assert_eq!(counts(&v, "residents"), (0, 0, 2), "{v}");
    app.assert_stats_consistent().await;

    // Files that are not spreadsheets of ours: 422 naming the file.
    let (s, v) = import(&app, "name=x.csv", b"a,b\n1,2\n".to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "unreadable_file");
    let (s, v) = import(&app, "name=x.xlsx", b"PK\x03\x04 not really".to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = import(&app, "name=residents.csv", "姓名,户编码,鞋码\n甲,1,42\n".as_bytes().to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["report"]["errors"][0]["code"], "unknown_column");
}

async fn exports_mask_and_log(app: TestApp) {
    let app = app.with_demo().await;
    let shengquan = app.area_id("圣泉社区").await;
    let resp = app
        .client
        .get(format!("{}/api/v1/export?kind=residents&format=csv&area_id={shengquan}", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    let row: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
    assert!(row[0].starts_with("**************"), "ID numbers masked: {row:?}");
    let (_, summary) = app.get(&format!("/api/v1/areas/{shengquan}/summary")).await;
    assert_eq!(text.lines().count() as i64 - 1, summary["residents"].as_i64().unwrap(), "one line per resident");

    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'reveal'")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let revealed =
        export(&app, json!({"kind": "residents", "format": "csv", "area_id": shengquan, "purpose": "census check"}))
            .await;
    let text = String::from_utf8(revealed).unwrap();
    let row: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
    assert!(wangge_core::IdNumber::parse(row[0]).is_ok(), "{row:?}");
    let purpose: String =
        sqlx::query_scalar("SELECT purpose FROM audit_events WHERE action = 'reveal' ORDER BY id DESC LIMIT 1")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(purpose, "census check");
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'reveal'")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(after, before + 1);

    // A unit chief may read but not reveal; without a purpose nothing is revealed.
    let (_, posts) = app.get(&format!("/api/v1/posts?area_id={shengquan}&kind=unit_chief&page_size=1")).await;
    let (_, tok) = app.post("/api/v1/tokens", json!({"post_id": posts["items"][0]["id"], "name": "t"})).await;
    let unit_chief = tok["token"].as_str().unwrap();
    let body = json!({"kind": "residents", "format": "csv", "purpose": "curious"});
    let (s, v) = app.call_as(Some(unit_chief), reqwest::Method::POST, "/api/v1/export", Some(body)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, _) =
        app.call_as(Some(unit_chief), reqwest::Method::GET, "/api/v1/export?kind=houses&format=csv", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app.post("/api/v1/export", json!({"kind": "residents", "format": "csv", "purpose": " "})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app.get("/api/v1/export?format=csv").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "kind");
}

async fn boundaries_import_with_gaps_and_overlaps(app: TestApp) {
    let app = app.with_demo().await;
    let shengquan = app.area_id("圣泉社区").await;
    let (_, grids) = app.get(&format!("/api/v1/areas?parent_id={shengquan}&sort=code")).await;
    let grids = grids["items"].as_array().unwrap().clone();
    let (_, community) = app.get(&format!("/api/v1/areas/{shengquan}/boundary")).await;
    let (first, second) = (&grids[0], &grids[1]);
    // The first grid stretched to cover the second one and beyond the community.
    let (_, g1) = app.get(&format!("/api/v1/areas/{}/boundary", first["id"])).await;
    let (_, g2) = app.get(&format!("/api/v1/areas/{}/boundary", second["id"])).await;
    let xs = |g: &Value| -> (f64, f64, f64, f64) {
        let ring = g["coordinates"][0].as_array().unwrap();
        let x: Vec<f64> = ring.iter().map(|p| p[0].as_f64().unwrap()).collect();
        let y: Vec<f64> = ring.iter().map(|p| p[1].as_f64().unwrap()).collect();
        let min = |v: &[f64]| v.iter().cloned().fold(f64::MAX, f64::min);
        let max = |v: &[f64]| v.iter().cloned().fold(f64::MIN, f64::max);
        (min(&x), min(&y), max(&x), max(&y))
    };
    let (cx0, cy0, cx1, cy1) = xs(&community);
    let (ax0, ay0, _, ay1) = xs(&g1);
    let (_, _, bx1, _) = xs(&g2);
    let stretched = json!({"type": "Polygon", "coordinates": [[[ax0, ay0], [bx1, ay0], [bx1, ay1 + (cy1 - cy0)], [ax0, ay1 + (cy1 - cy0)], [ax0, ay0]]]});
    let file = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": first["code"]}, "geometry": stretched},
    ]});
    let before: Value = app.get(&format!("/api/v1/areas/{}/boundary", first["id"])).await.1;
    let post = |q: &str, body: String| {
        app.client.post(format!("{}/api/v1/boundaries?{q}", app.base)).bearer_auth(&app.token).body(body).send()
    };
    let resp = post("dry_run=true", file.to_string()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let report: Value = resp.json().await.unwrap();
    let kinds: Vec<(&str, &str)> = report["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["kind"].as_str().unwrap(), i["code"].as_str().unwrap()))
        .collect();
    assert!(kinds.contains(&("overlap", first["code"].as_str().unwrap())), "{report}");
    assert!(kinds.contains(&("outside", first["code"].as_str().unwrap())), "{report}");
    assert_eq!(report["written"], false);
    assert_eq!(app.get(&format!("/api/v1/areas/{}/boundary", first["id"])).await.1, before, "a dry run writes nothing");
    let _ = (cx0, cx1);

    // A feature naming no known area: 422 naming it, and nothing written.
    let bad = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": first["code"]}, "geometry": stretched},
        {"type": "Feature", "properties": {"code": "350322999999"}, "geometry": stretched},
    ]});
    let resp = post("", bad.to_string()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["errors"][0]["feature"], 1, "{report}");
    assert_eq!(report["errors"][0]["error"], "unknown_area");
    assert_eq!(app.get(&format!("/api/v1/areas/{}/boundary", first["id"])).await.1, before);

    // Written for real.
    let resp = post("", file.to_string()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (_, after) = app.get(&format!("/api/v1/areas/{}/boundary", first["id"])).await;
    assert_eq!(after, stretched);
    let resp = post("", "not json".into()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
