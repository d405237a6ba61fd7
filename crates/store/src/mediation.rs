//! Mediation of disputes (矛盾纠纷调解): a dispute case taken to mediation with its parties and
//! mediators (a village sage, the community mediator…), sessions, an outcome (an agreement and
//! its terms, or referred on), and a follow-up visit a set number of days after an agreement.
//!
//! Private by default: a mediation is seen only by the owner chain of its case, the post that
//! owned the case when it was taken to mediation and the posts above it.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::{Caller, Permission};

use crate::clock::ts;
use crate::rooms::{instant, local_date, opt_text, text};
use crate::sql::Sql;
use crate::{Page, Paged, Sort, Store, StoreError, StoreResult, audit};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MediationPerson {
    pub name: String,
    pub resident_id: Option<i64>,
    pub post_id: Option<i64>,
    /// What the mediator is, e.g. 乡贤 (village sage) or 社区调解员 (community mediator).
    pub title: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MediationSession {
    pub id: i64,
    pub held_at: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Mediation {
    pub id: i64,
    pub case_id: i64,
    pub case_number: String,
    pub room_id: Option<i64>,
    /// `open`, `agreed`, `referred`, or `followed_up` after the follow-up visit.
    pub state: String,
    /// Parties, mediators and sessions are filled on the single mediation, empty in lists.
    pub parties: Vec<MediationPerson>,
    pub mediators: Vec<MediationPerson>,
    pub sessions: Vec<MediationSession>,
    pub terms: Option<String>,
    pub referred_to: Option<String>,
    pub follow_up_days: i64,
    pub follow_up_due: Option<String>,
    pub follow_up_visit_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub struct NewPerson {
    pub name: Option<String>,
    pub resident_id: Option<i64>,
    pub post_id: Option<i64>,
    pub title: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewMediation {
    pub case_id: i64,
    pub room_id: Option<i64>,
    pub parties: Vec<NewPerson>,
    pub mediators: Vec<NewPerson>,
    /// Days after an agreement when the follow-up visit is due.
    pub follow_up_days: i64,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Agreed { terms: String },
    Referred { to: String },
}

/// What a case's page shows of its mediation.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaseMediation {
    /// The case's mediation, when there is one and the caller is in its owner chain.
    pub mediation_id: Option<i64>,
    /// Whether the caller may take the case to mediation now.
    pub may_start: bool,
}

#[derive(Debug, Clone, Default)]
pub struct MediationFilter {
    /// Part of the case number or of a party's or mediator's name.
    pub search: Option<String>,
    /// Only disputes located in this area's subtree.
    pub within: Option<i64>,
    pub state: Option<String>,
    /// Only those whose follow-up visit is due and not yet made.
    pub follow_up_due: bool,
}

const COLUMNS: &str = "m.id, m.case_id, (SELECT c.number FROM cases c WHERE c.id = m.case_id) AS case_number, m.room_id, \
    m.state, m.terms, m.referred_to, m.follow_up_days, m.follow_up_due, m.follow_up_visit_id, m.created_at, m.updated_at";

fn from_row(r: &AnyRow) -> Result<Mediation, sqlx::Error> {
    Ok(Mediation {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        case_number: r.try_get("case_number")?,
        room_id: r.try_get("room_id")?,
        state: r.try_get("state")?,
        parties: Vec::new(),
        mediators: Vec::new(),
        sessions: Vec::new(),
        terms: r.try_get("terms")?,
        referred_to: r.try_get("referred_to")?,
        follow_up_days: r.try_get("follow_up_days")?,
        follow_up_due: r.try_get("follow_up_due")?,
        follow_up_visit_id: r.try_get("follow_up_visit_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

struct MediationRow {
    id: i64,
    owner_path: String,
    state: String,
    case_id: i64,
    follow_up_due: Option<String>,
}

impl Store {
    /// The mediation row, or 404 for anyone outside the owner chain.
    async fn mediation_row(&self, caller: &Caller, id: i64) -> StoreResult<MediationRow> {
        let r = sqlx::query("SELECT id, owner_path, state, case_id, follow_up_due FROM mediations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("mediation", id))?;
        let row = MediationRow {
            id,
            owner_path: r.try_get("owner_path")?,
            state: r.try_get("state")?,
            case_id: r.try_get("case_id")?,
            follow_up_due: r.try_get("follow_up_due")?,
        };
        if !caller.can(Permission::ReadRegistry) || !caller.scope().contains_path(&row.owner_path) {
            return Err(StoreError::not_found("mediation", id));
        }
        Ok(row)
    }

    async fn person(&self, caller: &Caller, field: &'static str, p: &NewPerson) -> StoreResult<(String, NewPerson)> {
        let mut name = opt_text(field, p.name.as_deref(), 50)?;
        if let Some(r) = p.resident_id {
            self.resident_ref(caller, field, r).await?;
            if name.is_none() {
                name = Some(
                    sqlx::query_scalar("SELECT name FROM residents WHERE id = $1")
                        .bind(r)
                        .fetch_one(&self.pool)
                        .await?,
                );
            }
        }
        if let Some(post) = p.post_id {
            let r = sqlx::query(
                "SELECT p.area_path, a.display_name FROM posts p JOIN accounts a ON a.id = p.account_id \
                 WHERE p.id = $1 AND p.ended_on IS NULL",
            )
            .bind(post)
            .fetch_optional(&self.pool)
            .await?
            .filter(|r| r.try_get::<String, _>("area_path").is_ok_and(|p| caller.scope().contains_path(&p)))
            .ok_or_else(|| StoreError::missing_ref(field, "unknown_post", format!("there is no post {post}")))?;
            if name.is_none() {
                name = Some(r.try_get("display_name")?);
            }
        }
        let name =
            name.ok_or_else(|| StoreError::invalid(field, "required", format!("each of {field} needs a name")))?;
        let title = opt_text(field, p.title.as_deref(), 50)?;
        Ok((name, NewPerson { title, ..p.clone() }))
    }

    /// The case a mediation may be started for, with what the mediation copies from it: a
    /// dispute not yet closed, owned within the caller's chain, and a caller who writes.
    async fn mediable_case(&self, caller: &Caller, case_id: i64) -> StoreResult<(crate::CaseView, AnyRow)> {
        let case = self
            .case(caller, case_id)
            .await
            .map_err(|_| StoreError::missing_ref("case_id", "unknown_case", format!("there is no case {case_id}")))?;
        let r = sqlx::query("SELECT county_id, area_path, owner_path, owner_post_id FROM cases WHERE id = $1")
            .bind(case.id)
            .fetch_one(&self.pool)
            .await?;
        let owner_path: Option<String> = r.try_get("owner_path")?;
        let Some(owner_path) = owner_path else {
            return Err(StoreError::conflict(
                Some("case_id"),
                "no_owner",
                "the case has no owner yet: dispatch it before taking it to mediation",
            ));
        };
        if !caller.scope().contains_path(&owner_path) {
            return Err(StoreError::missing_ref("case_id", "unknown_case", format!("there is no case {}", case.id)));
        }
        audit::require(caller, Permission::WriteRegistry)?;
        if !case.category.ends_with("dispute") {
            return Err(StoreError::invalid(
                "case_id",
                "not_a_dispute",
                format!("case {} is of category {}, not a dispute", case.number, case.category),
            ));
        }
        if case.state == wangge_core::CaseState::Closed || case.state == wangge_core::CaseState::Void {
            return Err(StoreError::conflict(Some("case_id"), "case_closed", "the case is already closed"));
        }
        Ok((case, r))
    }

    /// A case's mediation as its page shows it: the mediation the caller may see, or whether
    /// the caller may take the case to mediation now.
    pub async fn case_mediation(&self, caller: &Caller, case_id: i64) -> StoreResult<CaseMediation> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM mediations WHERE case_id = $1")
            .bind(case_id)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(id) = id {
            let seen = self.mediation_row(caller, id).await.is_ok();
            return Ok(CaseMediation { mediation_id: seen.then_some(id), may_start: false });
        }
        let may_start = match self.mediable_case(caller, case_id).await {
            Ok(_) => true,
            Err(e @ StoreError::Db(_)) => return Err(e),
            Err(_) => false,
        };
        Ok(CaseMediation { mediation_id: None, may_start })
    }

    /// Takes a dispute case to mediation; only its owner chain may.
    pub async fn start_mediation(&self, caller: &Caller, new: NewMediation) -> StoreResult<Mediation> {
        let (case, r) = self.mediable_case(caller, new.case_id).await?;
        let owner_path: String = r.try_get("owner_path")?;
        if !(1..=365).contains(&new.follow_up_days) {
            return Err(StoreError::invalid("follow_up_days", "out_of_range", "the follow-up is 1 to 365 days after"));
        }
        if new.parties.is_empty() || new.parties.len() > 20 {
            return Err(StoreError::invalid("parties", "out_of_range", "a mediation has 1 to 20 parties"));
        }
        if new.mediators.is_empty() || new.mediators.len() > 10 {
            return Err(StoreError::invalid("mediators", "out_of_range", "a mediation has 1 to 10 mediators"));
        }
        if let Some(room) = new.room_id {
            self.living_room(caller, room).await.map_err(|_| {
                StoreError::missing_ref("room_id", "unknown_room", format!("there is no living room {room}"))
            })?;
        }
        let mut people = Vec::new();
        for p in &new.parties {
            people.push(("party", self.person(caller, "parties", p).await?));
        }
        for p in &new.mediators {
            people.push(("mediator", self.person(caller, "mediators", p).await?));
        }
        let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM mediations WHERE case_id = $1")
            .bind(case.id)
            .fetch_one(&self.pool)
            .await?;
        if seen > 0 {
            return Err(StoreError::conflict(Some("case_id"), "already_mediated", "the case is already in mediation"));
        }
        let now = ts(self.now());
        let area_path: String = r.try_get("area_path")?;
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO mediations (county_id, case_id, area_path, owner_post_id, owner_path, room_id, state, \
             follow_up_days, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $8) RETURNING id",
        )
        .bind(r.try_get::<i64, _>("county_id")?)
        .bind(case.id)
        .bind(&area_path)
        .bind(r.try_get::<Option<i64>, _>("owner_post_id")?)
        .bind(&owner_path)
        .bind(new.room_id)
        .bind(new.follow_up_days)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        for (role, (name, p)) in people {
            sqlx::query(
                "INSERT INTO mediation_parties (mediation_id, role, resident_id, post_id, name, title) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(role)
            .bind(p.resident_id)
            .bind(p.post_id)
            .bind(name)
            .bind(p.title)
            .execute(&mut *tx)
            .await?;
        }
        // Written against the owner's path: the audit of a private matter stays in its chain.
        audit::record(&mut tx, caller, "create", "mediation", Some(id), &owner_path, None, Some(case.number)).await?;
        tx.commit().await?;
        self.mediation(caller, id).await
    }

    pub async fn mediation(&self, caller: &Caller, id: i64) -> StoreResult<Mediation> {
        self.mediation_row(caller, id).await?;
        let r = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM mediations m WHERE m.id = $1")))
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        let mut m = from_row(&r)?;
        let rows = sqlx::query(
            "SELECT role, name, resident_id, post_id, title FROM mediation_parties WHERE mediation_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let p = MediationPerson {
                name: r.try_get("name")?,
                resident_id: r.try_get("resident_id")?,
                post_id: r.try_get("post_id")?,
                title: r.try_get("title")?,
            };
            if r.try_get::<String, _>("role")? == "party" {
                m.parties.push(p);
            } else {
                m.mediators.push(p);
            }
        }
        let rows = sqlx::query(
            "SELECT id, held_at, note FROM mediation_sessions WHERE mediation_id = $1 ORDER BY held_at, id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            m.sessions.push(MediationSession {
                id: r.try_get("id")?,
                held_at: r.try_get("held_at")?,
                note: r.try_get("note")?,
            });
        }
        Ok(m)
    }

    /// The mediations of the caller's owner chain.
    pub async fn list_mediations(
        &self,
        caller: &Caller,
        f: &MediationFilter,
        page: Page,
    ) -> StoreResult<Paged<Mediation>> {
        audit::require(caller, Permission::ReadRegistry)?;
        let mut filter = Sql::new(" FROM mediations m WHERE 1 = 1");
        filter.in_range("m.owner_path", &caller.scope().path_range());
        if let Some(w) = f.within {
            let r = self.range_within(caller.scope(), Some(w)).await?;
            filter.in_range("m.area_path", &r);
        }
        if let Some(s) = f.state.as_deref() {
            if !["open", "agreed", "referred", "followed_up"].contains(&s) {
                return Err(StoreError::invalid(
                    "state",
                    "unknown_state",
                    "state is open, agreed, referred or followed_up",
                ));
            }
            filter.push(" AND m.state = ").bind(s);
        }
        if let Some(q) = f.search.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let like = crate::sql::like_contains(q);
            filter
                .push(" AND (EXISTS (SELECT 1 FROM cases c WHERE c.id = m.case_id AND c.number LIKE ")
                .bind(like.clone());
            filter.push(" ESCAPE '\\') OR EXISTS (SELECT 1 FROM mediation_parties p WHERE p.mediation_id = m.id AND p.name LIKE ");
            filter.bind(like).push(" ESCAPE '\\'))");
        }
        if f.follow_up_due {
            filter.push(" AND m.state = 'agreed' AND m.follow_up_due <= ").bind(ts(self.now()));
        }
        let sort = Sort::parse(Some("-m.created_at"), &["m.created_at"])?;
        self.fetch_page(&filter, &format!("SELECT {COLUMNS}"), &sort, page, from_row).await
    }

    pub async fn add_mediation_session(
        &self,
        caller: &Caller,
        id: i64,
        held_at: &str,
        note: &str,
    ) -> StoreResult<Mediation> {
        let m = self.mediation_row(caller, id).await?;
        audit::require(caller, Permission::WriteRegistry)?;
        let held = instant("held_at", held_at)?;
        if held > self.now() + TimeDelta::minutes(5) {
            return Err(StoreError::invalid("held_at", "in_future", "a session is recorded after it is held"));
        }
        let note = text("note", note, 4000)?;
        if m.state != "open" {
            return Err(StoreError::conflict(None, "mediation_ended", format!("the mediation is {}", m.state)));
        }
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO mediation_sessions (mediation_id, held_at, note, post_id, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(ts(held))
        .bind(&note)
        .bind(caller.post_id)
        .bind(ts(self.now()))
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE mediations SET updated_at = $1 WHERE id = $2")
            .bind(ts(self.now()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(&mut tx, caller, "session", "mediation", Some(id), &m.owner_path, None, None).await?;
        tx.commit().await?;
        self.mediation(caller, id).await
    }

    /// The outcome: an agreement (its follow-up visit then falls due after the set days) or
    /// referred on.
    pub async fn mediation_outcome(&self, caller: &Caller, id: i64, outcome: Outcome) -> StoreResult<Mediation> {
        let m = self.mediation_row(caller, id).await?;
        audit::require(caller, Permission::WriteRegistry)?;
        let (state, terms, to) = match &outcome {
            Outcome::Agreed { terms } => ("agreed", Some(text("terms", terms, 4000)?), None),
            Outcome::Referred { to } => ("referred", None, Some(text("referred_to", to, 200)?)),
        };
        if m.state != "open" {
            return Err(StoreError::conflict(None, "mediation_ended", format!("the mediation is already {}", m.state)));
        }
        let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM mediation_sessions WHERE mediation_id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        if sessions == 0 {
            return Err(StoreError::conflict(None, "no_session", "record the mediation's session before its outcome"));
        }
        let now = self.now();
        let days: i64 = sqlx::query_scalar("SELECT follow_up_days FROM mediations WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        let due = (state == "agreed").then(|| ts(now + TimeDelta::days(days)));
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE mediations SET state = $1, terms = $2, referred_to = $3, follow_up_due = $4, updated_at = $5 \
             WHERE id = $6",
        )
        .bind(state)
        .bind(terms)
        .bind(to)
        .bind(due)
        .bind(ts(now))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, state, "mediation", Some(id), &m.owner_path, None, None).await?;
        tx.commit().await?;
        self.mediation(caller, id).await
    }

    /// The follow-up visit of an agreement, once it is due; recorded as a visit to the
    /// household of the case (or the one named).
    pub async fn mediation_follow_up(
        &self,
        caller: &Caller,
        id: i64,
        household_id: Option<i64>,
        found: &str,
    ) -> StoreResult<Mediation> {
        let m = self.mediation_row(caller, id).await?;
        audit::require(caller, Permission::WriteRegistry)?;
        let found = text("found", found, 4000)?;
        if m.state != "agreed" {
            return Err(StoreError::conflict(
                None,
                "not_agreed",
                format!("only an agreement is followed up; the mediation is {}", m.state),
            ));
        }
        let now = self.now();
        if m.follow_up_due.as_deref().is_some_and(|d| d > ts(now).as_str()) {
            return Err(StoreError::conflict(
                None,
                "follow_up_not_due",
                format!("the follow-up visit is due from {}", m.follow_up_due.unwrap_or_default()),
            ));
        }
        let case_household: Option<i64> = sqlx::query_scalar("SELECT household_id FROM cases WHERE id = $1")
            .bind(m.case_id)
            .fetch_one(&self.pool)
            .await?;
        let household = household_id.or(case_household).ok_or_else(|| {
            StoreError::invalid("household_id", "required", "name the household the follow-up visit went to")
        })?;
        let h = sqlx::query("SELECT id, county_id, grid_id, area_path FROM households WHERE id = $1")
            .bind(household)
            .fetch_optional(&self.pool)
            .await?
            .filter(|r| {
                r.try_get::<String, _>("area_path")
                    .is_ok_and(|p| p.starts_with(&m.owner_path) || caller.scope().contains_path(&p))
            })
            .ok_or_else(|| {
                StoreError::missing_ref(
                    "household_id",
                    "unknown_household",
                    format!("there is no household {household}"),
                )
            })?;
        let mut tx = self.write_tx().await?;
        let visit: i64 = sqlx::query_scalar(
            "INSERT INTO visits (county_id, grid_id, household_id, area_path, visited_on, found, follow_up, case_id, \
             mediation_id, post_id, account_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9, $10, $11) \
             RETURNING id",
        )
        .bind(h.try_get::<i64, _>("county_id")?)
        .bind(h.try_get::<i64, _>("grid_id")?)
        .bind(household)
        .bind(h.try_get::<String, _>("area_path")?)
        .bind(local_date(now))
        .bind(&found)
        .bind(m.case_id)
        .bind(m.id)
        .bind(caller.post_id)
        .bind(caller.account_id)
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE mediations SET state = 'followed_up', follow_up_visit_id = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(visit)
        .bind(ts(now))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "follow_up", "mediation", Some(id), &m.owner_path, None, None).await?;
        tx.commit().await?;
        self.mediation(caller, id).await
    }

    /// Reminds the owner of each agreement whose follow-up visit fell due, once. Run by the
    /// job runner beside the case jobs; tests call it with their clock.
    pub async fn run_due_mediation_follow_ups(&self, now: DateTime<Utc>) -> StoreResult<usize> {
        let rows = sqlx::query(
            "SELECT m.id, m.case_id, m.owner_post_id, m.owner_path, c.number FROM mediations m \
             JOIN cases c ON c.id = m.case_id WHERE m.state = 'agreed' AND m.follow_up_due <= $1 \
             AND m.follow_up_notified IS NULL ORDER BY m.id LIMIT 200",
        )
        .bind(ts(now))
        .fetch_all(&self.pool)
        .await?;
        let mut done = 0;
        for r in rows {
            let id: i64 = r.try_get("id")?;
            let mut tx = self.write_tx().await?;
            // Claimed in the transaction that notifies: two runners remind once.
            let claimed = sqlx::query(
                "UPDATE mediations SET follow_up_notified = $1 WHERE id = $2 AND follow_up_notified IS NULL",
            )
            .bind(ts(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() == 0 {
                continue;
            }
            if let Some(post) = r.try_get::<Option<i64>, _>("owner_post_id")? {
                let number: String = r.try_get("number")?;
                crate::cases::notify(
                    &mut tx,
                    post,
                    &r.try_get::<String, _>("owner_path")?,
                    r.try_get("case_id")?,
                    "mediation_follow_up",
                    format!("Mediation of case {number}: the follow-up visit is due"),
                    now,
                )
                .await?;
            }
            tx.commit().await?;
            done += 1;
        }
        Ok(done)
    }
}
