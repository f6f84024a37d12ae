//! `invitations`: the vendor asks a partner to join a deal in a role; the partner accepts
//! (which registers it through the registration lifecycle), declines, or lets it expire.

use sea_orm::entity::prelude::*;

use crate::enums::{InvitationStatus, RegistrationRole};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub opportunity_id: i64,
    /// The invited partner: the only partner that ever reads this row.
    pub partner_id: i64,
    pub role: RegistrationRole,
    pub status: InvitationStatus,
    /// The vendor's note to the partner.
    pub message: Option<String>,
    /// What the partner is shown before it accepts, fixed when the invitation is made: a JSON
    /// object with only the fields the vendor chose (see `SharedDeal`).
    pub shared: Json,
    pub expires_at: DateTimeUtc,
    /// Who invited (the vendor user's or app's subject).
    pub invited_by: String,
    pub decline_reason: Option<String>,
    /// The registration the acceptance created.
    pub registration_id: Option<i64>,
    /// When the partner answered, the vendor withdrew or the invitation expired.
    pub closed_at: Option<DateTimeUtc>,
    /// The inviter's key for the request that made it; a retry returns the same invitations.
    pub idempotency_key: Option<String>,
    /// What that request asked for (a hash): the same key with another request is refused.
    pub idempotency_fingerprint: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
