//! Engagement invitations: the vendor asks partners to join a deal in a role, showing each
//! only the fields it chooses; a partner accepts (a registration through the usual lifecycle),
//! declines, or lets the invitation expire; the vendor may withdraw an open one.
//!
//! Visibility: the vendor sees every invitation; a partner only those made to it, never another
//! invitee's, and of the deal only the `shared` snapshot until its acceptance makes it a party.
//! Every change is one transaction with its `invitation.*` event, heard by the vendor and the
//! invited partner alone.
//!
//! Locks: an answer, a withdrawal and the expiry sweep each take the invitation's row (a
//! version-guarded update), so two of them never both succeed. An acceptance first reads the
//! deal's row `FOR SHARE` (a close of the deal waits for it, or it sees the deal closed), then
//! takes the invitation's row, then the customer lock of the deal's domain, as every
//! registration does: deal row, invitation row, customer lock.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::enums::{InvitationStatus, OpportunityStage, RegistrationRole, SharedField};
use entity::invitation::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select, Set,
};
use serde_json::{json, Map, Value};

use super::events::payload::{InvitationChanged, InvitationSnapshot};
use super::events::{self, NewEvent, Topic};
use super::page::{self, Ordering, Page, PageArgs, PageLimits, SortKey};
use crate::auth::scope::Audience;
use crate::auth::{can, Grant, Party, Principal, Resource};
use crate::domain::{account::normalise_domain, money, text};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

/// Written into cursors of the invitation list.
pub const ORDERING: &str = "invitations:id";
/// Partners one request may invite at most.
pub const MAX_INVITEES: usize = 50;
/// Contacts one invitation may share at most.
pub const MAX_SHARED_CONTACTS: usize = 20;
/// The longest an invitation may stay open.
pub const MAX_DAYS_OPEN: i64 = 90;
/// Who expires invitations in the history and events.
pub const EXPIRY: &str = "system:invitation-expiry";

/// The invitations `principal` may see: all of them for the vendor, its own for a partner.
pub fn visible(principal: &Principal) -> Select<Entity> {
    match principal.party {
        Party::Vendor => Entity::find(),
        Party::Partner(p) => Entity::find().filter(Column::PartnerId.eq(p)),
    }
}

/// The invitations among `ids` that `principal` may see, by id.
pub async fn load(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Model>> {
    if !principal.may_read(Resource::Registrations) || ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = visible(principal)
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// Which invitations a list returns.
#[derive(Debug, Default, Clone)]
pub struct InvitationFilter {
    /// One partner's (the vendor's filter; a partner's list is its own anyway).
    pub partner_id: Option<i64>,
    /// Only these statuses.
    pub status_in: Option<Vec<InvitationStatus>>,
    /// One deal's.
    pub opportunity_id: Option<i64>,
    /// OPEN ones that expire before this time ("expiring soon").
    pub expiring_before: Option<DateTime<Utc>>,
}

/// A page of the invitations `principal` may see, oldest first, and the filtered query for
/// its count.
pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
    filter: InvitationFilter,
    args: &PageArgs,
    limits: PageLimits,
) -> AppResult<(Page<Model>, Select<Entity>)> {
    principal.require_read(Resource::Registrations)?;
    let mut q = visible(principal);
    if let Some(p) = filter.partner_id {
        q = q.filter(Column::PartnerId.eq(p));
    }
    if let Some(s) = filter.status_in {
        q = q.filter(Column::Status.is_in(s));
    }
    if let Some(o) = filter.opportunity_id {
        q = q.filter(Column::OpportunityId.eq(o));
    }
    if let Some(t) = filter.expiring_before {
        q = q
            .filter(Column::Status.eq(InvitationStatus::Open))
            .filter(Column::ExpiresAt.lt(t));
    }
    let ord = Ordering {
        name: ORDERING.into(),
        column: None,
        id: Column::Id,
        desc: false,
    };
    let page = page::fetch(db, q.clone(), &ord, args, limits, |_| SortKey::Id, |m| m.id).await?;
    Ok((page, q))
}

/// A deal the vendor has not entered yet: it is created (with its account, if the domain is
/// new) together with the invitations.
#[derive(Debug, Clone)]
pub struct Lead {
    pub account_domain: String,
    pub account_name: String,
    pub deal_name: String,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub expected_close_date: Option<NaiveDate>,
}

/// What the invited partners are shown of the deal before they accept.
#[derive(Debug, Clone, Default)]
pub struct Share {
    pub fields: Vec<SharedField>,
    /// Contacts at the deal's account (at most [`MAX_SHARED_CONTACTS`]): name, title and email.
    pub contact_ids: Vec<i64>,
}

/// The vendor's invitation of one or several partners to one deal.
#[derive(Debug, Clone)]
pub struct InvitePartners {
    /// The deal: an existing opportunity...
    pub opportunity_id: Option<i64>,
    /// ...or a lead that becomes one.
    pub lead: Option<Lead>,
    pub partner_ids: Vec<i64>,
    pub role: RegistrationRole,
    pub message: Option<String>,
    pub share: Share,
    pub expires_at: DateTime<Utc>,
    /// A retry with the same key returns the first request's invitations.
    pub idempotency_key: Option<String>,
}

fn audience(m: &Model) -> Vec<Audience> {
    vec![Audience::Vendor, Audience::Partner(m.partner_id)]
}

fn event(m: &Model, reason: Option<String>) -> NewEvent {
    NewEvent::new(
        Topic::Invitation(m.status),
        audience(m),
        ids::encode(Kind::Invitation, m.id),
        &InvitationChanged {
            invitation: InvitationSnapshot::of(m),
            reason,
        },
    )
}

/// Invites each partner of `input` to the deal; one transaction, one event per invitation.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn invite(
    db: &DatabaseConnection,
    grant: &Grant<can::InvitePartners>,
    input: InvitePartners,
) -> AppResult<Vec<Model>> {
    let principal = grant.principal();
    let message = text::optional("message", input.message.as_deref(), 4000)?;
    let key = text::optional("idempotencyKey", input.idempotency_key.as_deref(), 200)?;
    let mut partners = input.partner_ids.clone();
    partners.sort_unstable();
    partners.dedup();
    if partners.is_empty() || partners.len() > MAX_INVITEES {
        return Err(AppError::bad_field(
            "partnerIds",
            format!("invite 1 to {MAX_INVITEES} partners at a time"),
        ));
    }
    let now = Utc::now();
    if input.expires_at <= now {
        return Err(AppError::bad_field(
            "expiresAt",
            "expiresAt must be in the future",
        ));
    }
    if input.expires_at > now + Duration::days(MAX_DAYS_OPEN) {
        return Err(AppError::bad_field(
            "expiresAt",
            format!("an invitation stays open at most {MAX_DAYS_OPEN} days"),
        ));
    }
    if input.share.contact_ids.len() > MAX_SHARED_CONTACTS {
        return Err(AppError::bad_field(
            "share",
            format!("share at most {MAX_SHARED_CONTACTS} contacts"),
        ));
    }
    let print = fingerprint(&input, &partners);
    if let Some(k) = &key {
        if let Some(first) = by_key(db, principal, k, &print).await? {
            return first;
        }
    }
    let key = key.map(|k| (k, print.clone()));
    let result = invite_once(db, principal, &input, &partners, message, key.clone()).await;
    match (result, &key) {
        // A concurrent retry with the same key committed first: answer with its result.
        (Err(e @ AppError::Conflict(_)), Some((k, _))) => {
            match by_key(db, principal, k, &print).await? {
                Some(first) => first,
                None => Err(e),
            }
        }
        (other, _) => other,
    }
}

async fn invite_once(
    db: &DatabaseConnection,
    principal: &Principal,
    input: &InvitePartners,
    partners: &[i64],
    message: Option<String>,
    key: Option<(String, String)>,
) -> AppResult<Vec<Model>> {
    let (key, print) = key.unzip();
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let opp = match (input.opportunity_id, &input.lead) {
        (Some(id), None) => entity::opportunity::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| {
                AppError::bad_field("opportunityId", "opportunityId names no opportunity")
            })?,
        (None, Some(lead)) => create_lead(&txn, principal, lead.clone()).await?,
        _ => {
            return Err(AppError::bad_input(
                "give either `opportunityId` (an existing deal) or `lead` (a new one)",
            ))
        }
    };
    if matches!(
        opp.stage,
        OpportunityStage::ClosedWon | OpportunityStage::ClosedLost
    ) {
        return Err(AppError::Conflict(
            "the opportunity is closed: partners can no longer join it".into(),
        ));
    }
    let found = entity::partner::Entity::find()
        .filter(entity::partner::Column::Id.is_in(partners.iter().copied()))
        .all(&txn)
        .await?;
    for p in partners {
        match found.iter().find(|f| f.id == *p) {
            None => {
                return Err(AppError::bad_field(
                    "partnerIds",
                    format!("{} names no partner", ids::encode(Kind::Partner, *p)),
                ))
            }
            Some(f) if f.status != entity::enums::PartnerStatus::Active => {
                return Err(AppError::bad_field(
                    "partnerIds",
                    format!("the partner {} is suspended", f.name),
                ))
            }
            Some(_) => {}
        }
    }
    // A partner already on the deal (an approved claim) needs no invitation.
    let parties: Vec<i64> = entity::registration::Entity::find()
        .select_only()
        .column(entity::registration::Column::PartnerId)
        .filter(entity::registration::Column::OpportunityId.eq(opp.id))
        .filter(entity::registration::Column::PartnerId.is_in(partners.iter().copied()))
        .filter(entity::registration::Column::Status.is_in([
            entity::enums::RegistrationStatus::Approved,
            entity::enums::RegistrationStatus::Won,
        ]))
        .into_tuple()
        .all(&txn)
        .await?;
    if let Some(p) = parties.first() {
        return Err(AppError::bad_field(
            "partnerIds",
            format!(
                "the partner {} is already a party to this deal",
                ids::encode(Kind::Partner, *p)
            ),
        ));
    }
    let shared = snapshot(&txn, &opp, &input.share).await?;
    let mut made = Vec::with_capacity(partners.len());
    for &p in partners {
        let m = ActiveModel {
            opportunity_id: Set(opp.id),
            partner_id: Set(p),
            role: Set(input.role),
            status: Set(InvitationStatus::Open),
            message: Set(message.clone()),
            shared: Set(shared.clone()),
            expires_at: Set(input.expires_at),
            invited_by: Set(principal.subject.clone()),
            decline_reason: Set(None),
            registration_id: Set(None),
            closed_at: Set(None),
            idempotency_key: Set(key.clone()),
            idempotency_fingerprint: Set(print.clone()),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(|e| {
            AppError::unique_or(
                e,
                format!(
                    "the partner {} already has an open invitation to this deal",
                    ids::encode(Kind::Partner, p)
                ),
            )
        })?;
        made.push(m);
    }
    events::append_all(
        &txn,
        principal,
        made.iter().map(|m| event(m, None)).collect(),
    )
    .await?;
    txn.commit().await?;
    Ok(made)
}

/// What an invitation request asks for, without its key and its default expiry: FNV-1a over
/// the deal, the partners, the role, the message and what is shared.
fn fingerprint(input: &InvitePartners, partners: &[i64]) -> String {
    let mut contacts = input.share.contact_ids.clone();
    contacts.sort_unstable();
    let text = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        input.opportunity_id,
        input.lead,
        partners,
        input.role,
        input.message,
        input.share.fields,
        contacts
    );
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// The invitations an earlier request of this inviter with `key` made, if any; refused when
/// that request asked for something else.
async fn by_key(
    db: &DatabaseConnection,
    principal: &Principal,
    key: &str,
    print: &str,
) -> AppResult<Option<AppResult<Vec<Model>>>> {
    let rows = Entity::find()
        .filter(Column::InvitedBy.eq(principal.subject.as_str()))
        .filter(Column::IdempotencyKey.eq(key))
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    if rows
        .iter()
        .any(|m| m.idempotency_fingerprint.as_deref() != Some(print))
    {
        return Ok(Some(Err(AppError::IdempotencyKeyReused(format!(
            "the idempotency key `{}` was used for another invitation; send a new key for a new request",
            crate::error::clip(key)
        )))));
    }
    Ok(Some(Ok(rows)))
}

/// Creates the account (if its domain is new) and the opportunity of a lead.
async fn create_lead(
    txn: &DatabaseTransaction,
    principal: &Principal,
    lead: Lead,
) -> AppResult<entity::opportunity::Model> {
    let domain = normalise_domain(&lead.account_domain)?;
    let name = text::required("accountName", &lead.account_name, 200)?;
    let deal = text::required("dealName", &lead.deal_name, 200)?;
    let (amount, currency) = match (lead.amount, lead.currency.as_deref()) {
        (Some(a), Some(c)) => (money::amount("amount", a)?, money::currency(c)?),
        (None, None) => (0, "USD".to_string()),
        _ => {
            return Err(AppError::bad_field(
                "currency",
                "give amount and currency together",
            ))
        }
    };
    let account = match super::accounts::find_by_domain_in(txn, &domain).await? {
        Some(a) => a,
        None => super::accounts::insert_in(txn, principal, name, domain, None, None).await?,
    };
    let fields = super::opportunities::NewOpportunity {
        account_id: account.id,
        name: deal,
        stage: OpportunityStage::Prospecting,
        amount_minor: amount,
        currency,
        expected_close_date: lead
            .expected_close_date
            .unwrap_or_else(|| (Utc::now() + Duration::days(90)).date_naive()),
        owner: principal.subject.clone(),
        region: account.region.clone(),
        products: vec![],
        forecast_notes: None,
        probability: None,
    };
    super::opportunities::insert_in(txn, principal, fields).await
}

/// The JSON the invited partners read: only the fields the vendor chose, as they are now.
async fn snapshot(
    txn: &DatabaseTransaction,
    opp: &entity::opportunity::Model,
    share: &Share,
) -> AppResult<Value> {
    let account = entity::account::Entity::find_by_id(opp.account_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("Account"))?;
    let mut out = Map::new();
    for f in &share.fields {
        match f {
            SharedField::CustomerName => {
                out.insert("customerName".into(), json!(account.name));
            }
            SharedField::CustomerDomain => {
                out.insert("customerDomain".into(), json!(account.domain));
            }
            SharedField::DealName => {
                out.insert("dealName".into(), json!(opp.name));
            }
            SharedField::Amount => {
                out.insert("amount".into(), json!(opp.amount_minor));
                out.insert("currency".into(), json!(opp.currency));
            }
            SharedField::Stage => {
                out.insert("stage".into(), json!(opp.stage));
            }
            SharedField::Products => {
                out.insert("products".into(), opp.products.clone());
            }
            SharedField::Region => {
                out.insert("region".into(), json!(opp.region));
            }
            SharedField::ExpectedCloseDate => {
                out.insert("expectedCloseDate".into(), json!(opp.expected_close_date));
            }
        }
    }
    if !share.contact_ids.is_empty() {
        let contacts = entity::contact::Entity::find()
            .filter(entity::contact::Column::Id.is_in(share.contact_ids.iter().copied()))
            .filter(entity::contact::Column::AccountId.eq(account.id))
            // What the vendor may pass on: its own contacts and those their partners shared,
            // never a partner's private ones; and only people still reachable there.
            .filter(
                Condition::any()
                    .add(entity::contact::Column::SourcedByPartnerId.is_null())
                    .add(entity::contact::Column::Shared.eq(true)),
            )
            .filter(entity::contact::Column::Status.eq(entity::enums::ContactStatus::Active))
            .order_by_asc(entity::contact::Column::Id)
            .all(txn)
            .await?;
        if contacts.len() != {
            let mut c = share.contact_ids.clone();
            c.sort_unstable();
            c.dedup();
            c.len()
        } {
            return Err(AppError::bad_field(
                "share",
                "share only active contacts at the deal's account that are the vendor's own or were shared by their partner",
            ));
        }
        let list: Vec<Value> = contacts
            .iter()
            .map(|c| json!({ "name": c.name, "title": c.title, "email": c.email }))
            .collect();
        out.insert("contacts".into(), Value::Array(list));
    }
    Ok(Value::Object(out))
}

/// Reads an invitation for a change by `principal`: a partner's own, or any for the vendor.
/// One it may not see is NOT_FOUND, as one that does not exist.
async fn load_for_write(
    txn: &DatabaseTransaction,
    principal: &Principal,
    id: &str,
) -> AppResult<Model> {
    let id = ids::decode_field(id, Kind::Invitation, "id")?;
    visible(principal)
        .filter(Column::Id.eq(id))
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("Invitation"))
}

/// Refuses a change to an invitation that is no longer OPEN (or whose time ran out).
fn still_open(m: &Model, now: DateTime<Utc>) -> AppResult<()> {
    if m.status != InvitationStatus::Open {
        return Err(AppError::Conflict(format!(
            "the invitation is {}; only an OPEN invitation can be answered or withdrawn",
            m.status.as_str()
        )));
    }
    if m.expires_at <= now {
        return Err(AppError::Conflict(
            "the invitation expired: ask the vendor for a new one".into(),
        ));
    }
    Ok(())
}

/// Moves `m` out of OPEN under its version: the row is held until the transaction ends.
async fn close(
    txn: &DatabaseTransaction,
    m: &Model,
    expected: i32,
    status: InvitationStatus,
    apply: impl FnOnce(&mut ActiveModel),
) -> AppResult<Model> {
    let now = Utc::now();
    let mut c = ActiveModel {
        status: Set(status),
        closed_at: Set(Some(now)),
        updated_at: Set(now),
        ..Default::default()
    };
    apply(&mut c);
    crate::db::update_versioned(
        txn,
        "Invitation",
        c,
        Column::Id,
        Column::Version,
        m.id,
        expected,
    )
    .await
}

/// An answer to an invitation.
#[derive(Debug)]
pub struct Answer {
    /// The invitation's global ID, decoded here.
    pub id: String,
    pub expected_version: i32,
    /// Accepting: the registration's justification (default: the invitation's). Declining:
    /// the reason, required. Withdrawing: the reason, optional.
    pub text: Option<String>,
}

/// The partner accepts: its registration in the proposed role, through the lifecycle, and the
/// invitation ACCEPTED, in one transaction.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn accept(
    db: &DatabaseConnection,
    grant: &Grant<can::ClaimDeals>,
    input: Answer,
) -> AppResult<(Model, entity::registration::Model)> {
    let principal = grant.principal();
    let partner_id = grant.partner_id();
    let note = text::optional("justification", input.text.as_deref(), 4000)?;
    let txn = crate::db::begin_write(db).await?;
    let inv = load_for_write(&txn, principal, &input.id).await?;
    crate::db::check_version("Invitation", input.expected_version, inv.version)?;
    still_open(&inv, Utc::now())?;
    // The deal's row, shared, before the invitation's: a close of the deal waits for this
    // acceptance (and then closes its claim with the others), or this one sees it closed.
    let opp = entity::opportunity::Entity::find_by_id(inv.opportunity_id);
    let opp = if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        opp.lock_shared()
    } else {
        opp
    };
    let opp = opp
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("Opportunity"))?;
    if matches!(
        opp.stage,
        OpportunityStage::ClosedWon | OpportunityStage::ClosedLost
    ) {
        return Err(AppError::Conflict(
            "the deal closed since the invitation was made: it can no longer be joined".into(),
        ));
    }
    // Then the invitation's row: a withdrawal or the expiry racing this one waits, then finds
    // the version moved on.
    let accepted = close(&txn, &inv, inv.version, InvitationStatus::Accepted, |_| {}).await?;
    let justification = note.unwrap_or_else(|| {
        format!(
            "Accepted the vendor's invitation{}",
            inv.message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )
    });
    let justification: String = justification.chars().take(4000).collect();
    let reg = super::registrations::submission::accept_invitation_in(
        &txn,
        principal,
        partner_id,
        &inv,
        justification,
    )
    .await?;
    let c = ActiveModel {
        registration_id: Set(Some(reg.id)),
        ..Default::default()
    };
    let accepted = crate::db::update_versioned(
        &txn,
        "Invitation",
        c,
        Column::Id,
        Column::Version,
        accepted.id,
        accepted.version,
    )
    .await?;
    events::append(&txn, principal, event(&accepted, None)).await?;
    txn.commit().await?;
    Ok((accepted, reg))
}

/// The partner declines, with its reason.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn decline(
    db: &DatabaseConnection,
    grant: &Grant<can::ClaimDeals>,
    input: Answer,
) -> AppResult<Model> {
    let principal = grant.principal();
    let reason = text::required("reason", input.text.as_deref().unwrap_or(""), 2000)?;
    let txn = crate::db::begin_write(db).await?;
    let inv = load_for_write(&txn, principal, &input.id).await?;
    crate::db::check_version("Invitation", input.expected_version, inv.version)?;
    still_open(&inv, Utc::now())?;
    let r = reason.clone();
    let declined = close(&txn, &inv, inv.version, InvitationStatus::Declined, |c| {
        c.decline_reason = Set(Some(r))
    })
    .await?;
    events::append(&txn, principal, event(&declined, Some(reason))).await?;
    txn.commit().await?;
    Ok(declined)
}

/// The vendor takes back an open invitation.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn withdraw(
    db: &DatabaseConnection,
    grant: &Grant<can::InvitePartners>,
    input: Answer,
) -> AppResult<Model> {
    let principal = grant.principal();
    let reason = text::optional("reason", input.text.as_deref(), 2000)?;
    let txn = crate::db::begin_write(db).await?;
    let inv = load_for_write(&txn, principal, &input.id).await?;
    crate::db::check_version("Invitation", input.expected_version, inv.version)?;
    still_open(&inv, Utc::now())?;
    let withdrawn = close(&txn, &inv, inv.version, InvitationStatus::Withdrawn, |_| {}).await?;
    events::append(&txn, principal, event(&withdrawn, reason)).await?;
    txn.commit().await?;
    Ok(withdrawn)
}

/// Expires the OPEN invitations whose time ran out, each in its own transaction under its
/// version, so instances sweeping together expire each once. Returns how many it expired.
pub async fn expire_due(db: &DatabaseConnection) -> AppResult<usize> {
    let now = Utc::now();
    let due: Vec<(i64, i32)> = Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::Version)
        .filter(Column::Status.eq(InvitationStatus::Open))
        .filter(Column::ExpiresAt.lte(now))
        .order_by_asc(Column::ExpiresAt)
        .limit(500)
        .into_tuple()
        .all(db)
        .await?;
    let system = Principal::system(EXPIRY);
    let mut expired = 0;
    for (id, version) in due {
        let txn = crate::db::begin_write(db).await?;
        let Some(inv) = Entity::find_by_id(id).one(&txn).await? else {
            continue;
        };
        if inv.status != InvitationStatus::Open || inv.expires_at > now {
            continue;
        }
        match close(&txn, &inv, version, InvitationStatus::Expired, |_| {}).await {
            Ok(m) => {
                events::append(&txn, &system, event(&m, None)).await?;
                txn.commit().await?;
                expired += 1;
            }
            // Answered, withdrawn or expired by another instance meanwhile.
            Err(AppError::VersionMismatch { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(expired)
}

/// Answers to invitations in one group.
#[derive(Debug, Clone, Default)]
pub struct AnswerFigures {
    /// Invitations made.
    pub invited: u64,
    pub accepted: u64,
    pub declined: u64,
    pub expired: u64,
    pub withdrawn: u64,
    /// Still waiting.
    pub open: u64,
    /// accepted / (accepted + declined + expired); null before any of them.
    pub acceptance_rate: Option<f64>,
    /// Median hours from invitation to the partner's answer (accepted or declined).
    pub median_hours_to_answer: Option<f64>,
}

/// Invitation figures over the invitations made in `[from, to)` that `principal` may see.
#[derive(Debug, Clone, Default)]
pub struct InvitationFigures {
    pub overall: AnswerFigures,
    pub by_partner: Vec<(i64, AnswerFigures)>,
    pub by_role: Vec<(RegistrationRole, AnswerFigures)>,
}

#[derive(Default)]
struct Acc {
    f: AnswerFigures,
    hours: Vec<f64>,
}

type Row = (
    i64,
    RegistrationRole,
    InvitationStatus,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

impl Acc {
    fn add(&mut self, r: &Row) {
        let (_, _, status, created, closed) = r;
        self.f.invited += 1;
        match status {
            InvitationStatus::Open => self.f.open += 1,
            InvitationStatus::Accepted => self.f.accepted += 1,
            InvitationStatus::Declined => self.f.declined += 1,
            InvitationStatus::Expired => self.f.expired += 1,
            InvitationStatus::Withdrawn => self.f.withdrawn += 1,
        }
        if let (InvitationStatus::Accepted | InvitationStatus::Declined, Some(c)) = (status, closed)
        {
            self.hours
                .push((*c - *created).num_seconds() as f64 / 3600.0);
        }
    }

    fn finish(mut self) -> AnswerFigures {
        let ended = self.f.accepted + self.f.declined + self.f.expired;
        self.f.acceptance_rate = (ended > 0).then(|| self.f.accepted as f64 / ended as f64);
        self.f.median_hours_to_answer = crate::domain::registration::median(&mut self.hours)
            .map(|h| (h * 100.0).round() / 100.0);
        self.f
    }
}

/// Acceptance rate and time to answer, overall, by partner and by role.
pub async fn figures(
    db: &DatabaseConnection,
    principal: &Principal,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AppResult<InvitationFigures> {
    principal.require_read(Resource::Registrations)?;
    let mut cond = Condition::all();
    if let Some(f) = from {
        cond = cond.add(Column::CreatedAt.gte(f));
    }
    if let Some(t) = to {
        cond = cond.add(Column::CreatedAt.lt(t));
    }
    let rows: Vec<Row> = visible(principal)
        .filter(cond)
        .select_only()
        .column(Column::PartnerId)
        .column(Column::Role)
        .column(Column::Status)
        .column(Column::CreatedAt)
        .column(Column::ClosedAt)
        .into_tuple()
        .all(db)
        .await?;
    let mut overall = Acc::default();
    let mut partners: BTreeMap<i64, Acc> = BTreeMap::new();
    let mut roles: BTreeMap<RegistrationRole, Acc> = BTreeMap::new();
    for r in &rows {
        overall.add(r);
        partners.entry(r.0).or_default().add(r);
        roles.entry(r.1).or_default().add(r);
    }
    Ok(InvitationFigures {
        overall: overall.finish(),
        by_partner: partners.into_iter().map(|(p, a)| (p, a.finish())).collect(),
        by_role: roles.into_iter().map(|(r, a)| (r, a.finish())).collect(),
    })
}
