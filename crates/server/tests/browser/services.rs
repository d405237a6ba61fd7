//! Community services on a phone-sized window: the demo's volunteer in 坝下村 claims a
//! published micro-wish, and a resident redeems an item of the points shop and sees the
//! pickup code.

use wangge_core::ledger::SourceKind;
use wangge_core::{Caller, PostKind, Scope};
use wangge_store::{AreaFilter, Holder, NewAccount, NewAward, NewPointsRule, NewPost, Page, WishFilter};

use super::{DEMO_PASSWORD, browser_available, check_page, shoot, site};
use crate::webdriver::{Browser, Driver};

async fn sign_in(b: &Browser, base: &str, login: &str, password: &str) {
    b.goto(&format!("{base}/sign-in")).await;
    b.fill("#login", login).await;
    b.fill("#password", password).await;
    b.follow("#sign-in").await;
    assert!(b.current_url().await.ends_with("/home"), "{}", b.text("body").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volunteer_claims_a_wish_and_a_resident_redeems_on_a_phone() {
    if !browser_available() {
        return;
    }
    let site = site().await;
    let store = &site.store;
    let all = Scope::everything();
    let sys = Caller::system();
    let page = Page::new(Some(1), Some(200)).unwrap();
    let county = store
        .list_areas(&all, &AreaFilter { q: Some("仙游县".into()), ..Default::default() }, page)
        .await
        .unwrap()
        .items[0]
        .id;
    let report = store.seed_demo_services(county, DEMO_PASSWORD).await.unwrap();
    let base = &site.base;
    let driver = Driver::start().await;
    let mut weights = vec![];

    // The volunteer, on a phone: the published wish, masked, and claim it.
    let open = store
        .list_public_wishes(&all, &WishFilter { state: Some("published".into()), ..Default::default() }, page)
        .await
        .unwrap()
        .items;
    assert_eq!(open.len(), 1, "the demo leaves one wish waiting for a volunteer");
    let wish = &open[0];
    let phone = driver.session(390, 844).await;
    sign_in(&phone, base, &report.volunteer_login, DEMO_PASSWORD).await;
    phone.follow("a[href='/wishes']").await;
    let card = phone.text(&format!("#wish-{}", wish.id)).await;
    assert!(card.contains(&wish.description) && card.contains(&wish.masked_label), "{card}");
    check_page(&phone, base, "wishes", &mut weights).await;
    shoot(&phone, "390x844", "wishes").await;
    let fits =
        phone.script("return document.documentElement.scrollWidth <= document.documentElement.clientWidth").await;
    assert_eq!(fits, true, "the wishes fit the window's width");
    phone.follow(&format!("#claim-{}", wish.id)).await;
    assert!(phone.try_find(&format!("#wish-{}", wish.id)).await.is_none(), "a claimed wish leaves the board");
    let after = store.public_wish(&sys, wish.id).await.unwrap();
    assert_eq!(after.state, "claimed");
    let claim = after.claim.expect("the claim");
    assert_eq!(claim.state, "pending", "it waits for the grid worker");

    // An activity of the village, announced with its code; the volunteer signs up and checks
    // in with the code shown there, and the hours' points arrive.
    let bazhai_id = store
        .list_areas(&all, &AreaFilter { q: Some("坝下村".into()), ..Default::default() }, page)
        .await
        .unwrap()
        .items[0]
        .id;
    let hour_rule = store
        .list_points_rules(&Scope::subtree(store.area(&all, bazhai_id).await.unwrap().path), page)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|r| r.code == "volunteer_hour")
        .unwrap();
    let act = store
        .create_activity(
            &sys,
            wangge_store::NewActivity {
                area_id: bazhai_id,
                team_id: None,
                rule_id: Some(hour_rule.id),
                title: "微心愿收集点值班".into(),
                place: "坝下村综合文化服务中心".into(),
                starts_at: "2026-06-01T01:00:00Z".into(),
                hours: 2,
                capacity: 10,
                people_served: 30,
            },
        )
        .await
        .unwrap();
    phone.follow("a[href='/activities']").await;
    phone.follow(&format!("#signup-{}", act.id)).await;
    assert_eq!(phone.text(&format!("#activity-{} .signed-up", act.id)).await, "1");
    phone.fill(&format!("#code-{}", act.id), "000000x").await;
    phone.follow(&format!("#checkin-{}", act.id)).await;
    assert!(phone.text("[role=alert]").await.contains("签到码不对"), "{}", phone.text("body").await);
    phone.fill(&format!("#code-{}", act.id), act.checkin_code.as_deref().unwrap()).await;
    phone.follow(&format!("#checkin-{}", act.id)).await;
    assert_eq!(phone.text(&format!("#activity-{} .checked-in", act.id)).await, "1", "{}", phone.text("body").await);
    check_page(&phone, base, "activities", &mut weights).await;
    shoot(&phone, "390x844", "activities").await;
    let checked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM activity_signups WHERE checked_in_at IS NOT NULL AND entry_id IS NOT NULL",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(checked, 1, "checked in, with the hours' points");
    phone.quit().await;

    // A resident of 坝下村 with 50 points, on a phone: the shop, redeem a towel (30 points).
    let bazhai = store
        .list_areas(&all, &AreaFilter { q: Some("坝下村".into()), ..Default::default() }, page)
        .await
        .unwrap()
        .items[0]
        .clone();
    let resident = store
        .list_residents(&all, &wangge_store::ResidentFilter { within: Some(bazhai.id), ..Default::default() }, page)
        .await
        .unwrap()
        .items
        .into_iter()
        .last()
        .unwrap();
    let (account, _) = store
        .create_account(
            &sys,
            NewAccount {
                login: "resident.bazhai".into(),
                display_name: resident.name.clone(),
                resident_id: Some(resident.id),
                password: Some(DEMO_PASSWORD.into()),
                ..NewAccount::default()
            },
        )
        .await
        .unwrap();
    let unit = store.resident(&all, resident.id).await.unwrap().unit_id;
    store
        .appoint(
            &sys,
            NewPost {
                account_id: account.id,
                area_id: Some(unit),
                kind: PostKind::HouseholdHead,
                is_primary: false,
                title: None,
                started_on: None,
            },
        )
        .await
        .unwrap();
    let rule = store
        .propose_points_rule(
            &sys,
            NewPointsRule {
                area_id: bazhai.id,
                code: "clean_courtyard".into(),
                name: "庭院整洁".into(),
                source_kind: SourceKind::Manual,
                points: 50,
                threshold: 100,
                approver_kind: PostKind::StationChief,
            },
        )
        .await
        .unwrap();
    store.approve_points_rule(&sys, rule.id).await.unwrap();
    store
        .award_points(
            &sys,
            NewAward {
                rule_id: rule.id,
                holder: Holder::Resident(resident.id),
                quantity: 1,
                source_kind: None,
                source_id: None,
                client_key: "browser-courtyard".into(),
                note: None,
            },
        )
        .await
        .unwrap();
    let b = driver.session(390, 844).await;
    sign_in(&b, base, "resident.bazhai", DEMO_PASSWORD).await;
    b.follow("a[href='/shop']").await;
    assert_eq!(b.text("#points-resident").await, "50");
    check_page(&b, base, "shop", &mut weights).await;
    shoot(&b, "390x844", "shop").await;
    let towel = store.list_shop_items(&Scope::subtree(bazhai.path.clone()), false, page).await.unwrap();
    let towel = towel.items.iter().find(|i| i.name == "毛巾").unwrap().clone();
    b.follow(&format!("#redeem-{}", towel.id)).await;
    assert_eq!(b.text("#points-resident").await, "20", "{}", b.text("body").await);
    let code = b.text(".pickup-code").await;
    assert_eq!(code.len(), 6, "a pickup code is shown: {code}");
    assert_eq!(store.shop_item(&all, towel.id).await.unwrap().stock, towel.stock - 1);
    // Redeeming again with 20 points left is refused on the page, and nothing is taken.
    b.follow(&format!("#redeem-{}", towel.id)).await;
    assert!(b.text("[role=alert]").await.contains("积分不够"), "{}", b.text("body").await);
    assert_eq!(b.text("#points-resident").await, "20");
    assert_eq!(store.shop_item(&all, towel.id).await.unwrap().stock, towel.stock - 1);
    shoot(&b, "390x844", "shop-redeemed").await;
    b.quit().await;
    assert!(store.verify_ledger().await.unwrap().is_empty());
}
