//! Contacts by last change: `(updated_at, id)` serves an incremental sync's
//! `contacts(filter: { updatedSince })`, which reads the few contacts changed since its last
//! run instead of walking every contact the caller may see.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("CREATE INDEX ix_contacts_updated_at ON contacts (updated_at, id)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS ix_contacts_updated_at")
            .await?;
        Ok(())
    }
}
