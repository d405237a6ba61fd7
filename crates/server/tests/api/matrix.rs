//! Every route of `/api/v1`, read from the OpenAPI document, tried by callers whose scope does
//! not cover the target records: a grid chief of one grid, a unit chief of another unit, an
//! administrator of another town, and an anonymous caller. Each must get 403 or 404, with
//! nothing returned and nothing changed. A new route without an entry here fails the test,
//! so that no route ships without its scope being tried.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::TestApp;

crate::on_both_engines!(no_caller_reaches_outside_its_scope, open311_writes_need_a_key_within_its_scope);

/// Records of Hongqiao Community, outside every caller's scope.
struct Targets {
    community: i64,
    grid: i64,
    unit: i64,
    house: i64,
    household: i64,
    resident: i64,
    post: i64,
    account: i64,
    token: i64,
    /// A household inside the caller's own scope, for moves out of the target.
    own_household: i64,
    party_org: i64,
    party_member: i64,
    /// A party member with contact households, and one of those assignments.
    party_resident: i64,
    contact: i64,
    co_building_unit: i64,
    county: i64,
    /// A case in a Hongqiao unit with a photo, and an item of its owner's inbox.
    case: i64,
    photo: i64,
    inbox_item: i64,
    /// A self-registration at a house of the target unit.
    change_request: i64,
    /// An import from the web by the target community's station chief, waiting as a preview.
    import_job: i64,
    /// Community services in Hongqiao (see `services_targets`).
    sv: crate::services::Targets,
    /// Living-room records of the target community (see `rooms.rs`).
    rooms: RoomTargets,
}

struct RoomTargets {
    room: i64,
    topic: i64,
    meeting: i64,
    decision: i64,
    mediation: i64,
    dispute: i64,
    visit: i64,
    notice: i64,
}

/// Routes anyone may call, or that act on the caller's own session only.
const PUBLIC_OR_OWN: &[(&str, &str)] = &[
    ("GET", "/api/v1/health"),
    ("POST", "/api/v1/session"),
    ("GET", "/api/v1/session"),
    ("DELETE", "/api/v1/session"),
    ("PUT", "/api/v1/session/post"),
    ("PUT", "/api/v1/session/password"),
    // The reporter's own case, opened by its follow token (tested in cases.rs).
    ("GET", "/api/v1/public/cases/{number}"),
    ("POST", "/api/v1/public/cases/{number}/rating"),
    ("POST", "/api/v1/public/cases/{number}/not-fixed"),
    // Meetings' decisions and published notices are public by design (tested in rooms.rs).
    ("GET", "/api/v1/public/meetings"),
    ("GET", "/api/v1/public/meetings/{id}"),
    ("GET", "/api/v1/public/notices"),
    // The caller's own points accounts.
    ("GET", "/api/v1/points/mine"),
    // Published rankings are public by design (tested in stars.rs).
    ("GET", "/api/v1/public/rankings"),
    ("GET", "/api/v1/public/rankings/{id}"),
];

/// The concrete request that aims a route at the target records.
fn request(method: &str, path: &str, t: &Targets) -> Option<(String, Option<Value>)> {
    let code = "350322001001009";
    let r = |p: String| Some((p, None));
    let b = |p: String, v: Value| Some((p, Some(v)));
    match (method, path) {
        ("GET", "/api/v1/areas") => r(format!("/api/v1/areas?within={}", t.community)),
        ("POST", "/api/v1/areas") => {
            b("/api/v1/areas".into(), json!({"parent_id": t.community, "code": code, "name": "x"}))
        }
        ("GET", "/api/v1/areas/{id}") => r(format!("/api/v1/areas/{}", t.grid)),
        ("PATCH", "/api/v1/areas/{id}") => b(format!("/api/v1/areas/{}", t.grid), json!({"name": "x"})),
        ("GET", "/api/v1/areas/{id}/children") => r(format!("/api/v1/areas/{}/children", t.community)),
        ("GET", "/api/v1/areas/{id}/summary") => r(format!("/api/v1/areas/{}/summary", t.community)),
        ("GET", "/api/v1/areas/{id}/tree") => r(format!("/api/v1/areas/{}/tree", t.community)),
        ("GET", "/api/v1/areas/{id}/boundary") => r(format!("/api/v1/areas/{}/boundary", t.grid)),
        ("POST", "/api/v1/areas/{id}/close") => b(format!("/api/v1/areas/{}/close", t.unit), json!({})),
        ("GET", "/api/v1/houses") => r(format!("/api/v1/houses?area_id={}", t.community)),
        ("POST", "/api/v1/houses") => {
            b("/api/v1/houses".into(), json!({"unit_id": t.unit, "code": "3503220010010010019999", "address": "x"}))
        }
        ("GET", "/api/v1/houses/{id}") => r(format!("/api/v1/houses/{}", t.house)),
        ("PATCH", "/api/v1/houses/{id}") => b(format!("/api/v1/houses/{}", t.house), json!({"address": "x"})),
        ("GET", "/api/v1/households") => r(format!("/api/v1/households?area_id={}", t.community)),
        ("POST", "/api/v1/households") => b(
            "/api/v1/households".into(),
            json!({"unit_id": t.unit, "code": "350322001001001001999901", "address": "x"}),
        ),
        ("GET", "/api/v1/households/{id}") => r(format!("/api/v1/households/{}", t.household)),
        ("PATCH", "/api/v1/households/{id}") => {
            b(format!("/api/v1/households/{}", t.household), json!({"address": "x"}))
        }
        ("GET", "/api/v1/households/{id}/members") => r(format!("/api/v1/households/{}/members", t.household)),
        ("GET", "/api/v1/residents") => r(format!("/api/v1/residents?area_id={}", t.community)),
        ("POST", "/api/v1/residents") => {
            b("/api/v1/residents".into(), json!({"household_id": t.household, "name": "x"}))
        }
        ("GET", "/api/v1/residents/{id}") => r(format!("/api/v1/residents/{}", t.resident)),
        ("PATCH", "/api/v1/residents/{id}") => b(format!("/api/v1/residents/{}", t.resident), json!({"name": "x"})),
        ("POST", "/api/v1/residents/{id}/move") => {
            b(format!("/api/v1/residents/{}/move", t.resident), json!({"household_id": t.own_household}))
        }
        ("GET", "/api/v1/residents/{id}/memberships") => r(format!("/api/v1/residents/{}/memberships", t.resident)),
        ("GET", "/api/v1/residents/{id}/tags") => r(format!("/api/v1/residents/{}/tags", t.resident)),
        ("POST", "/api/v1/residents/{id}/tags") => {
            b(format!("/api/v1/residents/{}/tags", t.resident), json!({"tag": "deputy"}))
        }
        ("DELETE", "/api/v1/residents/{id}/tags/{tag}") => {
            r(format!("/api/v1/residents/{}/tags/volunteer", t.resident))
        }
        ("POST", "/api/v1/residents/{id}/reveal") => {
            b(format!("/api/v1/residents/{}/reveal", t.resident), json!({"purpose": "checking a case"}))
        }
        ("GET", "/api/v1/residents/{id}/readers") => r(format!("/api/v1/residents/{}/readers", t.resident)),
        ("GET", "/api/v1/tags") => r("/api/v1/tags".into()),
        ("POST", "/api/v1/tags") => b("/api/v1/tags".into(), json!({"code": "matrix_tag"})),
        ("POST", "/api/v1/accounts") => b("/api/v1/accounts".into(), json!({"login": "matrix.x", "display_name": "x"})),
        ("GET", "/api/v1/accounts/{id}") => r(format!("/api/v1/accounts/{}", t.account)),
        ("POST", "/api/v1/accounts/{id}/disable") => b(format!("/api/v1/accounts/{}/disable", t.account), json!({})),
        ("POST", "/api/v1/accounts/{id}/reset-password") => {
            b(format!("/api/v1/accounts/{}/reset-password", t.account), json!({}))
        }
        ("GET", "/api/v1/posts") => r(format!("/api/v1/posts?area_id={}", t.community)),
        ("POST", "/api/v1/posts") => b(
            "/api/v1/posts".into(),
            json!({"account_id": t.account, "area_id": t.unit, "kind": "unit_chief", "is_primary": false}),
        ),
        ("GET", "/api/v1/posts/{id}") => r(format!("/api/v1/posts/{}", t.post)),
        ("POST", "/api/v1/posts/{id}/end") => b(format!("/api/v1/posts/{}/end", t.post), json!({})),
        ("POST", "/api/v1/tokens") => b("/api/v1/tokens".into(), json!({"post_id": t.post, "name": "x"})),
        ("DELETE", "/api/v1/tokens/{id}") => r(format!("/api/v1/tokens/{}", t.token)),
        ("GET", "/api/v1/audit") => r(format!("/api/v1/audit?area_id={}", t.community)),
        ("GET", "/api/v1/party/organisations") => r(format!("/api/v1/party/organisations?area_id={}", t.community)),
        ("POST", "/api/v1/party/organisations") => {
            b("/api/v1/party/organisations".into(), json!({"area_id": t.grid, "kind": "party_branch", "name": "x"}))
        }
        ("GET", "/api/v1/party/organisations/{id}") => r(format!("/api/v1/party/organisations/{}", t.party_org)),
        ("GET", "/api/v1/party/organisations/{id}/members") => {
            r(format!("/api/v1/party/organisations/{}/members", t.party_org))
        }
        ("POST", "/api/v1/party/organisations/{id}/members") => {
            b(format!("/api/v1/party/organisations/{}/members", t.party_org), json!({"resident_id": t.party_resident}))
        }
        ("POST", "/api/v1/party/members/{id}/end") => {
            b(format!("/api/v1/party/members/{}/end", t.party_member), json!({}))
        }
        ("GET", "/api/v1/party/contacts") => r(format!("/api/v1/party/contacts?area_id={}", t.community)),
        ("POST", "/api/v1/party/contacts") => {
            b("/api/v1/party/contacts".into(), json!({"resident_id": t.party_resident, "household_id": t.household}))
        }
        ("POST", "/api/v1/party/contacts/{id}/end") => {
            b(format!("/api/v1/party/contacts/{}/end", t.contact), json!({}))
        }
        ("GET", "/api/v1/party/co-building-units") => {
            r(format!("/api/v1/party/co-building-units?area_id={}", t.community))
        }
        ("POST", "/api/v1/party/co-building-units") => {
            b("/api/v1/party/co-building-units".into(), json!({"grid_id": t.grid, "name": "x", "kind": "enterprise"}))
        }
        ("GET", "/api/v1/party/co-building-units/{id}") => {
            r(format!("/api/v1/party/co-building-units/{}", t.co_building_unit))
        }
        ("POST", "/api/v1/party/co-building-units/{id}/end") => {
            b(format!("/api/v1/party/co-building-units/{}/end", t.co_building_unit), json!({}))
        }
        ("GET", "/api/v1/cases") => r(format!("/api/v1/cases?area_id={}", t.community)),
        ("POST", "/api/v1/cases") => b(
            "/api/v1/cases".into(),
            json!({"category": "parking", "channel": "hotline", "description": "x", "reporter": {"kind": "anonymous"},
                   "area_id": t.unit}),
        ),
        ("GET", "/api/v1/cases/export") => r(format!("/api/v1/cases/export?format=csv&area_id={}", t.community)),
        ("GET", "/api/v1/cases/{id}") => r(format!("/api/v1/cases/{}", t.case)),
        ("GET", "/api/v1/cases/{id}/events") => r(format!("/api/v1/cases/{}/events", t.case)),
        ("GET", "/api/v1/cases/{id}/outbox") => r(format!("/api/v1/cases/{}/outbox", t.case)),
        ("GET", "/api/v1/cases/{id}/photos/{photo_id}") => r(format!("/api/v1/cases/{}/photos/{}", t.case, t.photo)),
        ("POST", "/api/v1/cases/{id}/moves/{move}") => {
            b(format!("/api/v1/cases/{}/moves/comment", t.case), json!({"note": "x"}))
        }
        ("GET", "/api/v1/categories") => r("/api/v1/categories".into()),
        ("GET", "/api/v1/categories/{code}") => r("/api/v1/categories/parking".into()),
        ("PATCH", "/api/v1/categories/{code}") => b("/api/v1/categories/parking".into(), json!({"name_en": "x"})),
        ("GET", "/api/v1/inbox") => r("/api/v1/inbox".into()),
        ("POST", "/api/v1/inbox/{id}/read") => b(format!("/api/v1/inbox/{}/read", t.inbox_item), json!({})),
        ("GET", "/api/v1/rates") => r(format!("/api/v1/rates?area_id={}", t.community)),
        ("GET", "/api/v1/calendars/{county_id}") => r(format!("/api/v1/calendars/{}", t.county)),
        ("PUT", "/api/v1/calendars/{county_id}") => {
            b(format!("/api/v1/calendars/{}", t.county), json!({"periods": [{"start": "09:00:00", "end": "17:00:00"}]}))
        }
        ("GET", "/api/v1/export") => r(format!("/api/v1/export?kind=residents&format=csv&area_id={}", t.community)),
        ("POST", "/api/v1/export") => b(
            "/api/v1/export".into(),
            json!({"kind": "residents", "format": "csv", "area_id": t.community, "purpose": "x"}),
        ),
        ("POST", "/api/v1/imports") => r(format!("/api/v1/imports?area_id={}&name=houses.csv", t.community)),
        ("POST", "/api/v1/boundaries") => r(format!("/api/v1/boundaries?area_id={}", t.community)),
        ("GET", "/api/v1/plates") => r(format!("/api/v1/plates?area_id={}", t.community)),
        ("GET", "/api/v1/change-requests") => r(format!("/api/v1/change-requests?area_id={}", t.community)),
        ("GET", "/api/v1/change-requests/{id}") => r(format!("/api/v1/change-requests/{}", t.change_request)),
        ("POST", "/api/v1/change-requests/{id}/accept") => {
            b(format!("/api/v1/change-requests/{}/accept", t.change_request), json!({}))
        }
        ("POST", "/api/v1/change-requests/{id}/reject") => {
            b(format!("/api/v1/change-requests/{}/reject", t.change_request), json!({"reason": "x"}))
        }
        ("GET", "/api/v1/registration-settings/{county_id}") => {
            r(format!("/api/v1/registration-settings/{}", t.county))
        }
        ("PUT", "/api/v1/registration-settings/{county_id}") => b(
            format!("/api/v1/registration-settings/{}", t.county),
            json!({"returnee_fields": ["name"], "retention_days": 1}),
        ),
        ("GET", "/api/v1/imports/template") => r("/api/v1/imports/template?kind=residents&format=csv".into()),
        ("GET", "/api/v1/imports") => r(format!("/api/v1/imports?area_id={}", t.community)),
        ("GET", "/api/v1/imports/{id}") => r(format!("/api/v1/imports/{}", t.import_job)),
        ("GET", "/api/v1/wishes/export") => r(format!("/api/v1/wishes/export?format=csv&area_id={}", t.community)),
        ("POST", "/api/v1/wishes/export") => {
            b("/api/v1/wishes/export".into(), json!({"format": "csv", "area_id": t.community, "purpose": "x"}))
        }
        ("GET", "/api/v1/points/entries/export") => {
            r(format!("/api/v1/points/entries/export?format=csv&area_id={}", t.community))
        }
        ("POST", "/api/v1/points/entries/export") => {
            b("/api/v1/points/entries/export".into(), json!({"format": "csv", "area_id": t.community, "purpose": "x"}))
        }
        _ => room_request(method, path, t),
    }
}

/// The living-room routes aimed at the target community's records.
fn room_request(method: &str, path: &str, t: &Targets) -> Option<(String, Option<Value>)> {
    let x = &t.rooms;
    let r = |p: String| Some((p, None));
    let b = |p: String, v: Value| Some((p, Some(v)));
    let c = t.community;
    match (method, path) {
        ("GET", "/api/v1/living-rooms") => r(format!("/api/v1/living-rooms?area_id={c}")),
        ("POST", "/api/v1/living-rooms") => b(
            "/api/v1/living-rooms".into(),
            json!({"area_id": t.grid, "name": "x", "address": "x", "opening_hours": "x", "capacity": 5}),
        ),
        ("GET", "/api/v1/living-rooms/{id}") => r(format!("/api/v1/living-rooms/{}", x.room)),
        ("PUT", "/api/v1/living-rooms/{id}/open") => {
            b(format!("/api/v1/living-rooms/{}/open", x.room), json!({"is_open": false}))
        }
        ("GET", "/api/v1/living-rooms/{id}/bookings") => r(format!("/api/v1/living-rooms/{}/bookings", x.room)),
        ("POST", "/api/v1/living-rooms/{id}/bookings") => b(
            format!("/api/v1/living-rooms/{}/bookings", x.room),
            json!({"starts_at": "2030-01-01T09:00", "ends_at": "2030-01-01T10:00", "purpose": "x"}),
        ),
        ("GET", "/api/v1/living-room-figures") => r(format!("/api/v1/living-room-figures?area_id={c}")),
        ("GET", "/api/v1/topics") => r(format!("/api/v1/topics?area_id={c}")),
        ("POST", "/api/v1/topics") => {
            b("/api/v1/topics".into(), json!({"area_id": t.grid, "title": "x", "description": "x"}))
        }
        ("GET", "/api/v1/topics/{id}") => r(format!("/api/v1/topics/{}", x.topic)),
        ("POST", "/api/v1/topics/{id}/supports") => {
            b(format!("/api/v1/topics/{}/supports", x.topic), json!({"resident_id": t.resident}))
        }
        ("GET", "/api/v1/meetings") => r(format!("/api/v1/meetings?area_id={c}")),
        ("POST", "/api/v1/meetings") => b(
            "/api/v1/meetings".into(),
            json!({"room_id": x.room, "title": "x", "agenda": "x", "starts_at": "2030-01-02T09:00",
                   "ends_at": "2030-01-02T10:00", "vote_mode": "household", "quorum": 1}),
        ),
        ("GET", "/api/v1/meetings/{id}") => r(format!("/api/v1/meetings/{}", x.meeting)),
        ("POST", "/api/v1/meetings/{id}/invitations") => {
            b(format!("/api/v1/meetings/{}/invitations", x.meeting), json!({"resident_ids": [t.resident]}))
        }
        ("POST", "/api/v1/meetings/{id}/check-ins") => {
            b(format!("/api/v1/meetings/{}/check-ins", x.meeting), json!({"resident_id": t.resident, "consent": "x"}))
        }
        ("GET", "/api/v1/meetings/{id}/attendees") => r(format!("/api/v1/meetings/{}/attendees", x.meeting)),
        ("PUT", "/api/v1/meetings/{id}/minutes") => {
            b(format!("/api/v1/meetings/{}/minutes", x.meeting), json!({"minutes": "x"}))
        }
        ("GET", "/api/v1/meetings/{id}/decisions") => r(format!("/api/v1/meetings/{}/decisions", x.meeting)),
        ("POST", "/api/v1/meetings/{id}/decisions") => {
            b(format!("/api/v1/meetings/{}/decisions", x.meeting), json!({"body": "x", "needs_vote": true}))
        }
        ("GET", "/api/v1/decisions/{id}") => r(format!("/api/v1/decisions/{}", x.decision)),
        ("POST", "/api/v1/decisions/{id}/votes") => {
            b(format!("/api/v1/decisions/{}/votes", x.decision), json!({"resident_id": t.resident, "choice": "yes"}))
        }
        ("POST", "/api/v1/decisions/{id}/close") => b(format!("/api/v1/decisions/{}/close", x.decision), json!({})),
        ("POST", "/api/v1/decisions/{id}/follow-ups") => {
            b(format!("/api/v1/decisions/{}/follow-ups", x.decision), json!({"action": "x", "category": "parking"}))
        }
        ("GET", "/api/v1/mediations") => r(format!("/api/v1/mediations?area_id={c}")),
        ("POST", "/api/v1/mediations") => b(
            "/api/v1/mediations".into(),
            json!({"case_id": x.dispute, "follow_up_days": 30, "parties": [{"name": "x"}], "mediators": [{"name": "x"}]}),
        ),
        ("GET", "/api/v1/mediations/{id}") => r(format!("/api/v1/mediations/{}", x.mediation)),
        ("POST", "/api/v1/mediations/{id}/sessions") => b(
            format!("/api/v1/mediations/{}/sessions", x.mediation),
            json!({"held_at": "2020-01-01T09:00", "note": "x"}),
        ),
        ("POST", "/api/v1/mediations/{id}/outcome") => {
            b(format!("/api/v1/mediations/{}/outcome", x.mediation), json!({"outcome": "referred", "referred_to": "x"}))
        }
        ("POST", "/api/v1/mediations/{id}/follow-up") => {
            b(format!("/api/v1/mediations/{}/follow-up", x.mediation), json!({"found": "x"}))
        }
        ("GET", "/api/v1/visits") => r(format!("/api/v1/visits?area_id={c}")),
        ("POST", "/api/v1/visits") => b("/api/v1/visits".into(), json!({"household_id": t.household, "found": "x"})),
        ("GET", "/api/v1/visits/{id}") => r(format!("/api/v1/visits/{}", x.visit)),
        ("GET", "/api/v1/unvisited-households") => r(format!("/api/v1/unvisited-households?area_id={c}")),
        ("GET", "/api/v1/notices") => r(format!("/api/v1/notices?area_id={c}")),
        ("POST", "/api/v1/notices") => {
            b("/api/v1/notices".into(), json!({"area_id": c, "kind": "village_affairs", "title": "x", "body": "x"}))
        }
        ("GET", "/api/v1/notices/{id}") => r(format!("/api/v1/notices/{}", x.notice)),
        ("POST", "/api/v1/notices/{id}/{step}") => b(format!("/api/v1/notices/{}/review", x.notice), json!({})),
        ("POST", "/api/v1/evaluations") => b(
            "/api/v1/evaluations".into(),
            json!({"post_id": t.post, "period": "2026", "resident_id": t.resident, "score": 5}),
        ),
        ("GET", "/api/v1/evaluations/snapshots") => r(format!("/api/v1/evaluations/snapshots?area_id={c}")),
        ("POST", "/api/v1/evaluations/snapshots") => {
            b("/api/v1/evaluations/snapshots".into(), json!({"post_id": t.post, "period": "2026"}))
        }
        _ => crate::services::matrix_request(method, path, t.community, t.resident, &t.sv),
    }
}

/// The target community's living room with a topic, a meeting and an open decision; a
/// dispute in mediation; a visit; a draft notice. Made by the deployment's administrator.
async fn room_targets(app: &TestApp, community: i64, grid: i64, unit: i64, household: i64) -> RoomTargets {
    let ok = |(s, v): (StatusCode, Value)| {
        assert!(s.is_success(), "{s} {v}");
        v["id"].as_i64().unwrap_or_else(|| v["case"]["id"].as_i64().unwrap())
    };
    let room = ok(app
        .post(
            "/api/v1/living-rooms",
            json!({"area_id": community, "name": "好邻居客厅", "address": "x", "opening_hours": "x", "capacity": 20}),
        )
        .await);
    let topic = ok(app.post("/api/v1/topics", json!({"area_id": grid, "title": "t", "description": "t"})).await);
    let meeting = ok(app
        .post(
            "/api/v1/meetings",
            json!({"room_id": room, "title": "m", "agenda": "m", "starts_at": "2030-01-01T19:00",
                   "ends_at": "2030-01-01T20:00", "topic_ids": [topic], "vote_mode": "household", "quorum": 1}),
        )
        .await);
    let decision =
        ok(app.post(&format!("/api/v1/meetings/{meeting}/decisions"), json!({"body": "d", "needs_vote": true})).await);
    let dispute = ok(app
        .post(
            "/api/v1/cases",
            json!({"category": "neighbour_dispute", "channel": "walk_in", "description": "d",
                   "reporter": {"kind": "anonymous"}, "area_id": unit, "answers": {"parties": 2}}),
        )
        .await);
    let other_dispute = ok(app
        .post(
            "/api/v1/cases",
            json!({"category": "neighbour_dispute", "channel": "walk_in", "description": "d",
                   "reporter": {"kind": "anonymous"}, "area_id": unit, "answers": {"parties": 2}}),
        )
        .await);
    let mediation = ok(app
        .post(
            "/api/v1/mediations",
            json!({"case_id": other_dispute, "follow_up_days": 30, "parties": [{"name": "p"}], "mediators": [{"name": "m"}]}),
        )
        .await);
    let visit = ok(app.post("/api/v1/visits", json!({"household_id": household, "found": "v"})).await);
    let notice = ok(app
        .post("/api/v1/notices", json!({"area_id": community, "kind": "general", "title": "n", "body": "n"}))
        .await);
    RoomTargets { room, topic, meeting, decision, mediation, dispute, visit, notice }
}

/// Routes that reach no record of any area, allowed to a signed-in caller whose post has the
/// right: the kinds of tags, the case catalogue, one's own inbox, and new accounts (which hold
/// no post yet).
fn unscoped_ok(method: &str, path: &str, status: StatusCode) -> bool {
    matches!(
        (method, path),
        (
            "GET",
            "/api/v1/tags"
                | "/api/v1/categories"
                | "/api/v1/categories/{code}"
                | "/api/v1/inbox"
                | "/api/v1/imports/template"
        )
    ) && status == StatusCode::OK
        || matches!((method, path), ("POST", "/api/v1/accounts"))
            && (status == StatusCode::CREATED || status == StatusCode::CONFLICT)
}

/// Row counts of every table and the last audit id: the fingerprint of "nothing changed".
async fn fingerprint(app: &TestApp) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in [
        "areas",
        "houses",
        "households",
        "residents",
        "memberships",
        "resident_tags",
        "area_stats",
        "tag_kinds",
        "accounts",
        "posts",
        "api_tokens",
        "audit_events",
        "party_organisations",
        "party_members",
        "contact_households",
        "co_building_units",
        "cases",
        "case_events",
        "case_reporters",
        "case_photos",
        "case_jobs",
        "inbox_items",
        "outbox_messages",
        "work_calendars",
        "change_requests",
        "registration_settings",
        "living_rooms",
        "room_bookings",
        "topics",
        "topic_supports",
        "meetings",
        "meeting_attendees",
        "decisions",
        "decision_votes",
        "follow_ups",
        "mediations",
        "mediation_parties",
        "mediation_sessions",
        "visits",
        "notices",
        "evaluations",
        "evaluation_snapshots",
        "volunteers",
        "volunteer_teams",
        "team_members",
        "points_rules",
        "points_accounts",
        "ledger_entries",
        "ledger_postings",
        "shop_items",
        "redemptions",
        "wishes",
        "wish_claims",
        "activities",
        "activity_signups",
        "star_items",
        "star_ratings",
        "rankings",
        "ranking_rows",
    ] {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {t}")))
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        out.push((t.to_string(), n));
    }
    let changed: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM areas WHERE name = 'x') + (SELECT count(*) FROM houses WHERE address = 'x') \
         + (SELECT count(*) FROM households WHERE address = 'x') + (SELECT count(*) FROM residents WHERE name = 'x') \
         + (SELECT count(*) FROM posts WHERE ended_on IS NOT NULL) + (SELECT count(*) FROM accounts WHERE disabled_at IS NOT NULL) \
         + (SELECT count(*) FROM api_tokens WHERE revoked_at IS NOT NULL) \
         + (SELECT count(*) FROM party_members WHERE until IS NOT NULL) \
         + (SELECT count(*) FROM contact_households WHERE until IS NOT NULL) \
         + (SELECT count(*) FROM co_building_units WHERE until IS NOT NULL) \
         + (SELECT count(*) FROM inbox_items WHERE read_at IS NOT NULL) \
         + (SELECT count(*) FROM case_categories WHERE name_en = 'x') \
         + (SELECT count(*) FROM change_requests WHERE status <> 'pending') \
         + (SELECT count(*) FROM living_rooms WHERE is_open = 0) + (SELECT count(*) FROM meetings WHERE minutes IS NOT NULL) \
         + (SELECT count(*) FROM decisions WHERE state <> 'open') + (SELECT count(*) FROM mediations WHERE state <> 'open') \
         + (SELECT count(*) FROM notices WHERE state <> 'draft') \
         + (SELECT count(*) FROM points_rules WHERE state <> 'proposed') \
         + (SELECT count(*) FROM ledger_entries WHERE state <> 'pending') \
         + (SELECT count(*) FROM redemptions WHERE state <> 'reserved') \
         + (SELECT count(*) FROM wishes WHERE state <> 'claimed') \
         + (SELECT count(*) FROM wish_claims WHERE state <> 'pending') \
         + (SELECT count(*) FROM star_ratings WHERE state <> 'self_assessed') \
         + (SELECT COALESCE(CAST(SUM(stock) AS BIGINT), 0) FROM shop_items)",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    out.push(("changed".into(), changed));
    out
}

async fn token_for(app: &TestApp, area: i64, kind: &str) -> String {
    let (_, posts) = app.get(&format!("/api/v1/posts?area_id={area}&kind={kind}")).await;
    let post =
        posts["items"].as_array().unwrap().iter().find(|p| p["area_id"] == area).expect("the demo has this post");
    let (s, t) = app.post("/api/v1/tokens", json!({"post_id": post["id"], "name": "matrix"})).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t["token"].as_str().unwrap().to_string()
}

async fn first_id(app: &TestApp, path: &str) -> i64 {
    let (s, v) = app.get(path).await;
    assert_eq!(s, StatusCode::OK, "{path}: {v}");
    v["items"][0]["id"].as_i64().unwrap_or_else(|| panic!("{path} is empty: {v}"))
}

async fn no_caller_reaches_outside_its_scope(app: TestApp) {
    let app = app.with_demo().await;
    let hongqiao = app.area_id("虹桥社区").await;
    let grid = first_id(&app, &format!("/api/v1/areas?parent_id={hongqiao}&sort=code")).await;
    let unit = first_id(&app, &format!("/api/v1/areas?parent_id={grid}&sort=code")).await;
    let post = first_id(&app, &format!("/api/v1/posts?area_id={hongqiao}&kind=station_chief")).await;
    let (_, p) = app.get(&format!("/api/v1/posts/{post}")).await;
    let (_, tok) = app.post("/api/v1/tokens", json!({"post_id": post, "name": "target"})).await;
    let resident = first_id(&app, &format!("/api/v1/residents?area_id={unit}&tag=volunteer&page_size=1")).await;
    let shengquan = app.area_id("圣泉社区").await;
    let sq_grid = first_id(&app, &format!("/api/v1/posts?area_id={shengquan}&kind=grid_chief")).await;
    let (_, sq_grid) = app.get(&format!("/api/v1/posts/{sq_grid}")).await;
    let sq_grid = sq_grid["area_id"].as_i64().unwrap();
    let party_org = first_id(&app, &format!("/api/v1/party/organisations?area_id={grid}&kind=party_branch")).await;
    let (_, contacts) = app.get(&format!("/api/v1/party/contacts?area_id={hongqiao}&page_size=1")).await;
    let contact = contacts["items"][0].clone();
    // A case in the target unit, filed and dispatched to its unit chief, with a photo.
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==";
    let (s, intake) = app
        .post(
            "/api/v1/cases",
            json!({"category": "parking", "channel": "hotline", "description": "a van blocks the lane",
                   "reporter": {"kind": "contact", "name": "王", "phone": "13800000000"}, "area_id": unit,
                   "photos": [{"content_type": "image/png", "data_base64": png}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{intake}");
    let (_, events) = app.get(&format!("/api/v1/cases/{}/events", intake["case"]["id"])).await;
    let photo_id = events[0]["data"]["photo_ids"][0].as_i64().expect("the intake event names its photo");
    let inbox_item: i64 =
        sqlx::query_scalar("SELECT min(id) FROM inbox_items").fetch_one(app.store.pool()).await.unwrap();
    let household = first_id(&app, &format!("/api/v1/households?area_id={unit}")).await;
    let rooms = room_targets(&app, hongqiao, grid, unit, household).await;
    let t = Targets {
        rooms,
        community: hongqiao,
        grid,
        unit,
        house: first_id(&app, &format!("/api/v1/houses?area_id={unit}")).await,
        household: first_id(&app, &format!("/api/v1/households?area_id={unit}")).await,
        resident,
        post,
        account: p["account_id"].as_i64().unwrap(),
        token: tok["id"].as_i64().unwrap(),
        own_household: first_id(&app, &format!("/api/v1/households?area_id={sq_grid}")).await,
        party_org,
        party_member: first_id(&app, &format!("/api/v1/party/organisations/{party_org}/members")).await,
        party_resident: contact["resident_id"].as_i64().unwrap(),
        contact: contact["id"].as_i64().unwrap(),
        co_building_unit: first_id(&app, &format!("/api/v1/party/co-building-units?area_id={hongqiao}")).await,
        county: app.area_id("仙游县").await,
        case: intake["case"]["id"].as_i64().unwrap(),
        photo: photo_id,
        inbox_item,
        change_request: {
            let house = first_id(&app, &format!("/api/v1/houses?area_id={unit}&empty=false")).await;
            let version: i64 = sqlx::query_scalar("SELECT plate_version FROM houses WHERE id = $1")
                .bind(house)
                .fetch_one(app.store.pool())
                .await
                .unwrap();
            let plate =
                app.store.plate_house(house, version, &app.store.plate_signature(house, version)).await.unwrap();
            let sub = wangge_store::Submission {
                household_id: plate.households.first().map(|h| h.0),
                name: Some("x".into()),
                ..Default::default()
            };
            app.store
                .submit_registration(&plate, wangge_store::SubmissionKind::Returnee, sub, "matrix", chrono::Utc::now())
                .await
                .unwrap()
        },
        import_job: {
            let account = p["account_id"].as_i64().unwrap();
            let caller = app.store.caller_for_post(account, post).await.unwrap().expect("the station chief's post");
            let preview = wangge_store::ImportReport::default();
            let new = wangge_store::NewImportJob {
                within: None,
                kind: Some(wangge_store::SheetKind::Houses),
                file_name: "houses.csv",
                file: b"code,address\n",
                rows_total: 0,
                preview: &preview,
            };
            app.store.create_import_job(&caller, new).await.unwrap().id
        },
        sv: crate::services::matrix_targets(&app, hongqiao, unit, resident).await,
    };

    // The callers: a grid chief of a Shengquan grid, a unit chief of a unit in another
    // Shengquan grid, the administrator of Daji Town, and nobody.
    let other_grid_unit = {
        let (_, units) = app.get(&format!("/api/v1/posts?area_id={shengquan}&kind=unit_chief&page_size=200")).await;
        units["items"].as_array().unwrap().iter().map(|p| p["area_id"].as_i64().unwrap()).find(|u| {
            // A unit not under the grid chief's grid.
            *u != sq_grid
        })
    }
    .unwrap();
    let daji = app.area_id("大济镇").await;
    let callers: Vec<(&str, Option<String>)> = vec![
        ("grid chief", Some(token_for(&app, sq_grid, "grid_chief").await)),
        ("unit chief", Some(token_for(&app, other_grid_unit, "unit_chief").await)),
        ("town admin", Some(token_for(&app, daji, "admin").await)),
        ("anonymous", None),
    ];

    let doc = serde_json::to_value(wangge_server::openapi()).unwrap();
    let before = fingerprint(&app).await;
    let mut tried = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let m = method.to_uppercase();
            if PUBLIC_OR_OWN.contains(&(m.as_str(), path.as_str())) {
                continue;
            }
            let (url, body) = request(&m, path, &t).unwrap_or_else(|| {
                panic!("{m} {path} has no entry in the scope matrix: add one to tests/api/matrix.rs")
            });
            for (who, token) in &callers {
                let (s, v) =
                    app.call_as(token.as_deref(), Method::from_bytes(m.as_bytes()).unwrap(), &url, body.clone()).await;
                tried += 1;
                if token.is_some() && unscoped_ok(&m, path, s) {
                    continue;
                }
                assert!(s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND, "{who}: {m} {url} answered {s}: {v}");
                assert!(v["error"]["code"].is_string(), "{who}: {m} {url} returned more than an error: {v}");
            }
        }
    }
    assert!(tried > 150, "the matrix tried {tried} requests");
    // Accounts made by the unscoped route (each with its audit event) are the only change.
    let after: Vec<(String, i64)> = fingerprint(&app).await;
    let delta = |name: &str| {
        let b = before.iter().find(|(n, _)| n == name).unwrap().1;
        let a = after.iter().find(|(n, _)| n == name).unwrap().1;
        a - b
    };
    for (name, _) in &before {
        if name != "accounts" && name != "audit_events" {
            assert_eq!(delta(name), 0, "{name} changed");
        }
    }
    assert_eq!(delta("audit_events"), delta("accounts"), "refused requests left audit events");
}

/// Open311 (outside the OpenAPI document, so listed here by hand): both writes need a key and
/// act only within the key's post's scope; the public reads never show a private category.
async fn open311_writes_need_a_key_within_its_scope(app: TestApp) {
    use crate::open311::{form, get, send, world};
    let w = world(app).await;
    let app = &w.app;
    let private = w.report("neighbour_dispute", &[("attribute[parties]", "2")]).await;
    let public = w.report("exposed_rubbish", &[]).await;
    let counts = || async {
        let mut out = fingerprint(app).await;
        for t in ["open311_requests", "open311_updates"] {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {t}")))
                .fetch_one(app.store.pool())
                .await
                .unwrap();
            out.push((t.to_string(), n));
        }
        out
    };
    let before = counts().await;
    let keys: [(&str, Option<&str>); 3] =
        [("no key", None), ("a wrong key", Some("0000")), ("another grid's chief", Some(&w.other_grid_chief))];
    for (who, key) in keys {
        for fmt in ["json", "xml"] {
            let mut pairs = vec![("service_code", "exposed_rubbish"), ("address_id", w.household.as_str())];
            pairs.extend(key.map(|k| ("api_key", k)));
            let r = send(app, Method::POST, &format!("/open311/v2/requests.{fmt}"), Some(form(&pairs))).await;
            let want = if key == Some(&w.other_grid_chief) { StatusCode::BAD_REQUEST } else { StatusCode::FORBIDDEN };
            assert_eq!(r.status, want, "{who} posts a request: {}", r.body);
            assert!(r.body.contains("<errors>") || r.body.starts_with("[{\"code\""), "{who}: {}", r.body);
            let mut pairs = vec![
                ("service_request_id", public.as_str()),
                ("update_id", "m-1"),
                ("status", "FIXED"),
                ("updated_datetime", "2026-03-02T10:00:00+08:00"),
                ("description", "done"),
            ];
            pairs.extend(key.map(|k| ("api_key", k)));
            let r =
                send(app, Method::POST, &format!("/open311/v2/servicerequestupdates.{fmt}"), Some(form(&pairs))).await;
            let want = if key == Some(&w.other_grid_chief) { StatusCode::NOT_FOUND } else { StatusCode::FORBIDDEN };
            assert_eq!(r.status, want, "{who} pushes an update: {}", r.body);
        }
    }
    assert_eq!(before, counts().await, "refused Open311 writes changed something");
    for fmt in ["json", "xml"] {
        let r = get(app, &format!("/open311/v2/requests/{private}.{fmt}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
        for path in [
            format!("/open311/v2/requests.{fmt}?extensions=true"),
            format!("/open311/v2/requests.{fmt}?service_request_id={private},{public}"),
            format!("/open311/v2/servicerequestupdates.{fmt}?service_request_id={private},{public}"),
        ] {
            let r = get(app, &path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
            assert!(r.body.contains(&public) && !r.body.contains(&private), "{path}: {}", r.body);
        }
    }
}
