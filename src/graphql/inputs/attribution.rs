//! Attribution inputs: a deal's model and MANUAL shares, the correction of a won deal's split,
//! incentive rates and the program settings.

use async_graphql::{InputObject, ID};
use entity::enums::{AttributionModel, PartnerTier, RegistrationRole};

use crate::db::attribution as data;

/// A share set by the vendor for the MANUAL model.
#[derive(InputObject, Debug, Clone)]
pub struct ManualShareInput {
    /// The partner; omit for the vendor's direct team.
    pub partner_id: Option<ID>,
    /// Its share in basis points (0 to 10000); all shares sum to exactly 10000.
    pub bps: i32,
}

impl From<ManualShareInput> for data::ManualShare {
    fn from(s: ManualShareInput) -> Self {
        Self {
            partner_id: s.partner_id.map(|p| p.0),
            bps: s.bps,
        }
    }
}

fn shares(s: Option<Vec<ManualShareInput>>) -> Option<Vec<data::ManualShare>> {
    s.map(|s| s.into_iter().map(Into::into).collect())
}

/// The model (and for MANUAL the shares) of one open deal.
#[derive(InputObject, Debug)]
pub struct SetAttributionModelInput {
    /// The opportunity (open; a won deal changes only through correctAttribution).
    pub opportunity_id: ID,
    /// The version of the deal's attribution choice you read (0 when none was set).
    pub expected_version: i32,
    /// The model; null returns to the program default.
    pub model: Option<AttributionModel>,
    /// For MANUAL: every party's share.
    pub manual_shares: Option<Vec<ManualShareInput>>,
}

impl From<SetAttributionModelInput> for data::SetAttributionModel {
    fn from(i: SetAttributionModelInput) -> Self {
        Self {
            opportunity_id: i.opportunity_id.0,
            expected_version: i.expected_version,
            model: i.model,
            manual_shares: shares(i.manual_shares),
        }
    }
}

/// An ADMIN's audited correction of a won deal's frozen split.
#[derive(InputObject, Debug)]
pub struct CorrectAttributionInput {
    /// The won opportunity.
    pub opportunity_id: ID,
    /// The frozen version number you read; refused with VERSION_MISMATCH if it moved on.
    pub expected_version: i32,
    /// The model of the corrected split.
    pub model: AttributionModel,
    /// For MANUAL: every party's share.
    pub manual_shares: Option<Vec<ManualShareInput>>,
    /// Why (required, kept with the new version).
    pub reason: String,
}

impl From<CorrectAttributionInput> for data::CorrectAttribution {
    fn from(i: CorrectAttributionInput) -> Self {
        Self {
            opportunity_id: i.opportunity_id.0,
            expected_version: i.expected_version,
            model: i.model,
            manual_shares: shares(i.manual_shares),
            reason: i.reason,
        }
    }
}

/// Sets the incentive rate of a tier and role (vendor ADMIN or CHANNEL_MANAGER).
#[derive(InputObject, Debug)]
pub struct SetIncentiveRateInput {
    /// The partner tier.
    pub tier: PartnerTier,
    /// The role on the deal.
    pub role: RegistrationRole,
    /// The rate in basis points of the attributed amount (0 to 10000).
    pub rate_bps: i32,
}

impl From<SetIncentiveRateInput> for data::SetIncentiveRate {
    fn from(i: SetIncentiveRateInput) -> Self {
        Self {
            tier: i.tier,
            role: i.role,
            rate_bps: i.rate_bps,
        }
    }
}

/// Program-wide attribution settings (vendor ADMIN).
#[derive(InputObject, Debug)]
pub struct UpdateAttributionSettingsInput {
    /// The version you read.
    pub expected_version: i32,
    /// The model of deals that set none.
    pub default_model: Option<AttributionModel>,
    /// Whether the vendor's direct team takes a share in ROLE_WEIGHTED, EQUAL and CONTRIBUTION.
    pub include_direct_team: Option<bool>,
    /// The direct team's weight in ROLE_WEIGHTED, in basis points (0 to 10000).
    pub direct_team_weight_bps: Option<i32>,
}

impl From<UpdateAttributionSettingsInput> for data::UpdateAttributionSettings {
    fn from(i: UpdateAttributionSettingsInput) -> Self {
        Self {
            expected_version: i.expected_version,
            default_model: i.default_model,
            include_direct_team: i.include_direct_team,
            direct_team_weight_bps: i.direct_team_weight_bps,
        }
    }
}
