//! The delivery side of the target policy (`domain::webhook::target`): a resolver that keeps only the
//! addresses the policy allows, and the HTTP client deliveries go through.

use std::net::SocketAddr;
use std::sync::Arc;

pub use crate::domain::webhook::target::{check_url, is_public, Policy};

/// Resolves host names for deliveries, keeping only the addresses the policy allows: a name
/// that resolves to the internal network only is refused before any connection is made.
pub struct GuardedResolver {
    pub policy: Policy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = all
                .into_iter()
                .filter(|a| policy.allow_private || is_public(a.ip()))
                .collect();
            if kept.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client deliveries go through: no redirects followed (a 3xx is a failed attempt),
/// no proxy from the environment, the guarded resolver, and `timeout` for a whole attempt.
pub fn client(policy: Policy, timeout: std::time::Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { policy }))
        .connect_timeout(timeout.min(std::time::Duration::from_secs(5)))
        .timeout(timeout)
        .user_agent(concat!("cosell-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("the webhook HTTP client cannot be built: {e}"))
}
