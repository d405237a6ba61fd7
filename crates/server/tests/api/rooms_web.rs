//! The staff pages of living rooms and meetings over HTTP, on both engines: a grid chief books
//! the grid's living room, schedules a meeting for a topic that reached its threshold, invites a
//! household, checks residents in (by code, and for a resident with consent), records minutes
//! and a decision voted one ballot per household under a quorum, and files a follow-up case
//! shown on the public page. Bad input is refused with nothing written; another grid's chief is
//! refused every page and form, and nothing is written.

use chrono::{NaiveDate, NaiveDateTime};
use reqwest::StatusCode;
use sqlx::Row;
use wangge_core::Caller;
use wangge_store::clock::FakeClock;
use wangge_store::{NewLivingRoom, NewTopic};

use crate::TestApp;
use crate::web::Web;

crate::on_both_engines!(the_pages_walk_a_booking_and_a_meeting_to_a_follow_up);

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, min, 0).unwrap()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(app.store.pool()).await.unwrap()
}

/// Everything the pages may write, and the audit trail: "nothing written" is this unchanged.
async fn written(app: &TestApp) -> Vec<i64> {
    let mut out = vec![];
    for t in [
        "living_rooms",
        "room_bookings",
        "meetings",
        "meeting_attendees",
        "decisions",
        "decision_votes",
        "follow_ups",
        "cases",
        "topics",
        "audit_events",
    ] {
        out.push(count(app, &format!("SELECT count(*) FROM {t}")).await);
    }
    out.push(count(app, "SELECT count(*) FROM living_rooms WHERE is_open = 1").await);
    out.push(count(app, "SELECT count(*) FROM meeting_attendees WHERE checked_in_at IS NOT NULL").await);
    out.push(count(app, "SELECT count(*) FROM meetings WHERE minutes IS NOT NULL").await);
    out.push(count(app, "SELECT count(*) FROM decisions WHERE state = 'open'").await);
    out
}

/// The check-in codes an invitation shows, once.
fn codes(body: &str) -> Vec<String> {
    body.split("class=\"code invite-code\">").skip(1).map(|s| s.split('<').next().unwrap().to_string()).collect()
}

/// Posts a form of owned values, with the session's token.
async fn post_pairs(web: &Web, path: &str, f: Vec<(&'static str, String)>) -> (StatusCode, String) {
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    web.post(path, &pairs, true).await
}

struct Res {
    id: i64,
    household: i64,
    code: String,
}

async fn residents_of_grid(app: &TestApp, grid: i64) -> Vec<Res> {
    let rows = sqlx::query(
        "SELECT r.id, r.household_id, h.code FROM residents r JOIN households h ON h.id = r.household_id \
         WHERE r.grid_id = $1 ORDER BY r.household_id, r.id",
    )
    .bind(grid)
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    rows.iter().map(|r| Res { id: r.get("id"), household: r.get("household_id"), code: r.get("code") }).collect()
}

async fn the_pages_walk_a_booking_and_a_meeting_to_a_follow_up(app: TestApp) {
    let app = app.with_demo().await;
    app.store.set_clock(FakeClock::at_local(at(2026, 3, 2, 9, 0)));
    let community = app.area_id("圣泉社区").await;
    let units = app.staffed_units(community).await;
    let grid = units[0].1;
    let other = units.iter().find(|(_, g)| *g != grid).expect("a second staffed grid").1;
    let grid_chief = Web::sign_in(&app, &app.login_of(app.post_at(grid, "grid_chief").await.unwrap()).await).await;
    let stranger = Web::sign_in(&app, &app.login_of(app.post_at(other, "grid_chief").await.unwrap()).await).await;

    // The grid's people: a household of two (a, a2), and residents of two other households.
    let people = residents_of_grid(&app, grid).await;
    let pair = people.windows(2).find(|w| w[0].household == w[1].household).expect("a household of two");
    let (a, a2) = (pair[0].id, pair[1].id);
    let a_household = pair[0].household;
    let a_code = pair[0].code.clone();
    let mut others = people.iter().filter(|p| p.household != a_household);
    let b = others.next().unwrap();
    let d = others.find(|p| p.household != b.household).unwrap();
    let outsider = residents_of_grid(&app, other).await.remove(0);

    let system = Caller::system();
    let room = app
        .store
        .create_living_room(
            &system,
            NewLivingRoom {
                area_id: grid,
                name: "兰馨花园邻里客厅".into(),
                address: "兰馨花园3号楼架空层".into(),
                opening_hours: "每天 08:30-21:00".into(),
                capacity: 30,
                keeper_post_id: app.post_at(grid, "grid_chief").await,
            },
        )
        .await
        .unwrap()
        .id;
    let new = NewTopic {
        area_id: grid,
        title: "楼道堆物占道".into(),
        description: "3号楼楼道长期堆放杂物".into(),
        raised_by_resident_id: None,
        threshold: Some(2),
    };
    let topic = app.store.raise_topic(&system, new).await.unwrap().id;
    app.store.support_topic(&system, topic, a).await.unwrap();
    app.store.support_topic(&system, topic, b.id).await.unwrap();

    // The rooms: listed, searched by name, filtered.
    let (s, body) = grid_chief.get("/rooms").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(&format!("id=\"room-{room}\"")) && body.contains("href=\"/rooms\""), "{body}");
    let (_, body) = grid_chief.get(&format!("/rooms?q={}", crate::web::enc("兰馨"))).await;
    assert!(body.contains(&format!("id=\"room-{room}\"")), "{body}");
    let (_, body) = grid_chief.get("/rooms?q=nothing-like-it&open=open").await;
    assert!(body.contains("id=\"no-rooms\""), "{body}");
    let (_, body) = grid_chief.get(&format!("/rooms?area={grid}&open=closed")).await;
    assert!(!body.contains(&format!("id=\"room-{room}\"")), "{body}");

    // The room's page: its facts and this week's calendar.
    let page = format!("/rooms/{room}");
    let (s, body) = grid_chief.get(&page).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("兰馨花园3号楼架空层") && body.contains("每天 08:30-21:00"), "{body}");
    assert!(body.contains("id=\"day-2026-03-02\"") && body.contains("id=\"day-2026-03-08\""), "{body}");
    assert!(body.contains("?week=2026-03-09") && body.contains("?week=2026-02-23"), "{body}");
    assert!(body.contains("id=\"booking-form\"") && body.contains("id=\"schedule-form\""), "{body}");

    // A booking: bad input first, nothing written.
    let book = format!("/rooms/{room}/bookings");
    let was = written(&app).await;
    let (s, body) = grid_chief
        .post(&book, &[("starts_at", "2026-03-03T16:00"), ("ends_at", "2026-03-03T14:00"), ("purpose", "x")], true)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"ends_at-error\""), "{body}");
    let (s, body) = grid_chief
        .post(&book, &[("starts_at", "tomorrow"), ("ends_at", "2026-03-03T14:00"), ("purpose", "x")], true)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let good = [("starts_at", "2026-03-03T14:00"), ("ends_at", "2026-03-03T16:00"), ("purpose", "老年协会书法活动")];
    let (s, _) = grid_chief.post(&book, &good, false).await;
    assert!(s.is_client_error(), "no CSRF token, no booking: {s}");
    assert_eq!(written(&app).await, was);
    let (s, body) = grid_chief.post(&book, &good, true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, body) = grid_chief.get(&format!("{page}?week=2026-03-04")).await;
    assert!(body.contains("老年协会书法活动") && body.contains("14:00–16:00"), "{body}");
    let was = written(&app).await;
    let clash = [("starts_at", "2026-03-03T15:00"), ("ends_at", "2026-03-03T17:00"), ("purpose", "排练")];
    let (s, body) = grid_chief.post(&book, &clash, true).await;
    assert_eq!(s, StatusCode::CONFLICT, "the room is taken: {body}");
    assert!(body.contains("该时段客厅已被预约"), "{body}");
    assert_eq!(written(&app).await, was);

    // The topic reached its threshold: its page offers the schedule form with this room.
    let (s, body) = grid_chief.get(&format!("/topics/{topic}")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"schedule-form\"") && body.contains(&format!("value=\"{room}\"")), "{body}");
    let room_s = room.to_string();
    let topic_s = topic.to_string();
    let meeting_form = |title: &'static str, quorum: &'static str| {
        vec![
            ("room_id", room_s.clone()),
            ("title", title.to_string()),
            ("agenda", "一、楼道堆物整治".to_string()),
            ("starts_at", "2026-03-05T19:30".to_string()),
            ("ends_at", "2026-03-05T21:00".to_string()),
            ("vote_mode", "household".to_string()),
            ("quorum", quorum.to_string()),
            ("topic_ids", topic_s.clone()),
        ]
    };
    let (s, body) = grid_chief.get(&format!("/meetings/new?room_id={room}&topic_id={topic}")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"schedule-form\"") && body.contains(&format!("value=\"{topic}\" checked")), "{body}");
    // Bad input: a quorum that is no number, a missing title, a clash with the booking.
    let (s, body) = post_pairs(&grid_chief, "/meetings", meeting_form("三月居民议事会", "two")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"quorum-error\""), "{body}");
    let (s, body) = post_pairs(&grid_chief, "/meetings", meeting_form(" ", "2")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"title-error\""), "{body}");
    assert_eq!(written(&app).await, was);
    let (s, body) = post_pairs(&grid_chief, "/meetings", meeting_form("三月居民议事会", "2")).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let meeting: i64 = sqlx::query_scalar("SELECT id FROM meetings WHERE title = $1")
        .bind("三月居民议事会")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let (_, body) = grid_chief.get(&format!("/topics/{topic}")).await;
    assert!(!body.contains("id=\"schedule-form\""), "a scheduled topic is not scheduled twice: {body}");
    let (_, body) = grid_chief.get(&format!("{page}?week=2026-03-05")).await;
    assert!(body.contains(&format!("href=\"/meetings/{meeting}\"")), "the meeting is on the calendar: {body}");

    // The meetings list with its filters.
    let (s, body) = grid_chief.get("/meetings").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(&format!("id=\"meeting-{meeting}\"")), "{body}");
    let (_, body) = grid_chief.get("/meetings?state=held").await;
    assert!(!body.contains(&format!("id=\"meeting-{meeting}\"")), "{body}");
    let (_, body) = grid_chief.get(&format!("/meetings?state=scheduled&area={grid}&room={room}")).await;
    assert!(body.contains(&format!("id=\"meeting-{meeting}\"")), "{body}");

    // The meeting's page; the household of two is invited and gets its codes once.
    let mpage = format!("/meetings/{meeting}");
    let (s, body) = grid_chief.get(&mpage).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("一、楼道堆物整治") && body.contains("楼道堆物占道"), "{body}");
    assert!(body.contains(&format!("href=\"/meetings/{meeting}/public\"")), "{body}");
    let (s, body) = grid_chief.post(&format!("{mpage}/invitations"), &[("household_code", "NO-SUCH")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"household_code-error\""), "{body}");
    let (s, body) =
        grid_chief.post(&format!("{mpage}/invitations"), &[("household_code", a_code.as_str())], true).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let invite_codes = codes(&body);
    assert!(invite_codes.len() >= 2, "the household's members: {body}");
    let was = written(&app).await;
    let (s, body) =
        grid_chief.post(&format!("{mpage}/invitations"), &[("household_code", a_code.as_str())], true).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(written(&app).await, was);

    // At the door: by code, twice refused; for a resident, with consent only.
    let check_in = format!("{mpage}/check-ins");
    let (s, body) = grid_chief.post(&check_in, &[("how", "code"), ("code", "WRONG999")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"code-error\"") && body.contains("本次议事会没有这个签到码"), "{body}");
    for code in &invite_codes {
        let (s, body) = grid_chief.post(&check_in, &[("how", "code"), ("code", code.as_str())], true).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    }
    let was = written(&app).await;
    let (s, body) = grid_chief.post(&check_in, &[("how", "code"), ("code", invite_codes[0].as_str())], true).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let b_id = b.id.to_string();
    let (s, body) = grid_chief
        .post(&check_in, &[("how", "staff"), ("other_resident_id", b_id.as_str()), ("consent", "")], true)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"consent-error\""), "{body}");
    let outsider_s = outsider.id.to_string();
    let (s, body) = grid_chief
        .post(&check_in, &[("how", "staff"), ("other_resident_id", outsider_s.as_str()), ("consent", "同意")], true)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "another grid's resident: {body}");
    assert_eq!(written(&app).await, was);
    let (s, body) = grid_chief
        .post(
            &check_in,
            &[("how", "staff"), ("other_resident_id", b_id.as_str()), ("consent", "本人当面同意代为签到")],
            true,
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, body) = grid_chief.get(&mpage).await;
    assert!(body.contains("本人当面同意代为签到") && body.contains("id=\"quorum-met\""), "{body}");
    assert!(body.contains("已召开"), "held from the first check-in: {body}");

    // Minutes, then a decision put to a vote.
    let (s, body) = grid_chief.post(&format!("{mpage}/minutes"), &[("minutes", " ")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, body) = grid_chief.post(&format!("{mpage}/minutes"), &[("minutes", "到会3人，两户。")], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (s, body) = grid_chief.post(&format!("{mpage}/decisions"), &[("body", ""), ("needs_vote", "yes")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"body-error\""), "{body}");
    let (s, body) = grid_chief
        .post(
            &format!("{mpage}/decisions"),
            &[("body", "一周内清理楼道堆物"), ("topic_id", topic_s.as_str()), ("needs_vote", "yes")],
            true,
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let decision: i64 = sqlx::query_scalar("SELECT id FROM decisions WHERE meeting_id = $1")
        .bind(meeting)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let votes = format!("/decisions/{decision}/votes");
    let (_, body) = grid_chief.get(&mpage).await;
    assert!(body.contains(&format!("id=\"vote-form-{decision}\"")), "{body}");

    // Ballots: one per household; nobody outside the area, absent, or twice.
    let a_s = a.to_string();
    let (s, body) = grid_chief.post(&votes, &[("resident_id", a_s.as_str()), ("choice", "yes")], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let was = written(&app).await;
    let a2_s = a2.to_string();
    let (s, body) = grid_chief.post(&votes, &[("resident_id", a2_s.as_str()), ("choice", "no")], true).await;
    assert_eq!(s, StatusCode::CONFLICT, "a second ballot of the household: {body}");
    assert!(body.contains(&format!("id=\"vote-error-{decision}\"")), "{body}");
    let (s, body) = grid_chief.post(&votes, &[("resident_id", outsider_s.as_str()), ("choice", "yes")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a resident outside the area: {body}");
    let d_s = d.id.to_string();
    let (s, body) = grid_chief.post(&votes, &[("resident_id", d_s.as_str()), ("choice", "yes")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a resident not present: {body}");
    assert!(body.contains("只有到会居民可以表决"), "{body}");
    let (s, body) = grid_chief.post(&votes, &[("resident_id", b_id.as_str()), ("choice", "maybe")], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(written(&app).await, was);
    let (s, body) = grid_chief.post(&votes, &[("resident_id", b_id.as_str()), ("choice", "yes")], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let tally: (i64, i64) = sqlx::query_as("SELECT yes_count, no_count FROM decisions WHERE id = $1")
        .bind(decision)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(tally, (2, 0));

    // Closing the vote is confirmed first.
    let close = format!("/decisions/{decision}/close");
    let was = written(&app).await;
    let (s, body) = grid_chief.post(&close, &[], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(written(&app).await, was);
    let (s, body) = grid_chief.post(&close, &[("confirm", "yes")], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let state: String = sqlx::query_scalar("SELECT state FROM decisions WHERE id = $1")
        .bind(decision)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(state, "adopted", "two households of a quorum of two, both for");
    let (s, body) = grid_chief.post(&votes, &[("resident_id", b_id.as_str()), ("choice", "yes")], true).await;
    assert_eq!(s, StatusCode::CONFLICT, "a closed vote takes no ballot: {body}");

    // The follow-up is a case, in one form; its progress shows here and on the public page.
    let fu = format!("/decisions/{decision}/follow-ups");
    let was = written(&app).await;
    let (s, body) = grid_chief
        .post(&fu, &[("action", " "), ("category", "road_occupation"), ("household_code", a_code.as_str())], true)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains(&format!("id=\"action-error-{decision}\"")), "{body}");
    assert_eq!(written(&app).await, was);
    let (s, body) = grid_chief
        .post(
            &fu,
            &[("action", "清理3号楼楼道堆物"), ("category", "road_occupation"), ("household_code", a_code.as_str())],
            true,
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let case: (i64, String) = sqlx::query_as(
        "SELECT c.id, c.number FROM follow_ups f JOIN cases c ON c.id = f.case_id WHERE f.decision_id = $1",
    )
    .bind(decision)
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    let (_, body) = grid_chief.get(&mpage).await;
    assert!(body.contains(&format!("href=\"/cases/{}\"", case.0)) && body.contains(&case.1), "{body}");
    assert!(body.contains("class=\"badge follow-up-"), "{body}");
    let resp = reqwest::get(format!("{}{mpage}/public", app.base)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.unwrap();
    assert!(body.contains("清理3号楼楼道堆物") && body.contains(&case.1), "{body}");

    // Another grid's chief: every page and form refused, nothing written.
    let was = written(&app).await;
    let gets = [
        page.clone(),
        mpage.clone(),
        format!("/meetings/new?room_id={room}"),
        format!("/meetings/new?topic_id={topic}"),
        format!("/meetings?room={room}"),
        format!("/topics/{topic}"),
    ];
    for p in gets {
        let (s, _) = stranger.get(&p).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
    }
    let (_, body) = stranger.get("/rooms").await;
    assert!(!body.contains(&format!("id=\"room-{room}\"")), "{body}");
    let (_, body) = stranger.get("/meetings").await;
    assert!(!body.contains(&format!("id=\"meeting-{meeting}\"")), "{body}");
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (book.clone(), vec![("starts_at", "2026-03-10T09:00"), ("ends_at", "2026-03-10T10:00"), ("purpose", "x")]),
        (format!("{page}/close"), vec![("confirm", "yes")]),
        (format!("{page}/open"), vec![]),
        (format!("{mpage}/invitations"), vec![("household_code", outsider.code.as_str())]),
        (check_in.clone(), vec![("how", "staff"), ("other_resident_id", outsider_s.as_str()), ("consent", "同意")]),
        (format!("{mpage}/minutes"), vec![("minutes", "篡改")]),
        (format!("{mpage}/decisions"), vec![("body", "x")]),
        (votes.clone(), vec![("resident_id", outsider_s.as_str()), ("choice", "yes")]),
        (close.clone(), vec![("confirm", "yes")]),
        (fu.clone(), vec![("action", "x"), ("category", "road_occupation")]),
    ];
    for (p, f) in &forms {
        let (s, _) = stranger.post(p, f, true).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
    }
    let f = meeting_form("别人的议事会", "1");
    let (s, _) = post_pairs(&stranger, "/meetings", f).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(written(&app).await, was);

    // Closing the room is confirmed first; a closed room takes no meeting and no booking.
    let (s, body) = grid_chief.post(&format!("{page}/close"), &[], true).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(written(&app).await, was);
    let (s, body) = grid_chief.post(&format!("{page}/close"), &[("confirm", "yes")], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, body) = grid_chief.get(&page).await;
    assert!(body.contains("id=\"open-form\"") && !body.contains("id=\"booking-form\""), "{body}");
    let was = written(&app).await;
    let mut f = meeting_form("四月居民议事会", "1");
    f.retain(|(k, _)| *k != "topic_ids");
    let (s, body) = post_pairs(&grid_chief, "/meetings", f).await;
    assert_eq!(s, StatusCode::CONFLICT, "a meeting in a closed room: {body}");
    assert!(body.contains("该邻里客厅已关闭"), "{body}");
    let (s, _) = grid_chief
        .post(&book, &[("starts_at", "2026-03-10T09:00"), ("ends_at", "2026-03-10T10:00"), ("purpose", "x")], true)
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(written(&app).await, was);
    let (s, _) = grid_chief.post(&format!("{page}/open"), &[], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, body) = grid_chief.get(&page).await;
    assert!(body.contains("id=\"booking-form\""), "{body}");
}
