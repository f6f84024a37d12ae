//! `opportunity_stage_changes`: the append-only stage history of each opportunity.

use sea_orm::entity::prelude::*;

use crate::enums::OpportunityStage;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "opportunity_stage_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub opportunity_id: i64,
    /// `None` for the entry written when the opportunity was created.
    pub from_stage: Option<OpportunityStage>,
    pub to_stage: OpportunityStage,
    /// Subject of the principal who made the change.
    pub changed_by: String,
    pub reason: Option<String>,
    pub changed_at: DateTimeUtc,
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
