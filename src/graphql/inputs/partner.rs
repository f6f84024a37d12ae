//! Partner inputs: the list's filter and order, and the create and update commands.

use async_graphql::{Enum, InputObject, ID};
use entity::enums::{PartnerStatus, PartnerTier};

use crate::db::partners as data;

/// Filters for the partner list.
#[derive(InputObject, Default, Debug)]
pub struct PartnerFilter {
    /// Only partners in one of these tiers.
    pub tier_in: Option<Vec<PartnerTier>>,
    /// Only partners with this status.
    pub status: Option<PartnerStatus>,
    /// Case-insensitive substring of the partner's name (at most 200 characters).
    pub name_contains: Option<String>,
}

impl From<PartnerFilter> for data::PartnerFilter {
    fn from(f: PartnerFilter) -> Self {
        Self {
            tier_in: f.tier_in,
            status: f.status,
            name_contains: f.name_contains,
        }
    }
}

/// Orders of the partner list.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::db::partners::PartnerOrder")]
pub enum PartnerOrder {
    /// Alphabetical by name.
    NameAsc,
    /// Reverse alphabetical by name.
    NameDesc,
    /// Oldest first.
    CreatedAsc,
    /// Newest first.
    CreatedDesc,
}

/// A new partner organisation.
#[derive(InputObject, Debug)]
pub struct CreatePartnerInput {
    /// Display name, unique in the program (1 to 200 characters).
    pub name: String,
    /// Program tier; REGISTERED when omitted.
    pub tier: Option<PartnerTier>,
    /// What the partner is good at, e.g. "CRM migration" (at most 20 labels of 100 characters).
    #[graphql(default)]
    pub specialisations: Vec<String>,
}

impl From<CreatePartnerInput> for data::CreatePartner {
    fn from(i: CreatePartnerInput) -> Self {
        Self {
            name: i.name,
            tier: i.tier,
            specialisations: i.specialisations,
        }
    }
}

/// Changes to a partner. Omitted fields keep their value.
#[derive(InputObject, Debug)]
pub struct UpdatePartnerInput {
    /// The partner to change.
    pub id: ID,
    /// The version you read; the change is refused with VERSION_MISMATCH if it moved on.
    pub expected_version: i32,
    /// New display name.
    pub name: Option<String>,
    /// New program tier.
    pub tier: Option<PartnerTier>,
    /// ACTIVE, or SUSPENDED to refuse the partner's tokens from now on.
    pub status: Option<PartnerStatus>,
    /// Replaces the specialisation labels.
    pub specialisations: Option<Vec<String>>,
}

impl From<UpdatePartnerInput> for data::UpdatePartner {
    fn from(i: UpdatePartnerInput) -> Self {
        Self {
            id: i.id.0,
            expected_version: i.expected_version,
            name: i.name,
            tier: i.tier,
            status: i.status,
            specialisations: i.specialisations,
        }
    }
}
