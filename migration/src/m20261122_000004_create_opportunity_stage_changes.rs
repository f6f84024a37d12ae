use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Opportunities {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum OpportunityStageChanges {
    Table,
    Id,
    OpportunityId,
    FromStage,
    ToStage,
    ChangedBy,
    Reason,
    ChangedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OpportunityStageChanges::Table)
                    .col(
                        ColumnDef::new(OpportunityStageChanges::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(OpportunityStageChanges::OpportunityId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OpportunityStageChanges::FromStage)
                            .string()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(OpportunityStageChanges::ToStage)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OpportunityStageChanges::ChangedBy)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OpportunityStageChanges::Reason)
                            .text()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(OpportunityStageChanges::ChangedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_stage_changes_opportunity")
                            .from(
                                OpportunityStageChanges::Table,
                                OpportunityStageChanges::OpportunityId,
                            )
                            .to(Opportunities::Table, Opportunities::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_stage_changes_opportunity")
                    .table(OpportunityStageChanges::Table)
                    .col(OpportunityStageChanges::OpportunityId)
                    .col(OpportunityStageChanges::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(OpportunityStageChanges::Table)
                    .to_owned(),
            )
            .await
    }
}
