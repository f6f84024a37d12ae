//! `contact_links`: edges of the buying committee's network.

use sea_orm::entity::prelude::*;

use crate::enums::ContactLinkKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contact_links")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub from_contact_id: i64,
    pub to_contact_id: i64,
    pub kind: ContactLinkKind,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
