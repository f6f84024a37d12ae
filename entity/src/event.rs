//! `events`: the append-only outbox. Every state change writes one row in its own transaction;
//! subscriptions and audit history read from here.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    /// Monotonic outbox id; the cursor of event streams.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Dotted name of what happened, e.g. `opportunity.stage_changed`.
    pub topic: String,
    /// JSON array of audience tags: `"vendor"` and `"partner:<id>"`.
    pub audience: Json,
    /// The global id of the object the event is about.
    pub subject_id: String,
    /// Subject of the principal that caused the event.
    pub actor: String,
    pub payload: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
