//! Data access: one module per aggregate. Every read takes the principal and returns only what
//! it may see; every write is one transaction that also appends its event.
//!
//! ## Lock order (PostgreSQL)
//!
//! No write takes a program-wide lock. Where a transaction takes several locks, it takes them
//! in this order, so that no two writers can wait on each other in a cycle:
//!
//! 1. the customer lock, `pg_advisory_xact_lock(hashtext('deal:<domain>'))`
//!    (`registrations::lifecycle::lock_deal`): submissions, decisions and conflict resolutions
//!    on one customer take turns, so conflict detection sees every earlier claim; at most one
//!    per transaction;
//! 2. registration rows, through version-guarded updates;
//! 3. an account's threading lock, `pg_advisory_xact_lock(7468, <account>)`
//!    (`contacts::network::kept`), then the rows of its deals' kept assessments: contact and
//!    engagement writes take it last, after the contact's row; the threading sweep takes the
//!    locks of several accounts in ascending order and holds nothing else;
//! 4. new rows only (accounts and opportunities created by an approval, transitions,
//!    conflicts, the event queue), which wait on nothing.
//!
//! An account's row of `account_shared_contacts` (migration 38 keeps a count per partner from
//! it): a contact write holds it from the upsert its trigger makes, at the end of the contact
//! statement, to its commit; a claim write that puts a partner on an account or takes it off
//! (a `partner_accounts` pair made or removed) reads it `FOR SHARE` right after the pair, so
//! whichever of the two comes second counts what the first committed. Contact writes take no
//! customer lock and no registration row, and a claim write takes no contact row, so a cycle
//! needs two writers that each touch several accounts in opposite orders: PostgreSQL then ends
//! one, and the server runs that mutation again.
//!
//! Opportunity writes (stage moves, closing a deal) take the opportunity row, then the rows of
//! its approved registrations, and never the customer lock (a trigger then updates the deal's
//! kept assessment row, which no holder of a threading lock waits on an opportunity row for); registration paths never update an
//! opportunity row, so the two never wait on each other in a cycle. The outbox relay
//! (`events::relay`) and retention (`events::prune`) take advisory locks of their own in short
//! transactions that hold nothing else. Webhook endpoints are rows of their own: a change
//! takes one (version-guarded), and the dispatcher's lease (`webhooks::claim`, `FOR UPDATE
//! SKIP LOCKED`) holds no row lock while it waits on a receiver; neither takes any other
//! lock. An invitation's acceptance reads the deal's opportunity row `FOR SHARE`, then takes
//! the invitation's row, then the customer lock (through the submission): no path that holds
//! the customer lock or a registration row waits on an opportunity row or an invitation row,
//! so this prefix adds no cycle; a close of the deal waits for the acceptance or sees it
//! committed. A close withdraws the deal's open invitations last (opportunity row, claims,
//! then invitation rows). Withdrawals, declines and the expiry sweep take the invitation's row
//! alone.
//! SQLite has one writer at a time (`begin_write`).

pub mod accounts;
pub mod attribution;
pub mod contacts;
pub mod events;
pub mod invitations;
pub mod opportunities;
pub mod page;
pub mod partners;
pub mod persisted;
pub mod registrations;
pub mod rows;
pub mod rules;
pub mod tally;
pub mod webhooks;

mod sqlite_busy;

#[cfg(test)]
mod layering;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// `url` with its password (in the user part or a `password=` parameter) masked, for
/// messages and logs.
pub fn redacted(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(secret) = password_of(url) {
        out = out.replace(&secret, "***");
    }
    out
}

/// `text` (an error, say) with the password of `url` masked wherever it appears.
pub fn scrubbed(text: &str, url: &str) -> String {
    match password_of(url) {
        Some(secret) => text.replace(&secret, "***"),
        None => text.to_string(),
    }
}

/// The password a database URL carries, if any.
fn password_of(url: &str) -> Option<String> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let from_user = authority
        .rfind('@')
        .and_then(|at| authority[..at].split_once(':'))
        .map(|(_, p)| p.to_string());
    let from_query = url.split_once('?').and_then(|(_, q)| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("password=").map(str::to_string))
    });
    from_user.or(from_query).filter(|p| !p.is_empty())
}

/// Counts SQL statements executed through the pool (exported as `cosell_sql_statements_total`).
#[derive(Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Opens the database named by `url`. A SQLite file is created when missing and runs in WAL
/// mode with foreign keys on and a busy timeout; PostgreSQL is used as it is.
pub async fn connect(
    url: &str,
    max_connections: u32,
    counter: StatementCounter,
) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, max_connections, DEFAULT_ACQUIRE_TIMEOUT, counter).await
}

/// How long a request waits for a pooled connection by default: an outage answers
/// SERVICE_UNAVAILABLE after this (and the few milliseconds of the answer), well within the
/// 2 s the README promises, not after the request timeout.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1_500);

/// How long a pooled connection may sit idle before it is tested (a round trip) on its way
/// out of the pool. A connection is always tested when it returns to the pool, so one handed
/// out again within this time was working a moment ago; under load, connections are reused
/// within milliseconds and a statement costs one round trip instead of two. One the database
/// closed while it sat idle (a restart, a failover, an administrator ending it) has sat
/// through that outage, longer than this, and is tested, found dead and replaced.
pub const TEST_IF_IDLE_FOR: Duration = Duration::from_millis(100);

/// [`connect`] with the pool's acquire timeout.
pub async fn connect_with(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
    counter: StatementCounter,
) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(max_connections.max(1))
        .min_connections(1)
        .acquire_timeout(acquire_timeout)
        .connect_timeout(acquire_timeout)
        .sqlx_logging(false)
        .test_before_acquire_if_idle_for(TEST_IF_IDLE_FOR)
        .map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        })
        .map_sqlx_sqlite_pool_opts(sqlite_busy::install)
        // No JIT compilation: PostgreSQL compiles a statement whose estimated cost passes
        // `jit_above_cost` (100,000 by default), and the estimate of a bounded read over a
        // large table can pass it (program figures' middle decisions, one correlated read per
        // rank: 2.5 ms to run, 16 ms to compile first). cosell's statements are index reads of
        // a few thousand rows at most, which compiling never pays back.
        .map_sqlx_postgres_opts(|o| o.options([("jit", "off")]));
    // Processes opening one new SQLite file together race to switch it to WAL, and SQLite
    // answers "database is locked" to the loser without waiting on the busy timeout; it
    // succeeds once the first has finished.
    let mut tries = 0;
    let mut db = loop {
        match Database::connect(opts.clone()).await {
            Err(e)
                if tries < 20 && url.starts_with("sqlite") && e.to_string().contains("locked") =>
            {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50 * tries)).await;
            }
            other => break other?,
        }
    };
    let log = statement_log();
    db.set_metric_callback(move |info| {
        counter.0.fetch_add(1, Ordering::Relaxed);
        // Names the statement (placeholders, no values) in the driver's span, for traces.
        tracing::trace!(
            target: crate::telemetry::SQL_TARGET,
            statement = %info.statement.sql,
            elapsed_us = info.elapsed.as_micros() as u64,
            failed = info.failed,
            "sql"
        );
        if let Some(log) = &log {
            log.write(info.statement);
        }
    });
    Ok(db)
}

/// Where `COSELL_STATEMENT_LOG` asks every statement to be written, with its values inlined,
/// one per line: the exact SQL a workload runs, for replaying it without the server (the
/// benchmarks' floor). A diagnostic: it slows every statement and writes customer data.
fn statement_log() -> Option<Arc<StatementLog>> {
    let path = std::env::var_os("COSELL_STATEMENT_LOG")?;
    match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        Ok(file) => Some(Arc::new(StatementLog(std::sync::Mutex::new(file)))),
        Err(e) => {
            tracing::warn!(error = %e, "COSELL_STATEMENT_LOG cannot be opened; statements are not logged");
            None
        }
    }
}

struct StatementLog(std::sync::Mutex<std::fs::File>);

impl StatementLog {
    fn write(&self, statement: &sea_orm::Statement) {
        use std::io::Write;
        let line = statement.to_string().replace('\n', " ");
        if let Ok(mut f) = self.0.lock() {
            let _ = writeln!(f, "{line};");
        }
    }
}

/// A second, small pool to the same database, outside the request statement count: the
/// outbox tail, its LISTEN connection and subscribers' catch-up reads use it, so background
/// reads neither queue behind requests nor blur the per-request statement figures.
pub fn sibling_pool(db: &DatabaseConnection, max_connections: u32) -> DatabaseConnection {
    sibling_pool_with(db, max_connections, Commit::Durable)
}

/// When a pool's commits return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Commit {
    /// Once the commit is on disk (the default).
    Durable,
    /// Before the commit is on disk (PostgreSQL's `synchronous_commit = off`): a crash of the
    /// database may lose the last few milliseconds of commits, never half of one. Only for
    /// bookkeeping whose loss repeats work (the webhook dispatcher's leases, cursors and log);
    /// a transaction that appends an event sets `synchronous_commit = on` for itself.
    Asynchronous,
}

/// [`sibling_pool`] whose commits return as `commit` says (PostgreSQL; SQLite's are as the
/// main pool's).
pub fn sibling_pool_with(
    db: &DatabaseConnection,
    max_connections: u32,
    commit: Commit,
) -> DatabaseConnection {
    use sea_orm::sqlx::pool::PoolOptions;
    macro_rules! opts {
        () => {
            PoolOptions::new()
                .max_connections(max_connections.max(2))
                .acquire_timeout(DEFAULT_ACQUIRE_TIMEOUT)
        };
    }
    match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let mut o = (*db.get_postgres_connection_pool().connect_options()).clone();
            if commit == Commit::Asynchronous {
                o = o.options([("synchronous_commit", "off")]);
            }
            sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(opts!().connect_lazy_with(o))
        }
        _ => {
            let o = db.get_sqlite_connection_pool().connect_options();
            sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(
                sqlite_busy::install(opts!()).connect_lazy_with((*o).clone()),
            )
        }
    }
}

/// Applies every pending migration in one transaction. Instances starting together take turns:
/// on PostgreSQL under an advisory lock, on SQLite under the write lock.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    let txn = begin_write(db).await?;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(7346010)")
            .await?;
    }
    Migrator::up(&txn, None).await?;
    txn.commit().await?;
    // Accounts from before name keys existed get theirs (a no-op once they have them).
    accounts::backfill_name_keys(db)
        .await
        .map_err(|e| DbErr::Custom(format!("indexing account names: {}", e.message())))?;
    // Deals from before assessments were kept get a row, which the sweep assesses.
    contacts::network::kept::track_untracked(db)
        .await
        .map_err(|e| DbErr::Custom(format!("tracking threading assessments: {}", e.message())))?;
    Ok(())
}

/// Starts a write transaction. On SQLite it takes the write lock at BEGIN (IMMEDIATE), so two
/// writers queue on the busy timeout instead of failing when a read lock would be upgraded.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let sqlite = db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite;
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: sqlite.then_some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Checks the database answers (used by `/readyz`).
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

/// A condition that matches no row: the scope of a principal that may see nothing here.
pub fn nothing() -> sea_orm::Condition {
    sea_orm::Condition::all().add(sea_orm::sea_query::Expr::cust("1 = 0"))
}

/// Writes `changes` to row `id` if it is still at `expected` version, bumping the version.
/// Returns VERSION_MISMATCH when another change got there first.
pub async fn update_versioned<E, A>(
    txn: &DatabaseTransaction,
    kind: &'static str,
    mut changes: A,
    id_col: E::Column,
    version_col: E::Column,
    id: impl Into<sea_orm::Value>,
    expected: i32,
) -> crate::error::AppResult<E::Model>
where
    E: sea_orm::EntityTrait<ActiveModel = A>,
    A: sea_orm::ActiveModelTrait<Entity = E> + Send,
{
    use sea_orm::{ColumnTrait, QueryFilter};
    changes.set(version_col, (expected + 1).into());
    // One statement: the row comes back from the UPDATE itself (RETURNING, on both databases).
    let mut rows = E::update_many()
        .set(changes)
        .filter(id_col.eq(id))
        .filter(version_col.eq(expected))
        .exec_with_returning(txn)
        .await?;
    match (rows.pop(), rows.is_empty()) {
        (Some(row), true) => Ok(row),
        _ => Err(crate::error::AppError::VersionMismatch {
            kind,
            expected,
            current: expected + 1,
        }),
    }
}

/// Checks the caller's `expectedVersion` against the row it read.
pub fn check_version(
    kind: &'static str,
    expected: i32,
    current: i32,
) -> crate::error::AppResult<()> {
    if expected == current {
        Ok(())
    } else {
        Err(crate::error::AppError::VersionMismatch {
            kind,
            expected,
            current,
        })
    }
}

/// The longest text a `…Contains` filter takes.
pub const MAX_FILTER_CHARS: usize = 200;

/// Case-insensitive substring match on a text column, with `%` and `_` taken literally.
/// `field` names the filter in the refusal of a needle over [`MAX_FILTER_CHARS`].
pub fn contains_ci<C: sea_orm::ColumnTrait>(
    col: C,
    field: &'static str,
    needle: &str,
) -> crate::error::AppResult<sea_orm::sea_query::SimpleExpr> {
    use sea_orm::sea_query::{Expr, ExprTrait, Func};
    Ok(Expr::expr(Func::lower(Expr::col(col.as_column_ref()))).like(like_pattern(needle, field)?))
}

/// The `LIKE` pattern [`contains_ci`] compares a lowered column with: `needle` trimmed and
/// lowered, its wildcards escaped, between `%`s. A needle longer than the filters allow is
/// BAD_USER_INPUT on `field`.
pub fn like_pattern(
    needle: &str,
    field: &'static str,
) -> crate::error::AppResult<sea_orm::sea_query::LikeExpr> {
    let chars = needle.trim().chars().count();
    if chars > MAX_FILTER_CHARS {
        return Err(crate::error::AppError::bad_field(
            field,
            format!("`{field}` is {chars} characters long; at most {MAX_FILTER_CHARS} are allowed"),
        ));
    }
    let escaped: String = needle
        .trim()
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    Ok(sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

/// Runs a write to completion even if the request that started it is abandoned (timeout or
/// disconnect): a transaction is never cut off mid-way, it commits or rolls back as a whole.
pub async fn shielded<F, T>(write: F) -> crate::error::AppResult<T>
where
    F: std::future::Future<Output = crate::error::AppResult<T>> + Send + 'static,
    T: Send + 'static,
{
    use tracing::Instrument;
    tokio::spawn(write.in_current_span())
        .await
        .map_err(|e| crate::error::AppError::Internal(format!("write task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_masked_in_urls_and_messages() {
        use super::{redacted, scrubbed};
        assert_eq!(
            redacted("postgres://app:s3cr%40t@db:5432/cosell"),
            "postgres://app:***@db:5432/cosell"
        );
        assert_eq!(
            redacted("postgres://db/cosell?user=app&password=hunter2"),
            "postgres://db/cosell?user=app&password=***"
        );
        assert_eq!(redacted("sqlite://cosell.db"), "sqlite://cosell.db");
        assert_eq!(redacted("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(
            scrubbed("error connecting with hunter2", "postgres://a:hunter2@h/d"),
            "error connecting with ***"
        );
    }
}
