//! Bad input gets a 4xx naming the field, and nothing is written.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::areas::small_tree;
use crate::{TestApp, id_number};

crate::on_both_engines!(bad_input_writes_nothing);

/// A request, and the status and field of the error it must get.
type Case = (Method, String, Option<Value>, StatusCode, Option<&'static str>);

async fn bad_input_writes_nothing(app: TestApp) {
    let [_, _, community, grid, unit] = small_tree(&app).await;
    let (_, hh) = app
        .post("/api/v1/households", json!({"unit_id": unit, "code": "350999101001001001000101", "address": "一号"}))
        .await;
    let hh = hh["id"].as_i64().unwrap();
    let good_id = id_number("1990-01-01", 7, true);
    let mut bad_id = good_id.clone();
    let last = bad_id.pop().unwrap();
    bad_id.push(if last == '1' { '2' } else { '1' });

    let before = app.row_counts().await;
    let cases: Vec<Case> = vec![
        // An ID number with a wrong check digit.
        (
            Method::POST,
            "/api/v1/residents".into(),
            Some(json!({"household_id": hh, "name": "王五", "id_number": bad_id})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("id_number"),
        ),
        // A house code outside its unit's code.
        (
            Method::POST,
            "/api/v1/houses".into(),
            Some(json!({"unit_id": unit, "code": "3509991010010019990001", "address": "x"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("code"),
        ),
        // A household placed in a grid instead of a unit.
        (
            Method::POST,
            "/api/v1/households".into(),
            Some(json!({"unit_id": grid, "code": "350999101001001001000102", "address": "x"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("unit_id"),
        ),
        // An unknown parent area.
        (
            Method::POST,
            "/api/v1/areas".into(),
            Some(json!({"parent_id": 987654, "code": "350999101002", "name": "x"})),
            StatusCode::NOT_FOUND,
            Some("parent_id"),
        ),
        // A page size over the maximum.
        (
            Method::GET,
            "/api/v1/residents?page_size=201".into(),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("page_size"),
        ),
        (Method::GET, "/api/v1/areas?page_size=-1".into(), None, StatusCode::BAD_REQUEST, Some("page_size")),
        // Wrong types, missing and unknown fields.
        (
            Method::POST,
            "/api/v1/areas".into(),
            Some(json!({"parent_id": "one", "code": "350999101002", "name": "x"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("parent_id"),
        ),
        (
            Method::POST,
            "/api/v1/residents".into(),
            Some(json!({"household_id": hh})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("name"),
        ),
        (
            Method::POST,
            "/api/v1/houses".into(),
            Some(json!({"unit_id": unit, "code": "3509991010010010010009", "address": "x", "colour": "red"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("colour"),
        ),
        // Other rules.
        (
            Method::POST,
            "/api/v1/residents".into(),
            Some(json!({"household_id": hh, "name": "王五", "phone": "12ab"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("phone"),
        ),
        (
            Method::POST,
            "/api/v1/residents".into(),
            Some(json!({"household_id": hh, "name": "王五", "birth_date": "1990-02-30"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("birth_date"),
        ),
        (
            Method::POST,
            "/api/v1/residents".into(),
            Some(json!({"household_id": hh, "name": "王五", "id_number": good_id, "birth_date": "1991-01-01"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("birth_date"),
        ),
        (
            Method::POST,
            "/api/v1/residents".into(),
            Some(json!({"household_id": hh, "name": "  "})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("name"),
        ),
        (
            Method::POST,
            "/api/v1/residents".into(),
            Some(json!({"household_id": hh, "name": "王五", "relation": "boss"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("relation"),
        ),
        (
            Method::POST,
            "/api/v1/residents".into(),
            Some(json!({"household_id": hh, "name": "王五", "tags": ["veteran", "nonsense"]})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("tags"),
        ),
        (
            Method::POST,
            "/api/v1/residents".into(),
            Some(json!({"household_id": 99999, "name": "王五"})),
            StatusCode::NOT_FOUND,
            Some("household_id"),
        ),
        (
            Method::POST,
            "/api/v1/areas".into(),
            Some(json!({"parent_id": community, "code": "350999101001001", "name": "x"})),
            StatusCode::CONFLICT,
            Some("code"),
        ),
        (
            Method::POST,
            "/api/v1/areas".into(),
            Some(json!({"parent_id": community, "code": "35099910100199", "name": "x"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("code"),
        ),
        (
            Method::POST,
            "/api/v1/areas".into(),
            Some(json!({"parent_id": community, "code": "350999101001003", "name": "x", "valid_from": "yesterday"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("valid_from"),
        ),
        (
            Method::POST,
            "/api/v1/tags".into(),
            Some(json!({"code": "Bad Tag"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("code"),
        ),
        (
            Method::PATCH,
            format!("/api/v1/households/{hh}"),
            Some(json!({"address": ""})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("address"),
        ),
    ];
    for (method, path, body, status, field) in cases {
        let (s, v) = app.call(method.clone(), &path, body.clone()).await;
        assert_eq!(s, status, "{method} {path} {body:?}: {v}");
        assert_eq!(v["error"]["field"].as_str(), field, "{method} {path} {body:?}: {v}");
        assert!(!v["error"]["message"].as_str().unwrap_or("").is_empty());
    }

    // Malformed JSON and a missing content type.
    let resp = app
        .client
        .post(format!("{}/api/v1/areas", app.base))
        .header("content-type", "application/json")
        .bearer_auth(&app.token)
        .body("{\"parent_id\": 1,")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "malformed_json");
    let resp =
        app.client.post(format!("{}/api/v1/areas", app.base)).bearer_auth(&app.token).body("{}").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    assert_eq!(app.row_counts().await, before, "a refused request wrote something");
}
