//! Inputs of the vendor's decisions on registrations (and the partner's withdrawal): approval,
//! decisions with a reason, bulk decisions, conflict resolutions and collaboration rules.

use async_graphql::{Enum, InputObject, ID};
use entity::enums::{ConflictResolution, PartnerTier, RegistrationRole};

use crate::db::registrations;
use crate::db::rules;
use crate::scalars::MinorUnits;

/// A vendor's approval.
#[derive(InputObject, Debug)]
pub struct ApproveRegistrationInput {
    /// The registration (SUBMITTED or UNDER_REVIEW).
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// For a proposed deal: the existing opportunity it is.
    pub opportunity_id: Option<ID>,
    /// For a proposed deal: create its account (if new) and opportunity.
    #[graphql(default)]
    pub create_opportunity: bool,
    /// Why, recorded in the history.
    pub reason: Option<String>,
}

impl From<ApproveRegistrationInput> for registrations::ApproveRegistration {
    fn from(i: ApproveRegistrationInput) -> Self {
        Self {
            id: i.id.0,
            expected_version: i.expected_version,
            opportunity_id: i.opportunity_id.map(|o| o.0),
            create_opportunity: i.create_opportunity,
            reason: i.reason,
        }
    }
}

/// A decision with a reason, for reject, request-info and withdraw.
#[derive(InputObject, Debug)]
pub struct RegistrationDecisionInput {
    /// The registration.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// Why (required to reject; the question when asking for information; optional to
    /// withdraw). At most 2000 characters.
    pub reason: Option<String>,
}

impl From<RegistrationDecisionInput> for registrations::RegistrationDecision {
    fn from(i: RegistrationDecisionInput) -> Self {
        Self {
            id: i.id.0,
            expected_version: i.expected_version,
            reason: i.reason,
        }
    }
}

/// The decision applied to every item of a bulk call.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::db::registrations::bulk::BulkDecision")]
pub enum BulkDecision {
    /// Approve each registration (proposed deals get a new opportunity).
    Approve,
    /// Reject each registration with the shared reason.
    Reject,
}

/// A vendor's move of a SUBMITTED registration into review.
#[derive(InputObject, Debug)]
pub struct StartRegistrationReviewInput {
    /// The registration (SUBMITTED).
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
}

/// A vendor's decision on many registrations at once.
#[derive(InputObject, Debug)]
pub struct BulkDecideRegistrationsInput {
    /// APPROVE or REJECT.
    pub decision: BulkDecision,
    /// The registrations with the versions you read (at most 100).
    pub items: Vec<BulkItemInput>,
    /// The reason recorded on each (required to reject). At most 2000 characters.
    pub reason: Option<String>,
}

/// One registration of a bulk call.
#[derive(InputObject, Debug)]
pub struct BulkItemInput {
    /// The registration.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
}

impl From<BulkItemInput> for registrations::BulkItem {
    fn from(i: BulkItemInput) -> Self {
        Self {
            id: i.id.0,
            expected_version: i.expected_version,
        }
    }
}

/// A vendor's resolution of a conflict.
#[derive(InputObject, Debug)]
pub struct ResolveConflictInput {
    /// The open conflict.
    pub id: ID,
    /// WINNER_CHOSEN (name the winner), CO_SELL_ALLOWED (approve the held registration
    /// alongside the others) or REJECTED (reject the held registration).
    pub resolution: ConflictResolution,
    /// With WINNER_CHOSEN: the held registration or the one it overlaps.
    pub winner_registration_id: Option<ID>,
    /// For a held proposed deal that is approved: the opportunity it is (defaults to the one
    /// the conflict names).
    pub opportunity_id: Option<ID>,
    /// Why, recorded on the conflict and in the registrations' history (1 to 2000 characters).
    pub reason: String,
    /// The held registration's version you read; when given, the resolution is refused with
    /// VERSION_MISMATCH if the registration changed since.
    pub expected_version: Option<i32>,
}

impl From<ResolveConflictInput> for registrations::ResolveConflict {
    fn from(i: ResolveConflictInput) -> Self {
        Self {
            id: i.id.0,
            resolution: i.resolution,
            winner_registration_id: i.winner_registration_id.map(|w| w.0),
            opportunity_id: i.opportunity_id.map(|o| o.0),
            reason: i.reason,
            expected_version: i.expected_version,
        }
    }
}

/// Changes to one role's rule. Omitted fields keep their value.
#[derive(InputObject, Debug)]
pub struct UpdateCollaborationRuleInput {
    /// The role whose rule changes.
    pub role: RegistrationRole,
    /// The version you read; refused with VERSION_MISMATCH if it moved on.
    pub expected_version: i32,
    /// Whether only one partner may hold this role on an opportunity.
    pub exclusive: Option<bool>,
    /// Days an approved registration protects its partner (1 to 730).
    pub protection_days: Option<i32>,
    /// Default attribution weight in basis points (0 to 10000).
    pub attribution_weight_bps: Option<i32>,
    /// Approve submissions at once when the policy holds and nothing conflicts.
    pub auto_approve: Option<bool>,
    /// Lowest partner tier the policy approves; set `clearAutoApproveMinTier` to remove it.
    pub auto_approve_min_tier: Option<PartnerTier>,
    /// Remove the tier condition.
    #[graphql(default)]
    pub clear_auto_approve_min_tier: bool,
    /// Largest deal amount (minor units) the policy approves; set `clearAutoApproveMaxAmount`
    /// to remove it.
    pub auto_approve_max_amount: Option<MinorUnits>,
    /// Remove the amount cap.
    #[graphql(default)]
    pub clear_auto_approve_max_amount: bool,
}

impl From<UpdateCollaborationRuleInput> for rules::UpdateCollaborationRule {
    fn from(i: UpdateCollaborationRuleInput) -> Self {
        Self {
            role: i.role,
            expected_version: i.expected_version,
            exclusive: i.exclusive,
            protection_days: i.protection_days,
            attribution_weight_bps: i.attribution_weight_bps,
            auto_approve: i.auto_approve,
            auto_approve_min_tier: i.auto_approve_min_tier,
            clear_auto_approve_min_tier: i.clear_auto_approve_min_tier,
            auto_approve_max_amount: i.auto_approve_max_amount.map(|a| a.0),
            clear_auto_approve_max_amount: i.clear_auto_approve_max_amount,
        }
    }
}
