//! The people in charge of a demo county: a county administrator, town administrators, station
//! chiefs, grid chiefs and unit chiefs drawn from the residents (household heads of the area),
//! a hotline agent, and some gaps left on purpose so that the coverage gaps show.

use serde::Serialize;
use sqlx::Row;
use wangge_core::{Caller, Level, PostKind, Scope};

use crate::accounts::hash_password;
use crate::{Store, StoreResult, now_text};

#[derive(Debug, Clone, Default, Serialize)]
pub struct PeopleReport {
    pub accounts: usize,
    pub posts: usize,
    pub gaps: usize,
    pub party: crate::party::PartyReport,
}

/// Whether the demo leaves the `i`th area of a level without its chief.
fn left_vacant(level: Level, i: usize) -> bool {
    match level {
        Level::Unit => i % 9 == 4,
        Level::Grid => i % 13 == 7,
        Level::Community => i % 7 == 5,
        _ => false,
    }
}

impl Store {
    /// Appoints the demo county's people in charge, all with one password. Idempotent only in
    /// the sense that it refuses to run twice on a county whose posts exist.
    pub async fn seed_demo_people(&self, county_id: i64, password: &str) -> StoreResult<PeopleReport> {
        let county = self.area(&Scope::everything(), county_id).await?;
        let hash = hash_password(password)?;
        let rows = sqlx::query(
            "SELECT a.id, a.level, a.code, a.name, a.path, \
             (SELECT r.id FROM residents r JOIN households h ON h.head_resident_id = r.id \
              WHERE h.area_path >= a.path AND h.area_path < substr(a.path, 1, length(a.path) - 1) || '0' AND r.status = 'present' \
              ORDER BY h.id LIMIT 1) AS resident_id \
             FROM areas a WHERE a.county_id = $1 AND a.valid_to IS NULL ORDER BY a.path",
        )
        .bind(county.id)
        .fetch_all(&self.pool)
        .await?;
        let mut report = PeopleReport::default();
        let mut seen = std::collections::HashMap::new();
        let mut tx = self.write_tx().await?;
        let now = now_text();
        let today = &now[..10];
        let system = Caller::system();
        for r in rows {
            let id: i64 = r.try_get("id")?;
            let level: String = r.try_get("level")?;
            let level = Level::parse(&level).unwrap_or(Level::Unit);
            let code: String = r.try_get("code")?;
            let area_name: String = r.try_get("name")?;
            let path: String = r.try_get("path")?;
            let resident: Option<i64> = r.try_get("resident_id")?;
            let i = seen.entry(level).or_insert(0usize);
            *i += 1;
            if left_vacant(level, *i - 1) {
                report.gaps += 1;
                continue;
            }
            let (kind, login) = match level {
                Level::County => (PostKind::Admin, format!("county-{code}")),
                Level::Town => (PostKind::Admin, format!("town-{code}")),
                Level::Community => (PostKind::StationChief, format!("station-{code}")),
                Level::Grid => (PostKind::GridChief, format!("grid-{code}")),
                Level::Unit => (PostKind::UnitChief, format!("unit-{code}")),
            };
            let mut posts = vec![(kind, login.clone())];
            // Hongqiao Community's good-neighbour hotline has its agent.
            if level == Level::Community && area_name == "虹桥社区" {
                posts.push((PostKind::HotlineAgent, format!("hotline-{code}")));
            }
            for (kind, login) in posts {
                let display: String = match (resident, kind) {
                    (Some(rid), PostKind::StationChief | PostKind::GridChief | PostKind::UnitChief) => {
                        sqlx::query_scalar("SELECT name FROM residents WHERE id = $1")
                            .bind(rid)
                            .fetch_one(&mut *tx)
                            .await?
                    }
                    _ => format!(
                        "{area_name}{}",
                        match kind {
                            PostKind::Admin => "管理员",
                            PostKind::HotlineAgent => "热线坐席",
                            _ => "",
                        }
                    ),
                };
                let linked = match kind {
                    PostKind::StationChief | PostKind::GridChief | PostKind::UnitChief => resident,
                    _ => None,
                };
                let account: i64 = sqlx::query_scalar(
                    "INSERT INTO accounts (login, display_name, resident_id, password_hash, must_change_password, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, 0, $5, $5) RETURNING id",
                )
                .bind(&login)
                .bind(&display)
                .bind(linked)
                .bind(&hash)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await?;
                let post: i64 = sqlx::query_scalar(
                    "INSERT INTO posts (county_id, area_id, area_path, kind, account_id, is_primary, started_on, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 1, $6, $7) RETURNING id",
                )
                .bind(county.id)
                .bind(id)
                .bind(&path)
                .bind(kind.as_str())
                .bind(account)
                .bind(today)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await?;
                crate::audit::record(&mut tx, &system, "appoint", "post", Some(post), &path, None, Some(login)).await?;
                report.accounts += 1;
                report.posts += 1;
            }
        }
        tx.commit().await?;
        // The party overlay needs the posts: its secretaries are the chiefs.
        report.party = self.seed_demo_party(county.id).await?;
        Ok(report)
    }
}
