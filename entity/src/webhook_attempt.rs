//! `webhook_attempts`: the delivery log, one row per attempt.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub endpoint_id: i64,
    /// The outbox id of the event delivered.
    pub event_id: i64,
    pub topic: String,
    /// 1 for the first attempt at this event, 2 for the first retry, ...
    pub attempt: i32,
    /// The receiver answered 2xx.
    pub succeeded: bool,
    /// The receiver's HTTP status; `None` when none came (timeout, refused connection).
    pub response_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
