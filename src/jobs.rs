//! Background jobs. The protection-expiry sweep runs on every instance; each expiry is guarded
//! by the registration's version, so instances sweeping together never expire one twice.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::db::registrations::lifecycle;
use crate::AppState;

/// Starts the jobs the configuration turns on; abort the handle to stop them.
pub fn spawn(state: &AppState) -> JoinHandle<()> {
    let db = state.db.clone();
    let every = state.program.expiry_interval_seconds;
    tokio::spawn(async move {
        if every == 0 {
            return;
        }
        let mut tick = tokio::time::interval(Duration::from_secs(every));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match lifecycle::expire_due(&db).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "protection windows passed"),
                Err(e) => {
                    tracing::warn!(error = %e.message(), "protection-expiry sweep failed; retrying next tick")
                }
            }
        }
    })
}
