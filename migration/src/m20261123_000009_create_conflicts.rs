use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Registrations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Conflicts {
    Table,
    Id,
    Kind,
    RegistrationId,
    OtherRegistrationId,
    OpportunityId,
    Status,
    Resolution,
    WinnerRegistrationId,
    ResolvedBy,
    ResolutionReason,
    ResolvedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Conflicts as C;
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(
                        ColumnDef::new(C::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(C::Kind).string().not_null())
                    .col(ColumnDef::new(C::RegistrationId).big_integer().not_null())
                    .col(ColumnDef::new(C::OtherRegistrationId).big_integer().null())
                    .col(ColumnDef::new(C::OpportunityId).big_integer().null())
                    .col(ColumnDef::new(C::Status).string().not_null())
                    .col(ColumnDef::new(C::Resolution).string().null())
                    .col(ColumnDef::new(C::WinnerRegistrationId).big_integer().null())
                    .col(ColumnDef::new(C::ResolvedBy).string().null())
                    .col(ColumnDef::new(C::ResolutionReason).text().null())
                    .col(
                        ColumnDef::new(C::ResolvedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(C::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_conflicts_registration")
                            .from(C::Table, C::RegistrationId)
                            .to(Registrations::Table, Registrations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_conflicts_registration")
                    .table(C::Table)
                    .col(C::RegistrationId)
                    .col(C::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Conflicts::Table).to_owned())
            .await
    }
}
