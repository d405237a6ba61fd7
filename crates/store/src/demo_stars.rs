//! Star households and a published ranking in the demo county: Shengquan Community's "1544"
//! system, whose four mechanisms are points management, priority selection (评星), material
//! reward and welfare linkage. Households earn points for taking part in the clean-up of their
//! lanes; this year's star households are assessed, reviewed and published, one is revoked for
//! an illegal shed and barred, and the year's household ranking is published.

use chrono::Datelike;
use serde::Serialize;
use wangge_core::ledger::SourceKind;
use wangge_core::{Caller, PostKind, Scope};

use crate::ledger::Holder;
use crate::rankings::RankingKind;
use crate::stars::{DEFAULT_STAR_ITEMS, NewStarRating};
use crate::{NewAward, NewPointsRule, Store, StoreResult};

#[derive(Debug, Clone, Default, Serialize)]
pub struct StarsReport {
    pub ratings: usize,
    pub published: usize,
    pub revoked: usize,
    /// Holders in the published household ranking.
    pub ranked: usize,
}

/// How far each demo household's rating got: stars claimed, stars the review finds, and the
/// last step (1 self-assessed, 2 reviewed, 3 published, 4 revoked).
const RATINGS: [(usize, usize, u8); 10] =
    [(8, 8, 3), (8, 7, 3), (7, 6, 3), (8, 6, 3), (6, 5, 3), (6, 4, 3), (7, 7, 4), (5, 5, 2), (6, 6, 1), (4, 4, 1)];

impl Store {
    /// Seeds the demo's star households and ranking (see the module). Run once, after the
    /// community services.
    pub async fn seed_demo_stars(&self, county_id: i64) -> StoreResult<StarsReport> {
        let sys = Caller::system();
        let mut report = StarsReport::default();
        let shengquan = self.demo_community(county_id, "圣泉社区").await?;
        let (lo, hi) = Scope::subtree(shengquan.path.clone()).path_range();
        let households: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM households WHERE area_path >= $1 AND area_path < $2 AND head_resident_id IS NOT NULL \
             ORDER BY code LIMIT 16",
        )
        .bind(lo)
        .bind(hi)
        .fetch_all(&self.pool)
        .await?;
        let year = crate::clock::to_local(self.now()).year().to_string();
        let codes: Vec<String> = DEFAULT_STAR_ITEMS.iter().map(|i| i.0.to_string()).collect();
        for (h, (claimed, found, last)) in households.iter().zip(RATINGS) {
            let r = self
                .self_assess(
                    &sys,
                    NewStarRating {
                        household_id: *h,
                        period: year.clone(),
                        items: codes[..claimed].to_vec(),
                        note: Some("户主自评，网格员上门核对".into()),
                    },
                )
                .await?;
            report.ratings += 1;
            if last >= 2 {
                self.review_star_rating(&sys, r.id, codes[..found].to_vec(), Some("单元长入户核实".into())).await?;
            }
            if last >= 3 {
                self.decide_star_rating(&sys, r.id, None).await?;
                report.published += 1;
            }
            if last >= 4 {
                let why = "违规搭建彩钢棚，整改到位前暂停评星".to_string();
                self.revoke_star_rating(&sys, r.id, Some(why), Some(180)).await?;
                report.revoked += 1;
            }
        }

        // Points for the lane clean-ups, then the year's household ranking.
        let rule = self
            .propose_points_rule(
                &sys,
                NewPointsRule {
                    area_id: shengquan.id,
                    code: "lane_cleanup".into(),
                    name: "参与门前三包、环境整治".into(),
                    source_kind: SourceKind::Manual,
                    points: 10,
                    threshold: 50,
                    approver_kind: PostKind::StationChief,
                },
            )
            .await?;
        self.approve_points_rule(&sys, rule.id).await?;
        for (i, h) in households.iter().enumerate() {
            let award = NewAward {
                rule_id: rule.id,
                holder: Holder::Household(*h),
                quantity: 1 + (i as i64 * 7) % 5,
                source_kind: None,
                source_id: None,
                client_key: format!("demo-lane-{h}"),
                note: Some("环境整治".into()),
            };
            self.award_points(&sys, award).await?;
        }
        let ranking = self.publish_ranking(&sys, shengquan.id, &year, RankingKind::Household).await?;
        report.ranked = ranking.rows.len();
        Ok(report)
    }
}
