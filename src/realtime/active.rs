//! The partners this instance found active a moment ago, so that a partner's requests do not
//! each read its status. An entry is forgotten on every `partner.updated` event (this
//! instance's own changes as soon as they commit, other instances' as their events arrive,
//! within milliseconds through LISTEN/NOTIFY) and after [`TTL`] in any case, which bounds how
//! long a suspension can take to reach an instance whose notifications are delayed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest a partner is taken as active without reading its status.
pub const TTL: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct ActivePartners {
    seen: Mutex<HashMap<i64, Instant>>,
    /// Bumped by every forget: a status read before it must not be remembered after it.
    epoch: AtomicU64,
}

impl ActivePartners {
    /// Whether partner `id` was found active less than [`TTL`] ago and not changed since.
    pub fn is_known_active(&self, id: i64) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(&id).is_some_and(|at| at.elapsed() < TTL)
    }

    /// The moment to pass to [`remember`](Self::remember), taken before reading a status.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Records that partner `id` was read as active, unless a partner changed since `epoch`
    /// (the read may predate the change).
    pub fn remember(&self, id: i64, epoch: u64) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        // Entries of partners that stopped calling go when the map is swept at its growth.
        if seen.len() >= 4096 {
            seen.retain(|_, at| at.elapsed() < TTL);
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
        let a = ActivePartners::default();
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
    }
}
