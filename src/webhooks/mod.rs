//! Webhook delivery: every instance runs a dispatcher that pushes outbox events to the
//! registered endpoints, signed per the Standard Webhooks specification.
//!
//! - **What**: each endpoint receives, in outbox order, the events its view may see: the rows
//!   the `events` query returns for that view (`events::visible_after`), filtered by the
//!   endpoint's topic prefixes. Scoping is not re-implemented here.
//! - **At least once, in order**: an endpoint's `cursor` moves past an event only once the
//!   receiver answered 2xx. A failed attempt is retried after the next wait of
//!   `--webhook-retry-schedule` (with ±20 % jitter), and later events wait behind it; when the
//!   schedule runs out the endpoint is disabled and its owner hears `webhook.endpoint_disabled`.
//!   The event's global id is the `webhook-id`, the same on every retry: receivers deduplicate
//!   by it.
//! - **Several instances**: a dispatcher leases the endpoints it works on (`db::webhooks::claim`),
//!   renews the lease before each attempt and writes only under it, so each attempt is made by
//!   one instance; a lease that runs out unreleased (its instance died mid-delivery) is claimed
//!   by the next poll of any instance, which delivers the pending event again.
//! - **Wake-ups**: every new event this instance's outbox tail sees starts a round at once;
//!   retries that fall due are found by a poll every `--webhook-poll-ms`.

pub mod sign;
pub mod target;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::event;
use entity::webhook_endpoint::Model as Endpoint;
use sea_orm::DatabaseConnection;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::WebhookArgs;
use crate::db::webhooks::{self as store, Next, Outcome};
use crate::AppState;

/// Bytes of a receiver's answer read (and discarded) at most.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Events one lease delivers before the endpoint goes back in line (others get their turn).
const EVENTS_PER_LEASE: usize = 100;

/// Starts this instance's dispatcher; it stops when the server shuts down.
pub fn spawn(state: &AppState) -> JoinHandle<()> {
    let settings = state.webhooks.clone();
    let client = match target::client(
        settings.policy(),
        Duration::from_millis(settings.webhook_timeout_ms),
    ) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhooks are not delivered by this instance");
            return tokio::spawn(async {});
        }
    };
    let dispatcher = Arc::new(Dispatcher {
        // A pool of its own: deliveries neither queue behind requests nor count as theirs.
        db: crate::db::sibling_pool(&state.db, settings.webhook_concurrency.clamp(2, 8)),
        instance: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
        client,
        settings,
        hub: state.hub.clone(),
        metrics: state.metrics.clone(),
    });
    tokio::spawn(async move { dispatcher.run().await })
}

/// What the next round has to do.
#[derive(Default)]
struct Wake {
    /// Active endpoints: the view each reads as, and the row (its topics).
    directory: std::collections::HashMap<i64, (crate::auth::Principal, Endpoint)>,
    /// Endpoints a new event is for, since when (given up after a lease: an endpoint in
    /// back-off, or held by another instance that reads on to the new event itself).
    pending: std::collections::HashMap<i64, chrono::DateTime<Utc>>,
    /// Read the directory again (an endpoint changed).
    reload: bool,
    /// Claim every endpoint behind the outbox.
    sweep: bool,
}

impl Wake {
    /// A new event: the endpoints whose view hears of it (the events scoping's own rule for
    /// live events, `audience_includes`) and whose topics take it are due.
    fn heard(&mut self, ev: &event::Model) {
        if ev.topic.starts_with("webhook.") {
            self.reload = true;
        }
        for (id, (reader, endpoint)) in &self.directory {
            if crate::db::events::audience_includes(reader, ev) && store::wants(endpoint, &ev.topic)
            {
                self.pending.entry(*id).or_insert_with(Utc::now);
            }
        }
    }
}

struct Dispatcher {
    db: DatabaseConnection,
    /// This instance's name in leases.
    instance: String,
    client: reqwest::Client,
    settings: Arc<WebhookArgs>,
    /// The outbox tail: wakes rounds, and relays the events a delivery writes.
    hub: Arc<crate::realtime::Hub>,
    metrics: Arc<crate::metrics::Metrics>,
}

impl Dispatcher {
    /// How long a lease lasts: longer than two attempts, renewed before each one.
    fn lease(&self) -> chrono::Duration {
        chrono::Duration::milliseconds(self.settings.webhook_timeout_ms as i64 * 2 + 5_000)
    }

    async fn run(self: Arc<Self>) {
        use tokio::sync::broadcast::error::RecvError;
        let hub = self.hub.clone();
        let mut closing = hub.closing();
        // The first sweep reads the outbox's head after the tail has, so that no event falls
        // between the sweep and the broadcast.
        loop {
            tokio::select! {
                started = hub.started(Duration::from_secs(10)) => if started { break },
                _ = crate::http::ws::until_true(&mut closing) => return,
            }
        }
        let mut live = hub.receiver();
        let mut tick = tokio::time::interval(Duration::from_millis(self.settings.webhook_poll_ms));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let slots = Arc::new(Semaphore::new(self.settings.webhook_concurrency as usize));
        let sweep_every = Duration::from_secs(self.settings.webhook_sweep_seconds);
        let mut wake = Wake {
            // At start: read the directory, and catch up whatever waited while no instance
            // delivered.
            reload: true,
            sweep: true,
            ..Wake::default()
        };
        let mut last_sweep = Instant::now();
        loop {
            if wake.reload {
                match store::active(&self.db).await {
                    Ok(rows) => {
                        // A new (or newly enabled) endpoint gets a look at once: events may
                        // have come for it before this instance knew of it.
                        let now = Utc::now();
                        for m in &rows {
                            if !wake.directory.contains_key(&m.id) {
                                wake.pending.entry(m.id).or_insert(now);
                            }
                        }
                        wake.directory = rows
                            .iter()
                            .map(|m| (m.id, (store::reader(m), m.clone())))
                            .collect();
                        wake.reload = false;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e.message(), "reading the webhook endpoints failed");
                    }
                }
            }
            if wake.sweep {
                last_sweep = Instant::now();
            }
            self.round(&slots, &mut wake).await;
            tokio::select! {
                _ = tick.tick() => {
                    if last_sweep.elapsed() >= sweep_every {
                        wake.sweep = true;
                        wake.reload = true;
                    }
                }
                got = live.recv() => match got {
                    Ok(ev) => {
                        wake.heard(&ev);
                        // One round for a burst of events.
                        while let Ok(ev) = live.try_recv() {
                            wake.heard(&ev);
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        wake.sweep = true;
                        wake.reload = true;
                    }
                    Err(RecvError::Closed) => live = hub.receiver(),
                },
                _ = crate::http::ws::until_true(&mut closing) => return,
            }
        }
    }

    /// Claims what is due, as many endpoints as there are free delivery slots, and delivers:
    /// the endpoints new events are for, retries that fell due, and, at a sweep, every
    /// endpoint behind the outbox. With nothing announced, a round is one statement.
    async fn round(self: &Arc<Self>, slots: &Arc<Semaphore>, wake: &mut Wake) {
        let now = Utc::now();
        wake.pending.retain(|_, since| now - *since < self.lease());
        let wanted: Vec<i64> = wake.pending.keys().copied().collect();
        // The outbox's head, read before any claimed endpoint reads its events.
        let head = if std::mem::take(&mut wake.sweep) {
            match crate::db::events::last_id(&self.db).await {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e.message(), "webhook dispatch could not read the outbox");
                    wake.sweep = true;
                    return;
                }
            }
        } else {
            None
        };
        let mut dues = vec![store::Due::Ids(&wanted), store::Due::Retries];
        if let Some(h) = head {
            dues.push(store::Due::Behind(h));
        }
        let mut claimed = Vec::new();
        for due in dues {
            let free = slots.available_permits().saturating_sub(claimed.len());
            if free == 0 {
                break;
            }
            let now = Utc::now();
            let until = now + self.lease();
            match store::claim(&self.db, &self.instance, due, now, until, free as u64).await {
                Ok(c) => claimed.extend(c),
                Err(e) => {
                    tracing::warn!(error = %e.message(), "claiming webhook endpoints failed");
                    break;
                }
            }
        }
        if claimed.is_empty() {
            return;
        }
        // An endpoint this instance did not know of (its creation was not heard: it came
        // before the outbox tail started, or the tail fell behind): read the directory again.
        if claimed.iter().any(|e| !wake.directory.contains_key(&e.id)) {
            wake.reload = true;
        }
        let head = match head {
            Some(h) => h,
            None => match crate::db::events::last_id(&self.db).await {
                Ok(h) => h,
                Err(e) => {
                    // Claimed but not delivered: the leases run out and they are claimed again.
                    tracing::warn!(error = %e.message(), "webhook dispatch could not read the outbox");
                    return;
                }
            },
        };
        self.metrics.webhook_claimed(claimed.len() as u64);
        for endpoint in claimed {
            wake.pending.remove(&endpoint.id);
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                // More claimed than free slots (cannot happen: one round at a time); the lease
                // runs out and the endpoint is claimed again.
                break;
            };
            let this = self.clone();
            tokio::spawn(async move {
                let id = endpoint.id;
                if let Err(e) = this.deliver(endpoint, head).await {
                    tracing::warn!(endpoint = id, error = %e.message(), "webhook delivery stopped; its lease runs out and it is tried again");
                }
                drop(permit);
            });
        }
    }

    /// Delivers the endpoint's pending events in order until it is caught up, an attempt
    /// fails, or it has had its share.
    async fn deliver(&self, ep: Endpoint, head: i64) -> crate::error::AppResult<()> {
        let db = &self.db;
        let reader = store::reader(&ep);
        if let Some(p) = ep.deliver_partner_id {
            if !crate::db::partners::is_active(db, p).await? {
                // A suspended partner's deliveries wait until it is active again.
                let later = Utc::now() + chrono::Duration::minutes(1);
                return store::release(db, &ep, &self.instance, ep.cursor, later).await;
            }
        }
        let mut cursor = ep.cursor;
        let mut attempts = ep.attempts;
        let mut delivered = 0;
        loop {
            let events = crate::db::events::visible_after(db, &reader, cursor, 50).await?;
            if events.is_empty() {
                // Nothing this view may see up to `head`: the cursor passes over it all.
                return store::release(db, &ep, &self.instance, cursor.max(head), Utc::now()).await;
            }
            for ev in events {
                if !store::wants(&ep, &ev.topic) {
                    cursor = ev.id;
                    continue;
                }
                let until = Utc::now() + self.lease();
                if !store::renew(db, &ep, &self.instance, cursor, until).await? {
                    return Ok(());
                }
                let outcome = self.attempt(&ep, &ev, attempts + 1).await;
                let next = if outcome.succeeded() {
                    Next::Delivered
                } else {
                    let waits = &self.settings.webhook_retry_schedule.0;
                    match waits.get(attempts as usize) {
                        Some(wait) => Next::RetryAt(Utc::now() + jittered(*wait)),
                        None => Next::Disable(format!(
                            "{} attempts at event {} failed (last: {}); turn it on again once the receiver works",
                            attempts + 1,
                            ev.id,
                            outcome.error.as_deref().unwrap_or("unknown")
                        )),
                    }
                };
                let delivered_now = matches!(next, Next::Delivered);
                self.metrics.webhook_attempt(delivered_now);
                let disabled = matches!(next, Next::Disable(_));
                let settled = store::settle(db, &ep, &self.instance, &outcome, next).await?;
                if settled && disabled {
                    // Its owner hears of it now, not at the next outbox poll.
                    self.hub.flush().await;
                }
                if !settled || !delivered_now {
                    return Ok(());
                }
                cursor = ev.id;
                attempts = 0;
                delivered += 1;
                if delivered >= EVENTS_PER_LEASE {
                    return store::release(db, &ep, &self.instance, cursor, Utc::now()).await;
                }
            }
        }
    }

    /// One signed POST of `ev` to the endpoint.
    async fn attempt(&self, ep: &Endpoint, ev: &event::Model, attempt: i32) -> Outcome {
        let id = crate::ids::encode(crate::ids::Kind::Event, ev.id);
        let created = ev
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let body = serde_json::json!({
            "type": ev.topic,
            "timestamp": created,
            "data": {
                "id": id,
                "cursor": ev.id.to_string(),
                "topic": ev.topic,
                "subjectId": ev.subject_id,
                "payload": ev.payload,
                "createdAt": created,
            },
        });
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let now = Utc::now();
        let mut secrets = vec![ep.secret.as_str()];
        if let (Some(old), Some(until)) = (&ep.previous_secret, ep.previous_secret_expires_at) {
            if until > now {
                secrets.push(old.as_str());
            }
        }
        let timestamp = now.timestamp();
        let signature = sign::header(&secrets, &id, timestamp, &body);
        let mut outcome = Outcome {
            event_id: ev.id,
            topic: ev.topic.clone(),
            attempt,
            response_code: None,
            latency_ms: 0,
            error: None,
        };
        // The policy may have tightened since the endpoint was registered.
        if let Err(why) = target::check_url(&ep.url, self.settings.policy()) {
            outcome.error = Some(format!("the URL is refused: {why}"));
            return outcome;
        }
        let started = Instant::now();
        let sent = self
            .client
            .post(&ep.url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(mut res) => {
                let status = res.status();
                outcome.response_code = Some(status.as_u16() as i32);
                // Read a bounded part of the answer so the connection can be reused; a
                // receiver that streams more is cut off.
                let mut read = 0;
                while read < MAX_RESPONSE_BYTES {
                    match res.chunk().await {
                        Ok(Some(c)) => read += c.len(),
                        _ => break,
                    }
                }
                if !status.is_success() {
                    outcome.error = Some(format!("the receiver answered HTTP {}", status.as_u16()));
                }
            }
            Err(e) => {
                outcome.error = Some(if e.is_timeout() {
                    format!("no answer within {} ms", self.settings.webhook_timeout_ms)
                } else if e.is_connect() {
                    format!("could not connect: {}", root_cause(&e))
                } else {
                    format!("the request failed: {}", root_cause(&e))
                });
            }
        }
        outcome.latency_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
        outcome
    }
}

/// The innermost error's message (reqwest's outer ones repeat the URL).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    let text = inner.to_string();
    text.chars().take(300).collect()
}

/// `wait` give or take 20 %, so endpoints that failed together do not retry together.
fn jittered(wait: Duration) -> chrono::Duration {
    let spread = (uuid::Uuid::new_v4().as_u128() % 401) as i64 - 200; // -200..=200 per mille
    let ms = wait.as_millis().min(i64::MAX as u128) as i64;
    chrono::Duration::milliseconds(ms + ms * spread / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_spread_within_a_fifth_of_the_wait() {
        for _ in 0..200 {
            let j = jittered(Duration::from_secs(100)).num_milliseconds();
            assert!((80_000..=120_000).contains(&j), "{j}");
        }
    }
}
