//! Delivery of the outbox: messages are recorded with the move that causes them, and a sender
//! claims the due ones, resolves where each goes, and records every attempt. A claim is a
//! conditional update, so that several app servers never send one attempt twice; a crash after
//! the claim only means the next attempt comes after the back-off (delivery is at least once,
//! and the gateway de-duplicates by message id).

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sqlx::Row;

use crate::clock::{parse_ts, ts};
use crate::{Store, StoreResult};

/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i64 = 8;

/// The wait after the `attempts`-th failed attempt: one minute, doubling, at most six hours.
pub fn retry_delay(attempts: i64) -> TimeDelta {
    let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    TimeDelta::minutes((1i64 << exp).min(360))
}

/// A message claimed for one attempt, with where it goes.
#[derive(Debug, Clone, Serialize)]
pub struct Outgoing {
    pub id: i64,
    /// `sms` or `webhook`.
    pub channel: String,
    /// The stored reference: `resident:<id>`, `case_reporter:<id>`, `co_building_unit:<id>`,
    /// `department:<name>`.
    pub recipient: String,
    /// The phone of an SMS recipient.
    pub to: Option<String>,
    /// The name of a co-building unit or department.
    pub recipient_name: Option<String>,
    pub case_number: Option<String>,
    pub body: String,
    /// This attempt's number, from 1.
    pub attempt: i64,
}

/// How a claimed message's recipient resolved.
enum Target {
    Phone(String),
    Named(String),
    Nowhere(&'static str),
}

impl Store {
    /// Claims up to `limit` messages due for an attempt at `now` and resolves their recipients.
    /// Messages that cannot go anywhere (a reporter without a phone) are given up at once,
    /// with the reason recorded.
    pub async fn claim_outgoing(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Outgoing>> {
        let rows = sqlx::query(
            "SELECT o.id, o.channel, o.recipient, o.body, o.attempts, o.last_attempt_at, c.number \
             FROM outbox_messages o LEFT JOIN cases c ON c.id = o.case_id \
             WHERE o.sent_at IS NULL AND o.attempts < $1 ORDER BY COALESCE(o.last_attempt_at, ''), o.id LIMIT $2",
        )
        .bind(MAX_ATTEMPTS)
        // Never tried first, then the longest waiting: those are the due ones.
        .bind(limit * 4)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            if out.len() as i64 >= limit {
                break;
            }
            let attempts: i64 = r.try_get("attempts")?;
            let last: Option<String> = r.try_get("last_attempt_at")?;
            let due = match last.as_deref().and_then(parse_ts) {
                Some(at) if attempts > 0 => at + retry_delay(attempts) <= now,
                _ => true,
            };
            if !due {
                continue;
            }
            let id: i64 = r.try_get("id")?;
            let claimed = sqlx::query(
                "UPDATE outbox_messages SET attempts = attempts + 1, last_attempt_at = $1 \
                 WHERE id = $2 AND attempts = $3 AND sent_at IS NULL",
            )
            .bind(ts(now))
            .bind(id)
            .bind(attempts)
            .execute(&self.pool)
            .await?
            .rows_affected()
                == 1;
            if !claimed {
                continue; // another server took it
            }
            let recipient: String = r.try_get("recipient")?;
            let (to, recipient_name) = match self.target(&recipient).await? {
                Target::Phone(p) => (Some(p), None),
                Target::Named(n) => (None, Some(n)),
                Target::Nowhere(why) => {
                    self.give_up_outgoing(id, why).await?;
                    continue;
                }
            };
            out.push(Outgoing {
                id,
                channel: r.try_get("channel")?,
                recipient,
                to,
                recipient_name,
                case_number: r.try_get("number")?,
                body: r.try_get("body")?,
                attempt: attempts + 1,
            });
        }
        Ok(out)
    }

    async fn target(&self, recipient: &str) -> StoreResult<Target> {
        let (kind, key) = recipient.split_once(':').unwrap_or((recipient, ""));
        let id = key.parse::<i64>().ok();
        let sealed: Option<Option<String>> = match (kind, id) {
            ("resident", Some(id)) => {
                sqlx::query_scalar("SELECT phone_sealed FROM residents WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
            }
            ("case_reporter", Some(id)) => {
                sqlx::query_scalar("SELECT phone_sealed FROM case_reporters WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
            }
            ("co_building_unit", Some(id)) => {
                let name: Option<String> = sqlx::query_scalar("SELECT name FROM co_building_units WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                return Ok(name.map_or(Target::Nowhere("no such co-building unit"), Target::Named));
            }
            ("department", _) if !key.is_empty() => return Ok(Target::Named(key.to_string())),
            _ => return Ok(Target::Nowhere("unknown recipient")),
        };
        match sealed.flatten() {
            Some(s) => Ok(Target::Phone(self.open_sealed(&s)?)),
            None => Ok(Target::Nowhere("the recipient has no phone")),
        }
    }

    /// Records a delivered attempt.
    pub async fn outgoing_sent(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE outbox_messages SET sent_at = $1, last_error = NULL WHERE id = $2")
            .bind(ts(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a failed attempt; the message is tried again after the back-off.
    pub async fn outgoing_failed(&self, id: i64, error: &str) -> StoreResult<()> {
        sqlx::query("UPDATE outbox_messages SET last_error = $1 WHERE id = $2")
            .bind(error.chars().take(500).collect::<String>())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Gives a message up: no further attempt will be made.
    pub async fn give_up_outgoing(&self, id: i64, error: &str) -> StoreResult<()> {
        sqlx::query("UPDATE outbox_messages SET last_error = $1, attempts = $2 WHERE id = $3")
            .bind(error.chars().take(500).collect::<String>())
            .bind(MAX_ATTEMPTS)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_back_off_doubles_up_to_six_hours() {
        let waits: Vec<i64> = (1..=MAX_ATTEMPTS).map(|a| retry_delay(a).num_minutes()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128]);
        assert_eq!(retry_delay(12).num_minutes(), 360);
    }
}
