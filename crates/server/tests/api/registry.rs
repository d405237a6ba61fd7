use reqwest::StatusCode;
use serde_json::json;

use crate::areas::small_tree;
use crate::{TestApp, id_number};

crate::on_both_engines!(registry_lifecycle, searching_residents, concurrent_writes_to_one_unit);

async fn registry_lifecycle(app: TestApp) {
    let [_, _, community, grid, unit] = small_tree(&app).await;
    let (_, u2) =
        app.post("/api/v1/areas", json!({"parent_id": grid, "code": "350999101001001002", "name": "2单元"})).await;
    let u2 = u2["id"].as_i64().unwrap();

    let (s, house) = app
        .post("/api/v1/houses", json!({"unit_id": unit, "code": "3509991010010010010001", "address": "圣泉路1号"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{house}");
    assert_eq!((house["grid_id"].as_i64(), house["households"].as_i64()), (Some(grid), Some(0)));
    let house = house["id"].as_i64().unwrap();
    let (_, sum) = app.get(&format!("/api/v1/areas/{community}/summary")).await;
    assert_eq!((sum["houses"].as_i64(), sum["coverage"]["houses_without_households"].as_i64()), (Some(1), Some(1)));

    // A household in the house takes the house's address by default.
    let (s, hh) = app
        .post("/api/v1/households", json!({"unit_id": unit, "house_id": house, "code": "350999101001001001000101"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hh}");
    assert_eq!(hh["address"], "圣泉路1号");
    let hh = hh["id"].as_i64().unwrap();
    let (_, sum) = app.get(&format!("/api/v1/areas/{community}/summary")).await;
    assert_eq!(sum["coverage"]["houses_without_households"], 0);
    assert_eq!(sum["coverage"]["households_without_head"], 1);

    // The head, registered with an ID number: sex and birth date come from it.
    let head_id = id_number("1961-03-05", 12, true);
    let (s, head) = app
        .post(
            "/api/v1/residents",
            json!({"household_id": hh, "name": "郑国祯", "id_number": head_id, "phone": "13905941234",
                   "relation": "head", "tags": ["party_member", "returnee"], "status": "returned", "since": "2026-01-15"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{head}");
    assert_eq!((head["sex"].as_str(), head["birth_date"].as_str()), (Some("male"), Some("1961-03-05")));
    assert_eq!(head["id_number_masked"], format!("**************{}", &head_id[14..]));
    assert_eq!(head["phone_masked"], "*******1234");
    assert_eq!(head["tags"], json!(["party_member", "returnee"]));
    let head = head["id"].as_i64().unwrap();
    let (_, h) = app.get(&format!("/api/v1/households/{hh}")).await;
    assert_eq!(
        (h["head_resident_id"].as_i64(), h["head_name"].as_str(), h["members"].as_i64()),
        (Some(head), Some("郑国祯"), Some(1))
    );

    // A second head is refused; a spouse is welcome.
    let (s, e) = app.post("/api/v1/residents", json!({"household_id": hh, "name": "林秀英", "relation": "head"})).await;
    assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("relation")));
    let (s, spouse) = app
        .post("/api/v1/residents", json!({"household_id": hh, "name": "林秀英", "sex": "female", "birth_date": "1963-08-01", "relation": "spouse"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{spouse}");
    let spouse = spouse["id"].as_i64().unwrap();
    // The same ID number twice is one person: refused.
    let (s, e) =
        app.post("/api/v1/residents", json!({"household_id": hh, "name": "郑国祯", "id_number": head_id})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("id_number_registered")));

    let (_, sum) = app.get(&format!("/api/v1/areas/{community}/summary")).await;
    assert_eq!(sum["residents"], 2);
    assert_eq!(sum["residents_by_status"], json!({"present": 1, "returned": 1}));
    assert_eq!(sum["residents_by_tag"], json!({"party_member": 1, "returnee": 1}));
    assert_eq!(sum["coverage"]["households_without_head"], 0);

    // Tags are dated: ending one keeps it in the history.
    let (s, r) = app.post(&format!("/api/v1/residents/{spouse}/tags"), json!({"tag": "volunteer"})).await;
    assert_eq!((s, r["tags"].clone()), (StatusCode::OK, json!(["volunteer"])));
    let (s, _) = app.post(&format!("/api/v1/residents/{spouse}/tags"), json!({"tag": "volunteer"})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, e) = app.post(&format!("/api/v1/residents/{spouse}/tags"), json!({"tag": "astronaut"})).await;
    assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("tags")));
    let (s, r) = app
        .call(reqwest::Method::DELETE, &format!("/api/v1/residents/{head}/tags/returnee?until=2026-11-01"), None)
        .await;
    assert_eq!((s, r["tags"].clone()), (StatusCode::OK, json!(["party_member"])));
    let (_, hist) = app.get(&format!("/api/v1/residents/{head}/tags")).await;
    assert_eq!(hist.as_array().unwrap().len(), 2);
    assert!(hist.as_array().unwrap().iter().any(|t| t["tag"] == "returnee" && t["until"] == "2026-11-01"));

    // Status and phone change; a null phone clears it.
    let (s, r) = app.patch(&format!("/api/v1/residents/{head}"), json!({"status": "present", "phone": null})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(r["phone_masked"].is_null());
    let (s, e) = app.patch(&format!("/api/v1/residents/{head}"), json!({"sex": "female"})).await;
    assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("sex")));

    // A household in the second unit, without a house; the head moves there.
    let (s, hh2) = app
        .post("/api/v1/households", json!({"unit_id": u2, "code": "350999101001001002000101", "address": "圣泉路2号"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hh2}");
    let hh2 = hh2["id"].as_i64().unwrap();
    let (s, moved) = app
        .post(
            &format!("/api/v1/residents/{head}/move"),
            json!({"household_id": hh2, "relation": "head", "date": "2026-11-20"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{moved}");
    assert_eq!((moved["household_id"].as_i64(), moved["unit_id"].as_i64()), (Some(hh2), Some(u2)));
    let (_, ms) = app.get(&format!("/api/v1/residents/{head}/memberships")).await;
    assert_eq!(ms.as_array().unwrap().len(), 2);
    assert_eq!(ms[0]["until"], "2026-11-20");
    assert!(ms[1]["until"].is_null());
    let (_, old) = app.get(&format!("/api/v1/households/{hh}")).await;
    assert!(old["head_resident_id"].is_null(), "the old household lost its head: {old}");
    let (s, _) = app.post(&format!("/api/v1/residents/{head}/move"), json!({"household_id": hh2})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // The spouse becomes head of the old household.
    let (s, e) = app.patch(&format!("/api/v1/households/{hh}"), json!({"head_resident_id": head})).await;
    assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("head_resident_id")));
    let (s, h) = app.patch(&format!("/api/v1/households/{hh}"), json!({"head_resident_id": spouse})).await;
    assert_eq!((s, h["head_name"].as_str()), (StatusCode::OK, Some("林秀英")));
    let (_, members) = app.get(&format!("/api/v1/households/{hh}/members")).await;
    assert_eq!(
        members,
        json!([{"resident_id": spouse, "name": "林秀英", "relation": "head", "since": members[0]["since"]}])
    );

    // Households and houses lists.
    let (_, l) = app.get(&format!("/api/v1/households?area_id={u2}")).await;
    assert_eq!(l["total"], 1);
    let (_, l) = app.get("/api/v1/households?q=林秀英").await;
    assert_eq!(l["items"][0]["id"], hh);
    let (_, l) = app.get("/api/v1/houses?empty=false").await;
    assert_eq!(l["total"], 1);
    let (s, h) = app.patch(&format!("/api/v1/houses/{house}"), json!({"address": "圣泉路1号之一"})).await;
    assert_eq!((s, h["address"].as_str()), (StatusCode::OK, Some("圣泉路1号之一")));

    // Moving the whole household to a house of the other unit brings its members along.
    let (_, house2) = app
        .post("/api/v1/houses", json!({"unit_id": u2, "code": "3509991010010010020002", "address": "圣泉路3号"}))
        .await;
    let house2 = house2["id"].as_i64().unwrap();
    let (s, e) = app.patch(&format!("/api/v1/households/{hh}"), json!({"house_id": house2})).await;
    assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("code")));
    let (s, h) = app
        .patch(&format!("/api/v1/households/{hh}"), json!({"house_id": house2, "code": "350999101001001002000201"}))
        .await;
    assert_eq!((s, h["unit_id"].as_i64()), (StatusCode::OK, Some(u2)), "{h}");
    let (_, r) = app.get(&format!("/api/v1/residents/{spouse}")).await;
    assert_eq!(r["unit_id"], u2);
    let (_, s1) = app.get(&format!("/api/v1/areas/{unit}/summary")).await;
    assert_eq!((s1["households"].as_i64(), s1["residents"].as_i64()), (Some(0), Some(0)));
    let (_, s2) = app.get(&format!("/api/v1/areas/{u2}/summary")).await;
    assert_eq!((s2["households"].as_i64(), s2["residents"].as_i64()), (Some(2), Some(2)));
    app.assert_stats_consistent().await;
}

async fn searching_residents(app: TestApp) {
    let app = app.with_demo().await;
    let (_, some) = app.get("/api/v1/residents?page_size=3&sort=id").await;
    let total = some["total"].as_i64().unwrap();
    assert!(total > 20_000);
    let first = &some["items"][0];

    // Exact search by ID number goes through the keyed hash; the number itself is never shown.
    // The demo's first resident (lowest id) is the plan's first.
    let plan = wangge_demo::demo_county(1);
    let full = plan.residents[0].id_number.clone();
    assert_eq!(first["name"], plan.residents[0].name);
    let (s, found) = app.get(&format!("/api/v1/residents?id_number={full}")).await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["id"], first["id"]);
    assert!(!found.to_string().contains(&full));
    let (s, e) = app.get("/api/v1/residents?id_number=350322199001011235").await;
    assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("id_number")));

    // By name part, tag, status and sex; sorted by birth date.
    let name: String = first["name"].as_str().unwrap().chars().take(1).collect();
    let (_, by_name) = app.get(&format!("/api/v1/residents?q={name}&page_size=200")).await;
    assert!(by_name["total"].as_i64().unwrap() >= 1);
    assert!(by_name["items"].as_array().unwrap().iter().all(|r| r["name"].as_str().unwrap().contains(&name)));
    let (_, vets) = app.get("/api/v1/residents?tag=veteran&sex=male&page_size=200").await;
    assert!(vets["total"].as_i64().unwrap() > 0);
    assert!(
        vets["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["sex"] == "male" && r["tags"].as_array().unwrap().contains(&json!("veteran")))
    );
    let (_, away) = app.get("/api/v1/residents?status=away&sort=birth_date&page_size=50").await;
    let births: Vec<&str> =
        away["items"].as_array().unwrap().iter().map(|r| r["birth_date"].as_str().unwrap()).collect();
    assert!(births.windows(2).all(|w| w[0] <= w[1]));
    assert!(away["items"].as_array().unwrap().iter().all(|r| r["status"] == "away"));
    // Pages do not overlap and cover the total.
    let (_, p1) = app.get("/api/v1/residents?status=deceased&page_size=5&page=1&sort=id").await;
    let (_, p2) = app.get("/api/v1/residents?status=deceased&page_size=5&page=2&sort=id").await;
    assert!(p1["items"][4]["id"].as_i64() < p2["items"][0]["id"].as_i64());
    let (s, e) = app.get("/api/v1/residents?sort=salary").await;
    assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("sort")));
    let (s, e) = app.get("/api/v1/residents?status=sleeping").await;
    assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("status")));
}

/// Many writers at once in one unit: every write lands, none fails, and the counters agree.
async fn concurrent_writes_to_one_unit(app: TestApp) {
    let [_, _, _, _, unit] = small_tree(&app).await;
    let (_, hh) = app
        .post(
            "/api/v1/households",
            json!({"unit_id": unit, "code": "350999101001001001000101", "address": "圣泉路9号"}),
        )
        .await;
    let hh = hh["id"].as_i64().unwrap();
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..24u32 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"household_id": hh, "name": format!("居民{i}"), "id_number": id_number("1980-05-05", i, i % 2 == 0),
                              "tags": ["volunteer"]});
            app.post("/api/v1/residents", body).await
        }));
    }
    for t in tasks {
        let (s, v) = t.await.unwrap();
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (_, sum) = app.get(&format!("/api/v1/areas/{unit}/summary")).await;
    assert_eq!(sum["residents"], 24);
    assert_eq!(sum["residents_by_tag"]["volunteer"], 24);
    app.assert_stats_consistent().await;
}
