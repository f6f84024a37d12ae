//! Decisions on submitted registrations: the vendor's approval (linking or creating the
//! opportunity), rejection, review and info request, and the partner's withdrawal.

use chrono::{Duration, Utc};
use entity::enums::OpportunityStage;
use entity::registration::{Column, Entity, Model};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect,
    Set,
};

use super::conflicts;
use super::lifecycle::{changes, check_version, load_for_write, lock_deal, step};
use crate::auth::Principal;
use crate::auth::{can, Grant};
use crate::db::{accounts, opportunities, rules};
use crate::domain::registration::approval::{self, Link, RoleClaim};
use crate::domain::registration::{transition as lifecycle, Action};
use crate::domain::text;
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

/// How an approval links a proposed deal to an opportunity.
pub struct Approval {
    pub link: Option<i64>,
    pub create: bool,
    pub reason: Option<String>,
    /// Approve even if another partner already holds this exclusive role (conflict resolved as
    /// co-selling).
    pub co_sell: bool,
}

/// Approves `reg`, linking or creating its opportunity and starting its protection window.
pub(in crate::db) async fn approve_in(
    txn: &DatabaseTransaction,
    actor: &Principal,
    reg: &Model,
    approval: Approval,
    auto: bool,
) -> AppResult<Model> {
    lifecycle(
        reg.status,
        if auto {
            Action::AutoApprove
        } else {
            Action::Approve
        },
    )?;
    lock_deal(txn, &reg.account_domain).await?;
    if !conflicts::open_for(txn, reg.id).await?.is_empty() {
        return Err(AppError::Conflict(
            "an open conflict holds this registration: resolve it with resolveConflict first"
                .into(),
        ));
    }
    let opportunity_id = match approval::link(reg.opportunity_id, approval.link, approval.create)? {
        Link::Named(o) => o,
        Link::Chosen(o) => {
            entity::opportunity::Entity::find_by_id(o)
                .one(txn)
                .await?
                .ok_or_else(|| {
                    AppError::bad_field("opportunityId", "opportunityId names no opportunity")
                })?;
            o
        }
        Link::Create => create_opportunity_for(txn, actor, reg).await?,
    };
    let rule = rules::of(txn, reg.role).await?;
    if approval::checks_holders(rule.exclusive, approval.co_sell) {
        let holders = role_holders(txn, opportunity_id, reg).await?;
        approval::check_exclusive(&role_claim(reg), rule.exclusive, approval.co_sell, &holders)?;
    }
    let now = super::lifecycle::stored_now();
    let mut c = changes();
    c.opportunity_id = Set(Some(opportunity_id));
    c.protection_expires_at = Set(Some(now + Duration::days(rule.protection_days as i64)));
    super::lifecycle::decided(&mut c, reg, now);
    c.decided_by = Set(Some(actor.subject.clone()));
    c.decision_reason = Set(approval.reason.clone());
    c.auto_approved = Set(auto);
    step(
        txn,
        actor,
        reg,
        if auto {
            Action::AutoApprove
        } else {
            Action::Approve
        },
        approval.reason,
        c,
    )
    .await
}

fn role_claim(r: &Model) -> RoleClaim {
    RoleClaim {
        partner_id: r.partner_id,
        role: r.role,
        status: r.status,
    }
}

/// The other partners' claims holding `reg`'s role on opportunity `opportunity_id` (an
/// index-driven read of the few that [`approval::check_exclusive`] decides on).
async fn role_holders(
    txn: &DatabaseTransaction,
    opportunity_id: i64,
    reg: &Model,
) -> AppResult<Vec<RoleClaim>> {
    let rows = Entity::find()
        .filter(Column::OpportunityId.eq(opportunity_id))
        .filter(Column::Role.eq(reg.role))
        .filter(Column::PartnerId.ne(reg.partner_id))
        .filter(Column::Status.is_in(approval::HOLDS_ROLE))
        .limit(1)
        .all(txn)
        .await?;
    Ok(rows.iter().map(role_claim).collect())
}

/// Creates the account (if its domain is new) and the opportunity a proposed deal describes.
async fn create_opportunity_for(
    txn: &DatabaseTransaction,
    actor: &Principal,
    reg: &Model,
) -> AppResult<i64> {
    let account = match accounts::find_by_domain_in(txn, &reg.account_domain).await? {
        Some(a) => a,
        None => {
            let name = reg
                .account_name
                .clone()
                .unwrap_or_else(|| reg.account_domain.clone());
            accounts::insert_in(txn, actor, name, reg.account_domain.clone(), None, None).await?
        }
    };
    let fields = opportunities::NewOpportunity {
        account_id: account.id,
        name: reg
            .deal_name
            .clone()
            .unwrap_or_else(|| format!("{} deal", account.name)),
        stage: OpportunityStage::Prospecting,
        amount_minor: reg.amount_minor.unwrap_or(0),
        currency: reg.currency.clone().unwrap_or_else(|| "USD".into()),
        expected_close_date: reg
            .expected_close_date
            .unwrap_or_else(|| (Utc::now() + Duration::days(90)).date_naive()),
        owner: if actor.subject.contains(':') {
            "unassigned".into()
        } else {
            actor.subject.clone()
        },
        region: account.region.clone(),
        products: vec![],
        forecast_notes: None,
        probability: None,
    };
    Ok(opportunities::insert_in(txn, actor, fields).await?.id)
}

/// A vendor's approval.
#[derive(Debug)]
pub struct ApproveRegistration {
    /// The registration (SUBMITTED or UNDER_REVIEW): its global ID, decoded here.
    pub id: String,
    /// The version you read.
    pub expected_version: i32,
    /// For a proposed deal: the existing opportunity it is (its global ID, decoded here).
    pub opportunity_id: Option<String>,
    /// For a proposed deal: create its account (if new) and opportunity.
    pub create_opportunity: bool,
    /// Why, recorded in the history.
    pub reason: Option<String>,
}

/// Approves a submitted registration, linking or creating its opportunity (vendor deciders, through
/// the `DecideRegistrations` grant); returns it APPROVED.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn approve(
    db: &DatabaseConnection,
    grant: &Grant<can::DecideRegistrations>,
    input: ApproveRegistration,
) -> AppResult<Model> {
    let principal = grant.principal();
    let link = match &input.opportunity_id {
        Some(o) => Some(ids::decode_as(o, Kind::Opportunity).map_err(|_| {
            AppError::bad_field("opportunityId", "opportunityId names no opportunity")
        })?),
        None => None,
    };
    let reason = text::optional("reason", input.reason.as_deref(), 2000)?;
    let txn = crate::db::begin_write(db).await?;
    let reg = load_for_write(&txn, principal, &input.id).await?;
    check_version(&reg, input.expected_version)?;
    let approval = Approval {
        link,
        create: input.create_opportunity,
        reason,
        co_sell: false,
    };
    let after = approve_in(&txn, principal, &reg, approval, false).await?;
    txn.commit().await?;
    Ok(after)
}

/// A decision with a reason, for reject, request-info and withdraw.
#[derive(Debug)]
pub struct RegistrationDecision {
    /// The registration's global ID, decoded here.
    pub id: String,
    /// The version you read.
    pub expected_version: i32,
    /// Why (required to reject; the question when asking for information; optional to
    /// withdraw). At most 2000 characters.
    pub reason: Option<String>,
}

/// Rejects `reg` in the caller's transaction, closing the conflicts that hold it (the data layer's
/// decision paths, under a `DecideRegistrations` grant); returns it REJECTED.
pub(in crate::db) async fn reject_in(
    txn: &DatabaseTransaction,
    actor: &Principal,
    reg: &Model,
    reason: String,
) -> AppResult<Model> {
    conflicts::close_all_for(
        txn,
        actor,
        reg.id,
        Some(entity::enums::ConflictResolution::Rejected),
        &reason,
    )
    .await?;
    let mut c = changes();
    super::lifecycle::decided(&mut c, reg, super::lifecycle::stored_now());
    c.decided_by = Set(Some(actor.subject.clone()));
    c.decision_reason = Set(Some(reason.clone()));
    step(txn, actor, reg, Action::Reject, Some(reason), c).await
}

/// Rejects a submitted registration with a reason (vendor deciders, through the
/// `DecideRegistrations` grant); returns it REJECTED.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn reject(
    db: &DatabaseConnection,
    grant: &Grant<can::DecideRegistrations>,
    input: RegistrationDecision,
) -> AppResult<Model> {
    let principal = grant.principal();
    let reason = text::required("reason", input.reason.as_deref().unwrap_or(""), 2000)?;
    let txn = crate::db::begin_write(db).await?;
    let reg = load_for_write(&txn, principal, &input.id).await?;
    check_version(&reg, input.expected_version)?;
    lifecycle(reg.status, Action::Reject)?;
    let after = reject_in(&txn, principal, &reg, reason).await?;
    txn.commit().await?;
    Ok(after)
}

/// Takes a submitted registration into review (vendor deciders, through the `DecideRegistrations`
/// grant); returns it UNDER_REVIEW.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn start_review(
    db: &DatabaseConnection,
    grant: &Grant<can::DecideRegistrations>,
    id: &str,
    expected_version: i32,
) -> AppResult<Model> {
    let principal = grant.principal();
    let txn = crate::db::begin_write(db).await?;
    let reg = load_for_write(&txn, principal, id).await?;
    check_version(&reg, expected_version)?;
    let after = step(&txn, principal, &reg, Action::StartReview, None, changes()).await?;
    txn.commit().await?;
    Ok(after)
}

/// Sends a submitted registration back with a question (vendor deciders, through the
/// `DecideRegistrations` grant); returns it NEEDS_INFO.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn request_info(
    db: &DatabaseConnection,
    grant: &Grant<can::DecideRegistrations>,
    input: RegistrationDecision,
) -> AppResult<Model> {
    let principal = grant.principal();
    let question = text::required("reason", input.reason.as_deref().unwrap_or(""), 2000)?;
    let txn = crate::db::begin_write(db).await?;
    let reg = load_for_write(&txn, principal, &input.id).await?;
    check_version(&reg, input.expected_version)?;
    let mut c = changes();
    c.info_request = Set(Some(question.clone()));
    let after = step(
        &txn,
        principal,
        &reg,
        Action::RequestInfo,
        Some(question),
        c,
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Withdraws one of the partner's open registrations (the partner, through the `ClaimDeals` grant);
/// returns it WITHDRAWN.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn withdraw(
    db: &DatabaseConnection,
    grant: &Grant<can::ClaimDeals>,
    input: RegistrationDecision,
) -> AppResult<Model> {
    let principal = grant.principal();
    let reason = text::optional("reason", input.reason.as_deref(), 2000)?;
    let txn = crate::db::begin_write(db).await?;
    let reg = load_for_write(&txn, principal, &input.id).await?;
    check_version(&reg, input.expected_version)?;
    lifecycle(reg.status, Action::Withdraw)?;
    conflicts::close_all_for(
        &txn,
        principal,
        reg.id,
        None,
        "the registration was withdrawn",
    )
    .await?;
    let after = step(&txn, principal, &reg, Action::Withdraw, reason, changes()).await?;
    txn.commit().await?;
    Ok(after)
}
