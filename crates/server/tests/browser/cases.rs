//! A case in the browser: an agent takes the call at a desk, the unit chief signs, responds and
//! resolves it on a phone, and the reporter rates it on the public page on a phone.

use sqlx::Row;
use wangge_core::{Caller, PostKind};
use wangge_store::{NewAccount, NewPost};

use crate::webdriver::Driver;
use crate::{DEMO_PASSWORD, browser_available, check_page, shoot, site};

struct Cast {
    unit_chief: String,
    household_code: String,
    head_name: String,
}

async fn cast(site: &crate::Site) -> Cast {
    let pool = site.store.pool();
    let path: String =
        sqlx::query_scalar("SELECT path FROM areas WHERE name = '圣泉社区'").fetch_one(pool).await.unwrap();
    let row = sqlx::query(
        "SELECT a.login, h.code, r.name FROM areas u \
         JOIN posts p ON p.area_id = u.id AND p.kind = 'unit_chief' AND p.ended_on IS NULL \
         JOIN accounts a ON a.id = p.account_id \
         JOIN households h ON h.unit_id = u.id JOIN residents r ON r.id = h.head_resident_id \
         WHERE u.level = 'unit' AND u.path >= $1 AND u.path < $2 ORDER BY u.path, h.code LIMIT 1",
    )
    .bind(&path)
    .bind(format!("{}0", &path[..path.len() - 1]))
    .fetch_one(pool)
    .await
    .unwrap();
    let system = Caller::system();
    let county: i64 = sqlx::query_scalar("SELECT id FROM areas WHERE level = 'county'").fetch_one(pool).await.unwrap();
    let new = NewAccount {
        login: "agent.browser".into(),
        display_name: "县热线坐席".into(),
        password: Some(DEMO_PASSWORD.into()),
        ..NewAccount::default()
    };
    let (acct, _) = site.store.create_account(&system, new).await.unwrap();
    let post = NewPost {
        account_id: acct.id,
        area_id: Some(county),
        kind: PostKind::HotlineAgent,
        is_primary: true,
        title: None,
        started_on: None,
    };
    site.store.appoint(&system, post).await.unwrap();
    Cast { unit_chief: row.get("login"), household_code: row.get("code"), head_name: row.get("name") }
}

async fn sign_in(b: &crate::webdriver::Browser, base: &str, login: &str) {
    b.goto(&format!("{base}/sign-in")).await;
    b.fill("#login", login).await;
    b.fill("#password", DEMO_PASSWORD).await;
    b.follow("#sign-in").await;
    assert!(b.current_url().await.ends_with("/home"), "{}", b.current_url().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_from_the_call_to_the_rating() {
    if !browser_available() {
        return;
    }
    let site = site().await;
    let cast = cast(&site).await;
    let base = &site.base;
    let driver = Driver::start().await;
    let mut weights = vec![];

    // The agent, at a desk: find the caller, see their earlier cases, take the call.
    let desk = driver.session(1366, 768).await;
    sign_in(&desk, base, "agent.browser").await;
    desk.goto(&format!("{base}/intake")).await;
    desk.fill("#q", &cast.head_name).await;
    desk.follow("#find").await;
    let link = desk.find_link(&cast.household_code).await;
    desk.click_and_load(&link).await;
    assert!(desk.text("#caller").await.contains(&cast.head_name));
    desk.fill("#description", "楼道堆放杂物，堵住了消防通道").await;
    desk.follow("#create-case").await;
    let number = desk.text("#case-number").await;
    let code = desk.text("#new-follow-code").await;
    assert_eq!(number.len(), 14, "{number}");
    assert!(site.store.public_case(&number, &code).await.is_ok(), "the follow code opens the case");
    check_page(&desk, base, "intake-done", &mut weights).await;
    shoot(&desk, "1366x768", "intake-done").await;
    desk.quit().await;

    // The unit chief, on a phone: the case is first in the queue; sign, respond, resolve.
    let phone = driver.session(390, 844).await;
    sign_in(&phone, base, &cast.unit_chief).await;
    phone.goto(&format!("{base}/cases")).await;
    assert!(phone.text("#queue").await.contains("楼道堆放杂物"));
    check_page(&phone, base, "queue", &mut weights).await;
    shoot(&phone, "390x844", "queue").await;
    phone.follow("#queue li a").await;
    for mv in ["sign", "respond"] {
        phone.follow(&format!("#move-{mv} button")).await;
        assert!(phone.try_find("#move-error").await.is_none(), "{mv}: {}", phone.text("#move-error").await);
    }
    phone.fill("#note-resolve", "已清理杂物，通道畅通").await;
    phone.follow("#move-resolve button").await;
    assert_eq!(phone.text("#case-state").await, "已办结");
    assert!(phone.text("#timeline").await.contains("办结"));
    check_page(&phone, base, "case", &mut weights).await;
    shoot(&phone, "390x844", "case").await;
    phone.quit().await;

    // The reporter, on a phone, without an account: follow the case and rate it.
    let reporter = driver.session(390, 844).await;
    reporter.goto(&format!("{base}/sign-in")).await;
    reporter.follow("#track-link").await;
    reporter.fill("#number", &number).await;
    reporter.fill("#code", &code).await;
    reporter.follow("#follow").await;
    assert!(reporter.text("#followed").await.contains("已清理杂物"));
    reporter.click_css("#solved-yes").await;
    reporter.click_css("#sat-basically_satisfied").await;
    check_page(&reporter, base, "track", &mut weights).await;
    shoot(&reporter, "390x844", "track").await;
    reporter.follow("#rate").await;
    assert!(reporter.try_find("#rated").await.is_some(), "{}", reporter.text("body").await);
    reporter.quit().await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM cases WHERE number = $1")
        .bind(&number)
        .fetch_one(site.store.pool())
        .await
        .unwrap();
    let rating = site.store.case(&Caller::system(), id).await.unwrap().rating.expect("rated");
    assert!(rating.solved);
}
