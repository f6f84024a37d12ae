//! Webhook endpoints: who manages each, whose view its deliveries take, and how far delivery
//! has got; the delivery log.
//!
//! Who may manage an endpoint is `auth::can::ManageWebhooks` (a vendor ADMIN, a partner's
//! PARTNER_ADMIN, an app with `events:read`), and which endpoints are theirs is the read rule
//! `auth::scope::WebhookEndpoints`: every function here takes the capability's grant and reads
//! through that rule's condition. What an endpoint receives is decided at delivery by the events
//! query's own scoping (`events::visible_after`) for the view it was registered with, so a
//! partner's endpoint never receives another partner's claims.
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

use entity::enums::{WebhookEndpointStatus as Status, WebhookView};

use super::events::{self, NewEvent, Payload, Topic};
use crate::auth::scope::{self, Owner, WebhookEndpoints};
use crate::auth::{can, Grant, Party, Principal};
use crate::error::{AppError, AppResult};

/// Most topic prefixes one endpoint may filter on.
const MAX_TOPICS: usize = 20;

/// The principal an endpoint's deliveries are read as: its view, with an app's scopes.
pub fn reader(m: &Model) -> Principal {
    let party = match m.deliver_partner_id {
        Some(p) => Party::Partner(p),
        None => Party::Vendor,
    };
    match m.deliver_kind {
        WebhookView::App => Principal::app(
            m.owner_app.clone().unwrap_or_else(|| "webhook".into()),
            party,
            m.deliver_scopes
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_string)
                .collect::<BTreeSet<_>>(),
        ),
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
    pub status: Status,
    pub disabled_reason: Option<String>,
    pub version: i32,
}

impl EndpointSnapshot {
    /// The snapshot of endpoint row `m` an event carries (the endpoint writers).
    pub fn of(m: &Model) -> Self {
        Self {
            id: crate::ids::encode(crate::ids::Kind::WebhookEndpoint, m.id),
            url: m.url.clone(),
            topics: topics(m),
            status: m.status,
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

fn changed(topic: Topic, m: &Model) -> NewEvent {
    NewEvent::new(
        topic,
        scope::heard_by_row::<WebhookEndpoints>(m),
        crate::ids::encode(crate::ids::Kind::WebhookEndpoint, m.id),
        &EndpointChanged {
            endpoint: EndpointSnapshot::of(m),
        },
    )
}

/// The endpoints the grant's holder manages, as a filter on endpoint rows.
fn managed(grant: &Grant<can::ManageWebhooks>) -> sea_orm::Condition {
    scope::condition::<WebhookEndpoints>(grant.principal())
}

/// The endpoints the caller manages, oldest first (at most `--webhook-max-endpoints` per
/// party, so the list is bounded).
pub async fn list(
    db: &DatabaseConnection,
    grant: &Grant<can::ManageWebhooks>,
    partner: Option<i64>,
) -> AppResult<Vec<Model>> {
    let mut q = Entity::find().filter(managed(grant));
    if let Some(p) = partner {
        q = q.filter(Column::DeliverPartnerId.eq(p));
    }
    Ok(q.order_by_asc(Column::Id).limit(1_000).all(db).await?)
}

/// One endpoint the caller manages; NOT_FOUND for any other (it does not tell them apart).
pub async fn get(
    db: &DatabaseConnection,
    grant: &Grant<can::ManageWebhooks>,
    id: i64,
) -> AppResult<Model> {
    Entity::find_by_id(id)
        .filter(managed(grant))
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
    let Ok(grant) = principal.grant::<can::ManageWebhooks>() else {
        return Ok(None);
    };
    Ok(Entity::find_by_id(id)
        .filter(managed(&grant))
        .one(db)
        .await?)
}

/// The delivery log of an endpoint the caller manages, newest first, before attempt `before`.
pub async fn attempts(
    db: &DatabaseConnection,
    grant: &Grant<can::ManageWebhooks>,
    endpoint: i64,
    before: Option<i64>,
    limit: u64,
) -> AppResult<Vec<attempt::Model>> {
    get(db, grant, endpoint).await?;
    let mut q = attempt::Entity::find().filter(attempt::Column::EndpointId.eq(endpoint));
    if let Some(b) = before {
        q = q.filter(attempt::Column::Id.lt(b));
    }
    Ok(q.order_by_desc(attempt::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

// --- the owners' writes and the dispatcher's side ----------------------------------------------

mod dispatch;
mod endpoints;

pub use dispatch::*;
pub use endpoints::*;
