//! The vendor's writes and who may make them: the one table of vendor roles per kind of change.
//! Apps act by scope instead (`<resource>:write`), partners by their own checks.

use super::principal::{Resource, VendorRole};

/// A kind of change only the vendor makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VendorWrite {
    /// Approve, reject, review, ask for information, decide in bulk, resolve conflicts and
    /// extend protection windows.
    DecideRegistrations,
    /// Create, update and move opportunities.
    EditOpportunities,
    /// Correct a won deal's frozen attribution.
    CorrectAttribution,
    /// The program's terms: attribution settings and incentive rates.
    SetProgramTerms,
    /// Create and update customer accounts.
    EditAccounts,
    /// Create, update and suspend partners.
    EditPartners,
    /// Create, update, mark, share and link contacts.
    EditContacts,
}

const DECIDERS: &[VendorRole] = &[VendorRole::Admin, VendorRole::ChannelManager];
const SELLERS: &[VendorRole] = &[
    VendorRole::Admin,
    VendorRole::ChannelManager,
    VendorRole::Sales,
];

impl VendorWrite {
    /// The resource an app's `:write` scope must name for this change.
    pub fn resource(self) -> Resource {
        match self {
            Self::DecideRegistrations => Resource::Registrations,
            Self::EditOpportunities | Self::CorrectAttribution => Resource::Opportunities,
            Self::SetProgramTerms | Self::EditPartners => Resource::Partners,
            Self::EditAccounts => Resource::Accounts,
            Self::EditContacts => Resource::Contacts,
        }
    }

    /// The vendor roles that may make this change.
    pub fn roles(self) -> &'static [VendorRole] {
        match self {
            Self::DecideRegistrations
            | Self::CorrectAttribution
            | Self::SetProgramTerms
            | Self::EditPartners => DECIDERS,
            Self::EditOpportunities | Self::EditAccounts | Self::EditContacts => SELLERS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sales_edits_deals_accounts_and_contacts_but_decides_nothing() {
        use VendorWrite::*;
        for w in [EditOpportunities, EditAccounts, EditContacts] {
            assert!(w.roles().contains(&VendorRole::Sales), "{w:?}");
        }
        for w in [
            DecideRegistrations,
            CorrectAttribution,
            SetProgramTerms,
            EditPartners,
        ] {
            assert!(!w.roles().contains(&VendorRole::Sales), "{w:?}");
            assert!(w.roles().contains(&VendorRole::ChannelManager), "{w:?}");
        }
        for w in [
            DecideRegistrations,
            EditOpportunities,
            CorrectAttribution,
            SetProgramTerms,
            EditAccounts,
            EditPartners,
            EditContacts,
        ] {
            assert!(w.roles().contains(&VendorRole::Admin), "{w:?}");
        }
    }
}
