use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Engagements {
    Table,
    Id,
    ContactId,
    AccountId,
    PartnerId,
    OpportunityId,
    Kind,
    OccurredOn,
    Sentiment,
    Notes,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Engagements as E;
        manager
            .create_table(
                Table::create()
                    .table(E::Table)
                    .col(
                        ColumnDef::new(E::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(E::ContactId).big_integer().not_null())
                    .col(ColumnDef::new(E::AccountId).big_integer().not_null())
                    .col(ColumnDef::new(E::PartnerId).big_integer().null())
                    .col(ColumnDef::new(E::OpportunityId).big_integer().null())
                    .col(ColumnDef::new(E::Kind).string().not_null())
                    .col(ColumnDef::new(E::OccurredOn).date().not_null())
                    .col(ColumnDef::new(E::Sentiment).string().not_null())
                    .col(ColumnDef::new(E::Notes).text().null())
                    .col(ColumnDef::new(E::CreatedBy).string().not_null())
                    .col(
                        ColumnDef::new(E::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_engagements_contact")
                            .from(E::Table, E::ContactId)
                            .to(Contacts::Table, Contacts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("ix_engagements_account", E::AccountId),
            ("ix_engagements_contact", E::ContactId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(E::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Engagements::Table).to_owned())
            .await
    }
}
