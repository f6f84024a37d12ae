//! `threading_assessments`: each opportunity's threading assessment as every reader shares it,
//! kept current by the writes that move it and by the sweep on the day it would change.

use sea_orm::entity::prelude::*;

use crate::enums::OpportunityStage;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "threading_assessments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub opportunity_id: i64,
    pub account_id: i64,
    /// The opportunity's stage and amount, kept with it so the risk report reads one index.
    pub stage: OpportunityStage,
    pub is_open: bool,
    pub amount_minor: i64,
    pub score: i32,
    /// The kinds of risk, one bit each (`domain::threading::risk_bits`).
    pub risks: i32,
    pub engaged_contacts: i32,
    /// The buying roles engaged, comma-separated API names.
    pub buying_roles: String,
    /// The parties that engaged, comma-separated: `vendor` or a partner's id.
    pub parties: String,
    pub last_engaged_on: Option<Date>,
    /// The threading window it was assessed with, in days.
    pub window_days: i32,
    /// The day it was assessed for, and the first day it may no longer hold.
    pub assessed_on: Date,
    pub valid_until: Date,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::opportunity::Entity",
        from = "Column::OpportunityId",
        to = "super::opportunity::Column::Id"
    )]
    Opportunity,
}

impl Related<super::opportunity::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Opportunity.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
