//! Registration writes. Every transition goes through [`step`], which checks it against the
//! lifecycle, records it in the history, bumps the version (refusing a stale one) and appends
//! its event, all in the caller's transaction.

use async_graphql::{InputObject, ID};
use chrono::{Duration, Utc};
use entity::enums::{OpportunityStage, RegistrationRole, RegistrationStatus};
use entity::registration::{ActiveModel, Column, Entity, Model};
use entity::registration_transition as transition;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde_json::json;

use super::conflicts;
use crate::auth::{Principal, Resource, VendorRole};
use crate::db::events::{self, NewEvent};
use crate::db::{accounts, opportunities, rules};
use crate::domain::registration::{auto_approves, transition as lifecycle, Action};
use crate::domain::{account::normalise_domain, money, text};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::scalars::{Date, MinorUnits};

pub(super) const DECIDERS: &[VendorRole] = &[VendorRole::Admin, VendorRole::ChannelManager];
pub const POLICY: &str = "policy:auto-approval";
pub const DETECTOR: &str = "system:conflict-detection";
pub const EXPIRY: &str = "system:protection-expiry";

/// What a partner claims: an opportunity it can see, or a proposed deal at an account named by
/// its domain.
#[derive(InputObject, Debug, Clone)]
pub struct RegistrationDraftInput {
    /// An opportunity you can already see (you hold another registration on it). Omit it to
    /// propose a deal the vendor may not know yet, by `accountDomain`.
    pub opportunity_id: Option<ID>,
    /// The customer's web domain, e.g. `acme.com`; required without `opportunityId`.
    pub account_domain: Option<String>,
    /// The customer's company name; required without `opportunityId`.
    pub account_name: Option<String>,
    /// A name for the proposed deal; required without `opportunityId`.
    pub deal_name: Option<String>,
    /// Your estimate of the deal's value, in minor units of `currency`.
    pub amount: Option<MinorUnits>,
    /// ISO 4217 currency of `amount`.
    pub currency: Option<String>,
    /// When you expect the deal to close.
    pub expected_close_date: Option<Date>,
    /// The role you play on the deal.
    pub role: RegistrationRole,
    /// Why the deal is yours: your relationship with the customer, work done so far (1 to 4000
    /// characters). The vendor reads it.
    pub justification: String,
    /// Notes only your organisation and the vendor can read (at most 4000 characters).
    pub private_notes: Option<String>,
}

struct Draft {
    opportunity_id: Option<i64>,
    account_domain: String,
    account_name: Option<String>,
    deal_name: Option<String>,
    amount_minor: Option<i64>,
    currency: Option<String>,
    expected_close_date: Option<chrono::NaiveDate>,
    role: RegistrationRole,
    justification: String,
    private_notes: Option<String>,
}

async fn check_draft<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    d: RegistrationDraftInput,
) -> AppResult<Draft> {
    let justification = text::required("justification", &d.justification, 4000)?;
    let private_notes = text::optional("privateNotes", d.private_notes.as_deref(), 4000)?;
    let (amount_minor, currency) = match (d.amount, d.currency.as_deref()) {
        (Some(a), Some(c)) => (
            Some(money::amount("amount", a.0)?),
            Some(money::currency(c)?),
        ),
        (None, None) => (None, None),
        _ => {
            return Err(AppError::bad_field(
                "currency",
                "give amount and currency together",
            ))
        }
    };
    let (opportunity_id, account_domain, account_name, deal_name) = match &d.opportunity_id {
        Some(o) => {
            let id = ids::decode_as(o, Kind::Opportunity)?;
            let opp = opportunities::visible(principal)
                .filter(entity::opportunity::Column::Id.eq(id))
                .one(conn)
                .await?
                .ok_or(AppError::NotFound("Opportunity"))?;
            let account = entity::account::Entity::find_by_id(opp.account_id)
                .one(conn)
                .await?
                .ok_or(AppError::NotFound("Account"))?;
            (Some(id), account.domain, Some(account.name), Some(opp.name))
        }
        None => {
            let domain = d.account_domain.as_deref().ok_or_else(|| {
                AppError::bad_field(
                    "accountDomain",
                    "give opportunityId, or accountDomain, accountName and dealName",
                )
            })?;
            let name = text::required("accountName", d.account_name.as_deref().unwrap_or(""), 200)?;
            let deal = text::required("dealName", d.deal_name.as_deref().unwrap_or(""), 200)?;
            (None, normalise_domain(domain)?, Some(name), Some(deal))
        }
    };
    Ok(Draft {
        opportunity_id,
        account_domain,
        account_name,
        deal_name,
        amount_minor,
        currency,
        expected_close_date: d.expected_close_date.map(|d| d.0),
        role: d.role,
        justification,
        private_notes,
    })
}

fn apply_draft(m: &mut ActiveModel, d: Draft) {
    m.opportunity_id = Set(d.opportunity_id);
    m.account_domain = Set(d.account_domain);
    m.account_name = Set(d.account_name);
    m.deal_name = Set(d.deal_name);
    m.amount_minor = Set(d.amount_minor);
    m.currency = Set(d.currency);
    m.expected_close_date = Set(d.expected_close_date);
    m.role = Set(d.role);
    m.justification = Set(d.justification);
    m.private_notes = Set(d.private_notes);
}

pub fn audience(reg: &Model) -> Vec<String> {
    vec!["vendor".into(), format!("partner:{}", reg.partner_id)]
}

/// What events say about a registration (never its private notes).
pub fn snapshot(m: &Model) -> serde_json::Value {
    json!({
        "id": ids::encode(Kind::Registration, m.id), "partnerId": ids::encode(Kind::Partner, m.partner_id),
        "opportunityId": m.opportunity_id.map(|o| ids::encode(Kind::Opportunity, o)),
        "accountDomain": m.account_domain, "role": m.role, "status": m.status, "version": m.version,
        "protectionExpiresAt": m.protection_expires_at,
    })
}

/// Serialises claims on one customer: concurrent submissions and decisions for the same
/// account domain take turns, so conflict detection sees every earlier claim. SQLite writers
/// are already serialised by their IMMEDIATE transactions.
pub async fn lock_deal(txn: &DatabaseTransaction, domain: &str) -> AppResult<()> {
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            [format!("deal:{domain}").into()],
        ))
        .await?;
    }
    Ok(())
}

/// Applies `action` to `reg` as `actor`, with `changes` written alongside the new status.
pub async fn step(
    txn: &DatabaseTransaction,
    actor: &Principal,
    reg: &Model,
    action: Action,
    reason: Option<String>,
    mut changes: ActiveModel,
) -> AppResult<Model> {
    let path = lifecycle(reg.status, action)?;
    let now = Utc::now();
    let mut from = reg.status;
    for to in &path {
        transition::ActiveModel {
            registration_id: Set(reg.id),
            from_status: Set(Some(from)),
            to_status: Set(*to),
            actor: Set(actor.subject.clone()),
            reason: Set(reason.clone()),
            at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        from = *to;
    }
    changes.status = Set(from);
    changes.updated_at = Set(now);
    crate::db::update_versioned(
        txn,
        "Registration",
        changes,
        Column::Id,
        Column::Version,
        reg.id,
        reg.version,
    )
    .await?;
    let after = Entity::find_by_id(reg.id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("Registration"))?;
    events::append(
        txn,
        actor,
        NewEvent {
            topic: &format!("registration.{}", from.as_str().to_lowercase()),
            audience: audience(&after),
            subject_id: ids::encode(Kind::Registration, reg.id),
            payload: json!({ "from": reg.status, "to": from, "path": path, "reason": reason, "registration": snapshot(&after) }),
        },
    )
    .await?;
    Ok(after)
}

pub(super) fn changes() -> ActiveModel {
    <ActiveModel as Default>::default()
}

/// The registration with `id` that `principal` may act on, read inside the transaction. A
/// partner's foreign id answers like a missing one.
pub(super) async fn load_for_write(
    txn: &DatabaseTransaction,
    principal: &Principal,
    id: &ID,
) -> AppResult<Model> {
    let id = ids::decode_as(id, Kind::Registration)?;
    Entity::find()
        .filter(super::scope(principal))
        .filter(Column::Id.eq(id))
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("Registration"))
}

pub(super) fn check_version(reg: &Model, expected: i32) -> AppResult<()> {
    crate::db::check_version("Registration", expected, reg.version)
}

/// Creates a DRAFT registration for the calling partner.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_draft(
    db: &DatabaseConnection,
    principal: &Principal,
    input: RegistrationDraftInput,
) -> AppResult<Model> {
    let partner_id = principal.require_partner_write(Resource::Registrations)?;
    let txn = crate::db::begin_write(db).await?;
    let draft = check_draft(&txn, principal, input).await?;
    let reg = insert_draft(&txn, principal, partner_id, draft, None).await?;
    txn.commit().await?;
    Ok(reg)
}

async fn insert_draft(
    txn: &DatabaseTransaction,
    principal: &Principal,
    partner_id: i64,
    draft: Draft,
    idempotency_key: Option<String>,
) -> AppResult<Model> {
    let now = Utc::now();
    let mut m = ActiveModel {
        partner_id: Set(partner_id),
        status: Set(RegistrationStatus::Draft),
        idempotency_key: Set(idempotency_key),
        auto_approved: Set(false),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply_draft(&mut m, draft);
    let reg = m.insert(txn).await.map_err(|e| {
        AppError::unique_or(
            e,
            "this idempotency key was already used for another registration",
        )
    })?;
    transition::ActiveModel {
        registration_id: Set(reg.id),
        from_status: Set(None),
        to_status: Set(RegistrationStatus::Draft),
        actor: Set(principal.subject.clone()),
        reason: Set(None),
        at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    events::append(
        txn,
        principal,
        NewEvent {
            topic: "registration.draft",
            audience: audience(&reg),
            subject_id: ids::encode(Kind::Registration, reg.id),
            payload: json!({ "registration": snapshot(&reg) }),
        },
    )
    .await?;
    Ok(reg)
}

/// Replaces the fields of a DRAFT.
#[derive(InputObject, Debug)]
pub struct UpdateRegistrationDraftInput {
    /// The draft to change.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// The draft's new content (replaces all of it).
    pub draft: RegistrationDraftInput,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn update_draft(
    db: &DatabaseConnection,
    principal: &Principal,
    input: UpdateRegistrationDraftInput,
) -> AppResult<Model> {
    principal.require_partner_write(Resource::Registrations)?;
    let txn = crate::db::begin_write(db).await?;
    let reg = load_for_write(&txn, principal, &input.id).await?;
    check_version(&reg, input.expected_version)?;
    if reg.status != RegistrationStatus::Draft {
        return Err(AppError::Conflict(format!(
            "the registration is {}; only a DRAFT can be edited",
            reg.status.as_str()
        )));
    }
    let draft = check_draft(&txn, principal, input.draft).await?;
    let mut c = changes();
    apply_draft(&mut c, draft);
    c.updated_at = Set(Utc::now());
    crate::db::update_versioned(
        &txn,
        "Registration",
        c,
        Column::Id,
        Column::Version,
        reg.id,
        reg.version,
    )
    .await?;
    let after = Entity::find_by_id(reg.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("Registration"))?;
    txn.commit().await?;
    Ok(after)
}

/// Submits a registration: an existing DRAFT (`id` and `expectedVersion`), or a new one in
/// one call (`draft`). Integrations should send an `idempotencyKey`: a retry with the same key
/// returns the first result instead of registering twice.
#[derive(InputObject, Debug)]
pub struct SubmitRegistrationInput {
    /// The DRAFT to submit.
    pub id: Option<ID>,
    /// The draft's version, with `id`.
    pub expected_version: Option<i32>,
    /// Create and submit in one step instead of submitting a draft.
    pub draft: Option<RegistrationDraftInput>,
    /// Your unique key for this submission (at most 200 characters).
    pub idempotency_key: Option<String>,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn submit(
    db: &DatabaseConnection,
    principal: &Principal,
    input: SubmitRegistrationInput,
) -> AppResult<Model> {
    let partner_id = principal.require_partner_write(Resource::Registrations)?;
    let key = text::optional("idempotencyKey", input.idempotency_key.as_deref(), 200)?;
    if let Some(k) = &key {
        if let Some(first) = by_key(db, partner_id, k).await? {
            return Ok(first);
        }
    }
    let result = submit_once(db, principal, partner_id, input, key.clone()).await;
    match (result, &key) {
        // A concurrent retry with the same key won the insert: answer with its result.
        (Err(e @ AppError::Conflict(_)), Some(k)) => match by_key(db, partner_id, k).await? {
            Some(first) => Ok(first),
            None => Err(e),
        },
        (other, _) => other,
    }
}

async fn by_key(db: &DatabaseConnection, partner_id: i64, key: &str) -> AppResult<Option<Model>> {
    Ok(Entity::find()
        .filter(Column::PartnerId.eq(partner_id))
        .filter(Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

async fn submit_once(
    db: &DatabaseConnection,
    principal: &Principal,
    partner_id: i64,
    input: SubmitRegistrationInput,
    key: Option<String>,
) -> AppResult<Model> {
    let txn = crate::db::begin_write(db).await?;
    let reg = match (input.id, input.draft) {
        (Some(id), None) => {
            let reg = load_for_write(&txn, principal, &id).await?;
            let expected = input.expected_version.ok_or_else(|| {
                AppError::bad_field(
                    "expectedVersion",
                    "submitting a draft needs its expectedVersion",
                )
            })?;
            check_version(&reg, expected)?;
            reg
        }
        (None, Some(d)) => {
            let draft = check_draft(&txn, principal, d).await?;
            insert_draft(&txn, principal, partner_id, draft, key.clone()).await?
        }
        _ => {
            return Err(AppError::bad_input(
                "give either `id` (a draft) or `draft` (create and submit)",
            ))
        }
    };
    let mut c = changes();
    if reg.idempotency_key.is_none() && key.is_some() {
        c.idempotency_key = Set(key);
    }
    let after = submit_in(&txn, principal, &reg, Action::Submit, None, c).await?;
    txn.commit().await?;
    Ok(after)
}

/// Moves `reg` to SUBMITTED, then holds it for review if anything conflicts, or approves it
/// when the auto-approval policy allows.
async fn submit_in(
    txn: &DatabaseTransaction,
    principal: &Principal,
    reg: &Model,
    action: Action,
    reason: Option<String>,
    mut c: ActiveModel,
) -> AppResult<Model> {
    lock_deal(txn, &reg.account_domain).await?;
    c.submitted_at = Set(Some(Utc::now()));
    c.info_request = Set(None);
    let submitted = step(txn, principal, reg, action, reason, c).await?;
    let rule = rules::of(txn, submitted.role).await?;
    let found = conflicts::detect(txn, &submitted, &rule).await?;
    if !found.is_empty() {
        let kinds: Vec<&str> = found.iter().map(|f| f.kind_name()).collect();
        let held = step(
            txn,
            &Principal::system(DETECTOR),
            &submitted,
            Action::StartReview,
            Some(format!("held by conflict: {}", kinds.join(", "))),
            changes(),
        )
        .await?;
        conflicts::raise(txn, &held, found).await?;
        return Ok(held);
    }
    let partner = entity::partner::Entity::find_by_id(submitted.partner_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("Partner"))?;
    let amount = match submitted.opportunity_id {
        Some(o) => entity::opportunity::Entity::find_by_id(o)
            .one(txn)
            .await?
            .map(|o| o.amount_minor),
        None => submitted.amount_minor,
    };
    if auto_approves(rules::auto_approval(&rule), partner.tier, amount, false) {
        let approval = Approval {
            link: None,
            create: true,
            reason: Some("approved by the auto-approval policy".into()),
            co_sell: false,
        };
        return approve_in(txn, &Principal::system(POLICY), &submitted, approval, true).await;
    }
    Ok(submitted)
}

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
pub async fn approve_in(
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
    let opportunity_id = match (reg.opportunity_id, approval.link) {
        (Some(o), None) => o,
        (Some(o), Some(l)) if o == l => o,
        (Some(_), Some(_)) => return Err(AppError::bad_field("opportunityId", "the registration already names another opportunity")),
        (None, Some(l)) => {
            entity::opportunity::Entity::find_by_id(l)
                .one(txn)
                .await?
                .ok_or_else(|| AppError::bad_field("opportunityId", "opportunityId names no opportunity"))?;
            l
        }
        (None, None) if approval.create => create_opportunity_for(txn, actor, reg).await?,
        (None, None) => {
            return Err(AppError::bad_field(
                "opportunityId",
                "this registration proposes a new deal: pass opportunityId to link it, or createOpportunity: true",
            ))
        }
    };
    let rule = rules::of(txn, reg.role).await?;
    if rule.exclusive && !approval.co_sell {
        let holder = Entity::find()
            .filter(Column::OpportunityId.eq(opportunity_id))
            .filter(Column::Role.eq(reg.role))
            .filter(Column::PartnerId.ne(reg.partner_id))
            .filter(Column::Status.is_in([RegistrationStatus::Approved, RegistrationStatus::Won]))
            .one(txn)
            .await?;
        if holder.is_some() {
            return Err(AppError::Conflict(format!(
                "the exclusive role {} on this opportunity is already held by another partner",
                reg.role.as_str()
            )));
        }
    }
    let now = Utc::now();
    let mut c = changes();
    c.opportunity_id = Set(Some(opportunity_id));
    c.protection_expires_at = Set(Some(now + Duration::days(rule.protection_days as i64)));
    c.decided_at = Set(Some(now));
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
#[derive(InputObject, Debug)]
pub struct ApproveRegistrationInput {
    /// The registration (SUBMITTED or UNDER_REVIEW).
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// For a proposed deal: the existing opportunity it is.
    pub opportunity_id: Option<ID>,
    /// For a proposed deal: create its account (if new) and opportunity.
    #[graphql(default)]
    pub create_opportunity: bool,
    /// Why, recorded in the history.
    pub reason: Option<String>,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn approve(
    db: &DatabaseConnection,
    principal: &Principal,
    input: ApproveRegistrationInput,
) -> AppResult<Model> {
    principal.require_vendor_write(Resource::Registrations, DECIDERS)?;
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
#[derive(InputObject, Debug)]
pub struct RegistrationDecisionInput {
    /// The registration.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// Why (required to reject; the question when asking for information; optional to
    /// withdraw). At most 2000 characters.
    pub reason: Option<String>,
}

pub async fn reject_in(
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
    c.decided_at = Set(Some(Utc::now()));
    c.decided_by = Set(Some(actor.subject.clone()));
    c.decision_reason = Set(Some(reason.clone()));
    step(txn, actor, reg, Action::Reject, Some(reason), c).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn reject(
    db: &DatabaseConnection,
    principal: &Principal,
    input: RegistrationDecisionInput,
) -> AppResult<Model> {
    principal.require_vendor_write(Resource::Registrations, DECIDERS)?;
    let reason = text::required("reason", input.reason.as_deref().unwrap_or(""), 2000)?;
    let txn = crate::db::begin_write(db).await?;
    let reg = load_for_write(&txn, principal, &input.id).await?;
    check_version(&reg, input.expected_version)?;
    lifecycle(reg.status, Action::Reject)?;
    let after = reject_in(&txn, principal, &reg, reason).await?;
    txn.commit().await?;
    Ok(after)
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn start_review(
    db: &DatabaseConnection,
    principal: &Principal,
    id: &ID,
    expected_version: i32,
) -> AppResult<Model> {
    principal.require_vendor_write(Resource::Registrations, DECIDERS)?;
    let txn = crate::db::begin_write(db).await?;
    let reg = load_for_write(&txn, principal, id).await?;
    check_version(&reg, expected_version)?;
    let after = step(&txn, principal, &reg, Action::StartReview, None, changes()).await?;
    txn.commit().await?;
    Ok(after)
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn request_info(
    db: &DatabaseConnection,
    principal: &Principal,
    input: RegistrationDecisionInput,
) -> AppResult<Model> {
    principal.require_vendor_write(Resource::Registrations, DECIDERS)?;
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

/// A partner's answer to a NEEDS_INFO request; the registration is submitted again.
#[derive(InputObject, Debug)]
pub struct AnswerInfoRequestInput {
    /// The registration in NEEDS_INFO.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// Your answer to the vendor's question (1 to 4000 characters), recorded in the history.
    pub answer: String,
    /// A replacement justification, if the answer changes it.
    pub justification: Option<String>,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn answer_info(
    db: &DatabaseConnection,
    principal: &Principal,
    input: AnswerInfoRequestInput,
) -> AppResult<Model> {
    principal.require_partner_write(Resource::Registrations)?;
    let answer = text::required("answer", &input.answer, 4000)?;
    let mut c = changes();
    if let Some(j) = &input.justification {
        c.justification = Set(text::required("justification", j, 4000)?);
    }
    let txn = crate::db::begin_write(db).await?;
    let reg = load_for_write(&txn, principal, &input.id).await?;
    check_version(&reg, input.expected_version)?;
    let after = submit_in(&txn, principal, &reg, Action::AnswerInfo, Some(answer), c).await?;
    txn.commit().await?;
    Ok(after)
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn withdraw(
    db: &DatabaseConnection,
    principal: &Principal,
    input: RegistrationDecisionInput,
) -> AppResult<Model> {
    principal.require_partner_write(Resource::Registrations)?;
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

/// Moves the APPROVED registrations of an opportunity that just closed to WON or LOST, in the
/// stage change's transaction.
pub async fn close_claims(
    txn: &DatabaseTransaction,
    actor: &Principal,
    opportunity_id: i64,
    won: bool,
) -> AppResult<()> {
    let approved = Entity::find()
        .filter(Column::OpportunityId.eq(opportunity_id))
        .filter(Column::Status.eq(RegistrationStatus::Approved))
        .all(txn)
        .await?;
    let reason = Some(format!(
        "the opportunity closed {}",
        if won { "won" } else { "lost" }
    ));
    for reg in approved {
        step(
            txn,
            actor,
            &reg,
            if won { Action::Win } else { Action::Lose },
            reason.clone(),
            changes(),
        )
        .await?;
    }
    Ok(())
}

/// The audience of a change to a deal's shared state: the vendor and every partner on it.
pub async fn deal_audience<C: ConnectionTrait>(
    conn: &C,
    opportunity_id: i64,
) -> AppResult<Vec<String>> {
    let partners: Vec<i64> = Entity::find()
        .select_only()
        .column(Column::PartnerId)
        .distinct()
        .filter(Column::OpportunityId.eq(opportunity_id))
        .filter(Column::Status.is_in(super::SEES_DEAL))
        .into_tuple()
        .all(conn)
        .await?;
    let mut out = vec!["vendor".to_string()];
    out.extend(partners.into_iter().map(|p| format!("partner:{p}")));
    Ok(out)
}

pub use super::bulk::{bulk, BulkDecision, BulkItemInput, BulkItemResult};
pub use super::protection::{
    expire_due, extend_protection, request_extension, ProtectionExtensionInput,
};
