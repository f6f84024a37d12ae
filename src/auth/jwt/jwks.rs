//! Verification keys published by an identity provider at a JWKS URL (its `jwks_uri`), kept
//! fresh without a restart: read at start, again every refresh interval, and at once when a
//! token names a key id the instance does not know (an identity provider rotating its keys
//! publishes the new key before signing with it). Unknown key ids cannot make the instance
//! hammer the provider: such reads are at least [`MISS_COOLDOWN`] apart, and callers that
//! arrive during a read wait for it instead of starting another.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::DecodingKey;

/// The shortest time between two reads caused by unknown key ids.
pub const MISS_COOLDOWN: Duration = Duration::from_secs(5);
/// The largest JWKS document read; identity providers publish a few keys, a few KiB.
const MAX_BYTES: usize = 1 << 20;
/// How long one read may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How soon a failed read is tried again.
const RETRY: Duration = Duration::from_secs(10);

type KeyList = Vec<(Option<String>, DecodingKey)>;

/// Keys read from a JWKS URL.
pub struct RemoteKeys {
    url: String,
    client: reqwest::Client,
    keys: RwLock<Arc<KeyList>>,
    /// Held while reading; the time of the last read caused by an unknown key id.
    reading: tokio::sync::Mutex<Option<Instant>>,
}

/// Whether `url` may serve keys: HTTPS, or HTTP to this machine only (development, tests).
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = if let Some(r) = url.strip_prefix("https://") {
        return if r.is_empty() {
            Err("the JWKS URL has no host".into())
        } else {
            Ok(())
        };
    } else if let Some(r) = url.strip_prefix("http://") {
        r
    } else {
        return Err("the JWKS URL must start with https://".into());
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let loopback = matches!(host, "localhost" | "[::1]")
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err("the JWKS URL must use https:// (plain http:// only to this machine)".into())
    }
}

impl RemoteKeys {
    pub fn new(url: String) -> Result<Self, String> {
        check_url(&url)?;
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("cosell/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client for the JWKS URL: {e}"))?;
        Ok(Self {
            url,
            client,
            keys: RwLock::new(Arc::new(Vec::new())),
            reading: tokio::sync::Mutex::new(None),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The keys as last read.
    pub fn current(&self) -> Arc<KeyList> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reads the key set and replaces the keys held; the number of keys read.
    pub async fn refresh(&self) -> Result<usize, String> {
        let _reading = self.reading.lock().await;
        self.read().await
    }

    async fn read(&self) -> Result<usize, String> {
        let mut response = self
            .client
            .get(&self.url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("cannot read the JWKS URL: {e}"))?;
        if !response.status().is_success() {
            return Err(format!(
                "the JWKS URL answered HTTP {}",
                response.status().as_u16()
            ));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BYTES as u64)
        {
            return Err(format!(
                "the JWKS document is larger than {MAX_BYTES} bytes"
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("cannot read the JWKS URL: {e}"))?
        {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(format!(
                    "the JWKS document is larger than {MAX_BYTES} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let keys = parse(&body)?;
        let n = keys.len();
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
        Ok(n)
    }

    /// Reads the key set again because a token named a key id not held, unless another read
    /// for that reason happened within [`MISS_COOLDOWN`]. Callers arriving during a read wait
    /// for it and then see its keys.
    pub async fn refresh_for_unknown_kid(&self, seen: &Arc<KeyList>) {
        let mut last = self.reading.lock().await;
        if !Arc::ptr_eq(seen, &self.current()) {
            // Another caller's read finished while this one waited.
            return;
        }
        if last.is_some_and(|t| t.elapsed() < MISS_COOLDOWN) {
            return;
        }
        *last = Some(Instant::now());
        if let Err(e) = self.read().await {
            tracing::warn!(url = %self.url, error = %e, "reading the JWKS URL for an unknown key id failed");
        }
    }

    /// Reads the key set every `every`, or every ten seconds while reads fail, for as long as
    /// the keys are in use; the first read after `first`.
    pub fn spawn_refresh(self: &Arc<Self>, first: Duration, every: Duration) {
        let keys = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(first).await;
            loop {
                let Some(k) = keys.upgrade() else { return };
                let wait = match k.refresh().await {
                    Ok(n) => {
                        tracing::debug!(url = %k.url, keys = n, "JWKS read");
                        every
                    }
                    Err(e) => {
                        tracing::warn!(url = %k.url, error = %e, "reading the JWKS URL failed; keeping the keys held");
                        retry_after(every)
                    }
                };
                drop(k);
                tokio::time::sleep(wait).await;
            }
        });
    }
}

/// How soon a failed read is tried again when reads are `every` apart.
pub fn retry_after(every: Duration) -> Duration {
    RETRY.min(every)
}

/// The keys of a JWKS document. Keys that cannot verify a signature (encryption keys, kinds
/// this build does not know) are skipped, not fatal: providers publish those too.
pub fn parse(body: &[u8]) -> Result<KeyList, String> {
    let set: JwkSet =
        serde_json::from_slice(body).map_err(|e| format!("not a JWKS document: {e}"))?;
    let keys: KeyList = set
        .keys
        .iter()
        .filter(|jwk| {
            !matches!(
                jwk.common.public_key_use,
                Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
            )
        })
        .filter_map(|jwk| {
            DecodingKey::from_jwk(jwk)
                .ok()
                .map(|k| (jwk.common.key_id.clone(), k))
        })
        .collect();
    if keys.is_empty() {
        return Err("the JWKS document holds no signature key".into());
    }
    Ok(keys)
}
