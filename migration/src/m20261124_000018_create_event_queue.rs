use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// On PostgreSQL, writers append events to `event_queue` in their own transaction, without any
/// program-wide lock; a relay moves committed rows into `events`, one relay at a time, so that
/// event ids become visible in order (see `src/db/events.rs`). Each insert notifies
/// `cosell_event_queue` so a relay runs at once. SQLite writes `events` directly: it has one
/// writer at a time.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE event_queue (
               id BIGSERIAL PRIMARY KEY,
               topic VARCHAR NOT NULL,
               audience JSON NOT NULL,
               subject_id VARCHAR NOT NULL,
               actor VARCHAR NOT NULL,
               payload JSON NOT NULL,
               created_at TIMESTAMPTZ NOT NULL
             )",
        )
        .await?;
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION cosell_notify_event_queue() RETURNS trigger AS $$
             BEGIN
               PERFORM pg_notify('cosell_event_queue', '');
               RETURN NULL;
             END;
             $$ LANGUAGE plpgsql",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER event_queue_notify AFTER INSERT ON event_queue
             FOR EACH STATEMENT EXECUTE FUNCTION cosell_notify_event_queue()",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("DROP TABLE IF EXISTS event_queue")
            .await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS cosell_notify_event_queue()")
            .await?;
        Ok(())
    }
}
