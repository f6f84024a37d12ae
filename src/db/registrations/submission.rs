//! Drafts and submission: a partner's draft, its edits, the submission (with idempotency key)
//! that holds it on conflict or auto-approves it, and the answer to an info request.

use std::fmt;

use chrono::Utc;
use entity::enums::{RegistrationRole, RegistrationStatus};
use entity::registration::{ActiveModel, Column, Entity, Model};
use entity::registration_transition as transition;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, Set,
};

use super::conflicts;
use super::decisions::{approve_in, Approval};
use super::lifecycle::{
    audience, changes, check_version, load_for_write, lock_deal, step, DETECTOR, POLICY,
};
use crate::auth::Principal;
use crate::auth::{can, Grant};
use crate::db::events::payload::{self, RegistrationSnapshot};
use crate::db::events::{self, NewEvent};
use crate::db::{opportunities, rules};
use crate::domain::registration::{auto_approves, Action};
use crate::domain::{account::normalise_domain, money, text};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

/// What a partner claims: an opportunity it can see, or a proposed deal at an account named by
/// its domain.
#[derive(Debug, Clone)]
pub struct RegistrationDraft {
    /// An opportunity the partner can already see (it holds another registration on it), as a
    /// global ID decoded here. Without it the draft proposes a deal by `account_domain`.
    pub opportunity_id: Option<String>,
    /// The customer's web domain, e.g. `acme.com`; required without `opportunity_id`.
    pub account_domain: Option<String>,
    /// The customer's company name; required without `opportunity_id`.
    pub account_name: Option<String>,
    /// A name for the proposed deal; required without `opportunity_id`.
    pub deal_name: Option<String>,
    /// The partner's estimate of the deal's value, in minor units of `currency`.
    pub amount: Option<i64>,
    /// ISO 4217 currency of `amount`.
    pub currency: Option<String>,
    /// When the partner expects the deal to close.
    pub expected_close_date: Option<chrono::NaiveDate>,
    /// The role the partner plays on the deal.
    pub role: RegistrationRole,
    /// Why the deal is the partner's (1 to 4000 characters).
    pub justification: String,
    /// Notes only the partner and the vendor can read (at most 4000 characters).
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
    d: RegistrationDraft,
) -> AppResult<Draft> {
    let justification = text::required("justification", &d.justification, 4000)?;
    let private_notes = text::optional("privateNotes", d.private_notes.as_deref(), 4000)?;
    let (amount_minor, currency) = match (d.amount, d.currency.as_deref()) {
        (Some(a), Some(c)) => (Some(money::amount("amount", a)?), Some(money::currency(c)?)),
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
            let id = ids::decode_field(o, Kind::Opportunity, "opportunityId")?;
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
        expected_close_date: d.expected_close_date,
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

/// Creates a DRAFT registration for the calling partner.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_draft(
    db: &DatabaseConnection,
    grant: &Grant<can::ClaimDeals>,
    input: RegistrationDraft,
) -> AppResult<Model> {
    let principal = grant.principal();
    let partner_id = grant.partner_id();
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
    idempotency: Option<(String, String)>,
) -> AppResult<Model> {
    let now = Utc::now();
    let (idempotency_key, fingerprint) = idempotency.unzip();
    let mut m = ActiveModel {
        partner_id: Set(partner_id),
        status: Set(RegistrationStatus::Draft),
        idempotency_key: Set(idempotency_key),
        idempotency_fingerprint: Set(fingerprint),
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
        actor_partner_id: Set(principal.partner_id()),
        reason: Set(None),
        at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    events::append(
        txn,
        principal,
        NewEvent::new(
            events::Topic::Registration(RegistrationStatus::Draft),
            audience(txn, &reg).await?,
            ids::encode(Kind::Registration, reg.id),
            &payload::RegistrationDrafted {
                registration: RegistrationSnapshot::of(&reg),
            },
        ),
    )
    .await?;
    Ok(reg)
}

/// Replaces the fields of a DRAFT.
#[derive(Debug)]
pub struct UpdateRegistrationDraft {
    /// The draft's global ID, decoded here.
    pub id: String,
    /// The version you read.
    pub expected_version: i32,
    /// The draft's new content (replaces all of it).
    pub draft: RegistrationDraft,
}

/// Replaces a draft's content (the partner, through the `ClaimDeals` grant); returns the draft.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update_draft(
    db: &DatabaseConnection,
    grant: &Grant<can::ClaimDeals>,
    input: UpdateRegistrationDraft,
) -> AppResult<Model> {
    let principal = grant.principal();
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
    let after = crate::db::update_versioned(
        &txn,
        "Registration",
        c,
        Column::Id,
        Column::Version,
        reg.id,
        reg.version,
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Submits a registration: an existing DRAFT (`id` and `expected_version`), or a new one in
/// one call (`draft`). A retry with the same `idempotency_key` returns the first result instead
/// of registering twice, and the same key with a different request is refused with
/// IDEMPOTENCY_KEY_REUSED.
#[derive(Debug)]
pub struct SubmitRegistration {
    /// The DRAFT to submit: its global ID, decoded here.
    pub id: Option<String>,
    /// The draft's version, with `id`.
    pub expected_version: Option<i32>,
    /// Create and submit in one step instead of submitting a draft.
    pub draft: Option<RegistrationDraft>,
    /// The caller's unique key for this submission (at most 200 characters).
    pub idempotency_key: Option<String>,
}

/// Submits a draft, or creates and submits one (the partner, through the `ClaimDeals` grant);
/// returns the registration held for review or auto-approved.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn submit(
    db: &DatabaseConnection,
    grant: &Grant<can::ClaimDeals>,
    input: SubmitRegistration,
) -> AppResult<Model> {
    let principal = grant.principal();
    let partner_id = grant.partner_id();
    let key = text::optional("idempotencyKey", input.idempotency_key.as_deref(), 200)?;
    let key = key.map(|k| (k, fingerprint(&input)));
    if let Some((k, print)) = &key {
        if let Some(first) = by_key(db, partner_id, k).await? {
            return same_request(first, k, print);
        }
    }
    let result = submit_once(db, principal, partner_id, input, key.clone()).await;
    match (result, &key) {
        // A concurrent retry with the same key won the insert: answer with its result.
        (Err(e @ AppError::Conflict(_)), Some((k, print))) => {
            match by_key(db, partner_id, k).await? {
                Some(first) => same_request(first, k, print),
                None => Err(e),
            }
        }
        (other, _) => other,
    }
}

/// What a submission asks for, without its key: FNV-1a over the request's fields, so a retry
/// is recognised and the same key with another request is not.
fn fingerprint(input: &SubmitRegistration) -> String {
    text::fingerprint(&request_text(input))
}

/// The text [`fingerprint`] hashes: the request as the derived `Debug` of the API's input types
/// writes it (`SubmitRegistrationInput`, `RegistrationDraftInput`, `ID`, `MinorUnits`, `Date`).
/// Fingerprints are stored with the registrations: a retry sent across an upgrade is recognised
/// only while this text stays the same.
pub(crate) fn request_text(input: &SubmitRegistration) -> String {
    format!(
        "{:?}|{:?}|{:?}",
        input.id.as_deref().map(|id| Tuple("ID", id)),
        input.expected_version,
        input.draft.as_ref().map(DraftText)
    )
}

/// `name(value)`, as a derived `Debug` writes a one-field tuple struct.
struct Tuple<T>(&'static str, T);

impl<T: fmt::Debug> fmt::Debug for Tuple<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple(self.0).field(&self.1).finish()
    }
}

/// A draft as the derived `Debug` of `RegistrationDraftInput` writes it.
struct DraftText<'a>(&'a RegistrationDraft);

impl fmt::Debug for DraftText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        f.debug_struct("RegistrationDraftInput")
            .field(
                "opportunity_id",
                &d.opportunity_id.as_deref().map(|id| Tuple("ID", id)),
            )
            .field("account_domain", &d.account_domain)
            .field("account_name", &d.account_name)
            .field("deal_name", &d.deal_name)
            .field("amount", &d.amount.map(|a| Tuple("MinorUnits", a)))
            .field("currency", &d.currency)
            .field(
                "expected_close_date",
                &d.expected_close_date.map(|e| Tuple("Date", e)),
            )
            .field("role", &d.role)
            .field("justification", &d.justification)
            .field("private_notes", &d.private_notes)
            .finish()
    }
}

/// The first result for `key`, if it was for the same request.
fn same_request(first: Model, key: &str, print: &str) -> AppResult<Model> {
    match first.idempotency_fingerprint.as_deref() {
        Some(p) if p != print => Err(AppError::IdempotencyKeyReused(format!(
            "the idempotency key `{}` was used for a different request; send a new key for a new submission",
            crate::error::clip(key)
        ))),
        _ => Ok(first),
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
    input: SubmitRegistration,
    key: Option<(String, String)>,
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
            if let Some(o) = reg.opportunity_id {
                still_sees(&txn, principal, o).await?;
            }
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
    if let (None, Some((k, print))) = (&reg.idempotency_key, key) {
        c.idempotency_key = Set(Some(k));
        c.idempotency_fingerprint = Set(Some(print));
    }
    let after = submit_in(&txn, principal, &reg, Action::Submit, None, c).await?;
    txn.commit().await?;
    Ok(after)
}

/// Refuses to send a draft on a deal the partner no longer sees: the claim that let it name
/// the deal was withdrawn or rejected since the draft was written.
async fn still_sees(
    txn: &DatabaseTransaction,
    principal: &Principal,
    opportunity: i64,
) -> AppResult<()> {
    opportunities::visible(principal)
        .filter(entity::opportunity::Column::Id.eq(opportunity))
        .one(txn)
        .await?
        .map(|_| ())
        .ok_or_else(|| {
            AppError::bad_field(
                "id",
                "this draft names a deal you no longer hold a claim on; register it again as a proposed deal (accountDomain, accountName, dealName)",
            )
        })
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
    super::lifecycle::submitted(&mut c, reg, super::lifecycle::stored_now());
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

/// A partner's answer to a NEEDS_INFO request; the registration is submitted again.
#[derive(Debug)]
pub struct AnswerInfoRequest {
    /// The registration in NEEDS_INFO: its global ID, decoded here.
    pub id: String,
    /// The version you read.
    pub expected_version: i32,
    /// The partner's answer to the vendor's question (1 to 4000 characters), recorded in the
    /// history.
    pub answer: String,
    /// A replacement justification, if the answer changes it.
    pub justification: Option<String>,
}

/// Answers the vendor's question on a registration (the partner, through the `ClaimDeals` grant);
/// returns it SUBMITTED again.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn answer_info(
    db: &DatabaseConnection,
    grant: &Grant<can::ClaimDeals>,
    input: AnswerInfoRequest,
) -> AppResult<Model> {
    let principal = grant.principal();
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

/// A partner's acceptance of the vendor's invitation, as a claim: a registration of `role` on
/// `opportunity_id`, submitted through the same steps as any other (the customer lock,
/// conflict detection, the auto-approval policy). What conflict detection holds waits for the
/// vendor's review as usual; what it lets through is approved at once on the strength of the
/// invitation, recorded as the inviter's decision. Runs in the caller's transaction.
pub(in crate::db) async fn accept_invitation_in(
    txn: &DatabaseTransaction,
    principal: &Principal,
    partner_id: i64,
    invitation: &entity::invitation::Model,
    opp: entity::opportunity::Model,
    justification: String,
) -> AppResult<Model> {
    let account = entity::account::Entity::find_by_id(opp.account_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("Account"))?;
    let draft = Draft {
        opportunity_id: Some(opp.id),
        account_domain: account.domain,
        account_name: Some(account.name),
        deal_name: Some(opp.name),
        amount_minor: None,
        currency: None,
        expected_close_date: None,
        role: invitation.role,
        justification,
        private_notes: None,
    };
    let reg = insert_draft(txn, principal, partner_id, draft, None).await?;
    let submitted = submit_in(txn, principal, &reg, Action::Submit, None, changes()).await?;
    if submitted.status != RegistrationStatus::Submitted {
        // Held by a conflict (UNDER_REVIEW), or approved by the policy already.
        return Ok(submitted);
    }
    let approval = Approval {
        link: None,
        create: false,
        reason: Some(format!(
            "invited by the vendor ({})",
            ids::encode(Kind::Invitation, invitation.id)
        )),
        co_sell: false,
    };
    approve_in(
        txn,
        &Principal::system(&invitation.invited_by),
        &submitted,
        approval,
        false,
    )
    .await
}
