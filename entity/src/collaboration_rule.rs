//! `collaboration_rules`: per registration role, how partners share a deal.

use sea_orm::entity::prelude::*;

use crate::enums::{PartnerTier, RegistrationRole};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "collaboration_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub role: RegistrationRole,
    /// Only one partner may hold this role on an opportunity.
    pub exclusive: bool,
    /// Days an approved registration protects its partner.
    pub protection_days: i32,
    /// Default attribution weight in basis points.
    pub attribution_weight_bps: i32,
    /// Approve at submission when the policy below holds and nothing conflicts.
    pub auto_approve: bool,
    pub auto_approve_min_tier: Option<PartnerTier>,
    pub auto_approve_max_amount_minor: Option<i64>,
    pub version: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
