//! One endpoint's delivery under a lease: its pending events in order, each signed and POSTed,
//! each outcome settled before the next is sent.

use std::time::Duration;

use chrono::Utc;
use entity::event;
use entity::webhook_endpoint::Model as Endpoint;
use serde::Serialize;
use tokio::time::Instant;

use super::{target, Dispatcher, EVENTS_PER_LEASE};
use crate::db::webhooks::{self as store, Next, Outcome};
use crate::domain::webhook::signature as sign;
use crate::realtime::envelope::{timestamp, Envelope};

/// Bytes of a receiver's answer read (and discarded) at most.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// How a lease's delivery ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ended {
    /// Nothing left up to the outbox's head.
    CaughtUp,
    /// It had its share with more to go: it goes back in line.
    Yielded,
    /// An attempt failed (a retry is scheduled, or the endpoint is disabled), the lease was
    /// lost, or the partner is suspended.
    Stopped,
}

impl Dispatcher {
    /// Delivers the endpoint's pending events in order until it is caught up, an attempt
    /// fails, or it has had its share.
    pub(super) async fn deliver(&self, ep: Endpoint, head: i64) -> crate::error::AppResult<Ended> {
        let db = &self.db;
        let reader = store::reader(&ep);
        if let Some(p) = ep.deliver_partner_id {
            if !crate::db::partners::is_active(db, p).await? {
                // A suspended partner's deliveries wait until it is active again.
                let later = Utc::now() + chrono::Duration::minutes(1);
                store::release(db, &ep, &self.instance, ep.cursor, later).await?;
                return Ok(Ended::Stopped);
            }
        }
        let mut cursor = ep.cursor;
        let mut attempts = ep.attempts;
        let mut delivered = 0;
        loop {
            let events = crate::db::events::visible_after(db, &reader, cursor, 50).await?;
            if events.is_empty() {
                // Nothing this view may see up to `head`: the cursor passes over it all.
                store::release(db, &ep, &self.instance, cursor.max(head), Utc::now()).await?;
                return Ok(Ended::CaughtUp);
            }
            for ev in events {
                if !store::wants(&ep, &ev.topic) {
                    cursor = ev.id;
                    continue;
                }
                let outcome = self.attempt(&ep, &ev, attempts + 1).await;
                let next = if outcome.succeeded() {
                    Next::Delivered(self.lease_until())
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
                let delivered_now = matches!(next, Next::Delivered(_));
                self.metrics.webhook_attempt(delivered_now);
                let disabled = matches!(next, Next::Disable(_));
                // The settle also checks the lease: lost (another instance took the endpoint
                // over, or its owner changed it), nothing is written and this delivery ends.
                let settled = store::settle(db, &ep, &self.instance, &outcome, next).await?;
                if settled && disabled {
                    // Its owner hears of it now, not at the next outbox poll.
                    self.hub.flush().await;
                }
                if !settled || !delivered_now {
                    return Ok(Ended::Stopped);
                }
                cursor = ev.id;
                attempts = 0;
                delivered += 1;
                if delivered >= EVENTS_PER_LEASE {
                    store::release(db, &ep, &self.instance, cursor, Utc::now()).await?;
                    return Ok(Ended::Yielded);
                }
            }
        }
    }

    /// One signed POST of `ev` to the endpoint.
    async fn attempt(&self, ep: &Endpoint, ev: &event::Model, attempt: i32) -> Outcome {
        let envelope = Envelope::from(ev);
        let body = super::body(&envelope);
        let now = Utc::now();
        let timestamp = now.timestamp();
        let signature = sign::header(&signing_secrets(ep, now), &envelope.id, timestamp, &body);
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
            .header("webhook-id", &envelope.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(res) => {
                outcome.response_code = Some(res.status().as_u16() as i32);
                outcome.error = read_answer(res).await;
            }
            Err(e) => outcome.error = Some(self.failure(&e)),
        }
        outcome.latency_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
        outcome
    }

    /// Why a request got no answer, as the delivery log says it.
    fn failure(&self, e: &reqwest::Error) -> String {
        if e.is_timeout() {
            format!("no answer within {} ms", self.settings.webhook_timeout_ms)
        } else if e.is_connect() {
            format!("could not connect: {}", root_cause(e))
        } else {
            format!("the request failed: {}", root_cause(e))
        }
    }
}

/// A delivery's body, in the Standard Webhooks form: the topic as `type`, the event's time as
/// `timestamp`, and as `data` the event as the `events` query gives it (its [`Envelope`]).
#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: String,
    data: &'a Envelope,
}

/// The bytes a delivery of `envelope` POSTs (and signs).
pub(crate) fn body(envelope: &Envelope) -> Vec<u8> {
    let body = Body {
        kind: &envelope.topic,
        timestamp: timestamp(envelope.created_at),
        data: envelope,
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The secrets that sign a delivery at `now`: the endpoint's, and its previous one while a
/// rotation's overlap lasts.
fn signing_secrets(ep: &Endpoint, now: chrono::DateTime<Utc>) -> Vec<&str> {
    let mut secrets = vec![ep.secret.as_str()];
    if let (Some(old), Some(until)) = (&ep.previous_secret, ep.previous_secret_expires_at) {
        if until > now {
            secrets.push(old.as_str());
        }
    }
    secrets
}

/// Reads a bounded part of the receiver's answer so the connection can be reused (a receiver
/// that streams more is cut off); returns the error to log unless it answered 2xx.
async fn read_answer(mut res: reqwest::Response) -> Option<String> {
    let status = res.status();
    let mut read = 0;
    while read < MAX_RESPONSE_BYTES {
        match res.chunk().await {
            Ok(Some(c)) => read += c.len(),
            _ => break,
        }
    }
    (!status.is_success()).then(|| format!("the receiver answered HTTP {}", status.as_u16()))
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
