//! How many opportunities are in each stage, kept as an append-only tally so that the vendor's
//! whole list (or a list filtered by stage) is counted from a handful of rows, not by scanning
//! every opportunity. Triggers add a row per change (+1 for a new deal, -1/+1 for a stage
//! move, -1 for a deleted one), so no writer waits on another's counter; the tally job folds
//! the rows into one per stage from time to time. Filled from the opportunities already there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let pg = manager.get_database_backend() == DbBackend::Postgres;
        db.execute_unprepared(if pg {
            "CREATE TABLE opportunity_tally (
               id BIGSERIAL PRIMARY KEY,
               stage VARCHAR NOT NULL,
               delta BIGINT NOT NULL
             )"
        } else {
            "CREATE TABLE opportunity_tally (
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               stage VARCHAR NOT NULL,
               delta BIGINT NOT NULL
             )"
        })
        .await?;
        if pg {
            db.execute_unprepared(
                "CREATE FUNCTION opportunity_tally() RETURNS trigger AS $$
                 BEGIN
                   IF TG_OP IN ('UPDATE', 'DELETE') THEN
                     INSERT INTO opportunity_tally (stage, delta) VALUES (OLD.stage, -1);
                   END IF;
                   IF TG_OP IN ('INSERT', 'UPDATE') THEN
                     INSERT INTO opportunity_tally (stage, delta) VALUES (NEW.stage, 1);
                   END IF;
                   RETURN NULL;
                 END $$ LANGUAGE plpgsql",
            )
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER opportunity_tally_insert_delete
                 AFTER INSERT OR DELETE ON opportunities
                 FOR EACH ROW EXECUTE FUNCTION opportunity_tally()",
            )
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER opportunity_tally_stage
                 AFTER UPDATE OF stage ON opportunities
                 FOR EACH ROW WHEN (OLD.stage IS DISTINCT FROM NEW.stage)
                 EXECUTE FUNCTION opportunity_tally()",
            )
            .await?;
        } else {
            for sql in [
                "CREATE TRIGGER opportunity_tally_insert AFTER INSERT ON opportunities
                 BEGIN INSERT INTO opportunity_tally (stage, delta) VALUES (NEW.stage, 1); END",
                "CREATE TRIGGER opportunity_tally_delete AFTER DELETE ON opportunities
                 BEGIN INSERT INTO opportunity_tally (stage, delta) VALUES (OLD.stage, -1); END",
                "CREATE TRIGGER opportunity_tally_stage AFTER UPDATE OF stage ON opportunities
                 WHEN OLD.stage IS NOT NEW.stage
                 BEGIN
                   INSERT INTO opportunity_tally (stage, delta) VALUES (OLD.stage, -1);
                   INSERT INTO opportunity_tally (stage, delta) VALUES (NEW.stage, 1);
                 END",
            ] {
                db.execute_unprepared(sql).await?;
            }
        }
        db.execute_unprepared(
            "INSERT INTO opportunity_tally (stage, delta)
             SELECT stage, COUNT(*) FROM opportunities GROUP BY stage",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "DROP TRIGGER IF EXISTS opportunity_tally_stage ON opportunities",
            )
            .await?;
            db.execute_unprepared(
                "DROP TRIGGER IF EXISTS opportunity_tally_insert_delete ON opportunities",
            )
            .await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS opportunity_tally()")
                .await?;
        } else {
            for t in [
                "opportunity_tally_insert",
                "opportunity_tally_delete",
                "opportunity_tally_stage",
            ] {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {t}"))
                    .await?;
            }
        }
        db.execute_unprepared("DROP TABLE IF EXISTS opportunity_tally")
            .await?;
        Ok(())
    }
}
