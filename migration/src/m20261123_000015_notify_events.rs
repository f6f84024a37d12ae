use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// On PostgreSQL, every committed outbox row notifies the `cosell_events` channel with its id,
/// so subscribers on every instance hear of it. The payload is the id alone (far below the
/// 8000-byte limit); listeners read the row from the outbox. SQLite delivers in-process.
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
            "CREATE OR REPLACE FUNCTION cosell_notify_event() RETURNS trigger AS $$
             BEGIN
               PERFORM pg_notify('cosell_events', NEW.id::text);
               RETURN NULL;
             END;
             $$ LANGUAGE plpgsql",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER events_notify AFTER INSERT ON events
             FOR EACH ROW EXECUTE FUNCTION cosell_notify_event()",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS events_notify ON events")
            .await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS cosell_notify_event()")
            .await?;
        Ok(())
    }
}
