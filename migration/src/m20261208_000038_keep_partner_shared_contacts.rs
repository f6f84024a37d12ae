//! `partner_shared_tally`: how many shared contacts there are at the accounts each partner is
//! on (the sum of `account_shared_contacts` over its `partner_accounts`), kept as append-only
//! rows of deltas and folded by the tally job, so a partner's whole contact list is counted
//! from a row or two instead of from every account it is on.
//!
//! Two row triggers keep it, on both databases:
//! - `account_shared_contacts` changes at an account: the change, for every partner on it;
//! - `partner_accounts` gains or loses a pair: the account's shared contacts, added to or
//!   taken from the partner.
//!
//! On PostgreSQL two writers can race at one account: a contact shared there while a partner
//! first comes on it (or leaves). Both meet on the account's `account_shared_contacts` row: a
//! contact write holds it from its upsert to its commit, and the pair's trigger makes sure the
//! row exists, then reads it `FOR SHARE`, so whichever comes second counts what the first
//! committed (see the lock order in `src/db/mod.rs`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

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
                "CREATE TABLE partner_shared_tally (
                   {id},
                   partner_id BIGINT NOT NULL,
                   delta BIGINT NOT NULL
                 )"
            ),
            "CREATE INDEX ix_partner_shared_tally_key ON partner_shared_tally (partner_id)"
                .to_string(),
            // The partners on an account, for the fan-out of its shared contacts' changes.
            "CREATE INDEX ix_partner_accounts_account ON partner_accounts (account_id)".into(),
        ];
        sql.extend(if pg { pg_triggers() } else { sqlite_triggers() });
        sql.push(
            "INSERT INTO partner_shared_tally (partner_id, delta)
             SELECT pa.partner_id, SUM(s.contacts)
             FROM partner_accounts pa
             JOIN account_shared_contacts s ON s.account_id = pa.account_id
             GROUP BY pa.partner_id HAVING SUM(s.contacts) <> 0"
                .into(),
        );
        for s in sql {
            db.execute_unprepared(&s).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let pg = manager.get_database_backend() == DbBackend::Postgres;
        let mut sql = Vec::new();
        for (trigger, table) in [
            ("partner_shared_by_account", "account_shared_contacts"),
            (
                "partner_shared_by_account_insert",
                "account_shared_contacts",
            ),
            (
                "partner_shared_by_account_delete",
                "account_shared_contacts",
            ),
            ("partner_shared_pair_added", "partner_accounts"),
            ("partner_shared_pair_gone", "partner_accounts"),
        ] {
            sql.push(if pg {
                format!("DROP TRIGGER IF EXISTS {trigger} ON {table}")
            } else {
                format!("DROP TRIGGER IF EXISTS {trigger}")
            });
        }
        if pg {
            sql.push("DROP FUNCTION IF EXISTS partner_shared_by_account()".into());
            sql.push("DROP FUNCTION IF EXISTS partner_shared_pair()".into());
        }
        sql.push("DROP INDEX IF EXISTS ix_partner_accounts_account".into());
        sql.push("DROP TABLE IF EXISTS partner_shared_tally".into());
        for s in sql {
            db.execute_unprepared(&s).await?;
        }
        Ok(())
    }
}

/// PostgreSQL: a row function per source table.
fn pg_triggers() -> Vec<String> {
    vec![
        "CREATE FUNCTION partner_shared_by_account() RETURNS trigger AS $$
         DECLARE
           d BIGINT := COALESCE(NEW.contacts, 0) - COALESCE(OLD.contacts, 0);
           a BIGINT := COALESCE(NEW.account_id, OLD.account_id);
         BEGIN
           IF d <> 0 THEN
             INSERT INTO partner_shared_tally (partner_id, delta)
             SELECT partner_id, d FROM partner_accounts WHERE account_id = a;
           END IF;
           RETURN NULL;
         END $$ LANGUAGE plpgsql"
            .into(),
        "CREATE TRIGGER partner_shared_by_account
         AFTER INSERT OR UPDATE OR DELETE ON account_shared_contacts
         FOR EACH ROW EXECUTE FUNCTION partner_shared_by_account()"
            .into(),
        // The account's row is made if missing (waiting for a contact write inserting it),
        // then read FOR SHARE (waiting for a contact write updating it): a count committed
        // before is read, one committed after sees this pair.
        "CREATE FUNCTION partner_shared_pair() RETURNS trigger AS $$
         DECLARE
           pair partner_accounts;
           n BIGINT;
         BEGIN
           IF TG_OP = 'DELETE' THEN pair := OLD; ELSE pair := NEW; END IF;
           INSERT INTO account_shared_contacts (account_id, contacts)
           VALUES (pair.account_id, 0) ON CONFLICT (account_id) DO NOTHING;
           SELECT contacts INTO n FROM account_shared_contacts
           WHERE account_id = pair.account_id FOR SHARE;
           IF COALESCE(n, 0) <> 0 THEN
             INSERT INTO partner_shared_tally (partner_id, delta)
             VALUES (pair.partner_id, CASE WHEN TG_OP = 'DELETE' THEN -n ELSE n END);
           END IF;
           RETURN NULL;
         END $$ LANGUAGE plpgsql"
            .into(),
        "CREATE TRIGGER partner_shared_pair_added AFTER INSERT ON partner_accounts
         FOR EACH ROW EXECUTE FUNCTION partner_shared_pair()"
            .into(),
        "CREATE TRIGGER partner_shared_pair_gone AFTER DELETE ON partner_accounts
         FOR EACH ROW EXECUTE FUNCTION partner_shared_pair()"
            .into(),
    ]
}

/// SQLite (one writer at a time): the same as row triggers.
fn sqlite_triggers() -> Vec<String> {
    let fan_out = |d: &str, a: &str| {
        format!(
            "INSERT INTO partner_shared_tally (partner_id, delta)
             SELECT partner_id, {d} FROM partner_accounts WHERE account_id = {a} AND {d} <> 0;"
        )
    };
    let pair = |row: &str, sign: &str| {
        format!(
            "INSERT INTO partner_shared_tally (partner_id, delta)
             SELECT {row}.partner_id, {sign}contacts FROM account_shared_contacts
             WHERE account_id = {row}.account_id AND contacts <> 0;"
        )
    };
    vec![
        format!(
            "CREATE TRIGGER partner_shared_by_account_insert AFTER INSERT ON account_shared_contacts
             BEGIN {} END",
            fan_out("NEW.contacts", "NEW.account_id")
        ),
        format!(
            "CREATE TRIGGER partner_shared_by_account AFTER UPDATE ON account_shared_contacts
             BEGIN {} END",
            fan_out("(NEW.contacts - OLD.contacts)", "NEW.account_id")
        ),
        format!(
            "CREATE TRIGGER partner_shared_by_account_delete AFTER DELETE ON account_shared_contacts
             BEGIN {} END",
            fan_out("(0 - OLD.contacts)", "OLD.account_id")
        ),
        format!(
            "CREATE TRIGGER partner_shared_pair_added AFTER INSERT ON partner_accounts
             BEGIN {} END",
            pair("NEW", "")
        ),
        format!(
            "CREATE TRIGGER partner_shared_pair_gone AFTER DELETE ON partner_accounts
             BEGIN {} END",
            pair("OLD", "-")
        ),
    ]
}
