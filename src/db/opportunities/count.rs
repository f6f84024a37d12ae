//! Counting a caller's opportunity list from the narrowest rows that answer it: the vendor's
//! whole list (or one filtered by stage) from the stage tally, a partner's whole list from its
//! claims, a name search from the kept names; any other filter counts the list's own query.

use entity::enums::OpportunityStage;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::auth::{Party, Principal, Resource};
use crate::error::AppResult;

/// How a list's `totalCount` is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Count {
    /// The stage tally, over these stages (all when `None`): the vendor's view.
    Tally(Option<Vec<OpportunityStage>>),
    /// The deals a partner is on, from its claims.
    DealsOf(i64),
    /// A name search alone (`nameContains`, this needle), from the kept names (migration 37)
    /// under the deals' rule on their key.
    Names(String),
    /// The list's own query, counted.
    Rows,
}

impl Count {
    /// The narrowest count for `principal`'s list, given the stages it filters on and whether
    /// any other filter applies.
    pub fn plan(
        principal: &Principal,
        stages: Option<&[OpportunityStage]>,
        other_filters: bool,
        name_contains: Option<&str>,
    ) -> Self {
        if other_filters || !principal.may_read(Resource::Opportunities) {
            return Self::Rows;
        }
        if let Some(needle) = name_contains {
            return match stages {
                None => Self::Names(needle.to_string()),
                Some(_) => Self::Rows,
            };
        }
        match principal.party {
            Party::Vendor => Self::Tally(stages.map(<[_]>::to_vec)),
            Party::Partner(p) if stages.is_none() => Self::DealsOf(p),
            Party::Partner(_) => Self::Rows,
        }
    }
}

/// The opportunities in `stages` (all when `None`), from the tally.
pub async fn tally(db: &DatabaseConnection, stages: Option<&[OpportunityStage]>) -> AppResult<u64> {
    let backend = db.get_database_backend();
    let mut sql =
        String::from("SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) AS n FROM opportunity_tally");
    let mut values: Vec<sea_orm::Value> = Vec::new();
    if let Some(stages) = stages {
        let marks: Vec<String> = (1..=stages.len())
            .map(|i| match backend {
                DbBackend::Postgres => format!("${i}"),
                _ => "?".to_string(),
            })
            .collect();
        if stages.is_empty() {
            return Ok(0);
        }
        sql.push_str(&format!(" WHERE stage IN ({})", marks.join(", ")));
        values.extend(stages.iter().map(|s| s.as_str().into()));
    }
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    let n: i64 = match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// How many of the deals `principal` sees have a name containing `needle` (any case), read
/// from the kept names: the rows the search would read, narrow, with the deals' rule applied
/// to their key (`scope::Opportunities::by_id`).
pub async fn names(db: &DatabaseConnection, principal: &Principal, needle: &str) -> AppResult<u64> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    #[derive(sea_orm::DeriveIden)]
    enum OpportunityNames {
        Table,
        OpportunityId,
        NameKey,
    }
    let key = super::super::like_pattern(needle, "nameContains")?;
    let condition = crate::auth::scope::Opportunities::by_key(
        principal,
        (OpportunityNames::Table, OpportunityNames::OpportunityId),
    );
    let q = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from(OpportunityNames::Table)
        .and_where(Expr::col((OpportunityNames::Table, OpportunityNames::NameKey)).like(key))
        .cond_where(condition)
        .to_owned();
    let row = db.query_one(&q).await?;
    let n: i64 = match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Rows the tally may hold before a fold is worth its write: a few per stage.
const FOLD_ABOVE: i64 = 32;

/// Folds the tally's rows into one per stage, so that counting reads a handful of rows.
/// Safe with several instances folding at once and writers adding rows meanwhile: a fold
/// takes only the rows committed before it, and replaces them in the same transaction.
/// Returns how many rows it folded.
pub async fn fold_tally(db: &DatabaseConnection) -> AppResult<u64> {
    // Nothing worth folding: no write lock taken (SQLite has one writer at a time).
    let rows = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM opportunity_tally",
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    if rows <= FOLD_ABOVE {
        return Ok(0);
    }
    let txn = crate::db::begin_write(db).await?;
    let folded = if txn.get_database_backend() == DbBackend::Postgres {
        let row = txn
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "WITH gone AS (DELETE FROM opportunity_tally RETURNING stage, delta),
                      kept AS (
                        INSERT INTO opportunity_tally (stage, delta)
                        SELECT stage, SUM(delta) FROM gone GROUP BY stage
                      )
                 SELECT COUNT(*) AS n FROM gone",
            ))
            .await?;
        row.map(|r| r.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0)
    } else {
        // SQLite has one writer at a time: the transaction sees every row and no other.
        let rows = txn
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT stage, CAST(SUM(delta) AS BIGINT) AS delta, COUNT(*) AS n FROM opportunity_tally GROUP BY stage",
            ))
            .await?;
        let mut n = 0;
        txn.execute_unprepared("DELETE FROM opportunity_tally")
            .await?;
        for r in rows {
            let (stage, delta, count): (String, i64, i64) = (
                r.try_get("", "stage")?,
                r.try_get("", "delta")?,
                r.try_get("", "n")?,
            );
            n += count;
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT INTO opportunity_tally (stage, delta) VALUES (?, ?)",
                [stage.into(), delta.into()],
            ))
            .await?;
        }
        n
    };
    txn.commit().await?;
    Ok(folded as u64)
}
