//! Partner statements: attributed revenue and incentives on the current frozen versions of
//! won deals, with totals by currency.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::attribution::{row, version};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use crate::auth::scope::{condition, AttributionRows};
use crate::auth::{Party, Principal, Resource};
use crate::error::{AppError, AppResult};

/// One deal on a partner's statement.
#[derive(Debug, Clone)]
pub struct StatementLine {
    pub opportunity_id: i64,
    pub row: row::Model,
}

/// Totals of a statement in one currency.
#[derive(Debug, Clone)]
pub struct CurrencyTotal {
    /// ISO 4217 currency.
    pub currency: String,
    /// Attributed revenue in minor units.
    pub attributed_minor: i64,
    /// Incentives owed in minor units.
    pub incentive_minor: i64,
    /// Deals counted.
    pub deals: i32,
}

/// A partner's attributed revenue and incentives on the current versions of deals finalized in
/// `[from, to)`. A partner may ask only for its own; the vendor for any partner.
pub async fn statement(
    db: &DatabaseConnection,
    principal: &Principal,
    partner_id: Option<i64>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AppResult<(i64, Vec<StatementLine>, Vec<CurrencyTotal>)> {
    let pid = match (principal.party, partner_id) {
        (Party::Partner(me), None) => me,
        (Party::Partner(me), Some(p)) if p == me => me,
        (Party::Partner(_), Some(_)) => return Err(AppError::NotFound("Partner")),
        (Party::Vendor, Some(p)) => p,
        (Party::Vendor, None) => {
            return Err(AppError::bad_field(
                "partnerId",
                "the vendor names the partner of the statement",
            ))
        }
    };
    principal.require_read(Resource::Opportunities)?;
    principal.require_read(Resource::Registrations)?;
    let current: Vec<i64> = version::Entity::find()
        .filter(version::Column::Current.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|v| v.id)
        .collect();
    let mut q = row::Entity::find()
        .filter(condition::<AttributionRows>(principal))
        .filter(row::Column::PartnerId.eq(pid))
        .filter(row::Column::VersionId.is_in(current));
    if let Some(f) = from {
        q = q.filter(row::Column::FinalizedAt.gte(f));
    }
    if let Some(t) = to {
        q = q.filter(row::Column::FinalizedAt.lt(t));
    }
    let rows = q
        .order_by_asc(row::Column::FinalizedAt)
        .order_by_asc(row::Column::Id)
        .all(db)
        .await?;
    let mut totals: BTreeMap<String, (i64, i64, i32)> = BTreeMap::new();
    for r in &rows {
        let t = totals.entry(r.currency.clone()).or_default();
        t.0 += r.amount_minor;
        t.1 += r.incentive_minor;
        t.2 += 1;
    }
    Ok((
        pid,
        rows.into_iter()
            .map(|r| StatementLine {
                opportunity_id: r.opportunity_id,
                row: r,
            })
            .collect(),
        totals
            .into_iter()
            .map(|(currency, (a, i, n))| CurrencyTotal {
                currency,
                attributed_minor: a,
                incentive_minor: i,
                deals: n,
            })
            .collect(),
    ))
}
