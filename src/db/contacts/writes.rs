//! Contact and link writes. Vendor users and partners both write; a partner changes only the
//! contacts it sourced, on accounts of deals it is on.

use chrono::Utc;
use entity::contact::{ActiveModel, Column, Model};
use entity::enums::{BuyingRole, ContactStatus, Seniority};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, QueryFilter, Set,
};

use super::email_key;
use super::network::{self, ThreadingWindow};
use crate::auth::{can, Grant};
use crate::auth::{Party, Principal};
use crate::db::events::payload::ContactChanged;
use crate::db::events::{self, NewEvent, Topic};
use crate::domain::text;
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

/// The account `principal` may add contacts to: any for the vendor, the accounts of its deals
/// for a partner.
async fn writable_account(
    txn: &DatabaseTransaction,
    principal: &Principal,
    account: &str,
) -> AppResult<i64> {
    let id = ids::decode_field(account, Kind::Account, "accountId")?;
    crate::db::accounts::visible(principal)
        .filter(entity::account::Column::Id.eq(id))
        .one(txn)
        .await?
        .map(|a| a.id)
        .ok_or(AppError::NotFound("Account"))
}

/// A contact `principal` may change: any for the vendor, its own for a partner.
async fn writable_contact(
    txn: &DatabaseTransaction,
    principal: &Principal,
    id: &str,
) -> AppResult<Model> {
    let id = ids::decode_field(id, Kind::Contact, "id")?;
    let c = super::get(txn, principal, id).await?;
    match principal.party {
        Party::Partner(p) if c.sourced_by_partner_id != Some(p) => Err(AppError::Forbidden(
            "only the party that sourced a contact, or the vendor, may change it".into(),
        )),
        _ => Ok(c),
    }
}

/// A stakeholder's details.
#[derive(Debug, Clone)]
pub struct ContactFields {
    /// Full name (1 to 200 characters).
    pub name: String,
    /// Email address; unique at the account, compared case-insensitively.
    pub email: String,
    /// Job title.
    pub title: Option<String>,
    /// Department, e.g. "Finance" (used for threading coverage).
    pub department: Option<String>,
    /// Seniority.
    pub seniority: Option<Seniority>,
    /// The part the contact plays in the buying decision.
    pub buying_role: Option<BuyingRole>,
    /// Share with every party on the account's deals (default false: only the vendor and the
    /// sourcing party see it).
    pub shared: Option<bool>,
}

struct Checked {
    name: String,
    email: String,
    email_key: String,
    title: Option<String>,
    department: Option<String>,
    seniority: Option<Seniority>,
    buying_role: Option<BuyingRole>,
    shared: Option<bool>,
}

fn check(f: &ContactFields) -> AppResult<Checked> {
    let (email, email_key) = email_key(&f.email)?;
    Ok(Checked {
        name: text::required("name", &f.name, 200)?,
        email,
        email_key,
        title: text::optional("title", f.title.as_deref(), 200)?,
        department: text::optional("department", f.department.as_deref(), 100)?,
        seniority: f.seniority,
        buying_role: f.buying_role,
        shared: f.shared,
    })
}

fn apply(m: &mut ActiveModel, c: Checked) {
    m.name = Set(c.name);
    m.email = Set(c.email);
    m.email_key = Set(c.email_key);
    m.title = Set(c.title);
    m.department = Set(c.department);
    m.seniority = Set(c.seniority);
    m.buying_role = Set(c.buying_role);
    if let Some(s) = c.shared {
        m.shared = Set(s);
    }
}

async fn event(
    txn: &DatabaseTransaction,
    principal: &Principal,
    topic: Topic,
    c: &Model,
) -> AppResult<()> {
    events::append(
        txn,
        principal,
        NewEvent::new(
            topic,
            crate::auth::scope::heard::<crate::auth::scope::Contacts, _>(txn, c).await?,
            ids::encode(Kind::Contact, c.id),
            &ContactChanged::of(c),
        ),
    )
    .await?;
    Ok(())
}

const DUPLICATE: &str = "a contact with this email already exists at the account";

/// Refuses an email that a contact the caller can see already has at the account (one of its
/// own, or one shared with it). Contacts it cannot see are another party's records: the unique
/// index is per party (the vendor, each partner), so they never collide with the caller's and
/// the answer tells it nothing about them.
async fn refuse_visible_duplicate(
    txn: &DatabaseTransaction,
    principal: &Principal,
    account_id: i64,
    email_key: &str,
    except: Option<i64>,
) -> AppResult<()> {
    let mut q = super::visible(principal)
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::EmailKey.eq(email_key));
    if let Some(id) = except {
        q = q.filter(Column::Id.ne(id));
    }
    match q.one(txn).await? {
        Some(_) => Err(AppError::Conflict(DUPLICATE.into())),
        None => Ok(()),
    }
}

async fn insert(
    txn: &DatabaseTransaction,
    principal: &Principal,
    account_id: i64,
    c: Checked,
) -> AppResult<Model> {
    let now = Utc::now();
    let mut m = ActiveModel {
        account_id: Set(account_id),
        status: Set(ContactStatus::Active),
        sourced_by_partner_id: Set(principal.partner_id()),
        shared: Set(false),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply(&mut m, c);
    let contact = m
        .insert(txn)
        .await
        .map_err(|e| AppError::unique_or(e, DUPLICATE))?;
    event(txn, principal, Topic::ContactCreated, &contact).await?;
    Ok(contact)
}

/// A new contact at an account.
#[derive(Debug)]
pub struct CreateContact {
    /// The account (for a partner: one of the accounts of its deals): its global ID, decoded
    /// here.
    pub account_id: String,
    /// The contact's details.
    pub contact: ContactFields,
}

/// Creates a contact (vendor people, or a partner sourcing it, through the `WriteContacts` grant);
/// returns it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    db: &DatabaseConnection,
    grant: &Grant<can::WriteContacts>,
    input: CreateContact,
    window: ThreadingWindow,
) -> AppResult<Model> {
    let principal = grant.principal();
    let checked = check(&input.contact)?;
    let txn = crate::db::begin_write(db).await?;
    let account = writable_account(&txn, principal, &input.account_id).await?;
    refuse_visible_duplicate(&txn, principal, account, &checked.email_key, None).await?;
    let c = insert(&txn, principal, account, checked).await?;
    // A new champion, or one who already left, changes what the deals' threading says.
    network::refresh_scores(&txn, principal, account, window).await?;
    txn.commit().await?;
    Ok(c)
}

/// Replaces a contact's details.
#[derive(Debug)]
pub struct UpdateContact {
    /// The contact's global ID, decoded here.
    pub id: String,
    /// The version you read.
    pub expected_version: i32,
    /// The new details.
    pub contact: ContactFields,
}

async fn save(
    txn: &DatabaseTransaction,
    principal: &Principal,
    before: &Model,
    c: ActiveModel,
    topic: Topic,
) -> AppResult<Model> {
    let mut c = c;
    c.updated_at = Set(Utc::now());
    let after = crate::db::update_versioned(
        txn,
        "Contact",
        c,
        Column::Id,
        Column::Version,
        before.id,
        before.version,
    )
    .await
    .map_err(|e| match e {
        AppError::Db(e) => AppError::unique_or(e, DUPLICATE),
        other => other,
    })?;
    event(txn, principal, topic, &after).await?;
    Ok(after)
}

/// Changes a contact (vendor people, or the partner that sourced it, through the `WriteContacts`
/// grant); returns it as it now stands.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    db: &DatabaseConnection,
    grant: &Grant<can::WriteContacts>,
    input: UpdateContact,
    window: ThreadingWindow,
) -> AppResult<Model> {
    let principal = grant.principal();
    let checked = check(&input.contact)?;
    let txn = crate::db::begin_write(db).await?;
    let before = writable_contact(&txn, principal, &input.id).await?;
    crate::db::check_version("Contact", input.expected_version, before.version)?;
    if checked.email_key != before.email_key {
        refuse_visible_duplicate(
            &txn,
            principal,
            before.account_id,
            &checked.email_key,
            Some(before.id),
        )
        .await?;
    }
    let mut c = <ActiveModel as Default>::default();
    apply(&mut c, checked);
    let after = save(&txn, principal, &before, c, Topic::ContactUpdated).await?;
    network::refresh_scores(&txn, principal, after.account_id, window).await?;
    txn.commit().await?;
    Ok(after)
}

/// A change in a contact's reachability.
#[derive(Debug)]
pub struct MarkContact {
    /// The contact's global ID; it and `successor_id` are decoded here.
    pub id: String,
    /// The version you read.
    pub expected_version: i32,
    /// LEFT_COMPANY, ROLE_CHANGED, UNRESPONSIVE, or ACTIVE again.
    pub status: ContactStatus,
    /// Who took over, a contact at the same account.
    pub successor_id: Option<String>,
}

/// Marks a contact as left or moved, naming a successor (vendor people, or the partner that sourced
/// it, through the `WriteContacts` grant); returns it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn mark(
    db: &DatabaseConnection,
    grant: &Grant<can::WriteContacts>,
    input: MarkContact,
    window: ThreadingWindow,
) -> AppResult<Model> {
    let principal = grant.principal();
    let txn = crate::db::begin_write(db).await?;
    let before = writable_contact(&txn, principal, &input.id).await?;
    crate::db::check_version("Contact", input.expected_version, before.version)?;
    let mut c = ActiveModel {
        status: Set(input.status),
        ..Default::default()
    };
    if let Some(s) = &input.successor_id {
        let successor = super::get(
            &txn,
            principal,
            ids::decode_field(s, Kind::Contact, "successorId")?,
        )
        .await?;
        if successor.account_id != before.account_id || successor.id == before.id {
            return Err(AppError::bad_field(
                "successorId",
                "the successor must be another contact at the same account",
            ));
        }
        c.successor_id = Set(Some(successor.id));
    }
    let after = save(&txn, principal, &before, c, Topic::Contact(input.status)).await?;
    network::refresh_scores(&txn, principal, after.account_id, window).await?;
    txn.commit().await?;
    Ok(after)
}

/// Shares a contact with the parties of its account's deals (vendor people, or the partner that
/// sourced it, through the `WriteContacts` grant); returns it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn share(
    db: &DatabaseConnection,
    grant: &Grant<can::WriteContacts>,
    id: &str,
    expected_version: i32,
) -> AppResult<Model> {
    let principal = grant.principal();
    let txn = crate::db::begin_write(db).await?;
    let before = writable_contact(&txn, principal, id).await?;
    crate::db::check_version("Contact", expected_version, before.version)?;
    let c = ActiveModel {
        shared: Set(true),
        ..Default::default()
    };
    let after = save(&txn, principal, &before, c, Topic::ContactShared).await?;
    txn.commit().await?;
    Ok(after)
}

/// Contacts to create or update at one account, matched by email.
#[derive(Debug)]
pub struct UpsertContacts {
    /// The account's global ID, decoded here.
    pub account_id: String,
    /// Up to 500 contacts; an email already at the account updates that contact.
    pub contacts: Vec<ContactFields>,
    /// Write the good items even if some are bad (false: one bad item writes nothing).
    pub allow_partial: bool,
}

/// The outcome of one item of a bulk upsert.
#[derive(Debug)]
pub struct UpsertResult {
    /// The item's position in the request, from 0.
    pub index: i32,
    /// CREATED, UPDATED, UNCHANGED, or FAILED.
    pub outcome: String,
    /// The contact's row id when it was written or matched.
    pub contact_id: Option<i64>,
    /// The error code when it failed.
    pub error_code: Option<String>,
    /// What went wrong.
    pub error_message: Option<String>,
}

fn failed(index: usize, e: &AppError) -> UpsertResult {
    UpsertResult {
        index: index as i32,
        outcome: "FAILED".into(),
        contact_id: None,
        error_code: Some(e.code().into()),
        error_message: Some(e.message()),
    }
}

fn written(index: usize, outcome: &str, contact_id: i64) -> UpsertResult {
    UpsertResult {
        index: index as i32,
        outcome: outcome.into(),
        contact_id: Some(contact_id),
        error_code: None,
        error_message: None,
    }
}

/// Upserts a batch of contacts at one account (vendor people, or a partner on its own
/// contacts, through the `WriteContacts` grant); returns one result per contact. Idempotent:
/// sending the same batch twice creates nothing the second time.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn upsert(
    db: &DatabaseConnection,
    grant: &Grant<can::WriteContacts>,
    input: UpsertContacts,
    window: ThreadingWindow,
) -> AppResult<Vec<UpsertResult>> {
    let principal = grant.principal();
    if input.contacts.is_empty() || input.contacts.len() > 500 {
        return Err(AppError::bad_field("contacts", "send 1 to 500 contacts"));
    }
    let txn = crate::db::begin_write(db).await?;
    let account = writable_account(&txn, principal, &input.account_id).await?;
    let existing = visible_by_email(&txn, principal, account).await?;
    let mut results = Vec::with_capacity(input.contacts.len());
    let mut seen = std::collections::HashSet::new();
    let mut any_failed = false;
    for (i, f) in input.contacts.iter().enumerate() {
        let r = async {
            let c = check(f)?;
            if !seen.insert(c.email_key.clone()) {
                return Err(AppError::bad_field(
                    "email",
                    "this email appears twice in the batch",
                ));
            }
            upsert_one(&txn, principal, account, existing.get(&c.email_key), i, c).await
        }
        .await;
        match r {
            Ok(ok) => results.push(ok),
            Err(
                e @ (AppError::Db(_)
                | AppError::Unavailable(_)
                | AppError::Contention(_)
                | AppError::Internal(_)),
            ) => return Err(e),
            Err(e) => {
                any_failed = true;
                results.push(failed(i, &e));
            }
        }
    }
    if any_failed && !input.allow_partial {
        drop(txn);
        return Ok(not_written(results));
    }
    network::refresh_scores(&txn, principal, account, window).await?;
    txn.commit().await?;
    Ok(results)
}

/// The contacts the caller can see at the account, by email: its own record of a person
/// first (the vendor's and each partner's records are their own; see
/// [`refuse_visible_duplicate`]).
async fn visible_by_email(
    txn: &DatabaseTransaction,
    principal: &Principal,
    account: i64,
) -> AppResult<std::collections::HashMap<String, Model>> {
    let mut existing: std::collections::HashMap<String, Model> = std::collections::HashMap::new();
    for c in super::visible(principal)
        .filter(Column::AccountId.eq(account))
        .all(txn)
        .await?
    {
        let own = c.sourced_by_partner_id == principal.partner_id();
        match existing.get(&c.email_key) {
            Some(kept) if kept.sourced_by_partner_id == principal.partner_id() || !own => {}
            _ => {
                existing.insert(c.email_key.clone(), c);
            }
        }
    }
    Ok(existing)
}

/// Writes contact `c` (item `i` of the batch): creates it, or updates `old`, the caller's
/// record of the same person, unless nothing changed.
async fn upsert_one(
    txn: &DatabaseTransaction,
    principal: &Principal,
    account: i64,
    old: Option<&Model>,
    i: usize,
    c: Checked,
) -> AppResult<UpsertResult> {
    let Some(old) = old else {
        let m = insert(txn, principal, account, c).await?;
        return Ok(written(i, "CREATED", m.id));
    };
    if let Party::Partner(p) = principal.party {
        if old.sourced_by_partner_id != Some(p) {
            return Err(AppError::Conflict(DUPLICATE.into()));
        }
    }
    if unchanged(old, &c) {
        return Ok(written(i, "UNCHANGED", old.id));
    }
    let mut m = <ActiveModel as Default>::default();
    apply(&mut m, c);
    save(txn, principal, old, m, Topic::ContactUpdated).await?;
    Ok(written(i, "UPDATED", old.id))
}

/// Whether writing `c` over `old` would change nothing.
fn unchanged(old: &Model, c: &Checked) -> bool {
    old.name == c.name
        && old.email == c.email
        && old.title == c.title
        && old.department == c.department
        && old.seniority == c.seniority
        && old.buying_role == c.buying_role
        && c.shared.is_none_or(|s| s == old.shared)
}

/// A batch that failed in part and was not written: the failures stand, the rest are
/// NOT_WRITTEN.
fn not_written(results: Vec<UpsertResult>) -> Vec<UpsertResult> {
    results
        .into_iter()
        .map(|r| {
            if r.outcome == "FAILED" {
                r
            } else {
                UpsertResult {
                    outcome: "NOT_WRITTEN".into(),
                    contact_id: None,
                    ..r
                }
            }
        })
        .collect()
}

pub use super::links::{link, LinkContacts};
