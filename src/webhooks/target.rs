//! Where webhooks may be sent: HTTPS URLs of public hosts. Loopback, private, link-local and
//! other special addresses are refused (at registration for addresses written in the URL, and
//! at each delivery for what a host name resolves to, so a DNS change cannot point a delivery
//! at the internal network) unless the operator allows them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// What the operator allows beyond public HTTPS.
#[derive(Clone, Copy, Debug, Default)]
pub struct Policy {
    /// Deliver to loopback, private and link-local addresses (tests, on-premises receivers).
    pub allow_private: bool,
    /// Deliver over plain `http://`.
    pub allow_http: bool,
}

/// Checks a URL as a webhook target; the error says what is wrong with it.
pub fn check_url(url: &str, policy: Policy) -> Result<reqwest::Url, String> {
    if url.len() > 2048 {
        return Err("the URL is longer than 2048 characters".into());
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        "http" => {
            return Err("webhooks are delivered over https:// only on this server".into());
        }
        other => return Err(format!("`{other}:` is not a web URL; use https://")),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("a URL with a user name or password is refused; authenticate deliveries by their signature".into());
    }
    if parsed.fragment().is_some() {
        return Err("a URL with a #fragment is refused".into());
    }
    match parsed.host() {
        None => return Err("the URL has no host".into()),
        Some(url::Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip), policy)?,
        Some(url::Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip), policy)?,
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if !policy.allow_private && (d == "localhost" || d.ends_with(".localhost")) {
                return Err("`localhost` is not a public host".into());
            }
        }
    }
    Ok(parsed)
}

fn check_ip(ip: IpAddr, policy: Policy) -> Result<(), String> {
    if !policy.allow_private && !is_public(ip) {
        return Err(format!(
            "{ip} is not a public address (loopback, private, link-local and other special addresses are refused)"
        ));
    }
    Ok(())
}

/// Whether `ip` is an ordinary public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 64:ff9b::/96 maps IPv4
                || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
        }
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let o = v4.octets();
    !(v4.is_private()
        || v4.is_loopback()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // shared address space 100.64.0.0/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || o[0] >= 240) // reserved
}

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

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: Policy = Policy {
        allow_private: false,
        allow_http: false,
    };

    #[test]
    fn only_public_https_urls_pass_by_default() {
        assert!(check_url("https://hooks.example.com/cosell", PUBLIC).is_ok());
        for bad in [
            "http://hooks.example.com/",
            "ftp://hooks.example.com/",
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[::ffff:192.168.0.1]/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://localhost/",
            "https://api.localhost/",
            "https://user:pw@hooks.example.com/",
            "https://hooks.example.com/#x",
            "not a url",
        ] {
            assert!(check_url(bad, PUBLIC).is_err(), "{bad} is refused");
        }
        let open = Policy {
            allow_private: true,
            allow_http: true,
        };
        assert!(check_url("http://127.0.0.1:8080/hook", open).is_ok());
    }

    #[test]
    fn public_addresses_are_told_apart() {
        assert!(is_public("93.184.216.34".parse().unwrap()));
        assert!(is_public("2606:2800:220:1::1".parse().unwrap()));
        assert!(!is_public("172.16.0.1".parse().unwrap()));
        assert!(!is_public("fe80::1".parse().unwrap()));
        assert!(!is_public("198.18.0.1".parse().unwrap()));
        assert!(!is_public("64:ff9b::a00:1".parse().unwrap()));
        assert!(!is_public(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)));
    }
}
