use sea_orm_migration::prelude::*;

/// One row recording how far the retention job has pruned the outbox, so a resume cursor
/// older than that is refused instead of silently skipping what was pruned.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EventRetention {
    Table,
    Id,
    PrunedThrough,
    PrunedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EventRetention::Table)
                    .col(
                        ColumnDef::new(EventRetention::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(EventRetention::PrunedThrough)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EventRetention::PrunedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EventRetention::Table).to_owned())
            .await
    }
}
