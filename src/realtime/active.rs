//! The partners this instance found active a moment ago, so that a partner's requests do not
//! each read its status. An entry is forgotten on every `partner.updated` event (this
//! instance's own changes as soon as they commit, other instances' as their events arrive,
//! within milliseconds through LISTEN/NOTIFY) and after a configured time in any case
//! (`--partner-status-cache-ms`), which bounds how long a suspension can take to reach an
//! instance whose notifications are delayed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct ActivePartners {
    /// The longest a partner is taken as active without reading its status.
    ttl: Duration,
    seen: Mutex<HashMap<i64, Instant>>,
    /// Bumped by every forget: a status read before it must not be remembered after it.
    epoch: AtomicU64,
}

impl ActivePartners {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            seen: Default::default(),
            epoch: AtomicU64::new(0),
        }
    }

    /// Whether partner `id` was found active less than the time to live ago and not changed
    /// since.
    pub fn is_known_active(&self, id: i64) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(&id).is_some_and(|at| at.elapsed() < self.ttl)
    }

    /// The moment to pass to [`remember`](Self::remember), taken before reading a status.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Records that partner `id` was read as active, unless a partner changed since `epoch`
    /// (the read may predate the change).
    pub fn remember(&self, id: i64, epoch: u64) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if self.ttl.is_zero() || self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        // Entries of partners that stopped calling go when the map is swept at its growth.
        if seen.len() >= 4096 {
            let ttl = self.ttl;
            seen.retain(|_, at| at.elapsed() < ttl);
        }
        seen.insert(id, Instant::now());
    }

    /// Partner `id` changed: its status is read again on its next request.
    pub fn forget(&self, id: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        seen.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_between_the_read_and_the_remembering_wins() {
        let a = ActivePartners::new(Duration::from_secs(60));
        assert!(!a.is_known_active(1));
        let before = a.epoch();
        a.remember(1, before);
        assert!(a.is_known_active(1));
        let e = a.epoch();
        a.forget(1);
        assert!(!a.is_known_active(1));
        // A read that started before the change must not bring the partner back.
        a.remember(1, e);
        assert!(!a.is_known_active(1));
        a.remember(1, a.epoch());
        assert!(a.is_known_active(1));
        let off = ActivePartners::new(Duration::ZERO);
        off.remember(1, off.epoch());
        assert!(!off.is_known_active(1));
    }
}
