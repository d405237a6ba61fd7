//! What a reporter sees and does with a case's number and follow token, without an account:
//! its progress and public notes (no personal data), a rating, and "not fixed" within the
//! window. The web's public page and SMS links use these.

use serde::Serialize;
use sqlx::Row;
use wangge_core::case::{Rating, Satisfaction};
use wangge_core::{Caller, CaseState, Level, MoveKind};

use crate::{MoveInput, Store, StoreError, StoreResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicNote {
    pub at: String,
    /// The move that carried it: `resolve`, `comment`, `void`, `close`, `whistle_report`.
    pub kind: String,
    pub text: String,
}

/// A case as its reporter follows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicCase {
    pub number: String,
    pub state: CaseState,
    pub category: String,
    pub category_zh: String,
    pub category_en: String,
    pub promise_zh: String,
    pub promise_en: String,
    /// The level of the post handling it now (unit, grid, community, town, county).
    pub handled_at: Option<Level>,
    pub respond_due: Option<String>,
    pub close_due: Option<String>,
    pub created_at: String,
    pub closed_at: Option<String>,
    pub solved: Option<bool>,
    pub satisfaction: Option<Satisfaction>,
    /// Set when this report joined another case: that case's number, whose answer it shares.
    pub merged_into: Option<String>,
    /// Answers, results and public comments, oldest first.
    pub notes: Vec<PublicNote>,
}

impl Store {
    /// The case a number and token open; the kept case when it was merged. Any mismatch is
    /// "not found", so numbers cannot be probed.
    async fn followed(&self, number: &str, token: &str) -> StoreResult<(i64, Option<String>)> {
        let row = sqlx::query("SELECT id, parent_id, follow_token_hash FROM cases WHERE number = $1")
            .bind(number)
            .fetch_optional(&self.pool)
            .await?;
        let hash = crate::accounts::token_hash(&token.trim().to_uppercase());
        let Some(r) = row.filter(|r| r.try_get::<Option<String>, _>("follow_token_hash").ok().flatten() == Some(hash))
        else {
            return Err(StoreError::not_found("case", number));
        };
        match r.try_get::<Option<i64>, _>("parent_id")? {
            Some(parent) => {
                let n: String = sqlx::query_scalar("SELECT number FROM cases WHERE id = $1")
                    .bind(parent)
                    .fetch_one(&self.pool)
                    .await?;
                Ok((parent, Some(n)))
            }
            None => Ok((r.try_get("id")?, None)),
        }
    }

    pub async fn public_case(&self, number: &str, token: &str) -> StoreResult<PublicCase> {
        let (id, merged_into) = self.followed(number, token).await?;
        let v = self.case(&Caller::system(), id).await?;
        let cat = self.category(&v.category).await?;
        let rows = sqlx::query("SELECT kind, at, data, reason FROM case_events WHERE case_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        let mut notes = Vec::new();
        for r in rows {
            let kind: String = r.try_get("kind")?;
            let data: Option<serde_json::Value> =
                r.try_get::<Option<String>, _>("data")?.and_then(|d| serde_json::from_str(&d).ok());
            let note = data.as_ref().and_then(|d| d.get("note")).and_then(|n| n.as_str()).map(str::to_string);
            let public =
                data.as_ref().and_then(|d| d.get("public")).and_then(serde_json::Value::as_bool).unwrap_or(false);
            let text = match kind.as_str() {
                "resolve" | "close" | "whistle_report" => note,
                "comment" if public => note,
                "void" => r.try_get("reason")?,
                _ => None,
            };
            if let Some(text) = text {
                notes.push(PublicNote { at: r.try_get("at")?, kind, text });
            }
        }
        Ok(PublicCase {
            number: v.number,
            state: v.state,
            category: cat.code,
            category_zh: cat.name_zh,
            category_en: cat.name_en,
            promise_zh: cat.promise_zh,
            promise_en: cat.promise_en,
            handled_at: v.owner_level,
            respond_due: v.respond_due,
            close_due: v.close_due,
            created_at: v.created_at,
            closed_at: v.closed_at,
            solved: v.rating.as_ref().map(|r| r.solved),
            satisfaction: v.rating.as_ref().map(|r| r.satisfaction),
            merged_into,
            notes,
        })
    }

    /// The reporter's rating (回访): "not solved" or "dissatisfied" reopens the case.
    pub async fn rate_as_reporter(&self, number: &str, token: &str, rating: Rating) -> StoreResult<PublicCase> {
        let (id, _) = self.followed(number, token).await?;
        let input = MoveInput { rating: Some(rating), ..MoveInput::default() };
        self.reporter_move(id, MoveKind::Callback, input).await?;
        self.public_case(number, token).await
    }

    /// The reporter says it is not fixed, within the window after it was handled.
    pub async fn not_fixed(&self, number: &str, token: &str, reason: &str) -> StoreResult<PublicCase> {
        let (id, _) = self.followed(number, token).await?;
        let input = MoveInput { reason: Some(reason.to_string()), ..MoveInput::default() };
        self.reporter_move(id, MoveKind::Reopen, input).await?;
        self.public_case(number, token).await
    }
}
