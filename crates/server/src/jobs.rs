//! The background runner of case deadline jobs: every few seconds it runs what is due on the
//! real clock. With a fake clock (tests) it stands aside and the tests run jobs themselves.
//! Several app servers may each run one: a job is claimed in the transaction that runs it.
//! The same runner sends the outbox through the message gateway when one is configured.

use std::time::Duration;

use wangge_store::Store;

pub const INTERVAL: Duration = Duration::from_secs(5);

pub fn start(store: Store, gateway: Option<crate::outbox::Gateway>) {
    let worker = format!("{}-{}", std::process::id(), wangge_store::accounts::random_token().get(..8).unwrap_or("w"));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if store.pool().is_closed() {
                break;
            }
            if !store.clock_is_real() {
                continue;
            }
            match store.run_due_jobs(store.now(), &worker).await {
                Ok(r) if r.total() > 0 => tracing::info!(?r, "case jobs run"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "case jobs failed; retrying at the next tick"),
            }
            match store.run_wish_deadlines(store.now()).await {
                Ok(n) if n > 0 => tracing::info!(n, "wishes escalated"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "wish deadlines failed; retrying at the next tick"),
            }
            match store.run_due_mediation_follow_ups(store.now()).await {
                Ok(n) if n > 0 => tracing::info!(n, "mediation follow-ups reminded"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "mediation follow-ups failed; retrying at the next tick"),
            }
            if let Some(g) = &gateway {
                match crate::outbox::deliver_due(&store, g, store.now()).await {
                    Ok(d) if d != Default::default() => tracing::info!(?d, "outbox delivered"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "outbox delivery failed; retrying at the next tick"),
                }
            }
        }
    });
}
