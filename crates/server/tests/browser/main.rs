//! Browser tests: Debian's Chromium, headless, driven through chromedriver against the real
//! server with the demo county, on a phone-sized and a desktop-sized window. Screenshots go to
//! `screenshots/` at the workspace root (kept out of git).
//!
//! Without Chromium the tests are skipped, unless `WANGGE_REQUIRE_BROWSER=1` (set by CI).

mod cases;
mod registration;
mod rooms;
mod services;
mod webdriver;

use std::path::PathBuf;

use wangge_core::{IdNumber, Level, PostKind, Scope, Sex};
use wangge_server::Config;
use wangge_store::{AreaFilter, HouseholdFilter, Page, PostFilter, Store};
use webdriver::{Browser, CHROMEDRIVER, CHROMIUM, Driver};

pub const DEMO_PASSWORD: &str = "demo-password-1";
const MAX_PAGE_BYTES: u64 = 200 * 1024;

pub fn browser_available() -> bool {
    let present = std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
    if !present && std::env::var("WANGGE_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!("Chromium and chromedriver are required for this run (apt-get install chromium chromium-driver)");
    }
    if !present {
        eprintln!("skipping the browser tests: install chromium and chromium-driver, or set WANGGE_REQUIRE_BROWSER=1");
    }
    present
}

fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../screenshots")
}

/// The server with the demo county, on a loopback port, reached as `localhost`.
pub struct Site {
    pub base: String,
    pub store: Store,
    _dir: tempfile::TempDir,
}

pub async fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("web.db").display());
    let mut config = Config::for_database(url);
    config.max_connections = 4;
    let app = wangge_server::build(&config).await.expect("the server starts");
    let base = format!("http://localhost:{}", app.port());
    let store = app.store().clone();
    app.spawn();
    let plan = wangge_demo::demo_county(1);
    store.load_plan(&plan, &mut |_, _| {}).await.expect("the demo county loads");
    let f = AreaFilter { level: Some(Level::County), ..Default::default() };
    let county = store.list_areas(&Scope::everything(), &f, Page::new(None, None).unwrap()).await.unwrap().items[0].id;
    store.seed_demo_people(county, DEMO_PASSWORD).await.expect("the demo's people are appointed");
    Site { base, store, _dir: dir }
}

/// A grid chief of the demo, a household of their grid with a head, and a household of
/// another grid.
struct Cast {
    login: String,
    grid_id: i64,
    head_name: String,
    other_household: i64,
    other_grid: i64,
}

async fn cast(store: &Store) -> Cast {
    let all = Scope::everything();
    let page = Page::new(Some(1), Some(200)).unwrap();
    let pf = PostFilter { kind: Some(PostKind::GridChief), ..Default::default() };
    let posts = store.list_posts(&all, &pf, page).await.unwrap().items;
    let mut chosen = None;
    for p in &posts {
        let grid = store.area(&all, p.area_id.unwrap()).await.unwrap();
        let hf = HouseholdFilter { within: Some(grid.id), ..Default::default() };
        let hh = store.list_households(&all, &hf, page).await.unwrap().items;
        if let Some(h) = hh.iter().find(|h| h.head_name.is_some()) {
            chosen = Some((p.clone(), grid, h.head_name.clone().unwrap()));
            break;
        }
    }
    let (post, grid, head_name) = chosen.expect("a grid chief with households");
    let login = store.account(post.account_id).await.unwrap().login;
    let gf = AreaFilter { level: Some(Level::Grid), ..Default::default() };
    let other = store
        .list_areas(&all, &gf, page)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|g| g.id != grid.id && !g.path.starts_with(&grid.path))
        .expect("another grid");
    let hf = HouseholdFilter { within: Some(other.id), ..Default::default() };
    let other_household = store.list_households(&all, &hf, page).await.unwrap().items[0].id;
    Cast { login, grid_id: grid.id, head_name, other_household, other_grid: other.id }
}

/// Checks the page just loaded: nothing requested from another host, and light enough.
pub async fn check_page(b: &Browser, base: &str, name: &str, weights: &mut Vec<String>) {
    for url in b.requested_urls().await {
        let local = url.starts_with(&format!("{base}/")) || url == base || url.starts_with("data:");
        assert!(local, "the page {name} asked another host for {url}");
    }
    let bytes = b.page_weight().await;
    assert!(bytes > 500, "the page {name} weighs only {bytes} bytes: the measure is broken");
    assert!(bytes <= MAX_PAGE_BYTES, "the page {name} weighs {bytes} bytes on first load");
    weights.push(format!("{name}\t{bytes}"));
}

pub async fn shoot(b: &Browser, size: &str, name: &str) {
    b.screenshot(&screenshot_dir().join(size).join(format!("{name}.png"))).await;
}

/// The whole walk of a grid chief, on one window size.
async fn walk(site: &Site, cast: &Cast, b: &Browser, size: &str, seq: u32) -> Vec<String> {
    let base = &site.base;
    let mut weights = vec![];

    // Signing in from a page that needs it comes back to that page.
    b.goto(&format!("{base}/home")).await;
    assert!(b.current_url().await.contains("/sign-in?next=/home"), "{}", b.current_url().await);
    b.fill("#login", &cast.login).await;
    b.fill("#password", "not the password").await;
    b.follow("#sign-in").await;
    assert!(b.text("#sign-in-error").await.contains("账号或密码不对"));
    b.fill("#password", DEMO_PASSWORD).await;
    b.follow("#sign-in").await;
    assert!(b.current_url().await.ends_with("/home"), "{}", b.current_url().await);
    assert!(b.text("#current-post").await.contains("网格长"));
    check_page(b, base, "home", &mut weights).await;
    shoot(b, size, "home").await;

    // Find a household of the grid by its head's name, from the home page's search.
    b.fill("#q", &cast.head_name).await;
    b.follow("#search").await;
    assert!(b.current_url().await.contains("/households?"));
    let results = b.text("#results").await;
    assert!(results.contains(&cast.head_name), "{results}");
    check_page(b, base, "households", &mut weights).await;
    shoot(b, size, "household-list").await;
    let link = b.find_link(&cast.head_name).await;
    b.click_and_load(&link).await;
    assert!(b.current_url().await.contains("/households/"));
    let household_url = b.current_url().await;
    check_page(b, base, "household", &mut weights).await;

    // The household form, for the screenshot and its weight.
    b.goto(&format!("{household_url}/edit")).await;
    b.find("#address").await;
    check_page(b, base, "household-form", &mut weights).await;
    shoot(b, size, "household-form").await;
    b.goto(&household_url).await;

    // Add a resident with a bad ID number: the error shows by the field and nothing is saved.
    b.follow("#add-resident").await;
    let name = format!("测试居民{seq}");
    let good = IdNumber::compose("350322", chrono::NaiveDate::from_ymd_opt(1990, 5, 17).unwrap(), seq, Sex::Female);
    let good = good.as_str().to_string();
    let last = good.chars().last().unwrap();
    let wrong_check = if last == '0' { '1' } else { '0' };
    let bad = format!("{}{wrong_check}", &good[..17]);
    b.fill("#name", &name).await;
    b.fill("#id_number", &bad).await;
    let phone = format!("1380013{:04}", 8000 + seq);
    b.fill("#phone", &phone).await;
    b.follow("#save").await;
    let error = b.text("#id_number-error").await;
    assert!(error.contains("身份证号码不正确"), "{error}");
    let invalid = b.script("return document.getElementById('id_number').getAttribute('aria-invalid')").await;
    assert_eq!(invalid, "true");
    let f = wangge_store::ResidentFilter { q: Some(name.clone()), ..Default::default() };
    let found = site.store.list_residents(&Scope::everything(), &f, Page::new(None, None).unwrap()).await.unwrap();
    assert_eq!(found.total, 0, "a refused form saved nothing");
    // The typed values are kept; fix the number and save.
    assert_eq!(
        b.script("return document.getElementById('name').value").await,
        name.as_str(),
        "{}",
        b.script("return document.forms[0].outerHTML").await
    );
    b.fill("#id_number", &good).await;
    b.follow("#save").await;
    assert!(b.current_url().await.contains("/residents/"), "{}", b.text("body").await);
    assert_eq!(b.text("h1").await, name);
    let found = site.store.list_residents(&Scope::everything(), &f, Page::new(None, None).unwrap()).await.unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.items[0].birth_date.as_deref(), Some("1990-05-17"), "read from the ID number");

    // Reveal the phone: refused without a purpose, shown with one, and logged.
    let masked = b.text("#phone").await;
    assert!(!masked.contains(&phone) && masked.ends_with(&phone[7..]), "{masked}");
    b.follow("#reveal").await;
    assert!(!b.text("#purpose-error").await.is_empty(), "a purpose is required");
    b.fill("#purpose", "核实联系方式，回访独居老人").await;
    b.follow("#reveal").await;
    assert_eq!(b.text("#phone").await, phone);
    let readers = site.store.resident_readers(&Scope::everything(), found.items[0].id).await.unwrap();
    assert_eq!(readers.len(), 1, "the look is in the audit log");

    // The dashboard of the grid.
    b.goto(&format!("{base}/areas/{}/dashboard", cast.grid_id)).await;
    b.find("#figures").await;
    check_page(b, base, "dashboard", &mut weights).await;
    shoot(b, size, "dashboard").await;

    // Another grid's pages: 403.
    b.goto(&format!("{base}/households/{}", cast.other_household)).await;
    assert_eq!(b.text("h1").await, "无权访问");
    assert!(b.title().await.starts_with("无权访问"), "each page has a title");
    b.goto(&format!("{base}/areas/{}", cast.other_grid)).await;
    assert_eq!(b.text("h1").await, "无权访问");
    b.goto(&format!("{base}/areas/{}/dashboard", cast.other_grid)).await;
    assert_eq!(b.text("h1").await, "无权访问");

    // Switch the language: the same page in English, and the choice sticks.
    b.goto(&format!("{base}/home")).await;
    b.follow("#lang-switch").await;
    assert!(b.current_url().await.ends_with("/home"));
    assert_eq!(b.script("return document.documentElement.lang").await, "en");
    assert_eq!(b.text("h1").await, "Home");
    b.goto(&format!("{base}/households/{}", cast.other_household)).await;
    assert_eq!(b.text("h1").await, "Not allowed");

    // Sign out: back at the sign-in page, and the pages ask to sign in again.
    b.goto(&format!("{base}/home")).await;
    b.click_css(".me summary").await;
    b.follow("#sign-out").await;
    assert!(b.current_url().await.contains("/sign-in"));
    b.goto(&format!("{base}/home")).await;
    assert!(b.current_url().await.contains("/sign-in"));
    // Back to Chinese for the next walk.
    b.follow("#lang-switch").await;
    weights
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grid_chief_walks_the_site_on_a_phone_and_a_desktop() {
    if !browser_available() {
        return;
    }
    let site = site().await;
    let cast = cast(&site.store).await;
    let driver = Driver::start().await;
    let mut report = vec![];
    for (seq, (w, h)) in [(390u32, 844u32), (1366, 768)].into_iter().enumerate() {
        let size = format!("{w}x{h}");
        let b = driver.session(w, h).await;
        let weights = walk(&site, &cast, &b, &size, seq as u32 + 1).await;
        b.quit().await;
        report.extend(weights.into_iter().map(|l| format!("{size}\t{l}")));
    }
    std::fs::create_dir_all(screenshot_dir()).unwrap();
    std::fs::write(screenshot_dir().join("page-weights.tsv"), report.join("\n") + "\n").unwrap();
}

/// A county administrator's home is the county dashboard, with its map of towns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn county_admin_home_is_the_dashboard_with_a_map() {
    if !browser_available() {
        return;
    }
    let site = site().await;
    let driver = Driver::start().await;
    for (w, h) in [(390u32, 844u32), (1366, 768)] {
        let b = driver.session(w, h).await;
        b.goto(&format!("{}/sign-in", site.base)).await;
        b.fill("#login", "county-350322").await;
        b.fill("#password", DEMO_PASSWORD).await;
        b.follow("#sign-in").await;
        assert!(b.current_url().await.ends_with("/home"));
        let paths = b.script("return document.querySelectorAll('svg.map path').length").await;
        assert!(paths.as_u64().unwrap() >= 2, "the towns are drawn: {paths}");
        let town = b.text("#map-section tbody tr td").await;
        assert!(!town.is_empty());
        let mut weights = vec![];
        check_page(&b, &site.base, "county-home", &mut weights).await;
        shoot(&b, &format!("{w}x{h}"), "county-dashboard").await;
        b.quit().await;
    }
}
