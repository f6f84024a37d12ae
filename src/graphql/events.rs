//! The events outbox as a query: what changed, in order, for pollers and for catching up
//! before a subscription.

use async_graphql::{Context, Json, Object, Result, ID};

use super::{db, principal};
use crate::error::AppError;
use crate::realtime::envelope::Envelope;
use crate::scalars::DateTime;

/// Something that happened, as recorded in the outbox in the same transaction as the change.
/// Its fields are the [`Envelope`]'s, the body a webhook delivers as `data`.
#[derive(Clone)]
pub struct Event(pub Envelope);

/// Something that happened, as recorded in the outbox in the same transaction as the change.
#[Object]
impl Event {
    /// Opaque global ID: `node(id:)` fetches the event again. `events(after:)` and the
    /// subscriptions' `after` accept it as they accept `cursor`.
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The outbox position (a decimal number as a string): monotonic, so events compare by it;
    /// pass the last one you processed as `after` to resume.
    async fn cursor(&self) -> ID {
        ID(self.0.cursor.clone())
    }
    /// What happened, e.g. `registration.approved` or `opportunity.stage_changed`.
    async fn topic(&self) -> &str {
        &self.0.topic
    }
    /// The global ID of the object it is about.
    async fn subject_id(&self) -> &str {
        &self.0.subject_id
    }
    /// The change's details, written for this event's audience.
    async fn payload(&self) -> Json<&serde_json::Value> {
        Json(&self.0.payload)
    }
    /// When it was recorded.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
}

impl From<&entity::event::Model> for Event {
    fn from(e: &entity::event::Model) -> Self {
        Self(Envelope::from(e))
    }
}

/// Reads an `after` cursor: an event's `cursor` (or its global `id`) from an earlier answer.
pub fn parse_after(after: Option<&ID>) -> Result<Option<i64>, AppError> {
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
        after: Option<ID>,
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

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Schema};
    use serde_json::{json, Value};

    use super::*;

    struct Root(Event);

    #[Object]
    impl Root {
        async fn event(&self) -> Event {
            self.0.clone()
        }
    }

    /// The same event as the `events` query answers it and as a webhook delivers it: `data`
    /// holds the query's fields with the same values, and `timestamp` is its `createdAt`.
    #[tokio::test]
    async fn a_webhook_body_carries_the_event_as_the_query_gives_it() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-03T17:40:00.123456Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let model = entity::event::Model {
            id: 42,
            topic: "registration.approved".into(),
            audience: json!(["vendor"]),
            subject_id: crate::ids::encode(crate::ids::Kind::Registration, 7),
            actor: "user:1".into(),
            payload: json!({ "from": "UNDER_REVIEW", "to": "APPROVED", "reason": null }),
            created_at: at,
        };
        let schema = Schema::new(Root(Event::from(&model)), EmptyMutation, EmptySubscription);
        let answer = schema
            .execute("{ event { id cursor topic subjectId payload createdAt } }")
            .await;
        assert!(answer.errors.is_empty(), "{:?}", answer.errors);
        let queried = answer.data.into_json().unwrap()["event"].clone();
        let body: Value =
            serde_json::from_slice(&crate::webhooks::body(&Envelope::from(&model))).unwrap();
        assert_eq!(body["data"], queried);
        assert_eq!(queried["createdAt"], "2026-12-03T17:40:00.123Z");
        assert_eq!(body["timestamp"], queried["createdAt"]);
        assert_eq!(body["type"], queried["topic"]);
        assert_eq!(
            body.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["type", "timestamp", "data"]
        );
    }
}
