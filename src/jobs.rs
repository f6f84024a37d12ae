//! Background jobs. The protection-expiry sweep runs on every instance; each expiry is guarded
//! by the registration's version, so instances sweeping together never expire one twice.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::db::registrations;
use crate::AppState;

/// Starts the jobs the configuration turns on; abort the handle to stop them.
pub fn spawn(state: &AppState) -> JoinHandle<()> {
    let expiry = spawn_expiry(state);
    let retention = spawn_retention(state);
    let tally = spawn_tally(state);
    let threading = spawn_threading(state);
    tokio::spawn(async move {
        // Aborting this task drops the guards, which abort the jobs.
        let _guards = (
            AbortOnDrop(expiry),
            AbortOnDrop(retention),
            AbortOnDrop(tally),
            AbortOnDrop(threading),
        );
        std::future::pending::<()>().await
    })
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Prunes outbox events older than the retention period, hourly (and once at start).
fn spawn_retention(state: &AppState) -> JoinHandle<()> {
    let db = state.db.clone();
    let days = state.realtime.outbox_retention_days;
    tokio::spawn(async move {
        if days == 0 {
            return;
        }
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let cutoff = chrono::Utc::now() - chrono::Duration::days(days as i64);
            match crate::db::events::prune(&db, cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, retention_days = days, "outbox pruned"),
                Err(e) => {
                    tracing::warn!(error = %e.message(), "outbox retention failed; retrying next hour")
                }
            }
            // The webhook delivery log is kept as long as the events it tells of.
            if let Err(e) = crate::db::webhooks::prune_attempts(&db, cutoff).await {
                tracing::warn!(error = %e.message(), "pruning the webhook delivery log failed; retrying next hour");
            }
        }
    })
}

/// Keeps the kept threading assessments holding: on each tick of the expiry sweep, assesses
/// again, batch by batch, the accounts whose assessments the calendar changed, the new deals, and
/// (once at start) those made with another window (see `db::contacts::network::kept`).
fn spawn_threading(state: &AppState) -> JoinHandle<()> {
    use crate::db::contacts::network::{kept, ThreadingWindow};
    let db = state.db.clone();
    let hub = state.hub.clone();
    let every = state.program.expiry_interval_seconds;
    let window = ThreadingWindow(state.program.threading_window_days as i64);
    tokio::spawn(async move {
        if every == 0 {
            return;
        }
        if let Err(e) = kept::expire_other_windows(&db, window).await {
            tracing::warn!(error = %e.message(), "re-dating assessments of another window failed");
        }
        let mut tick = tokio::time::interval(Duration::from_secs(every));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let mut accounts = 0;
            loop {
                match kept::assess_due(&db, window).await {
                    Ok(0) => break,
                    Ok(n) => accounts += n,
                    Err(e) => {
                        tracing::warn!(error = %e.message(), "threading sweep failed; retrying next tick");
                        break;
                    }
                }
            }
            if accounts > 0 {
                hub.flush().await;
                tracing::info!(accounts, "threading assessments brought up to date");
            }
        }
    })
}

/// How often the opportunity, claim and contact tallies are folded: between folds a count reads a row
/// per change.
const TALLY_FOLD: Duration = Duration::from_secs(10);

/// Folds the opportunity stage tally, the claim tallies and the contact tally (see
/// `db::opportunities::fold_tally`, `db::registrations::fold_tally`, `db::contacts::fold_tally`).
fn spawn_tally(state: &AppState) -> JoinHandle<()> {
    let db = state.db.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TALLY_FOLD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = crate::db::opportunities::fold_tally(&db).await {
                tracing::warn!(error = %e.message(), "folding the opportunity tally failed; retrying");
            }
            if let Err(e) = registrations::fold_tally(&db).await {
                tracing::warn!(error = %e.message(), "folding the claim tally failed; retrying");
            }
            if let Err(e) = crate::db::contacts::fold_tally(&db).await {
                tracing::warn!(error = %e.message(), "folding the contact tally failed; retrying");
            }
        }
    })
}

fn spawn_expiry(state: &AppState) -> JoinHandle<()> {
    let db = state.db.clone();
    let hub = state.hub.clone();
    let every = state.program.expiry_interval_seconds;
    tokio::spawn(async move {
        if every == 0 {
            return;
        }
        let mut tick = tokio::time::interval(Duration::from_secs(every));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match crate::db::invitations::expire_due(&db).await {
                Ok(0) => {}
                Ok(n) => {
                    hub.flush().await;
                    tracing::info!(expired = n, "invitations ran out unanswered")
                }
                Err(e) => {
                    tracing::warn!(error = %e.message(), "invitation-expiry sweep failed; retrying next tick")
                }
            }
            match registrations::expire_due(&db).await {
                Ok(0) => {}
                Ok(n) => {
                    hub.flush().await;
                    tracing::info!(expired = n, "protection windows passed")
                }
                Err(e) => {
                    tracing::warn!(error = %e.message(), "protection-expiry sweep failed; retrying next tick")
                }
            }
        }
    })
}
