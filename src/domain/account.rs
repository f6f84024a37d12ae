//! Account rules: the normalised web domain that keys duplicate detection.

use crate::error::{AppError, AppResult};

/// Normalises a web domain: lower case, no scheme, no `www.`, no port, path, query or trailing
/// dot. Refuses anything that is not a plausible host name.
pub fn normalise_domain(input: &str) -> AppResult<String> {
    let bad = |why: &str| {
        AppError::bad_field(
            "domain",
            format!("`{}` is not a web domain: {why}", input.trim()),
        )
    };
    let mut d = input.trim().to_lowercase();
    if let Some(i) = d.find("://") {
        d = d[i + 3..].to_string();
    }
    if let Some(i) = d.find(['/', '?', '#']) {
        d.truncate(i);
    }
    if let Some(i) = d.rfind('@') {
        d = d[i + 1..].to_string();
    }
    if let Some(i) = d.find(':') {
        d.truncate(i);
    }
    let d = d.trim_end_matches('.');
    if d.is_empty() {
        return Err(bad("it is empty"));
    }
    // One spelling per domain: Unicode and punycode forms of an internationalised name
    // (`bücher.de`, `xn--bcher-kva.de`) are the same customer, kept in ASCII (UTS 46).
    let ascii = idna::domain_to_ascii(d).map_err(|_| bad("it is not a valid domain name"))?;
    let d = ascii.strip_prefix("www.").unwrap_or(&ascii);
    if d.is_empty() {
        return Err(bad("it is empty"));
    }
    if d.len() > 253 {
        return Err(bad("it is longer than 253 characters"));
    }
    let labels: Vec<&str> = d.split('.').collect();
    if labels.len() < 2 {
        return Err(bad("it needs a dot, as in example.com"));
    }
    for l in &labels {
        if l.is_empty() || l.len() > 63 {
            return Err(bad("each part between dots must be 1 to 63 characters"));
        }
        if l.starts_with('-') || l.ends_with('-') {
            return Err(bad("a part may not start or end with a hyphen"));
        }
        if !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(bad("only letters, digits, hyphens and dots are allowed"));
        }
    }
    Ok(d.to_string())
}

#[cfg(test)]
mod tests {
    use super::normalise_domain as n;

    #[test]
    fn normalises() {
        assert_eq!(n("https://www.Acme.com/about?x=1").unwrap(), "acme.com");
        assert_eq!(n("  ACME.COM. ").unwrap(), "acme.com");
        assert_eq!(n("http://shop.acme.co.uk:8443").unwrap(), "shop.acme.co.uk");
        assert_eq!(n("www.globex.com").unwrap(), "globex.com");
    }

    #[test]
    fn an_internationalised_domain_has_one_spelling_whichever_is_given() {
        assert_eq!(n("https://Bücher.de/").unwrap(), "xn--bcher-kva.de");
        assert_eq!(n("xn--bcher-kva.de").unwrap(), "xn--bcher-kva.de");
        assert_eq!(n("www.BÜCHER.de").unwrap(), "xn--bcher-kva.de");
        assert_eq!(n("münchen.example").unwrap(), n("MÜNCHEN.example").unwrap());
        assert!(n("bad_domain.com").is_err());
    }

    #[test]
    fn refuses() {
        for bad in [
            "",
            "localhost",
            "acme..com",
            "-acme.com",
            "ac me.com",
            "https://",
        ] {
            assert!(n(bad).is_err(), "{bad} should be refused");
        }
    }
}
