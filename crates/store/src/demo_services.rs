//! Community services of the demo county, from the source article: Bangtou Town's
//! "order-to-order" volunteer service in 坝下村 (wishes collected door to door, by phone, in
//! chat groups, by notices and at the collection point, for low-income households, left-behind
//! children and lonely or empty-nest elderly first; claimed, fulfilled and rated, the
//! volunteers' points arriving under approved rules); Duwei Town's "Sunset Red" rule-of-law
//! propaganda team in 度峰社区 with its 7 "rule-of-law leaders" and law-savvy people; points
//! rules and a points shop with redemptions. All through the store's own calls.

use serde::Serialize;
use wangge_core::ledger::SourceKind;
use wangge_core::{Caller, PostKind, Scope};

use crate::ledger::Holder;
use crate::shop::{NewRedemption, NewShopItem};
use crate::volunteers::{NewTeam, NewVolunteer, TeamRole};
use crate::wishes::{ClaimerKind, NewWish, PRIORITY_TAGS, WishChannel};
use crate::{NewAccount, NewAward, NewPointsRule, NewPost, Store, StoreError, StoreResult};

#[derive(Debug, Clone, Default, Serialize)]
pub struct ServicesReport {
    pub volunteers: usize,
    pub teams: usize,
    pub rules: usize,
    pub wishes: usize,
    pub wishes_fulfilled: usize,
    pub points_issued: i64,
    pub redemptions: usize,
    pub activities: usize,
    /// The login of a volunteer who signs in (with the demo password).
    pub volunteer_login: String,
}

const RULES: [(&str, &str, SourceKind, i64, i64); 4] = [
    ("volunteer_hour", "志愿服务每小时", SourceKind::Activity, 5, 40),
    ("wish_fulfilled", "认领并完成一个微心愿", SourceKind::Wish, 20, 50),
    ("hazard_report", "报告隐患并经核实", SourceKind::Case, 10, 30),
    ("village_rule_breach", "违反村规民约", SourceKind::Manual, -20, 0),
];

const ITEMS: [(&str, i64, i64); 5] =
    [("毛巾", 30, 40), ("洗衣液", 60, 30), ("食用油 5 升", 150, 12), ("大米 10 斤", 200, 10), ("电水壶", 400, 3)];

/// Wishes of the story: (channel, category, description, value in yuan, how far it got).
const WISHES: [(WishChannel, &str, &str, i64, u8); 8] = [
    (WishChannel::DoorToDoor, "daily_goods", "想要一床厚棉被过冬", 150, 5),
    (WishChannel::CollectionPoint, "study", "孩子想要一个新书包和文具", 80, 5),
    (WishChannel::Phone, "repair", "家里的灯坏了，想请人帮忙换", 40, 5),
    (WishChannel::ChatGroup, "company", "想有人陪着去镇卫生院复查", 0, 4),
    (WishChannel::Notice, "daily_goods", "想要一台收音机听戏", 120, 3),
    (WishChannel::DoorToDoor, "repair", "院子的水管冻裂了", 60, 2),
    (WishChannel::CollectionPoint, "study", "想借几本适合初中的课外书", 50, 1),
    (WishChannel::Phone, "daily_goods", "想要一个助行器", 200, 0),
];

impl Store {
    pub(crate) async fn demo_community(&self, county_id: i64, name: &str) -> StoreResult<crate::Area> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM areas WHERE county_id = $1 AND level = 'community' AND name = $2 AND valid_to IS NULL",
        )
        .bind(county_id)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        let id = id.ok_or_else(|| StoreError::not_found("area", name))?;
        self.area(&Scope::everything(), id).await
    }

    /// Seeds the demo's community services (see the module). Run once, after the people.
    pub async fn seed_demo_services(&self, county_id: i64, password: &str) -> StoreResult<ServicesReport> {
        let sys = Caller::system();
        let mut report = ServicesReport::default();

        // Rules and shops in both communities.
        let bazhai = self.demo_community(county_id, "坝下村").await?;
        let dufeng = self.demo_community(county_id, "度峰社区").await?;
        let mut bazhai_hours = 0;
        let mut hour_rule = 0;
        for c in [&bazhai, &dufeng] {
            for (code, name, source, points, threshold) in RULES {
                let r = self
                    .propose_points_rule(
                        &sys,
                        NewPointsRule {
                            area_id: c.id,
                            code: code.into(),
                            name: name.into(),
                            source_kind: source,
                            points,
                            threshold,
                            approver_kind: PostKind::StationChief,
                        },
                    )
                    .await?;
                self.approve_points_rule(&sys, r.id).await?;
                report.rules += 1;
                if c.id == bazhai.id && code == "volunteer_hour" {
                    bazhai_hours = r.id;
                }
                if c.id == dufeng.id && code == "volunteer_hour" {
                    hour_rule = r.id;
                }
            }
            for (name, points, stock) in ITEMS {
                self.create_shop_item(
                    &sys,
                    NewShopItem { area_id: c.id, name: name.into(), description: String::new(), points, stock },
                )
                .await?;
            }
        }

        // The "Sunset Red" team: 7 rule-of-law leaders and law-savvy people from the community.
        let team = self
            .create_team(
                &sys,
                NewTeam {
                    area_id: dufeng.id,
                    name: "夕阳红法治文艺宣传队".into(),
                    kind: "rule_of_law".into(),
                    description: "法治理论与政策宣传、科普、移风易俗、扫黑除恶、卫生环保、扶贫帮困".into(),
                },
            )
            .await?;
        report.teams += 1;
        let residents = self.demo_residents(&dufeng.path, 46).await?;
        for (i, (rid, name, _)) in residents.iter().enumerate() {
            let role = if i < 7 { TeamRole::RuleOfLawLeader } else { TeamRole::LawSavvy };
            let skills = if i < 7 { "法治宣讲、调解" } else { "法律明白人、政策宣传" };
            let v = self
                .create_volunteer(
                    &sys,
                    NewVolunteer {
                        area_id: dufeng.id,
                        resident_id: Some(*rid),
                        account_id: None,
                        name: name.clone(),
                        skills: skills.into(),
                        availability: "周末、晚上".into(),
                    },
                )
                .await?;
            report.volunteers += 1;
            self.add_team_member(&sys, team.id, v.id, role).await?;
            // Hours of service logged under the approved rule (three hours each of the leaders).
            if i < 7 {
                self.award_points(
                    &sys,
                    NewAward {
                        rule_id: hour_rule,
                        holder: Holder::Volunteer(v.id),
                        quantity: 3,
                        source_kind: Some(SourceKind::Activity),
                        source_id: None,
                        client_key: format!("demo-hours-{}", v.id),
                        note: Some("法治文艺下乡宣传".into()),
                    },
                )
                .await?;
            }
        }

        // The team's next outing, announced with its check-in code.
        self.create_activity(
            &sys,
            crate::NewActivity {
                area_id: dufeng.id,
                team_id: Some(team.id),
                rule_id: Some(hour_rule),
                title: "法治文艺进村：扫黑除恶与移风易俗宣传".into(),
                place: "度峰社区文化广场".into(),
                starts_at: crate::clock::ts(self.now() + chrono::TimeDelta::days(3)),
                hours: 3,
                capacity: 40,
                people_served: 300,
            },
        )
        .await?;
        report.activities += 1;

        // Bangtou's "order-to-order" volunteers: party members and young volunteers; the first
        // signs in.
        let vols = self.demo_residents(&bazhai.path, 6).await?;
        let mut volunteer_ids = Vec::new();
        for (i, (rid, name, _)) in vols.iter().enumerate() {
            let account = if i == 0 {
                let login = format!("volunteer-{}", bazhai.code);
                let (a, _) = self
                    .create_account(
                        &sys,
                        NewAccount {
                            login: login.clone(),
                            display_name: name.clone(),
                            resident_id: Some(*rid),
                            password: Some(password.into()),
                            ..NewAccount::default()
                        },
                    )
                    .await?;
                self.appoint(
                    &sys,
                    NewPost {
                        account_id: a.id,
                        area_id: Some(bazhai.id),
                        kind: PostKind::Volunteer,
                        is_primary: false,
                        title: None,
                        started_on: None,
                    },
                )
                .await?;
                report.volunteer_login = login;
                Some(a.id)
            } else {
                None
            };
            let v = self
                .create_volunteer(
                    &sys,
                    NewVolunteer {
                        area_id: bazhai.id,
                        resident_id: Some(*rid),
                        account_id: account,
                        name: name.clone(),
                        skills: ["维修", "陪护", "辅导功课", "理发", "代购", "电工"][i % 6].into(),
                        availability: "周末".into(),
                    },
                )
                .await?;
            report.volunteers += 1;
            volunteer_ids.push(v.id);
            // Four hours at the village's cultural service centre, where the wishes are collected.
            self.award_points(
                &sys,
                NewAward {
                    rule_id: bazhai_hours,
                    holder: Holder::Volunteer(v.id),
                    quantity: 4,
                    source_kind: Some(SourceKind::Activity),
                    source_id: None,
                    client_key: format!("demo-hours-{}", v.id),
                    note: Some("微心愿收集点值班".into()),
                },
            )
            .await?;
        }

        // Wishes of the vulnerable first, then others, walked as far as the story says.
        let mut beneficiaries = self.demo_priority_residents(&bazhai.path, WISHES.len()).await?;
        if beneficiaries.len() < WISHES.len() {
            for r in self.demo_residents(&bazhai.path, 40).await? {
                if beneficiaries.len() >= WISHES.len() {
                    break;
                }
                if !beneficiaries.contains(&r.0) && !vols.iter().any(|v| v.0 == r.0) {
                    beneficiaries.push(r.0);
                }
            }
        }
        for (i, ((channel, category, description, value, stage), resident)) in
            WISHES.into_iter().zip(beneficiaries).enumerate()
        {
            let w = self
                .collect_wish(
                    &sys,
                    NewWish {
                        resident_id: resident,
                        channel,
                        category: category.into(),
                        description: description.into(),
                        estimated_value: value,
                    },
                )
                .await?;
            report.wishes += 1;
            let id = w.public.id;
            if stage >= 1 {
                self.review_wish(&sys, id, true, None).await?;
            }
            if stage >= 2 {
                let v = volunteer_ids[i % volunteer_ids.len()];
                self.claim_wish(&sys, id, ClaimerKind::Volunteer, Some(v)).await?;
            }
            if stage >= 3 {
                self.decide_wish_claim(&sys, id, true).await?;
            }
            if stage >= 4 {
                self.fulfil_wish(&sys, id, "已送到老人家中，当面交接").await?;
            }
            if stage >= 5 {
                self.confirm_wish(&sys, id, 5, Some("谢谢志愿者".into())).await?;
                report.wishes_fulfilled += 1;
            }
        }

        // The volunteer who signs in spends some points; one redemption waits for pickup.
        let item: i64 = sqlx::query_scalar("SELECT id FROM shop_items WHERE area_id = $1 AND name = '毛巾'")
            .bind(bazhai.id)
            .fetch_one(&self.pool)
            .await?;
        self.redeem(
            &sys,
            NewRedemption {
                item_id: item,
                holder: Some(Holder::Volunteer(volunteer_ids[0])),
                quantity: 1,
                client_key: "demo-towel".into(),
            },
        )
        .await?;
        report.redemptions += 1;
        report.points_issued = sqlx::query_scalar(
            "SELECT CAST(COALESCE(-SUM(balance), 0) AS BIGINT) FROM points_accounts WHERE county_id = $1 AND kind = 'pool'",
        )
        .bind(county_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(report)
    }

    /// Present adult residents under a path: (id, name, household).
    async fn demo_residents(&self, path: &str, n: i64) -> StoreResult<Vec<(i64, String, i64)>> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT id, name, household_id FROM residents WHERE area_path >= $1 AND area_path < $2 \
             AND status = 'present' AND birth_date < '2000-01-01' AND birth_date > '1950-01-01' ORDER BY id LIMIT $3",
        )
        .bind(path)
        .bind(wangge_core::area::path_upper_bound(path))
        .bind(n)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Residents of the vulnerable groups under a path.
    async fn demo_priority_residents(&self, path: &str, n: usize) -> StoreResult<Vec<i64>> {
        let mut sql = crate::sql::Sql::new(
            "SELECT DISTINCT r.id FROM residents r JOIN resident_tags t ON t.resident_id = r.id AND t.until IS NULL \
             WHERE r.status = 'present'",
        );
        sql.in_range("r.area_path", &(path.to_string(), wangge_core::area::path_upper_bound(path)));
        sql.push(" AND t.tag IN ('_'");
        for t in PRIORITY_TAGS {
            sql.push(", ").bind(t);
        }
        sql.push(") ORDER BY r.id LIMIT ").bind(i64::try_from(n).unwrap_or(8));
        Ok(sql.scalar().fetch_all(&self.pool).await?)
    }
}
