//! Living rooms on a phone-sized window: a grid chief records a visit to a household of their
//! grid that files a case in the same step, and a resident supports a topic of their area once.

use wangge_core::{Caller, CaseState, PostKind, Scope};
use wangge_store::{CaseFilter, HouseholdFilter, NewAccount, NewPost, Page};

use super::{DEMO_PASSWORD, browser_available, cast, check_page, shoot, site};
use crate::webdriver::{Browser, Driver};

async fn sign_in(b: &Browser, base: &str, login: &str) {
    b.goto(&format!("{base}/sign-in")).await;
    b.fill("#login", login).await;
    b.fill("#password", DEMO_PASSWORD).await;
    b.follow("#sign-in").await;
    assert!(b.current_url().await.ends_with("/home"), "{}", b.text("body").await);
}

async fn fits(b: &Browser, what: &str) {
    // Headless Chromium keeps a window at least 500 px wide: compare with the viewport.
    let fits = b.script("return document.documentElement.scrollWidth <= document.documentElement.clientWidth").await;
    assert_eq!(fits, true, "{what} fits the window's width");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_chief_records_a_visit_that_files_a_case_on_a_phone() {
    if !browser_available() {
        return;
    }
    let site = site().await;
    let store = &site.store;
    let all = Scope::everything();
    let page = Page::new(Some(1), Some(200)).unwrap();
    let cast = cast(store).await;
    let hf = HouseholdFilter { within: Some(cast.grid_id), ..Default::default() };
    let households = store.list_households(&all, &hf, page).await.unwrap().items;
    let h = households.iter().find(|h| h.head_name.is_some()).expect("a household with a head").clone();
    let base = &site.base;
    let driver = Driver::start().await;
    let mut weights = vec![];

    let b = driver.session(390, 844).await;
    sign_in(&b, base, &cast.login).await;
    b.goto(&format!("{base}/households/{}", h.id)).await;
    b.follow("#household-visits").await;
    assert!(b.current_url().await.ends_with(&format!("/households/{}/visits", h.id)));
    assert!(b.try_find("#no-visits").await.is_some(), "no visits yet");
    check_page(&b, base, "visits", &mut weights).await;
    fits(&b, "the visit form").await;
    let found = "楼道堆放纸箱杂物，堵住消防通道";
    b.fill("#found", found).await;
    b.fill("#follow_up", "三天后回访").await;
    b.script("document.getElementById('case_category').value = 'dirty_road'; return 1").await;
    b.follow("#record-visit").await;
    assert!(b.current_url().await.ends_with(&format!("/households/{}/visits", h.id)), "{}", b.text("body").await);
    let history = b.text("#visits").await;
    assert!(history.contains(found) && history.contains("诉求"), "{history}");
    shoot(&b, "390x844", "visit-recorded").await;

    // One visit, with its case: the household's, taken down by the grid chief and waiting in
    // the filing queue of its community's station chief (the community files and dispatches).
    let (visit_id, case_id): (i64, Option<i64>) =
        sqlx::query_as("SELECT id, case_id FROM visits WHERE household_id = $1 AND found = $2")
            .bind(h.id)
            .bind(found)
            .fetch_one(store.pool())
            .await
            .expect("the visit is saved");
    let case_id = case_id.expect("the visit filed a case");
    let case = store.case(&Caller::system(), case_id).await.unwrap();
    assert_eq!(case.household_id, Some(h.id), "visit {visit_id}");
    assert_eq!(case.category, "dirty_road");
    assert_eq!(case.state, CaseState::Received);
    let (station, account): (i64, i64) = sqlx::query_as(
        "SELECT p.id, p.account_id FROM posts p JOIN areas g ON g.parent_id = p.area_id \
         WHERE g.id = $1 AND p.kind = 'station_chief' AND p.is_primary = 1 AND p.ended_on IS NULL",
    )
    .bind(cast.grid_id)
    .fetch_one(store.pool())
    .await
    .expect("the community's station chief");
    let station = store.caller_for_post(account, station).await.unwrap().unwrap();
    let f = CaseFilter { state: Some(CaseState::Received), within: Some(cast.grid_id), ..Default::default() };
    let queue = store.list_cases(&station, &f, page).await.unwrap().items;
    assert!(queue.iter().any(|c| c.id == case_id), "the case waits in the station chief's filing queue");
    // The station chief of another community does not see it.
    let other_station: Option<(i64, i64)> = sqlx::query_as(
        "SELECT p.id, p.account_id FROM posts p JOIN areas g ON g.parent_id = p.area_id \
         WHERE g.id = $1 AND p.kind = 'station_chief' AND p.is_primary = 1 AND p.ended_on IS NULL",
    )
    .bind(cast.other_grid)
    .fetch_optional(store.pool())
    .await
    .unwrap();
    if let Some(other_station) = other_station.filter(|o| Some(o.0) != station.post_id) {
        let other = store.caller_for_post(other_station.1, other_station.0).await.unwrap().unwrap();
        let f = CaseFilter { state: Some(CaseState::Received), ..Default::default() };
        let theirs = store.list_cases(&other, &f, page).await.unwrap().items;
        assert!(theirs.iter().all(|c| c.id != case_id));
    }

    // A visit with nothing found is refused by the field, and nothing more is written.
    b.follow("#record-visit").await;
    assert!(!b.text("#found-error").await.is_empty(), "{}", b.text("body").await);
    let visits: i64 = sqlx::query_scalar("SELECT count(*) FROM visits WHERE household_id = $1")
        .bind(h.id)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(visits, 1);
    // Another grid's household: not allowed.
    b.goto(&format!("{base}/households/{}/visits", cast.other_household)).await;
    assert_eq!(b.text("h1").await, "无权访问");
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_supports_a_topic_of_their_area_on_a_phone() {
    if !browser_available() {
        return;
    }
    let site = site().await;
    let store = &site.store;
    let all = Scope::everything();
    let sys = Caller::system();
    store.seed_demo_rooms().await.expect("the living rooms' story is told");
    // The demo's topic downstairs of Hongqiao's self-built houses, still collecting supports.
    let (topic_id, grid): (i64, i64) =
        sqlx::query_as("SELECT id, area_id FROM topics WHERE title = '自建房片区电动车集中充电点'")
            .fetch_one(store.pool())
            .await
            .expect("the demo's open topic");
    let before = store.topic(&sys, topic_id).await.unwrap().supports;
    let resident: i64 = sqlx::query_scalar(
        "SELECT max(id) FROM residents WHERE grid_id = $1 AND id NOT IN \
         (SELECT resident_id FROM topic_supports WHERE topic_id = $2)",
    )
    .bind(grid)
    .bind(topic_id)
    .fetch_one(store.pool())
    .await
    .unwrap();
    let r = store.resident(&all, resident).await.unwrap();
    let (account, _) = store
        .create_account(
            &sys,
            NewAccount {
                login: "resident.hongqiao".into(),
                display_name: r.name.clone(),
                resident_id: Some(resident),
                password: Some(DEMO_PASSWORD.into()),
                ..NewAccount::default()
            },
        )
        .await
        .unwrap();
    store
        .appoint(
            &sys,
            NewPost {
                account_id: account.id,
                area_id: Some(r.unit_id),
                kind: PostKind::HouseholdHead,
                is_primary: false,
                title: None,
                started_on: None,
            },
        )
        .await
        .unwrap();
    // A topic of another area, which this resident does not see.
    let lanxin: i64 = sqlx::query_scalar("SELECT area_id FROM topics WHERE title = '小区卫生脏乱'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_ne!(lanxin, grid);
    let elsewhere: i64 = sqlx::query_scalar("SELECT id FROM topics WHERE area_id = $1 ORDER BY id LIMIT 1")
        .bind(lanxin)
        .fetch_one(store.pool())
        .await
        .unwrap();

    let base = &site.base;
    let driver = Driver::start().await;
    let mut weights = vec![];
    let b = driver.session(390, 844).await;
    sign_in(&b, base, "resident.hongqiao").await;
    b.follow("a[href='/topics']").await;
    let card = b.text(&format!("#topic-{topic_id}")).await;
    assert!(card.contains("自建房片区电动车集中充电点") && card.contains(&format!("{before} / 20")), "{card}");
    assert!(b.try_find(&format!("#topic-{elsewhere}")).await.is_none(), "another area's topic is not listed");
    check_page(&b, base, "topics", &mut weights).await;
    fits(&b, "the topics").await;
    shoot(&b, "390x844", "topics").await;
    b.follow(&format!("#topic-{topic_id} a")).await;
    assert_eq!(b.text("#supports").await, before.to_string());
    assert!(b.try_find("#you-support").await.is_none());
    b.follow("#support").await;
    assert_eq!(b.text("#supports").await, (before + 1).to_string(), "{}", b.text("body").await);
    assert!(b.text("#you-support").await.contains("您已支持"));
    check_page(&b, base, "topic", &mut weights).await;
    fits(&b, "the topic").await;
    shoot(&b, "390x844", "topic-supported").await;
    // A second support is refused on the page, and nothing is counted twice.
    b.follow("#support").await;
    let refusal = b.text("#support-error").await;
    assert!(refusal.contains("已经支持过"), "{refusal}");
    assert_eq!(b.text("#supports").await, (before + 1).to_string());
    let t = store.topic(&sys, topic_id).await.unwrap();
    assert_eq!(t.supports, before + 1);
    let mine: i64 = sqlx::query_scalar("SELECT count(*) FROM topic_supports WHERE topic_id = $1 AND resident_id = $2")
        .bind(topic_id)
        .bind(resident)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mine, 1);
    // Another area's topic: not allowed, and supporting it writes nothing.
    b.goto(&format!("{base}/topics/{elsewhere}")).await;
    assert_eq!(b.text("h1").await, "无权访问");
    b.quit().await;
}
