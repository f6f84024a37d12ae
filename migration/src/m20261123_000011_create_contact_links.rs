use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ContactLinks {
    Table,
    Id,
    AccountId,
    FromContactId,
    ToContactId,
    Kind,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ContactLinks as L;
        manager
            .create_table(
                Table::create()
                    .table(L::Table)
                    .col(
                        ColumnDef::new(L::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(L::AccountId).big_integer().not_null())
                    .col(ColumnDef::new(L::FromContactId).big_integer().not_null())
                    .col(ColumnDef::new(L::ToContactId).big_integer().not_null())
                    .col(ColumnDef::new(L::Kind).string().not_null())
                    .col(ColumnDef::new(L::CreatedBy).string().not_null())
                    .col(
                        ColumnDef::new(L::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_links_from")
                            .from(L::Table, L::FromContactId)
                            .to(Contacts::Table, Contacts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_links_to")
                            .from(L::Table, L::ToContactId)
                            .to(Contacts::Table, Contacts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_contact_links")
                    .table(L::Table)
                    .col(L::FromContactId)
                    .col(L::ToContactId)
                    .col(L::Kind)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_contact_links_account")
                    .table(L::Table)
                    .col(L::AccountId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ContactLinks::Table).to_owned())
            .await
    }
}
