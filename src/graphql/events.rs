//! The events outbox as a query: what changed, in order, for pollers and for catching up
//! before a subscription.

use async_graphql::{Context, Object, Result, SimpleObject};

use super::{db, principal};
use crate::error::AppError;
use crate::scalars::DateTime;

/// Something that happened, as recorded in the outbox in the same transaction as the change.
#[derive(SimpleObject, Clone)]
pub struct Event {
    /// Opaque global ID: `node(id:)` fetches the event again. `events(after:)` and the
    /// subscriptions' `after` accept it as they accept `cursor`.
    #[graphql(owned)]
    pub id: async_graphql::ID,
    /// The outbox position (a decimal number as a string): monotonic, so events compare by it;
    /// pass the last one you processed as `after` to resume.
    pub cursor: async_graphql::ID,
    /// What happened, e.g. `registration.approved` or `opportunity.stage_changed`.
    pub topic: String,
    /// The global ID of the object it is about.
    pub subject_id: String,
    /// The change's details, written for this event's audience.
    pub payload: async_graphql::Json<serde_json::Value>,
    /// When it was recorded.
    pub created_at: DateTime,
}

impl From<&entity::event::Model> for Event {
    fn from(e: &entity::event::Model) -> Self {
        Self {
            id: crate::ids::encode(crate::ids::Kind::Event, e.id).into(),
            cursor: e.id.to_string().into(),
            topic: e.topic.clone(),
            subject_id: e.subject_id.clone(),
            payload: async_graphql::Json(e.payload.clone()),
            created_at: DateTime(e.created_at),
        }
    }
}

/// Reads an `after` cursor: an event's `cursor` (or its global `id`) from an earlier answer.
pub fn parse_after(after: Option<&async_graphql::ID>) -> Result<Option<i64>, AppError> {
    after
        .map(|a| {
            a.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .or_else(|| match crate::ids::decode(a) {
                    Ok((crate::ids::Kind::Event, n)) => Some(n),
                    _ => None,
                })
                .ok_or_else(|| {
                    AppError::bad_field(
                        "after",
                        "`after` is an event's cursor (or id) from an earlier answer",
                    )
                })
        })
        .transpose()
}

#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// Events you may see after the given outbox id, oldest first: everything for the vendor,
    /// for a partner only those about its own registrations and the deals it is on.
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The last event id you have seen; omit it to start from the beginning.")]
        after: Option<async_graphql::ID>,
        #[graphql(desc = "How many events (1 to 100, default 50).")] first: Option<i32>,
    ) -> Result<Vec<Event>> {
        let n = first.unwrap_or(50);
        if !(1..=100).contains(&n) {
            return Err(AppError::bad_field("first", "first must be between 1 and 100").into());
        }
        let after = parse_after(after.as_ref())?.unwrap_or(0);
        let rows =
            crate::db::events::visible_after(db(ctx), principal(ctx), after, n as u64).await?;
        if after > 0 {
            crate::db::events::check_cursor(db(ctx), after).await?;
        }
        Ok(rows.iter().map(Event::from).collect())
    }
}
