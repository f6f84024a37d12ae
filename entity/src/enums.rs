//! Enumerations shared by the entities and the GraphQL schema.

use async_graphql::Enum;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A partner's level in the vendor's program; higher tiers earn more trust and incentives.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Enum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartnerTier {
    /// Entry level: registered in the program, no track record yet.
    #[sea_orm(string_value = "REGISTERED")]
    Registered,
    /// Proven partner with a few closed deals.
    #[sea_orm(string_value = "SILVER")]
    Silver,
    /// Established partner with certified staff.
    #[sea_orm(string_value = "GOLD")]
    Gold,
    /// Strategic partner: the highest tier.
    #[sea_orm(string_value = "PLATINUM")]
    Platinum,
}

/// Whether a partner may act in the program.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Enum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartnerStatus {
    /// The partner may use the API.
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// The partner's tokens are refused until a vendor reactivates it.
    #[sea_orm(string_value = "SUSPENDED")]
    Suspended,
}

/// Where an opportunity stands in the sales cycle. CLOSED_WON and CLOSED_LOST are final
/// unless a vendor ADMIN reopens the opportunity.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Enum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OpportunityStage {
    /// First contact; the need is not confirmed yet.
    #[sea_orm(string_value = "PROSPECTING")]
    Prospecting,
    /// Need, budget and timing are being confirmed.
    #[sea_orm(string_value = "QUALIFICATION")]
    Qualification,
    /// The solution is being designed with the customer.
    #[sea_orm(string_value = "SOLUTION")]
    Solution,
    /// A priced proposal is with the customer.
    #[sea_orm(string_value = "PROPOSAL")]
    Proposal,
    /// Terms are being negotiated.
    #[sea_orm(string_value = "NEGOTIATION")]
    Negotiation,
    /// The customer bought. Final unless an ADMIN reopens.
    #[sea_orm(string_value = "CLOSED_WON")]
    ClosedWon,
    /// The customer did not buy. Final unless an ADMIN reopens.
    #[sea_orm(string_value = "CLOSED_LOST")]
    ClosedLost,
}

impl OpportunityStage {
    /// Closed stages end the sales cycle.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::ClosedWon | Self::ClosedLost)
    }

    /// The stage's name as stored and as shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prospecting => "PROSPECTING",
            Self::Qualification => "QUALIFICATION",
            Self::Solution => "SOLUTION",
            Self::Proposal => "PROPOSAL",
            Self::Negotiation => "NEGOTIATION",
            Self::ClosedWon => "CLOSED_WON",
            Self::ClosedLost => "CLOSED_LOST",
        }
    }
}
