//! Vendor writes to opportunities: create, update and stage moves, each one transaction with
//! its event and, for stage moves, the history row.

use chrono::{NaiveDate, Utc};
use entity::enums::OpportunityStage;
use entity::opportunity::{ActiveModel, Column, Entity, Model};
use entity::opportunity_stage_change as stage_change;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, Set,
};
use serde_json::json;

use crate::auth::scope::{self, Heard, Opportunities, Subject};
use crate::auth::Principal;
use crate::auth::{can, Grant};
use crate::db::events::payload::{self, OpportunitySnapshot};
use crate::db::events::{self, NewEvent, Topic};
use crate::domain::{money, opportunity as rules, text};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

/// A new opportunity.
#[derive(Debug)]
pub struct CreateOpportunity {
    /// The customer account's global ID, decoded here.
    pub account_id: String,
    /// Deal name (1 to 200 characters).
    pub name: String,
    /// Starting stage; PROSPECTING when omitted.
    pub stage: Option<OpportunityStage>,
    /// Deal value in minor units of `currency`.
    pub amount: i64,
    /// ISO 4217 currency code, e.g. "USD".
    pub currency: String,
    /// When the deal is expected to close.
    pub expected_close_date: NaiveDate,
    /// The vendor seller who owns the deal; the caller when omitted.
    pub owner: Option<String>,
    /// Sales region; the account's region when omitted.
    pub region: Option<String>,
    /// Product names on the deal (at most 50).
    pub products: Vec<String>,
    /// Vendor-internal forecast commentary, never shown to partners.
    pub forecast_notes: Option<String>,
    /// Vendor-internal win probability in percent (0 to 100), never shown to partners.
    pub probability: Option<i32>,
}

/// Changes to an opportunity's fields. Omitted fields keep their value. The stage changes only
/// through [`move_stage`] and [`reopen`].
#[derive(Debug)]
pub struct UpdateOpportunity {
    /// The opportunity's global ID, decoded here.
    pub id: String,
    /// The version you read; the change is refused with VERSION_MISMATCH if it moved on.
    pub expected_version: i32,
    /// New deal name.
    pub name: Option<String>,
    /// New amount in minor units.
    pub amount: Option<i64>,
    /// New ISO 4217 currency code.
    pub currency: Option<String>,
    /// New expected close date.
    pub expected_close_date: Option<NaiveDate>,
    /// New owning vendor seller.
    pub owner: Option<String>,
    /// New region; an empty string clears it.
    pub region: Option<String>,
    /// Replaces the product list.
    pub products: Option<Vec<String>>,
    /// New forecast commentary; an empty string clears it.
    pub forecast_notes: Option<String>,
    /// New win probability in percent.
    pub probability: Option<i32>,
}

async fn record_stage<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    opp: &Model,
    from: Option<OpportunityStage>,
    reason: Option<String>,
) -> AppResult<()> {
    stage_change::ActiveModel {
        opportunity_id: Set(opp.id),
        from_stage: Set(from),
        to_stage: Set(opp.stage),
        changed_by: Set(principal.subject.clone()),
        reason: Set(reason),
        changed_at: Set(opp.updated_at),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Creates an opportunity (vendor sellers, through the `EditOpportunities` grant); returns it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    db: &DatabaseConnection,
    grant: &Grant<can::EditOpportunities>,
    input: CreateOpportunity,
) -> AppResult<Model> {
    let principal = grant.principal();
    let account_id = ids::decode_as(&input.account_id, Kind::Account)
        .map_err(|_| AppError::bad_field("accountId", "accountId names no account"))?;
    let name = text::required("name", &input.name, 200)?;
    let currency = money::currency(&input.currency)?;
    let amount = money::amount("amount", input.amount)?;
    let owner = text::required(
        "owner",
        input.owner.as_deref().unwrap_or(&principal.subject),
        200,
    )?;
    let products = text::labels("products", &input.products, 50, 100)?;
    let forecast_notes = text::optional("forecastNotes", input.forecast_notes.as_deref(), 4000)?;
    let probability = rules::probability(input.probability)?;
    let stage = input.stage.unwrap_or(OpportunityStage::Prospecting);
    let txn = crate::db::begin_write(db).await?;
    let account = entity::account::Entity::find_by_id(account_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::bad_field("accountId", "accountId names no account"))?;
    let region = match input.region.as_deref() {
        Some(r) => text::optional("region", Some(r), 100)?,
        None => account.region.clone(),
    };
    let fields = NewOpportunity {
        account_id,
        name,
        stage,
        amount_minor: amount,
        currency,
        expected_close_date: input.expected_close_date,
        owner,
        region,
        products,
        forecast_notes,
        probability,
    };
    let model = insert_in(&txn, principal, fields).await?;
    txn.commit().await?;
    Ok(model)
}

/// Checked fields of a new opportunity.
pub struct NewOpportunity {
    pub account_id: i64,
    pub name: String,
    pub stage: OpportunityStage,
    pub amount_minor: i64,
    pub currency: String,
    pub expected_close_date: NaiveDate,
    pub owner: String,
    pub region: Option<String>,
    pub products: Vec<String>,
    pub forecast_notes: Option<String>,
    pub probability: Option<i32>,
}

/// Inserts an opportunity, its first stage-history entry and its event inside the caller's
/// transaction.
pub(in crate::db) async fn insert_in<C: ConnectionTrait>(
    txn: &C,
    principal: &Principal,
    f: NewOpportunity,
) -> AppResult<Model> {
    let now = Utc::now();
    let model = ActiveModel {
        account_id: Set(f.account_id),
        name: Set(f.name),
        stage: Set(f.stage),
        amount_minor: Set(f.amount_minor),
        currency: Set(f.currency),
        expected_close_date: Set(f.expected_close_date),
        owner: Set(f.owner),
        region: Set(f.region),
        products: Set(json!(f.products)),
        forecast_notes: Set(f.forecast_notes),
        probability: Set(f.probability),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        closed_at: Set(f.stage.is_closed().then_some(now)),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    record_stage(txn, principal, &model, None, None).await?;
    crate::db::contacts::network::track_new(txn, &model).await?;
    let ev = NewEvent::new(
        Topic::OpportunityCreated,
        // Nobody else is on a deal that was just created.
        Heard::vendor(Subject::Opportunity),
        ids::encode(Kind::Opportunity, model.id),
        &payload::OpportunityChanged {
            before: None,
            opportunity: OpportunitySnapshot::of(&model),
        },
    );
    events::append(txn, principal, ev).await?;
    Ok(model)
}

/// Changes an opportunity's fields (vendor sellers, through the `EditOpportunities` grant); returns
/// it as it now stands.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    db: &DatabaseConnection,
    grant: &Grant<can::EditOpportunities>,
    input: UpdateOpportunity,
) -> AppResult<Model> {
    let principal = grant.principal();
    let id = ids::decode_field(&input.id, Kind::Opportunity, "id")?;
    let mut c = <ActiveModel as Default>::default();
    if let Some(n) = &input.name {
        c.name = Set(text::required("name", n, 200)?);
    }
    if let Some(a) = input.amount {
        c.amount_minor = Set(money::amount("amount", a)?);
    }
    if let Some(cur) = &input.currency {
        c.currency = Set(money::currency(cur)?);
    }
    if let Some(d) = input.expected_close_date {
        c.expected_close_date = Set(d);
    }
    if let Some(o) = &input.owner {
        c.owner = Set(text::required("owner", o, 200)?);
    }
    if let Some(r) = &input.region {
        c.region = Set(text::optional("region", Some(r), 100)?);
    }
    if let Some(p) = &input.products {
        c.products = Set(json!(text::labels("products", p, 50, 100)?));
    }
    if let Some(f) = &input.forecast_notes {
        c.forecast_notes = Set(text::optional("forecastNotes", Some(f), 4000)?);
    }
    if input.probability.is_some() {
        c.probability = Set(rules::probability(input.probability)?);
    }
    let txn = crate::db::begin_write(db).await?;
    let before = Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("Opportunity"))?;
    crate::db::check_version("Opportunity", input.expected_version, before.version)?;
    c.updated_at = Set(Utc::now());
    let after = crate::db::update_versioned(
        &txn,
        "Opportunity",
        c,
        Column::Id,
        Column::Version,
        id,
        before.version,
    )
    .await?;
    // Partners on the deal hear of changes to what they see of it; a change to internal fields
    // only (forecast notes, probability) stays with the vendor.
    let (was, now) = (
        OpportunitySnapshot::of(&before),
        OpportunitySnapshot::of(&after),
    );
    let shared_changed = OpportunitySnapshot {
        version: now.version,
        ..was.clone()
    } != now;
    let audience = if shared_changed {
        scope::heard::<Opportunities, _>(&txn, &after).await?
    } else {
        Heard::vendor(Subject::Opportunity)
    };
    let ev = NewEvent::new(
        Topic::OpportunityUpdated,
        audience,
        ids::encode(Kind::Opportunity, id),
        &payload::OpportunityChanged {
            before: Some(was),
            opportunity: now,
        },
    );
    events::append(&txn, principal, ev).await?;
    txn.commit().await?;
    Ok(after)
}

/// Moves an open deal to another stage, checked against the lifecycle rules and recorded in
/// the history.
pub async fn move_stage(
    db: &DatabaseConnection,
    grant: &Grant<can::EditOpportunities>,
    id: &str,
    expected_version: i32,
    stage: OpportunityStage,
    reason: Option<&str>,
) -> AppResult<Model> {
    change_stage(
        db,
        grant.principal(),
        id,
        expected_version,
        stage,
        reason,
        false,
    )
    .await
}

/// Reopens a closed deal into `stage` (a reason is required), recorded in the history.
pub async fn reopen(
    db: &DatabaseConnection,
    grant: &Grant<can::ReopenOpportunities>,
    id: &str,
    expected_version: i32,
    stage: OpportunityStage,
    reason: Option<&str>,
) -> AppResult<Model> {
    change_stage(
        db,
        grant.principal(),
        id,
        expected_version,
        stage,
        reason,
        true,
    )
    .await
}

/// A stage move or reopen by `principal`, whose grant the caller holds.
#[tracing::instrument(level = "debug", skip_all)]
async fn change_stage(
    db: &DatabaseConnection,
    principal: &Principal,
    id: &str,
    expected_version: i32,
    stage: OpportunityStage,
    reason: Option<&str>,
    reopen: bool,
) -> AppResult<Model> {
    let id = ids::decode_field(id, Kind::Opportunity, "id")?;
    let reason = text::optional("reason", reason, 1000)?;
    if reopen && reason.is_none() {
        return Err(AppError::bad_field("reason", "reopening needs a reason"));
    }
    let txn = crate::db::begin_write(db).await?;
    let before = Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("Opportunity"))?;
    crate::db::check_version("Opportunity", expected_version, before.version)?;
    rules::check_move(before.stage, stage, reopen)?;
    let now = Utc::now();
    let changes = ActiveModel {
        stage: Set(stage),
        updated_at: Set(now),
        closed_at: Set(stage.is_closed().then_some(now)),
        ..Default::default()
    };
    let after = crate::db::update_versioned(
        &txn,
        "Opportunity",
        changes,
        Column::Id,
        Column::Version,
        id,
        before.version,
    )
    .await?;
    record_stage(&txn, principal, &after, Some(before.stage), reason.clone()).await?;
    if stage.is_closed() {
        settle_closed(&txn, principal, &after).await?;
    }
    announce_move(&txn, principal, before.stage, &after, reopen, reason).await?;
    txn.commit().await?;
    Ok(after)
}

/// What closing deal `after` settles, in the stage change's transaction: its approved claims
/// become WON or LOST, its open invitations are withdrawn, and a won deal's attribution is
/// frozen.
async fn settle_closed(
    txn: &DatabaseTransaction,
    principal: &Principal,
    after: &Model,
) -> AppResult<()> {
    let won = after.stage == OpportunityStage::ClosedWon;
    crate::db::registrations::lifecycle::close_claims(txn, principal, after.id, won).await?;
    crate::db::invitations::withdraw_for_closed_deal(txn, principal, after.id, after.stage).await?;
    if won {
        crate::db::attribution::finalize_in(txn, principal, after).await?;
    }
    Ok(())
}

/// The events of a stage move from `from` to `after`'s stage. Who moved the deal and why are
/// the vendor's: the partners on the deal hear of the move in an event of their own that
/// leaves the reason out.
async fn announce_move(
    txn: &DatabaseTransaction,
    principal: &Principal,
    from: OpportunityStage,
    after: &Model,
    reopened: bool,
    reason: Option<String>,
) -> AppResult<()> {
    let moved = |reason| payload::StageChanged {
        from,
        to: after.stage,
        reason,
        reopened,
        opportunity: OpportunitySnapshot::of(after),
    };
    let partners = scope::heard::<Opportunities, _>(txn, after)
        .await?
        .partners();
    let subject = ids::encode(Kind::Opportunity, after.id);
    let mut evs = vec![NewEvent::new(
        Topic::OpportunityStageChanged,
        Heard::vendor(Subject::Opportunity),
        subject.clone(),
        &moved(Some(reason)),
    )];
    if !partners.is_empty() {
        evs.push(NewEvent::new(
            Topic::OpportunityStageChanged,
            partners,
            subject,
            &moved(None),
        ));
    }
    events::append_all(txn, principal, evs).await?;
    Ok(())
}
