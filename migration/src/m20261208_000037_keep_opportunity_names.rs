//! `opportunity_names`: each opportunity's name as the `nameContains` search compares it
//! (`lower(name)`), one narrow row per deal kept by row triggers on opportunities in the
//! writer's transaction. A search's `totalCount` reads every match to count it; counted here
//! it visits a few narrow rows per page instead of the deals' wide rows, with no `lower()`
//! per row. On PostgreSQL with `pg_trgm` (installed by migration 34 where it can be), a
//! trigram index on the kept name finds the matches; SQLite reads the narrow table.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let pg = manager.get_database_backend() == DbBackend::Postgres;
        let mut sql = vec![
            "CREATE TABLE opportunity_names (
               opportunity_id BIGINT NOT NULL PRIMARY KEY,
               name_key VARCHAR NOT NULL
             )"
            .to_string(),
            "INSERT INTO opportunity_names (opportunity_id, name_key)
             SELECT id, lower(name) FROM opportunities"
                .into(),
        ];
        sql.extend(if pg { pg_triggers() } else { sqlite_triggers() });
        for s in sql {
            db.execute_unprepared(&s).await?;
        }
        if pg && trigram_installed(db).await? {
            db.execute_unprepared(
                "CREATE INDEX ix_opportunity_names_trgm ON opportunity_names \
                 USING gin (name_key gin_trgm_ops)",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let pg = manager.get_database_backend() == DbBackend::Postgres;
        let mut sql = Vec::new();
        for trigger in [
            "opportunity_names_insert",
            "opportunity_names_update",
            "opportunity_names_delete",
        ] {
            sql.push(if pg {
                format!("DROP TRIGGER IF EXISTS {trigger} ON opportunities")
            } else {
                format!("DROP TRIGGER IF EXISTS {trigger}")
            });
        }
        if pg {
            sql.push("DROP FUNCTION IF EXISTS opportunity_names_keep()".into());
        }
        sql.push("DROP TABLE IF EXISTS opportunity_names".into());
        for s in sql {
            db.execute_unprepared(&s).await?;
        }
        Ok(())
    }
}

/// One row function for a deal added, renamed or removed (PostgreSQL).
fn pg_triggers() -> Vec<String> {
    vec![
        "CREATE FUNCTION opportunity_names_keep() RETURNS trigger AS $$
         BEGIN
           IF TG_OP = 'DELETE' THEN
             DELETE FROM opportunity_names WHERE opportunity_id = OLD.id;
           ELSE
             INSERT INTO opportunity_names (opportunity_id, name_key)
             VALUES (NEW.id, lower(NEW.name))
             ON CONFLICT (opportunity_id) DO UPDATE SET name_key = EXCLUDED.name_key;
           END IF;
           RETURN NULL;
         END $$ LANGUAGE plpgsql"
            .into(),
        "CREATE TRIGGER opportunity_names_insert AFTER INSERT ON opportunities
         FOR EACH ROW EXECUTE FUNCTION opportunity_names_keep()"
            .into(),
        "CREATE TRIGGER opportunity_names_update AFTER UPDATE OF name ON opportunities
         FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
         EXECUTE FUNCTION opportunity_names_keep()"
            .into(),
        "CREATE TRIGGER opportunity_names_delete AFTER DELETE ON opportunities
         FOR EACH ROW EXECUTE FUNCTION opportunity_names_keep()"
            .into(),
    ]
}

/// The same as row triggers (SQLite).
fn sqlite_triggers() -> Vec<String> {
    vec![
        "CREATE TRIGGER opportunity_names_insert AFTER INSERT ON opportunities BEGIN
           INSERT INTO opportunity_names (opportunity_id, name_key)
           VALUES (NEW.id, lower(NEW.name));
         END"
        .into(),
        "CREATE TRIGGER opportunity_names_update AFTER UPDATE OF name ON opportunities
         WHEN OLD.name IS NOT NEW.name BEGIN
           UPDATE opportunity_names SET name_key = lower(NEW.name)
           WHERE opportunity_id = NEW.id;
         END"
        .into(),
        "CREATE TRIGGER opportunity_names_delete AFTER DELETE ON opportunities BEGIN
           DELETE FROM opportunity_names WHERE opportunity_id = OLD.id;
         END"
        .into(),
    ]
}

/// Whether `pg_trgm` is installed in this database.
async fn trigram_installed<C: ConnectionTrait>(db: &C) -> Result<bool, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') AS installed",
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get("", "installed")?,
        None => false,
    })
}
