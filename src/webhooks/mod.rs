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
//! - **At the receiver's speed**: an endpoint with a backlog is delivered one event at a time,
//!   each sent as soon as the previous one is settled. After [`EVENTS_PER_LEASE`] events it goes
//!   back in line so that others get their turn, and is claimed again in the next round (not at
//!   the next sweep).
//! - **Fair shares**: one instance delivers to at most `--webhook-concurrency` endpoints at once,
//!   and to at most `--webhook-party-concurrency` of one party's (the vendor's, or one
//!   partner's); a round hands free slots to each party's first due endpoint before anyone's
//!   second. A party whose receivers hang holds its share for the timeout, never the others'.
//! - **Several instances**: a dispatcher leases the endpoints it works on
//!   (`db::webhooks::claim`) for [`LEASE`], renews all its leases every [`HEARTBEAT`] in one
//!   statement, and writes only under its lease, so each attempt is made by one instance. An
//!   instance that dies (kill -9, a lost host) stops renewing: its endpoints are claimed by any
//!   other instance, or by itself restarted, within [`LEASE`] plus one poll, and the pending
//!   event is sent again. An instance that shuts down hands its leases back at once.
//! - **Wake-ups**: every new event this instance's outbox tail sees starts a round at once;
//!   retries that fall due and lapsed leases are found by a poll every `--webhook-poll-ms`;
//!   a sweep every `--webhook-sweep-seconds` catches up whatever no wake-up announced.

mod deliver;

pub mod target;

pub(crate) use deliver::body;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::event;
use entity::webhook_endpoint::Model as Endpoint;
use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::WebhookArgs;
use crate::db::webhooks as store;
use crate::AppState;

/// Events one lease delivers before the endpoint goes back in line (others get their turn).
pub const EVENTS_PER_LEASE: usize = 100;
/// How long a lease lasts without renewal: how soon a dead instance's endpoints are taken over.
pub const LEASE: Duration = Duration::from_secs(4);
/// How often a dispatcher renews the leases it holds.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

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
        // A pool of its own: deliveries neither queue behind requests nor count as theirs. Its
        // commits return before they reach the disk: a crash of the database can only lose a
        // few milliseconds of cursors and log rows, whose events are then delivered again
        // (receivers deduplicate by webhook-id), and each delivered event costs no disk wait.
        db: crate::db::sibling_pool_with(
            &state.db,
            settings.webhook_concurrency.clamp(2, 8),
            crate::db::Commit::Asynchronous,
        ),
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
    /// Active endpoints: the view each reads as, and the row (its topics and party).
    directory: HashMap<i64, (crate::auth::Principal, Endpoint)>,
    /// Endpoints that have something to deliver (a new event is for them, or their last lease
    /// ended with more to go), waiting for a free slot in their party's share.
    pending: HashMap<i64, chrono::DateTime<Utc>>,
    /// Endpoints this instance is delivering to now, with their owner (a partner, or `None`
    /// for the vendor).
    holding: HashMap<i64, Owner>,
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

    /// Deliveries in flight per party, counting `claimed` (not started yet) as in flight.
    fn busy(&self, claimed: &[Endpoint]) -> HashMap<Owner, usize> {
        let mut busy = HashMap::new();
        for party in self
            .holding
            .values()
            .copied()
            .chain(claimed.iter().map(|e| e.owner_partner_id))
        {
            *busy.entry(party).or_default() += 1;
        }
        busy
    }

    /// The pending endpoints not held here whose party has room in its `share`.
    fn wanted(&self, share: usize) -> Vec<i64> {
        let busy = self.busy(&[]);
        self.pending
            .keys()
            .copied()
            .filter(|id| !self.holding.contains_key(id))
            .filter(|id| {
                self.party_of(*id)
                    .is_some_and(|p| busy.get(&p).copied().unwrap_or(0) < share)
            })
            .collect()
    }

    /// After a claim of `wanted` that got `got` with slots to spare: a wanted endpoint that
    /// was not claimed although its party had room is not claimable (in back-off, which the
    /// retry poll finds, or held by another instance, which reads on to the new event itself),
    /// so it is no longer pending here.
    fn unclaimable(
        &mut self,
        wanted: &[i64],
        got: &[Endpoint],
        busy: &HashMap<Owner, usize>,
        share: usize,
    ) {
        let ids: Vec<i64> = got.iter().map(|e| e.id).collect();
        for id in wanted {
            let party_full = self.party_of(*id).is_some_and(|p| {
                busy.get(&p).copied().unwrap_or(0)
                    + got.iter().filter(|e| e.owner_partner_id == p).count()
                    >= share
            });
            if !ids.contains(id) && !party_full {
                self.pending.remove(id);
            }
        }
    }

    /// Delivery tasks that ended: their slots are free, and those with more to go are pending.
    fn finished(&mut self, done: &mut mpsc::UnboundedReceiver<Done>, first: Done) {
        let mut next = Some(first);
        while let Some(d) = next {
            self.holding.remove(&d.endpoint);
            if d.more {
                self.pending.insert(d.endpoint, Utc::now());
            }
            next = done.try_recv().ok();
        }
    }

    /// The party of an endpoint in the directory.
    fn party_of(&self, id: i64) -> Option<Owner> {
        self.directory.get(&id).map(|(_, e)| e.owner_partner_id)
    }
}

/// The party an endpoint belongs to: its partner, or `None` for the vendor.
type Owner = Option<i64>;

/// A delivery task's report when it ends.
struct Done {
    endpoint: i64,
    /// It went back in line with more to deliver.
    more: bool,
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
    fn lease_until(&self) -> chrono::DateTime<Utc> {
        Utc::now() + chrono::Duration::from_std(LEASE).unwrap_or_default()
    }

    /// Slots one party may hold at once.
    fn share(&self) -> usize {
        self.settings
            .webhook_party_concurrency
            .clamp(1, self.settings.webhook_concurrency) as usize
    }

    /// The dispatcher's loop: a round at start and after every wake-up (a new event, a
    /// delivery that ended, the poll), until the server shuts down.
    async fn run(self: Arc<Self>) {
        use tokio::sync::broadcast::error::RecvError;
        let hub = self.hub.clone();
        let mut closing = hub.closing();
        if !self.tail_started(&mut closing).await {
            return;
        }
        let mut live = hub.receiver();
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
        let mut tick = tokio::time::interval(Duration::from_millis(self.settings.webhook_poll_ms));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
                self.reload(&mut wake).await;
            }
            if wake.sweep {
                last_sweep = Instant::now();
            }
            self.round(&mut wake, &done_tx).await;
            tokio::select! {
                _ = tick.tick() => {
                    if last_sweep.elapsed() >= sweep_every {
                        wake.sweep = true;
                        wake.reload = true;
                    }
                }
                _ = heartbeat.tick(), if !wake.holding.is_empty() => self.renew(&wake).await,
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
                Some(done) = done_rx.recv() => wake.finished(&mut done_rx, done),
                _ = crate::realtime::until_true(&mut closing) => {
                    // Another instance takes over at once instead of after the lease; an
                    // attempt in flight here then records nothing and is made again there.
                    let _ = store::release_all(&self.db, &self.instance).await;
                    return;
                }
            }
        }
    }

    /// Waits until the outbox tail has started: the first sweep reads the outbox's head after
    /// the tail has, so that no event falls between the sweep and the broadcast. False when
    /// the server shuts down first.
    async fn tail_started(&self, closing: &mut tokio::sync::watch::Receiver<bool>) -> bool {
        loop {
            tokio::select! {
                started = self.hub.started(Duration::from_secs(10)) => if started { return true },
                _ = crate::realtime::until_true(closing) => return false,
            }
        }
    }

    /// Renews the leases of every endpoint this instance is delivering to.
    async fn renew(&self, wake: &Wake) {
        let held: Vec<i64> = wake.holding.keys().copied().collect();
        if let Err(e) = store::renew(&self.db, &self.instance, &held, self.lease_until()).await {
            tracing::warn!(error = %e.message(), "renewing webhook leases failed");
        }
    }

    /// Reads the active endpoints; a new (or newly enabled) one gets a look at once: events
    /// may have come for it before this instance knew of it.
    async fn reload(&self, wake: &mut Wake) {
        match store::active(&self.db).await {
            Ok(rows) => {
                let now = Utc::now();
                for m in &rows {
                    if !wake.directory.contains_key(&m.id) {
                        wake.pending.entry(m.id).or_insert(now);
                    }
                }
                wake.directory = rows
                    .into_iter()
                    .map(|m| (m.id, (store::reader(&m), m)))
                    .collect();
                wake.pending.retain(|id, _| wake.directory.contains_key(id));
                wake.reload = false;
            }
            Err(e) => {
                tracing::warn!(error = %e.message(), "reading the webhook endpoints failed");
            }
        }
    }

    /// Claims what is due, within the free slots and each party's share, and delivers: the
    /// endpoints that have something to deliver, retries that fell due and lapsed leases, and,
    /// at a sweep, every endpoint behind the outbox. With nothing announced, a round is one
    /// statement.
    async fn round(self: &Arc<Self>, wake: &mut Wake, done: &mpsc::UnboundedSender<Done>) {
        if wake.holding.len() >= self.settings.webhook_concurrency as usize {
            return;
        }
        // The outbox's head, read before any claimed endpoint reads its events.
        let head = if std::mem::take(&mut wake.sweep) {
            match self.head().await {
                Some(h) => Some(h),
                None => {
                    wake.sweep = true;
                    return;
                }
            }
        } else {
            None
        };
        let claimed = self.claim(wake, head).await;
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
            // Claimed but not delivered: the leases lapse and they are claimed again.
            None => match self.head().await {
                Some(h) => h,
                None => return,
            },
        };
        self.metrics.webhook_claimed(claimed.len() as u64);
        for endpoint in claimed {
            wake.pending.remove(&endpoint.id);
            // Already delivering to it (its lease lapsed while an attempt was slow, and this
            // round took it again): the delivery in flight goes on under the renewed lease.
            if wake.holding.contains_key(&endpoint.id) {
                continue;
            }
            wake.holding.insert(endpoint.id, endpoint.owner_partner_id);
            self.start(endpoint, head, done.clone());
        }
    }

    /// The outbox's last id; `None` (logged) when it cannot be read.
    async fn head(&self) -> Option<i64> {
        match crate::db::events::last_id(&self.db).await {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e.message(), "webhook dispatch could not read the outbox");
                None
            }
        }
    }

    /// Leases what is due, in turn: the pending endpoints, retries that fell due (and lapsed
    /// leases), and with `head` (a sweep) every endpoint behind it, as long as slots are free
    /// and within each party's share.
    async fn claim(&self, wake: &mut Wake, head: Option<i64>) -> Vec<Endpoint> {
        let concurrency = self.settings.webhook_concurrency as usize;
        let share = self.share();
        let wanted = wake.wanted(share);
        let mut dues = vec![store::Due::Ids(&wanted), store::Due::Retries];
        if let Some(h) = head {
            dues.push(store::Due::Behind(h));
        }
        let mut claimed: Vec<Endpoint> = Vec::new();
        for due in dues {
            let busy = wake.busy(&claimed);
            let free = concurrency.saturating_sub(wake.holding.len() + claimed.len());
            if free == 0 {
                break;
            }
            let is_ids = matches!(due, store::Due::Ids(_));
            let room = store::Room {
                share,
                busy: &busy,
                limit: free,
            };
            let now = Utc::now();
            match store::claim(&self.db, &self.instance, due, now, self.lease_until(), room).await {
                Ok(c) => {
                    if is_ids && c.len() < free {
                        wake.unclaimable(&wanted, &c, &busy, share);
                    }
                    claimed.extend(c);
                }
                Err(e) => {
                    tracing::warn!(error = %e.message(), "claiming webhook endpoints failed");
                    break;
                }
            }
        }
        claimed
    }

    /// Delivers to `endpoint` (claimed, and now held) in a task of its own, which reports to
    /// `done` when it ends.
    fn start(self: &Arc<Self>, endpoint: Endpoint, head: i64, done: mpsc::UnboundedSender<Done>) {
        let this = self.clone();
        tokio::spawn(async move {
            let id = endpoint.id;
            let more = match this.deliver(endpoint, head).await {
                Ok(ended) => ended == deliver::Ended::Yielded,
                Err(e) => {
                    tracing::warn!(endpoint = id, error = %e.message(), "webhook delivery stopped; it is tried again at the next poll");
                    let _ = store::lapse(&this.db, id, &this.instance).await;
                    false
                }
            };
            let _ = done.send(Done { endpoint: id, more });
        });
    }
}
