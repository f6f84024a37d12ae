use sea_orm_migration::prelude::*;

/// An email is unique among one party's contacts at an account, not among everyone's: the
/// vendor's records and each partner's are their own. A partner adding a person the vendor or
/// another partner already knows (and it cannot see) gets its own record, so whether it
/// succeeds never tells it that someone else knows that person.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS ux_contacts_account_email")
            .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_contacts_account_owner_email ON contacts \
             (account_id, COALESCE(sourced_by_partner_id, 0), email_key)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS ux_contacts_account_owner_email")
            .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_contacts_account_email ON contacts (account_id, email_key)",
        )
        .await?;
        Ok(())
    }
}
