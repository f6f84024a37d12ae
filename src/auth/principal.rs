//! The authenticated caller and the rules of what it may do.

use std::collections::BTreeSet;

use async_graphql::Enum;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// What kind of caller a token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Enum)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    /// A person on the vendor's staff.
    Vendor,
    /// A person or integration acting for one partner organisation.
    Partner,
    /// A marketplace app acting, within its scopes, for the vendor or for one partner.
    App,
}

/// A vendor staff member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VendorRole {
    /// Runs the program: may do everything, including reopening closed opportunities.
    Admin,
    /// Manages partners and decides on their registrations.
    ChannelManager,
    /// The direct sales team: owns opportunities and accounts, reads partner data.
    Sales,
}

impl VendorRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "ADMIN",
            Self::ChannelManager => "CHANNEL_MANAGER",
            Self::Sales => "SALES",
        }
    }
}

/// A partner user's role within its own organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartnerRole {
    /// Administers the partner's integration and users.
    PartnerAdmin,
    /// A partner sales representative.
    PartnerRep,
}

/// The party a principal belongs to: the vendor or one partner organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Vendor,
    Partner(i64),
}

/// A resource family that app scopes refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Partners,
    Accounts,
    Opportunities,
    Registrations,
    Contacts,
    Events,
}

impl Resource {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Resource::Partners => "partners",
            Resource::Accounts => "accounts",
            Resource::Opportunities => "opportunities",
            Resource::Registrations => "registrations",
            Resource::Contacts => "contacts",
            Resource::Events => "events",
        }
    }
}

/// Scopes an app token may carry.
pub const KNOWN_SCOPES: &[&str] = &[
    "partners:read",
    "partners:write",
    "accounts:read",
    "accounts:write",
    "opportunities:read",
    "opportunities:write",
    "registrations:read",
    "registrations:write",
    "contacts:read",
    "contacts:write",
    "events:read",
];

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The token's `sub`: a user or app identifier.
    pub subject: String,
    pub kind: PrincipalKind,
    pub party: Party,
    pub vendor_role: Option<VendorRole>,
    pub partner_role: Option<PartnerRole>,
    /// Only apps are limited by scopes; `None` for people.
    pub scopes: Option<BTreeSet<String>>,
}

impl Principal {
    /// An app of `party` limited to `scopes` (no role: apps have scopes instead).
    pub fn app(subject: String, party: Party, scopes: BTreeSet<String>) -> Self {
        Self {
            subject,
            kind: PrincipalKind::App,
            party,
            vendor_role: None,
            partner_role: None,
            scopes: Some(scopes),
        }
    }

    pub fn vendor(subject: &str, role: VendorRole) -> Self {
        Self {
            subject: subject.to_string(),
            kind: PrincipalKind::Vendor,
            party: Party::Vendor,
            vendor_role: Some(role),
            partner_role: None,
            scopes: None,
        }
    }

    /// A partner sales representative of partner `id`.
    pub fn partner(subject: &str, id: i64) -> Self {
        Self {
            subject: subject.to_string(),
            kind: PrincipalKind::Partner,
            party: Party::Partner(id),
            vendor_role: None,
            partner_role: Some(PartnerRole::PartnerRep),
            scopes: None,
        }
    }

    /// An internal actor (the auto-approval policy, background jobs) acting for the vendor.
    pub fn system(name: &str) -> Self {
        Self::vendor(name, VendorRole::Admin)
    }

    pub fn is_vendor_party(&self) -> bool {
        self.party == Party::Vendor
    }

    pub fn partner_id(&self) -> Option<i64> {
        match self.party {
            Party::Partner(id) => Some(id),
            Party::Vendor => None,
        }
    }

    /// The key per-principal limits (rate, WebSocket connections) count under: kind, party and
    /// subject, so one app installed for several partners has a budget for each.
    pub fn limit_key(&self) -> String {
        // The party as events tag their audience (`vendor`, `partner:<id>`).
        let party = match self.party {
            Party::Vendor => "vendor".to_string(),
            Party::Partner(id) => format!("partner:{id}"),
        };
        format!("{:?}:{party}:{}", self.kind, self.subject)
    }

    /// Everything that decides what this caller reads, and nothing of who it is: two
    /// principals with the same key see the same rows and fields by every path (the resolvers
    /// scope by kind, party, role and scopes, never by subject), so they may share answers.
    pub fn view_key(&self) -> String {
        let scopes = self
            .scopes
            .as_ref()
            .map(|s| s.iter().map(String::as_str).collect::<Vec<_>>().join(" "));
        format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}",
            self.kind, self.party, self.vendor_role, self.partner_role, scopes
        )
    }

    fn has_scope(&self, resource: Resource, write: bool) -> bool {
        match &self.scopes {
            None => true,
            Some(scopes) => {
                let w = format!("{}:write", resource.name());
                scopes.contains(&w)
                    || (!write && scopes.contains(&format!("{}:read", resource.name())))
            }
        }
    }

    /// Whether an app's scopes let it change `resource` (people: always; their role decides).
    pub fn may_write(&self, resource: Resource) -> bool {
        self.has_scope(resource, true)
    }

    /// Whether an app's scopes let it read `resource` at all (people: always).
    pub fn may_read(&self, resource: Resource) -> bool {
        self.has_scope(resource, false)
    }

    /// Refuses an app whose scopes do not cover reading `resource`.
    pub fn require_read(&self, resource: Resource) -> AppResult<()> {
        if self.may_read(resource) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this app token lacks the `{}:read` scope",
                resource.name()
            )))
        }
    }
}
