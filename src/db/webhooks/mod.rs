//! Webhook endpoints: who manages each, whose view its deliveries take, and how far delivery
//! has got; the delivery log.
//!
//! Who may manage an endpoint: a vendor ADMIN any (registering for the vendor or for any
//! partner); a PARTNER_ADMIN those its partner registered; an app those it registered. Every
//! read below is filtered by that rule in SQL. What an endpoint receives is decided at delivery
//! by the events query's own scoping (`events::visible_after`) for the view it was registered
//! with, so a partner's endpoint never receives another partner's claims.
//!
//! Locks: a write takes one endpoint row (version-guarded); the dispatcher leases rows with
//! `locked_by`/`locked_until` (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and holds nothing
//! while it waits on a receiver.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use entity::webhook_attempt as attempt;
use entity::webhook_endpoint::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use serde::{Deserialize, Serialize};

use super::events::{self, NewEvent, Payload, Topic};
use crate::auth::scope::Audience;
use crate::auth::{PartnerRole, Party, Principal, PrincipalKind, Resource, VendorRole};
use crate::error::{AppError, AppResult};

pub const ACTIVE: &str = "ACTIVE";
pub const DISABLED: &str = "DISABLED";

/// Most topic prefixes one endpoint may filter on.
const MAX_TOPICS: usize = 20;

/// Whose view an endpoint's deliveries take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Vendor,
    Partner(i64),
    /// An app, within its scopes, acting for the vendor (`None`) or one partner.
    App(Option<i64>),
}

impl View {
    fn kind(self) -> &'static str {
        match self {
            Self::Vendor => "VENDOR",
            Self::Partner(_) => "PARTNER",
            Self::App(_) => "APP",
        }
    }

    fn partner(self) -> Option<i64> {
        match self {
            Self::Vendor | Self::App(None) => None,
            Self::Partner(p) | Self::App(Some(p)) => Some(p),
        }
    }
}

/// The principal an endpoint's deliveries are read as: its view, with an app's scopes.
pub fn reader(m: &Model) -> Principal {
    let party = match m.deliver_partner_id {
        Some(p) => Party::Partner(p),
        None => Party::Vendor,
    };
    match m.deliver_kind.as_str() {
        "APP" => Principal {
            subject: m.owner_app.clone().unwrap_or_else(|| "webhook".into()),
            kind: PrincipalKind::App,
            party,
            vendor_role: None,
            partner_role: None,
            scopes: Some(
                m.deliver_scopes
                    .as_deref()
                    .unwrap_or("")
                    .split_whitespace()
                    .map(str::to_string)
                    .collect::<BTreeSet<_>>(),
            ),
        },
        _ => match party {
            Party::Vendor => Principal::system("webhook"),
            Party::Partner(p) => Principal::partner("webhook", p),
        },
    }
}

/// The topic prefixes an endpoint filters on (empty: all).
pub fn topics(m: &Model) -> Vec<String> {
    serde_json::from_value(m.topics.clone()).unwrap_or_default()
}

/// Whether an event of `topic` is for the endpoint.
pub fn wants(m: &Model, topic: &str) -> bool {
    let t = topics(m);
    t.is_empty() || t.iter().any(|p| topic.starts_with(p.as_str()))
}

/// The endpoint as its events tell of it (never its secret).
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSnapshot {
    pub id: String,
    pub url: String,
    pub topics: Vec<String>,
    pub status: String,
    pub disabled_reason: Option<String>,
    pub version: i32,
}

impl EndpointSnapshot {
    pub fn of(m: &Model) -> Self {
        Self {
            id: crate::ids::encode(crate::ids::Kind::WebhookEndpoint, m.id),
            url: m.url.clone(),
            topics: topics(m),
            status: m.status.clone(),
            disabled_reason: m.disabled_reason.clone(),
            version: m.version,
        }
    }
}

/// `webhook.endpoint_*`: an endpoint was registered, changed, disabled or deleted.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct EndpointChanged {
    pub endpoint: EndpointSnapshot,
}

impl Payload for EndpointChanged {}

/// Who hears of an endpoint's changes: the vendor, and the partner that owns it.
fn audience(m: &Model) -> Vec<Audience> {
    match m
        .owner_party
        .strip_prefix("partner:")
        .and_then(|p| p.parse().ok())
    {
        Some(p) => vec![Audience::Vendor, Audience::Partner(p)],
        None => vec![Audience::Vendor],
    }
}

fn changed(topic: Topic, m: &Model) -> NewEvent {
    NewEvent::new(
        topic,
        audience(m),
        crate::ids::encode(crate::ids::Kind::WebhookEndpoint, m.id),
        &EndpointChanged {
            endpoint: EndpointSnapshot::of(m),
        },
    )
}

/// What a caller may manage, as a filter on endpoint rows; FORBIDDEN for callers who manage
/// none (vendor staff other than ADMIN, partner reps, apps without `events:read`).
fn managed_by(principal: &Principal) -> AppResult<sea_orm::Condition> {
    use sea_orm::Condition;
    let party = Audience::of(principal).tag();
    match (principal.kind, principal.party) {
        (PrincipalKind::Vendor, _) if principal.vendor_role == Some(VendorRole::Admin) => {
            Ok(Condition::all())
        }
        (PrincipalKind::Partner, _)
            if principal.partner_role == Some(PartnerRole::PartnerAdmin) =>
        {
            Ok(Condition::all()
                .add(Column::OwnerParty.eq(party))
                .add(Column::OwnerApp.is_null()))
        }
        (PrincipalKind::App, _) if principal.may_read(Resource::Events) => Ok(Condition::all()
            .add(Column::OwnerParty.eq(party))
            .add(Column::OwnerApp.eq(principal.subject.clone()))),
        (PrincipalKind::App, _) => Err(AppError::Forbidden(
            "managing webhooks needs the `events:read` scope".into(),
        )),
        _ => Err(AppError::Forbidden(
            "webhooks are managed by vendor ADMINs, partner PARTNER_ADMINs and apps".into(),
        )),
    }
}

/// The endpoints the caller manages, oldest first (at most `--webhook-max-endpoints` per
/// party, so the list is bounded).
pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
    partner: Option<i64>,
) -> AppResult<Vec<Model>> {
    let mut q = Entity::find().filter(managed_by(principal)?);
    if let Some(p) = partner {
        q = q.filter(Column::DeliverPartnerId.eq(p));
    }
    Ok(q.order_by_asc(Column::Id).limit(1_000).all(db).await?)
}

/// One endpoint the caller manages; NOT_FOUND for any other (it does not tell them apart).
pub async fn get(db: &DatabaseConnection, principal: &Principal, id: i64) -> AppResult<Model> {
    Entity::find_by_id(id)
        .filter(managed_by(principal)?)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("webhook endpoint"))
}

/// [`get`] for `node(id:)`: `None` when the caller may not see it, whatever the reason.
pub async fn visible(
    db: &DatabaseConnection,
    principal: &Principal,
    id: i64,
) -> AppResult<Option<Model>> {
    let Ok(filter) = managed_by(principal) else {
        return Ok(None);
    };
    Ok(Entity::find_by_id(id).filter(filter).one(db).await?)
}

/// Checks topic prefixes: each non-empty, at most 100 characters, at most [`MAX_TOPICS`].
fn check_topics(topics: &[String]) -> AppResult<Vec<String>> {
    if topics.len() > MAX_TOPICS {
        return Err(AppError::bad_field(
            "topics",
            format!("at most {MAX_TOPICS} topic prefixes"),
        ));
    }
    let mut out = Vec::new();
    for t in topics {
        let t = t.trim();
        if t.is_empty() || t.len() > 100 || t.chars().any(char::is_whitespace) {
            return Err(AppError::bad_field(
                "topics",
                "a topic prefix is 1 to 100 characters without spaces, e.g. `registration.` or `conflict.raised`",
            ));
        }
        if !out.iter().any(|o: &String| o == t) {
            out.push(t.to_string());
        }
    }
    Ok(out)
}

/// A new endpoint.
pub struct NewEndpoint {
    pub url: String,
    pub description: String,
    pub topics: Vec<String>,
    /// The vendor registering for one partner's view.
    pub partner: Option<i64>,
    /// Deliver the events after this outbox id (default: from the next one).
    pub after: Option<i64>,
}

/// Registers an endpoint for the caller; returns it with its secret (shown this once).
pub async fn create(
    db: &DatabaseConnection,
    principal: &Principal,
    settings: &crate::config::WebhookArgs,
    input: NewEndpoint,
) -> AppResult<(Model, String)> {
    managed_by(principal)?;
    let view = match (principal.kind, principal.party, input.partner) {
        (PrincipalKind::Vendor, _, None) => View::Vendor,
        (PrincipalKind::Vendor, _, Some(p)) => {
            if entity::partner::Entity::find_by_id(p)
                .one(db)
                .await?
                .is_none()
            {
                return Err(AppError::bad_field("partnerId", "no such partner"));
            }
            View::Partner(p)
        }
        (PrincipalKind::Partner, Party::Partner(me), None) => View::Partner(me),
        (PrincipalKind::Partner, Party::Partner(me), Some(p)) if p == me => View::Partner(me),
        (PrincipalKind::App, party, None) => View::App(match party {
            Party::Partner(p) => Some(p),
            Party::Vendor => None,
        }),
        _ => {
            return Err(AppError::bad_field(
                "partnerId",
                "only the vendor registers endpoints for a partner",
            ))
        }
    };
    crate::domain::target::check_url(&input.url, settings.policy())
        .map_err(|m| AppError::bad_field("url", m))?;
    let topics = check_topics(&input.topics)?;
    if input.description.chars().count() > 500 {
        return Err(AppError::bad_field("description", "at most 500 characters"));
    }
    let cursor = match input.after {
        Some(a) => {
            events::check_cursor(db, a).await?;
            a
        }
        None => events::last_id(db).await?,
    };
    let owner_party = Audience::of(principal).tag();
    let secret = crate::webhooks::sign::new_secret().map_err(AppError::Internal)?;
    let now = Utc::now();
    let txn = super::begin_write(db).await?;
    let owned = Entity::find()
        .filter(Column::OwnerParty.eq(owner_party.clone()))
        .count(&txn)
        .await?;
    if owned >= settings.webhook_max_endpoints as u64 {
        return Err(AppError::Conflict(format!(
            "this party already has {} webhook endpoints, the most allowed; delete one first",
            settings.webhook_max_endpoints
        )));
    }
    let row = ActiveModel {
        url: Set(input.url),
        description: Set(input.description),
        topics: Set(serde_json::json!(topics)),
        owner_party: Set(owner_party),
        owner_app: Set((principal.kind == PrincipalKind::App).then(|| principal.subject.clone())),
        deliver_kind: Set(view.kind().into()),
        deliver_partner_id: Set(view.partner()),
        deliver_scopes: Set(principal
            .scopes
            .as_ref()
            .map(|s| s.iter().cloned().collect::<Vec<_>>().join(" "))),
        status: Set(ACTIVE.into()),
        disabled_reason: Set(None),
        secret: Set(secret.clone()),
        previous_secret: Set(None),
        previous_secret_expires_at: Set(None),
        cursor: Set(cursor),
        attempts: Set(0),
        next_attempt_at: Set(now),
        failing_since: Set(None),
        locked_by: Set(None),
        locked_until: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    events::append(
        &txn,
        principal,
        changed(Topic::WebhookEndpointCreated, &row),
    )
    .await?;
    txn.commit().await?;
    Ok((row, secret))
}

/// Changes to an endpoint; `None` keeps a field.
#[derive(Default)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub description: Option<String>,
    pub topics: Option<Vec<String>>,
    /// `true` turns a disabled endpoint on again (its pending event is tried at once);
    /// `false` pauses deliveries.
    pub enabled: Option<bool>,
}

/// Reads the caller's endpoint `id` in `txn` and checks `expected` against its version.
async fn managed_in(
    txn: &sea_orm::DatabaseTransaction,
    principal: &Principal,
    id: i64,
    expected: i32,
) -> AppResult<Model> {
    let row = Entity::find_by_id(id)
        .filter(managed_by(principal)?)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("webhook endpoint"))?;
    super::check_version("webhook endpoint", expected, row.version)?;
    Ok(row)
}

/// Writes `changes` to the endpoint at `expected` and appends its event, in `txn`.
async fn save(
    txn: sea_orm::DatabaseTransaction,
    principal: &Principal,
    mut changes: ActiveModel,
    id: i64,
    expected: i32,
    topic: Topic,
) -> AppResult<Model> {
    changes.updated_at = Set(Utc::now());
    // The dispatcher's lease ends: the next round delivers as the owner now says.
    changes.locked_by = Set(None);
    changes.locked_until = Set(None);
    let row = super::update_versioned::<Entity, _>(
        &txn,
        "webhook endpoint",
        changes,
        Column::Id,
        Column::Version,
        id,
        expected,
    )
    .await?;
    events::append(&txn, principal, changed(topic, &row)).await?;
    txn.commit().await?;
    Ok(row)
}

pub async fn update(
    db: &DatabaseConnection,
    principal: &Principal,
    settings: &crate::config::WebhookArgs,
    id: i64,
    expected: i32,
    c: EndpointChanges,
) -> AppResult<Model> {
    let mut changes = <ActiveModel as Default>::default();
    if let Some(url) = c.url {
        crate::domain::target::check_url(&url, settings.policy())
            .map_err(|m| AppError::bad_field("url", m))?;
        changes.url = Set(url);
    }
    if let Some(d) = c.description {
        if d.chars().count() > 500 {
            return Err(AppError::bad_field("description", "at most 500 characters"));
        }
        changes.description = Set(d);
    }
    if let Some(t) = c.topics {
        changes.topics = Set(serde_json::json!(check_topics(&t)?));
    }
    let txn = super::begin_write(db).await?;
    let row = managed_in(&txn, principal, id, expected).await?;
    match c.enabled {
        Some(true) if row.status != ACTIVE => {
            changes.status = Set(ACTIVE.into());
            changes.disabled_reason = Set(None);
            changes.attempts = Set(0);
            changes.failing_since = Set(None);
            changes.next_attempt_at = Set(Utc::now());
        }
        Some(false) if row.status == ACTIVE => {
            changes.status = Set(DISABLED.into());
            changes.disabled_reason = Set(Some("paused by its owner".into()));
        }
        _ => {}
    }
    save(
        txn,
        principal,
        changes,
        id,
        expected,
        Topic::WebhookEndpointUpdated,
    )
    .await
}

/// A new secret; the old one keeps signing (as a second signature) for `overlap`.
pub async fn rotate_secret(
    db: &DatabaseConnection,
    principal: &Principal,
    id: i64,
    expected: i32,
    overlap: Duration,
) -> AppResult<(Model, String)> {
    let secret = crate::webhooks::sign::new_secret().map_err(AppError::Internal)?;
    let txn = super::begin_write(db).await?;
    let row = managed_in(&txn, principal, id, expected).await?;
    let changes = ActiveModel {
        secret: Set(secret.clone()),
        previous_secret: Set((overlap > Duration::zero()).then(|| row.secret.clone())),
        previous_secret_expires_at: Set((overlap > Duration::zero()).then(|| Utc::now() + overlap)),
        ..Default::default()
    };
    let row = save(
        txn,
        principal,
        changes,
        id,
        expected,
        Topic::WebhookEndpointUpdated,
    )
    .await?;
    Ok((row, secret))
}

/// Delivers again everything after `after` (receivers deduplicate by `webhook-id`), or tries
/// the pending event at once when `after` is `None`.
pub async fn rewind(
    db: &DatabaseConnection,
    principal: &Principal,
    id: i64,
    expected: i32,
    after: Option<i64>,
) -> AppResult<Model> {
    if let Some(a) = after {
        events::check_cursor(db, a).await?;
    }
    let txn = super::begin_write(db).await?;
    managed_in(&txn, principal, id, expected).await?;
    let mut changes = ActiveModel {
        next_attempt_at: Set(Utc::now()),
        ..Default::default()
    };
    if let Some(a) = after {
        changes.cursor = Set(a);
        changes.attempts = Set(0);
        changes.failing_since = Set(None);
    }
    save(
        txn,
        principal,
        changes,
        id,
        expected,
        Topic::WebhookEndpointUpdated,
    )
    .await
}

pub async fn delete(
    db: &DatabaseConnection,
    principal: &Principal,
    id: i64,
    expected: i32,
) -> AppResult<Model> {
    let txn = super::begin_write(db).await?;
    let row = managed_in(&txn, principal, id, expected).await?;
    attempt::Entity::delete_many()
        .filter(attempt::Column::EndpointId.eq(id))
        .exec(&txn)
        .await?;
    let gone = Entity::delete_many()
        .filter(Column::Id.eq(id))
        .filter(Column::Version.eq(expected))
        .exec(&txn)
        .await?;
    if gone.rows_affected != 1 {
        return Err(AppError::VersionMismatch {
            kind: "webhook endpoint",
            expected,
            current: expected + 1,
        });
    }
    events::append(
        &txn,
        principal,
        changed(Topic::WebhookEndpointDeleted, &row),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// The delivery log of an endpoint the caller manages, newest first, before attempt `before`.
pub async fn attempts(
    db: &DatabaseConnection,
    principal: &Principal,
    endpoint: i64,
    before: Option<i64>,
    limit: u64,
) -> AppResult<Vec<attempt::Model>> {
    get(db, principal, endpoint).await?;
    let mut q = attempt::Entity::find().filter(attempt::Column::EndpointId.eq(endpoint));
    if let Some(b) = before {
        q = q.filter(attempt::Column::Id.lt(b));
    }
    Ok(q.order_by_desc(attempt::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

// --- the dispatcher's side ---------------------------------------------------------------------

mod dispatch;

pub use dispatch::*;
