use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Who hears of each event, one row per audience tag (`vendor`, `partner:<id>`), so a reader's
/// events are found through an index on (party, event id) instead of a scan of every party's
/// events. Filled from the events already recorded.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE event_audiences (
               party VARCHAR NOT NULL,
               event_id BIGINT NOT NULL,
               PRIMARY KEY (party, event_id)
             )",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_event_audiences_event ON event_audiences (event_id)",
        )
        .await?;
        let backfill = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "INSERT INTO event_audiences (party, event_id)
                 SELECT DISTINCT json_array_elements_text(audience), id FROM events"
            }
            _ => {
                "INSERT INTO event_audiences (party, event_id)
                 SELECT DISTINCT j.value, e.id FROM events e, json_each(e.audience) j"
            }
        };
        db.execute_unprepared(backfill).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS event_audiences")
            .await?;
        Ok(())
    }
}
