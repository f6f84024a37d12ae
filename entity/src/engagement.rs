//! `engagements`: a party's touch with a contact.

use sea_orm::entity::prelude::*;

use crate::enums::{EngagementKind, Sentiment};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "engagements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub contact_id: i64,
    pub account_id: i64,
    /// The partner that engaged; `None` for the vendor.
    pub partner_id: Option<i64>,
    pub opportunity_id: Option<i64>,
    pub kind: EngagementKind,
    pub occurred_on: Date,
    pub sentiment: Sentiment,
    /// Visible to the party that wrote them and to the vendor.
    pub notes: Option<String>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
