//! Counting registration lists from the claim tally: how many claims there are per partner,
//! role, status and whether they were submitted, kept as append-only rows that triggers write
//! in the writer's own transaction (migration 34) and the tally job folds. The vendor's lists
//! (the review queue first) are counted from a few thousand tally rows instead of every claim;
//! what the tally cannot tell (an SLA cutoff, an open conflict) is counted from the rows that
//! differ, which the queue's indexes find: the claims submitted since the cutoff, the claims
//! an open conflict holds. One statement, so every part reads the same snapshot.

use entity::enums::{RegistrationRole, RegistrationStatus};
use entity::registration::Entity;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryTrait, Select, Statement};

use crate::error::AppResult;

/// The tally's table and columns.
#[derive(sea_orm::DeriveIden)]
enum RegistrationTally {
    Table,
    PartnerId,
    Role,
    Status,
    Submitted,
}

/// `(SELECT <sum of the tally's deltas>)` over the claims in `statuses`, of `partner` and in
/// `role` when given, and (`submitted_only`) submitted.
pub(super) fn tally(
    statuses: &[RegistrationStatus],
    partner: Option<i64>,
    role: Option<RegistrationRole>,
    submitted_only: bool,
) -> Expr {
    use RegistrationTally as T;
    let mut q = Query::select()
        .expr(Expr::cust("CAST(COALESCE(SUM(delta), 0) AS BIGINT)"))
        .from(T::Table)
        .and_where(
            Expr::col((T::Table, T::Status))
                .is_in(statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        )
        .to_owned();
    if let Some(p) = partner {
        q.and_where(Expr::col((T::Table, T::PartnerId)).eq(p));
    }
    if let Some(r) = role {
        q.and_where(Expr::col((T::Table, T::Role)).eq(r.as_str()));
    }
    if submitted_only {
        q.and_where(Expr::col((T::Table, T::Submitted)).eq(true));
    }
    sub(q)
}

/// `(SELECT COUNT(*) FROM (<q>))`.
pub(super) fn rows(q: Select<Entity>) -> Expr {
    sub(Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from_subquery(q.into_query(), Alias::new("counted"))
        .to_owned())
}

fn sub(q: SelectStatement) -> Expr {
    Expr::SubQuery(None, Box::new(q.into()))
}

/// The most rows a tally may hold beyond one per key before a fold is worth its write.
const FOLD_ABOVE: i64 = 64;

/// The kept tallies of claims and their keys: the claim tally (migration 34) and the decision
/// tally (migration 35).
const TALLIES: [(&str, &str); 2] = [
    ("registration_tally", "partner_id, role, status, submitted"),
    ("decision_tally", "partner_id, role, bucket"),
];

/// Folds the claim and decision tallies: the rows of each key that has several (or that sum to
/// nothing) become one. Safe with several instances folding at once and writers adding rows
/// meanwhile: a fold takes only the rows committed before it and replaces them in the same
/// transaction. Returns how many rows it folded.
pub async fn fold_tally(db: &DatabaseConnection) -> AppResult<u64> {
    fold_tally_above(db, FOLD_ABOVE).await
}

/// [`fold_tally`], folding each tally that holds more than `above` rows beyond one per key.
pub(crate) async fn fold_tally_above(db: &DatabaseConnection, above: i64) -> AppResult<u64> {
    let mut folded = 0;
    for (table, key) in TALLIES {
        folded += fold(db, table, key, above).await?;
    }
    Ok(folded)
}

/// Folds tally `table`, whose rows are keyed by the columns `key`, once it holds more than
/// `above` rows beyond one per key.
async fn fold(db: &DatabaseConnection, table: &str, key: &str, above: i64) -> AppResult<u64> {
    let backend = db.get_database_backend();
    // Nothing worth folding: no write lock taken (SQLite has one writer at a time). The keys
    // are counted by a hash of their columns (a row-valued COUNT(DISTINCT) sorts records, an
    // order of magnitude slower on PostgreSQL).
    let spare = number(
        db,
        Statement::from_string(
            backend,
            format!(
                "SELECT (SELECT COUNT(*) FROM {table}) \
                 - (SELECT COUNT(*) FROM (SELECT DISTINCT {key} FROM {table}) k) AS n"
            ),
        ),
    )
    .await?;
    if spare <= above {
        return Ok(0);
    }
    let txn = crate::db::begin_write(db).await?;
    let folded = if backend == DbBackend::Postgres {
        let sql = format!(
            "WITH gone AS (
               DELETE FROM {table} WHERE ({key}) IN (
                 SELECT {key} FROM {table} GROUP BY {key}
                 HAVING COUNT(*) > 1 OR SUM(delta) = 0)
               RETURNING {key}, delta),
             kept AS (
               INSERT INTO {table} ({key}, delta)
               SELECT {key}, SUM(delta) FROM gone GROUP BY {key} HAVING SUM(delta) <> 0)
             SELECT COUNT(*) AS n FROM gone"
        );
        number(&txn, Statement::from_string(backend, sql)).await?
    } else {
        // SQLite has one writer at a time: the transaction sees every row and no other. The
        // sums are written after the rows they replace, told apart by their ids.
        let last = number(
            &txn,
            Statement::from_string(
                backend,
                format!("SELECT COALESCE(MAX(id), 0) AS n FROM {table}"),
            ),
        )
        .await?;
        let keys = format!(
            "SELECT {key} FROM {table} WHERE id <= {last} GROUP BY {key} \
             HAVING COUNT(*) > 1 OR SUM(delta) = 0"
        );
        let folded = number(
            &txn,
            Statement::from_string(
                backend,
                format!(
                    "SELECT COUNT(*) AS n FROM {table} \
                     WHERE id <= {last} AND ({key}) IN ({keys})"
                ),
            ),
        )
        .await?;
        txn.execute_unprepared(&format!(
            "INSERT INTO {table} ({key}, delta)
             SELECT {key}, SUM(delta) FROM {table} WHERE id <= {last}
             GROUP BY {key} HAVING COUNT(*) > 1 AND SUM(delta) <> 0"
        ))
        .await?;
        txn.execute_unprepared(&format!(
            "DELETE FROM {table} WHERE id <= {last} AND ({key}) IN ({keys})"
        ))
        .await?;
        folded
    };
    txn.commit().await?;
    Ok(u64::try_from(folded).unwrap_or(0))
}

/// The column `n` of the one row `statement` reads.
async fn number<C: ConnectionTrait>(conn: &C, statement: Statement) -> AppResult<i64> {
    Ok(match conn.query_one_raw(statement).await? {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    })
}
