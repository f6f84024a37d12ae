//! Webhook endpoints name the partner that registered them as a number: `owner_partner_id`
//! (NULL for the vendor) replaces the `owner_party` text (`vendor` / `partner:<id>`), so no
//! reader parses a party back out of a string.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::TransactionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One connection for the whole change: SQLite connections of a pool each cache the
        // schema, and an index dropped on one must not be found still there by the next.
        let txn = manager.get_connection().begin().await?;
        for sql in [
            "ALTER TABLE webhook_endpoints ADD COLUMN owner_partner_id BIGINT NULL",
            "UPDATE webhook_endpoints SET owner_partner_id = CAST(SUBSTR(owner_party, 9) AS BIGINT)
             WHERE owner_party LIKE 'partner:%'",
            "DROP INDEX ix_webhook_endpoints_owner",
            "ALTER TABLE webhook_endpoints DROP COLUMN owner_party",
            "CREATE INDEX ix_webhook_endpoints_owner ON webhook_endpoints (owner_partner_id, id)",
        ] {
            txn.execute_unprepared(sql).await?;
        }
        txn.commit().await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One connection for the whole change: SQLite connections of a pool each cache the
        // schema, and an index dropped on one must not be found still there by the next.
        let txn = manager.get_connection().begin().await?;
        for sql in [
            "ALTER TABLE webhook_endpoints ADD COLUMN owner_party TEXT NOT NULL DEFAULT 'vendor'",
            "UPDATE webhook_endpoints SET owner_party = 'partner:' || owner_partner_id
             WHERE owner_partner_id IS NOT NULL",
            "DROP INDEX ix_webhook_endpoints_owner",
            "ALTER TABLE webhook_endpoints DROP COLUMN owner_partner_id",
            "CREATE INDEX ix_webhook_endpoints_owner ON webhook_endpoints (owner_party, id)",
        ] {
            txn.execute_unprepared(sql).await?;
        }
        txn.commit().await
    }
}
