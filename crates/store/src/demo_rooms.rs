//! The demo county's living rooms, told through the store's own calls on a story clock, as the
//! source article tells it: Hongqiao Community's good-neighbour living rooms; Lanxin Garden's
//! self-management committee settling road occupation, disorderly parking and dirty public
//! areas in its living room, with follow-up cases (some closed); a neighbours' dispute
//! mediated by the community mediator and a village sage; grid workers' visits; notices.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::Row;
use wangge_core::{Caller, MoveKind};

use crate::clock::{FakeClock, SystemClock, to_local};
use crate::{
    CheckIn, Choice, MoveInput, NewCase, NewEvaluation, NewFollowUp, NewLivingRoom, NewLocation, NewMediation,
    NewMeeting, NewNotice, NewPerson, NewReporter, NewTopic, NewVisit, NoticeKind, NoticeState, Outcome, Store,
    StoreResult, VisitCase, VoteMode,
};

#[derive(Debug, Clone, Default)]
pub struct RoomReport {
    pub rooms: usize,
    pub meetings: usize,
    pub decisions: usize,
    pub follow_ups: usize,
    pub mediations: usize,
    pub visits: usize,
    pub notices: usize,
}

fn local(t: DateTime<Utc>) -> String {
    to_local(t).format("%Y-%m-%dT%H:%M").to_string()
}

impl Store {
    async fn demo_area(&self, level: &str, name: &str) -> StoreResult<Option<(i64, String)>> {
        let r = sqlx::query(
            "SELECT id, path FROM areas WHERE level = $1 AND name = $2 AND valid_to IS NULL ORDER BY id LIMIT 1",
        )
        .bind(level)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        r.map(|r| Ok((r.try_get("id")?, r.try_get("path")?))).transpose()
    }

    async fn demo_post(&self, area: i64, kind: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM posts WHERE area_id = $1 AND kind = $2 AND is_primary = 1 AND ended_on IS NULL",
        )
        .bind(area)
        .bind(kind)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// One resident per household of a grid: (resident, household).
    async fn demo_one_per_household(&self, grid: i64, n: i64) -> StoreResult<Vec<(i64, i64)>> {
        let rows = sqlx::query(
            "SELECT min(id) AS id, household_id FROM residents WHERE grid_id = $1 GROUP BY household_id \
             ORDER BY household_id LIMIT $2",
        )
        .bind(grid)
        .bind(n)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("household_id")?))).collect()
    }

    /// Seeds the living rooms of the demo county (see the module). Run after the cases.
    pub async fn seed_demo_rooms(&self) -> StoreResult<RoomReport> {
        let end = self.now();
        let clock = FakeClock::at(end - TimeDelta::days(30));
        self.set_clock(clock.clone());
        let result = self.tell_rooms(&clock, end).await;
        self.set_clock(Arc::new(SystemClock));
        result
    }

    async fn tell_rooms(&self, clock: &FakeClock, end: DateTime<Utc>) -> StoreResult<RoomReport> {
        let sys = Caller::system();
        let mut report = RoomReport::default();
        let (Some((hongqiao, _)), Some((lanxin, _))) =
            (self.demo_area("community", "虹桥社区").await?, self.demo_area("grid", "兰馨园网格").await?)
        else {
            return Ok(report);
        };
        let hq_station = self.demo_post(hongqiao, "station_chief").await?;
        let lx_chief = self.demo_post(lanxin, "grid_chief").await?;

        // Hongqiao's good-neighbour living rooms, built downstairs of residents' homes.
        let hq_room = self
            .create_living_room(
                &sys,
                NewLivingRoom {
                    area_id: hongqiao,
                    name: "虹桥社区“好邻居”客厅".into(),
                    address: "虹桥路“党建+”邻里中心一楼".into(),
                    opening_hours: "每天 08:30-21:00（好邻居热线 8251825）".into(),
                    capacity: 40,
                    keeper_post_id: hq_station,
                },
            )
            .await?;
        let hq_grid: Option<i64> =
            sqlx::query_scalar("SELECT id FROM areas WHERE parent_id = $1 AND valid_to IS NULL ORDER BY code LIMIT 1")
                .bind(hongqiao)
                .fetch_optional(&self.pool)
                .await?;
        if let Some(g) = hq_grid {
            self.create_living_room(
                &sys,
                NewLivingRoom {
                    area_id: g,
                    name: "楼下议事角".into(),
                    address: "虹桥路自建房片区楼下".into(),
                    opening_hours: "周一至周六 09:00-20:00".into(),
                    capacity: 15,
                    keeper_post_id: self.demo_post(g, "grid_chief").await?,
                },
            )
            .await?;
            report.rooms += 1;
        }
        let lx_room = self
            .create_living_room(
                &sys,
                NewLivingRoom {
                    area_id: lanxin,
                    name: "兰馨园邻里客厅".into(),
                    address: "兰馨园3栋架空层（桌椅茶座）".into(),
                    opening_hours: "每天 08:00-21:30".into(),
                    capacity: 30,
                    keeper_post_id: lx_chief,
                },
            )
            .await?;
        report.rooms += 2;

        // Lanxin Garden's residents raise three problems and support them.
        let people = self.demo_one_per_household(lanxin, 40).await?;
        if people.len() < 12 {
            return Ok(report);
        }
        let problems = [
            ("公共区域占道堆物", "楼道和消防通道长期堆放杂物、私搭乱建，影响通行和消防安全", "road_occupation"),
            (
                "车辆乱停乱放",
                "小区是开放式小区，外来车辆和电动车乱停，堵住出入口，邻里常为此争吵并拨打12345",
                "parking",
            ),
            ("小区卫生脏乱", "公共区域垃圾无人清运，绿化带有积存垃圾", "dirty_road"),
        ];
        let mut topics = Vec::new();
        for (i, (title, description, _)) in problems.iter().enumerate() {
            let raiser = people[i].0;
            let t = self
                .raise_topic(
                    &sys,
                    NewTopic {
                        area_id: lanxin,
                        title: (*title).into(),
                        description: (*description).into(),
                        raised_by_resident_id: Some(raiser),
                        threshold: Some(5),
                    },
                )
                .await?;
            for (r, _) in people.iter().skip(3 + i).take(5) {
                clock.advance(TimeDelta::minutes(37));
                self.support_topic(&sys, t.id, *r).await?;
            }
            topics.push(t.id);
        }
        // The self-management committee meets in the living room, one vote per household.
        clock.advance(TimeDelta::days(2));
        let start = self.now() + TimeDelta::days(1);
        let meeting = self
            .schedule_meeting(
                &sys,
                NewMeeting {
                    room_id: lx_room.id,
                    title: "兰馨园小区自管会议事会".into(),
                    agenda: "一、公共区域占道整治\n二、停车秩序与车位划线\n三、环境卫生保洁".into(),
                    starts_at: local(start),
                    ends_at: local(start + TimeDelta::minutes(90)),
                    topic_ids: topics.clone(),
                    vote_mode: VoteMode::Household,
                    quorum: 8,
                },
            )
            .await?;
        report.meetings += 1;
        clock.set(start);
        let present: Vec<i64> = people.iter().take(11).map(|p| p.0).collect();
        for r in &present {
            let consent = "本人到场，同意由自管会委员代为签到".to_string();
            self.check_in_to_meeting(&sys, meeting.id, CheckIn::ForResident { resident_id: *r, consent }).await?;
        }
        self.record_minutes(
            &sys,
            meeting.id,
            "南桥社区党支部牵头，业委会、自管会委员和11户居民代表到会。议定三项：清理占道杂物、划线停车、建立保洁轮值。",
        )
        .await?;
        let bodies = [
            "一周内清理楼道和消防通道杂物，拆除私搭乱建，由自管会委员分片督促",
            "在小区出入口施划停车线，电动车集中停放，外来车辆不得占用消防通道",
            "聘请保洁员每日清运，居民按楼栋轮值监督",
        ];
        for (i, body) in bodies.iter().enumerate() {
            let d = self.add_decision(&sys, meeting.id, body, Some(topics[i]), true).await?;
            for (j, r) in present.iter().enumerate() {
                let choice = if (i + j) % 7 == 3 {
                    Choice::No
                } else if j == 10 {
                    Choice::Abstain
                } else {
                    Choice::Yes
                };
                self.vote(&sys, d.id, *r, choice).await?;
            }
            let d = self.close_vote(&sys, d.id).await?;
            report.decisions += 1;
            if d.state == "adopted" {
                let f = self
                    .add_follow_up(
                        &sys,
                        d.id,
                        NewFollowUp {
                            action: (*body).into(),
                            category: problems[i].2.into(),
                            household_code: None,
                            area_id: Some(lanxin),
                        },
                    )
                    .await?;
                report.follow_ups += 1;
                // The first two are done and closed; sanitation is still under way.
                if i < 2 {
                    for (mv, note) in [
                        (MoveKind::Sign, None),
                        (MoveKind::Respond, Some("已在邻里客厅与居民代表确认方案")),
                        (
                            MoveKind::Resolve,
                            Some(if i == 0 {
                                "杂物已清，消防通道畅通"
                            } else {
                                "停车线已施划，电动车集中停放"
                            }),
                        ),
                        (MoveKind::Verify, None),
                        (MoveKind::Close, None),
                    ] {
                        clock.advance(TimeDelta::hours(20));
                        let input = MoveInput { note: note.map(str::to_string), ..MoveInput::default() };
                        self.make_move(&sys, f.case_id, mv, input).await?;
                    }
                } else {
                    clock.advance(TimeDelta::hours(20));
                    self.make_move(&sys, f.case_id, MoveKind::Sign, MoveInput::default()).await?;
                }
            }
        }

        // Hongqiao's next meeting is scheduled.
        let hq_topic = self
            .raise_topic(
                &sys,
                NewTopic {
                    area_id: hongqiao,
                    title: "老年助餐点选址".into(),
                    description: "社区老龄化程度高，居民希望在邻里中心附近设助餐点".into(),
                    raised_by_resident_id: None,
                    threshold: Some(10),
                },
            )
            .await?;
        let next = end + TimeDelta::days(40);
        self.schedule_meeting(
            &sys,
            NewMeeting {
                room_id: hq_room.id,
                title: "虹桥社区好邻居议事会".into(),
                agenda: "老年助餐点选址；好邻居热线近期诉求通报".into(),
                starts_at: local(next),
                ends_at: local(next + TimeDelta::hours(2)),
                topic_ids: vec![hq_topic.id],
                vote_mode: VoteMode::Resident,
                quorum: 10,
            },
        )
        .await?;
        report.meetings += 1;

        // A dispute between neighbours of self-built houses, mediated in the living room.
        let hq_people: Vec<(i64, i64)> = match hq_grid {
            Some(g) => self.demo_one_per_household(g, 2).await?,
            None => Vec::new(),
        };
        if hq_people.len() == 2 && hq_station.is_some() {
            let code: String = sqlx::query_scalar("SELECT code FROM households WHERE id = $1")
                .bind(hq_people[0].1)
                .fetch_one(&self.pool)
                .await?;
            let intake = self
                .create_case(
                    &sys,
                    NewCase {
                        category: "neighbour_dispute".into(),
                        severity: None,
                        channel: crate::Channel::LivingRoom,
                        description: "自建房加盖遮阳棚，雨水流入邻居院内，两户多次争吵".into(),
                        reporter: NewReporter::Resident { resident_id: hq_people[0].0 },
                        location: NewLocation { household_code: Some(code), ..NewLocation::default() },
                        answers: serde_json::json!({"parties": 2}),
                        photos: Vec::new(),
                        answered: None,
                    },
                )
                .await?;
            let m = self
                .start_mediation(
                    &sys,
                    NewMediation {
                        case_id: intake.case.id,
                        room_id: Some(hq_room.id),
                        parties: hq_people
                            .iter()
                            .map(|p| NewPerson { name: None, resident_id: Some(p.0), post_id: None, title: None })
                            .collect(),
                        mediators: vec![
                            NewPerson {
                                name: None,
                                resident_id: None,
                                post_id: hq_station,
                                title: Some("社区调解员".into()),
                            },
                            NewPerson {
                                name: Some("林老伯".into()),
                                resident_id: None,
                                post_id: None,
                                title: Some("乡贤".into()),
                            },
                        ],
                        follow_up_days: 14,
                    },
                )
                .await?;
            clock.advance(TimeDelta::days(1));
            let held = local(self.now() - TimeDelta::hours(2));
            self.add_mediation_session(&sys, m.id, &held, "双方在好邻居客厅面对面，乡贤林老伯讲情说理，社区调解员释法")
                .await?;
            self.mediation_outcome(
                &sys,
                m.id,
                Outcome::Agreed {
                    terms: "遮阳棚加装排水槽引水入公共管道，费用由加盖一方承担，一周内完工".into()
                },
            )
            .await?;
            clock.advance(TimeDelta::days(15));
            self.run_due_mediation_follow_ups(self.now()).await?;
            self.mediation_follow_up(&sys, m.id, None, "排水槽已装好，雨后邻居院内无积水，两户关系缓和").await?;
            report.mediations += 1;
        }

        // Downstairs of the self-built houses, a topic still collecting its neighbours' supports.
        if let Some(g) = hq_grid {
            let neighbours = self.demo_one_per_household(g, 6).await?;
            if let Some((raiser, _)) = neighbours.first() {
                let t = self
                    .raise_topic(
                        &sys,
                        NewTopic {
                            area_id: g,
                            title: "自建房片区电动车集中充电点".into(),
                            description: "楼道里飞线充电，邻居们担心起火，希望在楼下议事角旁设集中充电点".into(),
                            raised_by_resident_id: Some(*raiser),
                            threshold: Some(20),
                        },
                    )
                    .await?;
                for (r, _) in neighbours.iter().skip(1).take(4) {
                    clock.advance(TimeDelta::minutes(23));
                    self.support_topic(&sys, t.id, *r).await?;
                }
            }
        }

        // The grid's visits: door to door, one finding a problem filed as a case.
        for (i, (_, household)) in people.iter().enumerate().take(12) {
            clock.advance(TimeDelta::hours(5));
            let case = (i == 4).then(|| VisitCase {
                category: "exposed_rubbish".into(),
                description: "楼后空地有装修垃圾堆放".into(),
            });
            let found =
                if i == 4 { "楼后空地堆放装修垃圾" } else { "家中情况正常，已告知议事会决定" };
            self.record_visit(
                &sys,
                NewVisit { household_id: *household, visited_on: None, found: found.into(), follow_up: None, case },
            )
            .await?;
            report.visits += 1;
        }

        // Notices: the hotline, and the meeting's results made public.
        for (area, kind, title, body) in [
            (
                hongqiao,
                NoticeKind::General,
                "好邻居服务热线 8251825",
                "有事请拨好邻居服务热线 8251825，网格长、单元长和党员志愿者逐级响应。",
            ),
            (
                lanxin,
                NoticeKind::VillageAffairs,
                "兰馨园小区自管会议事结果公示",
                "议事会通过三项决定：清理占道杂物、施划停车线、建立保洁轮值。办理进度见议事会公开页。",
            ),
        ] {
            let n = self
                .draft_notice(&sys, NewNotice { area_id: area, kind, title: title.into(), body: body.into() })
                .await?;
            self.notice_step(&sys, n.id, NoticeState::Reviewed).await?;
            self.notice_step(&sys, n.id, NoticeState::Published).await?;
            report.notices += 1;
        }

        // Residents rate Lanxin Garden's grid chief after the meeting.
        if let Some(post) = lx_chief {
            let period = to_local(self.now()).format("%Y-%m").to_string();
            for (j, r) in present.iter().enumerate() {
                let score = if j % 4 == 0 { 4 } else { 5 };
                let new = NewEvaluation {
                    post_id: post,
                    period: period.clone(),
                    resident_id: *r,
                    score,
                    comment: None,
                    meeting_id: Some(meeting.id),
                };
                self.evaluate(&sys, new).await?;
            }
            self.publish_evaluation(&sys, post, &period).await?;
        }
        Ok(report)
    }
}
