use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Writers no longer notify when they queue an event: each instance relays its own writers'
/// events as they commit, and a `NOTIFY` makes PostgreSQL serialise the commits of every
/// transaction that sent one, which is every writer of the program.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS event_queue_notify ON event_queue")
            .await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS cosell_notify_event_queue()")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
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
}
