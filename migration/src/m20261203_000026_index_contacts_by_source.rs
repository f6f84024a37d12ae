//! The contacts a partner sourced, in id order: `(sourced_by_partner_id, id)` serves a
//! partner's page of the contact list (its own contacts, alongside those shared at its deals'
//! accounts, which the account index serves) without reading other parties' contacts.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_contacts_sourced_by ON contacts (sourced_by_partner_id, id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS ix_contacts_sourced_by")
            .await?;
        Ok(())
    }
}
