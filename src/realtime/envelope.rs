//! One outbox event as every channel carries it: the `events` query, the subscriptions (over
//! WebSocket and Server-Sent Events) and the `data` of a webhook delivery. The GraphQL `Event`
//! object answers from an [`Envelope`] and a webhook body serializes one, so both carry the same
//! fields under the same names, with one date format.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

/// An outbox event as the API shows it. Serialized, it is the GraphQL `Event` object: `id`,
/// `cursor`, `topic`, `subjectId`, `payload`, `createdAt`, in that order.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// The event's global id: `node(id:)` fetches it, and it is a webhook's `webhook-id`.
    pub id: String,
    /// The outbox position as a decimal string.
    pub cursor: String,
    /// What happened, e.g. `registration.approved`.
    pub topic: String,
    /// The global id of the object it is about.
    pub subject_id: String,
    /// The change's details, written for the event's audience.
    pub payload: serde_json::Value,
    /// When it was recorded; serialized as [`timestamp`] prints it.
    #[serde(serialize_with = "as_timestamp")]
    pub created_at: DateTime<Utc>,
}

impl From<&entity::event::Model> for Envelope {
    fn from(e: &entity::event::Model) -> Self {
        Self {
            id: crate::ids::encode(crate::ids::Kind::Event, e.id),
            cursor: e.id.to_string(),
            topic: e.topic.clone(),
            subject_id: e.subject_id.clone(),
            payload: e.payload.clone(),
            created_at: e.created_at,
        }
    }
}

/// A point in time as the API prints it everywhere: the `DateTime` scalar's form (RFC 3339 in
/// UTC with milliseconds, e.g. `2026-11-22T09:30:00.000Z`).
pub fn timestamp(at: DateTime<Utc>) -> String {
    match async_graphql::ScalarType::to_value(&crate::scalars::DateTime(at)) {
        async_graphql::Value::String(s) => s,
        other => other.to_string(),
    }
}

fn as_timestamp<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&timestamp(*at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_under_the_api_names_with_the_scalar_date() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-03T17:40:00.5+01:00")
            .unwrap()
            .with_timezone(&Utc);
        let ev = entity::event::Model {
            id: 42,
            topic: "registration.approved".into(),
            audience: serde_json::json!(["vendor"]),
            subject_id: "UmVnaXN0cmF0aW9uOjc".into(),
            actor: "user:1".into(),
            payload: serde_json::json!({ "to": "APPROVED" }),
            created_at: at,
        };
        let text = serde_json::to_string(&Envelope::from(&ev)).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"id":"{}","cursor":"42","topic":"registration.approved","subjectId":"UmVnaXN0cmF0aW9uOjc","payload":{{"to":"APPROVED"}},"createdAt":"2026-12-03T16:40:00.500Z"}}"#,
                crate::ids::encode(crate::ids::Kind::Event, 42)
            )
        );
    }
}
