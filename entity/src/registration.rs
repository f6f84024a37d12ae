//! `registrations`: a partner's claim on a deal, in one role.

use sea_orm::entity::prelude::*;

use crate::enums::{RegistrationRole, RegistrationStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "registrations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub partner_id: i64,
    /// The opportunity claimed; `None` for a proposed deal until approval links or creates one.
    pub opportunity_id: Option<i64>,
    /// Normalised domain of the customer account (the proposed one, or the opportunity's).
    pub account_domain: String,
    /// Proposed account name, for a deal the vendor does not know yet.
    pub account_name: Option<String>,
    /// Proposed deal name.
    pub deal_name: Option<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub expected_close_date: Option<Date>,
    pub role: RegistrationRole,
    pub status: RegistrationStatus,
    pub justification: String,
    /// Visible to the partner that wrote them and to the vendor only.
    pub private_notes: Option<String>,
    pub idempotency_key: Option<String>,
    /// A hash of the request that used `idempotency_key`: the same key with another request
    /// is refused.
    pub idempotency_fingerprint: Option<String>,
    /// The vendor's open question while NEEDS_INFO.
    pub info_request: Option<String>,
    /// Days of extra protection the partner asked for, pending the vendor.
    pub extension_requested_days: Option<i32>,
    pub extension_reason: Option<String>,
    pub protection_expires_at: Option<DateTimeUtc>,
    pub submitted_at: Option<DateTimeUtc>,
    pub decided_at: Option<DateTimeUtc>,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    /// Whole seconds from submission to decision (`decided_at - submitted_at`, truncated):
    /// what the program figures' medians are taken over.
    pub decision_seconds: Option<i64>,
    pub auto_approved: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::partner::Entity",
        from = "Column::PartnerId",
        to = "super::partner::Column::Id"
    )]
    Partner,
    #[sea_orm(
        belongs_to = "super::opportunity::Entity",
        from = "Column::OpportunityId",
        to = "super::opportunity::Column::Id"
    )]
    Opportunity,
}

impl ActiveModelBehavior for ActiveModel {}
