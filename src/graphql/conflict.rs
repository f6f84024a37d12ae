//! Conflicts between registrations and the collaboration rules that decide them, as GraphQL
//! objects.

use async_graphql::{Context, Object, Result, SimpleObject, ID};
use entity::collaboration_rule::Model as RuleModel;
use entity::conflict::Model as ConflictModel;
use entity::enums::{
    ConflictKind, ConflictResolution, ConflictStatus, PartnerTier, RegistrationRole,
};

use super::loaders;
use super::opportunity::Opportunity;
use super::registration::Registration;
use crate::ids::{self, Kind};
use crate::scalars::{DateTime, MinorUnits};

/// An overlap found when a registration was submitted; it holds the registration UNDER_REVIEW
/// until a vendor resolves it. A partner sees the conflicts on its own registrations, never the
/// other partner's registration.
#[derive(Clone)]
pub struct Conflict(pub ConflictModel);

impl From<ConflictModel> for Conflict {
    fn from(m: ConflictModel) -> Self {
        Self(m)
    }
}

/// An overlap found when a registration was submitted; it holds the registration UNDER_REVIEW
/// until a vendor resolves it. A partner sees the conflicts on its own registrations, never the
/// other partner's registration.
#[Object]
impl Conflict {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Conflict, self.0.id).into()
    }
    /// What overlaps.
    async fn kind(&self) -> ConflictKind {
        self.0.kind
    }
    /// OPEN until resolved.
    async fn status(&self) -> ConflictStatus {
        self.0.status
    }
    /// The registration held by this conflict.
    async fn registration(&self, ctx: &Context<'_>) -> Result<Option<Registration>> {
        Ok(loaders(ctx)
            .registrations
            .load_one(self.0.registration_id)
            .await?
            .map(Registration::from))
    }
    /// The registration it overlaps; null when there is none or it is another partner's.
    async fn other_registration(&self, ctx: &Context<'_>) -> Result<Option<Registration>> {
        match self.0.other_registration_id {
            Some(o) => Ok(loaders(ctx)
                .registrations
                .load_one(o)
                .await?
                .map(Registration::from)),
            None => Ok(None),
        }
    }
    /// The opportunity it overlaps, if you may see it.
    async fn opportunity(&self, ctx: &Context<'_>) -> Result<Option<Opportunity>> {
        match self.0.opportunity_id {
            Some(o) => Ok(loaders(ctx)
                .opportunities
                .load_one(o)
                .await?
                .map(Opportunity)),
            None => Ok(None),
        }
    }
    /// How it was resolved.
    async fn resolution(&self) -> Option<ConflictResolution> {
        self.0.resolution
    }
    /// The winning registration, for WINNER_CHOSEN (null if it is another partner's).
    async fn winner(&self, ctx: &Context<'_>) -> Result<Option<Registration>> {
        match self.0.winner_registration_id {
            Some(o) => Ok(loaders(ctx)
                .registrations
                .load_one(o)
                .await?
                .map(Registration::from)),
            None => Ok(None),
        }
    }
    /// Who resolved it: the vendor user's or app's token subject, or `system:*`; partners
    /// read `vendor` in place of the vendor's people.
    async fn resolved_by(&self, ctx: &Context<'_>) -> Option<String> {
        let by = self.0.resolved_by.as_deref()?;
        Some(crate::auth::actor::seen_by_partner_id(
            super::principal(ctx),
            by,
            self.0.resolved_by_partner_id,
        ))
    }
    /// Why it was resolved so.
    async fn resolution_reason(&self) -> Option<&str> {
        self.0.resolution_reason.as_deref()
    }
    /// When it was resolved.
    async fn resolved_at(&self) -> Option<DateTime> {
        self.0.resolved_at.map(DateTime)
    }
    /// When it was raised.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
}

/// The result of a conflict resolution.
#[derive(SimpleObject)]
pub struct ResolveConflictPayload {
    /// The conflict as it is after the resolution.
    pub conflict: Conflict,
}

/// How partners share deals in one role.
pub struct CollaborationRule(pub RuleModel);

/// The result of a collaboration rule change.
#[derive(SimpleObject)]
pub struct UpdateCollaborationRulePayload {
    /// The rule as it is after the change.
    pub rule: CollaborationRule,
}

/// How partners share deals in one role.
#[Object]
impl CollaborationRule {
    /// The role.
    async fn role(&self) -> RegistrationRole {
        self.0.role
    }
    /// Only one partner may hold this role on an opportunity.
    async fn exclusive(&self) -> bool {
        self.0.exclusive
    }
    /// Days an approved registration protects its partner.
    async fn protection_days(&self) -> i32 {
        self.0.protection_days
    }
    /// Default attribution weight in basis points.
    async fn attribution_weight_bps(&self) -> i32 {
        self.0.attribution_weight_bps
    }
    /// Whether submissions are approved at once when the policy holds and nothing conflicts.
    async fn auto_approve(&self) -> bool {
        self.0.auto_approve
    }
    /// Lowest partner tier the policy approves.
    async fn auto_approve_min_tier(&self) -> Option<PartnerTier> {
        self.0.auto_approve_min_tier
    }
    /// Largest deal amount (minor units) the policy approves.
    async fn auto_approve_max_amount(&self) -> Option<MinorUnits> {
        self.0.auto_approve_max_amount_minor.map(MinorUnits)
    }
    /// Version; pass it as `expectedVersion` when changing the rule.
    async fn version(&self) -> i32 {
        self.0.version
    }
}
