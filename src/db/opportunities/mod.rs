//! Opportunities: scoped reads with vendor-internal fields redacted; the vendor's writes and
//! stage moves with history are in `writes`.

mod count;
mod writes;

pub use count::{fold_tally, names, tally, Count};
pub use writes::*;

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::enums::OpportunityStage;
use entity::opportunity::{Column, Entity, Model};
use entity::opportunity_stage_change as stage_change;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, Iterable, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, RelationTrait, Select,
};

use super::page::{self, Ordering, Page, PageArgs, PageLimits, SortKey};
use super::rows::{join_scoped, join_scoped_as, ByPosition, Joined, Second, WithoutLong};
use crate::auth::{Principal, Resource};
use crate::domain::money;
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use entity::{account, threading_assessment};

/// The opportunities `principal` may see: all for the vendor, the deals it is on for a partner.
pub fn scope(principal: &Principal) -> Condition {
    crate::auth::scope::condition::<crate::auth::scope::Opportunities>(principal)
}

/// The opportunities `principal` may see, as a query (any caller; its scope rule filters).
pub fn visible(principal: &Principal) -> Select<Entity> {
    Entity::find().filter(scope(principal))
}

/// The opportunity as `principal` may see it: whole for the vendor; for anyone else the shared
/// deal state, with the vendor-internal fields blank. Every column is named here, so a new one
/// does not compile until someone decides whether partners see it.
pub fn redact(principal: &Principal, m: Model) -> Model {
    if principal.is_vendor_party() {
        return m;
    }
    let Model {
        id,
        account_id,
        name,
        stage,
        amount_minor,
        currency,
        expected_close_date,
        owner,
        region,
        products,
        forecast_notes: _,
        probability: _,
        version,
        created_at,
        updated_at,
        closed_at,
    } = m;
    Model {
        id,
        account_id,
        name,
        stage,
        amount_minor,
        currency,
        expected_close_date,
        owner,
        region,
        products,
        forecast_notes: None,
        probability: None,
        version,
        created_at,
        updated_at,
        closed_at,
    }
}

/// One opportunity as `principal` may see it, redacted for partners (any caller with
/// `opportunities:read`); an invisible id is NOT_FOUND.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(db: &DatabaseConnection, principal: &Principal, id: i64) -> AppResult<Model> {
    principal.require_read(Resource::Opportunities)?;
    let m = visible(principal).filter(Column::Id.eq(id)).one(db).await?;
    m.map(|m| redact(principal, m))
        .ok_or(AppError::NotFound("Opportunity"))
}

/// The visible opportunities among `ids`, by id, redacted for partners (any caller; DataLoaders
/// batch it).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn load(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Model>> {
    let q = visible(principal).filter(Column::Id.is_in(ids.to_vec()));
    let rows: Vec<Model> = crate::db::rows::all(db, &q).await?;
    Ok(rows
        .into_iter()
        .map(|m| (m.id, redact(principal, m)))
        .collect())
}

/// Stage histories of the visible opportunities among `ids`, oldest change first.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn load_history(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<StageChange>>> {
    let visible_ids = visible(principal)
        .select_only()
        .column(Column::Id)
        .into_query();
    let rows = stage_change::Entity::find()
        .filter(stage_change::Column::OpportunityId.is_in(ids.to_vec()))
        .filter(stage_change::Column::OpportunityId.in_subquery(visible_ids))
        .order_by_asc(stage_change::Column::Id)
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<StageChange>> = HashMap::new();
    for r in rows {
        out.entry(r.opportunity_id)
            .or_default()
            .push(StageChange::seen_by(principal, r));
    }
    Ok(out)
}

/// One entry of a deal's stage history as its reader may see it.
#[derive(Clone, Debug)]
pub struct StageChange {
    pub from_stage: Option<entity::enums::OpportunityStage>,
    pub to_stage: entity::enums::OpportunityStage,
    pub changed_at: chrono::DateTime<chrono::Utc>,
    /// Who moved the deal: vendor-internal.
    pub changed_by: Option<String>,
    /// Why: vendor-internal.
    pub reason: Option<String>,
}

impl StageChange {
    /// The vendor sees the whole entry; anyone else only where the deal went and when, built
    /// field by field so that a new column stays internal until it is named here.
    pub fn seen_by(principal: &Principal, m: stage_change::Model) -> Self {
        // Every column named: a new one does not compile until it is placed here.
        let stage_change::Model {
            id: _,
            opportunity_id: _,
            from_stage,
            to_stage,
            changed_by,
            reason,
            changed_at,
        } = m;
        let vendor = principal.is_vendor_party();
        Self {
            from_stage,
            to_stage,
            changed_at,
            changed_by: Some(crate::auth::actor::seen_by_partner_id(
                principal,
                &changed_by,
                None,
            )),
            reason: if vendor { reason } else { None },
        }
    }
}

/// Filters for the opportunity list; all given filters must match.
#[derive(Default, Debug)]
pub struct OpportunityFilter {
    /// Only opportunities in one of these stages.
    pub stage_in: Option<Vec<OpportunityStage>>,
    /// Only opportunities at this account (its global ID, decoded here).
    pub account_id: Option<String>,
    /// Only opportunities owned by this vendor seller (exact match).
    pub owner: Option<String>,
    /// Only opportunities in this region (exact match).
    pub region: Option<String>,
    /// Expected close on or after this date.
    pub close_date_from: Option<NaiveDate>,
    /// Expected close on or before this date.
    pub close_date_to: Option<NaiveDate>,
    /// Amount at least this many minor units (compare within one currency).
    pub amount_min: Option<i64>,
    /// Amount at most this many minor units.
    pub amount_max: Option<i64>,
    /// Only amounts in this ISO 4217 currency.
    pub currency: Option<String>,
    /// Case-insensitive substring of the opportunity's name (at most 200 characters).
    pub name_contains: Option<String>,
}

/// Orders of the opportunity list. Ties are broken by creation order: oldest first in
/// ascending orders, newest first in descending ones. The variant names are part of the
/// cursors.
#[derive(Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum OpportunityOrder {
    /// Oldest first.
    #[default]
    CreatedAsc,
    /// Newest first.
    CreatedDesc,
    /// Least recently changed first.
    UpdatedAsc,
    /// Most recently changed first.
    UpdatedDesc,
    /// Alphabetical by name.
    NameAsc,
    /// Reverse alphabetical by name.
    NameDesc,
    /// Smallest amount first (minor units, whatever the currency).
    AmountAsc,
    /// Largest amount first.
    AmountDesc,
    /// Soonest expected close first.
    CloseDateAsc,
    /// Latest expected close first.
    CloseDateDesc,
}

fn ordering(order: OpportunityOrder) -> (Ordering<Entity>, fn(&Model) -> SortKey) {
    use OpportunityOrder::*;
    let (column, desc, key): (Option<Column>, bool, fn(&Model) -> SortKey) = match order {
        CreatedAsc => (None, false, |_| SortKey::Id),
        CreatedDesc => (None, true, |_| SortKey::Id),
        UpdatedAsc => (Some(Column::UpdatedAt), false, |m| {
            SortKey::Time(m.updated_at)
        }),
        UpdatedDesc => (Some(Column::UpdatedAt), true, |m| {
            SortKey::Time(m.updated_at)
        }),
        NameAsc => (Some(Column::Name), false, |m| SortKey::Text(m.name.clone())),
        NameDesc => (Some(Column::Name), true, |m| SortKey::Text(m.name.clone())),
        AmountAsc => (Some(Column::AmountMinor), false, |m| {
            SortKey::Int(m.amount_minor)
        }),
        AmountDesc => (Some(Column::AmountMinor), true, |m| {
            SortKey::Int(m.amount_minor)
        }),
        CloseDateAsc => (Some(Column::ExpectedCloseDate), false, |m| {
            SortKey::Date(m.expected_close_date)
        }),
        CloseDateDesc => (Some(Column::ExpectedCloseDate), true, |m| {
            SortKey::Date(m.expected_close_date)
        }),
    };
    (
        Ordering {
            name: format!("opportunities:{order:?}"),
            column,
            id: Column::Id,
            desc,
        },
        key,
    )
}

/// Whether a page of opportunities reads their long columns: the product list (JSON) and the
/// vendor's forecast notes (up to 4,000 characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongColumns {
    Read,
    /// Read the other 14 columns only; the rows hold an empty product list and no forecast
    /// notes (see [`WithoutLong`]), so only a selection asking for neither may take this.
    Skip,
}

/// A page of opportunities as [`list`] read it.
pub struct Listed {
    pub page: Page<Model>,
    /// The list's query (scope and filters), for counting it.
    pub query: Select<Entity>,
    /// With [`Joins::accounts`]: the accounts of the page's deals that the caller may see, read
    /// in the page's statement.
    pub accounts: Vec<account::Model>,
    /// With [`Joins::threading`]: the page's kept threading assessments, read in the page's
    /// statement (whether each still holds is the reader's to check, see
    /// `db::contacts::network::summaries_of_kept`).
    pub kept: Option<Vec<threading_assessment::Model>>,
}

/// What [`list`] reads with the page's deals, in the same statement.
#[derive(Clone, Copy, Debug, Default)]
pub struct Joins {
    /// The deals' accounts, under the accounts' own scope.
    pub accounts: bool,
    /// The deals' kept threading assessments, when the caller may read them (they describe
    /// the contact network: `db::contacts::network::may_read_assessments`).
    pub threading: bool,
}

/// A row of a page of deals, as each way of reading it gives it.
trait PageRow: ByPosition {
    fn deal(&self) -> &Model;
    fn split(self) -> Parts;
}

/// A page row's deal, with its account and its kept assessment where they were joined.
type Parts = (
    Model,
    Option<account::Model>,
    Option<threading_assessment::Model>,
);

impl PageRow for Model {
    fn deal(&self) -> &Model {
        self
    }
    fn split(self) -> Parts {
        (self, None, None)
    }
}

impl PageRow for WithoutLong<Model> {
    fn deal(&self) -> &Model {
        &self.0
    }
    fn split(self) -> Parts {
        (self.0, None, None)
    }
}

impl<R: PageRow> PageRow for Joined<R, account::Model> {
    fn deal(&self) -> &Model {
        self.0.deal()
    }
    fn split(self) -> Parts {
        let (deal, _, kept) = self.0.split();
        (deal, self.1, kept)
    }
}

impl<R: PageRow> PageRow for Joined<R, threading_assessment::Model, Second> {
    fn deal(&self) -> &Model {
        self.0.deal()
    }
    fn split(self) -> Parts {
        let (deal, account, _) = self.0.split();
        (deal, account, self.1)
    }
}

/// Reads one page of `select` as rows `R`.
async fn fetch_page<R: PageRow>(
    db: &DatabaseConnection,
    select: Select<Entity>,
    ord: &Ordering<Entity>,
    args: &PageArgs,
    limits: PageLimits,
    key: fn(&Model) -> SortKey,
) -> AppResult<Page<Parts>> {
    let page = page::fetch_as(
        db,
        select,
        ord,
        args,
        limits,
        |r: &R| key(r.deal()),
        |r| r.deal().id,
    )
    .await?;
    Ok(page.map(R::split))
}

/// [`fetch_page`] of rows `R` with the tables `joins` names joined to them.
async fn fetch_joined<R: PageRow>(
    db: &DatabaseConnection,
    select: Select<Entity>,
    ord: &Ordering<Entity>,
    args: &PageArgs,
    limits: PageLimits,
    key: fn(&Model) -> SortKey,
    joins: Joins,
) -> AppResult<Page<Parts>> {
    type Acc<R> = Joined<R, account::Model>;
    type Kept<R> = Joined<R, threading_assessment::Model, Second>;
    match (joins.accounts, joins.threading) {
        (false, false) => fetch_page::<R>(db, select, ord, args, limits, key).await,
        (true, false) => fetch_page::<Acc<R>>(db, select, ord, args, limits, key).await,
        (false, true) => fetch_page::<Kept<R>>(db, select, ord, args, limits, key).await,
        (true, true) => fetch_page::<Kept<Acc<R>>>(db, select, ord, args, limits, key).await,
    }
}

/// `q` narrowed by every filter given.
fn filtered(mut q: Select<Entity>, filter: OpportunityFilter) -> AppResult<Select<Entity>> {
    if let Some(stages) = filter.stage_in {
        q = q.filter(Column::Stage.is_in(stages));
    }
    if let Some(a) = &filter.account_id {
        // A malformed ID is BAD_USER_INPUT; an ID of another type simply matches nothing.
        let account = match ids::decode(a).map_err(|e| e.at("accountId"))? {
            (Kind::Account, id) => id,
            _ => 0,
        };
        q = q.filter(Column::AccountId.eq(account));
    }
    if let Some(o) = filter.owner {
        q = q.filter(Column::Owner.eq(o));
    }
    if let Some(r) = filter.region {
        q = q.filter(Column::Region.eq(r));
    }
    if let Some(d) = filter.close_date_from {
        q = q.filter(Column::ExpectedCloseDate.gte(d));
    }
    if let Some(d) = filter.close_date_to {
        q = q.filter(Column::ExpectedCloseDate.lte(d));
    }
    if let Some(a) = filter.amount_min {
        q = q.filter(Column::AmountMinor.gte(a));
    }
    if let Some(a) = filter.amount_max {
        q = q.filter(Column::AmountMinor.lte(a));
    }
    if let Some(c) = filter.currency.as_deref() {
        q = q.filter(Column::Currency.eq(money::currency(c)?));
    }
    if let Some(n) = filter.name_contains.as_deref() {
        q = q.filter(super::contains_ci(Column::Name, "nameContains", n)?);
    }
    Ok(q)
}

/// A page of the opportunities `principal` may see, with what `joins` names read in the same
/// statement (each under its own rule).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
    filter: OpportunityFilter,
    order: OpportunityOrder,
    args: &PageArgs,
    limits: PageLimits,
    long: LongColumns,
    mut joins: Joins,
) -> AppResult<Listed> {
    principal.require_read(Resource::Opportunities)?;
    let q = filtered(visible(principal), filter)?;
    let (ord, key) = ordering(order);
    let mut select = q.clone();
    if long == LongColumns::Skip {
        select = select.select_only().columns(
            Column::iter().filter(|c| !matches!(c, Column::Products | Column::ForecastNotes)),
        );
    }
    if joins.accounts {
        // The account's own scope decides, in the join, whether it is read (a deal in sight
        // does not by itself put its account in sight).
        select = join_scoped::<_, account::Entity>(
            select,
            entity::opportunity::Relation::Account.def(),
            super::accounts::scope(principal),
        );
    }
    joins.threading &= super::contacts::network::may_read_assessments(principal);
    if joins.threading {
        // A deal's kept assessment is read under the deals' rule on its key, which the deal
        // this row joins to already passed.
        select = join_scoped_as::<_, threading_assessment::Entity, Second>(
            select,
            threading_assessment::Relation::Opportunity.def().rev(),
            crate::auth::scope::Opportunities::kept_of_admitted_deal(),
        );
    }
    let page = match long {
        LongColumns::Read => {
            fetch_joined::<Model>(db, select, &ord, args, limits, key, joins).await
        }
        LongColumns::Skip => {
            fetch_joined::<WithoutLong<Model>>(db, select, &ord, args, limits, key, joins).await
        }
    }?;
    let mut accounts = Vec::new();
    let mut kept = Vec::new();
    let page = page.map(|(m, a, k)| {
        accounts.extend(a);
        kept.extend(k);
        redact(principal, m)
    });
    Ok(Listed {
        page,
        query: q,
        accounts,
        kept: joins.threading.then_some(kept),
    })
}

/// Finds an opportunity by account and exact name (demo loading).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn find_by_name(
    db: &DatabaseConnection,
    account_id: i64,
    name: &str,
) -> AppResult<Option<Model>> {
    Ok(Entity::find()
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::Name.eq(name))
        .one(db)
        .await?)
}
