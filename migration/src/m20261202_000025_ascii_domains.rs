//! Customer domains in one spelling: an internationalised domain stored in Unicode
//! (`bücher.de`) is rewritten in its ASCII form (`xn--bcher-kva.de`, UTS 46), the form new
//! accounts and claims are stored in, so both spellings find the same customer. An account
//! whose ASCII form another account already holds keeps its spelling (two accounts cannot be
//! merged here), and so do its claims; every other claim is rewritten.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The ASCII spelling of a stored domain that has another one.
fn respelled(domain: &str) -> Option<String> {
    if domain.is_ascii() {
        return None;
    }
    idna::domain_to_ascii(domain)
        .ok()
        .filter(|ascii| ascii != domain)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let mark = |i: usize| match backend {
            sea_orm_migration::sea_orm::DbBackend::Postgres => format!("${i}"),
            _ => "?".to_string(),
        };
        for (table, column) in [("accounts", "domain"), ("registrations", "account_domain")] {
            let rows = db
                .query_all_raw(Statement::from_string(
                    backend,
                    format!("SELECT DISTINCT {column} AS d FROM {table}"),
                ))
                .await?;
            for row in rows {
                let old: String = row.try_get("", "d")?;
                let Some(new) = respelled(&old) else { continue };
                let sql = if table == "accounts" {
                    format!(
                        "UPDATE accounts SET domain = {} WHERE domain = {} \
                         AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.domain = {})",
                        mark(1),
                        mark(2),
                        mark(3)
                    )
                } else {
                    format!(
                        "UPDATE registrations SET account_domain = {} WHERE account_domain = {} \
                         AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.domain = {})",
                        mark(1),
                        mark(2),
                        mark(3)
                    )
                };
                // An account keeps its spelling only when the ASCII one was taken; its claims
                // keep theirs with it.
                let guard = if table == "accounts" {
                    new.clone()
                } else {
                    old.clone()
                };
                db.execute_raw(Statement::from_sql_and_values(
                    backend,
                    sql,
                    [new.into(), old.into(), guard.into()],
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        // The ASCII spelling names the same domain: nothing to undo.
        Ok(())
    }
}
