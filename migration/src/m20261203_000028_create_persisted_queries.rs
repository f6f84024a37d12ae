//! Documents registered by automatic persisted queries, by the SHA-256 of their text, so that
//! every instance can run a document any of them was sent. Bounded: the oldest rows (lowest
//! `id`) are deleted past the configured maximum.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let pg = manager.get_database_backend() == DbBackend::Postgres;
        manager
            .get_connection()
            .execute_unprepared(if pg {
                "CREATE TABLE persisted_queries (
                   id BIGSERIAL PRIMARY KEY,
                   hash VARCHAR(64) NOT NULL UNIQUE,
                   document TEXT NOT NULL,
                   created_at TIMESTAMPTZ NOT NULL DEFAULT now()
                 )"
            } else {
                "CREATE TABLE persisted_queries (
                   id INTEGER PRIMARY KEY AUTOINCREMENT,
                   hash VARCHAR(64) NOT NULL UNIQUE,
                   document TEXT NOT NULL,
                   created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
                 )"
            })
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS persisted_queries")
            .await?;
        Ok(())
    }
}
