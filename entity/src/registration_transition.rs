//! `registration_transitions`: every status change of a registration, append-only.

use sea_orm::entity::prelude::*;

use crate::enums::RegistrationStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "registration_transitions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub registration_id: i64,
    /// `None` for the creation of the draft.
    pub from_status: Option<RegistrationStatus>,
    pub to_status: RegistrationStatus,
    /// Token subject of who made it, or `policy:*` / `system:*` for automatic transitions.
    pub actor: String,
    /// The partner whose person (or app) made it; `None` for the vendor's people and for
    /// automatic transitions.
    pub actor_partner_id: Option<i64>,
    pub reason: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
