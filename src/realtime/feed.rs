//! One subscriber's view of the outbox: what it missed since its cursor, read from the outbox,
//! then live events from the instance's [`Hub`], each scoped to the subscriber, in id order,
//! with no duplicate and no gap.

use std::collections::VecDeque;
use std::sync::Arc;

use entity::event;
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;

use super::{Hub, PAGE, TAIL_START_WAIT};
use crate::auth::Principal;
use crate::db::events as outbox;
use crate::error::{AppError, AppResult};

/// Tries at opening a feed before its error is the subscription's answer.
const OPEN_ATTEMPTS: u32 = 5;

/// Which events of those the principal may see a subscription wants.
pub type Wants = Box<dyn Fn(&event::Model) -> bool + Send + Sync>;

pub struct Feed {
    hub: Arc<Hub>,
    principal: Principal,
    live: Receiver<Arc<event::Model>>,
    /// The highest outbox id considered so far: nothing at or below it is sent again.
    last: i64,
    /// Reading the outbox rather than the live broadcast (at the start, and after falling
    /// behind the broadcast).
    catching_up: bool,
    pending: VecDeque<Arc<event::Model>>,
    wants: Wants,
    /// Failed outbox reads in a row, for the backoff.
    failures: u32,
}

/// Whether a failed outbox read is worth retrying: the database was unreachable or the
/// statement failed; a refused cursor or a missing scope is final.
fn transient(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Unavailable(_) | AppError::Contention(_) | AppError::Db(_)
    )
}

/// Waits before the next try: 100 ms doubling to 5 s, with jitter so that subscribers that
/// failed together do not come back together.
async fn back_off(failures: u32) {
    let base = 100u64.saturating_mul(1 << failures.min(6)).min(5_000);
    let jitter = (uuid::Uuid::new_v4().as_u128() % (base as u128 / 2 + 1)) as u64;
    tokio::time::sleep(std::time::Duration::from_millis(base / 2 + jitter)).await;
}

/// Tries `read` until it succeeds, fails for good, or has failed `attempts` times.
async fn with_retries<T, F, Fut>(attempts: u32, mut read: F) -> AppResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = AppResult<T>>,
{
    let mut failures = 0;
    loop {
        match read().await {
            Err(e) if transient(&e) && failures + 1 < attempts => {
                tracing::warn!(error = %e.message(), "opening a subscription's feed failed; retrying");
                back_off(failures).await;
                failures += 1;
            }
            other => return other,
        }
    }
}

impl Feed {
    /// Opens a feed after `after` (an outbox id), or from now when it is `None`. A cursor older
    /// than the retention policy's pruning is refused with CURSOR_EXPIRED.
    pub async fn open(
        hub: Arc<Hub>,
        principal: Principal,
        after: Option<i64>,
        wants: Wants,
    ) -> AppResult<Self> {
        // Until the tail has read the outbox's head, events relayed meanwhile would be
        // neither in this feed's first read nor in the broadcast.
        if !hub.started(TAIL_START_WAIT).await {
            return Err(AppError::Unavailable(sea_orm::DbErr::Custom(
                "the instance's event stream has not started yet".into(),
            )));
        }
        // From memory where the tail's memory reaches back far enough: many subscribers that
        // open or resume at once then cost no outbox read each.
        let (last, live, pending, catching_up) = match after {
            Some(a) => {
                with_retries(OPEN_ATTEMPTS, || outbox::check_cursor(hub.db(), a)).await?;
                match hub.live_after(a) {
                    Some((missed, live)) => (a, live, missed.into(), false),
                    None => (a, hub.receiver(), VecDeque::new(), true),
                }
            }
            // "Now" is the newest event in the outbox when a read of the tail's that began
            // after this call ran; what it reads next is in the receiver.
            None => match hub.head_now().await {
                Some((head, live)) => (head, live, VecDeque::new(), false),
                None => {
                    return Err(AppError::Unavailable(sea_orm::DbErr::Custom(
                        "the instance's event stream cannot read the outbox".into(),
                    )))
                }
            },
        };
        Ok(Self {
            hub,
            principal,
            live,
            last,
            catching_up,
            pending,
            wants,
            failures: 0,
        })
    }

    /// The next event for this subscriber; `None` when the instance is shutting down.
    pub async fn next(&mut self) -> AppResult<Option<Arc<event::Model>>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                if ev.id <= self.last {
                    continue;
                }
                self.last = ev.id;
                if outbox::audience_includes(&self.principal, &ev) && (self.wants)(&ev) {
                    return Ok(Some(ev));
                }
                continue;
            }
            if self.catching_up {
                self.hub.count_catch_up();
                // Boxed: a read's future is large, and a subscriber reads only while it
                // catches up.
                let read = Box::pin(outbox::visible_after_unchecked(
                    self.hub.db(),
                    &self.principal,
                    self.last,
                    PAGE,
                ))
                .await;
                // A subscriber that cannot read now waits and tries again: it neither ends nor
                // skips what it has not read.
                let page = match read {
                    Ok(page) => {
                        self.failures = 0;
                        page
                    }
                    Err(e) if transient(&e) => {
                        tracing::warn!(error = %e.message(), "a subscriber's outbox read failed; retrying");
                        back_off(self.failures).await;
                        self.failures = self.failures.saturating_add(1);
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                if (page.len() as u64) < PAGE {
                    self.catching_up = false;
                }
                self.pending.extend(page.into_iter().map(Arc::new));
                continue;
            }
            match self.live.recv().await {
                Ok(ev) => self.pending.push_back(ev),
                // Fell behind the broadcast: take what was dropped from the hub's memory of
                // recent events (a burst makes many subscribers fall behind at once, and they
                // must not all read the outbox together), or else from the outbox.
                Err(RecvError::Lagged(_)) => match self.hub.recent_after(self.last) {
                    Some(missed) => self.pending.extend(missed),
                    None => self.catching_up = true,
                },
                Err(RecvError::Closed) => return Ok(None),
            }
        }
    }

    /// The feed as a stream; it ends after the first error.
    pub fn into_stream(self) -> impl Stream<Item = AppResult<Arc<event::Model>>> + Send {
        futures_util::stream::unfold(Some(self), |state| async move {
            let mut feed = state?;
            match feed.next().await {
                Ok(Some(ev)) => Some((Ok(ev), Some(feed))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}
