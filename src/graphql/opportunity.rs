//! Opportunities in the GraphQL schema.

use async_graphql::{Context, Object, Result, SimpleObject, ID};
use entity::enums::{OpportunityStage, RegistrationRole};
use entity::opportunity::Model;

use super::account::Account;
use super::connection::{self, connection, TotalCount};
use super::inputs::opportunity::{
    CreateOpportunityInput, MoveOpportunityStageInput, OpportunityFilter, OpportunityOrder,
    ReopenOpportunityInput, UpdateOpportunityInput,
};
use super::registration::Registration;
use super::{db, loaders, page_limits, principal};
use crate::db::opportunities as data;
use crate::domain::money;
use crate::error::AppError;
use crate::ids::{self, Kind};
use crate::scalars::{Date, DateTime, MinorUnits};

/// An amount of money.
pub struct Money {
    minor: i64,
    currency: String,
}

impl Money {
    pub fn new(minor: i64, currency: impl Into<String>) -> Self {
        Self {
            minor,
            currency: currency.into(),
        }
    }
}

/// An amount of money.
#[Object]
impl Money {
    /// Integer minor units of `currency` (cents for USD, yen for JPY).
    async fn amount(&self) -> MinorUnits {
        MinorUnits(self.minor)
    }
    /// ISO 4217 currency code.
    async fn currency(&self) -> &str {
        &self.currency
    }
    /// The amount as a decimal string in major units, e.g. "1250.00".
    async fn decimal(&self) -> String {
        money::format_decimal(self.minor, &self.currency)
    }
}

/// Whether a page whose nodes select `nodes` (`None`: no nodes at all) reads the long columns:
/// only when a field answered from them is asked for (through fragments and aliases too).
fn long_columns(nodes: Option<&async_graphql::Lookahead<'_>>) -> data::LongColumns {
    match nodes {
        Some(sel) if sel.field("products").exists() || sel.field("forecastNotes").exists() => {
            data::LongColumns::Read
        }
        _ => data::LongColumns::Skip,
    }
}

/// A potential sale at one customer account.
#[derive(Clone)]
pub struct Opportunity(pub Model);

impl From<Model> for Opportunity {
    fn from(m: Model) -> Self {
        Self(m)
    }
}

/// A potential sale at one customer account.
#[Object]
impl Opportunity {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Opportunity, self.0.id).into()
    }
    /// Deal name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The customer account.
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let a = loaders(ctx).accounts.load_one(self.0.account_id).await?;
        a.map(Account)
            .ok_or_else(|| AppError::NotFound("Account").into())
    }
    /// Where the deal stands in the sales cycle.
    async fn stage(&self) -> OpportunityStage {
        self.0.stage
    }
    /// Deal value.
    async fn amount(&self) -> Money {
        Money::new(self.0.amount_minor, self.0.currency.as_str())
    }
    /// When the deal is expected to close.
    async fn expected_close_date(&self) -> Date {
        Date(self.0.expected_close_date)
    }
    /// The vendor seller who owns the deal.
    async fn owner(&self) -> &str {
        &self.0.owner
    }
    /// Sales region.
    async fn region(&self) -> Option<&str> {
        self.0.region.as_deref()
    }
    /// Product names on the deal.
    async fn products(&self) -> Vec<String> {
        serde_json::from_value(self.0.products.clone()).unwrap_or_default()
    }
    /// Vendor-internal forecast commentary; always null for partners.
    async fn forecast_notes(&self) -> Option<&str> {
        self.0.forecast_notes.as_deref()
    }
    /// Vendor-internal win probability in percent; always null for partners.
    async fn probability(&self) -> Option<i32> {
        self.0.probability
    }
    /// Every stage the deal has been in, oldest first; for the vendor also who moved it and why.
    async fn stage_history(&self, ctx: &Context<'_>) -> Result<Vec<OpportunityStageChange>> {
        let h = loaders(ctx).stage_history.load_one(self.0.id).await?;
        Ok(h.unwrap_or_default()
            .into_iter()
            .map(OpportunityStageChange)
            .collect())
    }
    /// How the deal's credit and incentives split between its parties: a live preview while
    /// open, frozen when won. Partners see only their own row.
    async fn attribution(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<super::attribution::Attribution>> {
        Ok(loaders(ctx)
            .attribution
            .load_one(self.0.id)
            .await?
            .map(super::attribution::split))
    }
    /// How well the deal is multi-threaded: score, coverage and named risks, as they stand today.
    /// Part of the shared deal state partners see; it counts every party's contacts and
    /// engagements but never names what you may not see.
    async fn threading(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<super::threading::ThreadingAssessment>> {
        let a = loaders(ctx).threading.load_one(self.0.id).await?;
        Ok(a.map(|a| super::threading::assessment(ctx, self.0.id, a)))
    }
    /// The roles held on the deal (APPROVED or WON registrations), whoever holds them: part of
    /// the shared deal state partners see, which never names the partners.
    async fn roles_filled(&self, ctx: &Context<'_>) -> Result<Vec<RegistrationRole>> {
        Ok(loaders(ctx)
            .roles_filled
            .load_one(self.0.id)
            .await?
            .unwrap_or_default())
    }
    /// The registrations on this deal you may see: all for the vendor, your own for a partner.
    async fn registrations(&self, ctx: &Context<'_>) -> Result<Vec<Registration>> {
        let l = loaders(ctx);
        let r = if super::registration::summary_only(ctx.field()) {
            l.opportunity_registration_summaries
                .load_one(self.0.id)
                .await?
        } else {
            l.opportunity_registrations.load_one(self.0.id).await?
        };
        Ok(r.unwrap_or_default()
            .into_iter()
            .map(Registration::without_texts)
            .collect())
    }
    /// Optimistic-concurrency version; pass it as `expectedVersion` when changing the deal.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the opportunity was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When the opportunity was last changed.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// When the deal reached a closed stage; null while it is open.
    async fn closed_at(&self) -> Option<DateTime> {
        self.0.closed_at.map(DateTime)
    }
}

/// One entry in an opportunity's stage history.
pub struct OpportunityStageChange(pub crate::db::opportunities::StageChange);

/// One entry in an opportunity's stage history. Partners see where the deal went and when;
/// who moved it and why are the vendor's.
#[Object]
impl OpportunityStageChange {
    /// The stage before the change; null for the entry made when the opportunity was created.
    async fn from_stage(&self) -> Option<OpportunityStage> {
        self.0.from_stage
    }
    /// The stage after the change.
    async fn to_stage(&self) -> OpportunityStage {
        self.0.to_stage
    }
    /// Who made the change: the token subject, or `system:*`; partners read `vendor` in place
    /// of the vendor's people.
    async fn changed_by(&self) -> Option<&str> {
        self.0.changed_by.as_deref()
    }
    /// Why, if a reason was given; always null for partners.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// When the change happened.
    async fn changed_at(&self) -> DateTime {
        DateTime(self.0.changed_at)
    }
}

connection!(OpportunityConnection, OpportunityEdge, Opportunity, Model);

/// The result of an opportunity change.
#[derive(SimpleObject)]
pub struct OpportunityPayload {
    /// The opportunity as it is after the change.
    pub opportunity: Opportunity,
}

/// The stages a filter keeps, whether it filters on anything but stages and names, and the
/// name it searches for. Every field is named: a new filter does not compile until someone
/// decides how lists filtered by it are counted.
fn count_filters(f: &OpportunityFilter) -> (Option<&[OpportunityStage]>, bool, Option<&str>) {
    let OpportunityFilter {
        stage_in,
        account_id,
        owner,
        region,
        close_date_from,
        close_date_to,
        amount_min,
        amount_max,
        currency,
        name_contains,
    } = f;
    let others = account_id.is_some()
        || owner.is_some()
        || region.is_some()
        || close_date_from.is_some()
        || close_date_to.is_some()
        || amount_min.is_some()
        || amount_max.is_some()
        || currency.is_some();
    (stage_in.as_deref(), others, name_contains.as_deref())
}

#[derive(Default)]
pub struct OpportunityQuery;

#[Object]
impl OpportunityQuery {
    /// Opportunities you may see: all of them for the vendor; partners see the deals they
    /// hold a registration on.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn opportunities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only opportunities matching all of these filters.")] filter: Option<
            OpportunityFilter,
        >,
        #[graphql(desc = "Sort order; CREATED_ASC by default.")] order_by: Option<OpportunityOrder>,
        #[graphql(desc = "Page size counted from the start or from `after` (1 to 100).")]
        first: Option<i32>,
        #[graphql(desc = "Return items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Page size counted back from the end or from `before` (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Return items before this cursor.")] before: Option<String>,
    ) -> Result<OpportunityConnection> {
        let args = connection::page_args(first, after, last, before);
        let count = match &filter {
            None => data::Count::plan(principal(ctx), None, false, None),
            Some(f) => {
                let (stages, others, name) = count_filters(f);
                data::Count::plan(principal(ctx), stages, others, name)
            }
        };
        let nodes = super::prefetch::connection_nodes(ctx);
        // The deals' accounts come in the page's statement when the nodes ask for them and
        // the rows stay for the request (a query).
        let asks = |field: &str| {
            loaders(ctx).cached() && nodes.as_ref().is_some_and(|s| s.field(field).exists())
        };
        // So do their kept threading assessments, when the nodes ask for `threading`.
        let joins = data::Joins {
            accounts: asks("account"),
            threading: asks("threading"),
        };
        let listed = data::list(
            db(ctx),
            principal(ctx),
            filter.map(Into::into).unwrap_or_default(),
            order_by.map(Into::into).unwrap_or_default(),
            &args,
            page_limits(ctx),
            long_columns(nodes.as_ref()),
            joins,
        )
        .await?;
        let (page, q) = (listed.page, listed.query);
        let l = loaders(ctx);
        if joins.accounts {
            let accounts = listed.accounts.into_iter();
            l.accounts
                .feed_many(accounts.map(|a| (a.id, std::sync::Arc::new(a))))
                .await;
        }
        let threading_read = listed.kept.is_some();
        if let Some(kept) = listed.kept {
            let ids: Vec<i64> = page.items.iter().map(|(_, m)| m.id).collect();
            let found = l.threading.loader().from_kept(&ids, kept).await?;
            l.threading.feed_many(found).await;
        }
        if let Some(sel) = nodes {
            let rows: Vec<&Model> = page.items.iter().map(|(_, m)| m).collect();
            let read = super::prefetch::Read {
                accounts: joins.accounts,
                threading: threading_read,
                ..Default::default()
            };
            super::prefetch::opportunities(ctx, &rows, sel, read).await?;
        }
        let db = db(ctx).clone();
        let who = principal(ctx).clone();
        let total = match count {
            data::Count::Rows => TotalCount::of(&db, q),
            plan => TotalCount::by(move || {
                let (db, plan, who) = (db.clone(), plan.clone(), who.clone());
                Box::pin(async move {
                    match plan {
                        data::Count::Tally(stages) => data::tally(&db, stages.as_deref()).await,
                        data::Count::DealsOf(p) => {
                            crate::db::registrations::count_deals(&db, p).await
                        }
                        data::Count::Names(needle) => data::names(&db, &who, &needle).await,
                        data::Count::Rows => unreachable!("counted by its query above"),
                    }
                })
            }),
        };
        Ok(OpportunityConnection::new(page, total))
    }

    /// One opportunity by ID. An unknown ID and one you may not see both answer NOT_FOUND.
    async fn opportunity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The opportunity's ID.")] id: ID,
    ) -> Result<Opportunity> {
        let id = ids::decode_field(&id, Kind::Opportunity, "id")?;
        Ok(data::get(db(ctx), principal(ctx), id).await?.into())
    }
}

#[derive(Default)]
pub struct OpportunityMutation;

#[Object]
impl OpportunityMutation {
    /// Creates an opportunity at an account (any vendor role). Its first stage is recorded in
    /// the stage history.
    async fn create_opportunity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new opportunity.")] input: CreateOpportunityInput,
    ) -> Result<OpportunityPayload> {
        let (db, p) = (db(ctx).clone(), principal(ctx).grant()?);
        let m = crate::graphql::write(
            ctx,
            async move { data::create(&db, &p, input.into()).await },
        )
        .await?;
        Ok(OpportunityPayload {
            opportunity: m.into(),
        })
    }

    /// Changes an opportunity's fields (any vendor role). Use moveOpportunityStage for the stage.
    async fn update_opportunity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change.")] input: UpdateOpportunityInput,
    ) -> Result<OpportunityPayload> {
        let (db, p) = (db(ctx).clone(), principal(ctx).grant()?);
        let m = crate::graphql::write(
            ctx,
            async move { data::update(&db, &p, input.into()).await },
        )
        .await?;
        Ok(OpportunityPayload {
            opportunity: m.into(),
        })
    }

    /// Moves an open opportunity to another stage, recording it in the stage history (any
    /// vendor role). A closed opportunity answers CONFLICT: only reopenOpportunity moves it.
    async fn move_opportunity_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The opportunity, its version and the new stage.")]
        input: MoveOpportunityStageInput,
    ) -> Result<OpportunityPayload> {
        let MoveOpportunityStageInput {
            id,
            expected_version,
            stage,
            reason,
        } = input;
        stage_change(ctx, id, expected_version, stage, reason, false).await
    }

    /// Reopens a CLOSED_WON or CLOSED_LOST opportunity into an open stage (vendor ADMIN only,
    /// with a reason).
    async fn reopen_opportunity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The closed opportunity, its version, the open stage and why.")]
        input: ReopenOpportunityInput,
    ) -> Result<OpportunityPayload> {
        let ReopenOpportunityInput {
            id,
            expected_version,
            stage,
            reason,
        } = input;
        stage_change(ctx, id, expected_version, stage, Some(reason), true).await
    }
}

/// A stage move (or, with `reopen`, the reopening of a closed deal) as one shielded write.
async fn stage_change(
    ctx: &Context<'_>,
    id: ID,
    expected_version: i32,
    stage: OpportunityStage,
    reason: Option<String>,
    reopen: bool,
) -> Result<OpportunityPayload> {
    let (db, p) = (db(ctx).clone(), principal(ctx));
    let m = if reopen {
        let g = p.grant()?;
        crate::graphql::write(ctx, async move {
            let reason = reason.as_deref();
            data::reopen(&db, &g, &id, expected_version, stage, reason).await
        })
        .await?
    } else {
        let g = p.grant()?;
        crate::graphql::write(ctx, async move {
            let reason = reason.as_deref();
            data::move_stage(&db, &g, &id, expected_version, stage, reason).await
        })
        .await?
    };
    Ok(OpportunityPayload {
        opportunity: m.into(),
    })
}
