//! The staff pages of community services over HTTP: a micro-wish walks from collection to its
//! rating through the pages (the contact reaches the claimer only after approval), a pending
//! award is approved and a posted entry reversed with the balances right after each step, the
//! volunteers, teams, activity and ranking pages; bad input and another grid's chief are
//! refused and write nothing, and a volunteer cannot open the staff pages.

use reqwest::StatusCode;
use wangge_core::ledger::SourceKind;
use wangge_core::{Caller, PostKind};
use wangge_store::{NewAccount, NewPointsRule, NewPost, NewTeam, NewVolunteer, PointsRule};

use crate::web::Web;
use crate::{DEMO_PASSWORD, TestApp};

crate::on_both_engines!(the_staff_pages_walk_wishes_and_the_ledger);

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(app.store.pool()).await.unwrap()
}

/// The rows the services write: "nothing written" means none of these moved.
async fn written(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "SELECT count(*) FROM wishes",
        "SELECT count(*) FROM wish_claims",
        "SELECT count(*) FROM ledger_entries",
        "SELECT count(*) FROM ledger_postings",
        "SELECT count(*) FROM points_accounts",
        "SELECT count(*) FROM activities",
        "SELECT count(*) FROM rankings",
        "SELECT count(*) FROM audit_events",
    ] {
        out.push(count(app, t).await);
    }
    out
}

/// Posts a form of owned values.
async fn post_owned(web: &Web, path: &str, f: &[(&'static str, String)], csrf: bool) -> (StatusCode, String) {
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    web.post(path, &f, csrf).await
}

async fn wish_state(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("SELECT state FROM wishes WHERE id = $1").bind(id).fetch_one(app.store.pool()).await.unwrap()
}

async fn entry_state(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("SELECT state FROM ledger_entries WHERE id = $1")
        .bind(id)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

/// The balance a page shows in `#balance-points`.
fn balance(body: &str) -> i64 {
    let at = body.find("id=\"balance-points\">").expect("a balance") + "id=\"balance-points\">".len();
    body[at..].split('<').next().unwrap().trim().parse().unwrap()
}

async fn rule(app: &TestApp, community: i64, code: &str, source: SourceKind, approve: bool) -> PointsRule {
    let sys = Caller::system();
    let new = NewPointsRule {
        area_id: community,
        code: code.into(),
        name: code.into(),
        source_kind: source,
        points: if source == SourceKind::Wish { 20 } else { 40 },
        threshold: 50,
        approver_kind: PostKind::StationChief,
    };
    let r = app.store.propose_points_rule(&sys, new).await.unwrap();
    if approve { app.store.approve_points_rule(&sys, r.id).await.unwrap() } else { r }
}

async fn the_staff_pages_walk_wishes_and_the_ledger(app: TestApp) {
    let app = app.with_demo().await;
    let sys = Caller::system();
    let community = app.area_id("圣泉社区").await;
    let units = app.staffed_units(community).await;
    let (unit, grid) = units[0];
    let other = units.iter().find(|(_, g)| *g != grid).expect("a second staffed grid").1;
    let sign_in = |area: i64, kind: &'static str| {
        let app = &app;
        async move { Web::sign_in(app, &app.login_of(app.post_at(area, kind).await.unwrap()).await).await }
    };
    let grid_chief = sign_in(grid, "grid_chief").await;
    let chief = sign_in(community, "station_chief").await;
    let stranger = sign_in(other, "grid_chief").await;

    // A volunteer of the community who signs in, the community's approved rules, a resident.
    let (account, _) = app
        .store
        .create_account(
            &sys,
            NewAccount {
                login: "zhiyuan.web".into(),
                display_name: "志愿者小林".into(),
                password: Some(DEMO_PASSWORD.into()),
                ..NewAccount::default()
            },
        )
        .await
        .unwrap();
    let post = NewPost {
        account_id: account.id,
        area_id: Some(community),
        kind: PostKind::Volunteer,
        is_primary: false,
        title: None,
        started_on: None,
    };
    app.store.appoint(&sys, post).await.unwrap();
    let new = NewVolunteer {
        area_id: community,
        account_id: Some(account.id),
        name: "林志远".into(),
        skills: "维修 电工".into(),
        ..Default::default()
    };
    let volunteer_id = app.store.create_volunteer(&sys, new).await.unwrap().id;
    let volunteer = Web::sign_in(&app, "zhiyuan.web").await;
    rule(&app, community, "wish_fulfilled", SourceKind::Wish, true).await;
    let manual = rule(&app, community, "good_deed", SourceKind::Manual, true).await;
    let proposed = rule(&app, community, "proposed_deed", SourceKind::Manual, false).await;
    let (resident, household, name): (i64, i64, String) =
        sqlx::query_as("SELECT id, household_id, name FROM residents WHERE unit_id = $1 ORDER BY id LIMIT 1")
            .bind(unit)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    let r = resident.to_string();

    // Collect a wish for the resident: bad input first, nothing written.
    let (s, body) = grid_chief.get(&format!("/wishes/new?resident_id={r}")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"collect-form\"") && body.contains(&name), "{body}");
    let description = "家里水龙头漏水，想请人修一修";
    let form = |d: &'static str, value: &'static str| {
        vec![
            ("resident_id", r.clone()),
            ("channel", "door_to_door".to_string()),
            ("category", "repair".to_string()),
            ("description", d.to_string()),
            ("estimated_value", value.to_string()),
        ]
    };
    let before = written(&app).await;
    let (s, body) = post_owned(&grid_chief, "/wishes/new", &form("  ", "30"), true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"description-error\""), "{body}");
    let (s, body) = post_owned(&grid_chief, "/wishes/new", &form(description, "many"), true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"estimated_value-error\""), "{body}");
    let (s, _) = post_owned(&grid_chief, "/wishes/new", &form(description, "30"), false).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no CSRF token, no wish");
    // Another grid's chief and a volunteer: refused.
    let (s, _) = post_owned(&stranger, "/wishes/new", &form(description, "30"), true).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = post_owned(&volunteer, "/wishes/new", &form(description, "30"), true).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(written(&app).await, before);

    // An older wish of an empty-nest elderly neighbour, to come first in the list.
    let elder: i64 = sqlx::query_scalar("SELECT id FROM residents WHERE unit_id = $1 AND id <> $2 ORDER BY id LIMIT 1")
        .bind(unit)
        .bind(resident)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let _ = app.store.add_resident_tag(&sys, elder, "empty_nest_elderly", None).await;
    let new = wangge_store::NewWish {
        resident_id: elder,
        channel: wangge_store::WishChannel::Phone,
        category: "company".into(),
        description: "想有人陪着去医院复查".into(),
        estimated_value: 0,
    };
    let first = app.store.collect_wish(&sys, new).await.unwrap();
    assert!(first.public.priority);
    let (s, body) = post_owned(&grid_chief, "/wishes/new", &form(description, "30"), true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let id: i64 = sqlx::query_scalar("SELECT id FROM wishes WHERE description = $1")
        .bind(description)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let page = format!("/wishes/{id}");
    let step = |p: &str| format!("/wishes/{id}/step/{p}");
    assert_eq!(wish_state(&app, id).await, "collected");

    // The list: filters by state, area and words; another grid's chief does not see it.
    for q in ["", "?state=collected", &format!("?area_id={grid}"), "?q=%E6%B0%B4%E9%BE%99%E5%A4%B4"] {
        let (s, body) = grid_chief.get(&format!("/wishes/manage{q}")).await;
        assert_eq!(s, StatusCode::OK, "{q}: {body}");
        assert!(body.contains(&format!("id=\"wish-{id}\"")), "{q}: {body}");
    }
    let (_, body) = grid_chief.get("/wishes/manage").await;
    let at = |w: i64| body.find(&format!("id=\"wish-{w}\"")).unwrap();
    assert!(at(first.public.id) < at(id), "vulnerable groups first: {body}");
    let (_, body) = grid_chief.get("/wishes/manage?state=published").await;
    assert!(!body.contains(&format!("id=\"wish-{id}\"")), "{body}");
    let (s, body) = stranger.get("/wishes/manage").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!body.contains(&format!("id=\"wish-{id}\"")), "{body}");

    // Reviewed and published by the community's head; the grid chief has no such button.
    let (s, body) = grid_chief.get(&page).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(&name) && !body.contains("id=\"publish-form\""), "{body}");
    let (s, body) = chief.get(&page).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"publish-form\"") && body.contains("id=\"reject-form\""), "{body}");
    let (s, body) = chief.post(&step("reject"), &[("note", "")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a rejection is confirmed, with a reason: {body}");
    let (s, body) = chief.post(&step("reject"), &[("confirm", "yes")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(wish_state(&app, id).await, "collected");
    let (s, body) = chief.post(&step("publish"), &[("note", "情况属实")], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(wish_state(&app, id).await, "published");
    let (s, body) = chief.post(&step("publish"), &[], true).await;
    assert_eq!(s, StatusCode::CONFLICT, "a step out of turn: {body}");

    // The volunteer: the board, the masked page, and the claim.
    let (s, body) = volunteer.get("/wishes").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(&format!("id=\"claim-{id}\"")), "{body}");
    let (s, body) = volunteer.get(&page).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(description) && !body.contains(&name), "masked: {body}");
    let (s, body) = volunteer.post(&format!("/wishes/{id}/claim"), &[], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(wish_state(&app, id).await, "claimed");
    let (_, body) = volunteer.get(&page).await;
    assert!(!body.contains("id=\"wish-contact\"") && !body.contains(&name), "no contact before approval: {body}");
    assert!(!body.contains("id=\"fulfil-form\""), "{body}");

    // Another grid's chief: every page and form of the wish refused, nothing written.
    let before = written(&app).await;
    let (s, _) = stranger.get(&page).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for p in ["publish", "reject", "approve-claim", "decline-claim", "fulfil", "confirm"] {
        let (s, _) = stranger.post(&step(p), &[("confirm", "yes"), ("note", "x"), ("rating", "5")], true).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
    }
    // The volunteer cannot take the staff's steps either.
    let (s, _) = volunteer.post(&step("approve-claim"), &[], true).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(written(&app).await, before);

    // The grid chief approves the claim; only now does the claimer see the contact.
    let (_, body) = grid_chief.get(&page).await;
    assert!(body.contains("id=\"approve-claim-form\"") && body.contains("id=\"decline-claim-form\""), "{body}");
    let (s, body) = grid_chief.post(&step("approve-claim"), &[], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, body) = volunteer.get(&page).await;
    assert!(body.contains("id=\"wish-contact\"") && body.contains(&name), "{body}");
    assert!(body.contains("id=\"fulfil-form\""), "{body}");

    // The fulfilment, with a note; then the grid chief confirms and rates for the resident.
    let (s, body) = volunteer.post(&step("fulfil"), &[("note", " ")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(wish_state(&app, id).await, "claimed");
    let (s, body) = volunteer.post(&step("fulfil"), &[("note", "已更换水龙头")], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(wish_state(&app, id).await, "fulfilled");
    let (_, body) = grid_chief.get(&page).await;
    assert!(body.contains("id=\"confirm-form\"") && body.contains("已更换水龙头"), "{body}");
    let (s, body) = grid_chief.post(&step("confirm"), &[("rating", "9")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(wish_state(&app, id).await, "fulfilled");
    let (s, body) = grid_chief.post(&step("confirm"), &[("rating", "5"), ("note", "很满意")], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(wish_state(&app, id).await, "confirmed");
    let (_, body) = chief.get(&format!("/ledger?holder_kind=volunteer&holder_id={volunteer_id}")).await;
    assert_eq!(balance(&body), 20, "the volunteer's points arrive once: {body}");

    // The ledger: a manual award above the threshold waits; bad input writes nothing.
    let h = household.to_string();
    let holder_page = format!("/ledger?holder_kind=household&holder_id={h}");
    let (s, body) = grid_chief.get(&holder_page).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(balance(&body), 0);
    assert!(body.contains("id=\"award-form\""), "{body}");
    let (s, body) = grid_chief.get(&format!("/households/{h}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("id=\"household-points\""), "the household's page links to its points: {body}");
    let award = |rule: i64, qty: &'static str, key: &'static str| {
        vec![
            ("rule_id", rule.to_string()),
            ("holder_kind", "household".to_string()),
            ("holder_id", h.clone()),
            ("quantity", qty.to_string()),
            ("note", "帮助邻居".to_string()),
            ("key", key.to_string()),
        ]
    };
    let before = written(&app).await;
    let (s, body) = post_owned(&grid_chief, "/ledger/award", &award(proposed.id, "2", "k-proposed"), true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "an unapproved rule version: {body}");
    assert!(body.contains("id=\"rule_id-error\""), "{body}");
    let (s, body) = post_owned(&grid_chief, "/ledger/award", &award(manual.id, "two", "k-bad"), true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, body) = post_owned(&grid_chief, "/ledger/award", &award(manual.id, "2", ""), true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "no key: {body}");
    let (s, _) = post_owned(&stranger, "/ledger/award", &award(manual.id, "2", "k-stranger"), true).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another grid's household");
    let (s, _) = post_owned(&volunteer, "/ledger/award", &award(manual.id, "2", "k-volunteer"), true).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = stranger.get(&holder_page).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(written(&app).await, before);

    let (s, body) = post_owned(&grid_chief, "/ledger/award", &award(manual.id, "2", "k-award"), true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let entry: i64 = sqlx::query_scalar("SELECT id FROM ledger_entries WHERE client_key = 'k-award'")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(entry_state(&app, entry).await, "pending");
    let entry_page = format!("/ledger/{entry}");
    let estep = |p: &str| format!("/ledger/{entry}/{p}");
    let (_, body) = grid_chief.get(&format!("{holder_page}&state=pending")).await;
    assert!(body.contains(&format!("id=\"entry-{entry}\"")) && balance(&body) == 0, "{body}");
    let (s, body) = grid_chief.get(&entry_page).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!body.contains("id=\"approve-form\""), "who asked does not approve: {body}");

    // Another grid's chief and the volunteer: refused, nothing written.
    let before = written(&app).await;
    let (s, _) = stranger.get(&entry_page).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for p in ["approve", "reject", "reverse"] {
        let (s, _) = stranger.post(&estep(p), &[("confirm", "yes"), ("note", "x")], true).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
    }
    for p in
        ["/ledger", entry_page.as_str(), "/wishes/manage", "/wishes/new", "/volunteers", "/teams", "/activities/new"]
    {
        let (s, _) = volunteer.get(p).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "a volunteer cannot open {p}");
    }
    let (s, _) = volunteer.post(&estep("approve"), &[], true).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(written(&app).await, before);

    // The station chief approves: the points arrive.
    let (_, body) = chief.get(&entry_page).await;
    assert!(body.contains("id=\"approve-form\"") && body.contains("id=\"reject-form\""), "{body}");
    let (s, body) = chief.post(&estep("approve"), &[], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(entry_state(&app, entry).await, "posted");
    let (_, body) = grid_chief.get(&holder_page).await;
    assert_eq!(balance(&body), 80, "{body}");
    let (_, body) = chief.get(&entry_page).await;
    assert!(body.contains("id=\"postings\"") && body.contains("id=\"reverse-form\""), "{body}");

    // Reversing is confirmed, with a reason; then the points go back.
    let before = written(&app).await;
    let (s, body) = chief.post(&estep("reverse"), &[("note", "登记有误")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, body) = chief.post(&estep("reverse"), &[("confirm", "yes")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, _) = grid_chief.post(&estep("reverse"), &[("confirm", "yes"), ("note", "登记有误")], true).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "entries are reversed by the community's head");
    assert_eq!(written(&app).await, before);
    let (s, body) = chief.post(&estep("reverse"), &[("confirm", "yes"), ("note", "登记有误")], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, body) = grid_chief.get(&holder_page).await;
    assert_eq!(balance(&body), 0, "{body}");
    let (_, body) = grid_chief.get(&format!("{holder_page}&state=reversed")).await;
    assert!(body.contains(&format!("id=\"entry-{entry}\"")), "{body}");
    let (_, body) = chief.get(&entry_page).await;
    assert!(body.contains("id=\"entry-reversed-by\"") && !body.contains("id=\"reverse-form\""), "{body}");
    let (s, body) = chief.post(&estep("reverse"), &[("confirm", "yes"), ("note", "再次")], true).await;
    assert!(s == StatusCode::SEE_OTHER || s == StatusCode::CONFLICT, "a second tap changes nothing: {body}");
    let (_, body) = grid_chief.get(&holder_page).await;
    assert_eq!(balance(&body), 0, "{body}");
    assert!(app.store.verify_ledger().await.unwrap().is_empty());
    let (s, body) = grid_chief.get("/ledger?period=2026-13").await;
    assert_eq!(s, StatusCode::OK, "a bad period is shown, not fatal: {body}");
    assert!(body.contains("id=\"period-error\""), "{body}");
    for q in ["?source=wish", "?source=manual&state=posted", "?period=2026"] {
        let (s, body) = chief.get(&format!("/ledger{q}")).await;
        assert_eq!(s, StatusCode::OK, "{q}: {body}");
    }

    // Volunteers and teams, with their records and balances.
    let team = app
        .store
        .create_team(
            &sys,
            NewTeam {
                area_id: community,
                name: "圣泉法治宣传队".into(),
                kind: "rule_of_law".into(),
                description: String::new(),
            },
        )
        .await
        .unwrap();
    let (s, body) = chief.get("/volunteers?q=%E6%9E%97&skill=%E7%BB%B4%E4%BF%AE").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(&format!("id=\"volunteer-{volunteer_id}\"")), "{body}");
    assert!(body.contains(&format!("/volunteers/{volunteer_id}/record")), "{body}");
    let (_, body) = chief.get("/volunteers?skill=%E5%8E%A8%E5%B8%88").await;
    assert!(!body.contains(&format!("id=\"volunteer-{volunteer_id}\"")), "the skill filter: {body}");
    let (s, body) = chief.get("/teams?q=%E6%B3%95%E6%B2%BB").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(&format!("id=\"team-{}\"", team.id)), "{body}");
    let (s, body) = chief.get(&format!("/volunteers/{volunteer_id}/record")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("id=\"record-points\""), "{body}");

    // An activity announced through the form.
    let (s, body) = chief.get("/activities/new").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let c = community.to_string();
    let activity = |title: &'static str, at: &'static str| {
        vec![
            ("title", title.to_string()),
            ("place", "圣泉社区广场".to_string()),
            ("area_id", c.clone()),
            ("starts_at", at.to_string()),
            ("hours", "2".to_string()),
            ("capacity", "20".to_string()),
            ("people_served", "50".to_string()),
        ]
    };
    let before = written(&app).await;
    let (s, body) = post_owned(&chief, "/activities/new", &activity("普法宣传", "soon"), true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"starts_at-error\""), "{body}");
    let (s, body) = post_owned(&chief, "/activities/new", &activity(" ", "2026-12-05T09:00"), true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, _) = post_owned(&stranger, "/activities/new", &activity("普法宣传", "2026-12-05T09:00"), true).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the community is not theirs");
    assert_eq!(written(&app).await, before);
    let (s, body) = post_owned(&chief, "/activities/new", &activity("普法宣传", "2026-12-05T09:00"), true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, body) = chief.get("/activities").await;
    assert!(body.contains("普法宣传"), "{body}");

    // Rankings: a preview, published by the station chief, listed with a link to its page.
    let year = wangge_store::clock::to_local(app.store.now()).format("%Y").to_string();
    let preview = format!("/rankings?period={year}&area_id={community}&preview=volunteer");
    let (s, body) = chief.get(&preview).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"preview\"") && body.contains("id=\"publish-form\""), "{body}");
    let (s, body) = chief.get(&format!("/rankings?period=20x6&area_id={community}&preview=volunteer")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, _) = grid_chief.get(&preview).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the community is above the grid chief");
    let publish = [("area_id", c.as_str()), ("period", year.as_str()), ("kind", "volunteer")];
    let before = written(&app).await;
    let (s, _) = stranger.post("/rankings/publish", &publish, true).await;
    assert!(s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND, "{s}");
    assert_eq!(written(&app).await, before);
    let (s, body) = chief.post("/rankings/publish", &publish, true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let ranking: i64 = sqlx::query_scalar("SELECT id FROM rankings WHERE area_id = $1")
        .bind(community)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let (s, body) = chief.post("/rankings/publish", &publish, true).await;
    assert_eq!(s, StatusCode::CONFLICT, "published once: {body}");
    for web in [&chief, &volunteer] {
        let (s, body) = web.get(&format!("/rankings?period={year}")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(body.contains(&format!("href=\"/rankings/{ranking}/public\"")), "{body}");
    }
    let (_, body) = chief.get("/rankings?period=1999").await;
    assert!(!body.contains(&format!("id=\"ranking-{ranking}\"")), "the period filter: {body}");
    let (s, body) = chief.get(&format!("/rankings/{ranking}/public")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
}
