use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Registrations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RegistrationTransitions {
    Table,
    Id,
    RegistrationId,
    FromStatus,
    ToStatus,
    Actor,
    Reason,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use RegistrationTransitions as T;
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(
                        ColumnDef::new(T::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(T::RegistrationId).big_integer().not_null())
                    .col(ColumnDef::new(T::FromStatus).string().null())
                    .col(ColumnDef::new(T::ToStatus).string().not_null())
                    .col(ColumnDef::new(T::Actor).string().not_null())
                    .col(ColumnDef::new(T::Reason).text().null())
                    .col(ColumnDef::new(T::At).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_transitions_registration")
                            .from(T::Table, T::RegistrationId)
                            .to(Registrations::Table, Registrations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_transitions_registration")
                    .table(T::Table)
                    .col(T::RegistrationId)
                    .col(T::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(RegistrationTransitions::Table)
                    .to_owned(),
            )
            .await
    }
}
