//! `conflicts`: an overlap found at submission that holds a registration in review.

use sea_orm::entity::prelude::*;

use crate::enums::{ConflictKind, ConflictResolution, ConflictStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conflicts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: ConflictKind,
    /// The registration held by this conflict.
    pub registration_id: i64,
    /// The existing registration it overlaps, for DUPLICATE and EXCLUSIVE kinds.
    pub other_registration_id: Option<i64>,
    /// The opportunity it overlaps.
    pub opportunity_id: Option<i64>,
    pub status: ConflictStatus,
    pub resolution: Option<ConflictResolution>,
    pub winner_registration_id: Option<i64>,
    pub resolved_by: Option<String>,
    /// The partner whose person (or app) resolved it (by withdrawing the claim); `None` for the
    /// vendor's people and automatic resolutions.
    pub resolved_by_partner_id: Option<i64>,
    pub resolution_reason: Option<String>,
    pub resolved_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
