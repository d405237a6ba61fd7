//! The cases of the demo county, telling the source article's story in Shengquan Community
//! (and one call to Hongqiao's good-neighbour hotline): 12345 transfers about parking, road
//! occupation found on patrol with a whistle to the town's enforcement team, rubbish reported
//! by QR plate, a neighbour dispute mediated in the living room, a low rating that reopens,
//! a case escalated twice, duplicates merged. Every case goes through the same store calls as
//! the API, made by the demo's own people at times over the last two weeks: the store runs on
//! a story clock while seeding, and deadline jobs run at those times.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sqlx::Row;
use wangge_core::case::{Rating, Satisfaction};
use wangge_core::{Caller, MoveKind, Scope};

use crate::clock::{FakeClock, SystemClock, parse_ts};
use crate::{Channel, MoveInput, NewCase, NewLocation, NewPhoto, NewReporter, Store, StoreError, StoreResult};

#[derive(Debug, Clone, Default, Serialize)]
pub struct CaseReport {
    pub cases: usize,
    pub closed: usize,
    pub open: usize,
    pub escalations: usize,
    pub events: usize,
}

/// A 1×1 PNG, the photo of a handled case.
const PHOTO: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x60, 0x60, 0x60, 0xF8, 0x0F, 0x00, 0x01, 0x04, 0x01, 0x00, 0xC1, 0x2D, 0x8E,
    0x50, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// A household of the story: its code, its head, its unit's path.
#[derive(Debug, Clone)]
struct Home {
    code: String,
    head: i64,
}

fn rated(solved: bool, satisfaction: Satisfaction) -> MoveInput {
    MoveInput { rating: Some(Rating { solved, satisfaction }), ..MoveInput::default() }
}

fn note(n: &str) -> MoveInput {
    MoveInput { note: Some(n.to_string()), ..MoveInput::default() }
}

fn reason(r: &str) -> MoveInput {
    MoveInput { reason: Some(r.to_string()), ..MoveInput::default() }
}

struct Story<'a> {
    store: &'a Store,
    clock: Arc<FakeClock>,
    /// The real time the story ends before.
    end: DateTime<Utc>,
}

impl Story<'_> {
    /// Sets the story clock to `h` hours before the end.
    fn at(&self, hours_ago: f64) {
        self.clock.set(self.end - TimeDelta::minutes((hours_ago * 60.0) as i64));
    }

    fn later(&self, minutes: i64) {
        self.clock.advance(TimeDelta::minutes(minutes));
    }

    /// The caller of a post.
    async fn post(&self, id: i64) -> StoreResult<Caller> {
        let account: i64 = sqlx::query_scalar("SELECT account_id FROM posts WHERE id = $1")
            .bind(id)
            .fetch_one(&self.store.pool)
            .await?;
        self.store
            .caller_for_post(account, id)
            .await?
            .ok_or_else(|| StoreError::Config(format!("demo post {id} has no caller")))
    }

    /// The post of a kind at an area, if filled.
    async fn post_at(&self, area_path: &str, kind: &str) -> StoreResult<Option<Caller>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM posts WHERE area_path = $1 AND kind = $2 AND is_primary = 1 AND ended_on IS NULL",
        )
        .bind(area_path)
        .bind(kind)
        .fetch_optional(&self.store.pool)
        .await?;
        match id {
            Some(id) => Ok(Some(self.post(id).await?)),
            None => Ok(None),
        }
    }

    /// The caller who owns the case now.
    async fn owner(&self, case: i64) -> StoreResult<Caller> {
        let post: Option<i64> = sqlx::query_scalar("SELECT owner_post_id FROM cases WHERE id = $1")
            .bind(case)
            .fetch_one(&self.store.pool)
            .await?;
        self.post(post.ok_or_else(|| StoreError::Config(format!("demo case {case} has no owner")))?).await
    }

    async fn mv(&self, caller: &Caller, case: i64, kind: MoveKind, input: MoveInput) -> StoreResult<()> {
        self.store.make_move(caller, case, kind, input).await.map(|_| ())
    }

    /// The grid chief of the case's grid (who verifies), or `fallback` where the post is vacant.
    async fn grid_chief(&self, case: i64, fallback: &Caller) -> StoreResult<Caller> {
        let p: String = sqlx::query_scalar("SELECT area_path FROM cases WHERE id = $1")
            .bind(case)
            .fetch_one(&self.store.pool)
            .await?;
        Ok(self.post_at(&grid_path(&p), "grid_chief").await?.unwrap_or_else(|| fallback.clone()))
    }

    /// The owner signs, contacts the reporter, and reports it handled.
    async fn handle(&self, case: i64, respond: &str, resolve: &str, photo: bool) -> StoreResult<()> {
        let owner = self.owner(case).await?;
        self.later(25);
        self.mv(&owner, case, MoveKind::Sign, MoveInput::default()).await?;
        self.later(40);
        self.mv(&owner, case, MoveKind::Respond, note(respond)).await?;
        self.later(180);
        let photos =
            if photo { vec![NewPhoto { content_type: "image/png".into(), data: PHOTO.to_vec() }] } else { Vec::new() };
        self.mv(&owner, case, MoveKind::Resolve, MoveInput { photos, ..note(resolve) }).await
    }

    /// Runs the deadline jobs at the case's deadline, `times` times, as long as that is
    /// before the end of the story: each run escalates it one level.
    async fn miss_deadlines(&self, case: i64, times: usize) -> StoreResult<usize> {
        let mut done = 0;
        for _ in 0..times {
            let due: Option<String> = sqlx::query_scalar("SELECT due_at FROM cases WHERE id = $1")
                .bind(case)
                .fetch_one(&self.store.pool)
                .await?;
            let Some(due) = due.as_deref().and_then(parse_ts) else { break };
            let when = due + TimeDelta::minutes(1);
            if when >= self.end || when < self.store.now() {
                break;
            }
            self.clock.set(when);
            done += self.store.run_due_jobs(when, "demo").await?.escalated;
        }
        Ok(done)
    }
}

impl Store {
    /// Seeds the demo county's cases (see the module). Run once, after the people and the
    /// party overlay; the store's clock is the story's while it runs, and real again after.
    pub async fn seed_demo_cases(&self, county_id: i64) -> StoreResult<CaseReport> {
        let end = self.now();
        let clock = FakeClock::at(end - TimeDelta::days(14));
        self.set_clock(clock.clone());
        let result = self.tell_story(county_id, Story { store: self, clock, end }).await;
        // Whatever fell due while the story ran is handled now, on the real clock.
        self.set_clock(Arc::new(SystemClock));
        let due = match &result {
            Ok(_) => self.run_due_jobs(self.now(), "demo").await.map(|r| r.escalated),
            Err(_) => Ok(0),
        };
        let mut report = result?;
        report.escalations += due?;
        let count = |sql: &'static str| async move {
            let n: i64 = sqlx::query_scalar(sql).bind(county_id).fetch_one(&self.pool).await?;
            Ok::<usize, StoreError>(usize::try_from(n).unwrap_or(0))
        };
        report.cases = count("SELECT count(*) FROM cases WHERE county_id = $1").await?;
        report.closed = count("SELECT count(*) FROM cases WHERE county_id = $1 AND state = 'closed'").await?;
        report.open =
            count("SELECT count(*) FROM cases WHERE county_id = $1 AND state NOT IN ('closed', 'void')").await?;
        report.events = count("SELECT count(*) FROM case_events WHERE county_id = $1").await?;
        Ok(report)
    }

    async fn tell_story(&self, county_id: i64, s: Story<'_>) -> StoreResult<CaseReport> {
        let mut report = CaseReport::default();
        let county = self.area(&Scope::everything(), county_id).await?;
        let community = |name: &'static str| {
            let county_path = county.path.clone();
            async move {
                let row = sqlx::query(
                    "SELECT id, path, parent_id FROM areas WHERE level = 'community' AND valid_to IS NULL AND name = $1 \
                     AND path >= $2 AND path < $3",
                )
                .bind(name)
                .bind(&county_path)
                .bind(wangge_core::area::path_upper_bound(&county_path))
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| Ok::<_, StoreError>((r.try_get::<i64, _>("id")?, r.try_get::<String, _>("path")?)))
                    .transpose()
            }
        };
        let Some((_, sq_path)) = community("圣泉社区").await? else { return Ok(report) };
        let homes = |path: String| async move {
            let rows = sqlx::query(
                "SELECT code, head_resident_id FROM households WHERE area_path >= $1 AND area_path < $2 \
                 AND head_resident_id IS NOT NULL ORDER BY area_path, id",
            )
            .bind(&path)
            .bind(wangge_core::area::path_upper_bound(&path))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| Ok(Home { code: r.try_get("code")?, head: r.try_get("head_resident_id")? }))
                .collect::<Result<Vec<_>, sqlx::Error>>()
        };
        let hh = homes(sq_path.clone()).await?;
        if hh.len() < 40 {
            return Ok(report);
        }
        // Spread the story over the community: every fifth household.
        let home = |i: usize| hh[(i * 5) % hh.len()].clone();
        let town_path = {
            let ids = wangge_core::area::path_ids(&sq_path);
            format!("/{}/{}/", ids[0], ids[1])
        };
        let town = s.post_at(&town_path, "admin").await?.ok_or_else(|| StoreError::Config("no town admin".into()))?;
        let station =
            s.post_at(&sq_path, "station_chief").await?.ok_or_else(|| StoreError::Config("no station chief".into()))?;
        let system = Caller::system();
        let case = |category: &str, channel: Channel, description: &str, reporter: NewReporter, home: &Home| NewCase {
            category: category.into(),
            severity: None,
            channel,
            description: description.into(),
            reporter,
            location: NewLocation { household_code: Some(home.code.clone()), ..NewLocation::default() },
            answers: serde_json::Value::Null,
            photos: Vec::new(),
            answered: None,
        };
        let resident = |h: &Home| NewReporter::Resident { resident_id: h.head };
        let contact = |name: &str, phone: &str| NewReporter::Contact { name: name.into(), phone: phone.into() };

        // A. A 12345 transfer: a car blocks the fire lane. Handled by the unit, rated satisfied.
        s.at(320.0);
        let a = self
            .create_case(
                &town,
                case(
                    "parking",
                    Channel::Hotline12345,
                    "12345转办：楼下消防通道被私家车长期占用，救护车进不来。",
                    contact("郑先生", "13905941234"),
                    &home(0),
                ),
            )
            .await?
            .case
            .id;
        s.handle(a, "已电话联系郑先生，车主为外来访客", "车主已挪车，楼道口张贴禁停提示", true).await?;
        s.later(18 * 60);
        s.mv(&s.grid_chief(a, &station).await?, a, MoveKind::Verify, note("现场核查，通道畅通")).await?;
        s.later(60);
        s.mv(&system, a, MoveKind::Callback, rated(true, Satisfaction::Satisfied)).await?;

        // B. Road occupation found on patrol; the community whistles the town's enforcement team.
        s.at(290.0);
        let b_home = home(7);
        let mut b_new = case(
            "road_occupation",
            Channel::Patrol,
            "巡查发现菜摊占用巷道经营，早晚高峰行人车辆通行困难。",
            NewReporter::Anonymous,
            &b_home,
        );
        b_new.answers = serde_json::json!({"occupier": "stall"});
        let b_path: String = sqlx::query_scalar("SELECT area_path FROM households WHERE code = $1")
            .bind(&b_home.code)
            .fetch_one(&self.pool)
            .await?;
        let patrol = s.post_at(&grid_path(&b_path), "grid_chief").await?.unwrap_or_else(|| station.clone());
        let b = self.create_case(&patrol, b_new).await?.case.id;
        s.later(20);
        // A grid chief's report waits for the community to file it; then it is routed.
        if self.case(&system, b).await?.state == wangge_core::CaseState::Received {
            s.mv(&station, b, MoveKind::Accept, MoveInput::default()).await?;
        }
        let owner = s.owner(b).await?;
        s.later(10);
        s.mv(&owner, b, MoveKind::Sign, MoveInput::default()).await?;
        s.later(30);
        s.mv(&owner, b, MoveKind::Respond, note("已向巡查记录确认位置")).await?;
        s.later(10);
        s.mv(
            &station,
            b,
            MoveKind::Whistle,
            MoveInput { department: Some("鲤南镇综合执法队".into()), ..MoveInput::default() },
        )
        .await?;
        s.later(25);
        s.mv(
            &station,
            b,
            MoveKind::WhistleReport,
            MoveInput {
                department: Some("鲤南镇综合执法队".into()),
                rating: Some(Rating { solved: true, satisfaction: Satisfaction::Satisfied }),
                ..note("执法队员25分钟到场，劝导摊主进入农贸市场经营")
            },
        )
        .await?;
        s.later(180);
        s.mv(&owner, b, MoveKind::Resolve, note("摊位已撤离，巷道恢复通行")).await?;
        s.later(16 * 60);
        s.mv(&station, b, MoveKind::Verify, MoveInput::default()).await?;
        s.later(30);
        s.mv(&system, b, MoveKind::Callback, rated(true, Satisfaction::BasicallySatisfied)).await?;

        // C. Rubbish reported by scanning the house's QR plate; the unit chief misses the
        // deadline, the grid chief takes it over and clears it.
        s.at(260.0);
        let c_home = home(12);
        let c = self
            .create_case(
                &system,
                case(
                    "exposed_rubbish",
                    Channel::Qr,
                    "单元楼后空地堆放生活垃圾，气味很大。",
                    resident(&c_home),
                    &c_home,
                ),
            )
            .await?
            .case
            .id;
        if self.case(&system, c).await?.state == wangge_core::CaseState::Received {
            s.later(30);
            s.mv(&station, c, MoveKind::Accept, MoveInput::default()).await?;
        }
        report.escalations += s.miss_deadlines(c, 1).await?;
        s.handle(c, "已回电居民说明处理安排", "已通知保洁员清运，并增设两个垃圾桶", true).await?;
        s.later(20 * 60);
        s.mv(&station, c, MoveKind::Verify, MoveInput::default()).await?;
        s.later(60);
        s.mv(&system, c, MoveKind::Callback, rated(true, Satisfaction::Satisfied)).await?;

        // D. A neighbour dispute brought to the living room (private): mediated by the community.
        s.at(225.0);
        let d_home = home(18);
        let mut d_new = case(
            "neighbour_dispute",
            Channel::LivingRoom,
            "楼上邻居装修噪音扰民，双方多次争吵，请社区调解。",
            resident(&d_home),
            &d_home,
        );
        d_new.answers = serde_json::json!({"parties": 2});
        let d = self.create_case(&station, d_new).await?.case.id;
        let mediator = s.owner(d).await?;
        s.later(13 * 60);
        s.mv(&mediator, d, MoveKind::Sign, MoveInput::default()).await?;
        s.later(20);
        s.mv(&mediator, d, MoveKind::Respond, note("已分别联系双方")).await?;
        s.later(10);
        s.mv(&mediator, d, MoveKind::Pause, reason("等待双方周末到邻里客厅调解")).await?;
        s.later(48 * 60);
        s.mv(&mediator, d, MoveKind::Resume, MoveInput::default()).await?;
        s.later(90);
        s.mv(&mediator, d, MoveKind::Resolve, note("在邻里客厅调解，双方约定装修时间为工作日9-12点、14-18点")).await?;
        s.later(20 * 60);
        s.mv(&station, d, MoveKind::Verify, MoveInput::default()).await?;
        s.later(30);
        s.mv(&system, d, MoveKind::Callback, rated(true, Satisfaction::Satisfied)).await?;

        // G. A returnee asks how to register: answered on the phone at once.
        s.at(200.0);
        let g_home = home(24);
        let mut g_new =
            case("inquiry", Channel::Hotline12345, "返乡人员询问如何登记基本信息。", resident(&g_home), &g_home);
        g_new.answered = Some("扫描门上“家书”二维码即可登记，不会操作可联系单元长上门协助。".into());
        self.create_case(&town, g_new).await?;

        // E. Parking again: "not solved", reopened to the same owner with a shorter limit.
        s.at(170.0);
        let e_home = home(30);
        let e = self
            .create_case(
                &town,
                case(
                    "parking",
                    Channel::Hotline12345,
                    "12345转办：小区出入口电动车乱停，老人出行不便。",
                    contact("林女士", "13859012345"),
                    &e_home,
                ),
            )
            .await?
            .case
            .id;
        s.handle(e, "已联系林女士了解情况", "已劝导车主规范停放", false).await?;
        s.later(20 * 60);
        s.mv(&s.grid_chief(e, &station).await?, e, MoveKind::Verify, MoveInput::default()).await?;
        s.later(120);
        s.mv(&system, e, MoveKind::Callback, rated(false, Satisfaction::Dissatisfied)).await?;

        // J. Hongqiao's good-neighbour hotline 8251825: a proxy service (代办) for an elder.
        if let Some((_, hq_path)) = community("虹桥社区").await? {
            let hq = homes(hq_path.clone()).await?;
            if let (Some(h), Some(agent)) = (hq.get(3), s.post_at(&hq_path, "hotline_agent").await?) {
                s.at(120.0);
                let mut j_new = case(
                    "proxy_service",
                    Channel::Hotline,
                    "好邻居热线8251825：行动不便的老人需要补办医保卡。",
                    resident(h),
                    h,
                );
                j_new.answers = serde_json::json!({"errand": "补办医保卡"});
                let j = self.create_case(&agent, j_new).await?.case.id;
                s.handle(j, "已与老人约定上门时间", "党员志愿者代办医保卡并送卡上门", false).await?;
                s.later(60);
                s.mv(&system, j, MoveKind::Verify, MoveInput::default()).await?;
                s.later(30);
                s.mv(&agent, j, MoveKind::Callback, rated(true, Satisfaction::Satisfied)).await?;
            }
        }

        // H. Road occupation reported on the web: filed, then missed at the unit and the grid,
        // so it climbed to the station chief. Nine days back, so that two deadlines in working
        // hours fall inside the story whatever the weekday the demo is made on.
        s.at(216.0);
        let h_home = home(36);
        let h = self
            .create_case(
                &system,
                case(
                    "road_occupation",
                    Channel::Web,
                    "商铺在门前人行道上堆放建材，行人只能走机动车道。",
                    contact("陈先生", "13600001111"),
                    &h_home,
                ),
            )
            .await?
            .case
            .id;
        s.later(40);
        if self.case(&system, h).await?.state == wangge_core::CaseState::Received {
            s.mv(&station, h, MoveKind::Accept, MoveInput::default()).await?;
        }
        report.escalations += s.miss_deadlines(h, 2).await?;

        // I. The same dirty road reported twice, from the web and through 12345: merged.
        s.at(20.0);
        let i_home = home(42);
        let i1 = self
            .create_case(
                &town,
                case(
                    "dirty_road",
                    Channel::Hotline12345,
                    "12345转办：菜市场门口路面油污严重。",
                    contact("黄女士", "13788889999"),
                    &i_home,
                ),
            )
            .await?
            .case
            .id;
        s.later(50);
        let i2 = self
            .create_case(
                &system,
                case("dirty_road", Channel::Web, "菜市场门口路面很脏很滑，差点摔倒。", resident(&i_home), &i_home),
            )
            .await?;
        if i2.duplicates.iter().any(|d| d.id == i1) {
            s.later(15);
            self.make_move(&town, i2.case.id, MoveKind::Merge, MoveInput { into: Some(i1), ..MoveInput::default() })
                .await?;
        }
        s.later(10);
        let owner = s.owner(i1).await?;
        s.mv(&owner, i1, MoveKind::Sign, MoveInput::default()).await?;

        // F. An elder living alone asks for help (private, urgent): just taken on.
        s.at(2.0);
        let f_home = home(48);
        let f = self
            .create_case(
                &town,
                case(
                    "help_request",
                    Channel::Hotline,
                    "独居老人家中水管漏水，需要帮忙联系维修。",
                    resident(&f_home),
                    &f_home,
                ),
            )
            .await?
            .case
            .id;
        let owner = s.owner(f).await?;
        s.later(15);
        s.mv(&owner, f, MoveKind::Sign, MoveInput::default()).await?;
        s.later(20);
        s.mv(&owner, f, MoveKind::Respond, note("已上门查看，联系物业维修")).await?;
        Ok(report)
    }
}

/// The path of the grid an area path lies in.
fn grid_path(path: &str) -> String {
    let ids = wangge_core::area::path_ids(path);
    format!("/{}/", ids[..4.min(ids.len())].iter().map(i64::to_string).collect::<Vec<_>>().join("/"))
}
