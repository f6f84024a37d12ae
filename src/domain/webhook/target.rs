//! Where webhooks may be sent: HTTPS URLs of public hosts. Every special-purpose address of the
//! IANA IPv4 and IPv6 Special-Purpose Address Registries is refused, and so is every IPv6 form
//! that carries an IPv4 address, unless the operator allows private targets.
//!
//! The same check runs at registration and on update (for addresses written in the URL) and at
//! each delivery (for the URL, and for every address its host name resolves to), so neither an
//! old endpoint nor a DNS change can point a delivery at the internal network.
//!
//! Addresses are judged by tables, one line a block ([`V4_BLOCKS`], [`V6_BLOCKS`]): a new
//! registry entry or a new embedding form is one line there and one in the test's table.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What the operator allows beyond public HTTPS.
#[derive(Clone, Copy, Debug, Default)]
pub struct Policy {
    /// Deliver to loopback, private, link-local and other special addresses (tests,
    /// on-premises receivers).
    pub allow_private: bool,
    /// Deliver over plain `http://`.
    pub allow_http: bool,
}

/// What an IPv6 block does with the IPv4 address some of its forms carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum V6Rule {
    /// Refused outright, whatever it carries.
    Refuse,
    /// Judged by the IPv4 address in its low 32 bits: the host connects to (or a translator
    /// forwards to) exactly that address.
    ByEmbeddedV4,
}

/// The IPv4 special-purpose blocks (IANA registry, plus multicast), largest first where they
/// nest. Address, prefix length, what it is.
pub const V4_BLOCKS: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "\"this network\" (RFC 791)"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private use (RFC 1918)"),
    (
        Ipv4Addr::new(100, 64, 0, 0),
        10,
        "shared address space (RFC 6598)",
    ),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback (RFC 1122)"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link local (RFC 3927)"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private use (RFC 1918)"),
    // Holds 192.0.0.0/29 (DS-Lite), .8 (dummy), .9 (PCP anycast), .10 (TURN anycast),
    // .170 and .171 (NAT64/DNS64 discovery).
    (
        Ipv4Addr::new(192, 0, 0, 0),
        24,
        "IETF protocol assignments (RFC 6890)",
    ),
    (Ipv4Addr::new(192, 0, 2, 0), 24, "documentation (RFC 5737)"),
    (Ipv4Addr::new(192, 31, 196, 0), 24, "AS112-v4 (RFC 7535)"),
    (Ipv4Addr::new(192, 52, 193, 0), 24, "AMT (RFC 7450)"),
    (
        Ipv4Addr::new(192, 88, 99, 0),
        24,
        "deprecated 6to4 relay anycast (RFC 7526)",
    ),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private use (RFC 1918)"),
    (
        Ipv4Addr::new(192, 175, 48, 0),
        24,
        "direct delegation AS112 service (RFC 7534)",
    ),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking (RFC 2544)"),
    (
        Ipv4Addr::new(198, 51, 100, 0),
        24,
        "documentation (RFC 5737)",
    ),
    (
        Ipv4Addr::new(203, 0, 113, 0),
        24,
        "documentation (RFC 5737)",
    ),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast (RFC 5771)"),
    // Holds 255.255.255.255, limited broadcast (RFC 919).
    (Ipv4Addr::new(240, 0, 0, 0), 4, "reserved (RFC 1112)"),
];

const fn v6(s: [u16; 8]) -> Ipv6Addr {
    Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
}

/// The IPv6 special-purpose blocks (IANA registry, the forms that carry an IPv4 address, and
/// the deprecated and multicast ranges). The first block that holds an address decides.
/// Anything outside global unicast `2000::/3` is refused besides (see [`classify_v6`]).
const V6_BLOCKS: &[(Ipv6Addr, u8, V6Rule, &str)] = &[
    (v6([0; 8]), 128, V6Rule::Refuse, "unspecified (RFC 4291)"),
    (
        v6([0, 0, 0, 0, 0, 0, 0, 1]),
        128,
        V6Rule::Refuse,
        "loopback (RFC 4291)",
    ),
    (
        v6([0, 0, 0, 0, 0, 0xffff, 0, 0]),
        96,
        V6Rule::ByEmbeddedV4,
        "IPv4-mapped (RFC 4291)",
    ),
    (
        v6([0, 0, 0, 0, 0xffff, 0, 0, 0]),
        96,
        V6Rule::Refuse,
        "IPv4-translated, SIIT (RFC 2765)",
    ),
    (
        v6([0; 8]),
        96,
        V6Rule::Refuse,
        "IPv4-compatible, deprecated (RFC 4291)",
    ),
    (
        v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]),
        96,
        V6Rule::ByEmbeddedV4,
        "IPv4/IPv6 translation (RFC 6052)",
    ),
    (
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]),
        48,
        V6Rule::Refuse,
        "local-use IPv4/IPv6 translation (RFC 8215)",
    ),
    (
        v6([0x100, 0, 0, 0, 0, 0, 0, 0]),
        64,
        V6Rule::Refuse,
        "discard-only (RFC 6666)",
    ),
    (
        v6([0x100, 0, 0, 1, 0, 0, 0, 0]),
        64,
        V6Rule::Refuse,
        "dummy prefix (RFC 9780)",
    ),
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0]),
        32,
        V6Rule::Refuse,
        "Teredo (RFC 4380)",
    ),
    (
        v6([0x2001, 2, 0, 0, 0, 0, 0, 0]),
        48,
        V6Rule::Refuse,
        "benchmarking (RFC 5180)",
    ),
    (
        v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0]),
        28,
        V6Rule::Refuse,
        "ORCHIDv2 (RFC 7343)",
    ),
    // Holds the anycast addresses 2001:1::1-3, AMT 2001:3::/32, AS112 2001:4:112::/48,
    // ORCHID 2001:10::/28 and drone remote ID 2001:30::/28.
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0]),
        23,
        V6Rule::Refuse,
        "IETF protocol assignments (RFC 2928)",
    ),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]),
        32,
        V6Rule::Refuse,
        "documentation (RFC 3849)",
    ),
    (
        v6([0x2002, 0, 0, 0, 0, 0, 0, 0]),
        16,
        V6Rule::Refuse,
        "6to4 (RFC 3056)",
    ),
    (
        v6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0]),
        48,
        V6Rule::Refuse,
        "direct delegation AS112 service (RFC 7534)",
    ),
    (
        v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]),
        20,
        V6Rule::Refuse,
        "documentation (RFC 9637)",
    ),
    (
        v6([0x5f00, 0, 0, 0, 0, 0, 0, 0]),
        16,
        V6Rule::Refuse,
        "segment routing SIDs (RFC 9602)",
    ),
    (
        v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]),
        7,
        V6Rule::Refuse,
        "unique local (RFC 4193)",
    ),
    (
        v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]),
        10,
        V6Rule::Refuse,
        "link-local (RFC 4291)",
    ),
    (
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]),
        10,
        V6Rule::Refuse,
        "site-local, deprecated (RFC 3879)",
    ),
    (
        v6([0xff00, 0, 0, 0, 0, 0, 0, 0]),
        8,
        V6Rule::Refuse,
        "multicast (RFC 4291)",
    ),
];

fn in_v4(ip: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

/// Why `ip` is not an ordinary public unicast address, or `None` when it is.
pub fn special(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4).map(str::to_string),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    V4_BLOCKS
        .iter()
        .find(|(net, len, _)| in_v4(ip, *net, *len))
        .map(|(_, _, what)| *what)
}

fn classify_v6(ip: Ipv6Addr) -> Option<String> {
    if let Some((_, _, rule, what)) = V6_BLOCKS
        .iter()
        .find(|(net, len, _, _)| in_v6(ip, *net, *len))
    {
        return match rule {
            V6Rule::Refuse => Some((*what).to_string()),
            V6Rule::ByEmbeddedV4 => {
                let embedded = Ipv4Addr::from((u128::from(ip) & 0xffff_ffff) as u32);
                classify_v4(embedded)
                    .map(|inner| format!("{what} form of {embedded}, which is {inner}"))
            }
        };
    }
    // Only 2000::/3 is allocated for global unicast; the rest is reserved by the IETF.
    if !in_v6(ip, v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3) {
        return Some("outside global unicast 2000::/3 (RFC 4291)".into());
    }
    None
}

/// Whether `ip` is an ordinary public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    special(ip).is_none()
}

/// Checks a URL as a webhook target; the error says what is wrong with it.
pub fn check_url(url: &str, policy: Policy) -> Result<url::Url, String> {
    if url.len() > 2048 {
        return Err("the URL is longer than 2048 characters".into());
    }
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
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

/// Refuses a special address unless the policy allows private targets.
pub fn check_ip(ip: IpAddr, policy: Policy) -> Result<(), String> {
    if policy.allow_private {
        return Ok(());
    }
    match special(ip) {
        None => Ok(()),
        Some(why) => Err(format!(
            "{ip} is not a public address: {why}; webhooks go to public hosts only"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: Policy = Policy {
        allow_private: false,
        allow_http: false,
    };

    /// Every registry entry and every embedding form, with a public neighbour where one
    /// exists: (address, refused?). A new form is one line here and one in the tables above.
    const ADDRESSES: &[(&str, bool)] = &[
        // IPv4 special-purpose registry.
        ("0.0.0.0", true),
        ("0.1.2.3", true),
        ("10.1.2.3", true),
        ("100.64.0.1", true),
        ("100.127.255.254", true),
        ("100.128.0.1", false),
        ("127.0.0.1", true),
        ("127.255.255.254", true),
        ("169.254.169.254", true),
        ("172.16.0.1", true),
        ("172.31.255.254", true),
        ("172.32.0.1", false),
        ("192.0.0.1", true),
        ("192.0.0.8", true),
        ("192.0.0.9", true),
        ("192.0.0.10", true),
        ("192.0.0.170", true),
        ("192.0.0.171", true),
        ("192.0.2.1", true),
        ("192.31.196.1", true),
        ("192.52.193.1", true),
        ("192.88.99.1", true),
        ("192.168.0.1", true),
        ("192.175.48.1", true),
        ("198.18.0.1", true),
        ("198.19.255.254", true),
        ("198.20.0.1", false),
        ("198.51.100.1", true),
        ("203.0.113.1", true),
        ("224.0.0.1", true),
        ("239.255.255.250", true),
        ("240.0.0.1", true),
        ("255.255.255.255", true),
        ("93.184.216.34", false),
        ("8.8.8.8", false),
        // IPv6 special-purpose registry.
        ("::", true),
        ("::1", true),
        ("::ffff:127.0.0.1", true),
        ("::ffff:169.254.169.254", true),
        ("::ffff:93.184.216.34", false),
        ("64:ff9b::a9fe:a9fe", true),
        ("64:ff9b::7f00:1", true),
        ("64:ff9b::5db8:d822", false),
        ("64:ff9b:1::5db8:d822", true),
        ("100::1", true),
        ("100::ffff:ffff:ffff:ffff", true),
        ("100:0:0:1::1", true),
        ("2001::1", true),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", true),
        ("2001:1::1", true),
        ("2001:1::2", true),
        ("2001:1::3", true),
        ("2001:2::1", true),
        ("2001:3::1", true),
        ("2001:4:112::1", true),
        ("2001:10::1", true),
        ("2001:20::1", true),
        ("2001:30::1", true),
        ("2001:1ff::1", true),
        ("2001:200::1", false),
        ("2001:db8::1", true),
        ("2002:a9fe:a9fe::", true),
        ("2002:7f00:1::", true),
        ("2002:5db8:d822::1", true),
        ("2620:4f:8000::1", true),
        ("3fff::1", true),
        ("3fff:fff::1", true),
        ("5f00::1", true),
        ("fc00::1", true),
        ("fd00::1", true),
        ("fe80::1", true),
        ("fec0::1", true),
        ("ff02::1", true),
        // IPv4 carried in other IPv6 forms (the forms the issue tracker listed first).
        ("::a9fe:a9fe", true),
        ("::127.0.0.1", true),
        ("::a00:1", true),
        ("::93.184.216.34", true),
        ("::ffff:0:7f00:1", true),
        ("::ffff:0:5db8:d822", true),
        // Outside 2000::/3 and in no block above.
        ("1::1", true),
        ("4000::1", true),
        // Ordinary global unicast.
        ("2606:2800:220:1::1", false),
        ("2a00:1450:4001:80b::200e", false),
    ];

    #[test]
    fn every_special_purpose_block_and_embedding_form_is_refused() {
        for (text, refused) in ADDRESSES {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(special(ip).is_some(), *refused, "{text}: {:?}", special(ip));
            let url = match ip {
                IpAddr::V4(_) => format!("https://{text}/hook"),
                IpAddr::V6(_) => format!("https://[{text}]/hook"),
            };
            assert_eq!(check_url(&url, PUBLIC).is_err(), *refused, "{url}");
        }
    }

    #[test]
    fn a_refusal_names_the_block() {
        let e = check_url("https://[::a9fe:a9fe]/", PUBLIC).unwrap_err();
        assert!(e.contains("IPv4-compatible"), "{e}");
        let e = check_url("https://[64:ff9b::a9fe:a9fe]/", PUBLIC).unwrap_err();
        assert!(
            e.contains("169.254.169.254") && e.contains("link local"),
            "{e}"
        );
    }

    #[test]
    fn only_public_https_urls_pass_by_default() {
        assert!(check_url("https://hooks.example.com/cosell", PUBLIC).is_ok());
        for bad in [
            "http://hooks.example.com/",
            "ftp://hooks.example.com/",
            "https://0x7f.1/",
            "https://2130706433/",
            "https://localhost/",
            "https://api.localhost./",
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
        assert!(check_url("http://[::1]:8080/hook", open).is_ok());
    }
}
