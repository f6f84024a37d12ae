//! The events outbox: append-only, written in the transaction of the change it records.

use chrono::Utc;
use entity::event;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use serde_json::Value;

use crate::auth::Principal;

/// Topics written by the gateway's aggregates.
pub mod topic {
    pub const PARTNER_CREATED: &str = "partner.created";
    pub const PARTNER_UPDATED: &str = "partner.updated";
    pub const ACCOUNT_CREATED: &str = "account.created";
    pub const ACCOUNT_UPDATED: &str = "account.updated";
    pub const OPPORTUNITY_CREATED: &str = "opportunity.created";
    pub const OPPORTUNITY_UPDATED: &str = "opportunity.updated";
    pub const OPPORTUNITY_STAGE_CHANGED: &str = "opportunity.stage_changed";
}

/// One event to append.
pub struct NewEvent<'a> {
    pub topic: &'a str,
    /// Audience tags: `vendor` and `partner:<id>`.
    pub audience: Vec<String>,
    /// Global id of the object the event is about.
    pub subject_id: String,
    pub payload: Value,
}

/// Appends `ev` caused by `actor` on `conn` (a transaction of the change).
pub async fn append<C: ConnectionTrait>(
    conn: &C,
    actor: &Principal,
    ev: NewEvent<'_>,
) -> Result<event::Model, DbErr> {
    event::ActiveModel {
        topic: Set(ev.topic.to_string()),
        audience: Set(Value::from(ev.audience)),
        subject_id: Set(ev.subject_id),
        actor: Set(actor.subject.clone()),
        payload: Set(ev.payload),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await
}

/// The audience of a change only the vendor hears of.
pub fn vendor_only() -> Vec<String> {
    vec!["vendor".to_string()]
}

/// The outbox events `principal` may see after `after`, oldest first: everything for the
/// vendor; for a partner, only events whose audience names it.
pub async fn visible_after(
    db: &sea_orm::DatabaseConnection,
    principal: &Principal,
    after: i64,
    limit: u64,
) -> crate::error::AppResult<Vec<event::Model>> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    // Event payloads span every resource, so apps need their own scope to read them.
    principal.require_read(crate::auth::Resource::Events)?;
    let mut q = event::Entity::find().filter(event::Column::Id.gt(after));
    q = match principal.party {
        crate::auth::Party::Vendor => q,
        crate::auth::Party::Partner(id) => q.filter(
            Expr::expr(Expr::col(event::Column::Audience).cast_as("TEXT"))
                .like(format!("%\"partner:{id}\"%")),
        ),
    };
    Ok(q.order_by_asc(event::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
