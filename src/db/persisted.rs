//! Documents registered by automatic persisted queries (`pipeline::persisted`), shared by every
//! instance through the database.

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement, Value};

/// A statement of `sql` in `db`'s dialect, its `$1`-style placeholders spelt `?` for SQLite (the
/// persisted-query store's own reads and writes).
pub(crate) fn statement(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Statement {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => sql.to_string(),
        // `$1`, `$2`: positional on both, spelt `?` for SQLite (so each is used once, in
        // order).
        _ => {
            let mut out = String::with_capacity(sql.len());
            let mut chars = sql.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                    while chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                    out.push('?');
                } else {
                    out.push(c);
                }
            }
            out
        }
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// The document registered under `hash`.
pub async fn find(db: &impl ConnectionTrait, hash: &str) -> Result<Option<String>, DbErr> {
    let row = db
        .query_one_raw(statement(
            db,
            "SELECT document FROM persisted_queries WHERE hash = $1",
            vec![hash.into()],
        ))
        .await?;
    row.map(|r| r.try_get_by_index::<String>(0)).transpose()
}

/// Registers `document` under `hash` (a second registration of the same hash changes
/// nothing), then forgets the oldest documents past `keep`.
pub async fn register(
    db: &impl ConnectionTrait,
    hash: &str,
    document: &str,
    keep: u32,
) -> Result<(), DbErr> {
    let inserted = db
        .execute_raw(statement(
            db,
            "INSERT INTO persisted_queries (hash, document) VALUES ($1, $2)
             ON CONFLICT (hash) DO NOTHING",
            vec![hash.into(), document.into()],
        ))
        .await?;
    if inserted.rows_affected() > 0 {
        db.execute_raw(statement(
            db,
            "DELETE FROM persisted_queries WHERE id <= (
               SELECT id FROM persisted_queries ORDER BY id DESC LIMIT 1 OFFSET $1)",
            vec![i64::from(keep).into()],
        ))
        .await?;
    }
    Ok(())
}
