//! Reads that answer in milliseconds at a million registrations:
//!
//! - The review queue in its own order: partial indexes on the claims waiting for the vendor
//!   (SUBMITTED, UNDER_REVIEW) by `(submitted_at, id)`, and by partner and by role before it,
//!   so a page of the queue (whole, or narrowed to a partner or a role) reads its 50 rows from
//!   the index instead of sorting every waiting claim.
//! - `registration_tally`: how many claims there are per partner, role, status and whether
//!   they were submitted, kept as append-only rows (+1/-1 per change, written by triggers in
//!   the writer's transaction, so no writer waits on another's counter) and folded from time
//!   to time, so the queue and the registration lists are counted from a few thousand rows,
//!   not by reading every claim.
//! - `partner_accounts`: the customers each partner is on (through a sent claim on a deal at
//!   the account, `SEES_DEAL` in the scope module) with the number of such claims, kept by
//!   triggers on registrations (and on an opportunity moving to another account). A partner's
//!   view of accounts and contacts reads its few thousand rows instead of joining every claim
//!   to its deal.
//! - `account_shared_contacts`: how many shared contacts each account has, kept by triggers
//!   on contacts, with an index of the shared contacts by their source, so a partner's whole
//!   contact list is counted from its accounts rather than from every shared contact.
//! - PostgreSQL only: a trigram index (`pg_trgm`) on `lower(name)` of opportunities, which
//!   serves the `nameContains` search (`lower(name) LIKE '%…%'`). SQLite has no such index and
//!   searches by reading the names. Where the extension cannot be installed (not available, or
//!   no right to create it), the index is left out and searches read the names there too.
//!
//! PostgreSQL keeps the derived tables with statement-level triggers over transition tables
//! (a bulk insert adds one grouped row per key, not one per claim); SQLite with row triggers.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The statuses of a claim waiting for the vendor (`AWAITING_VENDOR`).
const AWAITING: &str = "('SUBMITTED', 'UNDER_REVIEW')";

/// The statuses in which a claim puts its partner on its deal (`SEES_DEAL` in the scope
/// module; the agreement tests read accounts and contacts through this table).
const SEES_DEAL: &str =
    "('SUBMITTED', 'UNDER_REVIEW', 'NEEDS_INFO', 'APPROVED', 'WON', 'LOST', 'EXPIRED')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let pg = manager.get_database_backend() == DbBackend::Postgres;
        for sql in queue_indexes().iter().chain(&tables(pg)) {
            db.execute_unprepared(sql).await?;
        }
        let triggers = if pg { pg_triggers() } else { sqlite_triggers() };
        for sql in triggers.iter().chain(&fills()) {
            db.execute_unprepared(sql).await?;
        }
        if pg && trigram_possible(manager).await? {
            db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                .await?;
            db.execute_unprepared(
                "CREATE INDEX ix_opportunities_name_trgm ON opportunities \
                 USING gin (lower(name) gin_trgm_ops)",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let pg = manager.get_database_backend() == DbBackend::Postgres;
        let mut sql = vec!["DROP INDEX IF EXISTS ix_opportunities_name_trgm".to_string()];
        if pg {
            for (trigger, table) in [
                ("registration_tally_insert", "registrations"),
                ("registration_tally_update", "registrations"),
                ("registration_tally_delete", "registrations"),
                ("partner_accounts_insert", "registrations"),
                ("partner_accounts_update", "registrations"),
                ("partner_accounts_delete", "registrations"),
                ("partner_accounts_moved", "opportunities"),
                ("account_shared_contacts_insert", "contacts"),
                ("account_shared_contacts_update", "contacts"),
                ("account_shared_contacts_delete", "contacts"),
            ] {
                sql.push(format!("DROP TRIGGER IF EXISTS {trigger} ON {table}"));
            }
            for f in [
                "registration_tally_keep",
                "partner_accounts_keep",
                "partner_accounts_moved",
                "account_shared_contacts_keep",
            ] {
                sql.push(format!("DROP FUNCTION IF EXISTS {f}()"));
            }
        } else {
            for trigger in [
                "registration_tally_insert",
                "registration_tally_update",
                "registration_tally_delete",
                "partner_accounts_insert",
                "partner_accounts_update",
                "partner_accounts_delete",
                "partner_accounts_moved",
                "account_shared_contacts_insert",
                "account_shared_contacts_update",
                "account_shared_contacts_delete",
            ] {
                sql.push(format!("DROP TRIGGER IF EXISTS {trigger}"));
            }
        }
        for table in [
            "registration_tally",
            "partner_accounts",
            "account_shared_contacts",
        ] {
            sql.push(format!("DROP TABLE IF EXISTS {table}"));
        }
        for index in [
            "ix_registrations_queue",
            "ix_registrations_queue_partner",
            "ix_registrations_queue_role",
            "ix_contacts_shared_by",
        ] {
            sql.push(format!("DROP INDEX IF EXISTS {index}"));
        }
        for s in sql {
            db.execute_unprepared(&s).await?;
        }
        Ok(())
    }
}

fn queue_indexes() -> Vec<String> {
    vec![
        format!(
            "CREATE INDEX ix_registrations_queue ON registrations (submitted_at, id) \
             WHERE status IN {AWAITING}"
        ),
        format!(
            "CREATE INDEX ix_registrations_queue_partner ON registrations \
             (partner_id, submitted_at, id) WHERE status IN {AWAITING}"
        ),
        format!(
            "CREATE INDEX ix_registrations_queue_role ON registrations \
             (role, submitted_at, id) WHERE status IN {AWAITING}"
        ),
        "CREATE INDEX ix_contacts_shared_by ON contacts (sourced_by_partner_id, account_id) \
         WHERE shared"
            .to_string(),
    ]
}

fn tables(pg: bool) -> Vec<String> {
    let id = if pg {
        "id BIGSERIAL PRIMARY KEY"
    } else {
        "id INTEGER PRIMARY KEY AUTOINCREMENT"
    };
    vec![
        format!(
            "CREATE TABLE registration_tally (
               {id},
               partner_id BIGINT NOT NULL,
               role VARCHAR NOT NULL,
               status VARCHAR NOT NULL,
               submitted BOOLEAN NOT NULL,
               delta BIGINT NOT NULL
             )"
        ),
        "CREATE INDEX ix_registration_tally_key ON registration_tally \
         (status, partner_id, role, submitted)"
            .into(),
        "CREATE TABLE partner_accounts (
           partner_id BIGINT NOT NULL,
           account_id BIGINT NOT NULL,
           claims BIGINT NOT NULL,
           PRIMARY KEY (partner_id, account_id)
         )"
        .into(),
        // Rows whose last claim just went: found at once and removed in the same transaction.
        "CREATE INDEX ix_partner_accounts_spent ON partner_accounts (partner_id) \
         WHERE claims <= 0"
            .into(),
        "CREATE TABLE account_shared_contacts (
           account_id BIGINT NOT NULL PRIMARY KEY,
           contacts BIGINT NOT NULL
         )"
        .into(),
    ]
}

/// The rows of the derived tables for the data already there.
fn fills() -> Vec<String> {
    vec![
        "INSERT INTO registration_tally (partner_id, role, status, submitted, delta)
         SELECT partner_id, role, status, submitted_at IS NOT NULL, COUNT(*)
         FROM registrations GROUP BY partner_id, role, status, submitted_at IS NOT NULL"
            .into(),
        format!(
            "INSERT INTO partner_accounts (partner_id, account_id, claims)
             SELECT r.partner_id, o.account_id, COUNT(*)
             FROM registrations r JOIN opportunities o ON o.id = r.opportunity_id
             WHERE r.status IN {SEES_DEAL}
             GROUP BY r.partner_id, o.account_id"
        ),
        "INSERT INTO account_shared_contacts (account_id, contacts)
         SELECT account_id, COUNT(*) FROM contacts WHERE shared GROUP BY account_id"
            .into(),
    ]
}

/// The changes a statement made to the derived tables' keys, read from its transition tables
/// (`old_rows` with -1, `new_rows` with +1), per derived table (PostgreSQL).
fn pg_changes(table: &str, rows: &str, delta: i32) -> String {
    match table {
        "registration_tally" => format!(
            "SELECT partner_id, role, status, submitted_at IS NOT NULL AS submitted, \
             {delta} AS delta FROM {rows}"
        ),
        "partner_accounts" => format!(
            "SELECT r.partner_id, o.account_id, {delta} AS delta \
             FROM {rows} r JOIN opportunities o ON o.id = r.opportunity_id \
             WHERE r.status IN {SEES_DEAL}"
        ),
        _ => format!("SELECT account_id, {delta} AS delta FROM {rows} WHERE shared"),
    }
}

/// Adds `changes` to derived table `table` (PostgreSQL).
fn pg_apply(table: &str, changes: &str) -> String {
    match table {
        "registration_tally" => format!(
            "INSERT INTO registration_tally (partner_id, role, status, submitted, delta)
             SELECT partner_id, role, status, submitted, SUM(delta) FROM ({changes}) c
             GROUP BY partner_id, role, status, submitted HAVING SUM(delta) <> 0;"
        ),
        "partner_accounts" => format!(
            "INSERT INTO partner_accounts (partner_id, account_id, claims)
               SELECT partner_id, account_id, SUM(delta) FROM ({changes}) c
               GROUP BY partner_id, account_id HAVING SUM(delta) <> 0
             ON CONFLICT (partner_id, account_id)
               DO UPDATE SET claims = partner_accounts.claims + EXCLUDED.claims;
             DELETE FROM partner_accounts WHERE claims <= 0;"
        ),
        _ => format!(
            "INSERT INTO account_shared_contacts (account_id, contacts)
               SELECT account_id, SUM(delta) FROM ({changes}) c
               GROUP BY account_id HAVING SUM(delta) <> 0
             ON CONFLICT (account_id)
               DO UPDATE SET contacts = account_shared_contacts.contacts + EXCLUDED.contacts;"
        ),
    }
}

/// Per derived table, a statement-level trigger function handling INSERT, UPDATE and DELETE
/// of its source through the transition tables, and the three triggers calling it; then the
/// row trigger moving a deal's partners with the deal (PostgreSQL).
fn pg_triggers() -> Vec<String> {
    let mut out = Vec::new();
    for (table, source) in [
        ("registration_tally", "registrations"),
        ("partner_accounts", "registrations"),
        ("account_shared_contacts", "contacts"),
    ] {
        let (old, new) = (
            pg_changes(table, "old_rows", -1),
            pg_changes(table, "new_rows", 1),
        );
        out.push(format!(
            "CREATE FUNCTION {table}_keep() RETURNS trigger AS $$
             BEGIN
               IF TG_OP = 'INSERT' THEN {}
               ELSIF TG_OP = 'UPDATE' THEN {}
               ELSE {}
               END IF;
               RETURN NULL;
             END $$ LANGUAGE plpgsql",
            pg_apply(table, &new),
            pg_apply(table, &format!("{old} UNION ALL {new}")),
            pg_apply(table, &old),
        ));
        for (event, referencing) in [
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ] {
            out.push(format!(
                "CREATE TRIGGER {table}_{} AFTER {event} ON {source}
                 REFERENCING {referencing}
                 FOR EACH STATEMENT EXECUTE FUNCTION {table}_keep()",
                event.to_lowercase()
            ));
        }
    }
    // A deal moving to another account takes its partners from the old account to the new.
    let moved = format!(
        "SELECT partner_id, OLD.account_id AS account_id, -1 AS delta FROM registrations
           WHERE opportunity_id = NEW.id AND status IN {SEES_DEAL}
         UNION ALL
         SELECT partner_id, NEW.account_id, 1 FROM registrations
           WHERE opportunity_id = NEW.id AND status IN {SEES_DEAL}"
    );
    out.push(format!(
        "CREATE FUNCTION partner_accounts_moved() RETURNS trigger AS $$
         BEGIN
           {}
           RETURN NULL;
         END $$ LANGUAGE plpgsql",
        pg_apply("partner_accounts", &moved)
    ));
    out.push(
        "CREATE TRIGGER partner_accounts_moved AFTER UPDATE OF account_id ON opportunities
         FOR EACH ROW WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id)
         EXECUTE FUNCTION partner_accounts_moved()"
            .into(),
    );
    out
}

/// Row triggers keeping the claim tally (SQLite).
fn sqlite_tally_triggers() -> Vec<String> {
    let tally = |row: &str, delta: i32| {
        format!(
            "INSERT INTO registration_tally (partner_id, role, status, submitted, delta)
             VALUES ({row}.partner_id, {row}.role, {row}.status,
                     {row}.submitted_at IS NOT NULL, {delta});"
        )
    };
    vec![
        format!(
            "CREATE TRIGGER registration_tally_insert AFTER INSERT ON registrations
             BEGIN {} END",
            tally("NEW", 1)
        ),
        format!(
            "CREATE TRIGGER registration_tally_delete AFTER DELETE ON registrations
             BEGIN {} END",
            tally("OLD", -1)
        ),
        format!(
            "CREATE TRIGGER registration_tally_update
             AFTER UPDATE OF partner_id, role, status, submitted_at ON registrations
             WHEN OLD.partner_id IS NOT NEW.partner_id OR OLD.role IS NOT NEW.role
               OR OLD.status IS NOT NEW.status
               OR (OLD.submitted_at IS NULL) IS NOT (NEW.submitted_at IS NULL)
             BEGIN {} {} END",
            tally("OLD", -1),
            tally("NEW", 1)
        ),
    ]
}

/// Row triggers keeping the partners' accounts and the accounts' shared contacts (SQLite).
fn sqlite_triggers() -> Vec<String> {
    let gone = format!(
        "UPDATE partner_accounts SET claims = claims - 1
         WHERE OLD.opportunity_id IS NOT NULL AND OLD.status IN {SEES_DEAL}
           AND partner_id = OLD.partner_id
           AND account_id = (SELECT account_id FROM opportunities WHERE id = OLD.opportunity_id);
         DELETE FROM partner_accounts WHERE claims <= 0;"
    );
    let made = format!(
        "INSERT INTO partner_accounts (partner_id, account_id, claims)
         SELECT NEW.partner_id, account_id, 1 FROM opportunities
         WHERE id = NEW.opportunity_id AND NEW.status IN {SEES_DEAL}
         ON CONFLICT (partner_id, account_id) DO UPDATE SET claims = claims + 1;"
    );
    let moved = |sign: &str, row: &str| {
        format!(
            "INSERT INTO partner_accounts (partner_id, account_id, claims)
             SELECT partner_id, {row}.account_id, {sign}COUNT(*) FROM registrations
             WHERE opportunity_id = NEW.id AND status IN {SEES_DEAL} GROUP BY partner_id
             ON CONFLICT (partner_id, account_id)
               DO UPDATE SET claims = claims + excluded.claims;"
        )
    };
    let shared = |row: &str, delta: i32| {
        format!(
            "INSERT INTO account_shared_contacts (account_id, contacts)
             SELECT {row}.account_id, {delta} WHERE {row}.shared
             ON CONFLICT (account_id) DO UPDATE SET contacts = contacts + {delta};"
        )
    };
    let mut out = sqlite_tally_triggers();
    out.extend([
        format!(
            "CREATE TRIGGER partner_accounts_insert AFTER INSERT ON registrations BEGIN {made} END"
        ),
        format!(
            "CREATE TRIGGER partner_accounts_delete AFTER DELETE ON registrations BEGIN {gone} END"
        ),
        format!(
            "CREATE TRIGGER partner_accounts_update
             AFTER UPDATE OF partner_id, opportunity_id, status ON registrations
             WHEN OLD.partner_id IS NOT NEW.partner_id
               OR OLD.opportunity_id IS NOT NEW.opportunity_id
               OR (OLD.status IN {SEES_DEAL}) IS NOT (NEW.status IN {SEES_DEAL})
             BEGIN {gone} {made} END"
        ),
        format!(
            "CREATE TRIGGER partner_accounts_moved AFTER UPDATE OF account_id ON opportunities
             WHEN OLD.account_id IS NOT NEW.account_id
             BEGIN {} {} DELETE FROM partner_accounts WHERE claims <= 0; END",
            moved("-", "OLD"),
            moved("", "NEW")
        ),
        format!(
            "CREATE TRIGGER account_shared_contacts_insert AFTER INSERT ON contacts
             BEGIN {} END",
            shared("NEW", 1)
        ),
        format!(
            "CREATE TRIGGER account_shared_contacts_delete AFTER DELETE ON contacts
             BEGIN {} END",
            shared("OLD", -1)
        ),
        format!(
            "CREATE TRIGGER account_shared_contacts_update
             AFTER UPDATE OF account_id, shared ON contacts
             WHEN OLD.account_id IS NOT NEW.account_id OR OLD.shared IS NOT NEW.shared
             BEGIN {} {} END",
            shared("OLD", -1),
            shared("NEW", 1)
        ),
    ]);
    out
}

/// Whether this PostgreSQL can have the trigram index: `pg_trgm` is installed already, or it
/// is available and this role may create it (a trusted extension needs the right to create
/// in the database).
async fn trigram_possible(manager: &SchemaManager<'_>) -> Result<bool, DbErr> {
    let row = manager
        .get_connection()
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')
                 OR (EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm')
                     AND (has_database_privilege(current_database(), 'CREATE')
                          OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)))
               AS possible",
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get("", "possible")?,
        None => false,
    })
}
