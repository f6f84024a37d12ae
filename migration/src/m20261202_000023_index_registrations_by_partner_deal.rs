//! A partner's claims by deal: `(partner_id, opportunity_id, status)` answers "the deals a
//! partner is on" (its opportunity list, its count, its accounts) from the index alone, in
//! deal order, instead of reading the partner's rows from the table. It replaces the
//! `(partner_id, status)` index, whose lookups it also serves.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_registrations_partner_deal ON registrations \
             (partner_id, opportunity_id, status)",
        )
        .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS ix_registrations_partner")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_registrations_partner ON registrations (partner_id, status)",
        )
        .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS ix_registrations_partner_deal")
            .await?;
        Ok(())
    }
}
