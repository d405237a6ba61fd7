//! What the pages need of cases beyond the moves: which moves a viewer may offer, and a
//! household's earlier cases for the intake console.

use wangge_core::case::Actor;
use wangge_core::{Caller, MoveKind};

use crate::cases::{roles, sees};
use crate::{CaseView, Store, StoreError, StoreResult};

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
}
