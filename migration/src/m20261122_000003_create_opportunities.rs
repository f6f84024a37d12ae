use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Opportunities {
    Table,
    Id,
    AccountId,
    Name,
    Stage,
    AmountMinor,
    Currency,
    ExpectedCloseDate,
    Owner,
    Region,
    Products,
    ForecastNotes,
    Probability,
    Version,
    CreatedAt,
    UpdatedAt,
    ClosedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Opportunities::Table)
                    .col(
                        ColumnDef::new(Opportunities::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Opportunities::AccountId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Opportunities::Name).string().not_null())
                    .col(ColumnDef::new(Opportunities::Stage).string().not_null())
                    .col(
                        ColumnDef::new(Opportunities::AmountMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Opportunities::Currency)
                            .string_len(3)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Opportunities::ExpectedCloseDate)
                            .date()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Opportunities::Owner).string().not_null())
                    .col(ColumnDef::new(Opportunities::Region).string().null())
                    .col(ColumnDef::new(Opportunities::Products).json().not_null())
                    .col(ColumnDef::new(Opportunities::ForecastNotes).text().null())
                    .col(ColumnDef::new(Opportunities::Probability).integer().null())
                    .col(ColumnDef::new(Opportunities::Version).integer().not_null())
                    .col(
                        ColumnDef::new(Opportunities::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Opportunities::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Opportunities::ClosedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_opportunities_account")
                            .from(Opportunities::Table, Opportunities::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("ix_opportunities_account", Opportunities::AccountId),
            ("ix_opportunities_stage", Opportunities::Stage),
            (
                "ix_opportunities_close_date",
                Opportunities::ExpectedCloseDate,
            ),
            ("ix_opportunities_amount", Opportunities::AmountMinor),
            ("ix_opportunities_owner", Opportunities::Owner),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Opportunities::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Opportunities::Table).to_owned())
            .await
    }
}
