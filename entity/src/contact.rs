//! `contacts`: stakeholders at a customer account.

use sea_orm::entity::prelude::*;

use crate::enums::{BuyingRole, ContactStatus, Seniority};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub email: String,
    /// Lower-cased email: unique per account.
    pub email_key: String,
    pub title: Option<String>,
    pub department: Option<String>,
    pub seniority: Option<Seniority>,
    pub buying_role: Option<BuyingRole>,
    pub status: ContactStatus,
    /// Who took over when this contact left or changed role.
    pub successor_id: Option<i64>,
    /// The partner that sourced the contact; `None` when the vendor did.
    pub sourced_by_partner_id: Option<i64>,
    /// Shared with every party on the account's deals.
    pub shared: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
