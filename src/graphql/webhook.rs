//! Webhooks as an API: endpoints that receive events, their secrets, their delivery log.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};
use entity::enums::{WebhookEndpointStatus, WebhookView};
use entity::webhook_attempt::Model as AttemptRow;
use entity::webhook_endpoint::Model as EndpointRow;

use super::events::parse_after;
use super::{db, principal};
use crate::auth::can;
use crate::config::WebhookArgs;
use crate::db::webhooks as data;
use crate::error::AppError;
use crate::ids::{self, Kind};
use crate::scalars::DateTime;

/// An HTTPS endpoint that receives events as signed POSTs (Standard Webhooks): the events its
/// view may see, filtered by topic, in outbox order, each retried until the receiver answers
/// 2xx.
#[derive(SimpleObject, Clone)]
pub struct WebhookEndpoint {
    /// Opaque global ID.
    #[graphql(owned)]
    pub id: ID,
    /// Where deliveries are POSTed.
    pub url: String,
    /// A note for the people who manage it.
    pub description: String,
    /// Topic prefixes it receives (e.g. `registration.`); empty: every topic.
    pub topics: Vec<String>,
    /// Whether deliveries are made.
    pub status: WebhookEndpointStatus,
    /// Why it is disabled, when it is.
    pub disabled_reason: Option<String>,
    /// Whose view its deliveries take.
    pub view: WebhookView,
    /// The partner whose view it takes (a partner's endpoint, or one the vendor registered
    /// for a partner); null for the vendor's view.
    pub partner_id: Option<ID>,
    /// The outbox position delivered up to: every event up to it was delivered or was not
    /// for this endpoint.
    pub cursor: ID,
    /// Failed attempts at the next event (0 when deliveries are going through).
    pub failed_attempts: i32,
    /// When the next event is tried again, while attempts are failing.
    pub next_attempt_at: Option<DateTime>,
    /// Since when attempts have been failing without a success between.
    pub failing_since: Option<DateTime>,
    /// Until when the secret before the last rotation still signs deliveries (a second
    /// signature in `webhook-signature`).
    pub previous_secret_expires_at: Option<DateTime>,
    /// Pass it back as `expectedVersion` when changing the endpoint.
    pub version: i32,
    /// When it was registered.
    pub created_at: DateTime,
    /// When its owner last changed it (or it was disabled).
    pub updated_at: DateTime,
}

impl From<EndpointRow> for WebhookEndpoint {
    fn from(m: EndpointRow) -> Self {
        let topics = data::topics(&m);
        Self {
            id: ids::encode(Kind::WebhookEndpoint, m.id).into(),
            url: m.url,
            description: m.description,
            topics,
            status: m.status,
            disabled_reason: m.disabled_reason,
            view: m.deliver_kind,
            partner_id: m
                .deliver_partner_id
                .map(|p| ids::encode(Kind::Partner, p).into()),
            cursor: m.cursor.to_string().into(),
            failed_attempts: m.attempts,
            next_attempt_at: (m.attempts > 0).then_some(DateTime(m.next_attempt_at)),
            failing_since: m.failing_since.map(DateTime),
            previous_secret_expires_at: m
                .previous_secret_expires_at
                .filter(|t| *t > chrono::Utc::now())
                .map(DateTime),
            version: m.version,
            created_at: DateTime(m.created_at),
            updated_at: DateTime(m.updated_at),
        }
    }
}

/// One delivery attempt, as the delivery log keeps it.
#[derive(SimpleObject, Clone)]
pub struct WebhookDelivery {
    /// The log entry's position: pass the last one you read as `before` for older entries.
    pub id: ID,
    /// The outbox position of the event delivered (its `cursor`).
    pub event_cursor: ID,
    /// The event's topic.
    pub topic: String,
    /// 1 for the first attempt at this event, 2 for the first retry, ...
    pub attempt: i32,
    /// The receiver answered 2xx.
    pub succeeded: bool,
    /// The receiver's HTTP status; null when none came (timeout, connection refused).
    pub response_code: Option<i32>,
    /// How long the attempt took.
    pub latency_ms: i32,
    /// What went wrong, when it failed.
    pub error: Option<String>,
    /// When the attempt was made.
    pub created_at: DateTime,
}

impl From<AttemptRow> for WebhookDelivery {
    fn from(m: AttemptRow) -> Self {
        Self {
            id: m.id.to_string().into(),
            event_cursor: m.event_id.to_string().into(),
            topic: m.topic,
            attempt: m.attempt,
            succeeded: m.succeeded,
            response_code: m.response_code,
            latency_ms: m.latency_ms,
            error: m.error,
            created_at: DateTime(m.created_at),
        }
    }
}

fn endpoint_id(id: &ID, field: &'static str) -> Result<i64, AppError> {
    ids::decode_as(id, Kind::WebhookEndpoint).map_err(|e| e.at(field))
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The webhook endpoints you manage, oldest first: a vendor ADMIN sees every endpoint, a
    /// PARTNER_ADMIN its partner's, an app those it registered (with `events:read`).
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only endpoints taking this partner's view (vendor ADMINs).")]
        partner_id: Option<ID>,
    ) -> Result<Vec<WebhookEndpoint>> {
        let partner = partner_id
            .as_ref()
            .map(|p| ids::decode_as(p, Kind::Partner).map_err(|e| e.at("partnerId")))
            .transpose()?;
        let grant = principal(ctx).grant::<can::ManageWebhooks>()?;
        let rows = data::list(db(ctx), &grant, partner).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// An endpoint's delivery log, newest first: every attempt with its outcome.
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint's ID.")] endpoint_id: ID,
        #[graphql(desc = "How many entries (1 to 100, default 20).")] first: Option<i32>,
        #[graphql(desc = "Entries older than this one (a delivery's `id`).")] before: Option<ID>,
    ) -> Result<Vec<WebhookDelivery>> {
        let id = self::endpoint_id(&endpoint_id, "endpointId")?;
        let n = first.unwrap_or(20);
        if !(1..=100).contains(&n) {
            return Err(AppError::bad_field("first", "first must be between 1 and 100").into());
        }
        let before = before
            .map(|b| {
                b.parse::<i64>()
                    .map_err(|_| AppError::bad_field("before", "`before` is a delivery's id"))
            })
            .transpose()?;
        let grant = principal(ctx).grant::<can::ManageWebhooks>()?;
        let rows = data::attempts(db(ctx), &grant, id, before, n as u64).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

/// A new webhook endpoint.
#[derive(InputObject, Debug)]
pub struct CreateWebhookEndpointInput {
    /// Where to POST deliveries: an `https://` URL of a public host.
    pub url: String,
    /// Topic prefixes to receive, e.g. `["registration.", "conflict.raised"]`; omit or leave
    /// empty for every topic.
    #[graphql(default)]
    pub topics: Vec<String>,
    /// A note for the people who manage it (at most 500 characters).
    #[graphql(default)]
    pub description: String,
    /// Vendor ADMINs only: take this partner's view (the partner's own claims and the shared
    /// state of its deals) instead of the vendor's.
    pub partner_id: Option<ID>,
    /// Deliver the events after this outbox position (an event's `cursor`), e.g. to start
    /// with history; omit to start with the next event.
    pub after: Option<ID>,
}

/// The endpoint registered, and its signing secret, shown this once.
#[derive(SimpleObject)]
pub struct CreateWebhookEndpointPayload {
    /// The endpoint as registered.
    pub endpoint: WebhookEndpoint,
    /// `whsec_...`: verify each delivery's `webhook-signature` with it. Store it now: it is not
    /// shown again (rotate it to get a new one).
    pub secret: String,
}

/// Changes to an endpoint; omitted fields keep their value.
#[derive(InputObject, Debug)]
pub struct UpdateWebhookEndpointInput {
    /// The endpoint's ID.
    pub id: ID,
    /// The version you read; refused with VERSION_MISMATCH if it moved on.
    pub expected_version: i32,
    /// A new `https://` URL.
    pub url: Option<String>,
    /// New topic prefixes (empty: every topic).
    pub topics: Option<Vec<String>>,
    /// A new note.
    pub description: Option<String>,
    /// `true` turns a disabled endpoint on again: the event it stopped at is tried at once,
    /// then what came after. `false` pauses deliveries (events are kept for it).
    pub enabled: Option<bool>,
}

/// An endpoint as it is after the change.
#[derive(SimpleObject)]
pub struct WebhookEndpointPayload {
    /// The endpoint as it is now.
    pub endpoint: WebhookEndpoint,
}

/// A new signing secret.
#[derive(InputObject, Debug)]
pub struct RotateWebhookSecretInput {
    /// The endpoint's ID.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// Hours the old secret keeps signing beside the new one (0 to 168, default 24), so
    /// receivers can switch without rejecting deliveries.
    #[graphql(default = 24)]
    pub overlap_hours: i32,
}

/// The endpoint and its new secret, shown this once.
#[derive(SimpleObject)]
pub struct RotateWebhookSecretPayload {
    /// The endpoint with its new version.
    pub endpoint: WebhookEndpoint,
    /// The new `whsec_...` secret.
    pub secret: String,
}

/// Try deliveries again now, or deliver again from an earlier event.
#[derive(InputObject, Debug)]
pub struct RetryWebhookEndpointInput {
    /// The endpoint's ID.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// Deliver again every event after this outbox position (an event's `cursor`), in order;
    /// receivers deduplicate by `webhook-id`. Omit to try the pending event at once instead of
    /// waiting for its next scheduled attempt.
    pub after: Option<ID>,
}

/// An endpoint to delete, with its delivery log.
#[derive(InputObject, Debug)]
pub struct DeleteWebhookEndpointInput {
    /// The endpoint's ID.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
}

/// The endpoint that was deleted.
#[derive(SimpleObject)]
pub struct DeleteWebhookEndpointPayload {
    /// The deleted endpoint's ID.
    pub deleted_id: ID,
}

fn settings(ctx: &Context<'_>) -> Arc<WebhookArgs> {
    ctx.data_opt::<Arc<WebhookArgs>>()
        .cloned()
        .unwrap_or_default()
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers a webhook endpoint (vendor ADMIN for the vendor or any partner; PARTNER_ADMIN
    /// for its partner; an app with `events:read` within its scopes).
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] input: CreateWebhookEndpointInput,
    ) -> Result<CreateWebhookEndpointPayload> {
        let partner = input
            .partner_id
            .as_ref()
            .map(|p| ids::decode_as(p, Kind::Partner).map_err(|e| e.at("partnerId")))
            .transpose()?;
        let after = parse_after(input.after.as_ref())?;
        let (db, p, s) = (
            db(ctx).clone(),
            principal(ctx).grant::<can::ManageWebhooks>()?,
            settings(ctx),
        );
        let new = data::NewEndpoint {
            url: input.url,
            description: input.description,
            topics: input.topics,
            partner,
            after,
        };
        let (m, secret) =
            super::write(ctx, async move { data::create(&db, &p, &s, new).await }).await?;
        Ok(CreateWebhookEndpointPayload {
            endpoint: m.into(),
            secret,
        })
    }

    /// Changes an endpoint's URL, topics or note, pauses it, or turns it on again.
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change.")] input: UpdateWebhookEndpointInput,
    ) -> Result<WebhookEndpointPayload> {
        let id = endpoint_id(&input.id, "id")?;
        let (db, p, s) = (
            db(ctx).clone(),
            principal(ctx).grant::<can::ManageWebhooks>()?,
            settings(ctx),
        );
        let changes = data::EndpointChanges {
            url: input.url,
            description: input.description,
            topics: input.topics,
            enabled: input.enabled,
        };
        let expected = input.expected_version;
        let m = super::write(ctx, async move {
            data::update(&db, &p, &s, id, expected, changes).await
        })
        .await?;
        Ok(WebhookEndpointPayload { endpoint: m.into() })
    }

    /// Replaces an endpoint's signing secret; the old one keeps signing for `overlapHours`.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint and the overlap.")] input: RotateWebhookSecretInput,
    ) -> Result<RotateWebhookSecretPayload> {
        let id = endpoint_id(&input.id, "id")?;
        if !(0..=168).contains(&input.overlap_hours) {
            return Err(AppError::bad_field("overlapHours", "between 0 and 168 hours").into());
        }
        let overlap = chrono::Duration::hours(input.overlap_hours as i64);
        let (db, p, expected) = (
            db(ctx).clone(),
            principal(ctx).grant::<can::ManageWebhooks>()?,
            input.expected_version,
        );
        let (m, secret) = super::write(ctx, async move {
            data::rotate_secret(&db, &p, id, expected, overlap).await
        })
        .await?;
        Ok(RotateWebhookSecretPayload {
            endpoint: m.into(),
            secret,
        })
    }

    /// Tries an endpoint's pending event now, or delivers again from an earlier event.
    async fn retry_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint, and where to deliver from.")]
        input: RetryWebhookEndpointInput,
    ) -> Result<WebhookEndpointPayload> {
        let id = endpoint_id(&input.id, "id")?;
        let after = parse_after(input.after.as_ref())?;
        let (db, p, expected) = (
            db(ctx).clone(),
            principal(ctx).grant::<can::ManageWebhooks>()?,
            input.expected_version,
        );
        let m = super::write(ctx, async move {
            data::rewind(&db, &p, id, expected, after).await
        })
        .await?;
        Ok(WebhookEndpointPayload { endpoint: m.into() })
    }

    /// Deletes an endpoint and its delivery log.
    async fn delete_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] input: DeleteWebhookEndpointInput,
    ) -> Result<DeleteWebhookEndpointPayload> {
        let id = endpoint_id(&input.id, "id")?;
        let (db, p, expected) = (
            db(ctx).clone(),
            principal(ctx).grant::<can::ManageWebhooks>()?,
            input.expected_version,
        );
        super::write(
            ctx,
            async move { data::delete(&db, &p, id, expected).await },
        )
        .await?;
        Ok(DeleteWebhookEndpointPayload {
            deleted_id: input.id,
        })
    }
}
