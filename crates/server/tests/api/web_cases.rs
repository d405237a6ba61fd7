//! Case pages over HTTP, on both engines: an agent takes a call on the intake console, the
//! owner signs, responds and resolves on the case page, the reporter follows and rates it on
//! the public page; another unit's chief can neither see nor move it.

use reqwest::StatusCode;
use sqlx::Row;
use wangge_core::{Caller, PostKind};
use wangge_store::{NewAccount, NewPost};

use crate::web::{Web, enc};
use crate::{DEMO_PASSWORD, TestApp};

crate::on_both_engines!(web_case_from_call_to_rating);

/// A unit of Shengquan with its chief and a household, the chief of a unit in another grid,
/// and a county hotline agent who signs in with the demo password.
struct Cast {
    unit_chief: String,
    other_unit_chief: String,
    agent: String,
    household_code: String,
    head_name: String,
}

async fn cast(app: &TestApp) -> Cast {
    let shengquan = app.area_id("圣泉社区").await;
    let path: String = sqlx::query_scalar("SELECT path FROM areas WHERE id = $1")
        .bind(shengquan)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let rows = sqlx::query(
        "SELECT u.parent_id AS grid, a.login, h.code, r.name FROM areas u \
         JOIN posts p ON p.area_id = u.id AND p.kind = 'unit_chief' AND p.ended_on IS NULL \
         JOIN accounts a ON a.id = p.account_id \
         JOIN households h ON h.unit_id = u.id JOIN residents r ON r.id = h.head_resident_id \
         WHERE u.level = 'unit' AND u.path >= $1 AND u.path < $2 ORDER BY u.path, h.code",
    )
    .bind(&path)
    .bind(format!("{}0", &path[..path.len() - 1]))
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    let first = &rows[0];
    let grid: i64 = first.get("grid");
    let other = rows.iter().find(|r| r.get::<i64, _>("grid") != grid).expect("a unit chief in another grid");
    let system = Caller::system();
    let county = app.area_id("仙游县").await;
    let new = NewAccount {
        login: "agent.web".into(),
        display_name: "县热线坐席".into(),
        password: Some(DEMO_PASSWORD.into()),
        ..NewAccount::default()
    };
    let (acct, _) = app.store.create_account(&system, new).await.unwrap();
    let post = NewPost {
        account_id: acct.id,
        area_id: Some(county),
        kind: PostKind::HotlineAgent,
        is_primary: true,
        title: None,
        started_on: None,
    };
    app.store.appoint(&system, post).await.unwrap();
    Cast {
        unit_chief: first.get("login"),
        other_unit_chief: other.get("login"),
        agent: "agent.web".into(),
        household_code: first.get("code"),
        head_name: first.get("name"),
    }
}

/// The value of `id="NAME"`'s element text, crudely: what follows the tag up to the next `<`.
fn text_of(body: &str, id: &str) -> String {
    let at = body.find(&format!(r#"id="{id}""#)).unwrap_or_else(|| panic!("no #{id} in {body}"));
    let rest = &body[at..];
    let start = rest.find('>').unwrap() + 1;
    rest[start..].split('<').next().unwrap().trim().to_string()
}

async fn web_case_from_call_to_rating(app: TestApp) {
    let app = app.with_demo().await;
    let cast = cast(&app).await;
    let agent = Web::sign_in(&app, &cast.agent).await;

    // The console finds the caller by name, and by household code.
    let (s, body) = agent.get(&format!("/intake?q={}", enc(&cast.head_name))).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(&cast.household_code), "{body}");
    let (s, body) = agent.get(&format!("/intake?q={}", cast.household_code)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(r#"id="found-households""#) && body.contains(&cast.head_name));

    // Bad input: no description, a household code that does not exist; nothing written.
    let cases_before: i64 = sqlx::query_scalar("SELECT count(*) FROM cases").fetch_one(app.store.pool()).await.unwrap();
    let form = [("category", "parking"), ("description", " "), ("reporter", "anonymous"), ("channel", "hotline")];
    let (s, body) = agent.post("/intake", &form, true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains(r#"id="description-error""#), "{body}");
    let form = [
        ("category", "parking"),
        ("description", "车辆占用消防通道"),
        ("reporter", "anonymous"),
        ("location_code", "35032210000100100199"),
    ];
    let (s, body) = agent.post("/intake", &form, true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains(r#"id="location_code-error""#), "{body}");
    let (s, _) = agent.post("/intake", &[("category", "no_such_category"), ("description", "x")], true).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM cases").fetch_one(app.store.pool()).await.unwrap();
    assert_eq!(after, cases_before, "refused intakes wrote nothing");

    // A good call: a number and a follow code at once, routed to the unit chief.
    let form = [
        ("category", "parking"),
        ("description", "楼下车辆长期占用消防通道"),
        ("reporter", "contact"),
        ("contact_name", "林女士"),
        ("contact_phone", "13800001234"),
        ("location_code", cast.household_code.as_str()),
        ("channel", "hotline"),
    ];
    let (s, body) = agent.post("/intake", &form, true).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let number = text_of(&body, "case-number");
    let code = text_of(&body, "new-follow-code");
    assert_eq!(code.len(), 10, "a follow code to read out: {code}");
    assert!(app.store.public_case(&number, &code.to_lowercase()).await.is_ok(), "it opens the case, in any case");
    let id: i64 = sqlx::query_scalar("SELECT id FROM cases WHERE number = $1")
        .bind(&number)
        .fetch_one(app.store.pool())
        .await
        .unwrap();

    // Another unit's chief: no page, no move, not in the list.
    let other = Web::sign_in(&app, &cast.other_unit_chief).await;
    let (s, body) = other.get(&format!("/cases/{id}")).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, _) = other.post(&format!("/cases/{id}/moves/sign"), &[], true).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, body) = other.get("/cases?all=true").await;
    assert!(!body.contains(&number));

    // The owner: in the queue, then sign, respond, resolve.
    let owner = Web::sign_in(&app, &cast.unit_chief).await;
    let (_, body) = owner.get("/cases").await;
    assert!(body.contains(&format!("/cases/{id}")), "the case is in the owner's queue: {body}");
    let (_, body) = owner.get("/home").await;
    assert!(body.contains(&format!("/cases/{id}")), "and on the home page");
    let (s, body) = owner.get(&format!("/cases/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(r#"id="move-sign""#) && !body.contains(r#"id="move-resolve""#), "only what the state allows");
    assert!(body.contains("林女士"), "the owner chain sees the reporter");
    let (s, body) = owner.post(&format!("/cases/{id}/moves/resolve"), &[("note", "x")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not from this state: {body}");
    assert!(body.contains(r#"id="move-error""#));
    for (mv, form) in [("sign", vec![]), ("respond", vec![]), ("resolve", vec![("note", "已联系车主挪车，通道畅通")])]
    {
        let (s, body) = owner.post(&format!("/cases/{id}/moves/{mv}"), &form, true).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{mv}: {body}");
    }
    let (_, body) = owner.get(&format!("/cases/{id}")).await;
    assert_eq!(text_of(&body, "case-state"), "已办结");

    // The reporter follows it with the number and code, and rates it; a wrong code shows nothing.
    let anon = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = anon.get(format!("{}/track?number={number}&code=00000000", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = resp.text().await.unwrap();
    assert!(body.contains(r#"id="track-error""#) && !body.contains(r#"id="followed""#));
    let resp = anon.get(format!("{}/track?number={number}&code={code}", app.base)).send().await.unwrap();
    let body = resp.text().await.unwrap();
    assert!(
        body.contains(r#"id="followed""#) && body.contains("已联系车主挪车") && body.contains(r#"id="rate-form""#),
        "{body}"
    );
    assert!(!body.contains("林女士"), "no names on the public page");
    let resp = anon
        .post(format!("{}/track/rate", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("number={number}&code={code}&solved=true&satisfaction=satisfied"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let v = app.store.case(&Caller::system(), id).await.unwrap();
    let rating = v.rating.expect("rated");
    assert!(rating.solved);
    let resp = anon.get(format!("{}/track?number={number}&code={code}", app.base)).send().await.unwrap();
    let body = resp.text().await.unwrap();
    assert!(body.contains(r#"id="rated""#) && !body.contains(r#"id="rate-form""#));
}
