//! How many WebSocket connections each principal holds open on this instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Open connections per principal on this instance.
#[derive(Default)]
pub struct Connections(Mutex<HashMap<String, usize>>);

/// One counted connection; dropping it frees the place.
pub(crate) struct Slot {
    all: Arc<Connections>,
    key: String,
}

impl Connections {
    pub(crate) fn acquire(all: &Arc<Self>, key: String, max: usize) -> Option<Slot> {
        let mut map = all.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(key.clone()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot {
            all: all.clone(),
            key,
        })
    }

    /// Connections open for `key` now (metrics and tests).
    pub fn count(&self, key: &str) -> usize {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.all.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}
