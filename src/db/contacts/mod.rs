//! Contacts, the links between them and the engagements with them. A partner sees the contacts
//! it sourced and those shared with the parties of deals it is on, and only its own
//! engagements; the vendor sees everything.

pub mod engagements;
pub mod links;
pub mod network;
pub mod writes;

use std::collections::HashMap;

use entity::contact::{Column, Entity, Model};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Select,
};

use entity::enums::ContactStatus;

use super::page::{self, Count, Ordering, Page, PageArgs, PageLimits, SortKey};
use crate::auth::{Principal, Resource};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

pub use crate::auth::scope::accounts_of_partner;

/// The contacts `principal` may see.
pub fn scope(principal: &Principal) -> Condition {
    crate::auth::scope::condition::<crate::auth::scope::Contacts>(principal)
}

/// The contacts `principal` may see, as a query (any caller; its scope rule filters).
pub fn visible(principal: &Principal) -> Select<Entity> {
    Entity::find().filter(scope(principal))
}

/// One contact `principal` may see, read on `conn` (any caller with `contacts:read`); an invisible
/// id is NOT_FOUND.
pub async fn get<C: ConnectionTrait>(conn: &C, principal: &Principal, id: i64) -> AppResult<Model> {
    principal.require_read(Resource::Contacts)?;
    visible(principal)
        .filter(Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("Contact"))
}

/// The visible contacts among `ids`, by id (any caller; DataLoaders batch it).
pub async fn load(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Model>> {
    let rows = visible(principal)
        .filter(Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// Folds the contact tallies: contacts per source (migration 36) and shared contacts per
/// partner (migration 38); see `db::tally::fold`. Returns how many rows it folded.
pub async fn fold_tally(db: &DatabaseConnection) -> AppResult<u64> {
    fold_tally_above(db, super::tally::FOLD_ABOVE).await
}

/// [`fold_tally`], folding each tally that holds more than `above` rows beyond one per key.
pub(crate) async fn fold_tally_above(db: &DatabaseConnection, above: i64) -> AppResult<u64> {
    Ok(
        super::tally::fold(db, "contact_tally", "sourced_by", above).await?
            + super::tally::fold(db, "partner_shared_tally", "partner_id", above).await?,
    )
}

/// The order of contact pages (the top-level list and each account's): by id, oldest first.
pub const ORDERING: &str = "contacts:id";

/// The first `n` visible contacts of each of the accounts `ids` (by id, with one more when
/// more follow) and how many each has, in one statement for the whole batch.
pub async fn first_by_account(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
    n: u64,
) -> AppResult<HashMap<i64, (Vec<Model>, u64)>> {
    use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query};
    use sea_orm::{Iterable, QuerySelect, QueryTrait};
    principal.require_read(Resource::Contacts)?;
    let ranked = visible(principal)
        .filter(Column::AccountId.is_in(ids.to_vec()))
        .select_only()
        .columns(Column::iter())
        .expr_as(
            Expr::cust("ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY id)"),
            "page_rank",
        )
        .expr_as(
            Expr::cust("COUNT(*) OVER (PARTITION BY account_id)"),
            "page_total",
        )
        .into_query();
    let q = Query::select()
        .column(Asterisk)
        .from_subquery(ranked, Alias::new("ranked"))
        .and_where(Expr::col(Alias::new("page_rank")).lte(n as i64 + 1))
        .order_by(Alias::new("account_id"), sea_orm::Order::Asc)
        .order_by(Alias::new("id"), sea_orm::Order::Asc)
        .to_owned();
    let rows = db
        .query_all_raw(db.get_database_backend().build(&q))
        .await?;
    let models: Vec<Model> = super::rows::read(&rows)?;
    let mut out: HashMap<i64, (Vec<Model>, u64)> = HashMap::new();
    for (row, m) in rows.iter().zip(models) {
        let total: i64 = row.try_get("", "page_total")?;
        let entry = out
            .entry(m.account_id)
            .or_insert_with(|| (Vec::new(), u64::try_from(total).unwrap_or(0)));
        entry.0.push(m);
    }
    Ok(out)
}

/// Lower-cases and checks an email address.
/// Filters on the contact list; all given must match.
#[derive(Debug, Default)]
pub struct ContactFilter {
    /// Contacts at this account (its global ID). An ID of another type matches nothing.
    pub account_id: Option<String>,
    /// Contacts in one of these statuses.
    pub status_in: Option<Vec<ContactStatus>>,
    /// Contacts changed at or after this time: what an incremental sync asks for.
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
}

/// A page of the contacts `principal` may see, oldest first (a stable order for a sync), and
/// how its `totalCount` is made: a partner's whole list by its scope's count
/// ([`Contacts::count`](crate::auth::scope::Contacts::count)), any other by counting its query.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
    filter: ContactFilter,
    args: &PageArgs,
    limits: PageLimits,
) -> AppResult<(Page<Model>, Count<Entity>)> {
    use crate::auth::scope::{Contacts, Rule};
    principal.require_read(Resource::Contacts)?;
    let mut q = visible(principal);
    let whole =
        filter.account_id.is_none() && filter.status_in.is_none() && filter.updated_since.is_none();
    if let Some(a) = &filter.account_id {
        let account = match ids::decode(a).map_err(|e| e.at("accountId"))? {
            (Kind::Account, id) => id,
            _ => 0,
        };
        q = q.filter(Column::AccountId.eq(account));
    }
    if let Some(s) = filter.status_in {
        q = q.filter(Column::Status.is_in(s));
    }
    if let Some(t) = filter.updated_since {
        q = q.filter(Column::UpdatedAt.gte(t));
    }
    let ord = Ordering {
        name: ORDERING.into(),
        column: None,
        id: Column::Id,
        desc: false,
    };
    let page = page::fetch(db, q.clone(), &ord, args, limits, |_| SortKey::Id, |m| m.id).await?;
    let count = match Contacts::count(Contacts::view(principal)) {
        Some(statement) if whole => Count::Statement(statement),
        _ => Count::Rows(q),
    };
    Ok((page, count))
}

/// Checks an email address (contact writers); returns it trimmed, and lower-cased as the key that
/// matches it however it is capitalised.
pub fn email_key(email: &str) -> AppResult<(String, String)> {
    let e = email.trim();
    let (local, domain) = e
        .split_once('@')
        .ok_or_else(|| AppError::bad_field("email", format!("`{e}` is not an email address")))?;
    if local.is_empty()
        || domain.is_empty()
        || !domain.contains('.')
        || e.len() > 254
        || e.contains(char::is_whitespace)
    {
        return Err(AppError::bad_field(
            "email",
            format!("`{e}` is not an email address"),
        ));
    }
    Ok((e.to_string(), e.to_lowercase()))
}
