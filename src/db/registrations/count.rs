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
use sea_orm::{DatabaseConnection, QueryTrait, Select};

use crate::db::tally;
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

/// The kept tallies of claims and their keys: the claim tally (migration 34) and the decision
/// tally (migration 35).
const TALLIES: [(&str, &str); 2] = [
    ("registration_tally", "partner_id, role, status, submitted"),
    ("decision_tally", "partner_id, role, bucket"),
];

/// Folds the claim and decision tallies (see [`tally::fold`]). Returns how many rows it folded.
pub async fn fold_tally(db: &DatabaseConnection) -> AppResult<u64> {
    fold_tally_above(db, tally::FOLD_ABOVE).await
}

/// [`fold_tally`], folding each tally that holds more than `above` rows beyond one per key.
pub(crate) async fn fold_tally_above(db: &DatabaseConnection, above: i64) -> AppResult<u64> {
    let mut folded = 0;
    for (table, key) in TALLIES {
        folded += tally::fold(db, table, key, above).await?;
    }
    Ok(folded)
}
