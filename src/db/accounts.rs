//! Customer accounts: scoped reads, vendor writes, unique normalised domains.

use std::collections::HashMap;

use chrono::Utc;
use entity::account::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, Select,
    Set,
};

use super::events::{self, NewEvent, Topic};
use super::page::{self, Ordering, Page, PageArgs, PageLimits, SortKey};
use crate::auth::scope::{self, Accounts};
use crate::auth::{can, Grant};
use crate::auth::{Principal, Resource};
use crate::db::events::payload::{self, AccountSnapshot};
use crate::domain::{account::normalise_domain, text};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

/// The accounts `principal` may see: all for the vendor, those of its deals for a partner.
pub fn scope(principal: &Principal) -> Condition {
    crate::auth::scope::condition::<crate::auth::scope::Accounts>(principal)
}

/// The accounts `principal` may see, as a query (any caller; its scope rule filters).
pub fn visible(principal: &Principal) -> Select<Entity> {
    Entity::find().filter(scope(principal))
}

/// One account `principal` may see (any caller with `accounts:read`); an invisible id is NOT_FOUND.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(db: &DatabaseConnection, principal: &Principal, id: i64) -> AppResult<Model> {
    principal.require_read(Resource::Accounts)?;
    visible(principal)
        .filter(Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("Account"))
}

/// The visible accounts among `ids`, by id (any caller; DataLoaders batch it).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn load(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Model>> {
    let q = visible(principal).filter(Column::Id.is_in(ids.to_vec()));
    let rows: Vec<Model> = super::rows::all(db, &q).await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// Filters for the account list.
#[derive(Default, Debug)]
pub struct AccountFilter {
    /// Case-insensitive substring of the account's name (at most 200 characters).
    pub name_contains: Option<String>,
    /// Exact web domain; normalised first, so `https://www.acme.com/` finds `acme.com`.
    pub domain: Option<String>,
    /// Exact industry label.
    pub industry: Option<String>,
    /// Exact region label.
    pub region: Option<String>,
}

/// Orders of the account list. The variant names are part of the cursors.
#[derive(Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum AccountOrder {
    /// Alphabetical by name.
    #[default]
    NameAsc,
    /// Reverse alphabetical by name.
    NameDesc,
    /// Oldest first.
    CreatedAsc,
    /// Newest first.
    CreatedDesc,
}

/// A page of the accounts `principal` may see, with the query behind it (any caller with
/// `accounts:read`).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
    filter: AccountFilter,
    order: AccountOrder,
    args: &PageArgs,
    limits: PageLimits,
) -> AppResult<(Page<Model>, Select<Entity>)> {
    principal.require_read(Resource::Accounts)?;
    let mut q = visible(principal);
    if let Some(n) = filter.name_contains.as_deref() {
        q = q.filter(super::contains_ci(Column::Name, "nameContains", n)?);
    }
    if let Some(d) = filter.domain.as_deref() {
        q = q.filter(Column::Domain.eq(normalise_domain(d)?));
    }
    if let Some(i) = filter.industry {
        q = q.filter(Column::Industry.eq(i));
    }
    if let Some(r) = filter.region {
        q = q.filter(Column::Region.eq(r));
    }
    let (column, desc) = match order {
        AccountOrder::NameAsc => (Some(Column::Name), false),
        AccountOrder::NameDesc => (Some(Column::Name), true),
        AccountOrder::CreatedAsc => (None, false),
        AccountOrder::CreatedDesc => (None, true),
    };
    let ord = Ordering {
        name: format!("accounts:{order:?}"),
        column,
        id: Column::Id,
        desc,
    };
    let key = move |m: &Model| {
        if column.is_some() {
            SortKey::Text(m.name.clone())
        } else {
            SortKey::Id
        }
    };
    let page = page::fetch(db, q.clone(), &ord, args, limits, key, |m| m.id).await?;
    Ok((page, q))
}

/// A new customer account.
#[derive(Debug)]
pub struct CreateAccount {
    /// Company name (1 to 200 characters).
    pub name: String,
    /// Web domain, e.g. `acme.com`; normalised (lower case, no scheme, no `www.`) and unique.
    pub domain: String,
    /// Industry label, e.g. "Manufacturing".
    pub industry: Option<String>,
    /// Sales region label, e.g. "EMEA".
    pub region: Option<String>,
}

/// Changes to an account. Omitted fields keep their value; an empty string clears an optional
/// label.
#[derive(Debug)]
pub struct UpdateAccount {
    /// The account's global ID, decoded here.
    pub id: String,
    /// The version you read; the change is refused with VERSION_MISMATCH if it moved on.
    pub expected_version: i32,
    /// New company name.
    pub name: Option<String>,
    /// New web domain (normalised and unique).
    pub domain: Option<String>,
    /// New industry label.
    pub industry: Option<String>,
    /// New region label.
    pub region: Option<String>,
}

fn duplicate(domain: &str) -> String {
    format!("an account with domain {domain} already exists")
}

/// Creates an account (vendor sellers, through the `EditAccounts` grant); returns it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    db: &DatabaseConnection,
    grant: &Grant<can::EditAccounts>,
    input: CreateAccount,
) -> AppResult<Model> {
    let principal = grant.principal();
    let name = text::required("name", &input.name, 200)?;
    let domain = normalise_domain(&input.domain)?;
    let industry = text::optional("industry", input.industry.as_deref(), 100)?;
    let region = text::optional("region", input.region.as_deref(), 100)?;
    let txn = super::begin_write(db).await?;
    let model = insert_in(&txn, principal, name, domain, industry, region).await?;
    txn.commit().await?;
    Ok(model)
}

/// Inserts an account and its event inside the caller's transaction.
pub(in crate::db) async fn insert_in<C: sea_orm::ConnectionTrait>(
    txn: &C,
    principal: &Principal,
    name: String,
    domain: String,
    industry: Option<String>,
    region: Option<String>,
) -> AppResult<Model> {
    let now = Utc::now();
    let model = ActiveModel {
        name: Set(name),
        domain: Set(domain.clone()),
        industry: Set(industry),
        region: Set(region),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(|e| AppError::unique_or(e, duplicate(&domain)))?;
    index_name(txn, model.id, &model.name).await?;
    let ev = NewEvent::new(
        Topic::AccountCreated,
        scope::heard::<Accounts, _>(txn, &model).await?,
        ids::encode(Kind::Account, model.id),
        &payload::AccountChanged {
            before: None,
            account: AccountSnapshot::of(&model),
        },
    );
    events::append(txn, principal, ev).await?;
    Ok(model)
}

/// Changes an account (vendor sellers, through the `EditAccounts` grant); returns it as it now
/// stands.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    db: &DatabaseConnection,
    grant: &Grant<can::EditAccounts>,
    input: UpdateAccount,
) -> AppResult<Model> {
    let principal = grant.principal();
    let id = ids::decode_field(&input.id, Kind::Account, "id")?;
    let mut changes = <ActiveModel as Default>::default();
    let mut new_domain = None;
    if let Some(n) = &input.name {
        changes.name = Set(text::required("name", n, 200)?);
    }
    if let Some(d) = &input.domain {
        let d = normalise_domain(d)?;
        changes.domain = Set(d.clone());
        new_domain = Some(d);
    }
    if let Some(i) = &input.industry {
        changes.industry = Set(text::optional("industry", Some(i), 100)?);
    }
    if let Some(r) = &input.region {
        changes.region = Set(text::optional("region", Some(r), 100)?);
    }
    let txn = super::begin_write(db).await?;
    let before = Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("Account"))?;
    super::check_version("Account", input.expected_version, before.version)?;
    changes.updated_at = Set(Utc::now());
    let after = super::update_versioned(
        &txn,
        "Account",
        changes,
        Column::Id,
        Column::Version,
        id,
        before.version,
    )
    .await
    .map_err(|e| match e {
        AppError::Db(e) => {
            AppError::unique_or(e, duplicate(new_domain.as_deref().unwrap_or_default()))
        }
        other => other,
    })?;
    if after.name != before.name {
        index_name(&txn, id, &after.name).await?;
    }
    let ev = NewEvent::new(
        Topic::AccountUpdated,
        scope::heard::<Accounts, _>(&txn, &after).await?,
        ids::encode(Kind::Account, id),
        &payload::AccountChanged {
            before: Some(AccountSnapshot::of(&before)),
            account: AccountSnapshot::of(&after),
        },
    );
    events::append(&txn, principal, ev).await?;
    txn.commit().await?;
    Ok(after)
}

/// Finds an account by normalised domain (demo loading).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn find_by_domain(db: &DatabaseConnection, domain: &str) -> AppResult<Option<Model>> {
    Ok(Entity::find()
        .filter(Column::Domain.eq(domain))
        .one(db)
        .await?)
}

/// Finds an account by normalised domain inside a transaction.
pub async fn find_by_domain_in<C: sea_orm::ConnectionTrait>(
    conn: &C,
    domain: &str,
) -> AppResult<Option<Model>> {
    Ok(Entity::find()
        .filter(Column::Domain.eq(domain))
        .one(conn)
        .await?)
}

/// Replaces the name keys of account `id` (see [`crate::domain::registration::name_keys`]), in
/// the transaction that sets its name.
pub async fn index_name<C: sea_orm::ConnectionTrait>(
    conn: &C,
    id: i64,
    name: &str,
) -> AppResult<()> {
    use entity::account_name_key as key;
    key::Entity::delete_many()
        .filter(key::Column::AccountId.eq(id))
        .exec(conn)
        .await?;
    let rows: Vec<key::ActiveModel> = crate::domain::registration::name_keys(name)
        .into_iter()
        .map(|k| key::ActiveModel {
            key: Set(k),
            account_id: Set(id),
        })
        .collect();
    if !rows.is_empty() {
        key::Entity::insert_many(rows).exec(conn).await?;
    }
    Ok(())
}

/// Gives name keys to accounts that have none (accounts from before the keys existed), a
/// thousand at a time. Run at start-up, after the migrations; accounts whose name has no
/// letters or digits have no keys and are looked at again each time.
pub async fn backfill_name_keys(db: &DatabaseConnection) -> AppResult<u64> {
    use entity::account_name_key as key;
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    use sea_orm::{QueryOrder, QuerySelect, TransactionTrait};
    let mut after = 0i64;
    let mut done = 0u64;
    loop {
        let keyed = Query::select()
            .expr(Expr::val(1))
            .from(key::Entity)
            .and_where(
                Expr::col((key::Entity, key::Column::AccountId)).equals((Entity, Column::Id)),
            )
            .to_owned();
        let batch: Vec<(i64, String)> = Entity::find()
            .select_only()
            .column(Column::Id)
            .column(Column::Name)
            .filter(Column::Id.gt(after))
            .filter(Expr::exists(keyed).not())
            .order_by_asc(Column::Id)
            .limit(1_000)
            .into_tuple()
            .all(db)
            .await?;
        let Some((last, _)) = batch.last() else {
            return Ok(done);
        };
        after = *last;
        let txn = db.begin().await?;
        for (id, name) in &batch {
            index_name(&txn, *id, name).await?;
        }
        txn.commit().await?;
        done += batch.len() as u64;
    }
}
