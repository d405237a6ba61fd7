//! Volunteers (residents or outsiders) with their skills and availability, and teams such as
//! a rule-of-law propaganda team with its "rule-of-law leaders" and "law-savvy people".

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::{Caller, Permission, Scope};

use crate::areas::checked_name;
use crate::shop::push_overlap;
use crate::sql::{Sql, like_contains};
use crate::{Page, Paged, Sort, Store, StoreError, StoreResult, audit, now_text, today_text};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Volunteer {
    pub id: i64,
    pub area_id: i64,
    pub resident_id: Option<i64>,
    pub account_id: Option<i64>,
    pub name: String,
    pub skills: String,
    pub availability: String,
    pub since: String,
    pub until: Option<String>,
}

const VOLUNTEER_COLUMNS: &str = "id, area_id, resident_id, account_id, name, skills, availability, since, until";

fn volunteer_from_row(r: &AnyRow) -> Result<Volunteer, sqlx::Error> {
    Ok(Volunteer {
        id: r.try_get("id")?,
        area_id: r.try_get("area_id")?,
        resident_id: r.try_get("resident_id")?,
        account_id: r.try_get("account_id")?,
        name: r.try_get("name")?,
        skills: r.try_get("skills")?,
        availability: r.try_get("availability")?,
        since: r.try_get("since")?,
        until: r.try_get("until")?,
    })
}

#[derive(Debug, Clone, Default)]
pub struct NewVolunteer {
    /// Where the volunteer serves (a community or a grid).
    pub area_id: i64,
    /// A resident of the registry; absent for someone from outside.
    pub resident_id: Option<i64>,
    pub account_id: Option<i64>,
    pub name: String,
    pub skills: String,
    pub availability: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Team {
    pub id: i64,
    pub area_id: i64,
    pub name: String,
    /// e.g. `rule_of_law`, `elderly_care`, `environment`.
    pub kind: String,
    pub description: String,
    pub members: i64,
}

fn team_from_row(r: &AnyRow) -> Result<Team, sqlx::Error> {
    Ok(Team {
        id: r.try_get("id")?,
        area_id: r.try_get("area_id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        description: r.try_get("description")?,
        members: r.try_get("members")?,
    })
}

const TEAM_COLUMNS: &str = "t.id, t.area_id, t.name, t.kind, t.description, \
    (SELECT COUNT(*) FROM team_members m WHERE m.team_id = t.id AND m.until IS NULL) AS members";

#[derive(Debug, Clone, Default)]
pub struct NewTeam {
    pub area_id: i64,
    pub name: String,
    pub kind: String,
    pub description: String,
}

/// A volunteer's role in a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TeamRole {
    Leader,
    /// 法治带头人.
    RuleOfLawLeader,
    /// 法律明白人.
    LawSavvy,
    Member,
}

impl TeamRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::Leader => "leader",
            TeamRole::RuleOfLawLeader => "rule_of_law_leader",
            TeamRole::LawSavvy => "law_savvy",
            TeamRole::Member => "member",
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamMember {
    pub volunteer_id: i64,
    pub name: String,
    pub role: String,
    pub since: String,
}

impl Store {
    /// One volunteer, for anyone whose area overlaps the volunteer's.
    pub async fn volunteer(&self, scope: &Scope, id: i64) -> StoreResult<Volunteer> {
        let mut sql = Sql::new(&format!("SELECT {VOLUNTEER_COLUMNS} FROM volunteers WHERE id = "));
        sql.bind(id).in_range("area_path", &scope.path_range());
        match sql.query().fetch_optional(&self.pool).await? {
            Some(r) => Ok(volunteer_from_row(&r)?),
            None => Err(StoreError::not_found("volunteer", id)),
        }
    }

    /// Active volunteers in the scope; `q` searches names and skills, `skill` the skills only.
    pub async fn list_volunteers(
        &self,
        scope: &Scope,
        q: Option<&str>,
        skill: Option<&str>,
        page: Page,
    ) -> StoreResult<Paged<Volunteer>> {
        let mut filter = Sql::new(" FROM volunteers WHERE until IS NULL");
        filter.in_range("area_path", &scope.path_range());
        if let Some(q) = q.filter(|q| !q.trim().is_empty()) {
            filter.push(" AND (name LIKE ").bind(like_contains(q.trim())).push(" ESCAPE '\\' OR skills LIKE ");
            filter.bind(like_contains(q.trim())).push(" ESCAPE '\\')");
        }
        if let Some(k) = skill.filter(|k| !k.trim().is_empty()) {
            filter.push(" AND skills LIKE ").bind(like_contains(k.trim())).push(" ESCAPE '\\'");
        }
        let sort = Sort::parse(None, &["name"])?;
        self.fetch_page(&filter, &format!("SELECT {VOLUNTEER_COLUMNS}"), &sort, page, volunteer_from_row).await
    }

    /// The volunteer records of the caller's account.
    pub async fn own_volunteers(&self, caller: &Caller) -> StoreResult<Vec<Volunteer>> {
        let Some(a) = caller.account_id else { return Ok(Vec::new()) };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {VOLUNTEER_COLUMNS} FROM volunteers WHERE account_id = $1 AND until IS NULL ORDER BY id"
        )))
        .bind(a)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(volunteer_from_row).collect::<Result<_, _>>()?)
    }

    /// Registers a volunteer at an area inside the caller's scope.
    pub async fn create_volunteer(&self, caller: &Caller, new: NewVolunteer) -> StoreResult<Volunteer> {
        audit::require(caller, Permission::WriteRegistry)?;
        let name = checked_name("name", &new.name)?;
        for (field, v) in [("skills", &new.skills), ("availability", &new.availability)] {
            if v.chars().count() > 500 {
                return Err(StoreError::invalid(field, "too_long", format!("{field} has at most 500 characters")));
            }
        }
        let area = self.area(caller.scope(), new.area_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => {
                StoreError::missing_ref("area_id", "unknown_area", format!("there is no area {}", new.area_id))
            }
            e => e,
        })?;
        if let Some(r) = new.resident_id {
            let found: Option<i64> = sqlx::query_scalar("SELECT id FROM residents WHERE id = $1 AND county_id = $2")
                .bind(r)
                .bind(area.county_id)
                .fetch_optional(&self.pool)
                .await?;
            if found.is_none() {
                return Err(StoreError::missing_ref(
                    "resident_id",
                    "unknown_resident",
                    format!("there is no resident {r}"),
                ));
            }
        }
        if let Some(a) = new.account_id {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1").bind(a).fetch_optional(&self.pool).await?;
            if found.is_none() {
                return Err(StoreError::missing_ref(
                    "account_id",
                    "unknown_account",
                    format!("there is no account {a}"),
                ));
            }
        }
        let now = now_text();
        let mut tx = self.write_tx().await?;
        if let Some(r) = new.resident_id {
            let open: Option<i64> =
                sqlx::query_scalar("SELECT id FROM volunteers WHERE resident_id = $1 AND until IS NULL")
                    .bind(r)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(v) = open {
                return Err(StoreError::conflict(
                    Some("resident_id"),
                    "already_volunteer",
                    format!("resident {r} is already volunteer {v}"),
                ));
            }
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO volunteers (county_id, area_id, area_path, resident_id, account_id, name, skills, availability, \
             since, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        )
        .bind(area.county_id)
        .bind(area.id)
        .bind(&area.path)
        .bind(new.resident_id)
        .bind(new.account_id)
        .bind(&name)
        .bind(new.skills.trim())
        .bind(new.availability.trim())
        .bind(today_text())
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "create", "volunteer", Some(id), &area.path, None, Some(name)).await?;
        tx.commit().await?;
        self.volunteer(&Scope::everything(), id).await
    }

    pub async fn team(&self, scope: &Scope, id: i64) -> StoreResult<Team> {
        let mut sql = Sql::new(&format!("SELECT {TEAM_COLUMNS} FROM volunteer_teams t WHERE t.id = "));
        sql.bind(id);
        push_overlap(&mut sql, "t.area_path", scope);
        match sql.query().fetch_optional(&self.pool).await? {
            Some(r) => Ok(team_from_row(&r)?),
            None => Err(StoreError::not_found("team", id)),
        }
    }

    /// Teams at, above or below the scope's root: a grid's volunteers see their community's teams.
    pub async fn list_teams(&self, scope: &Scope, q: Option<&str>, page: Page) -> StoreResult<Paged<Team>> {
        let mut filter = Sql::new(" FROM volunteer_teams t WHERE t.until IS NULL");
        push_overlap(&mut filter, "t.area_path", scope);
        if let Some(q) = q.filter(|q| !q.trim().is_empty()) {
            filter.push(" AND t.name LIKE ").bind(like_contains(q.trim())).push(" ESCAPE '\\'");
        }
        let sort = Sort::parse(None, &["t.name"])?;
        self.fetch_page(&filter, &format!("SELECT {TEAM_COLUMNS}"), &sort, page, team_from_row).await
    }

    pub async fn create_team(&self, caller: &Caller, new: NewTeam) -> StoreResult<Team> {
        audit::require(caller, Permission::ManagePosts)?;
        let name = checked_name("name", &new.name)?;
        let kind = new.kind.trim();
        if kind.is_empty() || kind.len() > 40 || !kind.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return Err(StoreError::invalid("kind", "bad_kind", "kind is 1 to 40 lowercase letters or '_'"));
        }
        if new.description.chars().count() > 1000 {
            return Err(StoreError::invalid("description", "too_long", "description has at most 1000 characters"));
        }
        let area = self.area(caller.scope(), new.area_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => {
                StoreError::missing_ref("area_id", "unknown_area", format!("there is no area {}", new.area_id))
            }
            e => e,
        })?;
        let now = now_text();
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO volunteer_teams (county_id, area_id, area_path, name, kind, description, since, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(area.county_id)
        .bind(area.id)
        .bind(&area.path)
        .bind(&name)
        .bind(kind)
        .bind(new.description.trim())
        .bind(today_text())
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "create", "team", Some(id), &area.path, None, Some(name)).await?;
        tx.commit().await?;
        self.team(&Scope::everything(), id).await
    }

    /// Adds a volunteer to a team in the caller's scope.
    pub async fn add_team_member(
        &self,
        caller: &Caller,
        team_id: i64,
        volunteer_id: i64,
        role: TeamRole,
    ) -> StoreResult<Vec<TeamMember>> {
        audit::require(caller, Permission::ManagePosts)?;
        let path: Option<String> = sqlx::query_scalar("SELECT area_path FROM volunteer_teams WHERE id = $1")
            .bind(team_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(path) = path.filter(|p| caller.scope().contains_path(p)) else {
            return Err(StoreError::not_found("team", team_id));
        };
        let v: Option<i64> = sqlx::query_scalar("SELECT county_id FROM volunteers WHERE id = $1 AND until IS NULL")
            .bind(volunteer_id)
            .fetch_optional(&self.pool)
            .await?;
        if v.is_none() {
            return Err(StoreError::missing_ref(
                "volunteer_id",
                "unknown_volunteer",
                format!("there is no volunteer {volunteer_id}"),
            ));
        }
        let mut tx = self.write_tx().await?;
        let open: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM team_members WHERE team_id = $1 AND volunteer_id = $2 AND until IS NULL",
        )
        .bind(team_id)
        .bind(volunteer_id)
        .fetch_optional(&mut *tx)
        .await?;
        if open.is_some() {
            return Err(StoreError::conflict(
                Some("volunteer_id"),
                "already_member",
                "the volunteer is already in the team",
            ));
        }
        sqlx::query("INSERT INTO team_members (team_id, volunteer_id, role, since) VALUES ($1, $2, $3, $4)")
            .bind(team_id)
            .bind(volunteer_id)
            .bind(role.as_str())
            .bind(today_text())
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            caller,
            "add_member",
            "team",
            Some(team_id),
            &path,
            None,
            Some(volunteer_id.to_string()),
        )
        .await?;
        tx.commit().await?;
        self.team_members(&Scope::everything(), team_id).await
    }

    pub async fn team_members(&self, scope: &Scope, team_id: i64) -> StoreResult<Vec<TeamMember>> {
        self.team(scope, team_id).await?;
        let rows = sqlx::query(
            "SELECT m.volunteer_id, v.name, m.role, m.since FROM team_members m JOIN volunteers v ON v.id = m.volunteer_id \
             WHERE m.team_id = $1 AND m.until IS NULL ORDER BY m.id",
        )
        .bind(team_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(TeamMember {
                    volunteer_id: r.try_get("volunteer_id")?,
                    name: r.try_get("name")?,
                    role: r.try_get("role")?,
                    since: r.try_get("since")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }
}
