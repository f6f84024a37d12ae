//! `partners`: organisations in the vendor's partner program.

use sea_orm::entity::prelude::*;

use crate::enums::{PartnerStatus, PartnerTier};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partners")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub tier: PartnerTier,
    pub status: PartnerStatus,
    /// JSON array of specialisation labels.
    pub specialisations: Json,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
