//! A returnee scans nothing: the walk opens a house plate's link on a phone-sized window,
//! registers a return, and the unit chief accepts it; after the retention period (a fake
//! clock) the submitted fields are gone.

use wangge_core::{PostKind, Scope};
use wangge_store::{HouseFilter, Page, PostFilter};

use super::{DEMO_PASSWORD, browser_available, check_page, shoot, site};
use crate::webdriver::Driver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returnee_registers_from_a_plate_and_the_unit_chief_accepts() {
    if !browser_available() {
        return;
    }
    let site = site().await;
    let all = Scope::everything();
    let page = Page::new(Some(1), Some(200)).unwrap();
    // A unit with a chief and a house where one household lives.
    let pf = PostFilter { kind: Some(PostKind::UnitChief), ..Default::default() };
    let mut chosen = None;
    for post in site.store.list_posts(&all, &pf, page).await.unwrap().items {
        let unit = post.area_id.unwrap();
        let hf = HouseFilter { within: Some(unit), ..Default::default() };
        let houses = site.store.list_houses(&all, &hf, page).await.unwrap().items;
        if let Some(h) = houses.into_iter().find(|h| h.households == 1) {
            chosen = Some((post, unit, h));
            break;
        }
    }
    let (post, unit, house) = chosen.expect("a unit chief with a one-household house");
    let login = site.store.account(post.account_id).await.unwrap().login;
    let plates = site.store.plates(&all, unit, page).await.unwrap().items;
    let plate = plates.iter().find(|p| p.house_id == house.id).unwrap();
    let base = &site.base;
    let driver = Driver::start().await;
    let mut weights = vec![];

    // The returnee, on a phone, with no account.
    let phone = driver.session(390, 844).await;
    phone.goto(&format!("{base}{}", plate.path)).await;
    assert!(phone.text("h1").await.contains("扫码登记"));
    check_page(&phone, base, "register", &mut weights).await;
    shoot(&phone, "390x844", "register").await;
    // Headless Chromium keeps a window at least 500 px wide: compare with the viewport.
    let fits =
        phone.script("return document.documentElement.scrollWidth <= document.documentElement.clientWidth").await;
    assert_eq!(fits, true, "the form fits the window's width");
    phone.click_css("#kind-returnee").await;
    phone.fill("#name", "郑国桢").await;
    phone.fill("#phone", "13859441234").await;
    phone.fill("#returned_from", "广东深圳").await;
    phone.script("document.getElementById('returned_on').value = '2026-01-02'; return 1").await;
    phone.follow("#submit").await;
    assert!(phone.text("#done").await.contains("单元长"), "{}", phone.text("body").await);
    shoot(&phone, "390x844", "register-done").await;
    phone.quit().await;

    // The unit chief, on a phone too: the queue, the request, accept.
    let b = driver.session(390, 844).await;
    b.goto(&format!("{base}/sign-in")).await;
    b.fill("#login", &login).await;
    b.fill("#password", DEMO_PASSWORD).await;
    b.follow("#sign-in").await;
    b.goto(&format!("{base}/change-requests")).await;
    let list = b.text("#results").await;
    assert!(list.contains("郑国桢") && list.contains(&house.code), "{list}");
    check_page(&b, base, "change-requests", &mut weights).await;
    shoot(&b, "390x844", "change-requests").await;
    let link = b.find_link("郑国桢").await;
    b.click_and_load(&link).await;
    assert!(b.text("#request").await.contains("广东深圳"));
    shoot(&b, "390x844", "change-request").await;
    b.follow("#accept").await;
    assert_eq!(b.text("#status").await, "已通过");
    let f = wangge_store::ResidentFilter { q: Some("郑国桢".into()), ..Default::default() };
    let found = site.store.list_residents(&all, &f, Page::new(None, None).unwrap()).await.unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.items[0].status, wangge_core::ResidenceStatus::Returned);
    assert_eq!(
        found.items[0].household_id,
        site.store
            .list_households(
                &all,
                &wangge_store::HouseholdFilter { house_id: Some(house.id), ..Default::default() },
                page
            )
            .await
            .unwrap()
            .items[0]
            .id
    );

    // The plates of the unit, to print.
    b.goto(&format!("{base}/areas/{unit}/plates")).await;
    let codes = b.script("return document.querySelectorAll('.plate .qr svg').length").await.as_u64().unwrap();
    assert!(codes >= 1, "QR codes drawn inline");
    check_page(&b, base, "plates", &mut weights).await;
    shoot(&b, "390x844", "plates").await;

    // After the retention period the submitted fields are gone; the registry keeps its own.
    let purged = site.store.purge_change_requests(chrono::Utc::now() + chrono::Duration::days(91)).await.unwrap();
    assert_eq!(purged, 1);
    b.goto(&format!("{base}/change-requests?status=accepted")).await;
    b.click_and_load(&b.find("#results a").await).await;
    assert!(!b.text("#request").await.contains("广东深圳"));
    b.find("#purged").await;
    assert!(b.try_find("#name").await.is_none());
    b.quit().await;
}
