//! Who did something, as each reader may see it: one rule for every recorded actor (a
//! registration's decision and history, a conflict's resolution, a deal's stage changes, an
//! attribution's freeze or correction, an invitation).
//!
//! The vendor's people are the vendor's business: a partner reads [`VENDOR`] where the vendor's
//! user or app acted, and [`PARTNER`] where another partner did (it never reads another
//! partner's records, so this is defence in depth). Automatic actors (`policy:*`, `system:*`)
//! read the same to everyone, and a party's own people read to it as they are. The vendor reads
//! every actor as recorded.

use super::principal::{Party, Principal};

/// What a partner reads in place of the vendor's user or app.
pub const VENDOR: &str = "vendor";
/// What a reader reads in place of another partner's user or app.
pub const PARTNER: &str = "another-partner";

/// Whether `subject` names an automatic step rather than a person or an app.
pub fn is_automatic(subject: &str) -> bool {
    subject.starts_with("policy:") || subject.starts_with("system:")
}

/// `subject`, recorded as acting for `party`, as `reader` may see it.
pub fn seen_by(reader: &Principal, subject: &str, party: Party) -> String {
    if reader.is_vendor_party() || is_automatic(subject) || reader.party == party {
        return subject.to_string();
    }
    match party {
        Party::Vendor => VENDOR.into(),
        Party::Partner(_) => PARTNER.into(),
    }
}

/// An actor recorded with the partner it acted for (`None`: the vendor's side).
pub fn seen_by_partner_id(reader: &Principal, subject: &str, partner: Option<i64>) -> String {
    seen_by(
        reader,
        subject,
        partner.map_or(Party::Vendor, Party::Partner),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendor_s_people_are_hidden_from_partners_and_nothing_else() {
        let vendor = Principal::system("vendor-admin");
        let acme = Principal::partner("acme-rep", 1);
        // The vendor reads every actor as recorded.
        for (subject, party) in [
            ("alice@vendor", Party::Vendor),
            ("bob@acme", Party::Partner(1)),
            ("policy:auto-approval", Party::Vendor),
        ] {
            assert_eq!(seen_by(&vendor, subject, party), subject);
        }
        // A partner: the vendor's people by party, automatic steps and its own people as
        // they are, another partner's people by party.
        assert_eq!(seen_by(&acme, "alice@vendor", Party::Vendor), VENDOR);
        assert_eq!(
            seen_by(&acme, "policy:auto-approval", Party::Vendor),
            "policy:auto-approval"
        );
        assert_eq!(
            seen_by(&acme, "system:protection-expiry", Party::Vendor),
            "system:protection-expiry"
        );
        assert_eq!(seen_by(&acme, "bob@acme", Party::Partner(1)), "bob@acme");
        assert_eq!(seen_by(&acme, "carol@bolt", Party::Partner(2)), PARTNER);
        assert_eq!(seen_by_partner_id(&acme, "alice@vendor", None), VENDOR);
    }
}
