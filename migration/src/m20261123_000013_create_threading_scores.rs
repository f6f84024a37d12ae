use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ThreadingScores {
    Table,
    OpportunityId,
    Score,
    UpdatedAt,
}

/// The last threading score of each open opportunity, so a drop below the risky threshold
/// can be told as an event.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ThreadingScores::Table)
                    .col(
                        ColumnDef::new(ThreadingScores::OpportunityId)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ThreadingScores::Score).integer().not_null())
                    .col(
                        ColumnDef::new(ThreadingScores::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ThreadingScores::Table).to_owned())
            .await
    }
}
