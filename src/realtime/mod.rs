//! Realtime fan-out of the events outbox.
//!
//! One [`Hub`] per instance tails the outbox in id order and broadcasts each committed event to
//! the subscriptions of that instance. It wakes when a local change commits, when PostgreSQL
//! notifies that another instance queued or relayed one (LISTEN/NOTIFY; the notification
//! carries only the id, the row is read from the outbox), and on a slow timer as a safety net.
//! On each wake-up it first relays queued events into the outbox (PostgreSQL). Because the
//! outbox is read by id and ids become visible in order (see `db::events::append`), a reader
//! that resumes from its last id misses nothing.

pub mod feed;

use std::sync::Arc;
use std::time::Duration;

use entity::event;
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::db::events as outbox;

/// The PostgreSQL channel the outbox trigger notifies with each new event id.
pub const CHANNEL: &str = "cosell_events";
/// The channel notified when a writer queued events for the relay (see `db::events::append`).
pub const QUEUE_CHANNEL: &str = "cosell_event_queue";

/// The newest events the tail has read, in id order, and the id they all come after.
struct Recent {
    events: std::collections::VecDeque<Arc<event::Model>>,
    /// Every event with an id above this is in `events` (up to what the tail has read).
    covers_after: i64,
}

/// The longest a change's answer waits for its events to be relayed into the outbox.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

/// Rows read from the outbox per statement while catching up.
pub const PAGE: u64 = 200;

/// The instance's outbox tail and its live broadcast.
pub struct Hub {
    db: DatabaseConnection,
    live: broadcast::Sender<Arc<event::Model>>,
    recent: std::sync::RwLock<Recent>,
    /// Events kept in `recent`.
    recent_capacity: usize,
    wake: watch::Sender<u64>,
    poll: Duration,
    closing: watch::Sender<bool>,
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
    ) -> Arc<Self> {
        Arc::new(Self {
            db,
            live: broadcast::channel(broadcast.max(1)).0,
            recent_capacity: recent.max(1),
            recent: std::sync::RwLock::new(Recent {
                events: Default::default(),
                // Nothing is covered until the tail has read the outbox's head.
                covers_after: i64::MAX,
            }),
            wake: watch::channel(0).0,
            poll: poll.max(Duration::from_millis(50)),
            closing: watch::channel(false).0,
        })
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
        self.wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// After a change committed on this instance: its events are in the outbox when this
    /// returns (on PostgreSQL they are relayed from the queue now, so whoever made the change
    /// reads its own events), and the tail reads them.
    pub async fn flush(&self) {
        // Bounded: a relay waiting on the database must not hold the answer to a change that
        // committed; the tail relays on its next wake-up or poll. The relay runs in a task of
        // its own and is never dropped half-way: a cancelled transaction could otherwise leave
        // its connection idle in the pool holding the relay lock.
        let db = self.db.clone();
        let relay = tokio::spawn(async move { outbox::relay(&db).await });
        match tokio::time::timeout(FLUSH_WAIT, relay).await {
            Ok(Ok(Ok(_))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "relaying the event queue failed"),
            Ok(Err(e)) => tracing::warn!(error = %e, "the relay task failed"),
            Err(_) => tracing::warn!("relaying the event queue took longer than 1 s"),
        }
        self.poke();
    }

    /// A receiver of every event committed from now on (before any scoping).
    pub fn receiver(&self) -> broadcast::Receiver<Arc<event::Model>> {
        self.live.subscribe()
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Keeps `ev` (the next event the tail read) among the recent ones.
    fn remember(&self, ev: Arc<event::Model>) {
        let mut recent = self.recent.write().unwrap_or_else(|e| e.into_inner());
        if recent.events.len() >= self.recent_capacity {
            if let Some(old) = recent.events.pop_front() {
                recent.covers_after = old.id;
            }
        }
        recent.events.push_back(ev);
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
            let listener = (hub.db.get_database_backend() == DbBackend::Postgres)
                .then(|| tokio::spawn(listen(hub.clone())));
            hub.tail().await;
            if let Some(l) = listener {
                l.abort();
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
                    self.recent
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .covers_after = id;
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
                _ = tokio::time::sleep(self.poll) => {}
            }
            // Move what other instances' writers queued, then read everything committed since
            // the last read, in id order.
            if let Err(e) = outbox::relay(&self.db).await {
                tracing::warn!(error = %e, "relaying the event queue failed; retrying");
            }
            loop {
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
                    let row = Arc::new(row);
                    self.remember(row.clone());
                    // No receiver is not an error: nobody is subscribed on this instance.
                    let _ = self.live.send(row);
                }
                if !full {
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
        if let Err(e) = listener.listen_all([CHANNEL, QUEUE_CHANNEL]).await {
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
