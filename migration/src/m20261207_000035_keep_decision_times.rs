//! Program figures without reading every claim: the time each decision took, kept on the claim
//! and in a tally of how many decisions took how long, so the medians of `programFigures` are
//! found from a few thousand tally rows and the few claims around each middle.
//!
//! - `registrations.decision_seconds`: whole seconds from submission to decision
//!   (`decided_at - submitted_at`, truncated), written by the server with the decision and
//!   filled here for the claims decided before.
//! - Partial indexes on the decisions the figures count (approved, won, lost, expired or
//!   rejected, with a time) by `decision_seconds`, alone, by partner and by role: the claims of
//!   one group in one span of time are read from the index in order. Each ends with
//!   `created_at`, so figures over a window of creation read the index alone.
//! - `decision_tally`: how many counted decisions took a time in each span of
//!   [`BUCKET_SECONDS`] seconds, per partner and role, per partner, per role and overall
//!   (partner 0 stands for every partner, role '' for every role), as append-only rows
//!   (+1/-1 per change) written by triggers in the writer's transaction and folded by the
//!   tally job, as `registration_tally` is.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The width of one span of the decision tally, in seconds (six hours). The server's reads
/// use the same width (`db::registrations::figures`).
pub const BUCKET_SECONDS: i64 = 21_600;

/// The decisions the figures count, as a condition on a claim row `r` (`r.` may be empty).
fn counted(r: &str) -> String {
    format!(
        "{r}decision_seconds IS NOT NULL AND \
         {r}status IN ('APPROVED', 'WON', 'LOST', 'EXPIRED', 'REJECTED')"
    )
}

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
            "ALTER TABLE registrations ADD COLUMN decision_seconds BIGINT NULL".to_string(),
            backfill(pg),
        ];
        for (name, columns) in [
            (
                "ix_registrations_decision_time",
                "decision_seconds, created_at",
            ),
            // The role after the time: a partner's own figures per role read its entries in
            // order too.
            (
                "ix_registrations_decision_time_partner",
                "partner_id, decision_seconds, role, created_at",
            ),
            (
                "ix_registrations_decision_time_role",
                "role, decision_seconds, created_at",
            ),
        ] {
            sql.push(format!(
                "CREATE INDEX {name} ON registrations ({columns}) WHERE {}",
                counted("")
            ));
        }
        sql.push(format!(
            "CREATE TABLE decision_tally (
               {id},
               partner_id BIGINT NOT NULL,
               role VARCHAR NOT NULL,
               bucket BIGINT NOT NULL,
               delta BIGINT NOT NULL
             )"
        ));
        sql.push(
            "CREATE INDEX ix_decision_tally_key ON decision_tally (partner_id, role, bucket)"
                .into(),
        );
        sql.extend(if pg { pg_triggers() } else { sqlite_triggers() });
        sql.push(format!(
            "INSERT INTO decision_tally (partner_id, role, bucket, delta)
             SELECT partner_id, role, bucket, SUM(delta) FROM ({}) c
             GROUP BY partner_id, role, bucket",
            groupings(&format!(
                "SELECT partner_id, role, decision_seconds / {BUCKET_SECONDS} AS bucket, \
                 1 AS delta FROM registrations WHERE {}",
                counted("")
            ))
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
        for event in ["insert", "update", "delete"] {
            sql.push(if pg {
                format!("DROP TRIGGER IF EXISTS decision_tally_{event} ON registrations")
            } else {
                format!("DROP TRIGGER IF EXISTS decision_tally_{event}")
            });
        }
        if pg {
            sql.push("DROP FUNCTION IF EXISTS decision_tally_keep()".into());
        }
        sql.push("DROP TABLE IF EXISTS decision_tally".into());
        for index in [
            "ix_registrations_decision_time",
            "ix_registrations_decision_time_partner",
            "ix_registrations_decision_time_role",
        ] {
            sql.push(format!("DROP INDEX IF EXISTS {index}"));
        }
        sql.push("ALTER TABLE registrations DROP COLUMN decision_seconds".into());
        for s in sql {
            db.execute_unprepared(&s).await?;
        }
        Ok(())
    }
}

/// Fills `decision_seconds` of the claims decided before: the whole seconds of
/// `decided_at - submitted_at`, truncated as the server truncates them. SQLite keeps times as
/// RFC 3339 text (`…T21:36:25.123456789+00:00`): whole seconds from `strftime('%s')`, less one
/// when the decision's fraction of a second is below the submission's.
fn backfill(pg: bool) -> String {
    let seconds = if pg {
        "CAST(trunc(EXTRACT(EPOCH FROM decided_at - submitted_at)) AS BIGINT)".to_string()
    } else {
        let fraction = |c: &str| {
            format!(
                "substr(CASE WHEN substr({c}, 20, 1) = '.' \
                 THEN substr({c}, 21, instr(substr({c}, 21), '+') - 1) ELSE '' END \
                 || '000000000', 1, 9)"
            )
        };
        format!(
            "CAST(strftime('%s', decided_at) AS INTEGER) \
             - CAST(strftime('%s', submitted_at) AS INTEGER) \
             - ({} < {})",
            fraction("decided_at"),
            fraction("submitted_at")
        )
    };
    format!(
        "UPDATE registrations SET decision_seconds = {seconds} \
         WHERE decided_at IS NOT NULL AND submitted_at IS NOT NULL"
    )
}

/// The four groupings of each change in `changes` (columns partner_id, role, bucket, delta):
/// per partner and role, per partner (role ''), per role (partner 0) and overall.
fn groupings(changes: &str) -> String {
    format!(
        "SELECT c.partner_id, c.role, c.bucket, c.delta FROM ({changes}) c
         UNION ALL SELECT c.partner_id, '', c.bucket, c.delta FROM ({changes}) c
         UNION ALL SELECT 0, c.role, c.bucket, c.delta FROM ({changes}) c
         UNION ALL SELECT 0, '', c.bucket, c.delta FROM ({changes}) c"
    )
}

/// A statement-level trigger over the transition tables for INSERT, UPDATE and DELETE of
/// claims (PostgreSQL): one grouped row per key and statement.
fn pg_triggers() -> Vec<String> {
    let changes = |rows: &str, delta: i32| {
        format!(
            "SELECT partner_id, role, decision_seconds / {BUCKET_SECONDS} AS bucket, \
             {delta} AS delta FROM {rows} WHERE {}",
            counted("")
        )
    };
    let apply = |changes: String| {
        format!(
            "INSERT INTO decision_tally (partner_id, role, bucket, delta)
             SELECT partner_id, role, bucket, SUM(delta) FROM ({}) g
             GROUP BY partner_id, role, bucket HAVING SUM(delta) <> 0;",
            groupings(&changes)
        )
    };
    let (old, new) = (changes("old_rows", -1), changes("new_rows", 1));
    let mut out = vec![format!(
        "CREATE FUNCTION decision_tally_keep() RETURNS trigger AS $$
         BEGIN
           IF TG_OP = 'INSERT' THEN {}
           ELSIF TG_OP = 'UPDATE' THEN {}
           ELSE {}
           END IF;
           RETURN NULL;
         END $$ LANGUAGE plpgsql",
        apply(new.clone()),
        apply(format!("{old} UNION ALL {new}")),
        apply(old.clone()),
    )];
    for (event, referencing) in [
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ] {
        out.push(format!(
            "CREATE TRIGGER decision_tally_{} AFTER {event} ON registrations
             REFERENCING {referencing}
             FOR EACH STATEMENT EXECUTE FUNCTION decision_tally_keep()",
            event.to_lowercase()
        ));
    }
    out
}

/// Row triggers keeping the decision tally (SQLite).
fn sqlite_triggers() -> Vec<String> {
    let tally = |row: &str, delta: i32| {
        format!(
            "INSERT INTO decision_tally (partner_id, role, bucket, delta)
             SELECT CASE WHEN g.column1 THEN {row}.partner_id ELSE 0 END,
                    CASE WHEN g.column2 THEN {row}.role ELSE '' END,
                    {row}.decision_seconds / {BUCKET_SECONDS}, {delta}
             FROM (VALUES (1, 1), (1, 0), (0, 1), (0, 0)) g WHERE {};",
            counted(&format!("{row}."))
        )
    };
    vec![
        format!(
            "CREATE TRIGGER decision_tally_insert AFTER INSERT ON registrations
             BEGIN {} END",
            tally("NEW", 1)
        ),
        format!(
            "CREATE TRIGGER decision_tally_delete AFTER DELETE ON registrations
             BEGIN {} END",
            tally("OLD", -1)
        ),
        format!(
            "CREATE TRIGGER decision_tally_update
             AFTER UPDATE OF partner_id, role, status, decision_seconds ON registrations
             WHEN OLD.partner_id IS NOT NEW.partner_id OR OLD.role IS NOT NEW.role
               OR OLD.status IS NOT NEW.status
               OR OLD.decision_seconds IS NOT NEW.decision_seconds
             BEGIN {} {} END",
            tally("OLD", -1),
            tally("NEW", 1)
        ),
    ]
}
