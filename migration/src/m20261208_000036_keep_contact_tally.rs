//! `contact_tally`: how many contacts there are per source (the partner that sourced them, 0
//! for the vendor's own), kept as append-only rows (+1/-1 per change, written by triggers in
//! the writer's transaction, so no writer waits on another's counter) and folded by the tally
//! job, so the vendor's whole contact list is counted from a few hundred rows instead of
//! every contact.
//!
//! PostgreSQL keeps it with statement-level triggers over transition tables (a bulk insert
//! adds one grouped row per source, not one per contact); SQLite with row triggers.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A contact's source as the tally keys it.
const SOURCE: &str = "COALESCE(sourced_by_partner_id, 0)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let pg = manager.get_database_backend() == DbBackend::Postgres;
        let id = if pg {
            "id BIGSERIAL PRIMARY KEY"
        } else {
            "id INTEGER PRIMARY KEY AUTOINCREMENT"
        };
        let mut sql = vec![
            format!(
                "CREATE TABLE contact_tally (
                   {id},
                   sourced_by BIGINT NOT NULL,
                   delta BIGINT NOT NULL
                 )"
            ),
            "CREATE INDEX ix_contact_tally_key ON contact_tally (sourced_by)".to_string(),
        ];
        sql.extend(if pg { pg_triggers() } else { sqlite_triggers() });
        sql.push(format!(
            "INSERT INTO contact_tally (sourced_by, delta)
             SELECT {SOURCE}, COUNT(*) FROM contacts GROUP BY {SOURCE}"
        ));
        for s in sql {
            db.execute_unprepared(&s).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let pg = manager.get_database_backend() == DbBackend::Postgres;
        let mut sql = Vec::new();
        for trigger in [
            "contact_tally_insert",
            "contact_tally_update",
            "contact_tally_delete",
        ] {
            sql.push(if pg {
                format!("DROP TRIGGER IF EXISTS {trigger} ON contacts")
            } else {
                format!("DROP TRIGGER IF EXISTS {trigger}")
            });
        }
        if pg {
            sql.push("DROP FUNCTION IF EXISTS contact_tally_keep()".into());
        }
        sql.push("DROP TABLE IF EXISTS contact_tally".into());
        for s in sql {
            db.execute_unprepared(&s).await?;
        }
        Ok(())
    }
}

/// One statement-level function for INSERT, UPDATE and DELETE of contacts, reading the
/// transition tables (`old_rows` with -1, `new_rows` with +1); an update that keeps every
/// contact's source adds nothing. PostgreSQL does not allow a column list on a trigger with
/// transition tables, so the update trigger fires on every update and finds nothing to add.
fn pg_triggers() -> Vec<String> {
    let changes =
        |rows: &str, delta: i32| format!("SELECT {SOURCE} AS s, {delta} AS d FROM {rows}");
    let apply = |changes: String| {
        format!(
            "INSERT INTO contact_tally (sourced_by, delta)
             SELECT s, SUM(d) FROM ({changes}) c GROUP BY s HAVING SUM(d) <> 0;"
        )
    };
    let (old, new) = (changes("old_rows", -1), changes("new_rows", 1));
    vec![
        format!(
            "CREATE FUNCTION contact_tally_keep() RETURNS trigger AS $$
             BEGIN
               IF TG_OP = 'INSERT' THEN {}
               ELSIF TG_OP = 'DELETE' THEN {}
               ELSE {}
               END IF;
               RETURN NULL;
             END $$ LANGUAGE plpgsql",
            apply(new.clone()),
            apply(old.clone()),
            apply(format!("{old} UNION ALL {new}")),
        ),
        "CREATE TRIGGER contact_tally_insert AFTER INSERT ON contacts
         REFERENCING NEW TABLE AS new_rows
         FOR EACH STATEMENT EXECUTE FUNCTION contact_tally_keep()"
            .into(),
        "CREATE TRIGGER contact_tally_delete AFTER DELETE ON contacts
         REFERENCING OLD TABLE AS old_rows
         FOR EACH STATEMENT EXECUTE FUNCTION contact_tally_keep()"
            .into(),
        "CREATE TRIGGER contact_tally_update AFTER UPDATE ON contacts
         REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
         FOR EACH STATEMENT EXECUTE FUNCTION contact_tally_keep()"
            .into(),
    ]
}

/// Row triggers (SQLite): a contact added or removed, or moved to another source.
fn sqlite_triggers() -> Vec<String> {
    let row = |r: &str, delta: i32| {
        format!(
            "INSERT INTO contact_tally (sourced_by, delta)
             VALUES (COALESCE({r}.sourced_by_partner_id, 0), {delta});"
        )
    };
    vec![
        format!(
            "CREATE TRIGGER contact_tally_insert AFTER INSERT ON contacts BEGIN {} END",
            row("NEW", 1)
        ),
        format!(
            "CREATE TRIGGER contact_tally_delete AFTER DELETE ON contacts BEGIN {} END",
            row("OLD", -1)
        ),
        format!(
            "CREATE TRIGGER contact_tally_update AFTER UPDATE OF sourced_by_partner_id ON contacts
             WHEN OLD.sourced_by_partner_id IS NOT NEW.sourced_by_partner_id
             BEGIN {} {} END",
            row("OLD", -1),
            row("NEW", 1)
        ),
    ]
}
