//! What the pages need of cases beyond the moves: which moves a viewer may offer, and the
//! reporter's own view of a case, reached by its number and a follow code.

use serde::Serialize;
use sqlx::Row;
use wangge_core::case::{Actor, Rating};
use wangge_core::{Caller, CaseState, MoveKind};

use crate::cases::{roles, sees};
use crate::{CaseView, MoveInput, Store, StoreError, StoreResult};

/// Moves a page offers as buttons; merge, attach and the system's own moves need more than a
/// button and stay with the API.
const OFFERED: [MoveKind; 18] = [
    MoveKind::Accept,
    MoveKind::Void,
    MoveKind::Dispatch,
    MoveKind::Sign,
    MoveKind::Respond,
    MoveKind::Resolve,
    MoveKind::Verify,
    MoveKind::Reject,
    MoveKind::Close,
    MoveKind::Return,
    MoveKind::Extend,
    MoveKind::ApproveExtension,
    MoveKind::RefuseExtension,
    MoveKind::Escalate,
    MoveKind::Pause,
    MoveKind::Resume,
    MoveKind::Callback,
    MoveKind::Comment,
];

/// A case as its reporter follows it: no names, no internal notes.
#[derive(Debug, Clone, Serialize)]
pub struct FollowedCase {
    pub number: String,
    pub category: String,
    pub state: CaseState,
    pub description: String,
    pub created_at: String,
    pub due_at: Option<String>,
    pub closed_at: Option<String>,
    pub rated: bool,
    /// The steps of the case, oldest first: (move, time, public note).
    pub steps: Vec<FollowedStep>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FollowedStep {
    pub kind: String,
    pub at: String,
    pub to_state: String,
    pub note: Option<String>,
}

impl Store {
    /// The moves the caller may make on the case now, as far as its state and the caller's
    /// roles tell; the move itself checks again.
    pub async fn available_moves(&self, caller: &Caller, view: &CaseView) -> StoreResult<Vec<MoveKind>> {
        let mut conn = self.pool.acquire().await?;
        let row = self.load_row(&mut conn, view.id).await?;
        if !sees(caller, &row.area_path, row.owner_path.as_deref(), row.is_private) {
            return Err(StoreError::not_found("case", view.id));
        }
        let mine = roles(caller, &row);
        Ok(OFFERED
            .into_iter()
            .filter(|k| k.from_states().contains(&view.state))
            .filter(|k| k.actors().iter().any(|a| *a != Actor::System && mine.contains(a)))
            .filter(|k| *k != MoveKind::Escalate || mine.contains(&Actor::Owner))
            .filter(|k| *k != MoveKind::ApproveExtension && *k != MoveKind::RefuseExtension || view.extension_pending)
            .filter(|k| *k != MoveKind::Resume || view.paused)
            .filter(|k| *k != MoveKind::Pause || !view.paused)
            .collect())
    }

    /// The latest cases of a household, at it or reported by its members, that the caller may
    /// see: what a hotline agent looks at before taking a new call.
    pub async fn cases_of_household(
        &self,
        caller: &Caller,
        household_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<CaseView>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM cases WHERE household_id = $1 OR id IN (SELECT r.case_id FROM case_reporters r \
             JOIN memberships m ON m.resident_id = r.resident_id WHERE m.household_id = $1 AND m.until IS NULL) \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(household_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for id in ids {
            match self.case(caller, id).await {
                Ok(v) => out.push(v),
                Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The code that, with the case number, lets a reporter follow and rate their case. It is
    /// given at intake; it cannot be worked out from the number without the deployment's key.
    pub fn follow_code(&self, number: &str) -> String {
        self.keyed_hash(&format!("case-follow:{number}"))[..8].to_uppercase()
    }

    async fn followed_id(&self, number: &str, code: &str) -> StoreResult<i64> {
        let wrong = || StoreError::invalid("code", "wrong_follow_code", "the case number or its follow code is wrong");
        if code.trim().to_uppercase() != self.follow_code(number.trim()) {
            return Err(wrong());
        }
        sqlx::query_scalar("SELECT id FROM cases WHERE number = $1")
            .bind(number.trim())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(wrong)
    }

    /// The reporter's view of their case.
    pub async fn followed_case(&self, number: &str, code: &str) -> StoreResult<FollowedCase> {
        let id = self.followed_id(number, code).await?;
        let v = self.case(&Caller::system(), id).await?;
        let rows = sqlx::query("SELECT kind, at, to_state, data FROM case_events WHERE case_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        let mut steps = Vec::new();
        for r in rows {
            let kind: String = r.try_get("kind")?;
            let data: Option<String> = r.try_get("data")?;
            let data: serde_json::Value = data.and_then(|d| serde_json::from_str(&d).ok()).unwrap_or_default();
            // Internal comments and attachments are the staff's; public comments are for the reporter.
            let public = data.get("public").and_then(serde_json::Value::as_bool).unwrap_or(false);
            if (kind == "comment" || kind == "attach") && !public {
                continue;
            }
            let note = if kind == "comment" || kind == "resolve" {
                data.get("note").and_then(serde_json::Value::as_str).map(str::to_string)
            } else {
                None
            };
            steps.push(FollowedStep { kind, at: r.try_get("at")?, to_state: r.try_get("to_state")?, note });
        }
        Ok(FollowedCase {
            number: v.number,
            category: v.category,
            state: v.state,
            description: v.description,
            created_at: v.created_at,
            due_at: v.due_at,
            closed_at: v.closed_at,
            rated: v.rating.is_some(),
            steps,
        })
    }

    /// The reporter's rating from the follow page: "not solved" or "dissatisfied" reopens the
    /// case to the same owner; the event says it came from the reporter.
    pub async fn rate_followed_case(&self, number: &str, code: &str, rating: Rating) -> StoreResult<FollowedCase> {
        let id = self.followed_id(number, code).await?;
        let input = MoveInput {
            rating: Some(rating),
            note: Some("rated by the reporter on the follow page".into()),
            ..MoveInput::default()
        };
        self.make_move(&Caller::system(), id, MoveKind::Callback, input).await?;
        self.followed_case(number, code).await
    }
}
