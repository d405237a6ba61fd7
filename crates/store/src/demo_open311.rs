//! The demo county's Open311 client: the 12345 government hotline platform's integration,
//! a post of the county with an API key (derived from the demo password, so that `wangge demo`
//! can print it every time it serves), and a few reports it sent through Open311.

use sqlx::Row;
use wangge_core::{Caller, PostKind};

use crate::{Channel, NewAccount, NewCase, NewLocation, NewPost, NewReporter, Store, StoreResult};

/// The demo's Open311 `api_key`: the same for the same demo password.
pub fn demo_open311_key(password: &str) -> String {
    let hash = crate::accounts::token_hash(&format!("wangge-demo-open311:{password}"));
    format!("o311-{}", &hash[..32])
}

impl Store {
    /// Appoints the integration post, gives it the demo key, and sends its reports. Returns
    /// the number of cases it reported.
    pub async fn seed_demo_open311(&self, county_id: i64, password: &str) -> StoreResult<usize> {
        let system = Caller::system();
        let new = NewAccount {
            login: "open311-12345".into(),
            display_name: "12345 平台 Open311 对接".into(),
            ..NewAccount::default()
        };
        let (account, _) = self.create_account(&system, new).await?;
        let post = NewPost {
            account_id: account.id,
            area_id: Some(county_id),
            kind: PostKind::HotlineAgent,
            is_primary: false,
            title: Some("12345 平台 Open311 对接".into()),
            started_on: None,
        };
        let post = self.appoint(&system, post).await?;
        sqlx::query("INSERT INTO api_tokens (token_hash, name, post_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(crate::accounts::token_hash(&demo_open311_key(password)))
            .bind("Open311 (12345 platform)")
            .bind(post.id)
            .bind(crate::now_text())
            .execute(&self.pool)
            .await?;
        let caller = self
            .caller_for_post(account.id, post.id)
            .await?
            .ok_or_else(|| crate::StoreError::not_found("post", post.id))?;
        // A household of 圣泉社区 for the report placed by its code.
        let household: Option<String> = sqlx::query(
            "SELECT h.code FROM households h JOIN areas a ON h.area_path LIKE a.path || '%' \
             WHERE a.name = '圣泉社区' ORDER BY h.id LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?
        .map(|r| r.try_get("code"))
        .transpose()?;
        let community: Option<i64> =
            sqlx::query_scalar("SELECT id FROM areas WHERE name = '圣泉社区' AND valid_to IS NULL")
                .fetch_optional(&self.pool)
                .await?;
        let reports = [
            (
                "exposed_rubbish",
                "圣泉社区东门垃圾桶满溢，气味很大（12345 转来）",
                NewLocation { household_code: household, ..NewLocation::default() },
                "圣泉社区, 鲤南镇, 仙游县",
            ),
            (
                "dirty_road",
                "鲤南镇圣泉路雨后泥沙未清理，电动车打滑（12345 转来）",
                NewLocation { area_id: community, ..NewLocation::default() },
                "圣泉路, 圣泉社区, 鲤南镇, 仙游县",
            ),
        ];
        let mut n = 0;
        for (category, description, location, address) in reports {
            if location.household_code.is_none() && location.area_id.is_none() {
                continue;
            }
            let new = NewCase {
                category: category.into(),
                severity: None,
                channel: Channel::Open311,
                description: description.into(),
                reporter: NewReporter::Anonymous,
                location,
                answers: serde_json::json!({}),
                photos: vec![],
                answered: None,
            };
            let intake = self.create_case(&caller, new).await?;
            self.open311_record_request(intake.case.id, post.id, Some(address), &[]).await?;
            n += 1;
        }
        Ok(n)
    }
}
