//! Realtime fan-out of the events outbox.
//!
//! One [`Hub`] per instance tails the outbox in id order and broadcasts each committed event to
//! the subscriptions of that instance. It wakes when a local change commits, when PostgreSQL
//! notifies that an event was relayed into the outbox (LISTEN/NOTIFY; the notification carries
//! only the id, the row is read from the outbox), and on a slow timer as a safety net. Because
//! the outbox is read by id and ids become visible in order (see `db::events::append`), a reader
//! that resumes from its last id misses nothing.
//!
//! On PostgreSQL each instance has one relay worker that moves queued events into the outbox
//! (`db::events::relay`): a change that committed asks it for a relay and waits for one that
//! started after the request, so however many changes commit at once, an instance runs one
//! relay at a time and each relay takes every event committed before it. The timer's relay
//! moves what an instance that went away had queued.

pub mod active;
pub mod envelope;
pub mod feed;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use entity::event;
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::{broadcast, watch, Notify};
use tokio::task::JoinHandle;

use crate::db::events as outbox;

/// Resolves once `rx` reads true (the server is shutting down); never when its sender is gone.
pub async fn until_true(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The PostgreSQL channel the outbox trigger notifies with each new event id.
pub const CHANNEL: &str = "cosell_events";

/// A receiver of the events the tail reads, in id order (before any scoping).
pub type TailReceiver = broadcast::Receiver<Arc<event::Model>>;

/// The newest events the tail has read, in id order, and the id they all come after.
struct Recent {
    events: std::collections::VecDeque<Arc<event::Model>>,
    /// Every event with an id above this is in `events` (up to what the tail has read).
    covers_after: i64,
    /// The last event the tail has read (and broadcast).
    head: i64,
}

/// The longest a change's answer waits for its events to be relayed into the outbox.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

/// How long a new subscriber waits for a starting instance's tail before it is refused.
pub const TAIL_START_WAIT: Duration = Duration::from_secs(10);

/// Rows read from the outbox per statement while catching up.
pub const PAGE: u64 = 200;

/// The instance's outbox tail and its live broadcast.
pub struct Hub {
    db: DatabaseConnection,
    live: broadcast::Sender<Arc<event::Model>>,
    /// The partner of every `partner.updated` event, for connections that must end at once
    /// when their partner is suspended (a partner's connections watch only this).
    partner_changes: broadcast::Sender<i64>,
    /// Partners found active a moment ago (see `active`).
    active_partners: active::ActivePartners,
    recent: std::sync::RwLock<Recent>,
    /// Events kept in `recent`.
    recent_capacity: usize,
    wake: watch::Sender<u64>,
    /// The wake-ups the tail's last successful read covered: a read that began after the
    /// `wake` count reached `n` publishes at least `n`.
    read_done: watch::Sender<u64>,
    poll: Duration,
    closing: watch::Sender<bool>,
    /// Relays asked for so far (PostgreSQL): a ticket is this count after the request.
    relay_requested: AtomicU64,
    /// Wakes the relay worker; requests made while it works leave one permit.
    relay_kick: Notify,
    /// The highest ticket that a finished relay covered.
    relay_done: watch::Sender<u64>,
    /// `true` once the tail has read the outbox's head: from then on every later event is
    /// broadcast. A receiver taken before could miss the events between its owner's last read
    /// and that head, so feeds open only after it (see [`Hub::started`]).
    started: watch::Sender<bool>,
    /// Reads of the outbox by the tail, and by subscribers catching up (for `/metrics`).
    tail_reads: AtomicU64,
    catch_up_reads: AtomicU64,
}

impl Hub {
    /// A hub reading `db`, polling every `poll` when nothing wakes it, broadcasting through a
    /// channel of `broadcast` events and keeping the last `recent` events in memory, so that
    /// subscribers that fell behind the broadcast catch up from memory rather than each
    /// reading the outbox at once.
    pub fn new(
        db: DatabaseConnection,
        poll: Duration,
        broadcast: usize,
        recent: usize,
        partner_status_ttl: Duration,
    ) -> Arc<Self> {
        Arc::new(Self {
            db,
            live: broadcast::channel(broadcast.max(1)).0,
            partner_changes: broadcast::channel(256).0,
            active_partners: active::ActivePartners::new(partner_status_ttl),
            recent_capacity: recent.max(1),
            recent: std::sync::RwLock::new(Recent {
                events: Default::default(),
                // Nothing is covered until the tail has read the outbox's head.
                covers_after: i64::MAX,
                head: i64::MAX,
            }),
            wake: watch::channel(0).0,
            read_done: watch::channel(0).0,
            poll: poll.max(Duration::from_millis(50)),
            closing: watch::channel(false).0,
            relay_requested: AtomicU64::new(0),
            relay_kick: Notify::new(),
            relay_done: watch::channel(0).0,
            started: watch::channel(false).0,
            tail_reads: AtomicU64::new(0),
            catch_up_reads: AtomicU64::new(0),
        })
    }

    /// Waits (at most `wait`) until the tail has read the outbox's head, after which a
    /// receiver taken from [`Hub::receiver`] misses nothing that a read of the outbox made
    /// after taking it does not find. `false`: the tail has not started in that time.
    pub async fn started(&self, wait: Duration) -> bool {
        let mut rx = self.started.subscribe();
        let started = matches!(
            tokio::time::timeout(wait, rx.wait_for(|s| *s)).await,
            Ok(Ok(_))
        );
        started
    }

    /// Tells every open WebSocket connection of this instance that the server is stopping.
    pub fn shut_down(&self) {
        self.closing.send_replace(true);
    }

    /// Changes to `true` when the server is stopping.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Announces that a change committed on this instance: the tail reads the outbox now.
    pub fn poke(&self) {
        self.wake.send_modify(|n| *n += 1);
    }

    /// After a change committed on this instance: its events are in the outbox when this
    /// returns (on PostgreSQL the relay worker moves them from the queue now, so whoever made
    /// the change reads its own events), and the tail reads them.
    pub async fn flush(&self) {
        if self.db.get_database_backend() == DbBackend::Postgres {
            let ticket = self.request_relay();
            let mut done = self.relay_done.subscribe();
            // Bounded: a relay waiting on the database must not hold the answer to a change
            // that committed; the worker or the timer relays it later.
            if tokio::time::timeout(FLUSH_WAIT, done.wait_for(|d| *d >= ticket))
                .await
                .is_err()
            {
                tracing::warn!("relaying the event queue took longer than 1 s");
            }
        }
        self.poke();
    }

    /// Asks the relay worker for a relay that starts after this call; returns the ticket
    /// that `relay_done` reaches when one has.
    fn request_relay(&self) -> u64 {
        let ticket = self.relay_requested.fetch_add(1, Ordering::SeqCst) + 1;
        self.relay_kick.notify_one();
        ticket
    }

    /// The relay worker (PostgreSQL): one relay at a time for the whole instance, each for
    /// every request made before it started. A request made after the worker read the count
    /// leaves a permit in `relay_kick`, so it gets a relay of its own.
    async fn relay_worker(&self) {
        loop {
            self.relay_kick.notified().await;
            let covered = self.relay_requested.load(Ordering::SeqCst);
            // The relay's transaction starts after `covered` was read, so it sees every change
            // that committed before asking. It runs in a task of its own and is never dropped
            // half-way: a cancelled transaction could leave its connection holding the lock.
            let db = self.db.clone();
            match tokio::spawn(async move { outbox::relay(&db).await }).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "relaying the event queue failed"),
                Err(e) => tracing::warn!(error = %e, "the relay task failed"),
            }
            // Also after a failure: waiters answer, and the timer's relay retries.
            self.relay_done.send_replace(covered);
            self.poke();
        }
    }

    /// A receiver of every event committed from now on (before any scoping).
    pub fn receiver(&self) -> broadcast::Receiver<Arc<event::Model>> {
        self.live.subscribe()
    }

    /// The last event the tail has read, and a receiver of every event after it: taken
    /// together (the tail broadcasts under the same lock), so a subscriber that starts there
    /// needs no read of the outbox. Meaningful once the tail has [started](Self::started).
    pub fn live_from_head(&self) -> (i64, TailReceiver) {
        let recent = self.recent.read().unwrap_or_else(|e| e.into_inner());
        (recent.head, self.live.subscribe())
    }

    /// "Now" for a new subscriber: the last event of a read of the outbox that began after this
    /// call, with a receiver of every event after it. However many subscribers open at once,
    /// they share the tail's reads rather than each reading the outbox's head. `None` when no
    /// read succeeds within [`TAIL_START_WAIT`].
    pub async fn head_now(&self) -> Option<(i64, TailReceiver)> {
        let mut ticket = 0;
        self.wake.send_modify(|n| {
            *n += 1;
            ticket = *n;
        });
        let mut done = self.read_done.subscribe();
        tokio::time::timeout(TAIL_START_WAIT, done.wait_for(|d| *d >= ticket))
            .await
            .ok()?
            .ok()?;
        Some(self.live_from_head())
    }

    /// Every event after `after` that the tail has read, from memory, and a receiver of every
    /// later one, taken together; `None` when memory does not reach back to `after` and the
    /// subscriber must read the outbox.
    pub fn live_after(&self, after: i64) -> Option<(Vec<Arc<event::Model>>, TailReceiver)> {
        let recent = self.recent.read().unwrap_or_else(|e| e.into_inner());
        if after < recent.covers_after {
            return None;
        }
        let start = recent.events.partition_point(|e| e.id <= after);
        Some((
            recent.events.range(start..).cloned().collect(),
            self.live.subscribe(),
        ))
    }

    /// A receiver of the partner ids of `partner.updated` events from now on. One that lags
    /// behind has missed some: its owner re-checks its partner then.
    /// The partners found active a moment ago, forgotten when they change.
    pub fn active_partners(&self) -> &active::ActivePartners {
        &self.active_partners
    }

    ///
    /// Taken only once the tail has started (waiting for it at most `TAIL_START_WAIT`), so that
    /// a change relayed while the instance starts is not missed; `None` if it has not started
    /// by then.
    pub async fn partner_changes(&self) -> Option<broadcast::Receiver<i64>> {
        self.started(TAIL_START_WAIT)
            .await
            .then(|| self.partner_changes.subscribe())
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Reads of the outbox so far: by the tail (one per wake-up, however many subscribe), and
    /// by subscribers catching up from a cursor that memory no longer reaches.
    pub fn outbox_reads(&self) -> (u64, u64) {
        (
            self.tail_reads.load(Ordering::Relaxed),
            self.catch_up_reads.load(Ordering::Relaxed),
        )
    }

    /// Counts a subscriber's catch-up read of the outbox.
    pub(crate) fn count_catch_up(&self) {
        self.catch_up_reads.fetch_add(1, Ordering::Relaxed);
    }

    /// Keeps `ev` (the next event the tail read) among the recent ones and broadcasts it, under
    /// one lock (see [`Hub::live_from_head`]).
    fn publish(&self, ev: Arc<event::Model>) {
        let mut recent = self.recent.write().unwrap_or_else(|e| e.into_inner());
        if recent.events.len() >= self.recent_capacity {
            if let Some(old) = recent.events.pop_front() {
                recent.covers_after = old.id;
            }
        }
        recent.head = ev.id;
        recent.events.push_back(ev.clone());
        // No receiver is not an error: nobody is subscribed on this instance.
        let _ = self.live.send(ev);
    }

    /// Every event after `after` that the tail has read, from memory, if memory still holds
    /// all of them; `None` when the reader must go to the outbox.
    pub fn recent_after(&self, after: i64) -> Option<Vec<Arc<event::Model>>> {
        let recent = self.recent.read().unwrap_or_else(|e| e.into_inner());
        if after < recent.covers_after {
            return None;
        }
        let start = recent.events.partition_point(|e| e.id <= after);
        Some(recent.events.range(start..).cloned().collect())
    }

    /// Starts the outbox tail (and on PostgreSQL the LISTEN connection); abort to stop.
    pub fn spawn(self: &Arc<Self>) -> JoinHandle<()> {
        let hub = self.clone();
        tokio::spawn(async move {
            let pg = hub.db.get_database_backend() == DbBackend::Postgres;
            let listener = pg.then(|| tokio::spawn(listen(hub.clone())));
            let relayer = pg.then(|| {
                let hub = hub.clone();
                tokio::spawn(async move { hub.relay_worker().await })
            });
            hub.tail().await;
            for task in [listener, relayer].into_iter().flatten() {
                task.abort();
            }
        })
    }

    async fn tail(&self) {
        let mut wake = self.wake.subscribe();
        // Events queued before this instance started (the demo data set, or writers whose
        // relay was cut short) are in the outbox before "now" is read.
        if let Err(e) = outbox::relay(&self.db).await {
            tracing::warn!(error = %e, "relaying the event queue at start failed; the tail retries");
        }
        let mut head = loop {
            match outbox::last_id(&self.db).await {
                Ok(id) => {
                    // Memory holds nothing from before the tail started.
                    let mut recent = self.recent.write().unwrap_or_else(|e| e.into_inner());
                    recent.covers_after = id;
                    recent.head = id;
                    drop(recent);
                    self.started.send_replace(true);
                    break id;
                }
                Err(e) => {
                    tracing::warn!(error = %e.message(), "reading the outbox head failed; retrying");
                    tokio::time::sleep(self.poll).await;
                }
            }
        };
        loop {
            tokio::select! {
                changed = wake.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(self.poll) => {
                    // The safety net: events an instance queued and did not relay (it went
                    // away, or its relay failed) reach the outbox within one poll.
                    if self.db.get_database_backend() == DbBackend::Postgres {
                        self.request_relay();
                    }
                }
            }
            // Read everything committed since the last read, in id order.
            let covered = *wake.borrow_and_update();
            loop {
                self.tail_reads.fetch_add(1, Ordering::Relaxed);
                let rows = match outbox::after(&self.db, head, PAGE).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::warn!(error = %e.message(), "reading the outbox failed; retrying");
                        break;
                    }
                };
                let full = rows.len() as u64 == PAGE;
                for row in rows {
                    head = row.id;
                    if row.topic == crate::db::events::Topic::PartnerUpdated.name() {
                        if let Ok(id) =
                            crate::ids::decode_as(&row.subject_id, crate::ids::Kind::Partner)
                        {
                            self.active_partners.forget(id);
                            let _ = self.partner_changes.send(id);
                        }
                    }
                    self.publish(Arc::new(row));
                }
                if !full {
                    self.read_done.send_replace(covered);
                    break;
                }
            }
        }
    }
}

/// Listens for outbox notifications from every instance. A notification only wakes the tail,
/// which reads the rows itself; after a lost connection it wakes the tail too, since
/// notifications sent while the listener was away are gone.
async fn listen(hub: Arc<Hub>) {
    use sea_orm::sqlx::postgres::PgListener;
    let pool = hub.db.get_postgres_connection_pool().clone();
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN connection failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        hub.poke();
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => hub.poke(),
                // The connection dropped and will be re-established: re-read the outbox.
                Ok(None) => hub.poke(),
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                    hub.poke();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                }
            }
        }
    }
}
