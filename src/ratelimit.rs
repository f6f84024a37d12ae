//! A per-principal token bucket: `limit` requests per minute, refilled continuously. Every
//! answer says where the caller stands, for the `RateLimit` headers (IETF
//! draft-ietf-httpapi-ratelimit-headers-07) that let a client pace itself before it is refused.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::default(),
        }
    }

    /// Takes one request from `key`'s bucket; on refusal, says how long until the next one.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.take(key).map(|_| ()).map_err(|(wait, _)| wait)
    }

    /// [`check`](Self::check) with the caller's standing after it (`None` when there is no
    /// limit).
    #[allow(clippy::type_complexity)]
    pub fn take(&self, key: &str) -> Result<Option<Quota>, (Duration, Option<Quota>)> {
        if self.per_minute == 0 {
            return Ok(None);
        }
        let cap = self.per_minute as f64;
        let rate = cap / 60.0;
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if b.len() > 100_000 {
            b.retain(|_, (_, t)| now.duration_since(*t) < Duration::from_secs(120));
        }
        let (tokens, last) = b.entry(key.to_string()).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(cap);
        *last = now;
        let granted = *tokens >= 1.0;
        if granted {
            *tokens -= 1.0;
        }
        let quota = Quota {
            limit: self.per_minute,
            remaining: tokens.floor() as u32,
            reset: Duration::from_secs_f64((cap - *tokens) / rate),
        };
        if granted {
            Ok(Some(quota))
        } else {
            Err((Duration::from_secs_f64((1.0 - *tokens) / rate), Some(quota)))
        }
    }
}

/// Where a caller stands against its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests per minute.
    pub limit: u32,
    /// Requests it may make at once from now.
    pub remaining: u32,
    /// Until its bucket is full again.
    pub reset: Duration,
}

impl Quota {
    /// `RateLimit-Policy` and `RateLimit` header values.
    pub fn headers(&self) -> [(&'static str, String); 2] {
        [
            ("ratelimit-policy", format!("{};w=60", self.limit)),
            (
                "ratelimit",
                format!(
                    "limit={}, remaining={}, reset={}",
                    self.limit,
                    self.remaining,
                    self.reset.as_secs_f64().ceil() as u64
                ),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_per_key() {
        let r = RateLimiter::new(2);
        assert!(r.check("a").is_ok());
        assert!(r.check("a").is_ok());
        assert!(r.check("a").is_err());
        assert!(r.check("b").is_ok());
        assert!(RateLimiter::new(0).check("a").is_ok());
    }

    #[test]
    fn every_answer_says_what_is_left_and_when_the_bucket_is_full() {
        let r = RateLimiter::new(60);
        let q = r.take("a").unwrap().unwrap();
        assert_eq!((q.limit, q.remaining), (60, 59));
        assert!(q.reset <= Duration::from_millis(1_001));
        assert_eq!(q.headers()[1].1, "limit=60, remaining=59, reset=1");
        for _ in 0..59 {
            r.take("a").unwrap();
        }
        let (wait, q) = r.take("a").unwrap_err();
        assert_eq!(q.unwrap().remaining, 0);
        assert!(wait <= Duration::from_secs(1));
        assert_eq!(RateLimiter::new(0).take("a"), Ok(None));
    }
}
