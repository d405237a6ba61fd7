//! Sending the outbox: every due message goes to the county's message gateway, an HTTP
//! endpoint that sends the SMS or forwards the webhook. The gateway gets one JSON POST per
//! attempt, signed with HMAC-SHA256 when a secret is configured, and answers 2xx when it has
//! taken the message. Anything else is retried with a doubling back-off, except a 4xx that
//! says the message itself is wrong, which gives it up.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use wangge_store::outbox::Outgoing;
use wangge_store::{Store, StoreResult};

/// Where messages go.
pub trait Sender: Send + Sync {
    /// Sends one message: `Ok` when taken, `Err(Failure)` otherwise.
    fn send(&self, m: &Outgoing) -> impl std::future::Future<Output = Result<(), Failure>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another attempt later.
    Retry(String),
    /// The gateway refused the message itself; another attempt would be refused too.
    Refused(String),
}

/// The HTTP gateway.
#[derive(Debug, Clone)]
pub struct Gateway {
    url: String,
    secret: Option<String>,
    client: reqwest::Client,
}

/// The header that carries `sha256=<hex HMAC of the body>`.
pub const SIGNATURE_HEADER: &str = "x-wangge-signature";
/// The header that carries the message id, for the gateway to de-duplicate repeated attempts.
pub const MESSAGE_ID_HEADER: &str = "x-wangge-message-id";

impl Gateway {
    pub fn new(url: impl Into<String>, secret: Option<String>) -> Gateway {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("a client without TLS options builds");
        Gateway { url: url.into(), secret, client }
    }
}

/// The signature of a body under a secret, as the gateway checks it.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

impl Sender for Gateway {
    async fn send(&self, m: &Outgoing) -> Result<(), Failure> {
        let body = serde_json::to_vec(m).map_err(|e| Failure::Refused(e.to_string()))?;
        let mut req = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header(MESSAGE_ID_HEADER, m.id.to_string());
        if let Some(s) = &self.secret {
            req = req.header(SIGNATURE_HEADER, signature(s, &body));
        }
        let resp = req.body(body).send().await.map_err(|e| Failure::Retry(format!("gateway unreachable: {e}")))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let text: String = resp.text().await.unwrap_or_default().chars().take(200).collect();
        let why = format!("gateway answered {status}: {text}");
        // Timeouts and throttling pass; other 4xx mean this message will never be taken.
        if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
            Err(Failure::Refused(why))
        } else {
            Err(Failure::Retry(why))
        }
    }
}

/// What one round of delivery did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub retried: usize,
    pub refused: usize,
}

/// Sends every message due at `now`, in rounds of up to 100.
pub async fn deliver_due(store: &Store, sender: &impl Sender, now: DateTime<Utc>) -> StoreResult<Delivery> {
    let mut d = Delivery::default();
    loop {
        let batch = store.claim_outgoing(now, 100).await?;
        if batch.is_empty() {
            return Ok(d);
        }
        for m in &batch {
            match sender.send(m).await {
                Ok(()) => {
                    store.outgoing_sent(m.id, store.now()).await?;
                    d.sent += 1;
                }
                Err(Failure::Retry(e)) => {
                    store.outgoing_failed(m.id, &e).await?;
                    d.retried += 1;
                }
                Err(Failure::Refused(e)) => {
                    store.give_up_outgoing(m.id, &e).await?;
                    d.refused += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hex_hmac_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
