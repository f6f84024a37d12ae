use sea_orm_migration::prelude::*;

/// Keys that find accounts by a near-identical name with an index, for the direct-deal overlap
/// check of a proposed deal, instead of comparing the name with every account. The server
/// fills them for accounts that have none at start-up and keeps them with each name.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AccountNameKeys {
    Table,
    Key,
    AccountId,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccountNameKeys::Table)
                    .col(ColumnDef::new(AccountNameKeys::Key).string().not_null())
                    .col(
                        ColumnDef::new(AccountNameKeys::AccountId)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(AccountNameKeys::Key)
                            .col(AccountNameKeys::AccountId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccountNameKeys::Table, AccountNameKeys::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_account_name_keys_account")
                    .table(AccountNameKeys::Table)
                    .col(AccountNameKeys::AccountId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccountNameKeys::Table).to_owned())
            .await
    }
}
