use reqwest::StatusCode;
use serde_json::json;

use crate::TestApp;

crate::on_both_engines!(demo_shengquan_summary, area_tree_lifecycle, unknown_routes_and_health);

async fn demo_shengquan_summary(app: TestApp) {
    let app = app.with_demo().await;
    let id = app.area_id("圣泉社区").await;
    let (s, v) = app.get(&format!("/api/v1/areas/{id}/summary")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["area"]["level"], "community");
    assert_eq!(v["households"], 512);
    assert_eq!(v["children_by_level"]["grid"], 6);
    assert_eq!(v["children_by_level"]["unit"], 25);
    // The demo leaves some posts vacant on purpose; the gaps count exactly those.
    let (_, chiefs) = app.get(&format!("/api/v1/posts?area_id={id}&kind=unit_chief&page_size=200")).await;
    let gaps = v["coverage"]["units_without_unit_chief"].as_i64().unwrap();
    assert!(gaps > 0, "{v}");
    assert_eq!(chiefs["total"].as_i64().unwrap() + gaps, 25);
    let (_, grid_chiefs) = app.get(&format!("/api/v1/posts?area_id={id}&kind=grid_chief")).await;
    assert_eq!(grid_chiefs["total"].as_i64().unwrap() + v["coverage"]["grids_without_grid_chief"].as_i64().unwrap(), 6);
    let by_status: i64 = v["residents_by_status"].as_object().unwrap().values().map(|x| x.as_i64().unwrap()).sum();
    assert_eq!(by_status, v["residents"].as_i64().unwrap());

    // The counters agree with the rows they count.
    let (_, hh) = app.get(&format!("/api/v1/households?area_id={id}&page_size=1")).await;
    assert_eq!(hh["total"], 512);
    let (_, rs) = app.get(&format!("/api/v1/residents?area_id={id}&page_size=1")).await;
    assert_eq!(rs["total"], v["residents"]);
    let (_, vet) = app.get(&format!("/api/v1/residents?area_id={id}&tag=party_member&page_size=1")).await;
    assert_eq!(vet["total"], v["residents_by_tag"]["party_member"]);

    // The county's figures are the sum of its towns'.
    let (_, county) = app.get("/api/v1/areas?level=county").await;
    let county_id = county["items"][0]["id"].as_i64().unwrap();
    let (_, cs) = app.get(&format!("/api/v1/areas/{county_id}/summary")).await;
    let (_, towns) = app.get(&format!("/api/v1/areas/{county_id}/children?page_size=200")).await;
    let mut sum = 0;
    for t in towns["items"].as_array().unwrap() {
        let (_, ts) = app.get(&format!("/api/v1/areas/{}/summary", t["id"])).await;
        sum += ts["households"].as_i64().unwrap();
    }
    assert_eq!(cs["households"].as_i64().unwrap(), sum);
    assert!(sum > 512);
    app.assert_stats_consistent().await;
}

/// Creates county → town → community → grid → unit through the API; returns their ids.
pub async fn small_tree(app: &TestApp) -> [i64; 5] {
    let (s, county) = app.post("/api/v1/areas", json!({"code": "350999", "name": "测试县"})).await;
    assert_eq!(s, StatusCode::CREATED, "{county}");
    assert_eq!(county["level"], "county");
    let mut ids = [county["id"].as_i64().unwrap(), 0, 0, 0, 0];
    let steps = [
        ("350999101", "测试镇"),
        ("350999101001", "测试社区"),
        ("350999101001001", "第一网格"),
        ("350999101001001001", "1单元"),
    ];
    for (i, (code, name)) in steps.iter().enumerate() {
        let (s, a) = app.post("/api/v1/areas", json!({"parent_id": ids[i], "code": code, "name": name})).await;
        assert_eq!(s, StatusCode::CREATED, "{a}");
        ids[i + 1] = a["id"].as_i64().unwrap();
    }
    ids
}

async fn area_tree_lifecycle(app: TestApp) {
    let [county, town, community, grid, unit] = small_tree(&app).await;
    let (_, u) = app.get(&format!("/api/v1/areas/{unit}")).await;
    assert_eq!(u["level"], "unit");
    assert_eq!(u["kind"], "unit");
    assert_eq!(u["path"], format!("/{county}/{town}/{community}/{grid}/{unit}/"));
    assert_eq!(u["county_id"], county);

    // Kinds belong to their level; a subdistrict is a town-level kind.
    let (s, e) = app
        .post("/api/v1/areas", json!({"parent_id": county, "code": "350999102", "name": "X", "kind": "village"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["field"], "kind");
    let (s, sub) = app
        .post(
            "/api/v1/areas",
            json!({"parent_id": county, "code": "350999102", "name": "城关街道", "kind": "subdistrict"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{sub}");
    // A second grid, dedicated, with a unit.
    let (_, g2) = app
        .post(
            "/api/v1/areas",
            json!({"parent_id": community, "code": "350999101001002", "name": "学校网格", "kind": "dedicated"}),
        )
        .await;
    let g2 = g2["id"].as_i64().unwrap();
    let (_, u2) = app
        .post(
            "/api/v1/areas",
            json!({"parent_id": g2, "code": "350999101001002001", "name": "教工楼", "valid_from": "2026-01-01"}),
        )
        .await;
    let u2 = u2["id"].as_i64().unwrap();
    // Nothing goes under a unit, and codes are unique among open areas.
    let (s, e) =
        app.post("/api/v1/areas", json!({"parent_id": unit, "code": "350999101001001001001", "name": "X"})).await;
    assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("parent_id")));
    let (s, e) =
        app.post("/api/v1/areas", json!({"parent_id": community, "code": "350999101001002", "name": "X"})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("code_taken")));

    // Lists: by level, by code prefix, by name, within a subtree, sorted.
    let (_, grids) = app.get("/api/v1/areas?level=grid&sort=-code").await;
    assert_eq!(grids["total"], 2);
    assert_eq!(grids["items"][0]["code"], "350999101001002");
    let (_, pre) = app.get("/api/v1/areas?code=350999101001*").await;
    assert_eq!(pre["total"], 5);
    let (_, named) = app.get("/api/v1/areas?q=网格").await;
    assert_eq!(named["total"], 2);
    let (_, within) = app.get(&format!("/api/v1/areas?within={g2}")).await;
    assert_eq!(within["total"], 2);
    let (_, kids) = app.get(&format!("/api/v1/areas/{community}/children")).await;
    assert_eq!(kids["total"], 2);
    let (_, paged) = app.get("/api/v1/areas?page_size=2&page=2&sort=code").await;
    assert_eq!(paged["items"].as_array().unwrap().len(), 2);
    assert_eq!(paged["total"], 8);

    // The tree, two levels deep from the town.
    let (s, tree) = app.get(&format!("/api/v1/areas/{town}/tree?depth=2")).await;
    assert_eq!(s, StatusCode::OK, "{tree}");
    assert_eq!(tree["children"][0]["id"], community);
    assert_eq!(tree["children"][0]["children"].as_array().unwrap().len(), 2);
    assert!(tree["children"][0]["children"][0]["children"].as_array().unwrap().is_empty());
    let (s, _) = app.get(&format!("/api/v1/areas/{town}/tree?depth=9")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Name and boundary.
    let poly =
        json!({"type": "Polygon", "coordinates": [[[118.6, 25.3], [118.7, 25.3], [118.7, 25.4], [118.6, 25.3]]]});
    let (s, g) = app.patch(&format!("/api/v1/areas/{grid}"), json!({"name": "一号网格", "boundary": poly})).await;
    assert_eq!(s, StatusCode::OK, "{g}");
    assert_eq!((g["name"].as_str(), g["has_boundary"].as_bool()), (Some("一号网格"), Some(true)));
    let (_, b) = app.get(&format!("/api/v1/areas/{grid}/boundary")).await;
    assert_eq!(b, poly);
    let (s, e) = app
        .patch(&format!("/api/v1/areas/{grid}"), json!({"boundary": {"type": "Point", "coordinates": [1, 2]}}))
        .await;
    assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("boundary")));
    let (_, g) = app.patch(&format!("/api/v1/areas/{grid}"), json!({"boundary": null})).await;
    assert_eq!(g["has_boundary"], false);

    // Closing keeps history: a grid with units cannot close; an empty unit closes into its successor.
    let (s, e) = app.post(&format!("/api/v1/areas/{g2}/close"), json!({"successor_id": grid})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("area_not_empty")));
    let (s, e) = app.post(&format!("/api/v1/areas/{u2}/close"), json!({"successor_id": grid})).await;
    assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("successor_id")));
    let (s, closed) =
        app.post(&format!("/api/v1/areas/{u2}/close"), json!({"successor_id": unit, "valid_to": "2026-06-30"})).await;
    assert_eq!(s, StatusCode::OK, "{closed}");
    assert_eq!((closed["valid_to"].as_str(), closed["successor_id"].as_i64()), (Some("2026-06-30"), Some(unit)));
    let (_, open) = app.get(&format!("/api/v1/areas?within={g2}")).await;
    assert_eq!(open["total"], 1);
    let (_, all) = app.get(&format!("/api/v1/areas?within={g2}&include_closed=true")).await;
    assert_eq!(all["total"], 2);
    // The closed code is free again, and the closed unit takes nothing new.
    let (s, _) =
        app.post("/api/v1/areas", json!({"parent_id": g2, "code": "350999101001002001", "name": "新教工楼"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, e) =
        app.post("/api/v1/houses", json!({"unit_id": u2, "code": "3509991010010020010001", "address": "x"})).await;
    assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unit_id")));
    let (_, sum) = app.get(&format!("/api/v1/areas/{community}/summary")).await;
    assert_eq!(sum["children_by_level"]["unit"], 2);
    let _ = sub;
}

async fn unknown_routes_and_health(app: TestApp) {
    let (s, v) = app.get("/api/v1/nothing-here").await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("no_route")));
    let (s, v) = app.get("/api/v1/health").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["engine"],
        match app.engine {
            crate::Engine::Sqlite => "sqlite",
            crate::Engine::Postgres => "postgres",
        }
    );
    let (s, v) = app.get("/api/v1/areas/abc").await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_path")));
    let (s, _) = app.get("/api/v1/areas/424242").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
