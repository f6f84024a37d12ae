use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Partners {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
    AccountId,
    Name,
    Email,
    EmailKey,
    Title,
    Department,
    Seniority,
    BuyingRole,
    Status,
    SuccessorId,
    SourcedByPartnerId,
    Shared,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Contacts as C;
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
                    .col(ColumnDef::new(C::AccountId).big_integer().not_null())
                    .col(ColumnDef::new(C::Name).string().not_null())
                    .col(ColumnDef::new(C::Email).string().not_null())
                    .col(ColumnDef::new(C::EmailKey).string().not_null())
                    .col(ColumnDef::new(C::Title).string().null())
                    .col(ColumnDef::new(C::Department).string().null())
                    .col(ColumnDef::new(C::Seniority).string().null())
                    .col(ColumnDef::new(C::BuyingRole).string().null())
                    .col(ColumnDef::new(C::Status).string().not_null())
                    .col(ColumnDef::new(C::SuccessorId).big_integer().null())
                    .col(ColumnDef::new(C::SourcedByPartnerId).big_integer().null())
                    .col(ColumnDef::new(C::Shared).boolean().not_null())
                    .col(ColumnDef::new(C::Version).integer().not_null())
                    .col(
                        ColumnDef::new(C::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(C::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_contacts_account")
                            .from(C::Table, C::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_contacts_partner")
                            .from(C::Table, C::SourcedByPartnerId)
                            .to(Partners::Table, Partners::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_contacts_account_email")
                    .table(C::Table)
                    .col(C::AccountId)
                    .col(C::EmailKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Contacts::Table).to_owned())
            .await
    }
}
