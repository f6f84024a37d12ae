//! `webhook_endpoints`: where events are pushed, as whom, and how far delivery has got.

use sea_orm::entity::prelude::*;

use crate::enums::{WebhookEndpointStatus, WebhookView};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub url: String,
    pub description: String,
    /// JSON array of topic prefixes; empty: every topic.
    pub topics: Json,
    /// The partner that registered the endpoint (its people or its app); `None` for the vendor.
    pub owner_partner_id: Option<i64>,
    /// The app's subject when an app registered the endpoint (only that app manages it).
    pub owner_app: Option<String>,
    /// Whose view deliveries take.
    pub deliver_kind: WebhookView,
    /// The partner whose view deliveries take (a partner's, or an app acting for one).
    pub deliver_partner_id: Option<i64>,
    /// An app's scopes, space-separated: deliveries stay within them.
    pub deliver_scopes: Option<String>,
    pub status: WebhookEndpointStatus,
    pub disabled_reason: Option<String>,
    /// `whsec_<base64>`: signs every delivery.
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_secret_expires_at`.
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    /// The last outbox id settled: delivered, or not for this endpoint.
    pub cursor: i64,
    /// Failed attempts at the event after `cursor`.
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// When the current run of failures began.
    pub failing_since: Option<DateTimeUtc>,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
