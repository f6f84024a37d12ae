//! Webhook endpoints name the partner that registered them as a number: `owner_partner_id`
//! (NULL for the vendor) replaces the `owner_party` text (`vendor` / `partner:<id>`), so no
//! reader parses a party back out of a string.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "ALTER TABLE webhook_endpoints ADD COLUMN owner_partner_id BIGINT NULL",
            "UPDATE webhook_endpoints SET owner_partner_id = CAST(SUBSTR(owner_party, 9) AS BIGINT)
             WHERE owner_party LIKE 'partner:%'",
            "DROP INDEX ix_webhook_endpoints_owner",
            "ALTER TABLE webhook_endpoints DROP COLUMN owner_party",
            "CREATE INDEX ix_webhook_endpoints_owner ON webhook_endpoints (owner_partner_id, id)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "ALTER TABLE webhook_endpoints ADD COLUMN owner_party TEXT NOT NULL DEFAULT 'vendor'",
            "UPDATE webhook_endpoints SET owner_party = 'partner:' || owner_partner_id
             WHERE owner_partner_id IS NOT NULL",
            "DROP INDEX ix_webhook_endpoints_owner",
            "ALTER TABLE webhook_endpoints DROP COLUMN owner_partner_id",
            "CREATE INDEX ix_webhook_endpoints_owner ON webhook_endpoints (owner_party, id)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
