//! `opportunities`: potential sales at one account.

use sea_orm::entity::prelude::*;

use crate::enums::OpportunityStage;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "opportunities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub stage: OpportunityStage,
    /// Integer minor units of `currency` (cents for USD, yen for JPY).
    pub amount_minor: i64,
    /// ISO 4217 alphabetic code.
    pub currency: String,
    pub expected_close_date: Date,
    /// The vendor seller who owns the deal (a user identifier, usually an email).
    pub owner: String,
    pub region: Option<String>,
    /// JSON array of product names.
    pub products: Json,
    /// Vendor-internal forecast commentary; never shown to partners.
    pub forecast_notes: Option<String>,
    /// Vendor-internal win probability in percent; never shown to partners.
    pub probability: Option<i32>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::account::Entity",
        from = "Column::AccountId",
        to = "super::account::Column::Id"
    )]
    Account,
    #[sea_orm(has_many = "super::opportunity_stage_change::Entity")]
    StageChange,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl Related<super::opportunity_stage_change::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StageChange.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
