//! Kept tallies: counts kept as append-only rows of deltas that triggers write in the writer's
//! own transaction (so no writer waits on another's counter), read by summing a key's rows,
//! and folded from time to time by the tally job so each key holds about one row.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::error::AppResult;

/// The most rows a tally may hold beyond one per key before a fold is worth its write.
pub const FOLD_ABOVE: i64 = 64;

/// Folds tally `table`, whose rows are keyed by the columns `key`, once it holds more than
/// `above` rows beyond one per key: the rows of each key that has several (or that sum to
/// nothing) become one. Safe with several instances folding at once and writers adding rows
/// meanwhile: a fold takes only the rows committed before it and replaces them in the same
/// transaction. Returns how many rows it folded.
pub(crate) async fn fold(
    db: &DatabaseConnection,
    table: &str,
    key: &str,
    above: i64,
) -> AppResult<u64> {
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
pub(crate) async fn number<C: ConnectionTrait>(conn: &C, statement: Statement) -> AppResult<i64> {
    Ok(match conn.query_one_raw(statement).await? {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    })
}
